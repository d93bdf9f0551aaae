/* Scoring: the log-probability of every token of a sequence under a model.
 *
 * Sign conventions: log-probabilities are natural logs and <= 0; the
 * negative log-likelihood is nll = -logprob >= 0; perplexity is
 * exp(sum nll / tokens); bits per character is sum nll / ln 2 / characters. */
#ifndef SEQC_DECODE_SCORE_H
#define SEQC_DECODE_SCORE_H

#include "models/model.h"

/* logprobs[i] = log p(ids[i] | bos, ids[0..i)) for i < n: the sequence is
 * preceded by bos and every token is scored, the first from the state after
 * bos. Ids must be in [0, V). logprobs is caller storage [n].
 *
 * Recurrent models carry their state through the whole sequence. An
 * attention model (gpt) with a context of N positions scores a longer
 * sequence in windows of N that advance by N / 2: each token after the
 * first N is scored with at least N / 2 tokens before it (the sliding
 * window evaluation of Hugging Face's perplexity guide).
 *
 * Sequence-to-sequence models (s2s-rnn, s2s-transformer) score a target
 * given the source of the last seqc_model_set_source, which must hold
 * exactly one source, step by step (s2s-transformer: SEQC_ERANGE beyond
 * its max_len positions). */
SEQC_API int seqc_score(seqc_model *m, const int32_t *ids, size_t n, int32_t bos, float *logprobs);

#endif
