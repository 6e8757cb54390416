/* record.h - the hl7flow record: what a parsed HL7 v2 message becomes on
 * hl7.validated and on every topic after it.
 *
 * A record holds typed fields for what analysts query (header, event,
 * patient, visit, orders, observations, notes, diagnoses, allergies,
 * insurance, next of kin, financial transactions, document, merge) plus a
 * lossless copy of every segment and the raw bytes. Its Avro schemas are
 * schemas/avro/<topic>.avsc; docs/topics.md lists every field with its HL7
 * source. This header gives:
 *   - the record as plain C structs (hf_rec and its parts), so a stage can
 *     read or fill any field before encoding;
 *   - hf_rec_build: parsed message (hl7.h) -> record, zero-copy where it can;
 *   - hf_rec_encode: record -> Avro binary (a direct encoder driven by the
 *     schema layout in record_desc.c, checked byte for byte against avro-c);
 *   - hf_rec_decode: Avro binary -> record, zero-copy;
 *   - the avro-c bridge (schema check, generic values) and the wire framing
 *     of DESIGN.md (magic 0 + 4-byte big-endian schema id + Avro binary).
 *
 * Conventions of the structs:
 *   - Text is an hf_span. For a nullable string ["null","string"] an empty
 *     span (len 0) is written as null: typed fields never hold "" (an HL7
 *     field that is present but empty is absent). Typed text is unescaped
 *     (\F\ -> |, \.br\ -> LF ...); segments[] keeps the wire form.
 *   - Every string is valid UTF-8 (see hf_rec_header.text_conversion).
 *   - A nullable nested record is a pointer (NULL = null); a nullable
 *     number is an hf_opt_* with .set.
 *   - Arrays are HF_REC_ARRAY(T) {T *v; size_t n;}.
 * Ownership: a built or decoded record and everything it points to belongs
 * to the hf_rec_ctx that made it (or to the message buffer / the Avro input
 * it borrows from) and stays valid until the next build/decode with that
 * context or its destruction. A caller that sets fields may point them at
 * its own memory (alive until encode) or allocate with hf_rec_alloc.
 * One context per thread; nothing here keeps global state.
 */
#ifndef HL7FLOW_RECORD_H
#define HL7FLOW_RECORD_H

#include <avro.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/hl7.h"
#include "hl7flow/status.h"

/* ------------------------------------------------------------ value types */

typedef struct hf_opt_i32 { int32_t v; bool set; } hf_opt_i32;
typedef struct hf_opt_i64 { int64_t v; bool set; } hf_opt_i64;
typedef struct hf_opt_f64 { double v; bool set; } hf_opt_f64;
typedef struct hf_opt_bool { bool v; bool set; } hf_opt_bool;

#define HF_REC_ARRAY(T) struct { T *v; size_t n; }

typedef struct hf_rec_kv { hf_span key, value; } hf_rec_kv; /* map entry */

/* ------------------------------------------------- shared HL7 data types */

typedef struct hf_rec_coded { /* CE/CWE/CNE components 1-6 */
    hf_span code, text, system, alt_code, alt_text, alt_system;
} hf_rec_coded;

typedef struct hf_rec_hd { /* HD.1-3 */
    hf_span namespace_id, universal_id, universal_id_type;
} hf_rec_hd;

typedef struct hf_rec_ei { /* EI.1-4 */
    hf_span id, namespace_id, universal_id, universal_id_type;
} hf_rec_ei;

typedef struct hf_rec_cx { /* CX */
    hf_span id;                       /* CX.1 */
    hf_span check_digit;              /* CX.2 */
    hf_rec_hd *assigning_authority;   /* CX.4 (subcomponents) */
    hf_span identifier_type;          /* CX.5 */
    hf_span assigning_facility;       /* CX.6.1 */
} hf_rec_cx;

typedef struct hf_rec_name { /* XPN: family = XPN.1.1, then XPN.2-7 */
    hf_span family, given, middle, suffix, prefix, degree, name_type;
} hf_rec_name;

typedef struct hf_rec_provider { /* XCN: 1, 2.1, 3-7, 9.1, 13 */
    hf_span id, family, given, middle, suffix, prefix, degree, assigning_authority,
        identifier_type;
} hf_rec_provider;

