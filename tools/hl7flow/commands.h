/* commands.h - the subcommands of the `hl7flow` CLI, one file each
 * (cmd_<name>.c). Each takes the argv after the subcommand name (argv[0] is
 * the subcommand) and returns the process exit status. */
#ifndef HL7FLOW_CLI_COMMANDS_H
#define HL7FLOW_CLI_COMMANDS_H

int cmd_devbroker(int argc, char **argv); /* host the mock Kafka cluster */
int cmd_gen(int argc, char **argv);       /* seeded HL7 v2 traffic generator */
int cmd_produce(int argc, char **argv);   /* MLLP-framed stream -> topic */
int cmd_consume(int argc, char **argv);   /* topic -> JSON lines */
int cmd_offsets(int argc, char **argv);   /* watermarks summed per topic */
int cmd_parse(int argc, char **argv);     /* HL7 files -> leaves or errors */
int cmd_topics(int argc, char **argv);    /* schemas/topics as a table or KafkaTopics */
int cmd_schemas(int argc, char **argv);   /* schema registry and compatibility tool */
int cmd_loadgen(int argc, char **argv);   /* MLLP load generator with ACK latency */
int cmd_facilities(int argc, char **argv); /* facility directory: check, show, watch */
int cmd_dlq(int argc, char **argv);        /* dead-letter queue: list, show, replay, summary */

#endif
