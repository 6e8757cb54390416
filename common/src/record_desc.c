/* record_desc.c - the Avro layout of the record, as tables.
 *
 * One table per Avro record type lists its fields in schema order with the
 * kind (Avro type) and where the value lives in the C struct of record.h.
 * The encoder, decoder, avro-c bridge, comparison and schema check walk
 * these tables; tests/unit/test_record_schema.c checks them field by field
 * against the schemas/avro files. Changing a schema means changing the struct
 * and the table here together (docs/topics.md, Evolution).
 */
#include <stddef.h>

#include "record_internal.h"

#define FLD(T, k, f, sub) {#f, HF_RK_##k, (uint32_t)offsetof(T, f), sub}
#define DESC(var, T, name, tab) \
    static const hf_rdesc var = {name, sizeof(T), tab, sizeof(tab) / sizeof(tab[0]), false}
/* A record of nullable strings only, laid out as an hf_span array. */
#define DESC_SPANS(var, T, name, tab) \
    static const hf_rdesc var = {name, sizeof(T), tab, sizeof(tab) / sizeof(tab[0]), true}

/* ------------------------------------------------------------ shared types */

#define T hf_rec_coded
static const hf_rfield coded_f[] = {
    FLD(T, OSTR, code, NULL),     FLD(T, OSTR, text, NULL),     FLD(T, OSTR, system, NULL),
    FLD(T, OSTR, alt_code, NULL), FLD(T, OSTR, alt_text, NULL), FLD(T, OSTR, alt_system, NULL),
};
DESC_SPANS(d_coded, T, "Coded", coded_f);
#undef T

#define T hf_rec_hd
static const hf_rfield hd_f[] = {
    FLD(T, OSTR, namespace_id, NULL),
    FLD(T, OSTR, universal_id, NULL),
    FLD(T, OSTR, universal_id_type, NULL),
};
DESC_SPANS(d_hd, T, "HierarchicDesignator", hd_f);
#undef T

#define T hf_rec_ei
static const hf_rfield ei_f[] = {
    FLD(T, OSTR, id, NULL),
    FLD(T, OSTR, namespace_id, NULL),
    FLD(T, OSTR, universal_id, NULL),
    FLD(T, OSTR, universal_id_type, NULL),
};
DESC_SPANS(d_ei, T, "EntityIdentifier", ei_f);
#undef T

#define T hf_rec_cx
static const hf_rfield cx_f[] = {
    FLD(T, OSTR, id, NULL),
    FLD(T, OSTR, check_digit, NULL),
    FLD(T, OREC, assigning_authority, &d_hd),
    FLD(T, OSTR, identifier_type, NULL),
    FLD(T, OSTR, assigning_facility, NULL),
};
DESC(d_cx, T, "Identifier", cx_f);
#undef T

#define T hf_rec_name
static const hf_rfield name_f[] = {
    FLD(T, OSTR, family, NULL), FLD(T, OSTR, given, NULL),  FLD(T, OSTR, middle, NULL),
    FLD(T, OSTR, suffix, NULL), FLD(T, OSTR, prefix, NULL), FLD(T, OSTR, degree, NULL),
    FLD(T, OSTR, name_type, NULL),
};
DESC_SPANS(d_name, T, "PersonName", name_f);
#undef T

#define T hf_rec_provider
static const hf_rfield provider_f[] = {
    FLD(T, OSTR, id, NULL),
    FLD(T, OSTR, family, NULL),
    FLD(T, OSTR, given, NULL),
    FLD(T, OSTR, middle, NULL),
    FLD(T, OSTR, suffix, NULL),
    FLD(T, OSTR, prefix, NULL),
    FLD(T, OSTR, degree, NULL),
    FLD(T, OSTR, assigning_authority, NULL),
    FLD(T, OSTR, identifier_type, NULL),
};
DESC_SPANS(d_provider, T, "Provider", provider_f);
#undef T

