/* test_record_build.c - hf_rec_build on hand-written messages: which HL7
 * field feeds which record field, the MRN rule, grouping of orders,
 * results and notes, decoded text vs the wire-form lossless copy, UTF-8
 * handling, times, and reuse of one context. Synthetic data only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"
#include "hl7flow/record.h"

/* One parsed message and its record; freed by done(). */
typedef struct fixture {
    hf_hl7_msg *msg;
    hf_rec_ctx *ctx;
    hf_rec *rec;
} fixture;

static fixture build_meta(const char *text, size_t len, const hf_rec_meta *meta) {
    fixture f = {NULL, hf_rec_ctx_new(), NULL};
    hf_err err = {0};
    assert_non_null(f.ctx);
    if (hf_hl7_parse((hf_span){text, len}, NULL, &f.msg, &err) != HF_OK)
        fail_msg("parse: %s", err.msg);
    if (hf_rec_build(f.ctx, f.msg, meta, &f.rec, &err) != HF_OK)
        fail_msg("build: %s", err.msg);
    assert_non_null(f.rec);
    return f;
}

static fixture build(const char *text) {
    return build_meta(text, strlen(text), NULL);
}

static void done(fixture *f) {
    hf_rec_ctx_destroy(f->ctx);
    hf_hl7_msg_destroy(f->msg);
}

