/* record_json.c - hf_rec_to_json: a record as plain JSON for people and
 * tools (`hl7flow parse --json`), walking the same layout tables as the
 * encoder.
 *
 * Shape: one object per record with every field of the schema in schema
 * order; null for null; unions are not wrapped (unlike Avro's JSON
 * encoding); timestamp-micros as an RFC 3339 UTC string with microseconds,
 * date as YYYY-MM-DD; bytes (raw) as a string in which each byte is one
 * code point U+0000-U+00FF, the convention of Avro's JSON encoding.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "record_internal.h"

typedef struct jw {
    hf_rec_buf *b;
    bool oom;
    bool pretty;
    int depth;
} jw;

static void put(jw *w, const char *s, size_t n) {
    hf_rec_buf *b = w->b;
    if (w->oom)
        return;
    if (b->p == NULL || b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            w->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(jw *w, const char *s) {
    put(w, s, strlen(s));
}

static void newline(jw *w) {
    if (!w->pretty)
        return;
    put(w, "\n", 1);
    for (int i = 0; i < w->depth; i++)
        put(w, "  ", 2);
}

/* JSON string; @p bytes: each byte is a code point (Avro bytes convention). */
static void str(jw *w, hf_span s, bool bytes) {
    static const char hex[] = "0123456789abcdef";
    put(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        const char *esc = NULL;
        char u[6];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
            u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
            u[4] = hex[c >> 4]; u[5] = hex[c & 15];
        } else {
            continue; /* part of the plain run */
        }
        put(w, s.p + run, i - run);
        if (esc != NULL)
            puts_(w, esc);
        else
            put(w, u, 6);
        run = i + 1;
    }
    put(w, s.p + run, s.len - run);
    put(w, "\"", 1);
}

static void num(jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void num(jw *w, const char *fmt, ...) {
    char t[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t, sizeof t, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(w, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
}

/* Civil date of a day count since 1970-01-01 (inverse of
 * hf_rec_days_from_civil, by search over years then months). */
static void civil(int64_t days, int *y, int *m, int *d) {
    int year = 1970 + (int)(days / 366);
    if (days < 0)
        year = 1970 + (int)(days / 365) - 1;
    while (hf_rec_days_from_civil(year + 1, 1, 1) <= days)
        year++;
    while (hf_rec_days_from_civil(year, 1, 1) > days)
        year--;
    int month = 1;
    while (month < 12 && hf_rec_days_from_civil(year, month + 1, 1) <= days)
        month++;
    *y = year;
    *m = month;
    *d = (int)(days - hf_rec_days_from_civil(year, month, 1)) + 1;
}

static void timestamp(jw *w, int64_t us) {
    int64_t days = us / 86400000000LL, rem = us % 86400000000LL;
    if (rem < 0) {
        rem += 86400000000LL;
        days--;
    }
    int y, m, d;
    civil(days, &y, &m, &d);
    int64_t s = rem / 1000000;
    num(w, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ\"", y, m, d, (int)(s / 3600),
        (int)(s / 60 % 60), (int)(s % 60), (int)(rem % 1000000));
}

static void record(jw *w, const hf_rdesc *d, const char *base, size_t nf);

static void value(jw *w, const hf_rfield *f, const char *base) {
    const char *p = base + f->off;
    switch (f->kind) {
    case HF_RK_STR:
        str(w, *(const hf_span *)p, false);
        return;
    case HF_RK_OSTR:
    case HF_RK_OBYTES: {
        hf_span s = *(const hf_span *)p;
        if (s.len == 0)
            puts_(w, "null");
        else
            str(w, s, f->kind == HF_RK_OBYTES);
        return;
    }
    case HF_RK_INT:
        num(w, "%" PRId32, *(const int32_t *)p);
        return;
    case HF_RK_TS:
        timestamp(w, *(const int64_t *)p);
        return;
    case HF_RK_OINT: {
        const hf_opt_i32 *o = (const hf_opt_i32 *)p;
        if (o->set)
            num(w, "%" PRId32, o->v);
        else
            puts_(w, "null");
        return;
    }
    case HF_RK_ODATE: {
        const hf_opt_i32 *o = (const hf_opt_i32 *)p;
        int y, m, d;
        if (!o->set) {
            puts_(w, "null");
            return;
        }
        civil(o->v, &y, &m, &d);
        num(w, "\"%04d-%02d-%02d\"", y, m, d);
        return;
    }
    case HF_RK_OTS: {
        const hf_opt_i64 *o = (const hf_opt_i64 *)p;
        if (o->set)
            timestamp(w, o->v);
        else
            puts_(w, "null");
        return;
    }
    case HF_RK_ODBL: {
        const hf_opt_f64 *o = (const hf_opt_f64 *)p;
        if (o->set && o->v - o->v == 0)
            num(w, "%.17g", o->v);
        else
            puts_(w, "null");
        return;
    }
    case HF_RK_OBOOL: {
        const hf_opt_bool *o = (const hf_opt_bool *)p;
        puts_(w, !o->set ? "null" : o->v ? "true" : "false");
        return;
    }
    case HF_RK_REC:
        record(w, f->sub, p, f->sub->nfields);
        return;
    case HF_RK_OREC: {
        const char *sub = hf_rptr_get(base, f->off);
        if (sub == NULL)
            puts_(w, "null");
        else
            record(w, f->sub, sub, f->sub->nfields);
        return;
    }
    case HF_RK_ARR:
    case HF_RK_ARR_STR:
    case HF_RK_MAP_STR: {
        hf_rarr a = hf_rarr_get(base, f->off);
        bool map = f->kind == HF_RK_MAP_STR;
        if (a.n == 0) {
            puts_(w, map ? "{}" : "[]");
            return;
        }
        puts_(w, map ? "{" : "[");
        w->depth++;
        for (size_t i = 0; i < a.n; i++) {
            if (i > 0)
                put(w, ",", 1);
            newline(w);
            if (f->kind == HF_RK_ARR) {
                record(w, f->sub, (const char *)a.v + i * f->sub->size, f->sub->nfields);
            } else if (f->kind == HF_RK_ARR_STR) {
                str(w, ((const hf_span *)a.v)[i], false);
            } else {
                const hf_rec_kv *kv = (const hf_rec_kv *)a.v + i;
                str(w, kv->key, false);
                put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
                str(w, kv->value, false);
            }
        }
        w->depth--;
        newline(w);
        puts_(w, map ? "}" : "]");
        return;
    }
    }
}

static void record(jw *w, const hf_rdesc *d, const char *base, size_t nf) {
    put(w, "{", 1);
    w->depth++;
    for (size_t i = 0; i < nf; i++) {
        if (i > 0)
            put(w, ",", 1);
        newline(w);
        str(w, (hf_span){d->fields[i].name, strlen(d->fields[i].name)}, false);
        put(w, w->pretty ? ": " : ":", w->pretty ? 2 : 1);
        value(w, &d->fields[i], base);
    }
    w->depth--;
    newline(w);
    put(w, "}", 1);
}

hf_status hf_rec_to_json(const hf_rec *rec, hf_rec_form form, bool pretty, hf_rec_buf *out) {
    size_t start = out->len;
    jw w = {out, false, pretty, 0};
    record(&w, &hf_rdesc_rec, (const char *)rec, hf_rec_nfields(form));
    if (w.oom) {
        out->len = start;
        return HF_ENOMEM;
    }
    return HF_OK;
}