#define T hf_rec_addr
static const hf_rfield addr_f[] = {
    FLD(T, OSTR, street, NULL),  FLD(T, OSTR, other_designation, NULL),
    FLD(T, OSTR, city, NULL),    FLD(T, OSTR, state, NULL),
    FLD(T, OSTR, zip, NULL),     FLD(T, OSTR, country, NULL),
    FLD(T, OSTR, address_type, NULL), FLD(T, OSTR, county, NULL),
};
DESC_SPANS(d_addr, T, "Address", addr_f);
#undef T

#define T hf_rec_tel
static const hf_rfield tel_f[] = {
    FLD(T, OSTR, kind, NULL),         FLD(T, OSTR, number, NULL),
    FLD(T, OSTR, use_code, NULL),     FLD(T, OSTR, equipment_type, NULL),
    FLD(T, OSTR, email, NULL),        FLD(T, OSTR, country_code, NULL),
    FLD(T, OSTR, area_code, NULL),    FLD(T, OSTR, local_number, NULL),
    FLD(T, OSTR, extension, NULL),
};
DESC_SPANS(d_tel, T, "Telecom", tel_f);
#undef T

#define T hf_rec_loc
static const hf_rfield loc_f[] = {
    FLD(T, OSTR, point_of_care, NULL),   FLD(T, OSTR, room, NULL),
    FLD(T, OSTR, bed, NULL),             FLD(T, OSTR, facility, NULL),
    FLD(T, OSTR, location_status, NULL), FLD(T, OSTR, location_type, NULL),
    FLD(T, OSTR, building, NULL),        FLD(T, OSTR, floor, NULL),
};
DESC_SPANS(d_loc, T, "Location", loc_f);
#undef T

/* ------------------------------------------------------------------ blocks */

#define T hf_rec_header
static const hf_rfield header_f[] = {
    FLD(T, OREC, sending_application, &d_hd),
    FLD(T, OREC, sending_facility, &d_hd),
    FLD(T, OREC, receiving_application, &d_hd),
    FLD(T, OREC, receiving_facility, &d_hd),
    FLD(T, OSTR, message_datetime, NULL),
    FLD(T, OTS, message_ts, NULL),
    FLD(T, OSTR, message_code, NULL),
    FLD(T, OSTR, trigger_event, NULL),
    FLD(T, OSTR, message_structure, NULL),
    FLD(T, OSTR, control_id, NULL),
    FLD(T, OSTR, processing_id, NULL),
    FLD(T, OSTR, version_id, NULL),
    FLD(T, OSTR, sequence_number, NULL),
    FLD(T, OSTR, accept_ack_type, NULL),
    FLD(T, OSTR, application_ack_type, NULL),
    FLD(T, OSTR, country_code, NULL),
    FLD(T, OSTR, character_set, NULL),
    FLD(T, OSTR, text_conversion, NULL),
};
DESC(d_header, T, "MessageHeader", header_f);
#undef T

#define T hf_rec_event
static const hf_rfield event_f[] = {
    FLD(T, OSTR, event_type_code, NULL),
    FLD(T, OSTR, recorded_datetime, NULL),
    FLD(T, OTS, recorded_ts, NULL),
    FLD(T, OSTR, planned_event_datetime, NULL),
    FLD(T, OTS, planned_event_ts, NULL),
    FLD(T, OSTR, event_reason_code, NULL),
    FLD(T, OSTR, operator_id, NULL),
    FLD(T, OSTR, event_occurred_datetime, NULL),
    FLD(T, OTS, event_occurred_ts, NULL),
    FLD(T, OSTR, event_facility, NULL),
};
DESC(d_event, T, "Event", event_f);
#undef T

