/* Ops over the last axis: softmax, log-softmax, softmax + cross-entropy
 * fused, layer norm. Each row is independent, so rows run in parallel. */
#include <math.h>
#include <string.h>

#include "seq/fastmath.h" /* SEQC_SIMD_CLONES */
#include "seq/graph_internal.h"
#include "seq/ops.h"

/* ---- softmax and log-softmax ---- */

/* y = softmax(x) per row (log_softmax when as_log), max-subtracted. */
static void softmax_rows(const float *x, float *y, size_t rows, size_t cols, bool as_log)
{
#pragma omp parallel for if (rows * cols > SEQC_PAR_MIN)
	for (size_t r = 0; r < rows; r++) {
		const float *xr = x + r * cols;
		float *yr = y + r * cols;
		float max = xr[0];
		for (size_t c = 1; c < cols; c++)
			max = xr[c] > max ? xr[c] : max;
		double sum = 0;
		for (size_t c = 0; c < cols; c++)
			sum += expf(xr[c] - max);
		if (as_log) {
			/* (x - max) - log(sum), not x - (max + log(sum)): the
			 * rounded lse would cost ulp(max) for large logits. */
			float logsum = (float)log(sum);
			for (size_t c = 0; c < cols; c++)
				yr[c] = (xr[c] - max) - logsum;
		} else {
			float inv = (float)(1.0 / sum);
			for (size_t c = 0; c < cols; c++)
				yr[c] = expf(xr[c] - max) * inv;
		}
	}
}

/* softmax: dx = y (dy - sum(dy y)); log_softmax: dx = dy - exp(y) sum(dy). */
static void softmax_backward(seqc_node *node)
{
	seqc_tensor *x = node->in[0], *y = node->out;
	if (!x->grad)
		return;
	bool as_log = node->i[0];
	size_t cols = seqc_tensor_cols(x), rows = seqc_tensor_rows(x);
#pragma omp parallel for if (rows * cols > SEQC_PAR_MIN)
	for (size_t r = 0; r < rows; r++) {
		const float *yr = y->val + r * cols, *dyr = y->grad + r * cols;
		float *dxr = x->grad + r * cols;
		double s = 0;
		if (as_log) {
			for (size_t c = 0; c < cols; c++)
				s += dyr[c];
			for (size_t c = 0; c < cols; c++)
				dxr[c] += dyr[c] - expf(yr[c]) * (float)s;
		} else {
			for (size_t c = 0; c < cols; c++)
				s += dyr[c] * yr[c];
			for (size_t c = 0; c < cols; c++)
				dxr[c] += yr[c] * (dyr[c] - (float)s);
		}
	}
}

static seqc_tensor *softmax_op(seqc_graph *g, seqc_tensor *x, bool as_log)
{
	if (!x)
		return NULL;
	bool grad = seqc_graph_wants_grad(g, &x, 1);
	seqc_tensor *y = seqc_graph_output(g, x->ndim, x->shape, grad);
	if (!y)
		return NULL;
	softmax_rows(x->val, y->val, seqc_tensor_rows(x), seqc_tensor_cols(x), as_log);
	if (grad) {
		seqc_node *node = seqc_graph_record(g, as_log ? "log_softmax" : "softmax",
						    softmax_backward, y, &x, 1);
		if (!node)
			return NULL;
		node->i[0] = as_log;
	}
	return y;
}

seqc_tensor *seqc_softmax(seqc_graph *g, seqc_tensor *x)
{
	return softmax_op(g, x, false);
}

seqc_tensor *seqc_log_softmax(seqc_graph *g, seqc_tensor *x)
{
	return softmax_op(g, x, true);
}

/* ---- softmax + cross-entropy ---- */

seqc_ce_opts seqc_ce_defaults(void)
{
	return (seqc_ce_opts){ .reduction = SEQC_REDUCE_MEAN, .ignore_index = -100,
			       .label_smoothing = 0.0f };
}

/* Saved: targets [rows] (a copy), and each row's max and log(sum(exp(x -
 * max))) [rows] kept apart, so that p = exp((x - max) - logsum) does not
 * carry the rounding of max + logsum (ulp(max) for large logits).
 * With e = label smoothing, V classes and p = softmax(logits):
 *   loss_r = lse - (1 - e) x[t] - (e / V) sum_c x[c]
 *   dx[r, c] = scale (p[c] - (1 - e) [c == t] - e / V)
 * scale = dloss / count for mean, dloss for sum; ignored rows get 0. */
