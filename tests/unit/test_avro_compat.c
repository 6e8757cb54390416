/* test_avro_compat.c - unit tests for the Avro schema-resolution checker
 * (avro_compat.h): each resolution rule in both directions, the typical
 * schema evolutions and what FULL makes of them, recursion, aliases, and
 * the validation done while parsing (names, unions, defaults). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl7flow/avro_compat.h"

static hf_avro_schema *parse_ok(const char *text) {
    hf_avro_schema *s = NULL;
    hf_err err = {0};
    if (hf_avro_schema_parse(text, strlen(text), &s, &err) != HF_OK)
        fail_msg("schema does not parse: %s\n%s", err.msg, text);
    return s;
}

/* Expects parse failure with status @p st and a message containing @p frag. */
static void parse_fails(const char *text, hf_status st, const char *frag) {
    hf_avro_schema *s = NULL;
    hf_err err = {0};
    hf_status got = hf_avro_schema_parse(text, strlen(text), &s, &err);
    if (got == HF_OK) {
        hf_avro_schema_free(s);
        fail_msg("schema parsed but should not: %s", text);
    }
    assert_null(s);
    assert_int_equal(got, st);
    if (strstr(err.msg, frag) == NULL)
        fail_msg("error '%s' lacks '%s'", err.msg, frag);
}

/* Checks reader-reads-writer; @p frag (may be NULL) must be in the reason. */
static void expect_read(const char *reader, const char *writer, bool want, const char *frag) {
    hf_avro_schema *r = parse_ok(reader), *w = parse_ok(writer);
    char why[600] = "unset";
    bool got = hf_avro_can_read(r, w, why, sizeof why);
    hf_avro_schema_free(r);
    hf_avro_schema_free(w);
    if (got != want)
        fail_msg("can_read(reader %s, writer %s) = %d, want %d (%s)", reader, writer, got, want,
                 why);
    if (!want && frag != NULL && strstr(why, frag) == NULL)
        fail_msg("reason '%s' lacks '%s'", why, frag);
    if (want)
        assert_string_equal(why, "");
}

/* Checks newer-after-older at every level: @p back and @p fwd say whether
 * BACKWARD and FORWARD hold; FULL must be their conjunction. */
static void expect_levels(const char *newer, const char *older, bool back, bool fwd) {
    hf_avro_schema *n = parse_ok(newer), *o = parse_ok(older);
    char why[700];
    bool b = hf_avro_compatible(n, o, HF_AVRO_BACKWARD, why, sizeof why);
    bool f = hf_avro_compatible(n, o, HF_AVRO_FORWARD, why, sizeof why);
    bool full = hf_avro_compatible(n, o, HF_AVRO_FULL, why, sizeof why);
    hf_avro_schema_free(n);
    hf_avro_schema_free(o);
    if (b != back || f != fwd || full != (back && fwd))
        fail_msg("new %s after old %s: backward %d forward %d full %d, want %d %d %d", newer, older,
                 b, f, full, back, fwd, back && fwd);
}

#define REC(fields)                                                                                \
    "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"t\",\"fields\":[" fields "]}"

/* ---- primitives and promotions ---------------------------------------- */

static void identical_primitives_read_each_other(void **state) {
    (void)state;
    static const char *const prims[] = {"\"null\"",  "\"boolean\"", "\"int\"",   "\"long\"",
                                        "\"float\"", "\"double\"",  "\"bytes\"", "\"string\""};
    for (size_t i = 0; i < 8; i++)
        expect_read(prims[i], prims[i], true, NULL);
}

static void numeric_promotions_only_widen(void **state) {
    (void)state;
    expect_read("\"long\"", "\"int\"", true, NULL);
    expect_read("\"float\"", "\"int\"", true, NULL);
    expect_read("\"double\"", "\"int\"", true, NULL);
    expect_read("\"float\"", "\"long\"", true, NULL);
    expect_read("\"double\"", "\"long\"", true, NULL);
    expect_read("\"double\"", "\"float\"", true, NULL);
    expect_read("\"int\"", "\"long\"", false, "writer type long cannot be read as int");
    expect_read("\"long\"", "\"float\"", false, "no such promotion");
    expect_read("\"float\"", "\"double\"", false, "writer type double cannot be read as float");
    expect_read("\"int\"", "\"double\"", false, NULL);
}

