/* router_transform.c - one hl7.enriched record to its typed topic, keyed
 * by the MRN hash, or to the DLQ. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "router.h"

/* A message code for an error text: codes are table 0076 values (three
 * letters), never patient data; anything else is shown as '?'. */
static void code_text(hf_span s, char *buf, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < s.len && n + 1 < cap && i < 8; i++) {
        char ch = s.p[i];
        buf[n++] = (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ? ch : '?';
    }
    buf[n] = '\0';
}

hf_status rtr_transform(void *vctx, const hf_record *in, hf_emit *out, hf_dlq_reason *why) {
    rtr_ctx *c = vctx;
    hf_rec *rec = NULL;
    hf_err err = {0};
    hf_status st = hf_rec_reader_read_msg(c->reader, c->rec, in->value, in->value_len, in->headers,
                                          c->read_fields, &rec, &err);
    if (st == HF_ESYNTAX || st == HF_ENOTFOUND || st == HF_ECONFIG)
        return hf_dlq_set(why, "schema", "%s", err.msg);
    if (st != HF_OK)
        return st; /* HF_ERETRY (registry down), HF_ENOMEM */

    const rtr_topic *t = rtr_route_find(c, rec->header.message_code, rec->header.trigger_event);
    if (t == NULL)
        t = c->fallback;
    if (t == NULL) {
        char code[12];
        code_text(rec->header.message_code, code, sizeof code);
        if (code[0] == '\0')
            return hf_dlq_set(why, "unroutable", "MSH-9.1: no message code to route by");
        return hf_dlq_set(why, "unroutable", "MSH-9.1: no route for message code %s (ROUTER_ROUTES)",
                      code);
    }
    if (rec->patient == NULL)
        return hf_dlq_set(why, "unroutable", "PID: no patient segment, so no MRN to key the record");
    if (rec->patient->mrn.len == 0)
        return hf_dlq_set(why, "unroutable", "PID-3.1: no patient identifier (MRN) to key the record");

    /* The hash joins its parts with '|' (DESIGN.md): a '|' inside one (an
     * escaped \F\ in the HL7) would let two patients share a key. */
    if (memchr(rec->patient->mrn.p, '|', rec->patient->mrn.len) != NULL ||
        (rec->patient->mrn_assigning_authority.len > 0 &&
         memchr(rec->patient->mrn_assigning_authority.p, '|',
                rec->patient->mrn_assigning_authority.len) != NULL) ||
        (rec->facility_id.len > 0 && memchr(rec->facility_id.p, '|', rec->facility_id.len) != NULL))
        return hf_dlq_set(why, "unroutable", "PID-3: the MRN, its assigning authority or the facility "
                                         "id holds a '|', which the MRN hash uses as separator");
    char hash[HF_MRN_HASH_HEX_LEN + 1];
    if (hf_mrn_hash(c->hasher, rec->facility_id, rec->patient->mrn_assigning_authority,
                    rec->patient->mrn, hash) != HF_OK)
        return HF_EFATAL;
    rec->mrn_hash = (hf_span){hash, HF_MRN_HASH_HEX_LEN};
    /* Only mrn_hash changed: every other field is copied as read. */
    for (int i = 0; i < HF_REC_TOP_MAX; i++)
        if (i != c->mrn_hash_field)
            hf_rec_keep(rec, i);

    c->out.len = 0;
    if ((st = hf_wire_put_header(&c->out, t->schema_id)) != HF_OK ||
        (st = hf_rec_encode(rec, HF_REC_STAGED, &c->out)) != HF_OK)
        return st;
    if ((st = hf_emit_record(out, t->name, hash, HF_MRN_HASH_HEX_LEN, c->out.p, c->out.len)) !=
        HF_OK)
        return st;
    hf_counter_add(t->routed, 1);
    return HF_OK;
}
