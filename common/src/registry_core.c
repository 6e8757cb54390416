/* registry_core.c - the public registry API (hl7flow/registry.h): settings
 * (HL7FLOW_REGISTRY*), picking the mode from the URL, the caches in front
 * of the mode backends, and avro-c parsing of fetched schemas.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hl7flow/log.h"
#include "registry_internal.h"

#define RV(name, type, def, field, lo, hi, choices, help)                                          \
    { name, type, def, offsetof(hf_registry_cfg, field), lo, hi, choices, help }

static const hf_cfg_var REG_VARS[] = {
    RV("HL7FLOW_REGISTRY", HF_CFG_STR, "file:schemas/avro", url, 0, 0, NULL,
       "schema registry: file:DIR | ccompat:URL | apicurio-v2:URL | apicurio-v3:URL"),
    RV("HL7FLOW_REGISTRY_GROUP", HF_CFG_STR, "default", group, 0, 0, NULL,
       "Apicurio group of the artifacts (apicurio-v2/v3 modes)"),
    RV("HL7FLOW_REGISTRY_ID", HF_CFG_ENUM, "contentId", id_kind, 0, 0, "contentId|globalId",
       "which Apicurio id goes on the wire (globalId only for a legacy-id-mode registry)"),
    RV("HL7FLOW_REGISTRY_USER", HF_CFG_STR, "", user, 0, 0, NULL, "basic auth user"),
    RV("HL7FLOW_REGISTRY_PASSWORD", HF_CFG_SECRET, "", password, 0, 0, NULL, "basic auth password"),
    RV("HL7FLOW_REGISTRY_TOKEN", HF_CFG_SECRET, "", token, 0, 0, NULL,
       "bearer token (sent as Authorization: Bearer)"),
    RV("HL7FLOW_REGISTRY_CA_FILE", HF_CFG_STR, "", ca_file, 0, 0, NULL,
       "PEM CA bundle for https registries (empty: the system's)"),
    RV("HL7FLOW_REGISTRY_TIMEOUT_MS", HF_CFG_INT, "10000", timeout_ms, 100, 600000, NULL,
       "timeout of one registry request"),
    RV("HL7FLOW_REGISTRY_CACHE_MAX", HF_CFG_INT, "128", cache_max, 1, 4096, NULL,
       "schemas kept parsed (id -> schema cache, least recently used out first)"),
    RV("HL7FLOW_REGISTRY_LATEST_TTL_MS", HF_CFG_INT, "300000", ttl_ms, 0, 86400000, NULL,
       "how long a subject's latest id is reused (0: ask every time)"),
};

const hf_cfg_table hf_registry_cfg_table = {"Schema registry", REG_VARS,
                                            sizeof REG_VARS / sizeof REG_VARS[0]};

const char *hf_registry_mode_name(hf_registry_mode mode) {
    switch (mode) {
    case HF_REG_CCOMPAT: return "ccompat";
    case HF_REG_APICURIO_V2: return "apicurio-v2";
    case HF_REG_APICURIO_V3: return "apicurio-v3";
    default: return "file";
    }
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Splits the HL7FLOW_REGISTRY setting into mode and base (malloc'd). */
static hf_status parse_url(const char *url, hf_registry_mode *mode, char **base, hf_err *err) {
    static const struct {
        const char *prefix;
        hf_registry_mode mode;
    } prefixes[] = {{"file:", HF_REG_FILE},
                    {"ccompat:", HF_REG_CCOMPAT},
                    {"apicurio-v2:", HF_REG_APICURIO_V2},
                    {"apicurio-v3:", HF_REG_APICURIO_V3}};
    const char *rest = NULL;
    if (url == NULL || *url == '\0')
        url = "file:schemas/avro";
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        if (starts_with(url, prefixes[i].prefix)) {
            *mode = prefixes[i].mode;
            rest = url + strlen(prefixes[i].prefix);
            break;
        }
    }
    if (rest == NULL && (starts_with(url, "http://") || starts_with(url, "https://"))) {
        char *trim = strdup(url);
        if (trim == NULL)
            return hf_err_set(err, HF_ENOMEM, "out of memory");
        for (size_t n = strlen(trim); n > 0 && trim[n - 1] == '/'; n--)
            trim[n - 1] = '\0';
        bool ok = true;
        if (ends_with(trim, "/apis/ccompat/v7") || ends_with(trim, "/apis/ccompat/v6") ||
            ends_with(trim, "/apis/ccompat/v8"))
            *mode = HF_REG_CCOMPAT;
        else if (ends_with(trim, "/apis/registry/v2"))
            *mode = HF_REG_APICURIO_V2;
        else if (ends_with(trim, "/apis/registry/v3"))
            *mode = HF_REG_APICURIO_V3;
        else
            ok = false;
        free(trim);
        if (!ok)
            return hf_err_set(err, HF_ECONFIG,
                              "HL7FLOW_REGISTRY: cannot tell the API of '%s'; prefix it with "
                              "ccompat:, apicurio-v2: or apicurio-v3:",
                              url);
        rest = url;
    }
    if (rest == NULL)
        return hf_err_set(err, HF_ECONFIG,
                          "HL7FLOW_REGISTRY: '%.200s' is not file:DIR, ccompat:URL, "
                          "apicurio-v2:URL or apicurio-v3:URL",
                          url);
    if (*mode == HF_REG_FILE) {
        if (starts_with(rest, "//"))
            rest += 2; /* file:///abs/dir */
        if (*rest == '\0')
            rest = "schemas/avro";
    } else {
        if (!starts_with(rest, "http://") && !starts_with(rest, "https://"))
            return hf_err_set(err, HF_ECONFIG, "HL7FLOW_REGISTRY: '%.200s' needs an http(s) URL",
                              url);
        const char *host = strstr(rest, "://") + 3;
        const char *slash = strchr(host, '/');
        const char *at = strchr(host, '@');
        if (at != NULL && (slash == NULL || at < slash))
            return hf_err_set(err, HF_ECONFIG,
                              "HL7FLOW_REGISTRY: put credentials in HL7FLOW_REGISTRY_USER/"
                              "_PASSWORD or _TOKEN, not in the URL");
    }
    *base = strdup(rest);
    if (*base == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory");
    for (size_t n = strlen(*base); n > 1 && (*base)[n - 1] == '/'; n--)
        (*base)[n - 1] = '\0';
    return HF_OK;
}

