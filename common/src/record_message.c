/* record_message.c - the HL7 message of a record, byte for byte: `raw`
 * when the parser kept it, else the segments rebuilt (record.h,
 * hf_rec_message_bytes). */
#include <stdlib.h>

#include "record_internal.h"

static bool put(hf_rec_buf *b, const char *p, size_t n) {
    if (b->cap - b->len < n || b->p == NULL) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2)
                return false;
            cap *= 2;
        }
        char *np = realloc(b->p, cap);
        if (np == NULL)
            return false;
        b->p = np;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    return true;
}

hf_status hf_rec_message_bytes(const hf_rec *rec, hf_rec_buf *out) {
    size_t start = out->len;
    if (rec->raw.len > 0)
        return put(out, rec->raw.p, rec->raw.len) ? HF_OK : HF_ENOMEM;
    if (rec->segments.n == 0 || rec->segments.v[0].fields.n == 0)
        return HF_ESYNTAX;
    hf_span fs = rec->segments.v[0].fields.v[0]; /* MSH-1 */
    bool ok = true;
    for (size_t si = 0; si < rec->segments.n && ok; si++) {
        const hf_rec_segment *s = &rec->segments.v[si];
        if (si > 0)
            ok = put(out, "\r", 1);
        ok = ok && put(out, s->id.p, s->id.len);
        for (size_t k = 0; k < s->fields.n && ok; k++) {
            /* MSH-1 is the separator itself and MSH-2 follows it directly */
            bool msh_head = si == 0 && k == 1;
            if (!(si == 0 && k == 0) && !msh_head)
                ok = put(out, fs.p, fs.len);
            ok = ok && put(out, s->fields.v[k].p, s->fields.v[k].len);
        }
    }
    if (!ok) {
        out->len = start;
        return HF_ENOMEM;
    }
    return HF_OK;
}
