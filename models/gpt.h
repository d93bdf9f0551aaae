/* gpt: a decoder-only transformer language model in nanoGPT's layout.
 *
 * Token embedding ("transformer.wte.weight" [V, C]) plus learned position
 * embedding ("transformer.wpe.weight" [T_ctx, C]), dropout, N pre-norm
 * blocks, a final layer norm ("transformer.ln_f") and a head tied to the
 * token embedding (logits = x wte^T: there is no "lm_head.weight" tensor).
 * Block l, with names under "transformer.h.<l>.":
 *   x = x + dropout(attn.c_proj(attention(attn.c_attn(ln_1(x)))))
 *   x = x + dropout(mlp.c_proj(gelu(mlp.c_fc(ln_2(x)))))
 * c_attn.weight [3C, C] (q, k, v rows in that order), c_proj.weight [C, C],
 * mlp.c_fc.weight [4C, C], mlp.c_proj.weight [C, 4C], all nn.Linear's
 * [out, in]; biases ".bias" and layer-norm biases only when config.bias.
 * Causal attention with dropout on its weights.
 *
 * Initialization as GPT-2: every linear weight and both embeddings N(0,
 * 0.02^2), the two residual projections (attn.c_proj and mlp.c_proj) N(0,
 * (0.02 / sqrt(2 N))^2), biases 0, layer norms weight 1 and bias 0. Weight
 * decay applies to every 2-D weight, embeddings included, and not to biases
 * and layer norms, as nanoGPT and llm.c do.
 *
 * Decoding uses the step interface with a key/value cache per layer
 * allocated once for the whole context (grown only when more rows are
 * started). Steps of 2 to 128 rows run on weights packed at the first such
 * step after each start (one more copy of the weights): the weights must not
 * change between a start and its steps. When all context positions are used, step returns SEQC_ERANGE
 * ("gpt: context of N tokens is full") and changes nothing: the caller
 * (the decoder) decides whether to stop or to start again on the last
 * tokens; the model never slides silently. */
#ifndef SEQC_MODELS_GPT_H
#define SEQC_MODELS_GPT_H

#include "seq/ops.h"
#include "seq/params.h"

typedef struct seqc_gpt_config {
	size_t vocab;   /* V */
	size_t context; /* longest sequence, positions of wpe */
	size_t layers;  /* N blocks */
	size_t heads;   /* divides embed */
	size_t embed;   /* C */
	float dropout;  /* embeddings, attention weights, residual branches */
	bool bias;      /* linear and layer-norm biases */
	seqc_gelu_kind gelu;
	float ln_eps;   /* > 0 */
} seqc_gpt_config;

/* One block's parameters (the *_b and ln_*_b are NULL without bias). */
typedef struct seqc_gpt_block {
	seqc_tensor *ln1_w, *ln1_b;         /* [C] */
	seqc_tensor *attn_w, *attn_b;       /* [3C, C], [3C] */
	seqc_tensor *attn_proj_w, *attn_proj_b; /* [C, C], [C] */
	seqc_tensor *ln2_w, *ln2_b;         /* [C] */
	seqc_tensor *fc_w, *fc_b;           /* [4C, C], [4C] */
	seqc_tensor *mlp_proj_w, *mlp_proj_b; /* [C, 4C], [C] */
} seqc_gpt_block;

typedef struct seqc_gpt {
	seqc_gpt_config c;
	seqc_params *params;
	seqc_tensor *wte;        /* [V, C], also the head */
	seqc_tensor *wpe;        /* [context, C] */
	seqc_gpt_block *blocks;  /* [layers] */
	seqc_tensor *lnf_w, *lnf_b;
	/* decoding state: keys and values [L, cap_rows, context, C] (row b of
	 * layer l at (l * cap_rows + b) * context * C), pos positions filled for
	 * each of rows rows; scratch [cap_rows * context * C] for reorder */
	size_t rows;
	size_t cap_rows;
	size_t pos;
	float *k;
	float *v;
	float *scratch;
	/* decoding several rows (beams, batches): every weight packed for the
	 * small-row GEMM kernel once per start (OpenBLAS would pack each of them
	 * again at every step): per block c_attn, attn.c_proj, mlp.c_fc,
	 * mlp.c_proj, then the head; NULL until needed */
	float *packed;
	float **packed_at; /* [4 layers + 1]: where each weight's packed copy starts */
	bool packed_ready;
} seqc_gpt;

