/* rnnlm: PyTorch golden loss and gradients, a finite-difference check of the
 * whole model over T = 4, the step interface against the chunk forward,
 * reorder, and the config's JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/rnnlm.h"
#include "support.h"

static seqc_rnnlm *model_from_case(json_t *c)
{
	seqc_rnnlm_config cfg = {
		.cell = (seqc_cell_kind)seqc_cell_parse(json_string_value(json_object_get(c, "cell"))),
		.vocab = (size_t)json_integer_value(json_object_get(c, "vocab")),
		.embed = (size_t)json_integer_value(json_object_get(c, "embed")),
		.hidden = (size_t)json_integer_value(json_object_get(c, "hidden")),
		.layers = (size_t)json_integer_value(json_object_get(c, "layers")),
		.tie = json_is_true(json_object_get(c, "tie")),
	};
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	seqc_rnnlm *m = seqc_rnnlm_create(&cfg, &rng);
	ck_assert_ptr_nonnull(m);
	fixture_params(m->params, c);
	return m;
}

START_TEST(golden_pytorch)
{
	json_t *root = fixture_load("rnnlm.json");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(root, "cases"), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		size_t B = (size_t)json_integer_value(json_object_get(c, "B"));
		size_t T = (size_t)json_integer_value(json_object_get(c, "T"));
		seqc_rnnlm *m = model_from_case(c);
		int32_t *in = fixture_ids(c, "inputs", B * T), *tg = fixture_ids(c, "targets", B * T);
		seqc_ids inputs = seqc_ids_view2(in, B, T), targets = seqc_ids_view2(tg, B, T);
		seqc_graph *g = seqc_graph_create(0);
		seqc_rng rng;
		seqc_rng_seed(&rng, 1, SEQC_STREAM_DROPOUT);
		seqc_tensor *loss;
		ck_assert_int_eq(seqc_rnnlm_loss(g, m, &inputs, &targets, NULL, NULL, &rng, &loss, NULL,
						 NULL), 0);
		ck_assert_double_eq_tol(loss->val[0], json_number_value(json_object_get(c, "loss")), 1e-5);
		ck_assert_int_eq(seqc_backward(g, loss), 0);
		json_t *grads = json_object_get(c, "grads");
		for (size_t k = 0; k < m->params->count; k++) {
			seqc_param *q = m->params->items[k];
			float *e = fixture_floats(grads, q->name, q->t.numel);
			ck_assert_msg(allclose(q->t.grad, e, q->t.numel, 1e-4f, 1e-6f, q->name),
				      "%s: grad %s", name, q->name);
			free(e);
		}
		seqc_graph_destroy(g);
		free(in);
		free(tg);
		seqc_rnnlm_destroy(m);
	}
	json_decref(root);
}
END_TEST

/* ---- finite differences over the whole model ---- */

typedef struct lm_ctx {
	seqc_rnnlm *m;
	seqc_ids inputs, targets;
	seqc_tensor *h0, *c0;
} lm_ctx;

static seqc_tensor *lm_fn(seqc_graph *g, void *p)
{
	lm_ctx *c = p;
	seqc_rng rng;
	seqc_rng_seed(&rng, 9, SEQC_STREAM_DROPOUT); /* fixed dropout masks */
	seqc_tensor *loss;
	if (seqc_rnnlm_loss(g, c->m, &c->inputs, &c->targets, c->h0, c->c0, &rng, &loss, NULL, NULL) < 0)
		return NULL;
	return loss;
}

