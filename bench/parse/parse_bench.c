/* parse_bench.c - throughput of the HL7 parser on one core.
 *
 * Parses a set of messages in a loop with one reused hf_hl7_msg, the way
 * the parser service does, and prints MB/s and messages/s, the median of 5
 * runs. A second figure parses and then visits every non-empty leaf (walk),
 * an upper bound on the cost of any extract step. The messages come from the
 * traffic generator (gen.h: seed 1, v2.5.1, no malformed share; the first
 * 1000 messages), or with --builtin from four hand-written messages of
 * about 1.7 KB, or from FILE arguments (split like `hl7flow parse` does).
 * Synthetic data only: no real patients.
 *
 * usage: parse_bench [-t SECONDS_PER_RUN] [--builtin | FILE...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hl7flow/gen.h"
#include "hl7flow/hl7.h"

#define RUNS 5
#define MAX_MSGS 4096
#ifndef GEN_MSGS
#define GEN_MSGS 1000
#endif

/* Built-in messages: CR terminators, about 1.7-1.8 KB each, fictitious. */
static const char *const BUILTIN[] = {
    /* ADT^A01 admit with NK1, PV1/PV2, insurance and allergies */
    "MSH|^~\\&|EPICADT|GOODHEALTH^1.2.840.114350^ISO|HL7FLOW|REGIONAL^2.16.840.1.113883^ISO|"
    "20240312081512-0500||ADT^A01^ADT_A01|MSG00001274|P|2.5.1|||AL|NE|USA|UNICODE UTF-8\r"
    "EVN|A01|20240312081500-0500|||JSMITH^Smith^Jane^A^^^RN|20240312081000-0500\r"
    "PID|1||884512^^^GOODHEALTH^MR~998877665^^^SSA^SS||TESTPATIENT^ALEXANDRA^MARIE^^MS^^L|"
    "SAMPLE^ROSE|19820415|F||2106-3^White^CDCREC|1200 EXAMPLE AVENUE^APT 4B^SPRINGFIELD^IL^"
    "62704^USA^H||^PRN^PH^^1^217^5550142~^NET^Internet^alexandra.test@example.org|^WPN^PH^^1^"
    "217^5550199|eng^English^ISO6392|M^Married^HL70002|CHR^Christian^HL70006|ACCT44512^^^"
    "GOODHEALTH^AN|||N^Not Hispanic or Latino^HL70189||||||||N\r"
    "PD1|||GOODHEALTH FAMILY PRACTICE^^4455|1234567890^WELBY^MARCUS^J^^DR^MD^^NPI\r"
    "NK1|1|TESTPATIENT^JORDAN^LEE|SPO^Spouse^HL70063|1200 EXAMPLE AVENUE^APT 4B^SPRINGFIELD^IL^"
    "62704^USA|^PRN^PH^^1^217^5550143||EC^Emergency Contact^HL70131\r"
    "PV1|1|I|4WEST^412^B^GOODHEALTH^^N^MAIN^4|E^Emergency^HL70007|||1234567890^WELBY^MARCUS^J^^"
    "DR^MD^^NPI|2233445566^CASEY^BEN^^^DR^MD^^NPI||MED||||7|||1234567890^WELBY^MARCUS^J^^DR^MD^^"
    "NPI|IP^Inpatient|VIS00045123^^^GOODHEALTH^VN|COMM||||||||||||||||||||||||20240312080000-0500\r"
    "PV2|||R07.9^Chest pain, unspecified^I10||||||20240315|3|||||||||||||N\r"
    "IN1|1|BCBS001^Blue Plan PPO|60054^^^^NAIC|BLUE CROSS EXAMPLE|PO BOX 1000^^CHICAGO^IL^60601|"
    "|^WPN^PH^^1^800^5550100|GRP7781|EXAMPLE EMPLOYER INC||||20240101|20241231|||TESTPATIENT^"
    "ALEXANDRA^MARIE|SEL^Self^HL70063|19820415|1200 EXAMPLE AVENUE^APT 4B^SPRINGFIELD^IL^62704\r"
    "AL1|1|DA^Drug allergy^HL70127|7980^Penicillin G^RXNORM|SV^Severe^HL70128|Hives~Wheezing\r"
    "AL1|2|FA^Food allergy^HL70127|256349002^Peanut^SCT|MO^Moderate^HL70128|Swelling\r"
    "DG1|1||R07.9^Chest pain, unspecified^I10|||A|||||||||1|1234567890^WELBY^MARCUS^J^^DR^MD\r",

    /* ORU^R01 lab result panel */
    "MSH|^~\\&|LABSYS^2.16.840.1.113883.3.72.5.20^ISO|CENTRAL LAB^05D0123456^CLIA|HL7FLOW|"
    "REGIONAL|20240312143005-0500||ORU^R01^ORU_R01|LAB20240312-00871|P|2.5.1|||NE|NE|USA\r"
    "PID|1||884512^^^GOODHEALTH^MR||TESTPATIENT^ALEXANDRA^MARIE^^^^L||19820415|F|||1200 EXAMPLE "
    "AVENUE^APT 4B^SPRINGFIELD^IL^62704^USA^H||^PRN^PH^^1^217^5550142\r"
    "ORC|RE|ORD448812^EPIC|LAB99812^LABSYS||CM||||20240312090000-0500|||1234567890^WELBY^MARCUS"
    "^J^^DR^MD^^NPI\r"
    "OBR|1|ORD448812^EPIC|LAB99812^LABSYS|24323-8^Comprehensive metabolic panel^LN|||"
    "20240312091500-0500|||||||||1234567890^WELBY^MARCUS^J^^DR^MD^^NPI||||||20240312142900-0500"
    "|||F\r"
    "OBX|1|NM|2345-7^Glucose^LN||98|mg/dL^milligram per deciliter^UCUM|70-99|N|||F|||"
    "20240312091500-0500|05D0123456^CENTRAL LAB^CLIA\r"
    "OBX|2|NM|3094-0^Urea nitrogen^LN||14|mg/dL^milligram per deciliter^UCUM|7-20|N|||F|||"
    "20240312091500-0500|05D0123456^CENTRAL LAB^CLIA\r"
    "OBX|3|NM|2160-0^Creatinine^LN||0.9|mg/dL^milligram per deciliter^UCUM|0.6-1.1|N|||F|||"
    "20240312091500-0500|05D0123456^CENTRAL LAB^CLIA\r"
    "OBX|4|NM|2951-2^Sodium^LN||139|mmol/L^millimole per liter^UCUM|135-145|N|||F|||"
    "20240312091500-0500|05D0123456^CENTRAL LAB^CLIA\r"
    "OBX|5|NM|2823-3^Potassium^LN||5.6|mmol/L^millimole per liter^UCUM|3.5-5.1|H|||F|||"
    "20240312091500-0500|05D0123456^CENTRAL LAB^CLIA\r"
    "OBX|6|NM|2075-0^Chloride^LN||101|mmol/L^millimole per liter^UCUM|98-107|N|||F|||"
    "20240312091500-0500|05D0123456^CENTRAL LAB^CLIA\r"
    "OBX|7|NM|17861-6^Calcium^LN||9.4|mg/dL^milligram per deciliter^UCUM|8.6-10.3|N|||F|||"
    "20240312091500-0500|05D0123456^CENTRAL LAB^CLIA\r"
    "NTE|1|L|Potassium result verified by repeat analysis.\\.br\\Specimen not hemolyzed.\r"
    "OBX|8|NM|1751-7^Albumin^LN||4.2|g/dL^gram per deciliter^UCUM|3.5-5.0|N|||F|||"
    "20240312091500-0500|05D0123456^CENTRAL LAB^CLIA\r"
    "SPM|1|LAB99812&LABSYS||119297000^Blood specimen^SCT|||||||||||||20240312091500-0500|"
    "20240312093000-0500\r",

    /* ORM^O01 radiology order with notes */
    "MSH|^~\\&|RISORDER|GOODHEALTH|HL7FLOW|REGIONAL|20240313101522||ORM^O01^ORM_O01|"
    "ORM0000993812|P|2.4|||AL|NE\r"
    "PID|1||771204^^^GOODHEALTH^MR~123-45-6789^^^SSA^SS||EXAMPLE^ROBERT^JAMES^JR^MR||19570903|"
    "M||2054-5^Black or African American^HL70005|77 SAMPLE ROAD^^RIVERTON^WY^82501^USA^H||"
    "^PRN^PH^^1^307^5550177|^WPN^PH^^1^307^5550178|eng|W|BAP|ACCT77120^^^GOODHEALTH^AN\r"
    "PV1|1|O|RAD^XR2^1^GOODHEALTH||||3344556677^ORTIZ^SOFIA^^^DR^MD^^NPI|||RAD||||1|||"
    "3344556677^ORTIZ^SOFIA^^^DR^MD^^NPI|OP|VIS00077311^^^GOODHEALTH^VN\r"
    "ORC|NW|ORD771001^RIS|||SC||1^^^20240313110000^^R||20240313101500|CLERK01^Desk^Pat|||"
    "RAD^Radiology^GOODHEALTH|^WPN^PH^^1^307^5550100|20240313101500||GOODHEALTH\r"
    "OBR|1|ORD771001^RIS||71046^XR CHEST 2 VIEWS^CPT^RAD0021^Chest PA and lateral^L|R|"
    "20240313101500|||||||||3344556677^ORTIZ^SOFIA^^^DR^MD^^NPI|^WPN^PH^^1^307^5550100|"
    "ACC2024031300114||||||XR|||1^^^20240313110000^^R||||R05.9^Cough, unspecified^I10\r"
    "NTE|1|P|Patient reports persistent dry cough for three weeks; no fever.\r"
    "NTE|2|P|Prior study 2023-11-02 available in PACS for comparison.\r"
    "DG1|1|I10|R05.9^Cough, unspecified^I10||20240313|W\r"
    "DG1|2|I10|J45.909^Unspecified asthma, uncomplicated^I10||20240313|W\r"
    "OBX|1|ST|8302-2^Body height^LN||178|cm^centimeter^UCUM|||||F\r"
    "OBX|2|ST|29463-7^Body weight^LN||84|kg^kilogram^UCUM|||||F\r"
    "OBX|3|TX|HISTORY^Clinical history^L||Former smoker, quit 2010. Occupational dust exposure"
    " (mining) 1980-1995. Request: rule out interstitial change \\T\\ compare with prior.||||||F\r"
    "ZRD|1|PORTABLE^N|CONTRAST^N|PREGNANT^NA|ISOLATION^N|TRANSPORT^WALK\r",

    /* SIU^S12 appointment */
    "MSH|^~\\&|SCHEDULER|GOODHEALTH^1.2.840.114350^ISO|HL7FLOW|REGIONAL|20240314093011-0500||"
    "SIU^S12^SIU_S12|SIU2024031400045|P|2.5.1|||AL|NE|USA\r"
    "SCH|APT558120^SCHEDULER|APT558120^SCHEDULER|||ROUTINE^Routine^HL70276|FOLLOWUP^Follow-up "
    "visit^HL70277|Post-discharge follow-up, chest pain work-up|30|min|^^30^20240320140000-0500"
    "^20240320143000-0500|1234567890^WELBY^MARCUS^J^^DR^MD^^NPI|^WPN^PH^^1^217^5550199|"
    "4455 CLINIC WAY^^SPRINGFIELD^IL^62704|1234567890^WELBY^MARCUS^J^^DR^MD^^NPI|^WPN^PH^^1^217"
    "^5550199|4455 CLINIC WAY^^SPRINGFIELD^IL^62704|CLERK02^Front^Desk||BOOKED^Booked^HL70278\r"
    "TQ1|1||||||20240320140000-0500|20240320143000-0500|R\r"
    "NTE|1|P|Bring current medication list and discharge summary.\r"
    "PID|1||884512^^^GOODHEALTH^MR~998877665^^^SSA^SS||TESTPATIENT^ALEXANDRA^MARIE^^MS^^L|"
    "SAMPLE^ROSE|19820415|F||2106-3^White^CDCREC|1200 EXAMPLE AVENUE^APT 4B^SPRINGFIELD^IL^"
    "62704^USA^H||^PRN^PH^^1^217^5550142~^NET^Internet^alexandra.test@example.org|^WPN^PH^^1^"
    "217^5550199|eng^English^ISO6392|M^Married^HL70002\r"
    "PV1|1|O|CLINIC^EXAM3^1^GOODHEALTH||||1234567890^WELBY^MARCUS^J^^DR^MD^^NPI||||||||||||"
    "VIS00045999^^^GOODHEALTH^VN\r"
    "RGS|1|A|CARDIO^Cardiology clinic\r"
    "AIS|1|A|99214^Office visit, established^CPT|20240320140000-0500|0|min|30|min|BOOKED\r"
    "AIG|1|A|1234567890^WELBY^MARCUS^J^^DR^MD^^NPI|MD^Physician|||20240320140000-0500|0|min|30"
    "|min|BOOKED\r"
    "AIL|1|A|CLINIC^EXAM3^1^GOODHEALTH|EXAM^Exam room|||20240320140000-0500|0|min|30|min|BOOKED"
    "\r"
    "AIP|1|A|5566778899^NURSE^KELLY^^^^RN^^NPI|RN^Registered nurse|||20240320140000-0500|0|min|"
    "15|min|BOOKED\r"
    "ZSC|1|REMINDER^SMS^2024031908000|LANG^eng|TRANSPORT^NONE|COPAY^25.00^USD\r",
};

