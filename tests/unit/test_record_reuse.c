/* test_record_reuse.c - re-encoding decoded records with kept fields
 * (hf_rec_source, hf_rec_keep): the output must be byte for byte what a
 * full encode of the same record writes, whichever fields are kept, in
 * both shapes, when kept fields sit between changed ones. Synthetic data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/gen.h"
#include "hl7flow/hl7.h"
#include "hl7flow/record.h"

#define COUNT 300

typedef struct world {
    hf_gen *gen;
    hf_hl7_msg *msg;
    hf_rec_ctx *built, *decoded, *again;
    hf_rec_buf first, full, reused;
} world;

static int setup(void **state) {
    world *w = calloc(1, sizeof *w);
    hf_gen_opts o;
    hf_gen_opts_default(&o);
    o.seed = 77;
    if (w == NULL || hf_gen_new(&o, &w->gen, NULL) != HF_OK)
        return -1;
    w->msg = hf_hl7_msg_new();
    w->built = hf_rec_ctx_new();
    w->decoded = hf_rec_ctx_new();
    w->again = hf_rec_ctx_new();
    *state = w;
    return w->msg && w->built && w->decoded && w->again ? 0 : -1;
}

static int teardown(void **state) {
    world *w = *state;
    hf_gen_destroy(w->gen);
    hf_hl7_msg_destroy(w->msg);
    hf_rec_ctx_destroy(w->built);
    hf_rec_ctx_destroy(w->decoded);
    hf_rec_ctx_destroy(w->again);
    hf_rec_buf_free(&w->first);
    hf_rec_buf_free(&w->full);
    hf_rec_buf_free(&w->reused);
    free(w);
    return 0;
}

/* Encodes the next generated message in @p form into w->first and decodes
 * it back into w->decoded; NULL when the generator made a bad message. */
static hf_rec *next_decoded(world *w, hf_rec_form form) {
    hf_gen_msg gm;
    assert_int_equal(hf_gen_next(w->gen, &gm), HF_OK);
    if (hf_hl7_parse_into(w->msg, (hf_span){gm.data, gm.len}, &hf_hl7_limits_default, NULL) != HF_OK)
        return NULL;
    hf_rec *rec = NULL;
    assert_int_equal(hf_rec_build(w->built, w->msg, NULL, &rec, NULL), HF_OK);
    assert_null(rec->source.avro); /* built, not decoded */
    w->first.len = 0;
    assert_int_equal(hf_rec_encode(rec, form, &w->first), HF_OK);
    hf_rec *back = NULL;
    assert_int_equal(hf_rec_decode(w->decoded, w->first.p, w->first.len, form, &back, NULL), HF_OK);
    assert_ptr_equal(back->source.avro, w->first.p);
    assert_int_equal(back->source.off[back->source.n], w->first.len);
    assert_int_equal(back->source.keep, 0);
    return back;
}

/* Encodes @p rec with its keep bits and without, and requires equal bytes. */
static void same_both_ways(world *w, hf_rec *rec, hf_rec_form form) {
    w->reused.len = 0;
    assert_int_equal(hf_rec_encode(rec, form, &w->reused), HF_OK);
    uint64_t keep = rec->source.keep;
    rec->source.keep = 0;
    w->full.len = 0;
    assert_int_equal(hf_rec_encode(rec, form, &w->full), HF_OK);
    rec->source.keep = keep;
    assert_int_equal(w->reused.len, w->full.len);
    assert_memory_equal(w->reused.p, w->full.p, w->full.len);
}

static void keeping_everything_copies_the_input(void **state) {
    world *w = *state;
    for (int i = 0; i < COUNT; i++) {
        hf_rec *rec = next_decoded(w, HF_REC_VALIDATED);
        if (rec == NULL)
            continue;
        for (int f = 0; f < HF_REC_TOP_MAX; f++)
            hf_rec_keep(rec, f);
        assert_int_equal(rec->source.keep, ((uint64_t)1 << rec->source.n) - 1);
        same_both_ways(w, rec, HF_REC_VALIDATED);
        assert_memory_equal(w->reused.p, w->first.p, w->first.len);
    }
}

static void changed_fields_between_kept_ones_are_encoded(void **state) {
    world *w = *state;
    int header = hf_rec_field_index("header"), mrn = hf_rec_field_index("mrn_hash");
    int segments = hf_rec_field_index("segments");
    assert_true(header > 0 && mrn > segments && segments > header);
    for (int i = 0; i < COUNT; i++) {
        hf_rec *rec = next_decoded(w, HF_REC_STAGED);
        if (rec == NULL)
            continue;
        for (int f = 0; f < HF_REC_TOP_MAX; f++)
            if (f != header && f != mrn)
                hf_rec_keep(rec, f);
        /* change the two fields that are not kept */
        rec->header.control_id = (hf_span){"CHANGED-ID", 10};
        rec->mrn_hash = (hf_span){"abcdef", 6};
        same_both_ways(w, rec, HF_REC_STAGED);
        /* and the result decodes to the changed record */
        hf_rec *back = NULL;
        assert_int_equal(hf_rec_decode(w->again, w->reused.p, w->reused.len, HF_REC_STAGED, &back,
                                       NULL), HF_OK);
        assert_true(hf_rec_equal(back, rec, HF_REC_STAGED));
        assert_memory_equal(back->mrn_hash.p, "abcdef", 6);
    }
}

