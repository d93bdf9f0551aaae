/* Forward values of every op on small inputs whose outputs are worked out by
 * hand in the comments. Gradients are the business of test_ops_grad.c. */
#include <math.h>

#include "common.h"

static seqc_graph *g;

static void setup(void)
{
	g = seqc_graph_create(0);
	ck_assert_ptr_nonnull(g);
}

static void teardown(void)
{
	seqc_graph_destroy(g);
	g = NULL;
}

/* A leaf in the graph without gradient: the forward tests need no tape. */
static seqc_tensor *in(int ndim, const size_t *shape, const float *v)
{
	seqc_tensor *t = seqc_graph_input(g, ndim, shape, v);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* ---- matmul and linear ----
 * A = [[1, 2, 3], [4, 5, 6]], B = [[7, 8], [9, 10], [11, 12]]:
 * A B = [[1*7 + 2*9 + 3*11, 1*8 + 2*10 + 3*12],
 *        [4*7 + 5*9 + 6*11, 4*8 + 5*10 + 6*12]] = [[58, 64], [139, 154]].
 * The transposed variants store A^T = [[1, 4], [2, 5], [3, 6]] and
 * B^T = [[7, 9, 11], [8, 10, 12]] and must give the same product. */
#define MAT_A VALS(1, 2, 3, 4, 5, 6)
#define MAT_AT VALS(1, 4, 2, 5, 3, 6)
#define MAT_B VALS(7, 8, 9, 10, 11, 12)
#define MAT_BT VALS(7, 9, 11, 8, 10, 12)

START_TEST(test_matmul_2d_all_transposes)
{
	seqc_tensor *a = in(2, SHAPE(2, 3), MAT_A), *at = in(2, SHAPE(3, 2), MAT_AT);
	seqc_tensor *b = in(2, SHAPE(3, 2), MAT_B), *bt = in(2, SHAPE(2, 3), MAT_BT);
	seqc_tensor *c;

	c = seqc_matmul(g, a, b, false, false);
	CHECK_SHAPE(c, 2, 2);
	CHECK_VALS(c, 58, 64, 139, 154);
	c = seqc_matmul(g, at, b, true, false);
	CHECK_SHAPE(c, 2, 2);
	CHECK_VALS(c, 58, 64, 139, 154);
	c = seqc_matmul(g, a, bt, false, true);
	CHECK_SHAPE(c, 2, 2);
	CHECK_VALS(c, 58, 64, 139, 154);
	c = seqc_matmul(g, at, bt, true, true);
	CHECK_SHAPE(c, 2, 2);
	CHECK_VALS(c, 58, 64, 139, 154);

	/* Non-square output: B^T A^T = (A B)^T = [[58, 139], [64, 154]]. */
	c = seqc_matmul(g, bt, at, false, false);
	CHECK_SHAPE(c, 2, 2);
	CHECK_VALS(c, 58, 139, 64, 154);
	/* One row: [1, 2, 3] B = [58, 64], with each flag. */
	c = seqc_matmul(g, in(2, SHAPE(1, 3), VALS(1, 2, 3)), b, false, false);
	CHECK_SHAPE(c, 1, 2);
	CHECK_VALS(c, 58, 64);
	c = seqc_matmul(g, in(2, SHAPE(3, 1), VALS(1, 2, 3)), bt, true, true);
	CHECK_SHAPE(c, 1, 2);
	CHECK_VALS(c, 58, 64);
	/* A^T A with ta: [3, 3] = [[17, 22, 27], [22, 29, 36], [27, 36, 45]]. */
	c = seqc_matmul(g, a, a, true, false);
	CHECK_SHAPE(c, 3, 3);
	CHECK_VALS(c, 17, 22, 27, 22, 29, 36, 27, 36, 45);
}
END_TEST

/* Batch 0 is A B above; batch 1 is A1 = [[0, 1, 0], [1, 0, -1]] times
 * B1 = [[1, 2], [3, 4], [5, 6]] = [[3, 4], [1 - 5, 2 - 6]] = [[3, 4], [-4, -4]]. */
START_TEST(test_matmul_batched_all_transposes)
{
	seqc_tensor *a = in(3, SHAPE(2, 2, 3), VALS(1, 2, 3, 4, 5, 6, 0, 1, 0, 1, 0, -1));
	seqc_tensor *at = in(3, SHAPE(2, 3, 2), VALS(1, 4, 2, 5, 3, 6, 0, 1, 1, 0, 0, -1));
	seqc_tensor *b = in(3, SHAPE(2, 3, 2), VALS(7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6));
	seqc_tensor *bt = in(3, SHAPE(2, 2, 3), VALS(7, 9, 11, 8, 10, 12, 1, 3, 5, 2, 4, 6));
	seqc_tensor *as[2] = { a, at }, *bs[2] = { b, bt };
	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++) {
			seqc_tensor *c = seqc_matmul(g, as[ta], bs[tb], ta, tb);
			CHECK_SHAPE(c, 2, 2, 2);
			CHECK_VALS(c, 58, 64, 139, 154, 3, 4, -4, -4);
		}
}
END_TEST

