/* rnnlm: a recurrent language model as PyTorch's word_language_model
 * example builds it: embedding ("encoder.weight" [V, E]), dropout, a
 * recurrent stack ("rnn.weight_ih_l0", ...), dropout, and a linear head
 * ("decoder.weight" [V, H], "decoder.bias" [V]), optionally tied to the
 * embedding (then there is no "decoder.weight": the head reads
 * "encoder.weight"), with softmax cross-entropy.
 *
 * Training runs whole chunks [B, T] with the state carried between chunks by
 * the caller (truncated BPTT). Decoding uses the step interface: start B
 * rows, step one token per row to get logits, reorder rows for beams. */
#ifndef SEQC_MODELS_RNNLM_H
#define SEQC_MODELS_RNNLM_H

#include "models/rnn.h"

typedef struct seqc_rnnlm_config {
	seqc_cell_kind cell;
	size_t vocab;
	size_t embed;
	size_t hidden;
	size_t layers;
	float dropout;        /* on the embedding, between layers and before the head */
	bool tie;             /* head weight = embedding (needs embed == hidden) */
	bool orthogonal_hh;
	bool forget_bias_one;
} seqc_rnnlm_config;

typedef struct seqc_rnnlm {
	seqc_rnnlm_config c;
	seqc_params *params;
	seqc_tensor *embedding; /* [V, E] */
	seqc_rnn rnn;
	seqc_tensor *head_w;    /* [V, H] (the embedding when tied) */
	seqc_tensor *head_b;    /* [V] */
	/* decoding state: [L, rows, H] hidden and cell state (zeros for
	 * non-LSTM cells), and buffers of the same size that reorder gathers
	 * into, for up to cap_rows rows */
	size_t rows;
	size_t cap_rows;
	float *h;
	float *cstate;
	float *h_next;
	float *c_next;
} seqc_rnnlm;

/* Validate the config, declare and initialize every parameter from rng.
 * NULL on failure. */
SEQC_API seqc_rnnlm *seqc_rnnlm_create(const seqc_rnnlm_config *c, seqc_rng *rng);
SEQC_API void seqc_rnnlm_destroy(seqc_rnnlm *m); /* accepts NULL */

/* The config as a JSON object string {"arch": "rnnlm", ...} (malloc'ed), and
 * back (trusting nothing: every field is checked). */
SEQC_API char *seqc_rnnlm_config_to_json(const seqc_rnnlm_config *c);
SEQC_API int seqc_rnnlm_config_from_json(const char *json, seqc_rnnlm_config *c);

/* One chunk: inputs and targets [B, T] (targets equal to -1 are ignored);
 * h0 and c0 [L, B, H] or NULL (zeros): give them as graph inputs without
 * gradient to carry a detached state. Returns the mean cross-entropy over
 * the targets that are not ignored in *loss (a scalar); the final states in
 * *h_n and *c_n (c_n NULL for non-LSTM) when those pointers are not NULL.
 * A graph in training mode applies dropout with draws from rng. */
SEQC_API int seqc_rnnlm_loss(seqc_graph *g, seqc_rnnlm *m, const seqc_ids *inputs,
			     const seqc_ids *targets, seqc_tensor *h0, seqc_tensor *c0,
			     seqc_rng *rng, seqc_tensor **loss, seqc_tensor **h_n,
			     seqc_tensor **c_n);

/* Like seqc_rnnlm_loss without the loss: logits [B, T, V]. */
SEQC_API int seqc_rnnlm_logits(seqc_graph *g, seqc_rnnlm *m, const seqc_ids *inputs,
			       seqc_tensor *h0, seqc_tensor *c0, seqc_rng *rng,
			       seqc_tensor **logits, seqc_tensor **h_n, seqc_tensor **c_n);

/* Chooses the inputs of step t + 1 from the logits of step t, logits
 * [B, V]: next [B] holds the ground truth on entry and the inputs to read
 * on return (ids in [0, V)). Returns 0 or a negative code, which stops the
 * loss. */
typedef int (*seqc_rnnlm_next_fn)(void *ctx, const float *logits, size_t B, size_t V,
				  int32_t *next);

/* seqc_rnnlm_loss one time step at a time (an embedding, a cell step per
 * layer and the head per step) so that the input of each step can depend
 * on the previous step's logits: next (or NULL: the ground truth) chooses
 * every input after the first of each row; no gradient flows through the
 * choice. The same arguments and outputs as seqc_rnnlm_loss, which it
 * equals to float rounding when next keeps the ground truth: dropout masks
 * are drawn up front in seqc_rnnlm_loss's order, so the same rng gives the
 * same masks and leaves the same state. used [B, T] (or NULL) receives the
 * inputs read. */
SEQC_API int seqc_rnnlm_loss_scheduled(seqc_graph *g, seqc_rnnlm *m, const seqc_ids *inputs,
				       const seqc_ids *targets, seqc_tensor *h0, seqc_tensor *c0,
				       seqc_rng *rng, seqc_rnnlm_next_fn next, void *ctx,
				       int32_t *used, seqc_tensor **loss, seqc_tensor **h_n,
				       seqc_tensor **c_n);

/* ---- the step interface ---- */

/* Zero state for rows sequences. */
SEQC_API int seqc_rnnlm_start(seqc_rnnlm *m, size_t rows);
/* Feed tokens [rows] (ids in [0, V)), advance the state, return logits
 * [rows, V] in g (valid until g is reset). Runs with gradients off and
 * dropout off whatever g's modes are. */
SEQC_API int seqc_rnnlm_step(seqc_rnnlm *m, seqc_graph *g, const int32_t *tokens,
			     seqc_tensor **logits);
/* New row i takes the state of old row from[i], for n new rows (n may
 * differ from the old count: beams). Each from[i] < rows. */
SEQC_API int seqc_rnnlm_reorder(seqc_rnnlm *m, const size_t *from, size_t n);

#endif
