/* mllp_route.c - parsing and matching the listener's routing rules
 * (mllp_route.h). Rules are read once at start; matching is a linear scan
 * per accepted connection (a handful of rules, a few connections a second). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/config.h"
#include "hl7flow/mllp_route.h"

struct hf_mllp_routes {
    hf_mllp_route *rules;
    size_t n, cap;
};

void hf_mllp_routes_free(hf_mllp_routes *r) {
    if (r == NULL)
        return;
    free(r->rules);
    free(r);
}

size_t hf_mllp_routes_count(const hf_mllp_routes *r) { return r != NULL ? r->n : 0; }

static bool value_ok(const char *v, size_t n) {
    if (n == 0 || n > HF_ROUTE_VALUE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              strchr("._:@/+-", c) != NULL))
            return false;
    }
    return true;
}

static hf_status parse_cidr(const char *v, hf_mllp_route *rt, int no, hf_err *err) {
    char addr[64];
    const char *slash = strchr(v, '/');
    size_t alen = slash != NULL ? (size_t)(slash - v) : strlen(v);
    if (alen == 0 || alen >= sizeof addr)
        return hf_err_set(err, HF_ECONFIG, "rule %d (line %d): cidr: bad address", no, rt->line);
    memcpy(addr, v, alen);
    addr[alen] = '\0';
    int max;
    if (inet_pton(AF_INET, addr, rt->addr) == 1) {
        rt->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, rt->addr) == 1) {
        rt->family = AF_INET6;
        max = 128;
    } else {
        return hf_err_set(err, HF_ECONFIG, "rule %d (line %d): cidr: '%s' is not an IP address",
                          no, rt->line, addr);
    }
    rt->prefix = max;
    if (slash != NULL) {
        int64_t pl;
        if (!hf_parse_i64(slash + 1, &pl) || pl < 0)
            return hf_err_set(err, HF_ECONFIG, "rule %d (line %d): cidr: bad prefix length", no,
                              rt->line);
        if (pl > max)
            return hf_err_set(err, HF_ECONFIG, "rule %d (line %d): cidr: prefix %lld is more than %d",
                              no, rt->line, (long long)pl, max);
        rt->prefix = (int)pl;
    }
    return HF_OK;
}

/* Parses one rule's text (NUL-terminated, modified in place). */
static hf_status parse_rule(char *text, hf_mllp_route *rt, int no, hf_err *err) {
    char *save = NULL;
    for (char *tok = strtok_r(text, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (eq == NULL)
            return hf_err_set(err, HF_ECONFIG, "rule %d (line %d): '%.40s' is not key=value", no,
                              rt->line, tok);
        *eq = '\0';
        const char *k = tok, *v = eq + 1;
        if (strcmp(k, "port") == 0) {
            int64_t port;
            if (!hf_parse_i64(v, &port) || port < 1 || port > 65535)
                return hf_err_set(err, HF_ECONFIG, "rule %d (line %d): port must be 1..65535", no,
                                  rt->line);
            rt->port = (uint16_t)port;
        } else if (strcmp(k, "cidr") == 0) {
            hf_status st = parse_cidr(v, rt, no, err);
            if (st != HF_OK)
                return st;
        } else if (strcmp(k, "source") == 0 || strcmp(k, "facility") == 0) {
            size_t n = strlen(v);
            if (!value_ok(v, n))
                return hf_err_set(err, HF_ECONFIG,
                                  "rule %d (line %d): %s must be 1..%d characters of "
                                  "[A-Za-z0-9._:@/+-]",
                                  no, rt->line, k, HF_ROUTE_VALUE_MAX);
            memcpy(k[0] == 's' ? rt->source : rt->facility, v, n + 1);
        } else {
            return hf_err_set(err, HF_ECONFIG,
                              "rule %d (line %d): unknown key '%.20s' (port, cidr, source, facility)",
                              no, rt->line, k);
        }
    }
    if (rt->source[0] == '\0' && rt->facility[0] == '\0')
        return hf_err_set(err, HF_ECONFIG, "rule %d (line %d): needs source= and/or facility=", no,
                          rt->line);
    return HF_OK;
}

hf_status hf_mllp_routes_parse(const char *text, hf_mllp_routes **out, hf_err *err) {
    *out = NULL;
    hf_mllp_routes *r = calloc(1, sizeof *r);
    if (r == NULL)
        return hf_err_set(err, HF_ENOMEM, "routes");
    size_t len = text != NULL ? strlen(text) : 0;
    size_t i = 0;
    int line = 1;
    while (i < len) {
        /* One rule: up to ';' or a newline; a comment runs to the newline. */
        size_t start = i, end = i;
        while (end < len && text[end] != ';' && text[end] != '\n' && text[end] != '#')
            end++;
        size_t next = end;
        if (next < len && text[next] == '#')
            while (next < len && text[next] != '\n')
                next++;
        int rule_line = line;
        bool newline = next < len && text[next] == '\n';
        i = next < len ? next + 1 : len;
        char buf[1024];
        size_t n = end - start;
        bool blank = true;
        for (size_t k = start; k < end; k++)
            if (text[k] != ' ' && text[k] != '\t' && text[k] != '\r')
                blank = false;
        if (newline)
            line++;
        if (blank)
            continue;
        if (n >= sizeof buf) {
            size_t no = r->n + 1;
            hf_mllp_routes_free(r);
            return hf_err_set(err, HF_ECONFIG, "rule %zu (line %d): longer than %zu bytes", no,
                              rule_line, sizeof buf - 1);
        }
        memcpy(buf, text + start, n);
        buf[n] = '\0';
        for (size_t k = 0; k < n; k++)
            if (buf[k] == '\r')
                buf[k] = ' ';
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 8;
            hf_mllp_route *nr = realloc(r->rules, cap * sizeof *nr);
            if (nr == NULL) {
                hf_mllp_routes_free(r);
                return hf_err_set(err, HF_ENOMEM, "routes");
            }
            r->rules = nr;
            r->cap = cap;
        }
        hf_mllp_route *rt = &r->rules[r->n];
        memset(rt, 0, sizeof *rt);
        rt->line = rule_line;
        hf_status st = parse_rule(buf, rt, (int)r->n + 1, err);
        if (st != HF_OK) {
            hf_mllp_routes_free(r);
            return st;
        }
        r->n++;
    }
    *out = r;
    return HF_OK;
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, int bits) {
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

const hf_mllp_route *hf_mllp_routes_match(const hf_mllp_routes *r, uint16_t port,
                                          const struct sockaddr *peer) {
    if (r == NULL)
        return NULL;
    int fam = 0;
    uint8_t addr[16];
    if (peer != NULL && peer->sa_family == AF_INET) {
        fam = AF_INET;
        memcpy(addr, &((const struct sockaddr_in *)(const void *)peer)->sin_addr, 4);
    } else if (peer != NULL && peer->sa_family == AF_INET6) {
        const uint8_t *a6 = ((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a6, mapped, 12) == 0) {
            fam = AF_INET;
            memcpy(addr, a6 + 12, 4);
        } else {
            fam = AF_INET6;
            memcpy(addr, a6, 16);
        }
    }
    for (size_t i = 0; i < r->n; i++) {
        const hf_mllp_route *rt = &r->rules[i];
        if (rt->port != 0 && rt->port != port)
            continue;
        if (rt->family != 0 && (rt->family != fam || !prefix_match(addr, rt->addr, rt->prefix)))
            continue;
        return rt;
    }
    return NULL;
}
