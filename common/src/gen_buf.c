/* gen_buf.c - growth and hand-written formatters of the generator's output
 * buffer (see gen_buf.h). */
#include "gen_buf.h"

#include <stdlib.h>

void gen_buf_init(gen_buf *b) {
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
    b->ymd_days = INT64_MIN;
}

void gen_buf_fini(gen_buf *b) {
    free(b->p);
    gen_buf_init(b);
}

int gen_buf_grow(gen_buf *b, size_t extra) {
    if (b->oom)
        return -1;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void gen_put_rep(gen_buf *b, char c, size_t n) {
    if (b->len + n > b->cap && gen_buf_grow(b, n) != 0)
        return;
    memset(b->p + b->len, c, n);
    b->len += n;
}

static const char DIGITS2[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                              "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                              "8081828384858687888990919293949596979899";

void gen_put_u(gen_buf *b, uint64_t v, unsigned width) {
    char tmp[24];
    size_t i = sizeof tmp;
    while (v >= 100) { /* two digits per division */
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        i -= 2;
        memcpy(tmp + i, DIGITS2 + 2 * r, 2);
    }
    if (v >= 10) {
        i -= 2;
        memcpy(tmp + i, DIGITS2 + 2 * v, 2);
    } else {
        tmp[--i] = (char)('0' + v);
    }
    while (sizeof tmp - i < width && i > 0)
        tmp[--i] = '0';
    gen_put(b, tmp + i, sizeof tmp - i);
}

void gen_put_dec(gen_buf *b, int64_t scaled, unsigned decimals) {
    uint64_t mag = scaled < 0 ? (uint64_t)0 - (uint64_t)scaled : (uint64_t)scaled;
    uint64_t div = 1;
    for (unsigned i = 0; i < decimals; i++)
        div *= 10;
    if (scaled < 0)
        gen_putc(b, '-');
    gen_put_u(b, mag / div, 0);
    if (decimals > 0) {
        gen_putc(b, '.');
        gen_put_u(b, mag % div, decimals);
    }
}

/* Civil-date arithmetic on a calendar that starts its year on 1 March, so
 * the leap day is the last day of the year; 400-year cycles ("eras") of
 * 146097 days make it exact for any year. */
int64_t gen_days_from_civil(int y, unsigned m, unsigned d) {
    int64_t year = (int64_t)y - (m <= 2 ? 1 : 0);
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t yoe = year - era * 400;                           /* 0..399 */
    int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9;      /* Mar=0 */
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;         /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;       /* 0..146096 */
    return era * 146097 + doe - 719468; /* 719468 = days 0000-03-01..1970-01-01 */
}

void gen_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d) {
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2 ? 1 : 0));
}

static void put2(char *p, unsigned v) { memcpy(p, DIGITS2 + 2 * v, 2); }

void gen_put_ts(gen_buf *b, gen_time t, unsigned digits) {
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t secs = t - days * 86400;
    char tmp[14];
    if (days != b->ymd_days) { /* timestamps cluster: convert each day once */
        int y;
        unsigned m, d;
        gen_civil_from_days(days, &y, &m, &d);
        put2(b->ymd, (unsigned)(y / 100));
        put2(b->ymd + 2, (unsigned)(y % 100));
        put2(b->ymd + 4, m);
        put2(b->ymd + 6, d);
        b->ymd_days = days;
    }
    memcpy(tmp, b->ymd, 8);
    put2(tmp + 8, (unsigned)(secs / 3600));
    put2(tmp + 10, (unsigned)(secs / 60 % 60));
    put2(tmp + 12, (unsigned)(secs % 60));
    gen_put(b, tmp, digits <= 14 ? digits : 14);
}

/* Bytes gen_put_esc must replace: the delimiters, the escape character,
 * CR and LF. */
static const unsigned char ESC_SPECIAL[256] = {
    ['|'] = 1, ['^'] = 1, ['&'] = 1, ['~'] = 1, ['\\'] = 1, ['\r'] = 1, ['\n'] = 1,
};

void gen_put_esc(gen_buf *b, const char *s, size_t n) {
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < n; i++) {
        if (!ESC_SPECIAL[(unsigned char)s[i]])
            continue;
        const char *esc;
        switch (s[i]) {
        case '|': esc = "\\F\\"; break;
        case '^': esc = "\\S\\"; break;
        case '&': esc = "\\T\\"; break;
        case '~': esc = "\\R\\"; break;
        case '\\': esc = "\\E\\"; break;
        case '\r': esc = "\\X0D\\"; break;
        default: esc = "\\X0A\\"; break;
        }
        gen_put(b, s + run, i - run);
        gen_puts(b, esc);
        run = i + 1;
    }
    gen_put(b, s + run, n - run);
}
