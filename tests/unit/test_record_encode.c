/* test_record_encode.c - the direct Avro encoder against avro-c: byte for
 * byte on generated messages of every type in both shapes, read back with
 * avro-c's reader against the schema and checked field by field against
 * the HL7 source, the staged shape's prefix property, the direct decoder
 * (round trip, bad input, arrays in several blocks) and the JSON view.
 * Run from the repository root (schemas/avro). Synthetic data only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "hl7flow/gen.h"
#include "hl7flow/hl7.h"
#include "hl7flow/record.h"

#define GEN_COUNT 600

/* ------------------------------------------------------------ helpers */

typedef struct schema {
    avro_schema_t s;
    avro_value_iface_t *iface;
    avro_value_t filled, read; /* avro-c values: from hf_rec_to_avro, from the reader */
} schema;

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    return buf;
}

static void schema_open(schema *sc, const char *topic) {
    char path[128];
    snprintf(path, sizeof path, "schemas/avro/%s.avsc", topic);
    char *text = slurp(path);
    if (text == NULL)
        fail_msg("cannot read %s (run from the repository root)", path);
    if (avro_schema_from_json_length(text, strlen(text), &sc->s) != 0)
        fail_msg("%s: %s", path, avro_strerror());
    free(text);
    sc->iface = avro_generic_class_from_schema(sc->s);
    assert_non_null(sc->iface);
    assert_int_equal(avro_generic_value_new(sc->iface, &sc->filled), 0);
    assert_int_equal(avro_generic_value_new(sc->iface, &sc->read), 0);
}

static void schema_close(schema *sc) {
    avro_value_decref(&sc->filled);
    avro_value_decref(&sc->read);
    avro_value_iface_decref(sc->iface);
    avro_schema_decref(sc->s);
}

/* avro-c's encoding of @p rec into @p out (a malloc'd buffer, grown). */
static size_t avro_c_encode(schema *sc, const hf_rec *rec, hf_rec_form form, char **out,
                            size_t *cap) {
    hf_err err = {0};
    if (hf_rec_to_avro(rec, form, &sc->filled, &err) != HF_OK)
        fail_msg("hf_rec_to_avro: %s", err.msg);
    for (;;) {
        avro_writer_t w = avro_writer_memory(*out, (int64_t)*cap);
        int rc = avro_value_write(w, &sc->filled);
        int64_t n = avro_writer_tell(w);
        avro_writer_free(w);
        if (rc == 0)
            return (size_t)n;
        *cap *= 2;
        *out = realloc(*out, *cap);
        assert_non_null(*out);
    }
}

/* Reads @p len bytes with avro-c into sc->read; fails the test on error. */
static void avro_c_read(schema *sc, const char *data, size_t len) {
    avro_reader_t r = avro_reader_memory(data, (int64_t)len);
    avro_value_reset(&sc->read);
    if (avro_value_read(r, &sc->read) != 0)
        fail_msg("avro-c cannot read the encoding: %s", avro_strerror());
    avro_reader_free(r);
}

/* Field @p name of record @p v (a union is unwrapped first); false if v is
 * null. */
static bool get(avro_value_t *v, const char *name, avro_value_t *out) {
    avro_value_t cur = *v;
    if (avro_value_get_type(&cur) == AVRO_UNION) {
        avro_value_t b;
        assert_int_equal(avro_value_get_current_branch(&cur, &b), 0);
        cur = b;
    }
    if (avro_value_get_type(&cur) == AVRO_NULL)
        return false;
    assert_int_equal(avro_value_get_by_name(&cur, name, out, NULL), 0);
    return true;
}

/* The string at a dotted path ("header.control_id"); NULL for null. */
static const char *str_at(avro_value_t *root, const char *path, size_t *len) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    avro_value_t cur = *root, next;
    for (char *tok = strtok(buf, "."); tok != NULL; tok = strtok(NULL, ".")) {
        if (!get(&cur, tok, &next))
            return NULL;
        cur = next;
    }
    if (avro_value_get_type(&cur) == AVRO_UNION) {
        avro_value_t b;
        avro_value_get_current_branch(&cur, &b);
        cur = b;
    }
    if (avro_value_get_type(&cur) == AVRO_NULL)
        return NULL;
    const char *s = NULL;
    size_t size = 0;
    assert_int_equal(avro_value_get_string(&cur, &s, &size), 0);
    *len = size - 1; /* avro-c counts the NUL */
    return s;
}

