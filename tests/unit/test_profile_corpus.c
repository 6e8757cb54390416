/* test_profile_corpus.c - the shipped profiles (schemas/profiles) against
 * the real-world corpus (../shared/corpus/hl7, listed in its MANIFEST.tsv):
 * every message that parses is checked; it must either conform (no
 * violation) or break the standard exactly as documented in EXPECTED below,
 * one entry per message with the reason. A rule that is too strict for a
 * legitimately odd but valid message is fixed in the rules, not listed
 * here; docs/internals/profile.md summarises the list. Prints the counts as
 * a TAP comment. Runs from the repo root (tests/run.sh does); skipped when
 * the corpus or the rules are not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"
#include "hl7flow/profile.h"

#define CORPUS "../shared/corpus/hl7"
#define MAXV 64

typedef struct expected {
    const char *file; /* corpus file name */
    unsigned msg;     /* 1-based position of the message in the file */
    const char *want; /* "code@LOC code@LOC ...", in the order found */
} expected;

static const expected EXPECTED[] = {
    /* ---- complete messages that break the standard */
    /* ADT with the non-standard event O01 (ADT^* applies): no EVN, which every ADT message
     * carries. */
    {"efferent__Sample-ADT.txt", 1,
     "segment_missing@EVN"},
    /* PV1-2 patient class "1" is not in table 0004. */
    {"efferent__Sample-ORM.txt", 1,
     "not_in_table@PV1-2"},
    /* same message, LF terminators. */
    {"efferent__Sample-Orm.txt", 1,
     "not_in_table@PV1-2"},
    /* PID-30 "NO NK1" is not Y/N (0136); DG1 after GT1 (ADT_A01 puts DG1 before PR1, GT1,
     * IN1). */
    {"hamaluik__sample_adt_a01.hl7", 1,
     "not_in_table@PID-30 segment_unexpected@DG1"},
    /* an ADT^A08 with only MSH and EVN: the patient (PID) and visit (PV1) are missing. */
    {"hamaluik__sample_adt_a01_encoded.hl7", 1,
     "segment_missing@PID segment_missing@PV1"},
    /* PID-30 "NO" is not Y/N (0136). */
    {"hamaluik__sample_adt_a02.hl7", 1,
     "not_in_table@PID-30"},
    /* PID-30 "NO" is not Y/N (0136). */
    {"hamaluik__sample_adt_a03.hl7", 1,
     "not_in_table@PID-30"},
    /* PID-8 "M-" is not in table 0001. */
    {"hamaluik__sample_adt_a04.hl7", 1,
     "not_in_table@PID-8"},
    /* PID-30 "NO" is not Y/N; DG1 after GT1 (out of ADT_A01 order). */
    {"hamaluik__sample_adt_a08.hl7", 1,
     "not_in_table@PID-30 segment_unexpected@DG1"},
    /* HAPI documentation example: PV1-2 (patient class) and IN1-2 (insurance plan) are empty. */
    {"hapi__ADT_A01.txt", 1,
     "required_empty@PV1-2 required_empty@IN1-2"},
    /* the 4th PID-3 repetition "^^^^TEAM" has no ID number (CX.1). */
    {"hapi__adt_a03.txt", 1,
     "required_empty@PID-3[4].1"},
    /* messages 11 and 12 (v2.5) have neither MSH-7 (required since v2.5) nor MSH-10. */
    {"hapi__example_oml_o21.hl7", 11,
     "required_empty@MSH-7 required_empty@MSH-10"},
    {"hapi__example_oml_o21.hl7", 12,
     "required_empty@MSH-7 required_empty@MSH-10"},
    /* PID-8 "1" is not in table 0001. */
    {"hapi__omd_o03.txt", 1,
     "not_in_table@PID-8"},
    /* PID-8 "1" is not in table 0001. */
    {"hapi__omd_o03_rep.txt", 1,
     "not_in_table@PID-8"},
    /* PID-8 "2" is not in table 0001. */
    {"hl7v2tofhir__A05-A28-Add-Patient-v2.4.txt", 1,
     "not_in_table@PID-8"},
    /* PV1-45 "2018-01-01" is ISO 8601, not an HL7 DTM. */
    {"hl7v2tofhir__A16-REDOX-A16-3-v2.3.txt", 1,
     "bad_format@PV1-45"},
    /* an empty PV1 (the test's point): PV1-2 is required. */
    {"hl7v2tofhir__A28-REDOX-A1-EmptyPV1andGT1-v2.3.txt", 1,
     "required_empty@PV1-2"},
    /* no MSH-11; PID-8 "Female", PID-30 "No", PV1-2 "Inpatient" spelled out instead of coded. */
    {"hl7v2tofhir__A31-A05-Pre-admit-Patient-v2.3.txt", 1,
     "required_empty@MSH-11 not_in_table@PID-8 not_in_table@PID-30 not_in_table@PV1-2"},
    /* FT1-7 (transaction code) is empty. */
    {"hl7v2tofhir__P03-Charge-v2.3.txt", 1,
     "required_empty@FT1-7"},
    /* SIU samples: PID-8 "MALE" is not in table 0001; PV1-2 empty. */
    {"hl7v2tofhir__S12-sample-s12-v2.3.txt", 1,
     "not_in_table@PID-8 required_empty@PV1-2"},
    /* as S12. */
    {"hl7v2tofhir__S13-sample-s13-v2.3.txt", 1,
     "not_in_table@PID-8 required_empty@PV1-2"},
    /* as S12. */
    {"hl7v2tofhir__S15-sample-s15-v2.3.txt", 1,
     "not_in_table@PID-8 required_empty@PV1-2"},
    /* as S12. */
    {"hl7v2tofhir__S26-sample-s26-v2.3.txt", 1,
     "not_in_table@PID-8 required_empty@PV1-2"},
    /* report text continued in OBX segments that have no observation identifier (OBX-3). */
    {"lfh__ORU-multiline-short-mixed.hl7", 1,
     "required_empty@OBX[2]-3 required_empty@OBX[3]-3 required_empty@OBX[4]-3"},
    /* as above. */
    {"lfh__ORU-multiline-short.hl7", 1,
     "required_empty@OBX-3 required_empty@OBX[2]-3 required_empty@OBX[3]-3"},
    /* Microsoft FHIR-converter samples: MRG present with MRG-1 (the identifier merged) empty. */
    {"msfhirconv__ADT-A06-01.hl7", 1,
     "required_empty@MRG-1"},
    /* as A06. */
    {"msfhirconv__ADT-A07-01.hl7", 1,
     "required_empty@MRG-1"},
    /* as A06. */
    {"msfhirconv__ADT-A41-01.hl7", 1,
     "required_empty@MRG-1"},
    /* as A06. */
    {"msfhirconv__ADT-A45-01.hl7", 1,
     "required_empty@MRG-1"},
    /* PID-30 "NO" is not Y/N; DG1 after GT1 (out of ADT_A01 order). */
    {"msfhirconv__ADT01-23.hl7", 1,
     "not_in_table@PID-30 segment_unexpected@DG1"},
    /* both IN1 segments lack IN1-3 (insurance company ID). */
    {"msfhirconv__ADT04-23.hl7", 1,
     "required_empty@IN1-3 required_empty@IN1[2]-3"},
    /* ADT^A04 without EVN. */
    {"msfhirconv__ADT04-251.hl7", 1,
     "segment_missing@EVN"},
    /* PID-30 "NO"; ORC-5 (order status, table 0038) holds the order control code "NW". */
    {"msfhirconv__LAB-ORM-1.hl7", 1,
     "not_in_table@PID-30 not_in_table@ORC-5"},
    /* PID-30 "NO" is not Y/N (0136). */
    {"msfhirconv__LAB-ORU-1.hl7", 1,
     "not_in_table@PID-30"},
    /* PID-30 "NO" is not Y/N (0136). */
    {"msfhirconv__LAB-ORU-2.hl7", 1,
     "not_in_table@PID-30"},
    /* OBX-2 "HD" is not a value type of table 0125. */
    {"msfhirconv__MDM-T02-01.hl7", 1,
     "not_in_table@OBX-2"},
    /* as T02. */
    {"msfhirconv__MDM-T06-01.hl7", 1,
     "not_in_table@OBX-2"},
    /* as T02. */
    {"msfhirconv__MDM-T10-01.hl7", 1,
     "not_in_table@OBX-2"},
    /* (an ADT^A01 despite its name) the second ORC has no order control code (ORC-1). */
    {"msfhirconv__MDM_01.hl7", 1,
     "required_empty@ORC[2]-1"},
    /* an OBX after ORC with no OBR, and that OBX has neither OBX-3 nor OBX-11. */
    {"msfhirconv__ORU-R01-01.hl7", 1,
     "segment_missing@OBR required_empty@OBX[2]-3 required_empty@OBX[2]-11"},
    /* an OBX with neither OBX-3 nor OBX-11. */
    {"msfhirconv__OUL-R22-01.hl7", 1,
     "required_empty@OBX[3]-3 required_empty@OBX[3]-11"},
    /* two such OBX. */
    {"msfhirconv__OUL-R22-02.hl7", 1,
     "required_empty@OBX[3]-3 required_empty@OBX[3]-11 required_empty@OBX[6]-3 "
     "required_empty@OBX[6]-11"},
    /* an OBX with neither OBX-3 nor OBX-11. */
    {"msfhirconv__OUL-R23-01.hl7", 1,
     "required_empty@OBX[3]-3 required_empty@OBX[3]-11"},
    /* an OBX with neither OBX-3 nor OBX-11. */
    {"msfhirconv__OUL-R24-01.hl7", 1,
     "required_empty@OBX[2]-3 required_empty@OBX[2]-11"},
    /* a scheduling message (SCH, RGS, AIS...) labelled ADT^A60: no EVN; NTE where ADT_A60
     * wants IAM first. */
    {"msfhirconv__SIU_12.hl7", 1,
     "segment_missing@EVN segment_missing@IAM"},
    /* OBX-2 says NM but OBX-5 holds the unit "mg/dL"; OBX-11 empty. */
    {"nodehl7__bicp_ORUR01.adm", 1,
     "bad_format@OBX-5 required_empty@OBX-11"},
    /* OBX-14 " 19980729160500" starts with a space. */
    {"nodehl7__birp_ORUR01.adm", 1,
     "bad_format@OBX-14"},
    /* 14 OBX without a result status (OBX-11). */
    {"prs__CA-20211001-sully.hl7", 1,
     "required_empty@OBX[2]-11 required_empty@OBX[3]-11 required_empty@OBX[4]-11 "
     "required_empty@OBX[5]-11 required_empty@OBX[6]-11 required_empty@OBX[7]-11 "
     "required_empty@OBX[8]-11 required_empty@OBX[9]-11 required_empty@OBX[11]-11 "
     "required_empty@OBX[12]-11 required_empty@OBX[13]-11 required_empty@OBX[14]-11 "
     "required_empty@OBX[15]-11 required_empty@OBX[16]-11"},
    /* PID without a patient name (PID-5). */
    {"prs__Expected_HL7_to_HL7_MARSOTC.hl7", 1,
     "required_empty@PID-5"},
    /* PD1 after PV1 (ORU_R01 puts PD1 right after PID). */
    {"prs__FLFHospital-SARSCOV2-20200317-0001.hl7", 1,
     "segment_unexpected@PD1"},
    /* de-identification placeholders "PIDDOB!" and "DATE!" in date fields. */
    {"prs__ORU_deidentified.hl7", 1,
     "bad_format@PID-7 bad_format@OBR-7 bad_format@OBR-22"},
    /* "0000" as a date: year 0 does not exist. */
    {"prs__elims_2_40_05059364_34872_MIN.hl7", 1,
     "bad_format@PID-7 bad_format@OBR-7 bad_format@OBX-14"},
    /* PID-7 "0000". */
    {"prs__elims_40_4988249_33033-with-truncation.hl7", 1,
     "bad_format@PID-7"},
    /* no MSH-11, PID without PID-3 and PID-5, OBX without OBX-11. */
    {"prs__output-invalid.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBX-11"},
    /* as output-invalid. */
    {"prs__output.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBX-11"},
    /* OBR-25 "W" is not in table 0123 (messages 2, 3, 5 and 14 of the batch). */
    {"prs__sample-batch-pdi-20210608-0001.hl7", 2,
     "not_in_table@OBR-25"},
    {"prs__sample-batch-pdi-20210608-0001.hl7", 3,
     "not_in_table@OBR-25"},
    {"prs__sample-batch-pdi-20210608-0001.hl7", 5,
     "not_in_table@OBR-25"},
    {"prs__sample-batch-pdi-20210608-0001.hl7", 14,
     "not_in_table@OBR-25"},
    /* OBR-25 "W" is not in table 0123. */
    {"prs__sample-single-pdi-20210608-0002.hl7", 1,
     "not_in_table@OBR-25"},
    /* PID-7 "DeIdentified". */
    {"prs__sample_1.hl7", 1,
     "bad_format@PID-7"},
    /* OBX-2 DT with a full timestamp "20240213000000+0000" in OBX-5. */
    {"prs__sample_SC_20240305-0001.hl7", 1,
     "bad_format@OBX[5]-5"},
    /* no MSH-11. */
    {"prs__sample_bundle_multiple_observations.hl7", 1,
     "required_empty@MSH-11"},
    /* PID-30 "UNK" is not Y/N (0136) in messages 5, 9, 14 and 15. */
    {"prs__test-0001-input-covid-19.hl7", 5,
     "not_in_table@PID-30"},
    {"prs__test-0001-input-covid-19.hl7", 9,
     "not_in_table@PID-30"},
    {"prs__test-0001-input-covid-19.hl7", 14,
     "not_in_table@PID-30"},
    {"prs__test-0001-input-covid-19.hl7", 15,
     "not_in_table@PID-30"},
    /* v2.2: ORC-1 holds "1", "2", "3" (sequence numbers, not order control codes); no OBX has
     * OBX-11. */
    {"rubyhl7__obxobr.hl7", 1,
     "not_in_table@ORC-1 required_empty@OBX-11 required_empty@OBX[2]-11 "
     "required_empty@OBX[3]-11 required_empty@OBX[4]-11 required_empty@OBX[5]-11 "
     "not_in_table@ORC[2]-1 required_empty@OBX[6]-11 required_empty@OBX[7]-11 "
     "required_empty@OBX[8]-11 not_in_table@ORC[3]-1 required_empty@OBX[9]-11"},
    /* the ELR realm samples write OBR-22 as "2008081830-0700": hour 30. */
    {"rubyhl7__realm-animal-rabies.hl7", 1,
     "bad_format@OBR-22"},
    /* as realm-animal-rabies. */
    {"rubyhl7__realm-bad-batch.hl7", 1,
     "bad_format@OBR-22 bad_format@OBR[2]-22"},
    {"rubyhl7__realm-bad-batch.hl7", 2,
     "bad_format@OBR-22"},
    /* as realm-animal-rabies. */
    {"rubyhl7__realm-batch.hl7", 1,
     "bad_format@OBR-22 bad_format@OBR[2]-22"},
    {"rubyhl7__realm-batch.hl7", 2,
     "bad_format@OBR-22"},
    /* as realm-animal-rabies. */
    {"rubyhl7__realm-campylobacter-jejuni.hl7", 1,
     "bad_format@OBR-22"},
    /* as realm-animal-rabies. */
    {"rubyhl7__realm-cj-badloinc.hl7", 1,
     "bad_format@OBR-22"},
    /* as realm-animal-rabies. */
    {"rubyhl7__realm-cj-joeslab.hl7", 1,
     "bad_format@OBR-22 bad_format@OBR[2]-22"},
    /* as realm-animal-rabies. */
    {"rubyhl7__realm-cj.hl7", 1,
     "bad_format@OBR-22"},
    /* as realm-animal-rabies. */
    {"rubyhl7__realm-err.hl7", 1,
     "bad_format@OBR-22"},
    /* as realm-animal-rabies, and the first OBX has its fields shifted so OBX-11 is empty. */
    {"rubyhl7__realm-hepatitis-c-virus.hl7", 1,
     "bad_format@OBR-22 required_empty@OBX-11"},
    /* as realm-animal-rabies. */
    {"rubyhl7__realm-minimal-message.hl7", 1,
     "bad_format@OBR-22"},
    /* a query (RQI) whose PIDs have no identifier, the second not even a name. */
    {"rubyhl7__rqi_r04.hl7", 1,
     "required_empty@PID-3 required_empty@PID[2]-3 required_empty@PID[2]-5"},
    /* neither MSH-11 nor MSH-12; OBX without OBX-11. */
    {"rubyhl7__test.hl7", 1,
     "required_empty@MSH-11 required_empty@MSH-12 required_empty@OBX-11 "
     "required_empty@OBX[2]-11"},
    /* ---- ReportStream mapping-inventory fragments (MANIFEST: "fragment-style"):
     * one segment under test in a skeleton message, by design incomplete
     * (PID with only PID-1, no OBR in an ORU, no MSH-11...). */
    {"prs__IN1-to-Coverage.hl7", 1,
     "required_empty@MSH-7"},
    {"prs__MSG-to-Coding-missing-msg2.hl7", 1,
     "required_empty@MSH-9.2 required_empty@MSH-11"},
    {"prs__MSH-to-MessageHeader-everything-valued.hl7", 1,
     "segment_missing@OBR"},
    {"prs__MSH-to-MessageHeader-handles-multiple-msh18.hl7", 1,
     "required_empty@MSH-11 segment_missing@OBR"},
    {"prs__MSH-to-MessageHeader-prefers-MSH191.hl7", 1,
     "required_empty@MSH-11 segment_missing@OBR"},
    {"prs__MSH-to-MessageHeader-stores-msh8-msh11-not-valued.hl7", 1,
     "required_empty@MSH-11 segment_missing@OBR"},
    {"prs__MSH-to-MessageHeader-uses-MSH194.hl7", 1,
     "required_empty@MSH-11 segment_missing@OBR"},
    {"prs__NK1-to-RelatedPerson-mostly-empty.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "segment_missing@OBR"},
    {"prs__NK1-to-RelatedPerson-with-repeats.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "segment_missing@OBR"},
    {"prs__NTE-to-annotation.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5"},
    {"prs__OBX-to-Observation-data-absent-st-but-empty-value.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5"},
    {"prs__OBX-to-Observation-data-absent-x-value.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5"},
    {"prs__OBX-to-Observation-dr-value.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBX-11"},
    {"prs__OBX-to-Observation-ed-value.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBX-11"},
    {"prs__OBX-to-Observation-ft-value.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBX-11"},
    {"prs__OBX-to-Observation-obx25-valued.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBX-11"},
    {"prs__OBX-to-Observation-sn-as-range-value.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBX-11"},
    {"prs__OBX-to-Observation-sn-as-ratio-value-colon.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBX-11"},
    {"prs__OBX-to-Observation-st-value.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5"},
    {"prs__OBX-to-Observation-tx-value.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBX-11"},
    {"prs__OBX-to-Observation-vr-value.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "not_in_table@OBX-2 required_empty@OBX-11"},
    {"prs__PV1-PV2-to-Encounter.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "segment_missing@OBR"},
    {"prs__SPM-with-17-2-populated.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5"},
    {"prs__dt-zero-year-to-dateTime.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "segment_missing@OBR"},
    {"prs__dtm-mmsec-precision-to-instant.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5"},
    {"prs__dtm-zero-year-to-dateTime.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "bad_format@PID-29 segment_missing@OBR"},
    {"prs__orc_obr-to-servicerequest_diagnosticreport-OML-message.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBR-4 required_empty@OBX-3"},
    {"prs__orc_obr-to-servicerequest_diagnosticreport-orc-obr-populated.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 bad_format@ORC-9"},
    {"prs__oru_r01-full.hl7", 1,
     "bad_format@PID-7 required_empty@PV1-2"},
    {"prs__pd1-to-patient-pd1-14-1-populated.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5"},
    {"prs__pid-to-patient-pid-fully-populated.hl7", 1,
     "required_empty@MSH-11"},
    {"prs__prt-to-device.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "required_empty@OBX-3 required_empty@OBX-11 segment_missing@OBR"},
    {"prs__xtn_12_xtn7_has_value_xtn3_is_Internet.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "segment_missing@OBR"},
    {"prs__xtn_23_xtn18_has_negative_value.hl7", 1,
     "required_empty@MSH-11 required_empty@PID-3 required_empty@PID-5 "
     "segment_missing@OBR"},
};

#define NEXPECTED (sizeof EXPECTED / sizeof EXPECTED[0])

/* The file's bytes, NUL-terminated (owned: free), or NULL. */
static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
        n += got;
        if (n == cap - 1) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    *len = n;
    return buf;
}

static const expected *find_expected(const char *file, unsigned msg) {
    for (size_t i = 0; i < NEXPECTED; i++)
        if (EXPECTED[i].msg == msg && strcmp(EXPECTED[i].file, file) == 0)
            return &EXPECTED[i];
    return NULL;
}

typedef struct counts {
    size_t files, messages, pass, documented, unparsed, wrong;
    unsigned char seen[NEXPECTED];
} counts;

static void check_file(const hf_profile *rules, const char *name, counts *c) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CORPUS, name);
    size_t len = 0;
    char *buf = read_all(path, &len);
    if (buf == NULL) {
        printf("# profile corpus: cannot read %s\n", path);
        c->wrong++;
        return;
    }
    c->files++;
    hf_hl7_splitter sp;
    hf_hl7_split_init(&sp, (hf_span){buf, len});
    hf_hl7_msg *m = hf_hl7_msg_new();
    assert_non_null(m);
    hf_err err = {0};
    hf_span one;
    unsigned k = 0;
    for (;;) {
        hf_status st = hf_hl7_split_next(&sp, &one, &err);
        if (st == HF_ENOTFOUND)
            break;
        if (st != HF_OK)
            continue; /* text outside any message: the splitter's business */
        k++;
        if (hf_hl7_parse_into(m, one, NULL, &err) != HF_OK) {
            c->unparsed++;
            continue;
        }
        c->messages++;
        hf_profile_violation v[MAXV];
        size_t n = hf_profile_check(rules, m, v, MAXV);
        char got[4096] = "";
        for (size_t i = 0; i < n && i < MAXV; i++) {
            size_t used = strlen(got);
            snprintf(got + used, sizeof got - used, "%s%s@%s", i ? " " : "",
                     hf_pv_code_name(v[i].code), v[i].loc);
        }
        const expected *e = find_expected(name, k);
        if (e != NULL)
            c->seen[e - EXPECTED] = 1;
        if (e == NULL && n == 0) {
            c->pass++;
        } else if (e != NULL && strcmp(e->want, got) == 0) {
            c->documented++;
        } else {
            char line[4096];
            hf_profile_format(v, n < MAXV ? n : MAXV, line, sizeof line);
            printf("# profile corpus: %s message %u: got \"%s\" want \"%s\" (%s)\n", name, k, got,
                   e != NULL ? e->want : "", line);
            c->wrong++;
        }
    }
    hf_hl7_msg_destroy(m);
    free(buf);
}

static void corpus_conforms_or_breaks_as_documented(void **state) {
    (void)state;
    if (access(CORPUS "/MANIFEST.tsv", R_OK) != 0 || access("schemas/profiles", R_OK) != 0)
        skip();
    hf_profile *rules = NULL;
    hf_err err = {0};
    if (hf_profile_load("schemas/profiles", &rules, &err) != HF_OK)
        fail_msg("load: %s", err.msg);
    size_t mlen = 0;
    char *manifest = read_all(CORPUS "/MANIFEST.tsv", &mlen);
    assert_non_null(manifest);
    static counts c;
    memset(&c, 0, sizeof c);
    char *save = NULL;
    int header = 1;
    for (char *line = strtok_r(manifest, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (header) {
            header = 0; /* file source_repo source_path ... */
            continue;
        }
        char *tab = strchr(line, '\t');
        if (tab != NULL)
            *tab = '\0';
        if (line[0] != '\0')
            check_file(rules, line, &c);
    }
    free(manifest);
    for (size_t i = 0; i < NEXPECTED; i++)
        if (!c.seen[i]) {
            printf("# profile corpus: documented %s message %u was not checked (no longer "
                   "parses, or renumbered)\n",
                   EXPECTED[i].file, EXPECTED[i].msg);
            c.wrong++;
        }
    printf("# profile corpus: %zu files, %zu messages checked: %zu conform, %zu break the "
           "standard as documented, %zu unexpected; %zu do not parse\n",
           c.files, c.messages, c.pass, c.documented, c.wrong, c.unparsed);
    hf_profile_destroy(rules);
    assert_int_equal(c.wrong, 0);
    assert_true(c.pass > 200); /* the corpus is mostly well-formed messages */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_conforms_or_breaks_as_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
