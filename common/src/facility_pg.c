/* facility_pg.c - the PostgreSQL source of the facility directory
 * (facility.h, table DDL in scripts/sql/facilities.sql).
 *
 * One libpq connection, driven as a small state machine so that a poll
 * never blocks the enricher's processing loop:
 *
 *   DOWN --retry time--> CONNECTING --PQconnectPoll OK--> LISTEN --> SELECT --> IDLE
 *    ^                        |                              |          |        |
 *    +------ any connection error or time limit (backoff) ---+----------+--------+
 *   IDLE --notification (read every notify_check_ms) or poll_ms passed--> SELECT
 *
 * LISTEN goes before the first SELECT, so a change committed between the
 * two still sends a notification. The SELECT has the server render each row
 * as a JSON object (json_build_object), which hf_facility_json_entry turns
 * into a facility: the file and the table go through the same checks. A
 * query that fails or returns a bad row keeps the connection (the next
 * notification or poll_ms retries); a lost connection or a time limit drops
 * it and reconnects after 1 s, doubling to 15 s. Opening runs the same
 * machine, waiting on the socket with poll(2) up to connect_timeout_s.
 * Host name resolution inside PQconnectStartParams is the one blocking call
 * (use hostaddr= to avoid it).
 */
#include <jansson.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/facility.h"
#include "hl7flow/timeutil.h"

#define PG_BACKOFF_MIN_MS 1000
#define PG_BACKOFF_MAX_MS 15000
#define PG_STEP_MS 5 /* re-check interval while connecting or a query runs */

typedef enum { PG_DOWN, PG_CONNECTING, PG_LISTEN, PG_SELECT, PG_IDLE } pg_state;

struct hf_facility_pg {
    char *conninfo;  /* as given: may hold a password, never printed */
    char desc[256];  /* "postgres host=.. port=.. dbname=.. user=.." */
    char origin[384]; /* desc + " table NAME", for row errors */
    char *listen_sql, *select_sql;
    int64_t poll_ms, notify_ms, timeout_ms;

    PGconn *conn;
    pg_state state;
    PostgresPollingStatusType connect_wait; /* what PQconnectPoll waits for */
    bool clock_set;       /* deadlines are on the caller's clock */
    int64_t op_deadline;  /* connect or query must be done by then */
    int64_t next_notify;  /* IDLE: next read of pending notifications */
    int64_t next_reload;  /* IDLE: fallback re-read */
    int64_t retry_at;     /* DOWN: next connection attempt */
    int64_t backoff_ms;
    bool reload_wanted;
    int64_t due;          /* hf_facility_pg_poll does nothing before this */

    /* result of the running query, reported when its last result arrived */
    hf_facility_table *fresh;
    hf_status q_st;
    hf_err q_err;
};

/* ------------------------------------------------------------- helpers */

/* Copies a libpq message into one line: newlines and tabs become spaces,
 * trailing blanks are dropped. */
static void one_line(const char *in, char *out, size_t size) {
    size_t o = 0;
    for (const char *p = in != NULL ? in : ""; *p != '\0' && o + 1 < size; p++) {
        char c = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : *p;
        if (c == ' ' && (o == 0 || out[o - 1] == ' '))
            continue;
        out[o++] = c;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

/* Describes a conninfo or URI without its password: host, hostaddr, port,
 * dbname, user. False when libpq cannot parse it. */
static bool describe(const char *conninfo, char *out, size_t size) {
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
    PQfreemem(errmsg); /* may echo part of the string: not shown */
    if (opts == NULL)
        return false;
    static const char *const keys[] = {"host", "hostaddr", "port", "dbname", "user"};
    size_t o = (size_t)snprintf(out, size, "postgres");
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        for (PQconninfoOption *p = opts; p->keyword != NULL; p++) {
            if (strcmp(p->keyword, keys[k]) == 0 && p->val != NULL && p->val[0] != '\0' && o < size)
                o += (size_t)snprintf(out + o, size - o, " %s=%s", keys[k], p->val);
        }
    }
    PQconninfoFree(opts);
    return true;
}

/* True for a SQL identifier we quote safely: [A-Za-z_][A-Za-z0-9_$]{0,62}. */
static bool plain_ident(const char *s, size_t len) {
    if (len == 0 || len > 63)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '$'))
            return false;
    }
    return true;
}

/* Writes the double-quoted form of "[schema.]name" into out; false when a
 * part is not a plain identifier. */
static bool quote_table(const char *name, char *out, size_t size) {
    const char *dot = strchr(name, '.');
    if (dot == NULL)
        return plain_ident(name, strlen(name)) && (size_t)snprintf(out, size, "\"%s\"", name) < size;
    return plain_ident(name, (size_t)(dot - name)) && plain_ident(dot + 1, strlen(dot + 1)) &&
           (size_t)snprintf(out, size, "\"%.*s\".\"%s\"", (int)(dot - name), name, dot + 1) < size;
}

