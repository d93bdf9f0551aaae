/* s2s-rnn: PyTorch golden steps, loss and gradients (GRU + general, LSTM +
 * mlp, LSTM + dot tied and shared without bridge, GRU without attention or
 * input feeding), finite differences of the whole loss for every attention
 * and both cells, padding invariance, decoding steps against the full
 * forward (with a reorder), input_fn against teacher forcing and greedy
 * decoding, and refusals of bad configs, JSON and misuse. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/s2s_rnn.h"
#include "support.h"

static size_t get_int(json_t *o, const char *key)
{
	return (size_t)json_integer_value(json_object_get(o, key));
}

static size_t *fixture_sizes(json_t *c, const char *key, size_t n)
{
	json_t *a = json_object_get(c, key);
	ck_assert_uint_eq(json_array_size(a), n);
	size_t *out = malloc(n * sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = (size_t)json_integer_value(json_array_get(a, i));
	return out;
}

/* ---- golden ---- */

static void check_golden_case(json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	char *cfg_text = json_dumps(json_object_get(c, "config"), JSON_COMPACT);
	seqc_s2sr_config cfg;
	ck_assert_msg(seqc_s2sr_config_from_json(cfg_text, &cfg) == 0, "%s: %s", name, seqc_errmsg());
	free(cfg_text);
	seqc_s2sr *m = seqc_s2sr_create(&cfg, NULL);
	ck_assert_ptr_nonnull(m);
	fixture_params(m->params, c);
	size_t B = get_int(c, "B"), S = get_int(c, "S"), T = get_int(c, "T"), V = cfg.tgt_vocab;
	size_t H = cfg.hidden;
	int32_t *src = fixture_ids(c, "src", B * S), *tin = fixture_ids(c, "tgt_in", B * T);
	int32_t *tout = fixture_ids(c, "tgt_out", B * T);
	size_t *lens = fixture_sizes(c, "src_lens", B);
	seqc_s2s_batch b = { B, S, T, src, lens, tin, tout };

	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *loss, *logits;
	ck_assert_int_eq(seqc_s2sr_logits(g, m, &b, NULL, NULL, NULL, &logits), 0);
	float *e = fixture_floats(c, "logits", B * T * V);
	ck_assert_msg(allclose(logits->val, e, B * T * V, 1e-5f, 1e-5f, name), "%s: logits", name);
	free(e);
	seqc_graph_reset(g);
	ck_assert_int_eq(seqc_s2sr_loss(g, m, &b, NULL, NULL, NULL, &loss), 0);
	ck_assert_double_eq_tol(loss->val[0], json_number_value(json_object_get(c, "loss")), 1e-5);
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	json_t *grads = json_object_get(c, "grads");
	for (size_t k = 0; k < m->params->count; k++) {
		seqc_param *q = m->params->items[k];
		float *eg = fixture_floats(grads, q->name, q->t.numel);
		ck_assert_msg(allclose(q->t.grad, eg, q->t.numel, 1e-4f, 1e-5f, q->name), "%s: grad %s",
			      name, q->name);
		free(eg);
	}

	/* every decoder step through the decoding path: h_t, a_t, h~_t, logits */
	float *eh = fixture_floats(c, "h_top", B * T * H), *ea = fixture_floats(c, "attn", B * T * S);
	float *et = fixture_floats(c, "h_tilde", B * T * H), *el = fixture_floats(c, "logits", B * T * V);
	float h[64], ht[64], a[64];
	ck_assert_int_eq(seqc_s2sr_set_source(m, src, lens, B, S), 0);
	ck_assert_int_eq(seqc_s2sr_start(m, B), 0);
	for (size_t t = 0; t < T; t++) {
		int32_t tok[8];
		for (size_t r = 0; r < B; r++)
			tok[r] = tin[r * T + t];
		seqc_graph_reset(g);
		ck_assert_int_eq(seqc_s2sr_step(m, g, tok, &logits), 0);
		ck_assert_int_eq(seqc_s2sr_last_state(m, h, ht), 0);
		ck_assert_int_eq(seqc_s2sr_attention(m, a), 0);
		for (size_t r = 0; r < B; r++) {
			size_t at = r * T + t;
			ck_assert_msg(allclose(h + r * H, eh + at * H, H, 1e-5f, 1e-5f, name), "%s: h_t", name);
			ck_assert_msg(allclose(ht + r * H, et + at * H, H, 1e-5f, 1e-5f, name), "%s: h~_t",
				      name);
			ck_assert_msg(allclose(a + r * S, ea + at * S, S, 1e-5f, 1e-6f, name), "%s: a_t", name);
			ck_assert_msg(allclose(logits->val + r * V, el + at * V, V, 1e-5f, 1e-5f, name),
				      "%s: step logits", name);
		}
	}
	free(eh), free(ea), free(et), free(el);
	seqc_graph_destroy(g);
	free(src), free(tin), free(tout), free(lens);
	seqc_s2sr_destroy(m);
}

