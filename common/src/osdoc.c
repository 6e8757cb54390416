/* osdoc.c - record -> OpenSearch documents (osdoc.h): which documents a
 * record gives, their index, _id and JSON source. The field tables and
 * the index templates are in ostemplate.c. */
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl7flow/osdoc.h"

static const char *const KIND_NAMES[HF_OS_NKINDS] = {"clinical-notes", "lab-results",
                                                     "adt-events"};

const char *hf_osdoc_kind_name(hf_os_kind kind) {
    return kind < HF_OS_NKINDS ? KIND_NAMES[kind] : "unknown";
}

void hf_os_docs_clear(hf_os_docs *d) {
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].source);
    d->n = 0;
}

void hf_os_docs_free(hf_os_docs *d) {
    hf_os_docs_clear(d);
    free(d->v);
    d->v = NULL;
    d->cap = 0;
}

/* ---- time ---------------------------------------------------------------- */

static bool utc_tm(int64_t us, struct tm *tm) {
    int64_t s = us / 1000000;
    if (us % 1000000 < 0)
        s--;
    time_t t = (time_t)s;
    if (gmtime_r(&t, tm) == NULL)
        return false;
    return tm->tm_year + 1900 >= 1 && tm->tm_year + 1900 <= 9999;
}

bool hf_osdoc_month(int64_t us, char *buf, size_t cap) {
    struct tm tm;
    if (!utc_tm(us, &tm))
        return false;
    return snprintf(buf, cap, "%04d.%02d", tm.tm_year + 1900, tm.tm_mon + 1) == 7;
}

/* ISO 8601 UTC with milliseconds (OpenSearch's default date format). */
static bool iso_time(int64_t us, char *buf, size_t cap) {
    struct tm tm;
    if (!utc_tm(us, &tm))
        return false;
    int64_t ms = (us % 1000000 + 1000000) % 1000000 / 1000;
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
    return n > 0 && (size_t)n < cap;
}

/* ---- building one JSON object ------------------------------------------------ */

typedef struct jb {
    json_t *o;
    bool oom;
    const char *bad; /* first field whose text is not valid UTF-8 */
} jb;

static void put_json(jb *b, const char *key, json_t *v) {
    if (v == NULL) {
        b->oom = true;
        return;
    }
    if (json_object_set_new(b->o, key, v) != 0)
        b->oom = true;
}

static void put_span(jb *b, const char *key, hf_span s) {
    if (s.len == 0)
        return;
    json_t *v = json_stringn(s.p, s.len);
    if (v == NULL) {
        /* jansson refuses invalid UTF-8; records are UTF-8, so this is a
         * corrupt record, not memory. */
        if (b->bad == NULL)
            b->bad = key;
        return;
    }
    put_json(b, key, v);
}

static void put_str(jb *b, const char *key, const char *s) {
    if (s != NULL && s[0] != '\0')
        put_json(b, key, json_string(s));
}

static void put_ts(jb *b, const char *key, hf_opt_i64 ts) {
    char buf[40];
    if (ts.set && iso_time(ts.v, buf, sizeof buf))
        put_str(b, key, buf);
}

static void put_int(jb *b, const char *key, hf_opt_i32 v) {
    if (v.set)
        put_json(b, key, json_integer(v.v));
}

static void put_coded(jb *b, const char *code, const char *text, const char *sys,
                      const hf_rec_coded *c) {
    if (c == NULL)
        return;
    put_span(b, code, c->code);
    if (text)
        put_span(b, text, c->text);
    if (sys)
        put_span(b, sys, c->system);
}

static hf_span hd_ns(const hf_rec_hd *h) { return h ? h->namespace_id : (hf_span){"", 0}; }
static hf_span ei_id(const hf_rec_ei *e) { return e ? e->id : (hf_span){"", 0}; }

