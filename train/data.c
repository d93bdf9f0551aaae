#include "train/data.h"

#include <stdlib.h>
#include <string.h>

int seqc_lm_streams_init(seqc_lm_streams *s, const int32_t *tokens, size_t n, size_t B, int32_t bos)
{
	memset(s, 0, sizeof *s);
	if (!B || n / B < 1)
		return seqc_error(SEQC_EINVAL,
				  "data: %zu tokens cannot make %zu streams of at least 1 token each", n, B);
	size_t per = n / B, len = per + 1;
	if (len > SIZE_MAX / sizeof(int32_t) / B)
		return seqc_error(SEQC_ENOMEM, "data: %zu streams of %zu tokens", B, len);
	s->ids = malloc(B * len * sizeof(int32_t));
	if (!s->ids)
		return seqc_error(SEQC_ENOMEM, "data: cannot allocate %zu tokens", B * len);
	for (size_t b = 0; b < B; b++) {
		s->ids[b * len] = bos;
		memcpy(s->ids + b * len + 1, tokens + b * per, per * sizeof(int32_t));
	}
	s->streams = B;
	s->len = len;
	return 0;
}

void seqc_lm_streams_free(seqc_lm_streams *s)
{
	if (!s)
		return;
	free(s->ids);
	memset(s, 0, sizeof *s);
}

size_t seqc_lm_positions(const seqc_lm_streams *s)
{
	return s->len - 1;
}

size_t seqc_lm_window(const seqc_lm_streams *s, size_t start, size_t T, size_t first_target,
		      int32_t *inputs, int32_t *targets)
{
	size_t scored = 0;
	for (size_t b = 0; b < s->streams; b++) {
		const int32_t *st = s->ids + b * s->len;
		for (size_t t = 0; t < T; t++) {
			size_t pos = start + t;
			bool inside = pos + 1 < s->len;
			inputs[b * T + t] = inside ? st[pos] : 0;
			bool scoring = inside && pos >= first_target;
			targets[b * T + t] = scoring ? st[pos + 1] : -1;
			scored += scoring;
		}
	}
	return scored;
}

size_t seqc_lm_random_windows(const seqc_lm_streams *s, seqc_rng *rng, size_t T, int32_t *inputs,
			      int32_t *targets)
{
	/* windows lie inside one stream; a stream shorter than T + 1 gives a
	 * shorter window, the rest ignored */
	size_t starts = s->len > T ? s->len - T : 1, scored = 0;
	for (size_t b = 0; b < s->streams; b++) {
		uint64_t r = ((uint64_t)seqc_rng_u32(rng) << 32) | seqc_rng_u32(rng);
		size_t at = (size_t)(r % (s->streams * starts));
		const int32_t *st = s->ids + (at / starts) * s->len + at % starts;
		size_t n = s->len - at % starts - 1; /* targets left in the stream */
		for (size_t t = 0; t < T; t++) {
			inputs[b * T + t] = t < n ? st[t] : 0;
			targets[b * T + t] = t < n ? st[t + 1] : -1;
			scored += t < n;
		}
	}
	return scored;
}

int seqc_lm_split(size_t n, double fraction, size_t *split)
{
	*split = 0;
	if (!(fraction > 0.0 && fraction < 1.0))
		return seqc_error(SEQC_EINVAL, "data: split fraction %g is outside (0, 1)", fraction);
	size_t k = (size_t)((double)n * fraction);
	if (k == 0 || k >= n)
		return seqc_error(SEQC_EINVAL,
				  "data: %zu tokens are too few to split %g / %g into training and "
				  "validation",
				  n, fraction, 1.0 - fraction);
	*split = k;
	return 0;
}
