/* test_linker_state.c - the mpi-linker's patient state (linkstate.h):
 * encounter, order and result correlation, anomaly flags, the byte codec
 * and the committed-offset rule restores rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/linkstate.h"

static hf_span S(const char *z) { return (hf_span){z, strlen(z)}; }

static hf_ls_event adt(const char *trigger, const char *visit, int64_t ts) {
    hf_ls_event ev;
    memset(&ev, 0, sizeof ev);
    ev.code = S("ADT");
    ev.trigger = S(trigger);
    ev.visit = S(visit);
    ev.ts = ts;
    return ev;
}

static hf_ls_event orders(const char *code, const char *control, const char *placer,
                          const char *filler, const char *result_status) {
    hf_ls_event ev;
    memset(&ev, 0, sizeof ev);
    ev.code = S(code);
    ev.norders = 1;
    ev.orders[0].control = S(control);
    ev.orders[0].placer = S(placer);
    ev.orders[0].filler = S(filler);
    ev.orders[0].result_status = S(result_status);
    ev.observations = strcmp(code, "ORU") == 0 ? 3 : 0;
    return ev;
}

static hf_ls_state *new_state(void) {
    hf_ls_state *st = malloc(sizeof *st);
    assert_non_null(st);
    hf_ls_init(st);
    return st;
}

static void admit_transfer_discharge_follow_the_visit(void **state) {
    (void)state;
    hf_ls_state *st = new_state();
    hf_ls_link l;
    hf_ls_event ev = adt("A01", "V1", 10);
    ev.location = S("WARD1");
    hf_ls_apply(st, &ev, &l);
    assert_string_equal(l.visit, "V1");
    assert_string_equal(l.enc_state, "admitted");
    assert_int_equal(l.anomalies, 0);

    ev = adt("A02", "V1", 20);
    ev.location = S("ICU");
    hf_ls_apply(st, &ev, &l);
    assert_string_equal(l.enc_state, "admitted");
    assert_string_equal(st->enc[0].location, "ICU");
    assert_string_equal(st->enc[0].prior_location, "WARD1");

    ev = adt("A12", "V1", 25); /* cancel the transfer: back to WARD1 */
    hf_ls_apply(st, &ev, &l);
    assert_string_equal(st->enc[0].location, "WARD1");
    assert_int_equal(l.anomalies, 0);

    ev = adt("A03", "V1", 30);
    hf_ls_apply(st, &ev, &l);
    assert_string_equal(l.enc_state, "discharged");
    assert_int_equal(st->enc[0].closed_ts, 30);

    ev = adt("A13", "V1", 40); /* cancel the discharge: admitted again */
    hf_ls_apply(st, &ev, &l);
    assert_string_equal(l.enc_state, "admitted");
    assert_int_equal(st->enc[0].closed_ts, 0);
    assert_int_equal(st->events, 5);
    free(st);
}

static void discharge_without_admit_is_flagged(void **state) {
    (void)state;
    hf_ls_state *st = new_state();
    hf_ls_link l;
    hf_ls_event ev = adt("A03", "V9", 10);
    hf_ls_apply(st, &ev, &l);
    assert_true(l.anomalies & HF_AN_DISCHARGE_WITHOUT_ADMIT);
    assert_string_equal(l.enc_state, "discharged");
    /* a second discharge of a closed visit is flagged again */
    hf_ls_apply(st, &ev, &l);
    assert_true(l.anomalies & HF_AN_DISCHARGE_WITHOUT_ADMIT);
    /* A11 on a closed visit has nothing to cancel */
    ev = adt("A11", "V9", 11);
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(l.anomalies, HF_AN_CANCEL_WITHOUT_EVENT);
    /* a proper admission of another visit is clean */
    ev = adt("A04", "V10", 12);
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(l.anomalies, 0);
    assert_string_equal(l.enc_state, "registered");
    ev = adt("A04", "V10", 13);
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(l.anomalies, HF_AN_DUPLICATE_ADMIT);
    free(st);
}

