/* http.c - the probe and metrics endpoint (see http.h) on libmicrohttpd
 * 0.9.75, plus the process-wide liveness and readiness state it reports.
 *
 * One daemon thread (MHD's internal polling thread) answers every request;
 * the code here runs on that thread. Readiness checks live behind a mutex,
 * liveness is one atomic flag, and mounted handlers are published with a
 * release store of the mount count so the daemon thread reads them without
 * a lock (entries are never changed once published).
 *
 * Routing: exact /healthz, /readyz, /metrics first (GET and HEAD, else 405),
 * then the longest mounted prefix (any method), else 404. Request bodies
 * are read and discarded: no handler here takes one.
 */
#include "hl7flow/http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/log.h"
#include "hl7flow/metrics.h"

#define HTTP_MAX_MOUNTS 8
#define HTTP_CONN_TIMEOUT_S 10u /* idle connections are closed after this */
#define HTTP_CONN_LIMIT 64u     /* probes and scrapes need a handful */

static const char CT_TEXT[] = "text/plain; charset=utf-8";
static const char CT_JSON[] = "application/json";
static const char CT_PROM[] = "text/plain; version=0.0.4; charset=utf-8";

typedef struct mount {
    char *prefix; /* owned */
    size_t prefix_len;
    hf_http_handler_fn fn;
    void *ctx; /* borrowed */
} mount;

struct hf_http {
    struct MHD_Daemon *daemon;
    uint16_t port;
    pthread_mutex_t mount_lock; /* serialises hf_http_mount callers */
    mount mounts[HTTP_MAX_MOUNTS];
    _Atomic size_t nmounts; /* entries below it are published, immutable */
    atomic_bool starting;   /* MHD log lines go to start_err too */
    char start_err[256];    /* last MHD message during MHD_start_daemon */
};

/* ---- process-wide liveness and readiness -------------------------------- */

typedef struct ready_check {
    char *name; /* owned */
    bool ok;
} ready_check;

static pthread_mutex_t g_ready_lock = PTHREAD_MUTEX_INITIALIZER;
static ready_check *g_checks; /* insertion order */
static size_t g_nchecks, g_checks_cap;
static bool g_ready_lost; /* a check could not be recorded: never ready */
static atomic_bool g_live = true;

/* Growable text buffer; `oom` sticks after the first failed allocation. */
typedef struct out_buf {
    char *p;
    size_t len, cap;
    bool oom;
} out_buf;

static void put_mem(out_buf *b, const char *s, size_t n) {
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap == 0 ? 256 : b->cap;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (np == NULL) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_str(out_buf *b, const char *s) { put_mem(b, s, strlen(s)); }

/* A JSON string literal: quotes, backslash and control bytes escaped. */
static void put_json_str(out_buf *b, const char *s) {
    put_str(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            put_mem(b, esc, 2);
        } else if (*p < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            put_str(b, esc);
        } else {
            put_mem(b, (const char *)p, 1);
        }
    }
    put_str(b, "\"");
}

#define LOST_CHECK_NAME "readiness_state_incomplete"

/* Appends {"name":bool,...} to @p checks and, if non-NULL, the false names
 * as a JSON array to @p failing. Returns overall readiness. Lock held. */
static bool ready_describe_locked(out_buf *checks, out_buf *failing) {
    bool ready = g_nchecks > 0 && !g_ready_lost;
    put_str(checks, "{");
    if (failing != NULL)
        put_str(failing, "[");
    size_t nfail = 0;
    for (size_t i = 0; i < g_nchecks; i++) {
        if (i > 0)
            put_str(checks, ",");
        put_json_str(checks, g_checks[i].name);
        put_str(checks, g_checks[i].ok ? ":true" : ":false");
        if (!g_checks[i].ok) {
            ready = false;
            if (failing != NULL) {
                if (nfail++ > 0)
                    put_str(failing, ",");
                put_json_str(failing, g_checks[i].name);
            }
        }
    }
    if (g_ready_lost) {
        put_str(checks, g_nchecks > 0 ? "," : "");
        put_str(checks, "\"" LOST_CHECK_NAME "\":false");
        if (failing != NULL)
            put_str(failing, nfail > 0 ? ",\"" LOST_CHECK_NAME "\"" : "\"" LOST_CHECK_NAME "\"");
    }
    put_str(checks, "}");
    if (failing != NULL)
        put_str(failing, "]");
    return ready;
}

