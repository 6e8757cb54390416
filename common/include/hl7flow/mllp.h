/* mllp.h - MLLP framing: 0x0B <message> 0x1C 0x0D.
 *
 * hf_mllp_next walks the frames of a complete buffer (a file of framed
 * messages, the output of `hl7flow gen`). Bytes outside frames are skipped
 * and counted, never treated as messages. */
#ifndef HL7FLOW_MLLP_H
#define HL7FLOW_MLLP_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
