/* gen.h - the seeded HL7 v2 traffic generator behind `hl7flow gen`.
 *
 * A generator turns (seed, options) into an endless, reproducible stream of
 * synthetic but realistic HL7 v2 messages: ADT, ORM, ORU, DFT and MDM in
 * hospital-like proportions, for a fixed population of synthetic patients
 * spread over a few facilities. The demo, the integration tests and the
 * benchmarks all feed on it.
 *
 * Guarantees (docs/gen.md has the details):
 * - Determinism: the same options give byte-identical messages, on any
 *   machine. No wall clock, no rand(), no floating point in the output.
 * - Prefix stability: message n depends only on the options and n, never on
 *   how many messages are asked for in total.
 * - The malformed share does not disturb the valid stream: with --malformed
 *   on, the same messages are built and some are then corrupted, so message n
 *   has the same type, patient and control id whatever the share.
 * - A patient identity keeps its MRN and demographics in every message.
 *
 * Not thread-safe: one generator per thread.
 */
#ifndef HL7FLOW_GEN_H
#define HL7FLOW_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "hl7flow/status.h"

/* Message types the generator emits: enum name, MSH-9.1^9.2, MSH-9.3
 * (message structure, sent from v2.4 on), share of the stream in basis
 * points (sums to 10000). */
#define HF_GEN_TYPE_LIST(X)                         \
    X(HF_GEN_ADT_A01, "ADT^A01", "ADT_A01", 720)    \
    X(HF_GEN_ADT_A02, "ADT^A02", "ADT_A02", 540)    \
    X(HF_GEN_ADT_A03, "ADT^A03", "ADT_A03", 630)    \
    X(HF_GEN_ADT_A04, "ADT^A04", "ADT_A01", 720)    \
    X(HF_GEN_ADT_A08, "ADT^A08", "ADT_A01", 1575)   \
    X(HF_GEN_ADT_A11, "ADT^A11", "ADT_A09", 180)    \
    X(HF_GEN_ADT_A40, "ADT^A40", "ADT_A39", 135)    \
    X(HF_GEN_ORM_O01, "ORM^O01", "ORM_O01", 1500)   \
    X(HF_GEN_ORU_R01, "ORU^R01", "ORU_R01", 3000)   \
    X(HF_GEN_DFT_P03, "DFT^P03", "DFT_P03", 500)    \
    X(HF_GEN_MDM_T02, "MDM^T02", "MDM_T02", 500)

#define HF_GEN_TYPE_ENUM_(name, type, structure, bp) name,
typedef enum { HF_GEN_TYPE_LIST(HF_GEN_TYPE_ENUM_) HF_GEN_TYPE_COUNT } hf_gen_type;
#undef HF_GEN_TYPE_ENUM_

/* What was done to a message: HF_GEN_VALID, or one malformed kind. The text
 * is the kind's name in the truth file ("malformed:<name>"). The recipes are
 * in docs/gen.md and gen_fault.c. */
#define HF_GEN_FAULT_LIST(X)                                 \
    X(HF_GEN_VALID, "ok")                                    \
    X(HF_GEN_MISSING_MSH, "missing_msh")                     \
    X(HF_GEN_BAD_ENCODING, "bad_encoding")                   \
    X(HF_GEN_TRUNCATED, "truncated")                         \
    X(HF_GEN_MISSING_MSH10, "missing_msh10")                 \
    X(HF_GEN_MISSING_MSH9, "missing_msh9")                   \
    X(HF_GEN_BAD_PID7_DATE, "bad_pid7_date")                 \
    X(HF_GEN_BAD_PID8_SEX, "bad_pid8_sex")                   \
    X(HF_GEN_MISSING_PID3, "missing_pid3")   /* ADT only */  \
    X(HF_GEN_OBX_WITHOUT_OBR, "obx_without_obr") /* ORU */   \
    X(HF_GEN_BINARY_GARBAGE, "binary_garbage")               \
    X(HF_GEN_EMPTY, "empty")

#define HF_GEN_FAULT_ENUM_(name, text) name,
typedef enum { HF_GEN_FAULT_LIST(HF_GEN_FAULT_ENUM_) HF_GEN_FAULT_COUNT } hf_gen_fault;
#undef HF_GEN_FAULT_ENUM_

/* HL7 version written in MSH-12 (it also shapes MSH-9, SFT and a few
 * fields; see docs/gen.md). */
typedef enum { HF_GEN_V2_3, HF_GEN_V2_4, HF_GEN_V2_5_1 } hf_gen_version;

typedef struct hf_gen hf_gen; /* opaque generator */

#define HF_GEN_MAX_FACILITIES 702u   /* HOSP_A .. HOSP_ZZ */
#define HF_GEN_MAX_PATIENTS 5000000u /* state is 20 bytes per patient */

typedef struct hf_gen_opts {
    uint64_t seed;          /* any value; 0 is fine */
    uint32_t facilities;    /* 1..HF_GEN_MAX_FACILITIES, default 5 */
    uint32_t patients;      /* 1..HF_GEN_MAX_PATIENTS, default 10000 */
    uint32_t malformed_bp;  /* malformed share in basis points, 0..10000 */
    hf_gen_version version; /* default HF_GEN_V2_5_1 */
} hf_gen_opts;

/* One generated message. Every pointer is borrowed from the generator and
 * stays valid until the next hf_gen_next() or hf_gen_destroy(). */
typedef struct hf_gen_msg {
    const char *data;       /* the message bytes: segments end in "\r"; may
                               hold NUL bytes (binary garbage); not
                               NUL-terminated */
    size_t len;             /* 0 for the empty kind */
    uint64_t index;         /* 1-based position in the stream */
    const char *control_id; /* MSH-10 as sent ("G<seed>-<index>"), "" when
                               the message carries none */
    hf_gen_type type;       /* the type built, even if a fault hid it */
    hf_gen_fault fault;     /* HF_GEN_VALID or the malformed kind */
    uint64_t patient;       /* identity of the PID patient (same identity =>
                               same MRN, name, DOB, address) */
    uint64_t merged;        /* A40: identity merged away (MRG); else 0 */
} hf_gen_msg;

/* Fills @p opts with the defaults (seed 1, 5 facilities, 10000 patients,
 * no malformed messages, v2.5.1). */
void hf_gen_opts_default(hf_gen_opts *opts);

/* Creates a generator for @p opts (copied). Returns HF_OK and an owned
 * generator in @p out (free with hf_gen_destroy), HF_ECONFIG for options out
 * of range, HF_ENOMEM. @p err may be NULL. */
hf_status hf_gen_new(const hf_gen_opts *opts, hf_gen **out, hf_err *err);

/* Frees @p gen and every message view it handed out; NULL is a no-op. */
void hf_gen_destroy(hf_gen *gen);

/* Builds the next message into @p out (views borrowed, see hf_gen_msg).
 * Returns HF_OK or HF_ENOMEM (the generator is then unusable). */
hf_status hf_gen_next(hf_gen *gen, hf_gen_msg *out);

/* "ADT^A01" for a type; "?" when out of range. */
const char *hf_gen_type_name(hf_gen_type type);

/* "ok", "missing_msh", ... for a fault; "?" when out of range. */
const char *hf_gen_fault_name(hf_gen_fault fault);

/* "2.3", "2.4" or "2.5.1"; "?" when out of range. */
const char *hf_gen_version_name(hf_gen_version version);

/* Parses "2.3", "2.4" or "2.5.1" into @p out; HF_OK or HF_ECONFIG. */
hf_status hf_gen_version_parse(const char *text, hf_gen_version *out);

#endif
