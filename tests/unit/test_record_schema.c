/* test_record_schema.c - the Avro schemas in schemas/avro against avro-c,
 * against the layout the direct encoder writes (hf_rec_schema_check), and
 * against the rules docs/topics.md promises: every field documented, every
 * optional field a null-first union defaulting to null, arrays defaulting
 * to [], time fields with their logical types, the staged schemas starting
 * with exactly the canonical fields, and every field path listed in
 * docs/topics.md. Run from the repository root (tests/run.sh does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hl7flow/record.h"

#define DIR "schemas/avro/"

static const struct {
    const char *topic;
    hf_rec_form form;
} TOPICS[] = {
    {"hl7.validated", HF_REC_VALIDATED}, {"hl7.enriched", HF_REC_STAGED},
    {"hl7.parsed.adt", HF_REC_STAGED},   {"hl7.parsed.orm", HF_REC_STAGED},
    {"hl7.parsed.oru", HF_REC_STAGED},   {"hl7.parsed.dft", HF_REC_STAGED},
    {"hl7.parsed.mdm", HF_REC_STAGED},   {"hl7.linked", HF_REC_STAGED},
};
#define NTOPICS (sizeof TOPICS / sizeof TOPICS[0])

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        if (len != NULL)
            *len = (size_t)n;
    }
    return buf;
}

static char *topic_text(const char *topic) {
    char path[256];
    snprintf(path, sizeof path, DIR "%s.avsc", topic);
    char *t = slurp(path, NULL);
    if (t == NULL)
        fail_msg("cannot read %s (run from the repository root)", path);
    return t;
}

static json_t *topic_json(const char *topic) {
    char *t = topic_text(topic);
    json_error_t je;
    json_t *j = json_loads(t, 0, &je);
    free(t);
    if (j == NULL)
        fail_msg("%s: not JSON: %s (line %d)", topic, je.text, je.line);
    return j;
}

static avro_schema_t parse_avro(const char *text) {
    avro_schema_t s = NULL;
    if (avro_schema_from_json_length(text, strlen(text), &s) != 0)
        fail_msg("avro-c refuses the schema: %s", avro_strerror());
    return s;
}

static void every_schema_file_parses_with_avro_c(void **state) {
    (void)state;
    for (size_t i = 0; i < NTOPICS; i++) {
        char *t = topic_text(TOPICS[i].topic);
        avro_schema_t s = parse_avro(t);
        assert_true(is_avro_record(s));
        assert_string_equal(avro_schema_namespace(s), "org.hl7flow");
        avro_schema_decref(s);
        free(t);
    }
}

static void layout_tables_match_every_schema(void **state) {
    (void)state;
    for (size_t i = 0; i < NTOPICS; i++) {
        char *t = topic_text(TOPICS[i].topic);
        avro_schema_t s = parse_avro(t);
        hf_err err = {0};
        if (hf_rec_schema_check(s, TOPICS[i].form, &err) != HF_OK)
            fail_msg("%s: %s", TOPICS[i].topic, err.msg);
        /* the other shape must not pass: field counts differ */
        hf_rec_form other = TOPICS[i].form == HF_REC_STAGED ? HF_REC_VALIDATED : HF_REC_STAGED;
        assert_int_equal(hf_rec_schema_check(s, other, &err), HF_ECONFIG);
        avro_schema_decref(s);
        free(t);
    }
}

/* Finds the field object named @p name in record @p rec (a JSON record
 * schema, or a union whose second branch is one). */
static json_t *field_of(json_t *rec, const char *name) {
    if (json_is_array(rec))
        rec = json_array_get(rec, 1);
    json_t *fields = json_object_get(rec, "fields"), *f;
    size_t i;
    json_array_foreach(fields, i, f) {
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
            return f;
    }
    return NULL;
}

/* Re-parses a modified validated schema and expects the check to name
 * @p what. */
