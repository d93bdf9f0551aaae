/* Embedding, dropout, views and shape ops, and reductions to a scalar. */
#include <string.h>

#include "seq/graph_internal.h"
#include "seq/ops.h"

/* ---- embedding ---- */

/* Saved: a copy of the ids; i[0] = padding_idx. dtable[id] += dy row. */
static void embedding_backward(seqc_node *node)
{
	seqc_tensor *table = node->in[0], *y = node->out;
	if (!table->grad)
		return;
	const int32_t *ids = node->saved;
	int32_t pad = (int32_t)node->i[0];
	size_t n = (size_t)node->i[1], c = table->shape[1];
	for (size_t i = 0; i < n; i++) {
		if (ids[i] == pad)
			continue;
		float *dst = table->grad + (size_t)ids[i] * c;
		const float *src = y->grad + i * c;
		for (size_t k = 0; k < c; k++)
			dst[k] += src[k];
	}
}

seqc_tensor *seqc_embedding(seqc_graph *g, seqc_tensor *table, const seqc_ids *ids,
			    int32_t padding_idx)
{
	char st[64];
	if (!table || !ids)
		return NULL;
	if (table->ndim != 2) {
		seqc_error(SEQC_ESHAPE, "embedding: table %s is not [V, C]",
			   seqc_shape_str(table, st, sizeof st));
		return NULL;
	}
	size_t v = table->shape[0], c = table->shape[1];
	for (size_t i = 0; i < ids->numel; i++) {
		if (ids->data[i] < 0 || (size_t)ids->data[i] >= v) {
			seqc_error(SEQC_ERANGE, "embedding: id %d at position %zu is outside [0, %zu)",
				   ids->data[i], i, v);
			return NULL;
		}
	}
	size_t shape[3] = { ids->shape[0], ids->shape[1], c };
	int ndim = ids->ndim + 1;
	shape[ids->ndim] = c;
	bool grad = seqc_graph_wants_grad(g, &table, 1);
	seqc_tensor *y = seqc_graph_output(g, ndim, shape, grad);
	if (!y)
		return NULL;
	for (size_t i = 0; i < ids->numel; i++)
		memcpy(y->val + i * c, table->val + (size_t)ids->data[i] * c, c * sizeof(float));
	if (grad) {
		int32_t *copy = seqc_graph_alloc(g, ids->numel * sizeof(int32_t));
		seqc_node *node = copy ? seqc_graph_record(g, "embedding", embedding_backward, y, &table, 1)
				       : NULL;
		if (!node)
			return NULL;
		memcpy(copy, ids->data, ids->numel * sizeof(int32_t));
		node->saved = copy;
		node->i[0] = padding_idx;
		node->i[1] = (int64_t)ids->numel;
	}
	return y;
}

/* ---- dropout ---- */

/* Saved: the mask, 0 or 1 / (1 - p) per element. dx += dy mask. */
static void dropout_backward(seqc_node *node)
{
	seqc_tensor *x = node->in[0], *y = node->out;
	if (!x->grad)
		return;
	const float *mask = node->saved;
	for (size_t i = 0; i < x->numel; i++)
		x->grad[i] += y->grad[i] * mask[i];
}

seqc_tensor *seqc_dropout(seqc_graph *g, seqc_tensor *x, float p, seqc_rng *rng)
{
	if (!x)
		return NULL;
	if (!(p >= 0.0f && p < 1.0f)) {
		seqc_error(SEQC_EINVAL, "dropout: probability %g is outside [0, 1)", (double)p);
		return NULL;
	}
	if (!seqc_graph_training(g) || p == 0.0f)
		return x;
	if (!rng) {
		seqc_error(SEQC_EINVAL, "dropout: no random number generator given");
		return NULL;
	}
	bool grad = seqc_graph_wants_grad(g, &x, 1);
	seqc_tensor *y = seqc_graph_output(g, x->ndim, x->shape, grad);
	float *mask = y ? seqc_graph_alloc(g, x->numel * sizeof(float)) : NULL;
	if (!mask)
		return NULL;
	float keep = 1.0f / (1.0f - p);
	/* Serial draws: the mask depends on the seed only, not the threads. */
	for (size_t i = 0; i < x->numel; i++) {
		mask[i] = seqc_rng_uniform(rng) < p ? 0.0f : keep;
		y->val[i] = x->val[i] * mask[i];
	}
	if (grad) {
		seqc_node *node = seqc_graph_record(g, "dropout", dropout_backward, y, &x, 1);
		if (!node)
			return NULL;
		node->saved = mask;
	}
	return y;
}

/* ---- reshape ---- */

