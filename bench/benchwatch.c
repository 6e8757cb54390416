/* benchwatch.c - the stage benchmark's measuring client (bench/stage_bench.py).
 *
 * Four modes, each one persistent librdkafka client configured like every
 * hl7flow client (KAFKA_* variables, hf_kafka_conf_new). Wherever a mode
 * reads "the last topic" (--last / --topic), a comma-separated list counts
 * as one topic (a stage with several outputs, such as the router's
 * hl7.parsed.<type>):
 *
 *   span --first T1[,T...] --last T2[,T...] --count N
 *       Throughput timer. Reads the end offsets of every partition of T1
 *       and T2 (the base), prints {"ready":true,...}: the caller starts
 *       producing to T1. Polls the end offsets (one ListOffsets request per
 *       leader every --interval-ms, default 2) until T2's have grown by N in
 *       total; the wall time of that poll is the end. Then reads the first
 *       new record of every partition of the T1 topics; the smallest
 *       ingest_ts header (else record timestamp) is the start: when the
 *       first record was produced. Prints seconds = end - start, and the newest record
 *       timestamp of T2 (when the last stage produced its last record).
 *       Polling `hl7flow offsets` instead would start a process and a client
 *       per sample (~10 ms each) on a machine the stages already saturate.
 *
 *   latency --topic T --count N
 *       Latency reader. Assigns every partition of T at its current end
 *       (so records of earlier runs, still kept by the broker, are never
 *       read), prints {"ready":true}, reads exactly N records and prints the
 *       percentiles of (receive time - ingest_ts header) like `hl7flow
 *       consume --format latency` does (nearest rank), and the largest
 *       latency among the first 1% received (head_max_ms), which shows a
 *       producer that stalled at start-up.
 *
 *   dump --topic T --count N --out FILE
 *       Input maker for stages that read records rather than HL7. Assigns
 *       every partition of T at its end, prints {"ready":true} (the caller
 *       then runs the upstream stages), reads exactly N records and writes
 *       them to FILE: per record its key, value and headers.
 *
 *   replay --topic T --in FILE [--rate R] [--count N] [--typed PREFIX]
 *       The `hl7flow produce` of dumped records: produces every record (or
 *       the first N) of FILE to T (keys, values, headers kept; ingest_ts set to the send
 *       time, as `hl7flow produce` does) with the same producer settings
 *       (idempotent, acks=all, murmur2_random, linger.ms 5); --rate paces
 *       the sends (0 = as fast as possible). Prints {"sent":N,...}.
 *       --typed PREFIX: each record goes to PREFIX + its type's topic, as
 *       the router's default routes do (message_type header: ADT -> adt,
 *       ORM/OML -> orm, ORU/OUL -> oru, DFT -> dft, MDM -> mdm); records
 *       of another or no type go to T.
 *
 * All stop after --timeout-ms (default 120000). Exit: 0 done, 3 timed out
 * or records missing, 1 Kafka error, 2 bad usage. Output: JSON lines on
 * stdout; diagnostics on stderr.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl7flow/headers.h"
#include "hl7flow/kafka.h"
#include "hl7flow/log.h"
#include "hl7flow/timeutil.h"

#define MAX_PARTS 256

typedef struct topic_parts {
    const char *name;
    int n;
    int32_t id[MAX_PARTS];
    int64_t base[MAX_PARTS];
    int64_t end[MAX_PARTS];
} topic_parts;

typedef struct opts {
    const char *mode, *first, *last, *file, *typed;
    long long count, timeout_ms, interval_ms, rate;
} opts;

#define MAX_TOPICS 8

/* Splits the comma-separated topic list @p list into t[0..) (names point
 * into @p buf, a copy); returns how many, or 0 when empty or too many. */
static int topic_list(const char *list, char *buf, size_t cap, topic_parts *t, int max) {
    snprintf(buf, cap, "%s", list);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == max)
            return 0;
        t[n++].name = tok;
    }
    return n;
}

