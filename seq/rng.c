#include "seq/rng.h"

#include <math.h>

void seqc_rng_seed(seqc_rng *rng, uint64_t seed, uint64_t stream)
{
	rng->state = 0;
	rng->inc = (stream << 1) | 1u;
	seqc_rng_u32(rng);
	rng->state += seed;
	seqc_rng_u32(rng);
}

uint32_t seqc_rng_u32(seqc_rng *rng)
{
	uint64_t old = rng->state;
	rng->state = old * 6364136223846793005ULL + rng->inc;
	uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
	uint32_t rot = (uint32_t)(old >> 59);
	return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

uint32_t seqc_rng_below(seqc_rng *rng, uint32_t n)
{
	/* n == 0 breaks the contract (n > 0) but must not divide by zero. */
	if (n <= 1)
		return 0;
	/* Reject the low values that would make some residues more likely. */
	uint32_t threshold = (uint32_t)(-n) % n;
	for (;;) {
		uint32_t r = seqc_rng_u32(rng);
		if (r >= threshold)
			return r % n;
	}
}

float seqc_rng_uniform(seqc_rng *rng)
{
	return (float)(seqc_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

float seqc_rng_normal(seqc_rng *rng)
{
	/* u1 in (0, 1] so that log never sees 0. */
	double u1 = ((double)(seqc_rng_u32(rng) >> 8) + 1.0) / 16777216.0;
	double u2 = (double)(seqc_rng_u32(rng) >> 8) / 16777216.0;
	return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}
