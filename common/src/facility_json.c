/* facility_json.c - the JSON form of the facility directory (facility.h):
 * one entry object -> builder calls (shared with the PostgreSQL source,
 * which hands each row over as the same kind of object), and the document
 * {"facilities": [...]} -> table.
 *
 * Strict on purpose: a key the format does not know is an error (a typo
 * such as "time_zome" would otherwise drop the zone without a word),
 * duplicate keys are an error (jansson's JSON_REJECT_DUPLICATES), and
 * strings must be strings (an NPI written as a number is refused, not
 * converted). null means absent for every key but facility_id.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "hl7flow/facility.h"

static hf_span str_span(const json_t *s) { return (hf_span){json_string_value(s), json_string_length(s)}; }

/* A key rendered for an error text: printable ASCII kept, other bytes '?',
 * at most 40 bytes. */
static const char *key_text(const char *key, char *buf, size_t size) {
    size_t o = 0;
    for (const char *p = key; *p != '\0' && o + 4 < size && o < 40; p++)
        buf[o++] = *p >= 0x20 && *p < 0x7f && *p != '"' ? *p : '?';
    if (strlen(key) > o)
        buf[o++] = '.', buf[o++] = '.', buf[o++] = '.';
    buf[o] = '\0';
    return buf;
}

static hf_status add_source_systems(hf_facility_builder *b, const json_t *v, hf_err *err) {
    if (json_is_null(v))
        return HF_OK;
    if (!json_is_array(v))
        return hf_facility_builder_fail(b, err, HF_ECONFIG, "source_systems: must be an array of strings");
    size_t i;
    const json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item))
            return hf_facility_builder_fail(b, err, HF_ECONFIG, "source_systems[%zu]: must be a string", i);
        hf_status st = hf_facility_builder_add_source_system(b, str_span(item), err);
        if (st != HF_OK)
            return st;
    }
    return HF_OK;
}

static hf_status add_attributes(hf_facility_builder *b, const json_t *v, hf_err *err) {
    if (json_is_null(v))
        return HF_OK;
    if (!json_is_object(v))
        return hf_facility_builder_fail(b, err, HF_ECONFIG,
                                        "attributes: must be an object of string values");
    const char *key;
    json_t *val;
    char kb[48];
    /* jansson's iteration macros take a non-const object; nothing is changed. */
    json_object_foreach((json_t *)v, key, val) {
        if (!json_is_string(val))
            return hf_facility_builder_fail(b, err, HF_ECONFIG, "attributes.\"%s\": must be a string",
                                            key_text(key, kb, sizeof kb));
        hf_status st = hf_facility_builder_add_attribute(b, (hf_span){key, strlen(key)}, str_span(val), err);
        if (st != HF_OK)
            return st;
    }
    return HF_OK;
}

/* Sets scalar field @p f from @p v (string, or null = absent). */
static hf_status set_scalar(hf_facility_builder *b, hf_facility_field f, const json_t *v, hf_err *err) {
    if (json_is_null(v))
        return HF_OK;
    if (!json_is_string(v))
        return hf_facility_builder_fail(b, err, HF_ECONFIG, "%s: must be a string",
                                        hf_facility_field_name(f));
    return hf_facility_builder_set(b, f, str_span(v), err);
}

hf_status hf_facility_json_entry(hf_facility_builder *b, const char *label, const json_t *obj,
                                 hf_err *err) {
    hf_status st = hf_facility_builder_begin(b, label, err);
    if (st != HF_OK)
        return st;
    if (!json_is_object(obj))
        return hf_facility_builder_fail(b, err, HF_ECONFIG, "must be an object");
    /* facility_id first, so every later error names the facility */
    const json_t *id = json_object_get(obj, "facility_id");
    if (id == NULL || json_is_null(id))
        return hf_facility_builder_fail(b, err, HF_ECONFIG, "facility_id: missing");
    if ((st = set_scalar(b, HF_FAC_FACILITY_ID, id, err)) != HF_OK)
        return st;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        if (strcmp(key, "facility_id") == 0)
            continue;
        if (strcmp(key, "source_systems") == 0) {
            st = add_source_systems(b, val, err);
        } else if (strcmp(key, "attributes") == 0) {
            st = add_attributes(b, val, err);
        } else {
            int f = 0;
            while (f < HF_FAC_NFIELDS && strcmp(key, hf_facility_field_name((hf_facility_field)f)) != 0)
                f++;
            if (f == HF_FAC_NFIELDS) {
                char kb[48];
                return hf_facility_builder_fail(
                    b, err, HF_ECONFIG,
                    "unknown key \"%s\" (known: facility_id, name, organization, npi, time_zone, region, "
                    "source_systems, attributes)",
                    key_text(key, kb, sizeof kb));
            }
            st = set_scalar(b, (hf_facility_field)f, val, err);
        }
        if (st != HF_OK)
            return st;
    }
    return hf_facility_builder_end(b, err);
}

hf_status hf_facility_json_parse(const char *text, size_t len, const char *origin,
                                 hf_facility_table **out, hf_err *err) {
    *out = NULL;
    if (origin == NULL)
        origin = "facilities";
    if (len > HF_FACILITY_FILE_MAX)
        return hf_err_set(err, HF_ELIMIT, "%s: larger than %u bytes", origin, HF_FACILITY_FILE_MAX);
    json_error_t je;
    json_t *doc = json_loadb(text != NULL ? text : "", len, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        return hf_err_set(err, HF_ESYNTAX, "%s: line %d column %d: %s", origin, je.line, je.column,
                          je.text);
    hf_status st = HF_OK;
    hf_facility_builder *b = NULL;
    const json_t *list = json_object_get(doc, "facilities");
    if (!json_is_object(doc) || json_object_size(doc) != 1 || !json_is_array(list)) {
        st = hf_err_set(err, HF_ECONFIG,
                        "%s: the document must be an object with one key, \"facilities\", holding an array",
                        origin);
        goto done;
    }
    if ((st = hf_facility_builder_new(origin, &b, err)) != HF_OK)
        goto done;
    size_t i;
    const json_t *entry;
    json_array_foreach(list, i, entry) {
        char label[40];
        snprintf(label, sizeof label, "facilities[%zu]", i);
        if ((st = hf_facility_json_entry(b, label, entry, err)) != HF_OK)
            goto done;
    }
    st = hf_facility_builder_finish(b, out, err);
    b = NULL;
done:
    hf_facility_builder_free(b);
    json_decref(doc);
    return st;
}
