/* profile_plan.c - pf_plan_build: turns the merged rules of each message
 * section into per-version-band check plans, so that hf_profile_check does
 * per message only the work the message's version calls for.
 *
 * Version bands: every "since" and every "until" of any rule starts a new
 * band, so within a band each rule either applies to every version or to
 * none. The checker picks the band of MSH-12 once per message. A section
 * whose rules do not change from one band to the next shares the plan.
 *
 * Ops: within a plan, the rules of one segment symbol in wire order, each
 * with what its shortcut needs held inline; the first op of a field looks
 * it up, and the checker skips all ops of an empty field unless one of
 * them reports it.
 *
 * Also builds the hash of short message keys (hf_profile.skey) and refines
 * each rule's fast-path shape (enum pf_fast) so the checker
 * dispatches once per rule instead of testing the rule's parts in turn.
 */
#include <stdlib.h>
#include <string.h>

#include "profile_internal.h"

/* The narrower shortcut of rule @p r (see enum pf_fast); @p literal: a
 * rule on MSH-1 or MSH-2, which the general path reads unsplit. */
static uint8_t refine(const pf_rule *r, bool literal) {
    if (r->fast == PF_FAST_COMP)
        return literal ? PF_FAST_COMP1 : PF_FAST_COMP;
    if (r->fast == PF_FAST_NONE)
        /* FT1-4.1 TS: comp_ok takes the common timestamps */
        return !literal && r->comp != 0 && r->usage != PF_USE_X && r->table < 0 &&
                       (r->check == PF_CK_TS || r->check == PF_CK_DTM)
                   ? PF_FAST_COMP
                   : PF_FAST_NONE;
    if (r->fast != PF_FAST_FIELD)
        return r->fast;
    switch ((enum pf_check)r->check) {
    case PF_CK_NONE:
        if (r->table >= 0)
            return PF_FAST_CODE;
        return r->maxreps != 0 ? PF_FAST_ONEREP : PF_FAST_LEN;
    case PF_CK_TS:
    case PF_CK_DTM:
        return PF_FAST_DTM;
    case PF_CK_VARIES:
        return PF_FAST_VARIES;
    case PF_CK_DT:
    case PF_CK_TM:
    case PF_CK_NM:
    case PF_CK_SI:
        break;
    }
    return PF_FAST_VALUE;
}

static int u16_cmp(const void *x, const void *y) {
    unsigned a = *(const uint16_t *)x, b = *(const uint16_t *)y;
    return a < b ? -1 : a > b;
}

/* Collects the band starts of every rule of every section: 0, each vmin,
 * each vmax + 1 (below 0x10000), sorted and unique. */
static hf_status build_bands(hf_profile *rs) {
    size_t cap = 1;
    for (uint32_t i = 0; i < rs->nsects; i++)
        cap += 2 * (size_t)rs->sects[i].rbeg[rs->nsym];
    uint16_t *v = malloc(cap * sizeof *v);
    if (v == NULL)
        return HF_ENOMEM;
    size_t n = 0;
    v[n++] = 0;
    for (uint32_t i = 0; i < rs->nsects; i++) {
        const pf_sect *s = &rs->sects[i];
        for (uint32_t k = 0; k < s->rbeg[rs->nsym]; k++) {
            v[n++] = s->rules[k].vmin;
            if (s->rules[k].vmax < 0xffff)
                v[n++] = (uint16_t)(s->rules[k].vmax + 1);
        }
    }
    qsort(v, n, sizeof *v, u16_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || v[i] != v[u - 1])
            v[u++] = v[i];
    rs->band_lo = pf_arena_alloc(&rs->arena, u * sizeof *rs->band_lo);
    if (rs->band_lo == NULL) {
        free(v);
        return HF_ENOMEM;
    }
    memcpy(rs->band_lo, v, u * sizeof *v);
    rs->nbands = (uint32_t)u;
    free(v);
    return HF_OK;
}

static bool applies(const pf_rule *r, unsigned lo) {
    return r->vmin <= lo && lo <= r->vmax;
}

/* True when no rule of @p s changes between the bands starting at @p a and
 * @p b: they may share a plan. */
static bool same_rules(const hf_profile *rs, const pf_sect *s, unsigned a, unsigned b) {
    for (uint32_t k = 0; k < s->rbeg[rs->nsym]; k++)
        if (applies(&s->rules[k], a) != applies(&s->rules[k], b))
            return false;
    return true;
}

