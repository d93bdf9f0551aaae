/* gpt: PyTorch golden logits, loss and gradients (with and without biases),
 * a finite-difference check of the whole model over T = 4, GPT-2's init
 * statistics, the KV-cache step against the full forward (and after a
 * reorder, and at the end of the context), the config's JSON, the model
 * handle, and the Hugging Face GPT-2 importer on a tiny checkpoint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/gpt.h"
#include "models/model.h"
#include "support.h"

static seqc_gpt_config case_config(json_t *c)
{
	seqc_gpt_config cfg = seqc_gpt_config_defaults();
	cfg.vocab = (size_t)json_integer_value(json_object_get(c, "vocab"));
	cfg.context = (size_t)json_integer_value(json_object_get(c, "context"));
	cfg.layers = (size_t)json_integer_value(json_object_get(c, "layers"));
	cfg.heads = (size_t)json_integer_value(json_object_get(c, "heads"));
	cfg.embed = (size_t)json_integer_value(json_object_get(c, "embed"));
	cfg.bias = json_is_true(json_object_get(c, "bias"));
	cfg.gelu = strcmp(json_string_value(json_object_get(c, "gelu")), "exact") ? SEQC_GELU_TANH
										     : SEQC_GELU_EXACT;
	cfg.ln_eps = (float)json_number_value(json_object_get(c, "ln_eps"));
	return cfg;
}

static seqc_gpt *model_from_case(json_t *c)
{
	seqc_gpt_config cfg = case_config(c);
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	seqc_gpt *m = seqc_gpt_create(&cfg, &rng);
	ck_assert_ptr_nonnull(m);
	fixture_params(m->params, c);
	return m;
}

/* Defaults with the given sizes. */
static seqc_gpt_config sized(size_t V, size_t context, size_t L, size_t H, size_t C)
{
	seqc_gpt_config cfg = seqc_gpt_config_defaults();
	cfg.vocab = V;
	cfg.context = context;
	cfg.layers = L;
	cfg.heads = H;
	cfg.embed = C;
	return cfg;
}

/* A model with N(0, scale^2) added to every parameter: weights larger than
 * GPT-2's 0.02, and biases and norms off their 0 and 1, so that every path
 * carries signal. */
static seqc_gpt *perturbed_model(const seqc_gpt_config *cfg, float scale)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 4, SEQC_STREAM_INIT);
	seqc_gpt *m = seqc_gpt_create(cfg, &rng);
	ck_assert_ptr_nonnull(m);
	seqc_rng_seed(&rng, 6, SEQC_STREAM_INIT);
	for (size_t i = 0; i < m->params->numel; i++)
		m->params->values[i] += scale * seqc_rng_normal(&rng);
	return m;
}

static json_t *find_case(json_t *root, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(root, "cases"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "name")), name))
			return c;
	ck_abort_msg("gpt.json has no case %s", name);
	return NULL;
}

START_TEST(golden_pytorch)
{
	json_t *root = fixture_load("gpt.json");
	json_t *c = json_array_get(json_object_get(root, "cases"), (size_t)_i);
	ck_assert_ptr_nonnull(c);
	const char *name = json_string_value(json_object_get(c, "name"));
	size_t B = (size_t)json_integer_value(json_object_get(c, "B"));
	size_t T = (size_t)json_integer_value(json_object_get(c, "T"));
	seqc_gpt *m = model_from_case(c);
	int32_t *in = fixture_ids(c, "inputs", B * T), *tg = fixture_ids(c, "targets", B * T);
	seqc_ids inputs = seqc_ids_view2(in, B, T), targets = seqc_ids_view2(tg, B, T);
	seqc_graph *g = seqc_graph_create(0);
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_DROPOUT);
	seqc_tensor *logits, *loss;
	ck_assert_int_eq(seqc_gpt_logits(g, m, &inputs, &rng, &logits), 0);
	float *want = fixture_floats(c, "logits", B * T * m->c.vocab);
	ck_assert_msg(allclose(logits->val, want, logits->numel, 1e-4f, 1e-5f, "logits"), "%s logits",
		      name);
	free(want);
	seqc_graph_reset(g);
	ck_assert_int_eq(seqc_gpt_loss(g, m, &inputs, &targets, &rng, &loss), 0);
	ck_assert_double_eq_tol(loss->val[0], json_number_value(json_object_get(c, "loss")), 1e-5);
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	json_t *grads = json_object_get(c, "grads");
	for (size_t k = 0; k < m->params->count; k++) {
		seqc_param *q = m->params->items[k];
		float *e = fixture_floats(grads, q->name, q->t.numel);
		ck_assert_msg(allclose(q->t.grad, e, q->t.numel, 1e-4f, 1e-6f, q->name), "%s: grad %s",
			      name, q->name);
		free(e);
	}
	seqc_graph_destroy(g);
	free(in);
	free(tg);
	seqc_gpt_destroy(m);
	json_decref(root);
}
END_TEST