typedef struct msgset {
    hf_span *m;
    size_t n;
    size_t bytes;
} msgset;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int count_leaf(const hf_hl7_leaf *leaf, void *ctx) {
    *(size_t *)ctx += leaf->value.len;
    return 0;
}

/* One timed run: parses (and walks when @p walk) the set over and over for
 * about @p secs seconds. Returns messages per second. */
static double run_once(const msgset *set, hf_hl7_msg *msg, int walk, double secs, size_t *sink) {
    size_t done = 0;
    double t0 = now_s(), t;
    do {
        for (int rep = 0; rep < 64; rep++) {
            for (size_t i = 0; i < set->n; i++) {
                if (hf_hl7_parse_into(msg, set->m[i], NULL, NULL) != HF_OK)
                    abort();
                if (walk)
                    hf_hl7_walk(msg, count_leaf, sink);
                *sink += hf_hl7_seg_count(msg);
            }
            done += set->n;
        }
        t = now_s() - t0;
    } while (t < secs);
    return (double)done / t;
}

static int load_files(msgset *set, hf_hl7_msg *msg, int argc, char **argv, int first) {
    for (int a = first; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (f == NULL) {
            perror(argv[a]);
            return -1;
        }
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = malloc(n > 0 ? (size_t)n : 1); /* kept until exit: spans point into it */
        if (buf == NULL || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
            fclose(f);
            return -1;
        }
        fclose(f);
        hf_hl7_splitter sp;
        hf_span m;
        hf_hl7_split_init(&sp, (hf_span){buf, (size_t)n});
        for (;;) {
            hf_status st = hf_hl7_split_next(&sp, &m, NULL);
            if (st == HF_ENOTFOUND)
                break;
            if (st != HF_OK || set->n == MAX_MSGS)
                continue;
            if (hf_hl7_parse_into(msg, m, NULL, NULL) != HF_OK)
                continue; /* the bench measures messages that parse */
            set->m[set->n++] = m;
            set->bytes += m.len;
        }
    }
    return 0;
}

