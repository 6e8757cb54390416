/* registry_apicurio.c - Apicurio Registry's native REST API, v2
 * (/apis/registry/v2, Apicurio 2.x and 3.x) and v3 (/apis/registry/v3,
 * 3.x). Subject = artifact id in the configured group (default "default",
 * as Apicurio's TopicIdStrategy and ccompat API use). The wire id is the
 * version's contentId (globalId with HL7FLOW_REGISTRY_ID=globalId).
 *
 * Calls (API-NOTES.md 1.2, 1.3):
 *   latest   v2 GET /groups/{g}/artifacts/{a}/meta
 *            v3 GET /groups/{g}/artifacts/{a}/versions/branch=latest
 *   by id    GET /ids/contentIds/{id} | /ids/globalIds/{id}   (raw schema)
 *   register v2 POST /groups/{g}/artifacts?ifExists=RETURN_OR_UPDATE&canonical=true
 *               raw schema, X-Registry-ArtifactId, X-Registry-ArtifactType: AVRO
 *            v3 POST /groups/{g}/artifacts?ifExists=FIND_OR_CREATE_VERSION&canonical=true
 *               JSON CreateArtifact {"artifactId","artifactType","firstVersion":...}
 *            Either returns the existing version when the content is already
 *            there; "created" is decided by the globalId growing past the
 *            latest one seen before (globalIds only increase).
 *   rule     POST /groups/{g}/artifacts/{a}/rules  v2 {"type":..,"config":..}
 *            v3 {"ruleType":..,"config":..}; 409 (rule exists) -> PUT
 *            .../rules/COMPATIBILITY with the same body.
 * Rule violations: 409 (v2, v3 up to 3.2) or 400 with causes (v3 3.3+),
 * reported as HF_ECONFIG with the registry's causes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_internal.h"

static const char *const JSON_ACCEPT[] = {"Accept: application/json", NULL};

static bool is_v3(const hf_registry *reg) {
    return reg->mode == HF_REG_APICURIO_V3;
}

/* "/groups/<g>/artifacts/<a><suffix>", escaped; malloc'd. */
static char *artifact_path(const hf_registry *reg, const char *artifact, const char *suffix) {
    char *g = reg_escape(reg->group), *a = reg_escape(artifact);
    char *p = NULL;
    if (g != NULL && a != NULL) {
        size_t n = strlen(g) + strlen(a) + strlen(suffix) + 32;
        if ((p = malloc(n)) != NULL)
            snprintf(p, n, "/groups/%s/artifacts/%s%s", g, a, suffix);
    }
    free(g);
    free(a);
    return p;
}

/* Sends a request, expects 2xx, parses a JSON object answer into *out
 * (when @p out is non-NULL). */
