/* Beam search (decode/beam.h) on tiny models with fixed random weights:
 * against exhaustive search over V = 4 and length 4 (rnnlm and gpt, with
 * min length and coverage), beam 1 against greedy, sums against the
 * scoring API, one search of many prompts against each prompt alone,
 * length penalties and early stopping on a model of known probabilities
 * (hand-computed), max_len, the coverage penalty's math, bad options. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum { EOS = 3 };

/* Every parameter uniform in [-scale, scale): logits far enough apart that
 * rounding cannot reorder hypotheses. */
static void randomize(seqc_model *m, float scale, uint64_t seed)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	for (size_t i = 0; i < m->params->numel; i++)
		m->params->values[i] = scale * (2.0f * seqc_rng_uniform(&rng) - 1.0f);
}

static seqc_model *make_rnnlm(size_t V, uint64_t seed)
{
	seqc_rnnlm_config c = { .cell = SEQC_CELL_LSTM, .vocab = V, .embed = 5, .hidden = 6, .layers = 2 };
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	seqc_model *m = seqc_model_wrap_rnnlm(seqc_rnnlm_create(&c, &rng));
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	randomize(m, 1.0f, seed);
	return m;
}

static seqc_model *make_gpt(size_t V, size_t context, uint64_t seed)
{
	seqc_gpt_config c = seqc_gpt_config_defaults();
	c.vocab = V;
	c.context = context;
	c.layers = 2;
	c.heads = 2;
	c.embed = 8;
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	seqc_model *m = seqc_model_wrap_gpt(seqc_gpt_create(&c, &rng));
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	randomize(m, 0.7f, seed);
	return m;
}

/* Every weight zero but the head bias: the log-probabilities are
 * log_softmax(bias) at every position, whatever came before. */
static seqc_model *make_known(const float *probs, size_t V)
{
	seqc_model *m = make_rnnlm(V, 1);
	memset(m->params->values, 0, m->params->numel * sizeof(float));
	for (size_t v = 0; v < V; v++)
		m->rnnlm->head_b->val[v] = logf(probs[v]);
	return m;
}

/* The search from the prompt {0} (the start token alone), which must
 * succeed. */
static const int32_t KNOWN_PROMPT[1] = { 0 };
static void search_known(seqc_model *m, seqc_graph *g, const seqc_beam_config *c, seqc_beam_result *r)
{
	const int32_t *prompts[1] = { KNOWN_PROMPT };
	size_t P = 1;
	ck_assert_msg(seqc_beam_search(m, g, c, prompts, &P, 1, EOS, r) == 0, "%s", seqc_errmsg());
}

/* h is len - 1 zeros then last, with the given score. */
static void expect_zeros_then(const seqc_beam_hyp *h, size_t len, int32_t last, double score)
{
	ck_assert_msg(h->len == len, "length %zu, want %zu", h->len, len);
	for (size_t t = 0; t + 1 < len; t++)
		ck_assert_int_eq(h->ids[t], 0);
	ck_assert_int_eq(h->ids[len - 1], last);
	ck_assert_double_eq_tol(h->score, score, 1e-5);
}

static seqc_graph *make_graph(void)
{
	seqc_graph *g = seqc_graph_create(0);
	ck_assert_ptr_nonnull(g);
	return g;
}

/* The sum of the log-probabilities of ids [n] after the prompt, by the
 * scoring API. */
static double score_sum(seqc_model *m, const int32_t *prompt, size_t P, const int32_t *ids, size_t n)
{
	int32_t all[64];
	float lp[64];
	ck_assert_uint_le(P - 1 + n, 64);
	memcpy(all, prompt + 1, (P - 1) * sizeof *all);
	memcpy(all + P - 1, ids, n * sizeof *ids);
	ck_assert_int_eq(seqc_score(m, all, P - 1 + n, prompt[0], lp), 0);
	double s = 0;
	for (size_t i = P - 1; i < P - 1 + n; i++)
		s += lp[i];
	return s;
}

/* Synthetic cross-attention over 3 source positions: the row that was fed
 * token t attends 0.8 to position t mod 3 and 0.1 to the others. */
enum { SRC = 3 };
static void synthetic_weights(int32_t tok, float *w)
{
	for (size_t i = 0; i < SRC; i++)
		w[i] = (size_t)tok % SRC == i ? 0.8f : 0.1f;
}

