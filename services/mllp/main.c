/* main.c - hl7flow-mllp: configuration, start-up, the event loop and the
 * SIGTERM drain (svc.h, docs/mllp.md).
 *
 * Exit status as the stages (stage.h): 0 after a clean drain, 1 on a start-up
 * failure or a fatal Kafka error, 2 on bad configuration. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hl7flow/log.h"
#include "hl7flow/timeutil.h"
#include "svc.h"

#define V(name, type, def, field, min, max, choices, help) \
    {name, type, def, offsetof(mllp_cfg, field), min, max, choices, help}

static const hf_cfg_var MLLP_VARS[] = {
    V("MLLP_LISTEN", HF_CFG_STR, "2575", listen, 0, 0, NULL,
      "listeners, comma-separated [tls:][host:]port (\"2575,tls:2576\"); port 0 = ephemeral"),
    V("MLLP_TOPIC", HF_CFG_STR, "hl7.raw.ingest", topic, 0, 0, NULL,
      "topic every received message is produced to"),
    V("MLLP_ROUTES", HF_CFG_STR, "", routes, 0, 0, NULL,
      "source_system/facility_id rules by listener port and client CIDR, or @FILE holding them "
      "(docs/mllp.md); unmatched connections use MSH-3/MSH-4"),
    V("MLLP_MAX_FRAME_BYTES", HF_CFG_INT, "4194304", max_frame, 64, 1073741824, NULL,
      "largest message accepted; a larger frame is read to its end and answered AR/CR"),
    V("MLLP_MAX_CONNECTIONS", HF_CFG_INT, "1024", max_conns, 1, 1000000, NULL,
      "most open client connections; more are closed at accept"),
    V("MLLP_MAX_INFLIGHT", HF_CFG_INT, "64", max_inflight, 1, 100000, NULL,
      "most unanswered messages per connection before reading pauses (pipelining senders)"),
    V("MLLP_IDLE_TIMEOUT_MS", HF_CFG_INT, "600000", idle_ms, 100, 86400000, NULL,
      "close a connection that sent nothing for this long while nothing was owed to it"),
    V("MLLP_ACK_TIMEOUT_MS", HF_CFG_INT, "10000", ack_timeout_ms, 100, 900000, NULL,
      "ACK deadline: Kafka's message.timeout.ms; a message not confirmed by then gets AE/CE"),
    V("MLLP_DRAIN_TIMEOUT_MS", HF_CFG_INT, "15000", drain_ms, 0, 600000, NULL,
      "on SIGTERM, time to answer the messages in flight before closing connections"),
    V("MLLP_READY_INTERVAL_MS", HF_CFG_INT, "1000", ready_interval_ms, 100, 600000, NULL,
      "how often the readiness probe asks Kafka for the topic's metadata"),
    V("MLLP_ACK_APP", HF_CFG_STR, "HL7FLOW", ack_app, 0, 0, NULL,
      "MSH-3 of ACKs when the message's MSH-5 (receiving application) is empty"),
    V("MLLP_ACK_FACILITY", HF_CFG_STR, "", ack_facility, 0, 0, NULL,
      "MSH-4 of ACKs when the message's MSH-6 (receiving facility) is empty"),
    V("MLLP_HONOUR_MSH15", HF_CFG_BOOL, "true", honour_msh15, 0, 0, NULL,
      "enhanced mode: send the accept ACK only when MSH-15 asks for it (NE never, ER on errors, "
      "SU on success); false = always send it, for senders that set NE yet wait for an ACK"),
    V("MLLP_TLS_CERT", HF_CFG_STR, "", tls_cert, 0, 0, NULL,
      "PEM certificate chain for tls: listeners"),
    V("MLLP_TLS_KEY", HF_CFG_STR, "", tls_key, 0, 0, NULL, "PEM private key for tls: listeners"),
    V("MLLP_TLS_CA", HF_CFG_STR, "", tls_ca, 0, 0, NULL,
      "PEM CA certificates that client certificates must chain to"),
    V("MLLP_TLS_CLIENT_AUTH", HF_CFG_ENUM, "none", tls_client_auth, 0, 0, "none|optional|require",
      "client certificates: none; optional (verified when sent); require"),
    V("HL7FLOW_HTTP_PORT", HF_CFG_INT, "8080", http_port, -1, 65535, NULL,
      "port of /healthz, /readyz, /metrics; 0 = ephemeral, -1 = off"),
    V("HL7FLOW_LOG_LEVEL", HF_CFG_ENUM, "info", log_level, 0, 0, "debug|info|warn|error",
      "lowest level logged"),
};

static const hf_cfg_table TABLE = {"MLLP listener settings", MLLP_VARS,
                                   sizeof MLLP_VARS / sizeof MLLP_VARS[0]};

static const char SYNOPSIS[] =
    "hl7flow-mllp: receive HL7 v2 over MLLP (TCP or TLS), store each message in Kafka "
    "(acks=all, idempotent) and ACK only once it is stored";

/* MLLP_ROUTES: the text itself, or @path of a file holding it. */
static hf_status load_routes(mllp_srv *s, hf_err *err) {
    const char *text = s->cfg->routes;
    char *file = NULL;
    if (text[0] == '@') {
        FILE *f = fopen(text + 1, "rb");
        if (f == NULL)
            return hf_err_set(err, HF_ECONFIG, "MLLP_ROUTES: cannot open %s", text + 1);
        size_t cap = 1 << 20;
        file = malloc(cap + 1);
        size_t n = file != NULL ? fread(file, 1, cap, f) : 0;
        bool whole = file != NULL && feof(f) && !ferror(f);
        fclose(f);
        if (file == NULL)
            return hf_err_set(err, HF_ENOMEM, "MLLP_ROUTES");
        if (!whole) {
            free(file);
            return hf_err_set(err, HF_ECONFIG, "MLLP_ROUTES: %s is larger than 1 MiB or unreadable",
                              text + 1);
        }
        file[n] = '\0';
        text = file;
    }
    hf_err perr = {0};
    hf_status st = hf_mllp_routes_parse(text, &s->routes, &perr);
    free(file);
    if (st != HF_OK)
        return hf_err_set(err, st, "MLLP_ROUTES: %s", perr.msg);
    HF_LOG(HF_LOG_INFO, "routes_loaded", HF_LI("rules", hf_mllp_routes_count(s->routes)));
    return HF_OK;
}