/* a of more than 2 dims is a stack of rows: [2, 1, 3] and [1, 2, 1, 3] hold
 * A's two rows, so the products hold the rows of A B. */
START_TEST(test_matmul_nd_a)
{
	seqc_tensor *b = in(2, SHAPE(3, 2), MAT_B), *bt = in(2, SHAPE(2, 3), MAT_BT);
	seqc_tensor *a3 = in(3, SHAPE(2, 1, 3), MAT_A), *a4 = in(4, SHAPE(1, 2, 1, 3), MAT_A);
	seqc_tensor *c = seqc_matmul(g, a3, b, false, false);
	CHECK_SHAPE(c, 2, 1, 2);
	CHECK_VALS(c, 58, 64, 139, 154);
	c = seqc_matmul(g, a3, bt, false, true);
	CHECK_SHAPE(c, 2, 1, 2);
	CHECK_VALS(c, 58, 64, 139, 154);
	c = seqc_matmul(g, a4, b, false, false);
	CHECK_SHAPE(c, 1, 2, 1, 2);
	CHECK_VALS(c, 58, 64, 139, 154);
}
END_TEST

/* linear(x, w, b) = x w^T + b with x = A, w = B^T (so x w^T = A B) and
 * b = [1, -1]: [[59, 63], [140, 153]]. */
START_TEST(test_linear)
{
	seqc_tensor *x = in(2, SHAPE(2, 3), MAT_A), *w = in(2, SHAPE(2, 3), MAT_BT);
	seqc_tensor *b = in(1, SHAPE(2), VALS(1, -1));
	seqc_tensor *y = seqc_linear(g, x, w, NULL);
	CHECK_SHAPE(y, 2, 2);
	CHECK_VALS(y, 58, 64, 139, 154);
	y = seqc_linear(g, x, w, b);
	CHECK_SHAPE(y, 2, 2);
	CHECK_VALS(y, 59, 63, 140, 153);
	/* One row: [4, 5, 6] w^T + b = [140, 153]. */
	y = seqc_linear(g, in(2, SHAPE(1, 3), VALS(4, 5, 6)), w, b);
	CHECK_SHAPE(y, 1, 2);
	CHECK_VALS(y, 140, 153);
	/* Leading dimensions are kept: x [2, 1, 3] -> [2, 1, 2]. */
	y = seqc_linear(g, in(3, SHAPE(2, 1, 3), MAT_A), w, b);
	CHECK_SHAPE(y, 2, 1, 2);
	CHECK_VALS(y, 59, 63, 140, 153);
}
END_TEST

/* ---- elementwise ----
 * a = [[1, 2, 3], [4, 5, 6]] against b of a's shape [[6, 5, 4], [3, 2, 1]],
 * a row [10, 20, 30] and a scalar [2]. */
START_TEST(test_binary_same_shape)
{
	seqc_tensor *a = in(2, SHAPE(2, 3), MAT_A), *b = in(2, SHAPE(2, 3), VALS(6, 5, 4, 3, 2, 1));
	seqc_tensor *y = seqc_add(g, a, b);
	CHECK_SHAPE(y, 2, 3);
	CHECK_VALS(y, 7, 7, 7, 7, 7, 7);
	y = seqc_sub(g, a, b);
	CHECK_SHAPE(y, 2, 3);
	CHECK_VALS(y, -5, -3, -1, 1, 3, 5);
	y = seqc_mul(g, a, b);
	CHECK_SHAPE(y, 2, 3);
	CHECK_VALS(y, 6, 10, 12, 12, 10, 6);
}
END_TEST

