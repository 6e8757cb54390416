/* parser_ctx.c - start-up of hl7flow-parser: profile rules, registry
 * lookup of the output schema and the check that the registered schema has
 * the layout this build writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/log.h"
#include "hl7flow/metrics.h"
#include "parser.h"

hf_status prs_ctx_new(const prs_cfg *cfg, const hf_registry_cfg *reg_cfg, const char *output_topic,
                      prs_ctx **out, hf_err *err) {
    hf_status st = HF_OK;
    prs_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return hf_err_set(err, HF_ENOMEM, "parser context");
    c->cfg = cfg;
    c->output_topic = output_topic;
    c->limits = hf_hl7_limits_default;
    c->limits.max_bytes = (size_t)cfg->max_bytes;
    c->limits.max_segments = (uint32_t)cfg->max_segments;

    if (cfg->profile_mode == PRS_PROFILE_ENFORCE) {
        st = hf_profile_load(cfg->profiles, &c->profile, err);
        if (st != HF_OK)
            goto fail;
        hf_profile_info info;
        hf_profile_get_info(c->profile, &info);
        HF_LOG(HF_LOG_INFO, "profiles_loaded", HF_LID("path", cfg->profiles),
               HF_LI("files", info.files), HF_LI("sections", info.sections),
               HF_LI("rules", info.rules), HF_LI("tables", info.tables));
    }

    st = hf_registry_open(reg_cfg, &c->registry, err);
    if (st != HF_OK)
        goto fail;
    st = hf_rec_output_schema(c->registry, output_topic, HF_REC_VALIDATED, &c->schema_id, err);
    if (st != HF_OK)
        goto fail;
    HF_LOG(HF_LOG_INFO, "output_schema", HF_LID("topic", output_topic),
           HF_LI("schema_id", c->schema_id),
           HF_LID("registry", hf_registry_mode_name(hf_registry_mode_of(c->registry))));

    c->empty_batches = hf_metrics_counter("hl7flow_parser_empty_batches_total",
                                          "Input records that were batch files without a message",
                                          "stage=\"parser\"");
    static const char *const PATHS[] = {"MSH-10", "MSH-9", "MSH-3.1", "MSH-4.1"};
    hf_hl7_path *const slots[] = {&c->msh10, &c->msh9, &c->msh3_1, &c->msh4_1};
    for (size_t i = 0; i < 4; i++) {
        st = hf_hl7_path_parse(PATHS[i], strlen(PATHS[i]), slots[i], err);
        if (st != HF_OK)
            goto fail;
    }
    c->msg = hf_hl7_msg_new();
    c->rec = hf_rec_ctx_new();
    if (c->msg == NULL || c->rec == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "parser buffers");
        goto fail;
    }
    *out = c;
    return HF_OK;
fail:
    prs_ctx_destroy(c);
    return st;
}

void prs_ctx_destroy(prs_ctx *c) {
    if (c == NULL)
        return;
    hf_rec_buf_free(&c->out);
    hf_rec_ctx_destroy(c->rec);
    hf_hl7_msg_destroy(c->msg);
    hf_registry_close(c->registry);
    hf_profile_destroy(c->profile);
    free(c);
}
