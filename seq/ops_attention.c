/* Multi-head scaled dot-product attention as one fused op, and its graph-free
 * single-query form for decoding with a KV cache.
 *
 * Layout: head h of a row reads columns [off + h dh, off + (h + 1) dh) of its
 * tensor, so every per-head matrix is a strided view (leading dimension = the
 * tensor's width W) that sgemm reads in place: no transposes, no copies.
 *
 * Forward, per (batch, head), in blocks of query rows [i0, i1) that see the
 * first nk keys (all Tk, or fewer under the causal mask, so the masked upper
 * triangle is never computed):
 *   S = Q K^T / sqrt(dh)          one sgemm into the rows of P
 *   P = softmax(S + masks)        per row, in place, masked entries exactly 0
 *   O = dropout(P) V              one sgemm into the output's columns
 * Backward, same blocks, with D the dropped weights (P when no dropout):
 *   dV += D^T dO,  dD = dO V^T,  dP = dD * keep / (1 - p),
 *   dS = P (dP - rowsum(dP P)),  dQ += dS K / sqrt(dh),  dK += dS^T Q / sqrt(dh).
 * Each (batch, head) pair writes its own columns of its own rows, so pairs run
 * in parallel; cblas called inside the parallel region runs single-threaded
 * (OpenBLAS's OpenMP variant checks omp_in_parallel): the CPU time of a step
 * summed over 2 threads measured the same as with one.
 * Why sgemm for these small per-head products: plain vectorized loops (a
 * dot product per score, an axpy per weight) measured 2.3x slower for the
 * forward (1.30 vs 0.57 ms at B 12, T 64, C 128, 4 heads; 23.4 vs 9.6 ms at
 * B 8, T 256, C 384, 6 heads; one thread, CPU time). */
#include <assert.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "seq/attention_internal.h"
#include "seq/blas_internal.h"
#include "seq/fastmath.h"
#include "seq/graph_internal.h"
#include "seq/ops.h"

/* Query rows per block under the causal mask: small enough that the skipped
 * triangle is most of the masked half, large enough for sgemm to pay. */
#define CAUSAL_BLOCK 32

/* What forward saves for backward (and uses itself). */
typedef struct attn_saved {
	seqc_cols q, k, v;
	size_t B, Tq, Tk, C, H, dh;
	bool causal;
	float scale;      /* 1 / sqrt(dh) */
	float keep_scale; /* 1 / (1 - p) with dropout, else 0 */
	size_t block;     /* query rows per block */
	float *p;         /* [B, H, Tq, Tk] softmax weights, 0 where masked or skipped;
			   * NULL when nothing needs them after the forward (no
			   * gradient, no readout, no dropout): each block's rows then
			   * live in the scratch rows of its thread */
	float *pd;        /* [B, H, Tq, Tk] the weights after dropout; == p without */
	float *scratch;   /* [threads, block, Tk] dD rows for backward */
	int threads;
	bool serial;      /* column ranges of one tensor partly overlap: backward runs serially */
} attn_saved;

/* Number of keys query row i sees: under the causal mask j <= i + (Tk - Tq),
 * clamped to [0, Tk]. */
static size_t visible_keys(const attn_saved *s, size_t i)
{
	if (!s->causal)
		return s->Tk;
	long long n = (long long)i + 1 + (long long)s->Tk - (long long)s->Tq;
	return n <= 0 ? 0 : (size_t)n > s->Tk ? s->Tk : (size_t)n;
}

static size_t width(const seqc_cols *c)
{
	return c->x->shape[2];
}

/* Head h of batch row b in buffer base (values or gradients of c's tensor). */
static float *head_ptr(float *base, const seqc_cols *c, size_t b, size_t T, size_t h, size_t dh)
{
	return base + b * T * width(c) + c->off + h * dh;
}

/* One (batch, head) pair's operands: strided [T, dh] views of q, k, v and
 * its [Tq, Tk] weights before (p) and after (d) dropout. */
typedef struct head {
	const float *q, *k, *v;
	size_t ldq, ldk, ldv;
	float *p, *d;
} head;

static head head_of(const attn_saved *s, size_t b, size_t h)
{
	size_t w = (b * s->H + h) * s->Tq * s->Tk;
	return (head){ .q = head_ptr(s->q.x->val, &s->q, b, s->Tq, h, s->dh),
		       .k = head_ptr(s->k.x->val, &s->k, b, s->Tk, h, s->dh),
		       .v = head_ptr(s->v.x->val, &s->v, b, s->Tk, h, s->dh),
		       .ldq = width(&s->q), .ldk = width(&s->k), .ldv = width(&s->v),
		       .p = s->p ? s->p + w : NULL, .d = s->pd ? s->pd + w : NULL };
}

