/* linkstate.h - one patient's story so far, as the mpi-linker keeps it:
 * the state value of its RocksDB stores and of its changelog topic, and the
 * correlation rules that move it forward one event at a time.
 *
 * Pure logic: no Kafka, no RocksDB, no PostgreSQL. The service
 * (services/mpi-linker) loads a state by MRN hash, turns the input record
 * into an hf_ls_event (hf_ls_event_from_rec), calls hf_ls_apply, writes the
 * result onto the output record and stores the encoded state.
 *
 * What a state holds (every list bounded, newest first; the oldest entry
 * falls off when a list is full):
 *   - the enterprise id and how it was assigned;
 *   - demographics: the latest and up to HF_LS_MAX_DEMO versions;
 *   - encounters from ADT (A01/A04 open, A02 transfer, A03 close, A08
 *     update, A11/A12/A13 cancels), keyed by visit number (PV1-19.1);
 *   - orders from ORC-1 control codes, keyed by placer/filler number;
 *   - recent results (ORU panels) and the order each answered;
 *   - merges: identities merged into this one (A40), or the identity this
 *     one was merged into;
 *   - for every input topic, the offset of the last record applied, so a
 *     restore can tell a committed state from one written by a transaction
 *     that never committed (hf_ls_committed).
 * Encoding (hf_ls_encode / hf_ls_decode): a version byte, then varints and
 * length-prefixed strings in a fixed order; decode checks every bound.
 */
#ifndef HL7FLOW_LINKSTATE_H
#define HL7FLOW_LINKSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/match.h"
#include "hl7flow/record.h"
#include "hl7flow/status.h"

#define HF_LS_TEXT 48          /* short text fields incl. NUL (ids, codes) */
#define HF_LS_NAME 64          /* name parts incl. NUL */
#define HF_LS_HASH 72          /* an MRN hash (64 hex) incl. NUL */
#define HF_LS_MAX_TOPICS 8
#define HF_LS_MAX_DEMO 4
#define HF_LS_MAX_ENCOUNTERS 8
#define HF_LS_MAX_ORDERS 32
#define HF_LS_MAX_RESULTS 16
#define HF_LS_MAX_MERGED 4
#define HF_LS_MAX_ENCODED 16384 /* an encoded state never exceeds this */

/* Encounter states (linkage.encounter_state spells them in lower case). */
typedef enum hf_ls_enc_state {
    HF_ENC_NONE = 0,
    HF_ENC_ADMITTED,   /* A01 (inpatient), or A02 onto a registered visit */
    HF_ENC_REGISTERED, /* A04 (outpatient, emergency) */
    HF_ENC_DISCHARGED, /* A03 */
    HF_ENC_CANCELLED   /* A11 */
} hf_ls_enc_state;

typedef enum hf_ls_ord_state {
    HF_ORD_NONE = 0,
    HF_ORD_OPEN,       /* NW, OK, RL, XO... and results not yet final */
    HF_ORD_HOLD,       /* HD, OH */
    HF_ORD_COMPLETED,  /* a final result (OBR-25 F/C) or ORC-5 CM */
    HF_ORD_CANCELLED   /* CA, OC, CR, DC, OD, DR, or ORC-5 CA/DC */
} hf_ls_ord_state;

/* Anomaly flags (linkage.anomalies), a bit each. */
#define HF_LS_ANOMALY_LIST(X)                                      \
    X(HF_AN_RESULT_WITHOUT_ORDER, 0, "result_without_order")       \
    X(HF_AN_DISCHARGE_WITHOUT_ADMIT, 1, "discharge_without_admit") \
    X(HF_AN_TRANSFER_WITHOUT_ADMIT, 2, "transfer_without_admit")   \
    X(HF_AN_EVENT_AFTER_MERGE, 3, "event_after_merge")             \
    X(HF_AN_DUPLICATE_ADMIT, 4, "duplicate_admit")                 \
    X(HF_AN_CANCEL_WITHOUT_EVENT, 5, "cancel_without_event")       \
    X(HF_AN_ORDER_CHANGE_UNKNOWN, 6, "order_change_unknown")       \
    X(HF_AN_EVENT_AFTER_DISCHARGE, 7, "event_after_discharge")
