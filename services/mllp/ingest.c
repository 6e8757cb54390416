/* ingest.c - one received frame -> one entry: produce it to the ingest topic
 * with DESIGN.md's key and headers (or decide at once that it is not
 * stored), then, when the entry is done, the ACK that answers it.
 *
 * The ACK's code comes only from the outcome recorded here: HF_ACK_OK is set
 * by the delivery report of that very record (kafka.c), never earlier. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/headers.h"
#include "hl7flow/log.h"
#include "hl7flow/timeutil.h"
#include "svc.h"

/* Longest MSH kept for building the ACK; fields past it read as empty. */
#define MSH_KEEP 4096

static bool span_is(hf_span s, const char *lit) {
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* An entry able to hold @p n bytes: from the free list when it is small
 * enough, else allocated. Every field before data[] is zeroed. */
static mllp_entry *entry_alloc(mllp_srv *s, size_t n) {
    mllp_entry *e;
    if (n <= MLLP_ENTRY_SMALL && s->free_entries != NULL) {
        e = s->free_entries;
        s->free_entries = e->next;
        s->nfree_entries--;
    } else {
        size_t cap = n <= MLLP_ENTRY_SMALL ? MLLP_ENTRY_SMALL : n;
        e = malloc(sizeof *e + cap);
        if (e == NULL)
            return NULL;
        e->cap = cap;
    }
    size_t cap = e->cap;
    memset(e, 0, offsetof(mllp_entry, data));
    e->cap = cap;
    return e;
}

void mllp_entry_free(mllp_srv *s, mllp_entry *e) {
    if (e->cap == MLLP_ENTRY_SMALL && s->nfree_entries < MLLP_ENTRY_FREE_MAX) {
        e->next = s->free_entries;
        s->free_entries = e;
        s->nfree_entries++;
        return;
    }
    free(e);
}

void mllp_entry_pool_free(mllp_srv *s) {
    while (s->free_entries != NULL) {
        mllp_entry *e = s->free_entries;
        s->free_entries = e->next;
        free(e);
    }
    s->nfree_entries = 0;
}

/* An entry for frame @p msg (@p len bytes) holding the whole message when
 * @p whole, else its first segment (the MSH). The MSH is read once here;
 * *cut tells that it is longer than MSH_KEEP, so the entry's reading of
 * it (for the ACK) sees the fields past MSH_KEEP as empty. */
static mllp_entry *entry_new(mllp_conn *c, const char *msg, size_t len, bool whole, bool *cut) {
    size_t n = 0;
    bool seen = false; /* leading blank lines are skipped by the MSH reader */
    while (n < len && n < MSH_KEEP) {
        char ch = msg[n];
        if (ch == '\r' || ch == '\n') {
            if (seen)
                break;
        } else if (ch != ' ' && ch != '\t') {
            seen = true;
        }
        n++;
    }
    size_t store = whole ? len : n;
    mllp_entry *e = entry_alloc(c->srv, store);
    if (e == NULL)
        return NULL;
    e->conn = c;
    e->srv = c->srv;
    e->t0_ns = hf_mono_ns();
    e->state = ENTRY_PENDING;
    memcpy(e->data, msg, store);
    e->len = store;
    e->whole = whole;
    *cut = n == MSH_KEEP && n < len && msg[n] != '\r' && msg[n] != '\n';
    e->msh_ok = hf_mllp_msh_read(e->data, n, &e->m);
    e->is_hl7 = e->msh_ok;
    return e;
}

static void entry_append(mllp_conn *c, mllp_entry *e) {
    if (c->tail != NULL)
        c->tail->next = e;
    else
        c->head = e;
    c->tail = e;
    c->npending++;
}

static void set_ctrl(mllp_entry *e, hf_span f10) {
    size_t n = f10.len < sizeof e->ctrl - 1 ? f10.len : sizeof e->ctrl - 1;
    memcpy(e->ctrl, f10.p, n);
    e->ctrl[n] = '\0';
}

/* The ingest_ts header for now: hf_ts_format's text, formatted once per
 * second; the other calls of that second rewrite its six fraction digits
 * (the format ends ".ffffffZ"). */
static void ingest_ts(mllp_srv *s, char *out, size_t cap) {
    int64_t us = hf_wall_us();
    int64_t sec = us / 1000000;
    if (s->ts_len == 0 || sec != s->ts_sec) {
        s->ts_len = hf_ts_format(us, s->ts_text, sizeof s->ts_text);
        s->ts_sec = sec;
    }
    size_t n = s->ts_len;
    if (n + 1 > cap || n < 8 || s->ts_text[n - 1] != 'Z' || s->ts_text[n - 8] != '.' || us < 0) {
        hf_ts_format(us, out, cap);
        return;
    }
    memcpy(out, s->ts_text, n + 1);
    int64_t frac = us % 1000000;
    for (size_t i = n - 2; i >= n - 7; i--) {
        out[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
}

static void add_span(rd_kafka_headers_t *h, const char *name, const char *p, size_t n) {
    rd_kafka_header_add(h, name, -1, p, (ssize_t)n);
}

/* Produces the frame; on failure the entry is finished with a NAK. */
static void produce(mllp_conn *c, mllp_entry *e, const hf_mllp_msh *m, const char *msg,
                    size_t len) {
    mllp_srv *s = c->srv;
    const char *src = m->app.p, *fac = m->facility.p;
    size_t src_len = m->app.len, fac_len = m->facility.len;
    if (c->route != NULL && c->route->source[0] != '\0') {
        src = c->route->source;
        src_len = strlen(src);
    }
    if (c->route != NULL && c->route->facility[0] != '\0') {
        fac = c->route->facility;
        fac_len = strlen(fac);
    }
    /* Key facility_id|sending_app (each part cut at 250 bytes). */
    char key[512];
    size_t fl = fac_len > 250 ? 250 : fac_len, sl = src_len > 250 ? 250 : src_len;
    memcpy(key, fac, fl);
    key[fl] = '|';
    memcpy(key + fl + 1, src, sl);
    size_t klen = fl + 1 + sl;
    char ts[40], tp[56];
    ingest_ts(s, ts, sizeof ts);
    hf_traceparent_new(tp);
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    add_span(h, HF_H_SOURCE_SYSTEM, src, src_len);
    add_span(h, HF_H_FACILITY_ID, fac, fac_len);
    add_span(h, HF_H_CONTROL_ID, m->f10.p, m->f10.len);
    add_span(h, HF_H_MESSAGE_TYPE, m->f9.p, m->f9.len);
    rd_kafka_header_add(h, HF_H_INGEST_TS, -1, ts, -1);
    rd_kafka_header_add(h, HF_H_TRACEPARENT, -1, tp, -1);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        s->rk, RD_KAFKA_V_TOPIC(s->cfg->topic), RD_KAFKA_V_KEY(key, klen),
        /* From the entry without a copy when it holds the message: the
         * entry outlives the record (freed after its delivery report). */
        RD_KAFKA_V_VALUE(e->whole ? e->data : (void *)msg, len),
        RD_KAFKA_V_MSGFLAGS(e->whole ? 0 : RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(e), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        s->inflight++;
        hf_gauge_set(s->m.inflight, (double)s->inflight);
        return;
    }
    rd_kafka_headers_destroy(h);
    bool full = err == RD_KAFKA_RESP_ERR__QUEUE_FULL;
    HF_LOG(HF_LOG_WARN, "produce_failed", HF_LCTRL(e->ctrl), HF_LID("code", rd_kafka_err2name(err)));
    hf_counter_add(full ? s->m.naks_queue : s->m.naks_kafka, 1);
    char text[160];
    snprintf(text, sizeof text, "not stored: %s", rd_kafka_err2name(err));
    mllp_entry_finish(e, HF_ACK_ERROR, full ? "queue_full" : "kafka_error", text);
}

void mllp_ingest_event(mllp_conn *c, const hf_mllp_event *ev) {
    mllp_srv *s = c->srv;
    if (ev->kind == HF_MLLP_EV_RESTART) {
        hf_counter_add(s->m.dropped_restart, 1);
        HF_LOG(HF_LOG_WARN, "frame_restarted", HF_LI("connection", c->id), HF_LID("peer", c->peer),
               HF_LI("dropped_bytes", ev->total));
        return;
    }
    hf_counter_add(s->m.received, 1);
    c->frames++;
    bool cut = false;
    bool whole = ev->kind == HF_MLLP_EV_FRAME && ev->len <= MLLP_ENTRY_WHOLE_MAX;
    mllp_entry *e = entry_new(c, ev->data, ev->len, whole, &cut);
    if (e == NULL) {
        HF_LOG(HF_LOG_ERROR, "out_of_memory", HF_LI("connection", c->id));
        mllp_conn_close(c, "out_of_memory");
        return;
    }
    /* The record's headers and key come from the whole MSH: read it again
     * from the message only when the copy is cut. */
    hf_mllp_msh full;
    const hf_mllp_msh *mp = &e->m;
    if (cut) {
        e->is_hl7 = hf_mllp_msh_read(ev->data, ev->len, &full);
        mp = &full;
    }
    const hf_mllp_msh m = *mp;
    if (e->is_hl7)
        set_ctrl(e, m.f10);
    entry_append(c, e);
    if (ev->kind == HF_MLLP_EV_OVERSIZED) {
        HF_LOG(HF_LOG_WARN, "frame_too_large", HF_LCTRL(e->ctrl), HF_LI("connection", c->id),
               HF_LID("peer", c->peer), HF_LI("bytes", ev->total), HF_LI("limit", s->cfg->max_frame));
        hf_counter_add(s->m.naks_too_large, 1);
        char text[160];
        snprintf(text, sizeof text, "message of %zu bytes exceeds the limit of %lld bytes",
                 ev->total, (long long)s->cfg->max_frame);
        mllp_entry_finish(e, HF_ACK_REJECT, "too_large", text);
        return;
    }
    if (!e->is_hl7) {
        HF_LOG(HF_LOG_WARN, "not_hl7", HF_LI("connection", c->id), HF_LID("peer", c->peer),
               HF_LI("bytes", ev->len));
        hf_counter_add(s->m.naks_not_hl7, 1);
        mllp_entry_finish(e, HF_ACK_REJECT, "not_hl7",
                          "not an HL7 message: it does not start with an MSH segment");
        return;
    }
    if (span_is(m.type, "ACK")) {
        /* A reply to nothing we sent: answering it could start an ACK loop
         * (HL7: never acknowledge an acknowledgement). */
        HF_LOG(HF_LOG_WARN, "inbound_ack_ignored", HF_LCTRL(e->ctrl), HF_LI("connection", c->id),
               HF_LID("peer", c->peer));
        hf_counter_add(s->m.acks_ignored, 1);
        e->no_reply = true;
        mllp_entry_finish(e, HF_ACK_OK, NULL, NULL);
        return;
    }
    produce(c, e, &m, ev->data, ev->len);
}

void mllp_entry_finish(mllp_entry *e, hf_ack_outcome outcome, const char *reason,
                       const char *text) {
    e->state = ENTRY_DONE;
    e->outcome = outcome;
    e->reason = reason;
    if (text != NULL)
        snprintf(e->err_text, sizeof e->err_text, "%s", text);
    if (e->conn != NULL) {
        mllp_conn_flush(e->conn);
        return;
    }
    /* The connection is gone: nobody to answer. */
    hf_counter_add(e->srv->m.unanswered, 1);
    HF_LOG(HF_LOG_INFO, "ack_undeliverable", HF_LCTRL(e->ctrl), HF_LB("stored", outcome == HF_ACK_OK));
    mllp_entry_free(e->srv, e);
}

/* Appends @p v as @p digits lowercase hex digits. */
static void put_hex(char *out, uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    }
}

char *mllp_entry_ack(mllp_srv *s, const mllp_entry *e, char *buf, size_t cap, const char **code,
                     size_t *len) {
    const hf_mllp_msh *mp = NULL;
    if (e->no_reply)
        return NULL;
    if (e->is_hl7 && e->msh_ok)
        mp = &e->m;
    *code = hf_ack_code(mp, e->outcome);
    if (*code == NULL && !s->cfg->honour_msh15)
        *code = e->outcome == HF_ACK_OK ? "CA" : e->outcome == HF_ACK_ERROR ? "CE" : "CR";
    if (*code == NULL)
        return NULL;
    /* ACK MSH-10: the process prefix and a counter (at most 20 characters). */
    char id[24];
    size_t plen = strlen(s->ack_prefix);
    memcpy(id, s->ack_prefix, plen);
    put_hex(id + plen, ++s->ack_seq, 8);
    id[plen + 8] = '\0';
    hf_ack_params p = {
        .app = s->cfg->ack_app,
        .facility = s->cfg->ack_facility,
        .control_id = id,
        .wall_us = hf_wall_us(),
        .err_code = e->outcome == HF_ACK_OK ? 0
                    : !e->is_hl7          ? HF_ACK_ERR_SEGMENT_SEQUENCE
                                          : HF_ACK_ERR_INTERNAL,
        .err_text = e->outcome == HF_ACK_OK ? NULL : e->err_text,
    };
    /* Frame: SB, the ACK, EB CR. */
    size_t need = hf_ack_build(cap > 3 ? buf + 1 : NULL, cap > 3 ? cap - 3 : 0, mp, *code, &p);
    char *out = buf;
    if (need + 3 > cap) {
        out = malloc(need + 3);
        if (out == NULL)
            return NULL;
        hf_ack_build(out + 1, need, mp, *code, &p);
    }
    out[0] = HF_MLLP_SB;
    out[need + 1] = HF_MLLP_EB;
    out[need + 2] = HF_MLLP_CR;
    *len = need + 3;
    return out;
}
