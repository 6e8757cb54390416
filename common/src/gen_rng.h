/* gen_rng.h - the generator's own pseudo-random numbers (internal).
 *
 * xoshiro256** (Blackman and Vigna's public-domain design) seeded through
 * splitmix64. Chosen over rand() because the output must be identical on
 * every libc and platform, and because it is a few cycles per draw. Only
 * integer arithmetic, so nothing depends on floating-point rounding.
 */
#ifndef HF_GEN_RNG_H
#define HF_GEN_RNG_H

#include <stdint.h>

typedef struct gen_rng {
    uint64_t s[4]; /* state; never all zero once seeded */
} gen_rng;

/* One splitmix64 step: advances *x and returns a well-mixed value. Also the
 * hash used to derive independent seeds from (seed, index) pairs. */
static inline uint64_t gen_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Mixes two words into one seed (for per-patient and per-message streams). */
static inline uint64_t gen_mix(uint64_t a, uint64_t b) {
    uint64_t x = a ^ (b * 0xd1b54a32d192ed03ULL);
    gen_splitmix64(&x);
    return gen_splitmix64(&x);
}

static inline void gen_rng_seed(gen_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = gen_splitmix64(&x);
}

static inline uint64_t gen_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* Next 64 random bits (xoshiro256**). */
static inline uint64_t gen_rng_next(gen_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = gen_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = gen_rotl(s[3], 45);
    return result;
}

/* Uniform-enough integer in [0, n) for n >= 1 (multiply-shift on the top
 * 32 bits; the bias, below n / 2^32, does not matter for test traffic). */
static inline uint32_t gen_below(gen_rng *r, uint32_t n) {
    return (uint32_t)(((gen_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Integer in [lo, hi], lo <= hi. */
static inline uint32_t gen_range(gen_rng *r, uint32_t lo, uint32_t hi) {
    return lo + gen_below(r, hi - lo + 1);
}

/* True with probability per10k / 10000. */
static inline int gen_chance(gen_rng *r, uint32_t per10k) { return gen_below(r, 10000) < per10k; }

/* Picks a random element index of a static table. */
#define GEN_PICK(r, table) gen_below((r), (uint32_t)(sizeof(table) / sizeof((table)[0])))

#endif