#define HF_LS_ANOMALY_ENUM_(name, bit, text) name = 1u << (bit),
enum { HF_LS_ANOMALY_LIST(HF_LS_ANOMALY_ENUM_) };
#undef HF_LS_ANOMALY_ENUM_
#define HF_LS_ANOMALY_COUNT 8

typedef struct hf_ls_applied {
    char topic[HF_LS_NAME]; /* input topic name */
    int64_t offset;         /* last offset applied from it (this key's partition) */
} hf_ls_applied;

typedef struct hf_ls_demo {
    char family[HF_LS_NAME], given[HF_LS_NAME];
    char sex[8];
    char zip[16];
    int32_t birth_date;     /* days since 1970-01-01 */
    bool has_birth_date;
    int64_t ts;             /* event time the version was seen (us) */
} hf_ls_demo;

typedef struct hf_ls_encounter {
    char visit[HF_LS_TEXT];          /* PV1-19.1 */
    char patient_class[8];           /* PV1-2 */
    char location[HF_LS_TEXT];       /* PV1-3.1 */
    char prior_location[HF_LS_TEXT]; /* before the last transfer (A12 restores it) */
    uint8_t state, state_before;     /* hf_ls_enc_state; before the last change */
    int64_t opened_ts, closed_ts, updated_ts;
} hf_ls_encounter;

typedef struct hf_ls_order {
    char placer[HF_LS_TEXT], filler[HF_LS_TEXT]; /* ORC-2/OBR-2, ORC-3/OBR-3 (EI.1) */
    char visit[HF_LS_TEXT];
    uint8_t state;                   /* hf_ls_ord_state */
    int64_t ts;                      /* last change */
} hf_ls_order;

typedef struct hf_ls_result {
    char placer[HF_LS_TEXT], filler[HF_LS_TEXT];
    char status[4];                  /* OBR-25 */
    uint32_t observations;
    int64_t ts;
} hf_ls_result;

/* One patient's state. Plain data: copy, zero (hf_ls_init) and compare at
 * will. About 13 KB; keep it off small stacks. */
typedef struct hf_ls_state {
    char empi_id[HF_LS_TEXT];        /* "" until assigned */
    char link_status[16];            /* new, auto, review, merged */
    double match_score;
    bool has_match_score;
    char merged_into[HF_LS_HASH];    /* survivor's MRN hash once merged away */
    char merged_from[HF_LS_MAX_MERGED][HF_LS_HASH];
    size_t nmerged_from;
    hf_ls_applied applied[HF_LS_MAX_TOPICS];
    size_t napplied;
    hf_ls_demo demo[HF_LS_MAX_DEMO]; /* [0] = latest */
    size_t ndemo;
    hf_ls_encounter enc[HF_LS_MAX_ENCOUNTERS]; /* [0] = most recently opened */
    size_t nenc;
    hf_ls_order ord[HF_LS_MAX_ORDERS];         /* [0] = most recently seen */
    size_t nord;
    hf_ls_result res[HF_LS_MAX_RESULTS];       /* [0] = latest */
    size_t nres;
    int64_t events;                  /* events applied */
} hf_ls_state;

/* One ORC/OBR group of the event. */
typedef struct hf_ls_order_ref {
    hf_span control;      /* ORC-1 */
    hf_span status;       /* ORC-5 */
    hf_span placer, filler;
    hf_span result_status; /* OBR-25 */
} hf_ls_order_ref;

#define HF_LS_EVENT_ORDERS 16

