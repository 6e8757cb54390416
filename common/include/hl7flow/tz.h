/* tz.h - IANA time zones: local wall-clock time -> UTC instant.
 *
 * The enricher turns HL7 timestamps without a UTC offset into UTC using the
 * facility's zone. Zone rules come from ICU (its bundled tz database; see
 * hf_tz_data_version), never from hand-written tables, so historical offsets
 * (LMT before a zone adopted standard time) and future rules are right.
 *
 * Times are int64 microseconds. A *wall* time is the local clock reading
 * encoded as if it were UTC: microseconds from 1970-01-01T00:00 of the wall
 * clock in the proleptic Gregorian calendar, e.g. 2024-03-10T02:30 local is
 * (19792 days * 86400 + 2.5 * 3600) * 1e6. The sub-second part passes through.
 *
 * Rules at transitions (the java.time ZonedDateTime.of rule):
 *  - repeated wall time (fall back, the hour happens twice): the FIRST, earlier
 *    occurrence, i.e. the offset in force before the transition;
 *  - skipped wall time (spring forward gap): read with the offset in force
 *    before the gap, which moves it forward by the gap length
 *    (America/Chicago 2024-03-10 02:30 -> 08:30Z = 03:30 CDT).
 *
 * Thread safety: an hf_tz holds an ICU calendar and a lookup cache that
 * conversions update, so one hf_tz must not be used by two threads at once;
 * open one per thread (or per facility table per thread).
 * See docs/internals/enrichment.md, "Time zones".
 */
#ifndef HL7FLOW_TZ_H
#define HL7FLOW_TZ_H

#include <stdint.h>

#include "hl7flow/status.h"

typedef struct hf_tz hf_tz;

/* Opens the zone @p iana_name ("America/Chicago", "UTC", "Etc/UTC", aliases
 * such as "US/Central" too; names are case-sensitive as in the tz database).
 * Custom ids ("GMT+05:00") and unknown names are HF_ENOTFOUND (ICU would
 * silently fall back to GMT; this refuses instead). HF_ENOMEM, or HF_EFATAL
 * when ICU fails. @p out (OUT) receives the zone, owned by the caller (free
 * with hf_tz_close); NULL on error. @p err may be NULL. */
hf_status hf_tz_open(const char *iana_name, hf_tz **out, hf_err *err);

/* Frees @p tz; NULL is fine. */
void hf_tz_close(hf_tz *tz);

/* The name exactly as given to hf_tz_open (owned by @p tz). */
const char *hf_tz_name(const hf_tz *tz);

/* The UTC instant (microseconds since the Unix epoch) of the local wall time
 * @p wall_us (encoding and transition rules above). Never fails; results that
 * would overflow int64 saturate. Uses a per-zone cache keyed by wall-clock
 * hour: a hit costs a multiply, a compare and a subtraction. */
int64_t hf_tz_to_utc_us(hf_tz *tz, int64_t wall_us);

/* Same result as hf_tz_to_utc_us, always asking ICU (no cache read or
 * write). For tests and measurements; the enricher has no reason to call it. */
int64_t hf_tz_to_utc_us_uncached(hf_tz *tz, int64_t wall_us);

/* The version of the tz database ICU is using ("2022e"), for a start-up log
 * line; a static string, "unknown" if ICU cannot say. */
const char *hf_tz_data_version(void);

#endif
