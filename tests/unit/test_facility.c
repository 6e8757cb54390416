/* test_facility.c - unit tests for the facility directory (facility.h):
 * the JSON format and every rejection with its location, NPI check digits,
 * UTF-8 and control-character checks through the builder, zones opened and
 * shared, lookup, table equality, file reloads (rewrite, rename, in-place
 * write, Kubernetes-style symlink swap, poll deadline), failed reloads that
 * keep the old table, the shipped dev data, and PostgreSQL sources that
 * cannot be reached (errors name the server, never the password). The
 * PostgreSQL happy paths run against a real server in
 * tests/integration/test_facilities.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl7flow/facility.h"
#include "hl7flow/tz.h"

static hf_span sp(const char *s) { return (hf_span){s, strlen(s)}; }

/* Parses @p text that must load; returns the table. */
static hf_facility_table *parse_ok(const char *text) {
    hf_facility_table *t = NULL;
    hf_err err = {0};
    hf_status st = hf_facility_json_parse(text, strlen(text), "t.json", &t, &err);
    if (st != HF_OK)
        fail_msg("unexpected error: %s", err.msg);
    assert_non_null(t);
    return t;
}

/* Parses @p text that must be refused with @p want and a message holding
 * @p needle; the output stays NULL. */
static void parse_bad(const char *text, hf_status want, const char *needle) {
    hf_facility_table *t = (hf_facility_table *)&t; /* must be reset */
    hf_err err = {0};
    hf_status st = hf_facility_json_parse(text, strlen(text), "t.json", &t, &err);
    assert_null(t);
    if (st != want || strstr(err.msg, needle) == NULL)
        fail_msg("for %s\n got %d '%s'\n want %d and '%s'", text, st, err.msg, want, needle);
    assert_int_equal(err.st, st);
    assert_true(strncmp(err.msg, "t.json: ", 8) == 0);
}

static void assert_span(hf_span s, const char *want) {
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.p, want, s.len);
    assert_int_equal(s.p[s.len], '\0'); /* every span is NUL-terminated */
}

/* ------------------------------------------------------------ JSON format */

static void parses_every_field(void **state) {
    (void)state;
    hf_facility_table *t = parse_ok(
        "{\"facilities\": [\n"
        " {\"facility_id\": \"HOSP_A\", \"name\": \"Springfield General\", \"organization\": \"Contoso\",\n"
        "  \"npi\": \"1234567893\", \"time_zone\": \"America/Chicago\", \"region\": \"us-central\",\n"
        "  \"source_systems\": [\"MEDIVANT\", \"LABSYS\"],\n"
        "  \"attributes\": {\"zeta\": \"last\", \"beds\": \"120\", \"alpha\": \"multi\\nline\",\n"
        "                 \"empty\": \"\"}},\n"
        " {\"facility_id\": \"HOSP_\u00c9\", \"name\": \"\", \"npi\": null, \"time_zone\": null,\n"
        "  \"source_systems\": null, \"attributes\": null},\n"
        " {\"facility_id\": \"HOSP_C\"}\n"
        "]}");
    assert_int_equal(hf_facility_table_count(t), 3);

    const hf_facility *a = hf_facility_table_at(t, 0);
    assert_span(a->rec.facility_id, "HOSP_A");
    assert_span(a->rec.name, "Springfield General");
    assert_span(a->rec.organization, "Contoso");
    assert_span(a->rec.npi, "1234567893");
    assert_span(a->rec.time_zone, "America/Chicago");
    assert_span(a->rec.region, "us-central");
    assert_int_equal(a->rec.source_systems.n, 2); /* source order kept */
    assert_span(a->rec.source_systems.v[0], "MEDIVANT");
    assert_span(a->rec.source_systems.v[1], "LABSYS");
    assert_int_equal(a->rec.attributes.n, 4); /* sorted by key */
    assert_span(a->rec.attributes.v[0].key, "alpha");
    assert_span(a->rec.attributes.v[0].value, "multi\nline");
    assert_span(a->rec.attributes.v[1].key, "beds");
    assert_span(a->rec.attributes.v[2].key, "empty");
    assert_span(a->rec.attributes.v[2].value, "");
    assert_span(a->rec.attributes.v[3].key, "zeta");
    assert_non_null(a->tz);
    assert_string_equal(hf_tz_name(a->tz), "America/Chicago");

    /* "" and null are absent; a non-ASCII id is fine */
    const hf_facility *b = hf_facility_table_at(t, 1);
    assert_span(b->rec.facility_id, "HOSP_\xc3\x89");
    assert_span(b->rec.name, "");
    assert_span(b->rec.npi, "");
    assert_span(b->rec.time_zone, "");
    assert_null(b->tz);
    assert_int_equal(b->rec.source_systems.n, 0);
    assert_int_equal(b->rec.attributes.n, 0);
    assert_ptr_equal(hf_facility_table_at(t, 2), hf_facility_table_find(t, sp("HOSP_C")));
    assert_null(hf_facility_table_at(t, 3));
    hf_facility_table_free(t);
}

