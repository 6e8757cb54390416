/* test_log.c - JSON-lines logging and its patient-data guards (log.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "hl7flow/log.h"

/* Runs the logging in @p fn and returns the single line it wrote, parsed. */
static json_t *capture(void (*fn)(void)) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    hf_log_set_fd(fds[1]);
    fn();
    hf_log_set_fd(1);
    close(fds[1]);
    char buf[8192];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_int_equal(buf[n - 1], '\n');
    assert_null(strchr(buf, '\n') == buf + n - 1 ? NULL : "more than one line");
    json_error_t jerr;
    json_t *j = json_loads(buf, 0, &jerr);
    if (j == NULL)
        fail_msg("not JSON: %s (%s)", buf, jerr.text);
    return j;
}

static void log_typed_fields(void) {
    HF_LOG(HF_LOG_WARN, "batch_retry", HF_LI("records", 42), HF_LD("ratio", 0.5),
           HF_LB("eos", true), HF_LLIT("mode", "fast"), HF_LID("topic", "hl7.raw.ingest"));
}

static void line_has_level_service_event_and_fields(void **state) {
    (void)state;
    hf_log_init("unit");
    json_t *j = capture(log_typed_fields);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "service")), "unit");
    assert_string_equal(json_string_value(json_object_get(j, "event")), "batch_retry");
    assert_int_equal(json_integer_value(json_object_get(j, "records")), 42);
    assert_true(json_is_true(json_object_get(j, "eos")));
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "fast");
    assert_string_equal(json_string_value(json_object_get(j, "topic")), "hl7.raw.ingest");
    assert_non_null(json_string_value(json_object_get(j, "ts")));
    json_decref(j);
}

static void log_identifier_with_free_text(void) {
    /* A name with spaces and a caret: identifiers cannot carry it intact. */
    HF_LOG(HF_LOG_INFO, "x", HF_LID("topic", "DOE^JOHN Q"), HF_LCTRL("MSG 0001\"x"));
}

static void identifiers_cannot_carry_free_text(void **state) {
    (void)state;
    json_t *j = capture(log_identifier_with_free_text);
    assert_string_equal(json_string_value(json_object_get(j, "topic")), "DOE?JOHN?Q");
    assert_string_equal(json_string_value(json_object_get(j, "message_control_id")), "MSG?0001?x");
    json_decref(j);
}

static void log_mrn_values(void) {
    HF_LOG(HF_LOG_INFO, "mrn", HF_LMRN("12345678"));
}

static void log_mrn_hash(void) {
    HF_LOG(HF_LOG_INFO, "mrn",
           HF_LMRN("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
}

static void mrn_field_accepts_only_a_hash(void **state) {
    (void)state;
    json_t *j = capture(log_mrn_values);
    assert_string_equal(json_string_value(json_object_get(j, "mrn_hash")), "invalid");
    json_decref(j);
    j = capture(log_mrn_hash);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "mrn_hash"))), 64);
    json_decref(j);
}

static void log_error_text(void) {
    HF_LOG(HF_LOG_ERROR, "e", HF_LERR("quote \" backslash \\ newline \n tab \t end"));
}

static void error_text_is_escaped_as_json(void **state) {
    (void)state;
    json_t *j = capture(log_error_text);
    assert_string_equal(json_string_value(json_object_get(j, "error")),
                        "quote \" backslash \\ newline \n tab \t end");
    json_decref(j);
}

static void log_long_error(void) {
    static char big[20000];
    memset(big, 'a', sizeof big - 1);
    HF_LOG(HF_LOG_ERROR, "long", HF_LERR(big), HF_LI("after", 1));
}

static void long_lines_are_truncated_but_stay_one_line(void **state) {
    (void)state;
    /* capture() asserts a single newline-terminated line; JSON validity of a
     * truncated line is not promised, so only check the shape. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    hf_log_set_fd(fds[1]);
    log_long_error();
    hf_log_set_fd(1);
    close(fds[1]);
    char buf[16384];
    ssize_t n = read(fds[0], buf, sizeof buf);
    close(fds[0]);
    assert_true(n > 0 && n <= 4096);
    assert_int_equal(buf[n - 1], '\n');
    assert_null(memchr(buf, '\n', (size_t)n - 1));
}

static void log_debug_line(void) { HF_LOG0(HF_LOG_DEBUG, "hidden"); }
static void log_info_line(void) { HF_LOG0(HF_LOG_INFO, "shown"); }

static void levels_below_threshold_are_dropped(void **state) {
    (void)state;
    hf_log_set_level(HF_LOG_INFO);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    hf_log_set_fd(fds[1]);
    log_debug_line();
    log_info_line();
    hf_log_set_fd(1);
    close(fds[1]);
    char buf[1024];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    buf[n > 0 ? n : 0] = '\0';
    assert_null(strstr(buf, "hidden"));
    assert_non_null(strstr(buf, "shown"));
    hf_log_level lvl;
    assert_true(hf_log_level_parse("WARN", &lvl));
    assert_int_equal(lvl, HF_LOG_WARN);
    assert_false(hf_log_level_parse("verbose", &lvl));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(line_has_level_service_event_and_fields),
        cmocka_unit_test(identifiers_cannot_carry_free_text),
        cmocka_unit_test(mrn_field_accepts_only_a_hash),
        cmocka_unit_test(error_text_is_escaped_as_json),
        cmocka_unit_test(long_lines_are_truncated_but_stay_one_line),
        cmocka_unit_test(levels_below_threshold_are_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
