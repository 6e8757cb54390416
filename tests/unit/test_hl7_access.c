/* test_hl7_access.c - unit tests for reading a parsed message (hl7.h,
 * hl7_access.c): path syntax, access by path and by number, repetition/
 * component/subcomponent edge cases, missing elements, iteration, the leaf
 * walk and location formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"

static const char MSG[] = "MSH|^~\\&|APP|FAC|||20240101||ORU^R01^ORU_R01|C1|P|2.5.1\r"
                          "PID|1||111^^^HOSP&1.2.3&ISO^MR~222^^^SSA^SS||DOE^JANE^^^^^L\r"
                          "OBR|1||F1|CBC\r"
                          "OBX|1|NM|WBC||7.2\r"
                          "OBX|2|NM|RBC||4.5|~^x~|\r"
                          "OBX|3|TX|NOTE||a^^c&&e^|||\r"
                          "ZZZ\r";

static hf_hl7_msg *g_msg;

static int setup(void **state) {
    (void)state;
    hf_err err = {0};
    return hf_hl7_parse((hf_span){MSG, sizeof MSG - 1}, NULL, &g_msg, &err) == HF_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    hf_hl7_msg_destroy(g_msg);
    return 0;
}

static void assert_span(hf_span s, const char *want) {
    assert_non_null(s.p);
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
        fail_msg("span '%.*s' != '%s'", (int)s.len, s.p, want);
}

static void assert_absent(hf_span s) {
    assert_non_null(s.p);
    assert_int_equal(s.len, 0);
}

/* ------------------------------------------------------------------- paths */

static void parses_valid_paths(void **state) {
    (void)state;
    hf_hl7_path p;
    assert_int_equal(hf_hl7_path_parse("PID-3", 5, &p, NULL), HF_OK);
    assert_memory_equal(p.seg, "PID", 3);
    assert_int_equal(p.occ, 0);
    assert_int_equal(p.field, 3);
    assert_int_equal(p.rep, 0);
    assert_int_equal(p.comp, 0);
    assert_int_equal(hf_hl7_path_parse("OBX[12]-5[3].2.1", 16, &p, NULL), HF_OK);
    assert_int_equal(p.occ, 12);
    assert_int_equal(p.field, 5);
    assert_int_equal(p.rep, 3);
    assert_int_equal(p.comp, 2);
    assert_int_equal(p.sub, 1);
    assert_int_equal(hf_hl7_path_parse("Z01-999999999", 13, &p, NULL), HF_OK);
    assert_int_equal(p.field, 999999999);
}

static void rejects_invalid_paths(void **state) {
    (void)state;
    static const char *const bad[] = {
        "", "PID", "PID-", "PID-0", "pid-3", "PI-3", "1ID-3", "PID-3[0]", "PID-3[", "PID-3[2",
        "PID-3.", "PID-3.0", "PID-3.1.", "PID-3.1.2.3", "PID[1-3", "PID[]-3", "PID-3x", "PID 3",
        "PID-1234567890", "PID-3[2]x", "PID-+3", "PID--3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hf_hl7_path p;
        hf_err err = {0};
        hf_status st = hf_hl7_path_parse(bad[i], strlen(bad[i]), &p, &err);
        if (st != HF_ESYNTAX)
            fail_msg("path '%s' accepted", bad[i]);
        assert_non_null(strstr(err.msg, "path: expected SEG[n]-F[r].C.S"));
        assert_span(hf_hl7_get(g_msg, bad[i]), "");
    }
    hf_err err = {0};
    hf_hl7_path p;
    hf_hl7_path_parse("PID-3x", 6, &p, &err);
    assert_non_null(strstr(err.msg, "(column 6)"));
}

