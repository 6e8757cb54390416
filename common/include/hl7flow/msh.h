/* msh.h - a fast look at an HL7 message's MSH header without a full parse:
 * what the MLLP listener and the produce tool need to set the standard
 * headers and the record key. The full ER7 parser lives in hl7.h. */
#ifndef HL7FLOW_MSH_H
#define HL7FLOW_MSH_H

#include <stdbool.h>
#include <stddef.h>

/* Fields of MSH used for routing headers, as spans into the caller's
 * buffer (never NUL-terminated, never owned; len 0 when absent). */
typedef struct hf_msh_peek {
    const char *sending_app;       /* MSH-3, first component */
    size_t sending_app_len;
    const char *sending_facility;  /* MSH-4, first component */
    size_t sending_facility_len;
    const char *message_type;      /* MSH-9, whole field as on the wire (ADT^A01^ADT_A01) */
    size_t message_type_len;
    const char *control_id;        /* MSH-10 */
    size_t control_id_len;
} hf_msh_peek;

/* Reads MSH-3, -4, -9, -10 from the first segment of @p msg (len bytes).
 * Leading MLLP start byte and whitespace are skipped. Returns false when the
 * text does not start with "MSH" plus a field separator; fields missing from
 * a short MSH are left empty. */
bool hf_msh_peek_parse(const char *msg, size_t len, hf_msh_peek *out);

#endif
