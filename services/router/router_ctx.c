/* router_ctx.c - start-up of hl7flow-router: routes, the registered
 * schema of every output topic (checked against this build's layout), the
 * input reader and the MRN hasher. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/log.h"
#include "router.h"

static hf_status output_schema(rtr_ctx *c, rtr_topic *t, hf_err *err) {
    hf_status st = hf_rec_output_schema(c->registry, t->name, HF_REC_STAGED, &t->schema_id, err);
    if (st != HF_OK)
        return st;
    char labels[320];
    snprintf(labels, sizeof labels, "stage=\"router\",topic=\"%s\"", t->name);
    t->routed = hf_metrics_counter("hl7flow_router_routed_total",
                                   "Records the router wrote, by output topic", labels);
    HF_LOG(HF_LOG_INFO, "output_schema", HF_LID("topic", t->name), HF_LI("schema_id", t->schema_id));
    return HF_OK;
}

hf_status rtr_ctx_new(const rtr_cfg *cfg, const hf_registry_cfg *reg_cfg, const char *input_topic,
                      rtr_ctx **out, hf_err *err) {
    rtr_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return hf_err_set(err, HF_ENOMEM, "router context");
    hf_status st = rtr_routes_parse(c, cfg->routes, cfg->default_topic, err);
    if (st != HF_OK)
        goto fail;
    if ((st = hf_mrn_hasher_new(cfg->mrn_key, strlen(cfg->mrn_key), &c->hasher, err)) != HF_OK) {
        char detail[sizeof err->msg];
        snprintf(detail, sizeof detail, "%s", err->msg);
        hf_err_set(err, st, "HL7FLOW_MRN_HASH_KEY: %s", detail);
        goto fail;
    }
    if ((st = hf_registry_open(reg_cfg, &c->registry, err)) != HF_OK)
        goto fail;
    for (size_t i = 0; i < c->ntopics; i++)
        if ((st = output_schema(c, &c->topics[i], err)) != HF_OK)
            goto fail;
    if (strchr(input_topic, ',') != NULL) {
        st = hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_TOPICS: the router reads one topic, not '%s'",
                        input_topic);
        goto fail;
    }
    if ((st = hf_rec_reader_new(c->registry, input_topic, HF_REC_STAGED, &c->reader, err)) != HF_OK)
        goto fail;
    if ((c->rec = hf_rec_ctx_new()) == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "router buffers");
        goto fail;
    }
    c->mrn_hash_field = hf_rec_field_index("mrn_hash");
    static const char *const READ[] = {"facility_id", "header", "patient", "mrn_hash"};
    for (size_t i = 0; i < sizeof READ / sizeof READ[0]; i++)
        c->read_fields |= (uint64_t)1 << hf_rec_field_index(READ[i]);
    HF_LOG(HF_LOG_INFO, "routes_loaded", HF_LI("routes", (int64_t)c->nroutes),
           HF_LI("topics", (int64_t)c->ntopics),
           HF_LID("unroutable", c->fallback != NULL ? c->fallback->name : "dlq"));
    *out = c;
    return HF_OK;
fail:
    rtr_ctx_destroy(c);
    return st;
}

void rtr_ctx_destroy(rtr_ctx *c) {
    if (c == NULL)
        return;
    hf_rec_buf_free(&c->out);
    hf_rec_ctx_destroy(c->rec);
    hf_rec_reader_destroy(c->reader);
    hf_registry_close(c->registry);
    hf_mrn_hasher_free(c->hasher);
    for (size_t i = 0; i < c->ntopics; i++)
        free(c->topics[i].name);
    free(c);
}
