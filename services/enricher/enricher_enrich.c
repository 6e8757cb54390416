/* enricher_enrich.c - what the enricher adds to a record: the facility
 * block, the `_ts` of local times, and the enrichment block (normalized
 * sex and name, standard codes). Source values are never changed. */
#include <stdio.h>
#include <string.h>

#include "hl7flow/normalize.h"
#include "enricher.h"

typedef struct time_fill {
    hf_tz *tz;
    uint64_t filled;
    uint64_t touched; /* bit i: top-level field i changed */
} time_fill;

/* hf_rec_each_time callback: a value the parser could not place in time
 * (no UTC offset) is read as wall-clock time of the facility's zone. */
static void fill_time(int top, hf_span text, hf_opt_i64 *ts, void *arg) {
    time_fill *tf = arg;
    if (ts->set || text.len == 0)
        return;
    hf_rec_dtm t;
    if (!hf_rec_dtm_parse(text, &t))
        return;
    if (t.has_offset) {
        ts->v = hf_rec_dtm_to_us(&t, t.offset_min);
    } else if (tf->tz != NULL) {
        ts->v = hf_tz_to_utc_us(tf->tz, hf_rec_dtm_to_us(&t, 0));
    } else {
        return;
    }
    ts->set = true;
    tf->filled++;
    tf->touched |= (uint64_t)1 << top;
}

/* @p in in standard name form, in the record's arena ({0} when empty). */
static hf_span norm_name(hf_rec_ctx *rc, hf_span in) {
    if (in.len == 0)
        return (hf_span){NULL, 0};
    char buf[256];
    size_t n = hf_norm_name(in, buf, sizeof buf);
    if (n <= sizeof buf)
        return hf_rec_strdup(rc, buf, n);
    char *big = hf_rec_alloc(rc, n);
    if (big == NULL)
        return (hf_span){NULL, 0};
    size_t m = hf_norm_name(in, big, n);
    return (hf_span){big, m <= n ? m : 0};
}

static bool span_eq(hf_span s, const char *z) {
    size_t n = strlen(z);
    return s.len == n && memcmp(s.p, z, n) == 0;
}

static void names(hf_rec_ctx *rc, const hf_rec_patient *p, hf_rec_enrichment *en) {
    if (p == NULL || p->names.n == 0)
        return;
    const hf_rec_name *legal = &p->names.v[0];
    for (size_t i = 0; i < p->names.n; i++)
        if (span_eq(p->names.v[i].name_type, "L")) {
            legal = &p->names.v[i];
            break;
        }
    en->patient_family_name = norm_name(rc, legal->family);
    en->patient_given_name = norm_name(rc, legal->given);
    en->patient_middle_name = norm_name(rc, legal->middle);
}

/* "@p what[@p idx].@p field" into @p buf (96 bytes: the names are this
 * file's constants, under 32 bytes each); returns its length. The same
 * text as snprintf's "%s[%zu].%s", without the format interpreter. */
static size_t path_of(char buf[96], const char *what, size_t idx, const char *field) {
    size_t n = strlen(what), f = strlen(field);
    memcpy(buf, what, n);
    buf[n++] = '[';
    char digits[20];
    size_t d = 0;
    do {
        digits[d++] = (char)('0' + idx % 10);
        idx /= 10;
    } while (idx > 0);
    while (d > 0)
        buf[n++] = digits[--d];
    buf[n++] = ']';
    buf[n++] = '.';
    memcpy(buf + n, field, f);
    return n + f;
}

/* Appends the mapping of @p cd (kind @p kind) at record path
 * @p what[@p idx].@p field when the tables know it. */
static void map_one(enr_ctx *c, const hf_rec *rec, hf_rec_enrichment *en, const char *kind,
                    const char *what, size_t idx, const char *field, const hf_rec_coded *cd) {
    if (cd == NULL || cd->code.len == 0)
        return;
    hf_codemap_hit hit;
    hf_span k = {kind, strlen(kind)};
    if (!hf_codemap_lookup(c->codemap, k, rec->facility_id, cd->system, cd->code, &hit))
        return;
    char path[96];
    size_t n = path_of(path, what, idx, field);
    hf_rec_code_mapping *m = &en->codes.v[en->codes.n++];
    m->field = hf_rec_strdup(c->rec, path, n);
    m->kind = k;
    m->source_system = cd->system;
    m->source_code = cd->code;
    m->system = hit.system;
    m->code = hit.code;
    m->display = hit.display;
}

static hf_status codes(enr_ctx *c, const hf_rec *rec, hf_rec_enrichment *en) {
    if (c->codemap == NULL || hf_codemap_size(c->codemap) == 0)
        return HF_OK;
    size_t most = rec->orders.n + 2 * rec->observations.n;
    if (most == 0)
        return HF_OK;
    en->codes.v = hf_rec_alloc(c->rec, most * sizeof *en->codes.v);
    if (en->codes.v == NULL)
        return HF_ENOMEM;
    for (size_t i = 0; i < rec->orders.n; i++)
        map_one(c, rec, en, "order", "orders", i, "universal_service_id",
                rec->orders.v[i].universal_service_id);
    for (size_t i = 0; i < rec->observations.n; i++) {
        map_one(c, rec, en, "observation", "observations", i, "identifier",
                rec->observations.v[i].identifier);
        map_one(c, rec, en, "unit", "observations", i, "units", rec->observations.v[i].units);
    }
    hf_counter_add(c->m.codes_mapped, en->codes.n);
    return HF_OK;
}

hf_status enr_enrich(enr_ctx *c, hf_rec *rec, const hf_facility *f, hf_tz *tz, int64_t now_us) {
    hf_rec_enrichment *en = hf_rec_alloc(c->rec, sizeof *en);
    if (en == NULL)
        return HF_ENOMEM;
    rec->facility = f != NULL ? (hf_rec_facility *)&f->rec : NULL;
    rec->enrichment = en;
    en->facility_known = (hf_opt_bool){f != NULL, true};
    if (tz != NULL) {
        const char *name = hf_tz_name(tz);
        en->time_zone = (hf_span){name, strlen(name)};
    }
    time_fill tf = {.tz = tz};
    hf_rec_each_time(rec, HF_REC_VALIDATED, fill_time, &tf);
    hf_counter_add(c->m.ts_filled, tf.filled);
    c->touched = tf.touched;
    if (rec->patient != NULL) {
        const char *sex = hf_norm_sex(rec->patient->sex);
        if (sex != NULL)
            en->patient_sex = (hf_span){sex, strlen(sex)};
        names(c->rec, rec->patient, en);
    }
    en->enriched_ts = (hf_opt_i64){now_us, true};
    return codes(c, rec, en);
}