typedef struct hf_rec_addr { /* XAD: 1.1, 2-7, 9 */
    hf_span street, other_designation, city, state, zip, country, address_type, county;
} hf_rec_addr;

typedef struct hf_rec_tel { /* kind ("home"/"business") + XTN.1-8 */
    hf_span kind, number, use_code, equipment_type, email, country_code, area_code,
        local_number, extension;
} hf_rec_tel;

typedef struct hf_rec_loc { /* PL: 1-3, 4.1, 5-8 */
    hf_span point_of_care, room, bed, facility, location_status, location_type, building, floor;
} hf_rec_loc;

/* --------------------------------------------------------------- blocks */

typedef struct hf_rec_header { /* MSH */
    hf_rec_hd *sending_application, *sending_facility;     /* MSH-3, MSH-4 */
    hf_rec_hd *receiving_application, *receiving_facility; /* MSH-5, MSH-6 */
    hf_span message_datetime;                               /* MSH-7.1 */
    hf_opt_i64 message_ts;
    hf_span message_code, trigger_event, message_structure; /* MSH-9.1-3 */
    hf_span control_id;                                     /* MSH-10 */
    hf_span processing_id, version_id;                      /* MSH-11.1, MSH-12.1 */
    hf_span sequence_number;                                /* MSH-13 */
    hf_span accept_ack_type, application_ack_type;          /* MSH-15, MSH-16 */
    hf_span country_code, character_set;                    /* MSH-17, MSH-18[1] */
    hf_span text_conversion; /* "", "iso-8859-1" or "replacement" */
} hf_rec_header;

typedef struct hf_rec_event { /* EVN */
    hf_span event_type_code;
    hf_span recorded_datetime; hf_opt_i64 recorded_ts;
    hf_span planned_event_datetime; hf_opt_i64 planned_event_ts;
    hf_span event_reason_code, operator_id;
    hf_span event_occurred_datetime; hf_opt_i64 event_occurred_ts;
    hf_span event_facility;
} hf_rec_event;

typedef struct hf_rec_patient { /* PID */
    hf_span mrn, mrn_assigning_authority, mrn_identifier_type;
    HF_REC_ARRAY(hf_rec_cx) identifiers;
    HF_REC_ARRAY(hf_rec_name) names;
    hf_span mothers_maiden_name;
    hf_span birth_datetime;
    hf_opt_i32 birth_date; /* days since 1970-01-01 */
    hf_span sex;
    HF_REC_ARRAY(hf_rec_coded) races;
    HF_REC_ARRAY(hf_rec_addr) addresses;
    HF_REC_ARRAY(hf_rec_tel) phones;
    hf_rec_coded *primary_language, *marital_status, *religion;
    hf_rec_cx *account_number;
    hf_span ssn;
    HF_REC_ARRAY(hf_rec_coded) ethnic_groups;
    hf_span death_datetime; hf_opt_i64 death_ts;
    hf_span death_indicator;
} hf_rec_patient;

typedef struct hf_rec_visit { /* PV1 (+ PV2-3) */
    hf_span patient_class;
    hf_rec_loc *assigned_location;
    hf_span admission_type;
    hf_rec_loc *prior_location;
    HF_REC_ARRAY(hf_rec_provider) attending_doctors, referring_doctors, consulting_doctors;
    hf_span hospital_service, admit_source;
    HF_REC_ARRAY(hf_rec_provider) admitting_doctors;
    hf_span patient_type;
    hf_rec_cx *visit_number;
    hf_span financial_class, discharge_disposition, discharged_to_location, servicing_facility,
        account_status;
    hf_span admit_datetime; hf_opt_i64 admit_ts;
    hf_span discharge_datetime; hf_opt_i64 discharge_ts;
    hf_span alternate_visit_id, visit_indicator;
    hf_rec_coded *admit_reason;
} hf_rec_visit;

