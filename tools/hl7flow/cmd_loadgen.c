/* cmd_loadgen.c - `hl7flow loadgen`: load for the MLLP listener the way EHR
 * interface engines send it. Many connections on one libevent loop; each
 * sends one message, waits for its ACK, checks it (MSA-2 = the MSH-10 just
 * sent, MSA-1 positive) and sends the next. Optional pacing (--rate, spread
 * over the connections) makes a steady load for latency measurements;
 * latency is then counted from the time a message was due, not the time it
 * left, so a slow ACK that delays the next send is not hidden (coordinated
 * omission).
 *
 * The generator shares the machine with what it measures, so it spends as
 * little as it can per message: plain non-blocking sockets under libevent
 * events (no bufferevents), one send() per message and one recv() per
 * readiness into a shared buffer, so a message costs two socket syscalls and
 * no epoll_ctl (the read event stays armed; the write event is armed only
 * while connecting or when a send could not take the whole frame).
 *
 * Prints one JSON line: counts, msgs/s and ACK latency percentiles over the
 * measured window (after --warmup). Exits 0 when every message got a
 * positive, matching ACK; 1 otherwise; 2 on a usage error. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli_kafka.h"
#include "commands.h"
#include "hl7flow/mllp.h"
#include "hl7flow/mllp_ack.h"
#include "hl7flow/timeutil.h"

typedef struct lg_msg {
    const char *frame; /* SB ... EB CR inside the input buffer */
    size_t frame_len;
    hf_span ctrl;      /* MSH-10 */
} lg_msg;

typedef struct lg lg;

typedef struct lg_conn {
    lg *g;
    int idx;
    int fd;
    struct event *rev;  /* readable (persistent) */
    struct event *wev;  /* writable: connect finished, or room for the rest */
    struct event *timer;
    hf_mllp_dec dec;
    bool connected;
    bool waiting;
    bool done;
    const char *out;    /* unsent part of the frame in flight */
    size_t out_len;
    int64_t due_ns;     /* when the message in flight was due */
    hf_span ctrl;       /* its MSH-10 */
} lg_conn;

struct lg {
    struct event_base *base;
    lg_msg *msgs;
    size_t nmsgs;
    size_t next_msg; /* the file's messages go out in order, one connection
                        each, so --count equal to the file's size sends each
                        message exactly once */
    lg_conn *conns;
    int nconns;
    int64_t rate;
    int64_t interval_ns;     /* per connection, when paced */
    int64_t t_start, t_measure, t_stop;
    int64_t count_limit;     /* total messages, 0 = by duration */
    int64_t sent, acked, positive, negative, mismatched, conn_errors;
    int64_t measured, measured_first_ns, measured_last_ns;
    uint32_t *lat_us;        /* measured latencies, microseconds */
    size_t nlat, caplat;
    int open;
    bool stopping;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char rbuf[65536];        /* every read lands here; the decoder copies */
};

static void lg_send(lg_conn *c);
static void conn_failed(lg_conn *c);

/* Sends what is left of the frame in flight; arms the write event when the
 * socket cannot take it all now. */
static void lg_flush(lg_conn *c) {
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n > 0) {
            c->out += n;
            c->out_len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_add(c->wev, NULL);
            return;
        }
        conn_failed(c);
        return;
    }
}

static struct timeval ns_tv(int64_t ns) {
    if (ns < 0)
        ns = 0;
    return (struct timeval){(time_t)(ns / 1000000000), (suseconds_t)(ns % 1000000000 / 1000)};
}

static void record_latency(lg *g, int64_t ns) {
    if (g->nlat == g->caplat) {
        size_t cap = g->caplat ? g->caplat * 2 : 1 << 16;
        uint32_t *n = realloc(g->lat_us, cap * sizeof *n);
        if (n == NULL)
            return;
        g->lat_us = n;
        g->caplat = cap;
    }
    int64_t us = ns > 0 ? ns / 1000 : 0;
    g->lat_us[g->nlat++] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
}

static void conn_finish(lg_conn *c) {
    if (c->done)
        return;
    c->done = true;
    if (c->rev != NULL)
        event_del(c->rev);
    if (c->wev != NULL)
        event_del(c->wev);
    if (c->timer != NULL)
        event_del(c->timer);
    c->g->open--;
    if (c->g->open == 0)
        event_base_loopbreak(c->g->base);
}