/* Sizes above these are refused before anything is allocated. */
#define SEQC_GPT_MAX_DIM ((size_t)1 << 24)
#define SEQC_GPT_MAX_LAYERS 256

/* nanoGPT's defaults for the optional fields: dropout 0, bias on, tanh
 * GELU, ln_eps 1e-5; the sizes are left 0 for the caller. */
SEQC_API seqc_gpt_config seqc_gpt_config_defaults(void);

/* Validate the config, declare and initialize every parameter from rng;
 * rng NULL makes every parameter 0, for a caller that loads them all (an
 * importer, a checkpoint). NULL on failure. */
SEQC_API seqc_gpt *seqc_gpt_create(const seqc_gpt_config *c, seqc_rng *rng);
SEQC_API void seqc_gpt_destroy(seqc_gpt *m); /* accepts NULL */

/* The config as a JSON object string {"arch": "gpt", ...} (malloc'ed), and
 * back. Reading is strict: arch, vocab, context, layers, heads and embed
 * are required; dropout, bias, gelu ("tanh" or "exact") and ln_eps are
 * optional (defaults above); any other key, a wrong type or a size out of
 * range is SEQC_EFORMAT / SEQC_EINVAL naming the field. */
SEQC_API char *seqc_gpt_config_to_json(const seqc_gpt_config *c);
SEQC_API int seqc_gpt_config_from_json(const char *json, seqc_gpt_config *c);

/* Logits [B, T, V] for inputs [B, T] (ids in [0, V), T <= context),
 * position t of every row at wpe row t. A graph in training mode applies
 * dropout with draws from rng. */
SEQC_API int seqc_gpt_logits(seqc_graph *g, seqc_gpt *m, const seqc_ids *inputs, seqc_rng *rng,
			     seqc_tensor **logits);

/* Mean cross-entropy of targets [B, T] (-1 ignored) under the logits of
 * inputs [B, T], a scalar in *loss. */
SEQC_API int seqc_gpt_loss(seqc_graph *g, seqc_gpt *m, const seqc_ids *inputs,
			   const seqc_ids *targets, seqc_rng *rng, seqc_tensor **loss);

/* ---- the step interface ---- */

/* An empty context for rows sequences (allocates the cache when rows is
 * more than ever before). */
SEQC_API int seqc_gpt_start(seqc_gpt *m, size_t rows);
/* Feed tokens [rows] at the next position, return logits [rows, V] in g
 * (valid until g is reset). Gradients and dropout off whatever g's modes.
 * SEQC_ERANGE when context positions are all used (nothing changes). */
SEQC_API int seqc_gpt_step(seqc_gpt *m, seqc_graph *g, const int32_t *tokens,
			   seqc_tensor **logits);
/* New row i takes the cache of old row from[i], for n new rows (n may
 * differ from the old count: beams). Each from[i] < rows. */
SEQC_API int seqc_gpt_reorder(seqc_gpt *m, const size_t *from, size_t n);

/* Bytes of arena a training chunk [B, T] takes (forward and backward):
 * an estimate for the memory report. */
SEQC_API size_t seqc_gpt_activation_bytes(const seqc_gpt_config *c, size_t B, size_t T);

/* ---- Hugging Face GPT-2 checkpoints (models/gpt_import.c) ---- */

struct seqc_model;

/* A gpt model from a Hugging Face GPT-2 safetensors file: names "wte.weight",
 * "wpe.weight", "h.<l>.ln_1.weight", "h.<l>.attn.c_attn.weight" ... with or
 * without a "transformer." prefix, Conv1D weights [in, out] (transposed into
 * nn.Linear's [out, in] here). The "attn.bias" and "attn.masked_bias"
 * buffers are ignored; an "lm_head.weight" must equal wte (the head is
 * tied). V, context, C and N come from the tensor shapes. heads_or_0 gives
 * the number of heads; when 0, "n_head" is read from the config.json in the
 * file's folder. That config.json, when present, also gives
 * layer_norm_epsilon and activation_function ("gelu_new" and
 * "gelu_pytorch_tanh": tanh; "gelu": exact), and its sizes must agree with
 * the tensors. Every name and shape is checked; errors name the tensor. */
SEQC_API struct seqc_model *seqc_gpt_import_hf(const char *path, size_t heads_or_0);

#endif
