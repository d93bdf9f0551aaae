/* Optimizers over a parameter store, and gradient clipping.
 *
 * The update formulas are PyTorch 1.13's torch.optim (SGD, Adagrad, RMSprop,
 * Adam, AdamW; single-tensor code path, maximize=False, amsgrad=False), in
 * float32 with the same order of operations. The optimizer state mirrors the
 * store's flat block: each named buffer holds [numel] floats, so a step is
 * one loop over flat arrays and the state can be saved and restored exactly.
 *
 * One deviation from a single torch param group: parameters flagged no_decay
 * in the store (biases, norms, embeddings) get no weight decay unless the
 * config says decay_all. In torch terms: two param groups, the no_decay one
 * with weight_decay=0.
 *
 * Use:
 *   seqc_optim_config c = seqc_optim_defaults(SEQC_OPT_ADAMW);
 *   seqc_optim *o = seqc_optim_create(params, &c);
 *   each step: backward; seqc_clip_grad_norm(params, 1.0f);
 *              seqc_optim_step(o, params, seqc_sched_lr(sched, step));
 *   seqc_optim_destroy(o); */
#ifndef SEQC_TRAIN_OPTIM_H
#define SEQC_TRAIN_OPTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq/error.h"
#include "seq/params.h"

typedef enum seqc_opt_kind {
	SEQC_OPT_SGD,
	SEQC_OPT_ADAGRAD,
	SEQC_OPT_RMSPROP,
	SEQC_OPT_ADAM,
	SEQC_OPT_ADAMW,
} seqc_opt_kind;

/* Hyperparameters. Fields that do not apply to the kind are ignored. The
 * spec key for seqc_optim_parse is given in brackets. */
typedef struct seqc_optim_config {
	seqc_opt_kind kind;
	/* [lr] Base learning rate, >= 0. seqc_optim_step takes the rate of each
	 * step as an argument (from a schedule); this is the value a schedule
	 * starts from when it is not given one of its own. */
	float lr;
	float momentum;    /* [momentum] SGD, RMSprop: in [0, 1); 0 = none */
	float dampening;   /* [dampening] SGD: in [0, 1] */
	bool nesterov;     /* [nesterov] SGD: needs momentum > 0 and dampening 0 */
	/* [wd] L2 penalty added to the gradient (g += wd * p) for SGD, Adagrad,
	 * RMSprop and Adam; decoupled for AdamW (p *= 1 - lr * wd before the
	 * update). >= 0. Applied only to parameters not flagged no_decay. */
	float weight_decay;
	float beta1, beta2; /* [beta1] [beta2] Adam, AdamW: in [0, 1) */
	float eps;         /* [eps] Adagrad, RMSprop, Adam, AdamW: > 0 */
	float alpha;       /* [alpha] RMSprop smoothing constant: in [0, 1) */
	bool centered;     /* [centered] RMSprop: normalize by the variance estimate */
	float lr_decay;    /* [lr_decay] Adagrad: lr / (1 + (t - 1) * lr_decay), >= 0 */
	float initial_accumulator_value; /* [init_acc] Adagrad: start of "sum", >= 0 */
	bool decay_all;    /* [decay_all] also decay parameters flagged no_decay */
} seqc_optim_config;

typedef struct seqc_optim seqc_optim;

/* PyTorch 1.13's defaults for kind: SGD lr 1e-3 (1.13 has no default; this
 * is the one later releases adopted), momentum 0; Adagrad lr 1e-2, eps 1e-10;
 * RMSprop lr 1e-2, alpha 0.99, eps 1e-8; Adam lr 1e-3, betas (0.9, 0.999),
 * eps 1e-8, weight decay 0; AdamW the same with weight decay 1e-2. Every
 * other field 0 or false. An unknown kind gives Adam's defaults with that
 * kind, which seqc_optim_create rejects. */
SEQC_API seqc_optim_config seqc_optim_defaults(seqc_opt_kind kind);

/* "sgd", "adagrad", "rmsprop", "adam", "adamw", or "unknown". */
SEQC_API const char *seqc_optim_kind_name(seqc_opt_kind kind);

/* Parse a command-line spec: a kind name, optionally followed by ':' and
 * comma-separated key=value pairs with no spaces, keys as in brackets above:
 *   "adamw", "adam:beta2=0.99,eps=1e-9", "sgd:lr=0.1,momentum=0.9,nesterov=1",
 *   "rmsprop:alpha=0.95,centered=1", "adagrad:lr_decay=1e-4".
 * Starts from seqc_optim_defaults(kind). Numbers must be whole strings that
 * strtod reads as finite floats; booleans are 0, 1, false or true. Unknown
 * names, keys that do not apply to the kind, repeated keys and values out of
 * range are errors (SEQC_EINVAL, SEQC_EFORMAT, SEQC_ERANGE, SEQC_ENONFINITE)
 * with a message quoting the offending part; *out is then unspecified. */
