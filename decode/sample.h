/* Sampling the next token from logits: temperature (0 = argmax), top-k,
 * top-p (nucleus) and min-p filtering, from a seeded generator held in the
 * sampler so that a seed reproduces a sample exactly; and, through
 * seqc_sample_next, the logits processors of decode/logits.h that need the
 * row's history (repetition penalty, no-repeat n-gram, min length).
 *
 * The order is Hugging Face's: repetition penalty, no-repeat n-gram, min
 * length on the raw logits, then temperature, top-k, top-p, min-p, draw. */
#ifndef SEQC_DECODE_SAMPLE_H
#define SEQC_DECODE_SAMPLE_H

#include "decode/logits.h"
#include "seq/rng.h"
#include "seq/tensor.h"

typedef struct seqc_sampler_config {
	float temperature; /* >= 0; 0 picks the argmax (the first on ties) */
	size_t top_k;      /* keep the k most likely tokens; 0 = all */
	float top_p;       /* keep the smallest set whose probability reaches p; 1 = all
			      (after top-k: of the k tokens' renormalized probabilities) */
	float min_p;       /* in [0, 1]: keep tokens whose probability (after temperature)
			      is >= min_p times the largest one; 0 = all */
	float repetition_penalty; /* > 0; 1 = none (see seqc_logits_repetition_penalty) */
	size_t no_repeat_ngram;   /* ban repeating an n-gram of this size; 0 = none */
	size_t min_length; /* eos banned before this many tokens are generated */
	size_t max_length; /* the most tokens a row generates (seqc_generate); 0 = no
			      limit for the sampler, refused by seqc_generate */
} seqc_sampler_config;

typedef struct seqc_sampler {
	seqc_sampler_config c;
	seqc_rng rng;
	size_t cap;       /* vocabulary size the scratch holds */
	float *probs;     /* [cap] */
	int32_t *order;   /* [cap] token ids sorted by probability */
	uint8_t *seen;    /* [cap] zeros: the repetition penalty's scratch */
} seqc_sampler;

/* temperature 1, no top-k, top-p 1, min-p 0, repetition penalty 1, no
 * n-gram ban, min length 0, max length 0 (no limit). A config must start
 * from these: a zero repetition penalty is refused. */
SEQC_API seqc_sampler_config seqc_sampler_defaults(void);

/* Validates the config: temperature finite and >= 0, top_p in (0, 1],
 * min_p in [0, 1], repetition_penalty finite and > 0, min_length <=
 * max_length when max_length is not 0. SEQC_EINVAL names the option. */
SEQC_API int seqc_sampler_init(seqc_sampler *s, const seqc_sampler_config *c, uint64_t seed);
SEQC_API void seqc_sampler_free(seqc_sampler *s); /* accepts NULL and a freed one */

/* A token drawn from logits [V]. Negative code on failure: allocation, V of
 * 0, SEQC_ENONFINITE for a NaN logit, a +inf one, or -inf everywhere
 * (whatever the temperature). */
SEQC_API int32_t seqc_sample(seqc_sampler *s, const float *logits, size_t V);

/* The next token of a row whose history (the prompt after the start token,
 * then what the row generated) is hist[0..n), of which the last generated
 * were generated: the processors of the config change logits [V] in place,
 * then seqc_sample draws. eos is the token min_length bans (-1: none). The
 * processors' errors (an id outside [0, V)) and seqc_sample's. */
SEQC_API int32_t seqc_sample_next(seqc_sampler *s, float *logits, size_t V, const int32_t *hist,
				  size_t n, size_t generated, int32_t eos);

#endif
