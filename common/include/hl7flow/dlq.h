/* dlq.h - dead-letter records for services that do not run the stage loop
 * (the sinks): the same format as stage.c writes (DESIGN.md): the input
 * record exactly as read, same key and value, its headers, plus
 * dlq.stage, dlq.error_class, dlq.error, dlq.source_topic,
 * dlq.source_partition, dlq.source_offset and dlq.ts.
 * Also the replay-count header `hl7flow dlq replay` adds. */
#ifndef HL7FLOW_DLQ_H
#define HL7FLOW_DLQ_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

#include "hl7flow/status.h"

/* Times a record was sent back from the DLQ to its source topic. */
#define HF_H_DLQ_REPLAY_COUNT "dlq.replay_count"

/* A copy of @p m's headers (an empty list when it has none) with the
 * dlq.* headers set (replacing any the record already carried, e.g. from
 * an earlier trip through the DLQ). @p error must be free of patient data.
 * Owned by the caller (rd_kafka_headers_destroy, or hand it to
 * rd_kafka_producev). NULL when out of memory. */
rd_kafka_headers_t *hf_dlq_headers(const rd_kafka_message_t *m, const char *stage,
                                   const char *error_class, const char *error);

/* Produces @p m (key, value) to @p dlq_topic with hf_dlq_headers through
 * @p producer (not flushed: the caller flushes before committing its
 * input). Waits while the local queue is full.
 * @returns HF_OK, HF_ENOMEM, or HF_EIO with librdkafka's reason. */
hf_status hf_dlq_produce(rd_kafka_t *producer, const char *dlq_topic, const rd_kafka_message_t *m,
                         const char *stage, const char *error_class, const char *error,
                         hf_err *err);

#endif
