/* s2s-transformer: the encoder-decoder Transformer of Vaswani et al. (2017)
 * in torch.nn.Transformer's layout (batch_first=True), with embeddings,
 * sinusoidal positions and a generator around it.
 *
 *   encoder input: dropout(src_embed(x) * sqrt(d) + PE)
 *   memory = transformer.encoder(.., src_key_padding_mask)        (final norm)
 *   decoder input: dropout(tgt_embed(y_in) * sqrt(d) + PE)
 *   h = transformer.decoder(.., memory, causal tgt_mask,
 *                           memory_key_padding_mask)              (final norm)
 *   logits = generator(h)
 * Padded targets need no key mask in the decoder: they come after every
 * real position and the causal mask keeps real queries from them; the loss
 * ignores them (models/s2s.h).
 *
 * Parameters (PyTorch names; nn.Transformer always has both final norms):
 *   src_embed.weight [src_vocab, d]     (absent when share_embeddings: the
 *                                        encoder reads tgt_embed.weight)
 *   tgt_embed.weight [tgt_vocab, d]
 *   transformer.encoder.layers.<i>.*    as nn.TransformerEncoderLayer
 *   transformer.encoder.norm.weight, .bias
 *   transformer.decoder.layers.<i>.*    as nn.TransformerDecoderLayer
 *   transformer.decoder.norm.weight, .bias
 *   generator.weight [tgt_vocab, d], generator.bias [tgt_vocab]   (both
 *                                        absent when tie_output: logits =
 *                                        h tgt_embed^T, no bias, as fairseq)
 * Initialization: embeddings N(0, 1/d) (fairseq's, so that the sqrt(d)
 * scaling gives unit-variance inputs); the layers as models/transformer.h
 * (nn.MultiheadAttention's xavier in-projection, nn.Linear's uniform
 * elsewhere); an untied generator as nn.Linear. (nn.Transformer itself
 * re-initializes every matrix xavier_uniform_; this is the per-layer rule.)
 *
 * Decoding: set_source encodes B sources once (no gradient, no dropout) and
 * projects the memory into every decoder layer's cross-attention keys and
 * values, once per source; start(rows) (rows a multiple of B) gives row r
 * source r / (rows / B) and empty self-attention caches; step feeds one
 * token per row at the next position (keys and values of the decoder's
 * self-attention cached per layer and row, up to max_len positions: then
 * SEQC_ERANGE, nothing changed); reorder gathers rows (caches and the row
 * -> source map; the cross keys and values stay per source). Steps of 2 to
 * 128 rows multiply by weights packed once per start (the weights must not
 * change between a start and its steps). */
#ifndef SEQC_MODELS_S2S_TRANSFORMER_H
#define SEQC_MODELS_S2S_TRANSFORMER_H

#include "models/s2s.h"
#include "models/transformer.h"

typedef struct seqc_s2st_config {
	size_t src_vocab, tgt_vocab;
	size_t d_model;
	size_t heads;          /* divides d_model */
	size_t enc_layers, dec_layers; /* 1..SEQC_TSTACK_MAX_LAYERS */
	size_t dim_ff;
	float dropout;         /* embeddings, attention weights, sublayers, inside ff */
	seqc_ff_act activation;
	bool norm_first;       /* pre-norm layers */
	float layer_norm_eps;
	size_t max_len;        /* longest source or target sequence (positions) */
	bool share_embeddings; /* one embedding for both sides (src_vocab == tgt_vocab) */
	bool tie_output;       /* generator = tgt_embed^T, no bias */
	float label_smoothing; /* in [0, 1) */
} seqc_s2st_config;

#define SEQC_S2ST_MAX_DIM ((size_t)1 << 24)

typedef struct seqc_s2st_decode seqc_s2st_decode;

typedef struct seqc_s2st {
	seqc_s2st_config c;
	seqc_params *params;
	seqc_tensor *src_embed; /* [src_vocab, d] (tgt_embed when shared) */
	seqc_tensor *tgt_embed; /* [tgt_vocab, d] */
	seqc_tenc enc;          /* "transformer.encoder." */
	seqc_tdec dec;          /* "transformer.decoder." */
	seqc_tensor *gen_w;     /* [tgt_vocab, d] (tgt_embed when tied) */
	seqc_tensor *gen_b;     /* [tgt_vocab], NULL when tied */
	seqc_s2st_decode *state; /* decoding state (set_source / start / step) */
} seqc_s2st;

