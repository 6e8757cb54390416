/* cmd_gen.c - `hl7flow gen`: the command-line face of the traffic generator
 * (common/src/gen_*.c). Parses options, pulls messages from hf_gen, hands
 * them to the chosen output format and writes the optional truth sidecar.
 * Prints nothing on stdout except messages; errors go to stderr.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "gen_out.h"
#include "hl7flow/gen.h"

static const char GEN_USAGE[] =
    "usage: hl7flow gen [options]\n"
    "\n"
    "Writes seeded, realistic, synthetic HL7 v2 traffic. Same options => same bytes.\n"
    "\n"
    "  --seed N           random seed (default 1)\n"
    "  --count N          messages to write (default 1000)\n"
    "  --malformed PCT    share of malformed messages, 0..100, up to 2 decimals (default 0)\n"
    "  --facilities N     sending facilities HOSP_A.. (1..702, default 5)\n"
    "  --patients N       patient population (1..5000000, default 10000)\n"
    "  --format F         mllp (default): 0x0B msg 0x1C 0x0D | files: DIR/000001.hl7 ...\n"
    "                     | lines: msg + \"\\n\" (for reading only)\n"
    "  --out PATH         file, or - for stdout (default -); a directory for --format files\n"
    "  --version V        HL7 version 2.3 | 2.4 | 2.5.1 (default 2.5.1)\n"
    "  --truth PATH       sidecar: index<TAB>control_id<TAB>type<TAB>ok|malformed:<kind>\n"
    "  --help             this text\n"
    "\n"
    "Mix: ADT 45% (A08 15.75, A01 7.2, A04 7.2, A03 6.3, A02 5.4, A11 1.8, A40 1.35),\n"
    "ORU^R01 30%, ORM^O01 15%, DFT^P03 5%, MDM^T02 5%. See docs/gen.md.\n";

typedef struct gen_cli {
    hf_gen_opts opts;
    uint64_t count;
    gen_out_format fmt;
    const char *out;   /* borrowed from argv */
    const char *truth; /* borrowed from argv; NULL = no sidecar */
} gen_cli;

/* Strict unsigned parse: digits only, no sign, no overflow, within max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "12", "12.5", "0.25" -> basis points; at most 2 decimals, at most 100. */
static int parse_percent(const char *s, uint32_t *bp) {
    uint64_t whole = 0, frac = 0;
    const char *dot = strchr(s, '.');
    char head[16];
    size_t hl = dot ? (size_t)(dot - s) : strlen(s);
    if (hl == 0 || hl >= sizeof head)
        return -1;
    memcpy(head, s, hl);
    head[hl] = '\0';
    if (parse_u64(head, 100, &whole) != 0)
        return -1;
    if (dot) {
        size_t fl = strlen(dot + 1);
        if (fl == 0 || fl > 2 || parse_u64(dot + 1, 99, &frac) != 0)
            return -1;
        if (fl == 1)
            frac *= 10;
    }
    uint64_t v = whole * 100 + frac;
    if (v > 10000)
        return -1;
    *bp = (uint32_t)v;
    return 0;
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("hl7flow gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(hl7flow gen --help for usage)\n", stderr);
    va_end(ap);
    return 2;
}

