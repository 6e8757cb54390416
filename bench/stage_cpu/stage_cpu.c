/* stage_cpu.c - CPU per record of the enricher's and the router's
 * transforms without Kafka: the stage's own work (decode, enrich or hash
 * and route, encode, hand to the output collector), none of the client's.
 *
 * Input: the first N messages of gen.h (seed 1, --facilities 24, no
 * malformed share, v2.5.1: what bench/stage_bench.py feeds), parsed and
 * built like the parser service does and encoded as hl7.validated records
 * (framed with the schema id of the file registry, schemas/avro). The
 * enricher's outputs are the router's inputs. Settings: the defaults of
 * the services (config/facilities.dev.json, config/codemaps, the default
 * routes), ENRICHER_UNKNOWN_FACILITY=pass like the stage benchmark.
 *
 * The wall clock is fixed (clock_gettime is wrapped at link time, see
 * run.sh) so enriched_ts, and with it every output byte, is the same in
 * every run: -o writes the outputs for a byte comparison of two builds.
 *
 * usage: stage_cpu [-n MESSAGES] [-t SECONDS] [-m enricher|router]
 *                  [-p PASSES] [-o FILE]
 *   prints ns per record (median of 5 runs of about SECONDS each) per
 *   stage; -p: PASSES passes over the records of the -m stage and nothing
 *   printed (for perf stat / perf record); -o: writes every output
 *   (topic, key, value; length-prefixed) of one pass of both stages.
 * Run from the repository root (paths above are relative).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emit_internal.h" /* the output collector's layout (common/src) */
#include "enricher.h"
#include "hl7flow/gen.h"
#include "hl7flow/hl7.h"
#include "hl7flow/log.h"
#include "hl7flow/record.h"
#include "router.h"

#define RUNS 5

int __real_clock_gettime(clockid_t clk, struct timespec *ts);
int __wrap_clock_gettime(clockid_t clk, struct timespec *ts);

/* CLOCK_REALTIME is fixed at 2026-01-01T00:00:00Z; the rest are real. */
int __wrap_clock_gettime(clockid_t clk, struct timespec *ts) {
    if (clk == CLOCK_REALTIME) {
        ts->tv_sec = 1767225600;
        ts->tv_nsec = 0;
        return 0;
    }
    return __real_clock_gettime(clk, ts);
}

static double now_s(void) {
    struct timespec ts;
    __real_clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what) {
    fprintf(stderr, "stage_cpu: %s\n", what);
    exit(1);
}

/* A stage's input records (owned copies). */
typedef struct recs {
    char **v;
    size_t *len;
    size_t n;
} recs;

static void recs_add(recs *r, const void *p, size_t len) {
    r->v = realloc(r->v, (r->n + 1) * sizeof *r->v);
    r->len = realloc(r->len, (r->n + 1) * sizeof *r->len);
    if (r->v == NULL || r->len == NULL || (r->v[r->n] = malloc(len ? len : 1)) == NULL)
        fail("out of memory");
    memcpy(r->v[r->n], p, len);
    r->len[r->n++] = len;
}

static void recs_free(recs *r) {
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i]);
    free(r->v);
    free(r->len);
}