static void string_and_bytes_promote_both_ways(void **state) {
    (void)state;
    expect_read("\"bytes\"", "\"string\"", true, NULL);
    expect_read("\"string\"", "\"bytes\"", true, NULL);
    expect_read("\"string\"", "\"int\"", false, "writer type int cannot be read as string");
    expect_read("\"boolean\"", "\"null\"", false, NULL);
}

static void logical_types_resolve_by_underlying_type(void **state) {
    (void)state;
    expect_read("{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}", "\"long\"", true, NULL);
    expect_read("{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}",
                "{\"type\":\"int\",\"logicalType\":\"date\"}", true, NULL);
}

/* ---- records ------------------------------------------------------------ */

static void record_added_field_with_default_is_full(void **state) {
    (void)state;
    const char *old = REC("{\"name\":\"a\",\"type\":\"string\"}");
    const char *neu = REC("{\"name\":\"a\",\"type\":\"string\"},"
                          "{\"name\":\"b\",\"type\":[\"null\",\"string\"],\"default\":null}");
    expect_levels(neu, old, true, true);
}

static void record_added_field_without_default_is_forward_only(void **state) {
    (void)state;
    const char *old = REC("{\"name\":\"a\",\"type\":\"string\"}");
    const char *neu =
        REC("{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"mrn\",\"type\":\"string\"}");
    expect_levels(neu, old, false, true);
    expect_read(neu, old, false,
                "at t.R.mrn: reader field 'mrn' is missing in the writer and has no default");
}

static void record_removed_field_without_default_is_backward_only(void **state) {
    (void)state;
    const char *old = REC("{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"int\"}");
    const char *neu = REC("{\"name\":\"a\",\"type\":\"string\"}");
    expect_levels(neu, old, true, false);
    hf_avro_schema *n = parse_ok(neu), *o = parse_ok(old);
    char why[700];
    assert_false(hf_avro_compatible(n, o, HF_AVRO_FULL, why, sizeof why));
    assert_non_null(strstr(why, "FORWARD (old schema reading data written with the new one)"));
    assert_non_null(strstr(why, "at t.R.b: reader field 'b'"));
    hf_avro_schema_free(n);
    hf_avro_schema_free(o);
}

static void record_removed_field_with_default_is_full(void **state) {
    (void)state;
    const char *old = REC("{\"name\":\"a\",\"type\":\"string\"},"
                          "{\"name\":\"b\",\"type\":\"int\",\"default\":0}");
    const char *neu = REC("{\"name\":\"a\",\"type\":\"string\"}");
    expect_levels(neu, old, true, true);
}

static void record_field_widened_int_to_long_is_backward_only(void **state) {
    (void)state;
    const char *old = REC("{\"name\":\"n\",\"type\":\"int\"}");
    const char *neu = REC("{\"name\":\"n\",\"type\":\"long\"}");
    expect_levels(neu, old, true, false);
    expect_read(old, neu, false, "at t.R.n: writer type long cannot be read as int");
}

static void record_field_type_change_names_field(void **state) {
    (void)state;
    const char *inner_old =
        "{\"type\":\"record\",\"name\":\"Outer\",\"namespace\":\"hl7\",\"fields\":["
        "{\"name\":\"patient\",\"type\":{\"type\":\"record\",\"name\":\"Patient\",\"fields\":["
        "{\"name\":\"dob\",\"type\":\"string\"}]}}]}";
    const char *inner_new =
        "{\"type\":\"record\",\"name\":\"Outer\",\"namespace\":\"hl7\",\"fields\":["
        "{\"name\":\"patient\",\"type\":{\"type\":\"record\",\"name\":\"Patient\",\"fields\":["
        "{\"name\":\"dob\",\"type\":\"int\"}]}}]}";
    expect_read(inner_new, inner_old, false,
                "at hl7.Outer.patient.dob: writer type string cannot be read as int");
}

static void record_names_must_match_unless_aliased(void **state) {
    (void)state;
    const char *w = "{\"type\":\"record\",\"name\":\"Old\",\"namespace\":\"a\",\"fields\":[]}";
    const char *r = "{\"type\":\"record\",\"name\":\"New\",\"namespace\":\"a\",\"fields\":[]}";
    const char *r_alias =
        "{\"type\":\"record\",\"name\":\"New\",\"namespace\":\"a\",\"aliases\":[\"Old\"],"
        "\"fields\":[]}";
    const char *r_other_ns =
        "{\"type\":\"record\",\"name\":\"Old\",\"namespace\":\"b\",\"fields\":[]}";
    expect_read(r, w, false, "reader record a.New cannot read writer record a.Old");
    expect_read(r_alias, w, true, NULL);
    /* the spec compares unqualified names */
    expect_read(r_other_ns, w, true, NULL);
}

