/* metrics.c - the listener's Prometheus series (docs/mllp.md lists them):
 * registered once at start so the hot path only adds to cached handles. */
#include <stdio.h>
#include <string.h>

#include "svc.h"

static const char *const CODES[6] = {"AA", "AE", "AR", "CA", "CE", "CR"};

/* ACK latency buckets: finer than the default at the low end, where the
 * target (p99 < 5 ms) lives. */
static const double ACK_BOUNDS[] = {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005,
                                    0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                    5, 10, 30};

static hf_counter *nak(const char *reason) {
    char labels[64];
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
    return hf_metrics_counter("hl7flow_mllp_naks_total",
                              "Negative or rejecting ACKs (AE/AR/CE/CR) by reason", labels);
}

static hf_counter *dropped(const char *reason) {
    char labels[64];
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
    return hf_metrics_counter("hl7flow_mllp_frames_dropped_total",
                              "Partial frames dropped (client disconnected mid-frame, or a new "
                              "frame started inside one)",
                              labels);
}

void mllp_metrics_init(mllp_metrics *m) {
    memset(m, 0, sizeof *m);
    m->received = hf_metrics_counter("hl7flow_mllp_messages_received_total",
                                     "Complete MLLP frames received", NULL);
    m->bytes_in = hf_metrics_counter("hl7flow_mllp_bytes_received_total",
                                     "Bytes read from clients (after TLS)", NULL);
    m->bytes_out = hf_metrics_counter("hl7flow_mllp_bytes_sent_total",
                                      "ACK bytes written to clients (before TLS)", NULL);
    m->garbage = hf_metrics_counter("hl7flow_mllp_garbage_bytes_total",
                                    "Bytes outside MLLP frames, skipped", NULL);
    m->accepted = hf_metrics_counter("hl7flow_mllp_connections_total",
                                     "Connections accepted or refused", "result=\"accepted\"");
    m->refused = hf_metrics_counter("hl7flow_mllp_connections_total",
                                    "Connections accepted or refused", "result=\"refused\"");
    for (int i = 0; i < 6; i++) {
        char labels[32];
        snprintf(labels, sizeof labels, "code=\"%s\"", CODES[i]);
        m->acks[i] = hf_metrics_counter("hl7flow_mllp_acks_total", "ACKs sent, by MSA-1 code",
                                        labels);
    }
    m->suppressed = hf_metrics_counter("hl7flow_mllp_acks_suppressed_total",
                                       "Accept ACKs not sent because MSH-15 said so", NULL);
    m->naks_timeout = nak("timeout");
    m->naks_kafka = nak("kafka_error");
    m->naks_queue = nak("queue_full");
    m->naks_not_hl7 = nak("not_hl7");
    m->naks_too_large = nak("too_large");
    m->dropped_disconnect = dropped("disconnect");
    m->dropped_restart = dropped("restart");
    m->unanswered = hf_metrics_counter("hl7flow_mllp_unanswered_total",
                                       "Messages whose connection closed before their ACK", NULL);
    m->acks_ignored = hf_metrics_counter("hl7flow_mllp_inbound_acks_total",
                                         "ACK messages received (never answered, never stored)",
                                         NULL);
    m->open = hf_metrics_gauge("hl7flow_mllp_connections", "Open client connections", NULL);
    m->inflight = hf_metrics_gauge("hl7flow_mllp_inflight",
                                   "Records produced and awaiting Kafka's acknowledgement", NULL);
    m->ack_seconds = hf_metrics_histogram(
        "hl7flow_mllp_ack_seconds", "Time from a frame's last byte to its ACK being written", NULL,
        ACK_BOUNDS, sizeof ACK_BOUNDS / sizeof ACK_BOUNDS[0]);
}

void mllp_metrics_ack(mllp_metrics *m, const char *code) {
    for (int i = 0; i < 6; i++)
        if (strcmp(code, CODES[i]) == 0) {
            hf_counter_add(m->acks[i], 1);
            return;
        }
}
