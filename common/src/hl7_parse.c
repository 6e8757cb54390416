/* hl7_parse.c - the HL7 v2 (ER7) parse: one pass that indexes segments and
 * fields of one message as offsets into the caller's buffer.
 *
 * Steps: strip MLLP framing, BOM and leading blank lines; read MSH-1/MSH-2
 * (the delimiters); count separators to size the index (exact, so a parse
 * allocates at most once); then one byte loop that visits only the field
 * separators and segment terminators. The loop finds them 64 bytes at a time
 * with SSE2 compare masks (a portable byte loop elsewhere) and walks the set
 * bits, so the cost per byte stays low even though HL7 has a separator every
 * few bytes. Repetitions, components and subcomponents are not indexed: they
 * are found on access (hl7_access.c) inside the short field span. Their
 * limits are still enforced here, exactly, by scanning only fields long
 * enough to hold more elements than the smallest of those limits.
 *
 * Errors name the segment (PID[2]-3) and the byte offset in the caller's
 * buffer and never quote message content.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

const hf_hl7_limits hf_hl7_limits_default = {
    .max_bytes = (size_t)64 << 20,
    .max_segments = 100000,
    .max_fields = 1024,
    .max_reps = 16384,
    .max_components = 1024,
    .max_subcomponents = 1024,
};

/* Offsets are uint32_t and one past the end must still fit. */
#define HF_HL7_MAX_INPUT ((size_t)UINT32_MAX - 2u)

#define MLLP_SB 0x0b
#define MLLP_EB 0x1c

/* Below this many index bytes (about 6 KB of message) the index is sized
 * from the length alone; above it, from an exact separator count. */
#define INDEX_UPPER_BOUND_BYTES ((size_t)64 << 10)

#define OCC_SLOTS 64 /* segment-ID -> count table; real messages use < 40 IDs */
#define OCC_FILL 48  /* past this, recount_occurrences does it in one pass */

/* State of one parse. */
typedef struct pstate {
    hf_hl7_msg *m;
    const char *b;         /* the caller's buffer */
    hf_hl7_limits lim;     /* effective limits */
    size_t thresh;         /* elements this long may break a level limit */
    uint32_t ne;           /* elements used in m->el */
    uint32_t first;        /* element index of the current segment's ID */
    size_t seg_start;      /* offset of the current segment */
    hf_err *err;           /* may be NULL */
    int occ_used;          /* slots used in occ_key */
    int occ_overflow;      /* some segment's ID did not fit in the table */
    uint32_t occ_key[OCC_SLOTS];
    uint32_t occ_cnt[OCC_SLOTS];
} pstate;

/* ---------------------------------------------------------------- helpers */

static int is_blank_byte(unsigned char c) {
    return c == ' ' || c == '\t' || c == MLLP_SB || c == MLLP_EB;
}

static int is_blank(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_blank_byte((unsigned char)p[i]))
            return 0;
    return 1;
}

static int valid_id(const char *p, size_t len, char fs) {
    if (len < 3 || !(p[0] >= 'A' && p[0] <= 'Z'))
        return 0;
    for (int i = 1; i < 3; i++)
        if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')))
            return 0;
    return len == 3 || p[3] == fs;
}

static int is_structural_id(uint32_t id) {
    return id == hf_hl7_pack_id("MSH") || id == hf_hl7_pack_id("FHS") ||
           id == hf_hl7_pack_id("BHS") || id == hf_hl7_pack_id("BTS") ||
           id == hf_hl7_pack_id("FTS");
}

/* n of SEG[n] for a new segment with @p id. */
static uint32_t occ_next(pstate *ps, uint32_t id) {
    unsigned h = (unsigned)((id * 2654435761u) >> 26) & (OCC_SLOTS - 1);
    for (unsigned i = 0; i < OCC_SLOTS; i++) {
        unsigned j = (h + i) & (OCC_SLOTS - 1);
        if (ps->occ_key[j] == id)
            return ++ps->occ_cnt[j];
        if (ps->occ_key[j] == 0) {
            if (ps->occ_used >= OCC_FILL)
                break;
            ps->occ_used++;
            ps->occ_key[j] = id;
            ps->occ_cnt[j] = 1;
            return 1;
        }
    }
    ps->occ_overflow = 1; /* recount_occurrences fixes every segment later */
    return 0;
}