static void assert_str_at(avro_value_t *root, const char *path, const char *want, size_t wlen) {
    size_t len = 0;
    const char *s = str_at(root, path, &len);
    if (s == NULL || len != wlen || memcmp(s, want, len) != 0)
        fail_msg("%s is \"%.*s\", expected \"%.*s\"", path, s ? (int)len : 4, s ? s : "null",
                 (int)wlen, want);
}

static const char *typed_topic(hf_gen_type t) {
    switch (t) {
    case HF_GEN_ORM_O01: return "hl7.parsed.orm";
    case HF_GEN_ORU_R01: return "hl7.parsed.oru";
    case HF_GEN_DFT_P03: return "hl7.parsed.dft";
    case HF_GEN_MDM_T02: return "hl7.parsed.mdm";
    default: return "hl7.parsed.adt";
    }
}

/* CX.1 of the PID-3 repetition of type MR, read with hl7.h only. */
static hf_span mr_of(const hf_hl7_msg *m) {
    size_t pid = hf_hl7_seg_find(m, "PID", 1);
    for (size_t r = 1; r < 64; r++) {
        hf_span type = hf_hl7_at(m, pid, 3, r, 5, 0);
        if (type.len == 2 && memcmp(type.p, "MR", 2) == 0)
            return hf_hl7_at(m, pid, 3, r, 1, 0);
    }
    return (hf_span){"", 0};
}

/* ----------------------------------------------------------------- tests */

static void generated_messages_encode_like_avro_c(void **state) {
    (void)state;
    schema topics[6]; /* validated + the five typed topics */
    const char *names[6] = {"hl7.validated",  "hl7.parsed.adt", "hl7.parsed.orm",
                            "hl7.parsed.oru", "hl7.parsed.dft", "hl7.parsed.mdm"};
    for (int i = 0; i < 6; i++)
        schema_open(&topics[i], names[i]);
    hf_gen *gen = NULL;
    hf_gen_opts opts;
    hf_gen_opts_default(&opts);
    assert_int_equal(hf_gen_new(&opts, &gen, NULL), HF_OK);
    hf_hl7_msg *msg = hf_hl7_msg_new();
    hf_rec_ctx *ctx = hf_rec_ctx_new();
    hf_rec_buf out = {0};
    size_t cap = 1 << 16;
    char *ref = malloc(cap);
    int seen[HF_GEN_TYPE_COUNT] = {0};
    for (int i = 0; i < GEN_COUNT; i++) {
        hf_gen_msg gm;
        hf_rec *rec;
        assert_int_equal(hf_gen_next(gen, &gm), HF_OK);
        assert_int_equal(hf_hl7_parse_into(msg, (hf_span){gm.data, gm.len}, NULL, NULL), HF_OK);
        hf_rec_meta meta = {{"gen", 3}, {"", 0}, 1704067200000000LL + i};
        assert_int_equal(hf_rec_build(ctx, msg, &meta, &rec, NULL), HF_OK);
        seen[gm.type]++;
        for (int form = 0; form < 2; form++) {
            schema *sc = &topics[0];
            if (form == HF_REC_STAGED)
                for (int k = 1; k < 6; k++)
                    if (strcmp(names[k], typed_topic(gm.type)) == 0)
                        sc = &topics[k];
            out.len = 0;
            assert_int_equal(hf_rec_encode(rec, (hf_rec_form)form, &out), HF_OK);
            size_t n = avro_c_encode(sc, rec, (hf_rec_form)form, &ref, &cap);
            if (n != out.len || memcmp(ref, out.p, n) != 0) {
                size_t k = 0;
                while (k < n && k < out.len && ref[k] == out.p[k])
                    k++;
                fail_msg("message %d (%s) form %d: direct and avro-c differ at byte %zu "
                         "(%zu vs %zu bytes)", i + 1, hf_gen_type_name(gm.type), form, k, out.len,
                         n);
            }
        }
    }
    for (int t = 0; t < HF_GEN_TYPE_COUNT; t++)
        if (seen[t] == 0)
            fail_msg("no %s among the first %d messages", hf_gen_type_name((hf_gen_type)t),
                     GEN_COUNT);
    free(ref);
    hf_rec_buf_free(&out);
    hf_rec_ctx_destroy(ctx);
    hf_hl7_msg_destroy(msg);
    hf_gen_destroy(gen);
    for (int i = 0; i < 6; i++)
        schema_close(&topics[i]);
}