typedef struct ce_saved {
	int32_t *targets;
	float *max;
	float *logsum;
} ce_saved;

/* One row's max, sum(exp(x - max)) and sum(x). The sums run in SEQC_LANES
 * double accumulators and the max in SEQC_LANES lanes, so the loops
 * vectorize (the max is exact in any order); exp is seqc_fast_exp, within 2
 * ulp of expf, one more rounding in a sum of terms in double. */
SEQC_SIMD_CLONES static void ce_row(const float *x, size_t cols, float *max, double *sum,
				    double *xsum)
{
	float mx[SEQC_LANES];
	for (int k = 0; k < SEQC_LANES; k++)
		mx[k] = x[0];
	size_t c = 0;
	for (; c + SEQC_LANES <= cols; c += SEQC_LANES)
		for (int k = 0; k < SEQC_LANES; k++)
			mx[k] = x[c + k] > mx[k] ? x[c + k] : mx[k];
	float m = mx[0];
	for (int k = 1; k < SEQC_LANES; k++)
		m = mx[k] > m ? mx[k] : m;
	for (; c < cols; c++)
		m = x[c] > m ? x[c] : m;
	double es[SEQC_LANES] = { 0 }, xs[SEQC_LANES] = { 0 };
	for (c = 0; c + SEQC_LANES <= cols; c += SEQC_LANES)
		for (int k = 0; k < SEQC_LANES; k++) {
			es[k] += (double)seqc_fast_exp(x[c + k] - m);
			xs[k] += (double)x[c + k];
		}
	for (; c < cols; c++) {
		es[0] += (double)seqc_fast_exp(x[c] - m);
		xs[0] += (double)x[c];
	}
	double se = 0, sx = 0;
	for (int k = 0; k < SEQC_LANES; k++) {
		se += es[k];
		sx += xs[k];
	}
	*max = m;
	*sum = se;
	*xsum = sx;
}

/* dx += scale (softmax(x) - smooth) over one row; the target's term is
 * the caller's. */
SEQC_SIMD_CLONES static void ce_grad_row(const float *x, float *dx, size_t cols, float max,
					 float logsum, float scale, float smooth)
{
	for (size_t c = 0; c < cols; c++)
		dx[c] += scale * (seqc_fast_exp((x[c] - max) - logsum) - smooth);
}

static void ce_backward(seqc_node *node)
{
	seqc_tensor *x = node->in[0];
	if (!x->grad)
		return;
	const ce_saved *s = node->saved;
	size_t cols = seqc_tensor_cols(x), rows = seqc_tensor_rows(x);
	float eps = node->f[0], count = node->f[1];
	int32_t ignore = (int32_t)node->i[0];
	bool mean = node->i[1] == SEQC_REDUCE_MEAN;
	float scale = node->out->grad[0] / (mean ? (count > 0 ? count : 1.0f) : 1.0f);
	float smooth = eps / (float)cols;
#pragma omp parallel for if (rows * cols > SEQC_PAR_MIN)
	for (size_t r = 0; r < rows; r++) {
		int32_t t = s->targets[r];
		if (t == ignore)
			continue;
		float *dxr = x->grad + r * cols;
		ce_grad_row(x->val + r * cols, dxr, cols, s->max[r], s->logsum[r], scale, smooth);
		dxr[t] -= scale * (1.0f - eps);
	}
}