START_TEST(gradcheck_model)
{
	seqc_rnnlm_config cfg = { .cell = (seqc_cell_kind)_i, .vocab = 6, .embed = 4, .hidden = 4,
				  .layers = 2, .dropout = 0.2f, .tie = true };
	seqc_rng rng;
	seqc_rng_seed(&rng, 2, SEQC_STREAM_INIT);
	seqc_rnnlm *m = seqc_rnnlm_create(&cfg, &rng);
	ck_assert_ptr_nonnull(m);
	int32_t in[2 * 4] = { 1, 2, 3, 4, 5, 0, 2, 2 }, tg[2 * 4] = { 2, 3, 4, 5, 0, -1, 2, 1 };
	lm_ctx c = { .m = m, .inputs = seqc_ids_view2(in, 2, 4), .targets = seqc_ids_view2(tg, 2, 4) };
	c.h0 = rand_tensor(3, (size_t[]){ 2, 2, 4 }, -1, 1, 3);
	c.c0 = cfg.cell == SEQC_CELL_LSTM ? rand_tensor(3, (size_t[]){ 2, 2, 4 }, -1, 1, 4) : NULL;
	seqc_tensor *inputs[64];
	int n = 0;
	for (size_t i = 0; i < m->params->count; i++)
		inputs[n++] = &m->params->items[i]->t;
	inputs[n++] = c.h0;
	if (c.c0)
		inputs[n++] = c.c0;
	double eps = cfg.cell == SEQC_CELL_RNN_RELU ? 1e-3 : 1e-2;
	int fails = gradcheck(lm_fn, &c, inputs, n, eps, 1e-2, 1e-5, 0);
	ck_assert_msg(fails == 0, "%s rnnlm: %d gradient mismatches", seqc_cell_name(cfg.cell), fails);
	seqc_tensor_destroy(c.h0);
	seqc_tensor_destroy(c.c0);
	seqc_rnnlm_destroy(m);
}
END_TEST

/* Feeding a sequence token by token through step gives the chunk forward's
 * logits; reorder moves rows' states. */
START_TEST(step_matches_chunk)
{
	seqc_rnnlm_config cfg = { .cell = (seqc_cell_kind)_i, .vocab = 9, .embed = 5, .hidden = 7,
				  .layers = 2, .dropout = 0.5f };
	seqc_rng rng;
	seqc_rng_seed(&rng, 4, SEQC_STREAM_INIT);
	seqc_rnnlm *m = seqc_rnnlm_create(&cfg, &rng);
	enum { B = 3, T = 6 };
	int32_t in[B * T];
	for (int i = 0; i < B * T; i++)
		in[i] = (i * 5 + 1) % 9;
	seqc_ids inputs = seqc_ids_view2(in, B, T);
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_training(g, false);
	seqc_tensor *logits;
	ck_assert_int_eq(seqc_rnnlm_logits(g, m, &inputs, NULL, NULL, &rng, &logits, NULL, NULL), 0);
	float *chunk = malloc(B * T * 9 * sizeof(float));
	memcpy(chunk, logits->val, B * T * 9 * sizeof(float));
	seqc_graph *gs = seqc_graph_create(0);
	ck_assert_int_eq(seqc_rnnlm_start(m, B), 0);
	for (int t = 0; t < T; t++) {
		int32_t tok[B];
		for (int b = 0; b < B; b++)
			tok[b] = in[b * T + t];
		seqc_graph_reset(gs);
		seqc_tensor *lg;
		ck_assert_int_eq(seqc_rnnlm_step(m, gs, tok, &lg), 0);
		for (int b = 0; b < B; b++)
			ck_assert(allclose(lg->val + b * 9, chunk + (b * T + t) * 9, 9, 1e-5f, 1e-6f, "step"));
	}
	/* reorder to rows {2, 2, 0, 1} (grows), then one more step: row i
	 * continues sequence from[i] */
	size_t from[4] = { 2, 2, 0, 1 };
	ck_assert_int_eq(seqc_rnnlm_reorder(m, from, 4), 0);
	int32_t next[4] = { 3, 3, 3, 3 };
	seqc_graph_reset(gs);
	seqc_tensor *lg;
	ck_assert_int_eq(seqc_rnnlm_step(m, gs, next, &lg), 0);
	ck_assert(allclose(lg->val, lg->val + 9, 9, 0, 0, "rows 0 and 1 share a state"));
	/* the same as extending each original sequence by 3 */
	int32_t ext[B * (T + 1)];
	for (int b = 0; b < B; b++) {
		memcpy(ext + b * (T + 1), in + b * T, T * sizeof(int32_t));
		ext[b * (T + 1) + T] = 3;
	}
	seqc_ids ein = seqc_ids_view2(ext, B, T + 1);
	seqc_graph_reset(g);
	ck_assert_int_eq(seqc_rnnlm_logits(g, m, &ein, NULL, NULL, &rng, &logits, NULL, NULL), 0);
	for (int i = 0; i < 4; i++)
		ck_assert(allclose(lg->val + i * 9, logits->val + ((int)from[i] * (T + 1) + T) * 9, 9,
				   1e-5f, 1e-6f, "after reorder"));
	size_t bad[1] = { 4 };
	ck_assert_int_eq(seqc_rnnlm_reorder(m, bad, 1), SEQC_ERANGE);
	int32_t oob[4] = { 9, 0, 0, 0 };
	ck_assert_int_ne(seqc_rnnlm_step(m, gs, oob, &lg), 0);
	ck_assert_int_eq(seqc_errcode(), SEQC_ERANGE);
	free(chunk);
	seqc_graph_destroy(g);
	seqc_graph_destroy(gs);
	seqc_rnnlm_destroy(m);
}
END_TEST

