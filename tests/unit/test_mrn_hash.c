/* test_mrn_hash.c - the MRN hash (mrn_hash.h): HMAC-SHA256 of
 * facility|authority|mrn, hex. Expected values computed independently with
 * `printf 'HOSP_A|MRN_AUTH|12345' | openssl dgst -sha256 -hmac KEY`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/mrn_hash.h"

#define KEY "0123456789abcdef-dev-key"

static hf_span S(const char *z) { return (hf_span){z, strlen(z)}; }

static void hash_matches_openssl_cli(void **state) {
    (void)state;
    hf_mrn_hasher *h = NULL;
    assert_int_equal(hf_mrn_hasher_new(KEY, strlen(KEY), &h, NULL), HF_OK);
    char out[HF_MRN_HASH_HEX_LEN + 1];
    assert_int_equal(hf_mrn_hash(h, S("HOSP_A"), S("MRN_AUTH"), S("12345"), out), HF_OK);
    assert_string_equal(out, "29a77646e5beadb93d303a0016a26d4002de41f4dda06d4b49853b45a192575c");
    /* an empty assigning authority keeps both separators */
    assert_int_equal(hf_mrn_hash(h, S("HOSP_B"), S(""), S("A1"), out), HF_OK);
    assert_string_equal(out, "a55613dab57ebbe9578f4e27abdda6b59c4e19db845152f3396621cec70ea09f");
    /* the hasher is reusable: the first value again */
    assert_int_equal(hf_mrn_hash(h, S("HOSP_A"), S("MRN_AUTH"), S("12345"), out), HF_OK);
    assert_string_equal(out, "29a77646e5beadb93d303a0016a26d4002de41f4dda06d4b49853b45a192575c");
    hf_mrn_hasher_free(h);
}

static void separators_keep_fields_apart(void **state) {
    (void)state;
    hf_mrn_hasher *h = NULL;
    assert_int_equal(hf_mrn_hasher_new(KEY, strlen(KEY), &h, NULL), HF_OK);
    char a[HF_MRN_HASH_HEX_LEN + 1], b[HF_MRN_HASH_HEX_LEN + 1];
    assert_int_equal(hf_mrn_hash(h, S("HOSP_A"), S("X"), S("1"), a), HF_OK);
    assert_int_equal(hf_mrn_hash(h, S("HOSP_AX"), S(""), S("1"), b), HF_OK);
    assert_string_not_equal(a, b);
    hf_mrn_hasher_free(h);
}

/* The DESIGN.md format joins with a bare '|': parts that contain one can
 * collide, which is why the router refuses them (router_transform.c). */
static void a_bar_inside_a_part_collides(void **state) {
    (void)state;
    hf_mrn_hasher *h = NULL;
    assert_int_equal(hf_mrn_hasher_new(KEY, strlen(KEY), &h, NULL), HF_OK);
    char a[HF_MRN_HASH_HEX_LEN + 1], b[HF_MRN_HASH_HEX_LEN + 1];
    assert_int_equal(hf_mrn_hash(h, S("HOSP_A"), S("AUTH|1"), S("2"), a), HF_OK);
    assert_int_equal(hf_mrn_hash(h, S("HOSP_A"), S("AUTH"), S("1|2"), b), HF_OK);
    assert_string_equal(a, b);
    hf_mrn_hasher_free(h);
}

static void other_key_other_hash(void **state) {
    (void)state;
    hf_mrn_hasher *h1 = NULL, *h2 = NULL;
    assert_int_equal(hf_mrn_hasher_new(KEY, strlen(KEY), &h1, NULL), HF_OK);
    assert_int_equal(hf_mrn_hasher_new(KEY "2", strlen(KEY) + 1, &h2, NULL), HF_OK);
    char a[HF_MRN_HASH_HEX_LEN + 1], b[HF_MRN_HASH_HEX_LEN + 1];
    assert_int_equal(hf_mrn_hash(h1, S("HOSP_A"), S("MRN_AUTH"), S("12345"), a), HF_OK);
    assert_int_equal(hf_mrn_hash(h2, S("HOSP_A"), S("MRN_AUTH"), S("12345"), b), HF_OK);
    assert_string_not_equal(a, b);
    hf_mrn_hasher_free(h1);
    hf_mrn_hasher_free(h2);
}

static void short_key_is_refused(void **state) {
    (void)state;
    hf_mrn_hasher *h = NULL;
    hf_err err = {0};
    assert_int_equal(hf_mrn_hasher_new("short", 5, &h, &err), HF_ECONFIG);
    assert_null(h);
    assert_non_null(strstr(err.msg, "at least 16"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_matches_openssl_cli),
        cmocka_unit_test(separators_keep_fields_apart),
        cmocka_unit_test(a_bar_inside_a_part_collides),
        cmocka_unit_test(other_key_other_hash),
        cmocka_unit_test(short_key_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