void hf_ready_set(const char *check, bool ok) {
    if (check == NULL)
        return;
    pthread_mutex_lock(&g_ready_lock);
    for (size_t i = 0; i < g_nchecks; i++) {
        if (strcmp(g_checks[i].name, check) == 0) {
            g_checks[i].ok = ok;
            goto out;
        }
    }
    if (g_nchecks == g_checks_cap) {
        size_t n = g_checks_cap == 0 ? 8 : g_checks_cap * 2;
        ready_check *nc = realloc(g_checks, n * sizeof *nc);
        if (nc == NULL) {
            g_ready_lost = true;
            goto out;
        }
        g_checks = nc;
        g_checks_cap = n;
    }
    char *name = strdup(check);
    if (name == NULL) {
        g_ready_lost = true;
        goto out;
    }
    g_checks[g_nchecks++] = (ready_check){.name = name, .ok = ok};
out:
    pthread_mutex_unlock(&g_ready_lock);
}

bool hf_ready(char *why, size_t why_cap) {
    out_buf checks = {0};
    pthread_mutex_lock(&g_ready_lock);
    bool ready = ready_describe_locked(&checks, NULL);
    pthread_mutex_unlock(&g_ready_lock);
    if (why != NULL && why_cap > 0) {
        if (!checks.oom && checks.len < why_cap)
            memcpy(why, checks.p, checks.len + 1);
        else
            why[0] = '\0';
    }
    free(checks.p);
    return ready;
}

void hf_live_set(bool ok) { atomic_store(&g_live, ok); }

void hf_ready_reset(void) {
    pthread_mutex_lock(&g_ready_lock);
    for (size_t i = 0; i < g_nchecks; i++)
        free(g_checks[i].name);
    free(g_checks);
    g_checks = NULL;
    g_nchecks = g_checks_cap = 0;
    g_ready_lost = false;
    pthread_mutex_unlock(&g_ready_lock);
}

/* ---- responses ------------------------------------------------------------ */

/* Queues a response. @p body is either owned (malloc'd, NUL-terminated;
 * taken: freed by MHD, or here on failure) or a constant; NULL = empty. */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status, const char *body,
                               bool owned, const char *ctype, const char *allow) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        body != NULL ? strlen(body) : 0, (void *)(body != NULL ? body : ""),
        owned && body != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        if (owned)
            free((void *)body);
        return MHD_NO;
    }
    enum MHD_Result r = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (r == MHD_YES)
        r = MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r == MHD_YES && allow != NULL)
        r = MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (r == MHD_YES)
        r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp); /* a queued response holds its own reference */
    return r;
}

/* Queues a constant text body. */
static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned int status,
                                    const char *text, const char *allow) {
    return respond(conn, status, text, false, CT_TEXT, allow);
}

static enum MHD_Result serve_healthz(struct MHD_Connection *conn) {
    if (atomic_load(&g_live))
        return respond_text(conn, MHD_HTTP_OK, "ok", NULL);
    return respond_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not live", NULL);
}

/* {"ready":bool,"checks":{"kafka":true,...},"failing":["assigned",...]} */
static enum MHD_Result serve_readyz(struct MHD_Connection *conn) {
    out_buf checks = {0}, failing = {0}, body = {0};
    pthread_mutex_lock(&g_ready_lock);
    bool ready = ready_describe_locked(&checks, &failing);
    pthread_mutex_unlock(&g_ready_lock);
    put_str(&body, ready ? "{\"ready\":true,\"checks\":" : "{\"ready\":false,\"checks\":");
    put_mem(&body, checks.p != NULL ? checks.p : "", checks.len);
    put_str(&body, ",\"failing\":");
    put_mem(&body, failing.p != NULL ? failing.p : "", failing.len);
    put_str(&body, "}\n");
    bool oom = checks.oom || failing.oom || body.oom;
    free(checks.p);
    free(failing.p);
    if (oom) {
        free(body.p);
        return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
    }
    return respond(conn, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body.p, true, CT_JSON,
                   NULL);
}

static enum MHD_Result serve_metrics(struct MHD_Connection *conn) {
    char *text = hf_metrics_render();
    if (text == NULL)
        return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
    return respond(conn, MHD_HTTP_OK, text, true, CT_PROM, NULL);
}

static const mount *find_mount(hf_http *srv, const char *url) {
    size_t n = atomic_load_explicit(&srv->nmounts, memory_order_acquire);
    const mount *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const mount *m = &srv->mounts[i];
        if (strncmp(url, m->prefix, m->prefix_len) == 0 &&
            (best == NULL || m->prefix_len > best->prefix_len))
            best = m;
    }
    return best;
}

