/* Multi-head attention as torch.nn.MultiheadAttention (batch_first=True,
 * bias=True, kdim = vdim = embed_dim), on the fused op seqc_attention.
 *
 * Parameters, with PyTorch's names after a prefix ("self_attn." in a layer):
 *   in_proj_weight [3E, E]  rows [0, E) project queries, [E, 2E) keys, [2E, 3E) values
 *   in_proj_bias [3E]
 *   out_proj.weight [E, E], out_proj.bias [E]
 * Init as torch 1.13's _reset_parameters: xavier_uniform_ on in_proj_weight,
 * out_proj.weight as nn.Linear (kaiming_uniform_ a = sqrt(5), i.e.
 * U(-1/sqrt(E), 1/sqrt(E))), both biases zero.
 *
 * Forward: self-attention (query, key and value the same tensor) is one GEMM
 * for q, k and v together; cross-attention (key and value the same tensor,
 * e.g. the encoder's output) one GEMM for q and one for k and v; otherwise
 * three. The projections feed the op as column views, without copies. */
#ifndef SEQC_MODELS_ATTENTION_H
#define SEQC_MODELS_ATTENTION_H

#include "seq/ops.h"
#include "seq/params.h"

/* The masks of one attention call; a NULL seqc_tmask means none. */
typedef struct seqc_tmask {
	const uint8_t *key_pad; /* [B, Tk], nonzero = key ignored (key_padding_mask True), or NULL */
	const float *mask;      /* additive [Tq, Tk] (float attn_mask), or NULL */
	bool causal;            /* query i sees keys j <= i + (Tk - Tq) */
} seqc_tmask;

typedef struct seqc_mha {
	size_t embed;   /* E */
	size_t heads;   /* E = heads * head_dim */
	float dropout;  /* on the attention weights, in training mode */
	seqc_tensor *in_proj_weight;  /* [3E, E] */
	seqc_tensor *in_proj_bias;    /* [3E] */
	seqc_tensor *out_proj_weight; /* [E, E] */
	seqc_tensor *out_proj_bias;   /* [E] */
} seqc_mha;

/* Declare the four parameters as "<prefix>in_proj_weight" and so on.
 * embed and heads > 0, heads divides embed, dropout in [0, 1). */
SEQC_API int seqc_mha_declare(seqc_mha *m, size_t embed, size_t heads, float dropout,
			      seqc_params *p, const char *prefix);

/* query [B, Tq, E], key and value [B, Tk, E] -> [B, Tq, E]. masks may be
 * NULL. rng: dropout draws (needed only for dropout > 0 in training mode).
 * weights: when not NULL, filled with the attention weights averaged over
 * heads [B, Tq, Tk] (need_weights=True, average_attn_weights=True), taken
 * before dropout (PyTorch returns them after; the same in evaluation). */
SEQC_API seqc_tensor *seqc_mha_forward(seqc_graph *g, const seqc_mha *m, seqc_tensor *query,
				       seqc_tensor *key, seqc_tensor *value, const seqc_tmask *masks,
				       seqc_rng *rng, float *weights);

/* Rows [r0, r0 + n) of a parameter [R, C] (or elements of a [R] vector) as
 * a tensor sharing its values and gradient, made in g's arena: gradients of
 * ops on the view land in the parameter. NULL when w is NULL, the rows are
 * not within w (SEQC_ESHAPE) or the arena is exhausted. */
SEQC_API seqc_tensor *seqc_rows_view(seqc_graph *g, seqc_tensor *w, size_t r0, size_t n);

#endif
