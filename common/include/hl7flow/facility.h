/* facility.h - the facility directory: metadata about each sending facility
 * (name, organization, NPI, time zone, region, the source systems it owns,
 * free-form attributes) that the enricher attaches to every record.
 *
 * Three layers, one file each (docs/internals/facilities.md):
 *   - the table (facility_table.c): an immutable, validated set of
 *     facilities with O(1) lookup by facility_id, built entry by entry
 *     through a builder that checks every field;
 *   - the sources: a JSON document (facility_json.c; a file, e.g. a mounted
 *     Kubernetes ConfigMap) or a PostgreSQL table (facility_pg.c, scripts/
 *     sql/facilities.sql), both fed through hf_facility_json_entry so they
 *     accept and reject exactly the same things;
 *   - the directory (facility_dir.c): picks the source from one string,
 *     loads the first table, and swaps in a new one when the source changes
 *     (file identity and content; PostgreSQL LISTEN/NOTIFY plus a poll
 *     interval), keeping the old table whenever a reload fails.
 *
 * Validation (both sources): facility_id required, 1..256 bytes, no control
 * characters, unique; name, organization, region up to 1024 bytes; npi 10
 * digits whose last is the Luhn check digit over "80840" + the first nine
 * (the CMS rule); time_zone an IANA zone name that opens; source_systems up
 * to 256 distinct non-empty strings; attributes up to 256 string-valued
 * entries, keys non-empty. Every string valid UTF-8 without NUL; an empty
 * optional string (or JSON null) is the same as absent, as in record.h
 * where typed fields never hold "".
 *
 * Threads: a table is immutable except for the hf_tz objects it holds,
 * whose caches change on use; a table or directory is used by one thread at
 * a time (the enricher's processing thread). Error texts name the source
 * (path, or PostgreSQL host/port/dbname/user; never a password), the entry
 * (facilities[i] or row i, plus its facility_id) and the field.
 */
#ifndef HL7FLOW_FACILITY_H
#define HL7FLOW_FACILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/hl7.h"
#include "hl7flow/record.h"
#include "hl7flow/status.h"

struct hf_tz;   /* hl7flow/tz.h */
struct json_t;  /* <jansson.h> */

/* Limits; going over one is HF_ELIMIT with the entry named. */
#define HF_FACILITY_MAX 100000            /* facilities in one table */
#define HF_FACILITY_ID_MAX 256            /* bytes of a facility_id */
#define HF_FACILITY_TEXT_MAX 1024         /* bytes of any other string */
#define HF_FACILITY_LIST_MAX 256          /* source systems / attributes per facility */
#define HF_FACILITY_FILE_MAX (64u << 20)  /* bytes of a JSON document */

/* One facility. Every span points into memory owned by the table and is
 * also NUL-terminated (p[len] == 0), so p may be used as a C string; an
 * absent optional field is {"", 0}. attributes are sorted by key (byte
 * order); source_systems keep the source's order. tz is the opened
 * rec.time_zone, NULL when the facility has none (facilities with the same
 * zone share one hf_tz). */
typedef struct hf_facility {
    hf_rec_facility rec;
    struct hf_tz *tz;
} hf_facility;

/* ----------------------------------------------------------------- table */

typedef struct hf_facility_table hf_facility_table;

/* The facility with this id, or NULL. Pointers stay valid while the table
 * lives. */
const hf_facility *hf_facility_table_find(const hf_facility_table *t, hf_span facility_id);

/* Number of facilities and the i-th (0 <= i < count) in source order. */
size_t hf_facility_table_count(const hf_facility_table *t);
const hf_facility *hf_facility_table_at(const hf_facility_table *t, size_t i);

/* True when both tables hold the same facilities with the same fields in
 * the same order (zones compared by name). */
bool hf_facility_table_equal(const hf_facility_table *a, const hf_facility_table *b);

/* Frees the table, its strings and its zones. NULL is fine. */
void hf_facility_table_free(hf_facility_table *t);

/* --------------------------------------------------------------- builder */

/* The scalar fields, named as in the JSON document and the SQL table. */
typedef enum {
    HF_FAC_FACILITY_ID,
    HF_FAC_NAME,
    HF_FAC_ORGANIZATION,
    HF_FAC_NPI,
    HF_FAC_TIME_ZONE,
    HF_FAC_REGION,
    HF_FAC_NFIELDS
} hf_facility_field;

