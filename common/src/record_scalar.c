/* record_scalar.c - HL7 numbers and times as record values: set ids (SI),
 * decimals (NM), and DTM/TS timestamps and dates.
 *
 * Everything here reads raw bytes and is strict: a value that is not
 * exactly of the expected form gives "not set", and the text copy of the
 * value stays in the record for the reader to judge.
 */
#include <math.h>
#include <stdlib.h>

#include "record_internal.h"

/* ---------------------------------------------------------------- numbers */

hf_opt_i32 hf_rt_int(hf_span s) {
    hf_opt_i32 r = {0, false};
    size_t i = 0;
    bool neg = false;
    if (s.len > 0 && (s.p[0] == '+' || s.p[0] == '-')) {
        neg = s.p[0] == '-';
        i = 1;
    }
    if (i >= s.len || s.len - i > 9)
        return r;
    int32_t v = 0;
    for (; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return r;
        v = v * 10 + (s.p[i] - '0');
    }
    r.v = neg ? -v : v;
    r.set = true;
    return r;
}

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

hf_opt_f64 hf_rt_decimal(hf_span s) {
    hf_opt_f64 r = {0, false};
    size_t i = 0, digits = 0, frac = 0;
    bool neg = false, dot = false;
    uint64_t m = 0;
    if (s.len == 0 || s.len > 64)
        return r;
    if (s.p[0] == '+' || s.p[0] == '-') {
        neg = s.p[0] == '-';
        i = 1;
    }
    for (; i < s.len; i++) {
        char c = s.p[i];
        if (c == '.' && !dot) {
            dot = true;
        } else if (c >= '0' && c <= '9') {
            if (digits < 19)
                m = m * 10 + (uint64_t)(c - '0');
            digits++;
            if (dot)
                frac++;
        } else {
            return r;
        }
    }
    if (digits == 0)
        return r;
    if (digits <= 15 && frac < sizeof POW10 / sizeof POW10[0]) {
        /* both operands exact: one correctly rounded division */
        r.v = (double)m / POW10[frac];
    } else {
        char buf[80];
        memcpy(buf, s.p, s.len);
        buf[s.len] = '\0';
        /* strtod reads the sign itself; '.' is the C locale's decimal point
         * (services never call setlocale) */
        r.v = strtod(buf, NULL);
        r.set = isfinite(r.v);
        return r;
    }
    if (neg)
        r.v = -r.v;
    r.set = true;
    return r;
}

/* ------------------------------------------------------------------ times */

static bool leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m) {
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* Days from 0001-01-01 to y-m-d (y >= 1), Gregorian. */
static int64_t ordinal(int y, int m, int d) {
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t py = y - 1;
    int64_t n = py * 365 + py / 4 - py / 100 + py / 400;
    n += before[m - 1] + (m > 2 && leap(y) ? 1 : 0);
    return n + d - 1;
}

int32_t hf_rec_days_from_civil(int year, int month, int day) {
    return (int32_t)(ordinal(year, month, day) - ordinal(1970, 1, 1));
}

static int num(const char *p, int n) {
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

bool hf_rec_dtm_parse(hf_span s, hf_rec_dtm *out) {
    hf_rec_dtm t = {0, 1, 1, 0, 0, 0, 0, 0, false, 0};
    size_t n = 0;
    while (n < s.len && s.p[n] >= '0' && s.p[n] <= '9')
        n++;
    if (n != 4 && n != 6 && n != 8 && n != 10 && n != 12 && n != 14)
        return false;
    const char *p = s.p;
    t.digits = (int)n;
    t.year = num(p, 4);
    if (n >= 6)
        t.month = num(p + 4, 2);
    if (n >= 8)
        t.day = num(p + 6, 2);
    if (n >= 10)
        t.hour = num(p + 8, 2);
    if (n >= 12)
        t.minute = num(p + 10, 2);
    if (n >= 14)
        t.second = num(p + 12, 2);
    size_t i = n;
    if (n == 14 && i < s.len && s.p[i] == '.') {
        size_t f = 0;
        i++;
        int micro = 0;
        while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9' && f < 5) {
            micro = micro * 10 + (s.p[i] - '0');
            i++;
            f++;
        }
        if (f == 0 || f > 4)
            return false;
        for (size_t k = f; k < 6; k++)
            micro *= 10;
        t.micro = micro;
    }
    if (i < s.len && (s.p[i] == '+' || s.p[i] == '-')) {
        if (s.len - i != 5)
            return false;
        for (size_t k = 1; k <= 4; k++)
            if (s.p[i + k] < '0' || s.p[i + k] > '9')
                return false;
        int hh = num(s.p + i + 1, 2), mm = num(s.p + i + 3, 2);
        if (mm > 59)
            return false;
        int off = hh * 60 + mm;
        if (s.p[i] == '-')
            off = -off;
        if (off < -12 * 60 || off > 14 * 60)
            return false;
        t.has_offset = true;
        t.offset_min = off;
        i += 5;
    }
    if (i != s.len)
        return false;
    if (t.year < 1000 || t.year > 9998 || t.month < 1 || t.month > 12 || t.day < 1 ||
        t.day > days_in_month(t.year, t.month) || t.hour > 23 || t.minute > 59 || t.second > 59)
        return false;
    *out = t;
    return true;
}

int64_t hf_rec_dtm_to_us(const hf_rec_dtm *t, int offset_min) {
    int64_t days = hf_rec_days_from_civil(t->year, t->month, t->day);
    int64_t secs = days * 86400 + t->hour * 3600 + t->minute * 60 + t->second;
    secs -= (int64_t)offset_min * 60;
    return secs * 1000000 + t->micro;
}

hf_opt_i64 hf_rt_ts(hf_span s) {
    hf_opt_i64 r = {0, false};
    hf_rec_dtm t;
    /* most values have no offset: look for its sign before parsing */
    if (s.len >= 13 && (s.p[s.len - 5] == '+' || s.p[s.len - 5] == '-') &&
        hf_rec_dtm_parse(s, &t) && t.digits >= 8 && t.has_offset) {
        r.v = hf_rec_dtm_to_us(&t, t.offset_min);
        r.set = true;
    }
    return r;
}