static void gets_values_by_path(void **state) {
    (void)state;
    assert_span(hf_hl7_get(g_msg, "PID-3"), "111^^^HOSP&1.2.3&ISO^MR~222^^^SSA^SS");
    assert_span(hf_hl7_get(g_msg, "PID-3[2]"), "222^^^SSA^SS");
    assert_span(hf_hl7_get(g_msg, "PID-3.1"), "111");
    assert_span(hf_hl7_get(g_msg, "PID-3[2].1"), "222");
    assert_span(hf_hl7_get(g_msg, "PID-3.4"), "HOSP&1.2.3&ISO");
    assert_span(hf_hl7_get(g_msg, "PID-3.4.2"), "1.2.3");
    assert_span(hf_hl7_get(g_msg, "PID-3[1].4.3"), "ISO");
    assert_span(hf_hl7_get(g_msg, "PID-5.7"), "L");
    assert_span(hf_hl7_get(g_msg, "OBX[3]-5"), "a^^c&&e^");
    assert_span(hf_hl7_get(g_msg, "OBX[2]-5"), "4.5");
    assert_span(hf_hl7_get(g_msg, "OBX-5"), "7.2");
    assert_span(hf_hl7_get(g_msg, "OBX[1]-5"), "7.2");
    assert_span(hf_hl7_get(g_msg, "MSH-9.2"), "R01");
    assert_span(hf_hl7_get(g_msg, "MSH-9.3"), "ORU_R01");
    /* a leaf path on a value without separators gives the value */
    assert_span(hf_hl7_get(g_msg, "OBR-4.1.1"), "CBC");
    assert_span(hf_hl7_get(g_msg, "OBR-4[1]"), "CBC");
}

static void missing_elements_are_empty_never_null(void **state) {
    (void)state;
    assert_absent(hf_hl7_get(g_msg, "PV1-1"));        /* no such segment */
    assert_absent(hf_hl7_get(g_msg, "OBX[4]-1"));     /* no 4th OBX */
    assert_absent(hf_hl7_get(g_msg, "PID-30"));       /* past the last field */
    assert_absent(hf_hl7_get(g_msg, "PID-2"));        /* present but empty */
    assert_absent(hf_hl7_get(g_msg, "PID-3[3]"));     /* no 3rd repetition */
    assert_absent(hf_hl7_get(g_msg, "PID-3.9"));      /* no 9th component */
    assert_absent(hf_hl7_get(g_msg, "PID-3.4.4"));    /* no 4th subcomponent */
    assert_absent(hf_hl7_get(g_msg, "PID-3.1.2"));    /* component without subcomponents */
    assert_absent(hf_hl7_get(g_msg, "ZZZ-1"));        /* segment with ID only */
    assert_absent(hf_hl7_get(g_msg, NULL));
    assert_absent(hf_hl7_field(g_msg, 99, 1));
    assert_absent(hf_hl7_seg_id(g_msg, 99));
    assert_absent(hf_hl7_seg_raw(g_msg, 99));
    assert_int_equal(hf_hl7_field_count(g_msg, 99), 0);
    assert_int_equal(hf_hl7_seg_occurrence(g_msg, 99), 0);
}

static void handles_empty_and_trailing_separators(void **state) {
    (void)state;
    /* OBX[2]-6 is "~^x~": rep 1 empty, rep 2 "^x", rep 3 empty */
    assert_span(hf_hl7_get(g_msg, "OBX[2]-6"), "~^x~");
    assert_absent(hf_hl7_get(g_msg, "OBX[2]-6[1]"));
    assert_span(hf_hl7_get(g_msg, "OBX[2]-6[2]"), "^x");
    assert_absent(hf_hl7_get(g_msg, "OBX[2]-6[2].1"));
    assert_span(hf_hl7_get(g_msg, "OBX[2]-6[2].2"), "x");
    assert_absent(hf_hl7_get(g_msg, "OBX[2]-6[3]"));
    assert_absent(hf_hl7_get(g_msg, "OBX[2]-6[4]"));
    /* OBX[3]-5 is "a^^c&&e^": trailing component separator */
    assert_span(hf_hl7_get(g_msg, "OBX[3]-5.1"), "a");
    assert_absent(hf_hl7_get(g_msg, "OBX[3]-5.2"));
    assert_span(hf_hl7_get(g_msg, "OBX[3]-5.3"), "c&&e");
    assert_span(hf_hl7_get(g_msg, "OBX[3]-5.3.1"), "c");
    assert_absent(hf_hl7_get(g_msg, "OBX[3]-5.3.2"));
    assert_span(hf_hl7_get(g_msg, "OBX[3]-5.3.3"), "e");
    assert_absent(hf_hl7_get(g_msg, "OBX[3]-5.4"));
    assert_absent(hf_hl7_get(g_msg, "OBX[3]-5.5"));
    /* trailing empty fields still count */
    size_t seg = hf_hl7_seg_find(g_msg, "OBX", 3);
    assert_int_equal(seg, 5);
    assert_int_equal(hf_hl7_field_count(g_msg, seg), 8);
}

