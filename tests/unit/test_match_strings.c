/* test_match_strings.c - unit tests for the string comparators and
 * phonetic codes of match.h: Jaro and Jaro-Winkler against the values
 * Winkler published, the optimal-string-alignment distance with its cap,
 * Soundex against the US National Archives examples, NYSIIS against
 * values worked by hand from Taft's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/match.h"

static hf_span S(const char *s) { return (hf_span){s, strlen(s)}; }

static double jw(const char *a, const char *b) { return hf_match_jaro_winkler(S(a), S(b)); }

static void jaro_winkler_matches_published_values(void **state) {
    (void)state;
    /* Winkler (1990) / Wikipedia's worked examples, to three decimals. */
    assert_float_equal(jw("MARTHA", "MARHTA"), 0.961, 0.0005);
    assert_float_equal(jw("DWAYNE", "DUANE"), 0.840, 0.0005);
    assert_float_equal(jw("DIXON", "DICKSONX"), 0.813, 0.0005);
    assert_float_equal(hf_match_jaro(S("MARTHA"), S("MARHTA")), 0.944, 0.0005);
    assert_float_equal(hf_match_jaro(S("DWAYNE"), S("DUANE")), 0.822, 0.0005);
    assert_float_equal(hf_match_jaro(S("DIXON"), S("DICKSONX")), 0.767, 0.0005);
}

static void jaro_winkler_edges(void **state) {
    (void)state;
    assert_float_equal(jw("", ""), 1.0, 1e-12);
    assert_float_equal(jw("ABC", ""), 0.0, 1e-12);
    assert_float_equal(jw("ABC", "XYZ"), 0.0, 1e-12);
    assert_float_equal(jw("SMITH", "SMITH"), 1.0, 1e-12);
    /* Symmetric, and the prefix bonus stops at four characters. */
    assert_float_equal(jw("JONES", "JOHNSON"), jw("JOHNSON", "JONES"), 1e-12);
    double j = hf_match_jaro(S("ABCDEFGH"), S("ABCDEFXY"));
    assert_float_equal(jw("ABCDEFGH", "ABCDEFXY"), j + 0.4 * (1 - j), 1e-12);
    /* Only the first 64 bytes count: a difference after them is not seen. */
    char a[100], b[100];
    memset(a, 'A', 99);
    memset(b, 'A', 99);
    a[99] = b[99] = 0;
    b[80] = 'B';
    assert_float_equal(jw(a, b), 1.0, 1e-12);
    b[10] = 'B';
    assert_true(jw(a, b) < 1.0);
}

static void osa_distance_counts_edits_and_swaps(void **state) {
    (void)state;
    assert_int_equal(hf_match_osa_distance(S("KITTEN"), S("SITTING"), 10), 3);
    assert_int_equal(hf_match_osa_distance(S("19820415"), S("19820451"), 10), 1); /* adjacent swap */
    assert_int_equal(hf_match_osa_distance(S("CA"), S("ABC"), 10), 3); /* OSA, not full Damerau (2) */
    assert_int_equal(hf_match_osa_distance(S("1234567"), S("1234567"), 10), 0);
    assert_int_equal(hf_match_osa_distance(S(""), S("ABC"), 10), 3);
    assert_int_equal(hf_match_osa_distance(S("1234567"), S("1239567"), 10), 1);
    /* The cap bounds the answer (and the work). */
    assert_int_equal(hf_match_osa_distance(S("AAAAAAAA"), S("BBBBBBBB"), 3), 3);
    assert_int_equal(hf_match_osa_distance(S("A"), S("ABCDEFG"), 2), 2);
}

static void soundex(const char *in, const char *want) {
    char out[5];
    hf_match_soundex(S(in), out);
    if (strcmp(out, want) != 0)
        fail_msg("soundex(%s) = %s, want %s", in, out, want);
}

static void soundex_matches_archives_examples(void **state) {
    (void)state;
    soundex("Robert", "R163");
    soundex("Rupert", "R163");
    soundex("Tymczak", "T522");   /* vowel separates the two 2s */
    soundex("Pfister", "P236");   /* first letter's code absorbs F */
    soundex("Honeyman", "H555");
    soundex("Ashcraft", "A261");  /* H does not separate S and C */
    soundex("Lee", "L000");       /* padding */
    soundex("o'hara", "O600");    /* case and punctuation ignored */
    soundex("123", "");           /* no letters */
}

static void nysiis(const char *in, const char *want) {
    char out[7];
    hf_match_nysiis(S(in), out);
    if (strcmp(out, want) != 0)
        fail_msg("nysiis(%s) = %s, want %s", in, out, want);
}

static void nysiis_follows_taft_rules(void **state) {
    (void)state;
    nysiis("Knight", "NAGT");     /* KN -> NN, GH -> G */
    nysiis("Macintosh", "MCANT"); /* MAC -> MCC, final S then A dropped */
    nysiis("Mitchell", "MATCAL");
    nysiis("Brown", "BRAN");      /* W after a vowel */
    nysiis("Robert", "RABAD");    /* RT -> D */
    nysiis("Kennedy", "CANADY");  /* K -> C */
    nysiis("Evans", "EVAN");      /* final S dropped, first letter kept */
    nysiis("Lee", "LY");          /* EE -> Y */
    nysiis("Phillipson", "FALAPS"); /* PH -> FF, cut to six */
    nysiis("", "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jaro_winkler_matches_published_values),
        cmocka_unit_test(jaro_winkler_edges),
        cmocka_unit_test(osa_distance_counts_edits_and_swaps),
        cmocka_unit_test(soundex_matches_archives_examples),
        cmocka_unit_test(nysiis_follows_taft_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
