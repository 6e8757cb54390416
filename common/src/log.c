/* log.c - JSON-lines logger (see log.h for the field kinds and why there is
 * no free-form string field). Each line is formatted into a stack buffer and
 * written with one write(2) under a mutex, so lines from librdkafka's threads
 * never interleave. Lines longer than the buffer are truncated, never split.
 */
#include "hl7flow/log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static const char *g_service = "hl7flow";
static hf_log_level g_level = HF_LOG_INFO;
static int g_fd = 1;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const LEVEL_NAMES[] = {"debug", "info", "warn", "error"};

bool hf_log_level_parse(const char *s, hf_log_level *out) {
    for (size_t i = 0; i < sizeof LEVEL_NAMES / sizeof LEVEL_NAMES[0]; i++) {
        if (strcasecmp(s, LEVEL_NAMES[i]) == 0) {
            *out = (hf_log_level)i;
            return true;
        }
    }
    return false;
}

void hf_log_init(const char *service) {
    g_service = service;
    const char *lvl = getenv("HL7FLOW_LOG_LEVEL");
    if (lvl != NULL && *lvl != '\0' && !hf_log_level_parse(lvl, &g_level))
        fprintf(stderr, "HL7FLOW_LOG_LEVEL: '%s' is not one of debug|info|warn|error; using info\n", lvl);
}

void hf_log_set_level(hf_log_level level) { g_level = level; }

void hf_log_set_fd(int fd) { g_fd = fd; }

/* Small bounded writer: appends never overflow; `full` records truncation. */
typedef struct log_buf {
    char *p;
    size_t len, cap;
} log_buf;

static void put_raw(log_buf *b, const char *s, size_t n) {
    if (b->len + n > b->cap)
        n = b->cap - b->len;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_str(log_buf *b, const char *s) { put_raw(b, s, strlen(s)); }

static void put_fmt(log_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(log_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->len;
    int n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    b->len += (size_t)n < room ? (size_t)n : (room > 0 ? room - 1 : 0);
}

/* JSON string body with escaping; @p max bounds the input bytes taken. */
static void put_json_escaped(log_buf *b, const char *s, size_t max) {
    for (size_t i = 0; s[i] != '\0' && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put_raw(b, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            put_fmt(b, "\\u%04x", c);
        } else {
            put_raw(b, (const char *)&c, 1);
        }
    }
}

static bool id_char_ok(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("._:/@|=+-", c) != NULL;
}

/* Identifier values: characters outside the safe set become '?'. */
static void put_identifier(log_buf *b, const char *s, size_t max) {
    put_raw(b, "\"", 1);
    if (s == NULL)
        s = "";
    for (size_t i = 0; s[i] != '\0' && i < max; i++) {
        char c = id_char_ok((unsigned char)s[i]) ? s[i] : '?';
        put_raw(b, &c, 1);
    }
    put_raw(b, "\"", 1);
}

static void put_mrn_hash(log_buf *b, const char *s) {
    bool ok = s != NULL && strlen(s) == 64;
    for (size_t i = 0; ok && i < 64; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
    put_raw(b, "\"", 1);
    put_str(b, ok ? s : "invalid");
    put_raw(b, "\"", 1);
}

static void put_field(log_buf *b, const hf_log_field *f) {
    put_raw(b, ",\"", 2);
    put_json_escaped(b, f->key, 64);
    put_raw(b, "\":", 2);
    switch (f->kind) {
    case HF_LF_INT:
        put_fmt(b, "%lld", (long long)f->v.i);
        break;
    case HF_LF_DBL:
        if (isfinite(f->v.d))
            put_fmt(b, "%.6g", f->v.d);
        else
            put_str(b, "null");
        break;
    case HF_LF_BOOL:
        put_str(b, f->v.b ? "true" : "false");
        break;
    case HF_LF_LIT:
    case HF_LF_ERR:
        put_raw(b, "\"", 1);
        put_json_escaped(b, f->v.s != NULL ? f->v.s : "", f->kind == HF_LF_ERR ? 1024 : 256);
        put_raw(b, "\"", 1);
        break;
    case HF_LF_ID:
        put_identifier(b, f->v.s, 128);
        break;
    case HF_LF_CTRL:
        put_identifier(b, f->v.s, 64);
        break;
    case HF_LF_MRN:
        put_mrn_hash(b, f->v.s);
        break;
    case HF_LF_END:
        break;
    }
}

void hf_log_emit(hf_log_level level, const char *event, const hf_log_field *fields) {
    if (level < g_level)
        return;
    char line[LOG_LINE_MAX];
    log_buf b = {line, 0, sizeof line - 2}; /* room for "}\n" */

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    put_fmt(&b, "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"service\":",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000L, LEVEL_NAMES[level]);
    put_identifier(&b, g_service, 64);
    put_str(&b, ",\"event\":");
    put_identifier(&b, event, 64);
    for (const hf_log_field *f = fields; f != NULL && f->kind != HF_LF_END; f++)
        put_field(&b, f);
    b.cap += 2;
    put_raw(&b, "}\n", 2);

    int saved = errno;
    pthread_mutex_lock(&g_lock);
    size_t off = 0;
    while (off < b.len) {
        ssize_t n = write(g_fd, line + off, b.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    pthread_mutex_unlock(&g_lock);
    errno = saved;
}
