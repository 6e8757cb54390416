/* ostemplate.c - the fields of the OpenSearch sink's documents per kind and
 * the index templates made from them (osdoc.h). A field added to a
 * document in osdoc.c must be added here too: the templates map strictly
 * and tests/unit/test_osdoc.c checks every built field is declared. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "hl7flow/osdoc.h"

#define COMMON_FIELDS                                                                    \
    {"doc_kind", "keyword"}, {"source_system", "keyword"}, {"facility_id", "keyword"},   \
        {"facility_name", "keyword"}, {"message_control_id", "keyword"},                 \
        {"message_code", "keyword"}, {"trigger_event", "keyword"},                       \
        {"sending_application", "keyword"}, {"message_time", "date"},                    \
        {"ingest_time", "date"}, {"event_time", "date"}, {"mrn", "keyword"},             \
        {"mrn_hash", "keyword"}, {"empi_id", "keyword"}

static const hf_os_field NOTE_FIELDS[] = {
    COMMON_FIELDS,
    {"document_type_code", "keyword"},
    {"document_type_text", "text"},
    {"document_number", "keyword"},
    {"parent_document_number", "keyword"},
    {"completion_status", "keyword"},
    {"confidentiality_status", "keyword"},
    {"availability_status", "keyword"},
    {"content_presentation", "keyword"},
    {"author_id", "keyword"},
    {"activity_time", "date"},
    {"origination_time", "date"},
    {"transcription_time", "date"},
    {"note_text", "text"},
};

static const hf_os_field LAB_FIELDS[] = {
    COMMON_FIELDS,
    {"obx_occurrence", "integer"},
    {"set_id", "integer"},
    {"value_type", "keyword"},
    {"code", "keyword"},
    {"code_text", "text"},
    {"code_system", "keyword"},
    {"sub_id", "keyword"},
    {"value", "text"},
    {"value_numeric", "double"},
    {"value_code", "keyword"},
    {"units", "keyword"},
    {"reference_range", "keyword"},
    {"abnormal_flags", "keyword"},
    {"result_status", "keyword"},
    {"observation_time", "date"},
    {"order_placer_number", "keyword"},
    {"order_filler_number", "keyword"},
    {"service_code", "keyword"},
    {"service_text", "text"},
};

static const hf_os_field ADT_FIELDS[] = {
    COMMON_FIELDS,
    {"event_type", "keyword"},
    {"event_reason", "keyword"},
    {"sex", "keyword"},
    {"patient_class", "keyword"},
    {"visit_number", "keyword"},
    {"location_point_of_care", "keyword"},
    {"location_room", "keyword"},
    {"location_bed", "keyword"},
    {"location_facility", "keyword"},
    {"hospital_service", "keyword"},
    {"admission_type", "keyword"},
    {"attending_doctor_id", "keyword"},
    {"admit_time", "date"},
    {"discharge_time", "date"},
    {"discharge_disposition", "keyword"},
    {"prior_mrn", "keyword"},
};

const hf_os_field *hf_osdoc_fields(hf_os_kind kind, size_t *n) {
    switch (kind) {
    case HF_OS_NOTE:
        *n = sizeof NOTE_FIELDS / sizeof NOTE_FIELDS[0];
        return NOTE_FIELDS;
    case HF_OS_LAB:
        *n = sizeof LAB_FIELDS / sizeof LAB_FIELDS[0];
        return LAB_FIELDS;
    case HF_OS_ADT:
        *n = sizeof ADT_FIELDS / sizeof ADT_FIELDS[0];
        return ADT_FIELDS;
    default:
        *n = 0;
        return NULL;
    }
}

void hf_osdoc_template_name(hf_os_kind kind, const char *prefix, char *buf, size_t cap) {
    snprintf(buf, cap, "%shl7flow-%s", prefix ? prefix : "", hf_osdoc_kind_name(kind));
}

/* The mapping of one field. Text also gets a keyword sub-field (exact
 * match, aggregations) for short values. */
static json_t *field_mapping(const hf_os_field *f, const char *analyzer) {
    if (strcmp(f->type, "text") != 0)
        return json_pack("{s:s}", "type", f->type);
    json_t *m = json_pack("{s:s, s:{s:{s:s, s:i}}}", "type", "text", "fields", "keyword", "type",
                          "keyword", "ignore_above", 256);
    if (m != NULL && analyzer != NULL && analyzer[0] != '\0' &&
        json_object_set_new(m, "analyzer", json_string(analyzer)) != 0) {
        json_decref(m);
        return NULL;
    }
    return m;
}

char *hf_osdoc_template_json(hf_os_kind kind, const hf_os_template_opts *opts) {
    const char *prefix = opts->prefix ? opts->prefix : "";
    char pattern[160], alias[160];
    snprintf(pattern, sizeof pattern, "%s%s-*", prefix, hf_osdoc_kind_name(kind));
    snprintf(alias, sizeof alias, "%s%s", prefix, hf_osdoc_kind_name(kind));
    size_t n = 0;
    const hf_os_field *fields = hf_osdoc_fields(kind, &n);
    json_t *props = json_object();
    bool ok = props != NULL && fields != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *m = field_mapping(&fields[i], opts->analyzer);
        ok = m != NULL && json_object_set_new(props, fields[i].name, m) == 0;
    }
    json_t *root = NULL;
    if (ok)
        root = json_pack("{s:[s], s:i, s:{s:{s:i, s:i}, s:{s:s, s:O}, s:{s:{}}}, s:{s:s, s:s}}",
                         "index_patterns", pattern, "priority", opts->priority, "template",
                         "settings", "number_of_shards", opts->shards, "number_of_replicas",
                         opts->replicas, "mappings", "dynamic", "strict", "properties", props,
                         "aliases", alias, "_meta", "managed_by", "hl7flow-sink-opensearch",
                         "kind", hf_osdoc_kind_name(kind));
    json_decref(props);
    if (root == NULL)
        return NULL;
    if (opts->composed_of != NULL && opts->composed_of[0] != '\0') {
        json_t *list = json_array();
        char buf[512];
        snprintf(buf, sizeof buf, "%s", opts->composed_of);
        char *save = NULL;
        for (char *t = strtok_r(buf, ", ", &save); list && t; t = strtok_r(NULL, ", ", &save))
            json_array_append_new(list, json_string(t));
        if (list == NULL || json_object_set_new(root, "composed_of", list) != 0) {
            json_decref(root);
            return NULL;
        }
    }
    char *out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    return out;
}
