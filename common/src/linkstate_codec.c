/* linkstate_codec.c - the byte form of a patient's linker state
 * (linkstate.h): what the RocksDB stores and the changelog topic hold.
 *
 * Layout, version 1: u8 version, then in this order
 *   applied   varint n, n x (string topic, zigzag offset)   -- first, so a
 *             restore can read it without decoding the rest
 *   identity  string empi_id, string link_status, u8 has_score, 8-byte
 *             little-endian double score, string merged_into,
 *             varint n, n x string merged_from
 *   demo      varint n, n x (family, given, sex, zip, u8 has_birth,
 *             zigzag birth_date, zigzag ts)
 *   encounter varint n, n x (visit, class, location, prior_location,
 *             u8 state, u8 state_before, zigzag opened, closed, updated)
 *   order     varint n, n x (placer, filler, visit, u8 state, zigzag ts)
 *   result    varint n, n x (placer, filler, status, varint observations,
 *             zigzag ts)
 *   zigzag events
 * string = varint length + bytes (no NUL). Every count and length is
 * checked against the struct's bound on decode; trailing bytes are an
 * error. A new field goes at the end under a new version number. */
#include <stdlib.h>
#include <string.h>

#include "hl7flow/linkstate.h"

#define LS_VERSION 1

/* ---- writer ------------------------------------------------------------ */

typedef struct ls_w {
    hf_rec_buf *b;
    bool oom;
} ls_w;

