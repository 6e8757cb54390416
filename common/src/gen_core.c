/* gen_core.c - the generator object: options, facilities, patient slots,
 * the message-type mix, patient choice, A40 merges, malformed selection,
 * and hf_gen_next() which ties them together (see hl7flow/gen.h).
 *
 * Random streams: one main stream (gen->rng) decides everything about the
 * valid message stream in order; malformed selection and recipes use a
 * stream derived from (seed, index) per message, so the malformed share
 * never shifts the valid messages.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gen_int.h"

#define GEN_FAULT_STREAM 0x4641554c54ULL
#define GEN_MAIN_STREAM 0x4d41494eULL

#define GEN_TYPE_NAME_(name, type, structure, bp) [name] = type,
static const char *const TYPE_NAME[] = {HF_GEN_TYPE_LIST(GEN_TYPE_NAME_)};
#undef GEN_TYPE_NAME_
#define GEN_TYPE_BP_(name, type, structure, bp) [name] = bp,
static const uint16_t TYPE_BP[] = {HF_GEN_TYPE_LIST(GEN_TYPE_BP_)};
#undef GEN_TYPE_BP_
#define GEN_FAULT_NAME_(name, text) [name] = text,
static const char *const FAULT_NAME[] = {HF_GEN_FAULT_LIST(GEN_FAULT_NAME_)};
#undef GEN_FAULT_NAME_
static const char *const VERSION_NAME[] = {"2.3", "2.4", "2.5.1"};

const char *hf_gen_type_name(hf_gen_type type) {
    return (unsigned)type < HF_GEN_TYPE_COUNT ? TYPE_NAME[type] : "?";
}

const char *hf_gen_fault_name(hf_gen_fault fault) {
    return (unsigned)fault < HF_GEN_FAULT_COUNT ? FAULT_NAME[fault] : "?";
}

const char *hf_gen_version_name(hf_gen_version version) {
    return (unsigned)version <= HF_GEN_V2_5_1 ? VERSION_NAME[version] : "?";
}

hf_status hf_gen_version_parse(const char *text, hf_gen_version *out) {
    for (unsigned v = 0; v <= HF_GEN_V2_5_1; v++) {
        if (strcmp(text, VERSION_NAME[v]) == 0) {
            *out = (hf_gen_version)v;
            return HF_OK;
        }
    }
    return HF_ECONFIG;
}

void hf_gen_opts_default(hf_gen_opts *opts) {
    opts->seed = 1;
    opts->facilities = 5;
    opts->patients = 10000;
    opts->malformed_bp = 0;
    opts->version = HF_GEN_V2_5_1;
}

static void facility_init(gen_facility *f, uint32_t i) {
    static const char *const apps[] = {"MEDIVANT", "CARESPHERE", "CLINIGRID", "HEALTHWEAVE",
                                       "PATIENTCORE", "NORTHSTAR", "VITALINK"};
    static const char *const kinds[] = {"General Hospital", "Memorial Medical Center", "Community Hospital",
                                        "Regional Medical Center", "University Hospital"};
    static const char *const zones[] = {"", "-0500", "", "-0600"};
    if (i < 26) {
        snprintf(f->code, sizeof f->code, "HOSP_%c", 'A' + (int)i);
    } else { /* HOSP_AA .. HOSP_ZZ */
        uint32_t k = i - 26;
        snprintf(f->code, sizeof f->code, "HOSP_%c%c", 'A' + (int)(k / 26 % 26), 'A' + (int)(k % 26));
    }
    f->app = apps[i % 7];
    snprintf(f->name, sizeof f->name, "%s %s", gen_cities[i * 5 % gen_cities_n].name, kinds[i % 5]);
    f->tz = zones[i % 4];
    f->enhanced = i % 2 == 0;
}

hf_status hf_gen_new(const hf_gen_opts *opts, hf_gen **out, hf_err *err) {
    hf_gen *g = NULL;
    *out = NULL;
    if (opts->facilities < 1 || opts->facilities > HF_GEN_MAX_FACILITIES)
        return hf_err_set(err, HF_ECONFIG, "facilities must be 1..%u", HF_GEN_MAX_FACILITIES);
    if (opts->patients < 1 || opts->patients > HF_GEN_MAX_PATIENTS)
        return hf_err_set(err, HF_ECONFIG, "patients must be 1..%u", HF_GEN_MAX_PATIENTS);
    if (opts->malformed_bp > 10000)
        return hf_err_set(err, HF_ECONFIG, "malformed share must be 0..100%%");
    if ((unsigned)opts->version > HF_GEN_V2_5_1)
        return hf_err_set(err, HF_ECONFIG, "unknown HL7 version");

    g = calloc(1, sizeof *g);
    if (g == NULL)
        goto oom;
    g->opts = *opts;
    gen_buf_init(&g->buf);
    g->slots = calloc(opts->patients, sizeof *g->slots);
    g->facs = calloc(opts->facilities, sizeof *g->facs);
    if (g->slots == NULL || g->facs == NULL || gen_buf_grow(&g->buf, 64 * 1024) != 0)
        goto oom;
    for (uint32_t i = 0; i < opts->patients; i++)
        g->slots[i].identity = i + 1; /* identities start at 1: 0 means none */
    for (uint32_t i = 0; i < opts->facilities; i++)
        facility_init(&g->facs[i], i);
    g->next_identity = opts->patients + 1;
    g->mrn_off = (uint32_t)(gen_mix(opts->seed, 0x4d524e) % GEN_MRN_SPACE);
    gen_rng_seed(&g->rng, gen_mix(opts->seed, GEN_MAIN_STREAM));
    g->now = GEN_EPOCH;
    *out = g;
    return HF_OK;
oom:
    hf_gen_destroy(g);
    return hf_err_set(err, HF_ENOMEM, "generator: out of memory");
}

