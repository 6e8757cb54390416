/* status.h - one status enum for the whole code base, plus an error detail
 * struct that the caller owns.
 *
 * Negative values are errors. The enum, its names and its strings come from
 * one X-macro list so they never drift apart. Error text goes into a
 * caller-owned hf_err, never into a global, and never contains patient data:
 * messages name HL7 locations (PID-7.1), topics, offsets and byte positions.
 */
#ifndef HL7FLOW_STATUS_H
#define HL7FLOW_STATUS_H

#include <stdarg.h>

#define HF_STATUS_LIST(X)                                   \
    X(HF_OK, 0, "ok")                                       \
    X(HF_ENOMEM, -1, "out of memory")                       \
    X(HF_ESYNTAX, -2, "malformed input")                    \
    X(HF_ELIMIT, -3, "limit exceeded")                      \
    X(HF_ERETRY, -4, "transient, retry")                    \
    X(HF_EFATAL, -5, "fatal")                               \
    X(HF_ECONFIG, -6, "bad configuration")                  \
    X(HF_EIO, -7, "i/o error")                              \
    X(HF_ENOTFOUND, -8, "not found")

#define HF_STATUS_ENUM_(name, val, text) name = val,
typedef enum { HF_STATUS_LIST(HF_STATUS_ENUM_) } hf_status;
#undef HF_STATUS_ENUM_

/* Error detail: status plus a human-readable message free of patient data. */
typedef struct hf_err {
    hf_status st;  /* HF_OK when no error was recorded */
    char msg[512]; /* NUL-terminated, truncated if longer */
} hf_err;

/* Returns the constant name text of @p st ("out of memory"); never NULL. */
const char *hf_status_str(hf_status st);

/* Records @p st and a printf-style message in @p err (may be NULL: then only
 * returns). Returns @p st so callers can write `return hf_err_set(...)`. */
hf_status hf_err_set(hf_err *err, hf_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
