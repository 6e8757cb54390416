/* normalize.c - sex codes and person-name components to standard forms
 * (contract in normalize.h).
 *
 * Names take one of two paths with identical results:
 *  - all-ASCII input (the usual case) is done in one byte loop: upper case
 *    of a-z, the ASCII members of each kept class, ASCII White_Space
 *    (HT, LF, VT, FF, CR, space);
 *  - anything else goes through ICU: UTF-8 -> UTF-16 (invalid bytes become
 *    U+FFFD, which is removed as a symbol), u_strToUpper with the root
 *    locale, a filter pass over code points (classes by general category
 *    mask, separators by the White_Space property), NFC, UTF-16 -> UTF-8.
 * Work buffers live on the stack for names up to WORK_STACK code units and
 * on the heap above that.
 */
#include "hl7flow/normalize.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#define NAME_MAX_IN (1u << 20)
#define WORK_STACK 256

/* ------------------------------------------------------------ sex */

static bool is_ascii_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

const char *hf_norm_sex(hf_span code) {
    while (code.len > 0 && is_ascii_blank(code.p[0]))
        code.p++, code.len--;
    while (code.len > 0 && is_ascii_blank(code.p[code.len - 1]))
        code.len--;
    if (code.len != 1)
        return NULL;
    char c = code.p[0];
    if (c >= 'A' && c <= 'Z') /* ASCII fold; tolower() would follow the locale */
        c = (char)(c - 'A' + 'a');
    switch (c) {
    case 'f':
        return "female";
    case 'm':
        return "male";
    case 'o': /* other */
    case 'a': /* ambiguous */
        return "other";
    case 'u': /* unknown */
    case 'n': /* not applicable */
        return "unknown";
    default:
        return NULL;
    }
}

/* ------------------------------------------------------------ names: ASCII */

static bool ascii_only(hf_span s) {
    for (size_t i = 0; i < s.len; i++)
        if ((unsigned char)s.p[i] >= 0x80)
            return false;
    return true;
}

static size_t name_ascii(hf_span in, char *out, size_t cap) {
    size_t n = 0;
    bool pending_space = false;
    for (size_t i = 0; i < in.len; i++) {
        char c = in.p[i];
        if (c == ' ' || (c >= '\t' && c <= '\r')) {
            pending_space = true;
            continue;
        }
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '\''))
            continue; /* removed; does not end a run of spaces */
        if (pending_space && n > 0) {
            if (n < cap)
                out[n] = ' ';
            n++;
        }
        pending_space = false;
        if (n < cap)
            out[n] = c;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------ names: ICU */

/* A UTF-16 work buffer: on the stack when small enough. */
typedef struct ubuf {
    UChar *p;
    int32_t cap;
    UChar stack[WORK_STACK];
} ubuf;

static bool ubuf_reserve(ubuf *b, int32_t need) {
    if (need <= b->cap)
        return true;
    UChar *np = malloc((size_t)need * sizeof *np);
    if (np == NULL)
        return false;
    if (b->p != b->stack)
        free(b->p);
    b->p = np;
    b->cap = need;
    return true;
}

static void ubuf_init(ubuf *b) {
    b->p = b->stack;
    b->cap = WORK_STACK;
}

static void ubuf_free(ubuf *b) {
    if (b->p != b->stack)
        free(b->p);
}

/* Keeps letters, marks, decimal digits, '-' and '\'', maps the apostrophe
 * and hyphen look-alikes, collapses and trims White_Space; src -> dst (dst
 * needs src's length). Returns the output length. */
static int32_t filter_name(const UChar *src, int32_t n, UChar *dst) {
    int32_t i = 0, o = 0;
    bool pending_space = false;
    while (i < n) {
        UChar32 c;
        U16_NEXT(src, i, n, c);
        if (c == 0x2019)
            c = '\'';
        else if (c == 0x2010 || c == 0x2011)
            c = '-';
        if (u_isUWhiteSpace(c)) {
            pending_space = true;
            continue;
        }
        if (!(c == '-' || c == '\'' ||
              (U_GET_GC_MASK(c) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_ND_MASK)) != 0))
            continue;
        if (pending_space && o > 0)
            dst[o++] = ' ';
        pending_space = false;
        U16_APPEND_UNSAFE(dst, o, c);
    }
    return o;
}

static size_t name_icu(hf_span in, char *out, size_t cap) {
    ubuf a, b;
    ubuf_init(&a);
    ubuf_init(&b);
    size_t result = 0;
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = 0;

    /* UTF-8 -> UTF-16: never more code units than bytes */
    if (!ubuf_reserve(&a, (int32_t)in.len + 1))
        goto done;
    u_strFromUTF8WithSub(a.p, a.cap, &n, in.p, (int32_t)in.len, 0xFFFD, NULL, &st);
    if (U_FAILURE(st))
        goto done;

    /* upper case: up to 3 code units per unit; retried if ICU wants more */
    if (!ubuf_reserve(&b, 3 * n + 16))
        goto done;
    int32_t un = u_strToUpper(b.p, b.cap, a.p, n, "", &st);
    if (st == U_BUFFER_OVERFLOW_ERROR) {
        st = U_ZERO_ERROR;
        if (!ubuf_reserve(&b, un + 1))
            goto done;
        un = u_strToUpper(b.p, b.cap, a.p, n, "", &st);
    }
    if (U_FAILURE(st))
        goto done;

    /* filter into a (never longer than its input) */
    if (!ubuf_reserve(&a, un + 1))
        goto done;
    int32_t fn = filter_name(b.p, un, a.p);

    /* NFC into b when needed */
    const UNormalizer2 *nfc = unorm2_getNFCInstance(&st);
    if (U_FAILURE(st))
        goto done;
    const UChar *final = a.p;
    int32_t final_n = fn;
    if (!unorm2_isNormalized(nfc, a.p, fn, &st)) {
        if (U_FAILURE(st) || !ubuf_reserve(&b, 3 * fn + 16))
            goto done;
        int32_t nn = unorm2_normalize(nfc, a.p, fn, b.p, b.cap, &st);
        if (st == U_BUFFER_OVERFLOW_ERROR) {
            st = U_ZERO_ERROR;
            if (!ubuf_reserve(&b, nn + 1))
                goto done;
            nn = unorm2_normalize(nfc, a.p, fn, b.p, b.cap, &st);
        }
        if (U_FAILURE(st))
            goto done;
        final = b.p;
        final_n = nn;
    }
    if (U_FAILURE(st))
        goto done;

    /* UTF-16 -> UTF-8 into the caller's buffer; overflow still reports the length */
    int32_t len8 = 0;
    int32_t cap8 = cap > INT32_MAX ? INT32_MAX : (int32_t)cap;
    u_strToUTF8(out, cap8, &len8, final, final_n, &st);
    if (U_SUCCESS(st) || st == U_BUFFER_OVERFLOW_ERROR || st == U_STRING_NOT_TERMINATED_WARNING)
        result = (size_t)len8;
done:
    ubuf_free(&a);
    ubuf_free(&b);
    return result;
}

size_t hf_norm_name(hf_span in, char *out, size_t cap) {
    if (in.len == 0 || in.len > NAME_MAX_IN)
        return 0;
    return ascii_only(in) ? name_ascii(in, out, cap) : name_icu(in, out, cap);
}
