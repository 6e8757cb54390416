/* test_tz.c - unit tests for tz.h: wall time -> UTC across DST starts and
 * ends (America/Chicago, Europe/London, the 30-minute shift of
 * Australia/Lord_Howe), a +05:30 zone, local mean time before 1900, far
 * future rules, UTC, unknown names, and the cache never changing a result.
 * Expected values were computed independently (Python zoneinfo, fold=0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/tz.h"

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Microseconds of y-m-d h:mi:s (read as UTC, i.e. the wall-time encoding). */
static int64_t at(int64_t y, int m, int d, int h, int mi, int s) {
    return ((days_from_civil(y, m, d) * 24 + h) * 3600 + mi * 60 + s) * 1000000LL;
}

static hf_tz *open_ok(const char *name) {
    hf_tz *tz = NULL;
    hf_err err = {0};
    assert_int_equal(hf_tz_open(name, &tz, &err), HF_OK);
    assert_non_null(tz);
    return tz;
}

/* Checks the cached and the uncached path, twice (miss then hit). */
static void expect_utc(hf_tz *tz, int64_t wall, int64_t utc) {
    assert_int_equal(hf_tz_to_utc_us_uncached(tz, wall), utc);
    assert_int_equal(hf_tz_to_utc_us(tz, wall), utc);
    assert_int_equal(hf_tz_to_utc_us(tz, wall), utc);
}

static void civil_helper_is_right(void **state) {
    (void)state;
    assert_int_equal(days_from_civil(1970, 1, 1), 0);
    assert_int_equal(days_from_civil(2024, 3, 10), 19792);
    assert_int_equal(days_from_civil(1969, 12, 31), -1);
    assert_int_equal(days_from_civil(2000, 3, 1), 11017);
}

static void chicago_dst_start_gap_moves_forward(void **state) {
    (void)state;
    hf_tz *tz = open_ok("America/Chicago");
    expect_utc(tz, at(2024, 3, 10, 1, 30, 0), at(2024, 3, 10, 7, 30, 0)); /* CST */
    expect_utc(tz, at(2024, 3, 10, 1, 59, 59) + 999999, at(2024, 3, 10, 7, 59, 59) + 999999);
    /* 02:00..02:59 does not exist: read as CST, i.e. 03:xx CDT */
    expect_utc(tz, at(2024, 3, 10, 2, 0, 0), at(2024, 3, 10, 8, 0, 0));
    expect_utc(tz, at(2024, 3, 10, 2, 30, 0), at(2024, 3, 10, 8, 30, 0));
    expect_utc(tz, at(2024, 3, 10, 3, 0, 0), at(2024, 3, 10, 8, 0, 0)); /* CDT */
    expect_utc(tz, at(2024, 3, 10, 3, 30, 0), at(2024, 3, 10, 8, 30, 0));
    expect_utc(tz, at(2024, 7, 1, 12, 0, 0), at(2024, 7, 1, 17, 0, 0));
    hf_tz_close(tz);
}

static void chicago_dst_end_takes_first_occurrence(void **state) {
    (void)state;
    hf_tz *tz = open_ok("America/Chicago");
    expect_utc(tz, at(2024, 11, 3, 0, 30, 0), at(2024, 11, 3, 5, 30, 0));
    /* 01:00..01:59 happens twice (CDT, then CST): the first, CDT */
    expect_utc(tz, at(2024, 11, 3, 1, 0, 0), at(2024, 11, 3, 6, 0, 0));
    expect_utc(tz, at(2024, 11, 3, 1, 30, 0), at(2024, 11, 3, 6, 30, 0));
    expect_utc(tz, at(2024, 11, 3, 1, 59, 59) + 999999, at(2024, 11, 3, 6, 59, 59) + 999999);
    expect_utc(tz, at(2024, 11, 3, 2, 0, 0), at(2024, 11, 3, 8, 0, 0)); /* CST */
    expect_utc(tz, at(2024, 12, 25, 9, 15, 0), at(2024, 12, 25, 15, 15, 0));
    hf_tz_close(tz);
}

static void london_summer_time(void **state) {
    (void)state;
    hf_tz *tz = open_ok("Europe/London");
    expect_utc(tz, at(2024, 1, 15, 12, 0, 0), at(2024, 1, 15, 12, 0, 0));
    expect_utc(tz, at(2024, 7, 1, 12, 0, 0), at(2024, 7, 1, 11, 0, 0));
    expect_utc(tz, at(2024, 3, 31, 1, 30, 0), at(2024, 3, 31, 1, 30, 0));   /* gap: GMT */
    expect_utc(tz, at(2024, 3, 31, 2, 30, 0), at(2024, 3, 31, 1, 30, 0));   /* BST */
    expect_utc(tz, at(2024, 10, 27, 1, 30, 0), at(2024, 10, 27, 0, 30, 0)); /* repeat: BST */
    expect_utc(tz, at(2024, 10, 27, 2, 0, 0), at(2024, 10, 27, 2, 0, 0));
    hf_tz_close(tz);
}