static void expect_check_failure(json_t *j, const char *what) {
    char *text = json_dumps(j, JSON_COMPACT);
    avro_schema_t s = parse_avro(text);
    hf_err err = {0};
    assert_int_equal(hf_rec_schema_check(s, HF_REC_VALIDATED, &err), HF_ECONFIG);
    if (strstr(err.msg, what) == NULL)
        fail_msg("error '%s' does not name %s", err.msg, what);
    avro_schema_decref(s);
    free(text);
}

static void schema_check_names_a_renamed_field(void **state) {
    (void)state;
    json_t *j = topic_json("hl7.validated");
    json_t *patient = json_object_get(field_of(j, "patient"), "type");
    json_t *mrn = field_of(patient, "mrn");
    assert_non_null(mrn);
    json_object_set_new(mrn, "name", json_string("medical_record_number"));
    expect_check_failure(j, "medical_record_number");
    json_decref(j);
}

static void schema_check_names_a_changed_type(void **state) {
    (void)state;
    json_t *j = topic_json("hl7.validated");
    json_t *header = json_object_get(field_of(j, "header"), "type");
    json_t *cid = field_of(header, "control_id");
    json_object_set_new(cid, "type", json_string("string")); /* no longer nullable */
    json_object_del(cid, "default");
    expect_check_failure(j, "control_id");
    json_decref(j);
}

static void schema_check_names_a_new_field(void **state) {
    (void)state;
    json_t *j = topic_json("hl7.validated");
    json_t *f = json_pack("{s:s, s:[s,s], s:n, s:s}", "name", "extra", "type", "null", "string",
                          "default", "doc", "a field the encoder does not write");
    json_array_append_new(json_object_get(j, "fields"), f);
    expect_check_failure(j, "fields");
    json_decref(j);
}

static void staged_schemas_start_with_the_canonical_fields(void **state) {
    (void)state;
    json_t *canon = topic_json("hl7.validated");
    json_t *cf = json_object_get(canon, "fields");
    for (size_t i = 1; i < NTOPICS; i++) {
        json_t *j = topic_json(TOPICS[i].topic);
        json_t *fields = json_object_get(j, "fields");
        assert_true(json_array_size(fields) > json_array_size(cf));
        for (size_t k = 0; k < json_array_size(cf); k++)
            if (!json_equal(json_array_get(cf, k), json_array_get(fields, k)))
                fail_msg("%s: field %zu differs from hl7.validated's", TOPICS[i].topic, k);
        /* and the stage fields are the same in every staged schema */
        json_t *first = topic_json(TOPICS[1].topic);
        json_t *ff = json_object_get(first, "fields");
        assert_int_equal(json_array_size(ff), json_array_size(fields));
        for (size_t k = json_array_size(cf); k < json_array_size(fields); k++)
            assert_true(json_equal(json_array_get(ff, k), json_array_get(fields, k)));
        json_decref(first);
        json_decref(j);
    }
    json_decref(canon);
}

/* Fields that may have no default: present in every record since the first
 * version (removing them would break FULL compatibility; docs/topics.md). */
static const char *const REQUIRED[] = {"source_system", "facility_id", "ingest_ts", "header",
                                       "segment_occurrence", "id", "occurrence"};

static int is_required(const char *name) {
    for (size_t i = 0; i < sizeof REQUIRED / sizeof REQUIRED[0]; i++)
        if (strcmp(name, REQUIRED[i]) == 0)
            return 1;
    return 0;
}

typedef struct walk {
    const char *topic;
    char paths[2048][96]; /* field paths seen */
    size_t npaths;
} walk;

static void walk_record(walk *w, json_t *rec, const char *prefix);

