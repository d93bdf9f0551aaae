#include "decode/logits.h"

#include <math.h>
#include <string.h>

static int check_ids(const char *what, const int32_t *hist, size_t n, size_t V)
{
	for (size_t i = 0; i < n; i++)
		if (hist[i] < 0 || (size_t)hist[i] >= V)
			return seqc_error(SEQC_ERANGE, "%s: history id %d at %zu is outside [0, %zu)", what,
					  hist[i], i, V);
	return 0;
}

int seqc_logits_repetition_penalty(float *logits, size_t V, const int32_t *hist, size_t n,
				   float penalty, uint8_t *seen)
{
	if (!(penalty > 0.0f) || !isfinite(penalty))
		return seqc_error(SEQC_EINVAL, "repetition penalty: %g must be finite and > 0",
				  (double)penalty);
	int rc = check_ids("repetition penalty", hist, n, V);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		int32_t id = hist[i];
		if (seen[id])
			continue;
		seen[id] = 1;
		/* dividing a positive logit and multiplying a negative one
		 * both lower it for a penalty > 1 */
		logits[id] = logits[id] > 0.0f ? logits[id] / penalty : logits[id] * penalty;
	}
	for (size_t i = 0; i < n; i++)
		seen[hist[i]] = 0;
	return 0;
}

int seqc_logits_no_repeat_ngram(float *logits, size_t V, const int32_t *hist, size_t n, size_t ngram)
{
	if (!ngram || n < ngram)
		return 0;
	int rc = check_ids("no-repeat n-gram", hist, n, V);
	if (rc < 0)
		return rc;
	/* the n-gram starting at i is hist[i .. i + ngram); it bans its last
	 * token when its first ngram - 1 equal the history's last ngram - 1 */
	const int32_t *tail = hist + n - (ngram - 1);
	size_t prefix = (ngram - 1) * sizeof *hist;
	for (size_t i = 0; i + ngram <= n; i++)
		if (!memcmp(hist + i, tail, prefix))
			logits[hist[i + ngram - 1]] = -INFINITY;
	return 0;
}

int seqc_logits_min_length(float *logits, size_t V, size_t generated, size_t min_length, int32_t eos)
{
	if (eos < 0)
		return 0;
	if ((size_t)eos >= V)
		return seqc_error(SEQC_ERANGE, "min length: eos %d is outside [0, %zu)", eos, V);
	if (generated < min_length)
		logits[eos] = -INFINITY;
	return 0;
}
