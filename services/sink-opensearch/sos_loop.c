/* sos_loop.c - the consume loop of hl7flow-sink-opensearch (sos.h):
 * collect a batch, turn it into documents, _bulk them until each is
 * stored or refused, dead-letter the refused records, commit the offsets.
 * Single-threaded: the rebalance callback runs inside our consumer polls,
 * and no poll happens while a batch is being written. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl7flow/dlq.h"
#include "hl7flow/headers.h"
#include "hl7flow/http.h"
#include "hl7flow/kafka.h"
#include "hl7flow/log.h"
#include "hl7flow/metrics.h"
#include "hl7flow/record_reader.h"
#include "hl7flow/timeutil.h"
#include "sos.h"

#define STAGE_NAME "sink-opensearch"
#define MAX_INPUTS 16

static volatile sig_atomic_t g_stop;
void sos_request_stop(void) { g_stop = 1; }
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static const char *const REFRESH[] = {"false", "true", "wait_for"};

enum { DOC_PENDING = 0, DOC_DONE, DOC_REFUSED };

typedef struct reject {
    bool set;
    char cls[16];
    char why[512];
} reject;

typedef struct sos {
    sos_cfg *cfg;
    hf_registry *reg;
    char *topics[MAX_INPUTS];
    hf_rec_reader *readers[MAX_INPUTS];
    size_t ninputs;
    hf_rec_ctx *rec;
    rd_kafka_t *consumer, *producer;
    rd_kafka_message_t **batch;
    size_t nbatch;
    reject *rej;          /* per batch record */
    hf_os_docs docs;
    unsigned char *state; /* per document */
    hf_os_item *items;
    size_t dcap;
    size_t *chunk;        /* document indices of one request */
    hf_os_buf body;
    sos_http *http;
    size_t chunk_docs;    /* most documents per request (halved on 413) */
    bool revoked, fatal;
    int64_t backoff_ms;
    long dr_failed;
    hf_counter *in_total, *batches_total, *retried_total, *docs_total[HF_OS_NKINDS];
    hf_histogram *batch_seconds;
    hf_gauge *up_gauge;
} sos;

typedef enum batch_res { BATCH_OK = 0, BATCH_REWIND, BATCH_FATAL } batch_res;

/* ---- Kafka plumbing --------------------------------------------------------- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    sos *s = opaque;
    if (m->err) {
        s->dr_failed++;
        HF_LOG(HF_LOG_WARN, "dlq_delivery_failed", HF_LERR(rd_kafka_err2str(m->err)));
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    sos *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        HF_LOG(HF_LOG_INFO, "partitions_assigned", HF_LI("count", parts->cnt));
        hf_ready_set("assigned", true);
        return;
    }
    s->revoked = true;
    HF_LOG(HF_LOG_INFO, "partitions_revoked", HF_LI("count", parts->cnt));
    rd_kafka_assign(rk, NULL);
}

static hf_rec_reader *reader_of(sos *s, const char *topic) {
    for (size_t i = 0; i < s->ninputs; i++)
        if (strcmp(s->topics[i], topic) == 0)
            return s->readers[i];
    return NULL;
}

static void set_up(sos *s, bool up) {
    hf_ready_set("opensearch", up);
    hf_gauge_set(s->up_gauge, up ? 1 : 0);
}

/* The batch's partitions with the first offset (seek) or next offset
 * (commit) of each. Owned by the caller. */
