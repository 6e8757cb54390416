/* spg_loop.c - the consume loop of hl7flow-sink-postgres (spg.h): batches,
 * one database transaction each with the rows and the offsets, the
 * assignment from database offsets, pause/resume around outages.
 *
 * Single-threaded like the stage loop: the rebalance callback runs inside
 * our consumer polls, so the state needs no locks. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl7flow/dlq.h"
#include "hl7flow/headers.h"
#include "hl7flow/http.h"
#include "hl7flow/kafka.h"
#include "hl7flow/log.h"
#include "hl7flow/timeutil.h"
#include "spg.h"

static volatile sig_atomic_t g_stop;
void spg_request_stop(void) { g_stop = 1; }
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

#define MAX_INPUTS 16
#define ROWS_PER_STATEMENT 1000
#define STAGE_NAME "sink-postgres"

typedef struct reject {
    size_t idx;          /* in the batch */
    char cls[16];
    char why[512];
} reject;

/* A set of row keys of the current sub-batch (open addressing). */
typedef struct keyset {
    uint64_t *h;         /* 0 = empty */
    size_t cap, n;
} keyset;

typedef struct spg {
    spg_cfg *cfg;
    hf_registry *reg;
    char *topics[MAX_INPUTS];
    hf_rec_reader *readers[MAX_INPUTS];
    size_t ninputs;
    hf_rec_ctx *rec;
    hf_pgrows *rows, *one;
    PGconn *db;
    rd_kafka_t *consumer, *producer;
    rd_kafka_message_t **batch;
    size_t nbatch;
    bool revoked, fatal, db_up, need_reassign;
    int64_t backoff_ms, next_try_ms;
    keyset keys;
    size_t *sub;         /* batch indices of the current sub-batch */
    size_t nsub;
    reject *rej;
    size_t nrej;
    char *sql;
    size_t sqlcap;
    const char **pv;
    int *pl, *pf;
    size_t pcap;
    size_t written[HF_PG_NTABLES];
    long dr_failed;
    hf_counter *in_total, *skipped_total, *batches_total, *rows_total[HF_PG_NTABLES];
    hf_histogram *batch_seconds;
    hf_gauge *db_up_gauge;
} spg;

/* ---- small helpers ------------------------------------------------------ */

static uint64_t fnv1a(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

/* Adds @p h; returns false when it was there (or on OOM, which also forces
 * a flush: safe, just slower). 64-bit hashes: a false collision only costs
 * an extra statement. */
static bool keyset_add(keyset *k, uint64_t h) {
    if ((k->n + 1) * 2 > k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        uint64_t *t = calloc(cap, sizeof *t);
        if (t == NULL)
            return false;
        for (size_t i = 0; i < k->cap; i++) {
            if (k->h[i] == 0)
                continue;
            size_t j = k->h[i] & (cap - 1);
            while (t[j] != 0)
                j = (j + 1) & (cap - 1);
            t[j] = k->h[i];
        }
        free(k->h);
        k->h = t;
        k->cap = cap;
    }
    size_t j = h & (k->cap - 1);
    while (k->h[j] != 0) {
        if (k->h[j] == h)
            return false;
        j = (j + 1) & (k->cap - 1);
    }
    k->h[j] = h;
    k->n++;
    return true;
}

static void keyset_clear(keyset *k) {
    if (k->n > 0)
        memset(k->h, 0, k->cap * sizeof *k->h);
    k->n = 0;
}

static void backoff_grow(spg *s) {
    s->backoff_ms = s->backoff_ms * 2 > s->cfg->backoff_max_ms ? s->cfg->backoff_max_ms
                                                               : s->backoff_ms * 2;
}

/* Pauses for the current backoff while serving the consumer (rebalances);
 * records polled meanwhile are dropped: a re-assignment follows. */
static void idle_poll(spg *s, int64_t ms) {
    int64_t until = hf_mono_ms() + ms;
    while (!g_stop && hf_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, 50);
        if (m != NULL)
            rd_kafka_message_destroy(m);
        rd_kafka_poll(s->producer, 0);
    }
}

static hf_rec_reader *reader_of(spg *s, const char *topic) {
    for (size_t i = 0; i < s->ninputs; i++)
        if (strcmp(s->topics[i], topic) == 0)
            return s->readers[i];
    return NULL;
}

/* ---- database offsets and assignment ----------------------------------- */

/* Sets each element's offset to the database's next offset, or
 * RD_KAFKA_OFFSET_INVALID (group offset / auto.offset.reset) when the
 * database has none: then it holds nothing of that partition. */
