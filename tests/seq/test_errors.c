/* Error paths: each bad input gives NULL or a negative code, the right
 * SEQC_E* code, and a message that names the op; a NULL input propagates.
 *
 * Ops return NULL, not a code, and the library keeps only the message. To
 * see the code anyway, this test is linked with -Wl,--wrap=seqc_error
 * (tests/seq/meson.build): every seqc_error call inside the static library
 * comes through __wrap_seqc_error below, which records the code and hands
 * the message on. Without that linker option (SEQC_TEST_WRAP_ERROR unset)
 * only the messages are checked. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "common.h"

static int last_code;

#ifdef SEQC_TEST_WRAP_ERROR
int __real_seqc_error(int code, const char *fmt, ...);
int __wrap_seqc_error(int code, const char *fmt, ...);

int __wrap_seqc_error(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	last_code = code;
	return __real_seqc_error(code, "%s", msg);
}
#define HAVE_CODES 1
#else
#define HAVE_CODES 0
#endif

/* Clears the message and code before the call under test. */
static void clear(void)
{
	seqc_error_clear();
	last_code = 0;
}

/* expr must be NULL, with the code (when visible) and a message naming op. */
#define EXPECT_NULL(expr, code, op)                                                    \
	do {                                                                           \
		clear();                                                               \
		const void *r_ = (expr);                                               \
		ck_assert_msg(r_ == NULL, "%s did not fail", #expr);                   \
		if (HAVE_CODES)                                                        \
			ck_assert_msg(last_code == (code), "%s: code %d (%s), expected %d (%s)", \
				      #expr, last_code, seqc_strerror(last_code), (code),    \
				      seqc_strerror(code));                            \
		CHECK_ERRMSG(op);                                                      \
	} while (0)

/* expr must return code, with a message naming op. */
#define EXPECT_CODE(expr, code, op)                                                    \
	do {                                                                           \
		clear();                                                               \
		int rc_ = (expr);                                                      \
		ck_assert_msg(rc_ == (code), "%s returned %d, expected %d", #expr, rc_, (code)); \
		CHECK_ERRMSG(op);                                                      \
	} while (0)

static seqc_graph *g;

static void setup(void)
{
	g = seqc_graph_create(0);
	ck_assert_ptr_nonnull(g);
}

static void teardown(void)
{
	seqc_graph_destroy(g);
}

static seqc_tensor *t(int ndim, const size_t *shape)
{
	seqc_tensor *x = seqc_graph_tensor(g, ndim, shape, true);
	ck_assert_ptr_nonnull(x);
	return x;
}

START_TEST(test_strerror)
{
	ck_assert_str_eq(seqc_strerror(SEQC_OK), "success");
	for (int code = SEQC_EINVAL; code >= SEQC_EUNSUPPORTED; code--) {
		ck_assert_ptr_nonnull(seqc_strerror(code));
		ck_assert_str_ne(seqc_strerror(code), "unknown error");
	}
	ck_assert_str_eq(seqc_strerror(-1000), "unknown error");
	ck_assert_int_eq(seqc_error(SEQC_EIO, "file %s: %d", "x.bin", 3), SEQC_EIO);
	ck_assert_str_eq(seqc_errmsg(), "file x.bin: 3");
	seqc_error_clear();
	ck_assert_str_eq(seqc_errmsg(), "");
}
END_TEST

START_TEST(test_matmul_linear_shapes)
{
	EXPECT_NULL(seqc_matmul(g, t(2, SHAPE(2, 3)), t(2, SHAPE(4, 2)), false, false), SEQC_ESHAPE,
		    "matmul");
	/* Each flag changes which dimension must agree. */
	EXPECT_NULL(seqc_matmul(g, t(2, SHAPE(2, 3)), t(2, SHAPE(3, 2)), true, false), SEQC_ESHAPE,
		    "matmul");
	EXPECT_NULL(seqc_matmul(g, t(2, SHAPE(2, 3)), t(2, SHAPE(3, 2)), false, true), SEQC_ESHAPE,
		    "matmul");
	EXPECT_NULL(seqc_matmul(g, t(3, SHAPE(2, 2, 3)), t(3, SHAPE(3, 3, 2)), false, false),
		    SEQC_ESHAPE, "matmul");
	EXPECT_NULL(seqc_matmul(g, t(3, SHAPE(2, 2, 3)), t(2, SHAPE(2, 4)), true, false), SEQC_ESHAPE,
		    "matmul");
	EXPECT_NULL(seqc_matmul(g, t(2, SHAPE(2, 3)), t(1, SHAPE(3)), false, false), SEQC_ESHAPE,
		    "matmul");
	EXPECT_NULL(seqc_matmul(g, t(2, SHAPE(2, 3)), t(3, SHAPE(1, 3, 2)), false, false), SEQC_ESHAPE,
		    "matmul");

	EXPECT_NULL(seqc_linear(g, t(2, SHAPE(2, 3)), t(2, SHAPE(4, 5)), NULL), SEQC_ESHAPE, "linear");
	EXPECT_NULL(seqc_linear(g, t(2, SHAPE(2, 3)), t(2, SHAPE(4, 3)), t(1, SHAPE(3))), SEQC_ESHAPE,
		    "linear");
	EXPECT_NULL(seqc_linear(g, t(2, SHAPE(2, 3)), t(2, SHAPE(4, 3)), t(2, SHAPE(1, 4))), SEQC_ESHAPE,
		    "linear");
	EXPECT_NULL(seqc_linear(g, t(2, SHAPE(2, 3)), t(3, SHAPE(1, 4, 3)), NULL), SEQC_ESHAPE, "linear");
}
END_TEST

START_TEST(test_binary_shapes)
{
	seqc_tensor *a = t(2, SHAPE(2, 3));
	/* Same numel, other shape; a row of the wrong length; a 2-D row. */
	EXPECT_NULL(seqc_add(g, a, t(2, SHAPE(3, 2))), SEQC_ESHAPE, "add");
	EXPECT_NULL(seqc_sub(g, a, t(1, SHAPE(2))), SEQC_ESHAPE, "sub");
	EXPECT_NULL(seqc_mul(g, a, t(2, SHAPE(2, 1))), SEQC_ESHAPE, "mul");
	/* Broadcasting goes one way: a must be the larger. */
	EXPECT_NULL(seqc_add(g, t(1, SHAPE(3)), a), SEQC_ESHAPE, "add");
	EXPECT_NULL(seqc_gelu(g, a, (seqc_gelu_kind)7), SEQC_EINVAL, "gelu");
}
END_TEST

START_TEST(test_embedding_ids)
{
	seqc_tensor *table = t(2, SHAPE(4, 3));
	int32_t over[3] = { 0, 4, 1 }, neg[2] = { 2, -1 }, big[1] = { INT32_MAX };
	seqc_ids a = seqc_ids_view1(over, 3), b = seqc_ids_view2(neg, 1, 2), c = seqc_ids_view1(big, 1);
	EXPECT_NULL(seqc_embedding(g, table, &a, -1), SEQC_ERANGE, "embedding");
	CHECK_ERRMSG("4");
	/* -1 is out of range even though padding_idx -1 means "no padding". */
	EXPECT_NULL(seqc_embedding(g, table, &b, -1), SEQC_ERANGE, "embedding");
	CHECK_ERRMSG("-1");
	EXPECT_NULL(seqc_embedding(g, table, &c, -1), SEQC_ERANGE, "embedding");
	EXPECT_NULL(seqc_embedding(g, t(3, SHAPE(4, 3, 1)), &a, -1), SEQC_ESHAPE, "embedding");
}
END_TEST

START_TEST(test_cross_entropy_args)
{
	seqc_tensor *x = t(2, SHAPE(3, 5));
	int32_t over[3] = { 0, 5, 1 }, neg[3] = { 0, -1, 1 }, ok[3] = { 0, 1, 2 };
	seqc_ids a = seqc_ids_view1(over, 3), b = seqc_ids_view1(neg, 3), c = seqc_ids_view1(ok, 3);
	seqc_ids two = seqc_ids_view1(ok, 2);
	EXPECT_NULL(seqc_cross_entropy(g, x, &a, NULL), SEQC_ERANGE, "cross_entropy");
	CHECK_ERRMSG("5");
	EXPECT_NULL(seqc_cross_entropy(g, x, &b, NULL), SEQC_ERANGE, "cross_entropy");
	EXPECT_NULL(seqc_cross_entropy(g, x, &two, NULL), SEQC_ESHAPE, "cross_entropy");
	seqc_ce_opts o = seqc_ce_defaults();
	o.label_smoothing = 1.5f;
	EXPECT_NULL(seqc_cross_entropy(g, x, &c, &o), SEQC_EINVAL, "cross_entropy");
	o.label_smoothing = NAN;
	EXPECT_NULL(seqc_cross_entropy(g, x, &c, &o), SEQC_EINVAL, "cross_entropy");
	o.label_smoothing = -0.1f;
	EXPECT_NULL(seqc_cross_entropy(g, x, &c, &o), SEQC_EINVAL, "cross_entropy");
	o = seqc_ce_defaults();
	o.reduction = (seqc_reduction)5;
	EXPECT_NULL(seqc_cross_entropy(g, x, &c, &o), SEQC_EINVAL, "cross_entropy");
}
END_TEST

START_TEST(test_dropout_p)
{
	seqc_tensor *x = t(2, SHAPE(2, 3));
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_DROPOUT);
	EXPECT_NULL(seqc_dropout(g, x, 1.0f, &rng), SEQC_EINVAL, "dropout");
	EXPECT_NULL(seqc_dropout(g, x, NAN, &rng), SEQC_EINVAL, "dropout");
	EXPECT_NULL(seqc_dropout(g, x, -0.1f, &rng), SEQC_EINVAL, "dropout");
	EXPECT_NULL(seqc_dropout(g, x, INFINITY, &rng), SEQC_EINVAL, "dropout");
	EXPECT_NULL(seqc_dropout(g, x, 0.5f, NULL), SEQC_EINVAL, "dropout");
	/* A bad p is refused in evaluation mode too, not silently ignored. */
	seqc_graph_set_training(g, false);
	EXPECT_NULL(seqc_dropout(g, x, 1.0f, &rng), SEQC_EINVAL, "dropout");
}
END_TEST

START_TEST(test_layer_norm_args)
{
	seqc_tensor *x = t(2, SHAPE(2, 4));
	EXPECT_NULL(seqc_layer_norm(g, x, NULL, NULL, 0.0f), SEQC_EINVAL, "layer_norm");
	EXPECT_NULL(seqc_layer_norm(g, x, NULL, NULL, -1e-5f), SEQC_EINVAL, "layer_norm");
	EXPECT_NULL(seqc_layer_norm(g, x, NULL, NULL, NAN), SEQC_EINVAL, "layer_norm");
	EXPECT_NULL(seqc_layer_norm(g, x, NULL, NULL, INFINITY), SEQC_EINVAL, "layer_norm");
	EXPECT_NULL(seqc_layer_norm(g, x, t(1, SHAPE(3)), NULL, 1e-5f), SEQC_ESHAPE, "layer_norm");
	EXPECT_NULL(seqc_layer_norm(g, x, NULL, t(2, SHAPE(1, 4)), 1e-5f), SEQC_ESHAPE, "layer_norm");
}
END_TEST

START_TEST(test_shape_ops)
{
	seqc_tensor *x = t(3, SHAPE(2, 3, 4));
	EXPECT_NULL(seqc_slice(g, x, 1, 2, 2), SEQC_ERANGE, "slice");
	EXPECT_NULL(seqc_slice(g, x, 2, 4, 1), SEQC_ERANGE, "slice");
	EXPECT_NULL(seqc_slice(g, x, 0, 0, 0), SEQC_ERANGE, "slice");
	EXPECT_NULL(seqc_slice(g, x, 0, SIZE_MAX, 2), SEQC_ERANGE, "slice");
	EXPECT_NULL(seqc_slice(g, x, 0, 1, SIZE_MAX), SEQC_ERANGE, "slice");
	EXPECT_NULL(seqc_slice(g, x, 3, 0, 1), SEQC_EINVAL, "slice");
	EXPECT_NULL(seqc_slice(g, x, -1, 0, 1), SEQC_EINVAL, "slice");

	EXPECT_NULL(seqc_reshape(g, x, 2, SHAPE(5, 5)), SEQC_ESHAPE, "reshape");
	EXPECT_NULL(seqc_reshape(g, x, 2, SHAPE(0, 5)), SEQC_ESHAPE, "reshape");
	EXPECT_NULL(seqc_reshape(g, x, 5, SHAPE(1, 2, 3, 4, 1)), SEQC_ESHAPE, "reshape");

	EXPECT_NULL(seqc_transpose(g, t(1, SHAPE(4))), SEQC_ESHAPE, "transpose");

	seqc_tensor *ys[2] = { x, t(3, SHAPE(2, 2, 4)) };
	EXPECT_NULL(seqc_concat(g, ys, 2, 0), SEQC_ESHAPE, "concat");
	EXPECT_NULL(seqc_concat(g, ys, 2, 2), SEQC_ESHAPE, "concat");
	EXPECT_NULL(seqc_concat(g, ys, 2, 3), SEQC_EINVAL, "concat");
	EXPECT_NULL(seqc_concat(g, ys, 0, 0), SEQC_EINVAL, "concat");
	EXPECT_NULL(seqc_concat(g, NULL, 2, 0), SEQC_EINVAL, "concat");
	seqc_tensor *zs[2] = { x, t(2, SHAPE(2, 3)) };
	EXPECT_NULL(seqc_concat(g, zs, 2, 0), SEQC_ESHAPE, "concat");
}
END_TEST

/* Shapes whose element count overflows (or exceeds SEQC_MAX_NUMEL) are
 * ENOMEM before any allocation; a zero or a bad rank is ESHAPE. */
START_TEST(test_absurd_shapes)
{
	const size_t half = SIZE_MAX / 2 + 1; /* 2^63: times 2 wraps to 0 */
	EXPECT_NULL(seqc_tensor_create(2, SHAPE(half, 2), false), SEQC_ENOMEM, "tensor");
	EXPECT_NULL(seqc_tensor_create(4, SHAPE(65536, 65536, 65536, 65536), true), SEQC_ENOMEM,
		    "tensor");
	EXPECT_NULL(seqc_tensor_create(2, SHAPE(SIZE_MAX, SIZE_MAX), false), SEQC_ENOMEM, "tensor");
	EXPECT_NULL(seqc_tensor_create(1, SHAPE(SEQC_MAX_NUMEL + 1), false), SEQC_ENOMEM, "tensor");
	EXPECT_NULL(seqc_tensor_create(2, SHAPE(3, 0), false), SEQC_ESHAPE, "tensor");
	CHECK_ERRMSG("dimension 1");
	EXPECT_NULL(seqc_tensor_create(0, SHAPE(3), false), SEQC_ESHAPE, "tensor");
	EXPECT_NULL(seqc_tensor_create(5, SHAPE(1, 1, 1, 1, 1), false), SEQC_ESHAPE, "tensor");

	size_t n = 123;
	EXPECT_CODE(seqc_shape_numel(2, SHAPE(half, 2), &n, "weights"), SEQC_ENOMEM, "weights");
	EXPECT_CODE(seqc_shape_numel(3, SHAPE(2, 0, 2), &n, "weights"), SEQC_ESHAPE, "weights");
	ck_assert_uint_eq(n, 123); /* untouched on failure */
	ck_assert_int_eq(seqc_shape_numel(4, SHAPE(2, 3, 4, 5), &n, "weights"), 0);
	ck_assert_uint_eq(n, 120);

	EXPECT_NULL(seqc_ids_create(3, SHAPE(1, 2, 3)), SEQC_ESHAPE, "ids");
	EXPECT_NULL(seqc_ids_create(2, SHAPE(half, 4)), SEQC_ENOMEM, "ids");
	EXPECT_NULL(seqc_graph_tensor(g, 2, SHAPE(half, 2), true), SEQC_ENOMEM, "graph");
	EXPECT_NULL(seqc_graph_alloc(g, SIZE_MAX - 10), SEQC_ENOMEM, "graph");
	/* The graph still works after refusing. */
	ck_assert_ptr_nonnull(seqc_graph_tensor(g, 1, SHAPE(4), true));
}
END_TEST

/* An op given NULL returns NULL and keeps the first failure's message, so a
 * model can check once at the end. */
START_TEST(test_null_propagation)
{
	seqc_tensor *x = t(2, SHAPE(2, 3)), *w = t(2, SHAPE(3, 3)), *row = t(1, SHAPE(3));
	int32_t id[2] = { 0, 1 };
	seqc_ids ids = seqc_ids_view1(id, 2);
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, 1);
	seqc_tensor *xs[2] = { x, NULL };

	clear();
	seqc_error(SEQC_EINVAL, "first failure");
	const void *results[] = {
		seqc_matmul(g, NULL, w, false, false),
		seqc_matmul(g, x, NULL, false, false),
		seqc_linear(g, NULL, w, NULL),
		seqc_linear(g, x, NULL, NULL),
		seqc_add(g, NULL, x),
		seqc_sub(g, x, NULL),
		seqc_mul(g, NULL, NULL),
		seqc_scale(g, NULL, 2),
		seqc_tanh(g, NULL),
		seqc_sigmoid(g, NULL),
		seqc_relu(g, NULL),
		seqc_gelu(g, NULL, SEQC_GELU_EXACT),
		seqc_gelu(g, NULL, SEQC_GELU_TANH),
		seqc_softmax(g, NULL),
		seqc_log_softmax(g, NULL),
		seqc_cross_entropy(g, NULL, &ids, NULL),
		seqc_cross_entropy(g, x, NULL, NULL),
		seqc_layer_norm(g, NULL, row, row, 1e-5f),
		seqc_embedding(g, NULL, &ids, -1),
		seqc_embedding(g, w, NULL, -1),
		seqc_dropout(g, NULL, 0.5f, &rng),
		seqc_reshape(g, NULL, 1, SHAPE(6)),
		seqc_transpose(g, NULL),
		seqc_concat(g, xs, 2, 0),
		seqc_slice(g, NULL, 0, 0, 1),
		seqc_sum(g, NULL),
		seqc_mean(g, NULL),
		seqc_detach(g, NULL),
	};
	for (size_t i = 0; i < sizeof results / sizeof results[0]; i++)
		ck_assert_msg(results[i] == NULL, "call %zu did not return NULL", i);
	ck_assert_str_eq(seqc_errmsg(), "first failure");

	/* A chain: the failing op's message survives to the end. */
	clear();
	seqc_tensor *loss = seqc_mean(g, seqc_tanh(g, seqc_linear(g, x, t(2, SHAPE(3, 4)), NULL)));
	ck_assert_ptr_null(loss);
	CHECK_ERRMSG("linear");
	ck_assert_int_eq(seqc_backward(g, loss), SEQC_EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seq_errors");
	TCase *tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_matmul_linear_shapes);
	tcase_add_test(tc, test_binary_shapes);
	tcase_add_test(tc, test_embedding_ids);
	tcase_add_test(tc, test_cross_entropy_args);
	tcase_add_test(tc, test_dropout_p);
	tcase_add_test(tc, test_layer_norm_args);
	tcase_add_test(tc, test_shape_ops);
	tcase_add_test(tc, test_absurd_shapes);
	tcase_add_test(tc, test_null_propagation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