typedef struct hf_rec_order { /* ORC + OBR */
    hf_opt_i32 orc_occurrence, obr_occurrence;
    hf_span order_control;
    hf_rec_ei *placer_order_number, *filler_order_number, *placer_group_number;
    hf_span order_status, priority;
    hf_span transaction_datetime; hf_opt_i64 transaction_ts;
    hf_rec_provider *ordering_provider;
    hf_opt_i32 set_id;
    hf_rec_coded *universal_service_id;
    hf_span requested_datetime; hf_opt_i64 requested_ts;
    hf_span observation_datetime; hf_opt_i64 observation_ts;
    hf_span observation_end_datetime; hf_opt_i64 observation_end_ts;
    hf_span specimen_received_datetime; hf_opt_i64 specimen_received_ts;
    hf_rec_coded *specimen_source;
    hf_span results_status_datetime; hf_opt_i64 results_status_ts;
    hf_span diagnostic_service_section, result_status;
} hf_rec_order;

typedef struct hf_rec_obs { /* OBX */
    int32_t segment_occurrence;
    hf_opt_i32 obr_occurrence, set_id;
    hf_span value_type;
    hf_rec_coded *identifier;
    hf_span sub_id, value;
    hf_opt_f64 value_numeric;
    hf_rec_coded *value_coded, *units;
    hf_span reference_range;
    HF_REC_ARRAY(hf_span) abnormal_flags;
    hf_span result_status;
    hf_span observation_datetime; hf_opt_i64 observation_ts;
    hf_rec_coded *producer_id;
} hf_rec_obs;

typedef struct hf_rec_note { /* NTE */
    int32_t segment_occurrence;
    hf_span follows_segment;
    hf_opt_i32 follows_occurrence, set_id;
    hf_span source_of_comment, comment;
    hf_rec_coded *comment_type;
} hf_rec_note;

typedef struct hf_rec_dx { /* DG1 */
    int32_t segment_occurrence;
    hf_opt_i32 set_id;
    hf_span coding_method;
    hf_rec_coded *diagnosis;
    hf_span description;
    hf_span diagnosis_datetime; hf_opt_i64 diagnosis_ts;
    hf_span diagnosis_type, diagnosis_priority;
    hf_rec_provider *diagnosing_clinician;
} hf_rec_dx;

typedef struct hf_rec_allergy { /* AL1 */
    int32_t segment_occurrence;
    hf_opt_i32 set_id;
    hf_rec_coded *allergen_type, *allergen, *severity;
    HF_REC_ARRAY(hf_span) reactions;
    hf_span identification_date;
} hf_rec_allergy;

typedef struct hf_rec_insurance { /* IN1 */
    int32_t segment_occurrence;
    hf_opt_i32 set_id;
    hf_rec_coded *plan;
    hf_span company_id, company_name;
    hf_rec_addr *company_address;
    hf_span group_number, group_name, plan_effective_date, plan_expiration_date, plan_type;
    hf_rec_name *insured_name;
    hf_rec_coded *insured_relationship;
    hf_span insured_birth_datetime, policy_number;
} hf_rec_insurance;

typedef struct hf_rec_nok { /* NK1 */
    int32_t segment_occurrence;
    hf_opt_i32 set_id;
    HF_REC_ARRAY(hf_rec_name) names;
    hf_rec_coded *relationship;
    HF_REC_ARRAY(hf_rec_addr) addresses;
    HF_REC_ARRAY(hf_rec_tel) phones;
    hf_rec_coded *contact_role;
} hf_rec_nok;

typedef struct hf_rec_ft { /* FT1 */
    int32_t segment_occurrence;
    hf_opt_i32 set_id;
    hf_span transaction_id, batch_id;
    hf_span transaction_datetime; hf_opt_i64 transaction_ts;
    hf_span posting_datetime; hf_opt_i64 posting_ts;
    hf_span transaction_type;
    hf_rec_coded *transaction_code;
    hf_span description, quantity, extended_amount, extended_currency, unit_amount,
        unit_currency;
    hf_rec_coded *department;
    HF_REC_ARRAY(hf_rec_coded) diagnoses;
    hf_rec_provider *performed_by, *ordered_by;
    hf_rec_coded *procedure_code;
} hf_rec_ft;

typedef struct hf_rec_document { /* TXA + text */
    hf_opt_i32 set_id;
    hf_rec_coded *document_type;
    hf_span content_presentation;
    hf_span activity_datetime; hf_opt_i64 activity_ts;
    hf_rec_provider *primary_activity_provider;
    hf_span origination_datetime; hf_opt_i64 origination_ts;
    hf_span transcription_datetime; hf_opt_i64 transcription_ts;
    hf_rec_provider *originator;
    hf_rec_ei *unique_document_number, *parent_document_number;
    hf_span unique_document_file_name, completion_status, confidentiality_status,
        availability_status;
    hf_span text;
} hf_rec_document;