/* Index of a valid segment ID in [0, 26*36*36). */
static uint32_t id_index(uint32_t id) {
    uint32_t v = 0;
    for (int i = 0; i < 3; i++) {
        unsigned c = (id >> (8 * i)) & 0xff;
        v = v * 36 + (c <= '9' ? c - '0' : c - 'A' + 10);
    }
    return v - 10 * 36 * 36; /* the first character is a letter: 10..35 */
}

/* The slow path for messages with more than OCC_FILL distinct segment IDs
 * (never seen in real traffic; a fuzzer or an attacker): one counting pass
 * over a table of every possible ID, linear in the segments. */
static hf_status recount_occurrences(pstate *ps) {
    uint32_t *cnt = calloc(26 * 36 * 36, sizeof *cnt);
    if (cnt == NULL)
        return hf_err_set(ps->err, HF_ENOMEM, "segment occurrence table");
    for (uint32_t k = 0; k < ps->m->nseg; k++)
        ps->m->seg[k].occ = ++cnt[id_index(ps->m->seg[k].id)];
    free(cnt);
    return HF_OK;
}

/* Location text of field @p field of the segment being built; its ID has
 * been validated already. */
static void cur_loc(pstate *ps, char *dst, size_t cap, size_t field, size_t rep, size_t comp) {
    const char *p = ps->b + ps->seg_start;
    uint32_t occ = 1, id = hf_hl7_pack_id(p);
    for (uint32_t k = 0; k < ps->m->nseg; k++)
        occ += ps->m->seg[k].id == id;
    hf_hl7_loc_raw(dst, cap, p, occ, field, rep, comp, 0);
}

/* ------------------------------------------------------------ limit scans */

/* Counts repetitions/components/subcomponents of element @p k ([a, x)) of
 * the current segment; called only for elements >= thresh bytes long. */
static hf_status check_levels(pstate *ps, uint32_t k, size_t a, size_t x) {
    const hf_hl7_delims *d = &ps->m->d;
    const hf_hl7_limits *L = &ps->lim;
    size_t field = ps->m->nseg == 0 ? k + 1 : k;
    uint32_t reps = 1, comps = 1, subs = 1;
    char loc[96];
    for (size_t i = a; i < x; i++) {
        char c = ps->b[i];
        if (c == d->repetition) {
            comps = subs = 1;
            if (++reps > L->max_reps) {
                cur_loc(ps, loc, sizeof loc, field, 0, 0);
                return hf_err_set(ps->err, HF_ELIMIT,
                                  "%s: more than max_reps %u repetitions (byte %zu)", loc,
                                  L->max_reps, i);
            }
        } else if (c == d->component) {
            subs = 1;
            if (++comps > L->max_components) {
                cur_loc(ps, loc, sizeof loc, field, reps, 0);
                return hf_err_set(ps->err, HF_ELIMIT,
                                  "%s: more than max_components %u components (byte %zu)", loc,
                                  L->max_components, i);
            }
        } else if (d->subcomponent != 0 && c == d->subcomponent) {
            if (++subs > L->max_subcomponents) {
                cur_loc(ps, loc, sizeof loc, field, reps, comps);
                return hf_err_set(ps->err, HF_ELIMIT,
                                  "%s: more than max_subcomponents %u subcomponents (byte %zu)",
                                  loc, L->max_subcomponents, i);
            }
        }
    }
    return HF_OK;
}

/* Repetition, component and subcomponent separators in [p, p + n), or
 * more: bytes may be counted twice (a count of 0 bytes stands for a
 * subcomponent separator of 0). Each level's count is at most this total, so
 * an element whose total + 1 is within every level limit cannot break one
 * and needs no check_levels pass. SSE2: 16 bytes a step into byte counters,
 * summed before they can wrap. */
