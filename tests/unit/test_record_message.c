/* test_record_message.c - the message of a record byte for byte
 * (hf_rec_message_bytes): raw left null exactly when segments[] rebuild
 * the message, and the rebuilt bytes equal what the parser read, on
 * generated traffic (CR terminators) and on every message of the shared
 * corpus (../shared/corpus/hl7: LF, CRLF, blank lines, Latin-1...), also
 * after an encode/decode round trip. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/gen.h"
#include "hl7flow/hl7.h"
#include "hl7flow/record.h"

typedef struct world {
    hf_hl7_msg *msg;
    hf_rec_ctx *rc, *dc;
    hf_rec_buf bytes, avro;
    size_t kept, dropped;
} world;

static int setup(void **state) {
    world *w = calloc(1, sizeof *w);
    w->msg = hf_hl7_msg_new();
    w->rc = hf_rec_ctx_new();
    w->dc = hf_rec_ctx_new();
    *state = w;
    return w->msg && w->rc && w->dc ? 0 : -1;
}

static int teardown(void **state) {
    world *w = *state;
    hf_hl7_msg_destroy(w->msg);
    hf_rec_ctx_destroy(w->rc);
    hf_rec_ctx_destroy(w->dc);
    hf_rec_buf_free(&w->bytes);
    hf_rec_buf_free(&w->avro);
    free(w);
    return 0;
}

/* Builds @p raw's record and checks its message bytes, directly and after
 * an Avro round trip. Returns false when the message does not parse. */
static bool check_one(world *w, hf_span raw) {
    if (hf_hl7_parse_into(w->msg, raw, &hf_hl7_limits_default, NULL) != HF_OK)
        return false;
    hf_rec *rec = NULL;
    if (hf_rec_build(w->rc, w->msg, NULL, &rec, NULL) != HF_OK)
        return false;
    hf_span want = hf_hl7_msg_raw(w->msg);
    w->bytes.len = 0;
    assert_int_equal(hf_rec_message_bytes(rec, &w->bytes), HF_OK);
    assert_int_equal(w->bytes.len, want.len);
    assert_memory_equal(w->bytes.p, want.p, want.len);
    if (rec->raw.len == 0)
        w->dropped++;
    else
        w->kept++;
    w->avro.len = 0;
    assert_int_equal(hf_rec_encode(rec, HF_REC_VALIDATED, &w->avro), HF_OK);
    hf_rec *back = NULL;
    assert_int_equal(hf_rec_decode(w->dc, w->avro.p, w->avro.len, HF_REC_VALIDATED, &back, NULL),
                     HF_OK);
    w->bytes.len = 0;
    assert_int_equal(hf_rec_message_bytes(back, &w->bytes), HF_OK);
    assert_int_equal(w->bytes.len, want.len);
    assert_memory_equal(w->bytes.p, want.p, want.len);
    return true;
}

static void generated_messages_drop_raw_and_rebuild(void **state) {
    world *w = *state;
    hf_gen_opts o;
    hf_gen_opts_default(&o);
    o.seed = 9;
    hf_gen *g = NULL;
    assert_int_equal(hf_gen_new(&o, &g, NULL), HF_OK);
    size_t built = 0;
    for (int i = 0; i < 500; i++) {
        hf_gen_msg gm;
        assert_int_equal(hf_gen_next(g, &gm), HF_OK);
        built += check_one(w, (hf_span){gm.data, gm.len});
    }
    hf_gen_destroy(g);
    assert_true(built > 450);
    /* generated traffic is CR-terminated ASCII/UTF-8: raw is never needed */
    assert_int_equal(w->kept, 0);
    assert_int_equal(w->dropped, built);
}

static void terminators_other_than_cr_keep_raw(void **state) {
    world *w = *state;
    static const char *const MSGS[] = {
        "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|1|P|2.5\nPID|1||123^^^H^MR\n",
        "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|1|P|2.5\r\nPID|1||123^^^H^MR\r\n",
        "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|1|P|2.5\r\rPID|1||123^^^H^MR\r",
        "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|1|P|2.5|||||||8859/1\rPID|1||123^^^H^MR||M\xfcller\r",
    };
    for (size_t i = 0; i < sizeof MSGS / sizeof MSGS[0]; i++) {
        w->kept = w->dropped = 0;
        assert_true(check_one(w, (hf_span){MSGS[i], strlen(MSGS[i])}));
        assert_int_equal(w->kept, 1);
    }
    w->kept = w->dropped = 0;
    const char *cr = "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|1|P|2.5\rPID|1||123^^^H^MR|||\r";
    assert_true(check_one(w, (hf_span){cr, strlen(cr)}));
    assert_int_equal(w->dropped, 1); /* trailing empty fields rebuild too */
}

static void every_corpus_message_rebuilds(void **state) {
    world *w = *state;
    const char *dir = "../shared/corpus/hl7";
    DIR *d = opendir(dir);
    if (d == NULL) {
        print_message("corpus absent (%s): skipped\n", dir);
        return;
    }
    w->kept = w->dropped = 0;
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, "MANIFEST", 8) == 0 ||
            strcmp(e->d_name, "LICENSES") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        hf_hl7_splitter sp;
        hf_span m;
        hf_hl7_split_init(&sp, (hf_span){buf, n});
        while (hf_hl7_split_next(&sp, &m, NULL) == HF_OK)
            check_one(w, m);
        files++;
    }
    closedir(d);
    assert_true(files > 300);
    assert_true(w->kept > 0 && w->dropped > 0);
    print_message("corpus: %zu files, raw kept for %zu messages, dropped for %zu\n", files, w->kept,
                  w->dropped);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(generated_messages_drop_raw_and_rebuild),
        cmocka_unit_test(terminators_other_than_cr_keep_raw),
        cmocka_unit_test(every_corpus_message_rebuilds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