static enum MHD_Result serve_mount(struct MHD_Connection *conn, const mount *m, const char *method,
                                   const char *url) {
    char *body = NULL;
    const char *ctype = NULL;
    int status = m->fn(m->ctx, method, url, &body, &ctype);
    if (status < 100 || status > 599) {
        free(body);
        return respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "handler failed", NULL);
    }
    return respond(conn, (unsigned int)status, body, true, ctype != NULL ? ctype : CT_TEXT, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_state) {
    static int seen; /* marks "headers already seen" for this request */
    hf_http *srv = cls;
    (void)version;
    (void)upload_data;

    if (*req_state == NULL) {
        *req_state = &seen;
        return MHD_YES; /* wait for the body, if any, before answering */
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0; /* discard */
        return MHD_YES;
    }

    bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
                  strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    enum MHD_Result (*builtin)(struct MHD_Connection *) = NULL;
    if (strcmp(url, "/healthz") == 0)
        builtin = serve_healthz;
    else if (strcmp(url, "/readyz") == 0)
        builtin = serve_readyz;
    else if (strcmp(url, "/metrics") == 0)
        builtin = serve_metrics;
    if (builtin != NULL) {
        if (!is_get)
            return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
                                "GET, HEAD");
        return builtin(conn);
    }

    const mount *m = find_mount(srv, url);
    if (m != NULL)
        return serve_mount(conn, m, method, url);
    return respond_text(conn, MHD_HTTP_NOT_FOUND, "not found", NULL);
}

/* MHD's error log: one JSON log line each; while MHD_start_daemon runs (on
 * the caller's thread) the text is also kept for the hf_err. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    hf_http *srv = cls;
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (atomic_load(&srv->starting))
        memcpy(srv->start_err, line, n + 1);
    HF_LOG(HF_LOG_WARN, "http_server", HF_LERR(line));
}

/* ---- server lifecycle ------------------------------------------------------- */

hf_status hf_http_start(uint16_t port, hf_http **out, hf_err *err) {
    hf_status st = HF_OK;
    hf_http *srv = NULL;

    *out = NULL;
    srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return hf_err_set(err, HF_ENOMEM, "http: out of memory");
    pthread_mutex_init(&srv->mount_lock, NULL);
    atomic_init(&srv->nmounts, 0);
    atomic_init(&srv->starting, true);

    /* MHD_USE_AUTO picks epoll on Linux: select() could not watch a socket
     * numbered above FD_SETSIZE, which a RocksDB-heavy process can reach. */
    srv->daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, MHD_OPTION_CONNECTION_TIMEOUT,
        HTTP_CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, HTTP_CONN_LIMIT, MHD_OPTION_END);
    atomic_store(&srv->starting, false);
    if (srv->daemon == NULL) {
        st = hf_err_set(err, HF_EIO, "http: cannot serve on 0.0.0.0:%u: %s", (unsigned)port,
                        srv->start_err[0] != '\0' ? srv->start_err : "libmicrohttpd failed");
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL ? info->port : 0;
    if (srv->port == 0) {
        st = hf_err_set(err, HF_EIO, "http: cannot learn the bound port");
        goto out;
    }
    HF_LOG(HF_LOG_INFO, "http_listening", HF_LI("port", srv->port));
    *out = srv;
    srv = NULL;
out:
    hf_http_stop(srv);
    return st;
}

uint16_t hf_http_port(const hf_http *srv) { return srv->port; }

hf_status hf_http_mount(hf_http *srv, const char *prefix, hf_http_handler_fn fn, void *ctx) {
    hf_status st = HF_OK;
    if (prefix == NULL || prefix[0] != '/' || fn == NULL)
        return HF_ECONFIG;
    pthread_mutex_lock(&srv->mount_lock);
    size_t n = atomic_load_explicit(&srv->nmounts, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(srv->mounts[i].prefix, prefix) == 0) {
            st = HF_ECONFIG;
            goto out;
        }
    }
    if (n == HTTP_MAX_MOUNTS) {
        st = HF_ELIMIT;
        goto out;
    }
    mount *m = &srv->mounts[n];
    m->prefix = strdup(prefix);
    if (m->prefix == NULL) {
        st = HF_ENOMEM;
        goto out;
    }
    m->prefix_len = strlen(prefix);
    m->fn = fn;
    m->ctx = ctx;
    atomic_store_explicit(&srv->nmounts, n + 1, memory_order_release);
out:
    pthread_mutex_unlock(&srv->mount_lock);
    return st;
}

void hf_http_stop(hf_http *srv) {
    if (srv == NULL)
        return;
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon); /* joins the daemon thread */
    size_t n = atomic_load(&srv->nmounts);
    for (size_t i = 0; i < n; i++)
        free(srv->mounts[i].prefix);
    pthread_mutex_destroy(&srv->mount_lock);
    free(srv);
}
