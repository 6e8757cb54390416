/* msh_peek.c - MSH-3/4/9/10 without a full parse (see msh.h). */
#include "hl7flow/msh.h"

#include <string.h>

bool hf_msh_peek_parse(const char *msg, size_t len, hf_msh_peek *out) {
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (i < len && (msg[i] == 0x0b || msg[i] == '\r' || msg[i] == '\n' || msg[i] == ' '))
        i++;
    if (len - i < 8 || memcmp(msg + i, "MSH", 3) != 0)
        return false;
    char fs = msg[i + 3];
    if (fs == '\r' || fs == '\n' || (fs >= '0' && fs <= '9') || (fs >= 'A' && fs <= 'Z') ||
        (fs >= 'a' && fs <= 'z'))
        return false;
    /* Component separator: first encoding character (MSH-2). */
    char cs = msg[i + 4];
    /* Field n starts after the (n-1)th separator counting MSH-1 as the
     * separator itself: MSH-2 starts at i+4. */
    size_t pos = i + 4;
    int field = 2;
    while (pos <= len) {
        size_t end = pos;
        while (end < len && msg[end] != fs && msg[end] != '\r' && msg[end] != '\n')
            end++;
        const char *f = msg + pos;
        size_t flen = end - pos;
        size_t comp1 = flen;
        const char *c = memchr(f, cs, flen);
        if (c != NULL)
            comp1 = (size_t)(c - f);
        switch (field) {
        case 3:
            out->sending_app = f;
            out->sending_app_len = comp1;
            break;
        case 4:
            out->sending_facility = f;
            out->sending_facility_len = comp1;
            break;
        case 9:
            out->message_type = f;
            out->message_type_len = flen;
            break;
        case 10:
            out->control_id = f;
            out->control_id_len = flen;
            return true;
        default:
            break;
        }
        if (end >= len || msg[end] != fs)
            break;
        pos = end + 1;
        field++;
    }
    return true;
}
