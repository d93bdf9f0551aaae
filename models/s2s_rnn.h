/* s2s-rnn: the attentional recurrent encoder-decoder of Luong et al. (2015)
 * with input feeding, as OpenNMT-py builds it (RNNEncoder,
 * InputFeedRNNDecoder, GlobalAttention), whose details it follows.
 *
 * Encoder: embedding, dropout, a GRU or LSTM stack (bidirectional: H/2 per
 * direction, so its outputs are H wide) run on the padded batch as
 * pack_padded_sequence would: the memory h_s [B, S, H] is 0 at padded
 * positions and the final states are those after each row's last token.
 *
 * Bridge (optional): decoder layer l starts from
 *   h_0^l = tanh(bridge_h.l(h_enc^l)), c_0^l = tanh(bridge_c.l(c_enc^l))
 * where h_enc^l [B, H] is encoder layer l's final state, both directions
 * concatenated (forward first); without a bridge the decoder starts from 0.
 *
 * Decoder step t (h~_0 = 0):
 *   x_t = [dropout(embed(y_{t-1})); h~_{t-1}]      (input feeding; without
 *                                                   it x_t = the embedding)
 *   h_t = stacked cells (dropout between layers), state carried
 *   scores over the row's source positions s (padding masked to -inf):
 *     dot:     h_t . h_s
 *     general: (W_in h_t) . h_s        (precomputed per batch as h_t . (W_in^T h_s))
 *     mlp:     v . tanh(W_q h_t + b_q + W_k h_s)   (W_k h_s precomputed)
 *   a_t = softmax(scores), c_t = sum_s a_t,s h_s
 *   h~_t = tanh(W_out [c_t; h_t])      (dot, general)
 *   h~_t = W_out [c_t; h_t] + b_out    (mlp: OpenNMT's linear_out has a
 *                                       bias and no tanh for mlp)
 *   h~_t = h_t                         (attention none)
 *   h~_t = dropout(h~_t); logits = generator(h~_t); h~_t is fed to t + 1
 *
 * Parameters (PyTorch names and [out, in] layouts; D = 2 when
 * bidirectional, G = 3 for GRU, 4 for LSTM):
 *   encoder.embeddings.weight                [src_vocab, E]
 *   encoder.rnn.weight_ih_l{k}[_reverse]     as nn.GRU / nn.LSTM with
 *   encoder.rnn.weight_hh_l{k}[_reverse]     hidden H/D (all four per layer
 *   encoder.rnn.bias_ih_l{k}[_reverse]       and direction)
 *   encoder.rnn.bias_hh_l{k}[_reverse]
 *   bridge_h.{l}.weight [H, H], bridge_h.{l}.bias [H]     (bridge)
 *   bridge_c.{l}.weight [H, H], bridge_c.{l}.bias [H]     (bridge, LSTM)
 *   decoder.embeddings.weight                [tgt_vocab, E]  (absent when
 *                                            share_embeddings: the decoder
 *                                            reads encoder.embeddings.weight)
 *   decoder.rnn.layers.{l}.weight_ih [G*H, I_l] (I_0 = E + H with input
 *   decoder.rnn.layers.{l}.weight_hh [G*H, H]    feeding, else E; I_l = H
 *   decoder.rnn.layers.{l}.bias_ih   [G*H]       above), as nn.GRUCell /
 *   decoder.rnn.layers.{l}.bias_hh   [G*H]       nn.LSTMCell
 *   decoder.attn.linear_in.weight       [H, H]   (general)
 *   decoder.attn.linear_query.weight    [H, H]   (mlp)
 *   decoder.attn.linear_query.bias      [H]      (mlp)
 *   decoder.attn.linear_context.weight  [H, H]   (mlp)
 *   decoder.attn.v.weight               [1, H]   (mlp)
 *   decoder.attn.linear_out.weight      [H, 2H]  (any attention)
 *   decoder.attn.linear_out.bias        [H]      (mlp)
 *   generator.weight [tgt_vocab, H] (absent when tie_output: the decoder
 *   embedding is the generator), generator.bias [tgt_vocab]
 * Initialization: OpenNMT-py's default, every parameter U(-0.1, 0.1).
 *
 * Batches, the scheduled-sampling hook and decoding rows: models/s2s.h. */
