/* conn.c - one client connection: read bytes -> frame decoder -> entries;
 * ACKs written in the order the frames arrived; limits (unanswered messages
 * per connection, idle time) and every way a connection ends, each with one
 * log line that names the connection and never message content.
 *
 * Reading pauses while the connection has max_inflight unanswered messages
 * (a sender that pipelines gets back-pressure; one that waits for each ACK,
 * the usual case, never hits it) and during a drain. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "hl7flow/log.h"
#include "hl7flow/timeutil.h"
#include "svc.h"

static void conn_input(mllp_conn *c);

static void list_remove(mllp_srv *s, mllp_conn *c) {
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void conn_free(mllp_conn *c, const char *why) {
    mllp_srv *s = c->srv;
    size_t unanswered = 0;
    for (mllp_entry *e = c->head, *next; e != NULL; e = next) {
        next = e->next;
        e->next = NULL;
        if (e->state == ENTRY_PENDING) {
            e->conn = NULL; /* freed by its delivery report */
            unanswered++;
        } else {
            mllp_entry_free(s, e);
            unanswered++;
            hf_counter_add(s->m.unanswered, 1);
        }
    }
    c->head = c->tail = NULL;
    size_t partial = hf_mllp_dec_pending(&c->dec);
    if (partial > 0) {
        hf_counter_add(s->m.dropped_disconnect, 1);
        HF_LOG(HF_LOG_WARN, "connection_closed_mid_frame", HF_LI("connection", c->id),
               HF_LID("peer", c->peer), HF_LI("partial_bytes", partial));
    }
    HF_LOG(HF_LOG_INFO, "connection_closed", HF_LI("connection", c->id), HF_LID("peer", c->peer),
           HF_LID("reason", why), HF_LI("messages", c->frames), HF_LI("bytes", c->bytes_in),
           HF_LI("garbage_bytes", c->dec.garbage), HF_LI("unanswered", unanswered));
    list_remove(s, c);
    s->nconns--;
    hf_gauge_set(s->m.open, (double)s->nconns);
    mllp_io_close(c);
    if (c->resume_ev != NULL)
        event_free(c->resume_ev);
    hf_mllp_dec_fini(&c->dec);
    free(c);
}

void mllp_conn_close(mllp_conn *c, const char *why) {
    if (c->in_input) {
        /* Inside conn_input: free it from the loop, after the call chain
         * that still uses it has returned. */
        c->closing = true;
        c->close_now = true;
        c->close_why = why;
        mllp_io_reading(c, false);
        event_active(c->resume_ev, EV_TIMEOUT, 0);
        return;
    }
    conn_free(c, why);
}

/* Closes once everything written has left (or at once if nothing is
 * queued). */
static void conn_close_after_write(mllp_conn *c, const char *why) {
    if (mllp_io_unsent(c) == 0) {
        mllp_conn_close(c, why);
        return;
    }
    c->closing = true;
    c->close_why = why;
    mllp_io_reading(c, false);
}

static void conn_pause(mllp_conn *c) {
    if (!c->paused) {
        c->paused = true;
        mllp_io_reading(c, false);
    }
}

static void resume_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    mllp_conn *c = arg;
    if (c->close_now) {
        conn_free(c, c->close_why);
        return;
    }
    if (!c->paused || c->srv->draining || c->closing)
        return;
    c->paused = false;
    if (!c->eof)
        mllp_io_reading(c, true);
    /* Frames already buffered would otherwise wait for the next bytes. */
    conn_input(c);
    if (c->eof && c->npending == 0 && !c->closing && !c->close_now)
        conn_close_after_write(c, "client_closed");
}

