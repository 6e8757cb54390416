/* emit.c - the output collector a transform fills (see stage.h). One
 * growable byte arena holds topics, keys, values and header values of the
 * current record's outputs; the loop produces them (librdkafka copies) and
 * resets the collector before the next record, so steady state allocates
 * nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_internal.h"

#define EMIT_MAX_OUTPUTS 4096
#define EMIT_MAX_HEADERS 64

static hf_status arena_put(hf_emit *em, const void *p, size_t n, size_t *off) {
    if (em->used + n + 1 > em->cap) {
        size_t cap = em->cap ? em->cap : 4096;
        while (cap < em->used + n + 1)
            cap *= 2;
        char *nb = realloc(em->arena, cap);
        if (nb == NULL)
            return HF_ENOMEM;
        em->arena = nb;
        em->cap = cap;
    }
    *off = em->used;
    if (n > 0)
        memcpy(em->arena + em->used, p, n);
    em->arena[em->used + n] = '\0'; /* topics and header names are read as C strings */
    em->used += n + 1;
    return HF_OK;
}

void hf_emit_reset(hf_emit *em) {
    em->used = 0;
    em->nout = 0;
    em->nhdr = 0;
}

void hf_emit_fini(hf_emit *em) {
    free(em->arena);
    free(em->out);
    free(em->hdr);
    memset(em, 0, sizeof *em);
}

hf_status hf_emit_record(hf_emit *em, const char *topic, const void *key, size_t key_len,
                         const void *value, size_t value_len) {
    if (em->nout >= EMIT_MAX_OUTPUTS)
        return HF_ELIMIT;
    if (em->nout == em->out_cap) {
        size_t cap = em->out_cap ? em->out_cap * 2 : 8;
        hf_emit_out *no = realloc(em->out, cap * sizeof *no);
        if (no == NULL)
            return HF_ENOMEM;
        em->out = no;
        em->out_cap = cap;
    }
    hf_emit_out o = {0};
    o.hdr_first = em->nhdr;
    o.has_key = key != NULL;
    o.key_len = key_len;
    o.value_len = value_len;
    o.has_value = value != NULL;
    if (arena_put(em, topic, strlen(topic), &o.topic_off) != HF_OK ||
        arena_put(em, key, key != NULL ? key_len : 0, &o.key_off) != HF_OK ||
        arena_put(em, value, value != NULL ? value_len : 0, &o.value_off) != HF_OK)
        return HF_ENOMEM;
    em->out[em->nout++] = o;
    return HF_OK;
}

hf_status hf_emit_header(hf_emit *em, const char *name, const void *value, size_t len) {
    if (em->nout == 0)
        return HF_ESYNTAX;
    if (em->nhdr >= EMIT_MAX_HEADERS * EMIT_MAX_OUTPUTS)
        return HF_ELIMIT;
    if (em->nhdr == em->hdr_cap) {
        size_t cap = em->hdr_cap ? em->hdr_cap * 2 : 16;
        hf_emit_hdr *nh = realloc(em->hdr, cap * sizeof *nh);
        if (nh == NULL)
            return HF_ENOMEM;
        em->hdr = nh;
        em->hdr_cap = cap;
    }
    hf_emit_hdr h = {0};
    h.value_len = len;
    if (arena_put(em, name, strlen(name), &h.name_off) != HF_OK ||
        arena_put(em, value, len, &h.value_off) != HF_OK)
        return HF_ENOMEM;
    em->hdr[em->nhdr++] = h;
    em->out[em->nout - 1].hdr_count++;
    return HF_OK;
}

hf_status hf_dlq_set(hf_dlq_reason *why, const char *error_class, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    snprintf(why->error_class, sizeof why->error_class, "%s", error_class);
    vsnprintf(why->error, sizeof why->error, fmt, ap);
    va_end(ap);
    return HF_ESYNTAX;
}