static int synthetic_attention(void *ctx, size_t rows, const int32_t *tokens, float *weights)
{
	(void)ctx;
	for (size_t r = 0; r < rows; r++)
		synthetic_weights(tokens[r], weights + r * SRC);
	return 0;
}

/* The score the search should give ids [n] after the prompt: the length
 * penalty of the scoring API's sum, plus the coverage penalty of the
 * attention of every step that produced a generated token (the last
 * prompt token and ids[0..n-1) were fed). */
static double expected_score(seqc_model *m, const seqc_beam_config *c, const int32_t *prompt, size_t P,
			     const int32_t *ids, size_t n)
{
	double s = seqc_beam_lenpen_score(c, (float)score_sum(m, prompt, P, ids, n), n);
	if (c->coverage_beta > 0.0f) {
		float cov[SRC] = { 0 }, w[SRC];
		for (size_t t = 0; t < n; t++) {
			synthetic_weights(t ? ids[t - 1] : prompt[P - 1], w);
			for (size_t i = 0; i < SRC; i++)
				cov[i] += w[i];
		}
		s += seqc_beam_coverage_penalty(c->coverage_beta, cov, SRC);
	}
	return s;
}

typedef struct scored {
	int32_t ids[4];
	size_t len;
	double score;
} scored;

static int cmp_scored(const void *pa, const void *pb)
{
	const scored *a = pa, *b = pb;
	return (a->score < b->score) - (a->score > b->score);
}

/* Every sequence of up to 4 tokens of V = 4 that ends on eos (allowed
 * after min_len tokens) or reaches length 4, scored and sorted: what the
 * search must return when its beam holds every candidate. */
static size_t exhaustive(seqc_model *m, const seqc_beam_config *c, const int32_t *prompt, size_t P,
			 scored *out)
{
	size_t n = 0;
	for (size_t len = 1; len <= 4; len++) {
		size_t combos = 1;
		for (size_t i = 0; i < len; i++)
			combos *= 4;
		for (size_t code = 0; code < combos; code++) {
			scored s = { .len = len };
			bool ok = true;
			for (size_t i = 0, x = code; i < len; i++, x /= 4) {
				s.ids[i] = (int32_t)(x % 4);
				/* eos only last, and only after min_len tokens */
				if (s.ids[i] == EOS && (i + 1 < len || i < c->min_len))
					ok = false;
			}
			if (!ok || (len < 4 && s.ids[len - 1] != EOS))
				continue;
			s.score = expected_score(m, c, prompt, P, s.ids, len);
			out[n++] = s;
		}
	}
	qsort(out, n, sizeof *out, cmp_scored);
	return n;
}

/* The n-best of the search equal the first of the exhaustive list (ids
 * exactly unless two exhaustive scores are within rounding). */
static void check_against_exhaustive(seqc_model *m, const seqc_beam_config *c, const int32_t *prompt,
				     size_t P, const char *what)
{
	scored all[256];
	size_t n = exhaustive(m, c, prompt, P, all);
	ck_assert_uint_ge(n, c->nbest);
	seqc_graph *g = make_graph();
	seqc_beam_result r;
	const int32_t *prompts[1] = { prompt };
	ck_assert_msg(seqc_beam_search(m, g, c, prompts, &P, 1, EOS, &r) == 0, "%s: %s", what,
		      seqc_errmsg());
	ck_assert_uint_eq(r.n, c->nbest);
	for (size_t i = 0; i < r.n; i++) {
		const seqc_beam_hyp *h = &r.hyps[i];
		ck_assert_msg(fabs(h->score - all[i].score) < 1e-4, "%s: hypothesis %zu score %g, want %g",
			      what, i, (double)h->score, all[i].score);
		bool near_tie = (i > 0 && all[i].score - all[i - 1].score > -1e-4) ||
				(i + 1 < n && all[i].score - all[i + 1].score < 1e-4);
		if (near_tie)
			continue;
		ck_assert_msg(h->len == all[i].len && !memcmp(h->ids, all[i].ids, h->len * sizeof *h->ids),
			      "%s: hypothesis %zu differs from the exhaustive search's", what, i);
	}
	seqc_beam_results_free(&r, 1);
	seqc_graph_destroy(g);
}

/* k = 256 holds every candidate (at most 27 alive prefixes x 4 tokens), so
 * the search is exhaustive where its stopping rule is exact: without length
 * normalization (with coverage too) and with exact_stop. */
