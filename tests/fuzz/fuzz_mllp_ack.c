/* fuzz_mllp_ack.c - libFuzzer target for the MLLP listener's MSH reader and
 * ACK builder (mllp_ack.h).
 *
 * The input is read as an inbound message. For every outcome the chosen code
 * is one of the six MSA-1 codes (or none), and the ACK built for it must:
 * report the same length whatever the buffer size (snprintf contract, no
 * byte written past cap); read back as HL7 with the sender's field separator;
 * carry the original MSH-10 as MSA-2 and the original MSH-3 as its MSH-5;
 * end every segment with CR. Any inconsistency aborts. Built by
 * `make fuzz`, replayed by `make test`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/mllp_ack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x)) {                                                            \
            fprintf(stderr, "fuzz_mllp_ack: check failed: %s (line %d)\n", #x, \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

static bool span_eq(hf_span a, hf_span b) { return a.len == b.len && memcmp(a.p, b.p, a.len) == 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *msg = (const char *)data;
    hf_mllp_msh m;
    bool hl7 = hf_mllp_msh_read(msg, size, &m);
    const hf_mllp_msh *mp = hl7 ? &m : NULL;
    if (hl7) {
        /* Spans lie inside the input. */
        hf_span all[] = {m.enc, m.f3, m.f4, m.f5, m.f6, m.f9, m.f10, m.f11, m.f12, m.f15, m.f16};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (all[i].len > 0)
                CHECK(all[i].p >= msg && all[i].p + all[i].len <= msg + size);
    }
    static const hf_ack_outcome OUT[3] = {HF_ACK_OK, HF_ACK_ERROR, HF_ACK_REJECT};
    for (int k = 0; k < 3; k++) {
        const char *code = hf_ack_code(mp, OUT[k]);
        if (code == NULL) {
            CHECK(hf_ack_enhanced(mp));
            continue;
        }
        CHECK(strlen(code) == 2 && (code[0] == 'A' || code[0] == 'C'));
        hf_ack_params p = {.app = "HL7FLOW", .facility = "F|^~\\&", .control_id = "A1",
                           .wall_us = 1700000000000000LL, .err_code = k == 0 ? 0 : 207,
                           .err_text = k == 0 ? NULL : "text with | ^ ~ \\ & and \r"};
        size_t need = hf_ack_build(NULL, 0, mp, code, &p);
        char *buf = malloc(need + 1);
        CHECK(buf != NULL);
        buf[need] = 0x5a;
        CHECK(hf_ack_build(buf, need, mp, code, &p) == need);
        CHECK(buf[need] == 0x5a);
        char small[7];
        memset(small, 0x5a, sizeof small);
        CHECK(hf_ack_build(small, 5, mp, code, &p) == need);
        CHECK(small[5] == 0x5a && small[6] == 0x5a);
        CHECK(memcmp(small, buf, need < 5 ? need : 5) == 0);
        CHECK(need > 0 && buf[need - 1] == '\r');
        hf_mllp_msh back;
        CHECK(hf_mllp_msh_read(buf, need, &back));
        CHECK(back.fs == (hl7 ? m.fs : '|'));
        if (hl7) {
            CHECK(span_eq(back.enc, m.enc));
            /* MSH-5 of the ACK is the sender's MSH-3, unless the sender's
             * own field held a segment end (then it is cut there). */
            if (memchr(m.f3.p, '\r', m.f3.len) == NULL && memchr(m.f3.p, '\n', m.f3.len) == NULL)
                CHECK(span_eq(back.f5, m.f3));
            /* MSA-2 = the original MSH-10. */
            char want[64];
            int wl = snprintf(want, sizeof want, "\rMSA%c%s%c", m.fs, code, m.fs);
            const char *msa = memmem(buf, need, want, (size_t)wl);
            CHECK(msa != NULL);
            const char *ctrl = msa + wl;
            CHECK((size_t)(buf + need - ctrl) >= m.f10.len);
            CHECK(memcmp(ctrl, m.f10.p, m.f10.len) == 0);
        }
        free(buf);
    }
    return 0;
}
