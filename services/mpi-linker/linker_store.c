/* linker_store.c - the linker's local state: one RocksDB per owned input
 * partition (LINKER_STATE_DIR/p<N>), each backed by partition N of the
 * changelog topic.
 *
 * Writes: the transform's state changes go to the store's pending batch (a
 * RocksDB write batch with index, read through by mpi_store_load) and to
 * the changelog in the Kafka transaction. When the stage loop reports the
 * batch committed, the pending batches are written to RocksDB; when it
 * reports an abort, they are dropped. So a store never holds a change
 * whose transaction did not commit.
 *
 * Checkpoint: the key "\0checkpoint" of a store holds the changelog offset
 * up to which the store is complete. It is written between batches
 * (every LINKER_CHECKPOINT_MS, on revoke, at shutdown) as the changelog's
 * high watermark: nothing but this replica writes the partition while it
 * owns it, and every batch it committed is already in the store.
 *
 * Restore (on assignment, before any record of the partition is
 * processed): the changelog partition is read from the checkpoint (from
 * the start when the store is new, or when the checkpoint lies outside the
 * log) to its end, read_committed, last value per key wins. A changelog
 * value is only taken when every input offset it says it applied is below
 * the group's committed offset of that input partition (hf_ls_committed):
 * a value written by a transaction that never committed (a replica killed
 * mid-batch; visible on the dev broker, which does not hide aborted
 * records) or whose offsets were not stored (the dev broker's mirror
 * commit) is skipped, and the record that made it is processed again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hl7flow/kafka.h"
#include "hl7flow/log.h"
#include "hl7flow/timeutil.h"
#include "linker.h"

#define CHECKPOINT_KEY "\0checkpoint"
#define CHECKPOINT_KEY_LEN 11

struct mpi_stores {
    char *dir;
    char *changelog;
    char *inputs[MPI_MAX_INPUTS];
    size_t ninputs;
    int64_t restore_timeout_ms;
    rd_kafka_t *rc;                /* restore consumer (assign only, no group) */
    rocksdb_options_t *opts;
    rocksdb_cache_t *cache;                        /* block cache of every store */
    rocksdb_block_based_table_options_t *table;
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts;
    mpi_store parts[MPI_MAX_PARTITIONS];
    hf_counter *restored_records, *skipped_records;
    hf_histogram *restore_seconds;
};

/* ---- open / close -------------------------------------------------------- */

/* mkdir -p: creates @p dir and its missing parents; 0 or -1 (errno). */
static int mkdir_p(const char *dir) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

