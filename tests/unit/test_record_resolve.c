/* test_record_resolve.c - reading records written with another version of
 * a schema (hf_rec_plan_new, hf_rec_decode_resolved, and the record reader
 * through the file: registry).
 *
 * The "other version" is made from schemas/avro/hl7.enriched.avsc the way
 * real versions differ: the enrichment fields this build added are gone
 * (an older writer), a header field sits elsewhere (fields are matched by
 * name), and the writer has a field of every Avro type this build does not
 * know (a newer writer: skipped). Records are written with that schema by
 * avro-c (hf_rec_to_avro, then copied by field name into the other
 * version's generic value), read back through a plan and compared with the
 * source record minus what the writer lacked. Run from the repository root.
 * Synthetic data only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hl7flow/gen.h"
#include "hl7flow/hl7.h"
#include "hl7flow/record.h"

#define COUNT 200

static json_t *field_named(json_t *fields, const char *name, size_t *at) {
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0) {
            if (at != NULL)
                *at = i;
            return f;
        }
    }
    return NULL;
}

/* The other version of hl7.enriched (see the file comment); @p broken
 * changes header.control_id to an int (not resolvable). */
static avro_schema_t other_version(bool broken) {
    json_error_t je;
    json_t *s = json_load_file("schemas/avro/hl7.enriched.avsc", 0, &je);
    if (s == NULL)
        fail_msg("schemas/avro/hl7.enriched.avsc: %s (run from the repository root)", je.text);
    json_t *top = json_object_get(s, "fields");
    json_t *enr = field_named(top, "enrichment", NULL);
    json_t *enr_fields = json_object_get(json_array_get(json_object_get(enr, "type"), 1), "fields");
    static const char *const NEWER[] = {"codes", "patient_family_name", "patient_given_name",
                                        "patient_middle_name"};
    for (size_t k = 0; k < 4; k++) {
        size_t at;
        assert_non_null(field_named(enr_fields, NEWER[k], &at));
        json_array_remove(enr_fields, at);
    }
    json_t *hdr_fields = json_object_get(json_object_get(field_named(top, "header", NULL), "type"),
                                         "fields");
    size_t at;
    json_t *cid = json_incref(field_named(hdr_fields, "control_id", &at));
    json_array_remove(hdr_fields, at);
    if (broken)
        json_object_set_new(cid, "type", json_string("int"));
    json_array_append_new(hdr_fields, cid); /* moved to the end */
    json_t *legacy = json_pack(
        "{s:s, s:{s:s, s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}, "
        "{s:s, s:{s:s, s:s, s:[s, s]}}, {s:s, s:{s:s, s:s, s:i}}, {s:s, s:[s, s, s]}, "
        "{s:s, s:s}, {s:s, s:s}]}}",
        "name", "legacy", "type", "type", "record", "name", "Legacy", "fields",
        "name", "a", "type", "type", "array", "items", "long",
        "name", "m", "type", "type", "map", "values", "double",
        "name", "e", "type", "type", "enum", "name", "E", "symbols", "X", "Y",
        "name", "f", "type", "type", "fixed", "name", "F", "size", 3,
        "name", "u", "type", "null", "string", "float",
        "name", "b", "type", "boolean",
        "name", "y", "type", "bytes");
    assert_non_null(legacy);
    json_array_insert_new(top, 5, legacy); /* between canonical fields */
    char *text = json_dumps(s, JSON_COMPACT);
    json_decref(s);
    avro_schema_t out = NULL;
    if (avro_schema_from_json_length(text, strlen(text), &out) != 0)
        fail_msg("other version: %s", avro_strerror());
    free(text);
    return out;
}

