/* sos_loop.c - hl7flow-sink-opensearch's part of the sink loop (sos.h,
 * sink_loop.h): turn a batch into documents, _bulk them until each is
 * stored or refused, dead-letter the refused records. The consume loop
 * (Kafka, commit after the batch, rewind) is common/src/sink_loop.c; no
 * consumer poll happens while a batch is being written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/log.h"
#include "hl7flow/metrics.h"
#include "hl7flow/timeutil.h"
#include "sos.h"

#define STAGE_NAME "sink-opensearch"

static const char *const REFRESH[] = {"false", "true", "wait_for"};

enum { DOC_PENDING = 0, DOC_DONE, DOC_REFUSED };

typedef struct reject {
    bool set;
    char cls[16];
    char why[512];
} reject;

typedef struct sos {
    sos_cfg *cfg;
    hf_sink *sk;          /* the loop running us */
    rd_kafka_message_t **batch; /* the batch in hand (the loop's) */
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
    hf_counter *retried_total, *docs_total[HF_OS_NKINDS];
} sos;

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
        memset(&s->rej[i], 0, sizeof s->rej[i]);
        hf_err err = {0};
        hf_rec *rec = NULL;
        hf_status st = hf_sink_read(s->sk, m, &rec, &err);
        if (st == HF_ERETRY || st == HF_ENOMEM) {
            HF_LOG(HF_LOG_WARN, "decode_failed", HF_LERR(err.msg));
            return st;
        }
        if (st != HF_OK) {
            refuse(s, i, "schema", err.msg);
            continue;
        }
        hf_os_origin org = {rd_kafka_topic_name(m->rkt), m->partition, m->offset};
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

/* Writes every document of the batch: retried with backoff until each is
 * stored or refused, or until the batch's retry time is over. */
static hf_sink_res write_docs(sos *s) {
    int64_t deadline = hf_mono_ms() + s->cfg->batch_retry_ms;
    s->chunk_docs = (size_t)s->cfg->sink.batch_max * 64;
    for (;;) {
        size_t retried = 0;
        send_res r = send_pending(s, &retried);
        if (r == SEND_NOMEM)
            return HF_SINK_FATAL;
        hf_counter_add(s->retried_total, retried);
        size_t left = count_pending(s);
        hf_sink_set_up(s->sk, r == SEND_PROGRESS);
        if (left == 0) {
            hf_sink_backoff_reset(s->sk);
            return HF_SINK_OK;
        }
        if (retried > 0)
            HF_LOG(HF_LOG_INFO, "bulk_items_retrying", HF_LI("documents", retried),
                   HF_LI("backoff_ms", hf_sink_backoff_ms(s->sk)));
        if (hf_sink_stopping(s->sk) || hf_mono_ms() + hf_sink_backoff_ms(s->sk) > deadline)
            return HF_SINK_REWIND;
        hf_sink_sleep(s->sk, hf_sink_backoff_ms(s->sk));
        hf_sink_backoff_grow(s->sk);
    }
}

/* Dead-letters the refused records and waits for the brokers' acks. */
static hf_sink_res dead_letter(sos *s) {
    for (size_t i = 0; i < s->nbatch; i++)
        if (s->rej[i].set &&
            hf_sink_dead_letter(s->sk, s->batch[i], s->rej[i].cls, s->rej[i].why) != HF_OK)
            return HF_SINK_REWIND;
    return hf_sink_dlq_flush(s->sk) ? HF_SINK_OK : HF_SINK_REWIND;
}

/* The loop's store: documents, _bulk, DLQ; the loop commits after. */
static hf_sink_res store(void *ctx, hf_sink *sk, rd_kafka_message_t **batch, size_t n) {
    sos *s = ctx;
    s->sk = sk;
    s->batch = batch;
    s->nbatch = n;
    hf_status st = build_docs(s);
    if (st == HF_ENOMEM)
        return HF_SINK_FATAL;
    if (st != HF_OK)
        return HF_SINK_REWIND;
    hf_sink_res r = write_docs(s);
    if (r != HF_SINK_OK)
        return r;
    return dead_letter(s);
}

/* Installs the templates, waiting out an unreachable or busy cluster.
 * A refusal (bad credentials, a template OpenSearch rejects) is a
 * configuration error. */
static hf_status start(void *ctx, hf_sink *sk, hf_err *err) {
    sos *s = ctx;
    if (!s->cfg->install_templates)
        return HF_OK;
    for (;;) {
        hf_status st = sos_install_templates(s->http, s->cfg, err);
        if (st != HF_ERETRY)
            return st;
        HF_LOG(HF_LOG_WARN, "opensearch_unavailable", HF_LERR(err->msg),
               HF_LI("retry_ms", hf_sink_backoff_ms(sk)));
        hf_sink_sleep(sk, hf_sink_backoff_ms(sk));
        if (hf_sink_stopping(sk))
            return HF_OK;
        hf_sink_backoff_grow(sk);
    }
}

static void make_metrics(sos *s) {
    const char *lab = "stage=\"" STAGE_NAME "\"";
    s->retried_total = hf_metrics_counter("hl7flow_sink_opensearch_item_retries_total",
                                          "Documents OpenSearch asked to retry (429/5xx)", lab);
    for (int k = 0; k < HF_OS_NKINDS; k++) {
        char l[128];
        snprintf(l, sizeof l, "%s,kind=\"%s\"", lab, hf_osdoc_kind_name((hf_os_kind)k));
        s->docs_total[k] = hf_metrics_counter("hl7flow_sink_documents_total",
                                              "Documents stored in OpenSearch, by kind", l);
    }
}

static const hf_sink_ops SOS_OPS = {
    .name = STAGE_NAME,
    .backend = "opensearch",
    .up_metric = "hl7flow_sink_opensearch_up",
    .up_help = "1 while OpenSearch accepts requests",
    .commit_sync = true,
    .start = start,
    .store = store,
};

int sos_run(sos_cfg *cfg, const hf_registry_cfg *reg) {
    sos s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    int rc = 1;
    make_metrics(&s);
    s.rej = calloc((size_t)cfg->sink.batch_max, sizeof *s.rej);
    s.http = sos_http_new(cfg);
    if (s.rej == NULL || s.http == NULL) {
        fprintf(stderr, "%s: batch buffers\n", STAGE_NAME);
        HF_LOG(HF_LOG_ERROR, "startup_failed", HF_LERR("batch buffers"));
    } else {
        rc = hf_sink_run(&cfg->sink, reg, &SOS_OPS, &s);
    }
    sos_http_free(s.http);
    hf_os_docs_free(&s.docs);
    free(s.body.p);
    free(s.state);
    free(s.items);
    free(s.chunk);
    free(s.rej);
    return rc;
}
