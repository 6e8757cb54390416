/* linker_bench.c - the mpi-linker's state path with 1,000,000 distinct
 * patients in state, without Kafka or PostgreSQL:
 *   1. load: 1M patient states (demographics, an encounter, two orders)
 *      written into one RocksDB store;
 *   2. events: random patients of the 1M, each event = read the state
 *      (pending batch, then RocksDB), decode, apply (hf_ls_apply), encode,
 *      put into the pending batch; the batch is written every 2000 events
 *      as the stage loop's commit does. Reports events/s;
 *   2b. peer, same run: RocksDB alone on the same store and the same
 *      random patient sequence - read the stored value (pending batch,
 *      then RocksDB), put it back unchanged, write every 2000 - so the
 *      ratio shows what decode/apply/encode cost on top of the storage;
 *   3. restore: one partition's share (1M / 12) of changelog values applied
 *      to a new store the way a restore does (applied-offset check, write
 *      batches of 10,000). Reports seconds. The Kafka fetch of the
 *      changelog is not included (the dev broker cannot hold 12 x 5 MiB of
 *      it, docs/devbroker.md): add the fetch time of your cluster.
 * The last line is `RESULT {json}` for bench/linker/results.py.
 * The stores have the linker's options (LINKER_BLOCK_CACHE_MB, default 256).
 * Usage: linker_bench DIR [PATIENTS] [EVENTS]. */
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl7flow/linkstate.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static hf_span S(const char *z) { return (hf_span){z, strlen(z)}; }

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void key_of(long i, char *k) { snprintf(k, 72, "%064lx", (unsigned long)i * 2654435761UL); }

static void die(char *e) {
    if (e != NULL) {
        fprintf(stderr, "rocksdb: %s\n", e);
        exit(1);
    }
}

