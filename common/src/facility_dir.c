/* facility_dir.c - the facility directory (facility.h): picks the source
 * from one string, holds the current table, and decides when to look for a
 * new one.
 *
 * File source: every poll_ms the path is stat'ed (following symlinks, so a
 * Kubernetes ConfigMap volume, which swaps its `..data` symlink, is seen as
 * a new inode). A changed identity (device, inode, size, mtime, ctime)
 * means a re-read. So does a file written less than 2 s before it was read
 * (the "racy" case: a second write within the file system's timestamp
 * granularity can leave the identity unchanged), until a read sees it
 * settled. A re-read that parses to the same table changes nothing; one
 * that fails keeps the current table and leaves the identity unrecorded,
 * so the next check tries again.
 * PostgreSQL source: facility_pg.c does the work; this file swaps tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hl7flow/facility.h"

#define FILE_RACY_NS 2000000000LL /* written this recently: read again later */

typedef struct file_ident {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} file_ident;

typedef enum { SRC_FILE, SRC_PG } src_kind;

struct hf_facility_dir {
    src_kind kind;
    hf_facility_table *table;
    bool stale;
    /* file */
    char *path;
    char desc[300]; /* "facilities file PATH" or the PostgreSQL description */
    int64_t poll_ms;
    bool clock_set;
    int64_t next_check;
    file_ident ident;
    bool racy;
    /* PostgreSQL */
    hf_facility_pg *pg;
};

/* ------------------------------------------------------------- sources */

static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* A libpq URI, or a conninfo string: it starts with "keyword =". */
static bool is_pg_source(const char *s) {
    if (has_prefix(s, "postgresql://") || has_prefix(s, "postgres://"))
        return true;
    while (*s == ' ' || *s == '\t')
        s++;
    const char *k = s;
    while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')
        s++;
    if (s == k)
        return false;
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '=';
}

static void ident_of(const struct stat *st, file_ident *id) {
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
    id->ctime = st->st_ctim;
}

