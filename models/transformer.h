/* Transformer encoder and decoder layers as torch.nn.TransformerEncoderLayer
 * and nn.TransformerDecoderLayer (batch_first=True), in names, init and
 * results.
 *
 * Encoder layer, x [B, T, d]:
 *   post-norm: x = norm1(x + sa(x));        x = norm2(x + ff(x))
 *   pre-norm:  x = x + sa(norm1(x));        x = x + ff(norm2(x))
 * Decoder layer, x [B, T, d] and memory [B, S, d] (the encoder's output):
 *   post-norm: x = norm1(x + sa(x)); x = norm2(x + mha(x, memory)); x = norm3(x + ff(x))
 *   pre-norm:  x = x + sa(norm1(x)); x = x + mha(norm2(x), memory); x = x + ff(norm3(x))
 * with sa = dropout1(self_attn(x, x, x)), mha = dropout2(multihead_attn(x,
 * memory, memory)), ff = dropout(linear2(dropout(act(linear1(x))))), act
 * ReLU or exact GELU. Parameter names after the prefix: self_attn.*,
 * multihead_attn.* (decoder), linear1.weight [dim_ff, d], linear1.bias,
 * linear2.weight [d, dim_ff], linear2.bias, norm1.*, norm2.*, norm3.*
 * (decoder) with .weight and .bias [d]. Linear layers init as nn.Linear,
 * attention as nn.MultiheadAttention, norms to ones and zeros.
 *
 * Stacks as nn.TransformerEncoder / nn.TransformerDecoder: "layers.<i>."
 * before each layer's names and an optional final "norm.weight",
 * "norm.bias" (pre-norm stacks need it). One difference: PyTorch deep-copies
 * one layer, so its layers start equal (nn.Transformer re-initializes them
 * afterwards); here each layer draws its own initial weights. */
#ifndef SEQC_MODELS_TRANSFORMER_H
#define SEQC_MODELS_TRANSFORMER_H

#include "models/attention.h"

typedef enum seqc_ff_act {
	SEQC_FF_RELU,
	SEQC_FF_GELU, /* exact (erf), as activation="gelu" */
} seqc_ff_act;

typedef struct seqc_tlayer_config {
	size_t d_model;
	size_t nhead;
	size_t dim_feedforward;
	float dropout;        /* attention weights, sublayer outputs, inside ff */
	seqc_ff_act activation;
	bool norm_first;      /* pre-norm */
	float layer_norm_eps;
} seqc_tlayer_config;

/* PyTorch's defaults: dim_feedforward 2048, dropout 0.1, relu, post-norm,
 * layer_norm_eps 1e-5. */
SEQC_API seqc_tlayer_config seqc_tlayer_defaults(size_t d_model, size_t nhead);

/* "relu" / "gelu" and back (-1 when unknown). */
SEQC_API const char *seqc_ff_act_name(seqc_ff_act act);
SEQC_API int seqc_ff_act_parse(const char *name);

/* A LayerNorm's affine parameters and a Linear's. */
typedef struct seqc_tnorm {
	seqc_tensor *weight, *bias; /* [d] */
} seqc_tnorm;
typedef struct seqc_tlinear {
	seqc_tensor *weight; /* [out, in] */
	seqc_tensor *bias;   /* [out] */
} seqc_tlinear;

typedef struct seqc_tenc_layer {
	seqc_tlayer_config c;
	seqc_mha self_attn;
	seqc_tlinear linear1, linear2;
	seqc_tnorm norm1, norm2;
} seqc_tenc_layer;

typedef struct seqc_tdec_layer {
	seqc_tlayer_config c;
	seqc_mha self_attn, multihead_attn;
	seqc_tlinear linear1, linear2;
	seqc_tnorm norm1, norm2, norm3;
} seqc_tdec_layer;

/* Declare a layer's parameters under prefix (e.g. "encoder.layers.0.").
 * Validates the config (sizes > 0, nhead divides d_model, dropout in
 * [0, 1), eps > 0, a known activation). */
SEQC_API int seqc_tenc_layer_declare(seqc_tenc_layer *l, const seqc_tlayer_config *c,
				     seqc_params *p, const char *prefix);
SEQC_API int seqc_tdec_layer_declare(seqc_tdec_layer *l, const seqc_tlayer_config *c,
				     seqc_params *p, const char *prefix);

/* x [B, T, d] -> [B, T, d]. mask: the self-attention's masks (src_mask,
 * src_key_padding_mask; NULL: none). rng: dropout draws (training mode). */
SEQC_API seqc_tensor *seqc_tenc_layer_forward(seqc_graph *g, const seqc_tenc_layer *l,
					      seqc_tensor *x, const seqc_tmask *mask, seqc_rng *rng);

/* x [B, T, d], memory [B, S, d] -> [B, T, d]. tgt: the self-attention's
 * masks (usually causal, plus tgt_key_padding_mask); mem: the
 * cross-attention's (memory_key_padding_mask). */
SEQC_API seqc_tensor *seqc_tdec_layer_forward(seqc_graph *g, const seqc_tdec_layer *l,
					      seqc_tensor *x, seqc_tensor *memory,
					      const seqc_tmask *tgt, const seqc_tmask *mem,
					      seqc_rng *rng);

/* ---- stacks ---- */

#define SEQC_TSTACK_MAX_LAYERS 64

typedef struct seqc_tenc {
	size_t layers;
	seqc_tenc_layer layer[SEQC_TSTACK_MAX_LAYERS];
	seqc_tnorm norm; /* final norm; NULL tensors when none */
} seqc_tenc;

typedef struct seqc_tdec {
	size_t layers;
	seqc_tdec_layer layer[SEQC_TSTACK_MAX_LAYERS];
	seqc_tnorm norm;
} seqc_tdec;

/* Declare layers (1..64) layers of config c as "<prefix>layers.<i>." and,
 * when final_norm, "<prefix>norm.weight" and ".bias". */
SEQC_API int seqc_tenc_declare(seqc_tenc *e, const seqc_tlayer_config *c, size_t layers,
			       bool final_norm, seqc_params *p, const char *prefix);
SEQC_API int seqc_tdec_declare(seqc_tdec *d, const seqc_tlayer_config *c, size_t layers,
			       bool final_norm, seqc_params *p, const char *prefix);

/* The layers in turn with the same masks, then the final norm. */
SEQC_API seqc_tensor *seqc_tenc_forward(seqc_graph *g, const seqc_tenc *e, seqc_tensor *x,
					const seqc_tmask *mask, seqc_rng *rng);
SEQC_API seqc_tensor *seqc_tdec_forward(seqc_graph *g, const seqc_tdec *d, seqc_tensor *x,
					seqc_tensor *memory, const seqc_tmask *tgt,
					const seqc_tmask *mem, seqc_rng *rng);

#endif
