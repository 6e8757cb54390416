/* linker_empi.c - enterprise patient ids: golden records and links in
 * PostgreSQL, shared by every linker replica.
 *
 * Tables (migrated at start, docs/mpi-linker.md):
 *   empi_golden(empi_id PK, person_key UNIQUE, demographics)
 *   empi_link(mrn_hash PK, empi_id, facility_id, link_status, match_score,
 *             merged_into)
 *   empi_merge(id bigserial, prior_mrn_hash, survivor_mrn_hash, empi_id)
 *
 * Assignment rule (deterministic, until the matching library of
 * match.h takes over): a patient's MRN hash (facility + authority + MRN)
 * keeps the id it was first given; a new MRN hash joins the golden record
 * of the same person key - exact family + given name + date of birth + sex
 * - or founds one. Without a name or birth date the person key is the MRN
 * hash itself, so such a patient never joins anyone.
 *
 * Race-freedom without locks: the empi_id of a new golden record is a
 * hash of its person key, so two replicas that see the same new person at
 * once propose the same row; INSERT ... ON CONFLICT (person_key) DO
 * NOTHING lets exactly one insert win (the other waits for the winner's
 * commit, then skips) and both read the winner's row back. Links the same
 * way on mrn_hash. Every statement is idempotent, so a replayed batch
 * changes nothing. Advisory locks or SELECT ... FOR UPDATE would also work
 * but serialise replicas on every new patient and need a transaction held
 * across round trips; the unique indexes give the same guarantee in one
 * statement each. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/log.h"
#include "linker.h"

struct mpi_empi {
    PGconn *conn;
    int64_t last_merge_id;
};

static const char *const MIGRATION_V1[] = {
    "CREATE TABLE IF NOT EXISTS empi_schema_version (version integer PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS empi_golden ("
    " empi_id text PRIMARY KEY,"
    " person_key text NOT NULL UNIQUE,"
    " family_name text, given_name text, birth_date date, sex text,"
    " created_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS empi_link ("
    " mrn_hash text PRIMARY KEY,"
    " empi_id text NOT NULL REFERENCES empi_golden(empi_id),"
    " facility_id text NOT NULL,"
    " link_status text NOT NULL,"
    " match_score double precision,"
    " merged_into text,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " updated_at timestamptz NOT NULL DEFAULT now())",
    "CREATE INDEX IF NOT EXISTS empi_link_by_empi ON empi_link (empi_id)",
    "CREATE TABLE IF NOT EXISTS empi_merge ("
    " id bigserial PRIMARY KEY,"
    " prior_mrn_hash text NOT NULL,"
    " survivor_mrn_hash text NOT NULL,"
    " empi_id text NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " UNIQUE (prior_mrn_hash, survivor_mrn_hash))",
    "INSERT INTO empi_schema_version VALUES (1) ON CONFLICT DO NOTHING",
    NULL,
};

/* A connection problem is transient (retry the batch); anything else is a
 * bug or a schema problem. */
static hf_status pg_fail(mpi_empi *e, PGresult *res, const char *what, hf_err *err) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(e->conn));
    msg[strcspn(msg, "\n")] = '\0';
    PQclear(res);
    if (PQstatus(e->conn) != CONNECTION_OK) {
        PQreset(e->conn);
        return hf_err_set(err, HF_ERETRY, "empi %s: database unreachable: %s", what, msg);
    }
    return hf_err_set(err, HF_ERETRY, "empi %s: %s", what, msg);
}

static hf_status exec_ok(mpi_empi *e, const char *sql, hf_err *err) {
    PGresult *res = PQexec(e->conn, sql);
    ExecStatusType t = PQresultStatus(res);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
        return pg_fail(e, res, "migration", err);
    PQclear(res);
    return HF_OK;
}

