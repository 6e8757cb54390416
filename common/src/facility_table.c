/* facility_table.c - the immutable facility table (facility.h): the builder
 * that validates each entry, the arena that owns every string, the
 * facility_id index, and the time zones (hf_tz_open, one per distinct name
 * per table, shared by the facilities in that zone).
 *
 * Memory: one arena of chunks per table holds every string (NUL-terminated
 * copies), every list and every label; the facility array and the index are
 * two more allocations. Freeing a table is a walk over the chunk list.
 * Lookup: open addressing over a power-of-two slot array (at most half
 * full) keyed by FNV-1a of the id, so a find is one hash and usually one
 * compare.
 */
#include "hl7flow/facility.h"
#include "hl7flow/tz.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------- arena */

typedef struct fac_chunk {
    struct fac_chunk *next;
    size_t used, cap;
    max_align_t data[]; /* cap bytes */
} fac_chunk;

#define FAC_CHUNK_MIN (16u << 10)

/* A new block of @p size bytes aligned for any type, owned by *head. */
static void *arena_alloc(fac_chunk **head, size_t size) {
    size_t need = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    fac_chunk *c = *head;
    if (c == NULL || c->cap - c->used < need) {
        size_t cap = need > FAC_CHUNK_MIN ? need : FAC_CHUNK_MIN;
        c = malloc(sizeof *c + cap);
        if (c == NULL)
            return NULL;
        c->next = *head;
        c->used = 0;
        c->cap = cap;
        *head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += need;
    return p;
}

static void arena_free(fac_chunk *c) {
    while (c != NULL) {
        fac_chunk *next = c->next;
        free(c);
        c = next;
    }
}

/* A NUL-terminated copy of @p s in the arena; {NULL, 0} when out of memory. */
static hf_span arena_span(fac_chunk **head, hf_span s) {
    char *p = arena_alloc(head, s.len + 1);
    if (p == NULL)
        return (hf_span){NULL, 0};
    if (s.len > 0)
        memcpy(p, s.p, s.len);
    p[s.len] = '\0';
    return (hf_span){p, s.len};
}

/* ----------------------------------------------------------------- zones */

typedef struct fac_zone {
    const char *name; /* arena */
    struct hf_tz *tz;
} fac_zone;

/* ----------------------------------------------------------------- table */

struct hf_facility_table {
    hf_facility *v;
    size_t n, cap;
    const char **labels; /* labels[i]: where facility i came from (arena) */
    uint32_t *slots;     /* 0 = empty, else index + 1 */
    size_t nslots;       /* power of two, >= 2 * (n + 1) */
    fac_zone *zones;
    size_t nzones, zcap;
    fac_chunk *arena;
};

static uint64_t hash_id(const char *p, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static bool span_eq(hf_span a, hf_span b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* Index of the facility with this id, or SIZE_MAX. */
static size_t index_find(const hf_facility_table *t, hf_span id) {
    if (t->nslots == 0)
        return SIZE_MAX;
    size_t mask = t->nslots - 1;
    for (size_t i = (size_t)hash_id(id.p, id.len) & mask;; i = (i + 1) & mask) {
        uint32_t s = t->slots[i];
        if (s == 0)
            return SIZE_MAX;
        if (span_eq(t->v[s - 1].rec.facility_id, id))
            return s - 1;
    }
}

static void index_put(hf_facility_table *t, size_t idx) {
    size_t mask = t->nslots - 1;
    hf_span id = t->v[idx].rec.facility_id;
    size_t i = (size_t)hash_id(id.p, id.len) & mask;
    while (t->slots[i] != 0)
        i = (i + 1) & mask;
    t->slots[i] = (uint32_t)(idx + 1);
}

/* Makes room for one more facility in the array and the index. */
static hf_status table_grow(hf_facility_table *t) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        hf_facility *v = realloc(t->v, cap * sizeof *v);
        if (v == NULL)
            return HF_ENOMEM;
        t->v = v;
        const char **labels = realloc(t->labels, cap * sizeof *labels);
        if (labels == NULL)
            return HF_ENOMEM;
        t->labels = labels;
        t->cap = cap;
    }
    if (2 * (t->n + 1) > t->nslots) {
        size_t nslots = t->nslots ? t->nslots * 2 : 32;
        uint32_t *slots = calloc(nslots, sizeof *slots);
        if (slots == NULL)
            return HF_ENOMEM;
        free(t->slots);
        t->slots = slots;
        t->nslots = nslots;
        for (size_t i = 0; i < t->n; i++)
            index_put(t, i);
    }
    return HF_OK;
}

const hf_facility *hf_facility_table_find(const hf_facility_table *t, hf_span facility_id) {
    if (t == NULL || facility_id.len == 0 || facility_id.p == NULL)
        return NULL;
    size_t i = index_find(t, facility_id);
    return i == SIZE_MAX ? NULL : &t->v[i];
}

size_t hf_facility_table_count(const hf_facility_table *t) { return t == NULL ? 0 : t->n; }

const hf_facility *hf_facility_table_at(const hf_facility_table *t, size_t i) {
    return t != NULL && i < t->n ? &t->v[i] : NULL;
}

static bool facility_equal(const hf_facility *a, const hf_facility *b) {
    const hf_rec_facility *x = &a->rec, *y = &b->rec;
    if (!span_eq(x->facility_id, y->facility_id) || !span_eq(x->name, y->name) ||
        !span_eq(x->organization, y->organization) || !span_eq(x->npi, y->npi) ||
        !span_eq(x->time_zone, y->time_zone) || !span_eq(x->region, y->region) ||
        x->source_systems.n != y->source_systems.n || x->attributes.n != y->attributes.n)
        return false;
    for (size_t i = 0; i < x->source_systems.n; i++)
        if (!span_eq(x->source_systems.v[i], y->source_systems.v[i]))
            return false;
    for (size_t i = 0; i < x->attributes.n; i++)
        if (!span_eq(x->attributes.v[i].key, y->attributes.v[i].key) ||
            !span_eq(x->attributes.v[i].value, y->attributes.v[i].value))
            return false;
    return true;
}

bool hf_facility_table_equal(const hf_facility_table *a, const hf_facility_table *b) {
    if (hf_facility_table_count(a) != hf_facility_table_count(b))
        return false;
    for (size_t i = 0; i < hf_facility_table_count(a); i++)
        if (!facility_equal(&a->v[i], &b->v[i]))
            return false;
    return true;
}

void hf_facility_table_free(hf_facility_table *t) {
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nzones; i++)
        hf_tz_close(t->zones[i].tz);
    free(t->zones);
    free(t->slots);
    free(t->labels);
    free(t->v);
    arena_free(t->arena);
    free(t);
}

