/* gen_msg_lab.c - laboratory traffic: ORM^O01 orders and ORU^R01 results.
 *
 * An ORM opens an order on the patient (placer number "ORD<n>", one LOINC
 * panel); the patient's next ORU reports that order, with the same placer
 * number and panel, so order/result correlation works downstream. An ORU
 * with no open order is a lab-initiated result. ORU bodies are ORC+OBR
 * groups with OBX runs (1..30 OBX per message): NM with units, reference
 * ranges and H/L flags, ST and TX text, CE coded answers, and some NTE.
 */
#include "gen_int.h"

static void put_order_id(gen_ctx *c, const char *prefix, uint32_t order, const char *ns) {
    gen_puts(c->b, prefix);
    gen_put_u(c->b, order, 8);
    gen_putc(c->b, '^');
    gen_puts(c->b, ns);
}

static uint32_t pick_panel(gen_rng *r) {
    uint32_t x = gen_below(r, gen_panel_weight_total);
    for (uint32_t i = 0; i < gen_panels_n; i++) {
        if (x < gen_panels[i].weight)
            return i;
        x -= gen_panels[i].weight;
    }
    return 0;
}

static void put_service(gen_buf *b, const gen_panel *p) {
    gen_puts(b, p->code);
    gen_putc(b, '^');
    gen_puts(b, p->name);
    gen_puts(b, "^LN");
}

static void seg_nte(gen_ctx *c, unsigned n) {
    const char *text = gen_nte_text[gen_below(c->r, gen_nte_text_n)];
    gen_puts(c->b, "NTE|");
    gen_put_u(c->b, n, 0);
    gen_puts(c->b, "|L|");
    gen_put_esc(c->b, text, strlen(text));
    gen_putc(c->b, '\r');
}

void gen_msg_orm(gen_ctx *c) {
    hf_gen *g = c->gen;
    gen_buf *b = c->b;
    uint32_t order = ++g->order_seq;
    uint32_t panel = pick_panel(c->r);
    c->slot->order = order;
    c->slot->panel = (uint8_t)panel;

    gen_seg_msh(c);
    gen_seg_pid(c);
    gen_seg_pv1(c, NULL);
    gen_puts(b, "ORC|NW|");
    put_order_id(c, "ORD", order, c->pt->fac->app);
    gen_puts(b, "|||||^^^");
    gen_put_ts(b, c->now, 12);
    gen_puts(b, "^^R||");
    gen_put_ts(b, c->now, 14);
    gen_puts(b, "|RN");
    gen_put_u(b, gen_below(c->r, 900), 4);
    gen_puts(b, "||");
    uint32_t doc = gen_below(c->r, 48);
    gen_put_doctor(c, doc);
    gen_putc(b, '\r');

    const gen_panel *p = &gen_panels[panel];
    gen_puts(b, "OBR|1|");
    put_order_id(c, "ORD", order, c->pt->fac->app);
    gen_puts(b, "||");
    put_service(b, p);
    gen_fields(b, 2);                 /* -> OBR-6 requested */
    gen_put_ts(b, c->now, 12);
    gen_putc(b, '|');                 /* OBR-7 collection */
    gen_put_ts(b, c->now + 60 * (gen_time)gen_below(c->r, 120), 12);
    gen_fields(b, 8);                 /* -> OBR-15 */
    gen_puts(b, p->specimen);
    gen_putc(b, '|');
    gen_put_doctor(c, doc);
    gen_fields(b, 11);                /* -> OBR-27 */
    gen_puts(b, gen_chance(c->r, 1500) ? "^^^^^S" : "^^^^^R");
    gen_putc(b, '\r');
    if (gen_chance(c->r, 3000))
        seg_nte(c, 1);
    if (gen_chance(c->r, 3000))
        gen_seg_dg1(c, 1, "W");
}

