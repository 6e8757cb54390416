/* test_match_febrl.c - the FEBRL labelled sets (../shared/data/febrl,
 * relative to the repo root, where tests/run.sh runs): the reader copes
 * with the files' traps (", " separators, one space for empty, CRLF and no
 * final newline in dataset4a), and matching dataset1 end to end with the
 * shipped model (config/match/model.conf) links its true pairs and nothing
 * else. Skipped, with a message, when the data is absent. Accuracy on all
 * sets is measured by bench/match/run.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl7flow/match.h"

#define DATA "../shared/data/febrl"

static int have_data(void) {
    FILE *f = fopen(DATA "/dataset1.csv", "r");
    if (!f) {
        print_message("FEBRL data not found in " DATA " (relative to the repo root): skipped\n");
        return 0;
    }
    fclose(f);
    return 1;
}

static void load(const char *file, hf_match_febrl *set) {
    char path[256];
    hf_err err = {0};
    snprintf(path, sizeof path, "%s/%s", DATA, file);
    if (hf_match_febrl_load(path, set, &err) != HF_OK)
        fail_msg("%s", err.msg);
}

static void reader_handles_the_file_traps(void **state) {
    (void)state;
    if (!have_data()) {
        skip();
        return;
    }
    /* Empty cells per column, from the data's README: given, surname,
     * street_number, address_1, address_2, suburb, postcode, state, dob,
     * soc_sec_id. */
    static const struct {
        const char *file;
        size_t n;
        size_t empty[10];
    } files[] = {
        {"dataset1.csv", 1000, {44, 18, 45, 25, 115, 18, 0, 15, 41, 0}},
        {"dataset2.csv", 5000, {109, 64, 223, 109, 569, 50, 0, 48, 110, 0}},
        {"dataset3.csv", 5000, {156, 79, 245, 154, 693, 85, 0, 85, 155, 0}},
        {"dataset4a.csv", 5000, {112, 48, 158, 98, 420, 55, 0, 50, 94, 0}},
        {"dataset4b.csv", 5000, {234, 102, 287, 220, 851, 106, 0, 107, 199, 0}},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        hf_match_febrl set;
        load(files[i].file, &set);
        assert_int_equal(set.n, files[i].n);
        size_t empty[10] = {0};
        for (size_t r = 0; r < set.n; r++) {
            const hf_person *p = &set.people[r];
            const hf_span f[10] = {p->given,    p->family,   p->street_number, p->street, p->street2,
                                   p->locality, p->postcode, p->state,         p->dob,    p->ssn};
            for (size_t k = 0; k < 10; k++) {
                empty[k] += f[k].len == 0;
                for (size_t c = 0; c < f[k].len; c++)
                    if (f[k].p[c] == '\r' || f[k].p[c] == '\n' || f[k].p[c] == ',')
                        fail_msg("%s record %zu field %zu holds a separator", files[i].file, r, k);
                if (f[k].len && (f[k].p[0] == ' ' || f[k].p[f[k].len - 1] == ' '))
                    fail_msg("%s record %zu field %zu not trimmed", files[i].file, r, k);
            }
            assert_int_equal(p->ssn.len, 7);
            assert_true(set.entity[r] >= 0);
        }
        for (size_t k = 0; k < 10; k++)
            if (empty[k] != files[i].empty[k])
                fail_msg("%s column %zu: %zu empty, want %zu", files[i].file, k, empty[k], files[i].empty[k]);
        hf_match_febrl_fini(&set);
        hf_match_febrl_fini(&set); /* twice is harmless */
    }
}

static void reader_rejects_bad_input(void **state) {
    (void)state;
    hf_match_febrl set;
    hf_err err = {0};
    assert_int_equal(hf_match_febrl_load("/nonexistent/febrl.csv", &set, &err), HF_EIO);
    char path[] = "/tmp/test_match_febrl_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, "
          "date_of_birth, soc_sec_id\nrec-1-org, a, b, 1, c, d, e, 2600, act, 19700101, 1234567\n"
          "rec-2-org, too, few, fields\n",
          f);
    fclose(f);
    assert_int_equal(hf_match_febrl_load(path, &set, &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, ":3:"));
    assert_null(set.people);
    unlink(path);
}

typedef struct kref {
    const char *key;
    unsigned rec;
} kref;

static int cmp_kref(const void *a, const void *b) {
    return strcmp(((const kref *)a)->key, ((const kref *)b)->key);
}

static void dataset1_links_true_pairs_only(void **state) {
    (void)state;
    if (!have_data()) {
        skip();
        return;
    }
    hf_match_model model;
    hf_err err = {0};
    if (hf_match_model_load(&model, "config/match/model.conf", &err) != HF_OK)
        fail_msg("%s", err.msg);
    hf_match_febrl set;
    load("dataset1.csv", &set);
    size_t n = set.n;
    hf_match_rec *recs = calloc(n, sizeof *recs);
    hf_match_key(*keys)[HF_MATCH_MAX_KEYS] = calloc(n, sizeof *keys);
    kref *refs = calloc(n * HF_MATCH_MAX_KEYS, sizeof *refs);
    unsigned char *seen = calloc(n * n, 1);
    assert_true(recs && keys && refs && seen);
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        hf_match_prepare(&set.people[i], &recs[i]);
        size_t k = hf_match_block_keys(&recs[i], keys[i]);
        for (size_t j = 0; j < k; j++)
            refs[nr++] = (kref){keys[i][j].s, (unsigned)i};
    }
    qsort(refs, nr, sizeof *refs, cmp_kref);
    size_t tp = 0, fp = 0, truth = 0;
    for (size_t a = 0; a < nr;) {
        size_t b = a;
        while (b < nr && strcmp(refs[b].key, refs[a].key) == 0)
            b++;
        for (size_t x = a; x < b; x++)
            for (size_t y = x + 1; y < b; y++) {
                unsigned i = refs[x].rec < refs[y].rec ? refs[x].rec : refs[y].rec;
                unsigned j = refs[x].rec < refs[y].rec ? refs[y].rec : refs[x].rec;
                if (i == j || seen[(size_t)i * n + j])
                    continue;
                seen[(size_t)i * n + j] = 1;
                if (hf_match_decide(&model, hf_match_weight(&model, &recs[i], &recs[j])) == HF_MATCH_LINK) {
                    tp += set.entity[i] == set.entity[j];
                    fp += set.entity[i] != set.entity[j];
                }
            }
        a = b;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            truth += set.entity[i] == set.entity[j];
    assert_int_equal(truth, 500);
    print_message("dataset1: %zu true pairs, linked %zu right and %zu wrong\n", truth, tp, fp);
    assert_true(fp == 0);
    assert_true(tp >= 495); /* recall >= 0.99 */
    free(recs);
    free(keys);
    free(refs);
    free(seen);
    hf_match_febrl_fini(&set);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_handles_the_file_traps),
        cmocka_unit_test(reader_rejects_bad_input),
        cmocka_unit_test(dataset1_links_true_pairs_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
