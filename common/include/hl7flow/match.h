/* match.h - patient matching for the enterprise id (EMPI) of mpi-linker:
 * string comparators, comparison levels, a Fellegi-Sunter model, blocking
 * keys and EM estimation of the model from unlabelled pairs.
 *
 * Flow: a person's demographics (hf_person, borrowed spans) are prepared
 * once into an hf_match_rec (fixed-size, owned by the caller, no heap);
 * two prepared records give a comparison vector (one level per field),
 * and the model turns that into a match weight (log2 Bayes factor), a
 * match probability and a decision (link / review / new identity).
 * Candidates are found by blocking keys: two records are compared only
 * when they share at least one key.
 *
 * Everything here is pure C11: no I/O except the model file and the
 * FEBRL test-data reader, no globals, no locks; every function may be
 * called from any thread on distinct objects. Nothing is logged; the
 * values handled are patient data, so callers must not log them either
 * (blocking keys included: hash them before storing them where logs or
 * metrics could show them). See docs/internals/matching.md.
 */
#ifndef HL7FLOW_MATCH_H
#define HL7FLOW_MATCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hl7flow/hl7.h" /* hf_span */
#include "hl7flow/status.h"

/* ------------------------------------------------------------ strings */

/* Jaro similarity of two byte strings, in [0, 1]; 1 for two empty strings.
 * Only the first HF_MATCH_STR_MAX bytes of each input are compared. */
double hf_match_jaro(hf_span a, hf_span b);

/* Jaro-Winkler: Jaro plus the common-prefix bonus (prefix of at most 4,
 * scale 0.1), as Winkler published it: MARTHA/MARHTA 0.961. */
double hf_match_jaro_winkler(hf_span a, hf_span b);

/* Optimal-string-alignment (restricted Damerau-Levenshtein) distance:
 * insertions, deletions, substitutions and adjacent transpositions each
 * cost 1. Returns min(distance, cap): the work stops early past @p cap.
 * Only the first HF_MATCH_STR_MAX bytes of each input are compared. */
unsigned hf_match_osa_distance(hf_span a, hf_span b, unsigned cap);

#define HF_MATCH_STR_MAX 64

/* ------------------------------------------------------------ phonetic */

/* American Soundex (the H/W rule of the US National Archives) of the ASCII
 * letters of @p name (others are skipped). Writes 4 characters and a NUL to
 * @p out, e.g. Robert -> "R163", Tymczak -> "T522"; an input without
 * letters gives "" (out[0] = 0). */
void hf_match_soundex(hf_span name, char out[5]);

/* NYSIIS (Taft 1970, the original rules; key cut to 6 characters) of the
 * ASCII letters of @p name. Writes at most 6 characters and a NUL; an input
 * without letters gives "". */
void hf_match_nysiis(hf_span name, char out[7]);

/* ------------------------------------------------------------ records */

/* A person's demographics as they arrive: every span borrowed (valid for
 * the call that takes it), any may be empty ({NULL, 0} is allowed). */
typedef struct hf_person {
    hf_span given;         /* first given name (PID-5.2) */
    hf_span family;        /* family name (PID-5.1) */
    hf_span dob;           /* date of birth, YYYYMMDD[...] (PID-7); digits are taken */
    hf_span sex;           /* administrative sex code (PID-8): F, M, O, ... */
    hf_span street_number; /* house number (part of PID-11.1) */
    hf_span street;        /* street name (PID-11.1) */
    hf_span street2;       /* other designation (PID-11.2) */
    hf_span locality;      /* city / suburb (PID-11.3) */
    hf_span postcode;      /* zip / postcode (PID-11.5) */
    hf_span state;         /* state or province (PID-11.4) */
    hf_span phone;         /* home phone (PID-13) */
    hf_span ssn;           /* SSN or national id (PID-19) */
} hf_person;

