/* stage.c - the consume -> transform -> produce -> commit loop (stage.h).
 *
 * Single-threaded: the consumer, the producer's delivery reports and the
 * rebalance callback all run on the main thread inside our poll calls, so
 * the loop's state needs no locks. The only other thread of ours is the
 * HTTP server, which reads atomics (metrics, readiness).
 *
 * Batch life cycle:
 *   collect  poll until batch_max records or batch_wait_ms after the first
 *   process  exactly-once: begin txn, transform+produce each record, send
 *            the batch's next offsets to the txn, commit txn.
 *            at-least-once: transform+produce, flush, commit offsets.
 *   failure  abortable/transient: abort (EOS), seek every partition of the
 *            batch back to its first offset, back off, process again.
 *            fatal: leave the loop, exit 1.
 * A rebalance during collection drops the batch unprocessed (and rewinds
 * partitions we keep), so no record is processed for a partition we no
 * longer own.
 * HL7FLOW_INPUT_ORDER=ingest-time: collect holds what it polls in the merge
 * (stage_merge.h) and the batch is what the merge releases; a rewind or a
 * revocation drops the held records too (they are fetched again).
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emit_internal.h"
#include "hl7flow/headers.h"
#include "hl7flow/http.h"
#include "hl7flow/kafka.h"
#include "hl7flow/kafka_clients.h"
#include "hl7flow/log.h"
#include "hl7flow/metrics.h"
#include "hl7flow/stop.h"
#include "hl7flow/timeutil.h"
#include "stage_internal.h"
#include "stage_merge.h"

void hf_stage_request_stop(void) { hf_stop_request(); }

#define LABEL_CACHE 32

/* The phases of one batch, timed into hl7flow_batch_phase_seconds. */
typedef enum batch_phase {
    PHASE_COLLECT, /* first record polled .. batch closed */
    PHASE_PROCESS, /* transform + produce of every record */
    PHASE_OFFSETS, /* waiting for send_offsets_to_transaction after processing (EOS) */
    PHASE_COMMIT,  /* commit_transaction (EOS); flush + offset commit (ALO) */
    PHASE_MIRROR,  /* the dev broker's mirror offset commit (EOS) */
    PHASE_COUNT
} batch_phase;

static const char *const PHASE_NAMES[PHASE_COUNT] = {"collect", "process", "offsets", "commit",
                                                     "mirror"};

typedef struct label_counter {
    char key[96];
    hf_counter *c;
} label_counter;

typedef struct hf_stage {
    const hf_stage_def *def;
    const hf_stage_cfg *cfg;
    void *ctx;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    bool eos;
    rd_kafka_message_t **batch;
    size_t nbatch;
    hf_emit em;
    bool revoked;        /* set by the rebalance callback during collection */
    long dr_failed;      /* delivery failures in the current batch (ALO) */
    bool fatal;
    int64_t backoff_ms;
    int64_t next_lag_ms;
    char labels[128];    /* stage="name" */
    hf_counter *in_total, *aborted_total, *rebalances_total, *batches_total;
    hf_histogram *process_seconds, *commit_seconds;
    hf_histogram *phase_seconds[PHASE_COUNT]; /* where a batch's time goes */
    int64_t phase_t0;    /* hf_mono_ns() at the start of the current phase */
    label_counter out_cache[LABEL_CACHE];
    label_counter dlq_cache[LABEL_CACHE];
    hf_http *http;
    /* ingest-time input order (NULL otherwise) */
    hf_merge *merge;
    char **inputs;       /* input topic names; index = merge rank */
    int ninputs;
    rd_kafka_topic_partition_list_t *rewind_to; /* filled by merge drops during a rewind */
    hf_gauge *held_gauge;
    hf_counter *order_expired_total;
    uint64_t order_expired_seen;
} hf_stage;

/* ---- metrics helpers ---------------------------------------------------- */

static hf_counter *cached_counter(hf_stage *s, label_counter *cache, const char *name,
                                  const char *help, const char *label, const char *value) {
    for (size_t i = 0; i < LABEL_CACHE && cache[i].c != NULL; i++)
        if (strcmp(cache[i].key, value) == 0)
            return cache[i].c;
    char labels[256];
    snprintf(labels, sizeof labels, "%s,%s=\"%s\"", s->labels, label, value);
    hf_counter *c = hf_metrics_counter(name, help, labels);
    for (size_t i = 0; i < LABEL_CACHE; i++) {
        if (cache[i].c == NULL) {
            snprintf(cache[i].key, sizeof cache[i].key, "%s", value);
            cache[i].c = c;
            break;
        }
    }
    return c;
}

static void count_out(hf_stage *s, const char *topic) {
    hf_counter *c = cached_counter(s, s->out_cache, "hl7flow_records_out_total",
                                   "Records produced by the stage, by topic", "topic", topic);
    if (c != NULL)
        hf_counter_add(c, 1);
}

static void count_dlq(hf_stage *s, const char *cls) {
    hf_counter *c = cached_counter(s, s->dlq_cache, "hl7flow_records_dlq_total",
                                   "Records sent to the dead-letter topic, by error class",
                                   "class", cls);
    if (c != NULL)
        hf_counter_add(c, 1);
}

/* The lag gauge of one partition (NULL on allocation failure; the gauge
 * setters accept NULL). */
static hf_gauge *lag_gauge(const hf_stage *s, const char *topic, int32_t partition) {
    char labels[256];
    snprintf(labels, sizeof labels, "%s,topic=\"%s\",partition=\"%d\"", s->labels, topic,
             (int)partition);
    return hf_metrics_gauge("hl7flow_consumer_lag",
                            "Records between the consumer position and the partition end", labels);
}