/* ---- finite differences over the whole model ---- */

typedef struct lm_ctx {
	seqc_gpt *m;
	seqc_ids inputs, targets;
} lm_ctx;

static seqc_tensor *lm_fn(seqc_graph *g, void *p)
{
	lm_ctx *c = p;
	seqc_rng rng;
	seqc_rng_seed(&rng, 9, SEQC_STREAM_DROPOUT); /* fixed dropout masks */
	seqc_tensor *loss;
	if (seqc_gpt_loss(g, c->m, &c->inputs, &c->targets, &rng, &loss) < 0)
		return NULL;
	return loss;
}

/* _i: 0 with biases and tanh GELU, 1 without biases and exact GELU. */
START_TEST(gradcheck_model)
{
	seqc_gpt_config cfg = sized(7, 6, 2, 2, 4);
	cfg.dropout = 0.1f;
	cfg.bias = _i == 0;
	cfg.gelu = _i == 0 ? SEQC_GELU_TANH : SEQC_GELU_EXACT;
	seqc_gpt *m = perturbed_model(&cfg, 0.4f);
	int32_t in[2 * 4] = { 1, 2, 3, 4, 5, 0, 2, 6 }, tg[2 * 4] = { 2, 3, 4, 5, 0, -1, 6, 1 };
	lm_ctx c = { .m = m, .inputs = seqc_ids_view2(in, 2, 4), .targets = seqc_ids_view2(tg, 2, 4) };
	seqc_tensor *inputs[64];
	int n = 0;
	for (size_t i = 0; i < m->params->count; i++)
		inputs[n++] = &m->params->items[i]->t;
	int fails = gradcheck(lm_fn, &c, inputs, n, 1e-2, 1e-2, 1e-4, 0);
	ck_assert_msg(fails == 0, "gpt (bias %d): %d gradient mismatches", cfg.bias, fails);
	seqc_gpt_destroy(m);
}
END_TEST

/* ---- GPT-2 initialization ---- */

static void moments(const seqc_tensor *t, double *mean, double *std)
{
	double s = 0, s2 = 0;
	for (size_t i = 0; i < t->numel; i++) {
		s += t->val[i];
		s2 += (double)t->val[i] * t->val[i];
	}
	*mean = s / (double)t->numel;
	*std = sqrt(s2 / (double)t->numel - *mean * *mean);
}

static bool all_equal(const seqc_tensor *t, float v)
{
	for (size_t i = 0; i < t->numel; i++)
		if (t->val[i] != v)
			return false;
	return true;
}