START_TEST(golden_pytorch)
{
	json_t *root = fixture_load("s2s_rnn.json");
	json_t *cases = json_object_get(root, "cases");
	ck_assert_uint_ge(json_array_size(cases), 4);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
		check_golden_case(c);
	json_decref(root);
}
END_TEST

/* ---- a small model and batch for the other tests ---- */

static seqc_s2sr *small_model(seqc_cell_kind cell, seqc_s2sr_attn_kind attn, float dropout,
			      uint64_t seed)
{
	seqc_s2sr_config c = seqc_s2sr_config_defaults();
	c.src_vocab = 6, c.tgt_vocab = 5, c.embed = 3, c.hidden = 4;
	c.enc_layers = 2, c.dec_layers = 2, c.cell = cell, c.attention = attn, c.dropout = dropout;
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	seqc_s2sr *m = seqc_s2sr_create(&c, &rng);
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	/* larger weights than the default 0.1 so that every path matters, and
	 * peaked attention, whose gradients are otherwise too small to tell
	 * from rounding */
	for (size_t i = 0; i < m->params->count; i++) {
		seqc_param *q = m->params->items[i];
		float scale = strstr(q->name, "attn.") ? 20.0f : 5.0f;
		for (size_t k = 0; k < q->t.numel; k++)
			q->t.val[k] *= scale;
	}
	return m;
}

/* Two pairs: sources of lengths 4 and 2 (S = 4), targets of 3 and 2 (T = 3). */
static int32_t SRC[2 * 4] = { 1, 2, 3, 4, 5, 1, 0, 0 };
static size_t SRC_LENS[2] = { 4, 2 };
static int32_t TGT_IN[2 * 3] = { 0, 3, 1, 0, 2, 4 };
static int32_t TGT_OUT[2 * 3] = { 3, 1, 2, 2, 4, -1 };

static seqc_s2s_batch small_batch(void)
{
	return (seqc_s2s_batch){ 2, 4, 3, SRC, SRC_LENS, TGT_IN, TGT_OUT };
}

/* ---- finite differences ---- */

typedef struct fd_ctx {
	seqc_s2sr *m;
	bool logits; /* check the logits [B, T, V] rather than the loss */
} fd_ctx;

static seqc_tensor *loss_fn(seqc_graph *g, void *p)
{
	fd_ctx *c = p;
	seqc_rng rng;
	seqc_rng_seed(&rng, 9, SEQC_STREAM_DROPOUT); /* the same dropout masks every call */
	seqc_s2s_batch b = small_batch();
	seqc_tensor *out;
	if (c->logits)
		return seqc_s2sr_logits(g, c->m, &b, &rng, NULL, NULL, &out) == 0 ? out : NULL;
	return seqc_s2sr_loss(g, c->m, &b, &rng, NULL, NULL, &out) == 0 ? out : NULL;
}

START_TEST(gradcheck_model)
{
	/* _i: attention kind (4) x cell (2); dropout on every other one */
	seqc_s2sr_attn_kind attn = (seqc_s2sr_attn_kind)(_i % 4);
	seqc_cell_kind cell = _i / 4 ? SEQC_CELL_LSTM : SEQC_CELL_GRU;
	fd_ctx c = { small_model(cell, attn, _i % 2 ? 0.2f : 0.0f, 3 + (uint64_t)_i), false };
	seqc_tensor *in[128];
	int n = 0;
	for (size_t i = 0; i < c.m->params->count; i++)
		in[n++] = &c.m->params->items[i]->t;
	/* the loss, and the logits (larger gradients, less rounding) */
	for (int k = 0; k < 2; k++) {
		c.logits = k;
		int fails = gradcheck(loss_fn, &c, in, n, 1e-2, 1e-2, 1e-4, 0);
		ck_assert_msg(fails == 0, "%s + %s (%s): %d gradient mismatches", seqc_cell_name(cell),
			      seqc_s2sr_attention_name(attn), k ? "logits" : "loss", fails);
	}
	seqc_s2sr_destroy(c.m);
}
END_TEST

