/* test_linker_match.c - the pure half of the linker's enterprise-id
 * matching (linkstate.h, linkstate_match.c): demographics from a record,
 * keyed blocking-key hashes, sealing of prepared records, and the
 * candidate choice with the shipped model's thresholds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/linkstate.h"

static const char *const FLEET_KEY = "unit-test-fleet-key-0123456789abcdef";
static const char *const MRN_A = "aa11bb22cc33dd44ee55ff6600112233aa11bb22cc33dd44ee55ff6600112233";
static const char *const MRN_B = "0f0e0d0c0b0a09080706050403020100ffeeddccbbaa99887766554433221100";

static hf_span S(const char *z) { return (hf_span){z, strlen(z)}; }

static bool span_is(hf_span s, const char *z) {
    return s.len == strlen(z) && memcmp(s.p, z, s.len) == 0;
}

typedef struct demo {
    const char *given, *family, *dob, *sex, *street, *city, *state, *zip, *phone, *no;
} demo;

static void prep(const demo *d, hf_match_rec *out) {
    hf_person p;
    memset(&p, 0, sizeof p);
    p.given = S(d->given);
    p.family = S(d->family);
    p.dob = S(d->dob);
    p.sex = S(d->sex ? d->sex : "");
    p.street = S(d->street ? d->street : "");
    p.street_number = S(d->no ? d->no : "");
    p.locality = S(d->city ? d->city : "");
    p.state = S(d->state ? d->state : "");
    p.postcode = S(d->zip ? d->zip : "");
    p.phone = S(d->phone ? d->phone : "");
    hf_match_prepare(&p, out);
}

static hf_ls_keyring keyring(const char *key) {
    hf_ls_keyring k;
    hf_err err = {0};
    assert_int_equal(hf_ls_keyring_init(&k, key, strlen(key), &err), HF_OK);
    return k;
}

static void person_comes_from_pid_and_enrichment(void **state) {
    (void)state;
    hf_rec_name name = {.family = S("O'Brien"), .given = S("sean")};
    hf_rec_addr addr = {.street = S("12A  Harbour Rd"), .other_designation = S("Flat 3"),
                        .city = S("Cork"), .state = S("CO"), .zip = S("T12")};
    hf_rec_tel tels[2] = {{.kind = S("home")}, {.kind = S("business"), .number = S("0215550100")}};
    hf_rec_patient pid;
    memset(&pid, 0, sizeof pid);
    pid.names.v = &name;
    pid.names.n = 1;
    pid.birth_datetime = S("19700405");
    pid.sex = S("M");
    pid.addresses.v = &addr;
    pid.addresses.n = 1;
    pid.phones.v = tels;
    pid.phones.n = 2;
    pid.ssn = S("123456789");
    hf_rec_enrichment en;
    memset(&en, 0, sizeof en);
    en.patient_given_name = S("SEAN");
    hf_rec rec;
    memset(&rec, 0, sizeof rec);
    rec.patient = &pid;
    rec.enrichment = &en;
    hf_person p;
    hf_ls_person_of(&rec, &p);
    assert_true(span_is(p.given, "SEAN"));           /* the enricher's normalized name */
    assert_true(span_is(p.family, "O'Brien"));       /* PID: the enricher gave none */
    assert_true(span_is(p.street_number, "12A"));    /* split off XAD-1 */
    assert_true(span_is(p.street, "Harbour Rd"));
    assert_true(span_is(p.street2, "Flat 3"));
    assert_true(span_is(p.locality, "Cork"));
    assert_true(span_is(p.postcode, "T12"));
    assert_true(span_is(p.phone, "0215550100"));     /* the first PID-13 with a number */
    assert_true(span_is(p.dob, "19700405"));
    assert_true(span_is(p.ssn, "123456789"));

    hf_rec empty;
    memset(&empty, 0, sizeof empty);
    hf_ls_person_of(&empty, &p);
    assert_int_equal(p.family.len + p.given.len + p.dob.len, 0);
}

