/* match_em.c - estimating the Fellegi-Sunter model from unlabelled pairs:
 * u from random pairs, m (and optionally u) and the prior by
 * expectation-maximisation over candidate pairs (contract in match.h).
 *
 * Pairs are first reduced to distinct comparison vectors with counts (a
 * few thousand vectors stand for millions of pairs), so each EM iteration
 * costs O(distinct vectors x comparisons). EM (Dempster, Laird and Rubin
 * 1977; Winkler 1988 for record linkage) treats "match" as a latent class:
 * the E-step gives each vector its match probability under the current
 * m, u and prior, the M-step re-estimates them as probability-weighted
 * level frequencies. Missing levels carry no information and are skipped
 * in both steps.
 */
#include "hl7flow/match.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define P_FLOOR 1e-6

typedef struct slot {
    uint64_t key; /* packed gamma + 1 (0 = empty) */
    double count;
} slot;

struct hf_match_patterns {
    slot *slots;  /* open addressing, power-of-two size */
    size_t cap;   /* slots */
    size_t used;  /* distinct vectors */
    double total; /* sum of counts */
};

/* Four bits per comparison: 12 x 4 = 48 bits. */
static uint64_t pack(const uint8_t gamma[HF_MC_COUNT]) {
    uint64_t k = 0;
    for (unsigned c = 0; c < HF_MC_COUNT; c++)
        k |= (uint64_t)(gamma[c] & 0xF) << (4 * c);
    return k + 1;
}

static void unpack(uint64_t k, uint8_t gamma[HF_MC_COUNT]) {
    k -= 1;
    for (unsigned c = 0; c < HF_MC_COUNT; c++)
        gamma[c] = (uint8_t)((k >> (4 * c)) & 0xF);
}

static size_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k;
}

hf_match_patterns *hf_match_patterns_new(void) {
    hf_match_patterns *ps = calloc(1, sizeof *ps);
    if (!ps)
        return NULL;
    ps->cap = 256;
    ps->slots = calloc(ps->cap, sizeof *ps->slots);
    if (!ps->slots) {
        free(ps);
        return NULL;
    }
    return ps;
}

void hf_match_patterns_destroy(hf_match_patterns *ps) {
    if (!ps)
        return;
    free(ps->slots);
    free(ps);
}