/* ---- padding invariance ---- */

START_TEST(padding_invariance)
{
	seqc_s2sr *m = small_model(_i ? SEQC_CELL_LSTM : SEQC_CELL_GRU, SEQC_S2SR_ATTN_MLP, 0, 5);
	seqc_graph *g = seqc_graph_create(0);
	/* pair 1 (source length 2, two targets) alone */
	int32_t src1[2] = { 5, 1 }, in1[2] = { 0, 2 }, out1[2] = { 2, 4 };
	size_t len1 = 2;
	seqc_s2s_batch alone = { 1, 2, 2, src1, &len1, in1, out1 };
	seqc_tensor *la, *lb, *loss_a, *loss_b;
	ck_assert_int_eq(seqc_s2sr_logits(g, m, &alone, NULL, NULL, NULL, &la), 0);
	ck_assert_int_eq(seqc_s2sr_loss(g, m, &alone, NULL, NULL, NULL, &loss_a), 0);
	/* the same pair padded (S = 4, T = 3) after a longer pair whose
	 * targets are ignored, so the mean is over pair 1 alone */
	int32_t out_b[6] = { -1, -1, -1, 2, 4, -1 };
	seqc_s2s_batch both = small_batch();
	both.tgt_out = out_b;
	ck_assert_int_eq(seqc_s2sr_logits(g, m, &both, NULL, NULL, NULL, &lb), 0);
	ck_assert_int_eq(seqc_s2sr_loss(g, m, &both, NULL, NULL, NULL, &loss_b), 0);
	for (size_t t = 0; t < 2; t++)
		ck_assert(allclose(lb->val + (3 + t) * 5, la->val + t * 5, 5, 1e-5f, 1e-6f, "padded row"));
	ck_assert_float_eq_tol(loss_a->val[0], loss_b->val[0], 1e-5f);
	seqc_graph_destroy(g);
	seqc_s2sr_destroy(m);
}
END_TEST

/* ---- decoding steps against the full forward ---- */

START_TEST(steps_match_full)
{
	/* _i: attention kind; LSTM for odd ones */
	seqc_s2sr *m = small_model(_i % 2 ? SEQC_CELL_LSTM : SEQC_CELL_GRU, (seqc_s2sr_attn_kind)_i,
				   0.3f, 7);
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_training(g, false);
	seqc_s2s_batch b = small_batch();
	seqc_tensor *full;
	ck_assert_int_eq(seqc_s2sr_logits(g, m, &b, NULL, NULL, NULL, &full), 0);
	float *ref = malloc(full->numel * sizeof(float));
	memcpy(ref, full->val, full->numel * sizeof(float));
	seqc_graph_set_training(g, true); /* decoding ignores the graph's modes */
	ck_assert_int_eq(seqc_s2sr_set_source(m, SRC, SRC_LENS, 2, 4), 0);
	ck_assert_int_eq(seqc_s2sr_start(m, 6), 0);
	size_t src_of[8] = { 0, 0, 0, 1, 1, 1 }, V = 5, T = 3;
	float a[6 * 4];
	for (size_t t = 0; t < T; t++) {
		if (t == 1) {
			/* rows move across sources and duplicate */
			size_t from[6] = { 3, 0, 4, 1, 5, 5 }, moved[8] = { 0 };
			ck_assert_int_eq(seqc_s2sr_reorder(m, from, 6), 0);
			for (size_t r = 0; r < 6; r++)
				moved[r] = src_of[from[r]];
			memcpy(src_of, moved, sizeof moved);
		}
		if (t == 2) {
			/* more rows than ever: the buffers grow */
			size_t from[8] = { 0, 1, 2, 3, 4, 5, 0, 3 }, moved[8];
			ck_assert_int_eq(seqc_s2sr_reorder(m, from, 8), 0);
			for (size_t r = 0; r < 8; r++)
				moved[r] = src_of[from[r]];
			memcpy(src_of, moved, sizeof moved);
		}
		size_t rows = t == 2 ? 8 : 6;
		int32_t tok[8];
		for (size_t r = 0; r < rows; r++)
			tok[r] = TGT_IN[src_of[r] * T + t];
		seqc_graph_reset(g);
		seqc_tensor *logits;
		ck_assert_int_eq(seqc_s2sr_step(m, g, tok, &logits), 0);
		for (size_t r = 0; r < rows; r++)
			ck_assert_msg(allclose(logits->val + r * V, ref + (src_of[r] * T + t) * V, V, 1e-5f,
					       1e-5f, "step"),
				      "step %zu row %zu", t, r);
		if (t < 2) {
			ck_assert_int_eq(seqc_s2sr_attention(m, a), 0);
			for (size_t r = 0; r < rows; r++) {
				double sum = 0;
				for (size_t s = 0; s < 4; s++) {
					sum += a[r * 4 + s];
					if (s >= SRC_LENS[src_of[r]])
						ck_assert_float_eq(a[r * 4 + s], 0.0f);
				}
				ck_assert_double_eq_tol(sum, _i == SEQC_S2SR_ATTN_NONE ? 0.0 : 1.0, 1e-5);
			}
		}
	}
	free(ref);
	seqc_graph_destroy(g);
	seqc_s2sr_destroy(m);
}
END_TEST

