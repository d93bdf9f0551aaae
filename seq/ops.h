/* Ops: each computes its output into the graph's arena at once and, when
 * gradients are on and an input has a gradient, records a hand-written
 * backward that accumulates (+=) into the inputs' gradients.
 *
 * Conventions for every op below:
 * - returns a new tensor in the graph, or NULL on failure with seqc_errmsg()
 *   set (shape mismatch: SEQC_ESHAPE; bad id: SEQC_ERANGE; bad scalar:
 *   SEQC_EINVAL);
 * - a NULL tensor argument makes the op return NULL and keep the message of
 *   the op that failed first, so a model can check once at the end;
 * - "rows" means all dimensions but the last flattened: x [.., C] is a
 *   [rows, C] matrix. */
#ifndef SEQC_SEQ_OPS_H
#define SEQC_SEQ_OPS_H

#include "seq/graph.h"
#include "seq/rng.h"

/* ---- matrix products (cblas_sgemm) ---- */

/* C = op(a) op(b), op = transpose when the flag is set.
 * 2-D: a [M, K] (ta: [K, M]), b [K, N] (tb: [N, K]) -> [M, N].
 * 3-D batched: a [B, M, K], b [B, K, N] (flags as above per batch) -> [B, M, N].
 * a of more than 2 dims with b 2-D and !ta: a is [rows, K] -> [.., N]. */
SEQC_API seqc_tensor *seqc_matmul(seqc_graph *g, seqc_tensor *a, seqc_tensor *b, bool ta,
				  bool tb);

/* y = x w^T + b, as torch.nn.functional.linear.
 * x [.., in], w [out, in], b [out] or NULL -> y [.., out]. */
SEQC_API seqc_tensor *seqc_linear(seqc_graph *g, seqc_tensor *x, seqc_tensor *w, seqc_tensor *b);

/* ---- elementwise ---- */

/* a (op) b where b has a's shape, or b is a row [C] (C = a's last dimension)
 * broadcast over a's rows, or b is a scalar [1]. Output has a's shape. */
SEQC_API seqc_tensor *seqc_add(seqc_graph *g, seqc_tensor *a, seqc_tensor *b);
SEQC_API seqc_tensor *seqc_sub(seqc_graph *g, seqc_tensor *a, seqc_tensor *b);
SEQC_API seqc_tensor *seqc_mul(seqc_graph *g, seqc_tensor *a, seqc_tensor *b);
/* y = s * x */
SEQC_API seqc_tensor *seqc_scale(seqc_graph *g, seqc_tensor *x, float s);

SEQC_API seqc_tensor *seqc_tanh(seqc_graph *g, seqc_tensor *x);
SEQC_API seqc_tensor *seqc_sigmoid(seqc_graph *g, seqc_tensor *x);
SEQC_API seqc_tensor *seqc_relu(seqc_graph *g, seqc_tensor *x);

typedef enum seqc_gelu_kind {
	SEQC_GELU_EXACT, /* x * Phi(x) with erf, torch's approximate='none' */
	SEQC_GELU_TANH,  /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), approximate='tanh' */
} seqc_gelu_kind;
SEQC_API seqc_tensor *seqc_gelu(seqc_graph *g, seqc_tensor *x, seqc_gelu_kind kind);

/* ---- normalizations over the last axis ---- */

SEQC_API seqc_tensor *seqc_softmax(seqc_graph *g, seqc_tensor *x);
SEQC_API seqc_tensor *seqc_log_softmax(seqc_graph *g, seqc_tensor *x);

typedef enum seqc_reduction {
	SEQC_REDUCE_MEAN, /* over the targets that are not ignore_index */
	SEQC_REDUCE_SUM,
} seqc_reduction;

typedef struct seqc_ce_opts {
	seqc_reduction reduction;
	int32_t ignore_index;  /* targets equal to it contribute nothing; -100 as torch */
	float label_smoothing; /* in [0, 1]: target = (1 - e) one-hot + e / V */
} seqc_ce_opts;

/* PyTorch's defaults: mean, ignore_index -100, no smoothing. */
SEQC_API seqc_ce_opts seqc_ce_defaults(void);

/* Softmax + cross-entropy fused, as torch.nn.functional.cross_entropy.
 * logits [.., V] with rows = targets->numel, targets ids in [0, V) or
 * ignore_index -> scalar [1]. With mean reduction and every target ignored
 * the loss is 0 (torch gives NaN). opts NULL = defaults. */
