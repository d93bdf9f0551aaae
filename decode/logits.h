/* Logits processors: small functions that change one row of logits [V]
 * given that row's history, before a token is chosen. Sampling
 * (decode/sample.h) and beam search use the same ones.
 *
 * Semantics follow Hugging Face transformers' processors of the same names.
 * The history of a row is its context: the prompt (without the start
 * token, which every row shares) followed by the tokens generated so far.
 * A banned token gets -INFINITY. In Hugging Face's order a decoder applies
 * repetition penalty, no-repeat n-gram and min length to the raw logits,
 * then temperature, top-k, top-p and min-p (seqc_sample). */
#ifndef SEQC_DECODE_LOGITS_H
#define SEQC_DECODE_LOGITS_H

#include <stddef.h>
#include <stdint.h>

#include "seq/error.h"

/* CTRL's repetition penalty (Keskar et al. 2019, as Hugging Face's
 * RepetitionPenaltyLogitsProcessor): for each distinct id of hist[0..n),
 * logits[id] /= penalty when it is > 0, else logits[id] *= penalty, so a
 * penalty > 1 makes every seen token less likely whatever its sign. A
 * token seen several times is penalized once. seen is caller scratch of V
 * bytes, all zero on entry and left all zero. SEQC_EINVAL for a penalty
 * that is not finite and > 0, SEQC_ERANGE for an id outside [0, V). */
SEQC_API int seqc_logits_repetition_penalty(float *logits, size_t V, const int32_t *hist, size_t n,
					    float penalty, uint8_t *seen);

/* No-repeat n-gram (NoRepeatNGramLogitsProcessor): bans every token that
 * would complete an n-gram (size ngram) already present in hist[0..n);
 * the candidate n-gram is the last ngram - 1 tokens of hist and the new
 * token. ngram 1 bans every token of hist; ngram 0 does nothing, and so
 * does a history shorter than ngram (no complete n-gram in it yet).
 * SEQC_ERANGE for an id outside [0, V). */
SEQC_API int seqc_logits_no_repeat_ngram(float *logits, size_t V, const int32_t *hist, size_t n,
					 size_t ngram);

/* Min length (MinNewTokensLengthLogitsProcessor): bans eos while fewer than
 * min_length tokens have been generated. A negative eos (none) does nothing;
 * SEQC_ERANGE for another eos outside [0, V). */
SEQC_API int seqc_logits_min_length(float *logits, size_t V, size_t generated, size_t min_length,
				    int32_t eos);

#endif
