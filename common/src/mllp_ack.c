/* mllp_ack.c - MSH reading and ACK building for the MLLP listener
 * (mllp_ack.h). Pure functions: no I/O, no allocation, no global state. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hl7flow/mllp_ack.h"

static const char EMPTY[] = "";

static hf_span span(const char *p, size_t n) { return (hf_span){p != NULL ? p : EMPTY, n}; }

static bool is_alnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* First component of field @p f. */
static hf_span first_comp(hf_span f, char cs) {
    const char *c = cs != '\0' ? memchr(f.p, cs, f.len) : NULL;
    return c != NULL ? span(f.p, (size_t)(c - f.p)) : f;
}

/* Component @p n (1-based) of field @p f, empty when absent. */
static hf_span comp(hf_span f, char cs, int n) {
    const char *p = f.p, *end = f.p + f.len;
    for (int i = 1; i < n; i++) {
        const char *c = cs != '\0' ? memchr(p, cs, (size_t)(end - p)) : NULL;
        if (c == NULL)
            return span(EMPTY, 0);
        p = c + 1;
    }
    const char *c = cs != '\0' ? memchr(p, cs, (size_t)(end - p)) : NULL;
    return span(p, (size_t)((c != NULL ? c : end) - p));
}

bool hf_mllp_msh_read(const char *msg, size_t len, hf_mllp_msh *out) {
    memset(out, 0, sizeof *out);
    hf_span *all[] = {&out->enc, &out->f3, &out->f4, &out->f5, &out->f6, &out->app,
                      &out->facility, &out->f9, &out->type, &out->trigger, &out->f10,
                      &out->f11, &out->f12, &out->f15, &out->f16};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        *all[k] = span(EMPTY, 0);
    size_t i = 0;
    while (i < len && (msg[i] == '\r' || msg[i] == '\n' || msg[i] == ' ' || msg[i] == '\t'))
        i++;
    if (len - i < 6 || memcmp(msg + i, "MSH", 3) != 0)
        return false;
    char fs = msg[i + 3];
    if (fs == '\r' || fs == '\n' || fs == '\0' || is_alnum(fs))
        return false;
    /* End of the MSH segment. */
    size_t seg_end = i + 4;
    while (seg_end < len && msg[seg_end] != '\r' && msg[seg_end] != '\n')
        seg_end++;
    size_t pos = i + 4;
    size_t e = pos;
    while (e < seg_end && msg[e] != fs)
        e++;
    size_t enc_len = e - pos;
    if (enc_len < 2 || enc_len > 5)
        return false;
    out->fs = fs;
    out->enc = span(msg + pos, enc_len);
    out->cs = msg[pos];
    out->rs = msg[pos + 1];
    out->esc = enc_len > 2 ? msg[pos + 2] : '\0';
    out->ss = enc_len > 3 ? msg[pos + 3] : '\0';
    for (size_t k = 0; k < enc_len; k++)
        if (msg[pos + k] == fs || msg[pos + k] == '\0' || is_alnum(msg[pos + k]))
            return false;
    /* Fields 3..16: field n starts after the (n-1)th separator, MSH-1 being
     * the first one. */
    int field = 3;
    pos = e < seg_end ? e + 1 : seg_end;
    while (pos <= seg_end && field <= 16 && e < seg_end) {
        e = pos;
        while (e < seg_end && msg[e] != fs)
            e++;
        hf_span f = span(msg + pos, e - pos);
        switch (field) {
        case 3: out->f3 = f; break;
        case 4: out->f4 = f; break;
        case 5: out->f5 = f; break;
        case 6: out->f6 = f; break;
        case 9: out->f9 = f; break;
        case 10: out->f10 = f; break;
        case 11: out->f11 = f; break;
        case 12: out->f12 = f; break;
        case 15: out->f15 = f; break;
        case 16: out->f16 = f; break;
        default: break;
        }
        field++;
        pos = e + 1;
    }
    out->app = first_comp(out->f3, out->cs);
    out->facility = first_comp(out->f4, out->cs);
    out->type = first_comp(out->f9, out->cs);
    out->trigger = comp(out->f9, out->cs, 2);
    return true;
}

bool hf_ack_enhanced(const hf_mllp_msh *m) {
    return m != NULL && (m->f15.len > 0 || m->f16.len > 0);
}

static bool span_ieq(hf_span s, const char *lit) {
    size_t n = strlen(lit);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s.p[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != lit[i])
            return false;
    }
    return true;
}