static void update_lag(hf_stage *s) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(s->consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    rd_kafka_position(s->consumer, parts);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int64_t lo = -1, hi = -1;
        if (rd_kafka_get_watermark_offsets(s->consumer, p->topic, p->partition, &lo, &hi) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        int64_t pos = p->offset >= 0 ? p->offset : lo;
        hf_gauge_set(lag_gauge(s, p->topic, p->partition), (double)(hi > pos ? hi - pos : 0));
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

/* ---- Kafka callbacks ---------------------------------------------------- */

/* ---- ingest-time input order (stage_merge.h) ---------------------------- */

/* The merge rank of input topic @p topic: its place in HL7FLOW_INPUT_TOPICS. */
static int input_rank(const hf_stage *s, const char *topic) {
    for (int i = 0; i < s->ninputs; i++)
        if (strcmp(s->inputs[i], topic) == 0)
            return i;
    return -1;
}

/* Tells the merge about partitions assigned (@p assigned) or taken away. */
static void merge_assign(hf_stage *s, const rd_kafka_topic_partition_list_t *parts, bool assigned) {
    if (s->merge == NULL)
        return;
    for (int i = 0; i < parts->cnt; i++) {
        int rank = input_rank(s, parts->elems[i].topic);
        if (!assigned)
            hf_merge_revoke(s->merge, rank, parts->elems[i].partition);
        else if (!hf_merge_assign(s->merge, rank, parts->elems[i].partition))
            s->fatal = true; /* out of memory: cannot keep the order */
    }
}

/* The merge lets go of a held record: destroy it, and during a rewind
 * note its offset (the earliest per partition is where to seek). */
static void merge_drop(void *arg, void *msg, int rank, int32_t partition, int64_t offset) {
    hf_stage *s = arg;
    rd_kafka_message_destroy(msg);
    if (s->rewind_to == NULL || rank < 0 || rank >= s->ninputs)
        return;
    rd_kafka_topic_partition_t *p =
        rd_kafka_topic_partition_list_find(s->rewind_to, s->inputs[rank], partition);
    if (p == NULL)
        rd_kafka_topic_partition_list_add(s->rewind_to, s->inputs[rank], partition)->offset = offset;
    else if (offset < p->offset)
        p->offset = offset;
}

/* The merge asks to stop or restart fetching one input partition (its
 * hold limit). Pausing drops what the consumer fetched beyond the records
 * already handed to us; resuming fetches from there again. */
static void merge_flow(void *arg, int rank, int32_t partition, bool pause) {
    hf_stage *s = arg;
    if (rank < 0 || rank >= s->ninputs)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, s->inputs[rank], partition);
    rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(s->consumer, l)
                                    : rd_kafka_resume_partitions(s->consumer, l);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        HF_LOG(HF_LOG_DEBUG, "input_flow_failed", HF_LB("pause", pause),
               HF_LID("code", rd_kafka_err2name(err)));
    rd_kafka_topic_partition_list_destroy(l);
}

/* A record's ordering time: its ingest_ts header, else its timestamp. */
static int64_t order_time_us(rd_kafka_message_t *m) {
    rd_kafka_headers_t *h = NULL;
    char ts[64];
    int64_t us = 0;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        hf_kafka_header_str(h, HF_H_INGEST_TS, ts, sizeof ts) && hf_ts_parse(ts, strlen(ts), &us))
        return us;
    rd_kafka_timestamp_type_t tstype;
    int64_t ms = rd_kafka_message_timestamp(m, &tstype);
    return ms >= 0 ? ms * 1000 : 0;
}

/* Records one input partition may hold before it is paused. */
#define MERGE_HOLD_MAX 512

/* Splits HL7FLOW_INPUT_TOPICS into s->inputs and creates the merge. */
static hf_status merge_open(hf_stage *s, hf_err *err) {
    char *list = strdup(s->cfg->input_topics), *save = NULL;
    if (list == NULL)
        return hf_err_set(err, HF_ENOMEM, "input topics");
    size_t cap = strlen(list) / 2 + 1;
    s->inputs = calloc(cap, sizeof *s->inputs);
    for (char *t = strtok_r(list, ", ", &save); t != NULL && s->inputs != NULL;
         t = strtok_r(NULL, ", ", &save))
        if (input_rank(s, t) < 0 && (s->inputs[s->ninputs] = strdup(t)) != NULL)
            s->ninputs++;
    free(list);
    if (s->inputs == NULL)
        return hf_err_set(err, HF_ENOMEM, "input topics");
    const hf_merge_hooks hooks = {merge_drop, merge_flow, s};
    s->merge = hf_merge_new(s->ninputs, s->cfg->order_wait_ms, MERGE_HOLD_MAX, &hooks);
    if (s->merge == NULL)
        return hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_ORDER=ingest-time: no input topic");
    s->held_gauge = hf_metrics_gauge("hl7flow_input_held_records",
                                     "Records consumed and held for ingest-time order", s->labels);
    s->order_expired_total = hf_metrics_counter(
        "hl7flow_input_order_wait_expired_total",
        "Records released before an input with records in flight caught up", s->labels);
    return HF_OK;
}