static void cancel_admit_closes_the_visit(void **state) {
    (void)state;
    hf_ls_state *st = new_state();
    hf_ls_link l;
    hf_ls_event ev = adt("A01", "V1", 1);
    hf_ls_apply(st, &ev, &l);
    ev = adt("A11", "V1", 2);
    hf_ls_apply(st, &ev, &l);
    assert_string_equal(l.enc_state, "cancelled");
    assert_int_equal(l.anomalies, 0);
    /* a result without a visit number no longer lands on it */
    ev = orders("ORU", "RE", "P1", "", "F");
    hf_ls_apply(st, &ev, &l);
    assert_string_equal(l.visit, "");
    free(st);
}

static void results_tie_to_orders_by_placer_or_filler(void **state) {
    (void)state;
    hf_ls_state *st = new_state();
    hf_ls_link l;
    hf_ls_event ev = adt("A01", "V1", 1);
    hf_ls_apply(st, &ev, &l);
    ev = orders("ORM", "NW", "PL-1", "", "");
    hf_ls_apply(st, &ev, &l);
    assert_string_equal(l.placer, "PL-1");
    assert_string_equal(l.visit, "V1"); /* the open encounter */
    assert_int_equal(st->ord[0].state, HF_ORD_OPEN);
    assert_string_equal(st->ord[0].visit, "V1");

    ev = orders("ORU", "RE", "", "FI-7", "P"); /* unknown filler: no order */
    hf_ls_apply(st, &ev, &l);
    assert_true(l.anomalies & HF_AN_RESULT_WITHOUT_ORDER);
    assert_string_equal(l.placer, "");

    ev = orders("ORU", "RE", "PL-1", "FI-7", "P"); /* preliminary: stays open */
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(l.anomalies, 0);
    assert_string_equal(l.placer, "PL-1");
    assert_int_equal(st->ord[0].state, HF_ORD_OPEN);
    assert_string_equal(st->ord[0].filler, "FI-7");

    ev = orders("ORU", "RE", "", "FI-7", "F"); /* by filler now; final completes */
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(l.anomalies, 0);
    assert_string_equal(l.placer, "PL-1");
    assert_int_equal(st->ord[0].state, HF_ORD_COMPLETED);
    assert_int_equal(st->nres, 3);
    assert_string_equal(st->res[0].status, "F");
    free(st);
}

static void order_control_codes_move_orders(void **state) {
    (void)state;
    hf_ls_state *st = new_state();
    hf_ls_link l;
    hf_ls_event ev = orders("ORM", "NW", "A", "", "");
    hf_ls_apply(st, &ev, &l);
    ev = orders("ORM", "HD", "A", "", "");
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(st->ord[0].state, HF_ORD_HOLD);
    ev = orders("ORM", "SC", "A", "", "");
    ev.orders[0].status = S("CM");
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(st->ord[0].state, HF_ORD_COMPLETED);
    ev = orders("ORM", "CA", "A", "", "");
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(st->ord[0].state, HF_ORD_CANCELLED);
    assert_int_equal(l.anomalies, 0);
    ev = orders("ORM", "CA", "B", "", ""); /* never placed */
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(l.anomalies, HF_AN_ORDER_CHANGE_UNKNOWN);
    assert_int_equal(st->nord, 1);
    /* a final result does not revive a cancelled order */
    ev = orders("ORU", "RE", "A", "", "F");
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(st->ord[0].state, HF_ORD_CANCELLED);
    free(st);
}

static void lists_stay_bounded_newest_first(void **state) {
    (void)state;
    hf_ls_state *st = new_state();
    hf_ls_link l;
    char id[32];
    for (int i = 0; i < HF_LS_MAX_ORDERS + 5; i++) {
        snprintf(id, sizeof id, "ORD%d", i);
        hf_ls_event ev = orders("ORM", "NW", id, "", "");
        hf_ls_apply(st, &ev, &l);
    }
    assert_int_equal(st->nord, HF_LS_MAX_ORDERS);
    snprintf(id, sizeof id, "ORD%d", HF_LS_MAX_ORDERS + 4);
    assert_string_equal(st->ord[0].placer, id);
    assert_string_equal(st->ord[HF_LS_MAX_ORDERS - 1].placer, "ORD5");
    for (int i = 0; i < HF_LS_MAX_ENCOUNTERS + 3; i++) {
        snprintf(id, sizeof id, "V%d", i);
        hf_ls_event ev = adt("A04", id, i);
        hf_ls_apply(st, &ev, &l);
    }
    assert_int_equal(st->nenc, HF_LS_MAX_ENCOUNTERS);
    /* demographics: a new version only when something changed */
    hf_ls_event ev = adt("A08", "", 1);
    ev.family = S("DOE");
    ev.given = S("JANE");
    hf_ls_apply(st, &ev, &l);
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(st->ndemo, 1);
    ev.family = S("ROE");
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(st->ndemo, 2);
    assert_string_equal(st->demo[0].family, "ROE");
    assert_string_equal(st->demo[1].family, "DOE");
    free(st);
}

