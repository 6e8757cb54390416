/* cmd_produce.c - `hl7flow produce`: sends an MLLP-framed HL7 stream (the
 * output of `hl7flow gen`) to a topic the way the MLLP listener will: key
 * facility_id|sending_app, the standard headers, acks=all, idempotent.
 * Optional pacing (--rate) makes steady loads for latency measurements.
 * Prints a JSON summary on stdout; exits 1 if any record was not
 * acknowledged. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_kafka.h"
#include "commands.h"
#include "hl7flow/headers.h"
#include "hl7flow/kafka.h"
#include "hl7flow/mllp.h"
#include "hl7flow/msh.h"
#include "hl7flow/timeutil.h"

static long g_delivered, g_failed;

static void produce_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err)
        g_failed++;
    else
        g_delivered++;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: hl7flow produce --topic T [--input FILE|-] [--rate MSGS_PER_S] [--repeat N]\n"
            "                       [--source-system S] [--facility F]\n"
            "Reads MLLP-framed HL7 (0x0B msg 0x1C 0x0D) and produces each message with key\n"
            "facility_id|sending_app and headers source_system, facility_id,\n"
            "message_control_id, message_type, ingest_ts, traceparent. source_system and\n"
            "facility_id default to MSH-3 and MSH-4. --rate paces the sends (0 = as fast as\n"
            "possible). Kafka settings come from KAFKA_* variables (KAFKA_BOOTSTRAP_SERVERS).\n");
}

static void add_span_header(rd_kafka_headers_t *h, const char *name, const char *p, size_t n) {
    rd_kafka_header_add(h, name, -1, p != NULL ? p : "", (ssize_t)n);
}

int cmd_produce(int argc, char **argv) {
    const char *topic = NULL, *input = "-", *source = NULL, *facility = NULL;
    int64_t rate = 0, repeat = 1;
    static const struct option opts[] = {{"topic", required_argument, 0, 't'},
                                         {"input", required_argument, 0, 'i'},
                                         {"rate", required_argument, 0, 'r'},
                                         {"repeat", required_argument, 0, 'n'},
                                         {"source-system", required_argument, 0, 's'},
                                         {"facility", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "t:i:r:n:s:f:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': topic = optarg; break;
        case 'i': input = optarg; break;
        case 'r':
            if (!cli_parse_i64("--rate", optarg, 0, 10000000, &rate))
                return 2;
            break;
        case 'n':
            if (!cli_parse_i64("--repeat", optarg, 1, 1000000, &repeat))
                return 2;
            break;
        case 's': source = optarg; break;
        case 'f': facility = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (topic == NULL) {
        fprintf(stderr, "produce: --topic is required\n");
        return 2;
    }
    size_t len = 0;
    char *buf = cli_read_all(input, &len);
    if (buf == NULL)
        return 1;
    static const char *const defs[] = {"enable.idempotence", "true", "acks", "all",
                                       "partitioner", "murmur2_random", "linger.ms", "5",
                                       NULL};
    rd_kafka_t *rk = cli_kafka_new(RD_KAFKA_PRODUCER, defs, produce_dr);
    if (rk == NULL) {
        free(buf);
        return 1;
    }
    /* Fetch the topic's metadata before the first send: otherwise the first
     * records can wait for librdkafka's 1 s topic scan (seen on the dev
     * broker), which skews --rate pacing and the reported time. */
    if (hf_kafka_topic_partitions(rk, topic, 10000, NULL, 0, NULL) != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "produce: no metadata for %s yet; sending anyway\n", topic);
    long sent = 0;
    size_t skipped = 0;
    int64_t t0 = hf_mono_ns();
    for (int64_t r = 0; r < repeat; r++) {
        size_t pos = 0;
        const char *msg;
        size_t mlen;
        while (hf_mllp_next(buf, len, &pos, &msg, &mlen, r == 0 ? &skipped : NULL)) {
            if (rate > 0) {
                int64_t due = t0 + (int64_t)((double)sent * 1e9 / (double)rate);
                int64_t now = hf_mono_ns();
                if (due > now) {
                    struct timespec ts = {(due - now) / 1000000000, (due - now) % 1000000000};
                    nanosleep(&ts, NULL);
                }
            }
            hf_msh_peek mp;
            hf_msh_peek_parse(msg, mlen, &mp);
            const char *src = source ? source : mp.sending_app;
            size_t src_len = source ? strlen(source) : mp.sending_app_len;
            const char *fac = facility ? facility : mp.sending_facility;
            size_t fac_len = facility ? strlen(facility) : mp.sending_facility_len;
            char key[512];
            int klen = snprintf(key, sizeof key, "%.*s|%.*s", (int)(fac_len > 200 ? 200 : fac_len),
                                fac ? fac : "", (int)(src_len > 200 ? 200 : src_len), src ? src : "");
            char ts[40], tp[56];
            hf_ts_format(hf_wall_us(), ts, sizeof ts);
            hf_traceparent_new(tp);
            rd_kafka_headers_t *h = rd_kafka_headers_new(8);
            add_span_header(h, HF_H_SOURCE_SYSTEM, src, src_len);
            add_span_header(h, HF_H_FACILITY_ID, fac, fac_len);
            add_span_header(h, HF_H_CONTROL_ID, mp.control_id, mp.control_id_len);
            add_span_header(h, HF_H_MESSAGE_TYPE, mp.message_type, mp.message_type_len);
            rd_kafka_header_add(h, HF_H_INGEST_TS, -1, ts, -1);
            rd_kafka_header_add(h, HF_H_TRACEPARENT, -1, tp, -1);
            for (;;) {
                rd_kafka_resp_err_t err = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, (size_t)klen),
                    RD_KAFKA_V_VALUE((void *)msg, mlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
                if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                    rd_kafka_poll(rk, 10);
                    continue;
                }
                if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                    rd_kafka_headers_destroy(h);
                    g_failed++;
                    fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
                }
                break;
            }
            sent++;
            rd_kafka_poll(rk, 0);
        }
    }
    rd_kafka_flush(rk, 60000);
    double secs = (double)(hf_mono_ns() - t0) / 1e9;
    long unacked = rd_kafka_outq_len(rk);
    rd_kafka_destroy(rk);
    free(buf);
    printf("{\"sent\":%ld,\"delivered\":%ld,\"failed\":%ld,\"unacknowledged\":%ld,"
           "\"skipped_bytes\":%zu,\"seconds\":%.3f,\"msgs_per_s\":%.1f}\n",
           sent, g_delivered, g_failed, unacked, skipped, secs, secs > 0 ? (double)sent / secs : 0.0);
    return g_failed == 0 && unacked == 0 && g_delivered == sent ? 0 : 1;
}
