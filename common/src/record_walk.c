/* record_walk.c - hf_rec_each_time: visits every HL7 date/time of a record
 * (each `<name>_datetime` text with its `<name>_ts` instant), walking the
 * layout tables, so the enricher can fill the instants the parser left null
 * without knowing where times live in the schema.
 *
 * The layout is fixed at build time, so where times can be is worked out
 * once (a plan per record type: its time pairs, and the sub-records that
 * hold any); a walk then visits only those, not the names, addresses and
 * codes in between.
 */
#include <pthread.h>

#include "record_internal.h"

/* A time is an OSTR "x_datetime" right before its OTS "x_ts". */
static bool is_pair(const hf_rfield *text, const hf_rfield *ts) {
    if (text->kind != HF_RK_OSTR || ts->kind != HF_RK_OTS)
        return false;
    size_t a = strlen(text->name), b = strlen(ts->name);
    return a > 9 && b > 3 && a - 9 == b - 3 && strcmp(text->name + a - 9, "_datetime") == 0 &&
           strcmp(ts->name + b - 3, "_ts") == 0 && memcmp(text->name, ts->name, a - 9) == 0;
}

/* One thing a walk does in a record type: a time pair (the text's field
 * index), or a sub-record, optional sub-record or array that holds times. */
typedef struct wstep {
    uint16_t field; /* index in the type's fields */
    uint8_t kind;   /* HF_RK_OSTR (a pair), HF_RK_REC, HF_RK_OREC, HF_RK_ARR */
    int16_t child;  /* plan of the sub-record type (not for a pair) */
} wstep;

typedef struct wplan {
    const hf_rdesc *d;
    uint16_t first, n; /* steps[first .. first + n) */
} wplan;

#define MAX_PLANS 128
#define MAX_STEPS 1024

static wplan plans[MAX_PLANS];
static wstep steps[MAX_STEPS];
static int nplans;
static uint16_t nsteps;
static bool plan_failed; /* tables too small: walks visit everything */
static pthread_once_t plans_once = PTHREAD_ONCE_INIT;

/* The plan of @p d, built on first sight (sub-records first, so each
 * type's steps stay contiguous); -1 with plan_failed set when the tables
 * are too small or the types nest too deep. */
static int plan_of(const hf_rdesc *d, int depth) {
    for (int i = 0; i < nplans; i++)
        if (plans[i].d == d)
            return i;
    int child[128];
    if (nplans == MAX_PLANS || depth > 32 || d->nfields > sizeof child / sizeof child[0]) {
        plan_failed = true;
        return -1;
    }
    size_t nf = d->nfields;
    for (size_t i = 0; i < nf; i++) {
        const hf_rfield *f = &d->fields[i];
        child[i] = -1;
        if ((f->kind == HF_RK_REC || f->kind == HF_RK_OREC || f->kind == HF_RK_ARR) &&
            !f->sub->spans && (child[i] = plan_of(f->sub, depth + 1)) < 0)
            return -1;
    }
    if (nplans == MAX_PLANS) {
        plan_failed = true;
        return -1;
    }
    wplan *p = &plans[nplans];
    *p = (wplan){d, nsteps, 0};
    for (size_t i = 0; i < nf; i++) {
        const hf_rfield *f = &d->fields[i];
        wstep s;
        if (i + 1 < nf && is_pair(f, &d->fields[i + 1]))
            s = (wstep){(uint16_t)i, HF_RK_OSTR, -1};
        else if (child[i] >= 0 && plans[child[i]].n > 0)
            s = (wstep){(uint16_t)i, (uint8_t)f->kind, (int16_t)child[i]};
        else
            continue;
        if (nsteps == MAX_STEPS) {
            plan_failed = true;
            return -1;
        }
        steps[nsteps++] = s;
        p->n++;
    }
    return nplans++;
}

static int top_plan; /* the plan of hf_rdesc_rec */

static void build_plans(void) {
    if ((top_plan = plan_of(&hf_rdesc_rec, 0)) < 0)
        plan_failed = true;
}

/* @p top: the top-level field the walk is under (-1 at the top level,
 * where each field is its own); fields from @p nf on are not walked. */
static void walk(int plan, char *base, size_t nf, int top, hf_rec_time_fn fn, void *arg) {
    const wplan *p = &plans[plan];
    const hf_rfield *fields = p->d->fields;
    for (const wstep *s = &steps[p->first], *last = s + p->n; s < last; s++) {
        if (s->field >= nf)
            break;
        const hf_rfield *f = &fields[s->field];
        int under = top >= 0 ? top : (int)s->field;
        switch (s->kind) {
        case HF_RK_OSTR:
            fn(under, *(const hf_span *)(const void *)(base + f->off),
               (hf_opt_i64 *)(void *)(base + fields[s->field + 1].off), arg);
            break;
        case HF_RK_REC:
            walk(s->child, base + f->off, f->sub->nfields, under, fn, arg);
            break;
        case HF_RK_OREC: {
            char *sub = (char *)hf_rptr_get(base, f->off);
            if (sub != NULL)
                walk(s->child, sub, f->sub->nfields, under, fn, arg);
            break;
        }
        default: { /* HF_RK_ARR */
            hf_rarr a = hf_rarr_get(base, f->off);
            for (size_t k = 0; k < a.n; k++)
                walk(s->child, (char *)a.v + k * f->sub->size, f->sub->nfields, under, fn, arg);
            break;
        }
        }
    }
}

/* The walk without plans: every field of every sub-record (the reference;
 * used only if the plan tables were too small for the layout). */
static void walk_all(const hf_rdesc *d, char *base, size_t nf, int top, hf_rec_time_fn fn,
                     void *arg) {
    for (size_t i = 0; i < nf; i++) {
        const hf_rfield *f = &d->fields[i];
        int under = top >= 0 ? top : (int)i;
        switch (f->kind) {
        case HF_RK_OSTR:
            if (i + 1 < nf && is_pair(f, &d->fields[i + 1]))
                fn(under, *(const hf_span *)(const void *)(base + f->off),
                   (hf_opt_i64 *)(void *)(base + d->fields[i + 1].off), arg);
            break;
        case HF_RK_REC:
            walk_all(f->sub, base + f->off, f->sub->nfields, under, fn, arg);
            break;
        case HF_RK_OREC: {
            char *sub = (char *)hf_rptr_get(base, f->off);
            if (sub != NULL && !f->sub->spans)
                walk_all(f->sub, sub, f->sub->nfields, under, fn, arg);
            break;
        }
        case HF_RK_ARR: {
            hf_rarr a = hf_rarr_get(base, f->off);
            if (!f->sub->spans)
                for (size_t k = 0; k < a.n; k++)
                    walk_all(f->sub, (char *)a.v + k * f->sub->size, f->sub->nfields, under, fn,
                             arg);
            break;
        }
        default:
            break;
        }
    }
}

void hf_rec_each_time(hf_rec *rec, hf_rec_form form, hf_rec_time_fn fn, void *arg) {
    pthread_once(&plans_once, build_plans);
    if (plan_failed)
        walk_all(&hf_rdesc_rec, (char *)rec, hf_rec_nfields(form), -1, fn, arg);
    else
        walk(top_plan, (char *)rec, hf_rec_nfields(form), -1, fn, arg);
}
