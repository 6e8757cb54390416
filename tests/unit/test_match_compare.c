/* test_match_compare.c - unit tests for record preparation, comparison
 * levels and blocking keys of match.h: normalization of each field kind,
 * "unknown" values as missing, the date rules (day-month swap, one digit,
 * two edits), name and street-line swaps, level names, and which records
 * share a blocking key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/match.h"

static hf_span S(const char *s) { return (hf_span){s, strlen(s)}; }

/* A made-up person; tests change single fields of copies. */
static hf_person base(void) {
    hf_person p;
    memset(&p, 0, sizeof p);
    p.given = S("Alexandra");
    p.family = S("Testpatient");
    p.dob = S("19820415");
    p.sex = S("F");
    p.street_number = S("1200");
    p.street = S("Example Avenue");
    p.street2 = S("Apt 4B");
    p.locality = S("Springfield");
    p.postcode = S("62704");
    p.state = S("IL");
    p.phone = S("+1 (217) 555-0142");
    p.ssn = S("998-87-7665");
    return p;
}

static void gamma_of(const hf_person *a, const hf_person *b, uint8_t g[HF_MC_COUNT]) {
    hf_match_rec ra, rb;
    hf_match_prepare(a, &ra);
    hf_match_prepare(b, &rb);
    hf_match_compare(&ra, &rb, g);
    /* Symmetric. */
    uint8_t h[HF_MC_COUNT];
    hf_match_compare(&rb, &ra, h);
    assert_memory_equal(g, h, HF_MC_COUNT);
}

static uint8_t level(hf_match_cmp c, const char *name) {
    for (unsigned l = 0; l < hf_match_levels(c); l++)
        if (strcmp(hf_match_level_name(c, l), name) == 0)
            return (uint8_t)l;
    fail_msg("no level %s in %s", name, hf_match_cmp_name(c));
    return 0;
}