/* ---- input_fn ---- */

static int keep_truth(void *ctx, size_t t, size_t B, size_t V, const float *logits,
		      const int32_t *truth, int32_t *chosen)
{
	memcpy(chosen, truth, B * sizeof *chosen);
	return 0;
}

/* Argmax of the previous logits; records the choices in ctx [B, T]. */
static int take_argmax(void *ctx, size_t t, size_t B, size_t V, const float *logits,
		       const int32_t *truth, int32_t *chosen)
{
	int32_t *seen = ctx;
	for (size_t r = 0; r < B; r++) {
		size_t best = 0;
		for (size_t v = 1; v < V; v++)
			best = logits[r * V + v] > logits[r * V + best] ? v : best;
		chosen[r] = (int32_t)best;
		seen[r * 3 + t] = (int32_t)best;
	}
	return 0;
}

static int refuse(void *ctx, size_t t, size_t B, size_t V, const float *logits,
		  const int32_t *truth, int32_t *chosen)
{
	return *(int *)ctx == 0 ? SEQC_EIO : (chosen[0] = (int32_t)V, 0);
}

START_TEST(input_fn_truth_is_teacher_forcing)
{
	seqc_s2sr *m = small_model(_i ? SEQC_CELL_LSTM : SEQC_CELL_GRU, SEQC_S2SR_ATTN_GENERAL, 0.25f, 11);
	seqc_graph *g = seqc_graph_create(0);
	seqc_s2s_batch b = small_batch();
	size_t n = m->params->numel;
	float losses[2], *grads = malloc(2 * n * sizeof(float));
	for (int k = 0; k < 2; k++) {
		seqc_rng rng;
		seqc_rng_seed(&rng, 4, SEQC_STREAM_DROPOUT);
		seqc_params_zero_grad(m->params);
		seqc_graph_reset(g);
		seqc_tensor *loss;
		ck_assert_int_eq(seqc_s2sr_loss(g, m, &b, &rng, k ? keep_truth : NULL, NULL, &loss), 0);
		ck_assert_int_eq(seqc_backward(g, loss), 0);
		losses[k] = loss->val[0];
		memcpy(grads + k * n, m->params->grads, n * sizeof(float));
	}
	/* the same masks and values; only the generator's GEMM shape and the
	 * embedding gradient's summation order differ */
	ck_assert_float_eq_tol(losses[0], losses[1], 1e-6f);
	ck_assert(allclose(grads + n, grads, n, 1e-5f, 1e-6f, "grads"));
	free(grads);
	seqc_graph_destroy(g);
	seqc_s2sr_destroy(m);
}
END_TEST

