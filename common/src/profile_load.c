/* profile_load.c - the public load side of profile.h: reads a rule
 * directory (every "*.rules" file, in name order) or one file, hands the
 * text to the parser (profile_parse.c) and the result to the compiler
 * (profile_compile.c); also destroy and info.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "profile_internal.h"

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* Registers @p name as the next file; returns its index or -1 (no memory). */
static int add_file(pb *b, const char *name) {
    const char **slot = pb_push(&b->files, &b->nfiles, &b->capfiles, sizeof *slot);
    if (slot == NULL)
        return -1;
    *slot = dup_str(name);
    if (*slot == NULL) {
        b->nfiles--;
        return -1;
    }
    return (int)(b->nfiles - 1);
}

/* Reads all of @p f into a buffer registered in b->bufs (freed by pb_free).
 * Returns 0, -1 for a read error or no memory (errno tells), 1 when the
 * file is larger than PF_MAX_FILE. */
static int slurp(pb *b, FILE *f, char **out, size_t *len) {
    char **slot = pb_push(&b->bufs, &b->nbufs, &b->capbufs, sizeof *slot);
    if (slot == NULL)
        return -1;
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        if (n == cap) {
            if (cap > PF_MAX_FILE)
                return 1;
            size_t nc = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, nc);
            if (nb == NULL)
                return -1;
            buf = *slot = nb;
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        return -1;
    if (n > PF_MAX_FILE)
        return 1;
    *out = buf;
    *len = n;
    return 0;
}

static hf_status read_file(pb *b, const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return hf_err_set(b->err, errno == ENOENT ? HF_ECONFIG : HF_EIO,
                          "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0;
    int rc = slurp(b, f, &buf, &n);
    fclose(f);
    if (rc < 0)
        return hf_err_set(b->err, HF_EIO, "%s: cannot read the file", path);
    if (rc > 0)
        return hf_err_set(b->err, HF_ECONFIG, "%s: larger than %u bytes", path, PF_MAX_FILE);
    int idx = add_file(b, path);
    if (idx < 0)
        return hf_err_set(b->err, HF_ENOMEM, "%s: out of memory", path);
    return pb_parse_text(b, (uint32_t)idx, buf != NULL ? buf : "", n);
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_rules_name(const char *n) {
    size_t len = strlen(n);
    return n[0] != '.' && len > 6 && strcmp(n + len - 6, ".rules") == 0;
}

static hf_status read_dir(pb *b, const char *path) {
    DIR *d = opendir(path);
    if (d == NULL)
        return hf_err_set(b->err, HF_EIO, "%s: cannot open directory: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    hf_status st = HF_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_rules_name(e->d_name))
            continue;
        char **slot = pb_push(&names, &n, &cap, sizeof *slot);
        if (slot == NULL || (*slot = dup_str(e->d_name)) == NULL) {
            if (slot != NULL)
                n--;
            st = hf_err_set(b->err, HF_ENOMEM, "%s: out of memory", path);
            break;
        }
    }
    closedir(d);
    if (st == HF_OK && n == 0)
        st = hf_err_set(b->err, HF_ECONFIG, "%s: no *.rules file in the directory", path);
    if (st == HF_OK)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; st == HF_OK && i < n; i++) {
        size_t len = strlen(path) + strlen(names[i]) + 2;
        char *full = malloc(len);
        if (full == NULL) {
            st = hf_err_set(b->err, HF_ENOMEM, "%s: out of memory", path);
            break;
        }
        snprintf(full, len, "%s/%s", path, names[i]);
        st = read_file(b, full);
        free(full);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

hf_status hf_profile_load(const char *path, hf_profile **out, hf_err *err) {
    *out = NULL;
    pb b;
    memset(&b, 0, sizeof b);
    b.err = err;
    struct stat sb;
    hf_status st;
    if (stat(path, &sb) != 0)
        st = hf_err_set(err, errno == ENOENT ? HF_ECONFIG : HF_EIO, "%s: %s", path,
                        strerror(errno));
    else if (S_ISDIR(sb.st_mode))
        st = read_dir(&b, path);
    else
        st = read_file(&b, path);
    if (st == HF_OK)
        st = pf_compile(&b, out);
    pb_free(&b);
    return st;
}

hf_status hf_profile_load_text(const char *name, const char *text, size_t len,
                               hf_profile **out, hf_err *err) {
    *out = NULL;
    pb b;
    memset(&b, 0, sizeof b);
    b.err = err;
    hf_status st;
    int idx = add_file(&b, name != NULL ? name : "rules");
    if (idx < 0)
        st = hf_err_set(err, HF_ENOMEM, "out of memory loading profile rules");
    else
        st = pb_parse_text(&b, (uint32_t)idx, text != NULL ? text : "", text != NULL ? len : 0);
    if (st == HF_OK)
        st = pf_compile(&b, out);
    pb_free(&b);
    return st;
}

void hf_profile_destroy(hf_profile *rules) {
    if (rules == NULL)
        return;
    pf_arena_free(&rules->arena);
    free(rules);
}

void hf_profile_get_info(const hf_profile *rules, hf_profile_info *out) {
    *out = rules->info;
}