/* "facility_id", "name", ... ; NULL for an out-of-range value. */
const char *hf_facility_field_name(hf_facility_field f);

typedef struct hf_facility_builder hf_facility_builder;

/* Starts a table. @p origin names the source in error texts ("facilities
 * file x.json"); it is copied. */
hf_status hf_facility_builder_new(const char *origin, hf_facility_builder **out, hf_err *err);

/* Opens the next entry; @p label names it in errors ("facilities[3]"; the
 * facility_id is appended once known, so set it first). Then set fields
 * and add list items, each checked as it comes (length, UTF-8, control
 * characters, NPI check digit, repeats), and close the entry with _end,
 * which checks it as a whole (facility_id present and unique, time zone
 * opens). Values are copied; an empty value for a scalar field leaves it
 * absent. Each call returns the first problem; after an error the builder
 * is only good for hf_facility_builder_free (or _finish, which fails). */
hf_status hf_facility_builder_begin(hf_facility_builder *b, const char *label, hf_err *err);
hf_status hf_facility_builder_set(hf_facility_builder *b, hf_facility_field f, hf_span value,
                                  hf_err *err);
hf_status hf_facility_builder_add_source_system(hf_facility_builder *b, hf_span value, hf_err *err);
hf_status hf_facility_builder_add_attribute(hf_facility_builder *b, hf_span key, hf_span value,
                                            hf_err *err);
hf_status hf_facility_builder_end(hf_facility_builder *b, hf_err *err);

/* Records a problem the source found in the open entry (a JSON type, an
 * unknown key) as "<origin>: <label> (<facility_id>): <text>", marks the
 * builder failed and returns @p st. */
hf_status hf_facility_builder_fail(hf_facility_builder *b, hf_err *err, hf_status st, const char *fmt,
                                   ...) __attribute__((format(printf, 4, 5)));

/* Turns the builder into a table (*out, owned by the caller) and frees the
 * builder, on success or not (*out is NULL on error). */
hf_status hf_facility_builder_finish(hf_facility_builder *b, hf_facility_table **out, hf_err *err);

/* Drops a builder that will not be finished. NULL is fine. */
void hf_facility_builder_free(hf_facility_builder *b);

/* ------------------------------------------------------------ JSON source */

/* Adds one facility from a JSON object with the keys facility_id, name,
 * organization, npi, time_zone, region (strings or null), source_systems
 * (array of strings, or null) and attributes (object of strings, or null);
 * any other key is an error (typo protection). Begins and ends the entry
 * itself. Used by both sources. */
hf_status hf_facility_json_entry(hf_facility_builder *b, const char *label, const struct json_t *obj,
                                 hf_err *err);

/* Parses a document {"facilities": [entry, ...]} (@p len bytes, need not be
 * NUL-terminated) into a new table (*out, owned by the caller). Errors name
 * @p origin and, for syntax, the line and column. */
hf_status hf_facility_json_parse(const char *text, size_t len, const char *origin,
                                 hf_facility_table **out, hf_err *err);

/* --------------------------------------------------------------- options */

/* Settings of a directory and its PostgreSQL source; zero members mean the
 * default. */
typedef struct hf_facility_dir_opts {
    const char *table;         /* PostgreSQL table, [schema.]name, default "hl7flow_facility" */
    const char *channel;       /* LISTEN channel, default "hl7flow_facility" */
    int64_t poll_ms;           /* file: stat interval; PostgreSQL: full re-read
                                  interval (fallback to NOTIFY); default 30000 */
    int64_t notify_check_ms;   /* PostgreSQL: how often pending notifications are
                                  read, default 250 (so a NOTIFY reloads within
                                  well under a second) */
    int64_t connect_timeout_s; /* PostgreSQL: connect or query time limit, default 10 */
} hf_facility_dir_opts;

/* ------------------------------------------------------ PostgreSQL source */

/* A connection to the facility table that LISTENs on the channel and
 * re-reads the table on a notification or every poll_ms, never blocking
 * after the first load (facility_pg.c). Used by the directory; public for
 * tests and tools. */
typedef struct hf_facility_pg hf_facility_pg;

/* Connects to @p conninfo (URI or keyword=value; libpq environment
 * applies), LISTENs and reads the first table (*first, owned by the
 * caller), waiting at most opts->connect_timeout_s. *out is owned by the
 * caller (hf_facility_pg_close). */