/* Row loops: reductions in SEQC_LANES partial results so that they
 * vectorize, the callers cloned for AVX2 (seq/fastmath.h). */

/* max of x[0, n), -inf when n == 0 */
static inline float row_max(const float *x, size_t n)
{
	float part[SEQC_LANES];
	for (int l = 0; l < SEQC_LANES; l++)
		part[l] = -INFINITY;
	size_t j = 0;
	for (; j + SEQC_LANES <= n; j += SEQC_LANES)
		for (int l = 0; l < SEQC_LANES; l++)
			part[l] = x[j + l] > part[l] ? x[j + l] : part[l];
	for (; j < n; j++)
		part[0] = x[j] > part[0] ? x[j] : part[0];
	float m = part[0];
	for (int l = 1; l < SEQC_LANES; l++)
		m = part[l] > m ? part[l] : m;
	return m;
}

/* sum of x[0, n) */
static inline float row_sum(const float *x, size_t n)
{
	float part[SEQC_LANES] = { 0 };
	size_t j = 0;
	for (; j + SEQC_LANES <= n; j += SEQC_LANES)
		for (int l = 0; l < SEQC_LANES; l++)
			part[l] += x[j + l];
	for (; j < n; j++)
		part[0] += x[j];
	return seqc_lanes_sum(part);
}

/* sum of x[j] y[j] over [0, n) */
static inline float row_dot(const float *x, const float *y, size_t n)
{
	float part[SEQC_LANES] = { 0 };
	size_t j = 0;
	for (; j + SEQC_LANES <= n; j += SEQC_LANES)
		for (int l = 0; l < SEQC_LANES; l++)
			part[l] += x[j + l] * y[j + l];
	for (; j < n; j++)
		part[0] += x[j] * y[j];
	return seqc_lanes_sum(part);
}

/* softmax over row[0, n) in place after the additive mask and key padding;
 * row[n, Tk) = 0. A row with no visible key is all zeros. */
SEQC_SIMD_CLONES static void softmax_row(float *row, size_t n, size_t Tk, const float *mask,
				   const uint8_t *pad)
{
	if (mask)
		for (size_t j = 0; j < n; j++)
			row[j] += mask[j];
	if (pad)
		for (size_t j = 0; j < n; j++)
			row[j] = pad[j] ? -INFINITY : row[j];
	float max = row_max(row, n);
	if (max == -INFINITY) {
		memset(row, 0, Tk * sizeof(float));
		return;
	}
	/* masked entries exactly 0 (fast_exp clamps -inf to e^-87) */
	for (size_t j = 0; j < n; j++)
		row[j] = row[j] == -INFINITY ? 0.0f : seqc_fast_exp(row[j] - max);
	float inv = 1.0f / row_sum(row, n);
	for (size_t j = 0; j < n; j++)
		row[j] *= inv;
	memset(row + n, 0, (Tk - n) * sizeof(float));
}

/* One row of dS from dD (in dp, overwritten) over [0, nk):
 * dP = dD * keep (keep = 1 / (1 - p) where the weight was kept, 0 where
 * dropped; dD itself without dropout), dS = P (dP - sum(dP P)). */
SEQC_SIMD_CLONES static void softmax_grad_row(float *dp, const float *pr, const float *dr, float keep,
					size_t nk)
{
	if (dr)
		/* entries with P = 0 drop out of dS whatever dD is */
		for (size_t j = 0; j < nk; j++)
			dp[j] = dr[j] != 0.0f ? dp[j] * keep : 0.0f;
	float dot = row_dot(dp, pr, nk);
	for (size_t j = 0; j < nk; j++)
		dp[j] = pr[j] * (dp[j] - dot);
}

/* The forward of one (batch, head) pair; out is [B, Tq, C]; rows [block,
 * Tk] of scratch hold a block's weights when they are not stored. */
