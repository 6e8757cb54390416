/* record_internal.h - what the record_*.c files share: the schema layout
 * tables (descriptors), the context with its arena, and the text helpers
 * the builders use. Not a public interface.
 *
 * The descriptors (record_desc.c) are the one description of the Avro
 * layout inside the C code: the encoder, the decoder, the avro-c bridge,
 * the comparison and the schema check all walk them, so they cannot drift
 * apart; tests/unit/test_record_schema.c checks them against the .avsc
 * files.
 */
#ifndef HL7FLOW_RECORD_INTERNAL_H
#define HL7FLOW_RECORD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "hl7flow/record.h"

/* ----------------------------------------------------------- descriptors */

/* Field kinds: the Avro type and the C type behind it. */
typedef enum hf_rk {
    HF_RK_STR,     /* "string"                         hf_span */
    HF_RK_OSTR,    /* ["null","string"]                hf_span, null when len 0 */
    HF_RK_OBYTES,  /* ["null","bytes"]                 hf_span, null when len 0 */
    HF_RK_INT,     /* "int"                            int32_t */
    HF_RK_TS,      /* long timestamp-micros            int64_t */
    HF_RK_OINT,    /* ["null","int"]                   hf_opt_i32 */
    HF_RK_ODATE,   /* ["null",int date]                hf_opt_i32 */
    HF_RK_OTS,     /* ["null",long timestamp-micros]   hf_opt_i64 */
    HF_RK_ODBL,    /* ["null","double"]                hf_opt_f64 */
    HF_RK_OBOOL,   /* ["null","boolean"]               hf_opt_bool */
    HF_RK_REC,     /* record                           embedded struct */
    HF_RK_OREC,    /* ["null", record]                 pointer, NULL = null */
    HF_RK_ARR,     /* array of records                 HF_REC_ARRAY(T) */
    HF_RK_ARR_STR, /* array of strings                 HF_REC_ARRAY(hf_span) */
    HF_RK_MAP_STR  /* map of strings                   HF_REC_ARRAY(hf_rec_kv) */
} hf_rk;

typedef struct hf_rdesc hf_rdesc;

typedef struct hf_rfield {
    const char *name;    /* Avro field name */
    hf_rk kind;
    uint32_t off;        /* offsetof in the C struct */
    const hf_rdesc *sub; /* record type for REC, OREC and ARR */
} hf_rfield;

struct hf_rdesc {
    const char *name;         /* Avro record name (unqualified) */
    size_t size;              /* sizeof the C struct */
    const hf_rfield *fields;
    size_t nfields;
    bool spans;               /* every field OSTR, the struct an hf_span array
                                 (fast path; hf_rec_schema_check verifies it) */
};

/* The top-level record; its first hf_rec_ncanonical fields are the
 * HF_REC_VALIDATED shape, all of them the HF_REC_STAGED shape. */
extern const hf_rdesc hf_rdesc_rec;
extern const size_t hf_rec_ncanonical;
/* The Segment record (the encoder copies a built segment's fields in one
 * go, see record_encode.c put_run). */
extern const hf_rdesc hf_rdesc_segment;

/* Number of top-level fields written for @p form. */
static inline size_t hf_rec_nfields(hf_rec_form form) {
    return form == HF_REC_STAGED ? hf_rdesc_rec.nfields : hf_rec_ncanonical;
}

/* Generic view of any HF_REC_ARRAY(T) (same layout: pointer, count). */
typedef struct hf_rarr {
    void *v;
    size_t n;
} hf_rarr;

static inline hf_rarr hf_rarr_get(const void *base, uint32_t off) {
    hf_rarr a;
    memcpy(&a, (const char *)base + off, sizeof a);
    return a;
}

static inline void hf_rarr_set(void *base, uint32_t off, void *v, size_t n) {
    hf_rarr a = {v, n};
    memcpy((char *)base + off, &a, sizeof a);
}

static inline const void *hf_rptr_get(const void *base, uint32_t off) {
    const void *p;
    memcpy(&p, (const char *)base + off, sizeof p);
    return p;
}

/* ----------------------------------------------------------------- arena */

typedef struct hf_rec_chunk hf_rec_chunk;

