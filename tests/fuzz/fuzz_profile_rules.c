/* fuzz_profile_rules.c - libFuzzer target for the profile rule-file parser
 * and compiler (profile.h, profile_parse.c, profile_compile.c,
 * profile_struct.c), and the checker run by what it compiles.
 *
 * The input is rule text, optionally followed by a line "%%" and an HL7
 * message. The text is loaded; a failure must be HF_ECONFIG (or HF_ENOMEM)
 * with an error naming "fuzz.rules:<line>:". A rule set that loads checks a
 * few fixed messages and the message from the input (when it parses): the
 * count must not depend on how many violations the caller has room for,
 * every stored violation must have a known code and NUL-terminated texts,
 * and the one-line format must agree with itself (snprintf contract). Any
 * inconsistency aborts, which libFuzzer reports like a crash. Built by
 * `make fuzz` (clang, ASan+UBSan) and replayed by `make test` through
 * tests/fuzz/replay_main.c over tests/fuzz/corpus/profile_rules/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl7flow/hl7.h"
#include "hl7flow/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                   \
    do {                                                                           \
        if (!(x)) {                                                                \
            fprintf(stderr, "fuzz_profile_rules: check failed: %s (line %d)\n", #x, \
                    __LINE__);                                                     \
            abort();                                                               \
        }                                                                          \
    } while (0)

static const char *const fixed[] = {
    "MSH|^~\\&|A|F|||20240101120000||ADT^A01^ADT_A01|C1|P|2.5.1\rEVN|A01|20240101\r"
    "PID|1||123^^^H^MR~^^^X||DOE^J||19870230|Q\rPV1|1|Z\r",
    "MSH|^~\\&|A|F|||2024||ORU^R01|C2|P|2.3\rPID|1||1\rORC|NW\rOBX|1|NM|X||abc|||||F\r"
    "OBR|1|||CBC\rOBX|2|TS|X||20241301\rNTE|1\rOBX|3|ZZ|X||~~~\r",
    "MSH|^~\\&|||||||||\r",
    "MSH|^~\\&|||||||MDM^T02|C3|P|2.8\rTXA|1\rOBX\rPV1\rEVN\r",
};

static void check_message(const hf_profile *p, const hf_hl7_msg *m) {
    size_t n = hf_profile_check(p, m, NULL, 0);
    hf_profile_violation v[4];
    memset(v, 0, sizeof v);
    CHECK(hf_profile_check(p, m, v, 4) == n); /* no state, no dependence on max */
    size_t k = n < 4 ? n : 4;
    for (size_t i = 0; i < k; i++) {
        CHECK((int)v[i].code >= 0 && v[i].code < HF_PV_CODE_COUNT);
        CHECK(strcmp(hf_pv_code_name(v[i].code), "?") != 0);
        CHECK(memchr(v[i].loc, '\0', sizeof v[i].loc) != NULL && v[i].loc[0] != '\0');
        CHECK(memchr(v[i].reason, '\0', sizeof v[i].reason) != NULL && v[i].reason[0] != '\0');
    }
    char small[16], big[1024];
    size_t need = hf_profile_format(v, k, small, sizeof small);
    CHECK(hf_profile_format(v, k, big, sizeof big) == need);
    CHECK(need >= sizeof big || strlen(big) == need);
    CHECK(strncmp(small, big, sizeof small - 1) == 0);
    CHECK(hf_profile_which(p, m) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *in = (const char *)data;
    /* split at a "%%" line: rules before, a message after */
    size_t rules_len = size;
    const char *msg = NULL;
    size_t msg_len = 0;
    for (size_t i = 0; i + 3 <= size; i++)
        if ((i == 0 || in[i - 1] == '\n') && in[i] == '%' && in[i + 1] == '%' &&
            (i + 2 == size || in[i + 2] == '\n')) {
            rules_len = i;
            msg = in + i + 2 + (i + 2 < size);
            msg_len = size - (size_t)(msg - in);
            break;
        }

    hf_profile *p = NULL;
    hf_err err = {0};
    hf_status st = hf_profile_load_text("fuzz.rules", size > 0 ? in : "", rules_len, &p, &err);
    if (st != HF_OK) {
        CHECK(p == NULL);
        CHECK(st == HF_ECONFIG || st == HF_ENOMEM);
        CHECK(err.st == st);
        CHECK(st == HF_ENOMEM || strncmp(err.msg, "fuzz.rules:", 11) == 0);
        return 0;
    }
    CHECK(p != NULL);
    hf_profile_info info;
    hf_profile_get_info(p, &info);
    CHECK(info.files == 1);

    hf_hl7_msg *m = hf_hl7_msg_new();
    CHECK(m != NULL);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        CHECK(hf_hl7_parse_into(m, (hf_span){fixed[i], strlen(fixed[i])}, NULL, &err) == HF_OK);
        check_message(p, m);
    }
    if (msg != NULL && hf_hl7_parse_into(m, (hf_span){msg_len ? msg : "", msg_len}, NULL, &err) ==
                           HF_OK)
        check_message(p, m);
    hf_hl7_msg_destroy(m);
    hf_profile_destroy(p);
    return 0;
}
