/* profile_check.c - hf_profile_check: one pass over the segments of a parsed
 * message, running the chosen section's structure automaton and the field
 * rules of each segment; plus violation formatting.
 *
 * Cost: one hash probe per run of equal segment IDs, one bitset step per
 * segment the structure names, and the segment's ops from the plan of the
 * message's section and version band (profile_plan.c): per field one O(1)
 * lookup in the parse index (hl7_internal.h, no call), per rule one
 * dispatch on its shortcut and a scan of that field's bytes only.
 * Well-formed values are accepted by the shortcut (fast_ok) before the
 * general path (check_rule), which also produces the violations and is
 * the reference: a shortcut returns true only where the general path would
 * find nothing. Nothing is allocated; texts are formatted only for the
 * violations the caller has room for. docs/internals/profile.md has the
 * measurements.
 *
 * Field rule semantics (docs/internals/profile.md):
 * - a field rule looks at every repetition; checks apply to the first
 *   component (TS, NM, ID codes...), the length limit to the repetition;
 * - a component rule applies only when the field is valued, to that
 *   component of every non-empty repetition ("PID-3[2].1");
 * - the HL7 null "" counts as a value but is not type- or table-checked;
 * - trailing blanks of a coded value are ignored (ID and IS are built on ST,
 *   whose trailing blanks HL7 calls optional), so "F " is in table 0085;
 * - rules with a version range apply when MSH-12.1 names a version in it;
 *   a message without a readable version is checked as the newest one.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hl7_internal.h"
#include "profile_internal.h"
#include "profile_values.h"

/* -------------------------------------------------------------- emit */