static void avro_c_reads_back_what_the_encoder_wrote(void **state) {
    (void)state;
    schema sc;
    schema_open(&sc, "hl7.validated");
    hf_gen *gen = NULL;
    hf_gen_opts opts;
    hf_gen_opts_default(&opts);
    opts.seed = 7;
    assert_int_equal(hf_gen_new(&opts, &gen, NULL), HF_OK);
    hf_hl7_msg *msg = hf_hl7_msg_new();
    hf_rec_ctx *ctx = hf_rec_ctx_new();
    hf_rec_buf out = {0};
    char text[8192];
    for (int i = 0; i < 300; i++) {
        hf_gen_msg gm;
        hf_rec *rec;
        assert_int_equal(hf_gen_next(gen, &gm), HF_OK);
        assert_int_equal(hf_hl7_parse_into(msg, (hf_span){gm.data, gm.len}, NULL, NULL), HF_OK);
        assert_int_equal(hf_rec_build(ctx, msg, NULL, &rec, NULL), HF_OK);
        out.len = 0;
        assert_int_equal(hf_rec_encode(rec, HF_REC_VALIDATED, &out), HF_OK);
        avro_c_read(&sc, out.p, out.len);
        assert_int_equal(hf_rec_to_avro(rec, HF_REC_VALIDATED, &sc.filled, NULL), HF_OK);
        assert_true(avro_value_equal(&sc.filled, &sc.read));

        /* against the HL7 source, read with hl7.h */
        assert_str_at(&sc.read, "header.control_id", gm.control_id, strlen(gm.control_id));
        hf_span mr = mr_of(msg);
        assert_true(mr.len > 0);
        assert_str_at(&sc.read, "patient.mrn", mr.p, mr.len);
        avro_value_t obs, segs, item;
        assert_true(get(&sc.read, "observations", &obs));
        size_t nobs = 0, nseg = 0;
        avro_value_get_size(&obs, &nobs);
        size_t expect = 0;
        while (hf_hl7_seg_find(msg, "OBX", (uint32_t)expect + 1) != HF_HL7_NONE)
            expect++;
        assert_int_equal(nobs, expect);
        for (size_t k = 0; k < nobs; k++) {
            size_t seg = hf_hl7_seg_find(msg, "OBX", (uint32_t)k + 1);
            hf_span v = hf_hl7_field(msg, seg, 5);
            if (memchr(v.p, '~', v.len) != NULL)
                continue; /* repetitions become lines: checked elsewhere */
            size_t n = hf_hl7_unescape(msg, v, text, sizeof text);
            assert_true(n < sizeof text);
            avro_value_get_by_index(&obs, k, &item, NULL);
            if (n == 0)
                assert_null(str_at(&item, "value", &(size_t){0}));
            else
                assert_str_at(&item, "value", text, n);
        }
        assert_true(get(&sc.read, "segments", &segs));
        avro_value_get_size(&segs, &nseg);
        assert_int_equal(nseg, hf_hl7_seg_count(msg));
    }
    hf_rec_buf_free(&out);
    hf_rec_ctx_destroy(ctx);
    hf_hl7_msg_destroy(msg);
    hf_gen_destroy(gen);
    schema_close(&sc);
}