START_TEST(input_fn_argmax_is_greedy)
{
	seqc_s2sr *m = small_model(_i ? SEQC_CELL_LSTM : SEQC_CELL_GRU, SEQC_S2SR_ATTN_DOT, 0, 13);
	seqc_graph *g = seqc_graph_create(0);
	seqc_s2s_batch b = small_batch();
	int32_t seen[6] = { 0 };
	seqc_tensor *loss;
	ck_assert_int_eq(seqc_s2sr_loss(g, m, &b, NULL, take_argmax, seen, &loss), 0);
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	ck_assert_int_eq(seqc_s2sr_set_source(m, SRC, SRC_LENS, 2, 4), 0);
	ck_assert_int_eq(seqc_s2sr_start(m, 2), 0);
	int32_t tok[2] = { TGT_IN[0], TGT_IN[3] };
	for (size_t t = 1; t < 3; t++) {
		seqc_graph_reset(g);
		seqc_tensor *logits;
		ck_assert_int_eq(seqc_s2sr_step(m, g, tok, &logits), 0);
		for (size_t r = 0; r < 2; r++) {
			int32_t best = 0;
			for (int32_t v = 1; v < 5; v++)
				best = logits->val[r * 5 + v] > logits->val[r * 5 + best] ? v : best;
			tok[r] = best;
			ck_assert_int_eq(seen[r * 3 + t], best);
		}
	}
	/* a failing input_fn stops the loss with its code; a bad id is refused */
	int mode = 0;
	seqc_graph_reset(g);
	ck_assert_int_eq(seqc_s2sr_loss(g, m, &b, NULL, refuse, &mode, &loss), SEQC_EIO);
	mode = 1;
	ck_assert_int_eq(seqc_s2sr_loss(g, m, &b, NULL, refuse, &mode, &loss), SEQC_ERANGE);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "input_fn chose id 5"));
	seqc_graph_destroy(g);
	seqc_s2sr_destroy(m);
}
END_TEST

/* ---- config, JSON and misuse ---- */

START_TEST(json_round_trip)
{
	seqc_s2sr_config c = seqc_s2sr_config_defaults(), back;
	c.src_vocab = 100, c.tgt_vocab = 100, c.embed = 32, c.hidden = 32, c.enc_layers = 2;
	c.dec_layers = 2, c.cell = SEQC_CELL_LSTM, c.attention = SEQC_S2SR_ATTN_MLP, c.dropout = 0.25f;
	c.share_embeddings = true, c.tie_output = true, c.label_smoothing = 0.125f, c.input_feed = false;
	char *s = seqc_s2sr_config_to_json(&c);
	ck_assert_ptr_nonnull(strstr(s, "\"arch\":\"s2s-rnn\""));
	ck_assert_int_eq(seqc_s2sr_config_from_json(s, &back), 0);
	ck_assert_mem_eq(&c, &back, sizeof c);
	free(s);
	/* optional fields take the defaults; "bahdanau" is mlp */
	ck_assert_int_eq(seqc_s2sr_config_from_json(
				 "{\"arch\":\"s2s-rnn\",\"src_vocab\":5,\"tgt_vocab\":6,\"cell\":\"gru\","
				 "\"embed\":3,\"hidden\":4,\"enc_layers\":1,\"dec_layers\":1,"
				 "\"attention\":\"bahdanau\"}",
				 &back),
			 0);
	ck_assert_int_eq(back.attention, SEQC_S2SR_ATTN_MLP);
	ck_assert(back.bidirectional && back.bridge && back.input_feed);
}
END_TEST

