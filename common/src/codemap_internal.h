/* codemap_internal.h - the layout of a loaded code map, shared by
 * codemap.c (table, parsing, lookup) and codemap_load.c (files). */
#ifndef HL7FLOW_CODEMAP_INTERNAL_H
#define HL7FLOW_CODEMAP_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "hl7flow/codemap.h"

#define CM_NCOLS 7
#define CM_MAX_FILE (64u << 20) /* 64 MiB: a full LOINC map is ~10 MiB */
#define CM_MAX_FIELD 4096       /* bytes per value; LOINC long names are < 300 */

enum { COL_KIND, COL_FAC, COL_SYS, COL_CODE, COL_STD_SYS, COL_STD_CODE, COL_DISPLAY };

typedef struct cm_entry {
    uint64_t hash;          /* key hash of the first four columns */
    uint32_t off[CM_NCOLS]; /* column values: offsets into the pool */
    uint32_t len[CM_NCOLS];
    uint32_t file; /* index into files[], for duplicate messages */
    uint32_t line;
} cm_entry;

/* One file read, with the identity hf_codemap_changed compares. */
typedef struct cm_file {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} cm_file;

struct hf_codemap {
    char *path; /* as given to hf_codemap_load */
    bool is_dir;
    cm_file *files;
    size_t nfiles;
    cm_entry *entries;
    size_t n, cap;
    char *pool;
    size_t pool_len, pool_cap;
    uint32_t *slots; /* entry index + 1; 0 = empty */
    size_t nslots;   /* power of two, or 0 while empty */
    unsigned shapes; /* (facility, system) shapes present: see row_shape in codemap.c */
};

/* Parses the text of file @p file (m->files[file], for messages) and adds
 * its rows to @p m. HF_ECONFIG with "path:line: what" on the first bad line,
 * HF_ELIMIT or HF_ENOMEM. */
hf_status cm_parse_text(hf_codemap *m, const char *text, size_t len, uint32_t file, hf_err *err);

#endif