START_TEST(init_statistics)
{
	seqc_gpt_config cfg = sized(512, 128, 4, 4, 64);
	seqc_rng rng;
	seqc_rng_seed(&rng, 3, SEQC_STREAM_INIT);
	seqc_gpt *m = seqc_gpt_create(&cfg, &rng);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(seqc_params_find(m->params, "lm_head.weight"));
	double proj = 0.02 / sqrt(2.0 * 4);
	for (size_t i = 0; i < m->params->count; i++) {
		const seqc_param *q = m->params->items[i];
		double mean, std;
		if (q->t.ndim == 1) {
			bool ln_w = strstr(q->name, "ln_") && strstr(q->name, ".weight");
			ck_assert_msg(all_equal(&q->t, ln_w ? 1.0f : 0.0f), "%s", q->name);
			ck_assert_msg(q->no_decay, "%s decays", q->name);
			continue;
		}
		moments(&q->t, &mean, &std);
		double want = strstr(q->name, "c_proj") ? proj : 0.02;
		/* >= 4096 samples: the std estimate is within about 1.1% (1 sigma) */
		ck_assert_msg(fabs(std - want) < 0.05 * want && fabs(mean) < 0.1 * want,
			      "%s: mean %g std %g, expected std %g", q->name, mean, std, want);
		ck_assert_msg(!q->no_decay, "%s does not decay", q->name);
	}
	/* names and shapes of one block as nanoGPT */
	static const struct {
		const char *name;
		size_t d0, d1;
	} shapes[] = {
		{ "transformer.wte.weight", 512, 64 },
		{ "transformer.wpe.weight", 128, 64 },
		{ "transformer.h.3.attn.c_attn.weight", 192, 64 },
		{ "transformer.h.3.attn.c_attn.bias", 192, 0 },
		{ "transformer.h.3.attn.c_proj.weight", 64, 64 },
		{ "transformer.h.3.mlp.c_fc.weight", 256, 64 },
		{ "transformer.h.3.mlp.c_proj.weight", 64, 256 },
		{ "transformer.h.3.ln_2.bias", 64, 0 },
		{ "transformer.ln_f.weight", 64, 0 },
	};
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		seqc_param *q = seqc_params_find(m->params, shapes[i].name);
		ck_assert_msg(q != NULL, "no %s", shapes[i].name);
		ck_assert_uint_eq(q->t.shape[0], shapes[i].d0);
		ck_assert_int_eq(q->t.ndim, shapes[i].d1 ? 2 : 1);
		if (shapes[i].d1)
			ck_assert_uint_eq(q->t.shape[1], shapes[i].d1);
	}
	ck_assert_uint_eq(m->params->count, 2 + 4 * 12 + 2);
	seqc_gpt_destroy(m);
	/* without biases: weights of layer norms only */
	cfg.bias = false;
	seqc_rng_seed(&rng, 3, SEQC_STREAM_INIT);
	m = seqc_gpt_create(&cfg, &rng);
	ck_assert_uint_eq(m->params->count, 2 + 4 * 6 + 1);
	ck_assert_ptr_null(seqc_params_find(m->params, "transformer.h.0.attn.c_attn.bias"));
	seqc_gpt_destroy(m);
	/* no rng: zeros everywhere, for a caller that loads the values */
	m = seqc_gpt_create(&cfg, NULL);
	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; i < m->params->count; i++)
		ck_assert_msg(all_equal(&m->params->items[i]->t, 0.0f), "%s", m->params->items[i]->name);
	seqc_gpt_destroy(m);
}
END_TEST

/* ---- KV-cache step against the full forward ---- */

static seqc_gpt *small_model(size_t context)
{
	seqc_gpt_config cfg = sized(13, context, 2, 3, 12);
	cfg.dropout = 0.3f; /* must be off in step and in eval mode */
	return perturbed_model(&cfg, 0.3f);
}

/* Logits [B, T, V] of the full forward in eval mode, copied out. */
static float *full_logits(seqc_gpt *m, const int32_t *ids, size_t B, size_t T)
{
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_training(g, false);
	seqc_ids in = seqc_ids_view2((int32_t *)ids, B, T);
	seqc_tensor *logits;
	ck_assert_int_eq(seqc_gpt_logits(g, m, &in, NULL, &logits), 0);
	float *out = malloc(logits->numel * sizeof(float));
	memcpy(out, logits->val, logits->numel * sizeof(float));
	seqc_graph_destroy(g);
	return out;
}

/* Starts B rows and steps them through inputs [B, T], each step's logits
 * against the full forward's at that position; returns the full logits. */
static float *check_steps(seqc_gpt *m, seqc_graph *gs, const int32_t *in, size_t B, size_t T,
			  const char *what)
{
	size_t V = m->c.vocab;
	float *full = full_logits(m, in, B, T);
	ck_assert_int_eq(seqc_gpt_start(m, B), 0);
	for (size_t t = 0; t < T; t++) {
		int32_t tok[16];
		ck_assert_uint_le(B, 16);
		for (size_t b = 0; b < B; b++)
			tok[b] = in[b * T + t];
		seqc_graph_reset(gs);
		seqc_tensor *lg;
		ck_assert_int_eq(seqc_gpt_step(m, gs, tok, &lg), 0);
		ck_assert_uint_eq(lg->shape[0], B);
		ck_assert_uint_eq(lg->shape[1], V);
		for (size_t b = 0; b < B; b++)
			ck_assert_msg(allclose(lg->val + b * V, full + (b * T + t) * V, V, 1e-5f, 1e-5f,
					       "step"), "%s: row %zu position %zu", what, b, t);
	}
	return full;
}