seqc_tensor *seqc_cross_entropy(seqc_graph *g, seqc_tensor *logits, const seqc_ids *targets,
				const seqc_ce_opts *opts)
{
	char sx[64];
	if (!logits || !targets)
		return NULL;
	seqc_ce_opts o = opts ? *opts : seqc_ce_defaults();
	size_t cols = seqc_tensor_cols(logits), rows = seqc_tensor_rows(logits);
	if (targets->numel != rows) {
		seqc_error(SEQC_ESHAPE, "cross_entropy: logits %s have %zu rows but there are %zu targets",
			   seqc_shape_str(logits, sx, sizeof sx), rows, targets->numel);
		return NULL;
	}
	if (!(o.label_smoothing >= 0.0f && o.label_smoothing <= 1.0f)) {
		seqc_error(SEQC_EINVAL, "cross_entropy: label smoothing %g is outside [0, 1]",
			   (double)o.label_smoothing);
		return NULL;
	}
	if (o.reduction != SEQC_REDUCE_MEAN && o.reduction != SEQC_REDUCE_SUM) {
		seqc_error(SEQC_EINVAL, "cross_entropy: unknown reduction %d", (int)o.reduction);
		return NULL;
	}
	size_t count = 0;
	for (size_t r = 0; r < rows; r++) {
		int32_t t = targets->data[r];
		if (t == o.ignore_index)
			continue;
		if (t < 0 || (size_t)t >= cols) {
			seqc_error(SEQC_ERANGE, "cross_entropy: target %d at position %zu is outside [0, %zu)",
				   t, r, cols);
			return NULL;
		}
		count++;
	}
	bool grad = seqc_graph_wants_grad(g, &logits, 1);
	size_t one = 1;
	seqc_tensor *loss = seqc_graph_output(g, 1, &one, grad);
	ce_saved *s = loss ? seqc_graph_alloc(g, sizeof *s) : NULL;
	if (s) {
		s->targets = seqc_graph_alloc(g, rows * sizeof(int32_t));
		s->max = s->targets ? seqc_graph_alloc(g, 2 * rows * sizeof(float)) : NULL;
		s->logsum = s->max ? s->max + rows : NULL;
	}
	double *row_loss = s && s->max ? seqc_graph_alloc(g, rows * sizeof(double)) : NULL;
	if (!row_loss)
		return NULL;
	memcpy(s->targets, targets->data, rows * sizeof(int32_t));
	float eps = o.label_smoothing;
	/* Each row's loss apart, summed below in row order: the same bits for
	 * any thread count (an OpenMP reduction's order depends on it). */
#pragma omp parallel for if (rows * cols > SEQC_PAR_MIN)
	for (size_t r = 0; r < rows; r++) {
		int32_t t = s->targets[r];
		row_loss[r] = 0.0;
		s->max[r] = s->logsum[r] = 0.0f; /* unused: backward skips the row */
		if (t == o.ignore_index)
			continue;
		const float *xr = logits->val + r * cols;
		float max;
		double sum, xsum;
		ce_row(xr, cols, &max, &sum, &xsum);
		s->max[r] = max;
		s->logsum[r] = (float)log(sum);
		/* In double: lse - x[t] cancels when the target dominates. */
		double lse = (double)max + log(sum);
		row_loss[r] = lse - (1.0 - eps) * xr[t] - eps * xsum / (double)cols;
	}
	double total = 0;
	for (size_t r = 0; r < rows; r++)
		total += row_loss[r];
	if (o.reduction == SEQC_REDUCE_MEAN)
		total = count ? total / (double)count : 0.0;
	loss->val[0] = (float)total;
	if (grad) {
		seqc_node *node = seqc_graph_record(g, "cross_entropy", ce_backward, loss, &logits, 1);
		if (!node)
			return NULL;
		node->saved = s;
		node->f[0] = eps;
		node->f[1] = (float)count;
		node->i[0] = o.ignore_index;
		node->i[1] = o.reduction;
	}
	return loss;
}

/* ---- layer norm ---- */

/* One row of layer norm: mean, rstd and y = xhat w + b. */
SEQC_SIMD_CLONES static void ln_row(const float *x, float *y, const float *w, const float *b,
				    size_t cols, float eps, float *mean, float *rstd)
{
	float acc[SEQC_LANES] = { 0 };
	size_t c = 0;
	for (; c + SEQC_LANES <= cols; c += SEQC_LANES)
		for (int k = 0; k < SEQC_LANES; k++)
			acc[k] += x[c + k];
	for (; c < cols; c++)
		acc[0] += x[c];
	float m = seqc_lanes_sum(acc) / (float)cols;
	float sq[SEQC_LANES] = { 0 };
	for (c = 0; c + SEQC_LANES <= cols; c += SEQC_LANES)
		for (int k = 0; k < SEQC_LANES; k++)
			sq[k] += (x[c + k] - m) * (x[c + k] - m);
	for (; c < cols; c++)
		sq[0] += (x[c] - m) * (x[c] - m);
	float r = 1.0f / sqrtf(seqc_lanes_sum(sq) / (float)cols + eps);
	for (c = 0; c < cols; c++) {
		float o = (x[c] - m) * r;
		o = w ? o * w[c] : o;
		y[c] = b ? o + b[c] : o;
	}
	*mean = m;
	*rstd = r;
}

/* One row of the input gradient: dx += rstd (dn - mean(dn) - xhat
 * mean(dn xhat)), dn = dy w. */
