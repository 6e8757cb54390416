/* kafka.c - the listener's producer: acks=all, idempotent, message.timeout.ms
 * = the ACK deadline; delivery reports served on the event loop (librdkafka
 * writes a byte to a pipe when its main queue gets an event); readiness
 * ("kafka") from a probe thread that asks for the topic's metadata, and
 * from the error callback when every broker is down. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hl7flow/kafka.h"
#include "hl7flow/log.h"
#include "hl7flow/timeutil.h"
#include "svc.h"

/* Delivery report: the only place an entry learns it is stored. */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    mllp_srv *s = opaque;
    mllp_entry *e = m->_private;
    if (s->inflight > 0)
        s->inflight--;
    hf_gauge_set(s->m.inflight, (double)s->inflight);
    if (e == NULL)
        return;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        mllp_entry_finish(e, HF_ACK_OK, NULL, NULL);
        return;
    }
    bool timeout = m->err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT;
    char text[160];
    snprintf(text, sizeof text, "not stored: Kafka did not confirm the write (%s)",
             rd_kafka_err2name(m->err));
    HF_LOG(HF_LOG_WARN, "delivery_failed", HF_LCTRL(e->ctrl),
           HF_LID("code", rd_kafka_err2name(m->err)),
           HF_LI("persisted_status", rd_kafka_message_status(m)));
    hf_counter_add(timeout ? s->m.naks_timeout : s->m.naks_kafka, 1);
    mllp_entry_finish(e, HF_ACK_ERROR, timeout ? "timeout" : "kafka_error", text);
}

/* Replaces the common error bridge: same log line, plus readiness. Runs on
 * the loop thread (served by rd_kafka_poll). */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    mllp_srv *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        HF_LOG(HF_LOG_ERROR, "kafka_fatal", HF_LID("code", rd_kafka_err2name(orig)),
               HF_LERR(fatal));
        atomic_store(&s->fatal, true);
        event_base_loopbreak(s->base);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        hf_ready_set("kafka", false);
    HF_LOG(HF_LOG_WARN, "kafka_error", HF_LID("code", rd_kafka_err2name((rd_kafka_resp_err_t)err)),
           HF_LERR(reason));
}

void mllp_kafka_poll(mllp_srv *s) {
    if (s->rk == NULL)
        return;
    while (rd_kafka_poll(s->rk, 0) > 0) {
    }
}

static void wake_cb(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    /* librdkafka writes one byte per idle-to-busy change of its queue: one
     * read empties the pipe (the level-triggered event fires again if not). */
    char buf[256];
    if (read(fd, buf, sizeof buf) < 0 && errno != EAGAIN && errno != EINTR)
        HF_LOG(HF_LOG_WARN, "wake_pipe_read_failed", HF_LERR(strerror(errno)));
    mllp_kafka_poll(arg);
}

/* Probe thread: metadata for the ingest topic every ready_interval_ms; a
 * reply means a broker is reachable and the topic exists. */
static void *probe_main(void *arg) {
    mllp_srv *s = arg;
    bool last = true, first = true;
    int timeout = (int)(s->cfg->ready_interval_ms < 500 ? 500 : s->cfg->ready_interval_ms);
    pthread_mutex_lock(&s->probe_lock);
    while (!s->probe_stop) {
        pthread_mutex_unlock(&s->probe_lock);
        int count = 0;
        rd_kafka_resp_err_t err = hf_kafka_topic_partitions(s->rk, s->cfg->topic, timeout, NULL, 0,
                                                            &count);
        bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR && count > 0;
        hf_ready_set("kafka", ok);
        if (ok != last || first)
            HF_LOG(ok ? HF_LOG_INFO : HF_LOG_WARN, "kafka_reachable", HF_LB("ok", ok),
                   HF_LID("topic", s->cfg->topic), HF_LID("code", rd_kafka_err2name(err)));
        last = ok;
        first = false;
        pthread_mutex_lock(&s->probe_lock);
        if (s->probe_stop)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (s->cfg->ready_interval_ms % 1000) * 1000000;
        until.tv_sec += (time_t)(s->cfg->ready_interval_ms / 1000 + ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&s->probe_cond, &s->probe_lock, &until);
    }
    pthread_mutex_unlock(&s->probe_lock);
    return NULL;
}