static const char ORU[] =
    "MSH|^~\\&|LAB|HOSP_B|HL7FLOW|HUB|20240312143005-0500||ORU^R01^ORU_R01|LAB77|P|2.5.1\r"
    "PID|1||555^^^HOSP_B^MR||DOE^JANE||19700101|F\r"
    "OBR|1|ORD1^EPIC||24323-8^Metabolic panel^LN\r"
    "OBX|1|NM|2345-7^Glucose^LN||98.5|mg/dL^mg/dL^UCUM|70-99|H|||F\r"
    "NTE|1|L|Sample \\T\\ value \\F\\ pipe\\.br\\next\r"
    "ZPD|1|custom^value|a \\S\\ b\r";

/* Parses and builds ORU into @p ctx. */
static hf_rec *build_oru(hf_rec_ctx *ctx, hf_hl7_msg **msg) {
    hf_rec *rec = NULL;
    assert_int_equal(hf_hl7_parse((hf_span){ORU, strlen(ORU)}, NULL, msg, NULL), HF_OK);
    hf_rec_meta meta = {{"mllp", 4}, {"FAC", 3}, 1704067200000001LL};
    assert_int_equal(hf_rec_build(ctx, *msg, &meta, &rec, NULL), HF_OK);
    return rec;
}

static void notes_and_z_segments_survive_the_round_trip(void **state) {
    (void)state;
    schema sc;
    schema_open(&sc, "hl7.validated");
    hf_rec_ctx *ctx = hf_rec_ctx_new();
    hf_hl7_msg *msg = NULL;
    hf_rec *rec = build_oru(ctx, &msg);
    hf_rec_buf out = {0};
    assert_int_equal(hf_rec_encode(rec, HF_REC_VALIDATED, &out), HF_OK);
    avro_c_read(&sc, out.p, out.len);
    avro_value_t notes, note, segs, zpd, fields, f2;
    assert_true(get(&sc.read, "notes", &notes));
    assert_int_equal(avro_value_get_by_index(&notes, 0, &note, NULL), 0);
    const char want[] = "Sample & value | pipe\nnext";
    assert_str_at(&note, "comment", want, strlen(want));
    assert_str_at(&note, "follows_segment", "OBX", 3);
    assert_true(get(&sc.read, "segments", &segs));
    size_t n = 0;
    avro_value_get_size(&segs, &n);
    assert_int_equal(n, 6);
    assert_int_equal(avro_value_get_by_index(&segs, 5, &zpd, NULL), 0);
    assert_str_at(&zpd, "id", "ZPD", 3);
    assert_true(get(&zpd, "fields", &fields));
    assert_int_equal(avro_value_get_by_index(&fields, 2, &f2, NULL), 0);
    const char *s;
    size_t size;
    avro_value_get_string(&f2, &s, &size);
    assert_int_equal(size - 1, 7);
    assert_memory_equal(s, "a \\S\\ b", 7); /* the wire form */
    assert_str_at(&sc.read, "source_system", "mllp", 4);
    avro_value_t ts;
    int64_t us = 0;
    assert_true(get(&sc.read, "ingest_ts", &ts));
    avro_value_get_long(&ts, &us);
    assert_int_equal(us, 1704067200000001LL);
    hf_rec_buf_free(&out);
    hf_rec_ctx_destroy(ctx);
    hf_hl7_msg_destroy(msg);
    schema_close(&sc);
}

