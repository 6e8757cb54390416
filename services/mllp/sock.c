/* sock.c - a connection's byte transport, one interface for conn.c over
 * two implementations:
 *  - plain TCP goes through the socket itself: one persistent readable
 *    event (which also carries the idle timeout), recv() into the
 *    connection's input buffer, send() straight from the ACK being written.
 *    A message then costs one recv and one send: no FIONREAD ioctl per read,
 *    no evbuffer chains, no event re-arming (the writable event is armed only
 *    when the kernel cannot take a whole ACK);
 *  - TLS goes through libevent's bufferevent_openssl.
 * Either way, conn.c is called back with mllp_conn_on_input (new bytes),
 * mllp_conn_on_sent (everything queued has been written) and
 * mllp_conn_on_event (BEV_EVENT_EOF / _ERROR / _TIMEOUT / _CONNECTED). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "svc.h"

/* First size of a plain connection's input buffer; it grows only when a
 * paused connection still has to take more (it never does in practice:
 * reading stops while paused). */
#define IN_FIRST 16384

static void bev_read_cb(struct bufferevent *bev, void *arg) {
    (void)bev;
    mllp_conn_on_input(arg);
}

static void bev_write_cb(struct bufferevent *bev, void *arg) {
    (void)bev;
    mllp_conn_on_sent(arg);
}

static void bev_event_cb(struct bufferevent *bev, short what, void *arg) {
    mllp_conn *c = arg;
    /* A read timeout makes the bufferevent stop reading; on_event decides
     * whether to read again. */
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING))
        c->io.reading = false;
    if (what & BEV_EVENT_EOF)
        c->io.reading = false;
    (void)bev;
    mllp_conn_on_event(c, what);
}

/* Makes room for at least @p want more bytes at the end of @p b. */
static bool buf_room(mllp_buf *b, size_t want) {
    if (b->len == 0)
        b->off = 0;
    if (b->cap - b->off - b->len >= want)
        return true;
    if (b->off > 0) {
        memmove(b->p, b->p + b->off, b->len);
        b->off = 0;
        if (b->cap - b->len >= want)
            return true;
    }
    size_t cap = b->cap ? b->cap : IN_FIRST;
    while (cap - b->len < want)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

static void raw_read_cb(evutil_socket_t fd, short what, void *arg) {
    mllp_conn *c = arg;
    if (what & EV_TIMEOUT) {
        mllp_conn_on_event(c, BEV_EVENT_READING | BEV_EVENT_TIMEOUT);
        return;
    }
    mllp_buf *in = &c->io.in;
    if (!buf_room(in, 4096)) {
        event_del(c->io.rev);
        c->io.reading = false;
        errno = ENOMEM;
        mllp_conn_on_event(c, BEV_EVENT_READING | BEV_EVENT_ERROR);
        return;
    }
    ssize_t n = recv(fd, in->p + in->off + in->len, in->cap - in->off - in->len, 0);
    if (n > 0) {
        in->len += (size_t)n;
        mllp_conn_on_input(c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    /* EOF or an error: no more reading either way. */
    event_del(c->io.rev);
    c->io.reading = false;
    mllp_conn_on_event(c, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR));
}

/* Sends queued output; true when all of it has gone. Sets errno and
 * returns false on a hard error (io.failed). */
static bool raw_send_queued(mllp_conn *c) {
    mllp_buf *out = &c->io.out;
    while (out->len > 0) {
        ssize_t n = send(c->io.fd, out->p + out->off, out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            out->off += (size_t)n;
            out->len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return false;
        c->io.failed = true;
        c->io.err = n < 0 ? errno : EPIPE;
        return false;
    }
    out->off = 0;
    return true;
}

static void raw_write_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    mllp_conn *c = arg;
    if (!c->io.failed && raw_send_queued(c)) {
        mllp_conn_on_sent(c);
        return;
    }
    if (c->io.failed) {
        event_del(c->io.rev);
        c->io.reading = false;
        errno = c->io.err;
        mllp_conn_on_event(c, BEV_EVENT_WRITING | BEV_EVENT_ERROR);
        return;
    }
    event_add(c->io.wev, NULL);
}

bool mllp_io_open(mllp_conn *c, struct event_base *base, int fd, SSL *ssl,
                  const struct timeval *idle) {
    mllp_io *io = &c->io;
    io->fd = fd;
    io->idle = *idle;
    if (ssl != NULL) {
        io->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                 BEV_OPT_CLOSE_ON_FREE);
        if (io->bev == NULL)
            return false; /* the caller still owns fd and ssl */
        io->fd = -1;      /* owned by the bufferevent */
        bufferevent_openssl_set_allow_dirty_shutdown(io->bev, 1);
        bufferevent_setcb(io->bev, bev_read_cb, bev_write_cb, bev_event_cb, c);
        bufferevent_set_timeouts(io->bev, idle, NULL);
        bufferevent_enable(io->bev, EV_READ | EV_WRITE);
        io->reading = true;
        return true;
    }
    io->rev = event_new(base, fd, EV_READ | EV_PERSIST, raw_read_cb, c);
    io->wev = event_new(base, fd, EV_WRITE, raw_write_cb, c);
    if (io->rev == NULL || io->wev == NULL || event_add(io->rev, idle) != 0) {
        io->fd = -1; /* the caller still owns fd */
        mllp_io_close(c);
        return false;
    }
    io->reading = true;
    return true;
}

void mllp_io_close(mllp_conn *c) {
    mllp_io *io = &c->io;
    if (io->bev != NULL)
        bufferevent_free(io->bev); /* closes the socket */
    io->bev = NULL;
    if (io->rev != NULL)
        event_free(io->rev);
    if (io->wev != NULL)
        event_free(io->wev);
    io->rev = io->wev = NULL;
    if (io->fd >= 0)
        close(io->fd);
    io->fd = -1;
    free(io->in.p);
    free(io->out.p);
    memset(&io->in, 0, sizeof io->in);
    memset(&io->out, 0, sizeof io->out);
}

void mllp_io_peek(mllp_conn *c, const char **p, size_t *n) {
    if (c->io.bev != NULL) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(bufferevent_get_input(c->io.bev), -1, NULL, &v, 1) < 1) {
            *p = NULL;
            *n = 0;
            return;
        }
        *p = v.iov_base;
        *n = v.iov_len;
        return;
    }
    *p = c->io.in.p + c->io.in.off;
    *n = c->io.in.len;
}

