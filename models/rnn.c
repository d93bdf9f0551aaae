/* Fused recurrent layers (see rnn.h for the formulas).
 *
 * Layout inside the op: x [B, T, IN] is a [B*T, IN] matrix whose row b*T + t is
 * step t of sequence b. The input projection pre = x W_ih^T + biases is one
 * GEMM into [B*T, G*H]; at step t the B rows of pre for that step are G*H
 * floats apart with a stride of T*G*H, and the previous hidden state is
 * y[:, t-1, :] (row stride T*H), so the recurrent GEMM reads it in place
 * through its leading dimension: nothing is transposed or copied. */
#include "models/rnn.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "seq/blas_internal.h"
#include "seq/fastmath.h"
#include "seq/gemm_packed.h"
#include "seq/graph_internal.h"

int seqc_cell_gates(seqc_cell_kind cell)
{
	return cell == SEQC_CELL_LSTM ? 4 : cell == SEQC_CELL_GRU ? 3 : 1;
}

const char *seqc_cell_name(seqc_cell_kind cell)
{
	switch (cell) {
	case SEQC_CELL_RNN_TANH: return "rnn_tanh";
	case SEQC_CELL_RNN_RELU: return "rnn_relu";
	case SEQC_CELL_LSTM: return "lstm";
	case SEQC_CELL_GRU: return "gru";
	}
	return "unknown";
}

int seqc_cell_parse(const char *name)
{
	if (!strcmp(name, "rnn") || !strcmp(name, "rnn_tanh"))
		return SEQC_CELL_RNN_TANH;
	if (!strcmp(name, "rnn_relu"))
		return SEQC_CELL_RNN_RELU;
	if (!strcmp(name, "lstm"))
		return SEQC_CELL_LSTM;
	if (!strcmp(name, "gru"))
		return SEQC_CELL_GRU;
	return -1;
}

static inline float sigmoidf(float x)
{
	return 1.0f / (1.0f + expf(-x));
}

/* What forward saves for backward. */
typedef struct rnn_saved {
	seqc_cell_kind cell;
	bool reverse;
	size_t B, T, IN, H;
	const size_t *lens; /* [B] row lengths (an arena copy), or NULL: all T */
	seqc_tensor *x, *h0, *c0, *w_ih, *w_hh, *b_ih, *b_hh; /* inputs */
	seqc_tensor *y, *h_last, *c_last;                     /* outputs */
	float *gates; /* [B*T, G*H] gate activations (LSTM i f g o, GRU r z n) */
	float *cells; /* [B*T, H] LSTM cell state after each step */
	float *tanh_cells; /* [B*T, H] its tanh, which backward would otherwise
			    * recompute (the costliest part of its gate loop) */
	float *hn;    /* [B*T, H] GRU W_hn h + b_hn */
	/* backward scratch, taken from the arena by forward so that backward
	 * never allocates (and so never fails) */
	float *dpre;      /* [B*T, G*H] input-side pre-activation gradients */
	float *dgh;       /* [B*T, G*H] hidden-side ones (GRU; = dpre otherwise) */
	float *dh_next;   /* [B, H] */
	float *dc_next;   /* [B, H] */
	float *hprev_all; /* [B*T, H] the state each step read */
	float *ones;      /* [B*T] for bias gradients as a GEMV */
	float *zeros;     /* [G*H] stands for a zero state or recurrent term */
	float *w_hh_packed; /* W_hh [G*H, H] packed for dh_prev += dgh_t W_hh, or
			     * NULL to use seqc_gemm */
} rnn_saved;

/* Step order: s = 0.. T-1 visits time t = s, or T-1-s when reversed. */
static inline size_t step_time(const rnn_saved *s, size_t step)
{
	return s->reverse ? s->T - 1 - step : step;
}

/* Whether row b is padding at time t (no output, no state change). */
static inline bool masked(const rnn_saved *s, size_t b, size_t t)
{
	return s->lens && t >= s->lens[b];
}

/* Whether a reverse row of length < T starts at this step, from h0 rather
 * than from the previous time's output (which is its padding). */
static inline bool starts_late(const rnn_saved *s, size_t b, size_t t, size_t step)
{
	return s->lens && s->reverse && step > 0 && t + 1 == s->lens[b];
}

/* The gate loops, one batch row each. They are plain arithmetic (see
 * seq/fastmath.h) that the compiler vectorizes, and cloned for AVX2 with a
 * baseline fallback chosen at load time, as they cost as much as a GEMM.
 * The ISO C build does not contract a * b + c into FMA, so every clone
 * computes bit-identical results. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__AVX2__)
#define SEQC_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SEQC_CLONES
#endif

/* RNN forward: out = act(p + r). */
SEQC_CLONES static void rnn_row_forward(bool relu, const float *restrict p, const float *restrict r, float *restrict out,
					size_t H)
{
	if (relu)
		for (size_t j = 0; j < H; j++) {
			float a = p[j] + r[j];
			out[j] = a > 0.0f ? a : 0.0f;
		}
	else
		for (size_t j = 0; j < H; j++)
			out[j] = seqc_fast_tanh(p[j] + r[j]);
}

