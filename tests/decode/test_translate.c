/* Translation (decode/translate.h) with tiny s2s-transformer and s2s-rnn
 * models of fixed random weights, a target vocabulary of 4 (eos 3):
 *   - beam search with k >= V^L and no length penalty returns the best of
 *     every target up to length 4 given the source, scored by seqc_score
 *     after seqc_model_set_source with that one source, for two sources
 *     of different lengths searched together;
 *   - beam 1 is greedy decoding (seqc_generate at temperature 0);
 *   - each hypothesis's logprob is seqc_score's sum of its ids, its score
 *     the length penalty of that sum;
 *   - seqc_translate_sources gives result i to source i whatever the
 *     batching and sorting (against each source translated alone);
 *   - the coverage penalty moves each score by exactly
 *     beta * sum_i log(min(coverage_i, 1)) of the attention the model
 *     reports over the source's own positions;
 *   - refusals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode/translate.h"
#include "support.h"

enum { V = 4, BOS = 0, EOS = 3, SRC_V = 6, S = 5 };

static const char *const NAMES[] = { "s2s-transformer", "s2s-rnn" };

/* Two sources (data form: tokens, then eos 3, then padding) of lengths 5
 * and 3. */
static const int32_t SOURCES[2][S] = { { 1, 4, 2, 5, 3 }, { 5, 1, 3, 0, 0 } };
static const size_t LENS[2] = { 5, 3 };

/* Every parameter uniform in [-scale, scale): logits spread far enough
 * that rounding cannot reorder hypotheses. */
static void randomize(seqc_model *m, float scale, uint64_t seed)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	for (size_t i = 0; i < m->params->numel; i++)
		m->params->values[i] = scale * (2.0f * seqc_rng_uniform(&rng) - 1.0f);
}

static seqc_model *make_model(int kind, size_t src_vocab, uint64_t seed)
{
	char *json;
	if (kind == 0) {
		seqc_s2st_config c = seqc_s2st_config_defaults();
		c.src_vocab = src_vocab;
		c.tgt_vocab = V;
		c.d_model = 8;
		c.heads = 2;
		c.enc_layers = c.dec_layers = 2;
		c.dim_ff = 16;
		c.dropout = 0;
		c.max_len = 16;
		json = seqc_s2st_config_to_json(&c);
	} else {
		seqc_s2sr_config c = seqc_s2sr_config_defaults();
		c.src_vocab = src_vocab;
		c.tgt_vocab = V;
		c.cell = SEQC_CELL_GRU;
		c.embed = 6;
		c.hidden = 8;
		c.enc_layers = c.dec_layers = 2;
		c.attention = SEQC_S2SR_ATTN_GENERAL;
		json = seqc_s2sr_config_to_json(&c);
	}
	ck_assert_ptr_nonnull(json);
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	seqc_model *m = seqc_model_from_config(json, &rng);
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	free(json);
	randomize(m, kind == 0 ? 0.8f : 1.0f, seed);
	return m;
}

static seqc_graph *make_graph(void)
{
	seqc_graph *g = seqc_graph_create(0);
	ck_assert_ptr_nonnull(g);
	return g;
}

/* The model decodes source b alone from now on. */
static void set_one(seqc_model *m, int b)
{
	ck_assert_msg(seqc_model_set_source(m, SOURCES[b], &LENS[b], 1, LENS[b]) == 0, "%s", seqc_errmsg());
}

/* The sum of log p(ids | source) by the scoring API (the source set). */
static double score_sum(seqc_model *m, const int32_t *ids, size_t n)
{
	float lp[32];
	ck_assert_uint_le(n, 32);
	ck_assert_msg(seqc_score(m, ids, n, BOS, lp) == 0, "%s", seqc_errmsg());
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += lp[i];
	return s;
}

static void translate(seqc_model *m, const seqc_beam_config *c, int b0, size_t B, seqc_beam_result *r)
{
	seqc_graph *g = make_graph();
	ck_assert_msg(seqc_translate_batch(m, g, c, SOURCES[b0], LENS + b0, B, S, BOS, EOS, r) == 0, "%s",
		      seqc_errmsg());
	seqc_graph_destroy(g);
}

/* ---- exhaustive search ---- */

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

/* Every target of up to 4 tokens that ends on eos, or reaches length 4
 * without one, scored given source b (no length penalty), best first. */
