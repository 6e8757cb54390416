/* hl7_access.c - reading a parsed HL7 message: segments, fields, the
 * repetition/component/subcomponent levels below them (found on demand with
 * memchr inside the field span), location formatting and the leaf walk.
 *
 * Nothing here allocates or writes to the message; every function is safe on
 * an empty (failed) message and returns empty spans, never NULL, for
 * anything absent.
 */
#include <stdio.h>
#include <string.h>

#include "hl7_internal.h"

/* ------------------------------------------------------------------ message */

hf_span hf_hl7_msg_raw(const hf_hl7_msg *msg) {
    return (hf_span){msg->base + msg->body_off, msg->body_len};
}

size_t hf_hl7_offset(const hf_hl7_msg *msg, hf_span s) {
    uintptr_t b = (uintptr_t)msg->base, p = (uintptr_t)s.p;
    if (p < b || p > b + msg->body_off + msg->body_len)
        return (size_t)-1;
    return (size_t)(p - b);
}

hf_hl7_delims hf_hl7_msg_delims(const hf_hl7_msg *msg) {
    return msg->d;
}

unsigned hf_hl7_msg_quirks(const hf_hl7_msg *msg) {
    return msg->quirks;
}

/* ----------------------------------------------------------------- segments */

size_t hf_hl7_seg_count(const hf_hl7_msg *msg) {
    return msg->nseg;
}

hf_span hf_hl7_seg_id(const hf_hl7_msg *msg, size_t seg) {
    if (seg >= msg->nseg)
        return HF_HL7_EMPTY;
    return (hf_span){msg->base + msg->seg[seg].off, 3};
}

hf_span hf_hl7_seg_raw(const hf_hl7_msg *msg, size_t seg) {
    if (seg >= msg->nseg)
        return HF_HL7_EMPTY;
    return (hf_span){msg->base + msg->seg[seg].off, msg->seg[seg].len};
}

uint32_t hf_hl7_seg_occurrence(const hf_hl7_msg *msg, size_t seg) {
    return seg < msg->nseg ? msg->seg[seg].occ : 0;
}

size_t hf_hl7_seg_find(const hf_hl7_msg *msg, const char id[3], uint32_t occurrence) {
    uint32_t key = hf_hl7_pack_id(id);
    if (occurrence == 0)
        occurrence = 1;
    for (size_t i = 0; i < msg->nseg; i++)
        if (msg->seg[i].id == key && msg->seg[i].occ == occurrence)
            return i;
    return HF_HL7_NONE;
}

/* ------------------------------------------------------------------- fields */

size_t hf_hl7_field_count(const hf_hl7_msg *msg, size_t seg) {
    if (seg >= msg->nseg)
        return 0;
    return seg == 0 ? msg->seg[0].nel : msg->seg[seg].nel - 1;
}

size_t hf_hl7_seg_fields(const hf_hl7_msg *msg, size_t seg, hf_span *out, size_t cap) {
    if (seg >= msg->nseg)
        return 0;
    const hf_hl7_seg *s = &msg->seg[seg];
    const uint32_t *el = msg->el + s->first;
    const char *b = msg->base;
    size_t nel = s->nel, n = seg == 0 ? nel : nel - 1;
    if (cap == 0 || nel < 2)
        return n;
    if (seg == 0) { /* MSH-1: the separator after the ID */
        *out++ = (hf_span){b + s->off + 3, 1};
        cap--;
    }
    /* elements 1 .. nel-1; element e ends one byte before e + 1 starts,
     * the last one at the segment's end */
    size_t m = nel - 1 < cap ? nel - 1 : cap;
    for (size_t e = 1; e < m; e++)
        out[e - 1] = (hf_span){b + el[e], (size_t)(el[e + 1] - 1 - el[e])};
    if (m > 0) {
        uint32_t z = m + 1 < nel ? el[m + 1] - 1 : s->off + s->len;
        out[m - 1] = (hf_span){b + el[m], (size_t)(z - el[m])};
    }
    return n;
}

