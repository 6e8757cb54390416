/* test_framing.c - MLLP frame iteration (mllp.h) and the MSH peek (msh.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/mllp.h"
#include "hl7flow/msh.h"

static void frames_are_found_and_garbage_skipped(void **state) {
    (void)state;
    const char buf[] = "junk\x0b" "A\r\x1c\x0d" "\n\x0b" "B\x1c" "x\r\x1c\x0d" "\x0b" "C-unterminated";
    size_t len = sizeof buf - 1, pos = 0, skipped = 0, mlen;
    const char *msg;
    assert_true(hf_mllp_next(buf, len, &pos, &msg, &mlen, &skipped));
    assert_int_equal(mlen, 2);
    assert_memory_equal(msg, "A\r", 2);
    assert_true(hf_mllp_next(buf, len, &pos, &msg, &mlen, &skipped));
    /* A lone 0x1C inside a message does not end the frame. */
    assert_int_equal(mlen, 4);
    assert_memory_equal(msg, "B\x1cx\r", 4);
    assert_false(hf_mllp_next(buf, len, &pos, &msg, &mlen, &skipped));
    assert_int_equal(pos, len);
    /* "junk" + "\n" + the unterminated tail. */
    assert_int_equal(skipped, 4 + 1 + strlen("\x0b" "C-unterminated"));
}

static void empty_input_has_no_frames(void **state) {
    (void)state;
    size_t pos = 0, mlen;
    const char *msg;
    assert_false(hf_mllp_next("", 0, &pos, &msg, &mlen, NULL));
}

static void msh_peek_reads_routing_fields(void **state) {
    (void)state;
    const char m[] = "\x0bMSH|^~\\&|EPIC^X|HOSP_A^1.2|RCV|RF|20240101||ADT^A01^ADT_A01|CTL123|P|2.5\rPID|1";
    hf_msh_peek p;
    assert_true(hf_msh_peek_parse(m, sizeof m - 1, &p));
    assert_int_equal(p.sending_app_len, 4);
    assert_memory_equal(p.sending_app, "EPIC", 4);
    assert_int_equal(p.sending_facility_len, 6);
    assert_memory_equal(p.sending_facility, "HOSP_A", 6);
    assert_int_equal(p.message_type_len, strlen("ADT^A01^ADT_A01"));
    assert_memory_equal(p.message_type, "ADT^A01^ADT_A01", p.message_type_len);
    assert_int_equal(p.control_id_len, 6);
    assert_memory_equal(p.control_id, "CTL123", 6);
}

static void msh_peek_uses_the_declared_separators(void **state) {
    (void)state;
    const char m[] = "MSH#*~\\&#APP*Z#FAC#R#RF#2024##ORU*R01#C9#P#2.3";
    hf_msh_peek p;
    assert_true(hf_msh_peek_parse(m, sizeof m - 1, &p));
    assert_memory_equal(p.sending_app, "APP", p.sending_app_len);
    assert_memory_equal(p.message_type, "ORU*R01", p.message_type_len);
    assert_memory_equal(p.control_id, "C9", p.control_id_len);
}

static void msh_peek_rejects_non_hl7_and_tolerates_short_headers(void **state) {
    (void)state;
    hf_msh_peek p;
    assert_false(hf_msh_peek_parse("PID|1||X", 8, &p));
    assert_false(hf_msh_peek_parse("MSH", 3, &p));
    assert_false(hf_msh_peek_parse("MSHA^~\\&|X", 10, &p));
    const char s[] = "MSH|^~\\&|APP\r";
    assert_true(hf_msh_peek_parse(s, sizeof s - 1, &p));
    assert_memory_equal(p.sending_app, "APP", p.sending_app_len);
    assert_int_equal(p.control_id_len, 0);
    assert_int_equal(p.message_type_len, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_are_found_and_garbage_skipped),
        cmocka_unit_test(empty_input_has_no_frames),
        cmocka_unit_test(msh_peek_reads_routing_fields),
        cmocka_unit_test(msh_peek_uses_the_declared_separators),
        cmocka_unit_test(msh_peek_rejects_non_hl7_and_tolerates_short_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
