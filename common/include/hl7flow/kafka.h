/* kafka.h - librdkafka client configuration from the environment, and the
 * small helpers every client in hl7flow shares (logging bridge, headers).
 *
 * Properties are layered: built-in defaults for the role, then the
 * environment, which always wins:
 *   KAFKA_<PROPERTY>           both consumer and producer, except properties
 *                              that belong to one role only (fetch.*,
 *                              group.*, acks, linger.ms, ...) which go to
 *                              that role alone, so librdkafka never warns
 *   KAFKA_CONSUMER_<PROPERTY>  consumer only
 *   KAFKA_PRODUCER_<PROPERTY>  producer only
 * Name mapping: drop the prefix, lower-case, '_' -> '.', "__" -> '_'
 * (KAFKA_SECURITY_PROTOCOL -> security.protocol).
 */
#ifndef HL7FLOW_KAFKA_H
#define HL7FLOW_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

#include "hl7flow/status.h"

typedef enum { HF_KAFKA_CONSUMER, HF_KAFKA_PRODUCER } hf_kafka_role;

/* Maps an environment variable name (without its KAFKA_ prefix) to a
 * librdkafka property name into @p out. Returns false if it does not fit. */
bool hf_kafka_env_to_prop(const char *env_suffix, char *out, size_t cap);

/* True when @p prop applies only to the other role and must be skipped for
 * @p role. */
bool hf_kafka_prop_foreign(const char *prop, hf_kafka_role role);

/* Creates a conf for @p role: sets @p defaults (NULL-terminated key, value
 * pairs; may be NULL), then every applicable KAFKA_* variable of @p envp
 * (NULL = environ), then installs the log and error bridges. Errors name the
 * variable: "KAFKA_ACKS: invalid value for acks ...". Returns owned conf in
 * *out (consumed by rd_kafka_new, else rd_kafka_conf_destroy). */
hf_status hf_kafka_conf_new(hf_kafka_role role, const char *const *defaults, char **envp,
                            rd_kafka_conf_t **out, hf_err *err);

/* Sets one property, reporting failure in @p err. */
hf_status hf_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, hf_err *err);

/* Returns the last value of header @p name in @p hdrs as a NUL-terminated
 * copy in @p buf (truncated to cap-1); false when absent. */
bool hf_kafka_header_str(const rd_kafka_headers_t *hdrs, const char *name, char *buf, size_t cap);

/* Fetches the metadata of @p topic through @p rk (which also primes the
 * client's cache, so a first produce does not wait for it). When @p ids is
 * not NULL, writes up to @p max partition ids there; *count (may be NULL)
 * gets the partition count. Returns the broker's or the topic's error,
 * RD_KAFKA_RESP_ERR_NO_ERROR on success. */
rd_kafka_resp_err_t hf_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                                              int32_t *ids, int max, int *count);

/* Set by the error bridge when librdkafka reports a fatal error; the loops
 * check it and exit non-zero. */
bool hf_kafka_fatal_seen(void);

#endif
