/* test_profile_types.c - unit tests for the data-type checks of the profile
 * validator (profile.h, profile_types.c), driven through the public API: a
 * one-rule profile "field ZZZ-1 <TYPE> O" and a message whose ZZZ-1 holds
 * the value. Covers DTM/TS (precisions, calendar, fractions, UTC offsets),
 * DT, TM, NM and SI, and that the reasons never quote the value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"
#include "hl7flow/profile.h"

#include "../../common/src/profile_values.h" /* the DTM shortcuts, tested directly */

/* The reason ZZZ-1 = @p value gets as @p type, or NULL when valid. The
 * returned text lives until the next call. */
static const char *verdict(const char *type, const char *value) {
    static char reason[sizeof ((hf_profile_violation *)0)->reason];
    char rules[64], msg[256];
    snprintf(rules, sizeof rules, "field ZZZ-1 %s O\n", type);
    hf_profile *p = NULL;
    hf_err err = {0};
    if (hf_profile_load_text("t.rules", rules, strlen(rules), &p, &err) != HF_OK)
        fail_msg("load: %s", err.msg);
    int n = snprintf(msg, sizeof msg, "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rZZZ|%s\r",
                     value);
    hf_hl7_msg *m = NULL;
    if (hf_hl7_parse((hf_span){msg, (size_t)n}, NULL, &m, &err) != HF_OK)
        fail_msg("parse: %s", err.msg);
    hf_profile_violation v[4];
    size_t nv = hf_profile_check(p, m, v, 4);
    const char *out = NULL;
    if (nv > 0) {
        assert_int_equal(nv, 1);
        assert_int_equal(v[0].code, HF_PV_BAD_FORMAT);
        assert_string_equal(v[0].loc, "ZZZ-1");
        if (strlen(value) >= 3)
            assert_null(strstr(v[0].reason, value)); /* never quotes the value */
        snprintf(reason, sizeof reason, "%s", v[0].reason);
        out = reason;
    }
    hf_hl7_msg_destroy(m);
    hf_profile_destroy(p);
    return out;
}

static void assert_valid(const char *type, const char *value) {
    const char *r = verdict(type, value);
    if (r != NULL)
        fail_msg("%s '%s' rejected: %s", type, value, r);
}

static void assert_invalid(const char *type, const char *value, const char *why) {
    const char *r = verdict(type, value);
    if (r == NULL)
        fail_msg("%s '%s' accepted", type, value);
    if (strstr(r, why) == NULL)
        fail_msg("%s '%s': reason '%s' lacks '%s'", type, value, r, why);
}

