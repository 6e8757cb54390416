/* linker_empi.c - enterprise patient ids: golden records, links, the
 * blocking index and the review queue in PostgreSQL, shared by every
 * linker replica.
 *
 * Tables (migrated at start, docs/mpi-linker.md):
 *   empi_golden(empi_id PK, person_key UNIQUE, display demographics)
 *   empi_link(mrn_hash PK, empi_id, facility_id, link_status, match_score,
 *             merged_into, match_rec = the sealed prepared record)
 *   empi_block(key_hash, mrn_hash, seq): keyed hashes of blocking keys
 *   empi_review(mrn_hash, empi_id, candidate_mrn_hash, candidate_empi_id,
 *               match_score, match_weight, status)
 *   empi_merge(id bigserial, prior_mrn_hash, survivor_mrn_hash, empi_id)
 *
 * Assignment (mpi_empi_assign):
 *  1. deterministic: an MRN hash (facility + authority + MRN) keeps the id
 *     it was first given;
 *  2. probabilistic (match.h): the record is prepared, its blocking keys
 *     are hashed with a key derived from the fleet key (linkstate_match.c),
 *     the most recent LINKER_MATCH_CANDIDATES_PER_KEY records of each key
 *     are scored and the best one decides: auto-link (its identity,
 *     link_status 'auto', match_score = match probability), review (a new
 *     identity, link_status 'review', and a row in empi_review with the
 *     candidate) or a new identity ('new').
 *
 * Race-freedom: step 2 runs in one transaction that first takes
 * pg_advisory_xact_lock on the record's blocking-key hashes and its MRN
 * hash, in ascending order (no deadlock: every replica locks in the same
 * order). Two records that could match share a blocking key (else neither
 * is the other's candidate), so their assignments are serialised: the
 * second one's candidate query (READ COMMITTED: a new snapshot per
 * statement, taken after the lock was granted, so after the first one's
 * commit) sees the first one's link and block rows. Records that share no
 * key do not wait for each other. The id of a new golden record is a hash
 * of the founding MRN hash and every insert is ON CONFLICT DO NOTHING, so
 * a batch processed again (the Kafka transaction aborted after the
 * database commit) finds its link in step 1 and changes nothing. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/log.h"
#include "linker.h"

struct mpi_empi {
    PGconn *conn;
    int64_t last_merge_id;
    int64_t per_key;           /* candidates per blocking key */
    hf_match_model model;
    hf_ls_keyring keys;        /* secret */
    hf_ls_candidate *cands;    /* scratch, cap_cands entries */
    size_t cap_cands;
};

static const char *const MIGRATION[] = {
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
    /* v2: probabilistic matching */
    "ALTER TABLE empi_link ADD COLUMN IF NOT EXISTS match_rec bytea",
    "CREATE TABLE IF NOT EXISTS empi_block ("
    " key_hash text NOT NULL,"
    " mrn_hash text NOT NULL REFERENCES empi_link(mrn_hash),"
    " seq bigserial NOT NULL,"
    " PRIMARY KEY (key_hash, mrn_hash))",
    "CREATE INDEX IF NOT EXISTS empi_block_recent ON empi_block (key_hash, seq DESC)",
    "CREATE TABLE IF NOT EXISTS empi_review ("
    " id bigserial PRIMARY KEY,"
    " mrn_hash text NOT NULL,"
    " empi_id text NOT NULL,"
    " candidate_mrn_hash text NOT NULL,"
    " candidate_empi_id text NOT NULL,"
    " match_score double precision NOT NULL,"
    " match_weight double precision NOT NULL,"
    " status text NOT NULL DEFAULT 'open',"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " UNIQUE (mrn_hash, candidate_mrn_hash))",
    "CREATE INDEX IF NOT EXISTS empi_review_open ON empi_review (status, id)",
    "INSERT INTO empi_schema_version VALUES (2) ON CONFLICT DO NOTHING",
    NULL,
};

/* A connection problem, a serialization failure or deadlock, or a server
 * resource problem is transient: the batch is retried. A data error (the
 * database refused this record's values, SQLSTATE classes 22 and 23) is
 * not: retrying would stall the partition forever, so the record goes to
 * the DLQ (class state). Messages name the SQLSTATE only: the server's
 * text can quote the values, which are patient data. An open transaction
 * is rolled back. */