static size_t count_level_seps(const char *p, size_t n, const hf_hl7_delims *d) {
#ifdef __SSE2__
    const __m128i vr = _mm_set1_epi8(d->repetition), vc = _mm_set1_epi8(d->component);
    const __m128i vs = _mm_set1_epi8(d->subcomponent), zero = _mm_setzero_si128();
    const char *end = p + n;
    size_t total = 0;
    while (end - p >= 16) {
        __m128i acc = zero; /* a byte counter per lane: at most 255 steps */
        for (int k = 0; k < 255 && end - p >= 16; k++, p += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vr), _mm_cmpeq_epi8(x, vc)),
                                       _mm_cmpeq_epi8(x, vs));
            acc = _mm_sub_epi8(acc, hit); /* a hit is -1 */
        }
        __m128i sum = _mm_sad_epu8(acc, zero); /* two 64-bit lane sums */
        total += (size_t)_mm_cvtsi128_si32(sum) + (size_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
    }
    if (p < end && n < 16) {
        for (; p < end; p++)
            total += *p == d->repetition || *p == d->component || *p == d->subcomponent;
    } else if (p < end) { /* the last 16 bytes again (some counted twice) */
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(end - 16));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vr), _mm_cmpeq_epi8(x, vc)),
                                   _mm_cmpeq_epi8(x, vs));
        total += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(hit));
    }
    return total;
#else
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += p[i] == d->repetition || p[i] == d->component || p[i] == d->subcomponent;
    return total;
#endif
}

/* --------------------------------------------------------- segment close */

/* Ends the current segment at offset @p x (its terminator, or the end of the
 * input when @p at_end). Blank lines are dropped; anything else must be a
 * valid segment within the limits, and is recorded. */
static hf_status close_segment(pstate *ps, size_t x, int at_end) {
    hf_hl7_msg *m = ps->m;
    const char *b = ps->b;
    size_t st = ps->seg_start, len = x - st;
    uint32_t nel = ps->ne - ps->first;
    char loc[96];

    if (!at_end && b[x] == '\n')
        m->quirks |= HF_HL7_Q_LF;
    if (len == 0 || is_blank(b + st, len)) {
        int crlf = len == 0 && !at_end && b[x] == '\n' && x > 0 && b[x - 1] == '\r';
        if (!crlf && !(len == 0 && at_end))
            m->quirks |= HF_HL7_Q_BLANK_LINES;
        ps->ne = ps->first;
        return HF_OK;
    }
    if (!valid_id(b + st, len, m->d.field))
        return hf_err_set(ps->err, HF_ESYNTAX,
                          "segment %u: segment ID must be 3 characters (A-Z, then A-Z or 0-9) "
                          "followed by the field separator (byte %zu)",
                          m->nseg + 1, st);
    uint32_t id = hf_hl7_pack_id(b + st);
    int hdr = m->nseg == 0;
    if (!hdr && is_structural_id(id)) {
        if (id == hf_hl7_pack_id("MSH"))
            return hf_err_set(ps->err, HF_ESYNTAX,
                              "segment %u: a second MSH segment starts another message; split "
                              "the input into messages first (byte %zu)",
                              m->nseg + 1, st);
        return hf_err_set(ps->err, HF_ESYNTAX,
                          "segment %u: batch segment %.3s inside a message; split the batch "
                          "into messages first (byte %zu)",
                          m->nseg + 1, b + st, st);
    }
    if (m->nseg >= ps->lim.max_segments)
        return hf_err_set(ps->err, HF_ELIMIT,
                          "segment %u: more than max_segments %u segments (byte %zu)",
                          m->nseg + 1, ps->lim.max_segments, st);
    size_t nfields = hdr ? nel : nel - 1;
    if (nfields > ps->lim.max_fields) {
        uint32_t k = hdr ? ps->lim.max_fields : ps->lim.max_fields + 1;
        cur_loc(ps, loc, sizeof loc, (size_t)ps->lim.max_fields + 1, 0, 0);
        return hf_err_set(ps->err, HF_ELIMIT, "%s: more than max_fields %u fields (byte %u)", loc,
                          ps->lim.max_fields, m->el[ps->first + k]);
    }
    if (len >= ps->thresh) { /* only then can an element be that long */
        for (uint32_t k = 0; k < nel; k++) {
            if (hdr && k == 1)
                continue; /* MSH-2 is literal */
            size_t a = m->el[ps->first + k];
            size_t e = k + 1 < nel ? (size_t)m->el[ps->first + k + 1] - 1 : x;
            if (e - a >= ps->thresh &&
                count_level_seps(b + a, e - a, &m->d) + 1 > ps->thresh) {
                hf_status s2 = check_levels(ps, k, a, e);
                if (s2 != HF_OK)
                    return s2;
            }
        }
    }
    uint32_t occ = occ_next(ps, id);
    hf_hl7_seg *s = &m->seg[m->nseg++];
    s->off = (uint32_t)st;
    s->len = (uint32_t)len;
    s->first = ps->first;
    s->nel = nel;
    s->id = id;
    s->occ = occ;
    if (at_end)
        m->quirks |= HF_HL7_Q_NO_FINAL_TERM;
    return HF_OK;
}

