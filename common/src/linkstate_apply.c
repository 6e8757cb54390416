/* linkstate_apply.c - the correlation rules of the mpi-linker
 * (linkstate.h): how one event moves a patient's state forward and what
 * the linker writes onto the output record.
 *
 * Encounters (ADT, keyed by PV1-19.1):
 *   A01 admit -> admitted, A04 register -> registered (a second open of an
 *   open visit: duplicate_admit), A02 transfer -> admitted at the new
 *   location, remembering the old one (on a visit not open:
 *   transfer_without_admit), A03 discharge -> discharged (not open:
 *   discharge_without_admit), A08 update -> location/class refreshed,
 *   A11 cancel admit -> cancelled, A12 cancel transfer -> back to the prior
 *   location, A13 cancel discharge -> the state before the discharge (a
 *   cancel with nothing to cancel: cancel_without_event), A40 merge ->
 *   the merged identity is remembered on the survivor.
 * Orders (ORC-1 control code, keyed by placer or filler number): NW, OK,
 *   SN, RL, RO open; CA, OC, CR, DC, OD, DR cancel; HD, OH hold; XO, XX, XR,
 *   SC change (SC reads ORC-5: CM completes, CA/DC cancels, HD holds); a
 *   change to an unknown order: order_change_unknown.
 * Results (ORU): each OBR panel is tied to a known order by placer, else
 *   filler number (result_without_order when none); a final or corrected
 *   panel (OBR-25 F/C) completes its order.
 * Any other event belongs to the encounter its PV1-19 names, else to the
 * most recently opened encounter that is still open.
 * Events for an identity merged into another: event_after_merge.
 */
#include <stdio.h>
#include <string.h>

#include "hl7flow/linkstate.h"

void hf_ls_init(hf_ls_state *st) { memset(st, 0, sizeof *st); }

static const char *const ENC_STATE[] = {"", "admitted", "registered", "discharged", "cancelled"};

const char *hf_ls_enc_state_str(int state) {
    return state >= 0 && state <= HF_ENC_CANCELLED ? ENC_STATE[state] : "";
}

#define HF_LS_ANOMALY_TEXT_(name, bit, text) text,
static const char *const ANOMALY[] = {HF_LS_ANOMALY_LIST(HF_LS_ANOMALY_TEXT_)};
#undef HF_LS_ANOMALY_TEXT_

const char *hf_ls_anomaly_str(int bit) {
    return bit >= 0 && bit < HF_LS_ANOMALY_COUNT ? ANOMALY[bit] : "";
}

/* ---- small helpers ------------------------------------------------------ */

static void copy_span(char *dst, size_t cap, hf_span s) {
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n > 0)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
}

static bool span_is(hf_span s, const char *z) {
    size_t n = strlen(z);
    return s.len == n && (n == 0 || memcmp(s.p, z, n) == 0);
}

/* Equality with the stored (possibly truncated) copy of a span. */
static bool span_eq_stored(hf_span s, const char *stored, size_t cap) {
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    return n > 0 && strlen(stored) == n && memcmp(stored, s.p, n) == 0;
}

static bool span_in(hf_span s, const char *const *list) {
    for (size_t i = 0; list[i] != NULL; i++)
        if (span_is(s, list[i]))
            return true;
    return false;
}

static bool enc_open(const hf_ls_encounter *e) {
    return e->state == HF_ENC_ADMITTED || e->state == HF_ENC_REGISTERED;
}

/* ---- event from a record ------------------------------------------------ */

