/* fuzz_hl7_parse.c - libFuzzer target for the HL7 parser (hl7.h).
 *
 * One input exercises every entry point that reads untrusted bytes: the
 * whole input is parsed as one message (with default limits, or with tiny
 * ones when the first byte is odd, so limit paths run too), then split into
 * messages with hf_hl7_split_next and each one parsed into a reused message
 * object. Every parsed message is walked leaf by leaf and each leaf is
 * cross-checked: it lies inside the input, the access-by-number and the
 * access-by-path (through its formatted location) return the same span, and
 * unescaping into a small and a large buffer agree (snprintf contract).
 * Escape decoding and path parsing also run on the raw input. Any
 * inconsistency aborts, which libFuzzer reports like a crash.
 * Built by `make fuzz` (clang, ASan+UBSan) and replayed by `make test`
 * through tests/fuzz/replay_main.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/hl7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                               \
    do {                                                                       \
        if (!(x)) {                                                            \
            fprintf(stderr, "fuzz_hl7_parse: check failed: %s (line %d)\n", #x, \
                    __LINE__);                                                 \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define MAX_CROSS_CHECKS 2000 /* per message: access by number is O(field) */

typedef struct fz {
    const hf_hl7_msg *msg;
    const char *lo, *hi; /* the input */
    char *big;           /* unescape buffer of bigcap bytes */
    size_t bigcap;
    size_t checks;
} fz;

static int same(hf_span a, hf_span b) {
    return a.len == b.len && (a.len == 0 || a.p == b.p);
}

static int check_leaf(const hf_hl7_leaf *l, void *vctx) {
    fz *z = vctx;
    CHECK(l->value.p != NULL && l->value.len > 0);
    CHECK(l->value.p >= z->lo && l->value.p + l->value.len <= z->hi);
    CHECK(l->seg_id.len == 3);
    CHECK(l->rep >= 1 && l->comp >= 1 && l->sub >= 1 && l->field >= 1);

    if (z->checks++ < MAX_CROSS_CHECKS) {
        hf_span a = hf_hl7_at(z->msg, l->seg, l->field, l->rep, l->comp, l->sub);
        CHECK(same(a, l->value));
        char loc[128];
        size_t n = hf_hl7_loc_format(loc, sizeof loc, z->msg, l->seg, l->field, l->rep, l->comp,
                                     l->sub);
        CHECK(n > 0 && n < sizeof loc && strlen(loc) == n);
        hf_hl7_path p;
        CHECK(hf_hl7_path_parse(loc, n, &p, NULL) == HF_OK);
        CHECK(same(hf_hl7_get_path(z->msg, &p), l->value));
    }

    if (l->literal)
        return 0;
    char small[8];
    size_t bad = 0;
    hf_hl7_delims d = hf_hl7_msg_delims(z->msg);
    size_t need = hf_hl7_unescape_d(&d, l->value, small, sizeof small, &bad);
    CHECK(need <= l->value.len * 15);
    CHECK(small[need < sizeof small ? need : sizeof small - 1] == '\0');
    if (need + 1 > z->bigcap) {
        char *nb = realloc(z->big, need + 1);
        CHECK(nb != NULL);
        z->big = nb;
        z->bigcap = need + 1;
    }
    CHECK(hf_hl7_unescape(z->msg, l->value, z->big, z->bigcap) == need);
    CHECK(z->big[need] == '\0');
    size_t pre = need < sizeof small - 1 ? need : sizeof small - 1;
    CHECK(memcmp(small, z->big, pre) == 0);
    return 0;
}

