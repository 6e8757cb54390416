/* config.h - typed configuration from environment variables, one table per
 * component.
 *
 * Each binary declares tables of hf_cfg_var (name, type, default, bounds,
 * help, offset of the field in its config struct). hf_cfg_load fills the
 * struct from the environment, falling back to defaults, and fails with a
 * message naming the variable on a bad value:
 *   "HL7FLOW_BATCH_MAX: '0' is below the minimum 1".
 * Secrets (HF_CFG_SECRET) come from the variable or from the file named by
 * <NAME>_FILE (Kubernetes Secret volumes), never from the command line, and
 * are masked by hf_cfg_dump. `--help` prints every table (hf_cfg_help).
 */
#ifndef HL7FLOW_CONFIG_H
#define HL7FLOW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hl7flow/status.h"

typedef enum {
    HF_CFG_STR,    /* char * (owned by the struct; free with hf_cfg_free) */
    HF_CFG_SECRET, /* char *; value from NAME or the file at NAME_FILE */
    HF_CFG_INT,    /* int64_t, within [min, max] */
    HF_CFG_BOOL,   /* bool: true/false/1/0/yes/no/on/off */
    HF_CFG_ENUM,   /* int: index of the value in `choices` ("a|b|c") */
    HF_CFG_DOUBLE  /* double, within [min, max] */
} hf_cfg_type;

typedef struct hf_cfg_var {
    const char *name;    /* environment variable, e.g. "HL7FLOW_BATCH_MAX" */
    hf_cfg_type type;    /* how the text is parsed and where it is stored */
    const char *def;     /* default as text; NULL = required */
    size_t offset;       /* offsetof(your_cfg, field) */
    int64_t min, max;    /* bounds for INT and DOUBLE (min == max == 0: none) */
    const char *choices; /* ENUM only: "exactly-once|at-least-once" */
    const char *help;    /* one line for --help */
} hf_cfg_var;

/* A table: its title in --help, the variables, their count. */
typedef struct hf_cfg_table {
    const char *title;
    const hf_cfg_var *vars;
    size_t count;
} hf_cfg_table;

/* Fills @p cfg from the environment per @p table. On error returns
 * HF_ECONFIG with the variable named in @p err; fields already set stay set
 * (free them with hf_cfg_free). */
hf_status hf_cfg_load(const hf_cfg_table *table, void *cfg, hf_err *err);

/* Frees the strings hf_cfg_load stored in @p cfg; safe on a zeroed struct. */
void hf_cfg_free(const hf_cfg_table *table, void *cfg);

/* Prints usage: @p synopsis, then each table's variables with type, default
 * and help, then the KAFKA_* passthrough rule. */
void hf_cfg_help(FILE *out, const char *synopsis, const hf_cfg_table *tables, size_t ntables);

/* Prints the effective values as NAME=value lines (secrets masked). */
void hf_cfg_dump(FILE *out, const hf_cfg_table *table, const void *cfg);

/* Strict integer parsing (memcached's safe_strtoull idea): rejects empty
 * text, trailing junk and overflow. */
bool hf_parse_i64(const char *s, int64_t *out);

/* Parses true/false/1/0/yes/no/on/off (any case). */
bool hf_parse_bool(const char *s, bool *out);

/* Handles the flags every binary shares: returns 1 after printing help for
 * --help/-h, 2 after dumping config for --dump-config (caller loads first),
 * -1 on an unknown argument (message on stderr), 0 otherwise. @p dump is set
 * when --dump-config was seen. */
int hf_cfg_args(int argc, char **argv, const char *synopsis, const hf_cfg_table *tables,
                size_t ntables, bool *dump);

#endif
