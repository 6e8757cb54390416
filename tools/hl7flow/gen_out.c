/* gen_out.c - output formats of `hl7flow gen` (see gen_out.h). Stream
 * formats go through one large stdio buffer; the files format writes each
 * message with open/write/close. */
#include "gen_out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GEN_OUT_BUFSIZE (1 << 20)

struct gen_out {
    gen_out_format fmt;
    FILE *fp;          /* stream formats: owned (a file, or a dup of stdout) */
    char *stdio_buf;   /* owned buffer given to setvbuf */
    char *dir;         /* files format: owned directory path */
    char *path;        /* files format: scratch for "<dir>/<n>.hl7" */
    size_t path_cap;
};

hf_status gen_out_format_parse(const char *text, gen_out_format *out) {
    static const char *const names[] = {"mllp", "files", "lines"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (gen_out_format)i;
            return HF_OK;
        }
    }
    return HF_ECONFIG;
}

hf_status gen_out_open(gen_out_format fmt, const char *path, gen_out **out, hf_err *err) {
    hf_status st = HF_OK;
    gen_out *o = calloc(1, sizeof *o);
    *out = NULL;
    if (o == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory");
    o->fmt = fmt;
    if (fmt == GEN_OUT_FILES) {
        if (strcmp(path, "-") == 0) {
            st = hf_err_set(err, HF_ECONFIG, "--format files needs --out DIR");
            goto out;
        }
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            st = hf_err_set(err, HF_EIO, "mkdir %s: %s", path, strerror(errno));
            goto out;
        }
        o->dir = strdup(path);
        o->path_cap = strlen(path) + 32;
        o->path = malloc(o->path_cap);
        if (o->dir == NULL || o->path == NULL) {
            st = hf_err_set(err, HF_ENOMEM, "out of memory");
            goto out;
        }
    } else {
        /* stdout goes through a private FILE on a dup of fd 1, so our
         * buffer never outlives the stream that uses it. */
        int fd = strcmp(path, "-") == 0 ? dup(STDOUT_FILENO)
                                        : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            o->fp = fdopen(fd, "wb");
            if (o->fp == NULL)
                close(fd);
        }
        if (o->fp == NULL) {
            st = hf_err_set(err, HF_EIO, "open %s: %s", path, strerror(errno));
            goto out;
        }
        o->stdio_buf = malloc(GEN_OUT_BUFSIZE);
        if (o->stdio_buf != NULL)
            setvbuf(o->fp, o->stdio_buf, _IOFBF, GEN_OUT_BUFSIZE);
    }
    *out = o;
    o = NULL;
out:
    if (o != NULL)
        gen_out_close(o, NULL);
    return st;
}

static hf_status write_file(gen_out *o, const hf_gen_msg *msg, hf_err *err) {
    snprintf(o->path, o->path_cap, "%s/%06llu.hl7", o->dir, (unsigned long long)msg->index);
    int fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return hf_err_set(err, HF_EIO, "open %s: %s", o->path, strerror(errno));
    size_t done = 0;
    while (done < msg->len) {
        ssize_t n = write(fd, msg->data + done, msg->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            return hf_err_set(err, HF_EIO, "write %s: %s", o->path, strerror(e));
        }
        done += (size_t)n;
    }
    if (close(fd) != 0)
        return hf_err_set(err, HF_EIO, "close %s: %s", o->path, strerror(errno));
    return HF_OK;
}

hf_status gen_out_write(gen_out *o, const hf_gen_msg *msg, hf_err *err) {
    if (o->fmt == GEN_OUT_FILES)
        return write_file(o, msg, err);
    if (o->fmt == GEN_OUT_MLLP)
        putc(0x0b, o->fp);
    if (msg->len)
        fwrite(msg->data, 1, msg->len, o->fp);
    if (o->fmt == GEN_OUT_MLLP)
        fwrite("\x1c\r", 1, 2, o->fp);
    else
        putc('\n', o->fp);
    if (ferror(o->fp))
        return hf_err_set(err, HF_EIO, "write: %s", strerror(errno));
    return HF_OK;
}

hf_status gen_out_close(gen_out *o, hf_err *err) {
    hf_status st = HF_OK;
    if (o == NULL)
        return HF_OK;
    if (o->fp != NULL) {
        if (fflush(o->fp) != 0 || ferror(o->fp))
            st = hf_err_set(err, HF_EIO, "write: %s", strerror(errno));
        if (fclose(o->fp) != 0 && st == HF_OK)
            st = hf_err_set(err, HF_EIO, "close: %s", strerror(errno));
    }
    free(o->stdio_buf);
    free(o->dir);
    free(o->path);
    free(o);
    return st;
}
