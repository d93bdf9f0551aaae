/* Sinusoidal positional encoding as a small op (see posenc.h). */
#include "models/posenc.h"

#include <math.h>
#include <string.h>

#include "seq/graph_internal.h"

void seqc_sinusoid_table(float *out, size_t p0, size_t T, size_t d)
{
	for (size_t t = 0; t < T; t++) {
		double p = (double)(p0 + t);
		float *row = out + t * d;
		for (size_t c = 0; c < d; c += 2) {
			/* the pair (2i, 2i + 1) shares the frequency 10000^(-2i / d) */
			double angle = p * exp(-(double)c / (double)d * log(10000.0));
			row[c] = (float)sin(angle);
			if (c + 1 < d)
				row[c + 1] = (float)cos(angle);
		}
	}
}

/* dx += s dy; s in f[0]. */
static void posenc_backward(seqc_node *node)
{
	seqc_tensor *x = node->in[0], *y = node->out;
	float s = node->f[0];
	if (!x->grad)
		return;
	for (size_t e = 0; e < x->numel; e++)
		x->grad[e] += s * y->grad[e];
}

seqc_tensor *seqc_posenc_add(seqc_graph *g, seqc_tensor *x, size_t p0, bool scale)
{
	char sx[64];
	if (!x)
		return NULL;
	if (x->ndim != 2 && x->ndim != 3) {
		seqc_error(SEQC_ESHAPE, "posenc: x %s must be [B, T, d] or [T, d]",
			   seqc_shape_str(x, sx, sizeof sx));
		return NULL;
	}
	size_t d = seqc_tensor_cols(x), T = x->shape[x->ndim - 2], B = x->ndim == 3 ? x->shape[0] : 1;
	bool grad = seqc_graph_wants_grad(g, &x, 1);
	seqc_tensor *y = seqc_graph_output(g, x->ndim, x->shape, grad);
	if (!y)
		return NULL;
	float s = scale ? sqrtf((float)d) : 1.0f;
	/* the table goes into the first batch row, then every row adds s x */
	seqc_sinusoid_table(y->val, p0, T, d);
	for (size_t b = 1; b < B; b++)
		memcpy(y->val + b * T * d, y->val, T * d * sizeof(float));
	for (size_t e = 0; e < x->numel; e++)
		y->val[e] += s * x->val[e];
	if (grad) {
		seqc_node *node = seqc_graph_record(g, "posenc", posenc_backward, y, &x, 1);
		if (!node)
			return NULL;
		node->f[0] = s;
	}
	return y;
}

int seqc_positions(int32_t *ids, size_t B, size_t T, size_t p0)
{
	if (p0 > INT32_MAX || T > (size_t)INT32_MAX - p0)
		return seqc_error(SEQC_ERANGE, "positions: %zu + %zu exceeds the id range", p0, T);
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < T; t++)
			ids[b * T + t] = (int32_t)(p0 + t);
	return 0;
}
