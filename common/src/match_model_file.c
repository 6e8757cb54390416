/* match_model_file.c - the match model file: read and write (contract in
 * match.h; format in docs/internals/matching.md).
 *
 * One setting per line, `key = value`, `#` comments. The reader starts
 * from the generic defaults so a file may set only some values; it is
 * strict about everything else (unknown keys, junk after numbers, values
 * out of range), and reports `path:line: reason` like the service config.
 */
#include "hl7flow/match.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_ 512

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = 0;
    return s;
}

/* Parses one number of @p s into @p out and advances @p s; 0 on failure. */
static int number(char **s, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(*s, &end);
    if (end == *s || errno != 0)
        return 0;
    *out = v;
    *s = end;
    return 1;
}

static int parse_prob(char *v, double *out) {
    double x;
    if (!number(&v, &x) || *trim(v) != 0)
        return 0;
    *out = x;
    return 1;
}

static int find_cmp(const char *name, size_t n) {
    for (unsigned c = 0; c < HF_MC_COUNT; c++) {
        const char *cn = hf_match_cmp_name((hf_match_cmp)c);
        if (strlen(cn) == n && memcmp(cn, name, n) == 0)
            return (int)c;
    }
    return -1;
}

static int find_level(hf_match_cmp c, const char *name) {
    unsigned n = hf_match_levels(c);
    for (unsigned l = 1; l < n; l++)
        if (strcmp(hf_match_level_name(c, l), name) == 0)
            return (int)l;
    return -1;
}

/* Applies one `key = value` line; returns NULL or a reason. */
static const char *apply(hf_match_model *model, const char *key, char *val) {
    double x, y;
    if (strcmp(key, "prior") == 0 || strcmp(key, "link_probability") == 0 ||
        strcmp(key, "review_probability") == 0) {
        if (!parse_prob(val, &x) || !(x > 0.0 && x < 1.0))
            return "expected a probability in (0, 1)";
        if (key[0] == 'p')
            model->prior = x;
        else if (key[0] == 'l')
            model->link_probability = x;
        else
            model->review_probability = x;
        return NULL;
    }
    const char *dot = strchr(key, '.');
    if (!dot)
        return "unknown key";
    int c = find_cmp(key, (size_t)(dot - key));
    if (c < 0)
        return "unknown comparison";
    if (strcmp(dot + 1, "off") == 0) {
        if (!parse_prob(val, &x) || (x != 0.0 && x != 1.0))
            return "expected 0 or 1";
        model->off[c] = x == 1.0;
        return NULL;
    }
    int l = find_level((hf_match_cmp)c, dot + 1);
    if (l < 0)
        return "unknown level";
    char *s = val;
    if (!number(&s, &x) || !number(&s, &y) || *trim(s) != 0)
        return "expected two numbers: m u";
    if (!(x > 0.0 && x <= 1.0) || !(y > 0.0 && y <= 1.0))
        return "m and u must lie in (0, 1]";
    model->m[c][l] = x;
    model->u[c][l] = y;
    return NULL;
}

hf_status hf_match_model_load(hf_match_model *model, const char *path, hf_err *err) {
    FILE *f = fopen(path, "r");
    if (!f)
        return hf_err_set(err, HF_EIO, "%s: %s", path, strerror(errno));
    hf_match_model tmp;
    hf_match_model_default(&tmp);
    char line[LINE_MAX_];
    unsigned lineno = 0;
    hf_status st = HF_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            st = hf_err_set(err, HF_ECONFIG, "%s:%u: line too long", path, lineno);
            goto out;
        }
        char *s = trim(line);
        if (*s == 0 || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            st = hf_err_set(err, HF_ECONFIG, "%s:%u: expected key = value", path, lineno);
            goto out;
        }
        *eq = 0;
        char *key = trim(s);
        const char *why = apply(&tmp, key, trim(eq + 1));
        if (why) {
            st = hf_err_set(err, HF_ECONFIG, "%s:%u: %s: %s", path, lineno, key, why);
            goto out;
        }
    }
    if (ferror(f)) {
        st = hf_err_set(err, HF_EIO, "%s: read error", path);
        goto out;
    }
    st = hf_match_model_finish(&tmp, err);
    if (st != HF_OK) {
        hf_err inner = {0};
        (void)hf_match_model_finish(&tmp, &inner);
        st = hf_err_set(err, st, "%s: %s", path, inner.msg);
        goto out;
    }
    *model = tmp;
out:
    fclose(f);
    return st;
}

hf_status hf_match_model_write(const hf_match_model *model, FILE *f, const char *comment) {
    if (comment) {
        const char *p = comment;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            fprintf(f, "# %.*s\n", (int)n, p);
            p += n + (nl ? 1 : 0);
        }
    }
    fprintf(f, "prior = %.6g\nlink_probability = %.6g\nreview_probability = %.6g\n", model->prior,
            model->link_probability, model->review_probability);
    for (unsigned c = 0; c < HF_MC_COUNT; c++) {
        const char *cn = hf_match_cmp_name((hf_match_cmp)c);
        fprintf(f, "\n");
        if (model->off[c])
            fprintf(f, "%s.off = 1\n", cn);
        unsigned n = hf_match_levels((hf_match_cmp)c);
        for (unsigned l = 1; l < n; l++)
            fprintf(f, "%s.%s = %.6g %.6g\n", cn, hf_match_level_name((hf_match_cmp)c, l), model->m[c][l],
                    model->u[c][l]);
    }
    return ferror(f) ? HF_EIO : HF_OK;
}
