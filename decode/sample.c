#include "decode/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

seqc_sampler_config seqc_sampler_defaults(void)
{
	return (seqc_sampler_config){ .temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
				      .repetition_penalty = 1.0f };
}

int seqc_sampler_init(seqc_sampler *s, const seqc_sampler_config *c, uint64_t seed)
{
	memset(s, 0, sizeof *s);
	if (!(c->temperature >= 0.0f) || !isfinite(c->temperature))
		return seqc_error(SEQC_EINVAL, "sampler: temperature %g must be finite and >= 0",
				  (double)c->temperature);
	if (!(c->top_p > 0.0f && c->top_p <= 1.0f))
		return seqc_error(SEQC_EINVAL, "sampler: top-p %g is outside (0, 1]", (double)c->top_p);
	if (!(c->min_p >= 0.0f && c->min_p <= 1.0f))
		return seqc_error(SEQC_EINVAL, "sampler: min-p %g is outside [0, 1]", (double)c->min_p);
	if (!(c->repetition_penalty > 0.0f) || !isfinite(c->repetition_penalty))
		return seqc_error(SEQC_EINVAL, "sampler: repetition penalty %g must be finite and > 0",
				  (double)c->repetition_penalty);
	if (c->max_length && c->min_length > c->max_length)
		return seqc_error(SEQC_EINVAL, "sampler: min length %zu is above max length %zu",
				  c->min_length, c->max_length);
	s->c = *c;
	seqc_rng_seed(&s->rng, seed, SEQC_STREAM_SAMPLE);
	return 0;
}

void seqc_sampler_free(seqc_sampler *s)
{
	if (!s)
		return;
	free(s->probs);
	free(s->order);
	free(s->seen);
	memset(s, 0, sizeof *s);
}

static int32_t argmax(const float *x, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return (int32_t)best;
}

/* Scratch for V tokens (seen stays all zero). */
static int reserve(seqc_sampler *s, size_t V)
{
	if (V <= s->cap)
		return 0;
	float *p = realloc(s->probs, V * sizeof *p);
	if (p)
		s->probs = p;
	int32_t *o = p ? realloc(s->order, V * sizeof *o) : NULL;
	if (o)
		s->order = o;
	uint8_t *seen = o ? calloc(V, 1) : NULL;
	if (!seen)
		return seqc_error(SEQC_ENOMEM, "sampler: cannot allocate for %zu tokens", V);
	free(s->seen);
	s->seen = seen;
	s->cap = V;
	return 0;
}

/* Sort order[0..n) by probs descending (ties: lower id first). */
static _Thread_local const float *sort_probs;
static int by_prob(const void *a, const void *b)
{
	int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
	if (sort_probs[i] != sort_probs[j])
		return sort_probs[i] > sort_probs[j] ? -1 : 1;
	return i < j ? -1 : i > j;
}

int32_t seqc_sample(seqc_sampler *s, const float *logits, size_t V)
{
	if (!V)
		return seqc_error(SEQC_EINVAL, "sampler: empty vocabulary");
	/* a NaN would be skipped by the argmax's comparisons and poison the
	 * softmax's sum: refuse it, whatever the temperature */
	for (size_t i = 0; i < V; i++)
		if (isnan(logits[i]))
			return seqc_error(SEQC_ENONFINITE, "sampler: logit %zu of %zu is NaN", i, V);
	int32_t best = argmax(logits, V);
	if (!isfinite(logits[best]))
		return seqc_error(SEQC_ENONFINITE, "sampler: the largest logit is %g", (double)logits[best]);
	if (s->c.temperature == 0.0f)
		return best;
	if (reserve(s, V) < 0)
		return SEQC_ENOMEM;
	/* softmax(logits / T), dividing: 1 / T overflows for a tiny T, and
	 * 0 * inf would make the argmax's own term NaN */
	float max = logits[best], temp = s->c.temperature;
	double sum = 0;
	for (size_t i = 0; i < V; i++) {
		s->probs[i] = expf((logits[i] - max) / temp);
		sum += s->probs[i];
	}
	size_t keep = V;
	bool filter = (s->c.top_k && s->c.top_k < V) || s->c.top_p < 1.0f || s->c.min_p > 0.0f;
	if (filter) {
		for (size_t i = 0; i < V; i++)
			s->order[i] = (int32_t)i;
		/* qsort with a file-scope pointer: a sampler is used by one
		 * thread at a time, but two samplers in two threads would race,
		 * so sort_probs is thread-local */
		sort_probs = s->probs;
		qsort(s->order, V, sizeof *s->order, by_prob);
		if (s->c.top_k && s->c.top_k < keep)
			keep = s->c.top_k;
		if (s->c.top_p < 1.0f) {
			/* top-p of the distribution left by top-k, renormalized (as
			 * Hugging Face's top-k then top-p warpers) */
			double kept = 0, cum = 0;
			for (size_t i = 0; i < keep; i++)
				kept += s->probs[s->order[i]];
			for (size_t i = 0; i < keep; i++) {
				cum += s->probs[s->order[i]] / kept;
				if (cum >= s->c.top_p) {
					keep = i + 1;
					break;
				}
			}
		}
		/* min-p: probs are exp((l - max) / T), so the largest is 1 and
		 * the threshold min_p * p_max is min_p itself; order is sorted,
		 * so the kept tokens are a prefix, never empty */
		while (keep > 1 && s->probs[s->order[keep - 1]] < s->c.min_p)
			keep--;
		sum = 0;
		for (size_t i = 0; i < keep; i++)
			sum += s->probs[s->order[i]];
	}
	double u = (double)seqc_rng_uniform(&s->rng) * sum, cum = 0;
	int32_t last = best;
	for (size_t i = 0; i < keep; i++) {
		int32_t id = filter ? s->order[i] : (int32_t)i;
		if (s->probs[id] == 0.0f)
			continue;
		cum += s->probs[id];
		last = id;
		if (u < cum)
			return id;
	}
	/* rounding left u at the very top: the last kept token that can be
	 * drawn (never a banned one, whose probability is 0) */
	return last;
}

int32_t seqc_sample_next(seqc_sampler *s, float *logits, size_t V, const int32_t *hist, size_t n,
			 size_t generated, int32_t eos)
{
	int rc;
	if (s->c.repetition_penalty != 1.0f) {
		if (reserve(s, V) < 0)
			return SEQC_ENOMEM;
		rc = seqc_logits_repetition_penalty(logits, V, hist, n, s->c.repetition_penalty, s->seen);
		if (rc < 0)
			return rc;
	}
	if ((rc = seqc_logits_no_repeat_ngram(logits, V, hist, n, s->c.no_repeat_ngram)) < 0 ||
	    (rc = seqc_logits_min_length(logits, V, generated, s->c.min_length, eos)) < 0)
		return rc;
	return seqc_sample(s, logits, V);
}
