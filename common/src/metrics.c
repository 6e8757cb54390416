/* metrics.c - the process-wide Prometheus registry behind metrics.h.
 *
 * Layout: the registry is a list of families (one per metric name, in first
 * registration order), each holding its series (one per canonical label set,
 * in registration order), plus a chained hash table from name+labels to the
 * series so that looking a handle up on every use stays cheap.
 *
 * Concurrency: registration, reset and rendering take one mutex; updates
 * never do. Counters are atomic uint64; gauges and histogram sums are doubles
 * stored bit-for-bit in atomic uint64 (a CAS loop adds to the sum); histogram
 * buckets hold per-bucket (non-cumulative) atomic counts that rendering
 * accumulates. A render running alongside updates sees each value at some
 * moment, not one global instant: `_sum` may lag `_count` by an observation
 * in flight, but the `+Inf` bucket and `_count` are always printed from the
 * same snapshot so they agree.
 *
 * Canonical labels: the caller's `k="v",...` string is parsed, label names
 * validated, values decoded (\\ \" \n) and re-encoded, and the pairs sorted
 * by name. So `b="2", a="1"` and `a="1",b="2"` are the same series, and what
 * we print is always valid exposition text.
 */
#include "hl7flow/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2,
               "metric updates rely on lock-free 64-bit atomics");

#define MAX_LABEL_PAIRS 16    /* per series */
#define MAX_LABELS_LEN 1024   /* bytes of the caller's label string */
#define MAX_BOUNDS 64         /* histogram buckets, +Inf excluded */

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;

static const char *const KIND_NAMES[] = {"counter", "gauge", "histogram"};

typedef struct family family;

/* Common head of every series; the typed handles embed it first. */
typedef struct series {
    family *fam;          /* owning family (name, help, kind) */
    char *labels;         /* canonical `k="v",...`, "" for none; owned */
    uint64_t hash;        /* of name + labels */
    struct series *hnext; /* hash chain */
} series;

struct hf_counter {
    series s;
    _Atomic uint64_t v;
};

struct hf_gauge {
    series s;
    _Atomic uint64_t bits; /* a double, bit-cast */
};

struct hf_histogram {
    series s;
    size_t nbounds;           /* finite upper bounds; bucket nbounds is +Inf */
    double *bounds;           /* ascending; owned */
    _Atomic uint64_t *counts; /* nbounds + 1 per-bucket counts; owned */
    _Atomic uint64_t sum_bits;
    _Atomic uint64_t count;
};

