/* test_profile_check.c - unit tests for hf_profile_check (profile.h,
 * profile_check.c, profile_struct.c): every check kind (required field and
 * component, usage X, data types, tables, lengths, repetitions, version
 * ranges, VARIES, the HL7 null), message structure (missing, out of place,
 * groups, choices, ignored segments), section choice, locations with
 * repetitions and segment occurrences, the max-violations limit, the
 * one-line format, and that no violation text quotes message content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"
#include "hl7flow/profile.h"

#define MAXV 32

typedef struct result {
    size_t n;                     /* total violations */
    hf_profile_violation v[MAXV]; /* the first MAXV */
    char line[2048];              /* "code@LOC code@LOC ..." */
    char which[32];               /* section key */
} result;

/* Checks message @p msg (segments separated by '\r', given with '\n' for
 * readability) against rule text @p rules. */
static void run(const char *rules, const char *msg, result *out) {
    hf_profile *p = NULL;
    hf_err err = {0};
    if (hf_profile_load_text("t.rules", rules, strlen(rules), &p, &err) != HF_OK)
        fail_msg("load: %s", err.msg);
    size_t len = strlen(msg);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    for (size_t i = 0; i <= len; i++)
        buf[i] = msg[i] == '\n' ? '\r' : msg[i];
    hf_hl7_msg *m = NULL;
    if (hf_hl7_parse((hf_span){buf, len}, NULL, &m, &err) != HF_OK)
        fail_msg("parse: %s", err.msg);
    memset(out, 0, sizeof *out);
    out->n = hf_profile_check(p, m, out->v, MAXV);
    size_t k = out->n < MAXV ? out->n : MAXV;
    for (size_t i = 0; i < k; i++) {
        size_t used = strlen(out->line);
        snprintf(out->line + used, sizeof out->line - used, "%s%s@%s", i ? " " : "",
                 hf_pv_code_name(out->v[i].code), out->v[i].loc);
        /* no violation text ever carries a value of the message */
        assert_null(strstr(out->v[i].reason, "SECRET"));
        assert_null(strstr(out->v[i].loc, "SECRET"));
    }
    snprintf(out->which, sizeof out->which, "%s", hf_profile_which(p, m));
    hf_hl7_msg_destroy(m);
    free(buf);
    hf_profile_destroy(p);
}

static void expect(const char *rules, const char *msg, const char *want) {
    result r;
    run(rules, msg, &r);
    if (strcmp(r.line, want) != 0)
        fail_msg("got  '%s'\nwant '%s'", r.line, want);
}

#define MSH "MSH|^~\\&|APP|FAC|||20240101||ADT^A01|C1|P|2.5\n"

/* ---------------------------------------------------------------- fields */

static void required_field_and_component(void **state) {
    (void)state;
    const char *rules = "field PID-3 CX R\nfield PID-3.1 ST R\nfield PID-5 XPN R\n";
    expect(rules, MSH "PID|1||SECRET1^^^H^MR||DOE\n", "");
    expect(rules, MSH "PID|1||||DOE\n", "required_empty@PID-3");
    expect(rules, MSH "PID|1||^^^H^MR||\n",
           "required_empty@PID-3.1 required_empty@PID-5");
    /* a component rule looks at every non-empty repetition */
    expect(rules, MSH "PID|1||SECRET1^^^H^MR~^^^SSA^SS~~SECRET2||X\n",
           "required_empty@PID-3[2].1");
    /* the HL7 null counts as a value */
    expect(rules, MSH "PID|1||\"\"||\"\"\n", "");
    result r;
    run(rules, MSH "PID|1||||DOE\n", &r);
    assert_string_equal(r.v[0].reason, "required field is empty");
    run(rules, MSH "PID|1||^^^H||DOE\n", &r);
    assert_string_equal(r.v[0].reason, "required component is empty");
}

static void usage_x_must_be_empty(void **state) {
    (void)state;
    const char *rules = "field PID-19 ST X\nfield PID-3.4 HD X\n";
    expect(rules, MSH "PID|1||123\n", "");
    expect(rules, MSH "PID|1||123^^^SECRET||||||||||||||||SECRET\n",
           "not_allowed@PID-3.4 not_allowed@PID-19");
}