#define T hf_rec_patient
static const hf_rfield patient_f[] = {
    FLD(T, OSTR, mrn, NULL),
    FLD(T, OSTR, mrn_assigning_authority, NULL),
    FLD(T, OSTR, mrn_identifier_type, NULL),
    FLD(T, ARR, identifiers, &d_cx),
    FLD(T, ARR, names, &d_name),
    FLD(T, OSTR, mothers_maiden_name, NULL),
    FLD(T, OSTR, birth_datetime, NULL),
    FLD(T, ODATE, birth_date, NULL),
    FLD(T, OSTR, sex, NULL),
    FLD(T, ARR, races, &d_coded),
    FLD(T, ARR, addresses, &d_addr),
    FLD(T, ARR, phones, &d_tel),
    FLD(T, OREC, primary_language, &d_coded),
    FLD(T, OREC, marital_status, &d_coded),
    FLD(T, OREC, religion, &d_coded),
    FLD(T, OREC, account_number, &d_cx),
    FLD(T, OSTR, ssn, NULL),
    FLD(T, ARR, ethnic_groups, &d_coded),
    FLD(T, OSTR, death_datetime, NULL),
    FLD(T, OTS, death_ts, NULL),
    FLD(T, OSTR, death_indicator, NULL),
};
DESC(d_patient, T, "Patient", patient_f);
#undef T

#define T hf_rec_visit
static const hf_rfield visit_f[] = {
    FLD(T, OSTR, patient_class, NULL),
    FLD(T, OREC, assigned_location, &d_loc),
    FLD(T, OSTR, admission_type, NULL),
    FLD(T, OREC, prior_location, &d_loc),
    FLD(T, ARR, attending_doctors, &d_provider),
    FLD(T, ARR, referring_doctors, &d_provider),
    FLD(T, ARR, consulting_doctors, &d_provider),
    FLD(T, OSTR, hospital_service, NULL),
    FLD(T, OSTR, admit_source, NULL),
    FLD(T, ARR, admitting_doctors, &d_provider),
    FLD(T, OSTR, patient_type, NULL),
    FLD(T, OREC, visit_number, &d_cx),
    FLD(T, OSTR, financial_class, NULL),
    FLD(T, OSTR, discharge_disposition, NULL),
    FLD(T, OSTR, discharged_to_location, NULL),
    FLD(T, OSTR, servicing_facility, NULL),
    FLD(T, OSTR, account_status, NULL),
    FLD(T, OSTR, admit_datetime, NULL),
    FLD(T, OTS, admit_ts, NULL),
    FLD(T, OSTR, discharge_datetime, NULL),
    FLD(T, OTS, discharge_ts, NULL),
    FLD(T, OSTR, alternate_visit_id, NULL),
    FLD(T, OSTR, visit_indicator, NULL),
    FLD(T, OREC, admit_reason, &d_coded),
};
DESC(d_visit, T, "Visit", visit_f);
#undef T

#define T hf_rec_order
static const hf_rfield order_f[] = {
    FLD(T, OINT, orc_occurrence, NULL),
    FLD(T, OINT, obr_occurrence, NULL),
    FLD(T, OSTR, order_control, NULL),
    FLD(T, OREC, placer_order_number, &d_ei),
    FLD(T, OREC, filler_order_number, &d_ei),
    FLD(T, OREC, placer_group_number, &d_ei),
    FLD(T, OSTR, order_status, NULL),
    FLD(T, OSTR, priority, NULL),
    FLD(T, OSTR, transaction_datetime, NULL),
    FLD(T, OTS, transaction_ts, NULL),
    FLD(T, OREC, ordering_provider, &d_provider),
    FLD(T, OINT, set_id, NULL),
    FLD(T, OREC, universal_service_id, &d_coded),
    FLD(T, OSTR, requested_datetime, NULL),
    FLD(T, OTS, requested_ts, NULL),
    FLD(T, OSTR, observation_datetime, NULL),
    FLD(T, OTS, observation_ts, NULL),
    FLD(T, OSTR, observation_end_datetime, NULL),
    FLD(T, OTS, observation_end_ts, NULL),
    FLD(T, OSTR, specimen_received_datetime, NULL),
    FLD(T, OTS, specimen_received_ts, NULL),
    FLD(T, OREC, specimen_source, &d_coded),
    FLD(T, OSTR, results_status_datetime, NULL),
    FLD(T, OTS, results_status_ts, NULL),
    FLD(T, OSTR, diagnostic_service_section, NULL),
    FLD(T, OSTR, result_status, NULL),
};
DESC(d_order, T, "Order", order_f);
#undef T

