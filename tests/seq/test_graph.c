/* The graph: arena rewinding, no heap traffic in a steady state, gradient
 * mode, detach, backward's argument checks, and gradient accumulation. */
#include <math.h>
#include <stdint.h>

#include "common.h"

START_TEST(test_create_destroy)
{
	seqc_graph_destroy(NULL);
	seqc_graph *g = seqc_graph_create(0);
	ck_assert_ptr_nonnull(g);
	ck_assert(seqc_graph_grad_enabled(g));
	ck_assert(seqc_graph_training(g));
	ck_assert_uint_eq(seqc_graph_used(g), 0);
	ck_assert_uint_eq(seqc_graph_heap_allocs(g), 1);
	seqc_graph_destroy(g);
}
END_TEST

/* Raw allocations are 64-byte aligned; graph tensors start at zero; inputs
 * copy their values. */
START_TEST(test_alloc_and_leaves)
{
	seqc_graph *g = seqc_graph_create(4096);
	for (size_t bytes = 1; bytes < 300; bytes += 37) {
		void *p = seqc_graph_alloc(g, bytes);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % 64, 0);
	}
	/* Larger than the first chunk: served by a new chunk. */
	unsigned char *big = seqc_graph_alloc(g, 100000);
	ck_assert_ptr_nonnull(big);
	memset(big, 1, 100000);
	seqc_tensor *t = seqc_graph_tensor(g, 2, SHAPE(3, 5), true);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(t->grad);
	for (size_t i = 0; i < 15; i++) {
		ck_assert_float_eq(t->val[i], 0);
		ck_assert_float_eq(t->grad[i], 0);
	}
	seqc_tensor *u = seqc_graph_input(g, 1, SHAPE(3), VALS(1, 2, 3));
	ck_assert_ptr_null(u->grad);
	CHECK_VALS(u, 1, 2, 3);
	seqc_graph_destroy(g);
}
END_TEST

START_TEST(test_reset_rewinds)
{
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *x = seqc_graph_tensor(g, 2, SHAPE(8, 16), true);
	seqc_tensor *y = seqc_tanh(g, seqc_softmax(g, x));
	ck_assert_ptr_nonnull(y);
	size_t used = seqc_graph_used(g);
	ck_assert_uint_gt(used, 3 * 8 * 16 * sizeof(float));
	ck_assert_uint_ge(seqc_graph_high_water(g), used);
	seqc_graph_reset(g);
	ck_assert_uint_eq(seqc_graph_used(g), 0);
	ck_assert_uint_ge(seqc_graph_high_water(g), used);
	/* The same work again uses the same bytes. */
	x = seqc_graph_tensor(g, 2, SHAPE(8, 16), true);
	seqc_tanh(g, seqc_softmax(g, x));
	ck_assert_uint_eq(seqc_graph_used(g), used);
	seqc_graph_destroy(g);
}
END_TEST

/* One training step of a small model touching most ops: embedding, concat,
 * linear, layer norm, gelu, dropout, slice, transpose, matmul, softmax,
 * cross-entropy. Returns the loss value. */
typedef struct model {
	seqc_params *p;
	seqc_tensor *emb, *w1, *b1, *ln_w, *ln_b, *w2;
	int32_t ids[24], targets[24];
} model;

static void model_init(model *m)
{
	m->p = seqc_params_create();
	seqc_init n = { SEQC_INIT_NORMAL, 0.5f }, one = { SEQC_INIT_ONES, 0 },
		  zero = { SEQC_INIT_ZEROS, 0 };
	m->emb = seqc_params_add(m->p, "emb", 2, SHAPE(11, 16), n, true);
	m->w1 = seqc_params_add(m->p, "w1", 2, SHAPE(64, 32), n, false);
	m->b1 = seqc_params_add(m->p, "b1", 1, SHAPE(64), zero, true);
	m->ln_w = seqc_params_add(m->p, "ln.w", 1, SHAPE(64), one, true);
	m->ln_b = seqc_params_add(m->p, "ln.b", 1, SHAPE(64), zero, true);
	m->w2 = seqc_params_add(m->p, "w2", 2, SHAPE(11, 64), n, false);
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(m->p, &rng), 0);
	for (int i = 0; i < 24; i++) {
		m->ids[i] = (i * 7) % 11;
		m->targets[i] = (i * 5 + 3) % 11;
	}
}

