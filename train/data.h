/* Language-model data: a token stream split into B contiguous streams, read
 * in chunks so that the hidden state can carry from one chunk to the next
 * (as PyTorch's word_language_model batchify/get_batch and char-rnn). */
#ifndef SEQC_TRAIN_DATA_H
#define SEQC_TRAIN_DATA_H

#include "seq/rng.h"
#include "seq/tensor.h"

typedef struct seqc_lm_streams {
	int32_t *ids;   /* [B, len]: stream b is ids + b * len; each begins with bos */
	size_t streams; /* B */
	size_t len;     /* tokens per stream, bos included */
} seqc_lm_streams;

/* Split tokens [n] into B contiguous streams of floor(n / B) tokens each,
 * every stream preceded by bos (so a stream has floor(n / B) + 1 tokens);
 * the tail that does not divide evenly is dropped. SEQC_EINVAL when a
 * stream would have fewer than 2 tokens (the message gives the sizes). */
SEQC_API int seqc_lm_streams_init(seqc_lm_streams *s, const int32_t *tokens, size_t n, size_t B,
				  int32_t bos);
SEQC_API void seqc_lm_streams_free(seqc_lm_streams *s); /* accepts NULL and a freed one */

/* A window of positions [start, start + T) of every stream: inputs [B, T]
 * are ids at start + t, targets [B, T] the ids at start + t + 1; positions
 * before `first_target` (absolute) get target -1 (ignored: a truncated-BPTT
 * burn-in that is backpropagated through but already scored); positions
 * past the end of the streams get input 0 and target -1. Both arrays are
 * caller storage of B * T ids. Returns the number of scored targets. */
SEQC_API size_t seqc_lm_window(const seqc_lm_streams *s, size_t start, size_t T, size_t first_target,
			       int32_t *inputs, int32_t *targets);

/* B windows of T positions at random places (uniform over every stream
 * and start), as nanoGPT's get_batch draws them, for models that see each
 * window afresh: inputs [B, T] the ids from the start, targets the ids one
 * further; where a stream ends first, input 0 and target -1. Draws from
 * rng; returns the number of scored targets. */
SEQC_API size_t seqc_lm_random_windows(const seqc_lm_streams *s, seqc_rng *rng, size_t T,
				       int32_t *inputs, int32_t *targets);

/* Number of predicted positions per stream (len - 1). */
SEQC_API size_t seqc_lm_positions(const seqc_lm_streams *s);

/* The nanoGPT split: the first `fraction` of tokens for training, the rest
 * for validation (fraction in (0, 1); 0.9 by default in the CLI). Returns the
 * index of the first validation token; SEQC_EINVAL (as a negative value
 * through *split = 0 and the return) when either part would be empty. */
SEQC_API int seqc_lm_split(size_t n, double fraction, size_t *split);

#endif
