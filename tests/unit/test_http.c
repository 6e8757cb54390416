/* test_http.c - unit tests for the probe/metrics endpoint (http.h): a real
 * server on an ephemeral loopback port, driven with libcurl. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/http.h"
#include "hl7flow/metrics.h"

typedef struct reply {
    long status;
    char *body;    /* NUL-terminated */
    char *headers; /* raw header block, NUL-terminated */
    char ctype[128];
} reply;

typedef struct grow {
    char *p;
    size_t len;
} grow;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud) {
    grow *g = ud;
    size_t n = size * nmemb;
    char *np = realloc(g->p, g->len + n + 1);
    if (np == NULL)
        return 0;
    memcpy(np + g->len, ptr, n);
    g->len += n;
    np[g->len] = '\0';
    g->p = np;
    return n;
}

static void reply_free(reply *r) {
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

/* Sends @p method @p path (with @p data as body when non-NULL) to the
 * server on @p port; fails the test on a transport error. */
static void request(uint16_t port, const char *method, const char *path, const char *data,
                    reply *r) {
    grow body = {0}, hdrs = {0};
    char url[256];
    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrs);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (data != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct != NULL)
        snprintf(r->ctype, sizeof r->ctype, "%s", ct);
    curl_easy_cleanup(c);
    r->body = body.p != NULL ? body.p : strdup("");
    r->headers = hdrs.p != NULL ? hdrs.p : strdup("");
    assert_non_null(r->body);
    assert_non_null(r->headers);
}

/* Asserts status and exact body of one request. */
static void expect(uint16_t port, const char *method, const char *path, long status,
                   const char *body) {
    reply r;
    request(port, method, path, NULL, &r);
    if (r.status != status || strcmp(r.body, body) != 0)
        fail_msg("%s %s: got %ld '%s', want %ld '%s'", method, path, r.status, r.body, status,
                 body);
    reply_free(&r);
}

/* ---- fixtures ------------------------------------------------------------ */

static int group_setup(void **state) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    hf_http *srv = NULL;
    hf_err err = {0};
    if (hf_http_start(0, &srv, &err) != HF_OK) {
        fprintf(stderr, "hf_http_start: %s\n", err.msg);
        return -1;
    }
    *state = srv;
    return 0;
}

static int group_teardown(void **state) {
    hf_http_stop(*state);
    hf_ready_reset();
    hf_metrics_reset();
    curl_global_cleanup();
    return 0;
}

static int clean_state(void **state) {
    (void)state;
    hf_ready_reset();
    hf_live_set(true);
    hf_metrics_reset();
    return 0;
}

static uint16_t port_of(void **state) { return hf_http_port(*state); }

/* ---- tests ----------------------------------------------------------------- */

static void ephemeral_port_is_reported_and_busy_port_fails(void **state) {
    uint16_t port = port_of(state);
    assert_int_not_equal(port, 0);
    hf_http *other = (hf_http *)1;
    hf_err err = {0};
    assert_int_equal(hf_http_start(port, &other, &err), HF_EIO);
    assert_null(other);
    assert_int_equal(err.st, HF_EIO);
    assert_non_null(strstr(err.msg, "cannot serve"));
    hf_http_stop(NULL); /* no-op */
}

static void healthz_follows_liveness(void **state) {
    uint16_t port = port_of(state);
    expect(port, "GET", "/healthz", 200, "ok");
    expect(port, "GET", "/healthz?probe=1", 200, "ok");
    hf_live_set(false);
    expect(port, "GET", "/healthz", 503, "not live");
    hf_live_set(true);
    expect(port, "GET", "/healthz", 200, "ok");
}

static void readyz_flips_when_every_check_is_true(void **state) {
    uint16_t port = port_of(state);
    expect(port, "GET", "/readyz", 503, "{\"ready\":false,\"checks\":{},\"failing\":[]}\n");
    hf_ready_set("kafka", false);
    hf_ready_set("assigned", true);
    expect(port, "GET", "/readyz", 503,
           "{\"ready\":false,\"checks\":{\"kafka\":false,\"assigned\":true},"
           "\"failing\":[\"kafka\"]}\n");
    hf_ready_set("kafka", true);
    reply r;
    request(port, "GET", "/readyz", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"ready\":true,\"checks\":{\"kafka\":true,\"assigned\":true},"
                                "\"failing\":[]}\n");
    assert_string_equal(r.ctype, "application/json");
    reply_free(&r);
    hf_ready_set("assigned", false); /* e.g. partitions revoked */
    expect(port, "GET", "/readyz", 503,
           "{\"ready\":false,\"checks\":{\"kafka\":true,\"assigned\":false},"
           "\"failing\":[\"assigned\"]}\n");
}

static void ready_reports_checks_as_json(void **state) {
    (void)state;
    char why[128];
    assert_false(hf_ready(why, sizeof why));
    assert_string_equal(why, "{}");
    hf_ready_set("pg", true);
    assert_true(hf_ready(NULL, 0));
    hf_ready_set("odd\"name", false);
    assert_false(hf_ready(why, sizeof why));
    assert_string_equal(why, "{\"pg\":true,\"odd\\\"name\":false}");
    /* too small for the whole object: no truncated JSON */
    char tiny[8] = "xxxxxxx";
    assert_false(hf_ready(tiny, sizeof tiny));
    assert_string_equal(tiny, "");
    hf_ready_set(NULL, true); /* ignored */
    hf_ready_reset();
    assert_false(hf_ready(why, sizeof why));
    assert_string_equal(why, "{}");
}