/* ------------------------------------------------------------- byte loop */

#if defined(__SSE2__)
typedef struct vdelims {
    __m128i fs, cr, lf;
} vdelims;

static inline vdelims vdelims_make(char fs) {
    vdelims v = {_mm_set1_epi8(fs), _mm_set1_epi8('\r'), _mm_set1_epi8('\n')};
    return v;
}

static inline void block_masks16(const char *p, const vdelims *v, uint64_t *mf, uint64_t *mt,
                                 int shift) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i t = _mm_or_si128(_mm_cmpeq_epi8(x, v->cr), _mm_cmpeq_epi8(x, v->lf));
    *mf |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, v->fs)) << shift;
    *mt |= (uint64_t)(uint32_t)_mm_movemask_epi8(t) << shift;
}

/* Bit i of *mf set when p[i] is the field separator, of *mt when p[i] is
 * CR or LF (64 bytes). */
static inline void block_masks(const char *p, const vdelims *v, uint64_t *mf, uint64_t *mt) {
    *mf = *mt = 0;
    block_masks16(p, v, mf, mt, 0);
    block_masks16(p + 16, v, mf, mt, 16);
    block_masks16(p + 32, v, mf, mt, 32);
    block_masks16(p + 48, v, mf, mt, 48);
}
#else
typedef struct vdelims {
    char fs;
} vdelims;

static inline vdelims vdelims_make(char fs) {
    vdelims v = {fs};
    return v;
}

static inline void block_masks(const char *p, const vdelims *v, uint64_t *mf, uint64_t *mt) {
    *mf = *mt = 0;
    for (int i = 0; i < 64; i++) {
        *mf |= (uint64_t)(p[i] == v->fs) << i;
        *mt |= (uint64_t)(p[i] == '\r' || p[i] == '\n') << i;
    }
}
#endif

/* Counts field separators and terminators in [p, p+n) to size the index. */
static void count_delims(const char *p, size_t n, char fs, size_t *nfs, size_t *nterm) {
    size_t cf = 0, ct = 0, i = 0;
#if defined(__SSE2__)
    const __m128i vf = _mm_set1_epi8(fs), vcr = _mm_set1_epi8('\r'), vlf = _mm_set1_epi8('\n');
    const __m128i zero = _mm_setzero_si128();
    while (n - i >= 16) {
        __m128i af = zero, at = zero;
        size_t stop = n - i > 255 * 16 ? i + 255 * 16 : n; /* byte lanes hold <= 255 */
        for (; stop - i >= 16; i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            af = _mm_sub_epi8(af, _mm_cmpeq_epi8(x, vf));
            at = _mm_sub_epi8(at, _mm_or_si128(_mm_cmpeq_epi8(x, vcr), _mm_cmpeq_epi8(x, vlf)));
        }
        __m128i sf = _mm_sad_epu8(af, zero), st = _mm_sad_epu8(at, zero);
        cf += (size_t)_mm_extract_epi16(sf, 0) + (size_t)_mm_extract_epi16(sf, 4);
        ct += (size_t)_mm_extract_epi16(st, 0) + (size_t)_mm_extract_epi16(st, 4);
    }
#endif
    for (; i < n; i++) {
        cf += p[i] == fs;
        ct += p[i] == '\r' || p[i] == '\n';
    }
    *nfs = cf;
    *nterm = ct;
}

/* Visits every field separator and terminator in [pos, e). Terminators
 * are rare, so the loop takes them as the outer step and pushes the field
 * separators before each one in a tight inner loop that does not look at
 * the bytes again (no data-dependent branch per separator). */