START_TEST(test_exhaustive)
{
	seqc_model *models[2] = { make_rnnlm(4, 5), make_gpt(4, 16, 6) };
	const char *names[2] = { "rnnlm", "gpt" };
	const int32_t prompt[3] = { 2, 0, 1 };
	for (size_t i = 0; i < 2; i++) {
		seqc_beam_config c = seqc_beam_defaults();
		c.beam = 256;
		c.nbest = 6;
		c.max_len = 4;
		for (size_t P = 1; P <= 3; P += 2) {
			char what[64];
			snprintf(what, sizeof what, "%s prompt %zu", names[i], P);
			check_against_exhaustive(models[i], &c, prompt, P, what);
		}
		c.min_len = 2;
		check_against_exhaustive(models[i], &c, prompt, 3, "min_len 2");
		c.min_len = 0;
		/* with the bound at max_len, length-normalized search is exact too */
		c.exact_stop = true;
		c.lenpen = SEQC_LENPEN_AVG;
		check_against_exhaustive(models[i], &c, prompt, 3, "avg 1, exact stop");
		c.lenpen = SEQC_LENPEN_GNMT;
		c.alpha = 0.8f;
		check_against_exhaustive(models[i], &c, prompt, 1, "gnmt 0.8, exact stop");
		c.lenpen = SEQC_LENPEN_NONE;
		c.exact_stop = false;
		c.coverage_beta = 0.5f;
		c.attention = synthetic_attention;
		c.src_len = SRC;
		check_against_exhaustive(models[i], &c, prompt, 3, "coverage 0.5");
		seqc_model_destroy(models[i]);
	}
}
END_TEST

/* Greedy through the step interface: argmax (the first on ties) until eos
 * or max_len. */
static size_t greedy(seqc_model *m, const int32_t *prompt, size_t P, size_t max_len, int32_t *out,
		     double *sum)
{
	seqc_graph *g = make_graph();
	ck_assert_int_eq(seqc_model_start(m, 1), 0);
	seqc_tensor *lp = NULL;
	size_t n = 0;
	*sum = 0;
	for (size_t t = 0; t < P + max_len; t++) {
		int32_t tok = t < P ? prompt[t] : out[n++];
		if (t >= P && (tok == EOS || n == max_len))
			break;
		seqc_graph_reset(g);
		seqc_tensor *logits;
		ck_assert_int_eq(seqc_model_step(m, g, &tok, &logits), 0);
		lp = seqc_log_softmax(g, logits);
		if (t + 1 < P)
			continue;
		int32_t best = 0;
		for (size_t v = 1; v < m->vocab; v++)
			best = lp->val[v] > lp->val[best] ? (int32_t)v : best;
		out[n] = best;
		*sum += lp->val[best];
	}
	seqc_graph_destroy(g);
	return n;
}

START_TEST(test_beam1_is_greedy)
{
	seqc_model *models[2] = { make_rnnlm(11, 7), make_gpt(11, 32, 8) };
	const int32_t prompt[4] = { 1, 5, 9, 2 };
	for (size_t i = 0; i < 2; i++) {
		for (size_t P = 1; P <= 4; P++) {
			int32_t want[12];
			double sum;
			size_t n = greedy(models[i], prompt, P, 12, want, &sum);
			seqc_beam_config c = seqc_beam_defaults();
			c.beam = 1;
			c.max_len = 12;
			seqc_graph *g = make_graph();
			seqc_beam_result r;
			const int32_t *prompts[1] = { prompt };
			ck_assert_int_eq(seqc_beam_search(models[i], g, &c, prompts, &P, 1, EOS, &r), 0);
			ck_assert_uint_eq(r.n, 1);
			ck_assert_uint_eq(r.hyps[0].len, n);
			ck_assert(!memcmp(r.hyps[0].ids, want, n * sizeof *want));
			ck_assert_double_eq_tol(r.hyps[0].logprob, sum, 1e-4);
			seqc_beam_results_free(&r, 1);
			seqc_graph_destroy(g);
		}
		seqc_model_destroy(models[i]);
	}
}
END_TEST

/* Several prompts of two lengths in one call: every hypothesis's sum is the
 * scoring API's, its score the length penalty of it, the lists sorted and
 * distinct, and each prompt's list the same as when searched alone. */
