/* test_pgrows.c - the PostgreSQL sink's record -> rows mapping (pgrows.h):
 * which rows a message gives, their values, the keys that decide statement
 * splits, repeated OBX keys, NUL bytes, and the statements' text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"
#include "hl7flow/pgrows.h"
#include "hl7flow/record.h"

typedef struct fix {
    hf_hl7_msg *msg;
    hf_rec_ctx *ctx;
    hf_rec *rec;
    hf_pgrows *rows;
    char text[4096];
} fix;

static void build(fix *f, const char *msg) {
    size_t n = strlen(msg);
    assert_true(n < sizeof f->text);
    for (size_t i = 0; i <= n; i++)
        f->text[i] = msg[i] == '\n' ? '\r' : msg[i];
    hf_hl7_msg_destroy(f->msg);
    assert_int_equal(hf_hl7_parse((hf_span){f->text, n}, NULL, &f->msg, NULL), HF_OK);
    hf_rec_meta meta = {{"EPIC", 4}, {"HOSP_A", 6}, 1700000000000000LL};
    assert_int_equal(hf_rec_build(f->ctx, f->msg, &meta, &f->rec, NULL), HF_OK);
}

static int setup(void **state) {
    static fix f;
    memset(&f, 0, sizeof f);
    f.ctx = hf_rec_ctx_new();
    f.rows = hf_pgrows_new();
    *state = &f;
    return f.ctx && f.rows ? 0 : -1;
}

static int teardown(void **state) {
    fix *f = *state;
    hf_hl7_msg_destroy(f->msg);
    hf_rec_ctx_destroy(f->ctx);
    hf_pgrows_free(f->rows);
    return 0;
}

/* Value of column @p col of row @p row of @p t as a C string ("<null>"). */
static const char *val(fix *f, hf_pg_table t, size_t row, const char *col) {
    int c = hf_pgrows_col(t, col);
    assert_true(c >= 0);
    int len;
    const char *v = hf_pgrows_value(f->rows, t, row, c, &len);
    return v ? v : "<null>";
}

static const char A03[] =
    "MSH|^~\\&|EPIC|HOSP_A|HL7FLOW|HOSP_A|20261101120000||ADT^A03^ADT_A03|CTRL3|P|2.5.1\n"
    "EVN|A03|20261101120000\n"
    "PID|1||MRN1^^^HOSP_A^MR||DOE^JANE^Q||19800229|F|||1 MAIN ST^^BOSTON^MA^02115\n"
    "PV1|1|I|W1^101^A||||1234^DOC^A|||MED|||||||||V77||||||||||||||||||||||||||20261101120000\n"
    "DG1|1||I10^Asthma^I10C||20261101|A\n"
    "AL1|1|DA|PCN^Penicillin^L|SV|HIVES~RASH\n";

static void adt_a03_gives_message_patient_closed_encounter(void **state) {
    fix *f = *state;
    build(f, A03);
    hf_pg_source src = {"hl7.parsed.adt", 3, 42};
    assert_int_equal(hf_pgrows_add(f->rows, f->rec, &src), HF_OK);
    assert_int_equal(hf_pgrows_count(f->rows, HF_PG_MESSAGES), 1);
    assert_int_equal(hf_pgrows_count(f->rows, HF_PG_PATIENTS), 1);
    assert_int_equal(hf_pgrows_count(f->rows, HF_PG_ENCOUNTERS), 1);
    assert_int_equal(hf_pgrows_count(f->rows, HF_PG_DIAGNOSES), 1);
    assert_int_equal(hf_pgrows_count(f->rows, HF_PG_ALLERGIES), 1);
    assert_int_equal(hf_pgrows_count(f->rows, HF_PG_OBSERVATIONS), 0);
    assert_string_equal(val(f, HF_PG_MESSAGES, 0, "message_control_id"), "CTRL3");
    assert_string_equal(val(f, HF_PG_MESSAGES, 0, "kafka_topic"), "hl7.parsed.adt");
    assert_string_equal(val(f, HF_PG_MESSAGES, 0, "kafka_offset"), "42");
    assert_string_equal(val(f, HF_PG_MESSAGES, 0, "source_system"), "EPIC");
    assert_string_equal(val(f, HF_PG_MESSAGES, 0, "ingest_ts"), "2023-11-14T22:13:20.000000Z");
    assert_string_equal(val(f, HF_PG_PATIENTS, 0, "mrn"), "MRN1");
    assert_string_equal(val(f, HF_PG_PATIENTS, 0, "family_name"), "DOE");
    assert_string_equal(val(f, HF_PG_PATIENTS, 0, "birth_date"), "1980-02-29");
    assert_string_equal(val(f, HF_PG_PATIENTS, 0, "city"), "BOSTON");
    assert_string_equal(val(f, HF_PG_PATIENTS, 0, "empi_id"), "<null>");
    assert_string_equal(val(f, HF_PG_ENCOUNTERS, 0, "visit_number"), "V77");
    assert_string_equal(val(f, HF_PG_ENCOUNTERS, 0, "status"), "discharged");
    assert_string_equal(val(f, HF_PG_ENCOUNTERS, 0, "last_event"), "A03");
    assert_string_equal(val(f, HF_PG_ENCOUNTERS, 0, "room"), "101");
    assert_string_equal(val(f, HF_PG_ALLERGIES, 0, "reactions"), "HIVES~RASH");
    assert_string_equal(val(f, HF_PG_DIAGNOSES, 0, "code"), "I10");
    /* raw goes as binary, everything else as text */
    const char *v[64];
    int l[64], fm[64];
    hf_pgrows_params(f->rows, HF_PG_MESSAGES, 0, 1, v, l, fm);
    int raw = hf_pgrows_col(HF_PG_MESSAGES, "raw");
    assert_int_equal(fm[raw], 1);
    assert_int_equal(fm[0], 0);
    /* the message itself, rebuilt from the segments when raw is null */
    hf_span whole = hf_hl7_msg_raw(f->msg);
    assert_int_equal(l[raw], (int)whole.len);
    assert_memory_equal(v[raw], whole.p, (size_t)l[raw]);
    hf_pgrows_clear(f->rows);
}