typedef struct hf_rec_merge { /* MRG */
    hf_span prior_mrn, prior_mrn_assigning_authority;
    HF_REC_ARRAY(hf_rec_cx) prior_identifiers;
    hf_rec_cx *prior_account_number, *prior_visit_number;
    HF_REC_ARRAY(hf_rec_name) prior_names;
} hf_rec_merge;

typedef struct hf_rec_segment { /* the lossless copy of one segment */
    hf_span id;
    int32_t occurrence;
    HF_REC_ARRAY(hf_span) fields; /* item i = SEG-(i+1), wire form; "" kept */
    hf_span wire; /* not in the schema: the bytes the fields were cut from,
                     set by hf_rec_build so the encoder can copy them in one
                     go (it checks the fields still match); else empty */
} hf_rec_segment;

/* Stage blocks: written only in the HF_REC_STAGED form. */
typedef struct hf_rec_facility {
    hf_span facility_id, name, organization, npi, time_zone, region;
    HF_REC_ARRAY(hf_span) source_systems;
    HF_REC_ARRAY(hf_rec_kv) attributes;
} hf_rec_facility;

typedef struct hf_rec_code_mapping { /* a local code and its standard code */
    hf_span field, kind, source_system, source_code, system, code, display;
} hf_rec_code_mapping;

typedef struct hf_rec_enrichment {
    hf_opt_bool facility_known;
    hf_span time_zone, patient_sex;
    hf_opt_i64 enriched_ts;
    hf_span patient_family_name, patient_given_name, patient_middle_name;
    HF_REC_ARRAY(hf_rec_code_mapping) codes;
} hf_rec_enrichment;

typedef struct hf_rec_linkage {
    hf_span link_status;
    hf_opt_f64 match_score;
    hf_span encounter_visit_number, encounter_state, order_placer_number;
    HF_REC_ARRAY(hf_span) anomalies;
    hf_opt_i64 linked_ts;
} hf_rec_linkage;

/* Most top-level fields a record has (checked in record_desc.c). */
#define HF_REC_TOP_MAX 32

/* Where the top-level fields of a decoded record lie in the Avro it was
 * decoded from, and which of them hf_rec_encode may copy from there byte
 * for byte instead of encoding them again. hf_rec_decode sets avro, n and
 * off and clears keep; hf_rec_build clears it all. Setting a keep bit
 * (hf_rec_keep) is the caller's promise that the field, and everything it
 * points to, is unchanged since the decode: a stage that passes the
 * lossless copy on untouched saves most of its encoding time that way. */
typedef struct hf_rec_source {
    const char *avro;                /* NULL: not decoded */
    uint32_t n;                      /* top-level fields decoded */
    uint32_t off[HF_REC_TOP_MAX + 1];/* field i = avro[off[i], off[i+1]) */
    uint64_t keep;                   /* bit i: copy field i verbatim */
} hf_rec_source;

/* The record; field order = schema order. */
typedef struct hf_rec {
    hf_span source_system, facility_id; /* required strings ("" allowed) */
    int64_t ingest_ts;                  /* microseconds since the epoch, UTC */
    hf_rec_header header;
    hf_rec_event *event;
    hf_rec_patient *patient;
    hf_rec_visit *visit;
    HF_REC_ARRAY(hf_rec_order) orders;
    HF_REC_ARRAY(hf_rec_obs) observations;
    HF_REC_ARRAY(hf_rec_note) notes;
    HF_REC_ARRAY(hf_rec_dx) diagnoses;
    HF_REC_ARRAY(hf_rec_allergy) allergies;
    HF_REC_ARRAY(hf_rec_insurance) insurance;
    HF_REC_ARRAY(hf_rec_nok) next_of_kin;
    HF_REC_ARRAY(hf_rec_ft) financial_transactions;
    hf_rec_document *document;
    hf_rec_merge *merge;
    HF_REC_ARRAY(hf_rec_segment) segments;
    hf_span raw; /* bytes; null (len 0) when segments[] rebuild the message:
                    read the message with hf_rec_message_bytes */
    HF_REC_ARRAY(hf_span) parse_quirks;
    /* ---- HF_REC_STAGED only ---- */
    hf_rec_facility *facility;     /* enricher */
    hf_rec_enrichment *enrichment; /* enricher */
    hf_span mrn_hash;              /* router */
    hf_span empi_id;               /* mpi-linker */
    hf_rec_linkage *linkage;       /* mpi-linker */
    /* ---- not in the schema ---- */
    hf_rec_source source;          /* set by hf_rec_decode */
} hf_rec;