hf_status mpi_stores_open(const char *dir, const char *changelog, const char *inputs,
                          int64_t restore_timeout_ms, int64_t block_cache_mb, mpi_stores **out,
                          hf_err *err) {
    mpi_stores *s = calloc(1, sizeof *s);
    if (s == NULL)
        return hf_err_set(err, HF_ENOMEM, "stores");
    hf_status st = HF_OK;
    s->dir = strdup(dir);
    s->changelog = strdup(changelog);
    s->restore_timeout_ms = restore_timeout_ms;
    char *list = strdup(inputs), *save = NULL;
    if (s->dir == NULL || s->changelog == NULL || list == NULL) {
        free(list);
        st = hf_err_set(err, HF_ENOMEM, "stores");
        goto fail;
    }
    for (char *t = strtok_r(list, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
        if (s->ninputs == MPI_MAX_INPUTS) {
            free(list);
            st = hf_err_set(err, HF_ECONFIG, "HL7FLOW_INPUT_TOPICS: at most %d topics",
                            MPI_MAX_INPUTS);
            goto fail;
        }
        s->inputs[s->ninputs++] = strdup(t);
    }
    free(list);
    if (mkdir_p(dir) != 0) {
        st = hf_err_set(err, HF_ECONFIG, "LINKER_STATE_DIR %s: %s", dir, strerror(errno));
        goto fail;
    }
    s->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(s->opts, 1);
    rocksdb_options_set_max_open_files(s->opts, 256);
    /* One LRU block cache for all stores: a state read is a point lookup
     * of a random patient, so the hit rate follows the cache size (the
     * default of 32 MB per store held too little of a million states). */
    s->cache = rocksdb_cache_create_lru((size_t)block_cache_mb << 20);
    s->table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(s->table, s->cache);
    rocksdb_options_set_block_based_table_factory(s->opts, s->table);
    s->ropts = rocksdb_readoptions_create();
    s->wopts = rocksdb_writeoptions_create();

    const char *defs[] = {"enable.auto.commit", "false",
                          "enable.partition.eof", "true",
                          "isolation.level", "read_committed",
                          "auto.offset.reset", "earliest",
                          "group.id", "hl7flow-mpi-linker-restore-unused",
                          NULL};
    rd_kafka_conf_t *conf = NULL;
    if ((st = hf_kafka_conf_new(HF_KAFKA_CONSUMER, defs, NULL, &conf, err)) != HF_OK)
        goto fail;
    char errstr[512];
    s->rc = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (s->rc == NULL) {
        rd_kafka_conf_destroy(conf);
        st = hf_err_set(err, HF_ECONFIG, "restore consumer: %s", errstr);
        goto fail;
    }
    s->restored_records = hf_metrics_counter("hl7flow_linker_restored_records_total",
                                             "Changelog records applied by restores",
                                             "stage=\"mpi-linker\"");
    s->skipped_records = hf_metrics_counter(
        "hl7flow_linker_restore_skipped_total",
        "Changelog records a restore skipped (their input was not committed)",
        "stage=\"mpi-linker\"");
    s->restore_seconds = hf_metrics_histogram("hl7flow_linker_restore_seconds",
                                              "Time to restore one partition's state",
                                              "stage=\"mpi-linker\"", NULL, 0);
    *out = s;
    return HF_OK;
fail:
    mpi_stores_close(s);
    return st;
}

static void store_close(mpi_store *st) {
    if (st->pending != NULL)
        rocksdb_writebatch_wi_destroy(st->pending);
    if (st->db != NULL)
        rocksdb_close(st->db);
    memset(st, 0, sizeof *st);
}

void mpi_stores_close(mpi_stores *s) {
    if (s == NULL)
        return;
    if (s->rc != NULL)
        mpi_stores_checkpoint_all(s);
    for (int p = 0; p < MPI_MAX_PARTITIONS; p++)
        if (s->parts[p].db != NULL)
            store_close(&s->parts[p]);
    if (s->rc != NULL) {
        rd_kafka_consumer_close(s->rc);
        rd_kafka_destroy(s->rc);
    }
    if (s->opts != NULL)
        rocksdb_options_destroy(s->opts);
    if (s->table != NULL)
        rocksdb_block_based_options_destroy(s->table);
    if (s->cache != NULL)
        rocksdb_cache_destroy(s->cache);
    if (s->ropts != NULL)
        rocksdb_readoptions_destroy(s->ropts);
    if (s->wopts != NULL)
        rocksdb_writeoptions_destroy(s->wopts);
    for (size_t i = 0; i < s->ninputs; i++)
        free(s->inputs[i]);
    free(s->dir);
    free(s->changelog);
    free(s);
}

mpi_store *mpi_stores_get(mpi_stores *s, int32_t p) {
    if (p < 0 || p >= MPI_MAX_PARTITIONS || s->parts[p].db == NULL)
        return NULL;
    return &s->parts[p];
}

/* ---- reads and writes --------------------------------------------------- */

hf_status mpi_store_load(mpi_store *st, const char *key, hf_ls_state *out, bool *found,
                         hf_err *err) {
    char *e = NULL;
    size_t len = 0;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    char *v = rocksdb_writebatch_wi_get_from_batch_and_db(st->pending, st->db, ro, key,
                                                          strlen(key), &len, &e);
    rocksdb_readoptions_destroy(ro);
    if (e != NULL) {
        hf_err_set(err, HF_EIO, "state store read: %s", e);
        free(e);
        return HF_EIO;
    }
    *found = v != NULL;
    if (v == NULL) {
        hf_ls_init(out);
        return HF_OK;
    }
    hf_status s = hf_ls_decode(v, len, out, err);
    free(v);
    return s;
}

void mpi_store_put(mpi_store *st, const char *key, const char *val, size_t len) {
    rocksdb_writebatch_wi_put(st->pending, key, strlen(key), val, len);
}

void mpi_stores_batch_done(mpi_stores *s, bool committed) {
    for (int p = 0; p < MPI_MAX_PARTITIONS; p++) {
        mpi_store *st = &s->parts[p];
        if (st->db == NULL || rocksdb_writebatch_wi_count(st->pending) == 0)
            continue;
        if (committed) {
            char *e = NULL;
            rocksdb_write_writebatch_wi(st->db, s->wopts, st->pending, &e);
            st->dirty = true;
            if (e != NULL) {
                /* The changelog has the batch: a later restore (from the
                 * checkpoint, which is not advanced here) brings it back. */
                HF_LOG(HF_LOG_ERROR, "state_write_failed", HF_LI("partition", p), HF_LERR(e));
                free(e);
                st->checkpoint = -1;
            }
        }
        rocksdb_writebatch_wi_clear(st->pending);
    }
}

/* ---- checkpoints -------------------------------------------------------- */

static int64_t checkpoint_read(mpi_store *st, const rocksdb_readoptions_t *ro) {
    char *e = NULL;
    size_t len = 0;
    char *v = rocksdb_get(st->db, ro, CHECKPOINT_KEY, CHECKPOINT_KEY_LEN, &len, &e);
    int64_t off = -1;
    if (e == NULL && v != NULL && len == 8) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u = u << 8 | (unsigned char)v[i];
        off = (int64_t)u;
    }
    free(e);
    free(v);
    return off;
}