START_TEST(step_matches_full)
{
	enum { B = 2, T = 6, V = 13, CTX = 8 };
	seqc_gpt *m = small_model(CTX);
	int32_t in[B * T];
	for (int i = 0; i < B * T; i++)
		in[i] = (i * 5 + 1) % V;
	seqc_graph *gs = seqc_graph_create(0);
	float *full = check_steps(m, gs, in, B, T, "step");
	/* a bad token fails before the cache moves */
	int32_t oob[B] = { 0, V };
	seqc_tensor *lg;
	ck_assert_int_ne(seqc_gpt_step(m, gs, oob, &lg), 0);
	ck_assert_int_eq(seqc_errcode(), SEQC_ERANGE);
	ck_assert_uint_eq(m->pos, T);
	/* rows {1, 1, 0} (more rows than the cache had), then one more token:
	 * row i continues sequence from[i] */
	size_t from[3] = { 1, 1, 0 };
	ck_assert_int_eq(seqc_gpt_reorder(m, from, 3), 0);
	int32_t next[3] = { 7, 7, 7 };
	seqc_graph_reset(gs);
	ck_assert_int_eq(seqc_gpt_step(m, gs, next, &lg), 0);
	ck_assert(allclose(lg->val, lg->val + V, V, 0, 0, "rows 0 and 1 share a cache"));
	int32_t ext[B * (T + 1)];
	for (int b = 0; b < B; b++) {
		memcpy(ext + b * (T + 1), in + b * T, T * sizeof(int32_t));
		ext[b * (T + 1) + T] = 7;
	}
	float *full2 = full_logits(m, ext, B, T + 1);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(allclose(lg->val + i * V, full2 + ((int)from[i] * (T + 1) + T) * V, V, 1e-5f,
				       1e-5f, "after reorder"), "row %d", i);
	/* back to 2 rows in place: {2, 1} = sequences 0 and 1 (row 1 keeps
	 * its own cache) */
	size_t back[2] = { 2, 1 };
	ck_assert_int_eq(seqc_gpt_reorder(m, back, 2), 0);
	int32_t last[2] = { 3, 3 };
	seqc_graph_reset(gs);
	ck_assert_int_eq(seqc_gpt_step(m, gs, last, &lg), 0);
	int32_t ext2[B * CTX];
	for (int b = 0; b < B; b++) {
		memcpy(ext2 + b * CTX, ext + b * (T + 1), (T + 1) * sizeof(int32_t));
		ext2[b * CTX + T + 1] = 3;
	}
	float *full3 = full_logits(m, ext2, B, CTX);
	for (int b = 0; b < B; b++)
		ck_assert(allclose(lg->val + b * V, full3 + (b * CTX + CTX - 1) * V, V, 1e-5f, 1e-5f,
				   "in-place reorder"));
	/* the context is full now: a clear error and nothing changes */
	seqc_graph_reset(gs);
	ck_assert_int_eq(seqc_gpt_step(m, gs, last, &lg), SEQC_ERANGE);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "context of 8 tokens is full"));
	size_t bad[1] = { 2 };
	ck_assert_int_eq(seqc_gpt_reorder(m, bad, 1), SEQC_ERANGE);
	/* start again: the same logits as the first position */
	ck_assert_int_eq(seqc_gpt_start(m, 1), 0);
	seqc_graph_reset(gs);
	ck_assert_int_eq(seqc_gpt_step(m, gs, in, &lg), 0);
	ck_assert(allclose(lg->val, full, V, 1e-5f, 1e-5f, "restart"));
	free(full);
	free(full2);
	free(full3);
	seqc_graph_destroy(gs);
	seqc_gpt_destroy(m);
}
END_TEST

/* Rows that trade caches in place: both are read before either is
 * written. */
/* Rows 2..128 step on weights packed at the first step after a start:
 * weights changed between two starts (training in between) are packed
 * again, so the steps follow the new weights. */
