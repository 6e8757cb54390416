/* codemap.c - local code -> standard code tables (contract and file format
 * in codemap.h; operator's guide in docs/internals/enrichment.md).
 *
 * Layout of a loaded map: every column value is copied once into one string
 * pool and each row (an entry) keeps offsets into it, so the pool may grow
 * by realloc while loading and lookups hand out spans into it afterwards.
 * An open-addressing hash table (linear probing, at most half full) holds
 * entry indexes keyed by (kind, facility_id, local_system, local_code);
 * kind and system are hashed and compared with ASCII case folded. A lookup
 * hashes each of its four values once and combines them for the four
 * precedence probes (skipping shapes no row has, e.g. facility-specific
 * rows in a map without any), so it costs at most four short probes and no
 * allocation.
 * Reading files and directories is in codemap_load.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codemap_internal.h"

static const char *const col_name[CM_NCOLS] = {
    "kind", "facility_id", "local_system", "local_code", "std_system", "std_code", "std_display"};

/* ------------------------------------------------------------ hashing */

static unsigned char fold(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static uint64_t hash_bytes(const char *p, size_t n, bool fold_case) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        h ^= fold_case ? fold(c) : c;
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t mix(uint64_t x) { /* splitmix64 finalizer */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Combines the four column hashes; the multiplications keep the order of
 * the columns significant, the final mix spreads the bits for the mask. */
static uint64_t key_hash(uint64_t hk, uint64_t hf, uint64_t hs, uint64_t hc) {
    uint64_t h = hk * 0x9E3779B97F4A7C15ull ^ hf;
    h = h * 0xC2B2AE3D27D4EB4Full ^ hs;
    h = h * 0x165667B19E3779F9ull ^ hc;
    return mix(h);
}

/* Which of the four (facility, system) shapes a row has: bit 0 exact+exact,
 * bit 1 exact+'*', bit 2 '*'+exact, bit 3 '*'+'*' (the probe order). */
static unsigned row_shape(hf_span fac, hf_span sys) {
    bool fs = fac.len == 1 && fac.p[0] == '*', ss = sys.len == 1 && sys.p[0] == '*';
    return 1u << ((fs ? 2 : 0) + (ss ? 1 : 0));
}

static bool eq_exact(hf_span a, const char *b, size_t blen) {
    return a.len == blen && (blen == 0 || memcmp(a.p, b, blen) == 0);
}

static bool eq_fold(hf_span a, const char *b, size_t blen) {
    if (a.len != blen)
        return false;
    for (size_t i = 0; i < blen; i++)
        if (fold((unsigned char)a.p[i]) != fold((unsigned char)b[i]))
            return false;
    return true;
}

static hf_span col(const hf_codemap *m, const cm_entry *e, int c) {
    return (hf_span){m->pool + e->off[c], e->len[c]};
}

/* The entry with exactly this key, or NULL. */
static const cm_entry *find(const hf_codemap *m, uint64_t h, hf_span kind, hf_span fac, hf_span sys,
                            hf_span code) {
    if (m->nslots == 0)
        return NULL;
    size_t mask = m->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint32_t s = m->slots[i];
        if (s == 0)
            return NULL;
        const cm_entry *e = &m->entries[s - 1];
        if (e->hash == h && eq_exact(code, m->pool + e->off[COL_CODE], e->len[COL_CODE]) &&
            eq_exact(fac, m->pool + e->off[COL_FAC], e->len[COL_FAC]) &&
            eq_fold(sys, m->pool + e->off[COL_SYS], e->len[COL_SYS]) &&
            eq_fold(kind, m->pool + e->off[COL_KIND], e->len[COL_KIND]))
            return e;
    }
}

/* ------------------------------------------------------------ lookup API */

bool hf_codemap_lookup(const hf_codemap *m, hf_span kind, hf_span facility_id, hf_span local_system,
                       hf_span local_code, hf_codemap_hit *out) {
    if (m->n == 0 || local_code.len == 0)
        return false;
    static const hf_span star = {"*", 1};
    uint64_t hk = hash_bytes(kind.p, kind.len, true);
    uint64_t hf = hash_bytes(facility_id.p, facility_id.len, false);
    uint64_t hs = hash_bytes(local_system.p, local_system.len, true);
    uint64_t hc = hash_bytes(local_code.p, local_code.len, false);
    uint64_t hstar = hash_bytes("*", 1, false);
    const struct {
        hf_span fac, sys;
        uint64_t hf, hs;
    } probe[4] = {{facility_id, local_system, hf, hs},
                  {facility_id, star, hf, hstar},
                  {star, local_system, hstar, hs},
                  {star, star, hstar, hstar}};
    for (int i = 0; i < 4; i++) {
        if (!(m->shapes & (1u << i)))
            continue; /* no row of this shape: skip the probe */
        const cm_entry *e = find(m, key_hash(hk, probe[i].hf, probe[i].hs, hc), kind, probe[i].fac,
                                 probe[i].sys, local_code);
        if (e != NULL) {
            out->system = col(m, e, COL_STD_SYS);
            out->code = col(m, e, COL_STD_CODE);
            out->display = col(m, e, COL_DISPLAY);
            return true;
        }
    }
    return false;
}

size_t hf_codemap_size(const hf_codemap *m) { return m->n; }

const char *hf_codemap_path(const hf_codemap *m) { return m->path; }

void hf_codemap_destroy(hf_codemap *m) {
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nfiles; i++)
        free(m->files[i].path);
    free(m->files);
    free(m->entries);
    free(m->pool);
    free(m->slots);
    free(m->path);
    free(m);
}

