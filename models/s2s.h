/* What the two sequence-to-sequence kinds (s2s-rnn in models/s2s_rnn.h,
 * s2s-transformer in models/s2s_transformer.h) share: a padded batch of
 * sentence pairs, and the per-step input policy of their training loss.
 *
 * A pair is a source x_1..x_m (the data module appends eos: x_m = eos) and a
 * target y_1..y_n. The decoder reads bos y_1 .. y_n and predicts
 * y_1 .. y_n eos (teacher forcing), so tgt_in and tgt_out have n + 1
 * positions. Rows are padded on the right to S and T; padded source
 * positions are masked out of every attention (key padding) and of the
 * recurrent encoder (as pack_padded_sequence), padded targets are ignored
 * by the loss (tgt_out = -1), so a pair gives the same loss padded or not.
 *
 * Decoding: set the sources with the model's set_source (B sources, encoded
 * once without gradient), then start(rows) with rows a multiple of B: row r
 * decodes source r / (rows / B) (B prompts x k beams, in that order, as
 * decode/beam.c starts them). reorder gathers rows (and the row -> source
 * map), so a row never needs its source copied. */
#ifndef SEQC_MODELS_S2S_H
#define SEQC_MODELS_S2S_H

#include <stddef.h>
#include <stdint.h>

#include "seq/error.h"

typedef struct seqc_s2s_batch {
	size_t B, S, T;
	const int32_t *src;     /* [B, S] ids; positions >= src_lens[b] are padding (any id in range) */
	const size_t *src_lens; /* [B], each 1..S */
	const int32_t *tgt_in;  /* [B, T] decoder inputs (bos first); padding: any id in range */
	const int32_t *tgt_out; /* [B, T] targets; -1 = ignored (padding) */
} seqc_s2s_batch;

/* Scheduled sampling for step-by-step (recurrent) decoders: called before
 * decoder step t >= 1 with the logits [B, V] of step t - 1 (row-major) and
 * the teacher-forced inputs truth [B] of step t; writes the inputs to use
 * into chosen [B] (truth for teacher forcing). Negative return: the loss
 * fails with that code. */
typedef int (*seqc_s2s_input_fn)(void *ctx, size_t t, size_t B, size_t V, const float *logits,
				 const int32_t *truth, int32_t *chosen);

/* Checks a batch against vocabularies (source V_src, target V_tgt): sizes
 * > 0, lengths in range, ids in range, at least one target not ignored.
 * SEQC_EINVAL naming the row and position otherwise. */
SEQC_API int seqc_s2s_batch_check(const seqc_s2s_batch *b, size_t V_src, size_t V_tgt);

#endif
