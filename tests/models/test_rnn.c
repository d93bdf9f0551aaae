/* Recurrent layers: PyTorch golden fixtures (nn.RNN, nn.LSTM, nn.GRU, two
 * layers, B = 2, T = 5: outputs, final states and every gradient) and
 * finite-difference gradient checks of the fused op and the module. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/rnn.h"
#include "support.h"

/* ---- golden ---- */

static seqc_tensor *heap_from(json_t *c, const char *key, int ndim, const size_t *shape)
{
	seqc_tensor *t = seqc_tensor_create(ndim, shape, true);
	float *v = fixture_floats(c, key, t->numel);
	memcpy(t->val, v, t->numel * sizeof(float));
	free(v);
	return t;
}

static seqc_tensor *weighted_sum(seqc_graph *g, seqc_tensor *y, json_t *c, const char *key)
{
	float *w = fixture_floats(c, key, y->numel);
	seqc_tensor *wt = seqc_graph_input(g, y->ndim, y->shape, w);
	free(w);
	return seqc_sum(g, seqc_mul(g, y, wt));
}

static void check_golden_case(json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	int cell = seqc_cell_parse(json_string_value(json_object_get(c, "cell")));
	ck_assert_int_ge(cell, 0);
	size_t B = (size_t)json_integer_value(json_object_get(c, "B"));
	size_t T = (size_t)json_integer_value(json_object_get(c, "T"));
	size_t I = (size_t)json_integer_value(json_object_get(c, "input_size"));
	size_t H = (size_t)json_integer_value(json_object_get(c, "hidden_size"));
	size_t L = (size_t)json_integer_value(json_object_get(c, "layers"));
	bool bidir = json_is_true(json_object_get(c, "bidirectional"));
	bool with_state = json_is_true(json_object_get(c, "with_state"));
	size_t D = bidir ? 2 : 1;
	bool lstm = cell == SEQC_CELL_LSTM;

	seqc_params *p = seqc_params_create();
	seqc_rnn rnn;
	seqc_rnn_config cfg = { .cell = (seqc_cell_kind)cell, .input_size = I, .hidden_size = H,
				.layers = L, .bidirectional = bidir, .bias = true };
	ck_assert_int_eq(seqc_rnn_declare(&rnn, &cfg, p, ""), 0);
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	fixture_params(p, c);
	size_t xs[3] = { B, T, I }, ss[3] = { L * D, B, H };
	seqc_tensor *x = heap_from(c, "x", 3, xs);
	seqc_tensor *h0 = with_state ? heap_from(c, "h0", 3, ss) : NULL;
	seqc_tensor *c0 = with_state && lstm ? heap_from(c, "c0", 3, ss) : NULL;

	/* padded batches (rnn_packed.json) give each row's length */
	json_t *jl = json_object_get(c, "lens");
	size_t lens[8];
	ck_assert_uint_le(json_array_size(jl), 8);
	for (size_t b = 0; jl && b < B; b++)
		lens[b] = (size_t)json_integer_value(json_array_get(jl, b));
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y, *hn, *cn;
	ck_assert_int_eq(seqc_rnn_forward_lens(g, &rnn, x, jl ? lens : NULL, h0, c0, &rng, &y, &hn, &cn),
			 0);
	float *ey = fixture_floats(c, "y", y->numel), *ehn = fixture_floats(c, "h_n", hn->numel);
	ck_assert_msg(allclose(y->val, ey, y->numel, 1e-5f, 1e-5f, name), "%s: y", name);
	ck_assert_msg(allclose(hn->val, ehn, hn->numel, 1e-5f, 1e-5f, name), "%s: h_n", name);
	free(ey);
	free(ehn);
	seqc_tensor *loss = seqc_add(g, weighted_sum(g, y, c, "dy"), weighted_sum(g, hn, c, "dh_n"));
	if (lstm) {
		float *ecn = fixture_floats(c, "c_n", cn->numel);
		ck_assert_msg(allclose(cn->val, ecn, cn->numel, 1e-5f, 1e-5f, name), "%s: c_n", name);
		free(ecn);
		loss = seqc_add(g, loss, weighted_sum(g, cn, c, "dc_n"));
	} else {
		ck_assert_ptr_null(cn);
	}
	ck_assert_int_eq(seqc_backward(g, loss), 0);

	json_t *grads = json_object_get(c, "grads");
	for (size_t i = 0; i < p->count; i++) {
		seqc_param *q = p->items[i];
		float *e = fixture_floats(grads, q->name, q->t.numel);
		ck_assert_msg(allclose(q->t.grad, e, q->t.numel, 1e-4f, 1e-5f, q->name), "%s: grad %s",
			      name, q->name);
		free(e);
	}
	seqc_tensor *inputs[3] = { x, h0, c0 };
	const char *keys[3] = { "x", "h0", "c0" };
	for (int k = 0; k < 3; k++) {
		if (!inputs[k])
			continue;
		float *e = fixture_floats(grads, keys[k], inputs[k]->numel);
		ck_assert_msg(allclose(inputs[k]->grad, e, inputs[k]->numel, 1e-4f, 1e-5f, keys[k]),
			      "%s: grad %s", name, keys[k]);
		free(e);
	}
	seqc_graph_destroy(g);
	seqc_tensor_destroy(x);
	seqc_tensor_destroy(h0);
	seqc_tensor_destroy(c0);
	seqc_params_destroy(p);
}

