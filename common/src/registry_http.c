/* registry_http.c - the registry client's HTTP transport (libcurl, one
 * reused easy handle per client, so connections are kept alive) and the
 * translation of answers into hf_status classes and precise messages.
 *
 * Error bodies understood (API-NOTES.md section 1): ccompat
 * {"error_code":40401,"message":...}; Apicurio v2 Error/RuleViolationError
 * {"error_code","message","detail","name","causes":[{"description",
 * "context"}]}; Apicurio v3 ProblemDetails {"status","title","detail",
 * "name","causes"}. Whatever the body, the message starts with the mode,
 * the method, the path and the HTTP status. Credentials never appear in
 * messages (the path is relative to the base URL, which holds none).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry_internal.h"

#define REG_MAX_BODY (16u << 20)

typedef struct sink {
    char *buf;
    size_t len, cap;
    bool too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
    sink *s = ud;
    size_t add = size * n;
    if (s->len + add > REG_MAX_BODY) {
        s->too_big = true;
        return 0;
    }
    if (s->len + add + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + add + 1)
            cap *= 2;
        char *grown = realloc(s->buf, cap);
        if (grown == NULL)
            return 0;
        s->buf = grown;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

static hf_status setup_handle(hf_registry *reg, hf_err *err) {
    if (reg->curl != NULL) {
        curl_easy_reset(reg->curl);
    } else {
        reg->curl = curl_easy_init();
        if (reg->curl == NULL)
            return hf_err_set(err, HF_ENOMEM, "registry: curl_easy_init failed");
    }
    CURL *c = reg->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, reg->timeout_ms);
    long connect_ms = reg->timeout_ms < 5000 ? reg->timeout_ms : 5000L;
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "hl7flow-registry/1");
    if (reg->ca_file != NULL && reg->ca_file[0] != '\0')
        curl_easy_setopt(c, CURLOPT_CAINFO, reg->ca_file);
    if (reg->user != NULL && reg->user[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, reg->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, reg->password ? reg->password : "");
    }
    return HF_OK;
}

static hf_status transport_error(hf_registry *reg, const char *method, const char *path,
                                 CURLcode rc, const char *detail, hf_err *err) {
    hf_status st;
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_LOGIN_DENIED: st = HF_ECONFIG; break;
    case CURLE_OUT_OF_MEMORY: st = HF_ENOMEM; break;
    default: st = HF_ERETRY; break; /* connect, DNS, timeout, reset, send/recv */
    }
    return hf_err_set(err, st, "registry %s %s %s: %s%s%s", hf_registry_mode_name(reg->mode),
                      method, path, curl_easy_strerror(rc), detail[0] ? ": " : "", detail);
}

hf_status reg_http(hf_registry *reg, const char *method, const char *path, const char *ctype,
                   const char *body, const char *const *headers, reg_resp *resp, hf_err *err) {
    memset(resp, 0, sizeof *resp);
    hf_status st = setup_handle(reg, err);
    if (st != HF_OK)
        return st;
    size_t ulen = strlen(reg->base) + strlen(path) + 1;
    char *url = malloc(ulen);
    struct curl_slist *hl = NULL;
    sink s = {0};
    char ebuf[CURL_ERROR_SIZE] = "";
    if (url == NULL)
        return hf_err_set(err, HF_ENOMEM, "registry: out of memory");
    snprintf(url, ulen, "%s%s", reg->base, path);

    bool oom = false;
    char line[512];
    if (ctype != NULL) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        struct curl_slist *n = curl_slist_append(hl, line);
        oom |= n == NULL;
        hl = n ? n : hl;
    }
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        struct curl_slist *n = curl_slist_append(hl, headers[i]);
        oom |= n == NULL;
        hl = n ? n : hl;
    }
    if (reg->token != NULL && reg->token[0] != '\0') {
        size_t tl = strlen(reg->token) + 32;
        char *auth = malloc(tl);
        if (auth != NULL) {
            snprintf(auth, tl, "Authorization: Bearer %s", reg->token);
            struct curl_slist *n = curl_slist_append(hl, auth);
            oom |= n == NULL;
            hl = n ? n : hl;
            /* the slist holds its own copy; wipe ours */
            memset(auth, 0, tl);
            free(auth);
        } else {
            oom = true;
        }
    }
    /* An empty Expect: keeps curl from waiting for 100-continue on POSTs. */
    struct curl_slist *n = curl_slist_append(hl, "Expect:");
    oom |= n == NULL;
    hl = n ? n : hl;
    if (oom) {
        curl_slist_free_all(hl);
        free(url);
        return hf_err_set(err, HF_ENOMEM, "registry: out of memory");
    }

    CURL *c = reg->curl;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hl);
    free(url);
    if (rc != CURLE_OK) {
        free(s.buf);
        if (s.too_big)
            return hf_err_set(err, HF_EIO, "registry %s %s %s: answer larger than %u bytes",
                              hf_registry_mode_name(reg->mode), method, path, REG_MAX_BODY);
        return transport_error(reg, method, path, rc, ebuf, err);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (s.buf == NULL) {
        s.buf = calloc(1, 1);
        if (s.buf == NULL)
            return hf_err_set(err, HF_ENOMEM, "registry: out of memory");
    }
    resp->body = s.buf;
    resp->len = s.len;
    return HF_OK;
}

