/* test_gen.c - unit tests of the HL7 traffic generator (hl7flow/gen.h):
 * determinism, the message mix, message shape, control ids, malformed
 * recipes, A40 merges, MDM escapes and patient identity stability. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/gen.h"

/* ---- helpers: a tiny ER7 reader over one generated message ---- */

typedef struct span {
    const char *p;
    size_t len;
} span;

static int span_eq(span s, const char *text) { return s.len == strlen(text) && memcmp(s.p, text, s.len) == 0; }

/* The first segment with id @p id (3 letters), or an empty span. */
static span seg_find(const hf_gen_msg *m, const char *id) {
    const char *p = m->data, *end = m->data + m->len;
    while (p < end) {
        const char *e = memchr(p, '\r', (size_t)(end - p));
        if (e == NULL)
            e = end;
        if (e - p >= 4 && memcmp(p, id, 3) == 0 && p[3] == '|')
            return (span){p, (size_t)(e - p)};
        p = e + 1;
    }
    return (span){NULL, 0};
}

static size_t seg_count(const hf_gen_msg *m, const char *id) {
    size_t n = 0;
    const char *p = m->data, *end = m->data + m->len;
    while (p < end) {
        const char *e = memchr(p, '\r', (size_t)(end - p));
        if (e == NULL)
            e = end;
        if (e - p >= 4 && memcmp(p, id, 3) == 0 && p[3] == '|')
            n++;
        p = e + 1;
    }
    return n;
}

/* Field @p n of a segment (MSH counted as in HL7: MSH-1 is the "|"). */
static span field(span seg, unsigned n) {
    if (seg.p == NULL)
        return seg;
    unsigned idx = memcmp(seg.p, "MSH", 3) == 0 ? n - 1 : n;
    const char *p = seg.p, *end = seg.p + seg.len;
    for (unsigned i = 0; i < idx; i++) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        if (bar == NULL)
            return (span){end, 0};
        p = bar + 1;
    }
    const char *bar = memchr(p, '|', (size_t)(end - p));
    return (span){p, (size_t)((bar ? bar : end) - p)};
}

static int contains(const hf_gen_msg *m, const char *needle) {
    return memmem(m->data, m->len, needle, strlen(needle)) != NULL;
}

static hf_gen *make_gen(uint64_t seed, uint32_t patients, uint32_t malformed_bp) {
    hf_gen_opts o;
    hf_gen *g = NULL;
    hf_gen_opts_default(&o);
    o.seed = seed;
    o.patients = patients;
    o.malformed_bp = malformed_bp;
    assert_int_equal(hf_gen_new(&o, &g, NULL), HF_OK);
    return g;
}

