/* hl7.h - the zero-copy HL7 v2 (ER7) parser: the heart of hl7flow.
 *
 * Role: every stage that reads HL7 (parser service, CLI, validators) goes
 * through this API. A parse indexes the caller's bytes once and never copies,
 * modifies or NUL-terminates them; every value handed back is an hf_span into
 * the caller's buffer (or a static empty string), so the buffer must outlive
 * the message object. Escape sequences are decoded only when a value is read,
 * into a buffer the caller supplies (hf_hl7_unescape).
 *
 * Grammar (HL7 v2.1-v2.8): message = segments; segment = ID + fields split by
 * the field separator; field = repetitions; repetition = components;
 * component = subcomponents. Delimiters come from MSH-1/MSH-2 of each
 * message, never assumed. MSH numbering follows the standard: MSH-1 is the
 * field separator itself and MSH-2 the encoding characters; both are literal
 * values that are never split or unescaped (the same holds for FHS and BHS).
 *
 * Invariants: all indices in this API are 1-based (field 0 is the segment
 * ID); an absent element is an empty span whose p is never NULL; error texts
 * name locations (PID[2]-3, byte offsets) and never quote message content.
 * Nothing here does I/O, allocates outside hf_hl7_msg, or keeps global
 * state, so any number of threads may parse different messages at once.
 * See docs/internals/hl7-parser.md for the rules on quirks and escapes.
 */
#ifndef HL7FLOW_HL7_H
#define HL7FLOW_HL7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/status.h"

#ifndef HF_SPAN_DEFINED
#define HF_SPAN_DEFINED
/* A view of bytes owned by someone else: never owns, never NUL-terminated. */
typedef struct hf_span {
    const char *p; /* first byte; never NULL when returned by this API */
    size_t len;    /* number of bytes */
} hf_span;
#endif

/* ------------------------------------------------------------------ limits */

/* Ceilings checked during the parse; exceeding one is HF_ELIMIT with the
 * location. A zero member means "use the default" (hf_hl7_limits_default). */
typedef struct hf_hl7_limits {
    size_t max_bytes;           /* whole input incl. framing (hard cap 4 GiB-2) */
    uint32_t max_segments;      /* segments in one message */
    uint32_t max_fields;        /* fields in one segment (MSH-1 counts) */
    uint32_t max_reps;          /* repetitions in one field */
    uint32_t max_components;    /* components in one repetition */
    uint32_t max_subcomponents; /* subcomponents in one component */
} hf_hl7_limits;

/* 64 MiB, 100000 segments, 1024 fields, 16384 repetitions, 1024 components,
 * 1024 subcomponents. */
extern const hf_hl7_limits hf_hl7_limits_default;

/* ------------------------------------------------------------- delimiters */

/* The delimiters of one message. escape, subcomponent and truncation are 0
 * when the message does not define them (see HF_HL7_Q_MSH2_NO_ESCAPE). */
typedef struct hf_hl7_delims {
    char field;        /* MSH-1, usually '|' */
    char component;    /* MSH-2[1], usually '^' */
    char repetition;   /* MSH-2[2], usually '~' */
    char escape;       /* MSH-2[3], usually '\\' */
    char subcomponent; /* MSH-2[4], usually '&' */
    char truncation;   /* MSH-2[5] (v2.7+), usually '#'; not a separator */
} hf_hl7_delims;

/* Deviations from the standard that the parser accepted; a profile validator
 * may turn any of them into a violation. */
enum {
    HF_HL7_Q_MLLP = 1u << 0,          /* MLLP start/end bytes stripped */
    HF_HL7_Q_BOM = 1u << 1,           /* UTF-8 byte order mark skipped */
    HF_HL7_Q_LF = 1u << 2,            /* a segment ended in LF (alone or CRLF) */
    HF_HL7_Q_BLANK_LINES = 1u << 3,   /* empty or whitespace-only lines skipped */
    HF_HL7_Q_NO_FINAL_TERM = 1u << 4, /* last segment had no terminator */
    HF_HL7_Q_MSH2_NO_ESCAPE = 1u << 5 /* 3-char MSH-2 "^~&": no escape char */
};