START_TEST(test_binary_row_broadcast)
{
	seqc_tensor *a = in(2, SHAPE(2, 3), MAT_A), *b = in(1, SHAPE(3), VALS(10, 20, 30));
	seqc_tensor *y = seqc_add(g, a, b);
	CHECK_SHAPE(y, 2, 3);
	CHECK_VALS(y, 11, 22, 33, 14, 25, 36);
	y = seqc_sub(g, a, b);
	CHECK_VALS(y, -9, -18, -27, -6, -15, -24);
	y = seqc_mul(g, a, b);
	CHECK_VALS(y, 10, 40, 90, 40, 100, 180);
	/* A 3-D a broadcasts the row over all of its rows. */
	y = seqc_add(g, in(3, SHAPE(2, 1, 3), MAT_A), b);
	CHECK_SHAPE(y, 2, 1, 3);
	CHECK_VALS(y, 11, 22, 33, 14, 25, 36);
}
END_TEST

START_TEST(test_binary_scalar_broadcast)
{
	seqc_tensor *a = in(2, SHAPE(2, 3), MAT_A), *b = in(1, SHAPE(1), VALS(2));
	seqc_tensor *y = seqc_add(g, a, b);
	CHECK_SHAPE(y, 2, 3);
	CHECK_VALS(y, 3, 4, 5, 6, 7, 8);
	y = seqc_sub(g, a, b);
	CHECK_VALS(y, -1, 0, 1, 2, 3, 4);
	y = seqc_mul(g, a, b);
	CHECK_VALS(y, 2, 4, 6, 8, 10, 12);
}
END_TEST

START_TEST(test_scale)
{
	seqc_tensor *y = seqc_scale(g, in(2, SHAPE(2, 3), MAT_A), 0.5f);
	CHECK_SHAPE(y, 2, 3);
	CHECK_VALS(y, 0.5f, 1, 1.5f, 2, 2.5f, 3);
	y = seqc_scale(g, in(1, SHAPE(2), VALS(1, -2)), -3.0f);
	CHECK_VALS(y, -3, 6);
}
END_TEST

/* tanh(ln 2) = (2 - 1/2) / (2 + 1/2) = 0.6; tanh saturates to +-1. */
START_TEST(test_tanh)
{
	const float l2 = (float)M_LN2;
	seqc_tensor *y = seqc_tanh(g, in(1, SHAPE(5), VALS(0, l2, -l2, 20, -20)));
	CHECK_SHAPE(y, 5);
	CHECK_VALS(y, 0, 0.6f, -0.6f, 1, -1);
}
END_TEST

/* sigmoid(0) = 1/2; sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4; sigmoid(-ln 3) =
 * 1/4; far out it is 0 or 1 without NaN. */
START_TEST(test_sigmoid)
{
	const float l3 = (float)log(3.0);
	seqc_tensor *y = seqc_sigmoid(g, in(1, SHAPE(5), VALS(0, l3, -l3, 100, -100)));
	CHECK_VALS(y, 0.5f, 0.75f, 0.25f, 1, 0);
}
END_TEST

START_TEST(test_relu)
{
	seqc_tensor *y = seqc_relu(g, in(2, SHAPE(2, 3), VALS(-2, -0.0f, 0.5f, 3, -1e-7f, 0)));
	CHECK_SHAPE(y, 2, 3);
	CHECK_VALS(y, 0, 0, 0.5f, 3, 0, 0);
}
END_TEST

/* Exact: gelu(x) = x Phi(x): gelu(1) = Phi(1) = 0.8413447460685429,
 * gelu(-1) = -Phi(-1) = -0.15865525393145707, gelu(2) = 2 Phi(2) =
 * 1.9544997361036416, gelu(0.5) = 0.34573123063700656, gelu(-3) =
 * -0.00404969409489031.
 * Tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): at 1,
 * sqrt(2/pi) 1.044715 = 0.8335614, tanh = 0.6823840, so 0.8411919906082768;
 * gelu(-x) = gelu(x) - x for both forms, so gelu(-1) = -0.15880800939172324;
 * gelu(2) = 1.954597694087775, gelu(0.5) = 0.34571400982514394, gelu(-3) =
 * -0.0036373920817729943. Both are 0 at 0. */
START_TEST(test_gelu)
{
	const float *x = VALS(0, 1, -1, 2, 0.5f, -3);
	seqc_tensor *y = seqc_gelu(g, in(1, SHAPE(6), x), SEQC_GELU_EXACT);
	CHECK_VALS(y, 0, 0.8413447460685429f, -0.15865525393145707f, 1.9544997361036416f,
		   0.34573123063700656f, -0.00404969409489031f);
	y = seqc_gelu(g, in(1, SHAPE(6), x), SEQC_GELU_TANH);
	CHECK_VALS(y, 0, 0.8411919906082768f, -0.15880800939172324f, 1.954597694087775f,
		   0.34571400982514394f, -0.0036373920817729943f);
}
END_TEST

