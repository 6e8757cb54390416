/* test_registry_http.c - unit tests for the HTTP registry modes
 * (registry.h: ccompat, apicurio-v2, apicurio-v3) against canned answers
 * served on loopback by the project's own HTTP server (http.h): which
 * request each lookup makes, which id it takes (contentId vs globalId),
 * the caches (no second request), and how answers become error classes
 * and messages (404 -> HF_ENOTFOUND with the server's error_code, 5xx and
 * refused connections -> HF_ERETRY, 401 -> HF_ECONFIG, malformed answers
 * -> HF_EIO). Registration flows are tested against the Apicurio double in
 * tests/integration/test_registry.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "hl7flow/http.h"
#include "hl7flow/registry.h"

typedef struct route {
    const char *method, *path; /* path as the server sees it (decoded, no query) */
    int status;
    const char *body;
    int hits;
} route;

static route g_routes[16];
static size_t g_nroutes;
static int g_unmatched;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static hf_http *g_srv;
static unsigned g_port;

static const char SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}";

static int handler(void *ctx, const char *method, const char *path, char **body,
                   const char **ctype) {
    (void)ctx;
    int status = 404;
    pthread_mutex_lock(&g_mu);
    const char *text = "{\"error_code\":404,\"message\":\"test: no such route\"}";
    bool found = false;
    for (size_t i = 0; i < g_nroutes; i++) {
        if (strcmp(g_routes[i].method, method) == 0 && strcmp(g_routes[i].path, path) == 0) {
            g_routes[i].hits++;
            status = g_routes[i].status;
            text = g_routes[i].body;
            found = true;
            break;
        }
    }
    if (!found)
        g_unmatched++;
    pthread_mutex_unlock(&g_mu);
    *body = strdup(text);
    *ctype = "application/json";
    return status;
}

static void set_routes(const route *r, size_t n) {
    pthread_mutex_lock(&g_mu);
    memcpy(g_routes, r, n * sizeof *r);
    g_nroutes = n;
    g_unmatched = 0;
    pthread_mutex_unlock(&g_mu);
}

static int hits(size_t i) {
    pthread_mutex_lock(&g_mu);
    int h = g_routes[i].hits;
    pthread_mutex_unlock(&g_mu);
    return h;
}

static int group_setup(void **state) {
    (void)state;
    hf_err err = {0};
    if (hf_http_start(0, &g_srv, &err) != HF_OK)
        return -1;
    g_port = hf_http_port(g_srv);
    return hf_http_mount(g_srv, "/r/", handler, NULL) == HF_OK ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    hf_http_stop(g_srv);
    return 0;
}

static hf_registry *open_mode(const char *mode, const char *api, int id_kind) {
    char url[160];
    snprintf(url, sizeof url, "%s:http://127.0.0.1:%u/r/%s", mode, g_port, api);
    hf_registry_cfg cfg = {.url = url,
                           .group = "hl7",
                           .id_kind = id_kind,
                           .cache_max = 2,
                           .ttl_ms = 60000,
                           .timeout_ms = 5000};
    hf_registry *reg = NULL;
    hf_err err = {0};
    if (hf_registry_open(&cfg, &reg, &err) != HF_OK)
        fail_msg("open %s: %s", url, err.msg);
    return reg;
}

static void ccompat_latest_takes_id_and_schema_in_one_request(void **state) {
    (void)state;
    const route r[] = {
        {"GET", "/r/cc/subjects/hl7.parsed.adt-value/versions/latest", 200,
         "{\"subject\":\"hl7.parsed.adt-value\",\"id\":7,\"version\":3,\"schema\":"
         "\"{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"T\\\",\\\"fields\\\":[]}\"}",
         0},
    };
    set_routes(r, 1);
    hf_registry *reg = open_mode("ccompat", "cc", 0);
    hf_err err = {0};
    uint32_t id = 0;
    assert_int_equal(hf_registry_topic_id(reg, "hl7.parsed.adt", &id, &err), HF_OK);
    assert_int_equal(id, 7);
    char *text = NULL;
    assert_int_equal(hf_registry_schema_text(reg, 7, &text, &err), HF_OK);
    assert_string_equal(text, "{\"type\":\"record\",\"name\":\"T\",\"fields\":[]}");
    free(text);
    /* subject cache: no second request */
    assert_int_equal(hf_registry_latest_id(reg, "hl7.parsed.adt-value", &id, &err), HF_OK);
    assert_int_equal(hits(0), 1);
    assert_int_equal(g_unmatched, 0);
    hf_registry_close(reg);
}

