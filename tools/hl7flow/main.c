/* main.c - `hl7flow`, the operator's and developer's command-line tool: one
 * binary, one subcommand per job (dev broker, traffic generator, produce,
 * consume; later parse, schemas, dlq, loadgen). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "hl7flow/log.h"

typedef struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} cli_command;

static const cli_command COMMANDS[] = {
    {"devbroker", cmd_devbroker, "host librdkafka's mock Kafka cluster with every topic in schemas/topics"},
    {"gen", cmd_gen, "write seeded, realistic HL7 v2 traffic (MLLP-framed or files)"},
    {"produce", cmd_produce, "send an MLLP-framed HL7 stream to a topic with the standard headers"},
    {"consume", cmd_consume, "read a topic and print records as JSON lines"},
    {"offsets", cmd_offsets, "print topics' start and end offsets summed over partitions"},
    {"topics", cmd_topics, "print schemas/topics, or Strimzi KafkaTopic resources (--k8s)"},
    {"schemas", cmd_schemas, "register, check and release the Avro schemas; compare schemas; look up ids"},
    {"parse", cmd_parse, "parse HL7 v2 files; print each leaf as SEG[n]-F[r].C.S<TAB>value"},
    {"loadgen", cmd_loadgen, "drive the MLLP listener over many connections; ACK latency percentiles"},
    {"facilities", cmd_facilities, "check, show or watch the facility directory (JSON file or PostgreSQL)"},
    {"dlq", cmd_dlq, "list, show, replay and summarize dead-lettered records (hl7.dlq)"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: hl7flow <command> [options]   (hl7flow <command> --help)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (strcmp(argv[1], COMMANDS[i].name) == 0) {
            hf_log_init(COMMANDS[i].name);
            /* stdout is the command's output (records, JSON summaries): log
             * lines, e.g. librdkafka warnings on a loaded machine, go to
             * stderr so they never land inside a record line */
            hf_log_set_fd(2);
            return COMMANDS[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "hl7flow: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