void mllp_conn_flush(mllp_conn *c) {
    mllp_srv *s = c->srv;
    while (c->head != NULL && c->head->state == ENTRY_DONE) {
        mllp_entry *e = c->head;
        c->head = e->next;
        if (c->head == NULL)
            c->tail = NULL;
        c->npending--;
        const char *code = NULL;
        size_t len = 0;
        char small[1024];
        char *ack = mllp_entry_ack(s, e, small, sizeof small, &code, &len);
        if (ack != NULL) {
            mllp_io_write(c, ack, len);
            hf_counter_add(s->m.bytes_out, len);
            mllp_metrics_ack(&s->m, code);
            hf_histogram_observe(s->m.ack_seconds, (double)(hf_mono_ns() - e->t0_ns) / 1e9);
            if (ack != small)
                free(ack);
        } else if (!e->no_reply) {
            hf_counter_add(s->m.suppressed, 1);
        }
        if (e->outcome != HF_ACK_OK)
            HF_LOG(HF_LOG_INFO, "nak_sent", HF_LCTRL(e->ctrl), HF_LI("connection", c->id),
                   HF_LID("code", code != NULL ? code : "none"),
                   HF_LID("reason", e->reason != NULL ? e->reason : "unknown"));
        mllp_entry_free(s, e);
    }
    /* A paused connection may still hold whole frames the client sent
     * before closing its side: they are answered before the close. */
    bool unread = c->paused && mllp_io_unread(c) > 0;
    if (c->npending == 0 && (s->draining || (c->eof && !unread))) {
        if (unread) /* draining: never read, never acknowledged; the sender resends */
            HF_LOG(HF_LOG_WARN, "unread_input_at_drain", HF_LI("connection", c->id),
                   HF_LI("bytes", (int64_t)mllp_io_unread(c)));
        conn_close_after_write(c, c->eof ? "client_closed" : "drain");
        return;
    }
    if (c->paused && !s->draining && c->npending < (size_t)s->cfg->max_inflight && !c->in_input)
        event_active(c->resume_ev, EV_TIMEOUT, 0);
}

/* Feeds buffered input to the decoder, one event at a time, until the input
 * is used up or the connection must pause. */
static void conn_input(mllp_conn *c) {
    mllp_srv *s = c->srv;
    c->in_input = true;
    while (!c->paused && !c->closing) {
        const char *p;
        size_t n;
        mllp_io_peek(c, &p, &n);
        if (n == 0)
            break;
        hf_mllp_event ev;
        uint64_t garbage0 = c->dec.garbage;
        size_t used = hf_mllp_dec_feed(&c->dec, p, n, &ev);
        if (used == (size_t)-1) {
            mllp_conn_close(c, "out_of_memory"); /* deferred */
            break;
        }
        mllp_io_consume(c, used);
        c->bytes_in += used;
        hf_counter_add(s->m.bytes_in, used);
        if (c->dec.garbage != garbage0) {
            hf_counter_add(s->m.garbage, c->dec.garbage - garbage0);
            if (c->garbage_logged++ == 0)
                HF_LOG(HF_LOG_WARN, "garbage_between_frames", HF_LI("connection", c->id),
                       HF_LID("peer", c->peer), HF_LI("bytes", c->dec.garbage - garbage0));
        }
        if (ev.kind == HF_MLLP_EV_NONE)
            continue;
        /* May finish the entry at once (flush) or ask for a close, which
         * is deferred while in_input is set. */
        mllp_ingest_event(c, &ev);
        if (c->closing)
            break;
        if (c->npending >= (size_t)s->cfg->max_inflight)
            conn_pause(c);
    }
    c->in_input = false;
}

void mllp_conn_on_input(mllp_conn *c) {
    conn_input(c);
}

void mllp_conn_on_sent(mllp_conn *c) {
    if (c->closing && !c->close_now && mllp_io_unsent(c) == 0)
        mllp_conn_close(c, c->close_why);
}

