/* record_decode.c - hf_rec_decode: Avro binary -> record, zero-copy.
 *
 * The mirror of record_encode.c over the same layout tables, for stages
 * that read hl7.validated / hl7.enriched records written by this build's
 * schema (the caller checks the writer's schema id). Strings and bytes
 * point into the input; arrays and nested records go to the context's
 * arena. Everything the Avro specification allows for these types is
 * accepted: arrays and maps in several blocks, negative block counts with
 * a byte size. Input is untrusted: every read is bounds-checked and every
 * count is checked against the bytes left before anything is allocated.
 */
#include "record_internal.h"

typedef hf_dec dec; /* record_internal.h */

static bool fail(dec *d, hf_status st, const char *what) {
    if (d->st == HF_OK) {
        d->st = st;
        if (st == HF_ENOMEM)
            hf_err_set(d->err, st, "record decode: out of memory");
        else
            hf_err_set(d->err, st, "record decode: %s at byte %zu", what,
                       (size_t)(d->p - d->start));
    }
    return false;
}

/* Any varint (the general case: several bytes, checked for overflow). */
static __attribute__((noinline)) bool get_long_slow(dec *d, int64_t *out) {
    uint64_t z = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (d->p >= d->end)
            return fail(d, HF_ESYNTAX, "truncated varint");
        unsigned b = *d->p++;
        if (shift == 63 && (b & 0x7E) != 0)
            return fail(d, HF_ESYNTAX, "varint overflow");
        z |= (uint64_t)(b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
            *out = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return true;
        }
    }
    return fail(d, HF_ESYNTAX, "varint too long");
}

/* Most varints of a record are one byte (union branches, short lengths,
 * array ends): that case inline, the rest in get_long_slow. */
static inline bool get_long(dec *d, int64_t *out) {
    if (d->p < d->end && *d->p < 0x80) {
        unsigned b = *d->p++;
        *out = (int64_t)(b >> 1) ^ -(int64_t)(b & 1);
        return true;
    }
    return get_long_slow(d, out);
}

static inline bool get_int(dec *d, int32_t *out) {
    int64_t v;
    if (!get_long(d, &v))
        return false;
    if (v < INT32_MIN || v > INT32_MAX)
        return fail(d, HF_ESYNTAX, "int out of range");
    *out = (int32_t)v;
    return true;
}

static inline bool get_bytes(dec *d, hf_span *out) {
    int64_t n;
    if (!get_long(d, &n))
        return false;
    if (n < 0 || (uint64_t)n > (uint64_t)(d->end - d->p))
        return fail(d, HF_ESYNTAX, "bad string length");
    *out = n > 0 ? (hf_span){(const char *)d->p, (size_t)n} : (hf_span){"", 0};
    d->p += n;
    return true;
}

/* Union ["null", X]: true and *present when well formed. The branch is
 * almost always the one byte 0x00 (null) or 0x02 (the value). */
static inline bool get_branch(dec *d, bool *present) {
    if (d->p < d->end && (*d->p == 0 || *d->p == 2)) {
        *present = *d->p++ == 2;
        return true;
    }
    int64_t b;
    if (!get_long(d, &b))
        return false;
    if (b != 0 && b != 1)
        return fail(d, HF_ESYNTAX, "bad union branch");
    *present = b == 1;
    return true;
}

static bool get_record(dec *d, const hf_rdesc *rd, char *base, size_t nf);