static float model_step(seqc_graph *g, model *m)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 7, SEQC_STREAM_DROPOUT);
	seqc_ids ids = seqc_ids_view2(m->ids, 4, 6), targets = seqc_ids_view2(m->targets, 4, 6);
	seqc_tensor *e = seqc_embedding(g, m->emb, &ids, -1);      /* [4, 6, 16] */
	seqc_tensor *pair[2] = { e, seqc_scale(g, e, -1.0f) };
	seqc_tensor *x = seqc_concat(g, pair, 2, 2);               /* [4, 6, 32] */
	seqc_tensor *h = seqc_linear(g, x, m->w1, m->b1);          /* [4, 6, 64] */
	h = seqc_gelu(g, seqc_layer_norm(g, h, m->ln_w, m->ln_b, 1e-5f), SEQC_GELU_TANH);
	h = seqc_dropout(g, h, 0.1f, &rng);
	/* A token-mixing step: h + softmax(h h^T) h per batch row. */
	seqc_tensor *att = seqc_softmax(g, seqc_matmul(g, h, seqc_transpose(g, h), false, false));
	h = seqc_add(g, h, seqc_matmul(g, att, h, false, false));
	seqc_tensor *logits = seqc_matmul(g, h, m->w2, false, true); /* [4, 6, 11] */
	logits = seqc_add(g, logits, seqc_slice(g, seqc_reshape(g, m->emb, 1, SHAPE(176)), 0, 0, 11));
	seqc_tensor *loss = seqc_cross_entropy(g, logits, &targets, NULL);
	ck_assert_msg(loss != NULL, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	return loss->val[0];
}

/* From step 2 on a step takes nothing from the heap, also when step 1
 * outgrew a tiny first chunk many times over. */
START_TEST(test_steady_state_no_heap)
{
	const size_t initial[2] = { 4096, 0 };
	model m;
	model_init(&m);
	seqc_graph *g = seqc_graph_create(initial[_i]);
	float first = model_step(g, &m);
	size_t after1 = seqc_graph_heap_allocs(g);
	if (_i == 0)
		ck_assert_uint_gt(after1, 2); /* it did outgrow the 4 KiB arena */
	seqc_graph_reset(g);
	seqc_params_zero_grad(m.p);
	float second = model_step(g, &m);
	size_t after2 = seqc_graph_heap_allocs(g);
	for (int step = 3; step <= 5; step++) {
		seqc_graph_reset(g);
		seqc_params_zero_grad(m.p);
		float loss = model_step(g, &m);
		ck_assert_float_eq(loss, first);
		ck_assert_uint_eq(seqc_graph_heap_allocs(g), after2);
	}
	ck_assert_float_eq(second, first);
	seqc_graph_destroy(g);
	seqc_params_destroy(m.p);
}
END_TEST

/* Gradients off: no records, no gradient buffers, backward refuses, and the
 * parameters' gradients stay zero. The same ops use fewer arena bytes. */
START_TEST(test_no_grad)
{
	model m;
	model_init(&m);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *x = seqc_graph_tensor(g, 2, SHAPE(3, 32), false);
	for (size_t i = 0; i < x->numel; i++)
		x->val[i] = sinf((float)i);
	size_t base = seqc_graph_used(g);
	seqc_tensor *y = seqc_tanh(g, seqc_linear(g, x, m.w1, m.b1));
	ck_assert_ptr_nonnull(y->grad);
	size_t with_grad = seqc_graph_used(g) - base;

	ck_assert(seqc_graph_set_grad(g, false));
	ck_assert(!seqc_graph_grad_enabled(g));
	base = seqc_graph_used(g);
	seqc_tensor *h = seqc_linear(g, x, m.w1, m.b1);
	y = seqc_tanh(g, h);
	ck_assert_ptr_null(h->grad);
	ck_assert_ptr_null(y->grad);
	ck_assert_uint_lt(seqc_graph_used(g) - base, with_grad);
	seqc_tensor *loss = seqc_mean(g, y);
	ck_assert_ptr_null(loss->grad);
	seqc_error_clear();
	ck_assert_int_eq(seqc_backward(g, loss), SEQC_EINVAL);
	CHECK_ERRMSG("backward");
	ck_assert(!seqc_graph_set_grad(g, true));

	/* Back on: a loss built on the no-grad output reaches w2 only, and the
	 * walk does not trip over anything recorded while off. */
	seqc_params_zero_grad(m.p);
	loss = seqc_sum(g, seqc_linear(g, y, m.w2, NULL));
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	double w1_norm = 0, w2_norm = 0;
	for (size_t i = 0; i < m.w1->numel; i++)
		w1_norm += fabsf(m.w1->grad[i]);
	for (size_t i = 0; i < m.w2->numel; i++)
		w2_norm += fabsf(m.w2->grad[i]);
	ck_assert_double_eq(w1_norm, 0);
	ck_assert_double_gt(w2_norm, 0);
	seqc_graph_destroy(g);
	seqc_params_destroy(m.p);
}
END_TEST