static bool checkpoint_write(mpi_stores *s, mpi_store *st, int32_t p, int64_t off) {
    char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (char)((uint64_t)off >> (56 - 8 * i));
    char *e = NULL;
    /* Not synced: the WAL recovers a prefix of the writes, so a crash
     * loses the checkpoint only together with the state writes before it,
     * and a lost checkpoint only means a longer changelog replay. */
    rocksdb_put(st->db, s->wopts, CHECKPOINT_KEY, CHECKPOINT_KEY_LEN, b, 8, &e);
    if (e != NULL) {
        HF_LOG(HF_LOG_WARN, "checkpoint_failed", HF_LI("partition", p), HF_LERR(e));
        free(e);
        return false;
    }
    st->checkpoint = off;
    st->dirty = false;
    return true;
}

/* Checkpoints @p p at the changelog's high watermark. Only between
 * batches: every committed batch is then in the store. A store nothing was
 * written to since its last checkpoint is skipped (only its owner writes
 * its changelog partition, so the watermark has not moved). */
static void checkpoint_one(mpi_stores *s, int32_t p) {
    mpi_store *st = &s->parts[p];
    if (st->db == NULL || st->checkpoint < 0 || !st->dirty)
        return; /* a store with a failed write keeps its old checkpoint */
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(s->rc, s->changelog, p, &lo, &hi, 5000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0) {
        HF_LOG(HF_LOG_WARN, "checkpoint_skipped", HF_LI("partition", p),
               HF_LID("code", rd_kafka_err2name(err)));
        return;
    }
    if (hi != st->checkpoint)
        checkpoint_write(s, st, p, hi);
}

void mpi_stores_checkpoint_all(mpi_stores *s) {
    for (int p = 0; p < MPI_MAX_PARTITIONS; p++)
        if (s->parts[p].db != NULL)
            checkpoint_one(s, p);
}

/* ---- restore ------------------------------------------------------------ */

typedef struct committed_map {
    const mpi_stores *s;
    int64_t off[MPI_MAX_INPUTS];
} committed_map;

static int64_t committed_of(const char *topic, void *arg) {
    const committed_map *m = arg;
    for (size_t i = 0; i < m->s->ninputs; i++)
        if (strcmp(m->s->inputs[i], topic) == 0)
            return m->off[i];
    return -1;
}

static hf_status store_open(mpi_stores *s, int32_t p, hf_err *err) {
    mpi_store *st = &s->parts[p];
    if (st->db != NULL)
        return HF_OK;
    char path[4096];
    snprintf(path, sizeof path, "%s/p%d", s->dir, (int)p);
    char *e = NULL;
    st->db = rocksdb_open(s->opts, path, &e);
    if (e != NULL) {
        hf_err_set(err, HF_EIO, "state store %s: %s", path, e);
        free(e);
        st->db = NULL;
        return HF_EIO;
    }
    st->pending = rocksdb_writebatch_wi_create(0, 1 /* overwrite keys */);
    st->checkpoint = checkpoint_read(st, s->ropts);
    return HF_OK;
}