static void block_hashes_are_keyed_sorted_and_hide_the_keys(void **state) {
    (void)state;
    demo d = {"Margaret", "Johnson", "19620314", "F", "42 Elm Street", "Springfield", "IL",
              "62704", "2175550142", NULL};
    hf_match_rec r;
    prep(&d, &r);
    hf_ls_keyring k1 = keyring(FLEET_KEY), k2 = keyring("another-fleet-key-with-enough-bytes");
    char h1[HF_MATCH_MAX_KEYS][HF_LS_BLOCK_HEX], h2[HF_MATCH_MAX_KEYS][HF_LS_BLOCK_HEX];
    hf_match_key plain[HF_MATCH_MAX_KEYS];
    size_t np = hf_match_block_keys(&r, plain);
    size_t n1 = hf_ls_block_hashes(&k1, &r, h1), n2 = hf_ls_block_hashes(&k2, &r, h2);
    assert_true(np >= 4);
    assert_int_equal(n1, np); /* distinct keys give distinct hashes */
    assert_int_equal(n2, n1);
    for (size_t i = 0; i < n1; i++) {
        assert_int_equal(strlen(h1[i]), HF_LS_BLOCK_HEX - 1);
        assert_int_equal(strspn(h1[i], "0123456789abcdef"), HF_LS_BLOCK_HEX - 1);
        if (i > 0)
            assert_true(strcmp(h1[i - 1], h1[i]) < 0);
        for (size_t j = 0; j < n2; j++)
            assert_string_not_equal(h1[i], h2[j]); /* another fleet key, other hashes */
        for (size_t j = 0; j < np; j++)
            assert_null(strstr(h1[i], plain[j].s + 1));
    }
    /* Same demographics, same hashes (what makes two registrations meet). */
    char again[HF_MATCH_MAX_KEYS][HF_LS_BLOCK_HEX];
    assert_int_equal(hf_ls_block_hashes(&k1, &r, again), n1);
    assert_memory_equal(again, h1, n1 * HF_LS_BLOCK_HEX);
    /* Nothing to block on: no hashes. */
    hf_match_rec none;
    memset(&none, 0, sizeof none);
    assert_int_equal(hf_ls_block_hashes(&k1, &none, h1), 0);
    hf_err err = {0};
    assert_int_equal(hf_ls_keyring_init(&k1, "short", 5, &err), HF_ECONFIG);
}

static void lock_ids_keep_the_order_of_the_hashes(void **state) {
    (void)state;
    assert_int_equal(hf_ls_lock_id("0000000000000001ff"), 1);
    assert_int_equal(hf_ls_lock_id("7fffffffffffffff"), INT64_MAX);
    assert_int_equal(hf_ls_lock_id("8000000000000000"), INT64_MIN);
    assert_int_equal(hf_ls_lock_id("ffffffffffffffff"), -1);
    assert_true(hf_ls_lock_id("00000000000000a0") < hf_ls_lock_id("00000000000000b0"));
}

static void sealed_records_open_only_for_their_row_and_key(void **state) {
    (void)state;
    demo d = {"Zoë", "Nakamura", "19811231", "F", "7 Rue Verte", "Lyon", NULL, "69001", NULL, NULL};
    hf_match_rec r, back;
    prep(&d, &r);
    hf_ls_keyring k = keyring(FLEET_KEY), other = keyring("another-fleet-key-with-enough-bytes");
    unsigned char s1[HF_LS_SEALED_MAX], s2[HF_LS_SEALED_MAX];
    size_t n1 = 0, n2 = 0;
    assert_int_equal(hf_ls_seal(&k, MRN_A, &r, s1, &n1), HF_OK);
    assert_int_equal(hf_ls_seal(&k, MRN_A, &r, s2, &n2), HF_OK);
    assert_int_equal(n1, n2);
    assert_memory_not_equal(s1, s2, n1); /* a fresh nonce each time */
    assert_null(memmem(s1, n1, "NAKAMURA", 8));
    assert_null(memmem(s1, n1, "19811231", 8));
    assert_int_equal(hf_ls_unseal(&k, MRN_A, s1, n1, &back), HF_OK);
    assert_memory_equal(&back, &r, sizeof r);
    assert_int_equal(hf_ls_unseal(&k, MRN_B, s1, n1, &back), HF_ESYNTAX);     /* other row */
    assert_int_equal(hf_ls_unseal(&other, MRN_A, s1, n1, &back), HF_ESYNTAX); /* other key */
    s1[n1 / 2] ^= 1;
    assert_int_equal(hf_ls_unseal(&k, MRN_A, s1, n1, &back), HF_ESYNTAX);     /* tampered */
    s1[n1 / 2] ^= 1;
    assert_int_equal(hf_ls_unseal(&k, MRN_A, s1, 10, &back), HF_ESYNTAX);     /* truncated */
    s1[0] = 9;
    assert_int_equal(hf_ls_unseal(&k, MRN_A, s1, n1, &back), HF_ESYNTAX);     /* version */
}