/* Reads MSA-1 and MSA-2 from an ACK. */
static bool read_msa(const char *ack, size_t len, hf_span *code, hf_span *ctrl, char fs) {
    for (size_t i = 0; i + 4 <= len; i++) {
        if ((i == 0 || ack[i - 1] == '\r' || ack[i - 1] == '\n') && memcmp(ack + i, "MSA", 3) == 0 &&
            ack[i + 3] == fs) {
            const char *p = ack + i + 4, *end = ack + len;
            const char *e = p;
            while (e < end && *e != fs && *e != '\r')
                e++;
            *code = (hf_span){p, (size_t)(e - p)};
            if (e < end && *e == fs) {
                p = e + 1;
                e = p;
                while (e < end && *e != fs && *e != '\r')
                    e++;
                *ctrl = (hf_span){p, (size_t)(e - p)};
            } else {
                *ctrl = (hf_span){p, 0};
            }
            return true;
        }
    }
    return false;
}

static void on_ack(lg_conn *c, const char *ack, size_t len) {
    lg *g = c->g;
    int64_t now = hf_mono_ns();
    if (!c->waiting) {
        g->mismatched++;
        return;
    }
    c->waiting = false;
    g->acked++;
    hf_mllp_msh m;
    hf_span code = {"", 0}, ctrl = {"", 0};
    if (!hf_mllp_msh_read(ack, len, &m) || !read_msa(ack, len, &code, &ctrl, m.fs)) {
        g->mismatched++;
    } else if (ctrl.len != c->ctrl.len || memcmp(ctrl.p, c->ctrl.p, ctrl.len) != 0) {
        g->mismatched++;
    } else if (code.len == 2 && (memcmp(code.p, "AA", 2) == 0 || memcmp(code.p, "CA", 2) == 0)) {
        g->positive++;
    } else {
        g->negative++;
    }
    if (c->due_ns >= g->t_measure && c->due_ns < g->t_stop) {
        record_latency(g, now - c->due_ns);
        if (g->measured == 0)
            g->measured_first_ns = now;
        g->measured_last_ns = now;
        g->measured++;
    }
    if (g->stopping || (g->count_limit > 0 && g->sent >= g->count_limit) || now >= g->t_stop) {
        conn_finish(c);
        return;
    }
    if (g->interval_ns > 0) {
        c->due_ns += g->interval_ns;
        if (c->due_ns > now) {
            struct timeval tv = ns_tv(c->due_ns - now);
            evtimer_add(c->timer, &tv);
            return;
        }
    } else {
        c->due_ns = now;
    }
    lg_send(c);
}

static void lg_send(lg_conn *c) {
    lg *g = c->g;
    if (g->count_limit > 0 && g->sent >= g->count_limit) {
        conn_finish(c);
        return;
    }
    const lg_msg *m = &g->msgs[g->next_msg];
    g->next_msg = (g->next_msg + 1) % g->nmsgs;
    c->ctrl = m->ctrl;
    c->waiting = true;
    if (g->interval_ns == 0)
        c->due_ns = hf_mono_ns();
    g->sent++;
    c->out = m->frame;
    c->out_len = m->frame_len;
    lg_flush(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    lg_conn *c = arg;
    if (c->g->stopping || hf_mono_ns() >= c->g->t_stop) {
        conn_finish(c);
        return;
    }
    lg_send(c);
}

/* Connected: start sending (or stagger the first send when paced). */
static void on_connected(lg_conn *c) {
    c->connected = true;
    event_add(c->rev, NULL);
    if (c->g->interval_ns > 0) {
        /* Stagger paced connections evenly over one interval. */
        c->due_ns = c->g->t_start + c->g->interval_ns * c->idx / c->g->nconns;
        struct timeval tv = ns_tv(c->due_ns - hf_mono_ns());
        evtimer_add(c->timer, &tv);
    } else {
        lg_send(c);
    }
}

/* The connection broke or the server closed it. */
static void conn_failed(lg_conn *c) {
    if (c->done)
        return;
    if (!c->g->stopping)
        c->g->conn_errors++;
    conn_finish(c);
}

static void write_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    lg_conn *c = arg;
    if (c->done)
        return;
    if (!c->connected) {
        int err = 0;
        socklen_t elen = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            conn_failed(c);
            return;
        }
        on_connected(c);
        return;
    }
    lg_flush(c);
}

static void read_cb(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    lg_conn *c = arg;
    lg *g = c->g;
    ssize_t n = recv(fd, g->rbuf, sizeof g->rbuf, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        conn_failed(c);
        return;
    }
    const char *p = g->rbuf;
    size_t left = (size_t)n;
    while (left > 0 && !c->done) {
        hf_mllp_event ev;
        size_t used = hf_mllp_dec_feed(&c->dec, p, left, &ev);
        if (used == (size_t)-1) {
            conn_failed(c);
            return;
        }
        p += used;
        left -= used;
        if (ev.kind == HF_MLLP_EV_FRAME)
            on_ack(c, ev.data, ev.len);
    }
}

