/* test_hl7_parse.c - unit tests for the HL7 parse (hl7.h, hl7_parse.c):
 * delimiters from MSH-1/MSH-2, segment terminators, MSH numbering, framing,
 * blank lines, malformed input with exact error coordinates, every limit at
 * and past its boundary, object reuse, and error texts free of content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"

static hf_span sp(const char *s) {
    return (hf_span){s, strlen(s)};
}

static hf_span spn(const char *s, size_t n) {
    return (hf_span){s, n};
}

static void assert_span(hf_span s, const char *want) {
    assert_non_null(s.p);
    if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
        fail_msg("span '%.*s' != '%s'", (int)s.len, s.p, want);
}

/* Parses @p n bytes that must be accepted. */
static hf_hl7_msg *parse_ok_n(const char *text, size_t n, const hf_hl7_limits *lim) {
    hf_hl7_msg *m = NULL;
    hf_err err = {0};
    hf_status st = hf_hl7_parse(spn(text, n), lim, &m, &err);
    if (st != HF_OK)
        fail_msg("parse failed: %s", err.msg);
    assert_non_null(m);
    return m;
}

static hf_hl7_msg *parse_ok(const char *text) {
    return parse_ok_n(text, strlen(text), NULL);
}

/* Parses text that must be rejected with @p want_st and an error text
 * containing @p want (exactly, including the coordinates). */
static void parse_bad_lim(const char *text, size_t n, const hf_hl7_limits *lim,
                          hf_status want_st, const char *want) {
    hf_hl7_msg *m = (hf_hl7_msg *)(uintptr_t)1;
    hf_err err = {0};
    hf_status st = hf_hl7_parse(spn(text, n), lim, &m, &err);
    assert_int_equal(st, want_st);
    assert_int_equal(err.st, want_st);
    assert_null(m);
    if (strstr(err.msg, want) == NULL)
        fail_msg("error '%s' lacks '%s'", err.msg, want);
}

static void parse_bad(const char *text, const char *want) {
    parse_bad_lim(text, strlen(text), NULL, HF_ESYNTAX, want);
}

/* --------------------------------------------------------------- delimiters */

static void reads_standard_delimiters_from_msh(void **state) {
    (void)state;
    hf_hl7_msg *m = parse_ok("MSH|^~\\&|APP|FAC\rPID|1||123^^^MRN");
    hf_hl7_delims d = hf_hl7_msg_delims(m);
    assert_int_equal(d.field, '|');
    assert_int_equal(d.component, '^');
    assert_int_equal(d.repetition, '~');
    assert_int_equal(d.escape, '\\');
    assert_int_equal(d.subcomponent, '&');
    assert_int_equal(d.truncation, 0);
    assert_int_equal(hf_hl7_seg_count(m), 2);
    assert_span(hf_hl7_get(m, "PID-3.4"), "MRN");
    hf_hl7_msg_destroy(m);
}

static void reads_nonstandard_delimiters_from_msh(void **state) {
    (void)state;
    /* VistA style: field '^', component '~', repetition '|'. */
    hf_hl7_msg *m =
        parse_ok("MSH^~|\\&^SENDING^200M\r\nPID^1^^111~~~FOO&&0363|222~~~BAR^SMITH~JOHN");
    hf_hl7_delims d = hf_hl7_msg_delims(m);
    assert_int_equal(d.field, '^');
    assert_int_equal(d.component, '~');
    assert_int_equal(d.repetition, '|');
    assert_span(hf_hl7_get(m, "MSH-3"), "SENDING");
    assert_span(hf_hl7_get(m, "PID-3[2].1"), "222");
    assert_span(hf_hl7_get(m, "PID-3.4.3"), "0363");
    assert_span(hf_hl7_get(m, "PID-4.2"), "JOHN");
    hf_hl7_msg_destroy(m);
}