static size_t exhaustive(seqc_model *m, int b, scored *out)
{
	set_one(m, b);
	size_t n = 0;
	for (size_t len = 1; len <= 4; len++) {
		size_t combos = 1;
		for (size_t i = 0; i < len; i++)
			combos *= V;
		for (size_t code = 0; code < combos; code++) {
			scored s = { .len = len };
			bool ok = true;
			for (size_t i = 0, x = code; i < len; i++, x /= V) {
				s.ids[i] = (int32_t)(x % V);
				ok &= s.ids[i] != EOS || i + 1 == len;
			}
			if (!ok || (len < 4 && s.ids[len - 1] != EOS))
				continue;
			s.score = score_sum(m, s.ids, len);
			out[n++] = s;
		}
	}
	qsort(out, n, sizeof *out, cmp_scored);
	return n;
}

/* k = 256 holds every candidate (at most 27 alive prefixes x 4): the
 * search is exhaustive; both sources in one batch, each against its own
 * exhaustive list. */
START_TEST(test_exhaustive)
{
	seqc_model *m = make_model(_i, SRC_V, 11);
	scored all[2][256];
	size_t n[2] = { exhaustive(m, 0, all[0]), exhaustive(m, 1, all[1]) };
	seqc_beam_config c = seqc_beam_defaults();
	c.beam = 256;
	c.nbest = 6;
	c.max_len = 4;
	c.lenpen = SEQC_LENPEN_NONE;
	seqc_beam_result r[2];
	translate(m, &c, 0, 2, r);
	bool differ = false;
	for (int b = 0; b < 2; b++) {
		ck_assert_uint_eq(r[b].n, c.nbest);
		for (size_t i = 0; i < r[b].n; i++) {
			const seqc_beam_hyp *h = &r[b].hyps[i];
			ck_assert_msg(fabs(h->score - all[b][i].score) < 1e-4, "%s source %d hypothesis %zu: "
				      "score %.6f, exhaustive %.6f", NAMES[_i], b, i, (double)h->score,
				      all[b][i].score);
			bool near_tie = (i > 0 && all[b][i].score - all[b][i - 1].score > -1e-4) ||
					(i + 1 < n[b] && all[b][i].score - all[b][i + 1].score < 1e-4);
			if (!near_tie)
				ck_assert_msg(h->len == all[b][i].len &&
						      !memcmp(h->ids, all[b][i].ids, h->len * sizeof *h->ids),
					      "%s source %d: hypothesis %zu is not the exhaustive search's",
					      NAMES[_i], b, i);
		}
		differ |= all[0][0].score != all[1][0].score;
	}
	ck_assert_msg(differ, "%s: both sources have the same best: the source changes nothing", NAMES[_i]);
	seqc_beam_results_free(r, 2);
	seqc_model_destroy(m);
}
END_TEST

/* ---- beam 1 and greedy ---- */

START_TEST(test_beam1_is_greedy)
{
	seqc_model *m = make_model(_i, SRC_V, 12);
	seqc_beam_config c = seqc_beam_defaults();
	c.beam = 1;
	c.max_len = 12;
	seqc_beam_result r[2];
	translate(m, &c, 0, 2, r);
	for (int b = 0; b < 2; b++) {
		set_one(m, b);
		seqc_gen_config gc = seqc_gen_defaults();
		gc.sample.temperature = 0;
		gc.sample.max_length = 12;
		gc.eos = EOS;
		int32_t prompt = BOS;
		const int32_t *prompts[1] = { &prompt };
		size_t plen = 1;
		seqc_gen_row row;
		ck_assert_msg(seqc_generate(m, NULL, &gc, prompts, &plen, 1, NULL, NULL, &row) == 0, "%s",
			      seqc_errmsg());
		const seqc_beam_hyp *h = &r[b].hyps[0];
		bool ended = row.finish == SEQC_FINISH_EOS;
		ck_assert_msg(h->len == row.n + ended, "%s source %d: beam 1 gave %zu tokens, greedy %zu%s",
			      NAMES[_i], b, h->len, row.n, ended ? " + eos" : "");
		ck_assert(!memcmp(h->ids, row.ids, row.n * sizeof *row.ids));
		if (ended)
			ck_assert_int_eq(h->ids[row.n], EOS);
		seqc_gen_rows_free(&row, 1);
	}
	seqc_beam_results_free(r, 2);
	seqc_model_destroy(m);
}
END_TEST

/* ---- sums and scores ---- */

