/* Every op's backward against central finite differences (STYLE.md's
 * recipe through gradcheck() of tests/support.h: eps 1e-3, relative
 * tolerance 1e-2, every element of tiny shapes), for every input that can
 * have a gradient. */
#include <math.h>

#include "common.h"

#define EPS 1e-3
#define TOL 1e-2
/* Absolute slack for elements whose gradient is ~0: the float forward
 * rounds L by ~1e-7 |L|, which the 2 eps denominator turns into ~1e-4. */
#define ATOL 5e-4

/* Everything a forward function below may need; each reads its fields. */
typedef struct gc_ctx {
	seqc_tensor *x[5];
	int n;          /* tensors in x */
	bool ta, tb;    /* matmul */
	int axis;       /* concat, slice */
	size_t start, len;
	seqc_ids ids;   /* embedding, cross-entropy */
	int32_t pad;
	seqc_ce_opts ce;
	float s;        /* scale factor, dropout p, layer-norm eps */
	uint64_t seed;  /* dropout */
	seqc_gelu_kind gelu;
	int op;         /* which binary or unary op */
	seqc_tensor *w, *b; /* layer norm's affine part, either may be NULL */
} gc_ctx;

/* Checks the gradients of the first nin tensors of c->x and frees all n. */
static void check(gradcheck_fn fn, gc_ctx *c, int nin, const char *what)
{
	int failures = gradcheck(fn, c, c->x, nin, EPS, TOL, ATOL, 0);
	for (int i = 0; i < c->n; i++)
		seqc_tensor_destroy(c->x[i]);
	ck_assert_msg(failures == 0, "%s: %d gradient elements differ from finite differences", what,
		      failures);
}

static seqc_tensor *rt(int ndim, const size_t *shape, uint64_t seed)
{
	return rand_tensor(ndim, shape, -1.0f, 1.0f, seed);
}

/* ---- matrix products ---- */

static seqc_tensor *fn_matmul(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return seqc_matmul(g, c->x[0], c->x[1], c->ta, c->tb);
}

/* M = 2, K = 3, N = 4: a is [2, 3] or [3, 2], b [3, 4] or [4, 3]. */
START_TEST(test_matmul_2d)
{
	static const char *names[4] = { "matmul", "matmul tb", "matmul ta", "matmul ta tb" };
	int ta = _i >> 1, tb = _i & 1;
	gc_ctx c = { .n = 2, .ta = ta, .tb = tb };
	c.x[0] = rt(2, ta ? SHAPE(3, 2) : SHAPE(2, 3), 1);
	c.x[1] = rt(2, tb ? SHAPE(4, 3) : SHAPE(3, 4), 2);
	check(fn_matmul, &c, 2, names[_i]);
}
END_TEST

/* Batch 2 of the products above. */
START_TEST(test_matmul_batched)
{
	static const char *names[4] = { "bmm", "bmm tb", "bmm ta", "bmm ta tb" };
	int ta = _i >> 1, tb = _i & 1;
	gc_ctx c = { .n = 2, .ta = ta, .tb = tb };
	c.x[0] = rt(3, ta ? SHAPE(2, 3, 2) : SHAPE(2, 2, 3), 3);
	c.x[1] = rt(3, tb ? SHAPE(2, 4, 3) : SHAPE(2, 3, 4), 4);
	check(fn_matmul, &c, 2, names[_i]);
}
END_TEST

/* Degenerate sizes, where BLAS may take other paths (a single row goes to
 * gemv): (M, K, N) in {(1, 3, 4), (2, 1, 4), (2, 3, 1), (1, 1, 1)} for each
 * transpose pair, 2-D and batched. _i = 4 size + 2 ta + tb. */
