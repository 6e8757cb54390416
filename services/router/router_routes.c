/* router_routes.c - the ROUTER_ROUTES map: message code[^event] -> topic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

/* The topic entry named @p name (added when new), or NULL when full. */
static const rtr_topic *topic_of(rtr_ctx *c, const char *name, size_t len) {
    for (size_t i = 0; i < c->ntopics; i++)
        if (strlen(c->topics[i].name) == len && memcmp(c->topics[i].name, name, len) == 0)
            return &c->topics[i];
    if (c->ntopics == sizeof c->topics / sizeof c->topics[0])
        return NULL;
    char *copy = strndup(name, len);
    if (copy == NULL)
        return NULL;
    c->topics[c->ntopics].name = copy;
    return &c->topics[c->ntopics++];
}

static bool valid_topic(const char *s, size_t n) {
    if (n == 0 || n > 249)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static bool valid_code(const char *s, size_t n, size_t cap) {
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

hf_status rtr_routes_parse(rtr_ctx *c, const char *text, const char *default_topic, hf_err *err) {
    const char *p = text;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (n == 0) {
            p += end != NULL ? 1 : 0;
            continue;
        }
        if (eq == NULL)
            return hf_err_set(err, HF_ECONFIG, "ROUTER_ROUTES: '%.*s' is not CODE[^EVENT]=topic",
                              (int)n, p);
        const char *caret = memchr(p, '^', (size_t)(eq - p));
        size_t code_len = (size_t)((caret != NULL ? caret : eq) - p);
        size_t event_len = caret != NULL ? (size_t)(eq - caret - 1) : 0;
        const char *topic = eq + 1;
        size_t topic_len = n - (size_t)(topic - p);
        if (c->nroutes == RTR_ROUTES_MAX)
            return hf_err_set(err, HF_ECONFIG, "ROUTER_ROUTES: more than %d routes", RTR_ROUTES_MAX);
        rtr_route *r = &c->routes[c->nroutes];
        if (!valid_code(p, code_len, sizeof r->code) ||
            (caret != NULL && !valid_code(caret + 1, event_len, sizeof r->event)))
            return hf_err_set(err, HF_ECONFIG,
                              "ROUTER_ROUTES: '%.*s': the message code and event must be upper-case "
                              "letters and digits (e.g. ADT or ADT^A40)", (int)n, p);
        if (!valid_topic(topic, topic_len))
            return hf_err_set(err, HF_ECONFIG, "ROUTER_ROUTES: '%.*s': '%.*s' is not a topic name",
                              (int)n, p, (int)topic_len, topic);
        memcpy(r->code, p, code_len);
        r->code[code_len] = '\0';
        if (caret != NULL)
            memcpy(r->event, caret + 1, event_len);
        r->event[event_len] = '\0';
        for (size_t i = 0; i < c->nroutes; i++)
            if (strcmp(c->routes[i].code, r->code) == 0 && strcmp(c->routes[i].event, r->event) == 0)
                return hf_err_set(err, HF_ECONFIG, "ROUTER_ROUTES: %s%s%s is routed twice", r->code,
                                  r->event[0] ? "^" : "", r->event);
        if ((r->topic = topic_of(c, topic, topic_len)) == NULL)
            return hf_err_set(err, HF_ENOMEM, "ROUTER_ROUTES: topics");
        c->nroutes++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    if (c->nroutes == 0)
        return hf_err_set(err, HF_ECONFIG, "ROUTER_ROUTES: no route");
    if (default_topic != NULL && default_topic[0] != '\0') {
        if (!valid_topic(default_topic, strlen(default_topic)))
            return hf_err_set(err, HF_ECONFIG, "ROUTER_DEFAULT_TOPIC: '%s' is not a topic name",
                              default_topic);
        if ((c->fallback = topic_of(c, default_topic, strlen(default_topic))) == NULL)
            return hf_err_set(err, HF_ENOMEM, "ROUTER_DEFAULT_TOPIC");
    }
    return HF_OK;
}

static bool span_is(hf_span s, const char *z) {
    size_t n = strlen(z);
    return s.len == n && memcmp(s.p, z, n) == 0;
}

const rtr_topic *rtr_route_find(const rtr_ctx *c, hf_span code, hf_span event) {
    const rtr_topic *by_code = NULL;
    for (size_t i = 0; i < c->nroutes; i++) {
        const rtr_route *r = &c->routes[i];
        if (!span_is(code, r->code))
            continue;
        if (r->event[0] == '\0')
            by_code = r->topic;
        else if (span_is(event, r->event))
            return r->topic;
    }
    return by_code;
}
