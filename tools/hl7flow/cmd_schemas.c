/* cmd_schemas.c - `hl7flow schemas`: the schema tool of the deploy step and
 * of `make test`.
 *
 *   register  register every .avsc file of schemas/avro under its subject
 *             and set the subject's compatibility rule (FULL); idempotent
 *   check     fail when a schema is invalid (for our parser or avro-c) or
 *             breaks FULL compatibility with its released copy
 *             (schemas/avro/.released/), and with --registry also with the
 *             registry's latest version
 *   release   copy the current schemas to .released/ (after a clean check)
 *   compat    compare two schema files at a level
 *   ids       print each subject's latest id as the registry serves it
 *   fetch     print the schema text of an id
 *
 * Exit status: 0 ok; 1 a check failed, a schema was refused or a
 * permanent registry error; 2 usage or unreadable input; 3 only transient
 * registry failures (cannot connect, 5xx): retry later.
 * The subject of a file is hf_schema_subject_of's ("<topic>.avsc" ->
 * "<topic>-value"); see docs/internals/registry.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <avro.h>

#include "commands.h"
#include "hl7flow/avro_compat.h"
#include "hl7flow/registry.h"


#define DEFAULT_DIR "schemas/avro"
#define EXIT_CHECK 1
#define EXIT_USAGE 2
#define EXIT_RETRY 3

static void usage(FILE *out) {
    fprintf(out,
            "usage: hl7flow schemas <command> [options]\n"
            "  register [--registry URL] [--dir DIR] [--level FULL]\n"
            "        register every DIR/*.avsc under its subject (<topic>.avsc ->\n"
            "        <topic>-value) and set the subject's compatibility rule; idempotent\n"
            "  check [--dir DIR] [--registry URL]\n"
            "        fail when a schema is invalid or breaks FULL compatibility with\n"
            "        DIR/.released/<name>.avsc (and with the registry's latest version)\n"
            "  release [--dir DIR] [--force]\n"
            "        copy DIR/*.avsc to DIR/.released/ (refused when check fails)\n"
            "  compat [--level FULL|BACKWARD|FORWARD] NEW.avsc OLD.avsc\n"
            "        exit 0 when NEW may follow OLD at the level, 1 (with the reason) if not\n"
            "  ids [--registry URL] [--dir DIR]\n"
            "        print {\"subject\",\"file\",\"id\"} per schema file: the latest id the\n"
            "        registry serves (file: mode: the deterministic file ids)\n"
            "  fetch [--registry URL] ID\n"
            "        print the schema text the registry holds for ID\n"
            "DIR defaults to " DEFAULT_DIR "; URL to $HL7FLOW_REGISTRY, else file:" DEFAULT_DIR
            ".\n"
            "URL: file:DIR | ccompat:http://h/apis/ccompat/v7\n"
            "     | apicurio-v2:http://h/apis/registry/v2 | apicurio-v3:http://h/apis/registry/v3\n"
            "     (credentials only from the environment:\n"
            "     HL7FLOW_REGISTRY_USER/_PASSWORD or _TOKEN, also as _FILE)\n"
            "exit: 0 ok, 1 check failed or refused, 2 usage, 3 registry unreachable (retry)\n");
}

typedef struct opts {
    const char *registry;
    const char *dir;
    hf_avro_level level;
    bool force;
    bool dir_given; /* --dir was on the command line */
    int first_arg;  /* index of the first non-option argument */
} opts;

/* Parses the options shared by the subcommands; returns -1 after printing
 * help (exit 0), -2 on a usage error, 0 otherwise. */