#define assert_span(sp, str)                                                              \
    do {                                                                                  \
        hf_span s_ = (sp);                                                                \
        const char *e_ = (str);                                                           \
        if (s_.len != strlen(e_) || (s_.len > 0 && memcmp(s_.p, e_, s_.len) != 0))        \
            fail_msg("%s is \"%.*s\", expected \"%s\"", #sp, (int)s_.len, s_.p, e_);      \
    } while (0)

#define assert_null_span(sp) assert_int_equal((sp).len, 0)

static const char ADT[] =
    "MSH|^~\\&|EPIC^1.2.3^ISO|HOSP_A|HL7FLOW|HUB|20240312081512-0500||ADT^A01^ADT_A01|CTRL001|P|"
    "2.5.1|||AL|NE|USA|UNICODE UTF-8\r"
    "EVN|A01|20240312081500-0500|||OP7^Smith|20240312081000\r"
    "PID|1||998877^^^REGIONAL_HIE^PI~884512^^^GOODHEALTH^MR~123-45-6789^^^SSA^SS||"
    "TEST^ALEX^M^JR^DR^^L~MAIDEN^ALEX^^^^^M|MOM^X|19820415|F||2106-3^White^CDCREC|"
    "1200 MAIN ST^APT 4B^SPRINGFIELD^IL^62704^USA^H||(217)555-0142^PRN^PH~^NET^Internet^"
    "alex@example.org|(217)555-0199^WPN^PH|eng^English^ISO6392|M^Married^HL70002|"
    "CHR^Christian^HL70006|ACCT445^^^GOODHEALTH^AN||||N^Not Hispanic^HL70189|||||||20240101|Y\r"
    "PV1|1|I|4WEST^412^B^GOODHEALTH^^N^MAIN^4|E|||1234567890^WELBY^MARCUS^J^^DR^MD^^NPI~"
    "2233445566^CASEY^BEN|||MED||||7|||3344556677^ADMIT^DOC|IP|VIS0045^^^GOODHEALTH^VN|COMM"
    "||||||||||||||||01|HOME||MAIN|||||20240312080000-0500|20240315\r"
    "PV2|||R07.9^Chest pain^I10\r"
    "NK1|1|TEST^JORDAN|SPO^Spouse^HL70063|1200 MAIN ST^^SPRINGFIELD^IL|^PRN^PH^^1^217^5550143|"
    "(217)555-0100|EC^Emergency Contact^HL70131\r"
    "AL1|1|DA^Drug allergy^HL70127|7980^Penicillin G^RXNORM|SV^Severe^HL70128|Hives~Wheezing|"
    "20200101\r"
    "DG1|1||R07.9^Chest pain^I10|Chest pain|20240312|A|||||||||1|1234567890^WELBY^MARCUS\r"
    "IN1|1|BCBS001^Blue Plan PPO|60054|BLUE CROSS|PO BOX 1000^^CHICAGO^IL^60601|||GRP7781|"
    "EMPLOYER INC|||20240101|20241231||PPO|TEST^ALEX|SEL^Self^HL70063|19820415||||||||||||||||"
    "||POL123\r"
    "ZPD|1|custom^value|a \\T\\ b\r";

static void adt_header_event_and_patient(void **state) {
    (void)state;
    fixture f = build(ADT);
    hf_rec *r = f.rec;
    assert_span(r->header.control_id, "CTRL001");
    assert_span(r->header.message_code, "ADT");
    assert_span(r->header.trigger_event, "A01");
    assert_span(r->header.message_structure, "ADT_A01");
    assert_span(r->header.version_id, "2.5.1");
    assert_span(r->header.sending_application->namespace_id, "EPIC");
    assert_span(r->header.sending_application->universal_id, "1.2.3");
    assert_span(r->header.sending_application->universal_id_type, "ISO");
    assert_span(r->header.character_set, "UNICODE UTF-8");
    assert_span(r->header.message_datetime, "20240312081512-0500");
    assert_true(r->header.message_ts.set);
    assert_int_equal(r->header.message_ts.v, 1710249312LL * 1000000);
    assert_null_span(r->header.text_conversion);
    /* no meta: source and facility from MSH-3.1 and MSH-4.1 */
    assert_span(r->source_system, "EPIC");
    assert_span(r->facility_id, "HOSP_A");

    assert_non_null(r->event);
    assert_span(r->event->event_type_code, "A01");
    assert_span(r->event->operator_id, "OP7");
    assert_true(r->event->recorded_ts.set);
    assert_span(r->event->event_occurred_datetime, "20240312081000");
    assert_false(r->event->event_occurred_ts.set); /* no offset: the enricher's job */

    hf_rec_patient *p = r->patient;
    assert_non_null(p);
    assert_int_equal(p->identifiers.n, 3);
    assert_span(p->mrn, "884512"); /* the MR repetition, not the first */
    assert_span(p->mrn_assigning_authority, "GOODHEALTH");
    assert_span(p->mrn_identifier_type, "MR");
    assert_span(p->identifiers.v[2].identifier_type, "SS");
    assert_int_equal(p->names.n, 2);
    assert_span(p->names.v[0].family, "TEST");
    assert_span(p->names.v[0].given, "ALEX");
    assert_span(p->names.v[0].middle, "M");
    assert_span(p->names.v[0].suffix, "JR");
    assert_span(p->names.v[0].prefix, "DR");
    assert_span(p->names.v[0].name_type, "L");
    assert_span(p->names.v[1].name_type, "M");
    assert_span(p->mothers_maiden_name, "MOM");
    assert_span(p->birth_datetime, "19820415");
    assert_true(p->birth_date.set);
    assert_int_equal(p->birth_date.v, 4487);
    assert_span(p->sex, "F");
    assert_int_equal(p->races.n, 1);
    assert_span(p->races.v[0].text, "White");
    assert_int_equal(p->addresses.n, 1);
    assert_span(p->addresses.v[0].street, "1200 MAIN ST");
    assert_span(p->addresses.v[0].other_designation, "APT 4B");
    assert_span(p->addresses.v[0].zip, "62704");
    assert_span(p->addresses.v[0].address_type, "H");
    assert_int_equal(p->phones.n, 3);
    assert_span(p->phones.v[0].kind, "home");
    assert_span(p->phones.v[0].number, "(217)555-0142");
    assert_span(p->phones.v[1].email, "alex@example.org");
    assert_span(p->phones.v[2].kind, "business");
    assert_span(p->phones.v[2].use_code, "WPN");
    assert_span(p->primary_language->code, "eng");
    assert_span(p->marital_status->text, "Married");
    assert_span(p->religion->code, "CHR");
    assert_span(p->account_number->id, "ACCT445");
    assert_span(p->account_number->identifier_type, "AN");
    assert_null_span(p->ssn);
    assert_int_equal(p->ethnic_groups.n, 1);
    assert_span(p->ethnic_groups.v[0].code, "N");
    assert_span(p->death_datetime, "20240101");
    assert_span(p->death_indicator, "Y");
    done(&f);
}

static void adt_visit_and_other_blocks(void **state) {
    (void)state;
    fixture f = build(ADT);
    hf_rec *r = f.rec;
    hf_rec_visit *v = r->visit;
    assert_non_null(v);
    assert_span(v->patient_class, "I");
    assert_span(v->assigned_location->point_of_care, "4WEST");
    assert_span(v->assigned_location->room, "412");
    assert_span(v->assigned_location->bed, "B");
    assert_span(v->assigned_location->facility, "GOODHEALTH");
    assert_span(v->assigned_location->building, "MAIN");
    assert_null(v->prior_location);
    assert_span(v->admission_type, "E");
    assert_int_equal(v->attending_doctors.n, 2);
    assert_span(v->attending_doctors.v[0].id, "1234567890");
    assert_span(v->attending_doctors.v[0].family, "WELBY");
    assert_span(v->attending_doctors.v[0].degree, "MD");
    assert_span(v->attending_doctors.v[0].assigning_authority, "NPI");
    assert_span(v->attending_doctors.v[1].family, "CASEY");
    assert_int_equal(v->referring_doctors.n, 0);
    assert_span(v->hospital_service, "MED");
    assert_span(v->admit_source, "7");
    assert_span(v->admitting_doctors.v[0].family, "ADMIT");
    assert_span(v->patient_type, "IP");
    assert_span(v->visit_number->id, "VIS0045");
    assert_span(v->financial_class, "COMM");
    assert_span(v->discharge_disposition, "01");
    assert_span(v->discharged_to_location, "HOME");
    assert_span(v->servicing_facility, "MAIN");
    assert_span(v->admit_datetime, "20240312080000-0500");
    assert_int_equal(v->admit_ts.v, 1710248400LL * 1000000);
    assert_span(v->discharge_datetime, "20240315");
    assert_false(v->discharge_ts.set);
    assert_span(v->admit_reason->code, "R07.9");

    assert_int_equal(r->next_of_kin.n, 1);
    hf_rec_nok *k = &r->next_of_kin.v[0];
    assert_span(k->names.v[0].given, "JORDAN");
    assert_span(k->relationship->code, "SPO");
    assert_span(k->addresses.v[0].city, "SPRINGFIELD");
    assert_int_equal(k->phones.n, 2);
    assert_span(k->phones.v[0].area_code, "217");
    assert_span(k->phones.v[1].kind, "business");
    assert_span(k->contact_role->code, "EC");

    assert_int_equal(r->allergies.n, 1);
    assert_span(r->allergies.v[0].allergen->text, "Penicillin G");
    assert_span(r->allergies.v[0].severity->code, "SV");
    assert_int_equal(r->allergies.v[0].reactions.n, 2);
    assert_span(r->allergies.v[0].reactions.v[1], "Wheezing");
    assert_span(r->allergies.v[0].identification_date, "20200101");

    assert_int_equal(r->diagnoses.n, 1);
    assert_span(r->diagnoses.v[0].diagnosis->system, "I10");
    assert_span(r->diagnoses.v[0].description, "Chest pain");
    assert_span(r->diagnoses.v[0].diagnosis_type, "A");
    assert_span(r->diagnoses.v[0].diagnosis_priority, "1");
    assert_span(r->diagnoses.v[0].diagnosing_clinician->family, "WELBY");

    assert_int_equal(r->insurance.n, 1);
    hf_rec_insurance *in = &r->insurance.v[0];
    assert_int_equal(in->set_id.v, 1);
    assert_span(in->plan->code, "BCBS001");
    assert_span(in->company_id, "60054");
    assert_span(in->company_name, "BLUE CROSS");
    assert_span(in->company_address->city, "CHICAGO");
    assert_span(in->group_number, "GRP7781");
    assert_span(in->group_name, "EMPLOYER INC");
    assert_span(in->plan_effective_date, "20240101");
    assert_span(in->plan_type, "PPO");
    assert_span(in->insured_name->family, "TEST");
    assert_span(in->insured_relationship->code, "SEL");
    assert_span(in->policy_number, "POL123");

    assert_null(r->document);
    assert_null(r->merge);
    assert_int_equal(r->orders.n, 0);
    done(&f);
}

static void z_segments_and_every_segment_stay_on_the_wire_form(void **state) {
    (void)state;
    fixture f = build(ADT);
    hf_rec *r = f.rec;
    assert_int_equal(r->segments.n, hf_hl7_seg_count(f.msg));
    const hf_rec_segment *z = &r->segments.v[r->segments.n - 1];
    assert_span(z->id, "ZPD");
    assert_int_equal(z->occurrence, 1);
    assert_int_equal(z->fields.n, 3);
    assert_span(z->fields.v[1], "custom^value");
    assert_span(z->fields.v[2], "a \\T\\ b"); /* escapes not decoded */
    /* every segment reads back to its wire text */
    for (size_t i = 0; i < r->segments.n; i++) {
        const hf_rec_segment *s = &r->segments.v[i];
        char buf[2048];
        size_t n = 0;
        memcpy(buf, s->id.p, 3);
        n = 3;
        for (size_t k = 0; k < s->fields.n; k++) {
            if (!(i == 0 && k <= 1))
                buf[n++] = '|';
            memcpy(buf + n, s->fields.v[k].p, s->fields.v[k].len);
            n += s->fields.v[k].len;
        }
        hf_span raw = hf_hl7_seg_raw(f.msg, i);
        assert_int_equal(n, raw.len);
        assert_memory_equal(buf, raw.p, n);
    }
    assert_span(r->segments.v[0].fields.v[0], "|");
    assert_span(r->segments.v[0].fields.v[1], "^~\\&");
    /* raw: null, as segments joined by CR are the message (MSH to the end
     * of the last segment); hf_rec_message_bytes gives it back */
    assert_int_equal(r->raw.len, 0);
    hf_rec_buf msg = {0};
    assert_int_equal(hf_rec_message_bytes(r, &msg), HF_OK);
    assert_int_equal(msg.len, strlen(ADT) - 1);
    assert_memory_equal(msg.p, ADT, msg.len);
    hf_rec_buf_free(&msg);
    done(&f);
}

static const char ORU[] =
    "MSH|^~\\&|LAB|HOSP_B|HL7FLOW|HUB|20240312143005||ORU^R01^ORU_R01|LAB77|P|2.5.1\r"
    "PID|1||555^^^HOSP_B^MR||DOE^JANE||19700101|F\r"
    "ORC|RE|ORD1^EPIC|FIL1^LAB||CM||^^^^^S||20240312090000-0500|||111^ORDERING^DOC\r"
    "OBR|1|||24323-8^Metabolic panel^LN|||20240312080000|||||||20240312081500|SER^Serum^HL70487"
    "|||||||20240312140000-0500||CH|F\r"
    "OBX|1|NM|2345-7^Glucose^LN||98.5|mg/dL^mg/dL^UCUM|70-99|H~A|||F|||20240312120000-0500|"
    "LABX^Lab^L\r"
    "NTE|1|L|Sample \\T\\ value \\F\\ pipe \\S\\ caret \\R\\ tilde \\E\\ backslash\\.br\\next "
    "line\r"
    "OBX|2|CE|5804-0^Protein^LN||260385009^Negative^SCT||||||F\r"
    "OBR|2|ORD2^EPIC||58410-2^CBC^LN\r"
    "OBX|3|ST|777-3^Platelets^LN||see note\r"
    "OBX|4|TX|11111-1^Comment^LN||line one~line two\r"
    "NTE|2||after OBX 4\r"
    "ZZZ|raw\\X41\\stays\r";

static void oru_orders_observations_and_notes_are_grouped(void **state) {
    (void)state;
    fixture f = build(ORU);
    hf_rec *r = f.rec;
    assert_int_equal(r->orders.n, 2);
    hf_rec_order *o = &r->orders.v[0];
    assert_int_equal(o->orc_occurrence.v, 1);
    assert_int_equal(o->obr_occurrence.v, 1);
    assert_span(o->order_control, "RE");
    assert_span(o->placer_order_number->id, "ORD1");
    assert_span(o->placer_order_number->namespace_id, "EPIC");
    assert_span(o->filler_order_number->id, "FIL1");
    assert_span(o->order_status, "CM");
    assert_span(o->priority, "S");
    assert_int_equal(o->transaction_ts.v, 1710252000LL * 1000000);
    assert_span(o->ordering_provider->family, "ORDERING");
    assert_int_equal(o->set_id.v, 1);
    assert_span(o->universal_service_id->code, "24323-8");
    assert_span(o->observation_datetime, "20240312080000");
    assert_span(o->specimen_received_datetime, "20240312081500");
    assert_span(o->specimen_source->code, "SER");
    assert_int_equal(o->results_status_ts.v, 1710270000LL * 1000000);
    assert_span(o->diagnostic_service_section, "CH");
    assert_span(o->result_status, "F");
    hf_rec_order *o2 = &r->orders.v[1];
    assert_false(o2->orc_occurrence.set); /* an OBR without ORC is an order too */
    assert_int_equal(o2->obr_occurrence.v, 2);
    assert_span(o2->placer_order_number->id, "ORD2");

    assert_int_equal(r->observations.n, 4);
    hf_rec_obs *x = &r->observations.v[0];
    assert_int_equal(x->segment_occurrence, 1);
    assert_int_equal(x->obr_occurrence.v, 1);
    assert_int_equal(x->set_id.v, 1);
    assert_span(x->value_type, "NM");
    assert_span(x->identifier->text, "Glucose");
    assert_span(x->value, "98.5");
    assert_true(x->value_numeric.set);
    assert_true(x->value_numeric.v == 98.5);
    assert_null(x->value_coded);
    assert_span(x->units->code, "mg/dL");
    assert_span(x->units->system, "UCUM");
    assert_span(x->reference_range, "70-99");
    assert_int_equal(x->abnormal_flags.n, 2);
    assert_span(x->abnormal_flags.v[0], "H");
    assert_span(x->abnormal_flags.v[1], "A");
    assert_span(x->result_status, "F");
    assert_int_equal(x->observation_ts.v, 1710262800LL * 1000000);
    assert_span(x->producer_id->code, "LABX");
    x = &r->observations.v[1];
    assert_span(x->value, "260385009^Negative^SCT");
    assert_false(x->value_numeric.set);
    assert_span(x->value_coded->code, "260385009");
    assert_span(x->value_coded->text, "Negative");
    x = &r->observations.v[2];
    assert_int_equal(x->obr_occurrence.v, 2);
    assert_span(x->value, "see note");
    x = &r->observations.v[3];
    assert_span(x->value, "line one\nline two"); /* repetitions become lines */

    assert_int_equal(r->notes.n, 2);
    hf_rec_note *n = &r->notes.v[0];
    assert_span(n->follows_segment, "OBX");
    assert_int_equal(n->follows_occurrence.v, 1);
    assert_span(n->source_of_comment, "L");
    assert_span(n->comment,
                "Sample & value | pipe ^ caret ~ tilde \\ backslash\nnext line");
    assert_span(r->notes.v[1].follows_segment, "OBX");
    assert_int_equal(r->notes.v[1].follows_occurrence.v, 4);
    assert_span(r->notes.v[1].comment, "after OBX 4");
    /* the lossless copy keeps the escapes */
    const hf_rec_segment *nte = &r->segments.v[5];
    assert_span(nte->id, "NTE");
    assert_span(nte->fields.v[2], "Sample \\T\\ value \\F\\ pipe \\S\\ caret \\R\\ tilde "
                                  "\\E\\ backslash\\.br\\next line");
    assert_span(r->segments.v[r->segments.n - 1].fields.v[0], "raw\\X41\\stays");
    assert_null(r->event);
    assert_null(r->visit);
    done(&f);
}

static void mdm_document_text_joins_the_text_observations(void **state) {
    (void)state;
    fixture f = build("MSH|^~\\&|DOC|HOSP_C|HL7FLOW|HUB|20240101120000||MDM^T02^MDM_T02|MDM1|P|"
                      "2.5.1\r"
                      "EVN|T02|20240101115900\r"
                      "PID|1||42^^^HOSP_C^MR||ROE^RICH||19500505|M\r"
                      "OBX|1|TX|99-9^Before the TXA^LN||not part of the note\r"
                      "TXA|1|PR^Progress note^HL70270|TX|20240101110000||||||||DOC42^DOCSYS||||"
                      "note.txt|AU||AV\r"
                      "OBX|1|TX|11506-3^Progress note^LN||First line \\T\\ more\r"
                      "OBX|2|FT|11506-3^Progress note^LN||Second\\.br\\line\r"
                      "OBX|3|NM|8867-4^Heart rate^LN||72\r");
    hf_rec_document *d = f.rec->document;
    assert_non_null(d);
    assert_int_equal(d->set_id.v, 1);
    assert_span(d->document_type->code, "PR");
    assert_span(d->content_presentation, "TX");
    assert_span(d->activity_datetime, "20240101110000");
    assert_span(d->unique_document_number->id, "DOC42");
    assert_span(d->unique_document_number->namespace_id, "DOCSYS");
    assert_span(d->unique_document_file_name, "note.txt");
    assert_span(d->completion_status, "AU");
    assert_span(d->availability_status, "AV");
    assert_span(d->text, "First line & more\nSecond\nline");
    assert_int_equal(f.rec->observations.n, 4);
    done(&f);
}

static void dft_amounts_and_codes(void **state) {
    (void)state;
    fixture f = build("MSH|^~\\&|BILL|HOSP_D|HL7FLOW|HUB|20240101||DFT^P03^DFT_P03|DFT1|P|2.5.1\r"
                      "PID|1||77^^^HOSP_D^MR\r"
                      "FT1|1|T1||20231231|20240101|CG|80053^CMP^CPT|Comprehensive panel||2|"
                      "38.00&USD|19.00&USD|LAB^Laboratory^L||||||K35.80^Appendicitis^I10~"
                      "E11.9^Diabetes^I10|111^PERF^DOC|222^ORD^DOC||||80053^CMP^CPT\r");
    assert_int_equal(f.rec->financial_transactions.n, 1);
    hf_rec_ft *t = &f.rec->financial_transactions.v[0];
    assert_int_equal(t->segment_occurrence, 1);
    assert_span(t->transaction_id, "T1");
    assert_span(t->transaction_datetime, "20231231");
    assert_span(t->posting_datetime, "20240101");
    assert_span(t->transaction_type, "CG");
    assert_span(t->transaction_code->code, "80053");
    assert_span(t->description, "Comprehensive panel");
    assert_span(t->quantity, "2");
    assert_span(t->extended_amount, "38.00");
    assert_span(t->extended_currency, "USD");
    assert_span(t->unit_amount, "19.00");
    assert_span(t->unit_currency, "USD");
    assert_span(t->department->text, "Laboratory");
    assert_int_equal(t->diagnoses.n, 2);
    assert_span(t->diagnoses.v[1].code, "E11.9");
    assert_span(t->performed_by->family, "PERF");
    assert_span(t->ordered_by->family, "ORD");
    assert_span(t->procedure_code->system, "CPT");
    assert_span(f.rec->patient->mrn, "77");
    done(&f);
}

static void merge_and_mrn_fallback(void **state) {
    (void)state;
    fixture f = build("MSH|^~\\&|ADT|HOSP_A|HL7FLOW|HUB|20240101||ADT^A40^ADT_A39|MRG1|P|2.5.1\r"
                      "EVN|A40|20240101\r"
                      "PID|1||~100^^^&2.16.840.1.113883&ISO^PI\r"
                      "MRG|555^^^REG^PI~200^^^HOSP_A^MR||200001^^^HOSP_A^AN||||OLD^NAME\r"
                      "PV1|1|N\r");
    hf_rec_patient *p = f.rec->patient;
    assert_int_equal(p->identifiers.n, 1); /* the empty repetition is skipped */
    assert_span(p->mrn, "100");            /* no MR: the first with an id */
    assert_span(p->mrn_identifier_type, "PI");
    assert_span(p->mrn_assigning_authority, "2.16.840.1.113883"); /* CX.4.1 empty: CX.4.2 */
    hf_rec_merge *m = f.rec->merge;
    assert_non_null(m);
    assert_int_equal(m->prior_identifiers.n, 2);
    assert_span(m->prior_mrn, "200");
    assert_span(m->prior_mrn_assigning_authority, "HOSP_A");
    assert_span(m->prior_account_number->id, "200001");
    assert_null(m->prior_visit_number);
    assert_span(m->prior_names.v[0].family, "OLD");
    assert_span(f.rec->visit->patient_class, "N");
    assert_null(f.rec->visit->assigned_location);
    done(&f);
}

static void latin1_bytes_are_transcoded(void **state) {
    (void)state;
    const char msg[] = "MSH|^~\\&|A|HOSP|B|C|20240101||ADT^A08|L1|P|2.3|||||||8859/1\r"
                       "PID|1||1^^^H^MR||MU\xd1OZ^JOS\xc9\r"
                       "NTE|1||caf\\XE9\\\r";
    fixture f = build(msg);
    assert_span(f.rec->patient->names.v[0].family, "MU\xc3\x91OZ");
    assert_span(f.rec->patient->names.v[0].given, "JOS\xc3\x89");
    assert_span(f.rec->notes.v[0].comment, "caf\xc3\xa9");
    assert_span(f.rec->header.text_conversion, "iso-8859-1");
    assert_span(f.rec->segments.v[1].fields.v[4], "MU\xc3\x91OZ^JOS\xc3\x89");
    assert_int_equal(f.rec->raw.len, strlen(msg) - 1); /* raw: the exact bytes */
    assert_memory_equal(f.rec->raw.p, msg, f.rec->raw.len);
    done(&f);
}

static void invalid_utf8_in_a_utf8_message_is_replaced(void **state) {
    (void)state;
    fixture f = build("MSH|^~\\&|A|HOSP|B|C|20240101||ADT^A08|U1|P|2.5.1|||||USA|UNICODE UTF-8\r"
                      "PID|1||1^^^H^MR||BAD\xff^\xc3\xa9t\xc3\xa9\r");
    assert_span(f.rec->patient->names.v[0].family, "BAD\xef\xbf\xbd");
    assert_span(f.rec->patient->names.v[0].given, "\xc3\xa9t\xc3\xa9"); /* valid: kept */
    assert_span(f.rec->header.text_conversion, "replacement");
    done(&f);
    /* valid UTF-8, but an escape decodes to a stray byte */
    f = build("MSH|^~\\&|A|HOSP|B|C|20240101||ADT^A08|U2|P|2.5.1\r"
              "NTE|1||x\\XFF\\y \xc3\xa9\r");
    assert_span(f.rec->notes.v[0].comment, "x\xef\xbf\xbdy \xc3\xa9");
    assert_span(f.rec->header.text_conversion, "replacement");
    done(&f);
}

static void empty_is_null_and_explicit_null_is_kept(void **state) {
    (void)state;
    const char msg[] = "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|N1|P|2.5\n"
                       "PID|1||1^^^H^MR||\"\"^JO|||\n";
    fixture f = build(msg);
    hf_rec_patient *p = f.rec->patient;
    assert_span(p->names.v[0].family, "\"\"");
    assert_span(p->names.v[0].given, "JO");
    assert_null_span(p->names.v[0].middle);
    assert_null_span(p->birth_datetime);
    assert_false(p->birth_date.set);
    assert_null_span(p->sex);
    assert_null(p->primary_language);
    assert_int_equal(p->races.n, 0);
    assert_int_equal(f.rec->parse_quirks.n, 1);
    assert_span(f.rec->parse_quirks.v[0], "lf_terminators");
    assert_span(f.rec->segments.v[1].fields.v[f.rec->segments.v[1].fields.n - 1], "");
    done(&f);
}

static void msh2_without_escape_character_reads_backslashes_as_text(void **state) {
    (void)state;
    fixture f = build("MSH|^~&|A|B|C|D|20240101||ADT^A08|Q1|P|2.3\r"
                      "PID|1||1^^^H&1.2&ISO^MR||A\\B\\^C\r");
    hf_rec_patient *p = f.rec->patient;
    assert_span(p->names.v[0].family, "A\\B\\");
    assert_span(p->identifiers.v[0].assigning_authority->namespace_id, "H");
    assert_span(p->identifiers.v[0].assigning_authority->universal_id, "1.2");
    assert_span(p->identifiers.v[0].assigning_authority->universal_id_type, "ISO");
    assert_int_equal(f.rec->parse_quirks.n, 1);
    assert_span(f.rec->parse_quirks.v[0], "msh2_no_escape");
    done(&f);
}

static void meta_wins_over_msh_and_ingest_ts_is_kept(void **state) {
    (void)state;
    hf_rec_meta meta = {{"mllp-east", 9}, {"FAC_9", 5}, 1704067200123456LL};
    fixture f = build_meta(ORU, strlen(ORU), &meta);
    assert_span(f.rec->source_system, "mllp-east");
    assert_span(f.rec->facility_id, "FAC_9");
    assert_int_equal(f.rec->ingest_ts, 1704067200123456LL);
    done(&f);
    hf_rec_meta bad = {{"src\xff", 4}, {"", 0}, 0}; /* headers are not trusted either */
    f = build_meta(ORU, strlen(ORU), &bad);
    assert_span(f.rec->source_system, "src\xef\xbf\xbd");
    assert_span(f.rec->facility_id, "HOSP_B");
    done(&f);
}

static void one_context_serves_many_messages(void **state) {
    (void)state;
    hf_rec_ctx *ctx = hf_rec_ctx_new();
    hf_hl7_msg *a = NULL, *b = NULL;
    hf_rec *r = NULL;
    assert_int_equal(hf_hl7_parse((hf_span){ADT, strlen(ADT)}, NULL, &a, NULL), HF_OK);
    assert_int_equal(hf_hl7_parse((hf_span){ORU, strlen(ORU)}, NULL, &b, NULL), HF_OK);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(hf_rec_build(ctx, i % 2 ? b : a, NULL, &r, NULL), HF_OK);
        if (i % 2) {
            assert_span(r->header.control_id, "LAB77");
            assert_null(r->visit); /* nothing left over from the ADT */
            assert_int_equal(r->next_of_kin.n, 0);
            assert_int_equal(r->observations.n, 4);
        } else {
            assert_span(r->header.control_id, "CTRL001");
            assert_int_equal(r->observations.n, 0);
            assert_non_null(r->visit);
        }
    }
    /* a caller adds a block with the context's memory */
    hf_rec_facility *fac = hf_rec_alloc(ctx, sizeof *fac);
    assert_non_null(fac);
    assert_null_span(fac->name);
    fac->name = hf_rec_strdup(ctx, "General", 7);
    assert_span(fac->name, "General");
    hf_rec_ctx_destroy(ctx);
    hf_hl7_msg_destroy(a);
    hf_hl7_msg_destroy(b);
}

