/* Scoring (decode/score.h): on a model whose logits are known (every weight
 * zero but the head bias, so every position's logits are the bias), against
 * a token-by-token pass through the step interface for each cell kind and
 * across the 256-position chunks, prefixes, bad ids and empty input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static seqc_model *make_model(seqc_cell_kind cell, size_t V, size_t H, size_t layers, uint64_t seed)
{
	seqc_rnnlm_config c = { .cell = cell, .vocab = V, .embed = H + 1, .hidden = H, .layers = layers,
				/* dropout must not apply when scoring */
				.dropout = 0.5f };
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	seqc_model *m = seqc_model_wrap_rnnlm(seqc_rnnlm_create(&c, &rng));
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	return m;
}

static int32_t *random_ids(size_t n, size_t V, uint64_t seed)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_DATA);
	int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
	for (size_t i = 0; i < n; i++)
		ids[i] = (int32_t)seqc_rng_below(&rng, (uint32_t)V);
	return ids;
}

/* log_softmax(x)[k] in double. */
static double log_softmax_at(const float *x, size_t V, int32_t k)
{
	double max = x[0], z = 0;
	for (size_t i = 1; i < V; i++)
		max = fmax(max, x[i]);
	for (size_t i = 0; i < V; i++)
		z += exp((double)x[i] - max);
	return (double)x[k] - max - log(z);
}

static const seqc_cell_kind cells[] = { SEQC_CELL_RNN_TANH, SEQC_CELL_RNN_RELU, SEQC_CELL_LSTM, SEQC_CELL_GRU };

/* Every weight zero: embeddings 0, so each cell's state stays 0 (tanh(0),
 * relu(0), LSTM c = f c + i tanh(0) = 0 and h = o tanh(0), GRU h = (1 - z)
 * tanh(0) + z h = 0), and the logits are the head bias at every position. */
START_TEST(test_bias_only)
{
	const size_t V = 7;
	const float bias[7] = { 0.5f, -1.0f, 2.0f, 0.0f, 3.5f, -2.25f, 1.0f };
	for (size_t k = 0; k < 4; k++) {
		seqc_model *m = make_model(cells[k], V, 5, 2, 3);
		memset(m->params->values, 0, m->params->numel * sizeof(float));
		memcpy(m->rnnlm->head_b->val, bias, sizeof bias);
		const int32_t ids[9] = { 4, 4, 0, 6, 2, 5, 1, 3, 4 };
		float lp[9];
		ck_assert_int_eq(seqc_score(m, ids, 9, 2, lp), 0);
		float want[9];
		for (size_t i = 0; i < 9; i++)
			want[i] = (float)log_softmax_at(bias, V, ids[i]);
		ck_assert_msg(allclose(lp, want, 9, 1e-6f, 1e-6f, seqc_cell_name(cells[k])), "%s",
			      seqc_cell_name(cells[k]));
		seqc_model_destroy(m);
	}
}
END_TEST

/* The step interface, one token at a time from bos. */
static void score_by_steps(seqc_model *m, const int32_t *ids, size_t n, int32_t bos, float *out)
{
	seqc_graph *g = seqc_graph_create(0);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(seqc_model_start(m, 1), 0);
	int32_t tok = bos;
	for (size_t i = 0; i < n; i++) {
		seqc_graph_reset(g);
		seqc_tensor *logits;
		ck_assert_int_eq(seqc_model_step(m, g, &tok, &logits), 0);
		out[i] = (float)log_softmax_at(logits->val, m->vocab, ids[i]);
		tok = ids[i];
	}
	seqc_graph_destroy(g);
}

START_TEST(test_matches_steps)
{
	/* lengths around the 256-position chunk */
	const size_t lengths[] = { 1, 2, 255, 256, 257, 600 };
	const size_t V = 11;
	seqc_model *m = make_model(cells[_i], V, 12, 2, 10 + (uint64_t)_i);
	for (size_t j = 0; j < sizeof lengths / sizeof lengths[0]; j++) {
		size_t n = lengths[j];
		int32_t *ids = random_ids(n, V, n);
		float *lp = malloc(n * sizeof *lp), *want = malloc(n * sizeof *want);
		ck_assert_int_eq(seqc_score(m, ids, n, 2, lp), 0);
		score_by_steps(m, ids, n, 2, want);
		char what[64];
		snprintf(what, sizeof what, "%s n=%zu", seqc_cell_name(cells[_i]), n);
		ck_assert_msg(allclose(lp, want, n, 1e-4f, 2e-5f, what), "%s", what);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(lp[i] <= 0.0f, "%s: logprob %g at %zu", what, (double)lp[i], i);
		free(ids);
		free(lp);
		free(want);
	}
	seqc_model_destroy(m);
}
END_TEST