static int parse_opts(int argc, char **argv, opts *o) {
    static const struct option lopts[] = {
        {"registry", required_argument, 0, 'r'}, {"dir", required_argument, 0, 'd'},
        {"level", required_argument, 0, 'l'},    {"force", no_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    o->dir = DEFAULT_DIR;
    o->level = HF_AVRO_FULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "r:d:l:fh", lopts, NULL)) != -1) {
        switch (c) {
        case 'r': o->registry = optarg; break;
        case 'd':
            o->dir = optarg;
            o->dir_given = true;
            break;
        case 'l':
            if (!hf_avro_level_parse(optarg, &o->level)) {
                fprintf(stderr, "schemas: --level must be FULL, BACKWARD or FORWARD\n");
                return -2;
            }
            break;
        case 'f': o->force = true; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return -2;
        }
    }
    o->first_arg = optind;
    return 0;
}

/* Exit status for a registry error. */
static int exit_for(hf_status st) {
    return st == HF_ERETRY ? EXIT_RETRY : EXIT_CHECK;
}

static void print_json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* ---- compat --------------------------------------------------------- */

static int do_compat(const opts *o, int argc, char **argv) {
    if (argc - o->first_arg != 2) {
        fprintf(stderr, "schemas compat: needs NEW.avsc OLD.avsc\n");
        return EXIT_USAGE;
    }
    hf_avro_schema *newer = NULL, *older = NULL;
    hf_err err = {0};
    int rc = EXIT_USAGE;
    if (hf_avro_schema_load(argv[o->first_arg], &newer, &err) != HF_OK ||
        hf_avro_schema_load(argv[o->first_arg + 1], &older, &err) != HF_OK) {
        fprintf(stderr, "schemas compat: %s\n", err.msg);
        goto out;
    }
    char why[1024];
    if (hf_avro_compatible(newer, older, o->level, why, sizeof why)) {
        printf("compatible (%s)\n", hf_avro_level_str(o->level));
        rc = 0;
    } else {
        printf("incompatible (%s): %s\n", hf_avro_level_str(o->level), why);
        rc = EXIT_CHECK;
    }
out:
    hf_avro_schema_free(newer);
    hf_avro_schema_free(older);
    return rc;
}

/* ---- check ---------------------------------------------------------- */

/* Checks @p f against the text @p old_text (named @p what in messages);
 * returns false (message on stderr) when FULL compatibility breaks. */
static bool check_against(const hf_schema_file *f, const hf_avro_schema *cur, const char *old_text,
                          const char *what) {
    hf_avro_schema *old = NULL;
    hf_err err = {0};
    if (hf_avro_schema_parse(old_text, strlen(old_text), &old, &err) != HF_OK) {
        fprintf(stderr, "schemas check: %s: %s is not a valid schema: %s\n", f->name, what,
                err.msg);
        return false;
    }
    char why[1024];
    bool ok = hf_avro_compatible(cur, old, HF_AVRO_FULL, why, sizeof why);
    if (!ok)
        fprintf(stderr, "schemas check: %s (subject %s) breaks FULL compatibility with %s: %s\n",
                f->path, f->subject, what, why);
    hf_avro_schema_free(old);
    return ok;
}

/* Runs the offline (and, with a registry, online) check; returns the exit
 * status. @p quiet_ok suppresses the summary line (release). */