static bool load_offsets(spg *s, rd_kafka_topic_partition_list_t *l) {
    const char *p[1] = {s->cfg->group_id};
    PGresult *r = PQexecParams(s->db,
                               "SELECT topic, partition, next_offset FROM sink_offsets "
                               "WHERE consumer_group = $1",
                               1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        char why[512];
        spg_db_classify(s->db, r, why, sizeof why);
        HF_LOG(HF_LOG_WARN, "offsets_read_failed", HF_LERR(why));
        PQclear(r);
        return false;
    }
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    for (int i = 0; i < PQntuples(r); i++) {
        rd_kafka_topic_partition_t *e = rd_kafka_topic_partition_list_find(
            l, PQgetvalue(r, i, 0), (int32_t)atoi(PQgetvalue(r, i, 1)));
        long long off = atoll(PQgetvalue(r, i, 2));
        if (e != NULL && off >= 0)
            e->offset = off;
    }
    PQclear(r);
    return true;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    spg *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        bool known = s->db_up && load_offsets(s, parts);
        if (!known)
            for (int i = 0; i < parts->cnt; i++)
                parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
        rd_kafka_assign(rk, parts);
        if (!known) {
            /* Nothing is consumed until the database says where to start. */
            rd_kafka_pause_partitions(rk, parts);
            s->need_reassign = true;
        }
        HF_LOG(HF_LOG_INFO, "partitions_assigned", HF_LI("count", parts->cnt),
               HF_LB("offsets_from_database", known));
        hf_ready_set("assigned", true);
        return;
    }
    s->revoked = true;
    HF_LOG(HF_LOG_INFO, "partitions_revoked", HF_LI("count", parts->cnt));
    rd_kafka_assign(rk, NULL);
}

/* Re-assigns the current assignment at the database's offsets and resumes
 * it. Anything fetched before is discarded by librdkafka (new assignment
 * version), so after an outage or a failed batch consumption restarts
 * exactly where the database is. */
