/* test_bf16.c - the bf16 conversions of src/wn_bf16.h (the CUDA backend's --precision bf16 and
 * its tests use them) against a reference written another way: the two bf16 neighbours of a
 * float by truncation, the nearer one by exact double arithmetic, a tie to the even mantissa,
 * overflow past the largest bf16 (its midpoint with 2^128) to infinity. Checked: every bf16 value
 * converts to float and back unchanged; every float whose low 16 bits are one of a set of
 * patterns (0, 1, the midpoint and its neighbours, all ones) for all 2^16 upper halves, and
 * 2^22 random floats, round as the reference does; NaNs stay NaN with their sign (quiet). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "wn_bf16.h"
#include "wn_rng.h"
#include "wn_test.h"

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The reference rounding of a finite or infinite (not NaN) float's bits u to bf16 bits. */
static uint16_t ref_round(uint32_t u) {
    const uint32_t lo = u & 0xffff0000u;                /* truncated toward zero */
    const float f = from_bits(u), a = from_bits(lo);
    if (isinf(f) || (u & 0xffffu) == 0) return (uint16_t)(lo >> 16);
    /* the next bf16 away from zero; past the largest finite bf16 that is infinity, whose
     * "value" for the midpoint test is 2^128 (IEEE's rule for rounding past the largest value) */
    const uint32_t hi = lo + 0x10000u;
    const double b = isinf(from_bits(hi)) ? copysign(ldexp(1.0, 128), f) : (double)from_bits(hi);
    const double da = fabs((double)f - a), db = fabs((double)f - b);
    if (da < db) return (uint16_t)(lo >> 16);
    if (db < da) return (uint16_t)(hi >> 16);
    return (uint16_t)(((lo >> 16) & 1u) ? hi >> 16 : lo >> 16); /* tie: the even one */
}

static int failures_shown = 0;
static void check_one(uint32_t u) {
    float f = from_bits(u);
    if (isnan(f)) {
        uint16_t h = wn_bf16_from_float(f);
        float back = wn_bf16_to_float(h);
        CHECK_MSG(isnan(back) && (h & 0x0040u) && (h >> 15) == (u >> 31),
                  "NaN 0x%08x -> bf16 0x%04x", (unsigned)u, (unsigned)h);
        return;
    }
    uint16_t got = wn_bf16_from_float(f), want = ref_round(u);
    if (got != want && failures_shown++ < 10)
        fprintf(stderr, "float 0x%08x (%.9g): bf16 0x%04x, reference 0x%04x\n", (unsigned)u,
                (double)f, (unsigned)got, (unsigned)want);
    CHECK(got == want);
}

int main(void) {
    /* every bf16 value survives the round trip (NaNs: stay NaN) */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = wn_bf16_to_float((uint16_t)h);
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        if (u != h << 16) bad++;
        if (!isnan(f) && wn_bf16_from_float(f) != h) bad++;
        if (isnan(f) && !isnan(wn_bf16_to_float(wn_bf16_from_float(f)))) bad++;
    }
    CHECK_MSG(bad == 0, "%d bf16 values do not round-trip", bad);

    /* the rounding against the reference */
    static const uint32_t LOW[] = {0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xc000, 0xffff};
    for (uint32_t h = 0; h < 0x10000u; h++)
        for (size_t i = 0; i < sizeof LOW / sizeof *LOW; i++) check_one(h << 16 | LOW[i]);
    wn_rng r;
    wn_rng_seed(&r, 2026, 12);
    for (int i = 0; i < (1 << 22); i++) check_one(wn_rng_u32(&r));

    /* named cases */
    CHECK(wn_bf16_round(1.0f + 1.0f / 256) == 1.0f);                    /* tie, down to even */
    CHECK(wn_bf16_round(1.0f + 3.0f / 256) == 1.0f + 2.0f / 128);       /* tie, up to even */
    CHECK(wn_bf16_round(1.0f + 3.0f / 512) == 1.0f + 1.0f / 128);       /* above the midpoint */
    CHECK(wn_bf16_round(-2.5f) == -2.5f);                               /* exact */
    CHECK(isinf(wn_bf16_round(3.4e38f)) && wn_bf16_round(-3.4e38f) < 0); /* overflow */
    CHECK(wn_bf16_round(3.389e38f) == from_bits(0x7f7f0000u));           /* largest finite */
    CHECK(isinf(wn_bf16_round(INFINITY)) && wn_bf16_round(-INFINITY) < 0);
    CHECK(wn_bf16_from_float(-0.0f) == 0x8000u);
    CHECK(wn_bf16_round(from_bits(0x00000001u)) == 0.0f);               /* tiny denormal */
    CHECK(wn_bf16_round(from_bits(0x00018000u)) == from_bits(0x00020000u)); /* denormal tie up */
    CHECK(wn_bf16_from_float(from_bits(0x7f800001u)) == 0x7fc0u);       /* signalling NaN: quiet */
    CHECK(wn_bf16_from_float(from_bits(0xff812345u)) == 0xffc1u);       /* sign and payload kept */
    return wn_test_done();
}
