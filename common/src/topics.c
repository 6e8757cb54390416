/* topics.c - parser for schemas/topics, the one list of topic names,
 * partition counts and topic configs (format and API in topics.h).
 *
 * The parser works line by line on a length-delimited buffer, never reads
 * past it, and reports the first bad line as "<origin>:<line>: <what>". On
 * any error the output list is left empty, so callers have one path to clean
 * up. Names follow Kafka's own rule (1..249 of [A-Za-z0-9._-], not "." or
 * ".."), partition counts are 1..10000, config keys use the same characters
 * as names and values are any non-blank text without '#'.
 */
#include "hl7flow/topics.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_NAME_MAX 249          /* Kafka's limit */
#define TOPIC_PARTITIONS_MAX 10000  /* far above anything sane, catches typos */
#define TOPICS_FILE_MAX (1u << 20)  /* a topic list is a few KiB */

/* A non-owning view of part of the input. */
typedef struct span {
    const char *p;
    size_t len;
} span;

static bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static bool all_name_chars(span s) {
    for (size_t i = 0; i < s.len; i++)
        if (!is_name_char(s.p[i]))
            return false;
    return true;
}

static bool all_digits(span s) {
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

/* Splits the next blank-separated token off *rest; false when none is left. */
static bool next_token(span *rest, span *tok) {
    size_t i = 0;
    while (i < rest->len && is_blank(rest->p[i]))
        i++;
    size_t start = i;
    while (i < rest->len && !is_blank(rest->p[i]))
        i++;
    tok->p = rest->p + start;
    tok->len = i - start;
    rest->p += i;
    rest->len -= i;
    return tok->len > 0;
}

static char *span_dup(span s) {
    char *out = malloc(s.len + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, s.p, s.len);
    out[s.len] = '\0';
    return out;
}

static bool span_eq_str(span s, const char *str) {
    return strlen(str) == s.len && memcmp(s.p, str, s.len) == 0;
}

static void topic_def_fini(hf_topic_def *def) {
    free(def->name);
    for (size_t i = 0; i < def->nconfigs; i++) {
        free(def->config_keys[i]);
        free(def->config_vals[i]);
    }
    memset(def, 0, sizeof *def);
}

/* Parses one partition count token: digits only, 1..TOPIC_PARTITIONS_MAX. */
static bool parse_partitions(span tok, int *out) {
    if (!all_digits(tok) || tok.len > 5)
        return false;
    long v = 0;
    for (size_t i = 0; i < tok.len; i++)
        v = v * 10 + (tok.p[i] - '0');
    if (v < 1 || v > TOPIC_PARTITIONS_MAX)
        return false;
    *out = (int)v;
    return true;
}

/* Parses the non-blank, comment-free content of one line into *def (zeroed
 * on entry). Returns HF_OK or an error naming @p origin:@p lineno. */
static hf_status parse_line(span line, const char *origin, size_t lineno,
                            const hf_topic_list *seen, hf_topic_def *def, hf_err *err) {
    span rest = line, tok;

    next_token(&rest, &tok); /* the caller only passes lines with a token */
    if (memchr(tok.p, '=', tok.len) != NULL || all_digits(tok))
        return hf_err_set(err, HF_ESYNTAX, "%s:%zu: missing topic name (line starts with '%.*s')",
                          origin, lineno, (int)(tok.len > 40 ? 40 : tok.len), tok.p);
    if (tok.len > TOPIC_NAME_MAX)
        return hf_err_set(err, HF_ESYNTAX, "%s:%zu: topic name longer than %d characters", origin,
                          lineno, TOPIC_NAME_MAX);
    if (!all_name_chars(tok) || span_eq_str(tok, ".") || span_eq_str(tok, ".."))
        return hf_err_set(err, HF_ESYNTAX,
                          "%s:%zu: bad topic name '%.*s' (allowed: A-Z a-z 0-9 . _ -)", origin,
                          lineno, (int)tok.len, tok.p);
    for (size_t i = 0; i < seen->count; i++)
        if (span_eq_str(tok, seen->topics[i].name))
            return hf_err_set(err, HF_ESYNTAX, "%s:%zu: topic '%.*s' listed twice", origin,
                              lineno, (int)tok.len, tok.p);
    def->name = span_dup(tok);
    if (def->name == NULL)
        return hf_err_set(err, HF_ENOMEM, "%s:%zu: out of memory", origin, lineno);

    if (!next_token(&rest, &tok))
        return hf_err_set(err, HF_ESYNTAX, "%s:%zu: topic '%s' has no partition count", origin,
                          lineno, def->name);
    if (!parse_partitions(tok, &def->partitions))
        return hf_err_set(err, HF_ESYNTAX, "%s:%zu: partitions must be 1..%d, not '%.*s'", origin,
                          lineno, TOPIC_PARTITIONS_MAX, (int)(tok.len > 40 ? 40 : tok.len),
                          tok.p);

    while (next_token(&rest, &tok)) {
        const char *eq = memchr(tok.p, '=', tok.len);
        if (eq == NULL || eq == tok.p || eq == tok.p + tok.len - 1)
            return hf_err_set(err, HF_ESYNTAX, "%s:%zu: expected key=value, got '%.*s'", origin,
                              lineno, (int)(tok.len > 80 ? 80 : tok.len), tok.p);
        span key = {tok.p, (size_t)(eq - tok.p)};
        span val = {eq + 1, tok.len - key.len - 1};
        if (!all_name_chars(key))
            return hf_err_set(err, HF_ESYNTAX, "%s:%zu: bad config key '%.*s'", origin, lineno,
                              (int)(key.len > 80 ? 80 : key.len), key.p);
        for (size_t i = 0; i < def->nconfigs; i++)
            if (span_eq_str(key, def->config_keys[i]))
                return hf_err_set(err, HF_ESYNTAX, "%s:%zu: config '%.*s' given twice", origin,
                                  lineno, (int)key.len, key.p);
        if (def->nconfigs == HF_TOPIC_MAX_CONFIGS)
            return hf_err_set(err, HF_ELIMIT, "%s:%zu: more than %d configs for topic '%s'",
                              origin, lineno, HF_TOPIC_MAX_CONFIGS, def->name);
        def->config_keys[def->nconfigs] = span_dup(key);
        def->config_vals[def->nconfigs] = span_dup(val);
        def->nconfigs++; /* counted first so fini frees a half-made pair */
        if (def->config_keys[def->nconfigs - 1] == NULL ||
            def->config_vals[def->nconfigs - 1] == NULL)
            return hf_err_set(err, HF_ENOMEM, "%s:%zu: out of memory", origin, lineno);
    }
    return HF_OK;
}

/* Appends *def to @p list, taking its contents (def is zeroed). */
static hf_status list_push(hf_topic_list *list, size_t *cap, hf_topic_def *def) {
    if (list->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        hf_topic_def *grown = realloc(list->topics, ncap * sizeof *grown);
        if (grown == NULL)
            return HF_ENOMEM;
        list->topics = grown;
        *cap = ncap;
    }
    list->topics[list->count++] = *def;
    memset(def, 0, sizeof *def);
    return HF_OK;
}

hf_status hf_topics_parse(const char *text, size_t len, const char *origin, hf_topic_list *out,
                          hf_err *err) {
    hf_topic_list list = {NULL, 0};
    hf_topic_def def;
    size_t cap = 0, lineno = 0, pos = 0;
    hf_status st = HF_OK;

    memset(&def, 0, sizeof def);
    memset(out, 0, sizeof *out);
    if (origin == NULL)
        origin = "topics";
    if (text == NULL && len > 0)
        return hf_err_set(err, HF_ESYNTAX, "%s: no text", origin);

    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        span line = {text + pos, end - pos};
        pos = end + 1;
        lineno++;

        if (memchr(line.p, '\0', line.len) != NULL) {
            st = hf_err_set(err, HF_ESYNTAX, "%s:%zu: NUL byte in line", origin, lineno);
            goto out;
        }
        const char *hash = memchr(line.p, '#', line.len);
        if (hash != NULL)
            line.len = (size_t)(hash - line.p);
        span probe = line, tok;
        if (!next_token(&probe, &tok))
            continue; /* blank or comment-only line */

        st = parse_line(line, origin, lineno, &list, &def, err);
        if (st != HF_OK)
            goto out;
        st = list_push(&list, &cap, &def);
        if (st != HF_OK) {
            hf_err_set(err, st, "%s:%zu: out of memory", origin, lineno);
            goto out;
        }
    }
    *out = list;
    return HF_OK;

out:
    topic_def_fini(&def);
    hf_topics_fini(&list);
    return st;
}

