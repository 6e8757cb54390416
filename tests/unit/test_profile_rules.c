/* test_profile_rules.c - unit tests for loading profile rules (profile.h,
 * profile_load.c, profile_parse.c, profile_compile.c, profile_struct.c):
 * a good rule text, every kind of bad line (each error must name
 * "file:line" and the reason), cross-line errors (unknown table, duplicate
 * key or rule, bad structure), directory loading and the shipped
 * schemas/profiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hl7flow/hl7.h"
#include "hl7flow/profile.h"

static const char GOOD[] =
    "# a comment line\n"
    "table 0001 F M O U   # trailing comment\n"
    "table 0001 A N\n"
    "\n"
    "field MSH-9 MSG R reps 1\n"
    "field MSH-9.2 ID R len 3 since 2.3\n"
    "field PID-8 IS O table 0001\n"
    "field OBX-5 VARIES O typed-by 2\n"
    "message ADT^A01 ADT^A04\r\n"
    "structure MSH EVN PID [PD1]\n"
    "structure [{NK1}] PV1 <AL1|DG1>\n"
    "field PID-3 CX R\n"
    "global\n"
    "field PV1-2 IS R until 2.5\n"
    "message ORU^* *\n";

static void good_rules_load(void **state) {
    (void)state;
    hf_profile *p = NULL;
    hf_err err = {0};
    assert_int_equal(hf_profile_load_text("good.rules", GOOD, strlen(GOOD), &p, &err), HF_OK);
    assert_non_null(p);
    hf_profile_info in;
    hf_profile_get_info(p, &in);
    assert_int_equal(in.sections, 2);
    assert_int_equal(in.keys, 4);
    assert_int_equal(in.rules, 6);
    assert_int_equal(in.tables, 1);
    assert_int_equal(in.files, 1);
    hf_profile_destroy(p);
    hf_profile_destroy(NULL);
}

static void empty_text_loads_as_no_rules(void **state) {
    (void)state;
    hf_profile *p = NULL;
    hf_err err = {0};
    assert_int_equal(hf_profile_load_text("e.rules", "", 0, &p, &err), HF_OK);
    hf_hl7_msg *m = NULL;
    const char msg[] = "MSH|^~\\&|||||||||\r";
    assert_int_equal(hf_hl7_parse((hf_span){msg, sizeof msg - 1}, NULL, &m, &err), HF_OK);
    assert_int_equal(hf_profile_check(p, m, NULL, 0), 0);
    assert_string_equal(hf_profile_which(p, m), "");
    hf_hl7_msg_destroy(m);
    hf_profile_destroy(p);
}

/* Loading @p text must fail with HF_ECONFIG and an error starting with
 * "bad.rules:<line>:" that contains @p why. */
static void expect_error(const char *text, unsigned line, const char *why) {
    hf_profile *p = (hf_profile *)1;
    hf_err err = {0};
    hf_status st = hf_profile_load_text("bad.rules", text, strlen(text), &p, &err);
    if (st != HF_ECONFIG)
        fail_msg("'%s' loaded (status %d)", text, st);
    assert_null(p);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "bad.rules:%u: ", line);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || strstr(err.msg, why) == NULL)
        fail_msg("'%s': error '%s' lacks '%s' / '%s'", text, err.msg, prefix, why);
}

