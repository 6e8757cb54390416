/* test_record_decode.c - the decoder's fast paths (one-byte varints and
 * union branches, runs of short strings, null fields skipped in place)
 * must accept and refuse exactly what the general paths do, with the same
 * error at the same byte, whether a field is decoded or only walked.
 * Synthetic data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/gen.h"
#include "hl7flow/hl7.h"
#include "hl7flow/record.h"

typedef struct world {
    hf_gen *gen;
    hf_hl7_msg *msg;
    hf_rec_ctx *built, *full, *some;
    hf_rec_buf enc;
} world;

static int setup(void **state) {
    world *w = calloc(1, sizeof *w);
    hf_gen_opts o;
    hf_gen_opts_default(&o);
    o.seed = 4242;
    if (w == NULL || hf_gen_new(&o, &w->gen, NULL) != HF_OK)
        return -1;
    w->msg = hf_hl7_msg_new();
    w->built = hf_rec_ctx_new();
    w->full = hf_rec_ctx_new();
    w->some = hf_rec_ctx_new();
    *state = w;
    return w->msg && w->built && w->full && w->some ? 0 : -1;
}

static int teardown(void **state) {
    world *w = *state;
    hf_gen_destroy(w->gen);
    hf_hl7_msg_destroy(w->msg);
    hf_rec_ctx_destroy(w->built);
    hf_rec_ctx_destroy(w->full);
    hf_rec_ctx_destroy(w->some);
    hf_rec_buf_free(&w->enc);
    free(w);
    return 0;
}

/* Encodes @p text (HL7) as an HF_REC_STAGED record into w->enc. */
static void encode_text(world *w, const char *text, size_t len) {
    assert_int_equal(hf_hl7_parse_into(w->msg, (hf_span){text, len}, &hf_hl7_limits_default, NULL),
                     HF_OK);
    hf_rec *rec = NULL;
    assert_int_equal(hf_rec_build(w->built, w->msg, NULL, &rec, NULL), HF_OK);
    w->enc.len = 0;
    assert_int_equal(hf_rec_encode(rec, HF_REC_STAGED, &w->enc), HF_OK);
}

/* The next valid generated message into w->enc; false for a bad one. */
static bool encode_next(world *w) {
    hf_gen_msg gm;
    assert_int_equal(hf_gen_next(w->gen, &gm), HF_OK);
    if (hf_hl7_parse_into(w->msg, (hf_span){gm.data, gm.len}, &hf_hl7_limits_default, NULL) != HF_OK)
        return false;
    encode_text(w, gm.data, gm.len);
    return true;
}

/* Full decode and a decode that only walks every field (fields 0) agree on
 * @p data: same status, same error text (it names the byte). */
static void same_verdict(world *w, const void *data, size_t len) {
    hf_rec *a = NULL, *b = NULL;
    hf_err ea = {0}, eb = {0};
    hf_status full = hf_rec_decode(w->full, data, len, HF_REC_STAGED, &a, &ea);
    hf_status some = hf_rec_decode_some(w->some, data, len, HF_REC_STAGED, 0, &b, &eb);
    assert_int_equal(full, some);
    assert_string_equal(ea.msg, eb.msg);
    if (full == HF_OK)
        assert_memory_equal(a->source.off, b->source.off, sizeof a->source.off);
}

static void walking_and_decoding_refuse_alike(void **state) {
    world *w = *state;
    /* bytes that take the general paths: a continued varint, a negative
     * (odd) length or branch, the longest one-byte length, a bad branch */
    static const unsigned char flips[] = {0xff, 0x01, 0x7e, 0x04, 0x80};
    char *copy = NULL;
    for (int i = 0; i < 12; i++) {
        if (!encode_next(w))
            continue;
        size_t len = w->enc.len;
        copy = realloc(copy, len);
        assert_non_null(copy);
        same_verdict(w, w->enc.p, len);
        for (size_t cut = 0; cut < len; cut += 5)
            same_verdict(w, w->enc.p, cut);
        for (size_t at = 0; at < len; at += 3) {
            memcpy(copy, w->enc.p, len);
            copy[at] = (char)flips[at % sizeof flips];
            same_verdict(w, copy, len);
        }
    }
    free(copy);
}

static void long_strings_and_many_nulls_are_walked_whole(void **state) {
    world *w = *state;
    /* strings of 63, 64 and 300 bytes (one- and two-byte lengths) among
     * empty fields, in the segments' string arrays and in typed fields */
    char note[300], at63[63], at64[64];
    memset(note, 'n', sizeof note);
    memset(at63, 'a', sizeof at63);
    memset(at64, 'b', sizeof at64);
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "MSH|^~\\&|APP|FAC|HUB|HUB|20240101120000||ADT^A01|C1|P|2.5.1\r"
                     "PID|1||123^^^FAC^MR||%.*s^%.*s||19700101|F|||||||||||||||||||||\r"
                     "NTE|1||%.*s\r"
                     "ZZZ|||||||||||||||||||||||||||||||x\r",
                     (int)sizeof at63, at63, (int)sizeof at64, at64, (int)sizeof note, note);
    assert_true(n > 0 && (size_t)n < sizeof text);
    encode_text(w, text, (size_t)n);
    same_verdict(w, w->enc.p, w->enc.len);
    /* walked fields are kept and copied back byte for byte */
    hf_rec *b = NULL;
    assert_int_equal(hf_rec_decode_some(w->some, w->enc.p, w->enc.len, HF_REC_STAGED, 0, &b, NULL),
                     HF_OK);
    assert_int_equal(b->source.off[b->source.n], w->enc.len);
    hf_rec_buf again = {0};
    assert_int_equal(hf_rec_encode(b, HF_REC_STAGED, &again), HF_OK);
    assert_int_equal(again.len, w->enc.len);
    assert_memory_equal(again.p, w->enc.p, w->enc.len);
    hf_rec_buf_free(&again);
    for (size_t cut = 0; cut < w->enc.len; cut++)
        same_verdict(w, w->enc.p, cut);
}

