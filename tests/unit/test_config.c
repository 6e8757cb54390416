/* test_config.c - environment configuration tables (config.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl7flow/config.h"

typedef struct demo_cfg {
    char *topic;
    char *secret;
    int64_t batch;
    bool flag;
    int mode;
    double ratio;
} demo_cfg;

static const hf_cfg_var VARS[] = {
    {"T_TOPIC", HF_CFG_STR, "in", offsetof(demo_cfg, topic), 0, 0, NULL, "topic"},
    {"T_SECRET", HF_CFG_SECRET, "", offsetof(demo_cfg, secret), 0, 0, NULL, "secret"},
    {"T_BATCH", HF_CFG_INT, "10", offsetof(demo_cfg, batch), 1, 100, NULL, "batch"},
    {"T_FLAG", HF_CFG_BOOL, "false", offsetof(demo_cfg, flag), 0, 0, NULL, "flag"},
    {"T_MODE", HF_CFG_ENUM, "fast", offsetof(demo_cfg, mode), 0, 0, "slow|fast|off", "mode"},
    {"T_RATIO", HF_CFG_DOUBLE, "0.5", offsetof(demo_cfg, ratio), 0, 1, NULL, "ratio"},
};
static const hf_cfg_table TABLE = {"Demo", VARS, sizeof VARS / sizeof VARS[0]};

static int clear_env(void **state) {
    (void)state;
    const char *names[] = {"T_TOPIC", "T_SECRET", "T_SECRET_FILE", "T_BATCH",
                           "T_FLAG", "T_MODE", "T_RATIO"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
    return 0;
}

static void defaults_apply_when_unset(void **state) {
    (void)state;
    demo_cfg c = {0};
    hf_err err = {0};
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_OK);
    assert_string_equal(c.topic, "in");
    assert_int_equal(c.batch, 10);
    assert_false(c.flag);
    assert_int_equal(c.mode, 1);
    assert_true(c.ratio > 0.49 && c.ratio < 0.51);
    hf_cfg_free(&TABLE, &c);
    assert_null(c.topic);
}

static void environment_overrides_defaults(void **state) {
    (void)state;
    setenv("T_TOPIC", "hl7.x", 1);
    setenv("T_BATCH", "99", 1);
    setenv("T_FLAG", "YES", 1);
    setenv("T_MODE", "off", 1);
    demo_cfg c = {0};
    hf_err err = {0};
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_OK);
    assert_string_equal(c.topic, "hl7.x");
    assert_int_equal(c.batch, 99);
    assert_true(c.flag);
    assert_int_equal(c.mode, 2);
    hf_cfg_free(&TABLE, &c);
}

static void bad_integer_names_the_variable(void **state) {
    (void)state;
    demo_cfg c = {0};
    hf_err err = {0};
    setenv("T_BATCH", "12x", 1);
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "T_BATCH"));
    assert_non_null(strstr(err.msg, "not an integer"));
    setenv("T_BATCH", "0", 1);
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "below the minimum 1"));
    setenv("T_BATCH", "101", 1);
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "above the maximum 100"));
    setenv("T_BATCH", "99999999999999999999999", 1);
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_ECONFIG);
    hf_cfg_free(&TABLE, &c);
}

static void bad_enum_and_bool_list_the_choices(void **state) {
    (void)state;
    demo_cfg c = {0};
    hf_err err = {0};
    setenv("T_MODE", "medium", 1);
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "T_MODE"));
    assert_non_null(strstr(err.msg, "slow|fast|off"));
    unsetenv("T_MODE");
    setenv("T_FLAG", "maybe", 1);
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "T_FLAG"));
    unsetenv("T_FLAG");
    setenv("T_RATIO", "2", 1);
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "T_RATIO"));
    hf_cfg_free(&TABLE, &c);
}

static void secret_comes_from_file_and_is_masked(void **state) {
    (void)state;
    char path[] = "/tmp/hf-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cr3t\n", 7), 7);
    close(fd);
    setenv("T_SECRET_FILE", path, 1);
    demo_cfg c = {0};
    hf_err err = {0};
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_OK);
    assert_string_equal(c.secret, "s3cr3t");
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    hf_cfg_dump(mem, &TABLE, &c);
    fclose(mem);
    assert_non_null(strstr(buf, "T_SECRET=****"));
    assert_null(strstr(buf, "s3cr3t"));
    assert_non_null(strstr(buf, "T_MODE=fast"));
    free(buf);
    unlink(path);
    setenv("T_SECRET_FILE", "/nonexistent/secret", 1);
    hf_cfg_free(&TABLE, &c);
    assert_int_equal(hf_cfg_load(&TABLE, &c, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "T_SECRET_FILE"));
    hf_cfg_free(&TABLE, &c);
}

static void required_variable_missing_is_an_error(void **state) {
    (void)state;
    static const hf_cfg_var REQ[] = {
        {"T_TOPIC", HF_CFG_STR, NULL, offsetof(demo_cfg, topic), 0, 0, NULL, "required"}};
    static const hf_cfg_table RT = {"Req", REQ, 1};
    demo_cfg c = {0};
    hf_err err = {0};
    assert_int_equal(hf_cfg_load(&RT, &c, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "T_TOPIC: required"));
}

static void help_lists_every_variable_and_kafka_passthrough(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    hf_cfg_help(mem, "demo: does things", &TABLE, 1);
    fclose(mem);
    for (size_t i = 0; i < TABLE.count; i++)
        assert_non_null(strstr(buf, VARS[i].name));
    assert_non_null(strstr(buf, "KAFKA_<PROPERTY>"));
    assert_non_null(strstr(buf, "T_SECRET_FILE"));
    assert_non_null(strstr(buf, "1..100"));
    free(buf);
}

static void strict_integer_parser_rejects_junk(void **state) {
    (void)state;
    int64_t v = 0;
    assert_true(hf_parse_i64("-42", &v));
    assert_int_equal(v, -42);
    assert_false(hf_parse_i64("", &v));
    assert_false(hf_parse_i64("4 2", &v));
    assert_false(hf_parse_i64("0x10", &v));
    assert_false(hf_parse_i64("9223372036854775808", &v));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(defaults_apply_when_unset, clear_env),
        cmocka_unit_test_setup(environment_overrides_defaults, clear_env),
        cmocka_unit_test_setup(bad_integer_names_the_variable, clear_env),
        cmocka_unit_test_setup(bad_enum_and_bool_list_the_choices, clear_env),
        cmocka_unit_test_setup(secret_comes_from_file_and_is_masked, clear_env),
        cmocka_unit_test_setup(required_variable_missing_is_an_error, clear_env),
        cmocka_unit_test_setup(help_lists_every_variable_and_kafka_passthrough, clear_env),
        cmocka_unit_test(strict_integer_parser_rejects_junk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
