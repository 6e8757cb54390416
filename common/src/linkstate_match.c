/* linkstate_match.c - the pure half of the mpi-linker's enterprise-id
 * matching: a record's demographics as an hf_person, keyed hashes of its
 * blocking keys (what the shared PostgreSQL index stores instead of the
 * keys), the sealed form of a prepared record (what the database keeps to
 * score later records against), and the choice of the best candidate.
 *
 * Keys: two 256-bit keys are derived from the fleet key (the router's
 * HL7FLOW_MRN_HASH_KEY) with HMAC-SHA256 over fixed labels, one for the
 * blocking-key hashes and one for sealing, so neither use can stand in for
 * the other or for an MRN hash. Blocking-key hash: HMAC-SHA256(block key,
 * key), first 128 bits in hex. Seal: AES-256-GCM, random 96-bit nonce, the
 * record's MRN hash as associated data (a sealed value copied onto another
 * row does not open). Nothing here logs. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/linkstate.h"

static const char *const LABEL_BLOCK = "hl7flow/empi/block-key/v1";
static const char *const LABEL_SEAL = "hl7flow/empi/seal-key/v1";

#define SEAL_VERSION 1
#define NONCE_LEN 12
#define TAG_LEN 16

/* Leading house number of a street line ("12A Main St" -> "12A", "Main St"). */
static void split_street(hf_span line, hf_span *number, hf_span *street) {
    *number = (hf_span){NULL, 0};
    *street = line;
    if (line.len == 0 || line.p[0] < '0' || line.p[0] > '9')
        return;
    size_t i = 0;
    while (i < line.len && line.p[i] != ' ')
        i++;
    *number = (hf_span){line.p, i};
    while (i < line.len && line.p[i] == ' ')
        i++;
    *street = (hf_span){line.p + i, line.len - i};
}

void hf_ls_person_of(const hf_rec *rec, hf_person *out) {
    memset(out, 0, sizeof *out);
    const hf_rec_patient *pid = rec->patient;
    if (pid != NULL) {
        if (pid->names.n > 0) {
            out->family = pid->names.v[0].family;
            out->given = pid->names.v[0].given;
        }
        out->dob = pid->birth_datetime;
        out->sex = pid->sex;
        if (pid->addresses.n > 0) {
            const hf_rec_addr *a = &pid->addresses.v[0];
            split_street(a->street, &out->street_number, &out->street);
            out->street2 = a->other_designation;
            out->locality = a->city;
            out->state = a->state;
            out->postcode = a->zip;
        }
        for (size_t i = 0; i < pid->phones.n && out->phone.len == 0; i++)
            out->phone = pid->phones.v[i].number.len > 0 ? pid->phones.v[i].number
                                                         : pid->phones.v[i].local_number;
        out->ssn = pid->ssn;
    }
    const hf_rec_enrichment *en = rec->enrichment;
    if (en != NULL) {
        if (en->patient_family_name.len > 0)
            out->family = en->patient_family_name;
        if (en->patient_given_name.len > 0)
            out->given = en->patient_given_name;
        if (en->patient_sex.len > 0)
            out->sex = en->patient_sex;
    }
}

static bool hmac256(const unsigned char *key, size_t klen, const void *data, size_t len,
                    unsigned char out[32]) {
    size_t n = 0;
    return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, data, len, out, 32, &n) !=
               NULL &&
           n == 32;
}

hf_status hf_ls_keyring_init(hf_ls_keyring *k, const char *fleet_key, size_t len, hf_err *err) {
    memset(k, 0, sizeof *k);
    if (len < 16)
        return hf_err_set(err, HF_ECONFIG, "the fleet key must have at least 16 bytes");
    if (!hmac256((const unsigned char *)fleet_key, len, LABEL_BLOCK, strlen(LABEL_BLOCK),
                 k->block) ||
        !hmac256((const unsigned char *)fleet_key, len, LABEL_SEAL, strlen(LABEL_SEAL), k->seal))
        return hf_err_set(err, HF_EFATAL, "OpenSSL: HMAC-SHA256 is not available");
    return HF_OK;
}

static int cmp_hex(const void *a, const void *b) { return strcmp(a, b); }

size_t hf_ls_block_hashes(const hf_ls_keyring *k, const hf_match_rec *r,
                          char out[HF_MATCH_MAX_KEYS][HF_LS_BLOCK_HEX]) {
    static const char hex[] = "0123456789abcdef";
    hf_match_key keys[HF_MATCH_MAX_KEYS];
    size_t nk = hf_match_block_keys(r, keys), n = 0;
    for (size_t i = 0; i < nk; i++) {
        unsigned char md[32];
        if (!hmac256(k->block, sizeof k->block, keys[i].s, strlen(keys[i].s), md))
            continue; /* cannot happen once the keyring was made */
        for (int b = 0; b < (HF_LS_BLOCK_HEX - 1) / 2; b++) {
            out[n][2 * b] = hex[md[b] >> 4];
            out[n][2 * b + 1] = hex[md[b] & 15];
        }
        out[n][HF_LS_BLOCK_HEX - 1] = '\0';
        n++;
    }
    qsort(out, n, sizeof out[0], cmp_hex);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(out[u - 1], out[i]) != 0)
            memmove(out[u++], out[i], HF_LS_BLOCK_HEX);
    explicit_bzero(keys, sizeof keys);
    return u;
}

