/* Sampling the next token from logits: temperature (0 = argmax), top-k and
 * top-p (nucleus) filtering, from a seeded generator held in the sampler so
 * that a seed reproduces a sample exactly. */
#ifndef SEQC_DECODE_SAMPLE_H
#define SEQC_DECODE_SAMPLE_H

#include "seq/rng.h"
#include "seq/tensor.h"

typedef struct seqc_sampler_config {
	float temperature; /* >= 0; 0 picks the argmax (the first on ties) */
	size_t top_k;      /* keep the k most likely tokens; 0 = all */
	float top_p;       /* keep the smallest set whose probability reaches p; 1 = all
			      (after top-k: of the k tokens' renormalized probabilities) */
} seqc_sampler_config;

typedef struct seqc_sampler {
	seqc_sampler_config c;
	seqc_rng rng;
	size_t cap;       /* vocabulary size the scratch holds */
	float *probs;     /* [cap] */
	int32_t *order;   /* [cap] token ids sorted by probability */
} seqc_sampler;

/* temperature 1, no top-k, top-p 1. */
SEQC_API seqc_sampler_config seqc_sampler_defaults(void);

/* Validates the config (temperature finite >= 0, top_p in (0, 1]). */
SEQC_API int seqc_sampler_init(seqc_sampler *s, const seqc_sampler_config *c, uint64_t seed);
SEQC_API void seqc_sampler_free(seqc_sampler *s);

/* A token drawn from logits [V]. Negative code on failure: allocation, V of
 * 0, SEQC_ENONFINITE for a NaN logit, a +inf one, or -inf everywhere
 * (whatever the temperature). */
SEQC_API int32_t seqc_sample(seqc_sampler *s, const float *logits, size_t V);

#endif