/* One OBX; returns nonzero if the value was abnormal. */
static int seg_obx(gen_ctx *c, unsigned n, const gen_test *t, gen_time at) {
    gen_buf *b = c->b;
    static const char *const kinds[] = {[GEN_NM] = "NM", [GEN_ST] = "ST", [GEN_CE_QUAL] = "CE",
                                        [GEN_CE_ORG] = "CE", [GEN_TX] = "TX"};
    const char *flag = "";
    gen_puts(b, "OBX|");
    gen_put_u(b, n, 0);
    gen_putc(b, '|');
    gen_puts(b, kinds[t->kind]);
    gen_putc(b, '|');
    gen_puts(b, t->code);
    gen_putc(b, '^');
    gen_puts(b, t->name);
    gen_puts(b, "^LN||");
    switch (t->kind) {
    case GEN_NM: {
        int32_t span = t->hi - t->lo > 0 ? t->hi - t->lo : 1;
        uint32_t roll = gen_below(c->r, 100);
        int32_t v;
        if (roll < 78) {
            v = t->lo + (int32_t)gen_below(c->r, (uint32_t)span + 1);
            flag = "N";
        } else if (roll < 90) {
            v = t->hi + 1 + (int32_t)gen_below(c->r, (uint32_t)span / 2 + 1);
            flag = roll == 89 ? "HH" : "H";
        } else {
            v = t->lo - 1 - (int32_t)gen_below(c->r, (uint32_t)span / 3 + 1);
            flag = "L";
            if (v < 0) {
                v = t->lo;
                flag = "N";
            }
        }
        gen_put_dec(b, v, t->dec);
        gen_putc(b, '|');
        if (t->unit[0]) {
            size_t ul = strlen(t->unit);
            gen_put_esc(b, t->unit, ul);
            gen_putc(b, '^');
            gen_put_esc(b, t->unit, ul);
            gen_puts(b, "^UCUM");
        }
        gen_putc(b, '|');
        gen_put_dec(b, t->lo, t->dec);
        gen_putc(b, '-');
        gen_put_dec(b, t->hi, t->dec);
        break;
    }
    case GEN_ST: {
        static const char *const colors[] = {"YELLOW", "YELLOW", "STRAW", "AMBER", "DARK YELLOW"};
        static const char *const looks[] = {"CLEAR", "CLEAR", "SLIGHTLY HAZY", "HAZY", "CLOUDY"};
        uint32_t k = gen_below(c->r, 5);
        gen_puts(b, t->code[3] == '8' ? colors[k] : looks[k]); /* 5778-6 is colour */
        gen_fields(b, 2);
        if (k >= 3)
            flag = "A";
        break;
    }
    case GEN_CE_QUAL:
    case GEN_CE_ORG: {
        const gen_coded *cd = t->kind == GEN_CE_QUAL ? &gen_qual_result[gen_below(c->r, gen_qual_result_n)]
                                                     : &gen_organism[gen_below(c->r, gen_organism_n)];
        gen_puts(b, cd->code);
        gen_putc(b, '^');
        gen_puts(b, cd->text);
        gen_putc(b, '^');
        gen_puts(b, cd->system);
        gen_fields(b, 2);
        if (cd->text[0] != 'N') /* Negative, No growth */
            flag = "A";
        break;
    }
    default: {
        if (t->code[0] == '6') { /* Gram stain: TX with a formatted line break */
            gen_puts(b, gen_chance(c->r, 5000) ? "Gram negative rods seen." : "Gram positive cocci in clusters.");
            gen_puts(b, "\\.br\\Moderate white blood cells; no epithelial cells.");
        } else {
            const char *text = gen_nte_text[gen_below(c->r, gen_nte_text_n)];
            gen_put_esc(b, text, strlen(text));
        }
        gen_fields(b, 2);
        break;
    }
    }
    gen_putc(b, '|');
    gen_puts(b, flag);
    gen_puts(b, "|||F|||");
    gen_put_ts(b, at, 14);
    gen_putc(b, '|');
    gen_puts(b, c->pt->fac->code);
    gen_puts(b, "LAB^");
    gen_puts(b, c->pt->fac->name);
    gen_puts(b, " Laboratory^L\r");
    return flag[0] != 'N' && flag[0] != '\0';
}

static void obr_group(gen_ctx *c, unsigned set, uint32_t order, const gen_panel *p, unsigned *obx) {
    gen_buf *b = c->b;
    gen_marks *m = c->m;
    gen_time observed = c->now - 60 * (gen_time)(30 + gen_below(c->r, 330));
    uint32_t doc = gen_below(c->r, 48);

    gen_puts(b, "ORC|RE|");
    put_order_id(c, "ORD", order, c->pt->fac->app);
    gen_putc(b, '|');
    put_order_id(c, "LAB", order, "LAB");
    gen_puts(b, "||CM||||");
    gen_put_ts(b, c->now, 14);
    gen_fields(b, 3);
    gen_put_doctor(c, doc);
    gen_putc(b, '\r');

    if (m->nobr < GEN_MAX_OBR)
        m->obr_off[m->nobr] = (uint32_t)b->len;
    gen_puts(b, "OBR|");
    gen_put_u(b, set, 0);
    gen_putc(b, '|');
    put_order_id(c, "ORD", order, c->pt->fac->app);
    gen_putc(b, '|');
    put_order_id(c, "LAB", order, "LAB");
    gen_putc(b, '|');
    put_service(b, p);
    gen_fields(b, 3);                 /* -> OBR-7 observation */
    gen_put_ts(b, observed, 14);
    gen_fields(b, 7);                 /* -> OBR-14 received */
    gen_put_ts(b, observed + 60 * (gen_time)(5 + gen_below(c->r, 25)), 14);
    gen_putc(b, '|');
    gen_puts(b, p->specimen);
    gen_putc(b, '|');
    gen_put_doctor(c, doc);
    gen_fields(b, 6);                 /* -> OBR-22 reported */
    gen_put_ts(b, c->now - 60 * (gen_time)gen_below(c->r, 20), 14);
    gen_fields(b, 2);                 /* -> OBR-24 */
    gen_puts(b, p->section);
    gen_puts(b, "|F||^^^^^R\r");
    if (m->nobr < GEN_MAX_OBR)
        m->obr_end[m->nobr++] = (uint32_t)b->len;
    if (gen_chance(c->r, 1500))
        seg_nte(c, 1);

    for (unsigned i = 0; i < p->n; i++) {
        int abnormal = seg_obx(c, ++*obx, &gen_tests[p->tests[i]], observed + 60 * 40);
        if (abnormal && gen_chance(c->r, 800))
            seg_nte(c, 1);
    }
}

void gen_msg_oru(gen_ctx *c) {
    hf_gen *g = c->gen;
    gen_slot *s = c->slot;
    uint32_t order = s->order ? s->order : ++g->order_seq;
    uint32_t panel = s->order ? s->panel : pick_panel(c->r);
    s->order = 0;

    gen_seg_msh(c);
    gen_seg_pid(c);
    gen_seg_pv1(c, NULL);
    unsigned obx = 0;
    obr_group(c, 1, order, &gen_panels[panel], &obx);
    unsigned groups = gen_chance(c->r, 2500) ? (gen_chance(c->r, 3000) ? 3 : 2) : 1;
    for (unsigned set = 2; set <= groups; set++) {
        const gen_panel *p = &gen_panels[pick_panel(c->r)];
        if (obx + p->n > GEN_MAX_OBX)
            break;
        obr_group(c, set, ++g->order_seq, p, &obx);
    }
}
