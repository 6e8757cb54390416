/* test_osdoc.c - the OpenSearch sink's pure logic: record -> documents
 * (kinds, indices by event month, deterministic ids, fields declared in
 * the templates), the _bulk body and the classification of answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hl7flow/hl7.h"
#include "hl7flow/osbulk.h"
#include "hl7flow/osdoc.h"
#include "hl7flow/record.h"

typedef struct fix {
    hf_hl7_msg *msg;
    hf_rec_ctx *ctx;
    hf_rec *rec;
    hf_os_docs docs;
    char text[4096];
} fix;

static void build(fix *f, const char *msg) {
    size_t n = strlen(msg);
    assert_true(n < sizeof f->text);
    for (size_t i = 0; i <= n; i++)
        f->text[i] = msg[i] == '\n' ? '\r' : msg[i];
    hf_hl7_msg_destroy(f->msg);
    f->msg = NULL;
    assert_int_equal(hf_hl7_parse((hf_span){f->text, n}, NULL, &f->msg, NULL), HF_OK);
    /* ingest 2023-11-14T22:13:20Z */
    hf_rec_meta meta = {{"EPIC", 4}, {"HOSP_A", 6}, 1700000000000000LL};
    assert_int_equal(hf_rec_build(f->ctx, f->msg, &meta, &f->rec, NULL), HF_OK);
}

static int setup(void **state) {
    static fix f;
    memset(&f, 0, sizeof f);
    f.ctx = hf_rec_ctx_new();
    *state = &f;
    return f.ctx ? 0 : -1;
}

static int teardown(void **state) {
    fix *f = *state;
    hf_hl7_msg_destroy(f->msg);
    hf_rec_ctx_destroy(f->ctx);
    hf_os_docs_free(&f->docs);
    return 0;
}

static json_t *source_of(const hf_os_doc *d) {
    json_t *j = json_loadb(d->source, d->source_len, 0, NULL);
    assert_non_null(j);
    return j;
}

static const char *str_of(json_t *j, const char *k) {
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "<absent>";
}

/* Every key of @p d is declared in its kind's field table (with a type
 * that fits the JSON value). */
static void assert_fields_declared(const hf_os_doc *d) {
    size_t n = 0;
    const hf_os_field *fields = hf_osdoc_fields(d->kind, &n);
    json_t *j = source_of(d);
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        const hf_os_field *f = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(fields[i].name, k) == 0)
                f = &fields[i];
        if (f == NULL)
            fail_msg("field %s of a %s document is not in the template", k,
                     hf_osdoc_kind_name(d->kind));
        if (strcmp(f->type, "integer") == 0)
            assert_true(json_is_integer(v));
        else if (strcmp(f->type, "double") == 0)
            assert_true(json_is_number(v));
        else
            assert_true(json_is_string(v) || json_is_array(v));
    }
    json_decref(j);
}

static const char ORU[] =
    "MSH|^~\\&|LAB|HOSP_A|HL7FLOW|HOSP_A|20261101100000+0000||ORU^R01^ORU_R01|CTRL9|P|2.5.1\n"
    "PID|1||MRN1^^^HOSP_A^MR||DOE^JANE||19800229|F\n"
    "OBR|1|PL1|FL1|2345-7^Glucose^LN\n"
    "OBX|1|NM|2345-7^Glucose^LN||95|mg/dL|70-99|N|||F|||20261031233000+0000\n"
    "OBX|2|ST|8251-1^Comment^LN||see \\F\\ note||||||F\n";