static bool reassign_from_db(spg *s) {
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(s->consumer, &l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    bool ok = true;
    if (l->cnt > 0) {
        ok = load_offsets(s, l);
        if (ok) {
            rd_kafka_assign(s->consumer, NULL);
            rd_kafka_assign(s->consumer, l);
            rd_kafka_resume_partitions(s->consumer, l);
            HF_LOG(HF_LOG_INFO, "reassigned_from_database", HF_LI("partitions", l->cnt));
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return ok;
}

static void pause_all(spg *s) {
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(s->consumer, &l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_pause_partitions(s->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
}

/* ---- statements --------------------------------------------------------- */

static bool ensure_param_space(spg *s, hf_pg_table t, size_t nrows) {
    size_t need = nrows * (size_t)hf_pgrows_ncols(t);
    if (need > s->pcap) {
        size_t cap = need * 2;
        const char **pv = realloc(s->pv, cap * sizeof *pv);
        if (pv != NULL)
            s->pv = pv;
        int *pl = realloc(s->pl, cap * sizeof *pl);
        if (pl != NULL)
            s->pl = pl;
        int *pf = realloc(s->pf, cap * sizeof *pf);
        if (pf != NULL)
            s->pf = pf;
        if (pv == NULL || pl == NULL || pf == NULL)
            return false;
        s->pcap = cap;
    }
    size_t sq = hf_pgrows_sql_cap(t, nrows);
    if (sq > s->sqlcap) {
        char *p = realloc(s->sql, sq);
        if (p == NULL)
            return false;
        s->sql = p;
        s->sqlcap = sq;
    }
    return true;
}

/* Inserts every row of @p rows: one multi-row statement per table (or per
 * ROWS_PER_STATEMENT rows). */
static spg_dbres exec_rows(spg *s, const hf_pgrows *rows, char *why, size_t cap) {
    for (int t = 0; t < HF_PG_NTABLES; t++) {
        size_t n = hf_pgrows_count(rows, (hf_pg_table)t);
        size_t per = hf_pgrows_max_rows((hf_pg_table)t);
        if (per > ROWS_PER_STATEMENT)
            per = ROWS_PER_STATEMENT;
        for (size_t first = 0; first < n; first += per) {
            size_t k = n - first < per ? n - first : per;
            if (!ensure_param_space(s, (hf_pg_table)t, k)) {
                snprintf(why, cap, "out of memory building a statement");
                return SPG_DB_FATAL;
            }
            if (hf_pgrows_sql((hf_pg_table)t, k, s->sql, s->sqlcap) == 0) {
                snprintf(why, cap, "statement for %s does not fit", hf_pgrows_table_name(t));
                return SPG_DB_FATAL;
            }
            hf_pgrows_params(rows, (hf_pg_table)t, first, k, s->pv, s->pl, s->pf);
            PGresult *r = PQexecParams(s->db, s->sql, (int)(k * (size_t)hf_pgrows_ncols(t)), NULL,
                                       s->pv, s->pl, s->pf, 0);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                spg_dbres c = spg_db_classify(s->db, r, why, cap);
                PQclear(r);
                return c;
            }
            PQclear(r);
        }
    }
    return SPG_DB_OK;
}

static void add_reject(spg *s, size_t idx, const char *cls, const char *why) {
    reject *r = &s->rej[s->nrej++];
    r->idx = idx;
    snprintf(r->cls, sizeof r->cls, "%s", cls);
    snprintf(r->why, sizeof r->why, "%s", why);
}

/* Decodes batch record @p idx into s->rec. HF_OK, or a reject recorded
 * (class schema) and HF_ESYNTAX, or HF_ERETRY (registry down). */
static hf_status decode(spg *s, size_t idx, hf_rec **out) {
    rd_kafka_message_t *m = s->batch[idx];
    const char *topic = rd_kafka_topic_name(m->rkt);
    hf_rec_reader *rd = reader_of(s, topic);
    hf_err err = {0};
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        h = NULL;
    if (rd == NULL) {
        add_reject(s, idx, "schema", "no reader for this topic");
        return HF_ESYNTAX;
    }
    hf_status st = hf_rec_reader_read_msg(rd, s->rec, m->payload, m->len, h, UINT64_MAX, out, &err);
    if (st == HF_OK || st == HF_ERETRY || st == HF_ENOMEM)
        return st;
    add_reject(s, idx, "schema", err.msg);
    return HF_ESYNTAX;
}

static hf_pg_source source_of(const rd_kafka_message_t *m) {
    return (hf_pg_source){rd_kafka_topic_name(m->rkt), m->partition, m->offset};
}

/* The slow path after a content error: the sub-batch's records one by one,
 * each under its own savepoint; refused ones become rejects. */
static spg_dbres flush_one_by_one(spg *s, char *why, size_t cap) {
    for (size_t i = 0; i < s->nsub; i++) {
        size_t idx = s->sub[i];
        hf_rec *rec = NULL;
        hf_status st = decode(s, idx, &rec);
        if (st != HF_OK) {
            snprintf(why, cap, "decode failed on the second pass");
            return st == HF_ERETRY ? SPG_DB_RETRY : SPG_DB_FATAL;
        }
        hf_pgrows_clear(s->one);
        hf_pg_source src = source_of(s->batch[idx]);
        if (hf_pgrows_add(s->one, rec, &src) != HF_OK) {
            snprintf(why, cap, "row mapping failed on the second pass");
            return SPG_DB_FATAL;
        }
        spg_dbres r = spg_db_exec(s->db, "SAVEPOINT rec", why, cap);
        if (r != SPG_DB_OK)
            return r;
        char rwhy[512];
        r = exec_rows(s, s->one, rwhy, sizeof rwhy);
        if (r == SPG_DB_CONTENT) {
            if ((r = spg_db_exec(s->db, "ROLLBACK TO SAVEPOINT rec", why, cap)) != SPG_DB_OK)
                return r;
            add_reject(s, idx, "sink", rwhy);
            continue;
        }
        if (r != SPG_DB_OK) {
            snprintf(why, cap, "%s", rwhy);
            return r;
        }
        for (int t = 0; t < HF_PG_NTABLES; t++)
            s->written[t] += hf_pgrows_count(s->one, (hf_pg_table)t);
    }
    return SPG_DB_OK;
}

/* Writes the current sub-batch: the fast path (multi-row statements), and
 * on a content error the records one by one. */
static spg_dbres flush_sub(spg *s, char *why, size_t cap) {
    spg_dbres r = SPG_DB_OK;
    if (s->nsub == 0)
        goto done;
    if ((r = spg_db_exec(s->db, "SAVEPOINT sub", why, cap)) != SPG_DB_OK)
        return r;
    r = exec_rows(s, s->rows, why, cap);
    if (r == SPG_DB_CONTENT) {
        HF_LOG(HF_LOG_INFO, "batch_content_error_isolating", HF_LI("records", s->nsub), HF_LERR(why));
        if ((r = spg_db_exec(s->db, "ROLLBACK TO SAVEPOINT sub", why, cap)) != SPG_DB_OK)
            return r;
        r = flush_one_by_one(s, why, cap);
    } else if (r == SPG_DB_OK) {
        for (int t = 0; t < HF_PG_NTABLES; t++)
            s->written[t] += hf_pgrows_count(s->rows, (hf_pg_table)t);
    }
    if (r == SPG_DB_OK)
        r = spg_db_exec(s->db, "RELEASE SAVEPOINT sub", why, cap);
done:
    hf_pgrows_clear(s->rows);
    keyset_clear(&s->keys);
    s->nsub = 0;
    return r;
}

/* Adds the keys of the rows since @p m to the sub-batch's set; false when
 * one is already there (the record must go in the next statement). */
static bool keys_fit(spg *s, const hf_pgrows_mark *m) {
    char key[1024];
    bool fit = true;
    for (int t = 0; t < HF_PG_NTABLES && fit; t++) {
        if (t != HF_PG_MESSAGES && !hf_pgrows_is_upsert((hf_pg_table)t))
            continue;
        for (size_t r = m->rows[t]; r < hf_pgrows_count(s->rows, (hf_pg_table)t) && fit; r++) {
            size_t n = hf_pgrows_row_key(s->rows, (hf_pg_table)t, r, key, sizeof key);
            uint64_t h = fnv1a(key, n);
            if (n == 0 || !keyset_add(&s->keys, h))
                fit = false;
        }
    }
    return fit;
}

/* ---- one batch ---------------------------------------------------------- */

typedef struct part_state {
    const char *topic;
    int32_t partition;
    int64_t stored; /* next offset in the database, -1 none */
    int64_t first, next; /* of this batch */
} part_state;

#define MAX_PARTS 512

/* Builds '{"a","b"}' / '{1,2}' array literals (topics are [A-Za-z0-9._-]). */
static void array_lits(const part_state *p, size_t n, char *topics, char *parts, char *offs,
                       size_t cap) {
    size_t a = 0, b = 0, c = 0;
    a += (size_t)snprintf(topics + a, cap - a, "{");
    b += (size_t)snprintf(parts + b, cap - b, "{");
    c += (size_t)snprintf(offs + c, cap - c, "{");
    for (size_t i = 0; i < n && a < cap && b < cap && c < cap; i++) {
        a += (size_t)snprintf(topics + a, cap - a, "%s\"%s\"", i ? "," : "", p[i].topic);
        b += (size_t)snprintf(parts + b, cap - b, "%s%d", i ? "," : "", (int)p[i].partition);
        c += (size_t)snprintf(offs + c, cap - c, "%s%lld", i ? "," : "",
                              (long long)(p[i].next > p[i].stored ? p[i].next : p[i].stored));
    }
    if (a < cap)
        snprintf(topics + a, cap - a, "}");
    if (b < cap)
        snprintf(parts + b, cap - b, "}");
    if (c < cap)
        snprintf(offs + c, cap - c, "}");
}

typedef enum { BATCH_OK, BATCH_DOWN, BATCH_RETRY, BATCH_FATAL } batch_res;

static batch_res to_batch_res(spg_dbres r) {
    return r == SPG_DB_DOWN ? BATCH_DOWN : r == SPG_DB_FATAL ? BATCH_FATAL : BATCH_RETRY;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    spg *s = opaque;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        s->dr_failed++;
}

static batch_res write_batch_txn(spg *s, part_state *ps, size_t nps) {
    char why[512];
    spg_dbres r;
    static char topics[16384], parts[8192], offs[16384];
    memset(s->written, 0, sizeof s->written);
    s->nrej = 0;
    if ((r = spg_db_exec(s->db, "BEGIN", why, sizeof why)) != SPG_DB_OK)
        goto fail;

    /* The fence: lock this batch's offset rows and read them. */
    array_lits(ps, nps, topics, parts, offs, sizeof topics);
    const char *fp[3] = {s->cfg->group_id, topics, parts};
    PGresult *q = PQexecParams(
        s->db,
        "INSERT INTO sink_offsets (consumer_group, topic, partition, next_offset) "
        "SELECT $1, u.t, u.p, -1 FROM unnest($2::text[], $3::int[]) AS u(t, p) "
        "ON CONFLICT (consumer_group, topic, partition) DO UPDATE "
        "SET consumer_group = EXCLUDED.consumer_group "
        "RETURNING topic, partition, next_offset",
        3, NULL, fp, NULL, NULL, 0);
    if (PQresultStatus(q) != PGRES_TUPLES_OK) {
        r = spg_db_classify(s->db, q, why, sizeof why);
        PQclear(q);
        goto fail;
    }
    for (int i = 0; i < PQntuples(q); i++) {
        int32_t p = (int32_t)atoi(PQgetvalue(q, i, 1));
        for (size_t k = 0; k < nps; k++)
            if (ps[k].partition == p && strcmp(ps[k].topic, PQgetvalue(q, i, 0)) == 0)
                ps[k].stored = atoll(PQgetvalue(q, i, 2));
    }
    PQclear(q);
    for (size_t k = 0; k < nps; k++) {
        if (ps[k].stored >= 0 && ps[k].first > ps[k].stored) {
            int64_t lo = -1, hi = -1;
            rd_kafka_get_watermark_offsets(s->consumer, ps[k].topic, ps[k].partition, &lo, &hi);
            if (lo >= 0 && ps[k].stored >= lo) {
                HF_LOG(HF_LOG_WARN, "offset_gap_rewind", HF_LID("topic", ps[k].topic),
                       HF_LI("partition", ps[k].partition), HF_LI("stored", ps[k].stored),
                       HF_LI("batch_first", ps[k].first));
                spg_db_exec(s->db, "ROLLBACK", why, sizeof why);
                return BATCH_RETRY;
            }
        }
    }

    /* Rows, in sub-batches of records whose keys do not collide. */
    size_t skipped = 0;
    for (size_t i = 0; i < s->nbatch; i++) {
        rd_kafka_message_t *m = s->batch[i];
        part_state *p = NULL;
        for (size_t k = 0; k < nps && p == NULL; k++)
            if (ps[k].partition == m->partition && strcmp(ps[k].topic, rd_kafka_topic_name(m->rkt)) == 0)
                p = &ps[k];
        if (p != NULL && m->offset < p->stored) {
            skipped++;
            continue;
        }
        hf_rec *rec = NULL;
        hf_status st = decode(s, i, &rec);
        if (st == HF_ESYNTAX)
            continue;
        if (st != HF_OK) {
            snprintf(why, sizeof why, "record decode: %s", hf_status_str(st));
            r = st == HF_ERETRY ? SPG_DB_RETRY : SPG_DB_FATAL;
            goto fail;
        }
        hf_pg_source src = source_of(m);
        for (int attempt = 0;; attempt++) {
            hf_pgrows_mark mk = hf_pgrows_mark_get(s->rows);
            st = hf_pgrows_add(s->rows, rec, &src);
            if (st == HF_ESYNTAX) {
                char msg[160];
                snprintf(msg, sizeof msg, "text with a NUL byte in %s", hf_pgrows_bad_column(s->rows));
                add_reject(s, i, "sink", msg);
                break;
            }
            if (st != HF_OK) {
                snprintf(why, sizeof why, "out of memory mapping rows");
                r = SPG_DB_FATAL;
                goto fail;
            }
            if (keys_fit(s, &mk) || attempt > 0) {
                s->sub[s->nsub++] = i;
                break;
            }
            hf_pgrows_rollback(s->rows, &mk);
            /* The record collides with one already in this statement: write
             * those first (and decode the record again: the flush may have
             * reused the record context). */
            if ((r = flush_sub(s, why, sizeof why)) != SPG_DB_OK)
                goto fail;
            if ((st = decode(s, i, &rec)) != HF_OK) {
                snprintf(why, sizeof why, "record decode: %s", hf_status_str(st));
                r = st == HF_ERETRY ? SPG_DB_RETRY : SPG_DB_FATAL;
                goto fail;
            }
        }
    }
    if ((r = flush_sub(s, why, sizeof why)) != SPG_DB_OK)
        goto fail;

    /* Offsets, rejects, DLQ, commit. */
    array_lits(ps, nps, topics, parts, offs, sizeof topics);
    const char *op[4] = {s->cfg->group_id, topics, parts, offs};
    q = PQexecParams(s->db,
                     "UPDATE sink_offsets o SET next_offset = u.n, updated_at = now() "
                     "FROM unnest($2::text[], $3::int[], $4::bigint[]) AS u(t, p, n) "
                     "WHERE o.consumer_group = $1 AND o.topic = u.t AND o.partition = u.p",
                     4, NULL, op, NULL, NULL, 0);
    if (PQresultStatus(q) != PGRES_COMMAND_OK) {
        r = spg_db_classify(s->db, q, why, sizeof why);
        PQclear(q);
        goto fail;
    }
    PQclear(q);
    s->dr_failed = 0;
    for (size_t i = 0; i < s->nrej; i++) {
        rd_kafka_message_t *m = s->batch[s->rej[i].idx];
        char part[16], off[24], ctrl[128] = "";
        snprintf(part, sizeof part, "%d", (int)m->partition);
        snprintf(off, sizeof off, "%lld", (long long)m->offset);
        rd_kafka_headers_t *h = NULL;
        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR)
            hf_kafka_header_str(h, HF_H_CONTROL_ID, ctrl, sizeof ctrl);
        const char *rp[7] = {s->cfg->group_id, rd_kafka_topic_name(m->rkt), part, off,
                             s->rej[i].cls, s->rej[i].why, ctrl[0] ? ctrl : NULL};
        q = PQexecParams(s->db,
                         "INSERT INTO sink_rejects (consumer_group, topic, partition, kafka_offset, "
                         "error_class, error, message_control_id) VALUES ($1,$2,$3,$4,$5,$6,$7) "
                         "ON CONFLICT DO NOTHING",
                         7, NULL, rp, NULL, NULL, 0);
        if (PQresultStatus(q) != PGRES_COMMAND_OK) {
            r = spg_db_classify(s->db, q, why, sizeof why);
            PQclear(q);
            goto fail;
        }
        PQclear(q);
        hf_err err = {0};
        if (hf_dlq_produce(s->producer, s->cfg->dlq_topic, m, STAGE_NAME, s->rej[i].cls,
                           s->rej[i].why, &err) != HF_OK) {
            HF_LOG(HF_LOG_WARN, "dlq_produce_failed", HF_LERR(err.msg));
            spg_db_exec(s->db, "ROLLBACK", why, sizeof why);
            return BATCH_RETRY;
        }
        HF_LOG(HF_LOG_WARN, "record_rejected", HF_LID("class", s->rej[i].cls), HF_LCTRL(ctrl),
               HF_LID("topic", rd_kafka_topic_name(m->rkt)), HF_LI("partition", m->partition),
               HF_LI("offset", m->offset), HF_LERR(s->rej[i].why));
        hf_counter *c = NULL;
        char labels[96];
        snprintf(labels, sizeof labels, "stage=\"%s\",class=\"%s\"", STAGE_NAME, s->rej[i].cls);
        c = hf_metrics_counter("hl7flow_records_dlq_total",
                               "Records sent to the dead-letter topic, by error class", labels);
        hf_counter_add(c, 1);
    }
    if (s->nrej > 0) {
        /* The DLQ records are stored before the rows commit: a crash in
         * between repeats them (at-least-once), it never loses one. */
        if (rd_kafka_flush(s->producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR || s->dr_failed > 0) {
            HF_LOG(HF_LOG_WARN, "dlq_not_acknowledged", HF_LI("failed", s->dr_failed));
            spg_db_exec(s->db, "ROLLBACK", why, sizeof why);
            return BATCH_RETRY;
        }
    }
    if ((r = spg_db_exec(s->db, "COMMIT", why, sizeof why)) != SPG_DB_OK)
        goto fail; /* outcome unknown: the fence sorts it out on the retry */
    hf_counter_add(s->skipped_total, skipped);
    for (int t = 0; t < HF_PG_NTABLES; t++)
        hf_counter_add(s->rows_total[t], s->written[t]);
    return BATCH_OK;
fail:
    HF_LOG(r == SPG_DB_DOWN ? HF_LOG_WARN : HF_LOG_ERROR, "batch_failed",
           HF_LID("class", r == SPG_DB_DOWN ? "down" : r == SPG_DB_FATAL ? "fatal" : "retry"),
           HF_LERR(why));
    if (r != SPG_DB_DOWN) {
        char w2[256];
        spg_db_exec(s->db, "ROLLBACK", w2, sizeof w2);
    }
    hf_pgrows_clear(s->rows);
    keyset_clear(&s->keys);
    s->nsub = 0;
    return to_batch_res(r);
}

static batch_res write_batch(spg *s) {
    static part_state ps[MAX_PARTS];
    size_t nps = 0;
    for (size_t i = 0; i < s->nbatch; i++) {
        rd_kafka_message_t *m = s->batch[i];
        const char *t = rd_kafka_topic_name(m->rkt);
        size_t k = 0;
        while (k < nps && !(ps[k].partition == m->partition && strcmp(ps[k].topic, t) == 0))
            k++;
        if (k == nps) {
            if (nps == MAX_PARTS)
                return BATCH_FATAL;
            ps[nps++] = (part_state){t, m->partition, -1, m->offset, m->offset + 1};
        } else {
            if (m->offset < ps[k].first)
                ps[k].first = m->offset;
            if (m->offset + 1 > ps[k].next)
                ps[k].next = m->offset + 1;
        }
    }
    int64_t t0 = hf_mono_ns();
    batch_res r = write_batch_txn(s, ps, nps);
    hf_histogram_observe(s->batch_seconds, (double)(hf_mono_ns() - t0) / 1e9);
    if (r == BATCH_OK) {
        /* Group offsets for lag monitoring; the database stays the truth. */
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)nps);
        for (size_t k = 0; k < nps; k++)
            rd_kafka_topic_partition_list_add(l, ps[k].topic, ps[k].partition)->offset =
                ps[k].next > ps[k].stored ? ps[k].next : ps[k].stored;
        rd_kafka_commit(s->consumer, l, 1 /* async */);
        rd_kafka_topic_partition_list_destroy(l);
    }
    return r;
}

/* ---- collection --------------------------------------------------------- */

static void batch_free(spg *s) {
    for (size_t i = 0; i < s->nbatch; i++)
        rd_kafka_message_destroy(s->batch[i]);
    s->nbatch = 0;
}

static bool take(spg *s, rd_kafka_message_t *m) {
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            HF_LOG(HF_LOG_WARN, "consume_error", HF_LID("code", rd_kafka_err2name(m->err)),
                   HF_LERR(rd_kafka_message_errstr(m)));
        if (m->err == RD_KAFKA_RESP_ERR__FATAL)
            s->fatal = true;
        rd_kafka_message_destroy(m);
        return false;
    }
    s->batch[s->nbatch++] = m;
    return true;
}

static void collect(spg *s) {
    s->revoked = false;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, 100);
    if (m == NULL || !take(s, m))
        return;
    int64_t deadline = hf_mono_ms() + s->cfg->batch_wait_ms;
    while (s->nbatch < (size_t)s->cfg->batch_max && !s->revoked) {
        int64_t left = deadline - hf_mono_ms();
        m = rd_kafka_consumer_poll(s->consumer, left > 0 ? (int)left : 0);
        if (m == NULL)
            break;
        take(s, m);
    }
}

