/* timeutil.h - monotonic and wall clocks in the units the code base uses. */
#ifndef HL7FLOW_TIMEUTIL_H
#define HL7FLOW_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

/* Monotonic clock in nanoseconds: for durations only. */
static inline int64_t hf_mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Monotonic clock in milliseconds. */
static inline int64_t hf_mono_ms(void) { return hf_mono_ns() / 1000000LL; }

/* Wall clock, microseconds since the Unix epoch: for timestamps that cross
 * processes (the ingest_ts header). */
static inline int64_t hf_wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

#endif
