/* kafka_clients.h - the consumer + producer pair a consume-process-produce
 * loop opens: both confs from the role defaults and KAFKA_* (kafka.h), one
 * opaque for both, the consumer's rebalance callback and the producer's
 * delivery-report callback, the consumer's queue forwarded to
 * rd_kafka_consumer_poll. Used by the stage loop (stage.c) and the sink
 * loop (sink_loop.c). */
#ifndef HL7FLOW_KAFKA_CLIENTS_H
#define HL7FLOW_KAFKA_CLIENTS_H

#include <librdkafka/rdkafka.h>

#include "hl7flow/status.h"

typedef void (*hf_kafka_rebalance_fn)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                      rd_kafka_topic_partition_list_t *parts, void *opaque);
typedef void (*hf_kafka_dr_fn)(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* What to open: NULL-terminated key, value defaults per role (a NULL key
 * ends the list, so `cond ? "key" : NULL, value` makes a property optional),
 * the callbacks (may be NULL) and their opaque. */
typedef struct hf_kafka_clients_spec {
    const char *const *consumer_defaults;
    const char *const *producer_defaults;
    hf_kafka_rebalance_fn rebalance;
    hf_kafka_dr_fn delivery;
    void *opaque;
} hf_kafka_clients_spec;

/* Creates the consumer, then the producer. On success both are owned by
 * the caller. On failure returns HF_ECONFIG (or the conf error) with the
 * reason ("consumer: ...", "producer: ...") in @p err; a client already
 * created is left in its out-pointer for the caller to destroy, the other
 * is NULL. */
hf_status hf_kafka_clients_open(const hf_kafka_clients_spec *spec, rd_kafka_t **consumer,
                                rd_kafka_t **producer, hf_err *err);

#endif
