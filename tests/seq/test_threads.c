/* Threads do not change results beyond float rounding: ops large enough to
 * take their parallel paths (OpenMP loops, and OpenBLAS's OpenMP pool for
 * GEMMs) give the same forward values and gradients with 1 and 2 threads. */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#ifdef _OPENMP
#include <omp.h>

enum { NOUT = 16 };

/* The inputs: x [256, 256] for linear with w [256, 256] and b; s [256, 1024]
 * for the row ops (256 K elements, far above SEQC_PAR_MIN). */
typedef struct inputs {
	seqc_tensor *x, *w, *b, *s, *ln_w, *ln_b;
	int32_t targets[256];
} inputs;

/* Every output and every input gradient, copied out of the graph. */
typedef struct result {
	float *out[NOUT];
	size_t n[NOUT];
	int count;
} result;

static void keep(result *r, const float *v, size_t n)
{
	ck_assert_int_lt(r->count, NOUT);
	r->out[r->count] = malloc(n * sizeof(float));
	memcpy(r->out[r->count], v, n * sizeof(float));
	r->n[r->count++] = n;
}

static void zero_grads(inputs *in)
{
	seqc_tensor *ts[6] = { in->x, in->w, in->b, in->s, in->ln_w, in->ln_b };
	for (int i = 0; i < 6; i++)
		memset(ts[i]->grad, 0, ts[i]->numel * sizeof(float));
}

static result run(inputs *in, int threads)
{
	omp_set_num_threads(threads);
	ck_assert_int_eq(omp_get_max_threads(), threads);
	result r = { .count = 0 };
	zero_grads(in);
	seqc_graph *g = seqc_graph_create(0);
	seqc_ids ids = seqc_ids_view1(in->targets, 256);
	seqc_tensor *lin = seqc_linear(g, in->x, in->w, in->b);
	seqc_tensor *sm = seqc_softmax(g, in->s);
	seqc_tensor *lsm = seqc_log_softmax(g, in->s);
	seqc_tensor *ln = seqc_layer_norm(g, in->s, in->ln_w, in->ln_b, 1e-5f);
	seqc_tensor *ge = seqc_gelu(g, ln, SEQC_GELU_EXACT);
	seqc_tensor *ta = seqc_tanh(g, seqc_add(g, ge, in->ln_b));
	seqc_tensor *ce = seqc_cross_entropy(g, in->s, &ids, NULL);
	seqc_tensor *re = seqc_relu(g, in->s);
	seqc_tensor *outs[7] = { lin, sm, lsm, ln, ta, ce, re };
	/* One scalar from all of them, so one backward reaches every kernel. */
	seqc_tensor *loss = ce;
	for (int i = 0; i < 7; i++) {
		if (i == 5)
			continue;
		loss = seqc_add(g, loss, seqc_mean(g, seqc_mul(g, outs[i], outs[i])));
	}
	ck_assert_msg(loss != NULL, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	for (int i = 0; i < 7; i++)
		keep(&r, outs[i]->val, outs[i]->numel);
	seqc_tensor *ts[6] = { in->x, in->w, in->b, in->s, in->ln_w, in->ln_b };
	for (int i = 0; i < 6; i++)
		keep(&r, ts[i]->grad, ts[i]->numel);
	seqc_graph_destroy(g);
	return r;
}

START_TEST(test_one_vs_two_threads)
{
	inputs in;
	in.x = rand_tensor(2, SHAPE(256, 256), -1, 1, 1);
	in.w = rand_tensor(2, SHAPE(256, 256), -0.1f, 0.1f, 2);
	in.b = rand_tensor(1, SHAPE(256), -1, 1, 3);
	in.s = rand_tensor(2, SHAPE(256, 1024), -4, 4, 4);
	in.ln_w = rand_tensor(1, SHAPE(1024), 0.5f, 1.5f, 5);
	in.ln_b = rand_tensor(1, SHAPE(1024), -1, 1, 6);
	for (int i = 0; i < 256; i++)
		in.targets[i] = (i * 37) % 1024;
	static const char *names[13] = { "linear", "softmax", "log_softmax", "layer_norm",
					 "gelu+tanh", "cross_entropy", "relu", "dx", "dw", "db",
					 "ds", "dln_w", "dln_b" };
	result one = run(&in, 1), two = run(&in, 2);
	ck_assert_int_eq(one.count, 13);
	bool ok = true;
	for (int i = 0; i < one.count; i++)
		ok &= allclose(two.out[i], one.out[i], one.n[i], 1e-5f, 1e-6f, names[i]);
	/* Row-parallel ops whose rows do not depend on the thread count, and
	 * whose sums over rows run in a fixed order: bit for bit. */
	for (int i = 5; i <= 6; i++)
		ck_assert_msg(memcmp(two.out[i], one.out[i], one.n[i] * sizeof(float)) == 0,
			      "%s with 2 threads is not bit-identical to 1 thread", names[i]);
	for (int i = 0; i < one.count; i++) {
		free(one.out[i]);
		free(two.out[i]);
	}
	seqc_tensor *ts[6] = { in.x, in.w, in.b, in.s, in.ln_w, in.ln_b };
	for (int i = 0; i < 6; i++)
		seqc_tensor_destroy(ts[i]);
	ck_assert_msg(ok, "results with 2 threads differ from 1 thread beyond rounding");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seq_threads");
	TCase *tc = tcase_create("threads");
	tcase_add_test(tc, test_one_vs_two_threads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}

#else

int main(void)
{
	fprintf(stderr, "seq_threads: built without OpenMP (-Dopenmp=false); nothing to compare\n");
	return TEST_SKIP;
}

#endif
