/* cmd_facilities.c - `hl7flow facilities`: the operator's view of the
 * facility directory the enricher uses (facility.h).
 *
 *   check SOURCE   load and validate; one JSON summary line, exit 0, or the
 *                  error on stderr and exit 1
 *   show SOURCE [ID...]  the facilities (or the named ones) as JSON lines
 *   watch SOURCE   load, then poll like the enricher does and log one JSON
 *                  line per load, reload, failed reload and recovery until
 *                  SIGTERM/SIGINT
 * A PostgreSQL source given here must not hold a password (command lines
 * are visible to every user of the machine): libpq reads PGPASSWORD or a
 * password file (PGPASSFILE, ~/.pgpass).
 */
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "hl7flow/facility.h"
#include "hl7flow/log.h"
#include "hl7flow/timeutil.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: hl7flow facilities check SOURCE [options]\n"
            "       hl7flow facilities show SOURCE [options] [FACILITY_ID...]\n"
            "       hl7flow facilities watch SOURCE [options]\n"
            "SOURCE is a JSON file (PATH or file:PATH) or a PostgreSQL URI (postgresql://...) or\n"
            "conninfo (host=... dbname=...) without a password: use PGPASSWORD or PGPASSFILE.\n"
            "  check   load and validate; print a one-line JSON summary (exit 0) or the error (exit 1)\n"
            "  show    print the facilities (or only the given ids) as JSON lines\n"
            "  watch   print a JSON line per load, reload, failed reload and recovery until\n"
            "          SIGTERM/SIGINT (the enricher's reload behaviour)\n"
            "options:\n"
            "  --table NAME        PostgreSQL table [schema.]name (default hl7flow_facility)\n"
            "  --channel NAME      LISTEN channel (default hl7flow_facility)\n"
            "  --poll-ms N         file stat / full re-read interval (default 30000)\n"
            "  --notify-ms N       how often notifications are read (default 250)\n"
            "  --timeout-s N       PostgreSQL connect and query time limit (default 10)\n"
            "See docs/internals/facilities.md for the format and scripts/sql/facilities.sql.\n");
}

/* True when @p source is a PostgreSQL source that carries a password. */
static bool has_password(const char *source) {
    PQconninfoOption *opts = PQconninfoParse(source, NULL);
    bool found = false;
    for (PQconninfoOption *p = opts; p != NULL && p->keyword != NULL; p++)
        if (strcmp(p->keyword, "password") == 0 && p->val != NULL && p->val[0] != '\0')
            found = true;
    PQconninfoFree(opts);
    return found;
}

static json_t *span_json(hf_span s) { return s.len > 0 ? json_stringn(s.p, s.len) : json_null(); }

/* One facility as a JSON object in the input format (absent = null). */
static json_t *facility_json(const hf_facility *f) {
    const hf_rec_facility *r = &f->rec;
    json_t *o = json_object();
    json_object_set_new(o, "facility_id", span_json(r->facility_id));
    json_object_set_new(o, "name", span_json(r->name));
    json_object_set_new(o, "organization", span_json(r->organization));
    json_object_set_new(o, "npi", span_json(r->npi));
    json_object_set_new(o, "time_zone", span_json(r->time_zone));
    json_object_set_new(o, "region", span_json(r->region));
    json_t *sys = json_array();
    for (size_t i = 0; i < r->source_systems.n; i++)
        json_array_append_new(sys, span_json(r->source_systems.v[i]));
    json_object_set_new(o, "source_systems", sys);
    json_t *attrs = json_object();
    for (size_t i = 0; i < r->attributes.n; i++)
        json_object_setn_new(attrs, r->attributes.v[i].key.p, r->attributes.v[i].key.len,
                             json_stringn(r->attributes.v[i].value.p, r->attributes.v[i].value.len));
    json_object_set_new(o, "attributes", attrs);
    return o;
}

/* Prints @p o as one line on stdout and frees it. */
static void print_line(json_t *o) {
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s != NULL)
        printf("%s\n", s);
    fflush(stdout);
    free(s);
    json_decref(o);
}

static int do_check(hf_facility_dir *d) {
    const hf_facility_table *t = hf_facility_dir_table(d);
    size_t n = hf_facility_table_count(t), with_tz = 0, with_npi = 0;
    for (size_t i = 0; i < n; i++) {
        with_tz += hf_facility_table_at(t, i)->rec.time_zone.len > 0;
        with_npi += hf_facility_table_at(t, i)->rec.npi.len > 0;
    }
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_true());
    json_object_set_new(o, "kind", json_string(hf_facility_dir_source_kind(d)));
    json_object_set_new(o, "source", json_string(hf_facility_dir_source_desc(d)));
    json_object_set_new(o, "facilities", json_integer((json_int_t)n));
    json_object_set_new(o, "with_time_zone", json_integer((json_int_t)with_tz));
    json_object_set_new(o, "with_npi", json_integer((json_int_t)with_npi));
    print_line(o);
    return 0;
}