/* ------------------------------------------------------------ building */

static hf_status grow_slots(hf_codemap *m, hf_err *err) {
    size_t ns = m->nslots ? m->nslots * 2 : 64;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (slots == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory loading code maps");
    for (size_t k = 0; k < m->n; k++)
        for (size_t i = (size_t)m->entries[k].hash & (ns - 1);; i = (i + 1) & (ns - 1))
            if (slots[i] == 0) {
                slots[i] = (uint32_t)(k + 1);
                break;
            }
    free(m->slots);
    m->slots = slots;
    m->nslots = ns;
    return HF_OK;
}

/* Copies @p s into the pool; its offset goes to *off. */
static hf_status pool_add(hf_codemap *m, hf_span s, uint32_t *off, hf_err *err) {
    if (m->pool_len + s.len >= UINT32_MAX)
        return hf_err_set(err, HF_ELIMIT, "code maps: more than 4 GiB of text");
    if (m->pool_len + s.len > m->pool_cap) {
        size_t nc = m->pool_cap ? m->pool_cap : 4096;
        while (nc < m->pool_len + s.len)
            nc *= 2;
        char *np = realloc(m->pool, nc);
        if (np == NULL)
            return hf_err_set(err, HF_ENOMEM, "out of memory loading code maps");
        m->pool = np;
        m->pool_cap = nc;
    }
    if (s.len)
        memcpy(m->pool + m->pool_len, s.p, s.len);
    *off = (uint32_t)m->pool_len;
    m->pool_len += s.len;
    return HF_OK;
}

/* Adds one row; a duplicate key is an error naming both places. */
static hf_status add_row(hf_codemap *m, const hf_span *v, uint32_t file, uint32_t line,
                         hf_err *err) {
    uint64_t h = key_hash(hash_bytes(v[COL_KIND].p, v[COL_KIND].len, true),
                          hash_bytes(v[COL_FAC].p, v[COL_FAC].len, false),
                          hash_bytes(v[COL_SYS].p, v[COL_SYS].len, true),
                          hash_bytes(v[COL_CODE].p, v[COL_CODE].len, false));
    const cm_entry *dup = find(m, h, v[COL_KIND], v[COL_FAC], v[COL_SYS], v[COL_CODE]);
    if (dup != NULL)
        return hf_err_set(err, HF_ECONFIG,
                          "%s:%u: duplicate of %s:%u (same kind, facility_id, local_system and "
                          "local_code)",
                          m->files[file].path, line, m->files[dup->file].path, dup->line);
    if (m->n >= UINT32_MAX - 1)
        return hf_err_set(err, HF_ELIMIT, "code maps: too many rows");
    if ((m->n + 1) * 2 > m->nslots && grow_slots(m, err) != HF_OK)
        return HF_ENOMEM;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 256;
        cm_entry *ne = realloc(m->entries, nc * sizeof *ne);
        if (ne == NULL)
            return hf_err_set(err, HF_ENOMEM, "out of memory loading code maps");
        m->entries = ne;
        m->cap = nc;
    }
    cm_entry *e = &m->entries[m->n];
    e->hash = h;
    e->file = file;
    e->line = line;
    for (int c = 0; c < CM_NCOLS; c++) {
        hf_status st = pool_add(m, v[c], &e->off[c], err);
        if (st != HF_OK)
            return st;
        e->len[c] = (uint32_t)v[c].len;
    }
    size_t mask = m->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask)
        if (m->slots[i] == 0) {
            m->slots[i] = (uint32_t)(m->n + 1);
            break;
        }
    m->shapes |= row_shape(v[COL_FAC], v[COL_SYS]);
    m->n++;
    return HF_OK;
}