static void dtm_accepts_every_precision(void **state) {
    (void)state;
    const char *ok[] = {"2024",           "202402",           "20240229",
                        "2024022913",     "202402291359",     "20240229135959",
                        "20240229135959.1", "20240229135959.1234", "20240229135959-0500",
                        "2024+0000",      "20240229135959.12+1400", "199912312359-1200"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_valid("DTM", ok[i]);
}

static void dtm_rejects_impossible_dates(void **state) {
    (void)state;
    assert_invalid("DTM", "20231345", "month out of range");
    assert_invalid("DTM", "20220000", "month out of range");
    assert_invalid("DTM", "19870230", "day out of range");
    assert_invalid("DTM", "20010431", "day out of range");
    assert_invalid("DTM", "19650732", "day out of range");
    assert_invalid("DTM", "20230229", "day out of range"); /* not a leap year */
    assert_invalid("DTM", "19000229", "day out of range"); /* century rule */
    assert_valid("DTM", "20000229");                        /* 400-year rule */
    assert_invalid("DTM", "0000", "year out of range");
    assert_invalid("DTM", "2024010124", "hour out of range");
    assert_invalid("DTM", "202401012360", "minute out of range");
    assert_invalid("DTM", "20240101235960", "second out of range");
}

static void dtm_rejects_bad_shapes(void **state) {
    (void)state;
    assert_invalid("DTM", "202", "wrong number of digits");
    assert_invalid("DTM", "20240", "wrong number of digits");
    assert_invalid("DTM", "202401011", "wrong number of digits");
    assert_invalid("DTM", "202401010000000", "wrong number of digits");
    assert_invalid("DTM", "2024-01-01", "UTC offset must be +/-HHMM");
    assert_invalid("DTM", "20240101T1200", "unexpected character");
    assert_invalid("DTM", " 20240101", "wrong number of digits");
    assert_invalid("DTM", "20240101 ", "unexpected character");
    assert_invalid("DTM", "202401011200.5", "fraction without seconds");
    assert_invalid("DTM", "20240101120000.", "fraction must have 1 to 4 digits");
    assert_invalid("DTM", "20240101120000.12345", "fraction must have 1 to 4 digits");
    assert_invalid("DTM", "20240101-05", "UTC offset must be +/-HHMM");
    assert_invalid("DTM", "20240101+05000", "UTC offset must be +/-HHMM");
    assert_invalid("DTM", "20240101+1500", "UTC offset out of range");
    assert_invalid("DTM", "20240101-0560", "UTC offset out of range");
    assert_invalid("DTM", "DeIdentified", "wrong number of digits");
}

static void ts_checks_component_one_only(void **state) {
    (void)state;
    assert_valid("TS", "20240101^S");       /* v2.3 degree of precision */
    assert_valid("TS", "20240101120000^M");
    assert_invalid("TS", "20241301^S", "month out of range");
    assert_valid("TS", "\"\"");             /* HL7 null: present, not checked */
}

static void dt_and_tm(void **state) {
    (void)state;
    assert_valid("DT", "2024");
    assert_valid("DT", "202402");
    assert_valid("DT", "20240229");
    assert_invalid("DT", "2024022912", "wrong number of digits");
    assert_invalid("DT", "20240213000000+0000", "unexpected character");
    assert_invalid("DT", "20240431", "day out of range");
    assert_valid("TM", "23");
    assert_valid("TM", "2359");
    assert_valid("TM", "235959.9999");
    assert_valid("TM", "0000-0330");
    assert_invalid("TM", "2400", "hour out of range");
    assert_invalid("TM", "1260", "minute out of range");
    assert_invalid("TM", "235", "wrong number of digits");
    assert_invalid("TM", "1200.5", "fraction without seconds");
}

static void nm_and_si(void **state) {
    (void)state;
    const char *nm_ok[] = {"0", "-1", "+2.5", "007", ".5", "5.", "-0.001", "123456789012"};
    for (size_t i = 0; i < sizeof nm_ok / sizeof nm_ok[0]; i++)
        assert_valid("NM", nm_ok[i]);
    assert_invalid("NM", "mg/dL", "no digits");
    assert_invalid("NM", "-", "no digits");
    assert_invalid("NM", ".", "no digits");
    assert_invalid("NM", "1e5", "unexpected character");
    assert_invalid("NM", "1,5", "unexpected character");
    assert_invalid("NM", "<5", "no digits");
    assert_invalid("NM", "1.2.3", "unexpected character");
    assert_valid("SI", "1");
    assert_valid("SI", "0042");
    assert_invalid("SI", "-1", "not a non-negative integer");
    assert_invalid("SI", "1.0", "not a non-negative integer");
}

/* The checker accepts common timestamps by shortcuts (dtm_fast_ok,
 * dtm_zone_fast_ok) before the full check: they must accept exactly what
 * check_dtm accepts, on every date, time and offset of the shapes they
 * take (and reject the rest, which then takes the full check). */
static void dtm_shortcuts_agree_with_the_full_check(void **state) {
    (void)state;
    static const unsigned years[] = {0, 1, 4, 100, 400, 1900, 2000, 2023, 2024, 2100, 9999};
    static const unsigned months[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 99};
    static const unsigned days[] = {0, 1, 9, 10, 27, 28, 29, 30, 31, 32, 99};
    static const unsigned times[] = {0, 1, 9, 10, 23, 24, 29, 59, 60, 61, 99};
    static const char *const zones[] = {"", "+0000", "-0500", "+1400", "+1459", "+1500",
                                        "-0060", "+05", "+05a0", "-1200"};
    static const int digits[] = {8, 12, 14}; /* date, minutes, seconds */
#define PF_N(a) (sizeof(a) / sizeof((a)[0]))
    size_t checked = 0;
    for (size_t yi = 0; yi < PF_N(years); yi++)
        for (size_t mi = 0; mi < PF_N(months); mi++)
            for (size_t di = 0; di < PF_N(days); di++)
                for (size_t t = 0; t < 4 * PF_N(times); t++)
                    for (size_t z = 0; z < PF_N(zones); z++)
                        for (size_t k = 0; k < PF_N(digits); k++) {
                            /* hour, minute, second in turn take each value
                             * while the others are valid; then all three */
                            unsigned v = times[t / 4], w = t % 4;
                            unsigned hms[3] = {w == 0 || w == 3 ? v : 12,
                                               w == 1 || w == 3 ? v : 30,
                                               w == 2 || w == 3 ? v : 30};
                            char b[40];
                            snprintf(b, sizeof b, "%04u%02u%02u%02u%02u%02u", years[yi],
                                     months[mi], days[di], hms[0], hms[1], hms[2]);
                            snprintf(b + digits[k], sizeof b - 14, "%s", zones[z]);
                            size_t len = strlen(b), zl = strlen(zones[z]);
                            int full = check_dtm(b, len) == NULL;
                            if (zl == 0 && dtm_fast_ok(b, len) != full)
                                fail_msg("dtm_fast_ok disagrees on %s", b);
                            if (dtm_zone_fast_ok(b, len) != (zl == 5 && full))
                                fail_msg("dtm_zone_fast_ok disagrees on %s", b);
                            checked++;
                        }
#undef PF_N
    assert_true(checked > 500000);
}

static void unchecked_types_accept_anything(void **state) {
    (void)state;
    assert_valid("ST", "anything at all");
    assert_valid("CX", "123^^^HOSP^MR");
    assert_valid("ID", "whatever");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dtm_accepts_every_precision),
        cmocka_unit_test(dtm_rejects_impossible_dates),
        cmocka_unit_test(dtm_rejects_bad_shapes),
        cmocka_unit_test(ts_checks_component_one_only),
        cmocka_unit_test(dt_and_tm),
        cmocka_unit_test(nm_and_si),
        cmocka_unit_test(dtm_shortcuts_agree_with_the_full_check),
        cmocka_unit_test(unchecked_types_accept_anything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
