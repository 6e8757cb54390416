/* sink_loop.c - the consume loop both sinks run (sink_loop.h): Kafka
 * set-up, assignment and revocation, batch collection, pause/re-assign or
 * rewind after a failed batch, the commit after a stored batch, the DLQ.
 *
 * Single-threaded like the stage loop: the rebalance callback runs inside
 * our consumer polls, so the state needs no locks. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl7flow/stop.h"
#include "hl7flow/dlq.h"
#include "hl7flow/headers.h"
#include "hl7flow/http.h"
#include "hl7flow/kafka.h"
#include "hl7flow/kafka_clients.h"
#include "hl7flow/log.h"
#include "hl7flow/metrics.h"
#include "hl7flow/sink_loop.h"
#include "hl7flow/timeutil.h"

#define MAX_INPUTS 16

struct hf_sink {
    const hf_sink_cfg *cfg;
    const hf_sink_ops *ops;
    void *ctx;
    hf_registry *reg;
    char *topics[MAX_INPUTS];
    hf_rec_reader *readers[MAX_INPUTS];
    size_t ninputs;
    hf_rec_ctx *rec;
    rd_kafka_t *consumer, *producer;
    rd_kafka_message_t **batch;
    size_t nbatch;
    bool revoked, fatal, up, need_reassign;
    int64_t backoff_ms, next_try_ms;
    size_t dlq_pending;
    long dr_failed;
    hf_counter *in_total, *batches_total;
    hf_histogram *batch_seconds;
    hf_gauge *up_gauge;
};

void hf_sink_request_stop(void) { hf_stop_request(); }

/* ---- accessors for the sink ---------------------------------------------- */

bool hf_sink_stopping(const hf_sink *sk) {
    (void)sk;
    return hf_stop_requested() != 0;
}

rd_kafka_t *hf_sink_consumer(hf_sink *sk) { return sk->consumer; }

void hf_sink_set_up(hf_sink *sk, bool up) {
    sk->up = up;
    hf_ready_set(sk->ops->backend, up);
    hf_gauge_set(sk->up_gauge, up ? 1 : 0);
}

bool hf_sink_is_up(const hf_sink *sk) { return sk->up; }

int64_t hf_sink_backoff_ms(const hf_sink *sk) { return sk->backoff_ms; }

void hf_sink_backoff_grow(hf_sink *sk) {
    sk->backoff_ms = sk->backoff_ms * 2 > sk->cfg->backoff_max_ms ? sk->cfg->backoff_max_ms
                                                                 : sk->backoff_ms * 2;
}

void hf_sink_backoff_reset(hf_sink *sk) { sk->backoff_ms = sk->cfg->backoff_ms; }

void hf_sink_sleep(hf_sink *sk, int64_t ms) {
    int64_t until = hf_mono_ms() + ms;
    while (!hf_stop_requested() && hf_mono_ms() < until) {
        if (sk->producer != NULL)
            rd_kafka_poll(sk->producer, 0);
        usleep(20000);
    }
}

/* Waits @p ms while serving the consumer (rebalances); records polled
 * meanwhile are dropped: a re-assignment follows. */
static void idle_poll(hf_sink *sk, int64_t ms) {
    int64_t until = hf_mono_ms() + ms;
    while (!hf_stop_requested() && hf_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(sk->consumer, 50);
        if (m != NULL)
            rd_kafka_message_destroy(m);
        rd_kafka_poll(sk->producer, 0);
    }
}

/* ---- records -------------------------------------------------------------- */

hf_status hf_sink_read(hf_sink *sk, const rd_kafka_message_t *m, hf_rec **out, hf_err *err) {
    const char *topic = rd_kafka_topic_name(m->rkt);
    hf_rec_reader *rd = NULL;
    for (size_t i = 0; i < sk->ninputs && rd == NULL; i++)
        if (strcmp(sk->topics[i], topic) == 0)
            rd = sk->readers[i];
    if (rd == NULL)
        return hf_err_set(err, HF_ENOTFOUND, "no reader for this topic");
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        h = NULL;
    return hf_rec_reader_read_msg(rd, sk->rec, m->payload, m->len, h, UINT64_MAX, out, err);
}