static void notice_quiet(void *arg, const char *message) {
    (void)arg;
    (void)message; /* server notices (e.g. on shutdown) are not ours to print */
}

/* Drops the connection after a failure: state DOWN, next attempt after the
 * backoff. Returns HF_ERETRY with "<desc>: <what>: <libpq's message>". */
static hf_status fail_conn(hf_facility_pg *pg, int64_t now, hf_err *err, const char *what) {
    char msg[300];
    one_line(pg->conn != NULL ? PQerrorMessage(pg->conn) : "", msg, sizeof msg);
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    pg->conn = NULL;
    pg->state = PG_DOWN;
    pg->retry_at = now + pg->backoff_ms;
    pg->backoff_ms = pg->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : pg->backoff_ms * 2;
    hf_facility_table_free(pg->fresh);
    pg->fresh = NULL;
    return hf_err_set(err, HF_ERETRY, "%s: %s%s%s", pg->desc, what, msg[0] ? ": " : "", msg);
}

/* Starts a non-blocking connection attempt. */
static hf_status start_connect(hf_facility_pg *pg, int64_t now, hf_err *err) {
    /* Keywords before dbname are defaults the conninfo may override; the
     * one after it is forced (strings must arrive as UTF-8). */
    const char *const keys[] = {"fallback_application_name", "keepalives_idle", "keepalives_interval",
                                "keepalives_count", "dbname", "client_encoding", NULL};
    const char *const vals[] = {"hl7flow-facilities", "30", "10", "3", pg->conninfo, "UTF8", NULL};
    pg->conn = PQconnectStartParams(keys, vals, 1);
    if (pg->conn == NULL)
        return hf_err_set(err, HF_ENOMEM, "%s: out of memory", pg->desc);
    if (PQstatus(pg->conn) == CONNECTION_BAD)
        return fail_conn(pg, now, err, "cannot connect");
    PQsetNoticeProcessor(pg->conn, notice_quiet, NULL);
    pg->state = PG_CONNECTING;
    pg->connect_wait = PGRES_POLLING_WRITING;
    pg->op_deadline = now + pg->timeout_ms;
    return HF_OK;
}

/* Sends @p sql and enters @p next (PG_LISTEN or PG_SELECT). */
static hf_status send_query(hf_facility_pg *pg, int64_t now, const char *sql, pg_state next, hf_err *err) {
    if (!PQsendQuery(pg->conn, sql))
        return fail_conn(pg, now, err, "cannot send query");
    pg->state = next;
    pg->op_deadline = now + pg->timeout_ms;
    pg->q_st = HF_OK;
    pg->q_err.msg[0] = '\0';
    return HF_OK;
}

/* Builds a table from the one-column JSON rows of the SELECT. */
static hf_status build_table(hf_facility_pg *pg, const PGresult *res, hf_facility_table **out, hf_err *err) {
    *out = NULL;
    if (PQnfields(res) != 1)
        return hf_err_set(err, HF_EFATAL, "%s: unexpected result shape", pg->origin);
    hf_facility_builder *b = NULL;
    hf_status st = hf_facility_builder_new(pg->origin, &b, err);
    int rows = PQntuples(res);
    for (int i = 0; st == HF_OK && i < rows; i++) {
        char label[32];
        snprintf(label, sizeof label, "row %d", i);
        json_error_t je;
        json_t *obj = json_loadb(PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0),
                                 JSON_REJECT_DUPLICATES, &je);
        if (obj == NULL) {
            st = hf_err_set(err, HF_ESYNTAX, "%s: %s: %s", pg->origin, label, je.text);
            break;
        }
        st = hf_facility_json_entry(b, label, obj, err);
        json_decref(obj);
    }
    if (st != HF_OK) {
        hf_facility_builder_free(b);
        return st;
    }
    return hf_facility_builder_finish(b, out, err);
}

/* Notes one result of the running query. */
static void take_result(hf_facility_pg *pg, PGresult *res) {
    ExecStatusType rs = PQresultStatus(res);
    if (pg->q_st != HF_OK) {
        /* keep the first problem */
    } else if (rs == PGRES_FATAL_ERROR || rs == PGRES_NONFATAL_ERROR || rs == PGRES_BAD_RESPONSE) {
        char msg[300];
        one_line(PQresultErrorMessage(res), msg, sizeof msg);
        pg->q_st = hf_err_set(&pg->q_err, HF_ECONFIG, "%s: %s: %s", pg->origin,
                              pg->state == PG_LISTEN ? "LISTEN" : "SELECT", msg);
    } else if (pg->state == PG_SELECT && rs == PGRES_TUPLES_OK && pg->fresh == NULL) {
        pg->q_st = build_table(pg, res, &pg->fresh, &pg->q_err);
    }
    PQclear(res);
}