START_TEST(test_scores_and_batch)
{
	static const seqc_lenpen pens[3] = { SEQC_LENPEN_NONE, SEQC_LENPEN_AVG, SEQC_LENPEN_GNMT };
	seqc_model *models[2] = { make_rnnlm(13, 9), make_gpt(13, 40, 10) };
	const int32_t p0[3] = { 1, 4, 7 }, p1[3] = { 1, 0, 0 }, p2[1] = { 1 }, p3[3] = { 1, 12, 5 };
	const int32_t *prompts[4] = { p0, p1, p2, p3 };
	size_t lens[4] = { 3, 3, 1, 3 };
	for (size_t i = 0; i < 2; i++) {
		seqc_beam_config c = seqc_beam_defaults();
		c.beam = 5;
		c.nbest = 5;
		c.max_len = 9;
		c.no_repeat_ngram = (size_t)_i;
		c.lenpen = pens[_i % 3];
		c.alpha = 0.7f;
		seqc_graph *g = make_graph();
		seqc_beam_result all[4], one;
		ck_assert_msg(seqc_beam_search(models[i], g, &c, prompts, lens, 4, EOS, all) == 0, "%s",
			      seqc_errmsg());
		for (size_t b = 0; b < 4; b++) {
			ck_assert_uint_eq(all[b].n, 5);
			ck_assert_int_eq(seqc_beam_search(models[i], g, &c, &prompts[b], &lens[b], 1, EOS, &one), 0);
			ck_assert_uint_eq(one.n, all[b].n);
			for (size_t h = 0; h < all[b].n; h++) {
				const seqc_beam_hyp *x = &all[b].hyps[h], *y = &one.hyps[h];
				double sum = score_sum(models[i], prompts[b], lens[b], x->ids, x->len);
				ck_assert_double_eq_tol(x->logprob, sum, 1e-4);
				ck_assert_double_eq_tol(x->score, seqc_beam_lenpen_score(&c, x->logprob, x->len), 1e-6);
				ck_assert_uint_le(x->len, c.max_len);
				if (h)
					ck_assert_float_le(x->score, all[b].hyps[h - 1].score);
				for (size_t o = 0; o < h; o++)
					ck_assert(all[b].hyps[o].len != x->len ||
						  memcmp(all[b].hyps[o].ids, x->ids, x->len * sizeof *x->ids));
				ck_assert_uint_eq(y->len, x->len);
				ck_assert(!memcmp(y->ids, x->ids, x->len * sizeof *x->ids));
				ck_assert_double_eq_tol(y->logprob, x->logprob, 1e-5);
				/* eos only last, no repeated n-gram */
				for (size_t t = 0; t + 1 < x->len; t++)
					ck_assert_int_ne(x->ids[t], EOS);
				size_t N = c.no_repeat_ngram, H = lens[b] - 1 + x->len;
				int32_t hist[16];
				memcpy(hist, prompts[b] + 1, (lens[b] - 1) * sizeof *hist);
				memcpy(hist + lens[b] - 1, x->ids, x->len * sizeof *hist);
				/* an n-gram ending in the generated part is new */
				for (size_t u = 0; N && u + N <= H; u++)
					for (size_t s = 0; u + N > lens[b] - 1 && s < u; s++)
						ck_assert_msg(memcmp(hist + s, hist + u, N * sizeof *hist),
							      "%zu-gram repeated", N);
			}
			seqc_beam_results_free(&one, 1);
		}
		seqc_beam_results_free(all, 4);
		seqc_graph_destroy(g);
		seqc_model_destroy(models[i]);
	}
}
END_TEST

/* Known probabilities: token 0 has 0.6, 1 and 2 have 0.05, eos 0.3, at
 * every position. Hypotheses "0^(n-1) eos" have sum (n-1) log 0.6 +
 * log 0.3, "0^max_len" max_len log 0.6, and any other is worse than one
 * of these of the same length. With max_len 6:
 *   none: [eos] (log 0.3 = -1.204) beats [0 eos] (-1.715) and 0^6 (-3.065);
 *   avg alpha 1: 0^6 (log 0.6 = -0.511) beats 0^5 eos (-0.626), ... [eos];
 *   gnmt alpha 3: 0^6 (-3.065 / (11/6)^3 = -0.497) beats [eos] (-1.204);
 *   gnmt alpha 0.5: [eos] (-1.204) beats [0 eos] (-1.715 / sqrt(7/6) = -1.588). */