/* What hf_ls_apply needs from one input record (borrowed spans). */
typedef struct hf_ls_event {
    hf_span code, trigger;        /* MSH-9.1, MSH-9.2 */
    hf_span visit;                /* PV1-19.1 */
    hf_span patient_class;        /* PV1-2 */
    hf_span location, prior_location; /* PV1-3.1, PV1-6.1 */
    int64_t ts;                   /* event time, us: EVN-2, MSH-7, else ingest */
    hf_span family, given, sex, zip;
    hf_opt_i32 birth_date;
    hf_ls_order_ref orders[HF_LS_EVENT_ORDERS];
    size_t norders;
    size_t observations;          /* OBX count */
    hf_span prior_mrn_hash;       /* A40: the merged identity's hash (caller computes) */
} hf_ls_event;

/* The correlation hf_ls_apply found for the event (linkage fields). */
typedef struct hf_ls_link {
    char visit[HF_LS_TEXT];       /* "" = no encounter */
    char enc_state[16];           /* "" = no encounter */
    char placer[HF_LS_TEXT];      /* order a result answers / the order placed */
    uint32_t anomalies;           /* HF_AN_* bits */
} hf_ls_link;

/* Zeroes @p st (an unknown patient). */
void hf_ls_init(hf_ls_state *st);

/* Fills @p ev from @p rec (spans borrow from the record). A record with no
 * PID leaves the demographics empty; orders beyond HF_LS_EVENT_ORDERS are
 * ignored. prior_mrn_hash is left empty: the caller hashes MRG-1. */
void hf_ls_event_from_rec(const hf_rec *rec, hf_ls_event *ev);

/* Applies @p ev to @p st and reports the correlation in @p out. Never
 * fails: odd sequences (a discharge with no admission...) become anomaly
 * flags. Deterministic: the same state and event give the same result. */
void hf_ls_apply(hf_ls_state *st, const hf_ls_event *ev, hf_ls_link *out);

/* Records that the record at @p offset of @p topic was applied to @p st
 * (the per-topic high-water mark hf_ls_committed reads). HF_ELIMIT when
 * more than HF_LS_MAX_TOPICS topics are involved. */
hf_status hf_ls_mark_applied(hf_ls_state *st, const char *topic, int64_t offset);

/* True when every record applied to @p st is below its topic's committed
 * offset: @p committed_of(topic, arg) returns the group's committed (next)
 * offset of that topic in this key's partition, or -1 when none. */
bool hf_ls_committed(const hf_ls_state *st, int64_t (*committed_of)(const char *topic, void *arg),
                     void *arg);

/* Text of one encounter state ("admitted"...), "" for HF_ENC_NONE. */
const char *hf_ls_enc_state_str(int state);
/* Text of anomaly bit @p bit (0..HF_LS_ANOMALY_COUNT-1). */
const char *hf_ls_anomaly_str(int bit);

/* Appends the encoding of @p st to @p out (out->len grows; at most
 * HF_LS_MAX_ENCODED bytes). HF_OK or HF_ENOMEM. */
hf_status hf_ls_encode(const hf_ls_state *st, hf_rec_buf *out);

/* Decodes @p len bytes into @p st (which it overwrites).
 * @returns HF_OK; HF_ESYNTAX (truncated, unknown version, a count or a
 *          length beyond its bound) with the byte offset in @p err. */
hf_status hf_ls_decode(const void *data, size_t len, hf_ls_state *st, hf_err *err);

/* Reads only the applied offsets of an encoded state (cheaper than a full
 * decode; for restores). Same errors as hf_ls_decode. */
hf_status hf_ls_decode_applied(const void *data, size_t len, hf_ls_applied *out, size_t *n,
                               hf_err *err);

/* ---- enterprise-id matching helpers (linkstate_match.c) ----------------
 * Pure parts of the linker's EMPI assignment (services/mpi-linker,
 * linker_empi.c): demographics, keyed blocking-key hashes, the sealed form
 * of a prepared record, and the best candidate. Nothing here logs; every
 * value handled is patient data. */

