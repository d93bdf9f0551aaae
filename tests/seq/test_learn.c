/* Learning end to end: a 2-layer MLP trained by plain SGD on the flat
 * parameter block learns XOR and the 3-arm spiral. */
#include <math.h>

#include "common.h"

/* x [n, 2] -> linear(fc1 [hidden, 2]) -> tanh -> linear(fc2 [classes,
 * hidden]) -> logits. */
typedef struct mlp {
	seqc_params *p;
	seqc_tensor *w1, *b1, *w2, *b2;
} mlp;

static void mlp_init(mlp *m, size_t hidden, size_t classes, uint64_t seed)
{
	seqc_init kaiming = { SEQC_INIT_KAIMING_UNIFORM, 1.0f }, zeros = { SEQC_INIT_ZEROS, 0 };
	m->p = seqc_params_create();
	m->w1 = seqc_params_add(m->p, "fc1.weight", 2, SHAPE(hidden, 2), kaiming, false);
	m->b1 = seqc_params_add(m->p, "fc1.bias", 1, SHAPE(hidden), zeros, true);
	m->w2 = seqc_params_add(m->p, "fc2.weight", 2, SHAPE(classes, hidden), kaiming, false);
	m->b2 = seqc_params_add(m->p, "fc2.bias", 1, SHAPE(classes), zeros, true);
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(m->p, &rng), 0);
}

/* One full-batch SGD step; returns the loss before the update and leaves
 * the logits in *logits (valid until the next reset). */
static float sgd_step(seqc_graph *g, mlp *m, const float *x, const seqc_ids *y, float lr,
		      seqc_tensor **logits)
{
	seqc_graph_reset(g);
	seqc_params_zero_grad(m->p);
	seqc_tensor *in = seqc_graph_input(g, 2, SHAPE(y->numel, 2), x);
	seqc_tensor *h = seqc_tanh(g, seqc_linear(g, in, m->w1, m->b1));
	*logits = seqc_linear(g, h, m->w2, m->b2);
	seqc_tensor *loss = seqc_cross_entropy(g, *logits, y, NULL);
	ck_assert_msg(loss != NULL, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	for (size_t i = 0; i < m->p->numel; i++)
		m->p->values[i] -= lr * m->p->grads[i];
	return loss->val[0];
}

static size_t correct(const seqc_tensor *logits, const int32_t *y)
{
	size_t rows = seqc_tensor_rows(logits), cols = seqc_tensor_cols(logits), ok = 0;
	for (size_t r = 0; r < rows; r++) {
		const float *row = logits->val + r * cols;
		size_t best = 0;
		for (size_t c = 1; c < cols; c++)
			best = row[c] > row[best] ? c : best;
		ok += best == (size_t)y[r];
	}
	return ok;
}

/* XOR of 4 points: not linearly separable, so the hidden layer must do
 * its job. Loss below 0.01 within 3000 steps. */
START_TEST(test_xor)
{
	const float x[8] = { 0, 0, 0, 1, 1, 0, 1, 1 };
	int32_t t[4] = { 0, 1, 1, 0 };
	seqc_ids y = seqc_ids_view1(t, 4);
	mlp m;
	mlp_init(&m, 8, 2, 1);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *logits;
	float first = sgd_step(g, &m, x, &y, 0.5f, &logits), loss = first;
	int step = 1;
	while (loss >= 0.01f && step < 3000) {
		loss = sgd_step(g, &m, x, &y, 0.5f, &logits);
		step++;
	}
	ck_assert_msg(loss < 0.01f, "XOR loss %g after %d steps (first %g)", (double)loss, step,
		      (double)first);
	ck_assert_uint_eq(correct(logits, t), 4);
	seqc_graph_destroy(g);
	seqc_params_destroy(m.p);
}
END_TEST

/* The 3-arm spiral of cli/seqc.c's demo (cs231n's toy set): class k's arm
 * at radius r in [0, 1] has angle 4 k + 4 r plus noise of std 0.2. */
static void make_spiral(float *x, int32_t *y, int per_class, seqc_rng *rng)
{
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < per_class; i++) {
			float r = (float)i / (float)(per_class - 1);
			float a = (float)k * 4.0f + 4.0f * r + 0.2f * seqc_rng_normal(rng);
			int n = k * per_class + i;
			x[2 * n] = r * sinf(a);
			x[2 * n + 1] = r * cosf(a);
			y[n] = k;
		}
}

/* 300 points, 64 hidden units, SGD lr 1: at least 95% training accuracy
 * within 2000 steps (the demo reaches 99%). */
START_TEST(test_spiral)
{
	enum { PER_CLASS = 100, N = 3 * PER_CLASS };
	float x[2 * N];
	int32_t t[N];
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_DATA);
	make_spiral(x, t, PER_CLASS, &rng);
	seqc_ids y = seqc_ids_view1(t, N);
	mlp m;
	mlp_init(&m, 64, 3, 1);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *logits;
	float first = sgd_step(g, &m, x, &y, 1.0f, &logits), loss = first;
	size_t ok = correct(logits, t);
	for (int step = 2; step <= 2000 && ok < 0.95 * N; step++) {
		loss = sgd_step(g, &m, x, &y, 1.0f, &logits);
		if (step % 50 == 0)
			ok = correct(logits, t);
	}
	ck_assert_msg(ok >= 0.95 * N, "spiral accuracy %zu / %d (loss %g, first %g)", ok, N,
		      (double)loss, (double)first);
	ck_assert_float_lt(loss, first);
	seqc_graph_destroy(g);
	seqc_params_destroy(m.p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seq_learn");
	TCase *tc = tcase_create("learn");
	tcase_add_test(tc, test_xor);
	tcase_add_test(tc, test_spiral);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