static void merge_close(hf_stage *s) {
    hf_merge_free(s->merge); /* destroys what it holds */
    s->merge = NULL;
    for (int i = 0; i < s->ninputs; i++)
        free(s->inputs[i]);
    free(s->inputs);
    s->inputs = NULL;
    s->ninputs = 0;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    hf_stage *s = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    hf_counter_add(s->rebalances_total, 1);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        HF_LOG(HF_LOG_INFO, "partitions_assigned", HF_LI("count", parts->cnt),
               HF_LB("cooperative", cooperative));
        if (s->def->on_assign != NULL && s->def->on_assign(s->ctx, rk, parts) != HF_OK) {
            /* The partitions cannot be processed (their state is not
             * there): take none, drop the batch in hand, stop. */
            HF_LOG(HF_LOG_ERROR, "assign_hook_failed", HF_LI("count", parts->cnt));
            s->fatal = true;
            s->revoked = true;
            return;
        }
        merge_assign(s, parts, true);
        if (cooperative) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e != NULL) {
                HF_LOG(HF_LOG_ERROR, "assign_failed", HF_LERR(rd_kafka_error_string(e)));
                rd_kafka_error_destroy(e);
            }
        } else {
            rd_kafka_assign(rk, parts);
        }
        hf_ready_set("assigned", true);
        s->next_lag_ms = 0;
        return;
    }
    s->revoked = true;
    merge_assign(s, parts, false);
    if (s->def->on_revoke != NULL)
        s->def->on_revoke(s->ctx, parts);
    for (int i = 0; i < parts->cnt; i++) {
        /* A partition we no longer own has no lag of ours. */
        hf_gauge_set(lag_gauge(s, parts->elems[i].topic, parts->elems[i].partition), 0);
    }
    HF_LOG(HF_LOG_INFO, "partitions_revoked", HF_LI("count", parts->cnt),
           HF_LID("reason", rd_kafka_err2name(err)));
    if (cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e != NULL)
            rd_kafka_error_destroy(e);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    hf_stage *s = opaque;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        s->dr_failed++;
        HF_LOG(HF_LOG_WARN, "delivery_failed", HF_LID("topic", rd_kafka_topic_name(m->rkt)),
               HF_LID("code", rd_kafka_err2name(m->err)));
    }
}

/* ---- transactions ------------------------------------------------------- */

typedef enum { TXN_OK, TXN_RETRY, TXN_ABORT, TXN_FATAL } txn_action;

/* Classifies (and destroys) a transactional API error per librdkafka's
 * INTRODUCTION.md: retriable, abortable, fatal; unknown counts as fatal. */
static txn_action txn_classify(rd_kafka_error_t *e, const char *call) {
    if (e == NULL)
        return TXN_OK;
    txn_action a = rd_kafka_error_is_fatal(e)               ? TXN_FATAL
                   : rd_kafka_error_txn_requires_abort(e)  ? TXN_ABORT
                   : rd_kafka_error_is_retriable(e)        ? TXN_RETRY
                                                           : TXN_FATAL;
    HF_LOG(a == TXN_FATAL ? HF_LOG_ERROR : HF_LOG_WARN, "txn_error", HF_LID("call", call),
           HF_LID("code", rd_kafka_err2name(rd_kafka_error_code(e))),
           HF_LERR(rd_kafka_error_string(e)));
    rd_kafka_error_destroy(e);
    return a;
}

static bool stopping_past_deadline(int64_t deadline_ms) {
    return hf_stop_requested() && hf_mono_ms() > deadline_ms;
}

/* A transactional call of librdkafka's shape: (producer, timeout_ms). */
typedef rd_kafka_error_t *(*txn_fn)(rd_kafka_t *rk, int timeout_ms);

static rd_kafka_error_t *txn_begin(rd_kafka_t *rk, int timeout_ms) {
    (void)timeout_ms;
    return rd_kafka_begin_transaction(rk);
}

/* Calls @p fn, retrying a retriable error (serving the producer's queue
 * for 100 ms between tries) until it succeeds or, once a stop is
 * requested, the drain deadline passes; a retriable error left at the end
 * counts as abortable. */
static txn_action txn_call(hf_stage *s, txn_fn fn, const char *name) {
    int64_t deadline = hf_mono_ms() + s->cfg->commit_timeout_ms;
    for (;;) {
        txn_action a = txn_classify(fn(s->producer, (int)s->cfg->commit_timeout_ms), name);
        if (a != TXN_RETRY)
            return a;
        if (stopping_past_deadline(deadline))
            return TXN_ABORT;
        rd_kafka_poll(s->producer, 100);
    }
}

/* ---- batch helpers ------------------------------------------------------ */

static void batch_free(hf_stage *s) {
    for (size_t i = 0; i < s->nbatch; i++)
        rd_kafka_message_destroy(s->batch[i]);
    s->nbatch = 0;
}

/* Offsets of the batch per partition: first (for rewinds) or next (for
 * commits). */
static rd_kafka_topic_partition_list_t *batch_offsets(hf_stage *s, bool next) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < s->nbatch; i++) {
        rd_kafka_message_t *m = s->batch[i];
        const char *t = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(l, t, m->partition);
        if (p == NULL) {
            p = rd_kafka_topic_partition_list_add(l, t, m->partition);
            p->offset = next ? m->offset + 1 : m->offset;
        } else if (next && m->offset + 1 > p->offset) {
            p->offset = m->offset + 1;
        } else if (!next && m->offset < p->offset) {
            p->offset = m->offset;
        }
    }
    return l;
}

/* Seeks every partition of the batch (and of the records the merge holds)
 * back to its first record, so the records are fetched and processed
 * again. */
static void batch_rewind(hf_stage *s) {
    rd_kafka_topic_partition_list_t *l = batch_offsets(s, false);
    if (s->merge != NULL) {
        /* Held records come after the batch's in their partitions: seek to
         * the earliest of both, and let the merge wait for them again. */
        s->rewind_to = l;
        hf_merge_drop_all(s->merge);
        s->rewind_to = NULL;
    }
    /* librdkafka <= 2.0.x takes this timeout 1000x too low; -1 waits. */
    rd_kafka_error_t *e = rd_kafka_seek_partitions(s->consumer, l, -1);
    if (e != NULL) {
        HF_LOG(HF_LOG_WARN, "rewind_failed", HF_LERR(rd_kafka_error_string(e)));
        rd_kafka_error_destroy(e);
    }
    rd_kafka_topic_partition_list_destroy(l);
    batch_free(s);
}

