/* record_reader.c - framing, writer-id check and decode of the records a
 * stage reads (record_reader.h).
 *
 * Writer ids are checked once each and remembered in a small table: most
 * topics see one id for months, a rolling upgrade adds a second. A writer
 * schema whose layout differs from this build's is read through a
 * resolution plan (record_resolve.c: fields by name, defaults for the
 * missing); one that cannot be resolved (a type changed) is refused
 * (HF_ECONFIG, dead-lettered as class schema).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/record_reader.h"

#define READER_IDS_MAX 32

typedef struct writer_id {
    int64_t id;
    bool layout_ok;     /* false: refused, with the reason kept */
    hf_rec_plan *plan;  /* another layout read through a plan; NULL: ours */
    char why[160];
} writer_id;

struct hf_rec_reader {
    hf_registry *reg;
    hf_rec_form form;
    uint32_t schema_id;
    writer_id ids[READER_IDS_MAX];
    size_t nids, next_evict;
};

hf_status hf_rec_output_schema(hf_registry *reg, const char *topic, hf_rec_form form, uint32_t *id,
                               hf_err *err) {
    hf_status st = hf_registry_topic_id(reg, topic, id, err);
    if (st != HF_OK)
        return st;
    avro_schema_t schema = NULL;
    st = hf_registry_schema(reg, *id, &schema, err);
    if (st != HF_OK)
        return st;
    st = hf_rec_schema_check(schema, form, err);
    avro_schema_decref(schema);
    if (st != HF_OK) {
        char detail[sizeof err->msg];
        snprintf(detail, sizeof detail, "%s", err->msg);
        return hf_err_set(err, HF_ECONFIG,
                          "registered schema %u of %s-value does not match this build: %s",
                          (unsigned)*id, topic, detail);
    }
    return HF_OK;
}

hf_status hf_rec_reader_new(hf_registry *reg, const char *topic, hf_rec_form form,
                            hf_rec_reader **out, hf_err *err) {
    uint32_t id = 0;
    hf_status st = hf_rec_output_schema(reg, topic, form, &id, err);
    if (st != HF_OK)
        return st;
    hf_rec_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return hf_err_set(err, HF_ENOMEM, "record reader");
    r->reg = reg;
    r->form = form;
    r->schema_id = id;
    r->ids[0] = (writer_id){.id = id, .layout_ok = true};
    r->nids = 1;
    *out = r;
    return HF_OK;
}

void hf_rec_reader_destroy(hf_rec_reader *r) {
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nids; i++)
        hf_rec_plan_free(r->ids[i].plan);
    free(r);
}

uint32_t hf_rec_reader_schema_id(const hf_rec_reader *r) { return r->schema_id; }

/* The remembered verdict on writer id @p id, or NULL. */
static const writer_id *known(const hf_rec_reader *r, int64_t id) {
    for (size_t i = 0; i < r->nids; i++)
        if (r->ids[i].id == id)
            return &r->ids[i];
    return NULL;
}

/* Looks @p id up in the registry and remembers the verdict. Transient
 * registry errors are returned, not remembered. */
static hf_status learn(hf_rec_reader *r, int64_t id, const writer_id **out, hf_err *err) {
    if (id < 0 || id > UINT32_MAX)
        return hf_err_set(err, HF_ENOTFOUND, "writer schema id %lld out of range", (long long)id);
    avro_schema_t schema = NULL;
    hf_status st = hf_registry_schema(r->reg, (uint32_t)id, &schema, err);
    if (st != HF_OK)
        return st;
    writer_id w = {.id = id, .layout_ok = true};
    hf_err why = {0};
    if (hf_rec_schema_check(schema, r->form, &why) != HF_OK) {
        /* another version of the schema: read it by field name */
        why = (hf_err){0};
        hf_status pst = hf_rec_plan_new(schema, r->form, &w.plan, &why);
        if (pst == HF_ENOMEM) {
            avro_schema_decref(schema);
            return hf_err_set(err, HF_ENOMEM, "record reader: out of memory");
        }
        if (pst != HF_OK) {
            w.layout_ok = false;
            size_t n = strnlen(why.msg, sizeof w.why - 1);
            memcpy(w.why, why.msg, n);
            w.why[n] = '\0';
        }
    }
    avro_schema_decref(schema);
    size_t slot = r->nids;
    if (slot == READER_IDS_MAX) { /* keep slot 0 (the topic's own id) */
        slot = 1 + r->next_evict++ % (READER_IDS_MAX - 1);
        hf_rec_plan_free(r->ids[slot].plan);
    } else {
        r->nids++;
    }
    r->ids[slot] = w;
    *out = &r->ids[slot];
    return HF_OK;
}

hf_status hf_rec_reader_read(hf_rec_reader *r, hf_rec_ctx *ctx, const void *value, size_t len,
                             const void *global_id_hdr, size_t hdr_len, hf_rec **out, hf_err *err) {
    return hf_rec_reader_read_some(r, ctx, value, len, global_id_hdr, hdr_len, UINT64_MAX, out,
                                   err);
}

hf_status hf_rec_reader_read_some(hf_rec_reader *r, hf_rec_ctx *ctx, const void *value, size_t len,
                                  const void *global_id_hdr, size_t hdr_len, uint64_t fields,
                                  hf_rec **out, hf_err *err) {
    hf_wire_view v;
    /* The Apicurio 2.x header is honoured only for a value without our
     * magic byte: a framed value is framed whatever headers it carries. */
    bool header_mode = global_id_hdr != NULL && (len == 0 || ((const unsigned char *)value)[0] != 0);
    hf_status st = hf_wire_parse(value, len, header_mode ? global_id_hdr : NULL,
                                 header_mode ? hdr_len : 0, &v, err);
    if (st != HF_OK)
        return st;
    const writer_id *w = known(r, v.id);
    if (w == NULL && (st = learn(r, v.id, &w, err)) != HF_OK)
        return st;
    if (!w->layout_ok)
        return hf_err_set(err, HF_ECONFIG,
                          "writer schema id %lld cannot be read as this build's schema "
                          "(%s)", (long long)v.id, w->why);
    if (w->plan != NULL) {
        st = hf_rec_decode_resolved(ctx, v.avro.p, v.avro.len, w->plan, out, err);
        if (st == HF_ESYNTAX) {
            char detail[sizeof err->msg];
            snprintf(detail, sizeof detail, "%s", err->msg);
            return hf_err_set(err, HF_ESYNTAX, "Avro of schema id %lld: %s", (long long)v.id,
                              detail);
        }
        return st;
    }
    st = hf_rec_decode_some(ctx, v.avro.p, v.avro.len, r->form, fields, out, err);
    if (st == HF_ESYNTAX) {
        char detail[sizeof err->msg];
        snprintf(detail, sizeof detail, "%s", err->msg);
        return hf_err_set(err, HF_ESYNTAX, "Avro of schema id %lld: %s", (long long)v.id, detail);
    }
    return st;
}

hf_status hf_rec_reader_read_msg(hf_rec_reader *r, hf_rec_ctx *ctx, const void *value, size_t len,
                                 const rd_kafka_headers_t *headers, uint64_t fields, hf_rec **out,
                                 hf_err *err) {
    const void *gid = NULL;
    size_t gid_len = 0;
    if (headers == NULL || rd_kafka_header_get_last(headers, HF_WIRE_APICURIO_GLOBAL_ID, &gid,
                                                    &gid_len) != RD_KAFKA_RESP_ERR_NO_ERROR)
        gid = NULL, gid_len = 0;
    return hf_rec_reader_read_some(r, ctx, value, len, gid, gid_len, fields, out, err);
}
