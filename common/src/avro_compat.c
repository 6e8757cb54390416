/* avro_compat.c - the Avro schema-resolution rules as a compatibility check
 * (avro_compat.h): can a reader schema read everything a writer schema can
 * write, and the BACKWARD / FORWARD / FULL levels built on that.
 *
 * The walk carries the location ("hl7.A.patient.mrn", "[]" for array items,
 * "{}" for map values, "<branch N>" for a writer union branch) so the first
 * problem found names where it is and which rule it breaks. Recursive types:
 * a (reader, writer) pair already on the walk's stack is assumed compatible
 * (co-inductive, like Avro's Java and Python checkers). A budget of visits
 * keeps a pathological schema from taking unbounded time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "avro_compat_internal.h"

#define AC_MAX_VISITS 2000000

typedef struct pair_frame {
    const ac_node *r, *w;
    const struct pair_frame *up;
} pair_frame;

typedef struct check_ctx {
    char path[512];
    size_t plen;
    char *why;
    size_t why_cap;
    long visits;
    bool quiet; /* inside a trial (reader union branch): keep messages out */
} check_ctx;

static void report(check_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(check_ctx *c, const char *fmt, ...) {
    if (c->quiet || c->why == NULL || c->why_cap == 0)
        return;
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snprintf(c->why, c->why_cap, "at %s: %s", c->plen ? c->path : "(top level)", text);
}

/* Appends to the location; returns the previous length for path_pop. */
static size_t path_push(check_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_push(check_ctx *c, const char *fmt, ...) {
    size_t old = c->plen;
    if (c->plen < sizeof c->path - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->path + c->plen, sizeof c->path - c->plen, fmt, ap);
        va_end(ap);
        size_t room = sizeof c->path - c->plen;
        if (n > 0)
            c->plen += (size_t)n < room ? (size_t)n : room - 1;
    }
    return old;
}

static void path_pop(check_ctx *c, size_t old) {
    c->plen = old;
    c->path[old] = '\0';
}

static const char *type_label(const ac_node *n) {
    return n->fullname ? n->fullname : n->name;
}

/* Writes "[null, string]" style text of a union into @p buf. */
static const char *union_label(const ac_node *u, char *buf, size_t cap) {
    size_t off = 0;
    off += (size_t)snprintf(buf, cap, "[");
    for (size_t i = 0; i < u->nbranches && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? ", " : "",
                                type_label(u->branches[i]));
    if (off < cap)
        snprintf(buf + off, cap - off, "]");
    return buf;
}

/* Spec: names match when the unqualified names are equal, or when one of
 * the reader's aliases is the writer's full name. */
static bool names_match(const ac_node *r, const ac_node *w) {
    if (strcmp(r->name, w->name) == 0)
        return true;
    for (size_t i = 0; i < r->naliases; i++)
        if (strcmp(r->aliases[i], w->fullname) == 0)
            return true;
    return false;
}

static bool promotable(ac_kind w, ac_kind r) {
    switch (w) {
    case AC_INT: return r == AC_LONG || r == AC_FLOAT || r == AC_DOUBLE;
    case AC_LONG: return r == AC_FLOAT || r == AC_DOUBLE;
    case AC_FLOAT: return r == AC_DOUBLE;
    case AC_STRING: return r == AC_BYTES;
    case AC_BYTES: return r == AC_STRING;
    default: return false;
    }
}

static bool can_read(check_ctx *c, const ac_node *r, const ac_node *w, const pair_frame *up);

static const ac_field *writer_field(const ac_node *w, const ac_field *rf) {
    for (size_t i = 0; i < w->nfields; i++)
        if (strcmp(w->fields[i].name, rf->name) == 0)
            return &w->fields[i];
    for (size_t a = 0; a < rf->naliases; a++)
        for (size_t i = 0; i < w->nfields; i++)
            if (strcmp(w->fields[i].name, rf->aliases[a]) == 0)
                return &w->fields[i];
    return NULL;
}

static bool records(check_ctx *c, const ac_node *r, const ac_node *w, const pair_frame *up) {
    for (size_t i = 0; i < r->nfields; i++) {
        const ac_field *rf = &r->fields[i];
        const ac_field *wf = writer_field(w, rf);
        size_t mark = path_push(c, ".%s", rf->name);
        bool ok;
        if (wf == NULL) {
            ok = rf->def != NULL;
            if (!ok)
                report(c,
                       "reader field '%s' is missing in the writer and has no default (a reader "
                       "field absent from the writer needs a default)",
                       rf->name);
        } else {
            ok = can_read(c, rf->type, wf->type, up);
        }
        path_pop(c, mark);
        if (!ok)
            return false;
    }
    return true;
}

static bool enums(check_ctx *c, const ac_node *r, const ac_node *w) {
    if (r->enum_default != NULL)
        return true;
    for (size_t i = 0; i < w->nsymbols; i++) {
        bool found = false;
        for (size_t k = 0; k < r->nsymbols && !found; k++)
            found = strcmp(r->symbols[k], w->symbols[i]) == 0;
        if (!found) {
            report(c,
                   "writer symbol '%s' of enum %s is not a reader symbol and the reader enum has "
                   "no default",
                   w->symbols[i], w->fullname);
            return false;
        }
    }
    return true;
}

static bool same_kind(check_ctx *c, const ac_node *r, const ac_node *w, const pair_frame *up) {
    if (r->fullname != NULL && !names_match(r, w)) {
        report(c,
               "reader %s %s cannot read writer %s %s (names differ and no reader alias names "
               "%s)",
               ac_kind_name(r->kind), r->fullname, ac_kind_name(w->kind), w->fullname, w->fullname);
        return false;
    }
    switch (r->kind) {
    case AC_RECORD: return records(c, r, w, up);
    case AC_ENUM: return enums(c, r, w);
    case AC_FIXED:
        if (r->size != w->size) {
            report(c, "fixed %s: reader size %lld differs from writer size %lld", r->fullname,
                   (long long)r->size, (long long)w->size);
            return false;
        }
        return true;
    case AC_ARRAY:
    case AC_MAP: {
        size_t mark = path_push(c, r->kind == AC_ARRAY ? "[]" : "{}");
        bool ok = can_read(c, r->items, w->items, up);
        path_pop(c, mark);
        return ok;
    }
    default: return true; /* identical primitives */
    }
}

static bool can_read(check_ctx *c, const ac_node *r, const ac_node *w, const pair_frame *up) {
    for (const pair_frame *p = up; p != NULL; p = p->up)
        if (p->r == r && p->w == w)
            return true;
    if (++c->visits > AC_MAX_VISITS) {
        report(c, "schema too complex to check (more than %d type pairs visited)", AC_MAX_VISITS);
        return false;
    }
    pair_frame me = {r, w, up};

    if (w->kind == AC_UNION) {
        /* Every branch the writer may have used must be readable. */
        for (size_t i = 0; i < w->nbranches; i++) {
            size_t mark = path_push(c, "<%s>", type_label(w->branches[i]));
            bool ok = can_read(c, r, w->branches[i], &me);
            path_pop(c, mark);
            if (!ok)
                return false;
        }
        return true;
    }
    if (r->kind == AC_UNION) {
        /* Some reader branch must read the writer's type. */
        bool was_quiet = c->quiet;
        c->quiet = true;
        bool ok = false;
        for (size_t i = 0; i < r->nbranches && !ok; i++)
            ok = can_read(c, r->branches[i], w, &me);
        c->quiet = was_quiet;
        if (!ok) {
            char buf[200];
            report(c, "no branch of reader union %s can read writer type %s",
                   union_label(r, buf, sizeof buf), type_label(w));
        }
        return ok;
    }
    if (r->kind == w->kind)
        return same_kind(c, r, w, &me);
    if (promotable(w->kind, r->kind))
        return true;
    report(c, "writer type %s cannot be read as %s (no such promotion)", type_label(w),
           type_label(r));
    return false;
}

bool hf_avro_can_read(const hf_avro_schema *reader, const hf_avro_schema *writer, char *why,
                      size_t why_cap) {
    check_ctx c = {.why = why, .why_cap = why_cap};
    if (why != NULL && why_cap > 0)
        why[0] = '\0';
    c.plen = (size_t)snprintf(c.path, sizeof c.path, "%s", hf_avro_schema_name(reader));
    if (c.plen >= sizeof c.path)
        c.plen = sizeof c.path - 1;
    return can_read(&c, reader->root, writer->root, NULL);
}

bool hf_avro_compatible(const hf_avro_schema *newer, const hf_avro_schema *older,
                        hf_avro_level level, char *why, size_t why_cap) {
    char inner[600];
    if (level != HF_AVRO_FORWARD && !hf_avro_can_read(newer, older, inner, sizeof inner)) {
        if (why != NULL && why_cap > 0)
            snprintf(why, why_cap, "BACKWARD (new schema reading data written with the old one) %s",
                     inner);
        return false;
    }
    if (level != HF_AVRO_BACKWARD && !hf_avro_can_read(older, newer, inner, sizeof inner)) {
        if (why != NULL && why_cap > 0)
            snprintf(why, why_cap, "FORWARD (old schema reading data written with the new one) %s",
                     inner);
        return false;
    }
    if (why != NULL && why_cap > 0)
        why[0] = '\0';
    return true;
}

const char *hf_avro_level_str(hf_avro_level level) {
    switch (level) {
    case HF_AVRO_BACKWARD: return "BACKWARD";
    case HF_AVRO_FORWARD: return "FORWARD";
    default: return "FULL";
    }
}

bool hf_avro_level_parse(const char *s, hf_avro_level *out) {
    static const hf_avro_level all[] = {HF_AVRO_BACKWARD, HF_AVRO_FORWARD, HF_AVRO_FULL};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, hf_avro_level_str(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}