static void dates_and_numbers_in_fields(void **state) {
    (void)state;
    const char *rules = "field PID-7 TS O\nfield OBX-1 SI O\nfield OBX-7 NM O\n"
                        "field PV1-45 TS O\n";
    expect(rules, MSH "PID|1||1||X||19870203\nPV1|1|I\nOBX|1||||||5.5\n", "");
    expect(rules, MSH "PID|1||1||X||19870230\n", "bad_format@PID-7");
    /* every repetition is checked and located */
    char pv1[128] = MSH "PV1|1|I";
    for (int f = 3; f <= 45; f++)
        strcat(pv1, "|");
    strcat(pv1, "20240101~20241301~2024\n");
    expect(rules, pv1, "bad_format@PV1-45[2]");
    expect(rules, MSH "OBX|x||||||1,5\n", "bad_format@OBX-1 bad_format@OBX-7");
    result r;
    run(rules, MSH "PID|1||1||X||20231345\n", &r);
    assert_string_equal(r.v[0].reason, "not a valid DTM (month out of range)");
}

static void tables_never_quote_the_value(void **state) {
    (void)state;
    const char *rules = "table 0001 F M\ntable 0103 D P T\n"
                        "field PID-8 IS O table 0001\nfield MSH-11.1 ID R table 0103\n";
    expect(rules, MSH "PID|1||1||X|||F\n", "");
    expect(rules, MSH "PID|1||1||X|||SECRET\n", "not_in_table@PID-8");
    expect(rules, MSH "PID|1||1||X|||f\n", "not_in_table@PID-8"); /* case matters */
    expect(rules, MSH "PID|1||1||X|||F^Female^HL70001\n", "");    /* CWE: component 1 */
    expect(rules, MSH "PID|1||1||X|||F  \n", "");   /* ST rule: trailing blanks optional */
    expect(rules, MSH "PID|1||1||X||| F\n", "not_in_table@PID-8"); /* leading ones count */
    expect(rules, MSH "PID|1||1||X|||F~M\n", "");   /* every repetition is looked up */
    expect(rules, MSH "PID|1||1||X|||F~SECRET\n", "not_in_table@PID-8[2]");
    expect(rules, "MSH|^~\\&|||||||ADT^A01|1|X^T|2.5\n", "not_in_table@MSH-11.1");
    result r;
    run(rules, MSH "PID|1||1||X|||SECRET\n", &r);
    assert_string_equal(r.v[0].reason, "not in table 0001");
}

static void lengths_and_repetitions(void **state) {
    (void)state;
    const char *rules = "field MSH-10 ST R len 5 reps 1\nfield PID-3 CX O len 6\n"
                        "field PID-3.1 ST O len 3\n";
    expect(rules, "MSH|^~\\&|||||||ADT^A01|12345|P|2.5\nPID|1||12^^^H\n", "");
    expect(rules, "MSH|^~\\&|||||||ADT^A01|123456|P|2.5\n", "too_long@MSH-10");
    expect(rules, "MSH|^~\\&|||||||ADT^A01|1~2|P|2.5\n", "too_many_repetitions@MSH-10");
    expect(rules, "MSH|^~\\&|||||||ADT^A01|1|P|2.5\nPID|1||12^^^H~1234^^^HOSP\n",
           "too_long@PID-3[2] too_long@PID-3[2].1");
    result r;
    run(rules, "MSH|^~\\&|||||||ADT^A01|123456|P|2.5\n", &r);
    assert_string_equal(r.v[0].reason, "too long (6 bytes, max 5)");
    run(rules, "MSH|^~\\&|||||||ADT^A01|1~2~3|P|2.5\n", &r);
    assert_string_equal(r.v[0].reason, "too many repetitions (3, max 1)");
}