/* Opens connection @p c (non-blocking connect); false when it failed at
 * once. */
static bool conn_start(lg *g, lg_conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return false;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rev = event_new(g->base, c->fd, EV_READ | EV_PERSIST, read_cb, c);
    c->wev = event_new(g->base, c->fd, EV_WRITE, write_cb, c);
    c->timer = evtimer_new(g->base, timer_cb, c);
    if (c->rev == NULL || c->wev == NULL || c->timer == NULL)
        return false;
    if (connect(c->fd, (struct sockaddr *)&g->addr, g->addrlen) == 0) {
        on_connected(c);
        return true;
    }
    if (errno != EINPROGRESS)
        return false;
    return event_add(c->wev, NULL) == 0;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    lg *g = arg;
    g->stopping = true;
    /* Connections still waiting get a grace period for their ACK. */
    for (int i = 0; i < g->nconns; i++)
        if (!g->conns[i].waiting)
            conn_finish(&g->conns[i]);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    event_base_loopbreak(((lg *)arg)->base);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const lg *g, double p) {
    if (g->nlat == 0)
        return 0;
    size_t i = (size_t)(p * (double)(g->nlat - 1) + 0.5);
    return g->lat_us[i] / 1000.0;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: hl7flow loadgen --port P [--host 127.0.0.1] --input FILE [--connections N]\n"
            "                       [--duration S] [--warmup S] [--count N] [--rate MSGS_PER_S]\n"
            "Sends the MLLP-framed messages of FILE (hl7flow gen output) over N connections,\n"
            "each waiting for the ACK of its message before sending the next, for S seconds\n"
            "(default 10; the first --warmup seconds, default 1, are not measured) or N\n"
            "messages in all. --rate paces the total send rate (0 = as fast as ACKs come);\n"
            "latency then counts from when each message was due. Prints one JSON line.\n");
}

static bool load_messages(lg *g, const char *buf, size_t len) {
    size_t pos = 0, cap = 0;
    const char *msg;
    size_t mlen;
    while (hf_mllp_next(buf, len, &pos, &msg, &mlen, NULL)) {
        if (g->nmsgs == cap) {
            cap = cap ? cap * 2 : 1024;
            lg_msg *n = realloc(g->msgs, cap * sizeof *n);
            if (n == NULL)
                return false;
            g->msgs = n;
        }
        hf_mllp_msh m;
        lg_msg *lm = &g->msgs[g->nmsgs];
        lm->frame = msg - 1;
        lm->frame_len = mlen + 3;
        lm->ctrl = hf_mllp_msh_read(msg, mlen, &m) ? m.f10 : (hf_span){"", 0};
        g->nmsgs++;
    }
    return g->nmsgs > 0;
}

