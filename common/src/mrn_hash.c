/* mrn_hash.c - HMAC-SHA256 MRN hash with OpenSSL 3's EVP_MAC
 * (mrn_hash.h). The key is set once; each hash re-initialises the MAC
 * context with that key (EVP_MAC_init with a NULL key keeps it). */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/mrn_hash.h"

struct hf_mrn_hasher {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

void hf_mrn_hasher_free(hf_mrn_hasher *h) {
    if (h == NULL)
        return;
    EVP_MAC_CTX_free(h->ctx);
    EVP_MAC_free(h->mac);
    free(h);
}

hf_status hf_mrn_hasher_new(const void *key, size_t len, hf_mrn_hasher **out, hf_err *err) {
    if (len < HF_MRN_KEY_MIN)
        return hf_err_set(err, HF_ECONFIG, "MRN hash key is %zu bytes; at least %d are required",
                          len, HF_MRN_KEY_MIN);
    hf_mrn_hasher *h = calloc(1, sizeof *h);
    if (h == NULL)
        return hf_err_set(err, HF_ENOMEM, "MRN hasher");
    h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    h->ctx = h->mac != NULL ? EVP_MAC_CTX_new(h->mac) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (h->ctx == NULL || !EVP_MAC_init(h->ctx, key, len, params)) {
        hf_mrn_hasher_free(h);
        return hf_err_set(err, HF_EFATAL, "OpenSSL: HMAC-SHA256 is not available");
    }
    *out = h;
    return HF_OK;
}

static int update(EVP_MAC_CTX *c, hf_span s) {
    return s.len == 0 || EVP_MAC_update(c, (const unsigned char *)s.p, s.len);
}

hf_status hf_mrn_hash(hf_mrn_hasher *h, hf_span facility_id, hf_span authority, hf_span mrn,
                      char out[HF_MRN_HASH_HEX_LEN + 1]) {
    static const char HEX[] = "0123456789abcdef";
    static const hf_span BAR = {"|", 1};
    unsigned char md[32];
    size_t mdlen = 0;
    if (!EVP_MAC_init(h->ctx, NULL, 0, NULL) || !update(h->ctx, facility_id) ||
        !update(h->ctx, BAR) || !update(h->ctx, authority) || !update(h->ctx, BAR) ||
        !update(h->ctx, mrn) || !EVP_MAC_final(h->ctx, md, &mdlen, sizeof md) || mdlen != 32)
        return HF_EFATAL;
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = HEX[md[i] >> 4];
        out[2 * i + 1] = HEX[md[i] & 15];
    }
    out[HF_MRN_HASH_HEX_LEN] = '\0';
    return HF_OK;
}