static void backoff_sleep(hf_stage *s) {
    int64_t until = hf_mono_ms() + s->backoff_ms;
    while (!hf_stop_requested() && hf_mono_ms() < until)
        rd_kafka_poll(s->producer, 50);
    s->backoff_ms = s->backoff_ms * 2 > 30000 ? 30000 : s->backoff_ms * 2;
}

/* Produces one record, taking @p hdrs. Waits while the local queue is full.
 * Returns false when the batch must be aborted. */
static bool produce(hf_stage *s, const char *topic, const void *key, size_t klen,
                    const void *val, size_t vlen, rd_kafka_headers_t *hdrs) {
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            s->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen),
            RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return true;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !hf_kafka_fatal_seen()) {
            rd_kafka_poll(s->producer, 50);
            continue;
        }
        rd_kafka_headers_destroy(hdrs);
        HF_LOG(HF_LOG_WARN, "produce_failed", HF_LID("topic", topic),
               HF_LID("code", rd_kafka_err2name(err)));
        if (err == RD_KAFKA_RESP_ERR__FATAL)
            s->fatal = true;
        return false;
    }
}

static rd_kafka_headers_t *input_headers_copy(rd_kafka_message_t *m) {
    rd_kafka_headers_t *in = NULL;
    if (rd_kafka_message_headers(m, &in) == RD_KAFKA_RESP_ERR_NO_ERROR && in != NULL)
        return rd_kafka_headers_copy(in);
    return rd_kafka_headers_new(8);
}

static bool produce_outputs(hf_stage *s, rd_kafka_message_t *m) {
    hf_emit *em = &s->em;
    for (size_t i = 0; i < em->nout; i++) {
        const hf_emit_out *o = &em->out[i];
        rd_kafka_headers_t *h = input_headers_copy(m);
        for (size_t k = o->hdr_first; k < o->hdr_first + o->hdr_count; k++) {
            const char *name = em->arena + em->hdr[k].name_off;
            rd_kafka_header_remove(h, name);
            rd_kafka_header_add(h, name, -1, em->arena + em->hdr[k].value_off,
                                (ssize_t)em->hdr[k].value_len);
        }
        const char *topic = em->arena + o->topic_off;
        if (!produce(s, topic, o->has_key ? em->arena + o->key_off : NULL, o->key_len,
                     o->has_value ? em->arena + o->value_off : NULL, o->value_len, h))
            return false;
        count_out(s, topic);
    }
    return true;
}

static void header_set_str(rd_kafka_headers_t *h, const char *name, const char *val) {
    rd_kafka_header_remove(h, name);
    rd_kafka_header_add(h, name, -1, val, -1);
}

/* Sends the input record, as read, to the DLQ with DESIGN.md's headers. */
static bool produce_dlq(hf_stage *s, rd_kafka_message_t *m, const hf_dlq_reason *why) {
    rd_kafka_headers_t *h = input_headers_copy(m);
    char num[32], ts[40];
    header_set_str(h, HF_H_DLQ_STAGE, s->def->name);
    header_set_str(h, HF_H_DLQ_CLASS, why->error_class[0] ? why->error_class : "unknown");
    header_set_str(h, HF_H_DLQ_ERROR, why->error[0] ? why->error : "no detail given");
    header_set_str(h, HF_H_DLQ_TOPIC, rd_kafka_topic_name(m->rkt));
    snprintf(num, sizeof num, "%d", (int)m->partition);
    header_set_str(h, HF_H_DLQ_PARTITION, num);
    snprintf(num, sizeof num, "%lld", (long long)m->offset);
    header_set_str(h, HF_H_DLQ_OFFSET, num);
    hf_ts_format(hf_wall_us(), ts, sizeof ts);
    header_set_str(h, HF_H_DLQ_TS, ts);
    if (!produce(s, s->cfg->dlq_topic, m->key, m->key_len, m->payload, m->len, h))
        return false;
    count_dlq(s, why->error_class[0] ? why->error_class : "unknown");
    return true;
}

/* REC_REDO: the outputs are committed but the input offsets are not stored
 * (the dev broker's mirror commit failed): local state is dropped and the
 * batch processed again, as after an abort. */
typedef enum { REC_OK, REC_ABORT, REC_RETRY, REC_REDO, REC_FATAL } rec_result;

/* Runs the transform on one record and produces what it asks for. */
static rec_result process_record(hf_stage *s, rd_kafka_message_t *m) {
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        hdrs = NULL;
    rd_kafka_timestamp_type_t tstype;
    hf_record rec = {
        .topic = rd_kafka_topic_name(m->rkt),
        .partition = m->partition,
        .offset = m->offset,
        .timestamp_ms = rd_kafka_message_timestamp(m, &tstype),
        .key = m->key,
        .key_len = m->key_len,
        .value = m->payload,
        .value_len = m->len,
        .headers = hdrs,
    };
    hf_dlq_reason why;
    why.error_class[0] = '\0';
    why.error[0] = '\0';
    hf_emit_reset(&s->em);
    int64_t t0 = hf_mono_ns();
    hf_status st = s->def->transform(s->ctx, &rec, &s->em, &why);
    hf_histogram_observe(s->process_seconds, (double)(hf_mono_ns() - t0) / 1e9);
    if (st == HF_ERETRY) {
        HF_LOG(HF_LOG_WARN, "transform_retry", HF_LID("topic", rec.topic),
               HF_LI("partition", rec.partition), HF_LI("offset", rec.offset), HF_LERR(why.error));
        return REC_RETRY;
    }
    if (st == HF_EFATAL) {
        HF_LOG(HF_LOG_ERROR, "transform_fatal", HF_LERR(why.error));
        return REC_FATAL;
    }
    if (st == HF_ENOMEM) {
        HF_LOG(HF_LOG_ERROR, "transform_out_of_memory", HF_LI("offset", rec.offset));
        return REC_FATAL;
    }
    if (st != HF_OK) {
        if (why.error_class[0] == '\0')
            snprintf(why.error_class, sizeof why.error_class, "%s", "internal");
        return produce_dlq(s, m, &why) ? REC_OK : REC_ABORT;
    }
    return produce_outputs(s, m) ? REC_OK : REC_ABORT;
}