static void a_huge_message_grows_the_arena(void **state) {
    (void)state;
    /* 3000 OBX: more than one arena chunk, then the next record reuses it */
    size_t cap = 3000 * 64 + 256, n = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    n += (size_t)snprintf(big, cap, "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|BIG|P|2.5.1\r");
    for (int i = 1; i <= 3000; i++)
        n += (size_t)snprintf(big + n, cap - n, "OBX|%d|NM|1-1^T^LN||%d|mg||||||F\r", i, i);
    fixture f = build_meta(big, n, NULL);
    assert_int_equal(f.rec->observations.n, 3000);
    assert_span(f.rec->observations.v[2999].value, "3000");
    assert_true(f.rec->observations.v[2999].value_numeric.v == 3000.0);
    hf_rec *r;
    assert_int_equal(hf_rec_build(f.ctx, f.msg, NULL, &r, NULL), HF_OK);
    assert_int_equal(r->segments.n, 3001);
    done(&f);
    free(big);
}

static void numbers_and_set_ids_are_strict(void **state) {
    (void)state;
    fixture f = build("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|NUM|P|2.5.1\r"
                      "OBX|1|NM|1^A||-0.5\r"
                      "OBX|2|NM|1^A||+12\r"
                      "OBX|3|NM|1^A||.25\r"
                      "OBX|4|NM|1^A||1e5\r"
                      "OBX|x|NM|1^A||1 2\r"
                      "OBX|6|NM|1^A||12345678901234567890.5\r"
                      "OBX|7|NM|1^A||\r"
                      "OBX|8|ST|1^A||42\r"
                      "OBX|-9|NM|1^A||4.30\r");
    const hf_rec_obs *o = f.rec->observations.v;
    assert_int_equal(f.rec->observations.n, 9);
    assert_true(o[0].value_numeric.set && o[0].value_numeric.v == -0.5);
    assert_true(o[1].value_numeric.set && o[1].value_numeric.v == 12.0);
    assert_true(o[2].value_numeric.set && o[2].value_numeric.v == 0.25);
    assert_false(o[3].value_numeric.set); /* no exponents in NM */
    assert_span(o[3].value, "1e5");
    assert_false(o[4].set_id.set);
    assert_false(o[4].value_numeric.set);
    assert_true(o[5].value_numeric.set && o[5].value_numeric.v > 1.2345678901234e19);
    assert_false(o[6].value_numeric.set);
    assert_null_span(o[6].value);
    assert_false(o[7].value_numeric.set); /* only NM values are numbers */
    assert_int_equal(o[8].set_id.v, -9);
    assert_true(o[8].value_numeric.v == 4.3);
    assert_span(o[8].value, "4.30"); /* the text keeps the precision */
    done(&f);
}

