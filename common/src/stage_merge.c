/* stage_merge.c - ordered merge of co-partitioned input topics
 * (stage_merge.h).
 *
 * Layout: one group per partition number, indexed directly (partition
 * numbers are small and dense); each group has one FIFO per input topic,
 * a ring buffer of held records that grows by doubling. Releasing scans
 * the group's topics for the smallest head: a handful of topics, so a
 * linear scan beats any heap.
 */
#include "stage_merge.h"

#include <stdlib.h>
#include <string.h>

typedef struct held {
    void *msg;
    int64_t ts_us;
    int64_t offset;
} held;

typedef struct fifo {
    held *ring;
    size_t cap, head, count;
    bool assigned;
    bool at_end; /* partition EOF seen and nothing pushed since */
    bool paused; /* told the owner to stop fetching it (hold_max reached) */
} fifo;

typedef struct group {
    fifo *fifos;        /* ntopics of them */
    int64_t wait_since; /* monotonic ms the group started waiting; -1 = not waiting */
} group;

struct hf_merge {
    int ntopics;
    int64_t max_wait_ms;
    size_t hold_max;
    hf_merge_hooks hooks;
    group *groups;      /* index = partition number */
    int32_t ngroups;
    int32_t next_start; /* group to serve first on the next release (fairness) */
    size_t held_total;
    uint64_t expired;
};

hf_merge *hf_merge_new(int ntopics, int64_t max_wait_ms, size_t hold_max,
                       const hf_merge_hooks *hooks) {
    if (ntopics <= 0)
        return NULL;
    hf_merge *mg = calloc(1, sizeof *mg);
    if (mg == NULL)
        return NULL;
    mg->ntopics = ntopics;
    mg->max_wait_ms = max_wait_ms;
    mg->hold_max = hold_max < 2 ? 2 : hold_max;
    if (hooks != NULL)
        mg->hooks = *hooks;
    return mg;
}

/* Pauses or resumes fetching @p f (topic @p rank, partition @p p) when its
 * state changes. */
static void fifo_flow(hf_merge *mg, fifo *f, int rank, int32_t p, bool pause) {
    if (f->paused == pause)
        return;
    f->paused = pause;
    if (mg->hooks.flow != NULL)
        mg->hooks.flow(mg->hooks.arg, rank, p, pause);
}

/* Drops every record held in @p f of topic @p rank, partition @p p (a
 * paused one is resumed first, so it is fetched again). */
static void fifo_drop(hf_merge *mg, fifo *f, int rank, int32_t p) {
    fifo_flow(mg, f, rank, p, false);
    while (f->count > 0) {
        held *h = &f->ring[f->head];
        if (mg->hooks.drop != NULL)
            mg->hooks.drop(mg->hooks.arg, h->msg, rank, p, h->offset);
        f->head = (f->head + 1) % f->cap;
        f->count--;
        mg->held_total--;
    }
    f->head = 0;
}

void hf_merge_free(hf_merge *mg) {
    if (mg == NULL)
        return;
    hf_merge_drop_all(mg);
    for (int32_t p = 0; p < mg->ngroups; p++) {
        group *g = &mg->groups[p];
        if (g->fifos == NULL)
            continue;
        for (int r = 0; r < mg->ntopics; r++)
            free(g->fifos[r].ring);
        free(g->fifos);
    }
    free(mg->groups);
    free(mg);
}

/* The group of partition @p p, created (with its FIFOs) when missing.
 * NULL when out of memory or @p p is negative. */
static group *group_get(hf_merge *mg, int32_t p) {
    if (p < 0)
        return NULL;
    if (p >= mg->ngroups) {
        int32_t n = mg->ngroups > 0 ? mg->ngroups : 8;
        while (n <= p)
            n *= 2;
        group *ng = realloc(mg->groups, (size_t)n * sizeof *ng);
        if (ng == NULL)
            return NULL;
        for (int32_t i = mg->ngroups; i < n; i++)
            ng[i] = (group){NULL, -1};
        mg->groups = ng;
        mg->ngroups = n;
    }
    group *g = &mg->groups[p];
    if (g->fifos == NULL) {
        g->fifos = calloc((size_t)mg->ntopics, sizeof *g->fifos);
        if (g->fifos == NULL)
            return NULL;
    }
    return g;
}

/* The FIFO of topic @p rank partition @p p, or NULL if none exists. */
static fifo *fifo_find(hf_merge *mg, int rank, int32_t p) {
    if (rank < 0 || rank >= mg->ntopics || p < 0 || p >= mg->ngroups || mg->groups[p].fifos == NULL)
        return NULL;
    return &mg->groups[p].fifos[rank];
}

bool hf_merge_assign(hf_merge *mg, int rank, int32_t partition) {
    if (rank < 0 || rank >= mg->ntopics)
        return true; /* not an input we order: nothing to wait for */
    group *g = group_get(mg, partition);
    if (g == NULL)
        return false;
    fifo *f = &g->fifos[rank];
    fifo_drop(mg, f, rank, partition);
    f->assigned = true;
    f->at_end = false;
    return true;
}