static void empty_list_is_a_valid_table(void **state) {
    (void)state;
    hf_facility_table *t = parse_ok("{\"facilities\": []}");
    assert_int_equal(hf_facility_table_count(t), 0);
    assert_null(hf_facility_table_find(t, sp("HOSP_A")));
    hf_facility_table_free(t);
}

static void rejects_bad_documents_with_location(void **state) {
    (void)state;
    /* syntax: line and column from jansson */
    parse_bad("{\"facilities\": [\n{\"facility_id\": \"A\",}]}", HF_ESYNTAX, "t.json: line 2 column");
    parse_bad("", HF_ESYNTAX, "line 1");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"facility_id\": \"B\"}]}", HF_ESYNTAX,
              "duplicate object key");
    /* shape */
    parse_bad("[]", HF_ECONFIG, "one key, \"facilities\"");
    parse_bad("{\"facilities\": {}}", HF_ECONFIG, "holding an array");
    parse_bad("{\"facilities\": [], \"version\": 1}", HF_ECONFIG, "one key");
    parse_bad("{\"facilities\": [\"HOSP_A\"]}", HF_ECONFIG, "t.json: facilities[0]: must be an object");
    /* facility_id */
    parse_bad("{\"facilities\": [{\"name\": \"x\"}]}", HF_ECONFIG, "facilities[0]: facility_id: missing");
    parse_bad("{\"facilities\": [{\"facility_id\": null}]}", HF_ECONFIG, "facility_id: missing");
    parse_bad("{\"facilities\": [{\"facility_id\": 7}]}", HF_ECONFIG, "facility_id: must be a string");
    parse_bad("{\"facilities\": [{\"facility_id\": \"\"}]}", HF_ECONFIG, "facility_id: empty");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\"}, {\"facility_id\": \"B\"},"
              " {\"facility_id\": \"A\"}]}",
              HF_ECONFIG, "facilities[2] (A): facility_id: duplicate (also facilities[0])");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\\tB\"}]}", HF_ESYNTAX,
              "facilities[0]: facility_id: control character at byte 1");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\\u0000B\"}]}", HF_ESYNTAX, "line 1");
    /* unknown keys are typos, wherever they sit in the object */
    parse_bad("{\"facilities\": [{\"time_zome\": \"UTC\", \"facility_id\": \"A\"}]}", HF_ECONFIG,
              "facilities[0] (A): unknown key \"time_zome\"");
    /* types */
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"npi\": 1234567893}]}", HF_ECONFIG,
              "(A): npi: must be a string");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"name\": [\"x\"]}]}", HF_ECONFIG,
              "(A): name: must be a string");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"source_systems\": \"EPIC\"}]}", HF_ECONFIG,
              "source_systems: must be an array");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"source_systems\": [\"EPIC\", 3]}]}", HF_ECONFIG,
              "source_systems[1]: must be a string");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"attributes\": [\"a\"]}]}", HF_ECONFIG,
              "attributes: must be an object");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"attributes\": {\"beds\": 120}}]}", HF_ECONFIG,
              "(A): attributes.\"beds\": must be a string");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"attributes\": {\"x\": {\"y\": \"z\"}}}]}",
              HF_ECONFIG, "attributes.\"x\": must be a string");
    /* values */
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"npi\": \"1234567890\"}]}", HF_ECONFIG,
              "(A): npi: \"1234567890\" is not a valid NPI");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"time_zone\": \"Mars/Olympus_Mons\"}]}",
              HF_ECONFIG,
              "(A): time_zone: \"Mars/Olympus_Mons\": unknown time zone");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"time_zone\": \"GMT+05:00\"}]}", HF_ECONFIG,
              "unknown time zone");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"source_systems\": [\"X\", \"Y\", \"X\"]}]}",
              HF_ECONFIG, "(A): source_systems[2]: \"X\" listed twice");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"source_systems\": [\"\"]}]}", HF_ECONFIG,
              "source_systems[0]: empty");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"attributes\": {\"\": \"v\"}}]}", HF_ECONFIG,
              "attributes: empty key");
    parse_bad("{\"facilities\": [{\"facility_id\": \"A\", \"region\": \"a\\u0007b\"}]}", HF_ESYNTAX,
              "region: control character");
}