static hf_status scan(pstate *ps, size_t pos, size_t e) {
    const char *b = ps->b;
    const vdelims v = vdelims_make(ps->m->d.field);
    uint32_t *el = ps->m->el;
    uint32_t ne = ps->ne;

    for (; pos < e; pos += 64) {
        uint64_t mf, mt;
        if (e - pos >= 64) {
            block_masks(b + pos, &v, &mf, &mt);
        } else {
            char tail[64] = {0}; /* NUL is never a delimiter */
            memcpy(tail, b + pos, e - pos);
            block_masks(tail, &v, &mf, &mt);
        }
        while (mt != 0) {
            uint64_t before = mf & ((mt & (~mt + 1)) - 1); /* separators before it */
            mf ^= before;
            while (before != 0) {
                el[ne++] = (uint32_t)(pos + (size_t)__builtin_ctzll(before) + 1);
                before &= before - 1;
            }
            size_t x = pos + (size_t)__builtin_ctzll(mt);
            mt &= mt - 1;
            ps->ne = ne;
            hf_status st = close_segment(ps, x, 0);
            if (st != HF_OK)
                return st;
            ne = ps->ne;
            ps->seg_start = x + 1;
            ps->first = ne;
            el[ne++] = (uint32_t)(x + 1);
        }
        while (mf != 0) {
            el[ne++] = (uint32_t)(pos + (size_t)__builtin_ctzll(mf) + 1);
            mf &= mf - 1;
        }
    }
    ps->ne = ne;
    return close_segment(ps, e, 1);
}

/* -------------------------------------------------------------- the header */

/* Reads MSH-1 and MSH-2 at @p s; returns the length of MSH-2 in *k. */
static hf_status read_delims(pstate *ps, size_t s, size_t e, size_t *k) {
    const char *b = ps->b;
    hf_hl7_delims *d = &ps->m->d;
    if (e - s < 4 || b[s + 3] == '\r' || b[s + 3] == '\n')
        return hf_err_set(ps->err, HF_ESYNTAX, "MSH-1: missing field separator (byte %zu)", s + 3);
    if (!hf_hl7_is_delim_char((unsigned char)b[s + 3]))
        return hf_err_set(ps->err, HF_ESYNTAX,
                          "MSH-1: field separator must be a printable non-alphanumeric "
                          "character (byte %zu)",
                          s + 3);
    char fs = b[s + 3];
    size_t i = s + 4, n = 0;
    while (i + n < e && n <= 5 && b[i + n] != fs && b[i + n] != '\r' && b[i + n] != '\n')
        n++;
    const char *c = b + i;
    int ok = n >= 3 && n <= 5;
    for (size_t j = 0; ok && j < n; j++) {
        ok = hf_hl7_is_delim_char((unsigned char)c[j]) && c[j] != fs;
        for (size_t q = 0; ok && q < j; q++)
            ok = c[q] != c[j];
    }
    /* Three characters are accepted only as exactly "^~&": the recommended
     * set with the escape character lost, as in the HL7 ELR realm samples
     * (component, repetition, subcomponent; no escape). See
     * docs/internals/hl7-parser.md. */
    if (ok && n == 3 && memcmp(c, "^~&", 3) != 0)
        ok = 0;
    if (!ok)
        return hf_err_set(ps->err, HF_ESYNTAX,
                          "MSH-2: encoding characters must be 4 or 5 distinct non-alphanumeric "
                          "characters (byte %zu)",
                          i);
    d->field = fs;
    d->component = c[0];
    d->repetition = c[1];
    if (n == 3) {
        d->escape = 0;
        d->subcomponent = c[2];
        ps->m->quirks |= HF_HL7_Q_MSH2_NO_ESCAPE;
    } else {
        d->escape = c[2];
        d->subcomponent = c[3];
        d->truncation = n == 5 ? c[4] : 0;
    }
    *k = n;
    return HF_OK;
}

/* ------------------------------------------------------------ entry points */

static void msg_clear(hf_hl7_msg *m) {
    m->base = "";
    m->body_off = m->body_len = 0;
    memset(&m->d, 0, sizeof m->d);
    m->quirks = 0;
    m->nseg = 0;
}

static hf_hl7_limits effective_limits(const hf_hl7_limits *lim) {
    hf_hl7_limits L = hf_hl7_limits_default;
    if (lim != NULL) {
        if (lim->max_bytes)
            L.max_bytes = lim->max_bytes;
        if (lim->max_segments)
            L.max_segments = lim->max_segments;
        if (lim->max_fields)
            L.max_fields = lim->max_fields;
        if (lim->max_reps)
            L.max_reps = lim->max_reps;
        if (lim->max_components)
            L.max_components = lim->max_components;
        if (lim->max_subcomponents)
            L.max_subcomponents = lim->max_subcomponents;
    }
    if (L.max_bytes > HF_HL7_MAX_INPUT)
        L.max_bytes = HF_HL7_MAX_INPUT;
    return L;
}

