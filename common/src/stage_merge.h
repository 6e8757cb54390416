/* stage_merge.h - ordered merge of co-partitioned input topics.
 *
 * A stage that reads several topics keyed alike (the mpi-linker reads
 * hl7.parsed.adt, .orm, .oru, ... all keyed by MRN hash) sees each
 * patient's records in order within one topic only: which topic's fetch
 * comes back first decides the rest. With HL7FLOW_INPUT_ORDER=ingest-time
 * the stage loop holds the records it consumes here, grouped by partition
 * number (partition N of every input holds the same keys), and releases
 * them in event order: always the head with the smallest ordering time
 * (the record's ingest_ts header, else its Kafka timestamp; ties go to
 * the topic listed first, then to the earlier offset).
 *
 * A head is released only when every other assigned topic of its group
 * either holds a record too (so its next one is known) or is at its end
 * (the consumer reported partition EOF and nothing arrived since). While an
 * input of the group has records in flight, the group waits, at most
 * max_wait_ms from when it first had to wait; then it releases anyway
 * (counted, see hf_merge_expired). This is Kafka Streams' timestamp
 * synchronization (max.task.idle.ms) for the same problem.
 *
 * Records leave each topic-partition in offset order, so committing "the
 * last released offset + 1" per partition stays correct; held records are
 * never committed. The merge stores opaque message pointers: the stage
 * owns them and is told about each one it drops.
 *
 * Back-pressure: a topic-partition holding hold_max records is paused
 * (the flow hook; the stage pauses it on the consumer, which drops what it
 * had fetched beyond the held records and fetches it again on resume), and
 * resumed when it is down to half. So memory stays bounded while the
 * consumer keeps polling the other inputs - the ones a waiting partition
 * needs.
 *
 * Not thread-safe; the stage loop's main thread only.
 */
#ifndef HL7FLOW_STAGE_MERGE_H
#define HL7FLOW_STAGE_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hf_merge hf_merge;

/* What the merge tells its owner (any may be NULL).
 * drop: a held record the merge lets go of without releasing it (revoke,
 *   rewind, free): the owner destroys @p msg and may note the offset (the
 *   first dropped offset of a partition is where to rewind).
 * flow: stop (@p pause true) or restart fetching topic @p rank partition
 *   @p partition. A paused one is always resumed before it is dropped. */
typedef struct hf_merge_hooks {
    void (*drop)(void *arg, void *msg, int rank, int32_t partition, int64_t offset);
    void (*flow)(void *arg, int rank, int32_t partition, bool pause);
    void *arg;
} hf_merge_hooks;

/* A merge over @p ntopics inputs (rank 0 = the first listed = first on
 * ties), waiting at most @p max_wait_ms for an input with records in
 * flight, pausing a topic-partition that holds @p hold_max records (at
 * least 2). @p hooks is copied; NULL = none. NULL when out of memory. */
hf_merge *hf_merge_new(int ntopics, int64_t max_wait_ms, size_t hold_max,
                       const hf_merge_hooks *hooks);

/* Drops every held record (through the drop function) and frees @p mg. */
void hf_merge_free(hf_merge *mg);

/* The stage now owns topic @p rank partition @p partition: the merge waits
 * for it (empty, not at its end) until a record or its end is seen.
 * Returns false when out of memory. */
bool hf_merge_assign(hf_merge *mg, int rank, int32_t partition);

/* The stage no longer owns it: its held records are dropped, and the
 * group stops waiting for it. */
void hf_merge_revoke(hf_merge *mg, int rank, int32_t partition);

/* Holds @p msg (owned by the stage until released or dropped), consumed
 * from topic @p rank partition @p partition at @p offset, ordering time
 * @p ts_us. A record of a partition not assigned assigns it. Returns false
 * when out of memory (the record is not held; the caller still owns it). */
bool hf_merge_push(hf_merge *mg, int rank, int32_t partition, int64_t offset, int64_t ts_us,
                   void *msg);

/* The consumer reached the end of topic @p rank partition @p partition:
 * nothing more is in flight there until the next push. */
void hf_merge_eof(hf_merge *mg, int rank, int32_t partition);

/* Moves up to @p cap releasable records into @p out, in release order;
 * @p now_ms is a monotonic clock. Returns how many. */
size_t hf_merge_release(hf_merge *mg, int64_t now_ms, void **out, size_t cap);

/* Drops every held record (through the drop function) and forgets every
 * end seen, so a rewound consumer's records are waited for again. */
void hf_merge_drop_all(hf_merge *mg);

/* Records held now. */
size_t hf_merge_held(const hf_merge *mg);

/* Records released because the wait for an input in flight ran out, since
 * the start. */
uint64_t hf_merge_expired(const hf_merge *mg);

/* Milliseconds from @p now_ms until a waiting group's wait runs out (0 if
 * it already has), or -1 when no group waits. */
int64_t hf_merge_wait_left(const hf_merge *mg, int64_t now_ms);

#endif