static void record_field_alias_finds_renamed_writer_field(void **state) {
    (void)state;
    const char *w = REC("{\"name\":\"old_name\",\"type\":\"string\"}");
    const char *r = REC("{\"name\":\"new_name\",\"aliases\":[\"old_name\"],\"type\":\"string\"}");
    const char *r_plain = REC("{\"name\":\"new_name\",\"type\":\"string\"}");
    expect_read(r, w, true, NULL);
    expect_read(r_plain, w, false, "reader field 'new_name' is missing in the writer");
    /* the alias is the reader's: the old schema cannot read the new data */
    expect_read(w, r, false, "reader field 'old_name'");
}

static void record_writer_only_fields_are_ignored(void **state) {
    (void)state;
    expect_read(REC(""), REC("{\"name\":\"x\",\"type\":{\"type\":\"map\",\"values\":\"long\"}}"),
                true, NULL);
}

/* ---- enums -------------------------------------------------------------- */

#define ENUM(syms, extra)                                                                          \
    "{\"type\":\"enum\",\"name\":\"Sex\",\"namespace\":\"hl7\",\"symbols\":[" syms "]" extra "}"

static void enum_added_symbol_is_backward_only(void **state) {
    (void)state;
    const char *old = ENUM("\"F\",\"M\"", "");
    const char *neu = ENUM("\"F\",\"M\",\"U\"", "");
    expect_levels(neu, old, true, false);
    expect_read(old, neu, false,
                "writer symbol 'U' of enum hl7.Sex is not a reader symbol and the reader enum "
                "has no default");
}

static void enum_added_symbol_with_reader_default_is_full(void **state) {
    (void)state;
    const char *old = ENUM("\"F\",\"M\",\"U\"", ",\"default\":\"U\"");
    const char *neu = ENUM("\"F\",\"M\",\"U\",\"X\"", ",\"default\":\"U\"");
    expect_levels(neu, old, true, true);
}

static void enum_removed_symbol_is_forward_only(void **state) {
    (void)state;
    expect_levels(ENUM("\"F\"", ""), ENUM("\"F\",\"M\"", ""), false, true);
}

static void enum_names_must_match(void **state) {
    (void)state;
    expect_read(ENUM("\"F\"", ""),
                "{\"type\":\"enum\",\"name\":\"Gender\",\"namespace\":\"hl7\",\"symbols\":[\"F\"]}",
                false, "reader enum hl7.Sex cannot read writer enum hl7.Gender");
}

/* ---- fixed, arrays, maps ----------------------------------------------- */

static void fixed_needs_same_name_and_size(void **state) {
    (void)state;
    const char *f16 = "{\"type\":\"fixed\",\"name\":\"H\",\"size\":16}";
    const char *f32 = "{\"type\":\"fixed\",\"name\":\"H\",\"size\":32}";
    const char *g16 = "{\"type\":\"fixed\",\"name\":\"G\",\"size\":16}";
    expect_read(f16, f16, true, NULL);
    expect_read(f16, f32, false, "fixed H: reader size 16 differs from writer size 32");
    expect_read(g16, f16, false, "names differ");
    expect_read("\"bytes\"", f16, false, "writer type H cannot be read as bytes");
}

static void arrays_and_maps_resolve_their_items(void **state) {
    (void)state;
    expect_read("{\"type\":\"array\",\"items\":\"long\"}", "{\"type\":\"array\",\"items\":\"int\"}",
                true, NULL);
    expect_read("{\"type\":\"array\",\"items\":\"int\"}", "{\"type\":\"array\",\"items\":\"long\"}",
                false, "at array[]: writer type long cannot be read as int");
    expect_read("{\"type\":\"map\",\"values\":\"string\"}",
                "{\"type\":\"map\",\"values\":\"bytes\"}", true, NULL);
    expect_read("{\"type\":\"map\",\"values\":\"int\"}", "{\"type\":\"map\",\"values\":\"string\"}",
                false, "at map{}");
    expect_read("{\"type\":\"map\",\"values\":\"int\"}", "{\"type\":\"array\",\"items\":\"int\"}",
                false, "writer type array cannot be read as map");
}

