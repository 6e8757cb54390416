/* record_text.c - turning raw HL7 values into record text: splitting,
 * escape decoding, UTF-8, and the composite HL7 types (CE, HD, CX, XPN,
 * XCN, XAD, XTN, PL, EI) every segment builder uses.
 *
 * Text rules (docs/topics.md, Text): typed fields hold decoded text; a
 * value without the escape character is used in place (zero-copy), one with
 * it is decoded into the context's arena. Every string the record hands to
 * Avro is valid UTF-8: a message whose bytes are not valid UTF-8 is read as
 * ISO 8859-1 (unless MSH-18 declares UTF-8/UNICODE: then each invalid byte
 * becomes U+FFFD); the choice is reported in header.text_conversion.
 */
#include <stddef.h>
#include <stdlib.h>

#include "record_internal.h"

static const hf_span EMPTY = {"", 0};

/* ------------------------------------------------------------------ UTF-8 */

size_t hf_rt_utf8_valid_prefix(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path: 8 bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* no overlong */
            else if (c == 0xED)
                hi = 0x9F; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F; /* <= U+10FFFF */
        } else {
            return i;
        }
        if (i + need >= len)
            return i;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= need; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
        i += need + 1;
    }
    return len;
}

static bool has_high(const char *s, size_t len) {
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull)
            return true;
    }
    for (; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

static bool ascii_ieq(hf_span s, size_t at, const char *w) {
    size_t n = strlen(w);
    if (at + n > s.len)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s.p[at + i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (c != w[i])
            return false;
    }
    return true;
}

static bool contains_ci(hf_span s, const char *w) {
    for (size_t i = 0; i < s.len; i++)
        if (ascii_ieq(s, i, w))
            return true;
    return false;
}

void hf_rt_choose_mode(hf_rec_ctx *ctx, hf_span raw, hf_span charset) {
    if (hf_rt_utf8_valid_prefix(raw.p, raw.len) == raw.len)
        ctx->text_mode = HF_TXT_ASIS;
    else if (contains_ci(charset, "UTF") || contains_ci(charset, "UNICODE"))
        ctx->text_mode = HF_TXT_REPAIR;
    else
        ctx->text_mode = HF_TXT_LATIN1;
}

static hf_span latin1(hf_rec_ctx *ctx, hf_span s) {
    char *o = hf_rec_arena_alloc(&ctx->arena, s.len * 2);
    if (o == NULL) {
        ctx->oom = true;
        return EMPTY;
    }
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned c = (unsigned char)s.p[i];
        if (c < 0x80) {
            o[n++] = (char)c;
        } else {
            o[n++] = (char)(0xC0 | (c >> 6));
            o[n++] = (char)(0x80 | (c & 0x3F));
        }
    }
    ctx->converted_latin1 = true;
    return (hf_span){o, n};
}

/* Copies @p s with every byte that does not start a valid sequence
 * replaced by U+FFFD (EF BF BD). */
static hf_span repair(hf_rec_ctx *ctx, hf_span s) {
    char *o = hf_rec_arena_alloc(&ctx->arena, s.len * 3);
    if (o == NULL) {
        ctx->oom = true;
        return EMPTY;
    }
    size_t n = 0, i = 0;
    while (i < s.len) {
        size_t ok = hf_rt_utf8_valid_prefix(s.p + i, s.len - i);
        memcpy(o + n, s.p + i, ok);
        n += ok;
        i += ok;
        if (i < s.len) {
            o[n++] = (char)0xEF;
            o[n++] = (char)0xBF;
            o[n++] = (char)0xBD;
            i++;
        }
    }
    ctx->converted_repair = true;
    return (hf_span){o, n};
}

/* Makes wire bytes valid UTF-8 per the message's mode. */
static hf_span fix(hf_rec_ctx *ctx, hf_span s) {
    if (ctx->text_mode == HF_TXT_ASIS || !has_high(s.p, s.len))
        return s;
    if (ctx->text_mode == HF_TXT_LATIN1)
        return latin1(ctx, s);
    if (hf_rt_utf8_valid_prefix(s.p, s.len) == s.len)
        return s;
    return repair(ctx, s);
}