/* Reads the blocks of an array or map into a growing arena array. */
static bool get_blocks(dec *d, const hf_rfield *f, char *base, size_t item) {
    char *v = NULL;
    size_t n = 0;
    for (;;) {
        int64_t count;
        if (!get_long(d, &count))
            return false;
        if (count == 0)
            break;
        if (count < 0) {
            int64_t bytes;
            if (count == INT64_MIN || !get_long(d, &bytes))
                return fail(d, HF_ESYNTAX, "bad block");
            count = -count;
        }
        /* every item takes at least one byte */
        if ((uint64_t)count > (uint64_t)(d->end - d->p))
            return fail(d, HF_ESYNTAX, "block count beyond the input");
        size_t total = n + (size_t)count;
        char *nv = hf_rec_arena_zalloc(&d->ctx->arena, total * item);
        if (nv == NULL)
            return fail(d, HF_ENOMEM, "");
        if (n > 0)
            memcpy(nv, v, n * item);
        v = nv;
        for (size_t i = n; i < total; i++) {
            char *it = v + i * item;
            bool ok;
            if (f->kind == HF_RK_ARR) {
                ok = get_record(d, f->sub, it, f->sub->nfields);
            } else if (f->kind == HF_RK_ARR_STR) {
                ok = get_bytes(d, (hf_span *)it);
            } else {
                hf_rec_kv *kv = (hf_rec_kv *)it;
                ok = get_bytes(d, &kv->key) && get_bytes(d, &kv->value);
            }
            if (!ok)
                return false;
        }
        n = total;
    }
    hf_rarr_set(base, f->off, v, n);
    return true;
}

static bool get_field(dec *d, const hf_rfield *f, char *base) {
    char *p = base + f->off;
    bool present;
    switch (f->kind) {
    case HF_RK_STR:
        return get_bytes(d, (hf_span *)p);
    case HF_RK_OSTR:
    case HF_RK_OBYTES:
        *(hf_span *)p = (hf_span){"", 0};
        if (!get_branch(d, &present))
            return false;
        return !present || get_bytes(d, (hf_span *)p);
    case HF_RK_INT:
        return get_int(d, (int32_t *)p);
    case HF_RK_TS:
        return get_long(d, (int64_t *)p);
    case HF_RK_OINT:
    case HF_RK_ODATE: {
        hf_opt_i32 *o = (hf_opt_i32 *)p;
        o->set = false;
        o->v = 0;
        if (!get_branch(d, &present))
            return false;
        o->set = present;
        return !present || get_int(d, &o->v);
    }
    case HF_RK_OTS: {
        hf_opt_i64 *o = (hf_opt_i64 *)p;
        o->set = false;
        o->v = 0;
        if (!get_branch(d, &present))
            return false;
        o->set = present;
        return !present || get_long(d, &o->v);
    }
    case HF_RK_ODBL: {
        hf_opt_f64 *o = (hf_opt_f64 *)p;
        o->set = false;
        o->v = 0;
        if (!get_branch(d, &present))
            return false;
        if (!present)
            return true;
        if (d->end - d->p < 8)
            return fail(d, HF_ESYNTAX, "truncated double");
        memcpy(&o->v, d->p, 8);
        d->p += 8;
        o->set = true;
        return true;
    }
    case HF_RK_OBOOL: {
        hf_opt_bool *o = (hf_opt_bool *)p;
        o->set = false;
        o->v = false;
        if (!get_branch(d, &present))
            return false;
        if (!present)
            return true;
        if (d->p >= d->end || *d->p > 1)
            return fail(d, HF_ESYNTAX, "bad boolean");
        o->v = *d->p++ == 1;
        o->set = true;
        return true;
    }
    case HF_RK_REC:
        return get_record(d, f->sub, p, f->sub->nfields);
    case HF_RK_OREC: {
        void *sub = NULL;
        memcpy(p, &sub, sizeof sub);
        if (!get_branch(d, &present))
            return false;
        if (!present)
            return true;
        sub = hf_rec_arena_zalloc(&d->ctx->arena, f->sub->size);
        if (sub == NULL)
            return fail(d, HF_ENOMEM, "");
        memcpy(p, &sub, sizeof sub);
        return get_record(d, f->sub, sub, f->sub->nfields);
    }
    case HF_RK_ARR:
        return get_blocks(d, f, base, f->sub->size);
    case HF_RK_ARR_STR:
        return get_blocks(d, f, base, sizeof(hf_span));
    case HF_RK_MAP_STR:
        return get_blocks(d, f, base, sizeof(hf_rec_kv));
    }
    return fail(d, HF_ESYNTAX, "unknown field kind");
}