static const char ORU[] =
    "MSH|^~\\&|LAB|HOSP_A|HL7FLOW|HOSP_A|20261101100000||ORU^R01^ORU_R01|CTRL4|P|2.5.1\n"
    "PID|1||MRN1^^^HOSP_A^MR||DOE^JANE\n"
    "OBR|1|PL1|FL1|GDT^Report^L\n"
    "OBX|1|TX|GDT^Report^L||line one||||||F\n"
    "OBX|2|TX|GDT^Report^L||line two||||||F\n"
    "OBX|3|NM|2345-7^Glucose^LN|1|95|mg/dL|70-99|N~H|||C\n";

static void repeated_obx_keys_get_suffixes_and_order_key(void **state) {
    fix *f = *state;
    build(f, ORU);
    assert_int_equal(hf_pgrows_add(f->rows, f->rec, NULL), HF_OK);
    assert_int_equal(hf_pgrows_count(f->rows, HF_PG_OBSERVATIONS), 3);
    assert_int_equal(hf_pgrows_count(f->rows, HF_PG_ORDERS), 1);
    assert_int_equal(hf_pgrows_count(f->rows, HF_PG_ENCOUNTERS), 0);
    assert_string_equal(val(f, HF_PG_ORDERS, 0, "order_key"), "PL1");
    assert_string_equal(val(f, HF_PG_OBSERVATIONS, 0, "order_key"), "PL1");
    assert_string_equal(val(f, HF_PG_OBSERVATIONS, 0, "sub_id"), "");
    assert_string_equal(val(f, HF_PG_OBSERVATIONS, 1, "sub_id"), "#2");
    assert_string_equal(val(f, HF_PG_OBSERVATIONS, 2, "sub_id"), "1");
    assert_string_equal(val(f, HF_PG_OBSERVATIONS, 2, "result_status"), "C");
    assert_string_equal(val(f, HF_PG_OBSERVATIONS, 2, "value_numeric"), "95");
    assert_string_equal(val(f, HF_PG_OBSERVATIONS, 2, "abnormal_flags"), "N~H");
    /* no key repeats inside the record, so one statement can carry it */
    char k[3][512];
    for (size_t i = 0; i < 3; i++)
        assert_true(hf_pgrows_row_key(f->rows, HF_PG_OBSERVATIONS, i, k[i], sizeof k[i]) > 0);
    assert_string_not_equal(k[0], k[1]);
    hf_pgrows_clear(f->rows);
}