static void bad_lines_name_file_line_and_reason(void **state) {
    (void)state;
    expect_error("frobnicate X\n", 1, "unknown directive 'frobnicate'");
    expect_error("\n\nfield PID-3\n", 3, "field needs a path, a data type and a usage");
    expect_error("field PID3 CX R\n", 1, "bad field path 'PID3'");
    expect_error("field pid-3 CX R\n", 1, "bad field path");
    expect_error("field PID-0 CX R\n", 1, "bad field path");
    expect_error("field PID-1000 CX R\n", 1, "bad field path");
    expect_error("field PID-3.0 CX R\n", 1, "bad field path");
    expect_error("field PID-3.x CX R\n", 1, "bad field path");
    expect_error("field PID-3 CXX R\n", 1, "unknown data type 'CXX'");
    expect_error("field PID-3 CX Q\n", 1, "unknown usage 'Q'");
    expect_error("field PID-3 CX R size 5\n", 1, "unknown option 'size'");
    expect_error("field PID-3 CX R len\n", 1, "option len needs a value");
    expect_error("field PID-3 CX R len 0\n", 1, "len wants a number");
    expect_error("field PID-3 CX R len 5x\n", 1, "len wants a number");
    expect_error("field PID-3 CX R len 5 len 6\n", 1, "option len given twice");
    expect_error("field PID-3 CX R reps 100000\n", 1, "reps wants a number");
    expect_error("field PID-3.1 ST R reps 2\n", 1, "reps applies to fields");
    expect_error("field PID-3 CX R since 3.1\n", 1, "bad HL7 version '3.1'");
    expect_error("field PID-3 CX R since 2.5.1.1\n", 1, "bad HL7 version");
    expect_error("field PID-3 CX R since 2.6 until 2.5\n", 1, "since is after until");
    expect_error("field OBX-5 VARIES O\n", 1, "needs typed-by");
    expect_error("field OBX-5 ST O typed-by 2\n", 1, "typed-by applies to a VARIES field");
    expect_error("field OBX-5 VARIES O typed-by 5\n", 1, "typed-by wants another field");
    expect_error("field PID-8 IS O table 0001234567890123456\n", 1, "table name longer");
    expect_error("table 0001\n", 1, "table needs a name and at least one code");
    expect_error("table 00/1 A\n", 1, "may hold only letters");
    expect_error("table 0001 ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\n", 1, "code longer than");
    expect_error("table 0001 F M^X\n", 1, "code 'M^X' holds an HL7 delimiter");
    expect_error("table 0001 F ~\n", 1, "holds an HL7 delimiter");
    expect_error("message\n", 1, "message needs at least one key");
    expect_error("message ADT\n", 1, "bad message key 'ADT'");
    expect_error("message adt^a01\n", 1, "bad message key");
    expect_error("message ADT^A01^X\n", 1, "bad message key");
    expect_error("message *^A01\n", 1, "bad message key");
    expect_error("message ADTADTADT^A01\n", 1, "bad message key");
    expect_error("structure MSH PID\n", 1, "structure outside a message section");
    expect_error("message ADT^A01\nglobal\nstructure MSH\n", 3, "structure outside");
    expect_error("global x\n", 1, "global takes no arguments");
    expect_error("field PID-3 CX R\x01\n", 1, "control or non-ASCII byte 0x01");
    expect_error("field PID-3 CX R \xc3\xa9\n", 1, "non-ASCII byte 0xc3");
}

static void cross_line_errors(void **state) {
    (void)state;
    expect_error("table 0001 F\n\nfield PID-8 IS O table 0002\n", 3, "unknown table '0002'");
    expect_error("field PID-7 TS O\nfield PID-7 DTM O\n", 2, "second rule for PID-7");
    expect_error("field PID-7 TS O until 2.5\nfield PID-7 DTM O since 2.5\n", 2,
                 "second rule for PID-7");
    expect_error("message ADT^A01\nmessage ORU^R01 ADT^A01\n", 2,
                 "message key 'ADT^A01' already used on line 1");
    expect_error("message *\nmessage *\n", 2, "message key '*' already used");
    /* structure grammar */
    expect_error("message A^B\nstructure PID\n", 2, "a structure starts with MSH");
    expect_error("message A^B\nstructure MSH [PID\n", 2, "'[' opened here is never closed");
    expect_error("message A^B\nstructure MSH\nstructure [PID }\n", 3,
                 "'}' where ']' closes the '[' opened on line 3");
    expect_error("message A^B\nstructure MSH PID]\n", 2, "']' closes nothing");
    expect_error("message A^B\nstructure MSH [ ]\n", 2, "empty group");
    expect_error("message A^B\nstructure MSH <PID|>\n", 2, "empty group");
    expect_error("message A^B\nstructure MSH pid\n", 2, "want a segment ID");
    expect_error("message A^B\nstructure MSH P-D\n", 2, "is not a segment ID");
    expect_error("message A^B\nstructure MSH PIDX\n", 2, "want a segment ID");
    char deep[256] = "message A^B\nstructure MSH ";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    strcat(deep, "PID\n");
    expect_error(deep, 2, "groups nested deeper than 32");
    /* too many states in one structure */
    size_t cap = 8 + 256 * 4 + 64;
    char *big = malloc(cap);
    assert_non_null(big);
    strcpy(big, "message A^B\nstructure MSH");
    for (int i = 0; i < 255; i++)
        strcat(big, " PID");
    strcat(big, "\n");
    expect_error(big, 2, "more than 255 segments");
    free(big);
}

static void same_path_in_section_and_global_is_fine(void **state) {
    (void)state;
    const char *t = "field PID-7 TS O\n"
                    "message ADT^A01\nfield PID-7 TS R\n"
                    "message ADT^A02\nfield PID-7 TS X\n";
    hf_profile *p = NULL;
    hf_err err = {0};
    assert_int_equal(hf_profile_load_text("ok.rules", t, strlen(t), &p, &err), HF_OK);
    hf_profile_destroy(p);
}