static void merge_is_remembered_and_flags_later_events(void **state) {
    (void)state;
    hf_ls_state *st = new_state();
    hf_ls_link l;
    hf_ls_event ev = adt("A40", "", 1);
    ev.prior_mrn_hash = S("aaaa");
    hf_ls_apply(st, &ev, &l);
    hf_ls_apply(st, &ev, &l); /* a replayed merge is not recorded twice */
    assert_int_equal(st->nmerged_from, 1);
    assert_string_equal(st->merged_from[0], "aaaa");
    assert_int_equal(l.anomalies, 0);
    /* the merged-away identity: every later event is flagged */
    hf_ls_state *old = new_state();
    snprintf(old->merged_into, sizeof old->merged_into, "%s", "bbbb");
    ev = orders("ORU", "RE", "X", "", "F");
    hf_ls_apply(old, &ev, &l);
    assert_true(l.anomalies & HF_AN_EVENT_AFTER_MERGE);
    free(old);
    free(st);
}

static void codec_round_trips_every_field(void **state) {
    (void)state;
    hf_ls_state *st = new_state(), *back = new_state();
    hf_ls_link l;
    snprintf(st->empi_id, sizeof st->empi_id, "%s", "E123");
    snprintf(st->link_status, sizeof st->link_status, "%s", "auto");
    st->has_match_score = true;
    st->match_score = 12.625;
    hf_ls_event ev = adt("A01", "V1", -5);
    ev.family = S("MU\xc3\x91OZ");
    ev.birth_date = (hf_opt_i32){-3650, true};
    ev.location = S("W");
    hf_ls_apply(st, &ev, &l);
    ev = orders("ORU", "RE", "P", "F", "F");
    hf_ls_apply(st, &ev, &l);
    ev = adt("A40", "", 3);
    ev.prior_mrn_hash = S("ff00");
    hf_ls_apply(st, &ev, &l);
    assert_int_equal(hf_ls_mark_applied(st, "hl7.parsed.adt", 41), HF_OK);
    assert_int_equal(hf_ls_mark_applied(st, "hl7.parsed.oru", 1LL << 40), HF_OK);
    assert_int_equal(hf_ls_mark_applied(st, "hl7.parsed.adt", 40), HF_OK); /* never backwards */
    hf_rec_buf b = {0};
    assert_int_equal(hf_ls_encode(st, &b), HF_OK);
    assert_true(b.len < HF_LS_MAX_ENCODED);
    hf_err err = {0};
    assert_int_equal(hf_ls_decode(b.p, b.len, back, &err), HF_OK);
    assert_memory_equal(st, back, sizeof *st);
    hf_ls_applied ap[HF_LS_MAX_TOPICS];
    size_t n = 0;
    assert_int_equal(hf_ls_decode_applied(b.p, b.len, ap, &n, &err), HF_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ap[0].topic, "hl7.parsed.adt");
    assert_int_equal(ap[0].offset, 41);
    assert_int_equal(ap[1].offset, 1LL << 40);
    /* every truncation is refused, as is a trailing byte */
    for (size_t cut = 0; cut < b.len; cut++)
        assert_int_equal(hf_ls_decode(b.p, cut, back, &err), HF_ESYNTAX);
    char *longer = calloc(1, b.len + 1);
    assert_non_null(longer);
    memcpy(longer, b.p, b.len);
    assert_int_equal(hf_ls_decode(longer, b.len + 1, back, &err), HF_ESYNTAX);
    free(longer);
    /* an unknown version */
    b.p[0] = 9;
    assert_int_equal(hf_ls_decode(b.p, b.len, back, &err), HF_ESYNTAX);
    hf_rec_buf_free(&b);
    free(st);
    free(back);
}

