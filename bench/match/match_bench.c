/* match_bench.c - accuracy and speed of patient matching on the FEBRL
 * labelled sets (../shared/data/febrl): blocking, scoring with the
 * Fellegi-Sunter model, thresholds, pairwise precision / recall / F1.
 *
 * For each set the program prepares every record, unions the blocking
 * keys into candidate pairs, and then scores them with the model in one of
 * two ways (the same settings for every set):
 *  - "em": the model file gives the comparison ladders' starting values
 *    and the thresholds; u is re-estimated from 10^6 random pairs of the
 *    set and m plus the prior by EM over the candidate pairs (unlabelled);
 *  - "fixed": the model file as it is, nothing estimated.
 * The true identity (rec-N) is used only to count true and false
 * positives afterwards. Pairwise scores: every pair of records of one
 * person is a positive, including pairs blocking never proposed.
 *
 * usage: match_bench [-d DATA_DIR] [-m MODEL_FILE] [-s SET[,SET...]]
 *                    [--fixed] [--write-model FILE] [--markdown FILE]
 * SET is 1, 2, 3 or 4 (4 = dataset4a linked with dataset4b).
 * Exit status 0, or 1 on error, or 2 when the data directory is absent.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl7flow/match.h"

typedef struct kref {
    uint64_t h; /* hash of the key */
    uint32_t rec;
    uint32_t kidx; /* index into keys[] for collision checks */
} kref;

typedef struct set_result {
    const char *name;
    size_t records, true_pairs, candidates, true_in_candidates, max_block;
    size_t tp, fp, rtp, rfp, htp, hfp; /* at link, at review, at p = 0.5 */
    double prior, link_w, review_w, pairs_per_s, seconds;
    unsigned em_iter;
} set_result;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t fnv(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int cmp_kref(const void *a, const void *b) {
    const kref *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->rec < y->rec ? -1 : x->rec > y->rec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* xorshift64*: a fixed-seed generator for the random pairs. */
static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

typedef struct pairs {
    uint64_t *v;
    size_t n, cap;
} pairs;

static int pairs_push(pairs *p, uint64_t x) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1 << 16;
        uint64_t *nv = realloc(p->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n++] = x;
    return 0;
}

/* Candidate pairs (i << 32 | j, i < j) of records sharing a key. In link
 * mode records [0, split) are one file and [split, n) the other, and only
 * pairs across the two are made. */
static int candidates(const hf_match_rec *recs, size_t n, size_t split, pairs *out, size_t *max_block) {
    hf_match_key(*keys)[HF_MATCH_MAX_KEYS] = malloc(n * sizeof *keys);
    kref *refs = malloc(n * HF_MATCH_MAX_KEYS * sizeof *refs);
    if (!keys || !refs) {
        free(keys);
        free(refs);
        return -1;
    }
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = hf_match_block_keys(&recs[i], keys[i]);
        for (size_t j = 0; j < k; j++)
            refs[nr++] = (kref){fnv(keys[i][j].s), (uint32_t)i, (uint32_t)j};
    }
    qsort(refs, nr, sizeof *refs, cmp_kref);
    *max_block = 0;
    for (size_t a = 0; a < nr;) {
        size_t b = a;
        while (b < nr && refs[b].h == refs[a].h)
            b++;
        if (b - a > *max_block)
            *max_block = b - a;
        for (size_t x = a; x < b; x++)
            for (size_t y = x + 1; y < b; y++) {
                uint32_t i = refs[x].rec, j = refs[y].rec;
                if (i == j)
                    continue;
                if (split && ((i < split) == (j < split)))
                    continue;
                if (strcmp(keys[i][refs[x].kidx].s, keys[j][refs[y].kidx].s) != 0)
                    continue; /* hash collision */
                if (pairs_push(out, (uint64_t)i << 32 | j) != 0) {
                    free(keys);
                    free(refs);
                    return -1;
                }
            }
        a = b;
    }
    free(keys);
    free(refs);
    qsort(out->v, out->n, sizeof *out->v, cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < out->n; i++)
        if (u == 0 || out->v[i] != out->v[u - 1])
            out->v[u++] = out->v[i];
    out->n = u;
    return 0;
}

/* Number of true pairs: records sharing an entity (across files in link
 * mode). */
static size_t true_pairs(const long *ent, size_t n, size_t split) {
    long *e = malloc(n * sizeof *e);
    if (!e)
        return 0;
    size_t total = 0;
    if (!split) {
        memcpy(e, ent, n * sizeof *e);
        qsort(e, n, sizeof *e, cmp_u64); /* entity ids are non-negative */
        for (size_t a = 0; a < n;) {
            size_t b = a;
            while (b < n && e[b] == e[a])
                b++;
            total += (b - a) * (b - a - 1) / 2;
            a = b;
        }
    } else {
        for (size_t i = 0; i < split; i++)
            for (size_t j = split; j < n; j++)
                total += ent[i] == ent[j];
    }
    free(e);
    return total;
}

