/* pgrows.c - hl7flow records as PostgreSQL rows (pgrows.h): the table
 * layouts, the record -> row mapping and the multi-row statements.
 *
 * The column lists here and the migrations of hl7flow-sink-postgres
 * (services/sink-postgres/pg_migrations.c) describe the same tables; the
 * integration tests fail when they drift apart. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/headers.h"
#include "hl7flow/pgrows.h"

/* ---- table layouts ------------------------------------------------------ */

typedef struct pg_col {
    const char *name;
    const char *set; /* ON CONFLICT DO UPDATE expression; NULL: COALESCE(new, old) */
} pg_col;

typedef struct pg_tab {
    const char *name;
    const pg_col *cols;
    int ncols;
    int nkey;            /* the first nkey columns are the unique key */
    bool upsert;         /* DO UPDATE (else DO NOTHING) */
    const char *where;   /* DO UPDATE ... WHERE, or NULL */
} pg_tab;

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const pg_col MESSAGES[] = {
    {"source_system", NULL}, {"facility_id", NULL}, {"message_control_id", NULL},
    {"message_code", NULL}, {"trigger_event", NULL}, {"message_structure", NULL},
    {"message_datetime", NULL}, {"message_ts", NULL}, {"sending_application", NULL},
    {"sending_facility", NULL}, {"receiving_application", NULL}, {"receiving_facility", NULL},
    {"processing_id", NULL}, {"version_id", NULL}, {"mrn", NULL}, {"mrn_hash", NULL},
    {"empi_id", NULL}, {"ingest_ts", NULL}, {"kafka_topic", NULL}, {"kafka_partition", NULL},
    {"kafka_offset", NULL}, {"raw", NULL},
};
#define MESSAGES_RAW_COL 21

static const pg_col PATIENTS[] = {
    {"source_system", NULL}, {"facility_id", NULL}, {"mrn", NULL},
    {"mrn_assigning_authority", NULL}, {"mrn_hash", NULL}, {"empi_id", NULL},
    {"family_name", NULL}, {"given_name", NULL}, {"middle_name", NULL}, {"birth_date", NULL},
    {"sex", NULL}, {"street", NULL}, {"city", NULL}, {"state", NULL}, {"zip", NULL},
    {"country", NULL}, {"phone", NULL}, {"account_number", NULL}, {"death_ts", NULL},
    {"death_indicator", NULL}, {"last_event", NULL}, {"last_message_control_id", NULL},
    {"last_message_ts", NULL},
};

static const pg_col ENCOUNTERS[] = {
    {"source_system", NULL}, {"facility_id", NULL}, {"visit_number", NULL}, {"mrn", NULL},
    {"patient_class", NULL}, {"point_of_care", NULL}, {"room", NULL}, {"bed", NULL},
    {"location_facility", NULL}, {"admission_type", NULL}, {"hospital_service", NULL},
    {"attending_doctor_id", NULL}, {"admit_ts", NULL},
    {"discharge_ts", "CASE WHEN EXCLUDED.last_event = 'A13' THEN NULL "
                     "ELSE COALESCE(EXCLUDED.discharge_ts, encounters.discharge_ts) END"},
    {"discharge_disposition", NULL},
    {"status", "CASE WHEN EXCLUDED.last_event IN ('A03','A11','A13') THEN EXCLUDED.status "
               "ELSE encounters.status END"},
    {"last_event", NULL}, {"last_message_control_id", NULL}, {"last_message_ts", NULL},
};

static const pg_col ORDERS[] = {
    {"source_system", NULL}, {"facility_id", NULL}, {"order_key", NULL},
    {"placer_order_number", NULL}, {"filler_order_number", NULL}, {"mrn", NULL},
    {"visit_number", NULL}, {"order_control", NULL}, {"order_status", NULL}, {"priority", NULL},
    {"service_code", NULL}, {"service_text", NULL}, {"service_system", NULL},
    {"ordering_provider_id", NULL}, {"transaction_ts", NULL}, {"requested_ts", NULL},
    {"observation_ts", NULL}, {"result_status", NULL}, {"last_message_control_id", NULL},
    {"last_message_ts", NULL},
};

/* A result replaces the stored one (all columns, as sent) unless the
 * stored one is final and the new one is not a correction; identical
 * re-sends change nothing (and leave no history). */
#define OBS_REPLACE(c) {c, "EXCLUDED." c}
static const pg_col OBSERVATIONS[] = {
    {"source_system", NULL}, {"facility_id", NULL}, {"order_key", NULL}, {"code", NULL},
    {"sub_id", NULL}, OBS_REPLACE("mrn"), OBS_REPLACE("code_text"), OBS_REPLACE("code_system"),
    OBS_REPLACE("value_type"), OBS_REPLACE("value"), OBS_REPLACE("value_numeric"),
    OBS_REPLACE("units"), OBS_REPLACE("reference_range"), OBS_REPLACE("abnormal_flags"),
    OBS_REPLACE("result_status"), OBS_REPLACE("observation_ts"),
    OBS_REPLACE("message_control_id"),
};
static const char OBS_WHERE[] =
    "(EXCLUDED.result_status IN ('C','W','D') OR observations.result_status IS NULL "
    "OR observations.result_status NOT IN ('F','C')) AND "
    "(observations.value, observations.value_numeric, observations.units, "
    "observations.abnormal_flags, observations.result_status, observations.reference_range) "
    "IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.value_numeric, EXCLUDED.units, "
    "EXCLUDED.abnormal_flags, EXCLUDED.result_status, EXCLUDED.reference_range)";