START_TEST(step_after_weights_change)
{
	enum { B = 3, T = 4, V = 13, CTX = 8 };
	seqc_gpt *m = small_model(CTX);
	int32_t in[B * T];
	for (int i = 0; i < B * T; i++)
		in[i] = (i * 7 + 2) % V;
	seqc_graph *gs = seqc_graph_create(0);
	for (int round = 0; round < 2; round++) {
		if (round == 1)
			for (size_t i = 0; i < m->params->numel; i++)
				m->params->values[i] *= 1.5f;
		free(check_steps(m, gs, in, B, T, round ? "after the weights changed" : "before"));
	}
	seqc_graph_destroy(gs);
	seqc_gpt_destroy(m);
}
END_TEST

START_TEST(reorder_swap)
{
	enum { V = 13, T = 5 };
	seqc_gpt *m = small_model(8);
	int32_t in[2 * (T + 1)] = { 1, 2, 3, 4, 5, 9, 6, 7, 8, 9, 10, 9 };
	float *full = full_logits(m, in, 2, T + 1);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *lg;
	ck_assert_int_eq(seqc_gpt_start(m, 2), 0);
	for (int t = 0; t < T; t++) {
		int32_t tok[2] = { in[t], in[T + 1 + t] };
		seqc_graph_reset(g);
		ck_assert_int_eq(seqc_gpt_step(m, g, tok, &lg), 0);
	}
	size_t swap[2] = { 1, 0 };
	ck_assert_int_eq(seqc_gpt_reorder(m, swap, 2), 0);
	int32_t last[2] = { 9, 9 };
	seqc_graph_reset(g);
	ck_assert_int_eq(seqc_gpt_step(m, g, last, &lg), 0);
	ck_assert(allclose(lg->val, full + (2 * T + 1) * V, V, 1e-5f, 1e-5f, "row 0 = sequence 1"));
	ck_assert(allclose(lg->val + V, full + T * V, V, 1e-5f, 1e-5f, "row 1 = sequence 0"));
	free(full);
	seqc_graph_destroy(g);
	seqc_gpt_destroy(m);
}
END_TEST

START_TEST(bad_inputs)
{
	seqc_gpt *m = small_model(4);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *out;
	int32_t ids[5] = { 1, 2, 3, 4, 5 };
	seqc_ids five = seqc_ids_view2(ids, 1, 5), four = seqc_ids_view2(ids, 1, 4),
		 flat = seqc_ids_view1(ids, 4), two = seqc_ids_view2(ids, 2, 2);
	ck_assert_int_eq(seqc_gpt_logits(g, m, &five, NULL, &out), SEQC_ESHAPE);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "context of 4"));
	ck_assert_int_eq(seqc_gpt_logits(g, m, &flat, NULL, &out), SEQC_ESHAPE);
	ck_assert_int_eq(seqc_gpt_loss(g, m, &four, &two, NULL, &out), SEQC_ESHAPE);
	/* dropout in training mode needs an rng */
	ck_assert_int_lt(seqc_gpt_logits(g, m, &four, NULL, &out), 0);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(seqc_gpt_step(m, g, ids, &out), SEQC_ESTATE);
	size_t from[1] = { 0 };
	ck_assert_int_eq(seqc_gpt_reorder(m, from, 1), SEQC_ESTATE);
	ck_assert_int_eq(seqc_gpt_start(m, 0), SEQC_EINVAL);
	seqc_graph_destroy(g);
	seqc_gpt_destroy(m);
}
END_TEST

/* ---- configuration ---- */

