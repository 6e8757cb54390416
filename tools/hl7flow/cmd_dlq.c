/* cmd_dlq.c - `hl7flow dlq`: find, inspect and replay dead-lettered
 * records (DESIGN.md's hl7.dlq with its dlq.* headers).
 *
 *   list     one line per record (or --json), filtered by stage, class,
 *            source topic, control id and dlq.ts time range
 *   show ID  every header, then the record: raw HL7 as text (the record's
 *            raw field for Avro records, decoded with the registry)
 *   replay   sends the selected records back to their source topic with
 *            their original key, value and headers, dlq.* removed and
 *            dlq.replay_count incremented (a loop shows as a growing count)
 *   summary  counts by class and stage
 * A record's ID is PARTITION:OFFSET in the DLQ topic. The DLQ is read from
 * its start to the end it has when the command starts, without a consumer
 * group (nothing is committed). Kafka settings: KAFKA_* as everywhere. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_kafka.h"
#include "commands.h"
#include "hl7flow/dlq.h"
#include "hl7flow/headers.h"
#include "hl7flow/kafka.h"
#include "hl7flow/record.h"
#include "hl7flow/record_reader.h"
#include "hl7flow/registry.h"
#include "hl7flow/timeutil.h"

#define MAX_IDS 256

typedef struct dlq_filter {
    const char *stage, *cls, *source_topic, *control_id;
    int64_t since_us, until_us; /* 0: open */
    int32_t id_part[MAX_IDS];
    int64_t id_off[MAX_IDS];
    int nids;
    int64_t limit;
} dlq_filter;

typedef struct dlq_opts {
    const char *topic;
    const char *to_topic;
    bool json, dry_run;
    dlq_filter f;
} dlq_opts;

static void usage(FILE *out) {
    fprintf(out,
            "usage: hl7flow dlq list|show ID|replay|summary [options]\n"
            "  --topic T          dead-letter topic (default hl7.dlq)\n"
            "  --stage S          only records a stage dead-lettered (parser, sink-postgres, ...)\n"
            "  --class C          only this error class (parse, schema, sink, ...)\n"
            "  --source-topic T   only records read from T\n"
            "  --control-id ID    only this MSH-10\n"
            "  --since TS / --until TS   dlq.ts range, RFC 3339 UTC (2026-11-21T23:25:20Z)\n"
            "  --id P:O           this record (repeatable; replay and list)\n"
            "  --limit N          at most N records\n"
            "  --json             list: JSON lines with every header\n"
            "  --to T             replay: send to T instead of dlq.source_topic\n"
            "  --dry-run          replay: print what would be sent\n"
            "ID = PARTITION:OFFSET in the DLQ topic, as `list` prints it.\n");
}

static bool parse_id(const char *s, int32_t *p, int64_t *o) {
    const char *c = strchr(s, ':');
    if (c == NULL)
        return false;
    char part[16];
    size_t n = (size_t)(c - s);
    if (n == 0 || n >= sizeof part)
        return false;
    memcpy(part, s, n);
    part[n] = '\0';
    int64_t pv;
    if (!hf_parse_i64(part, &pv) || pv < 0 || pv > INT32_MAX || !hf_parse_i64(c + 1, o) || *o < 0)
        return false;
    *p = (int32_t)pv;
    return true;
}

static const char *hdr(const rd_kafka_message_t *m, const char *name, char *buf, size_t cap) {
    rd_kafka_headers_t *h = NULL;
    buf[0] = '\0';
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h != NULL)
        hf_kafka_header_str(h, name, buf, cap);
    return buf;
}