void hf_gen_destroy(hf_gen *gen) {
    if (gen == NULL)
        return;
    gen_buf_fini(&gen->buf);
    free(gen->slots);
    free(gen->facs);
    free(gen);
}

static hf_gen_type pick_type(gen_rng *r) {
    uint32_t x = gen_below(r, 10000);
    for (unsigned t = 0; t < HF_GEN_TYPE_COUNT; t++) {
        if (x < TYPE_BP[t])
            return (hf_gen_type)t;
        x -= TYPE_BP[t];
    }
    return HF_GEN_ADT_A08;
}

/* Low slots are busier (min of two uniforms): a few frequent flyers, a long
 * tail of patients seen once. */
static uint32_t pick_slot(hf_gen *g) {
    uint32_t a = gen_below(&g->rng, g->opts.patients);
    uint32_t b = gen_below(&g->rng, g->opts.patients);
    return a < b ? a : b;
}

/* A40: another slot of the same facility whose identity is merged into
 * @p slot's. Returns 0 and the slot, or -1 when there is none. */
static int pick_prior(hf_gen *g, uint32_t slot, uint32_t *prior) {
    uint32_t f = g->opts.facilities, fac = slot % f;
    uint32_t in_fac = (g->opts.patients - fac + f - 1) / f;
    if (in_fac < 2 || g->next_identity >= GEN_MRN_SPACE)
        return -1;
    for (int tries = 0; tries < 8; tries++) {
        uint32_t q = fac + f * gen_below(&g->rng, in_fac);
        if (q != slot) {
            *prior = q;
            return 0;
        }
    }
    return -1;
}

static hf_gen_fault pick_fault(const hf_gen *g, hf_gen_type type, gen_rng *fr) {
    if (g->opts.malformed_bp == 0 || gen_below(fr, 10000) >= g->opts.malformed_bp)
        return HF_GEN_VALID;
    unsigned n = 0;
    for (unsigned f = 1; f < HF_GEN_FAULT_COUNT; f++)
        n += (unsigned)gen_fault_applies((hf_gen_fault)f, type);
    unsigned k = gen_below(fr, n);
    for (unsigned f = 1; f < HF_GEN_FAULT_COUNT; f++)
        if (gen_fault_applies((hf_gen_fault)f, type) && k-- == 0)
            return (hf_gen_fault)f;
    return HF_GEN_VALID;
}

hf_status hf_gen_next(hf_gen *g, hf_gen_msg *out) {
    if (g->buf.oom)
        return HF_ENOMEM;
    g->index++;
    g->buf.len = 0;
    memset(&g->marks, 0, sizeof g->marks);
    g->now += gen_below(&g->rng, 3);
    snprintf(g->ctrl, sizeof g->ctrl, "G%llu-%llu", (unsigned long long)g->opts.seed,
             (unsigned long long)g->index);

    hf_gen_type type = pick_type(&g->rng);
    uint32_t slot = pick_slot(g), prior_slot = 0;
    gen_patient pt, prior;
    if (type == HF_GEN_ADT_A40) {
        if (pick_prior(g, slot, &prior_slot) == 0)
            gen_patient_load(g, prior_slot, &prior);
        else
            type = HF_GEN_ADT_A08; /* nobody to merge: an update instead */
    }
    gen_patient_load(g, slot, &pt);
    gen_ctx c = {g, &g->buf, &g->rng, &g->marks, type, &pt, &g->slots[slot], g->now};

    switch (type) {
    case HF_GEN_ORM_O01:
    case HF_GEN_ORU_R01:
    case HF_GEN_DFT_P03:
    case HF_GEN_MDM_T02:
        if (c.slot->cls == 0) /* orders and results outside a visit: clinic visit */
            gen_visit_open(&c, 'O', 600 + 60 * gen_below(&g->rng, 120));
        break;
    default:
        break;
    }
    switch (type) {
    case HF_GEN_ORM_O01: gen_msg_orm(&c); break;
    case HF_GEN_ORU_R01: gen_msg_oru(&c); break;
    case HF_GEN_DFT_P03: gen_msg_dft(&c); break;
    case HF_GEN_MDM_T02: gen_msg_mdm(&c); break;
    default: gen_msg_adt(&c, type == HF_GEN_ADT_A40 ? &prior : NULL); break;
    }

    out->merged = 0;
    if (type == HF_GEN_ADT_A40) { /* the merged identity retires; a new one moves in */
        out->merged = prior.identity;
        memset(&g->slots[prior_slot], 0, sizeof g->slots[prior_slot]);
        g->slots[prior_slot].identity = g->next_identity++;
    }

    gen_rng fr;
    gen_rng_seed(&fr, gen_mix(g->opts.seed ^ GEN_FAULT_STREAM, g->index));
    hf_gen_fault fault = pick_fault(g, type, &fr);
    if (fault != HF_GEN_VALID)
        gen_fault_apply(g, fault, &fr);
    if (g->buf.oom)
        return HF_ENOMEM;

    int no_id = fault == HF_GEN_MISSING_MSH || fault == HF_GEN_MISSING_MSH10 || fault == HF_GEN_BINARY_GARBAGE ||
                fault == HF_GEN_EMPTY;
    out->data = g->buf.p;
    out->len = g->buf.len;
    out->index = g->index;
    out->control_id = no_id ? "" : g->ctrl;
    out->type = type;
    out->fault = fault;
    out->patient = pt.identity;
    return HF_OK;
}
