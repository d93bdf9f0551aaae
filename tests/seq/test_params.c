/* The parameter store: layout (names, contiguous offsets in the order of the
 * adds), its state rules, zero_grad, and every init rule against its formula. */
#include <math.h>

#include "common.h"

START_TEST(test_layout)
{
	seqc_params_destroy(NULL);
	seqc_params *p = seqc_params_create();
	ck_assert_ptr_nonnull(p);
	seqc_init z = { SEQC_INIT_ZEROS, 0 };
	seqc_tensor *a = seqc_params_add(p, "layer.weight", 2, SHAPE(2, 3), z, false);
	seqc_tensor *b = seqc_params_add(p, "layer.bias", 1, SHAPE(4), z, true);
	seqc_tensor *c = seqc_params_add(p, "conv", 3, SHAPE(2, 2, 2), z, false);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(p->count, 3);
	ck_assert_uint_eq(p->numel, 6 + 4 + 8);
	const char *names[3] = { "layer.weight", "layer.bias", "conv" };
	const size_t offsets[3] = { 0, 6, 10 };
	seqc_tensor *ts[3] = { a, b, c };
	for (size_t i = 0; i < 3; i++) {
		seqc_param *q = p->items[i];
		ck_assert_str_eq(q->name, names[i]);
		ck_assert_uint_eq(q->offset, offsets[i]);
		ck_assert_ptr_eq(&q->t, ts[i]);
		ck_assert_ptr_eq(seqc_params_find(p, names[i]), q);
	}
	ck_assert(!p->items[0]->no_decay);
	ck_assert(p->items[1]->no_decay);
	CHECK_SHAPE(c, 2, 2, 2);
	ck_assert_ptr_null(seqc_params_find(p, "layer"));
	ck_assert_ptr_null(seqc_params_find(p, "missing"));

	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	ck_assert(p->finalized);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_ptr_eq(ts[i]->val, p->values + offsets[i]);
		ck_assert_ptr_eq(ts[i]->grad, p->grads + offsets[i]);
	}
	for (size_t i = 0; i < p->numel; i++)
		ck_assert_float_eq(p->grads[i], 0);
	seqc_params_destroy(p);
}
END_TEST

START_TEST(test_add_errors)
{
	seqc_params *p = seqc_params_create();
	seqc_init z = { SEQC_INIT_ZEROS, 0 };
	ck_assert_ptr_nonnull(seqc_params_add(p, "w", 1, SHAPE(3), z, false));
	seqc_error_clear();
	ck_assert_ptr_null(seqc_params_add(p, "w", 1, SHAPE(5), z, false));
	CHECK_ERRMSG("duplicate");
	CHECK_ERRMSG("'w'");
	seqc_error_clear();
	ck_assert_ptr_null(seqc_params_add(p, "", 1, SHAPE(5), z, false));
	CHECK_ERRMSG("name");
	seqc_error_clear();
	ck_assert_ptr_null(seqc_params_add(p, NULL, 1, SHAPE(5), z, false));
	CHECK_ERRMSG("name");
	seqc_error_clear();
	ck_assert_ptr_null(seqc_params_add(p, "v", 2, SHAPE(5, 0), z, false));
	CHECK_ERRMSG("v");
	seqc_error_clear();
	ck_assert_ptr_null(seqc_params_add(p, "u", 5, SHAPE(1, 1, 1, 1, 1), z, false));
	CHECK_ERRMSG("u");
	/* Failed adds leave nothing behind. */
	ck_assert_uint_eq(p->count, 1);
	ck_assert_uint_eq(p->numel, 3);

	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	seqc_error_clear();
	ck_assert_ptr_null(seqc_params_add(p, "late", 1, SHAPE(2), z, false));
	CHECK_ERRMSG("late");
	CHECK_ERRMSG("finalize");
	ck_assert_uint_eq(p->count, 1);
	seqc_error_clear();
	ck_assert_int_eq(seqc_params_finalize(p, &rng), SEQC_ESTATE);
	CHECK_ERRMSG("finalize");
	seqc_params_destroy(p);
}
END_TEST