/* What every document of a record carries. */
static void put_common(jb *b, const hf_rec *r, hf_os_kind kind, hf_opt_i64 event) {
    const hf_rec_header *h = &r->header;
    put_str(b, "doc_kind", hf_osdoc_kind_name(kind));
    put_json(b, "source_system", json_stringn(r->source_system.p ? r->source_system.p : "",
                                              r->source_system.len));
    put_json(b, "facility_id", json_stringn(r->facility_id.p ? r->facility_id.p : "",
                                            r->facility_id.len));
    if (r->facility)
        put_span(b, "facility_name", r->facility->name);
    put_span(b, "message_control_id", h->control_id);
    put_span(b, "message_code", h->message_code);
    put_span(b, "trigger_event", h->trigger_event);
    put_span(b, "sending_application", hd_ns(h->sending_application));
    put_ts(b, "message_time", h->message_ts);
    put_ts(b, "ingest_time", (hf_opt_i64){r->ingest_ts, r->ingest_ts != 0});
    put_ts(b, "event_time", event);
    if (r->patient)
        put_span(b, "mrn", r->patient->mrn);
    put_span(b, "mrn_hash", r->mrn_hash);
    put_span(b, "empi_id", r->empi_id);
}

static hf_opt_i64 first_set(hf_opt_i64 a, hf_opt_i64 b, hf_opt_i64 c, int64_t ingest) {
    if (a.set)
        return a;
    if (b.set)
        return b;
    if (c.set)
        return c;
    return (hf_opt_i64){ingest, true};
}

/* ---- the three kinds -------------------------------------------------------- */

static void note_fields(jb *b, const hf_rec *r) {
    const hf_rec_document *d = r->document;
    put_coded(b, "document_type_code", "document_type_text", NULL, d->document_type);
    put_span(b, "document_number", ei_id(d->unique_document_number));
    put_span(b, "parent_document_number", ei_id(d->parent_document_number));
    put_span(b, "completion_status", d->completion_status);
    put_span(b, "confidentiality_status", d->confidentiality_status);
    put_span(b, "availability_status", d->availability_status);
    put_span(b, "content_presentation", d->content_presentation);
    if (d->originator)
        put_span(b, "author_id", d->originator->id);
    else if (d->primary_activity_provider)
        put_span(b, "author_id", d->primary_activity_provider->id);
    put_ts(b, "activity_time", d->activity_ts);
    put_ts(b, "origination_time", d->origination_ts);
    put_ts(b, "transcription_time", d->transcription_ts);
    put_span(b, "note_text", d->text);
}

static const hf_rec_order *order_of(const hf_rec *r, const hf_rec_obs *o) {
    if (!o->obr_occurrence.set)
        return NULL;
    for (size_t i = 0; i < r->orders.n; i++)
        if (r->orders.v[i].obr_occurrence.set &&
            r->orders.v[i].obr_occurrence.v == o->obr_occurrence.v)
            return &r->orders.v[i];
    return NULL;
}

static void lab_fields(jb *b, const hf_rec *r, const hf_rec_obs *o) {
    put_json(b, "obx_occurrence", json_integer(o->segment_occurrence));
    put_int(b, "set_id", o->set_id);
    put_span(b, "value_type", o->value_type);
    put_coded(b, "code", "code_text", "code_system", o->identifier);
    put_span(b, "sub_id", o->sub_id);
    put_span(b, "value", o->value);
    if (o->value_numeric.set)
        put_json(b, "value_numeric", json_real(o->value_numeric.v));
    put_coded(b, "value_code", NULL, NULL, o->value_coded);
    put_coded(b, "units", NULL, NULL, o->units);
    put_span(b, "reference_range", o->reference_range);
    if (o->abnormal_flags.n > 0) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && i < o->abnormal_flags.n; i++) {
            hf_span f = o->abnormal_flags.v[i];
            json_t *s = f.len ? json_stringn(f.p, f.len) : NULL;
            if (s != NULL)
                json_array_append_new(a, s);
            else if (f.len && b->bad == NULL)
                b->bad = "abnormal_flags";
        }
        put_json(b, "abnormal_flags", a);
    }
    put_span(b, "result_status", o->result_status);
    put_ts(b, "observation_time", o->observation_ts);
    const hf_rec_order *ord = order_of(r, o);
    if (ord != NULL) {
        put_span(b, "order_placer_number", ei_id(ord->placer_order_number));
        put_span(b, "order_filler_number", ei_id(ord->filler_order_number));
        put_coded(b, "service_code", "service_text", NULL, ord->universal_service_id);
    }
}

