/* gen_seg.c - the segments every message type shares (MSH, SFT, EVN, PID,
 * PV1) and the composite fields they are made of (names, addresses,
 * providers, money).
 *
 * Each segment writer appends one whole segment ending in "\r" and records
 * in the marks the spans the fault recipes need (MSH-9, MSH-10, PID-3/5/7/8).
 */
#include "gen_int.h"

static const char *const GEN_VERSION_TEXT[] = {"2.3", "2.4", "2.5.1"};

void gen_fields(gen_buf *b, unsigned n) { gen_put_rep(b, '|', n); }

static uint32_t off(const gen_ctx *c) { return (uint32_t)c->b->len; }

static uint32_t fac_index(const gen_ctx *c) { return (uint32_t)(c->pt->fac - c->gen->facs); }

void gen_put_name(gen_buf *b, const char *last, const char *first, char middle) {
    gen_puts(b, last);
    gen_putc(b, '^');
    gen_puts(b, first);
    if (middle) {
        gen_putc(b, '^');
        gen_putc(b, middle);
    }
}

/* Providers are a fixed staff of 48 per facility, derived from the seed. */
void gen_put_doctor(gen_ctx *c, uint32_t k) {
    gen_rng r;
    gen_rng_seed(&r, gen_mix(c->gen->opts.seed ^ 0x444f43544f52ULL, fac_index(c) * 64u + k % 48u));
    gen_put_u(c->b, 1000000000u + gen_below(&r, 999999999u), 0); /* NPI-shaped */
    gen_putc(c->b, '^');
    const char *last = gen_last[gen_below(&r, gen_last_n)];
    const char *first = gen_chance(&r, 5000) ? gen_female_first[gen_below(&r, gen_female_first_n)]
                                             : gen_male_first[gen_below(&r, gen_male_first_n)];
    gen_put_name(c->b, last, first, (char)('A' + gen_below(&r, 26)));
    gen_puts(c->b, "^^^MD^^NPI");
}

static void put_phone(gen_buf *b, uint32_t area, uint32_t line) {
    gen_putc(b, '(');
    gen_put_u(b, area, 3);
    gen_puts(b, ")555-01");
    gen_put_u(b, line % 100, 2);
}

void gen_put_address(gen_ctx *c) {
    const gen_patient *pt = c->pt;
    gen_put_u(c->b, pt->house, 0);
    gen_putc(c->b, ' ');
    gen_puts(c->b, pt->street);
    gen_putc(c->b, ' ');
    gen_puts(c->b, pt->street_sfx);
    gen_putc(c->b, '^');
    if (pt->apt) {
        gen_puts(c->b, "Apt ");
        gen_put_u(c->b, pt->apt, 0);
    }
    gen_putc(c->b, '^');
    gen_puts(c->b, pt->city->name);
    gen_putc(c->b, '^');
    gen_puts(c->b, pt->city->state);
    gen_putc(c->b, '^');
    gen_put_u(c->b, pt->zip, 5);
    gen_puts(c->b, "^USA^H");
}

void gen_put_money(gen_buf *b, uint64_t cents, int with_currency) {
    gen_put_dec(b, (int64_t)cents, 2);
    if (with_currency)
        gen_puts(b, "&USD");
}

void gen_seg_msh(gen_ctx *c) {
    hf_gen *g = c->gen;
    const gen_facility *f = c->pt->fac;
    gen_buf *b = c->b;
    gen_puts(b, "MSH|^~\\&|");
    gen_puts(b, f->app);
    gen_putc(b, '|');
    gen_puts(b, f->code);
    gen_puts(b, "|HL7FLOW|HUB|");
    gen_put_ts(b, c->now, 14);
    gen_puts(b, f->tz);
    gen_puts(b, "||");
    c->m->msh9_off = off(c);
    gen_puts(b, hf_gen_type_name(c->type));
    if (g->opts.version >= HF_GEN_V2_4) {
#define GEN_STRUCT_(name, type, structure, bp) [name] = structure,
        static const char *const structs[] = {HF_GEN_TYPE_LIST(GEN_STRUCT_)};
#undef GEN_STRUCT_
        gen_putc(b, '^');
        gen_puts(b, structs[c->type]);
    }
    c->m->msh9_len = off(c) - c->m->msh9_off;
    gen_putc(b, '|');
    c->m->msh10_off = off(c);
    gen_puts(b, g->ctrl);
    c->m->msh10_len = off(c) - c->m->msh10_off;
    gen_puts(b, "|P|");
    gen_puts(b, GEN_VERSION_TEXT[g->opts.version]);
    if (g->opts.version == HF_GEN_V2_5_1)
        gen_puts(b, f->enhanced ? "|||AL|NE|USA|UNICODE UTF-8" : "|||||USA|UNICODE UTF-8");
    else if (g->opts.version == HF_GEN_V2_4 && f->enhanced)
        gen_puts(b, "|||AL|NE");
    gen_putc(b, '\r');
    c->m->msh_end = off(c);

    if (g->opts.version == HF_GEN_V2_5_1) { /* SFT exists from v2.5 on */
        uint32_t fi = fac_index(c);
        gen_puts(b, "SFT|");
        gen_puts(b, f->app);
        gen_puts(b, " Systems^L|8.");
        gen_put_u(b, fi % 4, 0);
        gen_puts(b, ".1|");
        gen_puts(b, f->app);
        gen_puts(b, " Interface Engine|");
        gen_put_u(b, 81000u + fi, 0);
        gen_puts(b, "||20231101\r");
    }
}