static rd_kafka_topic_partition_list_t *batch_offsets(sos *s, bool next) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < s->nbatch; i++) {
        rd_kafka_message_t *m = s->batch[i];
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
static void rewind_batch(sos *s) {
    rd_kafka_topic_partition_list_t *l = batch_offsets(s, false);
    rd_kafka_error_t *e = rd_kafka_seek_partitions(s->consumer, l, 10000);
    if (e != NULL) {
        HF_LOG(HF_LOG_WARN, "rewind_failed", HF_LERR(rd_kafka_error_string(e)));
        rd_kafka_error_destroy(e);
    }
    HF_LOG(HF_LOG_INFO, "batch_rewound", HF_LI("records", s->nbatch), HF_LI("partitions", l->cnt));
    rd_kafka_topic_partition_list_destroy(l);
}

/* ---- one batch: documents ------------------------------------------------- */

static void refuse(sos *s, size_t rec, const char *cls, const char *why) {
    reject *r = &s->rej[rec];
    if (r->set)
        return; /* the first reason is kept; the record goes to the DLQ once */
    r->set = true;
    size_t n = strnlen(cls, sizeof r->cls - 1);
    memcpy(r->cls, cls, n);
    r->cls[n] = '\0';
    n = strnlen(why, sizeof r->why - 1);
    memcpy(r->why, why, n);
    r->why[n] = '\0';
}

/* Decodes every record and builds its documents. HF_OK, HF_ERETRY
 * (registry unreachable: rewind) or HF_ENOMEM. */
static hf_status build_docs(sos *s) {
    hf_os_docs_clear(&s->docs);
    for (size_t i = 0; i < s->nbatch; i++) {
        rd_kafka_message_t *m = s->batch[i];
        const char *topic = rd_kafka_topic_name(m->rkt);
        hf_rec_reader *rd = reader_of(s, topic);
        memset(&s->rej[i], 0, sizeof s->rej[i]);
        if (rd == NULL) {
            refuse(s, i, "schema", "no reader for this topic");
            continue;
        }
        rd_kafka_headers_t *h = NULL;
        if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
            h = NULL;
        hf_err err = {0};
        hf_rec *rec = NULL;
        hf_status st = hf_rec_reader_read_msg(rd, s->rec, m->payload, m->len, h, UINT64_MAX, &rec,
                                              &err);
        if (st == HF_ERETRY || st == HF_ENOMEM) {
            HF_LOG(HF_LOG_WARN, "decode_failed", HF_LERR(err.msg));
            return st;
        }
        if (st != HF_OK) {
            refuse(s, i, "schema", err.msg);
            continue;
        }
        hf_os_origin org = {topic, m->partition, m->offset};
        st = hf_osdoc_add(&s->docs, rec, &org, s->cfg->index_prefix, (uint32_t)i, &err);
        if (st == HF_ENOMEM)
            return st;
        if (st != HF_OK)
            refuse(s, i, "sink", err.msg);
    }
    if (s->docs.n > s->dcap) {
        size_t cap = s->docs.n * 2;
        unsigned char *st = realloc(s->state, cap);
        if (st != NULL)
            s->state = st;
        hf_os_item *it = realloc(s->items, cap * sizeof *it);
        if (it != NULL)
            s->items = it;
        size_t *ch = realloc(s->chunk, cap * sizeof *ch);
        if (ch != NULL)
            s->chunk = ch;
        if (st == NULL || it == NULL || ch == NULL)
            return HF_ENOMEM;
        s->dcap = cap;
    }
    if (s->docs.n > 0)
        memset(s->state, DOC_PENDING, s->docs.n);
    return HF_OK;
}

/* ---- one batch: _bulk -------------------------------------------------------- */

typedef enum send_res { SEND_PROGRESS = 0, SEND_FAILED, SEND_NOMEM } send_res;

/* One _bulk request for the documents in s->chunk[0..n). */
static send_res send_chunk(sos *s, size_t n, size_t *retried) {
    s->body.len = 0;
    for (size_t i = 0; i < n; i++)
        if (hf_osbulk_append(&s->body, &s->docs.v[s->chunk[i]]) != HF_OK)
            return SEND_NOMEM;
    char path[64];
    snprintf(path, sizeof path, "/_bulk?refresh=%s", REFRESH[s->cfg->refresh]);
    hf_err err = {0};
    sos_resp r;
    hf_status st = sos_http_call(s->http, "POST", path, "application/x-ndjson", s->body.p,
                                 s->body.len, &r, &err);
    if (st == HF_ENOMEM)
        return SEND_NOMEM;
    if (st != HF_OK) {
        HF_LOG(HF_LOG_WARN, "opensearch_unavailable", HF_LERR(err.msg));
        return SEND_FAILED;
    }
    char type[96];
    switch (hf_osbulk_request_class(r.status)) {
    case HF_OS_REQ_OK:
        break;
    case HF_OS_REQ_TOO_LARGE:
        if (n == 1) {
            const hf_os_doc *d = &s->docs.v[s->chunk[0]];
            s->state[s->chunk[0]] = DOC_REFUSED;
            char why[200];
            snprintf(why, sizeof why, "opensearch status 413: %s document larger than a request",
                     hf_osdoc_kind_name(d->kind));
            refuse(s, d->tag, "sink", why);
            return SEND_PROGRESS;
        }
        s->chunk_docs = n / 2;
        HF_LOG(HF_LOG_WARN, "bulk_too_large", HF_LI("documents", n), HF_LI("bytes", s->body.len));
        return SEND_PROGRESS;
    default:
        hf_osbulk_error_type(r.body, r.len, type, sizeof type);
        HF_LOG(r.status == 401 || r.status == 403 ? HF_LOG_ERROR : HF_LOG_WARN, "bulk_rejected",
               HF_LI("status", r.status), HF_LID("error_type", type), HF_LI("documents", n));
        return SEND_FAILED;
    }
    if (hf_osbulk_parse(r.body, r.len, s->items, n, &err) != HF_OK) {
        HF_LOG(HF_LOG_WARN, "bulk_answer_unreadable", HF_LERR(err.msg));
        return SEND_FAILED;
    }
    for (size_t i = 0; i < n; i++) {
        size_t di = s->chunk[i];
        const hf_os_doc *d = &s->docs.v[di];
        const hf_os_item *it = &s->items[i];
        if (it->outcome == HF_OS_DONE) {
            s->state[di] = DOC_DONE;
            hf_counter_add(s->docs_total[d->kind], 1);
        } else if (it->outcome == HF_OS_REJECT) {
            s->state[di] = DOC_REFUSED;
            char why[320];
            snprintf(why, sizeof why, "%s (%s document, index %s)", it->reason,
                     hf_osdoc_kind_name(d->kind), d->index);
            refuse(s, d->tag, "sink", why);
        } else {
            (*retried)++;
        }
    }
    return SEND_PROGRESS;
}

/* One pass over the pending documents. Returns SEND_FAILED when a whole
 * request failed (the rest waits for the backoff too). */
static send_res send_pending(sos *s, size_t *retried) {
    size_t i = 0;
    while (i < s->docs.n) {
        size_t n = 0, bytes = 0;
        for (; i < s->docs.n && n < s->chunk_docs; i++) {
            if (s->state[i] != DOC_PENDING)
                continue;
            size_t b = hf_osbulk_doc_bytes(&s->docs.v[i]);
            if (n > 0 && bytes + b > (size_t)s->cfg->bulk_max_bytes)
                break;
            s->chunk[n++] = i;
            bytes += b;
        }
        if (n == 0)
            break;
        send_res r = send_chunk(s, n, retried);
        if (r != SEND_PROGRESS)
            return r;
        if (s->chunk_docs < n) /* 413: the same documents again, fewer at a time */
            i = s->chunk[0];
    }
    return SEND_PROGRESS;
}

static size_t count_pending(const sos *s) {
    size_t n = 0;
    for (size_t i = 0; i < s->docs.n; i++)
        n += s->state[i] == DOC_PENDING;
    return n;
}

static void backoff_sleep(sos *s) {
    int64_t until = hf_mono_ms() + s->backoff_ms;
    while (!g_stop && hf_mono_ms() < until) {
        rd_kafka_poll(s->producer, 0);
        usleep(20000);
    }
    s->backoff_ms = s->backoff_ms * 2 > s->cfg->backoff_max_ms ? s->cfg->backoff_max_ms
                                                               : s->backoff_ms * 2;
}

/* Writes every document of the batch: retried with backoff until each is
 * stored or refused, or until the batch's retry time is over. */
static batch_res write_docs(sos *s) {
    int64_t deadline = hf_mono_ms() + s->cfg->batch_retry_ms;
    s->chunk_docs = (size_t)s->cfg->batch_max * 64;
    for (;;) {
        size_t retried = 0;
        send_res r = send_pending(s, &retried);
        if (r == SEND_NOMEM)
            return BATCH_FATAL;
        hf_counter_add(s->retried_total, retried);
        size_t left = count_pending(s);
        set_up(s, r == SEND_PROGRESS);
        if (left == 0) {
            s->backoff_ms = s->cfg->backoff_ms;
            return BATCH_OK;
        }
        if (retried > 0)
            HF_LOG(HF_LOG_INFO, "bulk_items_retrying", HF_LI("documents", retried),
                   HF_LI("backoff_ms", s->backoff_ms));
        if (g_stop || hf_mono_ms() + s->backoff_ms > deadline)
            return BATCH_REWIND;
        backoff_sleep(s);
    }
}

/* Dead-letters the refused records and waits for the brokers' acks. */
static batch_res dead_letter(sos *s) {
    size_t n = 0;
    s->dr_failed = 0;
    for (size_t i = 0; i < s->nbatch; i++) {
        if (!s->rej[i].set)
            continue;
        rd_kafka_message_t *m = s->batch[i];
        hf_err err = {0};
        if (hf_dlq_produce(s->producer, s->cfg->dlq_topic, m, STAGE_NAME, s->rej[i].cls,
                           s->rej[i].why, &err) != HF_OK) {
            HF_LOG(HF_LOG_WARN, "dlq_produce_failed", HF_LERR(err.msg));
            return BATCH_REWIND;
        }
        char ctrl[80] = "";
        rd_kafka_headers_t *h = NULL;
        const void *v = NULL;
        size_t vl = 0;
        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(h, HF_H_CONTROL_ID, &v, &vl) ==
                RD_KAFKA_RESP_ERR_NO_ERROR && v != NULL)
            snprintf(ctrl, sizeof ctrl, "%.*s", (int)(vl < 64 ? vl : 64), (const char *)v);
        HF_LOG(HF_LOG_WARN, "record_rejected", HF_LID("class", s->rej[i].cls), HF_LCTRL(ctrl),
               HF_LID("topic", rd_kafka_topic_name(m->rkt)), HF_LI("partition", m->partition),
               HF_LI("offset", m->offset), HF_LERR(s->rej[i].why));
        char labels[96];
        snprintf(labels, sizeof labels, "stage=\"%s\",class=\"%s\"", STAGE_NAME, s->rej[i].cls);
        hf_counter_add(hf_metrics_counter("hl7flow_records_dlq_total",
                                          "Records sent to the dead-letter topic, by error class",
                                          labels),
                       1);
        n++;
    }
    if (n > 0 &&
        (rd_kafka_flush(s->producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR || s->dr_failed > 0)) {
        HF_LOG(HF_LOG_WARN, "dlq_not_acknowledged", HF_LI("failed", s->dr_failed));
        return BATCH_REWIND;
    }
    return BATCH_OK;
}

static batch_res handle_batch(sos *s) {
    hf_status st = build_docs(s);
    if (st == HF_ENOMEM)
        return BATCH_FATAL;
    if (st != HF_OK)
        return BATCH_REWIND;
    batch_res r = write_docs(s);
    if (r != BATCH_OK)
        return r;
    if ((r = dead_letter(s)) != BATCH_OK)
        return r;
    rd_kafka_topic_partition_list_t *l = batch_offsets(s, true);
    rd_kafka_resp_err_t e = rd_kafka_commit(s->consumer, l, 0 /* sync */);
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Everything is written; a later owner re-reads and overwrites. */
        HF_LOG(HF_LOG_WARN, "commit_failed", HF_LERR(rd_kafka_err2str(e)));
    }
    return BATCH_OK;
}