/* ----------------------------------------------------------------- parsing */

typedef struct hf_hl7_msg hf_hl7_msg; /* opaque: delimiters + segment/field index */

/* Returns an empty message object for hf_hl7_parse_into (owned: free with
 * hf_hl7_msg_destroy), or NULL when out of memory. */
hf_hl7_msg *hf_hl7_msg_new(void);

/* Parses one message in @p raw (borrowed: must outlive every use of @p msg
 * and of the spans it hands out) into @p msg, reusing its index memory: at
 * most one allocation, none once the index is large enough (a message with
 * more than 48 distinct segment IDs, which real traffic never has, also
 * takes one temporary table to number its segments). A leading MLLP
 * start byte, a trailing MLLP end block, a UTF-8 BOM and blank lines are
 * skipped. A second MSH or any batch segment (FHS/BHS/BTS/FTS) is an error:
 * split batches with hf_hl7_split_next first.
 * @p lim may be NULL (defaults). @p err may be NULL. raw.p NULL reads as
 * an empty input.
 * @returns HF_OK; HF_ESYNTAX or HF_ELIMIT with the location in @p err
 *          (the message is then empty); HF_ENOMEM. */
hf_status hf_hl7_parse_into(hf_hl7_msg *msg, hf_span raw, const hf_hl7_limits *lim, hf_err *err);

/* Like hf_hl7_parse_into on a new object: one allocation holds the object
 * and its index.
 * @param out  OUT: the message (owned: hf_hl7_msg_destroy); NULL on error. */
hf_status hf_hl7_parse(hf_span raw, const hf_hl7_limits *lim, hf_hl7_msg **out, hf_err *err);

/* Frees @p msg (NULL is fine). Does not touch the parsed buffer. */
void hf_hl7_msg_destroy(hf_hl7_msg *msg);

/* The message bytes without framing/BOM (from "MSH" to the end). */
hf_span hf_hl7_msg_raw(const hf_hl7_msg *msg);

/* Byte offset of @p s (a span from this message) in the buffer passed to
 * the parse; used for "(byte N)" coordinates. */
size_t hf_hl7_offset(const hf_hl7_msg *msg, hf_span s);

hf_hl7_delims hf_hl7_msg_delims(const hf_hl7_msg *msg);
unsigned hf_hl7_msg_quirks(const hf_hl7_msg *msg); /* HF_HL7_Q_* bits */

/* ---------------------------------------------------- segments and fields */

#define HF_HL7_NONE ((size_t)-1) /* "no such segment" */

size_t hf_hl7_seg_count(const hf_hl7_msg *msg);
/* Segment ID ("PID") of segment @p seg (0-based index in the message). */
hf_span hf_hl7_seg_id(const hf_hl7_msg *msg, size_t seg);
/* The whole segment as on the wire, without its terminator. */
hf_span hf_hl7_seg_raw(const hf_hl7_msg *msg, size_t seg);
/* n of SEG[n]: 1 for the first segment with this ID, 2 for the second... */
uint32_t hf_hl7_seg_occurrence(const hf_hl7_msg *msg, size_t seg);
/* Index of the @p occurrence-th (1-based) segment whose ID is the 3 bytes at
 * @p id, or HF_HL7_NONE. */
size_t hf_hl7_seg_find(const hf_hl7_msg *msg, const char id[3], uint32_t occurrence);

/* Number of the last field present ("PID|1||x" has 3; MSH counts MSH-1). */
size_t hf_hl7_field_count(const hf_hl7_msg *msg, size_t seg);
/* Field @p field (1-based; 0 = segment ID) of segment @p seg, raw, with all
 * its repetitions; empty span when absent. */
