/* profile_compile.c - turns the loader's raw form (pb) into an immutable
 * rule set: numbers the segment IDs, builds the sorted code tables,
 * resolves table names, rejects duplicate keys and clashing rules, compiles
 * each section's structure and merges the global field rules into every
 * section (a section's rule for a path replaces the global ones for it).
 * All cross-line errors are found here and name the file:line of the rule
 * or key at fault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_internal.h"

static hf_status oom(pb *b) {
    return hf_err_set(b->err, HF_ENOMEM, "out of memory compiling profile rules");
}

/* ------------------------------------------------------------ symbols */

static hf_status add_sym(pb *b, hf_profile *rs, const char *id, const pb_tok *at) {
    uint32_t key = pf_pack_id(id);
    if (pf_sym_find(rs, key) != PF_NO_SYM)
        return HF_OK;
    if (rs->nsym >= PF_MAX_SYMS)
        return pb_fail(b, at, "more than %d distinct segment IDs in the rules", PF_MAX_SYMS);
    uint32_t h = pf_hash(key);
    while (rs->slot[h] != 0)
        h = (h + 1) & (PF_HASH_SLOTS - 1);
    rs->sym_key[rs->nsym] = key;
    rs->slot[h] = (uint16_t)(++rs->nsym);
    return HF_OK;
}

static hf_status number_symbols(pb *b, hf_profile *rs) {
    rs->sym_key = pf_arena_alloc(&rs->arena, PF_MAX_SYMS * sizeof *rs->sym_key);
    if (rs->sym_key == NULL)
        return oom(b);
    hf_status st;
    for (size_t i = 0; i < b->nrules; i++)
        if ((st = add_sym(b, rs, b->rules[i].seg, &b->rules[i].at)) != HF_OK)
            return st;
    for (size_t i = 0; i < b->nsects; i++)
        for (size_t k = 0; k < b->sects[i].ntoks; k++) {
            const pb_tok *t = &b->sects[i].toks[k];
            if (t->len == 3 && t->p[0] >= 'A' && t->p[0] <= 'Z') /* validated later */
                if ((st = add_sym(b, rs, t->p, t)) != HF_OK)
                    return st;
        }
    return HF_OK;
}

/* ------------------------------------------------------------- tables */

static int span_cmp(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn;
}

/* Codes sort by length first: lookups compare one byte count, then bytes. */
static int code_cmp(const char *a, size_t an, const char *b, size_t bn) {
    if (an != bn)
        return an < bn ? -1 : 1;
    return memcmp(a, b, an);
}

static int pb_code_cmp(const void *x, const void *y) {
    const pb_code *a = x, *b = y;
    int c = span_cmp(a->table.p, a->table.len, b->table.p, b->table.len);
    if (c != 0)
        return c;
    return code_cmp(a->code.p, a->code.len, b->code.p, b->code.len);
}

static hf_status build_tables(pb *b, hf_profile *rs) {
    if (b->ncodes == 0)
        return HF_OK;
    qsort(b->codes, b->ncodes, sizeof *b->codes, pb_code_cmp);
    size_t nt = 1;
    for (size_t i = 1; i < b->ncodes; i++)
        if (span_cmp(b->codes[i].table.p, b->codes[i].table.len, b->codes[i - 1].table.p,
                     b->codes[i - 1].table.len) != 0)
            nt++;
    rs->tables = pf_arena_alloc(&rs->arena, nt * sizeof *rs->tables);
    if (rs->tables == NULL)
        return oom(b);
    for (size_t i = 0; i < b->ncodes;) {
        size_t j = i;
        while (j < b->ncodes && span_cmp(b->codes[j].table.p, b->codes[j].table.len,
                                         b->codes[i].table.p, b->codes[i].table.len) == 0)
            j++;
        pf_table *t = &rs->tables[rs->ntables++];
        t->name = pf_arena_strndup(&rs->arena, b->codes[i].table.p, b->codes[i].table.len);
        uint32_t slots = 4;
        while (slots < 2 * (j - i))
            slots *= 2;
        t->hmask = slots - 1;
        t->shortk = pf_arena_alloc(&rs->arena, slots * sizeof *t->shortk);
        t->lcode = pf_arena_alloc(&rs->arena, (j - i) * sizeof *t->lcode);
        t->llen = pf_arena_alloc(&rs->arena, j - i);
        if (t->name == NULL || t->shortk == NULL || t->lcode == NULL || t->llen == NULL)
            return oom(b);
        for (size_t k = i; k < j; k++) {
            const pb_tok *c = &b->codes[k].code;
            if (k > i && code_cmp(b->codes[k - 1].code.p, b->codes[k - 1].code.len, c->p,
                                  c->len) == 0)
                continue; /* listed twice: harmless */
            t->n++;
            if (c->len == 1) {
                unsigned char x = (unsigned char)c->p[0];
                t->one[x >> 6] |= (uint64_t)1 << (x & 63);
            } else if (c->len <= 7) {
                uint64_t key = pf_pack_code(c->p, c->len);
                uint32_t h = pf_code_slot(key, t->hmask);
                while (t->shortk[h] != 0)
                    h = (h + 1) & t->hmask;
                t->shortk[h] = key;
                t->nshort++;
            } else {
                t->lcode[t->nlong] = pf_arena_strndup(&rs->arena, c->p, c->len);
                if (t->lcode[t->nlong] == NULL)
                    return oom(b);
                t->llen[t->nlong++] = (uint8_t)c->len;
            }
        }
        i = j;
    }
    return HF_OK;
}