/* One comparison per field; the order is the order of the model file. */
typedef enum hf_match_cmp {
    HF_MC_GIVEN,
    HF_MC_FAMILY,
    HF_MC_DOB,
    HF_MC_SEX,
    HF_MC_STREET_NO,
    HF_MC_STREET,
    HF_MC_STREET2,
    HF_MC_LOCALITY,
    HF_MC_POSTCODE,
    HF_MC_STATE,
    HF_MC_PHONE,
    HF_MC_SSN,
    HF_MC_COUNT
} hf_match_cmp;

#define HF_MATCH_TEXT_MAX 32 /* bytes kept of each normalized field, NUL included */

/* A normalized field: NUL-terminated, len < HF_MATCH_TEXT_MAX; len 0 means
 * missing. */
typedef struct hf_match_text {
    char s[HF_MATCH_TEXT_MAX];
    uint8_t len;
} hf_match_text;

/* A prepared record: normalized fields and phonetic codes. Plain data with
 * no pointers: copy it, store it, compare it from any thread. */
typedef struct hf_match_rec {
    hf_match_text f[HF_MC_COUNT]; /* normalized fields, indexed by hf_match_cmp */
    char sdx_given[5];            /* Soundex of the given name ("" if none) */
    char sdx_family[5];           /* Soundex of the family name */
    char nys_given[7];            /* NYSIIS of the given name */
    char nys_family[7];           /* NYSIIS of the family name */
} hf_match_rec;

/* Normalizes @p p into @p out (OUT, fully overwritten):
 *  - names: ASCII letters upper-cased, bytes >= 0x80 kept (UTF-8 compared
 *    bytewise), everything else dropped ("O'Neil-Smith" -> ONEILSMITH);
 *  - dob: the first 8 digits, missing when there are fewer than 8 (the
 *    value is kept as a string: impossible dates still compare);
 *  - sex: the first letter upper-cased; U, N and empty are missing;
 *  - street, street2, locality, state, street number, postcode: ASCII
 *    letters and digits upper-cased, the rest dropped;
 *  - phone: digits, the last 10 kept; fewer than 7 is missing;
 *  - ssn: letters and digits; a value of one repeated character
 *    (000000000, 999999999) is missing.
 * Fields longer than HF_MATCH_TEXT_MAX - 1 are cut. Never fails. */
void hf_match_prepare(const hf_person *p, hf_match_rec *out);

/* ------------------------------------------------------------ comparison levels */

/* Level 0 of every comparison is "missing on either side" and weighs 0.
 * Level 1 is the strongest agreement; the last level is disagreement. */
#define HF_MATCH_MISSING 0
#define HF_MATCH_MAX_LEVELS 8

/* Number of levels (missing included) of comparison @p c. */
unsigned hf_match_levels(hf_match_cmp c);

/* Name of comparison @p c ("given", "dob", ...) as used in the model file;
 * NULL when @p c is out of range. */
const char *hf_match_cmp_name(hf_match_cmp c);

/* Name of level @p l of comparison @p c ("exact", "jw92", ...), NULL when
 * out of range. */
const char *hf_match_level_name(hf_match_cmp c, unsigned l);

/* Comparison vector of @p a and @p b: gamma[c] is the level of comparison
 * c. Symmetric. Names are also tried crossed (given <-> family): the
 * crossed reading is used when it agrees closely on both names and the
 * straight one does not; likewise street <-> street2.
 * The levels are:
 *  - given, family: exact / jw95 (Jaro-Winkler >= 0.95) / jw88 /
 *    phonetic (same Soundex or NYSIIS) / jw70 / other;
 *  - dob: exact / close (one digit differs, two adjacent digits swapped,
 *    or day and month swapped) / osa2 (two edits) / other;
 *  - street, street2, locality: exact / jw92 / jw80 / other;
 *  - street_no, postcode, phone, ssn: exact / osa1 (one edit) / osa2 /
 *    other;
 *  - sex, state: exact / other. */
void hf_match_compare(const hf_match_rec *a, const hf_match_rec *b, uint8_t gamma[HF_MC_COUNT]);

/* ------------------------------------------------------------ model */

/* Decision for a candidate pair. */
typedef enum hf_match_decision {
    HF_MATCH_NEW = 0,    /* below the review threshold: a different person */
    HF_MATCH_REVIEW = 1, /* between the thresholds: a person should look */
    HF_MATCH_LINK = 2    /* at or above the auto-link threshold: same person */
} hf_match_decision;