hf_span hf_hl7_field(const hf_hl7_msg *msg, size_t seg, size_t field) {
    if (seg >= msg->nseg)
        return HF_HL7_EMPTY;
    const hf_hl7_seg *s = &msg->seg[seg];
    size_t k = field;
    if (seg == 0 && field >= 1) {
        if (field == 1) /* MSH-1: the separator after the ID */
            return (hf_span){msg->base + s->off + 3, 1};
        k = field - 1;
    }
    if (k >= s->nel)
        return HF_HL7_EMPTY;
    return hf_hl7_elem(msg, s, (uint32_t)k);
}

bool hf_hl7_field_is_literal(const hf_hl7_msg *msg, size_t seg, size_t field) {
    return seg == 0 && msg->nseg > 0 && (field == 1 || field == 2);
}

/* ---------------------------------------------------------------- iteration */

void hf_hl7_iter_init(hf_hl7_iter *it, hf_span s, char sep) {
    it->p = s.p != NULL ? s.p : "";
    it->end = it->p + (s.p != NULL ? s.len : 0);
    it->sep = sep;
    it->done = false;
}

bool hf_hl7_iter_next(hf_hl7_iter *it, hf_span *out) {
    if (it->done)
        return false;
    const char *q = it->sep != 0 ? memchr(it->p, it->sep, (size_t)(it->end - it->p)) : NULL;
    if (q == NULL) {
        *out = (hf_span){it->p, (size_t)(it->end - it->p)};
        it->done = true;
    } else {
        *out = (hf_span){it->p, (size_t)(q - it->p)};
        it->p = q + 1;
    }
    return true;
}

hf_span hf_hl7_nth(hf_span s, char sep, size_t n) {
    hf_hl7_iter it;
    hf_span e;
    if (n == 0)
        return HF_HL7_EMPTY;
    hf_hl7_iter_init(&it, s, sep);
    while (hf_hl7_iter_next(&it, &e))
        if (--n == 0)
            return e;
    return HF_HL7_EMPTY;
}

hf_span hf_hl7_at(const hf_hl7_msg *msg, size_t seg, size_t field, size_t rep, size_t comp,
                  size_t sub) {
    hf_span f = hf_hl7_field(msg, seg, field);
    if (rep == 0 && comp == 0 && sub == 0)
        return f;
    if (field == 0 || hf_hl7_field_is_literal(msg, seg, field))
        return rep <= 1 && comp <= 1 && sub <= 1 ? f : HF_HL7_EMPTY;
    if (rep == 0)
        rep = 1;
    if (comp == 0 && sub != 0)
        comp = 1;
    hf_span r = hf_hl7_nth(f, msg->d.repetition, rep);
    if (comp == 0)
        return r;
    hf_span c = hf_hl7_nth(r, msg->d.component, comp);
    if (sub == 0)
        return c;
    return hf_hl7_nth(c, msg->d.subcomponent, sub);
}

/* -------------------------------------------------------------------- paths */

/* Reads a decimal >= 1 of at most 9 digits at s[*i]. */
static int read_num(const char *s, size_t len, size_t *i, uint32_t *out) {
    uint32_t v = 0;
    size_t n = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9' && n < 9) {
        v = v * 10 + (uint32_t)(s[*i] - '0');
        (*i)++;
        n++;
    }
    if (n == 0 || v == 0 || (*i < len && s[*i] >= '0' && s[*i] <= '9'))
        return 0;
    *out = v;
    return 1;
}

static int read_index(const char *s, size_t len, size_t *i, uint32_t *out) {
    if (*i >= len || s[*i] != '[')
        return 1; /* absent is fine */
    (*i)++;
    if (!read_num(s, len, i, out) || *i >= len || s[*i] != ']')
        return 0;
    (*i)++;
    return 1;
}