const char *hf_ack_code(const hf_mllp_msh *m, hf_ack_outcome o) {
    if (!hf_ack_enhanced(m))
        return o == HF_ACK_OK ? "AA" : o == HF_ACK_ERROR ? "AE" : "AR";
    hf_span when = first_comp(m->f15, m->cs);
    if (span_ieq(when, "NE"))
        return NULL;
    if (span_ieq(when, "ER") && o == HF_ACK_OK)
        return NULL;
    if (span_ieq(when, "SU") && o != HF_ACK_OK)
        return NULL;
    return o == HF_ACK_OK ? "CA" : o == HF_ACK_ERROR ? "CE" : "CR";
}

size_t hf_ack_dtm(int64_t wall_us, char *out) {
    time_t secs = (time_t)(wall_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int frac = (int)((wall_us % 1000000) / 100);
    unsigned v[7] = {(unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)tm.tm_mon + 1,
                     (unsigned)tm.tm_mday, (unsigned)tm.tm_hour, (unsigned)tm.tm_min,
                     (unsigned)tm.tm_sec, (unsigned)(frac < 0 ? 0 : frac)};
    static const int width[7] = {4, 2, 2, 2, 2, 2, 4};
    size_t n = 0;
    for (int k = 0; k < 7; k++) {
        if (k == 6)
            out[n++] = '.';
        for (int w = width[k] - 1; w >= 0; w--) {
            out[n + (size_t)w] = (char)('0' + v[k] % 10);
            v[k] /= 10;
        }
        n += (size_t)width[k];
    }
    memcpy(out + n, "+0000", 6);
    return n + 5;
}

/* Output cursor: counts every byte, stores those that fit. */
typedef struct out_buf {
    char *p;
    size_t cap, len;
} out_buf;

static void put(out_buf *o, const char *s, size_t n) {
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->p + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void putc_(out_buf *o, char c) { put(o, &c, 1); }
static void puts_(out_buf *o, const char *s) { put(o, s, strlen(s)); }
static void putspan(out_buf *o, hf_span s) { put(o, s.p, s.len); }

/* Writes our own text @p s with the message's delimiters escaped (\F\ \S\
 * \R\ \E\ \T\), and CR/LF turned into spaces. A message without an escape
 * character (MSH-2 of two characters) gets its delimiters dropped instead. */
static void put_text(out_buf *o, const char *s, const hf_mllp_msh *d) {
    char esc = d->esc;
    for (; *s != '\0'; s++) {
        char c = *s, code = 0;
        if (c == d->fs)
            code = 'F';
        else if (c == d->cs)
            code = 'S';
        else if (c == d->rs)
            code = 'R';
        else if (esc != '\0' && c == esc)
            code = 'E';
        else if (d->ss != '\0' && c == d->ss)
            code = 'T';
        if (code != 0 && esc == '\0') {
            continue;
        } else if (code != 0) {
            char e[3] = {esc, code, esc};
            put(o, e, 3);
        } else {
            putc_(o, c == '\r' || c == '\n' ? ' ' : c);
        }
    }
}

/* True when version field @p v (2.5.1^...) is at least @p major.@p minor
 * (and patch). An empty or unreadable version counts as 2.5. */
static bool version_at_least(hf_span v, char cs, int major, int minor, int patch) {
    hf_span f = first_comp(v, cs);
    int part[3] = {0, 0, 0}, n = 0;
    bool digits = false;
    for (size_t i = 0; i < f.len && n < 3; i++) {
        char c = f.p[i];
        if (c >= '0' && c <= '9') {
            part[n] = part[n] * 10 + (c - '0');
            digits = true;
            if (part[n] > 1000)
                break;
        } else if (c == '.') {
            n++;
        } else {
            break;
        }
    }
    if (!digits) {
        part[0] = 2;
        part[1] = 5;
        part[2] = 0;
    }
    if (part[0] != major)
        return part[0] > major;
    if (part[1] != minor)
        return part[1] > minor;
    return part[2] >= patch;
}

static const char *err_name(int code) {
    switch (code) {
    case 100: return "Segment sequence error";
    case 101: return "Required field missing";
    case 200: return "Unsupported message type";
    case 207: return "Application internal error";
    default: return "Error";
    }
}

size_t hf_ack_build(char *buf, size_t cap, const hf_mllp_msh *m, const char *code,
                    const hf_ack_params *p) {
    static const hf_mllp_msh DEFAULTS = {
        .fs = '|', .cs = '^', .rs = '~', .esc = '\\', .ss = '&', .enc = {"^~\\&", 4},
        .f3 = {EMPTY, 0}, .f4 = {EMPTY, 0}, .f5 = {EMPTY, 0}, .f6 = {EMPTY, 0},
        .app = {EMPTY, 0}, .facility = {EMPTY, 0}, .f9 = {EMPTY, 0}, .type = {EMPTY, 0},
        .trigger = {EMPTY, 0}, .f10 = {EMPTY, 0}, .f11 = {EMPTY, 0}, .f12 = {EMPTY, 0},
        .f15 = {EMPTY, 0}, .f16 = {EMPTY, 0}};
    const hf_mllp_msh *d = m != NULL ? m : &DEFAULTS;
    out_buf o = {buf, cap, 0};
    char fs = d->fs, cs = d->cs;
    char dtm[32];
    hf_ack_dtm(p->wall_us, dtm);
    /* Seconds only when '.' or '+' is one of the sender's delimiters. */
    for (size_t k = 0; k < d->enc.len; k++)
        if (d->enc.p[k] == '.' || d->enc.p[k] == '+')
            dtm[14] = '\0';
    if (fs == '.' || fs == '+')
        dtm[14] = '\0';

    puts_(&o, "MSH");
    putc_(&o, fs);
    putspan(&o, d->enc);
    /* MSH-3/4: the original receiver, or us when it did not name one. */
    putc_(&o, fs);
    if (d->f5.len > 0)
        putspan(&o, d->f5);
    else if (p->app != NULL)
        put_text(&o, p->app, d);
    putc_(&o, fs);
    if (d->f6.len > 0)
        putspan(&o, d->f6);
    else if (p->facility != NULL)
        put_text(&o, p->facility, d);
    /* MSH-5/6: the original sender. */
    putc_(&o, fs);
    putspan(&o, d->f3);
    putc_(&o, fs);
    putspan(&o, d->f4);
    putc_(&o, fs);
    puts_(&o, dtm);
    putc_(&o, fs); /* MSH-8 security: empty */
    putc_(&o, fs);
    puts_(&o, "ACK");
    if (d->trigger.len > 0) {
        putc_(&o, cs);
        putspan(&o, d->trigger);
        if (version_at_least(d->f12, cs, 2, 3, 1)) {
            putc_(&o, cs);
            puts_(&o, "ACK");
        }
    }
    putc_(&o, fs);
    if (p->control_id != NULL)
        put_text(&o, p->control_id, d);
    putc_(&o, fs);
    if (d->f11.len > 0)
        putspan(&o, d->f11);
    else
        putc_(&o, 'P');
    putc_(&o, fs);
    if (d->f12.len > 0)
        putspan(&o, d->f12);
    else
        puts_(&o, "2.5");
    putc_(&o, '\r');

    puts_(&o, "MSA");
    putc_(&o, fs);
    puts_(&o, code);
    putc_(&o, fs);
    putspan(&o, d->f10);
    if (p->err_text != NULL && p->err_text[0] != '\0') {
        putc_(&o, fs);
        put_text(&o, p->err_text, d);
    }
    putc_(&o, '\r');

    if (p->err_code > 0) {
        char num[16];
        snprintf(num, sizeof num, "%d", p->err_code);
        /* Subcomponent separator for the pre-2.5 ERR-1 (ELD's CE component). */
        char ss = d->ss != '\0' ? d->ss : '&';
        puts_(&o, "ERR");
        putc_(&o, fs);
        if (version_at_least(d->f12, cs, 2, 5, 0)) {
            /* ERR-2 location empty, ERR-3 code^text^HL70357, ERR-4 E,
             * ERR-8 user message. */
            putc_(&o, fs);
            putc_(&o, fs);
            puts_(&o, num);
            putc_(&o, cs);
            put_text(&o, err_name(p->err_code), d);
            putc_(&o, cs);
            puts_(&o, "HL70357");
            putc_(&o, fs);
            putc_(&o, 'E');
            if (p->err_text != NULL && p->err_text[0] != '\0') {
                put(&o, (char[]){fs, fs, fs, fs}, 4);
                put_text(&o, p->err_text, d);
            }
        } else {
            /* ERR-1 (ELD): segment^sequence^field^code&text&HL70357. */
            putc_(&o, cs);
            putc_(&o, cs);
            putc_(&o, cs);
            puts_(&o, num);
            putc_(&o, ss);
            put_text(&o, err_name(p->err_code), d);
            putc_(&o, ss);
            puts_(&o, "HL70357");
        }
        putc_(&o, '\r');
    }
    return o.len;
}
