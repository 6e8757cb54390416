/* match_prepare.c - demographics to a prepared matching record: normalized
 * fields and phonetic codes (contract in match.h).
 *
 * Normalization is deliberately coarse and the same for every source:
 * case, spacing and punctuation are the commonest differences between two
 * registrations of one person and carry no identity, so they are removed
 * before any comparison. Values that only say "unknown" (sex U, an SSN of
 * one repeated digit) become missing, which weighs nothing.
 */
#include "hl7flow/match.h"

#include <string.h>

typedef enum { KEEP_NAME, KEEP_ALNUM, KEEP_DIGITS } keep_kind;

static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

/* Copies the kept characters of @p in into @p t (cut to fit). */
static void keep(hf_span in, keep_kind kind, hf_match_text *t) {
    size_t n = 0;
    for (size_t i = 0; i < in.len && n + 1 < HF_MATCH_TEXT_MAX; i++) {
        char c = upper(in.p[i]);
        unsigned char uc = (unsigned char)c;
        int letter = c >= 'A' && c <= 'Z';
        int digit = c >= '0' && c <= '9';
        int ok = kind == KEEP_NAME ? (letter || uc >= 0x80)
                 : kind == KEEP_ALNUM ? (letter || digit)
                                      : digit;
        if (ok)
            t->s[n++] = c;
    }
    t->s[n] = 0;
    t->len = (uint8_t)n;
}

static void clear(hf_match_text *t) {
    t->s[0] = 0;
    t->len = 0;
}

void hf_match_prepare(const hf_person *p, hf_match_rec *out) {
    memset(out, 0, sizeof *out);
    hf_match_text *f = out->f;
    keep(p->given, KEEP_NAME, &f[HF_MC_GIVEN]);
    keep(p->family, KEEP_NAME, &f[HF_MC_FAMILY]);

    keep(p->dob, KEEP_DIGITS, &f[HF_MC_DOB]);
    if (f[HF_MC_DOB].len < 8)
        clear(&f[HF_MC_DOB]);
    f[HF_MC_DOB].len = f[HF_MC_DOB].len ? 8 : 0;
    f[HF_MC_DOB].s[f[HF_MC_DOB].len] = 0;

    keep(p->sex, KEEP_ALNUM, &f[HF_MC_SEX]);
    if (f[HF_MC_SEX].len > 1) {
        f[HF_MC_SEX].len = 1;
        f[HF_MC_SEX].s[1] = 0;
    }
    if (f[HF_MC_SEX].s[0] == 'U' || f[HF_MC_SEX].s[0] == 'N')
        clear(&f[HF_MC_SEX]);

    keep(p->street_number, KEEP_ALNUM, &f[HF_MC_STREET_NO]);
    keep(p->street, KEEP_ALNUM, &f[HF_MC_STREET]);
    keep(p->street2, KEEP_ALNUM, &f[HF_MC_STREET2]);
    keep(p->locality, KEEP_ALNUM, &f[HF_MC_LOCALITY]);
    keep(p->postcode, KEEP_ALNUM, &f[HF_MC_POSTCODE]);
    keep(p->state, KEEP_ALNUM, &f[HF_MC_STATE]);

    /* Phone: the last 10 digits (drops a country prefix), at least 7. */
    char digits[HF_MATCH_STR_MAX];
    size_t nd = 0;
    for (size_t i = 0; i < p->phone.len && nd < sizeof digits; i++)
        if (p->phone.p[i] >= '0' && p->phone.p[i] <= '9')
            digits[nd++] = p->phone.p[i];
    if (nd >= 7) {
        size_t from = nd > 10 ? nd - 10 : 0;
        memcpy(f[HF_MC_PHONE].s, digits + from, nd - from);
        f[HF_MC_PHONE].len = (uint8_t)(nd - from);
        f[HF_MC_PHONE].s[nd - from] = 0;
    }

    keep(p->ssn, KEEP_ALNUM, &f[HF_MC_SSN]);
    if (f[HF_MC_SSN].len > 0) {
        size_t same = 1;
        while (same < f[HF_MC_SSN].len && f[HF_MC_SSN].s[same] == f[HF_MC_SSN].s[0])
            same++;
        if (same == f[HF_MC_SSN].len)
            clear(&f[HF_MC_SSN]);
    }

    hf_span g = {f[HF_MC_GIVEN].s, f[HF_MC_GIVEN].len};
    hf_span s = {f[HF_MC_FAMILY].s, f[HF_MC_FAMILY].len};
    hf_match_soundex(g, out->sdx_given);
    hf_match_soundex(s, out->sdx_family);
    hf_match_nysiis(g, out->nys_given);
    hf_match_nysiis(s, out->nys_family);
}