static int run_check(const opts *o, bool quiet_ok) {
    hf_schema_dir cur = {0}, rel = {0};
    hf_err err = {0};
    if (hf_schema_dir_load(o->dir, &cur, &err) != HF_OK) {
        fprintf(stderr, "schemas check: %s\n", err.msg);
        return EXIT_USAGE;
    }
    char reldir[4096];
    snprintf(reldir, sizeof reldir, "%s/.released", o->dir);
    struct stat sb;
    if (stat(reldir, &sb) == 0 && hf_schema_dir_load(reldir, &rel, &err) != HF_OK) {
        fprintf(stderr, "schemas check: %s\n", err.msg);
        hf_schema_dir_fini(&cur);
        return EXIT_USAGE;
    }
    hf_registry *reg = NULL;
    if (o->registry != NULL && hf_registry_open_env(o->registry, &reg, &err) != HF_OK) {
        fprintf(stderr, "schemas check: %s\n", err.msg);
        hf_schema_dir_fini(&cur);
        hf_schema_dir_fini(&rel);
        return EXIT_USAGE;
    }
    int failed = 0, retry = 0;
    size_t vs_released = 0, vs_registry = 0;
    for (size_t i = 0; i < cur.count; i++) {
        const hf_schema_file *f = &cur.files[i];
        hf_avro_schema *s = NULL;
        if (hf_avro_schema_parse(f->text, f->len, &s, &err) != HF_OK) {
            fprintf(stderr, "schemas check: %s: invalid schema: %s\n", f->path, err.msg);
            failed++;
            continue;
        }
        /* the services encode with avro-c: it must accept the schema too */
        avro_schema_t as = NULL;
        if (avro_schema_from_json_length(f->text, f->len, &as) != 0) {
            fprintf(stderr, "schemas check: %s: avro-c rejects the schema: %s\n", f->path,
                    avro_strerror());
            failed++;
        } else {
            avro_schema_decref(as);
        }
        const hf_schema_file *old = hf_schema_dir_find(&rel, f->subject);
        if (old != NULL) {
            char what[4200];
            snprintf(what, sizeof what, "its released version %s", old->path);
            failed += !check_against(f, s, old->text, what);
            vs_released++;
        }
        if (reg != NULL) {
            uint32_t id = 0;
            char *text = NULL;
            hf_status st = hf_registry_latest_id(reg, f->subject, &id, &err);
            if (st == HF_OK)
                st = hf_registry_schema_text(reg, id, &text, &err);
            if (st == HF_OK) {
                char what[600];
                snprintf(what, sizeof what, "the registry's latest version (id %u)", id);
                failed += !check_against(f, s, text, what);
                vs_registry++;
            } else if (st != HF_ENOTFOUND) {
                fprintf(stderr, "schemas check: %s: %s\n", f->subject, err.msg);
                if (st == HF_ERETRY)
                    retry++;
                else
                    failed++;
            }
            free(text);
        }
        hf_avro_schema_free(s);
    }
    for (size_t i = 0; i < rel.count; i++)
        if (hf_schema_dir_find(&cur, rel.files[i].subject) == NULL)
            fprintf(stderr, "schemas check: warning: %s was released but %s/%s is gone\n",
                    rel.files[i].path, o->dir, rel.files[i].name);
    if (failed == 0 && retry == 0 && !quiet_ok) {
        printf("schemas check: ok: %zu schemas valid, %zu FULL-compatible with their released "
               "version, %zu not released yet",
               cur.count, vs_released, cur.count - vs_released);
        if (reg != NULL)
            printf(", %zu FULL-compatible with %s", vs_registry, hf_registry_describe(reg));
        printf("\n");
    }
    if (cur.count == 0 && !quiet_ok)
        fprintf(stderr, "schemas check: warning: no .avsc file in %s\n", o->dir);
    hf_registry_close(reg);
    hf_schema_dir_fini(&cur);
    hf_schema_dir_fini(&rel);
    return failed ? EXIT_CHECK : retry ? EXIT_RETRY : 0;
}

/* ---- release -------------------------------------------------------- */

static bool write_atomic(const char *dir, const char *name, const char *text, size_t len) {
    char tmp[4200], dst[4200];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        return false;
    bool ok = fwrite(text, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, dst) != 0)
        ok = false;
    if (!ok)
        unlink(tmp);
    return ok;
}

