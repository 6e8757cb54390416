/* dlq.c - dead-letter records for non-stage services (dlq.h); the header
 * set matches stage.c's produce_dlq. */
#include <stdio.h>

#include "hl7flow/dlq.h"
#include "hl7flow/headers.h"
#include "hl7flow/timeutil.h"

static void set_str(rd_kafka_headers_t *h, const char *name, const char *val) {
    rd_kafka_header_remove(h, name);
    rd_kafka_header_add(h, name, -1, val, -1);
}

rd_kafka_headers_t *hf_dlq_headers(const rd_kafka_message_t *m, const char *stage,
                                   const char *error_class, const char *error) {
    rd_kafka_headers_t *in = NULL, *h;
    if (rd_kafka_message_headers(m, &in) == RD_KAFKA_RESP_ERR_NO_ERROR && in != NULL)
        h = rd_kafka_headers_copy(in);
    else
        h = rd_kafka_headers_new(8);
    if (h == NULL)
        return NULL;
    char num[32], ts[40];
    set_str(h, HF_H_DLQ_STAGE, stage);
    set_str(h, HF_H_DLQ_CLASS, error_class && error_class[0] ? error_class : "unknown");
    set_str(h, HF_H_DLQ_ERROR, error && error[0] ? error : "no detail given");
    set_str(h, HF_H_DLQ_TOPIC, m->rkt ? rd_kafka_topic_name(m->rkt) : "");
    snprintf(num, sizeof num, "%d", (int)m->partition);
    set_str(h, HF_H_DLQ_PARTITION, num);
    snprintf(num, sizeof num, "%lld", (long long)m->offset);
    set_str(h, HF_H_DLQ_OFFSET, num);
    hf_ts_format(hf_wall_us(), ts, sizeof ts);
    set_str(h, HF_H_DLQ_TS, ts);
    return h;
}

hf_status hf_dlq_produce(rd_kafka_t *producer, const char *dlq_topic, const rd_kafka_message_t *m,
                         const char *stage, const char *error_class, const char *error,
                         hf_err *err) {
    rd_kafka_headers_t *h = hf_dlq_headers(m, stage, error_class, error);
    if (h == NULL)
        return hf_err_set(err, HF_ENOMEM, "dlq headers");
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(dlq_topic), RD_KAFKA_V_KEY(m->key, m->key_len),
            RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return HF_OK;
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(producer, 50);
            continue;
        }
        rd_kafka_headers_destroy(h);
        return hf_err_set(err, HF_EIO, "dlq produce to %s: %s", dlq_topic, rd_kafka_err2str(e));
    }
}
