/* codemap_load.c - the file side of codemap.h: lists a directory (*.tsv,
 * sorted by name), opens each file, fstat()s it (the identity that
 * hf_codemap_changed compares later) and reads it whole, then hands the text
 * to the parser in codemap.c. The first bad line or I/O error stops the load.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codemap_internal.h"

static bool same_identity(const cm_file *f, const struct stat *sb) {
    return f->dev == sb->st_dev && f->ino == sb->st_ino && f->size == sb->st_size &&
           f->mtime.tv_sec == sb->st_mtim.tv_sec && f->mtime.tv_nsec == sb->st_mtim.tv_nsec;
}

static void set_identity(cm_file *f, const struct stat *sb) {
    f->dev = sb->st_dev;
    f->ino = sb->st_ino;
    f->size = sb->st_size;
    f->mtime = sb->st_mtim;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_map_name(const char *name) {
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".tsv") == 0;
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The full paths of the map files in directory @p dir, sorted by name
 * (owned array of owned strings, free with free_names). -1 with errno set
 * on failure. */
static int list_dir(const char *dir, char ***out, size_t *count) {
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    size_t dlen = strlen(dir);
    const char *sep = (dlen > 0 && dir[dlen - 1] == '/') ? "" : "/";
    int rc = 0, read_errno = 0;
    for (;;) {
        errno = 0; /* readdir reports errors only through errno */
        struct dirent *de = readdir(d);
        if (de == NULL) {
            read_errno = errno;
            break;
        }
        if (!is_map_name(de->d_name))
            continue;
        char *full = NULL;
        if (asprintf(&full, "%s%s%s", dir, sep, de->d_name) < 0) {
            rc = ENOMEM;
            break;
        }
        struct stat sb;
        if (stat(full, &sb) != 0 || !S_ISREG(sb.st_mode)) { /* dangling link, subdirectory */
            free(full);
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(names, nc * sizeof *nn);
            if (nn == NULL) {
                free(full);
                rc = ENOMEM;
                break;
            }
            names = nn;
            cap = nc;
        }
        names[n++] = full;
    }
    closedir(d);
    if (rc == 0)
        rc = read_errno;
    if (rc != 0) {
        free_names(names, n);
        errno = rc;
        return -1;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    *count = n;
    return 0;
}

/* Reads and parses the file m->files[idx].path, recording its identity. */
static hf_status load_file(hf_codemap *m, uint32_t idx, hf_err *err) {
    cm_file *f = &m->files[idx];
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hf_err_set(err, errno == ENOENT ? HF_ENOTFOUND : HF_EIO, "%s: cannot open: %s",
                          f->path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return hf_err_set(err, HF_EIO, "%s: not a regular file", f->path);
    }
    if (sb.st_size > (off_t)CM_MAX_FILE) {
        close(fd);
        return hf_err_set(err, HF_ELIMIT, "%s: larger than %u bytes", f->path, CM_MAX_FILE);
    }
    set_identity(f, &sb);
    size_t want = (size_t)sb.st_size, got = 0;
    char *buf = malloc(want ? want : 1);
    if (buf == NULL) {
        close(fd);
        return hf_err_set(err, HF_ENOMEM, "out of memory reading %s", f->path);
    }
    while (got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return hf_err_set(err, HF_EIO, "%s: cannot read: %s", f->path, strerror(e));
        }
        if (r == 0)
            break; /* shrank meanwhile: the changed mtime shows up in hf_codemap_changed */
        got += (size_t)r;
    }
    close(fd);
    hf_status st = cm_parse_text(m, buf, got, idx, err);
    free(buf);
    return st;
}

hf_status hf_codemap_load(const char *path, hf_codemap **out, hf_err *err) {
    *out = NULL;
    struct stat sb;
    if (path == NULL || stat(path, &sb) != 0)
        return hf_err_set(err, (path == NULL || errno == ENOENT) ? HF_ENOTFOUND : HF_EIO,
                          "%s: cannot read code maps: %s", path ? path : "(null)",
                          path ? strerror(errno) : "no path");
    hf_codemap *m = calloc(1, sizeof *m);
    if (m == NULL || (m->path = strdup(path)) == NULL) {
        free(m);
        return hf_err_set(err, HF_ENOMEM, "out of memory loading code maps");
    }
    m->is_dir = S_ISDIR(sb.st_mode);
    char **names = NULL;
    size_t n = 1;
    if (m->is_dir) {
        if (list_dir(path, &names, &n) != 0) {
            int e = errno;
            hf_codemap_destroy(m);
            return hf_err_set(err, e == ENOMEM ? HF_ENOMEM : HF_EIO, "%s: cannot list: %s", path,
                              strerror(e));
        }
    } else {
        names = malloc(sizeof *names);
        if (names != NULL && (names[0] = strdup(path)) == NULL) {
            free(names);
            names = NULL;
        }
        if (names == NULL) {
            hf_codemap_destroy(m);
            return hf_err_set(err, HF_ENOMEM, "out of memory loading code maps");
        }
    }
    /* The map takes the path strings over. */
    m->files = calloc(n ? n : 1, sizeof *m->files);
    if (m->files == NULL) {
        free_names(names, n);
        hf_codemap_destroy(m);
        return hf_err_set(err, HF_ENOMEM, "out of memory loading code maps");
    }
    for (size_t i = 0; i < n; i++)
        m->files[i].path = names[i];
    m->nfiles = n;
    free(names);

    for (size_t i = 0; i < n; i++) {
        hf_status st = load_file(m, (uint32_t)i, err);
        if (st != HF_OK) {
            hf_codemap_destroy(m);
            return st;
        }
    }
    *out = m;
    return HF_OK;
}

bool hf_codemap_changed(const hf_codemap *m) {
    struct stat sb;
    if (stat(m->path, &sb) != 0 || (bool)S_ISDIR(sb.st_mode) != m->is_dir)
        return true;
    if (!m->is_dir)
        return !same_identity(&m->files[0], &sb);
    char **names;
    size_t n;
    if (list_dir(m->path, &names, &n) != 0)
        return true;
    bool changed = n != m->nfiles;
    for (size_t i = 0; !changed && i < n; i++)
        changed = strcmp(names[i], m->files[i].path) != 0 || stat(names[i], &sb) != 0 ||
                  !same_identity(&m->files[i], &sb);
    free_names(names, n);
    return changed;
}