START_TEST(test_matmul_thin)
{
	static const size_t mkn[4][3] = { { 1, 3, 4 }, { 2, 1, 4 }, { 2, 3, 1 }, { 1, 1, 1 } };
	size_t m = mkn[_i / 4][0], k = mkn[_i / 4][1], n = mkn[_i / 4][2];
	bool ta = (_i >> 1) & 1, tb = _i & 1;
	char what[64];
	snprintf(what, sizeof what, "matmul M %zu K %zu N %zu%s%s", m, k, n, ta ? " ta" : "",
		 tb ? " tb" : "");
	gc_ctx c = { .n = 2, .ta = ta, .tb = tb };
	c.x[0] = rt(2, ta ? SHAPE(k, m) : SHAPE(m, k), 20);
	c.x[1] = rt(2, tb ? SHAPE(n, k) : SHAPE(k, n), 21);
	check(fn_matmul, &c, 2, what);
	gc_ctx d = { .n = 2, .ta = ta, .tb = tb };
	d.x[0] = rt(3, ta ? SHAPE(2, k, m) : SHAPE(2, m, k), 22);
	d.x[1] = rt(3, tb ? SHAPE(2, n, k) : SHAPE(2, k, n), 23);
	strcat(what, " batched");
	check(fn_matmul, &d, 2, what);
}
END_TEST

/* a [2, 3, 4] as 6 rows times b [4, 5] (or [5, 4] with tb). */
START_TEST(test_matmul_nd_a)
{
	gc_ctx c = { .n = 2, .tb = _i };
	c.x[0] = rt(3, SHAPE(2, 3, 4), 5);
	c.x[1] = rt(2, _i ? SHAPE(5, 4) : SHAPE(4, 5), 6);
	check(fn_matmul, &c, 2, _i ? "matmul nd tb" : "matmul nd");
}
END_TEST

static seqc_tensor *fn_linear(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return seqc_linear(g, c->x[0], c->x[1], c->x[2]);
}

/* x [2, 3, 4], w [5, 4], b [5] (and no bias). */
START_TEST(test_linear)
{
	gc_ctx c = { .n = 3 };
	c.x[0] = rt(3, SHAPE(2, 3, 4), 7);
	c.x[1] = rt(2, SHAPE(5, 4), 8);
	c.x[2] = rt(1, SHAPE(5), 9);
	check(fn_linear, &c, 3, "linear");
	gc_ctx d = { .n = 2 };
	d.x[0] = rt(2, SHAPE(3, 4), 10);
	d.x[1] = rt(2, SHAPE(2, 4), 11);
	check(fn_linear, &d, 2, "linear without bias");
	/* One row (batch-1 decoding), and one output. */
	gc_ctx e = { .n = 3 };
	e.x[0] = rt(2, SHAPE(1, 4), 12);
	e.x[1] = rt(2, SHAPE(3, 4), 13);
	e.x[2] = rt(1, SHAPE(3), 14);
	check(fn_linear, &e, 3, "linear one row");
	gc_ctx f = { .n = 3 };
	f.x[0] = rt(3, SHAPE(2, 3, 4), 15);
	f.x[1] = rt(2, SHAPE(1, 4), 16);
	f.x[2] = rt(1, SHAPE(1), 17);
	check(fn_linear, &f, 3, "linear one output");
}
END_TEST

/* ---- elementwise ---- */

static seqc_tensor *fn_binary(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	switch (c->op) {
	case 0: return seqc_add(g, c->x[0], c->x[1]);
	case 1: return seqc_sub(g, c->x[0], c->x[1]);
	default: return seqc_mul(g, c->x[0], c->x[1]);
	}
}

/* _i = 3 op + mode: ops add, sub, mul; b of a's shape [2, 3, 4], a row [4],
 * a scalar [1]. */
START_TEST(test_binary)
{
	static const char *names[9] = { "add", "add row", "add scalar", "sub", "sub row",
					"sub scalar", "mul", "mul row", "mul scalar" };
	int mode = _i % 3;
	gc_ctx c = { .n = 2, .op = _i / 3 };
	c.x[0] = rt(3, SHAPE(2, 3, 4), 12);
	c.x[1] = mode == 0 ? rt(3, SHAPE(2, 3, 4), 13) : mode == 1 ? rt(1, SHAPE(4), 14) : rt(1, SHAPE(1), 15);
	check(fn_binary, &c, 2, names[_i]);
}
END_TEST

static seqc_tensor *fn_square(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return seqc_mul(g, c->x[0], c->x[0]);
}

/* The same tensor on both sides: both contributions reach it (2 x). */
START_TEST(test_mul_self)
{
	gc_ctx c = { .n = 1 };
	c.x[0] = rt(2, SHAPE(3, 4), 16);
	check(fn_square, &c, 1, "mul x x");
}
END_TEST