static void attn_head_forward(const attn_saved *s, size_t b, size_t h, const seqc_attn_opts *o,
			      float *out, float *scratch)
{
	size_t Tq = s->Tq, Tk = s->Tk, dh = s->dh;
	head hd = head_of(s, b, h);
	size_t ldq = hd.ldq, ldk = hd.ldk, ldv = hd.ldv;
	const float *Q = hd.q, *K = hd.k, *V = hd.v;
	float *O = out + b * Tq * s->C + h * dh;
	const uint8_t *pad = o->key_pad ? o->key_pad + b * Tk : NULL;
	for (size_t i0 = 0; i0 < Tq; i0 += s->block) {
		size_t i1 = i0 + s->block < Tq ? i0 + s->block : Tq, m = i1 - i0;
		size_t nk = visible_keys(s, i1 - 1);
		/* this block's rows of P and D (the same rows without dropout) */
		float *P = hd.p ? hd.p + i0 * Tk : scratch, *D = hd.p ? hd.d + i0 * Tk : P;
		if (nk == 0) {
			memset(P, 0, m * Tk * sizeof(float));
			if (D != P)
				memset(D, 0, m * Tk * sizeof(float));
			for (size_t i = i0; i < i1; i++)
				memset(O + i * s->C, 0, dh * sizeof(float));
			continue;
		}
		seqc_gemm(false, true, m, nk, dh, s->scale, Q + i0 * ldq, ldq, K, ldk, 0.0f, P, Tk);
		for (size_t i = i0; i < i1; i++)
			softmax_row(P + (i - i0) * Tk, visible_keys(s, i), Tk,
				    o->mask ? o->mask + i * Tk : NULL, pad);
		if (D != P)
			/* D holds the keep factors drawn by forward: 0 or 1 / (1 - p) */
			for (size_t e = 0; e < m * Tk; e++)
				D[e] *= P[e];
		seqc_gemm(false, false, m, dh, nk, 1.0f, D, Tk, V, ldv, 0.0f, O + i0 * s->C, s->C);
	}
}

/* The backward of one (batch, head) pair, with dD scratch [block, Tk]. */
static void attn_head_backward(const attn_saved *s, size_t b, size_t h, const float *dout,
			       float *scratch)
{
	size_t Tq = s->Tq, Tk = s->Tk, dh = s->dh;
	head hd = head_of(s, b, h);
	size_t ldq = hd.ldq, ldk = hd.ldk, ldv = hd.ldv;
	const float *Q = hd.q, *K = hd.k, *V = hd.v, *P = hd.p, *D = hd.d;
	float *dQ = s->q.x->grad ? head_ptr(s->q.x->grad, &s->q, b, Tq, h, dh) : NULL;
	float *dK = s->k.x->grad ? head_ptr(s->k.x->grad, &s->k, b, Tk, h, dh) : NULL;
	float *dV = s->v.x->grad ? head_ptr(s->v.x->grad, &s->v, b, Tk, h, dh) : NULL;
	const float *dO = dout + b * Tq * s->C + h * dh;
	for (size_t i0 = 0; i0 < Tq; i0 += s->block) {
		size_t i1 = i0 + s->block < Tq ? i0 + s->block : Tq, m = i1 - i0;
		size_t nk = visible_keys(s, i1 - 1);
		if (nk == 0)
			continue;
		if (dV)
			seqc_gemm(true, false, nk, dh, m, 1.0f, D + i0 * Tk, Tk, dO + i0 * s->C, s->C,
				  1.0f, dV, ldv);
		if (!dQ && !dK)
			continue;
		seqc_gemm(false, true, m, nk, dh, 1.0f, dO + i0 * s->C, s->C, V, ldv, 0.0f, scratch,
			  Tk);
		for (size_t i = i0; i < i1; i++)
			softmax_grad_row(scratch + (i - i0) * Tk, P + i * Tk, D != P ? D + i * Tk : NULL,
					 s->keep_scale, nk);
		if (dQ)
			seqc_gemm(false, false, m, dh, nk, s->scale, scratch, Tk, K, ldk, 1.0f,
				  dQ + i0 * ldq, ldq);
		if (dK)
			seqc_gemm(true, false, nk, dh, m, s->scale, scratch, Tk, Q + i0 * ldq, ldq, 1.0f,
				  dK, ldk);
	}
}

static int thread_id(void)
{
#ifdef _OPENMP
	return omp_get_thread_num();
#else
	return 0;
#endif
}

static void attention_backward(seqc_node *node)
{
	const attn_saved *s = node->saved;
	size_t pairs = s->B * s->H;
	size_t work = s->Tq * s->Tk * s->dh;
	const float *dout = node->out->grad;
	if (s->serial) {
		for (size_t bh = 0; bh < pairs; bh++)
			attn_head_backward(s, bh / s->H, bh % s->H, dout, s->scratch);
		return;
	}
#pragma omp parallel for num_threads(s->threads) schedule(static) if (pairs > 1 && pairs * work > SEQC_PAR_MIN)
	for (size_t bh = 0; bh < pairs; bh++)
		attn_head_backward(s, bh / s->H, bh % s->H, dout,
				   s->scratch + (size_t)thread_id() * s->block * s->Tk);
}