/* ---- setup -------------------------------------------------------------- */

static hf_status open_kafka(spg *s, hf_err *err) {
    const spg_cfg *c = s->cfg;
    const char *cdefs[] = {"group.id", c->group_id,
                           "enable.auto.commit", "false",
                           "enable.auto.offset.store", "false",
                           "isolation.level", "read_committed",
                           "auto.offset.reset", "earliest",
                           /* EAGER range, as the stages (docs/architecture.md):
                            * cooperative-sticky loops in librdkafka < 2.6.1. */
                           "partition.assignment.strategy", "range",
                           c->instance_id[0] ? "group.instance.id" : NULL, c->instance_id,
                           NULL};
    const char *pdefs[] = {"enable.idempotence", "true", "acks", "all",
                           "partitioner", "murmur2_random", "linger.ms", "5", NULL};
    rd_kafka_conf_t *cc = NULL, *pc = NULL;
    char errstr[512];
    hf_status st = hf_kafka_conf_new(HF_KAFKA_CONSUMER, cdefs, NULL, &cc, err);
    if (st != HF_OK)
        return st;
    rd_kafka_conf_set_opaque(cc, s);
    rd_kafka_conf_set_rebalance_cb(cc, rebalance_cb);
    s->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, sizeof errstr);
    if (s->consumer == NULL) {
        rd_kafka_conf_destroy(cc);
        return hf_err_set(err, HF_ECONFIG, "consumer: %s", errstr);
    }
    rd_kafka_poll_set_consumer(s->consumer);
    if ((st = hf_kafka_conf_new(HF_KAFKA_PRODUCER, pdefs, NULL, &pc, err)) != HF_OK)
        return st;
    rd_kafka_conf_set_opaque(pc, s);
    rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
    s->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, sizeof errstr);
    if (s->producer == NULL) {
        rd_kafka_conf_destroy(pc);
        return hf_err_set(err, HF_ECONFIG, "producer: %s", errstr);
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < s->ninputs; i++)
        rd_kafka_topic_partition_list_add(l, s->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return hf_err_set(err, HF_EFATAL, "subscribe: %s", rd_kafka_err2str(e));
    hf_ready_set("kafka", true);
    return HF_OK;
}