START_TEST(test_length_penalty)
{
	const float probs[4] = { 0.6f, 0.05f, 0.05f, 0.3f };
	seqc_model *m = make_known(probs, 4);
	const struct {
		seqc_lenpen pen;
		float alpha;
		size_t len;
		double score;
	} cases[] = {
		{ SEQC_LENPEN_NONE, 1.0f, 1, log(0.3) },
		{ SEQC_LENPEN_AVG, 1.0f, 6, log(0.6) },
		{ SEQC_LENPEN_GNMT, 3.0f, 6, 6 * log(0.6) / pow(11.0 / 6.0, 3) },
		{ SEQC_LENPEN_GNMT, 0.5f, 1, log(0.3) },
	};
	seqc_graph *g = make_graph();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		seqc_beam_config c = seqc_beam_defaults();
		c.beam = 3;
		c.nbest = 2;
		c.max_len = 6;
		c.lenpen = cases[i].pen;
		c.alpha = cases[i].alpha;
		seqc_beam_result r;
		search_known(m, g, &c, &r);
		ck_assert_uint_eq(r.n, 2);
		expect_zeros_then(&r.hyps[0], cases[i].len, cases[i].len == 6 ? 0 : EOS, cases[i].score);
		seqc_beam_results_free(&r, 1);
	}
	seqc_graph_destroy(g);
	seqc_model_destroy(m);
}
END_TEST

/* Same model, beam 2, avg alpha 1. Step 1: eos (rank 1) is finished. Step 2:
 * [0 eos] (rank 1) is, and the pool holds 2: stopping at the first k
 * returns these (-1.204 / 1 and -1.715 / 2 = -0.857, [0 eos] first);
 * without it the search goes on to 0^6 (-0.511). */
START_TEST(test_stop_at_first_k)
{
	const float probs[4] = { 0.6f, 0.05f, 0.05f, 0.3f };
	seqc_model *m = make_known(probs, 4);
	seqc_graph *g = make_graph();
	seqc_beam_config c = seqc_beam_defaults();
	c.beam = 2;
	c.nbest = 2;
	c.max_len = 6;
	c.lenpen = SEQC_LENPEN_AVG;
	c.stop_at_first_k = true;
	seqc_beam_result r;
	search_known(m, g, &c, &r);
	ck_assert_uint_eq(r.n, 2);
	expect_zeros_then(&r.hyps[0], 2, EOS, (log(0.6) + log(0.3)) / 2);
	expect_zeros_then(&r.hyps[1], 1, EOS, log(0.3));
	seqc_beam_results_free(&r, 1);
	c.stop_at_first_k = false;
	search_known(m, g, &c, &r);
	expect_zeros_then(&r.hyps[0], 6, 0, log(0.6));
	seqc_beam_results_free(&r, 1);
	seqc_graph_destroy(g);
	seqc_model_destroy(m);
}
END_TEST

/* eos nearly impossible: every hypothesis stops at max_len, and min_len
 * forbids the early eos of a likely-eos model. */
