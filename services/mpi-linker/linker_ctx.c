/* linker_ctx.c - start-up of hl7flow-mpi-linker: the registered schema of
 * hl7.linked (checked against this build's layout), a reader per input
 * topic, the MRN hasher (for MRG-1 of merges), the EMPI database, the
 * state stores, and the table of merges made by any replica. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/log.h"
#include "linker.h"

static hf_status output_schema(mpi_ctx *c, hf_err *err) {
    hf_status st = hf_rec_output_schema(c->registry, c->output_topic, HF_REC_STAGED,
                                        &c->output_schema_id, err);
    if (st != HF_OK)
        return st;
    HF_LOG(HF_LOG_INFO, "output_schema", HF_LID("topic", c->output_topic),
           HF_LI("schema_id", c->output_schema_id));
    return HF_OK;
}

/* ---- merges: open addressing on the first 16 hex digits of the key ---- */

static uint64_t key_hash(const char *k) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ULL;
    return h;
}

static bool merges_grow(mpi_ctx *c) {
    size_t cap = c->merges_cap ? c->merges_cap * 2 : 1024;
    mpi_merge_entry *n = calloc(cap, sizeof *n);
    if (n == NULL)
        return false;
    for (size_t i = 0; i < c->merges_cap; i++) {
        if (c->merges[i].prior[0] == '\0')
            continue;
        size_t j = key_hash(c->merges[i].prior) & (cap - 1);
        while (n[j].prior[0] != '\0')
            j = (j + 1) & (cap - 1);
        n[j] = c->merges[i];
    }
    free(c->merges);
    c->merges = n;
    c->merges_cap = cap;
    return true;
}

void mpi_merges_add(const char *prior, const char *survivor, const char *empi_id, void *ctx) {
    mpi_ctx *c = ctx;
    if ((c->nmerges + 1) * 2 > c->merges_cap && !merges_grow(c)) {
        HF_LOG0(HF_LOG_ERROR, "merge_table_full");
        return;
    }
    size_t j = key_hash(prior) & (c->merges_cap - 1);
    while (c->merges[j].prior[0] != '\0' && strcmp(c->merges[j].prior, prior) != 0)
        j = (j + 1) & (c->merges_cap - 1);
    if (c->merges[j].prior[0] == '\0')
        c->nmerges++;
    mpi_merge_entry *m = &c->merges[j];
    snprintf(m->prior, sizeof m->prior, "%s", prior);
    snprintf(m->survivor, sizeof m->survivor, "%s", survivor);
    snprintf(m->empi_id, sizeof m->empi_id, "%s", empi_id);
}

const mpi_merge_entry *mpi_merges_find(const mpi_ctx *c, const char *key) {
    if (c->nmerges == 0)
        return NULL;
    size_t j = key_hash(key) & (c->merges_cap - 1);
    while (c->merges[j].prior[0] != '\0') {
        if (strcmp(c->merges[j].prior, key) == 0)
            return &c->merges[j];
        j = (j + 1) & (c->merges_cap - 1);
    }
    return NULL;
}

hf_status mpi_ctx_new(const mpi_cfg *cfg, const hf_registry_cfg *reg_cfg,
                      const hf_stage_cfg *stage, mpi_ctx **out, hf_err *err) {
    mpi_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return hf_err_set(err, HF_ENOMEM, "linker context");
    c->cfg = cfg;
    hf_status st = HF_OK;
    c->output_topic = strdup(stage->output_topic);
    c->state = malloc(sizeof *c->state);
    c->rec = hf_rec_ctx_new();
    if (c->output_topic == NULL || c->state == NULL || c->rec == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "linker context");
        goto fail;
    }
    if ((st = hf_mrn_hasher_new(cfg->mrn_key, strlen(cfg->mrn_key), &c->hasher, err)) != HF_OK) {
        char detail[sizeof err->msg];
        snprintf(detail, sizeof detail, "%s", err->msg);
        hf_err_set(err, st, "HL7FLOW_MRN_HASH_KEY: %s", detail);
        goto fail;
    }
    if ((st = hf_registry_open(reg_cfg, &c->registry, err)) != HF_OK)
        goto fail;
    if ((st = output_schema(c, err)) != HF_OK)
        goto fail;
    char *list = strdup(stage->input_topics), *save = NULL;
    if (list == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "linker context");
        goto fail;
    }
    for (char *t = strtok_r(list, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
        if (c->ninputs == MPI_MAX_INPUTS) {
            st = hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_TOPICS: at most %d topics",
                            MPI_MAX_INPUTS);
            break;
        }
        mpi_input *in = &c->inputs[c->ninputs++];
        in->topic = strdup(t);
        if (in->topic == NULL) {
            st = hf_err_set(err, HF_ENOMEM, "linker context");
            break;
        }
        st = hf_rec_reader_new(c->registry, t, HF_REC_STAGED, &in->reader, err);
        if (st != HF_OK)
            break;
    }
    free(list);
    if (st != HF_OK)
        goto fail;
    if (cfg->database[0] == '\0') {
        st = hf_err_set(err, HF_ECONFIG, "LINKER_DATABASE: required (a libpq conninfo or URI)");
        goto fail;
    }
    const mpi_empi_cfg ecfg = {cfg->database, cfg->match_model, cfg->mrn_key,
                               cfg->candidates_per_key};
    if ((st = mpi_empi_open(&ecfg, &c->empi, err)) != HF_OK)
        goto fail;
    if ((st = mpi_stores_open(cfg->state_dir, cfg->changelog, stage->input_topics,
                              cfg->restore_timeout_ms, cfg->block_cache_mb, &c->stores, err)) !=
        HF_OK)
        goto fail;
    if ((st = mpi_empi_poll_merges(c->empi, mpi_merges_add, c, err)) != HF_OK)
        goto fail;
    c->keep_except[0] = hf_rec_field_index("empi_id");
    c->keep_except[1] = hf_rec_field_index("linkage");
    c->linked_total = hf_metrics_counter("hl7flow_linker_linked_total",
                                         "Records the linker wrote to its output",
                                         "stage=\"mpi-linker\"");
    c->new_identities = hf_metrics_counter("hl7flow_linker_new_patients_total",
                                           "Patients the linker saw for the first time",
                                           "stage=\"mpi-linker\"");
    c->anomalies_total = hf_metrics_counter("hl7flow_linker_anomalies_total",
                                            "Records flagged with at least one anomaly",
                                            "stage=\"mpi-linker\"");
    HF_LOG(HF_LOG_INFO, "linker_ready", HF_LI("inputs", (int64_t)c->ninputs),
           HF_LID("changelog", cfg->changelog), HF_LI("merges_known", (int64_t)c->nmerges));
    *out = c;
    return HF_OK;
fail:
    mpi_ctx_destroy(c);
    return st;
}

void mpi_ctx_destroy(mpi_ctx *c) {
    if (c == NULL)
        return;
    mpi_stores_close(c->stores);
    mpi_empi_close(c->empi);
    for (size_t i = 0; i < c->ninputs; i++) {
        hf_rec_reader_destroy(c->inputs[i].reader);
        free(c->inputs[i].topic);
    }
    hf_registry_close(c->registry);
    hf_mrn_hasher_free(c->hasher);
    hf_rec_ctx_destroy(c->rec);
    hf_rec_buf_free(&c->out);
    hf_rec_buf_free(&c->state_buf);
    free(c->merges);
    free(c->state);
    free(c->output_topic);
    free(c);
}