/* ---- softmax family ----
 * softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6; log_softmax = [-ln 6, -ln 3,
 * -ln 2]. [1000, 1001] would overflow expf without the max subtracted:
 * softmax = [1 / (1 + e), e / (1 + e)] = [0.2689414213699951,
 * 0.7310585786300049], log_softmax = [-ln(1 + e), -ln(1 + 1/e)] =
 * [-1.3132616875182228, -0.31326168751822286]. */
START_TEST(test_softmax)
{
	const float l2 = (float)M_LN2, l3 = (float)log(3.0);
	seqc_tensor *y = seqc_softmax(g, in(2, SHAPE(1, 3), VALS(0, l2, l3)));
	CHECK_SHAPE(y, 1, 3);
	CHECK_VALS(y, 1.0f / 6, 1.0f / 3, 0.5f);
	y = seqc_softmax(g, in(2, SHAPE(1, 2), VALS(1000, 1001)));
	CHECK_VALS(y, 0.2689414213699951f, 0.7310585786300049f);
	/* Rows are independent: a [2, 2, 3] input holds four rows. */
	y = seqc_softmax(g, in(3, SHAPE(2, 2, 3), VALS(0, l2, l3, 5, 5, 5, l3, l2, 0, -7, -7, -7)));
	CHECK_SHAPE(y, 2, 2, 3);
	CHECK_VALS(y, 1.0f / 6, 1.0f / 3, 0.5f, 1.0f / 3, 1.0f / 3, 1.0f / 3, 0.5f, 1.0f / 3,
		   1.0f / 6, 1.0f / 3, 1.0f / 3, 1.0f / 3);
}
END_TEST

START_TEST(test_log_softmax)
{
	const float l2 = (float)M_LN2, l3 = (float)log(3.0), l6 = (float)log(6.0);
	seqc_tensor *y = seqc_log_softmax(g, in(2, SHAPE(2, 3), VALS(0, l2, l3, 1, 1, 1)));
	CHECK_SHAPE(y, 2, 3);
	CHECK_VALS(y, -l6, -l3, -l2, -l3, -l3, -l3);
	y = seqc_log_softmax(g, in(2, SHAPE(1, 2), VALS(1000, 1001)));
	CHECK_VALS(y, -1.3132616875182228f, -0.31326168751822286f);
}
END_TEST

/* ---- cross-entropy ----
 * Rows: r0 = [0, ln 2, ln 3] (p = [1/6, 1/3, 1/2]), r1 = [0, 0, 0] (p = 1/3
 * each), r2 = [5, -1, 2]. Targets r0 -> 2, r1 -> 0: losses -ln(1/2) = ln 2
 * and ln 3. r2 -> 1 costs lse(r2) + 1 = ln(e^5 + e^-1 + e^2) + 1. */
#define CE_LOGITS VALS(0, (float)M_LN2, (float)log(3.0), 0, 0, 0, 5, -1, 2)

START_TEST(test_cross_entropy_plain)
{
	int32_t t[3] = { 2, 0, 1 };
	seqc_ids ids = seqc_ids_view1(t, 3);
	seqc_tensor *x = in(2, SHAPE(3, 3), CE_LOGITS);
	double r2 = log(exp(5.0) + exp(-1.0) + exp(2.0)) + 1.0;
	seqc_tensor *loss = seqc_cross_entropy(g, x, &ids, NULL);
	CHECK_SHAPE(loss, 1);
	CHECK_VALS(loss, (float)((M_LN2 + log(3.0) + r2) / 3));
	seqc_ce_opts o = seqc_ce_defaults();
	ck_assert_int_eq(o.reduction, SEQC_REDUCE_MEAN);
	ck_assert_int_eq(o.ignore_index, -100);
	ck_assert_float_eq(o.label_smoothing, 0.0f);
	o.reduction = SEQC_REDUCE_SUM;
	loss = seqc_cross_entropy(g, x, &ids, &o);
	CHECK_VALS(loss, (float)(M_LN2 + log(3.0) + r2));
	/* Logits [1, 3, 3] with ids [1, 3] are the same rows. */
	seqc_ids ids2 = seqc_ids_view2(t, 1, 3);
	loss = seqc_cross_entropy(g, in(3, SHAPE(1, 3, 3), CE_LOGITS), &ids2, &o);
	CHECK_VALS(loss, (float)(M_LN2 + log(3.0) + r2));
	/* Large logits [1000, 1001]: -ln p = [ln(1 + e), ln(1 + 1/e)] =
	 * [1.3132616875182228, 0.31326168751822286], to float precision. */
	seqc_tensor *big = in(2, SHAPE(2, 2), VALS(1000, 1001, 1000, 1001));
	int32_t tb[2] = { 0, 1 };
	seqc_ids idb = seqc_ids_view1(tb, 2);
	loss = seqc_cross_entropy(g, big, &idb, &o);
	CHECK_VALS(loss, (float)(1.3132616875182228 + 0.31326168751822286));
}
END_TEST