/* ---- collection ------------------------------------------------------------- */

static void batch_free(sos *s) {
    for (size_t i = 0; i < s->nbatch; i++)
        rd_kafka_message_destroy(s->batch[i]);
    s->nbatch = 0;
}

static void take(sos *s, rd_kafka_message_t *m) {
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            HF_LOG(HF_LOG_WARN, "consume_error", HF_LID("code", rd_kafka_err2name(m->err)),
                   HF_LERR(rd_kafka_message_errstr(m)));
        if (m->err == RD_KAFKA_RESP_ERR__FATAL)
            s->fatal = true;
        rd_kafka_message_destroy(m);
        return;
    }
    s->batch[s->nbatch++] = m;
}

static void collect(sos *s) {
    s->revoked = false;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, 100);
    if (m == NULL)
        return;
    take(s, m);
    int64_t deadline = hf_mono_ms() + s->cfg->batch_wait_ms;
    while (s->nbatch < (size_t)s->cfg->batch_max && !s->revoked) {
        int64_t left = deadline - hf_mono_ms();
        m = rd_kafka_consumer_poll(s->consumer, left > 0 ? (int)left : 0);
        if (m == NULL)
            break;
        take(s, m);
    }
}

/* ---- setup ------------------------------------------------------------------ */

static hf_status open_kafka(sos *s, hf_err *err) {
    const sos_cfg *c = s->cfg;
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
    rd_kafka_conf_t *cc = NULL, *pc = NULL;
    char errstr[512];
    hf_status st = hf_kafka_conf_new(HF_KAFKA_CONSUMER, cdefs, NULL, &cc, err);
    if (st != HF_OK)
        return st;
    rd_kafka_conf_set_opaque(cc, s);
    rd_kafka_conf_set_rebalance_cb(cc, rebalance_cb);
    s->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, sizeof errstr);
    if (s->consumer == NULL) {
        rd_kafka_conf_destroy(cc);
        return hf_err_set(err, HF_ECONFIG, "consumer: %s", errstr);
    }
    rd_kafka_poll_set_consumer(s->consumer);
    if ((st = hf_kafka_conf_new(HF_KAFKA_PRODUCER, pdefs, NULL, &pc, err)) != HF_OK)
        return st;
    rd_kafka_conf_set_opaque(pc, s);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    s->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, sizeof errstr);
    if (s->producer == NULL) {
        rd_kafka_conf_destroy(pc);
        return hf_err_set(err, HF_ECONFIG, "producer: %s", errstr);
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < s->ninputs; i++)
        rd_kafka_topic_partition_list_add(l, s->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return hf_err_set(err, HF_EFATAL, "subscribe: %s", rd_kafka_err2str(e));
    hf_ready_set("kafka", true);
    return HF_OK;
}