static int32_t find_table(const hf_profile *rs, const pb_tok *name) {
    for (uint32_t i = 0; i < rs->ntables; i++)
        if (strlen(rs->tables[i].name) == name->len &&
            memcmp(rs->tables[i].name, name->p, name->len) == 0)
            return (int32_t)i;
    return -1;
}

/* --------------------------------------------------------------- rules */

static int rule_path_cmp(const pb_rule *a, const pb_rule *b) {
    int c = memcmp(a->seg, b->seg, 3);
    if (c != 0)
        return c;
    if (a->r.field != b->r.field)
        return a->r.field < b->r.field ? -1 : 1;
    if (a->r.comp != b->r.comp)
        return a->r.comp < b->r.comp ? -1 : 1;
    return 0;
}

static int pb_rule_ptr_cmp(const void *x, const void *y) {
    const pb_rule *a = *(pb_rule *const *)x, *b = *(pb_rule *const *)y;
    if (a->sect != b->sect)
        return a->sect < b->sect ? -1 : 1;
    int c = rule_path_cmp(a, b);
    if (c != 0)
        return c;
    return a < b ? -1 : a > b; /* file order: stable */
}

static int overlap(const pf_rule *a, const pf_rule *b) {
    unsigned alo = a->vmin, ahi = a->vmax;
    unsigned blo = b->vmin, bhi = b->vmax;
    return alo <= bhi && blo <= ahi;
}

/* Resolves tables and rejects two rules for one path and scope whose
 * version ranges overlap. Leaves *sorted ordered by (section, path). */
static hf_status check_rules(pb *b, hf_profile *rs, pb_rule ***sorted) {
    for (size_t i = 0; i < b->nrules; i++) {
        pb_rule *r = &b->rules[i];
        r->r.scan = r->r.comp != 0 || r->r.check != PF_CK_NONE || r->table.len != 0 ||
                    r->r.maxlen != 0 || r->r.maxreps != 0;
        if (r->r.vmax == 0)
            r->r.vmax = 0xffff; /* open: above PF_VERSION_UNKNOWN */
        if (!r->r.scan && r->r.usage != PF_USE_X)
            r->r.fast = PF_FAST_PRESENT;
        else if (r->r.usage == PF_USE_X)
            r->r.fast = PF_FAST_NONE;
        else if (r->r.comp == 0 && (r->r.check == PF_CK_NONE || r->table.len == 0))
            r->r.fast = PF_FAST_FIELD;
        else if (r->r.comp != 0 && r->r.check == PF_CK_NONE)
            r->r.fast = PF_FAST_COMP;
        if (r->table.len == 0)
            continue;
        r->r.table = find_table(rs, &r->table);
        if (r->r.table < 0)
            return pb_fail(b, &r->table, "unknown table '%.*s' (no table line defines it)",
                           (int)r->table.len, r->table.p);
    }
    pb_rule **v = malloc((b->nrules ? b->nrules : 1) * sizeof *v);
    if (v == NULL)
        return oom(b);
    for (size_t i = 0; i < b->nrules; i++)
        v[i] = &b->rules[i];
    qsort(v, b->nrules, sizeof *v, pb_rule_ptr_cmp);
    *sorted = v;
    for (size_t i = 0; i < b->nrules; i++)
        for (size_t j = i + 1; j < b->nrules && v[j]->sect == v[i]->sect &&
                               rule_path_cmp(v[j], v[i]) == 0;
             j++)
            if (overlap(&v[i]->r, &v[j]->r))
                return pb_fail(b, &v[j]->at,
                               "second rule for %.*s in the same scope and versions "
                               "(first on line %u of %s)",
                               (int)v[j]->at.len, v[j]->at.p, v[i]->at.line,
                               b->files[v[i]->at.file]);
    return HF_OK;
}