hf_status hf_topics_load(const char *path, hf_topic_list *out, hf_err *err) {
    FILE *fp = NULL;
    char *buf = NULL;
    size_t len = 0;
    hf_status st = HF_OK;

    memset(out, 0, sizeof *out);
    fp = fopen(path, "rb");
    if (fp == NULL)
        return hf_err_set(err, HF_EIO, "%s: %s", path, strerror(errno));
    buf = malloc(TOPICS_FILE_MAX + 1);
    if (buf == NULL) {
        st = hf_err_set(err, HF_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    len = fread(buf, 1, TOPICS_FILE_MAX + 1, fp);
    if (ferror(fp)) {
        st = hf_err_set(err, HF_EIO, "%s: read error", path);
        goto out;
    }
    if (len > TOPICS_FILE_MAX) {
        st = hf_err_set(err, HF_ELIMIT, "%s: larger than %u bytes", path, TOPICS_FILE_MAX);
        goto out;
    }
    st = hf_topics_parse(buf, len, path, out, err);

out:
    free(buf);
    fclose(fp);
    return st;
}

const hf_topic_def *hf_topics_find(const hf_topic_list *list, const char *name) {
    if (list == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->topics[i].name, name) == 0)
            return &list->topics[i];
    return NULL;
}

void hf_topics_fini(hf_topic_list *list) {
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        topic_def_fini(&list->topics[i]);
    free(list->topics);
    list->topics = NULL;
    list->count = 0;
}
