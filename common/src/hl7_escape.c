/* hl7_escape.c - decoding HL7 escape sequences (v2.x chapter 2, "Use of
 * escape sequences in text fields") when a value is read, into a buffer the
 * caller owns.
 *
 * The parser never decodes: spans stay as on the wire. This decoder is pure
 * (no allocation, no state), bounded (output at most 15 times the input:
 * \.sp99\ gives 99 bytes from 7, the densest form) and total: every input
 * decodes to something, and what it cannot decode it keeps verbatim. The
 * table of what each sequence becomes is in hl7.h and
 * docs/internals/hl7-parser.md.
 */
#include <string.h>

#include "hl7_internal.h"

#define REPEAT_CAP 100 /* \.sp n\ and \.sk n\ produce at most this many bytes */

/* snprintf-style output: counts everything, stores what fits below cap. */
typedef struct out {
    char *dst;
    size_t cap; /* bytes of dst usable for content (cap - 1, or 0) */
    size_t n;   /* bytes produced so far */
} out;

static void put(out *o, const char *p, size_t len) {
    if (o->n < o->cap) {
        size_t room = o->cap - o->n;
        memcpy(o->dst + o->n, p, len < room ? len : room);
    }
    o->n += len;
}

static void put_rep(out *o, char c, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (o->n < o->cap)
            o->dst[o->n] = c;
        o->n++;
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Optional number after a formatting command: [ ][+|-]digits, up to 6
 * digits. Returns 1 and the value (default 1 when absent), 0 if malformed. */
static int fmt_number(const char *p, size_t len, int allow_sign, size_t *value) {
    size_t i = 0, v = 0, nd = 0;
    *value = 1;
    if (len == 0)
        return 1;
    if (p[i] == ' ')
        i++;
    if (i < len && allow_sign && (p[i] == '+' || p[i] == '-'))
        i++;
    for (; i < len && p[i] >= '0' && p[i] <= '9' && nd < 6; i++, nd++)
        v = v * 10 + (size_t)(p[i] - '0');
    if (nd == 0 || i != len)
        return 0;
    *value = v;
    return 1;
}

enum { DEC_OK = 1, DEC_KEEP = 0, DEC_BAD = -1 };

/* Decodes the text @p c (len @p n) between two escape characters. */
static int decode_one(const hf_hl7_delims *d, const char *c, size_t n, out *o) {
    size_t count;
    if (n == 0)
        return DEC_BAD;
    if (n == 1) {
        char ch;
        switch (c[0]) {
        case 'F': ch = d->field; break;
        case 'S': ch = d->component; break;
        case 'T': ch = d->subcomponent; break;
        case 'R': ch = d->repetition; break;
        case 'E': ch = d->escape; break;
        case 'P': ch = d->truncation; break;
        case 'H': /* highlighting on/off: no plain-text form */
        case 'N': return DEC_OK;
        default: return DEC_BAD;
        }
        if (ch == 0)
            return DEC_BAD;
        put(o, &ch, 1);
        return DEC_OK;
    }
    switch (c[0]) {
    case 'X':
        if ((n - 1) % 2 != 0)
            return DEC_BAD;
        for (size_t i = 1; i < n; i += 2)
            if (hexval(c[i]) < 0 || hexval(c[i + 1]) < 0)
                return DEC_BAD;
        for (size_t i = 1; i < n; i += 2) {
            char b = (char)(hexval(c[i]) << 4 | hexval(c[i + 1]));
            put(o, &b, 1);
        }
        return DEC_OK;
    case '.':
        if (n < 3)
            return DEC_BAD;
        if (n == 3 && (memcmp(c + 1, "br", 2) == 0 || memcmp(c + 1, "ce", 2) == 0)) {
            put(o, "\n", 1);
            return DEC_OK;
        }
        if (n == 3 && (memcmp(c + 1, "fi", 2) == 0 || memcmp(c + 1, "nf", 2) == 0))
            return DEC_OK;
        if (memcmp(c + 1, "sp", 2) == 0 || memcmp(c + 1, "sk", 2) == 0) {
            if (!fmt_number(c + 3, n - 3, 0, &count))
                return DEC_BAD;
            put_rep(o, c[2] == 'p' ? '\n' : ' ', count < REPEAT_CAP ? count : REPEAT_CAP);
            return DEC_OK;
        }
        if (memcmp(c + 1, "in", 2) == 0 || memcmp(c + 1, "ti", 2) == 0)
            return fmt_number(c + 3, n - 3, 1, &count) ? DEC_OK : DEC_BAD;
        return DEC_BAD;
    case 'C': /* character set switches and locally defined escapes */
    case 'M':
    case 'Z':
        return DEC_KEEP;
    default:
        return DEC_BAD;
    }
}

size_t hf_hl7_unescape_d(const hf_hl7_delims *d, hf_span s, char *dst, size_t cap,
                         size_t *bad) {
    out o = {dst, cap > 0 ? cap - 1 : 0, 0};
    size_t nbad = 0;
    const char e = d->escape;
    const char *p = s.p, *end = s.p + s.len;

    if (e == 0 || s.len == 0) {
        put(&o, p, s.len);
    } else {
        while (p < end) {
            const char *q = memchr(p, e, (size_t)(end - p));
            if (q == NULL) {
                put(&o, p, (size_t)(end - p));
                break;
            }
            put(&o, p, (size_t)(q - p));
            const char *r = memchr(q + 1, e, (size_t)(end - q - 1));
            if (r == NULL) { /* lone escape character: the rest is text */
                put(&o, q, (size_t)(end - q));
                nbad++;
                break;
            }
            size_t mark = o.n;
            int rc = decode_one(d, q + 1, (size_t)(r - q - 1), &o);
            if (rc != DEC_OK) {
                o.n = mark;
                put(&o, q, (size_t)(r - q + 1));
                nbad += rc == DEC_BAD;
            }
            p = r + 1;
        }
    }
    if (cap > 0)
        dst[o.n < cap ? o.n : cap - 1] = '\0';
    if (bad != NULL)
        *bad = nbad;
    return o.n;
}

size_t hf_hl7_unescape(const hf_hl7_msg *msg, hf_span s, char *dst, size_t cap) {
    return hf_hl7_unescape_d(&msg->d, s, dst, cap, NULL);
}