static void adt_fields(jb *b, const hf_rec *r) {
    const hf_rec_event *e = r->event;
    if (e != NULL) {
        put_span(b, "event_type", e->event_type_code);
        put_span(b, "event_reason", e->event_reason_code);
    }
    if (r->patient)
        put_span(b, "sex", r->patient->sex);
    const hf_rec_visit *v = r->visit;
    if (v != NULL) {
        put_span(b, "patient_class", v->patient_class);
        if (v->visit_number)
            put_span(b, "visit_number", v->visit_number->id);
        const hf_rec_loc *l = v->assigned_location;
        if (l != NULL) {
            put_span(b, "location_point_of_care", l->point_of_care);
            put_span(b, "location_room", l->room);
            put_span(b, "location_bed", l->bed);
            put_span(b, "location_facility", l->facility);
        }
        put_span(b, "hospital_service", v->hospital_service);
        put_span(b, "admission_type", v->admission_type);
        if (v->attending_doctors.n)
            put_span(b, "attending_doctor_id", v->attending_doctors.v[0].id);
        put_ts(b, "admit_time", v->admit_ts);
        put_ts(b, "discharge_time", v->discharge_ts);
        put_span(b, "discharge_disposition", v->discharge_disposition);
    }
    if (r->merge)
        put_span(b, "prior_mrn", r->merge->prior_mrn);
}

/* ---- ids and the list ------------------------------------------------------- */

static bool id_of(const hf_rec *r, const hf_os_origin *org, long obx, char *out, size_t cap) {
    char buf[4096], suffix[24] = "";
    if (obx >= 0)
        snprintf(suffix, sizeof suffix, "|obx%ld", obx);
    int n;
    const hf_span ss = r->source_system, fac = r->facility_id, ctrl = r->header.control_id;
    /* Each part is cut to 1000 bytes so the id always fits buf; a cut id
     * is hashed below like any id over 512 bytes. */
    if (ctrl.len > 0)
        n = snprintf(buf, sizeof buf, "%.*s|%.*s|%.*s%s", (int)(ss.len < 1000 ? ss.len : 1000),
                     ss.p ? ss.p : "", (int)(fac.len < 1000 ? fac.len : 1000), fac.p ? fac.p : "",
                     (int)(ctrl.len < 1000 ? ctrl.len : 1000), ctrl.p, suffix);
    else
        n = snprintf(buf, sizeof buf, "kafka|%.1000s|%d|%lld%s",
                     org && org->topic ? org->topic : "", org ? (int)org->partition : -1,
                     org ? (long long)org->offset : -1LL, suffix);
    if (n < 0 || (size_t)n >= sizeof buf)
        return false;
    size_t len = (size_t)n;
    bool cut = ss.len > 1000 || fac.len > 1000 || ctrl.len > 1000;
    if (len <= HF_OS_ID_MAX && !cut && memchr(buf, '\0', len) == NULL) {
        if (cap <= len)
            return false;
        memcpy(out, buf, len + 1);
        return true;
    }
    /* Too long (or holding a NUL): a digest keeps it deterministic. */
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)buf, len, md);
    if (cap < 8 + 2 * sizeof md)
        return false;
    memcpy(out, "sha256:", 7);
    for (size_t i = 0; i < sizeof md; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
    return true;
}

static hf_os_doc *new_doc(hf_os_docs *l) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        hf_os_doc *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        l->v = v;
        l->cap = cap;
    }
    hf_os_doc *d = &l->v[l->n];
    memset(d, 0, sizeof *d);
    return d;
}