static void version_ranges_follow_msh12(void **state) {
    (void)state;
    const char *rules = "field MSH-9.2 ID R since 2.3\nfield MSH-7 TS R since 2.5\n"
                        "field PID-19 ST X since 2.5.1\n";
    expect(rules, "MSH|^~\\&|||||||ADT|1|P|2.2\n", "");
    expect(rules, "MSH|^~\\&|||||||ADT|1|P|2.3\n", "required_empty@MSH-9.2");
    expect(rules, "MSH|^~\\&|||||||ADT^A01|1|P|2.5\n", "required_empty@MSH-7");
    expect(rules, "MSH|^~\\&|||||20240101||ADT^A01|1|P|2.5\nPID|1||||||||||||||||||SSN\n",
           "");
    expect(rules, "MSH|^~\\&|||||20240101||ADT^A01|1|P|2.5.1\nPID|1||||||||||||||||||SSN\n",
           "not_allowed@PID-19");
    /* no readable version: checked as the newest */
    expect(rules, "MSH|^~\\&|||||||ADT|1|P|\n", "required_empty@MSH-7 required_empty@MSH-9.2");
    expect(rules, "MSH|^~\\&|||||||ADT|1|P|v25^x\n", "required_empty@MSH-7 required_empty@MSH-9.2");
}

static void varies_takes_the_type_from_another_field(void **state) {
    (void)state;
    const char *rules = "field OBX-5 VARIES O typed-by 2\n";
    expect(rules, MSH "OBX|1|NM|X||5.2\nOBX|2|ST|X||<5\nOBX|3|TS|X||20240101^S\n"
                  "OBX|4|DT|X||2024\nOBX|5|CWE|X||a^b\nOBX|6|NM|X||\"\"\nOBX|7|ZZ|X||?\n",
           "");
    expect(rules, MSH "OBX|1|NM|X||SECRET\nOBX|2|DT|X||20240213000000\nOBX|3|NM|X||1~x\n",
           "bad_format@OBX-5 bad_format@OBX[2]-5 bad_format@OBX[3]-5[2]");
    result r;
    run(rules, MSH "OBX|1|NM|X||SECRET\n", &r);
    assert_string_equal(r.v[0].reason, "not a valid NM (no digits)");
}

static void varies_type_code_is_the_first_component(void **state) {
    (void)state;
    /* only the code before a component or repetition separator counts */
    const char *rules = "field OBX-5 VARIES O typed-by 2\n";
    expect(rules, MSH "OBX|1|NM^x|X||SECRET\nOBX|2|DTM~TS|X||2024133\nOBX|3|N^M|X||a\n"
                  "OBX|4|NMX|X||a\nOBX|5|DT|X||20240230\nOBX|6|^NM|X||a\nOBX|7|TS^|X||99\n",
           "bad_format@OBX-5 bad_format@OBX[2]-5 bad_format@OBX[5]-5 bad_format@OBX[7]-5");
}

static void literal_msh_fields(void **state) {
    (void)state;
    const char *rules = "field MSH-1 ST R len 1\nfield MSH-2 ST R len 5\n";
    expect(rules, MSH, ""); /* MSH-2 holds ~ but is one value */
    expect("field MSH-2 ST R len 3\n", MSH, "too_long@MSH-2");
}

static void section_rule_replaces_global_rule(void **state) {
    (void)state;
    const char *rules = "field PID-7 TS R\nfield PID-8 IS R\n"
                        "message ADT^A01\nfield PID-7 TS O\n";
    expect(rules, MSH "PID|1\n", "required_empty@PID-8"); /* ADT^A01: PID-7 optional */
    expect(rules, "MSH|^~\\&|||||||ADT^A02|1|P|2.5\nPID|1\n",
           "required_empty@PID-7 required_empty@PID-8");
}

/* ------------------------------------------- compiled plans (profile_plan.c) */

