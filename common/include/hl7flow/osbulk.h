/* osbulk.h - the OpenSearch _bulk protocol as the sink uses it: the NDJSON
 * request body and the classification of the answer, per item and for the
 * whole request (API-NOTES.md section 3). No HTTP here, so it can be
 * unit-tested.
 *
 * Request: one `index` action line ({"index":{"_index":..,"_id":..}}) and
 * one source line per document, every line ending in \n (the last too).
 * `index` creates or replaces, so writing a document again (a replay)
 * overwrites it.
 * Answer: items[] in request order; each item's status decides:
 *   2xx                      done
 *   429, 5xx                 retry that item (backoff)
 *   other 4xx (400 mapper_parsing_exception, strict_dynamic_mapping_
 *   exception, 404 index_not_found ...)   rejected: its record goes to the
 *                            DLQ; the reason is the status and the error
 *                            *type* only (the error's "reason" text can
 *                            quote document content, so it is never kept).
 */
#ifndef HL7FLOW_OSBULK_H
#define HL7FLOW_OSBULK_H

#include <stdbool.h>
#include <stddef.h>

#include "hl7flow/osdoc.h"
#include "hl7flow/status.h"

/* A growable byte buffer. Start from {0}; free(p). */
typedef struct hf_os_buf {
    char *p;
    size_t len, cap;
} hf_os_buf;

/* Appends the action and source lines of @p doc to @p b.
 * @returns HF_OK or HF_ENOMEM (b unchanged in length then). */
hf_status hf_osbulk_append(hf_os_buf *b, const hf_os_doc *doc);

/* Bytes hf_osbulk_append adds for @p doc (to cut requests by size). */
size_t hf_osbulk_doc_bytes(const hf_os_doc *doc);

typedef enum hf_os_outcome { HF_OS_DONE = 0, HF_OS_RETRY, HF_OS_REJECT } hf_os_outcome;

/* The verdict on one item. */
typedef struct hf_os_item {
    hf_os_outcome outcome;
    int status;        /* the item's HTTP status */
    char reason[160];  /* REJECT/RETRY: "status 400 mapper_parsing_exception" */
} hf_os_item;

/* Classifies one item status and error type (may be NULL). */
hf_os_outcome hf_osbulk_classify(int status);

/* Parses a 200 answer to a _bulk request of @p n documents into
 * @p items[0..n). Items the answer lacks are marked RETRY.
 * @returns HF_OK; HF_ESYNTAX when the body is not a _bulk answer (not JSON,
 *          no items array, or more items than documents): the caller
 *          retries the whole request. @p err never quotes the body. */
hf_status hf_osbulk_parse(const char *body, size_t len, hf_os_item *items, size_t n,
                          hf_err *err);

/* What to do with a whole request's answer. */
typedef enum hf_os_reqclass {
    HF_OS_REQ_OK = 0,     /* 200: read the items */
    HF_OS_REQ_RETRY,      /* 429, 502, 503, 504, or no answer: the whole request again */
    HF_OS_REQ_TOO_LARGE,  /* 413: send fewer documents per request */
    HF_OS_REQ_AUTH,       /* 401, 403: credentials; retried, but an operator must act */
    HF_OS_REQ_FAILED      /* anything else (a 400 for the whole body, 404...): retried */
} hf_os_reqclass;

hf_os_reqclass hf_osbulk_request_class(long http_status);

/* The top-level error type of a non-200 answer ({"error":{"type":..}} or
 * {"error":"text"}: then "error") into @p buf; "" when there is none.
 * Only [A-Za-z0-9_.] characters are kept. */
void hf_osbulk_error_type(const char *body, size_t len, char *buf, size_t cap);

#endif