/* A Fellegi-Sunter model: m (agreement level given a match) and u (given a
 * non-match) per comparison level, the prior probability that a candidate
 * pair matches, and the two thresholds as match probabilities. Plain data:
 * fill it with hf_match_model_default or hf_match_model_load, change
 * fields if needed, then call hf_match_model_finish before scoring. */
typedef struct hf_match_model {
    double m[HF_MC_COUNT][HF_MATCH_MAX_LEVELS]; /* P(level | match); [c][0] unused */
    double u[HF_MC_COUNT][HF_MATCH_MAX_LEVELS]; /* P(level | non-match); [c][0] unused */
    unsigned char off[HF_MC_COUNT];             /* 1: comparison ignored (weight 0) */
    double prior;                               /* P(match) of a candidate pair, (0, 1) */
    double link_probability;                    /* auto-link at or above, (0, 1) */
    double review_probability;                  /* review at or above, <= link_probability */
    /* derived by hf_match_model_finish: */
    float w[HF_MC_COUNT][HF_MATCH_MAX_LEVELS]; /* log2(m / u); 0 for missing and off */
    double link_weight;                        /* weight that gives link_probability */
    double review_weight;                      /* weight that gives review_probability */
} hf_match_model;

/* Generic starting values, not estimated from any data set: m from the
 * usual error rates of registration data (about 90% exact agreement of a
 * field between records of one person), u from the number of distinct
 * values a field takes. Prior 1e-3, link at 0.99, review at 0.5. Finished. */
void hf_match_model_default(hf_match_model *model);

/* Computes the derived fields (weights, threshold weights). m and u are
 * clamped to [1e-6, 1]. Returns HF_ECONFIG (detail in @p err, may be
 * NULL) when the prior or a threshold is outside (0, 1) or review is
 * above link. */
hf_status hf_match_model_finish(hf_match_model *model, hf_err *err);

/* Loads a model file into @p model: starts from hf_match_model_default,
 * then applies each line. Lines: `# comment`, blank, `prior = P`,
 * `link_probability = P`, `review_probability = P`,
 * `<cmp>.<level> = M U` (e.g. `given.exact = 0.88 0.0021`) and
 * `<cmp>.off = 1`. Unknown keys, bad numbers and probabilities outside
 * (0, 1] are HF_ECONFIG with `path:line: reason` in @p err; HF_EIO when
 * the file cannot be read. Finishes the model on success. */
hf_status hf_match_model_load(hf_match_model *model, const char *path, hf_err *err);

/* Writes @p model in the file format above (loadable by
 * hf_match_model_load, round trip within printf's %.6g). @p comment, may
 * be NULL, is written as leading `#` lines. Returns HF_EIO on write error. */
hf_status hf_match_model_write(const hf_match_model *model, FILE *f, const char *comment);

/* Match weight (log2 Bayes factor) of a comparison vector: the sum of
 * model->w over comparisons. */
double hf_match_gamma_weight(const hf_match_model *model, const uint8_t gamma[HF_MC_COUNT]);

/* Match weight of two prepared records: compare, then sum the weights. */
double hf_match_weight(const hf_match_model *model, const hf_match_rec *a, const hf_match_rec *b);

/* Match probability of @p weight under prior @p prior in (0, 1):
 * odds = prior / (1 - prior) * 2^weight; returns odds / (1 + odds). */
double hf_match_probability(double weight, double prior);

/* Decision of @p weight against the model's thresholds. */
hf_match_decision hf_match_decide(const hf_match_model *model, double weight);

/* ------------------------------------------------------------ blocking */

#define HF_MATCH_MAX_KEYS 10
#define HF_MATCH_KEY_MAX 24 /* bytes of one key, NUL included */

/* One blocking key: a short NUL-terminated string that begins with the
 * letter of its rule, so keys of different rules never collide. */
typedef struct hf_match_key {
    char s[HF_MATCH_KEY_MAX];
} hf_match_key;

