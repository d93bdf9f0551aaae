/* A small seeded random number generator (PCG32: 64-bit LCG state with a
 * permuted 32-bit output). The state is a plain struct: copy it to save it,
 * so a run resumed from a checkpoint draws the same numbers.
 *
 * One generator per purpose (init, dropout, sampling, data), each its own
 * stream of the same seed, so that e.g. turning dropout on does not change
 * the initial weights. */
#ifndef SEQC_SEQ_RNG_H
#define SEQC_SEQ_RNG_H

#include <stdint.h>

#include "seq/error.h"

typedef struct seqc_rng {
	uint64_t state;
	uint64_t inc; /* stream selector, always odd */
} seqc_rng;

/* Purposes, used as stream numbers. */
enum {
	SEQC_STREAM_INIT = 1,
	SEQC_STREAM_DROPOUT = 2,
	SEQC_STREAM_SAMPLE = 3,
	SEQC_STREAM_DATA = 4,
	/* scheduled sampling's mixing draws (train/scheduled.h): their own
	 * stream, so that turning it on changes neither dropout nor data */
	SEQC_STREAM_SCHEDULED = 5,
};

SEQC_API void seqc_rng_seed(seqc_rng *rng, uint64_t seed, uint64_t stream);
SEQC_API uint32_t seqc_rng_u32(seqc_rng *rng);
/* Uniform in [0, n) without modulo bias; n > 0. */
SEQC_API uint32_t seqc_rng_below(seqc_rng *rng, uint32_t n);
/* Uniform float in [0, 1), 24 random bits. */
SEQC_API float seqc_rng_uniform(seqc_rng *rng);
/* Standard normal (Box-Muller, two draws per call). */
SEQC_API float seqc_rng_normal(seqc_rng *rng);

#endif