hf_status mpi_empi_open(const char *conninfo, mpi_empi **out, hf_err *err) {
    mpi_empi *e = calloc(1, sizeof *e);
    if (e == NULL)
        return hf_err_set(err, HF_ENOMEM, "empi");
    e->conn = PQconnectdb(conninfo);
    if (PQstatus(e->conn) != CONNECTION_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(e->conn));
        msg[strcspn(msg, "\n")] = '\0';
        mpi_empi_close(e);
        return hf_err_set(err, HF_ERETRY, "LINKER_DATABASE: cannot connect: %s", msg);
    }
    hf_status st = exec_ok(e, "BEGIN", err);
    /* One migrator at a time: replicas starting together would otherwise
     * race on CREATE TABLE IF NOT EXISTS (duplicate pg_type rows). */
    if (st == HF_OK)
        st = exec_ok(e, "SELECT pg_advisory_xact_lock(7007007)", err);
    for (size_t i = 0; st == HF_OK && MIGRATION_V1[i] != NULL; i++)
        st = exec_ok(e, MIGRATION_V1[i], err);
    if (st == HF_OK)
        st = exec_ok(e, "COMMIT", err);
    if (st != HF_OK) {
        mpi_empi_close(e);
        return st == HF_ERETRY ? HF_ECONFIG : st;
    }
    HF_LOG(HF_LOG_INFO, "empi_ready", HF_LI("schema_version", 1));
    *out = e;
    return HF_OK;
}

void mpi_empi_close(mpi_empi *e) {
    if (e == NULL)
        return;
    PQfinish(e->conn);
    free(e);
}

/* Upper-cased copy of a name part (ASCII letters; other bytes as sent). */
static void upper_into(char *dst, size_t cap, hf_span s) {
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i];
        dst[i] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
    }
    dst[n] = '\0';
}

/* The person key of the deterministic rule and the empi id it implies. */
static void person_key(const mpi_person *p, char *key, size_t cap, char *empi, size_t ecap) {
    char fam[HF_LS_NAME], giv[HF_LS_NAME], sex[8];
    upper_into(fam, sizeof fam, p->family);
    upper_into(giv, sizeof giv, p->given);
    upper_into(sex, sizeof sex, p->sex);
    if (fam[0] && giv[0] && p->birth_date.set)
        snprintf(key, cap, "p1|%s|%s|%d|%s", fam, giv, (int)p->birth_date.v, sex);
    else
        snprintf(key, cap, "mrn|%s", p->mrn_hash);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), md);
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    empi[n++] = 'E';
    for (int i = 0; i < 12 && n + 2 < ecap; i++) {
        empi[n++] = hex[md[i] >> 4];
        empi[n++] = hex[md[i] & 15];
    }
    empi[n] = '\0';
}