static void check_message(const hf_hl7_msg *m, const char *lo, const char *hi) {
    size_t nseg = hf_hl7_seg_count(m);
    CHECK(nseg >= 1);
    CHECK(memcmp(hf_hl7_seg_id(m, 0).p, "MSH", 3) == 0);
    hf_hl7_delims d = hf_hl7_msg_delims(m);
    CHECK(d.field != 0 && d.component != 0 && d.repetition != 0);
    hf_span raw = hf_hl7_msg_raw(m);
    CHECK(raw.p >= lo && raw.p + raw.len <= hi);
    for (size_t s = 0; s < nseg; s++) {
        hf_span sr = hf_hl7_seg_raw(m, s);
        CHECK(sr.p >= raw.p && sr.p + sr.len <= raw.p + raw.len);
        CHECK(hf_hl7_seg_occurrence(m, s) >= 1);
        hf_span id = hf_hl7_seg_id(m, s);
        CHECK(hf_hl7_seg_find(m, id.p, hf_hl7_seg_occurrence(m, s)) == s);
        size_t nf = hf_hl7_field_count(m, s);
        for (size_t f = 0; f <= nf + 1; f++) {
            hf_span fv = hf_hl7_field(m, s, f);
            CHECK(fv.p != NULL);
            CHECK(fv.len == 0 || (fv.p >= sr.p && fv.p + fv.len <= sr.p + sr.len));
        }
    }
    fz z = {m, lo, hi, NULL, 0, 0};
    CHECK(hf_hl7_walk(m, check_leaf, &z) == 0);
    free(z.big);
    static const char *const paths[] = {"MSH-9.1", "MSH-9.2", "MSH-10", "MSH-12", "PID-3[2].4.2",
                                        "OBX[3]-5", "ZZZ[9]-9[9].9.9", "MSH-2.2", "MSH-1"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        hf_span v = hf_hl7_get(m, paths[i]);
        CHECK(v.p != NULL && (v.len == 0 || (v.p >= lo && v.p + v.len <= hi)));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *in = (const char *)data;
    hf_span raw = {size > 0 ? in : "", size};
    const char *lo = raw.p, *hi = raw.p + size;
    static const hf_hl7_limits tiny = {0, 64, 32, 8, 8, 4};
    const hf_hl7_limits *lim = size > 0 && (data[0] & 1) ? &tiny : NULL;
    hf_err err = {0};

    /* the whole input as one message */
    hf_hl7_msg *m = NULL;
    hf_status st = hf_hl7_parse(raw, lim, &m, &err);
    if (st == HF_OK) {
        CHECK(m != NULL);
        check_message(m, lo, hi);
    } else {
        CHECK(m == NULL);
        CHECK(st == HF_ESYNTAX || st == HF_ELIMIT);
        CHECK(err.st == st && strstr(err.msg, "byte") != NULL);
    }
    hf_hl7_msg_destroy(m);

    /* the input as a stream or batch of messages */
    hf_hl7_msg *reuse = hf_hl7_msg_new();
    CHECK(reuse != NULL);
    hf_hl7_splitter sp;
    hf_span one;
    hf_hl7_split_init(&sp, raw);
    for (int guard = 0; guard <= (int)size + 1; guard++) {
        st = hf_hl7_split_next(&sp, &one, &err);
        if (st == HF_ENOTFOUND)
            break;
        if (st != HF_OK) {
            CHECK(st == HF_ESYNTAX && strstr(err.msg, "bytes ") != NULL);
            continue;
        }
        CHECK(one.len >= 3 && one.p >= lo && one.p + one.len <= hi);
        CHECK(memcmp(one.p, "MSH", 3) == 0);
        if (hf_hl7_parse_into(reuse, one, lim, &err) == HF_OK)
            check_message(reuse, lo, hi);
        else
            CHECK(hf_hl7_seg_count(reuse) == 0);
    }
    CHECK(hf_hl7_split_next(&sp, &one, &err) == HF_ENOTFOUND);
    hf_hl7_msg_destroy(reuse);

    /* the decoder and the path parser on raw bytes */
    static const hf_hl7_delims std = {'|', '^', '~', '\\', '&', '#'};
    char small[16];
    size_t need = hf_hl7_unescape_d(&std, raw, small, sizeof small, NULL);
    char *big = malloc(need + 1);
    CHECK(big != NULL);
    CHECK(hf_hl7_unescape_d(&std, raw, big, need + 1, NULL) == need);
    CHECK(memcmp(small, big, need < sizeof small - 1 ? need : sizeof small - 1) == 0);
    free(big);
    hf_hl7_path p;
    if (hf_hl7_path_parse(raw.p, size < 40 ? size : 40, &p, NULL) == HF_OK)
        CHECK(p.field >= 1 && p.field <= 999999999);
    return 0;
}