static void version_bands_pick_the_rules_of_each_version(void **state) {
    (void)state;
    /* bands start at 2.3, 2.4, 2.5 and 2.6 (until 2.5 ends after 2.5.9) */
    const char *rules = "field MSH-7 TS O until 2.4\nfield MSH-7 TS R since 2.5\n"
                        "field PID-18 CX X since 2.3 until 2.5\nfield PID-19 ST R since 2.4\n"
                        "field PID-20 ST R\n";
    const char *pid = "PID|1|||||||||||||||||SECRET\n"; /* PID-18 */
    char msg[256];
    static const struct {
        const char *version, *want;
    } cases[] = {
        {"2.2", "required_empty@PID-20"},
        {"2.3", "not_allowed@PID-18 required_empty@PID-20"},
        {"2.4", "not_allowed@PID-18 required_empty@PID-19 required_empty@PID-20"},
        {"2.5.1", "required_empty@MSH-7 not_allowed@PID-18 required_empty@PID-19 "
                  "required_empty@PID-20"},
        {"2.6", "required_empty@MSH-7 required_empty@PID-19 required_empty@PID-20"},
        {"x", "required_empty@MSH-7 required_empty@PID-19 required_empty@PID-20"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(msg, sizeof msg, "MSH|^~\\&|||||||ADT^A01|1|P|%s\n%s", cases[i].version, pid);
        expect(rules, msg, cases[i].want);
    }
}

static void absent_trailing_fields_still_report_required_ones(void **state) {
    (void)state;
    /* PID-7 and PID-8 are beyond the segment's end: PID-30 (R) still
     * reports, the optional ones in between stay quiet */
    const char *rules = "field PID-7 TS O\nfield PID-8 IS O table T\nfield PID-30 ID R\n"
                        "field PID-31 ID O\ntable T F M\n";
    expect(rules, MSH "PID|1||X\n", "required_empty@PID-30");
    expect(rules, MSH "PID|1||X||||19990231|Q\n",
           "bad_format@PID-7 not_in_table@PID-8 required_empty@PID-30");
    expect(rules, MSH "PID|1||X||||19990228|F" "||||||||||||||||||||||Y|SECRET\n", "");
}

static void component_rules_on_repetitions(void **state) {
    (void)state;
    const char *rules = "field PID-3.1 ST R len 4\nfield PID-3.4 ID O table T\n"
                        "field FT1-4.1 TS O\ntable T AA BB\n";
    expect(rules, MSH "PID|1||1^^^AA~2^^^BB~~3\n", "");
    expect(rules, MSH "PID|1||1^^^AA~^^^BB~12345^^^CC\n",
           "required_empty@PID-3[2].1 too_long@PID-3[3].1 not_in_table@PID-3[3].4");
    expect(rules, MSH "FT1|1|||20240229&x~20240230^z~202402291200-0500\n",
           "bad_format@FT1-4[2].1");
    expect(rules, MSH "FT1|1|||20230229\n", "bad_format@FT1-4.1");
}

static void component_rules_on_literal_msh_fields(void **state) {
    (void)state;
    /* MSH-1 and MSH-2 are never split: a component rule sees one value */
    expect("field MSH-2.1 ST R len 2\n", MSH, "too_long@MSH-2.1");
    expect("field MSH-2.2 ST R\n", MSH, "");
    expect("field MSH-2.1 TS O\n", MSH, "bad_format@MSH-2.1");
}

/* ------------------------------------------------------------- structure */

static const char ORU[] =
    "message ORU^R01\n"
    "structure MSH [{SFT}] { [PID [PD1] [PV1]] { [ORC] OBR [{NTE}] [{OBX [{NTE}]}] } }\n";

#define ORU_MSH "MSH|^~\\&|||||||ORU^R01|1|P|2.5\n"

static void structure_accepts_the_grammar(void **state) {
    (void)state;
    expect(ORU, ORU_MSH "PID\nORC\nOBR\nOBX\nNTE\nOBX\nORC\nOBR\nOBX\n", "");
    expect(ORU, ORU_MSH "SFT\nSFT\nPID\nPV1\nOBR\nNTE\nNTE\nOBR\nOBX\n", "");
    expect(ORU, ORU_MSH "PID\nOBR\nPID\nOBR\nOBX\n", ""); /* two patients */
    /* unknown and unnamed segments are ignored by the structure */
    expect(ORU, ORU_MSH "ZDS\nPID\nZPD\nOBR\nTQ1\nOBX\nZZZ\n", "");
}

static void obx_without_obr_names_the_missing_obr(void **state) {
    (void)state;
    expect(ORU, ORU_MSH "PID\nORC\nOBX\nOBX\n", "segment_missing@OBR");
    expect(ORU, ORU_MSH "PID\nORC\nOBX\nORC\nOBX\n", "segment_missing@OBR segment_missing@OBR");
    result r;
    run(ORU, ORU_MSH "PID\nORC\nOBX\nOBX\n", &r);
    assert_string_equal(r.v[0].reason, "required segment missing (before OBX)");
    run(ORU, ORU_MSH "PID\nOBR\nOBX\nORC\nOBX\n", &r);
    assert_string_equal(r.v[0].reason, "required segment missing (before OBX[2])");
}

static void out_of_place_segment(void **state) {
    (void)state;
    /* PD1 after PV1 cannot be reached forward: out of place, then skipped */
    expect(ORU, ORU_MSH "PID\nPV1\nPD1\nOBR\n", "segment_unexpected@PD1");
    result r;
    run(ORU, ORU_MSH "PID\nPV1\nPD1\nOBR\n", &r);
    assert_string_equal(r.v[0].reason, "segment not expected here (after PV1)");
    run(ORU, ORU_MSH "SFT\nPID\nOBR\nSFT\nOBX\n", &r);
    assert_string_equal(r.line, "segment_unexpected@SFT[2]");
    assert_string_equal(r.v[0].reason, "segment not expected here (after OBR)");
}

static void missing_at_end_lists_the_shortest_completion(void **state) {
    (void)state;
    const char *adt = "message ADT^A01\nstructure MSH EVN PID [PD1] [{NK1}] PV1 [{AL1}] DG1\n";
    expect(adt, MSH "EVN\nPID\nNK1\nPV1\nDG1\n", "");
    expect(adt, MSH "EVN\nPID\n", "segment_missing@PV1 segment_missing@DG1");
    expect(adt, MSH "EVN\nPV1\nDG1\n", "segment_missing@PID");
    expect(adt, MSH "PV1\nDG1\n", "segment_missing@EVN segment_missing@PID");
    result r;
    run(adt, MSH "EVN\nPID\n", &r);
    assert_string_equal(r.v[0].reason, "required segment missing (after PID)");
    run(adt, MSH "EVN\nPV1\nDG1\n", &r);
    assert_string_equal(r.v[0].reason, "required segment missing (before PV1)");
    run(adt, MSH, &r);
    assert_string_equal(r.line, "segment_missing@EVN segment_missing@PID segment_missing@PV1 "
                                "segment_missing@DG1");
    assert_string_equal(r.v[0].reason, "required segment missing (after MSH)");
}

static void choices_and_repeated_groups(void **state) {
    (void)state;
    const char *r1 = "message ORM^O01\nstructure MSH {ORC [<OBR|RQD [RQ1]|RXO>] [{OBX}]}\n";
    const char *h = "MSH|^~\\&|||||||ORM^O01|1|P|2.5\n";
    char msg[256];
    snprintf(msg, sizeof msg, "%sORC\nOBR\nOBX\nORC\nRQD\nRQ1\nORC\nRXO\nORC\n", h);
    expect(r1, msg, "");
    /* a second order without its ORC needs a step back: out of place */
    snprintf(msg, sizeof msg, "%sORC\nOBR\nRXO\n", h);
    expect(r1, msg, "segment_unexpected@RXO");
    snprintf(msg, sizeof msg, "%sOBR\n", h);
    expect(r1, msg, "segment_missing@ORC");
    snprintf(msg, sizeof msg, "%sORC\nRQ1\n", h);
    expect(r1, msg, "segment_missing@RQD");
}

static void ambiguous_grammar_keeps_every_reading(void **state) {
    (void)state;
    /* NTE may sit before or after NK1; both readings stay alive */
    const char *r1 = "message ORU^R01\nstructure MSH PID [{NTE}] [{NK1}] [{NTE}] OBR\n";
    expect(r1, ORU_MSH "PID\nNTE\nOBR\n", "");
    expect(r1, ORU_MSH "PID\nNK1\nNTE\nOBR\n", "");
    expect(r1, ORU_MSH "PID\nNTE\nNK1\nNTE\nOBR\n", "");
    expect(r1, ORU_MSH "PID\nNTE\nNK1\nNTE\nNK1\nOBR\n", "segment_unexpected@NK1[2]");
}

static void sections_by_type_event_wildcard_and_star(void **state) {
    (void)state;
    const char *rules = "message ADT^A01\nstructure MSH EVN\n"
                        "message ADT^*\nstructure MSH PID\n"
                        "message *\nstructure MSH ZZZ\n";
    result r;
    run(rules, "MSH|^~\\&|||||||ADT^A01^ADT_A01|1|P|2.5\nEVN\n", &r);
    assert_string_equal(r.which, "ADT^A01");
    assert_int_equal(r.n, 0);
    run(rules, "MSH|^~\\&|||||||ADT^A02|1|P|2.5\nPID\n", &r);
    assert_string_equal(r.which, "ADT^*");
    assert_int_equal(r.n, 0);
    run(rules, "MSH|^~\\&|||||||ADT|1|P|2.1\nPID\n", &r); /* no event */
    assert_string_equal(r.which, "ADT^*");
    run(rules, "MSH|^~\\&|||||||ORU^R01|1|P|2.5\nZZZ\n", &r);
    assert_string_equal(r.which, "*");
    assert_int_equal(r.n, 0);
    run(rules, "MSH|^~\\&|||||||ADTXXXXXXX^A01|1|P|2.5\nZZZ\n", &r); /* overlong type */
    assert_string_equal(r.which, "*");
    run(rules, "MSH|^~\\&|||||||ADT^A01~ORU^R01|1|P|2.5\nEVN\n", &r); /* first repetition */
    assert_string_equal(r.which, "ADT^A01");
    run("message ADT^A01\n", "MSH|^~\\&|||||||ORU^R01|1|P|2.5\n", &r);
    assert_string_equal(r.which, ""); /* no section: global rules only */
}

/* ------------------------------------------------------ locations, limits */

static void locations_with_repetitions_and_occurrences(void **state) {
    (void)state;
    const char *rules = "table 0125 NM ST\nfield OBX-2 ID O table 0125\n"
                        "field PID-3.1 ST R\nfield PID-3.5 ID O len 2\n";
    result r;
    run(rules, MSH "PID|1||1^^^A^MR~^^^B^SS~3^^^C^PIX\n"
                   "OBX|1|NM\nOBX|2|NM\nOBX|3|XX\nPID|2||^^^A\n",
        &r);
    assert_string_equal(r.line, "required_empty@PID-3[2].1 too_long@PID-3[3].5 "
                                "not_in_table@OBX[3]-2 required_empty@PID[2]-3.1");
}

static void max_limits_what_is_stored_not_what_is_counted(void **state) {
    (void)state;
    hf_profile *p = NULL;
    hf_err err = {0};
    const char *rules = "field OBX-1 SI R\n";
    assert_int_equal(hf_profile_load_text("t.rules", rules, strlen(rules), &p, &err), HF_OK);
    char msg[4096];
    int n = snprintf(msg, sizeof msg, "MSH|^~\\&|||||||ORU^R01|1|P|2.5\r");
    for (int i = 0; i < 100; i++)
        n += snprintf(msg + n, sizeof msg - (size_t)n, "OBX|\r");
    hf_hl7_msg *m = NULL;
    assert_int_equal(hf_hl7_parse((hf_span){msg, (size_t)n}, NULL, &m, &err), HF_OK);
    hf_profile_violation v[3];
    memset(v, 0x5a, sizeof v);
    assert_int_equal(hf_profile_check(p, m, v, 2), 100);
    assert_string_equal(v[0].loc, "OBX-1");
    assert_string_equal(v[1].loc, "OBX[2]-1");
    assert_int_equal((unsigned char)v[2].loc[0], 0x5a); /* untouched */
    assert_int_equal(hf_profile_check(p, m, NULL, 0), 100);
    assert_int_equal(hf_profile_check(p, m, v, 0), 100);
    hf_hl7_msg_destroy(m);
    hf_profile_destroy(p);
}

static void format_joins_and_truncates_like_snprintf(void **state) {
    (void)state;
    hf_profile_violation v[2] = {{HF_PV_REQUIRED_EMPTY, "MSH-10", "required field is empty"},
                                 {HF_PV_BAD_FORMAT, "PID-7", "not a valid DTM (day out of range)"}};
    char buf[128];
    const char *want = "MSH-10: required field is empty; PID-7: not a valid DTM (day out of range)";
    assert_int_equal(hf_profile_format(v, 2, buf, sizeof buf), strlen(want));
    assert_string_equal(buf, want);
    char small[10];
    assert_int_equal(hf_profile_format(v, 2, small, sizeof small), strlen(want));
    assert_string_equal(small, "MSH-10: r");
    assert_int_equal(hf_profile_format(v, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(hf_profile_format(v, 1, NULL, 0), strlen("MSH-10: required field is empty"));
}

static void code_names_are_stable(void **state) {
    (void)state;
    assert_string_equal(hf_pv_code_name(HF_PV_SEGMENT_MISSING), "segment_missing");
    assert_string_equal(hf_pv_code_name(HF_PV_SEGMENT_UNEXPECTED), "segment_unexpected");
    assert_string_equal(hf_pv_code_name(HF_PV_REQUIRED_EMPTY), "required_empty");
    assert_string_equal(hf_pv_code_name(HF_PV_NOT_ALLOWED), "not_allowed");
    assert_string_equal(hf_pv_code_name(HF_PV_BAD_FORMAT), "bad_format");
    assert_string_equal(hf_pv_code_name(HF_PV_NOT_IN_TABLE), "not_in_table");
    assert_string_equal(hf_pv_code_name(HF_PV_TOO_LONG), "too_long");
    assert_string_equal(hf_pv_code_name(HF_PV_TOO_MANY_REPS), "too_many_repetitions");
    assert_string_equal(hf_pv_code_name(HF_PV_CODE_COUNT), "?");
}

static void one_rule_set_checks_many_messages(void **state) {
    (void)state;
    /* checking keeps no state: the same message gives the same answer */
    hf_profile *p = NULL;
    hf_err err = {0};
    assert_int_equal(hf_profile_load_text("t.rules", ORU, strlen(ORU), &p, &err), HF_OK);
    const char a[] = "MSH|^~\\&|||||||ORU^R01|1|P|2.5\rPID\rORC\rOBX\r";
    const char b[] = "MSH|^~\\&|||||||ORU^R01|1|P|2.5\rPID\rOBR\rOBX\r";
    hf_hl7_msg *ma = NULL, *mb = NULL;
    assert_int_equal(hf_hl7_parse((hf_span){a, sizeof a - 1}, NULL, &ma, &err), HF_OK);
    assert_int_equal(hf_hl7_parse((hf_span){b, sizeof b - 1}, NULL, &mb, &err), HF_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hf_profile_check(p, ma, NULL, 0), 1);
        assert_int_equal(hf_profile_check(p, mb, NULL, 0), 0);
    }
    hf_hl7_msg_destroy(ma);
    hf_hl7_msg_destroy(mb);
    hf_profile_destroy(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(required_field_and_component),
        cmocka_unit_test(usage_x_must_be_empty),
        cmocka_unit_test(dates_and_numbers_in_fields),
        cmocka_unit_test(tables_never_quote_the_value),
        cmocka_unit_test(lengths_and_repetitions),
        cmocka_unit_test(version_ranges_follow_msh12),
        cmocka_unit_test(varies_takes_the_type_from_another_field),
        cmocka_unit_test(varies_type_code_is_the_first_component),
        cmocka_unit_test(literal_msh_fields),
        cmocka_unit_test(section_rule_replaces_global_rule),
        cmocka_unit_test(version_bands_pick_the_rules_of_each_version),
        cmocka_unit_test(absent_trailing_fields_still_report_required_ones),
        cmocka_unit_test(component_rules_on_repetitions),
        cmocka_unit_test(component_rules_on_literal_msh_fields),
        cmocka_unit_test(structure_accepts_the_grammar),
        cmocka_unit_test(obx_without_obr_names_the_missing_obr),
        cmocka_unit_test(out_of_place_segment),
        cmocka_unit_test(missing_at_end_lists_the_shortest_completion),
        cmocka_unit_test(choices_and_repeated_groups),
        cmocka_unit_test(ambiguous_grammar_keeps_every_reading),
        cmocka_unit_test(sections_by_type_event_wildcard_and_star),
        cmocka_unit_test(locations_with_repetitions_and_occurrences),
        cmocka_unit_test(max_limits_what_is_stored_not_what_is_counted),
        cmocka_unit_test(format_joins_and_truncates_like_snprintf),
        cmocka_unit_test(code_names_are_stable),
        cmocka_unit_test(one_rule_set_checks_many_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