static void drain_notifies(hf_facility_pg *pg) {
    PGnotify *n;
    while ((n = PQnotifies(pg->conn)) != NULL) {
        pg->reload_wanted = true;
        PQfreemem(n);
    }
}

/* One non-blocking step. *fresh gets a table when a SELECT completed;
 * *events says what the socket is waited for (for the blocking open). */
static hf_status step(hf_facility_pg *pg, int64_t now, hf_facility_table **fresh, short *events,
                      hf_err *err) {
    *events = 0;
    hf_status st;
    switch (pg->state) {
    case PG_DOWN:
        if (now < pg->retry_at)
            return HF_OK;
        if ((st = start_connect(pg, now, err)) != HF_OK)
            return st;
        /* fall through */
    case PG_CONNECTING: {
        short want = pg->connect_wait == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        struct pollfd pfd = {PQsocket(pg->conn), want, 0};
        if (pfd.fd >= 0 && poll(&pfd, 1, 0) == 0) {
            if (now > pg->op_deadline)
                return fail_conn(pg, now, err, "connection timed out");
            *events = want;
            return HF_OK;
        }
        PostgresPollingStatusType r = PQconnectPoll(pg->conn);
        if (r == PGRES_POLLING_FAILED)
            return fail_conn(pg, now, err, "cannot connect");
        if (r != PGRES_POLLING_OK) {
            pg->connect_wait = r;
            *events = r == PGRES_POLLING_READING ? POLLIN : POLLOUT;
            return HF_OK;
        }
        if (PQsetnonblocking(pg->conn, 1) != 0)
            return fail_conn(pg, now, err, "cannot switch to non-blocking mode");
        st = send_query(pg, now, pg->listen_sql, PG_LISTEN, err);
        *events = POLLIN;
        return st;
    }
    case PG_LISTEN:
    case PG_SELECT: {
        int fl = PQflush(pg->conn);
        if (fl < 0)
            return fail_conn(pg, now, err, "connection lost");
        if (!PQconsumeInput(pg->conn))
            return fail_conn(pg, now, err, "connection lost");
        if (pg->state == PG_SELECT)
            drain_notifies(pg);
        while (!PQisBusy(pg->conn)) {
            PGresult *res = PQgetResult(pg->conn);
            if (res == NULL)
                break;
            take_result(pg, res);
        }
        if (PQisBusy(pg->conn) || fl == 1) {
            if (now > pg->op_deadline)
                return fail_conn(pg, now, err,
                                 pg->state == PG_LISTEN ? "LISTEN timed out" : "SELECT timed out");
            *events = (short)(POLLIN | (fl == 1 ? POLLOUT : 0));
            return HF_OK;
        }
        /* the query is complete */
        if (pg->state == PG_LISTEN) {
            if (pg->q_st != HF_OK)
                return fail_conn(pg, now, err, "LISTEN failed");
            st = send_query(pg, now, pg->select_sql, PG_SELECT, err);
            *events = POLLIN;
            return st;
        }
        pg->state = PG_IDLE;
        pg->next_reload = now + pg->poll_ms;
        pg->next_notify = now + pg->notify_ms;
        if (pg->q_st == HF_OK && pg->fresh == NULL)
            pg->q_st = hf_err_set(&pg->q_err, HF_EFATAL, "%s: SELECT returned no result", pg->origin);
        if (pg->q_st != HF_OK) {
            hf_facility_table_free(pg->fresh);
            pg->fresh = NULL;
            if (err != NULL)
                *err = pg->q_err;
            return pg->q_st;
        }
        pg->backoff_ms = PG_BACKOFF_MIN_MS;
        *fresh = pg->fresh;
        pg->fresh = NULL;
        return HF_OK;
    }
    case PG_IDLE:
        if (now >= pg->next_notify) {
            pg->next_notify = now + pg->notify_ms;
            if (!PQconsumeInput(pg->conn))
                return fail_conn(pg, now, err, "connection lost");
            drain_notifies(pg);
        }
        if (now >= pg->next_reload)
            pg->reload_wanted = true;
        if (pg->reload_wanted) {
            pg->reload_wanted = false;
            return send_query(pg, now, pg->select_sql, PG_SELECT, err);
        }
        return HF_OK;
    }
    return HF_OK;
}

/* The earliest time a step can have work. */
static int64_t next_due(const hf_facility_pg *pg, int64_t now) {
    switch (pg->state) {
    case PG_DOWN: return pg->retry_at;
    case PG_IDLE: return pg->next_notify < pg->next_reload ? pg->next_notify : pg->next_reload;
    default: return now + PG_STEP_MS;
    }
}

/* ----------------------------------------------------------------- API */

