/* avro_compat_parse.c - Avro schema JSON -> the checker's schema tree
 * (avro_compat_internal.h), with the validation a registry's VALIDITY rule
 * does: names and namespaces (Avro spec "Names"), unique type names, field
 * names and enum symbols, union shape (no directly nested union, no two
 * branches of one unnamed kind or one name), and field defaults checked
 * against their type after the whole schema is read (so a default of a
 * recursive record sees the complete type).
 *
 * Errors are HF_ESYNTAX with the location: the enclosing type's full name
 * and the field, e.g. "hl7.Patient.sex: default 'Q' is not a symbol of
 * enum hl7.Sex".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_compat_internal.h"

#define AC_MAX_DEPTH 64
#define AC_MAX_FILE (16u << 20)

typedef struct parse_ctx {
    hf_avro_schema *s;
    hf_err *err;
    char where[256]; /* location for messages: enclosing type and field */
} parse_ctx;

static const char *const KIND_NAMES[] = {"null",   "boolean", "int",    "long",   "float",
                                         "double", "bytes",   "string", "record", "enum",
                                         "fixed",  "array",   "map",    "union"};

const char *ac_kind_name(ac_kind k) {
    return KIND_NAMES[k];
}

static int primitive_kind(const char *s) {
    for (int k = AC_NULL; k <= AC_STRING; k++)
        if (strcmp(s, KIND_NAMES[k]) == 0)
            return k;
    return -1;
}

/* A JSON string without embedded NULs (names, symbols, type references),
 * else NULL. Defaults may hold NULs (bytes/fixed), so the document is read
 * with JSON_ALLOW_NUL. */
static const char *plain_str(json_t *j) {
    const char *s = json_string_value(j);
    return (s != NULL && strlen(s) == json_string_length(j)) ? s : NULL;
}

static hf_status fail(parse_ctx *c, hf_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static hf_status fail(parse_ctx *c, hf_status st, const char *fmt, ...) {
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (c->where[0] != '\0')
        return hf_err_set(c->err, st, "%s: %s", c->where, text);
    return hf_err_set(c->err, st, "%s", text);
}

static ac_node *node_new(parse_ctx *c, ac_kind kind) {
    ac_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->kind = kind;
    n->name = KIND_NAMES[kind];
    n->next_alloc = c->s->all;
    c->s->all = n;
    return n;
}

/* [A-Za-z_][A-Za-z0-9_]* */
static bool valid_simple_name(const char *s, size_t len) {
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
        if (!alpha && !(i > 0 && ch >= '0' && ch <= '9'))
            return false;
    }
    return true;
}

/* Dotted name: every component a simple name. Empty is valid only when
 * @p allow_empty (the null namespace). */
static bool valid_dotted(const char *s, bool allow_empty) {
    if (*s == '\0')
        return allow_empty;
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!valid_simple_name(p, len))
            return false;
        if (dot == NULL)
            return true;
        p = dot + 1;
    }
}

/* "ns" + "name" -> "ns.name" (or "name" when ns is empty); malloc'd. */
static char *join_name(const char *ns, const char *name) {
    size_t a = strlen(ns), b = strlen(name);
    char *out = malloc(a + b + 2);
    if (out == NULL)
        return NULL;
    if (a > 0) {
        memcpy(out, ns, a);
        out[a] = '.';
        memcpy(out + a + 1, name, b + 1);
    } else {
        memcpy(out, name, b + 1);
    }
    return out;
}

static ac_node *lookup_named(const hf_avro_schema *s, const char *fullname) {
    for (size_t i = 0; i < s->nnamed; i++)
        if (strcmp(s->named[i]->fullname, fullname) == 0)
            return s->named[i];
    return NULL;
}

/* Resolves a type reference as the spec says: a dotted name is a full name;
 * a simple one is looked up in the enclosing namespace, then in the null
 * namespace. */
