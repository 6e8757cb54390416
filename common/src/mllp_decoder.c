/* mllp_decoder.c - the incremental MLLP framing state machine (mllp.h):
 * stream bytes in any pieces -> frames, oversized frames, restarts.
 *
 * Invariants: d->len <= d->max_frame; d->buf holds only the current frame's
 * kept bytes; a reported frame stays readable until the next feed, which
 * clears it first (d->emitted). */
#include <stdlib.h>
#include <string.h>

#include "hl7flow/mllp.h"

enum { ST_HUNT = 0, ST_BODY, ST_EB };

void hf_mllp_dec_init(hf_mllp_dec *d, size_t max_frame) {
    memset(d, 0, sizeof *d);
    d->max_frame = max_frame > 0 ? max_frame : 1;
    d->state = ST_HUNT;
}

void hf_mllp_dec_fini(hf_mllp_dec *d) {
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
}

bool hf_mllp_dec_in_frame(const hf_mllp_dec *d) { return d->state != ST_HUNT; }

size_t hf_mllp_dec_pending(const hf_mllp_dec *d) {
    return d->state == ST_HUNT ? 0 : d->frame_total + (d->state == ST_EB ? 1 : 0);
}

/* Keeps up to @p n bytes of the frame (bounded by max_frame); counts all. */
static bool keep(hf_mllp_dec *d, const char *p, size_t n) {
    d->frame_total += n;
    size_t room = d->max_frame - d->len;
    if (n > room) {
        d->oversized = true;
        n = room;
    }
    if (n == 0)
        return true;
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : 4096;
        while (cap < d->len + n)
            cap *= 2;
        if (cap > d->max_frame)
            cap = d->max_frame;
        char *nb = realloc(d->buf, cap);
        if (nb == NULL)
            return false;
        d->buf = nb;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return true;
}

static void frame_start(hf_mllp_dec *d) {
    d->state = ST_BODY;
    d->len = 0;
    d->frame_total = 0;
    d->oversized = false;
}

static void report(hf_mllp_dec *d, hf_mllp_ev_kind kind, size_t total, hf_mllp_event *ev) {
    ev->kind = kind;
    ev->data = d->buf != NULL ? d->buf : "";
    ev->len = d->len;
    ev->total = total;
    d->emitted = true;
}

size_t hf_mllp_dec_feed(hf_mllp_dec *d, const char *p, size_t n, hf_mllp_event *ev) {
    ev->kind = HF_MLLP_EV_NONE;
    ev->data = NULL;
    ev->len = ev->total = 0;
    if (d->emitted) {
        d->len = 0;
        d->emitted = false;
    }
    size_t i = 0;
    while (i < n) {
        switch (d->state) {
        case ST_HUNT: {
            const char *sb = memchr(p + i, HF_MLLP_SB, n - i);
            size_t skip = sb != NULL ? (size_t)(sb - (p + i)) : n - i;
            d->garbage += skip;
            i += skip;
            if (sb != NULL) {
                i++;
                frame_start(d);
            }
            break;
        }
        case ST_BODY: {
            /* Look for whichever comes first: 0x1C (end) or 0x0B (restart). */
            const char *eb = memchr(p + i, HF_MLLP_EB, n - i);
            size_t lim = eb != NULL ? (size_t)(eb - p) : n;
            const char *sb = memchr(p + i, HF_MLLP_SB, lim - i);
            size_t j = sb != NULL ? (size_t)(sb - p) : lim;
            if (!keep(d, p + i, j - i))
                return (size_t)-1;
            i = j;
            if (i == n)
                break;
            if (p[i] == HF_MLLP_EB) {
                d->state = ST_EB;
                i++;
                break;
            }
            /* 0x0B inside a frame: drop the partial frame, start anew. */
            size_t total = d->frame_total;
            report(d, HF_MLLP_EV_RESTART, total, ev);
            ev->data = NULL;
            ev->len = 0;
            i++;
            frame_start(d);
            return i;
        }
        case ST_EB:
            if (p[i] == HF_MLLP_CR) {
                i++;
                d->state = ST_HUNT;
                report(d, d->oversized ? HF_MLLP_EV_OVERSIZED : HF_MLLP_EV_FRAME, d->frame_total,
                       ev);
                return i;
            }
            /* A lone 0x1C is message data (as hf_mllp_next reads it); the
             * byte after it is looked at again in the body state. */
            if (!keep(d, "\x1c", 1))
                return (size_t)-1;
            d->state = ST_BODY;
            break;
        default:
            d->state = ST_HUNT;
            break;
        }
    }
    return i;
}