void hf_ls_event_from_rec(const hf_rec *rec, hf_ls_event *ev) {
    memset(ev, 0, sizeof *ev);
    ev->code = rec->header.message_code;
    ev->trigger = rec->header.trigger_event;
    ev->ts = rec->ingest_ts;
    if (rec->header.message_ts.set)
        ev->ts = rec->header.message_ts.v;
    if (rec->event != NULL && rec->event->recorded_ts.set)
        ev->ts = rec->event->recorded_ts.v;
    if (rec->visit != NULL) {
        const hf_rec_visit *v = rec->visit;
        if (v->visit_number != NULL)
            ev->visit = v->visit_number->id;
        ev->patient_class = v->patient_class;
        if (v->assigned_location != NULL)
            ev->location = v->assigned_location->point_of_care;
        if (v->prior_location != NULL)
            ev->prior_location = v->prior_location->point_of_care;
    }
    if (rec->patient != NULL) {
        const hf_rec_patient *p = rec->patient;
        if (p->names.n > 0) {
            ev->family = p->names.v[0].family;
            ev->given = p->names.v[0].given;
        }
        ev->sex = p->sex;
        ev->birth_date = p->birth_date;
        if (p->addresses.n > 0)
            ev->zip = p->addresses.v[0].zip;
    }
    for (size_t i = 0; i < rec->orders.n && ev->norders < HF_LS_EVENT_ORDERS; i++) {
        const hf_rec_order *o = &rec->orders.v[i];
        hf_ls_order_ref *r = &ev->orders[ev->norders++];
        r->control = o->order_control;
        r->status = o->order_status;
        if (o->placer_order_number != NULL)
            r->placer = o->placer_order_number->id;
        if (o->filler_order_number != NULL)
            r->filler = o->filler_order_number->id;
        r->result_status = o->result_status;
    }
    ev->observations = rec->observations.n;
}

/* ---- demographics ------------------------------------------------------- */

static void apply_demo(hf_ls_state *st, const hf_ls_event *ev) {
    if (ev->family.len == 0 && ev->given.len == 0 && ev->sex.len == 0 && !ev->birth_date.set)
        return;
    hf_ls_demo d;
    memset(&d, 0, sizeof d);
    copy_span(d.family, sizeof d.family, ev->family);
    copy_span(d.given, sizeof d.given, ev->given);
    copy_span(d.sex, sizeof d.sex, ev->sex);
    copy_span(d.zip, sizeof d.zip, ev->zip);
    d.has_birth_date = ev->birth_date.set;
    d.birth_date = ev->birth_date.set ? ev->birth_date.v : 0;
    d.ts = ev->ts;
    if (st->ndemo > 0) {
        const hf_ls_demo *c = &st->demo[0];
        if (strcmp(c->family, d.family) == 0 && strcmp(c->given, d.given) == 0 &&
            strcmp(c->sex, d.sex) == 0 && strcmp(c->zip, d.zip) == 0 &&
            c->has_birth_date == d.has_birth_date && c->birth_date == d.birth_date)
            return; /* unchanged: keep the time it was first seen */
    }
    size_t keep = st->ndemo < HF_LS_MAX_DEMO ? st->ndemo : HF_LS_MAX_DEMO - 1;
    memmove(&st->demo[1], &st->demo[0], keep * sizeof st->demo[0]);
    st->demo[0] = d;
    st->ndemo = keep + 1;
}

/* ---- encounters --------------------------------------------------------- */

static hf_ls_encounter *enc_find(hf_ls_state *st, hf_span visit) {
    for (size_t i = 0; i < st->nenc; i++)
        if (span_eq_stored(visit, st->enc[i].visit, sizeof st->enc[i].visit))
            return &st->enc[i];
    return NULL;
}

static hf_ls_encounter *enc_latest_open(hf_ls_state *st) {
    for (size_t i = 0; i < st->nenc; i++)
        if (enc_open(&st->enc[i]))
            return &st->enc[i];
    return NULL;
}

/* The event's encounter: by visit number when it has one, else the latest
 * open one. */
static hf_ls_encounter *enc_of(hf_ls_state *st, const hf_ls_event *ev) {
    return ev->visit.len > 0 ? enc_find(st, ev->visit) : enc_latest_open(st);
}

/* A new encounter at the front (the oldest falls off when full). */
static hf_ls_encounter *enc_new(hf_ls_state *st, const hf_ls_event *ev) {
    size_t keep = st->nenc < HF_LS_MAX_ENCOUNTERS ? st->nenc : HF_LS_MAX_ENCOUNTERS - 1;
    memmove(&st->enc[1], &st->enc[0], keep * sizeof st->enc[0]);
    st->nenc = keep + 1;
    hf_ls_encounter *e = &st->enc[0];
    memset(e, 0, sizeof *e);
    copy_span(e->visit, sizeof e->visit, ev->visit);
    e->opened_ts = ev->ts;
    return e;
}

