/* metrics.h - a process-wide Prometheus registry: counters, gauges and
 * histograms, safe to update from any thread (lock-free C11 atomics), rendered
 * in the Prometheus text exposition format (version 0.0.4) for GET /metrics.
 *
 * A series is identified by its metric name plus a label string such as
 * `stage="parser",class="parse"` (NULL or "" for none). Asking twice for the
 * same name+labels returns the same handle, so callers may cache handles or
 * look them up each time (a hash lookup under a mutex). Handles live until
 * hf_metrics_reset().
 *
 * Names must match [a-zA-Z_:][a-zA-Z0-9_:]*; by convention ours start with
 * `hl7flow_` and carry their unit (`_seconds`, `_bytes`, counters `_total`),
 * see docs/internals/metrics-http.md.
 *
 * Label strings: comma-separated `name="value"` pairs (spaces around `=` and
 * `,` and one trailing comma are tolerated); label names match
 * [a-zA-Z_][a-zA-Z0-9_]* and must not start with `__`; at most 16 pairs and
 * 1024 bytes. Inside a value, \ " and 
 are escapes and any other
 * backslash is a literal backslash. Pairs are sorted by name, so
 * `b="2",a="1"` and `a="1",b="2"` are one series, and values are re-escaped
 * on output, so rendered text is always valid.
 *
 * The registration functions return NULL when the name or labels are
 * invalid, when the name is already registered as another kind (or would
 * clash with a histogram's `_bucket`/`_sum`/`_count` lines), or on allocation
 * failure. Updating a NULL handle does nothing and reading one gives 0, so
 * a metric that failed to register never takes the service down with it.
 */
#ifndef HL7FLOW_METRICS_H
#define HL7FLOW_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct hf_counter hf_counter;
typedef struct hf_gauge hf_gauge;
typedef struct hf_histogram hf_histogram;

/* Returns the counter series name{labels}, creating it (value 0) on first
 * use. @p help (may be NULL: no HELP line) is used on first registration of
 * @p name, later ones are ignored. Borrowed strings are copied. NULL: see
 * above. Add and read are lock-free and may run on any thread. */
hf_counter *hf_metrics_counter(const char *name, const char *help, const char *labels);
void hf_counter_add(hf_counter *c, uint64_t n);
uint64_t hf_counter_value(const hf_counter *c);

/* As hf_metrics_counter, for a gauge (initial value 0). Set and read are
 * lock-free; the value is a double stored bit-for-bit. */
hf_gauge *hf_metrics_gauge(const char *name, const char *help, const char *labels);
void hf_gauge_set(hf_gauge *g, double v);
double hf_gauge_value(const hf_gauge *g);

/* As hf_metrics_counter, for a histogram. @p bounds: strictly ascending,
 * finite upper bounds, at most 64 (the +Inf bucket is implicit; a final +Inf
 * is accepted and dropped); copied. NULL/0 selects the default latency
 * buckets in seconds: 50us 100us 250us 500us 1ms 2.5ms 5ms 10ms 25ms 50ms
 * 100ms 250ms 500ms 1s 2.5s 5s 10s. A label named `le` is rejected. Asking
 * again for an existing name+labels returns it and ignores @p bounds.
 * Observe is lock-free: v lands in the first bucket with v <= bound (NaN in
 * +Inf, and it makes _sum NaN). hf_histogram_count is the observation count. */
hf_histogram *hf_metrics_histogram(const char *name, const char *help, const char *labels,
                                   const double *bounds, size_t nbounds);
void hf_histogram_observe(hf_histogram *h, double v);
uint64_t hf_histogram_count(const hf_histogram *h);

/* Renders every series as Prometheus text: per metric name one # HELP (when
 * help was given) and one # TYPE line, then its series in registration
 * order; histograms as cumulative _bucket{...,le="..."} lines ending in
 * le="+Inf", then _sum and _count. Floats print in the shortest form that
 * reads back exactly, +Inf/-Inf/NaN as Prometheus spells them (assumes the C
 * locale's decimal point). Returns a malloc'd NUL-terminated string the
 * caller frees ("" for an empty registry), or NULL on allocation failure. */
char *hf_metrics_render(void);

/* Drops every series (tests only; handles become invalid, so no thread may
 * still be updating them). */
void hf_metrics_reset(void);

#endif