/* Bump allocator: chunks kept across messages, reset per record. */
typedef struct hf_rec_arena {
    hf_rec_chunk *head; /* chunk being filled */
    hf_rec_chunk *all;  /* every chunk, newest first */
    char *p, *end;      /* free space of head */
} hf_rec_arena;

void hf_rec_arena_reset(hf_rec_arena *a);
void hf_rec_arena_free(hf_rec_arena *a);
/* Slow path of hf_rec_arena_alloc: a new chunk of at least @p size. */
void *hf_rec_arena_grow(hf_rec_arena *a, size_t size);

/* @p size bytes aligned to 8, NOT zeroed; NULL when out of memory. */
static inline void *hf_rec_arena_alloc(hf_rec_arena *a, size_t size) {
    size = (size + 7u) & ~(size_t)7u;
    if ((size_t)(a->end - a->p) >= size) {
        void *r = a->p;
        a->p += size;
        return r;
    }
    return hf_rec_arena_grow(a, size);
}

/* Room for up to @p size bytes at the arena's top without taking it: fill
 * some of it, then hf_rec_arena_commit what was used. NULL when out of
 * memory. Nothing else may be allocated in between. */
static inline void *hf_rec_arena_reserve(hf_rec_arena *a, size_t size) {
    size = (size + 7u) & ~(size_t)7u;
    if ((size_t)(a->end - a->p) >= size)
        return a->p;
    if (hf_rec_arena_grow(a, size) == NULL)
        return NULL;
    a->p -= size; /* grow took it: give it back */
    return a->p;
}

static inline void hf_rec_arena_commit(hf_rec_arena *a, size_t used) {
    a->p += (used + 7u) & ~(size_t)7u;
}

static inline void *hf_rec_arena_zalloc(hf_rec_arena *a, size_t size) {
    void *r = hf_rec_arena_alloc(a, size);
    if (r != NULL)
        memset(r, 0, size);
    return r;
}

/* --------------------------------------------------------------- context */

/* How the message's bytes become UTF-8 (hf_rec_header.text_conversion). */
enum { HF_TXT_ASIS = 0, HF_TXT_LATIN1 = 1, HF_TXT_REPAIR = 2 };

#define HF_REC_MAX_COMPS 16 /* components read from one value */

struct hf_rec_ctx {
    hf_rec_arena arena;
    hf_rec rec;
    bool oom;                /* an allocation failed during this build */
    /* per message */
    hf_hl7_delims d;
    const char *mlo, *mend;  /* the message bytes: a search inside them may
                                read ahead up to mend (then masks) */
    int text_mode;           /* HF_TXT_* for raw bytes of this message */
    bool converted_latin1;   /* some text was transcoded from ISO 8859-1 */
    bool converted_repair;   /* some text had U+FFFD substituted */
    /* per segment */
    bool esc;                /* the segment contains the escape character */
    bool plain;              /* !esc and text_mode ASIS: values are used as they are */
    /* scratch for the document text: segment index of each OBX */
    uint32_t *obs_seg;
    bool *seg_esc;           /* per segment: holds the escape character */
};

/* ------------------------------------------------------------- searching */

/* First @p c in [p, end), or NULL. HL7 values are short, so this scans 8
 * bytes at a time inline instead of paying memchr's call and setup. */
static inline const char *hf_rt_find(const char *p, const char *end, char c) {
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t pat = ones * (unsigned char)c;
#ifdef __SSE2__
    if (end - p >= 16) {
        const __m128i v = _mm_set1_epi8(c);
        do {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, v));
            if (m != 0)
                return p + __builtin_ctz(m);
            p += 16;
        } while (end - p >= 16);
    }
#endif
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= pat;
        uint64_t z = (w - ones) & ~w & highs; /* a high bit per zero byte */
        if (z != 0)
            return p + (__builtin_ctzll(z) >> 3);
        p += 8;
    }
    for (; p < end; p++)
        if (*p == c)
            return p;
    return NULL;
}

/* First @p a or @p b (both non-zero) in [p, end), or NULL: one pass for
 * "component 1 of repetition 1" and the like. */
