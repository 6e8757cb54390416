/* cmd_parse.c - `hl7flow parse`: parse HL7 v2 files and print every
 * non-empty leaf, one line each, as SEG[n]-F[r].C.S<TAB>value.
 *
 * Each FILE (or "-" for stdin) may hold one message, several, MLLP frames or
 * FHS/BHS batches; every message gets one block and blocks are separated by
 * a blank line. MSH-1 and MSH-2 print as literal single values. Values are
 * printed as on the wire; with --unescape they are decoded and then, so a
 * line stays a line, control bytes and the backslash are written as C
 * escapes (\n \r \t \\ \xHH). A message that fails to parse prints its
 * precise error (location and byte offset, never content) on stderr and
 * makes the exit status 1; the other messages are still printed.
 * --json (the canonical record) belongs to the schemas work and is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "hl7flow/hl7.h"
#include "hl7flow/profile.h"
#include "hl7flow/record.h"

#define MAX_FILE_BYTES ((size_t)1 << 30)

typedef struct parse_opts {
    int unescape;          /* decode escape sequences */
    int json;              /* print the canonical record as JSON */
    hf_profile *profile;   /* rules to report violations of; NULL = none */
    hf_rec_ctx *rec;       /* record builder (--json) */
} parse_opts;

typedef struct print_ctx {
    const hf_hl7_msg *msg;
    const parse_opts *opt;
    char *buf; /* unescape buffer (owned) */
    size_t cap;
    int oom;
} print_ctx;

static void usage(FILE *out) {
    fprintf(out,
            "usage: hl7flow parse [--paths | --json] [--unescape] [--profiles DIR] FILE...\n"
            "\n"
            "Parses HL7 v2 (ER7) messages (single, back to back, MLLP-framed or FHS/BHS\n"
            "batches; FILE '-' is stdin) and prints one line per non-empty leaf:\n"
            "  SEG[n]-F[r].C.S<TAB>value     (n = occurrence of the segment; 1-based)\n"
            "one block per message, blocks separated by a blank line.\n"
            "\n"
            "  --paths     the leaf listing above (the default)\n"
            "  --unescape  decode escape sequences; control bytes and '\\' are then\n"
            "              printed as C escapes (\\n \\r \\t \\\\ \\xHH)\n"
            "  --json      each message as the canonical record (the hl7.validated\n"
            "              schema), one JSON object per line\n"
            "  --profiles P  message-profile rules (default schemas/profiles when it\n"
            "              exists; 'none' to skip): violations are reported on stderr\n"
            "\n"
            "Exit status: 0 all messages parsed, 1 a message or file failed (error on\n"
            "stderr), 2 usage.\n");
}

/* Reads a whole file ("-" = stdin) into a malloc'd buffer (owned by caller). */
static int read_all(const char *path, char **out, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    if (f == NULL) {
        fprintf(stderr, "hl7flow parse: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap == 0 ? 65536 : cap * 2;
            char *nb;
            if (cap >= MAX_FILE_BYTES) {
                fprintf(stderr, "hl7flow parse: %s: larger than %zu bytes\n", path,
                        MAX_FILE_BYTES);
                goto out;
            }
            nb = realloc(buf, ncap);
            if (nb == NULL) {
                fprintf(stderr, "hl7flow parse: %s: out of memory\n", path);
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "hl7flow parse: %s: read error\n", path);
                goto out;
            }
            break;
        }
    }
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* Writes @p v with control bytes and backslash as C escapes. */
static void put_escaped(const char *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        switch (c) {
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        default:
            if (c < 0x20 || c == 0x7f)
                printf("\\x%02X", c);
            else
                putchar(c);
        }
    }
}

static int print_leaf(const hf_hl7_leaf *lf, void *vctx) {
    print_ctx *ctx = vctx;
    printf("%.3s[%u]-%u[%u].%u.%u\t", lf->seg_id.p, lf->occ, lf->field, lf->rep, lf->comp,
           lf->sub);
    if (!ctx->opt->unescape) {
        fwrite(lf->value.p, 1, lf->value.len, stdout);
    } else if (lf->literal) {
        put_escaped(lf->value.p, lf->value.len);
    } else {
        size_t need = hf_hl7_unescape(ctx->msg, lf->value, ctx->buf, ctx->cap);
        if (need >= ctx->cap) {
            char *nb = realloc(ctx->buf, need + 1);
            if (nb == NULL) {
                ctx->oom = 1;
                return 1;
            }
            ctx->buf = nb;
            ctx->cap = need + 1;
            hf_hl7_unescape(ctx->msg, lf->value, ctx->buf, ctx->cap);
        }
        put_escaped(ctx->buf, need);
    }
    putchar('\n');
    return 0;
}

/* Parses and prints every message of one file. Returns 0, or 1 if any
 * message or the file failed. */