static void oru_gives_one_lab_document_per_obx(void **state) {
    fix *f = *state;
    build(f, ORU);
    hf_os_docs_clear(&f->docs);
    assert_int_equal(hf_osdoc_add(&f->docs, f->rec, NULL, "", 7, NULL), HF_OK);
    assert_int_equal(f->docs.n, 2);
    const hf_os_doc *a = &f->docs.v[0], *b = &f->docs.v[1];
    assert_int_equal(a->kind, HF_OS_LAB);
    assert_int_equal(a->tag, 7);
    /* OBX-14 is in October (UTC); the second OBX has none: MSH-7's month. */
    assert_string_equal(a->index, "lab-results-2026.10");
    assert_string_equal(b->index, "lab-results-2026.11");
    assert_string_equal(a->id, "EPIC|HOSP_A|CTRL9|obx1");
    assert_string_equal(b->id, "EPIC|HOSP_A|CTRL9|obx2");
    json_t *j = source_of(a);
    assert_string_equal(str_of(j, "code"), "2345-7");
    assert_string_equal(str_of(j, "units"), "mg/dL");
    assert_string_equal(str_of(j, "order_placer_number"), "PL1");
    assert_string_equal(str_of(j, "observation_time"), "2026-10-31T23:30:00.000Z");
    assert_string_equal(str_of(j, "event_time"), "2026-10-31T23:30:00.000Z");
    assert_string_equal(str_of(j, "mrn"), "MRN1");
    assert_true(json_real_value(json_object_get(j, "value_numeric")) == 95.0);
    /* No names or birth dates in documents. */
    assert_null(strstr(a->source, "DOE"));
    assert_null(strstr(a->source, "1980"));
    json_decref(j);
    j = source_of(b);
    assert_string_equal(str_of(j, "value"), "see | note"); /* unescaped */
    json_decref(j);
    assert_fields_declared(a);
    assert_fields_declared(b);
}

static const char MDM[] =
    "MSH|^~\\&|EPIC|HOSP_A|HL7FLOW|HOSP_A|20261101100000+0000||MDM^T02^MDM_T02|CTRLN|P|2.5.1\n"
    "EVN|T02|20261101100000\n"
    "PID|1||MRN1^^^HOSP_A^MR||DOE^JANE||19800229|F\n"
    "TXA|1|DS^Discharge summary|TX|20260115083000+0000|1234^DOC^A|||||||DOC77||||AU\n"
    "OBX|1|TX|DS^Discharge summary||Patient stable.\n"
    "OBX|2|TX|DS^Discharge summary||Follow up in 2 weeks.\n";

static void mdm_gives_one_note_with_its_text_and_no_lab_results(void **state) {
    fix *f = *state;
    build(f, MDM);
    hf_os_docs_clear(&f->docs);
    assert_int_equal(hf_osdoc_add(&f->docs, f->rec, NULL, "prod-", 0, NULL), HF_OK);
    assert_int_equal(f->docs.n, 1);
    const hf_os_doc *d = &f->docs.v[0];
    assert_int_equal(d->kind, HF_OS_NOTE);
    assert_string_equal(d->index, "prod-clinical-notes-2026.01"); /* TXA-4, not MSH-7 */
    assert_string_equal(d->id, "EPIC|HOSP_A|CTRLN");
    json_t *j = source_of(d);
    assert_string_equal(str_of(j, "note_text"), "Patient stable.\nFollow up in 2 weeks.");
    assert_string_equal(str_of(j, "document_number"), "DOC77");
    assert_string_equal(str_of(j, "document_type_code"), "DS");
    assert_string_equal(str_of(j, "doc_kind"), "clinical-notes");
    json_decref(j);
    assert_fields_declared(d);
}

static const char ADT[] =
    "MSH|^~\\&|EPIC|HOSP_A|HL7FLOW|HOSP_A|20261101120000||ADT^A03^ADT_A03|CTRL3|P|2.5.1\n"
    "EVN|A03|20261101120000+0000||||20251231235959+0000\n"
    "PID|1||MRN1^^^HOSP_A^MR||DOE^JANE^Q||19800229|F\n"
    "PV1|1|I|W1^101^A||||1234^DOC^A|||MED|||||||||V77\n";