/* Typed topics are ordered per patient within a topic only: an ORU read
 * after a later ADT must not undo it. A message older (MSH-7) than the
 * one that last wrote the row changes nothing. */
#define NOT_OLDER(t)                                                                    \
    "EXCLUDED.last_message_ts IS NULL OR " t ".last_message_ts IS NULL OR "             \
    "EXCLUDED.last_message_ts >= " t ".last_message_ts"

static const pg_col DIAGNOSES[] = {
    {"source_system", NULL}, {"facility_id", NULL}, {"message_control_id", NULL},
    {"segment_occurrence", NULL}, {"mrn", NULL}, {"visit_number", NULL}, {"set_id", NULL},
    {"coding_method", NULL}, {"code", NULL}, {"code_text", NULL}, {"code_system", NULL},
    {"description", NULL}, {"diagnosis_ts", NULL}, {"diagnosis_type", NULL},
    {"diagnosis_priority", NULL},
};

static const pg_col ALLERGIES[] = {
    {"source_system", NULL}, {"facility_id", NULL}, {"message_control_id", NULL},
    {"segment_occurrence", NULL}, {"mrn", NULL}, {"set_id", NULL}, {"allergen_type", NULL},
    {"allergen_code", NULL}, {"allergen_text", NULL}, {"allergen_system", NULL},
    {"severity", NULL}, {"reactions", NULL}, {"identification_date", NULL},
};

static const pg_col INSURANCE[] = {
    {"source_system", NULL}, {"facility_id", NULL}, {"message_control_id", NULL},
    {"segment_occurrence", NULL}, {"mrn", NULL}, {"set_id", NULL}, {"plan_code", NULL},
    {"plan_text", NULL}, {"company_id", NULL}, {"company_name", NULL}, {"group_number", NULL},
    {"group_name", NULL}, {"plan_type", NULL}, {"plan_effective_date", NULL},
    {"plan_expiration_date", NULL}, {"policy_number", NULL},
};

static const pg_col FINANCIAL[] = {
    {"source_system", NULL}, {"facility_id", NULL}, {"message_control_id", NULL},
    {"segment_occurrence", NULL}, {"mrn", NULL}, {"visit_number", NULL}, {"set_id", NULL},
    {"transaction_id", NULL}, {"batch_id", NULL}, {"transaction_ts", NULL}, {"posting_ts", NULL},
    {"transaction_type", NULL}, {"code", NULL}, {"code_text", NULL}, {"code_system", NULL},
    {"description", NULL}, {"quantity", NULL}, {"extended_amount", NULL}, {"unit_amount", NULL},
};

static const pg_col DOCUMENTS[] = {
    {"source_system", NULL}, {"facility_id", NULL}, {"document_key", NULL}, {"mrn", NULL},
    {"visit_number", NULL}, {"unique_document_number", NULL}, {"parent_document_number", NULL},
    {"document_type_code", NULL}, {"document_type_text", NULL}, {"activity_ts", NULL},
    {"origination_ts", NULL}, {"transcription_ts", NULL}, {"completion_status", NULL},
    {"confidentiality_status", NULL}, {"availability_status", NULL},
    {"content_presentation", NULL}, {"text", NULL}, {"last_event", NULL},
    {"last_message_control_id", NULL},
};

static const pg_tab TABLES[HF_PG_NTABLES] = {
    [HF_PG_MESSAGES] = {"messages", MESSAGES, NCOLS(MESSAGES), 3, false, NULL},
    [HF_PG_PATIENTS] = {"patients", PATIENTS, NCOLS(PATIENTS), 3, true, NOT_OLDER("patients")},
    [HF_PG_ENCOUNTERS] = {"encounters", ENCOUNTERS, NCOLS(ENCOUNTERS), 3, true,
                          NOT_OLDER("encounters")},
    [HF_PG_ORDERS] = {"orders", ORDERS, NCOLS(ORDERS), 3, true, NOT_OLDER("orders")},
    [HF_PG_OBSERVATIONS] = {"observations", OBSERVATIONS, NCOLS(OBSERVATIONS), 5, true, OBS_WHERE},
    [HF_PG_DIAGNOSES] = {"diagnoses", DIAGNOSES, NCOLS(DIAGNOSES), 4, false, NULL},
    [HF_PG_ALLERGIES] = {"allergies", ALLERGIES, NCOLS(ALLERGIES), 4, false, NULL},
    [HF_PG_INSURANCE] = {"insurance", INSURANCE, NCOLS(INSURANCE), 4, false, NULL},
    [HF_PG_FINANCIAL] = {"financial_transactions", FINANCIAL, NCOLS(FINANCIAL), 4, false, NULL},
    [HF_PG_DOCUMENTS] = {"documents", DOCUMENTS, NCOLS(DOCUMENTS), 3, true, NULL},
};