seqc_tensor *seqc_reshape(seqc_graph *g, seqc_tensor *x, int ndim, const size_t *shape)
{
	char sx[64];
	size_t n;
	if (!x)
		return NULL;
	if (seqc_shape_numel(ndim, shape, &n, "reshape") < 0)
		return NULL;
	if (n != x->numel) {
		seqc_error(SEQC_ESHAPE, "reshape: x %s has %zu elements, the new shape %zu",
			   seqc_shape_str(x, sx, sizeof sx), x->numel, n);
		return NULL;
	}
	seqc_tensor *y = seqc_graph_alloc(g, sizeof *y);
	if (!y)
		return NULL;
	*y = *x;
	y->ndim = ndim;
	memset(y->shape, 0, sizeof y->shape);
	memcpy(y->shape, shape, (size_t)ndim * sizeof *shape);
	return y;
}

/* ---- transpose of the last two axes ---- */

static void transpose_copy(const float *src, float *dst, size_t batch, size_t m, size_t n,
			   bool accumulate)
{
	/* src [batch, m, n] -> dst [batch, n, m] */
	for (size_t b = 0; b < batch; b++) {
		const float *s = src + b * m * n;
		float *d = dst + b * m * n;
		for (size_t i = 0; i < m; i++)
			for (size_t j = 0; j < n; j++) {
				if (accumulate)
					d[j * m + i] += s[i * n + j];
				else
					d[j * m + i] = s[i * n + j];
			}
	}
}

static void transpose_backward(seqc_node *node)
{
	seqc_tensor *x = node->in[0], *y = node->out;
	if (!x->grad)
		return;
	size_t m = x->shape[x->ndim - 2], n = x->shape[x->ndim - 1];
	transpose_copy(y->grad, x->grad, x->numel / (m * n), n, m, true);
}

seqc_tensor *seqc_transpose(seqc_graph *g, seqc_tensor *x)
{
	char sx[64];
	if (!x)
		return NULL;
	if (x->ndim < 2) {
		seqc_error(SEQC_ESHAPE, "transpose: x %s has fewer than 2 dimensions",
			   seqc_shape_str(x, sx, sizeof sx));
		return NULL;
	}
	size_t shape[SEQC_MAX_DIMS];
	memcpy(shape, x->shape, sizeof shape);
	size_t m = x->shape[x->ndim - 2], n = x->shape[x->ndim - 1];
	shape[x->ndim - 2] = n;
	shape[x->ndim - 1] = m;
	bool grad = seqc_graph_wants_grad(g, &x, 1);
	seqc_tensor *y = seqc_graph_output(g, x->ndim, shape, grad);
	if (!y)
		return NULL;
	transpose_copy(x->val, y->val, x->numel / (m * n), m, n, false);
	if (grad && !seqc_graph_record(g, "transpose", transpose_backward, y, &x, 1))
		return NULL;
	return y;
}

/* ---- concat and slice ---- */

/* A tensor seen along axis as [outer, len, inner]. */
static void split_axis(const seqc_tensor *t, int axis, size_t *outer, size_t *inner)
{
	*outer = 1;
	*inner = 1;
	for (int i = 0; i < axis; i++)
		*outer *= t->shape[i];
	for (int i = axis + 1; i < t->ndim; i++)
		*inner *= t->shape[i];
}

/* Saved: the array of inputs; i[0] = n, i[1] = axis. */
static void concat_backward(seqc_node *node)
{
	seqc_tensor *const *xs = node->saved;
	seqc_tensor *y = node->out;
	int n = (int)node->i[0], axis = (int)node->i[1];
	size_t outer, inner, at = 0;
	split_axis(y, axis, &outer, &inner);
	size_t ylen = y->shape[axis] * inner;
	for (int k = 0; k < n; k++) {
		size_t len = xs[k]->shape[axis] * inner;
		if (xs[k]->grad)
			for (size_t o = 0; o < outer; o++) {
				float *dx = xs[k]->grad + o * len;
				const float *dy = y->grad + o * ylen + at;
				for (size_t i = 0; i < len; i++)
					dx[i] += dy[i];
			}
		at += len;
	}
}

seqc_tensor *seqc_concat(seqc_graph *g, seqc_tensor *const *xs, int n, int axis)
{
	char s0[64], sk[64];
	if (n < 1 || !xs) {
		seqc_error(SEQC_EINVAL, "concat: no tensors given");
		return NULL;
	}
	for (int k = 0; k < n; k++)
		if (!xs[k])
			return NULL;
	const seqc_tensor *x0 = xs[0];
	if (axis < 0 || axis >= x0->ndim) {
		seqc_error(SEQC_EINVAL, "concat: axis %d is outside [0, %d)", axis, x0->ndim);
		return NULL;
	}
	size_t shape[SEQC_MAX_DIMS];
	memcpy(shape, x0->shape, sizeof shape);
	shape[axis] = 0;
	for (int k = 0; k < n; k++) {
		bool fits = xs[k]->ndim == x0->ndim;
		for (int i = 0; fits && i < x0->ndim; i++)
			fits = i == axis || xs[k]->shape[i] == x0->shape[i];
		if (!fits) {
			seqc_error(SEQC_ESHAPE, "concat: tensor %d %s does not fit tensor 0 %s along axis %d",
				   k, seqc_shape_str(xs[k], sk, sizeof sk), seqc_shape_str(x0, s0, sizeof s0),
				   axis);
			return NULL;
		}
		shape[axis] += xs[k]->shape[axis];
	}
	bool grad = seqc_graph_wants_grad(g, xs, n);
	seqc_tensor *y = seqc_graph_output(g, x0->ndim, shape, grad);
	if (!y)
		return NULL;
	size_t outer, inner, at = 0;
	split_axis(y, axis, &outer, &inner);
	size_t ylen = y->shape[axis] * inner;
	for (int k = 0; k < n; k++) {
		size_t len = xs[k]->shape[axis] * inner;
		for (size_t o = 0; o < outer; o++)
			memcpy(y->val + o * ylen + at, xs[k]->val + o * len, len * sizeof(float));
		at += len;
	}
	if (grad) {
		seqc_tensor **copy = seqc_graph_alloc(g, (size_t)n * sizeof *copy);
		seqc_node *node = copy ? seqc_graph_record(g, "concat", concat_backward, y, xs, 0) : NULL;
		if (!node)
			return NULL;
		memcpy(copy, xs, (size_t)n * sizeof *copy);
		node->saved = copy;
		node->i[0] = n;
		node->i[1] = axis;
	}
	return y;
}