/* True when section @p sect (index in b->sects) has its own rule for the
 * path of global rule @p g. v is sorted by (section, path). */
static bool overridden(pb_rule **v, size_t n, const pb_rule *g, int32_t sect) {
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first rule of the section at or after g's path */
        size_t mid = (lo + hi) / 2;
        int c = v[mid]->sect != sect ? (v[mid]->sect < sect ? -1 : 1) : rule_path_cmp(v[mid], g);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo]->sect == sect && rule_path_cmp(v[lo], g) == 0;
}

/* Fills sect->rbeg/rules from the global rules and those of raw section
 * @p sect (-1: none). */
static hf_status merge_rules(pb *b, hf_profile *rs, pb_rule **v, int32_t sect, pf_sect *out) {
    size_t n = b->nrules;
    uint32_t *count = pf_arena_alloc(&rs->arena, (rs->nsym + 1) * sizeof *count);
    if (count == NULL)
        return oom(b);
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const pb_rule *r = v[i];
            if (r->sect != -1 && r->sect != sect)
                continue;
            if (r->sect == -1 && sect != -1 && overridden(v, n, r, sect))
                continue;
            uint32_t sym = pf_sym_find(rs, pf_pack_id(r->seg));
            if (pass == 0) {
                count[sym + 1]++;
                total++;
            } else {
                out->rules[count[sym]++] = r->r;
                if (r->r.typed_by != 0)
                    out->tbf[sym] = r->r.typed_by;
            }
        }
        if (pass == 0) {
            for (uint32_t s = 0; s < rs->nsym; s++)
                count[s + 1] += count[s]; /* count[s] = start of s */
            out->rbeg = pf_arena_alloc(&rs->arena, (rs->nsym + 1) * sizeof *out->rbeg);
            out->rules = pf_arena_alloc(&rs->arena, (total ? total : 1) * sizeof *out->rules);
            out->tbf = pf_arena_alloc(&rs->arena, (rs->nsym + 1) * sizeof *out->tbf);
            if (out->rbeg == NULL || out->rules == NULL || out->tbf == NULL)
                return oom(b);
            memcpy(out->rbeg, count, (rs->nsym + 1) * sizeof *count);
        }
    }
    /* v is ordered by path within a scope, but globals and section rules
     * interleave: sort each symbol's run by (field, comp) for wire order */
    for (uint32_t s = 0; s < rs->nsym; s++) {
        pf_rule *a = out->rules + out->rbeg[s];
        size_t k = out->rbeg[s + 1] - out->rbeg[s];
        for (size_t i = 1; i < k; i++) { /* insertion sort: runs are short */
            pf_rule x = a[i];
            size_t j = i;
            while (j > 0 && (a[j - 1].field > x.field ||
                             (a[j - 1].field == x.field && a[j - 1].comp > x.comp))) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
    }
    return HF_OK;
}

/* ---------------------------------------------------------------- keys */

typedef struct key_tmp {
    const pb_tok *tok;
    uint32_t sect;
} key_tmp;

static int key_tmp_cmp(const void *x, const void *y) {
    const key_tmp *a = x, *b = y;
    int c = span_cmp(a->tok->p, a->tok->len, b->tok->p, b->tok->len);
    if (c != 0)
        return c;
    if (a->tok->file != b->tok->file)
        return a->tok->file < b->tok->file ? -1 : 1;
    return a->tok->line < b->tok->line ? -1 : a->tok->line > b->tok->line;
}

