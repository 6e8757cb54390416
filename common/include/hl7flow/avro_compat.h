/* avro_compat.h - Avro schema parsing for checks, and the schema-resolution
 * compatibility rules (Avro specification, "Schema Resolution").
 *
 * Role: `hl7flow schemas check` and `schemas compat` use this to refuse a
 * schema change that breaks the FULL compatibility the registry enforces,
 * offline, before a deploy. It is not an encoder: records are written with
 * avro-c; this module only reads schema JSON (jansson) into a small tree of
 * its own that keeps what resolution needs (names, aliases, field defaults,
 * enum defaults), which avro-c does not expose.
 *
 * Reader/writer rules implemented (reader = the schema data is read with,
 * writer = the schema it was written with):
 *   - same primitive; promotions int->long|float|double, long->float|double,
 *     float->double, string<->bytes
 *   - record: names match (unqualified name, or a reader alias equal to the
 *     writer's full name); each reader field is found in the writer by name
 *     or by one of the reader field's aliases and resolved recursively; a
 *     reader field absent from the writer needs a default; writer fields
 *     absent from the reader are ignored
 *   - enum: names match; every writer symbol is a reader symbol, unless the
 *     reader enum has a default
 *   - fixed: names match and sizes are equal
 *   - array by items, map by values
 *   - union writer: every branch must be readable by the reader; union
 *     reader, non-union writer: some reader branch must read the writer
 * Logical types are ignored (as Avro's Java and Python checkers do).
 * Recursive types are handled (a pair already being checked is assumed
 * compatible). Parsing also validates what a registry's VALIDITY rule would:
 * names, unique names/fields/symbols, union shape, and every field default
 * against its type (a union default against the union's first branch).
 *
 * Levels: BACKWARD = the new schema reads data written with the old one;
 * FORWARD = the old schema reads data written with the new one; FULL = both.
 * Nothing here keeps global state; parsed schemas are immutable and may be
 * shared across threads.
 */
#ifndef HL7FLOW_AVRO_COMPAT_H
#define HL7FLOW_AVRO_COMPAT_H

#include <stdbool.h>
#include <stddef.h>

#include "hl7flow/status.h"

typedef struct hf_avro_schema hf_avro_schema;

typedef enum {
    HF_AVRO_BACKWARD, /* new reads old */
    HF_AVRO_FORWARD,  /* old reads new */
    HF_AVRO_FULL      /* both */
} hf_avro_level;

/* Parses the Avro schema JSON @p text (@p len bytes, need not be
 * NUL-terminated). On HF_OK *out owns the schema (free with
 * hf_avro_schema_free). Errors: HF_ESYNTAX (not JSON, or not a valid Avro
 * schema: the message names the JSON line/column or the schema location,
 * e.g. "hl7.Patient.sex: default 'Q' is not a symbol of enum hl7.Sex"),
 * HF_ELIMIT (nesting deeper than 64), HF_ENOMEM. */
hf_status hf_avro_schema_parse(const char *text, size_t len, hf_avro_schema **out, hf_err *err);

/* Reads (at most 16 MiB) and parses the file at @p path; messages start
 * with the path. HF_EIO when it cannot be read. */
hf_status hf_avro_schema_load(const char *path, hf_avro_schema **out, hf_err *err);

/* Frees @p s; NULL is a no-op. */
void hf_avro_schema_free(hf_avro_schema *s);

/* Full name of the top-level type ("hl7.parsed.adt.AdtRecord"), or the
 * type's kind for an unnamed one ("array", "union", "string"). Points into
 * @p s. */
const char *hf_avro_schema_name(const hf_avro_schema *s);

/* True when every datum written with @p writer can be read with @p reader.
 * When false and @p why is non-NULL, writes the first problem found (at most
 * @p why_cap bytes, NUL-terminated), naming the location and the rule:
 * "at hl7.A.patient.mrn: reader field 'mrn' is missing in the writer and
 * has no default". */
bool hf_avro_can_read(const hf_avro_schema *reader, const hf_avro_schema *writer, char *why,
                      size_t why_cap);

/* True when @p newer may follow @p older under @p level. On false @p why
 * gets "BACKWARD (new schema reading data written with the old one): at
 * ...". */
bool hf_avro_compatible(const hf_avro_schema *newer, const hf_avro_schema *older,
                        hf_avro_level level, char *why, size_t why_cap);

/* "BACKWARD", "FORWARD", "FULL". */
const char *hf_avro_level_str(hf_avro_level level);

/* Parses a level name (any case); false on anything else. */
bool hf_avro_level_parse(const char *s, hf_avro_level *out);

#endif
