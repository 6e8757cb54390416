/* linker_preload.c - fills the mpi-linker's state stores with filler
 * patients before the service starts, for the service benchmark
 * (bench/linker/service_bench.py): 1,000,000 patients in state without
 * replaying 1,000,000 records through Kafka.
 *
 * Writes PATIENTS states into DIR/p<N> (N = 0..PARTITIONS-1), the layout of
 * services/mpi-linker/linker_store.c: key = a 64-hex MRN hash (random
 * here: these patients are never fed), value = hf_ls_encode of a state
 * with an enterprise id, demographics, an open encounter and two open
 * orders. Each key goes to the store of the partition librdkafka's
 * murmur2_random partitioner gives it, as the router's records do. Each
 * store gets the checkpoint key "\0checkpoint" = 0: with the changelog
 * empty (high watermark 0) the linker's restore at start reads nothing.
 * The stores are flushed and compacted, so the service reads its states
 * from table files as a long-running replica would, not from a replayed
 * write-ahead log.
 *
 * Usage: linker_preload DIR PATIENTS [PARTITIONS] [SEED]. Prints one JSON
 * line: {"patients":..,"bytes_per_state":..,"seconds":..,"per_partition":[..]}.
 * Exit 0, 1 on a RocksDB error, 2 on bad usage. */
#include <errno.h>
#include <rocksdb/c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hl7flow/linkstate.h"

#define MAX_PARTS 64
#define CHECKPOINT_KEY "\0checkpoint"
#define CHECKPOINT_KEY_LEN 11

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static hf_span S(const char *z) { return (hf_span){z, strlen(z)}; }

/* xorshift64: filler keys and field values (not security relevant). */
static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Kafka's murmur2 (the Java client's and librdkafka's murmur2 partitioners:
 * seed 0x9747b28c, little-endian 4-byte blocks). */
