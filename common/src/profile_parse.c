/* profile_parse.c - reads rule-file text into the loader's raw form (pb):
 * one directive per line, whitespace-separated tokens, '#' to the end of
 * the line is a comment. The grammar is in docs/internals/profile.md:
 *
 *   table NAME CODE...             codes of an HL7 table (lines append)
 *   message KEY...                 starts a message section (KEY: TYPE^EVENT,
 *                                  TYPE^* or *); ends at the next message,
 *                                  global, or the end of the file
 *   structure ITEMS...             the section's abstract message syntax
 *                                  (lines concatenate)
 *   field SEG-F[.C] TYPE USAGE [len N] [reps N] [table NAME] [since V]
 *         [until V] [typed-by F]   a field or component rule
 *   global                         back to rules for every message
 *
 * Everything here is syntax; cross-line checks (unknown tables, duplicate
 * keys and rules, the structure grammar) happen in pf_compile. Errors name
 * "file:line" and stop the load at the first one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_internal.h"

void *pb_push(void *arrp, size_t *n, size_t *cap, size_t size) {
    void **arr = arrp;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *na = realloc(*arr, nc * size);
        if (na == NULL)
            return NULL;
        *arr = na;
        *cap = nc;
    }
    char *e = (char *)*arr + (*n)++ * size;
    memset(e, 0, size);
    return e;
}

void pb_free(pb *b) {
    for (size_t i = 0; i < b->nsects; i++) {
        free(b->sects[i].keys);
        free(b->sects[i].toks);
    }
    for (size_t i = 0; i < b->nfiles; i++)
        free((void *)b->files[i]);
    for (size_t i = 0; i < b->nbufs; i++)
        free(b->bufs[i]);
    free(b->files);
    free(b->bufs);
    free(b->rules);
    free(b->sects);
    free(b->codes);
    memset(b, 0, sizeof *b);
}

hf_status pb_fail(pb *b, const pb_tok *at, const char *fmt, ...) {
    if (b->err == NULL)
        return HF_ECONFIG;
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *file = at != NULL && at->file < b->nfiles ? b->files[at->file] : "rules";
    return hf_err_set(b->err, HF_ECONFIG, "%s:%u: %s", file, at != NULL ? at->line : 0, what);
}

static hf_status oom(pb *b) {
    return hf_err_set(b->err, HF_ENOMEM, "out of memory loading profile rules");
}

/* ------------------------------------------------------------- tokens */

static int tok_is(const pb_tok *t, const char *s) {
    return t->len == strlen(s) && memcmp(t->p, s, t->len) == 0;
}