static void rejects_values_over_the_limits(void **state) {
    (void)state;
    char *text = malloc(64 * 1024);
    assert_non_null(text);
    /* facility_id of HF_FACILITY_ID_MAX + 1 bytes */
    int n = snprintf(text, 64 * 1024, "{\"facilities\": [{\"facility_id\": \"");
    memset(text + n, 'x', HF_FACILITY_ID_MAX + 1);
    strcpy(text + n + HF_FACILITY_ID_MAX + 1, "\"}]}");
    parse_bad(text, HF_ELIMIT, "facility_id: longer than 256 bytes");
    /* exactly the limit is fine */
    strcpy(text + n + HF_FACILITY_ID_MAX, "\"}]}");
    hf_facility_table *t = parse_ok(text);
    hf_facility_table_free(t);
    /* one source system too many */
    n = snprintf(text, 64 * 1024, "{\"facilities\": [{\"facility_id\": \"A\", \"source_systems\": [");
    for (int i = 0; i <= HF_FACILITY_LIST_MAX; i++)
        n += snprintf(text + n, (size_t)(64 * 1024 - n), "%s\"S%d\"", i ? "," : "", i);
    snprintf(text + n, (size_t)(64 * 1024 - n), "]}]}");
    parse_bad(text, HF_ELIMIT, "source_systems: more than 256");
    free(text);
}

/* ------------------------------------------------------------------ NPI */

/* Builds one facility with this NPI; returns the builder's status. */
static hf_status try_npi(const char *npi) {
    hf_facility_builder *b = NULL;
    hf_err err = {0};
    assert_int_equal(hf_facility_builder_new("npi", &b, &err), HF_OK);
    assert_int_equal(hf_facility_builder_begin(b, "x", &err), HF_OK);
    assert_int_equal(hf_facility_builder_set(b, HF_FAC_FACILITY_ID, sp("F"), &err), HF_OK);
    hf_status st = hf_facility_builder_set(b, HF_FAC_NPI, sp(npi), &err);
    hf_facility_builder_free(b);
    return st;
}

static void npi_check_digit_follows_cms(void **state) {
    (void)state;
    /* CMS's worked example, and check digits computed by hand */
    assert_int_equal(try_npi("1234567893"), HF_OK);
    assert_int_equal(try_npi("1999000015"), HF_OK);
    assert_int_equal(try_npi("2000000002"), HF_OK);
    /* every single-digit change of a valid NPI breaks the check (Luhn) */
    const char *good = "1234567893";
    char npi[11];
    for (int pos = 0; pos < 10; pos++) {
        for (char d = '0'; d <= '9'; d++) {
            if (d == good[pos])
                continue;
            memcpy(npi, good, 11);
            npi[pos] = d;
            assert_int_equal(try_npi(npi), HF_ECONFIG);
        }
    }
    assert_int_equal(try_npi("123456789"), HF_ECONFIG);   /* 9 digits */
    assert_int_equal(try_npi("12345678930"), HF_ECONFIG); /* 11 digits */
    assert_int_equal(try_npi("123456789X"), HF_ECONFIG);
    assert_int_equal(try_npi(" 1234567893"), HF_ECONFIG);
}

/* -------------------------------------------------------------- builder */

/* Sets a name of @p len raw bytes; returns the status. */
static hf_status try_name(const char *bytes, size_t len, char *msg, size_t msglen) {
    hf_facility_builder *b = NULL;
    hf_err err = {0};
    assert_int_equal(hf_facility_builder_new("utf8", &b, &err), HF_OK);
    assert_int_equal(hf_facility_builder_begin(b, "e", &err), HF_OK);
    assert_int_equal(hf_facility_builder_set(b, HF_FAC_FACILITY_ID, sp("F"), &err), HF_OK);
    hf_status st = hf_facility_builder_set(b, HF_FAC_NAME, (hf_span){bytes, len}, &err);
    snprintf(msg, msglen, "%s", err.msg);
    hf_facility_builder_free(b);
    return st;
}