static void staged_encoding_extends_the_validated_one(void **state) {
    (void)state;
    schema sc;
    schema_open(&sc, "hl7.parsed.oru");
    hf_rec_ctx *ctx = hf_rec_ctx_new();
    hf_hl7_msg *msg = NULL;
    hf_rec *rec = build_oru(ctx, &msg);
    hf_rec_buf v = {0}, s = {0};
    assert_int_equal(hf_rec_encode(rec, HF_REC_VALIDATED, &v), HF_OK);
    assert_int_equal(hf_rec_encode(rec, HF_REC_STAGED, &s), HF_OK);
    assert_int_equal(s.len, v.len + 5);
    assert_memory_equal(s.p, v.p, v.len);
    assert_memory_equal(s.p + v.len, "\0\0\0\0\0", 5);

    /* every stage field filled: still the avro-c bytes, and readable */
    hf_rec_facility *fac = hf_rec_alloc(ctx, sizeof *fac);
    hf_span systems[2] = {{"LAB", 3}, {"EPIC", 4}};
    hf_rec_kv attrs[2] = {{{"beds", 4}, {"420", 3}}, {{"trauma", 6}, {"II", 2}}};
    fac->facility_id = (hf_span){"FAC", 3};
    fac->name = (hf_span){"General", 7};
    fac->time_zone = (hf_span){"America/Chicago", 15};
    fac->source_systems.v = systems;
    fac->source_systems.n = 2;
    fac->attributes.v = attrs;
    fac->attributes.n = 2;
    hf_rec_enrichment *en = hf_rec_alloc(ctx, sizeof *en);
    en->facility_known = (hf_opt_bool){true, true};
    en->time_zone = fac->time_zone;
    en->patient_sex = (hf_span){"female", 6};
    en->enriched_ts = (hf_opt_i64){1704067200000002LL, true};
    hf_rec_linkage *lk = hf_rec_alloc(ctx, sizeof *lk);
    hf_span anomalies[1] = {{"result_without_order", 20}};
    lk->link_status = (hf_span){"auto", 4};
    lk->match_score = (hf_opt_f64){0.9973, true};
    lk->anomalies.v = anomalies;
    lk->anomalies.n = 1;
    rec->facility = fac;
    rec->enrichment = en;
    rec->linkage = lk;
    rec->mrn_hash = (hf_span){"00ff", 4};
    rec->empi_id = (hf_span){"E-1", 3};
    s.len = 0;
    assert_int_equal(hf_rec_encode(rec, HF_REC_STAGED, &s), HF_OK);
    size_t cap = 1 << 14;
    char *ref = malloc(cap);
    size_t n = avro_c_encode(&sc, rec, HF_REC_STAGED, &ref, &cap);
    assert_int_equal(n, s.len);
    assert_memory_equal(ref, s.p, n);
    avro_c_read(&sc, s.p, s.len);
    assert_str_at(&sc.read, "facility.name", "General", 7);
    assert_str_at(&sc.read, "enrichment.patient_sex", "female", 6);
    assert_str_at(&sc.read, "mrn_hash", "00ff", 4);
    assert_str_at(&sc.read, "empi_id", "E-1", 3);
    assert_str_at(&sc.read, "linkage.link_status", "auto", 4);
    avro_value_t attr_map, beds;
    assert_true(get(&sc.read, "facility", &attr_map));
    assert_true(get(&attr_map, "attributes", &beds));
    avro_value_t v420;
    assert_int_equal(avro_value_get_by_name(&beds, "beds", &v420, NULL), 0);

    hf_rec_ctx *ctx2 = hf_rec_ctx_new();
    hf_rec *back = NULL;
    assert_int_equal(hf_rec_decode(ctx2, s.p, s.len, HF_REC_STAGED, &back, NULL), HF_OK);
    assert_true(hf_rec_equal(rec, back, HF_REC_STAGED));
    assert_true(back->linkage->match_score.v == 0.9973);
    assert_int_equal(back->facility->attributes.n, 2);
    hf_rec_ctx_destroy(ctx2);
    free(ref);
    hf_rec_buf_free(&v);
    hf_rec_buf_free(&s);
    hf_rec_ctx_destroy(ctx);
    hf_hl7_msg_destroy(msg);
    schema_close(&sc);
}