SEQC_API seqc_tensor *seqc_cross_entropy(seqc_graph *g, seqc_tensor *logits,
					 const seqc_ids *targets, const seqc_ce_opts *opts);

/* y = (x - mean) / sqrt(var + eps) * w + b over the last axis (biased
 * variance), as torch.nn.LayerNorm. x [.., C], w and b [C] or NULL (no
 * affine part; either may be NULL alone). eps > 0. */
SEQC_API seqc_tensor *seqc_layer_norm(seqc_graph *g, seqc_tensor *x, seqc_tensor *w,
				      seqc_tensor *b, float eps);

/* ---- embedding and dropout ---- */

/* Rows of table [V, C] gathered by ids [N] or [B, T] -> [N, C] or [B, T, C].
 * Every id must be in [0, V) (SEQC_ERANGE names the first bad one). Rows of
 * padding_idx (-1: none) get no gradient, as torch's padding_idx. */
SEQC_API seqc_tensor *seqc_embedding(seqc_graph *g, seqc_tensor *table, const seqc_ids *ids,
				     int32_t padding_idx);

/* Inverted dropout: each element is zeroed with probability p and the rest
 * scaled by 1 / (1 - p), with draws from rng. Identity (the same tensor) when
 * the graph is not in training mode or p == 0. p in [0, 1). */
SEQC_API seqc_tensor *seqc_dropout(seqc_graph *g, seqc_tensor *x, float p, seqc_rng *rng);

/* ---- views and shape ops ---- */

/* The same values and gradient under a new shape of the same numel (no copy,
 * no record: gradients flow through the shared buffer). */
SEQC_API seqc_tensor *seqc_reshape(seqc_graph *g, seqc_tensor *x, int ndim, const size_t *shape);

/* Swap the last two axes: x [.., M, N] -> [.., N, M] (a copy). */
SEQC_API seqc_tensor *seqc_transpose(seqc_graph *g, seqc_tensor *x);

/* Concatenate n tensors along axis (all other dimensions equal). */
SEQC_API seqc_tensor *seqc_concat(seqc_graph *g, seqc_tensor *const *xs, int n, int axis);

/* Elements [start, start + len) along axis. */
SEQC_API seqc_tensor *seqc_slice(seqc_graph *g, seqc_tensor *x, int axis, size_t start,
				 size_t len);

/* ---- attention ---- */

/* Columns [off, off + C) of a [B, T, W] tensor (W >= off + C): lets packed
 * projections (GPT's c_attn [B, T, 3C], MultiheadAttention's in_proj) feed
 * attention without copies; gradients accumulate into those columns. */
typedef struct seqc_cols {
	seqc_tensor *x;
	size_t off;
} seqc_cols;

typedef struct seqc_attn_opts {
	size_t heads;             /* C = heads * head_dim */
	bool causal;              /* query i sees keys j <= i + (Tk - Tq) */
	const uint8_t *key_pad;   /* [B, Tk], nonzero = key ignored (PyTorch key_padding_mask True); NULL: none */
	const float *mask;        /* additive [Tq, Tk] (0 or -INFINITY or any float, PyTorch float attn_mask); NULL: none */
	float dropout;            /* on the attention weights, training mode only */
	seqc_rng *rng;            /* dropout draws */
	float *weights;           /* when not NULL: filled with the softmax weights [B, heads, Tq, Tk] (before dropout) */
} seqc_attn_opts;

/* Multi-head scaled dot-product attention, one fused op:
 * out[b, i, h] = sum_j softmax_j(q_h . k_h / sqrt(head_dim) + masks) v_h, -> [B, Tq, C].
 * q columns of a [B, Tq, Wq] tensor, k and v of [B, Tk, Wk] / [B, Tk, Wv] tensors (they may be the same
 * tensor at different offsets). A query row whose keys are all masked gets zero output and zero weights
 * (PyTorch gives NaN there; documented difference). No T x T mask tensor is materialized for causal/padding. */
SEQC_API seqc_tensor *seqc_attention(seqc_graph *g, seqc_cols q, seqc_cols k, seqc_cols v, size_t C,
				     const seqc_attn_opts *o);

/* ---- reductions over all elements -> scalar [1] ---- */
SEQC_API seqc_tensor *seqc_sum(seqc_graph *g, seqc_tensor *x);
SEQC_API seqc_tensor *seqc_mean(seqc_graph *g, seqc_tensor *x);

#endif