/* Deletes every key of a store (its checkpoint lies outside the log). */
static void store_wipe(mpi_stores *s, mpi_store *st) {
    rocksdb_iterator_t *it = rocksdb_create_iterator(st->db, s->ropts);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl = 0;
        const char *k = rocksdb_iter_key(it, &kl);
        rocksdb_writebatch_delete(wb, k, kl);
    }
    char *e = NULL;
    rocksdb_write(st->db, s->wopts, wb, &e);
    free(e);
    rocksdb_writebatch_destroy(wb);
    rocksdb_iter_destroy(it);
    st->checkpoint = -1;
}

/* Reads changelog partition @p p from the store's checkpoint to the end
 * into the store. */
static hf_status restore_one(mpi_stores *s, rd_kafka_t *consumer, int32_t p, hf_err *err) {
    mpi_store *st = &s->parts[p];
    int64_t t0 = hf_mono_ms();
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t kerr =
        rd_kafka_query_watermark_offsets(s->rc, s->changelog, p, &lo, &hi, 10000);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR)
        return hf_err_set(err, HF_ERETRY, "changelog %s[%d] watermarks: %s", s->changelog, (int)p,
                          rd_kafka_err2str(kerr));
    int64_t from = st->checkpoint;
    if (from > hi || (from >= 0 && from < lo)) {
        HF_LOG(HF_LOG_WARN, "checkpoint_outside_changelog", HF_LI("partition", p),
               HF_LI("checkpoint", from), HF_LI("low", lo), HF_LI("high", hi));
        store_wipe(s, st);
        from = -1;
    }
    if (from < 0)
        from = lo;
    if (from >= hi) {
        HF_LOG(HF_LOG_INFO, "state_restored", HF_LI("partition", p), HF_LI("from", from),
               HF_LI("to", hi), HF_LI("records", 0), HF_LI("applied", 0), HF_LI("skipped", 0),
               HF_LI("ms", hf_mono_ms() - t0), HF_LB("from_checkpoint", st->checkpoint >= 0));
        if (st->checkpoint != hi)
            checkpoint_write(s, st, p, hi);
        return HF_OK;
    }

    /* The group's committed offsets of every input topic at partition p. */
    committed_map cm = {.s = s};
    rd_kafka_topic_partition_list_t *cl = rd_kafka_topic_partition_list_new((int)s->ninputs);
    for (size_t i = 0; i < s->ninputs; i++)
        rd_kafka_topic_partition_list_add(cl, s->inputs[i], p);
    kerr = rd_kafka_committed(consumer, cl, 10000);
    for (size_t i = 0; i < s->ninputs; i++)
        cm.off[i] = kerr == RD_KAFKA_RESP_ERR_NO_ERROR && cl->elems[i].err == 0
                        ? cl->elems[i].offset
                        : -1;
    rd_kafka_topic_partition_list_destroy(cl);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR)
        return hf_err_set(err, HF_ERETRY, "committed offsets: %s", rd_kafka_err2str(kerr));

    rd_kafka_topic_partition_list_t *a = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(a, s->changelog, p)->offset = from;
    rd_kafka_assign(s->rc, a);
    rd_kafka_topic_partition_list_destroy(a);

    hf_status result = HF_OK;
    int64_t records = 0, applied = 0, skipped = 0, end = -1;
    int64_t deadline = t0 + s->restore_timeout_ms;
    rocksdb_writebatch_wi_t *wb = rocksdb_writebatch_wi_create(0, 1);
    hf_ls_applied ap[HF_LS_MAX_TOPICS];
    hf_ls_state *tmp = malloc(sizeof *tmp);
    if (tmp == NULL) {
        result = hf_err_set(err, HF_ENOMEM, "restore");
        goto done;
    }
    while (end < 0) {
        if (hf_mono_ms() > deadline) {
            result = hf_err_set(err, HF_ERETRY,
                                "restore of %s[%d] did not reach the end within %lld ms",
                                s->changelog, (int)p, (long long)s->restore_timeout_ms);
            goto done;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rc, 200);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            end = m->offset;
        } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            HF_LOG(HF_LOG_WARN, "restore_consume_error", HF_LID("code", rd_kafka_err2name(m->err)));
        } else if (m->key != NULL && m->key_len > 0 && m->key_len < HF_LS_HASH) {
            char key[HF_LS_HASH];
            memcpy(key, m->key, m->key_len);
            key[m->key_len] = '\0';
            records++;
            if (m->payload == NULL) {
                rocksdb_writebatch_wi_delete(wb, key, m->key_len); /* tombstone */
                applied++;
            } else {
                size_t n = 0;
                hf_err derr = {0};
                hf_ls_state *probe = tmp;
                hf_ls_init(probe);
                bool ok = hf_ls_decode_applied(m->payload, m->len, ap, &n, &derr) == HF_OK;
                if (ok) {
                    memcpy(probe->applied, ap, n * sizeof ap[0]);
                    probe->napplied = n;
                    ok = hf_ls_committed(probe, committed_of, &cm);
                }
                if (ok) {
                    rocksdb_writebatch_wi_put(wb, key, m->key_len, m->payload, m->len);
                    applied++;
                } else {
                    skipped++;
                }
            }
            if (rocksdb_writebatch_wi_count(wb) >= 10000) {
                char *e = NULL;
                rocksdb_write_writebatch_wi(st->db, s->wopts, wb, &e);
                rocksdb_writebatch_wi_clear(wb);
                if (e != NULL) {
                    result = hf_err_set(err, HF_EIO, "restore write: %s", e);
                    free(e);
                    rd_kafka_message_destroy(m);
                    goto done;
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    char *e = NULL;
    rocksdb_write_writebatch_wi(st->db, s->wopts, wb, &e);
    if (e != NULL) {
        result = hf_err_set(err, HF_EIO, "restore write: %s", e);
        free(e);
        goto done;
    }
    checkpoint_write(s, st, p, end);
    hf_counter_add(s->restored_records, (double)applied);
    hf_counter_add(s->skipped_records, (double)skipped);
    hf_histogram_observe(s->restore_seconds, (double)(hf_mono_ms() - t0) / 1000.0);
    HF_LOG(HF_LOG_INFO, "state_restored", HF_LI("partition", p), HF_LI("from", from),
           HF_LI("to", end), HF_LI("records", records), HF_LI("applied", applied),
           HF_LI("skipped", skipped), HF_LI("ms", hf_mono_ms() - t0),
           HF_LB("from_checkpoint", from > lo));
done:
    free(tmp);
    rocksdb_writebatch_wi_destroy(wb);
    rd_kafka_assign(s->rc, NULL);
    return result;
}

hf_status mpi_stores_assign(mpi_stores *s, rd_kafka_t *consumer,
                            const rd_kafka_topic_partition_list_t *parts) {
    bool want[MPI_MAX_PARTITIONS] = {false};
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p < 0 || p >= MPI_MAX_PARTITIONS) {
            HF_LOG(HF_LOG_ERROR, "partition_out_of_range", HF_LI("partition", p));
            return HF_ELIMIT;
        }
        want[p] = true;
    }
    /* Eager protocol: the list is the whole new assignment; stores of
     * partitions no longer ours are closed (their checkpoint was written at
     * revoke). */
    for (int p = 0; p < MPI_MAX_PARTITIONS; p++)
        if (!want[p] && s->parts[p].db != NULL)
            store_close(&s->parts[p]);
    for (int p = 0; p < MPI_MAX_PARTITIONS; p++) {
        if (!want[p])
            continue;
        hf_err err = {0};
        hf_status st = store_open(s, p, &err);
        for (int attempt = 0; st == HF_OK || st == HF_ERETRY; attempt++) {
            st = restore_one(s, consumer, p, &err);
            if (st != HF_ERETRY || attempt == 5)
                break;
            HF_LOG(HF_LOG_WARN, "restore_retry", HF_LI("partition", p), HF_LERR(err.msg));
        }
        if (st != HF_OK) {
            HF_LOG(HF_LOG_ERROR, "restore_failed", HF_LI("partition", p), HF_LERR(err.msg));
            return st;
        }
    }
    return HF_OK;
}

void mpi_stores_revoke(mpi_stores *s, const rd_kafka_topic_partition_list_t *parts) {
    bool done[MPI_MAX_PARTITIONS] = {false};
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p >= 0 && p < MPI_MAX_PARTITIONS && s->parts[p].db != NULL && !done[p]) {
            done[p] = true;
            /* nothing pending between batches; drop anything left anyway */
            rocksdb_writebatch_wi_clear(s->parts[p].pending);
            checkpoint_one(s, p);
        }
    }
}