/* LSTM forward: gates i f g o from p + r ([4H] each), c = f cp + i g,
 * out = o tanh(c); the activations go to gate [4H], c to cell, tanh(c) to
 * tcell. */
SEQC_CLONES static void lstm_row_forward(const float *restrict p, const float *restrict r, const float *restrict cp,
					 float *restrict gate, float *restrict cell, float *restrict tcell,
					 float *restrict out, size_t H)
{
	for (size_t j = 0; j < H; j++) {
		float gi = seqc_fast_sigmoid(p[j] + r[j]);
		float gf = seqc_fast_sigmoid(p[H + j] + r[H + j]);
		float gg = seqc_fast_tanh(p[2 * H + j] + r[2 * H + j]);
		float go = seqc_fast_sigmoid(p[3 * H + j] + r[3 * H + j]);
		float c = gf * cp[j] + gi * gg;
		gate[j] = gi;
		gate[H + j] = gf;
		gate[2 * H + j] = gg;
		gate[3 * H + j] = go;
		float tc = seqc_fast_tanh(c);
		cell[j] = c;
		tcell[j] = tc;
		out[j] = go * tc;
	}
}

/* GRU forward: r, z from p + r; hn = r_n + b_hn; n = tanh(p_n + r hn);
 * out = (1 - z) n + z hp. */
SEQC_CLONES static void gru_row_forward(const float *restrict p, const float *restrict r, const float *restrict b_hn,
					const float *restrict hp, float *restrict gate, float *restrict hn_out, float *restrict out,
					size_t H)
{
	for (size_t j = 0; j < H; j++) {
		float gr = seqc_fast_sigmoid(p[j] + r[j]);
		float gz = seqc_fast_sigmoid(p[H + j] + r[H + j]);
		float hn = r[2 * H + j] + b_hn[j];
		float gn = seqc_fast_tanh(p[2 * H + j] + gr * hn);
		gate[j] = gr;
		gate[H + j] = gz;
		gate[2 * H + j] = gn;
		hn_out[j] = hn;
		out[j] = (1.0f - gz) * gn + gz * hp[j];
	}
}

/* RNN backward: dp = dh act'(y); the recurrent part of dh_next restarts. */
SEQC_CLONES static void rnn_row_backward(bool relu, const float *restrict dy, const float *restrict y,
					 float *restrict dh_next, float *restrict dp, size_t H)
{
	for (size_t j = 0; j < H; j++) {
		float dh = dy[j] + dh_next[j];
		dp[j] = relu ? (y[j] > 0.0f ? dh : 0.0f) : dh * (1.0f - y[j] * y[j]);
		dh_next[j] = 0.0f;
	}
}

/* LSTM backward of one row (see rnn_backward for the equations); tcell is
 * tanh of the row's cell state. */
SEQC_CLONES static void lstm_row_backward(const float *restrict dy, const float *restrict gate, const float *restrict tcell,
					  const float *restrict cp, float *restrict dh_next, float *restrict dc_next,
					  float *restrict dp, size_t H)
{
	for (size_t j = 0; j < H; j++) {
		float dh = dy[j] + dh_next[j];
		float gi = gate[j], gf = gate[H + j], gg = gate[2 * H + j], go = gate[3 * H + j];
		float tc = tcell[j];
		float dc = dc_next[j] + dh * go * (1.0f - tc * tc);
		dp[j] = dc * gg * gi * (1.0f - gi);
		dp[H + j] = dc * cp[j] * gf * (1.0f - gf);
		dp[2 * H + j] = dc * gi * (1.0f - gg * gg);
		dp[3 * H + j] = dh * tc * go * (1.0f - go);
		dc_next[j] = dc * gf;
		dh_next[j] = 0.0f;
	}
}

/* GRU backward of one row: input side dp, hidden side dq, and the direct
 * part dh z of dh_next. */
SEQC_CLONES static void gru_row_backward(const float *restrict dy, const float *restrict gate, const float *restrict hn,
					 const float *restrict hp, float *restrict dh_next, float *restrict dp, float *restrict dq,
					 size_t H)
{
	for (size_t j = 0; j < H; j++) {
		float dh = dy[j] + dh_next[j];
		float gr = gate[j], gz = gate[H + j], gn = gate[2 * H + j];
		float dan = dh * (1.0f - gz) * (1.0f - gn * gn);
		float dar = dan * hn[j] * gr * (1.0f - gr);
		float daz = dh * (hp[j] - gn) * gz * (1.0f - gz);
		dp[j] = dar;
		dp[H + j] = daz;
		dp[2 * H + j] = dan;
		dq[j] = dar;
		dq[H + j] = daz;
		dq[2 * H + j] = dan * gr;
		dh_next[j] = dh * gz;
	}
}

/* The fused gate loop of one step, forward. pre: the step's rows of the
 * input projection (row b at pre + (b*T + t)*G*H), rec: h_prev W_hh^T
 * [B, G*H] (NULL when h_prev is zero), h_prev and c_prev with row strides
 * (NULL = zeros); writes the y, cells, gates and hn rows of time t. Rows run
 * in parallel. */