hf_span hf_rt_raw(hf_rec_ctx *ctx, hf_span s) {
    return fix(ctx, s);
}

hf_span hf_rt_utf8(hf_rec_ctx *ctx, hf_span s) {
    if (hf_rt_utf8_valid_prefix(s.p, s.len) == s.len)
        return s;
    return repair(ctx, s);
}

/* Decodes escapes into the arena; the result is in the message's charset. */
static hf_span unescape(hf_rec_ctx *ctx, hf_span s) {
    size_t cap = s.len + 32;
    char *o = hf_rec_arena_alloc(&ctx->arena, cap);
    if (o == NULL) {
        ctx->oom = true;
        return EMPTY;
    }
    size_t need = hf_hl7_unescape_d(&ctx->d, s, o, cap, NULL);
    if (need >= cap) {
        cap = need + 1;
        o = hf_rec_arena_alloc(&ctx->arena, cap);
        if (o == NULL) {
            ctx->oom = true;
            return EMPTY;
        }
        need = hf_hl7_unescape_d(&ctx->d, s, o, cap, NULL);
    }
    return (hf_span){o, need};
}

hf_span hf_rt_text_slow(hf_rec_ctx *ctx, hf_span s) {
    if (s.len == 0)
        return EMPTY;
    if (ctx->esc && hf_rt_find(s.p, s.p + s.len, ctx->d.escape) != NULL) {
        hf_span u = unescape(ctx, s);
        if (!has_high(u.p, u.len))
            return u;
        /* \Xhh\ may have produced any byte: apply the message's reading,
         * and never let invalid UTF-8 through */
        if (ctx->text_mode == HF_TXT_LATIN1)
            return latin1(ctx, u);
        if (hf_rt_utf8_valid_prefix(u.p, u.len) == u.len)
            return u;
        return repair(ctx, u);
    }
    return fix(ctx, s);
}

/* --------------------------------------------------------------- splitting */

size_t hf_rt_count(hf_span s, char sep) {
    size_t n = 1;
    if (sep == 0)
        return 1;
    const char *p = s.p, *end = s.p + s.len, *q;
    while ((q = hf_rt_find(p, end, sep)) != NULL) {
        n++;
        p = q + 1;
    }
    return n;
}

hf_span hf_rt_join_lines(hf_rec_ctx *ctx, const hf_span *items, size_t n) {
    size_t total = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].len > 0) {
            total += items[i].len + 1;
            k++;
        }
    if (k == 0)
        return EMPTY;
    if (k == 1)
        for (size_t i = 0; i < n; i++)
            if (items[i].len > 0)
                return items[i];
    char *o = hf_rec_arena_alloc(&ctx->arena, total);
    if (o == NULL) {
        ctx->oom = true;
        return EMPTY;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].len == 0)
            continue;
        if (len > 0)
            o[len++] = '\n';
        memcpy(o + len, items[i].p, items[i].len);
        len += items[i].len;
    }
    return (hf_span){o, len};
}

/* ------------------------------------------------------------ simple fields */

/* Component 1 of repetition 1, raw: the field up to its first component
 * or repetition separator. Inside the message it looks 16 bytes a step,
 * reading ahead up to the next multiple of 16 bytes (still inside the
 * message: checked once); other spans take hf_rt_comps. */
static hf_span comp1(const hf_rec_ctx *ctx, hf_span field) {
    char sep = ctx->d.component, stop = ctx->d.repetition;
    if (field.len == 0)
        return field;
#ifdef __SSE2__
    size_t reach = (field.len + 15) & ~(size_t)15; /* bytes the steps read */
    if (sep != 0 && stop != 0 && field.p >= ctx->mlo && ctx->mend - field.p >= (ptrdiff_t)reach) {
        const __m128i va = _mm_set1_epi8(sep), vb = _mm_set1_epi8(stop);
        const char *end = field.p + field.len;
        for (const char *p = field.p;; p += 16) {
            size_t left = (size_t)(end - p);
            unsigned m = hf_rt_mask2(p, left, va, vb);
            if (m != 0)
                return (hf_span){field.p, (size_t)(p - field.p) + (size_t)__builtin_ctz(m)};
            if (left <= 16)
                return field;
        }
    }
#endif
    hf_span c;
    hf_rt_comps(field, sep, stop, &c, 1);
    return c;
}