#ifndef SEQC_MODELS_S2S_RNN_H
#define SEQC_MODELS_S2S_RNN_H

#include "models/rnn.h"
#include "models/s2s.h"

typedef enum seqc_s2sr_attn_kind {
	SEQC_S2SR_ATTN_NONE,
	SEQC_S2SR_ATTN_DOT,
	SEQC_S2SR_ATTN_GENERAL,
	SEQC_S2SR_ATTN_MLP, /* Bahdanau's additive score */
} seqc_s2sr_attn_kind;

/* "none", "dot", "general", "mlp"; and back ("bahdanau" is mlp; -1 when
 * unknown). */
SEQC_API const char *seqc_s2sr_attention_name(seqc_s2sr_attn_kind a);
SEQC_API int seqc_s2sr_attention_parse(const char *name);

typedef struct seqc_s2sr_config {
	size_t src_vocab, tgt_vocab;
	seqc_cell_kind cell;   /* SEQC_CELL_GRU or SEQC_CELL_LSTM */
	size_t embed;          /* E, both embeddings */
	size_t hidden;         /* H: decoder state, attention, encoder outputs */
	size_t enc_layers, dec_layers; /* equal when bridging */
	bool bidirectional;    /* encoder; H/2 per direction (H even) */
	seqc_s2sr_attn_kind attention;
	bool input_feed;       /* feed h~_{t-1} into step t */
	bool bridge;           /* decoder initial state from the encoder's final one */
	float dropout;         /* embeddings, between layers, h~ before the generator */
	bool share_embeddings; /* one source/target embedding (equal vocabularies) */
	bool tie_output;       /* generator weight = target embedding (E == H) */
	float label_smoothing; /* in [0, 1) */
} seqc_s2sr_config;

#define SEQC_S2SR_MAX_DIM ((size_t)1 << 24)
#define SEQC_S2SR_MAX_LAYERS SEQC_RNN_MAX_LAYERS

typedef struct seqc_s2sr {
	seqc_s2sr_config c;
	seqc_params *params;
	seqc_tensor *src_embed;          /* [src_vocab, E] */
	seqc_tensor *tgt_embed;          /* [tgt_vocab, E] (src_embed when shared) */
	seqc_rnn enc;                    /* "encoder.rnn." */
	seqc_tensor *bridge_w[2][SEQC_S2SR_MAX_LAYERS]; /* [0]: h, [1]: c; [H, H] */
	seqc_tensor *bridge_b[2][SEQC_S2SR_MAX_LAYERS]; /* [H] */
	seqc_tensor *dec_w_ih[SEQC_S2SR_MAX_LAYERS], *dec_w_hh[SEQC_S2SR_MAX_LAYERS];
	seqc_tensor *dec_b_ih[SEQC_S2SR_MAX_LAYERS], *dec_b_hh[SEQC_S2SR_MAX_LAYERS];
	seqc_tensor *attn_in;            /* general: [H, H] */
	seqc_tensor *attn_query_w, *attn_query_b, *attn_context_w, *attn_v; /* mlp */
	seqc_tensor *attn_out_w, *attn_out_b; /* [H, 2H], [H] (mlp only) */
	seqc_tensor *gen_w, *gen_b;      /* [tgt_vocab, H] (tgt_embed when tied), [tgt_vocab] */
	/* decoding state (see seqc_s2sr_set_source): */
	struct seqc_s2sr_decode *dec;
} seqc_s2sr;

/* Defaults for the optional fields: GRU, bidirectional, general attention,
 * input feeding, bridge, no dropout, no sharing or tying, no smoothing;
 * sizes and layers 0 for the caller. */