static void lord_howe_half_hour_dst(void **state) {
    (void)state;
    hf_tz *tz = open_ok("Australia/Lord_Howe"); /* +10:30, DST +11:00 */
    expect_utc(tz, at(2024, 6, 1, 12, 0, 0), at(2024, 6, 1, 1, 30, 0));
    expect_utc(tz, at(2024, 1, 1, 12, 0, 0), at(2024, 1, 1, 1, 0, 0));
    /* 2024-10-06 02:00 -> 02:30: 02:15 is in the gap, read as +10:30 */
    expect_utc(tz, at(2024, 10, 6, 1, 59, 0), at(2024, 10, 5, 15, 29, 0));
    expect_utc(tz, at(2024, 10, 6, 2, 15, 0), at(2024, 10, 5, 15, 45, 0));
    expect_utc(tz, at(2024, 10, 6, 2, 30, 0), at(2024, 10, 5, 15, 30, 0));
    /* 2024-04-07 02:00 -> 01:30: 01:45 happens twice, first is +11:00 */
    expect_utc(tz, at(2024, 4, 7, 1, 29, 0), at(2024, 4, 6, 14, 29, 0));
    expect_utc(tz, at(2024, 4, 7, 1, 45, 0), at(2024, 4, 6, 14, 45, 0));
    expect_utc(tz, at(2024, 4, 7, 2, 0, 0), at(2024, 4, 6, 15, 30, 0));
    hf_tz_close(tz);
}

static void kolkata_half_hour_offset(void **state) {
    (void)state;
    hf_tz *tz = open_ok("Asia/Kolkata");
    expect_utc(tz, at(2024, 6, 1, 12, 0, 0), at(2024, 6, 1, 6, 30, 0));
    expect_utc(tz, at(2024, 1, 1, 3, 0, 0), at(2023, 12, 31, 21, 30, 0));
    /* before IST: Madras time +05:21:10 */
    expect_utc(tz, at(1890, 1, 1, 12, 0, 0), at(1890, 1, 1, 6, 38, 50));
    hf_tz_close(tz);
}

static void local_mean_time_before_1900_and_far_future(void **state) {
    (void)state;
    hf_tz *chi = open_ok("America/Chicago"); /* LMT -05:50:36 until 1883-11-18 */
    expect_utc(chi, at(1880, 1, 1, 12, 0, 0), at(1880, 1, 1, 17, 50, 36));
    expect_utc(chi, at(2100, 7, 4, 12, 0, 0), at(2100, 7, 4, 17, 0, 0)); /* CDT rules go on */
    expect_utc(chi, at(2100, 12, 4, 12, 0, 0), at(2100, 12, 4, 18, 0, 0));
    /* just before the epoch: floor, not truncation, of negative values */
    expect_utc(chi, at(1969, 12, 31, 23, 59, 59) + 999999, at(1970, 1, 1, 5, 59, 59) + 999999);
    hf_tz_close(chi);
    hf_tz *lon = open_ok("Europe/London"); /* LMT -00:01:15 until 1847-12-01 */
    expect_utc(lon, at(1840, 6, 1, 12, 0, 0), at(1840, 6, 1, 12, 1, 15));
    expect_utc(lon, at(1000, 1, 1, 12, 0, 0), at(1000, 1, 1, 12, 1, 15)); /* proleptic Gregorian */
    hf_tz_close(lon);
}

static void utc_is_identity(void **state) {
    (void)state;
    const char *names[] = {"UTC", "Etc/UTC"};
    for (size_t i = 0; i < 2; i++) {
        hf_tz *tz = open_ok(names[i]);
        assert_string_equal(hf_tz_name(tz), names[i]);
        const int64_t v[] = {0,
                             1,
                             -1,
                             at(2024, 3, 10, 2, 30, 0) + 123456,
                             at(1800, 1, 1, 0, 0, 0),
                             at(2200, 12, 31, 23, 59, 59) + 999999};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
            expect_utc(tz, v[k], v[k]);
        hf_tz_close(tz);
    }
}

static void alias_keeps_the_given_name(void **state) {
    (void)state;
    hf_tz *tz = open_ok("US/Central");
    assert_string_equal(hf_tz_name(tz), "US/Central");
    expect_utc(tz, at(2024, 7, 1, 12, 0, 0), at(2024, 7, 1, 17, 0, 0));
    hf_tz_close(tz);
}

