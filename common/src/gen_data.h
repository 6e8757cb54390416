/* gen_data.h - the generator's vocabulary (internal): synthetic names and
 * places, and the code tables that make messages look like real traffic
 * (LOINC lab tests and panels, ICD-10 diagnoses, allergens, charges, note
 * sentences). All tables are constant data in gen_data.c; each comes with
 * its element count. No entry names a real person.
 */
#ifndef HF_GEN_DATA_H
#define HF_GEN_DATA_H

#include <stdint.h>

/* Declares table @p name of @p type elements and its count name##_n. */
#define GEN_TABLE(type, name)       \
    extern type const name[];       \
    extern const uint32_t name##_n

GEN_TABLE(const char *, gen_male_first);   /* given names */
GEN_TABLE(const char *, gen_female_first);
GEN_TABLE(const char *, gen_last);         /* family names (some hyphenated, a few UTF-8) */
GEN_TABLE(const char *, gen_street);       /* street names without suffix */
GEN_TABLE(const char *, gen_street_suffix);
GEN_TABLE(const char *, gen_note_sentence); /* clinical-sounding filler for MDM notes */
GEN_TABLE(const char *, gen_nte_text);      /* order / result comments (may hold & | ^) */
GEN_TABLE(const char *, gen_reaction);      /* allergy reactions */

typedef struct gen_city {
    const char *name;
    const char *state; /* two-letter code */
    uint16_t zip3;     /* first three zip digits */
    uint16_t area;     /* telephone area code */
} gen_city;
GEN_TABLE(gen_city, gen_cities);

typedef struct gen_coded {
    const char *code;
    const char *text;
    const char *system; /* HL7 coding system name: LN, I10, RXNORM, SCT, ... */
} gen_coded;
GEN_TABLE(gen_coded, gen_race);          /* CDC race codes */
GEN_TABLE(gen_coded, gen_language);      /* PID-15 */
GEN_TABLE(gen_coded, gen_relation);      /* NK1-3, table 0063 */
GEN_TABLE(gen_coded, gen_diagnosis);     /* ICD-10-CM */
GEN_TABLE(gen_coded, gen_qual_result);   /* urine dipstick answers */
GEN_TABLE(gen_coded, gen_organism);      /* culture results */
GEN_TABLE(gen_coded, gen_doc_kind);      /* code = TXA-2 (table 0270), text, system = LOINC code */

typedef struct gen_allergen {
    const char *code;
    const char *text;
    const char *system;
    const char *type; /* AL1-2: DA drug, FA food, EA environmental */
} gen_allergen;
GEN_TABLE(gen_allergen, gen_allergens);

typedef struct gen_insurer {
    const char *plan_id;
    const char *name;
    const char *plan_type; /* IN1-15 */
    const char *street;
    const char *city_state_zip; /* "city^ST^zip" */
} gen_insurer;
GEN_TABLE(gen_insurer, gen_insurers);

typedef struct gen_charge {
    const char *code; /* CPT / HCPCS style */
    const char *text;
    uint32_t cents;   /* unit price */
} gen_charge;
GEN_TABLE(gen_charge, gen_charges);

typedef struct gen_unit {
    const char *code;    /* nursing unit, PV1-3.1 */
    const char *service; /* hospital service, PV1-10 */
} gen_unit;
GEN_TABLE(gen_unit, gen_units);

/* Value kinds of a lab test's OBX-2. */
enum { GEN_NM, GEN_ST, GEN_CE_QUAL, GEN_CE_ORG, GEN_TX };

typedef struct gen_test {
    const char *code; /* LOINC */
    const char *name;
    uint8_t kind;     /* GEN_NM, ... */
    uint8_t dec;      /* NM: decimals of lo/hi/value */
    const char *unit; /* NM: UCUM-ish, raw (escaped when written) */
    int32_t lo, hi;   /* NM: reference range, scaled by 10^dec */
} gen_test;
GEN_TABLE(gen_test, gen_tests);

typedef struct gen_panel {
    const char *code; /* LOINC panel / order code */
    const char *name;
    const char *section; /* OBR-24 diagnostic service section */
    const char *specimen;
    uint16_t weight;  /* relative frequency in orders */
    uint8_t n;        /* tests in the panel */
    uint8_t tests[16]; /* indexes into gen_tests*/
} gen_panel;
GEN_TABLE(gen_panel, gen_panels);
extern const uint32_t gen_panel_weight_total;

#endif