SEQC_API seqc_s2sr_config seqc_s2sr_config_defaults(void);

/* Validate the config, declare and initialize every parameter from rng
 * (NULL: every parameter 0, for a caller that loads them all). NULL on
 * failure with a message naming the field. */
SEQC_API seqc_s2sr *seqc_s2sr_create(const seqc_s2sr_config *c, seqc_rng *rng);
SEQC_API void seqc_s2sr_destroy(seqc_s2sr *m); /* accepts NULL */

/* The config as a JSON object {"arch": "s2s-rnn", ...} (malloc'ed), and
 * back. Required: arch, src_vocab, tgt_vocab, cell ("gru" or "lstm"),
 * embed, hidden, enc_layers, dec_layers; the others optional (defaults
 * above); unknown fields, wrong types and bad values are refused naming
 * the field. */
SEQC_API char *seqc_s2sr_config_to_json(const seqc_s2sr_config *c);
SEQC_API int seqc_s2sr_config_from_json(const char *json, seqc_s2sr_config *c);

/* Logits [B, T, V] of a batch (checked with seqc_s2s_batch_check). A graph
 * in training mode applies dropout with draws from rng. input_fn NULL:
 * teacher forcing (the decoder reads b->tgt_in); otherwise input_fn picks
 * the inputs of steps t >= 1 from step t - 1's logits (models/s2s.h); no
 * gradient flows through its choice. */
SEQC_API int seqc_s2sr_logits(seqc_graph *g, seqc_s2sr *m, const seqc_s2s_batch *b,
			      seqc_rng *rng, seqc_s2s_input_fn input_fn, void *ctx,
			      seqc_tensor **logits);

/* Mean cross-entropy (label smoothing from the config) over the targets
 * that are not ignored: a scalar in *loss. */
SEQC_API int seqc_s2sr_loss(seqc_graph *g, seqc_s2sr *m, const seqc_s2s_batch *b, seqc_rng *rng,
			    seqc_s2s_input_fn input_fn, void *ctx, seqc_tensor **loss);

/* ---- decoding ---- */

/* Encode B sources src [B, S] (lens [B], each 1..S) without gradient or
 * dropout and keep the memory, the precomputed attention keys and the
 * initial decoder states. */
SEQC_API int seqc_s2sr_set_source(seqc_s2sr *m, const int32_t *src, const size_t *lens, size_t B,
				  size_t S);
/* rows decoder rows (a multiple of B): row r decodes source r / (rows / B)
 * from its initial state, h~ = 0. */
SEQC_API int seqc_s2sr_start(seqc_s2sr *m, size_t rows);
/* Feed tokens [rows] (ids in [0, tgt_vocab)), return logits [rows, V] in g
 * (valid until g is reset). Gradients and dropout off whatever g's modes. */
SEQC_API int seqc_s2sr_step(seqc_s2sr *m, seqc_graph *g, const int32_t *tokens,
			    seqc_tensor **logits);
/* New row i takes the state (and source) of old row from[i], for n new rows. */
SEQC_API int seqc_s2sr_reorder(seqc_s2sr *m, const size_t *from, size_t n);
/* The last step's attention weights into weights [rows, S] (0 beyond the
 * row's source length; all 0 with attention none). SEQC_ESTATE before a
 * step. */
SEQC_API int seqc_s2sr_attention(const seqc_s2sr *m, float *weights);

/* The last step's top-layer decoder state h_t and attentional vector h~_t
 * into h_top and h_tilde [rows, H] (either may be NULL). SEQC_ESTATE
 * before a step. */
SEQC_API int seqc_s2sr_last_state(const seqc_s2sr *m, float *h_top, float *h_tilde);

/* Bytes of arena a training batch [B, S] -> [B, T] takes (forward and
 * backward): an estimate for the memory report. */
SEQC_API size_t seqc_s2sr_activation_bytes(const seqc_s2sr_config *c, size_t B, size_t S,
					   size_t T);

#endif