/* Two column ranges of one tensor that overlap without being the same: the
 * heads of one would race with other heads of the other in backward. */
static bool ranges_clash(const seqc_cols *a, const seqc_cols *b, size_t C)
{
	return a->x == b->x && a->off != b->off && a->off < b->off + C && b->off < a->off + C;
}

static int check_cols(const seqc_cols *c, const char *name, size_t C)
{
	char sx[64];
	if (c->x->ndim != 3 || c->off > c->x->shape[2] || c->x->shape[2] - c->off < C)
		return seqc_error(SEQC_ESHAPE, "attention: %s %s has no columns [%zu, %zu + %zu) of a [B, T, W] tensor",
				  name, seqc_shape_str(c->x, sx, sizeof sx), c->off, c->off, C);
	return 0;
}

static int check_args(seqc_cols q, seqc_cols k, seqc_cols v, size_t C, const seqc_attn_opts *o,
		      bool training)
{
	char sq[64], sk[64], sv[64];
	if (!o)
		return seqc_error(SEQC_EINVAL, "attention: options are NULL");
	if (o->heads == 0 || C == 0 || C % o->heads != 0)
		return seqc_error(SEQC_EINVAL, "attention: C %zu is not a positive multiple of heads %zu",
				  C, o->heads);
	int rc = check_cols(&q, "q", C);
	rc = rc ? rc : check_cols(&k, "k", C);
	rc = rc ? rc : check_cols(&v, "v", C);
	if (rc)
		return rc;
	if (q.x->shape[0] != k.x->shape[0] || k.x->shape[0] != v.x->shape[0] ||
	    k.x->shape[1] != v.x->shape[1])
		return seqc_error(SEQC_ESHAPE, "attention: q %s, k %s and v %s do not fit (same B; k and v the same T)",
				  seqc_shape_str(q.x, sq, sizeof sq), seqc_shape_str(k.x, sk, sizeof sk),
				  seqc_shape_str(v.x, sv, sizeof sv));
	if (!(o->dropout >= 0.0f && o->dropout < 1.0f))
		return seqc_error(SEQC_EINVAL, "attention: dropout %g is outside [0, 1)", (double)o->dropout);
	if (training && o->dropout > 0.0f && !o->rng)
		return seqc_error(SEQC_EINVAL, "attention: dropout %g needs an rng", (double)o->dropout);
	return 0;
}

/* Keep factors (0 or 1 / (1 - p)) for every visible weight, drawn serially so
 * the mask depends on the seed, not on the threads. */
static void draw_dropout(const attn_saved *s, float p, seqc_rng *rng)
{
	for (size_t bh = 0; bh < s->B * s->H; bh++)
		for (size_t i = 0; i < s->Tq; i++) {
			float *row = s->pd + (bh * s->Tq + i) * s->Tk;
			size_t n = visible_keys(s, i);
			for (size_t j = 0; j < n; j++)
				row[j] = seqc_rng_uniform(rng) < p ? 0.0f : s->keep_scale;
			memset(row + n, 0, (s->Tk - n) * sizeof(float));
		}
}

static int max_threads(void)
{
#ifdef _OPENMP
	return omp_get_max_threads();
#else
	return 1;
#endif
}