static inline const char *hf_rt_find2(const char *p, const char *end, char a, char b) {
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    const uint64_t pa = ones * (unsigned char)a, pb = ones * (unsigned char)b;
#ifdef __SSE2__
    if (end - p >= 16) {
        const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
        do {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            unsigned m = (unsigned)_mm_movemask_epi8(
                _mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)));
            if (m != 0)
                return p + __builtin_ctz(m);
            p += 16;
        } while (end - p >= 16);
    }
#endif
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t x = w ^ pa, y = w ^ pb;
        /* the lowest flagged byte is a true match: false flags only sit
         * above a true one */
        uint64_t z = ((x - ones) & ~x & highs) | ((y - ones) & ~y & highs);
        if (z != 0)
            return p + (__builtin_ctzll(z) >> 3);
        p += 8;
    }
    for (; p < end; p++)
        if (*p == a || *p == b)
            return p;
    return NULL;
}

/* ------------------------------------------------------- text (record_text.c) */

/* Text of a leaf for a typed field: escapes decoded when the segment has
 * any, converted to UTF-8 per the message's text mode. Empty stays empty. */
hf_span hf_rt_text_slow(hf_rec_ctx *ctx, hf_span s);
static inline hf_span hf_rt_text(hf_rec_ctx *ctx, hf_span s) {
    return ctx->plain || s.len == 0 ? s : hf_rt_text_slow(ctx, s);
}

/* Wire-form text (segments[]): only the UTF-8 conversion. */
hf_span hf_rt_raw(hf_rec_ctx *ctx, hf_span s);
/* Text from outside the message (headers): s if valid UTF-8, else a copy
 * with U+FFFD for every invalid byte. */
hf_span hf_rt_utf8(hf_rec_ctx *ctx, hf_span s);
/* Length of the longest valid UTF-8 prefix of @p s (== len when valid). */
size_t hf_rt_utf8_valid_prefix(const char *s, size_t len);
/* Sets ctx->text_mode for a message: raw bytes and MSH-18. */
void hf_rt_choose_mode(hf_rec_ctx *ctx, hf_span raw, hf_span charset);

/* Splits @p s by @p sep into out[0..max); missing items are empty; items
 * past max are dropped. sep 0 gives s itself. Returns items present (<=max). */
static inline size_t hf_rt_split(hf_span s, char sep, hf_span *out, size_t max) {
    size_t i = 0;
    if (sep == 0) {
        out[i++] = s;
    } else {
        const char *p = s.p, *end = s.p + s.len;
        while (i < max) {
            const char *q = hf_rt_find(p, end, sep);
            if (q == NULL) {
                out[i++] = (hf_span){p, (size_t)(end - p)};
                break;
            }
            out[i++] = (hf_span){p, (size_t)(q - p)};
            p = q + 1;
        }
    }
    size_t present = i;
    for (; i < max; i++)
        out[i] = (hf_span){"", 0};
    return present;
}
/* The first element of @p s split by @p sep. */
static inline hf_span hf_rt_first(hf_span s, char sep) {
    const char *q = sep != 0 ? hf_rt_find(s.p, s.p + s.len, sep) : NULL;
    return q == NULL ? s : (hf_span){s.p, (size_t)(q - s.p)};
}

/* hf_rt_split of repetition 1 of a field in one pass: @p s is cut at
 * @p sep and ends at the first @p stop (the repetition separator; 0 =
 * none). Works on a single repetition too. */
static inline size_t hf_rt_comps(hf_span s, char sep, char stop, hf_span *out, size_t max) {
    if (stop == 0 || sep == 0) {
        if (stop != 0)
            s = hf_rt_first(s, stop);
        return hf_rt_split(s, sep, out, max);
    }
    size_t i = 0;
    const char *p = s.p, *end = s.p + s.len;
    while (i < max) {
        const char *q = hf_rt_find2(p, end, sep, stop);
        if (q == NULL || *q == stop) {
            out[i++] = (hf_span){p, (size_t)((q != NULL ? q : end) - p)};
            break;
        }
        out[i++] = (hf_span){p, (size_t)(q - p)};
        p = q + 1;
    }
    size_t present = i;
    for (; i < max; i++)
        out[i] = (hf_span){"", 0};
    return present;
}

#ifdef __SSE2__
/* 16 bytes at @p p compared with a and b: a bit per match among the first
 * @p left bytes (reads 16 bytes: the caller makes sure they exist). */
