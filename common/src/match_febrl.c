/* match_febrl.c - reader of the FEBRL synthetic person files, the labelled
 * data that the matching tests and benchmark score against (contract in
 * match.h; the data and its traps: ../shared/data/febrl/README.md).
 *
 * Layout: a header line, then `rec_id, given_name, surname,
 * street_number, address_1, address_2, suburb, postcode, state,
 * date_of_birth, soc_sec_id` with ", " between fields, a single space for
 * an empty field, LF or CRLF lines and perhaps no final newline. The true
 * identity is the N of rec-N-org / rec-N-dup-k; it is returned apart from
 * the demographics so a matcher never sees it.
 */
#include "hl7flow/match.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FEBRL_FIELDS 11

static hf_status read_all(const char *path, char **out, size_t *len, hf_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return hf_err_set(err, HF_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    hf_status st = HF_OK;
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
        } else {
            buf = nb;
        }
    }
    if (!buf)
        st = hf_err_set(err, HF_ENOMEM, "%s: out of memory", path);
    else if (ferror(f))
        st = hf_err_set(err, HF_EIO, "%s: read error", path);
    fclose(f);
    if (st != HF_OK) {
        free(buf);
        return st;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return HF_OK;
}

/* Splits one line (without its end) into FEBRL_FIELDS spans; 0 when the
 * field count is wrong. */
static int split(char *p, size_t len, hf_span fields[FEBRL_FIELDS]) {
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != ',')
            continue;
        if (k == FEBRL_FIELDS)
            return 0;
        size_t b = start, e = i;
        while (b < e && p[b] == ' ')
            b++;
        while (e > b && p[e - 1] == ' ')
            e--;
        fields[k++] = (hf_span){p + b, e - b};
        start = i + 1;
    }
    return k == FEBRL_FIELDS;
}

static int entity_of(hf_span id, long *out) {
    if (id.len < 5 || memcmp(id.p, "rec-", 4) != 0)
        return 0;
    long v = 0;
    size_t i = 4;
    if (i >= id.len || id.p[i] < '0' || id.p[i] > '9')
        return 0;
    while (i < id.len && id.p[i] >= '0' && id.p[i] <= '9' && v < 100000000)
        v = v * 10 + (id.p[i++] - '0');
    if (i >= id.len || id.p[i] != '-')
        return 0;
    *out = v;
    return 1;
}

hf_status hf_match_febrl_load(const char *path, hf_match_febrl *out, hf_err *err) {
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t len = 0;
    hf_status st = read_all(path, &buf, &len, err);
    if (st != HF_OK)
        return st;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    hf_person *people = calloc(lines, sizeof *people);
    long *entity = calloc(lines, sizeof *entity);
    if (!people || !entity) {
        st = hf_err_set(err, HF_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    size_t n = 0, lineno = 0, pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && buf[end] != '\n')
            end++;
        size_t next = end + 1;
        if (end > pos && buf[end - 1] == '\r')
            end--;
        lineno++;
        if (lineno > 1 && end > pos) {
            hf_span f[FEBRL_FIELDS];
            long ent;
            if (!split(buf + pos, end - pos, f) || !entity_of(f[0], &ent)) {
                st = hf_err_set(err, HF_ESYNTAX, "%s:%zu: not a FEBRL record", path, lineno);
                goto fail;
            }
            hf_person *p = &people[n];
            p->given = f[1];
            p->family = f[2];
            p->street_number = f[3];
            p->street = f[4];
            p->street2 = f[5];
            p->locality = f[6];
            p->postcode = f[7];
            p->state = f[8];
            p->dob = f[9];
            p->ssn = f[10];
            entity[n++] = ent;
        }
        pos = next;
    }
    out->n = n;
    out->people = people;
    out->entity = entity;
    out->buf = buf;
    return HF_OK;
fail:
    free(people);
    free(entity);
    free(buf);
    return st;
}

void hf_match_febrl_fini(hf_match_febrl *set) {
    free(set->people);
    free(set->entity);
    free(set->buf);
    memset(set, 0, sizeof *set);
}
