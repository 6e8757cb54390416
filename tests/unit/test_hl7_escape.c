/* test_hl7_escape.c - unit tests for escape decoding (hl7.h,
 * hl7_escape.c): every sequence kind, custom delimiters, malformed and
 * unknown sequences, messages without an escape character, and the
 * snprintf-style contract with buffers that are too small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"

static const hf_hl7_delims STD = {'|', '^', '~', '\\', '&', '#'};

/* Decodes @p in with @p d and checks the output bytes and the bad count. */
static void expect_d(const hf_hl7_delims *d, const char *in, const char *want, size_t want_len,
                     size_t want_bad) {
    char buf[512];
    size_t bad = 99;
    size_t n = hf_hl7_unescape_d(d, (hf_span){in, strlen(in)}, buf, sizeof buf, &bad);
    if (n != want_len || memcmp(buf, want, n) != 0)
        fail_msg("'%s' decoded to '%.*s' (%zu bytes), want %zu bytes", in, (int)n, buf, n,
                 want_len);
    assert_int_equal(buf[n], '\0');
    if (bad != want_bad)
        fail_msg("'%s': bad %zu, want %zu", in, bad, want_bad);
}

static void expect(const char *in, const char *want, size_t want_bad) {
    expect_d(&STD, in, want, strlen(want), want_bad);
}

static void decodes_delimiter_escapes(void **state) {
    (void)state;
    expect("a\\F\\b", "a|b", 0);
    expect("\\S\\", "^", 0);
    expect("\\T\\", "&", 0);
    expect("\\R\\", "~", 0);
    expect("\\E\\", "\\", 0);
    expect("\\P\\", "#", 0);
    expect("Fish \\T\\ Chips\\S\\\\R\\x", "Fish & Chips^~x", 0);
    expect("no escapes at all", "no escapes at all", 0);
    expect("", "", 0);
}

static void decodes_with_the_messages_own_delimiters(void **state) {
    (void)state;
    const hf_hl7_delims d = {'^', '~', '|', '}', '&', 0};
    expect_d(&d, "a}F}b}S}c}R}d}E}e", "a^b~c|d}e", 9, 0);
    expect_d(&d, "a\\F\\b", "a\\F\\b", 5, 0); /* backslash is data here */
    expect_d(&d, "}P}", "}P}", 3, 1);         /* no truncation character */

    static const char text[] = "MSH^~|}&^A\rNTE^1^^x}F}y";
    hf_hl7_msg *m = NULL;
    assert_int_equal(hf_hl7_parse((hf_span){text, sizeof text - 1}, NULL, &m, NULL), HF_OK);
    char buf[16];
    hf_span v = hf_hl7_get(m, "NTE-3");
    assert_int_equal(hf_hl7_unescape(m, v, buf, sizeof buf), 3);
    assert_string_equal(buf, "x^y");
    hf_hl7_msg_destroy(m);
}

static void decodes_hex(void **state) {
    (void)state;
    expect_d(&STD, "\\X0D0A\\", "\r\n", 2, 0);
    expect_d(&STD, "a\\X00\\b", "a\0b", 3, 0);
    expect_d(&STD, "\\Xc3a9\\", "\xc3\xa9", 2, 0);
    expect("\\X0D\\\\X0A\\", "\r\n", 0);
    expect("\\X0\\", "\\X0\\", 1);   /* odd digit count */
    expect("\\XZZ\\", "\\XZZ\\", 1); /* not hex */
    expect("\\X\\", "\\X\\", 1);     /* no digits */
}

static void decodes_formatting_escapes(void **state) {
    (void)state;
    expect("line1\\.br\\line2", "line1\nline2", 0);
    expect("\\.sp\\", "\n", 0);
    expect("\\.sp3\\", "\n\n\n", 0);
    expect("\\.sp 2\\", "\n\n", 0);
    expect("\\.sk2\\x", "  x", 0);
    expect("\\.sk\\x", " x", 0);
    expect("a\\.in+4\\b\\.ti-2\\c", "abc", 0);
    expect("a\\.ce\\b", "a\nb", 0);
    expect("a\\.fi\\b\\.nf\\c", "abc", 0);
    expect("\\H\\bold\\N\\", "bold", 0);
    expect("\\.xx\\", "\\.xx\\", 1);
    expect("\\.br2\\", "\\.br2\\", 1);
    expect("\\.spx\\", "\\.spx\\", 1);
    expect("\\.in\\", "", 0);
    expect("\\.\\", "\\.\\", 1);
}