START_TEST(test_zero_grad)
{
	seqc_params *p = seqc_params_create();
	seqc_init o = { SEQC_INIT_ONES, 0 };
	seqc_params_zero_grad(p); /* before finalize: nothing to zero */
	seqc_params_add(p, "a", 2, SHAPE(3, 3), o, false);
	seqc_params_add(p, "b", 1, SHAPE(7), o, false);
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	for (size_t i = 0; i < p->numel; i++)
		p->grads[i] = (float)i + 1;
	seqc_params_zero_grad(p);
	for (size_t i = 0; i < p->numel; i++) {
		ck_assert_float_eq(p->grads[i], 0);
		ck_assert_float_eq(p->values[i], 1);
	}
	seqc_params_destroy(p);
}
END_TEST

/* A heap tensor initialized by one rule from seed 11. */
static seqc_tensor *init_one(int ndim, const size_t *shape, seqc_init_kind kind, float a)
{
	seqc_tensor *t = seqc_tensor_create(ndim, shape, false);
	ck_assert_ptr_nonnull(t);
	seqc_rng rng;
	seqc_rng_seed(&rng, 11, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_init_tensor(t, (seqc_init){ kind, a }, &rng), 0);
	return t;
}

typedef struct stats {
	double mean, std, absmax;
} stats;

static stats stats_of(const seqc_tensor *t)
{
	double s = 0, s2 = 0, m = 0;
	for (size_t i = 0; i < t->numel; i++) {
		s += t->val[i];
		s2 += (double)t->val[i] * t->val[i];
		m = fmax(m, fabs(t->val[i]));
	}
	double mean = s / (double)t->numel;
	return (stats){ mean, sqrt(s2 / (double)t->numel - mean * mean), m };
}

START_TEST(test_init_constant)
{
	seqc_tensor *t = init_one(2, SHAPE(3, 4), SEQC_INIT_ZEROS, 5);
	for (size_t i = 0; i < t->numel; i++)
		ck_assert_float_eq(t->val[i], 0);
	seqc_tensor_destroy(t);
	t = init_one(2, SHAPE(3, 4), SEQC_INIT_ONES, 5);
	for (size_t i = 0; i < t->numel; i++)
		ck_assert_float_eq(t->val[i], 1);
	seqc_tensor_destroy(t);
	t = init_one(1, SHAPE(5), SEQC_INIT_CONST, -0.25f);
	for (size_t i = 0; i < t->numel; i++)
		ck_assert_float_eq(t->val[i], -0.25f);
	seqc_tensor_destroy(t);
}
END_TEST

/* Checks a uniform draw U(-bound, bound) over n elements: inside the bound,
 * reaching near it, mean 0 and variance bound^2 / 3 within 5 standard errors
 * (var of the sample variance of U(-b, b): (b^4 / 5 - b^4 / 9) / n). */
static void check_uniform(const seqc_tensor *t, double bound, const char *what)
{
	stats s = stats_of(t);
	double n = (double)t->numel;
	ck_assert_msg(s.absmax <= bound, "%s: |x| reaches %g over the bound %g", what, s.absmax, bound);
	ck_assert_msg(s.absmax > 0.99 * bound, "%s: |x| only reaches %g of %g", what, s.absmax, bound);
	ck_assert_msg(fabs(s.mean) < 5 * bound / sqrt(3 * n), "%s: mean %g", what, s.mean);
	double var = bound * bound / 3, se = bound * bound * sqrt((1.0 / 5 - 1.0 / 9) / n);
	ck_assert_msg(fabs(s.std * s.std - var) < 5 * se, "%s: variance %g, expected %g", what,
		      s.std * s.std, var);
}

/* Normal N(0, std^2): mean within 5 standard errors, sample std within 5
 * standard errors (std / sqrt(2 n)). */
static void check_normal(const seqc_tensor *t, double std, const char *what)
{
	stats s = stats_of(t);
	double n = (double)t->numel;
	ck_assert_msg(fabs(s.mean) < 5 * std / sqrt(n), "%s: mean %g", what, s.mean);
	ck_assert_msg(fabs(s.std - std) < 5 * std / sqrt(2 * n), "%s: std %g, expected %g", what, s.std,
		      std);
}

