/* Recurrent layers: vanilla RNN (tanh or relu), LSTM and GRU, with PyTorch's
 * names, shapes, gate order, formulas and default initialization:
 *
 *   RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh)
 *   LSTM: gates i, f, g, o stacked in W_ih [4H, I], W_hh [4H, H];
 *         i = s(.), f = s(.), g = tanh(.), o = s(.); c' = f c + i g; h' = o tanh(c')
 *   GRU:  gates r, z, n stacked in W_ih [3H, I], W_hh [3H, H];
 *         r = s(W_ir x + b_ir + W_hr h + b_hr), z likewise,
 *         n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h
 *
 * The fused op (seqc_rnn_layer) runs one direction of one layer over a whole
 * sequence: the input projection of all time steps is one GEMM; each step is
 * one recurrent GEMM and one fused gate loop; in backward, the weight
 * gradients of all steps are one GEMM each. Public tensors are batch-first. */
#ifndef SEQC_MODELS_RNN_H
#define SEQC_MODELS_RNN_H

#include "seq/ops.h"
#include "seq/params.h"

typedef enum seqc_cell_kind {
	SEQC_CELL_RNN_TANH,
	SEQC_CELL_RNN_RELU,
	SEQC_CELL_LSTM,
	SEQC_CELL_GRU,
} seqc_cell_kind;

/* Gates per cell: 1 (RNN), 4 (LSTM), 3 (GRU). */
SEQC_API int seqc_cell_gates(seqc_cell_kind cell);
/* "rnn_tanh", "rnn_relu", "lstm", "gru"; and back (-1 when unknown; "rnn"
 * means rnn_tanh). */
SEQC_API const char *seqc_cell_name(seqc_cell_kind cell);
SEQC_API int seqc_cell_parse(const char *name);

/* One direction of one layer over a sequence.
 * x [B, T, I]; h0 [B, H] or NULL (zeros); c0 [B, H] or NULL (LSTM only);
 * w_ih [G*H, I], w_hh [G*H, H], b_ih and b_hh [G*H] or both NULL.
 * reverse: run from t = T-1 down to 0 (the backward direction of a
 * bidirectional layer); outputs stay at their time positions.
 * Returns y [B, T, H] (the hidden state at every step); *h_last [B, H] is the
 * final hidden state and *c_last [B, H] the final cell state (LSTM; NULL for
 * the others); both may be given NULL pointers when not wanted. Gradients
 * flow from y, *h_last and *c_last into x, h0, c0 and the weights. */
SEQC_API seqc_tensor *seqc_rnn_layer(seqc_graph *g, seqc_cell_kind cell, seqc_tensor *x,
				     seqc_tensor *h0, seqc_tensor *c0, seqc_tensor *w_ih,
				     seqc_tensor *w_hh, seqc_tensor *b_ih, seqc_tensor *b_hh,
				     bool reverse, seqc_tensor **h_last, seqc_tensor **c_last);

/* seqc_rnn_layer on a right-padded batch, as over pack_padded_sequence:
 * lens [B] (each 1..T; NULL = all T) gives each row's length L_b. Positions
 * t >= L_b output 0 and do not touch the state: forward, *h_last is the
 * state after L_b steps; reverse, the row starts at t = L_b - 1 from h0.
 * Gradients of y at padded positions are ignored. */
SEQC_API seqc_tensor *seqc_rnn_layer_lens(seqc_graph *g, seqc_cell_kind cell, seqc_tensor *x,
					  const size_t *lens, seqc_tensor *h0, seqc_tensor *c0,
					  seqc_tensor *w_ih, seqc_tensor *w_hh, seqc_tensor *b_ih,
					  seqc_tensor *b_hh, bool reverse, seqc_tensor **h_last,
					  seqc_tensor **c_last);

/* A single step, for decoders: x [B, I], h [B, H], c [B, H] (LSTM) ->
 * *h_new [B, H], *c_new [B, H]. Returns 0 or a negative code. */
SEQC_API int seqc_rnn_cell_step(seqc_graph *g, seqc_cell_kind cell, seqc_tensor *x,
				seqc_tensor *h, seqc_tensor *c, seqc_tensor *w_ih, seqc_tensor *w_hh,
				seqc_tensor *b_ih, seqc_tensor *b_hh, seqc_tensor **h_new,
				seqc_tensor **c_new);

/* ---- the multi-layer module, as torch.nn.RNN / LSTM / GRU (batch_first) ---- */

typedef struct seqc_rnn_config {
	seqc_cell_kind cell;
	size_t input_size;
	size_t hidden_size;
	size_t layers;
	bool bidirectional;
	bool bias;           /* default true */
	float dropout;       /* on the outputs of every layer but the last */
	bool orthogonal_hh;  /* W_hh orthogonal per gate block instead of uniform */
	bool forget_bias_one;/* LSTM: b_ih's forget slice = 1, b_hh's = 0 */
} seqc_rnn_config;

#define SEQC_RNN_MAX_LAYERS 16

typedef struct seqc_rnn {
	seqc_rnn_config c;
	/* index l * D + d (D = 2 when bidirectional, d = 1 the reverse direction) */
	seqc_tensor *w_ih[2 * SEQC_RNN_MAX_LAYERS];
	seqc_tensor *w_hh[2 * SEQC_RNN_MAX_LAYERS];
	seqc_tensor *b_ih[2 * SEQC_RNN_MAX_LAYERS];
	seqc_tensor *b_hh[2 * SEQC_RNN_MAX_LAYERS];
} seqc_rnn;

/* Declare the parameters in p as "<prefix>weight_ih_l0", "..._l0_reverse",
 * and so on (prefix may be "" or e.g. "rnn."), each U(-1/sqrt(H), 1/sqrt(H))
 * as PyTorch. Validates the config (sizes > 0, layers <= 16, dropout in
 * [0, 1), relu/tanh only for RNN cells). */
SEQC_API int seqc_rnn_declare(seqc_rnn *r, const seqc_rnn_config *c, seqc_params *p,
			      const char *prefix);

/* After seqc_params_finalize: apply the init options that are not plain
 * rules (orthogonal per gate block, forget bias one). */
SEQC_API int seqc_rnn_post_init(seqc_rnn *r, seqc_rng *rng);

/* The whole stack over a sequence. x [B, T, I]; h0 and c0 [L*D, B, H] or
 * NULL; dropout draws from rng (only in training mode).
 * Outputs: *y [B, T, D*H]; *h_n [L*D, B, H]; *c_n [L*D, B, H] (LSTM; NULL
 * otherwise); h_n and c_n may be NULL pointers when not wanted. */
SEQC_API int seqc_rnn_forward(seqc_graph *g, const seqc_rnn *r, seqc_tensor *x, seqc_tensor *h0,
			      seqc_tensor *c0, seqc_rng *rng, seqc_tensor **y, seqc_tensor **h_n,
			      seqc_tensor **c_n);

/* seqc_rnn_forward on a right-padded batch: lens [B] (each 1..T, NULL =
 * all T) as seqc_rnn_layer_lens, so y is 0 at padded positions and h_n,
 * c_n are each row's final states, as with pack_padded_sequence. */
SEQC_API int seqc_rnn_forward_lens(seqc_graph *g, const seqc_rnn *r, seqc_tensor *x,
				   const size_t *lens, seqc_tensor *h0, seqc_tensor *c0,
				   seqc_rng *rng, seqc_tensor **y, seqc_tensor **h_n,
				   seqc_tensor **c_n);

#endif