static void w_bytes(ls_w *w, const void *p, size_t n) {
    if (w->oom)
        return;
    hf_rec_buf *b = w->b;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            w->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void w_u8(ls_w *w, unsigned v) {
    unsigned char c = (unsigned char)v;
    w_bytes(w, &c, 1);
}

static void w_varint(ls_w *w, uint64_t v) {
    unsigned char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
        buf[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    buf[n++] = (unsigned char)v;
    w_bytes(w, buf, n);
}

static void w_zz(ls_w *w, int64_t v) {
    w_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void w_str(ls_w *w, const char *s) {
    size_t n = strlen(s);
    w_varint(w, n);
    w_bytes(w, s, n);
}

hf_status hf_ls_encode(const hf_ls_state *st, hf_rec_buf *out) {
    size_t start = out->len;
    ls_w w = {out, false};
    w_u8(&w, LS_VERSION);
    w_varint(&w, st->napplied);
    for (size_t i = 0; i < st->napplied; i++) {
        w_str(&w, st->applied[i].topic);
        w_zz(&w, st->applied[i].offset);
    }
    w_str(&w, st->empi_id);
    w_str(&w, st->link_status);
    w_u8(&w, st->has_match_score);
    uint64_t bits;
    memcpy(&bits, &st->match_score, sizeof bits);
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(bits >> (8 * i));
    w_bytes(&w, le, 8);
    w_str(&w, st->merged_into);
    w_varint(&w, st->nmerged_from);
    for (size_t i = 0; i < st->nmerged_from; i++)
        w_str(&w, st->merged_from[i]);
    w_varint(&w, st->ndemo);
    for (size_t i = 0; i < st->ndemo; i++) {
        const hf_ls_demo *d = &st->demo[i];
        w_str(&w, d->family);
        w_str(&w, d->given);
        w_str(&w, d->sex);
        w_str(&w, d->zip);
        w_u8(&w, d->has_birth_date);
        w_zz(&w, d->birth_date);
        w_zz(&w, d->ts);
    }
    w_varint(&w, st->nenc);
    for (size_t i = 0; i < st->nenc; i++) {
        const hf_ls_encounter *e = &st->enc[i];
        w_str(&w, e->visit);
        w_str(&w, e->patient_class);
        w_str(&w, e->location);
        w_str(&w, e->prior_location);
        w_u8(&w, e->state);
        w_u8(&w, e->state_before);
        w_zz(&w, e->opened_ts);
        w_zz(&w, e->closed_ts);
        w_zz(&w, e->updated_ts);
    }
    w_varint(&w, st->nord);
    for (size_t i = 0; i < st->nord; i++) {
        const hf_ls_order *o = &st->ord[i];
        w_str(&w, o->placer);
        w_str(&w, o->filler);
        w_str(&w, o->visit);
        w_u8(&w, o->state);
        w_zz(&w, o->ts);
    }
    w_varint(&w, st->nres);
    for (size_t i = 0; i < st->nres; i++) {
        const hf_ls_result *r = &st->res[i];
        w_str(&w, r->placer);
        w_str(&w, r->filler);
        w_str(&w, r->status);
        w_varint(&w, r->observations);
        w_zz(&w, r->ts);
    }
    w_zz(&w, st->events);
    if (w.oom) {
        out->len = start;
        return HF_ENOMEM;
    }
    return HF_OK;
}

/* ---- reader ------------------------------------------------------------ */

typedef struct ls_r {
    const unsigned char *p;
    size_t len, pos;
    bool bad;
} ls_r;

static uint64_t r_varint(ls_r *r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->pos >= r->len) {
            r->bad = true;
            return 0;
        }
        unsigned char c = r->p[r->pos++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t r_zz(ls_r *r) {
    uint64_t v = r_varint(r);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static unsigned r_u8(ls_r *r) {
    if (r->pos >= r->len) {
        r->bad = true;
        return 0;
    }
    return r->p[r->pos++];
}

/* Reads a string into @p dst (cap incl. NUL); too long is an error. */
static void r_str(ls_r *r, char *dst, size_t cap) {
    uint64_t n = r_varint(r);
    if (r->bad || n >= cap || n > r->len - r->pos) {
        r->bad = true;
        dst[0] = '\0';
        return;
    }
    memcpy(dst, r->p + r->pos, (size_t)n);
    dst[n] = '\0';
    r->pos += (size_t)n;
}

static size_t r_count(ls_r *r, size_t max) {
    uint64_t n = r_varint(r);
    if (n > max) {
        r->bad = true;
        return 0;
    }
    return (size_t)n;
}

static hf_status r_fail(const ls_r *r, hf_err *err) {
    return hf_err_set(err, HF_ESYNTAX, "linker state: malformed at byte %zu of %zu", r->pos,
                      r->len);
}

static void read_applied(ls_r *r, hf_ls_applied *out, size_t *n) {
    unsigned v = r_u8(r);
    if (v != LS_VERSION) {
        r->bad = true;
        return;
    }
    *n = r_count(r, HF_LS_MAX_TOPICS);
    for (size_t i = 0; i < *n && !r->bad; i++) {
        r_str(r, out[i].topic, sizeof out[i].topic);
        out[i].offset = r_zz(r);
    }
}

hf_status hf_ls_decode_applied(const void *data, size_t len, hf_ls_applied *out, size_t *n,
                               hf_err *err) {
    ls_r r = {data, len, 0, false};
    *n = 0;
    read_applied(&r, out, n);
    if (r.bad) {
        *n = 0;
        return r_fail(&r, err);
    }
    return HF_OK;
}

hf_status hf_ls_decode(const void *data, size_t len, hf_ls_state *st, hf_err *err) {
    ls_r r = {data, len, 0, false};
    hf_ls_init(st);
    read_applied(&r, st->applied, &st->napplied);
    r_str(&r, st->empi_id, sizeof st->empi_id);
    r_str(&r, st->link_status, sizeof st->link_status);
    st->has_match_score = r_u8(&r) != 0;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits |= (uint64_t)r_u8(&r) << (8 * i);
    memcpy(&st->match_score, &bits, sizeof bits);
    r_str(&r, st->merged_into, sizeof st->merged_into);
    st->nmerged_from = r_count(&r, HF_LS_MAX_MERGED);
    for (size_t i = 0; i < st->nmerged_from && !r.bad; i++)
        r_str(&r, st->merged_from[i], sizeof st->merged_from[i]);
    st->ndemo = r_count(&r, HF_LS_MAX_DEMO);
    for (size_t i = 0; i < st->ndemo && !r.bad; i++) {
        hf_ls_demo *d = &st->demo[i];
        r_str(&r, d->family, sizeof d->family);
        r_str(&r, d->given, sizeof d->given);
        r_str(&r, d->sex, sizeof d->sex);
        r_str(&r, d->zip, sizeof d->zip);
        d->has_birth_date = r_u8(&r) != 0;
        d->birth_date = (int32_t)r_zz(&r);
        d->ts = r_zz(&r);
    }
    st->nenc = r_count(&r, HF_LS_MAX_ENCOUNTERS);
    for (size_t i = 0; i < st->nenc && !r.bad; i++) {
        hf_ls_encounter *e = &st->enc[i];
        r_str(&r, e->visit, sizeof e->visit);
        r_str(&r, e->patient_class, sizeof e->patient_class);
        r_str(&r, e->location, sizeof e->location);
        r_str(&r, e->prior_location, sizeof e->prior_location);
        e->state = (uint8_t)r_u8(&r);
        e->state_before = (uint8_t)r_u8(&r);
        if (e->state > HF_ENC_CANCELLED || e->state_before > HF_ENC_CANCELLED)
            r.bad = true;
        e->opened_ts = r_zz(&r);
        e->closed_ts = r_zz(&r);
        e->updated_ts = r_zz(&r);
    }
    st->nord = r_count(&r, HF_LS_MAX_ORDERS);
    for (size_t i = 0; i < st->nord && !r.bad; i++) {
        hf_ls_order *o = &st->ord[i];
        r_str(&r, o->placer, sizeof o->placer);
        r_str(&r, o->filler, sizeof o->filler);
        r_str(&r, o->visit, sizeof o->visit);
        o->state = (uint8_t)r_u8(&r);
        if (o->state > HF_ORD_CANCELLED)
            r.bad = true;
        o->ts = r_zz(&r);
    }
    st->nres = r_count(&r, HF_LS_MAX_RESULTS);
    for (size_t i = 0; i < st->nres && !r.bad; i++) {
        hf_ls_result *x = &st->res[i];
        r_str(&r, x->placer, sizeof x->placer);
        r_str(&r, x->filler, sizeof x->filler);
        r_str(&r, x->status, sizeof x->status);
        uint64_t n = r_varint(&r);
        x->observations = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
        x->ts = r_zz(&r);
    }
    st->events = r_zz(&r);
    if (!r.bad && r.pos != r.len)
        r.bad = true;
    if (r.bad) {
        hf_status s = r_fail(&r, err);
        hf_ls_init(st);
        return s;
    }
    return HF_OK;
}
