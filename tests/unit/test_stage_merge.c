/* test_stage_merge.c - the ingest-time merge of co-partitioned inputs
 * (common/src/stage_merge.h). Messages are small integers cast to
 * pointers; drops are recorded so a test can see what was let go and the
 * offsets a rewind would seek to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/src/stage_merge.h"

typedef struct drops {
    int count;
    int64_t first_offset[4][4]; /* [rank][partition]: smallest dropped, -1 none */
} drops;

static void on_drop(void *arg, void *msg, int rank, int32_t partition, int64_t offset) {
    (void)msg;
    drops *d = arg;
    d->count++;
    if (d->first_offset[rank][partition] < 0 || offset < d->first_offset[rank][partition])
        d->first_offset[rank][partition] = offset;
}

static void drops_init(drops *d) {
    d->count = 0;
    memset(d->first_offset, 0xff, sizeof d->first_offset); /* all -1 */
}

#define MSG(n) ((void *)(intptr_t)(n))
#define ID(p) ((int)(intptr_t)(p))

/* Releases everything releasable at @p now into ids[]; returns how many. */
static size_t release_ids(hf_merge *mg, int64_t now, int *ids, size_t cap) {
    void *out[64];
    size_t n = hf_merge_release(mg, now, out, cap < 64 ? cap : 64);
    for (size_t i = 0; i < n; i++)
        ids[i] = ID(out[i]);
    return n;
}

static void releases_across_topics_in_time_order(void **state) {
    (void)state;
    hf_merge *mg = hf_merge_new(2, 1000, 64, NULL);
    assert_non_null(mg);
    /* topic 1 (say oru) was fetched first, topic 0 (adt) second */
    assert_true(hf_merge_push(mg, 1, 0, 0, 20, MSG(20)));
    assert_true(hf_merge_push(mg, 1, 0, 1, 40, MSG(40)));
    assert_true(hf_merge_push(mg, 0, 0, 0, 10, MSG(10)));
    assert_true(hf_merge_push(mg, 0, 0, 1, 30, MSG(30)));
    hf_merge_eof(mg, 0, 0);
    hf_merge_eof(mg, 1, 0);
    int ids[8];
    assert_int_equal(release_ids(mg, 0, ids, 8), 4);
    assert_int_equal(ids[0], 10);
    assert_int_equal(ids[1], 20);
    assert_int_equal(ids[2], 30);
    assert_int_equal(ids[3], 40);
    assert_int_equal(hf_merge_held(mg), 0);
    assert_int_equal(hf_merge_expired(mg), 0);
    hf_merge_free(mg);
}

static void waits_for_an_input_in_flight_until_the_wait_runs_out(void **state) {
    (void)state;
    hf_merge *mg = hf_merge_new(2, 1000, 64, NULL);
    assert_true(hf_merge_assign(mg, 0, 0));
    assert_true(hf_merge_assign(mg, 1, 0));
    assert_true(hf_merge_push(mg, 1, 0, 7, 500, MSG(1)));
    hf_merge_eof(mg, 1, 0);
    int ids[4];
    /* topic 0 has neither records nor an end: it may hold an earlier one */
    assert_int_equal(release_ids(mg, 100, ids, 4), 0);
    assert_int_equal(hf_merge_wait_left(mg, 100), 1000);
    assert_int_equal(release_ids(mg, 1099, ids, 4), 0);
    assert_int_equal(hf_merge_wait_left(mg, 1099), 1);
    assert_int_equal(release_ids(mg, 1100, ids, 4), 1);
    assert_int_equal(ids[0], 1);
    assert_int_equal(hf_merge_expired(mg), 1);
    assert_int_equal(hf_merge_wait_left(mg, 1100), -1); /* nothing held: no wait */
    hf_merge_free(mg);
}

static void an_input_at_its_end_does_not_hold_others_back(void **state) {
    (void)state;
    hf_merge *mg = hf_merge_new(3, 1000, 64, NULL);
    for (int r = 0; r < 3; r++)
        assert_true(hf_merge_assign(mg, r, 2));
    assert_true(hf_merge_push(mg, 2, 2, 0, 50, MSG(50)));
    int ids[4];
    assert_int_equal(release_ids(mg, 0, ids, 4), 0);
    hf_merge_eof(mg, 0, 2);
    assert_int_equal(release_ids(mg, 0, ids, 4), 0); /* topic 1 still in flight */
    hf_merge_eof(mg, 1, 2);
    assert_int_equal(release_ids(mg, 0, ids, 4), 1);
    assert_int_equal(ids[0], 50);
    /* a record after the end makes the topic "in flight" again once drained */
    assert_true(hf_merge_push(mg, 0, 2, 0, 60, MSG(60)));
    assert_true(hf_merge_push(mg, 2, 2, 1, 70, MSG(70)));
    hf_merge_eof(mg, 2, 2);
    assert_int_equal(release_ids(mg, 5, ids, 4), 1);
    assert_int_equal(ids[0], 60);
    assert_int_equal(release_ids(mg, 5, ids, 4), 0); /* topic 0 drained, no end since */
    hf_merge_eof(mg, 0, 2);
    assert_int_equal(release_ids(mg, 5, ids, 4), 1);
    assert_int_equal(ids[0], 70);
    assert_int_equal(hf_merge_expired(mg), 0);
    hf_merge_free(mg);
}