static void step_forward(const rnn_saved *s, size_t t, size_t step, const float *pre,
			 const float *rec, const float *h_prev, size_t ldh, const float *c_prev,
			 size_t ldc, const float *b_hn)
{
	size_t B = s->B, T = s->T, H = s->H, G = (size_t)seqc_cell_gates(s->cell), GH = G * H;
	seqc_cell_kind cell = s->cell;
#pragma omp parallel for if (B * GH > 8192)
	for (size_t b = 0; b < B; b++) {
		size_t row = b * T + t;
		const float *p = pre + row * GH;
		const float *r = rec ? rec + b * GH : s->zeros;
		const float *hp = h_prev ? h_prev + b * ldh : s->zeros;
		const float *cp = c_prev ? c_prev + b * ldc : s->zeros;
		float *out = s->y->val + row * H;
		if (masked(s, b, t)) {
			/* zeros, which a reverse row starting later reads as
			 * its zero initial state */
			memset(out, 0, H * sizeof(float));
			if (cell == SEQC_CELL_LSTM)
				memset(s->cells + row * H, 0, H * sizeof(float));
			continue;
		}
		if (starts_late(s, b, t, step)) {
			/* rec holds h0's product for this row (see the caller) */
			r = s->h0 ? r : s->zeros;
			hp = s->h0 ? s->h0->val + b * H : s->zeros;
			cp = s->c0 ? s->c0->val + b * H : s->zeros;
		}
		float *gate = s->gates ? s->gates + row * GH : NULL;
		if (cell == SEQC_CELL_RNN_TANH || cell == SEQC_CELL_RNN_RELU)
			rnn_row_forward(cell == SEQC_CELL_RNN_RELU, p, r, out, H);
		else if (cell == SEQC_CELL_LSTM)
			lstm_row_forward(p, r, cp, gate, s->cells + row * H, s->tanh_cells + row * H, out, H);
		else
			gru_row_forward(p, r, b_hn ? b_hn : s->zeros, hp, gate, s->hn + row * H, out, H);
	}
}

/* The fused gate loop of one step, backward: from dh (dy of the step plus
 * the recurrent gradient in dh_next) to the pre-activation gradients of the
 * step (dpre, and dgh for the GRU's hidden side), the cell gradient carried
 * in dc_next, and the direct part of the next dh_next (GRU: dh z). Also
 * records the state each step read (hprev_all) for dW_hh. */
static void step_backward(const rnn_saved *s, size_t t, size_t step, const float *h_prev,
			  size_t ldh, const float *c_prev, size_t ldc)
{
	size_t B = s->B, T = s->T, H = s->H, G = (size_t)seqc_cell_gates(s->cell), GH = G * H;
	seqc_cell_kind cell = s->cell;
	const float *y = s->y->val, *dy = s->y->grad;
#pragma omp parallel for if (B * GH > 8192)
	for (size_t b = 0; b < B; b++) {
		size_t row = b * T + t;
		const float *hp = h_prev ? h_prev + b * ldh : s->zeros;
		const float *cp = c_prev ? c_prev + b * ldc : s->zeros;
		const float *gate = s->gates ? s->gates + row * GH : NULL;
		float *dh_next = s->dh_next + b * H, *dc_next = s->dc_next + b * H;
		float *dp = s->dpre + row * GH;
		if (masked(s, b, t)) {
			/* no gradient here; dh_next and dc_next pass unchanged
			 * (the recurrent product adds dgh = 0) */
			memset(dp, 0, GH * sizeof(float));
			if (cell == SEQC_CELL_GRU)
				memset(s->dgh + row * GH, 0, GH * sizeof(float));
			memset(s->hprev_all + row * H, 0, H * sizeof(float));
			continue;
		}
		if (starts_late(s, b, t, step)) {
			hp = s->h0 ? s->h0->val + b * H : s->zeros;
			cp = s->c0 ? s->c0->val + b * H : s->zeros;
		}
		memcpy(s->hprev_all + row * H, hp, H * sizeof(float));
		if (cell == SEQC_CELL_RNN_TANH || cell == SEQC_CELL_RNN_RELU)
			rnn_row_backward(cell == SEQC_CELL_RNN_RELU, dy + row * H, y + row * H, dh_next,
					 dp, H);
		else if (cell == SEQC_CELL_LSTM)
			lstm_row_backward(dy + row * H, gate, s->tanh_cells + row * H, cp, dh_next, dc_next, dp,
					  H);
		else
			gru_row_backward(dy + row * H, gate, s->hn + row * H, hp, dh_next, dp,
					 s->dgh + row * GH, H);
	}
}

/* Whether the per-step recurrent products run on W_hh packed once per call
 * (seq/gemm_packed.h) rather than through sgemm, which re-packs all of W_hh
 * at every step. Measured on the 2-core Zen 3 (AVX2 + FMA kernel) for the
 * shapes [B, 512] x [512, 2048] and [B, 2048] x [2048, 512]: 1.3-1.4x at
 * B = 32 and 50, 4-8x at B = 2-8 (sgemm is at its worst there), 1.0-1.06x
 * at B = 128, even or slower from 256. A single row stays with sgemv (the
 * transposed product runs faster there, and batch-1 decoding has T = 1
 * anyway), and one step does not amortize the packing. */
