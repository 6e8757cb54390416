/* main.c - hl7flow-sink-opensearch: typed records -> OpenSearch documents
 * (sos.h): settings and start. */
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hl7flow/config.h"
#include "hl7flow/log.h"
#include "sos.h"

static sos_cfg g_cfg;
static hf_registry_cfg g_reg;

#define CV(name, type, def, field, min, max, choices, help) \
    {name, type, def, offsetof(sos_cfg, field), min, max, choices, help}

static const hf_cfg_var SOS_VARS[] = {
    CV("OPENSEARCH_URL", HF_CFG_STR, "http://127.0.0.1:9200", url, 0, 0, NULL,
       "cluster address, http(s)://host:port"),
    CV("OPENSEARCH_USER", HF_CFG_STR, "", user, 0, 0, NULL,
       "HTTP Basic user; empty = no authentication"),
    CV("OPENSEARCH_PASSWORD", HF_CFG_SECRET, "", password, 0, 0, NULL,
       "HTTP Basic password (or a file in OPENSEARCH_PASSWORD_FILE)"),
    CV("OPENSEARCH_CA_FILE", HF_CFG_STR, "", ca_file, 0, 0, NULL,
       "PEM file of the CA that signed the cluster's certificate; empty = system store"),
    CV("OPENSEARCH_TLS_VERIFY", HF_CFG_BOOL, "true", tls_verify, 0, 0, NULL,
       "verify the cluster's certificate and host name (false only for a throwaway cluster)"),
    CV("OPENSEARCH_TIMEOUT_MS", HF_CFG_INT, "30000", timeout_ms, 100, 600000, NULL,
       "longest time one request may take"),
    CV("OPENSEARCH_INDEX_PREFIX", HF_CFG_STR, "", index_prefix, 0, 0, NULL,
       "put before every index, alias and template name (e.g. `prod-`)"),
    CV("OPENSEARCH_INSTALL_TEMPLATES", HF_CFG_BOOL, "true", install_templates, 0, 0, NULL,
       "PUT the three index templates at start"),
    CV("OPENSEARCH_TEXT_ANALYZER", HF_CFG_STR, "", analyzer, 0, 0, NULL,
       "analyzer of the text fields (note_text, code_text ...), e.g. a clinical analyzer "
       "defined in a component template; empty = the index default"),
    CV("OPENSEARCH_TEMPLATE_COMPOSED_OF", HF_CFG_STR, "", composed_of, 0, 0, NULL,
       "comma-separated component templates the index templates are composed of (where the "
       "analyzer is defined)"),
    CV("OPENSEARCH_TEMPLATE_SHARDS", HF_CFG_INT, "1", shards, 1, 1024, NULL,
       "number_of_shards of new indices"),
    CV("OPENSEARCH_TEMPLATE_REPLICAS", HF_CFG_INT, "1", replicas, 0, 16, NULL,
       "number_of_replicas of new indices"),
    CV("OPENSEARCH_TEMPLATE_PRIORITY", HF_CFG_INT, "100", priority, 0, 1000000, NULL,
       "priority of the templates (the highest matching template wins)"),
    CV("OPENSEARCH_REFRESH", HF_CFG_ENUM, "false", refresh, 0, 0, "false|true|wait_for",
       "_bulk refresh parameter"),
    CV("OPENSEARCH_BULK_MAX_BYTES", HF_CFG_INT, "5242880", bulk_max_bytes, 1024, 104857600, NULL,
       "largest _bulk body; a batch is cut into several requests"),
    HF_SINK_VAR_INPUT_TOPICS(sos_cfg),
    CV("HL7FLOW_DLQ_TOPIC", HF_CFG_STR, "hl7.dlq", sink.dlq_topic, 0, 0, NULL,
       "dead-letter topic for records OpenSearch refuses"),
    CV("HL7FLOW_GROUP_ID", HF_CFG_STR, "hl7flow-sink-opensearch", sink.group_id, 0, 0, NULL,
       "consumer group id"),
    HF_SINK_VAR_INSTANCE_ID(sos_cfg),
    CV("HL7FLOW_BATCH_MAX", HF_CFG_INT, "1000", sink.batch_max, 1, 100000, NULL,
       "most records per batch (offsets are committed per batch)"),
    HF_SINK_VAR_BATCH_WAIT_MS(sos_cfg, "50"),
    HF_SINK_VAR_HTTP_PORT(sos_cfg),
    CV("HL7FLOW_RETRY_BACKOFF_MS", HF_CFG_INT, "500", sink.backoff_ms, 10, 600000, NULL,
       "first pause before retrying documents or a request (doubles)"),
    CV("SINK_OS_BACKOFF_MAX_MS", HF_CFG_INT, "10000", sink.backoff_max_ms, 10, 600000, NULL,
       "longest pause between retries"),
    CV("SINK_OS_BATCH_RETRY_MS", HF_CFG_INT, "60000", batch_retry_ms, 100, 240000, NULL,
       "how long one batch is retried before it is rewound and read again (keeps the consumer "
       "polling: below max.poll.interval.ms)"),
    HF_SINK_VAR_LOG_LEVEL(sos_cfg),
};

static const char SYNOPSIS[] =
    "hl7flow-sink-opensearch: index typed HL7 records in OpenSearch (clinical-notes-, "
    "lab-results-, adt-events-YYYY.MM) with _bulk under deterministic ids, at least once; "
    "documents OpenSearch refuses -> hl7.dlq (class sink)";

int main(int argc, char **argv) {
    hf_log_init("sink-opensearch");
    const hf_cfg_table tables[2] = {
        {"OpenSearch sink settings", SOS_VARS, sizeof SOS_VARS / sizeof SOS_VARS[0]},
        hf_registry_cfg_table,
    };
    void *const cfgs[2] = {&g_cfg, &g_reg};
    int rc = hf_sink_cli(argc, argv, true, "sink-opensearch", SYNOPSIS, tables, cfgs, 2,
                         &g_cfg.sink);
    if (rc != HF_SINK_CLI_RUN)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "sink-opensearch: curl_global_init failed\n");
        rc = 1;
    } else {
        rc = sos_run(&g_cfg, &g_reg);
        curl_global_cleanup();
    }
    hf_sink_cli_free(tables, cfgs, 2);
    return rc;
}
