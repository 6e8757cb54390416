/* test_headers.c - header formats: timestamps and traceparent (headers.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/headers.h"

static void timestamp_formats_as_rfc3339_utc_micros(void **state) {
    (void)state;
    char buf[40];
    /* 2024-02-29T12:34:56.000789Z */
    int64_t us = 1709210096LL * 1000000 + 789;
    assert_int_equal(hf_ts_format(us, buf, sizeof buf), HF_TS_LEN);
    assert_string_equal(buf, "2024-02-29T12:34:56.000789Z");
}

static void timestamp_round_trips(void **state) {
    (void)state;
    char buf[40];
    int64_t samples[] = {0, 1, 999999, 951782400LL * 1000000 + 123456,
                         4102444799LL * 1000000 + 999999};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        int64_t back = -1;
        size_t n = hf_ts_format(samples[i], buf, sizeof buf);
        assert_true(hf_ts_parse(buf, n, &back));
        assert_int_equal(back, samples[i]);
    }
}

static void timestamp_parse_accepts_fewer_digits_and_rejects_junk(void **state) {
    (void)state;
    int64_t us;
    const char *ms = "1970-01-01T00:00:01.5Z";
    assert_true(hf_ts_parse(ms, strlen(ms), &us));
    assert_int_equal(us, 1500000);
    const char *none = "1970-01-01T00:00:02Z";
    assert_true(hf_ts_parse(none, strlen(none), &us));
    assert_int_equal(us, 2000000);
    const char *bad[] = {"", "1970-01-01", "1970-13-01T00:00:00Z", "1970-01-01T00:00:00",
                         "1970-01-01T00:00:00.Z", "1970-01-01T25:00:00Z", "19a0-01-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(hf_ts_parse(bad[i], strlen(bad[i]), &us));
}

static void traceparents_are_well_formed_and_distinct(void **state) {
    (void)state;
    char a[56], b[56];
    hf_traceparent_new(a);
    hf_traceparent_new(b);
    assert_int_equal(strlen(a), 55);
    assert_memory_equal(a, "00-", 3);
    assert_int_equal(a[35], '-');
    assert_int_equal(a[52], '-');
    assert_string_equal(a + 53, "01");
    for (size_t i = 3; i < 35; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
    assert_string_not_equal(a, b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timestamp_formats_as_rfc3339_utc_micros),
        cmocka_unit_test(timestamp_round_trips),
        cmocka_unit_test(timestamp_parse_accepts_fewer_digits_and_rejects_junk),
        cmocka_unit_test(traceparents_are_well_formed_and_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
