/* Matrix products through cblas_sgemm: matmul in all transpose combinations
 * (2-D and batched 3-D) and linear (x w^T + b). */
#include <string.h>

#include "seq/blas_internal.h"
#include "seq/graph_internal.h"
#include "seq/ops.h"

/* C[m, n] = op(A) op(B) + beta C, all row-major and packed; A is stored
 * [m, k] (or [k, m] when ta), B [k, n] (or [n, k] when tb). */
static void gemm(bool ta, bool tb, size_t m, size_t n, size_t k, const float *a, const float *b,
		 float beta, float *c)
{
	seqc_gemm(ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, beta, c, n);
}

/* One product of a batch: C = op(A) op(B), and its backward
 *   dA += dC op(B)^T  (stored layout: ta gives dA^T = op(B) dC^T)
 *   dB += op(A)^T dC  (tb gives dB^T = dC^T op(A)). */
static void matmul_backward_one(bool ta, bool tb, size_t m, size_t n, size_t k, const float *a,
				const float *b, const float *dc, float *da, float *db)
{
	if (da) {
		if (!ta)
			gemm(false, !tb, m, k, n, dc, b, 1.0f, da);
		else
			gemm(tb, true, k, m, n, b, dc, 1.0f, da);
	}
	if (db) {
		if (!tb)
			gemm(!ta, false, k, n, m, a, dc, 1.0f, db);
		else
			gemm(true, ta, n, k, m, dc, a, 1.0f, db);
	}
}

/* node: in = {a, b}; i = {ta, tb, batch, m}, f unused; n and k from shapes. */
static void matmul_backward(seqc_node *node)
{
	seqc_tensor *a = node->in[0], *b = node->in[1], *c = node->out;
	bool ta = node->i[0], tb = node->i[1];
	size_t batch = (size_t)node->i[2], m = (size_t)node->i[3];
	size_t n = seqc_tensor_cols(c);
	size_t k = (a->numel / batch) / m;
	size_t sa = m * k, sb = k * n, sc = m * n;
	for (size_t i = 0; i < batch; i++)
		matmul_backward_one(ta, tb, m, n, k, a->val + i * sa, b->val + i * sb, c->grad + i * sc,
				    a->grad ? a->grad + i * sa : NULL,
				    b->grad ? b->grad + i * sb : NULL);
}

seqc_tensor *seqc_matmul(seqc_graph *g, seqc_tensor *a, seqc_tensor *b, bool ta, bool tb)
{
	char sa[64], sb[64];
	if (!a || !b)
		return NULL;
	size_t batch = 1, m, k, kb, n;
	int ndim;
	size_t shape[SEQC_MAX_DIMS];
	if (a->ndim == 3 && b->ndim == 3) {
		if (a->shape[0] != b->shape[0])
			goto mismatch;
		batch = a->shape[0];
		m = ta ? a->shape[2] : a->shape[1];
		k = ta ? a->shape[1] : a->shape[2];
		ndim = 3;
		shape[0] = batch;
	} else if (b->ndim == 2 && (a->ndim == 2 || !ta)) {
		/* a [.., K] flattened to rows when it has more than 2 dims. */
		m = ta ? a->shape[1] : seqc_tensor_rows(a);
		k = ta ? a->shape[0] : seqc_tensor_cols(a);
		ndim = a->ndim;
		for (int i = 0; i < a->ndim - 1; i++)
			shape[i] = a->shape[i];
		if (ta)
			shape[0] = m;
	} else {
		goto mismatch;
	}
	kb = tb ? b->shape[b->ndim - 1] : b->shape[b->ndim - 2];
	n = tb ? b->shape[b->ndim - 2] : b->shape[b->ndim - 1];
	if (k != kb)
		goto mismatch;
	shape[ndim - 1] = n;
	/* Batched: [B, M, N]. (An a of 3 dims times a 2-D b keeps a's leading
	 * dims, set above.) */
	if (a->ndim == 3 && b->ndim == 3)
		shape[1] = m;

	seqc_tensor *in[2] = { a, b };
	bool grad = seqc_graph_wants_grad(g, in, 2);
	seqc_tensor *c = seqc_graph_output(g, ndim, shape, grad);
	if (!c)
		return NULL;
	for (size_t i = 0; i < batch; i++)
		gemm(ta, tb, m, n, k, a->val + i * m * k, b->val + i * k * n, 0.0f, c->val + i * m * n);
	if (grad) {
		seqc_node *node = seqc_graph_record(g, "matmul", matmul_backward, c, in, 2);
		if (!node)
			return NULL;
		node->i[0] = ta;
		node->i[1] = tb;
		node->i[2] = (int64_t)batch;
		node->i[3] = (int64_t)m;
	}
	return c;
mismatch:
	seqc_error(SEQC_ESHAPE, "matmul: a %s%s and b %s%s do not fit", seqc_shape_str(a, sa, sizeof sa),
		   ta ? " (transposed)" : "", seqc_shape_str(b, sb, sizeof sb),
		   tb ? " (transposed)" : "");
	return NULL;
}

/* y [rows, out] = x [rows, in] w^T + b.
 * backward: dx += dy w; dw += dy^T x; db += column sums of dy. */
static void linear_backward(seqc_node *node)
{
	seqc_tensor *x = node->in[0], *w = node->in[1], *b = node->in[2], *y = node->out;
	size_t rows = seqc_tensor_rows(x), in = w->shape[1], out = w->shape[0];
	if (x->grad)
		gemm(false, false, rows, in, out, y->grad, w->val, 1.0f, x->grad);
	if (w->grad)
		gemm(true, false, out, in, rows, y->grad, x->val, 1.0f, w->grad);
	if (b && b->grad)
		for (size_t r = 0; r < rows; r++)
			for (size_t o = 0; o < out; o++)
				b->grad[o] += y->grad[r * out + o];
}

seqc_tensor *seqc_linear(seqc_graph *g, seqc_tensor *x, seqc_tensor *w, seqc_tensor *b)
{
	char sx[64], sw[64], sb[64];
	if (!x || !w)
		return NULL;
	if (w->ndim != 2 || seqc_tensor_cols(x) != w->shape[1] ||
	    (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))) {
		seqc_error(SEQC_ESHAPE, "linear: x %s, weight %s and bias %s do not fit",
			   seqc_shape_str(x, sx, sizeof sx), seqc_shape_str(w, sw, sizeof sw),
			   b ? seqc_shape_str(b, sb, sizeof sb) : "none");
		return NULL;
	}
	size_t rows = seqc_tensor_rows(x), in = w->shape[1], out = w->shape[0];
	size_t shape[SEQC_MAX_DIMS];
	memcpy(shape, x->shape, sizeof shape);
	shape[x->ndim - 1] = out;
	seqc_tensor *inputs[3] = { x, w, b };
	bool grad = seqc_graph_wants_grad(g, inputs, 3);
	seqc_tensor *y = seqc_graph_output(g, x->ndim, shape, grad);
	if (!y)
		return NULL;
	/* The bias goes in first so the GEMM adds onto it (beta = 1): one pass. */
	if (b)
		for (size_t r = 0; r < rows; r++)
			memcpy(y->val + r * out, b->val, out * sizeof(float));
	gemm(false, true, rows, out, in, x->val, w->val, b ? 1.0f : 0.0f, y->val);
	if (grad && !seqc_graph_record(g, "linear", linear_backward, y, inputs, 3))
		return NULL;
	return y;
}
