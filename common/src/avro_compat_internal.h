/* avro_compat_internal.h - the schema tree shared by avro_compat_parse.c
 * (JSON -> tree, validation) and avro_compat.c (resolution rules). Not a
 * public header.
 *
 * Every node is allocated once and chained on hf_avro_schema.all, which owns
 * them; type references (a field whose type is a name defined elsewhere, a
 * recursive record) are plain pointers to the defining node, so the tree is
 * a graph that may contain cycles. Strings are owned by their node.
 */
#ifndef HL7FLOW_AVRO_COMPAT_INTERNAL_H
#define HL7FLOW_AVRO_COMPAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hl7flow/avro_compat.h"

typedef enum {
    AC_NULL,
    AC_BOOLEAN,
    AC_INT,
    AC_LONG,
    AC_FLOAT,
    AC_DOUBLE,
    AC_BYTES,
    AC_STRING,
    AC_RECORD,
    AC_ENUM,
    AC_FIXED,
    AC_ARRAY,
    AC_MAP,
    AC_UNION
} ac_kind;

typedef struct ac_node ac_node;

typedef struct ac_field {
    char *name;      /* owned */
    char **aliases;  /* owned array of owned strings */
    size_t naliases; /* entries in aliases */
    ac_node *type;   /* borrowed from the schema's node list */
    json_t *def;     /* default value (own reference), NULL when none */
} ac_field;

struct ac_node {
    ac_kind kind;
    char *fullname;   /* named kinds: "ns.Name" (owned), else NULL */
    const char *name; /* unqualified part of fullname, or the kind name */
    char **aliases;   /* named kinds: full names (owned) */
    size_t naliases;
    ac_field *fields; /* record */
    size_t nfields;
    char **symbols; /* enum (owned) */
    size_t nsymbols;
    char *enum_default; /* enum default symbol, NULL when none */
    ac_node *items;     /* array items / map values (borrowed) */
    ac_node **branches; /* union branches (array owned, nodes borrowed) */
    size_t nbranches;
    int64_t size;        /* fixed */
    ac_node *next_alloc; /* chain of every node of the schema */
};

struct hf_avro_schema {
    ac_node *root;   /* top-level type */
    ac_node *all;    /* every node (owned), newest first */
    ac_node **named; /* named types in definition order (borrowed) */
    size_t nnamed, named_cap;
};

/* Name of a kind as Avro spells it ("int", "record", "union"). */
const char *ac_kind_name(ac_kind k);

#endif
