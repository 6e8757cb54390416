/* gen_seg_adt.c - the patient-detail segments of ADT (and DFT) messages:
 * NK1 next of kin, AL1 allergies, DG1 diagnoses, IN1 insurance, MRG merge.
 *
 * Next of kin, allergies and insurance belong to the patient, so they come
 * from a random stream keyed by the identity and repeat identically in
 * every message that carries them; diagnoses belong to the visit and use
 * the message's stream.
 */
#include "gen_int.h"

/* A random stream private to (seed, identity, purpose). */
static void patient_rng(const gen_ctx *c, uint64_t purpose, gen_rng *r) {
    gen_rng_seed(r, gen_mix(c->gen->opts.seed ^ purpose, c->pt->identity));
}

static void put_coded(gen_buf *b, const gen_coded *cd) {
    gen_puts(b, cd->code);
    gen_putc(b, '^');
    gen_put_esc(b, cd->text, strlen(cd->text));
    gen_putc(b, '^');
    gen_puts(b, cd->system);
}

void gen_seg_nk1(gen_ctx *c) {
    gen_rng r;
    patient_rng(c, 0x4e4b31, &r);
    unsigned count = 1 + gen_below(&r, 2);
    for (unsigned i = 1; i <= count; i++) {
        const gen_coded *rel = &gen_relation[gen_below(&r, gen_relation_n)];
        int family = rel->code[0] != 'F';
        const char *last = family ? c->pt->last : gen_last[gen_below(&r, gen_last_n)];
        const char *first = gen_chance(&r, 5000) ? gen_female_first[gen_below(&r, gen_female_first_n)]
                                                 : gen_male_first[gen_below(&r, gen_male_first_n)];
        gen_puts(c->b, "NK1|");
        gen_put_u(c->b, i, 0);
        gen_putc(c->b, '|');
        gen_put_name(c->b, last, first, 0);
        gen_putc(c->b, '|');
        put_coded(c->b, rel);
        gen_putc(c->b, '|');
        if (family)
            gen_put_address(c);
        gen_puts(c->b, "|(");
        gen_put_u(c->b, c->pt->city->area, 3);
        gen_puts(c->b, ")555-01");
        gen_put_u(c->b, gen_below(&r, 100), 2);
        gen_puts(c->b, "^PRN^PH||EC^Emergency Contact^HL70131\r");
    }
}

void gen_seg_al1(gen_ctx *c) {
    static const char *const types[] = {"DA^Drug allergy^HL70127", "FA^Food allergy^HL70127",
                                        "EA^Environmental allergy^HL70127"};
    static const char *const severities[] = {"MI^Mild^HL70128", "MO^Moderate^HL70128", "SV^Severe^HL70128"};
    gen_rng r;
    patient_rng(c, 0x414c31, &r);
    unsigned count = 1 + gen_below(&r, 3);
    for (unsigned i = 1; i <= count; i++) {
        const gen_allergen *a = &gen_allergens[gen_below(&r, gen_allergens_n)];
        gen_puts(c->b, "AL1|");
        gen_put_u(c->b, i, 0);
        gen_putc(c->b, '|');
        gen_puts(c->b, types[a->type[0] == 'D' ? 0 : a->type[0] == 'F' ? 1 : 2]);
        gen_putc(c->b, '|');
        gen_puts(c->b, a->code);
        gen_putc(c->b, '^');
        gen_puts(c->b, a->text);
        gen_putc(c->b, '^');
        gen_puts(c->b, a->system);
        gen_putc(c->b, '|');
        gen_puts(c->b, severities[gen_below(&r, 3)]);
        gen_putc(c->b, '|');
        gen_puts(c->b, gen_reaction[gen_below(&r, gen_reaction_n)]);
        if (gen_chance(&r, 3000)) {
            gen_putc(c->b, '~');
            gen_puts(c->b, gen_reaction[gen_below(&r, gen_reaction_n)]);
        }
        gen_putc(c->b, '|');
        gen_put_ts(c->b, GEN_EPOCH - 86400 * (gen_time)(30 + gen_below(&r, 3000)), 8);
        gen_putc(c->b, '\r');
    }
}

void gen_seg_dg1(gen_ctx *c, unsigned n, const char *type) {
    for (unsigned i = 1; i <= n; i++) {
        gen_puts(c->b, "DG1|");
        gen_put_u(c->b, i, 0);
        gen_puts(c->b, "||");
        put_coded(c->b, &gen_diagnosis[gen_below(c->r, gen_diagnosis_n)]);
        gen_puts(c->b, "||");
        gen_put_ts(c->b, c->now - 60 * (gen_time)gen_below(c->r, 600), 12);
        gen_putc(c->b, '|');
        gen_puts(c->b, type);
        gen_putc(c->b, '\r');
    }
}

void gen_seg_in1(gen_ctx *c) {
    gen_rng r;
    patient_rng(c, 0x494e31, &r);
    unsigned count = gen_chance(&r, 2500) ? 2 : 1;
    const gen_patient *pt = c->pt;
    for (unsigned i = 1; i <= count; i++) {
        const gen_insurer *ins = &gen_insurers[gen_below(&r, gen_insurers_n)];
        gen_buf *b = c->b;
        gen_puts(b, "IN1|");
        gen_put_u(b, i, 0);
        gen_putc(b, '|');
        gen_puts(b, ins->plan_id);
        gen_putc(b, '^');
        gen_put_esc(b, ins->name, strlen(ins->name));
        gen_putc(b, '|');
        gen_puts(b, ins->plan_id);
        gen_puts(b, "CO|");
        gen_put_esc(b, ins->name, strlen(ins->name));
        gen_putc(b, '|');
        gen_puts(b, ins->street);
        gen_puts(b, "^^");
        gen_puts(b, ins->city_state_zip);
        gen_puts(b, "|||G");
        gen_put_u(b, gen_below(&r, 1000000), 6);          /* IN1-8 group number */
        gen_fields(b, 4);                                 /* -> IN1-12 */
        gen_put_ts(b, GEN_EPOCH - 86400 * (gen_time)gen_below(&r, 2000), 8);
        gen_fields(b, 3);                                 /* -> IN1-15 */
        gen_puts(b, ins->plan_type);
        gen_putc(b, '|');
        gen_put_name(b, pt->last, pt->first, pt->middle); /* IN1-16: self-insured */
        gen_puts(b, "|SEL^Self^HL70063|");
        int y;
        unsigned mo, d;
        gen_civil_from_days(pt->dob_days, &y, &mo, &d);
        gen_put_u(b, (uint64_t)y, 4);
        gen_put_u(b, mo, 2);
        gen_put_u(b, d, 2);
        gen_putc(b, '|');
        gen_put_address(c);
        gen_fields(b, 17);                                /* -> IN1-36 */
        gen_puts(b, ins->plan_id);
        gen_put_u(b, gen_below(&r, 1000000000u), 9);
        gen_putc(b, '\r');
    }
}

void gen_seg_mrg(gen_ctx *c, const gen_patient *prior) {
    gen_buf *b = c->b;
    gen_puts(b, "MRG|");
    gen_put_u(b, prior->mrn, 0);
    gen_puts(b, "^^^");
    gen_puts(b, prior->fac->code);
    gen_puts(b, "^MR||");
    gen_put_u(b, (uint64_t)prior->mrn * 1000u + c->gen->slots[prior->slot].visit % 1000u, 0);
    gen_puts(b, "^^^");
    gen_puts(b, prior->fac->code);
    gen_puts(b, "^AN||||");
    gen_put_name(b, prior->last, prior->first, prior->middle);
    gen_putc(b, '\r');
}
