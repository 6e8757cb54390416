/* registry_cache.c - the registry client's two caches.
 *
 * id -> schema: a fixed array of HL7FLOW_REGISTRY_CACHE_MAX entries (text,
 * and the avro-c schema and value class once asked for). Ids are immutable
 * in every registry mode, so entries never go stale; when the array is full
 * the least recently used entry is dropped. Lookups scan the array (it is
 * small, and a decode loop meets few distinct ids).
 *
 * subject -> latest id: a growable list with a fetch time; an entry older
 * than HL7FLOW_REGISTRY_LATEST_TTL_MS is ignored (0 disables the cache).
 */
#include <stdlib.h>
#include <string.h>

#include "registry_internal.h"

static void entry_clear(reg_cache_entry *e) {
    free(e->text);
    if (e->iface != NULL)
        avro_value_iface_decref(e->iface);
    if (e->schema != NULL)
        avro_schema_decref(e->schema);
    memset(e, 0, sizeof *e);
}

reg_cache_entry *reg_cache_get(hf_registry *reg, uint32_t id) {
    for (size_t i = 0; i < reg->cache_cap; i++) {
        reg_cache_entry *e = &reg->cache[i];
        if (e->used && e->id == id) {
            e->last_use = ++reg->clock;
            return e;
        }
    }
    return NULL;
}

reg_cache_entry *reg_cache_put(hf_registry *reg, uint32_t id, char *text) {
    reg_cache_entry *e = reg_cache_get(reg, id);
    if (e != NULL) {
        free(text);
        return e;
    }
    reg_cache_entry *victim = NULL;
    for (size_t i = 0; i < reg->cache_cap; i++) {
        reg_cache_entry *c = &reg->cache[i];
        if (!c->used) {
            victim = c;
            break;
        }
        if (victim == NULL || c->last_use < victim->last_use)
            victim = c;
    }
    if (victim == NULL) { /* cache_cap is 0: cannot happen after open */
        free(text);
        return NULL;
    }
    entry_clear(victim);
    victim->used = true;
    victim->id = id;
    victim->text = text;
    victim->last_use = ++reg->clock;
    return victim;
}

static reg_subject_entry *subject_find(hf_registry *reg, const char *subject) {
    for (size_t i = 0; i < reg->nsubjects; i++)
        if (strcmp(reg->subjects[i].subject, subject) == 0)
            return &reg->subjects[i];
    return NULL;
}

bool reg_subject_get(hf_registry *reg, const char *subject, uint32_t *id) {
    if (reg->ttl_ms <= 0)
        return false;
    reg_subject_entry *e = subject_find(reg, subject);
    if (e == NULL || reg_now_ms() - e->fetched_ms >= reg->ttl_ms)
        return false;
    *id = e->id;
    return true;
}

void reg_subject_put(hf_registry *reg, const char *subject, uint32_t id) {
    if (reg->ttl_ms <= 0)
        return;
    reg_subject_entry *e = subject_find(reg, subject);
    if (e == NULL) {
        if (reg->nsubjects == reg->subjects_cap) {
            size_t cap = reg->subjects_cap ? reg->subjects_cap * 2 : 8;
            reg_subject_entry *grown = realloc(reg->subjects, cap * sizeof *grown);
            if (grown == NULL)
                return;
            reg->subjects = grown;
            reg->subjects_cap = cap;
        }
        char *copy = strdup(subject);
        if (copy == NULL)
            return;
        e = &reg->subjects[reg->nsubjects++];
        e->subject = copy;
    }
    e->id = id;
    e->fetched_ms = reg_now_ms();
}

void reg_subject_forget(hf_registry *reg, const char *subject) {
    reg_subject_entry *e = subject_find(reg, subject);
    if (e == NULL)
        return;
    free(e->subject);
    *e = reg->subjects[--reg->nsubjects];
}

void reg_cache_fini(hf_registry *reg) {
    for (size_t i = 0; i < reg->cache_cap; i++)
        entry_clear(&reg->cache[i]);
    free(reg->cache);
    reg->cache = NULL;
    reg->cache_cap = 0;
    for (size_t i = 0; i < reg->nsubjects; i++)
        free(reg->subjects[i].subject);
    free(reg->subjects);
    reg->subjects = NULL;
    reg->nsubjects = reg->subjects_cap = 0;
}