static void accesses_by_number(void **state) {
    (void)state;
    size_t pid = hf_hl7_seg_find(g_msg, "PID", 0);
    assert_int_equal(pid, 1);
    assert_span(hf_hl7_at(g_msg, pid, 3, 0, 0, 0), "111^^^HOSP&1.2.3&ISO^MR~222^^^SSA^SS");
    assert_span(hf_hl7_at(g_msg, pid, 3, 2, 0, 0), "222^^^SSA^SS");
    assert_span(hf_hl7_at(g_msg, pid, 3, 0, 5, 0), "MR");            /* rep defaults to 1 */
    assert_span(hf_hl7_at(g_msg, pid, 3, 0, 0, 1), "111");           /* sub alone: comp 1 */
    assert_absent(hf_hl7_at(g_msg, pid, 3, 0, 0, 2));
    assert_span(hf_hl7_at(g_msg, pid, 3, 1, 4, 2), "1.2.3");
    assert_span(hf_hl7_at(g_msg, pid, 0, 0, 0, 0), "PID");
    assert_span(hf_hl7_at(g_msg, pid, 0, 1, 1, 1), "PID");
    assert_absent(hf_hl7_at(g_msg, pid, 0, 2, 0, 0));
    assert_span(hf_hl7_seg_raw(g_msg, 2), "OBR|1||F1|CBC");
    assert_int_equal(hf_hl7_seg_find(g_msg, "OBX", 3), 5);
    assert_int_equal(hf_hl7_seg_find(g_msg, "OBX", 4), HF_HL7_NONE);
    assert_int_equal(hf_hl7_seg_find(g_msg, "PV1", 1), HF_HL7_NONE);
    assert_int_equal(hf_hl7_seg_occurrence(g_msg, 5), 3);
}

/* --------------------------------------------------------------- iteration */

static void iterates_by_separator(void **state) {
    (void)state;
    hf_hl7_iter it;
    hf_span e;
    const char *want[] = {"", "a", "", "b", ""};
    const char *s = "^a^^b^";
    size_t i = 0;
    hf_hl7_iter_init(&it, (hf_span){s, strlen(s)}, '^');
    while (hf_hl7_iter_next(&it, &e))
        assert_span(e, want[i++]);
    assert_int_equal(i, 5);
    assert_false(hf_hl7_iter_next(&it, &e));

    /* an empty span is one empty element; separator 0 means no split */
    hf_hl7_iter_init(&it, (hf_span){"", 0}, '^');
    assert_true(hf_hl7_iter_next(&it, &e));
    assert_int_equal(e.len, 0);
    assert_false(hf_hl7_iter_next(&it, &e));
    hf_hl7_iter_init(&it, (hf_span){"a\0b", 3}, 0);
    assert_true(hf_hl7_iter_next(&it, &e));
    assert_int_equal(e.len, 3);
    assert_false(hf_hl7_iter_next(&it, &e));
    hf_hl7_iter_init(&it, (hf_span){NULL, 5}, '^');
    assert_true(hf_hl7_iter_next(&it, &e));
    assert_non_null(e.p);
    assert_int_equal(e.len, 0);

    assert_span(hf_hl7_nth((hf_span){s, strlen(s)}, '^', 4), "b");
    assert_absent(hf_hl7_nth((hf_span){s, strlen(s)}, '^', 6));
    assert_absent(hf_hl7_nth((hf_span){s, strlen(s)}, '^', 0));
    assert_span(hf_hl7_nth((hf_span){"x", 1}, 0, 1), "x");
    assert_absent(hf_hl7_nth((hf_span){"x", 1}, 0, 2));
}

/* -------------------------------------------------------------------- walk */

typedef struct collect {
    char text[4096];
    size_t n;
    int calls;
    int stop_at;
} collect;

static int collect_leaf(const hf_hl7_leaf *l, void *vctx) {
    collect *c = vctx;
    c->calls++;
    c->n += (size_t)snprintf(c->text + c->n, sizeof c->text - c->n,
                             "%.3s[%u]-%u[%u].%u.%u%s=%.*s\n", l->seg_id.p, l->occ, l->field,
                             l->rep, l->comp, l->sub, l->literal ? "L" : "", (int)l->value.len,
                             l->value.p);
    return c->calls == c->stop_at ? 42 : 0;
}

