/* spg_loop.c - hl7flow-sink-postgres's part of the sink loop (spg.h,
 * sink_loop.h): one database transaction per batch with the rows and the
 * offsets, the start offsets read from the database, the connection and
 * its health. The consume loop itself (Kafka, pause/resume around
 * outages, the DLQ producer) is common/src/sink_loop.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/headers.h"
#include "hl7flow/kafka.h"
#include "hl7flow/log.h"
#include "hl7flow/timeutil.h"
#include "spg.h"

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

typedef struct part_state part_state;

typedef struct spg {
    spg_cfg *cfg;
    hf_sink *sk;         /* the loop running us */
    hf_pgrows *rows, *one;
    PGconn *db;
    rd_kafka_message_t **batch; /* the batch in hand (the loop's) */
    size_t nbatch;
    const part_state *ps; /* its partitions, after a stored batch */
    size_t nps;
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
    hf_counter *skipped_total, *rows_total[HF_PG_NTABLES];
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

/* ---- database offsets and assignment ----------------------------------- */

/* Sets each element's offset to the database's next offset, or
 * RD_KAFKA_OFFSET_INVALID (group offset / auto.offset.reset) when the
 * database has none: then it holds nothing of that partition. */
static bool load_offsets(void *ctx, rd_kafka_topic_partition_list_t *l) {
    spg *s = ctx;
    const char *p[1] = {s->cfg->sink.group_id};
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
    hf_err err = {0};
    hf_status st = hf_sink_read(s->sk, s->batch[idx], out, &err);
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

struct part_state {
    const char *topic;
    int32_t partition;
    int64_t stored; /* next offset in the database, -1 none */
    int64_t first, next; /* of this batch */
};

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

static hf_sink_res to_hf_sink_res(spg_dbres r) {
    return r == SPG_DB_DOWN ? HF_SINK_DOWN : r == SPG_DB_FATAL ? HF_SINK_FATAL : HF_SINK_RETRY;
}

static hf_sink_res write_batch_txn(spg *s, part_state *ps, size_t nps) {
    char why[512];
    spg_dbres r;
    static char topics[16384], parts[8192], offs[16384];
    memset(s->written, 0, sizeof s->written);
    s->nrej = 0;
    if ((r = spg_db_exec(s->db, "BEGIN", why, sizeof why)) != SPG_DB_OK)
        goto fail;

    /* The fence: lock this batch's offset rows and read them. */
    array_lits(ps, nps, topics, parts, offs, sizeof topics);
    const char *fp[3] = {s->cfg->sink.group_id, topics, parts};
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
            rd_kafka_get_watermark_offsets(hf_sink_consumer(s->sk), ps[k].topic, ps[k].partition, &lo, &hi);
            if (lo >= 0 && ps[k].stored >= lo) {
                HF_LOG(HF_LOG_WARN, "offset_gap_rewind", HF_LID("topic", ps[k].topic),
                       HF_LI("partition", ps[k].partition), HF_LI("stored", ps[k].stored),
                       HF_LI("batch_first", ps[k].first));
                spg_db_exec(s->db, "ROLLBACK", why, sizeof why);
                return HF_SINK_RETRY;
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
    const char *op[4] = {s->cfg->sink.group_id, topics, parts, offs};
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
    for (size_t i = 0; i < s->nrej; i++) {
        rd_kafka_message_t *m = s->batch[s->rej[i].idx];
        char part[16], off[24], ctrl[128] = "";
        snprintf(part, sizeof part, "%d", (int)m->partition);
        snprintf(off, sizeof off, "%lld", (long long)m->offset);
        rd_kafka_headers_t *h = NULL;
        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR)
            hf_kafka_header_str(h, HF_H_CONTROL_ID, ctrl, sizeof ctrl);
        const char *rp[7] = {s->cfg->sink.group_id, rd_kafka_topic_name(m->rkt), part, off,
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
        if (hf_sink_dead_letter(s->sk, m, s->rej[i].cls, s->rej[i].why) != HF_OK) {
            spg_db_exec(s->db, "ROLLBACK", why, sizeof why);
            return HF_SINK_RETRY;
        }
    }
    /* The DLQ records are stored before the rows commit: a crash in
     * between repeats them (at-least-once), it never loses one. */
    if (!hf_sink_dlq_flush(s->sk)) {
        spg_db_exec(s->db, "ROLLBACK", why, sizeof why);
        return HF_SINK_RETRY;
    }
    if ((r = spg_db_exec(s->db, "COMMIT", why, sizeof why)) != SPG_DB_OK)
        goto fail; /* outcome unknown: the fence sorts it out on the retry */
    hf_counter_add(s->skipped_total, skipped);
    for (int t = 0; t < HF_PG_NTABLES; t++)
        hf_counter_add(s->rows_total[t], s->written[t]);
    return HF_SINK_OK;
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
    return to_hf_sink_res(r);
}

/* The loop's store: the batch in one database transaction. */
static hf_sink_res store(void *ctx, hf_sink *sk, rd_kafka_message_t **batch, size_t n) {
    static part_state ps[MAX_PARTS];
    spg *s = ctx;
    s->sk = sk;
    s->batch = batch;
    s->nbatch = n;
    s->nps = 0;
    size_t nps = 0;
    for (size_t i = 0; i < s->nbatch; i++) {
        rd_kafka_message_t *m = s->batch[i];
        const char *t = rd_kafka_topic_name(m->rkt);
        size_t k = 0;
        while (k < nps && !(ps[k].partition == m->partition && strcmp(ps[k].topic, t) == 0))
            k++;
        if (k == nps) {
            if (nps == MAX_PARTS)
                return HF_SINK_FATAL;
            ps[nps++] = (part_state){t, m->partition, -1, m->offset, m->offset + 1};
        } else {
            if (m->offset < ps[k].first)
                ps[k].first = m->offset;
            if (m->offset + 1 > ps[k].next)
                ps[k].next = m->offset + 1;
        }
    }
    hf_sink_res r = write_batch_txn(s, ps, nps);
    if (r == HF_SINK_OK) {
        s->ps = ps;
        s->nps = nps;
    }
    return r;
}

/* Group offsets for lag monitoring only; the database stays the truth. A
 * partition whose stored offset is past the batch (every record fenced)
 * commits the stored one. */
static void commit_offsets(void *ctx, rd_kafka_topic_partition_list_t *next) {
    spg *s = ctx;
    for (size_t k = 0; k < s->nps; k++) {
        rd_kafka_topic_partition_t *e =
            rd_kafka_topic_partition_list_find(next, s->ps[k].topic, s->ps[k].partition);
        if (e != NULL && s->ps[k].stored > e->offset)
            e->offset = s->ps[k].stored;
    }
}

/* ---- the connection ------------------------------------------------------ */

/* Before Kafka: connect and migrate, waiting for the database as long as
 * it takes. */
static hf_status start(void *ctx, hf_sink *sk, hf_err *err) {
    spg *s = ctx;
    s->sk = sk;
    while (!hf_sink_stopping(sk)) {
        s->db = spg_db_connect(s->cfg, err);
        if (s->db != NULL && (!s->cfg->migrate || spg_migrate(s->db, err) == HF_OK))
            return HF_OK;
        if (err->st != HF_ERETRY)
            return err->st;
        HF_LOG(HF_LOG_WARN, "postgres_unavailable", HF_LERR(err->msg),
               HF_LI("retry_ms", hf_sink_backoff_ms(sk)));
        PQfinish(s->db);
        s->db = NULL;
        hf_sink_sleep(sk, hf_sink_backoff_ms(sk));
        hf_sink_backoff_grow(sk);
    }
    return HF_OK;
}

/* One reconnection attempt after an outage (the loop paces them). */
static bool reconnect(void *ctx, hf_sink *sk) {
    spg *s = ctx;
    hf_err err = {0};
    PQfinish(s->db);
    s->db = spg_db_connect(s->cfg, &err);
    if (s->db != NULL) {
        HF_LOG(HF_LOG_INFO, "postgres_connected", HF_LB("reconnect", true));
        return true;
    }
    HF_LOG(HF_LOG_WARN, "postgres_unavailable", HF_LERR(err.msg),
           HF_LI("retry_ms", hf_sink_backoff_ms(sk)));
    return false;
}

static bool healthy(void *ctx) {
    const spg *s = ctx;
    return PQstatus(s->db) == CONNECTION_OK;
}

static const hf_sink_ops SPG_OPS = {
    .name = STAGE_NAME,
    .backend = "postgres",
    .up_metric = "hl7flow_sink_database_up",
    .up_help = "1 while PostgreSQL answers",
    .commit_sync = false,
    .start = start,
    .store = store,
    .stored_offsets = load_offsets,
    .commit_offsets = commit_offsets,
    .reconnect = reconnect,
    .healthy = healthy,
};

int spg_run(spg_cfg *cfg, const hf_registry_cfg *reg) {
    spg s;
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    int rc = 1;
    const char *lab = "stage=\"" STAGE_NAME "\"";
    s.skipped_total = hf_metrics_counter("hl7flow_sink_records_skipped_total",
                                         "Records below the database offset (already written)", lab);
    for (int t = 0; t < HF_PG_NTABLES; t++) {
        char l[128];
        snprintf(l, sizeof l, "%s,table=\"%s\"", lab, hf_pgrows_table_name((hf_pg_table)t));
        s.rows_total[t] = hf_metrics_counter("hl7flow_sink_rows_total",
                                             "Rows inserted or updated, by table", l);
    }
    size_t max = (size_t)cfg->sink.batch_max;
    s.sub = calloc(max, sizeof *s.sub);
    s.rej = calloc(max, sizeof *s.rej);
    s.rows = hf_pgrows_new();
    s.one = hf_pgrows_new();
    if (s.sub == NULL || s.rej == NULL || s.rows == NULL || s.one == NULL) {
        fprintf(stderr, "%s: batch buffers\n", STAGE_NAME);
        HF_LOG(HF_LOG_ERROR, "startup_failed", HF_LERR("batch buffers"));
    } else {
        rc = hf_sink_run(&cfg->sink, reg, &SPG_OPS, &s);
    }
    PQfinish(s.db);
    hf_pgrows_free(s.rows);
    hf_pgrows_free(s.one);
    free(s.keys.h);
    free(s.sub);
    free(s.rej);
    free(s.sql);
    free(s.pv);
    free(s.pl);
    free(s.pf);
    return rc;
}