/* --------------------------------------------------------------- builder */

static const char *const FIELD_NAMES[HF_FAC_NFIELDS] = {
    [HF_FAC_FACILITY_ID] = "facility_id", [HF_FAC_NAME] = "name",
    [HF_FAC_ORGANIZATION] = "organization", [HF_FAC_NPI] = "npi",
    [HF_FAC_TIME_ZONE] = "time_zone",     [HF_FAC_REGION] = "region",
};

const char *hf_facility_field_name(hf_facility_field f) {
    return (unsigned)f < HF_FAC_NFIELDS ? FIELD_NAMES[f] : NULL;
}

struct hf_facility_builder {
    hf_facility_table *t;
    char *origin;
    bool in_entry, failed;
    const char *label;            /* arena copy of the entry's label */
    hf_span fields[HF_FAC_NFIELDS];
    bool set[HF_FAC_NFIELDS];
    hf_span *sys;                 /* source systems of the entry (arena strings) */
    size_t nsys;
    hf_rec_kv *attrs;             /* attributes of the entry (arena strings) */
    size_t nattrs;
};

hf_status hf_facility_builder_new(const char *origin, hf_facility_builder **out, hf_err *err) {
    *out = NULL;
    hf_facility_builder *b = calloc(1, sizeof *b);
    if (b != NULL) {
        b->t = calloc(1, sizeof *b->t);
        b->origin = strdup(origin != NULL ? origin : "facilities");
        b->sys = malloc(HF_FACILITY_LIST_MAX * sizeof *b->sys);
        b->attrs = malloc(HF_FACILITY_LIST_MAX * sizeof *b->attrs);
    }
    if (b == NULL || b->t == NULL || b->origin == NULL || b->sys == NULL || b->attrs == NULL) {
        hf_facility_builder_free(b);
        return hf_err_set(err, HF_ENOMEM, "facilities: out of memory");
    }
    *out = b;
    return HF_OK;
}

void hf_facility_builder_free(hf_facility_builder *b) {
    if (b == NULL)
        return;
    hf_facility_table_free(b->t);
    free(b->origin);
    free(b->sys);
    free(b->attrs);
    free(b);
}

/* Writes "<origin>: <label> (<id>): <what>" into err, marks the builder
 * failed and returns @p st. */
static hf_status entry_failv(hf_facility_builder *b, hf_err *err, hf_status st, const char *fmt,
                             va_list ap) __attribute__((format(printf, 4, 0)));