static seqc_tensor *fn_unary(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	switch (c->op) {
	case 0: return seqc_scale(g, c->x[0], c->s);
	case 1: return seqc_tanh(g, c->x[0]);
	case 2: return seqc_sigmoid(g, c->x[0]);
	case 3: return seqc_relu(g, c->x[0]);
	default: return seqc_gelu(g, c->x[0], c->gelu);
	}
}

START_TEST(test_unary)
{
	static const char *names[6] = { "scale", "tanh", "sigmoid", "relu", "gelu", "gelu tanh" };
	gc_ctx c = { .n = 1, .op = _i < 5 ? _i : 4, .s = -1.5f,
		     .gelu = _i == 5 ? SEQC_GELU_TANH : SEQC_GELU_EXACT };
	c.x[0] = rand_tensor(2, SHAPE(3, 4), -3.0f, 3.0f, 17 + (uint64_t)_i);
	if (_i == 3) /* relu: keep every input at least 0.1 away from the kink */
		for (size_t i = 0; i < c.x[0]->numel; i++)
			c.x[0]->val[i] = copysignf(0.1f + fabsf(c.x[0]->val[i]), c.x[0]->val[i]);
	check(fn_unary, &c, 1, names[_i]);
}
END_TEST

/* ---- softmax family, cross-entropy, layer norm ---- */

static seqc_tensor *fn_softmax(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return c->op ? seqc_log_softmax(g, c->x[0]) : seqc_softmax(g, c->x[0]);
}

START_TEST(test_softmax)
{
	gc_ctx c = { .n = 1, .op = _i };
	c.x[0] = rand_tensor(3, SHAPE(2, 3, 5), -2.0f, 2.0f, 30);
	check(fn_softmax, &c, 1, _i ? "log_softmax" : "softmax");
}
END_TEST

static seqc_tensor *fn_ce(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return seqc_cross_entropy(g, c->x[0], &c->ids, &c->ce);
}

/* logits [2, 3, 5] with targets [2, 3], one of them ignored; _i: bit 0 sum
 * reduction, bit 1 label smoothing 0.1, bit 2 a padding id (2) as
 * ignore_index instead of -100. */
START_TEST(test_cross_entropy)
{
	int32_t t[6] = { 1, 4, -100, 0, 2, 3 };
	if (_i & 4) {
		t[2] = 1;
		t[4] = 2; /* ignored */
	}
	gc_ctx c = { .n = 1, .ids = seqc_ids_view2(t, 2, 3), .ce = seqc_ce_defaults() };
	c.ce.reduction = _i & 1 ? SEQC_REDUCE_SUM : SEQC_REDUCE_MEAN;
	c.ce.label_smoothing = _i & 2 ? 0.1f : 0.0f;
	if (_i & 4)
		c.ce.ignore_index = 2;
	c.x[0] = rand_tensor(3, SHAPE(2, 3, 5), -2.0f, 2.0f, 31 + (uint64_t)_i);
	char what[64];
	snprintf(what, sizeof what, "cross_entropy %s%s%s", _i & 1 ? "sum" : "mean",
		 _i & 2 ? " smoothing" : "", _i & 4 ? " ignore 2" : "");
	check(fn_ce, &c, 1, what);
}
END_TEST

/* The ignored row gets exactly zero gradient. */
START_TEST(test_cross_entropy_ignored_row_zero)
{
	int32_t t[3] = { 1, -100, 0 };
	seqc_ids ids = seqc_ids_view1(t, 3);
	seqc_ce_opts o = seqc_ce_defaults();
	o.label_smoothing = 0.2f;
	seqc_tensor *x = rt(2, SHAPE(3, 4), 40);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *loss = seqc_cross_entropy(g, x, &ids, &o);
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	for (size_t c = 0; c < 4; c++) {
		ck_assert_float_eq(x->grad[4 + c], 0.0f);
		ck_assert_float_ne(x->grad[c], 0.0f);
	}
	seqc_graph_destroy(g);
	seqc_tensor_destroy(x);
}
END_TEST

static seqc_tensor *fn_layer_norm(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return seqc_layer_norm(g, c->x[0], c->w, c->b, c->s);
}

