/* gen_int.h - internals shared by the generator's files: the generator
 * object, per-patient state, the per-message build context, and the
 * segment and message builders.
 *
 * File map: gen_core.c (object, mix, patient choice, next), gen_patient.c
 * (demographics), gen_seg.c (MSH SFT EVN PID PV1), gen_seg_adt.c (NK1 AL1 DG1
 * IN1 MRG), gen_msg_adt.c, gen_msg_lab.c (ORM ORU), gen_msg_dft.c,
 * gen_msg_mdm.c, gen_fault.c (malformed recipes), gen_buf.c, gen_data.c.
 */
#ifndef HF_GEN_INT_H
#define HF_GEN_INT_H

#include <stdint.h>

#include "gen_buf.h"
#include "gen_data.h"
#include "gen_rng.h"
#include "hl7flow/gen.h"

/* 2024-01-01T00:00:00: all timestamps are this plus seeded offsets. */
#define GEN_EPOCH ((gen_time)19723 * 86400)
#define GEN_MRN_SPACE 90000000u /* MRNs are 8 digits: 10000000 + perm(id) */
#define GEN_MAX_OBX 30
#define GEN_MAX_OBR 3

/* Where the last valid message keeps the parts the fault recipes change
 * (byte offsets into the buffer; 0 length = absent). */
typedef struct gen_marks {
    uint32_t msh_end;              /* first byte after MSH's "\r" */
    uint32_t msh9_off, msh9_len;   /* MSH-9 value */
    uint32_t msh10_off, msh10_len; /* MSH-10 value */
    uint32_t pid_off, pid_end;     /* PID segment, end after its "\r" */
    uint32_t pid3_off, pid3_len;
    uint32_t pid5_off;
    uint32_t pid7_off, pid7_len;
    uint32_t pid8_off, pid8_len;
    uint32_t nobr;                 /* OBR segments recorded */
    uint32_t obr_off[GEN_MAX_OBR], obr_end[GEN_MAX_OBR];
} gen_marks;

/* State of one patient slot. A slot holds one identity at a time; when an
 * A40 merges the slot's identity away, a new identity moves in. */
typedef struct gen_slot {
    uint32_t identity; /* current identity, from 1 (its MRN, demographics) */
    int32_t admit;     /* visit start, seconds from GEN_EPOCH (may be < 0) */
    uint32_t order;    /* open order number (ORM sent, no ORU yet), 0 none */
    uint16_t visit;    /* visits so far (0 = none yet) */
    uint16_t room;
    uint8_t cls;       /* current patient class: 0 none, 'I', 'O', 'E' */
    uint8_t unit;      /* index into gen_units */
    uint8_t bed;       /* 'A'.. */
    uint8_t panel;     /* panel of the open order */
} gen_slot;

typedef struct gen_facility {
    char code[8];     /* "HOSP_A": MSH-4, assigning authority */
    const char *app;  /* MSH-3 */
    char name[48];    /* long name, e.g. "Fairview General Hospital" */
    const char *tz;   /* "" or a UTC offset appended to MSH-7/EVN-2 */
    int enhanced;     /* MSH-15/16 valued (enhanced acknowledgement) */
} gen_facility;

/* A patient identity's demographics, recomputed from (seed, identity). */
typedef struct gen_patient {
    uint32_t identity;
    uint32_t slot;
    uint32_t mrn;        /* 8 digits */
    const gen_facility *fac;
    const char *last, *first, *mother, *alias_last; /* alias_last NULL = none */
    char middle;         /* initial, 0 = none */
    const char *suffix;  /* "" or JR, SR, II, III */
    char sex;            /* M F O U */
    int64_t dob_days;    /* days since 1970-01-01 */
    uint32_t house;
    const char *street, *street_sfx;
    uint32_t apt;        /* 0 = none */
    const gen_city *city;
    uint32_t zip;        /* 5 digits */
    uint32_t phone;      /* last two digits of 555-01xx */
    uint32_t work_phone; /* 0 = none, else 100 + xx */
    int email;           /* 0 none, 1..3 example.com/.org/.net */
    uint32_t ssn;        /* 0 = none; 9xx-xx-xxxx (never issued) */
    uint32_t dl;         /* 0 = none */
    uint32_t hie;        /* 0 = none; regional HIE id listed before MR */
    const gen_coded *race, *lang;
    char marital;        /* table 0002 */
} gen_patient;

struct hf_gen {
    hf_gen_opts opts;
    gen_rng rng;          /* main stream: types, patients, content */
    gen_buf buf;          /* the current message */
    gen_slot *slots;      /* opts.patients */
    gen_facility *facs;   /* opts.facilities */
    uint64_t index;       /* messages generated */
    gen_time now;         /* clock of the current message */
    uint32_t next_identity;
    uint32_t mrn_off;     /* seed-derived offset of the MRN permutation */
    uint32_t order_seq;   /* order numbers handed out */
    gen_marks marks;
    char ctrl[48];        /* current MSH-10 */
};

/* Everything a builder needs for one message. */
typedef struct gen_ctx {
    hf_gen *gen;
    gen_buf *b;
    gen_rng *r;
    gen_marks *m;
    hf_gen_type type;
    const gen_patient *pt;
    gen_slot *slot;
    gen_time now;
} gen_ctx;

/* gen_patient.c */
void gen_patient_load(const hf_gen *gen, uint32_t slot, gen_patient *pt);
uint32_t gen_mrn(const hf_gen *gen, uint32_t identity);

/* gen_seg.c: common segments and fields. Each segment writer appends one
 * whole segment including its "\r". */
void gen_fields(gen_buf *b, unsigned n); /* n field separators */
void gen_put_doctor(gen_ctx *c, uint32_t k);  /* XCN of provider k of the facility */
void gen_put_name(gen_buf *b, const char *last, const char *first, char middle);
void gen_put_address(gen_ctx *c);
void gen_put_money(gen_buf *b, uint64_t cents, int with_currency);
void gen_seg_msh(gen_ctx *c);
void gen_seg_evn(gen_ctx *c, const char *event, int with_occurred);
void gen_seg_pid(gen_ctx *c);
void gen_seg_pv1(gen_ctx *c, const gen_slot *prior);

/* gen_seg_adt.c */
/* NK1, AL1 and IN1 write the patient's whole (stable) set of segments. */
void gen_seg_nk1(gen_ctx *c);
void gen_seg_al1(gen_ctx *c);
void gen_seg_dg1(gen_ctx *c, unsigned n, const char *type); /* n random DG1 */
void gen_seg_in1(gen_ctx *c);
void gen_seg_mrg(gen_ctx *c, const gen_patient *prior);

/* gen_msg_adt.c: starts a new visit of class @p cls ('I', 'O', 'E') that
 * began @p started_ago seconds before the message. */
void gen_visit_open(gen_ctx *c, uint8_t cls, uint32_t started_ago);

/* Message builders: write the whole message into c->b. */
void gen_msg_adt(gen_ctx *c, const gen_patient *prior);
void gen_msg_orm(gen_ctx *c);
void gen_msg_oru(gen_ctx *c);
void gen_msg_dft(gen_ctx *c);
void gen_msg_mdm(gen_ctx *c);

/* gen_fault.c: which faults suit @p type, and how to apply one. */
int gen_fault_applies(hf_gen_fault fault, hf_gen_type type);
void gen_fault_apply(hf_gen *gen, hf_gen_fault fault, gen_rng *r);

#endif