/* ---- the batch ---------------------------------------------------------- */

typedef struct pg_val {
    size_t off; /* into the arena */
    int len;    /* -1: NULL */
} pg_val;

typedef struct pg_rows {
    pg_val *v; /* nrows * ncols */
    size_t nrows, cap;
} pg_rows;

struct hf_pgrows {
    char *arena;
    size_t alen, acap;
    pg_rows t[HF_PG_NTABLES];
    bool oom;      /* an allocation failed during the current add */
    bool bad;      /* a value PostgreSQL cannot hold (NUL byte) */
    bool bug;      /* a row got more or fewer values than its table has columns */
    bool in_row;
    char bad_col[96];
    hf_rec_buf msg;  /* scratch: a message rebuilt from its segments */
    /* row being written */
    hf_pg_table cur;
    int col;
};

hf_pgrows *hf_pgrows_new(void) { return calloc(1, sizeof(hf_pgrows)); }

void hf_pgrows_free(hf_pgrows *b) {
    if (b == NULL)
        return;
    for (int i = 0; i < HF_PG_NTABLES; i++)
        free(b->t[i].v);
    hf_rec_buf_free(&b->msg);
    free(b->arena);
    free(b);
}

void hf_pgrows_clear(hf_pgrows *b) {
    b->alen = 0;
    for (int i = 0; i < HF_PG_NTABLES; i++)
        b->t[i].nrows = 0;
}

hf_pgrows_mark hf_pgrows_mark_get(const hf_pgrows *b) {
    hf_pgrows_mark m;
    m.arena = b->alen;
    for (int i = 0; i < HF_PG_NTABLES; i++)
        m.rows[i] = b->t[i].nrows;
    return m;
}

void hf_pgrows_rollback(hf_pgrows *b, const hf_pgrows_mark *m) {
    b->alen = m->arena;
    for (int i = 0; i < HF_PG_NTABLES; i++)
        b->t[i].nrows = m->rows[i];
}

size_t hf_pgrows_count(const hf_pgrows *b, hf_pg_table t) { return b->t[t].nrows; }

size_t hf_pgrows_total(const hf_pgrows *b) {
    size_t n = 0;
    for (int i = 0; i < HF_PG_NTABLES; i++)
        n += b->t[i].nrows;
    return n;
}

const char *hf_pgrows_table_name(hf_pg_table t) { return TABLES[t].name; }
int hf_pgrows_ncols(hf_pg_table t) { return TABLES[t].ncols; }
bool hf_pgrows_is_upsert(hf_pg_table t) { return TABLES[t].upsert; }

int hf_pgrows_col(hf_pg_table t, const char *name) {
    for (int i = 0; i < TABLES[t].ncols; i++)
        if (strcmp(TABLES[t].cols[i].name, name) == 0)
            return i;
    return -1;
}

size_t hf_pgrows_max_rows(hf_pg_table t) { return (size_t)(HF_PG_MAX_PARAMS / TABLES[t].ncols); }

/* ---- writing values ----------------------------------------------------- */

static bool arena_reserve(hf_pgrows *b, size_t n) {
    if (b->alen + n <= b->acap)
        return true;
    size_t cap = b->acap ? b->acap : 16384;
    while (cap < b->alen + n)
        cap *= 2;
    char *p = realloc(b->arena, cap);
    if (p == NULL) {
        b->oom = true;
        return false;
    }
    b->arena = p;
    b->acap = cap;
    return true;
}

/* Checks the row being written got exactly one value per column. */
static void row_end(hf_pgrows *b) {
    if (b->in_row && b->col != TABLES[b->cur].ncols)
        b->bug = true;
    b->in_row = false;
}

static void row_begin(hf_pgrows *b, hf_pg_table t) {
    pg_rows *r = &b->t[t];
    row_end(b);
    b->in_row = true;
    b->cur = t;
    b->col = 0;
    if (b->oom)
        return;
    size_t nc = (size_t)TABLES[t].ncols;
    if (r->nrows == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        pg_val *v = realloc(r->v, cap * nc * sizeof *v);
        if (v == NULL) {
            b->oom = true;
            return;
        }
        r->v = v;
        r->cap = cap;
    }
    for (size_t i = 0; i < nc; i++)
        r->v[r->nrows * nc + i] = (pg_val){0, -1};
    r->nrows++;
}

/* The slot of the next column of the current row (NULL after OOM). */
static pg_val *slot(hf_pgrows *b) {
    int c = b->col++;
    if (b->oom || c >= TABLES[b->cur].ncols)
        return NULL;
    pg_rows *r = &b->t[b->cur];
    return &r->v[(r->nrows - 1) * (size_t)TABLES[b->cur].ncols + (size_t)c];
}