static ac_node *resolve_ref(const hf_avro_schema *s, const char *ref, const char *ns) {
    if (strchr(ref, '.') == NULL && *ns != '\0') {
        char *full = join_name(ns, ref);
        ac_node *n = full ? lookup_named(s, full) : NULL;
        free(full);
        if (n != NULL)
            return n;
    }
    return lookup_named(s, ref);
}

static hf_status register_named(parse_ctx *c, ac_node *n) {
    if (lookup_named(c->s, n->fullname) != NULL)
        return fail(c, HF_ESYNTAX, "type name '%s' is defined twice", n->fullname);
    if (c->s->nnamed == c->s->named_cap) {
        size_t cap = c->s->named_cap ? c->s->named_cap * 2 : 16;
        ac_node **grown = realloc(c->s->named, cap * sizeof *grown);
        if (grown == NULL)
            return fail(c, HF_ENOMEM, "out of memory");
        c->s->named = grown;
        c->s->named_cap = cap;
    }
    c->s->named[c->s->nnamed++] = n;
    return HF_OK;
}

/* Reads the optional "aliases" array of @p obj into *out (owned strings).
 * Named-type aliases (@p ns non-NULL) are made full names in @p ns; field
 * aliases (@p ns NULL) must be simple names. */
static hf_status read_aliases(parse_ctx *c, json_t *obj, const char *ns, char ***out, size_t *n) {
    json_t *a = json_object_get(obj, "aliases");
    *out = NULL;
    *n = 0;
    if (a == NULL)
        return HF_OK;
    if (!json_is_array(a))
        return fail(c, HF_ESYNTAX, "\"aliases\" must be an array of names");
    size_t count = json_array_size(a);
    if (count == 0)
        return HF_OK;
    *out = calloc(count, sizeof **out);
    if (*out == NULL)
        return fail(c, HF_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const char *al = plain_str(json_array_get(a, i));
        if (al == NULL)
            return fail(c, HF_ESYNTAX, "\"aliases\" must be an array of names");
        bool ok = ns ? valid_dotted(al, false) : valid_simple_name(al, strlen(al));
        if (!ok)
            return fail(c, HF_ESYNTAX, "alias '%s' is not a valid name", al);
        (*out)[i] = (ns && strchr(al, '.') == NULL) ? join_name(ns, al) : strdup(al);
        if ((*out)[i] == NULL)
            return fail(c, HF_ENOMEM, "out of memory");
        (*n)++;
    }
    return HF_OK;
}

static hf_status parse_type(parse_ctx *c, json_t *j, const char *ns, int depth, ac_node **out);

/* "name"/"namespace" of a named type -> fullname; *child_ns gets the
 * namespace its nested types inherit (malloc'd). */
static hf_status named_header(parse_ctx *c, json_t *obj, const char *ns, ac_node *n,
                              char **child_ns) {
    const char *name = plain_str(json_object_get(obj, "name"));
    if (name == NULL)
        return fail(c, HF_ESYNTAX, "%s without a string \"name\"", n->name);
    json_t *nsj = json_object_get(obj, "namespace");
    const char *own_ns = ns;
    if (nsj != NULL && !json_is_null(nsj)) {
        own_ns = plain_str(nsj);
        if (own_ns == NULL || !valid_dotted(own_ns, true))
            return fail(c, HF_ESYNTAX, "%s '%s': invalid namespace", n->name, name);
    }
    if (!valid_dotted(name, false))
        return fail(c, HF_ESYNTAX, "'%s' is not a valid type name", name);
    const char *dot = strrchr(name, '.');
    if (dot != NULL) {
        n->fullname = strdup(name);
        *child_ns = strndup(name, (size_t)(dot - name));
    } else {
        n->fullname = join_name(own_ns, name);
        *child_ns = strdup(own_ns);
    }
    if (n->fullname == NULL || *child_ns == NULL)
        return fail(c, HF_ENOMEM, "out of memory");
    const char *last = strrchr(n->fullname, '.');
    n->name = last ? last + 1 : n->fullname;
    if (primitive_kind(n->name) >= 0 && strchr(n->fullname, '.') == NULL)
        return fail(c, HF_ESYNTAX, "a primitive type name ('%s') cannot name a %s", n->name,
                    KIND_NAMES[n->kind]);
    hf_status st = read_aliases(c, obj, *child_ns, &n->aliases, &n->naliases);
    if (st != HF_OK)
        return st;
    return register_named(c, n);
}