/* Scoring a prefix gives the prefix of the scores (the state carries across
 * chunks in both), and the sum over a long text is not that of a text cut
 * into independent chunks (the state does carry). */
START_TEST(test_prefix_and_carry)
{
	const size_t V = 9, n = 700;
	seqc_model *m = make_model(SEQC_CELL_LSTM, V, 10, 1, 4);
	int32_t *ids = random_ids(n, V, 77);
	float *all = malloc(n * sizeof *all), *part = malloc(n * sizeof *part);
	ck_assert_int_eq(seqc_score(m, ids, n, 3, all), 0);
	ck_assert_int_eq(seqc_score(m, ids, 300, 3, part), 0);
	ck_assert(allclose(part, all, 300, 1e-5f, 1e-6f, "prefix 300 of 700"));
	/* the text from 256 on, scored alone from bos, differs from the
	 * carried scores at 256 */
	ck_assert_int_eq(seqc_score(m, ids + 256, 10, 3, part), 0);
	double d = 0;
	for (size_t i = 0; i < 10; i++)
		d += fabs((double)part[i] - (double)all[256 + i]);
	ck_assert_msg(d > 1e-4, "the state does not seem to carry across chunks (difference %g)", d);
	free(ids);
	free(all);
	free(part);
	seqc_model_destroy(m);
}
END_TEST

START_TEST(test_bad_ids)
{
	const size_t V = 6;
	seqc_model *m = make_model(SEQC_CELL_GRU, V, 4, 1, 1);
	int32_t ids[5] = { 0, 1, 2, 3, 4 };
	float lp[5];
	const struct {
		size_t pos;
		int32_t id;
	} bad[] = { { 0, -1 }, { 2, 6 }, { 4, 1000 }, { 4, INT32_MIN } };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int32_t saved = ids[bad[i].pos];
		ids[bad[i].pos] = bad[i].id;
		ck_assert_int_eq(seqc_score(m, ids, 5, 2, lp), SEQC_ERANGE);
		char want[64];
		snprintf(want, sizeof want, "position %zu", bad[i].pos);
		ck_assert_msg(strstr(seqc_errmsg(), want), "message: %s", seqc_errmsg());
		ids[bad[i].pos] = saved;
	}
	/* a bad bos */
	ck_assert_int_eq(seqc_score(m, ids, 5, -1, lp), SEQC_ERANGE);
	ck_assert_int_eq(seqc_score(m, ids, 5, 6, lp), SEQC_ERANGE);
	ck_assert_msg(strstr(seqc_errmsg(), "bos"), "message: %s", seqc_errmsg());
	/* the good ones still score */
	ck_assert_int_eq(seqc_score(m, ids, 5, 2, lp), 0);
	seqc_model_destroy(m);
}
END_TEST

START_TEST(test_empty)
{
	seqc_model *m = make_model(SEQC_CELL_LSTM, 5, 4, 1, 1);
	/* nothing to read or write: NULL is fine */
	ck_assert_int_eq(seqc_score(m, NULL, 0, 2, NULL), 0);
	float lp[1] = { 42.0f };
	const int32_t ids[1] = { 1 };
	ck_assert_int_eq(seqc_score(m, ids, 0, 2, lp), 0);
	ck_assert_float_eq(lp[0], 42.0f);
	seqc_model_destroy(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("decode_score");
	TCase *tc = tcase_create("score");
	tcase_add_test(tc, test_bias_only);
	tcase_add_loop_test(tc, test_matches_steps, 0, 4);
	tcase_add_test(tc, test_prefix_and_carry);
	tcase_add_test(tc, test_bad_ids);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
