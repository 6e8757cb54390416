/* test_normalize.c - unit tests for normalize.h: HL7 table 0001 sex codes,
 * and person-name components: case mapping (accents, sharp s, Greek,
 * Cyrillic), CJK untouched, punctuation and white space rules, apostrophe
 * and hyphen look-alikes, NFC, invalid UTF-8, the short-buffer protocol,
 * the ASCII fast path agreeing with the ICU path, and the output bound over
 * every code point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/normalize.h"

static hf_span S(const char *s) { return (hf_span){s, strlen(s)}; }

/* Normalizes @p in and checks the result is @p want (both UTF-8). */
static void name_is(const char *in, const char *want) {
    char out[256];
    size_t n = hf_norm_name(S(in), out, sizeof out);
    if (n != strlen(want) || memcmp(out, want, n) != 0)
        fail_msg("'%s' -> '%.*s' (%zu bytes), want '%s'", in,
                 (int)(n < sizeof out ? n : sizeof out), out, n, want);
}

static void sex_codes_of_table_0001(void **state) {
    (void)state;
    const struct {
        const char *in, *want;
    } ok[] = {{"F", "female"},   {"f", "female"},     {"M", "male"},     {"m", "male"},
              {"O", "other"},    {"o", "other"},      {"A", "other"},    {"a", "other"},
              {"U", "unknown"},  {"u", "unknown"},    {"N", "unknown"},  {"n", "unknown"},
              {" F ", "female"}, {"\tm\r\n", "male"}, {"  u", "unknown"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        const char *got = hf_norm_sex(S(ok[i].in));
        assert_non_null(got);
        assert_string_equal(got, ok[i].want);
    }
    const char *bad[] = {"",  "   ", "X", "FF", "female", "F M", "\xEF\xBC\xA6" /* fullwidth F */,
                         "0", "?"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(hf_norm_sex(S(bad[i])));
    assert_null(hf_norm_sex((hf_span){"", 0}));
    assert_string_equal(hf_norm_sex((hf_span){"FM", 1}), "female"); /* length, not NUL */
}

static void ascii_names(void **state) {
    (void)state;
    name_is("o'neil-smith  jr.", "O'NEIL-SMITH JR");
    name_is("Smith, Jr. (III)", "SMITH JR III");
    name_is("  \t leading and trailing \r\n ", "LEADING AND TRAILING");
    name_is("van der  Berg", "VAN DER BERG");
    name_is("a . b", "A B"); /* removed characters do not split a run of spaces */
    name_is("a.b", "AB");
    name_is("Henry 8th", "HENRY 8TH");
    name_is("MARY-ANNE", "MARY-ANNE");
    name_is("d'Arcy", "D'ARCY");
    name_is("x\x01y\x7Fz", "XYZ"); /* control characters removed */
    name_is("a\x1F b", "A B");     /* U+001F is not White_Space: removed, not a separator */
}

static void accented_and_special_case_mappings(void **state) {
    (void)state;
    name_is("jos\xC3\xA9", "JOS\xC3\x89");     /* josé -> JOSÉ */
    name_is("M\xC3\x9CLLER", "M\xC3\x9CLLER"); /* MÜLLER stays */
    name_is("m\xC3\xBCller", "M\xC3\x9CLLER"); /* müller -> MÜLLER */
    name_is("stra\xC3\x9F"
            "e",
            "STRASSE"); /* straße -> STRASSE (full mapping) */
    name_is("\xC3\xA5sa \xC3\xB8stby", "\xC3\x85SA \xC3\x98STBY"); /* åsa østby */
    name_is("\xD0\xB8\xD0\xB2\xD0\xB0\xD0\xBD\xD0\xBE\xD0\xB2",
            "\xD0\x98\xD0\x92\xD0\x90\xD0\x9D\xD0\x9E\xD0\x92"); /* иванов -> ИВАНОВ */
    /* root locale: Greek keeps its tonos (σοφία -> ΣΟΦΊΑ), Turkish i -> I */
    name_is("\xCF\x83\xCE\xBF\xCF\x86\xCE\xAF\xCE\xB1", "\xCE\xA3\xCE\x9F\xCE\xA6\xCE\x8A\xCE\x91");
    name_is("yi\xC4\x9Fit", "YI\xC4\x9EIT"); /* yiğit -> YIĞIT */
    name_is("\xEF\xAC\x83"
            "ord",
            "FFIORD"); /* ﬃ ligature -> FFI */
}

static void cjk_and_other_scripts_untouched(void **state) {
    (void)state;
    name_is("\xE5\xB1\xB1\xE7\x94\xB0 \xE5\xA4\xAA\xE9\x83\x8E",
            "\xE5\xB1\xB1\xE7\x94\xB0 \xE5\xA4\xAA\xE9\x83\x8E"); /* 山田 太郎 */
    name_is("\xEA\xB9\x80\xEB\xAF\xBC\xEC\xA4\x80",
            "\xEA\xB9\x80\xEB\xAF\xBC\xEC\xA4\x80");                                 /* 김민준 */
    name_is("\xD9\x85\xD8\xAD\xD9\x85\xD8\xAF", "\xD9\x85\xD8\xAD\xD9\x85\xD8\xAF"); /* محمد */
    name_is("\xE0\xA4\xB0\xE0\xA4\xBE\xE0\xA4\xAE",
            "\xE0\xA4\xB0\xE0\xA4\xBE\xE0\xA4\xAE"); /* राम: letters + vowel sign (Mc) */
    /* supplementary-plane ideograph (U+20BB7) stays */
    name_is("\xF0\xA0\xAE\xB7\xE9\x87\x8E", "\xF0\xA0\xAE\xB7\xE9\x87\x8E");
}

static void unicode_spaces_punctuation_and_lookalikes(void **state) {
    (void)state;
    name_is("O\xE2\x80\x99"
            "Brien",
            "O'BRIEN");                         /* U+2019 -> ' */
    name_is("Jean\xE2\x80\x90Luc", "JEAN-LUC"); /* U+2010 -> - */
    name_is("Jean\xE2\x80\x91Luc", "JEAN-LUC"); /* U+2011 -> - */
    name_is("Jean\xE2\x80\x93Luc", "JEANLUC");  /* en dash is punctuation: removed */
    name_is("Anne\xC2\xA0Marie", "ANNE MARIE"); /* NBSP is white space */
    name_is("\xE5\xB1\xB1\xE7\x94\xB0\xE3\x80\x80\xE5\xA4\xAA",
            "\xE5\xB1\xB1\xE7\x94\xB0 \xE5\xA4\xAA"); /* U+3000 */
    name_is("\xE2\x80\x83 ann \xE2\x80\xA8", "ANN");  /* em space, line separator trimmed */
    name_is("Ann\xF0\x9F\x98\x80", "ANN");            /* emoji removed */
    name_is("\xC2\xBFJos\xC3\xA9?", "JOS\xC3\x89");   /* ¿José? */
    name_is("x\xC2\xB2", "X");                        /* superscript two (No) removed */
    name_is("\xD9\xA3\xD9\xA4", "\xD9\xA3\xD9\xA4");  /* Arabic-Indic digits (Nd) kept */
    name_is("Jo\xFFhn", "JOHN");                      /* invalid UTF-8 dropped */
    name_is("\xC3", "");                              /* truncated sequence only */
}

static void nfc_makes_decomposed_equal_precomposed(void **state) {
    (void)state;
    name_is("jose\xCC\x81", "JOS\xC3\x89"); /* e + U+0301 -> É */
    name_is("JOSE\xCC\x81", "JOS\xC3\x89");
    name_is("mu\xCC\x88ller", "M\xC3\x9CLLER"); /* u + U+0308 -> Ü */
    /* a mark with no base letter is kept (it is a mark) */
    name_is("a \xCC\x81", "A \xCC\x81");
}

static void empty_and_all_removed_give_zero(void **state) {
    (void)state;
    char out[8] = "unused";
    assert_int_equal(hf_norm_name((hf_span){"", 0}, out, sizeof out), 0);
    assert_int_equal(hf_norm_name(S("..."), out, sizeof out), 0);
    assert_int_equal(hf_norm_name(S("  \t "), out, sizeof out), 0);
    assert_int_equal(hf_norm_name(S("\xE2\x80\x94\xC2\xA0"), out, sizeof out),
                     0); /* em dash, NBSP */
}

static void short_buffer_reports_the_length_needed(void **state) {
    (void)state;
    const char *ins[] = {"o'neil-smith  jr.", "stra\xC3\x9F"
                                              "e m\xC3\xBCller"};
    const char *wants[] = {"O'NEIL-SMITH JR", "STRASSE M\xC3\x9CLLER"};
    for (int k = 0; k < 2; k++) {
        size_t need = hf_norm_name(S(ins[k]), NULL, 0);
        assert_int_equal(need, strlen(wants[k]));
        char small[4];
        assert_int_equal(hf_norm_name(S(ins[k]), small, sizeof small), need);
        char *buf = malloc(need);
        assert_non_null(buf);
        assert_int_equal(hf_norm_name(S(ins[k]), buf, need), need); /* exact fit, no NUL needed */
        assert_memory_equal(buf, wants[k], need);
        free(buf);
    }
}

/* The ASCII fast path and the ICU path agree on every ASCII character: a
 * trailing "é" forces the ICU path and must only add "É". */
static void ascii_path_agrees_with_icu_path(void **state) {
    (void)state;
    for (int c = 1; c < 128; c++) {
        const char *shapes[] = {"a#b", "#ab", "ab#", "a # b", "#"}; /* # = the character */
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            char in[16], in2[20], o1[32], o2[32];
            size_t inlen = strlen(shapes[s]);
            memcpy(in, shapes[s], inlen);
            *(char *)memchr(in, '#', inlen) = (char)c;
            memcpy(in2, in, inlen);
            memcpy(in2 + inlen, "x\xC3\xA9", 3);
            size_t n1 = hf_norm_name((hf_span){in, inlen}, o1, sizeof o1);
            size_t n2 = hf_norm_name((hf_span){in2, inlen + 3}, o2, sizeof o2);
            /* "x" glues the é to whatever came before unless that was a
             * space run, which the ASCII path already dropped at the end */
            char want[40];
            size_t wn = n1;
            memcpy(want, o1, n1);
            bool trailing_space = inlen > 0 && (in[inlen - 1] == ' ' ||
                                                (in[inlen - 1] >= '\t' && in[inlen - 1] <= '\r'));
            if (trailing_space && wn > 0)
                want[wn++] = ' ';
            memcpy(want + wn, "X\xC3\x89", 3);
            wn += 3;
            if (n2 != wn || memcmp(o2, want, wn) != 0)
                fail_msg("char 0x%02X shape %zu: ascii '%.*s' icu '%.*s'", c, s, (int)n1, o1,
                         (int)n2, o2);
        }
    }
}

static size_t utf8_encode(uint32_t cp, char *o) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Over every code point: the output fits 3 * input bytes (the bound in
 * normalize.h), is idempotent, and is never a kept-class violation of the
 * ASCII kind (no ASCII punctuation or lower case survives). */
static void every_code_point_within_bound_and_idempotent(void **state) {
    (void)state;
    for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        char in[4], out[64], again[64];
        size_t n = utf8_encode(cp, in);
        size_t m = hf_norm_name((hf_span){in, n}, out, sizeof out);
        if (m > 3 * n)
            fail_msg("U+%04X: %zu bytes from %zu", cp, m, n);
        size_t m2 = hf_norm_name((hf_span){out, m}, again, sizeof again);
        if (m2 != m || memcmp(out, again, m) != 0)
            fail_msg("U+%04X: not idempotent", cp);
        for (size_t i = 0; i < m; i++) {
            unsigned char c = (unsigned char)out[i];
            if (c < 0x80 &&
                !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '\''))
                fail_msg("U+%04X: ASCII 0x%02X in the output", cp, c);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sex_codes_of_table_0001),
        cmocka_unit_test(ascii_names),
        cmocka_unit_test(accented_and_special_case_mappings),
        cmocka_unit_test(cjk_and_other_scripts_untouched),
        cmocka_unit_test(unicode_spaces_punctuation_and_lookalikes),
        cmocka_unit_test(nfc_makes_decomposed_equal_precomposed),
        cmocka_unit_test(empty_and_all_removed_give_zero),
        cmocka_unit_test(short_buffer_reports_the_length_needed),
        cmocka_unit_test(ascii_path_agrees_with_icu_path),
        cmocka_unit_test(every_code_point_within_bound_and_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