START_TEST(test_logprob_is_score_sum)
{
	seqc_model *m = make_model(_i, SRC_V, 13);
	seqc_beam_config c = seqc_beam_defaults();
	c.beam = 4;
	c.nbest = 4;
	c.max_len = 8;
	c.lenpen = SEQC_LENPEN_GNMT;
	c.alpha = 0.6f;
	seqc_beam_result r[2];
	translate(m, &c, 0, 2, r);
	for (int b = 0; b < 2; b++) {
		set_one(m, b);
		ck_assert_uint_eq(r[b].n, 4);
		for (size_t i = 0; i < r[b].n; i++) {
			const seqc_beam_hyp *h = &r[b].hyps[i];
			double want = score_sum(m, h->ids, h->len);
			ck_assert_msg(fabs(h->logprob - want) <= 1e-4, "%s source %d hypothesis %zu: logprob %.6f, "
				      "seqc_score %.6f", NAMES[_i], b, i, (double)h->logprob, want);
			ck_assert_float_eq_tol(h->score, seqc_beam_lenpen_score(&c, h->logprob, h->len), 1e-6);
			if (i)
				ck_assert(h->score <= r[b].hyps[i - 1].score);
		}
	}
	seqc_beam_results_free(r, 2);
	seqc_model_destroy(m);
}
END_TEST

/* ---- many sources: order ---- */

START_TEST(test_sources_keep_order)
{
	/* a char vocabulary <pad> <unk> <bos> <eos> a b: the model's 6 */
	seqc_tok *tok = seqc_tok_char_build("ab", 2, NULL);
	ck_assert_ptr_nonnull(tok);
	ck_assert_uint_eq(seqc_tok_vocab_size(tok), SRC_V);
	static const char *const lines[] = { "abba", "a", "", "babab", "ab", "bbbbbbb", "a", "abab", "ba" };
	size_t n = sizeof lines / sizeof lines[0];
	seqc_pairs_options o = { .src_tok = tok };
	seqc_pairs p;
	ck_assert_int_eq(seqc_sources_from_lines(&o, lines, n, &p), 0);
	seqc_model *m = make_model(_i, SRC_V, 14);
	seqc_beam_config c = seqc_beam_defaults();
	c.beam = 3;
	c.nbest = 2;
	c.max_len = 6;
	/* len_a 0, len_b 6: every batch may generate 6 tokens, as alone */
	seqc_beam_result *res = calloc(n, sizeof *res);
	ck_assert_msg(seqc_translate_sources(m, &c, &p, 12, 0.0, 6, BOS, EOS, res) == 0, "%s", seqc_errmsg());
	/* the budget cut several batches, so the sources were reordered */
	seqc_batches *bt = seqc_batches_build(&p, 12, 0, SEQC_BATCHES_SORTED, NULL);
	ck_assert_uint_ge(seqc_batches_count(bt), 3);
	seqc_batches_destroy(bt);
	bool differ = false;
	for (size_t i = 0; i < n; i++) {
		const seqc_pair *pr = &p.pairs[i];
		int32_t one[16];
		size_t len = pr->src_len + 1;
		memcpy(one, p.ids + pr->off, pr->src_len * sizeof *one);
		one[len - 1] = p.src_eos;
		seqc_beam_result alone;
		seqc_graph *g = make_graph();
		ck_assert_int_eq(seqc_translate_batch(m, g, &c, one, &len, 1, len, BOS, EOS, &alone), 0);
		seqc_graph_destroy(g);
		ck_assert_msg(res[i].n == alone.n, "%s line %zu: %zu hypotheses, alone %zu", NAMES[_i], i,
			      res[i].n, alone.n);
		for (size_t k = 0; k < alone.n; k++) {
			const seqc_beam_hyp *a = &res[i].hyps[k], *b = &alone.hyps[k];
			ck_assert_msg(a->len == b->len && !memcmp(a->ids, b->ids, a->len * sizeof *a->ids),
				      "%s line %zu (\"%s\"): hypothesis %zu is not that of the line alone",
				      NAMES[_i], i, lines[i], k);
			ck_assert_msg(fabsf(a->logprob - b->logprob) <= 1e-5f, "%s line %zu: %.7f vs %.7f",
				      NAMES[_i], i, (double)a->logprob, (double)b->logprob);
		}
		differ |= fabsf(res[i].hyps[0].logprob - res[0].hyps[0].logprob) > 1e-3f;
		seqc_beam_results_free(&alone, 1);
	}
	ck_assert_msg(differ, "%s: every line has the same best logprob: order cannot show", NAMES[_i]);
	seqc_beam_results_free(res, n);
	free(res);
	seqc_pairs_free(&p);
	seqc_tok_destroy(tok);
	seqc_model_destroy(m);
}
END_TEST