static void equal_times_go_to_the_topic_listed_first(void **state) {
    (void)state;
    hf_merge *mg = hf_merge_new(3, 1000, 64, NULL);
    assert_true(hf_merge_push(mg, 2, 0, 0, 100, MSG(3)));
    assert_true(hf_merge_push(mg, 1, 0, 0, 100, MSG(2)));
    assert_true(hf_merge_push(mg, 0, 0, 0, 100, MSG(1)));
    for (int r = 0; r < 3; r++)
        hf_merge_eof(mg, r, 0);
    int ids[4];
    assert_int_equal(release_ids(mg, 0, ids, 4), 3);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 3);
    hf_merge_free(mg);
}

static void partitions_are_merged_independently(void **state) {
    (void)state;
    hf_merge *mg = hf_merge_new(2, 1000, 64, NULL);
    for (int p = 0; p < 2; p++)
        for (int r = 0; r < 2; r++)
            assert_true(hf_merge_assign(mg, r, p));
    /* partition 0 waits for topic 1; partition 1 has both ends */
    assert_true(hf_merge_push(mg, 0, 0, 0, 1, MSG(100)));
    assert_true(hf_merge_push(mg, 0, 1, 0, 9, MSG(200)));
    hf_merge_eof(mg, 0, 1);
    hf_merge_eof(mg, 1, 1);
    int ids[4];
    assert_int_equal(release_ids(mg, 0, ids, 4), 1);
    assert_int_equal(ids[0], 200);
    assert_int_equal(hf_merge_held(mg), 1);
    hf_merge_free(mg);
}

static void release_respects_the_cap_and_keeps_the_rest(void **state) {
    (void)state;
    hf_merge *mg = hf_merge_new(2, 0, 64, NULL); /* no wait at all */
    /* more than one ring growth, interleaved times */
    for (int i = 0; i < 300; i++) {
        assert_true(hf_merge_push(mg, 0, 0, i, 2 * i, MSG(2 * i)));
        assert_true(hf_merge_push(mg, 1, 0, i, 2 * i + 1, MSG(2 * i + 1)));
    }
    hf_merge_eof(mg, 0, 0);
    hf_merge_eof(mg, 1, 0);
    int ids[64], next = 0;
    size_t n;
    while ((n = release_ids(mg, 0, ids, 50)) > 0) {
        assert_true(n <= 50);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(ids[i], next++);
    }
    assert_int_equal(next, 600);
    assert_int_equal(hf_merge_held(mg), 0);
    hf_merge_free(mg);
}

static void revoke_drops_held_records_and_stops_the_wait(void **state) {
    (void)state;
    drops d;
    drops_init(&d);
    hf_merge *mg = hf_merge_new(2, 1000, 64, &(hf_merge_hooks){on_drop, NULL, &d});
    assert_true(hf_merge_assign(mg, 0, 1));
    assert_true(hf_merge_assign(mg, 1, 1));
    assert_true(hf_merge_push(mg, 0, 1, 40, 5, MSG(1)));
    assert_true(hf_merge_push(mg, 0, 1, 41, 6, MSG(2)));
    assert_true(hf_merge_push(mg, 1, 1, 8, 7, MSG(3)));
    hf_merge_eof(mg, 1, 1);
    hf_merge_revoke(mg, 0, 1);
    assert_int_equal(d.count, 2);
    assert_int_equal(d.first_offset[0][1], 40);
    /* topic 0 is no longer ours: topic 1's record goes at once */
    int ids[4];
    assert_int_equal(release_ids(mg, 0, ids, 4), 1);
    assert_int_equal(ids[0], 3);
    hf_merge_free(mg);
    assert_int_equal(d.count, 2);
}