static void start_drain(mllp_srv *s, const char *why) {
    if (s->draining)
        return;
    s->draining = true;
    s->drain_deadline_ms = hf_mono_ms() + s->cfg->drain_ms;
    hf_ready_set("listening", false);
    HF_LOG(HF_LOG_INFO, "draining", HF_LID("reason", why), HF_LI("connections", s->nconns),
           HF_LI("inflight", s->inflight), HF_LI("deadline_ms", s->cfg->drain_ms));
    mllp_listen_stop(s);
    mllp_conn_drain_all(s);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    start_drain(arg, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void tick_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    mllp_srv *s = arg;
    mllp_kafka_poll(s); /* backup for the wake-up pipe */
    if (atomic_load(&s->fatal) || (s->draining && (s->nconns == 0 || hf_mono_ms() >= s->drain_deadline_ms)))
        event_base_loopbreak(s->base);
}

static hf_status srv_start(mllp_srv *s, hf_err *err) {
    hf_status st;
    snprintf(s->ack_prefix, sizeof s->ack_prefix, "A%06x",
             (unsigned)((hf_wall_us() / 1000000) ^ ((int64_t)getpid() << 8)) & 0xffffffu);
    if ((st = load_routes(s, err)) != HF_OK)
        return st;
    s->base = event_base_new();
    if (s->base == NULL)
        return hf_err_set(err, HF_ENOMEM, "event_base_new");
    hf_ready_set("kafka", false);
    hf_ready_set("listening", false);
    if (s->cfg->http_port >= 0 &&
        (st = hf_http_start((uint16_t)s->cfg->http_port, &s->http, err)) != HF_OK)
        return st;
    if ((st = mllp_kafka_start(s, err)) != HF_OK)
        return st;
    if ((st = mllp_listen_start(s, err)) != HF_OK)
        return st;
    s->sigterm_ev = evsignal_new(s->base, SIGTERM, signal_cb, s);
    s->sigint_ev = evsignal_new(s->base, SIGINT, signal_cb, s);
    s->tick_ev = event_new(s->base, -1, EV_PERSIST, tick_cb, s);
    struct timeval tick = {0, 100000};
    if (s->sigterm_ev == NULL || s->sigint_ev == NULL || s->tick_ev == NULL ||
        event_add(s->sigterm_ev, NULL) != 0 || event_add(s->sigint_ev, NULL) != 0 ||
        event_add(s->tick_ev, &tick) != 0)
        return hf_err_set(err, HF_ENOMEM, "events");
    hf_ready_set("listening", true);
    HF_LOG(HF_LOG_INFO, "mllp_started", HF_LID("topic", s->cfg->topic),
           HF_LI("listeners", s->nlisteners), HF_LI("ack_timeout_ms", s->cfg->ack_timeout_ms),
           HF_LI("max_frame_bytes", s->cfg->max_frame), HF_LI("max_connections", s->cfg->max_conns),
           HF_LI("http_port", s->http != NULL ? hf_http_port(s->http) : -1));
    return HF_OK;
}

static void srv_stop(mllp_srv *s) {
    while (s->conns != NULL)
        mllp_conn_close(s->conns, s->draining ? "drain_timeout" : "shutdown");
    mllp_listen_stop(s);
    int64_t left = s->draining ? s->drain_deadline_ms - hf_mono_ms() : 0;
    mllp_kafka_stop(s, (int)(left > 1000 ? left : 1000));
    mllp_entry_pool_free(s);
    if (s->sigterm_ev != NULL)
        event_free(s->sigterm_ev);
    if (s->sigint_ev != NULL)
        event_free(s->sigint_ev);
    if (s->tick_ev != NULL)
        event_free(s->tick_ev);
    free(s->listeners);
    if (s->tls != NULL)
        SSL_CTX_free(s->tls);
    hf_mllp_routes_free(s->routes);
    if (s->base != NULL)
        event_base_free(s->base);
    hf_http_stop(s->http);
}

int main(int argc, char **argv) {
    hf_log_init("mllp");
    static mllp_cfg cfg;
    static mllp_srv srv;
    bool dump = false;
    int ar = hf_cfg_args(argc, argv, SYNOPSIS, &TABLE, 1, &dump);
    if (ar == 1)
        return 0;
    if (ar < 0)
        return 2;
    hf_err err = {0};
    int rc = 1;
    srv.cfg = &cfg;
    srv.wake_fd[0] = srv.wake_fd[1] = -1;
    if (hf_cfg_load(&TABLE, &cfg, &err) != HF_OK)
        goto out;
    hf_log_set_level((hf_log_level)cfg.log_level);
    if (dump) {
        hf_cfg_dump(stdout, &TABLE, &cfg);
        rc = 0;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    mllp_metrics_init(&srv.m);
    if (srv_start(&srv, &err) != HF_OK)
        goto out;
    event_base_dispatch(srv.base);
    rc = atomic_load(&srv.fatal) ? 1 : 0;
    HF_LOG(rc == 0 ? HF_LOG_INFO : HF_LOG_ERROR, "mllp_stopping", HF_LB("fatal", rc != 0),
           HF_LI("connections", srv.nconns), HF_LI("inflight", srv.inflight));
out:
    if (err.st != HF_OK) {
        fprintf(stderr, "hl7flow-mllp: %s\n", err.msg);
        HF_LOG(HF_LOG_ERROR, "startup_failed", HF_LERR(err.msg));
        rc = err.st == HF_ECONFIG ? 2 : 1;
    }
    hf_ready_set("listening", false);
    srv_stop(&srv);
    hf_cfg_free(&TABLE, &cfg);
    if (rc == 0 && !dump)
        HF_LOG0(HF_LOG_INFO, "mllp_stopped");
    return rc;
}
