/* match_compare.c - comparison levels of two prepared records: the
 * comparison vector (gamma) that the Fellegi-Sunter model weighs
 * (contract in match.h).
 *
 * Each field kind has one ladder of levels, strongest first, so a pair
 * lands on the first rung it reaches. The ladders and thresholds are fixed
 * here, the same for every data source; only the m and u probabilities of
 * each rung are estimated (match_em.c) or configured (model file).
 */
#include "hl7flow/match.h"

#include <string.h>

typedef enum { K_NAME, K_DATE, K_TEXT, K_CODE, K_FLAG } kind;

static const char *const NAME_LEVELS[] = {"missing", "exact", "jw95", "jw88", "phonetic", "jw70", "other", NULL};
static const char *const DATE_LEVELS[] = {"missing", "exact", "close", "osa2", "other", NULL};
static const char *const TEXT_LEVELS[] = {"missing", "exact", "jw92", "jw80", "other", NULL};
static const char *const CODE_LEVELS[] = {"missing", "exact", "osa1", "osa2", "other", NULL};
static const char *const FLAG_LEVELS[] = {"missing", "exact", "other", NULL};

static const struct {
    const char *name;
    kind k;
} CMPS[HF_MC_COUNT] = {
    [HF_MC_GIVEN] = {"given", K_NAME},       [HF_MC_FAMILY] = {"family", K_NAME},
    [HF_MC_DOB] = {"dob", K_DATE},           [HF_MC_SEX] = {"sex", K_FLAG},
    [HF_MC_STREET_NO] = {"street_no", K_CODE}, [HF_MC_STREET] = {"street", K_TEXT},
    [HF_MC_STREET2] = {"street2", K_TEXT},   [HF_MC_LOCALITY] = {"locality", K_TEXT},
    [HF_MC_POSTCODE] = {"postcode", K_CODE}, [HF_MC_STATE] = {"state", K_FLAG},
    [HF_MC_PHONE] = {"phone", K_CODE},       [HF_MC_SSN] = {"ssn", K_CODE},
};

static const char *const *ladder(kind k) {
    switch (k) {
    case K_NAME:
        return NAME_LEVELS;
    case K_DATE:
        return DATE_LEVELS;
    case K_TEXT:
        return TEXT_LEVELS;
    case K_CODE:
        return CODE_LEVELS;
    default:
        return FLAG_LEVELS;
    }
}

unsigned hf_match_levels(hf_match_cmp c) {
    if ((unsigned)c >= HF_MC_COUNT)
        return 0;
    const char *const *l = ladder(CMPS[c].k);
    unsigned n = 0;
    while (l[n])
        n++;
    return n;
}

const char *hf_match_cmp_name(hf_match_cmp c) { return (unsigned)c < HF_MC_COUNT ? CMPS[c].name : NULL; }

const char *hf_match_level_name(hf_match_cmp c, unsigned l) {
    if (l >= hf_match_levels(c))
        return NULL;
    return ladder(CMPS[c].k)[l];
}

static hf_span sp(const hf_match_text *t) { return (hf_span){t->s, t->len}; }