/* Ends the current phase of the batch: observes its time, starts the next. */
static void phase_end(hf_stage *s, batch_phase phase) {
    int64_t now = hf_mono_ns();
    hf_histogram_observe(s->phase_seconds[phase], (double)(now - s->phase_t0) / 1e9);
    s->phase_t0 = now;
}

/* Transforms and produces every record of the batch (no commit). */
static rec_result process_batch_once(hf_stage *s) {
    for (size_t i = 0; i < s->nbatch; i++) {
        rec_result r = process_record(s, s->batch[i]);
        if (r != REC_OK)
            return r;
        if ((i & 255) == 255)
            rd_kafka_poll(s->producer, 0);
    }
    return REC_OK;
}

/* Commits the batch's next offsets from the consumer as well, synchronously
 * so that at most the batch in flight is redone after a crash. The
 * transaction already holds them; this only matters where transactional
 * offsets are not stored (the dev broker's mock cluster). Never moves an
 * offset backwards: the values are the ones just committed. Returns false
 * when they were not stored (e.g. REBALANCE_IN_PROGRESS). */
static bool mirror_commit(hf_stage *s) {
    rd_kafka_topic_partition_list_t *offs = batch_offsets(s, true);
    rd_kafka_resp_err_t err = rd_kafka_commit(s->consumer, offs, 0 /* sync */);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        HF_LOG(HF_LOG_WARN, "mirror_commit_failed", HF_LID("code", rd_kafka_err2name(err)));
    rd_kafka_topic_partition_list_destroy(offs);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* The batch's offsets on their way into its transaction. The batch's next
 * offsets are known before it is processed, so send_offsets_to_transaction
 * runs on a thread of its own while the main thread transforms and
 * produces: its two round trips (AddOffsetsToTxn to the transaction
 * coordinator, TxnOffsetCommit to the group coordinator) overlap the work
 * instead of following it. librdkafka allows produce calls from another
 * thread meanwhile; no other transactional call runs until it is joined. */
typedef struct offsets_job {
    hf_stage *s;
    rd_kafka_topic_partition_list_t *offs;
    rd_kafka_consumer_group_metadata_t *cgmd;
    txn_action result;
    pthread_t thread;
    bool threaded;
} offsets_job;

/* The job's thread: send_offsets_to_transaction, retried as txn_call does
 * (a retriable error is retried until it succeeds or the drain deadline
 * passes) but sleeping between tries: the main thread serves the
 * producer's queue. Touches nothing of the stage but its settings. */
static void *offsets_send(void *arg) {
    offsets_job *j = arg;
    int64_t deadline = hf_mono_ms() + j->s->cfg->commit_timeout_ms;
    for (;;) {
        j->result = txn_classify(rd_kafka_send_offsets_to_transaction(
                                     j->s->producer, j->offs, j->cgmd,
                                     (int)j->s->cfg->commit_timeout_ms),
                                 "send_offsets_to_transaction");
        if (j->result != TXN_RETRY || stopping_past_deadline(deadline))
            break;
        nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    }
    if (j->result == TXN_RETRY)
        j->result = TXN_ABORT;
    return NULL;
}

/* Starts sending the current batch's next offsets (sent in line when no
 * thread can be started). The transaction must be open. */
static void offsets_start(hf_stage *s, offsets_job *j) {
    *j = (offsets_job){.s = s, .offs = batch_offsets(s, true),
                       .cgmd = rd_kafka_consumer_group_metadata(s->consumer)};
    j->threaded = pthread_create(&j->thread, NULL, offsets_send, j) == 0;
    if (!j->threaded)
        offsets_send(j);
}

/* Waits for the job and frees it; returns how the send ended. */
static txn_action offsets_finish(offsets_job *j) {
    if (j->threaded)
        pthread_join(j->thread, NULL);
    rd_kafka_consumer_group_metadata_destroy(j->cgmd);
    rd_kafka_topic_partition_list_destroy(j->offs);
    return j->result;
}

static rec_result run_batch_eos(hf_stage *s) {
    txn_action a = txn_call(s, txn_begin, "begin_transaction");
    if (a != TXN_OK)
        return a == TXN_FATAL ? REC_FATAL : REC_ABORT;
    offsets_job offsets;
    offsets_start(s, &offsets);
    rec_result r = process_batch_once(s);
    phase_end(s, PHASE_PROCESS);
    a = offsets_finish(&offsets);
    phase_end(s, PHASE_OFFSETS);
    if (r == REC_OK && s->fatal)
        r = REC_FATAL; /* never commit once the loop must stop */
    if (r == REC_OK && a != TXN_OK)
        r = a == TXN_FATAL ? REC_FATAL : REC_ABORT;
    if (r == REC_OK) {
        int64_t t0 = hf_mono_ns();
        a = txn_call(s, rd_kafka_commit_transaction, "commit_transaction");
        hf_histogram_observe(s->commit_seconds, (double)(hf_mono_ns() - t0) / 1e9);
        phase_end(s, PHASE_COMMIT);
        if (a == TXN_OK) {
            /* Offsets not stored: the batch's input would be read again from
             * the old offsets, so its state changes must not be kept (a
             * store ahead of its input offsets applies events twice). */
            if (s->cfg->eos_mirror_commit) {
                bool stored = mirror_commit(s);
                phase_end(s, PHASE_MIRROR);
                if (!stored)
                    return REC_REDO;
            }
            return REC_OK;
        }
        r = a == TXN_FATAL ? REC_FATAL : REC_ABORT;
    }
    if (r == REC_FATAL || s->fatal)
        return REC_FATAL;
    hf_counter_add(s->aborted_total, 1);
    a = txn_call(s, rd_kafka_abort_transaction, "abort_transaction");
    if (a == TXN_FATAL)
        return REC_FATAL;
    return r;
}

static rec_result run_batch_alo(hf_stage *s) {
    s->dr_failed = 0;
    rec_result r = process_batch_once(s);
    phase_end(s, PHASE_PROCESS);
    if (r != REC_OK || s->fatal)
        return r == REC_FATAL || s->fatal ? REC_FATAL : r;
    int64_t t0 = hf_mono_ns();
    rd_kafka_resp_err_t ferr = rd_kafka_flush(s->producer, (int)s->cfg->commit_timeout_ms);
    if (ferr != RD_KAFKA_RESP_ERR_NO_ERROR || s->dr_failed > 0) {
        HF_LOG(HF_LOG_WARN, "batch_not_acknowledged", HF_LI("failed", s->dr_failed),
               HF_LI("in_queue", rd_kafka_outq_len(s->producer)));
        return hf_kafka_fatal_seen() ? REC_FATAL : REC_ABORT;
    }
    int64_t t1 = hf_mono_ns();
    rd_kafka_topic_partition_list_t *offs = batch_offsets(s, true);
    rd_kafka_resp_err_t cerr = rd_kafka_commit(s->consumer, offs, 0 /* sync */);
    HF_LOG(HF_LOG_DEBUG, "alo_commit", HF_LI("records", s->nbatch), HF_LI("flush_us", (t1 - t0) / 1000),
           HF_LI("commit_us", (hf_mono_ns() - t1) / 1000));
    rd_kafka_topic_partition_list_destroy(offs);
    hf_histogram_observe(s->commit_seconds, (double)(hf_mono_ns() - t0) / 1e9);
    phase_end(s, PHASE_COMMIT);
    if (cerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Outputs are stored; only the offsets are not. After a rebalance
         * the new owner reprocesses them: at-least-once, as configured. */
        HF_LOG(HF_LOG_WARN, "offset_commit_failed", HF_LID("code", rd_kafka_err2name(cerr)));
    }
    return REC_OK;
}

/* ---- collection --------------------------------------------------------- */

/* Handles a consumer event that is not a record. */
static void consumer_error(hf_stage *s, rd_kafka_message_t *m) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        return;
    HF_LOG(HF_LOG_WARN, "consume_error", HF_LID("code", rd_kafka_err2name(m->err)),
           HF_LERR(rd_kafka_message_errstr(m)));
    if (m->err == RD_KAFKA_RESP_ERR__FATAL)
        s->fatal = true;
}

