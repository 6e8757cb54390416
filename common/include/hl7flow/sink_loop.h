/* sink_loop.h - the consume loop both sinks run (sink-postgres,
 * sink-opensearch); the sink supplies how a batch is stored.
 *
 * The loop does the Kafka part once: the consumer (group, eager `range`
 * assignment, read_committed, no auto commit) and the DLQ producer
 * (idempotent, acks=all), one record reader per input topic, batch
 * collection (HL7FLOW_BATCH_MAX records or HL7FLOW_BATCH_WAIT_MS after the
 * first), the offset commit after a batch is stored, and the reactions to
 * a batch that could not be stored:
 *   HF_SINK_REWIND  seek the batch's partitions back to its first records
 *                   and read it again (the consumer keeps polling);
 *   HF_SINK_RETRY   pause every assigned partition, wait the backoff while
 *                   polling, then re-assign at the sink's start offsets
 *                   (stored_offsets; the group offsets without one);
 *   HF_SINK_DOWN    the same, and the backend is marked down (/readyz
 *                   false) until ops->reconnect brings it back.
 * A revocation while a batch is collected drops the batch unstored.
 * SIGTERM/SIGINT: the batch in hand is finished, the consumer leaves the
 * group, the producer is flushed, exit 0. Kafka fatal errors exit 1.
 * Single-threaded: the rebalance and delivery callbacks, and every ops
 * callback, run on the thread of hf_sink_run. */
#ifndef HL7FLOW_SINK_LOOP_H
#define HL7FLOW_SINK_LOOP_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/config.h"
#include "hl7flow/record_reader.h"
#include "hl7flow/registry.h"
#include "hl7flow/status.h"

/* Settings every sink has (the sinks' own tables fill them: the help texts
 * and defaults differ per sink). */
typedef struct hf_sink_cfg {
    char *input_topics;     /* HL7FLOW_INPUT_TOPICS, comma-separated */
    char *dlq_topic;        /* HL7FLOW_DLQ_TOPIC */
    char *group_id;         /* HL7FLOW_GROUP_ID */
    char *instance_id;      /* HL7FLOW_INSTANCE_ID, "" = dynamic membership */
    int64_t batch_max;      /* HL7FLOW_BATCH_MAX */
    int64_t batch_wait_ms;  /* HL7FLOW_BATCH_WAIT_MS */
    int64_t http_port;      /* HL7FLOW_HTTP_PORT, -1 = off */
    int64_t backoff_ms;     /* HL7FLOW_RETRY_BACKOFF_MS: first pause, doubles */
    int64_t backoff_max_ms; /* the longest pause */
    int log_level;          /* HL7FLOW_LOG_LEVEL */
} hf_sink_cfg;

/* Entries of a sink's settings table (config.h) that read the same in
 * every sink; @p T is the sink's settings struct, which holds its
 * hf_sink_cfg as the member `sink`. */
#define HF_SINK_VAR_INPUT_TOPICS(T)                                                           \
    {"HL7FLOW_INPUT_TOPICS", HF_CFG_STR, "hl7.linked", offsetof(T, sink.input_topics), 0, 0,  \
     NULL, "comma-separated topics to consume (hl7.linked, or the typed hl7.parsed.* topics)"}
#define HF_SINK_VAR_INSTANCE_ID(T)                                                            \
    {"HL7FLOW_INSTANCE_ID", HF_CFG_STR, "", offsetof(T, sink.instance_id), 0, 0, NULL,         \
     "group.instance.id for static membership (e.g. the pod name); empty = dynamic"}
#define HF_SINK_VAR_BATCH_WAIT_MS(T, def)                                                     \
    {"HL7FLOW_BATCH_WAIT_MS", HF_CFG_INT, def, offsetof(T, sink.batch_wait_ms), 0, 10000, NULL, \
     "how long to keep filling a batch after its first record"}
#define HF_SINK_VAR_HTTP_PORT(T)                                                              \
    {"HL7FLOW_HTTP_PORT", HF_CFG_INT, "8080", offsetof(T, sink.http_port), -1, 65535, NULL,    \
     "port of /healthz, /readyz, /metrics; 0 = ephemeral, -1 = off"}
#define HF_SINK_VAR_LOG_LEVEL(T)                                                              \
    {"HL7FLOW_LOG_LEVEL", HF_CFG_ENUM, "info", offsetof(T, sink.log_level), 0, 0,              \
     "debug|info|warn|error", "lowest level logged"}

typedef struct hf_sink hf_sink;

/* What became of a batch (ops->store). */
typedef enum hf_sink_res {
    HF_SINK_OK = 0, /* stored (or dead-lettered): commit its offsets */
    HF_SINK_DOWN,   /* the backend is down: pause, reconnect, re-assign */
    HF_SINK_RETRY,  /* transient failure: pause, back off, re-assign */
    HF_SINK_REWIND, /* not stored: read the batch again */
    HF_SINK_FATAL   /* exit 1 */
} hf_sink_res;