static int same(const hf_match_text *a, const hf_match_text *b) {
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* Names: exact / jw95 / jw88 / phonetic / jw70 / other. */
static uint8_t name_level(const hf_match_text *a, const char *sdx_a, const char *nys_a, const hf_match_text *b,
                          const char *sdx_b, const char *nys_b) {
    if (a->len == 0 || b->len == 0)
        return 0;
    if (same(a, b))
        return 1;
    double jw = hf_match_jaro_winkler(sp(a), sp(b));
    if (jw >= 0.95)
        return 2;
    if (jw >= 0.88)
        return 3;
    if ((sdx_a[0] && strcmp(sdx_a, sdx_b) == 0) || (nys_a[0] && strcmp(nys_a, nys_b) == 0))
        return 4;
    if (jw >= 0.70)
        return 5;
    return 6;
}

/* Free text: exact / jw92 / jw80 / other. */
static uint8_t text_level(const hf_match_text *a, const hf_match_text *b) {
    if (a->len == 0 || b->len == 0)
        return 0;
    if (same(a, b))
        return 1;
    double jw = hf_match_jaro_winkler(sp(a), sp(b));
    return jw >= 0.92 ? 2 : jw >= 0.80 ? 3 : 4;
}

/* Codes: exact / one edit / two edits / other. */
static uint8_t code_level(const hf_match_text *a, const hf_match_text *b) {
    if (a->len == 0 || b->len == 0)
        return 0;
    if (same(a, b))
        return 1;
    unsigned d = hf_match_osa_distance(sp(a), sp(b), 3);
    return d == 1 ? 2 : d == 2 ? 3 : 4;
}

/* Dates (8 digits): exact / close (one edit or day<->month) / two edits /
 * other. */
static uint8_t date_level(const hf_match_text *a, const hf_match_text *b) {
    if (a->len == 0 || b->len == 0)
        return 0;
    if (same(a, b))
        return 1;
    if (a->len == 8 && b->len == 8 && memcmp(a->s, b->s, 4) == 0 && memcmp(a->s + 4, b->s + 6, 2) == 0 &&
        memcmp(a->s + 6, b->s + 4, 2) == 0)
        return 2;
    unsigned d = hf_match_osa_distance(sp(a), sp(b), 3);
    return d == 1 ? 2 : d == 2 ? 3 : 4;
}

static uint8_t flag_level(const hf_match_text *a, const hf_match_text *b) {
    if (a->len == 0 || b->len == 0)
        return 0;
    return same(a, b) ? 1 : 2;
}

/* A level counts as "close" when it is present and at most @p close. */
static int close_enough(uint8_t l, uint8_t close) { return l != 0 && l <= close; }

void hf_match_compare(const hf_match_rec *a, const hf_match_rec *b, uint8_t gamma[HF_MC_COUNT]) {
    const hf_match_text *fa = a->f, *fb = b->f;

    /* Names, straight and crossed (given <-> family swapped on one side). */
    uint8_t g = name_level(&fa[HF_MC_GIVEN], a->sdx_given, a->nys_given, &fb[HF_MC_GIVEN], b->sdx_given, b->nys_given);
    uint8_t s = name_level(&fa[HF_MC_FAMILY], a->sdx_family, a->nys_family, &fb[HF_MC_FAMILY], b->sdx_family,
                           b->nys_family);
    if (!(close_enough(g, 3) && close_enough(s, 3))) {
        uint8_t gx = name_level(&fa[HF_MC_GIVEN], a->sdx_given, a->nys_given, &fb[HF_MC_FAMILY], b->sdx_family,
                                b->nys_family);
        uint8_t sx = name_level(&fa[HF_MC_FAMILY], a->sdx_family, a->nys_family, &fb[HF_MC_GIVEN], b->sdx_given,
                                b->nys_given);
        if (close_enough(gx, 3) && close_enough(sx, 3)) {
            g = gx;
            s = sx;
        }
    }
    gamma[HF_MC_GIVEN] = g;
    gamma[HF_MC_FAMILY] = s;

    gamma[HF_MC_DOB] = date_level(&fa[HF_MC_DOB], &fb[HF_MC_DOB]);
    gamma[HF_MC_SEX] = flag_level(&fa[HF_MC_SEX], &fb[HF_MC_SEX]);
    gamma[HF_MC_STREET_NO] = code_level(&fa[HF_MC_STREET_NO], &fb[HF_MC_STREET_NO]);

    /* Street lines, straight and crossed (line 1 <-> line 2). */
    uint8_t t1 = text_level(&fa[HF_MC_STREET], &fb[HF_MC_STREET]);
    uint8_t t2 = text_level(&fa[HF_MC_STREET2], &fb[HF_MC_STREET2]);
    if (!(close_enough(t1, 2) && close_enough(t2, 2))) {
        uint8_t x1 = text_level(&fa[HF_MC_STREET], &fb[HF_MC_STREET2]);
        uint8_t x2 = text_level(&fa[HF_MC_STREET2], &fb[HF_MC_STREET]);
        if (close_enough(x1, 2) && close_enough(x2, 2)) {
            t1 = x1;
            t2 = x2;
        }
    }
    gamma[HF_MC_STREET] = t1;
    gamma[HF_MC_STREET2] = t2;

    gamma[HF_MC_LOCALITY] = text_level(&fa[HF_MC_LOCALITY], &fb[HF_MC_LOCALITY]);
    gamma[HF_MC_POSTCODE] = code_level(&fa[HF_MC_POSTCODE], &fb[HF_MC_POSTCODE]);
    gamma[HF_MC_STATE] = flag_level(&fa[HF_MC_STATE], &fb[HF_MC_STATE]);
    gamma[HF_MC_PHONE] = code_level(&fa[HF_MC_PHONE], &fb[HF_MC_PHONE]);
    gamma[HF_MC_SSN] = code_level(&fa[HF_MC_SSN], &fb[HF_MC_SSN]);
}
