/* Learning-rate schedules: the rate of each optimizer step as a function of
 * the step index, with a linear warmup in front of every kind.
 *
 * Steps are counted from 0: seqc_sched_lr(s, t) is the rate for the
 * (t+1)-th call of seqc_optim_step, i.e. nanoGPT's `it`. With W warmup
 * steps, for t < W:
 *   lr(t) = warmup_init + (target - warmup_init) * (t + 1) / W
 * where target is base_lr (the plateau kind: its current level), so the
 * last warmup step already runs at the target. From t = W on, with
 * u = t - W the steps since the warmup:
 *   constant     base_lr
 *   step         base_lr * gamma^floor(u / step_size)      (torch StepLR)
 *   exponential  base_lr * gamma^u                         (torch ExponentialLR)
 *   cosine       nanoGPT's get_lr: with r = (t - W) / (total - W),
 *                min_lr + (base_lr - min_lr) * (1 + cos(pi r)) / 2 for
 *                t <= total, min_lr after; total counts from step 0,
 *                warmup included, and the midpoint gives (base + min) / 2
 *   plateau      the current level: base_lr until seqc_sched_report
 *                lowers it (torch ReduceLROnPlateau, mode min, relative
 *                threshold); the one kind with state
 *   invsqrt      "Attention is all you need": with n = t + 1,
 *                base_lr * d_model^-0.5 * min(n^-0.5, n * W^-1.5),
 *                so base_lr is a factor (1 reproduces the paper) and the
 *                warmup is the formula's own (it rises linearly to its
 *                peak base_lr / sqrt(d_model W) at n = W, then decays as
 *                n^-0.5); W = 0 means no warmup: base_lr * (d_model n)^-0.5.
 *                warmup_init does not apply.
 * Rates are computed in double and returned as float. */
#ifndef SEQC_TRAIN_SCHEDULE_H
#define SEQC_TRAIN_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "seq/error.h"

typedef enum seqc_sched_kind {
	SEQC_SCHED_CONSTANT,
	SEQC_SCHED_STEP,
	SEQC_SCHED_EXPONENTIAL,
	SEQC_SCHED_COSINE,
	SEQC_SCHED_PLATEAU,
	SEQC_SCHED_INVSQRT,
} seqc_sched_kind;

/* Fields that do not apply to the kind are ignored. The spec key for
 * seqc_sched_parse is given in brackets. */
typedef struct seqc_sched_config {
	seqc_sched_kind kind;
	/* [lr] Rate after warmup (invsqrt: the factor), finite and >= 0.
	 * seqc_sched_parse leaves it NAN when the spec has no lr=, meaning
	 * "take the optimizer's lr": the caller must fill it in before
	 * seqc_sched_create, which refuses NAN. */
	float base_lr;
	int64_t warmup;       /* [warmup] linear warmup steps, >= 0; 0 = none */
	float warmup_init;    /* [warmup_init] rate the warmup starts from, >= 0 */
	int64_t step_size;    /* [size] step: steps between decays, >= 1 (required) */
	float gamma;          /* [gamma] step, exponential: in (0, 1] (exponential: required) */
	int64_t total;        /* [total] cosine: step where min_lr is reached, > warmup (required) */
	float min_lr;         /* [min] cosine: final rate; plateau: floor; in [0, base_lr] */
	float factor;         /* [factor] plateau: new = max(old * factor, min_lr), in (0, 1) */
	int64_t patience;     /* [patience] plateau: bad reports tolerated, >= 0 */
	float threshold;      /* [threshold] plateau: better means < best * (1 - threshold), in [0, 1) */
	int64_t cooldown;     /* [cooldown] plateau: reports ignored after a reduction, >= 0 */
	float d_model;        /* [d] invsqrt: model width, > 0 */
} seqc_sched_config;

/* The plateau kind's state, for saving and exact resume (torch's
 * ReduceLROnPlateau fields). The other kinds have none: their state is the
 * step index the caller passes. */
typedef struct seqc_sched_state {
	double lr;             /* current level (starts at base_lr) */
	double best;           /* lowest loss seen, +inf before the first report */
	int64_t num_bad;       /* reports since the last improvement */
	int64_t cooldown_left; /* reports still to ignore after a reduction */
	int64_t reports;       /* reports so far */
} seqc_sched_state;

typedef struct seqc_sched seqc_sched;

/* Defaults for kind: base_lr NAN (unset, see above), no warmup, and
 * torch's defaults where torch has them: step gamma 0.1; plateau factor
 * 0.1, patience 10, threshold 1e-4, cooldown 0, min_lr 0; invsqrt the
 * paper's warmup 4000 and d_model 512. Required fields (step size,
 * exponential gamma, cosine total) are 0, which create rejects. */
SEQC_API seqc_sched_config seqc_sched_defaults(seqc_sched_kind kind);

/* "constant", "step", "exp", "cosine", "plateau", "invsqrt" (the spec
 * names), or "unknown". */
SEQC_API const char *seqc_sched_kind_name(seqc_sched_kind kind);

/* Parse a command-line spec: a kind name, optionally followed by ':' and
 * comma-separated key=value pairs with no spaces, keys as in brackets above:
 *   "constant", "step:size=1000,gamma=0.5", "exp:gamma=0.999",
 *   "cosine:warmup=100,total=5000,min=1e-4", "plateau:factor=0.5,patience=2",
 *   "invsqrt:warmup=4000,d=512", "constant:lr=3e-4,warmup=200".
 * Starts from seqc_sched_defaults(kind). Integers are decimal digits only;
 * other numbers whole strings that strtod reads as finite floats. Unknown
 * names, keys that do not apply to the kind, repeated keys, missing
 * required keys and values out of range are errors with a message quoting
 * the offending part; *out is then unspecified. */
SEQC_API int seqc_sched_parse(const char *spec, seqc_sched_config *out);

/* 0 when c is acceptable to seqc_sched_create, else the error it gives. */
SEQC_API int seqc_sched_check(const seqc_sched_config *c);

/* A schedule from c (copied); NULL with a message naming the field when c
 * is not acceptable (base_lr must be set), or when memory runs out. */
SEQC_API seqc_sched *seqc_sched_create(const seqc_sched_config *c);
SEQC_API void seqc_sched_destroy(seqc_sched *s); /* accepts NULL */

/* The rate for step index step (from 0; a negative index is taken as 0).
 * A pure function of step, except that the plateau kind reads its state. */
SEQC_API float seqc_sched_lr(const seqc_sched *s, int64_t step);

/* Report a validation loss (after each evaluation). The plateau kind
 * updates its state as torch's ReduceLROnPlateau.step(loss) does (a NaN
 * loss counts as no improvement) and returns 1 when it lowered the rate,
 * 0 otherwise; the other kinds ignore the report and return 0. */
SEQC_API int seqc_sched_report(seqc_sched *s, double val_loss);

/* The plateau state (for the other kinds: lr = base_lr, best = +inf,
 * counters 0). */
SEQC_API seqc_sched_state seqc_sched_get_state(const seqc_sched *s);

/* Restore a saved state: lr finite and >= 0, best not NaN, counters >= 0;
 * SEQC_ERANGE otherwise, nothing changed. Other kinds accept and ignore
 * any valid state. */
SEQC_API int seqc_sched_set_state(seqc_sched *s, const seqc_sched_state *st);

/* The config the schedule was created with. */
SEQC_API const seqc_sched_config *seqc_sched_get_config(const seqc_sched *s);

#endif