static void adt_gives_an_event_in_the_month_of_evn6(void **state) {
    fix *f = *state;
    build(f, ADT);
    hf_os_docs_clear(&f->docs);
    assert_int_equal(hf_osdoc_add(&f->docs, f->rec, NULL, NULL, 0, NULL), HF_OK);
    assert_int_equal(f->docs.n, 1);
    const hf_os_doc *d = &f->docs.v[0];
    assert_int_equal(d->kind, HF_OS_ADT);
    assert_string_equal(d->index, "adt-events-2025.12"); /* EVN-6 occurred, UTC */
    json_t *j = source_of(d);
    assert_string_equal(str_of(j, "event_type"), "A03");
    assert_string_equal(str_of(j, "visit_number"), "V77");
    assert_string_equal(str_of(j, "location_room"), "101");
    assert_string_equal(str_of(j, "ingest_time"), "2023-11-14T22:13:20.000Z");
    json_decref(j);
    assert_fields_declared(d);
}

static void same_record_gives_same_documents(void **state) {
    fix *f = *state;
    build(f, ORU);
    hf_os_docs_clear(&f->docs);
    assert_int_equal(hf_osdoc_add(&f->docs, f->rec, NULL, "", 0, NULL), HF_OK);
    build(f, ORU);
    assert_int_equal(hf_osdoc_add(&f->docs, f->rec, NULL, "", 0, NULL), HF_OK);
    assert_int_equal(f->docs.n, 4);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(f->docs.v[i].id, f->docs.v[i + 2].id);
        assert_string_equal(f->docs.v[i].index, f->docs.v[i + 2].index);
        assert_string_equal(f->docs.v[i].source, f->docs.v[i + 2].source);
    }
}

static void orm_without_obx_gives_no_document(void **state) {
    fix *f = *state;
    build(f, "MSH|^~\\&|EPIC|HOSP_A|X|HOSP_A|20261101120000||ORM^O01^ORM_O01|CTRLO|P|2.5.1\n"
             "PID|1||MRN1^^^HOSP_A^MR\nORC|NW|PL1\nOBR|1|PL1||2345-7^Glucose^LN\n");
    hf_os_docs_clear(&f->docs);
    assert_int_equal(hf_osdoc_add(&f->docs, f->rec, NULL, "", 0, NULL), HF_OK);
    assert_int_equal(f->docs.n, 0);
}

static void no_control_id_uses_kafka_position_and_long_ids_are_hashed(void **state) {
    fix *f = *state;
    build(f, "MSH|^~\\&|EPIC|HOSP_A|X|HOSP_A|20261101120000||ADT^A08^ADT_A01||P|2.5.1\n"
             "PID|1||MRN1^^^HOSP_A^MR\n");
    hf_os_docs_clear(&f->docs);
    hf_os_origin o = {"hl7.parsed.adt", 3, 42};
    assert_int_equal(hf_osdoc_add(&f->docs, f->rec, &o, "", 0, NULL), HF_OK);
    assert_int_equal(f->docs.n, 1);
    assert_string_equal(f->docs.v[0].id, "kafka|hl7.parsed.adt|3|42");
    /* A 600-byte control id: over OpenSearch's 512-byte limit. */
    static char big[1200];
    char ctrl[601];
    memset(ctrl, 'C', 600);
    ctrl[600] = '\0';
    snprintf(big, sizeof big,
             "MSH|^~\\&|EPIC|HOSP_A|X|HOSP_A|20261101120000||ADT^A08^ADT_A01|%s|P|2.5.1\n", ctrl);
    build(f, big);
    hf_os_docs_clear(&f->docs);
    assert_int_equal(hf_osdoc_add(&f->docs, f->rec, NULL, "", 0, NULL), HF_OK);
    assert_int_equal(strncmp(f->docs.v[0].id, "sha256:", 7), 0);
    assert_int_equal(strlen(f->docs.v[0].id), 7 + 64);
}