/* r2's target is ignored: the mean runs over the two others only,
 * (ln 2 + ln 3) / 2 = ln 6 / 2; the sum is ln 6. The ignored value may be any
 * id (1 here, as a padding token) or the default -100. */
START_TEST(test_cross_entropy_ignore_index)
{
	seqc_tensor *x = in(2, SHAPE(3, 3), CE_LOGITS);
	int32_t t1[3] = { 2, 0, -100 }, t2[3] = { 2, 0, 1 };
	seqc_ids ids1 = seqc_ids_view1(t1, 3), ids2 = seqc_ids_view1(t2, 3);
	seqc_ce_opts o = seqc_ce_defaults();
	CHECK_VALS(seqc_cross_entropy(g, x, &ids1, &o), (float)(log(6.0) / 2));
	o.reduction = SEQC_REDUCE_SUM;
	CHECK_VALS(seqc_cross_entropy(g, x, &ids1, &o), (float)log(6.0));
	o.ignore_index = 1;
	CHECK_VALS(seqc_cross_entropy(g, x, &ids2, &o), (float)log(6.0));
	o.reduction = SEQC_REDUCE_MEAN;
	CHECK_VALS(seqc_cross_entropy(g, x, &ids2, &o), (float)(log(6.0) / 2));
	/* Every target ignored: mean is 0 by our definition (torch: NaN). */
	int32_t t3[3] = { 1, 1, 1 };
	seqc_ids ids3 = seqc_ids_view1(t3, 3);
	CHECK_VALS(seqc_cross_entropy(g, x, &ids3, &o), 0);
}
END_TEST

/* Label smoothing e = 0.3, V = 3: loss = (1 - e)(-ln p_t) + (e / V) sum_c
 * (-ln p_c). r0, t = 2: 0.7 ln 2 + 0.1 (ln 6 + ln 3 + ln 2) = 0.7 ln 2 +
 * 0.2 ln 6. r1: every -ln p_c = ln 3, so ln 3. r2 ignored. */
START_TEST(test_cross_entropy_label_smoothing)
{
	seqc_tensor *x = in(2, SHAPE(3, 3), CE_LOGITS);
	int32_t t[3] = { 2, 0, -100 };
	seqc_ids ids = seqc_ids_view1(t, 3);
	seqc_ce_opts o = seqc_ce_defaults();
	o.label_smoothing = 0.3f;
	double total = 0.7 * M_LN2 + 0.2 * log(6.0) + log(3.0);
	CHECK_VALS(seqc_cross_entropy(g, x, &ids, &o), (float)(total / 2));
	o.reduction = SEQC_REDUCE_SUM;
	CHECK_VALS(seqc_cross_entropy(g, x, &ids, &o), (float)total);
	/* e = 1: the target is uniform, loss = mean_c(-ln p_c): r0 gives
	 * ln 36 / 3, r1 ln 3. */
	o.label_smoothing = 1.0f;
	CHECK_VALS(seqc_cross_entropy(g, x, &ids, &o), (float)(log(36.0) / 3 + log(3.0)));
}
END_TEST

/* ---- layer norm ----
 * Row [1, 2, 3, 4]: mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25) / 4
 * = 1.25; with eps 0.75 the denominator is sqrt(2), so xhat = [-1.5, -0.5,
 * 0.5, 1.5] / sqrt(2) = [-1.0606602, -0.3535534, 0.3535534, 1.0606602].
 * w = [1, 2, 1, 2], b = [0, 0, 1, 1]: y = [-1.0606602, -0.7071068,
 * 1.3535534, 3.1213203]. Row [2, 2, 2, 2] has xhat 0, so y = b. */
