/* osbulk.c - _bulk request bodies and answers (osbulk.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/osbulk.h"

static bool reserve(hf_os_buf *b, size_t add) {
    if (b->len + add + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + add + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

/* Appends @p s as a JSON string body (without quotes). Index names and ids
 * are printable here, but ids come from HL7 fields: escape everything JSON
 * requires. Returns bytes written, or the bytes needed when @p out is NULL. */
static size_t json_escaped(const char *s, char *out) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        size_t k;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            k = 2;
        } else if (*p < 0x20) {
            k = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
        } else {
            esc[0] = (char)*p;
            k = 1;
        }
        if (out)
            memcpy(out + n, esc, k);
        n += k;
    }
    return n;
}

static const char ACT1[] = "{\"index\":{\"_index\":\"";
static const char ACT2[] = "\",\"_id\":\"";
static const char ACT3[] = "\"}}\n";

size_t hf_osbulk_doc_bytes(const hf_os_doc *doc) {
    return sizeof ACT1 - 1 + json_escaped(doc->index, NULL) + sizeof ACT2 - 1 +
           json_escaped(doc->id, NULL) + sizeof ACT3 - 1 + doc->source_len + 1;
}

hf_status hf_osbulk_append(hf_os_buf *b, const hf_os_doc *doc) {
    if (!reserve(b, hf_osbulk_doc_bytes(doc)))
        return HF_ENOMEM;
    char *o = b->p + b->len;
    memcpy(o, ACT1, sizeof ACT1 - 1);
    o += sizeof ACT1 - 1;
    o += json_escaped(doc->index, o);
    memcpy(o, ACT2, sizeof ACT2 - 1);
    o += sizeof ACT2 - 1;
    o += json_escaped(doc->id, o);
    memcpy(o, ACT3, sizeof ACT3 - 1);
    o += sizeof ACT3 - 1;
    memcpy(o, doc->source, doc->source_len);
    o += doc->source_len;
    *o++ = '\n';
    *o = '\0';
    b->len = (size_t)(o - b->p);
    return HF_OK;
}

hf_os_outcome hf_osbulk_classify(int status) {
    if (status >= 200 && status < 300)
        return HF_OS_DONE;
    if (status == 429 || status >= 500 || status <= 0)
        return HF_OS_RETRY;
    return HF_OS_REJECT;
}

/* Copies the identifier characters of @p s (an error type) into @p buf. */
static void safe_type(const char *s, char *buf, size_t cap) {
    size_t o = 0;
    for (; s && *s && o + 1 < cap && o < 80; s++) {
        char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.')
            buf[o++] = c;
    }
    if (cap > 0)
        buf[o] = '\0';
}

static void item_of(json_t *entry, hf_os_item *it) {
    /* {"index":{...}}: the action name is the single key. */
    const char *action;
    json_t *body = NULL, *v;
    json_object_foreach(entry, action, v) {
        body = v;
        break;
    }
    (void)action;
    json_t *st = json_is_object(body) ? json_object_get(body, "status") : NULL;
    it->status = json_is_integer(st) ? (int)json_integer_value(st) : 0;
    it->outcome = hf_osbulk_classify(it->status);
    it->reason[0] = '\0';
    if (it->outcome == HF_OS_DONE)
        return;
    json_t *e = json_object_get(body, "error");
    char type[96] = "";
    if (json_is_object(e))
        safe_type(json_string_value(json_object_get(e, "type")), type, sizeof type);
    snprintf(it->reason, sizeof it->reason, "opensearch item status %d %s", it->status,
             type[0] ? type : "(no error type)");
}

hf_status hf_osbulk_parse(const char *body, size_t len, hf_os_item *items, size_t n,
                          hf_err *err) {
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (root == NULL)
        return hf_err_set(err, HF_ESYNTAX, "_bulk answer is not JSON (line %d)", je.line);
    json_t *arr = json_object_get(root, "items");
    if (!json_is_array(arr) || json_array_size(arr) > n) {
        size_t got = json_is_array(arr) ? json_array_size(arr) : 0;
        json_decref(root);
        return hf_err_set(err, HF_ESYNTAX, "_bulk answer has %zu items for %zu documents", got, n);
    }
    size_t got = json_array_size(arr);
    for (size_t i = 0; i < n; i++) {
        if (i < got && json_is_object(json_array_get(arr, i))) {
            item_of(json_array_get(arr, i), &items[i]);
        } else {
            items[i].outcome = HF_OS_RETRY;
            items[i].status = 0;
            snprintf(items[i].reason, sizeof items[i].reason, "missing from the _bulk answer");
        }
    }
    json_decref(root);
    return HF_OK;
}

hf_os_reqclass hf_osbulk_request_class(long s) {
    if (s == 200)
        return HF_OS_REQ_OK;
    if (s == 0 || s == 429 || s == 502 || s == 503 || s == 504)
        return HF_OS_REQ_RETRY;
    if (s == 413)
        return HF_OS_REQ_TOO_LARGE;
    if (s == 401 || s == 403)
        return HF_OS_REQ_AUTH;
    return HF_OS_REQ_FAILED;
}

void hf_osbulk_error_type(const char *body, size_t len, char *buf, size_t cap) {
    if (cap > 0)
        buf[0] = '\0';
    json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *e = root ? json_object_get(root, "error") : NULL;
    if (json_is_object(e))
        safe_type(json_string_value(json_object_get(e, "type")), buf, cap);
    else if (json_is_string(e))
        safe_type("error", buf, cap);
    json_decref(root);
}
