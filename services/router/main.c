/* main.c - hl7flow-router: hl7.enriched -> hl7.parsed.<type> (router.h). */
#include <stddef.h>

#include "router.h"

static rtr_cfg g_cfg;
static hf_registry_cfg g_reg;

static const hf_cfg_var ROUTER_VARS[] = {
    {"ROUTER_ROUTES", HF_CFG_STR,
     "ADT=hl7.parsed.adt,ORM=hl7.parsed.orm,OML=hl7.parsed.orm,ORU=hl7.parsed.oru,"
     "OUL=hl7.parsed.oru,DFT=hl7.parsed.dft,MDM=hl7.parsed.mdm",
     offsetof(rtr_cfg, routes), 0, 0, NULL,
     "MSH-9 message code (or CODE^EVENT, which wins over CODE) = output topic, comma-separated"},
    {"ROUTER_DEFAULT_TOPIC", HF_CFG_STR, "", offsetof(rtr_cfg, default_topic), 0, 0, NULL,
     "topic for message codes without a route; empty: the DLQ (class unroutable)"},
    {"HL7FLOW_MRN_HASH_KEY", HF_CFG_SECRET, NULL, offsetof(rtr_cfg, mrn_key), 0, 0, NULL,
     "secret key of the MRN hash (HMAC-SHA256, at least 16 bytes; 32 random bytes recommended); "
     "or a file in HL7FLOW_MRN_HASH_KEY_FILE. The same key on every router, or patients move"},
};

static hf_status router_init(void **ctx, const hf_stage_cfg *cfg, hf_err *err) {
    rtr_ctx *c = NULL;
    hf_status st = rtr_ctx_new(&g_cfg, &g_reg, cfg->input_topics, &c, err);
    *ctx = c;
    return st;
}

static void router_fini(void *ctx) { rtr_ctx_destroy(ctx); }

int main(int argc, char **argv) {
    const hf_cfg_table tables[2] = {
        {"Router settings", ROUTER_VARS, sizeof ROUTER_VARS / sizeof ROUTER_VARS[0]},
        hf_registry_cfg_table,
    };
    void *const cfgs[2] = {&g_cfg, &g_reg};
    const hf_stage_def def = {
        .name = "router",
        .synopsis = "hl7flow-router: route enriched records by message type to the typed topics, "
                    "keyed by MRN hash (hl7.enriched -> hl7.parsed.<type>; failures -> hl7.dlq as "
                    "schema, unroutable)",
        .default_inputs = "hl7.enriched",
        .default_output = "hl7.parsed.adt",
        .tables = tables,
        .ntables = 2,
        .cfgs = cfgs,
        .init = router_init,
        .fini = router_fini,
        .transform = rtr_transform,
    };
    return hf_stage_main(argc, argv, &def);
}
