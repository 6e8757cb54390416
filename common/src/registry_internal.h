/* registry_internal.h - what the registry_*.c files share: the client
 * struct, the per-mode operations table, the HTTP helper and the caches.
 * Not a public header (see hl7flow/registry.h).
 *
 * Layering: registry_core.c (public API, settings, dispatch) -> a mode
 * backend (registry_ccompat.c, registry_apicurio.c, registry_file.c) ->
 * registry_http.c (libcurl transport, error classes and messages).
 * registry_cache.c holds the id -> schema and subject -> id caches;
 * registry_schemadir.c reads schema directories and computes file ids.
 */
#ifndef HL7FLOW_REGISTRY_INTERNAL_H
#define HL7FLOW_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>

#include "hl7flow/registry.h"

/* One mode's operations. Each returns HF_OK or an error with the message
 * set; outputs are only written on HF_OK. */
typedef struct reg_ops {
    /* Latest version of @p subject: its wire id, and (when the API answers
     * with it, else NULL) a malloc'd copy of its schema text. */
    hf_status (*latest)(hf_registry *reg, const char *subject, uint32_t *id, char **text,
                        hf_err *err);
    /* Schema text of wire id @p id (malloc'd). */
    hf_status (*fetch)(hf_registry *reg, uint32_t id, char **text, hf_err *err);
    hf_status (*reg)(hf_registry *reg, const char *subject, const char *schema,
                     hf_registry_reg *out, hf_err *err);
    hf_status (*set_compat)(hf_registry *reg, const char *subject, const char *level, hf_err *err);
} reg_ops;

extern const reg_ops reg_ccompat_ops;
extern const reg_ops reg_apicurio_v2_ops;
extern const reg_ops reg_apicurio_v3_ops;
extern const reg_ops reg_file_ops;

typedef struct reg_cache_entry {
    uint32_t id;
    bool used;
    char *text;                /* owned */
    avro_schema_t schema;      /* owned reference, NULL until first asked */
    avro_value_iface_t *iface; /* owned reference, NULL until first asked */
    uint64_t last_use;         /* LRU clock */
} reg_cache_entry;

typedef struct reg_subject_entry {
    char *subject; /* owned */
    uint32_t id;
    int64_t fetched_ms; /* monotonic ms */
} reg_subject_entry;

struct hf_registry {
    hf_registry_mode mode;
    const reg_ops *ops;
    char *describe;  /* "mode:url", no credentials */
    char *base;      /* API base URL without trailing '/', or the file: directory */
    char *group;     /* Apicurio group id */
    bool global_ids; /* HL7FLOW_REGISTRY_ID=globalId */
    /* HTTP */
    CURL *curl;
    bool curl_global; /* curl_global_init succeeded */
    char *user, *password, *token, *ca_file;
    long timeout_ms;
    /* file: mode */
    hf_schema_dir files;    /* current schemas */
    hf_schema_dir released; /* .released/ copies: resolvable by id only */
    /* caches */
    reg_cache_entry *cache;
    size_t cache_cap;
    uint64_t clock;
    reg_subject_entry *subjects;
    size_t nsubjects, subjects_cap;
    int64_t ttl_ms;
};

/* ---- HTTP (registry_http.c) -------------------------------------------- */

typedef struct reg_resp {
    long status; /* HTTP status */
    char *body;  /* malloc'd, NUL-terminated (may be empty) */
    size_t len;
} reg_resp;

/* Performs @p method on base + @p path (path already escaped, may carry a
 * query) with optional @p body of @p ctype and extra header lines
 * (NULL-terminated @p headers, may be NULL). HF_OK whenever an HTTP answer
 * arrived (any status; free resp->body with reg_resp_fini). Transport
 * failures: HF_ERETRY (connect, DNS, timeout, reset), HF_ECONFIG (TLS
 * verification, unsupported URL), with "registry <mode> <METHOD> <path>:
 * <what>" in @p err. */
hf_status reg_http(hf_registry *reg, const char *method, const char *path, const char *ctype,
                   const char *body, const char *const *headers, reg_resp *resp, hf_err *err);

void reg_resp_fini(reg_resp *resp);

/* Turns a non-2xx answer into its class and message: "registry <mode>
 * <METHOD> <path>: <status> [error_code N] <server message>[; causes:
 * ...]". 404 -> HF_ENOTFOUND; 408, 429, 5xx -> HF_ERETRY; other 4xx ->
 * HF_ECONFIG. */
hf_status reg_http_fail(hf_registry *reg, const char *method, const char *path,
                        const reg_resp *resp, hf_err *err);

/* HF_EIO "registry <mode> <METHOD> <path>: <status> but <what>". */
hf_status reg_bad_answer(hf_registry *reg, const char *method, const char *path, long status,
                         const char *what, hf_err *err);

/* True for a rule-violation answer: 409 or 400 whose JSON body has a
 * non-empty "causes" array or names RuleViolationException. */
bool reg_is_rule_violation(const reg_resp *resp);

/* Percent-encodes @p s for one path segment or query value; malloc'd (NULL
 * on out of memory). */
char *reg_escape(const char *s);

/* Reads the non-negative integer member @p key of @p obj as a wire id:
 * false when absent, not an integer or above INT32_MAX. */
bool reg_json_id(json_t *obj, const char *key, uint32_t *id);

/* ---- caches (registry_cache.c) ----------------------------------------- */

/* Entry for @p id or NULL; marks it used. */
reg_cache_entry *reg_cache_get(hf_registry *reg, uint32_t id);

/* Stores @p text (taken) for @p id, evicting the least recently used entry
 * when full; returns the entry, or NULL (text freed) on out of memory. An
 * existing entry for @p id keeps its text and @p text is freed. */
reg_cache_entry *reg_cache_put(hf_registry *reg, uint32_t id, char *text);

/* Cached latest id of @p subject younger than the TTL, else false. */
bool reg_subject_get(hf_registry *reg, const char *subject, uint32_t *id);

/* Remembers @p subject -> @p id now (out of memory only skips caching). */
void reg_subject_put(hf_registry *reg, const char *subject, uint32_t id);

/* Forgets @p subject (after a registration changed it). */
void reg_subject_forget(hf_registry *reg, const char *subject);

void reg_cache_fini(hf_registry *reg);

/* Monotonic clock in ms. */
int64_t reg_now_ms(void);

#endif
