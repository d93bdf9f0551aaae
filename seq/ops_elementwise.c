/* Elementwise ops: add, sub, mul with a broadcast bias row or scalar; scale;
 * tanh, sigmoid, relu, gelu. Forward assigns, backward accumulates. */
#include <math.h>

#include "seq/fastmath.h"
#include "seq/graph_internal.h"
#include "seq/ops.h"

/* ---- binary ops with broadcasting ---- */

/* Elements per piece of a long loop split over the threads. */
#define SPAN 4096

enum { BIN_ADD, BIN_SUB, BIN_MUL };
static const char *const bin_names[] = { "add", "sub", "mul" };

static inline float bin_apply(int op, float a, float b)
{
	return op == BIN_ADD ? a + b : op == BIN_SUB ? a - b : a * b;
}

/* b is paired with a row by row: b has a's shape (one row of numel), is a
 * row of period = C, or a scalar (period 1, broadcast to one row of n).
 * Whole rows, so no index needs a division per element. */
static size_t bin_cols(size_t n, size_t period)
{
	return period == 1 ? n : period;
}

/* y = a op b over rows [r0, r1) of cols. */
static void bin_rows(int op, const float *a, const float *b, float *y, size_t r0, size_t r1,
		     size_t cols, bool scalar)
{
	for (size_t r = r0; r < r1; r++) {
		const float *ar = a + r * cols;
		float *yr = y + r * cols;
		if (scalar)
			for (size_t c = 0; c < cols; c++)
				yr[c] = bin_apply(op, ar[c], b[0]);
		else
			for (size_t c = 0; c < cols; c++)
				yr[c] = bin_apply(op, ar[c], b[c]);
	}
}

/* b's gradient: d (dy, times a for mul) summed over the rows; a scalar b
 * takes the sum of every element. */
static void bin_grad_b(int op, const float *a, const float *dy, float *db, size_t n, size_t cols,
		       bool scalar)
{
	float sign = op == BIN_SUB ? -1.0f : 1.0f;
	double total = 0;
	for (size_t r = 0; r < n / cols; r++) {
		const float *ar = a + r * cols, *dyr = dy + r * cols;
		if (scalar)
			for (size_t c = 0; c < cols; c++)
				total += op == BIN_MUL ? dyr[c] * ar[c] : sign * dyr[c];
		else
			for (size_t c = 0; c < cols; c++)
				db[c] += op == BIN_MUL ? dyr[c] * ar[c] : sign * dyr[c];
	}
	if (scalar)
		db[0] += (float)total;
}

static void binary_backward(seqc_node *node)
{
	seqc_tensor *a = node->in[0], *b = node->in[1], *y = node->out;
	int op = (int)node->i[0];
	size_t n = y->numel, period = b->numel, cols = bin_cols(n, period);
	bool scalar = period == 1 && n > 1;
	const float *dy = y->grad;
	if (a->grad) {
		if (op == BIN_MUL)
			for (size_t r = 0; r < n / cols; r++)
				for (size_t c = 0; c < cols; c++)
					a->grad[r * cols + c] +=
						dy[r * cols + c] * b->val[scalar ? 0 : c];
		else
			for (size_t i = 0; i < n; i++)
				a->grad[i] += dy[i];
	}
	if (b->grad)
		bin_grad_b(op, a->val, dy, b->grad, n, cols, scalar);
}

