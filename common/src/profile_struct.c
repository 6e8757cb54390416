/* profile_struct.c - message structure: compiles a section's abstract
 * message syntax into a Glushkov automaton and runs segments through it.
 *
 * Notation (HL7 v2 chapter 2): SEG is one required segment, [ ... ] is
 * optional, { ... } repeats one or more times, [{ ... }] is zero or more,
 * < A | B > is a choice. Groups nest. Each segment mention is one state of
 * the automaton; a state's follow set says which mentions may come next.
 * Running a message is a bitset walk: cur = union of follow(state) for the
 * states in cur, masked by the states that consume the segment's ID. A
 * deterministic grammar keeps cur at one state; ambiguous ones are fine.
 *
 * Segments the structure does not mention (Z-segments, segments of other
 * versions or of other message types) are skipped: receivers tolerate them,
 * and the rule files stay short. When a mentioned segment cannot follow,
 * the checker looks for the shortest way forward through the grammar text
 * (never back into a repeated group): the segments on that way were
 * skipped by the sender and are reported as missing ("OBR: required
 * segment missing (before OBX)"), and the walk resumes there. If no way
 * forward exists the segment is out of place ("PD1: segment not expected
 * here (after PV1)") and is skipped. At the end, the shortest way to an
 * accepting state names what is missing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_internal.h"

/* ------------------------------------------------------------ compile */

typedef struct gl {
    pb *b;
    const pb_sect *in;
    const hf_profile *rs;
    size_t i;          /* next token */
    uint32_t npos;
    pf_bits *follow;   /* PF_MAX_POS + 1 */
    uint16_t *pos_sym; /* PF_MAX_POS */
    int depth;
} gl;

typedef struct gres {
    pf_bits first, last;
    bool nullable;
} gres;

static void link_follow(gl *g, const pf_bits *from, const pf_bits *to) {
    for (int w = 0; w < PF_WORDS; w++)
        for (uint64_t x = from->w[w]; x != 0; x &= x - 1)
            pf_bits_or(&g->follow[w * 64 + __builtin_ctzll(x)], to);
}

static int is_closer(const pb_tok *t) {
    return t->len == 1 && (t->p[0] == ']' || t->p[0] == '}' || t->p[0] == '>' || t->p[0] == '|');
}

static hf_status g_item(gl *g, gres *r);

/* A sequence of items up to a closer or the end. */
static hf_status g_seq(gl *g, gres *out, const pb_tok *opener) {
    memset(out, 0, sizeof *out);
    out->nullable = true;
    size_t items = 0;
    while (g->i < g->in->ntoks && !is_closer(&g->in->toks[g->i])) {
        gres it = {{{0}}, {{0}}, false};
        hf_status st = g_item(g, &it);
        if (st != HF_OK)
            return st;
        link_follow(g, &out->last, &it.first);
        if (out->nullable)
            pf_bits_or(&out->first, &it.first);
        if (it.nullable) {
            pf_bits_or(&out->last, &it.last);
        } else {
            out->last = it.last;
            out->nullable = false;
        }
        items++;
    }
    if (items == 0 && opener != NULL)
        return pb_fail(g->b, opener, "empty group in structure");
    return HF_OK;
}

static hf_status expect(gl *g, const pb_tok *opener, char want) {
    if (g->i >= g->in->ntoks)
        return pb_fail(g->b, opener, "'%c' opened here is never closed", opener->p[0]);
    const pb_tok *t = &g->in->toks[g->i];
    if (t->len != 1 || t->p[0] != want)
        return pb_fail(g->b, t, "'%.*s' where '%c' closes the '%c' opened on line %u",
                       (int)t->len, t->p, want, opener->p[0], opener->line);
    g->i++;
    return HF_OK;
}

static hf_status g_item(gl *g, gres *r) {
    const pb_tok *t = &g->in->toks[g->i++];
    hf_status st;
    char c = t->len == 1 ? t->p[0] : 0;
    if (c == '[' || c == '{' || c == '<') {
        if (++g->depth > PF_MAX_DEPTH)
            return pb_fail(g->b, t, "groups nested deeper than %d", PF_MAX_DEPTH);
        if ((st = g_seq(g, r, t)) != HF_OK)
            return st;
        if (c == '<') {
            while (g->i < g->in->ntoks && g->in->toks[g->i].len == 1 &&
                   g->in->toks[g->i].p[0] == '|') {
                const pb_tok *bar = &g->in->toks[g->i++];
                gres alt;
                if ((st = g_seq(g, &alt, bar)) != HF_OK)
                    return st;
                pf_bits_or(&r->first, &alt.first);
                pf_bits_or(&r->last, &alt.last);
                r->nullable = r->nullable || alt.nullable;
            }
        }
        if ((st = expect(g, t, c == '[' ? ']' : c == '{' ? '}' : '>')) != HF_OK)
            return st;
        if (c == '[')
            r->nullable = true;
        else if (c == '{')
            link_follow(g, &r->last, &r->first);
        g->depth--;
        return HF_OK;
    }
    if (t->len != 3 || t->p[0] < 'A' || t->p[0] > 'Z')
        return pb_fail(g->b, t, "'%.*s' in structure: want a segment ID or [ ] { } < | >",
                       (int)(t->len < 40 ? t->len : 40), t->p);
    for (int k = 1; k < 3; k++)
        if (!((t->p[k] >= 'A' && t->p[k] <= 'Z') || (t->p[k] >= '0' && t->p[k] <= '9')))
            return pb_fail(g->b, t, "'%.3s' in structure is not a segment ID", t->p);
    if (g->npos >= PF_MAX_POS)
        return pb_fail(g->b, t, "structure mentions more than %d segments", PF_MAX_POS);
    uint32_t pos = g->npos++;
    uint32_t sym = pf_sym_find(g->rs, pf_pack_id(t->p));
    g->pos_sym[pos] = (uint16_t)sym; /* numbered by pf_compile beforehand */
    memset(r, 0, sizeof *r);
    pf_bit_set(&r->first, pos);
    pf_bit_set(&r->last, pos);
    r->nullable = false;
    return HF_OK;
}