static void accepts_five_encoding_chars_with_truncation(void **state) {
    (void)state;
    hf_hl7_msg *m = parse_ok("MSH|^~\\&#|APP\rNTE|1||long text#");
    hf_hl7_delims d = hf_hl7_msg_delims(m);
    assert_int_equal(d.truncation, '#');
    assert_int_equal(d.subcomponent, '&');
    assert_span(hf_hl7_get(m, "MSH-2"), "^~\\&#");
    assert_span(hf_hl7_get(m, "NTE-3.1.1"), "long text#"); /* '#' is not a separator */
    hf_hl7_msg_destroy(m);
}

static void accepts_caret_tilde_ampersand_without_escape(void **state) {
    (void)state;
    hf_hl7_msg *m = parse_ok("MSH|^~&|Lab^1234^CLIA\rPID|1||36^^^MPI&2.16.840&ISO^MR");
    hf_hl7_delims d = hf_hl7_msg_delims(m);
    assert_int_equal(d.escape, 0);
    assert_int_equal(d.subcomponent, '&');
    assert_true(hf_hl7_msg_quirks(m) & HF_HL7_Q_MSH2_NO_ESCAPE);
    assert_span(hf_hl7_get(m, "PID-3.4.2"), "2.16.840");
    hf_hl7_msg_destroy(m);
}