static void drop_all_reports_rewind_offsets_and_forgets_ends(void **state) {
    (void)state;
    drops d;
    drops_init(&d);
    hf_merge *mg = hf_merge_new(2, 1000, 64, &(hf_merge_hooks){on_drop, NULL, &d});
    assert_true(hf_merge_push(mg, 0, 3, 10, 1, MSG(1)));
    assert_true(hf_merge_push(mg, 0, 3, 11, 2, MSG(2)));
    assert_true(hf_merge_push(mg, 1, 3, 5, 3, MSG(3)));
    hf_merge_eof(mg, 0, 3);
    hf_merge_eof(mg, 1, 3);
    hf_merge_drop_all(mg);
    assert_int_equal(d.count, 3);
    assert_int_equal(d.first_offset[0][3], 10);
    assert_int_equal(d.first_offset[1][3], 5);
    assert_int_equal(hf_merge_held(mg), 0);
    /* after a rewind the ends seen before no longer count */
    assert_true(hf_merge_push(mg, 1, 3, 5, 3, MSG(3)));
    int ids[4];
    assert_int_equal(release_ids(mg, 0, ids, 4), 0);
    hf_merge_free(mg); /* drops the held one */
    assert_int_equal(d.count, 4);
}

typedef struct flows {
    int pauses, resumes;
    bool paused;
} flows;

static void on_flow(void *arg, int rank, int32_t partition, bool pause) {
    flows *f = arg;
    assert_int_equal(rank, 1);
    assert_int_equal(partition, 0);
    assert_true(pause != f->paused); /* only transitions are reported */
    f->paused = pause;
    if (pause)
        f->pauses++;
    else
        f->resumes++;
}

static void pauses_a_full_input_and_resumes_it_at_half(void **state) {
    (void)state;
    flows fl = {0, 0, false};
    hf_merge *mg = hf_merge_new(2, 1000, 8, &(hf_merge_hooks){NULL, on_flow, &fl});
    assert_true(hf_merge_assign(mg, 0, 0));
    /* topic 1 runs ahead; topic 0 (in flight) holds it back */
    for (int i = 0; i < 8; i++)
        assert_true(hf_merge_push(mg, 1, 0, i, 100 + i, MSG(i)));
    assert_int_equal(fl.pauses, 1);
    assert_true(fl.paused);
    int ids[16];
    assert_int_equal(release_ids(mg, 0, ids, 16), 0);
    /* topic 0 catches up: releases go on; the resume comes at 4 left */
    assert_true(hf_merge_push(mg, 0, 0, 0, 50, MSG(50)));
    hf_merge_eof(mg, 0, 0);
    assert_int_equal(release_ids(mg, 0, ids, 3), 3); /* 50, 0, 1: 6 left */
    assert_int_equal(fl.resumes, 0);
    assert_int_equal(release_ids(mg, 0, ids, 2), 2); /* 4 left */
    assert_int_equal(fl.resumes, 1);
    assert_false(fl.paused);
    /* full again, then dropped: resumed before the drop */
    for (int i = 8; i < 12; i++)
        assert_true(hf_merge_push(mg, 1, 0, i, 100 + i, MSG(i)));
    assert_int_equal(fl.pauses, 2);
    hf_merge_drop_all(mg);
    assert_int_equal(fl.resumes, 2);
    assert_false(fl.paused);
    hf_merge_free(mg);
    assert_int_equal(fl.pauses, 2);
}

static void refuses_unknown_topics(void **state) {
    (void)state;
    hf_merge *mg = hf_merge_new(2, 1000, 64, NULL);
    assert_false(hf_merge_push(mg, 2, 0, 0, 1, MSG(1)));
    assert_false(hf_merge_push(mg, -1, 0, 0, 1, MSG(1)));
    assert_false(hf_merge_push(mg, 0, -1, 0, 1, MSG(1)));
    assert_int_equal(hf_merge_held(mg), 0);
    assert_null(hf_merge_new(0, 1000, 64, NULL));
    hf_merge_free(mg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(releases_across_topics_in_time_order),
        cmocka_unit_test(waits_for_an_input_in_flight_until_the_wait_runs_out),
        cmocka_unit_test(an_input_at_its_end_does_not_hold_others_back),
        cmocka_unit_test(equal_times_go_to_the_topic_listed_first),
        cmocka_unit_test(partitions_are_merged_independently),
        cmocka_unit_test(release_respects_the_cap_and_keeps_the_rest),
        cmocka_unit_test(revoke_drops_held_records_and_stops_the_wait),
        cmocka_unit_test(drop_all_reports_rewind_offsets_and_forgets_ends),
        cmocka_unit_test(pauses_a_full_input_and_resumes_it_at_half),
        cmocka_unit_test(refuses_unknown_topics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
