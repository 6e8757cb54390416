/* match_phonetic.c - phonetic codes of names for comparison and blocking:
 * American Soundex and NYSIIS (contract in match.h).
 *
 * Soundex follows the US National Archives rules: keep the first letter,
 * code the rest (BFPV 1, CGJKQSXZ 2, DT 3, L 4, MN 5, R 6), drop vowels
 * but let them separate equal codes, let H and W not separate them, pad
 * with zeros to four characters. NYSIIS follows Taft's 1970 report: the
 * prefix and suffix rewrites, then a left-to-right pass of letter rewrites
 * that never repeats the last key letter, then the S / AY / A end rules;
 * the key is cut to six characters as in the original. Only ASCII letters
 * count; anything else in the input is skipped.
 */
#include "hl7flow/match.h"

#include <stdbool.h>
#include <string.h>

/* Upper-case ASCII letters of @p in into @p out (at most cap - 1), NUL
 * terminated; returns their number. */
static size_t letters(hf_span in, char *out, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < in.len && n + 1 < cap; i++) {
        char c = in.p[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c >= 'A' && c <= 'Z')
            out[n++] = c;
    }
    out[n] = 0;
    return n;
}

static char soundex_code(char c) {
    switch (c) {
    case 'B': case 'F': case 'P': case 'V':
        return '1';
    case 'C': case 'G': case 'J': case 'K': case 'Q': case 'S': case 'X': case 'Z':
        return '2';
    case 'D': case 'T':
        return '3';
    case 'L':
        return '4';
    case 'M': case 'N':
        return '5';
    case 'R':
        return '6';
    default:
        return '0'; /* vowels, Y, and H/W (handled by the caller) */
    }
}

void hf_match_soundex(hf_span name, char out[5]) {
    char l[HF_MATCH_STR_MAX + 1];
    size_t n = letters(name, l, sizeof l);
    if (n == 0) {
        out[0] = 0;
        return;
    }
    size_t k = 0;
    out[k++] = l[0];
    char prev = soundex_code(l[0]);
    for (size_t i = 1; i < n && k < 4; i++) {
        if (l[i] == 'H' || l[i] == 'W')
            continue; /* does not separate two equal codes */
        char c = soundex_code(l[i]);
        if (c != '0' && c != prev)
            out[k++] = c;
        prev = c;
    }
    while (k < 4)
        out[k++] = '0';
    out[4] = 0;
}

static bool vowel(char c) { return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U'; }

static bool starts(const char *s, size_t n, const char *pre) {
    size_t k = strlen(pre);
    return n >= k && memcmp(s, pre, k) == 0;
}

static bool ends(const char *s, size_t n, const char *suf) {
    size_t k = strlen(suf);
    return n >= k && memcmp(s + n - k, suf, k) == 0;
}

void hf_match_nysiis(hf_span name, char out[7]) {
    char s[HF_MATCH_STR_MAX + 1];
    size_t n = letters(name, s, sizeof s);
    out[0] = 0;
    if (n == 0)
        return;
    /* 1. first letters */
    if (starts(s, n, "MAC"))
        memcpy(s, "MCC", 3);
    else if (starts(s, n, "KN"))
        memcpy(s, "NN", 2);
    else if (s[0] == 'K')
        s[0] = 'C';
    else if (starts(s, n, "PH") || starts(s, n, "PF"))
        memcpy(s, "FF", 2);
    else if (starts(s, n, "SCH"))
        memcpy(s, "SSS", 3);
    /* 2. last letters */
    if (ends(s, n, "EE") || ends(s, n, "IE")) {
        s[n - 2] = 'Y';
        n--;
    } else if (ends(s, n, "DT") || ends(s, n, "RT") || ends(s, n, "RD") || ends(s, n, "NT") ||
               ends(s, n, "ND")) {
        s[n - 2] = 'D';
        n--;
    }
    s[n] = 0;
    /* 3-4. first letter, then rewrite and append the rest */
    char key[HF_MATCH_STR_MAX + 1];
    size_t k = 0;
    key[k++] = s[0];
    for (size_t i = 1; i < n; i++) {
        if (s[i] == 'E' && i + 1 < n && s[i + 1] == 'V') {
            s[i] = 'A';
            s[i + 1] = 'F';
        } else if (vowel(s[i])) {
            s[i] = 'A';
        } else if (s[i] == 'Q') {
            s[i] = 'G';
        } else if (s[i] == 'Z') {
            s[i] = 'S';
        } else if (s[i] == 'M') {
            s[i] = 'N';
        } else if (s[i] == 'K') {
            s[i] = (i + 1 < n && s[i + 1] == 'N') ? 'N' : 'C';
        } else if (s[i] == 'S' && i + 2 < n && s[i + 1] == 'C' && s[i + 2] == 'H') {
            s[i + 1] = s[i + 2] = 'S';
        } else if (s[i] == 'P' && i + 1 < n && s[i + 1] == 'H') {
            s[i] = s[i + 1] = 'F';
        } else if (s[i] == 'H') {
            bool next_nonvowel = i + 1 >= n || !vowel(s[i + 1]);
            if (!vowel(s[i - 1]) || next_nonvowel)
                s[i] = s[i - 1];
        } else if (s[i] == 'W') {
            if (vowel(s[i - 1]))
                s[i] = s[i - 1];
        }
        if (s[i] != key[k - 1])
            key[k++] = s[i];
    }
    /* 5-7. end rules */
    if (k > 1 && key[k - 1] == 'S')
        k--;
    if (k > 2 && key[k - 2] == 'A' && key[k - 1] == 'Y') {
        key[k - 2] = 'Y';
        k--;
    }
    if (k > 1 && key[k - 1] == 'A')
        k--;
    if (k > 6)
        k = 6;
    memcpy(out, key, k);
    out[k] = 0;
}