void mllp_conn_on_event(mllp_conn *c, short what) {
    if (what & BEV_EVENT_CONNECTED)
        return;
    if (what & BEV_EVENT_TIMEOUT) {
        if (c->npending > 0 || c->paused || c->closing) {
            /* Waiting on us, not idle. */
            if (!c->paused && !c->closing)
                mllp_io_reading(c, true);
            return;
        }
        HF_LOG(HF_LOG_INFO, "connection_idle_timeout", HF_LI("connection", c->id),
               HF_LID("peer", c->peer), HF_LI("idle_ms", c->srv->cfg->idle_ms));
        mllp_conn_close(c, "idle_timeout");
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        unsigned long ssl_err = mllp_io_tls_error(c);
        char text[256];
        if (ssl_err != 0)
            ERR_error_string_n(ssl_err, text, sizeof text);
        else
            snprintf(text, sizeof text, "%s", strerror(errno));
        if (ssl_err != 0)
            HF_LOG(HF_LOG_WARN, "tls_error", HF_LI("connection", c->id), HF_LID("peer", c->peer),
                   HF_LERR(text));
        else
            HF_LOG(HF_LOG_WARN, "connection_error", HF_LI("connection", c->id),
                   HF_LID("peer", c->peer), HF_LERR(text));
        mllp_conn_close(c, "error");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        c->eof = true;
        /* Frames fully received before the EOF are still answered. */
        conn_input(c);
        if (c->close_now)
            return; /* already scheduled */
        if (c->npending == 0)
            conn_close_after_write(c, "client_closed");
        else
            mllp_io_reading(c, false);
    }
}

static void set_socket_options(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Half-open connections (a peer that vanished) are found by keepalive
     * probes: idle 60 s, every 10 s, 6 tries. */
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    int idle = 60, intvl = 10, cnt = 6;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

static void format_peer(const struct sockaddr *sa, char *out, size_t cap) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, cap, "%s:%u", host, port);
}

void mllp_conn_open(mllp_srv *s, mllp_listener *l, int fd, const struct sockaddr *sa, int salen) {
    (void)salen;
    char peer[64];
    format_peer(sa, peer, sizeof peer);
    if (s->draining || s->nconns >= (size_t)s->cfg->max_conns) {
        hf_counter_add(s->m.refused, 1);
        HF_LOG(HF_LOG_WARN, "connection_refused", HF_LID("peer", peer), HF_LI("port", l->port),
               HF_LID("reason", s->draining ? "draining" : "max_connections"),
               HF_LI("open", s->nconns), HF_LI("limit", s->cfg->max_conns));
        close(fd);
        return;
    }
    mllp_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return;
    }
    c->srv = s;
    c->id = ++s->conn_seq;
    c->port = l->port;
    c->tls = l->tls;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->route = hf_mllp_routes_match(s->routes, l->port, sa);
    c->io.fd = -1;
    hf_mllp_dec_init(&c->dec, (size_t)s->cfg->max_frame);
    set_socket_options(fd);
    struct timeval idle = {(time_t)(s->cfg->idle_ms / 1000), (suseconds_t)((s->cfg->idle_ms % 1000) * 1000)};
    SSL *ssl = l->tls ? SSL_new(s->tls) : NULL;
    c->resume_ev = event_new(s->base, -1, 0, resume_cb, c);
    bool ok = c->resume_ev != NULL && (!l->tls || ssl != NULL) &&
              mllp_io_open(c, s->base, fd, ssl, &idle);
    if (!ok) {
        HF_LOG(HF_LOG_ERROR, "connection_setup_failed", HF_LID("peer", peer));
        if (ssl != NULL)
            SSL_free(ssl);
        close(fd);
        if (c->resume_ev != NULL)
            event_free(c->resume_ev);
        hf_mllp_dec_fini(&c->dec);
        free(c);
        return;
    }
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    hf_gauge_set(s->m.open, (double)s->nconns);
    hf_counter_add(s->m.accepted, 1);
    HF_LOG(HF_LOG_INFO, "connection_opened", HF_LI("connection", c->id), HF_LID("peer", c->peer),
           HF_LI("port", c->port), HF_LB("tls", c->tls),
           HF_LID("source_system", c->route != NULL && c->route->source[0] ? c->route->source : "MSH-3"),
           HF_LID("facility_id", c->route != NULL && c->route->facility[0] ? c->route->facility : "MSH-4"),
           HF_LI("route_line", c->route != NULL ? c->route->line : 0));
}

void mllp_conn_drain_all(mllp_srv *s) {
    for (mllp_conn *c = s->conns, *next; c != NULL; c = next) {
        next = c->next;
        conn_pause(c);
        if (c->npending == 0)
            conn_close_after_write(c, "drain");
    }
}
