/* test_match_model.c - unit tests for the Fellegi-Sunter model of match.h:
 * weights from m and u, probability and decisions against the thresholds,
 * the model file (load, errors with line numbers, write/load round trip),
 * u from random pairs, and EM recovering known m, u and prior from
 * synthetic unlabelled comparison vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl7flow/match.h"

static void weights_are_log2_m_over_u(void **state) {
    (void)state;
    hf_match_model m;
    hf_match_model_default(&m);
    for (unsigned c = 0; c < HF_MC_COUNT; c++) {
        assert_float_equal(m.w[c][HF_MATCH_MISSING], 0.0, 0);
        for (unsigned l = 1; l < hf_match_levels((hf_match_cmp)c); l++)
            assert_float_equal(m.w[c][l], log2(m.m[c][l] / m.u[c][l]), 1e-5);
    }
    /* Exact agreement outweighs disagreement on every comparison. */
    for (unsigned c = 0; c < HF_MC_COUNT; c++)
        assert_true(m.w[c][1] > m.w[c][hf_match_levels((hf_match_cmp)c) - 1]);
    /* A switched-off comparison weighs nothing. */
    m.off[HF_MC_STATE] = 1;
    assert_int_equal(hf_match_model_finish(&m, NULL), HF_OK);
    assert_float_equal(m.w[HF_MC_STATE][1], 0.0, 0);
    uint8_t g[HF_MC_COUNT] = {0};
    g[HF_MC_GIVEN] = 1;
    g[HF_MC_DOB] = 4;
    assert_float_equal(hf_match_gamma_weight(&m, g), m.w[HF_MC_GIVEN][1] + m.w[HF_MC_DOB][4], 1e-9);
}

static void probability_and_decisions_follow_thresholds(void **state) {
    (void)state;
    assert_float_equal(hf_match_probability(0.0, 0.5), 0.5, 1e-12);
    /* prior odds 1:999, times 2^weight */
    double w = log2(999.0);
    assert_float_equal(hf_match_probability(w, 0.001), 0.5, 1e-9);
    assert_float_equal(hf_match_probability(1000.0, 0.001), 1.0, 1e-12);
    assert_float_equal(hf_match_probability(-5000.0, 0.001), 0.0, 1e-12);

    hf_match_model m;
    hf_match_model_default(&m);
    assert_float_equal(hf_match_probability(m.link_weight, m.prior), m.link_probability, 1e-9);
    assert_float_equal(hf_match_probability(m.review_weight, m.prior), m.review_probability, 1e-9);
    assert_int_equal(hf_match_decide(&m, m.link_weight + 0.01), HF_MATCH_LINK);
    assert_int_equal(hf_match_decide(&m, m.link_weight - 0.01), HF_MATCH_REVIEW);
    assert_int_equal(hf_match_decide(&m, m.review_weight - 0.01), HF_MATCH_NEW);

    m.review_probability = 0.999;
    assert_int_equal(hf_match_model_finish(&m, NULL), HF_ECONFIG);
    m.review_probability = 0.5;
    m.prior = 1.0;
    hf_err err = {0};
    assert_int_equal(hf_match_model_finish(&m, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "prior"));
}

static void two_prepared_records_score_end_to_end(void **state) {
    (void)state;
    hf_match_model m;
    hf_match_model_default(&m);
    hf_person a, b, c;
    memset(&a, 0, sizeof a);
    a.given = (hf_span){"Jane", 4};
    a.family = (hf_span){"Sample", 6};
    a.dob = (hf_span){"19700101", 8};
    a.postcode = (hf_span){"2600", 4};
    a.ssn = (hf_span){"1234567", 7};
    b = a;
    b.given = (hf_span){"Jayne", 5};
    b.dob = (hf_span){"19700110", 8};
    c = a;
    c.given = (hf_span){"Robert", 6};
    c.dob = (hf_span){"19551230", 8};
    c.ssn = (hf_span){"7654321", 7};
    hf_match_rec ra, rb, rc;
    hf_match_prepare(&a, &ra);
    hf_match_prepare(&b, &rb);
    hf_match_prepare(&c, &rc);
    assert_int_equal(hf_match_decide(&m, hf_match_weight(&m, &ra, &rb)), HF_MATCH_LINK);
    assert_int_equal(hf_match_decide(&m, hf_match_weight(&m, &ra, &rc)), HF_MATCH_NEW);
    assert_true(hf_match_weight(&m, &ra, &ra) > hf_match_weight(&m, &ra, &rb));
}

