/* mllp_ack.h - what the MLLP listener reads from an inbound message's MSH and
 * the HL7 acknowledgement it builds from it.
 *
 * Reading: hf_mllp_msh_read takes the MSH fields an ACK and the record
 * headers need (delimiters, MSH-3..6, -9, -10, -11, -12, -15, -16) as spans
 * into the caller's message, without a full parse.
 *
 * Choosing the code (HL7 v2 ch. 2, API-NOTES.md 6.2): original mode (MSH-15
 * and MSH-16 both empty) answers AA / AE / AR; enhanced mode (either valued)
 * answers the accept ACK CA / CE / CR, sent or suppressed per MSH-15 (table
 * 0155: AL always, NE never, ER only on error or reject, SU only on
 * success; empty counts as AL). The listener never sends application ACKs
 * in enhanced mode: it only stores.
 *
 * Building: the ACK's MSH swaps sender and receiver (MSH-3/4 <-> MSH-5/6),
 * keeps the sender's delimiters (MSH-1, MSH-2 verbatim), processing id
 * (MSH-11) and version (MSH-12), says ACK^<trigger>^ACK in MSH-9 (ACK^<trigger>
 * before v2.3.1, which had no message structure component) and carries its
 * own control id; MSA-2 is the original MSH-10. A negative ACK adds MSA-3
 * text and an ERR segment with a table 0357 code (ERR-3 from v2.5 on, ERR-1
 * before). Texts are escaped with the sender's escape character and never
 * quote message content.
 */
#ifndef HL7FLOW_MLLP_ACK_H
#define HL7FLOW_MLLP_ACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef HF_SPAN_DEFINED
#define HF_SPAN_DEFINED
/* A view of bytes owned by someone else: never owns, never NUL-terminated. */
typedef struct hf_span {
    const char *p; /* first byte; never NULL when returned by this API */
    size_t len;    /* number of bytes */
} hf_span;
#endif

/* The header fields of one inbound message (spans into it; borrowed). */
typedef struct hf_mllp_msh {
    char fs;            /* MSH-1 field separator */
    char cs, rs, esc, ss; /* from MSH-2; '\0' when MSH-2 is shorter */
    hf_span enc;        /* MSH-2 as sent (2..5 characters) */
    hf_span f3, f4, f5, f6; /* sending app/facility, receiving app/facility (whole fields) */
    hf_span app, facility;  /* first components of MSH-3 and MSH-4 */
    hf_span f9;         /* message type, whole field */
    hf_span type;       /* MSH-9.1 (ADT) */
    hf_span trigger;    /* MSH-9.2 (A01) */
    hf_span f10;        /* control id */
    hf_span f11;        /* processing id */
    hf_span f12;        /* version id, whole field */
    hf_span f15, f16;   /* accept / application acknowledgment type */
} hf_mllp_msh;

/* Reads the MSH of @p msg (@p len bytes; leading CR, LF, space and tab are
 * skipped). Returns false when the text is not HL7: no "MSH" followed by a
 * field separator (not a letter, digit, CR or LF) and 2 to 5 encoding
 * characters, none of them a letter, a digit or the separator. Missing fields
 * are empty spans. */
bool hf_mllp_msh_read(const char *msg, size_t len, hf_mllp_msh *out);

/* The outcome the ACK reports. */
typedef enum {
    HF_ACK_OK,     /* stored in Kafka */
    HF_ACK_ERROR,  /* not stored; the sender may resend (Kafka failure/timeout) */
    HF_ACK_REJECT  /* not acceptable as sent (not HL7, too large) */
} hf_ack_outcome;

/* True when the message asks for enhanced-mode acknowledgement. */
bool hf_ack_enhanced(const hf_mllp_msh *m);

/* The MSA-1 code for @p o ("AA", "CE", ...), or NULL when MSH-15 says no
 * accept ACK is to be sent for this outcome. @p m NULL (not HL7) answers in
 * original mode. */
const char *hf_ack_code(const hf_mllp_msh *m, hf_ack_outcome o);

/* Table 0357 codes the listener uses. */
#define HF_ACK_ERR_SEGMENT_SEQUENCE 100 /* no MSH first: not HL7 */
#define HF_ACK_ERR_INTERNAL 207         /* application internal error */

/* What the ACK says about us and the failure. Strings are borrowed. */
typedef struct hf_ack_params {
    const char *app;        /* our MSH-3 when the original MSH-5 is empty */
    const char *facility;   /* our MSH-4 when the original MSH-6 is empty */
    const char *control_id; /* the ACK's own MSH-10 */
    int64_t wall_us;        /* MSH-7, microseconds since the epoch (UTC) */
    int err_code;           /* table 0357 code: 0 = no ERR segment */
    const char *err_text;   /* MSA-3 and ERR diagnostic; NULL = none */
} hf_ack_params;

/* Writes the ACK message (segments ending in CR, no MLLP framing) for
 * @p m (NULL: not HL7, answered with default delimiters and version 2.5) with
 * MSA-1 @p code into @p buf. Returns the length of the whole ACK; like
 * snprintf, writes at most @p cap bytes (no NUL) and the caller retries with
 * a larger buffer when the result exceeds @p cap. */
size_t hf_ack_build(char *buf, size_t cap, const hf_mllp_msh *m, const char *code,
                    const hf_ack_params *p);

/* Formats an HL7 DTM timestamp YYYYMMDDHHMMSS.ffff+0000 (UTC) for @p wall_us
 * into @p out (at least 25 bytes). Returns its length (24). */
size_t hf_ack_dtm(int64_t wall_us, char *out);

#endif