void mllp_io_consume(mllp_conn *c, size_t n) {
    if (c->io.bev != NULL) {
        evbuffer_drain(bufferevent_get_input(c->io.bev), n);
        return;
    }
    c->io.in.off += n;
    c->io.in.len -= n;
    if (c->io.in.len == 0)
        c->io.in.off = 0;
}

size_t mllp_io_unread(const mllp_conn *c) {
    if (c->io.bev != NULL)
        return evbuffer_get_length(bufferevent_get_input(c->io.bev));
    return c->io.in.len;
}

size_t mllp_io_unsent(const mllp_conn *c) {
    if (c->io.bev != NULL)
        return evbuffer_get_length(bufferevent_get_output(c->io.bev));
    return c->io.out.len;
}

void mllp_io_write(mllp_conn *c, const char *p, size_t len) {
    mllp_io *io = &c->io;
    if (io->bev != NULL) {
        bufferevent_write(io->bev, p, len);
        return;
    }
    if (io->out.len == 0 && !io->failed) {
        ssize_t n = send(io->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == (ssize_t)len)
            return;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
        /* EAGAIN, or an error: the writable event retries and reports it
         * from the loop, never from inside the caller. */
    }
    if (!buf_room(&io->out, len)) {
        io->failed = true;
        io->err = ENOMEM;
        event_active(io->wev, EV_WRITE, 0);
        return;
    }
    memcpy(io->out.p + io->out.off + io->out.len, p, len);
    io->out.len += len;
    event_add(io->wev, NULL);
}

void mllp_io_reading(mllp_conn *c, bool on) {
    mllp_io *io = &c->io;
    if (io->bev != NULL) {
        if (on)
            bufferevent_enable(io->bev, EV_READ);
        else
            bufferevent_disable(io->bev, EV_READ);
        io->reading = on;
        return;
    }
    if (on == io->reading)
        return;
    if (on)
        event_add(io->rev, &io->idle);
    else
        event_del(io->rev);
    io->reading = on;
}

unsigned long mllp_io_tls_error(const mllp_conn *c) {
    return c->io.bev != NULL ? bufferevent_get_openssl_error(c->io.bev) : 0;
}
