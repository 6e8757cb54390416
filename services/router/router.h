/* router.h - hl7flow-router: hl7.enriched -> hl7.parsed.<type>.
 *
 * Each input record (an hl7.enriched record) goes to the typed topic its
 * message type maps to (ROUTER_ROUTES, MSH-9: ADT -> hl7.parsed.adt ...),
 * keyed by the MRN hash (mrn_hash.h) so each patient's events stay on one
 * partition in order, and encoded with that topic's registered schema with
 * mrn_hash set. A type with no route goes to ROUTER_DEFAULT_TOPIC, or to
 * the DLQ as class unroutable; a record with no MRN goes to the DLQ as
 * class unroutable too (it cannot be keyed); an undecodable record as
 * class schema. */
#ifndef HL7FLOW_ROUTER_H
#define HL7FLOW_ROUTER_H

#include <stdint.h>

#include "hl7flow/metrics.h"
#include "hl7flow/mrn_hash.h"
#include "hl7flow/record.h"
#include "hl7flow/record_reader.h"
#include "hl7flow/registry.h"
#include "hl7flow/stage.h"

/* ROUTER_* and the MRN hash settings. */
typedef struct rtr_cfg {
    char *routes;        /* ROUTER_ROUTES: CODE[^EVENT]=topic,... */
    char *default_topic; /* ROUTER_DEFAULT_TOPIC: "" = DLQ */
    char *mrn_key;       /* HL7FLOW_MRN_HASH_KEY (secret) */
} rtr_cfg;

#define RTR_ROUTES_MAX 64

/* One output topic: its registered schema id and a routed counter. */
typedef struct rtr_topic {
    char *name;
    uint32_t schema_id;
    hf_counter *routed;
} rtr_topic;

/* One route: a message code (ADT) or code^event (ADT^A40) -> a topic. */
typedef struct rtr_route {
    char code[16], event[16]; /* event "" = any trigger event */
    const rtr_topic *topic;
} rtr_route;

typedef struct rtr_ctx {
    rtr_route routes[RTR_ROUTES_MAX];
    size_t nroutes;
    rtr_topic topics[RTR_ROUTES_MAX + 1];
    size_t ntopics;
    const rtr_topic *fallback; /* ROUTER_DEFAULT_TOPIC, or NULL */
    hf_registry *registry;     /* owned */
    hf_rec_reader *reader;     /* owned */
    hf_mrn_hasher *hasher;     /* owned */
    hf_rec_ctx *rec;           /* owned, reused per record */
    hf_rec_buf out;            /* owned, reused per record */
    int mrn_hash_field;        /* top-level index of mrn_hash: the only field re-encoded */
    uint64_t read_fields;      /* the fields decoded; the rest are walked and copied */
} rtr_ctx;

/* Parses ROUTER_ROUTES text ("ADT=hl7.parsed.adt,ADT^A40=hl7.parsed.merge")
 * into @p c's routes and topics (schema ids not looked up yet). HF_ECONFIG
 * names the bad entry. */
hf_status rtr_routes_parse(rtr_ctx *c, const char *text, const char *default_topic, hf_err *err);

/* The route for a message code and trigger event: code^event first, then
 * code; NULL when none. */
const rtr_topic *rtr_route_find(const rtr_ctx *c, hf_span code, hf_span event);

/* Builds everything the transform needs: routes, registry ids of every
 * output topic (each checked against this build's layout), the reader of
 * @p input_topic, the MRN hasher. @p reg_cfg borrowed for the call. */
hf_status rtr_ctx_new(const rtr_cfg *cfg, const hf_registry_cfg *reg_cfg, const char *input_topic,
                      rtr_ctx **out, hf_err *err);

void rtr_ctx_destroy(rtr_ctx *c);

/* The stage transform (stage.h contract). @locality main thread. */
hf_status rtr_transform(void *ctx, const hf_record *in, hf_emit *out, hf_dlq_reason *why);

#endif