static void validated_input_encoded_staged_adds_the_stage_fields(void **state) {
    world *w = *state;
    int segments = hf_rec_field_index("segments"), raw = hf_rec_field_index("raw");
    for (int i = 0; i < COUNT / 3; i++) {
        hf_rec *rec = next_decoded(w, HF_REC_VALIDATED);
        if (rec == NULL)
            continue;
        hf_rec_keep(rec, segments);
        hf_rec_keep(rec, raw);
        hf_rec_keep(rec, HF_REC_TOP_MAX - 1); /* beyond what was decoded: ignored */
        assert_int_equal(rec->source.keep, ((uint64_t)1 << segments) | ((uint64_t)1 << raw));
        hf_rec_enrichment en = {.facility_known = {true, true}, .patient_sex = {"male", 4}};
        rec->enrichment = &en;
        same_both_ways(w, rec, HF_REC_STAGED);
    }
}

static void partial_decode_keeps_what_it_skipped(void **state) {
    world *w = *state;
    int header = hf_rec_field_index("header"), patient = hf_rec_field_index("patient");
    int mrn = hf_rec_field_index("mrn_hash"), fac = hf_rec_field_index("facility_id");
    uint64_t want = (uint64_t)1 << header | (uint64_t)1 << patient | (uint64_t)1 << mrn |
                    (uint64_t)1 << fac;
    for (int i = 0; i < COUNT; i++) {
        hf_rec *full = next_decoded(w, HF_REC_STAGED);
        if (full == NULL)
            continue;
        hf_rec *some = NULL;
        assert_int_equal(hf_rec_decode_some(w->again, w->first.p, w->first.len, HF_REC_STAGED,
                                            want, &some, NULL), HF_OK);
        /* decoded fields equal the full decode's; skipped ones are empty and kept */
        assert_true(some->header.control_id.len == full->header.control_id.len);
        assert_memory_equal(some->facility_id.p, full->facility_id.p, full->facility_id.len);
        assert_true((some->patient == NULL) == (full->patient == NULL));
        assert_int_equal(some->segments.n, 0);
        assert_int_equal(some->source.keep, (((uint64_t)1 << some->source.n) - 1) & ~want);
        for (int f = 0; f < HF_REC_TOP_MAX; f++)
            if (f != mrn)
                hf_rec_keep(some, f);
        some->mrn_hash = (hf_span){"0123", 4};
        full->mrn_hash = (hf_span){"0123", 4};
        w->reused.len = 0;
        assert_int_equal(hf_rec_encode(some, HF_REC_STAGED, &w->reused), HF_OK);
        full->source.keep = 0;
        w->full.len = 0;
        assert_int_equal(hf_rec_encode(full, HF_REC_STAGED, &w->full), HF_OK);
        assert_int_equal(w->reused.len, w->full.len);
        assert_memory_equal(w->reused.p, w->full.p, w->full.len);
    }
}

static void partial_decode_rejects_what_full_decode_rejects(void **state) {
    world *w = *state;
    int header = hf_rec_field_index("header");
    for (int i = 0; i < 20; i++) {
        if (next_decoded(w, HF_REC_STAGED) == NULL)
            continue;
        /* every truncation, and one flipped byte per position step */
        for (size_t cut = 0; cut < w->first.len; cut += 7) {
            hf_rec *a = NULL, *b = NULL;
            hf_status full = hf_rec_decode(w->decoded, w->first.p, cut, HF_REC_STAGED, &a, NULL);
            hf_status some = hf_rec_decode_some(w->again, w->first.p, cut, HF_REC_STAGED,
                                                (uint64_t)1 << header, &b, NULL);
            assert_int_equal(full, some);
            assert_int_not_equal(full, HF_OK);
        }
        char *copy = malloc(w->first.len);
        assert_non_null(copy);
        for (size_t at = 0; at < w->first.len; at += 13) {
            memcpy(copy, w->first.p, w->first.len);
            copy[at] = (char)0xff; /* a varint that never ends, a bad branch... */
            hf_rec *a = NULL, *b = NULL;
            hf_status full = hf_rec_decode(w->decoded, copy, w->first.len, HF_REC_STAGED, &a, NULL);
            hf_status some = hf_rec_decode_some(w->again, copy, w->first.len, HF_REC_STAGED,
                                                (uint64_t)1 << header, &b, NULL);
            assert_int_equal(full == HF_OK, some == HF_OK);
        }
        free(copy);
    }
}

static void field_index_names(void **state) {
    (void)state;
    assert_int_equal(hf_rec_field_index("source_system"), 0);
    assert_true(hf_rec_field_index("linkage") > hf_rec_field_index("mrn_hash"));
    assert_int_equal(hf_rec_field_index("no_such_field"), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeping_everything_copies_the_input),
        cmocka_unit_test(changed_fields_between_kept_ones_are_encoded),
        cmocka_unit_test(validated_input_encoded_staged_adds_the_stage_fields),
        cmocka_unit_test(partial_decode_keeps_what_it_skipped),
        cmocka_unit_test(partial_decode_rejects_what_full_decode_rejects),
        cmocka_unit_test(field_index_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
