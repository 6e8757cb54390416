/* record_avro.c - the avro-c bridge: checking a schema against the layout
 * the direct encoder writes, and filling an avro-c generic value from a
 * record (the reference encoder the tests and the benchmark compare with).
 *
 * avro-c 1.11.1 keeps neither "doc" nor "logicalType", so the check is
 * about the bytes: field names, order and Avro types. Logical types are
 * checked on the .avsc text by tests/unit/test_record_schema.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "record_internal.h"

/* ------------------------------------------------------------ schema check */

static avro_schema_t deref(avro_schema_t s) {
    while (s != NULL && is_avro_link(s))
        s = avro_schema_link_target(s);
    return s;
}

/* The non-null branch of ["null", X], or NULL when @p s is not that. */
static avro_schema_t nullable(avro_schema_t s) {
    s = deref(s);
    if (!is_avro_union(s) || avro_schema_union_size(s) != 2)
        return NULL;
    if (!is_avro_null(deref(avro_schema_union_branch(s, 0))))
        return NULL;
    return deref(avro_schema_union_branch(s, 1));
}

static hf_status check_record(avro_schema_t s, const hf_rdesc *d, size_t nf, const char *path,
                              hf_err *err);

static hf_status check_field(avro_schema_t fs, const hf_rfield *f, const char *path,
                             hf_err *err) {
    avro_schema_t t = deref(fs), inner = NULL;
    bool ok = false;
    char sub[256];
    snprintf(sub, sizeof sub, "%s.%s", path, f->name);
    switch (f->kind) {
    case HF_RK_STR: ok = is_avro_string(t); break;
    case HF_RK_INT: ok = is_avro_int32(t); break;
    case HF_RK_TS: ok = is_avro_int64(t); break;
    case HF_RK_OSTR: ok = is_avro_string(nullable(t)); break;
    case HF_RK_OBYTES: ok = is_avro_bytes(nullable(t)); break;
    case HF_RK_OINT:
    case HF_RK_ODATE: ok = is_avro_int32(nullable(t)); break;
    case HF_RK_OTS: ok = is_avro_int64(nullable(t)); break;
    case HF_RK_ODBL: ok = is_avro_double(nullable(t)); break;
    case HF_RK_OBOOL: ok = is_avro_boolean(nullable(t)); break;
    case HF_RK_REC: inner = t; ok = is_avro_record(t); break;
    case HF_RK_OREC: inner = nullable(t); ok = is_avro_record(inner); break;
    case HF_RK_ARR:
        ok = is_avro_array(t);
        if (ok) {
            inner = deref(avro_schema_array_items(t));
            ok = is_avro_record(inner);
        }
        break;
    case HF_RK_ARR_STR:
        ok = is_avro_array(t) && is_avro_string(deref(avro_schema_array_items(t)));
        break;
    case HF_RK_MAP_STR:
        ok = is_avro_map(t) && is_avro_string(deref(avro_schema_map_values(t)));
        break;
    }
    if (!ok)
        return hf_err_set(err, HF_ECONFIG, "schema: %s has another type than the encoder writes",
                          sub);
    if (inner != NULL) {
        if (strcmp(avro_schema_name(inner), f->sub->name) != 0)
            return hf_err_set(err, HF_ECONFIG, "schema: %s is record %s, the encoder writes %s",
                              sub, avro_schema_name(inner), f->sub->name);
        return check_record(inner, f->sub, f->sub->nfields, sub, err);
    }
    return HF_OK;
}

static hf_status check_record(avro_schema_t s, const hf_rdesc *d, size_t nf, const char *path,
                              hf_err *err) {
    size_t n = avro_schema_record_size(s);
    if (d->spans) /* the encoder's fast path reads the struct as spans */
        for (size_t i = 0; i < d->nfields; i++)
            if (d->fields[i].kind != HF_RK_OSTR || d->fields[i].off != i * sizeof(hf_span) ||
                d->size != d->nfields * sizeof(hf_span))
                return hf_err_set(err, HF_ECONFIG, "schema: layout table of %s is not a span "
                                  "array", d->name);
    if (n != nf)
        return hf_err_set(err, HF_ECONFIG, "schema: %s has %zu fields, the encoder writes %zu",
                          path, n, nf);
    for (size_t i = 0; i < nf; i++) {
        const char *name = avro_schema_record_field_name(s, (int)i);
        if (name == NULL || strcmp(name, d->fields[i].name) != 0)
            return hf_err_set(err, HF_ECONFIG, "schema: field %zu of %s is %s, the encoder "
                              "writes %s there", i, path, name ? name : "?", d->fields[i].name);
        hf_status st =
            check_field(avro_schema_record_field_get_by_index(s, (int)i), &d->fields[i], path, err);
        if (st != HF_OK)
            return st;
    }
    return HF_OK;
}

