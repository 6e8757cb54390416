/* parser_transform.c - one input record of hl7.raw.ingest to one output
 * per HL7 message on hl7.validated, or the whole input to the DLQ. */
#include <stdio.h>
#include <string.h>

#include "hl7flow/headers.h"
#include "hl7flow/kafka.h"
#include "hl7flow/metrics.h"
#include "parser.h"

#define PRS_VIOLATIONS_SHOWN 8

static hf_status to_dlq(hf_dlq_reason *why, const char *cls, hf_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static hf_status to_dlq(hf_dlq_reason *why, const char *cls, hf_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    snprintf(why->error_class, sizeof why->error_class, "%s", cls);
    vsnprintf(why->error, sizeof why->error, fmt, ap);
    va_end(ap);
    return st;
}

/* "message 2 of the batch: " when the input holds more than one message. */
static void where(char *buf, size_t cap, uint32_t index, bool batch) {
    if (batch)
        snprintf(buf, cap, "message %u: ", (unsigned)index);
    else
        buf[0] = '\0';
}

/* Source system and facility from the MLLP listener's headers, else empty
 * (the record builder then takes MSH-3.1 / MSH-4.1); ingest_ts from its
 * header, else the record's timestamp. */
static void read_meta(const hf_record *in, hf_rec_meta *meta, char *src, char *fac, size_t cap) {
    memset(meta, 0, sizeof *meta);
    if (hf_kafka_header_str(in->headers, HF_H_SOURCE_SYSTEM, src, cap) && src[0] != '\0')
        meta->source_system = (hf_span){src, strlen(src)};
    if (hf_kafka_header_str(in->headers, HF_H_FACILITY_ID, fac, cap) && fac[0] != '\0')
        meta->facility_id = (hf_span){fac, strlen(fac)};
    char ts[64];
    int64_t us = 0;
    if (hf_kafka_header_str(in->headers, HF_H_INGEST_TS, ts, sizeof ts) &&
        hf_ts_parse(ts, strlen(ts), &us))
        meta->ingest_ts = us;
    else if (in->timestamp_ms > 0)
        meta->ingest_ts = in->timestamp_ms * 1000;
}

/* Sets a header on the last output from an HL7 span. */
static hf_status header_span(hf_emit *out, const char *name, hf_span v) {
    return hf_emit_header(out, name, v.p != NULL ? v.p : "", v.len);
}

static hf_status one_message(prs_ctx *c, const hf_record *in, hf_span raw, const char *at,
                             const hf_rec_meta *meta, hf_emit *out, hf_dlq_reason *why) {
    hf_err err = {0};
    hf_status st = hf_hl7_parse_into(c->msg, raw, &c->limits, &err);
    if (st != HF_OK)
        return to_dlq(why, "parse", HF_ESYNTAX, "%s%s", at, err.msg);

    if (c->profile != NULL) {
        hf_profile_violation v[PRS_VIOLATIONS_SHOWN];
        size_t n = hf_profile_check(c->profile, c->msg, v, PRS_VIOLATIONS_SHOWN);
        if (n > 0) {
            char text[400];
            size_t shown = n < PRS_VIOLATIONS_SHOWN ? n : PRS_VIOLATIONS_SHOWN;
            hf_profile_format(v, shown, text, sizeof text);
            if (n > shown)
                return to_dlq(why, "profile", HF_ESYNTAX, "%s%s (+%zu more)", at, text, n - shown);
            return to_dlq(why, "profile", HF_ESYNTAX, "%s%s", at, text);
        }
    }

    hf_rec *rec = NULL;
    st = hf_rec_build(c->rec, c->msg, meta, &rec, &err);
    if (st == HF_ENOMEM)
        return st;
    if (st != HF_OK)
        return to_dlq(why, "schema", HF_ESYNTAX, "%scannot build the record: %s", at, err.msg);
    c->out.len = 0;
    st = hf_wire_put_header(&c->out, c->schema_id);
    if (st == HF_OK)
        st = hf_rec_encode(rec, HF_REC_VALIDATED, &c->out);
    if (st != HF_OK)
        return st == HF_ENOMEM ? st : to_dlq(why, "schema", HF_ESYNTAX, "%sencoding failed", at);

    st = hf_emit_record(out, c->output_topic, in->key, in->key_len, c->out.p, c->out.len);
    if (st != HF_OK)
        return st == HF_ELIMIT ? to_dlq(why, "parse", HF_ELIMIT, "too many messages in one record")
                               : st;
    /* Each output names its own message (a batch's messages differ). */
    if ((st = header_span(out, HF_H_CONTROL_ID, hf_hl7_get_path(c->msg, &c->msh10))) != HF_OK ||
        (st = header_span(out, HF_H_MESSAGE_TYPE, hf_hl7_get_path(c->msg, &c->msh9))) != HF_OK)
        return st;
    if (meta->source_system.len == 0 &&
        (st = header_span(out, HF_H_SOURCE_SYSTEM, hf_hl7_get_path(c->msg, &c->msh3_1))) != HF_OK)
        return st;
    if (meta->facility_id.len == 0 &&
        (st = header_span(out, HF_H_FACILITY_ID, hf_hl7_get_path(c->msg, &c->msh4_1))) != HF_OK)
        return st;
    return HF_OK;
}

hf_status prs_transform(void *vctx, const hf_record *in, hf_emit *out, hf_dlq_reason *why) {
    prs_ctx *c = vctx;
    if (in->value == NULL || in->value_len == 0)
        return to_dlq(why, "parse", HF_ESYNTAX, "empty record value (offset %lld)",
                      (long long)in->offset);
    if ((int64_t)in->value_len > c->cfg->max_bytes)
        return to_dlq(why, "parse", HF_ELIMIT, "record of %zu bytes exceeds PARSER_MAX_BYTES %lld",
                      in->value_len, (long long)c->cfg->max_bytes);

    char src[256], fac[256];
    hf_rec_meta meta;
    read_meta(in, &meta, src, fac, sizeof src);

    /* One pass over the record: the first message is held back until we
     * know whether a second follows, so a single message carries no
     * "message n:" prefix in its errors. */
    hf_hl7_splitter sp;
    hf_span raw, first = {NULL, 0};
    hf_err err = {0};
    uint32_t total = 0;
    hf_hl7_split_init(&sp, (hf_span){in->value, in->value_len});
    for (;;) {
        hf_status st = hf_hl7_split_next(&sp, &raw, &err);
        if (st == HF_ENOTFOUND)
            break;
        if (st != HF_OK)
            return to_dlq(why, "parse", HF_ESYNTAX, "%s", err.msg);
        if (++total > (uint32_t)c->cfg->max_messages)
            return to_dlq(why, "parse", HF_ELIMIT,
                          "more than PARSER_MAX_BATCH_MESSAGES=%lld messages in one record",
                          (long long)c->cfg->max_messages);
        if (total == 1) {
            first = raw;
            continue;
        }
        char at[48];
        if (total == 2) {
            where(at, sizeof at, 1, true);
            st = one_message(c, in, first, at, &meta, out, why);
            if (st != HF_OK)
                return st;
        }
        where(at, sizeof at, total, true);
        st = one_message(c, in, raw, at, &meta, out, why);
        if (st != HF_OK)
            return st;
    }
    if (total == 1)
        return one_message(c, in, first, "", &meta, out, why);
    if (total == 0 && (sp.fhs.len > 0 || sp.bhs.len > 0)) {
        /* A batch file with no message (FHS/BHS ... BTS/FTS): valid HL7 with
         * nothing to pass on; counted, not dead-lettered. */
        hf_counter_add(c->empty_batches, 1);
        return HF_OK;
    }
    if (total == 0)
        return to_dlq(why, "parse", HF_ESYNTAX, "no HL7 message (no MSH segment) in %zu bytes",
                      in->value_len);
    return HF_OK;
}