static void walk_type(walk *w, json_t *t, const char *path) {
    if (json_is_array(t)) {
        for (size_t i = 0; i < json_array_size(t); i++)
            walk_type(w, json_array_get(t, i), path);
    } else if (json_is_object(t)) {
        const char *type = json_string_value(json_object_get(t, "type"));
        if (strcmp(type, "record") == 0) {
            walk_record(w, t, path);
        } else if (strcmp(type, "array") == 0) {
            char p[96];
            snprintf(p, sizeof p, "%s[]", path);
            walk_type(w, json_object_get(t, "items"), p);
        }
    } else if (json_is_string(t) && strcmp(json_string_value(t), "null") != 0) {
        /* a named type defined earlier: walk it where it was defined */
    }
}

static void check_field(walk *w, json_t *f, const char *path) {
    const char *name = json_string_value(json_object_get(f, "name"));
    json_t *type = json_object_get(f, "type"), *def = json_object_get(f, "default");
    const char *doc = json_string_value(json_object_get(f, "doc"));
    if (doc == NULL || strlen(doc) < 8)
        fail_msg("%s: %s has no doc", w->topic, path);
    if (json_is_array(type)) {
        if (!json_is_string(json_array_get(type, 0)) ||
            strcmp(json_string_value(json_array_get(type, 0)), "null") != 0 ||
            json_array_size(type) != 2)
            fail_msg("%s: %s is a union that is not [\"null\", X]", w->topic, path);
        if (def == NULL || !json_is_null(def))
            fail_msg("%s: %s has no null default", w->topic, path);
    } else if (json_is_object(type) &&
               strcmp(json_string_value(json_object_get(type, "type")), "array") == 0) {
        if (def == NULL || !json_is_array(def) || json_array_size(def) != 0)
            fail_msg("%s: array %s has no [] default", w->topic, path);
    } else if (json_is_object(type) &&
               strcmp(json_string_value(json_object_get(type, "type")), "map") == 0) {
        if (def == NULL || !json_is_object(def) || json_object_size(def) != 0)
            fail_msg("%s: map %s has no {} default", w->topic, path);
    } else if (!is_required(name)) {
        fail_msg("%s: %s has neither a union with null nor a default", w->topic, path);
    }
    /* logical types of the time fields */
    size_t n = strlen(name);
    json_t *branch = json_is_array(type) ? json_array_get(type, 1) : type;
    const char *lt = json_string_value(json_object_get(branch, "logicalType"));
    if ((n > 3 && strcmp(name + n - 3, "_ts") == 0) || strcmp(name, "ingest_ts") == 0) {
        if (lt == NULL || strcmp(lt, "timestamp-micros") != 0 ||
            strcmp(json_string_value(json_object_get(branch, "type")), "long") != 0)
            fail_msg("%s: %s is not a timestamp-micros long", w->topic, path);
    } else if (strcmp(name, "birth_date") == 0) {
        if (lt == NULL || strcmp(lt, "date") != 0)
            fail_msg("%s: %s is not a date", w->topic, path);
    } else if (lt != NULL) {
        fail_msg("%s: %s has an unexpected logical type %s", w->topic, path, lt);
    }
}

static void walk_record(walk *w, json_t *rec, const char *prefix) {
    json_t *fields = json_object_get(rec, "fields"), *f;
    size_t i;
    json_array_foreach(fields, i, f) {
        char path[96];
        const char *name = json_string_value(json_object_get(f, "name"));
        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", name);
        check_field(w, f, path);
        if (w->npaths < sizeof w->paths / sizeof w->paths[0])
            snprintf(w->paths[w->npaths++], sizeof w->paths[0], "%s", path);
        walk_type(w, json_object_get(f, "type"), path);
    }
}

static void every_field_is_documented_and_evolvable(void **state) {
    (void)state;
    for (size_t i = 0; i < NTOPICS; i++) {
        walk *w = calloc(1, sizeof *w);
        assert_non_null(w);
        w->topic = TOPICS[i].topic;
        json_t *j = topic_json(TOPICS[i].topic);
        assert_non_null(json_string_value(json_object_get(j, "doc")));
        walk_record(w, j, "");
        assert_true(w->npaths > 100);
        json_decref(j);
        free(w);
    }
}

