/* log.h - JSON-lines logging to stdout, shaped so patient data has no easy
 * way in.
 *
 * One line per event: {"ts":..,"level":..,"service":..,"event":..,<fields>}.
 * Event names and field keys must be string literals (the macros paste ""
 * around them, so a variable will not compile). Values are typed, and there
 * is deliberately no "any string" field:
 *   HF_LI   integer            HF_LD  double         HF_LB  boolean
 *   HF_LLIT a string literal   HF_LID an identifier from configuration or
 *           Kafka metadata (topic, group, host); characters outside
 *           [A-Za-z0-9._:/@|=+-] are replaced by '?', 128 bytes at most
 *   HF_LCTRL an HL7 message control id (MSH-10): same charset, 64 bytes
 *   HF_LMRN  an MRN *hash*: must be 64 lowercase hex digits, else "invalid"
 *   HF_LERR  an error text built by hl7flow or a library (hf_err.msg,
 *            rd_kafka_err2str); such texts never quote message content
 * Names, dates of birth, MRNs and payloads therefore cannot be logged without
 * writing a new field kind, which review will see.
 */
#ifndef HL7FLOW_LOG_H
#define HL7FLOW_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { HF_LOG_DEBUG, HF_LOG_INFO, HF_LOG_WARN, HF_LOG_ERROR } hf_log_level;

typedef enum {
    HF_LF_END = 0,
    HF_LF_INT,
    HF_LF_DBL,
    HF_LF_BOOL,
    HF_LF_LIT,
    HF_LF_ID,
    HF_LF_CTRL,
    HF_LF_MRN,
    HF_LF_ERR
} hf_log_kind;

typedef struct hf_log_field {
    const char *key;  /* a string literal */
    hf_log_kind kind; /* which member of v is used */
    union {
        int64_t i;
        double d;
        bool b;
        const char *s;
    } v;
} hf_log_field;

#define HF_LI(k, x) ((hf_log_field){"" k "", HF_LF_INT, {.i = (int64_t)(x)}})
#define HF_LD(k, x) ((hf_log_field){"" k "", HF_LF_DBL, {.d = (double)(x)}})
#define HF_LB(k, x) ((hf_log_field){"" k "", HF_LF_BOOL, {.b = (x)}})
#define HF_LLIT(k, x) ((hf_log_field){"" k "", HF_LF_LIT, {.s = "" x ""}})
#define HF_LID(k, x) ((hf_log_field){"" k "", HF_LF_ID, {.s = (x)}})
#define HF_LCTRL(x) ((hf_log_field){"message_control_id", HF_LF_CTRL, {.s = (x)}})
#define HF_LMRN(x) ((hf_log_field){"mrn_hash", HF_LF_MRN, {.s = (x)}})
#define HF_LERR(x) ((hf_log_field){"error", HF_LF_ERR, {.s = (x)}})
#define HF_LEND_ ((hf_log_field){0, HF_LF_END, {.i = 0}})

/* Logs @p event with the given fields: HF_LOG(HF_LOG_INFO, "started",
 * HF_LID("topic", t), HF_LI("partitions", n)). Thread-safe; one write(2) per
 * line. */
#define HF_LOG(level, event, ...) \
    hf_log_emit((level), "" event "", (const hf_log_field[]){__VA_ARGS__, HF_LEND_})
#define HF_LOG0(level, event) hf_log_emit((level), "" event "", (const hf_log_field[]){HF_LEND_})

/* Sets the service name put on every line (borrowed: must outlive logging)
 * and the threshold from HL7FLOW_LOG_LEVEL (debug|info|warn|error). Call once
 * at start; before it, lines carry service "hl7flow" at level info. */
void hf_log_init(const char *service);

/* Sets the threshold directly (tests, CLI flags). */
void hf_log_set_level(hf_log_level level);

/* Redirects output to @p fd (default 1 = stdout). Tests use a pipe. */
void hf_log_set_fd(int fd);

/* Emits one line; @p fields ends with an HF_LF_END entry. Use HF_LOG. */
void hf_log_emit(hf_log_level level, const char *event, const hf_log_field *fields);

/* Parses "debug|info|warn|error"; returns false on anything else. */
bool hf_log_level_parse(const char *s, hf_log_level *out);

#endif
