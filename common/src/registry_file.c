/* registry_file.c - the file: registry mode, the embedded default: schemas
 * come from a directory (schemas/avro), ids from hf_schema_file_id, so no
 * server is needed and every process agrees on the ids.
 *
 * The latest version of subject S is the file whose name maps to S. Ids
 * also resolve for the copies in <dir>/.released/ (earlier versions), so a
 * reader meeting data written with the previous schema still finds it.
 * The mode is read-only: registering or setting rules is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry_internal.h"

static hf_status file_latest(hf_registry *reg, const char *subject, uint32_t *id, char **text,
                             hf_err *err) {
    const hf_schema_file *f = hf_schema_dir_find(&reg->files, subject);
    if (f == NULL)
        return hf_err_set(err, HF_ENOTFOUND,
                          "registry file:%s: no schema for subject %s (no file in %s maps to it)",
                          reg->base, subject, reg->base);
    char *copy = strdup(f->text);
    if (copy == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory");
    *id = f->id;
    *text = copy;
    return HF_OK;
}

static const hf_schema_file *by_id(const hf_schema_dir *d, uint32_t id) {
    for (size_t i = 0; i < d->count; i++)
        if (d->files[i].id == id)
            return &d->files[i];
    return NULL;
}

static hf_status file_fetch(hf_registry *reg, uint32_t id, char **text, hf_err *err) {
    const hf_schema_file *f = by_id(&reg->files, id);
    if (f == NULL)
        f = by_id(&reg->released, id);
    if (f == NULL)
        return hf_err_set(err, HF_ENOTFOUND, "registry file:%s: no schema has id %u", reg->base,
                          id);
    *text = strdup(f->text);
    return *text ? HF_OK : hf_err_set(err, HF_ENOMEM, "out of memory");
}

static hf_status file_register(hf_registry *reg, const char *subject, const char *schema,
                               hf_registry_reg *out, hf_err *err) {
    (void)schema;
    (void)out;
    return hf_err_set(err, HF_ECONFIG,
                      "registry file:%s: read-only mode, cannot register %s (point --registry "
                      "at an HTTP registry)",
                      reg->base, subject);
}

static hf_status file_set_compat(hf_registry *reg, const char *subject, const char *level,
                                 hf_err *err) {
    (void)level;
    return hf_err_set(err, HF_ECONFIG, "registry file:%s: read-only mode, cannot set rules on %s",
                      reg->base, subject);
}

const reg_ops reg_file_ops = {file_latest, file_fetch, file_register, file_set_compat};