static char *dup_or_empty(const char *s) {
    return strdup(s ? s : "");
}

/* True when both files hold the same JSON (equal file ids are fine then). */
static bool same_json(const hf_schema_file *x, const hf_schema_file *y) {
    json_t *jx = json_loadb(x->text, x->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    json_t *jy = json_loadb(y->text, y->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    bool same = json_equal(jx, jy) != 0;
    json_decref(jx);
    json_decref(jy);
    return same;
}

static hf_status open_file_mode(hf_registry *reg, hf_err *err) {
    hf_status st = hf_schema_dir_load(reg->base, &reg->files, err);
    if (st != HF_OK)
        return st;
    char rel[4096];
    snprintf(rel, sizeof rel, "%s/.released", reg->base);
    struct stat sb;
    if (stat(rel, &sb) == 0) { /* earlier versions, resolvable by id */
        st = hf_schema_dir_load(rel, &reg->released, err);
        if (st != HF_OK)
            return st;
    }
    /* Same id for different content would make the wire ambiguous. */
    const hf_schema_file *all[2 * 1024];
    size_t n = 0;
    for (size_t i = 0; i < reg->files.count; i++)
        all[n++] = &reg->files.files[i];
    for (size_t i = 0; i < reg->released.count; i++)
        all[n++] = &reg->released.files[i];
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            if (all[i]->id == all[k]->id && !same_json(all[i], all[k]))
                return hf_err_set(err, HF_ECONFIG,
                                  "registry file:%s: %s and %s have the same id %u; change "
                                  "either (e.g. a doc string)",
                                  reg->base, all[i]->path, all[k]->path, all[i]->id);
    return HF_OK;
}

hf_status hf_registry_open(const hf_registry_cfg *cfg, hf_registry **out, hf_err *err) {
    *out = NULL;
    hf_registry *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory");
    hf_status st = parse_url(cfg->url, &reg->mode, &reg->base, err);
    if (st != HF_OK)
        goto fail;
    static const reg_ops *const OPS[] = {&reg_file_ops, &reg_ccompat_ops, &reg_apicurio_v2_ops,
                                         &reg_apicurio_v3_ops};
    reg->ops = OPS[reg->mode];
    size_t dl = strlen(reg->base) + 16;
    reg->describe = malloc(dl);
    reg->group = strdup(cfg->group && cfg->group[0] ? cfg->group : "default");
    reg->user = dup_or_empty(cfg->user);
    reg->password = dup_or_empty(cfg->password);
    reg->token = dup_or_empty(cfg->token);
    reg->ca_file = dup_or_empty(cfg->ca_file);
    reg->cache_cap = cfg->cache_max > 0 ? (size_t)cfg->cache_max : 128;
    reg->cache = calloc(reg->cache_cap, sizeof *reg->cache);
    if (reg->describe == NULL || reg->group == NULL || reg->user == NULL || reg->password == NULL ||
        reg->token == NULL || reg->ca_file == NULL || reg->cache == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "out of memory");
        goto fail;
    }
    snprintf(reg->describe, dl, "%s:%s", hf_registry_mode_name(reg->mode), reg->base);
    reg->global_ids = cfg->id_kind == 1;
    reg->timeout_ms = cfg->timeout_ms > 0 ? (long)cfg->timeout_ms : 10000L;
    reg->ttl_ms = cfg->ttl_ms;
    for (const char *p = reg->token; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            st =
                hf_err_set(err, HF_ECONFIG, "HL7FLOW_REGISTRY_TOKEN: contains a control character");
            goto fail;
        }
    if (reg->user[0] != '\0' && reg->token[0] != '\0') {
        st = hf_err_set(err, HF_ECONFIG,
                        "HL7FLOW_REGISTRY_USER and HL7FLOW_REGISTRY_TOKEN are both set; use one");
        goto fail;
    }
    if (reg->mode == HF_REG_FILE) {
        st = open_file_mode(reg, err);
        if (st != HF_OK)
            goto fail;
    } else {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            st = hf_err_set(err, HF_ENOMEM, "registry: curl_global_init failed");
            goto fail;
        }
        reg->curl_global = true;
    }
    *out = reg;
    return HF_OK;
fail:
    hf_registry_close(reg);
    return st;
}