struct family {
    char *name; /* owned */
    char *help; /* owned, unescaped; "" when none was given */
    metric_kind kind;
    series **series; /* owned array of owned series, registration order */
    size_t nseries, cap;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static family **g_fams; /* registration order */
static size_t g_nfams, g_fams_cap;
static series **g_buckets; /* hash table, g_nbuckets is a power of two */
static size_t g_nbuckets, g_nseries;

static const double DEFAULT_BOUNDS[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                        0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                        0.5,     1,      2.5,     5,      10};

/* ---- small helpers ------------------------------------------------------ */

static uint64_t dbl_to_bits(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bits_to_dbl(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t key_hash(const char *name, const char *labels) {
    uint64_t h = fnv1a(0xcbf29ce484222325ULL, name, strlen(name));
    h = fnv1a(h, "\0", 1);
    return fnv1a(h, labels, strlen(labels));
}

static bool is_name_start(char c, bool colon_ok) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
}

static bool is_name_char(char c, bool colon_ok) {
    return is_name_start(c, colon_ok) || (c >= '0' && c <= '9');
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static bool metric_name_ok(const char *name) {
    if (name == NULL || !is_name_start(name[0], true))
        return false;
    for (const char *p = name + 1; *p != '\0'; p++)
        if (!is_name_char(*p, true))
            return false;
    return true;
}

/* ---- canonical label strings -------------------------------------------- */

typedef struct label_pair {
    const char *name; /* into the caller's string, not NUL-terminated */
    size_t name_len;
    const char *val; /* decoded, into a scratch buffer */
    size_t val_len;
} label_pair;

static int pair_cmp(const void *a, const void *b) {
    const label_pair *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c != 0)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

typedef enum { CANON_OK, CANON_INVALID, CANON_NOMEM } canon_result;

/* Parses @p in (`k="v",...`, NULL/"" for none) into a malloc'd canonical
 * string in *out. Rejects bad or `__`-reserved label names, duplicates, an
 * `le` label on histograms, unterminated values and trailing garbage. Inside
 * a value, \\ \" and \n are escapes; any other backslash is taken literally;
 * a raw newline is kept and re-encoded as \n. */
static canon_result canon_labels(const char *in, bool histogram, char **out) {
    label_pair pairs[MAX_LABEL_PAIRS];
    size_t npairs = 0;
    char *scratch = NULL, *res = NULL;
    canon_result rc = CANON_INVALID;

    *out = NULL;
    if (in == NULL)
        in = "";
    size_t in_len = strlen(in);
    if (in_len > MAX_LABELS_LEN)
        return CANON_INVALID;
    scratch = malloc(in_len + 1);
    if (scratch == NULL)
        return CANON_NOMEM;
    char *sp = scratch;

    const char *p = skip_ws(in);
    while (*p != '\0') {
        if (npairs == MAX_LABEL_PAIRS)
            goto out;
        label_pair *lp = &pairs[npairs];
        if (!is_name_start(*p, false))
            goto out;
        lp->name = p;
        while (is_name_char(*p, false))
            p++;
        lp->name_len = (size_t)(p - lp->name);
        if (lp->name_len >= 2 && lp->name[0] == '_' && lp->name[1] == '_')
            goto out; /* reserved for Prometheus itself */
        if (histogram && lp->name_len == 2 && memcmp(lp->name, "le", 2) == 0)
            goto out; /* we add le ourselves */
        p = skip_ws(p);
        if (*p++ != '=')
            goto out;
        p = skip_ws(p);
        if (*p++ != '"')
            goto out;
        lp->val = sp;
        while (*p != '"') {
            if (*p == '\0')
                goto out;
            if (*p == '\\' && (p[1] == '\\' || p[1] == '"' || p[1] == 'n')) {
                *sp++ = p[1] == 'n' ? '\n' : p[1];
                p += 2;
            } else {
                *sp++ = *p++;
            }
        }
        lp->val_len = (size_t)(sp - lp->val);
        p = skip_ws(p + 1);
        npairs++;
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p != '\0')
            goto out;
    }

    qsort(pairs, npairs, sizeof pairs[0], pair_cmp);
    for (size_t i = 1; i < npairs; i++)
        if (pair_cmp(&pairs[i - 1], &pairs[i]) == 0)
            goto out; /* duplicate label name */

    /* Each value byte encodes to at most 2; names, `=""` and `,` add 4. */
    res = malloc(2 * in_len + 4 * npairs + 1);
    if (res == NULL) {
        rc = CANON_NOMEM;
        goto out;
    }
    char *w = res;
    for (size_t i = 0; i < npairs; i++) {
        if (i > 0)
            *w++ = ',';
        memcpy(w, pairs[i].name, pairs[i].name_len);
        w += pairs[i].name_len;
        *w++ = '=';
        *w++ = '"';
        for (size_t j = 0; j < pairs[i].val_len; j++) {
            char c = pairs[i].val[j];
            if (c == '\\' || c == '"') {
                *w++ = '\\';
                *w++ = c;
            } else if (c == '\n') {
                *w++ = '\\';
                *w++ = 'n';
            } else {
                *w++ = c;
            }
        }
        *w++ = '"';
    }
    *w = '\0';
    *out = res;
    res = NULL;
    rc = CANON_OK;
out:
    free(res);
    free(scratch);
    return rc;
}

/* ---- registry (all called with g_lock held) ----------------------------- */

static series *table_find(const char *name, const char *labels, uint64_t h) {
    if (g_nbuckets == 0)
        return NULL;
    for (series *s = g_buckets[h & (g_nbuckets - 1)]; s != NULL; s = s->hnext)
        if (s->hash == h && strcmp(s->fam->name, name) == 0 && strcmp(s->labels, labels) == 0)
            return s;
    return NULL;
}

static bool table_insert(series *s) {
    if (g_nseries + 1 > g_nbuckets) {
        size_t n = g_nbuckets == 0 ? 64 : g_nbuckets * 2;
        series **nb = calloc(n, sizeof *nb);
        if (nb == NULL)
            return false;
        for (size_t i = 0; i < g_nbuckets; i++) {
            series *cur = g_buckets[i];
            while (cur != NULL) {
                series *next = cur->hnext;
                cur->hnext = nb[cur->hash & (n - 1)];
                nb[cur->hash & (n - 1)] = cur;
                cur = next;
            }
        }
        free(g_buckets);
        g_buckets = nb;
        g_nbuckets = n;
    }
    series **slot = &g_buckets[s->hash & (g_nbuckets - 1)];
    s->hnext = *slot;
    *slot = s;
    g_nseries++;
    return true;
}

static family *family_find(const char *name) {
    for (size_t i = 0; i < g_nfams; i++)
        if (strcmp(g_fams[i]->name, name) == 0)
            return g_fams[i];
    return NULL;
}

/* True when @p a is @p base followed by one of the histogram suffixes. */
static bool is_hist_child(const char *a, const char *base) {
    static const char *const SUFFIXES[] = {"_bucket", "_sum", "_count"};
    size_t n = strlen(base);
    if (strncmp(a, base, n) != 0)
        return false;
    for (size_t i = 0; i < 3; i++)
        if (strcmp(a + n, SUFFIXES[i]) == 0)
            return true;
    return false;
}

/* A new family named @p name of @p kind must not print lines that another
 * family's lines could be mistaken for (histogram x vs counter x_count). */
static bool family_name_clashes(const char *name, metric_kind kind) {
    for (size_t i = 0; i < g_nfams; i++) {
        const family *f = g_fams[i];
        if (f->kind == KIND_HISTOGRAM && is_hist_child(name, f->name))
            return true;
        if (kind == KIND_HISTOGRAM && is_hist_child(f->name, name))
            return true;
    }
    return false;
}

static void family_free(family *f) {
    if (f == NULL)
        return;
    free(f->series);
    free(f->name);
    free(f->help);
    free(f);
}

static family *family_new(const char *name, const char *help, metric_kind kind) {
    if (g_nfams == g_fams_cap) {
        size_t n = g_fams_cap == 0 ? 16 : g_fams_cap * 2;
        family **nf = realloc(g_fams, n * sizeof *nf);
        if (nf == NULL)
            return NULL;
        g_fams = nf;
        g_fams_cap = n;
    }
    family *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->kind = kind;
    f->name = strdup(name);
    f->help = strdup(help != NULL ? help : "");
    if (f->name == NULL || f->help == NULL) {
        family_free(f);
        return NULL;
    }
    g_fams[g_nfams++] = f;
    return f;
}

static bool family_append(family *f, series *s) {
    if (f->nseries == f->cap) {
        size_t n = f->cap == 0 ? 4 : f->cap * 2;
        series **ns = realloc(f->series, n * sizeof *ns);
        if (ns == NULL)
            return false;
        f->series = ns;
        f->cap = n;
    }
    f->series[f->nseries++] = s;
    return true;
}

static void series_free(series *s) {
    if (s == NULL)
        return;
    if (s->fam->kind == KIND_HISTOGRAM) {
        hf_histogram *h = (hf_histogram *)s;
        free(h->bounds);
        free((void *)h->counts);
    }
    free(s->labels);
    free(s);
}

/* Allocates the kind-specific series; labels still NULL. */
static series *series_alloc(metric_kind kind, const double *bounds, size_t nbounds) {
    if (kind == KIND_COUNTER) {
        hf_counter *c = calloc(1, sizeof *c);
        if (c == NULL)
            return NULL;
        atomic_init(&c->v, 0);
        return &c->s;
    }
    if (kind == KIND_GAUGE) {
        hf_gauge *g = calloc(1, sizeof *g);
        if (g == NULL)
            return NULL;
        atomic_init(&g->bits, dbl_to_bits(0.0));
        return &g->s;
    }
    hf_histogram *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->nbounds = nbounds;
    h->bounds = malloc((nbounds > 0 ? nbounds : 1) * sizeof *h->bounds);
    h->counts = malloc((nbounds + 1) * sizeof *h->counts);
    if (h->bounds == NULL || h->counts == NULL) {
        free(h->bounds);
        free((void *)h->counts);
        free(h);
        return NULL;
    }
    memcpy(h->bounds, bounds, nbounds * sizeof *bounds);
    for (size_t i = 0; i <= nbounds; i++)
        atomic_init(&h->counts[i], 0);
    atomic_init(&h->sum_bits, dbl_to_bits(0.0));
    atomic_init(&h->count, 0);
    return &h->s;
}

/* Finds or creates name{labels} of @p kind. NULL on a bad name or labels, a
 * kind conflict, or allocation failure. */
static series *lookup(const char *name, const char *help, const char *labels, metric_kind kind,
                      const double *bounds, size_t nbounds) {
    char *canon = NULL;
    series *s = NULL;
    bool fam_created = false;

    if (!metric_name_ok(name))
        return NULL;
    if (canon_labels(labels, kind == KIND_HISTOGRAM, &canon) != CANON_OK)
        return NULL;
    uint64_t h = key_hash(name, canon);

    pthread_mutex_lock(&g_lock);
    s = table_find(name, canon, h);
    if (s != NULL) {
        if (s->fam->kind != kind)
            s = NULL;
        goto out;
    }
    family *f = family_find(name);
    if (f != NULL && f->kind != kind)
        goto out;
    if (f == NULL) {
        if (family_name_clashes(name, kind))
            goto out;
        f = family_new(name, help, kind);
        if (f == NULL)
            goto out;
        fam_created = true;
    }
    s = series_alloc(kind, bounds, nbounds);
    if (s == NULL)
        goto undo;
    s->fam = f;
    s->hash = h;
    s->labels = canon;
    canon = NULL;
    if (!family_append(f, s))
        goto undo;
    if (!table_insert(s)) {
        f->nseries--;
        goto undo;
    }
    goto out;
undo:
    series_free(s);
    s = NULL;
    if (fam_created) {
        g_nfams--;
        family_free(f);
    }
out:
    pthread_mutex_unlock(&g_lock);
    free(canon);
    return s;
}

/* ---- public API ----------------------------------------------------------- */

hf_counter *hf_metrics_counter(const char *name, const char *help, const char *labels) {
    return (hf_counter *)lookup(name, help, labels, KIND_COUNTER, NULL, 0);
}

void hf_counter_add(hf_counter *c, uint64_t n) {
    if (c == NULL)
        return;
    atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

uint64_t hf_counter_value(const hf_counter *c) {
    if (c == NULL)
        return 0;
    return atomic_load_explicit(&((hf_counter *)c)->v, memory_order_relaxed);
}

hf_gauge *hf_metrics_gauge(const char *name, const char *help, const char *labels) {
    return (hf_gauge *)lookup(name, help, labels, KIND_GAUGE, NULL, 0);
}

void hf_gauge_set(hf_gauge *g, double v) {
    if (g == NULL)
        return;
    atomic_store_explicit(&g->bits, dbl_to_bits(v), memory_order_relaxed);
}

double hf_gauge_value(const hf_gauge *g) {
    if (g == NULL)
        return 0.0;
    return bits_to_dbl(atomic_load_explicit(&((hf_gauge *)g)->bits, memory_order_relaxed));
}

hf_histogram *hf_metrics_histogram(const char *name, const char *help, const char *labels,
                                   const double *bounds, size_t nbounds) {
    if (bounds == NULL || nbounds == 0) {
        bounds = DEFAULT_BOUNDS;
        nbounds = sizeof DEFAULT_BOUNDS / sizeof DEFAULT_BOUNDS[0];
    }
    /* An explicit +Inf last bound is the implicit one: drop it. */
    if (isinf(bounds[nbounds - 1]) && bounds[nbounds - 1] > 0)
        nbounds--;
    if (nbounds > MAX_BOUNDS)
        return NULL;
    for (size_t i = 0; i < nbounds; i++) {
        if (!isfinite(bounds[i]))
            return NULL;
        if (i > 0 && !(bounds[i] > bounds[i - 1]))
            return NULL;
    }
    return (hf_histogram *)lookup(name, help, labels, KIND_HISTOGRAM, bounds, nbounds);
}

void hf_histogram_observe(hf_histogram *h, double v) {
    if (h == NULL)
        return;
    /* First bucket whose upper bound is >= v; NaN compares false throughout
     * and lands in +Inf (it also turns _sum into NaN, as in other clients). */
    size_t lo = 0, hi = h->nbounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= h->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&h->counts[lo], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old,
                                                  dbl_to_bits(bits_to_dbl(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

uint64_t hf_histogram_count(const hf_histogram *h) {
    if (h == NULL)
        return 0;
    return atomic_load_explicit(&((hf_histogram *)h)->count, memory_order_relaxed);
}

/* ---- rendering ------------------------------------------------------------ */

typedef struct out_buf {
    char *p;
    size_t len, cap;
    bool oom;
} out_buf;

static void put_fmt(out_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(out_buf *b, const char *fmt, ...) {
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2;
        while (ncap - b->len <= (size_t)n)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (np == NULL) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/* Shortest of %.15g..%.17g that reads back as @p v, so 0.005 prints as
 * "0.005", not "0.0050000000000000001"; +Inf, -Inf and NaN as Prometheus
 * spells them. Assumes the C locale for the decimal point. */
static void fmt_double(char buf[40], double v) {
    if (isnan(v)) {
        strcpy(buf, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(buf, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* HELP text escapes backslash and line feed only. */
static void put_help(out_buf *b, const family *f) {
    if (f->help[0] == '\0')
        return;
    put_fmt(b, "# HELP %s ", f->name);
    for (const char *p = f->help; *p != '\0';) {
        size_t run = strcspn(p, "\\\n");
        put_fmt(b, "%.*s", (int)run, p);
        p += run;
        if (*p == '\\')
            put_fmt(b, "\\\\");
        else if (*p == '\n')
            put_fmt(b, "\\n");
        if (*p != '\0')
            p++;
    }
    put_fmt(b, "\n");
}

/* name{labels} or name{labels,le="x"}; braces only when there is a label. */
static void put_series_name(out_buf *b, const char *name, const char *suffix, const char *labels,
                            const char *le) {
    put_fmt(b, "%s%s", name, suffix);
    if (labels[0] == '\0' && le == NULL)
        return;
    put_fmt(b, "{%s", labels);
    if (le != NULL)
        put_fmt(b, "%sle=\"%s\"", labels[0] != '\0' ? "," : "", le);
    put_fmt(b, "}");
}

static void put_histogram(out_buf *b, const family *f, hf_histogram *h) {
    char num[40];
    uint64_t cum = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        cum += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        if (i < h->nbounds)
            fmt_double(num, h->bounds[i]);
        else
            strcpy(num, "+Inf");
        put_series_name(b, f->name, "_bucket", h->s.labels, num);
        put_fmt(b, " %" PRIu64 "\n", cum);
    }
    fmt_double(num, bits_to_dbl(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)));
    put_series_name(b, f->name, "_sum", h->s.labels, NULL);
    put_fmt(b, " %s\n", num);
    put_series_name(b, f->name, "_count", h->s.labels, NULL);
    put_fmt(b, " %" PRIu64 "\n", cum);
}

char *hf_metrics_render(void) {
    out_buf b = {.p = malloc(4096), .len = 0, .cap = 4096, .oom = false};
    if (b.p == NULL)
        return NULL;
    b.p[0] = '\0';
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_nfams; i++) {
        const family *f = g_fams[i];
        put_help(&b, f);
        put_fmt(&b, "# TYPE %s %s\n", f->name, KIND_NAMES[f->kind]);
        for (size_t j = 0; j < f->nseries; j++) {
            series *s = f->series[j];
            char num[40];
            switch (f->kind) {
            case KIND_COUNTER:
                put_series_name(&b, f->name, "", s->labels, NULL);
                put_fmt(&b, " %" PRIu64 "\n", hf_counter_value((hf_counter *)s));
                break;
            case KIND_GAUGE:
                fmt_double(num, hf_gauge_value((hf_gauge *)s));
                put_series_name(&b, f->name, "", s->labels, NULL);
                put_fmt(&b, " %s\n", num);
                break;
            case KIND_HISTOGRAM:
                put_histogram(&b, f, (hf_histogram *)s);
                break;
            }
        }
    }
    pthread_mutex_unlock(&g_lock);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

void hf_metrics_reset(void) {
    pthread_mutex_lock(&g_lock);
    for (size_t i = 0; i < g_nfams; i++) {
        family *f = g_fams[i];
        for (size_t j = 0; j < f->nseries; j++)
            series_free(f->series[j]);
        family_free(f);
    }
    free(g_fams);
    free(g_buckets);
    g_fams = NULL;
    g_nfams = g_fams_cap = 0;
    g_buckets = NULL;
    g_nbuckets = g_nseries = 0;
    pthread_mutex_unlock(&g_lock);
}