static bool matches(const dlq_filter *f, const rd_kafka_message_t *m) {
    char b[512];
    if (f->nids > 0) {
        bool any = false;
        for (int i = 0; i < f->nids && !any; i++)
            any = f->id_part[i] == m->partition && f->id_off[i] == m->offset;
        if (!any)
            return false;
    }
    if (f->stage && strcmp(hdr(m, HF_H_DLQ_STAGE, b, sizeof b), f->stage) != 0)
        return false;
    if (f->cls && strcmp(hdr(m, HF_H_DLQ_CLASS, b, sizeof b), f->cls) != 0)
        return false;
    if (f->source_topic && strcmp(hdr(m, HF_H_DLQ_TOPIC, b, sizeof b), f->source_topic) != 0)
        return false;
    if (f->control_id && strcmp(hdr(m, HF_H_CONTROL_ID, b, sizeof b), f->control_id) != 0)
        return false;
    if (f->since_us || f->until_us) {
        int64_t ts;
        hdr(m, HF_H_DLQ_TS, b, sizeof b);
        if (!hf_ts_parse(b, strlen(b), &ts))
            return false;
        if ((f->since_us && ts < f->since_us) || (f->until_us && ts > f->until_us))
            return false;
    }
    return true;
}

/* Calls @p fn for every matching record of the DLQ up to its current end.
 * Returns the number of matches, or -1 on a Kafka error. */
typedef void (*visit_fn)(const rd_kafka_message_t *m, void *arg);

static long scan(const dlq_opts *o, visit_fn fn, void *arg) {
    char gid[64];
    snprintf(gid, sizeof gid, "hl7flow-dlq-%lld", (long long)hf_wall_us());
    const char *defs[] = {"group.id", gid, "enable.auto.commit", "false",
                          "enable.partition.eof", "true", "isolation.level", "read_committed", NULL};
    rd_kafka_t *rk = cli_kafka_new(RD_KAFKA_CONSUMER, defs, NULL);
    if (rk == NULL)
        return -1;
    int32_t ids[CLI_MAX_PARTITIONS];
    int n = 0;
    rd_kafka_resp_err_t e = hf_kafka_topic_partitions(rk, o->topic, 10000, ids, CLI_MAX_PARTITIONS, &n);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "hl7flow dlq: %s: %s\n", o->topic, rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return -1;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    int64_t *end = calloc((size_t)n + 1, sizeof *end);
    int left = 0;
    for (int i = 0; i < n; i++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, o->topic, ids[i], &lo, &hi, 10000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
            hi = 0;
        end[i] = hi;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(l, o->topic, ids[i])->offset = lo;
            left++;
        }
    }
    rd_kafka_assign(rk, l);
    long matched = 0;
    int64_t idle_until = hf_mono_ms() + 30000;
    while (left > 0 && (o->f.limit <= 0 || matched < o->f.limit) && hf_mono_ms() < idle_until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (m == NULL)
            continue;
        idle_until = hf_mono_ms() + 30000;
        int k = 0;
        while (k < n && ids[k] != m->partition)
            k++;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (k < n && end[k] >= 0) {
                end[k] = -1;
                left--;
            }
        } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && k < n && end[k] >= 0) {
            if (matches(&o->f, m)) {
                fn(m, arg);
                matched++;
            }
            if (m->offset + 1 >= end[k]) {
                end[k] = -1;
                left--;
            }
        }
        rd_kafka_message_destroy(m);
    }
    if (left > 0 && (o->f.limit <= 0 || matched < o->f.limit))
        fprintf(stderr, "hl7flow dlq: stopped before the end of %d partition(s) (no data for 30 s)\n",
                left);
    rd_kafka_topic_partition_list_destroy(l);
    free(end);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return matched;
}

/* ---- list --------------------------------------------------------------- */

static void json_str(const char *s, size_t n) {
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_line(const rd_kafka_message_t *m, void *arg) {
    const dlq_opts *o = arg;
    if (o->json) {
        printf("{\"id\":\"%d:%lld\",\"headers\":{", (int)m->partition, (long long)m->offset);
        rd_kafka_headers_t *h = NULL;
        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h != NULL) {
            const char *name;
            const void *val;
            size_t len;
            for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &len) == 0; i++) {
                if (i)
                    putchar(',');
                json_str(name, strlen(name));
                putchar(':');
                if (val == NULL)
                    printf("null");
                else
                    json_str(val, len);
            }
        }
        printf("},\"value_bytes\":%zu}\n", m->len);
        return;
    }
    char ts[64], st[64], cl[64], tp[256], pa[16], of[32], ct[128], er[512];
    printf("%d:%lld\t%s\t%s\t%s\t%s[%s]@%s\t%s\t%s\n", (int)m->partition, (long long)m->offset,
           hdr(m, HF_H_DLQ_TS, ts, sizeof ts), hdr(m, HF_H_DLQ_STAGE, st, sizeof st),
           hdr(m, HF_H_DLQ_CLASS, cl, sizeof cl), hdr(m, HF_H_DLQ_TOPIC, tp, sizeof tp),
           hdr(m, HF_H_DLQ_PARTITION, pa, sizeof pa), hdr(m, HF_H_DLQ_OFFSET, of, sizeof of),
           hdr(m, HF_H_CONTROL_ID, ct, sizeof ct), hdr(m, HF_H_DLQ_ERROR, er, sizeof er));
}