static hf_status parse_record(parse_ctx *c, json_t *obj, const char *ns, int depth, ac_node *n) {
    char *child_ns = NULL;
    hf_status st = named_header(c, obj, ns, n, &child_ns);
    if (st != HF_OK)
        goto out;
    json_t *fields = json_object_get(obj, "fields");
    if (!json_is_array(fields)) {
        st = fail(c, HF_ESYNTAX, "record '%s' without a \"fields\" array", n->fullname);
        goto out;
    }
    size_t count = json_array_size(fields);
    n->fields = calloc(count ? count : 1, sizeof *n->fields);
    if (n->fields == NULL) {
        st = fail(c, HF_ENOMEM, "out of memory");
        goto out;
    }
    char saved[sizeof c->where];
    memcpy(saved, c->where, sizeof saved);
    for (size_t i = 0; i < count && st == HF_OK; i++) {
        json_t *fj = json_array_get(fields, i);
        const char *fname = plain_str(json_object_get(fj, "name"));
        snprintf(c->where, sizeof c->where, "%s.%s", n->fullname, fname ? fname : "?");
        if (!json_is_object(fj) || fname == NULL) {
            st = fail(c, HF_ESYNTAX, "field %zu without a string \"name\"", i + 1);
            break;
        }
        if (!valid_simple_name(fname, strlen(fname))) {
            st = fail(c, HF_ESYNTAX, "'%s' is not a valid field name", fname);
            break;
        }
        for (size_t k = 0; k < n->nfields; k++)
            if (strcmp(n->fields[k].name, fname) == 0)
                st = fail(c, HF_ESYNTAX, "field '%s' is defined twice", fname);
        if (st != HF_OK)
            break;
        ac_field *f = &n->fields[n->nfields];
        f->name = strdup(fname);
        if (f->name == NULL) {
            st = fail(c, HF_ENOMEM, "out of memory");
            break;
        }
        n->nfields++;
        st = read_aliases(c, fj, NULL, &f->aliases, &f->naliases);
        if (st != HF_OK)
            break;
        json_t *tj = json_object_get(fj, "type");
        if (tj == NULL) {
            st = fail(c, HF_ESYNTAX, "field without \"type\"");
            break;
        }
        st = parse_type(c, tj, child_ns, depth + 1, &f->type);
        json_t *def = json_object_get(fj, "default");
        if (def != NULL)
            f->def = json_incref(def);
    }
    memcpy(c->where, saved, sizeof saved);
out:
    free(child_ns);
    return st;
}

static hf_status parse_enum(parse_ctx *c, json_t *obj, const char *ns, ac_node *n) {
    char *child_ns = NULL;
    hf_status st = named_header(c, obj, ns, n, &child_ns);
    free(child_ns);
    if (st != HF_OK)
        return st;
    json_t *syms = json_object_get(obj, "symbols");
    if (!json_is_array(syms))
        return fail(c, HF_ESYNTAX, "enum '%s' without a \"symbols\" array", n->fullname);
    size_t count = json_array_size(syms);
    n->symbols = calloc(count ? count : 1, sizeof *n->symbols);
    if (n->symbols == NULL)
        return fail(c, HF_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const char *sym = plain_str(json_array_get(syms, i));
        if (sym == NULL || !valid_simple_name(sym, strlen(sym)))
            return fail(c, HF_ESYNTAX, "enum '%s': symbol %zu is not a valid name", n->fullname,
                        i + 1);
        for (size_t k = 0; k < n->nsymbols; k++)
            if (strcmp(n->symbols[k], sym) == 0)
                return fail(c, HF_ESYNTAX, "enum '%s': symbol '%s' appears twice", n->fullname,
                            sym);
        if ((n->symbols[n->nsymbols] = strdup(sym)) == NULL)
            return fail(c, HF_ENOMEM, "out of memory");
        n->nsymbols++;
    }
    json_t *def = json_object_get(obj, "default");
    if (def != NULL) {
        const char *d = plain_str(def);
        bool found = false;
        for (size_t k = 0; d != NULL && k < n->nsymbols; k++)
            found = found || strcmp(n->symbols[k], d) == 0;
        if (!found)
            return fail(c, HF_ESYNTAX, "enum '%s': default is not one of its symbols", n->fullname);
        if ((n->enum_default = strdup(d)) == NULL)
            return fail(c, HF_ENOMEM, "out of memory");
    }
    return HF_OK;
}