static void unknown_zone_is_not_found(void **state) {
    (void)state;
    const char *bad[] = {"Nowhere/Land", "america/chicago",  "",  "GMT+05:00",
                         "Etc/Unknown",  "America/Chicago ", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hf_tz *tz = (hf_tz *)&tz; /* must be overwritten with NULL */
        hf_err err = {0};
        assert_int_equal(hf_tz_open(bad[i], &tz, &err), HF_ENOTFOUND);
        assert_null(tz);
        assert_int_equal(err.st, HF_ENOTFOUND);
        assert_true(strlen(err.msg) > 0);
    }
    hf_tz *tz = NULL;
    assert_int_equal(hf_tz_open("Mars/Olympus_Mons", &tz, NULL), HF_ENOTFOUND); /* NULL err ok */
    hf_tz_close(NULL);
}

static uint64_t rng_next(uint64_t *s) { /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void cache_never_changes_a_result(void **state) {
    (void)state;
    const char *zones[] = {"America/Chicago",
                           "Europe/London",
                           "Australia/Lord_Howe",
                           "Asia/Kolkata",
                           "America/Sao_Paulo",
                           "Pacific/Chatham",
                           "UTC"};
    uint64_t seed = 0x243F6A8885A308D3ull;
    const int64_t lo = at(1800, 1, 1, 0, 0, 0), hi = at(2200, 1, 1, 0, 0, 0);
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        hf_tz *tz = open_ok(zones[z]);
        for (int i = 0; i < 20000; i++) {
            int64_t w;
            if (i % 2 == 0) /* anywhere in 400 years */
                w = lo + (int64_t)(rng_next(&seed) % (uint64_t)(hi - lo));
            else /* dense: a few days around recent DST changes, same hours reused */
                w = at(2024, 3, 8, 0, 0, 0) + (int64_t)(rng_next(&seed) % (3ull * 86400000000ull)) +
                    (i % 4 == 1 ? 0 : (int64_t)(238 * 86400000000LL));
            int64_t exact = hf_tz_to_utc_us_uncached(tz, w);
            assert_int_equal(hf_tz_to_utc_us(tz, w), exact);
            assert_int_equal(hf_tz_to_utc_us(tz, w), exact); /* now a hit, if cacheable */
        }
        /* every minute across both 2024 transition days, cache warm from above */
        for (int64_t w = at(2024, 3, 9, 0, 0, 0); w < at(2024, 3, 12, 0, 0, 0); w += 60000000)
            assert_int_equal(hf_tz_to_utc_us(tz, w), hf_tz_to_utc_us_uncached(tz, w));
        for (int64_t w = at(2024, 11, 2, 0, 0, 0); w < at(2024, 11, 5, 0, 0, 0); w += 60000000)
            assert_int_equal(hf_tz_to_utc_us(tz, w), hf_tz_to_utc_us_uncached(tz, w));
        hf_tz_close(tz);
    }
}

static void extreme_values_saturate(void **state) {
    (void)state;
    hf_tz *tz = open_ok("Asia/Kolkata"); /* positive offset: INT64_MIN would underflow */
    assert_int_equal(hf_tz_to_utc_us(tz, INT64_MIN), INT64_MIN);
    int64_t r = hf_tz_to_utc_us(tz, INT64_MAX);
    assert_true(r < INT64_MAX && r > INT64_MAX - 86400000000LL);
    hf_tz_close(tz);
    tz = open_ok("America/Chicago"); /* negative offset: INT64_MAX would overflow */
    assert_int_equal(hf_tz_to_utc_us(tz, INT64_MAX), INT64_MAX);
    hf_tz_close(tz);
}

static void data_version_is_reported(void **state) {
    (void)state;
    const char *v = hf_tz_data_version();
    assert_non_null(v);
    assert_true(strlen(v) >= 5); /* "2022e" */
    assert_true(v[0] == '1' || v[0] == '2');
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(civil_helper_is_right),
        cmocka_unit_test(chicago_dst_start_gap_moves_forward),
        cmocka_unit_test(chicago_dst_end_takes_first_occurrence),
        cmocka_unit_test(london_summer_time),
        cmocka_unit_test(lord_howe_half_hour_dst),
        cmocka_unit_test(kolkata_half_hour_offset),
        cmocka_unit_test(local_mean_time_before_1900_and_far_future),
        cmocka_unit_test(utc_is_identity),
        cmocka_unit_test(alias_keeps_the_given_name),
        cmocka_unit_test(unknown_zone_is_not_found),
        cmocka_unit_test(cache_never_changes_a_result),
        cmocka_unit_test(extreme_values_saturate),
        cmocka_unit_test(data_version_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