static void direct_decoder_round_trips_and_refuses_bad_input(void **state) {
    (void)state;
    hf_gen *gen = NULL;
    hf_gen_opts opts;
    hf_gen_opts_default(&opts);
    opts.seed = 3;
    assert_int_equal(hf_gen_new(&opts, &gen, NULL), HF_OK);
    hf_hl7_msg *msg = hf_hl7_msg_new();
    hf_rec_ctx *ctx = hf_rec_ctx_new(), *ctx2 = hf_rec_ctx_new();
    hf_rec_buf out = {0};
    hf_rec *rec, *back;
    hf_err err = {0};
    for (int i = 0; i < 200; i++) {
        hf_gen_msg gm;
        assert_int_equal(hf_gen_next(gen, &gm), HF_OK);
        assert_int_equal(hf_hl7_parse_into(msg, (hf_span){gm.data, gm.len}, NULL, NULL), HF_OK);
        assert_int_equal(hf_rec_build(ctx, msg, NULL, &rec, NULL), HF_OK);
        for (int form = 0; form < 2; form++) {
            out.len = 0;
            assert_int_equal(hf_rec_encode(rec, (hf_rec_form)form, &out), HF_OK);
            assert_int_equal(hf_rec_decode(ctx2, out.p, out.len, (hf_rec_form)form, &back, &err),
                             HF_OK);
            assert_true(hf_rec_equal(rec, back, (hf_rec_form)form));
        }
    }
    /* every truncation of a record is an error, and so is a trailing byte */
    out.len = 0;
    assert_int_equal(hf_rec_encode(rec, HF_REC_VALIDATED, &out), HF_OK);
    for (size_t n = 0; n < out.len; n++) {
        back = (hf_rec *)1;
        assert_int_equal(hf_rec_decode(ctx2, out.p, n, HF_REC_VALIDATED, &back, &err),
                         HF_ESYNTAX);
        assert_null(back);
        assert_non_null(strstr(err.msg, "byte"));
    }
    char *more = malloc(out.len + 1);
    memcpy(more, out.p, out.len);
    more[out.len] = 0;
    assert_int_equal(hf_rec_decode(ctx2, more, out.len + 1, HF_REC_VALIDATED, &back, &err),
                     HF_ESYNTAX);
    assert_non_null(strstr(err.msg, "trailing"));
    /* a validated record is not a staged one */
    assert_int_equal(hf_rec_decode(ctx2, out.p, out.len, HF_REC_STAGED, &back, &err), HF_ESYNTAX);
    /* a union branch the schema does not have */
    unsigned char bad[] = {0x06, 'a', 'b', 'c', 0x00, 0x00, 0x04};
    assert_int_equal(hf_rec_decode(ctx2, bad, sizeof bad, HF_REC_VALIDATED, &back, &err),
                     HF_ESYNTAX);
    free(more);
    hf_rec_buf_free(&out);
    hf_rec_ctx_destroy(ctx);
    hf_rec_ctx_destroy(ctx2);
    hf_hl7_msg_destroy(msg);
    hf_gen_destroy(gen);
}

static void decoder_reads_arrays_in_several_blocks(void **state) {
    (void)state;
    /* MLLP framing + LF terminators: parse_quirks, the last validated
     * field, has two items */
    const char text[] = "\x0bMSH|^~\\&|A|B|C|D|20240101||ADT^A08|Q|P|2.5\nPID|1||1^^^H^MR\n"
                        "\x1c\r";
    hf_hl7_msg *msg = NULL;
    hf_rec_ctx *ctx = hf_rec_ctx_new(), *ctx2 = hf_rec_ctx_new();
    hf_rec *rec, *back;
    hf_rec_buf out = {0};
    assert_int_equal(hf_hl7_parse((hf_span){text, strlen(text)}, NULL, &msg, NULL), HF_OK);
    assert_int_equal(hf_rec_build(ctx, msg, NULL, &rec, NULL), HF_OK);
    assert_int_equal(rec->parse_quirks.n, 2);
    assert_int_equal(hf_rec_encode(rec, HF_REC_VALIDATED, &out), HF_OK);
    /* the tail is: 04, "mllp_framing", "lf_terminators", 00; rewrite it as a
     * block of -1 item with its byte size, then a block of 1 item */
    size_t l1 = strlen("mllp_framing"), l2 = strlen("lf_terminators");
    size_t tail = 1 + (1 + l1) + (1 + l2) + 1, head = out.len - tail;
    assert_int_equal((unsigned char)out.p[head], 0x04);
    char *multi = malloc(out.len + 3);
    memcpy(multi, out.p, head);
    size_t n = head;
    multi[n++] = 0x01;                   /* count -1 */
    multi[n++] = (char)(2 * (1 + l1));   /* byte size of the block */
    memcpy(multi + n, out.p + head + 1, 1 + l1);
    n += 1 + l1;
    multi[n++] = 0x02;                   /* count 1 */
    memcpy(multi + n, out.p + head + 2 + l1, 1 + l2 + 1);
    n += 1 + l2 + 1;
    assert_int_equal(hf_rec_decode(ctx2, multi, n, HF_REC_VALIDATED, &back, NULL), HF_OK);
    assert_true(hf_rec_equal(rec, back, HF_REC_VALIDATED));
    free(multi);
    hf_rec_buf_free(&out);
    hf_rec_ctx_destroy(ctx);
    hf_rec_ctx_destroy(ctx2);
    hf_hl7_msg_destroy(msg);
}

