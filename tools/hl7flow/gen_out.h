/* gen_out.h - where `hl7flow gen` writes messages: one MLLP-framed stream,
 * one file per message, or a human-readable line stream. */
#ifndef HL7FLOW_CLI_GEN_OUT_H
#define HL7FLOW_CLI_GEN_OUT_H

#include "hl7flow/gen.h"
#include "hl7flow/status.h"

typedef enum {
    GEN_OUT_MLLP,  /* 0x0B message 0x1C 0x0D, to a file or stdout */
    GEN_OUT_FILES, /* directory of 000001.hl7, 000002.hl7, ... */
    GEN_OUT_LINES  /* message then "\n", to a file or stdout */
} gen_out_format;

typedef struct gen_out gen_out;

/* Parses "mllp", "files" or "lines"; HF_OK or HF_ECONFIG. */
hf_status gen_out_format_parse(const char *text, gen_out_format *out);

/* Opens the destination: @p path is a file or "-" (stdout) for the stream
 * formats, a directory (created if missing) for files. Returns HF_OK and an
 * owned writer in @p out (close with gen_out_close), or HF_ECONFIG/HF_EIO. */
hf_status gen_out_open(gen_out_format fmt, const char *path, gen_out **out, hf_err *err);

/* Writes one message (borrowed). HF_OK or HF_EIO. */
hf_status gen_out_write(gen_out *o, const hf_gen_msg *msg, hf_err *err);

/* Flushes and closes, reporting any late write error; frees @p o (NULL is
 * a no-op returning HF_OK). */
hf_status gen_out_close(gen_out *o, hf_err *err);

#endif