/* ---- the DLQ -------------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    hf_sink *sk = opaque;
    if (m->err) {
        sk->dr_failed++;
        HF_LOG(HF_LOG_WARN, "dlq_delivery_failed", HF_LERR(rd_kafka_err2str(m->err)));
    }
}

hf_status hf_sink_dead_letter(hf_sink *sk, const rd_kafka_message_t *m, const char *error_class,
                              const char *why) {
    if (sk->dlq_pending == 0)
        sk->dr_failed = 0;
    hf_err err = {0};
    hf_status st = hf_dlq_produce(sk->producer, sk->cfg->dlq_topic, m, sk->ops->name, error_class,
                                  why, &err);
    if (st != HF_OK) {
        HF_LOG(HF_LOG_WARN, "dlq_produce_failed", HF_LERR(err.msg));
        return st;
    }
    sk->dlq_pending++;
    char ctrl[128] = "";
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR)
        hf_kafka_header_str(h, HF_H_CONTROL_ID, ctrl, sizeof ctrl);
    HF_LOG(HF_LOG_WARN, "record_rejected", HF_LID("class", error_class), HF_LCTRL(ctrl),
           HF_LID("topic", rd_kafka_topic_name(m->rkt)), HF_LI("partition", m->partition),
           HF_LI("offset", m->offset), HF_LERR(why));
    char labels[96];
    snprintf(labels, sizeof labels, "stage=\"%s\",class=\"%s\"", sk->ops->name, error_class);
    hf_counter_add(hf_metrics_counter("hl7flow_records_dlq_total",
                                      "Records sent to the dead-letter topic, by error class",
                                      labels),
                   1);
    return HF_OK;
}

bool hf_sink_dlq_flush(hf_sink *sk) {
    if (sk->dlq_pending == 0)
        return true;
    sk->dlq_pending = 0;
    if (rd_kafka_flush(sk->producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR || sk->dr_failed > 0) {
        HF_LOG(HF_LOG_WARN, "dlq_not_acknowledged", HF_LI("failed", sk->dr_failed));
        return false;
    }
    return true;
}

/* ---- assignment ----------------------------------------------------------- */

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    hf_sink *sk = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (sk->ops->stored_offsets == NULL) {
            rd_kafka_assign(rk, parts);
            HF_LOG(HF_LOG_INFO, "partitions_assigned", HF_LI("count", parts->cnt));
            hf_ready_set("assigned", true);
            return;
        }
        bool known = sk->up && sk->ops->stored_offsets(sk->ctx, parts);
        if (!known)
            for (int i = 0; i < parts->cnt; i++)
                parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
        rd_kafka_assign(rk, parts);
        if (!known) {
            /* Nothing is consumed until the backend says where to start. */
            rd_kafka_pause_partitions(rk, parts);
            sk->need_reassign = true;
        }
        HF_LOG(HF_LOG_INFO, "partitions_assigned", HF_LI("count", parts->cnt),
               HF_LB("offsets_from_database", known));
        hf_ready_set("assigned", true);
        return;
    }
    sk->revoked = true;
    HF_LOG(HF_LOG_INFO, "partitions_revoked", HF_LI("count", parts->cnt));
    rd_kafka_assign(rk, NULL);
}

/* Re-assigns the current assignment at the sink's start offsets and
 * resumes it. Anything fetched before is discarded by librdkafka (new
 * assignment version), so consumption restarts exactly there. */