#define T hf_rec_obs
static const hf_rfield obs_f[] = {
    FLD(T, INT, segment_occurrence, NULL),
    FLD(T, OINT, obr_occurrence, NULL),
    FLD(T, OINT, set_id, NULL),
    FLD(T, OSTR, value_type, NULL),
    FLD(T, OREC, identifier, &d_coded),
    FLD(T, OSTR, sub_id, NULL),
    FLD(T, OSTR, value, NULL),
    FLD(T, ODBL, value_numeric, NULL),
    FLD(T, OREC, value_coded, &d_coded),
    FLD(T, OREC, units, &d_coded),
    FLD(T, OSTR, reference_range, NULL),
    FLD(T, ARR_STR, abnormal_flags, NULL),
    FLD(T, OSTR, result_status, NULL),
    FLD(T, OSTR, observation_datetime, NULL),
    FLD(T, OTS, observation_ts, NULL),
    FLD(T, OREC, producer_id, &d_coded),
};
DESC(d_obs, T, "Observation", obs_f);
#undef T

#define T hf_rec_note
static const hf_rfield note_f[] = {
    FLD(T, INT, segment_occurrence, NULL),
    FLD(T, OSTR, follows_segment, NULL),
    FLD(T, OINT, follows_occurrence, NULL),
    FLD(T, OINT, set_id, NULL),
    FLD(T, OSTR, source_of_comment, NULL),
    FLD(T, OSTR, comment, NULL),
    FLD(T, OREC, comment_type, &d_coded),
};
DESC(d_note, T, "Note", note_f);
#undef T

#define T hf_rec_dx
static const hf_rfield dx_f[] = {
    FLD(T, INT, segment_occurrence, NULL),
    FLD(T, OINT, set_id, NULL),
    FLD(T, OSTR, coding_method, NULL),
    FLD(T, OREC, diagnosis, &d_coded),
    FLD(T, OSTR, description, NULL),
    FLD(T, OSTR, diagnosis_datetime, NULL),
    FLD(T, OTS, diagnosis_ts, NULL),
    FLD(T, OSTR, diagnosis_type, NULL),
    FLD(T, OSTR, diagnosis_priority, NULL),
    FLD(T, OREC, diagnosing_clinician, &d_provider),
};
DESC(d_dx, T, "Diagnosis", dx_f);
#undef T

#define T hf_rec_allergy
static const hf_rfield allergy_f[] = {
    FLD(T, INT, segment_occurrence, NULL),
    FLD(T, OINT, set_id, NULL),
    FLD(T, OREC, allergen_type, &d_coded),
    FLD(T, OREC, allergen, &d_coded),
    FLD(T, OREC, severity, &d_coded),
    FLD(T, ARR_STR, reactions, NULL),
    FLD(T, OSTR, identification_date, NULL),
};
DESC(d_allergy, T, "Allergy", allergy_f);
#undef T

#define T hf_rec_insurance
static const hf_rfield insurance_f[] = {
    FLD(T, INT, segment_occurrence, NULL),
    FLD(T, OINT, set_id, NULL),
    FLD(T, OREC, plan, &d_coded),
    FLD(T, OSTR, company_id, NULL),
    FLD(T, OSTR, company_name, NULL),
    FLD(T, OREC, company_address, &d_addr),
    FLD(T, OSTR, group_number, NULL),
    FLD(T, OSTR, group_name, NULL),
    FLD(T, OSTR, plan_effective_date, NULL),
    FLD(T, OSTR, plan_expiration_date, NULL),
    FLD(T, OSTR, plan_type, NULL),
    FLD(T, OREC, insured_name, &d_name),
    FLD(T, OREC, insured_relationship, &d_coded),
    FLD(T, OSTR, insured_birth_datetime, NULL),
    FLD(T, OSTR, policy_number, NULL),
};
DESC(d_insurance, T, "Insurance", insurance_f);
#undef T

#define T hf_rec_nok
static const hf_rfield nok_f[] = {
    FLD(T, INT, segment_occurrence, NULL),
    FLD(T, OINT, set_id, NULL),
    FLD(T, ARR, names, &d_name),
    FLD(T, OREC, relationship, &d_coded),
    FLD(T, ARR, addresses, &d_addr),
    FLD(T, ARR, phones, &d_tel),
    FLD(T, OREC, contact_role, &d_coded),
};
DESC(d_nok, T, "NextOfKin", nok_f);
#undef T