/* A string under 64 bytes at @p p (one even length byte, the bytes all
 * there) into @p out: the byte after it. NULL for anything else, which
 * the general path (get_bytes) then accepts or refuses. */
static inline const unsigned char *get_short_string(const unsigned char *p,
                                                    const unsigned char *end, hf_span *out) {
    if (p >= end || (*p & 0x81) != 0 || (size_t)(*p >> 1) >= (size_t)(end - p))
        return NULL;
    size_t n = *p >> 1;
    *out = n > 0 ? (hf_span){(const char *)p + 1, n} : (hf_span){"", 0};
    return p + 1 + n;
}

/* The common shapes of one field, stored as get_field stores them: an
 * absent optional value, a string under 64 bytes (optional or not), an
 * int of one byte (optional or not). Returns the byte after the field, or
 * NULL when the field needs get_field (longer values, records, arrays,
 * and every error: nothing is refused here). */
static inline const unsigned char *get_common(const unsigned char *p, const unsigned char *end,
                                              const hf_rfield *f, char *at) {
    if (p >= end)
        return NULL;
    unsigned b = *p;
    switch (f->kind) {
    case HF_RK_STR:
        return get_short_string(p, end, (hf_span *)(void *)at);
    case HF_RK_OSTR:
    case HF_RK_OBYTES:
        if (b == 0) {
            *(hf_span *)(void *)at = (hf_span){"", 0};
            return p + 1;
        }
        return b == 2 ? get_short_string(p + 1, end, (hf_span *)(void *)at) : NULL;
    case HF_RK_INT:
        if (b >= 0x80)
            return NULL;
        *(int32_t *)(void *)at = (int32_t)(b >> 1) ^ -(int32_t)(b & 1);
        return p + 1;
    case HF_RK_TS:
        if (b >= 0x80)
            return NULL;
        *(int64_t *)(void *)at = (int64_t)(b >> 1) ^ -(int64_t)(b & 1);
        return p + 1;
    case HF_RK_OINT:
    case HF_RK_ODATE: {
        hf_opt_i32 *o = (hf_opt_i32 *)(void *)at;
        if (b == 0) {
            *o = (hf_opt_i32){0, false};
            return p + 1;
        }
        if (b != 2 || end - p < 2 || p[1] >= 0x80)
            return NULL;
        *o = (hf_opt_i32){(int32_t)(p[1] >> 1) ^ -(int32_t)(p[1] & 1), true};
        return p + 2;
    }
    case HF_RK_OTS: {
        hf_opt_i64 *o = (hf_opt_i64 *)(void *)at;
        if (b == 0) {
            *o = (hf_opt_i64){0, false};
            return p + 1;
        }
        if (b != 2 || end - p < 2 || p[1] >= 0x80)
            return NULL;
        *o = (hf_opt_i64){(int64_t)(p[1] >> 1) ^ -(int64_t)(p[1] & 1), true};
        return p + 2;
    }
    default:
        return NULL;
    }
}

static bool get_record(dec *d, const hf_rdesc *rd, char *base, size_t nf) {
    for (const hf_rfield *f = rd->fields, *last = f + nf; f < last; f++) {
        const unsigned char *next = get_common(d->p, d->end, f, base + f->off);
        if (next != NULL) {
            d->p = next;
            continue;
        }
        if (!get_field(d, f, base))
            return false;
    }
    return true;
}

/* ---- skipping: the same checks as get_field, nothing stored ---------- */

static bool skip_record(dec *d, const hf_rdesc *rd);

static bool skip_string(dec *d) {
    hf_span unused;
    return get_bytes(d, &unused);
}

/* A string under 64 bytes at @p p (one even length byte, the bytes all
 * there): the byte after it. NULL for anything else, which the general
 * path (get_bytes) then accepts or refuses. */
static inline const unsigned char *short_string(const unsigned char *p, const unsigned char *end) {
    if (p < end && (*p & 0x81) == 0 && (size_t)(*p >> 1) < (size_t)(end - p))
        return p + 1 + (*p >> 1);
    return NULL;
}