void pf_emit(pf_out *o, hf_pv_code code, size_t seg, const char *segid, size_t field,
             size_t rep, size_t comp, const char *fmt, ...) {
    size_t i = o->n++;
    if (i >= o->max)
        return;
    hf_profile_violation *v = &o->v[i];
    v->code = code;
    if (seg == SIZE_MAX) {
        snprintf(v->loc, sizeof v->loc, "%.3s", segid);
    } else if (field == 0) {
        hf_span id = hf_hl7_seg_id(o->msg, seg);
        uint32_t occ = hf_hl7_seg_occurrence(o->msg, seg);
        if (occ > 1)
            snprintf(v->loc, sizeof v->loc, "%.3s[%u]", id.p, occ);
        else
            snprintf(v->loc, sizeof v->loc, "%.3s", id.p);
    } else {
        hf_hl7_loc_format(v->loc, sizeof v->loc, o->msg, seg, field, rep, comp, 0);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ helpers */

/* Byte search, 8 bytes per step (SWAR): a byte of x is zero where it
 * matched; (x - 1s) & ~x & 80s flags the lowest zero byte exactly (higher
 * flags may be borrow artefacts, never lower ones). Values are a few to a
 * few dozen bytes, where this beats a memchr call; long ones (notes) go to
 * the vectorised memchr. Loads never leave [p, end). */
#define PF_ONES 0x0101010101010101u
#define PF_HIGHS 0x8080808080808080u

static inline uint64_t zero_bytes(uint64_t x) {
    return (x - PF_ONES) & ~x & PF_HIGHS;
}

static inline uint64_t load8(const char *p) {
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PF_SWAR 1
#else
#define PF_SWAR 0
#endif

/* First byte in [p, end) equal to @p a or @p b, or end. @p lim is the end
 * of the message: a short non-empty span (always inside the message) is
 * tested with one 8-byte load when that load stays below lim (the bytes
 * past end are masked off). */
static inline __attribute__((always_inline)) const char *
find_2(const char *p, const char *end, const char *lim, char a, char b) {
    if (p >= end)
        return end; /* empty: may be the parser's static "", outside the message */
#if PF_SWAR
    const uint64_t ba = PF_ONES * (unsigned char)a, bb = PF_ONES * (unsigned char)b;
    if (end - p < 8 && lim - p >= 8) {
        uint64_t x = load8(p);
        uint64_t t = (zero_bytes(x ^ ba) | zero_bytes(x ^ bb)) &
                     (((uint64_t)1 << (8 * (end - p))) - 1);
        return t != 0 ? p + (__builtin_ctzll(t) >> 3) : end;
    }
    if (end - p >= 8) {
        for (; end - p >= 8; p += 8) {
            uint64_t x = load8(p);
            uint64_t t = zero_bytes(x ^ ba) | zero_bytes(x ^ bb);
            if (t != 0)
                return p + (__builtin_ctzll(t) >> 3);
        }
        if (p == end)
            return end;
        const char *q = end - 8; /* overlaps bytes already seen: no match there */
        uint64_t x = load8(q);
        uint64_t t = (zero_bytes(x ^ ba) | zero_bytes(x ^ bb)) & (~(uint64_t)0 << (8 * (p - q)));
        return t != 0 ? q + (__builtin_ctzll(t) >> 3) : end;
    }
#else
    (void)lim;
#endif
    while (p < end && *p != a && *p != b)
        p++;
    return p;
}

/* First @p c in [p, end), or end. */
static inline const char *find_byte(const char *p, const char *end, const char *lim, char c) {
    if (end - p > 64) {
        const char *q = memchr(p, c, (size_t)(end - p));
        return q != NULL ? q : end;
    }
    return find_2(p, end, lim, c, c);
}

static inline hf_span upto(hf_span s, char sep, const char *lim) {
    s.len = (size_t)(find_byte(s.p, s.p + s.len, lim, sep) - s.p);
    return s;
}

/* Element @p n (1-based) of @p s split by @p sep; empty when absent. */
static inline hf_span nth(hf_span s, char sep, size_t n, const char *lim) {
    const char *p = s.p, *end = s.p + s.len;
    for (size_t i = 1; i < n; i++) {
        p = find_byte(p, end, lim, sep);
        if (p == end)
            return (hf_span){"", 0};
        p++;
    }
    return (hf_span){p, (size_t)(find_byte(p, end, lim, sep) - p)};
}

static inline bool is_null(hf_span s) {
    return s.len == 2 && s.p[0] == '"' && s.p[1] == '"';
}

/* pf_pack_code of the 2..7 bytes at @p p, from one 8-byte load when that
 * stays below @p lim (the end of the message). */
static inline uint64_t pack_code_at(const char *p, size_t n, const char *lim) {
#if PF_SWAR
    if (lim - p >= 8)
        return (load8(p) & (((uint64_t)1 << (8 * n)) - 1)) | (uint64_t)n << 56;
#else
    (void)lim;
#endif
    return pf_pack_code(p, n);
}

static inline __attribute__((always_inline)) bool in_table(const pf_table *t, hf_span v,
                                                           const char *lim) {
    if (v.len == 1) {
        unsigned char x = (unsigned char)v.p[0];
        return (t->one[x >> 6] >> (x & 63)) & 1;
    }
    if (v.len <= 7) {
        uint64_t k = pack_code_at(v.p, v.len, lim);
        for (uint32_t h = pf_code_slot(k, t->hmask);; h = (h + 1) & t->hmask) {
            if (t->shortk[h] == k)
                return true;
            if (t->shortk[h] == 0)
                return false;
        }
    }
    for (uint32_t i = 0; i < t->nlong; i++)
        if (t->llen[i] == v.len && memcmp(t->lcode[i], v.p, v.len) == 0)
            return true;
    return false;
}

/* The fields of one segment read straight from the parse index
 * (hl7_internal.h), without a call per field: the checker reads 40-odd
 * fields per message. */
typedef struct segv {
    const char *base;    /* the parsed buffer */
    const uint32_t *el;  /* element start offsets of the segment */
    uint32_t nel;        /* elements, the ID included */
    uint32_t end;        /* offset of the segment's end */
    uint32_t shift;      /* 1 for the header: element k is field k + 1 */
    const char *msh1;    /* the header's MSH-1, the separator after the ID */
} segv;

static inline segv seg_view(const hf_hl7_msg *m, size_t seg) {
    const hf_hl7_seg *s = &m->seg[seg];
    return (segv){m->base, m->el + s->first, s->nel, s->off + s->len, seg == 0,
                  m->base + s->off + 3};
}

/* Field @p field (>= 1), raw, as hf_hl7_field gives it. */
static inline hf_span segv_field(const segv *v, uint32_t field) {
    uint32_t k = field - v->shift;
    if (k == 0) /* MSH-1 (field 0 of other segments is never asked for) */
        return (hf_span){v->msh1, 1};
    if (k >= v->nel)
        return (hf_span){"", 0};
    uint32_t a = v->el[k], b = k + 1 < v->nel ? v->el[k + 1] - 1 : v->end;
    return (hf_span){v->base + a, b - a};
}

/* True when field @p field (>= 1) is beyond the segment's last field. */
static inline bool segv_past_end(const segv *v, uint32_t field) {
    uint32_t k = field - v->shift;
    return k != 0 && k >= v->nel;
}

/* Per-message context of the field checks. */
typedef struct fctx {
    const hf_profile *rs;
    const hf_hl7_msg *msg;
    hf_hl7_delims d;
    unsigned version;
    pf_out *o;
    const char *lim;   /* end of the message bytes (see find_2) */
    bool plain;        /* the standard delimiters |^~\& (see fast_ok) */
    uint32_t tb_field; /* typed-by field of the current segment seen (0 none) */
    enum pf_check tb_check; /* the check its type code names (OBX-2 "NM") */
} fctx;

/* Type and table checks of one value; @p rep/@p comp locate it. For a TS
 * the DTM is the part before @p tsep (the component or subcomponent
 * separator). */
static inline __attribute__((always_inline)) void
check_value(const fctx *c, const pf_rule *r, enum pf_check ck, hf_span v,
                               char tsep, size_t seg, size_t rep, size_t comp) {
    if (v.len == 0 || is_null(v))
        return;
    if (ck != PF_CK_NONE) {
        hf_span x = ck == PF_CK_TS && tsep != 0 ? upto(v, tsep, c->lim) : v;
        const char *why = pf_check_value(ck, x.p, x.len);
        if (why != NULL)
            pf_emit(c->o, HF_PV_BAD_FORMAT, seg, NULL, r->field, rep, comp, "not a valid %s (%s)",
                    pf_check_name(ck), why);
    }
    while (v.len > 1 && v.p[v.len - 1] == ' ')
        v.len--; /* HL7 2.A ST: "trailing blanks optional"; codes are ST-based */
    if (r->table >= 0 && !in_table(&c->rs->tables[r->table], v, c->lim))
        pf_emit(c->o, HF_PV_NOT_IN_TABLE, seg, NULL, r->field, rep, comp, "not in table %s",
                c->rs->tables[r->table].name);
}

/* The check the type code in field @p t names: its first component of
 * the first repetition ("NM" of OBX-2). */
static inline enum pf_check type_code_check(const fctx *c, hf_span t) {
    /* the codes pf_check_for_code knows are 2 or 3 letters, so the bytes
     * up to a delimiter at index 2 or 3 decide; a delimiter before that
     * leaves no letter code either */
    const char rs = c->d.repetition, cs = c->d.component;
    size_t n = t.len;
    if (n > 2 && t.p[2] != rs && t.p[2] != cs) {
        if (n > 3 && t.p[3] != rs && t.p[3] != cs)
            return PF_CK_NONE; /* 4 or more: no code */
        n = 3;
    } else if (n > 2) {
        n = 2;
    }
    return pf_check_for_code(t.p, n);
}

/* The check a VARIES field gets: from the field named by typed-by (OBX-2
 * for OBX-5), found once per segment when the plan has a group for it. */
static inline enum pf_check varies_check(const fctx *c, const pf_rule *r, size_t seg) {
    if (c->tb_field == r->typed_by)
        return c->tb_check;
    return type_code_check(c, hf_hl7_field(c->msg, seg, r->typed_by)); /* rare */
}

/* A whole-field rule on a valued field: one pass over its bytes finds each
 * repetition and, within it, the first component the checks look at. */
static void check_field(const fctx *c, const pf_rule *r, enum pf_check ck, hf_span f,
                        size_t seg) {
    const char rs = c->d.repetition, cs = c->d.component;
    const char *p = f.p, *end = f.p + f.len;
    size_t rep = 0;
    for (;;) {
        rep++;
        const char *q = find_2(p, end, c->lim, rs, cs);
        hf_span first = {p, (size_t)(q - p)};
        const char *e = q < end && *q == cs ? find_byte(q, end, c->lim, rs) : q;
        if (r->maxlen != 0 && (size_t)(e - p) > r->maxlen)
            pf_emit(c->o, HF_PV_TOO_LONG, seg, NULL, r->field, rep, 0,
                    "too long (%zu bytes, max %u)", (size_t)(e - p), r->maxlen);
        if (ck != PF_CK_NONE || r->table >= 0)
            check_value(c, r, ck, first, 0 /* first has no component separator */, seg, rep,
                        0);
        if (e == end)
            break;
        p = e + 1;
    }
    if (r->maxreps != 0 && rep > r->maxreps)
        pf_emit(c->o, HF_PV_TOO_MANY_REPS, seg, NULL, r->field, 0, 0,
                "too many repetitions (%zu, max %u)", rep, r->maxreps);
}

/* A component rule on a valued field: that component of every non-empty
 * repetition. */
static void check_component(const fctx *c, const pf_rule *r, enum pf_check ck, hf_span f,
                            size_t seg) {
    const char *p = f.p, *end = f.p + f.len;
    size_t rep = 0;
    for (;;) {
        rep++;
        const char *e = find_byte(p, end, c->lim, c->d.repetition);
        if (e > p) {
            hf_span cv = nth((hf_span){p, (size_t)(e - p)}, c->d.component, r->comp, c->lim);
            if (cv.len == 0) {
                if (r->usage == PF_USE_R)
                    pf_emit(c->o, HF_PV_REQUIRED_EMPTY, seg, NULL, r->field, rep, r->comp,
                            "required component is empty");
            } else if (r->usage == PF_USE_X) {
                pf_emit(c->o, HF_PV_NOT_ALLOWED, seg, NULL, r->field, rep, r->comp,
                        "component must be empty (usage X)");
            } else {
                if (r->maxlen != 0 && cv.len > r->maxlen)
                    pf_emit(c->o, HF_PV_TOO_LONG, seg, NULL, r->field, rep, r->comp,
                            "too long (%zu bytes, max %u)", cv.len, r->maxlen);
                if (ck != PF_CK_NONE || r->table >= 0)
                    check_value(c, r, ck, cv, c->d.subcomponent, seg, rep, r->comp);
            }
        }
        if (e == end)
            break;
        p = e + 1;
    }
}

/* MSH-1 and MSH-2 are single literal values: never split. */
static void check_literal(const fctx *c, const pf_rule *r, enum pf_check ck, hf_span f,
                          size_t seg) {
    if (r->comp > 1)
        return; /* no components */
    if (r->maxlen != 0 && f.len > r->maxlen)
        pf_emit(c->o, HF_PV_TOO_LONG, seg, NULL, r->field, 1, r->comp,
                "too long (%zu bytes, max %u)", f.len, r->maxlen);
    check_value(c, r, ck, f, 0, seg, 1, r->comp);
}

/* A component rule (fast COMP) on the non-empty field @p f: true when
 * that component of every non-empty repetition is present (or need not
 * be), within maxlen, in the table if there is one and a valid timestamp
 * if the type is TS/DTM - exactly when check_component would find nothing,
 * except that doubtful values (long codes, other delimiters, other
 * timestamp shapes) return false and take the general path. */
static inline bool comp_ok(const fctx *c, const pf_op *op, hf_span f) {
    const char *p = f.p, *end = f.p + f.len;
    for (;;) {
        const char *e = find_byte(p, end, c->lim, c->d.repetition);
        if (e > p) {
            hf_span cv = nth((hf_span){p, (size_t)(e - p)}, c->d.component, op->comp, c->lim);
            if (cv.len == 0) {
                if (op->usage == PF_USE_R)
                    return false;
            } else {
                if (op->maxlen != 0 && cv.len > op->maxlen)
                    return false;
                if (op->table != NULL &&
                    !(c->plain && cv.len <= 7 && in_table(op->table, cv, c->lim)))
                    return false;
                if (op->check != PF_CK_NONE && !dtm_fast_ok(cv.p, cv.len))
                    return false;
            }
        }
        if (e == end)
            return true;
        p = e + 1;
    }
}

/* The shortcut of a component rule on MSH-1 or MSH-2 (fast COMP1): a
 * field of one repetition whose component is present (or need not be),
 * within its length and in the table. Rare: no shipped rule is one. */
static __attribute__((noinline)) bool comp1_ok(const fctx *c, const pf_op *op, hf_span f) {
    const char *end = f.p + f.len;
    if (find_byte(f.p, end, c->lim, c->d.repetition) != end)
        return false;
    hf_span cv = nth(f, c->d.component, op->comp, c->lim);
    if (cv.len == 0)
        return op->usage != PF_USE_R;
    return (op->maxlen == 0 || cv.len <= op->maxlen) &&
           (op->table == NULL || (c->plain && cv.len <= 7 && in_table(op->table, cv, c->lim)));
}

/* The shortcut of a VARIES rule (OBX-5) within its length: as the type
 * the typed-by field names. */
static inline bool varies_ok(const fctx *c, const pf_op *op, size_t seg, hf_span f) {
    enum pf_check ck = varies_check(c, op->rule, seg);
    if (ck == PF_CK_NM) /* most results */
        return c->plain && check_nm(f.p, f.len) == NULL;
    if (ck == PF_CK_TS || ck == PF_CK_DTM)
        return dtm_fast_ok(f.p, f.len) || (c->plain && pf_check_value(ck, f.p, f.len) == NULL);
    if (ck != PF_CK_NONE)
        return c->plain && pf_check_value(ck, f.p, f.len) == NULL;
    if (op->table != NULL)
        return c->plain && f.len <= 7 && in_table(op->table, f, c->lim);
    return op->rule->maxreps == 0 ||
           find_byte(f.p, f.p + f.len, c->lim, c->d.repetition) == f.p + f.len;
}

/* True when the rule of @p op certainly passes on the non-empty field @p f.
 * False means "run the general path", which also finds what is wrong. A
 * field no longer than maxlen has no repetition longer than it; a valid
 * value of a checked type (digits and . + -) or a table code (the loader
 * refuses | ^ ~ \\ & in codes) holds none of the standard delimiters, so
 * with those (c->plain) it is one repetition with one component. A
 * timestamp of digits only needs no such condition. */
static inline bool fast_ok(const fctx *c, const pf_op *op, size_t seg, hf_span f) {
    const bool fits = op->maxlen == 0 || f.len <= op->maxlen;
    switch ((enum pf_fast)op->fast) {
    case PF_FAST_PRESENT:
        return true;
    case PF_FAST_LEN:
        return fits;
    case PF_FAST_ONEREP:
        return fits && find_byte(f.p, f.p + f.len, c->lim, c->d.repetition) == f.p + f.len;
    case PF_FAST_DTM:
        return fits && (dtm_fast_ok(f.p, f.len) ||
                        (c->plain && (dtm_zone_fast_ok(f.p, f.len) ||
                                      check_dtm(f.p, f.len) == NULL)));
    case PF_FAST_CODE:
        return fits && c->plain && f.len <= 7 && in_table(op->table, f, c->lim);
    case PF_FAST_VALUE:
        return fits && c->plain && pf_check_value(op->check, f.p, f.len) == NULL;
    case PF_FAST_COMP:
        return comp_ok(c, op, f);
    case PF_FAST_COMP1:
        return comp1_ok(c, op, f);
    case PF_FAST_VARIES:
        return fits && varies_ok(c, op, seg, f);
    case PF_FAST_NONE:
    case PF_FAST_FIELD: /* refined away by pf_plan_build */
        break;
    }
    return false;
}

/* One rule on field @p f (already looked up) of segment @p seg. */
static __attribute__((noinline, cold)) void check_rule(const fctx *c, const pf_rule *r,
                                                       size_t seg, hf_span f) {
    if (f.len == 0) {
        if (r->usage == PF_USE_R && r->comp == 0)
            pf_emit(c->o, HF_PV_REQUIRED_EMPTY, seg, NULL, r->field, 0, 0,
                    "required field is empty");
        return;
    }
    if (r->usage == PF_USE_X && r->comp == 0) {
        pf_emit(c->o, HF_PV_NOT_ALLOWED, seg, NULL, r->field, 0, 0,
                "field must be empty (usage X)");
        return;
    }
    if (!r->scan)
        return; /* presence was all there was to check */
    enum pf_check ck = r->check;
    if (ck == PF_CK_VARIES) {
        ck = varies_check(c, r, seg);
        if (ck == PF_CK_NONE && r->comp == 0 && r->table < 0 && r->maxlen == 0 &&
            r->maxreps == 0)
            return; /* OBX-5 of a TX/FT note: nothing to scan its KBs for */
    }
    if (seg == 0 && r->field <= 2) {
        check_literal(c, r, ck, f, seg);
        return;
    }
    if (r->comp == 0 && r->maxlen == 0 && r->check == PF_CK_VARIES) {
        /* as the fast paths of hf_profile_check, for the type OBX-2 names: a
         * whole field that is one valid timestamp holds no separator, so
         * nothing else can fail */
        if ((ck == PF_CK_TS || ck == PF_CK_DTM) && r->table < 0 && dtm_fast_ok(f.p, f.len))
            return;
    }
    const char *end = f.p + f.len;
    if (find_2(f.p, end, c->lim, c->d.repetition, c->d.component) == end) {
        /* the usual case: one repetition, one component */
        if (r->comp > 1) {
            if (r->usage == PF_USE_R)
                pf_emit(c->o, HF_PV_REQUIRED_EMPTY, seg, NULL, r->field, 1, r->comp,
                        "required component is empty");
            return;
        }
        if (r->comp == 1 && r->usage == PF_USE_X) {
            pf_emit(c->o, HF_PV_NOT_ALLOWED, seg, NULL, r->field, 1, 1,
                    "component must be empty (usage X)");
            return;
        }
        if (r->maxlen != 0 && f.len > r->maxlen)
            pf_emit(c->o, HF_PV_TOO_LONG, seg, NULL, r->field, 1, r->comp,
                    "too long (%zu bytes, max %u)", f.len, r->maxlen);
        if (ck != PF_CK_NONE || r->table >= 0)
            check_value(c, r, ck, f, r->comp ? c->d.subcomponent : 0, seg, 1, r->comp);
        return;
    }
    if (r->comp == 0)
        check_field(c, r, ck, f, seg);
    else
        check_component(c, r, ck, f, seg);
}

/* The field rules of segment @p seg: the ops [op, end) of its symbol in
 * the message's plan, each field looked up once. */
static inline void check_fields(fctx *c, const pf_op *op, const pf_op *end,
                                                   size_t seg) {
    c->tb_field = 0;
    const segv sv = seg_view(c->msg, seg);
    hf_span f = {"", 0};
    while (op < end) {
        if (op->fetch) {
            f = segv_field(&sv, op->field);
            if (op->type_src) { /* OBX-2, read again by the OBX-5 rule */
                c->tb_field = op->field;
                c->tb_check = type_code_check(c, f);
            }
            if (f.len == 0) { /* only a required whole-field rule reports it */
                const pf_op *next = op + op->nfield;
                if (op->on_empty)
                    for (; op < next; op++)
                        check_rule(c, op->rule, seg, f);
                else if (op->last_loud && segv_past_end(&sv, op->field))
                    return; /* the rest are absent too, and quiet */
                op = next;
                continue;
            }
        }
        if (!fast_ok(c, op, seg, f)) /* else: the common case, accepted */
            check_rule(c, op->rule, seg, f);
        op++;
    }
}

/* ------------------------------------------------------------ sections */

static bool same_bytes(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* The key "TYPE^EVENT" (or "*" when @p event is empty), looked up without
 * building the text. */
static const pf_key *find_key(const hf_profile *rs, hf_span type, hf_span event) {
    if (rs->kslot == NULL)
        return NULL;
    uint32_t h = pf_key_hash_more(2166136261u, type.p, type.len);
    size_t n = type.len;
    if (event.len > 0) {
        h = pf_key_hash_more(h, "^", 1);
        h = pf_key_hash_more(h, event.p, event.len);
        n += 1 + event.len;
    }
    for (h &= rs->kmask;; h = (h + 1) & rs->kmask) {
        uint32_t k = rs->kslot[h];
        if (k == 0)
            return NULL;
        const pf_key *key = &rs->keys[k - 1];
        if (key->len != n || !same_bytes(key->text, type.p, type.len))
            continue;
        if (event.len == 0 || (key->text[type.len] == '^' &&
                               same_bytes(key->text + type.len + 1, event.p, event.len)))
            return key;
    }
}

/* The key whose text is the @p n (1..7) bytes at @p p, or NULL: the same
 * as find_key for a text of up to 7 bytes, all of which are in skey. */
static inline const pf_key *find_short_key(const hf_profile *rs, const char *p, size_t n,
                                           const char *lim) {
    uint64_t k = pack_code_at(p, n, lim);
    for (uint32_t h = pf_code_slot(k, rs->smask);; h = (h + 1) & rs->smask) {
        if (rs->skey[h] == k)
            return &rs->keys[rs->skey_key[h]];
        if (rs->skey[h] == 0)
            return NULL;
    }
}

/* The key @p msg matches: TYPE^EVENT, then TYPE^*, then *; NULL for none. */
static const pf_key *match(const hf_profile *rs, const hf_hl7_msg *msg, const hf_hl7_delims *d,
                           const char *lim) {
    segv h = seg_view(msg, 0);
    hf_span f = segv_field(&h, 9);
    const char *end = f.p + f.len;
    const char *te = find_2(f.p, end, lim, d->repetition, d->component);
    hf_span type = {f.p, (size_t)(te - f.p)};
    hf_span event = {"", 0};
    if (te < end && *te == d->component) {
        const char *ee = find_2(te + 1, end, lim, d->repetition, d->component);
        event = (hf_span){te + 1, (size_t)(ee - te - 1)};
    }
    const pf_key *k = NULL;
    if (type.len > 0 && type.len <= PF_MAX_KEYPART && event.len <= PF_MAX_KEYPART) {
        size_t n = type.len + 1 + event.len;
        if (event.len > 0 && d->component == '^' && n <= 7) /* "ADT^A01" as sent */
            k = find_short_key(rs, type.p, n, lim);
        else if (event.len > 0)
            k = find_key(rs, type, event);
        if (k == NULL)
            k = find_key(rs, type, (hf_span){"*", 1});
    }
    if (k == NULL && rs->star >= 0)
        k = find_key(rs, (hf_span){"*", 1}, (hf_span){"", 0});
    return k;
}

static const char *msg_end(const hf_hl7_msg *msg) {
    return msg->base + msg->body_off + msg->body_len;
}

const char *hf_profile_which(const hf_profile *rules, const hf_hl7_msg *msg) {
    hf_hl7_delims d = hf_hl7_msg_delims(msg);
    const pf_key *k = hf_hl7_seg_count(msg) > 0 ? match(rules, msg, &d, msg_end(msg)) : NULL;
    return k != NULL ? k->text : "";
}

/* --------------------------------------------------------------- check */

size_t hf_profile_check(const hf_profile *rules, const hf_hl7_msg *msg,
                        hf_profile_violation *out, size_t max) {
    pf_out o = {msg, out, out != NULL ? max : 0, 0};
    size_t nseg = msg->nseg;
    if (nseg == 0)
        return 0;
    const hf_hl7_delims d = msg->d;
    const char *lim = msg_end(msg);
    const pf_key *k = match(rules, msg, &d, lim);
    const pf_sect *s = &rules->sects[k != NULL ? k->sect : 0];
    segv h = seg_view(msg, 0);
    hf_span ver = segv_field(&h, 12);
    ver.len = (size_t)(find_2(ver.p, ver.p + ver.len, lim, d.repetition, d.component) - ver.p);
    unsigned version = pf_version_parse(ver.p, ver.len);
    bool plain = d.field == '|' && d.component == '^' && d.repetition == '~' &&
                 (d.escape == '\\' || d.escape == 0) &&
                 (d.subcomponent == '&' || d.subcomponent == 0);
    fctx c = {rules, msg, d, version != 0 ? version : PF_VERSION_UNKNOWN, &o, lim, plain, 0,
              PF_CK_NONE};
    uint32_t band = 0;
    while (band + 1 < rules->nbands && rules->band_lo[band + 1] <= c.version)
        band++;
    const pf_plan *pl = &s->plans[band];
    pf_run run;
    if (s->npos > 0)
        pf_struct_begin(s, &run);
    uint32_t last_key = 0, sym = PF_NO_SYM; /* packed IDs are never 0 */
    for (size_t seg = 0; seg < nseg; seg++) {
        const hf_hl7_seg *sr = &msg->seg[seg];
        if (sr->id != last_key) { /* OBX OBX OBX...: one lookup per run */
            last_key = sr->id;
            sym = pf_sym_find(rules, last_key);
        }
        if (sym == PF_NO_SYM)
            continue;
        if (s->npos > 0) {
            uint8_t lab = s->lab[sym];
            uint64_t nx = 0;
            if (lab != 0 && s->npos < 64) { /* inline fast path of pf_struct_step */
                for (uint64_t x = run.cur.w[0]; x != 0; x &= x - 1)
                    nx |= s->follow[__builtin_ctzll(x)].w[0];
                nx &= s->lmask[lab - 1].w[0];
            }
            if (nx != 0) {
                run.cur.w[0] = nx;
                run.last_seg = seg;
            } else if (lab != 0) {
                pf_struct_step(rules, s, &run, sym, seg, &o);
            }
        }
        if (pl->obeg[sym] != pl->obeg[sym + 1]) /* NTE, NK1...: no field rules */
            check_fields(&c, pl->ops + pl->obeg[sym], pl->ops + pl->obeg[sym + 1], seg);
    }
    if (s->npos > 0)
        pf_struct_end(rules, s, &run, &o);
    return o.n;
}

/* --------------------------------------------------------------- texts */

size_t hf_profile_format(const hf_profile_violation *v, size_t n, char *dst, size_t cap) {
    size_t need = 0;
    for (size_t i = 0; i < n; i++) {
        char one[sizeof v->loc + sizeof v->reason + 8];
        int w = snprintf(one, sizeof one, "%s%s: %s", i > 0 ? "; " : "", v[i].loc, v[i].reason);
        size_t len = w > 0 ? (size_t)w : 0;
        if (cap > 0 && need < cap - 1) {
            size_t room = cap - 1 - need;
            memcpy(dst + need, one, len < room ? len : room);
        }
        need += len;
    }
    if (cap > 0)
        dst[need < cap - 1 ? need : cap - 1] = '\0';
    return need;
}

const char *hf_pv_code_name(hf_pv_code code) {
#define HF_PV_CASE_(name, text) \
    case name:                  \
        return text;
    switch (code) {
        HF_PV_CODE_LIST(HF_PV_CASE_)
    case HF_PV_CODE_COUNT:
        break;
    }
#undef HF_PV_CASE_
    return "?";
}