static void caps_repeated_output(void **state) {
    (void)state;
    char buf[512];
    size_t n = hf_hl7_unescape_d(&STD, (hf_span){"\\.sp999999\\", 11}, buf, sizeof buf, NULL);
    assert_int_equal(n, 100);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(buf[i], '\n');
    n = hf_hl7_unescape_d(&STD, (hf_span){"\\.sk1234567\\", 12}, buf, sizeof buf, NULL);
    assert_int_equal(n, 12); /* 7 digits: malformed, kept */
}

static void keeps_charset_and_local_escapes(void **state) {
    (void)state;
    expect("\\C2842\\abc\\C2D41\\", "\\C2842\\abc\\C2D41\\", 0);
    expect("\\M2442\\", "\\M2442\\", 0);
    expect("\\Zlocal\\", "\\Zlocal\\", 0);
}

static void keeps_malformed_sequences_verbatim(void **state) {
    (void)state;
    expect("C:\\temp", "C:\\temp", 1);           /* lone escape character */
    expect("a\\F\\b\\", "a|b\\", 1);             /* trailing lone escape */
    expect("\\\\", "\\\\", 1);                   /* empty sequence */
    expect("\\Q\\", "\\Q\\", 1);                 /* unknown */
    expect("\\FF\\", "\\FF\\", 1);               /* unknown two-letter */
    expect("x\\Q\\y\\F\\z", "x\\Q\\y|z", 1);     /* decoding resumes after a bad one */
    expect("\\Q\\\\Q\\", "\\Q\\\\Q\\", 2);
}

static void copies_plainly_without_escape_char(void **state) {
    (void)state;
    const hf_hl7_delims d = {'|', '^', '~', 0, '&', 0}; /* MSH-2 "^~&" */
    expect_d(&d, "a\\F\\b\\.br\\", "a\\F\\b\\.br\\", 10, 0);
}

static void follows_snprintf_contract_when_buffer_is_small(void **state) {
    (void)state;
    const char *in = "ab\\F\\cd\\X4142\\";
    hf_span s = {in, strlen(in)};
    char buf[8];
    assert_int_equal(hf_hl7_unescape_d(&STD, s, NULL, 0, NULL), 7); /* "ab|cdAB" */
    memset(buf, 'z', sizeof buf);
    assert_int_equal(hf_hl7_unescape_d(&STD, s, buf, 1, NULL), 7);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], 'z');
    memset(buf, 'z', sizeof buf);
    assert_int_equal(hf_hl7_unescape_d(&STD, s, buf, 4, NULL), 7);
    assert_string_equal(buf, "ab|");
    assert_int_equal(buf[4], 'z');
    memset(buf, 'z', sizeof buf);
    assert_int_equal(hf_hl7_unescape_d(&STD, s, buf, 7, NULL), 7);
    assert_string_equal(buf, "ab|cdA");
    assert_int_equal(hf_hl7_unescape_d(&STD, s, buf, 8, NULL), 7);
    assert_string_equal(buf, "ab|cdAB");
    /* a truncated verbatim sequence also stays within the buffer */
    memset(buf, 'z', sizeof buf);
    assert_int_equal(hf_hl7_unescape_d(&STD, (hf_span){"\\Q\\xyzuvw", 9}, buf, 5, NULL), 9);
    assert_string_equal(buf, "\\Q\\x");
    assert_int_equal(buf[5], 'z');
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_delimiter_escapes),
        cmocka_unit_test(decodes_with_the_messages_own_delimiters),
        cmocka_unit_test(decodes_hex),
        cmocka_unit_test(decodes_formatting_escapes),
        cmocka_unit_test(caps_repeated_output),
        cmocka_unit_test(keeps_charset_and_local_escapes),
        cmocka_unit_test(keeps_malformed_sequences_verbatim),
        cmocka_unit_test(copies_plainly_without_escape_char),
        cmocka_unit_test(follows_snprintf_contract_when_buffer_is_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
