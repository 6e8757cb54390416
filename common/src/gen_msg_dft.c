/* gen_msg_dft.c - DFT^P03 financial transactions: the visit's charges as
 * 1..6 FT1 lines (procedure codes, quantities, amounts), the diagnoses
 * that justify them and sometimes the insurance.
 */
#include "gen_int.h"

static const char *department(const char *code) {
    if (code[0] == '8' || strcmp(code, "36415") == 0)
        return "LAB^Laboratory^L";
    if (code[0] == '7')
        return "RAD^Radiology^L";
    if (strcmp(code, "93000") == 0)
        return "CARD^Cardiology^L";
    if (strcmp(code, "97110") == 0)
        return "PT^Physical Therapy^L";
    return "MED^Medicine^L";
}

static void put_charge_code(gen_buf *b, const gen_charge *ch) {
    gen_puts(b, ch->code);
    gen_putc(b, '^');
    gen_put_esc(b, ch->text, strlen(ch->text));
    gen_puts(b, ch->code[0] == 'J' ? "^HCPCS" : "^CPT");
}

void gen_msg_dft(gen_ctx *c) {
    gen_buf *b = c->b;
    int currency = c->gen->opts.version == HF_GEN_V2_5_1;
    gen_seg_msh(c);
    gen_seg_evn(c, "P03", 0);
    gen_seg_pid(c);
    gen_seg_pv1(c, NULL);

    unsigned lines = 1 + gen_below(c->r, 6);
    const gen_coded *dx = &gen_diagnosis[gen_below(c->r, gen_diagnosis_n)];
    uint32_t doc = c->pt->identity * 31u + c->slot->visit;
    for (unsigned i = 1; i <= lines; i++) {
        const gen_charge *ch = &gen_charges[gen_below(c->r, gen_charges_n)];
        uint32_t qty = gen_chance(c->r, 8000) ? 1 : 2 + gen_below(c->r, 3);
        gen_time served = c->now - 3600 * (gen_time)gen_below(c->r, 72);
        gen_puts(b, "FT1|");
        gen_put_u(b, i, 0);
        gen_puts(b, "|T");
        gen_put_u(b, c->gen->index * 10 + i, 9);
        gen_puts(b, "||");
        gen_put_ts(b, served, 8);
        gen_putc(b, '|');
        gen_put_ts(b, c->now, 8);
        gen_puts(b, "|CG|");
        put_charge_code(b, ch);
        gen_fields(b, 3);             /* -> FT1-10 quantity */
        gen_put_u(b, qty, 0);
        gen_putc(b, '|');
        gen_put_money(b, (uint64_t)ch->cents * qty, currency);
        gen_putc(b, '|');
        gen_put_money(b, ch->cents, currency);
        gen_putc(b, '|');
        gen_puts(b, department(ch->code));
        gen_fields(b, 6);             /* -> FT1-19 diagnosis */
        gen_puts(b, dx->code);
        gen_putc(b, '^');
        gen_put_esc(b, dx->text, strlen(dx->text));
        gen_puts(b, "^I10|");
        gen_put_doctor(c, doc);       /* FT1-20 performed by */
        gen_putc(b, '|');
        gen_put_doctor(c, doc);       /* FT1-21 ordered by */
        gen_fields(b, 4);             /* -> FT1-25 procedure */
        put_charge_code(b, ch);
        gen_putc(b, '\r');
    }
    gen_seg_dg1(c, 1 + gen_below(c->r, 2), "F");
    if (gen_chance(c->r, 5000))
        gen_seg_in1(c);
}