/* ---- show --------------------------------------------------------------- */

static void print_text(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        putchar(p[i] == '\r' ? '\n' : p[i]);
    if (n > 0 && p[n - 1] != '\r' && p[n - 1] != '\n')
        putchar('\n');
}

static void show_record(const rd_kafka_message_t *m, void *arg) {
    (void)arg;
    printf("id: %d:%lld\n", (int)m->partition, (long long)m->offset);
    if (m->key != NULL) {
        printf("key: ");
        print_text(m->key, m->key_len);
    }
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h != NULL) {
        const char *name;
        const void *val;
        size_t len;
        for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &len) == 0; i++)
            printf("header %s: %.*s\n", name, (int)len, val ? (const char *)val : "");
    }
    const char *v = m->payload;
    char topic[256];
    hdr(m, HF_H_DLQ_TOPIC, topic, sizeof topic);
    /* Raw HL7 (hl7.raw.ingest, or anything not in the registry framing). */
    if (v == NULL || m->len == 0 || v[0] != 0 || strcmp(topic, "hl7.raw.ingest") == 0) {
        printf("-- raw HL7 (%zu bytes) --\n", m->len);
        if (v != NULL)
            print_text(v, m->len);
        return;
    }
    hf_registry *reg = NULL;
    hf_rec_reader *rd = NULL;
    hf_rec_ctx *ctx = hf_rec_ctx_new();
    hf_rec *rec = NULL;
    hf_err err = {0};
    hf_rec_form form = strcmp(topic, "hl7.validated") == 0 ? HF_REC_VALIDATED : HF_REC_STAGED;
    if (ctx != NULL && hf_registry_open_env(NULL, &reg, &err) == HF_OK &&
        hf_rec_reader_new(reg, topic, form, &rd, &err) == HF_OK &&
        hf_rec_reader_read(rd, ctx, v, m->len, NULL, 0, &rec, &err) == HF_OK) {
        hf_rec_buf out = {0};
        if (hf_rec_to_json(rec, form, true, &out) == HF_OK)
            printf("-- record (%s) --\n%.*s\n", topic, (int)out.len, out.p);
        out.len = 0;
        if (hf_rec_message_bytes(rec, &out) == HF_OK) {
            printf("-- raw HL7 (%zu bytes) --\n", out.len);
            print_text(out.p, out.len);
        }
        hf_rec_buf_free(&out);
    } else {
        printf("-- value: %zu bytes, not decoded (%s) --\n", m->len, err.msg);
        for (size_t i = 0; i < m->len && i < 512; i++)
            printf("%02x%s", (unsigned char)v[i], (i % 32 == 31) ? "\n" : "");
        printf("\n");
    }
    hf_rec_reader_destroy(rd);
    hf_registry_close(reg);
    hf_rec_ctx_destroy(ctx);
}

/* ---- replay ------------------------------------------------------------- */

typedef struct replay_ctx {
    const dlq_opts *o;
    rd_kafka_t *producer;
    long sent, failed;
} replay_ctx;

static void replay_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    replay_ctx *c = opaque;
    if (m->err)
        c->failed++;
}

