/* record_walk.c - hf_rec_each_time: visits every HL7 date/time of a record
 * (each `<name>_datetime` text with its `<name>_ts` instant), walking the
 * layout tables, so the enricher can fill the instants the parser left null
 * without knowing where times live in the schema.
 */
#include "record_internal.h"

/* A time is an OSTR "x_datetime" right before its OTS "x_ts". The kinds
 * are checked first: the names only for the rare OSTR+OTS neighbours. */
static bool is_pair(const hf_rfield *text, const hf_rfield *ts) {
    if (ts->kind != HF_RK_OTS)
        return false;
    size_t a = strlen(text->name), b = strlen(ts->name);
    return a > 9 && b > 3 && a - 9 == b - 3 && strcmp(text->name + a - 9, "_datetime") == 0 &&
           strcmp(ts->name + b - 3, "_ts") == 0 && memcmp(text->name, ts->name, a - 9) == 0;
}

/* @p top: the top-level field the walk is under (-1 at the top level,
 * where each field is its own). */
static void walk(const hf_rdesc *d, char *base, size_t nf, int top, hf_rec_time_fn fn,
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
            walk(f->sub, base + f->off, f->sub->nfields, under, fn, arg);
            break;
        case HF_RK_OREC: {
            char *sub = (char *)hf_rptr_get(base, f->off);
            if (sub != NULL && !f->sub->spans)
                walk(f->sub, sub, f->sub->nfields, under, fn, arg);
            break;
        }
        case HF_RK_ARR: {
            hf_rarr a = hf_rarr_get(base, f->off);
            if (!f->sub->spans)
                for (size_t k = 0; k < a.n; k++)
                    walk(f->sub, (char *)a.v + k * f->sub->size, f->sub->nfields, under, fn, arg);
            break;
        }
        default:
            break;
        }
    }
}

void hf_rec_each_time(hf_rec *rec, hf_rec_form form, hf_rec_time_fn fn, void *arg) {
    walk(&hf_rdesc_rec, (char *)rec, hf_rec_nfields(form), -1, fn, arg);
}
