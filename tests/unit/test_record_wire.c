/* test_record_wire.c - the framing of record values (record.h, wire
 * framing): magic byte 0 + 4-byte big-endian schema id written, and read
 * back; Apicurio 2.x's header mode (8-byte globalId header, raw Avro)
 * accepted on input only; malformed framing refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"
#include "hl7flow/record.h"

static void header_is_magic_zero_and_big_endian_id(void **state) {
    (void)state;
    hf_rec_buf b = {0};
    assert_int_equal(hf_wire_put_header(&b, 0x01020304u), HF_OK);
    assert_int_equal(b.len, HF_WIRE_HEADER_LEN);
    assert_memory_equal(b.p, "\x00\x01\x02\x03\x04", 5);
    assert_int_equal(hf_wire_put_header(&b, 0xFFFFFFFFu), HF_OK); /* appends */
    assert_memory_equal(b.p + 5, "\x00\xff\xff\xff\xff", 5);
    hf_rec_buf_free(&b);
    assert_null(b.p);
}

static void frame_then_parse(void **state) {
    (void)state;
    hf_rec_buf b = {0};
    const char avro[] = "\x00\x02\x06" "abc"; /* starts with 0x00 like many records */
    assert_int_equal(hf_wire_frame(&b, 42, avro, 6), HF_OK);
    assert_int_equal(b.len, 11);
    hf_wire_view v;
    hf_err err = {0};
    assert_int_equal(hf_wire_parse(b.p, b.len, NULL, 0, &v, &err), HF_OK);
    assert_int_equal(v.kind, HF_WIRE_SCHEMA_ID);
    assert_int_equal(v.id, 42);
    assert_int_equal(v.avro.len, 6);
    assert_ptr_equal(v.avro.p, b.p + 5);
    assert_memory_equal(v.avro.p, avro, 6);
    /* the largest id */
    b.len = 0;
    assert_int_equal(hf_wire_frame(&b, 0xFFFFFFFFu, NULL, 0), HF_OK);
    assert_int_equal(hf_wire_parse(b.p, b.len, NULL, 0, &v, &err), HF_OK);
    assert_int_equal(v.id, 4294967295LL);
    assert_int_equal(v.avro.len, 0);
    hf_rec_buf_free(&b);
}

static void bad_framing_is_refused_with_a_reason(void **state) {
    (void)state;
    hf_wire_view v;
    hf_err err = {0};
    assert_int_equal(hf_wire_parse("\x00\x00\x00\x01", 4, NULL, 0, &v, &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "shorter"));
    assert_int_equal(hf_wire_parse(NULL, 0, NULL, 0, &v, &err), HF_ESYNTAX);
    assert_int_equal(hf_wire_parse("\x02\x00\x00\x00\x01\x00", 6, NULL, 0, &v, &err),
                     HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "0x02"));
}

static void apicurio_header_mode_is_read(void **state) {
    (void)state;
    hf_wire_view v;
    hf_err err = {0};
    const char raw[] = "\x00\x01\x02\x03\x04\x05"; /* raw Avro that looks like a frame */
    const unsigned char gid[8] = {0, 0, 0, 1, 0, 0, 0, 7};
    assert_int_equal(hf_wire_parse(raw, 6, gid, 8, &v, &err), HF_OK);
    assert_int_equal(v.kind, HF_WIRE_APICURIO_GLOBAL);
    assert_int_equal(v.id, 0x100000007LL);
    assert_ptr_equal(v.avro.p, raw); /* the whole value is Avro */
    assert_int_equal(v.avro.len, 6);
    assert_int_equal(hf_wire_parse(NULL, 0, gid, 8, &v, &err), HF_OK); /* empty Avro is legal */
    assert_int_equal(v.avro.len, 0);
    assert_int_equal(hf_wire_parse(raw, 6, gid, 4, &v, &err), HF_ESYNTAX);
    assert_non_null(strstr(err.msg, HF_WIRE_APICURIO_GLOBAL_ID));
    const unsigned char neg[8] = {0x80, 0, 0, 0, 0, 0, 0, 1};
    assert_int_equal(hf_wire_parse(raw, 6, neg, 8, &v, &err), HF_ESYNTAX);
}

static void a_record_travels_framed(void **state) {
    (void)state;
    const char msg[] = "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|W1|P|2.5.1\rPID|1||9^^^H^MR\r";
    hf_hl7_msg *m = NULL;
    hf_rec_ctx *ctx = hf_rec_ctx_new(), *ctx2 = hf_rec_ctx_new();
    hf_rec *rec, *back;
    hf_rec_buf b = {0};
    assert_int_equal(hf_hl7_parse((hf_span){msg, strlen(msg)}, NULL, &m, NULL), HF_OK);
    assert_int_equal(hf_rec_build(ctx, m, NULL, &rec, NULL), HF_OK);
    assert_int_equal(hf_wire_put_header(&b, 7), HF_OK);
    assert_int_equal(hf_rec_encode(rec, HF_REC_STAGED, &b), HF_OK);
    hf_wire_view v;
    assert_int_equal(hf_wire_parse(b.p, b.len, NULL, 0, &v, NULL), HF_OK);
    assert_int_equal(v.id, 7);
    assert_int_equal(hf_rec_decode(ctx2, v.avro.p, v.avro.len, HF_REC_STAGED, &back, NULL),
                     HF_OK);
    assert_true(hf_rec_equal(rec, back, HF_REC_STAGED));
    assert_int_equal(back->patient->mrn.len, 1);
    hf_rec_buf_free(&b);
    hf_rec_ctx_destroy(ctx);
    hf_rec_ctx_destroy(ctx2);
    hf_hl7_msg_destroy(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_is_magic_zero_and_big_endian_id),
        cmocka_unit_test(frame_then_parse),
        cmocka_unit_test(bad_framing_is_refused_with_a_reason),
        cmocka_unit_test(apicurio_header_mode_is_read),
        cmocka_unit_test(a_record_travels_framed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
