/* gen_msg_mdm.c - MDM^T02 clinical documents: TXA plus the note itself,
 * several KB of dictated-style text.
 *
 * FT documents are one OBX whose value holds the whole note with \.br\
 * line breaks; TX documents are one OBX per section. Every note carries each
 * escape kind parsers must undo: \T\ (vitals "BP x/y & HR"), \F\ and \S\
 * (lab line "Na 139 | ... x10^3/uL"), \R\ (a "~" in the medication list),
 * \E\ (a UNC path to the scanned copy) and \X0D\ (a CR in the signature).
 */
#include "gen_int.h"

enum { S_CC, S_HPI, S_PMH, S_MEDS, S_ALLERGY, S_EXAM, S_LABS, S_COURSE, S_PLAN, S_DISPO, S_COUNT };

static const char *const SECTION_TITLE[S_COUNT] = {
    "CHIEF COMPLAINT", "HISTORY OF PRESENT ILLNESS", "PAST MEDICAL HISTORY", "MEDICATIONS",
    "ALLERGIES",       "PHYSICAL EXAMINATION",       "LABORATORY DATA",      "HOSPITAL COURSE",
    "ASSESSMENT AND PLAN", "DISPOSITION",
};

static const char *const MEDS[] = {
    "metoprolol tartrate 25 mg PO BID",  "lisinopril 10 mg PO daily",
    "atorvastatin 40 mg PO nightly",     "metformin 500 mg PO BID with meals",
    "apixaban 5 mg PO BID",              "pantoprazole 40 mg PO daily before breakfast",
    "furosemide 20 mg PO daily",         "insulin glargine 18 units subcut nightly",
    "levothyroxine 75 mcg PO daily",     "sertraline 50 mg PO daily",
};

static void txt(gen_buf *b, const char *s) { gen_put_esc(b, s, strlen(s)); }

static void br(gen_buf *b) { gen_puts(b, "\\.br\\"); }

static void sentences(gen_ctx *c, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        if (i)
            gen_putc(c->b, ' ');
        txt(c->b, gen_note_sentence[gen_below(c->r, gen_note_sentence_n)]);
    }
}

/* Writes one section: title, fixed content, filler sentences. */
static void section(gen_ctx *c, unsigned s, uint32_t docnum) {
    gen_buf *b = c->b;
    gen_rng *r = c->r;
    txt(b, SECTION_TITLE[s]);
    gen_putc(b, ':');
    br(b);
    switch (s) {
    case S_MEDS: {
        unsigned n = 2 + gen_below(r, 5);
        for (unsigned i = 1; i <= n; i++) {
            gen_put_u(b, i, 0);
            txt(b, ". ");
            txt(b, MEDS[gen_below(r, sizeof MEDS / sizeof MEDS[0])]);
            br(b);
        }
        txt(b, "acetaminophen 650 mg PO q6h PRN pain ~ fever (max 3 g/day).");
        br(b);
        return;
    }
    case S_ALLERGY:
        txt(b, gen_chance(r, 6000) ? "No known drug allergies." : "Penicillin (hives); sulfa drugs (rash).");
        br(b);
        return;
    case S_EXAM:
        txt(b, "VITALS: BP ");
        gen_put_u(b, 100 + gen_below(r, 70), 0);
        txt(b, "/");
        gen_put_u(b, 60 + gen_below(r, 35), 0);
        txt(b, " & HR ");
        gen_put_u(b, 55 + gen_below(r, 50), 0);
        txt(b, ", RR ");
        gen_put_u(b, 12 + gen_below(r, 10), 0);
        txt(b, ", SpO2 ");
        gen_put_u(b, 90 + gen_below(r, 10), 0);
        txt(b, "% on room air, Temp ");
        gen_put_dec(b, 361 + gen_below(r, 25), 1);
        txt(b, " C.");
        br(b);
        break;
    case S_LABS:
        txt(b, "Na ");
        gen_put_u(b, 132 + gen_below(r, 14), 0);
        txt(b, " | K ");
        gen_put_dec(b, 33 + gen_below(r, 20), 1);
        txt(b, " | Cr ");
        gen_put_dec(b, 60 + gen_below(r, 90), 2);
        txt(b, " | WBC ");
        gen_put_dec(b, 40 + gen_below(r, 110), 1);
        txt(b, " x10^3/uL | Hgb ");
        gen_put_dec(b, 95 + gen_below(r, 80), 1);
        txt(b, " g/dL.");
        br(b);
        break;
    default:
        break;
    }
    sentences(c, 1 + gen_below(r, 7));
    br(b);
    if (s == S_DISPO) {
        txt(b, "Scanned attachments: \\\\DOCSRV01\\");
        txt(b, c->pt->fac->code);
        txt(b, "\\DOC");
        gen_put_u(b, docnum, 9);
        txt(b, ".pdf");
        br(b);
        txt(b, "Electronically signed by attending physician\r");
        gen_put_ts(b, c->now, 12);
    }
}

