/* record_build_orders.c - the typed blocks about orders, results, notes,
 * charges and documents: ORC, OBR, OBX, NTE, FT1, TXA.
 *
 * Each builder reads one split segment (hf_rt_f(s, n) is SEG-n, wire form).
 * ORC and OBR fill the same hf_rec_order; where both carry a value the ORC
 * one (built first) is kept. Grouping is record_build.c's job.
 */
#include "record_internal.h"

#define F(n) hf_rt_f(s, n)
#define LEAF(n) hf_rt_leaf(ctx, F(n))
#define REP1(n) hf_rt_rep1(ctx, F(n))

static const hf_span EMPTY = {"", 0};

/* Every repetition's text, joined by line feeds (free text fields). */
static hf_span lines(hf_rec_ctx *ctx, hf_span field) {
    if (field.len == 0 || hf_rt_find(field.p, field.p + field.len, ctx->d.repetition) == NULL)
        return hf_rt_text(ctx, field);
    hf_span *items;
    size_t n;
    hf_rt_str_list(ctx, field, false, &items, &n);
    return hf_rt_join_lines(ctx, items, n);
}

static bool is2(hf_span t, const char *code) {
    return t.len == 2 && t.p[0] == code[0] && t.p[1] == code[1];
}

/* Priority: component 6 of a TQ field. */
static hf_span tq_priority(hf_rec_ctx *ctx, hf_span field) {
    hf_span c[6];
    hf_rt_split(hf_rt_rep1(ctx, field), ctx->d.component, c, 6);
    return hf_rt_text(ctx, c[5]);
}

/* A coded value whose parts are separated by @p sep. */
static hf_rec_coded *coded_by(hf_rec_ctx *ctx, hf_span v, char sep) {
    hf_span c[6];
    hf_rec_coded t;
    hf_rt_split(v, sep, c, 6);
    t.code = hf_rt_text(ctx, c[0]);
    t.text = hf_rt_text(ctx, c[1]);
    t.system = hf_rt_text(ctx, c[2]);
    t.alt_code = hf_rt_text(ctx, c[3]);
    t.alt_text = hf_rt_text(ctx, c[4]);
    t.alt_system = hf_rt_text(ctx, c[5]);
    if (!(t.code.len || t.text.len || t.system.len || t.alt_code.len || t.alt_text.len ||
          t.alt_system.len))
        return NULL;
    hf_rec_coded *r = hf_rec_arena_alloc(&ctx->arena, sizeof *r);
    if (r == NULL) {
        ctx->oom = true;
        return NULL;
    }
    *r = t;
    return r;
}

void hf_rb_orc(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_order *o) {
    o->order_control = LEAF(1);
    o->placer_order_number = hf_rt_ei(ctx, F(2));
    o->filler_order_number = hf_rt_ei(ctx, F(3));
    o->placer_group_number = hf_rt_ei(ctx, F(4));
    o->order_status = LEAF(5);
    o->priority = tq_priority(ctx, F(7));
    hf_rt_dtm(ctx, F(9), &o->transaction_datetime, &o->transaction_ts);
    o->ordering_provider = hf_rt_provider(ctx, F(12));
}

void hf_rb_obr(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_order *o) {
    o->set_id = hf_rt_int(F(1));
    if (o->placer_order_number == NULL)
        o->placer_order_number = hf_rt_ei(ctx, F(2));
    if (o->filler_order_number == NULL)
        o->filler_order_number = hf_rt_ei(ctx, F(3));
    o->universal_service_id = hf_rt_coded(ctx, F(4));
    hf_rt_dtm(ctx, F(6), &o->requested_datetime, &o->requested_ts);
    hf_rt_dtm(ctx, F(7), &o->observation_datetime, &o->observation_ts);
    hf_rt_dtm(ctx, F(8), &o->observation_end_datetime, &o->observation_end_ts);
    hf_rt_dtm(ctx, F(14), &o->specimen_received_datetime, &o->specimen_received_ts);
    /* SPS.1 is a CWE in subcomponents; many senders put it at component
     * level instead */
    hf_span sps = REP1(15), c1 = hf_rt_first(sps, ctx->d.component);
    if (ctx->d.subcomponent != 0 && hf_rt_find(c1.p, c1.p + c1.len, ctx->d.subcomponent) != NULL)
        o->specimen_source = coded_by(ctx, c1, ctx->d.subcomponent);
    else
        o->specimen_source = hf_rt_coded(ctx, sps);
    if (o->ordering_provider == NULL)
        o->ordering_provider = hf_rt_provider(ctx, F(16));
    hf_rt_dtm(ctx, F(22), &o->results_status_datetime, &o->results_status_ts);
    o->diagnostic_service_section = LEAF(24);
    o->result_status = LEAF(25);
    if (o->priority.len == 0)
        o->priority = tq_priority(ctx, F(27));
}