void hf_facility_pg_close(hf_facility_pg *pg) {
    if (pg == NULL)
        return;
    if (pg->conn != NULL)
        PQfinish(pg->conn);
    hf_facility_table_free(pg->fresh);
    free(pg->conninfo);
    free(pg->listen_sql);
    free(pg->select_sql);
    free(pg);
}

const char *hf_facility_pg_desc(const hf_facility_pg *pg) { return pg->desc; }

hf_status hf_facility_pg_open(const char *conninfo, const hf_facility_dir_opts *opts, hf_facility_pg **out,
                              hf_facility_table **first, hf_err *err) {
    *out = NULL;
    *first = NULL;
    const char *table =
        opts != NULL && opts->table != NULL && opts->table[0] ? opts->table : "hl7flow_facility";
    const char *channel =
        opts != NULL && opts->channel != NULL && opts->channel[0] ? opts->channel : "hl7flow_facility";
    hf_facility_pg *pg = calloc(1, sizeof *pg);
    if (pg == NULL)
        return hf_err_set(err, HF_ENOMEM, "facilities: out of memory");
    hf_status st = HF_OK;
    if (!describe(conninfo, pg->desc, sizeof pg->desc)) {
        st = hf_err_set(err, HF_ECONFIG,
                        "facilities: the PostgreSQL source is not a valid connection URI or "
                        "keyword=value string");
        goto fail;
    }
    char qtable[160];
    if (!quote_table(table, qtable, sizeof qtable)) {
        st = hf_err_set(err, HF_ECONFIG, "%s: table name '%.80s' is not [schema.]name of [A-Za-z0-9_$]",
                        pg->desc, table);
        goto fail;
    }
    if (!plain_ident(channel, strlen(channel))) {
        st = hf_err_set(err, HF_ECONFIG, "%s: channel name '%.80s' is not an identifier of [A-Za-z0-9_$]",
                        pg->desc, channel);
        goto fail;
    }
    snprintf(pg->origin, sizeof pg->origin, "%s table %s", pg->desc, table);
    char sql[1024];
    snprintf(sql, sizeof sql, "LISTEN \"%s\"", channel);
    pg->listen_sql = strdup(sql);
    snprintf(sql, sizeof sql,
             "SELECT json_build_object('facility_id', facility_id, 'name', name, 'organization', "
             "organization, 'npi', npi, 'time_zone', time_zone, 'region', region, 'source_systems', "
             "source_systems, 'attributes', attributes)::text FROM %s ORDER BY facility_id COLLATE \"C\"",
             qtable);
    pg->select_sql = strdup(sql);
    pg->conninfo = strdup(conninfo);
    if (pg->listen_sql == NULL || pg->select_sql == NULL || pg->conninfo == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "facilities: out of memory");
        goto fail;
    }
    pg->poll_ms = opts != NULL && opts->poll_ms > 0 ? opts->poll_ms : 30000;
    pg->notify_ms = opts != NULL && opts->notify_check_ms > 0 ? opts->notify_check_ms : 250;
    pg->timeout_ms = (opts != NULL && opts->connect_timeout_s > 0 ? opts->connect_timeout_s : 10) * 1000;
    pg->backoff_ms = PG_BACKOFF_MIN_MS;
    pg->state = PG_DOWN;

    /* The first table: run the machine, waiting on the socket in between. */
    int64_t now = hf_mono_ms(), deadline = now + pg->timeout_ms;
    for (;;) {
        short events = 0;
        if ((st = step(pg, now, first, &events, err)) != HF_OK)
            goto fail;
        if (*first != NULL)
            break;
        now = hf_mono_ms();
        if (now > deadline) {
            st = fail_conn(pg, now, err, "timed out loading the first table");
            goto fail;
        }
        struct pollfd pfd = {pg->conn != NULL ? PQsocket(pg->conn) : -1, events, 0};
        int wait = (int)(deadline - now < 100 ? deadline - now + 1 : 100);
        if (pfd.fd >= 0 && events != 0)
            poll(&pfd, 1, wait);
        now = hf_mono_ms();
    }
    *out = pg;
    return HF_OK;
fail:
    hf_facility_pg_close(pg);
    return st;
}

hf_status hf_facility_pg_poll(hf_facility_pg *pg, int64_t now_ms, hf_facility_table **fresh, hf_err *err) {
    *fresh = NULL;
    if (!pg->clock_set) { /* open ran on hf_mono_ms; restart the deadlines on the caller's clock */
        pg->clock_set = true;
        pg->next_notify = now_ms;
        pg->next_reload = now_ms + pg->poll_ms;
        pg->retry_at = now_ms;
        pg->due = now_ms;
    }
    if (now_ms < pg->due)
        return HF_OK;
    short events;
    hf_status st = step(pg, now_ms, fresh, &events, err);
    pg->due = next_due(pg, now_ms);
    return st;
}