/* Stores @p len bytes (NUL-terminated in the arena). */
static void put_bytes(hf_pgrows *b, const char *p, size_t len, bool text) {
    pg_val *s = slot(b);
    if (s == NULL || !arena_reserve(b, len + 1))
        return;
    if (text && len > 0 && memchr(p, '\0', len) != NULL && !b->bad) {
        b->bad = true;
        snprintf(b->bad_col, sizeof b->bad_col, "%s.%s", TABLES[b->cur].name,
                 TABLES[b->cur].cols[b->col - 1].name);
    }
    if (len > 0)
        memcpy(b->arena + b->alen, p, len);
    b->arena[b->alen + len] = '\0';
    s->off = b->alen;
    s->len = (int)len;
    b->alen += len + 1;
}

static void put_null(hf_pgrows *b) { (void)slot(b); }

/* Text; empty = NULL (typed record fields never hold ""). */
static void put_span(hf_pgrows *b, hf_span s) {
    if (s.len == 0)
        put_null(b);
    else
        put_bytes(b, s.p, s.len, true);
}

/* Text that may be "" (key columns are NOT NULL). */
static void put_key(hf_pgrows *b, hf_span s) { put_bytes(b, s.len ? s.p : "", s.len, true); }

static void put_cstr(hf_pgrows *b, const char *s) {
    if (s == NULL)
        put_null(b);
    else
        put_bytes(b, s, strlen(s), true);
}

static void put_i64(hf_pgrows *b, int64_t v) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    put_bytes(b, buf, (size_t)n, true);
}

static void put_opt_i32(hf_pgrows *b, hf_opt_i32 v) {
    if (v.set)
        put_i64(b, v.v);
    else
        put_null(b);
}

static void put_f64(hf_pgrows *b, hf_opt_f64 v) {
    if (!v.set || v.v != v.v || v.v - v.v != 0) { /* NaN, infinities: NULL */
        put_null(b);
        return;
    }
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.17g", v.v);
    put_bytes(b, buf, (size_t)n, true);
}

static void put_ts(hf_pgrows *b, hf_opt_i64 ts) {
    if (!ts.set) {
        put_null(b);
        return;
    }
    char buf[40];
    size_t n = hf_ts_format(ts.v, buf, sizeof buf);
    put_bytes(b, buf, n, true);
}

/* Civil date of @p days since 1970-01-01 (H. Hinnant's algorithm). */
static void put_date(hf_pgrows *b, hf_opt_i32 days) {
    if (!days.set) {
        put_null(b);
        return;
    }
    int64_t z = (int64_t)days.v + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", (long long)y, (long long)m,
                     (long long)d);
    put_bytes(b, buf, (size_t)n, true);
}

static const hf_span NO_SPAN = {"", 0};

static hf_span hd_ns(const hf_rec_hd *h) { return h ? h->namespace_id : NO_SPAN; }
static hf_span ei_id(const hf_rec_ei *e) { return e ? e->id : NO_SPAN; }
static hf_span cx_id(const hf_rec_cx *c) { return c ? c->id : NO_SPAN; }

static void put_coded3(hf_pgrows *b, const hf_rec_coded *c) {
    put_span(b, c ? c->code : NO_SPAN);
    put_span(b, c ? c->text : NO_SPAN);
    put_span(b, c ? c->system : NO_SPAN);
}

/* Joins spans with '~' (HL7's repetition separator) into a NULL-or-text. */
static void put_join(hf_pgrows *b, const hf_span *v, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += v[i].len + 1;
    if (n == 0 || len <= n) {
        put_null(b);
        return;
    }
    char *tmp = malloc(len);
    if (tmp == NULL) {
        b->oom = true;
        put_null(b);
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            tmp[o++] = '~';
        memcpy(tmp + o, v[i].p, v[i].len);
        o += v[i].len;
    }
    put_bytes(b, tmp, o, true);
    free(tmp);
}

/* ---- record -> rows ----------------------------------------------------- */

typedef struct rec_keys {
    hf_span ss, fac, ctrl, mrn, visit, event;
} rec_keys;

static void add_message(hf_pgrows *b, const hf_rec *r, const rec_keys *k, const hf_pg_source *src) {
    const hf_rec_header *h = &r->header;
    row_begin(b, HF_PG_MESSAGES);
    put_key(b, k->ss);
    put_key(b, k->fac);
    put_key(b, k->ctrl);
    put_span(b, h->message_code);
    put_span(b, h->trigger_event);
    put_span(b, h->message_structure);
    put_span(b, h->message_datetime);
    put_ts(b, h->message_ts);
    put_span(b, hd_ns(h->sending_application));
    put_span(b, hd_ns(h->sending_facility));
    put_span(b, hd_ns(h->receiving_application));
    put_span(b, hd_ns(h->receiving_facility));
    put_span(b, h->processing_id);
    put_span(b, h->version_id);
    put_span(b, k->mrn);
    put_span(b, r->mrn_hash);
    put_span(b, r->empi_id);
    put_ts(b, (hf_opt_i64){r->ingest_ts, r->ingest_ts != 0});
    put_cstr(b, src ? src->topic : NULL);
    if (src) {
        put_i64(b, src->partition);
        put_i64(b, src->offset);
    } else {
        put_null(b);
        put_null(b);
    }
    /* The message as the parser read it: raw, or the segments rebuilt. */
    if (r->raw.len) {
        put_bytes(b, r->raw.p, r->raw.len, false);
    } else {
        b->msg.len = 0;
        hf_status st = hf_rec_message_bytes(r, &b->msg);
        if (st == HF_OK)
            put_bytes(b, b->msg.p, b->msg.len, false);
        else {
            b->oom = b->oom || st == HF_ENOMEM;
            put_null(b);
        }
    }
}