/* hl7.validated records of the first @p n generated messages. */
static void make_input(hf_registry *reg, size_t n, recs *out) {
    uint32_t schema_id = 0;
    hf_err err = {0};
    if (hf_rec_output_schema(reg, "hl7.validated", HF_REC_VALIDATED, &schema_id, &err) != HF_OK)
        fail(err.msg);
    hf_gen_opts opts;
    hf_gen_opts_default(&opts);
    opts.seed = 1;
    opts.facilities = 24;
    opts.malformed_bp = 0;
    hf_gen *gen = NULL;
    hf_hl7_msg *msg = hf_hl7_msg_new();
    hf_rec_ctx *rc = hf_rec_ctx_new();
    hf_rec_buf buf = {0};
    if (msg == NULL || rc == NULL || hf_gen_new(&opts, &gen, NULL) != HF_OK)
        fail("generator");
    while (out->n < n) {
        hf_gen_msg gm;
        if (hf_gen_next(gen, &gm) != HF_OK)
            fail("generator");
        hf_rec *rec = NULL;
        hf_rec_meta meta = {.ingest_ts = 1767225600000000 + (int64_t)gm.index};
        if (hf_hl7_parse_into(msg, (hf_span){gm.data, gm.len}, NULL, NULL) != HF_OK ||
            hf_rec_build(rc, msg, &meta, &rec, NULL) != HF_OK)
            continue; /* the parser would dead-letter it */
        buf.len = 0;
        if (hf_wire_put_header(&buf, schema_id) != HF_OK ||
            hf_rec_encode(rec, HF_REC_VALIDATED, &buf) != HF_OK)
            fail("encode");
        recs_add(out, buf.p, buf.len);
    }
    hf_rec_buf_free(&buf);
    hf_rec_ctx_destroy(rc);
    hf_hl7_msg_destroy(msg);
    hf_gen_destroy(gen);
}

/* One pass of @p fn over @p in; outputs go to @p keep (NULL: dropped) and
 * to @p dump (NULL: none). Returns the number of outputs. */