static void same_patient_twice_gives_equal_keys(void **state) {
    fix *f = *state;
    build(f, A03);
    assert_int_equal(hf_pgrows_add(f->rows, f->rec, NULL), HF_OK);
    build(f, ORU);
    assert_int_equal(hf_pgrows_add(f->rows, f->rec, NULL), HF_OK);
    char a[512], b[512];
    size_t na = hf_pgrows_row_key(f->rows, HF_PG_PATIENTS, 0, a, sizeof a);
    size_t nb = hf_pgrows_row_key(f->rows, HF_PG_PATIENTS, 1, b, sizeof b);
    assert_true(na > 0);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    /* different tables never share a key */
    size_t nm = hf_pgrows_row_key(f->rows, HF_PG_MESSAGES, 0, b, sizeof b);
    assert_false(nm == na && memcmp(a, b, na) == 0);
    assert_int_equal(hf_pgrows_row_key(f->rows, HF_PG_PATIENTS, 0, a, 4), 0);
    hf_pgrows_clear(f->rows);
}

static void rollback_drops_exactly_one_record(void **state) {
    fix *f = *state;
    build(f, A03);
    assert_int_equal(hf_pgrows_add(f->rows, f->rec, NULL), HF_OK);
    size_t total = hf_pgrows_total(f->rows);
    hf_pgrows_mark m = hf_pgrows_mark_get(f->rows);
    build(f, ORU);
    assert_int_equal(hf_pgrows_add(f->rows, f->rec, NULL), HF_OK);
    assert_true(hf_pgrows_total(f->rows) > total);
    hf_pgrows_rollback(f->rows, &m);
    assert_int_equal(hf_pgrows_total(f->rows), total);
    assert_string_equal(val(f, HF_PG_PATIENTS, 0, "family_name"), "DOE");
    hf_pgrows_clear(f->rows);
    assert_int_equal(hf_pgrows_total(f->rows), 0);
}

static void nul_byte_is_refused_with_the_column(void **state) {
    fix *f = *state;
    build(f, A03);
    hf_span *fam = &f->rec->patient->names.v[0].family;
    char bad[] = {'D', 'O', '\0', 'E'};
    *fam = (hf_span){bad, sizeof bad};
    assert_int_equal(hf_pgrows_add(f->rows, f->rec, NULL), HF_ESYNTAX);
    assert_string_equal(hf_pgrows_bad_column(f->rows), "patients.family_name");
    assert_int_equal(hf_pgrows_total(f->rows), 0);
}

static void statements_are_parameterized_with_conflict_clauses(void **state) {
    (void)state;
    char sql[65536];
    size_t n = hf_pgrows_sql(HF_PG_PATIENTS, 2, sql, sizeof sql);
    assert_true(n > 0);
    int nc = hf_pgrows_ncols(HF_PG_PATIENTS);
    char last[16];
    snprintf(last, sizeof last, "$%d)", 2 * nc);
    assert_non_null(strstr(sql, last));
    assert_non_null(strstr(sql, "INSERT INTO patients (source_system,facility_id,mrn,"));
    assert_non_null(strstr(sql, "ON CONFLICT (source_system,facility_id,mrn) DO UPDATE"));
    assert_non_null(strstr(sql, "family_name = COALESCE(EXCLUDED.family_name, patients.family_name)"));
    assert_non_null(strstr(sql, "EXCLUDED.last_message_ts >= patients.last_message_ts"));
    n = hf_pgrows_sql(HF_PG_OBSERVATIONS, 1, sql, sizeof sql);
    assert_non_null(strstr(sql, "value = EXCLUDED.value"));
    assert_non_null(strstr(sql, "EXCLUDED.result_status IN ('C','W','D')"));
    n = hf_pgrows_sql(HF_PG_DIAGNOSES, 1, sql, sizeof sql);
    assert_non_null(strstr(sql, "DO NOTHING"));
    assert_int_equal(hf_pgrows_sql(HF_PG_PATIENTS, 2, sql, 40), 0);
    assert_int_equal(hf_pgrows_sql(HF_PG_PATIENTS, 0, sql, sizeof sql), 0);
    for (int t = 0; t < HF_PG_NTABLES; t++) {
        size_t max = hf_pgrows_max_rows((hf_pg_table)t);
        assert_true(max * (size_t)hf_pgrows_ncols((hf_pg_table)t) <= HF_PG_MAX_PARAMS);
        assert_true(hf_pgrows_sql_cap((hf_pg_table)t, 1000) > 1000);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adt_a03_gives_message_patient_closed_encounter),
        cmocka_unit_test(repeated_obx_keys_get_suffixes_and_order_key),
        cmocka_unit_test(same_patient_twice_gives_equal_keys),
        cmocka_unit_test(rollback_drops_exactly_one_record),
        cmocka_unit_test(nul_byte_is_refused_with_the_column),
        cmocka_unit_test(statements_are_parameterized_with_conflict_clauses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
