/* gen_fault.c - the malformed-message recipes.
 *
 * A malformed message is a valid message that was built first and then
 * damaged in one documented way (docs/gen.md), so each kind maps to one
 * error a validating parser must report. The builders recorded where the
 * parts to damage are (gen_marks); a recipe splices the buffer. Each recipe
 * draws from its own random stream, so turning faults on never changes the
 * valid messages around them.
 */
#include "gen_int.h"

int gen_fault_applies(hf_gen_fault fault, hf_gen_type type) {
    switch (fault) {
    case HF_GEN_VALID:
        return 0;
    case HF_GEN_MISSING_PID3:
        return type <= HF_GEN_ADT_A40;
    case HF_GEN_OBX_WITHOUT_OBR:
        return type == HF_GEN_ORU_R01;
    default:
        return fault < HF_GEN_FAULT_COUNT;
    }
}

/* Replaces @p len bytes at @p at with @p with (NULL/0 = delete). */
static void splice(gen_buf *b, uint32_t at, uint32_t len, const char *with, size_t wlen) {
    if (wlen > len && b->len + (wlen - len) > b->cap && gen_buf_grow(b, wlen - len) != 0)
        return;
    memmove(b->p + at + wlen, b->p + at + len, b->len - at - len);
    if (wlen)
        memcpy(b->p + at, with, wlen);
    b->len = b->len - len + wlen;
}

static void set_field(gen_buf *b, uint32_t at, uint32_t len, const char *with) {
    splice(b, at, len, with, strlen(with));
}

static void garbage(gen_buf *b, gen_rng *r) {
    size_t n = 64 + gen_below(r, 1985);
    b->len = 0;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t x = gen_rng_next(r);
        for (size_t k = 0; k < 8 && i + k < n; k++) {
            unsigned char ch = (unsigned char)(x >> (8 * k));
            if (ch == 0x0b || ch == 0x1c) /* never an MLLP frame byte */
                ch ^= 0x40;
            gen_putc(b, (char)ch);
        }
    }
    if (b->len && b->p[0] == 'M') /* and never an "MSH" lookalike */
        b->p[0] = 0x7f;
}

static void truncate_in_pid(gen_buf *b, const gen_marks *m, gen_rng *r) {
    /* Cut strictly inside PID, after PID-5 began: PID itself loses its tail
     * and every later segment (PV1, ORC/OBR, TXA, MRG, FT1) is gone. */
    uint32_t lo = m->pid5_off + 1, hi = m->pid_end - 1; /* hi = PID's "\r" */
    uint32_t cut = lo + gen_below(r, hi - lo);
    while (cut > lo && ((unsigned char)b->p[cut] & 0xc0) == 0x80)
        cut--; /* keep UTF-8 whole: the fault is truncation, not encoding */
    b->len = cut;
}

void gen_fault_apply(hf_gen *gen, hf_gen_fault fault, gen_rng *r) {
    static const char *const bad_encodings[] = {"^^\\&", "^~\\^", "^~&&"};
    static const char *const bad_dates[] = {"20231345", "19870230", "20010431", "19991301", "20220000", "19650732"};
    static const char *const bad_sexes[] = {"Q", "Z", "MALE", "9", "?"};
    gen_buf *b = &gen->buf;
    gen_marks *m = &gen->marks;
    switch (fault) {
    case HF_GEN_MISSING_MSH:
        splice(b, 0, m->msh_end, NULL, 0);
        break;
    case HF_GEN_BAD_ENCODING:
        memcpy(b->p + 4, bad_encodings[GEN_PICK(r, bad_encodings)], 4);
        break;
    case HF_GEN_TRUNCATED:
        truncate_in_pid(b, m, r);
        break;
    case HF_GEN_MISSING_MSH10:
        splice(b, m->msh10_off, m->msh10_len, NULL, 0);
        break;
    case HF_GEN_MISSING_MSH9:
        splice(b, m->msh9_off, m->msh9_len, NULL, 0);
        break;
    case HF_GEN_BAD_PID7_DATE:
        set_field(b, m->pid7_off, m->pid7_len, bad_dates[GEN_PICK(r, bad_dates)]);
        break;
    case HF_GEN_BAD_PID8_SEX:
        set_field(b, m->pid8_off, m->pid8_len, bad_sexes[GEN_PICK(r, bad_sexes)]);
        break;
    case HF_GEN_MISSING_PID3:
        splice(b, m->pid3_off, m->pid3_len, NULL, 0);
        break;
    case HF_GEN_OBX_WITHOUT_OBR:
        for (uint32_t i = m->nobr; i-- > 0;) /* last first: offsets stay valid */
            splice(b, m->obr_off[i], m->obr_end[i] - m->obr_off[i], NULL, 0);
        break;
    case HF_GEN_BINARY_GARBAGE:
        garbage(b, r);
        break;
    case HF_GEN_EMPTY:
        b->len = 0;
        break;
    default:
        break;
    }
}
