/* svc.h - hl7flow-mllp, the MLLP listener: internal types shared by its
 * files. See docs/mllp.md for behaviour and configuration.
 *
 * Shape: one libevent loop on the main thread owns every connection, the
 * listeners and the Kafka producer's callbacks (librdkafka wakes the loop
 * through a pipe when its main queue has delivery reports). Plain TCP
 * connections do their own socket I/O (sock.c); TLS ones use libevent's
 * bufferevent_openssl. Each connection
 * has a FIFO of entries, one per received frame; an entry completes when
 * Kafka's delivery report for exactly that record arrives (or at once for
 * frames that are not stored), and ACKs are written strictly in FIFO order.
 * The only other threads of ours: the readiness probe (metadata requests)
 * and the HTTP server.
 */
#ifndef MLLP_SVC_H
#define MLLP_SVC_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <librdkafka/rdkafka.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hl7flow/config.h"
#include "hl7flow/http.h"
#include "hl7flow/metrics.h"
#include "hl7flow/mllp.h"
#include "hl7flow/mllp_ack.h"
#include "hl7flow/mllp_route.h"
#include "hl7flow/status.h"

enum { TLS_AUTH_NONE = 0, TLS_AUTH_OPTIONAL = 1, TLS_AUTH_REQUIRE = 2 };

/* Settings (MLLP_* and HL7FLOW_* variables; table in main.c). */
typedef struct mllp_cfg {
    char *listen;            /* "2575,tls:2576" */
    char *topic;             /* hl7.raw.ingest */
    char *routes;            /* rules text, or @path of a file holding them */
    int64_t max_frame;       /* most bytes of one message */
    int64_t max_conns;       /* most open connections */
    int64_t max_inflight;    /* most unanswered messages per connection */
    int64_t idle_ms;         /* close a connection silent this long */
    int64_t ack_timeout_ms;  /* message.timeout.ms: no ACK later than this */
    int64_t drain_ms;        /* SIGTERM: time to answer what is in flight */
    int64_t ready_interval_ms;
    char *ack_app;           /* our MSH-3 in ACKs when MSH-5 was empty */
    char *ack_facility;
    bool honour_msh15;       /* false: never suppress an accept ACK */
    char *tls_cert, *tls_key, *tls_ca;
    int tls_client_auth;     /* TLS_AUTH_* */
    int64_t http_port;
    int log_level;
} mllp_cfg;

typedef struct mllp_srv mllp_srv;
typedef struct mllp_conn mllp_conn;

/* One listening socket. */
typedef struct mllp_listener {
    mllp_srv *srv;
    struct evconnlistener *l;
    uint16_t port; /* bound port */
    bool tls;
} mllp_listener;

enum { ENTRY_PENDING = 0, ENTRY_DONE = 1 };

/* Bytes an entry from the server's free list can hold (most HL7 messages
 * fit; `hl7flow gen` traffic: 99% under 6.3 KB); a larger entry is
 * allocated to size and freed, not kept. */
#define MLLP_ENTRY_SMALL 8192
/* Most entries kept on the free list (at most ~9 MB). */
#define MLLP_ENTRY_FREE_MAX 1024
/* Largest message an entry holds whole, so the record is produced from the
 * entry without librdkafka copying it (below librdkafka's default
 * message.copy.max.bytes, so request buffers copy it rather than keep a
 * reference); larger ones are produced with RD_KAFKA_MSG_F_COPY and the
 * entry holds only their MSH. */
#define MLLP_ENTRY_WHOLE_MAX 65535

/* One received frame awaiting its answer. It holds the message (or, when
 * the message is not stored or too large, only its MSH segment); a record
 * produced from it points into data[], so the entry lives until the
 * record's delivery report, even when its connection has gone. */
typedef struct mllp_entry {
    struct mllp_entry *next;  /* connection FIFO, or the server's free list */
    mllp_conn *conn;          /* NULL once the connection is gone */
    mllp_srv *srv;
    int64_t t0_ns;            /* frame complete */
    int state;                /* ENTRY_* */
    hf_ack_outcome outcome;
    bool is_hl7;
    bool no_reply;            /* answer nothing (an inbound ACK) */
    const char *reason;       /* NAK reason label (static string) */
    char err_text[160];       /* MSA-3 / ERR text (no message content) */
    char ctrl[72];            /* MSH-10 for log lines, NUL-terminated, cut */
    bool msh_ok;              /* m holds the MSH's fields */
    bool whole;               /* data[] is the whole message */
    hf_mllp_msh m;            /* the MSH read once; spans point into data[] */
    size_t cap;               /* bytes data[] can hold */
    size_t len;               /* bytes in data[] */
    char data[];              /* the message, or its MSH segment */
} mllp_entry;