static void full_state_fits_the_encoded_bound(void **state) {
    (void)state;
    hf_ls_state *st = new_state();
    memset(st, 'x', sizeof *st);
    st->has_match_score = true; /* 'x' is no valid bool (UBSan) */
    /* every string at its longest, every list full */
#define FILL(a) do { memset((a), 'y', sizeof(a) - 1); (a)[sizeof(a) - 1] = '\0'; } while (0)
    FILL(st->empi_id); FILL(st->link_status); FILL(st->merged_into);
    st->nmerged_from = HF_LS_MAX_MERGED; st->napplied = HF_LS_MAX_TOPICS;
    st->ndemo = HF_LS_MAX_DEMO; st->nenc = HF_LS_MAX_ENCOUNTERS;
    st->nord = HF_LS_MAX_ORDERS; st->nres = HF_LS_MAX_RESULTS;
    for (int i = 0; i < HF_LS_MAX_MERGED; i++) FILL(st->merged_from[i]);
    for (int i = 0; i < HF_LS_MAX_TOPICS; i++) { FILL(st->applied[i].topic); st->applied[i].offset = INT64_MAX; }
    for (int i = 0; i < HF_LS_MAX_DEMO; i++) {
        FILL(st->demo[i].family); FILL(st->demo[i].given); FILL(st->demo[i].sex); FILL(st->demo[i].zip);
        st->demo[i].ts = INT64_MIN; st->demo[i].has_birth_date = true;
    }
    for (int i = 0; i < HF_LS_MAX_ENCOUNTERS; i++) {
        hf_ls_encounter *e = &st->enc[i];
        FILL(e->visit); FILL(e->patient_class); FILL(e->location); FILL(e->prior_location);
        e->state = e->state_before = HF_ENC_CANCELLED;
    }
    for (int i = 0; i < HF_LS_MAX_ORDERS; i++) {
        FILL(st->ord[i].placer); FILL(st->ord[i].filler); FILL(st->ord[i].visit);
        st->ord[i].state = HF_ORD_CANCELLED;
    }
    for (int i = 0; i < HF_LS_MAX_RESULTS; i++) {
        FILL(st->res[i].placer); FILL(st->res[i].filler); FILL(st->res[i].status);
    }
#undef FILL
    hf_rec_buf b = {0};
    assert_int_equal(hf_ls_encode(st, &b), HF_OK);
    assert_true(b.len <= HF_LS_MAX_ENCODED);
    hf_ls_state *back = new_state();
    hf_err err = {0};
    assert_int_equal(hf_ls_decode(b.p, b.len, back, &err), HF_OK);
    assert_string_equal(back->ord[HF_LS_MAX_ORDERS - 1].visit, st->ord[HF_LS_MAX_ORDERS - 1].visit);
    hf_rec_buf_free(&b);
    free(st);
    free(back);
}

static int64_t committed_fixture(const char *topic, void *arg) {
    (void)arg;
    if (strcmp(topic, "adt") == 0)
        return 100;
    if (strcmp(topic, "oru") == 0)
        return 5;
    return -1; /* nothing committed */
}

static void committed_rule_needs_every_topic_below_its_offset(void **state) {
    (void)state;
    hf_ls_state *st = new_state();
    assert_true(hf_ls_committed(st, committed_fixture, NULL)); /* nothing applied */
    hf_ls_mark_applied(st, "adt", 99);
    assert_true(hf_ls_committed(st, committed_fixture, NULL));
    hf_ls_mark_applied(st, "oru", 5); /* offset 5 is the next to read: not committed */
    assert_false(hf_ls_committed(st, committed_fixture, NULL));
    hf_ls_init(st);
    hf_ls_mark_applied(st, "orm", 0); /* no commit at all on that topic */
    assert_false(hf_ls_committed(st, committed_fixture, NULL));
    free(st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(admit_transfer_discharge_follow_the_visit),
        cmocka_unit_test(discharge_without_admit_is_flagged),
        cmocka_unit_test(cancel_admit_closes_the_visit),
        cmocka_unit_test(results_tie_to_orders_by_placer_or_filler),
        cmocka_unit_test(order_control_codes_move_orders),
        cmocka_unit_test(lists_stay_bounded_newest_first),
        cmocka_unit_test(merge_is_remembered_and_flags_later_events),
        cmocka_unit_test(codec_round_trips_every_field),
        cmocka_unit_test(full_state_fits_the_encoded_bound),
        cmocka_unit_test(committed_rule_needs_every_topic_below_its_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