static bool use_packed(size_t B, size_t T)
{
	return B >= 2 && B <= 128 && T >= 2 && seqc_gemm_packed_fast();
}

/* Reverse rows shorter than T start at t = L_b - 1 from h0, not from the
 * previous output: their recurrent products rec [B, G*H] become h0 W_hh^T. */
static void late_start_products(const rnn_saved *s, size_t t, size_t step, float *rec)
{
	size_t H = s->H, GH = (size_t)seqc_cell_gates(s->cell) * H;
	for (size_t b = 0; b < s->B; b++)
		if (starts_late(s, b, t, step))
			cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)GH, (blasint)H, 1.0f,
				    s->w_hh->val, (blasint)H, s->h0->val + b * H, 1, 0.0f,
				    rec + b * GH, 1);
}

/* Column sums of m [rows, cols] added into out [cols], as one GEMV. */
static void add_column_sums(const float *m, size_t rows, size_t cols, const float *ones, float *out)
{
	cblas_sgemv(CblasRowMajor, CblasTrans, (blasint)rows, (blasint)cols, 1.0f, m, (blasint)cols,
		    ones, 1, 1.0f, out, 1);
}

/* Backward of the whole layer.
 * Per step (in reverse step order), with dh = dy_t + (recurrent gradient):
 *   RNN:  da = dh act'(a)                       dpre = dgh = da
 *   LSTM: dc = dc_next + dh o (1 - tanh^2 c); di = dc g; df = dc c_prev;
 *         dg = dc i; do = dh tanh c; pre-activation grads by each gate's
 *         derivative; dc_next = dc f            dpre = dgh
 *   GRU:  dn = dh (1 - z); dz = dh (h_prev - n); dan = dn (1 - n^2);
 *         dr = dan hn; dar, daz by sigmoid'; input side (r, z, n) = (dar,
 *         daz, dan); hidden side (r, z, n) = (dar, daz, dan r);
 *         direct dh_prev = dh z
 *   dh_prev += dgh_t W_hh
 * Then dW_ih += dpre^T x, dx += dpre W_ih, dW_hh += dgh^T h_prev(all steps),
 * db_ih += column sums of dpre, db_hh += column sums of dgh. */
static void rnn_backward(seqc_node *node)
{
	const rnn_saved *s = node->saved;
	size_t B = s->B, T = s->T, IN = s->IN, H = s->H, G = (size_t)seqc_cell_gates(s->cell);
	size_t GH = G * H, N = B * T;
	bool lstm = s->cell == SEQC_CELL_LSTM;
	float *dpre = s->dpre, *dgh = s->dgh, *dh_next = s->dh_next, *dc_next = s->dc_next;
	float *hprev_all = s->hprev_all, *ones = s->ones;
	const float *y = s->y->val;
	for (size_t i = 0; i < B * H; i++) {
		dh_next[i] = s->h_last && s->h_last->grad ? s->h_last->grad[i] : 0.0f;
		dc_next[i] = s->c_last && s->c_last->grad ? s->c_last->grad[i] : 0.0f;
	}
	for (size_t i = 0; i < N; i++)
		ones[i] = 1.0f;
	if (s->w_hh_packed)
		seqc_pack(s->w_hh->val, H, false, GH, H, s->w_hh_packed);

	for (size_t step = T; step-- > 0;) {
		size_t t = step_time(s, step);
		/* previous state: time t -/+ 1, or the initial state */
		const float *h_prev, *c_prev;
		size_t ld = T * H;
		if (step > 0) {
			size_t tp = step_time(s, step - 1);
			h_prev = y + tp * H;
			c_prev = lstm ? s->cells + tp * H : NULL;
		} else {
			h_prev = s->h0 ? s->h0->val : NULL;
			c_prev = s->c0 ? s->c0->val : NULL;
			ld = H;
		}
		step_backward(s, t, step, h_prev, ld, c_prev, ld);
		/* dh_prev += dgh_t W_hh; not needed past the first step unless
		 * the initial state wants a gradient. */
		if (!(step > 0 || (s->h0 && s->h0->grad)))
			continue;
		if (s->w_hh_packed)
			seqc_gemm_packed(B, H, GH, dgh + t * GH, T * GH, s->w_hh_packed, 1.0f, dh_next, H);
		else
			seqc_gemm(false, false, B, H, GH, 1.0f, dgh + t * GH, (T * GH), s->w_hh->val, H, 1.0f, dh_next, H);
	}
	if (s->h0 && s->h0->grad)
		for (size_t i = 0; i < B * H; i++)
			s->h0->grad[i] += dh_next[i];
	if (s->c0 && s->c0->grad)
		for (size_t i = 0; i < B * H; i++)
			s->c0->grad[i] += dc_next[i];
	if (s->x->grad)
		seqc_gemm(false, false, N, IN, GH, 1.0f, dpre, GH, s->w_ih->val, IN, 1.0f, s->x->grad, IN);
	if (s->w_ih->grad)
		seqc_gemm(true, false, GH, IN, N, 1.0f, dpre, GH, s->x->val, IN, 1.0f, s->w_ih->grad, IN);
	if (s->w_hh->grad)
		seqc_gemm(true, false, GH, H, N, 1.0f, dgh, GH, hprev_all, H, 1.0f, s->w_hh->grad, H);
	if (s->b_ih && s->b_ih->grad)
		add_column_sums(dpre, N, GH, ones, s->b_ih->grad);
	if (s->b_hh && s->b_hh->grad)
		add_column_sums(dgh, N, GH, ones, s->b_hh->grad);
}