static void collect(hf_stage *s) {
    s->revoked = false;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, 100);
    if (m == NULL)
        return;
    if (m->err) {
        consumer_error(s, m);
        rd_kafka_message_destroy(m);
        return;
    }
    s->batch[s->nbatch++] = m;
    s->phase_t0 = hf_mono_ns();
    int64_t deadline = hf_mono_ms() + s->cfg->batch_wait_ms;
    while (s->nbatch < (size_t)s->cfg->batch_max && !s->revoked) {
        int64_t left = deadline - hf_mono_ms();
        m = rd_kafka_consumer_poll(s->consumer, left > 0 ? (int)left : 0);
        if (m == NULL)
            break;
        if (m->err) {
            consumer_error(s, m);
            rd_kafka_message_destroy(m);
            continue;
        }
        s->batch[s->nbatch++] = m;
    }
}

/* Ingest-time order: polls into the merge (until batch_max records or
 * batch_wait_ms after the first event; the merge pauses partitions that
 * hold too much), then takes what the merge releases as the batch. */
static void collect_merged(hf_stage *s) {
    s->revoked = false;
    size_t batch_max = (size_t)s->cfg->batch_max, got = 0;
    int64_t left = hf_merge_wait_left(s->merge, hf_mono_ms());
    int timeout = left >= 0 && left < 100 ? (int)left : 100;
    int64_t deadline = -1;
    s->phase_t0 = hf_mono_ns(); /* restarted at the first event */
    while (got < batch_max && !s->revoked) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, timeout);
        if (m == NULL)
            break;
        const char *topic = m->rkt != NULL ? rd_kafka_topic_name(m->rkt) : "";
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            hf_merge_eof(s->merge, input_rank(s, topic), m->partition);
            rd_kafka_message_destroy(m);
        } else if (m->err) {
            consumer_error(s, m);
            rd_kafka_message_destroy(m);
        } else if (hf_merge_push(s->merge, input_rank(s, topic), m->partition, m->offset,
                                 order_time_us(m), m)) {
            got++;
        } else {
            /* Unknown topic or out of memory: the order cannot be kept. */
            HF_LOG(HF_LOG_ERROR, "input_order_hold_failed", HF_LID("topic", topic),
                   HF_LI("partition", m->partition));
            rd_kafka_message_destroy(m);
            s->fatal = true;
            break;
        }
        if (deadline < 0) {
            deadline = hf_mono_ms() + s->cfg->batch_wait_ms;
            s->phase_t0 = hf_mono_ns();
        }
        int64_t l = deadline - hf_mono_ms();
        timeout = l > 0 ? (int)l : 0;
    }
    if (!s->revoked && !s->fatal)
        s->nbatch = hf_merge_release(s->merge, hf_mono_ms(), (void **)s->batch, batch_max);
    hf_gauge_set(s->held_gauge, (double)hf_merge_held(s->merge));
    uint64_t expired = hf_merge_expired(s->merge);
    hf_counter_add(s->order_expired_total, expired - s->order_expired_seen);
    s->order_expired_seen = expired;
}