/* Reads the link of @p mrn_hash into @p out; *found false when none. */
static hf_status link_get(mpi_empi *e, const char *mrn_hash, mpi_identity *out, bool *found,
                          hf_err *err) {
    const char *params[1] = {mrn_hash};
    PGresult *res = PQexecParams(e->conn,
                                 "SELECT empi_id, link_status, match_score FROM empi_link "
                                 "WHERE mrn_hash = $1",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail(e, res, "link lookup", err);
    *found = PQntuples(res) == 1;
    if (*found) {
        snprintf(out->empi_id, sizeof out->empi_id, "%s", PQgetvalue(res, 0, 0));
        snprintf(out->link_status, sizeof out->link_status, "%s", PQgetvalue(res, 0, 1));
        out->has_match_score = !PQgetisnull(res, 0, 2);
        out->match_score = out->has_match_score ? strtod(PQgetvalue(res, 0, 2), NULL) : 0;
    }
    PQclear(res);
    return HF_OK;
}

hf_status mpi_empi_assign(mpi_empi *e, const mpi_person *p, mpi_identity *out, hf_err *err) {
    memset(out, 0, sizeof *out);
    bool found = false;
    hf_status st = link_get(e, p->mrn_hash, out, &found, err);
    if (st != HF_OK || found)
        return st;

    char key[256], empi[HF_LS_TEXT], fam[HF_LS_NAME], giv[HF_LS_NAME], sex[8], dob[16];
    person_key(p, key, sizeof key, empi, sizeof empi);
    upper_into(fam, sizeof fam, p->family);
    upper_into(giv, sizeof giv, p->given);
    upper_into(sex, sizeof sex, p->sex);
    if (p->birth_date.set)
        snprintf(dob, sizeof dob, "%d", (int)p->birth_date.v);
    const char *gparams[6] = {empi, key, fam[0] ? fam : NULL, giv[0] ? giv : NULL,
                              p->birth_date.set ? dob : NULL, sex[0] ? sex : NULL};
    PGresult *res = PQexecParams(
        e->conn,
        "INSERT INTO empi_golden (empi_id, person_key, family_name, given_name, birth_date, sex) "
        "VALUES ($1, $2, $3, $4, DATE '1970-01-01' + $5::integer, $6) "
        "ON CONFLICT (person_key) DO NOTHING RETURNING empi_id",
        6, NULL, gparams, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail(e, res, "golden insert", err);
    bool founded = PQntuples(res) == 1;
    PQclear(res);
    if (!founded) {
        const char *kp[1] = {key};
        res = PQexecParams(e->conn, "SELECT empi_id FROM empi_golden WHERE person_key = $1", 1,
                           NULL, kp, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
            return pg_fail(e, res, "golden lookup", err);
        snprintf(empi, sizeof empi, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    char fac[HF_LS_TEXT];
    snprintf(fac, sizeof fac, "%.*s", (int)p->facility_id.len, p->facility_id.p);
    /* 'new' founded a golden record; 'auto' joined one by the exact rule
     * (score 1: the deterministic rule's certainty). */
    const char *lparams[5] = {p->mrn_hash, empi, fac, founded ? "new" : "auto",
                              founded ? NULL : "1"};
    res = PQexecParams(e->conn,
                       "INSERT INTO empi_link (mrn_hash, empi_id, facility_id, link_status, "
                       "match_score) VALUES ($1, $2, $3, $4, $5::double precision) "
                       "ON CONFLICT (mrn_hash) DO NOTHING",
                       5, NULL, lparams, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(e, res, "link insert", err);
    PQclear(res);
    /* Read back: another replica may have linked this MRN hash first. */
    st = link_get(e, p->mrn_hash, out, &found, err);
    if (st == HF_OK && !found)
        return hf_err_set(err, HF_ERETRY, "empi link vanished after insert");
    return st;
}

hf_status mpi_empi_merge(mpi_empi *e, const char *prior, const char *survivor,
                         const char *empi_id, hf_span facility_id, hf_err *err) {
    char fac[HF_LS_TEXT];
    snprintf(fac, sizeof fac, "%.*s", (int)facility_id.len, facility_id.p);
    const char *lp[4] = {prior, empi_id, fac, survivor};
    PGresult *res = PQexecParams(
        e->conn,
        "INSERT INTO empi_link (mrn_hash, empi_id, facility_id, link_status, merged_into) "
        "VALUES ($1, $2, $3, 'merged', $4) ON CONFLICT (mrn_hash) DO UPDATE SET "
        "empi_id = EXCLUDED.empi_id, link_status = 'merged', merged_into = EXCLUDED.merged_into, "
        "updated_at = now()",
        4, NULL, lp, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(e, res, "merge relink", err);
    PQclear(res);
    const char *mp[3] = {prior, survivor, empi_id};
    res = PQexecParams(e->conn,
                       "INSERT INTO empi_merge (prior_mrn_hash, survivor_mrn_hash, empi_id) "
                       "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                       3, NULL, mp, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(e, res, "merge log", err);
    PQclear(res);
    return HF_OK;
}

hf_status mpi_empi_poll_merges(mpi_empi *e,
                               void (*fn)(const char *prior, const char *survivor,
                                          const char *empi_id, void *arg),
                               void *arg, hf_err *err) {
    for (;;) {
        char last[32];
        snprintf(last, sizeof last, "%lld", (long long)e->last_merge_id);
        const char *params[1] = {last};
        PGresult *res = PQexecParams(e->conn,
                                     "SELECT id, prior_mrn_hash, survivor_mrn_hash, empi_id "
                                     "FROM empi_merge WHERE id > $1::bigint ORDER BY id LIMIT 1000",
                                     1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            return pg_fail(e, res, "merge poll", err);
        int n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            e->last_merge_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
            fn(PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), arg);
        }
        PQclear(res);
        if (n < 1000)
            return HF_OK;
    }
}