hf_status hf_rec_check_layout(avro_schema_t s, const hf_rdesc *d, size_t nf, hf_err *err) {
    s = deref(s);
    if (!is_avro_record(s))
        return hf_err_set(err, HF_ECONFIG, "schema: not a record");
    return check_record(s, d, nf, avro_schema_name(s), err);
}

hf_status hf_rec_schema_check(avro_schema_t schema, hf_rec_form form, hf_err *err) {
    avro_schema_t s = deref(schema);
    if (!is_avro_record(s))
        return hf_err_set(err, HF_ECONFIG, "schema: not a record");
    return check_record(s, &hf_rdesc_rec, hf_rec_nfields(form), avro_schema_name(s), err);
}

/* ------------------------------------------------------------ generic values */

typedef struct fill {
    char *tmp; /* NUL-terminated copies for avro-c's string setters */
    size_t cap;
    hf_err *err;
} fill;

static const char *cstr(fill *f, hf_span s) {
    if (s.len + 1 > f->cap) {
        size_t cap = s.len + 1 > 2 * f->cap ? s.len + 1 : 2 * f->cap;
        char *p = realloc(f->tmp, cap);
        if (p == NULL)
            return NULL;
        f->tmp = p;
        f->cap = cap;
    }
    if (s.len > 0)
        memcpy(f->tmp, s.p, s.len);
    f->tmp[s.len] = '\0';
    return f->tmp;
}

static hf_status avro_fail(fill *f, const char *what) {
    return hf_err_set(f->err, HF_ECONFIG, "avro: %s: %s", what, avro_strerror());
}

static hf_status set_string(fill *f, avro_value_t *v, hf_span s) {
    const char *c = cstr(f, s);
    if (c == NULL)
        return hf_err_set(f->err, HF_ENOMEM, "avro: out of memory");
    if (avro_value_set_string_len(v, c, s.len + 1) != 0)
        return avro_fail(f, "set string");
    return HF_OK;
}

/* Selects branch 0 (null) or 1 of a nullable union; *branch is the value. */
static hf_status set_branch(fill *f, avro_value_t *v, bool present, avro_value_t *branch) {
    if (avro_value_set_branch(v, present ? 1 : 0, branch) != 0)
        return avro_fail(f, "set branch");
    if (!present && avro_value_set_null(branch) != 0)
        return avro_fail(f, "set null");
    return HF_OK;
}

static hf_status fill_record(fill *f, avro_value_t *v, const hf_rdesc *d, const char *base,
                             size_t nf);

#define TRY(x)                 \
    do {                       \
        hf_status st_ = (x);   \
        if (st_ != HF_OK)      \
            return st_;        \
    } while (0)

