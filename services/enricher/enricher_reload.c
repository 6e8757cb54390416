/* enricher_reload.c - picking up changed facility metadata and code maps
 * without a restart. Called between records; a failed reload keeps what
 * is in use (the error is logged without content and counted). */
#include "hl7flow/log.h"
#include "enricher.h"

static void facilities(enr_ctx *c, int64_t now_ms) {
    bool reloaded = false;
    hf_err err = {0};
    hf_status st = hf_facility_dir_poll(c->facilities, now_ms, &reloaded, &err);
    if (st != HF_OK) {
        hf_counter_add(c->m.reload_failed_fac, 1);
        HF_LOG(HF_LOG_WARN, "facilities_reload_failed", HF_LERR(err.msg),
               HF_LI("facilities_in_use", (int64_t)hf_facility_dir_count(c->facilities)));
    } else if (reloaded) {
        hf_counter_add(c->m.reload_ok_fac, 1);
        hf_gauge_set(c->m.facilities, (double)hf_facility_dir_count(c->facilities));
        HF_LOG(HF_LOG_INFO, "facilities_reloaded",
               HF_LI("facilities", (int64_t)hf_facility_dir_count(c->facilities)));
    }
}

static void codemaps(enr_ctx *c, int64_t now_ms) {
    if (c->codemap == NULL || now_ms < c->next_codemap_check_ms)
        return;
    c->next_codemap_check_ms = now_ms + c->cfg->reload_ms;
    if (!hf_codemap_changed(c->codemap))
        return;
    hf_codemap *fresh = NULL;
    hf_err err = {0};
    if (hf_codemap_load(c->cfg->codemaps, &fresh, &err) != HF_OK) {
        hf_counter_add(c->m.reload_failed_maps, 1);
        HF_LOG(HF_LOG_WARN, "code_maps_reload_failed", HF_LERR(err.msg),
               HF_LI("entries_in_use", (int64_t)hf_codemap_size(c->codemap)));
        return;
    }
    hf_codemap_destroy(c->codemap);
    c->codemap = fresh;
    hf_counter_add(c->m.reload_ok_maps, 1);
    hf_gauge_set(c->m.code_entries, (double)hf_codemap_size(fresh));
    HF_LOG(HF_LOG_INFO, "code_maps_reloaded", HF_LI("entries", (int64_t)hf_codemap_size(fresh)));
}

void enr_reload_poll(enr_ctx *c, int64_t now_ms) {
    facilities(c, now_ms);
    codemaps(c, now_ms);
}
