/* record_arena.c - memory of the records: the per-context bump arena, the
 * context's life cycle and the growable output buffer.
 *
 * A record is built (or decoded) into its context's arena, which keeps its
 * chunks across messages: once warmed up, building a record of a size seen
 * before allocates nothing.
 */
#include <stdlib.h>

#include "record_internal.h"

#define CHUNK_MIN (64u * 1024u)
#define KEEP_MAX (4u * 1024u * 1024u) /* largest arena kept between records */

struct hf_rec_chunk {
    hf_rec_chunk *next; /* in the all-list */
    size_t size;        /* bytes of data[] */
    _Alignas(8) char data[];
};

void hf_rec_arena_reset(hf_rec_arena *a) {
    /* Steady state is one chunk. After a record that needed several, they
     * are merged into one chunk of their total size, so the next record of
     * that size fits; beyond KEEP_MAX nothing is kept (one huge message
     * must not pin its memory forever). */
    size_t total = 0, count = 0;
    for (hf_rec_chunk *c = a->all; c != NULL; c = c->next) {
        total += c->size;
        count++;
    }
    if (count > 1 || total > KEEP_MAX) {
        hf_rec_arena_free(a);
        if (total <= KEEP_MAX) {
            hf_rec_chunk *c = malloc(sizeof *c + total);
            if (c != NULL) {
                c->size = total;
                c->next = NULL;
                a->all = c;
            }
        }
    }
    a->head = a->all;
    if (a->head != NULL) {
        a->p = a->head->data;
        a->end = a->head->data + a->head->size;
    } else {
        a->p = a->end = NULL;
    }
}

void hf_rec_arena_free(hf_rec_arena *a) {
    for (hf_rec_chunk *c = a->all, *n; c != NULL; c = n) {
        n = c->next;
        free(c);
    }
    a->all = a->head = NULL;
    a->p = a->end = NULL;
}

void *hf_rec_arena_grow(hf_rec_arena *a, size_t size) {
    size_t total = 0;
    for (hf_rec_chunk *c = a->all; c != NULL; c = c->next)
        total += c->size;
    /* double the arena so a big message needs few chunks; the next reset
     * keeps only the biggest one */
    size_t want = total > CHUNK_MIN ? total : CHUNK_MIN;
    if (want < size)
        want = size;
    if (want > SIZE_MAX / 2 - sizeof(hf_rec_chunk))
        return NULL;
    hf_rec_chunk *c = malloc(sizeof *c + want);
    if (c == NULL)
        return NULL;
    c->size = want;
    c->next = a->all;
    a->all = c;
    a->head = c;
    a->p = c->data + size;
    a->end = c->data + want;
    return c->data;
}

hf_rec_ctx *hf_rec_ctx_new(void) {
    return calloc(1, sizeof(hf_rec_ctx));
}

void hf_rec_ctx_destroy(hf_rec_ctx *ctx) {
    if (ctx == NULL)
        return;
    hf_rec_arena_free(&ctx->arena);
    free(ctx);
}

void *hf_rec_alloc(hf_rec_ctx *ctx, size_t size) {
    return hf_rec_arena_zalloc(&ctx->arena, size);
}

hf_span hf_rec_strdup(hf_rec_ctx *ctx, const char *s, size_t len) {
    if (len == 0)
        return (hf_span){"", 0};
    char *p = hf_rec_arena_alloc(&ctx->arena, len);
    if (p == NULL)
        return (hf_span){"", 0};
    memcpy(p, s, len);
    return (hf_span){p, len};
}

void hf_rec_buf_free(hf_rec_buf *b) {
    if (b == NULL)
        return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