static hf_status parse_fixed(parse_ctx *c, json_t *obj, const char *ns, ac_node *n) {
    char *child_ns = NULL;
    hf_status st = named_header(c, obj, ns, n, &child_ns);
    free(child_ns);
    if (st != HF_OK)
        return st;
    json_t *size = json_object_get(obj, "size");
    if (!json_is_integer(size) || json_integer_value(size) < 0 ||
        json_integer_value(size) > INT32_MAX)
        return fail(c, HF_ESYNTAX, "fixed '%s' needs a non-negative integer \"size\"", n->fullname);
    n->size = json_integer_value(size);
    return HF_OK;
}

static hf_status parse_union(parse_ctx *c, json_t *arr, const char *ns, int depth, ac_node *n) {
    size_t count = json_array_size(arr);
    if (count == 0)
        return fail(c, HF_ESYNTAX, "empty union");
    n->branches = calloc(count, sizeof *n->branches);
    if (n->branches == NULL)
        return fail(c, HF_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        ac_node *b = NULL;
        hf_status st = parse_type(c, json_array_get(arr, i), ns, depth + 1, &b);
        if (st != HF_OK)
            return st;
        if (b->kind == AC_UNION)
            return fail(c, HF_ESYNTAX, "a union may not directly contain a union");
        for (size_t k = 0; k < n->nbranches; k++) {
            const ac_node *o = n->branches[k];
            bool dup = o->kind == b->kind &&
                       (o->fullname == NULL || strcmp(o->fullname, b->fullname) == 0);
            if (dup)
                return fail(c, HF_ESYNTAX, "union has two branches of type %s",
                            b->fullname ? b->fullname : KIND_NAMES[b->kind]);
        }
        n->branches[n->nbranches++] = b;
    }
    return HF_OK;
}

static hf_status parse_object(parse_ctx *c, json_t *obj, const char *ns, int depth, ac_node **out) {
    json_t *tj = json_object_get(obj, "type");
    const char *type = plain_str(tj);
    if (type == NULL)
        return fail(c, HF_ESYNTAX, "schema object without a string \"type\"");
    int prim = primitive_kind(type);
    ac_kind kind;
    if (prim >= 0)
        kind = (ac_kind)prim;
    else if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0)
        kind = AC_RECORD;
    else if (strcmp(type, "enum") == 0)
        kind = AC_ENUM;
    else if (strcmp(type, "fixed") == 0)
        kind = AC_FIXED;
    else if (strcmp(type, "array") == 0)
        kind = AC_ARRAY;
    else if (strcmp(type, "map") == 0)
        kind = AC_MAP;
    else {
        /* {"type": "SomeName"}: a reference, as Java's parser accepts. */
        *out = resolve_ref(c->s, type, ns);
        if (*out == NULL)
            return fail(c, HF_ESYNTAX, "unknown type '%s'", type);
        return HF_OK;
    }
    ac_node *n = node_new(c, kind);
    if (n == NULL)
        return fail(c, HF_ENOMEM, "out of memory");
    *out = n;
    switch (kind) {
    case AC_RECORD: return parse_record(c, obj, ns, depth, n);
    case AC_ENUM: return parse_enum(c, obj, ns, n);
    case AC_FIXED: return parse_fixed(c, obj, ns, n);
    case AC_ARRAY:
    case AC_MAP: {
        const char *key = kind == AC_ARRAY ? "items" : "values";
        json_t *sub = json_object_get(obj, key);
        if (sub == NULL)
            return fail(c, HF_ESYNTAX, "%s without \"%s\"", type, key);
        return parse_type(c, sub, ns, depth + 1, &n->items);
    }
    default: return HF_OK; /* primitive, possibly with a logicalType */
    }
}