static bool check_2d(const seqc_tensor *t, size_t rows, size_t cols)
{
	return t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols;
}

static bool check_1d(const seqc_tensor *t, size_t n)
{
	return t->ndim == 1 && t->shape[0] == n;
}

seqc_tensor *seqc_rnn_layer(seqc_graph *g, seqc_cell_kind cell, seqc_tensor *x, seqc_tensor *h0,
			    seqc_tensor *c0, seqc_tensor *w_ih, seqc_tensor *w_hh, seqc_tensor *b_ih,
			    seqc_tensor *b_hh, bool reverse, seqc_tensor **h_last,
			    seqc_tensor **c_last)
{
	return seqc_rnn_layer_lens(g, cell, x, NULL, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, h_last,
				   c_last);
}

/* An arena copy of lens [B] after checking each is in 1..T (NULL when lens
 * is NULL or every row is full: the unmasked fast path). *bad set on a bad
 * length or no memory. */
static const size_t *copy_lens(seqc_graph *g, const size_t *lens, size_t B, size_t T, bool *bad)
{
	*bad = false;
	if (!lens)
		return NULL;
	bool full = true;
	for (size_t b = 0; b < B; b++) {
		if (lens[b] == 0 || lens[b] > T) {
			*bad = true;
			seqc_error(SEQC_EINVAL, "rnn: row %zu: length %zu is outside 1..%zu", b, lens[b], T);
			return NULL;
		}
		full &= lens[b] == T;
	}
	if (full)
		return NULL;
	size_t *copy = seqc_graph_alloc(g, B * sizeof *copy);
	if (!copy) {
		*bad = true;
		return NULL;
	}
	memcpy(copy, lens, B * sizeof *copy);
	return copy;
}