/* ---- unions ------------------------------------------------------------- */

static void union_writer_needs_every_branch_readable(void **state) {
    (void)state;
    expect_read("[\"null\",\"string\",\"long\"]", "[\"null\",\"string\"]", true, NULL);
    expect_read(
        "[\"null\",\"string\"]", "[\"null\",\"string\",\"long\"]", false,
        "at union<long>: no branch of reader union [null, string] can read writer type long");
    /* promotion inside a union */
    expect_read("[\"null\",\"double\"]", "[\"null\",\"int\"]", true, NULL);
}

static void union_reader_accepts_plain_writer(void **state) {
    (void)state;
    expect_read("[\"null\",\"string\"]", "\"string\"", true, NULL);
    expect_read("[\"null\",\"long\"]", "\"int\"", true, NULL);
    expect_read("[\"null\",\"string\"]", "\"int\"", false, "no branch of reader union");
}

static void union_writer_to_plain_reader_needs_all_branches(void **state) {
    (void)state;
    expect_read("\"string\"", "[\"string\"]", true, NULL);
    expect_read("\"string\"", "[\"null\",\"string\"]", false,
                "writer type null cannot be read as string");
}

static void making_a_field_optional_is_backward_only(void **state) {
    (void)state;
    const char *old = REC("{\"name\":\"a\",\"type\":\"string\"}");
    const char *neu = REC("{\"name\":\"a\",\"type\":[\"null\",\"string\"],\"default\":null}");
    expect_levels(neu, old, true, false);
}

/* ---- recursion and named references ----------------------------------- */

static void recursive_records_terminate(void **state) {
    (void)state;
    const char *list1 =
        "{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
        "{\"name\":\"next\",\"type\":[\"null\",\"Node\"],\"default\":null}]}";
    const char *list2 =
        "{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"v\",\"type\":\"long\"},"
        "{\"name\":\"next\",\"type\":[\"null\",\"Node\"],\"default\":null}]}";
    expect_levels(list1, list1, true, true);
    expect_levels(list2, list1, true, false);
    expect_read(list1, list2, false, "at Node.v: writer type long cannot be read as int");
}

static void named_type_reused_by_reference(void **state) {
    (void)state;
    const char *s = "{\"type\":\"record\",\"name\":\"M\",\"namespace\":\"hl7\",\"fields\":["
                    "{\"name\":\"a\",\"type\":{\"type\":\"record\",\"name\":\"Code\",\"fields\":["
                    "{\"name\":\"c\",\"type\":\"string\"}]}},"
                    "{\"name\":\"b\",\"type\":\"Code\"},{\"name\":\"c\",\"type\":\"hl7.Code\"},"
                    "{\"name\":\"d\",\"type\":{\"type\":\"Code\"}}]}";
    expect_levels(s, s, true, true);
}

/* ---- parse-time validation ---------------------------------------------- */

static void parse_rejects_invalid_schemas(void **state) {
    (void)state;
    parse_fails("{\"type\":", HF_ESYNTAX, "not JSON: line 1");
    parse_fails("\"nosuch\"", HF_ESYNTAX, "unknown type 'nosuch'");
    parse_fails("{\"type\":\"record\",\"fields\":[]}", HF_ESYNTAX,
                "record without a string \"name\"");
    parse_fails("{\"type\":\"record\",\"name\":\"9x\",\"fields\":[]}", HF_ESYNTAX,
                "'9x' is not a valid type name");
    parse_fails("{\"type\":\"record\",\"name\":\"R\"}", HF_ESYNTAX, "without a \"fields\" array");
    parse_fails(REC("{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"a\",\"type\":\"int\"}"),
                HF_ESYNTAX, "field 'a' is defined twice");
    parse_fails(REC("{\"name\":\"a\"}"), HF_ESYNTAX, "t.R.a: field without \"type\"");
    parse_fails("[\"null\",\"null\"]", HF_ESYNTAX, "union has two branches of type null");
    parse_fails("[\"null\",[\"int\"]]", HF_ESYNTAX, "may not directly contain a union");
    parse_fails("[]", HF_ESYNTAX, "empty union");
    parse_fails(ENUM("\"A\",\"A\"", ""), HF_ESYNTAX, "symbol 'A' appears twice");
    parse_fails(ENUM("\"A\"", ",\"default\":\"B\""), HF_ESYNTAX,
                "default is not one of its symbols");
    parse_fails("{\"type\":\"fixed\",\"name\":\"F\"}", HF_ESYNTAX, "non-negative integer \"size\"");
    parse_fails("{\"type\":\"array\"}", HF_ESYNTAX, "array without \"items\"");
    parse_fails("{\"type\":\"record\",\"name\":\"int\",\"fields\":[]}", HF_ESYNTAX,
                "a primitive type name ('int') cannot name a record");
    parse_fails("[{\"type\":\"record\",\"name\":\"A\",\"fields\":[]},"
                "{\"type\":\"record\",\"name\":\"A\",\"fields\":[]}]",
                HF_ESYNTAX, "type name 'A' is defined twice");
    parse_fails("{\"type\":\"string\",\"type\":\"int\"}", HF_ESYNTAX, "not JSON");
    parse_fails("42", HF_ESYNTAX, "must be a string, an object or an array");
}

