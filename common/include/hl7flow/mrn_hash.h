/* mrn_hash.h - the MRN hash of DESIGN.md ("Keys and headers"): hex
 * HMAC-SHA256, under the fleet's secret key, of
 * `facility_id|assigning_authority|MRN`. The record key of the typed
 * topics, so each patient's events share a partition; a keyed hash so an
 * MRN cannot be recovered by enumerating candidates without the key.
 */
#ifndef HL7FLOW_MRN_HASH_H
#define HL7FLOW_MRN_HASH_H

#include <stddef.h>

#include "hl7flow/hl7.h"
#include "hl7flow/status.h"

#define HF_MRN_HASH_HEX_LEN 64
#define HF_MRN_KEY_MIN 16 /* bytes; shorter secrets are refused */

typedef struct hf_mrn_hasher hf_mrn_hasher;

/* A hasher for secret @p key (@p len bytes, at least HF_MRN_KEY_MIN; the
 * bytes are copied into OpenSSL's key schedule, the caller may wipe its
 * copy). Owned: hf_mrn_hasher_free. HF_ECONFIG for a short key,
 * HF_ENOMEM/HF_EFATAL if OpenSSL cannot set up HMAC-SHA256. */
hf_status hf_mrn_hasher_new(const void *key, size_t len, hf_mrn_hasher **out, hf_err *err);

void hf_mrn_hasher_free(hf_mrn_hasher *h);

/* Writes the 64 lower-case hex digits of the hash of
 * facility_id "|" authority "|" mrn into @p out (NUL-terminated). The
 * values are taken as given (the record's unescaped typed fields).
 * HF_OK, or HF_EFATAL when OpenSSL fails. Not thread-safe per hasher. */
hf_status hf_mrn_hash(hf_mrn_hasher *h, hf_span facility_id, hf_span authority, hf_span mrn,
                      char out[HF_MRN_HASH_HEX_LEN + 1]);

#endif
