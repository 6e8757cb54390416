/* osdoc.h - hl7flow records as OpenSearch documents: the mapping of the
 * OpenSearch sink (hl7flow-sink-opensearch), kept free of HTTP so it can be
 * unit-tested.
 *
 * A record gives zero or more documents, each of one kind:
 *   clinical note  a record with a TXA (document block): one document with
 *                  the note text, index <prefix>clinical-notes-YYYY.MM;
 *   lab result     each OBX of a record without a TXA (in an MDM the OBX
 *                  lines are the note's text): <prefix>lab-results-YYYY.MM;
 *   ADT event      a record whose MSH-9.1 is ADT: <prefix>adt-events-YYYY.MM.
 * The month is the event's, in UTC (not the time of indexing), so a replay
 * lands in the same index; the event time is, by kind:
 *   note  TXA-4 activity, else TXA-6 origination, else MSH-7, else ingest;
 *   lab   OBX-14, else MSH-7, else ingest;
 *   ADT   EVN-6 occurred, else EVN-2 recorded, else MSH-7, else ingest.
 * Document ids are deterministic: source_system|facility_id|control_id,
 * plus |obx<segment occurrence> for a lab result (a record without a
 * control id uses its Kafka position instead); ids longer than 512 bytes
 * (OpenSearch's limit) become "sha256:" + the hex digest of the id.
 * A document holds only what its record holds (no clock, no Kafka
 * position), so writing the same record again writes the same document.
 * Patient names, addresses and birth dates are not put in documents; the
 * MRN, its hash and the enterprise id are.
 *
 * Every field of every document is declared in the kind's field table,
 * from which the index templates are made (mappings with dynamic: strict),
 * so a document and its template cannot drift apart.
 */
#ifndef HL7FLOW_OSDOC_H
#define HL7FLOW_OSDOC_H

#include <stddef.h>
#include <stdint.h>

#include "hl7flow/record.h"
#include "hl7flow/status.h"

typedef enum hf_os_kind { HF_OS_NOTE = 0, HF_OS_LAB, HF_OS_ADT, HF_OS_NKINDS } hf_os_kind;

/* OpenSearch's longest _id (bytes), since 2.9. */
#define HF_OS_ID_MAX 512

/* One document: where it goes and its JSON source (one line, no newline). */
typedef struct hf_os_doc {
    hf_os_kind kind;
    uint32_t tag;                /* the caller's (e.g. the record's batch index) */
    char index[128];
    char id[HF_OS_ID_MAX + 1];
    char *source;                /* owned by the list (hf_os_docs) */
    size_t source_len;
} hf_os_doc;

/* A growable list of documents. Start from {0}; hf_os_docs_free. */
typedef struct hf_os_docs {
    hf_os_doc *v;
    size_t n, cap;
} hf_os_docs;

void hf_os_docs_clear(hf_os_docs *d);
void hf_os_docs_free(hf_os_docs *d);

/* Where a record was read (for records without a control id). */
typedef struct hf_os_origin {
    const char *topic;
    int32_t partition;
    int64_t offset;
} hf_os_origin;

/* Appends @p rec's documents to @p out, each with @p tag, in the indices
 * named @p prefix + kind + "-YYYY.MM" (@p prefix may be "" or NULL).
 * On failure nothing of @p rec stays in @p out.
 * @returns HF_OK (zero documents is fine: an ORM, a DFT); HF_ENOMEM;
 *          HF_ESYNTAX when a text is not valid UTF-8 (err names the field,
 *          not its value); HF_ELIMIT when the prefix makes an index name
 *          too long. */
hf_status hf_osdoc_add(hf_os_docs *out, const hf_rec *rec, const hf_os_origin *origin,
                       const char *prefix, uint32_t tag, hf_err *err);

/* The kind's name in indices and templates: "clinical-notes",
 * "lab-results", "adt-events". */
const char *hf_osdoc_kind_name(hf_os_kind kind);

/* "YYYY.MM" of @p us (microseconds since the epoch) in UTC into @p buf
 * (at least 8 bytes). Returns false for a year outside 1..9999. */
bool hf_osdoc_month(int64_t us, char *buf, size_t cap);

/* One field of a kind's documents: name and OpenSearch mapping type
 * (keyword, text, date, double, integer). */
typedef struct hf_os_field {
    const char *name;
    const char *type;
} hf_os_field;

/* The fields documents of @p kind may have; *n gets their count. */
const hf_os_field *hf_osdoc_fields(hf_os_kind kind, size_t *n);

/* Options of the index templates. */
typedef struct hf_os_template_opts {
    const char *prefix;        /* index prefix, may be "" */
    const char *analyzer;      /* analyzer of text fields; "" = the index default */
    const char *composed_of;   /* comma-separated component templates (e.g. one defining the
                                  analyzer); "" = none */
    int shards, replicas;
    int priority;
} hf_os_template_opts;

/* The template's name (@p prefix + "hl7flow-" + kind name) into @p buf. */
void hf_osdoc_template_name(hf_os_kind kind, const char *prefix, char *buf, size_t cap);

/* The body of PUT _index_template/<name> for @p kind: index pattern
 * prefix+kind+"-*", settings, strict mappings from the field table, an
 * alias named prefix+kind. Owned by the caller (free); NULL when out of
 * memory. */
char *hf_osdoc_template_json(hf_os_kind kind, const hf_os_template_opts *opts);

#endif
