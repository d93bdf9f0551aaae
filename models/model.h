/* One handle for every model kind, so that training, decoding and scoring
 * are written once. A model has a parameter store, a vocabulary size, a
 * JSON configuration ({"arch": ..., ...}, stored in checkpoints as
 * __metadata__["seqc.config"]) and the step interface of DESIGN.md:
 * start B rows, step one token per row to get logits [B, V], reorder rows.
 *
 * Kinds: the language models "rnnlm" and "gpt", and the sequence-to-
 * sequence models "s2s-rnn" and "s2s-transformer" (models/s2s.h), whose
 * start needs the sources first (seqc_model_set_source). */
#ifndef SEQC_MODELS_MODEL_H
#define SEQC_MODELS_MODEL_H

#include "models/gpt.h"
#include "models/rnnlm.h"
#include "models/s2s_rnn.h"
#include "models/s2s_transformer.h"

typedef struct seqc_model {
	const char *arch;     /* "rnnlm", "gpt", "s2s-rnn" or "s2s-transformer" */
	seqc_params *params;  /* owned by the kind's struct below */
	size_t vocab;         /* of the outputs (the target side) */
	size_t src_vocab;     /* of the sources (sequence-to-sequence kinds; else 0) */
	seqc_rnnlm *rnnlm;    /* arch "rnnlm" */
	seqc_gpt *gpt;        /* arch "gpt" */
	seqc_s2sr *s2sr;      /* arch "s2s-rnn" */
	seqc_s2st *s2st;      /* arch "s2s-transformer" */
} seqc_model;

/* A model from its JSON configuration, parameters initialized from rng.
 * The JSON names the arch; unknown arch or bad fields: NULL with
 * SEQC_EFORMAT naming the field. */
SEQC_API seqc_model *seqc_model_from_config(const char *json, seqc_rng *rng);
/* Wrap an rnnlm (the model takes ownership). */
SEQC_API seqc_model *seqc_model_wrap_rnnlm(seqc_rnnlm *m);
/* Wrap a gpt (the model takes ownership). */
SEQC_API seqc_model *seqc_model_wrap_gpt(seqc_gpt *m);
/* Wrap a sequence-to-sequence model (the model takes ownership). */
SEQC_API seqc_model *seqc_model_wrap_s2sr(seqc_s2sr *m);
SEQC_API seqc_model *seqc_model_wrap_s2st(seqc_s2st *m);
SEQC_API void seqc_model_destroy(seqc_model *m); /* accepts NULL */

/* The configuration as JSON (malloc'ed). */
SEQC_API char *seqc_model_config_json(const seqc_model *m);

/* Logits [B, T, V] and the mean cross-entropy of targets (-1 ignored) for
 * a chunk inputs [B, T] on its own: gpt sees positions 0..T-1, rnnlm
 * starts from a zero state (truncated BPTT, which carries the state from
 * chunk to chunk, stays with seqc_rnnlm_loss). Dropout in training mode
 * with draws from rng. */
SEQC_API int seqc_model_logits(seqc_graph *g, seqc_model *m, const seqc_ids *inputs,
			       seqc_rng *rng, seqc_tensor **logits);
SEQC_API int seqc_model_loss(seqc_graph *g, seqc_model *m, const seqc_ids *inputs,
			     const seqc_ids *targets, seqc_rng *rng, seqc_tensor **loss);

/* Sequence-to-sequence kinds (the language models refuse these with
 * SEQC_EINVAL): the teacher-forced loss and logits of a padded batch of
 * pairs (models/s2s.h), with the scheduled-sampling hook input_fn for
 * step-by-step decoders (NULL: teacher forcing; s2s-transformer takes
 * only NULL: its scheduled sampling is two passes, train/scheduled.h). */
SEQC_API bool seqc_model_is_s2s(const seqc_model *m);
SEQC_API int seqc_model_s2s_logits(seqc_graph *g, seqc_model *m, const seqc_s2s_batch *b,
				   seqc_rng *rng, seqc_tensor **logits);
SEQC_API int seqc_model_s2s_loss(seqc_graph *g, seqc_model *m, const seqc_s2s_batch *b,
				 seqc_rng *rng, seqc_s2s_input_fn input_fn, void *ctx,
				 seqc_tensor **loss);
/* Encodes B sources src [B, S] (lengths lens [B], padding beyond) for the
 * next start: start(rows) then decodes source r / (rows / B) in row r. */
SEQC_API int seqc_model_set_source(seqc_model *m, const int32_t *src, const size_t *lens,
				   size_t B, size_t S);
/* The cross-attention of the last step, weights [rows, S] (for GNMT's
 * coverage penalty). */
SEQC_API int seqc_model_attention(seqc_model *m, float *weights);

/* Step interface (see rnnlm.h and gpt.h for the contract; gpt's step
 * fails with SEQC_ERANGE once its context is full). */
SEQC_API int seqc_model_start(seqc_model *m, size_t rows);
SEQC_API int seqc_model_step(seqc_model *m, seqc_graph *g, const int32_t *tokens,
			     seqc_tensor **logits);
SEQC_API int seqc_model_reorder(seqc_model *m, const size_t *from, size_t n);

/* Bytes of activations (forward and backward, arena) a training chunk of
 * [B, T] tokens takes (sequence-to-sequence kinds: sources and targets
 * of T tokens): an estimate for the memory report. */
SEQC_API size_t seqc_model_activation_bytes(const seqc_model *m, size_t B, size_t T);

#endif