static int is_upper_digit(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Reads a decimal number of at most 9 digits in 1..max. */
static int tok_uint(const pb_tok *t, uint32_t max, uint32_t *out) {
    if (t->len == 0 || t->len > 9)
        return 0;
    uint32_t v = 0;
    for (uint32_t i = 0; i < t->len; i++) {
        if (t->p[i] < '0' || t->p[i] > '9')
            return 0;
        v = v * 10 + (uint32_t)(t->p[i] - '0');
    }
    if (v < 1 || v > max)
        return 0;
    *out = v;
    return 1;
}

/* A segment ID: an uppercase letter, then two uppercase letters or digits. */
static int seg_id_ok(const char *p, size_t n) {
    return n == 3 && p[0] >= 'A' && p[0] <= 'Z' && is_upper_digit(p[1]) && is_upper_digit(p[2]);
}

/* Shown in errors: the token, cut to a readable length. */
#define TOKF "'%.*s'"
#define TOKA(t) (int)((t)->len < 40 ? (t)->len : 40), (t)->p

/* First byte of the @p n bytes at @p p that is in @p set, or NULL. */
static const char *strpbrk_n(const char *p, size_t n, const char *set) {
    for (size_t i = 0; i < n; i++)
        if (strchr(set, p[i]) != NULL)
            return p + i;
    return NULL;
}

/* ---------------------------------------------------------- directives */

typedef struct pline {
    pb *b;
    uint32_t file;
    int32_t *sect;  /* current section, -1 global */
    pb_tok *t;      /* tokens of the line */
    size_t n;
} pline;

static hf_status do_table(pline *L) {
    pb *b = L->b;
    if (L->n < 3)
        return pb_fail(b, &L->t[0], "table needs a name and at least one code");
    const pb_tok *name = &L->t[1];
    if (name->len > PF_MAX_NAME)
        return pb_fail(b, name, "table name longer than %d characters", PF_MAX_NAME);
    for (uint32_t i = 0; i < name->len; i++) {
        char c = name->p[i];
        if (!is_upper_digit(c) && !(c >= 'a' && c <= 'z') && c != '_' && c != '-' && c != '.')
            return pb_fail(b, name, "table name " TOKF " may hold only letters, digits, _ - .",
                           TOKA(name));
    }
    for (size_t i = 2; i < L->n; i++) {
        if (L->t[i].len > PF_MAX_CODE)
            return pb_fail(b, &L->t[i], "code longer than %d bytes", PF_MAX_CODE);
        if (strpbrk_n(L->t[i].p, L->t[i].len, "|^~\\&") != NULL)
            return pb_fail(b, &L->t[i], "code " TOKF " holds an HL7 delimiter (| ^ ~ \\ &)",
                           TOKA(&L->t[i]));
        pb_code *c = pb_push(&b->codes, &b->ncodes, &b->capcodes, sizeof *c);
        if (c == NULL)
            return oom(b);
        c->table = *name;
        c->code = L->t[i];
    }
    return HF_OK;
}

static int key_part_ok(const char *p, size_t n, int star_ok) {
    if (star_ok && n == 1 && p[0] == '*')
        return 1;
    if (n == 0 || n > PF_MAX_KEYPART)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_upper_digit(p[i]))
            return 0;
    return 1;
}

static hf_status do_message(pline *L) {
    pb *b = L->b;
    if (L->n < 2)
        return pb_fail(b, &L->t[0], "message needs at least one key (ADT^A01, ADT^*, *)");
    pb_sect *s = pb_push(&b->sects, &b->nsects, &b->capsects, sizeof *s);
    if (s == NULL)
        return oom(b);
    s->at = L->t[0];
    *L->sect = (int32_t)(b->nsects - 1);
    for (size_t i = 1; i < L->n; i++) {
        const pb_tok *k = &L->t[i];
        const char *caret = memchr(k->p, '^', k->len);
        int ok;
        if (caret == NULL)
            ok = k->len == 1 && k->p[0] == '*';
        else
            ok = key_part_ok(k->p, (size_t)(caret - k->p), 0) &&
                 key_part_ok(caret + 1, k->len - (size_t)(caret - k->p) - 1, 1);
        if (!ok)
            return pb_fail(b, k,
                           "bad message key " TOKF ": want TYPE^EVENT, TYPE^* or * "
                           "(TYPE and EVENT: 1 to %d of A-Z 0-9)",
                           TOKA(k), PF_MAX_KEYPART);
        pb_tok *slot = pb_push(&s->keys, &s->nkeys, &s->capkeys, sizeof *slot);
        if (slot == NULL)
            return oom(b);
        *slot = *k;
    }
    return HF_OK;
}

static hf_status do_structure(pline *L) {
    pb *b = L->b;
    if (*L->sect < 0)
        return pb_fail(b, &L->t[0], "structure outside a message section");
    pb_sect *s = &b->sects[*L->sect];
    for (size_t i = 1; i < L->n; i++) {
        const pb_tok *t = &L->t[i];
        for (uint32_t a = 0; a < t->len;) {
            uint32_t e = a;
            if (strchr("[]{}<>|", t->p[a]) != NULL) {
                e = a + 1;
            } else {
                while (e < t->len && strchr("[]{}<>|", t->p[e]) == NULL)
                    e++;
            }
            pb_tok *o = pb_push(&s->toks, &s->ntoks, &s->captoks, sizeof *o);
            if (o == NULL)
                return oom(b);
            *o = (pb_tok){t->p + a, e - a, t->line, t->file};
            a = e;
        }
    }
    return HF_OK;
}