static void add_patient(hf_pgrows *b, const hf_rec *r, const rec_keys *k) {
    const hf_rec_patient *p = r->patient;
    const hf_rec_name *n = p->names.n ? &p->names.v[0] : NULL;
    const hf_rec_addr *a = p->addresses.n ? &p->addresses.v[0] : NULL;
    const hf_rec_tel *t = p->phones.n ? &p->phones.v[0] : NULL;
    row_begin(b, HF_PG_PATIENTS);
    put_key(b, k->ss);
    put_key(b, k->fac);
    put_key(b, k->mrn);
    put_span(b, p->mrn_assigning_authority);
    put_span(b, r->mrn_hash);
    put_span(b, r->empi_id);
    put_span(b, n ? n->family : NO_SPAN);
    put_span(b, n ? n->given : NO_SPAN);
    put_span(b, n ? n->middle : NO_SPAN);
    put_date(b, p->birth_date);
    put_span(b, p->sex);
    put_span(b, a ? a->street : NO_SPAN);
    put_span(b, a ? a->city : NO_SPAN);
    put_span(b, a ? a->state : NO_SPAN);
    put_span(b, a ? a->zip : NO_SPAN);
    put_span(b, a ? a->country : NO_SPAN);
    put_span(b, t ? (t->number.len ? t->number : t->local_number) : NO_SPAN);
    put_span(b, cx_id(p->account_number));
    put_ts(b, p->death_ts);
    put_span(b, p->death_indicator);
    put_span(b, k->event);
    put_span(b, k->ctrl);
    put_ts(b, r->header.message_ts);
}

static bool span_is(hf_span s, const char *lit) {
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

static void add_encounter(hf_pgrows *b, const hf_rec *r, const rec_keys *k) {
    const hf_rec_visit *v = r->visit;
    const hf_rec_loc *l = v->assigned_location;
    const char *status = span_is(k->event, "A03")   ? "discharged"
                         : span_is(k->event, "A11") ? "cancelled"
                                                    : "active";
    row_begin(b, HF_PG_ENCOUNTERS);
    put_key(b, k->ss);
    put_key(b, k->fac);
    put_key(b, k->visit);
    put_span(b, k->mrn);
    put_span(b, v->patient_class);
    put_span(b, l ? l->point_of_care : NO_SPAN);
    put_span(b, l ? l->room : NO_SPAN);
    put_span(b, l ? l->bed : NO_SPAN);
    put_span(b, l ? l->facility : NO_SPAN);
    put_span(b, v->admission_type);
    put_span(b, v->hospital_service);
    put_span(b, v->attending_doctors.n ? v->attending_doctors.v[0].id : NO_SPAN);
    put_ts(b, v->admit_ts);
    put_ts(b, v->discharge_ts);
    put_span(b, v->discharge_disposition);
    put_cstr(b, status);
    put_span(b, k->event);
    put_span(b, k->ctrl);
    put_ts(b, r->header.message_ts);
}

/* Key text of an order: placer number, else filler number, else the
 * message and segment position. Written into @p buf. */
static hf_span order_key(const hf_rec_order *o, const rec_keys *k, size_t idx, char *buf,
                         size_t cap) {
    hf_span s = ei_id(o->placer_order_number);
    if (s.len == 0)
        s = ei_id(o->filler_order_number);
    if (s.len > 0 && s.len < cap) {
        memcpy(buf, s.p, s.len);
        buf[s.len] = '\0';
        return (hf_span){buf, s.len};
    }
    int n = snprintf(buf, cap, "msg:%.*s:%zu", (int)k->ctrl.len, k->ctrl.p, idx + 1);
    return (hf_span){buf, n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1)};
}

/* Appends "#n" to @p key (into @p buf) when rows [first_row, end) of @p t,
 * i.e. this record's, already used it in column @p col (repeated ORC with
 * the same numbers). */
static hf_span dedupe_key(hf_pgrows *b, hf_pg_table t, size_t first_row, int col, hf_span key,
                          char *buf, size_t cap) {
    int dups = 0;
    const pg_rows *r = &b->t[t];
    size_t nc = (size_t)TABLES[t].ncols;
    for (size_t i = first_row; i < r->nrows && !b->oom; i++) {
        const pg_val *v = &r->v[i * nc + (size_t)col];
        if (v->len >= (int)key.len && memcmp(b->arena + v->off, key.p, key.len) == 0 &&
            (v->len == (int)key.len || b->arena[v->off + key.len] == '#'))
            dups++;
    }
    if (dups == 0)
        return key;
    int n = snprintf(buf, cap, "%.*s#%d", (int)key.len, key.p, dups + 1);
    return (hf_span){buf, n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1)};
}

