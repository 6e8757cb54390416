/* main.c - hl7flow-enricher: hl7.validated -> hl7.enriched (enricher.h). */
#include <stddef.h>

#include "enricher.h"

static enr_cfg g_cfg;
static hf_registry_cfg g_reg;

static const hf_cfg_var ENRICHER_VARS[] = {
    {"ENRICHER_FACILITIES", HF_CFG_STR, "config/facilities.dev.json", offsetof(enr_cfg, facilities),
     0, 0, NULL,
     "facility metadata: a JSON file (file:PATH or PATH; a mounted ConfigMap) or a PostgreSQL "
     "URI/conninfo (password via PGPASSWORD or PGPASSFILE); docs/internals/facilities.md"},
    {"ENRICHER_FACILITY_TABLE", HF_CFG_STR, "hl7flow_facility", offsetof(enr_cfg, facility_table), 0,
     0, NULL, "PostgreSQL table of facilities (scripts/sql/facilities.sql)"},
    {"ENRICHER_FACILITY_CHANNEL", HF_CFG_STR, "hl7flow_facility", offsetof(enr_cfg, facility_channel),
     0, 0, NULL, "PostgreSQL LISTEN channel whose NOTIFY triggers a reload"},
    {"ENRICHER_UNKNOWN_FACILITY", HF_CFG_ENUM, "dlq", offsetof(enr_cfg, unknown_facility), 0, 0,
     "dlq|pass",
     "a record whose facility_id is not in the metadata: dlq (class enrich) or pass with "
     "enrichment.facility_known=false"},
    {"ENRICHER_DEFAULT_TIME_ZONE", HF_CFG_STR, "", offsetof(enr_cfg, default_tz), 0, 0, NULL,
     "IANA zone for facilities without one (and unknown ones in pass mode); empty: their local "
     "times keep a null _ts"},
    {"ENRICHER_CODE_MAPS", HF_CFG_STR, "config/codemaps", offsetof(enr_cfg, codemaps), 0, 0, NULL,
     "code mapping tables: a directory of *.tsv or one file; empty: no mapping"},
    {"ENRICHER_RELOAD_MS", HF_CFG_INT, "10000", offsetof(enr_cfg, reload_ms), 10, 86400000, NULL,
     "how often the facility source and code maps are checked for changes (PostgreSQL NOTIFY "
     "reloads at once)"},
};


static hf_status enricher_init(void **ctx, const hf_stage_cfg *cfg, hf_err *err) {
    enr_ctx *c = NULL;
    hf_status st = enr_ctx_new(&g_cfg, &g_reg, cfg->input_topics, cfg->output_topic, &c, err);
    *ctx = c;
    return st;
}

static void enricher_fini(void *ctx) { enr_ctx_destroy(ctx); }

static void enricher_tick(void *ctx, int64_t now_ms) { enr_reload_poll(ctx, now_ms); }

int main(int argc, char **argv) {
    const hf_cfg_table tables[2] = {
        {"Enricher settings", ENRICHER_VARS, sizeof ENRICHER_VARS / sizeof ENRICHER_VARS[0]},
        hf_registry_cfg_table,
    };
    void *const cfgs[2] = {&g_cfg, &g_reg};
    const hf_stage_def def = {
        .name = "enricher",
        .synopsis = "hl7flow-enricher: add facility metadata and normalized times, names and codes "
                    "(hl7.validated -> hl7.enriched; failures -> hl7.dlq as schema, enrich)",
        .default_inputs = "hl7.validated",
        .default_output = "hl7.enriched",
        .tables = tables,
        .ntables = 2,
        .cfgs = cfgs,
        .init = enricher_init,
        .fini = enricher_fini,
        .transform = enr_transform,
        .tick = enricher_tick,
    };
    return hf_stage_main(argc, argv, &def);
}