static hf_status fill_field(fill *f, avro_value_t *fv, const hf_rfield *fd, const char *base) {
    const char *p = base + fd->off;
    avro_value_t b;
    switch (fd->kind) {
    case HF_RK_STR:
        return set_string(f, fv, *(const hf_span *)p);
    case HF_RK_OSTR: {
        hf_span s = *(const hf_span *)p;
        TRY(set_branch(f, fv, s.len > 0, &b));
        return s.len > 0 ? set_string(f, &b, s) : HF_OK;
    }
    case HF_RK_OBYTES: {
        hf_span s = *(const hf_span *)p;
        TRY(set_branch(f, fv, s.len > 0, &b));
        if (s.len > 0 && avro_value_set_bytes(&b, (void *)s.p, s.len) != 0)
            return avro_fail(f, "set bytes");
        return HF_OK;
    }
    case HF_RK_INT:
        return avro_value_set_int(fv, *(const int32_t *)p) ? avro_fail(f, "set int") : HF_OK;
    case HF_RK_TS:
        return avro_value_set_long(fv, *(const int64_t *)p) ? avro_fail(f, "set long") : HF_OK;
    case HF_RK_OINT:
    case HF_RK_ODATE: {
        const hf_opt_i32 *o = (const hf_opt_i32 *)p;
        TRY(set_branch(f, fv, o->set, &b));
        return o->set && avro_value_set_int(&b, o->v) ? avro_fail(f, "set int") : HF_OK;
    }
    case HF_RK_OTS: {
        const hf_opt_i64 *o = (const hf_opt_i64 *)p;
        TRY(set_branch(f, fv, o->set, &b));
        return o->set && avro_value_set_long(&b, o->v) ? avro_fail(f, "set long") : HF_OK;
    }
    case HF_RK_ODBL: {
        const hf_opt_f64 *o = (const hf_opt_f64 *)p;
        TRY(set_branch(f, fv, o->set, &b));
        return o->set && avro_value_set_double(&b, o->v) ? avro_fail(f, "set double") : HF_OK;
    }
    case HF_RK_OBOOL: {
        const hf_opt_bool *o = (const hf_opt_bool *)p;
        TRY(set_branch(f, fv, o->set, &b));
        return o->set && avro_value_set_boolean(&b, o->v) ? avro_fail(f, "set boolean") : HF_OK;
    }
    case HF_RK_REC:
        return fill_record(f, fv, fd->sub, p, fd->sub->nfields);
    case HF_RK_OREC: {
        const char *sub = hf_rptr_get(base, fd->off);
        TRY(set_branch(f, fv, sub != NULL, &b));
        return sub != NULL ? fill_record(f, &b, fd->sub, sub, fd->sub->nfields) : HF_OK;
    }
    case HF_RK_ARR:
    case HF_RK_ARR_STR: {
        hf_rarr a = hf_rarr_get(base, fd->off);
        for (size_t i = 0; i < a.n; i++) {
            avro_value_t el;
            if (avro_value_append(fv, &el, NULL) != 0)
                return avro_fail(f, "append");
            if (fd->kind == HF_RK_ARR)
                TRY(fill_record(f, &el, fd->sub, (const char *)a.v + i * fd->sub->size,
                                fd->sub->nfields));
            else
                TRY(set_string(f, &el, ((const hf_span *)a.v)[i]));
        }
        return HF_OK;
    }
    case HF_RK_MAP_STR: {
        hf_rarr a = hf_rarr_get(base, fd->off);
        for (size_t i = 0; i < a.n; i++) {
            const hf_rec_kv *kv = (const hf_rec_kv *)a.v + i;
            avro_value_t el;
            const char *key = cstr(f, kv->key);
            if (key == NULL)
                return hf_err_set(f->err, HF_ENOMEM, "avro: out of memory");
            char *k = strdup(key);
            if (k == NULL)
                return hf_err_set(f->err, HF_ENOMEM, "avro: out of memory");
            int rc = avro_value_add(fv, k, &el, NULL, NULL);
            free(k);
            if (rc != 0)
                return avro_fail(f, "map add");
            TRY(set_string(f, &el, kv->value));
        }
        return HF_OK;
    }
    }
    return hf_err_set(f->err, HF_ECONFIG, "avro: unknown field kind");
}

static hf_status fill_record(fill *f, avro_value_t *v, const hf_rdesc *d, const char *base,
                             size_t nf) {
    for (size_t i = 0; i < nf; i++) {
        avro_value_t fv;
        const char *name = NULL;
        if (avro_value_get_by_index(v, i, &fv, &name) != 0)
            return avro_fail(f, d->fields[i].name);
        if (name == NULL || strcmp(name, d->fields[i].name) != 0)
            return hf_err_set(f->err, HF_ECONFIG, "avro: field %zu of %s is %s, expected %s", i,
                              d->name, name ? name : "?", d->fields[i].name);
        TRY(fill_field(f, &fv, &d->fields[i], base));
    }
    return HF_OK;
}

hf_status hf_rec_to_avro(const hf_rec *rec, hf_rec_form form, avro_value_t *value, hf_err *err) {
    fill f = {NULL, 0, err};
    if (avro_value_reset(value) != 0)
        return hf_err_set(err, HF_ECONFIG, "avro: reset: %s", avro_strerror());
    size_t n = 0;
    if (avro_value_get_size(value, &n) != 0 || n != hf_rec_nfields(form))
        return hf_err_set(err, HF_ECONFIG, "avro: the value is not a record of %zu fields",
                          hf_rec_nfields(form));
    hf_status st = fill_record(&f, value, &hf_rdesc_rec, (const char *)rec, hf_rec_nfields(form));
    free(f.tmp);
    return st;
}
