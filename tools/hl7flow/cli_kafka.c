/* cli_kafka.c - helpers shared by the CLI's Kafka commands. */
#include "cli_kafka.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/config.h"
#include "hl7flow/kafka.h"

rd_kafka_t *cli_kafka_new(rd_kafka_type_t type, const char *const *defaults,
                          void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *)) {
    rd_kafka_conf_t *conf = NULL;
    hf_err err = {0};
    if (getenv("KAFKA_BOOTSTRAP_SERVERS") == NULL) {
        fprintf(stderr, "KAFKA_BOOTSTRAP_SERVERS: required but not set\n");
        return NULL;
    }
    if (hf_kafka_conf_new(type == RD_KAFKA_PRODUCER ? HF_KAFKA_PRODUCER : HF_KAFKA_CONSUMER,
                          defaults, NULL, &conf, &err) != HF_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    if (dr_cb != NULL)
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "kafka: %s\n", errstr);
    }
    return rk;
}

bool cli_parse_i64(const char *opt, const char *text, int64_t min, int64_t max, int64_t *out) {
    int64_t v;
    if (text == NULL || !hf_parse_i64(text, &v)) {
        fprintf(stderr, "%s: '%s' is not an integer\n", opt, text ? text : "");
        return false;
    }
    if (v < min || v > max) {
        fprintf(stderr, "%s: %lld is outside %lld..%lld\n", opt, (long long)v, (long long)min,
                (long long)max);
        return false;
    }
    *out = v;
    return true;
}

char *cli_read_all(const char *path, size_t *len) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (n == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (f != stdin)
        fclose(f);
    if (buf == NULL)
        fprintf(stderr, "%s: out of memory\n", path);
    *len = n;
    return buf;
}
