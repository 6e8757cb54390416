/* record_build_patient.c - the typed blocks about the patient and the
 * visit: EVN, PID, PV1, PV2, MRG, NK1, IN1, AL1, DG1.
 *
 * Each builder reads one split segment (hf_rt_f(s, n) is SEG-n, wire form)
 * and fills every member of its block; which field and component feeds
 * which member is listed in docs/topics.md and the schema docs.
 */
#include "record_internal.h"

#define F(n) hf_rt_f(s, n)
#define LEAF(n) hf_rt_leaf(ctx, F(n))
#define REP1(n) hf_rt_rep1(ctx, F(n))

static const hf_span HOME = {"home", 4};
static const hf_span BUSINESS = {"business", 8};

static bool cx_item(hf_rec_ctx *ctx, hf_span rep, void *out) {
    return hf_rt_cx_into(ctx, rep, out);
}

static bool name_item(hf_rec_ctx *ctx, hf_span rep, void *out) {
    return hf_rt_name_into(ctx, rep, out);
}

static bool coded_item(hf_rec_ctx *ctx, hf_span rep, void *out) {
    return hf_rt_coded_into(ctx, rep, out);
}

static bool addr_item(hf_rec_ctx *ctx, hf_span rep, void *out) {
    return hf_rt_addr_into(ctx, rep, out);
}

static bool provider_item(hf_rec_ctx *ctx, hf_span rep, void *out) {
    return hf_rt_provider_into(ctx, rep, out);
}

#define LIST(field, fn, arr) \
    hf_rt_list(ctx, field, fn, sizeof *(arr).v, (void **)&(arr).v, &(arr).n)

/* Phones of a home field then a business field, tagged with their kind. */
static void phones(hf_rec_ctx *ctx, hf_span home, hf_span business, hf_rec_tel **v, size_t *n) {
    *v = NULL;
    *n = 0;
    size_t cap = (home.len ? hf_rt_count(home, ctx->d.repetition) : 0) +
                 (business.len ? hf_rt_count(business, ctx->d.repetition) : 0);
    if (cap == 0)
        return;
    hf_rec_tel *t = hf_rec_arena_alloc(&ctx->arena, cap * sizeof *t);
    if (t == NULL) {
        ctx->oom = true;
        return;
    }
    size_t k = 0;
    for (int w = 0; w < 2; w++) {
        hf_span f = w == 0 ? home : business;
        if (f.len == 0)
            continue;
        const char *p = f.p, *end = f.p + f.len;
        for (;;) {
            const char *q = hf_rt_find(p, end, ctx->d.repetition);
            hf_span rep = {p, (size_t)((q != NULL ? q : end) - p)};
            if (rep.len > 0 && hf_rt_tel_into(ctx, rep, w == 0 ? HOME : BUSINESS, &t[k]))
                k++;
            if (q == NULL)
                break;
            p = q + 1;
        }
    }
    if (k > 0) {
        *v = t;
        *n = k;
    }
}

void hf_rb_event(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_event *e) {
    e->event_type_code = LEAF(1);
    hf_rt_dtm(ctx, F(2), &e->recorded_datetime, &e->recorded_ts);
    hf_rt_dtm(ctx, F(3), &e->planned_event_datetime, &e->planned_event_ts);
    e->event_reason_code = LEAF(4);
    e->operator_id = LEAF(5);
    hf_rt_dtm(ctx, F(6), &e->event_occurred_datetime, &e->event_occurred_ts);
    e->event_facility = LEAF(7);
}

void hf_rb_patient(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_patient *p) {
    LIST(F(3), cx_item, p->identifiers);
    hf_rt_pick_mrn(p->identifiers.v, p->identifiers.n, &p->mrn, &p->mrn_assigning_authority,
                   &p->mrn_identifier_type);
    LIST(F(5), name_item, p->names);
    hf_span m = hf_rt_first(REP1(6), ctx->d.component);
    p->mothers_maiden_name = hf_rt_text(ctx, hf_rt_first(m, ctx->d.subcomponent));
    hf_span dob = hf_rt_first(REP1(7), ctx->d.component);
    p->birth_datetime = hf_rt_text(ctx, dob);
    hf_rec_dtm t;
    if (hf_rec_dtm_parse(dob, &t) && t.digits >= 8)
        p->birth_date = (hf_opt_i32){hf_rec_days_from_civil(t.year, t.month, t.day), true};
    p->sex = LEAF(8);
    LIST(F(10), coded_item, p->races);
    LIST(F(11), addr_item, p->addresses);
    phones(ctx, F(13), F(14), &p->phones.v, &p->phones.n);
    p->primary_language = hf_rt_coded(ctx, F(15));
    p->marital_status = hf_rt_coded(ctx, F(16));
    p->religion = hf_rt_coded(ctx, F(17));
    p->account_number = hf_rt_cx(ctx, F(18));
    p->ssn = LEAF(19);
    LIST(F(22), coded_item, p->ethnic_groups);
    hf_rt_dtm(ctx, F(29), &p->death_datetime, &p->death_ts);
    p->death_indicator = LEAF(30);
}