void hf_merge_revoke(hf_merge *mg, int rank, int32_t partition) {
    fifo *f = fifo_find(mg, rank, partition);
    if (f == NULL)
        return;
    fifo_drop(mg, f, rank, partition);
    f->assigned = false;
    f->at_end = false;
}

bool hf_merge_push(hf_merge *mg, int rank, int32_t partition, int64_t offset, int64_t ts_us,
                   void *msg) {
    if (rank < 0 || rank >= mg->ntopics)
        return false;
    group *g = group_get(mg, partition);
    if (g == NULL)
        return false;
    fifo *f = &g->fifos[rank];
    if (f->count == f->cap) {
        size_t ncap = f->cap > 0 ? f->cap * 2 : 64;
        held *nr = malloc(ncap * sizeof *nr);
        if (nr == NULL)
            return false;
        for (size_t i = 0; i < f->count; i++)
            nr[i] = f->ring[(f->head + i) % f->cap];
        free(f->ring);
        f->ring = nr;
        f->cap = ncap;
        f->head = 0;
    }
    f->ring[(f->head + f->count) % f->cap] = (held){msg, ts_us, offset};
    f->count++;
    f->assigned = true;
    f->at_end = false;
    mg->held_total++;
    if (f->count >= mg->hold_max)
        fifo_flow(mg, f, rank, partition, true);
    return true;
}

void hf_merge_eof(hf_merge *mg, int rank, int32_t partition) {
    fifo *f = fifo_find(mg, rank, partition);
    if (f != NULL && f->assigned)
        f->at_end = true;
}

/* Releases from group @p g (partition @p p) into @p out (at most @p cap);
 * returns how many. */
static size_t group_release(hf_merge *mg, group *g, int32_t p, int64_t now_ms, void **out,
                            size_t cap) {
    size_t n = 0;
    while (n < cap) {
        fifo *best = NULL;
        int best_rank = 0;
        bool waiting = false;
        for (int r = 0; r < mg->ntopics; r++) {
            fifo *f = &g->fifos[r];
            if (!f->assigned)
                continue;
            if (f->count == 0) {
                waiting |= !f->at_end;
                continue;
            }
            /* Strictly smaller: on equal times the lower rank, seen first, stays. */
            if (best == NULL || f->ring[f->head].ts_us < best->ring[best->head].ts_us) {
                best = f;
                best_rank = r;
            }
        }
        if (best == NULL) {
            g->wait_since = -1;
            break;
        }
        if (waiting) {
            if (g->wait_since < 0)
                g->wait_since = now_ms;
            if (now_ms - g->wait_since < mg->max_wait_ms)
                break;
            mg->expired++;
        } else {
            g->wait_since = -1;
        }
        out[n++] = best->ring[best->head].msg;
        best->head = (best->head + 1) % best->cap;
        best->count--;
        mg->held_total--;
        if (best->paused && best->count <= mg->hold_max / 2)
            fifo_flow(mg, best, best_rank, p, false);
    }
    return n;
}

size_t hf_merge_release(hf_merge *mg, int64_t now_ms, void **out, size_t cap) {
    size_t n = 0;
    if (mg->ngroups == 0 || mg->held_total == 0)
        return 0;
    int32_t start = mg->next_start % mg->ngroups;
    for (int32_t i = 0; i < mg->ngroups && n < cap; i++) {
        int32_t p = (start + i) % mg->ngroups;
        group *g = &mg->groups[p];
        if (g->fifos != NULL)
            n += group_release(mg, g, p, now_ms, out + n, cap - n);
    }
    mg->next_start = (start + 1) % mg->ngroups;
    return n;
}

void hf_merge_drop_all(hf_merge *mg) {
    for (int32_t p = 0; p < mg->ngroups; p++) {
        group *g = &mg->groups[p];
        if (g->fifos == NULL)
            continue;
        for (int r = 0; r < mg->ntopics; r++) {
            fifo_drop(mg, &g->fifos[r], r, p);
            g->fifos[r].at_end = false;
        }
        g->wait_since = -1;
    }
}

size_t hf_merge_held(const hf_merge *mg) { return mg->held_total; }

uint64_t hf_merge_expired(const hf_merge *mg) { return mg->expired; }

int64_t hf_merge_wait_left(const hf_merge *mg, int64_t now_ms) {
    int64_t left = -1;
    for (int32_t p = 0; p < mg->ngroups; p++) {
        const group *g = &mg->groups[p];
        if (g->fifos == NULL || g->wait_since < 0)
            continue;
        int64_t l = g->wait_since + mg->max_wait_ms - now_ms;
        if (l < 0)
            l = 0;
        if (left < 0 || l < left)
            left = l;
    }
    return left;
}