static size_t pass(hf_transform_fn fn, void *ctx, const recs *in, hf_emit *em, recs *keep,
                   FILE *dump) {
    size_t outs = 0;
    for (size_t i = 0; i < in->n; i++) {
        hf_record r = {.topic = "in", .offset = (int64_t)i, .timestamp_ms = 1767225600000,
                       .key = "k", .key_len = 1, .value = in->v[i], .value_len = in->len[i]};
        hf_dlq_reason why;
        hf_emit_reset(em);
        hf_status st = fn(ctx, &r, em, &why);
        if (st == HF_ESYNTAX)
            continue; /* a DLQ verdict: nothing to keep */
        if (st != HF_OK)
            fail("transform failed");
        for (size_t k = 0; k < em->nout; k++) {
            const hf_emit_out *o = &em->out[k];
            outs++;
            if (keep != NULL)
                recs_add(keep, em->arena + o->value_off, o->value_len);
            if (dump != NULL) {
                const char *topic = em->arena + o->topic_off;
                uint32_t l[3] = {(uint32_t)strlen(topic), (uint32_t)o->key_len,
                                 (uint32_t)o->value_len};
                fwrite(l, sizeof l, 1, dump);
                fwrite(topic, 1, l[0], dump);
                fwrite(em->arena + o->key_off, 1, l[1], dump);
                fwrite(em->arena + o->value_off, 1, l[2], dump);
            }
        }
    }
    return outs;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ns per input record of RUNS runs of about @p secs each. */
static double timed(hf_transform_fn fn, void *ctx, const recs *in, hf_emit *em, double secs) {
    double r[RUNS];
    for (int k = 0; k < RUNS; k++) {
        size_t done = 0;
        double t0 = now_s(), t;
        do {
            pass(fn, ctx, in, em, NULL, NULL);
            done += in->n;
            t = now_s() - t0;
        } while (t < secs);
        r[k] = t * 1e9 / (double)done;
    }
    qsort(r, RUNS, sizeof r[0], cmp_double);
    return r[RUNS / 2];
}

static size_t total(const recs *r) {
    size_t s = 0;
    for (size_t i = 0; i < r->n; i++)
        s += r->len[i];
    return s;
}

int main(int argc, char **argv) {
    size_t n = 2000;
    double secs = 0.5;
    const char *only = NULL, *dump_path = NULL;
    long passes = 0;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "-n") == 0)
            n = (size_t)atol(argv[a + 1]);
        else if (strcmp(argv[a], "-t") == 0)
            secs = atof(argv[a + 1]);
        else if (strcmp(argv[a], "-m") == 0)
            only = argv[a + 1];
        else if (strcmp(argv[a], "-p") == 0)
            passes = atol(argv[a + 1]);
        else if (strcmp(argv[a], "-o") == 0)
            dump_path = argv[a + 1];
        else
            fail("usage: stage_cpu [-n N] [-t SECONDS] [-m enricher|router] [-p PASSES] [-o FILE]");
    }
    hf_log_set_level(HF_LOG_WARN);

    hf_registry_cfg rcfg = {.url = "file:schemas/avro", .group = "default", .user = "",
                            .password = "", .token = "", .ca_file = "", .timeout_ms = 5000,
                            .cache_max = 1000, .ttl_ms = 60000};
    hf_err err = {0};
    hf_registry *reg = NULL;
    if (hf_registry_open(&rcfg, &reg, &err) != HF_OK)
        fail(err.msg);
    recs in = {0}, mid = {0};
    make_input(reg, n, &in);
    hf_registry_close(reg);

    enr_cfg ecfg = {.facilities = "config/facilities.dev.json", .facility_table = "hl7flow_facility",
                    .facility_channel = "hl7flow_facility", .unknown_facility = ENR_UNKNOWN_PASS,
                    .default_tz = "", .codemaps = "config/codemaps", .reload_ms = 10000};
    enr_ctx *enr = NULL;
    if (enr_ctx_new(&ecfg, &rcfg, "hl7.validated", "hl7.enriched", &enr, &err) != HF_OK)
        fail(err.msg);
    rtr_cfg tcfg = {.routes = "ADT=hl7.parsed.adt,ORM=hl7.parsed.orm,OML=hl7.parsed.orm,"
                              "ORU=hl7.parsed.oru,OUL=hl7.parsed.oru,DFT=hl7.parsed.dft,"
                              "MDM=hl7.parsed.mdm",
                    .default_topic = "", .mrn_key = "bench-only-mrn-hash-key-0123456789"};
    rtr_ctx *rtr = NULL;
    if (rtr_ctx_new(&tcfg, &rcfg, "hl7.enriched", &rtr, &err) != HF_OK)
        fail(err.msg);

    hf_emit em;
    memset(&em, 0, sizeof em);
    FILE *dump = NULL;
    if (dump_path != NULL && (dump = fopen(dump_path, "wb")) == NULL)
        fail("cannot write the -o file");
    size_t enr_out = pass(enr_transform, enr, &in, &em, &mid, dump);
    size_t rtr_out = pass(rtr_transform, rtr, &mid, &em, NULL, dump);
    if (dump != NULL && fclose(dump) != 0)
        fail("cannot write the -o file");

    bool do_enr = only == NULL || strcmp(only, "enricher") == 0;
    bool do_rtr = only == NULL || strcmp(only, "router") == 0;
    if (passes > 0) {
        for (long k = 0; k < passes; k++) {
            if (do_enr)
                pass(enr_transform, enr, &in, &em, NULL, NULL);
            if (do_rtr)
                pass(rtr_transform, rtr, &mid, &em, NULL, NULL);
        }
    } else {
        printf("stage_cpu: %zu records in (%.0f bytes average), enricher %zu out (%.0f bytes "
               "average), router %zu out; median of %d runs of %.2f s\n",
               in.n, (double)total(&in) / (double)in.n, enr_out,
               (double)total(&mid) / (double)(mid.n ? mid.n : 1), rtr_out, RUNS, secs);
        if (do_enr)
            printf("enricher  %8.0f ns/record\n", timed(enr_transform, enr, &in, &em, secs));
        if (do_rtr)
            printf("router    %8.0f ns/record\n", timed(rtr_transform, rtr, &mid, &em, secs));
    }
    hf_emit_fini(&em);
    rtr_ctx_destroy(rtr);
    enr_ctx_destroy(enr);
    recs_free(&in);
    recs_free(&mid);
    return 0;
}