static int run_set(const char *dir, const char *name, const char *file_a, const char *file_b, const hf_match_model *base,
                   int fixed, const char *write_model, set_result *r) {
    hf_err err = {0};
    hf_match_febrl a = {0}, b = {0};
    hf_match_rec *recs = NULL;
    long *ent = NULL;
    pairs cand = {0};
    hf_match_patterns *rp = NULL, *cp = NULL;
    int rc = 1;
    char path[1024];
    double t0 = now();
    memset(r, 0, sizeof *r);
    r->name = name;

    snprintf(path, sizeof path, "%s/%s", dir, file_a);
    if (hf_match_febrl_load(path, &a, &err) != HF_OK)
        goto out;
    if (file_b) {
        snprintf(path, sizeof path, "%s/%s", dir, file_b);
        if (hf_match_febrl_load(path, &b, &err) != HF_OK)
            goto out;
    }
    size_t n = a.n + b.n, split = file_b ? a.n : 0;
    recs = malloc(n * sizeof *recs);
    ent = malloc(n * sizeof *ent);
    if (!recs || !ent)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const hf_match_febrl *s = i < a.n ? &a : &b;
        size_t k = i < a.n ? i : i - a.n;
        hf_match_prepare(&s->people[k], &recs[i]);
        ent[i] = s->entity[k];
    }
    r->records = n;
    r->true_pairs = true_pairs(ent, n, split);
    if (candidates(recs, n, split, &cand, &r->max_block) != 0)
        goto out;
    r->candidates = cand.n;

    hf_match_model model = *base;
    uint8_t g[HF_MC_COUNT];
    if (!fixed) {
        /* u from random pairs (almost all non-matches). */
        rp = hf_match_patterns_new();
        cp = hf_match_patterns_new();
        if (!rp || !cp)
            goto out;
        uint64_t seed = 0x9E3779B97F4A7C15ULL;
        for (size_t k = 0; k < 1000000; k++) {
            size_t i, j;
            if (split) {
                i = rng_next(&seed) % split;
                j = split + rng_next(&seed) % (n - split);
            } else {
                i = rng_next(&seed) % n;
                j = rng_next(&seed) % n;
                if (i == j)
                    continue;
            }
            hf_match_compare(&recs[i], &recs[j], g);
            if (hf_match_patterns_add(rp, g, 1.0) != HF_OK)
                goto out;
        }
        if (hf_match_estimate_u(&model, rp, &err) != HF_OK)
            goto out;
        for (size_t k = 0; k < cand.n; k++) {
            hf_match_compare(&recs[cand.v[k] >> 32], &recs[cand.v[k] & 0xffffffffu], g);
            if (hf_match_patterns_add(cp, g, 1.0) != HF_OK)
                goto out;
        }
        hf_match_em_result em;
        if (hf_match_em(&model, cp, 0 /* m and prior only */, 200, &em, &err) != HF_OK)
            goto out;
        r->em_iter = em.iterations;
    }
    if (write_model) {
        FILE *f = fopen(write_model, "w");
        char comment[256];
        snprintf(comment, sizeof comment, "estimated by bench/match/match_bench on FEBRL %s", name);
        if (!f || hf_match_model_write(&model, f, comment) != HF_OK) {
            fprintf(stderr, "match_bench: cannot write %s\n", write_model);
            if (f)
                fclose(f);
            goto out;
        }
        fclose(f);
    }
    r->prior = model.prior;
    r->link_w = model.link_weight;
    r->review_w = model.review_weight;
    double half_w = -(log2(model.prior) - log2(1.0 - model.prior)); /* p = 0.5 */

    for (size_t k = 0; k < cand.n; k++) {
        size_t i = cand.v[k] >> 32, j = cand.v[k] & 0xffffffffu;
        double w = hf_match_weight(&model, &recs[i], &recs[j]);
        int truth = ent[i] == ent[j];
        r->true_in_candidates += truth;
        hf_match_decision d = hf_match_decide(&model, w);
        if (d == HF_MATCH_LINK) {
            r->tp += truth;
            r->fp += !truth;
        }
        if (d != HF_MATCH_NEW) {
            r->rtp += truth;
            r->rfp += !truth;
        }
        if (w >= half_w) {
            r->htp += truth;
            r->hfp += !truth;
        }
    }
    /* Speed: score the candidate pairs again, prepared records in memory. */
    volatile double sink = 0; /* keeps the scoring loop from being optimized away */
    double ts = now();
    size_t scored = 0;
    do {
        for (size_t k = 0; k < cand.n; k++)
            sink += hf_match_weight(&model, &recs[cand.v[k] >> 32], &recs[cand.v[k] & 0xffffffffu]);
        scored += cand.n;
    } while (now() - ts < 0.5 && cand.n > 0);
    r->pairs_per_s = (double)scored / (now() - ts);
    r->seconds = now() - t0;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "match_bench: %s: %s\n", name, err.msg[0] ? err.msg : "out of memory");
    hf_match_patterns_destroy(rp);
    hf_match_patterns_destroy(cp);
    free(cand.v);
    free(recs);
    free(ent);
    hf_match_febrl_fini(&a);
    hf_match_febrl_fini(&b);
    return rc;
}

