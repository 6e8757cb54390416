/* kafka_conf.c - KAFKA_* environment passthrough and librdkafka callbacks
 * bridged into hl7flow's JSON log (see kafka.h). */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "hl7flow/kafka.h"
#include "hl7flow/log.h"

extern char **environ;

static atomic_bool g_fatal_seen;

bool hf_kafka_fatal_seen(void) { return atomic_load(&g_fatal_seen); }

bool hf_kafka_env_to_prop(const char *s, char *out, size_t cap) {
    size_t o = 0;
    if (*s == '\0')
        return false;
    for (size_t i = 0; s[i] != '\0'; i++) {
        char c;
        if (s[i] == '_' && s[i + 1] == '_') {
            c = '_';
            i++;
        } else if (s[i] == '_') {
            c = '.';
        } else {
            c = (char)tolower((unsigned char)s[i]);
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

/* Properties that belong to one role (librdkafka CONFIGURATION.md, column
 * C/P). Prefix matches; anything not listed applies to both. */
static const char *const CONSUMER_ONLY[] = {
    "group.", "session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy",
    "max.poll.interval.ms", "enable.auto.commit", "auto.commit.interval.ms",
    "enable.auto.offset.store", "queued.min.messages", "queued.max.messages.kbytes",
    "fetch.", "isolation.level", "auto.offset.reset", "enable.partition.eof", "check.crcs",
    "allow.auto.create.topics", "consume.callback.max.messages", "coordinator.query.interval.ms",
    "offset.store."};
static const char *const PRODUCER_ONLY[] = {
    "acks", "request.required.acks", "request.timeout.ms", "message.timeout.ms",
    "delivery.timeout.ms", "linger.ms", "queue.buffering.", "batch.", "compression.",
    "enable.idempotence", "enable.gapless.guarantee", "transactional.id", "transaction.timeout.ms",
    "partitioner", "message.send.max.retries", "retries", "retry.backoff.ms",
    "sticky.partitioning.linger.ms", "max.in.flight", "delivery.report.only.error"};

static bool has_prefix_in(const char *prop, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(list[i]);
        if (strncmp(prop, list[i], len) == 0 &&
            (list[i][len - 1] == '.' || prop[len] == '\0'))
            return true;
    }
    return false;
}

bool hf_kafka_prop_foreign(const char *prop, hf_kafka_role role) {
    if (role == HF_KAFKA_PRODUCER)
        return has_prefix_in(prop, CONSUMER_ONLY, sizeof CONSUMER_ONLY / sizeof CONSUMER_ONLY[0]);
    return has_prefix_in(prop, PRODUCER_ONLY, sizeof PRODUCER_ONLY / sizeof PRODUCER_ONLY[0]);
}

hf_status hf_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, hf_err *err) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return hf_err_set(err, HF_ECONFIG, "kafka property %s: %s", key, errstr);
    return HF_OK;
}

static void log_bridge(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    hf_log_level lvl = level <= 3 ? HF_LOG_ERROR : level <= 4 ? HF_LOG_WARN
                                               : level <= 6 ? HF_LOG_INFO
                                                            : HF_LOG_DEBUG;
    HF_LOG(lvl, "rdkafka", HF_LID("facility", fac), HF_LERR(buf));
}

static void error_bridge(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        atomic_store(&g_fatal_seen, true);
        HF_LOG(HF_LOG_ERROR, "kafka_fatal", HF_LID("code", rd_kafka_err2name(orig)), HF_LERR(fatal));
        return;
    }
    /* Transient errors (broker down, all brokers down, timeouts): librdkafka
     * retries on its own; they are logged so operators can see them. */
    HF_LOG(HF_LOG_WARN, "kafka_error", HF_LID("code", rd_kafka_err2name((rd_kafka_resp_err_t)err)),
           HF_LERR(reason));
}

hf_status hf_kafka_conf_new(hf_kafka_role role, const char *const *defaults, char **envp,
                            rd_kafka_conf_t **out, hf_err *err) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    hf_status st = HF_OK;
    if (envp == NULL)
        envp = environ;
    for (size_t i = 0; defaults != NULL && defaults[i] != NULL; i += 2) {
        st = hf_kafka_conf_set(conf, defaults[i], defaults[i + 1], err);
        if (st != HF_OK)
            goto fail;
    }
    for (char **e = envp; *e != NULL; e++) {
        const char *kv = *e;
        if (strncmp(kv, "KAFKA_", 6) != 0)
            continue;
        const char *eq = strchr(kv, '=');
        if (eq == NULL)
            continue;
        char name[256], prop[256];
        size_t nlen = (size_t)(eq - kv);
        if (nlen >= sizeof name)
            continue;
        memcpy(name, kv, nlen);
        name[nlen] = '\0';
        const char *suffix = name + 6;
        bool scoped = false;
        if (strncmp(suffix, "CONSUMER_", 9) == 0) {
            if (role != HF_KAFKA_CONSUMER)
                continue;
            suffix += 9;
            scoped = true;
        } else if (strncmp(suffix, "PRODUCER_", 9) == 0) {
            if (role != HF_KAFKA_PRODUCER)
                continue;
            suffix += 9;
            scoped = true;
        }
        if (!hf_kafka_env_to_prop(suffix, prop, sizeof prop)) {
            st = hf_err_set(err, HF_ECONFIG, "%s: cannot map to a librdkafka property", name);
            goto fail;
        }
        if (!scoped && hf_kafka_prop_foreign(prop, role))
            continue;
        char errstr[512];
        if (rd_kafka_conf_set(conf, prop, eq + 1, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            st = hf_err_set(err, HF_ECONFIG, "%s: %s", name, errstr);
            goto fail;
        }
    }
    rd_kafka_conf_set_log_cb(conf, log_bridge);
    rd_kafka_conf_set_error_cb(conf, error_bridge);
    *out = conf;
    return HF_OK;
fail:
    rd_kafka_conf_destroy(conf);
    return st;
}

bool hf_kafka_header_str(const rd_kafka_headers_t *hdrs, const char *name, char *buf, size_t cap) {
    const void *val = NULL;
    size_t len = 0;
    if (hdrs == NULL || cap == 0 ||
        rd_kafka_header_get_last(hdrs, name, &val, &len) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    if (val == NULL)
        len = 0;
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, val, len);
    buf[len] = '\0';
    return true;
}

rd_kafka_resp_err_t hf_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                                              int32_t *ids, int max, int *count) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt != 1)
        err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    else if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        err = md->topics[0].err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const struct rd_kafka_metadata_topic *t = &md->topics[0];
        for (int i = 0; ids != NULL && i < t->partition_cnt && i < max; i++)
            ids[i] = t->partitions[i].id;
        if (count != NULL)
            *count = t->partition_cnt;
    }
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return err;
}