static bool ident_eq(const file_ident *a, const file_ident *b) {
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
           a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Reads and parses the file into *out; *id and *racy describe what was
 * read. */
static hf_status file_load(hf_facility_dir *d, hf_facility_table **out, file_ident *id, bool *racy,
                           hf_err *err) {
    *out = NULL;
    int fd = open(d->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hf_err_set(err, errno == ENOENT ? HF_ENOTFOUND : HF_EIO, "%s: cannot open: %s", d->desc,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return hf_err_set(err, HF_EIO, "%s: %s", d->desc, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return hf_err_set(err, HF_EIO, "%s: not a regular file", d->desc);
    }
    if ((uint64_t)st.st_size > HF_FACILITY_FILE_MAX) {
        close(fd);
        return hf_err_set(err, HF_ELIMIT, "%s: larger than %u bytes", d->desc, HF_FACILITY_FILE_MAX);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        close(fd);
        return hf_err_set(err, HF_ENOMEM, "%s: out of memory", d->desc);
    }
    for (;;) { /* to EOF: the file may have grown since fstat */
        if (len == cap) {
            char *nb = cap > HF_FACILITY_FILE_MAX ? NULL : realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                close(fd);
                return hf_err_set(err, HF_ELIMIT, "%s: larger than %u bytes", d->desc, HF_FACILITY_FILE_MAX);
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return hf_err_set(err, HF_EIO, "%s: read: %s", d->desc, strerror(e));
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t age = ((int64_t)now.tv_sec - st.st_mtim.tv_sec) * 1000000000LL +
                  (now.tv_nsec - st.st_mtim.tv_nsec);
    ident_of(&st, id);
    *racy = age < FILE_RACY_NS;
    hf_status rc = hf_facility_json_parse(buf, len, d->desc, out, err);
    free(buf);
    return rc;
}

/* Installs @p fresh unless it equals the current table (then it is freed). */
static bool swap_in(hf_facility_dir *d, hf_facility_table *fresh) {
    if (hf_facility_table_equal(fresh, d->table)) {
        hf_facility_table_free(fresh);
        return false;
    }
    hf_facility_table_free(d->table);
    d->table = fresh;
    return true;
}

static hf_status file_poll(hf_facility_dir *d, int64_t now_ms, bool *reloaded, hf_err *err) {
    if (!d->clock_set) {
        d->clock_set = true;
        d->next_check = now_ms;
    }
    if (now_ms < d->next_check)
        return HF_OK;
    d->next_check = now_ms + d->poll_ms;
    struct stat st;
    if (stat(d->path, &st) != 0) {
        d->stale = true;
        return hf_err_set(err, errno == ENOENT ? HF_ENOTFOUND : HF_EIO, "%s: %s", d->desc, strerror(errno));
    }
    file_ident id;
    ident_of(&st, &id);
    if (ident_eq(&id, &d->ident) && !d->racy) {
        d->stale = false;
        return HF_OK;
    }
    hf_facility_table *fresh = NULL;
    bool racy = false;
    hf_status rc = file_load(d, &fresh, &id, &racy, err);
    if (rc != HF_OK) {
        d->stale = true;
        return rc;
    }
    d->ident = id;
    d->racy = racy;
    d->stale = false;
    *reloaded = swap_in(d, fresh);
    return HF_OK;
}

/* ----------------------------------------------------------------- API */

hf_status hf_facility_dir_open(const char *source, const hf_facility_dir_opts *opts, hf_facility_dir **out,
                               hf_err *err) {
    *out = NULL;
    if (source == NULL || source[0] == '\0')
        return hf_err_set(err, HF_ECONFIG, "facilities: no source (a JSON file path or a PostgreSQL URI)");
    hf_facility_dir *d = calloc(1, sizeof *d);
    if (d == NULL)
        return hf_err_set(err, HF_ENOMEM, "facilities: out of memory");
    d->poll_ms = opts != NULL && opts->poll_ms > 0 ? opts->poll_ms : 30000;
    hf_status st;
    if (!has_prefix(source, "file:") && is_pg_source(source)) {
        d->kind = SRC_PG;
        st = hf_facility_pg_open(source, opts, &d->pg, &d->table, err);
        if (st == HF_OK)
            snprintf(d->desc, sizeof d->desc, "%s", hf_facility_pg_desc(d->pg));
    } else {
        const char *path = source;
        if (has_prefix(path, "file://") && path[7] == '/')
            path += 7;
        else if (has_prefix(path, "file:"))
            path += 5;
        d->kind = SRC_FILE;
        d->path = strdup(path);
        snprintf(d->desc, sizeof d->desc, "facilities file %s", path);
        st = d->path == NULL ? hf_err_set(err, HF_ENOMEM, "facilities: out of memory")
             : path[0] == '\0' ? hf_err_set(err, HF_ECONFIG, "facilities: empty file path")
                               : file_load(d, &d->table, &d->ident, &d->racy, err);
    }
    if (st != HF_OK) {
        hf_facility_dir_close(d);
        return st;
    }
    *out = d;
    return HF_OK;
}

hf_status hf_facility_dir_poll(hf_facility_dir *d, int64_t now_ms, bool *reloaded, hf_err *err) {
    bool dummy;
    if (reloaded == NULL)
        reloaded = &dummy;
    *reloaded = false;
    if (d->kind == SRC_FILE)
        return file_poll(d, now_ms, reloaded, err);
    hf_facility_table *fresh = NULL;
    hf_status st = hf_facility_pg_poll(d->pg, now_ms, &fresh, err);
    if (st != HF_OK) {
        d->stale = true;
        return st;
    }
    if (fresh != NULL) {
        d->stale = false;
        *reloaded = swap_in(d, fresh);
    }
    return HF_OK;
}

const hf_facility *hf_facility_find(const hf_facility_dir *d, hf_span facility_id) {
    return hf_facility_table_find(d->table, facility_id);
}

const hf_facility_table *hf_facility_dir_table(const hf_facility_dir *d) { return d->table; }

size_t hf_facility_dir_count(const hf_facility_dir *d) { return hf_facility_table_count(d->table); }

const char *hf_facility_dir_source_kind(const hf_facility_dir *d) {
    return d->kind == SRC_FILE ? "file" : "postgres";
}

const char *hf_facility_dir_source_desc(const hf_facility_dir *d) {
    return d->kind == SRC_FILE ? d->path : d->desc;
}

bool hf_facility_dir_stale(const hf_facility_dir *d) { return d->stale; }

void hf_facility_dir_close(hf_facility_dir *d) {
    if (d == NULL)
        return;
    hf_facility_table_free(d->table);
    hf_facility_pg_close(d->pg);
    free(d->path);
    free(d);
}