START_TEST(test_layer_norm)
{
	seqc_tensor *x = in(2, SHAPE(2, 4), VALS(1, 2, 3, 4, 2, 2, 2, 2));
	seqc_tensor *w = in(1, SHAPE(4), VALS(1, 2, 1, 2)), *b = in(1, SHAPE(4), VALS(0, 0, 1, 1));
	seqc_tensor *y = seqc_layer_norm(g, x, w, b, 0.75f);
	CHECK_SHAPE(y, 2, 4);
	CHECK_VALS(y, -1.0606601718f, -0.7071067812f, 1.3535533906f, 3.1213203436f, 0, 0, 1, 1);
	y = seqc_layer_norm(g, x, NULL, NULL, 0.75f);
	CHECK_VALS(y, -1.0606601718f, -0.3535533906f, 0.3535533906f, 1.0606601718f, 0, 0, 0, 0);
	/* Weight alone, bias alone. */
	y = seqc_layer_norm(g, x, w, NULL, 0.75f);
	CHECK_VALS(y, -1.0606601718f, -0.7071067812f, 0.3535533906f, 2.1213203436f, 0, 0, 0, 0);
	y = seqc_layer_norm(g, x, NULL, b, 0.75f);
	CHECK_VALS(y, -1.0606601718f, -0.3535533906f, 1.3535533906f, 2.0606601718f, 0, 0, 1, 1);
	/* torch's default eps 1e-5: xhat = [-1.5, -0.5, 0.5, 1.5] / sqrt(1.25001). */
	y = seqc_layer_norm(g, x, NULL, NULL, 1e-5f);
	const float s = (float)sqrt(1.25 + 1e-5);
	CHECK_VALS(y, -1.5f / s, -0.5f / s, 0.5f / s, 1.5f / s, 0, 0, 0, 0);
}
END_TEST

/* ---- embedding ----
 * table [4, 2] = [[0, 1], [10, 11], [20, 21], [30, 31]]; ids [[3, 0, 1], [2, 2, 0]]
 * gather rows; the padding row still reads its values, as in torch. */
START_TEST(test_embedding)
{
	seqc_tensor *table = in(2, SHAPE(4, 2), VALS(0, 1, 10, 11, 20, 21, 30, 31));
	int32_t id[6] = { 3, 0, 1, 2, 2, 0 };
	seqc_ids ids2 = seqc_ids_view2(id, 2, 3), ids1 = seqc_ids_view1(id, 6);
	seqc_tensor *y = seqc_embedding(g, table, &ids2, -1);
	CHECK_SHAPE(y, 2, 3, 2);
	CHECK_VALS(y, 30, 31, 0, 1, 10, 11, 20, 21, 20, 21, 0, 1);
	y = seqc_embedding(g, table, &ids1, 0);
	CHECK_SHAPE(y, 6, 2);
	CHECK_VALS(y, 30, 31, 0, 1, 10, 11, 20, 21, 20, 21, 0, 1);
}
END_TEST

/* ---- dropout ---- */

START_TEST(test_dropout_identity)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 5, SEQC_STREAM_DROPOUT);
	seqc_tensor *x = in(2, SHAPE(2, 3), MAT_A);
	/* p = 0: the same tensor back, and no draw taken. */
	seqc_rng before = rng;
	ck_assert_ptr_eq(seqc_dropout(g, x, 0.0f, &rng), x);
	ck_assert_uint_eq(rng.state, before.state);
	/* Evaluation mode: identity whatever p. */
	ck_assert(seqc_graph_set_training(g, false));
	ck_assert(!seqc_graph_training(g));
	ck_assert_ptr_eq(seqc_dropout(g, x, 0.5f, &rng), x);
	CHECK_VALS(x, 1, 2, 3, 4, 5, 6);
	ck_assert(!seqc_graph_set_training(g, true));
}
END_TEST

/* Training mode, p = 0.25 on 20000 ones: every output is 0 or 1 / 0.75; the
 * dropped fraction is binomial with std sqrt(0.25 * 0.75 / 20000) = 0.0031,
 * so 0.25 +- 0.015 is a 5-sigma band. */
