/* sos.h - hl7flow-sink-opensearch: typed records -> OpenSearch documents,
 * at least once, idempotent.
 *
 * Each batch of input records becomes documents (common/src/osdoc.c), sent
 * with _bulk `index` actions under deterministic ids, so a replay
 * overwrites what it wrote before. Offsets are committed only after every
 * document of the batch is stored or its record dead-lettered:
 *   - 429/503 (per item or for the whole request) and transport errors:
 *     retried with exponential backoff; a batch that stays unwritten past
 *     SINK_OS_BATCH_RETRY_MS is rewound (seek to its first offsets) and
 *     read again, so the consumer keeps polling (group membership);
 *   - a 4xx for one document: the input record goes to hl7.dlq (class
 *     sink, the status and OpenSearch's error type), the rest commits.
 * Index templates are installed at start (PUT _index_template). */
#ifndef HL7FLOW_SOS_H
#define HL7FLOW_SOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/osbulk.h"
#include "hl7flow/osdoc.h"
#include "hl7flow/registry.h"
#include "hl7flow/sink_loop.h"
#include "hl7flow/status.h"

/* Settings (main.c tables). */
typedef struct sos_cfg {
    hf_sink_cfg sink;      /* HL7FLOW_* and SINK_OS_BACKOFF_MAX_MS (sink_loop.h) */
    char *url;             /* OPENSEARCH_URL: http(s)://host:port, no trailing path */
    char *user;            /* OPENSEARCH_USER */
    char *password;        /* OPENSEARCH_PASSWORD (secret, or _FILE) */
    char *ca_file;         /* OPENSEARCH_CA_FILE */
    bool tls_verify;       /* OPENSEARCH_TLS_VERIFY */
    int64_t timeout_ms;    /* OPENSEARCH_TIMEOUT_MS: one request */
    char *index_prefix;    /* OPENSEARCH_INDEX_PREFIX */
    bool install_templates;
    char *analyzer;        /* OPENSEARCH_TEXT_ANALYZER */
    char *composed_of;     /* OPENSEARCH_TEMPLATE_COMPOSED_OF */
    int64_t shards, replicas, priority;
    int refresh;           /* OPENSEARCH_REFRESH: index of false|true|wait_for */
    int64_t bulk_max_bytes;
    int64_t batch_retry_ms; /* SINK_OS_BATCH_RETRY_MS */
} sos_cfg;

/* ---- the OpenSearch client (sos_http.c) --------------------------------- */

typedef struct sos_http sos_http;

/* A client for @p cfg (borrowed: must outlive it). NULL on out of memory. */
sos_http *sos_http_new(const sos_cfg *cfg);
void sos_http_free(sos_http *h);

/* An answer: HTTP status (0 = no answer: transport error, @p err says
 * which) and body (owned by the client, valid until the next call). */
typedef struct sos_resp {
    long status;
    const char *body;
    size_t len;
} sos_resp;

/* Sends @p method @p path (e.g. "/_bulk?refresh=false") with @p body of
 * @p len bytes and content type @p ctype. HF_OK when an answer came
 * (whatever its status), HF_ERETRY on a transport error, HF_ENOMEM. */
hf_status sos_http_call(sos_http *h, const char *method, const char *path, const char *ctype,
                        const char *body, size_t len, sos_resp *out, hf_err *err);

/* Installs the three index templates. HF_OK, HF_ERETRY (unreachable,
 * 429/5xx), HF_ECONFIG (refused: 4xx, with the status and error type). */
hf_status sos_install_templates(sos_http *h, const sos_cfg *cfg, hf_err *err);

/* ---- the service (sos_loop.c) ------------------------------------------- */

/* Runs the sink until SIGTERM (the consume loop is sink_loop.h's);
 * returns the exit status. */
int sos_run(sos_cfg *cfg, const hf_registry_cfg *reg);

#endif
