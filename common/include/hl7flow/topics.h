/* topics.h - the topic list in schemas/topics: the one source of topic
 * names, partition counts and topic configs that the dev broker, the tests,
 * the demo and the Kubernetes KafkaTopic resources all read.
 *
 * File format, one topic per line, '#' starts a comment (to the end of the
 * line, also right after a value), blank lines are skipped, fields are
 * separated by spaces or tabs, CRLF line ends are fine:
 *   <name> <partitions> [<key>=<value> ...]
 * e.g. `hl7.dlq 3 retention.ms=2592000000 cleanup.policy=delete`
 *   name        1..249 of [A-Za-z0-9._-], not "." or "..", not all digits
 *               (a line starting with a number is read as a missing name),
 *               each name at most once
 *   partitions  decimal 1..10000
 *   key=value   at most HF_TOPIC_MAX_CONFIGS per topic, key of [A-Za-z0-9._-],
 *               value non-empty, each key at most once per topic
 */
#ifndef HL7FLOW_TOPICS_H
#define HL7FLOW_TOPICS_H

#include <stddef.h>

#include "hl7flow/status.h"

#define HF_TOPIC_MAX_CONFIGS 16

typedef struct hf_topic_def {
    char *name;                             /* owned */
    int partitions;                         /* >= 1 */
    size_t nconfigs;                        /* entries used below */
    char *config_keys[HF_TOPIC_MAX_CONFIGS]; /* owned */
    char *config_vals[HF_TOPIC_MAX_CONFIGS]; /* owned */
} hf_topic_def;

typedef struct hf_topic_list {
    hf_topic_def *topics; /* owned array */
    size_t count;
} hf_topic_list;

/* Parses the text @p text (len bytes, need not be NUL-terminated; NULL with
 * len 0 is an empty list). Errors name the line: "topics:7: partitions must
 * be 1..10000". @p origin names the source in messages (a path; NULL reads
 * "topics"). Overwrites *out without freeing it: on success it owns the list
 * (free with hf_topics_fini), on error it is empty. Returns HF_OK,
 * HF_ESYNTAX (bad line), HF_ELIMIT (too many configs) or HF_ENOMEM; @p err
 * (may be NULL) gets the message. */
hf_status hf_topics_parse(const char *text, size_t len, const char *origin, hf_topic_list *out,
                          hf_err *err);

/* Reads and parses the file at @p path (at most 1 MiB), as
 * hf_topics_parse with the path as origin; HF_EIO when it cannot be read. */
hf_status hf_topics_load(const char *path, hf_topic_list *out, hf_err *err);

/* Finds a topic by exact (case-sensitive) name; NULL when absent or when
 * either argument is NULL. The result points into @p list. */
const hf_topic_def *hf_topics_find(const hf_topic_list *list, const char *name);

/* Frees everything in @p list and zeroes it; safe on a zeroed list, twice,
 * and on NULL. */
void hf_topics_fini(hf_topic_list *list);

#endif
