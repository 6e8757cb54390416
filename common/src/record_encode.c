/* record_encode.c - hf_rec_encode: the direct Avro binary encoder.
 *
 * Walks the layout tables of record_desc.c over the record's structs and
 * writes the Avro binary encoding (Avro 1.11 specification, "Binary
 * Encoding"): int and long as zig-zag varints, strings and bytes as a long
 * length then the bytes, a union as the long branch index then the value,
 * double as 8 little-endian bytes, arrays and maps as one block (long
 * count, items, then a 0 count) or a single 0 when empty. The unit tests
 * and the fuzz target compare its output byte for byte with avro-c's
 * (avro_value_write).
 *
 * Three fast paths keep it near memory speed (bench/record): records made
 * only of nullable strings (Coded, Provider, Address...) are written as a
 * span array without the table walk; the Segment record has its own
 * writer; and a built segment's fields, which are pieces of one wire
 * buffer, are copied in one go with their length bytes patched in
 * (put_run). avro-c's generic values, for comparison, write about 11 times
 * fewer records per second.
 */
#include <stdlib.h>

#include "record_internal.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "record_encode.c writes doubles with memcpy: little-endian hosts only"
#endif

/* The output buffer while encoding; the write position travels as a
 * return value so it stays in a register. */
typedef struct enc {
    char *end;     /* end of the buffer's capacity */
    hf_rec_buf *b;
} enc;

/* Grows the buffer so @p need bytes fit at @p p; the new p, or NULL. */
static char *grow(enc *e, char *p, size_t need) {
    size_t len = (size_t)(p - e->b->p);
    size_t cap = e->b->cap;
    while (cap - len < need) {
        if (cap > SIZE_MAX / 2)
            return NULL;
        cap *= 2;
    }
    char *np = realloc(e->b->p, cap);
    if (np == NULL)
        return NULL;
    e->b->p = np;
    e->b->cap = cap;
    e->end = np + cap;
    return np + len;
}

/* Every function keeps the buffer end in a local `end`: a store through
 * the char pointer p may alias any memory, so e->end would be reloaded
 * after each byte written. */
#define ROOM(n)                                          \
    do {                                                 \
        if ((size_t)(end - p) < (size_t)(n)) {           \
            p = grow(e, p, (n));                         \
            if (p == NULL)                               \
                return NULL;                             \
            end = e->end;                                \
        }                                                \
    } while (0)

static inline char *varint(char *p, int64_t v) {
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (z >= 0x80) {
        *p++ = (char)(z | 0x80);
        z >>= 7;
    }
    *p++ = (char)z;
    return p;
}

/* Copies n bytes; short copies inline (HL7 values are mostly a few bytes). */
static inline char *copy(char *p, const char *s, size_t n) {
    if (n <= 16) {
        if (n >= 8) {
            uint64_t a, b;
            memcpy(&a, s, 8);
            memcpy(&b, s + n - 8, 8);
            memcpy(p, &a, 8);
            memcpy(p + n - 8, &b, 8);
        } else if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, s, 4);
            memcpy(&b, s + n - 4, 4);
            memcpy(p, &a, 4);
            memcpy(p + n - 4, &b, 4);
        } else if (n > 0) { /* 1 to 3 bytes: first, middle, last */
            p[0] = s[0];
            p[n / 2] = s[n / 2];
            p[n - 1] = s[n - 1];
        }
    } else {
        memcpy(p, s, n);
    }
    return p + n;
}

/* The fields of a segment as cut from the wire (@p wire: the bytes they
 * were cut from, each one byte after the previous, each shorter than 64
 * bytes) encode as: the first length byte, then the wire bytes with each
 * separator overwritten by the next field's length byte (a zig-zag varint
 * of a length below 64 is the single byte 2 * len). One copy and one byte
 * per field instead of a length and a copy per field. The copy is safe
 * whatever the fields say (wire is readable memory); the loop then checks
 * that the fields really are the wire's pieces. Returns false when they are
 * not; *pp then still points where the caller writes (the buffer may have
 * grown) and what was written past it is scrap. */