static bool reassign(hf_sink *sk) {
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(sk->consumer, &l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    bool ok = true;
    if (l->cnt > 0) {
        if (sk->ops->stored_offsets != NULL)
            ok = sk->ops->stored_offsets(sk->ctx, l);
        else
            for (int i = 0; i < l->cnt; i++)
                l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
        if (ok) {
            rd_kafka_assign(sk->consumer, NULL);
            rd_kafka_assign(sk->consumer, l);
            rd_kafka_resume_partitions(sk->consumer, l);
            HF_LOG(HF_LOG_INFO, "reassigned_from_database", HF_LI("partitions", l->cnt));
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return ok;
}

static void pause_all(hf_sink *sk) {
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(sk->consumer, &l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_pause_partitions(sk->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

/* The batch's partitions with the first offset (seek) or next offset
 * (commit) of each, in the order they first appear. Owned by the caller. */
static rd_kafka_topic_partition_list_t *batch_offsets(const hf_sink *sk, bool next) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < sk->nbatch; i++) {
        const rd_kafka_message_t *m = sk->batch[i];
        const char *t = rd_kafka_topic_name(m->rkt);
        rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_find(l, t, m->partition);
        int64_t want = next ? m->offset + 1 : m->offset;
        if (e == NULL)
            rd_kafka_topic_partition_list_add(l, t, m->partition)->offset = want;
        else if (next ? want > e->offset : want < e->offset)
            e->offset = want;
    }
    return l;
}

/* Sends consumption of the batch's partitions back to the batch start:
 * the batch is read again on the next polls. */
static void rewind_batch(hf_sink *sk) {
    rd_kafka_topic_partition_list_t *l = batch_offsets(sk, false);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(sk->consumer, l, 10000);
    if (e != NULL) {
        HF_LOG(HF_LOG_WARN, "rewind_failed", HF_LERR(rd_kafka_error_string(e)));
        rd_kafka_error_destroy(e);
    }
    HF_LOG(HF_LOG_INFO, "batch_rewound", HF_LI("records", sk->nbatch), HF_LI("partitions", l->cnt));
    rd_kafka_topic_partition_list_destroy(l);
}

/* Commits the batch's next offsets (or the sink's, when it knows better).
 * Async commits are for lag monitoring; a failed sync commit only means a
 * later owner reads the batch again. */
static void commit_batch(hf_sink *sk) {
    rd_kafka_topic_partition_list_t *l = batch_offsets(sk, true);
    if (sk->ops->commit_offsets != NULL)
        sk->ops->commit_offsets(sk->ctx, l);
    rd_kafka_resp_err_t e = rd_kafka_commit(sk->consumer, l, sk->ops->commit_sync ? 0 : 1);
    rd_kafka_topic_partition_list_destroy(l);
    if (sk->ops->commit_sync && e != RD_KAFKA_RESP_ERR_NO_ERROR)
        HF_LOG(HF_LOG_WARN, "commit_failed", HF_LERR(rd_kafka_err2str(e)));
}

/* ---- collection ----------------------------------------------------------- */

static void batch_free(hf_sink *sk) {
    for (size_t i = 0; i < sk->nbatch; i++)
        rd_kafka_message_destroy(sk->batch[i]);
    sk->nbatch = 0;
}

static bool take(hf_sink *sk, rd_kafka_message_t *m) {
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            HF_LOG(HF_LOG_WARN, "consume_error", HF_LID("code", rd_kafka_err2name(m->err)),
                   HF_LERR(rd_kafka_message_errstr(m)));
        if (m->err == RD_KAFKA_RESP_ERR__FATAL)
            sk->fatal = true;
        rd_kafka_message_destroy(m);
        return false;
    }
    sk->batch[sk->nbatch++] = m;
    return true;
}

static void collect(hf_sink *sk) {
    sk->revoked = false;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(sk->consumer, 100);
    if (m == NULL || !take(sk, m))
        return;
    int64_t deadline = hf_mono_ms() + sk->cfg->batch_wait_ms;
    while (sk->nbatch < (size_t)sk->cfg->batch_max && !sk->revoked) {
        int64_t left = deadline - hf_mono_ms();
        m = rd_kafka_consumer_poll(sk->consumer, left > 0 ? (int)left : 0);
        if (m == NULL)
            break;
        take(sk, m);
    }
}

/* ---- the loop ------------------------------------------------------------- */

/* Before a batch: a backend marked down is reconnected (once per backoff),
 * a pending re-assignment done. False when no batch can be read now. */
static bool ready_for_batch(hf_sink *sk) {
    if (!sk->up && sk->ops->reconnect != NULL) {
        if (hf_mono_ms() >= sk->next_try_ms) {
            if (sk->ops->reconnect(sk->ctx, sk)) {
                hf_sink_set_up(sk, true);
                hf_sink_backoff_reset(sk);
            } else {
                sk->next_try_ms = hf_mono_ms() + sk->backoff_ms;
                hf_sink_backoff_grow(sk);
            }
        }
        if (!sk->up) {
            idle_poll(sk, 100);
            return false;
        }
    }
    if (sk->need_reassign) {
        if (!reassign(sk)) {
            hf_sink_set_up(sk, sk->ops->healthy == NULL || sk->ops->healthy(sk->ctx));
            idle_poll(sk, sk->backoff_ms);
            hf_sink_backoff_grow(sk);
            return false;
        }
        sk->need_reassign = false;
    }
    return true;
}

static void after_batch(hf_sink *sk, hf_sink_res r) {
    switch (r) {
    case HF_SINK_OK:
        hf_counter_add(sk->batches_total, 1);
        hf_sink_backoff_reset(sk);
        hf_ready_set("processing", true);
        break;
    case HF_SINK_DOWN:
        pause_all(sk);
        hf_sink_set_up(sk, false);
        sk->need_reassign = true;
        sk->next_try_ms = hf_mono_ms() + sk->backoff_ms;
        break;
    case HF_SINK_RETRY:
        pause_all(sk);
        hf_ready_set("processing", false);
        sk->need_reassign = true;
        idle_poll(sk, sk->backoff_ms);
        hf_sink_backoff_grow(sk);
        if (sk->ops->healthy != NULL && !sk->ops->healthy(sk->ctx))
            hf_sink_set_up(sk, false);
        break;
    case HF_SINK_REWIND:
        hf_ready_set("processing", false);
        rewind_batch(sk);
        break;
    case HF_SINK_FATAL:
        sk->fatal = true;
        break;
    }
}

static int loop(hf_sink *sk) {
    while (!hf_stop_requested() && !sk->fatal && !hf_kafka_fatal_seen()) {
        if (!ready_for_batch(sk))
            continue;
        collect(sk);
        if (sk->nbatch == 0)
            continue;
        if (sk->revoked) {
            HF_LOG(HF_LOG_INFO, "batch_dropped_on_rebalance", HF_LI("records", sk->nbatch));
            batch_free(sk);
            continue;
        }
        hf_counter_add(sk->in_total, sk->nbatch);
        sk->dlq_pending = 0;
        int64_t t0 = hf_mono_ns();
        hf_sink_res r = sk->ops->store(sk->ctx, sk, sk->batch, sk->nbatch);
        if (r == HF_SINK_OK)
            commit_batch(sk);
        hf_histogram_observe(sk->batch_seconds, (double)(hf_mono_ns() - t0) / 1e9);
        after_batch(sk, r);
        batch_free(sk);
    }
    return sk->fatal || hf_kafka_fatal_seen() ? 1 : 0;
}

/* ---- set-up --------------------------------------------------------------- */

static hf_status open_inputs(hf_sink *sk, const hf_registry_cfg *reg, hf_err *err) {
    hf_status st = hf_registry_open(reg, &sk->reg, err);
    if (st != HF_OK)
        return st;
    char *list = strdup(sk->cfg->input_topics), *save = NULL;
    if (list == NULL)
        return hf_err_set(err, HF_ENOMEM, "topics");
    for (char *t = strtok_r(list, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
        if (sk->ninputs == MAX_INPUTS) {
            free(list);
            return hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_TOPICS: more than %d topics",
                              MAX_INPUTS);
        }
        sk->topics[sk->ninputs] = strdup(t);
        st = hf_rec_reader_new(sk->reg, t, HF_REC_STAGED, &sk->readers[sk->ninputs], err);
        sk->ninputs++;
        if (st != HF_OK) {
            free(list);
            return st;
        }
    }
    free(list);
    if (sk->ninputs == 0)
        return hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_TOPICS: no topic given");
    return HF_OK;
}

static hf_status open_kafka(hf_sink *sk, hf_err *err) {
    const hf_sink_cfg *c = sk->cfg;
    const char *cdefs[] = {"group.id", c->group_id,
                           "enable.auto.commit", "false",
                           "enable.auto.offset.store", "false",
                           "isolation.level", "read_committed",
                           "auto.offset.reset", "earliest",
                           /* EAGER range, as the stages (docs/architecture.md):
                            * cooperative-sticky loops in librdkafka < 2.6.1. */
                           "partition.assignment.strategy", "range",
                           c->instance_id[0] ? "group.instance.id" : NULL, c->instance_id,
                           NULL};
    const char *pdefs[] = {"enable.idempotence", "true", "acks", "all",
                           "partitioner", "murmur2_random", "linger.ms", "5", NULL};
    const hf_kafka_clients_spec spec = {cdefs, pdefs, rebalance_cb, dr_cb, sk};
    hf_status st = hf_kafka_clients_open(&spec, &sk->consumer, &sk->producer, err);
    if (st != HF_OK)
        return st;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < sk->ninputs; i++)
        rd_kafka_topic_partition_list_add(l, sk->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(sk->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return hf_err_set(err, HF_EFATAL, "subscribe: %s", rd_kafka_err2str(e));
    hf_ready_set("kafka", true);
    return HF_OK;
}

static void make_metrics(hf_sink *sk) {
    char lab[96];
    snprintf(lab, sizeof lab, "stage=\"%s\"", sk->ops->name);
    sk->in_total = hf_metrics_counter("hl7flow_records_in_total", "Records consumed by the stage", lab);
    sk->batches_total = hf_metrics_counter("hl7flow_batches_committed_total", "Batches committed", lab);
    sk->batch_seconds = hf_metrics_histogram("hl7flow_sink_batch_seconds",
                                             "Time to write and commit one batch", lab, NULL, 0);
    sk->up_gauge = hf_metrics_gauge(sk->ops->up_metric, sk->ops->up_help, lab);
}

static void close_all(hf_sink *sk) {
    batch_free(sk);
    if (sk->consumer != NULL) {
        rd_kafka_consumer_close(sk->consumer);
        rd_kafka_destroy(sk->consumer);
    }
    if (sk->producer != NULL) {
        rd_kafka_flush(sk->producer, 10000);
        rd_kafka_destroy(sk->producer);
    }
    for (size_t i = 0; i < sk->ninputs; i++) {
        hf_rec_reader_destroy(sk->readers[i]);
        free(sk->topics[i]);
    }
    hf_registry_close(sk->reg);
    hf_rec_ctx_destroy(sk->rec);
    free(sk->batch);
}

int hf_sink_run(const hf_sink_cfg *cfg, const hf_registry_cfg *reg, const hf_sink_ops *ops,
                void *ctx) {
    hf_sink sk;
    memset(&sk, 0, sizeof sk);
    sk.cfg = cfg;
    sk.ops = ops;
    sk.ctx = ctx;
    sk.backoff_ms = cfg->backoff_ms;
    hf_err err = {0};
    int rc = 1;
    hf_http *http = NULL;
    make_metrics(&sk);
    hf_stop_on_signals();
    hf_ready_set("kafka", false);
    hf_ready_set("assigned", false);
    hf_sink_set_up(&sk, false);
    sk.batch = calloc((size_t)cfg->batch_max, sizeof *sk.batch);
    sk.rec = hf_rec_ctx_new();
    if (sk.batch == NULL || sk.rec == NULL) {
        hf_err_set(&err, HF_ENOMEM, "batch buffers");
        goto out;
    }
    if (cfg->http_port >= 0 && hf_http_start((uint16_t)cfg->http_port, &http, &err) != HF_OK)
        goto out;
    if (open_inputs(&sk, reg, &err) != HF_OK)
        goto out;
    hf_status st = ops->start(ctx, &sk, &err);
    if (hf_stop_requested()) {
        rc = 0;
        err.st = HF_OK; /* a wait for the backend may have left a retry status */
        goto out;
    }
    if (st != HF_OK)
        goto out;
    err.st = HF_OK;
    hf_sink_backoff_reset(&sk);
    hf_sink_set_up(&sk, true);
    if (open_kafka(&sk, &err) != HF_OK)
        goto out;
    HF_LOG(HF_LOG_INFO, "sink_started", HF_LID("inputs", cfg->input_topics),
           HF_LID("group", cfg->group_id), HF_LI("batch_max", cfg->batch_max));
    rc = loop(&sk);
    HF_LOG(rc == 0 ? HF_LOG_INFO : HF_LOG_ERROR, "sink_stopping", HF_LB("fatal", rc != 0));
out:
    if (err.st != HF_OK) {
        fprintf(stderr, "%s: %s\n", ops->name, err.msg);
        HF_LOG(HF_LOG_ERROR, "startup_failed", HF_LERR(err.msg));
        rc = err.st == HF_ECONFIG ? 2 : 1;
    }
    close_all(&sk);
    hf_http_stop(http);
    return rc;
}

/* ---- main() --------------------------------------------------------------- */

void hf_sink_cli_free(const hf_cfg_table *tables, void *const *cfgs, size_t n) {
    for (size_t i = 0; i < n; i++)
        hf_cfg_free(&tables[i], cfgs[i]);
}

int hf_sink_cli(int argc, char **argv, bool parse_args, const char *name, const char *synopsis,
                const hf_cfg_table *tables, void *const *cfgs, size_t n, const hf_sink_cfg *common) {
    bool dump = false;
    if (parse_args) {
        int ar = hf_cfg_args(argc, argv, synopsis, tables, n, &dump);
        if (ar == 1)
            return 0;
        if (ar < 0)
            return 2;
    }
    hf_err err = {0};
    for (size_t i = 0; i < n; i++) {
        if (hf_cfg_load(&tables[i], cfgs[i], &err) != HF_OK) {
            fprintf(stderr, "%s: %s\n", name, err.msg);
            hf_sink_cli_free(tables, cfgs, n);
            return 2;
        }
    }
    hf_log_set_level((hf_log_level)common->log_level);
    if (!dump)
        return HF_SINK_CLI_RUN;
    for (size_t i = 0; i < n; i++)
        hf_cfg_dump(stdout, &tables[i], cfgs[i]);
    hf_sink_cli_free(tables, cfgs, n);
    return 0;
}