START_TEST(config_json)
{
	seqc_gpt_config cfg = sized(50257, 1024, 12, 12, 768);
	cfg.dropout = 0.25f;
	cfg.bias = false;
	cfg.gelu = SEQC_GELU_EXACT;
	char *s = seqc_gpt_config_to_json(&cfg);
	ck_assert_ptr_nonnull(strstr(s, "\"arch\":\"gpt\""));
	seqc_gpt_config back;
	ck_assert_int_eq(seqc_gpt_config_from_json(s, &back), 0);
	ck_assert(memcmp(&back, &cfg, sizeof cfg) == 0);
	free(s);
	ck_assert_int_eq(seqc_gpt_config_from_json("{\"arch\":\"gpt\",\"vocab\":5,\"context\":4,"
						   "\"layers\":1,\"heads\":2,\"embed\":4}", &back), 0);
	ck_assert(back.bias && back.gelu == SEQC_GELU_TANH && back.dropout == 0.0f);
	ck_assert_float_eq(back.ln_eps, 1e-5f);
#define BASE "{\"arch\":\"gpt\",\"vocab\":5,\"context\":4,\"layers\":1,"
	static const struct {
		const char *json, *phrase;
	} bad[] = {
		{ "[1]", "not a JSON object" },
		{ "{\"arch\":\"rnnlm\"}", "arch" },
		{ BASE "\"heads\":2}", "embed" },
		{ BASE "\"heads\":2,\"embed\":-4}", "embed" },
		{ BASE "\"heads\":3,\"embed\":4}", "divide" },
		{ BASE "\"heads\":2,\"embed\":4,\"n_head\":2}", "unknown field \"n_head\"" },
		{ BASE "\"heads\":2,\"embed\":4,\"gelu\":\"relu\"}", "gelu" },
		{ BASE "\"heads\":2,\"embed\":4,\"bias\":1}", "bias" },
		{ BASE "\"heads\":2,\"embed\":4,\"dropout\":1}", "dropout" },
		{ BASE "\"heads\":2,\"embed\":4,\"ln_eps\":0}", "ln_eps" },
		{ BASE "\"heads\":2,\"embed\":4,\"ln_eps\":\"x\"}", "ln_eps" },
		{ "{\"arch\":\"gpt\",\"vocab\":5,\"context\":4,\"layers\":100000,\"heads\":2,\"embed\":4}",
		  "layers" },
		{ "{\"arch\":\"gpt\",\"vocab\":5,\"context\":99999999999,\"layers\":1,\"heads\":2,"
		  "\"embed\":4}", "context" },
	};
#undef BASE
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_lt(seqc_gpt_config_from_json(bad[i].json, &back), 0);
		ck_assert_msg(strstr(seqc_errmsg(), bad[i].phrase), "case %zu: message '%s' lacks '%s'", i,
			      seqc_errmsg(), bad[i].phrase);
	}
}
END_TEST

/* The generic handle: from a config, config back, loss and step. */
START_TEST(model_handle)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 8, SEQC_STREAM_INIT);
	const char *json = "{\"arch\":\"gpt\",\"vocab\":9,\"context\":6,\"layers\":2,\"heads\":2,"
			   "\"embed\":8,\"dropout\":0.1}";
	seqc_model *m = seqc_model_from_config(json, &rng);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->arch, "gpt");
	ck_assert_uint_eq(m->vocab, 9);
	char *s = seqc_model_config_json(m);
	seqc_model *again = seqc_model_from_config(s, &rng);
	char *s2 = seqc_model_config_json(again);
	ck_assert_str_eq(s, s2);
	int32_t in[2 * 5] = { 1, 2, 3, 4, 5, 6, 7, 8, 0, 1 }, tg[2 * 5] = { 2, 3, 4, 5, 6, 7, 8, 0, 1, -1 };
	seqc_ids inputs = seqc_ids_view2(in, 2, 5), targets = seqc_ids_view2(tg, 2, 5);
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_training(g, false);
	seqc_tensor *a, *b, *logits;
	ck_assert_int_eq(seqc_model_loss(g, m, &inputs, &targets, NULL, &a), 0);
	ck_assert_int_eq(seqc_gpt_loss(g, m->gpt, &inputs, &targets, NULL, &b), 0);
	ck_assert_float_eq(a->val[0], b->val[0]);
	/* near log(9) at GPT-2's small init */
	ck_assert_double_eq_tol(a->val[0], log(9.0), 0.1);
	ck_assert_int_eq(seqc_model_logits(g, m, &inputs, NULL, &logits), 0);
	ck_assert_uint_eq(logits->numel, 2 * 5 * 9);
	ck_assert_int_eq(seqc_model_start(m, 2), 0);
	int32_t tok[2] = { 1, 6 };
	ck_assert_int_eq(seqc_model_step(m, g, tok, &logits), 0);
	size_t from[2] = { 1, 0 };
	ck_assert_int_eq(seqc_model_reorder(m, from, 2), 0);
	ck_assert_uint_gt(seqc_model_activation_bytes(m, 4, 6), 4 * 6 * 9 * sizeof(float));
	/* rnnlm through the same calls: a chunk from a zero state */
	seqc_model *r = seqc_model_from_config("{\"arch\":\"rnnlm\",\"cell\":\"gru\",\"vocab\":9,"
					       "\"embed\":4,\"hidden\":4,\"layers\":1,\"dropout\":0}", &rng);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(seqc_model_loss(g, r, &inputs, &targets, NULL, &a), 0);
	ck_assert_int_eq(seqc_rnnlm_loss(g, r->rnnlm, &inputs, &targets, NULL, NULL, NULL, &b, NULL,
					 NULL), 0);
	ck_assert_float_eq(a->val[0], b->val[0]);
	ck_assert_int_eq(seqc_model_logits(g, r, &inputs, NULL, &logits), 0);
	ck_assert_uint_eq(logits->numel, 2 * 5 * 9);
	seqc_model_destroy(r);
	seqc_graph_destroy(g);
	free(s);
	free(s2);
	seqc_model_destroy(again);
	seqc_model_destroy(m);
}
END_TEST

