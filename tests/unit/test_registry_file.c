/* test_registry_file.c - unit tests for the file: registry mode and the
 * schema-directory rules (registry.h): subject of a file name, which files
 * a directory yields, the deterministic file id (checked against values
 * computed independently with Python's json + hashlib), lookups of the
 * latest id and of released versions by id, avro-c parsing through the
 * cache, and the settings string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl7flow/registry.h"

static const char REC_A[] =
    "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}";
/* the same schema, reformatted and with its keys in another order */
static const char REC_A_REFORMATTED[] =
    "{\n  \"fields\": [ {\"type\": \"string\", \"name\": \"a\"} ],\n  \"name\": \"R\",\n"
    "  \"type\": \"record\"\n}\n";
static const char REC_B[] =
    "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},"
    "{\"name\":\"b\",\"type\":[\"null\",\"long\"],\"default\":null}]}";

typedef struct fixture {
    char dir[64];
} fixture;

static void write_file(const char *dir, const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_tree(const char *dir) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_registry_file_XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    remove_tree(fx->dir);
    free(fx);
    return 0;
}

static hf_registry *open_url(const char *url, hf_err *err, hf_status want) {
    hf_registry_cfg cfg = {.url = (char *)url, .cache_max = 4, .ttl_ms = 1000, .timeout_ms = 1000};
    hf_registry *reg = NULL;
    hf_status st = hf_registry_open(&cfg, &reg, err);
    if (st != want)
        fail_msg("open %s: status %d (%s), want %d", url, st, err->msg, want);
    return reg;
}

/* ---- subjects and directories ------------------------------------------ */

static void subject_follows_topic_name_strategy(void **state) {
    (void)state;
    char s[64];
    assert_true(hf_schema_subject_of("hl7.parsed.adt.avsc", s, sizeof s));
    assert_string_equal(s, "hl7.parsed.adt-value");
    assert_true(hf_schema_subject_of("hl7.validated.avsc", s, sizeof s));
    assert_string_equal(s, "hl7.validated-value");
    assert_true(hf_schema_subject_of("hl7.parsed.adt-key.avsc", s, sizeof s));
    assert_string_equal(s, "hl7.parsed.adt-key");
    assert_true(hf_schema_subject_of("x-value.avsc", s, sizeof s));
    assert_string_equal(s, "x-value");
    assert_false(hf_schema_subject_of("x.json", s, sizeof s));
    assert_false(hf_schema_subject_of(".avsc", s, sizeof s));
    assert_false(hf_schema_subject_of("a b.avsc", s, sizeof s));
    assert_false(hf_schema_subject_of("a/b.avsc", s, sizeof s));
    char tiny[8];
    assert_false(hf_schema_subject_of("hl7.parsed.adt.avsc", tiny, sizeof tiny));
}