/* The Transformer-base recipe scaled down: d 256, 4 heads, 3 + 3 layers,
 * ff 1024, dropout 0.1, relu, post-norm, eps 1e-5, max_len 256, no
 * sharing, tied output, label smoothing 0.1; vocabularies 0 for the
 * caller. */
SEQC_API seqc_s2st_config seqc_s2st_config_defaults(void);

/* Validate the config, declare and initialize every parameter from rng
 * (NULL: every parameter 0, for a caller that loads them all). NULL on
 * failure with a message naming the field. */
SEQC_API seqc_s2st *seqc_s2st_create(const seqc_s2st_config *c, seqc_rng *rng);
SEQC_API void seqc_s2st_destroy(seqc_s2st *m); /* accepts NULL */

/* The config as a JSON object {"arch": "s2s-transformer", ...} (malloc'ed,
 * every field written), and back. Required: arch, src_vocab, tgt_vocab;
 * the others optional (defaults above); unknown fields, wrong types and bad
 * values are refused (SEQC_EFORMAT / SEQC_EINVAL) naming the field. */
SEQC_API char *seqc_s2st_config_to_json(const seqc_s2st_config *c);
SEQC_API int seqc_s2st_config_from_json(const char *json, seqc_s2st_config *c);

/* Teacher-forced logits [B, T, tgt_vocab] of a batch (checked with
 * seqc_s2s_batch_check; S and T at most max_len). A graph in training mode
 * applies dropout with draws from rng. */
SEQC_API int seqc_s2st_logits(seqc_graph *g, seqc_s2st *m, const seqc_s2s_batch *b,
			      seqc_rng *rng, seqc_tensor **logits);

/* Mean cross-entropy (label smoothing from the config) over the targets
 * that are not ignored: a scalar in *loss. */
SEQC_API int seqc_s2st_loss(seqc_graph *g, seqc_s2st *m, const seqc_s2s_batch *b, seqc_rng *rng,
			    seqc_tensor **loss);

/* ---- decoding ---- */

/* Encode B sources src [B, S] (lens [B], each 1..S, S <= max_len; ids in
 * [0, src_vocab)) and compute every decoder layer's cross-attention keys
 * and values. Replaces any earlier source; rows must be started again. */
SEQC_API int seqc_s2st_set_source(seqc_s2st *m, const int32_t *src, const size_t *lens, size_t B,
				  size_t S);
/* rows rows (a multiple of B) at position 0: row r decodes source
 * r / (rows / B). SEQC_ESTATE without a source. */
SEQC_API int seqc_s2st_start(seqc_s2st *m, size_t rows);
/* Feed tokens [rows] (ids in [0, tgt_vocab)) at the next position, return
 * logits [rows, tgt_vocab] in g (valid until g is reset). Gradients and
 * dropout off whatever g's modes. SEQC_ERANGE when max_len positions are
 * used (nothing changes). */
SEQC_API int seqc_s2st_step(seqc_s2st *m, seqc_graph *g, const int32_t *tokens,
			    seqc_tensor **logits);
/* New row i takes the state (caches, source, last attention) of old row
 * from[i], for n new rows (n may differ from the old count). */
SEQC_API int seqc_s2st_reorder(seqc_s2st *m, const size_t *from, size_t n);
/* The last step's cross-attention weights of the last decoder layer,
 * averaged over heads, into weights [rows, S] (S of set_source): each row
 * sums to 1 over its source length and is 0 beyond it. SEQC_ESTATE before
 * a step. */
SEQC_API int seqc_s2st_attention(const seqc_s2st *m, float *weights);

/* Bytes of arena a training batch [B, S] -> [B, T] takes (forward and
 * backward): an estimate for the memory report. */
SEQC_API size_t seqc_s2st_activation_bytes(const seqc_s2st_config *c, size_t B, size_t S,
					   size_t T);

#endif
