/* pgrows.h - hl7flow records as PostgreSQL rows: the mapping of the
 * PostgreSQL sink (hl7flow-sink-postgres), kept free of libpq so it can be
 * unit-tested.
 *
 * A batch (hf_pgrows) collects the rows of many records, per table, as
 * text parameter values (NULL = SQL NULL) in one arena. The sink turns
 * each table's rows into parameterized multi-row statements
 * (hf_pgrows_sql + hf_pgrows_params): the SQL text holds only table and
 * column names and $n placeholders, never message data.
 *
 * HL7 update semantics live in the statements' conflict clauses (see
 * docs/sinks.md and the migrations):
 *   patients      unique (source_system, facility_id, mrn); a later message
 *                 (A08, A31, ...) overwrites what it carries, keeps the rest
 *   encounters    unique (source_system, facility_id, visit_number); A03
 *                 closes the encounter (status discharged), A11 cancels,
 *                 A13 reopens
 *   orders        unique (source_system, facility_id, order_key)
 *   observations  unique (..., order_key, code, sub_id); a corrected result
 *                 (OBX-11 C) replaces the value, the old version goes to
 *                 observation_history (a trigger); a final result is only
 *                 replaced by a correction
 *   documents     unique (source_system, facility_id, document_key)
 *   messages, diagnoses, allergies, insurance, financial_transactions:
 *                 one row per message (segment), re-applying is a no-op
 * Two records of one batch that touch the same unique key must go in two
 * statements (PostgreSQL refuses to update a row twice in one INSERT ...
 * ON CONFLICT): hf_pgrows_row_key gives each row's key for that check.
 */
#ifndef HL7FLOW_PGROWS_H
#define HL7FLOW_PGROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/record.h"
#include "hl7flow/status.h"

typedef enum hf_pg_table {
    HF_PG_MESSAGES = 0,
    HF_PG_PATIENTS,
    HF_PG_ENCOUNTERS,
    HF_PG_ORDERS,
    HF_PG_OBSERVATIONS,
    HF_PG_DIAGNOSES,
    HF_PG_ALLERGIES,
    HF_PG_INSURANCE,
    HF_PG_FINANCIAL,
    HF_PG_DOCUMENTS,
    HF_PG_NTABLES
} hf_pg_table;

/* PostgreSQL's limit on parameters of one statement. */
#define HF_PG_MAX_PARAMS 65535

/* Where a record came from (kept on its messages row). */
typedef struct hf_pg_source {
    const char *topic;
    int32_t partition;
    int64_t offset;
} hf_pg_source;

typedef struct hf_pgrows hf_pgrows;

/* A rollback point: hf_pgrows_mark before adding a record,
 * hf_pgrows_rollback to drop what it added. */
typedef struct hf_pgrows_mark {
    size_t arena;
    size_t rows[HF_PG_NTABLES];
} hf_pgrows_mark;

/* An empty batch (owned: hf_pgrows_free), or NULL when out of memory. */
hf_pgrows *hf_pgrows_new(void);
void hf_pgrows_free(hf_pgrows *b);
/* Empties @p b, keeping its memory. */
void hf_pgrows_clear(hf_pgrows *b);

/* Adds the rows of @p rec (values are copied). A record always gives one
 * messages row; a patient row when it has an MRN; an encounter row when
 * PV1-19 (visit number) is set; one row per order, observation,
 * diagnosis, allergy, insurance and financial transaction; a documents row
 * for a TXA. On failure nothing of @p rec stays in @p b.
 * @returns HF_OK; HF_ENOMEM; HF_ESYNTAX when a text value holds a NUL
 *          byte, which PostgreSQL text cannot store (hf_pgrows_bad_column
 *          names it); HF_EFATAL when a row's values do not match its
 *          table's columns (a bug in this file: the unit tests catch it). */
hf_status hf_pgrows_add(hf_pgrows *b, const hf_rec *rec, const hf_pg_source *src);

/* After hf_pgrows_add returned HF_ESYNTAX: "table.column" of the value
 * PostgreSQL cannot store (text with a NUL byte). */
const char *hf_pgrows_bad_column(const hf_pgrows *b);

hf_pgrows_mark hf_pgrows_mark_get(const hf_pgrows *b);
void hf_pgrows_rollback(hf_pgrows *b, const hf_pgrows_mark *m);

/* Rows of @p t in @p b, and their total over every table. */
size_t hf_pgrows_count(const hf_pgrows *b, hf_pg_table t);
size_t hf_pgrows_total(const hf_pgrows *b);

/* Table name ("patients") and number of columns of one row. */
const char *hf_pgrows_table_name(hf_pg_table t);
int hf_pgrows_ncols(hf_pg_table t);
/* Index of column @p name of @p t, or -1. */
int hf_pgrows_col(hf_pg_table t, const char *name);

/* Whether rows of @p t can collide with other rows of the same statement
 * (upserts), i.e. whether hf_pgrows_row_key matters for them. */
bool hf_pgrows_is_upsert(hf_pg_table t);

/* Writes the unique key of row @p row of @p t (the conflict columns,
 * separated by 0x1f, prefixed by the table number) to @p buf.
 * @returns the length, or 0 when it does not fit. */
size_t hf_pgrows_row_key(const hf_pgrows *b, hf_pg_table t, size_t row, char *buf, size_t cap);

/* Value of column @p col of row @p row: *len = -1 for NULL. The pointer
 * is valid until the next add. */
const char *hf_pgrows_value(const hf_pgrows *b, hf_pg_table t, size_t row, int col, int *len);

/* Most rows of @p t one statement may carry (parameter limit). */
size_t hf_pgrows_max_rows(hf_pg_table t);

/* A buffer size that always holds hf_pgrows_sql(t, nrows). */
size_t hf_pgrows_sql_cap(hf_pg_table t, size_t nrows);

/* The statement inserting @p nrows rows of @p t, with its conflict
 * clause, into @p buf: "INSERT INTO patients (...) VALUES ($1,...),(...)
 * ON CONFLICT ...". @returns the length, or 0 when it does not fit. */
size_t hf_pgrows_sql(hf_pg_table t, size_t nrows, char *buf, size_t cap);

/* The parameters of rows [first, first+n) of @p t in statement order:
 * values[i] (NULL for SQL NULL), lengths[i], formats[i] (0 text, 1 binary:
 * the raw bytes of messages.raw). Arrays hold n * ncols entries; pointers
 * valid until the next add. */
void hf_pgrows_params(const hf_pgrows *b, hf_pg_table t, size_t first, size_t n,
                      const char **values, int *lengths, int *formats);

#endif