/* The HL7 data types used in many places (docs/topics.md documents their
 * fields once, as `Type.field`, and every use by its path). */
static const char *const SHARED[] = {"Coded",      "HierarchicDesignator", "EntityIdentifier",
                                     "Identifier", "PersonName",           "Provider",
                                     "Address",    "Telecom",              "Location"};

static int is_shared(const char *name) {
    for (size_t i = 0; i < sizeof SHARED / sizeof SHARED[0]; i++)
        if (strcmp(name, SHARED[i]) == 0)
            return 1;
    return 0;
}

static void add_path(walk *w, const char *p) {
    if (w->npaths < sizeof w->paths / sizeof w->paths[0])
        snprintf(w->paths[w->npaths++], sizeof w->paths[0], "%s", p);
}

/* The paths docs/topics.md must list: every field of the blocks, with named
 * types referenced by name expanded, down to the shared types, whose fields
 * are listed as `Type.field`. */
static void expand_paths(json_t *t, json_t *defs, const char *path, walk *w) {
    if (json_is_array(t)) {
        for (size_t i = 0; i < json_array_size(t); i++)
            expand_paths(json_array_get(t, i), defs, path, w);
        return;
    }
    if (json_is_string(t)) {
        json_t *d = json_object_get(defs, json_string_value(t));
        if (d != NULL)
            expand_paths(d, defs, path, w);
        return;
    }
    const char *type = json_string_value(json_object_get(t, "type"));
    if (strcmp(type, "array") == 0) {
        char p[96];
        snprintf(p, sizeof p, "%s[]", path);
        expand_paths(json_object_get(t, "items"), defs, p, w);
    } else if (strcmp(type, "record") == 0) {
        const char *name = json_string_value(json_object_get(t, "name"));
        int first = json_object_get(defs, name) == NULL;
        json_object_set(defs, name, t);
        if (is_shared(name) && path[0] != '\0') {
            if (first) /* its fields, once */
                expand_paths(t, defs, "", w);
            return;
        }
        json_t *f;
        size_t i;
        json_array_foreach(json_object_get(t, "fields"), i, f) {
            char p[96];
            snprintf(p, sizeof p, "%s%s%s", path[0] ? path : (is_shared(name) ? name : ""),
                     path[0] || is_shared(name) ? "." : "",
                     json_string_value(json_object_get(f, "name")));
            add_path(w, p);
            expand_paths(json_object_get(f, "type"), defs, p, w);
        }
    }
}

static void docs_topics_lists_every_field(void **state) {
    (void)state;
    char *doc = slurp("docs/topics.md", NULL);
    if (doc == NULL)
        fail_msg("cannot read docs/topics.md");
    json_t *j = topic_json("hl7.linked"); /* canonical + stage fields */
    json_t *defs = json_object();
    walk *w = calloc(1, sizeof *w);
    assert_non_null(w);
    expand_paths(j, defs, "", w);
    assert_true(w->npaths > 250);
    size_t missing = 0;
    for (size_t i = 0; i < w->npaths; i++) {
        char needle[112];
        snprintf(needle, sizeof needle, "`%s`", w->paths[i]);
        if (strstr(doc, needle) == NULL) {
            if (missing++ < 10)
                print_error("docs/topics.md lacks %s\n", needle);
        }
    }
    assert_int_equal(missing, 0);
    free(w);
    json_decref(defs);
    json_decref(j);
    free(doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_schema_file_parses_with_avro_c),
        cmocka_unit_test(layout_tables_match_every_schema),
        cmocka_unit_test(schema_check_names_a_renamed_field),
        cmocka_unit_test(schema_check_names_a_changed_type),
        cmocka_unit_test(schema_check_names_a_new_field),
        cmocka_unit_test(staged_schemas_start_with_the_canonical_fields),
        cmocka_unit_test(every_field_is_documented_and_evolvable),
        cmocka_unit_test(docs_topics_lists_every_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