static void builder_checks_utf8_and_controls(void **state) {
    (void)state;
    char msg[512];
    static const char ok[] = "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    assert_int_equal(try_name(ok, strlen(ok), msg, sizeof msg), HF_OK);
    static const struct {
        const char *bytes;
        size_t len;
        const char *needle;
    } bad[] = {
        {"ab\xc0\xaf", 4, "invalid UTF-8 at byte 2"},     /* overlong '/' */
        {"\xed\xa0\x80", 3, "invalid UTF-8 at byte 0"},   /* surrogate */
        {"x\xf4\x90\x80\x80", 5, "invalid UTF-8 at byte 1"}, /* above U+10FFFF */
        {"\xe2\x82", 2, "invalid UTF-8 at byte 0"},       /* truncated */
        {"\x80", 1, "invalid UTF-8 at byte 0"},           /* lone continuation */
        {"a\0b", 3, "control character at byte 1"},       /* NUL inside the span */
        {"a\nb", 3, "control character at byte 1"},
        {"a\x7f", 2, "control character at byte 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hf_status st = try_name(bad[i].bytes, bad[i].len, msg, sizeof msg);
        assert_int_equal(st, HF_ESYNTAX);
        if (strstr(msg, bad[i].needle) == NULL || strstr(msg, "utf8: e (F): name: ") == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, msg, bad[i].needle);
    }
}

static void builder_refuses_misuse_and_use_after_error(void **state) {
    (void)state;
    hf_facility_builder *b = NULL;
    hf_facility_table *t = NULL;
    hf_err err = {0};
    assert_int_equal(hf_facility_builder_new("m", &b, &err), HF_OK);
    assert_int_equal(hf_facility_builder_set(b, HF_FAC_NAME, sp("x"), &err), HF_EFATAL); /* no entry */
    assert_int_equal(hf_facility_builder_begin(b, "e", &err), HF_EFATAL);             /* failed before */
    assert_int_equal(hf_facility_builder_finish(b, &t, &err), HF_EFATAL);             /* frees b */
    assert_null(t);

    assert_int_equal(hf_facility_builder_new("m", &b, &err), HF_OK);
    assert_int_equal(hf_facility_builder_begin(b, "e", &err), HF_OK);
    assert_int_equal(hf_facility_builder_set(b, HF_FAC_FACILITY_ID, sp("A"), &err), HF_OK);
    assert_int_equal(hf_facility_builder_set(b, HF_FAC_FACILITY_ID, sp("B"), &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "m: e (A): facility_id: given twice"));
    assert_int_equal(hf_facility_builder_finish(b, &t, &err), HF_EFATAL);
    assert_null(t);

    /* an entry left open cannot be finished */
    assert_int_equal(hf_facility_builder_new("m", &b, &err), HF_OK);
    assert_int_equal(hf_facility_builder_begin(b, "e", &err), HF_OK);
    assert_int_equal(hf_facility_builder_finish(b, &t, &err), HF_EFATAL);
    assert_null(t);
    hf_facility_builder_free(NULL);
}

static void facilities_in_one_zone_share_it(void **state) {
    (void)state;
    hf_facility_table *t = parse_ok("{\"facilities\": ["
                                    "{\"facility_id\": \"A\", \"time_zone\": \"America/Denver\"},"
                                    "{\"facility_id\": \"B\", \"time_zone\": \"Pacific/Honolulu\"},"
                                    "{\"facility_id\": \"C\", \"time_zone\": \"America/Denver\"},"
                                    "{\"facility_id\": \"D\", \"time_zone\": \"US/Central\"}]}");
    const hf_facility *a = hf_facility_table_find(t, sp("A")), *b = hf_facility_table_find(t, sp("B")),
                      *c = hf_facility_table_find(t, sp("C")), *d = hf_facility_table_find(t, sp("D"));
    assert_non_null(a->tz);
    assert_ptr_equal(a->tz, c->tz);
    assert_ptr_not_equal(a->tz, b->tz);
    assert_string_equal(hf_tz_name(b->tz), "Pacific/Honolulu");
    assert_string_equal(hf_tz_name(d->tz), "US/Central"); /* aliases accepted */
    /* the zone converts: 2024-01-15T12:00 wall in Honolulu (UTC-10) is 22:00Z */
    int64_t wall = (int64_t)19737 * 86400 * 1000000 + (int64_t)12 * 3600 * 1000000;
    assert_true(hf_tz_to_utc_us(b->tz, wall) == wall + (int64_t)10 * 3600 * 1000000);
    hf_facility_table_free(t);
}

/* ------------------------------------------------------ lookup, equality */

static void lookup_is_exact_on_the_span(void **state) {
    (void)state;
    /* enough entries to grow the index several times */
    char *text = malloc(1 << 20);
    assert_non_null(text);
    int n = snprintf(text, 1 << 20, "{\"facilities\": [");
    for (int i = 0; i < 1000; i++)
        n += snprintf(text + n, (size_t)((1 << 20) - n), "%s{\"facility_id\": \"F%04d\", \"name\": \"N%d\"}",
                      i ? "," : "", i, i);
    snprintf(text + n, (size_t)((1 << 20) - n), "]}");
    hf_facility_table *t = parse_ok(text);
    free(text);
    assert_int_equal(hf_facility_table_count(t), 1000);
    for (int i = 0; i < 1000; i++) {
        char id[16], name[16];
        snprintf(id, sizeof id, "F%04d", i);
        snprintf(name, sizeof name, "N%d", i);
        const hf_facility *f = hf_facility_table_find(t, sp(id));
        assert_non_null(f);
        assert_span(f->rec.name, name);
        assert_ptr_equal(f, hf_facility_table_at(t, (size_t)i));
    }
    /* a span into a longer buffer: only len bytes count */
    assert_non_null(hf_facility_table_find(t, (hf_span){"F0007|HOSP", 5}));
    assert_null(hf_facility_table_find(t, (hf_span){"F0007|HOSP", 4}));
    assert_null(hf_facility_table_find(t, sp("F00070")));
    assert_null(hf_facility_table_find(t, sp("f0007"))); /* case matters */
    assert_null(hf_facility_table_find(t, (hf_span){NULL, 0}));
    assert_null(hf_facility_table_find(NULL, sp("F0001")));
    hf_facility_table_free(t);
}

static void equality_sees_every_field(void **state) {
    (void)state;
    const char *base = "{\"facilities\": [{\"facility_id\": \"A\", \"name\": \"N\","
                       " \"source_systems\": [\"S\", \"T\"],"
                       " \"attributes\": {\"k\": \"v\", \"j\": \"w\"}}, {\"facility_id\": \"B\"}]}";
    hf_facility_table *a = parse_ok(base);
    /* the same content with keys and attributes in another order */
    hf_facility_table *same = parse_ok("{\"facilities\": [{\"attributes\": {\"j\": \"w\", \"k\": \"v\"},"
                                       " \"source_systems\": [\"S\", \"T\"], \"name\": \"N\","
                                       " \"facility_id\": \"A\"},"
                                       " {\"facility_id\": \"B\", \"region\": null}]}");
    assert_true(hf_facility_table_equal(a, same));
    static const char *const differ[] = {
        "{\"facilities\": [{\"facility_id\": \"A\", \"name\": \"M\", \"source_systems\": [\"S\", \"T\"],"
        " \"attributes\": {\"k\": \"v\", \"j\": \"w\"}}, {\"facility_id\": \"B\"}]}",
        "{\"facilities\": [{\"facility_id\": \"A\", \"name\": \"N\", \"source_systems\": [\"T\", \"S\"],"
        " \"attributes\": {\"k\": \"v\", \"j\": \"w\"}}, {\"facility_id\": \"B\"}]}",
        "{\"facilities\": [{\"facility_id\": \"A\", \"name\": \"N\", \"source_systems\": [\"S\", \"T\"],"
        " \"attributes\": {\"k\": \"v\", \"j\": \"x\"}}, {\"facility_id\": \"B\"}]}",
        "{\"facilities\": [{\"facility_id\": \"A\", \"name\": \"N\", \"source_systems\": [\"S\", \"T\"],"
        " \"attributes\": {\"k\": \"v\"}}, {\"facility_id\": \"B\"}]}",
        "{\"facilities\": [{\"facility_id\": \"A\", \"name\": \"N\", \"source_systems\": [\"S\", \"T\"],"
        " \"attributes\": {\"k\": \"v\", \"j\": \"w\"}}, {\"facility_id\": \"B\", \"time_zone\": \"UTC\"}]}",
        "{\"facilities\": [{\"facility_id\": \"B\"}, {\"facility_id\": \"A\", \"name\": \"N\","
        " \"source_systems\": [\"S\", \"T\"], \"attributes\": {\"k\": \"v\", \"j\": \"w\"}}]}",
        "{\"facilities\": [{\"facility_id\": \"A\", \"name\": \"N\", \"source_systems\": [\"S\", \"T\"],"
        " \"attributes\": {\"k\": \"v\", \"j\": \"w\"}}]}",
    };
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        hf_facility_table *b = parse_ok(differ[i]);
        if (hf_facility_table_equal(a, b))
            fail_msg("variant %zu compared equal", i);
        hf_facility_table_free(b);
    }
    hf_facility_table_free(same);
    hf_facility_table_free(a);
}

