/* record_equal.c - hf_rec_equal: deep comparison of two records over the
 * layout tables, with the encoding's notion of equality (an empty nullable
 * string equals null; spans compare by content). Tests and the fuzz target
 * use it to check decode(encode(x)) == x.
 */
#include "record_internal.h"

static bool span_eq(hf_span a, hf_span b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static bool rec_eq(const hf_rdesc *d, const char *a, const char *b, size_t nf);

static bool field_eq(const hf_rfield *f, const char *ba, const char *bb) {
    const char *a = ba + f->off, *b = bb + f->off;
    switch (f->kind) {
    case HF_RK_STR:
    case HF_RK_OSTR:
    case HF_RK_OBYTES:
        return span_eq(*(const hf_span *)a, *(const hf_span *)b);
    case HF_RK_INT:
        return *(const int32_t *)a == *(const int32_t *)b;
    case HF_RK_TS:
        return *(const int64_t *)a == *(const int64_t *)b;
    case HF_RK_OINT:
    case HF_RK_ODATE: {
        const hf_opt_i32 *x = (const hf_opt_i32 *)a, *y = (const hf_opt_i32 *)b;
        return x->set == y->set && (!x->set || x->v == y->v);
    }
    case HF_RK_OTS: {
        const hf_opt_i64 *x = (const hf_opt_i64 *)a, *y = (const hf_opt_i64 *)b;
        return x->set == y->set && (!x->set || x->v == y->v);
    }
    case HF_RK_ODBL: {
        const hf_opt_f64 *x = (const hf_opt_f64 *)a, *y = (const hf_opt_f64 *)b;
        return x->set == y->set && (!x->set || memcmp(&x->v, &y->v, sizeof x->v) == 0);
    }
    case HF_RK_OBOOL: {
        const hf_opt_bool *x = (const hf_opt_bool *)a, *y = (const hf_opt_bool *)b;
        return x->set == y->set && (!x->set || x->v == y->v);
    }
    case HF_RK_REC:
        return rec_eq(f->sub, a, b, f->sub->nfields);
    case HF_RK_OREC: {
        const char *x = hf_rptr_get(ba, f->off), *y = hf_rptr_get(bb, f->off);
        if (x == NULL || y == NULL)
            return x == y;
        return rec_eq(f->sub, x, y, f->sub->nfields);
    }
    case HF_RK_ARR: {
        hf_rarr x = hf_rarr_get(ba, f->off), y = hf_rarr_get(bb, f->off);
        if (x.n != y.n)
            return false;
        for (size_t i = 0; i < x.n; i++)
            if (!rec_eq(f->sub, (const char *)x.v + i * f->sub->size,
                        (const char *)y.v + i * f->sub->size, f->sub->nfields))
                return false;
        return true;
    }
    case HF_RK_ARR_STR: {
        hf_rarr x = hf_rarr_get(ba, f->off), y = hf_rarr_get(bb, f->off);
        if (x.n != y.n)
            return false;
        for (size_t i = 0; i < x.n; i++)
            if (!span_eq(((const hf_span *)x.v)[i], ((const hf_span *)y.v)[i]))
                return false;
        return true;
    }
    case HF_RK_MAP_STR: {
        hf_rarr x = hf_rarr_get(ba, f->off), y = hf_rarr_get(bb, f->off);
        if (x.n != y.n)
            return false;
        for (size_t i = 0; i < x.n; i++) {
            const hf_rec_kv *p = (const hf_rec_kv *)x.v + i, *q = (const hf_rec_kv *)y.v + i;
            if (!span_eq(p->key, q->key) || !span_eq(p->value, q->value))
                return false;
        }
        return true;
    }
    }
    return false;
}

static bool rec_eq(const hf_rdesc *d, const char *a, const char *b, size_t nf) {
    for (size_t i = 0; i < nf; i++)
        if (!field_eq(&d->fields[i], a, b))
            return false;
    return true;
}

bool hf_rec_equal(const hf_rec *a, const hf_rec *b, hf_rec_form form) {
    return rec_eq(&hf_rdesc_rec, (const char *)a, (const char *)b, hf_rec_nfields(form));
}
