/* registry.h - the schema-registry client: which schema id goes on the wire
 * for a topic, and which schema a wire id stands for.
 *
 * One setting picks the registry (HL7FLOW_REGISTRY, see
 * docs/internals/registry.md):
 *   file:schemas/avro                        embedded default, no server
 *   ccompat:http://h:8080/apis/ccompat/v7    Confluent-compatible REST
 *   apicurio-v2:http://h:8080/apis/registry/v2
 *   apicurio-v3:http://h:8080/apis/registry/v3
 * (a bare http(s) URL ending in one of those API paths picks its mode).
 *
 * Ids: the id on the wire (magic 0, 4-byte big-endian id, Avro binary) is
 * the one the ccompat API serves, i.e. Apicurio's contentId by default: the
 * apicurio-v2/v3 modes read contentId from the version metadata
 * (HL7FLOW_REGISTRY_ID=globalId for a registry in legacy id mode). file:
 * mode assigns each schema file the id derived from a SHA-256 of its
 * normalized JSON (hf_schema_file_id), so every process and every run
 * agrees without a server.
 *
 * Services call hf_registry_latest_id once per output topic at start and
 * hf_registry_schema / hf_registry_schema_text for each writer id they meet
 * while decoding; both answers are cached (ids are immutable, so the
 * id -> schema cache never goes stale; it is bounded by
 * HL7FLOW_REGISTRY_CACHE_MAX entries, least recently used out first).
 * Services never register: hf_registry_register and hf_registry_set_compat
 * are for the deploy step (`hl7flow schemas register`).
 *
 * Errors name the mode, the request and the server's answer:
 *   "registry ccompat GET /subjects/hl7.parsed.adt-value/versions/latest:
 *    404 error_code 40401 Subject 'hl7.parsed.adt-value' not found."
 * and are classed for the caller's retry policy: HF_ERETRY (cannot
 * connect, timeout, 408/429/5xx: back off and retry), HF_ENOTFOUND (no such
 * subject, version or id), HF_ECONFIG (bad setting, TLS or auth failure,
 * 4xx such as a rule violation), HF_EIO (an answer that is not what the API
 * documents), HF_ENOMEM. An hf_registry is not thread-safe: use one per
 * thread (services are single-threaded).
 */
#ifndef HL7FLOW_REGISTRY_H
#define HL7FLOW_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "hl7flow/config.h"
#include "hl7flow/status.h"

typedef enum {
    HF_REG_FILE,
    HF_REG_CCOMPAT,
    HF_REG_APICURIO_V2,
    HF_REG_APICURIO_V3
} hf_registry_mode;

/* Settings, loaded from the environment with hf_registry_cfg_table. */
typedef struct hf_registry_cfg {
    char *url;          /* HL7FLOW_REGISTRY: mode-prefixed URL or file:DIR */
    char *group;        /* HL7FLOW_REGISTRY_GROUP: Apicurio group ("default") */
    int id_kind;        /* HL7FLOW_REGISTRY_ID: 0 contentId, 1 globalId */
    char *user;         /* HL7FLOW_REGISTRY_USER: basic auth user ("" none) */
    char *password;     /* HL7FLOW_REGISTRY_PASSWORD (or _FILE), secret */
    char *token;        /* HL7FLOW_REGISTRY_TOKEN (or _FILE): bearer, secret */
    char *ca_file;      /* HL7FLOW_REGISTRY_CA_FILE: PEM bundle ("" = system) */
    int64_t timeout_ms; /* HL7FLOW_REGISTRY_TIMEOUT_MS: whole request */
    int64_t cache_max;  /* HL7FLOW_REGISTRY_CACHE_MAX: id -> schema entries */
    int64_t ttl_ms;     /* HL7FLOW_REGISTRY_LATEST_TTL_MS: subject -> id cache */
} hf_registry_cfg;

/* The HL7FLOW_REGISTRY* variables, for hf_cfg_load / hf_cfg_help. Free the
 * loaded struct with hf_cfg_free(&hf_registry_cfg_table, &cfg). */
extern const hf_cfg_table hf_registry_cfg_table;

typedef struct hf_registry hf_registry;

/* Opens a client per @p cfg (borrowed; everything needed is copied). No
 * request is made yet. file: mode reads the directory now (its *.avsc files
 * and the .avsc files in .released/) and fails on an unreadable or invalid schema file
 * or an id collision. On HF_OK *out is owned by the caller (free with
 * hf_registry_close). Errors: HF_ECONFIG (unknown mode, bad URL or
 * settings), HF_EIO/HF_ESYNTAX (file: directory), HF_ENOMEM. */
hf_status hf_registry_open(const hf_registry_cfg *cfg, hf_registry **out, hf_err *err);

/* hf_registry_open with the settings from the environment; @p url_override
 * (may be NULL) replaces HL7FLOW_REGISTRY (a command-line --registry). */
hf_status hf_registry_open_env(const char *url_override, hf_registry **out, hf_err *err);

/* Frees the client and its caches; NULL is a no-op. Avro schemas handed
 * out stay valid (they are reference counted). */
void hf_registry_close(hf_registry *reg);