static bool put_run(enc *e, char **pp, hf_span wire, const hf_span *s, size_t n) {
    if (wire.len == 0 || s[0].p != wire.p || s[n - 1].p + s[n - 1].len != wire.p + wire.len ||
        s[0].len > 63)
        return false;
    /* a run that breaks may have patched bytes past the wire's end before
     * the break: each patch sits at most 64 bytes after the previous one,
     * so room for 64 * n bytes keeps every write inside the buffer */
    size_t need = (wire.len > 64 * n ? wire.len : 64 * n) + 1;
    char *p = *pp;
    if ((size_t)(e->end - p) < need) {
        if ((p = grow(e, p, need)) == NULL)
            return false;
        *pp = p;
    }
    p[0] = (char)(2 * s[0].len);
    memcpy(p + 1, wire.p, wire.len);
    const char *at = s[0].p + s[0].len; /* the separator before item i */
    for (size_t i = 1; i < n; i++) {
        if (s[i].p != at + 1 || s[i].len > 63)
            return false;
        p[1 + (at - wire.p)] = (char)(2 * s[i].len);
        at = s[i].p + s[i].len;
    }
    *pp = p + 1 + wire.len;
    return true;
}

/* A nullable string: 0 for null (empty), else branch 1 and the string. */
#define PUT_OSTR(sp)                                \
    do {                                            \
        size_t len_ = (sp).len;                     \
        ROOM(len_ + 11);                            \
        if (len_ == 0)                              \
            *p++ = 0;                               \
        else                                        \
            p = put_str1(p, (sp).p, len_);          \
    } while (0)

/* Branch 1 of ["null","string"] and a non-empty string (room checked). */
static inline char *put_str1(char *p, const char *s, size_t len) {
    if (len < 64) { /* the usual case: a one-byte length */
        p[0] = 2;
        p[1] = (char)(2 * len);
        return copy(p + 2, s, len);
    }
    *p++ = 2;
    p = varint(p, (int64_t)len);
    return copy(p, s, len);
}

/* The most a short nullable string (below 64 bytes) writes: branch, one
 * length byte, 63 bytes. */
#define SHORT_OSTR_MAX 65

/* A span array (a `spans` record) of @p n nullable strings. Room for a
 * short string per field still to come is kept at all times, so only a
 * long string (rare) checks: a null or a short string is written without
 * a check. */
static inline char *put_spans(enc *e, char *p, const hf_span *s, size_t n) {
    char *end = e->end;
    ROOM(n * SHORT_OSTR_MAX);
    for (size_t i = 0; i < n; i++) {
        size_t len = s[i].len;
        if (len == 0) {
            *p++ = 0;
            continue;
        }
        if (len >= 64)
            ROOM(len + 11 + (n - i) * SHORT_OSTR_MAX);
        p = put_str1(p, s[i].p, len);
    }
    return p;
}

/* Writes one record. Records of nullable strings only (Coded, Provider,
 * Address... flagged `spans`) are written inline as a span array, so the
 * only calls left are for the few structured records; field kinds are
 * dispatched in one switch, nullable strings first (two thirds of all
 * fields). */
static char *put_segment(enc *e, char *p, const hf_rec_segment *sg);