static void add_orders(hf_pgrows *b, const hf_rec *r, const rec_keys *k) {
    size_t first = b->t[HF_PG_ORDERS].nrows;
    for (size_t i = 0; i < r->orders.n; i++) {
        const hf_rec_order *o = &r->orders.v[i];
        char kb[256], db[300];
        hf_span key = order_key(o, k, i, kb, sizeof kb);
        key = dedupe_key(b, HF_PG_ORDERS, first, 2, key, db, sizeof db);
        row_begin(b, HF_PG_ORDERS);
        put_key(b, k->ss);
        put_key(b, k->fac);
        put_key(b, key);
        put_span(b, ei_id(o->placer_order_number));
        put_span(b, ei_id(o->filler_order_number));
        put_span(b, k->mrn);
        put_span(b, k->visit);
        put_span(b, o->order_control);
        put_span(b, o->order_status);
        put_span(b, o->priority);
        put_coded3(b, o->universal_service_id);
        put_span(b, o->ordering_provider ? o->ordering_provider->id : NO_SPAN);
        put_ts(b, o->transaction_ts);
        put_ts(b, o->requested_ts);
        put_ts(b, o->observation_ts);
        put_span(b, o->result_status);
        put_span(b, k->ctrl);
        put_ts(b, r->header.message_ts);
    }
}

static void add_observations(hf_pgrows *b, const hf_rec *r, const rec_keys *k) {
    size_t first = b->t[HF_PG_OBSERVATIONS].nrows;
    for (size_t i = 0; i < r->observations.n; i++) {
        const hf_rec_obs *o = &r->observations.v[i];
        char ok[256], code[128], sub[300];
        hf_span okey = {"", 0};
        for (size_t j = 0; j < r->orders.n; j++) {
            if (o->obr_occurrence.set && r->orders.v[j].obr_occurrence.set &&
                r->orders.v[j].obr_occurrence.v == o->obr_occurrence.v) {
                okey = order_key(&r->orders.v[j], k, j, ok, sizeof ok);
                break;
            }
        }
        if (okey.len == 0) {
            int n = snprintf(ok, sizeof ok, "msg:%.*s", (int)k->ctrl.len, k->ctrl.p);
            okey = (hf_span){ok, n < 0 ? 0 : ((size_t)n < sizeof ok ? (size_t)n : sizeof ok - 1)};
        }
        hf_span c = o->identifier ? o->identifier->code : NO_SPAN;
        if (c.len == 0) {
            int n = snprintf(code, sizeof code, "obx:%d", (int)o->segment_occurrence);
            c = (hf_span){code, (size_t)n};
        }
        /* Same order, code and sub-id twice in one message (multi-line
         * text results): the repeats get "#2", "#3" as sub-id suffix. */
        hf_span s = o->sub_id;
        int dups = 0;
        pg_rows *rows = &b->t[HF_PG_OBSERVATIONS];
        size_t nc = (size_t)TABLES[HF_PG_OBSERVATIONS].ncols;
        for (size_t j = first; j < rows->nrows && !b->oom; j++) {
            const pg_val *v = &rows->v[j * nc];
            if (v[2].len == (int)okey.len && memcmp(b->arena + v[2].off, okey.p, okey.len) == 0 &&
                v[3].len == (int)c.len && memcmp(b->arena + v[3].off, c.p, c.len) == 0 &&
                v[4].len >= (int)s.len && memcmp(b->arena + v[4].off, s.p, s.len) == 0 &&
                (v[4].len == (int)s.len || b->arena[v[4].off + s.len] == '#'))
                dups++;
        }
        if (dups > 0) {
            int n = snprintf(sub, sizeof sub, "%.*s#%d", (int)s.len, s.p, dups + 1);
            s = (hf_span){sub, n < 0 ? 0 : ((size_t)n < sizeof sub ? (size_t)n : sizeof sub - 1)};
        }
        row_begin(b, HF_PG_OBSERVATIONS);
        put_key(b, k->ss);
        put_key(b, k->fac);
        put_key(b, okey);
        put_key(b, c);
        put_key(b, s);
        put_span(b, k->mrn);
        put_span(b, o->identifier ? o->identifier->text : NO_SPAN);
        put_span(b, o->identifier ? o->identifier->system : NO_SPAN);
        put_span(b, o->value_type);
        put_span(b, o->value);
        put_f64(b, o->value_numeric);
        put_span(b, o->units ? (o->units->code.len ? o->units->code : o->units->text) : NO_SPAN);
        put_span(b, o->reference_range);
        put_join(b, o->abnormal_flags.v, o->abnormal_flags.n);
        put_span(b, o->result_status);
        put_ts(b, o->observation_ts);
        put_span(b, k->ctrl);
    }
}