static seqc_tensor *binary(seqc_graph *g, seqc_tensor *a, seqc_tensor *b, int op)
{
	char sa[64], sb[64];
	if (!a || !b)
		return NULL;
	bool same = seqc_tensor_same_shape(a, b);
	bool row = b->ndim == 1 && b->shape[0] == seqc_tensor_cols(a);
	bool scalar = b->numel == 1;
	if (!same && !row && !scalar) {
		seqc_error(SEQC_ESHAPE, "%s: b %s is neither a's shape %s, a row of %zu, nor a scalar",
			   bin_names[op], seqc_shape_str(b, sb, sizeof sb),
			   seqc_shape_str(a, sa, sizeof sa), seqc_tensor_cols(a));
		return NULL;
	}
	seqc_tensor *in[2] = { a, b };
	bool grad = seqc_graph_wants_grad(g, in, 2);
	seqc_tensor *y = seqc_graph_output(g, a->ndim, a->shape, grad);
	if (!y)
		return NULL;
	size_t n = a->numel, cols = bin_cols(n, b->numel), rows = n / cols;
	bool bscalar = b->numel == 1 && n > 1;
	if (rows == 1) {
		/* one long row (same shapes): split it over the threads */
		size_t spans = (n + SPAN - 1) / SPAN;
#pragma omp parallel for if (n > SEQC_PAR_MIN)
		for (size_t sp = 0; sp < spans; sp++) {
			size_t at = sp * SPAN, len = n - at < SPAN ? n - at : SPAN;
			bin_rows(op, a->val + at, bscalar ? b->val : b->val + at, y->val + at, 0, 1,
				 len, bscalar);
		}
	} else {
#pragma omp parallel for if (n > SEQC_PAR_MIN)
		for (size_t r = 0; r < rows; r++)
			bin_rows(op, a->val, b->val, y->val, r, r + 1, cols, bscalar);
	}
	if (grad) {
		seqc_node *node = seqc_graph_record(g, bin_names[op], binary_backward, y, in, 2);
		if (!node)
			return NULL;
		node->i[0] = op;
	}
	return y;
}

seqc_tensor *seqc_add(seqc_graph *g, seqc_tensor *a, seqc_tensor *b)
{
	return binary(g, a, b, BIN_ADD);
}

seqc_tensor *seqc_sub(seqc_graph *g, seqc_tensor *a, seqc_tensor *b)
{
	return binary(g, a, b, BIN_SUB);
}

seqc_tensor *seqc_mul(seqc_graph *g, seqc_tensor *a, seqc_tensor *b)
{
	return binary(g, a, b, BIN_MUL);
}

/* ---- unary ops ---- */

enum { UN_SCALE, UN_TANH, UN_SIGMOID, UN_RELU, UN_GELU_EXACT, UN_GELU_TANH };
static const char *const un_names[] = { "scale", "tanh", "sigmoid", "relu", "gelu", "gelu_tanh" };

static inline float gelu_exact_grad(float x)
{
	/* d/dx x Phi(x) = Phi(x) + x phi(x) */
	return 0.5f * (1.0f + erff(x * (float)M_SQRT1_2)) +
	       x * expf(-0.5f * x * x) * 0.3989422804014327f;
}

SEQC_SIMD_CLONES static void gelu_tanh_span(const float *x, float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = seqc_fast_gelu_tanh(x[i]);
}

SEQC_SIMD_CLONES static void gelu_tanh_grad_span(const float *x, const float *dy, float *dx,
						 size_t n)
{
	for (size_t i = 0; i < n; i++)
		dx[i] += dy[i] * seqc_fast_gelu_tanh_grad(x[i]);
}

/* ReLU as a select, not a branch, so the loops vectorize; both are exact.
 * Backward reads y: y > 0 exactly where x > 0. */
SEQC_SIMD_CLONES static void relu_span(const float *x, float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

SEQC_SIMD_CLONES static void relu_grad_span(const float *y, const float *dy, float *dx, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float d = dy[i]; /* read unconditionally: a blend, not a masked load */
		dx[i] += y[i] > 0.0f ? d : 0.0f;
	}
}

typedef void (*span_fn)(const float *x, float *y, size_t n);
typedef void (*span_grad_fn)(const float *x, const float *dy, float *dx, size_t n);

/* fwd over n elements (or, with dy, grad: its backward), in spans of SPAN
 * spread over the threads when n is over min_par. */
static void spans_par(span_fn fwd, span_grad_fn grad, const float *in, const float *dy, float *out,
		      size_t n, size_t min_par)
{
	size_t spans = (n + SPAN - 1) / SPAN;
#pragma omp parallel for if (n > min_par)
	for (size_t s = 0; s < spans; s++) {
		size_t at = s * SPAN, len = n - at < SPAN ? n - at : SPAN;
		if (dy)
			grad(in + at, dy + at, out + at, len);
		else
			fwd(in + at, out + at, len);
	}
}

/* ReLU is memory-bound (the binary ops' threshold); the tanh-form GELU
 * does more per element, so it goes parallel at a quarter of it. */
static void relu_par(const float *in, const float *dy, float *out, size_t n)
{
	spans_par(relu_span, relu_grad_span, in, dy, out, n, SEQC_PAR_MIN);
}

static void gelu_tanh_par(const float *x, const float *dy, float *out, size_t n)
{
	spans_par(gelu_tanh_span, gelu_tanh_grad_span, x, dy, out, n, SEQC_PAR_MIN / 4);
}

