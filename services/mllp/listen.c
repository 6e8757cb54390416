/* listen.c - the listening sockets from MLLP_LISTEN: a comma-separated list
 * of [tls:][host:]port entries ("2575", "tls:2576", "127.0.0.1:2575",
 * "tls:[::1]:2576"); port 0 takes an ephemeral port (logged). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hl7flow/log.h"
#include "svc.h"

#define MAX_LISTENERS 16

static void accept_cb(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg) {
    (void)el;
    mllp_listener *l = arg;
    mllp_conn_open(l->srv, l, fd, sa, salen);
}

static void accept_error_cb(struct evconnlistener *el, void *arg) {
    (void)el;
    mllp_listener *l = arg;
    /* EMFILE and friends: logged; libevent keeps listening. */
    HF_LOG(HF_LOG_ERROR, "accept_failed", HF_LI("port", l->port), HF_LERR(strerror(errno)));
}

/* Splits one entry into tls flag, host (may be empty) and port text. */
static hf_status parse_entry(const char *entry, bool *tls, char *host, size_t hcap, char *port,
                             size_t pcap, hf_err *err) {
    const char *p = entry;
    *tls = false;
    if (strncmp(p, "tls:", 4) == 0) {
        *tls = true;
        p += 4;
    }
    host[0] = '\0';
    const char *colon;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL || close[1] != ':')
            return hf_err_set(err, HF_ECONFIG, "MLLP_LISTEN: '%s': expected [addr]:port", entry);
        if ((size_t)(close - p - 1) >= hcap)
            return hf_err_set(err, HF_ECONFIG, "MLLP_LISTEN: '%s': address too long", entry);
        memcpy(host, p + 1, (size_t)(close - p - 1));
        host[close - p - 1] = '\0';
        p = close + 2;
    } else if ((colon = strrchr(p, ':')) != NULL) {
        if ((size_t)(colon - p) >= hcap)
            return hf_err_set(err, HF_ECONFIG, "MLLP_LISTEN: '%s': address too long", entry);
        memcpy(host, p, (size_t)(colon - p));
        host[colon - p] = '\0';
        p = colon + 1;
    }
    int64_t num;
    if (!hf_parse_i64(p, &num) || num < 0 || num > 65535)
        return hf_err_set(err, HF_ECONFIG, "MLLP_LISTEN: '%s': port must be 0..65535", entry);
    snprintf(port, pcap, "%lld", (long long)num);
    return HF_OK;
}

static hf_status bind_one(mllp_srv *s, mllp_listener *l, const char *entry, hf_err *err) {
    char host[128], port[16];
    hf_status st = parse_entry(entry, &l->tls, host, sizeof host, port, sizeof port, err);
    if (st != HF_OK)
        return st;
    if (l->tls && s->tls == NULL) {
        if ((st = mllp_tls_ctx(s->cfg, &s->tls, err)) != HF_OK)
            return st;
    }
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    int rc = getaddrinfo(host[0] ? host : "0.0.0.0", port, &hints, &ai);
    if (rc != 0)
        return hf_err_set(err, HF_ECONFIG, "MLLP_LISTEN: '%s': %s", entry, gai_strerror(rc));
    l->srv = s;
    l->l = evconnlistener_new_bind(s->base, accept_cb, l,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                   1024, ai->ai_addr, (int)ai->ai_addrlen);
    freeaddrinfo(ai);
    if (l->l == NULL)
        return hf_err_set(err, HF_EIO, "MLLP_LISTEN: cannot listen on '%s': %s", entry,
                          strerror(errno));
    evconnlistener_set_error_cb(l->l, accept_error_cb);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    l->port = 0;
    if (getsockname(evconnlistener_get_fd(l->l), (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            l->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    HF_LOG(HF_LOG_INFO, "listening", HF_LI("port", l->port), HF_LID("address", host[0] ? host : "0.0.0.0"),
           HF_LB("tls", l->tls),
           HF_LID("client_auth", !l->tls ? "n/a"
                                 : s->cfg->tls_client_auth == TLS_AUTH_REQUIRE ? "require"
                                 : s->cfg->tls_client_auth == TLS_AUTH_OPTIONAL ? "optional"
                                                                               : "none"));
    return HF_OK;
}

hf_status mllp_listen_start(mllp_srv *s, hf_err *err) {
    s->listeners = calloc(MAX_LISTENERS, sizeof *s->listeners);
    if (s->listeners == NULL)
        return hf_err_set(err, HF_ENOMEM, "listeners");
    char *list = strdup(s->cfg->listen), *save = NULL;
    if (list == NULL)
        return hf_err_set(err, HF_ENOMEM, "listeners");
    hf_status st = HF_OK;
    for (char *t = strtok_r(list, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
        if (s->nlisteners == MAX_LISTENERS) {
            st = hf_err_set(err, HF_ECONFIG, "MLLP_LISTEN: more than %d listeners", MAX_LISTENERS);
            break;
        }
        st = bind_one(s, &s->listeners[s->nlisteners], t, err);
        if (st != HF_OK)
            break;
        s->nlisteners++;
    }
    free(list);
    if (st == HF_OK && s->nlisteners == 0)
        st = hf_err_set(err, HF_ECONFIG, "MLLP_LISTEN: no listener given");
    return st;
}

void mllp_listen_stop(mllp_srv *s) {
    for (size_t i = 0; i < s->nlisteners; i++) {
        if (s->listeners[i].l != NULL) {
            evconnlistener_free(s->listeners[i].l);
            s->listeners[i].l = NULL;
        }
    }
}