/* i[0] = axis, i[1] = start. */
static void slice_backward(seqc_node *node)
{
	seqc_tensor *x = node->in[0], *y = node->out;
	if (!x->grad)
		return;
	int axis = (int)node->i[0];
	size_t start = (size_t)node->i[1], outer, inner;
	split_axis(x, axis, &outer, &inner);
	size_t xlen = x->shape[axis] * inner, ylen = y->shape[axis] * inner;
	for (size_t o = 0; o < outer; o++) {
		float *dx = x->grad + o * xlen + start * inner;
		const float *dy = y->grad + o * ylen;
		for (size_t i = 0; i < ylen; i++)
			dx[i] += dy[i];
	}
}

seqc_tensor *seqc_slice(seqc_graph *g, seqc_tensor *x, int axis, size_t start, size_t len)
{
	char sx[64];
	if (!x)
		return NULL;
	if (axis < 0 || axis >= x->ndim) {
		seqc_error(SEQC_EINVAL, "slice: axis %d is outside [0, %d)", axis, x->ndim);
		return NULL;
	}
	if (len == 0 || start > x->shape[axis] || len > x->shape[axis] - start) {
		seqc_error(SEQC_ERANGE, "slice: [%zu, %zu + %zu) is empty or outside axis %d of x %s",
			   start, start, len, axis, seqc_shape_str(x, sx, sizeof sx));
		return NULL;
	}
	size_t shape[SEQC_MAX_DIMS];
	memcpy(shape, x->shape, sizeof shape);
	shape[axis] = len;
	bool grad = seqc_graph_wants_grad(g, &x, 1);
	seqc_tensor *y = seqc_graph_output(g, x->ndim, shape, grad);
	if (!y)
		return NULL;
	size_t outer, inner;
	split_axis(x, axis, &outer, &inner);
	size_t xlen = x->shape[axis] * inner, ylen = len * inner;
	for (size_t o = 0; o < outer; o++)
		memcpy(y->val + o * ylen, x->val + o * xlen + start * inner, ylen * sizeof(float));
	if (grad) {
		seqc_node *node = seqc_graph_record(g, "slice", slice_backward, y, &x, 1);
		if (!node)
			return NULL;
		node->i[0] = axis;
		node->i[1] = (int64_t)start;
	}
	return y;
}

/* ---- sum and mean ---- */

/* f[0] = factor (1 for sum, 1/n for mean): dx += factor dy. */
static void reduce_backward(seqc_node *node)
{
	seqc_tensor *x = node->in[0];
	if (!x->grad)
		return;
	float d = node->f[0] * node->out->grad[0];
	for (size_t i = 0; i < x->numel; i++)
		x->grad[i] += d;
}

static seqc_tensor *reduce(seqc_graph *g, seqc_tensor *x, bool mean)
{
	if (!x)
		return NULL;
	bool grad = seqc_graph_wants_grad(g, &x, 1);
	size_t one = 1;
	seqc_tensor *y = seqc_graph_output(g, 1, &one, grad);
	if (!y)
		return NULL;
	double s = 0;
	for (size_t i = 0; i < x->numel; i++)
		s += x->val[i];
	float factor = mean ? 1.0f / (float)x->numel : 1.0f;
	y->val[0] = (float)(mean ? s / (double)x->numel : s);
	if (grad) {
		seqc_node *node = seqc_graph_record(g, mean ? "mean" : "sum", reduce_backward, y, &x, 1);
		if (!node)
			return NULL;
		node->f[0] = factor;
	}
	return y;
}

seqc_tensor *seqc_sum(seqc_graph *g, seqc_tensor *x)
{
	return reduce(g, x, false);
}

seqc_tensor *seqc_mean(seqc_graph *g, seqc_tensor *x)
{
	return reduce(g, x, true);
}