hf_status hf_facility_pg_open(const char *conninfo, const hf_facility_dir_opts *opts,
                              hf_facility_pg **out, hf_facility_table **first, hf_err *err);

/* Advances the connection without blocking: reads notifications, re-reads
 * the table when one came or poll_ms passed, reconnects after a failure
 * with backoff. *fresh (NULL unless a read finished) is a new table owned
 * by the caller. Returns at once while @p now_ms is before the next
 * deadline. Errors: HF_ERETRY (connection failed or lost; retried after
 * the backoff), HF_ECONFIG, HF_ESYNTAX or HF_ELIMIT (the query failed or
 * a row is invalid; the connection stays and the next notification or
 * poll_ms retries). */
hf_status hf_facility_pg_poll(hf_facility_pg *pg, int64_t now_ms, hf_facility_table **fresh,
                              hf_err *err);

/* "postgres host=.. port=.. dbname=.. user=..", never the password. */
const char *hf_facility_pg_desc(const hf_facility_pg *pg);

/* Closes the connection. NULL is fine. */
void hf_facility_pg_close(hf_facility_pg *pg);

/* ------------------------------------------------------------- directory */

typedef struct hf_facility_dir hf_facility_dir;

/* Opens the directory on @p source and loads the first table now:
 *   "file:PATH" or a plain path           a JSON document
 *   "postgresql://..." or "postgres://..." a libpq URI
 *   "keyword=value ..." (host=, dbname=...) a libpq conninfo string
 * (a path that looks like keyword=value needs the file: prefix). Libpq's
 * environment (PGPASSWORD, PGPASSFILE, PGSSLMODE...) applies. Fails with a
 * precise error when the first table cannot be loaded: HF_ENOTFOUND (no
 * such file), HF_EIO, HF_ESYNTAX (not JSON, or bad UTF-8), HF_ECONFIG (a
 * bad entry or setting, a failed query), HF_ELIMIT, HF_ERETRY (PostgreSQL
 * unreachable within connect_timeout_s). @p opts may be NULL. The caller
 * owns *out (hf_facility_dir_close). */
hf_status hf_facility_dir_open(const char *source, const hf_facility_dir_opts *opts,
                               hf_facility_dir **out, hf_err *err);

/* The facility with this id, or NULL. Valid until the next
 * hf_facility_dir_poll or hf_facility_dir_close (copy what must live
 * longer). */
const hf_facility *hf_facility_find(const hf_facility_dir *d, hf_span facility_id);

/* Checks the source for changes; call it often (between records) with a
 * monotonic millisecond clock. Costs a comparison unless a deadline passed:
 * a file is stat'ed every poll_ms and re-read when its identity (device,
 * inode, size, mtime, ctime, following symlinks) changed or it was written
 * within the last 2 s; a new table is swapped in only when it differs from
 * the current one. PostgreSQL: pending notifications are read every
 * notify_check_ms and trigger a re-read, as does poll_ms without one; all
 * I/O is non-blocking, a lost connection is retried with backoff (1 s
 * doubling to 15 s). *reloaded (may be NULL) is true when a different
 * table was swapped in. On failure (unreadable or invalid source, database
 * down) the current table stays, the error is returned, and a later poll
 * retries. */
hf_status hf_facility_dir_poll(hf_facility_dir *d, int64_t now_ms, bool *reloaded, hf_err *err);

/* The current table (valid like hf_facility_find's results). */
const hf_facility_table *hf_facility_dir_table(const hf_facility_dir *d);

/* Number of facilities in the current table. */
size_t hf_facility_dir_count(const hf_facility_dir *d);

/* "file" or "postgres". */
const char *hf_facility_dir_source_kind(const hf_facility_dir *d);

/* The source as shown in errors and logs: the path, or "postgres host=..
 * port=.. dbname=.. user=.." (never a password). */
const char *hf_facility_dir_source_desc(const hf_facility_dir *d);

/* True when the last check of the source failed, so the table may be out
 * of date (for a readiness detail or a gauge). */
bool hf_facility_dir_stale(const hf_facility_dir *d);

/* Closes the source and frees everything. NULL is fine. */
void hf_facility_dir_close(hf_facility_dir *d);

#endif