/* Finishes the document being built in @p b into the list. */
static hf_status emit(hf_os_docs *l, jb *b, const hf_rec *r, const hf_os_origin *org,
                      const char *prefix, hf_os_kind kind, hf_opt_i64 event, long obx,
                      uint32_t tag, hf_err *err) {
    hf_status st = HF_OK;
    char month[16];
    if (b->oom) {
        st = hf_err_set(err, HF_ENOMEM, "opensearch document: out of memory");
        goto out;
    }
    if (b->bad != NULL) {
        st = hf_err_set(err, HF_ESYNTAX, "%s document: field %s is not valid UTF-8",
                        hf_osdoc_kind_name(kind), b->bad);
        goto out;
    }
    if (!hf_osdoc_month(event.v, month, sizeof month))
        snprintf(month, sizeof month, "0001.01"); /* out of range: still deterministic */
    hf_os_doc *d = new_doc(l);
    if (d == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "opensearch document: out of memory");
        goto out;
    }
    int n = snprintf(d->index, sizeof d->index, "%s%s-%s", prefix ? prefix : "",
                     hf_osdoc_kind_name(kind), month);
    if (n < 0 || (size_t)n >= sizeof d->index) {
        st = hf_err_set(err, HF_ELIMIT, "opensearch index prefix too long");
        goto out;
    }
    if (!id_of(r, org, obx, d->id, sizeof d->id)) {
        st = hf_err_set(err, HF_ELIMIT, "opensearch document id does not fit");
        goto out;
    }
    d->source = json_dumps(b->o, JSON_COMPACT);
    if (d->source == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "opensearch document: out of memory");
        goto out;
    }
    d->source_len = strlen(d->source);
    d->kind = kind;
    d->tag = tag;
    l->n++;
out:
    json_decref(b->o);
    b->o = NULL;
    return st;
}

static bool begin(jb *b) {
    memset(b, 0, sizeof *b);
    b->o = json_object();
    return b->o != NULL;
}

hf_status hf_osdoc_add(hf_os_docs *out, const hf_rec *rec, const hf_os_origin *origin,
                       const char *prefix, uint32_t tag, hf_err *err) {
    size_t n0 = out->n;
    hf_status st = HF_OK;
    jb b;
    const hf_rec_header *h = &rec->header;
    if (rec->document != NULL) {
        const hf_rec_document *d = rec->document;
        hf_opt_i64 ev = first_set(d->activity_ts, d->origination_ts, h->message_ts, rec->ingest_ts);
        if (!begin(&b))
            goto oom;
        put_common(&b, rec, HF_OS_NOTE, ev);
        note_fields(&b, rec);
        if ((st = emit(out, &b, rec, origin, prefix, HF_OS_NOTE, ev, -1, tag, err)) != HF_OK)
            goto fail;
    } else {
        for (size_t i = 0; i < rec->observations.n; i++) {
            const hf_rec_obs *o = &rec->observations.v[i];
            hf_opt_i64 ev = first_set(o->observation_ts, h->message_ts, (hf_opt_i64){0, false},
                                      rec->ingest_ts);
            if (!begin(&b))
                goto oom;
            put_common(&b, rec, HF_OS_LAB, ev);
            lab_fields(&b, rec, o);
            st = emit(out, &b, rec, origin, prefix, HF_OS_LAB, ev, o->segment_occurrence, tag, err);
            if (st != HF_OK)
                goto fail;
        }
    }
    if (h->message_code.len == 3 && memcmp(h->message_code.p, "ADT", 3) == 0) {
        hf_opt_i64 a = {0, false}, c = {0, false};
        if (rec->event) {
            a = rec->event->event_occurred_ts;
            c = rec->event->recorded_ts;
        }
        hf_opt_i64 ev = first_set(a, c, h->message_ts, rec->ingest_ts);
        if (!begin(&b))
            goto oom;
        put_common(&b, rec, HF_OS_ADT, ev);
        adt_fields(&b, rec);
        if ((st = emit(out, &b, rec, origin, prefix, HF_OS_ADT, ev, -1, tag, err)) != HF_OK)
            goto fail;
    }
    return HF_OK;
oom:
    st = hf_err_set(err, HF_ENOMEM, "opensearch document: out of memory");
fail:
    while (out->n > n0)
        free(out->v[--out->n].source);
    return st;
}