/* @p count strings in a row (an array's or a map's block): strings under
 * 64 bytes, the common case, in tight loops; anything else, including
 * every error, through get_bytes. */
static bool skip_strings(dec *d, uint64_t count) {
    const unsigned char *p = d->p, *end = d->end;
    /* Below @p safe a length byte and the 63 bytes a short string can
     * have after it are all in the input: no bounds check needed. */
    const unsigned char *safe = end - p > 64 ? end - 64 : p;
    while (count > 0) {
        while (count > 0 && p < safe && (*p & 0x81) == 0) {
            p += 1 + (*p >> 1);
            count--;
        }
        if (count == 0)
            break;
        const unsigned char *next = short_string(p, end);
        if (next == NULL) {
            d->p = p;
            if (!skip_string(d))
                return false;
            next = d->p;
        }
        p = next;
        count--;
    }
    d->p = p;
    return true;
}

static bool skip_blocks(dec *d, const hf_rfield *f) {
    for (;;) {
        int64_t count;
        if (!get_long(d, &count))
            return false;
        if (count == 0)
            return true;
        if (count < 0) {
            int64_t bytes;
            if (count == INT64_MIN || !get_long(d, &bytes))
                return fail(d, HF_ESYNTAX, "bad block");
            count = -count;
        }
        if ((uint64_t)count > (uint64_t)(d->end - d->p))
            return fail(d, HF_ESYNTAX, "block count beyond the input");
        if (f->kind != HF_RK_ARR) {
            /* a map's entry is two strings, key and value */
            if (!skip_strings(d, (uint64_t)count * (f->kind == HF_RK_ARR_STR ? 1 : 2)))
                return false;
            continue;
        }
        for (int64_t i = 0; i < count; i++)
            if (!skip_record(d, f->sub))
                return false;
    }
}

static bool skip_field(dec *d, const hf_rfield *f) {
    bool present;
    int64_t v;
    switch (f->kind) {
    case HF_RK_STR:
        return skip_string(d);
    case HF_RK_INT:
    case HF_RK_TS:
        return get_long(d, &v) && (f->kind == HF_RK_TS || (v >= INT32_MIN && v <= INT32_MAX) ||
                                   fail(d, HF_ESYNTAX, "int out of range"));
    case HF_RK_REC:
        return skip_record(d, f->sub);
    case HF_RK_ARR:
    case HF_RK_ARR_STR:
    case HF_RK_MAP_STR:
        return skip_blocks(d, f);
    default:
        break;
    }
    /* the nullable kinds */
    if (!get_branch(d, &present))
        return false;
    if (!present)
        return true;
    switch (f->kind) {
    case HF_RK_OSTR:
    case HF_RK_OBYTES:
        return skip_string(d);
    case HF_RK_OINT:
    case HF_RK_ODATE:
        return get_long(d, &v) &&
               ((v >= INT32_MIN && v <= INT32_MAX) || fail(d, HF_ESYNTAX, "int out of range"));
    case HF_RK_OTS:
        return get_long(d, &v);
    case HF_RK_ODBL:
        if (d->end - d->p < 8)
            return fail(d, HF_ESYNTAX, "truncated double");
        d->p += 8;
        return true;
    case HF_RK_OBOOL:
        if (d->p >= d->end || *d->p > 1)
            return fail(d, HF_ESYNTAX, "bad boolean");
        d->p++;
        return true;
    case HF_RK_OREC:
        return skip_record(d, f->sub);
    default:
        return fail(d, HF_ESYNTAX, "unknown field kind");
    }
}

/* The common shapes of one field at @p p, which every kind but a record
 * takes from one byte: null (0), an empty string or array, a one-byte int,
 * ["null", X] with a one-byte value or a short string. Returns the byte
 * after the field, or NULL when the field needs skip_field (longer values
 * and every error: nothing is refused here). */