#define HF_LS_BLOCK_HEX 33   /* keyed hash of a blocking key: 128 bits in hex + NUL */
#define HF_LS_SEALED_MAX 512 /* a sealed prepared record never exceeds this */

/* The person of @p rec for matching: PID-5 (the enricher's normalized
 * name and sex when present), PID-7, PID-8, the first PID-11 (a leading
 * house number split off XAD-1), the first PID-13 with a number, PID-19.
 * Spans borrow from @p rec. */
void hf_ls_person_of(const hf_rec *rec, hf_person *out);

/* Keys derived from the fleet key (HL7FLOW_MRN_HASH_KEY) with HMAC-SHA256
 * over fixed labels: one for blocking-key hashes, one for sealing. Secret:
 * never log; explicit_bzero when done. */
typedef struct hf_ls_keyring {
    unsigned char block[32];
    unsigned char seal[32];
} hf_ls_keyring;

/* Derives @p k from the @p len bytes of @p fleet_key (at least 16, else
 * HF_ECONFIG). HF_EFATAL when OpenSSL lacks HMAC-SHA256. */
hf_status hf_ls_keyring_init(hf_ls_keyring *k, const char *fleet_key, size_t len, hf_err *err);

/* The blocking keys of @p r (hf_match_block_keys), each hashed with
 * HMAC-SHA256 under k->block and cut to 128 bits (hex), sorted ascending
 * and without duplicates, into @p out. Returns how many (0: nothing to
 * block on). Sorted so that locks taken in this order cannot deadlock. */
size_t hf_ls_block_hashes(const hf_ls_keyring *k, const hf_match_rec *r,
                          char out[HF_MATCH_MAX_KEYS][HF_LS_BLOCK_HEX]);

/* A 64-bit advisory-lock id from the first 16 hex digits of @p hex (a
 * blocking-key or MRN hash); non-hex digits count as 0. Order-preserving
 * on the unsigned value, so sorted hashes give an agreed lock order. */
int64_t hf_ls_lock_id(const char *hex);

/* Seals @p r for the row of @p mrn_hash: AES-256-GCM under k->seal with a
 * random nonce and @p mrn_hash as associated data; writes *len bytes
 * (<= HF_LS_SEALED_MAX) to @p out. HF_EFATAL when OpenSSL fails. */
hf_status hf_ls_seal(const hf_ls_keyring *k, const char *mrn_hash, const hf_match_rec *r,
                     unsigned char out[HF_LS_SEALED_MAX], size_t *len);

/* Opens what hf_ls_seal made for @p mrn_hash into @p out. HF_ESYNTAX when
 * the value is malformed, of another version, sealed under another key
 * or for another row (authentication fails). */
hf_status hf_ls_unseal(const hf_ls_keyring *k, const char *mrn_hash, const unsigned char *in,
                       size_t len, hf_match_rec *out);

/* A record an earlier registration left in the index: the identity it is
 * linked to now and its prepared demographics. */
typedef struct hf_ls_candidate {
    const char *empi_id;
    const char *mrn_hash;
    hf_match_rec rec;
} hf_ls_candidate;

/* The best candidate and what the model makes of it. */
typedef struct hf_ls_choice {
    hf_match_decision decision; /* HF_MATCH_NEW when there is no candidate */
    size_t index;               /* best candidate, SIZE_MAX when none */
    double weight;              /* its match weight (log2 Bayes factor) */
    double probability;         /* its match probability under model->prior */
} hf_ls_choice;

/* Scores @p r against each of the @p n candidates and picks the highest
 * weight (ties: the smaller empi_id, so the database's row order does not
 * matter); the decision is hf_match_decide of that weight. */
void hf_ls_choose(const hf_match_model *model, const hf_match_rec *r, const hf_ls_candidate *cands,
                  size_t n, hf_ls_choice *out);

#endif
