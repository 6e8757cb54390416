/* profile_values.h - the value checks of the profile validator (DTM/TS, DT,
 * TM, NM, SI), inline because they run for nearly every rule on every
 * message. Included by profile_check.c only.
 *
 * The checks follow HL7 v2.5-v2.8 chapter 2A:
 *   DTM  YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]  (TS component 1)
 *   DT   YYYY[MM[DD]]
 *   TM   HH[MM[SS[.S[S[S[S]]]]]][+/-ZZZZ]
 *   NM   [+|-]digits[.[digits]] (a leading "." is accepted: ".5")
 *   SI   digits (a non-negative integer)
 * Dates must exist in the Gregorian calendar (leap years included); year
 * 0000 does not exist. A UTC offset is +/-HHMM with HH 00-14 and MM 00-59
 * (real zones span -12:00 to +14:00). Seconds run 00-59: HL7 does not
 * provide for leap seconds. Reasons name the defect, never the value,
 * because they end up in logs and DLQ headers.
 */
#ifndef HL7FLOW_PROFILE_VALUES_H
#define HL7FLOW_PROFILE_VALUES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "profile_internal.h"

/* The check a value-type code (OBX-2: "NM", "TS", ...) calls for; PF_CK_NONE
 * for the unchecked and unknown ones. */
static inline enum pf_check pf_check_for_code(const char *p, size_t n) {
    if (n == 2) {
        if (p[0] == 'N' && p[1] == 'M')
            return PF_CK_NM;
        if (p[0] == 'T' && p[1] == 'S')
            return PF_CK_TS;
        if (p[0] == 'D' && p[1] == 'T')
            return PF_CK_DT;
        if (p[0] == 'T' && p[1] == 'M')
            return PF_CK_TM;
        if (p[0] == 'S' && p[1] == 'I')
            return PF_CK_SI;
    } else if (n == 3 && p[0] == 'D' && p[1] == 'T' && p[2] == 'M') {
        return PF_CK_DTM;
    }
    return PF_CK_NONE;
}


static inline int is_digit(char c) {
    return c >= '0' && c <= '9';
}

static inline unsigned num2(const char *p) {
    return (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
}

static inline int leap(unsigned y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline unsigned days_in(unsigned y, unsigned m) {
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* The fraction and UTC offset after the digits of a DTM or TM: @p p points
 * just after the digits, @p nd digits were read, @p full is the digit count
 * that allows a fraction (seconds present). */
static inline const char *check_tail(const char *p, const char *end, size_t nd, size_t full) {
    if (p < end && *p == '.') {
        if (nd != full)
            return "fraction without seconds";
        p++;
        size_t f = 0;
        while (p < end && is_digit(*p))
            p++, f++;
        if (f < 1 || f > 4)
            return "fraction must have 1 to 4 digits";
    }
    if (p < end && (*p == '+' || *p == '-')) {
        p++;
        if (end - p != 4 || !is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]) ||
            !is_digit(p[3]))
            return "UTC offset must be +/-HHMM";
        if (num2(p) > 14 || num2(p + 2) > 59)
            return "UTC offset out of range";
        p += 4;
    }
    if (p != end)
        return "unexpected character";
    return NULL;
}

/* Hours, minutes, seconds at @p p (nd = 2, 4 or 6 digits present). */
static inline const char *check_hms(const char *p, size_t nd) {
    if (nd >= 2 && num2(p) > 23)
        return "hour out of range";
    if (nd >= 4 && num2(p + 2) > 59)
        return "minute out of range";
    if (nd >= 6 && num2(p + 4) > 59)
        return "second out of range";
    return NULL;
}

static inline size_t count_digits(const char *p, const char *end) {
    const char *q = p;
    while (q < end && is_digit(*q))
        q++;
    return (size_t)(q - p);
}

static inline const char *check_date(const char *p, size_t nd) {
    unsigned y = num2(p) * 100 + num2(p + 2);
    if (y == 0)
        return "year out of range";
    if (nd >= 6) {
        unsigned m = num2(p + 4);
        if (m < 1 || m > 12)
            return "month out of range";
        if (nd >= 8) {
            unsigned d = num2(p + 6);
            if (d < 1 || d > days_in(y, m))
                return "day out of range";
        }
    }
    return NULL;
}

/* True when the @p n bytes (8..16) at @p p are all ASCII digits: two
 * overlapping 8-byte words tested at once (a byte is a digit when its high
 * nibble is 3 and adding 6 does not carry into it). */
static inline int digits_8_16(const char *p, size_t n) {
    const uint64_t hi = 0xf0f0f0f0f0f0f0f0u, th = 0x3030303030303030u,
                   six = 0x0606060606060606u;
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + n - 8, 8);
    return (a & hi) == th && ((a + six) & hi) == th && (b & hi) == th && ((b + six) & hi) == th;
}

/* The two-digit numbers of the 8 digits at @p p, by SWAR: byte lane k of
 * the result (k = 0, 2, 4, 6) holds the value of digits k and k + 1. Only
 * for bytes known to be digits (digits_8_16). */
