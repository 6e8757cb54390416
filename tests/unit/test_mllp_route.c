/* test_mllp_route.c - the listener's routing rules (hl7flow/mllp_route.h):
 * parsing with located errors, matching by port and client CIDR (IPv4,
 * IPv6, IPv4-mapped), first match wins. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl7flow/mllp_route.h"

static struct sockaddr_storage v4(const char *ip) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
    in->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, ip, &in->sin6_addr), 1);
    return ss;
}

static const hf_mllp_route *match(const hf_mllp_routes *r, uint16_t port, struct sockaddr_storage ss) {
    return hf_mllp_routes_match(r, port, (const struct sockaddr *)&ss);
}

static const char RULES[] =
    "# EHR feeds\n"
    "port=2575 source=EPIC facility=HOSP_A\n"
    "cidr=10.9.0.0/16 facility=LAB_B ; cidr=10.0.0.0/8 port=2576 source=ANY10\n"
    "cidr=fd00:1::/32 source=V6SYS   # trailing comment\n"
    "cidr=192.168.1.7 facility=ONE_HOST\n";

static void rules_match_by_port_then_cidr_first_wins(void **state) {
    (void)state;
    hf_mllp_routes *r = NULL;
    hf_err err = {0};
    assert_int_equal(hf_mllp_routes_parse(RULES, &r, &err), HF_OK);
    assert_int_equal(hf_mllp_routes_count(r), 5);
    const hf_mllp_route *rt = match(r, 2575, v4("10.9.1.1"));
    assert_non_null(rt);
    assert_string_equal(rt->source, "EPIC"); /* the port rule comes first */
    assert_int_equal(rt->line, 2);
    rt = match(r, 2577, v4("10.9.200.3"));
    assert_string_equal(rt->facility, "LAB_B");
    assert_string_equal(rt->source, ""); /* falls back to MSH-3 */
    assert_int_equal(rt->line, 3);
    rt = match(r, 2576, v4("10.1.2.3"));
    assert_string_equal(rt->source, "ANY10");
    assert_null(match(r, 2577, v4("10.1.2.3"))); /* port does not match */
    assert_null(match(r, 2577, v4("11.0.0.1")));
    rt = match(r, 9, v6("fd00:1:ffff::5"));
    assert_string_equal(rt->source, "V6SYS");
    assert_int_equal(rt->line, 4);
    assert_null(match(r, 9, v6("fd00:2::5")));
    rt = match(r, 9, v4("192.168.1.7"));
    assert_string_equal(rt->facility, "ONE_HOST");
    assert_null(match(r, 9, v4("192.168.1.8")));
    /* An IPv4 client on a dual-stack socket matches IPv4 rules. */
    rt = match(r, 9, v6("::ffff:10.9.0.1"));
    assert_string_equal(rt->facility, "LAB_B");
    hf_mllp_routes_free(r);
}

static void rule_without_match_keys_matches_everything(void **state) {
    (void)state;
    hf_mllp_routes *r = NULL;
    assert_int_equal(hf_mllp_routes_parse("port=1 source=P1; facility=DEFAULT_FAC", &r, NULL), HF_OK);
    assert_string_equal(match(r, 1, v4("1.2.3.4"))->source, "P1");
    assert_string_equal(match(r, 2, v6("::1"))->facility, "DEFAULT_FAC");
    hf_mllp_routes_free(r);
}

static void odd_prefixes_compare_only_their_bits(void **state) {
    (void)state;
    hf_mllp_routes *r = NULL;
    assert_int_equal(hf_mllp_routes_parse("cidr=172.16.0.0/12 source=S; cidr=0.0.0.0/0 source=ALL",
                                          &r, NULL),
                     HF_OK);
    assert_string_equal(match(r, 1, v4("172.31.255.255"))->source, "S");
    assert_string_equal(match(r, 1, v4("172.32.0.0"))->source, "ALL");
    assert_null(match(r, 1, v6("2001:db8::1"))); /* /0 of IPv4 is not IPv6 */
    hf_mllp_routes_free(r);
}

static void empty_text_has_no_rules(void **state) {
    (void)state;
    hf_mllp_routes *r = NULL;
    assert_int_equal(hf_mllp_routes_parse("", &r, NULL), HF_OK);
    assert_int_equal(hf_mllp_routes_count(r), 0);
    assert_null(match(r, 1, v4("1.1.1.1")));
    hf_mllp_routes_free(r);
    assert_int_equal(hf_mllp_routes_parse(" # only a comment\n\n ; ;", &r, NULL), HF_OK);
    assert_int_equal(hf_mllp_routes_count(r), 0);
    hf_mllp_routes_free(r);
}

static void bad_rules_are_refused_with_their_location(void **state) {
    (void)state;
    struct {
        const char *text, *want;
    } cases[] = {
        {"port=0 source=A", "rule 1 (line 1): port must be 1..65535"},
        {"source=A\nport=2575", "rule 2 (line 2): needs source= and/or facility="},
        {"cidr=10.0.0.0/33 source=A", "prefix 33 is more than 32"},
        {"cidr=fd00::/129 source=A", "prefix 129 is more than 128"},
        {"cidr=10.0.0.x/8 source=A", "is not an IP address"},
        {"source=A|B", "source must be 1..64 characters"},
        {"colour=red source=A", "unknown key 'colour'"},
        {"source", "is not key=value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hf_mllp_routes *r = (hf_mllp_routes *)1;
        hf_err err = {0};
        assert_int_equal(hf_mllp_routes_parse(cases[i].text, &r, &err), HF_ECONFIG);
        assert_null(r);
        if (strstr(err.msg, cases[i].want) == NULL)
            fail_msg("'%s': error '%s' lacks '%s'", cases[i].text, err.msg, cases[i].want);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_match_by_port_then_cidr_first_wins),
        cmocka_unit_test(rule_without_match_keys_matches_everything),
        cmocka_unit_test(odd_prefixes_compare_only_their_bits),
        cmocka_unit_test(empty_text_has_no_rules),
        cmocka_unit_test(bad_rules_are_refused_with_their_location),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