/* Which schema shape to write or read: HF_REC_VALIDATED is hl7.validated
 * (the canonical fields); HF_REC_STAGED is hl7.enriched, hl7.parsed.* and
 * hl7.linked (the canonical fields, same bytes, then the stage fields), so
 * an HF_REC_STAGED encoding starts with the HF_REC_VALIDATED one. */
typedef enum hf_rec_form { HF_REC_VALIDATED = 0, HF_REC_STAGED = 1 } hf_rec_form;

/* ------------------------------------------------------------ building */

typedef struct hf_rec_ctx hf_rec_ctx; /* arena + scratch, reused per message */

/* A new context (owned: hf_rec_ctx_destroy), or NULL when out of memory. */
hf_rec_ctx *hf_rec_ctx_new(void);
/* Frees @p ctx and every record it made; NULL is fine. */
void hf_rec_ctx_destroy(hf_rec_ctx *ctx);

/* What the caller knows about the message (from the record headers). */
typedef struct hf_rec_meta {
    hf_span source_system; /* empty: MSH-3.1 */
    hf_span facility_id;   /* empty: MSH-4.1 */
    int64_t ingest_ts;     /* microseconds since the epoch */
} hf_rec_meta;

/* Builds the record of @p msg (parsed with hl7.h; its buffer must outlive
 * the record). Any previous record of @p ctx is released first. @p meta
 * may be NULL (MSH-3.1/MSH-4.1 and ingest_ts 0); its spans are copied
 * only when they are not valid UTF-8, so they must outlive the record.
 * @param out  OUT: the record, owned by @p ctx (see Ownership above).
 * @returns HF_OK; HF_ENOMEM; HF_ELIMIT (a value beyond Avro's int/long
 *          ranges, never seen with the parser's limits). Never fails on
 *          content: absent or odd HL7 values become nulls. */
hf_status hf_rec_build(hf_rec_ctx *ctx, const hf_hl7_msg *msg, const hf_rec_meta *meta,
                       hf_rec **out, hf_err *err);

/* Zeroed memory from @p ctx's arena, valid as long as the current record;
 * NULL when out of memory. For callers that add blocks (facility...). */
void *hf_rec_alloc(hf_rec_ctx *ctx, size_t size);
/* A copy of @p len bytes at @p s in @p ctx's arena; {"",0} when out of
 * memory or len 0. */
hf_span hf_rec_strdup(hf_rec_ctx *ctx, const char *s, size_t len);

/* ------------------------------------------------------------ encoding */

/* A growable output buffer (owned: hf_rec_buf_free). Start from {0}. */
typedef struct hf_rec_buf {
    char *p;
    size_t len, cap;
} hf_rec_buf;

void hf_rec_buf_free(hf_rec_buf *b);

/* Appends the Avro binary encoding of @p rec in shape @p form to @p out
 * (so a wire header written first stays in front). Nothing is validated
 * beyond what the encoding needs: a caller-set string must be UTF-8.
 * @returns HF_OK or HF_ENOMEM (out keeps what it had before the call). */
hf_status hf_rec_encode(const hf_rec *rec, hf_rec_form form, hf_rec_buf *out);

/* Decodes Avro binary written in shape @p form by this layout (the schema
 * this build knows; check the writer's schema id first) into a record
 * owned by @p ctx whose strings point into @p data (which must outlive
 * it). Trailing bytes are an error.
 * @returns HF_OK; HF_ESYNTAX with the byte offset in @p err; HF_ENOMEM. */
hf_status hf_rec_decode(hf_rec_ctx *ctx, const void *data, size_t len, hf_rec_form form,
                        hf_rec **out, hf_err *err);

