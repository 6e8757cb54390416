/* stage.h - the loop every topic-to-topic service runs.
 *
 * consume a batch -> call the stage's transform once per record -> produce
 * its outputs (or the record to the DLQ) -> commit, then repeat.
 *
 * Guarantees (HL7FLOW_GUARANTEE):
 *   exactly-once (default): one Kafka transaction per batch holding every
 *     output, every DLQ record and the input offsets
 *     (rd_kafka_send_offsets_to_transaction); consumers read_committed. An
 *     abortable error aborts the transaction and rewinds the consumer to the
 *     batch start, so the batch is processed again.
 *   at-least-once: idempotent producer; offsets committed synchronously only
 *     after every output of the batch is acknowledged by the brokers.
 * Input headers are carried to every output; the transform may add or
 * replace headers. A transform's DLQ verdict sends the input record, same
 * key and value, to the DLQ topic with the headers DESIGN.md prescribes.
 * SIGTERM/SIGINT: the batch in hand is finished and committed, the consumer
 * leaves the group, the process exits 0. Fatal Kafka errors exit 1.
 */
#ifndef HL7FLOW_STAGE_H
#define HL7FLOW_STAGE_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/config.h"
#include "hl7flow/status.h"

/* Borrowed view of one input record, valid during the transform call. */
typedef struct hf_record {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;              /* broker/producer timestamp, -1 if none */
    const void *key;                   /* may be NULL */
    size_t key_len;
    const void *value;                 /* may be NULL */
    size_t value_len;
    const rd_kafka_headers_t *headers; /* may be NULL */
} hf_record;

/* Output collector handed to the transform (see emit.c). */
typedef struct hf_emit hf_emit;

/* Adds an output record; topic, key and value are copied. Key NULL = no
 * key. Returns HF_ENOMEM or HF_ELIMIT (more than 4096 outputs) on failure. */
hf_status hf_emit_record(hf_emit *em, const char *topic, const void *key, size_t key_len,
                         const void *value, size_t value_len);

/* Sets header @p name on the most recent output (copied), replacing any
 * header of that name carried from the input. HF_ESYNTAX if no output yet. */
hf_status hf_emit_header(hf_emit *em, const char *name, const void *value, size_t len);

/* Why a record goes to the DLQ: class (parse, profile, schema, enrich,
 * unroutable, state, sink, ...) and a precise message free of patient data
 * (HL7 locations such as PID-7.1, byte offsets). */
typedef struct hf_dlq_reason {
    char error_class[32];
    char error[512];
} hf_dlq_reason;

/* Fills @p why (class and printf-style message, truncated to fit) and
 * returns HF_ESYNTAX, so a transform can `return hf_dlq_set(...)`. */
hf_status hf_dlq_set(hf_dlq_reason *why, const char *error_class, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The stage's work on one record.
 * Returns HF_OK after emitting zero or more outputs; any of HF_ESYNTAX,
 * HF_ELIMIT, HF_ENOTFOUND, HF_ECONFIG with @p why filled sends the input to
 * the DLQ (its outputs are dropped); HF_ERETRY aborts the batch, backs off
 * and processes it again (a dependency is down); HF_EFATAL ends the process
 * with exit status 1. @locality main thread. */
typedef hf_status (*hf_transform_fn)(void *ctx, const hf_record *in, hf_emit *out,
                                     hf_dlq_reason *why);

/* Common settings of every stage (filled from HL7FLOW_* variables). */
typedef struct hf_stage_cfg {
    char *input_topics;   /* comma-separated */
    char *output_topic;   /* the stage's default output */
    char *dlq_topic;
    char *group_id;
    int guarantee;        /* HF_GUARANTEE_* */
    char *instance_id;    /* group.instance.id (static membership); "" = dynamic */
    char *transactional_id;
    int64_t batch_max;
    int64_t batch_wait_ms;
    int64_t http_port;    /* -1 disables, 0 = ephemeral */
    int64_t commit_timeout_ms;
    int64_t retry_backoff_ms;
    int64_t lag_interval_ms;
    int log_level;
    bool eos_mirror_commit; /* also commit offsets with the consumer after each txn */
    int input_order;        /* HF_INPUT_ORDER_* */
    int64_t order_wait_ms;  /* ingest-time order: longest wait for an input in flight */
} hf_stage_cfg;

enum { HF_GUARANTEE_EXACTLY_ONCE = 0, HF_GUARANTEE_AT_LEAST_ONCE = 1 };

/* HL7FLOW_INPUT_ORDER: arrival = as fetched (each partition in order, the
 * topics interleaved by fetch timing); ingest-time = the co-partitioned
 * inputs merged by each record's ingest_ts (stage_merge.h). */
enum { HF_INPUT_ORDER_ARRIVAL = 0, HF_INPUT_ORDER_INGEST_TIME = 1 };

/* What a service supplies. */
typedef struct hf_stage_def {
    const char *name;           /* "parser": dlq.stage, metrics label, group id suffix */
    const char *synopsis;       /* first line of --help */
    const char *default_inputs; /* default HL7FLOW_INPUT_TOPICS */
    const char *default_output; /* default HL7FLOW_OUTPUT_TOPIC */
    const char *default_input_order; /* default HL7FLOW_INPUT_ORDER; NULL = "arrival" */
    const hf_cfg_table *tables; /* the service's own settings; may be NULL */
    size_t ntables;
    void *const *cfgs;          /* structs those tables fill, one per table */
    /* Called after configuration, before Kafka starts; *ctx is passed to
     * transform and fini. May be NULL. */
    hf_status (*init)(void **ctx, const hf_stage_cfg *cfg, hf_err *err);
    void (*fini)(void *ctx);    /* may be NULL; called once at exit */
    hf_transform_fn transform;
    /* Called on the main thread between batches, also when idle (at least
     * every ~100 ms), with a monotonic clock; for work that must not wait
     * for traffic, e.g. reloading reference data. May be NULL. */
    void (*tick)(void *ctx, int64_t now_ms);
    /* Partition ownership, for stages with local state (all may be NULL).
     * on_assign: called from the rebalance callback on the main thread with
     * the partitions about to be assigned (the whole new assignment under
     * the eager protocol), before the consumer is assigned them, so before
     * any of their records is processed. It may block (e.g. consume a
     * changelog with its own consumer) and may read the group's committed
     * offsets through @p consumer (rd_kafka_committed). A status other than
     * HF_OK stops the loop (exit 1): the partitions cannot be processed.
     * on_revoke: called before partitions are taken away (rebalance, lost
     * partitions, shutdown), between batches.
     * batch_done: called after every processed batch: committed = true when
     * its outputs and offsets are committed, false when it was aborted and
     * will be processed again (so state changes made during it are void). */
    hf_status (*on_assign)(void *ctx, rd_kafka_t *consumer,
                           const rd_kafka_topic_partition_list_t *parts);
    void (*on_revoke)(void *ctx, const rd_kafka_topic_partition_list_t *parts);
    void (*batch_done)(void *ctx, bool committed);
} hf_stage_def;

/* Runs a service: parses --help/--dump-config, loads configuration, inits,
 * runs the loop until SIGTERM or a fatal error, cleans up. Returns the
 * process exit status (0 after a clean drain, 1 on error). */
int hf_stage_main(int argc, char **argv, const hf_stage_def *def);

/* Asks a running loop to stop after its current batch (signal-safe). */
void hf_stage_request_stop(void);

#endif