/* ------------------------------------------------------------ parsing */

/* Length of the valid UTF-8 prefix of p[0..n) (n when all valid): no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_valid_prefix(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (k >= n - i) /* truncated sequence */
            return i;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += k + 1;
    }
    return n;
}

static hf_span trim_spaces(hf_span s) {
    while (s.len > 0 && s.p[0] == ' ')
        s.p++, s.len--;
    while (s.len > 0 && s.p[s.len - 1] == ' ')
        s.len--;
    return s;
}

static bool is_word(hf_span s) {
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static bool is_star(hf_span s) { return s.len == 1 && s.p[0] == '*'; }

/* Parses one line (without its line end) of file @p file. */
static hf_status parse_line(hf_codemap *m, hf_span ln, uint32_t file, uint32_t line, hf_err *err) {
    const char *where = m->files[file].path;
    size_t i = 0;
    while (i < ln.len && (ln.p[i] == ' ' || ln.p[i] == '\t'))
        i++;
    if (i == ln.len || ln.p[i] == '#')
        return HF_OK; /* blank or comment */

    size_t valid = utf8_valid_prefix((const unsigned char *)ln.p, ln.len);
    if (valid != ln.len)
        return hf_err_set(err, HF_ECONFIG, "%s:%u: not valid UTF-8 (byte %zu of the line)", where,
                          line, valid + 1);
    for (size_t k = 0; k < ln.len; k++) {
        unsigned char c = (unsigned char)ln.p[k];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return hf_err_set(err, HF_ECONFIG,
                              "%s:%u: control character 0x%02X (byte %zu of the line)", where, line,
                              c, k + 1);
    }

    hf_span v[CM_NCOLS];
    size_t ncols = 0, start = 0;
    for (size_t k = 0; k <= ln.len; k++) {
        if (k < ln.len && ln.p[k] != '\t')
            continue;
        if (ncols < CM_NCOLS)
            v[ncols] = trim_spaces((hf_span){ln.p + start, k - start});
        ncols++;
        start = k + 1;
    }
    if (ncols != CM_NCOLS)
        return hf_err_set(
            err, HF_ECONFIG,
            "%s:%u: %zu column%s, expected 7 separated by tabs (kind, facility_id, "
            "local_system, local_code, std_system, std_code, std_display)%s",
            where, line, ncols, ncols == 1 ? "" : "s",
            ncols == 1 && memchr(ln.p, ' ', ln.len) ? "; spaces do not separate columns" : "");
    for (int c = 0; c < CM_NCOLS; c++) {
        if (c != COL_DISPLAY && v[c].len == 0)
            return hf_err_set(err, HF_ECONFIG, "%s:%u: empty %s", where, line, col_name[c]);
        if (v[c].len > CM_MAX_FIELD)
            return hf_err_set(err, HF_ECONFIG, "%s:%u: %s longer than %d bytes", where, line,
                              col_name[c], CM_MAX_FIELD);
    }
    if (!is_word(v[COL_KIND]))
        return hf_err_set(err, HF_ECONFIG,
                          "%s:%u: kind must be a word of letters, digits, '.', '_' or '-' "
                          "(observation, order, unit, ...)",
                          where, line);
    static const int no_star[] = {COL_CODE, COL_STD_SYS, COL_STD_CODE};
    for (size_t k = 0; k < sizeof no_star / sizeof no_star[0]; k++)
        if (is_star(v[no_star[k]]))
            return hf_err_set(err, HF_ECONFIG,
                              "%s:%u: %s cannot be '*' (only facility_id and local_system take the "
                              "wildcard)",
                              where, line, col_name[no_star[k]]);
    return add_row(m, v, file, line, err);
}

hf_status cm_parse_text(hf_codemap *m, const char *text, size_t len, uint32_t file, hf_err *err) {
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* UTF-8 byte order mark */
    uint32_t line = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t stop = end;
        if (stop > pos && text[stop - 1] == '\r')
            stop--;
        line++;
        hf_status st = parse_line(m, (hf_span){text + pos, stop - pos}, file, line, err);
        if (st != HF_OK)
            return st;
        pos = end + 1;
    }
    return HF_OK;
}