START_TEST(config_json)
{
	seqc_rnnlm_config cfg = { .cell = SEQC_CELL_GRU, .vocab = 70, .embed = 32, .hidden = 64,
				  .layers = 3, .dropout = 0.25f, .forget_bias_one = false };
	char *s = seqc_rnnlm_config_to_json(&cfg);
	ck_assert_ptr_nonnull(strstr(s, "\"arch\":\"rnnlm\""));
	seqc_rnnlm_config back;
	ck_assert_int_eq(seqc_rnnlm_config_from_json(s, &back), 0);
	ck_assert_int_eq(back.cell, SEQC_CELL_GRU);
	ck_assert_uint_eq(back.vocab, 70);
	ck_assert_uint_eq(back.layers, 3);
	ck_assert_float_eq(back.dropout, 0.25f);
	free(s);
	static const struct {
		const char *json, *phrase;
	} bad[] = {
		{ "not json", "not a JSON object" },
		{ "{\"arch\":\"gpt\"}", "arch" },
		{ "{\"arch\":\"rnnlm\",\"cell\":\"xlstm\"}", "cell" },
		{ "{\"arch\":\"rnnlm\",\"cell\":\"lstm\",\"dropout\":0,\"vocab\":-3}", "vocab" },
		{ "{\"arch\":\"rnnlm\",\"cell\":\"lstm\",\"dropout\":0,\"vocab\":3,\"embed\":4,\"hidden\":4,"
		  "\"layers\":99}", "layers" },
		{ "{\"arch\":\"rnnlm\",\"cell\":\"lstm\",\"dropout\":0,\"vocab\":3,\"embed\":4,\"hidden\":5,"
		  "\"layers\":1,\"tie\":true}", "tying" },
		{ "{\"arch\":\"rnnlm\",\"cell\":\"lstm\",\"dropout\":0,\"vocab\":3,\"embed\":4,\"hidden\":4,"
		  "\"layers\":1,\"tie\":1}", "tie" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_lt(seqc_rnnlm_config_from_json(bad[i].json, &back), 0);
		ck_assert_msg(strstr(seqc_errmsg(), bad[i].phrase), "case %zu: message '%s' lacks '%s'", i,
			      seqc_errmsg(), bad[i].phrase);
	}
}
END_TEST

static Suite *rnnlm_suite(void)
{
	Suite *s = suite_create("rnnlm");
	TCase *tc = tcase_create("rnnlm");
	tcase_add_test(tc, golden_pytorch);
	tcase_add_loop_test(tc, gradcheck_model, SEQC_CELL_RNN_TANH, SEQC_CELL_GRU + 1);
	tcase_add_loop_test(tc, step_matches_chunk, SEQC_CELL_RNN_TANH, SEQC_CELL_GRU + 1);
	tcase_add_test(tc, config_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(rnnlm_suite());
}