/* ------------------------------------------------------ files, reloads */

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_facility_XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    snprintf(fx->path, sizeof fx->path, "%s/facilities.json", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    int rc = system(cmd);
    free(fx);
    return rc == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Writes to a temporary name and renames over @p path (a new inode), as
 * editors and config management do. */
static void replace_file(const char *path, const char *text) {
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    write_text(tmp, text);
    assert_int_equal(rename(tmp, path), 0);
}

/* A one-facility document whose name is @p name. */
static const char *doc(const char *name) {
    static char buf[256];
    snprintf(buf, sizeof buf,
             "{\"facilities\": [{\"facility_id\": \"HOSP_A\", \"name\": \"%s\", \"time_zone\": \"UTC\"},"
             " {\"facility_id\": \"HOSP_B\"}]}",
             name);
    return buf;
}

static const char *name_of(hf_facility_dir *d, const char *id) {
    const hf_facility *f = hf_facility_find(d, sp(id));
    return f == NULL ? NULL : f->rec.name.p;
}

/* Polls at @p now; asserts the status and returns *reloaded. */
static bool poll_at(hf_facility_dir *d, int64_t now, hf_status want) {
    bool reloaded = true;
    hf_err err = {0};
    hf_status st = hf_facility_dir_poll(d, now, &reloaded, &err);
    if (st != want)
        fail_msg("poll at %lld: got %d '%s', want %d", (long long)now, st, err.msg, want);
    if (st != HF_OK)
        assert_false(reloaded);
    return reloaded;
}

static void file_reloads_on_rewrite_after_the_deadline(void **state) {
    fixture *fx = *state;
    write_text(fx->path, doc("One"));
    hf_facility_dir *d = NULL;
    hf_err err = {0};
    hf_facility_dir_opts opts = {.poll_ms = 1000};
    assert_int_equal(hf_facility_dir_open(fx->path, &opts, &d, &err), HF_OK);
    assert_string_equal(hf_facility_dir_source_kind(d), "file");
    assert_string_equal(hf_facility_dir_source_desc(d), fx->path);
    assert_int_equal(hf_facility_dir_count(d), 2);
    assert_string_equal(name_of(d, "HOSP_A"), "One");

    assert_false(poll_at(d, 10000, HF_OK)); /* first check: same content, no reload */
    replace_file(fx->path, doc("Two"));
    assert_false(poll_at(d, 10500, HF_OK)); /* before the deadline: not even looked at */
    assert_string_equal(name_of(d, "HOSP_A"), "One");
    assert_true(poll_at(d, 11000, HF_OK));
    assert_string_equal(name_of(d, "HOSP_A"), "Two");
    assert_false(poll_at(d, 12000, HF_OK)); /* no change since */

    /* in-place rewrite of the same length (same inode) */
    write_text(fx->path, doc("Six"));
    assert_true(poll_at(d, 13000, HF_OK));
    assert_string_equal(name_of(d, "HOSP_A"), "Six");
    assert_false(hf_facility_dir_stale(d));
    hf_facility_dir_close(d);
}

static void failed_reload_keeps_the_old_table(void **state) {
    fixture *fx = *state;
    write_text(fx->path, doc("Good"));
    hf_facility_dir *d = NULL;
    hf_err err = {0};
    hf_facility_dir_opts opts = {.poll_ms = 100};
    assert_int_equal(hf_facility_dir_open(fx->path, &opts, &d, &err), HF_OK);

    /* half-written file */
    replace_file(fx->path, "{\"facilities\": [{\"facility_id\": \"HOSP_A\", \"na");
    bool reloaded = true;
    assert_int_equal(hf_facility_dir_poll(d, 1000, &reloaded, &err), HF_ESYNTAX);
    assert_false(reloaded);
    assert_non_null(strstr(err.msg, fx->path));
    assert_true(hf_facility_dir_stale(d));
    assert_int_equal(hf_facility_dir_count(d), 2);
    assert_string_equal(name_of(d, "HOSP_A"), "Good");
    /* the next poll tries again and fails again */
    assert_false(poll_at(d, 1100, HF_ESYNTAX));

    /* an invalid entry: the error names it, the table stays */
    replace_file(fx->path, "{\"facilities\": [{\"facility_id\": \"HOSP_A\", \"npi\": \"1111111111\"}]}");
    err.msg[0] = '\0';
    assert_int_equal(hf_facility_dir_poll(d, 1200, &reloaded, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "facilities[0] (HOSP_A): npi"));
    assert_string_equal(name_of(d, "HOSP_A"), "Good");

    /* the file disappears: HF_ENOTFOUND, table kept */
    assert_int_equal(unlink(fx->path), 0);
    assert_false(poll_at(d, 1300, HF_ENOTFOUND));
    assert_int_equal(hf_facility_dir_count(d), 2);

    /* the old content comes back: healthy again, but nothing to reload */
    replace_file(fx->path, doc("Good"));
    assert_false(poll_at(d, 1400, HF_OK));
    assert_false(hf_facility_dir_stale(d));
    /* a real change after that reloads */
    replace_file(fx->path, doc("Better"));
    assert_true(poll_at(d, 1500, HF_OK));
    assert_string_equal(name_of(d, "HOSP_A"), "Better");
    hf_facility_dir_close(d);
}

static void follows_a_configmap_symlink_swap(void **state) {
    fixture *fx = *state;
    /* Kubernetes layout: facilities.json -> ..data/facilities.json,
     * ..data -> ..2024_v1; an update writes ..2024_v2 and renames a new
     * ..data symlink over the old one. */
    char v1[128], v2[128], data[128], tmp[128], path[128];
    snprintf(v1, sizeof v1, "%s/..v1", fx->dir);
    snprintf(v2, sizeof v2, "%s/..v2", fx->dir);
    snprintf(data, sizeof data, "%s/..data", fx->dir);
    snprintf(tmp, sizeof tmp, "%s/..data_tmp", fx->dir);
    snprintf(path, sizeof path, "%s/cm.json", fx->dir);
    assert_int_equal(mkdir(v1, 0755), 0);
    assert_int_equal(mkdir(v2, 0755), 0);
    char f1[160], f2[160];
    snprintf(f1, sizeof f1, "%s/cm.json", v1);
    snprintf(f2, sizeof f2, "%s/cm.json", v2);
    write_text(f1, doc("Version1"));
    write_text(f2, doc("Version2"));
    assert_int_equal(symlink("..v1", data), 0);
    assert_int_equal(symlink("..data/cm.json", path), 0);

    hf_facility_dir *d = NULL;
    hf_err err = {0};
    hf_facility_dir_opts opts = {.poll_ms = 50};
    char src[200];
    snprintf(src, sizeof src, "file:%s", path);
    assert_int_equal(hf_facility_dir_open(src, &opts, &d, &err), HF_OK);
    assert_string_equal(name_of(d, "HOSP_A"), "Version1");
    assert_false(poll_at(d, 0, HF_OK));

    assert_int_equal(symlink("..v2", tmp), 0);
    assert_int_equal(rename(tmp, data), 0);
    assert_true(poll_at(d, 50, HF_OK));
    assert_string_equal(name_of(d, "HOSP_A"), "Version2");
    hf_facility_dir_close(d);
}

static void open_fails_precisely(void **state) {
    fixture *fx = *state;
    hf_facility_dir *d = (hf_facility_dir *)&d;
    hf_err err = {0};
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.json", fx->dir);
    assert_int_equal(hf_facility_dir_open(missing, NULL, &d, &err), HF_ENOTFOUND);
    assert_null(d);
    assert_non_null(strstr(err.msg, "none.json: cannot open"));

    assert_int_equal(hf_facility_dir_open(fx->dir, NULL, &d, &err), HF_EIO); /* a directory */
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(hf_facility_dir_open("", NULL, &d, &err), HF_ECONFIG);
    assert_int_equal(hf_facility_dir_open(NULL, NULL, &d, &err), HF_ECONFIG);

    /* file: forces a path even when it looks like keyword=value */
    assert_int_equal(hf_facility_dir_open("file:host=x.json", NULL, &d, &err), HF_ENOTFOUND);
    assert_non_null(strstr(err.msg, "facilities file host=x.json"));

    write_text(fx->path, "{\"facilities\": [{\"facility_id\": \"A\", \"region\": 5}]}");
    assert_int_equal(hf_facility_dir_open(fx->path, NULL, &d, &err), HF_ECONFIG);
    assert_null(d);
    char want[200];
    snprintf(want, sizeof want, "facilities file %s: facilities[0] (A): region: must be a string", fx->path);
    assert_string_equal(err.msg, want);
}

static void dev_data_covers_the_generator(void **state) {
    (void)state;
    hf_facility_dir *d = NULL;
    hf_err err = {0};
    if (hf_facility_dir_open("config/facilities.dev.json", NULL, &d, &err) != HF_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(hf_facility_dir_count(d), 26);
    /* the generator's facilities HOSP_A..HOSP_Z, its sending application
     * (MSH-3) as source system, and its facility names */
    static const char *const apps[] = {"MEDIVANT", "CARESPHERE", "CLINIGRID", "HEALTHWEAVE",
                                       "PATIENTCORE", "NORTHSTAR", "VITALINK"};
    int non_us = 0;
    for (int i = 0; i < 26; i++) {
        char id[8];
        snprintf(id, sizeof id, "HOSP_%c", 'A' + i);
        const hf_facility *f = hf_facility_find(d, sp(id));
        assert_non_null(f);
        assert_int_equal(f->rec.source_systems.n, 1);
        assert_span(f->rec.source_systems.v[0], apps[i % 7]);
        assert_non_null(f->tz);
        assert_true(f->rec.name.len > 0 && f->rec.organization.len > 0 && f->rec.region.len > 0);
        const char *zone = f->rec.time_zone.p;
        non_us += strncmp(zone, "America/", 8) != 0 && strncmp(zone, "Pacific/", 8) != 0;
    }
    assert_int_equal(non_us, 1);
    assert_span(hf_facility_find(d, sp("HOSP_P"))->rec.name, "Franklin General Hospital");
    assert_span(hf_facility_find(d, sp("HOSP_W"))->rec.name, "Riverside Community Hospital");
    hf_facility_dir_close(d);
}

/* ---------------------------------------------------------- PostgreSQL */

static void postgres_errors_name_the_server_never_the_password(void **state) {
    (void)state;
    hf_facility_dir *d = NULL;
    hf_err err = {0};
    hf_facility_dir_opts opts = {.connect_timeout_s = 5};
    /* port 1 on loopback: refused at once */
    assert_int_equal(hf_facility_dir_open("postgresql://alice:s3cr3t@127.0.0.1:1/fac", &opts, &d, &err),
                     HF_ERETRY);
    assert_null(d);
    assert_non_null(strstr(err.msg, "postgres host=127.0.0.1 port=1 dbname=fac user=alice: cannot connect"));
    assert_null(strstr(err.msg, "s3cr3t"));

    const char *with_password = "host=127.0.0.1 port=1 dbname=fac password=s3cr3t";
    assert_int_equal(hf_facility_dir_open(with_password, &opts, &d, &err), HF_ERETRY);
    assert_non_null(strstr(err.msg, "postgres host=127.0.0.1 port=1 dbname=fac:"));
    assert_null(strstr(err.msg, "s3cr3t"));

    /* refused before connecting: a malformed string, unsafe names */
    const char *malformed = "host=127.0.0.1 password=s3cr3t port";
    assert_int_equal(hf_facility_dir_open(malformed, &opts, &d, &err), HF_ECONFIG);
    assert_null(strstr(err.msg, "s3cr3t"));
    assert_int_equal(hf_facility_dir_open("postgres://bad uri%zz", &opts, &d, &err), HF_ECONFIG);
    hf_facility_dir_opts bad_table = {.table = "fac; DROP TABLE x"};
    assert_int_equal(hf_facility_dir_open("host=127.0.0.1 port=1", &bad_table, &d, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "table name"));
    hf_facility_dir_opts bad_channel = {.channel = "a-b"};
    assert_int_equal(hf_facility_dir_open("host=127.0.0.1 port=1", &bad_channel, &d, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "channel name"));
    assert_null(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_field),
        cmocka_unit_test(empty_list_is_a_valid_table),
        cmocka_unit_test(rejects_bad_documents_with_location),
        cmocka_unit_test(rejects_values_over_the_limits),
        cmocka_unit_test(npi_check_digit_follows_cms),
        cmocka_unit_test(builder_checks_utf8_and_controls),
        cmocka_unit_test(builder_refuses_misuse_and_use_after_error),
        cmocka_unit_test(facilities_in_one_zone_share_it),
        cmocka_unit_test(lookup_is_exact_on_the_span),
        cmocka_unit_test(equality_sees_every_field),
        cmocka_unit_test_setup_teardown(file_reloads_on_rewrite_after_the_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_reload_keeps_the_old_table, setup, teardown),
        cmocka_unit_test_setup_teardown(follows_a_configmap_symlink_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(open_fails_precisely, setup, teardown),
        cmocka_unit_test(dev_data_covers_the_generator),
        cmocka_unit_test(postgres_errors_name_the_server_never_the_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