/* w1 is reached only through a detached tensor: zero gradient; w2 gets its
 * gradient. The detached tensor has the values and no gradient. */
START_TEST(test_detach)
{
	seqc_tensor *x = rand_tensor(2, SHAPE(3, 4), -1, 1, 1);
	seqc_tensor *w1 = rand_tensor(2, SHAPE(5, 4), -1, 1, 2);
	seqc_tensor *w2 = rand_tensor(2, SHAPE(2, 5), -1, 1, 3);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *h = seqc_tanh(g, seqc_linear(g, x, w1, NULL));
	seqc_tensor *d = seqc_detach(g, h);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_null(d->grad);
	CHECK_SHAPE(d, 3, 5);
	ck_assert_mem_eq(d->val, h->val, 15 * sizeof(float));
	seqc_tensor *loss = seqc_sum(g, seqc_linear(g, d, w2, NULL));
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	for (size_t i = 0; i < w1->numel; i++)
		ck_assert_float_eq(w1->grad[i], 0);
	for (size_t i = 0; i < x->numel; i++)
		ck_assert_float_eq(x->grad[i], 0);
	/* d/dw2 of sum(d w2^T) is column sums of d for every output row. */
	for (size_t o = 0; o < 2; o++)
		for (size_t k = 0; k < 5; k++) {
			float s = d->val[k] + d->val[5 + k] + d->val[10 + k];
			ck_assert_float_eq_tol(w2->grad[o * 5 + k], s, 1e-6f);
		}
	ck_assert_ptr_null(seqc_detach(g, NULL));
	seqc_graph_destroy(g);
	seqc_tensor_destroy(x);
	seqc_tensor_destroy(w1);
	seqc_tensor_destroy(w2);
}
END_TEST

START_TEST(test_backward_errors)
{
	seqc_tensor *x = rand_tensor(2, SHAPE(2, 3), -1, 1, 4);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y = seqc_tanh(g, x);
	seqc_error_clear();
	ck_assert_int_eq(seqc_backward(g, y), SEQC_EINVAL);
	CHECK_ERRMSG("backward");
	CHECK_ERRMSG("scalar");
	/* A scalar that depends on nothing with a gradient. */
	seqc_tensor *c = seqc_graph_input(g, 2, SHAPE(2, 3), x->val);
	seqc_tensor *loss = seqc_sum(g, c);
	ck_assert_ptr_null(loss->grad);
	seqc_error_clear();
	ck_assert_int_eq(seqc_backward(g, loss), SEQC_EINVAL);
	CHECK_ERRMSG("gradient");
	seqc_error_clear();
	ck_assert_int_eq(seqc_backward(g, NULL), SEQC_EINVAL);
	CHECK_ERRMSG("backward");
	seqc_error_clear();
	ck_assert_int_eq(seqc_backward_from(g, NULL, NULL), SEQC_EINVAL);
	CHECK_ERRMSG("backward");
	/* Nothing reached x. */
	for (size_t i = 0; i < 6; i++)
		ck_assert_float_eq(x->grad[i], 0);
	seqc_graph_destroy(g);
	seqc_tensor_destroy(x);
}
END_TEST

/* loss = mean(tanh(x w^T) * v) over [4, 3] x and w [5, 3]. */
static seqc_tensor *small_loss(seqc_graph *g, seqc_tensor *x, seqc_tensor *w, seqc_tensor *v)
{
	return seqc_mean(g, seqc_mul(g, seqc_tanh(g, seqc_linear(g, x, w, NULL)), v));
}

/* Gradients accumulate (+=): two steps without zeroing give twice one
 * step's gradient; so do two backward calls over the same tape; and two
 * losses backpropagated one after the other give the gradient of their sum. */
