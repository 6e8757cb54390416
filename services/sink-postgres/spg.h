/* spg.h - hl7flow-sink-postgres: typed records -> PostgreSQL rows, exactly
 * once.
 *
 * Rows and the consumer's offsets are committed in one database
 * transaction per batch (table sink_offsets), and the offsets in the
 * database are the truth:
 *   - on assignment the consumer starts at the offsets stored in the
 *     database (spg_loop.c's stored_offsets, called by sink_loop.c);
 *   - inside each transaction the batch's offset rows are locked and every
 *     record below the stored offset is skipped (a fence: a replay, a
 *     rebalance race or a stale Kafka commit writes nothing twice);
 *   - the Kafka group offsets are committed after the database commit, for
 *     lag monitoring only (KEDA), so they never run ahead of the database.
 * PostgreSQL down: the batch is dropped, partitions paused, the connection
 * retried with backoff (/readyz false); when it is back the consumer is
 * re-assigned from the database offsets and resumed. A record the database
 * rejects for its content goes to the DLQ (class sink, SQLSTATE, table,
 * constraint - never values) and to sink_rejects, the batch goes on. */
#ifndef HL7FLOW_SPG_H
#define HL7FLOW_SPG_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/metrics.h"
#include "hl7flow/pgrows.h"
#include "hl7flow/record.h"
#include "hl7flow/record_reader.h"
#include "hl7flow/registry.h"
#include "hl7flow/sink_loop.h"
#include "hl7flow/status.h"

/* One versioned migration (spg_migrations.c). */
typedef struct spg_migration {
    int version;
    const char *name;
    const char *sql;
} spg_migration;

extern const spg_migration spg_migrations[];
extern const size_t spg_nmigrations;

/* Settings (main.c tables). */
typedef struct spg_cfg {
    hf_sink_cfg sink;     /* HL7FLOW_* and SINK_PG_BACKOFF_MAX_MS (sink_loop.h) */
    char *dsn;            /* SINK_PG_DSN (secret): libpq conninfo or URI; "" = PG* env */
    int64_t connect_timeout_s;
    bool migrate;         /* SINK_PG_MIGRATE: apply migrations at start */
} spg_cfg;

/* ---- database (spg_db.c) ------------------------------------------------ */

typedef enum spg_dbres {
    SPG_DB_OK = 0,
    SPG_DB_CONTENT,   /* the data was refused (SQLSTATE class 22/23/21) */
    SPG_DB_DOWN,      /* connection lost or server unavailable: pause, retry */
    SPG_DB_RETRY,     /* transient (deadlock, serialization): retry */
    SPG_DB_FATAL      /* our bug or a schema the binary does not know */
} spg_dbres;

/* Connects with @p cfg; NULL and a message in @p err on failure. */
PGconn *spg_db_connect(const spg_cfg *cfg, hf_err *err);

/* Classifies a failed result (NULL = no result: connection trouble) and
 * writes a reason free of row data into @p why. */
spg_dbres spg_db_classify(PGconn *c, const PGresult *res, char *why, size_t cap);

/* Runs a command without parameters; SPG_DB_OK or the failure's class. */
spg_dbres spg_db_exec(PGconn *c, const char *sql, char *why, size_t cap);

/* Applies every migration newer than the database's version, each in its
 * own transaction under an advisory lock (replicas may start together).
 * @returns HF_OK, HF_ERETRY (database unreachable) or HF_EFATAL. */
hf_status spg_migrate(PGconn *c, hf_err *err);

/* ---- the service (spg_loop.c) ------------------------------------------- */

/* Runs the sink until SIGTERM (the consume loop is sink_loop.h's);
 * returns the exit status. */
int spg_run(spg_cfg *cfg, const hf_registry_cfg *reg);

#endif