static void month_is_utc_and_handles_negative_times(void **state) {
    (void)state;
    char b[16];
    assert_true(hf_osdoc_month(0, b, sizeof b));
    assert_string_equal(b, "1970.01");
    assert_true(hf_osdoc_month(-1, b, sizeof b)); /* 1969-12-31T23:59:59.999999 */
    assert_string_equal(b, "1969.12");
    assert_true(hf_osdoc_month(1798761599999999LL, b, sizeof b)); /* 2026-12-31T23:59:59Z */
    assert_string_equal(b, "2026.12");
}

static void bulk_body_is_ndjson_with_escaped_ids(void **state) {
    (void)state;
    char src[] = "{\"a\":1}";
    hf_os_doc d = {HF_OS_LAB, 0, "lab-results-2026.11", "EP\"IC|H\\A|C1", src, strlen(src)};
    hf_os_buf b = {0};
    assert_int_equal(hf_osbulk_append(&b, &d), HF_OK);
    assert_int_equal(hf_osbulk_append(&b, &d), HF_OK);
    const char *line =
        "{\"index\":{\"_index\":\"lab-results-2026.11\",\"_id\":\"EP\\\"IC|H\\\\A|C1\"}}\n"
        "{\"a\":1}\n";
    assert_int_equal(b.len, 2 * strlen(line));
    assert_int_equal(b.len, 2 * hf_osbulk_doc_bytes(&d));
    assert_memory_equal(b.p, line, strlen(line));
    assert_int_equal(b.p[b.len - 1], '\n');
    /* The action line is JSON that names the id as given. */
    json_t *j = json_loadb(b.p, strchr(b.p, '\n') - b.p, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "index"), "_id")),
                        d.id);
    json_decref(j);
    free(b.p);
}

static void bulk_answer_items_are_classified(void **state) {
    (void)state;
    const char *ans =
        "{\"took\":3,\"errors\":true,\"items\":["
        "{\"index\":{\"_index\":\"x\",\"_id\":\"1\",\"status\":201,\"result\":\"created\"}},"
        "{\"index\":{\"_index\":\"x\",\"_id\":\"2\",\"status\":200,\"result\":\"updated\"}},"
        "{\"index\":{\"_index\":\"x\",\"_id\":\"3\",\"status\":429,\"error\":{\"type\":"
        "\"rejected_execution_exception\",\"reason\":\"queue full\"}}},"
        "{\"index\":{\"_index\":\"x\",\"_id\":\"4\",\"status\":400,\"error\":{\"type\":"
        "\"mapper_parsing_exception\",\"reason\":\"failed to parse field [v] value SECRET\"}}},"
        "{\"index\":{\"_index\":\"x\",\"_id\":\"5\",\"status\":503,\"error\":{\"type\":"
        "\"unavailable_shards_exception\"}}}]}";
    hf_os_item it[6];
    assert_int_equal(hf_osbulk_parse(ans, strlen(ans), it, 6, NULL), HF_OK);
    assert_int_equal(it[0].outcome, HF_OS_DONE);
    assert_int_equal(it[1].outcome, HF_OS_DONE);
    assert_int_equal(it[2].outcome, HF_OS_RETRY);
    assert_int_equal(it[3].outcome, HF_OS_REJECT);
    assert_int_equal(it[3].status, 400);
    assert_string_equal(it[3].reason, "opensearch item status 400 mapper_parsing_exception");
    assert_null(strstr(it[3].reason, "SECRET"));
    assert_int_equal(it[4].outcome, HF_OS_RETRY);
    assert_int_equal(it[5].outcome, HF_OS_RETRY); /* missing from the answer */
    /* More items than documents, or not JSON: the request is retried. */
    assert_int_equal(hf_osbulk_parse(ans, strlen(ans), it, 2, NULL), HF_ESYNTAX);
    assert_int_equal(hf_osbulk_parse("<html>", 6, it, 2, NULL), HF_ESYNTAX);
}