/* Copies @p src into @p dst by field name where the schemas differ. */
static void copy_value(avro_value_t *src, avro_value_t *dst) {
    size_t n = 0;
    switch (avro_value_get_type(dst)) {
    case AVRO_RECORD:
        avro_value_get_size(dst, &n);
        for (size_t i = 0; i < n; i++) {
            avro_value_t df, sf;
            const char *name = NULL;
            assert_int_equal(avro_value_get_by_index(dst, i, &df, &name), 0);
            if (avro_value_get_by_name(src, name, &sf, NULL) == 0)
                copy_value(&sf, &df);
        }
        break;
    case AVRO_UNION: {
        int disc;
        avro_value_t sb, db;
        assert_int_equal(avro_value_get_discriminant(src, &disc), 0);
        assert_int_equal(avro_value_get_current_branch(src, &sb), 0);
        assert_int_equal(avro_value_set_branch(dst, disc, &db), 0);
        copy_value(&sb, &db);
        break;
    }
    case AVRO_ARRAY:
    case AVRO_MAP:
        avro_value_get_size(src, &n);
        for (size_t i = 0; i < n; i++) {
            avro_value_t si, di;
            const char *key = NULL;
            assert_int_equal(avro_value_get_by_index(src, i, &si, &key), 0);
            if (avro_value_get_type(dst) == AVRO_MAP)
                assert_int_equal(avro_value_add(dst, key, &di, NULL, NULL), 0);
            else
                assert_int_equal(avro_value_append(dst, &di, NULL), 0);
            copy_value(&si, &di);
        }
        break;
    case AVRO_STRING: {
        const char *p;
        size_t len;
        assert_int_equal(avro_value_get_string(src, &p, &len), 0);
        assert_int_equal(avro_value_set_string_len(dst, p, len), 0);
        break;
    }
    case AVRO_BYTES: {
        const void *p;
        size_t len;
        assert_int_equal(avro_value_get_bytes(src, &p, &len), 0);
        assert_int_equal(avro_value_set_bytes(dst, (void *)p, len), 0);
        break;
    }
    case AVRO_INT32: {
        int32_t v;
        assert_int_equal(avro_value_get_int(src, &v), 0);
        assert_int_equal(avro_value_set_int(dst, v), 0);
        break;
    }
    case AVRO_INT64: {
        int64_t v;
        assert_int_equal(avro_value_get_long(src, &v), 0);
        assert_int_equal(avro_value_set_long(dst, v), 0);
        break;
    }
    case AVRO_DOUBLE: {
        double v;
        assert_int_equal(avro_value_get_double(src, &v), 0);
        assert_int_equal(avro_value_set_double(dst, v), 0);
        break;
    }
    case AVRO_BOOLEAN: {
        int v;
        assert_int_equal(avro_value_get_boolean(src, &v), 0);
        assert_int_equal(avro_value_set_boolean(dst, v), 0);
        break;
    }
    case AVRO_NULL:
        break;
    default:
        fail_msg("unexpected type in the copy");
    }
}

/* Fills the writer-only field with a value of every kind. */
static void fill_legacy(avro_value_t *rec, int i) {
    avro_value_t l, f, item, br;
    assert_int_equal(avro_value_get_by_name(rec, "legacy", &l, NULL), 0);
    avro_value_get_by_name(&l, "a", &f, NULL);
    for (int k = 0; k < i % 4; k++) {
        avro_value_append(&f, &item, NULL);
        avro_value_set_long(&item, (int64_t)k * 1000003);
    }
    avro_value_get_by_name(&l, "m", &f, NULL);
    avro_value_add(&f, "k", &item, NULL, NULL);
    avro_value_set_double(&item, 2.5);
    avro_value_get_by_name(&l, "e", &f, NULL);
    avro_value_set_enum(&f, i % 2);
    avro_value_get_by_name(&l, "f", &f, NULL);
    avro_value_set_fixed(&f, (void *)"abc", 3);
    avro_value_get_by_name(&l, "u", &f, NULL);
    if (i % 3 == 0) {
        avro_value_set_branch(&f, 0, &br);
        avro_value_set_null(&br);
    } else if (i % 3 == 1) {
        avro_value_set_branch(&f, 1, &br);
        avro_value_set_string(&br, "legacy text");
    } else {
        avro_value_set_branch(&f, 2, &br);
        avro_value_set_float(&br, 1.5f);
    }
    avro_value_get_by_name(&l, "b", &f, NULL);
    avro_value_set_boolean(&f, i & 1);
    avro_value_get_by_name(&l, "y", &f, NULL);
    avro_value_set_bytes(&f, (void *)"\x00\x01\x02", 3);
}