hf_status pf_struct_compile(pb *b, const pb_sect *in, hf_profile *rs, pf_sect *out) {
    if (in->ntoks == 0)
        return HF_OK;
    const pb_tok *t0 = &in->toks[0];
    if (t0->len != 3 || memcmp(t0->p, "MSH", 3) != 0)
        return pb_fail(b, t0, "a structure starts with MSH");
    gl g = {b, in, rs, 0, 0, NULL, NULL, 0};
    g.follow = calloc(PF_MAX_POS + 1, sizeof *g.follow);
    g.pos_sym = calloc(PF_MAX_POS, sizeof *g.pos_sym);
    hf_status st = HF_OK;
    if (g.follow == NULL || g.pos_sym == NULL) {
        st = hf_err_set(b->err, HF_ENOMEM, "out of memory compiling a structure");
        goto done;
    }
    gres top;
    if ((st = g_seq(&g, &top, NULL)) != HF_OK)
        goto done;
    if (g.i < in->ntoks) {
        const pb_tok *t = &in->toks[g.i];
        st = pb_fail(b, t, "'%.*s' closes nothing", (int)t->len, t->p);
        goto done;
    }
    uint32_t n = g.npos;
    out->npos = n;
    out->follow = pf_arena_alloc(&rs->arena, (n + 1) * sizeof *out->follow);
    out->pos_sym = pf_arena_alloc(&rs->arena, n * sizeof *out->pos_sym);
    out->lab = pf_arena_alloc(&rs->arena, rs->nsym);
    out->lmask = pf_arena_alloc(&rs->arena, n * sizeof *out->lmask);
    if (out->follow == NULL || out->pos_sym == NULL || out->lab == NULL || out->lmask == NULL) {
        st = hf_err_set(b->err, HF_ENOMEM, "out of memory compiling a structure");
        goto done;
    }
    memcpy(out->follow, g.follow, n * sizeof *out->follow);
    out->follow[n] = top.first; /* the start state */
    memcpy(out->pos_sym, g.pos_sym, n * sizeof *out->pos_sym);
    out->accept = top.last;
    if (top.nullable)
        pf_bit_set(&out->accept, n);
    unsigned labels = 0;
    for (uint32_t p = 0; p < n; p++) {
        uint16_t s = out->pos_sym[p];
        if (out->lab[s] == 0)
            out->lab[s] = (uint8_t)++labels;
        pf_bit_set(&out->lmask[out->lab[s] - 1], p);
    }
done:
    free(g.follow);
    free(g.pos_sym);
    return st;
}

/* ---------------------------------------------------------------- run */

void pf_struct_begin(const pf_sect *s, pf_run *run) {
    memset(&run->cur, 0, sizeof run->cur);
    pf_bit_set(&run->cur, s->npos);
    run->last_seg = SIZE_MAX;
}

enum { UNSEEN = 0xffff, FIRST = 0xfffe };

/* Breadth-first search state over the states of one structure. */
typedef struct bfs {
    uint16_t parent[PF_MAX_POS + 1]; /* UNSEEN, FIRST (reached from a seed) or a state */
    uint16_t queue[PF_MAX_POS + 1];  /* each state enters at most once */
    size_t head, tail;
} bfs;

/* Visits the successors of @p from; true when one is in @p to (*hit). With
 * @p forward, only edges to later mentions in the grammar text are taken
 * (the start state comes before all). */
static bool relax(bfs *q, const pf_sect *s, uint32_t from, uint16_t mark, const pf_bits *to,
                  bool forward, uint32_t *hit) {
    const pf_bits *f = &s->follow[from];
    for (int w = 0; w < PF_WORDS; w++)
        for (uint64_t x = f->w[w]; x != 0; x &= x - 1) {
            uint32_t n = (uint32_t)w * 64 + (uint32_t)__builtin_ctzll(x);
            if (q->parent[n] != UNSEEN || (forward && from != s->npos && n <= from))
                continue;
            q->parent[n] = mark;
            if (pf_bit_has(to, n)) {
                *hit = n;
                return true;
            }
            q->queue[q->tail++] = (uint16_t)n;
        }
    return false;
}