static void enc_refresh(hf_ls_encounter *e, const hf_ls_event *ev) {
    if (ev->patient_class.len > 0)
        copy_span(e->patient_class, sizeof e->patient_class, ev->patient_class);
    if (ev->location.len > 0)
        copy_span(e->location, sizeof e->location, ev->location);
    e->updated_ts = ev->ts;
}

static void enc_set_state(hf_ls_encounter *e, int state) {
    e->state_before = e->state;
    e->state = (uint8_t)state;
}

static hf_ls_encounter *apply_adt(hf_ls_state *st, const hf_ls_event *ev, uint32_t *anomalies) {
    hf_span t = ev->trigger;
    hf_ls_encounter *e = enc_of(st, ev);
    bool has_visit = ev->visit.len > 0;
    if (span_is(t, "A01") || span_is(t, "A04")) {
        if (!has_visit)
            return e;
        if (e != NULL && enc_open(e))
            *anomalies |= HF_AN_DUPLICATE_ADMIT;
        if (e == NULL)
            e = enc_new(st, ev);
        enc_set_state(e, span_is(t, "A01") ? HF_ENC_ADMITTED : HF_ENC_REGISTERED);
        e->closed_ts = 0;
        enc_refresh(e, ev);
    } else if (span_is(t, "A02")) {
        if (e == NULL || !enc_open(e)) {
            *anomalies |= HF_AN_TRANSFER_WITHOUT_ADMIT;
            if (e == NULL && !has_visit)
                return NULL;
            if (e == NULL)
                e = enc_new(st, ev);
        }
        copy_span(e->prior_location, sizeof e->prior_location,
                  ev->prior_location.len > 0 ? ev->prior_location
                                             : (hf_span){e->location, strlen(e->location)});
        enc_set_state(e, HF_ENC_ADMITTED);
        enc_refresh(e, ev);
    } else if (span_is(t, "A03")) {
        if (e == NULL || !enc_open(e)) {
            *anomalies |= HF_AN_DISCHARGE_WITHOUT_ADMIT;
            if (e == NULL && !has_visit)
                return NULL;
            if (e == NULL)
                e = enc_new(st, ev);
        }
        enc_set_state(e, HF_ENC_DISCHARGED);
        e->closed_ts = ev->ts;
        e->updated_ts = ev->ts;
    } else if (span_is(t, "A11")) {
        if (e == NULL || !enc_open(e)) {
            *anomalies |= HF_AN_CANCEL_WITHOUT_EVENT;
            return e;
        }
        enc_set_state(e, HF_ENC_CANCELLED);
        e->closed_ts = ev->ts;
        e->updated_ts = ev->ts;
    } else if (span_is(t, "A12")) {
        if (e == NULL || !enc_open(e) || e->prior_location[0] == '\0') {
            *anomalies |= HF_AN_CANCEL_WITHOUT_EVENT;
            return e;
        }
        memcpy(e->location, e->prior_location, sizeof e->location);
        e->prior_location[0] = '\0';
        e->updated_ts = ev->ts;
    } else if (span_is(t, "A13")) {
        if (e == NULL || e->state != HF_ENC_DISCHARGED) {
            *anomalies |= HF_AN_CANCEL_WITHOUT_EVENT;
            return e;
        }
        int back = enc_open(&(hf_ls_encounter){.state = e->state_before}) ? e->state_before
                                                                           : HF_ENC_ADMITTED;
        enc_set_state(e, back);
        e->closed_ts = 0;
        e->updated_ts = ev->ts;
    } else {
        /* A08 and every other trigger: refresh an encounter we know. */
        if (e != NULL)
            enc_refresh(e, ev);
        if (span_is(t, "A40") && ev->prior_mrn_hash.len > 0) {
            bool known = false;
            for (size_t i = 0; i < st->nmerged_from; i++)
                known = known || span_eq_stored(ev->prior_mrn_hash, st->merged_from[i], HF_LS_HASH);
            if (!known) {
                size_t keep =
                    st->nmerged_from < HF_LS_MAX_MERGED ? st->nmerged_from : HF_LS_MAX_MERGED - 1;
                memmove(&st->merged_from[1], &st->merged_from[0], keep * sizeof st->merged_from[0]);
                copy_span(st->merged_from[0], HF_LS_HASH, ev->prior_mrn_hash);
                st->nmerged_from = keep + 1;
            }
        }
    }
    return e;
}