START_TEST(test_accumulate)
{
	seqc_tensor *x = rand_tensor(2, SHAPE(4, 3), -1, 1, 5);
	seqc_tensor *w = rand_tensor(2, SHAPE(5, 3), -1, 1, 6);
	seqc_tensor *v = rand_tensor(1, SHAPE(5), -1, 1, 7);
	seqc_graph *g = seqc_graph_create(0);
	ck_assert_int_eq(seqc_backward(g, small_loss(g, x, w, v)), 0);
	float once[15], twice[15];
	memcpy(once, w->grad, sizeof once);
	for (int i = 0; i < 15; i++)
		twice[i] = 2 * once[i];

	/* Two steps. */
	seqc_graph_reset(g);
	ck_assert_int_eq(seqc_backward(g, small_loss(g, x, w, v)), 0);
	ck_assert(allclose(w->grad, twice, 15, 1e-6f, 1e-7f, "two steps"));

	/* Two backward calls on one tape. */
	memset(w->grad, 0, sizeof once);
	seqc_graph_reset(g);
	seqc_tensor *loss = small_loss(g, x, w, v);
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	ck_assert(allclose(w->grad, once, 15, 1e-6f, 1e-7f, "first backward"));
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	ck_assert(allclose(w->grad, twice, 15, 1e-6f, 1e-7f, "second backward on the same tape"));

	/* Two losses sharing the tanh layer, one backward each, against one
	 * backward of their sum. */
	memset(w->grad, 0, sizeof once);
	seqc_graph_reset(g);
	seqc_tensor *h = seqc_tanh(g, seqc_linear(g, x, w, NULL));
	seqc_tensor *l1 = seqc_mean(g, seqc_mul(g, h, v)), *l2 = seqc_sum(g, seqc_mul(g, h, h));
	ck_assert_int_eq(seqc_backward(g, l1), 0);
	ck_assert_int_eq(seqc_backward(g, l2), 0);
	float separate[15], summed[15];
	memcpy(separate, w->grad, sizeof separate);
	memset(w->grad, 0, sizeof once);
	seqc_graph_reset(g);
	h = seqc_tanh(g, seqc_linear(g, x, w, NULL));
	l1 = seqc_mean(g, seqc_mul(g, h, v));
	l2 = seqc_sum(g, seqc_mul(g, h, h));
	ck_assert_int_eq(seqc_backward(g, seqc_add(g, l1, l2)), 0);
	memcpy(summed, w->grad, sizeof summed);
	ck_assert(allclose(separate, summed, 15, 1e-5f, 1e-6f, "two losses"));

	seqc_graph_destroy(g);
	seqc_tensor_destroy(x);
	seqc_tensor_destroy(w);
	seqc_tensor_destroy(v);
}
END_TEST

/* Truncated BPTT inside one graph: chunk 1 forward + backward, its final
 * state detached into chunk 2, chunk 2 forward + backward. The parameter
 * gradient must equal chunk 1's plus chunk 2's computed in separate graphs. */
static seqc_tensor *chunk(seqc_graph *g, seqc_tensor *h0, seqc_tensor *w, seqc_tensor **h_out)
{
	seqc_tensor *h = h0;
	for (int t = 0; t < 3; t++)
		h = seqc_tanh(g, seqc_linear(g, h, w, NULL));
	*h_out = h;
	return seqc_sum(g, h);
}

START_TEST(test_tbptt_in_one_graph)
{
	seqc_tensor *w = rand_tensor(2, SHAPE(4, 4), -1, 1, 8);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *h0 = seqc_graph_input(g, 2, SHAPE(2, 4), VALS(0.5f, -0.5f, 1, 0, 0.2f, 0.3f, -1, 0.7f));
	seqc_tensor *h1, *h2;
	ck_assert_int_eq(seqc_backward(g, chunk(g, h0, w, &h1)), 0);
	ck_assert_int_eq(seqc_backward(g, chunk(g, seqc_detach(g, h1), w, &h2)), 0);
	float together[16];
	memcpy(together, w->grad, sizeof together);

	memset(w->grad, 0, sizeof together);
	seqc_graph_reset(g);
	h0 = seqc_graph_input(g, 2, SHAPE(2, 4), VALS(0.5f, -0.5f, 1, 0, 0.2f, 0.3f, -1, 0.7f));
	ck_assert_int_eq(seqc_backward(g, chunk(g, h0, w, &h1)), 0);
	float h1_copy[8];
	memcpy(h1_copy, h1->val, sizeof h1_copy);
	seqc_graph_reset(g);
	ck_assert_int_eq(seqc_backward(g, chunk(g, seqc_graph_input(g, 2, SHAPE(2, 4), h1_copy), w, &h2)), 0);
	ck_assert(allclose(together, w->grad, 16, 1e-5f, 1e-6f, "tbptt in one graph"));
	seqc_graph_destroy(g);
	seqc_tensor_destroy(w);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seq_graph");
	TCase *tc = tcase_create("graph");
	tcase_add_test(tc, test_create_destroy);
	tcase_add_test(tc, test_alloc_and_leaves);
	tcase_add_test(tc, test_reset_rewinds);
	tcase_add_loop_test(tc, test_steady_state_no_heap, 0, 2);
	tcase_add_test(tc, test_no_grad);
	tcase_add_test(tc, test_detach);
	tcase_add_test(tc, test_backward_errors);
	tcase_add_test(tc, test_accumulate);
	tcase_add_test(tc, test_tbptt_in_one_graph);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