static void ccompat_fetch_by_id_is_cached(void **state) {
    (void)state;
    char body[256];
    snprintf(body, sizeof body, "{\"schema\":\"%s\"}",
             "{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"T\\\",\\\"fields\\\":[{\\\"name\\\":"
             "\\\"a\\\",\\\"type\\\":\\\"long\\\"}]}");
    const route r[] = {{"GET", "/r/cc/schemas/ids/42", 200, body, 0}};
    set_routes(r, 1);
    hf_registry *reg = open_mode("ccompat", "cc", 0);
    hf_err err = {0};
    avro_schema_t s = NULL;
    assert_int_equal(hf_registry_schema(reg, 42, &s, &err), HF_OK);
    assert_true(is_avro_record(s));
    avro_value_iface_t *iface = NULL;
    assert_int_equal(hf_registry_iface(reg, 42, &iface, &err), HF_OK);
    char *text = NULL;
    assert_int_equal(hf_registry_schema_text(reg, 42, &text, &err), HF_OK);
    assert_string_equal(text, SCHEMA);
    free(text);
    assert_int_equal(hits(0), 1);
    avro_value_iface_decref(iface);
    avro_schema_decref(s);
    hf_registry_close(reg);
}

static void ccompat_not_found_names_request_and_error_code(void **state) {
    (void)state;
    const route r[] = {
        {"GET", "/r/cc/subjects/hl7.parsed.adt-value/versions/latest", 404,
         "{\"error_code\":40401,\"message\":\"Subject 'hl7.parsed.adt-value' not found.\"}", 0},
        {"GET", "/r/cc/schemas/ids/9", 404,
         "{\"error_code\":40403,\"message\":\"Schema not found\"}", 0},
    };
    set_routes(r, 2);
    hf_registry *reg = open_mode("ccompat", "cc", 0);
    hf_err err = {0};
    uint32_t id = 0;
    assert_int_equal(hf_registry_topic_id(reg, "hl7.parsed.adt", &id, &err), HF_ENOTFOUND);
    assert_string_equal(err.msg,
                        "registry ccompat GET /subjects/hl7.parsed.adt-value/versions/latest: 404 "
                        "error_code 40401 Subject 'hl7.parsed.adt-value' not found.");
    char *text = NULL;
    assert_int_equal(hf_registry_schema_text(reg, 9, &text, &err), HF_ENOTFOUND);
    assert_string_equal(
        err.msg, "registry ccompat GET /schemas/ids/9: 404 error_code 40403 Schema not found");
    assert_null(text);
    /* a failed lookup is not cached */
    assert_int_equal(hf_registry_topic_id(reg, "hl7.parsed.adt", &id, &err), HF_ENOTFOUND);
    assert_int_equal(hits(0), 2);
    hf_registry_close(reg);
}

static void server_errors_are_transient_and_auth_errors_are_not(void **state) {
    (void)state;
    const route r[] = {
        {"GET", "/r/cc/subjects/a-value/versions/latest", 503, "<html>busy</html>", 0},
        {"GET", "/r/cc/subjects/b-value/versions/latest", 401,
         "{\"error_code\":401,\"message\":\"Unauthorized\"}", 0},
        {"GET", "/r/cc/subjects/c-value/versions/latest", 429, "", 0},
    };
    set_routes(r, 3);
    hf_registry *reg = open_mode("ccompat", "cc", 0);
    hf_err err = {0};
    uint32_t id = 0;
    assert_int_equal(hf_registry_latest_id(reg, "a-value", &id, &err), HF_ERETRY);
    assert_string_equal(
        err.msg, "registry ccompat GET /subjects/a-value/versions/latest: 503 <html>busy</html>");
    assert_int_equal(hf_registry_latest_id(reg, "b-value", &id, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, ": 401 error_code 401 Unauthorized"));
    assert_int_equal(hf_registry_latest_id(reg, "c-value", &id, &err), HF_ERETRY);
    hf_registry_close(reg);

    /* nothing listens on port 1 */
    hf_registry_cfg cfg = {
        .url = "ccompat:http://127.0.0.1:1/apis/ccompat/v7", .cache_max = 2, .timeout_ms = 2000};
    assert_int_equal(hf_registry_open(&cfg, &reg, &err), HF_OK);
    assert_int_equal(hf_registry_latest_id(reg, "a-value", &id, &err), HF_ERETRY);
    assert_non_null(strstr(err.msg, "registry ccompat GET /subjects/a-value/versions/latest: "
                                    "Couldn't connect to server"));
    hf_registry_close(reg);
}