/* ---- Hugging Face GPT-2 import ---- */

/* The imported model's logits for the "bias" case equal PyTorch's. */
static void check_hf_logits(seqc_model *m, json_t *c)
{
	size_t B = (size_t)json_integer_value(json_object_get(c, "B"));
	size_t T = (size_t)json_integer_value(json_object_get(c, "T"));
	int32_t *in = fixture_ids(c, "inputs", B * T);
	float *got = full_logits(m->gpt, in, B, T);
	float *want = fixture_floats(c, "logits", B * T * m->vocab);
	ck_assert(allclose(got, want, B * T * m->vocab, 1e-4f, 1e-5f, "hf logits"));
	free(in);
	free(got);
	free(want);
}

/* Rewrite the checkpoint into dir/model.safetensors with edit applied to
 * each tensor (may rename, or drop by returning false); extra tensors
 * appended. */
typedef bool (*edit_fn)(seqc_st_tensor *t, void *ctx);

static void rewrite(const seqc_st *st, const char *path, edit_fn edit, void *ctx,
		    const seqc_st_tensor *extra, size_t nextra)
{
	size_t n = seqc_st_count(st), k = 0;
	seqc_st_tensor *ts = calloc(n + nextra, sizeof *ts);
	char (*names)[96] = calloc(n, sizeof *names);
	for (size_t i = 0; i < n; i++) {
		ts[k] = *seqc_st_tensor_at(st, i);
		snprintf(names[k], sizeof names[k], "%s", ts[k].name);
		ts[k].name = names[k];
		if (!edit || edit(&ts[k], ctx))
			k++;
	}
	for (size_t i = 0; i < nextra; i++)
		ts[k++] = extra[i];
	ck_assert_int_eq(seqc_st_write(path, ts, k, NULL, NULL, 0), 0);
	free(ts);
	free(names);
}

static bool add_prefix(seqc_st_tensor *t, void *ctx)
{
	char tmp[96];
	snprintf(tmp, sizeof tmp, "transformer.%s", t->name);
	strcpy(t->name, tmp);
	return true;
}

/* Drops the tensor named ctx. */
static bool drop(seqc_st_tensor *t, void *ctx)
{
	return strcmp(t->name, ctx) != 0;
}

/* Gives the tensor named ctx a wrong shape (its two dimensions swapped, or
 * a leading 1). */
static bool reshape(seqc_st_tensor *t, void *ctx)
{
	if (!strcmp(t->name, ctx)) {
		size_t d = t->shape[0];
		t->shape[0] = t->shape[1];
		t->shape[1] = d;
	}
	return true;
}

