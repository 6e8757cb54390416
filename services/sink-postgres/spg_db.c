/* spg_db.c - libpq helpers of hl7flow-sink-postgres: connecting, error
 * classes, migrations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/log.h"
#include "spg.h"

/* Server notices ("relation already exists, skipping") are not ours to
 * print: libpq's default writes them to stderr. */
static void quiet_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

PGconn *spg_db_connect(const spg_cfg *cfg, hf_err *err) {
    char timeout[24];
    snprintf(timeout, sizeof timeout, "%lld", (long long)cfg->connect_timeout_s);
    /* Later entries win: the DSN (and PG* variables) override our defaults. */
    const char *keys[] = {"application_name", "connect_timeout", "dbname", NULL};
    const char *vals[] = {"hl7flow-sink-postgres", timeout, cfg->dsn, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1 /* expand dbname as a DSN */);
    if (c == NULL) {
        hf_err_set(err, HF_ENOMEM, "postgres: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\n")] = '\0';
        hf_err_set(err, HF_ERETRY, "postgres: %s", msg);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notice, NULL);
    PGresult *r = PQexec(c, "SET synchronous_commit = on");
    PQclear(r);
    return c;
}

/* SQLSTATEs whose primary message names objects but quotes no value. */
static bool message_is_data_free(const char *state) {
    return strncmp(state, "23", 2) == 0 || strcmp(state, "22001") == 0 ||
           strcmp(state, "22003") == 0 || strcmp(state, "21000") == 0;
}

spg_dbres spg_db_classify(PGconn *c, const PGresult *res, char *why, size_t cap) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state == NULL || PQstatus(c) != CONNECTION_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        msg[strcspn(msg, "\n")] = '\0';
        snprintf(why, cap, "connection: %s", msg);
        return SPG_DB_DOWN;
    }
    const char *table = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
    const char *column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
    const char *cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    const char *dtype = PQresultErrorField(res, PG_DIAG_DATATYPE_NAME);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    int n = snprintf(why, cap, "SQLSTATE %s", state);
    if (primary != NULL && message_is_data_free(state) && n >= 0 && (size_t)n < cap)
        n += snprintf(why + n, cap - (size_t)n, ": %s", primary);
    if (table != NULL && n >= 0 && (size_t)n < cap)
        n += snprintf(why + n, cap - (size_t)n, " [table %s]", table);
    if (column != NULL && n >= 0 && (size_t)n < cap)
        n += snprintf(why + n, cap - (size_t)n, " [column %s]", column);
    if (cons != NULL && n >= 0 && (size_t)n < cap)
        n += snprintf(why + n, cap - (size_t)n, " [constraint %s]", cons);
    if (dtype != NULL && n >= 0 && (size_t)n < cap)
        snprintf(why + n, cap - (size_t)n, " [type %s]", dtype);
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
        strncmp(state, "21", 2) == 0)
        return SPG_DB_CONTENT;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
        strncmp(state, "53", 2) == 0 || strncmp(state, "58", 2) == 0)
        return SPG_DB_DOWN;
    if (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0)
        return SPG_DB_RETRY;
    if (strncmp(state, "42", 2) == 0)
        return SPG_DB_FATAL;
    return SPG_DB_RETRY;
}

spg_dbres spg_db_exec(PGconn *c, const char *sql, char *why, size_t cap) {
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    spg_dbres res = SPG_DB_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        res = spg_db_classify(c, r, why, cap);
    PQclear(r);
    return res;
}

/* An arbitrary constant: the advisory lock key of the migrations. */
#define MIGRATION_LOCK "7482901136"

hf_status spg_migrate(PGconn *c, hf_err *err) {
    char why[512];
    spg_dbres r = spg_db_exec(c,
                              "CREATE TABLE IF NOT EXISTS hl7flow_schema_migrations ("
                              " version int PRIMARY KEY, name text NOT NULL,"
                              " applied_at timestamptz NOT NULL DEFAULT now())",
                              why, sizeof why);
    if (r != SPG_DB_OK && r != SPG_DB_CONTENT) /* CONTENT: a concurrent create */
        return hf_err_set(err, r == SPG_DB_DOWN ? HF_ERETRY : HF_EFATAL, "migrations: %s", why);
    for (size_t i = 0; i < spg_nmigrations; i++) {
        const spg_migration *m = &spg_migrations[i];
        if ((r = spg_db_exec(c, "BEGIN", why, sizeof why)) != SPG_DB_OK ||
            (r = spg_db_exec(c, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", why,
                             sizeof why)) != SPG_DB_OK)
            goto fail;
        char ver[16];
        snprintf(ver, sizeof ver, "%d", m->version);
        const char *params[2] = {ver, m->name};
        PGresult *q = PQexecParams(c, "SELECT 1 FROM hl7flow_schema_migrations WHERE version = $1",
                                   1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(q) != PGRES_TUPLES_OK) {
            r = spg_db_classify(c, q, why, sizeof why);
            PQclear(q);
            goto fail;
        }
        bool done = PQntuples(q) > 0;
        PQclear(q);
        if (!done) {
            if ((r = spg_db_exec(c, m->sql, why, sizeof why)) != SPG_DB_OK)
                goto fail;
            q = PQexecParams(c, "INSERT INTO hl7flow_schema_migrations (version, name) VALUES ($1, $2)",
                             2, NULL, params, NULL, NULL, 0);
            if (PQresultStatus(q) != PGRES_COMMAND_OK) {
                r = spg_db_classify(c, q, why, sizeof why);
                PQclear(q);
                goto fail;
            }
            PQclear(q);
            HF_LOG(HF_LOG_INFO, "migration_applied", HF_LI("version", m->version));
        }
        if ((r = spg_db_exec(c, "COMMIT", why, sizeof why)) != SPG_DB_OK)
            goto fail;
        continue;
    fail:
        char why2[256];
        spg_db_exec(c, "ROLLBACK", why2, sizeof why2);
        return hf_err_set(err, r == SPG_DB_DOWN ? HF_ERETRY : HF_EFATAL, "migration %d: %.250s",
                          m->version, why);
    }
    return HF_OK;
}
