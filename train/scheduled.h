/* Teacher forcing and scheduled sampling (Bengio et al. 2015): which token a
 * language model reads at each training position.
 *
 * Teacher forcing always feeds the ground truth. Scheduled sampling feeds,
 * per token, the ground truth with probability p and otherwise the model's
 * own prediction of that position, made from the previous position: with
 * probability 1 - p the input at t + 1 is the argmax (or a sample, at
 * temperature 1) of the logits at t instead of the ground truth at t + 1.
 * The first input of a window (bos, or where the window starts) is always
 * the ground truth, and the targets always are. No gradient flows through
 * the choice.
 *
 * p follows a schedule over the training step i (counted from 0):
 *   none             1 (teacher forcing)
 *   constant         p
 *   linear           max(eps, k - c i)
 *   exp              k^i
 *   inverse-sigmoid  k / (k + exp(i / k))
 *
 * Recurrent models (rnnlm) run step by step: the prediction at t decides
 * the input at t + 1. Attention models (gpt) take the two-pass method
 * (Mihaylova and Liu 2019): a first pass without gradient and without
 * dropout on the ground-truth inputs gives the predictions at every
 * position, then a second pass with gradient trains on the mixed inputs.
 * With p = 1 the second pass is the teacher-forced step bit for bit. */
#ifndef SEQC_TRAIN_SCHEDULED_H
#define SEQC_TRAIN_SCHEDULED_H

#include <stdbool.h>
#include <stdint.h>

#include "models/model.h"
#include "models/rnnlm.h"
#include "seq/rng.h"

typedef enum seqc_ss_kind {
	SEQC_SS_NONE,        /* teacher forcing */
	SEQC_SS_CONSTANT,
	SEQC_SS_LINEAR,
	SEQC_SS_EXP,
	SEQC_SS_INV_SIGMOID,
} seqc_ss_kind;

/* The model's own token: the most likely one (the first on ties) or one
 * drawn from its softmax at temperature 1. */
typedef enum seqc_ss_own {
	SEQC_SS_ARGMAX,
	SEQC_SS_SAMPLE,
} seqc_ss_own;

/* The spec key of each field is given in brackets. */
typedef struct seqc_ss_config {
	seqc_ss_kind kind;
	float p;         /* [p] constant: in [0, 1] (required) */
	float k;         /* [k] linear: in (0, 1] (1); exp: in (0, 1] (required);
			    inverse-sigmoid: > 0 (required) */
	float c;         /* [c] linear: decrease per step, >= 0 (required) */
	float eps;       /* [eps] linear: floor, in [0, 1] (0) */
	seqc_ss_own own; /* [own] argmax or sample (argmax) */
} seqc_ss_config;

/* Teacher forcing. */
SEQC_API seqc_ss_config seqc_ss_defaults(void);

/* "none", "constant:p=0.75", "linear:k=1,c=1e-4,eps=0.1", "exp:k=0.9995",
 * "inverse-sigmoid:k=500", each with an optional ",own=sample" (or
 * own=argmax). Unknown names and keys, missing required keys and values
 * out of range are errors naming the spec and the key. */
SEQC_API int seqc_ss_parse(const char *spec, seqc_ss_config *out);
/* The same checks for a config built by hand. */
SEQC_API int seqc_ss_check(const seqc_ss_config *c);
SEQC_API const char *seqc_ss_kind_name(seqc_ss_kind kind);
/* The spec of c, with only its kind's keys (each float in the fewest
 * digits that parse back to it), into buf [len]; returns the length it
 * needs, as snprintf. */
SEQC_API int seqc_ss_format(const seqc_ss_config *c, char *buf, size_t len);

/* The probability of feeding the ground truth at training step `step`
 * (negative steps count as 0). */
SEQC_API double seqc_ss_prob(const seqc_ss_config *c, int64_t step);

/* One mixing decision per row: for each of the B rows, one uniform draw
 * from rng; when it is >= p, next[b] is replaced by the model's token from
 * logits row b (logits [B, V]; own SAMPLE draws once more). next [B] holds
 * the ground truth on entry. SEQC_ENONFINITE when a chosen row's logits
 * hold a NaN; SEQC_EINVAL when p is outside [0, 1] or V is 0. */
SEQC_API int seqc_ss_choose(const seqc_ss_config *c, double p, seqc_rng *rng, const float *logits,
			    size_t B, size_t V, int32_t *next);

/* The step-by-step loss of an rnnlm with scheduled sampling: as
 * seqc_rnnlm_loss (same outputs), the inputs after the first of each row
 * mixed by seqc_ss_choose with probability p of the ground truth, drawing
 * from ss_rng. used [B, T] (or NULL) receives the inputs read. */
SEQC_API int seqc_ss_rnnlm_loss(seqc_graph *g, seqc_rnnlm *m, const seqc_ids *inputs,
				const seqc_ids *targets, seqc_tensor *h0, seqc_tensor *c0,
				seqc_rng *dropout_rng, const seqc_ss_config *c, double p,
				seqc_rng *ss_rng, int32_t *used, seqc_tensor **loss,
				seqc_tensor **h_n, seqc_tensor **c_n);

/* The two-pass loss of a gpt: as seqc_gpt_loss on the mixed inputs; the
 * first pass runs with gradients and dropout off. used [B, T] (or NULL)
 * receives the inputs of the second pass. */
SEQC_API int seqc_ss_gpt_loss(seqc_graph *g, seqc_gpt *m, const seqc_ids *inputs,
			      const seqc_ids *targets, seqc_rng *dropout_rng,
			      const seqc_ss_config *c, double p, seqc_rng *ss_rng, int32_t *used,
			      seqc_tensor **loss);

/* The loss of a sequence-to-sequence model with scheduled sampling, as
 * seqc_model_s2s_loss with the decoder inputs after bos mixed by
 * seqc_ss_choose (probability p of the ground truth, draws from ss_rng):
 * s2s-rnn step by step (each step's choice from the logits of the step
 * before, with gradients through the whole decoder), s2s-transformer in
 * two passes as seqc_ss_gpt_loss (padded positions draw nothing). used
 * [B, T] (or NULL) receives the decoder inputs read, bos first (s2s-rnn
 * chooses at padded positions too; s2s-transformer leaves tgt_in there). */
SEQC_API int seqc_ss_s2s_loss(seqc_graph *g, seqc_model *m, const seqc_s2s_batch *b,
			      seqc_rng *dropout_rng, const seqc_ss_config *c, double p,
			      seqc_rng *ss_rng, int32_t *used, seqc_tensor **loss);

#endif