static void rejects_malformed_encoding_characters(void **state) {
    (void)state;
    static const char *const bad[] = {
        "MSH|^~\\\\&|A",   /* repeated escape char (a Java string artefact) */
        "MSH|^~|A",        /* two characters */
        "MSH||A",          /* none */
        "MSH|^~\\&#!|A",   /* six */
        "MSH|^~\\A|A",     /* alphanumeric */
        "MSH|^\\&|A",      /* three, but not "^~&" */
        "MSH|^~\\ |A",     /* space */
        "MSH|^~\\\x01|A",  /* control byte */
        "MSH|^^\\&|A",     /* not distinct */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_bad(bad[i], "MSH-2: encoding characters must be 4 or 5 distinct non-alphanumeric "
                          "characters (byte 4)");
}

static void rejects_bad_field_separator(void **state) {
    (void)state;
    parse_bad("MSH", "MSH-1: missing field separator (byte 3)");
    parse_bad("MSH\r^~\\&", "MSH-1: missing field separator (byte 3)");
    parse_bad("MSHA^~\\&", "MSH-1: field separator must be a printable non-alphanumeric "
                           "character (byte 3)");
    parse_bad("MSH ^~\\&", "(byte 3)");
}

/* ---------------------------------------------------------- MSH numbering */

static void numbers_msh_fields_per_standard(void **state) {
    (void)state;
    hf_hl7_msg *m = parse_ok("MSH|^~\\&|APP|FAC|RAPP|RFAC|20240101||ADT^A01^ADT_A01|CTRL1|P|2.5");
    assert_int_equal(hf_hl7_field_count(m, 0), 12);
    assert_span(hf_hl7_field(m, 0, 0), "MSH");
    assert_span(hf_hl7_field(m, 0, 1), "|");
    assert_span(hf_hl7_field(m, 0, 2), "^~\\&");
    assert_span(hf_hl7_field(m, 0, 3), "APP");
    assert_span(hf_hl7_get(m, "MSH-9.2"), "A01");
    assert_span(hf_hl7_get(m, "MSH-10"), "CTRL1");
    assert_span(hf_hl7_get(m, "MSH-12"), "2.5");
    assert_true(hf_hl7_field_is_literal(m, 0, 1));
    assert_true(hf_hl7_field_is_literal(m, 0, 2));
    assert_false(hf_hl7_field_is_literal(m, 0, 3));
    /* MSH-2 is one literal value: never split at its own characters. */
    assert_span(hf_hl7_get(m, "MSH-2.1"), "^~\\&");
    assert_span(hf_hl7_get(m, "MSH-2[1].1.1"), "^~\\&");
    assert_int_equal(hf_hl7_get(m, "MSH-2.2").len, 0);
    assert_int_equal(hf_hl7_get(m, "MSH-2[2]").len, 0);
    assert_span(hf_hl7_get(m, "MSH-1"), "|");
    hf_hl7_msg_destroy(m);
}

static void msh_with_only_encoding_chars_has_two_fields(void **state) {
    (void)state;
    hf_hl7_msg *m = parse_ok("MSH|^~\\&\rPID");
    assert_int_equal(hf_hl7_field_count(m, 0), 2);
    assert_int_equal(hf_hl7_field_count(m, 1), 0);
    assert_span(hf_hl7_seg_id(m, 1), "PID");
    assert_int_equal(hf_hl7_get(m, "PID-1").len, 0);
    hf_hl7_msg_destroy(m);
}

/* -------------------------------------------------------------- terminators */

static void accepts_cr_lf_crlf_and_mixed_terminators(void **state) {
    (void)state;
    static const char *const v[] = {
        "MSH|^~\\&|A\rEVN|X\rPID|1||P1\rPV1|1|I\r",
        "MSH|^~\\&|A\nEVN|X\nPID|1||P1\nPV1|1|I\n",
        "MSH|^~\\&|A\r\nEVN|X\r\nPID|1||P1\r\nPV1|1|I\r\n",
        "MSH|^~\\&|A\rEVN|X\nPID|1||P1\r\nPV1|1|I",
    };
    for (size_t i = 0; i < 4; i++) {
        hf_hl7_msg *m = parse_ok(v[i]);
        assert_int_equal(hf_hl7_seg_count(m), 4);
        assert_span(hf_hl7_get(m, "PID-3"), "P1");
        assert_span(hf_hl7_get(m, "PV1-2"), "I");
        assert_span(hf_hl7_seg_raw(m, 1), "EVN|X");
        unsigned q = hf_hl7_msg_quirks(m);
        assert_int_equal(!!(q & HF_HL7_Q_LF), i != 0);
        assert_false(q & HF_HL7_Q_BLANK_LINES); /* CRLF is one terminator */
        assert_int_equal(!!(q & HF_HL7_Q_NO_FINAL_TERM), i == 3);
        hf_hl7_msg_destroy(m);
    }
}

static void skips_blank_and_whitespace_lines(void **state) {
    (void)state;
    hf_hl7_msg *m = parse_ok("\r\nMSH|^~\\&|A\r\r\n  \t\rPID|1\r\x0b\r \r\n\n");
    assert_int_equal(hf_hl7_seg_count(m), 2);
    assert_span(hf_hl7_seg_raw(m, 1), "PID|1");
    assert_true(hf_hl7_msg_quirks(m) & HF_HL7_Q_BLANK_LINES);
    assert_span(hf_hl7_msg_raw(m), "MSH|^~\\&|A\r\r\n  \t\rPID|1");
    hf_hl7_msg_destroy(m);
}

static void keeps_trailing_spaces_of_values(void **state) {
    (void)state;
    hf_hl7_msg *m = parse_ok("MSH|^~\\&|A\rPRB|1|20040629 \r");
    assert_span(hf_hl7_get(m, "PRB-2"), "20040629 ");
    hf_hl7_msg_destroy(m);
}

/* ------------------------------------------------------- framing and BOM */

static void strips_mllp_framing(void **state) {
    (void)state;
    static const char with_cr[] = "\x0bMSH|^~\\&|A\rPID|1||X\r\x1c\r";
    static const char no_cr[] = "\x0bMSH|^~\\&|A\rPID|1||X\x1c";
    const char *v[] = {with_cr, no_cr};
    for (int i = 0; i < 2; i++) {
        hf_hl7_msg *m = parse_ok(v[i]);
        assert_true(hf_hl7_msg_quirks(m) & HF_HL7_Q_MLLP);
        assert_int_equal(hf_hl7_seg_count(m), 2);
        assert_span(hf_hl7_get(m, "PID-3"), "X");
        hf_span f = hf_hl7_get(m, "PID-3");
        assert_int_equal(hf_hl7_offset(m, f), strstr(v[i], "X") - v[i]);
        assert_span(hf_hl7_msg_raw(m), "MSH|^~\\&|A\rPID|1||X");
        hf_hl7_msg_destroy(m);
    }
}

static void skips_utf8_bom(void **state) {
    (void)state;
    hf_hl7_msg *m = parse_ok("\xEF\xBB\xBFMSH|^~\\&|A\nPID|1||\xC3\xA9");
    assert_true(hf_hl7_msg_quirks(m) & HF_HL7_Q_BOM);
    assert_span(hf_hl7_get(m, "PID-3"), "\xC3\xA9");
    hf_hl7_msg_destroy(m);
}

/* ------------------------------------------------------ empty and garbage */

static void rejects_empty_input(void **state) {
    (void)state;
    parse_bad_lim(NULL, 0, NULL, HF_ESYNTAX, "empty message: no MSH segment (byte 0)");
    parse_bad_lim(NULL, 5, NULL, HF_ESYNTAX, "empty message: no MSH segment (byte 0)");
    parse_bad("", "empty message: no MSH segment (byte 0)");
    parse_bad("\r\n \t\r", "empty message: no MSH segment (byte 5)");
    parse_bad("\x0b\x1c\r", "empty message");
}

static void rejects_input_not_starting_with_msh(void **state) {
    (void)state;
    parse_bad("PID|1||X", "a message must start with an MSH segment (byte 0)");
    parse_bad("\r\nhello", "a message must start with an MSH segment (byte 2)");
    parse_bad("FHS|^~\\&|A\rMSH|^~\\&", "batch segment FHS where a message must start; split "
                                         "the batch into messages first (byte 0)");
    parse_bad("\x01\x02\x03", "must start with an MSH segment");
}

static void rejects_garbage_segments_with_coordinates(void **state) {
    (void)state;
    parse_bad("MSH|^~\\&|A\rPID|1\r||||\r",
              "segment 3: segment ID must be 3 characters (A-Z, then A-Z or 0-9) followed by "
              "the field separator (byte 17)");
    parse_bad("MSH|^~\\&|A\rpid|1", "segment 2: segment ID must be 3 characters");
    parse_bad("MSH|^~\\&|A\rPI|1", "(byte 11)");
    parse_bad("MSH|^~\\&|A\rPIDX|1", "segment 2: segment ID");
    parse_bad("MSH|^~\\&|A\r1ID|1", "segment 2: segment ID");
    /* A stray LF that splits a segment mid-field leaves a line that is not
     * a segment. */
    parse_bad("MSH|^~\\&|A\rPID|1||36^^^MPI&2.16.8\n40.1&ISO\rPV1|1", "segment 3: segment ID");
}

static void rejects_second_msh_and_batch_segments(void **state) {
    (void)state;
    parse_bad("MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B",
              "segment 3: a second MSH segment starts another message; split the input into "
              "messages first (byte 17)");
    parse_bad("MSH|^~\\&|A\rBTS|1", "segment 2: batch segment BTS inside a message");
    parse_bad("MSH|^~\\&|A\rFTS|1", "batch segment FTS inside a message");
}

static void keeps_z_and_unknown_segments(void **state) {
    (void)state;
    hf_hl7_msg *m = parse_ok("MSH|^~\\&|A\rZPD|custom^x\rWTF|1\rWTF|2\rZ01|y");
    assert_int_equal(hf_hl7_seg_count(m), 5);
    assert_span(hf_hl7_get(m, "ZPD-1.2"), "x");
    assert_span(hf_hl7_get(m, "WTF[2]-1"), "2");
    assert_span(hf_hl7_get(m, "Z01-1"), "y");
    assert_int_equal(hf_hl7_seg_occurrence(m, 3), 2);
    hf_hl7_msg_destroy(m);
}

static void counts_occurrences_past_the_id_table(void **state) {
    (void)state;
    /* 70 distinct IDs (more than the parser's fast table holds), twice. */
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof buf, "MSH|^~\\&|A");
    for (int round = 1; round <= 2; round++)
        for (int i = 0; i < 70; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "\rZ%c%c|%d", 'A' + i / 10, '0' + i % 10,
                                  round);
    hf_hl7_msg *m = parse_ok_n(buf, n, NULL);
    assert_int_equal(hf_hl7_seg_count(m), 141);
    for (int i = 0; i < 70; i++) {
        assert_int_equal(hf_hl7_seg_occurrence(m, 1 + (size_t)i), 1);
        assert_int_equal(hf_hl7_seg_occurrence(m, 71 + (size_t)i), 2);
    }
    assert_span(hf_hl7_get(m, "ZG9[2]-1"), "2");
    assert_span(hf_hl7_get(m, "ZA0-1"), "1");
    hf_hl7_msg_destroy(m);
}

