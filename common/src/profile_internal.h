/* profile_internal.h - internals shared by the profile_*.c files (not
 * installed): the compiled rule set, the loader's intermediate form, the
 * arena everything lives in, and the helpers each file exports to the
 * others.
 *
 * Compiled form (hf_profile): segment IDs named anywhere in the rules are
 * numbered ("symbols") and found through a small open-addressing hash of the
 * packed 3-byte ID. Each message section holds its structure as a Glushkov
 * automaton (one state per segment mention in the abstract syntax, plus the
 * start state; follow sets as fixed-size bitsets) and, per symbol, the run of
 * field rules that apply to that segment in this section (global rules
 * merged with the section's own). Section 0 is the implicit "no section"
 * one: global rules only, no structure. Everything is allocated from one
 * arena and freed at once; nothing changes after loading.
 */
#ifndef HL7FLOW_PROFILE_INTERNAL_H
#define HL7FLOW_PROFILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/profile.h"

/* ------------------------------------------------------------ limits */

#define PF_WORDS 4                     /* bitset words: 256 states */
#define PF_MAX_POS (PF_WORDS * 64 - 1) /* segment mentions per structure */
#define PF_MAX_SYMS 512                /* distinct segment IDs in all rules */
#define PF_HASH_SLOTS 1024             /* power of two, > 2 * PF_MAX_SYMS */
#define PF_MAX_DEPTH 32                /* bracket nesting in a structure */
#define PF_MAX_CODE 32                 /* bytes in a table code */
#define PF_MAX_NAME 16                 /* bytes in a table name */
#define PF_MAX_KEYPART 8               /* bytes in a message type or event */
#define PF_MAX_FILE (8u << 20)         /* bytes in one rule file */
#define PF_NO_SYM 0xffffu

/* -------------------------------------------------------------- arena */

typedef struct pf_chunk pf_chunk;
typedef struct pf_arena {
    pf_chunk *head; /* newest chunk first */
} pf_arena;

/* Zeroed, max-aligned memory that lives until pf_arena_free; NULL when out
 * of memory. */
void *pf_arena_alloc(pf_arena *a, size_t n);
/* A NUL-terminated copy of @p n bytes at @p p; NULL when out of memory. */
char *pf_arena_strndup(pf_arena *a, const char *p, size_t n);
void pf_arena_free(pf_arena *a);

/* -------------------------------------------------------------- bitsets */

typedef struct pf_bits {
    uint64_t w[PF_WORDS];
} pf_bits;

static inline void pf_bit_set(pf_bits *b, unsigned i) {
    b->w[i >> 6] |= (uint64_t)1 << (i & 63);
}
static inline bool pf_bit_has(const pf_bits *b, unsigned i) {
    return (b->w[i >> 6] >> (i & 63)) & 1;
}
static inline void pf_bits_or(pf_bits *d, const pf_bits *s) {
    for (int i = 0; i < PF_WORDS; i++)
        d->w[i] |= s->w[i];
}
static inline bool pf_bits_any(const pf_bits *b) {
    uint64_t x = 0;
    for (int i = 0; i < PF_WORDS; i++)
        x |= b->w[i];
    return x != 0;
}
static inline bool pf_bits_meet(const pf_bits *a, const pf_bits *b) {
    uint64_t x = 0;
    for (int i = 0; i < PF_WORDS; i++)
        x |= a->w[i] & b->w[i];
    return x != 0;
}

/* --------------------------------------------------------- data types */

/* What a data type's value check is. */
enum pf_check {
    PF_CK_NONE,   /* composites, strings, ID/IS: length, presence, table */
    PF_CK_TS,     /* TS: component 1 is a DTM */
    PF_CK_DTM,    /* YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ] */
    PF_CK_DT,     /* YYYY[MM[DD]] */
    PF_CK_TM,     /* HH[MM[SS[.S[S[S[S]]]]]][+/-ZZZZ] */
    PF_CK_NM,     /* [+|-]digits[.digits] */
    PF_CK_SI,     /* digits */
    PF_CK_VARIES  /* the type named by another field (OBX-5 by OBX-2) */
};

