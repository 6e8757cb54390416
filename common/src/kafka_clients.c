/* kafka_clients.c - opening the consumer + producer pair of a loop
 * (kafka_clients.h). */
#include <stddef.h>

#include "hl7flow/kafka.h"
#include "hl7flow/kafka_clients.h"

hf_status hf_kafka_clients_open(const hf_kafka_clients_spec *spec, rd_kafka_t **consumer,
                                rd_kafka_t **producer, hf_err *err) {
    rd_kafka_conf_t *conf = NULL;
    char errstr[512];
    *consumer = NULL;
    *producer = NULL;
    hf_status st = hf_kafka_conf_new(HF_KAFKA_CONSUMER, spec->consumer_defaults, NULL, &conf, err);
    if (st != HF_OK)
        return st;
    rd_kafka_conf_set_opaque(conf, spec->opaque);
    if (spec->rebalance != NULL)
        rd_kafka_conf_set_rebalance_cb(conf, spec->rebalance);
    *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (*consumer == NULL) {
        rd_kafka_conf_destroy(conf);
        return hf_err_set(err, HF_ECONFIG, "consumer: %s", errstr);
    }
    rd_kafka_poll_set_consumer(*consumer);
    if ((st = hf_kafka_conf_new(HF_KAFKA_PRODUCER, spec->producer_defaults, NULL, &conf, err)) !=
        HF_OK)
        return st;
    rd_kafka_conf_set_opaque(conf, spec->opaque);
    if (spec->delivery != NULL)
        rd_kafka_conf_set_dr_msg_cb(conf, spec->delivery);
    *producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (*producer == NULL) {
        rd_kafka_conf_destroy(conf);
        return hf_err_set(err, HF_ECONFIG, "producer: %s", errstr);
    }
    return HF_OK;
}
