/* linker.h - hl7flow-mpi-linker: hl7.parsed.* -> hl7.linked.
 *
 * For every record of the typed topics (keyed by MRN hash, co-partitioned)
 * the linker loads the patient's state (linkstate.h) from the RocksDB store
 * of the record's partition, gives the patient an enterprise id (EMPI, in
 * PostgreSQL, shared by every replica), correlates the event with the
 * patient's encounters and orders, writes empi_id and linkage onto the
 * record for hl7.linked, and writes the new state both to its store and to
 * the changelog topic - the changelog record, the output and the input
 * offsets in one Kafka transaction (the stage loop's batch).
 *
 * Files: main.c (settings, stage definition), linker_ctx.c (start-up),
 * linker_store.c (RocksDB stores, restore from the changelog,
 * checkpoints), linker_empi.c (golden records and links in PostgreSQL),
 * linker_transform.c (one record). docs/mpi-linker.md explains the design.
 */
#ifndef HL7FLOW_LINKER_H
#define HL7FLOW_LINKER_H

#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <rocksdb/c.h>
#include <stdint.h>

#include "hl7flow/linkstate.h"
#include "hl7flow/metrics.h"
#include "hl7flow/mrn_hash.h"
#include "hl7flow/record.h"
#include "hl7flow/record_reader.h"
#include "hl7flow/registry.h"
#include "hl7flow/stage.h"

/* LINKER_* settings. */
typedef struct mpi_cfg {
    char *state_dir;           /* LINKER_STATE_DIR */
    char *changelog;           /* LINKER_CHANGELOG_TOPIC */
    char *database;            /* LINKER_DATABASE (secret: may hold a password) */
    char *mrn_key;             /* HL7FLOW_MRN_HASH_KEY (to hash MRG-1 of A40) */
    int64_t checkpoint_ms;     /* LINKER_CHECKPOINT_MS */
    int64_t merge_poll_ms;     /* LINKER_MERGE_POLL_MS */
    int64_t restore_timeout_ms;/* LINKER_RESTORE_TIMEOUT_MS */
    char *match_model;         /* LINKER_MATCH_MODEL (model file path) */
    int64_t candidates_per_key;/* LINKER_MATCH_CANDIDATES_PER_KEY */
    int64_t block_cache_mb;    /* LINKER_BLOCK_CACHE_MB: shared by the stores */
} mpi_cfg;

/* ---- EMPI (linker_empi.c) ---------------------------------------------- */

typedef struct mpi_empi mpi_empi;

/* What identity assignment looks at (spans borrowed for the call). */
typedef struct mpi_person {
    const char *mrn_hash;       /* the record key */
    hf_span facility_id;
    hf_person who;              /* demographics to match on (hf_ls_person_of) */
    hf_opt_i32 birth_date;      /* for the golden record's display columns */
} mpi_person;

typedef struct mpi_identity {
    char empi_id[HF_LS_TEXT];
    char link_status[16];       /* new | auto | review | merged */
    double match_score;
    bool has_match_score;
} mpi_identity;

/* What mpi_empi_open needs (strings borrowed for the call). */
typedef struct mpi_empi_cfg {
    const char *conninfo;       /* libpq URI or conninfo */
    const char *model_path;     /* match model file (hf_match_model_load) */
    const char *fleet_key;      /* HL7FLOW_MRN_HASH_KEY: derives the blocking and seal keys */
    int64_t candidates_per_key; /* most recent records scored per blocking key */
} mpi_empi_cfg;

/* Loads the match model, derives the keys, connects and runs the
 * migrations (under an advisory lock, so replicas starting together do not
 * race). *out owned: mpi_empi_close. HF_ERETRY when PostgreSQL is
 * unreachable, HF_ECONFIG when the model file or a statement fails. */
hf_status mpi_empi_open(const mpi_empi_cfg *cfg, mpi_empi **out, hf_err *err);
void mpi_empi_close(mpi_empi *e);

/* The enterprise id of @p p: the MRN hash's link when it has one, else a
 * new link by the matching rules (auto-link to the best candidate, or a new
 * golden record with status new or review), race-free between replicas
 * (see the file comment of linker_empi.c). HF_ERETRY when the database is
 * unreachable or a statement fails. */
hf_status mpi_empi_assign(mpi_empi *e, const mpi_person *p, mpi_identity *out, hf_err *err);

/* Records that identity @p prior was merged into @p survivor (A40):
 * relinks prior to @p empi_id with status merged and logs the merge for
 * the other replicas (mpi_empi_poll_merges). Idempotent. */
hf_status mpi_empi_merge(mpi_empi *e, const char *prior, const char *survivor,
                         const char *empi_id, hf_span facility_id, hf_err *err);

/* Calls @p fn for every merge logged since the last call (all of them on
 * the first call). HF_ERETRY when the database is unreachable. */