/* ------------------------------------------------------------------ limits */

static void enforces_max_bytes(void **state) {
    (void)state;
    const char *t = "MSH|^~\\&|A\rPID|1";
    hf_hl7_limits lim = {.max_bytes = strlen(t)};
    hf_hl7_msg_destroy(parse_ok_n(t, strlen(t), &lim));
    lim.max_bytes = strlen(t) - 1;
    parse_bad_lim(t, strlen(t), &lim, HF_ELIMIT, "message of 16 bytes exceeds max_bytes 15");
}

static void enforces_max_segments(void **state) {
    (void)state;
    const char *t = "MSH|^~\\&|A\rEVN|1\r\rPID|1\rPV1|1";
    hf_hl7_limits lim = {.max_segments = 4};
    hf_hl7_msg_destroy(parse_ok_n(t, strlen(t), &lim)); /* the blank line does not count */
    lim.max_segments = 3;
    parse_bad_lim(t, strlen(t), &lim, HF_ELIMIT,
                  "segment 4: more than max_segments 3 segments (byte 24)");
}

static void enforces_max_fields(void **state) {
    (void)state;
    const char *t = "MSH|^~\\&|A\rPID|1|2|3";
    hf_hl7_limits lim = {.max_fields = 3};
    hf_hl7_msg_destroy(parse_ok_n(t, strlen(t), &lim));
    lim.max_fields = 2;
    /* MSH has 3 fields (MSH-1, MSH-2, MSH-3): it is the first to break. */
    parse_bad_lim(t, strlen(t), &lim, HF_ELIMIT, "MSH-3: more than max_fields 2 fields (byte 9)");
    const char *t2 = "MSH|^~\\&\rPID|1\rPID|1|2|3";
    parse_bad_lim(t2, strlen(t2), &lim, HF_ELIMIT,
                  "PID[2]-3: more than max_fields 2 fields (byte 23)");
}

