/* test_metrics.c - unit tests for the Prometheus registry (metrics.h):
 * values, handle identity, label canonicalisation, rejection of bad input,
 * exact exposition text, cumulative buckets and exact sums under threads. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/metrics.h"

static int reset_registry(void **state) {
    (void)state;
    hf_metrics_reset();
    return 0;
}

/* Renders and compares with @p want, printing both on mismatch. */
static void assert_render(const char *want) {
    char *got = hf_metrics_render();
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void counter_accumulates_adds(void **state) {
    (void)state;
    hf_counter *c = hf_metrics_counter("hl7flow_test_total", "t", NULL);
    assert_non_null(c);
    assert_int_equal(hf_counter_value(c), 0);
    hf_counter_add(c, 1);
    hf_counter_add(c, 41);
    assert_int_equal(hf_counter_value(c), 42);
    hf_counter_add(c, UINT64_C(1) << 40);
    assert_int_equal(hf_counter_value(c), (UINT64_C(1) << 40) + 42);
}

static void gauge_holds_last_value(void **state) {
    (void)state;
    hf_gauge *g = hf_metrics_gauge("hl7flow_test_gauge", "t", "");
    assert_non_null(g);
    assert_true(hf_gauge_value(g) == 0.0);
    hf_gauge_set(g, -2.5);
    assert_true(hf_gauge_value(g) == -2.5);
    hf_gauge_set(g, 0.1);
    assert_true(hf_gauge_value(g) == 0.1);
    hf_gauge_set(g, NAN);
    assert_true(isnan(hf_gauge_value(g)));
}

static void same_name_and_labels_return_same_handle(void **state) {
    (void)state;
    hf_counter *a = hf_metrics_counter("hl7flow_in_total", "in", "stage=\"parser\"");
    hf_counter *b = hf_metrics_counter("hl7flow_in_total", "other help", "stage=\"parser\"");
    hf_counter *c = hf_metrics_counter("hl7flow_in_total", "in", "stage=\"router\"");
    hf_counter *d = hf_metrics_counter("hl7flow_in_total", "in", NULL);
    hf_counter *e = hf_metrics_counter("hl7flow_in_total", "in", "");
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_ptr_not_equal(a, d);
    assert_ptr_equal(d, e);
    hf_counter_add(a, 3);
    assert_int_equal(hf_counter_value(b), 3);
    assert_int_equal(hf_counter_value(c), 0);
}

static void label_order_and_spacing_do_not_make_new_series(void **state) {
    (void)state;
    hf_counter *a = hf_metrics_counter("hl7flow_x_total", "x", "b=\"2\",a=\"1\"");
    hf_counter *b = hf_metrics_counter("hl7flow_x_total", "x", " a = \"1\" , b=\"2\" ");
    hf_counter *c = hf_metrics_counter("hl7flow_x_total", "x", "a=\"1\",b=\"2\",");
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_ptr_equal(a, c);
    assert_render("# HELP hl7flow_x_total x\n"
                  "# TYPE hl7flow_x_total counter\n"
                  "hl7flow_x_total{a=\"1\",b=\"2\"} 0\n");
}

static void bad_names_and_labels_are_rejected(void **state) {
    (void)state;
    assert_null(hf_metrics_counter(NULL, "h", NULL));
    assert_null(hf_metrics_counter("", "h", NULL));
    assert_null(hf_metrics_counter("9lives", "h", NULL));
    assert_null(hf_metrics_counter("has-dash", "h", NULL));
    assert_null(hf_metrics_counter("has space", "h", NULL));
    assert_non_null(hf_metrics_counter(":ok_name:x9", "h", NULL));
    assert_non_null(hf_metrics_counter("_ok", "h", NULL));
    /* labels: missing quotes, bad names, reserved, duplicates, garbage */
    assert_null(hf_metrics_counter("m", "h", "a=1"));
    assert_null(hf_metrics_counter("m", "h", "a=\"1"));
    assert_null(hf_metrics_counter("m", "h", "1a=\"1\""));
    assert_null(hf_metrics_counter("m", "h", "a:b=\"1\""));
    assert_null(hf_metrics_counter("m", "h", "__name__=\"x\""));
    assert_null(hf_metrics_counter("m", "h", "a=\"1\",a=\"2\""));
    assert_null(hf_metrics_counter("m", "h", "a=\"1\" b=\"2\""));
    assert_null(hf_metrics_counter("m", "h", "a=\"1\",,b=\"2\""));
    /* the registry is untouched by the failures above */
    assert_render("# HELP :ok_name:x9 h\n# TYPE :ok_name:x9 counter\n:ok_name:x9 0\n"
                  "# HELP _ok h\n# TYPE _ok counter\n_ok 0\n");
}

static void null_handles_are_ignored(void **state) {
    (void)state;
    hf_counter *c = hf_metrics_counter("bad name", "h", NULL);
    hf_gauge *g = hf_metrics_gauge("bad name", "h", NULL);
    hf_histogram *h = hf_metrics_histogram("bad name", "h", NULL, NULL, 0);
    assert_null(c);
    assert_null(g);
    assert_null(h);
    hf_counter_add(c, 1);
    hf_gauge_set(g, 1);
    hf_histogram_observe(h, 1);
    assert_int_equal(hf_counter_value(c), 0);
    assert_true(hf_gauge_value(g) == 0.0);
    assert_int_equal(hf_histogram_count(h), 0);
    assert_render("");
}

static void kind_conflicts_are_rejected(void **state) {
    (void)state;
    assert_non_null(hf_metrics_counter("hl7flow_a", "h", "x=\"1\""));
    assert_null(hf_metrics_gauge("hl7flow_a", "h", "x=\"1\""));
    assert_null(hf_metrics_gauge("hl7flow_a", "h", "x=\"2\""));
    assert_null(hf_metrics_histogram("hl7flow_a", "h", NULL, NULL, 0));
    /* histogram x reserves x_bucket, x_sum, x_count, and the other way round */
    assert_non_null(hf_metrics_histogram("hl7flow_lat_seconds", "h", NULL, NULL, 0));
    assert_null(hf_metrics_counter("hl7flow_lat_seconds_count", "h", NULL));
    assert_null(hf_metrics_gauge("hl7flow_lat_seconds_sum", "h", NULL));
    assert_non_null(hf_metrics_gauge("hl7flow_q_bucket", "h", NULL));
    assert_null(hf_metrics_histogram("hl7flow_q", "h", NULL, NULL, 0));
}

static void histogram_rejects_bad_bounds_and_le_label(void **state) {
    (void)state;
    const double desc[] = {1, 0.5};
    const double dup[] = {1, 1};
    const double nan[] = {0.1, NAN};
    assert_null(hf_metrics_histogram("h1", "h", NULL, desc, 2));
    assert_null(hf_metrics_histogram("h2", "h", NULL, dup, 2));
    assert_null(hf_metrics_histogram("h3", "h", NULL, nan, 2));
    assert_null(hf_metrics_histogram("h4", "h", "le=\"1\"", NULL, 0));
    /* le is an ordinary label on other kinds */
    assert_non_null(hf_metrics_counter("h5", "h", "le=\"1\""));
}

static void render_matches_exposition_format(void **state) {
    (void)state;
    const double bounds[] = {0.25, 1};
    hf_counter *pa = hf_metrics_counter("hl7flow_messages_total", "Messages in.",
                                        "stage=\"parser\",class=\"parse\"");
    hf_gauge *lag = hf_metrics_gauge("hl7flow_lag", "Lag with \\ and\nnewline.", NULL);
    hf_counter *ro = hf_metrics_counter("hl7flow_messages_total", "ignored", "stage=\"router\"");
    hf_histogram *h = hf_metrics_histogram("hl7flow_latency_seconds", "Latency.",
                                           "stage=\"parser\"", bounds, 2);
    hf_gauge *esc = hf_metrics_gauge("hl7flow_info", NULL, "v=\"a\\\"b\\\\c\\nd\\x\"");
    hf_gauge *odd = hf_metrics_gauge("hl7flow_odd", "", NULL);
    assert_non_null(pa);
    assert_non_null(lag);
    assert_non_null(ro);
    assert_non_null(h);
    assert_non_null(esc);
    assert_non_null(odd);
    hf_counter_add(pa, 7);
    hf_counter_add(ro, 2);
    hf_gauge_set(lag, 0.005);
    hf_gauge_set(esc, 1);
    hf_gauge_set(odd, -INFINITY);
    hf_histogram_observe(h, 0.125); /* le 0.25 */
    hf_histogram_observe(h, 0.25);  /* le 0.25: bounds are inclusive */
    hf_histogram_observe(h, 0.5);   /* le 1 */
    hf_histogram_observe(h, 3);     /* +Inf */
    assert_render("# HELP hl7flow_messages_total Messages in.\n"
                  "# TYPE hl7flow_messages_total counter\n"
                  "hl7flow_messages_total{class=\"parse\",stage=\"parser\"} 7\n"
                  "hl7flow_messages_total{stage=\"router\"} 2\n"
                  "# HELP hl7flow_lag Lag with \\\\ and\\nnewline.\n"
                  "# TYPE hl7flow_lag gauge\n"
                  "hl7flow_lag 0.005\n"
                  "# HELP hl7flow_latency_seconds Latency.\n"
                  "# TYPE hl7flow_latency_seconds histogram\n"
                  "hl7flow_latency_seconds_bucket{stage=\"parser\",le=\"0.25\"} 2\n"
                  "hl7flow_latency_seconds_bucket{stage=\"parser\",le=\"1\"} 3\n"
                  "hl7flow_latency_seconds_bucket{stage=\"parser\",le=\"+Inf\"} 4\n"
                  "hl7flow_latency_seconds_sum{stage=\"parser\"} 3.875\n"
                  "hl7flow_latency_seconds_count{stage=\"parser\"} 4\n"
                  "# TYPE hl7flow_info gauge\n"
                  "hl7flow_info{v=\"a\\\"b\\\\c\\nd\\\\x\"} 1\n"
                  "# TYPE hl7flow_odd gauge\n"
                  "hl7flow_odd -Inf\n");
}

static void histogram_default_buckets_are_cumulative(void **state) {
    (void)state;
    hf_histogram *h = hf_metrics_histogram("hl7flow_t_seconds", "t", NULL, NULL, 0);
    assert_non_null(h);
    hf_histogram_observe(h, 0.00004); /* <= 50us */
    hf_histogram_observe(h, 0.003);   /* <= 5ms */
    hf_histogram_observe(h, 0.003);
    hf_histogram_observe(h, 10);    /* <= 10s, inclusive */
    hf_histogram_observe(h, 11);    /* +Inf */
    hf_histogram_observe(h, NAN);   /* +Inf, sum becomes NaN */
    assert_int_equal(hf_histogram_count(h), 6);
    assert_render("# HELP hl7flow_t_seconds t\n"
                  "# TYPE hl7flow_t_seconds histogram\n"
                  "hl7flow_t_seconds_bucket{le=\"5e-05\"} 1\n"
                  "hl7flow_t_seconds_bucket{le=\"0.0001\"} 1\n"
                  "hl7flow_t_seconds_bucket{le=\"0.00025\"} 1\n"
                  "hl7flow_t_seconds_bucket{le=\"0.0005\"} 1\n"
                  "hl7flow_t_seconds_bucket{le=\"0.001\"} 1\n"
                  "hl7flow_t_seconds_bucket{le=\"0.0025\"} 1\n"
                  "hl7flow_t_seconds_bucket{le=\"0.005\"} 3\n"
                  "hl7flow_t_seconds_bucket{le=\"0.01\"} 3\n"
                  "hl7flow_t_seconds_bucket{le=\"0.025\"} 3\n"
                  "hl7flow_t_seconds_bucket{le=\"0.05\"} 3\n"
                  "hl7flow_t_seconds_bucket{le=\"0.1\"} 3\n"
                  "hl7flow_t_seconds_bucket{le=\"0.25\"} 3\n"
                  "hl7flow_t_seconds_bucket{le=\"0.5\"} 3\n"
                  "hl7flow_t_seconds_bucket{le=\"1\"} 3\n"
                  "hl7flow_t_seconds_bucket{le=\"2.5\"} 3\n"
                  "hl7flow_t_seconds_bucket{le=\"5\"} 3\n"
                  "hl7flow_t_seconds_bucket{le=\"10\"} 4\n"
                  "hl7flow_t_seconds_bucket{le=\"+Inf\"} 6\n"
                  "hl7flow_t_seconds_sum NaN\n"
                  "hl7flow_t_seconds_count 6\n");
}

static void explicit_inf_bound_is_the_implicit_one(void **state) {
    (void)state;
    const double bounds[] = {1, INFINITY};
    hf_histogram *h = hf_metrics_histogram("hl7flow_b", "b", NULL, bounds, 2);
    assert_non_null(h);
    hf_histogram_observe(h, 2);
    assert_render("# HELP hl7flow_b b\n"
                  "# TYPE hl7flow_b histogram\n"
                  "hl7flow_b_bucket{le=\"1\"} 0\n"
                  "hl7flow_b_bucket{le=\"+Inf\"} 1\n"
                  "hl7flow_b_sum 2\n"
                  "hl7flow_b_count 1\n");
}

static void floats_print_shortest_round_trip(void **state) {
    (void)state;
    hf_gauge *g = hf_metrics_gauge("g", NULL, NULL);
    assert_non_null(g);
    const struct {
        double v;
        const char *text;
    } cases[] = {{0.1, "0.1"},        {1.0 / 3, "0.3333333333333333"}, {1e300, "1e+300"},
                 {-0.25, "-0.25"},    {INFINITY, "+Inf"},              {NAN, "NaN"},
                 {123456789, "123456789"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[128];
        hf_gauge_set(g, cases[i].v);
        snprintf(want, sizeof want, "# TYPE g gauge\ng %s\n", cases[i].text);
        assert_render(want);
        /* what we print reads back as the same double */
        if (isfinite(cases[i].v))
            assert_true(strtod(cases[i].text, NULL) == cases[i].v);
    }
}

static void reset_empties_the_registry(void **state) {
    (void)state;
    hf_counter *c = hf_metrics_counter("hl7flow_r_total", "r", "a=\"1\"");
    assert_non_null(c);
    hf_counter_add(c, 5);
    hf_metrics_reset();
    assert_render("");
    c = hf_metrics_counter("hl7flow_r_total", "r", "a=\"1\"");
    assert_non_null(c);
    assert_int_equal(hf_counter_value(c), 0);
}

static void many_series_stay_distinct(void **state) {
    (void)state;
    /* enough to grow the hash table several times */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 1000; i++) {
            char labels[32];
            snprintf(labels, sizeof labels, "p=\"%d\"", i);
            hf_counter *c = hf_metrics_counter("hl7flow_p_total", "p", labels);
            assert_non_null(c);
            hf_counter_add(c, (uint64_t)i);
            assert_int_equal(hf_counter_value(c), (uint64_t)i * (uint64_t)(round + 1));
        }
    }
}

