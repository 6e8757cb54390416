/* main.c - hl7flow-relay: the do-nothing stage. Copies every record of its
 * inputs to its output topic, same key, value and headers, through the same
 * stage loop every service runs. It is the peer the benchmarks measure each
 * stage against, and the identity stage the loop's integration tests drive.
 *
 * For fault tests it can dead-letter records on purpose:
 * RELAY_DLQ_IF_CONTAINS=<text> sends every record whose value contains
 * <text> to the DLQ with class RELAY_DLQ_CLASS (default "test"). Empty (the
 * default) disables it. RELAY_RETRY_ONCE_IF_CONTAINS=<text> makes the first
 * attempt at such a record a transient failure (HF_ERETRY), so the loop's
 * abort-rewind-retry path runs. RELAY_DELAY_US slows each record down, so
 * tests can kill the stage while a batch is in flight.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hl7flow/stage.h"

typedef struct relay_cfg {
    char *dlq_if_contains;
    char *retry_once_if_contains;
    char *dlq_class;
    int64_t delay_us;
} relay_cfg;

static relay_cfg g_cfg;

static const hf_cfg_var RELAY_VARS[] = {
    {"RELAY_DLQ_IF_CONTAINS", HF_CFG_STR, "", offsetof(relay_cfg, dlq_if_contains), 0, 0, NULL,
     "dead-letter records whose value contains this text (tests); empty = never"},
    {"RELAY_RETRY_ONCE_IF_CONTAINS", HF_CFG_STR, "", offsetof(relay_cfg, retry_once_if_contains), 0,
     0, NULL, "fail the first attempt at records containing this text as transient (tests)"},
    {"RELAY_DLQ_CLASS", HF_CFG_STR, "test", offsetof(relay_cfg, dlq_class), 0, 0, NULL,
     "error class given to those records"},
    {"RELAY_DELAY_US", HF_CFG_INT, "0", offsetof(relay_cfg, delay_us), 0, 10000000, NULL,
     "sleep this long per record (tests)"},
};

static const hf_cfg_table RELAY_TABLES[] = {
    {"Relay settings", RELAY_VARS, sizeof RELAY_VARS / sizeof RELAY_VARS[0]}};
static void *const RELAY_CFGS[] = {&g_cfg};

#define RELAY_RETRIED_MAX 4096

typedef struct relay_ctx {
    const char *output; /* borrowed from the stage config */
    struct {
        int32_t partition;
        int64_t offset;
    } retried[RELAY_RETRIED_MAX]; /* records already failed once */
    size_t nretried;
} relay_ctx;

/* True the first time (partition, offset) is seen; remembers it. */
static bool first_attempt(relay_ctx *rc, const hf_record *in) {
    for (size_t i = 0; i < rc->nretried; i++)
        if (rc->retried[i].partition == in->partition && rc->retried[i].offset == in->offset)
            return false;
    if (rc->nretried == RELAY_RETRIED_MAX)
        return false;
    rc->retried[rc->nretried].partition = in->partition;
    rc->retried[rc->nretried].offset = in->offset;
    rc->nretried++;
    return true;
}

static bool value_contains(const hf_record *in, const char *needle) {
    return needle[0] != '\0' && in->value != NULL &&
           memmem(in->value, in->value_len, needle, strlen(needle)) != NULL;
}

static relay_ctx g_ctx;

static hf_status relay_init(void **ctx, const hf_stage_cfg *cfg, hf_err *err) {
    (void)err;
    g_ctx.output = cfg->output_topic;
    *ctx = &g_ctx;
    return HF_OK;
}

static hf_status relay_transform(void *ctx, const hf_record *in, hf_emit *out, hf_dlq_reason *why) {
    relay_ctx *rc = ctx;
    if (g_cfg.delay_us > 0) {
        struct timespec ts = {g_cfg.delay_us / 1000000, (g_cfg.delay_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    if (value_contains(in, g_cfg.retry_once_if_contains) && first_attempt(rc, in)) {
        snprintf(why->error, sizeof why->error, "relay: injected transient failure (offset %lld)",
                 (long long)in->offset);
        return HF_ERETRY;
    }
    if (value_contains(in, g_cfg.dlq_if_contains)) {
        snprintf(why->error_class, sizeof why->error_class, "%s", g_cfg.dlq_class);
        snprintf(why->error, sizeof why->error, "relay: value contains the configured marker (offset %lld)",
                 (long long)in->offset);
        return HF_ESYNTAX;
    }
    return hf_emit_record(out, rc->output, in->key, in->key_len, in->value, in->value_len);
}

int main(int argc, char **argv) {
    const hf_stage_def def = {
        .name = "relay",
        .synopsis = "hl7flow-relay: copy records from the input topics to the output topic "
                    "(benchmark peer and test stage)",
        .default_inputs = "hl7.raw.ingest",
        .default_output = "hl7.validated",
        .tables = RELAY_TABLES,
        .ntables = 1,
        .cfgs = RELAY_CFGS,
        .init = relay_init,
        .transform = relay_transform,
    };
    return hf_stage_main(argc, argv, &def);
}