static void obx_head(gen_ctx *c, unsigned n, const char *type, const gen_coded *kind) {
    gen_puts(c->b, "OBX|");
    gen_put_u(c->b, n, 0);
    gen_putc(c->b, '|');
    gen_puts(c->b, type);
    gen_putc(c->b, '|');
    gen_puts(c->b, kind->system); /* the LOINC document code */
    gen_putc(c->b, '^');
    gen_puts(c->b, kind->text);
    gen_puts(c->b, "^LN||");
}

static void obx_tail(gen_ctx *c) {
    gen_puts(c->b, "||||||F|||");
    gen_put_ts(c->b, c->now, 14);
    gen_putc(c->b, '\r');
}

void gen_msg_mdm(gen_ctx *c) {
    gen_buf *b = c->b;
    const gen_coded *kind = &gen_doc_kind[gen_below(c->r, gen_doc_kind_n)];
    const char *type = gen_chance(c->r, 6000) ? "FT" : "TX";
    uint32_t docnum = (uint32_t)(c->gen->index % 1000000000u);
    uint32_t author = c->pt->identity * 31u + c->slot->visit;
    gen_time dictated = c->now - 60 * (gen_time)(30 + gen_below(c->r, 600));

    gen_seg_msh(c);
    gen_seg_evn(c, "T02", 0);
    gen_seg_pid(c);
    gen_seg_pv1(c, NULL);

    gen_puts(b, "TXA|1|");
    gen_puts(b, kind->code);
    gen_putc(b, '^');
    gen_puts(b, kind->text);
    gen_puts(b, "^HL70270|");
    gen_puts(b, type);
    gen_putc(b, '|');
    gen_put_ts(b, dictated, 14);      /* TXA-4 activity */
    gen_putc(b, '|');
    gen_put_doctor(c, author);        /* TXA-5 */
    gen_putc(b, '|');
    gen_put_ts(b, dictated, 14);      /* TXA-6 origination */
    gen_putc(b, '|');
    gen_put_ts(b, c->now - 60, 14);   /* TXA-7 transcription */
    gen_fields(b, 2);                 /* -> TXA-9 originator */
    gen_put_doctor(c, author);
    gen_putc(b, '|');
    gen_put_doctor(c, author);        /* TXA-10 authenticator */
    gen_puts(b, "|TR");
    gen_put_u(b, gen_below(c->r, 90), 3);
    gen_puts(b, "|DOC");              /* TXA-12 unique document number */
    gen_put_u(b, docnum, 9);
    gen_putc(b, '^');
    gen_puts(b, c->pt->fac->app);
    gen_fields(b, 4);                 /* -> TXA-16 file name */
    gen_puts(b, "DOC");
    gen_put_u(b, docnum, 9);
    gen_puts(b, ".txt|AU|U|AV\r");

    if (type[0] == 'F') {
        obx_head(c, 1, type, kind);
        txt(b, kind->text);
        br(b);
        br(b);
        for (unsigned s = 0; s < S_COUNT; s++) {
            section(c, s, docnum);
            br(b);
        }
        obx_tail(c);
    } else {
        for (unsigned s = 0; s < S_COUNT; s++) {
            obx_head(c, s + 1, type, kind);
            section(c, s, docnum);
            obx_tail(c);
        }
    }
}