#define THREADS 4
#define ITERS 100000

static void *hammer(void *arg) {
    (void)arg;
    hf_counter *c = hf_metrics_counter("hl7flow_conc_total", "c", NULL);
    hf_histogram *h = hf_metrics_histogram("hl7flow_conc_seconds", "h", NULL, NULL, 0);
    for (int i = 0; i < ITERS; i++) {
        hf_counter_add(c, 1);
        hf_histogram_observe(h, 1.0);
        if (i % 1000 == 0) {
            /* look-ups race with updates and renders */
            hf_counter *again = hf_metrics_counter("hl7flow_conc_total", "c", NULL);
            if (again != c)
                return (void *)1;
            free(hf_metrics_render());
        }
    }
    return NULL;
}

static void concurrent_updates_sum_exactly(void **state) {
    (void)state;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        void *rv = (void *)1;
        assert_int_equal(pthread_join(t[i], &rv), 0);
        assert_null(rv);
    }
    hf_counter *c = hf_metrics_counter("hl7flow_conc_total", "c", NULL);
    hf_histogram *h = hf_metrics_histogram("hl7flow_conc_seconds", "h", NULL, NULL, 0);
    assert_int_equal(hf_counter_value(c), THREADS * ITERS);
    assert_int_equal(hf_histogram_count(h), THREADS * ITERS);
    char *text = hf_metrics_render();
    assert_non_null(text);
    assert_non_null(strstr(text, "hl7flow_conc_seconds_bucket{le=\"0.5\"} 0\n"));
    assert_non_null(strstr(text, "hl7flow_conc_seconds_bucket{le=\"1\"} 400000\n"));
    assert_non_null(strstr(text, "hl7flow_conc_seconds_sum 400000\n"));
    assert_non_null(strstr(text, "hl7flow_conc_seconds_count 400000\n"));
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(counter_accumulates_adds, reset_registry),
        cmocka_unit_test_setup(gauge_holds_last_value, reset_registry),
        cmocka_unit_test_setup(same_name_and_labels_return_same_handle, reset_registry),
        cmocka_unit_test_setup(label_order_and_spacing_do_not_make_new_series, reset_registry),
        cmocka_unit_test_setup(bad_names_and_labels_are_rejected, reset_registry),
        cmocka_unit_test_setup(null_handles_are_ignored, reset_registry),
        cmocka_unit_test_setup(kind_conflicts_are_rejected, reset_registry),
        cmocka_unit_test_setup(histogram_rejects_bad_bounds_and_le_label, reset_registry),
        cmocka_unit_test_setup(render_matches_exposition_format, reset_registry),
        cmocka_unit_test_setup(histogram_default_buckets_are_cumulative, reset_registry),
        cmocka_unit_test_setup(explicit_inf_bound_is_the_implicit_one, reset_registry),
        cmocka_unit_test_setup(floats_print_shortest_round_trip, reset_registry),
        cmocka_unit_test_setup(reset_empties_the_registry, reset_registry),
        cmocka_unit_test_setup(many_series_stay_distinct, reset_registry),
        cmocka_unit_test_setup(concurrent_updates_sum_exactly, reset_registry),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    hf_metrics_reset();
    return failed;
}