static rd_kafka_t *client_new(const char *isolation) {
    const char *defs[] = {"group.id", "hl7flow-benchwatch", "enable.auto.commit", "false",
                          "enable.partition.eof", "false", "isolation.level", isolation,
                          NULL};
    rd_kafka_conf_t *conf = NULL;
    hf_err err = {0};
    if (hf_kafka_conf_new(HF_KAFKA_CONSUMER, defs, NULL, &conf, &err) != HF_OK) {
        fprintf(stderr, "benchwatch: %s\n", err.msg);
        return NULL;
    }
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, "benchwatch: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Fills @t's partition ids from the cluster metadata. */
static bool load_parts(rd_kafka_t *rk, topic_parts *t) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, t->name, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && !md->topics[0].err &&
              md->topics[0].partition_cnt > 0 && md->topics[0].partition_cnt <= MAX_PARTS;
    if (ok) {
        t->n = md->topics[0].partition_cnt;
        for (int i = 0; i < t->n; i++)
            t->id[i] = md->topics[0].partitions[i].id;
    } else {
        fprintf(stderr, "benchwatch: no usable metadata for %s\n", t->name);
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return ok;
}

/* Reads the end offset of every partition of @ts[0..nt) into end[]: one
 * ListOffsets request per leader (timestamp -1 = latest). */
static bool query_ends(rd_kafka_t *rk, topic_parts *ts, int nt) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(64);
    for (int k = 0; k < nt; k++)
        for (int i = 0; i < ts[k].n; i++)
            rd_kafka_topic_partition_list_add(l, ts[k].name, ts[k].id[i])->offset = -1;
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, l, 10000);
    for (int j = 0; err == RD_KAFKA_RESP_ERR_NO_ERROR && j < l->cnt; j++) {
        const rd_kafka_topic_partition_t *p = &l->elems[j];
        if (p->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            err = p->err;
            break;
        }
        for (int k = 0; k < nt; k++)
            for (int i = 0; i < ts[k].n; i++)
                if (ts[k].id[i] == p->partition && strcmp(ts[k].name, p->topic) == 0)
                    ts[k].end[i] = p->offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "benchwatch: end offsets: %s\n", rd_kafka_err2str(err));
    return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

static int64_t grown(const topic_parts *t) {
    int64_t s = 0;
    for (int i = 0; i < t->n; i++)
        s += t->end[i] - t->base[i];
    return s;
}

/* Assigns every partition of @t at @at[i] (those with at[i] >= 0); returns
 * how many were assigned, or -1 on error. */
static int assign_at(rd_kafka_t *rk, const topic_parts *t, const int64_t *at) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(t->n);
    for (int i = 0; i < t->n; i++)
        if (at[i] >= 0)
            rd_kafka_topic_partition_list_add(l, t->name, t->id[i])->offset = at[i];
    int n = l->cnt;
    if (n > 0 && rd_kafka_assign(rk, l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        n = -1;
    rd_kafka_topic_partition_list_destroy(l);
    return n;
}

/* The record's ingest_ts header in wall microseconds, else its timestamp. */
static int64_t record_wall_us(const rd_kafka_message_t *m, bool *from_header) {
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t vlen = 0;
    int64_t us;
    *from_header = rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                   rd_kafka_header_get_last(h, HF_H_INGEST_TS, &v, &vlen) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR &&
                   hf_ts_parse(v, vlen, &us);
    return *from_header ? us : rd_kafka_message_timestamp(m, NULL) * 1000;
}

/* Reads the record at @at[i] of every partition of @t with at[i] >= 0 and
 * returns the smallest (@want_min) or largest time in wall microseconds:
 * ingest_ts when @use_header, else the record timestamp. -1 if any record
 * could not be read. */
static int64_t boundary_us(rd_kafka_t *rk, const topic_parts *t, const int64_t *at, bool want_min,
                           bool use_header) {
    int want = assign_at(rk, t, at), got = 0;
    int64_t best = -1;
    bool seen[MAX_PARTS] = {false};
    int64_t deadline = hf_mono_ms() + 15000;
    while (want > 0 && got < want && hf_mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL)
            continue;
        for (int i = 0; m->err == RD_KAFKA_RESP_ERR_NO_ERROR && i < t->n; i++) {
            if (t->id[i] != m->partition || m->offset != at[i] || seen[i])
                continue;
            seen[i] = true;
            got++;
            bool hdr;
            int64_t us = use_header ? record_wall_us(m, &hdr)
                                    : rd_kafka_message_timestamp(m, NULL) * 1000;
            if (best < 0 || (want_min ? us < best : us > best))
                best = us;
        }
        rd_kafka_message_destroy(m);
    }
    if (want > 0)
        rd_kafka_assign(rk, NULL);
    if (got < want)
        fprintf(stderr, "benchwatch: read %d of %d boundary records of %s\n", got, want, t->name);
    return got == want ? best : -1;
}