seqc_tensor *seqc_rnn_layer_lens(seqc_graph *g, seqc_cell_kind cell, seqc_tensor *x,
				 const size_t *lens, seqc_tensor *h0, seqc_tensor *c0,
				 seqc_tensor *w_ih, seqc_tensor *w_hh, seqc_tensor *b_ih,
				 seqc_tensor *b_hh, bool reverse, seqc_tensor **h_last,
				 seqc_tensor **c_last)
{
	char sx[64], sw[64];
	if (h_last)
		*h_last = NULL;
	if (c_last)
		*c_last = NULL;
	if (!x || !w_ih || !w_hh)
		return NULL;
	if (cell < SEQC_CELL_RNN_TANH || cell > SEQC_CELL_GRU) {
		seqc_error(SEQC_EINVAL, "rnn: unknown cell kind %d", (int)cell);
		return NULL;
	}
	size_t G = (size_t)seqc_cell_gates(cell);
	if (x->ndim != 3 || w_ih->ndim != 2 || w_ih->shape[0] % G) {
		seqc_error(SEQC_ESHAPE, "rnn: x %s must be [B, T, I] and weight_ih %s [%zu*H, I]",
			   seqc_shape_str(x, sx, sizeof sx), seqc_shape_str(w_ih, sw, sizeof sw), G);
		return NULL;
	}
	size_t B = x->shape[0], T = x->shape[1], IN = x->shape[2], H = w_ih->shape[0] / G, GH = G * H;
	bool lstm = cell == SEQC_CELL_LSTM;
	if (!check_2d(w_ih, GH, IN) || !check_2d(w_hh, GH, H) || (b_ih && !check_1d(b_ih, GH)) ||
	    (b_hh && !check_1d(b_hh, GH)) || (!b_ih != !b_hh) || (h0 && !check_2d(h0, B, H)) ||
	    (c0 && (!lstm || !check_2d(c0, B, H)))) {
		seqc_error(SEQC_ESHAPE,
			   "rnn (%s): with x %s the weights must be [%zu, %zu] and [%zu, %zu], the biases "
			   "[%zu] (both or neither), the initial states [%zu, %zu]%s",
			   seqc_cell_name(cell), seqc_shape_str(x, sx, sizeof sx), GH, IN, GH, H, GH, B, H,
			   lstm ? "" : " (no cell state)");
		return NULL;
	}
	bool bad_lens;
	const size_t *lens_copy = copy_lens(g, lens, B, T, &bad_lens);
	if (bad_lens)
		return NULL;
	seqc_tensor *in[7] = { x, h0, c0, w_ih, w_hh, b_ih, b_hh };
	bool grad = seqc_graph_wants_grad(g, in, 7);
	size_t ys[3] = { B, T, H }, hs[2] = { B, H };
	rnn_saved *s = seqc_graph_alloc(g, sizeof *s);
	if (!s)
		return NULL;
	memset(s, 0, sizeof *s);
	*s = (rnn_saved){ .cell = cell, .reverse = reverse, .B = B, .T = T, .IN = IN, .H = H,
			  .lens = lens_copy, .x = x, .h0 = h0, .c0 = c0, .w_ih = w_ih, .w_hh = w_hh, .b_ih = b_ih,
			  .b_hh = b_hh };
	s->y = seqc_graph_output(g, 3, ys, grad);
	s->h_last = s->y ? seqc_graph_output(g, 2, hs, grad) : NULL;
	s->c_last = s->h_last && lstm ? seqc_graph_output(g, 2, hs, grad) : NULL;
	float *pre = seqc_graph_alloc(g, B * T * GH * sizeof(float));
	s->zeros = pre ? seqc_graph_alloc(g, GH * sizeof(float)) : NULL;
	if (!s->zeros)
		return NULL;
	memset(s->zeros, 0, GH * sizeof(float));
	float *rec = pre ? seqc_graph_alloc(g, B * GH * sizeof(float)) : NULL;
	if (!s->h_last || (lstm && !s->c_last) || !rec)
		return NULL;
	if (G > 1 && (s->gates = seqc_graph_alloc(g, B * T * GH * sizeof(float))) == NULL)
		return NULL;
	if (lstm && (s->cells = seqc_graph_alloc(g, B * T * H * sizeof(float))) == NULL)
		return NULL;
	if (lstm && (s->tanh_cells = seqc_graph_alloc(g, B * T * H * sizeof(float))) == NULL)
		return NULL;
	if (cell == SEQC_CELL_GRU && (s->hn = seqc_graph_alloc(g, B * T * H * sizeof(float))) == NULL)
		return NULL;

	/* pre = x W_ih^T + b_ih + b_hh, except GRU's n gate where b_hn must
	 * stay inside r (W_hn h + b_hn). */
	float *bias_row = rec; /* rec is free until the first step */
	for (size_t k = 0; k < GH; k++) {
		bool hidden_inside = cell == SEQC_CELL_GRU && k >= 2 * H;
		bias_row[k] = b_ih ? b_ih->val[k] + (hidden_inside ? 0.0f : b_hh->val[k]) : 0.0f;
	}
	for (size_t r = 0; r < B * T; r++)
		memcpy(pre + r * GH, bias_row, GH * sizeof(float));
	seqc_gemm(false, true, (B * T), GH, IN, 1.0f, x->val, IN, w_ih->val, IN, 1.0f, pre, GH);
	const float *b_hn = cell == SEQC_CELL_GRU && b_hh ? b_hh->val + 2 * H : NULL;

	/* W_hh^T [H, G*H] packed once for all steps */
	bool packed = use_packed(B, T);
	float *w_hh_t_packed = NULL;
	if (packed) {
		w_hh_t_packed = seqc_graph_alloc(g, seqc_packed_floats(H, GH) * sizeof(float));
		if (!w_hh_t_packed)
			return NULL;
		seqc_pack(w_hh->val, H, true, H, GH, w_hh_t_packed);
	}
	const float *h_prev = h0 ? h0->val : NULL, *c_prev = c0 ? c0->val : NULL;
	size_t ld_prev = H;
	for (size_t step = 0; step < T; step++) {
		size_t t = step_time(s, step);
		if (h_prev && packed)
			seqc_gemm_packed(B, GH, H, h_prev, ld_prev, w_hh_t_packed, 0.0f, rec, GH);
		else if (h_prev)
			seqc_gemm(false, true, B, GH, H, 1.0f, h_prev, ld_prev, w_hh->val, H, 0.0f, rec, GH);
		if (lens_copy && h0 && reverse && step > 0)
			late_start_products(s, t, step, rec);
		step_forward(s, t, step, pre, h_prev ? rec : NULL, h_prev, ld_prev, c_prev, ld_prev, b_hn);
		h_prev = s->y->val + t * H;
		c_prev = lstm ? s->cells + t * H : NULL;
		ld_prev = T * H;
	}
	for (size_t b = 0; b < B; b++) {
		/* forward: after the row's last token; reverse: time 0 */
		size_t t_last = reverse ? 0 : lens_copy ? lens_copy[b] - 1 : T - 1;
		memcpy(s->h_last->val + b * H, s->y->val + (b * T + t_last) * H, H * sizeof(float));
		if (lstm)
			memcpy(s->c_last->val + b * H, s->cells + (b * T + t_last) * H, H * sizeof(float));
	}
	if (grad) {
		seqc_node *node = seqc_graph_record(g, seqc_cell_name(cell), rnn_backward, s->y, in, 0);
		s->dpre = node ? seqc_graph_alloc(g, B * T * GH * sizeof(float)) : NULL;
		s->dgh = cell == SEQC_CELL_GRU && s->dpre ? seqc_graph_alloc(g, B * T * GH * sizeof(float))
							  : s->dpre;
		s->dh_next = s->dgh ? seqc_graph_alloc(g, B * H * sizeof(float)) : NULL;
		s->dc_next = s->dh_next ? seqc_graph_alloc(g, B * H * sizeof(float)) : NULL;
		s->hprev_all = s->dc_next ? seqc_graph_alloc(g, B * T * H * sizeof(float)) : NULL;
		s->ones = s->hprev_all ? seqc_graph_alloc(g, B * T * sizeof(float)) : NULL;
		if (!s->ones)
			return NULL;
		if (packed && !(s->w_hh_packed = seqc_graph_alloc(g, seqc_packed_floats(GH, H) * sizeof(float))))
			return NULL;
		node->saved = s;
	}
	if (h_last)
		*h_last = s->h_last;
	if (c_last)
		*c_last = s->c_last;
	return s->y;
}