static slot *find(slot *slots, size_t cap, uint64_t key) {
    size_t i = hash(key) & (cap - 1);
    while (slots[i].key != 0 && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static hf_status grow(hf_match_patterns *ps) {
    size_t cap = ps->cap * 2;
    slot *s = calloc(cap, sizeof *s);
    if (!s)
        return HF_ENOMEM;
    for (size_t i = 0; i < ps->cap; i++)
        if (ps->slots[i].key)
            *find(s, cap, ps->slots[i].key) = ps->slots[i];
    free(ps->slots);
    ps->slots = s;
    ps->cap = cap;
    return HF_OK;
}

hf_status hf_match_patterns_add(hf_match_patterns *ps, const uint8_t gamma[HF_MC_COUNT], double count) {
    if ((ps->used + 1) * 2 > ps->cap && grow(ps) != HF_OK)
        return HF_ENOMEM;
    uint64_t key = pack(gamma);
    slot *s = find(ps->slots, ps->cap, key);
    if (s->key == 0) {
        s->key = key;
        ps->used++;
    }
    s->count += count;
    ps->total += count;
    return HF_OK;
}

size_t hf_match_patterns_distinct(const hf_match_patterns *ps) { return ps->used; }

double hf_match_patterns_total(const hf_match_patterns *ps) { return ps->total; }

hf_status hf_match_estimate_u(hf_match_model *model, const hf_match_patterns *random_pairs, hf_err *err) {
    double n[HF_MC_COUNT][HF_MATCH_MAX_LEVELS];
    memset(n, 0, sizeof n);
    uint8_t g[HF_MC_COUNT];
    for (size_t i = 0; i < random_pairs->cap; i++) {
        if (!random_pairs->slots[i].key)
            continue;
        unpack(random_pairs->slots[i].key, g);
        for (unsigned c = 0; c < HF_MC_COUNT; c++)
            n[c][g[c]] += random_pairs->slots[i].count;
    }
    for (unsigned c = 0; c < HF_MC_COUNT; c++) {
        unsigned levels = hf_match_levels((hf_match_cmp)c);
        double sum = 0;
        for (unsigned l = 1; l < levels; l++)
            sum += n[c][l] + 1.0; /* one pseudo-count per level */
        if (sum <= levels)
            continue; /* never present: keep the configured u */
        for (unsigned l = 1; l < levels; l++)
            model->u[c][l] = (n[c][l] + 1.0) / sum;
    }
    return hf_match_model_finish(model, err);
}

hf_status hf_match_em(hf_match_model *model, const hf_match_patterns *pairs, int estimate_u, unsigned max_iter,
                      hf_match_em_result *res, hf_err *err) {
    hf_match_em_result r = {0, 0.0, model->prior};
    size_t n = pairs->used;
    uint8_t(*gs)[HF_MC_COUNT] = malloc((n ? n : 1) * sizeof *gs);
    double *cnt = malloc((n ? n : 1) * sizeof *cnt);
    if (!gs || !cnt) {
        free(gs);
        free(cnt);
        return hf_err_set(err, HF_ENOMEM, "match em: out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < pairs->cap; i++) {
        if (!pairs->slots[i].key)
            continue;
        unpack(pairs->slots[i].key, gs[k]);
        cnt[k++] = pairs->slots[i].count;
    }
    double lambda = model->prior;
    for (unsigned it = 0; it < max_iter && n > 0; it++) {
        double sm[HF_MC_COUNT][HF_MATCH_MAX_LEVELS], su[HF_MC_COUNT][HF_MATCH_MAX_LEVELS];
        double lm_[HF_MC_COUNT][HF_MATCH_MAX_LEVELS], lu_[HF_MC_COUNT][HF_MATCH_MAX_LEVELS];
        memset(sm, 0, sizeof sm);
        memset(su, 0, sizeof su);
        for (unsigned c = 0; c < HF_MC_COUNT; c++)
            for (unsigned l = 0; l < HF_MATCH_MAX_LEVELS; l++) {
                lm_[c][l] = log(model->m[c][l] > P_FLOOR ? model->m[c][l] : P_FLOOR);
                lu_[c][l] = log(model->u[c][l] > P_FLOOR ? model->u[c][l] : P_FLOOR);
            }
        double sum_p = 0.0, total = 0.0;
        double base = log(lambda) - log1p(-lambda);
        /* E-step */
        for (size_t i = 0; i < n; i++) {
            double lr = base;
            for (unsigned c = 0; c < HF_MC_COUNT; c++)
                if (gs[i][c] && !model->off[c])
                    lr += lm_[c][gs[i][c]] - lu_[c][gs[i][c]];
            double p = lr > 700 ? 1.0 : lr < -700 ? 0.0 : 1.0 / (1.0 + exp(-lr));
            for (unsigned c = 0; c < HF_MC_COUNT; c++) {
                sm[c][gs[i][c]] += cnt[i] * p;
                su[c][gs[i][c]] += cnt[i] * (1.0 - p);
            }
            sum_p += cnt[i] * p;
            total += cnt[i];
        }
        /* M-step */
        double change = 0.0;
        for (unsigned c = 0; c < HF_MC_COUNT; c++) {
            unsigned levels = hf_match_levels((hf_match_cmp)c);
            double tm = 0.0, tu = 0.0;
            for (unsigned l = 1; l < levels; l++) {
                tm += sm[c][l];
                tu += su[c][l];
            }
            for (unsigned l = 1; l < levels; l++) {
                if (tm > 0.0) {
                    double v = sm[c][l] / tm;
                    change = fmax(change, fabs(v - model->m[c][l]));
                    model->m[c][l] = fmax(v, P_FLOOR);
                }
                if (estimate_u && tu > 0.0) {
                    double v = su[c][l] / tu;
                    change = fmax(change, fabs(v - model->u[c][l]));
                    model->u[c][l] = fmax(v, P_FLOOR);
                }
            }
        }
        double nl = sum_p / total;
        nl = fmin(fmax(nl, 1e-9), 1.0 - 1e-9);
        change = fmax(change, fabs(nl - lambda));
        lambda = nl;
        r.iterations = it + 1;
        r.max_change = change;
        if (change < 1e-6)
            break;
    }
    free(gs);
    free(cnt);
    r.prior = lambda;
    model->prior = lambda;
    if (res)
        *res = r;
    return hf_match_model_finish(model, err);
}
