/* enricher_ctx.c - start-up of hl7flow-enricher: facility source, code
 * maps, default time zone, registry (output schema id checked against
 * this build's layout; the input reader), metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/log.h"
#include "enricher.h"

/* Prefixes @p err's message with @p what (a setting name). A source that
 * is missing or invalid is a configuration error (exit 2); one that is
 * down (HF_ERETRY) or out of memory keeps its status (exit 1: restart). */
static hf_status named(hf_err *err, hf_status st, const char *what) {
    char detail[sizeof err->msg];
    snprintf(detail, sizeof detail, "%s", err->msg);
    if (st != HF_ERETRY && st != HF_ENOMEM)
        st = HF_ECONFIG;
    return hf_err_set(err, st, "%s: %s", what, detail);
}

static void metrics_new(enr_metrics *m) {
    static const char L[] = "stage=\"enricher\"";
    m->unknown_facility = hf_metrics_counter("hl7flow_enricher_unknown_facility_total",
                                             "Records whose facility_id the facility metadata lacks", L);
    m->ts_filled = hf_metrics_counter("hl7flow_enricher_timestamps_filled_total",
                                      "_ts fields filled from a facility time zone", L);
    m->codes_mapped = hf_metrics_counter("hl7flow_enricher_codes_mapped_total",
                                         "Local codes given a standard code", L);
    const char *H = "Reloads of the facility metadata and code maps, by result";
    m->reload_ok_fac = hf_metrics_counter("hl7flow_enricher_reloads_total", H,
                                          "stage=\"enricher\",source=\"facilities\",result=\"ok\"");
    m->reload_failed_fac = hf_metrics_counter("hl7flow_enricher_reloads_total", H,
                                              "stage=\"enricher\",source=\"facilities\",result=\"failed\"");
    m->reload_ok_maps = hf_metrics_counter("hl7flow_enricher_reloads_total", H,
                                           "stage=\"enricher\",source=\"code_maps\",result=\"ok\"");
    m->reload_failed_maps = hf_metrics_counter("hl7flow_enricher_reloads_total", H,
                                               "stage=\"enricher\",source=\"code_maps\",result=\"failed\"");
    m->facilities = hf_metrics_gauge("hl7flow_enricher_facilities", "Facilities in the table in use", L);
    m->code_entries = hf_metrics_gauge("hl7flow_enricher_code_map_entries",
                                       "Entries of the code maps in use", L);
}

hf_status enr_ctx_new(const enr_cfg *cfg, const hf_registry_cfg *reg_cfg, const char *input_topic,
                      const char *output_topic, enr_ctx **out, hf_err *err) {
    enr_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return hf_err_set(err, HF_ENOMEM, "enricher context");
    c->cfg = cfg;
    c->output_topic = output_topic;
    metrics_new(&c->m);
    hf_status st;
    hf_facility_dir_opts fo = {.table = cfg->facility_table, .channel = cfg->facility_channel,
                               .poll_ms = cfg->reload_ms, .connect_timeout_s = 5};
    if ((st = hf_facility_dir_open(cfg->facilities, &fo, &c->facilities, err)) != HF_OK) {
        st = named(err, st, "ENRICHER_FACILITIES");
        goto fail;
    }
    hf_gauge_set(c->m.facilities, (double)hf_facility_dir_count(c->facilities));
    if (cfg->codemaps[0] != '\0') {
        if ((st = hf_codemap_load(cfg->codemaps, &c->codemap, err)) != HF_OK) {
            st = named(err, st, "ENRICHER_CODE_MAPS");
            goto fail;
        }
        hf_gauge_set(c->m.code_entries, (double)hf_codemap_size(c->codemap));
    }
    if (cfg->default_tz[0] != '\0' && (st = hf_tz_open(cfg->default_tz, &c->default_tz, err)) != HF_OK) {
        st = named(err, st, "ENRICHER_DEFAULT_TIME_ZONE");
        goto fail;
    }
    if ((st = hf_registry_open(reg_cfg, &c->registry, err)) != HF_OK)
        goto fail;
    if ((st = hf_rec_output_schema(c->registry, output_topic, HF_REC_STAGED, &c->schema_id, err)) !=
        HF_OK)
        goto fail;
    if (strchr(input_topic, ',') != NULL) {
        st = hf_err_set(err, HF_ECONFIG,
                        "HL7FLOW_INPUT_TOPICS: the enricher reads one topic, not '%s'", input_topic);
        goto fail;
    }
    if ((st = hf_rec_reader_new(c->registry, input_topic, HF_REC_VALIDATED, &c->reader, err)) != HF_OK)
        goto fail;
    if ((c->rec = hf_rec_ctx_new()) == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "enricher buffers");
        goto fail;
    }
    c->kept[0] = hf_rec_field_index("segments");
    c->kept[1] = hf_rec_field_index("raw");
    c->kept[2] = hf_rec_field_index("parse_quirks");
    /* The lossless copy is the bulk of a record and nothing of it is read
     * here: walked (checked) and copied as read, never stored. */
    c->read_fields = UINT64_MAX;
    for (size_t i = 0; i < sizeof c->kept / sizeof c->kept[0]; i++)
        if (c->kept[i] >= 0)
            c->read_fields &= ~((uint64_t)1 << c->kept[i]);
    c->ingest_index = hf_rec_field_index("ingest_ts");
    HF_LOG(HF_LOG_INFO, "enricher_ready",
           HF_LID("facility_source", hf_facility_dir_source_kind(c->facilities)),
           HF_LI("facilities", (int64_t)hf_facility_dir_count(c->facilities)),
           HF_LI("code_map_entries", c->codemap != NULL ? (int64_t)hf_codemap_size(c->codemap) : 0),
           HF_LI("schema_id", c->schema_id));
    *out = c;
    return HF_OK;
fail:
    enr_ctx_destroy(c);
    return st;
}

void enr_ctx_destroy(enr_ctx *c) {
    if (c == NULL)
        return;
    hf_rec_buf_free(&c->out);
    hf_rec_ctx_destroy(c->rec);
    hf_rec_reader_destroy(c->reader);
    hf_registry_close(c->registry);
    hf_tz_close(c->default_tz);
    hf_codemap_destroy(c->codemap);
    hf_facility_dir_close(c->facilities);
    free(c);
}
