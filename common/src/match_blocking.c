/* match_blocking.c - blocking keys: which stored records are worth
 * comparing with a new one (contract in match.h).
 *
 * Comparing every pair is quadratic, so records are compared only when
 * they share a key. One key per rule would lose every true match whose
 * blocking field carries a typo; several rules over different fields,
 * unioned, lose a match only when every rule's fields are damaged at once.
 * Each key starts with its rule's letter so rules never collide.
 */
#include "hl7flow/match.h"

#include <string.h>

/* Appends the key rule + p1|p2|p3 (NULL parts left out), cut to
 * HF_MATCH_KEY_MAX - 1 bytes. Skips the key when a given part is empty, and
 * a key already in @p out. */
static void add(hf_match_key *out, size_t *n, char rule, const char *p1, const char *p2, const char *p3) {
    const char *parts[3] = {p1, p2, p3};
    char buf[HF_MATCH_KEY_MAX];
    size_t k = 0;
    buf[k++] = rule;
    for (size_t i = 0; i < 3; i++) {
        if (!parts[i])
            continue;
        size_t len = strlen(parts[i]);
        if (len == 0)
            return;
        if (k + len + 1 > sizeof buf)
            len = sizeof buf - 1 - k;
        memcpy(buf + k, parts[i], len);
        k += len;
        if (i + 1 < 3 && parts[i + 1] && k + 1 < sizeof buf)
            buf[k++] = '|';
    }
    buf[k] = 0;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(out[i].s, buf) == 0)
            return; /* same key twice (given == family) */
    memcpy(out[*n].s, buf, k + 1);
    (*n)++;
}

size_t hf_match_block_keys(const hf_match_rec *r, hf_match_key out[HF_MATCH_MAX_KEYS]) {
    size_t n = 0;
    const hf_match_text *f = r->f;
    char year[5] = "", gi[2] = "", fi[2] = "", li[2] = "";
    if (f[HF_MC_DOB].len == 8) {
        memcpy(year, f[HF_MC_DOB].s, 4);
        year[4] = 0;
    }
    gi[0] = f[HF_MC_GIVEN].s[0];
    fi[0] = f[HF_MC_FAMILY].s[0];
    li[0] = f[HF_MC_LOCALITY].s[0];

    if (f[HF_MC_SSN].len >= 4)
        add(out, &n, 'S', f[HF_MC_SSN].s, NULL, NULL);
    add(out, &n, 'D', f[HF_MC_DOB].s, NULL, NULL);
    add(out, &n, 'F', r->sdx_family, year, NULL);
    add(out, &n, 'F', r->sdx_given, year, NULL);
    add(out, &n, 'P', f[HF_MC_POSTCODE].s, gi, NULL);
    add(out, &n, 'P', f[HF_MC_POSTCODE].s, fi, NULL);
    /* Both name codes in a fixed order, so a swap gives the same key. */
    int swap = strcmp(r->sdx_given, r->sdx_family) > 0;
    add(out, &n, 'N', swap ? r->sdx_family : r->sdx_given, swap ? r->sdx_given : r->sdx_family, li);
    add(out, &n, 'A', f[HF_MC_STREET_NO].s, f[HF_MC_POSTCODE].s, NULL);
    return n;
}