/* The data type table: index of @p name (@p n bytes) or -1. */
int pf_type_find(const char *name, size_t n);
const char *pf_type_name(int type);
enum pf_check pf_type_check(int type);
/* The primitive a check validates, for texts: "DTM", "DT", "TM", "NM", "SI". */
const char *pf_check_name(enum pf_check ck);

/* "2.5.1" -> 251, "2.3" -> 230; 0 when not a v2.x[.y] version. */
#define PF_VERSION_UNKNOWN 0xfffeu /* checked as newer than any rule's range */
unsigned pf_version_parse(const char *p, size_t n);

/* -------------------------------------------------------------- rules */

enum pf_usage { PF_USE_O, PF_USE_R, PF_USE_X };

/* Rule shapes the checker accepts without the general path when the value
 * is the common well-formed one (set by pf_compile, refined by
 * pf_plan_build). "Fits" below: no maxlen, or the field within it. */
enum pf_fast {
    PF_FAST_NONE,    /* always the general path */
    PF_FAST_PRESENT, /* presence is all there is to check */
    PF_FAST_FIELD,   /* a whole-field rule with a type check or a table (not
                        both): a field within its length that is one valid
                        value, one code of the table, or (nothing else to
                        check) one repetition passes; refined into: */
    PF_FAST_COMP,    /* a component rule without type check: one repetition
                        whose component is present, within its length and in
                        the table passes */
    PF_FAST_LEN,     /* FIELD, no check, table or reps: a field that fits */
    PF_FAST_ONEREP,  /* FIELD, reps only: fits, no repetition separator */
    PF_FAST_DTM,     /* FIELD, TS/DTM: fits, one valid timestamp */
    PF_FAST_VALUE,   /* FIELD, DT/TM/NM/SI: fits, one valid value */
    PF_FAST_CODE,    /* FIELD, table: fits, one code of the table */
    PF_FAST_VARIES,  /* FIELD, VARIES: as the type the typed-by field names */
    PF_FAST_COMP1    /* COMP on MSH-1/MSH-2 (literal fields, never split by
                        the general path): only a field of one repetition */
};

/* One field or component rule. */
typedef struct pf_rule {
    uint16_t field;    /* 1-based */
    uint16_t comp;     /* 0 = the whole field, else a component */
    uint8_t check;     /* enum pf_check of the type */
    uint8_t usage;     /* enum pf_usage */
    uint8_t scan;      /* anything beyond presence to check (set by compile) */
    uint8_t fast;      /* enum pf_fast: the shortcut the checker may try first */
    uint16_t type;     /* data type index, for texts */
    uint16_t typed_by; /* VARIES: field holding the value type; 0 none */
    uint16_t vmin;     /* first HL7 version it applies to (251); 0 open */
    uint16_t vmax;     /* last version it applies to; 0 open while loading,
                          0xffff once compiled */
    int32_t table;     /* index in hf_profile.tables, -1 none */
    uint32_t maxlen;   /* bytes per repetition (or component); 0 none */
    uint32_t maxreps;  /* repetitions; 0 none */
} pf_rule;

/* A code table. Codes are looked up by length class: one byte in a bitmap,
 * 2 to 7 bytes as packed integers (pf_pack_code) in a sorted array, longer
 * ones (rare) by a linear compare. */
typedef struct pf_table {
    const char *name;    /* "0001" */
    uint64_t one[4];     /* bit c set: the one-byte code c is in the table */
    uint32_t nshort;     /* codes of 2..7 bytes */
    uint64_t *shortk;    /* their packed keys in an open-addressing hash
                            (0 = empty slot), hmask + 1 slots */
    uint32_t hmask;
    uint32_t nlong;      /* codes of 8..PF_MAX_CODE bytes */
    const char **lcode;  /* lcode[i], llen[i] bytes, not NUL-terminated */
    uint8_t *llen;
    uint32_t n;          /* all codes */
} pf_table;

/* Packs a code of 1 to 7 bytes with its length into one integer, never 0,
 * so equal codes give equal keys. */
static inline uint64_t pf_pack_code(const char *p, size_t n) {
    uint64_t k = (uint64_t)n << 56;
    for (size_t i = 0; i < n; i++)
        k |= (uint64_t)(unsigned char)p[i] << (8 * i);
    return k;
}

static inline uint32_t pf_code_slot(uint64_t key, uint32_t mask) {
    return (uint32_t)((key * 0x9e3779b97f4a7c15u) >> 40) & mask;
}