#define T hf_rec_ft
static const hf_rfield ft_f[] = {
    FLD(T, INT, segment_occurrence, NULL),
    FLD(T, OINT, set_id, NULL),
    FLD(T, OSTR, transaction_id, NULL),
    FLD(T, OSTR, batch_id, NULL),
    FLD(T, OSTR, transaction_datetime, NULL),
    FLD(T, OTS, transaction_ts, NULL),
    FLD(T, OSTR, posting_datetime, NULL),
    FLD(T, OTS, posting_ts, NULL),
    FLD(T, OSTR, transaction_type, NULL),
    FLD(T, OREC, transaction_code, &d_coded),
    FLD(T, OSTR, description, NULL),
    FLD(T, OSTR, quantity, NULL),
    FLD(T, OSTR, extended_amount, NULL),
    FLD(T, OSTR, extended_currency, NULL),
    FLD(T, OSTR, unit_amount, NULL),
    FLD(T, OSTR, unit_currency, NULL),
    FLD(T, OREC, department, &d_coded),
    FLD(T, ARR, diagnoses, &d_coded),
    FLD(T, OREC, performed_by, &d_provider),
    FLD(T, OREC, ordered_by, &d_provider),
    FLD(T, OREC, procedure_code, &d_coded),
};
DESC(d_ft, T, "FinancialTransaction", ft_f);
#undef T

#define T hf_rec_document
static const hf_rfield document_f[] = {
    FLD(T, OINT, set_id, NULL),
    FLD(T, OREC, document_type, &d_coded),
    FLD(T, OSTR, content_presentation, NULL),
    FLD(T, OSTR, activity_datetime, NULL),
    FLD(T, OTS, activity_ts, NULL),
    FLD(T, OREC, primary_activity_provider, &d_provider),
    FLD(T, OSTR, origination_datetime, NULL),
    FLD(T, OTS, origination_ts, NULL),
    FLD(T, OSTR, transcription_datetime, NULL),
    FLD(T, OTS, transcription_ts, NULL),
    FLD(T, OREC, originator, &d_provider),
    FLD(T, OREC, unique_document_number, &d_ei),
    FLD(T, OREC, parent_document_number, &d_ei),
    FLD(T, OSTR, unique_document_file_name, NULL),
    FLD(T, OSTR, completion_status, NULL),
    FLD(T, OSTR, confidentiality_status, NULL),
    FLD(T, OSTR, availability_status, NULL),
    FLD(T, OSTR, text, NULL),
};
DESC(d_document, T, "Document", document_f);
#undef T

#define T hf_rec_merge
static const hf_rfield merge_f[] = {
    FLD(T, OSTR, prior_mrn, NULL),
    FLD(T, OSTR, prior_mrn_assigning_authority, NULL),
    FLD(T, ARR, prior_identifiers, &d_cx),
    FLD(T, OREC, prior_account_number, &d_cx),
    FLD(T, OREC, prior_visit_number, &d_cx),
    FLD(T, ARR, prior_names, &d_name),
};
DESC(d_merge, T, "Merge", merge_f);
#undef T

#define T hf_rec_segment
static const hf_rfield segment_f[] = {
    FLD(T, STR, id, NULL),
    FLD(T, INT, occurrence, NULL),
    FLD(T, ARR_STR, fields, NULL),
};
const hf_rdesc hf_rdesc_segment = {"Segment", sizeof(T), segment_f,
                                   sizeof(segment_f) / sizeof(segment_f[0]), false};
#undef T

#define T hf_rec_facility
static const hf_rfield facility_f[] = {
    FLD(T, OSTR, facility_id, NULL),   FLD(T, OSTR, name, NULL),
    FLD(T, OSTR, organization, NULL),  FLD(T, OSTR, npi, NULL),
    FLD(T, OSTR, time_zone, NULL),     FLD(T, OSTR, region, NULL),
    FLD(T, ARR_STR, source_systems, NULL),
    FLD(T, MAP_STR, attributes, NULL),
};
DESC(d_facility, T, "Facility", facility_f);
#undef T