/* Index of top-level field @p name ("segments") in schema order, or -1. */
int hf_rec_field_index(const char *name);

/* Marks top-level field @p index of a decoded record as unchanged since
 * the decode, so hf_rec_encode copies its Avro bytes (see hf_rec_source).
 * No effect on a record that was not decoded or on an index it lacks. */
static inline void hf_rec_keep(hf_rec *rec, int index) {
    if (rec->source.avro != NULL && index >= 0 && (uint32_t)index < rec->source.n)
        rec->source.keep |= (uint64_t)1 << index;
}

/* hf_rec_decode for a stage that reads a few top-level fields: those whose
 * bit is set in @p fields (bit i = field i, hf_rec_field_index) are
 * decoded; the others are only walked (checked, not stored: they stay
 * zero in the struct) and marked kept, so hf_rec_encode copies them as
 * read. The input is checked as thoroughly as by hf_rec_decode. Same
 * errors, plus HF_ELIMIT for an input over 4 GiB with skipped fields. */
hf_status hf_rec_decode_some(hf_rec_ctx *ctx, const void *data, size_t len, hf_rec_form form,
                             uint64_t fields, hf_rec **out, hf_err *err);

/* Reading records written with another version of a schema (a rolling
 * upgrade: an older writer, or a newer one this build does not know yet).
 * A plan maps the writer schema onto this build's layout by field name, as
 * Avro schema resolution does: writer fields this build lacks are skipped,
 * fields the writer lacks keep their defaults (null, [], {}). Owned:
 * hf_rec_plan_free. HF_ECONFIG (with the field) when a type differs or a
 * field without default is missing: such versions are not FULL-compatible. */
typedef struct hf_rec_plan hf_rec_plan;
hf_status hf_rec_plan_new(avro_schema_t writer, hf_rec_form form, hf_rec_plan **out, hf_err *err);
void hf_rec_plan_free(hf_rec_plan *plan);

/* hf_rec_decode for Avro written with the plan's writer schema. The record
 * (this build's layout) borrows strings from @p data; its source is empty,
 * so re-encoding encodes every field. Same errors as hf_rec_decode. */
hf_status hf_rec_decode_resolved(hf_rec_ctx *ctx, const void *data, size_t len,
                                 const hf_rec_plan *plan, hf_rec **out, hf_err *err);

/* Calls @p fn for every HL7 date/time of @p rec in shape @p form: the
 * value as sent (`<name>_datetime`, empty when absent) and a pointer to its
 * instant (`<name>_ts`), which fn may set - e.g. the enricher reading the
 * text with hf_rec_dtm_parse and the facility's UTC offset - and @p top,
 * the top-level field the time lives under (hf_rec_field_index
 * numbering), so a caller that sets times knows which fields it changed.
 * The header's message time comes first, then the blocks in schema order. */
typedef void (*hf_rec_time_fn)(int top, hf_span text, hf_opt_i64 *ts, void *arg);
void hf_rec_each_time(hf_rec *rec, hf_rec_form form, hf_rec_time_fn fn, void *arg);

/* Appends the HL7 message of @p rec, byte for byte as the parser read it
 * (from MSH to the end of the last segment, without the final terminator):
 * `raw` when set, else the segments joined by CR - the parser leaves raw
 * null exactly when that join is the message (CR terminators, no blank
 * lines, nothing transcoded). HF_OK, HF_ENOMEM, or HF_ESYNTAX for a record
 * with neither raw nor segments. */
hf_status hf_rec_message_bytes(const hf_rec *rec, hf_rec_buf *out);

/* Deep comparison of two records in shape @p form (spans by content). */
bool hf_rec_equal(const hf_rec *a, const hf_rec *b, hf_rec_form form);

/* Appends @p rec in shape @p form as one JSON object to @p out: every
 * schema field in order, null for null, unions unwrapped, timestamps as
 * RFC 3339 UTC strings, dates as YYYY-MM-DD, raw as a string of code points
 * U+0000-U+00FF (one per byte, as in Avro's JSON encoding). @p pretty
 * indents by two spaces. HF_OK or HF_ENOMEM. For `hl7flow parse --json`. */
