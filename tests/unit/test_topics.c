/* test_topics.c - unit tests for the schemas/topics parser (topics.h):
 * well-formed lists, comments and blank lines, every rejected line kind with
 * its line number, lookups, and the real schemas/topics file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl7flow/topics.h"

/* Parses a NUL-terminated text that must be rejected; returns the status and
 * leaves the message in *err. The output list must come back empty. */
static hf_status parse_bad(const char *text, hf_err *err) {
    hf_topic_list list;
    memset(err, 0, sizeof *err);
    hf_status st = hf_topics_parse(text, strlen(text), "t", &list, err);
    assert_int_not_equal(st, HF_OK);
    assert_int_equal(err->st, st);
    assert_null(list.topics);
    assert_int_equal(list.count, 0);
    return st;
}

static void parses_names_partitions_and_configs(void **state) {
    (void)state;
    const char *text = "hl7.raw.ingest 12 retention.ms=604800000 cleanup.policy=delete\n"
                       "hl7.dlq\t6\n"
                       "state-changelog 3 cleanup.policy=compact min.compaction.lag.ms=0";
    hf_topic_list list;
    hf_err err = {0};
    assert_int_equal(hf_topics_parse(text, strlen(text), "t", &list, &err), HF_OK);
    assert_int_equal(list.count, 3);

    assert_string_equal(list.topics[0].name, "hl7.raw.ingest");
    assert_int_equal(list.topics[0].partitions, 12);
    assert_int_equal(list.topics[0].nconfigs, 2);
    assert_string_equal(list.topics[0].config_keys[0], "retention.ms");
    assert_string_equal(list.topics[0].config_vals[0], "604800000");
    assert_string_equal(list.topics[0].config_keys[1], "cleanup.policy");
    assert_string_equal(list.topics[0].config_vals[1], "delete");

    assert_string_equal(list.topics[1].name, "hl7.dlq");
    assert_int_equal(list.topics[1].partitions, 6);
    assert_int_equal(list.topics[1].nconfigs, 0);

    /* last line has no newline: still parsed */
    assert_string_equal(list.topics[2].name, "state-changelog");
    assert_string_equal(list.topics[2].config_vals[1], "0");
    hf_topics_fini(&list);
    assert_null(list.topics);
    assert_int_equal(list.count, 0);
}

static void skips_comments_and_blank_lines(void **state) {
    (void)state;
    const char *text = "# header comment\n"
                       "\n"
                       "   \t  \r\n"
                       "  a.b 2   # trailing comment\r\n"
                       "#c.d 3\n"
                       "e_f 1 k=v#comment glued to a value\n";
    hf_topic_list list;
    hf_err err = {0};
    assert_int_equal(hf_topics_parse(text, strlen(text), "t", &list, &err), HF_OK);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.topics[0].name, "a.b");
    assert_int_equal(list.topics[0].partitions, 2);
    assert_int_equal(list.topics[0].nconfigs, 0);
    assert_string_equal(list.topics[1].name, "e_f");
    assert_int_equal(list.topics[1].nconfigs, 1);
    assert_string_equal(list.topics[1].config_vals[0], "v");
    assert_null(hf_topics_find(&list, "c.d"));
    hf_topics_fini(&list);
}

static void empty_text_gives_empty_list(void **state) {
    (void)state;
    hf_topic_list list;
    hf_err err = {0};
    assert_int_equal(hf_topics_parse("# only a comment\n\n", 18, "t", &list, &err), HF_OK);
    assert_int_equal(list.count, 0);
    hf_topics_fini(&list);
    assert_int_equal(hf_topics_parse(NULL, 0, "t", &list, &err), HF_OK);
    assert_int_equal(list.count, 0);
}

static void honours_length_not_nul(void **state) {
    (void)state;
    /* The text after len must not be read: "7" would change the count. */
    const char text[] = "x.y 1\nlater 7";
    hf_topic_list list;
    hf_err err = {0};
    assert_int_equal(hf_topics_parse(text, 5, "t", &list, &err), HF_OK);
    assert_int_equal(list.count, 1);
    assert_int_equal(list.topics[0].partitions, 1);
    hf_topics_fini(&list);
}