/* Copies the first GEN_MSGS valid generated messages into one buffer (kept
 * until exit: the spans point into it). */
static int load_generated(msgset *set) {
    hf_gen_opts opts;
    hf_gen *gen = NULL;
    hf_gen_msg gm;
    char *buf = NULL;
    size_t used = 0, cap = 0;
    hf_gen_opts_default(&opts);
    if (hf_gen_new(&opts, &gen, NULL) != HF_OK)
        return -1;
    size_t *off = calloc(GEN_MSGS, sizeof *off), *len = calloc(GEN_MSGS, sizeof *len);
    int rc = -1;
    if (off == NULL || len == NULL)
        goto out;
    for (size_t i = 0; i < GEN_MSGS; i++) {
        if (hf_gen_next(gen, &gm) != HF_OK)
            goto out;
        if (used + gm.len > cap) {
            size_t ncap = cap == 0 ? (size_t)1 << 22 : cap * 2;
            while (ncap < used + gm.len)
                ncap *= 2;
            char *nb = realloc(buf, ncap);
            if (nb == NULL)
                goto out;
            buf = nb;
            cap = ncap;
        }
        memcpy(buf + used, gm.data, gm.len);
        off[i] = used;
        len[i] = gm.len;
        used += gm.len;
    }
    for (size_t i = 0; i < GEN_MSGS; i++) {
        set->m[set->n++] = (hf_span){buf + off[i], len[i]};
        set->bytes += len[i];
    }
    buf = NULL; /* owned by the set until exit */
    rc = 0;
out:
    free(buf);
    free(off);
    free(len);
    hf_gen_destroy(gen);
    return rc;
}

