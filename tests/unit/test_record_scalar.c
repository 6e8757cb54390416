/* test_record_scalar.c - HL7 times as record values (hf_rec_dtm_parse,
 * hf_rec_dtm_to_us, hf_rec_days_from_civil): every precision, the offsets,
 * the calendar, and the values that must stay text only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/record.h"

static bool parse(const char *s, hf_rec_dtm *t) {
    return hf_rec_dtm_parse((hf_span){s, strlen(s)}, t);
}

static void every_precision_parses(void **state) {
    (void)state;
    static const struct {
        const char *text;
        int digits, y, mo, d, h, mi, s, micro;
    } ok[] = {
        {"2024", 4, 2024, 1, 1, 0, 0, 0, 0},
        {"202403", 6, 2024, 3, 1, 0, 0, 0, 0},
        {"20240312", 8, 2024, 3, 12, 0, 0, 0, 0},
        {"2024031208", 10, 2024, 3, 12, 8, 0, 0, 0},
        {"202403120815", 12, 2024, 3, 12, 8, 15, 0, 0},
        {"20240312081512", 14, 2024, 3, 12, 8, 15, 12, 0},
        {"20240312081512.1", 14, 2024, 3, 12, 8, 15, 12, 100000},
        {"20240312081512.1234", 14, 2024, 3, 12, 8, 15, 12, 123400},
        {"20240229235959", 14, 2024, 2, 29, 23, 59, 59, 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        hf_rec_dtm t;
        if (!parse(ok[i].text, &t))
            fail_msg("%s refused", ok[i].text);
        assert_int_equal(t.digits, ok[i].digits);
        assert_int_equal(t.year, ok[i].y);
        assert_int_equal(t.month, ok[i].mo);
        assert_int_equal(t.day, ok[i].d);
        assert_int_equal(t.hour, ok[i].h);
        assert_int_equal(t.minute, ok[i].mi);
        assert_int_equal(t.second, ok[i].s);
        assert_int_equal(t.micro, ok[i].micro);
        assert_false(t.has_offset);
    }
}

static void offsets_give_the_utc_instant(void **state) {
    (void)state;
    hf_rec_dtm t;
    assert_true(parse("20240312081512-0500", &t));
    assert_true(t.has_offset);
    assert_int_equal(t.offset_min, -300);
    assert_int_equal(hf_rec_dtm_to_us(&t, t.offset_min), 1710249312LL * 1000000);
    assert_true(parse("20240312081512.1234+0100", &t));
    assert_int_equal(t.offset_min, 60);
    assert_int_equal(hf_rec_dtm_to_us(&t, t.offset_min), 1710227712123400LL);
    assert_true(parse("20240312+1400", &t));
    assert_int_equal(t.offset_min, 14 * 60);
    assert_true(parse("20240312-1200", &t));
    assert_true(parse("20240312-0000", &t));
    assert_int_equal(t.offset_min, 0);
    /* the same wall time read with another offset (what the enricher does) */
    assert_true(parse("20240312081512", &t));
    assert_int_equal(hf_rec_dtm_to_us(&t, -300), 1710249312LL * 1000000);
    assert_int_equal(hf_rec_dtm_to_us(&t, 0), 1710231312LL * 1000000);
}

static void malformed_times_stay_text(void **state) {
    (void)state;
    static const char *const bad[] = {
        "",               "2",                "2024031",         "20241301",
        "20240230",       "20230229",         "19001229x",       "2024031224",
        "202403122360",   "20240312235960",   "0999",            "9999",
        "20240312081512.", "20240312081512.12345", "2024031208.5", "20240312+05",
        "20240312+1500",  "20240312-1201",    "20240312+0060",   "20240312 ",
        "2024-03-12",     "20240312081512-0500x", "+0500",       "2024031208151",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hf_rec_dtm t;
        if (parse(bad[i], &t))
            fail_msg("\"%s\" accepted", bad[i]);
    }
}

static void calendar_days(void **state) {
    (void)state;
    assert_int_equal(hf_rec_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(hf_rec_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(hf_rec_days_from_civil(1982, 4, 15), 4487);
    assert_int_equal(hf_rec_days_from_civil(2000, 2, 29), 11016);
    assert_int_equal(hf_rec_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(hf_rec_days_from_civil(1900, 3, 1), -25508); /* 1900 is no leap year */
    assert_int_equal(hf_rec_days_from_civil(1000, 1, 1), -354285);
    assert_int_equal(hf_rec_days_from_civil(9998, 12, 31), 2932531);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_precision_parses),
        cmocka_unit_test(offsets_give_the_utc_instant),
        cmocka_unit_test(malformed_times_stay_text),
        cmocka_unit_test(calendar_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