static void malformed_answers_are_io_errors(void **state) {
    (void)state;
    const route r[] = {
        {"GET", "/r/cc/subjects/a-value/versions/latest", 200, "not json", 0},
        {"GET", "/r/cc/subjects/b-value/versions/latest", 200, "{\"id\":\"seven\"}", 0},
        {"GET", "/r/v2/groups/hl7/artifacts/c-value/meta", 200,
         "{\"globalId\":1,\"contentId\":4294967296}", 0},
    };
    set_routes(r, 3);
    hf_registry *reg = open_mode("ccompat", "cc", 0);
    hf_err err = {0};
    uint32_t id = 0;
    assert_int_equal(hf_registry_latest_id(reg, "a-value", &id, &err), HF_EIO);
    assert_non_null(strstr(err.msg, "200 but the body is not a JSON object"));
    assert_int_equal(hf_registry_latest_id(reg, "b-value", &id, &err), HF_EIO);
    assert_non_null(strstr(err.msg, "no integer \"id\""));
    hf_registry_close(reg);
    reg = open_mode("apicurio-v2", "v2", 0);
    assert_int_equal(hf_registry_latest_id(reg, "c-value", &id, &err), HF_EIO);
    assert_non_null(strstr(err.msg, "no integer \"contentId\""));
    hf_registry_close(reg);
}

static void apicurio_v2_wire_id_is_content_id(void **state) {
    (void)state;
    const route r[] = {
        {"GET", "/r/v2/groups/hl7/artifacts/t-value/meta", 200,
         "{\"groupId\":\"hl7\",\"id\":\"t-value\",\"version\":\"2\",\"type\":\"AVRO\","
         "\"globalId\":1005,\"contentId\":5}",
         0},
        {"GET", "/r/v2/ids/contentIds/5", 200, SCHEMA, 0},
        {"GET", "/r/v2/ids/globalIds/1005", 200, SCHEMA, 0},
    };
    set_routes(r, 3);
    hf_registry *reg = open_mode("apicurio-v2", "v2", 0);
    hf_err err = {0};
    uint32_t id = 0;
    assert_int_equal(hf_registry_topic_id(reg, "t", &id, &err), HF_OK);
    assert_int_equal(id, 5);
    char *text = NULL;
    assert_int_equal(hf_registry_schema_text(reg, 5, &text, &err), HF_OK);
    assert_string_equal(text, SCHEMA);
    free(text);
    assert_int_equal(hits(1), 1);
    assert_int_equal(hits(2), 0);
    hf_registry_close(reg);

    /* HL7FLOW_REGISTRY_ID=globalId */
    reg = open_mode("apicurio-v2", "v2", 1);
    assert_int_equal(hf_registry_topic_id(reg, "t", &id, &err), HF_OK);
    assert_int_equal(id, 1005);
    assert_int_equal(hf_registry_schema_text(reg, 1005, &text, &err), HF_OK);
    free(text);
    assert_int_equal(hits(2), 1);
    hf_registry_close(reg);
}

static void apicurio_v3_reads_branch_latest(void **state) {
    (void)state;
    const route r[] = {
        {"GET", "/r/v3/groups/hl7/artifacts/t-value/versions/branch=latest", 200,
         "{\"groupId\":\"hl7\",\"artifactId\":\"t-value\",\"version\":\"1\","
         "\"artifactType\":\"AVRO\",\"globalId\":1001,\"contentId\":12}",
         0},
        {"GET", "/r/v3/groups/hl7/artifacts/gone-value/versions/branch=latest", 404,
         "{\"status\":404,\"title\":\"No artifact with ID 'gone-value' in group 'hl7' was "
         "found.\",\"name\":\"ArtifactNotFoundException\"}",
         0},
    };
    set_routes(r, 2);
    hf_registry *reg = open_mode("apicurio-v3", "v3", 0);
    hf_err err = {0};
    uint32_t id = 0;
    assert_int_equal(hf_registry_topic_id(reg, "t", &id, &err), HF_OK);
    assert_int_equal(id, 12);
    assert_int_equal(hf_registry_topic_id(reg, "gone", &id, &err), HF_ENOTFOUND);
    assert_string_equal(err.msg,
                        "registry apicurio-v3 GET "
                        "/groups/hl7/artifacts/gone-value/versions/branch=latest: 404 No artifact "
                        "with ID 'gone-value' in group 'hl7' was found.");
    hf_registry_close(reg);
}

