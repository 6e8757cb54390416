/* linker_transform.c - one typed record to hl7.linked: load the patient's
 * state, assign the enterprise id, correlate, write the record with
 * empi_id and linkage, and the new state to the changelog. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hl7flow/log.h"
#include "hl7flow/timeutil.h"
#include "linker.h"

static hf_rec_reader *reader_of(mpi_ctx *c, const char *topic) {
    for (size_t i = 0; i < c->ninputs; i++)
        if (strcmp(c->inputs[i].topic, topic) == 0)
            return c->inputs[i].reader;
    return NULL;
}

static hf_span zspan(const char *z) { return (hf_span){z, strlen(z)}; }

/* The person EMPI assignment looks at: the enricher's normalized name and
 * sex when present, else PID as sent (hf_ls_person_of). */
static void person_of(const hf_rec *rec, const char *key, mpi_person *p) {
    memset(p, 0, sizeof *p);
    p->mrn_hash = key;
    p->facility_id = rec->facility_id;
    hf_ls_person_of(rec, &p->who);
    if (rec->patient != NULL)
        p->birth_date = rec->patient->birth_date;
}

/* Fills rec->empi_id and rec->linkage (memory from the record context). */
static hf_status set_linkage(mpi_ctx *c, hf_rec *rec, const hf_ls_state *st,
                             const hf_ls_link *l) {
    hf_rec_linkage *lk = hf_rec_alloc(c->rec, sizeof *lk);
    if (lk == NULL)
        return HF_ENOMEM;
    rec->empi_id = hf_rec_strdup(c->rec, st->empi_id, strlen(st->empi_id));
    lk->link_status = hf_rec_strdup(c->rec, st->link_status, strlen(st->link_status));
    lk->match_score = (hf_opt_f64){st->match_score, st->has_match_score};
    lk->encounter_visit_number = hf_rec_strdup(c->rec, l->visit, strlen(l->visit));
    lk->encounter_state = hf_rec_strdup(c->rec, l->enc_state, strlen(l->enc_state));
    lk->order_placer_number = hf_rec_strdup(c->rec, l->placer, strlen(l->placer));
    size_t n = 0;
    for (int b = 0; b < HF_LS_ANOMALY_COUNT; b++)
        n += (l->anomalies >> b) & 1u;
    if (n > 0) {
        lk->anomalies.v = hf_rec_alloc(c->rec, n * sizeof *lk->anomalies.v);
        if (lk->anomalies.v == NULL)
            return HF_ENOMEM;
        for (int b = 0; b < HF_LS_ANOMALY_COUNT; b++)
            if ((l->anomalies >> b) & 1u)
                lk->anomalies.v[lk->anomalies.n++] = zspan(hf_ls_anomaly_str(b));
    }
    lk->linked_ts = (hf_opt_i64){hf_wall_us(), true};
    rec->linkage = lk;
    return HF_OK;
}