/* Shortest way through follow edges from any state of @p from to a state of
 * @p to, taking at least one step (only forward edges with @p forward).
 * Stores the states after the start, in order, in path (the last is in
 * @p to) and returns their number, or 0 when there is none. Only runs on
 * messages that break their structure. */
static size_t shortest(const pf_sect *s, const pf_bits *from, const pf_bits *to, bool forward,
                       uint16_t path[PF_MAX_POS + 1]) {
    bfs q;
    uint32_t hit = 0;
    bool found = false;
    q.head = q.tail = 0;
    for (uint32_t p = 0; p <= s->npos; p++)
        q.parent[p] = UNSEEN;
    for (uint32_t p = 0; p <= s->npos && !found; p++)
        if (pf_bit_has(from, p))
            found = relax(&q, s, p, FIRST, to, forward, &hit);
    while (!found && q.head < q.tail) {
        uint16_t p = q.queue[q.head++];
        found = relax(&q, s, p, p, to, forward, &hit);
    }
    if (!found)
        return 0;
    size_t n = 1;
    for (uint32_t k = hit; q.parent[k] != FIRST; k = q.parent[k])
        n++;
    size_t i = n;
    for (uint32_t k = hit;; k = q.parent[k]) {
        path[--i] = (uint16_t)k;
        if (q.parent[k] == FIRST)
            break;
    }
    return n;
}

static void seg_loc(const hf_hl7_msg *msg, size_t seg, char *dst, size_t cap) {
    hf_span id = hf_hl7_seg_id(msg, seg);
    uint32_t occ = hf_hl7_seg_occurrence(msg, seg);
    if (occ > 1)
        snprintf(dst, cap, "%.3s[%u]", id.p, occ);
    else
        snprintf(dst, cap, "%.3s", id.p);
}

static void emit_missing(const hf_profile *rs, const pf_sect *s, uint16_t pos, pf_out *o,
                         const char *where, const char *what) {
    char id[4];
    uint32_t key = rs->sym_key[s->pos_sym[pos]];
    id[0] = (char)(key & 0xff);
    id[1] = (char)(key >> 8 & 0xff);
    id[2] = (char)(key >> 16 & 0xff);
    id[3] = '\0';
    pf_emit(o, HF_PV_SEGMENT_MISSING, SIZE_MAX, id, 0, 0, 0,
            "required segment missing (%s %s)", where, what);
}

void pf_struct_step(const hf_profile *rs, const pf_sect *s, pf_run *run, uint32_t sym,
                    size_t seg, pf_out *o) {
    uint8_t lab = s->lab[sym];
    if (lab == 0)
        return; /* not in this structure: ignored */
    const pf_bits *m = &s->lmask[lab - 1];
    if (s->npos < 64) { /* every state in word 0: the usual case */
        uint64_t nx = 0;
        for (uint64_t x = run->cur.w[0]; x != 0; x &= x - 1)
            nx |= s->follow[__builtin_ctzll(x)].w[0];
        nx &= m->w[0];
        if (nx != 0) {
            run->cur.w[0] = nx;
            run->last_seg = seg;
            return;
        }
    }
    pf_bits next = {{0}};
    for (int w = 0; w < PF_WORDS; w++)
        for (uint64_t x = run->cur.w[w]; x != 0; x &= x - 1)
            pf_bits_or(&next, &s->follow[w * 64 + __builtin_ctzll(x)]);
    for (int w = 0; w < PF_WORDS; w++)
        next.w[w] &= m->w[w];
    if (pf_bits_any(&next)) {
        run->cur = next;
        run->last_seg = seg;
        return;
    }

    /* out of order: something required was skipped, or this one is extra */
    uint16_t path[PF_MAX_POS + 1];
    size_t n = shortest(s, &run->cur, m, true, path);
    char here[24];
    seg_loc(o->msg, seg, here, sizeof here);
    if (n > 0) {
        for (size_t i = 0; i + 1 < n; i++)
            emit_missing(rs, s, path[i], o, "before", here);
        memset(&run->cur, 0, sizeof run->cur);
        pf_bit_set(&run->cur, path[n - 1]);
        run->last_seg = seg;
        return;
    }
    char prev[24] = "MSH";
    if (run->last_seg != SIZE_MAX)
        seg_loc(o->msg, run->last_seg, prev, sizeof prev);
    pf_emit(o, HF_PV_SEGMENT_UNEXPECTED, seg, NULL, 0, 0, 0,
            "segment not expected here (after %s)", prev);
}

void pf_struct_end(const hf_profile *rs, const pf_sect *s, pf_run *run, pf_out *o) {
    if (pf_bits_meet(&run->cur, &s->accept))
        return;
    uint16_t path[PF_MAX_POS + 1];
    size_t n = shortest(s, &run->cur, &s->accept, false, path);
    char prev[24] = "the start";
    if (run->last_seg != SIZE_MAX)
        seg_loc(o->msg, run->last_seg, prev, sizeof prev);
    for (size_t i = 0; i < n; i++)
        emit_missing(rs, s, path[i], o, "after", prev);
}