hf_status hf_registry_open_env(const char *url_override, hf_registry **out, hf_err *err) {
    hf_registry_cfg cfg = {0};
    *out = NULL;
    hf_status st = hf_cfg_load(&hf_registry_cfg_table, &cfg, err);
    if (st == HF_OK && url_override != NULL) {
        char *copy = strdup(url_override);
        if (copy == NULL) {
            st = hf_err_set(err, HF_ENOMEM, "out of memory");
        } else {
            free(cfg.url);
            cfg.url = copy;
        }
    }
    if (st == HF_OK)
        st = hf_registry_open(&cfg, out, err);
    hf_cfg_free(&hf_registry_cfg_table, &cfg);
    return st;
}

static void wipe_free(char *s) {
    if (s != NULL) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void hf_registry_close(hf_registry *reg) {
    if (reg == NULL)
        return;
    if (reg->curl != NULL)
        curl_easy_cleanup(reg->curl);
    if (reg->curl_global)
        curl_global_cleanup();
    reg_cache_fini(reg);
    hf_schema_dir_fini(&reg->files);
    hf_schema_dir_fini(&reg->released);
    free(reg->describe);
    free(reg->base);
    free(reg->group);
    free(reg->user);
    wipe_free(reg->password);
    wipe_free(reg->token);
    free(reg->ca_file);
    free(reg);
}

hf_registry_mode hf_registry_mode_of(const hf_registry *reg) {
    return reg->mode;
}

const char *hf_registry_describe(const hf_registry *reg) {
    return reg->describe;
}

hf_status hf_registry_latest_id(hf_registry *reg, const char *subject, uint32_t *id, hf_err *err) {
    if (reg_subject_get(reg, subject, id))
        return HF_OK;
    char *text = NULL;
    uint32_t got = 0;
    hf_status st = reg->ops->latest(reg, subject, &got, &text, err);
    if (st != HF_OK)
        return st;
    if (text != NULL)
        reg_cache_put(reg, got, text); /* takes text */
    reg_subject_put(reg, subject, got);
    *id = got;
    HF_LOG(HF_LOG_DEBUG, "registry_latest", HF_LID("subject", subject), HF_LI("schema_id", got));
    return HF_OK;
}

hf_status hf_registry_topic_id(hf_registry *reg, const char *topic, uint32_t *id, hf_err *err) {
    char subject[300];
    if ((size_t)snprintf(subject, sizeof subject, "%s-value", topic) >= sizeof subject)
        return hf_err_set(err, HF_ECONFIG, "topic name too long");
    return hf_registry_latest_id(reg, subject, id, err);
}

/* Cache entry for @p id, fetching the text on a miss. */
static hf_status entry_for(hf_registry *reg, uint32_t id, reg_cache_entry **out, hf_err *err) {
    reg_cache_entry *e = reg_cache_get(reg, id);
    if (e == NULL) {
        char *text = NULL;
        hf_status st = reg->ops->fetch(reg, id, &text, err);
        if (st != HF_OK)
            return st;
        e = reg_cache_put(reg, id, text);
        if (e == NULL)
            return hf_err_set(err, HF_ENOMEM, "out of memory");
    }
    *out = e;
    return HF_OK;
}

hf_status hf_registry_schema_text(hf_registry *reg, uint32_t id, char **text, hf_err *err) {
    reg_cache_entry *e = NULL;
    hf_status st = entry_for(reg, id, &e, err);
    if (st != HF_OK)
        return st;
    *text = strdup(e->text);
    return *text ? HF_OK : hf_err_set(err, HF_ENOMEM, "out of memory");
}

hf_status hf_registry_schema(hf_registry *reg, uint32_t id, avro_schema_t *schema, hf_err *err) {
    reg_cache_entry *e = NULL;
    hf_status st = entry_for(reg, id, &e, err);
    if (st != HF_OK)
        return st;
    if (e->schema == NULL) {
        avro_schema_t s = NULL;
        if (avro_schema_from_json_length(e->text, strlen(e->text), &s) != 0)
            return hf_err_set(err, HF_ESYNTAX, "registry %s: schema id %u: avro-c rejects it: %s",
                              reg->describe, id, avro_strerror());
        e->schema = s;
    }
    *schema = avro_schema_incref(e->schema);
    return HF_OK;
}

hf_status hf_registry_iface(hf_registry *reg, uint32_t id, avro_value_iface_t **iface,
                            hf_err *err) {
    avro_schema_t s = NULL;
    hf_status st = hf_registry_schema(reg, id, &s, err);
    if (st != HF_OK)
        return st;
    avro_schema_decref(s); /* the cache entry still holds one */
    reg_cache_entry *e = reg_cache_get(reg, id);
    if (e->iface == NULL) {
        e->iface = avro_generic_class_from_schema(e->schema);
        if (e->iface == NULL)
            return hf_err_set(err, HF_ENOMEM, "registry: schema id %u: no value class: %s", id,
                              avro_strerror());
    }
    *iface = avro_value_iface_incref(e->iface);
    return HF_OK;
}

hf_status hf_registry_register(hf_registry *reg, const char *subject, const char *schema,
                               hf_registry_reg *out, hf_err *err) {
    hf_registry_reg r = {0};
    hf_status st = reg->ops->reg(reg, subject, schema, &r, err);
    if (st != HF_OK)
        return st;
    reg_subject_forget(reg, subject);
    *out = r;
    return HF_OK;
}

hf_status hf_registry_set_compat(hf_registry *reg, const char *subject, const char *level,
                                 hf_err *err) {
    return reg->ops->set_compat(reg, subject, level, err);
}
