/* parser.h - hl7flow-parser: hl7.raw.ingest -> hl7.validated.
 *
 * Each input record holds raw ER7 bytes (one message, or a batch file, as
 * the MLLP listener or a file drop wrote it). The parser splits batches,
 * parses every message (hl7.h), checks it against the message profiles
 * (profile.h), builds the canonical record (record.h), encodes it with the
 * registered schema of the output topic (magic 0 + 4-byte id + Avro) and
 * emits one output per message. Anything that fails sends the whole input
 * record to the DLQ with class parse, profile or schema and a reason that
 * names the HL7 location, never the content. */
#ifndef HL7FLOW_PARSER_H
#define HL7FLOW_PARSER_H

#include <stdint.h>

#include "hl7flow/hl7.h"
#include "hl7flow/profile.h"
#include "hl7flow/record.h"
#include "hl7flow/record_reader.h"
#include "hl7flow/registry.h"
#include "hl7flow/stage.h"

/* PARSER_* settings. */
typedef struct prs_cfg {
    char *profiles;       /* PARSER_PROFILES: rules dir or file */
    int profile_mode;     /* PARSER_PROFILE_MODE: PRS_PROFILE_* */
    int64_t max_bytes;    /* PARSER_MAX_BYTES: one input record */
    int64_t max_messages; /* PARSER_MAX_BATCH_MESSAGES: messages in one input */
    int64_t max_segments; /* PARSER_MAX_SEGMENTS: segments in one message */
} prs_cfg;

enum { PRS_PROFILE_ENFORCE = 0, PRS_PROFILE_OFF = 1 };

/* Everything the transform needs, built once at start. */
typedef struct prs_ctx {
    const prs_cfg *cfg;            /* borrowed */
    const char *output_topic;      /* borrowed from the stage config */
    hf_profile *profile;           /* owned; NULL when PARSER_PROFILE_MODE=off */
    hf_registry *registry;         /* owned */
    uint32_t schema_id;            /* id of <output>-value, written on the wire */
    hf_hl7_limits limits;
    hf_hl7_msg *msg;               /* owned, reused per message */
    hf_rec_ctx *rec;               /* owned, reused per message */
    hf_rec_buf out;                /* owned, reused per message */
    struct hf_counter *empty_batches; /* batch files holding no message */
    hf_hl7_path msh10, msh9, msh3_1, msh4_1; /* header sources, parsed once */
} prs_ctx;

/* Opens the profile rules and the registry, looks up and checks the output
 * schema. @p reg_cfg is borrowed for the call. On HF_OK *out is owned (free
 * with prs_ctx_destroy). Errors are precise and name the setting. */
hf_status prs_ctx_new(const prs_cfg *cfg, const hf_registry_cfg *reg_cfg, const char *output_topic,
                      prs_ctx **out, hf_err *err);

void prs_ctx_destroy(prs_ctx *ctx);

/* The stage transform (stage.h contract). @locality main thread. */
hf_status prs_transform(void *ctx, const hf_record *in, hf_emit *out, hf_dlq_reason *why);

#endif