static hf_match_model model(void) {
    hf_match_model m;
    hf_err err = {0};
    assert_int_equal(hf_match_model_load(&m, "config/match/model.conf", &err), HF_OK);
    return m;
}

static const demo MARGARET = {"Margaret", "Johnson", "19620314", "F", "Elm Street",
                              "Springfield", "IL", "62704", "2175550142", "42"};

static void typo_at_another_facility_links(void **state) {
    (void)state;
    hf_match_model m = model();
    demo typo = MARGARET;
    typo.family = "Jonhson";
    hf_ls_candidate c[1] = {{.empi_id = "E1", .mrn_hash = MRN_A}};
    prep(&MARGARET, &c[0].rec);
    hf_match_rec r;
    prep(&typo, &r);
    hf_ls_choice ch;
    hf_ls_choose(&m, &r, c, 1, &ch);
    assert_int_equal(ch.decision, HF_MATCH_LINK);
    assert_int_equal(ch.index, 0);
    assert_true(ch.probability >= m.link_probability);
}

static void same_name_other_birth_date_and_address_is_new(void **state) {
    (void)state;
    hf_match_model m = model();
    /* Same town (they share a blocking key, so this is scored), but another
     * birth date, street, postcode and phone. */
    demo other = {"Margaret", "Johnson", "19881102", "F", "Oak Avenue", "Springfield", "IL",
                  "62629", "2175550987", "1187"};
    hf_ls_candidate c[1] = {{.empi_id = "E1", .mrn_hash = MRN_A}};
    prep(&MARGARET, &c[0].rec);
    hf_match_rec r;
    prep(&other, &r);
    hf_ls_choice ch;
    hf_ls_choose(&m, &r, c, 1, &ch);
    assert_int_equal(ch.index, 0);
    assert_int_equal(ch.decision, HF_MATCH_NEW);
    assert_true(ch.probability < 0.1);
}

static void same_name_other_birth_date_no_address_is_review(void **state) {
    (void)state;
    hf_match_model m = model();
    demo a = {"Chidi", "Okafor", "19700101", "M", NULL, NULL, NULL, NULL, NULL, NULL};
    demo b = {"Chidi", "Okafor", "19700923", "M", NULL, NULL, NULL, NULL, NULL, NULL};
    hf_ls_candidate c[1] = {{.empi_id = "E7", .mrn_hash = MRN_A}};
    prep(&a, &c[0].rec);
    hf_match_rec r;
    prep(&b, &r);
    hf_ls_choice ch;
    hf_ls_choose(&m, &r, c, 1, &ch);
    assert_int_equal(ch.decision, HF_MATCH_REVIEW);
    assert_true(ch.probability >= m.review_probability && ch.probability < m.link_probability);
}

static void best_candidate_wins_ties_go_to_the_smaller_id(void **state) {
    (void)state;
    hf_match_model m = model();
    demo far = {"Margaret", "Johnson", "19881102", "F", NULL, NULL, NULL, NULL, NULL, NULL};
    hf_ls_candidate c[3] = {{.empi_id = "E9", .mrn_hash = MRN_A},
                            {.empi_id = "E5", .mrn_hash = MRN_B},
                            {.empi_id = "E3", .mrn_hash = MRN_B}};
    prep(&far, &c[0].rec);
    prep(&MARGARET, &c[1].rec);
    prep(&MARGARET, &c[2].rec);
    hf_match_rec r;
    prep(&MARGARET, &r);
    hf_ls_choice ch;
    hf_ls_choose(&m, &r, c, 3, &ch);
    assert_int_equal(ch.index, 2);
    assert_int_equal(ch.decision, HF_MATCH_LINK);
    hf_ls_choose(&m, &r, c, 0, &ch);
    assert_int_equal(ch.index, SIZE_MAX);
    assert_int_equal(ch.decision, HF_MATCH_NEW);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(person_comes_from_pid_and_enrichment),
        cmocka_unit_test(block_hashes_are_keyed_sorted_and_hide_the_keys),
        cmocka_unit_test(lock_ids_keep_the_order_of_the_hashes),
        cmocka_unit_test(sealed_records_open_only_for_their_row_and_key),
        cmocka_unit_test(typo_at_another_facility_links),
        cmocka_unit_test(same_name_other_birth_date_and_address_is_new),
        cmocka_unit_test(same_name_other_birth_date_no_address_is_review),
        cmocka_unit_test(best_candidate_wins_ties_go_to_the_smaller_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
