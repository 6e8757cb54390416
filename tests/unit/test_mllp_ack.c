/* test_mllp_ack.c - MSH reading and ACK building for the MLLP listener
 * (hl7flow/mllp_ack.h): swapped sender/receiver, MSA-2, the sender's
 * delimiters and version, original vs enhanced mode per MSH-15/16, ERR per
 * version, escaping, non-HL7 input, snprintf-style sizing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/mllp_ack.h"

static const char ADT[] = "MSH|^~\\&|EPIC^E1|HOSP_A^1.2.3^ISO|HL7FLOW|HUB|20240101120000||"
                          "ADT^A01^ADT_A01|CTL123|P|2.5.1\rEVN|A01\rPID|1||123^^^HOSP_A^MR\r";

/* 2024-01-01T00:00:00.123456Z */
#define T0 1704067200123456LL

static size_t build(char *buf, size_t cap, const hf_mllp_msh *m, const char *code, int err_code,
                    const char *text) {
    hf_ack_params p = {.app = "HL7FLOW", .facility = "HUB", .control_id = "A0001",
                       .wall_us = T0, .err_code = err_code, .err_text = text};
    size_t n = hf_ack_build(buf, cap, m, code, &p);
    if (n < cap)
        buf[n] = '\0';
    return n;
}

static void msh_fields_are_read_with_the_senders_delimiters(void **state) {
    (void)state;
    hf_mllp_msh m;
    assert_true(hf_mllp_msh_read(ADT, sizeof ADT - 1, &m));
    assert_int_equal(m.fs, '|');
    assert_int_equal(m.cs, '^');
    assert_int_equal(m.esc, '\\');
    assert_int_equal(m.f3.len, strlen("EPIC^E1"));
    assert_int_equal(m.app.len, 4);
    assert_memory_equal(m.facility.p, "HOSP_A", m.facility.len);
    assert_memory_equal(m.trigger.p, "A01", 3);
    assert_memory_equal(m.f10.p, "CTL123", m.f10.len);
    assert_memory_equal(m.f12.p, "2.5.1", m.f12.len);
    assert_int_equal(m.f15.len, 0);
    /* VistA style: '^' fields, '~' components. */
    const char vista[] = "MSH^~|\\&^APP~X^FAC^^^2024^^ADT~A24^C9^P^2.4\r";
    assert_true(hf_mllp_msh_read(vista, sizeof vista - 1, &m));
    assert_int_equal(m.fs, '^');
    assert_int_equal(m.cs, '~');
    assert_memory_equal(m.app.p, "APP", m.app.len);
    assert_memory_equal(m.trigger.p, "A24", m.trigger.len);
    assert_memory_equal(m.f10.p, "C9", m.f10.len);
}

static void non_hl7_text_is_not_read_as_msh(void **state) {
    (void)state;
    hf_mllp_msh m;
    assert_false(hf_mllp_msh_read("hello world", 11, &m));
    assert_false(hf_mllp_msh_read("MSH", 3, &m));
    assert_false(hf_mllp_msh_read("MSHA^~\\&|x", 10, &m));      /* letter as separator */
    assert_false(hf_mllp_msh_read("MSH||~\\&|x|y", 12, &m));    /* empty MSH-2 */
    assert_false(hf_mllp_msh_read("MSH|^|x|y|z", 11, &m));      /* one encoding char */
    assert_false(hf_mllp_msh_read("PID|1||x\rMSH|^~\\&|", 18, &m));
    /* Leading blank lines are tolerated. */
    assert_true(hf_mllp_msh_read("\r\n MSH|^~\\&|A", 14, &m));
    assert_memory_equal(m.app.p, "A", 1);
}

static void positive_ack_swaps_sender_and_receiver(void **state) {
    (void)state;
    hf_mllp_msh m;
    assert_true(hf_mllp_msh_read(ADT, sizeof ADT - 1, &m));
    const char *code = hf_ack_code(&m, HF_ACK_OK);
    assert_string_equal(code, "AA");
    char buf[512];
    build(buf, sizeof buf, &m, code, 0, NULL);
    assert_string_equal(buf, "MSH|^~\\&|HL7FLOW|HUB|EPIC^E1|HOSP_A^1.2.3^ISO|"
                             "20240101000000.1234+0000||ACK^A01^ACK|A0001|P|2.5.1\r"
                             "MSA|AA|CTL123\r");
}

static void original_mode_codes(void **state) {
    (void)state;
    hf_mllp_msh m;
    assert_true(hf_mllp_msh_read(ADT, sizeof ADT - 1, &m));
    assert_false(hf_ack_enhanced(&m));
    assert_string_equal(hf_ack_code(&m, HF_ACK_ERROR), "AE");
    assert_string_equal(hf_ack_code(&m, HF_ACK_REJECT), "AR");
    /* Not HL7 at all: original mode. */
    assert_string_equal(hf_ack_code(NULL, HF_ACK_REJECT), "AR");
}