static void dir_load_reads_avsc_files_sorted(void **state) {
    fixture *fx = *state;
    write_file(fx->dir, "b.topic.avsc", REC_B);
    write_file(fx->dir, "a.topic.avsc", REC_A);
    write_file(fx->dir, "notes.txt", "not a schema");
    write_file(fx->dir, ".hidden.avsc", "garbage");
    char sub[128];
    snprintf(sub, sizeof sub, "%s/.released", fx->dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    write_file(sub, "a.topic.avsc", REC_A);

    hf_schema_dir d;
    hf_err err = {0};
    assert_int_equal(hf_schema_dir_load(fx->dir, &d, &err), HF_OK);
    assert_int_equal(d.count, 2);
    assert_string_equal(d.files[0].name, "a.topic.avsc");
    assert_string_equal(d.files[0].subject, "a.topic-value");
    assert_string_equal(d.files[0].text, REC_A);
    assert_int_equal(d.files[0].len, strlen(REC_A));
    assert_string_equal(d.files[1].subject, "b.topic-value");
    assert_ptr_equal(hf_schema_dir_find(&d, "b.topic-value"), &d.files[1]);
    assert_null(hf_schema_dir_find(&d, "c-value"));
    hf_schema_dir_fini(&d);
    hf_schema_dir_fini(&d); /* twice is fine */
}

static void dir_load_rejects_bad_names_and_duplicates(void **state) {
    fixture *fx = *state;
    hf_schema_dir d;
    hf_err err = {0};
    write_file(fx->dir, "x.avsc", REC_A);
    write_file(fx->dir, "x-value.avsc", REC_B);
    assert_int_equal(hf_schema_dir_load(fx->dir, &d, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "both map to subject x-value"));
    assert_int_equal(d.count, 0);
    char path[256];
    snprintf(path, sizeof path, "%s/x-value.avsc", fx->dir);
    unlink(path);
    write_file(fx->dir, "bad name.avsc", REC_A);
    assert_int_equal(hf_schema_dir_load(fx->dir, &d, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "bad name.avsc: a schema file name must be <topic>.avsc"));
    snprintf(path, sizeof path, "%s/bad name.avsc", fx->dir);
    unlink(path);
    write_file(fx->dir, "y.avsc", "{not json");
    assert_int_equal(hf_schema_dir_load(fx->dir, &d, &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "y.avsc: not JSON"));
    assert_int_equal(hf_schema_dir_load("/nonexistent/dir", &d, &err), HF_EIO);
}

/* ---- ids ------------------------------------------------------------------ */

static void file_id_is_sha256_of_normalized_json(void **state) {
    (void)state;
    uint32_t a = 0, a2 = 0, b = 0, s = 0;
    hf_err err = {0};
    assert_int_equal(hf_schema_file_id(REC_A, strlen(REC_A), &a, &err), HF_OK);
    assert_int_equal(hf_schema_file_id(REC_A_REFORMATTED, strlen(REC_A_REFORMATTED), &a2, &err),
                     HF_OK);
    assert_int_equal(hf_schema_file_id(REC_B, strlen(REC_B), &b, &err), HF_OK);
    assert_int_equal(hf_schema_file_id("\"string\"", 8, &s, &err), HF_OK);
    /* computed with: sha256(json.dumps(x, sort_keys=True, separators=(',',':')))[:4] & 0x7fffffff
     */
    assert_int_equal(a, 457904257u);
    assert_int_equal(s, 1776665033u);
    assert_int_equal(a2, a);
    assert_int_not_equal(b, a);
    assert_true(b <= 0x7fffffffu && b != 0);
    assert_int_equal(hf_schema_file_id("{", 1, &s, &err), HF_ESYNTAX);
}

/* ---- file: mode -------------------------------------------------------- */

static void file_mode_serves_latest_and_released_by_id(void **state) {
    fixture *fx = *state;
    write_file(fx->dir, "t.avsc", REC_B);
    char rel[128], url[160];
    snprintf(rel, sizeof rel, "%s/.released", fx->dir);
    assert_int_equal(mkdir(rel, 0755), 0);
    write_file(rel, "t.avsc", REC_A);
    snprintf(url, sizeof url, "file:%s/", fx->dir);

    hf_err err = {0};
    hf_registry *reg = open_url(url, &err, HF_OK);
    assert_int_equal(hf_registry_mode_of(reg), HF_REG_FILE);
    char want_desc[160];
    snprintf(want_desc, sizeof want_desc, "file:%s", fx->dir);
    assert_string_equal(hf_registry_describe(reg), want_desc);

    uint32_t id = 0, id_a = 0, id_b = 0;
    hf_schema_file_id(REC_A, strlen(REC_A), &id_a, &err);
    hf_schema_file_id(REC_B, strlen(REC_B), &id_b, &err);
    assert_int_equal(hf_registry_topic_id(reg, "t", &id, &err), HF_OK);
    assert_int_equal(id, id_b);

    char *text = NULL;
    assert_int_equal(hf_registry_schema_text(reg, id_a, &text, &err), HF_OK);
    assert_string_equal(text, REC_A); /* the released version, by id */
    free(text);

    avro_schema_t s = NULL;
    assert_int_equal(hf_registry_schema(reg, id_b, &s, &err), HF_OK);
    assert_true(is_avro_record(s));
    assert_string_equal(avro_schema_name(s), "R");
    avro_value_iface_t *iface = NULL;
    assert_int_equal(hf_registry_iface(reg, id_b, &iface, &err), HF_OK);
    avro_value_t v;
    assert_int_equal(avro_generic_value_new(iface, &v), 0);
    size_t n = 0;
    avro_value_get_size(&v, &n);
    assert_int_equal(n, 2);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);

    assert_int_equal(hf_registry_latest_id(reg, "other-value", &id, &err), HF_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no schema for subject other-value"));
    assert_int_equal(hf_registry_schema_text(reg, 12345, &text, &err), HF_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no schema has id 12345"));

    hf_registry_reg r;
    assert_int_equal(hf_registry_register(reg, "t-value", REC_A, &r, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "read-only"));
    assert_int_equal(hf_registry_set_compat(reg, "t-value", "FULL", &err), HF_ECONFIG);
    hf_registry_close(reg);
    /* the schema reference outlives the client */
    assert_string_equal(avro_schema_name(s), "R");
    avro_schema_decref(s);
}

static void file_mode_cache_is_bounded(void **state) {
    fixture *fx = *state;
    /* five distinct schemas, a cache of four */
    char name[32], text[128];
    uint32_t ids[5];
    hf_err err = {0};
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "t%d.avsc", i);
        snprintf(text, sizeof text, "{\"type\":\"fixed\",\"name\":\"F%d\",\"size\":%d}", i, i + 1);
        write_file(fx->dir, name, text);
        hf_schema_file_id(text, strlen(text), &ids[i], &err);
    }
    char url[128];
    snprintf(url, sizeof url, "file:%s", fx->dir);
    hf_registry *reg = open_url(url, &err, HF_OK);
    avro_schema_t held[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(hf_registry_schema(reg, ids[i], &held[i], &err), HF_OK);
    /* evicted entries' schemas stay valid for their holders */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(avro_schema_fixed_size(held[i]), i + 1);
        avro_schema_decref(held[i]);
    }
    /* and can be fetched again */
    avro_schema_t again = NULL;
    assert_int_equal(hf_registry_schema(reg, ids[0], &again, &err), HF_OK);
    assert_int_equal(avro_schema_fixed_size(again), 1);
    avro_schema_decref(again);
    hf_registry_close(reg);
}

