/* test_kafka_conf.c - KAFKA_* passthrough into librdkafka configuration
 * (kafka.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/kafka.h"

static void env_names_map_to_properties(void **state) {
    (void)state;
    char p[128];
    assert_true(hf_kafka_env_to_prop("SECURITY_PROTOCOL", p, sizeof p));
    assert_string_equal(p, "security.protocol");
    assert_true(hf_kafka_env_to_prop("SASL_OAUTHBEARER_CLIENT_ID", p, sizeof p));
    assert_string_equal(p, "sasl.oauthbearer.client.id");
    assert_true(hf_kafka_env_to_prop("SSL__KEY", p, sizeof p));
    assert_string_equal(p, "ssl_key");
    assert_false(hf_kafka_env_to_prop("", p, sizeof p));
    assert_false(hf_kafka_env_to_prop("A_VERY_LONG_NAME", p, 4));
}

static void role_specific_properties_stay_with_their_role(void **state) {
    (void)state;
    assert_true(hf_kafka_prop_foreign("fetch.wait.max.ms", HF_KAFKA_PRODUCER));
    assert_true(hf_kafka_prop_foreign("group.instance.id", HF_KAFKA_PRODUCER));
    assert_false(hf_kafka_prop_foreign("fetch.wait.max.ms", HF_KAFKA_CONSUMER));
    assert_true(hf_kafka_prop_foreign("acks", HF_KAFKA_CONSUMER));
    assert_true(hf_kafka_prop_foreign("linger.ms", HF_KAFKA_CONSUMER));
    assert_false(hf_kafka_prop_foreign("security.protocol", HF_KAFKA_CONSUMER));
    assert_false(hf_kafka_prop_foreign("security.protocol", HF_KAFKA_PRODUCER));
    /* Prefix entries without a dot match whole names only. */
    assert_false(hf_kafka_prop_foreign("acks.extra", HF_KAFKA_CONSUMER));
}

static const char *get(rd_kafka_conf_t *conf, const char *name, char *buf, size_t cap) {
    size_t sz = cap;
    if (rd_kafka_conf_get(conf, name, buf, &sz) != RD_KAFKA_CONF_OK)
        return NULL;
    return buf;
}

static void environment_wins_over_defaults(void **state) {
    (void)state;
    char *envp[] = {"KAFKA_BOOTSTRAP_SERVERS=h1:9092,h2:9092",
                    "KAFKA_LINGER_MS=20",
                    "KAFKA_FETCH_WAIT_MAX_MS=7",
                    "KAFKA_PRODUCER_CLIENT_ID=prod-only",
                    "KAFKA_CONSUMER_CLIENT_ID=cons-only",
                    "HL7FLOW_IGNORED=1",
                    NULL};
    const char *defs[] = {"linger.ms", "5", "client.id", "default", NULL};
    rd_kafka_conf_t *pc = NULL, *cc = NULL;
    hf_err err = {0};
    char buf[256];
    assert_int_equal(hf_kafka_conf_new(HF_KAFKA_PRODUCER, defs, envp, &pc, &err), HF_OK);
    assert_string_equal(get(pc, "bootstrap.servers", buf, sizeof buf), "h1:9092,h2:9092");
    assert_string_equal(get(pc, "linger.ms", buf, sizeof buf), "20");
    assert_string_equal(get(pc, "client.id", buf, sizeof buf), "prod-only");
    /* A consumer-only property never reaches the producer. */
    assert_string_not_equal(get(pc, "fetch.wait.max.ms", buf, sizeof buf), "7");
    assert_int_equal(hf_kafka_conf_new(HF_KAFKA_CONSUMER, defs, envp, &cc, &err), HF_OK);
    assert_string_equal(get(cc, "fetch.wait.max.ms", buf, sizeof buf), "7");
    assert_string_equal(get(cc, "client.id", buf, sizeof buf), "cons-only");
    rd_kafka_conf_destroy(pc);
    rd_kafka_conf_destroy(cc);
}

static void bad_value_names_the_variable(void **state) {
    (void)state;
    char *envp[] = {"KAFKA_ACKS=sometimes", NULL};
    rd_kafka_conf_t *pc = NULL;
    hf_err err = {0};
    assert_int_equal(hf_kafka_conf_new(HF_KAFKA_PRODUCER, NULL, envp, &pc, &err), HF_ECONFIG);
    assert_null(pc);
    assert_non_null(strstr(err.msg, "KAFKA_ACKS"));
    char *envp2[] = {"KAFKA_NO_SUCH_PROPERTY=1", NULL};
    assert_int_equal(hf_kafka_conf_new(HF_KAFKA_PRODUCER, NULL, envp2, &pc, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "KAFKA_NO_SUCH_PROPERTY"));
}

static void header_lookup_returns_last_value(void **state) {
    (void)state;
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    rd_kafka_header_add(h, "facility_id", -1, "A", 1);
    rd_kafka_header_add(h, "facility_id", -1, "BB", 2);
    char buf[8];
    assert_true(hf_kafka_header_str(h, "facility_id", buf, sizeof buf));
    assert_string_equal(buf, "BB");
    assert_false(hf_kafka_header_str(h, "missing", buf, sizeof buf));
    assert_false(hf_kafka_header_str(NULL, "facility_id", buf, sizeof buf));
    char tiny[2];
    assert_true(hf_kafka_header_str(h, "facility_id", tiny, sizeof tiny));
    assert_string_equal(tiny, "B");
    rd_kafka_headers_destroy(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_names_map_to_properties),
        cmocka_unit_test(role_specific_properties_stay_with_their_role),
        cmocka_unit_test(environment_wins_over_defaults),
        cmocka_unit_test(bad_value_names_the_variable),
        cmocka_unit_test(header_lookup_returns_last_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
