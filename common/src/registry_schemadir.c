/* registry_schemadir.c - schema directories (schemas/avro and its
 * .released/ copies): which files count, which subject each file is
 * registered under, and the deterministic file: mode id of a schema.
 *
 * Subject rule: "<topic>.avsc" -> "<topic>-value" (TopicNameStrategy, the
 * Apicurio/Confluent default); a file already named "<x>-value.avsc" or
 * "<x>-key.avsc" is registered as "<x>-value" / "<x>-key".
 *
 * Id rule (file: mode): SHA-256 over the schema's normalized JSON (jansson,
 * compact, object keys sorted, non-ASCII kept as UTF-8); the first four
 * bytes big-endian with the top bit cleared (ids are positive int32 on the
 * wire); 0 becomes 1. Same content under two subjects gets the same id, as
 * with Apicurio's contentId.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/sha.h>

#include "registry_internal.h"

#define DIR_MAX_FILES 1024
#define FILE_MAX_BYTES (16u << 20)

bool hf_schema_subject_of(const char *name, char *subject, size_t cap) {
    static const char ext[] = ".avsc";
    size_t n = strlen(name), el = sizeof ext - 1;
    if (n <= el || strcmp(name + n - el, ext) != 0)
        return false;
    size_t stem = n - el;
    for (size_t i = 0; i < stem; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    bool suffixed = (stem > 6 && strncmp(name + stem - 6, "-value", 6) == 0) ||
                    (stem > 4 && strncmp(name + stem - 4, "-key", 4) == 0);
    int w = snprintf(subject, cap, "%.*s%s", (int)stem, name, suffixed ? "" : "-value");
    return w > 0 && (size_t)w < cap;
}

hf_status hf_schema_file_id(const char *text, size_t len, uint32_t *id, hf_err *err) {
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (j == NULL)
        return hf_err_set(err, HF_ESYNTAX, "not JSON: line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
    char *norm = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    if (norm == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory");
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)norm, strlen(norm), md);
    free(norm);
    uint32_t v = ((uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3]) &
                 0x7fffffffu;
    *id = v ? v : 1;
    return HF_OK;
}

static hf_status read_file(const char *path, char **text, size_t *len, hf_err *err) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return hf_err_set(err, HF_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size > (off_t)FILE_MAX_BYTES) {
        fclose(f);
        return hf_err_set(err, HF_ELIMIT, "%s: larger than 16 MiB", path);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        return hf_err_set(err, HF_ENOMEM, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(buf);
        return hf_err_set(err, HF_EIO, "%s: read error", path);
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return HF_OK;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const hf_schema_file *)a)->name, ((const hf_schema_file *)b)->name);
}

hf_status hf_schema_dir_load(const char *dir, hf_schema_dir *out, hf_err *err) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (d == NULL)
        return hf_err_set(err, HF_EIO, "schema directory %s: %s", dir, strerror(errno));
    hf_status st = HF_OK;
    size_t cap = 0;
    struct dirent *de;
    while (st == HF_OK && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t nl = strlen(name);
        if (name[0] == '.' || nl < 6 || strcmp(name + nl - 5, ".avsc") != 0)
            continue;
        char subject[256];
        if (!hf_schema_subject_of(name, subject, sizeof subject)) {
            st = hf_err_set(err, HF_ECONFIG,
                            "%s/%s: a schema file name must be <topic>.avsc with [A-Za-z0-9._-] "
                            "only",
                            dir, name);
            break;
        }
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
            st = hf_err_set(err, HF_ELIMIT, "%s/%s: path too long", dir, name);
            break;
        }
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (out->count == DIR_MAX_FILES) {
            st = hf_err_set(err, HF_ELIMIT, "%s: more than %d schema files", dir, DIR_MAX_FILES);
            break;
        }
        if (out->count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            hf_schema_file *grown = realloc(out->files, ncap * sizeof *grown);
            if (grown == NULL) {
                st = hf_err_set(err, HF_ENOMEM, "out of memory");
                break;
            }
            out->files = grown;
            cap = ncap;
        }
        hf_schema_file *f = &out->files[out->count];
        memset(f, 0, sizeof *f);
        out->count++;
        f->path = strdup(path);
        f->name = strdup(name);
        f->subject = strdup(subject);
        if (f->path == NULL || f->name == NULL || f->subject == NULL) {
            st = hf_err_set(err, HF_ENOMEM, "out of memory");
            break;
        }
        st = read_file(path, &f->text, &f->len, err);
        if (st != HF_OK)
            break;
        hf_err inner = {0};
        st = hf_schema_file_id(f->text, f->len, &f->id, &inner);
        if (st != HF_OK)
            hf_err_set(err, st, "%s: %s", path, inner.msg);
    }
    closedir(d);
    if (st == HF_OK && out->count > 1) {
        qsort(out->files, out->count, sizeof *out->files, by_name);
        for (size_t i = 0; i < out->count && st == HF_OK; i++)
            for (size_t k = i + 1; k < out->count; k++)
                if (strcmp(out->files[i].subject, out->files[k].subject) == 0) {
                    st = hf_err_set(err, HF_ECONFIG, "%s and %s both map to subject %s",
                                    out->files[i].path, out->files[k].path, out->files[i].subject);
                    break;
                }
    }
    if (st != HF_OK)
        hf_schema_dir_fini(out);
    return st;
}

const hf_schema_file *hf_schema_dir_find(const hf_schema_dir *d, const char *subject) {
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->files[i].subject, subject) == 0)
            return &d->files[i];
    return NULL;
}

void hf_schema_dir_fini(hf_schema_dir *d) {
    for (size_t i = 0; i < d->count; i++) {
        free(d->files[i].path);
        free(d->files[i].name);
        free(d->files[i].subject);
        free(d->files[i].text);
    }
    free(d->files);
    d->files = NULL;
    d->count = 0;
}