/* Every cut of @p w->enc and every flip of a byte in [@p from, len) to
 * each of the bytes the fast paths branch on: walk and decode agree. */
static void cuts_and_flips_agree(world *w, size_t from) {
    static const unsigned char flips[] = {0x00, 0x01, 0x02, 0x04, 0x7e, 0x7f, 0x80, 0x81, 0xff};
    size_t len = w->enc.len;
    char *copy = malloc(len);
    assert_non_null(copy);
    for (size_t cut = from; cut <= len; cut++)
        same_verdict(w, w->enc.p, cut);
    for (size_t at = from; at < len; at++)
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(copy, w->enc.p, len);
            copy[at] = (char)flips[f];
            same_verdict(w, copy, len);
        }
    free(copy);
}

/* The string loops check bounds only within 64 bytes of the end (a short
 * string is a length byte and at most 63 bytes): strings of 0 to 70 bytes
 * put each length byte at every distance from a cut, and from the end of
 * the record. */
static void short_strings_at_every_distance_from_the_end(void **state) {
    world *w = *state;
    for (int first = 0; first <= 70; first += 7) {
        char text[4096];
        int n = snprintf(text, sizeof text,
                         "MSH|^~\\&|APP|FAC|HUB|HUB|20240101120000||ADT^A01|C%d|P|2.5.1\r"
                         "PID|1||123^^^FAC^MR||DOE^JANE||19700101|F\rZZZ",
                         first);
        for (int k = first; k <= first + 70 && n > 0 && (size_t)n + 80 < sizeof text; k += 3) {
            text[n++] = '|';
            for (int j = 0; j < k % 71; j++)
                text[n++] = (char)('a' + j % 26);
        }
        assert_true(n > 0 && (size_t)n < sizeof text);
        encode_text(w, text, (size_t)n);
        hf_rec *b = NULL;
        assert_int_equal(
            hf_rec_decode_some(w->some, w->enc.p, w->enc.len, HF_REC_STAGED, 0, &b, NULL), HF_OK);
        assert_int_equal(b->source.off[b->source.n], w->enc.len); /* walked to the last byte */
        cuts_and_flips_agree(w, w->enc.len > 400 ? w->enc.len - 400 : 0);
    }
}

/* Optional ints take one byte up to 63 in magnitude (zigzag 0..0x7f) and
 * two from 64: days since 1970 from PID-7 and OBX set ids on both sides,
 * decoded to the right values, and every cut and flip refused alike. */
static void one_and_two_byte_numbers(void **state) {
    world *w = *state;
    static const struct {
        const char *date;
        int32_t days;
        const char *set_id;
        int32_t set;
    } cases[] = {{"19700101", 0, "1", 1},     {"19700305", 63, "63", 63},
                 {"19700306", 64, "64", 64},  {"19691231", -1, "200", 200},
                 {"19691029", -64, "0", 0},   {"19691028", -65, "8191", 8191}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        int n = snprintf(text, sizeof text,
                         "MSH|^~\\&|LAB|FAC|HUB|HUB|20240101120000||ORU^R01|N%zu|P|2.5.1\r"
                         "PID|1||123^^^FAC^MR||DOE^JANE||%s|F\r"
                         "OBR|1|P1|F1|GLU^Glucose^L\r"
                         "OBX|%s|NM|GLU^Glucose^L||5.4|mmol/L|||||F\r",
                         i, cases[i].date, cases[i].set_id);
        assert_true(n > 0 && (size_t)n < sizeof text);
        encode_text(w, text, (size_t)n);
        hf_rec *a = NULL;
        assert_int_equal(hf_rec_decode(w->full, w->enc.p, w->enc.len, HF_REC_STAGED, &a, NULL),
                         HF_OK);
        assert_non_null(a->patient);
        assert_true(a->patient->birth_date.set);
        assert_int_equal(a->patient->birth_date.v, cases[i].days);
        assert_int_equal(a->observations.n, 1);
        assert_true(a->observations.v[0].set_id.set);
        assert_int_equal(a->observations.v[0].set_id.v, cases[i].set);
        cuts_and_flips_agree(w, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walking_and_decoding_refuse_alike),
        cmocka_unit_test(long_strings_and_many_nulls_are_walked_whole),
        cmocka_unit_test(short_strings_at_every_distance_from_the_end),
        cmocka_unit_test(one_and_two_byte_numbers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