/* "PID-3" or "PID-3.1" */
static hf_status parse_path(pb *b, const pb_tok *t, pb_rule *r) {
    const char *p = t->p, *end = t->p + t->len;
    if (t->len < 5 || !seg_id_ok(p, 3) || p[3] != '-')
        goto bad;
    memcpy(r->seg, p, 3);
    p += 4;
    const char *dot = memchr(p, '.', (size_t)(end - p));
    pb_tok f = {p, (uint32_t)((dot != NULL ? dot : end) - p), t->line, t->file};
    uint32_t v;
    if (!tok_uint(&f, 999, &v))
        goto bad;
    r->r.field = (uint16_t)v;
    if (dot != NULL) {
        pb_tok c = {dot + 1, (uint32_t)(end - dot - 1), t->line, t->file};
        if (!tok_uint(&c, 99, &v))
            goto bad;
        r->r.comp = (uint16_t)v;
    }
    return HF_OK;
bad:
    return pb_fail(b, t, "bad field path " TOKF ": want SEG-F or SEG-F.C (F 1-999, C 1-99)",
                   TOKA(t));
}

static hf_status parse_version(pb *b, const pb_tok *t, int upper, uint16_t *out) {
    unsigned v = pf_version_parse(t->p, t->len);
    if (v == 0)
        return pb_fail(b, t, "bad HL7 version " TOKF ": want 2.N or 2.N.N", TOKA(t));
    if (upper && t->len == 3)
        v += 9; /* "until 2.5" includes 2.5.1 */
    *out = (uint16_t)v;
    return HF_OK;
}

static hf_status do_field(pline *L) {
    pb *b = L->b;
    if (L->n < 4)
        return pb_fail(b, &L->t[0], "field needs a path, a data type and a usage (R, O, X...)");
    pb_rule *r = pb_push(&b->rules, &b->nrules, &b->caprules, sizeof *r);
    if (r == NULL)
        return oom(b);
    r->sect = *L->sect;
    r->at = L->t[1];
    r->r.table = -1;
    hf_status st = parse_path(b, &L->t[1], r);
    if (st != HF_OK)
        return st;

    const pb_tok *ty = &L->t[2];
    int type = pf_type_find(ty->p, ty->len);
    if (type < 0)
        return pb_fail(b, ty, "unknown data type " TOKF, TOKA(ty));
    r->r.type = (uint16_t)type;
    r->r.check = (uint8_t)pf_type_check(type);

    const pb_tok *u = &L->t[3];
    if (tok_is(u, "R"))
        r->r.usage = PF_USE_R;
    else if (tok_is(u, "X"))
        r->r.usage = PF_USE_X;
    else if (tok_is(u, "O") || tok_is(u, "RE") || tok_is(u, "C") || tok_is(u, "CE") ||
             tok_is(u, "B") || tok_is(u, "W"))
        r->r.usage = PF_USE_O;
    else
        return pb_fail(b, u, "unknown usage " TOKF ": want R, RE, O, C, CE, B, W or X", TOKA(u));

    unsigned seen = 0;
    for (size_t i = 4; i < L->n; i += 2) {
        static const char *const opts[] = {"len", "reps", "table", "since", "until", "typed-by"};
        const pb_tok *o = &L->t[i];
        unsigned k = 0;
        while (k < 6 && !tok_is(o, opts[k]))
            k++;
        if (k == 6)
            return pb_fail(b, o, "unknown option " TOKF
                                 ": want len, reps, table, since, until or typed-by",
                           TOKA(o));
        if (seen & (1u << k))
            return pb_fail(b, o, "option %s given twice", opts[k]);
        seen |= 1u << k;
        if (i + 1 >= L->n)
            return pb_fail(b, o, "option %s needs a value", opts[k]);
        const pb_tok *v = &L->t[i + 1];
        uint32_t num;
        switch (k) {
        case 0:
            if (!tok_uint(v, 99999999, &num))
                return pb_fail(b, v, "len wants a number from 1 to 99999999");
            r->r.maxlen = num;
            break;
        case 1:
            if (r->r.comp != 0)
                return pb_fail(b, o, "reps applies to fields, not components");
            if (!tok_uint(v, 99999, &num))
                return pb_fail(b, v, "reps wants a number from 1 to 99999");
            r->r.maxreps = num;
            break;
        case 2:
            if (v->len > PF_MAX_NAME)
                return pb_fail(b, v, "table name longer than %d characters", PF_MAX_NAME);
            r->table = *v;
            break;
        case 3:
            if ((st = parse_version(b, v, 0, &r->r.vmin)) != HF_OK)
                return st;
            break;
        case 4:
            if ((st = parse_version(b, v, 1, &r->r.vmax)) != HF_OK)
                return st;
            break;
        default:
            if (r->r.check != PF_CK_VARIES || r->r.comp != 0)
                return pb_fail(b, o, "typed-by applies to a VARIES field");
            if (!tok_uint(v, 999, &num) || num == r->r.field)
                return pb_fail(b, v, "typed-by wants another field number of the segment");
            r->r.typed_by = (uint16_t)num;
            break;
        }
    }
    if (r->r.check == PF_CK_VARIES && r->r.typed_by == 0)
        return pb_fail(b, ty, "a VARIES field needs typed-by F (the field naming its type)");
    if (r->r.vmin != 0 && r->r.vmax != 0 && r->r.vmin > r->r.vmax)
        return pb_fail(b, &L->t[1], "since is after until");
    return HF_OK;
}