int seqc_rnn_cell_step(seqc_graph *g, seqc_cell_kind cell, seqc_tensor *x, seqc_tensor *h,
		       seqc_tensor *c, seqc_tensor *w_ih, seqc_tensor *w_hh, seqc_tensor *b_ih,
		       seqc_tensor *b_hh, seqc_tensor **h_new, seqc_tensor **c_new)
{
	char sx[64];
	*h_new = NULL;
	if (c_new)
		*c_new = NULL;
	if (!x)
		return seqc_errcode();
	if (x->ndim != 2)
		return seqc_error(SEQC_ESHAPE, "rnn step: x %s must be [B, IN]",
				  seqc_shape_str(x, sx, sizeof sx));
	seqc_tensor *x3 = seqc_reshape(g, x, 3, (size_t[]){ x->shape[0], 1, x->shape[1] });
	seqc_tensor *y = seqc_rnn_layer(g, cell, x3, h, c, w_ih, w_hh, b_ih, b_hh, false, h_new, c_new);
	return y ? 0 : seqc_errcode();
}

/* ---- the multi-layer module ---- */

int seqc_rnn_declare(seqc_rnn *r, const seqc_rnn_config *c, seqc_params *p, const char *prefix)
{
	memset(r, 0, sizeof *r);
	if (c->cell < SEQC_CELL_RNN_TANH || c->cell > SEQC_CELL_GRU)
		return seqc_error(SEQC_EINVAL, "rnn: unknown cell kind %d", (int)c->cell);
	if (!c->input_size || !c->hidden_size || !c->layers || c->layers > SEQC_RNN_MAX_LAYERS)
		return seqc_error(SEQC_EINVAL,
				  "rnn: input size %zu, hidden size %zu and layers %zu must be positive "
				  "(layers at most %d)",
				  c->input_size, c->hidden_size, c->layers, SEQC_RNN_MAX_LAYERS);
	if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
		return seqc_error(SEQC_EINVAL, "rnn: dropout %g is outside [0, 1)", (double)c->dropout);
	if (c->forget_bias_one && (c->cell != SEQC_CELL_LSTM || !c->bias))
		return seqc_error(SEQC_EINVAL, "rnn: forget bias one needs an LSTM with biases");
	r->c = *c;
	size_t D = c->bidirectional ? 2 : 1, H = c->hidden_size;
	size_t GH = (size_t)seqc_cell_gates(c->cell) * H;
	/* PyTorch: every weight and bias U(-1/sqrt(H), 1/sqrt(H)). */
	seqc_init init = { SEQC_INIT_UNIFORM, 1.0f / sqrtf((float)H) };
	for (size_t l = 0; l < c->layers; l++)
		for (size_t d = 0; d < D; d++) {
			size_t k = l * D + d, in = l == 0 ? c->input_size : D * H;
			const char *suffix = d ? "_reverse" : "";
			char name[256];
			snprintf(name, sizeof name, "%sweight_ih_l%zu%s", prefix, l, suffix);
			r->w_ih[k] = seqc_params_add(p, name, 2, (size_t[]){ GH, in }, init, false);
			snprintf(name, sizeof name, "%sweight_hh_l%zu%s", prefix, l, suffix);
			r->w_hh[k] = seqc_params_add(p, name, 2, (size_t[]){ GH, H }, init, false);
			if (!r->w_ih[k] || !r->w_hh[k])
				return seqc_errcode();
			if (!c->bias)
				continue;
			snprintf(name, sizeof name, "%sbias_ih_l%zu%s", prefix, l, suffix);
			r->b_ih[k] = seqc_params_add(p, name, 1, &GH, init, true);
			snprintf(name, sizeof name, "%sbias_hh_l%zu%s", prefix, l, suffix);
			r->b_hh[k] = seqc_params_add(p, name, 1, &GH, init, true);
			if (!r->b_ih[k] || !r->b_hh[k])
				return seqc_errcode();
		}
	return 0;
}