START_TEST(golden_pytorch)
{
	json_t *root = fixture_load("rnn.json");
	json_t *cases = json_object_get(root, "cases");
	ck_assert_uint_ge(json_array_size(cases), 7);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
		check_golden_case(c);
	json_decref(root);
}
END_TEST

/* pack_padded_sequence: bidirectional 2-layer GRU and LSTM on rows of
 * lengths 3, 5, 1, with and without initial states. */
START_TEST(golden_packed)
{
	json_t *root = fixture_load("rnn_packed.json");
	json_t *cases = json_object_get(root, "cases");
	ck_assert_uint_ge(json_array_size(cases), 3);
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c)
		check_golden_case(c);
	json_decref(root);
}
END_TEST

/* ---- gradient checks of the fused op ---- */

typedef struct layer_ctx {
	seqc_cell_kind cell;
	bool reverse, use_state;
	const size_t *lens;
	seqc_tensor *x, *h0, *c0, *w_ih, *w_hh, *b_ih, *b_hh;
	int output; /* 0: y, 1: h_last, 2: c_last, 3: y + h_last + c_last concatenated */
} layer_ctx;

static seqc_tensor *layer_fn(seqc_graph *g, void *p)
{
	layer_ctx *c = p;
	seqc_tensor *h, *cl;
	seqc_tensor *y = seqc_rnn_layer_lens(g, c->cell, c->x, c->lens, c->use_state ? c->h0 : NULL,
					     c->use_state && c->cell == SEQC_CELL_LSTM ? c->c0 : NULL,
					     c->w_ih, c->w_hh, c->b_ih, c->b_hh, c->reverse, &h, &cl);
	if (!y)
		return NULL;
	switch (c->output) {
	case 0: return y;
	case 1: return h;
	case 2: return cl;
	default: {
		size_t n = y->numel;
		seqc_tensor *parts[3] = { seqc_reshape(g, y, 1, &n), h, cl };
		parts[1] = seqc_reshape(g, h, 1, (size_t[]){ h->numel });
		int count = 2;
		if (cl)
			parts[count++] = seqc_reshape(g, cl, 1, (size_t[]){ cl->numel });
		return seqc_concat(g, parts, count, 0);
	}
	}
}

/* padded: rows of lengths 2, 4 and 1 out of T = 4 (else 3 full rows) */
static void gradcheck_cell(seqc_cell_kind cell, bool reverse, bool use_state, bool padded)
{
	size_t B = 3, T = 4, I = 3, H = 4, GH = (size_t)seqc_cell_gates(cell) * H;
	static const size_t lens[3] = { 2, 4, 1 };
	layer_ctx c = { .cell = cell, .reverse = reverse, .use_state = use_state, .output = 3,
			.lens = padded ? lens : NULL };
	c.x = rand_tensor(3, (size_t[]){ B, T, I }, -1, 1, 1);
	c.h0 = rand_tensor(2, (size_t[]){ B, H }, -1, 1, 2);
	c.c0 = rand_tensor(2, (size_t[]){ B, H }, -1, 1, 3);
	c.w_ih = rand_tensor(2, (size_t[]){ GH, I }, -0.6f, 0.6f, 4);
	c.w_hh = rand_tensor(2, (size_t[]){ GH, H }, -0.6f, 0.6f, 5);
	c.b_ih = rand_tensor(1, &GH, -0.3f, 0.3f, 6);
	c.b_hh = rand_tensor(1, &GH, -0.3f, 0.3f, 7);
	seqc_tensor *in[7] = { c.x, c.w_ih, c.w_hh, c.b_ih, c.b_hh, c.h0, c.c0 };
	int n = use_state ? (cell == SEQC_CELL_LSTM ? 7 : 6) : 5;
	/* relu has kinks: a small step; the smooth cells a larger one, above
	 * float32 rounding of the loss */
	double eps = cell == SEQC_CELL_RNN_RELU ? 1e-3 : 1e-2;
	int fails = gradcheck(layer_fn, &c, in, n, eps, 1e-2, 1e-4, 0);
	ck_assert_msg(fails == 0, "%s reverse=%d state=%d padded=%d: %d gradient mismatches",
		      seqc_cell_name(cell), reverse, use_state, padded, fails);
	for (int k = 0; k < 7; k++)
		seqc_tensor_destroy(in[k]);
}