/* x [2, 3, 4]; _i: 0 affine (x, w, b), 1 no affine, 2 weight only, 3 bias
 * only. */
START_TEST(test_layer_norm)
{
	static const char *names[4] = { "layer_norm", "layer_norm no affine", "layer_norm w",
					"layer_norm b" };
	gc_ctx c = { .s = 1e-5f };
	c.x[c.n++] = rt(3, SHAPE(2, 3, 4), 41);
	if (_i == 0 || _i == 2)
		c.x[c.n++] = c.w = rand_tensor(1, SHAPE(4), 0.5f, 1.5f, 42);
	if (_i == 0 || _i == 3)
		c.x[c.n++] = c.b = rt(1, SHAPE(4), 43);
	check(fn_layer_norm, &c, c.n, names[_i]);
}
END_TEST

/* ---- embedding and dropout ---- */

static seqc_tensor *fn_embedding(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return seqc_embedding(g, c->x[0], &c->ids, c->pad);
}

/* table [5, 3], ids [2, 3] with repeated ids (their gradients add up). */
START_TEST(test_embedding)
{
	int32_t id[6] = { 3, 0, 3, 4, 1, 0 };
	gc_ctx c = { .n = 1, .ids = seqc_ids_view2(id, 2, 3), .pad = -1 };
	c.x[0] = rt(2, SHAPE(5, 3), 50);
	check(fn_embedding, &c, 1, "embedding");
}
END_TEST

/* padding_idx 0: the gradient check runs on rows 1..4 through a view of
 * them (row 0 is read by the forward, so finite differences would see it),
 * and row 0's gradient must stay exactly zero. */
START_TEST(test_embedding_padding)
{
	int32_t id[6] = { 3, 0, 3, 4, 1, 0 };
	seqc_tensor *table = rt(2, SHAPE(5, 3), 51);
	gc_ctx c = { .n = 1, .ids = seqc_ids_view2(id, 2, 3), .pad = 0 };
	c.x[0] = table;
	seqc_tensor rows = *table;
	rows.val += 3;
	rows.grad += 3;
	rows.shape[0] = 4;
	rows.numel = 12;
	seqc_tensor *view = &rows;
	memset(table->grad, 0, 3 * sizeof(float));
	int failures = gradcheck(fn_embedding, &c, &view, 1, EPS, TOL, ATOL, 0);
	ck_assert_msg(failures == 0, "embedding with padding: %d gradient elements differ", failures);
	for (int k = 0; k < 3; k++)
		ck_assert_float_eq(table->grad[k], 0.0f);
	/* Rows 3 (twice) and 4 and 1 (once) did get gradient. */
	ck_assert_float_ne(table->grad[9], 0.0f);
	seqc_tensor_destroy(table);
}
END_TEST

static seqc_tensor *fn_dropout(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	/* Reseeded at every call so each forward draws the same mask. */
	seqc_rng rng;
	seqc_rng_seed(&rng, c->seed, SEQC_STREAM_DROPOUT);
	return seqc_dropout(g, c->x[0], c->s, &rng);
}

START_TEST(test_dropout)
{
	gc_ctx c = { .n = 1, .s = 0.3f, .seed = 9 };
	c.x[0] = rt(2, SHAPE(4, 5), 52);
	/* The mask of this seed drops some and keeps some elements, so both
	 * gradient values (0 and 1 / 0.7) are checked. */
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y = fn_dropout(g, &c);
	int zeros = 0;
	for (size_t i = 0; i < y->numel; i++)
		zeros += y->val[i] == 0.0f;
	ck_assert_int_gt(zeros, 0);
	ck_assert_int_lt(zeros, (int)y->numel);
	seqc_graph_destroy(g);
	check(fn_dropout, &c, 1, "dropout");
}
END_TEST

/* ---- views and shape ops ---- */

static seqc_tensor *fn_reshape(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	/* [2, 6] -> [3, 4], then an op that depends on the new shape (the row
	 * softmax) so the reshape is not a no-op. */
	return seqc_softmax(g, seqc_reshape(g, c->x[0], 2, SHAPE(3, 4)));
}

START_TEST(test_reshape)
{
	gc_ctx c = { .n = 1 };
	c.x[0] = rt(2, SHAPE(2, 6), 60);
	check(fn_reshape, &c, 1, "reshape");
}
END_TEST

