/* http.h - the probe and metrics endpoint every binary serves, on
 * libmicrohttpd (one internal polling thread):
 *   GET /healthz  200 "ok" while the process runs its loop (503 "not live"
 *                 after hf_live_set(false))
 *   GET /readyz   200 when every registered readiness check is true, else 503;
 *                 JSON body {"ready":false,"checks":{"kafka":true,
 *                 "assigned":false},"failing":["assigned"]}
 *   GET /metrics  Prometheus text, version 0.0.4 (metrics.h)
 * The three answer HEAD as well; any other method gets 405 with an Allow
 * header. Query strings are ignored. Other paths go to the mounted handler
 * with the longest matching prefix (any method), else 404. Extra handlers
 * are how the dev broker serves its broker down/up controls. Request bodies
 * are read and discarded. See docs/internals/metrics-http.md.
 */
#ifndef HL7FLOW_HTTP_H
#define HL7FLOW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/status.h"

typedef struct hf_http hf_http;

/* Extra handler: fills *body (malloc'd NUL-terminated text, taken by the
 * server; leave NULL for an empty body), may point *content_type at a
 * string that outlives the call (default "text/plain; charset=utf-8"), and
 * returns the HTTP status (outside 100..599 becomes a 500). @p method is
 * "GET"/"POST"/...; @p path the full URL path without the query string.
 * Runs on the server's thread, so it must be safe against the rest of the
 * program. */
typedef int (*hf_http_handler_fn)(void *ctx, const char *method, const char *path,
                                  char **body, const char **content_type);

/* Starts serving on 0.0.0.0:@p port (0 = an ephemeral port, see
 * hf_http_port). On HF_OK *out holds the owned server (free with
 * hf_http_stop); otherwise *out is NULL and @p err says why: HF_EIO when the
 * port cannot be bound, HF_ENOMEM. */
hf_status hf_http_start(uint16_t port, hf_http **out, hf_err *err);

/* Port actually bound. */
uint16_t hf_http_port(const hf_http *srv);

/* Mounts @p fn for paths starting with @p prefix (copied; must start with
 * '/'; plain string prefix, so "/broker/" does not match "/broker").
 * @p ctx is borrowed and must outlive the server. At most 8 handlers; safe
 * to call while serving. The built-in paths cannot be overridden. Returns
 * HF_ECONFIG (bad or duplicate prefix, NULL fn), HF_ELIMIT, HF_ENOMEM. */
hf_status hf_http_mount(hf_http *srv, const char *prefix, hf_http_handler_fn fn, void *ctx);

/* Stops the server (waits for its thread, so no handler runs afterwards)
 * and frees it; NULL is a no-op. */
void hf_http_stop(hf_http *srv);

/* Readiness: named checks (e.g. "kafka", "assigned", "postgres"), all must be
 * true for /readyz to answer 200. A check exists once set (NULL is ignored)
 * and keeps its first-set position in the JSON. Process-wide, shared by
 * every server, thread-safe. If a new check cannot be recorded (out of
 * memory) the process reports not ready until hf_ready_reset. */
void hf_ready_set(const char *check, bool ok);

/* True when every check is true and at least one exists. If @p why is
 * non-NULL, writes a JSON object of the checks ({"kafka":true,...}), or ""
 * when it does not fit in @p why_cap bytes (never truncated JSON). */
bool hf_ready(char *why, size_t why_cap);

/* Liveness: false makes /healthz answer 503 (a wedged loop). Process-wide,
 * thread-safe, true at start. */
void hf_live_set(bool ok);

/* Clears readiness checks (tests); liveness is left as it is. */
void hf_ready_reset(void);

#endif