static int is_calendar_date(span s) {
    if (s.len != 8)
        return 0;
    for (size_t i = 0; i < 8; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return 0;
    int y = atoi((char[]){s.p[0], s.p[1], s.p[2], s.p[3], 0});
    int mo = atoi((char[]){s.p[4], s.p[5], 0});
    int d = atoi((char[]){s.p[6], s.p[7], 0});
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return 0;
    return !(mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
}

/* ---- tests ---- */

static void same_seed_gives_identical_bytes(void **state) {
    (void)state;
    hf_gen *a = make_gen(42, 10000, 1000), *b = make_gen(42, 10000, 1000);
    for (int i = 0; i < 5000; i++) {
        hf_gen_msg ma, mb;
        assert_int_equal(hf_gen_next(a, &ma), HF_OK);
        assert_int_equal(hf_gen_next(b, &mb), HF_OK);
        assert_int_equal(ma.len, mb.len);
        if (ma.len)
            assert_memory_equal(ma.data, mb.data, ma.len);
        assert_int_equal(ma.fault, mb.fault);
        assert_string_equal(ma.control_id, mb.control_id);
    }
    hf_gen_destroy(a);
    hf_gen_destroy(b);
}

static void different_seeds_give_different_traffic(void **state) {
    (void)state;
    hf_gen *a = make_gen(1, 10000, 0), *b = make_gen(2, 10000, 0);
    int same = 0;
    for (int i = 0; i < 1000; i++) {
        hf_gen_msg ma, mb;
        assert_int_equal(hf_gen_next(a, &ma), HF_OK);
        assert_int_equal(hf_gen_next(b, &mb), HF_OK);
        if (ma.len == mb.len && memcmp(ma.data, mb.data, ma.len) == 0)
            same++;
    }
    assert_int_equal(same, 0);
    hf_gen_destroy(a);
    hf_gen_destroy(b);
}

static void malformed_share_leaves_valid_messages_unchanged(void **state) {
    (void)state;
    hf_gen *clean = make_gen(9, 5000, 0), *dirty = make_gen(9, 5000, 3000);
    int damaged = 0;
    for (int i = 0; i < 3000; i++) {
        hf_gen_msg mc, md;
        assert_int_equal(hf_gen_next(clean, &mc), HF_OK);
        assert_int_equal(hf_gen_next(dirty, &md), HF_OK);
        assert_int_equal(mc.type, md.type);
        assert_true(mc.patient == md.patient);
        assert_int_equal(mc.fault, HF_GEN_VALID);
        if (md.fault == HF_GEN_VALID) {
            assert_int_equal(mc.len, md.len);
            assert_memory_equal(mc.data, md.data, mc.len);
        } else {
            damaged++;
        }
    }
    assert_in_range(damaged, 800, 1000); /* 30% of 3000 */
    hf_gen_destroy(clean);
    hf_gen_destroy(dirty);
}

static void mix_matches_documented_shares(void **state) {
    (void)state;
    static const double expect[HF_GEN_TYPE_COUNT] = {
        [HF_GEN_ADT_A01] = 0.072, [HF_GEN_ADT_A02] = 0.054, [HF_GEN_ADT_A03] = 0.063,
        [HF_GEN_ADT_A04] = 0.072, [HF_GEN_ADT_A08] = 0.1575, [HF_GEN_ADT_A11] = 0.018,
        [HF_GEN_ADT_A40] = 0.0135, [HF_GEN_ORM_O01] = 0.15, [HF_GEN_ORU_R01] = 0.30,
        [HF_GEN_DFT_P03] = 0.05, [HF_GEN_MDM_T02] = 0.05,
    };
    const int n = 20000;
    int count[HF_GEN_TYPE_COUNT] = {0};
    hf_gen *g = make_gen(3, 10000, 0);
    for (int i = 0; i < n; i++) {
        hf_gen_msg m;
        assert_int_equal(hf_gen_next(g, &m), HF_OK);
        count[m.type]++;
    }
    int adt = 0;
    for (int t = 0; t < HF_GEN_TYPE_COUNT; t++) {
        double share = (double)count[t] / n;
        double tol = 4.5 * sqrt(expect[t] * (1 - expect[t]) / n); /* 4.5 standard deviations */
        if (share < expect[t] - tol || share > expect[t] + tol)
            fail_msg("%s: %.4f, expected %.4f +- %.4f", hf_gen_type_name((hf_gen_type)t), share, expect[t], tol);
        if (t <= HF_GEN_ADT_A40)
            adt += count[t];
    }
    assert_in_range(adt, (int)(0.43 * n), (int)(0.47 * n));
    hf_gen_destroy(g);
}

static void valid_messages_are_well_formed(void **state) {
    (void)state;
    static const hf_gen_version versions[] = {HF_GEN_V2_3, HF_GEN_V2_4, HF_GEN_V2_5_1};
    for (size_t v = 0; v < 3; v++) {
        hf_gen_opts o;
        hf_gen *g = NULL;
        hf_gen_opts_default(&o);
        o.version = versions[v];
        o.seed = 11;
        assert_int_equal(hf_gen_new(&o, &g, NULL), HF_OK);
        size_t total = 0;
        for (int i = 0; i < 4000; i++) {
            hf_gen_msg m;
            char want[48];
            assert_int_equal(hf_gen_next(g, &m), HF_OK);
            total += m.len;
            assert_true(m.len > 9 && memcmp(m.data, "MSH|^~\\&|", 9) == 0);
            assert_int_equal(m.data[m.len - 1], '\r');
            assert_null(memchr(m.data, '\n', m.len));
            /* every segment: 3-char upper-case/digit id then '|' */
            for (const char *p = m.data, *end = m.data + m.len; p < end;) {
                const char *e = memchr(p, '\r', (size_t)(end - p));
                assert_non_null(e);
                assert_true(e - p >= 4);
                for (int k = 0; k < 3; k++)
                    assert_true((p[k] >= 'A' && p[k] <= 'Z') || (p[k] >= '0' && p[k] <= '9'));
                assert_int_equal(p[3], '|');
                p = e + 1;
            }
            span msh = seg_find(&m, "MSH");
            assert_true(span_eq(field(msh, 12), hf_gen_version_name(versions[v])));
            snprintf(want, sizeof want, "G11-%d", i + 1);
            assert_string_equal(m.control_id, want);
            assert_true(span_eq(field(msh, 10), want));
            span type = field(msh, 9);
            const char *tn = hf_gen_type_name(m.type);
            assert_true(type.len >= 7 && memcmp(type.p, tn, 7) == 0);
            assert_int_equal(type.len > 7, versions[v] != HF_GEN_V2_3); /* MSH-9.3 from 2.4 on */
            assert_int_equal(seg_count(&m, "SFT"), versions[v] == HF_GEN_V2_5_1);
            assert_int_equal(seg_count(&m, "PID"), 1);
            int has_evn = m.type <= HF_GEN_ADT_A40 || m.type == HF_GEN_DFT_P03 || m.type == HF_GEN_MDM_T02;
            assert_int_equal(seg_count(&m, "EVN"), has_evn);
            if (m.type != HF_GEN_ADT_A40)
                assert_int_equal(seg_count(&m, "PV1"), 1);
            if (m.type == HF_GEN_ORM_O01 || m.type == HF_GEN_ORU_R01) {
                assert_true(seg_count(&m, "ORC") >= 1);
                assert_int_equal(seg_count(&m, "ORC"), seg_count(&m, "OBR"));
            }
            if (m.type == HF_GEN_ORU_R01)
                assert_in_range(seg_count(&m, "OBX"), 1, 30);
            if (m.type == HF_GEN_DFT_P03)
                assert_in_range(seg_count(&m, "FT1"), 1, 6);
            if (m.type == HF_GEN_MDM_T02)
                assert_int_equal(seg_count(&m, "TXA"), 1);
            span pid = seg_find(&m, "PID");
            assert_true(is_calendar_date(field(pid, 7)));
            span sex = field(pid, 8);
            assert_true(sex.len == 1 && strchr("MFOU", sex.p[0]) != NULL);
            assert_non_null(memmem(field(pid, 3).p, field(pid, 3).len, "^MR", 3));
        }
        /* Average size lands in the 1.5-2 KB the benchmarks assume. */
        assert_in_range(total / 4000, 1400, 2200);
        hf_gen_destroy(g);
    }
}

static void timestamps_come_from_the_fixed_epoch(void **state) {
    (void)state;
    hf_gen *g = make_gen(5, 10000, 0);
    hf_gen_msg m;
    assert_int_equal(hf_gen_next(g, &m), HF_OK);
    span ts = field(seg_find(&m, "MSH"), 7);
    assert_true(ts.len >= 14 && memcmp(ts.p, "2024010100000", 13) == 0);
    hf_gen_destroy(g);
}

/* Checks that a malformed message follows its documented recipe. */
static void check_recipe(const hf_gen_msg *m) {
    span msh = m->len >= 4 && memcmp(m->data, "MSH|", 4) == 0 ? seg_find(m, "MSH") : (span){NULL, 0};
    switch (m->fault) {
    case HF_GEN_MISSING_MSH:
        assert_null(msh.p);
        assert_null(memmem(m->data, m->len, "MSH|", 4));
        assert_non_null(seg_find(m, "PID").p);
        break;
    case HF_GEN_BAD_ENCODING: {
        span enc = field(msh, 2);
        assert_int_equal(enc.len, 4);
        int dup = 0;
        for (int i = 0; i < 4; i++)
            for (int k = i + 1; k < 4; k++)
                dup |= enc.p[i] == enc.p[k];
        assert_true(dup);
        break;
    }
    case HF_GEN_TRUNCATED: {
        span pid = seg_find(m, "PID");
        assert_non_null(pid.p);
        assert_true(m->data[m->len - 1] != '\r');
        assert_ptr_equal(pid.p + pid.len, m->data + m->len); /* nothing after PID */
        break;
    }
    case HF_GEN_MISSING_MSH10:
        assert_int_equal(field(msh, 10).len, 0);
        assert_string_equal(m->control_id, "");
        break;
    case HF_GEN_MISSING_MSH9:
        assert_int_equal(field(msh, 9).len, 0);
        assert_true(field(msh, 10).len > 0);
        break;
    case HF_GEN_BAD_PID7_DATE: {
        span dob = field(seg_find(m, "PID"), 7);
        assert_int_equal(dob.len, 8);
        assert_false(is_calendar_date(dob));
        break;
    }
    case HF_GEN_BAD_PID8_SEX: {
        span sex = field(seg_find(m, "PID"), 8);
        assert_true(sex.len > 0);
        assert_false(sex.len == 1 && strchr("MFOUAN", sex.p[0]) != NULL);
        break;
    }
    case HF_GEN_MISSING_PID3:
        assert_true(m->type <= HF_GEN_ADT_A40);
        assert_int_equal(field(seg_find(m, "PID"), 3).len, 0);
        break;
    case HF_GEN_OBX_WITHOUT_OBR:
        assert_int_equal(m->type, HF_GEN_ORU_R01);
        assert_int_equal(seg_count(m, "OBR"), 0);
        assert_true(seg_count(m, "OBX") >= 1);
        break;
    case HF_GEN_BINARY_GARBAGE:
        assert_true(m->len >= 64);
        assert_false(m->data[0] == 'M');
        assert_null(memchr(m->data, 0x0b, m->len));
        assert_null(memchr(m->data, 0x1c, m->len));
        assert_string_equal(m->control_id, "");
        break;
    case HF_GEN_EMPTY:
        assert_int_equal(m->len, 0);
        assert_string_equal(m->control_id, "");
        break;
    default:
        fail_msg("unexpected fault %d", (int)m->fault);
    }
}

static void malformed_messages_follow_their_recipes(void **state) {
    (void)state;
    const int n = 20000;
    int kinds[HF_GEN_FAULT_COUNT] = {0};
    hf_gen *g = make_gen(17, 10000, 1000); /* 10% */
    for (int i = 0; i < n; i++) {
        hf_gen_msg m;
        assert_int_equal(hf_gen_next(g, &m), HF_OK);
        kinds[m.fault]++;
        if (m.fault == HF_GEN_VALID) {
            assert_true(m.len > 4 && memcmp(m.data, "MSH|^~\\&|", 9) == 0);
            assert_true(m.control_id[0] == 'G');
        } else {
            check_recipe(&m);
        }
    }
    int bad = n - kinds[HF_GEN_VALID];
    assert_in_range(bad, (int)(0.09 * n), (int)(0.11 * n));
    for (int f = 1; f < HF_GEN_FAULT_COUNT; f++)
        if (kinds[f] == 0)
            fail_msg("fault %s never produced", hf_gen_fault_name((hf_gen_fault)f));
    hf_gen_destroy(g);
}

static void a40_merges_with_mrg_and_retires_the_old_identity(void **state) {
    (void)state;
    const int n = 20000;
    const uint32_t patients = 2000;
    uint8_t *retired = calloc(patients + n + 2, 1);
    uint32_t *mrn = calloc(patients + n + 2, sizeof *mrn);
    assert_non_null(retired);
    assert_non_null(mrn);
    hf_gen *g = make_gen(23, patients, 0);
    int merges = 0;
    for (int i = 0; i < n; i++) {
        hf_gen_msg m;
        assert_int_equal(hf_gen_next(g, &m), HF_OK);
        assert_false(retired[m.patient]); /* merged-away patients never return */
        span pid3 = field(seg_find(&m, "PID"), 3);
        const char *mr = memmem(pid3.p, pid3.len, "^MR", 3);
        assert_non_null(mr);
        const char *start = mr;
        while (start > pid3.p && start[-1] != '~')
            start--;
        uint32_t this_mrn = (uint32_t)strtoul(start, NULL, 10);
        mrn[m.patient] = this_mrn;
        if (m.type != HF_GEN_ADT_A40) {
            assert_true(m.merged == 0);
            continue;
        }
        merges++;
        span mrg = seg_find(&m, "MRG");
        assert_non_null(mrg.p);
        assert_true(m.merged != 0 && m.merged != m.patient);
        uint32_t prior_mrn = (uint32_t)strtoul(field(mrg, 1).p, NULL, 10);
        assert_true(prior_mrn != this_mrn);
        if (mrn[m.merged] != 0)
            assert_int_equal(prior_mrn, mrn[m.merged]);
        assert_non_null(memmem(field(mrg, 1).p, field(mrg, 1).len, "^MR", 3));
        retired[m.merged] = 1;
    }
    assert_true(merges > 150); /* 1.35% of 20000 = 270 */
    hf_gen_destroy(g);
    free(retired);
    free(mrn);
}

static void mdm_notes_are_long_and_escaped(void **state) {
    (void)state;
    static const char *const escapes[] = {"\\.br\\", "\\T\\", "\\F\\", "\\S\\", "\\E\\", "\\R\\", "\\X0D\\"};
    hf_gen *g = make_gen(31, 10000, 0);
    int mdm = 0;
    for (int i = 0; i < 4000; i++) {
        hf_gen_msg m;
        assert_int_equal(hf_gen_next(g, &m), HF_OK);
        if (m.type != HF_GEN_MDM_T02)
            continue;
        mdm++;
        for (size_t k = 0; k < sizeof escapes / sizeof escapes[0]; k++)
            if (!contains(&m, escapes[k]))
                fail_msg("MDM %s lacks %s", m.control_id, escapes[k]);
        span obx = seg_find(&m, "OBX");
        span kind = field(obx, 2);
        assert_true(span_eq(kind, "FT") || span_eq(kind, "TX"));
        assert_true(span_eq(field(seg_find(&m, "TXA"), 3), span_eq(kind, "FT") ? "FT" : "TX"));
        assert_true(m.len > 2500); /* several KB of note */
    }
    assert_true(mdm > 100);
    hf_gen_destroy(g);
}

static void oru_carries_typed_results(void **state) {
    (void)state;
    hf_gen *g = make_gen(37, 10000, 0);
    int nm = 0, st = 0, ce = 0, tx = 0, nte = 0, flagged = 0;
    for (int i = 0; i < 5000; i++) {
        hf_gen_msg m;
        assert_int_equal(hf_gen_next(g, &m), HF_OK);
        if (m.type != HF_GEN_ORU_R01)
            continue;
        nte += (int)seg_count(&m, "NTE");
        for (const char *p = m.data, *end = m.data + m.len; p < end;) {
            const char *e = memchr(p, '\r', (size_t)(end - p));
            span seg = {p, (size_t)(e - p)};
            if (memcmp(p, "OBX|", 4) == 0) {
                span vt = field(seg, 2);
                if (span_eq(vt, "NM")) {
                    nm++;
                    assert_true(field(seg, 7).len >= 3); /* reference range lo-hi */
                    assert_non_null(memchr(field(seg, 7).p, '-', field(seg, 7).len));
                } else if (span_eq(vt, "ST")) {
                    st++;
                } else if (span_eq(vt, "CE")) {
                    ce++;
                    assert_non_null(memchr(field(seg, 5).p, '^', field(seg, 5).len));
                } else if (span_eq(vt, "TX")) {
                    tx++;
                } else {
                    fail_msg("unexpected OBX-2");
                }
                assert_true(span_eq(field(seg, 11), "F"));
                span flag = field(seg, 8);
                flagged += flag.len > 0 && !span_eq(flag, "N");
            }
            p = e + 1;
        }
    }
    assert_true(nm > 1000 && st > 10 && ce > 50 && tx > 10 && nte > 10 && flagged > 100);
    hf_gen_destroy(g);
}

static void same_patient_keeps_mrn_and_demographics(void **state) {
    (void)state;
    const int n = 20000;
    const uint32_t patients = 3000;
    char **seen = calloc(patients + n + 2, sizeof *seen);
    assert_non_null(seen);
    hf_gen *g = make_gen(41, patients, 0);
    int repeats = 0;
    for (int i = 0; i < n; i++) {
        hf_gen_msg m;
        assert_int_equal(hf_gen_next(g, &m), HF_OK);
        span pid = seg_find(&m, "PID");
        span pid3 = field(pid, 3), pid5 = field(pid, 5), pid7 = field(pid, 7), pid11 = field(pid, 11);
        const char *mr = memmem(pid3.p, pid3.len, "^MR", 3);
        const char *start = mr;
        while (start > pid3.p && start[-1] != '~')
            start--;
        char key[512];
        snprintf(key, sizeof key, "%.*s|%.*s|%.*s|%.*s", (int)(mr - start), start, (int)pid5.len, pid5.p,
                 (int)pid7.len, pid7.p, (int)pid11.len, pid11.p);
        if (seen[m.patient] == NULL) {
            seen[m.patient] = strdup(key);
        } else {
            repeats++;
            assert_string_equal(seen[m.patient], key);
        }
    }
    assert_true(repeats > n / 2);
    /* and distinct identities never share an MRN */
    for (uint32_t a = 0; a < 300; a++) {
        for (uint32_t b = a + 1; b < 300 && seen[a]; b++) {
            if (seen[b] == NULL)
                continue;
            size_t la = strcspn(seen[a], "|"), lb = strcspn(seen[b], "|");
            assert_false(la == lb && memcmp(seen[a], seen[b], la) == 0);
        }
    }
    for (uint32_t i = 0; i < patients + (uint32_t)n + 2; i++)
        free(seen[i]);
    free(seen);
    hf_gen_destroy(g);
}

static void rejects_out_of_range_options(void **state) {
    (void)state;
    hf_gen_opts o;
    hf_gen *g = (hf_gen *)&o; /* must be reset to NULL on failure */
    hf_err err = {0};
    hf_gen_opts_default(&o);
    o.facilities = 0;
    assert_int_equal(hf_gen_new(&o, &g, &err), HF_ECONFIG);
    assert_null(g);
    assert_non_null(strstr(err.msg, "facilities"));
    hf_gen_opts_default(&o);
    o.patients = HF_GEN_MAX_PATIENTS + 1;
    assert_int_equal(hf_gen_new(&o, &g, &err), HF_ECONFIG);
    hf_gen_opts_default(&o);
    o.malformed_bp = 10001;
    assert_int_equal(hf_gen_new(&o, &g, &err), HF_ECONFIG);
    hf_gen_version v;
    assert_int_equal(hf_gen_version_parse("2.5.1", &v), HF_OK);
    assert_int_equal(v, HF_GEN_V2_5_1);
    assert_int_equal(hf_gen_version_parse("2.5", &v), HF_ECONFIG);
    hf_gen_destroy(NULL);
}

static void small_populations_and_many_facilities_work(void **state) {
    (void)state;
    hf_gen_opts o;
    hf_gen *g = NULL;
    hf_gen_opts_default(&o);
    o.patients = 1; /* A40 has nobody to merge: it falls back to A08 */
    o.facilities = HF_GEN_MAX_FACILITIES;
    assert_int_equal(hf_gen_new(&o, &g, NULL), HF_OK);
    for (int i = 0; i < 2000; i++) {
        hf_gen_msg m;
        assert_int_equal(hf_gen_next(g, &m), HF_OK);
        assert_true(m.type != HF_GEN_ADT_A40);
        assert_true(m.patient == 1);
    }
    hf_gen_destroy(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_gives_identical_bytes),
        cmocka_unit_test(different_seeds_give_different_traffic),
        cmocka_unit_test(malformed_share_leaves_valid_messages_unchanged),
        cmocka_unit_test(mix_matches_documented_shares),
        cmocka_unit_test(valid_messages_are_well_formed),
        cmocka_unit_test(timestamps_come_from_the_fixed_epoch),
        cmocka_unit_test(malformed_messages_follow_their_recipes),
        cmocka_unit_test(a40_merges_with_mrg_and_retires_the_old_identity),
        cmocka_unit_test(mdm_notes_are_long_and_escaped),
        cmocka_unit_test(oru_carries_typed_results),
        cmocka_unit_test(same_patient_keeps_mrn_and_demographics),
        cmocka_unit_test(rejects_out_of_range_options),
        cmocka_unit_test(small_populations_and_many_facilities_work),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
