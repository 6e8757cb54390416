/* record_reader.h - reading hl7flow records off a topic: wire framing,
 * writer-schema check, decode.
 *
 * Every stage after the parser reads records some other process wrote,
 * possibly with an older version of the topic's schema. The reader:
 *   - parses the framing (magic 0 + 4-byte id; Apicurio 2.x header mode
 *     when the value has no magic byte and the record carries the
 *     apicurio.value.globalId header);
 *   - looks the writer id up in the registry once (cached) and compares its
 *     schema with this build's layout (hf_rec_schema_check);
 *   - decodes a matching writer directly (zero-copy, hf_rec_decode);
 *   - reads any other writer schema through a resolution plan
 *     (hf_rec_plan_new: fields matched by name, writer-only fields skipped,
 *     missing ones at their defaults), so records of an older or newer
 *     version of the topic's schema are read during a rolling upgrade;
 *     slower, and nothing is copied on re-encode for them.
 * The reader schema is the latest registered schema of the input topic,
 * which must have this build's layout (checked when the reader is made,
 * as the parser checks its output schema).
 */
#ifndef HL7FLOW_RECORD_READER_H
#define HL7FLOW_RECORD_READER_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "hl7flow/record.h"
#include "hl7flow/registry.h"
#include "hl7flow/status.h"

typedef struct hf_rec_reader hf_rec_reader;

/* A reader of @p topic's records in shape @p form. @p reg is borrowed and
 * must outlive the reader. Looks up "<topic>-value" now.
 * @returns HF_OK (*out owned: hf_rec_reader_destroy); HF_ECONFIG when the
 *          registered schema does not have this build's layout; the
 *          registry's errors (HF_ERETRY, HF_ENOTFOUND...) otherwise. */
hf_status hf_rec_reader_new(hf_registry *reg, const char *topic, hf_rec_form form,
                            hf_rec_reader **out, hf_err *err);

void hf_rec_reader_destroy(hf_rec_reader *r);

/* The id of the topic's schema the reader reads into. */
uint32_t hf_rec_reader_schema_id(const hf_rec_reader *r);

/* Decodes one record value into a record owned by @p ctx. @p global_id_hdr
 * / @p hdr_len: the record's apicurio.value.globalId header, or NULL/0.
 * The record borrows from @p value (or from the reader, for an old writer)
 * until the next read or hf_rec_ctx use.
 * @returns HF_OK; HF_ESYNTAX (framing or Avro not valid: the record is
 *          bad), HF_ENOTFOUND (the registry knows no such schema id),
 *          HF_ECONFIG (the writer schema cannot be read as this topic's
 *          schema) - all three mean "dead-letter it, class schema";
 *          HF_ERETRY (registry unreachable: try again later); HF_ENOMEM.
 *          @p err names the offset or id, never content. */
hf_status hf_rec_reader_read(hf_rec_reader *r, hf_rec_ctx *ctx, const void *value, size_t len,
                             const void *global_id_hdr, size_t hdr_len, hf_rec **out, hf_err *err);

/* The schema id a stage writes @p topic's records with: the latest of
 * "<topic>-value", which must have this build's layout for @p form (a
 * service checks it once at start, before producing with the id).
 * @returns HF_OK; HF_ECONFIG naming the first difference; the registry's
 *          errors otherwise. */
hf_status hf_rec_output_schema(hf_registry *reg, const char *topic, hf_rec_form form, uint32_t *id,
                               hf_err *err);

/* hf_rec_reader_read_some for a Kafka record: takes the Apicurio 2.x
 * globalId header from @p headers (may be NULL) when the value carries
 * one. What every stage and sink calls per record. */
hf_status hf_rec_reader_read_msg(hf_rec_reader *r, hf_rec_ctx *ctx, const void *value, size_t len,
                                 const rd_kafka_headers_t *headers, uint64_t fields, hf_rec **out,
                                 hf_err *err);

/* hf_rec_reader_read decoding only the top-level fields in @p fields (see
 * hf_rec_decode_some: the others are checked, left zero and kept). */
hf_status hf_rec_reader_read_some(hf_rec_reader *r, hf_rec_ctx *ctx, const void *value, size_t len,
                                  const void *global_id_hdr, size_t hdr_len, uint64_t fields,
                                  hf_rec **out, hf_err *err);

#endif