SEQC_API int seqc_optim_parse(const char *spec, seqc_optim_config *out);

/* 0 when c is acceptable to seqc_optim_create, else the error it would give. */
SEQC_API int seqc_optim_check(const seqc_optim_config *c);

/* An optimizer for the finalized store p, with zeroed state (Adagrad's
 * "sum" starts at initial_accumulator_value) and step count 0. The config
 * is copied. NULL on a bad config (the message names the field) or when
 * memory runs out. */
SEQC_API seqc_optim *seqc_optim_create(const seqc_params *p, const seqc_optim_config *c);
SEQC_API void seqc_optim_destroy(seqc_optim *o); /* accepts NULL */

/* One update of p->values from p->grads as they are (clip them first if
 * wanted), at learning rate lr (finite, >= 0), then count the step. p must
 * be the store the optimizer was created for (same numel; its no_decay
 * flags are read at each step). Grads are not modified. Bit-for-bit the
 * same for any number of threads. */
SEQC_API int seqc_optim_step(seqc_optim *o, seqc_params *p, float lr);

/* The config the optimizer was created with. */
SEQC_API const seqc_optim_config *seqc_optim_get_config(const seqc_optim *o);

/* ---- state, for saving and exact resume ----
 *
 * Named buffers of [numel] floats each, as torch names them:
 *   SGD      "momentum_buffer" (when momentum > 0)
 *   Adagrad  "sum"
 *   RMSprop  "square_avg", then "momentum_buffer" (momentum > 0), then
 *            "grad_avg" (centered)
 *   Adam(W)  "exp_avg", "exp_avg_sq"
 * plus the number of steps taken, which Adam's bias correction, Adagrad's
 * lr_decay and SGD's first momentum step (buffer = gradient) depend on.
 * Restoring every buffer and the step count into an optimizer created with
 * the same config makes the following steps bit-for-bit those of the
 * uninterrupted run. */

/* Elements per buffer (the store's numel). */
SEQC_API size_t seqc_optim_numel(const seqc_optim *o);

/* Number of named buffers (0 for plain SGD). */
SEQC_API size_t seqc_optim_state_count(const seqc_optim *o);

/* Name of buffer i, or NULL when i >= seqc_optim_state_count(o). */
SEQC_API const char *seqc_optim_state_name(const seqc_optim *o, size_t i);

/* Buffer i itself ([numel] floats, valid until destroy), or NULL when i is
 * out of range: lets a saver write the state without a copy. */
SEQC_API const float *seqc_optim_state_data(const seqc_optim *o, size_t i);

/* Copy the buffer called name out into dst [n], n == seqc_optim_numel(o).
 * SEQC_EINVAL for a name this optimizer does not have, SEQC_ESHAPE for a
 * wrong n. */
SEQC_API int seqc_optim_get_state(const seqc_optim *o, const char *name, float *dst, size_t n);

/* Copy src [n] into the buffer called name, n == seqc_optim_numel(o). The
 * values are checked before anything is copied: all finite, and >= 0 for
 * the second-moment buffers ("sum", "square_avg", "exp_avg_sq");
 * SEQC_ENONFINITE or SEQC_ERANGE names the first bad element. */
SEQC_API int seqc_optim_set_state(seqc_optim *o, const char *name, const float *src, size_t n);

/* Steps taken (or set). */
SEQC_API int64_t seqc_optim_steps(const seqc_optim *o);

/* Set the step count, >= 0 (SEQC_ERANGE otherwise). */
SEQC_API int seqc_optim_set_steps(seqc_optim *o, int64_t steps);

/* ---- gradient clipping ---- */

/* Global L2 norm of all of p's gradients, accumulated in double over fixed
 * chunks, so the result does not depend on the number of threads. NaN or
 * infinity when a gradient is. SEQC_ESTATE (negative, so never a norm)
 * when p is not finalized. */
SEQC_API double seqc_grad_norm(const seqc_params *p);

/* As torch.nn.utils.clip_grad_norm_: let norm = seqc_grad_norm(p); when
 * max_norm / (norm + 1e-6) < 1, multiply every gradient by that factor.
 * Returns the norm before clipping. A non-finite norm is returned as it is
 * and nothing is scaled: the caller decides (skip the step, stop). A
 * max_norm that is not finite and > 0 returns SEQC_EINVAL, and a store
 * not finalized SEQC_ESTATE (negative, so never a norm), with a message. */
SEQC_API double seqc_clip_grad_norm(seqc_params *p, float max_norm);

/* As torch.nn.utils.clip_grad_value_: clamp every gradient to [-clip, clip]
 * (NaN stays NaN). clip must be finite and >= 0, else SEQC_EINVAL; p must
 * be finalized, else SEQC_ESTATE. */
SEQC_API int seqc_clip_grad_value(seqc_params *p, float clip);

#endif