/* A byte buffer: data is p[off .. off+len), cap bytes allocated. */
typedef struct mllp_buf {
    char *p;
    size_t off, len, cap;
} mllp_buf;

/* A connection's transport (sock.c): bev for TLS; fd, rev, wev and the two
 * buffers for plain TCP. */
typedef struct mllp_io {
    struct bufferevent *bev;  /* TLS; NULL on plain TCP */
    int fd;                   /* plain TCP socket (owned); -1 otherwise */
    struct event *rev, *wev;  /* plain: readable (persistent, idle timeout), writable */
    struct timeval idle;      /* read timeout */
    mllp_buf in;              /* plain: bytes read, not yet decoded */
    mllp_buf out;             /* plain: ACK bytes the kernel did not take yet */
    bool reading;             /* read event armed */
    bool failed;              /* plain: a send failed; reported from the loop */
    int err;                  /* errno of that failure */
} mllp_io;

struct mllp_conn {
    mllp_srv *srv;
    mllp_conn *prev, *next;   /* server list */
    mllp_io io;               /* socket or TLS bufferevent (sock.c) */
    struct event *resume_ev;  /* resumes reading outside callbacks */
    uint64_t id;
    char peer[64];            /* address:port of the client */
    uint16_t port;            /* listener port */
    bool tls;
    const hf_mllp_route *route; /* borrowed from srv->routes; may be NULL */
    hf_mllp_dec dec;
    mllp_entry *head, *tail;
    size_t npending;          /* entries in the FIFO */
    bool paused;              /* reading stopped: FIFO full or draining */
    bool in_input;            /* inside conn_input (no re-entry) */
    bool eof;                 /* the client closed its side */
    bool closing;             /* close once the output is written */
    bool close_now;           /* free from the loop (asked inside conn_input) */
    const char *close_why;    /* reason for the closing log line (static) */
    uint64_t frames, bytes_in, garbage_logged;
};

/* Metric handles (hf_metrics_*; NULL-safe). */
typedef struct mllp_metrics {
    hf_counter *received, *bytes_in, *bytes_out, *garbage, *accepted, *refused;
    hf_counter *acks[6];      /* AA AE AR CA CE CR */
    hf_counter *suppressed;   /* MSH-15 said no ACK */
    hf_counter *naks_timeout, *naks_kafka, *naks_queue, *naks_not_hl7, *naks_too_large;
    hf_counter *dropped_disconnect, *dropped_restart, *unanswered, *acks_ignored;
    hf_gauge *open, *inflight;
    hf_histogram *ack_seconds;
} mllp_metrics;

struct mllp_srv {
    mllp_cfg *cfg;
    struct event_base *base;
    SSL_CTX *tls;
    mllp_listener *listeners;
    size_t nlisteners;
    hf_mllp_routes *routes;
    rd_kafka_t *rk;
    rd_kafka_queue_t *mainq;
    int wake_fd[2];
    struct event *wake_ev, *tick_ev, *sigterm_ev, *sigint_ev;
    mllp_conn *conns;
    size_t nconns;
    size_t inflight;          /* records produced, delivery report not yet seen */
    int64_t ts_sec;           /* second of ts_text (ingest_ts cache) */
    size_t ts_len;
    char ts_text[40];
    mllp_entry *free_entries; /* reusable entries (MLLP_ENTRY_SMALL) */
    size_t nfree_entries;
    uint64_t conn_seq, ack_seq;
    char ack_prefix[12];      /* ACK MSH-10 prefix, unique per process */
    bool draining;
    int64_t drain_deadline_ms;
    atomic_bool fatal;
    hf_http *http;
    pthread_t probe;
    bool probe_started;
    pthread_mutex_t probe_lock;
    pthread_cond_t probe_cond;
    bool probe_stop;
    mllp_metrics m;
};

/* metrics.c */
void mllp_metrics_init(mllp_metrics *m);
/* Counts an ACK code written ("AA".."CR"). */
void mllp_metrics_ack(mllp_metrics *m, const char *code);

