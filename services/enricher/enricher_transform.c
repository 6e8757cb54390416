/* enricher_transform.c - one hl7.validated record to hl7.enriched, or to
 * the DLQ. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "enricher.h"

static int64_t wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A facility id for an error text: ids are configuration keys, not
 * patient data, but they come off the wire, so only a safe prefix of
 * printable ASCII is shown. */
static void id_text(hf_span s, char *buf, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < s.len && n + 1 < cap; i++)
        buf[n++] = s.p[i] >= 0x20 && s.p[i] < 0x7f && s.p[i] != '"' ? s.p[i] : '?';
    buf[n] = '\0';
}

hf_status enr_transform(void *vctx, const hf_record *in, hf_emit *out, hf_dlq_reason *why) {
    enr_ctx *c = vctx;

    hf_rec *rec = NULL;
    hf_err err = {0};
    hf_status st = hf_rec_reader_read_msg(c->reader, c->rec, in->value, in->value_len, in->headers,
                                          c->read_fields, &rec, &err);
    if (st == HF_ESYNTAX || st == HF_ENOTFOUND || st == HF_ECONFIG)
        return hf_dlq_set(why, "schema", "%s", err.msg);
    if (st != HF_OK)
        return st;

    const hf_facility *f = hf_facility_find(c->facilities, rec->facility_id);
    if (f == NULL) {
        hf_counter_add(c->m.unknown_facility, 1);
        if (c->cfg->unknown_facility == ENR_UNKNOWN_DLQ) {
            char id[48];
            id_text(rec->facility_id, id, sizeof id);
            return hf_dlq_set(why, "enrich",
                          "facility_id '%s' is not in the facility metadata (ENRICHER_FACILITIES)", id);
        }
    }
    hf_tz *tz = f != NULL && f->tz != NULL ? f->tz : c->default_tz;
    bool ingest_set = rec->ingest_ts == 0 && in->timestamp_ms > 0;
    if (ingest_set)
        rec->ingest_ts = in->timestamp_ms * 1000;
    if ((st = enr_enrich(c, rec, f, tz, wall_us())) != HF_OK)
        return st;

    /* What the enricher did not change, the lossless copy above all, is
     * copied as read rather than encoded again (the stage fields it adds
     * were not read, so keeping them is a no-op). */
    uint64_t changed = c->touched;
    if (ingest_set && c->ingest_index >= 0)
        changed |= (uint64_t)1 << c->ingest_index;
    for (int i = 0; i < HF_REC_TOP_MAX; i++)
        if (!(changed >> i & 1))
            hf_rec_keep(rec, i);
    c->out.len = 0;
    if ((st = hf_wire_put_header(&c->out, c->schema_id)) != HF_OK ||
        (st = hf_rec_encode(rec, HF_REC_STAGED, &c->out)) != HF_OK)
        return st;
    return hf_emit_record(out, c->output_topic, in->key, in->key_len, c->out.p, c->out.len);
}