static hf_status parse_type(parse_ctx *c, json_t *j, const char *ns, int depth, ac_node **out) {
    *out = NULL;
    if (depth > AC_MAX_DEPTH)
        return fail(c, HF_ELIMIT, "schema nested deeper than %d levels", AC_MAX_DEPTH);
    if (json_is_string(j)) {
        const char *ref = plain_str(j);
        if (ref == NULL)
            return fail(c, HF_ESYNTAX, "a type name may not contain NUL");
        int prim = primitive_kind(ref);
        if (prim >= 0) {
            *out = node_new(c, (ac_kind)prim);
            return *out ? HF_OK : fail(c, HF_ENOMEM, "out of memory");
        }
        *out = resolve_ref(c->s, ref, ns);
        return *out ? HF_OK : fail(c, HF_ESYNTAX, "unknown type '%s'", ref);
    }
    if (json_is_array(j)) {
        ac_node *n = node_new(c, AC_UNION);
        if (n == NULL)
            return fail(c, HF_ENOMEM, "out of memory");
        *out = n;
        return parse_union(c, j, ns, depth, n);
    }
    if (json_is_object(j))
        return parse_object(c, j, ns, depth, out);
    return fail(c, HF_ESYNTAX, "a schema must be a string, an object or an array");
}

/* ---- defaults --------------------------------------------------------- */

/* Number of UTF-8 code points in @p s (a fixed/bytes default is one code
 * point per byte, U+0000..U+00FF). */
static size_t utf8_count(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static bool default_ok(const ac_node *t, json_t *v, int depth) {
    if (depth > AC_MAX_DEPTH)
        return false;
    switch (t->kind) {
    case AC_NULL: return json_is_null(v);
    case AC_BOOLEAN: return json_is_boolean(v);
    case AC_INT:
        return json_is_integer(v) && json_integer_value(v) >= INT32_MIN &&
               json_integer_value(v) <= INT32_MAX;
    case AC_LONG: return json_is_integer(v);
    case AC_FLOAT:
    case AC_DOUBLE: {
        const char *s = json_string_value(v);
        if (s != NULL)
            return strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0 ||
                   strcmp(s, "-Infinity") == 0;
        return json_is_number(v);
    }
    case AC_BYTES:
    case AC_STRING: return json_is_string(v);
    case AC_FIXED:
        return json_is_string(v) &&
               utf8_count(json_string_value(v), json_string_length(v)) == (size_t)t->size;
    case AC_ENUM: {
        const char *s = json_string_value(v);
        for (size_t i = 0; s != NULL && i < t->nsymbols; i++)
            if (strcmp(t->symbols[i], s) == 0)
                return true;
        return false;
    }
    case AC_ARRAY: {
        if (!json_is_array(v))
            return false;
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!default_ok(t->items, json_array_get(v, i), depth + 1))
                return false;
        return true;
    }
    case AC_MAP: {
        if (!json_is_object(v))
            return false;
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            if (!default_ok(t->items, x, depth + 1))
                return false;
        }
        return true;
    }
    case AC_RECORD: {
        if (!json_is_object(v))
            return false;
        for (size_t i = 0; i < t->nfields; i++) {
            json_t *x = json_object_get(v, t->fields[i].name);
            if (x == NULL ? t->fields[i].def == NULL : !default_ok(t->fields[i].type, x, depth + 1))
                return false;
        }
        return true;
    }
    case AC_UNION: return default_ok(t->branches[0], v, depth + 1);
    }
    return false;
}