/* One rule in a plan, with what its shortcut (enum pf_fast) reads held
 * inline. The ops of a segment symbol run in wire order (field, then
 * component); the first op of each field looks the field up. */
typedef struct pf_op {
    const pf_rule *rule;    /* the rule, for the general path */
    const pf_table *table;  /* its table, NULL none */
    uint32_t maxlen;        /* as rule->maxlen */
    uint16_t field;         /* as rule->field */
    uint16_t comp;          /* as rule->comp */
    uint8_t fast;           /* enum pf_fast */
    uint8_t check;          /* as rule->check */
    uint8_t usage;          /* as rule->usage */
    uint8_t fetch;          /* first op of its field: look the field up */
    /* the rest only on fetch ops: */
    uint8_t on_empty;       /* an op of this field reports it empty (R, whole) */
    uint8_t last_loud;      /* no later field of the symbol has on_empty: when
                               this field is beyond the segment's end, so
                               are the rest, and none can report anything */
    uint8_t type_src;       /* a VARIES rule of the segment reads its type here */
    uint8_t nfield;         /* ops of this field, this one included */
} pf_op;

/* The rules of a section that apply to one band of HL7 versions as ops
 * per symbol (built by pf_plan_build), so the checker neither filters by
 * version nor compares fields per rule. */
typedef struct pf_plan {
    uint32_t *obeg;    /* nsym + 1: ops[obeg[s] .. obeg[s + 1]) of symbol s */
    pf_op *ops;
} pf_plan;

/* One message section. */
typedef struct pf_sect {
    const char *label;  /* first key, for texts */
    uint32_t npos;      /* structure states without the start; 0 = none */
    pf_bits accept;     /* states that may end the message */
    pf_bits *follow;    /* npos + 1 (the start state is index npos) */
    uint16_t *pos_sym;  /* npos: symbol each state consumes */
    uint8_t *lab;       /* nsym: label number + 1 in this structure, 0 = absent */
    pf_bits *lmask;     /* per label: the states that consume it */
    uint32_t *rbeg;     /* nsym + 1: rules[rbeg[s] .. rbeg[s + 1]) of symbol s */
    uint16_t *tbf;      /* nsym: field a VARIES rule of s takes its type from */
    pf_rule *rules;
    pf_plan *plans;     /* one per version band (hf_profile.band_lo) */
} pf_sect;

/* A message key: "ADT^A01", "ADT^*" or "*". */
typedef struct pf_key {
    const char *text; /* NUL-terminated */
    uint32_t len;
    uint32_t sect;    /* index in sects */
} pf_key;

struct hf_profile {
    pf_arena arena;
    uint32_t nsym;
    uint32_t *sym_key;             /* packed ID of each symbol */
    uint16_t slot[PF_HASH_SLOTS];  /* symbol + 1, 0 = empty */
    pf_table *tables;
    uint32_t ntables;
    pf_sect *sects;                /* [0] = no section: global rules only */
    uint32_t nsects;
    pf_key *keys;                  /* sorted by text (memcmp, then length) */
    uint32_t nkeys;
    uint32_t *kslot;               /* open-addressing hash of the keys: key + 1 */
    uint32_t kmask;                /* slots - 1 */
    uint64_t *skey;                /* the keys of 1 to 7 bytes, packed (pf_pack_code), in
                                      an open-addressing hash: 0 = empty, smask + 1 slots */
    uint32_t *skey_key;            /* index in keys of each skey slot */
    uint32_t smask;
    int32_t star;                  /* section of "*", or -1 */
    uint16_t *band_lo;             /* first version of each band, ascending; [0] = 0 */
    uint32_t nbands;
    hf_profile_info info;
};

static inline uint32_t pf_pack_id(const char *p) {
    return (uint32_t)(unsigned char)p[0] | (uint32_t)(unsigned char)p[1] << 8 |
           (uint32_t)(unsigned char)p[2] << 16;
}

/* Hash of a message key's bytes (FNV-1a), fed in pieces: start with
 * h = 2166136261. */