static int parse_file(const char *path, hf_hl7_msg *msg, const parse_opts *opt, int *blocks) {
    char *buf = NULL;
    size_t len = 0;
    hf_hl7_splitter sp;
    hf_span m;
    hf_err err = {0};
    int rc = 0, seen = 0;
    print_ctx ctx = {msg, opt, NULL, 0, 0};

    if (read_all(path, &buf, &len) != 0)
        return 1;
    hf_hl7_split_init(&sp, (hf_span){buf != NULL ? buf : "", len});
    for (;;) {
        hf_status st = hf_hl7_split_next(&sp, &m, &err);
        if (st == HF_ENOTFOUND)
            break;
        if (st != HF_OK) {
            fprintf(stderr, "hl7flow parse: %s: %s\n", path, err.msg);
            rc = 1;
            seen = 1;
            continue;
        }
        seen = 1;
        size_t at = (size_t)(m.p - sp.buf.p);
        st = hf_hl7_parse_into(msg, m, NULL, &err);
        if (st != HF_OK) {
            fprintf(stderr, "hl7flow parse: %s: message %u at byte %zu: %s\n", path, sp.count,
                    at, err.msg);
            rc = 1;
            continue;
        }
        if (opt->profile != NULL) {
            hf_profile_violation v[16];
            size_t n = hf_profile_check(opt->profile, msg, v, 16);
            if (n > 0) {
                char text[1024];
                hf_profile_format(v, n < 16 ? n : 16, text, sizeof text);
                fprintf(stderr, "hl7flow parse: %s: message %u: profile: %s%s\n", path, sp.count,
                        text, n > 16 ? " ..." : "");
            }
        }
        if (opt->json) {
            hf_rec *rec = NULL;
            hf_rec_buf out = {0};
            if (hf_rec_build(opt->rec, msg, NULL, &rec, &err) != HF_OK ||
                hf_rec_to_json(rec, HF_REC_VALIDATED, false, &out) != HF_OK) {
                fprintf(stderr, "hl7flow parse: %s: message %u: record: %s\n", path, sp.count,
                        err.msg[0] ? err.msg : "out of memory");
                hf_rec_buf_free(&out);
                rc = 1;
                continue;
            }
            fwrite(out.p, 1, out.len, stdout);
            putchar('\n');
            hf_rec_buf_free(&out);
            continue;
        }
        if ((*blocks)++ > 0)
            putchar('\n');
        hf_hl7_walk(msg, print_leaf, &ctx);
        if (ctx.oom) {
            fprintf(stderr, "hl7flow parse: %s: out of memory\n", path);
            rc = 1;
            break;
        }
    }
    if (!seen && sp.fhs.len == 0 && sp.bhs.len == 0) {
        fprintf(stderr, "hl7flow parse: %s: no HL7 message found (%zu bytes)\n", path, len);
        rc = 1;
    }
    free(ctx.buf);
    free(buf);
    return rc;
}

int cmd_parse(int argc, char **argv) {
    parse_opts opt = {0};
    int rc = 0, blocks = 0, nfiles = 0, opts_done = 0;
    const char *profiles = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || strcmp(a, "-") == 0) {
            argv[1 + nfiles++] = argv[i]; /* compact the file names in place */
        } else if (strcmp(a, "--") == 0) {
            opts_done = 1;
        } else if (strcmp(a, "--paths") == 0) {
            continue;
        } else if (strcmp(a, "--unescape") == 0) {
            opt.unescape = 1;
        } else if (strcmp(a, "--json") == 0) {
            opt.json = 1;
        } else if (strcmp(a, "--profiles") == 0 && i + 1 < argc) {
            profiles = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "hl7flow parse: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (nfiles == 0) {
        usage(stderr);
        return 2;
    }
    struct stat st;
    if (profiles == NULL && stat("schemas/profiles", &st) == 0)
        profiles = "schemas/profiles";
    if (profiles != NULL && strcmp(profiles, "none") != 0) {
        hf_err perr = {0};
        if (hf_profile_load(profiles, &opt.profile, &perr) != HF_OK) {
            fprintf(stderr, "hl7flow parse: --profiles: %s\n", perr.msg);
            return 2;
        }
    }
    hf_hl7_msg *msg = hf_hl7_msg_new();
    opt.rec = opt.json ? hf_rec_ctx_new() : NULL;
    if (msg == NULL || (opt.json && opt.rec == NULL)) {
        fprintf(stderr, "hl7flow parse: out of memory\n");
        hf_hl7_msg_destroy(msg);
        hf_profile_destroy(opt.profile);
        return 1;
    }
    for (int i = 0; i < nfiles; i++)
        rc |= parse_file(argv[1 + i], msg, &opt, &blocks);
    hf_hl7_msg_destroy(msg);
    hf_rec_ctx_destroy(opt.rec);
    hf_profile_destroy(opt.profile);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "hl7flow parse: write error on stdout\n");
        rc = 1;
    }
    return rc;
}