int seqc_rnn_post_init(seqc_rnn *r, seqc_rng *rng)
{
	size_t D = r->c.bidirectional ? 2 : 1, H = r->c.hidden_size;
	size_t G = (size_t)seqc_cell_gates(r->c.cell);
	for (size_t k = 0; k < r->c.layers * D; k++) {
		if (r->c.orthogonal_hh) {
			/* one orthogonal [H, H] block per gate, as is usual for
			 * gated cells (Saxe et al. 2014) */
			for (size_t gate = 0; gate < G; gate++) {
				seqc_tensor block = { .val = r->w_hh[k]->val + gate * H * H, .ndim = 2,
						      .shape = { H, H }, .numel = H * H };
				int rc = seqc_init_tensor(&block, (seqc_init){ SEQC_INIT_ORTHOGONAL, 1.0f }, rng);
				if (rc < 0)
					return rc;
			}
		}
		if (r->c.forget_bias_one)
			for (size_t j = 0; j < H; j++) {
				r->b_ih[k]->val[H + j] = 1.0f;
				r->b_hh[k]->val[H + j] = 0.0f;
			}
	}
	return 0;
}

/* [L*D, B, H] state -> the [B, H] slice of layer-direction k (a copy with
 * its own gradient link). */
static seqc_tensor *state_slice(seqc_graph *g, seqc_tensor *s, size_t k)
{
	if (!s)
		return NULL;
	seqc_tensor *one = seqc_slice(g, s, 0, k, 1);
	return seqc_reshape(g, one, 2, (size_t[]){ s->shape[1], s->shape[2] });
}

/* Stack per-layer [B, H] states into [L*D, B, H]. */
static seqc_tensor *state_stack(seqc_graph *g, seqc_tensor **parts, size_t n)
{
	seqc_tensor *three[2 * SEQC_RNN_MAX_LAYERS];
	for (size_t k = 0; k < n; k++) {
		if (!parts[k])
			return NULL;
		three[k] = seqc_reshape(g, parts[k], 3, (size_t[]){ 1, parts[k]->shape[0], parts[k]->shape[1] });
	}
	return seqc_concat(g, three, (int)n, 0);
}

int seqc_rnn_forward(seqc_graph *g, const seqc_rnn *r, seqc_tensor *x, seqc_tensor *h0,
		     seqc_tensor *c0, seqc_rng *rng, seqc_tensor **y, seqc_tensor **h_n,
		     seqc_tensor **c_n)
{
	return seqc_rnn_forward_lens(g, r, x, NULL, h0, c0, rng, y, h_n, c_n);
}

int seqc_rnn_forward_lens(seqc_graph *g, const seqc_rnn *r, seqc_tensor *x, const size_t *lens,
			  seqc_tensor *h0, seqc_tensor *c0, seqc_rng *rng, seqc_tensor **y,
			  seqc_tensor **h_n, seqc_tensor **c_n)
{
	char sx[64], sh[64];
	*y = NULL;
	if (h_n)
		*h_n = NULL;
	if (c_n)
		*c_n = NULL;
	if (!x)
		return seqc_errcode();
	size_t D = r->c.bidirectional ? 2 : 1, L = r->c.layers, H = r->c.hidden_size;
	bool lstm = r->c.cell == SEQC_CELL_LSTM;
	if (x->ndim != 3 || x->shape[2] != r->c.input_size)
		return seqc_error(SEQC_ESHAPE, "rnn: input %s must be [B, T, %zu]",
				  seqc_shape_str(x, sx, sizeof sx), r->c.input_size);
	size_t B = x->shape[0];
	for (int k = 0; k < 2; k++) {
		seqc_tensor *s = k ? c0 : h0;
		if (s && (s->ndim != 3 || s->shape[0] != L * D || s->shape[1] != B || s->shape[2] != H))
			return seqc_error(SEQC_ESHAPE, "rnn: initial %s state %s must be [%zu, %zu, %zu]",
					  k ? "cell" : "hidden", seqc_shape_str(s, sh, sizeof sh), L * D,
					  B, H);
	}
	if (c0 && !lstm)
		return seqc_error(SEQC_EINVAL, "rnn: a cell state is given to a %s",
				  seqc_cell_name(r->c.cell));
	seqc_tensor *hs[2 * SEQC_RNN_MAX_LAYERS], *cs[2 * SEQC_RNN_MAX_LAYERS];
	seqc_tensor *input = x;
	for (size_t l = 0; l < L; l++) {
		seqc_tensor *outs[2];
		for (size_t d = 0; d < D; d++) {
			size_t k = l * D + d;
			outs[d] = seqc_rnn_layer_lens(g, r->c.cell, input, lens, state_slice(g, h0, k),
						      state_slice(g, c0, k), r->w_ih[k], r->w_hh[k],
						      r->b_ih[k], r->b_hh[k], d == 1, &hs[k], &cs[k]);
			if (!outs[d])
				return seqc_errcode();
		}
		input = D == 2 ? seqc_concat(g, outs, 2, 2) : outs[0];
		if (l + 1 < L && r->c.dropout > 0.0f)
			input = seqc_dropout(g, input, r->c.dropout, rng);
		if (!input)
			return seqc_errcode();
	}
	*y = input;
	if (h_n && !(*h_n = state_stack(g, hs, L * D)))
		return seqc_errcode();
	if (c_n && lstm && !(*c_n = state_stack(g, cs, L * D)))
		return seqc_errcode();
	return 0;
}
