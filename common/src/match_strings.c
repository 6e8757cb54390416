/* match_strings.c - string comparators for patient matching: Jaro,
 * Jaro-Winkler and the optimal-string-alignment edit distance (contract
 * in match.h).
 *
 * Written from the published definitions: Jaro (1989) counts characters
 * that agree within a window of max(|a|,|b|)/2 - 1 positions, and half
 * the number of those that are out of order (transpositions); Winkler
 * (1990) adds l * 0.1 * (1 - jaro) for a common prefix of l <= 4
 * characters. Inputs are cut to HF_MATCH_STR_MAX (64) bytes so the matched
 * positions fit in one 64-bit mask per side and the cost is bounded.
 */
#include "hl7flow/match.h"

#include <stdint.h>
#include <string.h>

static size_t clip(size_t n) { return n < HF_MATCH_STR_MAX ? n : HF_MATCH_STR_MAX; }

double hf_match_jaro(hf_span a, hf_span b) {
    size_t na = clip(a.len), nb = clip(b.len);
    if (na == 0 && nb == 0)
        return 1.0;
    if (na == 0 || nb == 0)
        return 0.0;
    size_t longer = na > nb ? na : nb;
    size_t window = longer / 2 > 0 ? longer / 2 - 1 : 0;
    /* pos[c]: bit j set when b[j] == c. The first free position of b in
     * a[i]'s window that holds a[i] is then the lowest set bit of
     * pos[a[i]] & window & ~taken, with no inner loop.
     * Only the entries of bytes present in b are set (and read), which
     * saves clearing the whole table on every call. */
    uint64_t pos[256], present[4] = {0, 0, 0, 0};
    for (size_t j = 0; j < nb; j++) {
        unsigned c = (unsigned char)b.p[j];
        if (!(present[c >> 6] >> (c & 63) & 1)) {
            present[c >> 6] |= (uint64_t)1 << (c & 63);
            pos[c] = 0;
        }
        pos[c] |= (uint64_t)1 << j;
    }
    uint64_t fa = 0, fb = 0;
    size_t matches = 0;
    for (size_t i = 0; i < na; i++) {
        size_t lo = i > window ? i - window : 0;
        size_t hi = i + window + 1 < nb ? i + window + 1 : nb; /* exclusive */
        if (lo >= hi)
            continue;
        uint64_t win = (hi - lo >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << (hi - lo)) - 1)) << lo;
        unsigned c = (unsigned char)a.p[i];
        if (!(present[c >> 6] >> (c & 63) & 1))
            continue;
        uint64_t cand = pos[c] & win & ~fb;
        if (cand) {
            fb |= cand & (~cand + 1); /* lowest set bit */
            fa |= (uint64_t)1 << i;
            matches++;
        }
    }
    if (matches == 0)
        return 0.0;
    /* Transpositions: matched characters taken in order on both sides. */
    size_t half = 0;
    uint64_t xa = fa, xb = fb;
    while (xa) {
        int i = __builtin_ctzll(xa), j = __builtin_ctzll(xb);
        if (a.p[i] != b.p[j])
            half++;
        xa &= xa - 1;
        xb &= xb - 1;
    }
    double m = (double)matches;
    double t = (double)(half / 2);
    return (m / (double)na + m / (double)nb + (m - t) / m) / 3.0;
}

double hf_match_jaro_winkler(hf_span a, hf_span b) {
    double j = hf_match_jaro(a, b);
    size_t na = clip(a.len), nb = clip(b.len), l = 0;
    while (l < 4 && l < na && l < nb && a.p[l] == b.p[l])
        l++;
    return j + (double)l * 0.1 * (1.0 - j);
}

unsigned hf_match_osa_distance(hf_span a, hf_span b, unsigned cap) {
    size_t na = clip(a.len), nb = clip(b.len);
    size_t diff = na > nb ? na - nb : nb - na;
    if (diff >= cap)
        return cap;
    /* Three rows of the dynamic programme: two back for transpositions. */
    unsigned r0[HF_MATCH_STR_MAX + 1], r1[HF_MATCH_STR_MAX + 1], r2[HF_MATCH_STR_MAX + 1];
    unsigned *pp = r0, *prev = r1, *cur = r2;
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (unsigned)i;
        unsigned row_min = cur[0];
        for (size_t j = 1; j <= nb; j++) {
            unsigned cost = a.p[i - 1] == b.p[j - 1] ? 0u : 1u;
            unsigned v = prev[j - 1] + cost;
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a.p[i - 1] == b.p[j - 2] && a.p[i - 2] == b.p[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
            if (v < row_min)
                row_min = v;
        }
        if (row_min >= cap)
            return cap;
        unsigned *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[nb] < cap ? prev[nb] : cap;
}