void hf_rb_visit(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_visit *v) {
    v->patient_class = LEAF(2);
    v->assigned_location = hf_rt_loc(ctx, F(3));
    v->admission_type = LEAF(4);
    v->prior_location = hf_rt_loc(ctx, F(6));
    LIST(F(7), provider_item, v->attending_doctors);
    LIST(F(8), provider_item, v->referring_doctors);
    LIST(F(9), provider_item, v->consulting_doctors);
    v->hospital_service = LEAF(10);
    v->admit_source = LEAF(14);
    LIST(F(17), provider_item, v->admitting_doctors);
    v->patient_type = LEAF(18);
    v->visit_number = hf_rt_cx(ctx, F(19));
    v->financial_class = LEAF(20);
    v->discharge_disposition = LEAF(36);
    v->discharged_to_location = LEAF(37);
    v->servicing_facility = LEAF(39);
    v->account_status = LEAF(41);
    hf_rt_dtm(ctx, F(44), &v->admit_datetime, &v->admit_ts);
    hf_rt_dtm(ctx, F(45), &v->discharge_datetime, &v->discharge_ts);
    v->alternate_visit_id = LEAF(50);
    v->visit_indicator = LEAF(51);
}

void hf_rb_pv2(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_visit *v) {
    v->admit_reason = hf_rt_coded(ctx, F(3));
}

void hf_rb_merge(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_merge *m) {
    hf_span type;
    LIST(F(1), cx_item, m->prior_identifiers);
    hf_rt_pick_mrn(m->prior_identifiers.v, m->prior_identifiers.n, &m->prior_mrn,
                   &m->prior_mrn_assigning_authority, &type);
    m->prior_account_number = hf_rt_cx(ctx, F(3));
    m->prior_visit_number = hf_rt_cx(ctx, F(5));
    LIST(F(7), name_item, m->prior_names);
}

void hf_rb_nok(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_nok *k) {
    k->set_id = hf_rt_int(F(1));
    LIST(F(2), name_item, k->names);
    k->relationship = hf_rt_coded(ctx, F(3));
    LIST(F(4), addr_item, k->addresses);
    phones(ctx, F(5), F(6), &k->phones.v, &k->phones.n);
    k->contact_role = hf_rt_coded(ctx, F(7));
}

void hf_rb_insurance(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_insurance *in) {
    in->set_id = hf_rt_int(F(1));
    in->plan = hf_rt_coded(ctx, F(2));
    in->company_id = LEAF(3);
    in->company_name = LEAF(4);
    in->company_address = hf_rt_addr(ctx, F(5));
    in->group_number = LEAF(8);
    in->group_name = LEAF(9);
    in->plan_effective_date = LEAF(12);
    in->plan_expiration_date = LEAF(13);
    in->plan_type = LEAF(15);
    in->insured_name = hf_rt_name(ctx, F(16));
    in->insured_relationship = hf_rt_coded(ctx, F(17));
    in->insured_birth_datetime = LEAF(18);
    in->policy_number = LEAF(36);
}

void hf_rb_allergy(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_allergy *a) {
    a->set_id = hf_rt_int(F(1));
    a->allergen_type = hf_rt_coded(ctx, F(2));
    a->allergen = hf_rt_coded(ctx, F(3));
    a->severity = hf_rt_coded(ctx, F(4));
    hf_rt_str_list(ctx, F(5), false, &a->reactions.v, &a->reactions.n);
    a->identification_date = LEAF(6);
}

void hf_rb_dx(hf_rec_ctx *ctx, const hf_rec_segment *s, hf_rec_dx *d) {
    d->set_id = hf_rt_int(F(1));
    d->coding_method = LEAF(2);
    d->diagnosis = hf_rt_coded(ctx, F(3));
    d->description = hf_rt_whole(ctx, F(4));
    hf_rt_dtm(ctx, F(5), &d->diagnosis_datetime, &d->diagnosis_ts);
    d->diagnosis_type = LEAF(6);
    d->diagnosis_priority = LEAF(15);
    d->diagnosing_clinician = hf_rt_provider(ctx, F(16));
}