static int do_release(const opts *o) {
    opts offline = *o;
    offline.registry = NULL;
    int rc = run_check(&offline, true);
    if (rc != 0 && !o->force) {
        fprintf(stderr, "schemas release: refused: the check failed (--force releases anyway)\n");
        return rc;
    }
    hf_schema_dir cur = {0};
    hf_err err = {0};
    if (hf_schema_dir_load(o->dir, &cur, &err) != HF_OK) {
        fprintf(stderr, "schemas release: %s\n", err.msg);
        return EXIT_USAGE;
    }
    char reldir[4096];
    snprintf(reldir, sizeof reldir, "%s/.released", o->dir);
    if (mkdir(reldir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "schemas release: %s: %s\n", reldir, strerror(errno));
        hf_schema_dir_fini(&cur);
        return EXIT_USAGE;
    }
    rc = 0;
    for (size_t i = 0; i < cur.count; i++) {
        const hf_schema_file *f = &cur.files[i];
        if (!write_atomic(reldir, f->name, f->text, f->len)) {
            fprintf(stderr, "schemas release: %s/%s: %s\n", reldir, f->name, strerror(errno));
            rc = EXIT_USAGE;
            continue;
        }
        printf("released %s -> %s/%s\n", f->path, reldir, f->name);
    }
    hf_schema_dir_fini(&cur);
    return rc;
}

/* ---- register ------------------------------------------------------- */

static int do_register(const opts *o) {
    hf_schema_dir cur = {0};
    hf_err err = {0};
    if (hf_schema_dir_load(o->dir, &cur, &err) != HF_OK) {
        fprintf(stderr, "schemas register: %s\n", err.msg);
        return EXIT_USAGE;
    }
    hf_registry *reg = NULL;
    if (hf_registry_open_env(o->registry, &reg, &err) != HF_OK) {
        fprintf(stderr, "schemas register: %s\n", err.msg);
        hf_schema_dir_fini(&cur);
        return EXIT_USAGE;
    }
    if (hf_registry_mode_of(reg) == HF_REG_FILE) {
        fprintf(stderr,
                "schemas register: %s is the read-only file: mode; give --registry "
                "ccompat:URL, apicurio-v2:URL or apicurio-v3:URL\n",
                hf_registry_describe(reg));
        hf_registry_close(reg);
        hf_schema_dir_fini(&cur);
        return EXIT_USAGE;
    }
    const char *level = hf_avro_level_str(o->level);
    int failed = 0, retry = 0;
    for (size_t i = 0; i < cur.count; i++) {
        const hf_schema_file *f = &cur.files[i];
        hf_avro_schema *s = NULL;
        if (hf_avro_schema_parse(f->text, f->len, &s, &err) != HF_OK) {
            fprintf(stderr, "schemas register: %s: invalid schema, not sent: %s\n", f->path,
                    err.msg);
            failed++;
            continue;
        }
        hf_avro_schema_free(s);
        /* An existing subject gets its rule first, so the registry checks
         * the new version against it; a new one gets it right after. */
        uint32_t old_id = 0;
        hf_status st = hf_registry_latest_id(reg, f->subject, &old_id, &err);
        bool exists = st == HF_OK;
        if (st == HF_ENOTFOUND)
            st = HF_OK;
        if (st == HF_OK && exists)
            st = hf_registry_set_compat(reg, f->subject, level, &err);
        hf_registry_reg r = {0};
        if (st == HF_OK)
            st = hf_registry_register(reg, f->subject, f->text, &r, &err);
        if (st == HF_OK && !exists)
            st = hf_registry_set_compat(reg, f->subject, level, &err);
        if (st != HF_OK) {
            fprintf(stderr, "schemas register: %s (%s): %s\n", f->subject, f->name, err.msg);
            if (st == HF_ERETRY)
                retry++;
            else
                failed++;
            continue;
        }
        printf("{\"subject\":");
        print_json_str(f->subject);
        printf(",\"file\":");
        print_json_str(f->name);
        printf(",\"id\":%u,\"status\":\"%s\",\"compatibility\":\"%s\"}\n", r.id,
               r.created ? "registered" : "unchanged", level);
    }
    fflush(stdout);
    hf_registry_close(reg);
    hf_schema_dir_fini(&cur);
    return failed ? EXIT_CHECK : retry ? EXIT_RETRY : 0;
}

/* ---- ids / fetch ----------------------------------------------------- */

