/* record_resolve.c - reading records written with another version of a
 * topic's schema (record.h, hf_rec_plan_new / hf_rec_decode_resolved).
 *
 * Avro schema resolution as the specification describes it, for the
 * changes our evolution rules allow (docs/topics.md): fields are matched by
 * name at every level; a writer field this build does not know is skipped
 * (any Avro type); a reader field the writer lacks keeps its default, which
 * for every field that may be added is null, [] or {} - the zeroed struct.
 * Types must agree field by field (a changed type is not FULL-compatible
 * and is refused when the plan is made). A nested record whose layout is
 * this build's is decoded by the ordinary decoder; only records that
 * differ go through a plan. avro-c's own resolver cannot do this: it
 * refuses reader fields missing from the writer instead of using defaults.
 */
#include <stdio.h>
#include <stdlib.h>

#include "record_internal.h"

typedef struct plan_step {
    const hf_rfield *target;  /* reader field; NULL: skip the writer field */
    avro_schema_t wschema;    /* the writer field's schema */
    struct hf_rec_plan *sub;  /* nested record that differs; NULL: same layout */
} plan_step;

struct hf_rec_plan {
    const hf_rdesc *d;
    size_t nsteps;
    plan_step *steps; /* one per writer field, in writer order */
    hf_rec_plan *next_owned; /* every sub-plan, for freeing */
};

