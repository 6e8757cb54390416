/* codemap.h - local code -> standard code tables, read from data files the
 * operator extends (the *.tsv files in config/codemaps).
 *
 * The enricher maps a facility's local codes to standard ones: lab codes in
 * OBX-3 / OBR-4 to LOINC, unit spellings in OBX-6 to UCUM, and any other
 * kind of code an operator adds. A map is loaded once, is immutable, and
 * answers lookups without allocating; any number of threads may look up in
 * one map at once. Reloading means loading a new map and swapping pointers
 * (hf_codemap_changed says when).
 *
 * File format: UTF-8 text, one mapping per line, columns separated by TAB:
 *   kind  facility_id  local_system  local_code  std_system  std_code  std_display
 * e.g. "observation<TAB>*<TAB>99LAB<TAB>GLU<TAB>LN<TAB>2345-7<TAB>Glucose [...]".
 *  - Blank lines and lines whose first non-blank character is '#' are skipped;
 *    no header line is needed; CRLF line ends and a UTF-8 BOM are fine.
 *  - Spaces around a value are trimmed. All columns but std_display must be
 *    non-empty. kind is a word of [A-Za-z0-9._-]: `observation` (OBX-3),
 *    `order` (OBR-4), `unit` (OBX-6) or any other word.
 *  - facility_id `*` matches any facility, local_system `*` any coding
 *    system; nothing else is a wildcard (local_code `*`, std_system `*` and
 *    std_code `*` are refused).
 *  - kind and systems compare ignoring ASCII case; facility ids and codes
 *    compare exactly.
 *  - The same (kind, facility_id, local_system, local_code) twice, in one
 *    file or across files, is a load error naming both places.
 * See docs/internals/enrichment.md, "Code maps".
 */
#ifndef HL7FLOW_CODEMAP_H
#define HL7FLOW_CODEMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "hl7flow/hl7.h" /* hf_span */
#include "hl7flow/status.h"

typedef struct hf_codemap hf_codemap;

/* What a lookup found: spans into the map (valid until hf_codemap_destroy;
 * not NUL-terminated). display may be empty. */
typedef struct hf_codemap_hit {
    hf_span system, code, display;
} hf_codemap_hit;

/* Loads @p path: one file, or a directory whose *.tsv files (regular files or
 * symlinks to them; names starting with '.' skipped) are read in byte-wise
 * name order. An empty directory gives an empty map. Errors: HF_ENOTFOUND
 * (path does not exist), HF_EIO (cannot read), HF_ELIMIT (a file over
 * 64 MiB), HF_ECONFIG (a bad line, message "file:line: what is wrong", or a
 * duplicate, "file:line: duplicate of file:line"), HF_ENOMEM. @p out (OUT)
 * receives the map, owned by the caller (hf_codemap_destroy); NULL on
 * error. @p err may be NULL. */
hf_status hf_codemap_load(const char *path, hf_codemap **out, hf_err *err);

/* Frees @p m and everything it owns (hits found in it die with it); NULL is
 * fine. */
void hf_codemap_destroy(hf_codemap *m);

/* Number of mappings loaded. */
size_t hf_codemap_size(const hf_codemap *m);

/* The path given to hf_codemap_load (owned by @p m). */
const char *hf_codemap_path(const hf_codemap *m);

/* Looks up the standard code for @p local_code of coding system
 * @p local_system, sent by @p facility_id, for a code of @p kind. The most
 * specific mapping wins: exact facility + exact system, then exact facility
 * + `*`, then `*` + exact system, then `*` + `*`. An empty local_system only
 * matches `*` rows; an empty local_code matches nothing. Returns true and
 * fills *out (spans into @p m) on a match, false otherwise (*out untouched).
 * No allocation; safe from many threads at once. */
bool hf_codemap_lookup(const hf_codemap *m, hf_span kind, hf_span facility_id, hf_span local_system,
                       hf_span local_code, hf_codemap_hit *out);

/* True when what hf_codemap_load read has changed since: a file's size,
 * modification time (nanoseconds) or inode differs, a file is gone, or (for
 * a directory) the set of *.tsv names differs. Also true when the path can
 * no longer be read. A few stat() calls, no reading; call it every few
 * seconds and load a new map when it says so. Does not modify @p m. */
bool hf_codemap_changed(const hf_codemap *m);

#endif
