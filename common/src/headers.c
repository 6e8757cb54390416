/* headers.c - timestamp and traceparent formats of the standard headers
 * (see headers.h). */
#include "hl7flow/headers.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hl7flow/timeutil.h"

size_t hf_ts_format(int64_t wall_us, char *buf, size_t cap) {
    time_t secs = (time_t)(wall_us / 1000000);
    long frac = (long)(wall_us % 1000000);
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return n < 0 ? 0 : (size_t)n;
}

static bool digits(const char *s, size_t n, int *out) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool hf_ts_parse(const char *s, size_t len, int64_t *wall_us) {
    int Y, M, D, h, m, sec;
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[len - 1] != 'Z')
        return false;
    if (!digits(s, 4, &Y) || !digits(s + 5, 2, &M) || !digits(s + 8, 2, &D) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &m) || !digits(s + 17, 2, &sec))
        return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    int64_t frac = 0;
    size_t fd = 0;
    if (len > 20) {
        if (s[19] != '.')
            return false;
        for (size_t i = 20; i < len - 1; i++) {
            if (s[i] < '0' || s[i] > '9' || fd >= 9)
                return false;
            frac = frac * 10 + (s[i] - '0');
            fd++;
        }
        if (fd == 0)
            return false;
    }
    while (fd < 6) {
        frac *= 10;
        fd++;
    }
    while (fd > 6) {
        frac /= 10;
        fd--;
    }
    /* Days from civil (proleptic Gregorian), valid for years >= 1. */
    int y = Y - (M <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *wall_us = ((days * 86400) + h * 3600 + m * 60 + sec) * 1000000 + frac;
    return true;
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Writes @p v as 16 lowercase hex digits. */
static char *hex16(char *p, uint64_t v) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        p[i] = digits[v & 15];
        v >>= 4;
    }
    return p + 16;
}

void hf_traceparent_new(char buf[56]) {
    static _Atomic uint64_t counter;
    static _Atomic uint64_t pid_bits; /* getpid() once (a system call per message otherwise) */
    uint64_t pb = atomic_load(&pid_bits);
    if (pb == 0) {
        pb = ((uint64_t)getpid() << 32) | 1;
        atomic_store(&pid_bits, pb);
    }
    uint64_t seed = (uint64_t)hf_mono_ns() ^ pb ^ atomic_fetch_add(&counter, 0x632BE59BD9B4E019ULL);
    uint64_t a = splitmix64(&seed), b = splitmix64(&seed), c = splitmix64(&seed);
    if ((a | b) == 0)
        a = 1; /* an all-zero trace id is invalid */
    if (c == 0)
        c = 1;
    /* "00-" trace id (32 hex) "-" span id (16 hex) "-01" */
    char *p = buf;
    memcpy(p, "00-", 3);
    p = hex16(p + 3, a);
    p = hex16(p, b);
    *p++ = '-';
    p = hex16(p, c);
    memcpy(p, "-01", 4); /* with the NUL */
}