static char *put_record(enc *e, char *p, const hf_rdesc *d, const char *base, size_t nf) {
    char *end = e->end;
    if (d->spans)
        return put_spans(e, p, (const hf_span *)(const void *)base, nf);
    if (d == &hf_rdesc_segment) /* a dozen per message: no table walk */
        return put_segment(e, p, (const hf_rec_segment *)(const void *)base);
    for (const hf_rfield *f = d->fields, *fend = f + nf; f < fend; f++) {
        const char *v = base + f->off;
        if (f->kind == HF_RK_OSTR) {
            PUT_OSTR(*(const hf_span *)(const void *)v);
            continue;
        }
        switch (f->kind) {
        case HF_RK_OSTR:
        case HF_RK_OBYTES:
            PUT_OSTR(*(const hf_span *)(const void *)v);
            break;
        case HF_RK_STR: {
            const hf_span *s = (const hf_span *)(const void *)v;
            ROOM(s->len + 10);
            p = varint(p, (int64_t)s->len);
            p = copy(p, s->p, s->len);
            break;
        }
        case HF_RK_INT:
            ROOM(10);
            p = varint(p, *(const int32_t *)(const void *)v);
            break;
        case HF_RK_TS:
            ROOM(10);
            p = varint(p, *(const int64_t *)(const void *)v);
            break;
        case HF_RK_OINT:
        case HF_RK_ODATE: {
            const hf_opt_i32 *o = (const hf_opt_i32 *)(const void *)v;
            ROOM(11);
            *p++ = o->set ? 2 : 0;
            if (o->set)
                p = varint(p, o->v);
            break;
        }
        case HF_RK_OTS: {
            const hf_opt_i64 *o = (const hf_opt_i64 *)(const void *)v;
            ROOM(11);
            *p++ = o->set ? 2 : 0;
            if (o->set)
                p = varint(p, o->v);
            break;
        }
        case HF_RK_ODBL: {
            const hf_opt_f64 *o = (const hf_opt_f64 *)(const void *)v;
            ROOM(9);
            *p++ = o->set ? 2 : 0;
            if (o->set) {
                memcpy(p, &o->v, 8);
                p += 8;
            }
            break;
        }
        case HF_RK_OBOOL: {
            const hf_opt_bool *o = (const hf_opt_bool *)(const void *)v;
            ROOM(2);
            *p++ = o->set ? 2 : 0;
            if (o->set)
                *p++ = o->v ? 1 : 0;
            break;
        }
        case HF_RK_REC:
            if ((p = put_record(e, p, f->sub, v, f->sub->nfields)) == NULL)
                return NULL;
            end = e->end;
            break;
        case HF_RK_OREC: {
            const char *sub = hf_rptr_get(base, f->off);
            ROOM(1);
            if (sub == NULL) {
                *p++ = 0;
                break;
            }
            *p++ = 2;
            if (f->sub->spans) {
                if ((p = put_spans(e, p, (const hf_span *)(const void *)sub, f->sub->nfields)) ==
                    NULL)
                    return NULL;
                end = e->end;
                break;
            }
            if ((p = put_record(e, p, f->sub, sub, f->sub->nfields)) == NULL)
                return NULL;
            end = e->end;
            break;
        }
        case HF_RK_ARR: {
            hf_rarr a = hf_rarr_get(base, f->off);
            ROOM(11);
            if (a.n > 0) {
                p = varint(p, (int64_t)a.n);
                for (size_t i = 0; i < a.n; i++) {
                    const char *item = (const char *)a.v + i * f->sub->size;
                    if (f->sub->spans) {
                        p = put_spans(e, p, (const hf_span *)(const void *)item, f->sub->nfields);
                        if (p == NULL)
                            return NULL;
                        end = e->end;
                        continue;
                    }
                    if ((p = put_record(e, p, f->sub, item, f->sub->nfields)) == NULL)
                        return NULL;
                    end = e->end;
                }
                ROOM(1);
            }
            *p++ = 0;
            break;
        }
        case HF_RK_ARR_STR: {
            hf_rarr a = hf_rarr_get(base, f->off);
            const hf_span *s = a.v;
            ROOM(11);
            if (a.n > 0) {
                p = varint(p, (int64_t)a.n);
                for (size_t i = 0; i < a.n; i++) {
                    ROOM(s[i].len + 10);
                    p = varint(p, (int64_t)s[i].len);
                    p = copy(p, s[i].p, s[i].len);
                }
                ROOM(1);
            }
            *p++ = 0;
            break;
        }
        case HF_RK_MAP_STR: {
            hf_rarr a = hf_rarr_get(base, f->off);
            const hf_rec_kv *kv = a.v;
            ROOM(11);
            if (a.n > 0) {
                p = varint(p, (int64_t)a.n);
                for (size_t i = 0; i < a.n; i++) {
                    ROOM(kv[i].key.len + kv[i].value.len + 20);
                    p = varint(p, (int64_t)kv[i].key.len);
                    p = copy(p, kv[i].key.p, kv[i].key.len);
                    p = varint(p, (int64_t)kv[i].value.len);
                    p = copy(p, kv[i].value.p, kv[i].value.len);
                }
                ROOM(1);
            }
            *p++ = 0;
            break;
        }
        }
    }
    return p;
}

