/* fuzz_mllp_decoder.c - libFuzzer target for the MLLP listener's incremental
 * frame decoder (hf_mllp_dec in mllp.h).
 *
 * The first two bytes choose the frame limit and the piece size the rest is
 * fed in, so splits at every position and the oversized path both run. The
 * same bytes are then decoded again in one piece and the two runs must
 * report the same events; every event is checked against the contract
 * (bounded by the limit, consumed <= offered, no event means all consumed)
 * and, for inputs the batch walker hf_mllp_next can read, complete frames
 * must agree with it. Any inconsistency aborts. Built by `make fuzz`,
 * replayed by `make test` (tests/fuzz/replay_main.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/mllp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                   \
    do {                                                                           \
        if (!(x)) {                                                                \
            fprintf(stderr, "fuzz_mllp_decoder: check failed: %s (line %d)\n", #x, \
                    __LINE__);                                                     \
            abort();                                                               \
        }                                                                          \
    } while (0)

#define MAX_EVENTS 4096

typedef struct ev_log {
    size_t n;
    int kind[MAX_EVENTS];
    size_t len[MAX_EVENTS], total[MAX_EVENTS];
    uint32_t sum[MAX_EVENTS]; /* cheap digest of the data */
} ev_log;

static uint32_t digest(const char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static void decode(const char *buf, size_t len, size_t limit, size_t step, ev_log *log) {
    hf_mllp_dec d;
    hf_mllp_dec_init(&d, limit);
    log->n = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t piece = len - pos < step ? len - pos : step;
        size_t off = 0;
        while (off < piece) {
            hf_mllp_event ev;
            size_t used = hf_mllp_dec_feed(&d, buf + pos + off, piece - off, &ev);
            CHECK(used != (size_t)-1);
            CHECK(used <= piece - off);
            off += used;
            if (ev.kind == HF_MLLP_EV_NONE) {
                CHECK(off == piece);
                continue;
            }
            CHECK(ev.len <= limit);
            CHECK(ev.total >= ev.len);
            if (ev.kind == HF_MLLP_EV_FRAME)
                CHECK(ev.total == ev.len);
            if (ev.kind == HF_MLLP_EV_OVERSIZED)
                CHECK(ev.len == limit && ev.total > limit);
            if (log->n < MAX_EVENTS) {
                log->kind[log->n] = ev.kind;
                log->len[log->n] = ev.len;
                log->total[log->n] = ev.total;
                log->sum[log->n] = ev.data != NULL ? digest(ev.data, ev.len) : 0;
                log->n++;
            }
        }
        pos += piece;
    }
    CHECK(d.len <= limit);
    hf_mllp_dec_fini(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    size_t limit = 1 + data[0] % 64;
    if (data[0] & 0x80)
        limit = 1 << 16;
    size_t step = 1 + data[1] % 17;
    const char *buf = (const char *)data + 2;
    size_t len = size - 2;
    static ev_log a, b;
    decode(buf, len, limit, step, &a);
    decode(buf, len, limit, len > 0 ? len : 1, &b);
    CHECK(a.n == b.n);
    for (size_t i = 0; i < a.n; i++) {
        CHECK(a.kind[i] == b.kind[i]);
        CHECK(a.len[i] == b.len[i]);
        CHECK(a.total[i] == b.total[i]);
        CHECK(a.sum[i] == b.sum[i]);
    }
    /* Without a 0x0B inside a frame (restarts), the batch walker sees the
     * same complete frames. */
    bool restarts = false;
    for (size_t i = 0; i < a.n; i++)
        if (a.kind[i] == HF_MLLP_EV_RESTART)
            restarts = true;
    if (!restarts && limit == (size_t)1 << 16) {
        size_t pos = 0, k = 0;
        const char *msg;
        size_t mlen;
        while (hf_mllp_next(buf, len, &pos, &msg, &mlen, NULL)) {
            while (k < a.n && a.kind[k] != HF_MLLP_EV_FRAME && a.kind[k] != HF_MLLP_EV_OVERSIZED)
                k++;
            CHECK(k < a.n || a.n == MAX_EVENTS);
            if (k >= a.n)
                break;
            CHECK(a.total[k] == mlen);
            if (a.kind[k] == HF_MLLP_EV_FRAME)
                CHECK(a.sum[k] == digest(msg, mlen));
            k++;
        }
    }
    return 0;
}