static int64_t grown_all(const topic_parts *t, int n) {
    int64_t s = 0;
    for (int k = 0; k < n; k++)
        s += grown(&t[k]);
    return s;
}

/* The newest record timestamp among the new records of @p t[0..n). */
static int64_t newest_us(rd_kafka_t *rk, const topic_parts *t, int n) {
    int64_t best = -1;
    for (int k = 0; k < n; k++) {
        int64_t at[MAX_PARTS];
        for (int i = 0; i < t[k].n; i++)
            at[i] = t[k].end[i] > t[k].base[i] ? t[k].end[i] - 1 : -1;
        int64_t us = boundary_us(rk, &t[k], at, false, false);
        if (us < 0)
            return -1;
        if (us > best)
            best = us;
    }
    return best;
}

static int run_span(rd_kafka_t *rk, const opts *o) {
    static topic_parts t[2 * MAX_TOPICS];
    static char fbuf[1024], lbuf[1024];
    int nf = topic_list(o->first, fbuf, sizeof fbuf, t, MAX_TOPICS);
    int nl = nf == 0 ? 0 : topic_list(o->last, lbuf, sizeof lbuf, t + nf, MAX_TOPICS);
    if (nl == 0)
        return 2;
    /* the first topic may be the (only) last one too: the baseline */
    bool same = nf == 1 && nl == 1 && strcmp(t[0].name, t[1].name) == 0;
    int nt = same ? 1 : nf + nl;
    topic_parts *last = same ? &t[0] : &t[nf];
    if (same)
        nl = 1;
    for (int k = 0; k < nt; k++)
        if (!load_parts(rk, &t[k]))
            return 1;
    if (!query_ends(rk, t, nt))
        return 1;
    for (int k = 0; k < nt; k++)
        memcpy(t[k].base, t[k].end, sizeof t[k].base);
    printf("{\"ready\":true}\n");
    fflush(stdout);

    int64_t t0 = hf_mono_ms(), end_us = -1, first_seen_us = -1;
    long polls = 0;
    while (hf_mono_ms() - t0 < o->timeout_ms) {
        if (!query_ends(rk, t, nt))
            return 1;
        polls++;
        int64_t now = hf_wall_us();
        if (first_seen_us < 0 && grown_all(t, nf) > 0)
            first_seen_us = now;
        if (grown_all(last, nl) >= o->count) {
            end_us = now;
            break;
        }
        struct timespec ts = {0, (long)o->interval_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* the earliest first new record of the first topics */
    int64_t first_us = -1;
    bool first_ok = true;
    for (int k = 0; k < nf && first_ok; k++) {
        if (grown(&t[k]) == 0)
            continue;
        int64_t at[MAX_PARTS] = {0};
        for (int i = 0; i < t[k].n; i++)
            at[i] = t[k].end[i] > t[k].base[i] ? t[k].base[i] : -1;
        int64_t us = boundary_us(rk, &t[k], at, true, true);
        first_ok = us >= 0;
        if (first_ok && (first_us < 0 || us < first_us))
            first_us = us;
    }
    if (!first_ok)
        first_us = -1;
    int64_t last_us = end_us >= 0 ? newest_us(rk, last, nl) : -1;
    bool ok = end_us >= 0 && first_us >= 0;
    printf("{\"reached\":%s,\"count\":%lld,\"grown_first\":%" PRId64 ",\"grown_last\":%" PRId64
           ",\"first_us\":%" PRId64 ",\"first_seen_us\":%" PRId64 ",\"end_us\":%" PRId64
           ",\"last_record_us\":%" PRId64 ",\"seconds\":%.6f,\"polls\":%ld}\n",
           end_us >= 0 ? "true" : "false", o->count, grown_all(t, nf), grown_all(last, nl), first_us,
           first_seen_us, end_us, last_us, ok ? (double)(end_us - first_us) / 1e6 : -1.0, polls);
    return ok ? 0 : 3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted @v. */
static double pct(const double *v, size_t n, double p) {
    if (n == 0)
        return 0;
    size_t i = (size_t)ceil(p * (double)n);
    return v[i == 0 ? 0 : (i > n ? n - 1 : i - 1)];
}

/* Assigns every partition of the topics of @p list at its end. */
static bool assign_ends(rd_kafka_t *rk, const char *list) {
    static topic_parts t[MAX_TOPICS];
    static char buf[1024];
    int nt = topic_list(list, buf, sizeof buf, t, MAX_TOPICS);
    if (nt == 0)
        return false;
    for (int k = 0; k < nt; k++)
        if (!load_parts(rk, &t[k]))
            return false;
    if (!query_ends(rk, t, nt))
        return false;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(64);
    for (int k = 0; k < nt; k++)
        for (int i = 0; i < t[k].n; i++)
            rd_kafka_topic_partition_list_add(l, t[k].name, t[k].id[i])->offset = t[k].end[i];
    bool ok = rd_kafka_assign(rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_destroy(l);
    return ok;
}

static int run_latency(rd_kafka_t *rk, const opts *o) {
    if (!assign_ends(rk, o->last))
        return 1;
    printf("{\"ready\":true}\n");
    fflush(stdout);
    double *lat = malloc((size_t)o->count * sizeof *lat);
    if (lat == NULL)
        return 1;
    size_t n = 0;
    long long records = 0, no_ts = 0;
    long long head = o->count / 100 > 0 ? o->count / 100 : 1;
    double head_max = 0; /* largest latency among the first 1% received */
    int64_t t0 = hf_mono_ms();
    while (records < o->count && hf_mono_ms() - t0 < o->timeout_ms) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            int64_t now = hf_wall_us();
            bool hdr;
            int64_t us = record_wall_us(m, &hdr);
            records++;
            if (hdr) {
                lat[n] = (double)(now - us) / 1000.0;
                if (records <= head && lat[n] > head_max)
                    head_max = lat[n];
                n++;
            } else {
                no_ts++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    qsort(lat, n, sizeof *lat, cmp_double);
    printf("{\"records\":%lld,\"without_ingest_ts\":%lld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"p999_ms\":%.3f,\"max_ms\":%.3f,\"head_max_ms\":%.3f}\n",
           records, no_ts, pct(lat, n, 0.50), pct(lat, n, 0.99), pct(lat, n, 0.999),
           n ? lat[n - 1] : 0.0, head_max);
    free(lat);
    rd_kafka_assign(rk, NULL);
    return records == o->count ? 0 : 3;
}

/* ---- dump / replay: records of a stage's input as a file ----------------- */

static bool put_blob(FILE *f, const void *p, size_t n) {
    uint32_t len = (uint32_t)n;
    return fwrite(&len, sizeof len, 1, f) == 1 && (n == 0 || fwrite(p, 1, n, f) == n);
}

static int run_dump(rd_kafka_t *rk, const opts *o) {
    FILE *f = fopen(o->file, "wb");
    if (f == NULL) {
        fprintf(stderr, "benchwatch: cannot write %s\n", o->file);
        return 1;
    }
    if (!assign_ends(rk, o->last)) {
        fclose(f);
        return 1;
    }
    printf("{\"ready\":true}\n");
    fflush(stdout);
    long long records = 0;
    bool ok = true;
    int64_t t0 = hf_mono_ms();
    while (ok && records < o->count && hf_mono_ms() - t0 < o->timeout_ms) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_t *h = NULL;
            size_t nh = rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR
                            ? rd_kafka_header_cnt(h)
                            : 0;
            uint32_t n32 = (uint32_t)nh;
            ok = put_blob(f, m->key, m->key_len) && put_blob(f, m->payload, m->len) &&
                 fwrite(&n32, sizeof n32, 1, f) == 1;
            for (size_t i = 0; ok && i < nh; i++) {
                const char *name;
                const void *v;
                size_t vlen;
                ok = rd_kafka_header_get_all(h, i, &name, &v, &vlen) ==
                         RD_KAFKA_RESP_ERR_NO_ERROR &&
                     put_blob(f, name, strlen(name)) && put_blob(f, v, vlen);
            }
            records++;
        }
        rd_kafka_message_destroy(m);
    }
    ok = fclose(f) == 0 && ok;
    printf("{\"records\":%lld}\n", records);
    rd_kafka_assign(rk, NULL);
    return ok && records == o->count ? 0 : 3;
}

/* Reads a length-prefixed blob at *pos of buf[0..len) (pointer into buf). */
static bool get_blob(const char *buf, size_t len, size_t *pos, const char **p, size_t *n) {
    uint32_t l;
    if (len - *pos < sizeof l)
        return false;
    memcpy(&l, buf + *pos, sizeof l);
    *pos += sizeof l;
    if (len - *pos < l)
        return false;
    *p = buf + *pos;
    *n = l;
    *pos += l;
    return true;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

static long g_dr_failed;

/* --typed: the topic of a record by its message_type header (the router's
 * default routes), or @p fallback. @p buf holds the name. */
static const char *typed_topic(const opts *o, rd_kafka_headers_t *h, char *buf, size_t cap) {
    static const char *const map[][2] = {{"ADT", "adt"}, {"ORM", "orm"}, {"OML", "orm"},
                                         {"ORU", "oru"}, {"OUL", "oru"}, {"DFT", "dft"},
                                         {"MDM", "mdm"}};
    const void *v = NULL;
    size_t vlen = 0;
    if (o->typed == NULL ||
        rd_kafka_header_get_last(h, HF_H_MESSAGE_TYPE, &v, &vlen) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        vlen < 3)
        return o->last;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (memcmp(v, map[i][0], 3) == 0) {
            snprintf(buf, cap, "%s%s", o->typed, map[i][1]);
            return buf;
        }
    return o->last;
}

static void replay_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        g_dr_failed++;
}

static int run_replay(const opts *o) {
    size_t len = 0, pos = 0;
    char *buf = slurp(o->file, &len);
    if (buf == NULL) {
        fprintf(stderr, "benchwatch: cannot read %s\n", o->file);
        return 1;
    }
    static const char *const defs[] = {"enable.idempotence", "true", "acks", "all",
                                       "partitioner", "murmur2_random", "linger.ms", "5", NULL};
    rd_kafka_conf_t *conf = NULL;
    hf_err err = {0};
    if (hf_kafka_conf_new(HF_KAFKA_PRODUCER, defs, NULL, &conf, &err) != HF_OK) {
        fprintf(stderr, "benchwatch: %s\n", err.msg);
        free(buf);
        return 1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, replay_dr);
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, "benchwatch: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        free(buf);
        return 1;
    }
    /* metadata first, as `hl7flow produce` does (no 1 s topic-scan wait) */
    hf_kafka_topic_partitions(rk, o->last, 10000, NULL, 0, NULL);
    long sent = 0;
    bool bad = false;
    int64_t t0 = hf_mono_ns();
    while (pos < len && !bad && (o->count <= 0 || sent < o->count)) {
        const char *key, *val;
        size_t klen, vlen;
        uint32_t nh;
        if (!get_blob(buf, len, &pos, &key, &klen) || !get_blob(buf, len, &pos, &val, &vlen) ||
            len - pos < sizeof nh) {
            bad = true;
            break;
        }
        memcpy(&nh, buf + pos, sizeof nh);
        pos += sizeof nh;
        if (o->rate > 0) {
            int64_t due = t0 + (int64_t)((double)sent * 1e9 / (double)o->rate);
            int64_t now = hf_mono_ns();
            if (due > now) {
                struct timespec ts = {(due - now) / 1000000000, (due - now) % 1000000000};
                nanosleep(&ts, NULL);
            }
        }
        rd_kafka_headers_t *h = rd_kafka_headers_new(nh + 1);
        char name[256];
        for (uint32_t i = 0; i < nh && !bad; i++) {
            const char *hn, *hv;
            size_t hnl, hvl;
            if (!get_blob(buf, len, &pos, &hn, &hnl) || !get_blob(buf, len, &pos, &hv, &hvl)) {
                bad = true;
                break;
            }
            snprintf(name, sizeof name, "%.*s", (int)hnl, hn);
            if (strcmp(name, HF_H_INGEST_TS) != 0)
                rd_kafka_header_add(h, name, -1, hv, (ssize_t)hvl);
        }
        char ts[64];
        hf_ts_format(hf_wall_us(), ts, sizeof ts);
        rd_kafka_header_add(h, HF_H_INGEST_TS, -1, ts, -1);
        char tbuf[256];
        const char *topic = typed_topic(o, h, tbuf, sizeof tbuf);
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__QUEUE_FULL;
        while (!bad && e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                  RD_KAFKA_V_KEY(klen ? key : NULL, klen),
                                  RD_KAFKA_V_VALUE((void *)val, vlen),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                rd_kafka_poll(rk, 10);
        }
        if (bad || e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(h);
            bad = true;
            break;
        }
        sent++;
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 60000);
    double secs = (double)(hf_mono_ns() - t0) / 1e9;
    printf("{\"sent\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"bad_file\":%s}\n", sent,
           g_dr_failed, secs, bad ? "true" : "false");
    rd_kafka_destroy(rk);
    free(buf);
    return !bad && g_dr_failed == 0 ? 0 : 3;
}

static void usage(FILE *out) {
    fprintf(out, "usage: benchwatch span --first T[,T...] --last T[,T...] --count N [--interval-ms N]"
                 " [--timeout-ms N]\n"
                 "       benchwatch latency --topic T[,T...] --count N [--timeout-ms N]\n"
                 "       benchwatch dump --topic T[,T...] --count N --out FILE [--timeout-ms N]\n"
                 "       benchwatch replay --topic T --in FILE [--rate MSGS_PER_S] [--count N]"
                 " [--typed PREFIX]\n"
                 "Kafka settings from KAFKA_* variables (KAFKA_BOOTSTRAP_SERVERS).\n");
}

int main(int argc, char **argv) {
    opts o = {.count = 0, .timeout_ms = 120000, .interval_ms = 2, .rate = 0};
    static const struct option lopts[] = {{"first", required_argument, 0, 'f'},
                                          {"last", required_argument, 0, 'l'},
                                          {"topic", required_argument, 0, 'l'},
                                          {"count", required_argument, 0, 'c'},
                                          {"timeout-ms", required_argument, 0, 't'},
                                          {"interval-ms", required_argument, 0, 'i'},
                                          {"out", required_argument, 0, 'o'},
                                          {"in", required_argument, 0, 'o'},
                                          {"rate", required_argument, 0, 'r'},
                                          {"typed", required_argument, 0, 'y'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    o.mode = argv[1];
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': o.first = optarg; break;
        case 'l': o.last = optarg; break;
        case 'c': o.count = atoll(optarg); break;
        case 't': o.timeout_ms = atoll(optarg); break;
        case 'i': o.interval_ms = atoll(optarg); break;
        case 'o': o.file = optarg; break;
        case 'r': o.rate = atoll(optarg); break;
        case 'y': o.typed = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    bool span = strcmp(o.mode, "span") == 0, latency = strcmp(o.mode, "latency") == 0;
    bool dump = strcmp(o.mode, "dump") == 0, replay = strcmp(o.mode, "replay") == 0;
    if ((!span && !latency && !dump && !replay) || o.last == NULL ||
        (span && o.first == NULL) || ((dump || replay) && o.file == NULL) ||
        (!replay && o.count <= 0) || o.rate < 0 || o.interval_ms < 0 || o.interval_ms > 1000 ||
        getenv("KAFKA_BOOTSTRAP_SERVERS") == NULL) {
        usage(stderr);
        return 2;
    }
    hf_log_init("benchwatch");
    hf_log_set_fd(2); /* stdout carries only the results */
    if (replay)
        return run_replay(&o);
    rd_kafka_t *rk = client_new(span ? "read_uncommitted" : "read_committed");
    if (rk == NULL)
        return 1;
    int rc = span ? run_span(rk, &o) : latency ? run_latency(rk, &o) : run_dump(rk, &o);
    rd_kafka_destroy(rk);
    return rc;
}