static hf_status check_defaults(parse_ctx *c) {
    for (size_t i = 0; i < c->s->nnamed; i++) {
        const ac_node *r = c->s->named[i];
        if (r->kind != AC_RECORD)
            continue;
        for (size_t k = 0; k < r->nfields; k++) {
            const ac_field *f = &r->fields[k];
            if (f->def == NULL || default_ok(f->type, f->def, 0))
                continue;
            snprintf(c->where, sizeof c->where, "%s.%s", r->fullname, f->name);
            char *txt = json_dumps(f->def, JSON_COMPACT | JSON_ENCODE_ANY);
            const ac_node *want = f->type->kind == AC_UNION ? f->type->branches[0] : f->type;
            hf_status st =
                fail(c, HF_ESYNTAX, "default %.60s is not a valid %s%s", txt ? txt : "?",
                     want->fullname ? want->fullname : want->name,
                     f->type->kind == AC_UNION ? " (a union's default must match its first branch)"
                                               : "");
            free(txt);
            return st;
        }
    }
    return HF_OK;
}

/* ---- public ----------------------------------------------------------- */

hf_status hf_avro_schema_parse(const char *text, size_t len, hf_avro_schema **out, hf_err *err) {
    *out = NULL;
    json_error_t jerr;
    size_t flags = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
    json_t *root = json_loadb(text, len, flags, &jerr);
    if (root == NULL)
        return hf_err_set(err, HF_ESYNTAX, "not JSON: line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
    hf_avro_schema *s = calloc(1, sizeof *s);
    if (s == NULL) {
        json_decref(root);
        return hf_err_set(err, HF_ENOMEM, "out of memory");
    }
    parse_ctx c = {.s = s, .err = err};
    hf_status st = parse_type(&c, root, "", 0, &s->root);
    if (st == HF_OK)
        st = check_defaults(&c);
    json_decref(root);
    if (st != HF_OK) {
        hf_avro_schema_free(s);
        return st;
    }
    *out = s;
    return HF_OK;
}

hf_status hf_avro_schema_load(const char *path, hf_avro_schema **out, hf_err *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return hf_err_set(err, HF_EIO, "%s: %s", path, strerror(errno));
    char *buf = malloc(AC_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, AC_MAX_FILE + 1, f) : 0;
    bool rerr = ferror(f) != 0;
    fclose(f);
    if (buf == NULL)
        return hf_err_set(err, HF_ENOMEM, "%s: out of memory", path);
    if (rerr || n > AC_MAX_FILE) {
        free(buf);
        return hf_err_set(err, rerr ? HF_EIO : HF_ELIMIT, "%s: %s", path,
                          rerr ? "read error" : "larger than 16 MiB");
    }
    hf_err inner = {0};
    hf_status st = hf_avro_schema_parse(buf, n, out, &inner);
    free(buf);
    if (st != HF_OK)
        hf_err_set(err, st, "%s: %s", path, inner.msg);
    return st;
}

static void free_strings(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void hf_avro_schema_free(hf_avro_schema *s) {
    if (s == NULL)
        return;
    ac_node *n = s->all;
    while (n != NULL) {
        ac_node *next = n->next_alloc;
        free(n->fullname);
        free_strings(n->aliases, n->naliases);
        for (size_t i = 0; i < n->nfields; i++) {
            free(n->fields[i].name);
            free_strings(n->fields[i].aliases, n->fields[i].naliases);
            json_decref(n->fields[i].def);
        }
        free(n->fields);
        free_strings(n->symbols, n->nsymbols);
        free(n->enum_default);
        free(n->branches);
        free(n);
        n = next;
    }
    free(s->named);
    free(s);
}

const char *hf_avro_schema_name(const hf_avro_schema *s) {
    return s->root->fullname ? s->root->fullname : s->root->name;
}