static void encode_appends_after_a_wire_header(void **state) {
    (void)state;
    hf_rec_ctx *ctx = hf_rec_ctx_new();
    hf_hl7_msg *msg = NULL;
    hf_rec *rec = build_oru(ctx, &msg);
    hf_rec_buf plain = {0}, framed = {0};
    assert_int_equal(hf_rec_encode(rec, HF_REC_VALIDATED, &plain), HF_OK);
    assert_int_equal(hf_wire_put_header(&framed, 0x01020304u), HF_OK);
    assert_int_equal(hf_rec_encode(rec, HF_REC_VALIDATED, &framed), HF_OK);
    assert_int_equal(framed.len, plain.len + HF_WIRE_HEADER_LEN);
    assert_memory_equal(framed.p, "\x00\x01\x02\x03\x04", 5);
    assert_memory_equal(framed.p + 5, plain.p, plain.len);
    hf_rec_buf_free(&plain);
    hf_rec_buf_free(&framed);
    hf_rec_ctx_destroy(ctx);
    hf_hl7_msg_destroy(msg);
}

/* Encodes @p rec appended to @p out (which already holds @p pre bytes)
 * and compares the appended bytes with avro-c's encoding. */
static void assert_encodes_like_avro_c(schema *sc, const hf_rec *rec, hf_rec_buf *out,
                                       size_t pre, const char *what) {
    size_t cap = 1 << 16;
    char *ref = malloc(cap);
    assert_non_null(ref);
    out->len = pre;
    assert_int_equal(hf_rec_encode(rec, HF_REC_VALIDATED, out), HF_OK);
    size_t n = avro_c_encode(sc, rec, HF_REC_VALIDATED, &ref, &cap);
    if (n != out->len - pre || memcmp(ref, out->p + pre, n) != 0)
        fail_msg("%s: direct and avro-c differ (%zu vs %zu bytes)", what, out->len - pre, n);
    free(ref);
}

/* The encoder's short paths: nullable strings of every length around its
 * cut-offs (1-3 bytes, 4-7, 8-16, 17+, 63 and 64: a one- or two-byte
 * length) in records of strings only, runs of nulls, segment fields that a
 * caller replaced or made long (a run of wire pieces that breaks), and all
 * of it written into a buffer that is nearly full, so every room check
 * grows it at a different place. */