SEQC_SIMD_CLONES static void ln_grad_row(const float *x, const float *dy, const float *w,
					 float *dx, size_t cols, float mean, float rstd)
{
	float sdn[SEQC_LANES] = { 0 }, sdx[SEQC_LANES] = { 0 };
	size_t c = 0;
	for (; c + SEQC_LANES <= cols; c += SEQC_LANES)
		for (int k = 0; k < SEQC_LANES; k++) {
			float dn = w ? dy[c + k] * w[c + k] : dy[c + k];
			sdn[k] += dn;
			sdx[k] += dn * ((x[c + k] - mean) * rstd);
		}
	for (; c < cols; c++) {
		float dn = w ? dy[c] * w[c] : dy[c];
		sdn[0] += dn;
		sdx[0] += dn * ((x[c] - mean) * rstd);
	}
	float dn_mean = seqc_lanes_sum(sdn) / (float)cols, dn_xhat_mean = seqc_lanes_sum(sdx) / (float)cols;
	for (c = 0; c < cols; c++) {
		float dn = w ? dy[c] * w[c] : dy[c];
		float xhat = (x[c] - mean) * rstd;
		dx[c] += rstd * (dn - dn_mean - xhat * dn_xhat_mean);
	}
}

/* Saved: mean and rstd = 1 / sqrt(var + eps) per row. With xhat = (x - mean)
 * rstd and dn = dy w (dy when no weight):
 *   dx = rstd (dn - mean(dn) - xhat mean(dn xhat)); dw += dy xhat; db += dy. */
static void layer_norm_backward(seqc_node *node)
{
	seqc_tensor *x = node->in[0], *w = node->in[1], *b = node->in[2], *y = node->out;
	const float *mean = node->saved, *rstd = mean + seqc_tensor_rows(x);
	size_t cols = seqc_tensor_cols(x), rows = seqc_tensor_rows(x);
	if (x->grad) {
#pragma omp parallel for if (rows * cols > SEQC_PAR_MIN)
		for (size_t r = 0; r < rows; r++)
			ln_grad_row(x->val + r * cols, y->grad + r * cols, w ? w->val : NULL,
				    x->grad + r * cols, cols, mean[r], rstd[r]);
	}
	/* Weight and bias sums run over rows: serial, to avoid racing. */
	for (size_t r = 0; r < rows; r++) {
		const float *xr = x->val + r * cols, *dyr = y->grad + r * cols;
		if (w && w->grad)
			for (size_t c = 0; c < cols; c++)
				w->grad[c] += dyr[c] * (xr[c] - mean[r]) * rstd[r];
		if (b && b->grad)
			for (size_t c = 0; c < cols; c++)
				b->grad[c] += dyr[c];
	}
}

seqc_tensor *seqc_layer_norm(seqc_graph *g, seqc_tensor *x, seqc_tensor *w, seqc_tensor *b,
			     float eps)
{
	char sx[64];
	if (!x)
		return NULL;
	size_t cols = seqc_tensor_cols(x), rows = seqc_tensor_rows(x);
	if ((w && (w->ndim != 1 || w->shape[0] != cols)) || (b && (b->ndim != 1 || b->shape[0] != cols))) {
		seqc_error(SEQC_ESHAPE, "layer_norm: weight and bias must be [%zu] for x %s", cols,
			   seqc_shape_str(x, sx, sizeof sx));
		return NULL;
	}
	if (!(eps > 0.0f) || !isfinite(eps)) {
		seqc_error(SEQC_EINVAL, "layer_norm: eps %g must be positive and finite", (double)eps);
		return NULL;
	}
	seqc_tensor *in[3] = { x, w, b };
	bool grad = seqc_graph_wants_grad(g, in, 3);
	seqc_tensor *y = seqc_graph_output(g, x->ndim, x->shape, grad);
	float *stats = y ? seqc_graph_alloc(g, 2 * rows * sizeof(float)) : NULL;
	if (!stats)
		return NULL;
	float *mean = stats, *rstd = stats + rows;
#pragma omp parallel for if (rows * cols > SEQC_PAR_MIN)
	for (size_t r = 0; r < rows; r++)
		ln_row(x->val + r * cols, y->val + r * cols, w ? w->val : NULL, b ? b->val : NULL, cols,
		       eps, &mean[r], &rstd[r]);
	if (grad) {
		seqc_node *node = seqc_graph_record(g, "layer_norm", layer_norm_backward, y, in, 3);
		if (!node)
			return NULL;
		node->saved = stats;
	}
	return y;
}