/* The Segment record {id, occurrence, fields} (record_desc.c; the tests
 * compare every byte with avro-c, so a change of that layout that is not
 * made here too fails them). */
static char *put_segment(enc *e, char *p, const hf_rec_segment *sg) {
    char *end = e->end;
    const hf_span *s = sg->fields.v;
    size_t n = sg->fields.n;
    ROOM(sg->id.len + 32);
    p = varint(p, (int64_t)sg->id.len);
    p = copy(p, sg->id.p, sg->id.len);
    p = varint(p, sg->occurrence);
    if (n > 0) {
        p = varint(p, (int64_t)n);
        bool run = n > 1 && put_run(e, &p, sg->wire, s, n);
        end = e->end;
        if (!run)
            for (size_t i = 0; i < n; i++) {
                ROOM(s[i].len + 10);
                p = varint(p, (int64_t)s[i].len);
                p = copy(p, s[i].p, s[i].len);
            }
        ROOM(1);
    }
    *p++ = 0;
    return p;
}

/* Makes room for @p need more bytes (pointer-free, so a NULL buffer works). */
static bool reserve(hf_rec_buf *b, size_t need) {
    if (b->p != NULL && b->cap - b->len >= need)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < need) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    char *np = realloc(b->p, cap);
    if (np == NULL)
        return false;
    b->p = np;
    b->cap = cap;
    return true;
}

/* Writes the top-level fields of a decoded record: those marked kept are
 * copied from the Avro they were decoded from (runs of them in one copy),
 * the others encoded (see hf_rec_source in record.h). */
static char *put_top_reusing(enc *e, char *p, const hf_rec *rec, size_t nf) {
    const hf_rec_source *src = &rec->source;
    size_t i = 0;
    while (i < nf) {
        if (i < src->n && (src->keep >> i & 1)) {
            size_t j = i;
            while (j < nf && j < src->n && (src->keep >> j & 1))
                j++;
            size_t n = src->off[j] - src->off[i];
            if ((size_t)(e->end - p) < n && (p = grow(e, p, n)) == NULL)
                return NULL;
            memcpy(p, src->avro + src->off[i], n);
            p += n;
            i = j;
            continue;
        }
        hf_rdesc one = hf_rdesc_rec;
        one.fields = &hf_rdesc_rec.fields[i];
        one.nfields = 1;
        if ((p = put_record(e, p, &one, (const char *)rec, 1)) == NULL)
            return NULL;
        i++;
    }
    return p;
}

hf_status hf_rec_encode(const hf_rec *rec, hf_rec_form form, hf_rec_buf *out) {
    size_t start = out->len;
    /* one reservation covers most records: raw + lossless copy + typed */
    if (!reserve(out, 3 * rec->raw.len + 1024))
        return HF_ENOMEM;
    enc e = {out->p + out->cap, out};
    char *p = rec->source.avro != NULL && rec->source.keep != 0
                  ? put_top_reusing(&e, out->p + out->len, rec, hf_rec_nfields(form))
                  : put_record(&e, out->p + out->len, &hf_rdesc_rec, (const char *)rec,
                               hf_rec_nfields(form));
    if (p == NULL) {
        out->len = start;
        return HF_ENOMEM;
    }
    out->len = (size_t)(p - out->p);
    return HF_OK;
}
