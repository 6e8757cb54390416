/* mllp.c - MLLP frame iteration over a complete buffer (see mllp.h). */
#include "hl7flow/mllp.h"

#include <string.h>

bool hf_mllp_next(const char *buf, size_t len, size_t *pos, const char **msg, size_t *msg_len,
                  size_t *skipped) {
    size_t p = *pos;
    while (p < len) {
        const char *sb = memchr(buf + p, HF_MLLP_SB, len - p);
        if (sb == NULL)
            break;
        size_t start = (size_t)(sb - buf);
        if (skipped != NULL)
            *skipped += start - p;
        size_t q = start + 1;
        for (;;) {
            const char *eb = q < len ? memchr(buf + q, HF_MLLP_EB, len - q) : NULL;
            if (eb == NULL) {
                if (skipped != NULL)
                    *skipped += len - start;
                *pos = len;
                return false;
            }
            size_t e = (size_t)(eb - buf);
            if (e + 1 < len && buf[e + 1] == HF_MLLP_CR) {
                *msg = buf + start + 1;
                *msg_len = e - start - 1;
                *pos = e + 2;
                return true;
            }
            q = e + 1; /* a lone 0x1C inside the message: keep looking */
        }
    }
    if (skipped != NULL)
        *skipped += len - p;
    *pos = len;
    return false;
}
