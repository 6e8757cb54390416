/* fuzz_record.c - libFuzzer target for the record path (record.h).
 *
 * The input is parsed as one HL7 message (hl7.h); when it parses, its
 * record is built (with source/facility headers cut from the input, so
 * untrusted header bytes are exercised too) and checked:
 *   - the lossless copy reads back to every segment's wire text (when the
 *     message was valid UTF-8, i.e. nothing had to be transcoded);
 *   - every string is valid UTF-8 (the JSON view must load with jansson,
 *     which refuses anything else);
 *   - the direct encoder writes exactly avro-c's bytes, in both shapes,
 *     against schemas/avro/hl7.validated.avsc and hl7.parsed.adt.avsc;
 *   - avro-c's reader decodes those bytes to the value avro-c was given;
 *   - the direct decoder gives back an equal record;
 *   - the staged encoding starts with the validated one;
 *   - hf_rec_message_bytes gives back the parser's message bytes (raw, or
 *     the segments joined by CR when raw was left null);
 *   - a partial decode (hf_rec_decode_some, fields picked by the input)
 *     re-encodes to the same bytes with its skipped fields copied;
 *   - the raw input itself, read as Avro, is accepted or refused alike by
 *     the full and the partial decoder (and never read out of bounds).
 * Any mismatch aborts, which libFuzzer reports like a crash. The schemas
 * are read once from schemas/avro under the working directory (the
 * repository root for `make fuzz` and `make test`) or $HL7FLOW_SCHEMA_DIR.
 * Built by `make fuzz` (clang, ASan+UBSan) and replayed by `make test`
 * through tests/fuzz/replay_main.c with the seeds in corpus/record/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <jansson.h>

#include "hl7flow/hl7.h"
#include "hl7flow/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                         \
    do {                                                                                 \
        if (!(x)) {                                                                      \
            fprintf(stderr, "fuzz_record: check failed: %s (line %d)\n", #x, __LINE__); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

typedef struct shape {
    avro_schema_t schema;      /* loaded once */
    avro_value_iface_t *iface; /* loaded once */
    avro_value_t filled, read; /* per input, so nothing grows across inputs */
} shape;

static shape shapes[2]; /* HF_REC_VALIDATED, HF_REC_STAGED */

static void load_shape(shape *s, const char *topic, hf_rec_form form) {
    const char *dir = getenv("HL7FLOW_SCHEMA_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s.avsc", dir != NULL ? dir : "schemas/avro", topic);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "fuzz_record: cannot open %s (run from the repository root or set "
                        "HL7FLOW_SCHEMA_DIR)\n", path);
        abort();
    }
    static char text[1 << 18];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    CHECK(avro_schema_from_json_length(text, n, &s->schema) == 0);
    hf_err err = {0};
    CHECK(hf_rec_schema_check(s->schema, form, &err) == HF_OK);
    s->iface = avro_generic_class_from_schema(s->schema);
    CHECK(s->iface != NULL);
}

static void fini(void) {
    for (int i = 0; i < 2; i++) {
        avro_value_iface_decref(shapes[i].iface);
        avro_schema_decref(shapes[i].schema);
    }
}

static void init_once(void) {
    static int done;
    if (done)
        return;
    done = 1;
    load_shape(&shapes[HF_REC_VALIDATED], "hl7.validated", HF_REC_VALIDATED);
    load_shape(&shapes[HF_REC_STAGED], "hl7.parsed.adt", HF_REC_STAGED);
    atexit(fini);
}

/* avro-c's bytes for @p rec must be @p direct; avro-c reads them back. */
static void cross_check(const hf_rec *rec, hf_rec_form form, const hf_rec_buf *direct) {
    shape *s = &shapes[form];
    size_t acap = direct->len + 64, n;
    char *abuf = malloc(acap);
    CHECK(abuf != NULL);
    CHECK(avro_generic_value_new(s->iface, &s->filled) == 0);
    CHECK(avro_generic_value_new(s->iface, &s->read) == 0);
    CHECK(hf_rec_to_avro(rec, form, &s->filled, NULL) == HF_OK);
    for (;;) {
        avro_writer_t w = avro_writer_memory(abuf, (int64_t)acap);
        int rc = avro_value_write(w, &s->filled);
        n = (size_t)avro_writer_tell(w);
        avro_writer_free(w);
        if (rc == 0)
            break;
        acap *= 2;
        abuf = realloc(abuf, acap);
        CHECK(abuf != NULL);
    }
    CHECK(n == direct->len);
    CHECK(memcmp(abuf, direct->p, n) == 0);
    avro_reader_t r = avro_reader_memory(direct->p, (int64_t)direct->len);
    avro_value_reset(&s->read);
    CHECK(avro_value_read(r, &s->read) == 0);
    avro_reader_free(r);
    CHECK(avro_value_equal(&s->filled, &s->read));
    avro_value_decref(&s->filled);
    avro_value_decref(&s->read);
    free(abuf);
}