/* The plan of section @p s for the versions of the band starting at @p lo. */
static hf_status build_plan(hf_profile *rs, const pf_sect *s, unsigned lo, pf_plan *p) {
    uint32_t nrules = s->rbeg[rs->nsym];
    p->obeg = pf_arena_alloc(&rs->arena, (rs->nsym + 1) * sizeof *p->obeg);
    p->ops = pf_arena_alloc(&rs->arena, (nrules ? nrules : 1) * sizeof *p->ops);
    if (p->obeg == NULL || p->ops == NULL)
        return HF_ENOMEM;
    uint32_t n = 0;
    for (uint32_t sym = 0; sym < rs->nsym; sym++) {
        p->obeg[sym] = n;
        pf_op *head = NULL; /* fetch op of the current field */
        for (uint32_t k = s->rbeg[sym]; k < s->rbeg[sym + 1]; k++) {
            const pf_rule *r = &s->rules[k];
            if (!applies(r, lo))
                continue;
            pf_op *op = &p->ops[n++];
            *op = (pf_op){.rule = r,
                          .table = r->table >= 0 ? &rs->tables[r->table] : NULL,
                          .maxlen = r->maxlen,
                          .field = r->field,
                          .comp = r->comp,
                          .fast = r->fast,
                          .check = r->check,
                          .usage = r->usage};
            /* rules of a symbol are in (field, comp) order */
            if (head == NULL || head->field != r->field || head->nfield == UINT8_MAX) {
                head = op;
                op->fetch = 1;
                op->type_src = s->tbf[sym] != 0 && s->tbf[sym] == r->field;
            }
            head->nfield++;
            if (r->usage == PF_USE_R && r->comp == 0)
                head->on_empty = 1;
        }
        bool loud_after = false; /* last_loud, from the last field back */
        for (uint32_t i = n; i-- > p->obeg[sym];) {
            pf_op *op = &p->ops[i];
            if (!op->fetch)
                continue;
            op->last_loud = !loud_after;
            loud_after = loud_after || op->on_empty;
        }
    }
    p->obeg[rs->nsym] = n;
    return HF_OK;
}

/* The hash of short keys (hf_profile.skey): a message whose MSH-9 reads
 * "ADT^A01" finds its key with one 8-byte load and one probe. */
static hf_status build_short_keys(hf_profile *rs) {
    uint32_t slots = 4;
    while (slots < 2 * rs->nkeys)
        slots *= 2;
    rs->smask = slots - 1;
    rs->skey = pf_arena_alloc(&rs->arena, slots * sizeof *rs->skey);
    rs->skey_key = pf_arena_alloc(&rs->arena, slots * sizeof *rs->skey_key);
    if (rs->skey == NULL || rs->skey_key == NULL)
        return HF_ENOMEM;
    for (uint32_t i = 0; i < rs->nkeys; i++) {
        const pf_key *k = &rs->keys[i];
        if (k->len < 1 || k->len > 7)
            continue;
        uint64_t pk = pf_pack_code(k->text, k->len);
        uint32_t h = pf_code_slot(pk, rs->smask);
        while (rs->skey[h] != 0)
            h = (h + 1) & rs->smask;
        rs->skey[h] = pk;
        rs->skey_key[h] = i;
    }
    return HF_OK;
}

hf_status pf_plan_build(hf_profile *rs) {
    const uint32_t msh = pf_sym_find(rs, pf_pack_id("MSH"));
    for (uint32_t i = 0; i < rs->nsects; i++) {
        pf_sect *s = &rs->sects[i];
        for (uint32_t sym = 0; sym < rs->nsym; sym++)
            for (uint32_t k = s->rbeg[sym]; k < s->rbeg[sym + 1]; k++)
                s->rules[k].fast = refine(&s->rules[k], sym == msh && s->rules[k].field <= 2);
    }
    hf_status st = build_short_keys(rs);
    if (st == HF_OK)
        st = build_bands(rs);
    for (uint32_t i = 0; st == HF_OK && i < rs->nsects; i++) {
        pf_sect *s = &rs->sects[i];
        s->plans = pf_arena_alloc(&rs->arena, rs->nbands * sizeof *s->plans);
        if (s->plans == NULL)
            return HF_ENOMEM;
        for (uint32_t b = 0; st == HF_OK && b < rs->nbands; b++) {
            if (b > 0 && same_rules(rs, s, rs->band_lo[b - 1], rs->band_lo[b]))
                s->plans[b] = s->plans[b - 1];
            else
                st = build_plan(rs, s, rs->band_lo[b], &s->plans[b]);
        }
    }
    return st;
}