static void prepare_normalizes_each_field(void **state) {
    (void)state;
    hf_person p = base();
    p.given = S(" o'neil-smith ");
    p.dob = S("1982-04-15T10:30");
    p.phone = S("+1 (217) 555-0142");
    p.ssn = S("999999999");
    p.sex = S("u");
    p.street = S("  example   ave.");
    hf_match_rec r;
    hf_match_prepare(&p, &r);
    assert_string_equal(r.f[HF_MC_GIVEN].s, "ONEILSMITH");
    assert_int_equal(r.f[HF_MC_GIVEN].len, 10);
    assert_string_equal(r.f[HF_MC_DOB].s, "19820415");
    assert_string_equal(r.f[HF_MC_PHONE].s, "2175550142");
    assert_string_equal(r.f[HF_MC_STREET].s, "EXAMPLEAVE");
    assert_int_equal(r.f[HF_MC_SSN].len, 0); /* one repeated digit: missing */
    assert_int_equal(r.f[HF_MC_SEX].len, 0); /* unknown: missing */
    assert_string_equal(r.sdx_given, "O542");
    /* Too short a date is missing; a long field is cut, not overrun. */
    p.dob = S("198204");
    p.family = S("Abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
    hf_match_prepare(&p, &r);
    assert_int_equal(r.f[HF_MC_DOB].len, 0);
    assert_int_equal(r.f[HF_MC_FAMILY].len, HF_MATCH_TEXT_MAX - 1);
    assert_int_equal(r.f[HF_MC_FAMILY].s[HF_MATCH_TEXT_MAX - 1], 0);
}

static void same_person_agrees_exactly_everywhere(void **state) {
    (void)state;
    hf_person a = base(), b = base();
    b.given = S("ALEXANDRA");    /* case */
    b.phone = S("217-555-0142"); /* no country code */
    uint8_t g[HF_MC_COUNT];
    gamma_of(&a, &b, g);
    for (unsigned c = 0; c < HF_MC_COUNT; c++)
        if (g[c] != 1)
            fail_msg("%s: level %u, want exact", hf_match_cmp_name((hf_match_cmp)c), g[c]);
}

static void dates_tolerate_one_slip(void **state) {
    (void)state;
    hf_person a = base(), b = base();
    uint8_t g[HF_MC_COUNT];
    const struct {
        const char *dob, *want;
    } cases[] = {
        {"19821504", "close"}, /* day and month swapped */
        {"19820416", "close"}, /* one digit */
        {"19820451", "close"}, /* adjacent digits swapped */
        {"19830416", "osa2"},  /* two digits */
        {"19911225", "other"},
        {"", "missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b.dob = S(cases[i].dob);
        gamma_of(&a, &b, g);
        if (g[HF_MC_DOB] != level(HF_MC_DOB, cases[i].want))
            fail_msg("dob %s: level %s, want %s", cases[i].dob, hf_match_level_name(HF_MC_DOB, g[HF_MC_DOB]),
                     cases[i].want);
    }
}

static void names_fall_through_the_ladder(void **state) {
    (void)state;
    hf_person a = base(), b = base();
    uint8_t g[HF_MC_COUNT];
    const struct {
        const char *a, *b, *want;
    } cases[] = {
        {"Martha", "Martha", "exact"},   {"Martha", "Marhta", "jw95"},     {"Dwayne", "Duane", "phonetic"},
        {"Catherine", "Kathryn", "jw70"}, {"Testpatient", "Testpatiant", "jw95"},
        {"Smith", "Nguyen", "other"},     {"Smith", "", "missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        a.given = S(cases[i].a);
        b.given = S(cases[i].b);
        gamma_of(&a, &b, g);
        if (g[HF_MC_GIVEN] != level(HF_MC_GIVEN, cases[i].want))
            fail_msg("%s / %s: level %s, want %s", cases[i].a, cases[i].b,
                     hf_match_level_name(HF_MC_GIVEN, g[HF_MC_GIVEN]), cases[i].want);
    }
}

static void swapped_names_and_street_lines_still_agree(void **state) {
    (void)state;
    hf_person a = base(), b = base();
    b.given = a.family;
    b.family = a.given;
    b.street = a.street2;
    b.street2 = a.street;
    uint8_t g[HF_MC_COUNT];
    gamma_of(&a, &b, g);
    assert_int_equal(g[HF_MC_GIVEN], 1);
    assert_int_equal(g[HF_MC_FAMILY], 1);
    assert_int_equal(g[HF_MC_STREET], 1);
    assert_int_equal(g[HF_MC_STREET2], 1);
    /* Only one name moved: no crossing, the names disagree. */
    b = base();
    b.given = a.family;
    gamma_of(&a, &b, g);
    assert_int_equal(g[HF_MC_GIVEN], level(HF_MC_GIVEN, "other"));
    assert_int_equal(g[HF_MC_FAMILY], 1);
}

static void codes_count_edits(void **state) {
    (void)state;
    hf_person a = base(), b = base();
    uint8_t g[HF_MC_COUNT];
    b.ssn = S("998877656");
    b.postcode = S("62740");
    b.street_number = S("12");
    b.sex = S("M");
    b.state = S("");
    gamma_of(&a, &b, g);
    assert_int_equal(g[HF_MC_SSN], level(HF_MC_SSN, "osa1"));
    assert_int_equal(g[HF_MC_POSTCODE], level(HF_MC_POSTCODE, "osa1"));
    assert_int_equal(g[HF_MC_STREET_NO], level(HF_MC_STREET_NO, "osa2"));
    assert_int_equal(g[HF_MC_SEX], level(HF_MC_SEX, "other"));
    assert_int_equal(g[HF_MC_STATE], HF_MATCH_MISSING);
}

static void level_tables_are_consistent(void **state) {
    (void)state;
    for (unsigned c = 0; c < HF_MC_COUNT; c++) {
        unsigned n = hf_match_levels((hf_match_cmp)c);
        assert_true(n >= 3 && n <= HF_MATCH_MAX_LEVELS);
        assert_string_equal(hf_match_level_name((hf_match_cmp)c, 0), "missing");
        assert_string_equal(hf_match_level_name((hf_match_cmp)c, 1), "exact");
        assert_string_equal(hf_match_level_name((hf_match_cmp)c, n - 1), "other");
        assert_null(hf_match_level_name((hf_match_cmp)c, n));
    }
    assert_null(hf_match_cmp_name(HF_MC_COUNT));
    assert_int_equal(hf_match_levels(HF_MC_COUNT), 0);
}

/* Whether @p a and @p b share a blocking key. */
static int share_key(const hf_person *a, const hf_person *b) {
    hf_match_rec ra, rb;
    hf_match_key ka[HF_MATCH_MAX_KEYS], kb[HF_MATCH_MAX_KEYS];
    hf_match_prepare(a, &ra);
    hf_match_prepare(b, &rb);
    size_t na = hf_match_block_keys(&ra, ka), nb = hf_match_block_keys(&rb, kb);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcmp(ka[i].s, kb[j].s) == 0)
                return 1;
    return 0;
}

static void blocking_keys_survive_single_damage(void **state) {
    (void)state;
    hf_person a = base(), b = base();
    hf_match_rec r;
    hf_match_key k[HF_MATCH_MAX_KEYS];
    hf_match_prepare(&a, &r);
    size_t n = hf_match_block_keys(&r, k);
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(k[i].s) < HF_MATCH_KEY_MAX);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(k[i].s, k[j].s);
    }
    /* SSN, date of birth and postcode all damaged: names still block. */
    b.ssn = S("123456789");
    b.dob = S("19820514");
    b.postcode = S("99999");
    assert_true(share_key(&a, &b));
    /* Names swapped and misspelt, SSN gone: the date still blocks. */
    b = base();
    b.given = S("Testpatiant");
    b.family = S("Alexandria");
    b.ssn = S("");
    assert_true(share_key(&a, &b));
    /* A different person in another town shares nothing. */
    hf_person c;
    memset(&c, 0, sizeof c);
    c.given = S("Bob");
    c.family = S("Nguyen");
    c.dob = S("19500101");
    c.postcode = S("10001");
    c.ssn = S("123456789");
    assert_false(share_key(&a, &c));
    /* A record with nothing to block on has no keys. */
    hf_person e;
    memset(&e, 0, sizeof e);
    hf_match_prepare(&e, &r);
    assert_int_equal(hf_match_block_keys(&r, k), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prepare_normalizes_each_field),
        cmocka_unit_test(same_person_agrees_exactly_everywhere),
        cmocka_unit_test(dates_tolerate_one_slip),
        cmocka_unit_test(names_fall_through_the_ladder),
        cmocka_unit_test(swapped_names_and_street_lines_still_agree),
        cmocka_unit_test(codes_count_edits),
        cmocka_unit_test(level_tables_are_consistent),
        cmocka_unit_test(blocking_keys_survive_single_damage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