hf_status hf_rec_to_json(const hf_rec *rec, hf_rec_form form, bool pretty, hf_rec_buf *out);

/* --------------------------------------------------------- avro-c bridge */

/* Checks that @p schema (e.g. the registered schema of a topic) has
 * exactly the layout hf_rec_encode writes for @p form: same fields in the
 * same order with the same names and Avro types. A service should call it
 * on the schema it found in the registry before producing with its id.
 * @returns HF_OK or HF_ECONFIG with the first difference in @p err. */
hf_status hf_rec_schema_check(avro_schema_t schema, hf_rec_form form, hf_err *err);

/* Fills @p value (a generic value of a schema that passed
 * hf_rec_schema_check; reset first) from @p rec. The reference path the
 * tests and the benchmark compare the direct encoder with.
 * @returns HF_OK, HF_ENOMEM, or HF_ECONFIG when the value's schema differs. */
hf_status hf_rec_to_avro(const hf_rec *rec, hf_rec_form form, avro_value_t *value, hf_err *err);

/* ------------------------------------------------------------ wire framing */

/* DESIGN.md framing: magic byte 0, 4-byte big-endian schema id, Avro
 * binary (Confluent's layout; Apicurio 3.x default with content ids). The
 * only framing hl7flow writes. */
#define HF_WIRE_HEADER_LEN 5
/* Record header Apicurio 2.x serdes use in their default header mode. */
#define HF_WIRE_APICURIO_GLOBAL_ID "apicurio.value.globalId"

/* Appends the 5-byte header for @p schema_id to @p out; HF_OK or HF_ENOMEM. */
hf_status hf_wire_put_header(hf_rec_buf *out, uint32_t schema_id);

/* Appends a whole frame (header + @p len bytes of Avro) to @p out. */
hf_status hf_wire_frame(hf_rec_buf *out, uint32_t schema_id, const void *avro, size_t len);

typedef enum hf_wire_kind {
    HF_WIRE_SCHEMA_ID = 0,        /* magic 0 + 4-byte id: a registry (ccompat) id */
    HF_WIRE_APICURIO_GLOBAL = 1   /* Apicurio 2.x header mode: id is a globalId */
} hf_wire_kind;

typedef struct hf_wire_view {
    hf_wire_kind kind;
    int64_t id;    /* schema id (0..2^32-1) or Apicurio globalId */
    hf_span avro;  /* the Avro binary, borrowed from the value */
} hf_wire_view;

/* Reads a record value. When @p global_id_hdr is not NULL (the value of
 * the record's apicurio.value.globalId header, which the caller chose to
 * honour) the value is raw Avro and the id is that header, an 8-byte
 * big-endian long; otherwise the value must start with magic byte 0 and a
 * 4-byte id. Input only: hl7flow never writes the header mode.
 * @returns HF_OK or HF_ESYNTAX (too short, wrong magic, header not 8
 *          bytes, negative globalId) with the reason in @p err. */
hf_status hf_wire_parse(const void *value, size_t len, const void *global_id_hdr,
                        size_t hdr_len, hf_wire_view *out, hf_err *err);

/* ------------------------------------------------------------ HL7 times */

/* An HL7 DTM/TS value: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]. */
typedef struct hf_rec_dtm {
    int year, month, day, hour, minute, second, micro; /* missing parts: 1 or 0 */
    int digits;       /* 4, 6, 8, 10, 12 or 14: the precision given */
    bool has_offset;
    int offset_min;   /* east of UTC, e.g. -300 for -0500 */
} hf_rec_dtm;

/* Parses @p s (component 1 of a TS/DTM field, raw). Accepts years
 * 1000-9998 (so every instant stays inside what stock Avro readers turn
 * into dates), real calendar dates, hours 0-23, minutes and seconds 0-59,
 * 1-4 fraction digits after the seconds, offsets -1200..+1400. Returns
 * false on anything else (the value then stays text only). */
bool hf_rec_dtm_parse(hf_span s, hf_rec_dtm *out);

/* Microseconds since the epoch of @p t read with UTC offset @p offset_min
 * (pass t->offset_min when t->has_offset). */
int64_t hf_rec_dtm_to_us(const hf_rec_dtm *t, int offset_min);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int32_t hf_rec_days_from_civil(int year, int month, int day);

#endif