static inline const unsigned char *skip_common(const unsigned char *p, const unsigned char *end,
                                               hf_rk kind) {
    if (p >= end)
        return NULL;
    unsigned b = *p;
    /* A zero byte is a whole field of every kind but a record: null, an
     * empty string, 0, an empty array or map. Most fields are null. */
    if (b == 0)
        return kind != HF_RK_REC ? p + 1 : NULL;
    switch (kind) {
    case HF_RK_STR:
        return short_string(p, end);
    case HF_RK_INT:
    case HF_RK_TS: /* one byte: at most 63 in magnitude, in range */
        return b < 0x80 ? p + 1 : NULL;
    case HF_RK_OSTR: /* branch 1 (byte 2), then the string */
    case HF_RK_OBYTES:
        return b == 2 ? short_string(p + 1, end) : NULL;
    case HF_RK_OINT: /* branch 1, then a one-byte int */
    case HF_RK_ODATE:
    case HF_RK_OTS:
        return b == 2 && end - p > 1 && p[1] < 0x80 ? p + 2 : NULL;
    default:
        return NULL;
    }
}

static bool skip_record(dec *d, const hf_rdesc *rd) {
    const unsigned char *p = d->p, *end = d->end;
    const hf_rfield *f = rd->fields, *last = f + rd->nfields;
    for (; f < last; f++) {
        const unsigned char *next = skip_common(p, end, f->kind);
        if (next != NULL) {
            p = next;
            continue;
        }
        d->p = p;
        if (!(f->kind == HF_RK_ARR_STR ? skip_blocks(d, f) : skip_field(d, f)))
            return false;
        p = d->p;
    }
    d->p = p;
    return true;
}

hf_status hf_rec_decode_some(hf_rec_ctx *ctx, const void *data, size_t len, hf_rec_form form,
                             uint64_t fields, hf_rec **out, hf_err *err) {
    hf_rec *rec = &ctx->rec;
    *out = NULL;
    hf_rec_arena_reset(&ctx->arena);
    memset(rec, 0, sizeof *rec);
    const unsigned char *p = len > 0 ? data : (const unsigned char *)"";
    dec d = {p, p + len, p, ctx, err, HF_OK};
    size_t nf = hf_rec_nfields(form);
    uint64_t skipped = 0;
    for (size_t i = 0; i < nf; i++) {
        rec->source.off[i] = (uint32_t)(d.p - p);
        const hf_rfield *f = &hf_rdesc_rec.fields[i];
        if (fields >> i & 1) {
            if (!get_field(&d, f, (char *)rec))
                return d.st;
        } else {
            if (!skip_field(&d, f))
                return d.st;
            skipped |= (uint64_t)1 << i;
        }
    }
    rec->source.off[nf] = (uint32_t)(d.p - p);
    rec->source.n = (uint32_t)nf;
    if (d.p != d.end) {
        fail(&d, HF_ESYNTAX, "trailing bytes");
        return d.st;
    }
    if (skipped != 0 && len > UINT32_MAX)
        return hf_err_set(err, HF_ELIMIT, "record decode: %zu bytes is too large to copy by "
                          "offset", len);
    rec->source.avro = len <= UINT32_MAX ? (const char *)p : NULL;
    rec->source.keep = skipped; /* nothing of them is in the struct: copied as read */
    *out = rec;
    return HF_OK;
}

hf_status hf_rec_decode(hf_rec_ctx *ctx, const void *data, size_t len, hf_rec_form form,
                        hf_rec **out, hf_err *err) {
    return hf_rec_decode_some(ctx, data, len, form, UINT64_MAX, out, err); /* every field */
}

/* ---- for record_resolve.c (record_internal.h) ---------------------------- */

bool hf_dec_fail(hf_dec *d, hf_status st, const char *what) { return fail(d, st, what); }
bool hf_dec_long(hf_dec *d, int64_t *out) { return get_long(d, out); }
bool hf_dec_bytes(hf_dec *d, hf_span *out) { return get_bytes(d, out); }
bool hf_dec_branch(hf_dec *d, bool *present) { return get_branch(d, present); }
bool hf_dec_field(hf_dec *d, const hf_rfield *f, char *base) { return get_field(d, f, base); }