START_TEST(gradcheck_layers)
{
	/* _i: cell kind; every direction and with/without initial state */
	for (int rev = 0; rev < 2; rev++)
		for (int st = 0; st < 2; st++)
			for (int pad = 0; pad < 2; pad++)
				gradcheck_cell((seqc_cell_kind)_i, rev, st, pad);
}
END_TEST

/* The whole module: 2 layers, bidirectional, with dropout reseeded per call
 * so the mask is fixed; loss over y, h_n and c_n. */
typedef struct module_ctx {
	seqc_rnn rnn;
	seqc_tensor *x, *h0, *c0;
} module_ctx;

static seqc_tensor *module_fn(seqc_graph *g, void *p)
{
	module_ctx *m = p;
	seqc_rng rng;
	seqc_rng_seed(&rng, 5, SEQC_STREAM_DROPOUT);
	seqc_tensor *y, *hn, *cn;
	bool lstm = m->rnn.c.cell == SEQC_CELL_LSTM;
	if (seqc_rnn_forward(g, &m->rnn, m->x, m->h0, lstm ? m->c0 : NULL, &rng, &y, &hn, &cn) < 0)
		return NULL;
	seqc_tensor *parts[3] = { seqc_reshape(g, y, 1, (size_t[]){ y->numel }),
				  seqc_reshape(g, hn, 1, (size_t[]){ hn->numel }), NULL };
	if (lstm)
		parts[2] = seqc_reshape(g, cn, 1, (size_t[]){ cn->numel });
	return seqc_concat(g, parts, lstm ? 3 : 2, 0);
}

START_TEST(gradcheck_module)
{
	size_t B = 2, T = 3, I = 3, H = 3, L = 2;
	module_ctx m;
	seqc_params *p = seqc_params_create();
	seqc_rnn_config cfg = { .cell = (seqc_cell_kind)_i, .input_size = I, .hidden_size = H,
				.layers = L, .bidirectional = true, .bias = true, .dropout = 0.3f };
	ck_assert_int_eq(seqc_rnn_declare(&m.rnn, &cfg, p, "rnn."), 0);
	seqc_rng rng;
	seqc_rng_seed(&rng, 3, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	m.x = rand_tensor(3, (size_t[]){ B, T, I }, -1, 1, 11);
	m.h0 = rand_tensor(3, (size_t[]){ 2 * L, B, H }, -1, 1, 12);
	m.c0 = rand_tensor(3, (size_t[]){ 2 * L, B, H }, -1, 1, 13);
	seqc_tensor *in[2 * 4 * 2 + 3];
	int n = 0;
	for (size_t i = 0; i < p->count; i++)
		in[n++] = &p->items[i]->t;
	in[n++] = m.x;
	in[n++] = m.h0;
	if (_i == SEQC_CELL_LSTM)
		in[n++] = m.c0;
	int fails = gradcheck(module_fn, &m, in, n, 1e-2, 1e-2, 1e-4, 0);
	ck_assert_msg(fails == 0, "%s module: %d gradient mismatches", seqc_cell_name(_i), fails);
	seqc_tensor_destroy(m.x);
	seqc_tensor_destroy(m.h0);
	seqc_tensor_destroy(m.c0);
	seqc_params_destroy(p);
}
END_TEST

START_TEST(errors)
{
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *x = rand_tensor(3, (size_t[]){ 2, 3, 4 }, -1, 1, 1);
	seqc_tensor *w_ih = rand_tensor(2, (size_t[]){ 16, 5 }, -1, 1, 2); /* wrong I */
	seqc_tensor *w_hh = rand_tensor(2, (size_t[]){ 16, 4 }, -1, 1, 3);
	ck_assert_ptr_null(seqc_rnn_layer(g, SEQC_CELL_LSTM, x, NULL, NULL, w_ih, w_hh, NULL, NULL,
					  false, NULL, NULL));
	ck_assert_int_eq(seqc_errcode(), SEQC_ESHAPE);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "lstm"));
	/* 16 rows are not a multiple of 3 gates */
	ck_assert_ptr_null(seqc_rnn_layer(g, SEQC_CELL_GRU, x, NULL, NULL, w_ih, w_hh, NULL, NULL,
					  false, NULL, NULL));
	ck_assert_int_eq(seqc_errcode(), SEQC_ESHAPE);
	/* row lengths must be in 1..T */
	seqc_tensor *w_ih4 = rand_tensor(2, (size_t[]){ 16, 4 }, -1, 1, 4);
	ck_assert_ptr_null(seqc_rnn_layer_lens(g, SEQC_CELL_LSTM, x, (size_t[]){ 3, 0 }, NULL, NULL,
					       w_ih4, w_hh, NULL, NULL, false, NULL, NULL));
	ck_assert_int_eq(seqc_errcode(), SEQC_EINVAL);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "row 1: length 0"));
	ck_assert_ptr_null(seqc_rnn_layer_lens(g, SEQC_CELL_LSTM, x, (size_t[]){ 4, 1 }, NULL, NULL,
					       w_ih4, w_hh, NULL, NULL, true, NULL, NULL));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "outside 1..3"));
	seqc_tensor_destroy(w_ih4);
	seqc_params *p = seqc_params_create();
	seqc_rnn r;
	seqc_rnn_config bad = { .cell = SEQC_CELL_GRU, .input_size = 4, .hidden_size = 0, .layers = 1 };
	ck_assert_int_eq(seqc_rnn_declare(&r, &bad, p, ""), SEQC_EINVAL);
	bad = (seqc_rnn_config){ .cell = SEQC_CELL_GRU, .input_size = 4, .hidden_size = 4, .layers = 1,
				 .dropout = 1.0f };
	ck_assert_int_eq(seqc_rnn_declare(&r, &bad, p, ""), SEQC_EINVAL);
	ck_assert_int_eq(seqc_cell_parse("lstm"), SEQC_CELL_LSTM);
	ck_assert_int_eq(seqc_cell_parse("transformer"), -1);
	seqc_params_destroy(p);
	seqc_tensor_destroy(x);
	seqc_tensor_destroy(w_ih);
	seqc_tensor_destroy(w_hh);
	seqc_graph_destroy(g);
}
END_TEST