static void short_strings_nulls_and_broken_runs_encode_like_avro_c(void **state) {
    (void)state;
    static const char text[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "-abcdefghijklmnopqrstuvwxyz"; /* 88 bytes: every span fits */
    static const size_t lens[] = {0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 63, 64, 70, 0, 0};
    schema sc;
    schema_open(&sc, "hl7.validated");
    hf_rec_ctx *ctx = hf_rec_ctx_new();
    hf_hl7_msg *msg = NULL;
    hf_rec *rec = build_oru(ctx, &msg);
    hf_rec_buf out = {0};
    assert_true(rec->observations.n > 0 && rec->segments.n > 2);
    hf_rec_coded *cd = hf_rec_alloc(ctx, sizeof *cd);
    hf_rec_hd *hd = hf_rec_alloc(ctx, sizeof *hd);
    assert_non_null(cd);
    assert_non_null(hd);
    rec->observations.v[0].identifier = cd;
    rec->header.receiving_facility = hd;
    size_t nl = sizeof lens / sizeof lens[0];
    for (size_t k = 0; k < nl; k++) {
        hf_span *c = &cd->code, *h = &hd->namespace_id;
        for (size_t j = 0; j < 6; j++)
            c[j] = (hf_span){text + j, lens[(k + j) % nl]};
        for (size_t j = 0; j < 3; j++)
            h[j] = (hf_span){text, lens[(k + 2 * j) % nl]};
        rec->header.control_id = (hf_span){text, lens[k]};
        /* segment 2: field 2 replaced (not a wire piece), field 1 long */
        hf_rec_segment *sg = &rec->segments.v[1];
        if (sg->fields.n > 2) {
            sg->fields.v[1] = (hf_span){text, lens[k]};
            if (k % 2 == 1)
                sg->fields.v[0] = (hf_span){text, 64 + k % 8};
        }
        for (size_t free_bytes = 0; free_bytes < 250; free_bytes += 3) {
            char what[64];
            snprintf(what, sizeof what, "lengths from %zu, %zu bytes free", k, free_bytes);
            hf_rec_buf_free(&out);
            /* a fresh buffer (256 bytes) holding all but free_bytes: the
             * encoder's first reservation and later growth land at a
             * different byte of the record each time */
            assert_int_equal(hf_wire_put_header(&out, 1), HF_OK);
            assert_true(out.cap > free_bytes);
            memset(out.p, 0, out.cap);
            out.len = out.cap - free_bytes;
            assert_encodes_like_avro_c(&sc, rec, &out, out.len, what);
        }
    }
    hf_rec_buf_free(&out);
    hf_rec_ctx_destroy(ctx);
    hf_hl7_msg_destroy(msg);
    schema_close(&sc);
}

static void json_view_is_valid_and_readable(void **state) {
    (void)state;
    hf_rec_ctx *ctx = hf_rec_ctx_new();
    hf_hl7_msg *msg = NULL;
    hf_rec *rec = build_oru(ctx, &msg);
    hf_rec_buf out = {0};
    for (int pretty = 0; pretty < 2; pretty++) {
        out.len = 0;
        assert_int_equal(hf_rec_to_json(rec, HF_REC_STAGED, pretty, &out), HF_OK);
        json_error_t je;
        json_t *j = json_loadb(out.p, out.len, 0, &je);
        if (j == NULL)
            fail_msg("not JSON: %s at %d", je.text, je.position);
        json_t *hdr = json_object_get(j, "header");
        assert_string_equal(json_string_value(json_object_get(hdr, "control_id")), "LAB77");
        assert_string_equal(json_string_value(json_object_get(hdr, "message_ts")),
                            "2024-03-12T19:30:05.000000Z");
        assert_true(json_is_null(json_object_get(hdr, "sequence_number")));
        assert_string_equal(json_string_value(json_object_get(j, "ingest_ts")),
                            "2024-01-01T00:00:00.000001Z");
        json_t *p = json_object_get(j, "patient");
        assert_string_equal(json_string_value(json_object_get(p, "birth_date")), "1970-01-01");
        json_t *o = json_array_get(json_object_get(j, "observations"), 0);
        assert_true(json_real_value(json_object_get(o, "value_numeric")) == 98.5);
        json_t *n = json_array_get(json_object_get(j, "notes"), 0);
        assert_string_equal(json_string_value(json_object_get(n, "comment")),
                            "Sample & value | pipe\nnext");
        /* CR-terminated: the segments are the message, raw is null */
        assert_true(json_is_null(json_object_get(j, "raw")));
        assert_true(json_is_null(json_object_get(j, "mrn_hash")));
        json_decref(j);
    }
    hf_rec_buf_free(&out);
    hf_rec_ctx_destroy(ctx);
    hf_hl7_msg_destroy(msg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generated_messages_encode_like_avro_c),
        cmocka_unit_test(avro_c_reads_back_what_the_encoder_wrote),
        cmocka_unit_test(notes_and_z_segments_survive_the_round_trip),
        cmocka_unit_test(staged_encoding_extends_the_validated_one),
        cmocka_unit_test(direct_decoder_round_trips_and_refuses_bad_input),
        cmocka_unit_test(decoder_reads_arrays_in_several_blocks),
        cmocka_unit_test(encode_appends_after_a_wire_header),
        cmocka_unit_test(short_strings_nulls_and_broken_runs_encode_like_avro_c),
        cmocka_unit_test(json_view_is_valid_and_readable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