static avro_schema_t deref(avro_schema_t s) {
    while (s != NULL && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

/* X of ["null", X], or NULL. */
static avro_schema_t nullable(avro_schema_t s) {
    s = deref(s);
    if (!is_avro_union(s) || avro_schema_union_size(s) != 2 ||
        !is_avro_null(deref(avro_schema_union_branch(s, 0))))
        return NULL;
    return deref(avro_schema_union_branch(s, 1));
}

void hf_rec_plan_free(hf_rec_plan *p) {
    while (p != NULL) {
        hf_rec_plan *next = p->next_owned;
        free(p->steps);
        free(p);
        p = next;
    }
}

static hf_rec_plan *plan_record(avro_schema_t w, const hf_rdesc *d, size_t nf, hf_rec_plan *root,
                                const char *path, hf_err *err);

/* The writer's record schema inside field schema @p w for reader kind @p k,
 * or NULL when the writer's type is not that kind. For scalars, true/false
 * comes back as a non-NULL sentinel (the writer schema itself). */
static avro_schema_t kind_match(avro_schema_t w, hf_rk k) {
    avro_schema_t t = deref(w), in;
    switch (k) {
    case HF_RK_STR: return is_avro_string(t) ? t : NULL;
    case HF_RK_INT: return is_avro_int32(t) ? t : NULL;
    case HF_RK_TS: return is_avro_int64(t) ? t : NULL;
    case HF_RK_OSTR: return (in = nullable(t)) != NULL && is_avro_string(in) ? t : NULL;
    case HF_RK_OBYTES: return (in = nullable(t)) != NULL && is_avro_bytes(in) ? t : NULL;
    case HF_RK_OINT:
    case HF_RK_ODATE: return (in = nullable(t)) != NULL && is_avro_int32(in) ? t : NULL;
    case HF_RK_OTS: return (in = nullable(t)) != NULL && is_avro_int64(in) ? t : NULL;
    case HF_RK_ODBL: return (in = nullable(t)) != NULL && is_avro_double(in) ? t : NULL;
    case HF_RK_OBOOL: return (in = nullable(t)) != NULL && is_avro_boolean(in) ? t : NULL;
    case HF_RK_REC: return is_avro_record(t) ? t : NULL;
    case HF_RK_OREC: return (in = nullable(t)) != NULL && is_avro_record(in) ? in : NULL;
    case HF_RK_ARR:
        if (!is_avro_array(t))
            return NULL;
        in = deref(avro_schema_array_items(t));
        return is_avro_record(in) ? in : NULL;
    case HF_RK_ARR_STR:
        return is_avro_array(t) && is_avro_string(deref(avro_schema_array_items(t))) ? t : NULL;
    case HF_RK_MAP_STR:
        return is_avro_map(t) && is_avro_string(deref(avro_schema_map_values(t))) ? t : NULL;
    }
    return NULL;
}

static bool is_record_kind(hf_rk k) { return k == HF_RK_REC || k == HF_RK_OREC || k == HF_RK_ARR; }

/* Kinds a writer may leave out (their default is the zeroed struct). */
static bool has_default(hf_rk k) { return k != HF_RK_STR && k != HF_RK_INT && k != HF_RK_TS && k != HF_RK_REC; }

static hf_rec_plan *plan_record(avro_schema_t w, const hf_rdesc *d, size_t nf, hf_rec_plan *root,
                                const char *path, hf_err *err) {
    size_t nw = avro_schema_record_size(w);
    hf_rec_plan *p = calloc(1, sizeof *p);
    plan_step *steps = calloc(nw ? nw : 1, sizeof *steps);
    if (p == NULL || steps == NULL) {
        free(p);
        free(steps);
        hf_err_set(err, HF_ENOMEM, "schema resolution: out of memory");
        return NULL;
    }
    p->d = d;
    p->nsteps = nw;
    p->steps = steps;
    if (root != NULL) { /* owned by the root, freed with it */
        p->next_owned = root->next_owned;
        root->next_owned = p;
    } else {
        root = p;
    }
    for (size_t i = 0; i < nw; i++) {
        const char *name = avro_schema_record_field_name(w, (int)i);
        steps[i].wschema = avro_schema_record_field_get_by_index(w, (int)i);
        for (size_t j = 0; j < nf && name != NULL; j++)
            if (strcmp(d->fields[j].name, name) == 0)
                steps[i].target = &d->fields[j];
        const hf_rfield *f = steps[i].target;
        if (f == NULL)
            continue; /* writer-only field: skipped */
        avro_schema_t ws = kind_match(steps[i].wschema, f->kind);
        if (ws == NULL) {
            hf_err_set(err, HF_ECONFIG, "schema resolution: %s.%s has another type in the writer "
                       "schema", path, name);
            goto fail;
        }
        if (is_record_kind(f->kind)) {
            hf_err ignore = {0};
            if (strcmp(avro_schema_name(ws), f->sub->name) != 0) {
                hf_err_set(err, HF_ECONFIG, "schema resolution: %s.%s is record %s in the writer, "
                           "%s here", path, name, avro_schema_name(ws), f->sub->name);
                goto fail;
            }
            if (hf_rec_check_layout(ws, f->sub, f->sub->nfields, &ignore) != HF_OK) {
                char sub[256];
                snprintf(sub, sizeof sub, "%s.%s", path, name);
                if ((steps[i].sub = plan_record(ws, f->sub, f->sub->nfields, root, sub, err)) ==
                    NULL)
                    goto fail;
            }
        }
    }
    for (size_t j = 0; j < nf; j++) { /* reader fields the writer lacks need a default */
        bool found = false;
        for (size_t i = 0; i < nw && !found; i++)
            found = steps[i].target == &d->fields[j];
        if (!found && !has_default(d->fields[j].kind)) {
            hf_err_set(err, HF_ECONFIG, "schema resolution: %s.%s has no default and the writer "
                       "schema lacks it", path, d->fields[j].name);
            goto fail;
        }
    }
    return p;
fail:
    if (p == root)
        hf_rec_plan_free(root);
    return NULL;
}

hf_status hf_rec_plan_new(avro_schema_t writer, hf_rec_form form, hf_rec_plan **out, hf_err *err) {
    avro_schema_t w = deref(writer);
    *out = NULL;
    if (!is_avro_record(w))
        return hf_err_set(err, HF_ECONFIG, "schema resolution: the writer schema is not a record");
    hf_rec_plan *p = plan_record(w, &hf_rdesc_rec, hf_rec_nfields(form), NULL,
                                 avro_schema_name(w), err);
    if (p == NULL)
        return err != NULL && err->st != HF_OK ? err->st : HF_ECONFIG;
    *out = p;
    return HF_OK;
}

/* ------------------------------------------------------------- decoding */

/* Skips one value of any Avro type (a writer field this build lacks). */
static bool skip_value(hf_dec *d, avro_schema_t s, int depth) {
    int64_t v;
    hf_span sp;
    s = deref(s);
    if (depth > 64)
        return hf_dec_fail(d, HF_ESYNTAX, "writer schema nested too deeply");
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return true;
    case AVRO_BOOLEAN:
        if (d->p >= d->end || *d->p > 1)
            return hf_dec_fail(d, HF_ESYNTAX, "bad boolean");
        d->p++;
        return true;
    case AVRO_INT32:
    case AVRO_INT64:
    case AVRO_ENUM:
        return hf_dec_long(d, &v);
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        size_t n = avro_typeof(s) == AVRO_FLOAT ? 4 : 8;
        if ((size_t)(d->end - d->p) < n)
            return hf_dec_fail(d, HF_ESYNTAX, "truncated number");
        d->p += n;
        return true;
    }
    case AVRO_STRING:
    case AVRO_BYTES:
        return hf_dec_bytes(d, &sp);
    case AVRO_FIXED: {
        size_t n = (size_t)avro_schema_fixed_size(s);
        if ((size_t)(d->end - d->p) < n)
            return hf_dec_fail(d, HF_ESYNTAX, "truncated fixed");
        d->p += n;
        return true;
    }
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (!skip_value(d, avro_schema_record_field_get_by_index(s, (int)i), depth + 1))
                return false;
        return true;
    case AVRO_UNION:
        if (!hf_dec_long(d, &v))
            return false;
        if (v < 0 || (size_t)v >= avro_schema_union_size(s))
            return hf_dec_fail(d, HF_ESYNTAX, "bad union branch");
        return skip_value(d, avro_schema_union_branch(s, (int)v), depth + 1);
    case AVRO_ARRAY:
    case AVRO_MAP:
        for (;;) {
            int64_t count, bytes;
            if (!hf_dec_long(d, &count))
                return false;
            if (count == 0)
                return true;
            if (count < 0) {
                if (count == INT64_MIN || !hf_dec_long(d, &bytes))
                    return hf_dec_fail(d, HF_ESYNTAX, "bad block");
                count = -count;
            }
            if ((uint64_t)count > (uint64_t)(d->end - d->p))
                return hf_dec_fail(d, HF_ESYNTAX, "block count beyond the input");
            for (int64_t i = 0; i < count; i++) {
                if (avro_typeof(s) == AVRO_MAP && !hf_dec_bytes(d, &sp))
                    return false;
                avro_schema_t item = avro_typeof(s) == AVRO_MAP ? avro_schema_map_values(s)
                                                                : avro_schema_array_items(s);
                if (!skip_value(d, item, depth + 1))
                    return false;
            }
        }
    default:
        return hf_dec_fail(d, HF_ESYNTAX, "unsupported writer type");
    }
}