static void metrics_serves_the_registry(void **state) {
    uint16_t port = port_of(state);
    hf_counter *c = hf_metrics_counter("hl7flow_http_test_total", "Test.", "stage=\"t\"");
    assert_non_null(c);
    hf_counter_add(c, 3);
    reply r;
    request(port, "GET", "/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(r.body, "# HELP hl7flow_http_test_total Test.\n"
                                "# TYPE hl7flow_http_test_total counter\n"
                                "hl7flow_http_test_total{stage=\"t\"} 3\n");
    reply_free(&r);
    request(port, "HEAD", "/metrics", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
    reply_free(&r);
}

typedef struct echo_ctx {
    const char *tag;
    int calls;
    int status;
} echo_ctx;

/* Answers "<tag> <method> <path>" as JSON-ish text. */
static int echo_handler(void *ctx, const char *method, const char *path, char **body,
                        const char **content_type) {
    echo_ctx *e = ctx;
    e->calls++;
    size_t n = strlen(e->tag) + strlen(method) + strlen(path) + 3;
    *body = malloc(n);
    if (*body == NULL)
        return 500;
    snprintf(*body, n, "%s %s %s", e->tag, method, path);
    *content_type = "application/x-test";
    return e->status;
}

static void mounted_handler_answers_its_prefix(void **state) {
    hf_http *srv = *state;
    uint16_t port = port_of(state);
    /* static: the mounts outlive this test on the shared server */
    static echo_ctx broker = {"broker", 0, 200}, special = {"special", 0, 202},
                    bad = {"bad", 0, 42};
    assert_int_equal(hf_http_mount(srv, "/broker/", echo_handler, &broker), HF_OK);
    assert_int_equal(hf_http_mount(srv, "/broker/special", echo_handler, &special), HF_OK);
    assert_int_equal(hf_http_mount(srv, "/bad", echo_handler, &bad), HF_OK);

    reply r;
    request(port, "GET", "/broker/down?id=1", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "broker GET /broker/down");
    assert_string_equal(r.ctype, "application/x-test");
    reply_free(&r);
    request(port, "POST", "/broker/up", "id=1&x=2", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "broker POST /broker/up");
    reply_free(&r);
    expect(port, "DELETE", "/broker/special/x", 202, "special DELETE /broker/special/x");
    assert_int_equal(broker.calls, 2);
    assert_int_equal(special.calls, 1);
    /* not under the prefix */
    expect(port, "GET", "/broker", 404, "not found");
    expect(port, "GET", "/brokerx/down", 404, "not found");
    /* an impossible status from a handler becomes a 500 */
    expect(port, "GET", "/bad", 500, "handler failed");
    assert_int_equal(bad.calls, 1);
}

static void unknown_paths_404_and_wrong_methods_405(void **state) {
    uint16_t port = port_of(state);
    expect(port, "GET", "/", 404, "not found");
    expect(port, "GET", "/nope", 404, "not found");
    expect(port, "GET", "/healthz/", 404, "not found");
    expect(port, "POST", "/nope", 404, "not found");
    const char *paths[] = {"/healthz", "/readyz", "/metrics"};
    const char *methods[] = {"POST", "PUT", "DELETE"};
    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 3; j++) {
            reply r;
            request(port, methods[j], paths[i], j == 0 ? "x=1" : NULL, &r);
            if (r.status != 405)
                fail_msg("%s %s: %ld", methods[j], paths[i], r.status);
            assert_non_null(strstr(r.headers, "Allow: GET, HEAD\r\n"));
            reply_free(&r);
        }
    }
}

static int noop_handler(void *ctx, const char *method, const char *path, char **body,
                        const char **content_type) {
    (void)ctx;
    (void)method;
    (void)path;
    (void)body;
    (void)content_type;
    return 204;
}

static void mount_rejects_bad_prefixes_and_overflow(void **state) {
    (void)state;
    hf_http *srv = NULL;
    hf_err err = {0};
    assert_int_equal(hf_http_start(0, &srv, &err), HF_OK);
    assert_int_equal(hf_http_mount(srv, NULL, noop_handler, NULL), HF_ECONFIG);
    assert_int_equal(hf_http_mount(srv, "x/", noop_handler, NULL), HF_ECONFIG);
    assert_int_equal(hf_http_mount(srv, "/x/", NULL, NULL), HF_ECONFIG);
    for (int i = 0; i < 8; i++) {
        char prefix[16];
        snprintf(prefix, sizeof prefix, "/m%d/", i);
        assert_int_equal(hf_http_mount(srv, prefix, noop_handler, NULL), HF_OK);
    }
    assert_int_equal(hf_http_mount(srv, "/m0/", noop_handler, NULL), HF_ECONFIG);
    assert_int_equal(hf_http_mount(srv, "/m8/", noop_handler, NULL), HF_ELIMIT);
    expect(hf_http_port(srv), "GET", "/m7/x", 204, "");
    hf_http_stop(srv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(ephemeral_port_is_reported_and_busy_port_fails, clean_state),
        cmocka_unit_test_setup(healthz_follows_liveness, clean_state),
        cmocka_unit_test_setup(readyz_flips_when_every_check_is_true, clean_state),
        cmocka_unit_test_setup(ready_reports_checks_as_json, clean_state),
        cmocka_unit_test_setup(metrics_serves_the_registry, clean_state),
        cmocka_unit_test_setup(mounted_handler_answers_its_prefix, clean_state),
        cmocka_unit_test_setup(unknown_paths_404_and_wrong_methods_405, clean_state),
        cmocka_unit_test_setup(mount_rejects_bad_prefixes_and_overflow, clean_state),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
