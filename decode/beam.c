#include "decode/beam.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/logits.h"
#include "seq/fastmath.h"
#include "seq/graph_internal.h"
#include "seq/ops.h"

seqc_beam_config seqc_beam_defaults(void)
{
	return (seqc_beam_config){ .beam = 4, .nbest = 1, .lenpen = SEQC_LENPEN_NONE, .alpha = 1.0f,
				   .max_len = 100 };
}

int seqc_beam_check(const seqc_beam_config *c)
{
	if (!c->beam)
		return seqc_error(SEQC_EINVAL, "beam: beam size must be at least 1");
	if (c->beam > ((size_t)1 << 20))
		return seqc_error(SEQC_EINVAL, "beam: beam size %zu is too large", c->beam);
	if (!c->nbest || c->nbest > c->beam)
		return seqc_error(SEQC_EINVAL, "beam: nbest %zu is outside [1, beam %zu]", c->nbest, c->beam);
	if (c->lenpen != SEQC_LENPEN_NONE && c->lenpen != SEQC_LENPEN_AVG && c->lenpen != SEQC_LENPEN_GNMT)
		return seqc_error(SEQC_EINVAL, "beam: unknown length penalty %d", (int)c->lenpen);
	if (!isfinite(c->alpha) || c->alpha < 0.0f)
		return seqc_error(SEQC_EINVAL, "beam: alpha %g must be finite and >= 0", (double)c->alpha);
	if (!isfinite(c->coverage_beta) || c->coverage_beta < 0.0f)
		return seqc_error(SEQC_EINVAL, "beam: coverage beta %g must be finite and >= 0",
				  (double)c->coverage_beta);
	if (c->coverage_beta > 0.0f && (!c->attention || !c->src_len))
		return seqc_error(SEQC_EINVAL,
				  "beam: coverage beta %g needs the attention hook and a source length",
				  (double)c->coverage_beta);
	if (!c->max_len || c->max_len > ((size_t)1 << 24))
		return seqc_error(SEQC_EINVAL, "beam: max_len %zu is outside [1, 2^24]", c->max_len);
	if (c->min_len > c->max_len)
		return seqc_error(SEQC_EINVAL, "beam: min_len %zu is above max_len %zu", c->min_len,
				  c->max_len);
	return 0;
}

float seqc_beam_lenpen_score(const seqc_beam_config *c, float logprob, size_t len)
{
	double n = (double)len;
	switch (c->lenpen) {
	case SEQC_LENPEN_AVG:
		return (float)(logprob / pow(n, c->alpha));
	case SEQC_LENPEN_GNMT:
		return (float)(logprob / pow((5.0 + n) / 6.0, c->alpha));
	default:
		return logprob;
	}
}

float seqc_beam_coverage_penalty(float beta, const float *coverage, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += log(coverage[i] < 1.0f ? (double)coverage[i] : 1.0);
	return (float)(beta * s);
}

/* A candidate: beam j of its prompt extended by tok, sum of log-probs. */
typedef struct cand {
	float sum;
	uint32_t j;
	int32_t tok;
} cand;

/* Worse in the search's order: lower sum, then later (beam, token), so
 * ties resolve the same way on every run. */
static bool worse(const cand *a, const cand *b)
{
	if (a->sum != b->sum)
		return a->sum < b->sum;
	return a->j != b->j ? a->j > b->j : a->tok > b->tok;
}

static int cmp_better_first(const void *pa, const void *pb)
{
	const cand *a = pa, *b = pb;
	return worse(a, b) ? 1 : worse(b, a) ? -1 : 0;
}

