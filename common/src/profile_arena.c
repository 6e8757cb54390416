/* profile_arena.c - the bump allocator a compiled rule set lives in: many
 * small arrays, allocated once at load, freed together by
 * hf_profile_destroy. Chunks grow geometrically; a large request gets a
 * chunk of its own. */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "profile_internal.h"

struct pf_chunk {
    pf_chunk *next;
    size_t used, cap;
    max_align_t data[]; /* cap bytes */
};

#define PF_CHUNK_MIN 16384

void *pf_arena_alloc(pf_arena *a, size_t n) {
    size_t al = alignof(max_align_t);
    size_t need = (n + al - 1) / al * al;
    if (need == 0)
        need = al;
    pf_chunk *c = a->head;
    if (c == NULL || c->cap - c->used < need) {
        size_t cap = c != NULL ? c->cap * 2 : PF_CHUNK_MIN;
        if (cap < need)
            cap = need;
        pf_chunk *nc = malloc(sizeof *nc + cap);
        if (nc == NULL)
            return NULL;
        nc->used = 0;
        nc->cap = cap;
        nc->next = a->head;
        a->head = nc;
        c = nc;
    }
    void *p = (char *)c->data + c->used;
    c->used += need;
    memset(p, 0, need);
    return p;
}

char *pf_arena_strndup(pf_arena *a, const char *p, size_t n) {
    char *s = pf_arena_alloc(a, n + 1);
    if (s != NULL && n > 0)
        memcpy(s, p, n);
    return s;
}

void pf_arena_free(pf_arena *a) {
    pf_chunk *c = a->head;
    while (c != NULL) {
        pf_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}
