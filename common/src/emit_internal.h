/* emit_internal.h - layout of the output collector, shared by emit.c and the
 * stage loop (not a public header). Offsets into the arena, not pointers,
 * because the arena may move while a transform emits. */
#ifndef HL7FLOW_EMIT_INTERNAL_H
#define HL7FLOW_EMIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "hl7flow/stage.h"

typedef struct hf_emit_hdr {
    size_t name_off, value_off, value_len;
} hf_emit_hdr;

typedef struct hf_emit_out {
    size_t topic_off;
    size_t key_off, key_len;
    size_t value_off, value_len;
    bool has_key, has_value;
    size_t hdr_first, hdr_count; /* range in hf_emit.hdr */
} hf_emit_out;

struct hf_emit {
    char *arena;
    size_t used, cap;
    hf_emit_out *out;
    size_t nout, out_cap;
    hf_emit_hdr *hdr;
    size_t nhdr, hdr_cap;
};

/* Forgets the outputs of the previous record, keeping the memory. */
void hf_emit_reset(hf_emit *em);

/* Frees everything; the struct is zeroed. */
void hf_emit_fini(hf_emit *em);

#endif