/* Min-heap on worse(): heap[0] is the worst kept candidate. */
static void heap_sift_down(cand *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && worse(&h[l], &h[m]))
			m = l;
		if (r < n && worse(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		cand t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void heap_push(cand *h, size_t *n, cand c)
{
	size_t i = (*n)++;
	h[i] = c;
	while (i) {
		size_t p = (i - 1) / 2;
		if (!worse(&h[i], &h[p]))
			return;
		cand t = h[i];
		h[i] = h[p];
		h[p] = t;
		i = p;
	}
}

/* The search of one group of G prompts of equal length P. Per beam
 * (prompt g, beam j at g * k + j): its sum (-inf: dead filler), its
 * history (the prompt after the start token, then the generated tokens:
 * what the logits processors read), its coverage, and the model row it
 * sits in. The pool of prompt g holds up to k finished hypotheses at
 * g * k + i. */
typedef struct search {
	seqc_model *m;
	seqc_graph *g;
	const seqc_beam_config *c;
	size_t G, k, V, P, W; /* W = P - 1 + max_len history columns */
	int32_t eos;
	const int32_t *const *prompts; /* [G] of the group */
	const size_t *src_lens;        /* [G] */
	float *sum, *sum_next;         /* [G k] */
	int32_t *hist, *hist_next;     /* [G k, W] */
	float *cov, *cov_next;         /* [G k, S] (coverage only) */
	float *attn;                   /* [G k, S] the last step's weights */
	size_t *row;                   /* [G k] model row of each beam */
	size_t *from;                  /* [G k] reorder parents */
	int32_t *tokens;               /* [G k] fed to the next step */
	bool *done;                    /* [G] */
	cand *cands;                   /* [2k] */
	size_t *sel, *slot;            /* [k] chosen candidates, their slots */
	bool *taken;                   /* [k] slots taken */
	size_t *pool_n;                /* [G] */
	int32_t *pool_ids;             /* [G k, max_len] */
	size_t *pool_len;              /* [G k] */
	float *pool_lp, *pool_score;   /* [G k] */
} search;

static bool mul_fits(size_t a, size_t b, size_t *out)
{
	if (a && b > SIZE_MAX / a)
		return false;
	*out = a * b;
	return true;
}

/* Every buffer of the search: where it goes, its element count and size,
 * for one allocation loop and one free loop. */
typedef struct buffer {
	void **p;
	size_t n, size;
} buffer;

enum { SEARCH_BUFFERS = 20 }; /* the BUF lines below */

static size_t search_buffers(search *s, size_t Gk, size_t GkW, size_t GkL, size_t GkS, buffer *t)
{
	size_t n = 0;
#define BUF(field, count) (t[n++] = (buffer){ (void **)&s->field, (count), sizeof *s->field })
	BUF(sum, Gk);
	BUF(sum_next, Gk);
	BUF(hist, GkW);
	BUF(hist_next, GkW);
	BUF(cov, GkS);
	BUF(cov_next, GkS);
	BUF(attn, GkS);
	BUF(row, Gk);
	BUF(from, Gk);
	BUF(tokens, Gk);
	BUF(done, s->G);
	BUF(cands, 2 * s->k);
	BUF(sel, s->k);
	BUF(slot, s->k);
	BUF(taken, s->k);
	BUF(pool_n, s->G);
	BUF(pool_ids, GkL);
	BUF(pool_len, Gk);
	BUF(pool_lp, Gk);
	BUF(pool_score, Gk);
#undef BUF
	return n;
}

static void search_free(search *s)
{
	buffer t[SEARCH_BUFFERS];
	size_t n = search_buffers(s, 0, 0, 0, 0, t);
	for (size_t i = 0; i < n; i++)
		free(*t[i].p);
}

/* Every buffer zeroed (calloc also refuses an overflowing n x size);
 * the coverage buffers only with coverage. */
static int search_alloc(search *s)
{
	size_t S = s->c->coverage_beta > 0.0f ? s->c->src_len : 0, Gk, GkW, GkL, GkS;
	if (!mul_fits(s->G, s->k, &Gk) || !mul_fits(Gk, s->W, &GkW) ||
	    !mul_fits(Gk, s->c->max_len, &GkL) || !mul_fits(Gk, S, &GkS))
		return seqc_error(SEQC_ENOMEM, "beam: %zu prompts x beam %zu x %zu positions is too large",
				  s->G, s->k, s->W);
	buffer t[SEARCH_BUFFERS];
	size_t n = search_buffers(s, Gk, GkW, GkL, GkS, t);
	for (size_t i = 0; i < n; i++)
		if (t[i].n && !(*t[i].p = calloc(t[i].n, t[i].size)))
			return seqc_error(SEQC_ENOMEM, "beam: cannot allocate the search state (%zu x %zu bytes)",
					  t[i].n, t[i].size);
	return 0;
}

static size_t cov_cols(const search *s)
{
	return s->c->coverage_beta > 0.0f ? s->c->src_len : 0;
}

/* Index of the worst hypothesis in prompt g's pool (n > 0). */
static size_t pool_worst(const search *s, size_t g)
{
	size_t base = g * s->k, w = base;
	for (size_t i = base + 1; i < base + s->pool_n[g]; i++)
		w = s->pool_score[i] < s->pool_score[w] ? i : w;
	return w;
}

/* Offer beam j of prompt g extended by tok (sum over len tokens) to the
 * pool: kept when the pool has room or it beats the worst. */
static void pool_offer(search *s, size_t g, size_t j, int32_t tok, float sum, size_t len)
{
	size_t S = cov_cols(s), b = g * s->k + j;
	float score = seqc_beam_lenpen_score(s->c, sum, len);
	if (S)
		score += seqc_beam_coverage_penalty(s->c->coverage_beta, s->cov + b * S, s->src_lens[g]);
	size_t at;
	if (s->pool_n[g] < s->k) {
		at = g * s->k + s->pool_n[g]++;
	} else {
		at = pool_worst(s, g);
		if (!(score > s->pool_score[at]))
			return;
	}
	int32_t *ids = s->pool_ids + at * s->c->max_len;
	memcpy(ids, s->hist + b * s->W + (s->P - 1), (len - 1) * sizeof *ids);
	ids[len - 1] = tok;
	s->pool_len[at] = len;
	s->pool_lp[at] = sum;
	s->pool_score[at] = score;
}

/* The logits processors on beam b's log-probabilities lp [V] after cur
 * generated tokens. */
static int process(search *s, size_t b, float *lp, size_t cur)
{
	int rc = seqc_logits_min_length(lp, s->V, cur, s->c->min_len, s->eos);
	if (rc < 0)
		return rc;
	return seqc_logits_no_repeat_ngram(lp, s->V, s->hist + b * s->W, s->P - 1 + cur,
					   s->c->no_repeat_ngram);
}

/* The best 2k finite candidates of prompt g (fewer when there are
 * fewer) from the log-probs lp [rows, V], best first, their number in
 * *count. A partial selection: a heap of 2k, not a sort of k V. */
static int top_candidates(search *s, size_t g, float *lp, size_t cur, size_t *count)
{
	size_t k = s->k, V = s->V, n = 0, cap = 2 * k;
	for (size_t j = 0; j < k; j++) {
		size_t b = g * k + j;
		float base = s->sum[b];
		if (base == -INFINITY)
			continue;
		float *r = lp + s->row[b] * V;
		int rc = process(s, b, r, cur);
		if (rc < 0)
			return rc;
		for (size_t v = 0; v < V; v++) {
			float x = base + r[v];
			if (!(x > -INFINITY)) {
				if (isnan(x))
					return seqc_error(SEQC_ENONFINITE,
							  "beam: log-probability of token %zu is NaN", v);
				continue; /* banned */
			}
			if (n == cap && x <= s->cands[0].sum)
				continue; /* ties: a later (j, v) is the worse one */
			cand c = { x, (uint32_t)j, (int32_t)v };
			if (n < cap) {
				heap_push(s->cands, &n, c);
			} else {
				s->cands[0] = c;
				heap_sift_down(s->cands, n, 0);
			}
		}
	}
	qsort(s->cands, n, sizeof *s->cands, cmp_better_first);
	*count = n;
	return 0;
}

/* The next beam nj of prompt g: beam j extended by tok. */
static void extend(search *s, size_t g, size_t nj, const cand *c, size_t cur)
{
	size_t k = s->k, S = cov_cols(s), b = g * k + c->j, nb = g * k + nj;
	s->sum_next[nb] = c->sum;
	memcpy(s->hist_next + nb * s->W, s->hist + b * s->W, (s->P - 1 + cur) * sizeof *s->hist);
	s->hist_next[nb * s->W + s->P - 1 + cur] = c->tok;
	if (S)
		memcpy(s->cov_next + nb * S, s->cov + b * S, S * sizeof *s->cov);
	s->from[nb] = s->row[b];
	s->tokens[nb] = c->tok;
}

/* The next beams, cands[sel[0..alive)] in score order, into prompt g's
 * slots: each to its parent's slot when that is still free (the model's
 * row then stays where it is, and reorder skips identity rows: most of
 * the key/value copies of a transformer), the others to the free slots
 * left; the slots still free hold dead fillers. */
static void place(search *s, size_t g, size_t alive, size_t cur)
{
	size_t k = s->k, free_j = 0;
	memset(s->taken, 0, k * sizeof *s->taken);
	for (size_t i = 0; i < alive; i++) {
		size_t j = s->cands[s->sel[i]].j;
		s->slot[i] = s->taken[j] ? k : j;
		s->taken[j] |= s->slot[i] == j;
	}
	for (size_t i = 0; i < alive; i++) {
		if (s->slot[i] < k)
			continue;
		while (s->taken[free_j])
			free_j++;
		s->taken[free_j] = true;
		s->slot[i] = free_j;
	}
	for (size_t i = 0; i < alive; i++)
		extend(s, g, s->slot[i], &s->cands[s->sel[i]], cur);
	for (size_t j = 0; j < k; j++) {
		if (s->taken[j])
			continue;
		/* a filler: dead, fed eos in its own row (any valid source) */
		size_t nb = g * k + j;
		s->sum_next[nb] = -INFINITY;
		s->from[nb] = s->row[nb];
		s->tokens[nb] = s->eos;
	}
}

/* One step's choice for prompt g from lp [rows, V] after cur generated
 * tokens: finished hypotheses to the pool, the next k beams (dead fillers
 * when fewer), and whether the prompt is done. */
static int choose(search *s, size_t g, float *lp, size_t cur)
{
	size_t k = s->k, n = 0, alive = 0;
	int rc = top_candidates(s, g, lp, cur, &n);
	if (rc < 0)
		return rc;
	bool last = cur + 1 == s->c->max_len;
	for (size_t i = 0; i < n && alive < k; i++) {
		const cand *c = &s->cands[i];
		if (c->tok == s->eos) {
			/* only eos among the first k counts, as fairseq and HF */
			if (i < k)
				pool_offer(s, g, c->j, c->tok, c->sum, cur + 1);
			continue;
		}
		if (last)
			pool_offer(s, g, c->j, c->tok, c->sum, cur + 1);
		s->sel[alive++] = i;
	}
	if (last || !alive) {
		s->done[g] = true;
		return 0;
	}
	float best = s->cands[s->sel[0]].sum;
	place(s, g, alive, cur);
	if (s->pool_n[g] == k) {
		float worst = s->pool_score[pool_worst(s, g)];
		size_t at = s->c->exact_stop ? s->c->max_len : cur + 1;
		s->done[g] = s->c->stop_at_first_k || seqc_beam_lenpen_score(s->c, best, at) <= worst;
	}
	return 0;
}

/* Add the step's attention of every live beam to its coverage. */
static int accumulate_coverage(search *s, size_t rows, const int32_t *fed)
{
	size_t S = cov_cols(s);
	if (!S)
		return 0;
	int rc = s->c->attention(s->c->attention_ctx, rows, fed, s->attn);
	if (rc < 0)
		return rc;
	for (size_t b = 0; b < s->G * s->k; b++)
		if (s->sum[b] != -INFINITY && !s->done[b / s->k])
			for (size_t i = 0; i < S; i++)
				s->cov[b * S + i] += s->attn[s->row[b] * S + i];
	return 0;
}

/* log_softmax of a row x [V] in place: (x - max) - log(sum exp(x - max))
 * as the op computes it, but with seq/fastmath.h's vectorized exp and lane
 * sums instead of libm's expf in one chain, and no second [rows, V] array.
 * A NaN anywhere makes the whole row NaN (the search refuses it). */
SEQC_SIMD_CLONES static void log_softmax_row(float *x, size_t V)
{
	float max = x[0], part[SEQC_LANES] = { 0 };
	for (size_t v = 1; v < V; v++)
		max = x[v] > max ? x[v] : max;
	size_t v = 0;
	for (; v + SEQC_LANES <= V; v += SEQC_LANES)
		for (int l = 0; l < SEQC_LANES; l++)
			part[l] += seqc_fast_exp(x[v + l] - max);
	float sum = seqc_lanes_sum(part);
	for (; v < V; v++)
		sum += seqc_fast_exp(x[v] - max);
	float logsum = logf(sum);
	for (v = 0; v < V; v++)
		x[v] = (x[v] - max) - logsum;
}

/* The step's logits [rows, V] turned into log-probabilities in place (an
 * op's output in the search's graph, ours until the next reset). */
static void log_softmax_rows(seqc_tensor *logits, size_t V)
{
	size_t rows = logits->numel / V;
	float *x = logits->val;
#pragma omp parallel for if (rows * V > SEQC_PAR_MIN)
	for (size_t r = 0; r < rows; r++)
		log_softmax_row(x + r * V, V);
}

/* Start G rows and feed the prompts; *lp gets the log-probs of the last
 * prompt position [G, V]. Beam 0 of each prompt is live with sum 0, the
 * others are dead fillers; all sit in the prompt's row. */
static int feed_prompts(search *s, seqc_tensor **lp)
{
	int rc = seqc_model_start(s->m, s->G);
	for (size_t t = 0; rc >= 0 && t < s->P; t++) {
		for (size_t g = 0; g < s->G; g++)
			s->tokens[g] = s->prompts[g][t];
		seqc_graph_reset(s->g);
		seqc_tensor *logits;
		rc = seqc_model_step(s->m, s->g, s->tokens, &logits);
		if (rc >= 0 && t + 1 == s->P) {
			log_softmax_rows(logits, s->V);
			*lp = logits;
		}
	}
	if (rc < 0)
		return rc;
	for (size_t b = 0; b < s->G * s->k; b++) {
		size_t g = b / s->k;
		s->sum[b] = b % s->k ? -INFINITY : 0.0f;
		s->row[b] = g;
		for (size_t t = 1; t < s->P; t++)
			s->hist[b * s->W + t - 1] = s->prompts[g][t];
	}
	return accumulate_coverage(s, s->G, s->tokens);
}

/* Swap in the next beams, compact the live prompts into rows, reorder the
 * model's rows to match and take the next step. 0 when every prompt is
 * done, 1 after a step (*lp its log-probs). */
static int advance(search *s, seqc_tensor **lp)
{
	size_t k = s->k, S = cov_cols(s), na = 0;
	float *tf = s->sum;
	s->sum = s->sum_next;
	s->sum_next = tf;
	int32_t *ti = s->hist;
	s->hist = s->hist_next;
	s->hist_next = ti;
	if (S) {
		tf = s->cov;
		s->cov = s->cov_next;
		s->cov_next = tf;
	}
	for (size_t g = 0; g < s->G; g++) {
		if (s->done[g])
			continue;
		/* live prompts' rows packed in order: from and tokens of row
		 * na * k + j come from beam g * k + j (na <= g: no overwrite
		 * of a later prompt's entries before they are read) */
		for (size_t j = 0; j < k; j++) {
			s->from[na * k + j] = s->from[g * k + j];
			s->tokens[na * k + j] = s->tokens[g * k + j];
			s->row[g * k + j] = na * k + j;
		}
		na++;
	}
	if (!na)
		return 0;
	int rc = seqc_model_reorder(s->m, s->from, na * k);
	if (rc < 0)
		return rc;
	seqc_graph_reset(s->g);
	seqc_tensor *logits;
	if ((rc = seqc_model_step(s->m, s->g, s->tokens, &logits)) < 0)
		return rc;
	log_softmax_rows(logits, s->V);
	*lp = logits;
	if ((rc = accumulate_coverage(s, na * k, s->tokens)) < 0)
		return rc;
	return 1;
}

static int cmp_score_desc(const void *pa, const void *pb)
{
	const seqc_beam_hyp *a = pa, *b = pb;
	return (a->score < b->score) - (a->score > b->score);
}

/* Prompt g's pool, best first, its first nbest into *res. */
static int pool_result(const search *s, size_t g, seqc_beam_result *res)
{
	size_t n = s->pool_n[g];
	seqc_beam_hyp *h = calloc(n ? n : 1, sizeof *h);
	if (!h)
		return seqc_error(SEQC_ENOMEM, "beam: cannot allocate results");
	for (size_t i = 0; i < n; i++) {
		size_t at = g * s->k + i;
		h[i] = (seqc_beam_hyp){ .len = s->pool_len[at], .logprob = s->pool_lp[at],
					.score = s->pool_score[at] };
		if (!(h[i].ids = malloc(h[i].len * sizeof *h[i].ids))) {
			res->hyps = h;
			res->n = i;
			return seqc_error(SEQC_ENOMEM, "beam: cannot allocate results");
		}
		memcpy(h[i].ids, s->pool_ids + at * s->c->max_len, h[i].len * sizeof *h[i].ids);
	}
	qsort(h, n, sizeof *h, cmp_score_desc);
	for (size_t i = s->c->nbest; i < n; i++)
		free(h[i].ids);
	res->hyps = h;
	res->n = n < s->c->nbest ? n : s->c->nbest;
	return 0;
}

/* The search for G prompts of length P; results [G] in the group's order. */
static int search_group(search *s, seqc_beam_result *const *results)
{
	int rc = search_alloc(s);
	seqc_tensor *lp = NULL;
	if (rc >= 0)
		rc = feed_prompts(s, &lp);
	/* cur tokens generated; advance returns 0 once every prompt is done */
	for (size_t cur = 0; rc >= 0; cur++) {
		for (size_t g = 0; g < s->G && rc >= 0; g++)
			if (!s->done[g])
				rc = choose(s, g, lp->val, cur);
		if (rc >= 0 && (rc = advance(s, &lp)) == 0)
			break;
	}
	for (size_t g = 0; g < s->G && rc >= 0; g++)
		rc = pool_result(s, g, results[g]);
	search_free(s);
	return rc < 0 ? rc : 0;
}

static int check_inputs(const seqc_model *m, const int32_t *const *prompts, const size_t *lens,
			size_t B, int32_t eos, const seqc_beam_config *c)
{
	if (!B || !prompts || !lens)
		return seqc_error(SEQC_EINVAL, "beam: no prompts");
	if (eos < 0 || (size_t)eos >= m->vocab)
		return seqc_error(SEQC_ERANGE, "beam: eos id %d is outside [0, %zu)", eos, m->vocab);
	for (size_t b = 0; b < B; b++) {
		if (!lens[b] || !prompts[b])
			return seqc_error(SEQC_EINVAL, "beam: prompt %zu is empty (it needs a start token)", b);
		for (size_t t = 0; t < lens[b]; t++)
			if (prompts[b][t] < 0 || (size_t)prompts[b][t] >= m->vocab)
				return seqc_error(SEQC_ERANGE, "beam: prompt %zu: id %d at %zu is outside [0, %zu)",
						  b, prompts[b][t], t, m->vocab);
		if (c->src_lens && c->src_lens[b] > c->src_len)
			return seqc_error(SEQC_EINVAL, "beam: source length %zu of prompt %zu is above %zu",
					  c->src_lens[b], b, c->src_len);
	}
	return 0;
}

void seqc_beam_results_free(seqc_beam_result *results, size_t B)
{
	if (!results)
		return;
	for (size_t b = 0; b < B; b++) {
		for (size_t i = 0; i < results[b].n; i++)
			free(results[b].hyps[i].ids);
		free(results[b].hyps);
		results[b] = (seqc_beam_result){ 0 };
	}
}

int seqc_beam_search(seqc_model *m, seqc_graph *g, const seqc_beam_config *c,
		     const int32_t *const *prompts, const size_t *prompt_lens, size_t B, int32_t eos,
		     seqc_beam_result *results)
{
	int rc = seqc_beam_check(c);
	if (rc < 0 || (rc = check_inputs(m, prompts, prompt_lens, B, eos, c)) < 0)
		return rc;
	memset(results, 0, B * sizeof *results);
	bool grad = seqc_graph_set_grad(g, false);
	/* per group: its prompts, source lengths and result slots */
	const int32_t **gp = malloc(B * sizeof *gp);
	size_t *gs = malloc(B * sizeof *gs);
	seqc_beam_result **gr = malloc(B * sizeof *gr);
	bool *taken = calloc(B, sizeof *taken);
	if (!gp || !gs || !gr || !taken)
		rc = seqc_error(SEQC_ENOMEM, "beam: cannot allocate");
	for (size_t b = 0; b < B && rc >= 0; b++) {
		if (taken[b])
			continue;
		size_t G = 0, P = prompt_lens[b];
		for (size_t i = b; i < B; i++) {
			if (taken[i] || prompt_lens[i] != P)
				continue;
			taken[i] = true;
			gp[G] = prompts[i];
			gs[G] = c->src_lens ? c->src_lens[i] : c->src_len;
			gr[G++] = &results[i];
		}
		search s = { .m = m, .g = g, .c = c, .G = G, .k = c->beam, .V = m->vocab, .P = P,
			     .W = P - 1 + c->max_len, .eos = eos, .prompts = gp, .src_lens = gs };
		rc = search_group(&s, gr);
	}
	seqc_graph_set_grad(g, grad);
	free(gp);
	free(gs);
	free(gr);
	free(taken);
	if (rc < 0)
		seqc_beam_results_free(results, B);
	return rc < 0 ? rc : 0;
}
