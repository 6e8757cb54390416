/* tz.c - local wall time -> UTC through ICU, with a per-zone offset cache
 * (contract in tz.h, design notes in docs/internals/enrichment.md).
 *
 * ICU does the zone work: ucal_getTimeZoneOffsetFromLocal() reads the
 * calendar's millisecond value *as a local time* and returns the offset,
 * with UCAL_TZ_LOCAL_FORMER for both the skipped and the repeated case; that
 * is exactly the rule tz.h promises (earlier occurrence; gap read with the
 * offset before it).
 *
 * Cache: that offset, as a function of wall time, is a step function with at
 * most one step per zone transition. For a wall-clock hour [h, h+1h) whose
 * first and last millisecond have the same offset there is no step inside
 * (two transitions within one hour do not occur in the tz database), so the
 * offset is stored for the hour. Hours that contain a step are never cached
 * and go to ICU every time. The cache is direct-mapped on a multiplicative
 * hash of the hour number, so recent hours and midnights of many different
 * days (dates of birth) spread over all slots.
 */
#include "hl7flow/tz.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#define TZ_CACHE_BITS 10 /* 1024 slots * 16 bytes = 16 KiB per zone */
#define TZ_CACHE_SIZE (1u << TZ_CACHE_BITS)
#define TZ_NAME_MAX 128 /* longest IANA name is ~32 bytes */
#define US_PER_MS 1000LL
#define MS_PER_HOUR 3600000LL
#define US_PER_HOUR 3600000000LL
#define EMPTY_HOUR INT64_MIN /* no real hour number: floor(INT64_MIN/3.6e9) is larger */

typedef struct tz_slot {
    int64_t hour;   /* wall-clock hour number (floor(wall_us / 1 h)); EMPTY_HOUR if unused */
    int64_t off_us; /* local - UTC, in microseconds, valid for the whole hour */
} tz_slot;

struct hf_tz {
    UCalendar *cal; /* owned; its millis are set before each offset query */
    char *name;     /* owned copy of the name given */
    tz_slot cache[TZ_CACHE_SIZE];
};

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static size_t slot_of(int64_t hour) {
    return (size_t)(((uint64_t)hour * 0x9E3779B97F4A7C15ull) >> (64 - TZ_CACHE_BITS));
}

/* Offset (local - UTC) in ms at local wall time @p wall_ms, FORMER rule. ICU
 * only fails for values far beyond int64 microseconds; 0 then. */
static int64_t offset_ms_at(hf_tz *tz, int64_t wall_ms) {
    UErrorCode st = U_ZERO_ERROR;
    int32_t raw = 0, dst = 0;
    ucal_setMillis(tz->cal, (UDate)wall_ms, &st);
    ucal_getTimeZoneOffsetFromLocal(tz->cal, UCAL_TZ_LOCAL_FORMER, UCAL_TZ_LOCAL_FORMER, &raw, &dst,
                                    &st);
    if (U_FAILURE(st))
        return 0;
    return (int64_t)raw + dst;
}

static int64_t sub_saturating(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

hf_status hf_tz_open(const char *iana_name, hf_tz **out, hf_err *err) {
    *out = NULL;
    size_t n = iana_name ? strlen(iana_name) : 0;
    if (n == 0 || n >= TZ_NAME_MAX)
        return hf_err_set(err, HF_ENOTFOUND, "time zone name is empty or longer than %d bytes",
                          TZ_NAME_MAX - 1);
    UChar id[TZ_NAME_MAX], canon[TZ_NAME_MAX];
    UErrorCode st = U_ZERO_ERROR;
    int32_t idlen = 0;
    u_strFromUTF8(id, TZ_NAME_MAX, &idlen, iana_name, (int32_t)n, &st);
    UBool is_system = 0;
    if (U_SUCCESS(st))
        ucal_getCanonicalTimeZoneID(id, idlen, canon, TZ_NAME_MAX, &is_system, &st);
    if (U_FAILURE(st) || !is_system)
        return hf_err_set(err, HF_ENOTFOUND, "unknown time zone '%s' (an IANA name is needed)",
                          iana_name);

    hf_tz *tz = malloc(sizeof *tz);
    if (tz == NULL)
        return hf_err_set(err, HF_ENOMEM, "out of memory opening time zone");
    tz->name = strdup(iana_name);
    st = U_ZERO_ERROR;
    tz->cal = ucal_open(id, idlen, "", UCAL_GREGORIAN, &st);
    if (tz->name == NULL || U_FAILURE(st) || tz->cal == NULL) {
        hf_status rc = tz->name == NULL ? HF_ENOMEM : HF_EFATAL;
        hf_tz_close(tz);
        return hf_err_set(err, rc, "cannot open time zone '%s': %s", iana_name, u_errorName(st));
    }
    for (size_t i = 0; i < TZ_CACHE_SIZE; i++)
        tz->cache[i].hour = EMPTY_HOUR;
    *out = tz;
    return HF_OK;
}

void hf_tz_close(hf_tz *tz) {
    if (tz == NULL)
        return;
    if (tz->cal)
        ucal_close(tz->cal);
    free(tz->name);
    free(tz);
}

const char *hf_tz_name(const hf_tz *tz) { return tz->name; }

int64_t hf_tz_to_utc_us_uncached(hf_tz *tz, int64_t wall_us) {
    int64_t off_ms = offset_ms_at(tz, floor_div(wall_us, US_PER_MS));
    return sub_saturating(wall_us, off_ms * US_PER_MS);
}

int64_t hf_tz_to_utc_us(hf_tz *tz, int64_t wall_us) {
    int64_t hour = floor_div(wall_us, US_PER_HOUR);
    tz_slot *s = &tz->cache[slot_of(hour)];
    if (s->hour == hour)
        return sub_saturating(wall_us, s->off_us);

    int64_t start_ms = hour * MS_PER_HOUR;
    int64_t off_start = offset_ms_at(tz, start_ms);
    int64_t off_end = offset_ms_at(tz, start_ms + MS_PER_HOUR - 1);
    if (off_start != off_end) /* a transition inside this hour: exact, never cached */
        return hf_tz_to_utc_us_uncached(tz, wall_us);
    s->hour = hour;
    s->off_us = off_start * US_PER_MS;
    return sub_saturating(wall_us, s->off_us);
}

const char *hf_tz_data_version(void) {
    UErrorCode st = U_ZERO_ERROR;
    const char *v = ucal_getTZDataVersion(&st);
    return (U_FAILURE(st) || v == NULL) ? "unknown" : v;
}
