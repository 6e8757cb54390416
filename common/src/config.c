/* config.c - environment-variable configuration tables (see config.h). */
#include "hl7flow/config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool hf_parse_i64(const char *s, int64_t *out) {
    if (s == NULL || *s == '\0')
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = (int64_t)v;
    return true;
}

bool hf_parse_bool(const char *s, bool *out) {
    static const char *const T[] = {"true", "1", "yes", "on"};
    static const char *const F[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, T[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, F[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_double(const char *s, double *out) {
    if (*s == '\0')
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* Index of @p s in "a|b|c", or -1. */
static int enum_index(const char *choices, const char *s) {
    size_t n = strlen(s);
    int idx = 0;
    for (const char *p = choices; *p != '\0'; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0)
            return idx;
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    return -1;
}

/* Reads a whole small file (secrets); strips one trailing newline. */
static char *read_secret_file(const char *path, hf_err *err, const char *var) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        hf_err_set(err, HF_ECONFIG, "%s_FILE: cannot open '%s': %s", var, path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (buf == NULL) {
        hf_err_set(err, HF_ENOMEM, "%s_FILE: out of memory", var);
        return NULL;
    }
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return buf;
}

static hf_status load_one(const hf_cfg_var *v, void *cfg, hf_err *err) {
    char *field = (char *)cfg + v->offset;
    const char *text = getenv(v->name);
    char *owned = NULL;
    if (v->type == HF_CFG_SECRET && (text == NULL || *text == '\0')) {
        char fname[256];
        snprintf(fname, sizeof fname, "%s_FILE", v->name);
        const char *path = getenv(fname);
        if (path != NULL && *path != '\0') {
            owned = read_secret_file(path, err, v->name);
            if (owned == NULL)
                return err ? err->st : HF_ECONFIG;
            text = owned;
        }
    }
    if (text == NULL || (*text == '\0' && v->type != HF_CFG_STR && v->type != HF_CFG_SECRET))
        text = v->def;
    if (text == NULL)
        return hf_err_set(err, HF_ECONFIG, "%s: required but not set", v->name);

    hf_status st = HF_OK;
    switch (v->type) {
    case HF_CFG_STR:
    case HF_CFG_SECRET: {
        char *copy = owned != NULL ? owned : strdup(text);
        owned = NULL;
        if (copy == NULL)
            return hf_err_set(err, HF_ENOMEM, "%s: out of memory", v->name);
        char **slot = (char **)(void *)field;
        free(*slot);
        *slot = copy;
        break;
    }
    case HF_CFG_INT: {
        int64_t x;
        if (!hf_parse_i64(text, &x))
            st = hf_err_set(err, HF_ECONFIG, "%s: '%s' is not an integer", v->name, text);
        else if ((v->min != 0 || v->max != 0) && x < v->min)
            st = hf_err_set(err, HF_ECONFIG, "%s: '%s' is below the minimum %lld", v->name, text,
                            (long long)v->min);
        else if ((v->min != 0 || v->max != 0) && x > v->max)
            st = hf_err_set(err, HF_ECONFIG, "%s: '%s' is above the maximum %lld", v->name, text,
                            (long long)v->max);
        else
            memcpy(field, &x, sizeof x);
        break;
    }
    case HF_CFG_DOUBLE: {
        double x;
        if (!parse_double(text, &x))
            st = hf_err_set(err, HF_ECONFIG, "%s: '%s' is not a number", v->name, text);
        else if ((v->min != 0 || v->max != 0) && (x < (double)v->min || x > (double)v->max))
            st = hf_err_set(err, HF_ECONFIG, "%s: '%s' is outside %lld..%lld", v->name, text,
                            (long long)v->min, (long long)v->max);
        else
            memcpy(field, &x, sizeof x);
        break;
    }
    case HF_CFG_BOOL: {
        bool x;
        if (!hf_parse_bool(text, &x))
            st = hf_err_set(err, HF_ECONFIG, "%s: '%s' is not a boolean (true/false)", v->name, text);
        else
            memcpy(field, &x, sizeof x);
        break;
    }
    case HF_CFG_ENUM: {
        int x = enum_index(v->choices, text);
        if (x < 0)
            st = hf_err_set(err, HF_ECONFIG, "%s: '%s' is not one of %s", v->name, text, v->choices);
        else
            memcpy(field, &x, sizeof x);
        break;
    }
    }
    free(owned);
    return st;
}

hf_status hf_cfg_load(const hf_cfg_table *table, void *cfg, hf_err *err) {
    for (size_t i = 0; i < table->count; i++) {
        hf_status st = load_one(&table->vars[i], cfg, err);
        if (st != HF_OK)
            return st;
    }
    return HF_OK;
}

void hf_cfg_free(const hf_cfg_table *table, void *cfg) {
    for (size_t i = 0; i < table->count; i++) {
        const hf_cfg_var *v = &table->vars[i];
        if (v->type == HF_CFG_STR || v->type == HF_CFG_SECRET) {
            char **slot = (char **)(void *)((char *)cfg + v->offset);
            free(*slot);
            *slot = NULL;
        }
    }
}

static const char *type_name(const hf_cfg_var *v) {
    switch (v->type) {
    case HF_CFG_STR:
        return "string";
    case HF_CFG_SECRET:
        return "secret";
    case HF_CFG_INT:
        return "integer";
    case HF_CFG_BOOL:
        return "bool";
    case HF_CFG_ENUM:
        return v->choices;
    case HF_CFG_DOUBLE:
        return "number";
    }
    return "?";
}

void hf_cfg_help(FILE *out, const char *synopsis, const hf_cfg_table *tables, size_t ntables) {
    fprintf(out, "%s\n", synopsis);
    for (size_t t = 0; t < ntables; t++) {
        fprintf(out, "\n%s:\n", tables[t].title);
        for (size_t i = 0; i < tables[t].count; i++) {
            const hf_cfg_var *v = &tables[t].vars[i];
            fprintf(out, "  %-34s %s", v->name, type_name(v));
            if (v->type == HF_CFG_INT && (v->min != 0 || v->max != 0))
                fprintf(out, " %lld..%lld", (long long)v->min, (long long)v->max);
            if (v->def == NULL)
                fprintf(out, ", required");
            else if (*v->def != '\0')
                fprintf(out, ", default %s", v->def);
            fprintf(out, "\n      %s\n", v->help);
            if (v->type == HF_CFG_SECRET)
                fprintf(out, "      (or %s_FILE=<path of a file holding it>)\n", v->name);
        }
    }
    fprintf(out,
            "\nKafka client settings:\n"
            "  KAFKA_<PROPERTY>                   any librdkafka property, name upper-cased with\n"
            "      '.' as '_' (KAFKA_SECURITY_PROTOCOL=SASL_SSL -> security.protocol;\n"
            "      '__' stands for a literal '_'). KAFKA_CONSUMER_<PROPERTY> and\n"
            "      KAFKA_PRODUCER_<PROPERTY> apply to one client only.\n"
            "  KAFKA_BOOTSTRAP_SERVERS            required: host:port[,host:port...]\n"
            "\nOther flags: --help, --dump-config (print the effective settings, secrets masked)\n");
}

void hf_cfg_dump(FILE *out, const hf_cfg_table *table, const void *cfg) {
    for (size_t i = 0; i < table->count; i++) {
        const hf_cfg_var *v = &table->vars[i];
        const char *field = (const char *)cfg + v->offset;
        fprintf(out, "%s=", v->name);
        switch (v->type) {
        case HF_CFG_STR: {
            const char *s = *(char *const *)(const void *)field;
            fprintf(out, "%s\n", s ? s : "");
            break;
        }
        case HF_CFG_SECRET: {
            const char *s = *(char *const *)(const void *)field;
            fprintf(out, "%s\n", s && *s ? "****" : "");
            break;
        }
        case HF_CFG_INT: {
            int64_t x;
            memcpy(&x, field, sizeof x);
            fprintf(out, "%lld\n", (long long)x);
            break;
        }
        case HF_CFG_DOUBLE: {
            double x;
            memcpy(&x, field, sizeof x);
            fprintf(out, "%g\n", x);
            break;
        }
        case HF_CFG_BOOL: {
            bool x;
            memcpy(&x, field, sizeof x);
            fprintf(out, "%s\n", x ? "true" : "false");
            break;
        }
        case HF_CFG_ENUM: {
            int x;
            memcpy(&x, field, sizeof x);
            const char *p = v->choices;
            for (int k = 0; k < x && p; k++) {
                p = strchr(p, '|');
                if (p)
                    p++;
            }
            const char *bar = p ? strchr(p, '|') : NULL;
            fprintf(out, "%.*s\n", p ? (int)(bar ? (size_t)(bar - p) : strlen(p)) : 0, p ? p : "");
            break;
        }
        }
    }
}

int hf_cfg_args(int argc, char **argv, const char *synopsis, const hf_cfg_table *tables,
                size_t ntables, bool *dump) {
    *dump = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            hf_cfg_help(stdout, synopsis, tables, ntables);
            return 1;
        }
        if (strcmp(argv[i], "--dump-config") == 0) {
            *dump = true;
            continue;
        }
        fprintf(stderr, "%s: unknown argument '%s' (configuration comes from the environment; see --help)\n",
                argv[0], argv[i]);
        return -1;
    }
    return *dump ? 2 : 0;
}
