/* gen_patient.c - a patient identity's demographics, derived from (seed,
 * identity) alone.
 *
 * Nothing is stored: every message recomputes the patient from its own
 * random stream, so an identity has the same MRN, name, birth date, address
 * and identifiers in every message, and the population costs no memory.
 * The MRN is a permutation of the identity number (so MRNs never collide)
 * offset by the seed.
 */
#include "gen_int.h"

uint32_t gen_mrn(const hf_gen *gen, uint32_t identity) {
    uint64_t x = ((uint64_t)identity * 48271u + gen->mrn_off) % GEN_MRN_SPACE;
    return 10000000u + (uint32_t)x; /* 48271 is prime, so coprime to the space */
}

void gen_patient_load(const hf_gen *gen, uint32_t slot, gen_patient *pt) {
    gen_rng r;
    uint32_t id = gen->slots[slot].identity;
    gen_rng_seed(&r, gen_mix(gen->opts.seed ^ 0x50415449454e54ULL, id));

    pt->identity = id;
    pt->slot = slot;
    pt->mrn = gen_mrn(gen, id);
    pt->fac = &gen->facs[slot % gen->opts.facilities];

    uint32_t s = gen_below(&r, 100);
    pt->sex = s < 51 ? 'F' : s < 98 ? 'M' : s < 99 ? 'O' : 'U';
    pt->first = pt->sex == 'F' || (pt->sex != 'M' && gen_chance(&r, 5000))
                    ? gen_female_first[gen_below(&r, gen_female_first_n)]
                    : gen_male_first[gen_below(&r, gen_male_first_n)];
    pt->last = gen_last[gen_below(&r, gen_last_n)];
    pt->mother = gen_last[gen_below(&r, gen_last_n)];
    pt->middle = gen_chance(&r, 7000) ? (char)('A' + gen_below(&r, 26)) : 0;
    static const char *const suffixes[] = {"JR", "SR", "II", "III"};
    pt->suffix = pt->sex == 'M' && gen_chance(&r, 400) ? suffixes[GEN_PICK(&r, suffixes)] : "";

    /* Ages 0..99, weighted towards adults as hospital populations are. */
    uint32_t age = gen_chance(&r, 1200) ? gen_below(&r, 18) : 18 + gen_below(&r, 60) + gen_below(&r, 23);
    pt->dob_days = GEN_EPOCH / 86400 - (int64_t)age * 365 - gen_below(&r, 365);
    pt->marital = age < 20 ? 'S' : "SMMMDWA"[gen_below(&r, 7)];
    pt->alias_last = pt->sex == 'F' && pt->marital != 'S' && gen_chance(&r, 1500)
                         ? gen_last[gen_below(&r, gen_last_n)]
                         : NULL;

    uint32_t fac = slot % gen->opts.facilities;
    pt->city = &gen_cities[(fac * 5 + gen_below(&r, 7)) % gen_cities_n];
    pt->house = 1 + gen_below(&r, 9899);
    pt->street = gen_street[gen_below(&r, gen_street_n)];
    pt->street_sfx = gen_street_suffix[gen_below(&r, gen_street_suffix_n)];
    pt->apt = gen_chance(&r, 2500) ? 1 + gen_below(&r, 420) : 0;
    pt->zip = pt->city->zip3 * 100u + gen_below(&r, 100);
    pt->phone = gen_below(&r, 100);
    pt->work_phone = gen_chance(&r, 4000) ? 100 + gen_below(&r, 100) : 0;
    pt->email = gen_chance(&r, 3500) ? 1 + (int)gen_below(&r, 3) : 0;
    pt->ssn = gen_chance(&r, 7000) ? 900000000u + gen_below(&r, 100000000u) : 0;
    pt->dl = gen_chance(&r, 2000) ? 10000000u + gen_below(&r, 90000000u) : 0;
    pt->hie = gen_chance(&r, 1500) ? 100000000u + gen_below(&r, 900000000u) : 0;
    pt->race = &gen_race[gen_below(&r, 100) < 60 ? 0 : gen_below(&r, gen_race_n)];
    pt->lang = &gen_language[gen_below(&r, gen_language_n)];
}