static void enhanced_mode_follows_msh15(void **state) {
    (void)state;
    struct {
        const char *f15_16;
        const char *ok, *error, *reject;
    } cases[] = {
        {"AL|NE", "CA", "CE", "CR"},
        {"|AL", "CA", "CE", "CR"},   /* MSH-15 empty, MSH-16 set: enhanced, commit ACK sent */
        {"NE|AL", NULL, NULL, NULL}, /* never */
        {"ER|AL", NULL, "CE", "CR"}, /* only on error */
        {"SU|AL", "CA", NULL, NULL}, /* only on success */
        {"al|", "CA", "CE", "CR"},   /* case-insensitive */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[256];
        snprintf(msg, sizeof msg, "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.5|||%s\r",
                 cases[i].f15_16);
        hf_mllp_msh m;
        assert_true(hf_mllp_msh_read(msg, strlen(msg), &m));
        assert_true(hf_ack_enhanced(&m));
        const char *want[3] = {cases[i].ok, cases[i].error, cases[i].reject};
        hf_ack_outcome o[3] = {HF_ACK_OK, HF_ACK_ERROR, HF_ACK_REJECT};
        for (int k = 0; k < 3; k++) {
            const char *got = hf_ack_code(&m, o[k]);
            if (want[k] == NULL)
                assert_null(got);
            else
                assert_string_equal(got, want[k]);
        }
    }
}

static void negative_ack_has_text_and_err_per_version(void **state) {
    (void)state;
    hf_mllp_msh m;
    assert_true(hf_mllp_msh_read(ADT, sizeof ADT - 1, &m));
    char buf[512];
    build(buf, sizeof buf, &m, "AE", HF_ACK_ERR_INTERNAL, "not stored: timed out");
    assert_non_null(strstr(buf, "\rMSA|AE|CTL123|not stored: timed out\r"));
    assert_non_null(strstr(buf, "\rERR|||207^Application internal error^HL70357|E||||"
                                "not stored: timed out\r"));
    /* v2.3: MSH-9 without structure, ERR-1 as an ELD. */
    const char v23[] = "MSH|^~\\&|LAB|L1|||2024||ORU^R01|Q7|T|2.3\rOBR|1\r";
    assert_true(hf_mllp_msh_read(v23, sizeof v23 - 1, &m));
    build(buf, sizeof buf, &m, "AE", HF_ACK_ERR_INTERNAL, "x");
    assert_non_null(strstr(buf, "||ACK^R01|A0001|T|2.3\r"));
    assert_non_null(strstr(buf, "\rERR|^^^207&Application internal error&HL70357\r"));
    /* Our MSH-3/4 fill in for the empty MSH-5/6. */
    assert_memory_equal(buf, "MSH|^~\\&|HL7FLOW|HUB|LAB|L1|", 27);
}

static void text_is_escaped_with_the_senders_escape_char(void **state) {
    (void)state;
    const char msg[] = "MSH|^~#&|A|B|||2024||ADT^A01|Z|P|2.5\r";
    hf_mllp_msh m;
    assert_true(hf_mllp_msh_read(msg, sizeof msg - 1, &m));
    assert_int_equal(m.esc, '#');
    char buf[512];
    build(buf, sizeof buf, &m, "AE", 0, "a|b^c~d#e&f\rg");
    assert_non_null(strstr(buf, "\rMSA|AE|Z|a#F#b#S#c#R#d#E#e#T#f g\r"));
    assert_null(strstr(buf, "\rERR"));
}

static void non_hl7_input_gets_ar_with_err(void **state) {
    (void)state;
    char buf[512];
    build(buf, sizeof buf, NULL, hf_ack_code(NULL, HF_ACK_REJECT), HF_ACK_ERR_SEGMENT_SEQUENCE,
          "not an HL7 message");
    assert_string_equal(buf, "MSH|^~\\&|HL7FLOW|HUB|||20240101000000.1234+0000||ACK|A0001|P|2.5\r"
                             "MSA|AR||not an HL7 message\r"
                             "ERR|||100^Segment sequence error^HL70357|E||||not an HL7 message\r");
}

static void build_reports_the_full_length_when_short_of_room(void **state) {
    (void)state;
    hf_mllp_msh m;
    assert_true(hf_mllp_msh_read(ADT, sizeof ADT - 1, &m));
    char big[512], small[16];
    size_t full = build(big, sizeof big, &m, "AA", 0, NULL);
    memset(small, 'Z', sizeof small);
    hf_ack_params p = {.app = "HL7FLOW", .facility = "HUB", .control_id = "A0001", .wall_us = T0};
    size_t n = hf_ack_build(small, 10, &m, "AA", &p);
    assert_int_equal(n, full);
    assert_memory_equal(small, big, 10);
    assert_int_equal(small[10], 'Z'); /* nothing past cap */
}

static void dtm_is_utc_with_four_fraction_digits(void **state) {
    (void)state;
    char out[32];
    assert_int_equal(hf_ack_dtm(T0, out), 24);
    assert_string_equal(out, "20240101000000.1234+0000");
    hf_ack_dtm(0, out);
    assert_string_equal(out, "19700101000000.0000+0000");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(msh_fields_are_read_with_the_senders_delimiters),
        cmocka_unit_test(non_hl7_text_is_not_read_as_msh),
        cmocka_unit_test(positive_ack_swaps_sender_and_receiver),
        cmocka_unit_test(original_mode_codes),
        cmocka_unit_test(enhanced_mode_follows_msh15),
        cmocka_unit_test(negative_ack_has_text_and_err_per_version),
        cmocka_unit_test(text_is_escaped_with_the_senders_escape_char),
        cmocka_unit_test(non_hl7_input_gets_ar_with_err),
        cmocka_unit_test(build_reports_the_full_length_when_short_of_room),
        cmocka_unit_test(dtm_is_utc_with_four_fraction_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