START_TEST(import_hf)
{
	json_t *root = fixture_load("gpt.json");
	json_t *c = find_case(root, "bias");
	char path[4096], dir[4096], out[4200];
	snprintf(path, sizeof path, "%s", fixture_path("gpt_hf/model.safetensors"));
	seqc_model *m = seqc_gpt_import_hf(path, 0);
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	ck_assert_str_eq(m->arch, "gpt");
	ck_assert_uint_eq(m->gpt->c.heads, 2);
	ck_assert_uint_eq(m->gpt->c.layers, 2);
	ck_assert_uint_eq(m->gpt->c.context, 8);
	check_hf_logits(m, c);
	seqc_model_destroy(m);
	/* heads agreeing with config.json are fine; disagreeing are not */
	m = seqc_gpt_import_hf(path, 2);
	ck_assert_ptr_nonnull(m);
	seqc_model_destroy(m);
	ck_assert_ptr_null(seqc_gpt_import_hf(path, 4));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "config.json says 2"));

	seqc_st *st;
	ck_assert_int_eq(seqc_st_read(path, &st), 0);
	ck_assert(make_temp_dir("gpt-import", dir, sizeof dir));
	snprintf(out, sizeof out, "%s/model.safetensors", dir);
	/* "transformer." names and a tied lm_head, no config.json: heads given */
	const seqc_st_tensor *wte = seqc_st_find(st, "wte.weight");
	seqc_st_tensor head = *wte;
	head.name = "lm_head.weight";
	rewrite(st, out, add_prefix, NULL, &head, 1);
	ck_assert_ptr_null(seqc_gpt_import_hf(out, 0));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "config.json"));
	m = seqc_gpt_import_hf(out, 2);
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	check_hf_logits(m, c);
	seqc_model_destroy(m);
	/* an untied head */
	float *other = malloc(wte->numel * sizeof(float));
	memcpy(other, wte->data, wte->numel * sizeof(float));
	other[3] += 1.0f;
	head.data = other;
	rewrite(st, out, NULL, NULL, &head, 1);
	ck_assert_ptr_null(seqc_gpt_import_hf(out, 2));
	ck_assert_int_eq(seqc_errcode(), SEQC_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "lm_head.weight"));
	free(other);
	/* a missing tensor, a wrong shape, an unknown tensor */
	rewrite(st, out, drop, "h.1.mlp.c_fc.bias", NULL, 0);
	ck_assert_ptr_null(seqc_gpt_import_hf(out, 2));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "no tensor \"h.1.mlp.c_fc.bias\""));
	rewrite(st, out, reshape, "h.0.mlp.c_fc.weight", NULL, 0);
	ck_assert_ptr_null(seqc_gpt_import_hf(out, 2));
	ck_assert_int_eq(seqc_errcode(), SEQC_ESHAPE);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "\"h.0.mlp.c_fc.weight\" is [32, 8], expected [8, 32]"));
	seqc_st_tensor stray = *seqc_st_find(st, "ln_f.bias");
	stray.name = "h.0.attn.rotary";
	rewrite(st, out, NULL, NULL, &stray, 1);
	ck_assert_ptr_null(seqc_gpt_import_hf(out, 2));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "\"h.0.attn.rotary\" is not part"));
	/* heads that do not divide C */
	rewrite(st, out, NULL, NULL, NULL, 0);
	ck_assert_ptr_null(seqc_gpt_import_hf(out, 3));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "divide"));
	/* a config.json with another size, or an unsupported activation */
	char cfg[4300];
	snprintf(cfg, sizeof cfg, "%s/config.json", dir);
	FILE *f = fopen(cfg, "w");
	fputs("{\"n_head\": 2, \"n_embd\": 16}", f);
	fclose(f);
	ck_assert_ptr_null(seqc_gpt_import_hf(out, 0));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "n_embd"));
	f = fopen(cfg, "w");
	fputs("{\"n_head\": 2, \"activation_function\": \"relu\"}", f);
	fclose(f);
	ck_assert_ptr_null(seqc_gpt_import_hf(out, 0));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "relu"));
	/* a missing file */
	ck_assert_ptr_null(seqc_gpt_import_hf("/nonexistent/model.safetensors", 2));
	ck_assert_int_eq(seqc_errcode(), SEQC_EIO);
	seqc_st_destroy(st);
	remove_tree(dir);
	json_decref(root);
}
END_TEST

static Suite *gpt_suite(void)
{
	Suite *s = suite_create("gpt");
	TCase *tc = tcase_create("gpt");
	tcase_add_loop_test(tc, golden_pytorch, 0, 2);
	tcase_add_loop_test(tc, gradcheck_model, 0, 2);
	tcase_add_test(tc, init_statistics);
	tcase_add_test(tc, step_matches_full);
	tcase_add_test(tc, step_after_weights_change);
	tcase_add_test(tc, reorder_swap);
	tcase_add_test(tc, bad_inputs);
	tcase_add_test(tc, config_json);
	tcase_add_test(tc, model_handle);
	tcase_add_test(tc, import_hf);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(gpt_suite());
}