static int do_ids(const opts *o) {
    hf_err err = {0};
    hf_registry *reg = NULL;
    if (hf_registry_open_env(o->registry, &reg, &err) != HF_OK) {
        fprintf(stderr, "schemas ids: %s\n", err.msg);
        return EXIT_USAGE;
    }
    /* file: mode without --dir lists the registry's own directory */
    const char *dir = o->dir;
    if (!o->dir_given && hf_registry_mode_of(reg) == HF_REG_FILE)
        dir = hf_registry_describe(reg) + strlen("file:");
    hf_schema_dir cur = {0};
    if (hf_schema_dir_load(dir, &cur, &err) != HF_OK) {
        fprintf(stderr, "schemas ids: %s\n", err.msg);
        hf_registry_close(reg);
        return EXIT_USAGE;
    }
    int rc = 0;
    for (size_t i = 0; i < cur.count; i++) {
        uint32_t id = 0;
        hf_status st = hf_registry_latest_id(reg, cur.files[i].subject, &id, &err);
        if (st != HF_OK) {
            fprintf(stderr, "schemas ids: %s\n", err.msg);
            int e = exit_for(st);
            rc = rc == EXIT_CHECK ? rc : e;
            continue;
        }
        printf("{\"subject\":");
        print_json_str(cur.files[i].subject);
        printf(",\"file\":");
        print_json_str(cur.files[i].name);
        printf(",\"id\":%u}\n", id);
    }
    hf_schema_dir_fini(&cur);
    hf_registry_close(reg);
    return rc;
}

static int do_fetch(const opts *o, int argc, char **argv) {
    if (argc - o->first_arg != 1) {
        fprintf(stderr, "schemas fetch: needs one ID\n");
        return EXIT_USAGE;
    }
    char *end = NULL;
    errno = 0;
    unsigned long id = strtoul(argv[o->first_arg], &end, 10);
    if (errno != 0 || end == argv[o->first_arg] || *end != '\0' || id > 0x7fffffffUL) {
        fprintf(stderr, "schemas fetch: '%s' is not a schema id\n", argv[o->first_arg]);
        return EXIT_USAGE;
    }
    hf_err err = {0};
    hf_registry *reg = NULL;
    if (hf_registry_open_env(o->registry, &reg, &err) != HF_OK) {
        fprintf(stderr, "schemas fetch: %s\n", err.msg);
        return EXIT_USAGE;
    }
    char *text = NULL;
    hf_status st = hf_registry_schema_text(reg, (uint32_t)id, &text, &err);
    int rc = 0;
    if (st != HF_OK) {
        fprintf(stderr, "schemas fetch: %s\n", err.msg);
        rc = exit_for(st);
    } else {
        fputs(text, stdout);
        if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
            putchar('\n');
    }
    free(text);
    hf_registry_close(reg);
    return rc;
}

int cmd_schemas(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *sub = argv[1];
    opts o = {0};
    int p = parse_opts(argc - 1, argv + 1, &o);
    if (p == -1)
        return 0;
    if (p == -2)
        return EXIT_USAGE;
    int nargs = argc - 1;
    char **args = argv + 1;
    bool takes_args = strcmp(sub, "compat") == 0 || strcmp(sub, "fetch") == 0;
    if (!takes_args && o.first_arg != nargs) {
        fprintf(stderr, "schemas %s: unexpected argument '%s'\n", sub, args[o.first_arg]);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "register") == 0)
        return do_register(&o);
    if (strcmp(sub, "check") == 0)
        return run_check(&o, false);
    if (strcmp(sub, "release") == 0)
        return do_release(&o);
    if (strcmp(sub, "compat") == 0)
        return do_compat(&o, nargs, args);
    if (strcmp(sub, "ids") == 0)
        return do_ids(&o);
    if (strcmp(sub, "fetch") == 0)
        return do_fetch(&o, nargs, args);
    fprintf(stderr, "schemas: unknown command '%s'\n", sub);
    usage(stderr);
    return EXIT_USAGE;
}