static hf_status ap_call(hf_registry *reg, const char *method, const char *path, const char *ctype,
                         const char *body, const char *const *headers, json_t **out, long *status,
                         hf_err *err) {
    reg_resp r;
    hf_status st = reg_http(reg, method, path, ctype, body, headers, &r, err);
    if (st != HF_OK)
        return st;
    if (status != NULL)
        *status = r.status;
    if (r.status < 200 || r.status > 299) {
        st = reg_http_fail(reg, method, path, &r, err);
    } else if (out != NULL) {
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

/* Reads the wire id (contentId or globalId) and the globalId of a
 * VersionMetaData / ArtifactMetaData object. */
static hf_status read_ids(hf_registry *reg, const char *method, const char *path, json_t *meta,
                          uint32_t *id, int64_t *global, hf_err *err) {
    const char *key = reg->global_ids ? "globalId" : "contentId";
    json_t *g = json_object_get(meta, "globalId");
    if (!reg_json_id(meta, key, id) || !json_is_integer(g)) {
        char what[96];
        snprintf(what, sizeof what, "no integer \"%s\" (<= 2^31-1) in the version metadata", key);
        return reg_bad_answer(reg, method, path, 200, what, err);
    }
    if (global != NULL)
        *global = json_integer_value(g);
    return HF_OK;
}

/* Latest version's wire id and globalId. */
static hf_status ap_latest_meta(hf_registry *reg, const char *subject, uint32_t *id,
                                int64_t *global, hf_err *err) {
    char *path = artifact_path(reg, subject, is_v3(reg) ? "/versions/branch=latest" : "/meta");
    if (path == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory");
    json_t *j = NULL;
    hf_status st = ap_call(reg, "GET", path, NULL, NULL, JSON_ACCEPT, &j, NULL, err);
    if (st == HF_OK)
        st = read_ids(reg, "GET", path, j, id, global, err);
    json_decref(j);
    free(path);
    return st;
}

static hf_status ap_latest(hf_registry *reg, const char *subject, uint32_t *id, char **text,
                           hf_err *err) {
    *text = NULL; /* the metadata has no content; fetched by id when asked */
    return ap_latest_meta(reg, subject, id, NULL, err);
}

static hf_status ap_fetch(hf_registry *reg, uint32_t id, char **text, hf_err *err) {
    static const char *const any[] = {"Accept: */*", NULL};
    char path[64];
    snprintf(path, sizeof path, "/ids/%s/%u", reg->global_ids ? "globalIds" : "contentIds", id);
    reg_resp r;
    hf_status st = reg_http(reg, "GET", path, NULL, NULL, any, &r, err);
    if (st != HF_OK)
        return st;
    if (r.status < 200 || r.status > 299) {
        st = reg_http_fail(reg, "GET", path, &r, err);
        reg_resp_fini(&r);
        return st;
    }
    *text = r.body; /* taken */
    return HF_OK;
}

static hf_status ap_register(hf_registry *reg, const char *subject, const char *schema,
                             hf_registry_reg *out, hf_err *err) {
    uint32_t old_id = 0;
    int64_t old_global = -1;
    hf_status st = ap_latest_meta(reg, subject, &old_id, &old_global, err);
    if (st == HF_ENOTFOUND)
        old_global = -1;
    else if (st != HF_OK)
        return st;

    char *g = reg_escape(reg->group);
    char path[512];
    json_t *j = NULL, *body = NULL;
    char *body_text = NULL;
    if (g == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory");
    snprintf(path, sizeof path, "/groups/%.400s/artifacts?ifExists=%s&canonical=true", g,
             is_v3(reg) ? "FIND_OR_CREATE_VERSION" : "RETURN_OR_UPDATE");
    free(g);
    if (is_v3(reg)) {
        body = json_pack("{s:s,s:s,s:{s:{s:s,s:s,s:[]}}}", "artifactId", subject, "artifactType",
                         "AVRO", "firstVersion", "content", "content", schema, "contentType",
                         "application/json", "references");
        body_text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        if (body_text == NULL) {
            json_decref(body);
            return hf_err_set(err, HF_ENOMEM, "out of memory");
        }
        st = ap_call(reg, "POST", path, "application/json", body_text, JSON_ACCEPT, &j, NULL, err);
    } else {
        size_t hl = strlen(subject) + 32;
        char *idh = malloc(hl);
        if (idh == NULL)
            return hf_err_set(err, HF_ENOMEM, "out of memory");
        snprintf(idh, hl, "X-Registry-ArtifactId: %s", subject);
        const char *const hdrs[] = {"Accept: application/json", idh,
                                    "X-Registry-ArtifactType: AVRO", NULL};
        st = ap_call(reg, "POST", path, "application/json", schema, hdrs, &j, NULL, err);
        free(idh);
    }
    if (st == HF_OK) {
        json_t *meta = is_v3(reg) ? json_object_get(j, "version") : j;
        int64_t global = 0;
        st = read_ids(reg, "POST", path, meta, &out->id, &global, err);
        out->created = old_global < 0 || global > old_global;
    }
    json_decref(j);
    json_decref(body);
    free(body_text);
    return st;
}

static hf_status ap_set_compat(hf_registry *reg, const char *subject, const char *level,
                               hf_err *err) {
    json_t *body =
        json_pack("{s:s,s:s}", is_v3(reg) ? "ruleType" : "type", "COMPATIBILITY", "config", level);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char *rules = artifact_path(reg, subject, "/rules");
    char *one = artifact_path(reg, subject, "/rules/COMPATIBILITY");
    hf_status st;
    if (text == NULL || rules == NULL || one == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "out of memory");
    } else {
        long status = 0;
        st = ap_call(reg, "POST", rules, "application/json", text, JSON_ACCEPT, NULL, &status, err);
        if (st != HF_OK && status == 409) /* the rule exists: update it */
            st = ap_call(reg, "PUT", one, "application/json", text, JSON_ACCEPT, NULL, NULL, err);
    }
    json_decref(body);
    free(text);
    free(rules);
    free(one);
    return st;
}

const reg_ops reg_apicurio_v2_ops = {ap_latest, ap_fetch, ap_register, ap_set_compat};
const reg_ops reg_apicurio_v3_ops = {ap_latest, ap_fetch, ap_register, ap_set_compat};