hf_status mpi_empi_poll_merges(mpi_empi *e,
                               void (*fn)(const char *prior, const char *survivor,
                                          const char *empi_id, void *arg),
                               void *arg, hf_err *err);

/* ---- stores (linker_store.c) ------------------------------------------- */

#define MPI_MAX_PARTITIONS 1024

/* One input partition's local state. */
typedef struct mpi_store {
    rocksdb_t *db;             /* NULL: not open */
    rocksdb_writebatch_wi_t *pending; /* the current batch's changes */
    int64_t checkpoint;        /* changelog offset the store includes up to (next to read) */
    bool dirty;                /* written (or restored) since its last checkpoint */
} mpi_store;

typedef struct mpi_stores mpi_stores;

/* Opens the store set: directory @p dir (created), changelog @p changelog,
 * input topics @p inputs (comma-separated; their committed offsets decide
 * which changelog records a restore keeps). A restore consumer is made
 * from the KAFKA_* environment. *out owned: mpi_stores_close. */
hf_status mpi_stores_open(const char *dir, const char *changelog, const char *inputs,
                          int64_t restore_timeout_ms, int64_t block_cache_mb, mpi_stores **out,
                          hf_err *err);
/* Checkpoints and closes every store; NULL is fine. */
void mpi_stores_close(mpi_stores *s);

/* The store of input partition @p p, or NULL when it is not open. */
mpi_store *mpi_stores_get(mpi_stores *s, int32_t p);

/* Reads the state of @p key in @p st (pending changes first): *found false
 * when the patient is unknown (@p out then hf_ls_init'ed). HF_EIO on a
 * RocksDB error, HF_ESYNTAX when the stored bytes do not decode. */
hf_status mpi_store_load(mpi_store *st, const char *key, hf_ls_state *out, bool *found,
                         hf_err *err);
/* Adds @p val as the new state of @p key to the pending batch. */
void mpi_store_put(mpi_store *st, const char *key, const char *val, size_t len);

/* Stage hooks: see stage.h. */
hf_status mpi_stores_assign(mpi_stores *s, rd_kafka_t *consumer,
                            const rd_kafka_topic_partition_list_t *parts);
void mpi_stores_revoke(mpi_stores *s, const rd_kafka_topic_partition_list_t *parts);
void mpi_stores_batch_done(mpi_stores *s, bool committed);
/* Writes a checkpoint for every open store (between batches only). */
void mpi_stores_checkpoint_all(mpi_stores *s);

/* ---- the service -------------------------------------------------------- */

#define MPI_MAX_INPUTS 8

typedef struct mpi_input {
    char *topic;
    hf_rec_reader *reader;
} mpi_input;

/* Merges other replicas made (prior identity -> survivor), from the
 * database; looked up for every record. */
typedef struct mpi_merge_entry {
    char prior[HF_LS_HASH], survivor[HF_LS_HASH], empi_id[HF_LS_TEXT];
} mpi_merge_entry;

typedef struct mpi_ctx {
    const mpi_cfg *cfg;
    hf_registry *registry;     /* owned */
    mpi_input inputs[MPI_MAX_INPUTS];
    size_t ninputs;
    char *output_topic;        /* owned copy */
    uint32_t output_schema_id;
    hf_mrn_hasher *hasher;     /* owned */
    mpi_empi *empi;            /* owned */
    mpi_stores *stores;        /* owned */
    hf_rec_ctx *rec;           /* owned, reused per record */
    hf_rec_buf out, state_buf; /* owned, reused per record */
    hf_ls_state *state;        /* owned scratch */
    mpi_merge_entry *merges;   /* owned, open addressing, cap entries */
    size_t nmerges, merges_cap;
    int64_t next_checkpoint_ms, next_merge_poll_ms;
    int keep_except[2];        /* top-level fields re-encoded: empi_id, linkage */
    hf_counter *linked_total, *new_identities, *anomalies_total;
} mpi_ctx;

hf_status mpi_ctx_new(const mpi_cfg *cfg, const hf_registry_cfg *reg_cfg,
                      const hf_stage_cfg *stage, mpi_ctx **out, hf_err *err);
void mpi_ctx_destroy(mpi_ctx *c);

/* Adds (or replaces) a merge in the lookup table. */
void mpi_merges_add(const char *prior, const char *survivor, const char *empi_id, void *ctx);
/* The merge whose prior identity is @p key, or NULL. */
const mpi_merge_entry *mpi_merges_find(const mpi_ctx *c, const char *key);

/* Stage transform and hooks. @locality main thread. */
hf_status mpi_transform(void *ctx, const hf_record *in, hf_emit *out, hf_dlq_reason *why);
void mpi_tick(void *ctx, int64_t now_ms);

#endif