/* Returns -1 to go on, else the exit status (help or usage error). */
static int parse_args(int argc, char **argv, gen_cli *cli) {
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        const char *val = NULL;
        char key[32];
        if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            fputs(GEN_USAGE, stdout);
            return 0;
        }
        if (strncmp(name, "--", 2) != 0)
            return usage_error("unexpected argument '%s'", name);
        const char *eq = strchr(name, '=');
        size_t kl = eq ? (size_t)(eq - name) : strlen(name);
        if (kl >= sizeof key)
            return usage_error("unknown option '%s'", name);
        memcpy(key, name, kl);
        key[kl] = '\0';
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return usage_error("option '%s' needs a value", key);

        uint64_t n = 0;
        if (strcmp(key, "--seed") == 0) {
            if (parse_u64(val, UINT64_MAX, &cli->opts.seed) != 0)
                return usage_error("--seed: not an unsigned integer: '%s'", val);
        } else if (strcmp(key, "--count") == 0) {
            if (parse_u64(val, UINT64_MAX, &cli->count) != 0)
                return usage_error("--count: not an unsigned integer: '%s'", val);
        } else if (strcmp(key, "--malformed") == 0) {
            if (parse_percent(val, &cli->opts.malformed_bp) != 0)
                return usage_error("--malformed: want a percentage 0..100 (2 decimals at most): '%s'", val);
        } else if (strcmp(key, "--facilities") == 0) {
            if (parse_u64(val, HF_GEN_MAX_FACILITIES, &n) != 0 || n == 0)
                return usage_error("--facilities: want 1..702: '%s'", val);
            cli->opts.facilities = (uint32_t)n;
        } else if (strcmp(key, "--patients") == 0) {
            if (parse_u64(val, HF_GEN_MAX_PATIENTS, &n) != 0 || n == 0)
                return usage_error("--patients: want 1..5000000: '%s'", val);
            cli->opts.patients = (uint32_t)n;
        } else if (strcmp(key, "--format") == 0) {
            if (gen_out_format_parse(val, &cli->fmt) != HF_OK)
                return usage_error("--format: want mllp, files or lines: '%s'", val);
        } else if (strcmp(key, "--out") == 0) {
            cli->out = val;
        } else if (strcmp(key, "--version") == 0) {
            if (hf_gen_version_parse(val, &cli->opts.version) != HF_OK)
                return usage_error("--version: want 2.3, 2.4 or 2.5.1: '%s'", val);
        } else if (strcmp(key, "--truth") == 0) {
            cli->truth = val;
        } else {
            return usage_error("unknown option '%s'", key);
        }
    }
    if (cli->fmt == GEN_OUT_FILES && strcmp(cli->out, "-") == 0)
        return usage_error("%s", "--format files needs --out DIR");
    return -1;
}

int cmd_gen(int argc, char **argv) {
    gen_cli cli = {.count = 1000, .fmt = GEN_OUT_MLLP, .out = "-", .truth = NULL};
    hf_err err = {0};
    hf_gen *gen = NULL;
    gen_out *out = NULL;
    FILE *truth = NULL;
    int rc = 1;

    hf_gen_opts_default(&cli.opts);
    int parsed = parse_args(argc, argv, &cli);
    if (parsed >= 0)
        return parsed;
    if (hf_gen_new(&cli.opts, &gen, &err) != HF_OK)
        goto out;
    if (gen_out_open(cli.fmt, cli.out, &out, &err) != HF_OK)
        goto out;
    if (cli.truth != NULL) {
        truth = fopen(cli.truth, "w");
        if (truth == NULL) {
            hf_err_set(&err, HF_EIO, "open %s: %s", cli.truth, strerror(errno));
            goto out;
        }
    }
    for (uint64_t i = 0; i < cli.count; i++) {
        hf_gen_msg msg;
        if (hf_gen_next(gen, &msg) != HF_OK) {
            hf_err_set(&err, HF_ENOMEM, "generator: out of memory");
            goto out;
        }
        if (gen_out_write(out, &msg, &err) != HF_OK)
            goto out;
        if (truth != NULL)
            fprintf(truth, "%llu\t%s\t%s\t%s%s\n", (unsigned long long)msg.index,
                    msg.control_id[0] ? msg.control_id : "-", hf_gen_type_name(msg.type),
                    msg.fault == HF_GEN_VALID ? "" : "malformed:", hf_gen_fault_name(msg.fault));
    }
    rc = 0;
out:
    if (gen_out_close(out, rc == 0 ? &err : NULL) != HF_OK)
        rc = 1;
    if (truth != NULL && (fclose(truth) != 0) && rc == 0) {
        hf_err_set(&err, HF_EIO, "write %s: %s", cli.truth, strerror(errno));
        rc = 1;
    }
    hf_gen_destroy(gen);
    if (rc != 0)
        fprintf(stderr, "hl7flow gen: %s\n", err.msg[0] ? err.msg : "failed");
    return rc;
}