static void add_segment_keyed(hf_pgrows *b, hf_pg_table t, const rec_keys *k, int32_t occ) {
    row_begin(b, t);
    put_key(b, k->ss);
    put_key(b, k->fac);
    put_key(b, k->ctrl);
    put_i64(b, occ);
    put_span(b, k->mrn);
}

static void add_children(hf_pgrows *b, const hf_rec *r, const rec_keys *k) {
    for (size_t i = 0; i < r->diagnoses.n; i++) {
        const hf_rec_dx *d = &r->diagnoses.v[i];
        add_segment_keyed(b, HF_PG_DIAGNOSES, k, d->segment_occurrence);
        put_span(b, k->visit);
        put_opt_i32(b, d->set_id);
        put_span(b, d->coding_method);
        put_coded3(b, d->diagnosis);
        put_span(b, d->description);
        put_ts(b, d->diagnosis_ts);
        put_span(b, d->diagnosis_type);
        put_span(b, d->diagnosis_priority);
    }
    for (size_t i = 0; i < r->allergies.n; i++) {
        const hf_rec_allergy *a = &r->allergies.v[i];
        add_segment_keyed(b, HF_PG_ALLERGIES, k, a->segment_occurrence);
        put_opt_i32(b, a->set_id);
        put_span(b, a->allergen_type ? a->allergen_type->code : NO_SPAN);
        put_coded3(b, a->allergen);
        put_span(b, a->severity ? a->severity->code : NO_SPAN);
        put_join(b, a->reactions.v, a->reactions.n);
        put_span(b, a->identification_date);
    }
    for (size_t i = 0; i < r->insurance.n; i++) {
        const hf_rec_insurance *in = &r->insurance.v[i];
        add_segment_keyed(b, HF_PG_INSURANCE, k, in->segment_occurrence);
        put_opt_i32(b, in->set_id);
        put_span(b, in->plan ? in->plan->code : NO_SPAN);
        put_span(b, in->plan ? in->plan->text : NO_SPAN);
        put_span(b, in->company_id);
        put_span(b, in->company_name);
        put_span(b, in->group_number);
        put_span(b, in->group_name);
        put_span(b, in->plan_type);
        put_span(b, in->plan_effective_date);
        put_span(b, in->plan_expiration_date);
        put_span(b, in->policy_number);
    }
    for (size_t i = 0; i < r->financial_transactions.n; i++) {
        const hf_rec_ft *f = &r->financial_transactions.v[i];
        add_segment_keyed(b, HF_PG_FINANCIAL, k, f->segment_occurrence);
        put_span(b, k->visit);
        put_opt_i32(b, f->set_id);
        put_span(b, f->transaction_id);
        put_span(b, f->batch_id);
        put_ts(b, f->transaction_ts);
        put_ts(b, f->posting_ts);
        put_span(b, f->transaction_type);
        put_coded3(b, f->transaction_code);
        put_span(b, f->description);
        put_span(b, f->quantity);
        put_span(b, f->extended_amount);
        put_span(b, f->unit_amount);
    }
}

static void add_document(hf_pgrows *b, const hf_rec *r, const rec_keys *k) {
    const hf_rec_document *d = r->document;
    char kb[256];
    hf_span key = ei_id(d->unique_document_number);
    if (key.len == 0) {
        int n = snprintf(kb, sizeof kb, "msg:%.*s", (int)k->ctrl.len, k->ctrl.p);
        key = (hf_span){kb, n < 0 ? 0 : ((size_t)n < sizeof kb ? (size_t)n : sizeof kb - 1)};
    }
    row_begin(b, HF_PG_DOCUMENTS);
    put_key(b, k->ss);
    put_key(b, k->fac);
    put_key(b, key);
    put_span(b, k->mrn);
    put_span(b, k->visit);
    put_span(b, ei_id(d->unique_document_number));
    put_span(b, ei_id(d->parent_document_number));
    put_span(b, d->document_type ? d->document_type->code : NO_SPAN);
    put_span(b, d->document_type ? d->document_type->text : NO_SPAN);
    put_ts(b, d->activity_ts);
    put_ts(b, d->origination_ts);
    put_ts(b, d->transcription_ts);
    put_span(b, d->completion_status);
    put_span(b, d->confidentiality_status);
    put_span(b, d->availability_status);
    put_span(b, d->content_presentation);
    put_span(b, d->text);
    put_span(b, k->event);
    put_span(b, k->ctrl);
}

