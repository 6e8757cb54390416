/* profile.h - message-profile validation: is a parsed HL7 v2 message what
 * its type and trigger event promise?
 *
 * Role: the parser service checks every message that parses (hl7.h) against
 * a rule set before encoding it; a message with violations goes to the DLQ
 * with class "profile" and the violations as the reason. The CLI
 * (`hl7flow parse`) prints them. The rules live in data files
 * (the "*.rules" files in schemas/profiles/, format in docs/internals/profile.md), never in
 * code: per message type and trigger event the segment structure in HL7's
 * own abstract-syntax notation (MSH EVN PID [PD1] [{NK1}] PV1 ...), and per
 * segment field rules (required, data type, table, length, repetitions,
 * HL7 version range), plus the HL7 tables they refer to.
 *
 * Lifecycle: load once at start (hf_profile_load), check any number of
 * messages (hf_profile_check), destroy at exit. A loaded rule set is
 * immutable: checking reads it only, allocates nothing and keeps no state,
 * so one rule set may serve any number of threads at once.
 *
 * Privacy: violation texts go to logs and DLQ headers, so they never
 * contain message content. A location names where ("PID-7", "PID-3[2].1",
 * "OBX[3]-2", "OBR"), a reason says what is wrong ("required field is
 * empty", "not a valid DTM (month out of range)", "not in table 0001")
 * without quoting the value, not even a coded one.
 */
#ifndef HL7FLOW_PROFILE_H
#define HL7FLOW_PROFILE_H

#include <stddef.h>

#include "hl7flow/hl7.h"
#include "hl7flow/status.h"

/* Violation kinds: enum name, stable machine name (for metrics labels,
 * DLQ consumers and tests). */
#define HF_PV_CODE_LIST(X)                                                        \
    X(HF_PV_SEGMENT_MISSING, "segment_missing")       /* required segment absent */ \
    X(HF_PV_SEGMENT_UNEXPECTED, "segment_unexpected") /* not allowed where it is */ \
    X(HF_PV_REQUIRED_EMPTY, "required_empty")         /* R field/component empty */ \
    X(HF_PV_NOT_ALLOWED, "not_allowed")               /* X field has a value */     \
    X(HF_PV_BAD_FORMAT, "bad_format")                 /* not a valid DTM/DT/NM.. */ \
    X(HF_PV_NOT_IN_TABLE, "not_in_table")             /* coded value not in table */\
    X(HF_PV_TOO_LONG, "too_long")                     /* over the maximum length */ \
    X(HF_PV_TOO_MANY_REPS, "too_many_repetitions")    /* over the maximum count */

#define HF_PV_ENUM_(name, text) name,
typedef enum { HF_PV_CODE_LIST(HF_PV_ENUM_) HF_PV_CODE_COUNT } hf_pv_code;
#undef HF_PV_ENUM_

/* One violation. Plain data, owned by the caller's array. */
typedef struct hf_profile_violation {
    hf_pv_code code;  /* what kind */
    char loc[40];     /* where: "PID-7", "PID-3[2].1", "OBX[3]-2", "OBR";
                         [n] and [r] only when > 1 (hf_hl7_loc_format) */
    char reason[96];  /* why, free of message content; NUL-terminated */
} hf_profile_violation;

typedef struct hf_profile hf_profile; /* opaque, immutable once loaded */

/* Loads the rules at @p path: a directory (every "*.rules" file in it, in
 * name order, not recursive) or one file. Errors name "file:line: reason"
 * (rule-file text may be quoted; it is configuration, not patient data).
 * @param out  OUT: the rule set (owned: hf_profile_destroy); NULL on error.
 * @returns HF_OK; HF_ECONFIG (bad rules, no rule file); HF_EIO; HF_ENOMEM.
 * @locality any thread; typically once at start. */
hf_status hf_profile_load(const char *path, hf_profile **out, hf_err *err);

/* Like hf_profile_load for rule text in memory (@p text, @p len bytes,
 * borrowed for the call only); @p name is the file name used in errors. */
hf_status hf_profile_load_text(const char *name, const char *text, size_t len,
                               hf_profile **out, hf_err *err);

/* Frees @p rules (NULL is fine). No check may be running on it. */
void hf_profile_destroy(hf_profile *rules);

/* Checks @p msg (a successfully parsed message) against @p rules: the
 * message section chosen by MSH-9 (exact TYPE^EVENT, else TYPE^*, else *),
 * then the field rules of every segment present, in wire order. Stores the
 * first @p max violations in @p out (may be NULL when max is 0), in the
 * order found: per segment its structure violation then its field ones,
 * segments missing at the end last.
 * @returns the total number of violations, which may exceed @p max (then
 *          only the first max were stored); 0 means the message conforms.
 * @locality any thread; @p rules may be shared; no allocation. */
size_t hf_profile_check(const hf_profile *rules, const hf_hl7_msg *msg,
                        hf_profile_violation *out, size_t max);

/* The key of the message section @p msg is checked against ("ADT^A01",
 * "ADT^*", "*"), or "" when none matches and only the global field rules
 * apply. The text is owned by @p rules. */
const char *hf_profile_which(const hf_profile *rules, const hf_hl7_msg *msg);

/* Writes @p n violations as one line, "LOC: reason; LOC: reason", into
 * @p dst (cap bytes), snprintf style: returns the length needed and
 * NUL-terminates when cap > 0. Suitable for a DLQ header or a log field. */
size_t hf_profile_format(const hf_profile_violation *v, size_t n, char *dst, size_t cap);

/* "segment_missing", ...; "?" when out of range. */
const char *hf_pv_code_name(hf_pv_code code);

/* Sizes of a loaded rule set, for a start-up log line. */
typedef struct hf_profile_info {
    size_t sections;   /* message sections (keys may share one) */
    size_t keys;       /* TYPE^EVENT keys, wildcards included */
    size_t rules;      /* field rules, global and per section */
    size_t tables;     /* HL7 tables */
    size_t files;      /* rule files read */
} hf_profile_info;

void hf_profile_get_info(const hf_profile *rules, hf_profile_info *out);

#endif
