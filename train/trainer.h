/* Training a language model on a token stream: B contiguous streams,
 * truncated BPTT (k1 steps between updates, k2 steps backpropagated), an
 * optimizer with a schedule and clipping, a full validation pass every N
 * steps, early stopping, the best and the last checkpoint, and a state file
 * so that a resumed run continues bit-for-bit.
 *
 * Files in out_dir:
 *   model.safetensors       the best model by validation loss
 *   last.safetensors        the model at the last save
 *   last.state.safetensors  optimizer moments, carried hidden state, and
 *                           (metadata "seqc.train_state") step, data
 *                           position, RNG state, schedule state, best loss
 *   log.jsonl               one JSON object per log or evaluation line
 *                           (train lines carry "ss_prob" under scheduled
 *                           sampling)
 *   loss.svg                train and validation loss against steps
 *
 * Truncated BPTT: with k2 >= k1, each update scores k1 new positions and
 * backpropagates through a window of up to k2 positions ending there (the
 * first k2 - k1 already scored by the previous update); the state carried
 * to the next window is a detached copy. With k2 < k1, the first k1 - k2
 * positions of each chunk run without gradient and only the last k2 are
 * scored and backpropagated.
 *
 * Scheduled sampling (c->ss, train/scheduled.h): every update mixes its
 * inputs with the probability of its step index (counted from 0), from a
 * stream of its own saved in the state; each segment starts from the
 * ground truth, and a burn-in recomputed from the previous update (k2 > k1)
 * draws its mixing afresh. Validation is always teacher-forced. A run
 * resumes only with the spec it was trained with. */
#ifndef SEQC_TRAIN_TRAINER_H
#define SEQC_TRAIN_TRAINER_H

#include <stdio.h>

#include "models/model.h"
#include "train/optim.h"
#include "train/pairs.h"
#include "train/schedule.h"
#include "train/scheduled.h"

/* What a non-finite loss or gradient norm does (the message names the
 * step and the first parameter whose gradient, or value, is NaN or Inf). */
typedef enum seqc_nonfinite_policy {
	SEQC_NONFINITE_STOP, /* training ends with SEQC_ENONFINITE; last.safetensors is the last
				good checkpoint */
	SEQC_NONFINITE_SKIP, /* the batch is dropped without an update (logged as a "skip"
				event), up to max_skips times */
} seqc_nonfinite_policy;

typedef struct seqc_train_config {
	size_t batch;            /* B streams; seq2seq: the token budget of a batch (padded
				    positions B * max(S, T), as fairseq's --max-tokens) */
	size_t k1, k2;           /* BPTT: steps between updates, steps backpropagated */
	int64_t steps;           /* stop after this many updates in all (0: no limit) */
	double time_limit;       /* stop after this many seconds of this run (0: none) */
	seqc_optim_config optim;
	seqc_sched_config sched;
	seqc_ss_config ss;       /* inputs: teacher forcing (default) or scheduled sampling */
	float clip_norm;         /* 0: no clipping by norm */
	float clip_value;        /* 0: no clipping by value */
	int64_t eval_every;      /* updates between validation passes (0: only at the end) */
	size_t eval_chunk;       /* positions per validation chunk */
	int64_t patience;        /* stop after this many evaluations without improvement (0: never);
				    only the scheduled ones count, not the extra one at the end of a
				    run, so that a resumed run stops where a straight one would */
	int64_t log_every;       /* updates between train log lines */
	uint64_t seed;           /* dropout stream (the init stream is the caller's) */
	const char *out_dir;
	seqc_nonfinite_policy on_nonfinite; /* a NaN or Inf loss or gradient norm: stop
				    (default) or skip the batch */
	int64_t max_skips;       /* skip: at most this many skipped updates in all (10); one
				    more stops */
	int64_t poison_step;     /* testing: make update number poison_step (from 1, over all
				    runs) non-finite once: its loss, or with poison_param the
				    first element of that parameter's gradient (0: never) */
	const char *poison_param;
	bool resume;             /* continue from out_dir/last.* */
	bool overwrite;          /* start afresh even if out_dir holds a run (its files are replaced) */
} seqc_train_config;

/* Defaults: B 32, k1 = k2 = 64, Adam lr 2e-3 constant, clip norm 5 (as
 * char-rnn), eval every 500 with chunks of 256, patience 0, log every 50. */
SEQC_API seqc_train_config seqc_train_defaults(void);

/* What the trainer reports as it goes (to a callback). */
typedef enum seqc_train_event {
	SEQC_TRAIN_STEP,  /* after an update that is logged */
	SEQC_TRAIN_EVAL,  /* after a validation pass */
	SEQC_TRAIN_DONE,
	SEQC_TRAIN_SKIP,  /* an update skipped for a non-finite value (message says why) */
} seqc_train_event;