/* -------------------------------------------------------- files and dirs */

static char tmpdir[64];

static void write_file(const char *dir, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int make_dir(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hf_profile_test.XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int remove_dir(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void directory_loads_every_rules_file(void **state) {
    (void)state;
    write_file(tmpdir, "b.rules", "message ADT^A01\nfield PID-8 IS O table 0001\n");
    write_file(tmpdir, "a.rules", "table 0001 F M\n");
    write_file(tmpdir, "notes.txt", "this is not a rule file\n");
    write_file(tmpdir, ".hidden.rules", "garbage\n");
    hf_profile *p = NULL;
    hf_err err = {0};
    assert_int_equal(hf_profile_load(tmpdir, &p, &err), HF_OK);
    hf_profile_info in;
    hf_profile_get_info(p, &in);
    assert_int_equal(in.files, 2);
    assert_int_equal(in.tables, 1);
    assert_int_equal(in.rules, 1);
    hf_profile_destroy(p);

    /* an error in the second file names that file and its line */
    write_file(tmpdir, "c.rules", "\nfield PID-3 CX Z\n");
    assert_int_equal(hf_profile_load(tmpdir, &p, &err), HF_ECONFIG);
    assert_null(p);
    char want[128];
    snprintf(want, sizeof want, "%s/c.rules:2: unknown usage 'Z'", tmpdir);
    assert_non_null(strstr(err.msg, want));

    /* one file on its own */
    char one[128];
    snprintf(one, sizeof one, "%s/a.rules", tmpdir);
    assert_int_equal(hf_profile_load(one, &p, &err), HF_OK);
    hf_profile_destroy(p);
}

static void cross_file_duplicates_name_both_files(void **state) {
    (void)state;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/dup", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_file(sub, "x.rules", "message ORU^R01\n");
    write_file(sub, "y.rules", "# y\nmessage ORU^R01\n");
    hf_profile *p = NULL;
    hf_err err = {0};
    assert_int_equal(hf_profile_load(sub, &p, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "y.rules:2: message key 'ORU^R01' already used on line 1 of"));
    assert_non_null(strstr(err.msg, "x.rules"));
}

static void missing_paths_and_empty_dirs_fail(void **state) {
    (void)state;
    hf_profile *p = NULL;
    hf_err err = {0};
    assert_int_equal(hf_profile_load("/nonexistent/profiles", &p, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent/profiles"));
    char sub[128];
    snprintf(sub, sizeof sub, "%s/empty", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(hf_profile_load(sub, &p, &err), HF_ECONFIG);
    assert_non_null(strstr(err.msg, "no *.rules file"));
    assert_null(p);
}

/* The shipped rules load, and name every section the brief lists. Runs
 * from the repo root (tests/run.sh does); skipped when not there. */
static void shipped_profiles_load(void **state) {
    (void)state;
    if (access("schemas/profiles", R_OK) != 0)
        skip();
    hf_profile *p = NULL;
    hf_err err = {0};
    if (hf_profile_load("schemas/profiles", &p, &err) != HF_OK)
        fail_msg("%s", err.msg);
    static const char *const types[] = {"ADT^A01", "ADT^A08", "ADT^A40", "ORM^O01", "ORU^R01",
                                        "DFT^P03", "MDM^T02", "ADT^A99", "ZZZ^Z01"};
    static const char *const want[] = {"ADT^A01", "ADT^A08", "ADT^A40", "ORM^O01", "ORU^R01",
                                       "DFT^P03", "MDM^T02", "ADT^*", "*"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char msg[128];
        int n = snprintf(msg, sizeof msg, "MSH|^~\\&|||||||%s|1|P|2.5\r", types[i]);
        hf_hl7_msg *m = NULL;
        assert_int_equal(hf_hl7_parse((hf_span){msg, (size_t)n}, NULL, &m, &err), HF_OK);
        assert_string_equal(hf_profile_which(p, m), want[i]);
        hf_hl7_msg_destroy(m);
    }
    hf_profile_destroy(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_rules_load),
        cmocka_unit_test(empty_text_loads_as_no_rules),
        cmocka_unit_test(bad_lines_name_file_line_and_reason),
        cmocka_unit_test(cross_line_errors),
        cmocka_unit_test(same_path_in_section_and_global_is_fine),
        cmocka_unit_test_setup_teardown(directory_loads_every_rules_file, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(cross_file_duplicates_name_both_files, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(missing_paths_and_empty_dirs_fail, make_dir, remove_dir),
        cmocka_unit_test(shipped_profiles_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