typedef struct times_seen {
    int total, with_text, set;
    hf_opt_i64 *admit;
    uint64_t tops; /* bit i: a time was under top-level field i */
} times_seen;

static void count_time(int top, hf_span text, hf_opt_i64 *ts, void *arg) {
    times_seen *t = arg;
    t->total++;
    t->tops |= (uint64_t)1 << top;
    t->with_text += text.len > 0;
    t->set += ts->set;
    if (text.len == 20 && memcmp(text.p, "20240312080000-0500", 19) == 0)
        t->admit = ts;
    /* what the enricher does: read the wall time with the facility's offset */
    hf_rec_dtm d;
    if (!ts->set && hf_rec_dtm_parse(text, &d) && d.digits >= 8)
        *ts = (hf_opt_i64){hf_rec_dtm_to_us(&d, -300), true};
}

static void each_time_visits_every_date_time(void **state) {
    (void)state;
    fixture f = build(ADT);
    times_seen t = {0, 0, 0, NULL, 0};
    hf_rec_each_time(f.rec, HF_REC_STAGED, count_time, &t);
    /* header 1, event 3, patient 1, visit 2, diagnosis 1 */
    assert_int_equal(t.total, 8);
    uint64_t bit = 1;
    assert_int_equal(t.tops, bit << hf_rec_field_index("header") | bit << hf_rec_field_index("event") |
                                 bit << hf_rec_field_index("patient") |
                                 bit << hf_rec_field_index("visit") |
                                 bit << hf_rec_field_index("diagnoses"));
    assert_int_equal(t.with_text, 7); /* EVN-3 is empty */
    assert_int_equal(t.set, 3);       /* MSH-7, EVN-2, PV1-44 carry offsets */
    assert_true(f.rec->event->event_occurred_ts.set);
    assert_true(f.rec->visit->discharge_ts.set); /* 20240315 at -0500 */
    assert_int_equal(f.rec->visit->discharge_ts.v, 1710478800LL * 1000000);
    assert_false(f.rec->event->planned_event_ts.set);
    done(&f);
    f = build(ORU); /* observations and orders too */
    t = (times_seen){0, 0, 0, NULL, 0};
    hf_rec_each_time(f.rec, HF_REC_VALIDATED, count_time, &t);
    assert_int_equal(t.total, 1 + 1 + 2 * 6 + 4); /* header, patient, 2 orders x 6, 4 OBX */
    assert_int_equal(t.tops, bit << hf_rec_field_index("header") |
                                 bit << hf_rec_field_index("patient") |
                                 bit << hf_rec_field_index("orders") |
                                 bit << hf_rec_field_index("observations"));
    done(&f);
}