static double ratio(size_t a, size_t b) { return b ? (double)a / (double)b : 0.0; }

static double f1(double p, double r) { return p + r > 0 ? 2 * p * r / (p + r) : 0.0; }

static void print_row(FILE *f, const set_result *r, int md) {
    double p = ratio(r->tp, r->tp + r->fp), rc = ratio(r->tp, r->true_pairs);
    double rp = ratio(r->rtp, r->rtp + r->rfp), rr = ratio(r->rtp, r->true_pairs);
    double hp = ratio(r->htp, r->htp + r->hfp), hr = ratio(r->htp, r->true_pairs);
    if (md)
        fprintf(f,
                "| %s | %zu | %zu | %zu | %.4f | %.4f | %.4f | **%.4f** | %zu / %zu | %.4f | %.4f | %.4f | %.0f |\n",
                r->name, r->records, r->true_pairs, r->candidates, ratio(r->true_in_candidates, r->true_pairs), p,
                rc, f1(p, rc), r->fp, r->true_pairs - r->tp, f1(hp, hr), rp, rr, r->pairs_per_s);
    else
        fprintf(f,
                "%-9s rec %6zu true %6zu cand %8zu (recall %.4f, max block %zu) prior %.3g em %u it  "
                "LINK P %.4f R %.4f F1 %.4f (fp %zu fn %zu)  p>=0.5 F1 %.4f  REVIEW+ P %.4f R %.4f  "
                "%.2fM pairs/s %.1fs\n",
                r->name, r->records, r->true_pairs, r->candidates, ratio(r->true_in_candidates, r->true_pairs),
                r->max_block, r->prior, r->em_iter, p, rc, f1(p, rc), r->fp, r->true_pairs - r->tp, f1(hp, hr), rp,
                rr, r->pairs_per_s / 1e6, r->seconds);
}

int main(int argc, char **argv) {
    const char *dir = "../shared/data/febrl", *model_path = "config/match/model.conf", *sets = "1,2,3,4";
    const char *write_model = NULL, *markdown = NULL;
    int fixed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc)
            model_path = argv[++i];
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            sets = argv[++i];
        else if (strcmp(argv[i], "--fixed") == 0)
            fixed = 1;
        else if (strcmp(argv[i], "--write-model") == 0 && i + 1 < argc)
            write_model = argv[++i];
        else if (strcmp(argv[i], "--markdown") == 0 && i + 1 < argc)
            markdown = argv[++i];
        else {
            fprintf(stderr,
                    "usage: match_bench [-d DATA_DIR] [-m MODEL_FILE] [-s 1,2,3,4] [--fixed] "
                    "[--write-model FILE] [--markdown FILE]\n");
            return 1;
        }
    }
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/dataset1.csv", dir);
    FILE *pf = fopen(probe, "r");
    if (!pf) {
        fprintf(stderr, "match_bench: FEBRL data not found in %s (skipped)\n", dir);
        return 2;
    }
    fclose(pf);
    hf_match_model base;
    hf_err err = {0};
    if (hf_match_model_load(&base, model_path, &err) != HF_OK) {
        fprintf(stderr, "match_bench: %s\n", err.msg);
        return 1;
    }
    printf("model %s (%s), link at p >= %g, review at p >= %g\n", model_path,
           fixed ? "fixed" : "u from random pairs, m and prior by EM per set", base.link_probability,
           base.review_probability);
    static const struct {
        char id;
        const char *name, *a, *b;
    } SETS[] = {{'1', "dataset1", "dataset1.csv", NULL},
                {'2', "dataset2", "dataset2.csv", NULL},
                {'3', "dataset3", "dataset3.csv", NULL},
                {'4', "dataset4", "dataset4a.csv", "dataset4b.csv"}};
    set_result res[4];
    size_t nres = 0;
    for (size_t s = 0; s < 4; s++) {
        if (!strchr(sets, SETS[s].id))
            continue;
        if (run_set(dir, SETS[s].name, SETS[s].a, SETS[s].b, &base, fixed, write_model, &res[nres]) != 0)
            return 1;
        print_row(stdout, &res[nres], 0);
        fflush(stdout);
        nres++;
    }
    if (markdown) {
        FILE *f = fopen(markdown, "w");
        if (!f) {
            fprintf(stderr, "match_bench: cannot write %s\n", markdown);
            return 1;
        }
        fprintf(f, "| set | records | true pairs | candidate pairs | blocking recall | precision | recall | F1 | "
                   "FP / FN | F1 at p>=0.5 | precision (review+) | recall (review+) | pairs/s |\n");
        fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < nres; i++)
            print_row(f, &res[i], 1);
        fclose(f);
    }
    return 0;
}
