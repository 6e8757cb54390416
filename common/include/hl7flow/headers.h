/* headers.h - the record headers DESIGN.md prescribes and their formats.
 *
 * Carried on every record from the MLLP listener on: source_system,
 * facility_id, message_control_id (MSH-10), message_type (MSH-9), ingest_ts
 * (RFC 3339 UTC with microseconds, e.g. 2026-11-21T23:25:20.123456Z) and a
 * W3C traceparent (00-<32 hex trace id>-<16 hex span id>-01).
 * DLQ records add dlq.stage, dlq.error_class, dlq.error, dlq.source_topic,
 * dlq.source_partition, dlq.source_offset and dlq.ts (same format as
 * ingest_ts).
 */
#ifndef HL7FLOW_HEADERS_H
#define HL7FLOW_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HF_H_SOURCE_SYSTEM "source_system"
#define HF_H_FACILITY_ID "facility_id"
#define HF_H_CONTROL_ID "message_control_id"
#define HF_H_MESSAGE_TYPE "message_type"
#define HF_H_INGEST_TS "ingest_ts"
#define HF_H_TRACEPARENT "traceparent"

#define HF_H_DLQ_STAGE "dlq.stage"
#define HF_H_DLQ_CLASS "dlq.error_class"
#define HF_H_DLQ_ERROR "dlq.error"
#define HF_H_DLQ_TOPIC "dlq.source_topic"
#define HF_H_DLQ_PARTITION "dlq.source_partition"
#define HF_H_DLQ_OFFSET "dlq.source_offset"
#define HF_H_DLQ_TS "dlq.ts"

#define HF_TS_LEN 27 /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" */

/* Formats @p wall_us (microseconds since the epoch) into @p buf (at least
 * HF_TS_LEN+1 bytes). Returns the length written. */
size_t hf_ts_format(int64_t wall_us, char *buf, size_t cap);

/* Parses the format above (also accepts fewer fraction digits); false on
 * anything else. */
bool hf_ts_parse(const char *s, size_t len, int64_t *wall_us);

/* Writes a fresh W3C traceparent (55 chars + NUL) using a fast non-crypto
 * generator seeded from the clock and pid. */
void hf_traceparent_new(char buf[56]);

#endif
