/* registry_ccompat.c - the Confluent-compatible registry mode (Apicurio's
 * /apis/ccompat/v7, or a Confluent Schema Registry). The id it serves is
 * the one that goes on the wire (Apicurio: the contentId, unless the
 * server runs in legacy id mode).
 *
 * Calls (API-NOTES.md 1.4):
 *   latest     GET  /subjects/{s}/versions/latest      {"id","version","schema"}
 *   by id      GET  /schemas/ids/{id}                  {"schema"}
 *   register   POST /subjects/{s}        (lookup: 200 = already there)
 *              POST /subjects/{s}/versions             {"id"}; 409 incompatible
 *   rule       PUT  /config/{s}  {"compatibility":"FULL"}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_internal.h"

static const char *const CC_HEADERS[] = {
    "Accept: application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, "
    "application/json",
    NULL};
static const char CC_CTYPE[] = "application/vnd.schemaregistry.v1+json";

/* GET/POST/PUT base + fmt(subject) with an optional JSON body, parse the
 * JSON answer on 2xx into *out. Non-2xx answers become errors. */
static hf_status cc_call(hf_registry *reg, const char *method, const char *path, json_t *body,
                         json_t **out, long *status, hf_err *err) {
    char *text = NULL;
    if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory");
    reg_resp r;
    hf_status st = reg_http(reg, method, path, text ? CC_CTYPE : NULL, text, CC_HEADERS, &r, err);
    free(text);
    if (st != HF_OK)
        return st;
    if (status != NULL)
        *status = r.status;
    if (r.status < 200 || r.status > 299) {
        st = reg_http_fail(reg, method, path, &r, err);
    } else {
        *out = json_loadb(r.body, r.len, 0, NULL);
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            st = reg_bad_answer(reg, method, path, r.status, "the body is not a JSON object", err);
        }
    }
    reg_resp_fini(&r);
    return st;
}

/* "/subjects/<escaped s><suffix>" into a malloc'd string. */
static char *subject_path(const char *prefix, const char *subject, const char *suffix) {
    char *esc = reg_escape(subject);
    if (esc == NULL)
        return NULL;
    size_t n = strlen(prefix) + strlen(esc) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s%s%s", prefix, esc, suffix);
    free(esc);
    return p;
}

static hf_status cc_latest(hf_registry *reg, const char *subject, uint32_t *id, char **text,
                           hf_err *err) {
    char *path = subject_path("/subjects/", subject, "/versions/latest");
    if (path == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory");
    json_t *j = NULL;
    hf_status st = cc_call(reg, "GET", path, NULL, &j, NULL, err);
    if (st == HF_OK) {
        const char *schema = json_string_value(json_object_get(j, "schema"));
        if (!reg_json_id(j, "id", id)) {
            st = reg_bad_answer(reg, "GET", path, 200, "no integer \"id\" in the answer", err);
        } else {
            *text = schema ? strdup(schema) : NULL;
        }
    }
    json_decref(j);
    free(path);
    return st;
}

static hf_status cc_fetch(hf_registry *reg, uint32_t id, char **text, hf_err *err) {
    char path[64];
    snprintf(path, sizeof path, "/schemas/ids/%u", id);
    json_t *j = NULL;
    hf_status st = cc_call(reg, "GET", path, NULL, &j, NULL, err);
    if (st == HF_OK) {
        const char *schema = json_string_value(json_object_get(j, "schema"));
        if (schema == NULL) {
            st = reg_bad_answer(reg, "GET", path, 200, "no string \"schema\" in the answer", err);
        } else if ((*text = strdup(schema)) == NULL) {
            st = hf_err_set(err, HF_ENOMEM, "out of memory");
        }
    }
    json_decref(j);
    return st;
}

static hf_status cc_set_compat(hf_registry *reg, const char *subject, const char *level,
                               hf_err *err) {
    char *path = subject_path("/config/", subject, "");
    json_t *body = json_pack("{s:s}", "compatibility", level);
    json_t *j = NULL;
    hf_status st = (path && body) ? cc_call(reg, "PUT", path, body, &j, NULL, err)
                                  : hf_err_set(err, HF_ENOMEM, "out of memory");
    json_decref(j);
    json_decref(body);
    free(path);
    return st;
}

static hf_status cc_register(hf_registry *reg, const char *subject, const char *schema,
                             hf_registry_reg *out, hf_err *err) {
    json_t *body =
        json_pack("{s:s,s:s,s:[]}", "schema", schema, "schemaType", "AVRO", "references");
    char *lookup = subject_path("/subjects/", subject, "");
    char *versions = subject_path("/subjects/", subject, "/versions");
    hf_status st = HF_OK;
    json_t *j = NULL;
    if (body == NULL || lookup == NULL || versions == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "out of memory");
        goto out;
    }
    /* Already registered under this subject? (404 40401/40403: no) */
    st = cc_call(reg, "POST", lookup, body, &j, NULL, err);
    if (st == HF_OK) {
        if (!reg_json_id(j, "id", &out->id)) {
            st = reg_bad_answer(reg, "POST", lookup, 200, "no integer \"id\" in the answer", err);
        }
        out->created = false;
        goto out;
    }
    if (st != HF_ENOTFOUND)
        goto out;
    st = cc_call(reg, "POST", versions, body, &j, NULL, err);
    if (st == HF_OK) {
        if (!reg_json_id(j, "id", &out->id)) {
            st = reg_bad_answer(reg, "POST", versions, 200, "no integer \"id\" in the answer", err);
        }
        out->created = true;
    }
out:
    json_decref(j);
    json_decref(body);
    free(lookup);
    free(versions);
    return st;
}

const reg_ops reg_ccompat_ops = {cc_latest, cc_fetch, cc_register, cc_set_compat};