static hf_status pg_fail(mpi_empi *e, PGresult *res, const char *what, hf_err *err) {
    char code[6] = "?";
    const char *sqlstate = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (sqlstate != NULL)
        snprintf(code, sizeof code, "%s", sqlstate);
    PQclear(res);
    if (PQstatus(e->conn) != CONNECTION_OK) {
        PQreset(e->conn);
        return hf_err_set(err, HF_ERETRY, "empi %s: database unreachable", what);
    }
    if (PQtransactionStatus(e->conn) != PQTRANS_IDLE)
        PQclear(PQexec(e->conn, "ROLLBACK"));
    if (strncmp(code, "22", 2) == 0 || strncmp(code, "23", 2) == 0)
        return hf_err_set(err, HF_ESYNTAX, "empi %s: the database refused the record's values "
                          "(SQLSTATE %s)", what, code);
    return hf_err_set(err, HF_ERETRY, "empi %s: SQLSTATE %s", what, code);
}

static hf_status exec_ok(mpi_empi *e, const char *sql, const char *what, hf_err *err) {
    PGresult *res = PQexec(e->conn, sql);
    ExecStatusType t = PQresultStatus(res);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
        return pg_fail(e, res, what, err);
    PQclear(res);
    return HF_OK;
}

hf_status mpi_empi_open(const mpi_empi_cfg *cfg, mpi_empi **out, hf_err *err) {
    mpi_empi *e = calloc(1, sizeof *e);
    if (e == NULL)
        return hf_err_set(err, HF_ENOMEM, "empi");
    e->per_key = cfg->candidates_per_key;
    hf_status st = hf_match_model_load(&e->model, cfg->model_path, err);
    if (st != HF_OK) {
        char detail[sizeof err->msg];
        snprintf(detail, sizeof detail, "%s", err->msg);
        mpi_empi_close(e);
        return hf_err_set(err, HF_ECONFIG, "LINKER_MATCH_MODEL: %s", detail);
    }
    if ((st = hf_ls_keyring_init(&e->keys, cfg->fleet_key, strlen(cfg->fleet_key), err)) !=
        HF_OK) {
        char detail[sizeof err->msg];
        snprintf(detail, sizeof detail, "%s", err->msg);
        mpi_empi_close(e);
        return hf_err_set(err, st, "HL7FLOW_MRN_HASH_KEY: %s", detail);
    }
    e->cap_cands = (size_t)e->per_key * HF_MATCH_MAX_KEYS;
    e->cands = calloc(e->cap_cands, sizeof *e->cands);
    if (e->cands == NULL) {
        mpi_empi_close(e);
        return hf_err_set(err, HF_ENOMEM, "empi candidates");
    }
    e->conn = PQconnectdb(cfg->conninfo);
    if (PQstatus(e->conn) != CONNECTION_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(e->conn));
        msg[strcspn(msg, "\n")] = '\0';
        mpi_empi_close(e);
        return hf_err_set(err, HF_ERETRY, "LINKER_DATABASE: cannot connect: %s", msg);
    }
    st = exec_ok(e, "BEGIN", "migration", err);
    /* One migrator at a time: replicas starting together would otherwise
     * race on CREATE TABLE IF NOT EXISTS (duplicate pg_type rows). */
    if (st == HF_OK)
        st = exec_ok(e, "SELECT pg_advisory_xact_lock(7007007)", "migration", err);
    for (size_t i = 0; st == HF_OK && MIGRATION[i] != NULL; i++)
        st = exec_ok(e, MIGRATION[i], "migration", err);
    if (st == HF_OK)
        st = exec_ok(e, "COMMIT", "migration", err);
    if (st != HF_OK) {
        mpi_empi_close(e);
        return st == HF_ERETRY ? HF_ECONFIG : st;
    }
    HF_LOG(HF_LOG_INFO, "empi_ready", HF_LI("schema_version", 2),
           HF_LD("link_probability", e->model.link_probability),
           HF_LD("review_probability", e->model.review_probability),
           HF_LI("candidates_per_key", e->per_key));
    *out = e;
    return HF_OK;
}