/* Components are cut 16 bytes a step with read-ahead inside the message:
 * values longer than a step, a repetition ending a value mid-step, escaped
 * segments (texts decoded in place), all-empty composites, and values in
 * the message's last bytes (where no read-ahead is possible) must all read
 * the same as a plain split would. */
static const char LONG_VALUES[] =
    "MSH|^~\\&|APP|FAC|||20240101||ORU^R01|C1|P|2.5.1\r"
    "PID|1||ID1^^^AUTHORITY_WITH_A_LONG_NAME_1234^MR~ID2^^^B^PI||"
    "FAMILYNAMEISQUITELONG&PFX^GIVENNAMEALSOLONG^M\r"
    "OBR|1|PLACER-0000000000001^PLACER_APPLICATION_NS|FILLER||^^^\r"
    "OBX|1|CE|1234-5^A very long observation name text^LN~9999^second^LN||"
    "X\\T\\Y^Escaped\\S\\text^L||||||F\r"
    "NTE|1|L|comment|RE^Remark^HL70364";

static void components_of_long_escaped_and_final_values(void **state) {
    (void)state;
    fixture f = build(LONG_VALUES);
    const hf_rec *r = f.rec;
    assert_non_null(r->patient);
    assert_int_equal(r->patient->identifiers.n, 2);
    const hf_rec_cx *id = &r->patient->identifiers.v[0];
    assert_span(id->id, "ID1");
    assert_non_null(id->assigning_authority);
    assert_span(id->assigning_authority->namespace_id, "AUTHORITY_WITH_A_LONG_NAME_1234");
    assert_span(id->identifier_type, "MR");
    assert_span(r->patient->identifiers.v[1].identifier_type, "PI");
    assert_int_equal(r->patient->names.n, 1);
    assert_span(r->patient->names.v[0].family, "FAMILYNAMEISQUITELONG");
    assert_span(r->patient->names.v[0].given, "GIVENNAMEALSOLONG");
    assert_span(r->patient->names.v[0].middle, "M");
    assert_null_span(r->patient->names.v[0].suffix);

    assert_int_equal(r->orders.n, 1);
    const hf_rec_order *o = &r->orders.v[0];
    assert_non_null(o->placer_order_number);
    assert_span(o->placer_order_number->id, "PLACER-0000000000001");
    assert_span(o->placer_order_number->namespace_id, "PLACER_APPLICATION_NS");
    assert_null_span(o->placer_order_number->universal_id);
    assert_null(o->universal_service_id); /* "^^^": every part empty */

    assert_int_equal(r->observations.n, 1);
    const hf_rec_obs *x = &r->observations.v[0];
    assert_non_null(x->identifier);
    assert_span(x->identifier->code, "1234-5");
    assert_span(x->identifier->text, "A very long observation name text");
    assert_span(x->identifier->system, "LN"); /* the repetition ends it */
    assert_null_span(x->identifier->alt_code);
    assert_null_span(x->identifier->alt_system);
    assert_non_null(x->value_coded);
    assert_span(x->value_coded->code, "X&Y");
    assert_span(x->value_coded->text, "Escaped^text");
    assert_span(x->value_coded->system, "L");
    assert_span(x->result_status, "F");

    assert_int_equal(r->notes.n, 1);
    assert_non_null(r->notes.v[0].comment_type); /* the message's last bytes */
    assert_span(r->notes.v[0].comment_type->code, "RE");
    assert_span(r->notes.v[0].comment_type->text, "Remark");
    assert_span(r->notes.v[0].comment_type->system, "HL70364");
    done(&f);

    /* a leaf in the last bytes, and one longer than a step */
    f = build("MSH|^~\\&|APP|FAC|||20240101||ADT^A01|C2|P|2.5.1\r"
              "EVN|A01|20240101|||OPERATOR_WITH_A_LONG_ID^Smith\r"
              "PV1|1|I^X");
    assert_non_null(f.rec->event);
    assert_span(f.rec->event->operator_id, "OPERATOR_WITH_A_LONG_ID");
    assert_non_null(f.rec->visit);
    assert_span(f.rec->visit->patient_class, "I");
    done(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adt_header_event_and_patient),
        cmocka_unit_test(adt_visit_and_other_blocks),
        cmocka_unit_test(z_segments_and_every_segment_stay_on_the_wire_form),
        cmocka_unit_test(oru_orders_observations_and_notes_are_grouped),
        cmocka_unit_test(mdm_document_text_joins_the_text_observations),
        cmocka_unit_test(dft_amounts_and_codes),
        cmocka_unit_test(merge_and_mrn_fallback),
        cmocka_unit_test(latin1_bytes_are_transcoded),
        cmocka_unit_test(invalid_utf8_in_a_utf8_message_is_replaced),
        cmocka_unit_test(empty_is_null_and_explicit_null_is_kept),
        cmocka_unit_test(msh2_without_escape_character_reads_backslashes_as_text),
        cmocka_unit_test(meta_wins_over_msh_and_ingest_ts_is_kept),
        cmocka_unit_test(one_context_serves_many_messages),
        cmocka_unit_test(a_huge_message_grows_the_arena),
        cmocka_unit_test(numbers_and_set_ids_are_strict),
        cmocka_unit_test(each_time_visits_every_date_time),
        cmocka_unit_test(components_of_long_escaped_and_final_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