hf_status hf_hl7_path_parse(const char *s, size_t len, hf_hl7_path *out, hf_err *err) {
    hf_hl7_path p;
    size_t i = 0;
    memset(&p, 0, sizeof p);
    memset(out, 0, sizeof *out);
    if (len < 3 || !(s[0] >= 'A' && s[0] <= 'Z'))
        goto bad;
    for (i = 1; i < 3; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            goto bad;
    memcpy(p.seg, s, 3);
    if (!read_index(s, len, &i, &p.occ))
        goto bad;
    if (i >= len || s[i] != '-')
        goto bad;
    i++;
    if (!read_num(s, len, &i, &p.field) || !read_index(s, len, &i, &p.rep))
        goto bad;
    if (i < len && s[i] == '.') {
        i++;
        if (!read_num(s, len, &i, &p.comp))
            goto bad;
        if (i < len && s[i] == '.') {
            i++;
            if (!read_num(s, len, &i, &p.sub))
                goto bad;
        }
    }
    if (i != len)
        goto bad;
    *out = p;
    return HF_OK;
bad:
    return hf_err_set(err, HF_ESYNTAX,
                      "path: expected SEG[n]-F[r].C.S with 1-based numbers (column %zu)", i + 1);
}

hf_span hf_hl7_get_path(const hf_hl7_msg *msg, const hf_hl7_path *path) {
    size_t seg = hf_hl7_seg_find(msg, path->seg, path->occ);
    if (seg == HF_HL7_NONE || path->field == 0)
        return HF_HL7_EMPTY;
    if (path->rep == 0 && path->comp == 0)
        return hf_hl7_field(msg, seg, path->field);
    return hf_hl7_at(msg, seg, path->field, path->rep, path->comp, path->sub);
}

hf_span hf_hl7_get(const hf_hl7_msg *msg, const char *path) {
    hf_hl7_path p;
    if (path == NULL || hf_hl7_path_parse(path, strlen(path), &p, NULL) != HF_OK)
        return HF_HL7_EMPTY;
    return hf_hl7_get_path(msg, &p);
}

/* ----------------------------------------------------------------- location */

size_t hf_hl7_loc_raw(char *dst, size_t cap, const char *id, uint32_t occ, size_t field,
                      size_t rep, size_t comp, size_t sub) {
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%.3s", id);
    if (occ > 1)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "[%u]", occ);
    n += snprintf(buf + n, sizeof buf - (size_t)n, "-%zu", field);
    if (rep > 1)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "[%zu]", rep);
    if (comp > 0) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, ".%zu", comp);
        if (sub > 0)
            n += snprintf(buf + n, sizeof buf - (size_t)n, ".%zu", sub);
    }
    if (cap > 0) {
        size_t c = (size_t)n < cap ? (size_t)n : cap - 1;
        memcpy(dst, buf, c);
        dst[c] = '\0';
    }
    return (size_t)n;
}

size_t hf_hl7_loc_format(char *dst, size_t cap, const hf_hl7_msg *msg, size_t seg, size_t field,
                         size_t rep, size_t comp, size_t sub) {
    if (seg >= msg->nseg) {
        if (cap > 0)
            dst[0] = '\0';
        return 0;
    }
    return hf_hl7_loc_raw(dst, cap, msg->base + msg->seg[seg].off, msg->seg[seg].occ, field, rep,
                          comp, sub);
}

/* --------------------------------------------------------------------- walk */

#if defined(__SSE2__)
#include <emmintrin.h>

/* Bit i set when p[i] is one of the four separators (64 bytes). */
static inline uint64_t sep_mask64(const char *p, const __m128i v[4]) {
    uint64_t m = 0;
    for (int i = 0; i < 4; i++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
        __m128i h = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, v[0]), _mm_cmpeq_epi8(x, v[1])),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, v[2]), _mm_cmpeq_epi8(x, v[3])));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(h) << (16 * i);
    }
    return m;
}
#endif

/* Walks one segment from byte @p from (the start of field @p field) to its
 * end: one pass that finds every separator 64 bytes at a time and keeps the
 * field/repetition/component/subcomponent counters without branching on
 * the separator kind. */