static void walks_every_nonempty_leaf_in_order(void **state) {
    (void)state;
    static const char text[] = "MSH|^~\\&|A\rPID|1||x~^y&&z~|\rOBX|1\rOBX|2||a^b";
    hf_hl7_msg *m = NULL;
    assert_int_equal(hf_hl7_parse((hf_span){text, sizeof text - 1}, NULL, &m, NULL), HF_OK);
    collect c = {.stop_at = 0};
    assert_int_equal(hf_hl7_walk(m, collect_leaf, &c), 0);
    assert_string_equal(c.text, "MSH[1]-1[1].1.1L=|\n"
                                "MSH[1]-2[1].1.1L=^~\\&\n"
                                "MSH[1]-3[1].1.1=A\n"
                                "PID[1]-1[1].1.1=1\n"
                                "PID[1]-3[1].1.1=x\n"
                                "PID[1]-3[2].2.1=y\n"
                                "PID[1]-3[2].2.3=z\n"
                                "OBX[1]-1[1].1.1=1\n"
                                "OBX[2]-1[1].1.1=2\n"
                                "OBX[2]-3[1].1.1=a\n"
                                "OBX[2]-3[1].2.1=b\n");
    collect c2 = {.stop_at = 4};
    assert_int_equal(hf_hl7_walk(m, collect_leaf, &c2), 42);
    assert_int_equal(c2.calls, 4);
    hf_hl7_msg_destroy(m);
}

static void walks_subcomponents_only_when_defined(void **state) {
    (void)state;
    /* "^~&" has no escape; '&' still splits subcomponents, '\' is data */
    static const char text[] = "MSH|^~&|A\rPID|||a&b\\c";
    hf_hl7_msg *m = NULL;
    assert_int_equal(hf_hl7_parse((hf_span){text, sizeof text - 1}, NULL, &m, NULL), HF_OK);
    collect c = {.stop_at = 0};
    hf_hl7_walk(m, collect_leaf, &c);
    assert_non_null(strstr(c.text, "PID[1]-3[1].1.1=a\nPID[1]-3[1].1.2=b\\c\n"));
    hf_hl7_msg_destroy(m);
}

/* ---------------------------------------------------------------- location */

static void formats_locations(void **state) {
    (void)state;
    char buf[64];
    assert_int_equal(hf_hl7_loc_format(buf, sizeof buf, g_msg, 1, 7, 0, 1, 0), 7);
    assert_string_equal(buf, "PID-7.1");
    hf_hl7_loc_format(buf, sizeof buf, g_msg, 4, 5, 3, 1, 2);
    assert_string_equal(buf, "OBX[2]-5[3].1.2");
    hf_hl7_loc_format(buf, sizeof buf, g_msg, 4, 5, 1, 0, 2); /* sub without comp: omitted */
    assert_string_equal(buf, "OBX[2]-5");
    /* snprintf style: the needed length, truncated output, NUL-terminated */
    assert_int_equal(hf_hl7_loc_format(buf, 4, g_msg, 4, 5, 3, 1, 2), 15);
    assert_string_equal(buf, "OBX");
    assert_int_equal(hf_hl7_loc_format(NULL, 0, g_msg, 4, 5, 0, 0, 0), 8);
    assert_int_equal(hf_hl7_loc_format(buf, sizeof buf, g_msg, 99, 1, 0, 0, 0), 0);
    assert_string_equal(buf, "");
}

static void reports_offsets_in_the_callers_buffer(void **state) {
    (void)state;
    hf_span v = hf_hl7_get(g_msg, "OBX[2]-5");
    assert_int_equal(hf_hl7_offset(g_msg, v), (size_t)(strstr(MSG, "4.5") - MSG));
    assert_int_equal(hf_hl7_offset(g_msg, (hf_span){"elsewhere", 9}), (size_t)-1);
    hf_span raw = hf_hl7_msg_raw(g_msg);
    assert_int_equal(raw.len, sizeof MSG - 2); /* without the final CR */
    assert_ptr_equal(raw.p, MSG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_valid_paths),
        cmocka_unit_test(rejects_invalid_paths),
        cmocka_unit_test(gets_values_by_path),
        cmocka_unit_test(missing_elements_are_empty_never_null),
        cmocka_unit_test(handles_empty_and_trailing_separators),
        cmocka_unit_test(accesses_by_number),
        cmocka_unit_test(iterates_by_separator),
        cmocka_unit_test(walks_every_nonempty_leaf_in_order),
        cmocka_unit_test(walks_subcomponents_only_when_defined),
        cmocka_unit_test(formats_locations),
        cmocka_unit_test(reports_offsets_in_the_callers_buffer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