static void rejects_bad_partitions_with_line_number(void **state) {
    (void)state;
    hf_err err;
    const char *cases[] = {"ok 1\n\nt 0\n",   "ok 1\n\nt -3\n",  "ok 1\n\nt 10001\n",
                           "ok 1\n\nt 12x\n", "ok 1\n\nt 1.5\n", "ok 1\n\nt +4\n",
                           "ok 1\n\nt 99999999999999999999\n"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse_bad(cases[i], &err), HF_ESYNTAX);
        assert_non_null(strstr(err.msg, "t:3: partitions must be 1..10000"));
    }
    /* the bounds themselves are fine */
    hf_topic_list list;
    assert_int_equal(hf_topics_parse("a 1\nb 10000\n", 12, "t", &list, &err), HF_OK);
    assert_int_equal(list.topics[1].partitions, 10000);
    hf_topics_fini(&list);
}

static void rejects_missing_partition_count(void **state) {
    (void)state;
    hf_err err;
    assert_int_equal(parse_bad("a 1\nlonely.topic   # no count\n", &err), HF_ESYNTAX);
    assert_string_equal(err.msg, "t:2: topic 'lonely.topic' has no partition count");
}

static void rejects_missing_name(void **state) {
    (void)state;
    hf_err err;
    assert_int_equal(parse_bad("a 1\nb 2\n   12 retention.ms=1\n", &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "t:3: missing topic name"));
    assert_int_equal(parse_bad("retention.ms=1 3\n", &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "t:1: missing topic name"));
}

static void rejects_bad_names(void **state) {
    (void)state;
    hf_err err;
    assert_int_equal(parse_bad("bad/name 3\n", &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "t:1: bad topic name 'bad/name'"));
    assert_int_equal(parse_bad("a 1\n.. 3\n", &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "t:2: bad topic name"));

    char longname[300];
    memset(longname, 'n', 250);
    strcpy(longname + 250, " 1\n");
    assert_int_equal(parse_bad(longname, &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "t:1: topic name longer than 249"));
    longname[249] = ' '; /* exactly 249 characters is allowed */
    longname[250] = '1';
    longname[251] = '\0';
    hf_topic_list list;
    assert_int_equal(hf_topics_parse(longname, strlen(longname), "t", &list, &err), HF_OK);
    assert_int_equal(strlen(list.topics[0].name), 249);
    hf_topics_fini(&list);
}

static void rejects_duplicate_topic(void **state) {
    (void)state;
    hf_err err;
    assert_int_equal(parse_bad("a 1\nb 2\na 3\n", &err), HF_ESYNTAX);
    assert_string_equal(err.msg, "t:3: topic 'a' listed twice");
}

static void rejects_too_many_configs(void **state) {
    (void)state;
    char text[1024];
    int n = snprintf(text, sizeof text, "a 1\nb 2");
    for (int i = 0; i <= HF_TOPIC_MAX_CONFIGS; i++) /* one more than allowed */
        n += snprintf(text + n, sizeof text - (size_t)n, " k%d=v", i);
    snprintf(text + n, sizeof text - (size_t)n, "\n");
    hf_err err;
    assert_int_equal(parse_bad(text, &err), HF_ELIMIT);
    assert_string_equal(err.msg, "t:2: more than 16 configs for topic 'b'");

    /* exactly the maximum parses */
    n = snprintf(text, sizeof text, "b 2");
    for (int i = 0; i < HF_TOPIC_MAX_CONFIGS; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, " k%d=v%d", i, i);
    hf_topic_list list;
    assert_int_equal(hf_topics_parse(text, strlen(text), "t", &list, &err), HF_OK);
    assert_int_equal(list.topics[0].nconfigs, HF_TOPIC_MAX_CONFIGS);
    assert_string_equal(list.topics[0].config_keys[15], "k15");
    assert_string_equal(list.topics[0].config_vals[15], "v15");
    hf_topics_fini(&list);
}

static void rejects_bad_key_value(void **state) {
    (void)state;
    hf_err err;
    const char *cases[] = {"a 1\nb 2 retention.ms\n", "a 1\nb 2 =5\n", "a 1\nb 2 retention.ms=\n"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse_bad(cases[i], &err), HF_ESYNTAX);
        assert_non_null(strstr(err.msg, "t:2: expected key=value"));
    }
    assert_int_equal(parse_bad("a 1\nb 2 ret/ention=5\n", &err), HF_ESYNTAX);
    assert_string_equal(err.msg, "t:2: bad config key 'ret/ention'");
    assert_int_equal(parse_bad("b 2 x=1 y=2 x=3\n", &err), HF_ESYNTAX);
    assert_string_equal(err.msg, "t:1: config 'x' given twice");
    /* '=' inside a value is kept */
    hf_topic_list list;
    assert_int_equal(hf_topics_parse("b 2 x=a=b\n", 10, "t", &list, &err), HF_OK);
    assert_string_equal(list.topics[0].config_vals[0], "a=b");
    hf_topics_fini(&list);
}