START_TEST(test_init_uniform_normal)
{
	seqc_tensor *t = init_one(2, SHAPE(200, 500), SEQC_INIT_UNIFORM, 0.5f);
	check_uniform(t, 0.5, "uniform");
	seqc_tensor_destroy(t);
	t = init_one(2, SHAPE(200, 500), SEQC_INIT_NORMAL, 2.0f);
	check_normal(t, 2.0, "normal");
	seqc_tensor_destroy(t);
}
END_TEST

/* Fans as PyTorch: [out, in] -> fan_in = in, fan_out = out; [out, in, k]
 * multiplies both by k; a 1-D tensor has both equal to its size. */
START_TEST(test_init_xavier_kaiming)
{
	/* [300, 200]: fan_in 200, fan_out 300. */
	seqc_tensor *t = init_one(2, SHAPE(300, 200), SEQC_INIT_XAVIER_UNIFORM, 1.5f);
	check_uniform(t, 1.5 * sqrt(6.0 / 500), "xavier uniform");
	seqc_tensor_destroy(t);
	t = init_one(2, SHAPE(300, 200), SEQC_INIT_XAVIER_NORMAL, 1.5f);
	check_normal(t, 1.5 * sqrt(2.0 / 500), "xavier normal");
	seqc_tensor_destroy(t);
	t = init_one(2, SHAPE(300, 200), SEQC_INIT_KAIMING_UNIFORM, (float)M_SQRT2);
	check_uniform(t, M_SQRT2 * sqrt(3.0 / 200), "kaiming uniform");
	seqc_tensor_destroy(t);
	t = init_one(2, SHAPE(300, 200), SEQC_INIT_KAIMING_NORMAL, (float)M_SQRT2);
	check_normal(t, M_SQRT2 / sqrt(200), "kaiming normal");
	seqc_tensor_destroy(t);
	/* [100, 40, 15]: receptive field 15, fan_in 600, fan_out 1500. */
	t = init_one(3, SHAPE(100, 40, 15), SEQC_INIT_XAVIER_UNIFORM, 1.0f);
	check_uniform(t, sqrt(6.0 / 2100), "xavier uniform 3-D");
	seqc_tensor_destroy(t);
	t = init_one(3, SHAPE(100, 40, 15), SEQC_INIT_KAIMING_NORMAL, 1.0f);
	check_normal(t, 1 / sqrt(600), "kaiming normal 3-D");
	seqc_tensor_destroy(t);
	/* [50000]: fan_in = fan_out = 50000. */
	t = init_one(1, SHAPE(50000), SEQC_INIT_XAVIER_NORMAL, 1.0f);
	check_normal(t, sqrt(2.0 / 100000), "xavier normal 1-D");
	seqc_tensor_destroy(t);
	t = init_one(1, SHAPE(50000), SEQC_INIT_KAIMING_UNIFORM, 1.0f);
	check_uniform(t, sqrt(3.0 / 50000), "kaiming uniform 1-D");
	seqc_tensor_destroy(t);
}
END_TEST

/* W as [rows, cols] (trailing dims flattened): W W^T = gain^2 I when rows <=
 * cols, W^T W = gain^2 I when rows >= cols, within 1e-4 gain^2. */
static void check_orthogonal(int ndim, const size_t *shape, float gain)
{
	seqc_tensor *t = init_one(ndim, shape, SEQC_INIT_ORTHOGONAL, gain);
	size_t rows = shape[0], cols = t->numel / rows;
	bool by_rows = rows <= cols;
	size_t k = by_rows ? rows : cols, len = by_rows ? cols : rows;
	double worst = 0;
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < k; j++) {
			double dot = 0;
			for (size_t l = 0; l < len; l++) {
				double u = by_rows ? t->val[i * cols + l] : t->val[l * cols + i];
				double v = by_rows ? t->val[j * cols + l] : t->val[l * cols + j];
				dot += u * v;
			}
			double want = i == j ? (double)gain * gain : 0.0;
			worst = fmax(worst, fabs(dot - want));
		}
	ck_assert_msg(worst < 1e-4 * gain * gain, "orthogonal [%zu, %zu] gain %g: off by %g", rows, cols,
		      (double)gain, worst);
	seqc_tensor_destroy(t);
}