static inline unsigned hf_rt_mask2(const char *p, size_t left, __m128i va, __m128i vb) {
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, va),
                                                          _mm_cmpeq_epi8(x, vb)));
    return left < 16 ? m & ((1u << left) - 1) : m;
}
#endif

/* hf_rt_comps for a raw span of the message (@p ctx's mlo..mend): one
 * pass, 16 bytes a step, reading ahead inside the message instead of
 * byte by byte at the end of the value. A value that ends in the last 15
 * bytes of the message, or a span from elsewhere, takes hf_rt_comps. In a
 * step, the first @p stop ends the value: separators after it are masked
 * off, so the loop over separators never looks at the bytes again. */
static inline size_t hf_rt_mcomps(const hf_rec_ctx *ctx, hf_span s, char sep, char stop,
                                  hf_span *out, size_t max) {
#ifdef __SSE2__
    const char *p = s.p, *end = s.p + s.len, *start = p;
    /* every 16-byte read, from p <= end (an empty span reads at end), stays
     * below mend */
    if (sep == 0 || stop == 0 || p < ctx->mlo || ctx->mend - end < 16 || max == 0)
        return hf_rt_comps(s, sep, stop, out, max);
    const __m128i va = _mm_set1_epi8(sep), vb = _mm_set1_epi8(stop);
    size_t i = 0;
    for (;; p += 16) {
        size_t left = (size_t)(end - p);
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned live = left < 16 ? (1u << left) - 1 : 0xFFFFu; /* bytes of the value */
        unsigned ms = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vb)) & live;
        if (ms != 0) { /* the value ends at the first stop */
            live = (ms & (0u - ms)) - 1;
            end = p + __builtin_ctz(ms);
            left = 0;
        }
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, va)) & live;
        while (m != 0) {
            const char *q = p + __builtin_ctz(m);
            out[i++] = (hf_span){start, (size_t)(q - start)};
            if (i == max)
                goto fill;
            start = q + 1;
            m &= m - 1;
        }
        if (left <= 16)
            break;
    }
    out[i++] = (hf_span){start, (size_t)(end - start)};
fill:
    for (size_t k = i; k < max; k++)
        out[k] = (hf_span){"", 0};
    return i;
#else
    (void)ctx;
    return hf_rt_comps(s, sep, stop, out, max);
#endif
}

/* Number of items of @p s split by @p sep (1 for an empty span). */
size_t hf_rt_count(hf_span s, char sep);
/* Joins texts with "\n" into the arena; empty items are skipped. */
hf_span hf_rt_join_lines(hf_rec_ctx *ctx, const hf_span *items, size_t n);

/* Composite HL7 types from a field (its first repetition) or from one
 * repetition, raw; NULL when every part is empty (or out of memory, which
 * sets ctx->oom). */
hf_rec_coded *hf_rt_coded(hf_rec_ctx *ctx, hf_span rep);
bool hf_rt_coded_into(hf_rec_ctx *ctx, hf_span rep, hf_rec_coded *out);
hf_rec_hd *hf_rt_hd(hf_rec_ctx *ctx, hf_span rep, char sep);
hf_rec_ei *hf_rt_ei(hf_rec_ctx *ctx, hf_span rep);
hf_rec_cx *hf_rt_cx(hf_rec_ctx *ctx, hf_span rep);
bool hf_rt_cx_into(hf_rec_ctx *ctx, hf_span rep, hf_rec_cx *out);
bool hf_rt_name_into(hf_rec_ctx *ctx, hf_span rep, hf_rec_name *out);
hf_rec_name *hf_rt_name(hf_rec_ctx *ctx, hf_span rep);
bool hf_rt_provider_into(hf_rec_ctx *ctx, hf_span rep, hf_rec_provider *out);
hf_rec_provider *hf_rt_provider(hf_rec_ctx *ctx, hf_span rep);
bool hf_rt_addr_into(hf_rec_ctx *ctx, hf_span rep, hf_rec_addr *out);
hf_rec_addr *hf_rt_addr(hf_rec_ctx *ctx, hf_span rep);
bool hf_rt_tel_into(hf_rec_ctx *ctx, hf_span rep, hf_span kind, hf_rec_tel *out);
hf_rec_loc *hf_rt_loc(hf_rec_ctx *ctx, hf_span rep);

