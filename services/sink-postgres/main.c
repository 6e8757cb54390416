/* main.c - hl7flow-sink-postgres: typed records -> PostgreSQL, exactly once
 * (spg.h). `hl7flow-sink-postgres migrate [--print]` applies (or prints)
 * the schema migrations and exits. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hl7flow/config.h"
#include "hl7flow/log.h"
#include "spg.h"

static spg_cfg g_cfg;
static hf_registry_cfg g_reg;

#define CV(name, type, def, field, min, max, choices, help) \
    {name, type, def, offsetof(spg_cfg, field), min, max, choices, help}

static const hf_cfg_var SPG_VARS[] = {
    CV("SINK_PG_DSN", HF_CFG_SECRET, "", dsn, 0, 0, NULL,
       "libpq connection string or URI (or a file in SINK_PG_DSN_FILE); empty: libpq's PG* "
       "variables (PGHOST, PGUSER, PGPASSFILE, PGSSLMODE, PGSSLROOTCERT, ...)"),
    CV("SINK_PG_CONNECT_TIMEOUT_S", HF_CFG_INT, "5", connect_timeout_s, 1, 600, NULL,
       "seconds one connection attempt may take (a DSN connect_timeout wins)"),
    CV("SINK_PG_MIGRATE", HF_CFG_BOOL, "true", migrate, 0, 0, NULL,
       "apply the schema migrations at start (false: run `hl7flow-sink-postgres migrate` "
       "as a deploy step)"),
    HF_SINK_VAR_INPUT_TOPICS(spg_cfg),
    CV("HL7FLOW_DLQ_TOPIC", HF_CFG_STR, "hl7.dlq", sink.dlq_topic, 0, 0, NULL,
       "dead-letter topic for records the database refuses"),
    CV("HL7FLOW_GROUP_ID", HF_CFG_STR, "hl7flow-sink-postgres", sink.group_id, 0, 0, NULL,
       "consumer group id; also the key of this sink's rows in sink_offsets"),
    HF_SINK_VAR_INSTANCE_ID(spg_cfg),
    CV("HL7FLOW_BATCH_MAX", HF_CFG_INT, "2000", sink.batch_max, 1, 100000, NULL,
       "most records per database transaction"),
    HF_SINK_VAR_BATCH_WAIT_MS(spg_cfg, "20"),
    HF_SINK_VAR_HTTP_PORT(spg_cfg),
    CV("HL7FLOW_RETRY_BACKOFF_MS", HF_CFG_INT, "500", sink.backoff_ms, 10, 600000, NULL,
       "first pause before reconnecting or retrying a batch (doubles)"),
    CV("SINK_PG_BACKOFF_MAX_MS", HF_CFG_INT, "10000", sink.backoff_max_ms, 10, 600000, NULL,
       "longest pause between reconnection attempts"),
    HF_SINK_VAR_LOG_LEVEL(spg_cfg),
};

static const char SYNOPSIS[] =
    "hl7flow-sink-postgres [migrate [--print]]: write typed HL7 records to PostgreSQL, rows and "
    "consumer offsets in one transaction per batch (exactly once); records the database refuses "
    "-> hl7.dlq (class sink)";

static int migrate_cmd(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[2], "--print") == 0) {
        for (size_t i = 0; i < spg_nmigrations; i++)
            printf("-- migration %d: %s\n%s\n", spg_migrations[i].version, spg_migrations[i].name,
                   spg_migrations[i].sql);
        return 0;
    }
    hf_err err = {0};
    PGconn *c = spg_db_connect(&g_cfg, &err);
    if (c == NULL || spg_migrate(c, &err) != HF_OK) {
        fprintf(stderr, "hl7flow-sink-postgres migrate: %s\n", err.msg);
        PQfinish(c);
        return 1;
    }
    PQfinish(c);
    printf("migrations applied: %zu known\n", spg_nmigrations);
    return 0;
}

int main(int argc, char **argv) {
    hf_log_init("sink-postgres");
    const hf_cfg_table tables[2] = {
        {"PostgreSQL sink settings", SPG_VARS, sizeof SPG_VARS / sizeof SPG_VARS[0]},
        hf_registry_cfg_table,
    };
    void *const cfgs[2] = {&g_cfg, &g_reg};
    bool migrate = argc > 1 && strcmp(argv[1], "migrate") == 0;
    int rc = hf_sink_cli(argc, argv, !migrate, "sink-postgres", SYNOPSIS, tables, cfgs, 2,
                         &g_cfg.sink);
    if (rc != HF_SINK_CLI_RUN)
        return rc;
    rc = migrate ? migrate_cmd(argc, argv) : spg_run(&g_cfg, &g_reg);
    hf_sink_cli_free(tables, cfgs, 2);
    return rc;
}
