/* Beam search over the step interface, for every model kind.
 *
 * B prompts are searched together: their k beams each are rows of one
 * seqc_model_step call, and one seqc_model_reorder per step gathers the
 * chosen parents' states. At each step every alive beam expands to V
 * candidates (its log-probability sum plus the step's log_softmax); of each
 * prompt's k x V candidates the best 2k are taken in order: one ending in
 * eos among the first k joins the prompt's pool of finished hypotheses,
 * others become the next alive beams until there are k. The pool keeps the
 * k best finished hypotheses by normalized score. Alive beams are ranked by
 * their raw sum (as fairseq and Hugging Face do); length normalization and
 * coverage apply to finished hypotheses only.
 *
 * Lengths count generated tokens, eos included, never the prompt.
 *
 * Normalized score of a hypothesis of sum s (natural log, <= 0) and length n:
 *   none: s
 *   avg:  s / n^alpha            (alpha = 1: the mean log-probability)
 *   gnmt: s / ((5 + n) / 6)^alpha (Wu et al. 2016)
 * plus, when coverage_beta > 0, GNMT's coverage penalty
 *   beta * sum_i log(min(sum_t a_ti, 1))
 * over source positions i of the attention a_ti of every generated step t.
 *
 * A prompt stops when its alive beams run out, when max_len tokens have
 * been generated (the alive beams then join the pool), or when its pool
 * holds k hypotheses and
 *   - stop_at_first_k: always (Hugging Face's early_stopping=True);
 *   - otherwise the best alive sum, normalized at the current length, is no
 *     better than the worst kept hypothesis. With lenpen none (or alpha 0)
 *     this is exact: log-probabilities are <= 0, so sums only fall. With
 *     alpha > 0 a longer hypothesis is divided by more, so it is Hugging
 *     Face's is_done heuristic (early_stopping=False), not a bound: a beam
 *     could still end up above the worst kept hypothesis;
 *   - exact_stop: the best alive sum normalized at max_len instead, the
 *     largest divisor it can reach when alpha > 0 (Hugging Face's
 *     early_stopping="never"): a bound, so the search stops only when no
 *     alive beam can enter the pool.
 * With coverage, whose penalty is <= 0, the alive bound leaves it out (0).
 *
 * Processors (on the log-probabilities, after log_softmax, without
 * renormalizing, so a beam's sum is exactly the scoring API's sum of its
 * tokens; decode/logits.h's, as Hugging Face applies them in beam search):
 * eos is banned below min_len; with no_repeat_ngram = n, a token that would
 * complete an n-gram already present in the prompt (after its start token)
 * plus the generated tokens is banned.
 *
 * Ties between equal sums go to the lower beam slot, then the lower token
 * id. Next beams keep their parent's slot when it is free, so that the
 * model's reorder leaves those rows in place. */
#ifndef SEQC_DECODE_BEAM_H
#define SEQC_DECODE_BEAM_H

#include "models/model.h"

typedef enum seqc_lenpen {
	SEQC_LENPEN_NONE,
	SEQC_LENPEN_AVG,
	SEQC_LENPEN_GNMT,
} seqc_lenpen;

/* The coverage hook: a model with cross-attention writes the attention of
 * the step just taken into weights [rows, src_len] (row r's weights over the
 * source positions, combined over heads and layers as the model chooses;
 * each row sums to 1 for softmax attention). tokens [rows] are the tokens
 * that step fed. Negative code on failure. No model kind provides it yet:
 * sequence-to-sequence models must, to use coverage_beta > 0. */
typedef int (*seqc_beam_attention_fn)(void *ctx, size_t rows, const int32_t *tokens,
				      float *weights);

typedef struct seqc_beam_config {
	size_t beam;            /* k >= 1 */
	size_t nbest;           /* hypotheses returned per prompt, 1 <= nbest <= beam */
	seqc_lenpen lenpen;
	float alpha;            /* finite, >= 0 (avg and gnmt) */
	float coverage_beta;    /* finite, >= 0; 0 = off; > 0 needs attention */
	seqc_beam_attention_fn attention;
	void *attention_ctx;
	size_t src_len;         /* columns of the attention weights */
	const size_t *src_lens; /* [B] each prompt's source length <= src_len
				   (the rest is padding), or NULL: all src_len */
	size_t min_len;         /* eos banned while fewer tokens were generated */
	size_t max_len;         /* >= 1, >= min_len */
	size_t no_repeat_ngram; /* 0 = off */
	bool stop_at_first_k;
	bool exact_stop;        /* the bound at max_len (see above) */
} seqc_beam_config;

/* One finished hypothesis: the generated ids (eos last when it ended on
 * eos), their log-probability sum and the normalized score. */
typedef struct seqc_beam_hyp {
	int32_t *ids; /* [len], malloc'ed */
	size_t len;
	float logprob;
	float score;
} seqc_beam_hyp;

/* Per prompt: n hypotheses (n <= nbest; fewer when the search found
 * fewer), best score first. */
typedef struct seqc_beam_result {
	size_t n;
	seqc_beam_hyp *hyps; /* [n], malloc'ed */
} seqc_beam_result;

/* beam 4, nbest 1, lenpen none, alpha 1, no coverage, min_len 0,
 * max_len 100, no n-gram ban, neither stop_at_first_k nor exact_stop
 * (Hugging Face's defaults: exact for lenpen none). */
SEQC_API seqc_beam_config seqc_beam_defaults(void);

/* Checks every field (names the bad one). */
SEQC_API int seqc_beam_check(const seqc_beam_config *c);

/* The normalized score of a sum over len tokens (no coverage). */
SEQC_API float seqc_beam_lenpen_score(const seqc_beam_config *c, float logprob, size_t len);

/* GNMT's coverage penalty beta * sum_i log(min(coverage[i], 1)) over
 * coverage [n] (the attention summed over steps); <= 0. */
SEQC_API float seqc_beam_coverage_penalty(float beta, const float *coverage, size_t n);

/* Beam search from B prompts: prompts[b] [prompt_lens[b] >= 1] are ids in
 * [0, V), each starting with the start token; eos in [0, V). results is
 * caller storage [B], filled on success (free with seqc_beam_results_free)
 * and left empty on failure. g is used for the steps (reset each step).
 * Prompts of equal length are searched together; each group of another
 * length is a separate search (a step advances every row by one position,
 * so rows cannot be at different prompt positions).
 * The model's step errors pass through (gpt: SEQC_ERANGE when the prompt
 * plus max_len - 1 tokens exceed its context). */
SEQC_API int seqc_beam_search(seqc_model *m, seqc_graph *g, const seqc_beam_config *c,
			      const int32_t *const *prompts, const size_t *prompt_lens, size_t B,
			      int32_t eos, seqc_beam_result *results);

SEQC_API void seqc_beam_results_free(seqc_beam_result *results, size_t B); /* accepts NULL */

#endif