hf_status mpi_transform(void *vctx, const hf_record *in, hf_emit *out, hf_dlq_reason *why) {
    mpi_ctx *c = vctx;
    hf_rec_reader *reader = reader_of(c, in->topic);
    if (reader == NULL)
        return hf_dlq_set(why, "state", "no reader for input topic %s", in->topic);
    hf_rec *rec = NULL;
    hf_err err = {0};
    hf_status st = hf_rec_reader_read_msg(reader, c->rec, in->value, in->value_len, in->headers,
                                          UINT64_MAX, &rec, &err);
    if (st == HF_ESYNTAX || st == HF_ENOTFOUND || st == HF_ECONFIG)
        return hf_dlq_set(why, "schema", "%s", err.msg);
    if (st != HF_OK)
        return st;

    char key[HF_LS_HASH];
    if (in->key == NULL || in->key_len == 0 || in->key_len >= sizeof key)
        return hf_dlq_set(why, "state", "record key: no MRN hash (key of %zu bytes)", in->key_len);
    memcpy(key, in->key, in->key_len);
    key[in->key_len] = '\0';
    mpi_store *store = mpi_stores_get(c->stores, in->partition);
    if (store == NULL) {
        snprintf(why->error, sizeof why->error, "no state store for partition %d",
                 (int)in->partition);
        return HF_ERETRY; /* not ours (any more): the batch is redone after the rebalance */
    }

    hf_ls_state *ps = c->state;
    bool found = false;
    st = mpi_store_load(store, key, ps, &found, &err);
    if (st == HF_ESYNTAX) {
        HF_LOG(HF_LOG_WARN, "state_unreadable", HF_LMRN(key), HF_LERR(err.msg));
        hf_ls_init(ps);
    } else if (st != HF_OK) {
        snprintf(why->error, sizeof why->error, "%s", err.msg);
        return HF_ERETRY;
    }
    if (!found)
        hf_counter_add(c->new_identities, 1);

    /* A merge another replica recorded for this identity. */
    const mpi_merge_entry *mg = mpi_merges_find(c, key);
    if (mg != NULL && ps->merged_into[0] == '\0') {
        snprintf(ps->merged_into, sizeof ps->merged_into, "%s", mg->survivor);
        snprintf(ps->empi_id, sizeof ps->empi_id, "%s", mg->empi_id);
        snprintf(ps->link_status, sizeof ps->link_status, "%s", "merged");
        ps->has_match_score = false;
    }
    if (ps->empi_id[0] == '\0') {
        mpi_person person;
        person_of(rec, key, &person);
        mpi_identity id;
        if ((st = mpi_empi_assign(c->empi, &person, &id, &err)) != HF_OK) {
            snprintf(why->error_class, sizeof why->error_class, "state");
            snprintf(why->error, sizeof why->error, "%s", err.msg);
            return st;
        }
        snprintf(ps->empi_id, sizeof ps->empi_id, "%s", id.empi_id);
        snprintf(ps->link_status, sizeof ps->link_status, "%s", id.link_status);
        ps->match_score = id.match_score;
        ps->has_match_score = id.has_match_score;
    }

    hf_ls_event ev;
    hf_ls_event_from_rec(rec, &ev);
    char prior[HF_MRN_HASH_HEX_LEN + 1] = "";
    if (rec->merge != NULL && rec->merge->prior_mrn.len > 0) {
        if (hf_mrn_hash(c->hasher, rec->facility_id, rec->merge->prior_mrn_assigning_authority,
                        rec->merge->prior_mrn, prior) != HF_OK)
            return HF_EFATAL;
        if (strcmp(prior, key) != 0) {
            ev.prior_mrn_hash = (hf_span){prior, HF_MRN_HASH_HEX_LEN};
            if ((st = mpi_empi_merge(c->empi, prior, key, ps->empi_id, rec->facility_id, &err)) !=
                HF_OK) {
                snprintf(why->error_class, sizeof why->error_class, "state");
                snprintf(why->error, sizeof why->error, "%s", err.msg);
                return st;
            }
            mpi_merges_add(prior, key, ps->empi_id, c);
        }
    }
    hf_ls_link link;
    hf_ls_apply(ps, &ev, &link);
    if (hf_ls_mark_applied(ps, in->topic, in->offset) != HF_OK)
        return hf_dlq_set(why, "state", "more than %d input topics", HF_LS_MAX_TOPICS);
    if (link.anomalies != 0)
        hf_counter_add(c->anomalies_total, 1);

    /* Output: every field as read but empi_id and linkage. */
    if ((st = set_linkage(c, rec, ps, &link)) != HF_OK)
        return st;
    for (int i = 0; i < HF_REC_TOP_MAX; i++)
        if (i != c->keep_except[0] && i != c->keep_except[1])
            hf_rec_keep(rec, i);
    c->out.len = 0;
    if ((st = hf_wire_put_header(&c->out, c->output_schema_id)) != HF_OK ||
        (st = hf_rec_encode(rec, HF_REC_STAGED, &c->out)) != HF_OK)
        return st;
    if ((st = hf_emit_record(out, c->output_topic, key, in->key_len, c->out.p, c->out.len)) !=
        HF_OK)
        return st;

    /* State: to the changelog (same transaction) and the pending batch. */
    c->state_buf.len = 0;
    if ((st = hf_ls_encode(ps, &c->state_buf)) != HF_OK)
        return st;
    if ((st = hf_emit_record(out, c->cfg->changelog, key, in->key_len, c->state_buf.p,
                             c->state_buf.len)) != HF_OK)
        return st;
    mpi_store_put(store, key, c->state_buf.p, c->state_buf.len);
    hf_counter_add(c->linked_total, 1);
    return HF_OK;
}

void mpi_tick(void *vctx, int64_t now_ms) {
    mpi_ctx *c = vctx;
    if (now_ms >= c->next_merge_poll_ms) {
        hf_err err = {0};
        if (mpi_empi_poll_merges(c->empi, mpi_merges_add, c, &err) != HF_OK)
            HF_LOG(HF_LOG_WARN, "merge_poll_failed", HF_LERR(err.msg));
        c->next_merge_poll_ms = now_ms + c->cfg->merge_poll_ms;
    }
    if (now_ms >= c->next_checkpoint_ms) {
        if (c->next_checkpoint_ms != 0)
            mpi_stores_checkpoint_all(c->stores);
        c->next_checkpoint_ms = now_ms + c->cfg->checkpoint_ms;
    }
}