static void enforces_max_reps(void **state) {
    (void)state;
    const char *ok = "MSH|^~\\&\rPID|1||a~b~c";
    const char *bad = "MSH|^~\\&\rPID|1||a~b~c~d";
    hf_hl7_limits lim = {.max_reps = 3};
    hf_hl7_msg *m = parse_ok_n(ok, strlen(ok), &lim);
    assert_span(hf_hl7_get(m, "PID-3[3]"), "c");
    hf_hl7_msg_destroy(m);
    parse_bad_lim(bad, strlen(bad), &lim, HF_ELIMIT,
                  "PID-3: more than max_reps 3 repetitions (byte 21)");
}

static void enforces_max_components_per_repetition(void **state) {
    (void)state;
    /* 2 components per repetition is fine although the field has 4. */
    const char *ok = "MSH|^~\\&\rPID|1||a^b~c^d";
    const char *bad = "MSH|^~\\&\rPID|1||a^b~c^d^e";
    hf_hl7_limits lim = {.max_components = 2};
    hf_hl7_msg_destroy(parse_ok_n(ok, strlen(ok), &lim));
    parse_bad_lim(bad, strlen(bad), &lim, HF_ELIMIT,
                  "PID-3[2]: more than max_components 2 components (byte 23)");
}

static void enforces_max_subcomponents_per_component(void **state) {
    (void)state;
    const char *ok = "MSH|^~\\&\rPID|1||x^a&b^c&d";
    const char *bad = "MSH|^~\\&\rPID|1||x^a&b&c";
    hf_hl7_limits lim = {.max_subcomponents = 2};
    hf_hl7_msg_destroy(parse_ok_n(ok, strlen(ok), &lim));
    parse_bad_lim(bad, strlen(bad), &lim, HF_ELIMIT,
                  "PID-3.2: more than max_subcomponents 2 subcomponents (byte 21)");
}

