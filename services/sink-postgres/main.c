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
    CV("HL7FLOW_INPUT_TOPICS", HF_CFG_STR, "hl7.linked", input_topics, 0, 0, NULL,
       "comma-separated topics to consume (hl7.linked, or the typed hl7.parsed.* topics)"),
    CV("HL7FLOW_DLQ_TOPIC", HF_CFG_STR, "hl7.dlq", dlq_topic, 0, 0, NULL,
       "dead-letter topic for records the database refuses"),
    CV("HL7FLOW_GROUP_ID", HF_CFG_STR, "hl7flow-sink-postgres", group_id, 0, 0, NULL,
       "consumer group id; also the key of this sink's rows in sink_offsets"),
    CV("HL7FLOW_INSTANCE_ID", HF_CFG_STR, "", instance_id, 0, 0, NULL,
       "group.instance.id for static membership (e.g. the pod name); empty = dynamic"),
    CV("HL7FLOW_BATCH_MAX", HF_CFG_INT, "2000", batch_max, 1, 100000, NULL,
       "most records per database transaction"),
    CV("HL7FLOW_BATCH_WAIT_MS", HF_CFG_INT, "20", batch_wait_ms, 0, 10000, NULL,
       "how long to keep filling a batch after its first record"),
    CV("HL7FLOW_HTTP_PORT", HF_CFG_INT, "8080", http_port, -1, 65535, NULL,
       "port of /healthz, /readyz, /metrics; 0 = ephemeral, -1 = off"),
    CV("HL7FLOW_RETRY_BACKOFF_MS", HF_CFG_INT, "500", backoff_ms, 10, 600000, NULL,
       "first pause before reconnecting or retrying a batch (doubles)"),
    CV("SINK_PG_BACKOFF_MAX_MS", HF_CFG_INT, "10000", backoff_max_ms, 10, 600000, NULL,
       "longest pause between reconnection attempts"),
    CV("HL7FLOW_LOG_LEVEL", HF_CFG_ENUM, "info", log_level, 0, 0, "debug|info|warn|error",
       "lowest level logged"),
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
    bool dump = false;
    int rc = 2;
    if (!migrate) {
        int ar = hf_cfg_args(argc, argv, SYNOPSIS, tables, 2, &dump);
        if (ar == 1)
            return 0;
        if (ar < 0)
            return 2;
    }
    hf_err err = {0};
    for (size_t i = 0; i < 2; i++) {
        if (hf_cfg_load(&tables[i], cfgs[i], &err) != HF_OK) {
            fprintf(stderr, "sink-postgres: %s\n", err.msg);
            goto out;
        }
    }
    hf_log_set_level((hf_log_level)g_cfg.log_level);
    if (dump) {
        for (size_t i = 0; i < 2; i++)
            hf_cfg_dump(stdout, &tables[i], cfgs[i]);
        rc = 0;
    } else if (migrate) {
        rc = migrate_cmd(argc, argv);
    } else {
        rc = spg_run(&g_cfg, &g_reg);
    }
out:
    for (size_t i = 0; i < 2; i++)
        hf_cfg_free(&tables[i], cfgs[i]);
    return rc;
}