static void older_and_newer_writers_are_read_by_name(void **state) {
    (void)state;
    json_error_t je;
    json_t *cur = json_load_file("schemas/avro/hl7.enriched.avsc", 0, &je);
    assert_non_null(cur);
    char *cur_text = json_dumps(cur, JSON_COMPACT);
    json_decref(cur);
    avro_schema_t now = NULL, other = other_version(false);
    assert_int_equal(avro_schema_from_json_length(cur_text, strlen(cur_text), &now), 0);
    free(cur_text);
    hf_rec_plan *plan = NULL;
    hf_err err = {0};
    assert_int_equal(hf_rec_plan_new(other, HF_REC_STAGED, &plan, &err), HF_OK);
    avro_value_iface_t *now_iface = avro_generic_class_from_schema(now);
    avro_value_iface_t *other_iface = avro_generic_class_from_schema(other);
    avro_value_t vnow, vother;
    assert_int_equal(avro_generic_value_new(now_iface, &vnow), 0);
    assert_int_equal(avro_generic_value_new(other_iface, &vother), 0);

    hf_gen_opts o;
    hf_gen_opts_default(&o);
    o.seed = 31;
    hf_gen *g = NULL;
    assert_int_equal(hf_gen_new(&o, &g, NULL), HF_OK);
    hf_hl7_msg *msg = hf_hl7_msg_new();
    hf_rec_ctx *built = hf_rec_ctx_new(), *read = hf_rec_ctx_new();
    size_t cap = 1 << 20, done = 0;
    char *buf = malloc(cap);
    for (int i = 0; i < COUNT; i++) {
        hf_gen_msg gm;
        assert_int_equal(hf_gen_next(g, &gm), HF_OK);
        if (hf_hl7_parse_into(msg, (hf_span){gm.data, gm.len}, &hf_hl7_limits_default, NULL) !=
            HF_OK)
            continue;
        hf_rec *rec = NULL;
        assert_int_equal(hf_rec_build(built, msg, NULL, &rec, NULL), HF_OK);
        hf_rec_enrichment en = {.facility_known = {true, true}, .patient_sex = {"male", 4},
                                .patient_family_name = {"DOE", 3}};
        hf_rec_code_mapping cm = {.field = {"observations[0].identifier", 26}, .code = {"1-8", 3}};
        en.codes.v = &cm;
        en.codes.n = 1;
        rec->enrichment = &en;
        rec->mrn_hash = (hf_span){"abc", 3};
        avro_value_reset(&vnow);
        avro_value_reset(&vother);
        assert_int_equal(hf_rec_to_avro(rec, HF_REC_STAGED, &vnow, &err), HF_OK);
        copy_value(&vnow, &vother);
        fill_legacy(&vother, i);
        avro_writer_t w = avro_writer_memory(buf, (int64_t)cap);
        assert_int_equal(avro_value_write(w, &vother), 0);
        size_t len = (size_t)avro_writer_tell(w);
        avro_writer_free(w);

        hf_rec *back = NULL;
        assert_int_equal(hf_rec_decode_resolved(read, buf, len, plan, &back, &err), HF_OK);
        assert_null(back->source.avro);
        /* what the older writer lacked comes back as the default */
        assert_non_null(back->enrichment);
        assert_int_equal(back->enrichment->codes.n, 0);
        assert_int_equal(back->enrichment->patient_family_name.len, 0);
        en.codes.n = 0;
        en.patient_family_name = (hf_span){NULL, 0};
        assert_true(hf_rec_equal(back, rec, HF_REC_STAGED));
        /* truncated input is an error, never a crash */
        for (size_t cut = 0; cut < len; cut += len / 7 + 1) {
            hf_rec *t = NULL;
            assert_int_not_equal(hf_rec_decode_resolved(read, buf, cut, plan, &t, NULL), HF_OK);
        }
        done++;
    }
    assert_true(done > COUNT * 9 / 10);
    free(buf);
    hf_rec_ctx_destroy(built);
    hf_rec_ctx_destroy(read);
    hf_hl7_msg_destroy(msg);
    hf_gen_destroy(g);
    avro_value_decref(&vnow);
    avro_value_decref(&vother);
    avro_value_iface_decref(now_iface);
    avro_value_iface_decref(other_iface);
    avro_schema_decref(now);
    avro_schema_decref(other);
    hf_rec_plan_free(plan);
}

static void a_changed_type_is_refused_with_its_field(void **state) {
    (void)state;
    avro_schema_t broken = other_version(true);
    hf_rec_plan *plan = NULL;
    hf_err err = {0};
    assert_int_equal(hf_rec_plan_new(broken, HF_REC_STAGED, &plan, &err), HF_ECONFIG);
    assert_null(plan);
    assert_non_null(strstr(err.msg, "header.control_id"));
    avro_schema_decref(broken);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(older_and_newer_writers_are_read_by_name),
        cmocka_unit_test(a_changed_type_is_refused_with_its_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