hf_span hf_hl7_field(const hf_hl7_msg *msg, size_t seg, size_t field);
/* Every field of segment @p seg at once (the bulk form of hf_hl7_field,
 * read straight from the parse index instead of one lookup per field):
 * out[i] = field i + 1, raw (for MSH, out[0] is MSH-1). Fills the first
 * min(count, @p cap) items and returns count = hf_hl7_field_count; 0 for
 * a segment index out of range. Spans point into the parsed buffer. */
size_t hf_hl7_seg_fields(const hf_hl7_msg *msg, size_t seg, hf_span *out, size_t cap);
/* True for fields that are literal values, never split or unescaped:
 * MSH-1 and MSH-2 (and FHS/BHS-1/-2). */
bool hf_hl7_field_is_literal(const hf_hl7_msg *msg, size_t seg, size_t field);

/* Element (rep, comp, sub all 1-based; 0 = the whole level above) of a
 * field: hf_hl7_at(m, s, 3, 2, 1, 0) is PID-3[2].1. Empty when absent. */
hf_span hf_hl7_at(const hf_hl7_msg *msg, size_t seg, size_t field, size_t rep, size_t comp,
                  size_t sub);

/* ------------------------------------------- iteration below field level */

/* Splits a span by one separator; an empty span yields one empty element,
 * sep 0 yields the span itself. No allocation, no state outside the struct. */
typedef struct hf_hl7_iter {
    const char *p;   /* start of the next element */
    const char *end; /* end of the span */
    char sep;        /* separator, 0 = none */
    bool done;       /* true once the last element was returned */
} hf_hl7_iter;

void hf_hl7_iter_init(hf_hl7_iter *it, hf_span s, char sep);
/* Stores the next element in *out and returns true, or returns false. */
bool hf_hl7_iter_next(hf_hl7_iter *it, hf_span *out);
/* The @p n-th (1-based) element of @p s split by @p sep; empty if absent. */
hf_span hf_hl7_nth(hf_span s, char sep, size_t n);

/* ------------------------------------------------------------------- paths */

/* A parsed location "SEG[n]-F[r].C.S"; 0 = not given. */
typedef struct hf_hl7_path {
    char seg[3];    /* segment ID */
    uint32_t occ;   /* [n] after the ID; 0 means 1 */
    uint32_t field; /* >= 1 */
    uint32_t rep;   /* [r] after the field; 0 = whole field (or rep 1 if comp set) */
    uint32_t comp;  /* .C */
    uint32_t sub;   /* .S (requires .C) */
} hf_hl7_path;

/* Parses @p len bytes of @p s ("PID-3", "PID-3[2].1", "PID-3.1.2",
 * "OBX[3]-5", "MSH-9.2") into @p out. Returns HF_OK or HF_ESYNTAX with the
 * column in @p err (may be NULL). */
hf_status hf_hl7_path_parse(const char *s, size_t len, hf_hl7_path *out, hf_err *err);

/* The element a path names, raw: a field path gives the whole field with all
 * repetitions, "[r]" one repetition, ".C" a component (of repetition 1
 * unless [r] is given), ".C.S" a subcomponent. Empty when absent. */
hf_span hf_hl7_get_path(const hf_hl7_msg *msg, const hf_hl7_path *path);
/* Same from a NUL-terminated path text; an invalid path gives empty. */
hf_span hf_hl7_get(const hf_hl7_msg *msg, const char *path);

/* Writes the location of an element as "PID-3", "OBX[2]-5[3].1.2" (the [n]
 * and [r] parts only when > 1; zeros omit the level) into dst, snprintf
 * style: returns the length needed, NUL-terminates when cap > 0. This is the
 * location format of parse errors, DLQ headers and profile violations. */
size_t hf_hl7_loc_format(char *dst, size_t cap, const hf_hl7_msg *msg, size_t seg, size_t field,
                         size_t rep, size_t comp, size_t sub);

