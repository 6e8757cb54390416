/* test_mllp_decoder.c - the listener's incremental MLLP framing state
 * machine (hl7flow/mllp.h: hf_mllp_dec): frames split at any byte, garbage
 * between frames, oversized frames, restarts, lone 0x1C, open frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/mllp.h"

/* Collected events of one run. */
typedef struct got {
    int n;
    hf_mllp_ev_kind kind[16];
    char data[16][256];
    size_t len[16], total[16];
} got;

/* Feeds @p buf in pieces of @p step bytes (0 = all at once). */
static void run(hf_mllp_dec *d, const char *buf, size_t len, size_t step, got *g) {
    memset(g, 0, sizeof *g);
    size_t pos = 0;
    while (pos < len) {
        size_t piece = step == 0 || len - pos < step ? len - pos : step;
        size_t off = 0;
        while (off < piece) {
            hf_mllp_event ev;
            size_t used = hf_mllp_dec_feed(d, buf + pos + off, piece - off, &ev);
            assert_true(used != (size_t)-1);
            assert_true(used <= piece - off);
            off += used;
            if (ev.kind != HF_MLLP_EV_NONE) {
                assert_true(g->n < 16);
                g->kind[g->n] = ev.kind;
                g->len[g->n] = ev.len;
                g->total[g->n] = ev.total;
                if (ev.data != NULL && ev.len < 256)
                    memcpy(g->data[g->n], ev.data, ev.len);
                g->n++;
            } else {
                assert_int_equal(off, piece); /* no event: the input is used up */
            }
        }
        pos += piece;
    }
}

static void frames_survive_any_split(void **state) {
    (void)state;
    const char buf[] = "\x0b" "MSH|^~\\&|A\rPID|1\r\x1c\x0d" "\x0b" "MSH|^~\\&|B\x1c\x0d";
    for (size_t step = 0; step <= sizeof buf; step++) {
        hf_mllp_dec d;
        hf_mllp_dec_init(&d, 1024);
        got g;
        run(&d, buf, sizeof buf - 1, step, &g);
        assert_int_equal(g.n, 2);
        assert_int_equal(g.kind[0], HF_MLLP_EV_FRAME);
        assert_int_equal(g.len[0], strlen("MSH|^~\\&|A\rPID|1\r"));
        assert_memory_equal(g.data[0], "MSH|^~\\&|A\rPID|1\r", g.len[0]);
        assert_int_equal(g.kind[1], HF_MLLP_EV_FRAME);
        assert_memory_equal(g.data[1], "MSH|^~\\&|B", 10);
        assert_false(hf_mllp_dec_in_frame(&d));
        hf_mllp_dec_fini(&d);
    }
}

static void garbage_between_frames_is_counted_not_framed(void **state) {
    (void)state;
    const char buf[] = "junk\r\n" "\x0b" "A\x1c\x0d" "\r\n\x1c" "\x0b" "B\x1c\x0d";
    hf_mllp_dec d;
    hf_mllp_dec_init(&d, 64);
    got g;
    run(&d, buf, sizeof buf - 1, 3, &g);
    assert_int_equal(g.n, 2);
    assert_memory_equal(g.data[0], "A", 1);
    assert_memory_equal(g.data[1], "B", 1);
    assert_int_equal(d.garbage, 6 + 3);
    hf_mllp_dec_fini(&d);
}

static void oversized_frame_keeps_its_head_and_reports_the_total(void **state) {
    (void)state;
    char buf[300];
    size_t n = 0;
    buf[n++] = 0x0b;
    for (int i = 0; i < 200; i++)
        buf[n++] = (char)('a' + i % 26);
    buf[n++] = 0x1c;
    buf[n++] = 0x0d;
    memcpy(buf + n, "\x0b" "ok\x1c\x0d", 5);
    n += 5;
    hf_mllp_dec d;
    hf_mllp_dec_init(&d, 50);
    got g;
    run(&d, buf, n, 7, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.kind[0], HF_MLLP_EV_OVERSIZED);
    assert_int_equal(g.len[0], 50);
    assert_int_equal(g.total[0], 200);
    assert_memory_equal(g.data[0], "abcdefghij", 10);
    /* The next frame is read normally and memory stayed bounded. */
    assert_int_equal(g.kind[1], HF_MLLP_EV_FRAME);
    assert_memory_equal(g.data[1], "ok", 2);
    assert_true(d.cap <= 50);
    hf_mllp_dec_fini(&d);
}

