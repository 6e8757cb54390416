/* test_hl7_split.c - unit tests for finding messages in a buffer (hl7.h,
 * hl7_split.c): single messages, messages back to back, FHS/BHS batches
 * (including an empty one), MLLP frames, BOM, and text outside messages
 * reported with its byte range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"

static void assert_span(hf_span s, const char *want) {
    assert_non_null(s.p);
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
        fail_msg("span '%.*s' != '%s'", (int)s.len, s.p, want);
}

/* Splits @p text and checks the messages against want[] (NULL-terminated). */
static void expect_messages(const char *text, size_t len, const char *const *want) {
    hf_hl7_splitter sp;
    hf_span m;
    hf_err err = {0};
    size_t i = 0;
    hf_hl7_split_init(&sp, (hf_span){text, len});
    hf_status st;
    while ((st = hf_hl7_split_next(&sp, &m, &err)) == HF_OK) {
        if (want[i] == NULL)
            fail_msg("extra message '%.*s'", (int)m.len, m.p);
        assert_span(m, want[i]);
        /* every message the splitter returns is a parsable message */
        hf_hl7_msg *msg = NULL;
        if (hf_hl7_parse(m, NULL, &msg, &err) != HF_OK)
            fail_msg("message %zu does not parse: %s", i + 1, err.msg);
        hf_hl7_msg_destroy(msg);
        i++;
    }
    assert_int_equal(st, HF_ENOTFOUND);
    assert_null(want[i]);
    assert_int_equal(sp.count, i);
    assert_int_equal(hf_hl7_split_next(&sp, &m, &err), HF_ENOTFOUND); /* stays at the end */
    assert_int_equal(m.len, 0);
}

static void returns_a_single_message(void **state) {
    (void)state;
    const char *t = "MSH|^~\\&|A\rPID|1\r";
    const char *const want[] = {"MSH|^~\\&|A\rPID|1", NULL};
    expect_messages(t, strlen(t), want);
}

static void splits_messages_back_to_back(void **state) {
    (void)state;
    const char *t = "MSH|^~\\&|A\nPID|1\nMSH|^~\\&|B\r\nPID|2\r\n\r\n\r\n"
                    "MSH|^~\\&|C\rPV1|1\r\rOBX|1";
    const char *const want[] = {"MSH|^~\\&|A\nPID|1", "MSH|^~\\&|B\r\nPID|2",
                                "MSH|^~\\&|C\rPV1|1\r\rOBX|1", NULL};
    expect_messages(t, strlen(t), want);
}

static void splits_batches_and_keeps_headers(void **state) {
    (void)state;
    const char *t = "FHS|^~\\&|F\rBHS|^~\\&|B\rMSH|^~\\&|1\rPID|1\rMSH|^~\\&|2\rPID|2\r"
                    "BTS|2\rFTS|1";
    const char *const want[] = {"MSH|^~\\&|1\rPID|1", "MSH|^~\\&|2\rPID|2", NULL};
    expect_messages(t, strlen(t), want);

    hf_hl7_splitter sp;
    hf_span m;
    hf_hl7_split_init(&sp, (hf_span){t, strlen(t)});
    assert_int_equal(hf_hl7_split_next(&sp, &m, NULL), HF_OK);
    assert_span(sp.fhs, "FHS|^~\\&|F");
    assert_span(sp.bhs, "BHS|^~\\&|B");
    assert_int_equal(sp.bts.len, 0);
    assert_int_equal(hf_hl7_split_next(&sp, &m, NULL), HF_OK);
    assert_int_equal(hf_hl7_split_next(&sp, &m, NULL), HF_ENOTFOUND);
    assert_span(sp.bts, "BTS|2");
    assert_span(sp.fts, "FTS|1");
}

static void handles_an_empty_batch(void **state) {
    (void)state;
    const char *t = "FHS|^~\\&|F\r\nBHS|^~\\&|B\rBTS|0\nFTS|1\r";
    const char *const want[] = {NULL};
    expect_messages(t, strlen(t), want);
    hf_hl7_splitter sp;
    hf_span m;
    hf_hl7_split_init(&sp, (hf_span){t, strlen(t)});
    assert_int_equal(hf_hl7_split_next(&sp, &m, NULL), HF_ENOTFOUND);
    assert_span(sp.bhs, "BHS|^~\\&|B");
}

static void strips_mllp_frames(void **state) {
    (void)state;
    const char *t = "\x0bMSH|^~\\&|A\rPID|1\r\x1c\r\x0bMSH|^~\\&|B\rPID|2\x1c\r\x0b\r\n";
    const char *const want[] = {"MSH|^~\\&|A\rPID|1", "MSH|^~\\&|B\rPID|2", NULL};
    expect_messages(t, strlen(t), want);
}