#define T hf_rec_code_mapping
static const hf_rfield code_mapping_f[] = {
    FLD(T, OSTR, field, NULL),         FLD(T, OSTR, kind, NULL),
    FLD(T, OSTR, source_system, NULL), FLD(T, OSTR, source_code, NULL),
    FLD(T, OSTR, system, NULL),        FLD(T, OSTR, code, NULL),
    FLD(T, OSTR, display, NULL),
};
DESC_SPANS(d_code_mapping, T, "CodeMapping", code_mapping_f);
#undef T

#define T hf_rec_enrichment
static const hf_rfield enrichment_f[] = {
    FLD(T, OBOOL, facility_known, NULL),
    FLD(T, OSTR, time_zone, NULL),
    FLD(T, OSTR, patient_sex, NULL),
    FLD(T, OTS, enriched_ts, NULL),
    FLD(T, OSTR, patient_family_name, NULL),
    FLD(T, OSTR, patient_given_name, NULL),
    FLD(T, OSTR, patient_middle_name, NULL),
    FLD(T, ARR, codes, &d_code_mapping),
};
DESC(d_enrichment, T, "Enrichment", enrichment_f);
#undef T

#define T hf_rec_linkage
static const hf_rfield linkage_f[] = {
    FLD(T, OSTR, link_status, NULL),
    FLD(T, ODBL, match_score, NULL),
    FLD(T, OSTR, encounter_visit_number, NULL),
    FLD(T, OSTR, encounter_state, NULL),
    FLD(T, OSTR, order_placer_number, NULL),
    FLD(T, ARR_STR, anomalies, NULL),
    FLD(T, OTS, linked_ts, NULL),
};
DESC(d_linkage, T, "Linkage", linkage_f);
#undef T

/* ------------------------------------------------------------- top level */

#define T hf_rec
static const hf_rfield rec_f[] = {
    FLD(T, STR, source_system, NULL),
    FLD(T, STR, facility_id, NULL),
    FLD(T, TS, ingest_ts, NULL),
    FLD(T, REC, header, &d_header),
    FLD(T, OREC, event, &d_event),
    FLD(T, OREC, patient, &d_patient),
    FLD(T, OREC, visit, &d_visit),
    FLD(T, ARR, orders, &d_order),
    FLD(T, ARR, observations, &d_obs),
    FLD(T, ARR, notes, &d_note),
    FLD(T, ARR, diagnoses, &d_dx),
    FLD(T, ARR, allergies, &d_allergy),
    FLD(T, ARR, insurance, &d_insurance),
    FLD(T, ARR, next_of_kin, &d_nok),
    FLD(T, ARR, financial_transactions, &d_ft),
    FLD(T, OREC, document, &d_document),
    FLD(T, OREC, merge, &d_merge),
    FLD(T, ARR, segments, &hf_rdesc_segment),
    FLD(T, OBYTES, raw, NULL),
    FLD(T, ARR_STR, parse_quirks, NULL),
    /* stage fields (HF_REC_STAGED) */
    FLD(T, OREC, facility, &d_facility),
    FLD(T, OREC, enrichment, &d_enrichment),
    FLD(T, OSTR, mrn_hash, NULL),
    FLD(T, OSTR, empi_id, NULL),
    FLD(T, OREC, linkage, &d_linkage),
};
#undef T

const hf_rdesc hf_rdesc_rec = {"Hl7Record", sizeof(hf_rec), rec_f, sizeof rec_f / sizeof rec_f[0],
                                false};
const size_t hf_rec_ncanonical = 20;

_Static_assert(sizeof(rec_f) / sizeof(rec_f[0]) <= HF_REC_TOP_MAX,
               "HF_REC_TOP_MAX must cover every top-level field");

int hf_rec_field_index(const char *name) {
    for (size_t i = 0; i < hf_rdesc_rec.nfields; i++)
        if (strcmp(hf_rdesc_rec.fields[i].name, name) == 0)
            return (int)i;
    return -1;
}
