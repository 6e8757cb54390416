/* gen_buf.h - the append-only output buffer the message builders write into
 * (internal to the generator).
 *
 * One buffer per generator, reused for every message, so building a message
 * allocates nothing once the buffer has grown to the largest message. Numbers,
 * decimals and timestamps are formatted by hand (no printf, no floating
 * point): faster, and identical everywhere. On allocation failure the buffer
 * sets `oom` and ignores later appends; the caller checks once per message.
 */
#ifndef HF_GEN_BUF_H
#define HF_GEN_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct gen_buf {
    char *p;    /* owned storage, cap bytes */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
    int oom;    /* set once an append could not grow the buffer */
    int64_t ymd_days; /* day whose "YYYYMMDD" is cached in ymd */
    char ymd[8];
} gen_buf;

/* Seconds since 1970-01-01T00:00:00 in the generator's local clock (no
 * zone): every timestamp is one of these. */
typedef int64_t gen_time;

void gen_buf_init(gen_buf *b);
void gen_buf_fini(gen_buf *b);

/* Grows so that @p extra more bytes fit; returns 0, or -1 (and sets oom). */
int gen_buf_grow(gen_buf *b, size_t extra);

static inline void gen_put(gen_buf *b, const char *s, size_t n) {
    if (b->len + n > b->cap && gen_buf_grow(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void gen_puts(gen_buf *b, const char *s) { gen_put(b, s, strlen(s)); }

static inline void gen_putc(gen_buf *b, char c) {
    if (b->len + 1 > b->cap && gen_buf_grow(b, 1) != 0)
        return;
    b->p[b->len++] = c;
}

/* Appends @p n copies of @p c (field separators to skip empty fields). */
void gen_put_rep(gen_buf *b, char c, size_t n);

/* Decimal unsigned integer, left-padded with zeros to @p width digits
 * (0 = no padding). */
void gen_put_u(gen_buf *b, uint64_t v, unsigned width);

/* Fixed-point decimal: @p scaled / 10^@p decimals, e.g. (1234, 2) -> "12.34",
 * (-5, 1) -> "-0.5". */
void gen_put_dec(gen_buf *b, int64_t scaled, unsigned decimals);

/* Timestamp as YYYYMMDDHHMMSS (@p digits 14), YYYYMMDDHHMM (12) or
 * YYYYMMDD (8). */
void gen_put_ts(gen_buf *b, gen_time t, unsigned digits);

/* Text with the HL7 delimiters and the escape character turned into escape
 * sequences (| \F\, ^ \S\, & \T\, ~ \R\, \ \E\) and CR/LF into \X0D\/\X0A\. */
void gen_put_esc(gen_buf *b, const char *s, size_t n);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back. */
int64_t gen_days_from_civil(int y, unsigned m, unsigned d);
void gen_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);

#endif