/* ---- orders and results ------------------------------------------------- */

static hf_ls_order *ord_find(hf_ls_state *st, const hf_ls_order_ref *r) {
    for (size_t i = 0; i < st->nord; i++) {
        hf_ls_order *o = &st->ord[i];
        if (span_eq_stored(r->placer, o->placer, sizeof o->placer) ||
            span_eq_stored(r->filler, o->filler, sizeof o->filler))
            return o;
    }
    return NULL;
}

static hf_ls_order *ord_new(hf_ls_state *st, const hf_ls_order_ref *r, const char *visit) {
    size_t keep = st->nord < HF_LS_MAX_ORDERS ? st->nord : HF_LS_MAX_ORDERS - 1;
    memmove(&st->ord[1], &st->ord[0], keep * sizeof st->ord[0]);
    st->nord = keep + 1;
    hf_ls_order *o = &st->ord[0];
    memset(o, 0, sizeof *o);
    copy_span(o->placer, sizeof o->placer, r->placer);
    copy_span(o->filler, sizeof o->filler, r->filler);
    snprintf(o->visit, sizeof o->visit, "%s", visit);
    return o;
}

static const char *const ORC_OPEN[] = {"", "NW", "OK", "SN", "RL", "RO", NULL};
static const char *const ORC_CANCEL[] = {"CA", "OC", "CR", "DC", "OD", "DR", NULL};
static const char *const ORC_HOLD[] = {"HD", "OH", NULL};
static const char *const ORC_CHANGE[] = {"XO", "XX", "XR", "SC", NULL};

static void apply_orm(hf_ls_state *st, const hf_ls_event *ev, const char *visit,
                      hf_ls_link *out) {
    for (size_t i = 0; i < ev->norders; i++) {
        const hf_ls_order_ref *r = &ev->orders[i];
        if (r->placer.len == 0 && r->filler.len == 0)
            continue;
        hf_ls_order *o = ord_find(st, r);
        if (span_in(r->control, ORC_OPEN)) {
            if (o == NULL)
                o = ord_new(st, r, visit);
            o->state = HF_ORD_OPEN;
        } else if (o == NULL) {
            if (span_in(r->control, ORC_CANCEL) || span_in(r->control, ORC_HOLD) ||
                span_in(r->control, ORC_CHANGE))
                out->anomalies |= HF_AN_ORDER_CHANGE_UNKNOWN;
            continue;
        } else if (span_in(r->control, ORC_CANCEL)) {
            o->state = HF_ORD_CANCELLED;
        } else if (span_in(r->control, ORC_HOLD)) {
            o->state = HF_ORD_HOLD;
        } else if (span_in(r->control, ORC_CHANGE)) {
            if (span_is(r->status, "CM"))
                o->state = HF_ORD_COMPLETED;
            else if (span_is(r->status, "CA") || span_is(r->status, "DC"))
                o->state = HF_ORD_CANCELLED;
            else if (span_is(r->status, "HD"))
                o->state = HF_ORD_HOLD;
            else
                o->state = HF_ORD_OPEN;
        }
        if (o->filler[0] == '\0' && r->filler.len > 0)
            copy_span(o->filler, sizeof o->filler, r->filler);
        o->ts = ev->ts;
        if (out->placer[0] == '\0')
            memcpy(out->placer, o->placer, sizeof out->placer);
    }
}

