/* stage_cfg.c - the HL7FLOW_* settings every stage shares, as a config
 * table whose defaults depend on the stage (input/output topics, group). */
#include <stddef.h>
#include <stdio.h>

#include "stage_internal.h"

#define SV(name, type, def, field, min, max, choices, help) \
    {name, type, def, offsetof(hf_stage_cfg, field), min, max, choices, help}

void hf_stage_cfg_table(const hf_stage_def *def, hf_stage_cfg_vars *t) {
    snprintf(t->group_default, sizeof t->group_default, "hl7flow-%s", def->name);
    const hf_cfg_var vars[HF_STAGE_CFG_NVARS] = {
        SV("HL7FLOW_INPUT_TOPICS", HF_CFG_STR, def->default_inputs, input_topics, 0, 0, NULL,
           "comma-separated topics to consume"),
        SV("HL7FLOW_OUTPUT_TOPIC", HF_CFG_STR, def->default_output, output_topic, 0, 0, NULL,
           "topic the stage writes its records to"),
        SV("HL7FLOW_DLQ_TOPIC", HF_CFG_STR, "hl7.dlq", dlq_topic, 0, 0, NULL,
           "dead-letter topic for records the stage cannot process"),
        SV("HL7FLOW_GROUP_ID", HF_CFG_STR, t->group_default, group_id, 0, 0, NULL,
           "consumer group id (one group per stage)"),
        SV("HL7FLOW_GUARANTEE", HF_CFG_ENUM, "exactly-once", guarantee, 0, 0,
           "exactly-once|at-least-once",
           "exactly-once: transactional produce with offsets in the transaction; "
           "at-least-once: idempotent produce, commit after acks"),
        SV("HL7FLOW_INSTANCE_ID", HF_CFG_STR, "", instance_id, 0, 0, NULL,
           "group.instance.id for static membership (e.g. the pod name); empty = dynamic"),
        SV("HL7FLOW_TRANSACTIONAL_ID", HF_CFG_STR, "", transactional_id, 0, 0, NULL,
           "transactional.id; empty = <group id>-<instance id, else host name>; must be "
           "stable across restarts of one replica and unique among replicas"),
        SV("HL7FLOW_BATCH_MAX", HF_CFG_INT, "2000", batch_max, 1, 100000, NULL,
           "most records per batch (one transaction per batch; bigger batches spread the "
           "fixed cost of a commit, bench/RESULTS.md)"),
        SV("HL7FLOW_BATCH_WAIT_MS", HF_CFG_INT, "5", batch_wait_ms, 0, 10000, NULL,
           "how long to keep filling a batch after its first record"),
        SV("HL7FLOW_HTTP_PORT", HF_CFG_INT, "8080", http_port, -1, 65535, NULL,
           "port of /healthz, /readyz, /metrics; 0 = ephemeral, -1 = off"),
        SV("HL7FLOW_COMMIT_TIMEOUT_MS", HF_CFG_INT, "30000", commit_timeout_ms, 1000, 600000, NULL,
           "deadline of one transaction commit or producer flush"),
        SV("HL7FLOW_RETRY_BACKOFF_MS", HF_CFG_INT, "1000", retry_backoff_ms, 10, 600000, NULL,
           "pause before a batch is retried after a transient failure (doubles up to 30 s)"),
        SV("HL7FLOW_LAG_INTERVAL_MS", HF_CFG_INT, "5000", lag_interval_ms, 100, 3600000, NULL,
           "how often the consumer-lag gauges are refreshed"),
        SV("HL7FLOW_EOS_MIRROR_COMMIT", HF_CFG_BOOL, "false", eos_mirror_commit, 0, 0, NULL,
           "exactly-once only: after each committed transaction also commit the same offsets "
           "from the consumer. Off in production (redundant there); on for the dev broker, "
           "whose mock cluster acknowledges but never stores transactional offsets "
           "(docs/devbroker.md)"),
        SV("HL7FLOW_INPUT_ORDER", HF_CFG_ENUM,
           def->default_input_order != NULL ? def->default_input_order : "arrival", input_order,
           0, 0, "arrival|ingest-time",
           "arrival: records as fetched (in order within each partition only); ingest-time: "
           "partition N of every input topic merged by the records' ingest_ts, for inputs keyed "
           "alike (docs/architecture.md, \"Input order\")"),
        SV("HL7FLOW_INPUT_ORDER_WAIT_MS", HF_CFG_INT, "1000", order_wait_ms, 0, 600000, NULL,
           "ingest-time order: how long a partition's records wait for another input of the "
           "same partition number that has records in flight, before going on without them"),
        SV("HL7FLOW_LOG_LEVEL", HF_CFG_ENUM, "info", log_level, 0, 0, "debug|info|warn|error",
           "lowest level logged"),
    };
    for (size_t i = 0; i < HF_STAGE_CFG_NVARS; i++)
        t->vars[i] = vars[i];
    t->table.title = "Stage settings (every topic-to-topic service)";
    t->table.vars = t->vars;
    t->table.count = HF_STAGE_CFG_NVARS;
}