static int walk_segment(const hf_hl7_msg *msg, hf_hl7_leaf *leaf, const char *from,
                        const char *end, uint32_t field, hf_hl7_leaf_fn fn, void *ctx) {
    const hf_hl7_delims *d = &msg->d;
    const char fs = d->field, rs = d->repetition, cs = d->component;
    /* without a subcomponent separator, compare against fs again: harmless */
    const char ss = d->subcomponent != 0 ? d->subcomponent : fs;
    const char *start = from;
    uint32_t f = field, r = 1, c = 1, sc = 1;
#if defined(__SSE2__)
    const __m128i v[4] = {_mm_set1_epi8(fs), _mm_set1_epi8(rs), _mm_set1_epi8(cs),
                          _mm_set1_epi8(ss)};
#endif
    for (const char *base = from; base < end; base += 64) {
        uint64_t m = 0;
        size_t n = (size_t)(end - base) < 64 ? (size_t)(end - base) : 64;
#if defined(__SSE2__)
        if (n == 64) {
            m = sep_mask64(base, v);
        } else {
            char tail[64];
            memcpy(tail, base, n);
            memset(tail + n, fs == 0 ? 1 : 0, 64 - n); /* never a separator */
            m = sep_mask64(tail, v) & (((uint64_t)1 << n) - 1);
        }
#else
        for (size_t i = 0; i < n; i++)
            m |= (uint64_t)(base[i] == fs || base[i] == rs || base[i] == cs || base[i] == ss) << i;
#endif
        while (m != 0) {
            const char *p = base + __builtin_ctzll(m);
            m &= m - 1;
            if (p > start) {
                leaf->field = f;
                leaf->rep = r;
                leaf->comp = c;
                leaf->sub = sc;
                leaf->value = (hf_span){start, (size_t)(p - start)};
                int rc = fn(leaf, ctx);
                if (rc != 0)
                    return rc;
            }
            const char ch = *p;
            const uint32_t is_f = ch == fs, is_r = !is_f && ch == rs;
            const uint32_t is_c = !is_f && !is_r && ch == cs;
            f += is_f;
            r = is_f ? 1 : r + is_r;
            c = is_f | is_r ? 1 : c + is_c;
            sc = is_f | is_r | is_c ? 1 : sc + 1;
            start = p + 1;
        }
    }
    if (end > start) {
        leaf->field = f;
        leaf->rep = r;
        leaf->comp = c;
        leaf->sub = sc;
        leaf->value = (hf_span){start, (size_t)(end - start)};
        return fn(leaf, ctx);
    }
    return 0;
}

int hf_hl7_walk(const hf_hl7_msg *msg, hf_hl7_leaf_fn fn, void *ctx) {
    hf_hl7_leaf leaf;
    memset(&leaf, 0, sizeof leaf);
    for (size_t si = 0; si < msg->nseg; si++) {
        const hf_hl7_seg *s = &msg->seg[si];
        const char *end = msg->base + s->off + s->len;
        uint32_t k = si == 0 ? 2 : 1; /* element of the first splittable field */
        leaf.seg = si;
        leaf.seg_id = (hf_span){msg->base + s->off, 3};
        leaf.occ = s->occ;
        leaf.literal = false;
        if (si == 0) { /* MSH-1 and MSH-2: literal values */
            leaf.literal = true;
            leaf.rep = leaf.comp = leaf.sub = 1;
            for (uint32_t f = 1; f <= 2; f++) {
                leaf.field = f;
                leaf.value = hf_hl7_field(msg, si, f);
                if (leaf.value.len == 0)
                    continue;
                int rc = fn(&leaf, ctx);
                if (rc != 0)
                    return rc;
            }
            leaf.literal = false;
        }
        if (k >= s->nel)
            continue;
        int rc = walk_segment(msg, &leaf, msg->base + msg->el[s->first + k], end,
                              si == 0 ? 3 : 1, fn, ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}