static void replay_one(const rd_kafka_message_t *m, void *arg) {
    replay_ctx *c = arg;
    char topic[256], cnt[32];
    hdr(m, HF_H_DLQ_TOPIC, topic, sizeof topic);
    const char *to = c->o->to_topic ? c->o->to_topic : topic;
    int64_t n = 0;
    hdr(m, HF_H_DLQ_REPLAY_COUNT, cnt, sizeof cnt);
    if (!hf_parse_i64(cnt, &n))
        n = 0;
    snprintf(cnt, sizeof cnt, "%lld", (long long)n + 1);
    if (to[0] == '\0') {
        fprintf(stderr, "hl7flow dlq: %d:%lld has no dlq.source_topic; use --to\n", (int)m->partition,
                (long long)m->offset);
        c->failed++;
        return;
    }
    printf("%s %d:%lld -> %s (replay %s)\n", c->o->dry_run ? "would send" : "send", (int)m->partition,
           (long long)m->offset, to, cnt);
    if (c->o->dry_run)
        return;
    rd_kafka_headers_t *in = NULL, *h = rd_kafka_headers_new(8);
    if (rd_kafka_message_headers(m, &in) == RD_KAFKA_RESP_ERR_NO_ERROR && in != NULL) {
        const char *name;
        const void *val;
        size_t len;
        for (size_t i = 0; rd_kafka_header_get_all(in, i, &name, &val, &len) == 0; i++)
            if (strncmp(name, "dlq.", 4) != 0)
                rd_kafka_header_add(h, name, -1, val, (ssize_t)len);
    }
    rd_kafka_header_add(h, HF_H_DLQ_REPLAY_COUNT, -1, cnt, -1);
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            c->producer, RD_KAFKA_V_TOPIC(to), RD_KAFKA_V_KEY(m->key, m->key_len),
            RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(c->producer, 50);
            continue;
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_headers_destroy(h);
            fprintf(stderr, "hl7flow dlq: produce to %s: %s\n", to, rd_kafka_err2str(e));
            c->failed++;
        } else {
            c->sent++;
        }
        break;
    }
}

/* ---- summary ------------------------------------------------------------ */

#define MAX_GROUPS 256

typedef struct summary {
    char key[MAX_GROUPS][128];
    long n[MAX_GROUPS];
    int ng;
} summary;

static void count_one(const rd_kafka_message_t *m, void *arg) {
    summary *s = arg;
    char st[64], cl[64], key[128];
    snprintf(key, sizeof key, "%s\t%s", hdr(m, HF_H_DLQ_CLASS, cl, sizeof cl),
             hdr(m, HF_H_DLQ_STAGE, st, sizeof st));
    for (int i = 0; i < s->ng; i++)
        if (strcmp(s->key[i], key) == 0) {
            s->n[i]++;
            return;
        }
    if (s->ng < MAX_GROUPS) {
        snprintf(s->key[s->ng], sizeof s->key[0], "%s", key);
        s->n[s->ng++] = 1;
    }
}

/* ---- main --------------------------------------------------------------- */