static void parse_checks_defaults_against_types(void **state) {
    (void)state;
    parse_fails(REC("{\"name\":\"a\",\"type\":\"int\",\"default\":\"x\"}"), HF_ESYNTAX,
                "t.R.a: default \"x\" is not a valid int");
    parse_fails(REC("{\"name\":\"a\",\"type\":\"int\",\"default\":3000000000}"), HF_ESYNTAX,
                "not a valid int");
    parse_fails(REC("{\"name\":\"a\",\"type\":[\"string\",\"null\"],\"default\":null}"), HF_ESYNTAX,
                "must match its first branch");
    parse_fails(REC("{\"name\":\"s\",\"type\":" ENUM("\"F\"", "") ",\"default\":\"Q\"}"),
                HF_ESYNTAX, "not a valid hl7.Sex");
    parse_fails(REC("{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F2\",\"size\":2},"
                    "\"default\":\"abc\"}"),
                HF_ESYNTAX, "not a valid t.F2");
    parse_fails(REC("{\"name\":\"r\",\"type\":{\"type\":\"record\",\"name\":\"In\",\"fields\":["
                    "{\"name\":\"x\",\"type\":\"int\"}]},\"default\":{}}"),
                HF_ESYNTAX, "t.R.r: default {} is not a valid t.In");
    /* valid defaults of every kind */
    hf_avro_schema *s = parse_ok(
        REC("{\"name\":\"n\",\"type\":\"null\",\"default\":null},"
            "{\"name\":\"b\",\"type\":\"boolean\",\"default\":true},"
            "{\"name\":\"l\",\"type\":\"long\",\"default\":3000000000},"
            "{\"name\":\"d\",\"type\":\"double\",\"default\":1},"
            "{\"name\":\"f\",\"type\":\"float\",\"default\":\"NaN\"},"
            "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"F2\",\"size\":2},\"default\":"
            "\"\\u00ff\\u0000\"},"
            "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"},\"default\":[1,2]},"
            "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"string\"},\"default\":{\"k\":"
            "\"v\"}},"
            "{\"name\":\"u\",\"type\":[\"string\",\"null\"],\"default\":\"s\"},"
            "{\"name\":\"r\",\"type\":{\"type\":\"record\",\"name\":\"In\",\"fields\":["
            "{\"name\":\"x\",\"type\":\"int\"},{\"name\":\"y\",\"type\":\"int\",\"default\":0}]},"
            "\"default\":{\"x\":1}}"));
    hf_avro_schema_free(s);
}

