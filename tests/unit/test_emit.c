/* test_emit.c - the transform's output collector (stage.h, emit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/src/emit_internal.h"

static void outputs_keep_their_bytes_across_arena_growth(void **state) {
    (void)state;
    hf_emit em = {0};
    char big[10000];
    memset(big, 'v', sizeof big);
    assert_int_equal(hf_emit_record(&em, "t1", "k1", 2, "value-1", 7), HF_OK);
    assert_int_equal(hf_emit_header(&em, "h", "x", 1), HF_OK);
    assert_int_equal(hf_emit_record(&em, "t2", NULL, 0, big, sizeof big), HF_OK);
    assert_int_equal(em.nout, 2);
    assert_string_equal(em.arena + em.out[0].topic_off, "t1");
    assert_memory_equal(em.arena + em.out[0].key_off, "k1", 2);
    assert_memory_equal(em.arena + em.out[0].value_off, "value-1", 7);
    assert_int_equal(em.out[0].hdr_count, 1);
    assert_string_equal(em.arena + em.hdr[em.out[0].hdr_first].name_off, "h");
    assert_false(em.out[1].has_key);
    assert_int_equal(em.out[1].value_len, sizeof big);
    assert_memory_equal(em.arena + em.out[1].value_off, big, sizeof big);
    assert_int_equal(em.out[1].hdr_count, 0);
    hf_emit_reset(&em);
    assert_int_equal(em.nout, 0);
    hf_emit_fini(&em);
}

static void header_before_any_output_is_refused(void **state) {
    (void)state;
    hf_emit em = {0};
    assert_int_equal(hf_emit_header(&em, "h", "x", 1), HF_ESYNTAX);
    hf_emit_fini(&em);
}

static void output_count_is_bounded(void **state) {
    (void)state;
    hf_emit em = {0};
    hf_status st = HF_OK;
    int n = 0;
    while (st == HF_OK && n < 10000) {
        st = hf_emit_record(&em, "t", NULL, 0, "v", 1);
        n++;
    }
    assert_int_equal(st, HF_ELIMIT);
    assert_int_equal(em.nout, 4096);
    hf_emit_fini(&em);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(outputs_keep_their_bytes_across_arena_growth),
        cmocka_unit_test(header_before_any_output_is_refused),
        cmocka_unit_test(output_count_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