void gen_seg_evn(gen_ctx *c, const char *event, int with_occurred) {
    gen_buf *b = c->b;
    gen_puts(b, "EVN|");
    gen_puts(b, event);
    gen_putc(b, '|');
    gen_put_ts(b, c->now - gen_below(c->r, 90), 14);
    gen_puts(b, c->pt->fac->tz);
    gen_puts(b, "|||REG");
    gen_put_u(b, gen_below(c->r, 400), 4);
    gen_putc(b, '|');
    if (with_occurred)
        gen_put_ts(b, c->now - 60 * (gen_time)gen_below(c->r, 240), 12);
    if (c->gen->opts.version == HF_GEN_V2_5_1) {
        gen_putc(b, '|');
        gen_puts(b, c->pt->fac->code);
    }
    gen_putc(b, '\r');
}

static void put_pid3(gen_ctx *c) {
    const gen_patient *pt = c->pt;
    gen_buf *b = c->b;
    if (pt->hie) { /* the MR repetition is not always first */
        gen_put_u(b, pt->hie, 0);
        gen_puts(b, "^^^REGIONAL_HIE^PI~");
    }
    gen_put_u(b, pt->mrn, 0);
    gen_puts(b, "^^^");
    gen_puts(b, pt->fac->code);
    gen_puts(b, "^MR");
    if (pt->ssn) {
        gen_putc(b, '~');
        gen_put_u(b, pt->ssn / 1000000, 3);
        gen_putc(b, '-');
        gen_put_u(b, pt->ssn / 10000 % 100, 2);
        gen_putc(b, '-');
        gen_put_u(b, pt->ssn % 10000, 4);
        gen_puts(b, "^^^SSA^SS");
    }
    if (pt->dl) {
        gen_puts(b, "~S");
        gen_put_u(b, pt->dl, 8);
        gen_puts(b, "^^^");
        gen_puts(b, pt->city->state);
        gen_puts(b, "^DL");
    }
}

/* Account / visit number: MRN followed by a three-digit visit counter. */
static void put_visit_id(gen_ctx *c, const char *type) {
    gen_put_u(c->b, (uint64_t)c->pt->mrn * 1000u + c->slot->visit % 1000u, 0);
    gen_puts(c->b, "^^^");
    gen_puts(c->b, c->pt->fac->code);
    gen_putc(c->b, '^');
    gen_puts(c->b, type);
}

void gen_seg_pid(gen_ctx *c) {
    const gen_patient *pt = c->pt;
    gen_buf *b = c->b;
    gen_marks *m = c->m;
    m->pid_off = off(c);
    gen_puts(b, "PID|1||");
    m->pid3_off = off(c);
    put_pid3(c);
    m->pid3_len = off(c) - m->pid3_off;
    gen_puts(b, "||");
    m->pid5_off = off(c);
    gen_put_name(b, pt->last, pt->first, pt->middle);
    gen_putc(b, '^');
    gen_puts(b, pt->suffix);
    gen_puts(b, "^^^L");
    if (pt->alias_last) {
        gen_putc(b, '~');
        gen_puts(b, pt->alias_last);
        gen_putc(b, '^');
        gen_puts(b, pt->first);
        gen_puts(b, "^^^^^M");
    }
    gen_putc(b, '|');
    gen_puts(b, pt->mother);
    gen_putc(b, '|');
    m->pid7_off = off(c);
    int y;
    unsigned mo, d;
    gen_civil_from_days(pt->dob_days, &y, &mo, &d);
    gen_put_u(b, (uint64_t)y, 4);
    gen_put_u(b, mo, 2);
    gen_put_u(b, d, 2);
    m->pid7_len = off(c) - m->pid7_off;
    gen_putc(b, '|');
    m->pid8_off = off(c);
    gen_putc(b, pt->sex);
    m->pid8_len = 1;
    gen_puts(b, "||");
    gen_puts(b, pt->race->code);
    gen_putc(b, '^');
    gen_puts(b, pt->race->text);
    gen_putc(b, '^');
    gen_puts(b, pt->race->system);
    gen_putc(b, '|');
    gen_put_address(c);
    gen_puts(b, "||");
    put_phone(b, pt->city->area, pt->phone);
    gen_puts(b, "^PRN^PH");
    if (pt->email) {
        static const char *const domains[] = {"example.com", "example.org", "example.net"};
        gen_puts(b, "~^NET^Internet^");
        /* Mailbox from the ASCII letters of the name: no delimiters. */
        for (const char *p = pt->first; *p; p++)
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
                gen_putc(b, (char)(*p | 0x20));
        gen_putc(b, '.');
        for (const char *p = pt->last; *p; p++)
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
                gen_putc(b, (char)(*p | 0x20));
        gen_put_u(b, pt->mrn % 97, 0);
        gen_putc(b, '@');
        gen_puts(b, domains[pt->email - 1]);
    }
    gen_putc(b, '|');
    if (pt->work_phone) {
        put_phone(b, pt->city->area, pt->work_phone);
        gen_puts(b, "^WPN^PH");
    }
    gen_putc(b, '|');
    gen_puts(b, pt->lang->code);
    gen_putc(b, '^');
    gen_puts(b, pt->lang->text);
    gen_putc(b, '^');
    gen_puts(b, pt->lang->system);
    gen_putc(b, '|');
    gen_putc(b, pt->marital);
    gen_puts(b, "||");
    put_visit_id(c, "AN");
    if (c->gen->opts.version != HF_GEN_V2_5_1 && pt->ssn) { /* PID-19 retired in 2.5 */
        gen_putc(b, '|');
        gen_put_u(b, pt->ssn, 9);
    }
    gen_putc(b, '\r');
    m->pid_end = off(c);
}

