/* One handle for every model kind, so that training, decoding and scoring
 * are written once. A model has a parameter store, a vocabulary size, a
 * JSON configuration ({"arch": ..., ...}, stored in checkpoints as
 * __metadata__["seqc.config"]) and the step interface of DESIGN.md:
 * start B rows, step one token per row to get logits [B, V], reorder rows.
 *
 * Kinds: "rnnlm" now; "gpt", "s2s-rnn" and "s2s-transformer" later. */
#ifndef SEQC_MODELS_MODEL_H
#define SEQC_MODELS_MODEL_H

#include "models/rnnlm.h"

typedef struct seqc_model {
	const char *arch;     /* "rnnlm" */
	seqc_params *params;  /* owned by the kind's struct below */
	size_t vocab;
	seqc_rnnlm *rnnlm;    /* arch "rnnlm" */
} seqc_model;

/* A model from its JSON configuration, parameters initialized from rng.
 * The JSON names the arch; unknown arch or bad fields: NULL with
 * SEQC_EFORMAT naming the field. */
SEQC_API seqc_model *seqc_model_from_config(const char *json, seqc_rng *rng);
/* Wrap an rnnlm (the model takes ownership). */
SEQC_API seqc_model *seqc_model_wrap_rnnlm(seqc_rnnlm *m);
SEQC_API void seqc_model_destroy(seqc_model *m); /* accepts NULL */

/* The configuration as JSON (malloc'ed). */
SEQC_API char *seqc_model_config_json(const seqc_model *m);

/* Step interface (see rnnlm.h for the contract). */
SEQC_API int seqc_model_start(seqc_model *m, size_t rows);
SEQC_API int seqc_model_step(seqc_model *m, seqc_graph *g, const int32_t *tokens,
			     seqc_tensor **logits);
SEQC_API int seqc_model_reorder(seqc_model *m, const size_t *from, size_t n);

/* Bytes of activations (forward and backward, arena) a training chunk of
 * [B, T] tokens takes: an estimate for the memory report. */
SEQC_API size_t seqc_model_activation_bytes(const seqc_model *m, size_t B, size_t T);

#endif