START_TEST(test_max_and_min_len)
{
	const float rare[4] = { 0.5f, 0.3f, 0.2f - 1e-6f, 1e-6f };
	seqc_model *m = make_known(rare, 4);
	seqc_graph *g = make_graph();
	seqc_beam_config c = seqc_beam_defaults();
	c.beam = 3;
	c.nbest = 3;
	c.max_len = 3;
	seqc_beam_result r;
	search_known(m, g, &c, &r);
	ck_assert_uint_eq(r.n, 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_uint_eq(r.hyps[i].len, 3);
	/* 0 0 0, then 0 0 1 and 0 1 0 / 1 0 0 (0.5^2 0.3) */
	ck_assert(!memcmp(r.hyps[0].ids, (int32_t[]){ 0, 0, 0 }, 3 * sizeof(int32_t)));
	ck_assert_double_eq_tol(r.hyps[1].logprob, 2 * log(0.5) + log(0.3), 1e-5);
	seqc_beam_results_free(&r, 1);
	seqc_model_destroy(m);

	const float likely[4] = { 0.1f, 0.1f, 0.1f, 0.7f };
	m = make_known(likely, 4);
	c.max_len = 5;
	c.min_len = 3;
	c.nbest = 1;
	search_known(m, g, &c, &r);
	/* three tokens (ties: the lowest id), then eos */
	expect_zeros_then(&r.hyps[0], 4, EOS, 3 * log(0.1) + log(0.7));
	seqc_beam_results_free(&r, 1);
	seqc_graph_destroy(g);
	seqc_model_destroy(m);
}
END_TEST

/* beta sum_i log(min(c_i, 1)) by hand; and on the known model the
 * penalty moves the best away from [eos], whose coverage is 0.8, 0.1,
 * 0.1 (penalty 1.0 (log 0.8 + 2 log 0.1) = -4.83). */
START_TEST(test_coverage)
{
	const float cov[4] = { 0.5f, 1.5f, 1.0f, 0.25f };
	ck_assert_double_eq_tol(seqc_beam_coverage_penalty(0.2f, cov, 4), 0.2 * (log(0.5) + log(0.25)),
				1e-6);
	ck_assert_double_eq_tol(seqc_beam_coverage_penalty(0.2f, cov + 1, 2), 0.0, 1e-9);
	const float probs[4] = { 0.6f, 0.05f, 0.05f, 0.3f };
	seqc_model *m = make_known(probs, 4);
	seqc_graph *g = make_graph();
	seqc_beam_config c = seqc_beam_defaults();
	c.beam = 4;
	c.nbest = 4;
	c.max_len = 5;
	c.attention = synthetic_attention;
	c.src_len = SRC;
	seqc_beam_result r;
	search_known(m, g, &c, &r);
	ck_assert_uint_eq(r.hyps[0].len, 1); /* beta 0: [eos] */
	seqc_beam_results_free(&r, 1);
	c.coverage_beta = 1.0f;
	search_known(m, g, &c, &r);
	ck_assert_uint_gt(r.hyps[0].len, 1);
	ck_assert_double_gt(r.hyps[0].score, log(0.3) + log(0.8) + 2 * log(0.1));
	for (size_t i = 0; i < r.n; i++)
		ck_assert_double_eq_tol(r.hyps[i].score,
					expected_score(m, &c, KNOWN_PROMPT, 1, r.hyps[i].ids, r.hyps[i].len), 1e-5);
	seqc_beam_results_free(&r, 1);
	/* a shorter source for the prompt: positions past it do not count */
	size_t src_lens[1] = { 1 };
	c.src_lens = src_lens;
	search_known(m, g, &c, &r);
	ck_assert_uint_eq(r.hyps[0].len, 1); /* [eos] covers position 0 with 0.8: -0.22 */
	ck_assert_double_eq_tol(r.hyps[0].score, log(0.3) + log(0.8), 1e-5);
	seqc_beam_results_free(&r, 1);
	seqc_graph_destroy(g);
	seqc_model_destroy(m);
}
END_TEST

START_TEST(test_context_full)
{
	seqc_model *m = make_gpt(5, 6, 3);
	const int32_t prompt[4] = { 1, 2, 0, 4 };
	const int32_t *prompts[1] = { prompt };
	size_t P = 4;
	seqc_graph *g = make_graph();
	seqc_beam_config c = seqc_beam_defaults();
	c.min_len = c.max_len = 8;
	seqc_beam_result r = { 7, NULL };
	ck_assert_int_eq(seqc_beam_search(m, g, &c, prompts, &P, 1, EOS, &r), SEQC_ERANGE);
	ck_assert_msg(strstr(seqc_errmsg(), "context"), "%s", seqc_errmsg());
	ck_assert_uint_eq(r.n, 0);
	/* 4 + 3 - 1 positions fit in 6 */
	c.min_len = c.max_len = 3;
	ck_assert_int_eq(seqc_beam_search(m, g, &c, prompts, &P, 1, EOS, &r), 0);
	ck_assert_uint_eq(r.hyps[0].len, 3);
	seqc_beam_results_free(&r, 1);
	seqc_graph_destroy(g);
	seqc_model_destroy(m);
}
END_TEST

/* The gpt of gpt.json's "bias" case (V 11, context 8). */
static seqc_model *golden_gpt(void)
{
	json_t *root = fixture_load("gpt.json"), *c = NULL;
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(root, "cases"), i, it)
		if (!strcmp(json_string_value(json_object_get(it, "name")), "bias"))
			c = it;
	ck_assert_ptr_nonnull(c);
	seqc_gpt_config cfg = seqc_gpt_config_defaults();
	cfg.vocab = (size_t)json_integer_value(json_object_get(c, "vocab"));
	cfg.context = (size_t)json_integer_value(json_object_get(c, "context"));
	cfg.layers = (size_t)json_integer_value(json_object_get(c, "layers"));
	cfg.heads = (size_t)json_integer_value(json_object_get(c, "heads"));
	cfg.embed = (size_t)json_integer_value(json_object_get(c, "embed"));
	seqc_model *m = seqc_model_wrap_gpt(seqc_gpt_create(&cfg, NULL));
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	fixture_params(m->params, c);
	json_decref(root);
	return m;
}