seqc_tensor *seqc_attention(seqc_graph *g, seqc_cols q, seqc_cols k, seqc_cols v, size_t C,
			    const seqc_attn_opts *o)
{
	if (!q.x || !k.x || !v.x)
		return NULL;
	bool training = seqc_graph_training(g);
	if (check_args(q, k, v, C, o, training))
		return NULL;
	size_t B = q.x->shape[0], Tq = q.x->shape[1], Tk = k.x->shape[1], H = o->heads;
	size_t nweights;
	if (seqc_shape_numel(4, (size_t[]){ B, H, Tq, Tk }, &nweights, "attention weights"))
		return NULL;
	bool dropout = training && o->dropout > 0.0f;
	seqc_tensor *in[3] = { q.x, k.x, v.x };
	bool grad = seqc_graph_wants_grad(g, in, 3);
	seqc_tensor *out = seqc_graph_output(g, 3, (size_t[]){ B, Tq, C }, grad);
	attn_saved *s = out ? seqc_graph_alloc(g, sizeof *s) : NULL;
	if (!s)
		return NULL;
	*s = (attn_saved){ .q = q, .k = k, .v = v, .B = B, .Tq = Tq, .Tk = Tk, .C = C, .H = H,
			   .dh = C / H, .causal = o->causal, .scale = 1.0f / sqrtf((float)(C / H)),
			   .keep_scale = dropout ? 1.0f / (1.0f - o->dropout) : 0.0f,
			   .block = o->causal && Tq > CAUSAL_BLOCK ? CAUSAL_BLOCK : Tq,
			   .threads = max_threads(),
			   .serial = ranges_clash(&q, &k, C) || ranges_clash(&q, &v, C) ||
				     ranges_clash(&k, &v, C) };
	if (grad || o->weights || dropout) {
		s->p = seqc_graph_alloc(g, nweights * sizeof(float));
		s->pd = s->p && dropout ? seqc_graph_alloc(g, nweights * sizeof(float)) : s->p;
		if (!s->pd)
			return NULL;
	}
	if (grad || !s->p)
		s->scratch = seqc_graph_alloc(g, (size_t)s->threads * s->block * Tk * sizeof(float));
	if ((grad || !s->p) && !s->scratch)
		return NULL;
	if (dropout)
		draw_dropout(s, o->dropout, o->rng);
	size_t pairs = B * H;
#pragma omp parallel for num_threads(s->threads) schedule(static) if (pairs > 1 && pairs * Tq * Tk * s->dh > SEQC_PAR_MIN)
	for (size_t bh = 0; bh < pairs; bh++)
		attn_head_forward(s, bh / H, bh % H, o, out->val,
				  s->scratch ? s->scratch + (size_t)thread_id() * s->block * Tk : NULL);
	if (o->weights)
		memcpy(o->weights, s->p, nweights * sizeof(float));
	if (grad) {
		seqc_node *node = seqc_graph_record(g, "attention", attention_backward, out, in, 3);
		if (!node)
			return NULL;
		node->saved = s;
	}
	return out;
}

/* ---- one query against a KV cache ---- */

/* Keys per chunk of the streaming softmax (scores on the stack). */
#define CACHE_CHUNK 128

/* out[0, dh) = softmax(q . k_j / sqrt(dh)) v over the n keys of one head,
 * streamed by chunks with a running max: acc and sum are rescaled by
 * exp(old max - new max) when a chunk raises the max. */
SEQC_SIMD_CLONES
static void cached_head(const float *q, const float *k, const float *v, size_t n, size_t kvstride,
			const uint8_t *pad, size_t dh, float scale, float *out)
{
	float s[CACHE_CHUNK];
	float max = -INFINITY, sum = 0.0f;
	memset(out, 0, dh * sizeof(float));
	for (size_t j0 = 0; j0 < n; j0 += CACHE_CHUNK) {
		size_t m = n - j0 < CACHE_CHUNK ? n - j0 : CACHE_CHUNK;
		float cmax = -INFINITY;
		for (size_t j = 0; j < m; j++) {
			float d = row_dot(q, k + (j0 + j) * kvstride, dh);
			s[j] = pad && pad[j0 + j] ? -INFINITY : d * scale;
			cmax = s[j] > cmax ? s[j] : cmax;
		}
		if (cmax == -INFINITY)
			continue;
		if (cmax > max) {
			float r = max == -INFINITY ? 0.0f : expf(max - cmax);
			for (size_t c = 0; c < dh; c++)
				out[c] *= r;
			sum *= r;
			max = cmax;
		}
		for (size_t j = 0; j < m; j++) {
			float e = s[j] == -INFINITY ? 0.0f : seqc_fast_exp(s[j] - max);
			const float *vj = v + (j0 + j) * kvstride;
			sum += e;
			for (size_t c = 0; c < dh; c++)
				out[c] += e * vj[c];
		}
	}
	if (sum > 0.0f) {
		float inv = 1.0f / sum;
		for (size_t c = 0; c < dh; c++)
			out[c] *= inv;
	}
}

void seqc_attn_cached(const float *q, size_t qstride, const float *k, const float *v, size_t n,
		      size_t bstride, size_t kvstride, const uint8_t *key_pad, size_t pad_stride,
		      size_t B, size_t C, size_t heads, float *out)
{
	assert(heads > 0 && C % heads == 0);
	size_t dh = C / heads;
	float scale = 1.0f / sqrtf((float)dh);
	size_t pairs = B * heads;
#pragma omp parallel for schedule(static) if (pairs > 1 && pairs * n * dh > SEQC_PAR_MIN)
	for (size_t bh = 0; bh < pairs; bh++) {
		size_t b = bh / heads, h = bh % heads;
		cached_head(q + b * qstride + h * dh, k + b * bstride + h * dh,
			    v + b * bstride + h * dh, n, kvstride,
			    key_pad ? key_pad + b * pad_stride : NULL, dh, scale, out + b * C + h * dh);
	}
}
