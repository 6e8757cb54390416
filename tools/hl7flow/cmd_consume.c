/* cmd_consume.c - `hl7flow consume`: reads topics and prints records as
 * JSON lines, a count per topic, or the end-to-end latency distribution
 * (now minus each record's ingest_ts header). Tests, the demo and the
 * benchmarks read topics back with it.
 *
 * JSON values are lossless for binary data: bytes 0x20..0x7e print as
 * themselves, every other byte as \u00XX, so value.encode('latin-1') in
 * Python gives back the exact bytes. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_kafka.h"
#include "commands.h"
#include "hl7flow/headers.h"
#include "hl7flow/kafka.h"
#include "hl7flow/timeutil.h"

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

enum { FMT_JSON, FMT_COUNT, FMT_LATENCY };

static void put_json_bytes(FILE *out, const unsigned char *p, size_t n) {
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, out);
        else
            fprintf(out, "\\u%04x", c);
    }
    fputc('"', out);
}

static void print_record(FILE *out, const rd_kafka_message_t *m) {
    fprintf(out, "{\"topic\":");
    put_json_bytes(out, (const unsigned char *)rd_kafka_topic_name(m->rkt),
                   strlen(rd_kafka_topic_name(m->rkt)));
    fprintf(out, ",\"partition\":%d,\"offset\":%lld,\"key\":", (int)m->partition,
            (long long)m->offset);
    if (m->key != NULL)
        put_json_bytes(out, m->key, m->key_len);
    else
        fputs("null", out);
    fputs(",\"value\":", out);
    if (m->payload != NULL)
        put_json_bytes(out, m->payload, m->len);
    else
        fputs("null", out);
    fputs(",\"headers\":[", out);
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h != NULL) {
        const char *name;
        const void *val;
        size_t vlen;
        for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &vlen) ==
                           RD_KAFKA_RESP_ERR_NO_ERROR;
             i++) {
            fputs(i ? ",[" : "[", out);
            put_json_bytes(out, (const unsigned char *)name, strlen(name));
            fputc(',', out);
            if (val != NULL)
                put_json_bytes(out, val, vlen);
            else
                fputs("null", out);
            fputc(']', out);
        }
    }
    fputs("]}\n", out);
}

typedef struct topic_count {
    char name[256];
    long n;
} topic_count;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p) {
    if (n == 0)
        return 0;
    size_t i = (size_t)ceil(p * (double)n) - 1;
    return v[i >= n ? n - 1 : i];
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: hl7flow consume --topic T[,T...] [--group G] [--eof] [--count N]\n"
            "                       [--idle-ms N] [--timeout-ms N] [--format json|count|latency]\n"
            "                       [--read-uncommitted]\n"
            "Without --group every partition is read from the beginning (no commits);\n"
            "with --group the group's committed offsets are used and advanced.\n"
            "Stops at --count records, at the end of every partition (--eof), after\n"
            "--idle-ms without a record (default 10000), or after --timeout-ms.\n"
            "json: one line per record {topic,partition,offset,key,value,headers:[[k,v]..]}\n"
            "count: {\"records\":N,\"topics\":{..}}   latency: percentiles of now - ingest_ts.\n");
}

int cmd_consume(int argc, char **argv) {
    const char *topics = NULL, *group = NULL;
    int64_t count = 0, idle_ms = 10000, timeout_ms = 0;
    int fmt = FMT_JSON;
    bool eof = false, uncommitted = false;
    static const struct option opts[] = {{"topic", required_argument, 0, 't'},
                                         {"group", required_argument, 0, 'g'},
                                         {"eof", no_argument, 0, 'e'},
                                         {"count", required_argument, 0, 'c'},
                                         {"idle-ms", required_argument, 0, 'i'},
                                         {"timeout-ms", required_argument, 0, 'T'},
                                         {"format", required_argument, 0, 'f'},
                                         {"read-uncommitted", no_argument, 0, 'u'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "t:g:ec:i:T:f:uh", opts, NULL)) != -1) {
        switch (c) {
        case 't': topics = optarg; break;
        case 'g': group = optarg; break;
        case 'e': eof = true; break;
        case 'c':
            if (!cli_parse_i64("--count", optarg, 1, INT64_MAX, &count))
                return 2;
            break;
        case 'i':
            if (!cli_parse_i64("--idle-ms", optarg, 1, 86400000, &idle_ms))
                return 2;
            break;
        case 'T':
            if (!cli_parse_i64("--timeout-ms", optarg, 1, 86400000, &timeout_ms))
                return 2;
            break;
        case 'f':
            if (strcmp(optarg, "json") == 0)
                fmt = FMT_JSON;
            else if (strcmp(optarg, "count") == 0)
                fmt = FMT_COUNT;
            else if (strcmp(optarg, "latency") == 0)
                fmt = FMT_LATENCY;
            else {
                fprintf(stderr, "--format: '%s' is not one of json|count|latency\n", optarg);
                return 2;
            }
            break;
        case 'u': uncommitted = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (topics == NULL) {
        fprintf(stderr, "consume: --topic is required\n");
        return 2;
    }
    char gbuf[128];
    if (group == NULL) {
        snprintf(gbuf, sizeof gbuf, "hl7flow-consume-%lld", (long long)hf_wall_us());
    }
    const char *defs[] = {"group.id", group ? group : gbuf,
                          "enable.auto.commit", group ? "true" : "false",
                          "auto.offset.reset", "earliest",
                          "enable.partition.eof", "true",
                          "isolation.level", uncommitted ? "read_uncommitted" : "read_committed",
                          NULL};
    rd_kafka_t *rk = cli_kafka_new(RD_KAFKA_CONSUMER, defs, NULL);
    if (rk == NULL)
        return 1;
    rd_kafka_poll_set_consumer(rk);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    rd_kafka_topic_partition_list_t *want = rd_kafka_topic_partition_list_new(16);
    char *list = strdup(topics), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        if (group != NULL) {
            rd_kafka_topic_partition_list_add(want, t, RD_KAFKA_PARTITION_UA);
            continue;
        }
        int32_t ids[CLI_MAX_PARTITIONS];
        int nids = 0;
        rd_kafka_resp_err_t err =
            hf_kafka_topic_partitions(rk, t, 10000, ids, CLI_MAX_PARTITIONS, &nids);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "consume: no metadata for topic %s: %s\n", t, rd_kafka_err2str(err));
            rc = 1;
            continue;
        }
        for (int p = 0; p < nids && p < CLI_MAX_PARTITIONS; p++)
            rd_kafka_topic_partition_list_add(want, t, ids[p])->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    free(list);
    if (rc != 0) {
        rd_kafka_topic_partition_list_destroy(want);
        rd_kafka_destroy(rk);
        return rc;
    }
    if (group != NULL)
        rd_kafka_subscribe(rk, want);
    else
        rd_kafka_assign(rk, want);
    int nparts = want->cnt;
    char *at_eof = calloc((size_t)(nparts > 0 ? nparts : 1), 1);

    topic_count counts[64];
    size_t ntopics = 0;
    size_t lat_cap = 1 << 16, nlat = 0;
    double *lat = fmt == FMT_LATENCY ? malloc(lat_cap * sizeof *lat) : NULL;
    long records = 0, no_ts = 0;
    int64_t start = hf_mono_ms(), last = start;
    while (!g_stop) {
        int64_t now = hf_mono_ms();
        if (now - last > idle_ms || (timeout_ms > 0 && now - start > timeout_ms))
            break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (group == NULL) {
                for (int i = 0; i < nparts; i++)
                    if (want->elems[i].partition == m->partition &&
                        strcmp(want->elems[i].topic, rd_kafka_topic_name(m->rkt)) == 0)
                        at_eof[i] = 1;
                int done = 0;
                for (int i = 0; i < nparts; i++)
                    done += at_eof[i];
                if (eof && done == nparts) {
                    rd_kafka_message_destroy(m);
                    break;
                }
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        last = hf_mono_ms();
        int64_t now_us = hf_wall_us();
        records++;
        if (group == NULL)
            for (int i = 0; i < nparts; i++)
                if (want->elems[i].partition == m->partition &&
                    strcmp(want->elems[i].topic, rd_kafka_topic_name(m->rkt)) == 0)
                    at_eof[i] = 0;
        if (fmt == FMT_JSON) {
            print_record(stdout, m);
        } else if (fmt == FMT_COUNT) {
            const char *t = rd_kafka_topic_name(m->rkt);
            size_t i = 0;
            while (i < ntopics && strcmp(counts[i].name, t) != 0)
                i++;
            if (i == ntopics && ntopics < 64) {
                snprintf(counts[ntopics].name, sizeof counts[0].name, "%s", t);
                counts[ntopics++].n = 0;
            }
            if (i < ntopics)
                counts[i].n++;
        } else {
            rd_kafka_headers_t *h = NULL;
            const void *v = NULL;
            size_t vlen = 0;
            int64_t ts;
            if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                rd_kafka_header_get_last(h, HF_H_INGEST_TS, &v, &vlen) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                hf_ts_parse(v, vlen, &ts)) {
                if (nlat == lat_cap) {
                    double *nl = realloc(lat, 2 * lat_cap * sizeof *lat);
                    if (nl != NULL) {
                        lat = nl;
                        lat_cap *= 2;
                    }
                }
                if (nlat < lat_cap)
                    lat[nlat++] = (double)(now_us - ts) / 1000.0;
            } else {
                no_ts++;
            }
        }
        rd_kafka_message_destroy(m);
        if (count > 0 && records >= count)
            break;
    }
    if (fmt == FMT_COUNT) {
        printf("{\"records\":%ld,\"topics\":{", records);
        for (size_t i = 0; i < ntopics; i++)
            printf("%s\"%s\":%ld", i ? "," : "", counts[i].name, counts[i].n);
        printf("}}\n");
    } else if (fmt == FMT_LATENCY) {
        qsort(lat, nlat, sizeof *lat, cmp_double);
        printf("{\"records\":%ld,\"without_ingest_ts\":%ld,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
               "\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
               records, no_ts, pct(lat, nlat, 0.50), pct(lat, nlat, 0.99), pct(lat, nlat, 0.999),
               nlat ? lat[nlat - 1] : 0.0);
    }
    fflush(stdout);
    free(lat);
    free(at_eof);
    rd_kafka_topic_partition_list_destroy(want);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (count > 0 && records < count) {
        fprintf(stderr, "consume: got %ld of %lld records\n", records, (long long)count);
        return 3;
    }
    return 0;
}