static void check_lossless(const hf_hl7_msg *m, const hf_rec *rec) {
    if (rec->header.text_conversion.len > 0)
        return; /* transcoded text no longer equals the bytes */
    char fs = hf_hl7_msg_delims(m).field;
    CHECK(rec->segments.n == hf_hl7_seg_count(m));
    for (size_t i = 0; i < rec->segments.n; i++) {
        const hf_rec_segment *s = &rec->segments.v[i];
        hf_span raw = hf_hl7_seg_raw(m, i);
        CHECK(s->id.len == 3 && memcmp(s->id.p, raw.p, 3) == 0);
        CHECK(s->occurrence == (int32_t)hf_hl7_seg_occurrence(m, i));
        size_t at = 3;
        for (size_t k = 0; k < s->fields.n; k++) {
            if (!(i == 0 && k == 1)) { /* MSH-2 follows MSH-1 directly */
                CHECK(at < raw.len && raw.p[at] == fs);
                at++;
            }
            if (i == 0 && k == 0) { /* MSH-1 is the separator itself */
                CHECK(s->fields.v[0].len == 1 && s->fields.v[0].p[0] == fs);
                continue;
            }
            CHECK(at + s->fields.v[k].len <= raw.len);
            CHECK(memcmp(raw.p + at, s->fields.v[k].p, s->fields.v[k].len) == 0);
            at += s->fields.v[k].len;
        }
        CHECK(at == raw.len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    init_once();
    hf_hl7_msg *m = NULL;
    if (hf_hl7_parse((hf_span){size > 0 ? (const char *)data : "", size}, NULL, &m, NULL) !=
        HF_OK)
        return 0;
    hf_rec_ctx *ctx = hf_rec_ctx_new(), *ctx2 = hf_rec_ctx_new();
    CHECK(ctx != NULL && ctx2 != NULL);
    /* headers from the input: the first bytes, untrusted like the rest */
    size_t hl = size < 6 ? size : 6;
    hf_rec_meta meta = {{(const char *)data, hl}, {(const char *)data + size - hl, hl},
                        (int64_t)size * 1000003};
    hf_rec *rec = NULL, *back = NULL;
    hf_err err = {0};
    CHECK(hf_rec_build(ctx, m, (size & 1) ? &meta : NULL, &rec, &err) == HF_OK);
    check_lossless(m, rec);

    hf_rec_buf v = {0}, s = {0}, j = {0};
    CHECK(hf_rec_to_json(rec, HF_REC_VALIDATED, size & 2, &j) == HF_OK);
    json_error_t je;
    json_t *doc = json_loadb(j.p, j.len, JSON_ALLOW_NUL, &je);
    if (doc == NULL)
        fprintf(stderr, "fuzz_record: JSON refused: %s at %d\n", je.text, je.position);
    CHECK(doc != NULL);
    json_decref(doc);

    CHECK(hf_rec_encode(rec, HF_REC_VALIDATED, &v) == HF_OK);
    cross_check(rec, HF_REC_VALIDATED, &v);
    CHECK(hf_rec_decode(ctx2, v.p, v.len, HF_REC_VALIDATED, &back, &err) == HF_OK);
    CHECK(hf_rec_equal(rec, back, HF_REC_VALIDATED));

    /* staged: the stage fields from the record itself */
    rec->mrn_hash = rec->header.control_id;
    if (rec->patient != NULL)
        rec->empi_id = rec->patient->mrn;
    CHECK(hf_rec_encode(rec, HF_REC_STAGED, &s) == HF_OK);
    CHECK(s.len > v.len && memcmp(s.p, v.p, v.len) == 0);
    cross_check(rec, HF_REC_STAGED, &s);
    CHECK(hf_rec_decode(ctx2, s.p, s.len, HF_REC_STAGED, &back, &err) == HF_OK);
    CHECK(hf_rec_equal(rec, back, HF_REC_STAGED));
    /* a truncated record is refused, never read past */
    if (s.len > 1)
        CHECK(hf_rec_decode(ctx2, s.p, s.len / 2, HF_REC_STAGED, &back, &err) == HF_ESYNTAX);

    /* the message, byte for byte */
    hf_rec_buf mb = {0};
    CHECK(hf_rec_message_bytes(rec, &mb) == HF_OK);
    hf_span want = hf_hl7_msg_raw(m);
    CHECK(mb.len == want.len && memcmp(mb.p, want.p, want.len) == 0);
    hf_rec_buf_free(&mb);

    /* a partial decode, all fields kept, re-encodes to the same bytes */
    uint64_t pick = (uint64_t)size * 0x9E3779B97F4A7C15ull;
    CHECK(hf_rec_decode_some(ctx2, s.p, s.len, HF_REC_STAGED, pick, &back, &err) == HF_OK);
    for (int f = 0; f < HF_REC_TOP_MAX; f++)
        hf_rec_keep(back, f);
    hf_rec_buf again = {0};
    CHECK(hf_rec_encode(back, HF_REC_STAGED, &again) == HF_OK);
    CHECK(again.len == s.len && memcmp(again.p, s.p, s.len) == 0);
    hf_rec_buf_free(&again);

    /* the input as Avro: both decoders agree */
    hf_status full = hf_rec_decode(ctx2, data, size, HF_REC_STAGED, &back, NULL);
    hf_status some = hf_rec_decode_some(ctx2, data, size, HF_REC_STAGED, pick, &back, NULL);
    CHECK((full == HF_OK) == (some == HF_OK));

    hf_rec_buf_free(&v);
    hf_rec_buf_free(&s);
    hf_rec_buf_free(&j);
    hf_rec_ctx_destroy(ctx);
    hf_rec_ctx_destroy(ctx2);
    hf_hl7_msg_destroy(m);
    return 0;
}