static hf_status build_keys(pb *b, hf_profile *rs) {
    size_t n = 0;
    for (size_t i = 0; i < b->nsects; i++)
        n += b->sects[i].nkeys;
    if (n == 0)
        return HF_OK;
    key_tmp *k = malloc(n * sizeof *k);
    if (k == NULL)
        return oom(b);
    n = 0;
    for (size_t i = 0; i < b->nsects; i++)
        for (size_t j = 0; j < b->sects[i].nkeys; j++)
            k[n++] = (key_tmp){&b->sects[i].keys[j], (uint32_t)i + 1};
    qsort(k, n, sizeof *k, key_tmp_cmp);
    hf_status st = HF_OK;
    rs->keys = pf_arena_alloc(&rs->arena, n * sizeof *rs->keys);
    if (rs->keys == NULL)
        st = oom(b);
    for (size_t i = 0; st == HF_OK && i < n; i++) {
        const pb_tok *t = k[i].tok;
        if (i > 0 && span_cmp(t->p, t->len, k[i - 1].tok->p, k[i - 1].tok->len) == 0) {
            st = pb_fail(b, t, "message key '%.*s' already used on line %u of %s", (int)t->len,
                         t->p, k[i - 1].tok->line, b->files[k[i - 1].tok->file]);
            break;
        }
        pf_key *o = &rs->keys[rs->nkeys++];
        o->text = pf_arena_strndup(&rs->arena, t->p, t->len);
        o->len = t->len;
        o->sect = k[i].sect;
        if (o->text == NULL)
            st = oom(b);
        else if (t->len == 1 && t->p[0] == '*')
            rs->star = (int32_t)k[i].sect;
    }
    free(k);
    if (st == HF_OK) {
        uint32_t slots = 4;
        while (slots < 2 * rs->nkeys)
            slots *= 2;
        rs->kmask = slots - 1;
        rs->kslot = pf_arena_alloc(&rs->arena, slots * sizeof *rs->kslot);
        if (rs->kslot == NULL)
            return oom(b);
        for (uint32_t i = 0; i < rs->nkeys; i++) {
            const pf_key *key = &rs->keys[i];
            uint32_t h = pf_key_hash_more(2166136261u, key->text, key->len) & rs->kmask;
            while (rs->kslot[h] != 0)
                h = (h + 1) & rs->kmask;
            rs->kslot[h] = i + 1;
        }
    }
    rs->info.keys = rs->nkeys;
    return st;
}

/* ------------------------------------------------------------ compile */

hf_status pf_compile(pb *b, hf_profile **out) {
    *out = NULL;
    hf_profile *rs = calloc(1, sizeof *rs);
    if (rs == NULL)
        return oom(b);
    rs->star = -1;
    pb_rule **sorted = NULL;
    hf_status st = number_symbols(b, rs);
    if (st == HF_OK)
        st = build_tables(b, rs);
    if (st == HF_OK)
        st = check_rules(b, rs, &sorted);
    if (st == HF_OK)
        st = build_keys(b, rs);
    if (st == HF_OK) {
        rs->nsects = (uint32_t)b->nsects + 1;
        rs->sects = pf_arena_alloc(&rs->arena, rs->nsects * sizeof *rs->sects);
        if (rs->sects == NULL)
            st = oom(b);
    }
    for (uint32_t i = 0; st == HF_OK && i < rs->nsects; i++) {
        pf_sect *s = &rs->sects[i];
        if (i == 0) {
            s->label = "";
            st = merge_rules(b, rs, sorted, -1, s);
            continue;
        }
        const pb_sect *in = &b->sects[i - 1];
        s->label = in->nkeys > 0 ? pf_arena_strndup(&rs->arena, in->keys[0].p, in->keys[0].len)
                                 : "";
        if (s->label == NULL)
            st = oom(b);
        if (st == HF_OK)
            st = pf_struct_compile(b, in, rs, s);
        if (st == HF_OK)
            st = merge_rules(b, rs, sorted, (int32_t)i - 1, s);
    }
    free(sorted);
    if (st == HF_OK && pf_plan_build(rs) != HF_OK)
        st = oom(b);
    if (st != HF_OK) {
        pf_arena_free(&rs->arena);
        free(rs);
        return st;
    }
    rs->info.sections = b->nsects;
    rs->info.rules = b->nrules;
    rs->info.tables = rs->ntables;
    rs->info.files = b->nfiles;
    *out = rs;
    return HF_OK;
}