typedef struct seqc_train_progress {
	seqc_train_event event;
	int64_t step;          /* updates done */
	int64_t steps;         /* the limit (0: none) */
	double loss;           /* mean train loss since the last log line (nats/token) */
	double val_loss;       /* last validation loss (NAN before the first) */
	double best_val_loss;
	double lr;
	double grad_norm;      /* before clipping, last update */
	double tokens_per_s;   /* training tokens (scored) per second, this run */
	double elapsed;        /* seconds, over all runs of this training */
	double eta;            /* seconds left (NAN when unknown) */
	int64_t epoch;
	bool improved;         /* EVAL: this was the best so far (model.safetensors written) */
	const char *stop_reason; /* DONE: "steps", "time", "early stopping" */
	double ss_prob;        /* STEP: probability of the ground truth at the last update (1:
				  teacher forcing) */
	double val_score;      /* seq2seq with a validation score (BLEU): the last one (NAN:
				  none) */
	double best_val_score;
	const char *score_name; /* "bleu" */
	const char *message;   /* SKIP: what was skipped and why */
} seqc_train_progress;

typedef void (*seqc_train_callback)(const seqc_train_progress *p, void *ctx);

/* Memory the run will take, for the report printed before training. */
typedef struct seqc_train_memory {
	size_t params, grads, optim_state, activations, data; /* bytes */
} seqc_train_memory;
SEQC_API seqc_train_memory seqc_train_estimate(const seqc_model *m, const seqc_train_config *c,
					       size_t n_train, size_t n_val);

/* Train m on train_ids [n_train] (each stream preceded by bos), validating
 * on val_ids [n_val]. tokenizer_json is stored in the checkpoints. On
 * resume, m's parameters and everything else are replaced from out_dir (the
 * model's config must match). Returns 0 when training ran to a stop, or a
 * negative code (bad config, unwritable out_dir, corrupt state, a
 * non-finite loss or gradient: the last good checkpoint stays). */
SEQC_API int seqc_train_lm(seqc_model *m, const int32_t *train_ids, size_t n_train,
			   const int32_t *val_ids, size_t n_val, int32_t bos,
			   const seqc_train_config *c, const char *tokenizer_json,
			   seqc_train_callback cb, void *ctx);

/* Sequence-to-sequence training (s2s-rnn, s2s-transformer) on sentence
 * pairs: batches of about c->batch padded positions, sorted by length and
 * shuffled per epoch (train/pairs.h), teacher forcing or scheduled
 * sampling (recurrent decoders step by step, transformers in two passes),
 * the same optimizer, schedules, clipping, checkpoints, exact resume and
 * early stopping as the language models (c->k1, k2 and eval_chunk unused).
 * Each validation pass computes the loss (nats per target token, without
 * label smoothing) over the validation pairs and, when validate is given,
 * a score where higher is better (the caller's BLEU of beam search on the
 * validation sources): model.safetensors keeps the best by that score
 * (else by the loss), and early stopping and the plateau schedule follow
 * it. */
typedef int (*seqc_train_validate_fn)(void *ctx, seqc_model *m, double *score);

typedef struct seqc_s2s_data {
	const seqc_pairs *train; /* with targets */
	const seqc_pairs *valid; /* with targets */
	size_t max_sentences;    /* rows per batch (0: no limit) */
	seqc_train_validate_fn validate; /* NULL: keep the best by validation loss */
	void *validate_ctx;
	const char *score_name;  /* the score's name in the log ("bleu") */
} seqc_s2s_data;

SEQC_API int seqc_train_s2s(seqc_model *m, const seqc_s2s_data *d, const seqc_train_config *c,
			    const char *tokenizer_json, seqc_train_callback cb, void *ctx);

/* Mean cross-entropy (nats per target token, no label smoothing) of the
 * pairs p, in batches of max_tokens padded positions, teacher-forced. */
SEQC_API int seqc_eval_s2s(seqc_model *m, const seqc_pairs *p, size_t max_tokens, double *loss);

/* The batch, bptt (k1, k2) and scheduled-sampling policy of the run saved
 * in out_dir, so that a resumed run can take them without the user
 * repeating the flags. */
SEQC_API int seqc_train_saved_run(const char *out_dir, size_t *batch, size_t *k1, size_t *k2,
				  seqc_ss_config *ss);

/* Mean cross-entropy (nats per token) of ids [n] (preceded by bos) in one
 * full pass: B contiguous streams, chunks of T positions, state carried. */
SEQC_API int seqc_eval_lm(seqc_model *m, const int32_t *ids, size_t n, int32_t bos, size_t B,
			  size_t T, double *loss);

#endif