static void rejects_nul_byte(void **state) {
    (void)state;
    const char text[] = "a 1\nb\0 2\n";
    hf_topic_list list;
    hf_err err = {0};
    assert_int_equal(hf_topics_parse(text, sizeof text - 1, "t", &list, &err), HF_ESYNTAX);
    assert_string_equal(err.msg, "t:2: NUL byte in line");
    assert_int_equal(list.count, 0);
}

static void find_returns_matching_topic(void **state) {
    (void)state;
    const char *text = "hl7.parsed.adt 12\nhl7.parsed.adt2 4\nhl7.dlq 6\n";
    hf_topic_list list;
    hf_err err = {0};
    assert_int_equal(hf_topics_parse(text, strlen(text), "t", &list, &err), HF_OK);
    const hf_topic_def *def = hf_topics_find(&list, "hl7.parsed.adt2");
    assert_non_null(def);
    assert_int_equal(def->partitions, 4);
    def = hf_topics_find(&list, "hl7.dlq");
    assert_non_null(def);
    assert_int_equal(def->partitions, 6);
    assert_null(hf_topics_find(&list, "hl7.parsed"));
    assert_null(hf_topics_find(&list, "HL7.DLQ"));
    assert_null(hf_topics_find(&list, NULL));
    assert_null(hf_topics_find(NULL, "hl7.dlq"));
    hf_topics_fini(&list);
    hf_topics_fini(&list); /* a second fini is harmless */
    hf_topics_fini(NULL);
}

static void loads_file_and_reports_path(void **state) {
    (void)state;
    char path[] = "/tmp/test_topics_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "a 1\nb two\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    hf_topic_list list;
    hf_err err = {0};
    assert_int_equal(hf_topics_load(path, &list, &err), HF_ESYNTAX);
    char want[128];
    snprintf(want, sizeof want, "%s:2: partitions must be", path);
    assert_non_null(strstr(err.msg, want));
    unlink(path);

    assert_int_equal(hf_topics_load(path, &list, &err), HF_EIO);
    assert_non_null(strstr(err.msg, "No such file"));
    assert_int_equal(list.count, 0);
}

/* The real topic list parses and holds what the design names. Runs from the
 * repo root (tests/run.sh does); skipped when the file is not there. */
static void real_schemas_topics_parses(void **state) {
    (void)state;
    if (access("schemas/topics", R_OK) != 0) {
        skip();
    }
    hf_topic_list list;
    hf_err err = {0};
    assert_int_equal(hf_topics_load("schemas/topics", &list, &err), HF_OK);
    const char *must[] = {"hl7.raw.ingest", "hl7.validated",  "hl7.enriched",   "hl7.parsed.adt",
                          "hl7.parsed.orm", "hl7.parsed.oru", "hl7.parsed.dft", "hl7.parsed.mdm",
                          "hl7.linked",     "hl7.dlq"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        assert_non_null(hf_topics_find(&list, must[i]));
    /* co-partitioned topics share one partition count */
    int n = hf_topics_find(&list, "hl7.parsed.adt")->partitions;
    assert_int_equal(hf_topics_find(&list, "hl7.parsed.oru")->partitions, n);
    assert_int_equal(hf_topics_find(&list, "hl7.linked")->partitions, n);
    hf_topics_fini(&list);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_names_partitions_and_configs),
        cmocka_unit_test(skips_comments_and_blank_lines),
        cmocka_unit_test(empty_text_gives_empty_list),
        cmocka_unit_test(honours_length_not_nul),
        cmocka_unit_test(rejects_bad_partitions_with_line_number),
        cmocka_unit_test(rejects_missing_partition_count),
        cmocka_unit_test(rejects_missing_name),
        cmocka_unit_test(rejects_bad_names),
        cmocka_unit_test(rejects_duplicate_topic),
        cmocka_unit_test(rejects_too_many_configs),
        cmocka_unit_test(rejects_bad_key_value),
        cmocka_unit_test(rejects_nul_byte),
        cmocka_unit_test(find_returns_matching_topic),
        cmocka_unit_test(loads_file_and_reports_path),
        cmocka_unit_test(real_schemas_topics_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