int main(int argc, char **argv) {
    double secs = 0.5;
    int first = 1;
    msgset set = {calloc(MAX_MSGS, sizeof(hf_span)), 0, 0};
    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        secs = atof(argv[2]);
        first = 3;
    }
    hf_hl7_msg *msg = hf_hl7_msg_new();
    if (set.m == NULL || msg == NULL)
        return 1;
    const char *source = "generated (gen.h, seed 1)";
    if (first < argc && strcmp(argv[first], "--builtin") == 0) {
        source = "built-in";
        for (size_t i = 0; i < sizeof BUILTIN / sizeof BUILTIN[0]; i++) {
            set.m[set.n++] = (hf_span){BUILTIN[i], strlen(BUILTIN[i])};
            set.bytes += strlen(BUILTIN[i]);
        }
    } else if (first < argc) {
        source = "files";
        if (load_files(&set, msg, argc, argv, first) != 0 || set.n == 0) {
            fprintf(stderr, "parse_bench: no parsable message in the files given\n");
            return 1;
        }
    } else if (load_generated(&set) != 0) {
        fprintf(stderr, "parse_bench: the generator failed\n");
        return 1;
    }
    for (size_t i = 0; i < set.n; i++) { /* only messages that parse are timed */
        hf_err err = {0};
        if (hf_hl7_parse_into(msg, set.m[i], NULL, &err) != HF_OK) {
            fprintf(stderr, "parse_bench: message %zu does not parse: %s\n", i + 1, err.msg);
            return 1;
        }
    }
    size_t sink = 0;
    double avg = (double)set.bytes / (double)set.n;
    printf("parse_bench: %zu %s messages, %.0f bytes average, %d runs of %.2f s, one core\n",
           set.n, source, avg, RUNS, secs);
    for (int walk = 0; walk < 2; walk++) {
        double r[RUNS];
        for (int i = 0; i < RUNS; i++)
            r[i] = run_once(&set, msg, walk, secs, &sink);
        qsort(r, RUNS, sizeof r[0], cmp_double);
        double med = r[RUNS / 2];
        printf("%-11s median %10.0f msgs/s %9.1f MB/s   (min %.0f, max %.0f msgs/s)\n",
               walk ? "parse+walk" : "parse", med, med * avg / 1e6, r[0], r[RUNS - 1]);
    }
    hf_hl7_msg_destroy(msg);
    free(set.m);
    return sink == 0; /* keep the work observable */
}