START_TEST(test_init_orthogonal)
{
	check_orthogonal(2, SHAPE(5, 8), 1.0f);
	check_orthogonal(2, SHAPE(8, 5), 1.0f);
	check_orthogonal(2, SHAPE(6, 6), 2.0f);
	check_orthogonal(2, SHAPE(64, 256), 0.5f);
	check_orthogonal(2, SHAPE(256, 64), 1.0f);
	check_orthogonal(3, SHAPE(4, 2, 3), 1.0f);
	/* A square orthogonal matrix also has orthonormal rows. */
	check_orthogonal(2, SHAPE(1, 7), 1.0f);
	/* Orthogonal needs a matrix. */
	seqc_tensor *v = seqc_tensor_create(1, SHAPE(4), false);
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, 1);
	seqc_error_clear();
	ck_assert_int_eq(seqc_init_tensor(v, (seqc_init){ SEQC_INIT_ORTHOGONAL, 1 }, &rng), SEQC_ESHAPE);
	CHECK_ERRMSG("orthogonal");
	seqc_error_clear();
	ck_assert_int_eq(seqc_init_tensor(v, (seqc_init){ (seqc_init_kind)99, 1 }, &rng), SEQC_EINVAL);
	CHECK_ERRMSG("init");
	seqc_tensor_destroy(v);
}
END_TEST

/* A store of several random rules from one seed. */
static seqc_params *make_store(uint64_t seed)
{
	seqc_params *p = seqc_params_create();
	seqc_params_add(p, "a", 2, SHAPE(4, 6), (seqc_init){ SEQC_INIT_XAVIER_UNIFORM, 1 }, false);
	seqc_params_add(p, "b", 1, SHAPE(6), (seqc_init){ SEQC_INIT_NORMAL, 0.1f }, true);
	seqc_params_add(p, "c", 2, SHAPE(6, 6), (seqc_init){ SEQC_INIT_ORTHOGONAL, 1 }, false);
	seqc_params_add(p, "d", 2, SHAPE(3, 6), (seqc_init){ SEQC_INIT_KAIMING_UNIFORM, 1 }, false);
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	return p;
}

/* The same seed gives the same values, another seed others; finalize runs
 * the rules in the order of the adds from one generator. */
START_TEST(test_init_reproducible)
{
	seqc_params *p = make_store(5), *q = make_store(5), *r = make_store(6);
	ck_assert_uint_eq(p->numel, q->numel);
	ck_assert_mem_eq(p->values, q->values, p->numel * sizeof(float));
	ck_assert(memcmp(p->values, r->values, p->numel * sizeof(float)) != 0);

	seqc_rng rng;
	seqc_rng_seed(&rng, 5, SEQC_STREAM_INIT);
	for (size_t i = 0; i < p->count; i++) {
		seqc_param *item = p->items[i];
		seqc_tensor *t = seqc_tensor_create(item->t.ndim, item->t.shape, false);
		ck_assert_int_eq(seqc_init_tensor(t, item->init, &rng), 0);
		ck_assert_mem_eq(t->val, item->t.val, t->numel * sizeof(float));
		seqc_tensor_destroy(t);
	}
	seqc_params_destroy(p);
	seqc_params_destroy(q);
	seqc_params_destroy(r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seq_params");
	TCase *tc = tcase_create("params");
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_add_errors);
	tcase_add_test(tc, test_zero_grad);
	tcase_add_test(tc, test_init_constant);
	tcase_add_test(tc, test_init_uniform_normal);
	tcase_add_test(tc, test_init_xavier_kaiming);
	tcase_add_test(tc, test_init_orthogonal);
	tcase_add_test(tc, test_init_reproducible);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
