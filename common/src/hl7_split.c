/* hl7_split.c - finding the messages in a buffer: a single message, messages
 * back to back (with or without blank lines between them), MLLP frames, or
 * FHS/BHS ... BTS/FTS batch files.
 *
 * Works line by line. A line ends at CR, LF, or an MLLP start/end byte (which
 * never occur inside HL7 content). A line whose first three bytes are MSH
 * followed by a non-alphanumeric byte starts a message; FHS/BHS/BTS/FTS
 * lines end the current message and are remembered, not returned; an MLLP
 * byte ends the current message too (a frame never continues the previous
 * one, so a frame that lost its MSH is reported, not glued onto the message
 * before it); every other non-blank line belongs to the current message. The message span runs
 * from its "MSH" to the end of its last non-blank line, so framing bytes and
 * trailing blank lines never reach the parser. The splitter does not parse:
 * hf_hl7_parse checks each message.
 */
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "hl7_internal.h"

enum { L_OTHER, L_MSH, L_FHS, L_BHS, L_BTS, L_FTS };

static int is_eol(unsigned char c) {
    return c == '\r' || c == '\n' || c == 0x0b || c == 0x1c;
}

/* Index of the first end-of-line byte (is_eol) in b[i..n), or n. Lines are
 * ~100 bytes, so this looks at 16 bytes a step with SSE2 (never past n):
 * the byte-by-byte loop it replaces was a tenth of the parser stage's main
 * thread. */
static size_t find_eol(const char *b, size_t i, size_t n) {
#ifdef __SSE2__
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    const __m128i vt = _mm_set1_epi8(0x0b), fs = _mm_set1_epi8(0x1c);
    for (; n - i >= 16; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, lf)),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, vt), _mm_cmpeq_epi8(x, fs)));
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
    }
#endif
    while (i < n && !is_eol((unsigned char)b[i]))
        i++;
    return i;
}

static int is_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int classify(const char *p, size_t len) {
    static const char *const ids[] = {"MSH", "FHS", "BHS", "BTS", "FTS"};
    if (len < 3 || (len > 3 && is_alnum((unsigned char)p[3])))
        return L_OTHER;
    for (int i = 0; i < 5; i++)
        if (memcmp(p, ids[i], 3) == 0)
            return L_MSH + i;
    return L_OTHER;
}

static int is_blank_line(const char *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t')
            return 0;
    return 1;
}

static int is_frame_edge(const hf_hl7_splitter *sp, size_t le) {
    return le < sp->buf.len && (sp->buf.p[le] == 0x0b || sp->buf.p[le] == 0x1c);
}

/* Consumes the run of lines outside any message that starts at [ls, le),
 * up to the next MSH/FHS/BHS/BTS/FTS line or MLLP frame edge, and reports
 * it (one error per bad frame). */
static hf_status skip_garbage(hf_hl7_splitter *sp, size_t ls, size_t le, hf_err *err) {
    const char *b = sp->buf.p;
    const size_t n = sp->buf.len;
    size_t last = le, prev_end = le;
    while (sp->pos < n && !is_frame_edge(sp, prev_end)) {
        size_t s = sp->pos, e = find_eol(b, s, n);
        if (classify(b + s, e - s) != L_OTHER)
            break;
        if (!is_blank_line(b + s, e - s))
            last = e;
        sp->pos = e < n ? e + 1 : n;
        prev_end = e;
    }
    return hf_err_set(err, HF_ESYNTAX,
                      "bytes %zu-%zu: text outside any message (expected MSH, FHS, BHS, BTS or "
                      "FTS)",
                      ls, last);
}

void hf_hl7_split_init(hf_hl7_splitter *sp, hf_span buf) {
    memset(sp, 0, sizeof *sp);
    if (buf.p == NULL)
        buf = HF_HL7_EMPTY;
    sp->buf = buf;
    sp->fhs = sp->bhs = sp->bts = sp->fts = HF_HL7_EMPTY;
    if (buf.len >= 3 && memcmp(buf.p, "\xEF\xBB\xBF", 3) == 0)
        sp->pos = 3;
}

hf_status hf_hl7_split_next(hf_hl7_splitter *sp, hf_span *out, hf_err *err) {
    const char *b = sp->buf.p;
    const size_t n = sp->buf.len;
    size_t start = 0, end = 0;
    int in_msg = 0;

    *out = HF_HL7_EMPTY;
    while (sp->pos < n) {
        size_t ls = sp->pos, le = find_eol(b, ls, n);
        size_t next = le < n ? le + 1 : n;
        int frame_edge = is_frame_edge(sp, le);
        if (is_blank_line(b + ls, le - ls)) {
            sp->pos = next;
            if (frame_edge && in_msg)
                break;
            continue;
        }
        int kind = classify(b + ls, le - ls);
        if (kind != L_OTHER && in_msg)
            break; /* this line starts what comes after the message */
        sp->pos = next;
        switch (kind) {
        case L_MSH:
            in_msg = 1;
            start = ls;
            end = le;
            break;
        case L_FHS: sp->fhs = (hf_span){b + ls, le - ls}; break;
        case L_BHS: sp->bhs = (hf_span){b + ls, le - ls}; break;
        case L_BTS: sp->bts = (hf_span){b + ls, le - ls}; break;
        case L_FTS: sp->fts = (hf_span){b + ls, le - ls}; break;
        default:
            if (!in_msg)
                return skip_garbage(sp, ls, le, err);
            end = le;
            break;
        }
        if (frame_edge && in_msg)
            break;
    }
    if (!in_msg)
        return HF_ENOTFOUND;
    *out = (hf_span){b + start, end - start};
    sp->count++;
    return HF_OK;
}