START_TEST(test_dropout_training)
{
	enum { N = 20000 };
	const float p = 0.25f, keep = 1.0f / 0.75f;
	seqc_tensor *x = seqc_graph_tensor(g, 1, SHAPE(N), false);
	ck_assert_ptr_nonnull(x);
	for (size_t i = 0; i < N; i++)
		x->val[i] = 1.0f + (float)(i % 7);
	seqc_rng rng;
	seqc_rng_seed(&rng, 42, SEQC_STREAM_DROPOUT);
	seqc_tensor *y = seqc_dropout(g, x, p, &rng);
	ck_assert_ptr_nonnull(y);
	ck_assert_ptr_ne(y, x);
	CHECK_SHAPE(y, N);
	size_t dropped = 0, wrong = 0;
	for (size_t i = 0; i < N; i++) {
		if (y->val[i] == 0.0f)
			dropped++;
		else if (fabsf(y->val[i] - x->val[i] * keep) > 1e-6f * y->val[i])
			wrong++;
	}
	ck_assert_msg(wrong == 0, "%zu kept elements are not x / (1 - p)", wrong);
	double frac = (double)dropped / N;
	ck_assert_msg(fabs(frac - 0.25) < 0.015, "dropped fraction %g, expected 0.25", frac);

	/* Same seed, same mask; another seed, another mask. */
	seqc_rng_seed(&rng, 42, SEQC_STREAM_DROPOUT);
	seqc_tensor *y2 = seqc_dropout(g, x, p, &rng);
	ck_assert_mem_eq(y2->val, y->val, N * sizeof(float));
	seqc_rng_seed(&rng, 43, SEQC_STREAM_DROPOUT);
	seqc_tensor *y3 = seqc_dropout(g, x, p, &rng);
	ck_assert(memcmp(y3->val, y->val, N * sizeof(float)) != 0);
}
END_TEST

/* ---- views and shape ops ---- */

START_TEST(test_reshape_shares_buffers)
{
	seqc_tensor *x = seqc_graph_tensor(g, 2, SHAPE(2, 3), true);
	ck_assert_ptr_nonnull(x);
	memcpy(x->val, MAT_A, sizeof(float) * 6);
	seqc_tensor *y = seqc_reshape(g, x, 3, SHAPE(3, 1, 2));
	CHECK_SHAPE(y, 3, 1, 2);
	ck_assert_uint_eq(y->numel, 6);
	ck_assert_ptr_eq(y->val, x->val);
	ck_assert_ptr_eq(y->grad, x->grad);
	CHECK_VALS(y, 1, 2, 3, 4, 5, 6);
	/* A write through the view is a write to x. */
	y->val[5] = 60;
	ck_assert_float_eq(x->val[5], 60);
	ck_assert_int_eq(x->ndim, 2);
}
END_TEST

/* [[1, 2, 3], [4, 5, 6]]^T = [[1, 4], [2, 5], [3, 6]]; a [2, 2, 3] input
 * transposes each of its two matrices. */
START_TEST(test_transpose)
{
	seqc_tensor *y = seqc_transpose(g, in(2, SHAPE(2, 3), MAT_A));
	CHECK_SHAPE(y, 3, 2);
	CHECK_VALS(y, 1, 4, 2, 5, 3, 6);
	y = seqc_transpose(g, in(3, SHAPE(2, 2, 3), VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)));
	CHECK_SHAPE(y, 2, 3, 2);
	CHECK_VALS(y, 1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12);
	/* 4-D: only the last two axes swap. */
	y = seqc_transpose(g, in(4, SHAPE(2, 1, 1, 2), VALS(1, 2, 3, 4)));
	CHECK_SHAPE(y, 2, 1, 2, 1);
	CHECK_VALS(y, 1, 2, 3, 4);
}
END_TEST

/* a [2, 2, 2] = 1..8 and b [2, 2, 2] = 11..18:
 * axis 0 stacks them; axis 1 puts b's two rows after a's in each block;
 * axis 2 puts b's pairs after a's in each row. */