hf_span hf_rt_leaf(hf_rec_ctx *ctx, hf_span field) {
    return hf_rt_text(ctx, comp1(ctx, field));
}

hf_span hf_rt_whole(hf_rec_ctx *ctx, hf_span field) {
    return hf_rt_text(ctx, hf_rt_first(field, ctx->d.repetition));
}

void hf_rt_dtm(hf_rec_ctx *ctx, hf_span field, hf_span *text, hf_opt_i64 *ts) {
    hf_span c1 = comp1(ctx, field);
    *text = hf_rt_text(ctx, c1);
    *ts = hf_rt_ts(c1);
}

/* ------------------------------------------------------------ composites */

static bool any(const hf_span *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (v[i].len > 0)
            return true;
    return false;
}

/* The composites below whose parts are consecutive hf_span members read
 * the components straight into them (a run of n spans starting at the
 * first member), then turn them into text in place. */
#define SPAN_RUN(T, first, last, n) \
    _Static_assert(offsetof(T, last) - offsetof(T, first) == ((n) - 1) * sizeof(hf_span), \
                   #T ": " #first ".." #last " must be consecutive spans")
SPAN_RUN(hf_rec_coded, code, alt_system, 6);
SPAN_RUN(hf_rec_hd, namespace_id, universal_id_type, 3);
SPAN_RUN(hf_rec_ei, id, universal_id_type, 4);
SPAN_RUN(hf_rec_name, family, name_type, 7);
SPAN_RUN(hf_rec_tel, number, extension, 8);
SPAN_RUN(hf_rec_loc, point_of_care, floor, 8);

/* Raw components 1..n of repetition 1 of @p rep into v[0..n). */
static void comps_raw(const hf_rec_ctx *ctx, hf_span rep, char sep, hf_span *v, size_t n) {
    hf_rt_mcomps(ctx, rep, sep, ctx->d.repetition, v, n);
}

/* Turns raw v[0..n) into text in place (nothing to do for plain segments). */
static void texts(hf_rec_ctx *ctx, hf_span *v, size_t n) {
    if (ctx->plain)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = hf_rt_text(ctx, v[i]);
}

/* An arena struct of @p size bytes, or NULL (ctx->oom) */
static void *take(hf_rec_ctx *ctx, size_t size) {
    void *r = hf_rec_arena_alloc(&ctx->arena, size);
    if (r == NULL)
        ctx->oom = true;
    return r;
}

bool hf_rt_coded_into(hf_rec_ctx *ctx, hf_span rep, hf_rec_coded *out) {
    comps_raw(ctx, rep, ctx->d.component, &out->code, 6);
    texts(ctx, &out->code, 6);
    return any(&out->code, 6);
}

/* The pointer forms fill their arena struct in place; one that turns out
 * empty is left unused in the arena (reset with the record). */
hf_rec_coded *hf_rt_coded(hf_rec_ctx *ctx, hf_span rep) {
    if (rep.len == 0)
        return NULL;
    hf_rec_coded *r = take(ctx, sizeof *r);
    return r != NULL && hf_rt_coded_into(ctx, rep, r) ? r : NULL;
}

hf_rec_hd *hf_rt_hd(hf_rec_ctx *ctx, hf_span rep, char sep) {
    if (rep.len == 0)
        return NULL;
    hf_rec_hd *r = take(ctx, sizeof *r);
    if (r == NULL)
        return NULL;
    comps_raw(ctx, rep, sep, &r->namespace_id, 3);
    texts(ctx, &r->namespace_id, 3);
    return any(&r->namespace_id, 3) ? r : NULL;
}

hf_rec_ei *hf_rt_ei(hf_rec_ctx *ctx, hf_span rep) {
    if (rep.len == 0)
        return NULL;
    hf_rec_ei *r = take(ctx, sizeof *r);
    if (r == NULL)
        return NULL;
    comps_raw(ctx, rep, ctx->d.component, &r->id, 4);
    texts(ctx, &r->id, 4);
    return any(&r->id, 4) ? r : NULL;
}

bool hf_rt_cx_into(hf_rec_ctx *ctx, hf_span rep, hf_rec_cx *out) {
    hf_span c[6];
    hf_rt_mcomps(ctx, rep, ctx->d.component, ctx->d.repetition, c, 6);
    out->id = hf_rt_text(ctx, c[0]);
    out->check_digit = hf_rt_text(ctx, c[1]);
    out->assigning_authority = hf_rt_hd(ctx, c[3], ctx->d.subcomponent);
    out->identifier_type = hf_rt_text(ctx, c[4]);
    out->assigning_facility = hf_rt_text(ctx, hf_rt_first(c[5], ctx->d.subcomponent));
    return out->id.len || out->check_digit.len || out->assigning_authority ||
           out->identifier_type.len || out->assigning_facility.len;
}

hf_rec_cx *hf_rt_cx(hf_rec_ctx *ctx, hf_span rep) {
    if (rep.len == 0)
        return NULL;
    hf_rec_cx *r = take(ctx, sizeof *r);
    return r != NULL && hf_rt_cx_into(ctx, rep, r) ? r : NULL;
}

bool hf_rt_name_into(hf_rec_ctx *ctx, hf_span rep, hf_rec_name *out) {
    comps_raw(ctx, rep, ctx->d.component, &out->family, 7);
    out->family = hf_rt_first(out->family, ctx->d.subcomponent);
    texts(ctx, &out->family, 7);
    return any(&out->family, 7);
}

hf_rec_name *hf_rt_name(hf_rec_ctx *ctx, hf_span rep) {
    if (rep.len == 0)
        return NULL;
    hf_rec_name *r = take(ctx, sizeof *r);
    return r != NULL && hf_rt_name_into(ctx, rep, r) ? r : NULL;
}

bool hf_rt_provider_into(hf_rec_ctx *ctx, hf_span rep, hf_rec_provider *out) {
    hf_span c[13];
    hf_rt_mcomps(ctx, rep, ctx->d.component, ctx->d.repetition, c, 13);
    out->id = hf_rt_text(ctx, c[0]);
    out->family = hf_rt_text(ctx, hf_rt_first(c[1], ctx->d.subcomponent));
    out->given = hf_rt_text(ctx, c[2]);
    out->middle = hf_rt_text(ctx, c[3]);
    out->suffix = hf_rt_text(ctx, c[4]);
    out->prefix = hf_rt_text(ctx, c[5]);
    out->degree = hf_rt_text(ctx, c[6]);
    out->assigning_authority = hf_rt_text(ctx, hf_rt_first(c[8], ctx->d.subcomponent));
    out->identifier_type = hf_rt_text(ctx, c[12]);
    return any(&out->id, 9);
}

hf_rec_provider *hf_rt_provider(hf_rec_ctx *ctx, hf_span rep) {
    if (rep.len == 0)
        return NULL;
    hf_rec_provider *r = take(ctx, sizeof *r);
    return r != NULL && hf_rt_provider_into(ctx, rep, r) ? r : NULL;
}

bool hf_rt_addr_into(hf_rec_ctx *ctx, hf_span rep, hf_rec_addr *out) {
    hf_span c[9];
    hf_rt_mcomps(ctx, rep, ctx->d.component, ctx->d.repetition, c, 9);
    out->street = hf_rt_text(ctx, hf_rt_first(c[0], ctx->d.subcomponent));
    out->other_designation = hf_rt_text(ctx, c[1]);
    out->city = hf_rt_text(ctx, c[2]);
    out->state = hf_rt_text(ctx, c[3]);
    out->zip = hf_rt_text(ctx, c[4]);
    out->country = hf_rt_text(ctx, c[5]);
    out->address_type = hf_rt_text(ctx, c[6]);
    out->county = hf_rt_text(ctx, c[8]);
    return any(&out->street, 8);
}

hf_rec_addr *hf_rt_addr(hf_rec_ctx *ctx, hf_span rep) {
    if (rep.len == 0)
        return NULL;
    hf_rec_addr *r = take(ctx, sizeof *r);
    return r != NULL && hf_rt_addr_into(ctx, rep, r) ? r : NULL;
}

bool hf_rt_tel_into(hf_rec_ctx *ctx, hf_span rep, hf_span kind, hf_rec_tel *out) {
    out->kind = kind;
    comps_raw(ctx, rep, ctx->d.component, &out->number, 8);
    texts(ctx, &out->number, 8);
    return any(&out->number, 8);
}

hf_rec_loc *hf_rt_loc(hf_rec_ctx *ctx, hf_span rep) {
    if (rep.len == 0)
        return NULL;
    hf_rec_loc *r = take(ctx, sizeof *r);
    if (r == NULL)
        return NULL;
    comps_raw(ctx, rep, ctx->d.component, &r->point_of_care, 8);
    r->facility = hf_rt_first(r->facility, ctx->d.subcomponent);
    texts(ctx, &r->point_of_care, 8);
    return any(&r->point_of_care, 8) ? r : NULL;
}

/* ------------------------------------------------------------------ lists */

void hf_rt_list(hf_rec_ctx *ctx, hf_span field, hf_rt_item_fn fn, size_t item_size, void **v,
                size_t *n) {
    *v = NULL;
    *n = 0;
    if (field.len == 0)
        return;
    size_t cap = hf_rt_count(field, ctx->d.repetition);
    char *items = hf_rec_arena_alloc(&ctx->arena, cap * item_size);
    if (items == NULL) {
        ctx->oom = true;
        return;
    }
    size_t k = 0;
    const char *p = field.p, *end = field.p + field.len;
    for (;;) {
        const char *q = hf_rt_find(p, end, ctx->d.repetition);
        hf_span rep = {p, (size_t)((q != NULL ? q : end) - p)};
        if (rep.len > 0 && fn(ctx, rep, items + k * item_size))
            k++;
        if (q == NULL)
            break;
        p = q + 1;
    }
    if (k > 0) {
        *v = items;
        *n = k;
    }
}

void hf_rt_str_list(hf_rec_ctx *ctx, hf_span field, bool comp1, hf_span **v, size_t *n) {
    *v = NULL;
    *n = 0;
    if (field.len == 0)
        return;
    size_t cap = hf_rt_count(field, ctx->d.repetition);
    hf_span *items = hf_rec_arena_alloc(&ctx->arena, cap * sizeof *items);
    if (items == NULL) {
        ctx->oom = true;
        return;
    }
    size_t k = 0;
    const char *p = field.p, *end = field.p + field.len;
    for (;;) {
        const char *q = hf_rt_find(p, end, ctx->d.repetition);
        hf_span rep = {p, (size_t)((q != NULL ? q : end) - p)};
        if (comp1)
            rep = hf_rt_first(rep, ctx->d.component);
        hf_span t = hf_rt_text(ctx, rep);
        if (t.len > 0)
            items[k++] = t;
        if (q == NULL)
            break;
        p = q + 1;
    }
    if (k > 0) {
        *v = items;
        *n = k;
    }
}

void hf_rt_pick_mrn(const hf_rec_cx *ids, size_t n, hf_span *mrn, hf_span *authority,
                    hf_span *type) {
    const hf_rec_cx *pick = NULL;
    for (size_t i = 0; i < n && pick == NULL; i++)
        if (ids[i].id.len > 0 && ids[i].identifier_type.len == 2 &&
            memcmp(ids[i].identifier_type.p, "MR", 2) == 0)
            pick = &ids[i];
    for (size_t i = 0; i < n && pick == NULL; i++)
        if (ids[i].id.len > 0)
            pick = &ids[i];
    if (pick == NULL) {
        *mrn = *authority = *type = EMPTY;
        return;
    }
    *mrn = pick->id;
    *type = pick->identifier_type;
    *authority = EMPTY;
    if (pick->assigning_authority != NULL)
        *authority = pick->assigning_authority->namespace_id.len > 0
                         ? pick->assigning_authority->namespace_id
                         : pick->assigning_authority->universal_id;
}