static bool read_planned(hf_dec *d, const hf_rec_plan *p, char *base);

/* A nested record of a differing layout at @p dst (struct already there). */
static bool read_sub(hf_dec *d, const plan_step *st, char *base) {
    const hf_rfield *f = st->target;
    char *at = base + f->off;
    bool present;
    switch (f->kind) {
    case HF_RK_REC:
        return read_planned(d, st->sub, at);
    case HF_RK_OREC: {
        void *sub = NULL;
        memcpy(at, &sub, sizeof sub);
        if (!hf_dec_branch(d, &present))
            return false;
        if (!present)
            return true;
        if ((sub = hf_rec_arena_zalloc(&d->ctx->arena, f->sub->size)) == NULL)
            return hf_dec_fail(d, HF_ENOMEM, "");
        memcpy(at, &sub, sizeof sub);
        return read_planned(d, st->sub, sub);
    }
    default: { /* HF_RK_ARR of records */
        char *v = NULL;
        size_t n = 0;
        for (;;) {
            int64_t count, bytes;
            if (!hf_dec_long(d, &count))
                return false;
            if (count == 0)
                break;
            if (count < 0) {
                if (count == INT64_MIN || !hf_dec_long(d, &bytes))
                    return hf_dec_fail(d, HF_ESYNTAX, "bad block");
                count = -count;
            }
            if ((uint64_t)count > (uint64_t)(d->end - d->p))
                return hf_dec_fail(d, HF_ESYNTAX, "block count beyond the input");
            size_t total = n + (size_t)count, item = f->sub->size;
            char *nv = hf_rec_arena_zalloc(&d->ctx->arena, total * item);
            if (nv == NULL)
                return hf_dec_fail(d, HF_ENOMEM, "");
            if (n > 0)
                memcpy(nv, v, n * item);
            v = nv;
            for (size_t i = n; i < total; i++)
                if (!read_planned(d, st->sub, v + i * item))
                    return false;
            n = total;
        }
        hf_rarr_set(base, f->off, v, n);
        return true;
    }
    }
}

static bool read_planned(hf_dec *d, const hf_rec_plan *p, char *base) {
    for (size_t i = 0; i < p->nsteps; i++) {
        const plan_step *st = &p->steps[i];
        bool ok = st->target == NULL ? skip_value(d, st->wschema, 0)
                  : st->sub != NULL  ? read_sub(d, st, base)
                                     : hf_dec_field(d, st->target, base);
        if (!ok)
            return false;
    }
    return true;
}

hf_status hf_rec_decode_resolved(hf_rec_ctx *ctx, const void *data, size_t len,
                                 const hf_rec_plan *plan, hf_rec **out, hf_err *err) {
    hf_rec *rec = &ctx->rec;
    *out = NULL;
    hf_rec_arena_reset(&ctx->arena);
    memset(rec, 0, sizeof *rec); /* reader fields the writer lacks: their defaults */
    const unsigned char *p = len > 0 ? data : (const unsigned char *)"";
    hf_dec d = {p, p + len, p, ctx, err, HF_OK};
    if (!read_planned(&d, plan, (char *)rec))
        return d.st;
    if (d.p != d.end) {
        hf_dec_fail(&d, HF_ESYNTAX, "trailing bytes");
        return d.st;
    }
    *out = rec; /* source.avro stays NULL: the input's layout is not ours, nothing is copied */
    return HF_OK;
}
