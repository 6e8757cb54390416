/* main.c - hl7flow-mpi-linker: hl7.parsed.* -> hl7.linked (linker.h). */
#include <stddef.h>

#include "linker.h"

static mpi_cfg g_cfg;
static hf_registry_cfg g_reg;

static const hf_cfg_var LINKER_VARS[] = {
    {"LINKER_STATE_DIR", HF_CFG_STR, "/var/lib/hl7flow/linker", offsetof(mpi_cfg, state_dir), 0, 0,
     NULL, "local volume of the per-partition RocksDB stores (p<N> each); keep it across restarts "
     "so a restart replays only the changelog's tail"},
    {"LINKER_CHANGELOG_TOPIC", HF_CFG_STR, "hl7flow-mpi-linker-state-changelog",
     offsetof(mpi_cfg, changelog), 0, 0, NULL,
     "compacted topic backing the stores, partitioned like the input topics"},
    {"LINKER_DATABASE", HF_CFG_SECRET, "", offsetof(mpi_cfg, database), 0, 0, NULL,
     "PostgreSQL of the enterprise ids (libpq URI or conninfo; or a file in LINKER_DATABASE_FILE); "
     "shared by every replica; tables are created at start"},
    {"HL7FLOW_MRN_HASH_KEY", HF_CFG_SECRET, NULL, offsetof(mpi_cfg, mrn_key), 0, 0, NULL,
     "the router's MRN hash key (or HL7FLOW_MRN_HASH_KEY_FILE): hashes MRG-1 of a merge (A40) "
     "to find the merged identity"},
    {"LINKER_CHECKPOINT_MS", HF_CFG_INT, "10000", offsetof(mpi_cfg, checkpoint_ms), 100, 3600000,
     NULL, "how often each store records the changelog offset it is complete up to"},
    {"LINKER_MERGE_POLL_MS", HF_CFG_INT, "1000", offsetof(mpi_cfg, merge_poll_ms), 50, 3600000,
     NULL, "how often merges made by other replicas are read from the database"},
    {"LINKER_RESTORE_TIMEOUT_MS", HF_CFG_INT, "600000", offsetof(mpi_cfg, restore_timeout_ms), 1000,
     86400000, NULL, "longest restore of one partition before the replica gives up (exit 1)"},
    {"LINKER_BLOCK_CACHE_MB", HF_CFG_INT, "256", offsetof(mpi_cfg, block_cache_mb), 8, 1048576,
     NULL, "RocksDB block cache shared by the replica's stores, in MiB (state reads are random "
     "point lookups: size it toward the stores' data, ~170 B per patient)"},
    {"LINKER_MATCH_MODEL", HF_CFG_STR, "config/match/model.conf", offsetof(mpi_cfg, match_model),
     0, 0, NULL, "patient-matching model file (m/u per comparison level, prior, auto-link and "
     "review thresholds; docs/internals/matching.md)"},
    {"LINKER_MATCH_CANDIDATES_PER_KEY", HF_CFG_INT, "50", offsetof(mpi_cfg, candidates_per_key),
     1, 10000, NULL, "most recent records scored per blocking key (caps large blocks such as a "
     "common birthday or surname)"},
};

static hf_status linker_init(void **ctx, const hf_stage_cfg *cfg, hf_err *err) {
    mpi_ctx *c = NULL;
    hf_status st = mpi_ctx_new(&g_cfg, &g_reg, cfg, &c, err);
    *ctx = c;
    return st;
}

static void linker_fini(void *ctx) { mpi_ctx_destroy(ctx); }

static hf_status linker_assign(void *ctx, rd_kafka_t *consumer,
                               const rd_kafka_topic_partition_list_t *parts) {
    return mpi_stores_assign(((mpi_ctx *)ctx)->stores, consumer, parts);
}

static void linker_revoke(void *ctx, const rd_kafka_topic_partition_list_t *parts) {
    mpi_stores_revoke(((mpi_ctx *)ctx)->stores, parts);
}

static void linker_batch_done(void *ctx, bool committed) {
    mpi_stores_batch_done(((mpi_ctx *)ctx)->stores, committed);
}

int main(int argc, char **argv) {
    const hf_cfg_table tables[2] = {
        {"Linker settings", LINKER_VARS, sizeof LINKER_VARS / sizeof LINKER_VARS[0]},
        hf_registry_cfg_table,
    };
    void *const cfgs[2] = {&g_cfg, &g_reg};
    const hf_stage_def def = {
        .name = "mpi-linker",
        .synopsis = "hl7flow-mpi-linker: per-patient state, encounter/order correlation and "
                    "enterprise ids (hl7.parsed.* -> hl7.linked; state changelog "
                    "hl7flow-mpi-linker-state-changelog; failures -> hl7.dlq as schema, state)",
        .default_inputs = "hl7.parsed.adt,hl7.parsed.orm,hl7.parsed.oru,hl7.parsed.dft,"
                          "hl7.parsed.mdm",
        .default_output = "hl7.linked",
        /* A patient's ADT, orders and results come on different topics:
         * merge them by ingest time so a result follows its order. */
        .default_input_order = "ingest-time",
        .tables = tables,
        .ntables = 2,
        .cfgs = cfgs,
        .init = linker_init,
        .fini = linker_fini,
        .transform = mpi_transform,
        .tick = mpi_tick,
        .on_assign = linker_assign,
        .on_revoke = linker_revoke,
        .batch_done = linker_batch_done,
    };
    return hf_stage_main(argc, argv, &def);
}