static void mllp_frames_are_message_boundaries(void **state) {
    (void)state;
    /* the middle frame lost its MSH: reported, not glued onto message A */
    const char *t = "\x0bMSH|^~\\&|A\rPID|1\r\x1c\r\x0b"
                    "EVN|X\rPID|2\r\x1c\r\x0bMSH|^~\\&|B\x1c\r";
    hf_hl7_splitter sp;
    hf_span m;
    hf_err err = {0};
    hf_hl7_split_init(&sp, (hf_span){t, strlen(t)});
    assert_int_equal(hf_hl7_split_next(&sp, &m, &err), HF_OK);
    assert_span(m, "MSH|^~\\&|A\rPID|1");
    assert_int_equal(hf_hl7_split_next(&sp, &m, &err), HF_ESYNTAX);
    assert_string_equal(err.msg, "bytes 21-32: text outside any message (expected MSH, FHS, BHS, "
                                 "BTS or FTS)");
    assert_int_equal(hf_hl7_split_next(&sp, &m, &err), HF_OK);
    assert_span(m, "MSH|^~\\&|B");
    assert_int_equal(hf_hl7_split_next(&sp, &m, &err), HF_ENOTFOUND);
}

static void skips_a_leading_bom(void **state) {
    (void)state;
    const char *t = "\xEF\xBB\xBFMSH|^~\\&|A\nPID|1\n";
    const char *const want[] = {"MSH|^~\\&|A\nPID|1", NULL};
    expect_messages(t, strlen(t), want);
}

static void only_msh_plus_separator_starts_a_message(void **state) {
    (void)state;
    const char *t = "MSH|^~\\&|A\rMSHX|1\rMSH1|2";
    const char *const want[] = {"MSH|^~\\&|A\rMSHX|1\rMSH1|2", NULL};
    hf_hl7_splitter sp;
    hf_span m;
    hf_hl7_split_init(&sp, (hf_span){t, strlen(t)});
    assert_int_equal(hf_hl7_split_next(&sp, &m, NULL), HF_OK);
    assert_span(m, want[0]); /* one message; the parser then rejects MSHX */
    assert_int_equal(hf_hl7_split_next(&sp, &m, NULL), HF_ENOTFOUND);
}

static void reports_text_outside_messages_and_goes_on(void **state) {
    (void)state;
    const char *t = "/* comment */\n// more\n\nMSH|^~\\&|A\rPID|1\rBTS|1\rjunk\rMSH|^~\\&|B";
    hf_hl7_splitter sp;
    hf_span m;
    hf_err err = {0};
    hf_hl7_split_init(&sp, (hf_span){t, strlen(t)});
    assert_int_equal(hf_hl7_split_next(&sp, &m, &err), HF_ESYNTAX);
    assert_string_equal(err.msg, "bytes 0-21: text outside any message (expected MSH, FHS, BHS, "
                                 "BTS or FTS)");
    assert_int_equal(m.len, 0);
    assert_int_equal(hf_hl7_split_next(&sp, &m, &err), HF_OK);
    assert_span(m, "MSH|^~\\&|A\rPID|1");
    assert_int_equal(hf_hl7_split_next(&sp, &m, &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "bytes 46-50:"));
    assert_int_equal(hf_hl7_split_next(&sp, &m, &err), HF_OK);
    assert_span(m, "MSH|^~\\&|B");
    assert_int_equal(hf_hl7_split_next(&sp, &m, &err), HF_ENOTFOUND);
    assert_int_equal(sp.count, 2);
}

static void empty_and_blank_buffers_have_no_messages(void **state) {
    (void)state;
    hf_hl7_splitter sp;
    hf_span m;
    hf_hl7_split_init(&sp, (hf_span){NULL, 0});
    assert_int_equal(hf_hl7_split_next(&sp, &m, NULL), HF_ENOTFOUND);
    assert_non_null(m.p);
    hf_hl7_split_init(&sp, (hf_span){" \r\n\t\r\x0b\x1c", 7});
    assert_int_equal(hf_hl7_split_next(&sp, &m, NULL), HF_ENOTFOUND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(returns_a_single_message),
        cmocka_unit_test(splits_messages_back_to_back),
        cmocka_unit_test(splits_batches_and_keeps_headers),
        cmocka_unit_test(handles_an_empty_batch),
        cmocka_unit_test(strips_mllp_frames),
        cmocka_unit_test(mllp_frames_are_message_boundaries),
        cmocka_unit_test(skips_a_leading_bom),
        cmocka_unit_test(only_msh_plus_separator_starts_a_message),
        cmocka_unit_test(reports_text_outside_messages_and_goes_on),
        cmocka_unit_test(empty_and_blank_buffers_have_no_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