START_TEST(test_concat_each_axis)
{
	seqc_tensor *a = in(3, SHAPE(2, 2, 2), VALS(1, 2, 3, 4, 5, 6, 7, 8));
	seqc_tensor *b = in(3, SHAPE(2, 2, 2), VALS(11, 12, 13, 14, 15, 16, 17, 18));
	seqc_tensor *xs[2] = { a, b };
	seqc_tensor *y = seqc_concat(g, xs, 2, 0);
	CHECK_SHAPE(y, 4, 2, 2);
	CHECK_VALS(y, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 17, 18);
	y = seqc_concat(g, xs, 2, 1);
	CHECK_SHAPE(y, 2, 4, 2);
	CHECK_VALS(y, 1, 2, 3, 4, 11, 12, 13, 14, 5, 6, 7, 8, 15, 16, 17, 18);
	y = seqc_concat(g, xs, 2, 2);
	CHECK_SHAPE(y, 2, 2, 4);
	CHECK_VALS(y, 1, 2, 11, 12, 3, 4, 13, 14, 5, 6, 15, 16, 7, 8, 17, 18);

	/* Unequal sizes along the axis, three inputs: [2, 1] | [2, 2] | [2, 1]. */
	seqc_tensor *ys[3] = { in(2, SHAPE(2, 1), VALS(1, 2)), in(2, SHAPE(2, 2), VALS(3, 4, 5, 6)),
			       in(2, SHAPE(2, 1), VALS(7, 8)) };
	y = seqc_concat(g, ys, 3, 1);
	CHECK_SHAPE(y, 2, 4);
	CHECK_VALS(y, 1, 3, 4, 7, 2, 5, 6, 8);
	/* One input: a copy. */
	y = seqc_concat(g, ys, 1, 0);
	CHECK_SHAPE(y, 2, 1);
	CHECK_VALS(y, 1, 2);
}
END_TEST

/* x [2, 3, 4] = 0..23 (x[i][j][k] = 12 i + 4 j + k). */
START_TEST(test_slice_each_axis)
{
	float v[24];
	for (int i = 0; i < 24; i++)
		v[i] = (float)i;
	seqc_tensor *x = in(3, SHAPE(2, 3, 4), v);
	seqc_tensor *y = seqc_slice(g, x, 0, 1, 1);
	CHECK_SHAPE(y, 1, 3, 4);
	CHECK_VALS(y, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
	y = seqc_slice(g, x, 1, 1, 2);
	CHECK_SHAPE(y, 2, 2, 4);
	CHECK_VALS(y, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23);
	y = seqc_slice(g, x, 2, 1, 2);
	CHECK_SHAPE(y, 2, 3, 2);
	CHECK_VALS(y, 1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22);
	/* The whole axis, and its last element. */
	y = seqc_slice(g, x, 2, 0, 4);
	ck_assert_mem_eq(y->val, v, sizeof v);
	y = seqc_slice(g, x, 1, 2, 1);
	CHECK_SHAPE(y, 2, 1, 4);
	CHECK_VALS(y, 8, 9, 10, 11, 20, 21, 22, 23);
}
END_TEST

/* 1 + ... + 6 = 21, mean 3.5. */
START_TEST(test_sum_mean)
{
	seqc_tensor *x = in(2, SHAPE(2, 3), MAT_A);
	seqc_tensor *s = seqc_sum(g, x), *m = seqc_mean(g, x);
	CHECK_SHAPE(s, 1);
	CHECK_VALS(s, 21);
	CHECK_SHAPE(m, 1);
	CHECK_VALS(m, 3.5f);
	CHECK_VALS(seqc_mean(g, in(1, SHAPE(4), VALS(-1, 1, -3, 7))), 1);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seq_ops_forward");
	TCase *tc = tcase_create("forward");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_matmul_2d_all_transposes);
	tcase_add_test(tc, test_matmul_batched_all_transposes);
	tcase_add_test(tc, test_matmul_nd_a);
	tcase_add_test(tc, test_linear);
	tcase_add_test(tc, test_binary_same_shape);
	tcase_add_test(tc, test_binary_row_broadcast);
	tcase_add_test(tc, test_binary_scalar_broadcast);
	tcase_add_test(tc, test_scale);
	tcase_add_test(tc, test_tanh);
	tcase_add_test(tc, test_sigmoid);
	tcase_add_test(tc, test_relu);
	tcase_add_test(tc, test_gelu);
	tcase_add_test(tc, test_softmax);
	tcase_add_test(tc, test_log_softmax);
	tcase_add_test(tc, test_cross_entropy_plain);
	tcase_add_test(tc, test_cross_entropy_ignore_index);
	tcase_add_test(tc, test_cross_entropy_label_smoothing);
	tcase_add_test(tc, test_layer_norm);
	tcase_add_test(tc, test_embedding);
	tcase_add_test(tc, test_dropout_identity);
	tcase_add_test(tc, test_dropout_training);
	tcase_add_test(tc, test_reshape_shares_buffers);
	tcase_add_test(tc, test_transpose);
	tcase_add_test(tc, test_concat_each_axis);
	tcase_add_test(tc, test_slice_each_axis);
	tcase_add_test(tc, test_sum_mean);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
