/* hl7_internal.h - internals shared by the hl7_*.c files (not installed): the
 * layout of a parsed message and small inline helpers.
 *
 * Index layout: every segment has a record (hf_hl7_seg) and a run of
 * "element" start offsets in msg->el. Element 0 is the segment ID; element
 * k >= 1 starts after the k-th field separator. For ordinary segments element
 * k is field k. For the header segment (MSH) the separator right after the ID
 * is MSH-1 and has no element: element 1 is MSH-2, element k is field k+1.
 * An element ends one byte before the next element starts (the separator),
 * the last one at the end of the segment. All offsets are uint32_t relative
 * to the caller's buffer (memcached's lesson: offsets survive a moved buffer
 * and halve the index), which is why inputs are capped below 4 GiB.
 */
#ifndef HL7FLOW_HL7_INTERNAL_H
#define HL7FLOW_HL7_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "hl7flow/hl7.h"

/* One segment. 24 bytes. */
typedef struct hf_hl7_seg {
    uint32_t off;   /* first byte (of the ID) */
    uint32_t len;   /* bytes up to, not including, the terminator */
    uint32_t first; /* index of element 0 in msg->el */
    uint32_t nel;   /* number of elements (ID included) */
    uint32_t id;    /* the 3 ID bytes packed by hf_hl7_pack_id */
    uint32_t occ;   /* n of SEG[n] */
} hf_hl7_seg;

struct hf_hl7_msg {
    const char *base;   /* the caller's buffer (raw.p) */
    uint32_t body_off;  /* offset of "MSH" */
    uint32_t body_len;  /* bytes from "MSH" to the end of the last segment */
    hf_hl7_delims d;    /* delimiters of this message */
    unsigned quirks;    /* HF_HL7_Q_* */
    uint32_t nseg;      /* segments in seg[] */
    hf_hl7_seg *seg;    /* segment records */
    uint32_t *el;       /* element start offsets */
    void *mem;          /* index memory when not allocated with the struct */
    size_t seg_cap;     /* capacity of seg[] */
    size_t el_cap;      /* capacity of el[] */
};

/* The empty value handed out for absent elements: never NULL. */
#define HF_HL7_EMPTY ((hf_span){"", 0})

static inline uint32_t hf_hl7_pack_id(const char *p) {
    return (uint32_t)(unsigned char)p[0] | (uint32_t)(unsigned char)p[1] << 8 |
           (uint32_t)(unsigned char)p[2] << 16;
}

/* A byte that may serve as a delimiter: printable ASCII, not a letter or
 * digit (HL7 2.5.4 recommends ASCII punctuation; spaces and controls would
 * be read as data by every other system). */
static inline int hf_hl7_is_delim_char(unsigned char c) {
    return c > 0x20 && c < 0x7f && !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                                     (c >= 'a' && c <= 'z'));
}

/* Element @p k of segment @p s; k < s->nel. */
static inline hf_span hf_hl7_elem(const hf_hl7_msg *m, const hf_hl7_seg *s, uint32_t k) {
    uint32_t a = m->el[s->first + k];
    uint32_t b = k + 1 < s->nel ? m->el[s->first + k + 1] - 1 : s->off + s->len;
    return (hf_span){m->base + a, b - a};
}

/* The header segment is always segment 0 of a message. */
static inline int hf_hl7_seg_is_header(const hf_hl7_seg *s, const hf_hl7_seg *first) {
    return s == first;
}

/* Segment @p si (< msg->nseg) at a glance, for a caller inside the library
 * that walks every segment (the record builder): what hf_hl7_seg_raw,
 * hf_hl7_seg_occurrence and hf_hl7_field_count return, without a call and
 * a bounds check each. The ID is the first 3 bytes of raw. */
typedef struct hf_hl7_seg_head {
    hf_span raw;         /* ID to terminator (excluded) */
    uint32_t occurrence; /* n of SEG[n] */
    uint32_t nfields;    /* fields, MSH-1 included for the header */
} hf_hl7_seg_head;

static inline hf_hl7_seg_head hf_hl7_seg_head_get(const hf_hl7_msg *m, size_t si) {
    const hf_hl7_seg *s = &m->seg[si];
    return (hf_hl7_seg_head){{m->base + s->off, s->len}, s->occ, si == 0 ? s->nel : s->nel - 1};
}

/* Writes "SEG[n]-F..." for error texts; see hf_hl7_loc_format. */
size_t hf_hl7_loc_raw(char *dst, size_t cap, const char *id, uint32_t occ, size_t field,
                      size_t rep, size_t comp, size_t sub);

#endif