static void whole_request_statuses_are_classified(void **state) {
    (void)state;
    assert_int_equal(hf_osbulk_request_class(200), HF_OS_REQ_OK);
    assert_int_equal(hf_osbulk_request_class(429), HF_OS_REQ_RETRY);
    assert_int_equal(hf_osbulk_request_class(503), HF_OS_REQ_RETRY);
    assert_int_equal(hf_osbulk_request_class(0), HF_OS_REQ_RETRY);
    assert_int_equal(hf_osbulk_request_class(413), HF_OS_REQ_TOO_LARGE);
    assert_int_equal(hf_osbulk_request_class(401), HF_OS_REQ_AUTH);
    assert_int_equal(hf_osbulk_request_class(400), HF_OS_REQ_FAILED);
    char t[64];
    const char *e = "{\"error\":{\"type\":\"rejected_execution_exception\",\"reason\":\"x\"},"
                    "\"status\":429}";
    hf_osbulk_error_type(e, strlen(e), t, sizeof t);
    assert_string_equal(t, "rejected_execution_exception");
    const char *odd = "{\"error\":{\"type\":\"a\\\"b<c\"}}";
    hf_osbulk_error_type(odd, strlen(odd), t, sizeof t);
    assert_string_equal(t, "abc");
    hf_osbulk_error_type("nope", 4, t, sizeof t);
    assert_string_equal(t, "");
}

static void template_maps_every_field_strictly_with_the_analyzer(void **state) {
    (void)state;
    hf_os_template_opts o = {"p-", "clinical", "hl7flow-analysis, extra", 2, 0, 150};
    char *s = hf_osdoc_template_json(HF_OS_NOTE, &o);
    assert_non_null(s);
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "index_patterns"), 0)),
                        "p-clinical-notes-*");
    assert_int_equal(json_integer_value(json_object_get(j, "priority")), 150);
    json_t *c = json_object_get(j, "composed_of");
    assert_int_equal(json_array_size(c), 2);
    assert_string_equal(json_string_value(json_array_get(c, 1)), "extra");
    json_t *t = json_object_get(j, "template");
    assert_non_null(json_object_get(json_object_get(t, "aliases"), "p-clinical-notes"));
    json_t *m = json_object_get(t, "mappings");
    assert_string_equal(json_string_value(json_object_get(m, "dynamic")), "strict");
    json_t *props = json_object_get(m, "properties");
    size_t n = 0;
    const hf_os_field *fields = hf_osdoc_fields(HF_OS_NOTE, &n);
    assert_int_equal(json_object_size(props), n);
    json_t *note = json_object_get(props, "note_text");
    assert_string_equal(json_string_value(json_object_get(note, "type")), "text");
    assert_string_equal(json_string_value(json_object_get(note, "analyzer")), "clinical");
    json_t *et = json_object_get(props, "event_time");
    assert_string_equal(json_string_value(json_object_get(et, "type")), "date");
    assert_null(json_object_get(et, "analyzer"));
    (void)fields;
    json_decref(j);
    char name[64];
    hf_osdoc_template_name(HF_OS_ADT, "p-", name, sizeof name);
    assert_string_equal(name, "p-hl7flow-adt-events");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(oru_gives_one_lab_document_per_obx, setup, teardown),
        cmocka_unit_test_setup_teardown(mdm_gives_one_note_with_its_text_and_no_lab_results, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(adt_gives_an_event_in_the_month_of_evn6, setup, teardown),
        cmocka_unit_test_setup_teardown(same_record_gives_same_documents, setup, teardown),
        cmocka_unit_test_setup_teardown(orm_without_obx_gives_no_document, setup, teardown),
        cmocka_unit_test_setup_teardown(no_control_id_uses_kafka_position_and_long_ids_are_hashed,
                                        setup, teardown),
        cmocka_unit_test(month_is_utc_and_handles_negative_times),
        cmocka_unit_test(bulk_body_is_ndjson_with_escaped_ids),
        cmocka_unit_test(bulk_answer_items_are_classified),
        cmocka_unit_test(whole_request_statuses_are_classified),
        cmocka_unit_test(template_maps_every_field_strictly_with_the_analyzer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