static void frame_of_exactly_the_limit_is_accepted(void **state) {
    (void)state;
    hf_mllp_dec d;
    hf_mllp_dec_init(&d, 4);
    got g;
    run(&d, "\x0b" "abcd\x1c\x0d" "\x0b" "abcde\x1c\x0d", 15, 0, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.kind[0], HF_MLLP_EV_FRAME);
    assert_int_equal(g.kind[1], HF_MLLP_EV_OVERSIZED);
    assert_int_equal(g.total[1], 5);
    hf_mllp_dec_fini(&d);
}

static void start_byte_inside_a_frame_restarts_it(void **state) {
    (void)state;
    hf_mllp_dec d;
    hf_mllp_dec_init(&d, 64);
    got g;
    run(&d, "\x0b" "partial" "\x0b" "whole\x1c\x0d", 17, 0, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.kind[0], HF_MLLP_EV_RESTART);
    assert_int_equal(g.total[0], 7);
    assert_int_equal(g.kind[1], HF_MLLP_EV_FRAME);
    assert_int_equal(g.len[1], 5);
    assert_memory_equal(g.data[1], "whole", 5);
    hf_mllp_dec_fini(&d);
}

static void lone_end_byte_is_message_data(void **state) {
    (void)state;
    hf_mllp_dec d;
    hf_mllp_dec_init(&d, 64);
    got g;
    for (size_t step = 0; step < 6; step++) {
        run(&d, "\x0b" "a\x1c" "b\x1c\x1c\x0d", 7, step, &g);
        assert_int_equal(g.n, 1);
        assert_int_equal(g.len[0], 4);
        assert_memory_equal(g.data[0], "a\x1c" "b\x1c", 4);
    }
    hf_mllp_dec_fini(&d);
}

static void open_frame_is_visible_until_it_ends(void **state) {
    (void)state;
    hf_mllp_dec d;
    hf_mllp_dec_init(&d, 64);
    got g;
    assert_false(hf_mllp_dec_in_frame(&d));
    run(&d, "\x0b" "MSH|abc", 8, 0, &g);
    assert_int_equal(g.n, 0);
    assert_true(hf_mllp_dec_in_frame(&d));
    assert_int_equal(hf_mllp_dec_pending(&d), 7);
    run(&d, "\x1c", 1, 0, &g);
    assert_int_equal(hf_mllp_dec_pending(&d), 8);
    run(&d, "\x0d", 1, 0, &g);
    assert_int_equal(g.n, 1);
    assert_false(hf_mllp_dec_in_frame(&d));
    assert_int_equal(hf_mllp_dec_pending(&d), 0);
    hf_mllp_dec_fini(&d);
}

static void empty_frame_is_a_frame_of_zero_bytes(void **state) {
    (void)state;
    hf_mllp_dec d;
    hf_mllp_dec_init(&d, 64);
    got g;
    run(&d, "\x0b\x1c\x0d", 3, 1, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.kind[0], HF_MLLP_EV_FRAME);
    assert_int_equal(g.len[0], 0);
    hf_mllp_dec_fini(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_survive_any_split),
        cmocka_unit_test(garbage_between_frames_is_counted_not_framed),
        cmocka_unit_test(oversized_frame_keeps_its_head_and_reports_the_total),
        cmocka_unit_test(frame_of_exactly_the_limit_is_accepted),
        cmocka_unit_test(start_byte_inside_a_frame_restarts_it),
        cmocka_unit_test(lone_end_byte_is_message_data),
        cmocka_unit_test(open_frame_is_visible_until_it_ends),
        cmocka_unit_test(empty_frame_is_a_frame_of_zero_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