/* Arrays over the repetitions of a field; empty repetitions are skipped.
 * Each sets *v (arena) and *n. */
typedef bool (*hf_rt_item_fn)(hf_rec_ctx *ctx, hf_span rep, void *out);
void hf_rt_list(hf_rec_ctx *ctx, hf_span field, hf_rt_item_fn fn, size_t item_size, void **v,
                size_t *n);
/* Texts of the repetitions: whole repetitions, or their component 1. */
void hf_rt_str_list(hf_rec_ctx *ctx, hf_span field, bool comp1, hf_span **v, size_t *n);

/* Picks the MRN of a CX list (type MR, else the first with an id). */
void hf_rt_pick_mrn(const hf_rec_cx *ids, size_t n, hf_span *mrn, hf_span *authority,
                    hf_span *type);

/* Raw repetition 1 of a field. */
static inline hf_span hf_rt_rep1(const hf_rec_ctx *ctx, hf_span field) {
    return hf_rt_first(field, ctx->d.repetition);
}
/* Text of component 1 of repetition 1: a simple field (ID, IS, ST, NM...). */
hf_span hf_rt_leaf(hf_rec_ctx *ctx, hf_span field);
/* Text of the whole repetition 1 (free text: components kept). */
hf_span hf_rt_whole(hf_rec_ctx *ctx, hf_span field);
/* A TS/DTM field: component 1 of repetition 1 as text and as an instant. */
void hf_rt_dtm(hf_rec_ctx *ctx, hf_span field, hf_span *text, hf_opt_i64 *ts);

/* Numbers and times of one raw value. */
hf_opt_i32 hf_rt_int(hf_span s);
hf_opt_f64 hf_rt_decimal(hf_span s);
/* The UTC instant of a DTM value that has an offset and day precision. */
hf_opt_i64 hf_rt_ts(hf_span s);

/* ---------------------------------------------- builders (record_build_*.c) */

/* Field n (1-based, SEG-n) of a split segment; empty when absent. */
static inline hf_span hf_rt_f(const hf_rec_segment *s, size_t n) {
    return n >= 1 && n <= s->fields.n ? s->fields.v[n - 1] : (hf_span){"", 0};
}

/* Each fills one block from one split segment (wire form fields). */
void hf_rb_event(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_event *out);
void hf_rb_patient(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_patient *out);
void hf_rb_visit(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_visit *out);
void hf_rb_pv2(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_visit *out);
void hf_rb_merge(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_merge *out);
void hf_rb_dx(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_dx *out);
void hf_rb_allergy(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_allergy *out);
void hf_rb_insurance(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_insurance *out);
void hf_rb_nok(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_nok *out);
void hf_rb_orc(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_order *out);
void hf_rb_obr(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_order *out);
void hf_rb_obs(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_obs *out);
void hf_rb_note(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_note *out);
void hf_rb_ft(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_ft *out);
void hf_rb_document(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_document *out);


/* ------------------------------------------------------- decoding internals */

/* The decoder's cursor (record_decode.c), shared with record_resolve.c. */
typedef struct hf_dec {
    const unsigned char *p, *end, *start;
    hf_rec_ctx *ctx;
    hf_err *err;
    hf_status st; /* first error */
} hf_dec;

/* Records the first error (with the byte offset) and returns false. */
bool hf_dec_fail(hf_dec *d, hf_status st, const char *what);
/* One zig-zag varint. */
bool hf_dec_long(hf_dec *d, int64_t *out);
/* A length-prefixed string or bytes, borrowed from the input. */
bool hf_dec_bytes(hf_dec *d, hf_span *out);
/* The branch of a ["null", X] union: *present = branch 1. */
bool hf_dec_branch(hf_dec *d, bool *present);
/* One field of this build's layout into @p base. */
bool hf_dec_field(hf_dec *d, const hf_rfield *f, char *base);

/* True when avro schema @p s (a record) has exactly descriptor @p d's
 * layout (record_avro.c); @p err says where it differs. */
hf_status hf_rec_check_layout(avro_schema_t s, const hf_rdesc *d, size_t nf, hf_err *err);

#endif