static void long_fields_within_limits_pass(void **state) {
    (void)state;
    /* A 10000-byte field with no separators and one with exactly max_reps. */
    size_t n = 10000;
    char *buf = malloc(n + 64);
    assert_non_null(buf);
    size_t h = (size_t)sprintf(buf, "MSH|^~\\&\rOBX|1|TX|||");
    memset(buf + h, 'x', n);
    hf_hl7_limits lim = {.max_reps = 8, .max_components = 8, .max_subcomponents = 8};
    hf_hl7_msg *m = parse_ok_n(buf, h + n, &lim);
    assert_int_equal(hf_hl7_get(m, "OBX-5").len, n);
    hf_hl7_msg_destroy(m);
    for (size_t i = 0; i < 7; i++)
        buf[h + 100 + i * 100] = '~';
    m = parse_ok_n(buf, h + n, &lim);
    assert_int_equal(hf_hl7_get(m, "OBX-5[8]").len, n - 701);
    hf_hl7_msg_destroy(m);
    buf[h + 9000] = '~';
    parse_bad_lim(buf, h + n, &lim, HF_ELIMIT, "OBX-5: more than max_reps 8 repetitions");
    free(buf);
}

static void long_elements_at_default_limits(void **state) {
    (void)state;
    /* Elements of at least 1024 bytes (the default limits' smallest) are
     * checked; many separators spread over the levels (1,500 in all, at most
     * 300 components a repetition) pass, 1,025 components in one do not. */
    char *buf = malloc(4096);
    assert_non_null(buf);
    size_t h = (size_t)sprintf(buf, "MSH|^~\\&\rOBX|1|TX|||"), n = h;
    for (int i = 1; i <= 1500; i++)
        buf[n++] = 'x', buf[n++] = i % 300 == 0 ? '~' : '^';
    buf[n++] = 'y';
    hf_hl7_msg *m = parse_ok_n(buf, n, NULL);
    assert_int_equal(hf_hl7_get(m, "OBX-5").len, n - h);
    assert_span(hf_hl7_get(m, "OBX-5[6].1"), "y");
    hf_hl7_msg_destroy(m);
    n = h;
    for (int i = 0; i < 1024; i++)
        buf[n++] = 'x', buf[n++] = '^';
    buf[n++] = 'z';
    parse_bad_lim(buf, n, NULL, HF_ELIMIT, "OBX-5: more than max_components 1024 components");
    free(buf);
}

static void zero_limits_mean_defaults(void **state) {
    (void)state;
    hf_hl7_limits lim = {0};
    hf_hl7_msg *m = parse_ok_n("MSH|^~\\&|A", 10, &lim);
    assert_int_equal(hf_hl7_limits_default.max_fields, 1024);
    hf_hl7_msg_destroy(m);
}

/* ------------------------------------------------------------ reuse, errors */

