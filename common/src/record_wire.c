/* record_wire.c - the framing of record values on Kafka (DESIGN.md,
 * "Schemas and wire format"; API-NOTES.md 1.5 and 2).
 *
 * Written: magic byte 0, the schema id as a 4-byte big-endian integer, then
 * the Avro binary - what Confluent's serializers and Apicurio 3.x's
 * defaults write and what Python's confluent_kafka.avro reads.
 * Read: that framing, or Apicurio 2.x's header mode (raw Avro in the value,
 * the 8-byte big-endian globalId in the apicurio.value.globalId header)
 * when the caller passes the header. Never written: a stock reader would
 * take the first Avro bytes for a magic byte and an id.
 */
#include <stdlib.h>

#include "record_internal.h"

static hf_status append(hf_rec_buf *out, const void *p, size_t n) {
    if (out->cap - out->len < n || out->p == NULL) {
        size_t cap = out->cap ? out->cap : 256;
        while (cap - out->len < n) {
            if (cap > SIZE_MAX / 2)
                return HF_ENOMEM;
            cap *= 2;
        }
        char *np = realloc(out->p, cap);
        if (np == NULL)
            return HF_ENOMEM;
        out->p = np;
        out->cap = cap;
    }
    if (n > 0)
        memcpy(out->p + out->len, p, n);
    out->len += n;
    return HF_OK;
}

hf_status hf_wire_put_header(hf_rec_buf *out, uint32_t schema_id) {
    unsigned char h[HF_WIRE_HEADER_LEN] = {0, (unsigned char)(schema_id >> 24),
                                           (unsigned char)(schema_id >> 16),
                                           (unsigned char)(schema_id >> 8),
                                           (unsigned char)schema_id};
    return append(out, h, sizeof h);
}

hf_status hf_wire_frame(hf_rec_buf *out, uint32_t schema_id, const void *avro, size_t len) {
    size_t start = out->len;
    hf_status st = hf_wire_put_header(out, schema_id);
    if (st == HF_OK)
        st = append(out, avro, len);
    if (st != HF_OK)
        out->len = start;
    return st;
}

hf_status hf_wire_parse(const void *value, size_t len, const void *global_id_hdr,
                        size_t hdr_len, hf_wire_view *out, hf_err *err) {
    const unsigned char *v = value;
    if (global_id_hdr != NULL) {
        const unsigned char *h = global_id_hdr;
        if (hdr_len != 8)
            return hf_err_set(err, HF_ESYNTAX, "wire: %s header is %zu bytes, not 8",
                              HF_WIRE_APICURIO_GLOBAL_ID, hdr_len);
        uint64_t id = 0;
        for (int i = 0; i < 8; i++)
            id = id << 8 | h[i];
        if (id > INT64_MAX)
            return hf_err_set(err, HF_ESYNTAX, "wire: negative %s", HF_WIRE_APICURIO_GLOBAL_ID);
        out->kind = HF_WIRE_APICURIO_GLOBAL;
        out->id = (int64_t)id;
        out->avro = (hf_span){len > 0 ? (const char *)v : "", len};
        return HF_OK;
    }
    if (len < HF_WIRE_HEADER_LEN)
        return hf_err_set(err, HF_ESYNTAX, "wire: value of %zu bytes is shorter than the "
                          "5-byte header", len);
    if (v[0] != 0)
        return hf_err_set(err, HF_ESYNTAX, "wire: magic byte is 0x%02x, not 0x00", v[0]);
    out->kind = HF_WIRE_SCHEMA_ID;
    out->id = (int64_t)((uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 8 |
                        (uint32_t)v[4]);
    out->avro = (hf_span){(const char *)v + HF_WIRE_HEADER_LEN, len - HF_WIRE_HEADER_LEN};
    return HF_OK;
}
