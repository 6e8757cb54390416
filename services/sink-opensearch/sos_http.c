/* sos_http.c - the sink's OpenSearch client: one reused libcurl handle
 * (keep-alive), Basic auth and TLS (CA file) from settings, fixed-length
 * bodies (no chunked encoding, API-NOTES.md), and the template install. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/log.h"
#include "sos.h"

#define MAX_ANSWER (64u << 20)

struct sos_http {
    const sos_cfg *cfg;
    CURL *curl;
    char *buf;
    size_t len, cap;
    bool too_big;
    char ebuf[CURL_ERROR_SIZE];
};

sos_http *sos_http_new(const sos_cfg *cfg) {
    sos_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->cfg = cfg;
    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        free(h);
        return NULL;
    }
    return h;
}

void sos_http_free(sos_http *h) {
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    free(h->buf);
    free(h);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud) {
    sos_http *h = ud;
    size_t add = size * nmemb;
    if (h->len + add + 1 > MAX_ANSWER) {
        h->too_big = true;
        return 0;
    }
    if (h->len + add + 1 > h->cap) {
        size_t cap = h->cap ? h->cap : 65536;
        while (cap < h->len + add + 1)
            cap *= 2;
        char *b = realloc(h->buf, cap);
        if (b == NULL)
            return 0;
        h->buf = b;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, p, add);
    h->len += add;
    h->buf[h->len] = '\0';
    return add;
}

hf_status sos_http_call(sos_http *h, const char *method, const char *path, const char *ctype,
                        const char *body, size_t len, sos_resp *out, hf_err *err) {
    const sos_cfg *c = h->cfg;
    CURL *k = h->curl;
    size_t ul = strlen(c->url);
    while (ul > 0 && c->url[ul - 1] == '/')
        ul--;
    char *url = malloc(ul + strlen(path) + 1);
    char ct[96];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    struct curl_slist *hl = curl_slist_append(NULL, ct), *n;
    n = hl ? curl_slist_append(hl, "Expect:") : NULL; /* no 100-continue round trip */
    hl = n ? n : hl;
    if (url == NULL || n == NULL) {
        free(url);
        curl_slist_free_all(hl);
        return hf_err_set(err, HF_ENOMEM, "opensearch: out of memory");
    }
    memcpy(url, c->url, ul);
    strcpy(url + ul, path);
    curl_easy_reset(k);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(k, CURLOPT_USERAGENT, "hl7flow-sink-opensearch/1");
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms < 5000 ? (long)c->timeout_ms : 5000L);
    curl_easy_setopt(k, CURLOPT_ACCEPT_ENCODING, ""); /* gzip answers when offered */
    if (c->ca_file[0] != '\0')
        curl_easy_setopt(k, CURLOPT_CAINFO, c->ca_file);
    if (!c->tls_verify) {
        curl_easy_setopt(k, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(k, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->user[0] != '\0') {
        curl_easy_setopt(k, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(k, CURLOPT_USERNAME, c->user);
        curl_easy_setopt(k, CURLOPT_PASSWORD, c->password);
    }
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, h->ebuf);
    h->len = 0;
    h->too_big = false;
    h->ebuf[0] = '\0';
    CURLcode rc = curl_easy_perform(k);
    curl_slist_free_all(hl);
    free(url);
    out->status = 0;
    out->body = "";
    out->len = 0;
    if (rc != CURLE_OK) {
        if (h->too_big)
            return hf_err_set(err, HF_ERETRY, "opensearch %s: answer larger than %u bytes", method,
                              MAX_ANSWER);
        return hf_err_set(err, HF_ERETRY, "opensearch %s: %s", method,
                          h->ebuf[0] ? h->ebuf : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &out->status);
    if (h->buf != NULL) {
        out->body = h->buf;
        out->len = h->len;
    }
    return HF_OK;
}

hf_status sos_install_templates(sos_http *h, const sos_cfg *cfg, hf_err *err) {
    hf_os_template_opts o = {cfg->index_prefix, cfg->analyzer, cfg->composed_of, (int)cfg->shards,
                             (int)cfg->replicas, (int)cfg->priority};
    for (int k = 0; k < HF_OS_NKINDS; k++) {
        char name[160], path[200];
        hf_osdoc_template_name((hf_os_kind)k, cfg->index_prefix, name, sizeof name);
        snprintf(path, sizeof path, "/_index_template/%s", name);
        char *body = hf_osdoc_template_json((hf_os_kind)k, &o);
        if (body == NULL)
            return hf_err_set(err, HF_ENOMEM, "opensearch template: out of memory");
        sos_resp r;
        hf_status st = sos_http_call(h, "PUT", path, "application/json", body, strlen(body), &r, err);
        free(body);
        if (st != HF_OK)
            return st;
        if (r.status >= 200 && r.status < 300) {
            HF_LOG(HF_LOG_INFO, "index_template_installed", HF_LID("template", name));
            continue;
        }
        char type[96];
        hf_osbulk_error_type(r.body, r.len, type, sizeof type);
        return hf_err_set(err, r.status == 429 || r.status >= 500 ? HF_ERETRY : HF_ECONFIG,
                          "PUT _index_template/%s: status %ld %s", name, r.status, type);
    }
    return HF_OK;
}
