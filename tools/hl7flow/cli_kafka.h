/* cli_kafka.h - shared pieces of the CLI's Kafka commands (produce,
 * consume): client creation from the environment and option parsing. */
#ifndef HL7FLOW_CLI_KAFKA_H
#define HL7FLOW_CLI_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

/* Most partitions of one topic the CLI commands handle. */
#define CLI_MAX_PARTITIONS 4096

/* Creates a client of @p type configured from KAFKA_* variables plus
 * @p defaults (NULL-terminated pairs); @p dr_cb (producers, may be NULL)
 * receives delivery reports. Prints the error and returns NULL on
 * failure. */
rd_kafka_t *cli_kafka_new(rd_kafka_type_t type, const char *const *defaults,
                          void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *));

/* Strict integer option value; prints "<opt>: ..." and returns false on
 * error. */
bool cli_parse_i64(const char *opt, const char *text, int64_t min, int64_t max, int64_t *out);

/* Reads a whole file ("-" = stdin) into a malloc'd buffer. */
char *cli_read_all(const char *path, size_t *len);

#endif
