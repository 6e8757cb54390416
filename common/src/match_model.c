/* match_model.c - the Fellegi-Sunter model: generic defaults, derived
 * weights, match probability, decisions (contract in match.h). The model
 * file reader and writer are in match_model_file.c.
 *
 * The weight of a level is log2(m / u): how much more often a true match
 * shows that level than a non-match. A pair's weight is the sum over its
 * comparisons (conditional independence), and its match probability comes
 * from the prior odds times 2^weight. Thresholds are kept as probabilities
 * in the file (what people reason about) and turned into weights once, so
 * scoring a pair is a table lookup per comparison and one compare.
 */
#include "hl7flow/match.h"

#include <math.h>
#include <string.h>

#define P_FLOOR 1e-6

/* Default m and u per comparison, levels 1.. in ladder order (see
 * match_compare.c). m: a person's two records usually agree exactly, with
 * a few percent spread over the near levels. u: chance agreement, from
 * the number of distinct values a field takes in a population. */
static const struct {
    double m[HF_MATCH_MAX_LEVELS];
    double u[HF_MATCH_MAX_LEVELS];
} DEFAULTS[HF_MC_COUNT] = {
    [HF_MC_GIVEN] = {{0, .85, .05, .03, .02, .02, .03}, {0, .005, .001, .004, .005, .05, .935}},
    [HF_MC_FAMILY] = {{0, .85, .05, .03, .02, .02, .03}, {0, .002, .001, .003, .004, .05, .94}},
    [HF_MC_DOB] = {{0, .90, .06, .02, .02}, {0, .0002, .002, .02, .9778}},
    [HF_MC_SEX] = {{0, .97, .03}, {0, .5, .5}},
    [HF_MC_STREET_NO] = {{0, .85, .07, .03, .05}, {0, .01, .05, .15, .79}},
    [HF_MC_STREET] = {{0, .85, .07, .03, .05}, {0, .002, .002, .02, .976}},
    [HF_MC_STREET2] = {{0, .80, .08, .04, .08}, {0, .005, .003, .03, .962}},
    [HF_MC_LOCALITY] = {{0, .85, .07, .03, .05}, {0, .002, .002, .02, .976}},
    [HF_MC_POSTCODE] = {{0, .88, .07, .02, .03}, {0, .002, .02, .1, .878}},
    [HF_MC_STATE] = {{0, .95, .05}, {0, .25, .75}},
    [HF_MC_PHONE] = {{0, .85, .07, .03, .05}, {0, .00001, .0001, .001, .99889}},
    [HF_MC_SSN] = {{0, .90, .06, .02, .02}, {0, .00001, .0001, .001, .99889}},
};

void hf_match_model_default(hf_match_model *model) {
    memset(model, 0, sizeof *model);
    for (unsigned c = 0; c < HF_MC_COUNT; c++) {
        memcpy(model->m[c], DEFAULTS[c].m, sizeof model->m[c]);
        memcpy(model->u[c], DEFAULTS[c].u, sizeof model->u[c]);
    }
    model->prior = 1e-3;
    model->link_probability = 0.99;
    model->review_probability = 0.5;
    (void)hf_match_model_finish(model, NULL);
}

static double logit2(double p) { return log2(p / (1.0 - p)); }

static int in_open_unit(double p) { return p > 0.0 && p < 1.0; }

hf_status hf_match_model_finish(hf_match_model *model, hf_err *err) {
    if (!in_open_unit(model->prior))
        return hf_err_set(err, HF_ECONFIG, "match model: prior %g outside (0, 1)", model->prior);
    if (!in_open_unit(model->link_probability) || !in_open_unit(model->review_probability))
        return hf_err_set(err, HF_ECONFIG, "match model: thresholds must lie in (0, 1)");
    if (model->review_probability > model->link_probability)
        return hf_err_set(err, HF_ECONFIG, "match model: review_probability %g above link_probability %g",
                          model->review_probability, model->link_probability);
    for (unsigned c = 0; c < HF_MC_COUNT; c++) {
        unsigned n = hf_match_levels((hf_match_cmp)c);
        model->w[c][0] = 0.0f;
        for (unsigned l = 1; l < HF_MATCH_MAX_LEVELS; l++) {
            if (l >= n) {
                model->m[c][l] = model->u[c][l] = 0.0;
                model->w[c][l] = 0.0f;
                continue;
            }
            if (model->m[c][l] < P_FLOOR)
                model->m[c][l] = P_FLOOR;
            if (model->u[c][l] < P_FLOOR)
                model->u[c][l] = P_FLOOR;
            if (model->m[c][l] > 1.0)
                model->m[c][l] = 1.0;
            if (model->u[c][l] > 1.0)
                model->u[c][l] = 1.0;
            model->w[c][l] = model->off[c] ? 0.0f : (float)log2(model->m[c][l] / model->u[c][l]);
        }
    }
    double base = logit2(model->prior);
    model->link_weight = logit2(model->link_probability) - base;
    model->review_weight = logit2(model->review_probability) - base;
    return HF_OK;
}

double hf_match_gamma_weight(const hf_match_model *model, const uint8_t gamma[HF_MC_COUNT]) {
    double w = 0.0;
    for (unsigned c = 0; c < HF_MC_COUNT; c++)
        w += model->w[c][gamma[c] < HF_MATCH_MAX_LEVELS ? gamma[c] : 0];
    return w;
}

double hf_match_weight(const hf_match_model *model, const hf_match_rec *a, const hf_match_rec *b) {
    uint8_t gamma[HF_MC_COUNT];
    hf_match_compare(a, b, gamma);
    return hf_match_gamma_weight(model, gamma);
}

double hf_match_probability(double weight, double prior) {
    double lo = logit2(prior) + weight; /* log2 of the posterior odds */
    if (lo > 60)
        return 1.0;
    if (lo < -1000)
        return 0.0;
    double odds = exp2(lo);
    return odds / (1.0 + odds);
}

hf_match_decision hf_match_decide(const hf_match_model *model, double weight) {
    if (weight >= model->link_weight)
        return HF_MATCH_LINK;
    if (weight >= model->review_weight)
        return HF_MATCH_REVIEW;
    return HF_MATCH_NEW;
}