static size_t json_size(json_t *o, const char *key)
{
	return (size_t)json_integer_value(json_object_get(o, key));
}

/* Against gen_beam.py's reference (no cache, no batching, float64): the
 * three prompts (lengths 1, 2, 2) in one call. */
START_TEST(test_golden)
{
	seqc_model *m = golden_gpt();
	json_t *root = fixture_load("beam.json"), *sr;
	int32_t eos = (int32_t)json_integer_value(json_object_get(root, "eos"));
	seqc_graph *g = make_graph();
	size_t si;
	json_array_foreach(json_object_get(root, "searches"), si, sr) {
		seqc_beam_config c = seqc_beam_defaults();
		c.beam = json_size(sr, "beam");
		c.nbest = json_size(sr, "nbest");
		const char *pen = json_string_value(json_object_get(sr, "lenpen"));
		c.lenpen = !strcmp(pen, "avg") ? SEQC_LENPEN_AVG : !strcmp(pen, "gnmt") ? SEQC_LENPEN_GNMT
										     : SEQC_LENPEN_NONE;
		c.alpha = (float)json_number_value(json_object_get(sr, "alpha"));
		c.min_len = json_size(sr, "min_len");
		c.max_len = json_size(sr, "max_len");
		c.no_repeat_ngram = json_size(sr, "no_repeat_ngram");
		c.stop_at_first_k = json_is_true(json_object_get(sr, "stop_at_first_k"));
		c.exact_stop = json_is_true(json_object_get(sr, "exact_stop"));
		json_t *jp = json_object_get(sr, "prompts"), *jr = json_object_get(sr, "results");
		size_t B = json_array_size(jp), lens[4];
		int32_t *ids[4];
		ck_assert_uint_le(B, 4);
		for (size_t b = 0; b < B; b++) {
			lens[b] = json_array_size(json_array_get(jp, b));
			ids[b] = malloc(lens[b] * sizeof *ids[b]);
			for (size_t t = 0; t < lens[b]; t++)
				ids[b][t] = (int32_t)json_integer_value(json_array_get(json_array_get(jp, b), t));
		}
		seqc_beam_result r[4];
		ck_assert_msg(seqc_beam_search(m, g, &c, (const int32_t *const *)ids, lens, B, eos, r) == 0,
			      "%s", seqc_errmsg());
		for (size_t b = 0; b < B; b++) {
			json_t *want = json_array_get(jr, b);
			ck_assert_uint_eq(r[b].n, json_array_size(want));
			for (size_t h = 0; h < r[b].n; h++) {
				json_t *w = json_array_get(want, h), *wi = json_object_get(w, "ids");
				const seqc_beam_hyp *x = &r[b].hyps[h];
				ck_assert_msg(x->len == json_array_size(wi), "search %zu prompt %zu hypothesis %zu: "
					      "length %zu, want %zu", si, b, h, x->len, json_array_size(wi));
				for (size_t t = 0; t < x->len; t++)
					ck_assert_int_eq(x->ids[t], json_integer_value(json_array_get(wi, t)));
				ck_assert_double_eq_tol(x->logprob, json_number_value(json_object_get(w, "logprob")),
							1e-4);
				ck_assert_double_eq_tol(x->score, json_number_value(json_object_get(w, "score")), 1e-4);
			}
		}
		seqc_beam_results_free(r, B);
		for (size_t b = 0; b < B; b++)
			free(ids[b]);
	}
	seqc_graph_destroy(g);
	json_decref(root);
	seqc_model_destroy(m);
}
END_TEST

static int never_called(void *ctx, size_t rows, const int32_t *tokens, float *weights)
{
	(void)ctx, (void)rows, (void)tokens, (void)weights;
	return SEQC_EINVAL;
}