void mpi_empi_close(mpi_empi *e) {
    if (e == NULL)
        return;
    PQfinish(e->conn);
    free(e->cands);
    explicit_bzero(&e->keys, sizeof e->keys);
    free(e);
}

/* Upper-cased copy of a name part (ASCII letters; other bytes as sent),
 * cut at a UTF-8 character boundary when it does not fit. */
static void upper_into(char *dst, size_t cap, hf_span s) {
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    while (n > 0 && n < s.len && ((unsigned char)s.p[n] & 0xC0) == 0x80)
        n--; /* s.p[n] continues a character: do not split it */
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i];
        dst[i] = c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
    }
    dst[n] = '\0';
}

/* The person key and empi id of a golden record founded by @p mrn_hash. */
static void founding_id(const char *mrn_hash, char *key, size_t cap, char *empi, size_t ecap) {
    snprintf(key, cap, "mrn|%s", mrn_hash);
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

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Locks the record's blocking-key hashes and MRN hash for the rest of the
 * transaction, in ascending lock-id order (one statement; unnest yields in
 * array order). */
static hf_status lock_keys(mpi_empi *e, const char *mrn_hash,
                           char hashes[HF_MATCH_MAX_KEYS][HF_LS_BLOCK_HEX], size_t nh,
                           hf_err *err) {
    int64_t ids[HF_MATCH_MAX_KEYS + 1];
    size_t n = 0;
    for (size_t i = 0; i < nh; i++)
        ids[n++] = hf_ls_lock_id(hashes[i]);
    ids[n++] = hf_ls_lock_id(mrn_hash);
    qsort(ids, n, sizeof ids[0], cmp_i64);
    char arr[(HF_MATCH_MAX_KEYS + 1) * 24 + 4];
    size_t len = 0;
    arr[len++] = '{';
    for (size_t i = 0; i < n; i++)
        if (i == 0 || ids[i] != ids[i - 1])
            len += (size_t)snprintf(arr + len, sizeof arr - len, "%s%lld", len > 1 ? "," : "",
                                    (long long)ids[i]);
    snprintf(arr + len, sizeof arr - len, "}");
    const char *params[1] = {arr};
    PGresult *res = PQexecParams(e->conn,
                                 "SELECT pg_advisory_xact_lock(id) FROM unnest($1::bigint[]) AS t(id)",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail(e, res, "lock", err);
    PQclear(res);
    return HF_OK;
}

/* "{h1,h2,...}" of the hex hashes (a text[] literal; hex needs no quoting). */
static void text_array(char hashes[HF_MATCH_MAX_KEYS][HF_LS_BLOCK_HEX], size_t nh, char *out,
                       size_t cap) {
    size_t len = 0;
    out[len++] = '{';
    for (size_t i = 0; i < nh; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", hashes[i]);
    snprintf(out + len, cap - len, "}");
}

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The candidates of the record: the most recent per_key records under each
 * of its blocking-key hashes, with the identity each is linked to now.
 * Fills e->cands (strings point into *res, which the caller clears). */
static hf_status candidates(mpi_empi *e, const char *arr, PGresult **res_out, size_t *n,
                            hf_err *err) {
    char per_key[24];
    snprintf(per_key, sizeof per_key, "%lld", (long long)e->per_key);
    const char *params[2] = {arr, per_key};
    PGresult *res = PQexecParams(
        e->conn,
        "SELECT DISTINCT l.mrn_hash, l.empi_id, encode(l.match_rec, 'hex') "
        "FROM unnest($1::text[]) AS k(h) CROSS JOIN LATERAL "
        "(SELECT b.mrn_hash FROM empi_block b WHERE b.key_hash = k.h ORDER BY b.seq DESC "
        "LIMIT $2::integer) c JOIN empi_link l ON l.mrn_hash = c.mrn_hash "
        "WHERE l.match_rec IS NOT NULL",
        2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return pg_fail(e, res, "candidates", err);
    *n = 0;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && *n < e->cap_cands; i++) {
        const char *hex = PQgetvalue(res, i, 2);
        size_t hl = strlen(hex);
        unsigned char sealed[HF_LS_SEALED_MAX];
        if (hl % 2 != 0 || hl / 2 > sizeof sealed)
            continue;
        bool ok = true;
        for (size_t j = 0; j < hl / 2 && ok; j++) {
            int hi = hexval(hex[2 * j]), lo = hexval(hex[2 * j + 1]);
            ok = hi >= 0 && lo >= 0;
            sealed[j] = (unsigned char)(hi << 4 | lo);
        }
        hf_ls_candidate *c = &e->cands[*n];
        c->mrn_hash = PQgetvalue(res, i, 0);
        c->empi_id = PQgetvalue(res, i, 1);
        /* A value that does not open (sealed under an older fleet key) is
         * no candidate; it is not logged: the row is patient data. */
        if (ok && hf_ls_unseal(&e->keys, c->mrn_hash, sealed, hl / 2, &c->rec) == HF_OK)
            (*n)++;
    }
    *res_out = res;
    return HF_OK;
}

static void to_hex(const unsigned char *p, size_t n, char *out) {
    static const char hex[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i] = hex[p[i] >> 4];
        out[3 + 2 * i] = hex[p[i] & 15];
    }
    out[2 + 2 * n] = '\0';
}

static hf_status command(mpi_empi *e, const char *sql, int n, const char *const *params,
                         const char *what, hf_err *err) {
    PGresult *res = PQexecParams(e->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType t = PQresultStatus(res);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
        return pg_fail(e, res, what, err);
    PQclear(res);
    return HF_OK;
}

/* Inserts the golden record founded by @p p (idempotent) into @p empi. */
static hf_status found_golden(mpi_empi *e, const mpi_person *p, char *empi, size_t ecap,
                              hf_err *err) {
    char key[HF_LS_HASH + 8], fam[HF_LS_NAME], giv[HF_LS_NAME], sex[8], dob[16];
    founding_id(p->mrn_hash, key, sizeof key, empi, ecap);
    upper_into(fam, sizeof fam, p->who.family);
    upper_into(giv, sizeof giv, p->who.given);
    upper_into(sex, sizeof sex, p->who.sex);
    if (p->birth_date.set)
        snprintf(dob, sizeof dob, "%d", (int)p->birth_date.v);
    const char *gp[6] = {empi, key, fam[0] ? fam : NULL, giv[0] ? giv : NULL,
                         p->birth_date.set ? dob : NULL, sex[0] ? sex : NULL};
    return command(e,
                   "INSERT INTO empi_golden (empi_id, person_key, family_name, given_name, "
                   "birth_date, sex) VALUES ($1, $2, $3, $4, DATE '1970-01-01' + $5::integer, $6) "
                   "ON CONFLICT (person_key) DO NOTHING",
                   6, gp, "golden insert", err);
}

/* Step 2 inside the locked transaction: candidates, decision, rows. */
static hf_status assign_locked(mpi_empi *e, const mpi_person *p, const hf_match_rec *rec,
                               char hashes[HF_MATCH_MAX_KEYS][HF_LS_BLOCK_HEX], size_t nh,
                               hf_err *err) {
    char arr[HF_MATCH_MAX_KEYS * HF_LS_BLOCK_HEX + 4];
    text_array(hashes, nh, arr, sizeof arr);
    PGresult *cres = NULL;
    size_t nc = 0;
    hf_status st = HF_OK;
    if (nh > 0 && (st = candidates(e, arr, &cres, &nc, err)) != HF_OK)
        return st;
    hf_ls_choice ch;
    hf_ls_choose(&e->model, rec, e->cands, nc, &ch);
    char empi[HF_LS_TEXT], cand_empi[HF_LS_TEXT] = "", cand_mrn[HF_LS_HASH] = "";
    if (ch.index != SIZE_MAX) {
        snprintf(cand_empi, sizeof cand_empi, "%s", e->cands[ch.index].empi_id);
        snprintf(cand_mrn, sizeof cand_mrn, "%s", e->cands[ch.index].mrn_hash);
    }
    explicit_bzero(e->cands, nc * sizeof *e->cands);
    PQclear(cres);

    const char *status = "new";
    if (ch.decision == HF_MATCH_LINK) {
        snprintf(empi, sizeof empi, "%s", cand_empi);
        status = "auto";
    } else {
        if ((st = found_golden(e, p, empi, sizeof empi, err)) != HF_OK)
            return st;
        if (ch.decision == HF_MATCH_REVIEW)
            status = "review";
    }
    unsigned char sealed[HF_LS_SEALED_MAX];
    size_t slen = 0;
    if (hf_ls_seal(&e->keys, p->mrn_hash, rec, sealed, &slen) != HF_OK) {
        PQclear(PQexec(e->conn, "ROLLBACK"));
        return hf_err_set(err, HF_EFATAL, "empi: sealing failed (OpenSSL)");
    }
    char sealed_hex[2 * HF_LS_SEALED_MAX + 3], fac[HF_LS_TEXT], score[32], weight[32];
    to_hex(sealed, slen, sealed_hex);
    snprintf(fac, sizeof fac, "%.*s", (int)p->facility_id.len, p->facility_id.p);
    snprintf(score, sizeof score, "%.17g", ch.probability);
    snprintf(weight, sizeof weight, "%.17g", ch.weight);
    const char *lp[6] = {p->mrn_hash, empi, fac, status,
                         ch.decision == HF_MATCH_NEW ? NULL : score, sealed_hex};
    if ((st = command(e,
                      "INSERT INTO empi_link (mrn_hash, empi_id, facility_id, link_status, "
                      "match_score, match_rec) VALUES ($1, $2, $3, $4, $5::double precision, "
                      "$6::bytea) ON CONFLICT (mrn_hash) DO NOTHING",
                      6, lp, "link insert", err)) != HF_OK)
        return st;
    if (nh > 0) {
        const char *bp[2] = {arr, p->mrn_hash};
        if ((st = command(e,
                          "INSERT INTO empi_block (key_hash, mrn_hash) "
                          "SELECT h, $2 FROM unnest($1::text[]) AS k(h) ON CONFLICT DO NOTHING",
                          2, bp, "block insert", err)) != HF_OK)
            return st;
    }
    if (ch.decision == HF_MATCH_REVIEW) {
        const char *rp[6] = {p->mrn_hash, empi, cand_mrn, cand_empi, score, weight};
        if ((st = command(e,
                          "INSERT INTO empi_review (mrn_hash, empi_id, candidate_mrn_hash, "
                          "candidate_empi_id, match_score, match_weight) VALUES ($1, $2, $3, $4, "
                          "$5::double precision, $6::double precision) ON CONFLICT DO NOTHING",
                          6, rp, "review insert", err)) != HF_OK)
            return st;
    }
    return HF_OK;
}

hf_status mpi_empi_assign(mpi_empi *e, const mpi_person *p, mpi_identity *out, hf_err *err) {
    memset(out, 0, sizeof *out);
    bool found = false;
    hf_status st = link_get(e, p->mrn_hash, out, &found, err);
    if (st != HF_OK || found)
        return st; /* rule 1: the MRN hash keeps its identity */

    hf_match_rec rec;
    hf_match_prepare(&p->who, &rec);
    char hashes[HF_MATCH_MAX_KEYS][HF_LS_BLOCK_HEX];
    size_t nh = hf_ls_block_hashes(&e->keys, &rec, hashes);

    if ((st = exec_ok(e, "BEGIN", "begin", err)) != HF_OK)
        goto done;
    if ((st = lock_keys(e, p->mrn_hash, hashes, nh, err)) != HF_OK)
        goto done;
    /* Linked by another replica while this one waited for the locks? */
    if ((st = link_get(e, p->mrn_hash, out, &found, err)) != HF_OK)
        goto done;
    if (!found && (st = assign_locked(e, p, &rec, hashes, nh, err)) != HF_OK)
        goto done;
    if ((st = exec_ok(e, "COMMIT", "commit", err)) != HF_OK)
        goto done;
    if (!found) {
        st = link_get(e, p->mrn_hash, out, &found, err);
        if (st == HF_OK && !found)
            st = hf_err_set(err, HF_ERETRY, "empi link vanished after insert");
    }
done:
    explicit_bzero(&rec, sizeof rec);
    explicit_bzero(hashes, sizeof hashes);
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
    /* A review the merged identity waited in is settled by the merge. */
    const char *rp[1] = {prior};
    res = PQexecParams(e->conn,
                       "UPDATE empi_review SET status = 'merged' WHERE mrn_hash = $1 "
                       "AND status = 'open'",
                       1, NULL, rp, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return pg_fail(e, res, "merge review", err);
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
