/* normalize.h - standard forms of patient demographics for matching and
 * display consistency: administrative sex codes and person-name components.
 *
 * The enricher writes these beside the source values (never over them).
 * Both functions are pure: no state, no allocation visible to the caller,
 * safe from any number of threads. Case mapping and character classes come
 * from ICU (Unicode data of the ICU version linked), not hand-made tables.
 * See docs/internals/enrichment.md, "Normalization".
 */
#ifndef HL7FLOW_NORMALIZE_H
#define HL7FLOW_NORMALIZE_H

#include <stddef.h>

#include "hl7flow/hl7.h" /* hf_span */

/* Administrative sex (HL7 table 0001, PID-8) to a standard word:
 * F -> "female", M -> "male", O (other) and A (ambiguous) -> "other",
 * U (unknown) and N (not applicable) -> "unknown". Case-insensitive;
 * surrounding ASCII blanks (space, tab, CR, LF) ignored. Anything else,
 * including empty, -> NULL (the enricher leaves the normalized field null).
 * Returns a static string. */
const char *hf_norm_sex(hf_span code);

/* Standard form of one person-name component (family, given, suffix...):
 *  1. Unicode full upper case, root locale ("straße" -> "STRASSE"),
 *  2. U+2019 RIGHT SINGLE QUOTATION MARK -> "'", U+2010 HYPHEN and U+2011
 *     NON-BREAKING HYPHEN -> "-",
 *  3. only letters (L*), combining marks (M*), decimal digits (Nd), "-",
 *     "'" and white space kept; everything else removed ("." "," "(" ...),
 *  4. white space (Unicode White_Space) trimmed at both ends and each run
 *     inside turned into one U+0020 space,
 *  5. NFC, so a name typed with a combining accent equals the precomposed
 *     one ("JOSE" + U+0301 == "JOSÉ").
 * e.g. "o'neil-smith  jr." -> "O'NEIL-SMITH JR"; CJK passes unchanged.
 * @p in is UTF-8 (invalid sequences are dropped). Writes the result to
 * @p out (UTF-8, no NUL added), at most @p cap bytes; returns the result's
 * length. If that is more than @p cap, the contents of @p out are garbage
 * and the caller retries with a buffer of the returned size (the result is
 * never more than 3 * in.len bytes). Empty or all-removed input -> 0; also 0
 * for an input over 1 MiB or when ICU fails (out of memory). */
size_t hf_norm_name(hf_span in, char *out, size_t cap);

#endif