static seqc_tensor *fn_transpose(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return seqc_transpose(g, c->x[0]);
}

START_TEST(test_transpose)
{
	gc_ctx c = { .n = 1 };
	c.x[0] = rt(2, SHAPE(3, 4), 61);
	check(fn_transpose, &c, 1, "transpose 2-D");
	gc_ctx d = { .n = 1 };
	d.x[0] = rt(3, SHAPE(2, 3, 4), 62);
	check(fn_transpose, &d, 1, "transpose 3-D");
}
END_TEST

static seqc_tensor *fn_concat(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return seqc_concat(g, c->x, c->n, c->axis);
}

/* Three tensors of unequal sizes along axis _i (0, 1, 2 = the last). */
START_TEST(test_concat)
{
	gc_ctx c = { .n = 3, .axis = _i };
	for (int k = 0; k < 3; k++) {
		size_t shape[3] = { 2, 2, 3 };
		shape[_i] = (size_t)k + 1;
		c.x[k] = rt(3, shape, 70 + (uint64_t)k);
	}
	char what[32];
	snprintf(what, sizeof what, "concat axis %d", _i);
	check(fn_concat, &c, 3, what);
}
END_TEST

static seqc_tensor *fn_slice(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return seqc_slice(g, c->x[0], c->axis, c->start, c->len);
}

/* x [3, 4, 5], elements [1, 3) along axis _i: the others get 0. */
START_TEST(test_slice)
{
	gc_ctx c = { .n = 1, .axis = _i, .start = 1, .len = 2 };
	c.x[0] = rt(3, SHAPE(3, 4, 5), 80);
	char what[32];
	snprintf(what, sizeof what, "slice axis %d", _i);
	check(fn_slice, &c, 1, what);
}
END_TEST

static seqc_tensor *fn_reduce(seqc_graph *g, void *p)
{
	gc_ctx *c = p;
	return c->op ? seqc_mean(g, c->x[0]) : seqc_sum(g, c->x[0]);
}

START_TEST(test_sum_mean)
{
	gc_ctx c = { .n = 1, .op = _i };
	c.x[0] = rt(2, SHAPE(2, 3), 90);
	check(fn_reduce, &c, 1, _i ? "mean" : "sum");
}
END_TEST

/* ---- composites: whole tiny models ---- */

/* x [6, 3] -> linear(w1 [5, 3], b1) -> tanh -> linear(w2 [4, 5], b2) ->
 * cross-entropy against 6 targets; the parameters live in a store. */
typedef struct mlp_ctx {
	seqc_tensor *x, *w1, *b1, *w2, *b2;
	seqc_ids targets;
} mlp_ctx;

static seqc_tensor *fn_mlp(seqc_graph *g, void *p)
{
	mlp_ctx *m = p;
	seqc_tensor *h = seqc_tanh(g, seqc_linear(g, m->x, m->w1, m->b1));
	return seqc_cross_entropy(g, seqc_linear(g, h, m->w2, m->b2), &m->targets, NULL);
}