/* The sink's part. Every callback gets the ctx given to hf_sink_run. */
typedef struct hf_sink_ops {
    const char *name;      /* "sink-postgres": log, stage= metric label, dlq.stage */
    const char *backend;   /* its /readyz check: "postgres" */
    const char *up_metric; /* gauge, 1 while the backend is up */
    const char *up_help;
    bool commit_sync;      /* commit offsets synchronously (else async) */

    /* Required. Before Kafka is opened: get the backend ready, waiting as
     * long as it takes (hf_sink_sleep) unless hf_sink_stopping. HF_OK, or
     * the start-up error (HF_ECONFIG exits 2, others 1). */
    hf_status (*start)(void *ctx, hf_sink *sk, hf_err *err);

    /* Required. Stores batch[0..n) (borrowed until it returns). */
    hf_sink_res (*store)(void *ctx, hf_sink *sk, rd_kafka_message_t **batch, size_t n);

    /* Optional: the backend keeps the offsets. Sets each element's offset
     * to where consumption must start (RD_KAFKA_OFFSET_INVALID = the group
     * offset); false when they cannot be read now. Asked on assignment
     * while the backend is up (else the partitions are assigned paused and
     * asked again once it is up) and after HF_SINK_DOWN/RETRY. */
    bool (*stored_offsets)(void *ctx, rd_kafka_topic_partition_list_t *parts);

    /* Optional: moves the offsets the loop is about to commit after a
     * stored batch (each partition's next offset) where the sink knows
     * better (never backwards). */
    void (*commit_offsets)(void *ctx, rd_kafka_topic_partition_list_t *next);

    /* Optional (with HF_SINK_DOWN): one reconnection attempt; true when
     * the backend answers. Called at most once per backoff. */
    bool (*reconnect)(void *ctx, hf_sink *sk);

    /* Optional: false when the backend's connection is gone (checked after
     * a failed re-assignment or a retry). NULL = always healthy. */
    bool (*healthy)(void *ctx);
} hf_sink_ops;

/* Runs the sink until SIGTERM/SIGINT or a fatal error; returns the exit
 * status (0, 1, or 2 for a configuration error). @p cfg, @p reg, @p ops
 * and @p ctx are borrowed and must outlive the call. */
int hf_sink_run(const hf_sink_cfg *cfg, const hf_registry_cfg *reg, const hf_sink_ops *ops,
                void *ctx);

/* Asks the loop to stop after the batch in hand (signal-safe). */
void hf_sink_request_stop(void);

/* True once a stop was asked for. */
bool hf_sink_stopping(const hf_sink *sk);

/* The consumer (watermarks, positions); NULL before Kafka is opened. */
rd_kafka_t *hf_sink_consumer(hf_sink *sk);

/* Decodes @p m with its topic's reader into the loop's record context
 * (valid until the next call). HF_OK; HF_ERETRY (registry unreachable) or
 * HF_ENOMEM; any other status means the record cannot be read, with the
 * reason ("no reader for this topic", the reader's message) in @p err. */
hf_status hf_sink_read(hf_sink *sk, const rd_kafka_message_t *m, hf_rec **out, hf_err *err);

/* Marks the backend up or down: its /readyz check and gauge. */
void hf_sink_set_up(hf_sink *sk, bool up);
bool hf_sink_is_up(const hf_sink *sk);

/* The backoff: the current pause, doubling up to backoff_max_ms, back to
 * backoff_ms after a stored batch (or on reset). */
int64_t hf_sink_backoff_ms(const hf_sink *sk);
void hf_sink_backoff_grow(hf_sink *sk);
void hf_sink_backoff_reset(hf_sink *sk);

/* Sleeps @p ms or until a stop is asked for, serving the producer's
 * delivery reports (never the consumer). */
void hf_sink_sleep(hf_sink *sk, int64_t ms);

/* Sends @p m to the DLQ (class, reason free of patient data), logs
 * record_rejected and counts hl7flow_records_dlq_total{class}. Not flushed:
 * call hf_sink_dlq_flush before committing. HF_OK, or the produce error
 * (logged as dlq_produce_failed). */
hf_status hf_sink_dead_letter(hf_sink *sk, const rd_kafka_message_t *m, const char *error_class,
                              const char *why);

/* Waits until every DLQ record since the last flush is acknowledged by the
 * brokers (30 s at most). False (logged as dlq_not_acknowledged) when one
 * was not; true when all were or none was sent. */
bool hf_sink_dlq_flush(hf_sink *sk);

/* main() of a sink: handles --help and --dump-config, loads @p n tables
 * into @p cfgs and sets the log level from @p common. @p parse_args false
 * skips the command-line flags (a subcommand). Returns HF_SINK_CLI_RUN when
 * the sink should run (free with hf_sink_cli_free), else the exit status
 * (settings already freed). */
#define HF_SINK_CLI_RUN (-1)
int hf_sink_cli(int argc, char **argv, bool parse_args, const char *name, const char *synopsis,
                const hf_cfg_table *tables, void *const *cfgs, size_t n, const hf_sink_cfg *common);
void hf_sink_cli_free(const hf_cfg_table *tables, void *const *cfgs, size_t n);

#endif