hf_status mllp_kafka_start(mllp_srv *s, hf_err *err) {
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%lld", (long long)s->cfg->ack_timeout_ms);
    const char *defs[] = {"enable.idempotence", "true",
                          "acks", "all",
                          "partitioner", "murmur2_random",
                          /* An ACK waits for its batch: keep lingering short
                           * (bench/mllp shows the trade-off). */
                          "linger.ms", "1",
                          "message.timeout.ms", timeout,
                          NULL};
    rd_kafka_conf_t *conf = NULL;
    hf_status st = hf_kafka_conf_new(HF_KAFKA_PRODUCER, defs, NULL, &conf, err);
    if (st != HF_OK)
        return st;
    /* The ACK deadline is ours: an environment override of
     * message.timeout.ms would break the promise that no ACK comes later. */
    if ((st = hf_kafka_conf_set(conf, "message.timeout.ms", timeout, err)) != HF_OK) {
        rd_kafka_conf_destroy(conf);
        return st;
    }
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    char errstr[512];
    s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (s->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return hf_err_set(err, HF_ECONFIG, "producer: %s", errstr);
    }
    if (pipe2(s->wake_fd, O_NONBLOCK | O_CLOEXEC) != 0)
        return hf_err_set(err, HF_EIO, "pipe: %s", strerror(errno));
    s->mainq = rd_kafka_queue_get_main(s->rk);
    rd_kafka_queue_io_event_enable(s->mainq, s->wake_fd[1], "1", 1);
    s->wake_ev = event_new(s->base, s->wake_fd[0], EV_READ | EV_PERSIST, wake_cb, s);
    if (s->wake_ev == NULL || event_add(s->wake_ev, NULL) != 0)
        return hf_err_set(err, HF_ENOMEM, "wake event");
    /* Metadata first, so the first message does not wait for it and a
     * missing topic shows at start. */
    rd_kafka_resp_err_t merr = hf_kafka_topic_partitions(s->rk, s->cfg->topic, 10000, NULL, 0, NULL);
    if (merr != RD_KAFKA_RESP_ERR_NO_ERROR)
        HF_LOG(HF_LOG_WARN, "topic_unavailable", HF_LID("topic", s->cfg->topic),
               HF_LID("code", rd_kafka_err2name(merr)));
    hf_ready_set("kafka", merr == RD_KAFKA_RESP_ERR_NO_ERROR);
    pthread_mutex_init(&s->probe_lock, NULL);
    pthread_cond_init(&s->probe_cond, NULL);
    if (pthread_create(&s->probe, NULL, probe_main, s) != 0)
        return hf_err_set(err, HF_EIO, "probe thread: %s", strerror(errno));
    s->probe_started = true;
    return HF_OK;
}

void mllp_kafka_stop(mllp_srv *s, int ms) {
    if (s->probe_started) {
        pthread_mutex_lock(&s->probe_lock);
        s->probe_stop = true;
        pthread_cond_signal(&s->probe_cond);
        pthread_mutex_unlock(&s->probe_lock);
        pthread_join(s->probe, NULL);
        s->probe_started = false;
        pthread_cond_destroy(&s->probe_cond);
        pthread_mutex_destroy(&s->probe_lock);
    }
    if (s->rk != NULL) {
        if (s->mainq != NULL) {
            rd_kafka_queue_io_event_enable(s->mainq, -1, NULL, 0);
            rd_kafka_queue_destroy(s->mainq);
            s->mainq = NULL;
        }
        rd_kafka_resp_err_t ferr = rd_kafka_flush(s->rk, ms > 0 ? ms : 0);
        if (ferr != RD_KAFKA_RESP_ERR_NO_ERROR)
            HF_LOG(HF_LOG_WARN, "flush_incomplete", HF_LI("in_queue", rd_kafka_outq_len(s->rk)));
        rd_kafka_destroy(s->rk);
        s->rk = NULL;
    }
    if (s->wake_ev != NULL) {
        event_free(s->wake_ev);
        s->wake_ev = NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (s->wake_fd[i] >= 0)
            close(s->wake_fd[i]);
        s->wake_fd[i] = -1;
    }
}
