/* test_profile_gen.c - the shipped profiles (schemas/profiles) against the
 * traffic generator (gen.h): every valid message passes with no violation,
 * and every malformed kind that still parses (docs/gen.md) is caught at the
 * location the damage implies and nowhere else. Runs 20,000 messages at 10%
 * malformed in v2.5.1 plus 5,000 each in v2.4 and v2.3, so the
 * version-dependent rules see every version the generator writes. Prints the
 * validation cost per message as a TAP comment. Runs from the repo root
 * (tests/run.sh does); skipped when schemas/profiles is not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl7flow/gen.h"
#include "hl7flow/hl7.h"
#include "hl7flow/profile.h"

#define MAXV 64

static hf_profile *g_rules;

static int load_rules(void **state) {
    (void)state;
    if (access("schemas/profiles", R_OK) != 0)
        return 0; /* each test skips */
    hf_err err = {0};
    if (hf_profile_load("schemas/profiles", &g_rules, &err) != HF_OK) {
        fprintf(stderr, "load: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int free_rules(void **state) {
    (void)state;
    hf_profile_destroy(g_rules);
    g_rules = NULL;
    return 0;
}

/* The first required segment after PID of each type: what a message cut
 * inside PID ("truncated") must report missing. */
static const char *truncated_missing(hf_gen_type t) {
    switch (t) {
    case HF_GEN_ADT_A40:
        return "MRG";
    case HF_GEN_ORU_R01:
        return "OBR";
    case HF_GEN_ORM_O01:
        return "ORC";
    case HF_GEN_DFT_P03:
        return "FT1";
    default:
        return "PV1"; /* other ADT and MDM */
    }
}

static int has(const hf_profile_violation *v, size_t n, hf_pv_code code, const char *loc) {
    for (size_t i = 0; i < n; i++)
        if (v[i].code == code && strcmp(v[i].loc, loc) == 0)
            return 1;
    return 0;
}

typedef struct tally {
    size_t msgs, ok, parsed_bad[HF_GEN_FAULT_COUNT], unparsed[HF_GEN_FAULT_COUNT];
    double parse_ns, check_ns;
    size_t bytes;
} tally;

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Fails with the message's truth and its violations. */
static void report(const hf_gen_msg *g, const hf_profile_violation *v, size_t n, const char *why) {
    char line[4096];
    hf_profile_format(v, n < MAXV ? n : MAXV, line, sizeof line);
    fail_msg("message %llu (%s, %s, %s): %s: %s", (unsigned long long)g->index,
             hf_gen_type_name(g->type), hf_gen_fault_name(g->fault), g->control_id, why, line);
}

static void check_one(const hf_gen_msg *g, hf_hl7_msg *m, tally *t) {
    hf_err err = {0};
    double t0 = now_ns();
    hf_status st = hf_hl7_parse_into(m, (hf_span){g->len ? g->data : "", g->len}, NULL, &err);
    double t1 = now_ns();
    t->msgs++;
    if (st != HF_OK) {
        /* docs/gen.md: only these kinds fail the bare parse */
        if (g->fault != HF_GEN_MISSING_MSH && g->fault != HF_GEN_BAD_ENCODING &&
            g->fault != HF_GEN_BINARY_GARBAGE && g->fault != HF_GEN_EMPTY)
            fail_msg("message %llu (%s, %s) does not parse: %s", (unsigned long long)g->index,
                     hf_gen_type_name(g->type), hf_gen_fault_name(g->fault), err.msg);
        t->unparsed[g->fault]++;
        return;
    }
    hf_profile_violation v[MAXV];
    size_t n = hf_profile_check(g_rules, m, v, MAXV);
    double t2 = now_ns();
    if (g->fault == HF_GEN_VALID) {
        t->parse_ns += t1 - t0;
        t->check_ns += t2 - t1;
        t->bytes += g->len;
        t->ok++;
        if (n != 0)
            report(g, v, n, "a valid message has violations");
        return;
    }
    t->parsed_bad[g->fault]++;
    hf_pv_code code = HF_PV_REQUIRED_EMPTY;
    const char *loc = NULL;
    switch (g->fault) {
    case HF_GEN_MISSING_MSH10:
        loc = "MSH-10";
        break;
    case HF_GEN_MISSING_MSH9:
        loc = "MSH-9";
        break;
    case HF_GEN_BAD_PID7_DATE:
        code = HF_PV_BAD_FORMAT;
        loc = "PID-7";
        break;
    case HF_GEN_BAD_PID8_SEX:
        code = HF_PV_NOT_IN_TABLE;
        loc = "PID-8";
        break;
    case HF_GEN_MISSING_PID3:
        loc = "PID-3";
        break;
    case HF_GEN_OBX_WITHOUT_OBR:
        code = HF_PV_SEGMENT_MISSING;
        loc = "OBR";
        break;
    case HF_GEN_TRUNCATED:
        code = HF_PV_SEGMENT_MISSING;
        loc = truncated_missing(g->type);
        break;
    default:
        report(g, v, n, "this kind should not parse");
        return;
    }
    if (n > MAXV)
        report(g, v, n, "too many violations");
    if (!has(v, n, code, loc)) {
        char why[96];
        snprintf(why, sizeof why, "missing %s at %s", hf_pv_code_name(code), loc);
        report(g, v, n, why);
    }
    /* nothing else is flagged: a truncated message may also have lost
     * more segments or have a PID field cut short */
    for (size_t i = 0; i < n; i++) {
        int same = v[i].code == code && strcmp(v[i].loc, loc) == 0;
        int cut = g->fault == HF_GEN_TRUNCATED &&
                  (v[i].code == HF_PV_SEGMENT_MISSING || strncmp(v[i].loc, "PID-", 4) == 0);
        if (!same && !cut)
            report(g, v, n, "unexpected extra violation");
    }
}

static void run_stream(hf_gen_version version, unsigned count, uint64_t seed, tally *t) {
    hf_gen_opts o;
    hf_gen_opts_default(&o);
    o.seed = seed;
    o.version = version;
    o.malformed_bp = 1000; /* 10% */
    hf_gen *gen = NULL;
    hf_err err = {0};
    assert_int_equal(hf_gen_new(&o, &gen, &err), HF_OK);
    hf_hl7_msg *m = hf_hl7_msg_new();
    assert_non_null(m);
    for (unsigned i = 0; i < count; i++) {
        hf_gen_msg g;
        assert_int_equal(hf_gen_next(gen, &g), HF_OK);
        check_one(&g, m, t);
    }
    hf_hl7_msg_destroy(m);
    hf_gen_destroy(gen);
}

static void summary(const char *name, const tally *t) {
    size_t bad = 0, unparsed = 0;
    for (int k = 0; k < HF_GEN_FAULT_COUNT; k++) {
        bad += t->parsed_bad[k];
        unparsed += t->unparsed[k];
    }
    printf("# profile gen %s: %zu messages, %zu valid passed, %zu malformed caught, "
           "%zu unparseable; parse %.0f ns, check %.0f ns per valid message (%.0f bytes)\n",
           name, t->msgs, t->ok, bad, unparsed, t->parse_ns / (double)t->ok,
           t->check_ns / (double)t->ok, (double)t->bytes / (double)t->ok);
}

static void generated_v251_traffic(void **state) {
    (void)state;
    if (g_rules == NULL)
        skip();
    tally t;
    memset(&t, 0, sizeof t);
    run_stream(HF_GEN_V2_5_1, 20000, 7, &t);
    summary("2.5.1", &t);
    assert_true(t.ok > 17000);
    /* every kind that parses was produced and caught */
    const hf_gen_fault kinds[] = {HF_GEN_TRUNCATED,     HF_GEN_MISSING_MSH10, HF_GEN_MISSING_MSH9,
                                  HF_GEN_BAD_PID7_DATE, HF_GEN_BAD_PID8_SEX,  HF_GEN_MISSING_PID3,
                                  HF_GEN_OBX_WITHOUT_OBR};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (t.parsed_bad[kinds[i]] < 20)
            fail_msg("only %zu %s messages", t.parsed_bad[kinds[i]],
                     hf_gen_fault_name(kinds[i]));
}

static void generated_v24_and_v23_traffic(void **state) {
    (void)state;
    if (g_rules == NULL)
        skip();
    tally t;
    memset(&t, 0, sizeof t);
    run_stream(HF_GEN_V2_4, 5000, 11, &t);
    summary("2.4", &t);
    memset(&t, 0, sizeof t);
    run_stream(HF_GEN_V2_3, 5000, 13, &t);
    summary("2.3", &t);
    assert_true(t.ok > 4000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generated_v251_traffic),
        cmocka_unit_test(generated_v24_and_v23_traffic),
    };
    return cmocka_run_group_tests(tests, load_rules, free_rules);
}