/* ---- setup and main loop ------------------------------------------------ */

/* Fetches the metadata of an output topic before the first record, so the
 * first batch does not wait for it (and a missing topic shows in the log at
 * start, not at the first record). */
static void warm_up(hf_stage *s, const char *topic) {
    rd_kafka_resp_err_t err = hf_kafka_topic_partitions(s->producer, topic, 10000, NULL, 0, NULL);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        HF_LOG(HF_LOG_WARN, "output_topic_unavailable", HF_LID("topic", topic),
               HF_LID("code", rd_kafka_err2name(err)));
}

static hf_status stage_open(hf_stage *s, hf_err *err) {
    const hf_stage_cfg *c = s->cfg;
    char txid[512], host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    if (c->transactional_id[0] != '\0')
        snprintf(txid, sizeof txid, "%s", c->transactional_id);
    else
        snprintf(txid, sizeof txid, "%s-%s", c->group_id, c->instance_id[0] ? c->instance_id : host);

    const char *cdefs[] = {"group.id", c->group_id,
                           "enable.auto.commit", "false",
                           "enable.auto.offset.store", "false",
                           "isolation.level", "read_committed",
                           "auto.offset.reset", "earliest",
                           /* EAGER range: cooperative-sticky loops in librdkafka
                            * < 2.6.1 (#4800); see docs/architecture.md. */
                           "partition.assignment.strategy", "range",
                           /* ingest-time order needs to know when an input is caught up */
                           "enable.partition.eof", s->merge != NULL ? "true" : "false",
                           c->instance_id[0] ? "group.instance.id" : NULL, c->instance_id,
                           NULL};
    const char *pdefs[] = {"enable.idempotence", "true",
                           "acks", "all",
                           "partitioner", "murmur2_random",
                           "linger.ms", "5",
                           s->eos ? "transactional.id" : NULL, txid,
                           NULL};
    const hf_kafka_clients_spec spec = {cdefs, pdefs, rebalance_cb, dr_cb, s};
    hf_status st = hf_kafka_clients_open(&spec, &s->consumer, &s->producer, err);
    if (st != HF_OK)
        return st;

    if (s->eos) {
        for (;;) {
            rd_kafka_error_t *e = rd_kafka_init_transactions(s->producer, 30000);
            if (e == NULL)
                break;
            bool retry = rd_kafka_error_is_retriable(e) && !hf_stop_requested();
            hf_err_set(err, HF_EFATAL, "init_transactions (%s): %s", txid, rd_kafka_error_string(e));
            HF_LOG(HF_LOG_WARN, "init_transactions_failed", HF_LID("transactional_id", txid),
                   HF_LERR(rd_kafka_error_string(e)), HF_LB("retrying", retry));
            rd_kafka_error_destroy(e);
            if (!retry)
                return HF_EFATAL;
        }
    }
    warm_up(s, c->output_topic);
    warm_up(s, c->dlq_topic);
    hf_ready_set("kafka", true);

    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(4);
    char *list = strdup(c->input_topics), *save = NULL;
    for (char *t = strtok_r(list, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save))
        rd_kafka_topic_partition_list_add(topics, t, RD_KAFKA_PARTITION_UA);
    free(list);
    if (topics->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(topics);
        return hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_TOPICS: no topic given");
    }
    rd_kafka_resp_err_t serr = rd_kafka_subscribe(s->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (serr != RD_KAFKA_RESP_ERR_NO_ERROR)
        return hf_err_set(err, HF_EFATAL, "subscribe: %s", rd_kafka_err2str(serr));
    HF_LOG(HF_LOG_INFO, "stage_started", HF_LID("inputs", c->input_topics),
           HF_LID("output", c->output_topic), HF_LID("group", c->group_id),
           HF_LID("instance_id", c->instance_id),
           HF_LB("exactly_once", s->eos),
           HF_LID("transactional_id", s->eos ? txid : ""));
    return HF_OK;
}

static int stage_loop(hf_stage *s) {
    while (!hf_stop_requested() && !s->fatal && !hf_kafka_fatal_seen()) {
        if (hf_mono_ms() >= s->next_lag_ms) {
            update_lag(s);
            s->next_lag_ms = hf_mono_ms() + s->cfg->lag_interval_ms;
        }
        if (s->def->tick != NULL)
            s->def->tick(s->ctx, hf_mono_ms());
        if (s->merge != NULL)
            collect_merged(s);
        else
            collect(s);
        if (s->nbatch == 0)
            continue;
        phase_end(s, PHASE_COLLECT);
        if (s->revoked) {
            HF_LOG(HF_LOG_INFO, "batch_dropped_on_rebalance", HF_LI("records", s->nbatch));
            batch_rewind(s);
            continue;
        }
        hf_counter_add(s->in_total, s->nbatch);
        for (;;) {
            rec_result r = s->eos ? run_batch_eos(s) : run_batch_alo(s);
            if (s->def->batch_done != NULL)
                s->def->batch_done(s->ctx, r == REC_OK);
            if (r == REC_OK) {
                hf_counter_add(s->batches_total, 1);
                s->backoff_ms = s->cfg->retry_backoff_ms;
                hf_ready_set("processing", true);
                batch_free(s);
                break;
            }
            if (r == REC_FATAL || s->fatal || hf_kafka_fatal_seen()) {
                s->fatal = true;
                batch_free(s);
                break;
            }
            if (r == REC_REDO) {
                /* Committed outputs, offsets not stored: read it again
                 * (the dev broker shows the first outputs as duplicates). */
                HF_LOG(HF_LOG_WARN, "batch_redo", HF_LI("records", s->nbatch));
                batch_rewind(s);
                break;
            }
            /* Abort or transient: rewind and process again after a pause. */
            hf_ready_set("processing", false);
            HF_LOG(HF_LOG_WARN, "batch_retry", HF_LI("records", s->nbatch),
                   HF_LI("backoff_ms", s->backoff_ms));
            batch_rewind(s);
            backoff_sleep(s);
            break;
        }
    }
    return s->fatal || hf_kafka_fatal_seen() ? 1 : 0;
}

static void stage_close(hf_stage *s) {
    if (s->consumer != NULL) {
        /* Leaves the group (rebalance callback revokes) and commits nothing:
         * every processed batch is already committed. */
        rd_kafka_consumer_close(s->consumer);
        rd_kafka_destroy(s->consumer);
        s->consumer = NULL;
    }
    if (s->producer != NULL) {
        rd_kafka_flush(s->producer, (int)s->cfg->commit_timeout_ms);
        rd_kafka_destroy(s->producer);
        s->producer = NULL;
    }
}

int hf_stage_main(int argc, char **argv, const hf_stage_def *def) {
    hf_log_init(def->name);
    hf_stage_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    hf_stage_cfg_vars svars;
    hf_stage_cfg_table(def, &svars);

    size_t ntables = 1 + def->ntables;
    hf_cfg_table tables[9];
    if (ntables > 9)
        ntables = 9;
    tables[0] = svars.table;
    for (size_t i = 1; i < ntables; i++)
        tables[i] = def->tables[i - 1];

    bool dump = false;
    int rc = 1;
    int ar = hf_cfg_args(argc, argv, def->synopsis, tables, ntables, &dump);
    if (ar == 1)
        return 0;
    if (ar < 0)
        return 2;

    hf_stage s;
    memset(&s, 0, sizeof s);
    hf_err err = {0};
    if (hf_cfg_load(&svars.table, &cfg, &err) != HF_OK)
        goto out;
    for (size_t i = 1; i < ntables; i++)
        if (hf_cfg_load(&tables[i], def->cfgs[i - 1], &err) != HF_OK)
            goto out;
    hf_log_set_level((hf_log_level)cfg.log_level);
    if (dump) {
        hf_cfg_dump(stdout, &svars.table, &cfg);
        for (size_t i = 1; i < ntables; i++)
            hf_cfg_dump(stdout, &tables[i], def->cfgs[i - 1]);
        rc = 0;
        goto out;
    }
    hf_stop_on_signals();

    s.def = def;
    s.cfg = &cfg;
    s.eos = cfg.guarantee == HF_GUARANTEE_EXACTLY_ONCE;
    s.backoff_ms = cfg.retry_backoff_ms;
    snprintf(s.labels, sizeof s.labels, "stage=\"%s\"", def->name);
    s.in_total = hf_metrics_counter("hl7flow_records_in_total", "Records consumed by the stage", s.labels);
    s.aborted_total = hf_metrics_counter("hl7flow_transactions_aborted_total",
                                         "Batches aborted and retried", s.labels);
    s.rebalances_total = hf_metrics_counter("hl7flow_rebalances_total",
                                            "Partition assignment changes seen", s.labels);
    s.batches_total = hf_metrics_counter("hl7flow_batches_committed_total",
                                         "Batches committed", s.labels);
    s.process_seconds = hf_metrics_histogram("hl7flow_record_process_seconds",
                                             "Time the transform spent on one record", s.labels,
                                             NULL, 0);
    s.commit_seconds = hf_metrics_histogram("hl7flow_batch_commit_seconds",
                                            "Time to commit one batch", s.labels, NULL, 0);
    for (int i = 0; i < PHASE_COUNT; i++) {
        char labels[sizeof s.labels + 32];
        snprintf(labels, sizeof labels, "%s,phase=\"%s\"", s.labels, PHASE_NAMES[i]);
        s.phase_seconds[i] = hf_metrics_histogram(
            "hl7flow_batch_phase_seconds",
            "Time of one batch phase: collect, process, offsets, commit, mirror", labels, NULL, 0);
    }
    s.batch = calloc((size_t)cfg.batch_max, sizeof *s.batch);
    if (s.batch == NULL) {
        hf_err_set(&err, HF_ENOMEM, "batch of %lld records", (long long)cfg.batch_max);
        goto out;
    }
    hf_ready_set("kafka", false);
    hf_ready_set("assigned", false);
    if (cfg.http_port >= 0 && hf_http_start((uint16_t)cfg.http_port, &s.http, &err) != HF_OK)
        goto out;
    if (def->init != NULL && def->init(&s.ctx, &cfg, &err) != HF_OK)
        goto out;
    if (cfg.input_order == HF_INPUT_ORDER_INGEST_TIME && merge_open(&s, &err) != HF_OK)
        goto out;
    if (stage_open(&s, &err) != HF_OK)
        goto out;
    rc = stage_loop(&s);
    HF_LOG(rc == 0 ? HF_LOG_INFO : HF_LOG_ERROR, "stage_stopping", HF_LB("fatal", rc != 0));
out:
    if (err.st != HF_OK) {
        fprintf(stderr, "%s: %s\n", def->name, err.msg);
        HF_LOG(HF_LOG_ERROR, "startup_failed", HF_LERR(err.msg));
        rc = err.st == HF_ECONFIG ? 2 : 1;
    }
    merge_close(&s); /* held messages go before the consumer is destroyed */
    stage_close(&s);
    hf_ready_set("kafka", false);
    if (def->fini != NULL && s.ctx != NULL)
        def->fini(s.ctx);
    hf_http_stop(s.http);
    hf_emit_fini(&s.em);
    free(s.batch);
    hf_cfg_free(&svars.table, &cfg);
    for (size_t i = 1; i < ntables; i++)
        hf_cfg_free(&tables[i], def->cfgs[i - 1]);
    if (rc == 0)
        HF_LOG0(HF_LOG_INFO, "stage_stopped");
    return rc;
}
