/* mllp.h - MLLP framing: 0x0B <message> 0x1C 0x0D.
 *
 * hf_mllp_next walks the frames of a complete buffer (a file of framed
 * messages, the output of `hl7flow gen`). Bytes outside frames are skipped
 * and counted, never treated as messages. hf_mllp_dec (below) decodes a
 * stream that arrives in pieces, for the MLLP listener. */
#ifndef HL7FLOW_MLLP_H
#define HL7FLOW_MLLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HF_MLLP_SB 0x0b
#define HF_MLLP_EB 0x1c
#define HF_MLLP_CR 0x0d

/* Finds the next complete frame at or after (*pos) in @p buf. On success sets
 * (*msg, *msg_len) to the message inside the frame (borrowed) and advances (*pos)
 * past the frame. @p skipped (may be NULL) accumulates bytes outside frames.
 * Returns false when no complete frame remains (an unterminated tail counts
 * as skipped). */
bool hf_mllp_next(const char *buf, size_t len, size_t *pos, const char **msg, size_t *msg_len,
                  size_t *skipped);

/* ---- incremental decoder (the listener's framing state machine) --------
 *
 * hf_mllp_dec turns a byte stream that arrives in arbitrary pieces (a TCP
 * connection) into frames. It is pull-style: hf_mllp_dec_feed consumes bytes
 * until it has one event to report or the input is used up, so the caller
 * can act on each frame (and stop reading) before feeding more.
 *
 * Rules (docs/mllp.md):
 *  - bytes outside a frame (before 0x0B) are garbage: skipped and counted;
 *  - a frame ends at 0x1C 0x0D; a 0x1C followed by anything else is data,
 *    as hf_mllp_next treats it;
 *  - a 0x0B inside a frame restarts the frame: the partial one is dropped
 *    and reported (HF_MLLP_EV_RESTART), since HL7 text never holds 0x0B;
 *  - a frame longer than max_frame is not kept whole: its first max_frame
 *    bytes are (so the MSH can still be read for a negative ACK), the rest
 *    is counted and dropped, and HF_MLLP_EV_OVERSIZED reports it at its end.
 * Memory is bounded by max_frame. */

typedef enum {
    HF_MLLP_EV_NONE = 0, /* input used up, no event */
    HF_MLLP_EV_FRAME,    /* a complete frame: data/len is the message */
    HF_MLLP_EV_OVERSIZED,/* a frame over max_frame ended: data/len is its head,
                            total its full length */
    HF_MLLP_EV_RESTART   /* 0x0B inside a frame: the partial frame (total
                            bytes) was dropped; a new frame begins */
} hf_mllp_ev_kind;

typedef struct hf_mllp_event {
    hf_mllp_ev_kind kind;
    const char *data; /* borrowed from the decoder: valid until the next feed/reset */
    size_t len;
    size_t total;     /* message bytes seen (OVERSIZED, RESTART); len for FRAME */
} hf_mllp_event;

typedef struct hf_mllp_dec {
    int state;          /* internal: hunting, in frame, after 0x1C */
    bool oversized;     /* the current frame passed max_frame */
    char *buf;          /* frame bytes kept so far (owned) */
    size_t len, cap;    /* bytes kept, allocated */
    size_t max_frame;   /* most message bytes kept per frame */
    size_t frame_total; /* message bytes of the current frame, kept or not */
    uint64_t garbage;   /* bytes skipped outside frames, running total */
    bool emitted;       /* internal: the last event's frame must be cleared */
} hf_mllp_dec;

/* Sets up @p d for frames of at most @p max_frame message bytes (>= 1).
 * Allocates nothing until data arrives. */
void hf_mllp_dec_init(hf_mllp_dec *d, size_t max_frame);

/* Frees the buffer; @p d may be re-initialised afterwards. */
void hf_mllp_dec_fini(hf_mllp_dec *d);

/* Consumes bytes of @p p (n bytes, borrowed) until an event or the end of
 * the input; fills *ev (kind NONE when no event) and returns the number of
 * bytes consumed. Call again with the remaining bytes after handling an
 * event. Returns (size_t)-1 with kind NONE on allocation failure (the
 * connection should be closed). */
size_t hf_mllp_dec_feed(hf_mllp_dec *d, const char *p, size_t n, hf_mllp_event *ev);

/* True while a frame is open (bytes since its 0x0B not yet ended): what a
 * disconnect would lose. */
bool hf_mllp_dec_in_frame(const hf_mllp_dec *d);

/* Message bytes of the open frame so far (0 when none is open). */
size_t hf_mllp_dec_pending(const hf_mllp_dec *d);

#endif