/* -------------------------------------------------------------------- walk */

/* One non-empty leaf (subcomponent) of a message. */
typedef struct hf_hl7_leaf {
    size_t seg;       /* 0-based segment index */
    hf_span seg_id;   /* "PID" */
    uint32_t occ;     /* n of SEG[n] */
    uint32_t field;   /* 1-based */
    uint32_t rep;     /* 1-based */
    uint32_t comp;    /* 1-based */
    uint32_t sub;     /* 1-based */
    bool literal;     /* MSH-1/MSH-2: do not unescape */
    hf_span value;    /* raw, as on the wire */
} hf_hl7_leaf;

/* Return non-zero to stop the walk; hf_hl7_walk then returns that value. */
typedef int (*hf_hl7_leaf_fn)(const hf_hl7_leaf *leaf, void *ctx);

/* Calls @p fn for every non-empty leaf in wire order (segments, fields,
 * repetitions, components, subcomponents). Returns 0 or fn's stop value. */
int hf_hl7_walk(const hf_hl7_msg *msg, hf_hl7_leaf_fn fn, void *ctx);

/* ----------------------------------------------------------------- escapes */

/* Decodes the escape sequences of @p s (a leaf or any raw value) using
 * @p d into dst (cap bytes), snprintf style: returns the decoded length;
 * writes at most cap bytes and NUL-terminates when cap > 0, so the output is
 * complete iff the return value < cap. Decoding: \F\ \S\ \T\ \R\ \E\ -> the
 * delimiter; \P\ -> truncation char; \Xhh..\ -> bytes; \.br\ \.ce\ -> "\n";
 * \.sp n\ -> n "\n"; \.sk n\ -> n spaces (n absent = 1, capped at 100);
 * \H\ \N\ \.in n\ \.ti n\ \.fi\ \.nf\ -> nothing; \Cxxyy\ \Mxxyyzz\ \Z..\
 * (character sets, local escapes) are kept verbatim. Unknown or malformed
 * sequences and a lone escape char are kept verbatim and counted in *bad
 * (may be NULL). A message without an escape char: a plain copy. */
size_t hf_hl7_unescape_d(const hf_hl7_delims *d, hf_span s, char *dst, size_t cap,
                         size_t *bad);
/* hf_hl7_unescape_d with the delimiters of @p msg. */
size_t hf_hl7_unescape(const hf_hl7_msg *msg, hf_span s, char *dst, size_t cap);

/* ------------------------------------------------------ batches and streams */

/* Iterates the messages in a buffer: one message, messages back to back,
 * MLLP frames, or FHS/BHS ... BTS/FTS batches. Batch header and trailer
 * segments are not part of any message; the last ones seen are kept. An MLLP
 * start or end byte always ends the current message, so a frame that lost
 * its MSH is reported rather than appended to the message before it. */
typedef struct hf_hl7_splitter {
    hf_span buf;      /* the whole buffer (borrowed) */
    size_t pos;       /* next byte to look at */
    hf_span fhs, bhs; /* last file/batch header line seen (empty if none) */
    hf_span bts, fts; /* last batch/file trailer line seen (empty if none) */
    uint32_t count;   /* messages returned so far */
} hf_hl7_splitter;

void hf_hl7_split_init(hf_hl7_splitter *sp, hf_span buf);

/* Finds the next message: sets *out to the bytes from its "MSH" to the end
 * of its last non-blank line (borrowed from buf) and returns HF_OK; returns
 * HF_ENOTFOUND at the end. A non-blank line outside any message (before the
 * first MSH, or after a batch trailer) is HF_ESYNTAX with its byte offset in
 * @p err; the line is consumed, so the caller may go on calling. */
hf_status hf_hl7_split_next(hf_hl7_splitter *sp, hf_span *out, hf_err *err);

#endif