START_TEST(test_mlp)
{
	seqc_params *p = seqc_params_create();
	seqc_init u = { SEQC_INIT_UNIFORM, 0.8f };
	mlp_ctx m;
	m.w1 = seqc_params_add(p, "w1", 2, SHAPE(5, 3), u, false);
	m.b1 = seqc_params_add(p, "b1", 1, SHAPE(5), u, true);
	m.w2 = seqc_params_add(p, "w2", 2, SHAPE(4, 5), u, false);
	m.b2 = seqc_params_add(p, "b2", 1, SHAPE(4), u, true);
	seqc_rng rng;
	seqc_rng_seed(&rng, 3, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	m.x = rt(2, SHAPE(6, 3), 100);
	int32_t t[6] = { 0, 3, 1, 2, 2, 0 };
	m.targets = seqc_ids_view1(t, 6);
	seqc_tensor *inputs[5] = { m.w1, m.b1, m.w2, m.b2, m.x };
	int failures = gradcheck(fn_mlp, &m, inputs, 5, EPS, TOL, ATOL, 0);
	seqc_tensor_destroy(m.x);
	seqc_params_destroy(p);
	ck_assert_msg(failures == 0, "mlp: %d gradient elements differ", failures);
}
END_TEST

/* An Elman RNN over T = 3 steps built from views: x [2, 3, 3] is sliced per
 * step, h_t = tanh(x_t Wx^T + b + h_{t-1} Wh^T) with h_0 = 0, the h_t are
 * stacked by concat into [2, 3, 4], layer-normed, projected to 5 classes
 * and scored against ids [2, 3]. Catches bugs that only show across steps. */
typedef struct rnn_ctx {
	seqc_tensor *x, *wx, *wh, *b, *ln_w, *wo;
	seqc_ids targets;
} rnn_ctx;

static seqc_tensor *fn_rnn(seqc_graph *g, void *p)
{
	rnn_ctx *m = p;
	seqc_tensor *h = NULL, *hs[3];
	for (size_t t = 0; t < 3; t++) {
		seqc_tensor *xt = seqc_reshape(g, seqc_slice(g, m->x, 1, t, 1), 2, SHAPE(2, 3));
		seqc_tensor *pre = seqc_linear(g, xt, m->wx, m->b);
		if (h)
			pre = seqc_add(g, pre, seqc_matmul(g, h, m->wh, false, true));
		h = seqc_tanh(g, pre);
		hs[t] = seqc_reshape(g, h, 3, SHAPE(2, 1, 4));
	}
	seqc_tensor *seq = seqc_layer_norm(g, seqc_concat(g, hs, 3, 1), m->ln_w, NULL, 1e-5f);
	return seqc_cross_entropy(g, seqc_linear(g, seq, m->wo, NULL), &m->targets, NULL);
}

START_TEST(test_rnn)
{
	rnn_ctx m;
	m.x = rt(3, SHAPE(2, 3, 3), 110);
	m.wx = rt(2, SHAPE(4, 3), 111);
	m.wh = rt(2, SHAPE(4, 4), 112);
	m.b = rt(1, SHAPE(4), 113);
	m.ln_w = rand_tensor(1, SHAPE(4), 0.5f, 1.5f, 114);
	m.wo = rt(2, SHAPE(5, 4), 115);
	int32_t t[6] = { 4, 0, 2, 1, 3, 3 };
	m.targets = seqc_ids_view2(t, 2, 3);
	seqc_tensor *inputs[6] = { m.x, m.wx, m.wh, m.b, m.ln_w, m.wo };
	int failures = gradcheck(fn_rnn, &m, inputs, 6, EPS, TOL, ATOL, 0);
	for (int i = 0; i < 6; i++)
		seqc_tensor_destroy(inputs[i]);
	ck_assert_msg(failures == 0, "rnn: %d gradient elements differ", failures);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seq_ops_grad");
	TCase *tc = tcase_create("gradcheck");
	tcase_add_loop_test(tc, test_matmul_2d, 0, 4);
	tcase_add_loop_test(tc, test_matmul_batched, 0, 4);
	tcase_add_loop_test(tc, test_matmul_nd_a, 0, 2);
	tcase_add_loop_test(tc, test_matmul_thin, 0, 16);
	tcase_add_test(tc, test_linear);
	tcase_add_loop_test(tc, test_binary, 0, 9);
	tcase_add_test(tc, test_mul_self);
	tcase_add_loop_test(tc, test_unary, 0, 6);
	tcase_add_loop_test(tc, test_softmax, 0, 2);
	tcase_add_loop_test(tc, test_cross_entropy, 0, 8);
	tcase_add_test(tc, test_cross_entropy_ignored_row_zero);
	tcase_add_loop_test(tc, test_layer_norm, 0, 4);
	tcase_add_test(tc, test_embedding);
	tcase_add_test(tc, test_embedding_padding);
	tcase_add_test(tc, test_dropout);
	tcase_add_test(tc, test_reshape);
	tcase_add_test(tc, test_transpose);
	tcase_add_loop_test(tc, test_concat, 0, 3);
	tcase_add_loop_test(tc, test_slice, 0, 3);
	tcase_add_loop_test(tc, test_sum_mean, 0, 2);
	tcase_add_test(tc, test_mlp);
	tcase_add_test(tc, test_rnn);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