static void names_follow_namespace_rules(void **state) {
    (void)state;
    const char *s =
        "{\"type\":\"record\",\"name\":\"a.b.Top\",\"namespace\":\"ignored\",\"fields\":["
        "{\"name\":\"x\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}},"
        "{\"name\":\"y\",\"type\":{\"type\":\"fixed\",\"name\":\"Fx\",\"namespace\":\"other\","
        "\"size\":1}},{\"name\":\"z\",\"type\":\"a.b.E\"},{\"name\":\"w\",\"type\":\"other.Fx\"}]}";
    hf_avro_schema *p = parse_ok(s);
    assert_string_equal(hf_avro_schema_name(p), "a.b.Top");
    hf_avro_schema_free(p);
    /* Fx lives in "other", so a bare reference from a.b does not find it */
    parse_fails(
        "{\"type\":\"record\",\"name\":\"a.b.Top\",\"fields\":["
        "{\"name\":\"y\",\"type\":{\"type\":\"fixed\",\"name\":\"Fx\",\"namespace\":\"other\","
        "\"size\":1}},{\"name\":\"w\",\"type\":\"Fx\"}]}",
        HF_ESYNTAX, "a.b.Top.w: unknown type 'Fx'");
    hf_avro_schema *u = parse_ok("[\"null\",\"string\"]");
    assert_string_equal(hf_avro_schema_name(u), "union");
    hf_avro_schema_free(u);
}

static void nesting_is_bounded(void **state) {
    (void)state;
    char buf[4096] = "";
    for (int i = 0; i < 100; i++)
        strcat(buf, "{\"type\":\"array\",\"items\":");
    strcat(buf, "\"int\"");
    for (int i = 0; i < 100; i++)
        strcat(buf, "}");
    parse_fails(buf, HF_ELIMIT, "deeper than 64");
}

static void level_names_parse(void **state) {
    (void)state;
    hf_avro_level l;
    assert_true(hf_avro_level_parse("full", &l));
    assert_int_equal(l, HF_AVRO_FULL);
    assert_true(hf_avro_level_parse("BACKWARD", &l));
    assert_int_equal(l, HF_AVRO_BACKWARD);
    assert_true(hf_avro_level_parse("Forward", &l));
    assert_int_equal(l, HF_AVRO_FORWARD);
    assert_false(hf_avro_level_parse("FULL_TRANSITIVE", &l));
    assert_string_equal(hf_avro_level_str(HF_AVRO_FORWARD), "FORWARD");
}

static void load_names_the_file(void **state) {
    (void)state;
    char path[] = "/tmp/test_avro_compat_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"nope\"}]}",
          f);
    fclose(f);
    hf_avro_schema *s = NULL;
    hf_err err = {0};
    assert_int_equal(hf_avro_schema_load(path, &s, &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "R.a: unknown type 'nope'"));
    unlink(path);
    assert_int_equal(hf_avro_schema_load(path, &s, &err), HF_EIO);
    assert_null(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identical_primitives_read_each_other),
        cmocka_unit_test(numeric_promotions_only_widen),
        cmocka_unit_test(string_and_bytes_promote_both_ways),
        cmocka_unit_test(logical_types_resolve_by_underlying_type),
        cmocka_unit_test(record_added_field_with_default_is_full),
        cmocka_unit_test(record_added_field_without_default_is_forward_only),
        cmocka_unit_test(record_removed_field_without_default_is_backward_only),
        cmocka_unit_test(record_removed_field_with_default_is_full),
        cmocka_unit_test(record_field_widened_int_to_long_is_backward_only),
        cmocka_unit_test(record_field_type_change_names_field),
        cmocka_unit_test(record_names_must_match_unless_aliased),
        cmocka_unit_test(record_field_alias_finds_renamed_writer_field),
        cmocka_unit_test(record_writer_only_fields_are_ignored),
        cmocka_unit_test(enum_added_symbol_is_backward_only),
        cmocka_unit_test(enum_added_symbol_with_reader_default_is_full),
        cmocka_unit_test(enum_removed_symbol_is_forward_only),
        cmocka_unit_test(enum_names_must_match),
        cmocka_unit_test(fixed_needs_same_name_and_size),
        cmocka_unit_test(arrays_and_maps_resolve_their_items),
        cmocka_unit_test(union_writer_needs_every_branch_readable),
        cmocka_unit_test(union_reader_accepts_plain_writer),
        cmocka_unit_test(union_writer_to_plain_reader_needs_all_branches),
        cmocka_unit_test(making_a_field_optional_is_backward_only),
        cmocka_unit_test(recursive_records_terminate),
        cmocka_unit_test(named_type_reused_by_reference),
        cmocka_unit_test(parse_rejects_invalid_schemas),
        cmocka_unit_test(parse_checks_defaults_against_types),
        cmocka_unit_test(names_follow_namespace_rules),
        cmocka_unit_test(nesting_is_bounded),
        cmocka_unit_test(level_names_parse),
        cmocka_unit_test(load_names_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