static inline uint32_t pf_key_hash_more(uint32_t h, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

static inline uint32_t pf_hash(uint32_t key) {
    return (key * 2654435761u) >> 22; /* 10 bits: PF_HASH_SLOTS */
}

/* Symbol of a packed segment ID, or PF_NO_SYM. */
static inline uint32_t pf_sym_find(const hf_profile *rs, uint32_t key) {
    for (uint32_t h = pf_hash(key);; h = (h + 1) & (PF_HASH_SLOTS - 1)) {
        uint32_t s = rs->slot[h];
        if (s == 0)
            return PF_NO_SYM;
        if (rs->sym_key[s - 1] == key)
            return s - 1;
    }
}

/* ------------------------------------------------- loader's raw form */

/* A token of rule text: a span of a file buffer plus where it is. */
typedef struct pb_tok {
    const char *p;
    uint32_t len;
    uint32_t line;
    uint32_t file; /* index in pb.files */
} pb_tok;

/* A field rule as read, before tables are resolved. */
typedef struct pb_rule {
    pf_rule r;
    char seg[3];
    int32_t sect;  /* -1: global */
    pb_tok at;     /* the path token, for errors */
    pb_tok table;  /* table name; len 0 = none */
} pb_rule;

typedef struct pb_sect {
    pb_tok at;         /* the "message" token */
    pb_tok *keys;
    size_t nkeys, capkeys;
    pb_tok *toks;      /* structure tokens, brackets split off */
    size_t ntoks, captoks;
} pb_sect;

typedef struct pb_code {
    pb_tok table; /* table name */
    pb_tok code;
} pb_code;

/* Everything read from the rule files. */
typedef struct pb {
    const char **files;  /* names (owned copies) */
    size_t nfiles, capfiles;
    char **bufs;         /* file contents owned by the loader (may be NULL) */
    size_t nbufs, capbufs;
    pb_rule *rules;
    size_t nrules, caprules;
    pb_sect *sects;
    size_t nsects, capsects;
    pb_code *codes;
    size_t ncodes, capcodes;
    hf_err *err;
} pb;

/* Grows *arr (elements of @p size bytes) to hold one more; returns the
 * new zeroed element or NULL when out of memory. */
void *pb_push(void *arrp, size_t *n, size_t *cap, size_t size);

/* Parses rule text (borrowed until pb_free) into @p b.
 * @returns HF_OK, HF_ECONFIG with "file:line: reason", HF_ENOMEM. */
hf_status pb_parse_text(pb *b, uint32_t file, const char *text, size_t len);
void pb_free(pb *b);

/* "file:line: " prefix + printf into b->err; returns HF_ECONFIG. */
hf_status pb_fail(pb *b, const pb_tok *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Compiles @p b into a rule set. */
hf_status pf_compile(pb *b, hf_profile **out);

/* Builds the version bands of @p rs and every section's plans from the
 * merged rules (sect->rules, rbeg, tbf). HF_OK or HF_ENOMEM. */
hf_status pf_plan_build(hf_profile *rs);

/* Compiles the structure tokens of @p in into @p out (states, follow,
 * accept, pos_sym, lab, lmask); symbols must already be numbered. */
hf_status pf_struct_compile(pb *b, const pb_sect *in, hf_profile *rs, pf_sect *out);

/* -------------------------------------------------------- checking */

/* Where violations go during one check. */
typedef struct pf_out {
    const hf_hl7_msg *msg;
    hf_profile_violation *v;
    size_t max;
    size_t n; /* found so far (may exceed max) */
} pf_out;

/* Records a violation at segment @p seg (SIZE_MAX: use @p segid alone),
 * field/rep/comp as in hf_hl7_loc_format (field 0: the segment). */
void pf_emit(pf_out *o, hf_pv_code code, size_t seg, const char *segid, size_t field,
             size_t rep, size_t comp, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* Structure run state across the segments of one message. */
typedef struct pf_run {
    pf_bits cur;      /* states after the segments so far */
    size_t last_seg;  /* last segment the structure consumed, SIZE_MAX none */
} pf_run;

void pf_struct_begin(const pf_sect *s, pf_run *run);
void pf_struct_step(const hf_profile *rs, const pf_sect *s, pf_run *run, uint32_t sym,
                    size_t seg, pf_out *o);
void pf_struct_end(const hf_profile *rs, const pf_sect *s, pf_run *run, pf_out *o);

#endif