void reg_resp_fini(reg_resp *resp) {
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
}

/* Appends printf text to buf at *off (bounded). */
static void addf(char *buf, size_t cap, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void addf(char *buf, size_t cap, size_t *off, const char *fmt, ...) {
    if (*off >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, cap - *off, fmt, ap);
    va_end(ap);
    if (n > 0)
        *off = (size_t)n < cap - *off ? *off + (size_t)n : cap;
}

/* Describes an error body: error_code, message/title, detail, causes. */
static void describe_body(const reg_resp *resp, char *out, size_t cap) {
    size_t off = 0;
    out[0] = '\0';
    json_t *j = json_loadb(resp->body, resp->len, 0, NULL);
    if (!json_is_object(j)) {
        /* not JSON: quote the start of the text, on one line */
        size_t n = resp->len < 120 ? resp->len : 120;
        for (size_t i = 0; i < n && off + 1 < cap; i++) {
            char ch = resp->body[i];
            out[off++] = (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : ch;
        }
        out[off < cap ? off : cap - 1] = '\0';
        json_decref(j);
        return;
    }
    json_t *code = json_object_get(j, "error_code");
    if (json_is_integer(code))
        addf(out, cap, &off, "error_code %lld ", (long long)json_integer_value(code));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (msg == NULL)
        msg = json_string_value(json_object_get(j, "title"));
    if (msg != NULL)
        addf(out, cap, &off, "%s", msg);
    const char *detail = json_string_value(json_object_get(j, "detail"));
    if (detail != NULL && (msg == NULL || strcmp(detail, msg) != 0))
        addf(out, cap, &off, "%s%.200s", off ? " - " : "", detail);
    json_t *causes = json_object_get(j, "causes");
    if (json_is_array(causes) && json_array_size(causes) > 0) {
        addf(out, cap, &off, "; causes:");
        size_t i;
        json_t *cz;
        json_array_foreach(causes, i, cz) {
            const char *d = json_string_value(json_object_get(cz, "description"));
            const char *ctx = json_string_value(json_object_get(cz, "context"));
            addf(out, cap, &off, "%s %s%s%s%s", i ? ";" : "", d ? d : "?", ctx ? " (at " : "",
                 ctx ? ctx : "", ctx ? ")" : "");
        }
    }
    while (off > 0 && off <= cap && out[off - 1] == ' ')
        out[--off] = '\0';
    json_decref(j);
}

hf_status reg_http_fail(hf_registry *reg, const char *method, const char *path,
                        const reg_resp *resp, hf_err *err) {
    long s = resp->status;
    hf_status st;
    if (s == 404)
        st = HF_ENOTFOUND;
    else if (s == 408 || s == 429 || s >= 500)
        st = HF_ERETRY;
    else
        st = HF_ECONFIG;
    char what[360];
    describe_body(resp, what, sizeof what);
    return hf_err_set(err, st, "registry %s %s %s: %ld%s%s", hf_registry_mode_name(reg->mode),
                      method, path, s, what[0] ? " " : "", what);
}

hf_status reg_bad_answer(hf_registry *reg, const char *method, const char *path, long status,
                         const char *what, hf_err *err) {
    return hf_err_set(err, HF_EIO, "registry %s %s %s: %ld but %s",
                      hf_registry_mode_name(reg->mode), method, path, status, what);
}

bool reg_is_rule_violation(const reg_resp *resp) {
    if (resp->status != 409 && resp->status != 400)
        return false;
    json_t *j = json_loadb(resp->body, resp->len, 0, NULL);
    json_t *causes = json_object_get(j, "causes");
    const char *name = json_string_value(json_object_get(j, "name"));
    bool yes = (json_is_array(causes) && json_array_size(causes) > 0) ||
               (name != NULL && strcmp(name, "RuleViolationException") == 0);
    json_decref(j);
    return yes;
}

char *reg_escape(const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (plain) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}

bool reg_json_id(json_t *obj, const char *key, uint32_t *id) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
        return false;
    *id = (uint32_t)json_integer_value(v);
    return true;
}

int64_t reg_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