static hf_status open_inputs(sos *s, const hf_registry_cfg *reg, hf_err *err) {
    hf_status st = hf_registry_open(reg, &s->reg, err);
    if (st != HF_OK)
        return st;
    char *list = strdup(s->cfg->input_topics), *save = NULL;
    if (list == NULL)
        return hf_err_set(err, HF_ENOMEM, "topics");
    for (char *t = strtok_r(list, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
        if (s->ninputs == MAX_INPUTS) {
            free(list);
            return hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_TOPICS: more than %d topics",
                              MAX_INPUTS);
        }
        s->topics[s->ninputs] = strdup(t);
        st = hf_rec_reader_new(s->reg, t, HF_REC_STAGED, &s->readers[s->ninputs], err);
        s->ninputs++;
        if (st != HF_OK) {
            free(list);
            return st;
        }
    }
    free(list);
    if (s->ninputs == 0)
        return hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_TOPICS: no topic given");
    return HF_OK;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Installs the templates, waiting out an unreachable or busy cluster.
 * A refusal (bad credentials, a template OpenSearch rejects) is a
 * configuration error. */
static hf_status install_templates(sos *s, hf_err *err) {
    if (!s->cfg->install_templates)
        return HF_OK;
    for (;;) {
        hf_status st = sos_install_templates(s->http, s->cfg, err);
        if (st != HF_ERETRY)
            return st;
        HF_LOG(HF_LOG_WARN, "opensearch_unavailable", HF_LERR(err->msg),
               HF_LI("retry_ms", s->backoff_ms));
        int64_t until = hf_mono_ms() + s->backoff_ms;
        while (!g_stop && hf_mono_ms() < until)
            usleep(20000);
        if (g_stop)
            return HF_OK;
        s->backoff_ms = s->backoff_ms * 2 > s->cfg->backoff_max_ms ? s->cfg->backoff_max_ms
                                                                   : s->backoff_ms * 2;
    }
}

static int loop(sos *s) {
    while (!g_stop && !s->fatal && !hf_kafka_fatal_seen()) {
        collect(s);
        if (s->nbatch == 0)
            continue;
        if (s->revoked) {
            HF_LOG(HF_LOG_INFO, "batch_dropped_on_rebalance", HF_LI("records", s->nbatch));
            batch_free(s);
            continue;
        }
        hf_counter_add(s->in_total, s->nbatch);
        int64_t t0 = hf_mono_ns();
        batch_res r = handle_batch(s);
        hf_histogram_observe(s->batch_seconds, (double)(hf_mono_ns() - t0) / 1e9);
        switch (r) {
        case BATCH_OK:
            hf_counter_add(s->batches_total, 1);
            hf_ready_set("processing", true);
            break;
        case BATCH_REWIND:
            hf_ready_set("processing", false);
            rewind_batch(s);
            break;
        case BATCH_FATAL:
            s->fatal = true;
            break;
        }
        batch_free(s);
    }
    return s->fatal || hf_kafka_fatal_seen() ? 1 : 0;
}

static void make_metrics(sos *s) {
    const char *lab = "stage=\"" STAGE_NAME "\"";
    s->in_total = hf_metrics_counter("hl7flow_records_in_total", "Records consumed by the stage", lab);
    s->batches_total = hf_metrics_counter("hl7flow_batches_committed_total", "Batches committed", lab);
    s->retried_total = hf_metrics_counter("hl7flow_sink_opensearch_item_retries_total",
                                          "Documents OpenSearch asked to retry (429/5xx)", lab);
    s->batch_seconds = hf_metrics_histogram("hl7flow_sink_batch_seconds",
                                            "Time to write and commit one batch", lab, NULL, 0);
    s->up_gauge = hf_metrics_gauge("hl7flow_sink_opensearch_up",
                                   "1 while OpenSearch accepts requests", lab);
    for (int k = 0; k < HF_OS_NKINDS; k++) {
        char l[128];
        snprintf(l, sizeof l, "%s,kind=\"%s\"", lab, hf_osdoc_kind_name((hf_os_kind)k));
        s->docs_total[k] = hf_metrics_counter("hl7flow_sink_documents_total",
                                              "Documents stored in OpenSearch, by kind", l);
    }
}

int sos_run(sos_cfg *cfg, const hf_registry_cfg *reg) {
    sos s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.backoff_ms = cfg->backoff_ms;
    hf_err err = {0};
    int rc = 1;
    hf_http *http = NULL;
    make_metrics(&s);
    install_signals();
    hf_ready_set("kafka", false);
    hf_ready_set("assigned", false);
    set_up(&s, false);
    s.batch = calloc((size_t)cfg->batch_max, sizeof *s.batch);
    s.rej = calloc((size_t)cfg->batch_max, sizeof *s.rej);
    s.rec = hf_rec_ctx_new();
    s.http = sos_http_new(cfg);
    if (s.batch == NULL || s.rej == NULL || s.rec == NULL || s.http == NULL) {
        hf_err_set(&err, HF_ENOMEM, "batch buffers");
        goto out;
    }
    if (cfg->http_port >= 0 && hf_http_start((uint16_t)cfg->http_port, &http, &err) != HF_OK)
        goto out;
    if (open_inputs(&s, reg, &err) != HF_OK)
        goto out;
    if (install_templates(&s, &err) != HF_OK)
        goto out;
    err.st = HF_OK; /* a wait for the cluster may have left a retry status */
    if (g_stop) {
        rc = 0;
        goto out;
    }
    s.backoff_ms = cfg->backoff_ms;
    set_up(&s, true);
    if (open_kafka(&s, &err) != HF_OK)
        goto out;
    HF_LOG(HF_LOG_INFO, "sink_started", HF_LID("inputs", cfg->input_topics),
           HF_LID("group", cfg->group_id), HF_LI("batch_max", cfg->batch_max));
    rc = loop(&s);
    HF_LOG(rc == 0 ? HF_LOG_INFO : HF_LOG_ERROR, "sink_stopping", HF_LB("fatal", rc != 0));
out:
    if (err.st != HF_OK) {
        fprintf(stderr, "%s: %s\n", STAGE_NAME, err.msg);
        HF_LOG(HF_LOG_ERROR, "startup_failed", HF_LERR(err.msg));
        rc = err.st == HF_ECONFIG ? 2 : 1;
    }
    batch_free(&s);
    if (s.consumer != NULL) {
        rd_kafka_consumer_close(s.consumer);
        rd_kafka_destroy(s.consumer);
    }
    if (s.producer != NULL) {
        rd_kafka_flush(s.producer, 10000);
        rd_kafka_destroy(s.producer);
    }
    hf_http_stop(http);
    for (size_t i = 0; i < s.ninputs; i++) {
        hf_rec_reader_destroy(s.readers[i]);
        free(s.topics[i]);
    }
    hf_registry_close(s.reg);
    hf_rec_ctx_destroy(s.rec);
    sos_http_free(s.http);
    hf_os_docs_free(&s.docs);
    free(s.body.p);
    free(s.state);
    free(s.items);
    free(s.chunk);
    free(s.batch);
    free(s.rej);
    return rc;
}