static uint32_t murmur2(const unsigned char *p, size_t len) {
    const uint32_t m = 0x5bd1e995u;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
        uint32_t k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
                     (uint32_t)p[i + 3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len - i) {
    case 3: h ^= (uint32_t)p[i + 2] << 16; /* fall through */
    case 2: h ^= (uint32_t)p[i + 1] << 8;  /* fall through */
    case 1: h ^= (uint32_t)p[i]; h *= m;   /* fall through */
    default: break;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

/* The partition murmur2_random gives a non-empty key. */
static int partition_of(const char *key, size_t len, int parts) {
    return (int)((murmur2((const unsigned char *)key, len) & 0x7fffffffu) % (uint32_t)parts);
}

static void check(char *e, const char *what) {
    if (e != NULL) {
        fprintf(stderr, "linker_preload: %s: %s\n", what, e);
        free(e);
        exit(1);
    }
}

/* One filler patient's state: id, demographics, an encounter, two orders. */
static void filler_state(hf_ls_state *st, long i, uint64_t *rng) {
    static const char *const fam[] = {"SMITH", "NGUYEN", "GARCIA", "MUELLER", "OKAFOR", "ROSSI"};
    static const char *const giv[] = {"ANNA", "JAMES", "MARIA", "WEI", "FATIMA", "LUCAS"};
    char visit[32], zip[16], placer[32];
    hf_ls_link l;
    hf_ls_event ev;
    hf_ls_init(st);
    snprintf(st->empi_id, sizeof st->empi_id, "F%023lx", (unsigned long)i);
    snprintf(st->link_status, sizeof st->link_status, "new");
    memset(&ev, 0, sizeof ev);
    ev.code = S("ADT");
    ev.trigger = S("A01");
    snprintf(visit, sizeof visit, "V%010ld", i);
    snprintf(zip, sizeof zip, "%05u", (unsigned)(next_rand(rng) % 100000));
    ev.visit = S(visit);
    ev.patient_class = S("I");
    ev.location = S("WARD3");
    ev.family = S(fam[next_rand(rng) % 6]);
    ev.given = S(giv[next_rand(rng) % 6]);
    ev.sex = S(next_rand(rng) % 2 ? "F" : "M");
    ev.zip = S(zip);
    ev.birth_date = (hf_opt_i32){(int32_t)(next_rand(rng) % 30000), true};
    ev.ts = 1700000000000000LL + (int64_t)(next_rand(rng) % 1000000000000ULL);
    hf_ls_apply(st, &ev, &l);
    for (int k = 0; k < 2; k++) {
        memset(&ev, 0, sizeof ev);
        snprintf(placer, sizeof placer, "P%010ld-%d", i, k);
        ev.code = S("ORM");
        ev.trigger = S("O01");
        ev.visit = S(visit);
        ev.norders = 1;
        ev.orders[0].control = S("NW");
        ev.orders[0].placer = S(placer);
        hf_ls_apply(st, &ev, &l);
    }
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: linker_preload DIR PATIENTS [PARTITIONS] [SEED]\n");
        return 2;
    }
    long patients = atol(argv[2]);
    int parts = argc > 3 ? atoi(argv[3]) : 12;
    uint64_t rng = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;
    if (rng == 0)
        rng = 0x2545F4914F6CDD1DULL;
    if (patients < 0 || parts < 1 || parts > MAX_PARTS) {
        fprintf(stderr, "linker_preload: PATIENTS >= 0, 1 <= PARTITIONS <= %d\n", MAX_PARTS);
        return 2;
    }
    if (mkdir(argv[1], 0750) != 0 && errno != EEXIST) {
        perror(argv[1]);
        return 1;
    }
    double t0 = now_s();
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(wo, 1); /* flushed below before close */
    rocksdb_t *db[MAX_PARTS];
    rocksdb_writebatch_t *wb[MAX_PARTS];
    long count[MAX_PARTS] = {0};
    char path[4096];
    char *e = NULL;
    for (int p = 0; p < parts; p++) {
        snprintf(path, sizeof path, "%s/p%d", argv[1], p);
        db[p] = rocksdb_open(o, path, &e);
        check(e, path);
        wb[p] = rocksdb_writebatch_create();
    }
    hf_ls_state *st = malloc(sizeof *st);
    hf_rec_buf b = {0};
    size_t bytes = 0;
    if (st == NULL)
        return 1;
    for (long i = 0; i < patients; i++) {
        char key[65];
        snprintf(key, sizeof key, "%016llx%016llx%016llx%016llx",
                 (unsigned long long)next_rand(&rng), (unsigned long long)next_rand(&rng),
                 (unsigned long long)next_rand(&rng), (unsigned long long)next_rand(&rng));
        filler_state(st, i, &rng);
        b.len = 0;
        if (hf_ls_encode(st, &b) != HF_OK) {
            fprintf(stderr, "linker_preload: encode failed\n");
            return 1;
        }
        bytes += b.len;
        int p = partition_of(key, 64, parts);
        rocksdb_writebatch_put(wb[p], key, 64, b.p, b.len);
        count[p]++;
        if (rocksdb_writebatch_count(wb[p]) >= 5000) {
            rocksdb_write(db[p], wo, wb[p], &e);
            check(e, "write");
            rocksdb_writebatch_clear(wb[p]);
        }
    }
    char zero[8] = {0}; /* checkpoint 0, big-endian */
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int p = 0; p < parts; p++) {
        rocksdb_writebatch_put(wb[p], CHECKPOINT_KEY, CHECKPOINT_KEY_LEN, zero, sizeof zero);
        rocksdb_write(db[p], wo, wb[p], &e);
        check(e, "write");
        rocksdb_writebatch_destroy(wb[p]);
        rocksdb_flush(db[p], fo, &e);
        check(e, "flush");
        rocksdb_compact_range(db[p], NULL, 0, NULL, 0);
        rocksdb_close(db[p]);
    }
    rocksdb_flushoptions_destroy(fo);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_options_destroy(o);
    free(st);
    hf_rec_buf_free(&b);
    printf("{\"patients\":%ld,\"bytes_per_state\":%.1f,\"seconds\":%.2f,\"per_partition\":[",
           patients, patients > 0 ? (double)bytes / (double)patients : 0.0, now_s() - t0);
    for (int p = 0; p < parts; p++)
        printf("%s%ld", p ? "," : "", count[p]);
    printf("]}\n");
    return 0;
}