/* Forget bias one and orthogonal recurrent weights. */
START_TEST(init_options)
{
	seqc_params *p = seqc_params_create();
	seqc_rnn r;
	seqc_rnn_config cfg = { .cell = SEQC_CELL_LSTM, .input_size = 3, .hidden_size = 8, .layers = 1,
				.bias = true, .orthogonal_hh = true, .forget_bias_one = true };
	ck_assert_int_eq(seqc_rnn_declare(&r, &cfg, p, ""), 0);
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	ck_assert_int_eq(seqc_rnn_post_init(&r, &rng), 0);
	for (size_t j = 0; j < 8; j++) {
		ck_assert_float_eq(r.b_ih[0]->val[8 + j], 1.0f);
		ck_assert_float_eq(r.b_hh[0]->val[8 + j], 0.0f);
	}
	/* each 8x8 gate block of W_hh is orthogonal: Q Q^T = I */
	for (size_t gate = 0; gate < 4; gate++) {
		const float *q = r.w_hh[0]->val + gate * 64;
		for (size_t a = 0; a < 8; a++)
			for (size_t b = 0; b < 8; b++) {
				double dot = 0;
				for (size_t k = 0; k < 8; k++)
					dot += (double)q[a * 8 + k] * q[b * 8 + k];
				ck_assert_double_eq_tol(dot, a == b ? 1.0 : 0.0, 1e-5);
			}
	}
	/* PyTorch's default elsewhere: |w| <= 1/sqrt(H) */
	for (size_t i = 0; i < r.w_ih[0]->numel; i++)
		ck_assert_float_le(fabsf(r.w_ih[0]->val[i]), 1.0f / sqrtf(8.0f));
	seqc_params_destroy(p);
}
END_TEST

static Suite *rnn_suite(void)
{
	Suite *s = suite_create("rnn");
	TCase *tc = tcase_create("rnn");
	tcase_add_test(tc, golden_pytorch);
	tcase_add_test(tc, golden_packed);
	tcase_add_loop_test(tc, gradcheck_layers, SEQC_CELL_RNN_TANH, SEQC_CELL_GRU + 1);
	tcase_add_loop_test(tc, gradcheck_module, SEQC_CELL_RNN_TANH, SEQC_CELL_GRU + 1);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, init_options);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(rnn_suite());
}