hf_status hf_pgrows_add(hf_pgrows *b, const hf_rec *rec, const hf_pg_source *src) {
    hf_pgrows_mark m = hf_pgrows_mark_get(b);
    b->oom = false;
    b->bad = false;
    b->bug = false;
    b->in_row = false;
    rec_keys k = {
        .ss = rec->source_system,
        .fac = rec->facility_id,
        .ctrl = rec->header.control_id,
        .mrn = rec->patient ? rec->patient->mrn : NO_SPAN,
        .visit = rec->visit ? cx_id(rec->visit->visit_number) : NO_SPAN,
        .event = rec->header.trigger_event,
    };
    if (k.event.len == 0 && rec->event != NULL)
        k.event = rec->event->event_type_code;
    add_message(b, rec, &k, src);
    if (k.mrn.len > 0)
        add_patient(b, rec, &k);
    if (k.visit.len > 0)
        add_encounter(b, rec, &k);
    add_orders(b, rec, &k);
    add_observations(b, rec, &k);
    add_children(b, rec, &k);
    if (rec->document != NULL)
        add_document(b, rec, &k);
    row_end(b);
    if (b->bug) {
        hf_pgrows_rollback(b, &m);
        return HF_EFATAL;
    }
    if (b->oom) {
        hf_pgrows_rollback(b, &m);
        return HF_ENOMEM;
    }
    if (b->bad) {
        hf_pgrows_rollback(b, &m);
        return HF_ESYNTAX;
    }
    return HF_OK;
}

const char *hf_pgrows_bad_column(const hf_pgrows *b) { return b->bad_col; }

/* ---- reading rows ------------------------------------------------------- */

const char *hf_pgrows_value(const hf_pgrows *b, hf_pg_table t, size_t row, int col, int *len) {
    const pg_val *v = &b->t[t].v[row * (size_t)TABLES[t].ncols + (size_t)col];
    *len = v->len;
    return v->len < 0 ? NULL : b->arena + v->off;
}

size_t hf_pgrows_row_key(const hf_pgrows *b, hf_pg_table t, size_t row, char *buf, size_t cap) {
    size_t o = 0;
    if (cap < 2)
        return 0;
    buf[o++] = (char)('A' + (int)t);
    for (int c = 0; c < TABLES[t].nkey; c++) {
        int len;
        const char *v = hf_pgrows_value(b, t, row, c, &len);
        if (len < 0)
            len = 0;
        if (o + (size_t)len + 1 > cap)
            return 0;
        buf[o++] = '\x1f';
        memcpy(buf + o, v, (size_t)len);
        o += (size_t)len;
    }
    return o;
}

void hf_pgrows_params(const hf_pgrows *b, hf_pg_table t, size_t first, size_t n,
                      const char **values, int *lengths, int *formats) {
    size_t nc = (size_t)TABLES[t].ncols;
    for (size_t r = 0; r < n; r++) {
        for (size_t c = 0; c < nc; c++) {
            size_t i = r * nc + c;
            int len;
            values[i] = hf_pgrows_value(b, t, first + r, (int)c, &len);
            lengths[i] = len < 0 ? 0 : len;
            formats[i] = (t == HF_PG_MESSAGES && c == MESSAGES_RAW_COL) ? 1 : 0;
        }
    }
}

/* ---- statements --------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool over;
} sbuf;

static void sb_put(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(sbuf *s, const char *fmt, ...) {
    if (s->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= s->cap - s->len) {
        s->over = true;
        return;
    }
    s->len += (size_t)n;
}

size_t hf_pgrows_sql_cap(hf_pg_table t, size_t nrows) {
    size_t cap = 4096 + (size_t)TABLES[t].ncols * 160 + (TABLES[t].where ? strlen(TABLES[t].where) : 0);
    return cap + nrows * ((size_t)TABLES[t].ncols * 8 + 4);
}

size_t hf_pgrows_sql(hf_pg_table t, size_t nrows, char *buf, size_t cap) {
    const pg_tab *tab = &TABLES[t];
    sbuf s = {buf, 0, cap, cap == 0};
    if (nrows == 0 || nrows > hf_pgrows_max_rows(t))
        return 0;
    sb_put(&s, "INSERT INTO %s (", tab->name);
    for (int c = 0; c < tab->ncols; c++)
        sb_put(&s, "%s%s", c ? "," : "", tab->cols[c].name);
    sb_put(&s, ") VALUES ");
    size_t p = 1;
    for (size_t r = 0; r < nrows; r++) {
        sb_put(&s, r ? ",(" : "(");
        for (int c = 0; c < tab->ncols; c++)
            sb_put(&s, c ? ",$%zu" : "$%zu", p++);
        sb_put(&s, ")");
    }
    sb_put(&s, " ON CONFLICT (");
    for (int c = 0; c < tab->nkey; c++)
        sb_put(&s, "%s%s", c ? "," : "", tab->cols[c].name);
    if (!tab->upsert) {
        sb_put(&s, ") DO NOTHING");
    } else {
        sb_put(&s, ") DO UPDATE SET updated_at = now()");
        for (int c = tab->nkey; c < tab->ncols; c++) {
            if (tab->cols[c].set != NULL)
                sb_put(&s, ", %s = %s", tab->cols[c].name, tab->cols[c].set);
            else
                sb_put(&s, ", %s = COALESCE(EXCLUDED.%s, %s.%s)", tab->cols[c].name,
                       tab->cols[c].name, tab->name, tab->cols[c].name);
        }
        if (tab->where != NULL)
            sb_put(&s, " WHERE %s", tab->where);
    }
    return s.over ? 0 : s.len;
}