static const char *const BAD_JSON[][2] = {
	{ "[1]", "not a JSON object" },
	{ "{\"arch\":\"gpt\"}", "\"arch\" is \"gpt\"" },
	{ "{\"arch\":\"s2s-rnn\",\"src_vocab\":5,\"tgt_vocab\":6,\"cell\":\"gru\",\"embed\":3,"
	  "\"hidden\":4,\"enc_layers\":1,\"dec_layers\":1,\"heads\":2}",
	  "unknown field \"heads\"" },
	{ "{\"arch\":\"s2s-rnn\",\"src_vocab\":5,\"tgt_vocab\":6,\"cell\":\"rnn\",\"embed\":3,"
	  "\"hidden\":4,\"enc_layers\":1,\"dec_layers\":1}",
	  "\"cell\" is \"rnn\"" },
	{ "{\"arch\":\"s2s-rnn\",\"src_vocab\":5,\"tgt_vocab\":6,\"cell\":\"gru\",\"embed\":3,"
	  "\"hidden\":4,\"enc_layers\":1}",
	  "\"dec_layers\" is missing" },
	{ "{\"arch\":\"s2s-rnn\",\"src_vocab\":5,\"tgt_vocab\":6,\"cell\":\"gru\",\"embed\":3,"
	  "\"hidden\":4,\"enc_layers\":1,\"dec_layers\":1,\"attention\":\"luong\"}",
	  "\"attention\" must be" },
	{ "{\"arch\":\"s2s-rnn\",\"src_vocab\":5,\"tgt_vocab\":6,\"cell\":\"gru\",\"embed\":3,"
	  "\"hidden\":4,\"enc_layers\":1,\"dec_layers\":1,\"bridge\":1}",
	  "\"bridge\" is not a boolean" },
	{ "{\"arch\":\"s2s-rnn\",\"src_vocab\":5,\"tgt_vocab\":6,\"cell\":\"gru\",\"embed\":3,"
	  "\"hidden\":4,\"enc_layers\":1,\"dec_layers\":1,\"dropout\":\"x\"}",
	  "\"dropout\" is not a number" },
	{ "{\"arch\":\"s2s-rnn\",\"src_vocab\":5,\"tgt_vocab\":6,\"cell\":\"gru\",\"embed\":3,"
	  "\"hidden\":3,\"enc_layers\":1,\"dec_layers\":1}",
	  "even hidden size" },
	{ "{\"arch\":\"s2s-rnn\",\"src_vocab\":5,\"tgt_vocab\":6,\"cell\":\"gru\",\"embed\":3,"
	  "\"hidden\":4,\"enc_layers\":1,\"dec_layers\":1,\"share_embeddings\":true}",
	  "share_embeddings needs src_vocab (5) == tgt_vocab (6)" },
};

START_TEST(bad_json)
{
	seqc_s2sr_config c;
	for (size_t i = 0; i < sizeof BAD_JSON / sizeof BAD_JSON[0]; i++) {
		ck_assert_int_lt(seqc_s2sr_config_from_json(BAD_JSON[i][0], &c), 0);
		ck_assert_msg(strstr(seqc_errmsg(), BAD_JSON[i][1]) != NULL, "case %zu: got \"%s\"", i,
			      seqc_errmsg());
	}
}
END_TEST

START_TEST(bad_configs)
{
	seqc_s2sr_config base = seqc_s2sr_config_defaults();
	base.src_vocab = 5, base.tgt_vocab = 5, base.embed = 4, base.hidden = 6;
	base.enc_layers = 2, base.dec_layers = 2;
	struct {
		seqc_s2sr_config c;
		const char *msg;
	} cases[8];
	for (int i = 0; i < 8; i++)
		cases[i].c = base;
	cases[0].c.cell = SEQC_CELL_RNN_TANH, cases[0].msg = "cell must be gru or lstm";
	cases[1].c.embed = 0, cases[1].msg = "must be in [1,";
	cases[2].c.dec_layers = 1, cases[2].msg = "bridge needs enc_layers (2) == dec_layers (1)";
	cases[3].c.dropout = 1.0f, cases[3].msg = "dropout 1 is outside";
	cases[4].c.label_smoothing = -0.1f, cases[4].msg = "label_smoothing";
	cases[5].c.tie_output = true, cases[5].msg = "tie_output needs embed (4) == hidden (6)";
	cases[6].c.attention = (seqc_s2sr_attn_kind)7, cases[6].msg = "unknown attention kind 7";
	cases[7].c.enc_layers = 17, cases[7].c.dec_layers = 17, cases[7].msg = "must be in [1, 16]";
	for (int i = 0; i < 8; i++) {
		ck_assert_ptr_null(seqc_s2sr_create(&cases[i].c, NULL));
		ck_assert_int_eq(seqc_errcode(), SEQC_EINVAL);
		ck_assert_msg(strstr(seqc_errmsg(), cases[i].msg) != NULL, "case %d: got \"%s\"", i,
			      seqc_errmsg());
	}
	/* no bridge: the layers may differ; sharing and tying drop tensors */
	base.bridge = false, base.dec_layers = 1, base.share_embeddings = true;
	base.embed = 6, base.tie_output = true;
	seqc_s2sr *m = seqc_s2sr_create(&base, NULL);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(seqc_params_find(m->params, "decoder.embeddings.weight"));
	ck_assert_ptr_null(seqc_params_find(m->params, "generator.weight"));
	ck_assert_ptr_null(seqc_params_find(m->params, "bridge_h.0.weight"));
	ck_assert_ptr_eq(m->gen_w, m->src_embed);
	seqc_s2sr_destroy(m);
	seqc_s2sr_destroy(NULL);
}
END_TEST