static void file_mode_refuses_invalid_directory(void **state) {
    fixture *fx = *state;
    hf_err err = {0};
    char url[128];
    snprintf(url, sizeof url, "file:%s/missing", fx->dir);
    assert_null(open_url(url, &err, HF_EIO));
    assert_non_null(strstr(err.msg, "No such file or directory"));
    /* a text avro-c rejects is reported when parsed, naming the id */
    write_file(fx->dir, "odd.avsc", "{\"type\":\"recordx\"}");
    snprintf(url, sizeof url, "file:%s", fx->dir);
    hf_registry *reg = open_url(url, &err, HF_OK);
    uint32_t id = 0;
    assert_int_equal(hf_registry_topic_id(reg, "odd", &id, &err), HF_OK);
    avro_schema_t s = NULL;
    assert_int_equal(hf_registry_schema(reg, id, &s, &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "avro-c rejects it"));
    hf_registry_close(reg);
}

/* ---- settings ------------------------------------------------------------ */

static void url_setting_picks_the_mode(void **state) {
    (void)state;
    hf_err err = {0};
    static const struct {
        const char *url;
        hf_registry_mode mode;
        const char *describe;
    } ok[] = {
        {"ccompat:http://h:8080/apis/ccompat/v7/", HF_REG_CCOMPAT,
         "ccompat:http://h:8080/apis/ccompat/v7"},
        {"apicurio-v2:https://h/apis/registry/v2", HF_REG_APICURIO_V2,
         "apicurio-v2:https://h/apis/registry/v2"},
        {"apicurio-v3:http://h/x", HF_REG_APICURIO_V3, "apicurio-v3:http://h/x"},
        {"http://h/apis/ccompat/v7", HF_REG_CCOMPAT, "ccompat:http://h/apis/ccompat/v7"},
        {"http://h/apis/registry/v2/", HF_REG_APICURIO_V2, "apicurio-v2:http://h/apis/registry/v2"},
        {"https://h:1/apis/registry/v3", HF_REG_APICURIO_V3,
         "apicurio-v3:https://h:1/apis/registry/v3"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        hf_registry *reg = open_url(ok[i].url, &err, HF_OK);
        assert_int_equal(hf_registry_mode_of(reg), ok[i].mode);
        assert_string_equal(hf_registry_describe(reg), ok[i].describe);
        hf_registry_close(reg);
    }
    static const struct {
        const char *url, *frag;
    } bad[] = {
        {"http://h:8081", "cannot tell the API"},
        {"ccompat:ftp://h/x", "needs an http(s) URL"},
        {"confluent:http://h", "is not file:DIR"},
        {"ccompat:http://user:pw@h/apis/ccompat/v7", "not in the URL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(open_url(bad[i].url, &err, HF_ECONFIG));
        if (strstr(err.msg, bad[i].frag) == NULL)
            fail_msg("%s: '%s' lacks '%s'", bad[i].url, err.msg, bad[i].frag);
        assert_null(strstr(err.msg, "pw@"));
    }
    hf_registry_cfg both = {.url = "ccompat:http://h/apis/ccompat/v7", .user = "u", .token = "t"};
    hf_registry *reg = NULL;
    assert_int_equal(hf_registry_open(&both, &reg, &err), HF_ECONFIG);
    assert_null(reg);
    hf_registry_cfg crlf = {.url = "ccompat:http://h/apis/ccompat/v7",
                            .token = "abc\r\nX-Injected: 1"};
    assert_int_equal(hf_registry_open(&crlf, &reg, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "control character"));
    assert_null(strstr(err.msg, "abc"));
}

static void env_settings_load_with_defaults(void **state) {
    (void)state;
    unsetenv("HL7FLOW_REGISTRY");
    setenv("HL7FLOW_REGISTRY_CACHE_MAX", "0", 1);
    hf_registry *reg = NULL;
    hf_err err = {0};
    assert_int_equal(hf_registry_open_env("apicurio-v3:http://h/apis/registry/v3", &reg, &err),
                     HF_ECONFIG);
    assert_non_null(strstr(err.msg, "HL7FLOW_REGISTRY_CACHE_MAX"));
    unsetenv("HL7FLOW_REGISTRY_CACHE_MAX");
    assert_int_equal(hf_registry_open_env("apicurio-v3:http://h/apis/registry/v3", &reg, &err),
                     HF_OK);
    assert_string_equal(hf_registry_describe(reg), "apicurio-v3:http://h/apis/registry/v3");
    hf_registry_close(reg);
    /* without the override and without the variable: file:schemas/avro */
    reg = NULL;
    hf_status st = hf_registry_open_env(NULL, &reg, &err);
    if (st == HF_OK) {
        assert_string_equal(hf_registry_describe(reg), "file:schemas/avro");
        hf_registry_close(reg);
    } else {
        assert_int_equal(st, HF_EIO);
        assert_non_null(strstr(err.msg, "schemas/avro"));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subject_follows_topic_name_strategy),
        cmocka_unit_test_setup_teardown(dir_load_reads_avsc_files_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(dir_load_rejects_bad_names_and_duplicates, setup, teardown),
        cmocka_unit_test(file_id_is_sha256_of_normalized_json),
        cmocka_unit_test_setup_teardown(file_mode_serves_latest_and_released_by_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(file_mode_cache_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(file_mode_refuses_invalid_directory, setup, teardown),
        cmocka_unit_test(url_setting_picks_the_mode),
        cmocka_unit_test(env_settings_load_with_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