/* Writes @p text to a temporary file; returns its path (static buffer). */
static const char *tmpfile_with(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_match_model_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void model_file_loads_and_rejects_with_line(void **state) {
    (void)state;
    hf_match_model m;
    hf_err err = {0};
    const char *p = tmpfile_with("# a comment\n\nprior = 0.01\nlink_probability = 0.995\n"
                                 "given.exact = 0.9 0.01\n  dob.close = 0.05 0.002  \nsex.off = 1\n");
    assert_int_equal(hf_match_model_load(&m, p, &err), HF_OK);
    assert_float_equal(m.prior, 0.01, 1e-12);
    assert_float_equal(m.link_probability, 0.995, 1e-12);
    assert_float_equal(m.m[HF_MC_GIVEN][1], 0.9, 1e-12);
    assert_float_equal(m.u[HF_MC_DOB][2], 0.002, 1e-12);
    assert_float_equal(m.w[HF_MC_GIVEN][1], log2(0.9 / 0.01), 1e-5);
    assert_int_equal(m.off[HF_MC_SEX], 1);
    assert_float_equal(m.review_probability, 0.5, 1e-12); /* default kept */
    unlink(p);

    const struct {
        const char *text, *want;
    } bad[] = {
        {"prior = 0.01\nnosuch = 1\n", ":2: nosuch: unknown key"},
        {"given.exact = 0.9\n", ":1: given.exact: expected two numbers"},
        {"given.best = 0.9 0.1\n", ":1: given.best: unknown level"},
        {"colour.exact = 0.9 0.1\n", ":1: colour.exact: unknown comparison"},
        {"\n\nprior = 1.5\n", ":3: prior: expected a probability"},
        {"given.exact = 0.9 0.1x\n", ":1: given.exact: expected two numbers"},
        {"given.exact = 0 0.1\n", "must lie in (0, 1]"},
        {"just words\n", ":1: expected key = value"},
        {"review_probability = 0.999\n", "above link_probability"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = tmpfile_with(bad[i].text);
        memset(&err, 0, sizeof err);
        hf_match_model_default(&m);
        double before = m.prior;
        assert_int_equal(hf_match_model_load(&m, p, &err), HF_ECONFIG);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
        assert_float_equal(m.prior, before, 0); /* untouched on error */
        unlink(p);
    }
    assert_int_equal(hf_match_model_load(&m, "/nonexistent/model.conf", &err), HF_EIO);
}

static void model_file_round_trips(void **state) {
    (void)state;
    hf_match_model a, b;
    hf_match_model_default(&a);
    a.prior = 0.0123;
    a.m[HF_MC_SSN][2] = 0.0777;
    a.u[HF_MC_FAMILY][1] = 0.000321;
    a.off[HF_MC_PHONE] = 1;
    assert_int_equal(hf_match_model_finish(&a, NULL), HF_OK);
    char path[] = "/tmp/test_match_rt_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    assert_int_equal(hf_match_model_write(&a, f, "line one\nline two"), HF_OK);
    fclose(f);
    hf_err err = {0};
    assert_int_equal(hf_match_model_load(&b, path, &err), HF_OK);
    unlink(path);
    assert_float_equal(b.prior, a.prior, 1e-9);
    assert_int_equal(b.off[HF_MC_PHONE], 1);
    for (unsigned c = 0; c < HF_MC_COUNT; c++)
        for (unsigned l = 1; l < hf_match_levels((hf_match_cmp)c); l++) {
            assert_float_equal(b.m[c][l], a.m[c][l], a.m[c][l] * 1e-5);
            assert_float_equal(b.u[c][l], a.u[c][l], a.u[c][l] * 1e-5);
        }
}

static uint64_t rng(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double unit(uint64_t *s) { return (double)(rng(s) >> 11) / 9007199254740992.0; }

static unsigned draw(uint64_t *s, const double *p, unsigned levels) {
    double x = unit(s), acc = 0;
    for (unsigned l = 1; l < levels; l++) {
        acc += p[l];
        if (x < acc)
            return l;
    }
    return levels - 1;
}

/* Synthetic pairs: 20% matches. Five comparisons are drawn from known m
 * and u; the rest are missing. */
static hf_match_patterns *synthetic(const hf_match_model *truth, double share, size_t n, int matches_only) {
    static const hf_match_cmp used[] = {HF_MC_GIVEN, HF_MC_FAMILY, HF_MC_DOB, HF_MC_POSTCODE, HF_MC_SSN};
    hf_match_patterns *ps = hf_match_patterns_new();
    assert_non_null(ps);
    uint64_t s = 42;
    for (size_t i = 0; i < n; i++) {
        int match = matches_only ? 0 : unit(&s) < share;
        uint8_t g[HF_MC_COUNT] = {0};
        for (size_t k = 0; k < sizeof used / sizeof used[0]; k++) {
            hf_match_cmp c = used[k];
            g[c] = (uint8_t)draw(&s, match ? truth->m[c] : truth->u[c], hf_match_levels(c));
        }
        assert_int_equal(hf_match_patterns_add(ps, g, 1.0), HF_OK);
    }
    return ps;
}

static hf_match_model truth_model(void) {
    hf_match_model t;
    hf_match_model_default(&t);
    /* Make u less extreme so the test needs fewer pairs. */
    double u_name[] = {0, .05, .03, .05, .07, .2, .6};
    double u_code[] = {0, .05, .1, .15, .7};
    memcpy(t.u[HF_MC_GIVEN], u_name, sizeof u_name);
    memcpy(t.u[HF_MC_FAMILY], u_name, sizeof u_name);
    memcpy(t.u[HF_MC_DOB], u_code, sizeof u_code);
    memcpy(t.u[HF_MC_POSTCODE], u_code, sizeof u_code);
    memcpy(t.u[HF_MC_SSN], u_code, sizeof u_code);
    double m_code[] = {0, .7, .15, .1, .05};
    memcpy(t.m[HF_MC_SSN], m_code, sizeof m_code);
    (void)hf_match_model_finish(&t, NULL);
    return t;
}

static void u_comes_from_random_pairs(void **state) {
    (void)state;
    hf_match_model t = truth_model(), m;
    hf_match_model_default(&m);
    hf_match_patterns *ps = synthetic(&t, 0.0, 50000, 1); /* all non-matches */
    assert_true(hf_match_patterns_distinct(ps) > 100);
    assert_float_equal(hf_match_patterns_total(ps), 50000, 0);
    assert_int_equal(hf_match_estimate_u(&m, ps, NULL), HF_OK);
    assert_float_equal(m.u[HF_MC_GIVEN][1], t.u[HF_MC_GIVEN][1], 0.005);
    assert_float_equal(m.u[HF_MC_SSN][4], t.u[HF_MC_SSN][4], 0.01);
    /* Never seen: keeps the configured values. */
    hf_match_model d;
    hf_match_model_default(&d);
    assert_float_equal(m.u[HF_MC_PHONE][1], d.u[HF_MC_PHONE][1], 0);
    hf_match_patterns_destroy(ps);
}

static void em_recovers_known_parameters(void **state) {
    (void)state;
    hf_match_model t = truth_model();
    hf_match_patterns *ps = synthetic(&t, 0.2, 40000, 0);
    for (int est_u = 0; est_u <= 1; est_u++) {
        hf_match_model m;
        hf_match_model_default(&m);
        if (!est_u)
            memcpy(m.u, t.u, sizeof m.u);
        m.prior = 0.05;
        hf_match_em_result r;
        assert_int_equal(hf_match_em(&m, ps, est_u, 500, &r, NULL), HF_OK);
        assert_true(r.iterations > 1);
        assert_true(r.max_change < 1e-4);
        assert_float_equal(r.prior, 0.2, 0.01);
        assert_float_equal(m.prior, r.prior, 0);
        assert_float_equal(m.m[HF_MC_GIVEN][1], t.m[HF_MC_GIVEN][1], 0.02);
        assert_float_equal(m.m[HF_MC_SSN][1], t.m[HF_MC_SSN][1], 0.02);
        assert_float_equal(m.m[HF_MC_SSN][2], t.m[HF_MC_SSN][2], 0.02);
        assert_float_equal(m.m[HF_MC_DOB][1], t.m[HF_MC_DOB][1], 0.02);
        if (est_u)
            assert_float_equal(m.u[HF_MC_POSTCODE][4], t.u[HF_MC_POSTCODE][4], 0.02);
        /* Comparisons never present keep their values. */
        hf_match_model d;
        hf_match_model_default(&d);
        assert_float_equal(m.m[HF_MC_PHONE][1], d.m[HF_MC_PHONE][1], 0);
    }
    hf_match_patterns_destroy(ps);
    hf_match_patterns_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(weights_are_log2_m_over_u),
        cmocka_unit_test(probability_and_decisions_follow_thresholds),
        cmocka_unit_test(two_prepared_records_score_end_to_end),
        cmocka_unit_test(model_file_loads_and_rejects_with_line),
        cmocka_unit_test(model_file_round_trips),
        cmocka_unit_test(u_comes_from_random_pairs),
        cmocka_unit_test(em_recovers_known_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