static hf_status entry_failv(hf_facility_builder *b, hf_err *err, hf_status st, const char *fmt,
                             va_list ap) {
    char what[320];
    vsnprintf(what, sizeof what, fmt, ap);
    b->failed = true;
    const hf_span id = b->fields[HF_FAC_FACILITY_ID];
    if (b->in_entry && id.len > 0)
        return hf_err_set(err, st, "%s: %s (%.64s): %s", b->origin, b->label, id.p, what);
    if (b->in_entry)
        return hf_err_set(err, st, "%s: %s: %s", b->origin, b->label, what);
    return hf_err_set(err, st, "%s: %s", b->origin, what);
}

static hf_status entry_fail(hf_facility_builder *b, hf_err *err, hf_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static hf_status entry_fail(hf_facility_builder *b, hf_err *err, hf_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    hf_status r = entry_failv(b, err, st, fmt, ap);
    va_end(ap);
    return r;
}

hf_status hf_facility_builder_fail(hf_facility_builder *b, hf_err *err, hf_status st, const char *fmt,
                                   ...) {
    va_list ap;
    va_start(ap, fmt);
    hf_status r = entry_failv(b, err, st, fmt, ap);
    va_end(ap);
    return r;
}

static hf_status oom(hf_facility_builder *b, hf_err *err) {
    return entry_fail(b, err, HF_ENOMEM, "out of memory");
}

/* A printable rendering of a short value for an error text: ASCII
 * printable bytes kept, others '?', at most 40 bytes then "...". The
 * values here are configuration, never patient data. */
static const char *quote(hf_span v, char *buf, size_t size) {
    size_t o = 0, max = size > 45 ? 40 : size - 5;
    buf[o++] = '"';
    for (size_t i = 0; i < v.len && o < max; i++)
        buf[o++] = v.p[i] >= 0x20 && v.p[i] < 0x7f && v.p[i] != '"' ? v.p[i] : '?';
    if (v.len > max - 1) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* Length of the valid UTF-8 prefix of @p s (== s.len when all valid): no
 * overlong forms, surrogates or code points above U+10FFFF. */
static size_t utf8_valid_prefix(hf_span s) {
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0;
    while (i < s.len) {
        unsigned c = p[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (s.len - i <= n)
            return i;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return i;
}

/* Checks one string value: length, UTF-8, no NUL, and no control
 * characters unless @p text_ok (attribute values may hold TAB, CR, LF). */
static hf_status check_text(hf_facility_builder *b, hf_err *err, const char *what, hf_span v, size_t max,
                            bool text_ok) {
    if (v.len > max)
        return entry_fail(b, err, HF_ELIMIT, "%s: longer than %zu bytes", what, max);
    size_t good = utf8_valid_prefix(v);
    if (good != v.len)
        return entry_fail(b, err, HF_ESYNTAX, "%s: invalid UTF-8 at byte %zu", what, good);
    for (size_t i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        bool ctl = c < 0x20 || c == 0x7f;
        if (c == 0 || (ctl && !(text_ok && (c == '\t' || c == '\n' || c == '\r'))))
            return entry_fail(b, err, HF_ESYNTAX, "%s: control character at byte %zu", what, i);
    }
    return HF_OK;
}

/* The NPI check digit rule of CMS: Luhn over "80840" followed by the ten
 * NPI digits. */
static bool npi_valid(hf_span v) {
    if (v.len != 10)
        return false;
    char digits[15] = {'8', '0', '8', '4', '0'};
    for (size_t i = 0; i < 10; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return false;
        digits[5 + i] = v.p[i];
    }
    unsigned sum = 0;
    for (size_t k = 0; k < 15; k++) { /* k = position from the right */
        unsigned d = (unsigned)(digits[14 - k] - '0');
        if (k % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

static bool builder_usable(hf_facility_builder *b, hf_err *err, bool want_entry) {
    if (b->failed) {
        hf_err_set(err, HF_EFATAL, "%s: builder used after an error", b->origin);
        return false;
    }
    if (b->in_entry != want_entry) {
        entry_fail(b, err, HF_EFATAL, want_entry ? "no entry begun" : "entry not ended");
        return false;
    }
    return true;
}

hf_status hf_facility_builder_begin(hf_facility_builder *b, const char *label, hf_err *err) {
    if (!builder_usable(b, err, false))
        return err != NULL ? err->st : HF_EFATAL;
    if (b->t->n >= HF_FACILITY_MAX)
        return entry_fail(b, err, HF_ELIMIT, "more than %d facilities", HF_FACILITY_MAX);
    const char *l = label != NULL ? label : "entry";
    hf_span copy = arena_span(&b->t->arena, (hf_span){l, strlen(l)});
    if (copy.p == NULL)
        return oom(b, err);
    b->label = copy.p;
    b->in_entry = true;
    memset(b->fields, 0, sizeof b->fields);
    memset(b->set, 0, sizeof b->set);
    b->nsys = b->nattrs = 0;
    return HF_OK;
}

hf_status hf_facility_builder_set(hf_facility_builder *b, hf_facility_field f, hf_span value,
                                  hf_err *err) {
    if (!builder_usable(b, err, true))
        return err != NULL ? err->st : HF_EFATAL;
    if ((unsigned)f >= HF_FAC_NFIELDS)
        return entry_fail(b, err, HF_EFATAL, "unknown field %d", (int)f);
    const char *name = FIELD_NAMES[f];
    if (b->set[f])
        return entry_fail(b, err, HF_ECONFIG, "%s: given twice", name);
    b->set[f] = true;
    if (value.len == 0) {
        if (f == HF_FAC_FACILITY_ID)
            return entry_fail(b, err, HF_ECONFIG, "facility_id: empty");
        return HF_OK; /* absent */
    }
    hf_status st = check_text(b, err, name, value,
                              f == HF_FAC_FACILITY_ID ? HF_FACILITY_ID_MAX : HF_FACILITY_TEXT_MAX, false);
    if (st != HF_OK)
        return st;
    char q[48];
    if (f == HF_FAC_NPI && !npi_valid(value))
        return entry_fail(b, err, HF_ECONFIG,
                          "npi: %s is not a valid NPI (10 digits, Luhn check digit over 80840)",
                          quote(value, q, sizeof q));
    hf_span copy = arena_span(&b->t->arena, value);
    if (copy.p == NULL)
        return oom(b, err);
    b->fields[f] = copy;
    return HF_OK;
}

hf_status hf_facility_builder_add_source_system(hf_facility_builder *b, hf_span value, hf_err *err) {
    if (!builder_usable(b, err, true))
        return err != NULL ? err->st : HF_EFATAL;
    char what[48];
    snprintf(what, sizeof what, "source_systems[%zu]", b->nsys);
    if (b->nsys >= HF_FACILITY_LIST_MAX)
        return entry_fail(b, err, HF_ELIMIT, "source_systems: more than %d", HF_FACILITY_LIST_MAX);
    if (value.len == 0)
        return entry_fail(b, err, HF_ECONFIG, "%s: empty", what);
    hf_status st = check_text(b, err, what, value, HF_FACILITY_TEXT_MAX, false);
    if (st != HF_OK)
        return st;
    for (size_t i = 0; i < b->nsys; i++) {
        char q[48];
        if (span_eq(b->sys[i], value))
            return entry_fail(b, err, HF_ECONFIG, "%s: %s listed twice", what, quote(value, q, sizeof q));
    }
    hf_span copy = arena_span(&b->t->arena, value);
    if (copy.p == NULL)
        return oom(b, err);
    b->sys[b->nsys++] = copy;
    return HF_OK;
}

hf_status hf_facility_builder_add_attribute(hf_facility_builder *b, hf_span key, hf_span value,
                                            hf_err *err) {
    if (!builder_usable(b, err, true))
        return err != NULL ? err->st : HF_EFATAL;
    if (b->nattrs >= HF_FACILITY_LIST_MAX)
        return entry_fail(b, err, HF_ELIMIT, "attributes: more than %d", HF_FACILITY_LIST_MAX);
    if (key.len == 0)
        return entry_fail(b, err, HF_ECONFIG, "attributes: empty key");
    hf_status st = check_text(b, err, "attributes key", key, HF_FACILITY_TEXT_MAX, false);
    if (st != HF_OK)
        return st;
    char q[48], what[64];
    snprintf(what, sizeof what, "attributes.%s", quote(key, q, sizeof q));
    for (size_t i = 0; i < b->nattrs; i++)
        if (span_eq(b->attrs[i].key, key))
            return entry_fail(b, err, HF_ECONFIG, "%s: given twice", what);
    st = check_text(b, err, what, value, HF_FACILITY_TEXT_MAX, true);
    if (st != HF_OK)
        return st;
    hf_span k = arena_span(&b->t->arena, key);
    hf_span v = arena_span(&b->t->arena, value);
    if (k.p == NULL || v.p == NULL)
        return oom(b, err);
    b->attrs[b->nattrs++] = (hf_rec_kv){k, v};
    return HF_OK;
}

static int kv_cmp(const void *a, const void *b) {
    const hf_span *x = &((const hf_rec_kv *)a)->key, *y = &((const hf_rec_kv *)b)->key;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* The shared zone of this name in the table, opened on first use. */
static hf_status zone_get(hf_facility_builder *b, hf_span name, struct hf_tz **out, hf_err *err) {
    hf_facility_table *t = b->t;
    for (size_t i = 0; i < t->nzones; i++) {
        if (strcmp(t->zones[i].name, name.p) == 0) {
            *out = t->zones[i].tz;
            return HF_OK;
        }
    }
    hf_tz *tz = NULL;
    hf_err zerr = {0};
    hf_status st = hf_tz_open(name.p, &tz, &zerr);
    char q[48];
    if (st == HF_ENOTFOUND)
        return entry_fail(b, err, HF_ECONFIG,
                          "time_zone: %s: unknown time zone (want an IANA name such as America/Chicago)",
                          quote(name, q, sizeof q));
    if (st != HF_OK)
        return entry_fail(b, err, st, "time_zone: %s: %s", quote(name, q, sizeof q), zerr.msg);
    if (t->nzones == t->zcap) {
        size_t cap = t->zcap ? t->zcap * 2 : 8;
        fac_zone *z = realloc(t->zones, cap * sizeof *z);
        if (z == NULL) {
            hf_tz_close(tz);
            return oom(b, err);
        }
        t->zones = z;
        t->zcap = cap;
    }
    t->zones[t->nzones++] = (fac_zone){name.p, tz};
    *out = tz;
    return HF_OK;
}

hf_status hf_facility_builder_end(hf_facility_builder *b, hf_err *err) {
    if (!builder_usable(b, err, true))
        return err != NULL ? err->st : HF_EFATAL;
    hf_facility_table *t = b->t;
    hf_span id = b->fields[HF_FAC_FACILITY_ID];
    if (id.len == 0)
        return entry_fail(b, err, HF_ECONFIG, "facility_id: missing");
    size_t prev = index_find(t, id);
    if (prev != SIZE_MAX)
        return entry_fail(b, err, HF_ECONFIG, "facility_id: duplicate (also %s)", t->labels[prev]);
    struct hf_tz *tz = NULL;
    if (b->fields[HF_FAC_TIME_ZONE].len > 0) {
        hf_status st = zone_get(b, b->fields[HF_FAC_TIME_ZONE], &tz, err);
        if (st != HF_OK)
            return st;
    }
    if (table_grow(t) != HF_OK)
        return oom(b, err);
    hf_span *sys = NULL;
    hf_rec_kv *attrs = NULL;
    if (b->nsys > 0 && (sys = arena_alloc(&t->arena, b->nsys * sizeof *sys)) == NULL)
        return oom(b, err);
    if (b->nattrs > 0 && (attrs = arena_alloc(&t->arena, b->nattrs * sizeof *attrs)) == NULL)
        return oom(b, err);
    if (b->nsys > 0)
        memcpy(sys, b->sys, b->nsys * sizeof *sys);
    if (b->nattrs > 0) {
        memcpy(attrs, b->attrs, b->nattrs * sizeof *attrs);
        qsort(attrs, b->nattrs, sizeof *attrs, kv_cmp);
    }
    hf_facility *f = &t->v[t->n];
    memset(f, 0, sizeof *f);
    static const char empty[1] = "";
    hf_span *dst[HF_FAC_NFIELDS] = {&f->rec.facility_id, &f->rec.name,      &f->rec.organization,
                                    &f->rec.npi,         &f->rec.time_zone, &f->rec.region};
    for (int i = 0; i < HF_FAC_NFIELDS; i++)
        *dst[i] = b->fields[i].len > 0 ? b->fields[i] : (hf_span){empty, 0};
    f->rec.source_systems.v = sys;
    f->rec.source_systems.n = b->nsys;
    f->rec.attributes.v = attrs;
    f->rec.attributes.n = b->nattrs;
    f->tz = tz;
    t->labels[t->n] = b->label;
    index_put(t, t->n);
    t->n++;
    b->in_entry = false;
    return HF_OK;
}

hf_status hf_facility_builder_finish(hf_facility_builder *b, hf_facility_table **out, hf_err *err) {
    *out = NULL;
    if (!builder_usable(b, err, false)) {
        hf_status st = err != NULL ? err->st : HF_EFATAL;
        hf_facility_builder_free(b);
        return st;
    }
    *out = b->t;
    b->t = NULL;
    hf_facility_builder_free(b);
    return HF_OK;
}
