/* enricher.h - hl7flow-enricher: hl7.validated -> hl7.enriched.
 *
 * Each input record gets the metadata of its facility (facility.h: a JSON
 * file or a PostgreSQL table, reloaded without restart) and normalized
 * values beside the source values, never over them:
 *   - every `_ts` the parser left null because its HL7 time had no UTC
 *     offset, read in the facility's time zone (tz.h);
 *   - enrichment.patient_sex (HL7 table 0001 -> female/male/other/unknown)
 *     and the legal name's parts in standard form (normalize.h);
 *   - enrichment.codes: standard codes (LOINC, UCUM...) for OBX-3, OBR-4
 *     and OBX-6 from the operator's mapping tables (codemap.h).
 * A record whose facility is unknown goes to the DLQ as class enrich, or
 * passes with enrichment.facility_known = false (ENRICHER_UNKNOWN_FACILITY).
 * An undecodable record goes to the DLQ as class schema. */
#ifndef HL7FLOW_ENRICHER_H
#define HL7FLOW_ENRICHER_H

#include <stdint.h>

#include "hl7flow/codemap.h"
#include "hl7flow/facility.h"
#include "hl7flow/metrics.h"
#include "hl7flow/record.h"
#include "hl7flow/record_reader.h"
#include "hl7flow/registry.h"
#include "hl7flow/stage.h"
#include "hl7flow/tz.h"

/* ENRICHER_* settings. */
typedef struct enr_cfg {
    char *facilities;       /* ENRICHER_FACILITIES: JSON file or PostgreSQL conninfo/URI */
    char *facility_table;   /* ENRICHER_FACILITY_TABLE */
    char *facility_channel; /* ENRICHER_FACILITY_CHANNEL: LISTEN channel */
    int unknown_facility;   /* ENRICHER_UNKNOWN_FACILITY: ENR_UNKNOWN_* */
    char *default_tz;       /* ENRICHER_DEFAULT_TIME_ZONE: "" = none */
    char *codemaps;         /* ENRICHER_CODE_MAPS: dir or file; "" = none */
    int64_t reload_ms;      /* ENRICHER_RELOAD_MS: change checks */
} enr_cfg;

enum { ENR_UNKNOWN_DLQ = 0, ENR_UNKNOWN_PASS = 1 };

typedef struct enr_metrics {
    hf_counter *unknown_facility, *ts_filled, *codes_mapped;
    hf_counter *reload_ok_fac, *reload_failed_fac, *reload_ok_maps, *reload_failed_maps;
    hf_gauge *facilities, *code_entries;
} enr_metrics;

typedef struct enr_ctx {
    const enr_cfg *cfg;           /* borrowed */
    const char *output_topic;     /* borrowed */
    hf_facility_dir *facilities;  /* owned */
    hf_codemap *codemap;          /* owned; NULL when ENRICHER_CODE_MAPS is "" */
    hf_tz *default_tz;            /* owned; NULL when none */
    hf_registry *registry;        /* owned */
    hf_rec_reader *reader;        /* owned */
    uint32_t schema_id;           /* of <output>-value */
    hf_rec_ctx *rec;              /* owned, reused per record */
    hf_rec_buf out;               /* owned, reused per record */
    int64_t next_codemap_check_ms;
    int kept[3];                  /* segments, raw, parse_quirks: passed on as read */
    uint64_t read_fields;         /* the fields decoded; the kept ones are only walked */
    int ingest_index;             /* hf_rec_field_index("ingest_ts") */
    uint64_t touched;             /* enr_enrich: top-level fields it changed (bit i) */
    enr_metrics m;
} enr_ctx;

/* Opens the facility source, the code maps, the registry (output schema
 * id, checked against this build's layout; the input reader). @p reg_cfg
 * borrowed for the call. Errors name the setting. */
hf_status enr_ctx_new(const enr_cfg *cfg, const hf_registry_cfg *reg_cfg, const char *input_topic,
                      const char *output_topic, enr_ctx **out, hf_err *err);

void enr_ctx_destroy(enr_ctx *c);

/* Reloads the facility table or the code maps when their source changed
 * (at most every ENRICHER_RELOAD_MS; cheap otherwise). A failed reload
 * keeps the tables in use, logs and counts it. Called by the stage loop
 * between batches (hf_stage_def.tick), never inside one, so the facility
 * blocks records point to stay valid until they are encoded. */
void enr_reload_poll(enr_ctx *c, int64_t now_ms);

/* Fills what the enricher adds to @p rec (built in @p rc): the facility
 * block (@p f, NULL when unknown), the _ts fields from @p tz (may be NULL),
 * the enrichment block. @p now_us stamps enriched_ts. Sets c->touched to
 * the canonical top-level fields whose times it filled (bit i = field i),
 * so the others can be copied as read. HF_OK or
 * HF_ENOMEM. */
hf_status enr_enrich(enr_ctx *c, hf_rec *rec, const hf_facility *f, hf_tz *tz, int64_t now_us);

/* The stage transform (stage.h contract). @locality main thread. */
hf_status enr_transform(void *ctx, const hf_record *in, hf_emit *out, hf_dlq_reason *why);

#endif