static int do_show(hf_facility_dir *d, int nids, char **ids) {
    const hf_facility_table *t = hf_facility_dir_table(d);
    if (nids == 0) {
        for (size_t i = 0; i < hf_facility_table_count(t); i++)
            print_line(facility_json(hf_facility_table_at(t, i)));
        return 0;
    }
    int rc = 0;
    for (int i = 0; i < nids; i++) {
        const hf_facility *f = hf_facility_find(d, (hf_span){ids[i], strlen(ids[i])});
        if (f == NULL) {
            fprintf(stderr, "facilities: no facility '%s' in %s\n", ids[i], hf_facility_dir_source_desc(d));
            rc = 1;
            continue;
        }
        print_line(facility_json(f));
    }
    return rc;
}

static int do_watch(hf_facility_dir *d) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    HF_LOG(HF_LOG_INFO, "facilities_loaded", HF_LID("kind", hf_facility_dir_source_kind(d)),
           HF_LI("facilities", hf_facility_dir_count(d)));
    bool was_stale = false;
    while (!g_stop) {
        bool reloaded = false;
        hf_err err = {0};
        hf_status st = hf_facility_dir_poll(d, hf_mono_ms(), &reloaded, &err);
        if (st != HF_OK) {
            HF_LOG(HF_LOG_WARN, "facilities_reload_failed", HF_LERR(err.msg),
                   HF_LI("facilities", hf_facility_dir_count(d)));
        } else if (reloaded) {
            HF_LOG(HF_LOG_INFO, "facilities_reloaded", HF_LI("facilities", hf_facility_dir_count(d)));
        } else if (was_stale && !hf_facility_dir_stale(d)) {
            HF_LOG(HF_LOG_INFO, "facilities_recovered", HF_LI("facilities", hf_facility_dir_count(d)));
        }
        was_stale = hf_facility_dir_stale(d);
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    HF_LOG(HF_LOG_INFO, "facilities_watch_stopped", HF_LI("facilities", hf_facility_dir_count(d)));
    return 0;
}

/* Parses a positive integer option value; false (and a message) otherwise. */
static bool parse_ms(const char *opt, const char *s, int64_t *out) {
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || v < 1 || v > 86400000LL) {
        fprintf(stderr, "facilities: %s: '%s' is not 1..86400000\n", opt, s);
        return false;
    }
    *out = v;
    return true;
}

int cmd_facilities(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    if (strcmp(action, "check") != 0 && strcmp(action, "show") != 0 && strcmp(action, "watch") != 0) {
        fprintf(stderr, "facilities: unknown action '%s'\n", action);
        usage(stderr);
        return 2;
    }
    hf_facility_dir_opts opts = {0};
    static const struct option lopts[] = {{"table", required_argument, 0, 't'},
                                          {"channel", required_argument, 0, 'c'},
                                          {"poll-ms", required_argument, 0, 'p'},
                                          {"notify-ms", required_argument, 0, 'n'},
                                          {"timeout-s", required_argument, 0, 's'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", lopts, NULL)) != -1) {
        switch (c) {
        case 't': opts.table = optarg; break;
        case 'c': opts.channel = optarg; break;
        case 'p':
            if (!parse_ms("--poll-ms", optarg, &opts.poll_ms))
                return 2;
            break;
        case 'n':
            if (!parse_ms("--notify-ms", optarg, &opts.notify_check_ms))
                return 2;
            break;
        case 's':
            if (!parse_ms("--timeout-s", optarg, &opts.connect_timeout_s) || opts.connect_timeout_s > 3600)
                return 2;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    if (nargs < 1 || (strcmp(action, "show") != 0 && nargs != 1)) {
        usage(stderr);
        return 2;
    }
    const char *source = args[0];
    if (strncmp(source, "file:", 5) != 0 && has_password(source)) {
        fprintf(stderr, "facilities: the source holds a password; command lines are visible to other "
                        "users: give it in PGPASSWORD or a password file (PGPASSFILE)\n");
        return 2;
    }
    hf_facility_dir *d = NULL;
    hf_err err = {0};
    if (hf_facility_dir_open(source, &opts, &d, &err) != HF_OK) {
        fprintf(stderr, "facilities: %s\n", err.msg);
        return 1;
    }
    int rc;
    if (strcmp(action, "check") == 0)
        rc = do_check(d);
    else if (strcmp(action, "show") == 0)
        rc = do_show(d, nargs - 1, args + 1);
    else
        rc = do_watch(d);
    hf_facility_dir_close(d);
    return rc;
}
