/* status.c - status strings and the error-detail setter (see status.h). */
#include "hl7flow/status.h"

#include <stdio.h>

const char *hf_status_str(hf_status st) {
#define HF_STATUS_CASE_(name, val, text) \
    case name:                           \
        return text;
    switch (st) { HF_STATUS_LIST(HF_STATUS_CASE_) }
#undef HF_STATUS_CASE_
    return "unknown status";
}

hf_status hf_err_set(hf_err *err, hf_status st, const char *fmt, ...) {
    if (err == NULL)
        return st;
    va_list ap;
    va_start(ap, fmt);
    err->st = st;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return st;
}