static void apply_oru(hf_ls_state *st, const hf_ls_event *ev, hf_ls_link *out) {
    if (ev->norders == 0 && ev->observations > 0)
        out->anomalies |= HF_AN_RESULT_WITHOUT_ORDER;
    for (size_t i = 0; i < ev->norders; i++) {
        const hf_ls_order_ref *r = &ev->orders[i];
        hf_ls_order *o = ord_find(st, r);
        if (o == NULL) {
            out->anomalies |= HF_AN_RESULT_WITHOUT_ORDER;
        } else {
            if (o->state != HF_ORD_CANCELLED)
                o->state = span_is(r->result_status, "F") || span_is(r->result_status, "C")
                               ? HF_ORD_COMPLETED
                               : HF_ORD_OPEN;
            if (o->filler[0] == '\0' && r->filler.len > 0)
                copy_span(o->filler, sizeof o->filler, r->filler);
            o->ts = ev->ts;
            if (out->placer[0] == '\0')
                memcpy(out->placer, o->placer, sizeof out->placer);
        }
        size_t keep = st->nres < HF_LS_MAX_RESULTS ? st->nres : HF_LS_MAX_RESULTS - 1;
        memmove(&st->res[1], &st->res[0], keep * sizeof st->res[0]);
        st->nres = keep + 1;
        hf_ls_result *x = &st->res[0];
        memset(x, 0, sizeof *x);
        copy_span(x->placer, sizeof x->placer, r->placer);
        copy_span(x->filler, sizeof x->filler, r->filler);
        copy_span(x->status, sizeof x->status, r->result_status);
        x->observations = (uint32_t)(ev->observations > UINT32_MAX ? UINT32_MAX : ev->observations);
        x->ts = ev->ts;
    }
}

/* ---- the whole event ---------------------------------------------------- */

void hf_ls_apply(hf_ls_state *st, const hf_ls_event *ev, hf_ls_link *out) {
    memset(out, 0, sizeof *out);
    st->events++;
    if (st->merged_into[0] != '\0')
        out->anomalies |= HF_AN_EVENT_AFTER_MERGE;
    apply_demo(st, ev);
    hf_ls_encounter *e;
    if (span_is(ev->code, "ADT")) {
        e = apply_adt(st, ev, &out->anomalies);
    } else {
        e = enc_of(st, ev);
        const char *visit = e != NULL ? e->visit : "";
        char vbuf[HF_LS_TEXT];
        if (e == NULL) {
            copy_span(vbuf, sizeof vbuf, ev->visit);
            visit = vbuf;
        }
        if (span_is(ev->code, "ORM") || span_is(ev->code, "OML")) {
            bool new_order = false;
            for (size_t i = 0; i < ev->norders; i++)
                new_order = new_order || span_is(ev->orders[i].control, "NW");
            if (new_order && e != NULL && !enc_open(e))
                out->anomalies |= HF_AN_EVENT_AFTER_DISCHARGE;
            apply_orm(st, ev, visit, out);
        } else if (span_is(ev->code, "ORU") || span_is(ev->code, "OUL")) {
            apply_oru(st, ev, out);
        }
    }
    if (e != NULL) {
        memcpy(out->visit, e->visit, sizeof out->visit);
        snprintf(out->enc_state, sizeof out->enc_state, "%s", hf_ls_enc_state_str(e->state));
    }
}

/* ---- applied offsets ---------------------------------------------------- */

hf_status hf_ls_mark_applied(hf_ls_state *st, const char *topic, int64_t offset) {
    for (size_t i = 0; i < st->napplied; i++) {
        if (strcmp(st->applied[i].topic, topic) == 0) {
            if (offset > st->applied[i].offset)
                st->applied[i].offset = offset;
            return HF_OK;
        }
    }
    if (st->napplied == HF_LS_MAX_TOPICS || strlen(topic) >= HF_LS_NAME)
        return HF_ELIMIT;
    hf_ls_applied *a = &st->applied[st->napplied++];
    memcpy(a->topic, topic, strlen(topic) + 1);
    a->offset = offset;
    return HF_OK;
}

bool hf_ls_committed(const hf_ls_state *st, int64_t (*committed_of)(const char *topic, void *arg),
                     void *arg) {
    for (size_t i = 0; i < st->napplied; i++) {
        int64_t c = committed_of(st->applied[i].topic, arg);
        if (c < 0 || st->applied[i].offset >= c)
            return false;
    }
    return true;
}