/* Blocking keys of @p r into @p out (OUT); returns how many (0 when the
 * record has too little to block on). Two records are candidates when any
 * of their keys are equal. Rules (a key is made only when its fields are
 * present):
 *  S  ssn
 *  D  full date of birth
 *  F  Soundex(family) + year of birth, and Soundex(given) + year (so a
 *     given/family swap still shares a key)
 *  P  postcode + first letter of given name, and of family name
 *  N  Soundex(given) + Soundex(family) + first letter of locality
 *  A  street number + Soundex-like code of the street + postcode
 * Keys hold patient data: hash them before storing them in a shared
 * index, never log them. */
size_t hf_match_block_keys(const hf_match_rec *r, hf_match_key out[HF_MATCH_MAX_KEYS]);

/* ------------------------------------------------------------ estimation (EM) */

/* A multiset of comparison vectors (distinct vectors with counts), the
 * input of estimation. Opaque; heap-allocated. */
typedef struct hf_match_patterns hf_match_patterns;

/* Returns a new empty set, or NULL when out of memory. */
hf_match_patterns *hf_match_patterns_new(void);

/* Frees @p ps; NULL does nothing. */
void hf_match_patterns_destroy(hf_match_patterns *ps);

/* Adds @p count copies of @p gamma. HF_ENOMEM when growing fails (the set
 * is unchanged). */
hf_status hf_match_patterns_add(hf_match_patterns *ps, const uint8_t gamma[HF_MC_COUNT], double count);

/* Number of distinct vectors, and total count. */
size_t hf_match_patterns_distinct(const hf_match_patterns *ps);
double hf_match_patterns_total(const hf_match_patterns *ps);

/* Sets model->u to the level frequencies of @p random_pairs, pairs drawn
 * at random from the data (almost all non-matches). Each level gets at
 * least one pseudo-count so no u is 0. Re-finishes the model. */
hf_status hf_match_estimate_u(hf_match_model *model, const hf_match_patterns *random_pairs, hf_err *err);

/* Result of an EM run. */
typedef struct hf_match_em_result {
    unsigned iterations; /* iterations run */
    double max_change;   /* largest change of any parameter in the last iteration */
    double prior;        /* estimated share of matches among the pairs */
} hf_match_em_result;

/* Expectation-maximisation over candidate pairs @p pairs (unlabelled),
 * starting from @p model: re-estimates m and the prior (and u too when
 * @p estimate_u is non-zero; otherwise u stays, e.g. from
 * hf_match_estimate_u). Stops after @p max_iter iterations or when no
 * parameter moves more than 1e-6. The thresholds are kept. Re-finishes the
 * model; @p res (OUT, may be NULL) tells how it went. */
hf_status hf_match_em(hf_match_model *model, const hf_match_patterns *pairs, int estimate_u, unsigned max_iter,
                      hf_match_em_result *res, hf_err *err);

/* ------------------------------------------------------------ FEBRL test data */

/* A FEBRL synthetic data file (see ../shared/data/febrl/README.md), read
 * for tests and benchmarks. people[i] spans point into an internal buffer
 * owned by the set. entity[i] is the true identity (the N of rec-N-...),
 * to be used for scoring only, never for matching. */
typedef struct hf_match_febrl {
    size_t n;          /* records */
    hf_person *people; /* n records; street_number etc. filled, sex/phone empty */
    long *entity;      /* n true entity ids */
    char *buf;         /* the file's bytes (owned) */
} hf_match_febrl;

/* Reads FEBRL CSV @p path into @p out (OUT; release with
 * hf_match_febrl_fini). Handles the ", " separator, a single space for
 * empty, CRLF or LF lines and a missing final newline. HF_EIO when the file
 * cannot be read, HF_ESYNTAX (with the line number) on a malformed line,
 * HF_ENOMEM. On error @p out is left empty. */
hf_status hf_match_febrl_load(const char *path, hf_match_febrl *out, hf_err *err);

/* Frees what @p set owns and zeroes it; safe on a zeroed set. */
void hf_match_febrl_fini(hf_match_febrl *set);

#endif