static void parse_into_reuses_and_grows(void **state) {
    (void)state;
    hf_hl7_msg *m = hf_hl7_msg_new();
    hf_err err = {0};
    assert_non_null(m);
    assert_int_equal(hf_hl7_parse_into(m, sp("MSH|^~\\&|A\rPID|1||X"), NULL, &err), HF_OK);
    assert_span(hf_hl7_get(m, "PID-3"), "X");

    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof big, "MSH|^~\\&|B");
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "\rOBX|%d||v%d", i + 1, i);
    assert_int_equal(hf_hl7_parse_into(m, spn(big, n), NULL, &err), HF_OK);
    assert_int_equal(hf_hl7_seg_count(m), 501);
    assert_span(hf_hl7_get(m, "OBX[500]-3"), "v499");

    /* A failed parse leaves an empty, still usable message. */
    assert_int_equal(hf_hl7_parse_into(m, sp("MSH|^^\\&|A"), NULL, &err), HF_ESYNTAX);
    assert_int_equal(hf_hl7_seg_count(m), 0);
    assert_int_equal(hf_hl7_get(m, "MSH-3").len, 0);
    assert_non_null(hf_hl7_get(m, "MSH-3").p);
    assert_int_equal(hf_hl7_parse_into(m, sp("MSH|^~\\&|C"), NULL, &err), HF_OK);
    assert_span(hf_hl7_get(m, "MSH-3"), "C");
    hf_hl7_msg_destroy(m);
    hf_hl7_msg_destroy(NULL);
}

static void error_texts_never_quote_content(void **state) {
    (void)state;
    static const char *const bad[] = {
        "MSH|^~\\\\&|SECRETNAME",
        "MSH|^~\\&|A\rPID|1||SECRETNAME\rSECRETNAME|x",
        "MSH|^~\\&|A\rPID|1||SECRETNAME\rMSH|^~\\&|SECRETNAME",
        "SECRETNAME|^~\\&",
        "MSH|^~\\&|A\rPID|1||SECRETNAME~SECRETNAME~SECRETNAME~SECRETNAME",
    };
    hf_hl7_limits lim = {.max_reps = 2};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hf_hl7_msg *m = NULL;
        hf_err err = {0};
        assert_int_not_equal(hf_hl7_parse(sp(bad[i]), &lim, &m, &err), HF_OK);
        assert_null(m);
        assert_null(strstr(err.msg, "SECRET"));
        assert_non_null(strstr(err.msg, "byte"));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_standard_delimiters_from_msh),
        cmocka_unit_test(reads_nonstandard_delimiters_from_msh),
        cmocka_unit_test(accepts_five_encoding_chars_with_truncation),
        cmocka_unit_test(accepts_caret_tilde_ampersand_without_escape),
        cmocka_unit_test(rejects_malformed_encoding_characters),
        cmocka_unit_test(rejects_bad_field_separator),
        cmocka_unit_test(numbers_msh_fields_per_standard),
        cmocka_unit_test(msh_with_only_encoding_chars_has_two_fields),
        cmocka_unit_test(accepts_cr_lf_crlf_and_mixed_terminators),
        cmocka_unit_test(skips_blank_and_whitespace_lines),
        cmocka_unit_test(keeps_trailing_spaces_of_values),
        cmocka_unit_test(strips_mllp_framing),
        cmocka_unit_test(skips_utf8_bom),
        cmocka_unit_test(rejects_empty_input),
        cmocka_unit_test(rejects_input_not_starting_with_msh),
        cmocka_unit_test(rejects_garbage_segments_with_coordinates),
        cmocka_unit_test(rejects_second_msh_and_batch_segments),
        cmocka_unit_test(keeps_z_and_unknown_segments),
        cmocka_unit_test(counts_occurrences_past_the_id_table),
        cmocka_unit_test(enforces_max_bytes),
        cmocka_unit_test(enforces_max_segments),
        cmocka_unit_test(enforces_max_fields),
        cmocka_unit_test(enforces_max_reps),
        cmocka_unit_test(enforces_max_components_per_repetition),
        cmocka_unit_test(enforces_max_subcomponents_per_component),
        cmocka_unit_test(long_elements_at_default_limits),
        cmocka_unit_test(long_fields_within_limits_pass),
        cmocka_unit_test(zero_limits_mean_defaults),
        cmocka_unit_test(parse_into_reuses_and_grows),
        cmocka_unit_test(error_texts_never_quote_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
