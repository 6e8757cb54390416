/* mllp_route.h - which sending system and facility a connection belongs to,
 * from the listener port and/or the client address.
 *
 * Rules text (MLLP_ROUTES, docs/mllp.md): rules separated by ';' or newlines,
 * '#' starts a comment to the end of the line. A rule is whitespace-separated
 * key=value pairs:
 *   port=2575              listener port (1..65535)
 *   cidr=10.20.0.0/16      client address block, IPv4 or IPv6; a bare
 *                          address means /32 or /128
 *   source=EPIC_BRIDGES    source_system for its messages
 *   facility=HOSP_A        facility_id for its messages
 * A rule needs source and/or facility; port and cidr are optional (neither =
 * every connection). The first matching rule wins; what it leaves out falls
 * back to MSH-3 / MSH-4 of each message. Values are 1..64 characters from
 * [A-Za-z0-9._:@/+-] (they end up in record keys facility|app, so '|' is not
 * allowed). Example:
 *   port=2575 source=EPIC facility=HOSP_A; cidr=10.9.0.0/16 facility=LAB_B
 */
#ifndef HL7FLOW_MLLP_ROUTE_H
#define HL7FLOW_MLLP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hl7flow/status.h"

#define HF_ROUTE_VALUE_MAX 64

/* One rule (read-only for callers). */
typedef struct hf_mllp_route {
    uint16_t port;       /* 0 = any port */
    int family;          /* AF_INET, AF_INET6, or 0 = any address */
    uint8_t addr[16];    /* network address (4 bytes used for IPv4) */
    int prefix;          /* prefix length in bits */
    char source[HF_ROUTE_VALUE_MAX + 1];   /* "" = from MSH-3 */
    char facility[HF_ROUTE_VALUE_MAX + 1]; /* "" = from MSH-4 */
    int line;            /* 1-based line of the rule in the text */
} hf_mllp_route;

typedef struct hf_mllp_routes hf_mllp_routes;

/* Parses @p text (may be NULL or empty: no rules). On HF_OK *out is owned
 * (free with hf_mllp_routes_free). On HF_ECONFIG @p err says where:
 * "rule 2 (line 3): cidr: prefix 33 is more than 32". */
hf_status hf_mllp_routes_parse(const char *text, hf_mllp_routes **out, hf_err *err);

void hf_mllp_routes_free(hf_mllp_routes *r);

size_t hf_mllp_routes_count(const hf_mllp_routes *r);

/* The first rule matching a connection accepted on @p port from @p peer
 * (AF_INET or AF_INET6; IPv4-mapped IPv6 addresses match IPv4 rules), or
 * NULL. The result is borrowed from @p r. */
const hf_mllp_route *hf_mllp_routes_match(const hf_mllp_routes *r, uint16_t port,
                                          const struct sockaddr *peer);

#endif