void hf_rb_obs(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_obs *o) {
    o->set_id = hf_rt_int(F(1));
    o->value_type = LEAF(2);
    o->identifier = hf_rt_coded(ctx, F(3));
    o->sub_id = LEAF(4);
    o->value = lines(ctx, F(5));
    hf_span t = o->value_type;
    if (is2(t, "NM"))
        o->value_numeric = hf_rt_decimal(REP1(5));
    else if (is2(t, "CE") || is2(t, "CF") || (t.len == 3 && (memcmp(t.p, "CWE", 3) == 0 ||
                                                             memcmp(t.p, "CNE", 3) == 0)))
        o->value_coded = hf_rt_coded(ctx, F(5));
    o->units = hf_rt_coded(ctx, F(6));
    o->reference_range = hf_rt_whole(ctx, F(7));
    hf_rt_str_list(ctx, F(8), true, &o->abnormal_flags.v, &o->abnormal_flags.n);
    o->result_status = LEAF(11);
    hf_rt_dtm(ctx, F(14), &o->observation_datetime, &o->observation_ts);
    o->producer_id = hf_rt_coded(ctx, F(15));
}

void hf_rb_note(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_note *n) {
    n->set_id = hf_rt_int(F(1));
    n->source_of_comment = LEAF(2);
    n->comment = lines(ctx, F(3));
    n->comment_type = hf_rt_coded(ctx, F(4));
}

/* MO inside CP: amount and currency are subcomponents of component 1. */
static void money(hf_rec_ctx *ctx, hf_span field, hf_span *amount, hf_span *currency) {
    hf_span c1 = hf_rt_first(hf_rt_rep1(ctx, field), ctx->d.component), sc[2];
    hf_rt_split(c1, ctx->d.subcomponent, sc, 2);
    *amount = hf_rt_text(ctx, sc[0]);
    *currency = ctx->d.subcomponent != 0 ? hf_rt_text(ctx, sc[1]) : EMPTY;
}

static bool coded_item(hf_rec_ctx *ctx, hf_span rep, void *out) {
    return hf_rt_coded_into(ctx, rep, out);
}

void hf_rb_ft(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_ft *f) {
    f->set_id = hf_rt_int(F(1));
    f->transaction_id = LEAF(2);
    f->batch_id = LEAF(3);
    hf_rt_dtm(ctx, F(4), &f->transaction_datetime, &f->transaction_ts);
    hf_rt_dtm(ctx, F(5), &f->posting_datetime, &f->posting_ts);
    f->transaction_type = LEAF(6);
    f->transaction_code = hf_rt_coded(ctx, F(7));
    f->description = hf_rt_whole(ctx, F(8));
    f->quantity = LEAF(10);
    money(ctx, F(11), &f->extended_amount, &f->extended_currency);
    money(ctx, F(12), &f->unit_amount, &f->unit_currency);
    f->department = hf_rt_coded(ctx, F(13));
    hf_rt_list(ctx, F(19), coded_item, sizeof *f->diagnoses.v, (void **)&f->diagnoses.v,
               &f->diagnoses.n);
    f->performed_by = hf_rt_provider(ctx, F(20));
    f->ordered_by = hf_rt_provider(ctx, F(21));
    f->procedure_code = hf_rt_coded(ctx, F(25));
}

void hf_rb_document(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_document *d) {
    d->set_id = hf_rt_int(F(1));
    d->document_type = hf_rt_coded(ctx, F(2));
    d->content_presentation = LEAF(3);
    hf_rt_dtm(ctx, F(4), &d->activity_datetime, &d->activity_ts);
    d->primary_activity_provider = hf_rt_provider(ctx, F(5));
    hf_rt_dtm(ctx, F(6), &d->origination_datetime, &d->origination_ts);
    hf_rt_dtm(ctx, F(7), &d->transcription_datetime, &d->transcription_ts);
    d->originator = hf_rt_provider(ctx, F(9));
    d->unique_document_number = hf_rt_ei(ctx, F(12));
    d->parent_document_number = hf_rt_ei(ctx, F(13));
    d->unique_document_file_name = LEAF(16);
    d->completion_status = LEAF(17);
    d->confidentiality_status = LEAF(18);
    d->availability_status = LEAF(19);
}