int64_t hf_ls_lock_id(const char *hex) {
    uint64_t v = 0;
    for (int i = 0; i < 16 && hex[i] != '\0'; i++) {
        char c = hex[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 0;
        v = v << 4 | d;
    }
    int64_t s;
    memcpy(&s, &v, sizeof s); /* two's complement reinterpretation, no overflow */
    return s;
}

/* Plain form of a prepared record: per field a length byte and the bytes,
 * then the four phonetic codes, each NUL-padded to its fixed size. */
static size_t serialize(const hf_match_rec *r, unsigned char *p) {
    size_t n = 0;
    for (int c = 0; c < HF_MC_COUNT; c++) {
        p[n++] = r->f[c].len;
        memcpy(p + n, r->f[c].s, r->f[c].len);
        n += r->f[c].len;
    }
    memcpy(p + n, r->sdx_given, 5), n += 5;
    memcpy(p + n, r->sdx_family, 5), n += 5;
    memcpy(p + n, r->nys_given, 7), n += 7;
    memcpy(p + n, r->nys_family, 7), n += 7;
    return n;
}

static bool deserialize(const unsigned char *p, size_t len, hf_match_rec *r) {
    memset(r, 0, sizeof *r);
    size_t n = 0;
    for (int c = 0; c < HF_MC_COUNT; c++) {
        if (n >= len || p[n] >= HF_MATCH_TEXT_MAX || len - n - 1 < p[n])
            return false;
        r->f[c].len = p[n++];
        memcpy(r->f[c].s, p + n, r->f[c].len);
        n += r->f[c].len;
    }
    if (len - n != 24)
        return false;
    memcpy(r->sdx_given, p + n, 5), n += 5;
    memcpy(r->sdx_family, p + n, 5), n += 5;
    memcpy(r->nys_given, p + n, 7), n += 7;
    memcpy(r->nys_family, p + n, 7);
    r->sdx_given[4] = r->sdx_family[4] = r->nys_given[6] = r->nys_family[6] = '\0';
    return true;
}

#define PLAIN_MAX (HF_MC_COUNT * HF_MATCH_TEXT_MAX + 24)

hf_status hf_ls_seal(const hf_ls_keyring *k, const char *mrn_hash, const hf_match_rec *r,
                     unsigned char out[HF_LS_SEALED_MAX], size_t *len) {
    unsigned char plain[PLAIN_MAX];
    size_t pn = serialize(r, plain);
    out[0] = SEAL_VERSION;
    unsigned char *nonce = out + 1, *ct = out + 1 + NONCE_LEN;
    hf_status st = HF_EFATAL;
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    if (cx != NULL && RAND_bytes(nonce, NONCE_LEN) == 1 &&
        EVP_EncryptInit_ex(cx, EVP_aes_256_gcm(), NULL, k->seal, nonce) == 1 &&
        EVP_EncryptUpdate(cx, NULL, &n1, (const unsigned char *)mrn_hash, (int)strlen(mrn_hash)) ==
            1 &&
        EVP_EncryptUpdate(cx, ct, &n1, plain, (int)pn) == 1 &&
        EVP_EncryptFinal_ex(cx, ct + n1, &n2) == 1 &&
        EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, ct + n1 + n2) == 1) {
        *len = 1 + NONCE_LEN + (size_t)(n1 + n2) + TAG_LEN;
        st = HF_OK;
    }
    EVP_CIPHER_CTX_free(cx);
    explicit_bzero(plain, sizeof plain);
    return st;
}

hf_status hf_ls_unseal(const hf_ls_keyring *k, const char *mrn_hash, const unsigned char *in,
                       size_t len, hf_match_rec *out) {
    if (len < 1 + NONCE_LEN + TAG_LEN || len > HF_LS_SEALED_MAX || in[0] != SEAL_VERSION)
        return HF_ESYNTAX;
    const unsigned char *nonce = in + 1, *ct = in + 1 + NONCE_LEN;
    size_t ctn = len - 1 - NONCE_LEN - TAG_LEN;
    unsigned char plain[HF_LS_SEALED_MAX], tag[TAG_LEN];
    memcpy(tag, ct + ctn, TAG_LEN);
    hf_status st = HF_ESYNTAX;
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    if (cx != NULL && EVP_DecryptInit_ex(cx, EVP_aes_256_gcm(), NULL, k->seal, nonce) == 1 &&
        EVP_DecryptUpdate(cx, NULL, &n1, (const unsigned char *)mrn_hash, (int)strlen(mrn_hash)) ==
            1 &&
        EVP_DecryptUpdate(cx, plain, &n1, ct, (int)ctn) == 1 &&
        EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
        EVP_DecryptFinal_ex(cx, plain + n1, &n2) == 1 &&
        deserialize(plain, (size_t)(n1 + n2), out))
        st = HF_OK;
    EVP_CIPHER_CTX_free(cx);
    explicit_bzero(plain, sizeof plain);
    return st;
}

void hf_ls_choose(const hf_match_model *model, const hf_match_rec *r, const hf_ls_candidate *cands,
                  size_t n, hf_ls_choice *out) {
    memset(out, 0, sizeof *out);
    out->decision = HF_MATCH_NEW;
    out->index = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        double w = hf_match_weight(model, r, &cands[i].rec);
        /* Highest weight wins; ties go to the smaller enterprise id, so the
         * choice does not depend on the order the database returned. */
        if (out->index == SIZE_MAX || w > out->weight ||
            (w == out->weight && strcmp(cands[i].empi_id, cands[out->index].empi_id) < 0)) {
            out->index = i;
            out->weight = w;
        }
    }
    if (out->index == SIZE_MAX)
        return;
    out->decision = hf_match_decide(model, out->weight);
    out->probability = hf_match_probability(out->weight, model->prior);
}