START_TEST(misuse)
{
	seqc_s2sr *m = small_model(SEQC_CELL_GRU, SEQC_S2SR_ATTN_GENERAL, 0, 1);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *logits;
	float w[16];
	int32_t tok[2] = { 0, 0 };
	ck_assert_int_eq(seqc_s2sr_start(m, 2), SEQC_ESTATE);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "set_source first"));
	ck_assert_int_eq(seqc_s2sr_step(m, g, tok, &logits), SEQC_ESTATE);
	ck_assert_int_eq(seqc_s2sr_reorder(m, (size_t[]){ 0 }, 1), SEQC_ESTATE);
	/* sources: bad length, bad id */
	ck_assert_int_eq(seqc_s2sr_set_source(m, SRC, (size_t[]){ 4, 5 }, 2, 4), SEQC_EINVAL);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "source 1: length 5 outside 1..4"));
	int32_t bad_src[2] = { 1, 6 };
	ck_assert_int_eq(seqc_s2sr_set_source(m, bad_src, (size_t[]){ 2 }, 1, 2), SEQC_EINVAL);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "id 6 outside 0..5"));
	ck_assert_int_eq(seqc_s2sr_set_source(m, SRC, SRC_LENS, 2, 4), 0);
	ck_assert_int_eq(seqc_s2sr_start(m, 3), SEQC_EINVAL);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "not a positive multiple of the 2 sources"));
	ck_assert_int_eq(seqc_s2sr_start(m, 4), 0);
	ck_assert_int_eq(seqc_s2sr_attention(m, w), SEQC_ESTATE);
	ck_assert_int_eq(seqc_s2sr_last_state(m, w, NULL), SEQC_ESTATE);
	ck_assert_int_eq(seqc_s2sr_reorder(m, (size_t[]){ 0, 4 }, 2), SEQC_ERANGE);
	ck_assert_int_eq(seqc_s2sr_step(m, g, (int32_t[]){ 0, 1, 5, 0 }, &logits), SEQC_ERANGE);
	ck_assert_int_eq(seqc_s2sr_step(m, g, (int32_t[]){ 0, 1, 4, 0 }, &logits), 0);
	ck_assert_uint_eq(logits->shape[0], 4);
	/* a bad batch is refused by the batch checker */
	seqc_s2s_batch b = small_batch();
	int32_t bad_out[6] = { 3, 1, 2, 2, 4, 9 };
	b.tgt_out = bad_out;
	seqc_tensor *loss;
	ck_assert_int_eq(seqc_s2sr_loss(g, m, &b, NULL, NULL, NULL, &loss), SEQC_EINVAL);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "row 1, target 2: id 9"));
	ck_assert_ptr_null(loss);
	ck_assert_uint_gt(seqc_s2sr_activation_bytes(&m->c, 2, 4, 3), 0);
	seqc_graph_destroy(g);
	seqc_s2sr_destroy(m);
}
END_TEST

static Suite *s2s_rnn_suite(void)
{
	Suite *s = suite_create("s2s_rnn");
	TCase *tc = tcase_create("s2s_rnn");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, golden_pytorch);
	tcase_add_loop_test(tc, gradcheck_model, 0, 8);
	tcase_add_loop_test(tc, padding_invariance, 0, 2);
	tcase_add_loop_test(tc, steps_match_full, 0, 4);
	tcase_add_loop_test(tc, input_fn_truth_is_teacher_forcing, 0, 2);
	tcase_add_loop_test(tc, input_fn_argmax_is_greedy, 0, 2);
	tcase_add_test(tc, json_round_trip);
	tcase_add_test(tc, bad_json);
	tcase_add_test(tc, bad_configs);
	tcase_add_test(tc, misuse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(s2s_rnn_suite());
}