/* ---------------------------------------------------------------- lines */

static hf_status do_line(pline *L) {
    const pb_tok *d = &L->t[0];
    if (tok_is(d, "field"))
        return do_field(L);
    if (tok_is(d, "structure"))
        return do_structure(L);
    if (tok_is(d, "message"))
        return do_message(L);
    if (tok_is(d, "table"))
        return do_table(L);
    if (tok_is(d, "global")) {
        if (L->n != 1)
            return pb_fail(L->b, &L->t[1], "global takes no arguments");
        *L->sect = -1;
        return HF_OK;
    }
    return pb_fail(L->b, d, "unknown directive " TOKF
                            ": want table, message, structure, field or global",
                   TOKA(d));
}

hf_status pb_parse_text(pb *b, uint32_t file, const char *text, size_t len) {
    pb_tok *toks = NULL;
    size_t ntoks = 0, captoks = 0;
    int32_t sect = -1; /* every file starts with global rules */
    hf_status st = HF_OK;
    uint32_t line = 0;
    const char *p = text, *end = text + len;

    while (st == HF_OK && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        line++;
        const char *hash = memchr(p, '#', (size_t)(le - p));
        const char *ce = hash != NULL ? hash : le;
        if (ce > p && ce == le && ce[-1] == '\r')
            ce--; /* CRLF files */
        ntoks = 0;
        for (const char *q = p; q < ce && st == HF_OK;) {
            unsigned char c = (unsigned char)*q;
            if (c == ' ' || c == '\t') {
                q++;
                continue;
            }
            const char *s = q;
            while (q < ce && *q != ' ' && *q != '\t') {
                unsigned char x = (unsigned char)*q;
                if (x < 0x20 || x >= 0x7f) {
                    pb_tok at = {q, 1, line, file};
                    st = pb_fail(b, &at, "control or non-ASCII byte 0x%02x outside a comment", x);
                    break;
                }
                q++;
            }
            if (st != HF_OK)
                break;
            pb_tok *t = pb_push(&toks, &ntoks, &captoks, sizeof *t);
            if (t == NULL) {
                st = oom(b);
                break;
            }
            *t = (pb_tok){s, (uint32_t)(q - s), line, file};
        }
        if (st == HF_OK && ntoks > 0) {
            pline L = {b, file, &sect, toks, ntoks};
            st = do_line(&L);
        }
        p = nl != NULL ? nl + 1 : end;
    }
    free(toks);
    return st;
}