int cmd_loadgen(int argc, char **argv) {
    const char *host = "127.0.0.1", *input = NULL;
    int64_t port = 0, conns = 1, duration = 10, warmup = 1, count = 0, rate = 0;
    static const struct option opts[] = {{"host", required_argument, 0, 'H'},
                                         {"port", required_argument, 0, 'p'},
                                         {"input", required_argument, 0, 'i'},
                                         {"connections", required_argument, 0, 'c'},
                                         {"duration", required_argument, 0, 'd'},
                                         {"warmup", required_argument, 0, 'w'},
                                         {"count", required_argument, 0, 'n'},
                                         {"rate", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "H:p:i:c:d:w:n:r:h", opts, NULL)) != -1) {
        switch (o) {
        case 'H': host = optarg; break;
        case 'p': if (!cli_parse_i64("--port", optarg, 1, 65535, &port)) return 2; break;
        case 'i': input = optarg; break;
        case 'c': if (!cli_parse_i64("--connections", optarg, 1, 10000, &conns)) return 2; break;
        case 'd': if (!cli_parse_i64("--duration", optarg, 1, 86400, &duration)) return 2; break;
        case 'w': if (!cli_parse_i64("--warmup", optarg, 0, 3600, &warmup)) return 2; break;
        case 'n': if (!cli_parse_i64("--count", optarg, 0, 1000000000, &count)) return 2; break;
        case 'r': if (!cli_parse_i64("--rate", optarg, 0, 10000000, &rate)) return 2; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (port == 0 || input == NULL) {
        fprintf(stderr, "loadgen: --port and --input are required\n");
        return 2;
    }
    size_t len = 0;
    char *buf = cli_read_all(input, &len);
    if (buf == NULL)
        return 1;
    lg g; /* 64 KiB of it is the read buffer: fine on the main stack */
    memset(&g, 0, sizeof g);
    int rc = 1;
    if (!load_messages(&g, buf, len)) {
        fprintf(stderr, "loadgen: no MLLP frames in %s\n", input);
        goto out;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)&g.addr;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
        fprintf(stderr, "loadgen: --host must be an IPv4 address\n");
        rc = 2;
        goto out;
    }
    g.addrlen = sizeof *sin;
    /* Precise timers: libevent's default monotonic clock on Linux is the
     * coarse one (~4 ms ticks), which would bunch paced sends. */
    struct event_config *ec = event_config_new();
    if (ec != NULL) {
        event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
        g.base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    g.nconns = (int)conns;
    g.rate = rate;
    g.count_limit = count;
    g.interval_ns = rate > 0 ? (int64_t)(1e9 * (double)conns / (double)rate) : 0;
    g.conns = calloc((size_t)conns, sizeof *g.conns);
    if (g.base == NULL || g.conns == NULL)
        goto out;
    g.t_start = hf_mono_ns();
    g.t_measure = count > 0 ? g.t_start : g.t_start + warmup * 1000000000LL;
    g.t_stop = count > 0 ? INT64_MAX : g.t_measure + duration * 1000000000LL;
    for (int i = 0; i < g.nconns; i++)
        g.conns[i].fd = -1;
    for (int i = 0; i < g.nconns; i++) {
        lg_conn *c = &g.conns[i];
        c->g = &g;
        c->idx = i;
        hf_mllp_dec_init(&c->dec, 1 << 20);
        g.open++;
        if (!conn_start(&g, c)) {
            g.conn_errors++;
            conn_finish(c);
        }
    }
    struct event *stop = NULL, *grace = NULL;
    if (count == 0) {
        stop = evtimer_new(g.base, stop_cb, &g);
        struct timeval tv = {(time_t)(warmup + duration), 0};
        evtimer_add(stop, &tv);
        grace = evtimer_new(g.base, grace_cb, &g);
        struct timeval gv = {(time_t)(warmup + duration + 10), 0};
        evtimer_add(grace, &gv);
    }
    if (g.open > 0)
        event_base_dispatch(g.base);
    double secs = g.measured > 1 ? (double)(g.measured_last_ns - g.measured_first_ns) / 1e9 : 0;
    qsort(g.lat_us, g.nlat, sizeof *g.lat_us, cmp_u32);
    int64_t unanswered = g.sent - g.acked;
    printf("{\"connections\":%d,\"rate\":%lld,\"sent\":%lld,\"acked\":%lld,\"positive\":%lld,"
           "\"negative\":%lld,\"mismatched\":%lld,\"unanswered\":%lld,\"connection_errors\":%lld,"
           "\"measured\":%lld,\"seconds\":%.3f,\"msgs_per_s\":%.1f,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
           g.nconns, (long long)rate, (long long)g.sent, (long long)g.acked, (long long)g.positive,
           (long long)g.negative, (long long)g.mismatched, (long long)unanswered,
           (long long)g.conn_errors, (long long)g.measured, secs,
           secs > 0 ? (double)g.measured / secs : 0.0, pct_ms(&g, 0.50), pct_ms(&g, 0.99),
           pct_ms(&g, 0.999), g.nlat ? g.lat_us[g.nlat - 1] / 1000.0 : 0.0);
    rc = g.negative == 0 && g.mismatched == 0 && g.conn_errors == 0 && unanswered == 0 &&
                 g.positive > 0
             ? 0
             : 1;
    if (stop != NULL)
        event_free(stop);
    if (grace != NULL)
        event_free(grace);
out:
    for (int i = 0; g.conns != NULL && i < g.nconns; i++) {
        lg_conn *c = &g.conns[i];
        if (c->rev != NULL)
            event_free(c->rev);
        if (c->wev != NULL)
            event_free(c->wev);
        if (c->timer != NULL)
            event_free(c->timer);
        if (c->fd >= 0)
            close(c->fd);
        hf_mllp_dec_fini(&g.conns[i].dec);
    }
    free(g.conns);
    if (g.base != NULL)
        event_base_free(g.base);
    free(g.lat_us);
    free(g.msgs);
    free(buf);
    return rc;
}
