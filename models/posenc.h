/* Positional encodings.
 *
 * Sinusoidal (Vaswani et al. 2017), for position p and column c of d:
 *   PE(p, 2i) = sin(p / 10000^(2i / d)),  PE(p, 2i + 1) = cos(p / 10000^(2i / d));
 * an odd d ends with a sin column. Added to an embedding scaled by sqrt(d) (the
 * paper's "multiply the embedding weights by sqrt(d_model)") or unscaled.
 *
 * Learned position embeddings need nothing here: a parameter [max_T, C]
 * ("wpe.weight" in GPT) gathered by seqc_embedding with ids 0..T-1
 * (seqc_positions fills them). */
#ifndef SEQC_MODELS_POSENC_H
#define SEQC_MODELS_POSENC_H

#include "seq/ops.h"

/* Fill out [T, d] with the sinusoid table for positions p0 .. p0 + T - 1
 * (computed in double). T, d > 0. */
SEQC_API void seqc_sinusoid_table(float *out, size_t p0, size_t T, size_t d);

/* y = x * s + PE[p0 + t] for x [B, T, d] or [T, d], s = sqrt(d) when scale
 * else 1; the gradient flows to x (dx += s dy). The table is not kept: it is
 * computed into the output, so no [T, d] tensor is made. */
SEQC_API seqc_tensor *seqc_posenc_add(seqc_graph *g, seqc_tensor *x, size_t p0, bool scale);

/* ids[b * T + t] = p0 + t for b < B: the positions of learned embeddings.
 * SEQC_ERANGE when p0 + T exceeds INT32_MAX. */
SEQC_API int seqc_positions(int32_t *ids, size_t B, size_t T, size_t p0);

#endif