static void put_location(gen_ctx *c, const gen_slot *s) {
    gen_buf *b = c->b;
    if (s->cls == 'I') {
        gen_put_esc(b, gen_units[s->unit].code, strlen(gen_units[s->unit].code));
        gen_putc(b, '^');
        gen_put_u(b, s->room, 0);
        gen_putc(b, '^');
        gen_putc(b, (char)s->bed);
    } else if (s->cls == 'E') {
        gen_puts(b, "ED^");
        gen_put_u(b, s->room % 40 + 1, 0);
        gen_putc(b, '^');
    } else {
        static const char *const clinics[] = {"FMC", "IMC", "CARD", "ORTHO", "PEDS", "LABDRAW"};
        gen_puts(b, clinics[s->room % 6]);
        gen_puts(b, "^^");
    }
    gen_putc(b, '^');
    gen_puts(b, c->pt->fac->code);
}

void gen_seg_pv1(gen_ctx *c, const gen_slot *prior) {
    const gen_slot *s = c->slot;
    gen_buf *b = c->b;
    if (s->cls == 0) { /* no visit (A08/A40 of a patient not in house) */
        gen_puts(b, "PV1|1|N\r");
        return;
    }
    gen_puts(b, "PV1|1|");
    gen_putc(b, (char)s->cls);
    gen_putc(b, '|');
    put_location(c, s);
    gen_putc(b, '|');
    gen_putc(b, s->cls == 'I' ? "EUR"[s->room % 3] : s->cls == 'E' ? 'E' : 'R'); /* PV1-4 */
    gen_fields(b, 2);
    if (prior)
        put_location(c, prior); /* PV1-6 prior location (A02) */
    gen_putc(b, '|');
    uint32_t who = c->pt->identity * 31u + s->visit; /* provider choice */
    {
        gen_put_doctor(c, who);                     /* PV1-7 attending */
        gen_putc(b, '|');
        gen_put_doctor(c, who / 7 + 11);            /* PV1-8 referring */
        gen_fields(b, 2);
        gen_puts(b, s->cls == 'I' ? gen_units[s->unit].service : s->cls == 'E' ? "EME" : "MED");
        gen_fields(b, 4);                            /* -> PV1-14 */
        gen_putc(b, s->cls == 'E' ? '7' : s->cls == 'I' ? '1' : '2');
        gen_fields(b, 3);                            /* -> PV1-17 admitting */
        if (s->cls == 'I')
            gen_put_doctor(c, who);
        gen_fields(b, 2);                            /* -> PV1-19 */
        put_visit_id(c, "VN");
        gen_putc(b, '|');
        gen_puts(b, s->visit % 5 == 0 ? "SP" : "INS"); /* PV1-20 financial class */
        if (c->type == HF_GEN_ADT_A03) {
            gen_fields(b, 16);                       /* -> PV1-36 */
            gen_puts(b, "01^Discharged to home or self care^HL70112");
            gen_fields(b, 8);                        /* -> PV1-44 */
        } else {
            gen_fields(b, 24);                       /* -> PV1-44 */
        }
        gen_put_ts(b, GEN_EPOCH + (gen_time)s->admit, 12);
        if (c->type == HF_GEN_ADT_A03) {
            gen_putc(b, '|');
            gen_put_ts(b, c->now, 12);
        }
    }
    gen_putc(b, '\r');
}