/* listen.c: parses cfg->listen and binds every listener (HF_ECONFIG on a bad
 * list, HF_EIO when a port cannot be bound); builds the TLS context first
 * when a tls: listener is configured. */
hf_status mllp_listen_start(mllp_srv *s, hf_err *err);
/* Closes every listener (drain); idempotent. */
void mllp_listen_stop(mllp_srv *s);

/* tls.c: the server TLS context from cfg->tls_* (HF_ECONFIG when files are
 * missing or do not match). */
hf_status mllp_tls_ctx(const mllp_cfg *cfg, SSL_CTX **out, hf_err *err);

/* sock.c: the transport. mllp_io_open takes @p fd (and @p ssl, NULL for
 * plain TCP) on success only; reading starts at once with read timeout
 * @p idle. Callbacks go to mllp_conn_on_input/_on_sent/_on_event. */
bool mllp_io_open(mllp_conn *c, struct event_base *base, int fd, SSL *ssl,
                  const struct timeval *idle);
/* Frees the transport and closes the socket; idempotent. */
void mllp_io_close(mllp_conn *c);
/* The first contiguous run of bytes read and not consumed (*n may be 0). */
void mllp_io_peek(mllp_conn *c, const char **p, size_t *n);
/* Drops @p n bytes from the front of the input. */
void mllp_io_consume(mllp_conn *c, size_t n);
/* Bytes read and not consumed; bytes queued and not yet sent. */
size_t mllp_io_unread(const mllp_conn *c);
size_t mllp_io_unsent(const mllp_conn *c);
/* Writes @p len bytes (copied when they cannot go out at once). A failure
 * is reported later through mllp_conn_on_event, never from this call. */
void mllp_io_write(mllp_conn *c, const char *p, size_t len);
/* Arms or disarms reading (and with it the idle timeout). */
void mllp_io_reading(mllp_conn *c, bool on);
/* OpenSSL's error for a failed TLS connection (0 on plain TCP). */
unsigned long mllp_io_tls_error(const mllp_conn *c);

/* conn.c */
/* Transport callbacks: bytes arrived; everything queued was written; EOF,
 * error or read timeout (BEV_EVENT_* flags). */
void mllp_conn_on_input(mllp_conn *c);
void mllp_conn_on_sent(mllp_conn *c);
void mllp_conn_on_event(mllp_conn *c, short what);
/* Takes ownership of accepted socket @p fd (closed on failure). */
void mllp_conn_open(mllp_srv *s, mllp_listener *l, int fd, const struct sockaddr *sa, int salen);
/* Called when @p e (whose connection is still open) is done: writes the
 * ACKs that are now at the head of its FIFO. */
void mllp_conn_flush(mllp_conn *c);
/* Stops reading on every connection and closes the idle ones (drain). */
void mllp_conn_drain_all(mllp_srv *s);
/* Closes a connection now; unanswered entries are detached. */
void mllp_conn_close(mllp_conn *c, const char *why);

/* ingest.c: turns one decoder event into an entry appended to @p c's FIFO
 * (producing the record when the frame is HL7). */
void mllp_ingest_event(mllp_conn *c, const hf_mllp_event *ev);
/* Returns @p e to the server's free list (or frees it). */
void mllp_entry_free(mllp_srv *s, mllp_entry *e);
/* Frees the free list (shutdown). */
void mllp_entry_pool_free(mllp_srv *s);
/* Marks @p e done with @p outcome; flushes its connection or frees it. */
void mllp_entry_finish(mllp_entry *e, hf_ack_outcome outcome, const char *reason,
                       const char *text);
/* Builds and frames the ACK for a done entry into @p buf (@p cap bytes) or,
 * when it does not fit, a malloc'd buffer the caller frees (result != buf).
 * Sets *code and *len. NULL when nothing is to be sent (suppressed, no
 * reply) or on allocation failure. */
char *mllp_entry_ack(mllp_srv *s, const mllp_entry *e, char *buf, size_t cap, const char **code,
                     size_t *len);

/* kafka.c */
hf_status mllp_kafka_start(mllp_srv *s, hf_err *err);
/* Serves delivery reports and errors now (non-blocking). */
void mllp_kafka_poll(mllp_srv *s);
/* Stops the probe thread, flushes for up to @p ms and destroys the client. */
void mllp_kafka_stop(mllp_srv *s, int ms);

#endif