static int64_t committed_all(const char *topic, void *arg) {
    (void)topic;
    (void)arg;
    return INT64_MAX;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: linker_bench DIR [PATIENTS] [EVENTS]\n");
        return 2;
    }
    long patients = argc > 2 ? atol(argv[2]) : 1000000;
    long events = argc > 3 ? atol(argv[3]) : 200000;
    char path[4096];
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    /* the linker's store options: one LRU block cache of LINKER_BLOCK_CACHE_MB */
    const char *cache_mb = getenv("LINKER_BLOCK_CACHE_MB");
    rocksdb_cache_t *cache = rocksdb_cache_create_lru((size_t)(cache_mb ? atol(cache_mb) : 256) << 20);
    rocksdb_block_based_table_options_t *table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(table, cache);
    rocksdb_options_set_block_based_table_factory(o, table);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    char *e = NULL;
    snprintf(path, sizeof path, "%s/main", argv[1]);
    rocksdb_t *db = rocksdb_open(o, path, &e);
    die(e);
    hf_ls_state *st = malloc(sizeof *st);
    hf_rec_buf b = {0};
    char key[72], id[32];
    hf_ls_link l;

    /* 1. load */
    double t0 = now_s();
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    size_t bytes = 0;
    for (long i = 0; i < patients; i++) {
        hf_ls_init(st);
        snprintf(st->empi_id, sizeof st->empi_id, "E%024lx", (unsigned long)i);
        snprintf(st->link_status, sizeof st->link_status, "new");
        hf_ls_event ev;
        memset(&ev, 0, sizeof ev);
        ev.code = S("ADT");
        ev.trigger = S("A01");
        snprintf(id, sizeof id, "V%ld", i);
        ev.visit = S(id);
        ev.family = S("FAMILYNAME");
        ev.given = S("GIVEN");
        ev.sex = S("F");
        ev.birth_date = (hf_opt_i32){(int32_t)(i % 30000), true};
        ev.location = S("WARD7");
        hf_ls_apply(st, &ev, &l);
        for (int k = 0; k < 2; k++) {
            char pl[32];
            snprintf(pl, sizeof pl, "ORD%ld-%d", i, k);
            memset(&ev, 0, sizeof ev);
            ev.code = S("ORM");
            ev.norders = 1;
            ev.orders[0].control = S("NW");
            ev.orders[0].placer = S(pl);
            hf_ls_apply(st, &ev, &l);
        }
        hf_ls_mark_applied(st, "hl7.parsed.adt", i);
        b.len = 0;
        hf_ls_encode(st, &b);
        bytes += b.len;
        key_of(i, key);
        rocksdb_writebatch_put(wb, key, 64, b.p, b.len);
        if (rocksdb_writebatch_count(wb) >= 10000) {
            rocksdb_write(db, wo, wb, &e);
            die(e);
            rocksdb_writebatch_clear(wb);
        }
    }
    rocksdb_write(db, wo, wb, &e);
    die(e);
    rocksdb_writebatch_destroy(wb);
    double load_s = now_s() - t0;
    printf("load: %ld patients, %.0f bytes per state, %.1f s\n", patients,
           (double)bytes / (double)patients, load_s);

    /* 2. events */
    const uint64_t seed = rng;
    rocksdb_writebatch_wi_t *pending = rocksdb_writebatch_wi_create(0, 1);
    const char *kinds[] = {"ADT", "ORU", "ORM", "ADT"};
    t0 = now_s();
    for (long n = 0; n < events; n++) {
        long i = (long)(next_rand() % (uint64_t)patients);
        key_of(i, key);
        size_t len = 0;
        char *v = rocksdb_writebatch_wi_get_from_batch_and_db(pending, db, ro, key, 64, &len, &e);
        die(e);
        hf_err err = {0};
        if (v == NULL || hf_ls_decode(v, len, st, &err) != HF_OK) {
            fprintf(stderr, "state of patient %ld missing\n", i);
            return 1;
        }
        free(v);
        hf_ls_event ev;
        memset(&ev, 0, sizeof ev);
        ev.code = S(kinds[n & 3]);
        ev.trigger = S((n & 3) == 3 ? "A03" : "A08");
        snprintf(id, sizeof id, "V%ld", i);
        ev.visit = S(id);
        char pl[32];
        snprintf(pl, sizeof pl, "ORD%ld-%d", i, (int)(n & 1));
        ev.norders = 1;
        ev.orders[0].control = S("NW");
        ev.orders[0].placer = S(pl);
        ev.orders[0].result_status = S("F");
        ev.observations = 5;
        hf_ls_apply(st, &ev, &l);
        hf_ls_mark_applied(st, "hl7.parsed.oru", n);
        b.len = 0;
        hf_ls_encode(st, &b);
        rocksdb_writebatch_wi_put(pending, key, 64, b.p, b.len);
        if ((n + 1) % 2000 == 0) {
            rocksdb_write_writebatch_wi(db, wo, pending, &e);
            die(e);
            rocksdb_writebatch_wi_clear(pending);
        }
    }
    rocksdb_write_writebatch_wi(db, wo, pending, &e);
    die(e);
    double ev_s = now_s() - t0;
    printf("events: %ld on %ld patients in state, %.0f events/s (state path only)\n", events,
           patients, (double)events / ev_s);

    /* 2b. peer: the storage alone, same patients in the same order */
    rng = seed;
    rocksdb_writebatch_wi_clear(pending);
    t0 = now_s();
    size_t peer_bytes = 0;
    for (long n = 0; n < events; n++) {
        long i = (long)(next_rand() % (uint64_t)patients);
        key_of(i, key);
        size_t len = 0;
        char *v = rocksdb_writebatch_wi_get_from_batch_and_db(pending, db, ro, key, 64, &len, &e);
        die(e);
        if (v == NULL) {
            fprintf(stderr, "peer: state of patient %ld missing\n", i);
            return 1;
        }
        peer_bytes += len;
        rocksdb_writebatch_wi_put(pending, key, 64, v, len);
        free(v);
        if ((n + 1) % 2000 == 0) {
            rocksdb_write_writebatch_wi(db, wo, pending, &e);
            die(e);
            rocksdb_writebatch_wi_clear(pending);
        }
    }
    rocksdb_write_writebatch_wi(db, wo, pending, &e);
    die(e);
    double peer_s = now_s() - t0;
    printf("peer: RocksDB get+put of the same values, same patients: %.0f ops/s "
           "(linker state path / peer = %.2f)\n",
           (double)events / peer_s, peer_s / ev_s);

    /* 3. restore of one partition's share */
    snprintf(path, sizeof path, "%s/restore", argv[1]);
    rocksdb_t *rdb = rocksdb_open(o, path, &e);
    die(e);
    long share = patients / 12;
    rocksdb_iterator_t *it = rocksdb_create_iterator(db, ro);
    rocksdb_iter_seek_to_first(it);
    /* The changelog values, read once into memory (the fetch is not timed). */
    char **vals = calloc((size_t)share, sizeof *vals);
    size_t *lens = calloc((size_t)share, sizeof *lens);
    char (*keys)[72] = calloc((size_t)share, sizeof *keys);
    long nv = 0;
    for (; rocksdb_iter_valid(it) && nv < share; rocksdb_iter_next(it), nv++) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        memcpy(keys[nv], k, kl < 71 ? kl : 71);
        vals[nv] = malloc(vl);
        memcpy(vals[nv], v, vl);
        lens[nv] = vl;
    }
    rocksdb_iter_destroy(it);
    t0 = now_s();
    rocksdb_writebatch_wi_t *rb = rocksdb_writebatch_wi_create(0, 1);
    hf_ls_applied ap[HF_LS_MAX_TOPICS];
    for (long i = 0; i < nv; i++) {
        size_t na = 0;
        hf_err err = {0};
        hf_ls_init(st);
        if (hf_ls_decode_applied(vals[i], lens[i], ap, &na, &err) != HF_OK)
            return 1;
        memcpy(st->applied, ap, na * sizeof ap[0]);
        st->napplied = na;
        if (hf_ls_committed(st, committed_all, NULL))
            rocksdb_writebatch_wi_put(rb, keys[i], 64, vals[i], lens[i]);
        if (rocksdb_writebatch_wi_count(rb) >= 10000) {
            rocksdb_write_writebatch_wi(rdb, wo, rb, &e);
            die(e);
            rocksdb_writebatch_wi_clear(rb);
        }
    }
    rocksdb_write_writebatch_wi(rdb, wo, rb, &e);
    die(e);
    double rs = now_s() - t0;
    printf("restore: %ld states of one partition (1/12 of %ld) applied in %.2f s "
           "(%.0f states/s; changelog fetch not included)\n",
           nv, patients, rs, (double)nv / rs);
    printf("RESULT {\"patients\": %ld, \"events\": %ld, \"bytes_per_state\": %.0f, "
           "\"load_s\": %.2f, \"events_per_s\": %.0f, \"peer_ops_per_s\": %.0f, "
           "\"peer_bytes_per_value\": %.0f, \"restore_states\": %ld, \"restore_s\": %.3f}\n",
           patients, events, (double)bytes / (double)patients, load_s, (double)events / ev_s,
           (double)events / peer_s, (double)peer_bytes / (double)events, nv, rs);
    for (long i = 0; i < nv; i++)
        free(vals[i]);
    free(vals);
    free(lens);
    free(keys);
    rocksdb_writebatch_wi_destroy(rb);
    rocksdb_writebatch_wi_destroy(pending);
    rocksdb_close(rdb);
    rocksdb_close(db);
    rocksdb_options_destroy(o);
    rocksdb_block_based_options_destroy(table);
    rocksdb_cache_destroy(cache);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_readoptions_destroy(ro);
    hf_rec_buf_free(&b);
    free(st);
    return 0;
}
