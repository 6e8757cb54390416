/* main.c - hl7flow-parser: hl7.raw.ingest -> hl7.validated (parser.h). */
#include <stddef.h>
#include <stdlib.h>

#include "parser.h"

static prs_cfg g_cfg;
static hf_registry_cfg g_reg;

static const hf_cfg_var PARSER_VARS[] = {
    {"PARSER_PROFILES", HF_CFG_STR, "schemas/profiles", offsetof(prs_cfg, profiles), 0, 0, NULL,
     "message-profile rules: a directory of *.rules files or one file (docs/internals/profile.md)"},
    {"PARSER_PROFILE_MODE", HF_CFG_ENUM, "enforce", offsetof(prs_cfg, profile_mode), 0, 0,
     "enforce|off", "enforce: a profile violation sends the record to the DLQ (class profile)"},
    {"PARSER_MAX_BYTES", HF_CFG_INT, "16777216", offsetof(prs_cfg, max_bytes), 64, 1073741824, NULL,
     "largest input record accepted; larger ones go to the DLQ (class parse)"},
    {"PARSER_MAX_BATCH_MESSAGES", HF_CFG_INT, "10000", offsetof(prs_cfg, max_messages), 1, 4096 * 16,
     NULL, "most HL7 messages in one input record (batch files)"},
    {"PARSER_MAX_SEGMENTS", HF_CFG_INT, "100000", offsetof(prs_cfg, max_segments), 1, 1000000, NULL,
     "most segments in one message"},
};


static hf_status parser_init(void **ctx, const hf_stage_cfg *cfg, hf_err *err) {
    prs_ctx *c = NULL;
    hf_status st = prs_ctx_new(&g_cfg, &g_reg, cfg->output_topic, &c, err);
    *ctx = c;
    return st;
}

static void parser_fini(void *ctx) { prs_ctx_destroy(ctx); }

int main(int argc, char **argv) {
    const hf_cfg_table tables[2] = {
        {"Parser settings", PARSER_VARS, sizeof PARSER_VARS / sizeof PARSER_VARS[0]},
        hf_registry_cfg_table,
    };
    void *const cfgs[2] = {&g_cfg, &g_reg};
    const hf_stage_def def = {
        .name = "parser",
        .synopsis = "hl7flow-parser: parse, validate and encode raw HL7 v2 "
                    "(hl7.raw.ingest -> hl7.validated; failures -> hl7.dlq as parse, profile, schema)",
        .default_inputs = "hl7.raw.ingest",
        .default_output = "hl7.validated",
        .tables = tables,
        .ntables = 2,
        .cfgs = cfgs,
        .init = parser_init,
        .fini = parser_fini,
        .transform = prs_transform,
    };
    return hf_stage_main(argc, argv, &def);
}