/* y = f(x); backward from y where the derivative is a function of y (tanh,
 * sigmoid, relu) and from x otherwise (gelu). */
static void unary_backward(seqc_node *node)
{
	seqc_tensor *x = node->in[0], *y = node->out;
	if (!x->grad)
		return;
	size_t n = x->numel;
	const float *dy = y->grad, *xv = x->val, *yv = y->val;
	float *dx = x->grad;
	switch ((int)node->i[0]) {
	case UN_SCALE: {
		float s = node->f[0];
		for (size_t i = 0; i < n; i++)
			dx[i] += s * dy[i];
		break;
	}
	case UN_TANH:
		for (size_t i = 0; i < n; i++)
			dx[i] += dy[i] * (1.0f - yv[i] * yv[i]);
		break;
	case UN_SIGMOID:
		for (size_t i = 0; i < n; i++)
			dx[i] += dy[i] * yv[i] * (1.0f - yv[i]);
		break;
	case UN_RELU:
		relu_par(yv, dy, dx, n);
		break;
	case UN_GELU_EXACT:
#pragma omp parallel for if (n > SEQC_PAR_MIN / 8)
		for (size_t i = 0; i < n; i++)
			dx[i] += dy[i] * gelu_exact_grad(xv[i]);
		break;
	case UN_GELU_TANH:
		gelu_tanh_par(xv, dy, dx, n);
		break;
	}
}

static seqc_tensor *unary(seqc_graph *g, seqc_tensor *x, int op, float s)
{
	if (!x)
		return NULL;
	bool grad = seqc_graph_wants_grad(g, &x, 1);
	seqc_tensor *y = seqc_graph_output(g, x->ndim, x->shape, grad);
	if (!y)
		return NULL;
	size_t n = x->numel;
	const float *xv = x->val;
	float *yv = y->val;
	switch (op) {
	case UN_SCALE:
		for (size_t i = 0; i < n; i++)
			yv[i] = s * xv[i];
		break;
	case UN_TANH:
#pragma omp parallel for if (n > SEQC_PAR_MIN / 8)
		for (size_t i = 0; i < n; i++)
			yv[i] = tanhf(xv[i]);
		break;
	case UN_SIGMOID:
#pragma omp parallel for if (n > SEQC_PAR_MIN / 8)
		for (size_t i = 0; i < n; i++)
			yv[i] = 1.0f / (1.0f + expf(-xv[i]));
		break;
	case UN_RELU:
		relu_par(xv, NULL, yv, n);
		break;
	case UN_GELU_EXACT:
#pragma omp parallel for if (n > SEQC_PAR_MIN / 8)
		for (size_t i = 0; i < n; i++)
			yv[i] = 0.5f * xv[i] * (1.0f + erff(xv[i] * (float)M_SQRT1_2));
		break;
	case UN_GELU_TANH:
		gelu_tanh_par(xv, NULL, yv, n);
		break;
	}
	if (grad) {
		seqc_node *node = seqc_graph_record(g, un_names[op], unary_backward, y, &x, 1);
		if (!node)
			return NULL;
		node->i[0] = op;
		node->f[0] = s;
	}
	return y;
}

seqc_tensor *seqc_scale(seqc_graph *g, seqc_tensor *x, float s)
{
	return unary(g, x, UN_SCALE, s);
}

seqc_tensor *seqc_tanh(seqc_graph *g, seqc_tensor *x)
{
	return unary(g, x, UN_TANH, 0);
}

seqc_tensor *seqc_sigmoid(seqc_graph *g, seqc_tensor *x)
{
	return unary(g, x, UN_SIGMOID, 0);
}

seqc_tensor *seqc_relu(seqc_graph *g, seqc_tensor *x)
{
	return unary(g, x, UN_RELU, 0);
}

seqc_tensor *seqc_gelu(seqc_graph *g, seqc_tensor *x, seqc_gelu_kind kind)
{
	if (kind != SEQC_GELU_EXACT && kind != SEQC_GELU_TANH) {
		seqc_error(SEQC_EINVAL, "gelu: unknown kind %d", (int)kind);
		return NULL;
	}
	return unary(g, x, kind == SEQC_GELU_EXACT ? UN_GELU_EXACT : UN_GELU_TANH, 0);
}