/* ---- coverage ---- */

/* GNMT's penalty of ids [n] given source b, from the attention the model
 * reports after each step (bos, ids[0..n-2] fed): beta * sum over the
 * source's positions of log(min(coverage, 1)). */
static double coverage_penalty(seqc_model *m, int b, const int32_t *ids, size_t n, double beta)
{
	set_one(m, b);
	size_t L = LENS[b];
	double cov[S] = { 0 };
	float w[S];
	seqc_graph *g = make_graph();
	ck_assert_int_eq(seqc_model_start(m, 1), 0);
	for (size_t t = 0; t < n; t++) {
		int32_t tok = t ? ids[t - 1] : BOS;
		seqc_graph_reset(g);
		seqc_tensor *logits;
		ck_assert_int_eq(seqc_model_step(m, g, &tok, &logits), 0);
		ck_assert_int_eq(seqc_model_attention(m, w), 0);
		double sum = 0;
		for (size_t i = 0; i < L; i++) {
			cov[i] += w[i];
			sum += w[i];
		}
		ck_assert_msg(fabs(sum - 1) < 1e-5, "attention sums to %g", sum);
	}
	seqc_graph_destroy(g);
	double p = 0;
	for (size_t i = 0; i < L; i++)
		p += log(fmin(cov[i], 1.0));
	return beta * p;
}

START_TEST(test_coverage)
{
	seqc_model *m = make_model(_i, SRC_V, 15);
	seqc_beam_config c = seqc_beam_defaults();
	c.beam = 3;
	c.nbest = 3;
	c.max_len = 3; /* fewer steps than source positions: coverage stays below 1 */
	c.coverage_beta = 0.4f;
	seqc_beam_result r[2];
	translate(m, &c, 0, 2, r);
	bool moved = false;
	for (int b = 0; b < 2; b++)
		for (size_t i = 0; i < r[b].n; i++) {
			const seqc_beam_hyp *h = &r[b].hyps[i];
			double want = coverage_penalty(m, b, h->ids, h->len, c.coverage_beta);
			ck_assert_msg(isfinite(want), "%s: the penalty is not finite", NAMES[_i]);
			ck_assert_msg(fabs((h->score - h->logprob) - want) <= 1e-4, "%s source %d hypothesis %zu: "
				      "score - logprob %.6f, coverage penalty %.6f", NAMES[_i], b, i,
				      (double)(h->score - h->logprob), want);
			moved |= want < -1e-3;
		}
	ck_assert_msg(moved, "%s: no hypothesis had a coverage penalty: the test shows nothing", NAMES[_i]);
	seqc_beam_results_free(r, 2);
	seqc_model_destroy(m);
}
END_TEST

/* ---- refusals ---- */

START_TEST(test_refusals)
{
	seqc_rnnlm_config rc = { .cell = SEQC_CELL_GRU, .vocab = V, .embed = 4, .hidden = 4, .layers = 1 };
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	seqc_model *lm = seqc_model_wrap_rnnlm(seqc_rnnlm_create(&rc, &rng));
	seqc_beam_config c = seqc_beam_defaults();
	seqc_beam_result r[2];
	seqc_graph *g = make_graph();
	ck_assert_int_eq(seqc_translate_batch(lm, g, &c, SOURCES[0], LENS, 2, S, BOS, EOS, r), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "rnnlm"), "%s", seqc_errmsg());
	/* scoring a target needs exactly one source set */
	seqc_model *m = make_model(1, SRC_V, 16);
	ck_assert_int_eq(seqc_model_set_source(m, SOURCES[0], LENS, 2, S), 0);
	float lp[2];
	const int32_t ids[2] = { 1, 2 };
	ck_assert_int_lt(seqc_score(m, ids, 2, BOS, lp), 0);
	/* a bad beam option is named */
	c.nbest = 5;
	ck_assert_int_eq(seqc_translate_batch(m, g, &c, SOURCES[0], LENS, 2, S, BOS, EOS, r), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "nbest"), "%s", seqc_errmsg());
	seqc_graph_destroy(g);
	seqc_model_destroy(m);
	seqc_model_destroy(lm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("translate");
	TCase *tc = tcase_create("translate");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_exhaustive, 0, 2);
	tcase_add_loop_test(tc, test_beam1_is_greedy, 0, 2);
	tcase_add_loop_test(tc, test_logprob_is_score_sum, 0, 2);
	tcase_add_loop_test(tc, test_sources_keep_order, 0, 2);
	tcase_add_loop_test(tc, test_coverage, 0, 2);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