static void rule_violation_causes_are_reported(void **state) {
    (void)state;
    const route r[] = {
        {"GET", "/r/v3/groups/hl7/artifacts/t-value/versions/branch=latest", 200,
         "{\"globalId\":1001,\"contentId\":1}", 0},
        {"POST", "/r/v3/groups/hl7/artifacts", 400,
         "{\"status\":400,\"title\":\"Incompatible artifact: t-value [AVRO]\",\"name\":"
         "\"RuleViolationException\",\"causes\":[{\"description\":\"reader field 'b' has no "
         "default\",\"context\":\"/fields/1\"}]}",
         0},
    };
    set_routes(r, 2);
    hf_registry *reg = open_mode("apicurio-v3", "v3", 0);
    hf_err err = {0};
    hf_registry_reg out = {0};
    assert_int_equal(hf_registry_register(reg, "t-value", SCHEMA, &out, &err), HF_ECONFIG);
    assert_string_equal(err.msg,
                        "registry apicurio-v3 POST "
                        "/groups/hl7/artifacts?ifExists=FIND_OR_CREATE_VERSION&canonical=true: "
                        "400 Incompatible artifact: t-value [AVRO]; causes: reader field 'b' has "
                        "no default (at /fields/1)");
    hf_registry_close(reg);
}

static void cache_evicts_least_recently_used(void **state) {
    (void)state;
    char b[256];
    snprintf(b, sizeof b, "{\"schema\":\"%s\"}", "\\\"string\\\"");
    const route r[] = {
        {"GET", "/r/cc/schemas/ids/1", 200, b, 0},
        {"GET", "/r/cc/schemas/ids/2", 200, b, 0},
        {"GET", "/r/cc/schemas/ids/3", 200, b, 0},
    };
    set_routes(r, 3);
    hf_registry *reg = open_mode("ccompat", "cc", 0); /* cache_max 2 */
    hf_err err = {0};
    char *t = NULL;
    static const uint32_t order[] = {1, 2, 1, 3, 1, 2};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        assert_int_equal(hf_registry_schema_text(reg, order[i], &t, &err), HF_OK);
        assert_string_equal(t, "\"string\"");
        free(t);
    }
    /* 1 stays (recently used), 2 is evicted by 3 and fetched again */
    assert_int_equal(hits(0), 1);
    assert_int_equal(hits(1), 2);
    assert_int_equal(hits(2), 1);
    hf_registry_close(reg);
}

static void subject_is_escaped_in_paths(void **state) {
    (void)state;
    const route r[] = {
        {"GET", "/r/cc/subjects/a b-value/versions/latest", 200, "{\"id\":3,\"version\":1}", 0}};
    set_routes(r, 1);
    hf_registry *reg = open_mode("ccompat", "cc", 0);
    hf_err err = {0};
    uint32_t id = 0;
    assert_int_equal(hf_registry_latest_id(reg, "a b-value", &id, &err), HF_OK);
    assert_int_equal(id, 3);
    hf_registry_close(reg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ccompat_latest_takes_id_and_schema_in_one_request),
        cmocka_unit_test(ccompat_fetch_by_id_is_cached),
        cmocka_unit_test(ccompat_not_found_names_request_and_error_code),
        cmocka_unit_test(server_errors_are_transient_and_auth_errors_are_not),
        cmocka_unit_test(malformed_answers_are_io_errors),
        cmocka_unit_test(apicurio_v2_wire_id_is_content_id),
        cmocka_unit_test(apicurio_v3_reads_branch_latest),
        cmocka_unit_test(rule_violation_causes_are_reported),
        cmocka_unit_test(cache_evicts_least_recently_used),
        cmocka_unit_test(subject_is_escaped_in_paths),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