/* Everything up to the index allocation: limits, framing, delimiters and
 * the separator counts. Sets *s_out and *e_out to the body and *k to MSH-2's length. */
static hf_status prepare(pstate *ps, hf_span raw, size_t *s_out, size_t *e_out, size_t *k,
                         size_t *need_seg, size_t *need_el) {
    const char *b = raw.p;
    size_t s = 0, e = raw.len;
    if (raw.len > ps->lim.max_bytes)
        return hf_err_set(ps->err, HF_ELIMIT, "message of %zu bytes exceeds max_bytes %zu",
                          raw.len, ps->lim.max_bytes);
    if (e > 0 && (unsigned char)b[0] == MLLP_SB) {
        s = 1;
        ps->m->quirks |= HF_HL7_Q_MLLP;
    }
    if (e - s >= 3 && memcmp(b + s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        ps->m->quirks |= HF_HL7_Q_BOM;
    }
    size_t t = e;
    while (t > s && (b[t - 1] == '\r' || b[t - 1] == '\n'))
        t--;
    if (t > s && (unsigned char)b[t - 1] == MLLP_EB) {
        e = t - 1;
        ps->m->quirks |= HF_HL7_Q_MLLP;
    }
    size_t s0 = s;
    while (s < e && (is_blank_byte((unsigned char)b[s]) || b[s] == '\r' || b[s] == '\n'))
        s++;
    if (s > s0)
        ps->m->quirks |= HF_HL7_Q_BLANK_LINES;
    if (s == e)
        return hf_err_set(ps->err, HF_ESYNTAX, "empty message: no MSH segment (byte %zu)", s);
    if (e - s < 3 || memcmp(b + s, "MSH", 3) != 0) {
        if (e - s >= 3 && is_structural_id(hf_hl7_pack_id(b + s)))
            return hf_err_set(ps->err, HF_ESYNTAX,
                              "batch segment %.3s where a message must start; split the batch "
                              "into messages first (byte %zu)",
                              b + s, s);
        return hf_err_set(ps->err, HF_ESYNTAX,
                          "a message must start with an MSH segment (byte %zu)", s);
    }
    hf_status st = read_delims(ps, s, e, k);
    if (st != HF_OK)
        return st;
    /* Index size: an upper bound from the length (every element starts
     * after its own separator byte; a recorded segment takes at least 4
     * bytes) when the memory is already there or small, else an exact count
     * of the separators (a fast SIMD pass) so huge inputs get what they
     * need and no more. */
    size_t ub_el = e - s + 2, ub_seg = (e - s) / 4 + 2;
    if (ub_seg > ps->lim.max_segments)
        ub_seg = ps->lim.max_segments;
    if ((ub_el <= ps->m->el_cap && ub_seg <= ps->m->seg_cap) ||
        ub_el * sizeof(uint32_t) + ub_seg * sizeof(hf_hl7_seg) <= INDEX_UPPER_BOUND_BYTES) {
        *need_el = ub_el;
        *need_seg = ub_seg;
    } else {
        size_t nfs, nterm;
        count_delims(b + s, e - s, ps->m->d.field, &nfs, &nterm);
        *need_seg = nterm + 1 < ps->lim.max_segments ? nterm + 1 : ps->lim.max_segments;
        *need_el = nfs + nterm + 2;
    }
    *s_out = s;
    *e_out = e;
    return HF_OK;
}

static hf_status run(pstate *ps, size_t s, size_t e, size_t k) {
    hf_hl7_msg *m = ps->m;
    ps->seg_start = s;
    ps->first = 0;
    m->el[0] = (uint32_t)s;
    m->el[1] = (uint32_t)(s + 4);
    ps->ne = 2;
    hf_status st = scan(ps, s + 4 + k, e);
    if (st == HF_OK && ps->occ_overflow)
        st = recount_occurrences(ps);
    if (st != HF_OK)
        return st;
    const hf_hl7_seg *last = &m->seg[m->nseg - 1];
    m->body_off = (uint32_t)s;
    m->body_len = last->off + last->len - (uint32_t)s;
    return HF_OK;
}

static void pstate_init(pstate *ps, hf_hl7_msg *m, hf_span raw, const hf_hl7_limits *lim,
                        hf_err *err) {
    ps->m = m;
    ps->b = raw.p;
    ps->lim = effective_limits(lim);
    uint32_t t = ps->lim.max_reps;
    if (ps->lim.max_components < t)
        t = ps->lim.max_components;
    if (ps->lim.max_subcomponents < t)
        t = ps->lim.max_subcomponents;
    ps->thresh = t;
    ps->err = err;
    ps->occ_used = 0;
    ps->occ_overflow = 0;
    memset(ps->occ_key, 0, sizeof ps->occ_key);
}

hf_hl7_msg *hf_hl7_msg_new(void) {
    hf_hl7_msg *m = calloc(1, sizeof *m);
    if (m != NULL)
        msg_clear(m);
    return m;
}

void hf_hl7_msg_destroy(hf_hl7_msg *msg) {
    if (msg == NULL)
        return;
    free(msg->mem);
    free(msg);
}

hf_status hf_hl7_parse_into(hf_hl7_msg *msg, hf_span raw, const hf_hl7_limits *lim, hf_err *err) {
    pstate ps;
    size_t s, e, k, need_seg, need_el;
    if (raw.p == NULL) /* no buffer: nothing to read, whatever len says */
        raw = (hf_span){"", 0};
    msg_clear(msg);
    msg->base = raw.p;
    pstate_init(&ps, msg, raw, lim, err);
    hf_status st = prepare(&ps, raw, &s, &e, &k, &need_seg, &need_el);
    if (st != HF_OK)
        goto fail;
    if (need_seg > msg->seg_cap || need_el > msg->el_cap) {
        size_t sc = need_seg > msg->seg_cap ? need_seg : msg->seg_cap;
        size_t ec = need_el > msg->el_cap ? need_el : msg->el_cap;
        void *mem = malloc(sc * sizeof(hf_hl7_seg) + ec * sizeof(uint32_t));
        if (mem == NULL) {
            st = hf_err_set(err, HF_ENOMEM, "hl7 index of %zu segments, %zu fields", sc, ec);
            goto fail;
        }
        free(msg->mem);
        msg->mem = mem;
        msg->seg = mem;
        msg->el = (uint32_t *)(void *)((hf_hl7_seg *)mem + sc);
        msg->seg_cap = sc;
        msg->el_cap = ec;
    }
    st = run(&ps, s, e, k);
    if (st == HF_OK)
        return HF_OK;
fail:
    msg_clear(msg);
    return st;
}

hf_status hf_hl7_parse(hf_span raw, const hf_hl7_limits *lim, hf_hl7_msg **out, hf_err *err) {
    pstate ps;
    hf_hl7_msg tmp;
    size_t s, e, k, need_seg, need_el;
    *out = NULL;
    if (raw.p == NULL) /* no buffer: nothing to read, whatever len says */
        raw = (hf_span){"", 0};
    memset(&tmp, 0, sizeof tmp);
    msg_clear(&tmp);
    tmp.base = raw.p;
    pstate_init(&ps, &tmp, raw, lim, err);
    hf_status st = prepare(&ps, raw, &s, &e, &k, &need_seg, &need_el);
    if (st != HF_OK)
        return st;
    /* One block: the struct, then the segment records, then the elements. */
    size_t hdr = (sizeof(hf_hl7_msg) + 7) & ~(size_t)7;
    hf_hl7_msg *m = malloc(hdr + need_seg * sizeof(hf_hl7_seg) + need_el * sizeof(uint32_t));
    if (m == NULL)
        return hf_err_set(err, HF_ENOMEM, "hl7 message index of %zu segments, %zu fields",
                          need_seg, need_el);
    *m = tmp;
    m->mem = NULL;
    m->seg = (hf_hl7_seg *)(void *)((char *)m + hdr);
    m->el = (uint32_t *)(void *)(m->seg + need_seg);
    m->seg_cap = need_seg;
    m->el_cap = need_el;
    ps.m = m;
    st = run(&ps, s, e, k);
    if (st != HF_OK) {
        free(m);
        return st;
    }
    *out = m;
    return HF_OK;
}