START_TEST(test_bad_options)
{
	seqc_model *m = make_rnnlm(6, 2);
	seqc_graph *g = make_graph();
	const int32_t good[2] = { 0, 1 }, bad_id[2] = { 0, 6 };
	const int32_t *prompts[1] = { good };
	size_t P = 2, zero = 0, src_lens[1] = { 9 };
	const struct {
		const char *field, *msg;
	} cases[] = {
		{ "beam=0", "beam size" },       { "nbest=0", "nbest" },      { "nbest>beam", "nbest" },
		{ "alpha=nan", "alpha" },        { "alpha<0", "alpha" },      { "lenpen=9", "length penalty" },
		{ "beta<0", "coverage" },        { "beta=inf", "coverage" },  { "beta-no-hook", "attention hook" },
		{ "max_len=0", "max_len" },      { "min>max", "min_len" },    { "eos=6", "eos" },
		{ "eos=-1", "eos" },             { "B=0", "no prompts" },     { "empty", "empty" },
		{ "id=6", "prompt 0: id 6" },    { "src_lens", "source length" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		seqc_beam_config c = seqc_beam_defaults();
		const int32_t *const *p = prompts;
		const int32_t *badp[1] = { bad_id };
		const size_t *lens = &P;
		size_t B = 1;
		int32_t eos = 5;
		const char *f = cases[i].field;
		if (!strcmp(f, "beam=0"))
			c.beam = 0;
		else if (!strcmp(f, "nbest=0"))
			c.nbest = 0;
		else if (!strcmp(f, "nbest>beam"))
			c.nbest = 5;
		else if (!strcmp(f, "alpha=nan"))
			c.alpha = NAN;
		else if (!strcmp(f, "alpha<0"))
			c.alpha = -0.5f;
		else if (!strcmp(f, "lenpen=9"))
			c.lenpen = (seqc_lenpen)9;
		else if (!strcmp(f, "beta<0"))
			c.coverage_beta = -1.0f;
		else if (!strcmp(f, "beta=inf"))
			c.coverage_beta = INFINITY;
		else if (!strcmp(f, "beta-no-hook"))
			c.coverage_beta = 0.5f;
		else if (!strcmp(f, "max_len=0"))
			c.max_len = 0;
		else if (!strcmp(f, "min>max"))
			c.min_len = c.max_len + 1;
		else if (!strcmp(f, "eos=6"))
			eos = 6;
		else if (!strcmp(f, "eos=-1"))
			eos = -1;
		else if (!strcmp(f, "B=0"))
			B = 0;
		else if (!strcmp(f, "empty"))
			lens = &zero;
		else if (!strcmp(f, "id=6"))
			p = badp;
		else if (!strcmp(f, "src_lens")) {
			c.coverage_beta = 0.5f;
			c.attention = never_called;
			c.src_len = 3;
			c.src_lens = src_lens;
		}
		seqc_beam_result r = { 0, NULL };
		int rc = seqc_beam_search(m, g, &c, p, lens, B, eos, &r);
		ck_assert_msg(rc < 0, "%s accepted", f);
		ck_assert_msg(strstr(seqc_errmsg(), cases[i].msg), "%s: message '%s'", f, seqc_errmsg());
		ck_assert_uint_eq(r.n, 0);
	}
	/* NaN logits: refused, not ranked */
	seqc_beam_config c0 = seqc_beam_defaults();
	seqc_beam_result r = { 0, NULL };
	m->rnnlm->head_b->val[2] = NAN;
	ck_assert_int_eq(seqc_beam_search(m, g, &c0, prompts, &P, 1, 5, &r), SEQC_ENONFINITE);
	ck_assert_msg(strstr(seqc_errmsg(), "NaN"), "%s", seqc_errmsg());
	ck_assert_uint_eq(r.n, 0);
	m->rnnlm->head_b->val[2] = 0.0f;
	/* a hook's failure passes through */
	seqc_beam_config c = seqc_beam_defaults();
	c.coverage_beta = 0.5f;
	c.attention = never_called;
	c.src_len = 3;
	ck_assert_int_eq(seqc_beam_search(m, g, &c, prompts, &P, 1, 5, &r), SEQC_EINVAL);
	ck_assert_uint_eq(r.n, 0);
	seqc_graph_destroy(g);
	seqc_model_destroy(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("decode_beam");
	TCase *tc = tcase_create("beam");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exhaustive);
	tcase_add_test(tc, test_beam1_is_greedy);
	tcase_add_loop_test(tc, test_scores_and_batch, 0, 4);
	tcase_add_test(tc, test_length_penalty);
	tcase_add_test(tc, test_stop_at_first_k);
	tcase_add_test(tc, test_max_and_min_len);
	tcase_add_test(tc, test_coverage);
	tcase_add_test(tc, test_context_full);
	tcase_add_test(tc, test_golden);
	tcase_add_test(tc, test_bad_options);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