int cmd_dlq(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    dlq_opts o;
    memset(&o, 0, sizeof o);
    o.topic = "hl7.dlq";
    static const struct option opts[] = {
        {"topic", required_argument, 0, 't'},  {"stage", required_argument, 0, 's'},
        {"class", required_argument, 0, 'c'},  {"source-topic", required_argument, 0, 'S'},
        {"control-id", required_argument, 0, 'C'}, {"since", required_argument, 0, 'a'},
        {"until", required_argument, 0, 'b'},  {"id", required_argument, 0, 'i'},
        {"limit", required_argument, 0, 'l'},  {"json", no_argument, 0, 'j'},
        {"to", required_argument, 0, 'T'},     {"dry-run", no_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': o.topic = optarg; break;
        case 's': o.f.stage = optarg; break;
        case 'c': o.f.cls = optarg; break;
        case 'S': o.f.source_topic = optarg; break;
        case 'C': o.f.control_id = optarg; break;
        case 'a':
        case 'b': {
            int64_t us;
            if (!hf_ts_parse(optarg, strlen(optarg), &us)) {
                fprintf(stderr, "hl7flow dlq: --%s: '%s' is not RFC 3339 UTC\n",
                        c == 'a' ? "since" : "until", optarg);
                return 2;
            }
            if (c == 'a')
                o.f.since_us = us;
            else
                o.f.until_us = us;
            break;
        }
        case 'i':
            if (o.f.nids == MAX_IDS || !parse_id(optarg, &o.f.id_part[o.f.nids], &o.f.id_off[o.f.nids])) {
                fprintf(stderr, "hl7flow dlq: --id: '%s' is not PARTITION:OFFSET\n", optarg);
                return 2;
            }
            o.f.nids++;
            break;
        case 'l':
            if (!cli_parse_i64("--limit", optarg, 1, INT64_MAX, &o.f.limit))
                return 2;
            break;
        case 'j': o.json = true; break;
        case 'T': o.to_topic = optarg; break;
        case 'n': o.dry_run = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int rest = optind + 1; /* index in argv */
    if (strcmp(sub, "list") == 0) {
        return scan(&o, print_line, &o) < 0 ? 1 : 0;
    }
    if (strcmp(sub, "show") == 0) {
        if (rest >= argc || o.f.nids > 0 ||
            !parse_id(argv[rest], &o.f.id_part[0], &o.f.id_off[0])) {
            fprintf(stderr, "usage: hl7flow dlq show PARTITION:OFFSET\n");
            return 2;
        }
        o.f.nids = 1;
        long n = scan(&o, show_record, NULL);
        if (n == 0)
            fprintf(stderr, "hl7flow dlq: no record %s in %s\n", argv[rest], o.topic);
        return n == 1 ? 0 : 1;
    }
    if (strcmp(sub, "summary") == 0) {
        summary *s = calloc(1, sizeof *s);
        if (s == NULL)
            return 1;
        long n = scan(&o, count_one, s);
        if (n >= 0) {
            printf("%-12s %-16s %8s\n", "class", "stage", "records");
            for (int i = 0; i < s->ng; i++) {
                char *tab = strchr(s->key[i], '\t');
                *tab = '\0';
                printf("%-12s %-16s %8ld\n", s->key[i], tab + 1, s->n[i]);
            }
            printf("%-12s %-16s %8ld\n", "total", "", n);
        }
        free(s);
        return n < 0 ? 1 : 0;
    }
    if (strcmp(sub, "replay") == 0) {
        if (!o.f.stage && !o.f.cls && !o.f.source_topic && !o.f.control_id && !o.f.nids &&
            !o.f.since_us && !o.f.until_us) {
            fprintf(stderr, "hl7flow dlq replay: select records (--id, --stage, --class, ...); "
                            "replaying the whole DLQ needs --stage or --class\n");
            return 2;
        }
        replay_ctx rc = {&o, NULL, 0, 0};
        if (!o.dry_run) {
            const char *pdefs[] = {"enable.idempotence", "true", "acks", "all",
                                   "partitioner", "murmur2_random", NULL};
            rd_kafka_conf_t *conf = NULL;
            hf_err err = {0};
            if (hf_kafka_conf_new(HF_KAFKA_PRODUCER, pdefs, NULL, &conf, &err) != HF_OK) {
                fprintf(stderr, "%s\n", err.msg);
                return 2;
            }
            rd_kafka_conf_set_opaque(conf, &rc);
            rd_kafka_conf_set_dr_msg_cb(conf, replay_dr);
            char errstr[512];
            rc.producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
            if (rc.producer == NULL) {
                rd_kafka_conf_destroy(conf);
                fprintf(stderr, "kafka: %s\n", errstr);
                return 1;
            }
        }
        long n = scan(&o, replay_one, &rc);
        if (rc.producer != NULL) {
            if (rd_kafka_flush(rc.producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                rc.failed += rd_kafka_outq_len(rc.producer);
            rd_kafka_destroy(rc.producer);
        }
        printf("%s %ld of %ld selected, %ld failed\n", o.dry_run ? "would replay" : "replayed",
               o.dry_run ? n : rc.sent - rc.failed, n < 0 ? 0 : n, rc.failed);
        return n < 0 || rc.failed > 0 ? 1 : 0;
    }
    fprintf(stderr, "hl7flow dlq: unknown command '%s'\n", sub);
    usage(stderr);
    return 2;
}