static inline uint64_t pairs_8(const char *p) {
    uint64_t x;
    memcpy(&x, p, 8);
    x -= 0x3030303030303030u; /* each byte 0..9; first digit in the low byte */
    return ((x & 0x00ff00ff00ff00ffu) * 10 + ((x >> 8) & 0x00ff00ff00ff00ffu)) &
           0x00ff00ff00ff00ffu;
}

#define PF_LANE(v, k) ((unsigned)((v) >> (16 * (k))) & 0xffu)

/* True for the common DTM shapes (a date, or a date and time to the minute
 * or second, no zone) when they are valid; false means "run check_dtm",
 * which then finds the same value valid or names its defect. The same
 * limits as check_date and check_hms, read from two 8-byte loads: the
 * date's lanes (pairs_8) are CC YY MM DD; the time's are tested at once by
 * adding to each lane what takes a value above its limit to 0x80. */
static inline __attribute__((always_inline)) int dtm_fast_ok(const char *p, size_t n) {
    if ((n != 8 && n != 12 && n != 14) || !digits_8_16(p, n))
        return 0;
    uint64_t a = pairs_8(p);
    unsigned m = PF_LANE(a, 2), d = PF_LANE(a, 3);
    if ((a & 0xffffffffu) == 0 || m - 1 > 11) /* year 0000, month */
        return 0;
    if (d - 1 >= 28 && d - 1 >= days_in(PF_LANE(a, 0) * 100 + PF_LANE(a, 1), m))
        return 0;
    if (n == 8)
        return 1;
    /* n = 12: lanes MM DD HH MI; n = 14: DD HH MI SS. Limits 23 and 59. */
    uint64_t t = pairs_8(p + n - 8);
    if (n == 12)
        return ((t + 0x0044006800000000u) & 0x0080008000000000u) == 0;
    return ((t + 0x0044004400680000u) & 0x0080008000800000u) == 0;
}

/* dtm_fast_ok for a timestamp with a UTC offset ("...+HHMM"). Only valid
 * when + and - are not delimiters of the message. */
static inline int dtm_zone_fast_ok(const char *p, size_t n) {
    if (n < 13 || (p[n - 5] != '+' && p[n - 5] != '-'))
        return 0;
    const char *z = p + n - 4;
    return is_digit(z[0]) && is_digit(z[1]) && is_digit(z[2]) && is_digit(z[3]) &&
           num2(z) <= 14 && num2(z + 2) <= 59 && dtm_fast_ok(p, n - 5);
}

static inline const char *check_dtm(const char *p, size_t n) {
    if ((n == 8 || n == 12 || n == 14) && digits_8_16(p, n)) {
        /* the common shapes: a date, minutes or seconds, no zone */
        const char *r = check_date(p, n);
        return r == NULL ? check_hms(p + 8, n - 8) : r;
    }
    const char *end = p + n;
    size_t nd = count_digits(p, end);
    if (nd < 4 || nd > 14 || nd % 2 != 0)
        return "wrong number of digits";
    const char *r = check_date(p, nd);
    if (r == NULL && nd > 8)
        r = check_hms(p + 8, nd - 8);
    if (r == NULL)
        r = check_tail(p + nd, end, nd, 14);
    return r;
}

static inline const char *check_dt(const char *p, size_t n) {
    size_t nd = count_digits(p, p + n);
    if (nd != n)
        return "unexpected character";
    if (nd != 4 && nd != 6 && nd != 8)
        return "wrong number of digits";
    return check_date(p, nd);
}

static inline const char *check_tm(const char *p, size_t n) {
    const char *end = p + n;
    size_t nd = count_digits(p, end);
    if (nd < 2 || nd > 6 || nd % 2 != 0)
        return "wrong number of digits";
    const char *r = check_hms(p, nd);
    if (r == NULL)
        r = check_tail(p + nd, end, nd, 6);
    return r;
}

static inline const char *check_nm(const char *p, size_t n) {
    const char *end = p + n;
    if (p < end && (*p == '+' || *p == '-'))
        p++;
    size_t digits = 0;
    while (p < end && is_digit(*p))
        p++, digits++;
    if (p < end && *p == '.') {
        p++;
        while (p < end && is_digit(*p))
            p++, digits++;
    }
    if (digits == 0)
        return "no digits";
    return p == end ? NULL : "unexpected character";
}

static inline const char *check_si(const char *p, size_t n) {
    if (n == 0)
        return "no digits";
    return count_digits(p, p + n) == n ? NULL : "not a non-negative integer";
}

static inline const char *pf_check_value(enum pf_check ck, const char *p, size_t n) {
    switch (ck) {
    case PF_CK_TS:
    case PF_CK_DTM:
        return check_dtm(p, n);
    case PF_CK_DT:
        return check_dt(p, n);
    case PF_CK_TM:
        return check_tm(p, n);
    case PF_CK_NM:
        return check_nm(p, n);
    case PF_CK_SI:
        return check_si(p, n);
    case PF_CK_NONE:
    case PF_CK_VARIES:
        break;
    }
    return NULL;
}

#endif