static hf_status open_inputs(spg *s, const hf_registry_cfg *reg, hf_err *err) {
    hf_status st = hf_registry_open(reg, &s->reg, err);
    if (st != HF_OK)
        return st;
    char *list = strdup(s->cfg->input_topics), *save = NULL;
    if (list == NULL)
        return hf_err_set(err, HF_ENOMEM, "topics");
    for (char *t = strtok_r(list, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
        if (s->ninputs == MAX_INPUTS) {
            free(list);
            return hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_TOPICS: more than %d topics",
                              MAX_INPUTS);
        }
        s->topics[s->ninputs] = strdup(t);
        st = hf_rec_reader_new(s->reg, t, HF_REC_STAGED, &s->readers[s->ninputs], err);
        s->ninputs++;
        if (st != HF_OK) {
            free(list);
            return st;
        }
    }
    free(list);
    if (s->ninputs == 0)
        return hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_TOPICS: no topic given");
    return HF_OK;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void set_db_up(spg *s, bool up) {
    s->db_up = up;
    hf_ready_set("postgres", up);
    hf_gauge_set(s->db_up_gauge, up ? 1 : 0);
}

static void try_connect(spg *s) {
    if (hf_mono_ms() < s->next_try_ms)
        return;
    hf_err err = {0};
    PQfinish(s->db);
    s->db = spg_db_connect(s->cfg, &err);
    if (s->db != NULL) {
        HF_LOG(HF_LOG_INFO, "postgres_connected", HF_LB("reconnect", true));
        set_db_up(s, true);
        s->backoff_ms = s->cfg->backoff_ms;
        return;
    }
    HF_LOG(HF_LOG_WARN, "postgres_unavailable", HF_LERR(err.msg), HF_LI("retry_ms", s->backoff_ms));
    s->next_try_ms = hf_mono_ms() + s->backoff_ms;
    backoff_grow(s);
}

static int loop(spg *s) {
    while (!g_stop && !s->fatal && !hf_kafka_fatal_seen()) {
        if (!s->db_up) {
            try_connect(s);
            if (!s->db_up) {
                idle_poll(s, 100);
                continue;
            }
        }
        if (s->need_reassign) {
            if (!reassign_from_db(s)) {
                set_db_up(s, PQstatus(s->db) == CONNECTION_OK);
                idle_poll(s, s->backoff_ms);
                backoff_grow(s);
                continue;
            }
            s->need_reassign = false;
        }
        collect(s);
        if (s->nbatch == 0)
            continue;
        if (s->revoked) {
            HF_LOG(HF_LOG_INFO, "batch_dropped_on_rebalance", HF_LI("records", s->nbatch));
            batch_free(s);
            continue;
        }
        hf_counter_add(s->in_total, s->nbatch);
        batch_res r = write_batch(s);
        batch_free(s);
        switch (r) {
        case BATCH_OK:
            hf_counter_add(s->batches_total, 1);
            s->backoff_ms = s->cfg->backoff_ms;
            hf_ready_set("processing", true);
            break;
        case BATCH_DOWN:
            pause_all(s);
            set_db_up(s, false);
            s->need_reassign = true;
            s->next_try_ms = hf_mono_ms() + s->backoff_ms;
            break;
        case BATCH_RETRY:
            pause_all(s);
            hf_ready_set("processing", false);
            s->need_reassign = true;
            idle_poll(s, s->backoff_ms);
            backoff_grow(s);
            if (PQstatus(s->db) != CONNECTION_OK)
                set_db_up(s, false);
            break;
        case BATCH_FATAL:
            s->fatal = true;
            break;
        }
    }
    return s->fatal || hf_kafka_fatal_seen() ? 1 : 0;
}

int spg_run(spg_cfg *cfg, const hf_registry_cfg *reg) {
    spg s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.backoff_ms = cfg->backoff_ms;
    hf_err err = {0};
    int rc = 1;
    hf_http *http = NULL;
    const char *lab = "stage=\"" STAGE_NAME "\"";
    s.in_total = hf_metrics_counter("hl7flow_records_in_total", "Records consumed by the stage", lab);
    s.skipped_total = hf_metrics_counter("hl7flow_sink_records_skipped_total",
                                         "Records below the database offset (already written)", lab);
    s.batches_total = hf_metrics_counter("hl7flow_batches_committed_total", "Batches committed", lab);
    s.batch_seconds = hf_metrics_histogram("hl7flow_sink_batch_seconds",
                                           "Time to write and commit one batch", lab, NULL, 0);
    s.db_up_gauge = hf_metrics_gauge("hl7flow_sink_database_up", "1 while PostgreSQL answers", lab);
    for (int t = 0; t < HF_PG_NTABLES; t++) {
        char l[128];
        snprintf(l, sizeof l, "%s,table=\"%s\"", lab, hf_pgrows_table_name((hf_pg_table)t));
        s.rows_total[t] = hf_metrics_counter("hl7flow_sink_rows_total",
                                             "Rows inserted or updated, by table", l);
    }
    install_signals();
    hf_ready_set("kafka", false);
    hf_ready_set("assigned", false);
    hf_ready_set("postgres", false);
    s.batch = calloc((size_t)cfg->batch_max, sizeof *s.batch);
    s.sub = calloc((size_t)cfg->batch_max, sizeof *s.sub);
    s.rej = calloc((size_t)cfg->batch_max, sizeof *s.rej);
    s.rows = hf_pgrows_new();
    s.one = hf_pgrows_new();
    s.rec = hf_rec_ctx_new();
    if (s.batch == NULL || s.sub == NULL || s.rej == NULL || s.rows == NULL || s.one == NULL ||
        s.rec == NULL) {
        hf_err_set(&err, HF_ENOMEM, "batch buffers");
        goto out;
    }
    if (cfg->http_port >= 0 && hf_http_start((uint16_t)cfg->http_port, &http, &err) != HF_OK)
        goto out;
    if (open_inputs(&s, reg, &err) != HF_OK)
        goto out;
    /* The schema first: wait for the database as long as it takes. */
    while (!g_stop) {
        s.db = spg_db_connect(cfg, &err);
        if (s.db != NULL && (!cfg->migrate || spg_migrate(s.db, &err) == HF_OK))
            break;
        if (err.st != HF_ERETRY)
            goto out;
        HF_LOG(HF_LOG_WARN, "postgres_unavailable", HF_LERR(err.msg), HF_LI("retry_ms", s.backoff_ms));
        PQfinish(s.db);
        s.db = NULL;
        usleep((useconds_t)s.backoff_ms * 1000);
        backoff_grow(&s);
    }
    if (g_stop) {
        rc = 0;
        err.st = HF_OK;
        goto out;
    }
    err.st = HF_OK;
    s.backoff_ms = cfg->backoff_ms;
    set_db_up(&s, true);
    if (open_kafka(&s, &err) != HF_OK)
        goto out;
    HF_LOG(HF_LOG_INFO, "sink_started", HF_LID("inputs", cfg->input_topics),
           HF_LID("group", cfg->group_id), HF_LI("batch_max", cfg->batch_max));
    rc = loop(&s);
    HF_LOG(rc == 0 ? HF_LOG_INFO : HF_LOG_ERROR, "sink_stopping", HF_LB("fatal", rc != 0));
out:
    if (err.st != HF_OK) {
        fprintf(stderr, "%s: %s\n", STAGE_NAME, err.msg);
        HF_LOG(HF_LOG_ERROR, "startup_failed", HF_LERR(err.msg));
        rc = err.st == HF_ECONFIG ? 2 : 1;
    }
    batch_free(&s);
    if (s.consumer != NULL) {
        rd_kafka_consumer_close(s.consumer);
        rd_kafka_destroy(s.consumer);
    }
    if (s.producer != NULL) {
        rd_kafka_flush(s.producer, 10000);
        rd_kafka_destroy(s.producer);
    }
    PQfinish(s.db);
    hf_http_stop(http);
    for (size_t i = 0; i < s.ninputs; i++) {
        hf_rec_reader_destroy(s.readers[i]);
        free(s.topics[i]);
    }
    hf_registry_close(s.reg);
    hf_rec_ctx_destroy(s.rec);
    hf_pgrows_free(s.rows);
    hf_pgrows_free(s.one);
    free(s.keys.h);
    free(s.batch);
    free(s.sub);
    free(s.rej);
    free(s.sql);
    free(s.pv);
    free(s.pl);
    free(s.pf);
    return rc;
}