hf_registry_mode hf_registry_mode_of(const hf_registry *reg);

/* "ccompat", "apicurio-v2", "apicurio-v3", "file". */
const char *hf_registry_mode_name(hf_registry_mode mode);

/* The setting as opened, without credentials ("ccompat:http://h/apis/
 * ccompat/v7"); points into @p reg. */
const char *hf_registry_describe(const hf_registry *reg);

/* Id of the latest version of @p subject ("hl7.parsed.adt-value") into
 * *id. Cached per subject for HL7FLOW_REGISTRY_LATEST_TTL_MS. The schema
 * text comes with it where the API returns it, so a following
 * hf_registry_schema for the id costs no request. */
hf_status hf_registry_latest_id(hf_registry *reg, const char *subject, uint32_t *id, hf_err *err);

/* hf_registry_latest_id for subject "<topic>-value". */
hf_status hf_registry_topic_id(hf_registry *reg, const char *topic, uint32_t *id, hf_err *err);

/* The schema text of wire id @p id: *text is a malloc'd NUL-terminated
 * copy the caller frees. HF_ENOTFOUND for an unknown id. */
hf_status hf_registry_schema_text(hf_registry *reg, uint32_t id, char **text, hf_err *err);

/* The parsed (avro-c) schema of wire id @p id: *schema is a new reference
 * (release with avro_schema_decref). HF_ESYNTAX when the registry's text is
 * not a schema avro-c accepts. */
hf_status hf_registry_schema(hf_registry *reg, uint32_t id, avro_schema_t *schema, hf_err *err);

/* A generic value class for wire id @p id (for avro_generic_value_new /
 * avro_value_read): *iface is a new reference (release with
 * avro_value_iface_decref). */
hf_status hf_registry_iface(hf_registry *reg, uint32_t id, avro_value_iface_t **iface, hf_err *err);

/* ---- deploy-time operations (never called by services) ------------------ */

typedef struct hf_registry_reg {
    uint32_t id;  /* wire id of the registered content */
    bool created; /* false: the subject already had this content */
} hf_registry_reg;

/* Registers @p schema (Avro JSON text) under @p subject; idempotent: the
 * same content again creates nothing and returns its id. When the subject
 * exists, its compatibility rule is enforced by the registry: a violation
 * is HF_ECONFIG with the registry's answer (409, or 400 with causes from
 * Apicurio 3.3+) in the message. file: mode is read-only and answers
 * HF_ECONFIG. */
hf_status hf_registry_register(hf_registry *reg, const char *subject, const char *schema,
                               hf_registry_reg *out, hf_err *err);

/* Sets the subject's compatibility rule to @p level ("FULL", "BACKWARD",
 * ...), creating or updating it; idempotent. The subject must exist. */
hf_status hf_registry_set_compat(hf_registry *reg, const char *subject, const char *level,
                                 hf_err *err);

/* ---- schema files (schemas/avro) --------------------------------------- */

/* One schema file of a directory. */
typedef struct hf_schema_file {
    char *path;    /* "schemas/avro/hl7.parsed.adt.avsc" (owned) */
    char *name;    /* "hl7.parsed.adt.avsc" (owned) */
    char *subject; /* "hl7.parsed.adt-value" (owned) */
    char *text;    /* file content, NUL-terminated (owned) */
    size_t len;    /* bytes in text */
    uint32_t id;   /* file: mode id of the content (hf_schema_file_id) */
} hf_schema_file;

typedef struct hf_schema_dir {
    hf_schema_file *files; /* owned, sorted by name */
    size_t count;
} hf_schema_dir;

/* Subject of a schema file name: "<topic>.avsc" -> "<topic>-value";
 * a name already ending in "-value.avsc" or "-key.avsc" keeps that
 * ending ("x-key.avsc" -> "x-key"). Writes at most @p cap bytes; false
 * when @p name does not end in .avsc, has characters outside
 * [A-Za-z0-9._-], or does not fit. */
bool hf_schema_subject_of(const char *name, char *subject, size_t cap);

/* Reads every "*.avsc" file directly in @p dir (not hidden ones, not
 * subdirectories; at most 1024 files of at most 16 MiB each), sorted by
 * name, computing subject and id. An empty or missing .avsc set is not an
 * error (count 0); a missing directory is HF_EIO. Overwrites *out (free
 * with hf_schema_dir_fini). */
hf_status hf_schema_dir_load(const char *dir, hf_schema_dir *out, hf_err *err);

/* The file with @p subject, or NULL. */
const hf_schema_file *hf_schema_dir_find(const hf_schema_dir *d, const char *subject);

/* Frees everything; safe on a zeroed struct and twice. */
void hf_schema_dir_fini(hf_schema_dir *d);

/* file: mode id of a schema text: the first 4 bytes (big-endian) of the
 * SHA-256 of its normalized JSON (compact, object keys sorted, as
 * jansson writes it), top bit cleared; 0 becomes 1. Whitespace and key
 * order do not change it; anything else does. HF_ESYNTAX when @p text is
 * not JSON. */
hf_status hf_schema_file_id(const char *text, size_t len, uint32_t *id, hf_err *err);

#endif
