/* gen_msg_adt.c - ADT messages (A01 admit, A02 transfer, A03 discharge, A04
 * register, A08 update, A11 cancel admit, A40 merge) and the visit state
 * they move.
 *
 * Each event updates the patient slot the way a hospital's ADT system
 * would: A01/A04 open a visit (new visit number), A02 moves the bed, A03
 * and A11 close the visit. Real feeds are not perfectly consistent and the
 * mix is fixed by type, so an event on a patient in the "wrong" state opens
 * the visit it needs rather than being skipped.
 */
#include "gen_int.h"

static int32_t rel_now(const gen_ctx *c) { return (int32_t)(c->now - GEN_EPOCH); }

/* Moves the slot to a fresh bed on a random unit. */
static void assign_bed(gen_ctx *c) {
    gen_slot *s = c->slot;
    s->unit = (uint8_t)gen_below(c->r, gen_units_n);
    s->room = (uint16_t)(100 * (1 + gen_below(c->r, 8)) + 1 + gen_below(c->r, 40));
    s->bed = (uint8_t)('A' + gen_below(c->r, 2));
}

void gen_visit_open(gen_ctx *c, uint8_t cls, uint32_t started_ago) {
    gen_slot *s = c->slot;
    s->visit++;
    s->cls = cls;
    s->admit = rel_now(c) - (int32_t)started_ago;
    if (cls == 'I')
        assign_bed(c);
    else
        s->room = (uint16_t)gen_below(c->r, 40);
}

/* Applies the event to the slot before the message is written. */
static void move_state(gen_ctx *c, gen_slot *before) {
    gen_slot *s = c->slot;
    *before = *s;
    switch (c->type) {
    case HF_GEN_ADT_A01:
        gen_visit_open(c, 'I', 0);
        break;
    case HF_GEN_ADT_A04:
        gen_visit_open(c, gen_chance(c->r, 7000) ? 'O' : 'E', 0);
        break;
    case HF_GEN_ADT_A02:
        if (s->cls != 'I')
            gen_visit_open(c, 'I', 3600 * gen_below(c->r, 48));
        *before = *s;
        assign_bed(c);
        break;
    case HF_GEN_ADT_A03:
    case HF_GEN_ADT_A11:
        if (s->cls == 0)
            gen_visit_open(c, 'I', 3600 * (1 + gen_below(c->r, 120)));
        break;
    default:
        break;
    }
}

void gen_msg_adt(gen_ctx *c, const gen_patient *prior) {
    static const char *const events[] = {
        [HF_GEN_ADT_A01] = "A01", [HF_GEN_ADT_A02] = "A02", [HF_GEN_ADT_A03] = "A03", [HF_GEN_ADT_A04] = "A04",
        [HF_GEN_ADT_A08] = "A08", [HF_GEN_ADT_A11] = "A11", [HF_GEN_ADT_A40] = "A40",
    };
    gen_slot before;
    hf_gen_type t = c->type;
    move_state(c, &before);

    gen_seg_msh(c);
    gen_seg_evn(c, events[t], t == HF_GEN_ADT_A01 || t == HF_GEN_ADT_A02 || t == HF_GEN_ADT_A03);
    gen_seg_pid(c);
    if (t == HF_GEN_ADT_A40) {
        gen_seg_mrg(c, prior);
        gen_seg_pv1(c, NULL);
        return;
    }
    int full = t == HF_GEN_ADT_A01 || t == HF_GEN_ADT_A04 || t == HF_GEN_ADT_A08;
    if (full && gen_chance(c->r, 5000))
        gen_seg_nk1(c);
    gen_seg_pv1(c, t == HF_GEN_ADT_A02 ? &before : NULL);
    if (full && gen_chance(c->r, 4500))
        gen_seg_al1(c);
    if ((t == HF_GEN_ADT_A01 || t == HF_GEN_ADT_A03 || t == HF_GEN_ADT_A08) && gen_chance(c->r, 5500))
        gen_seg_dg1(c, 1 + gen_below(c->r, 3), t == HF_GEN_ADT_A03 ? "F" : t == HF_GEN_ADT_A01 ? "A" : "W");
    if (full && gen_chance(c->r, 5000))
        gen_seg_in1(c);
    if (t == HF_GEN_ADT_A03 || t == HF_GEN_ADT_A11)
        c->slot->cls = 0; /* the visit is over */
}
