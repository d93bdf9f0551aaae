/* The fused attention op: hand-computed values, a plain reference in double
 * for every mask combination, finite-difference gradient checks, dropout,
 * the KV-cache form row by row, PyTorch golden fixtures and bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"
#include "seq/attention_internal.h"

/* ---- a plain reference ---- */

typedef struct attn_case {
	size_t B, Tq, Tk, C, heads;
	seqc_tensor *q, *k, *v; /* q [B, Tq, Wq], k [B, Tk, Wk], v [B, Tk, Wv] (may be one tensor) */
	size_t qoff, koff, voff;
	seqc_attn_opts o;
	uint64_t dropout_seed;
} attn_case;

/* out [B, Tq, C] and weights [B, H, Tq, Tk] by the definition, in double,
 * with the same convention for a row without visible keys (zeros). */
static void reference(const attn_case *c, float *out, float *weights)
{
	size_t dh = c->C / c->heads, Wq = c->q->shape[2], Wk = c->k->shape[2], Wv = c->v->shape[2];
	double *s = malloc(c->Tk * sizeof *s);
	for (size_t b = 0; b < c->B; b++)
		for (size_t h = 0; h < c->heads; h++)
			for (size_t i = 0; i < c->Tq; i++) {
				double max = -INFINITY, sum = 0;
				for (size_t j = 0; j < c->Tk; j++) {
					const float *qi = c->q->val + (b * c->Tq + i) * Wq + c->qoff + h * dh;
					const float *kj = c->k->val + (b * c->Tk + j) * Wk + c->koff + h * dh;
					double d = 0;
					for (size_t e = 0; e < dh; e++)
						d += (double)qi[e] * kj[e];
					s[j] = d / sqrt((double)dh);
					if (c->o.mask)
						s[j] += c->o.mask[i * c->Tk + j];
					if (c->o.causal && (long long)j > (long long)i + (long long)c->Tk - (long long)c->Tq)
						s[j] = -INFINITY;
					if (c->o.key_pad && c->o.key_pad[b * c->Tk + j])
						s[j] = -INFINITY;
					max = s[j] > max ? s[j] : max;
				}
				for (size_t j = 0; j < c->Tk; j++) {
					s[j] = max == -INFINITY ? 0 : exp(s[j] - max);
					sum += s[j];
				}
				float *w = weights + ((b * c->heads + h) * c->Tq + i) * c->Tk;
				for (size_t j = 0; j < c->Tk; j++)
					w[j] = sum > 0 ? (float)(s[j] / sum) : 0.0f;
				for (size_t e = 0; e < dh; e++) {
					double acc = 0;
					for (size_t j = 0; j < c->Tk; j++)
						acc += (double)w[j] *
						       c->v->val[(b * c->Tk + j) * Wv + c->voff + h * dh + e];
					out[(b * c->Tq + i) * c->C + h * dh + e] = (float)acc;
				}
			}
	free(s);
}

static seqc_tensor *run(seqc_graph *g, void *ctx)
{
	attn_case *c = ctx;
	seqc_rng rng;
	seqc_attn_opts o = c->o;
	if (o.dropout > 0) {
		seqc_rng_seed(&rng, c->dropout_seed, SEQC_STREAM_DROPOUT);
		o.rng = &rng;
	}
	return seqc_attention(g, (seqc_cols){ c->q, c->qoff }, (seqc_cols){ c->k, c->koff },
			      (seqc_cols){ c->v, c->voff }, c->C, &o);
}

/* Masks for a case, filled from a seed: key padding masks the last two keys
 * of the last batch row; the additive mask is random with one -inf. */
typedef struct masks {
	uint8_t pad[320];
	float add[160 * 160];
} masks;

static void make_masks(masks *m, const attn_case *c, uint64_t seed)
{
	memset(m->pad, 0, sizeof m->pad);
	ck_assert_uint_le(c->B * c->Tk, sizeof m->pad);
	ck_assert_uint_le(c->Tq * c->Tk, sizeof m->add / sizeof m->add[0]);
	for (size_t j = c->Tk - 2; j < c->Tk; j++)
		m->pad[(c->B - 1) * c->Tk + j] = 1;
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, 3);
	for (size_t i = 0; i < c->Tq * c->Tk; i++)
		m->add[i] = 2.0f * seqc_rng_uniform(&rng) - 1.0f;
	m->add[c->Tk] = -INFINITY; /* row 1, key 0 */
}

enum { M_CAUSAL = 1, M_PAD = 2, M_ADD = 4 };

/* Separate q, k, v tensors (qkv false) or one packed [B, T, 3C + 2] tensor
 * at offsets 1, C + 1, 2C + 1 (self-attention only). */
static void make_case(attn_case *c, size_t B, size_t Tq, size_t Tk, size_t C, size_t heads,
		      bool packed, int which, masks *m, uint64_t seed)
{
	*c = (attn_case){ .B = B, .Tq = Tq, .Tk = Tk, .C = C, .heads = heads };
	if (packed) {
		ck_assert_uint_eq(Tq, Tk);
		c->q = c->k = c->v = rand_tensor(3, SHAPE(B, Tq, 3 * C + 2), -1.5f, 1.5f, seed);
		c->qoff = 1;
		c->koff = C + 1;
		c->voff = 2 * C + 1;
	} else {
		c->q = rand_tensor(3, SHAPE(B, Tq, C), -1.5f, 1.5f, seed);
		c->k = rand_tensor(3, SHAPE(B, Tk, C), -1.5f, 1.5f, seed + 1);
		c->v = rand_tensor(3, SHAPE(B, Tk, C), -1.5f, 1.5f, seed + 2);
	}
	make_masks(m, c, seed);
	c->o = (seqc_attn_opts){ .heads = heads, .causal = which & M_CAUSAL,
				 .key_pad = which & M_PAD ? m->pad : NULL,
				 .mask = which & M_ADD ? m->add : NULL };
}

static void free_case(attn_case *c)
{
	seqc_tensor_destroy(c->q);
	if (c->k != c->q)
		seqc_tensor_destroy(c->k);
	if (c->v != c->q)
		seqc_tensor_destroy(c->v);
}

/* ---- hand-computed values ---- */

/* q = k = I (2 x 2), v = [[1, 2], [3, 4]], one head: row 0 scores
 * [1, 0] / sqrt(2), so w0 = sigmoid(1 / sqrt(2)) = 0.6697615493266569. */
START_TEST(forward_by_hand)
{
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *qk = heap_tensor(3, SHAPE(1, 2, 2), VALS(1, 0, 0, 1), false);
	seqc_tensor *v = heap_tensor(3, SHAPE(1, 2, 2), VALS(1, 2, 3, 4), false);
	float w[8]; /* [1, heads, 2, 2], heads up to 2 */
	seqc_attn_opts o = { .heads = 1, .weights = w };
	seqc_tensor *y = seqc_attention(g, (seqc_cols){ qk, 0 }, (seqc_cols){ qk, 0 },
					(seqc_cols){ v, 0 }, 2, &o);
	const float w0 = 0.6697615493266569f, w1 = 1.0f - w0;
	CHECK_SHAPE(y, 1, 2, 2);
	CHECK_VALS_TOL(y, 1e-5f, 1e-6f, w0 + 3 * w1, 2 * w0 + 4 * w1, w1 + 3 * w0, 2 * w1 + 4 * w0);
	ck_assert(allclose(w, VALS(w0, w1, w1, w0), 4, 1e-5f, 1e-6f, "weights"));
	/* causal: row 0 sees key 0 only */
	o.causal = true;
	y = seqc_attention(g, (seqc_cols){ qk, 0 }, (seqc_cols){ qk, 0 }, (seqc_cols){ v, 0 }, 2, &o);
	CHECK_VALS_TOL(y, 1e-5f, 1e-6f, 1, 2, w1 + 3 * w0, 2 * w1 + 4 * w0);
	ck_assert(allclose(w, VALS(1, 0, w1, w0), 4, 1e-5f, 1e-6f, "causal weights"));
	/* two heads of one column each: head 0 scores q0 k0, head 1 q1 k1 */
	o = (seqc_attn_opts){ .heads = 2, .weights = w };
	float we = 1.0f / (1.0f + expf(-1.0f)); /* sigmoid(1): dh = 1 */
	y = seqc_attention(g, (seqc_cols){ qk, 0 }, (seqc_cols){ qk, 0 }, (seqc_cols){ v, 0 }, 2, &o);
	/* head 0: row 0 scores [1, 0], row 1 [0, 0]; head 1: row 0 [0, 0], row 1 [0, 1] */
	CHECK_VALS_TOL(y, 1e-5f, 1e-6f, we + 3 * (1 - we), 3, 2, 2 * (1 - we) + 4 * we);
	seqc_tensor_destroy(qk);
	seqc_tensor_destroy(v);
	seqc_graph_destroy(g);
}
END_TEST

/* ---- against the reference, every mask combination ---- */

static void check_reference(attn_case *c, const char *what)
{
	seqc_graph *g = seqc_graph_create(0);
	size_t nw = c->B * c->heads * c->Tq * c->Tk, no = c->B * c->Tq * c->C;
	float *w = malloc(nw * sizeof *w), *ew = malloc(nw * sizeof *ew), *eo = malloc(no * sizeof *eo);
	c->o.weights = w;
	seqc_tensor *y = run(g, c);
	c->o.weights = NULL;
	ck_assert_msg(y != NULL, "%s: %s", what, seqc_errmsg());
	CHECK_SHAPE(y, c->B, c->Tq, c->C);
	reference(c, eo, ew);
	ck_assert_msg(allclose(y->val, eo, no, 1e-5f, 1e-5f, what), "%s: output", what);
	ck_assert_msg(allclose(w, ew, nw, 1e-5f, 1e-6f, what), "%s: weights", what);
	/* without gradients or readout the weights are not stored (each block
	 * lives in scratch rows): the same arithmetic, the same output */
	seqc_graph_set_grad(g, false);
	seqc_tensor *y2 = run(g, c);
	ck_assert_ptr_nonnull(y2);
	ck_assert_msg(allclose(y2->val, y->val, no, 0, 0, what), "%s: output without gradients", what);
	free(w);
	free(ew);
	free(eo);
	seqc_graph_destroy(g);
}

START_TEST(matches_reference)
{
	/* _i: mask combination; sizes cover Tq == Tk, Tq < Tk, Tq > Tk, causal
	 * blocks (T = 70 > one block of 32 rows) and a single query row */
	static const size_t shapes[][5] = {
		{ 2, 5, 5, 6, 2 }, { 2, 3, 7, 8, 4 }, { 2, 6, 4, 4, 1 }, { 2, 70, 70, 8, 2 },
		{ 2, 1, 5, 4, 2 }, { 1, 1, 3, 4, 1 }, /* one query row: products through sgemv */
	};
	masks m;
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		const size_t *d = shapes[s];
		attn_case c;
		make_case(&c, d[0], d[1], d[2], d[3], d[4], false, _i, &m, 10 + s);
		check_reference(&c, "attention");
		free_case(&c);
		if (d[1] == d[2]) {
			make_case(&c, d[0], d[1], d[2], d[3], d[4], true, _i, &m, 20 + s);
			check_reference(&c, "packed attention");
			free_case(&c);
		}
	}
}
END_TEST

/* Every key of batch row 0 padded, and (causal, Tq > Tk) query rows with no
 * visible key: zero output and zero weights, and no NaN in the gradients. */
START_TEST(fully_masked_rows)
{
	masks m;
	attn_case c;
	make_case(&c, 2, 5, 3, 4, 2, false, M_CAUSAL | M_PAD, &m, 5);
	memset(m.pad, 1, 3);
	check_reference(&c, "masked rows");
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y = run(g, &c);
	ck_assert_ptr_nonnull(y);
	for (size_t e = 0; e < 5 * 4; e++)
		ck_assert_float_eq(y->val[e], 0.0f);   /* batch row 0 */
	for (size_t e = 0; e < 2 * 4; e++)
		ck_assert_float_eq(y->val[20 + e], 0.0f); /* batch 1, rows 0 and 1 see no key */
	ck_assert_int_eq(seqc_backward(g, seqc_sum(g, y)), 0);
	seqc_tensor *in[3] = { c.q, c.k, c.v };
	for (int t = 0; t < 3; t++)
		for (size_t e = 0; e < in[t]->numel; e++)
			ck_assert(isfinite(in[t]->grad[e]));
	seqc_graph_destroy(g);
	ck_assert_int_eq(gradcheck(run, &c, in, 3, 1e-2, 1e-2, 1e-4, 0), 0);
	free_case(&c);
}
END_TEST

/* ---- gradients ---- */

/* Gradients of q, k and v (each distinct tensor once). */
static int grads_fail(attn_case *c)
{
	seqc_tensor *in[3] = { c->q, c->k, c->v };
	int n = c->k == c->q ? 1 : 3;
	return gradcheck(run, c, in, n, 1e-2, 1e-2, 1e-4, 0);
}

START_TEST(gradcheck_masks)
{
	/* B, Tq, Tk, C, heads, packed: self-attention, cross-attention with
	 * Tq < Tk and Tq > Tk, one packed tensor (the gradients of three column
	 * ranges in one buffer), and one query row (B = 1: every product a
	 * single row or column) */
	static const size_t shapes[][6] = {
		{ 2, 4, 4, 6, 2, 0 }, { 2, 3, 5, 4, 2, 0 }, { 2, 5, 3, 4, 1, 0 }, { 2, 4, 4, 6, 3, 1 },
		{ 1, 1, 4, 4, 2, 0 },
	};
	masks m;
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		const size_t *d = shapes[s];
		attn_case c;
		make_case(&c, d[0], d[1], d[2], d[3], d[4], d[5], _i, &m, 30 + s);
		ck_assert_msg(grads_fail(&c) == 0, "shape %zu, masks %d", s, _i);
		free_case(&c);
	}
}
END_TEST

/* Causal over several row blocks (T = 40 > 32), checked on a sample. */
START_TEST(gradcheck_blocks)
{
	masks m;
	attn_case c;
	make_case(&c, 1, 40, 40, 4, 2, true, M_CAUSAL, &m, 40);
	ck_assert_int_eq(gradcheck(run, &c, &c.q, 1, 1e-2, 1e-2, 1e-4, 150), 0);
	free_case(&c);
}
END_TEST

/* q and k the same columns (q = k), and column ranges of one tensor that
 * partly overlap: gradients add up in the shared columns. */
START_TEST(gradcheck_shared_columns)
{
	masks m;
	attn_case c;
	make_case(&c, 2, 4, 4, 4, 2, true, M_CAUSAL, &m, 50);
	c.koff = c.qoff;
	ck_assert_int_eq(gradcheck(run, &c, &c.q, 1, 1e-2, 1e-2, 1e-4, 0), 0);
	c.koff = c.qoff + 1; /* overlapping: backward runs serially */
	c.voff = c.qoff + 3;
	ck_assert_int_eq(gradcheck(run, &c, &c.q, 1, 1e-2, 1e-2, 1e-4, 0), 0);
	free_case(&c);
}
END_TEST

/* ---- dropout ---- */

START_TEST(dropout)
{
	masks m;
	attn_case c;
	make_case(&c, 2, 6, 6, 4, 2, false, M_CAUSAL, &m, 60);
	c.o.dropout = 0.5f;
	c.dropout_seed = 9;
	seqc_graph *g = seqc_graph_create(0);
	/* same seed, same output; a kept weight is scaled by 2 */
	seqc_tensor *y1 = run(g, &c), *y2 = run(g, &c);
	ck_assert(allclose(y1->val, y2->val, y1->numel, 0, 0, "same seed"));
	/* evaluation mode: no dropout, the plain reference */
	seqc_graph_set_training(g, false);
	seqc_tensor *ye = run(g, &c);
	float *eo = malloc(ye->numel * sizeof *eo), *ew = malloc(2 * 2 * 36 * sizeof *ew);
	reference(&c, eo, ew);
	ck_assert(allclose(ye->val, eo, ye->numel, 1e-5f, 1e-5f, "eval"));
	float most = 0;
	for (size_t e = 0; e < ye->numel; e++)
		most = fmaxf(most, fabsf(y1->val[e] - eo[e]));
	ck_assert_float_gt(most, 0.1f); /* dropout changed the output */
	seqc_graph_destroy(g);
	seqc_tensor *in[3] = { c.q, c.k, c.v };
	ck_assert_int_eq(gradcheck(run, &c, in, 3, 1e-2, 1e-2, 1e-4, 0), 0);
	free(eo);
	free(ew);
	free_case(&c);
}
END_TEST

/* v = one-hot rows (Tk = C, one head): out[i] is row i of the dropped
 * weights, each entry 0 or w / (1 - p), about a fraction p of them zero. */
START_TEST(dropout_values)
{
	size_t T = 16;
	seqc_tensor *q = rand_tensor(3, SHAPE(1, T, T), -1, 1, 70);
	seqc_tensor *v = heap_tensor(3, SHAPE(1, T, T), NULL, false);
	for (size_t j = 0; j < T; j++)
		v->val[j * T + j] = 1.0f;
	float w[16 * 16];
	seqc_rng rng;
	seqc_rng_seed(&rng, 3, SEQC_STREAM_DROPOUT);
	seqc_attn_opts o = { .heads = 1, .dropout = 0.25f, .rng = &rng, .weights = w };
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y = seqc_attention(g, (seqc_cols){ q, 0 }, (seqc_cols){ q, 0 },
					(seqc_cols){ v, 0 }, T, &o);
	ck_assert_ptr_nonnull(y);
	size_t zeros = 0;
	for (size_t e = 0; e < T * T; e++) {
		if (y->val[e] == 0.0f)
			zeros++;
		else
			ck_assert_float_eq_tol(y->val[e], w[e] / 0.75f, 1e-6f);
	}
	ck_assert_uint_ge(zeros, T * T / 8);
	ck_assert_uint_le(zeros, T * T * 3 / 8);
	seqc_graph_destroy(g);
	seqc_tensor_destroy(q);
	seqc_tensor_destroy(v);
}
END_TEST

/* ---- the KV-cache form ---- */

/* Causal self-attention over packed [B, T, 3C] rows, then seqc_attn_cached
 * for each query row i against keys 0..i read in place: the same rows. */
START_TEST(cached_matches_rows)
{
	masks m;
	attn_case c;
	size_t B = 2, T = 150, C = 8, H = 2; /* T > one chunk of 128 cached keys */
	make_case(&c, B, T, T, C, H, true, M_CAUSAL | (_i ? M_PAD : 0), &m, 80);
	uint8_t pad[2 * 150] = { 0 };
	if (_i) {
		for (size_t j = 0; j < T; j += 3)
			pad[j] = 1; /* row 0: every third key padded (key 0 too) */
		pad[T + T - 1] = 1;
		c.o.key_pad = pad;
	}
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y = run(g, &c);
	ck_assert_ptr_nonnull(y);
	size_t W = 3 * C + 2;
	float out[2 * 8];
	for (size_t i = 0; i < T; i++) {
		seqc_attn_cached(c.q->val + i * W + c.qoff, T * W, c.q->val + c.koff, c.q->val + c.voff,
				 i + 1, T * W, W, _i ? pad : NULL, T, B, C, H, out);
		for (size_t b = 0; b < B; b++)
			ck_assert_msg(allclose(out + b * C, y->val + (b * T + i) * C, C, 1e-5f, 1e-6f, "cached"),
				      "row %zu of batch %zu", i, b);
	}
	seqc_graph_destroy(g);
	free_case(&c);
}
END_TEST

/* ---- threads ---- */

/* Output and gradients of a causal packed case with dropout and key
 * padding, large enough to run in parallel: copied out for comparison. */
static void run_with_threads(attn_case *c, int threads, float *out, float *grad)
{
#ifdef _OPENMP
	omp_set_num_threads(threads);
#endif
	seqc_graph *g = seqc_graph_create(0);
	memset(c->q->grad, 0, c->q->numel * sizeof(float));
	seqc_tensor *y = run(g, c);
	ck_assert_ptr_nonnull(y);
	ck_assert_int_eq(seqc_backward(g, seqc_sum(g, seqc_mul(g, y, y))), 0);
	memcpy(out, y->val, y->numel * sizeof(float));
	memcpy(grad, c->q->grad, c->q->numel * sizeof(float));
	seqc_graph_destroy(g);
}

/* Each (batch, head) pair is computed the same way whichever thread runs
 * it, and the dropout mask is drawn serially: results are bit-identical
 * for any number of threads. */
START_TEST(same_for_any_threads)
{
#ifdef _OPENMP
	int saved = omp_get_max_threads();
#endif
	masks m;
	attn_case c;
	make_case(&c, 4, 64, 64, 64, 4, true, M_CAUSAL | M_PAD, &m, 110);
	c.o.dropout = 0.2f;
	c.dropout_seed = 4;
	size_t no = 4 * 64 * 64, ng = c.q->numel;
	float *o1 = malloc(no * sizeof *o1), *o2 = malloc(no * sizeof *o2);
	float *g1 = malloc(ng * sizeof *g1), *g2 = malloc(ng * sizeof *g2);
	run_with_threads(&c, 1, o1, g1);
	run_with_threads(&c, 2, o2, g2);
	ck_assert(allclose(o2, o1, no, 0, 0, "output, 2 threads vs 1"));
	ck_assert(allclose(g2, g1, ng, 0, 0, "gradient, 2 threads vs 1"));
#ifdef _OPENMP
	omp_set_num_threads(saved);
#endif
	free(o1);
	free(o2);
	free(g1);
	free(g2);
	free_case(&c);
}
END_TEST

/* ---- PyTorch golden fixtures (tests/golden/gen_transformer.py) ---- */

static void check_golden_grad(json_t *c, const char *key, const seqc_tensor *t, const char *name)
{
	float *e = fixture_floats(c, key, t->numel);
	ck_assert_msg(allclose(t->grad, e, t->numel, 1e-4f, 1e-5f, key), "%s: %s", name, key);
	free(e);
}

static void check_golden_case(json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	size_t B = (size_t)json_integer_value(json_object_get(c, "B"));
	size_t Tq = (size_t)json_integer_value(json_object_get(c, "Tq"));
	size_t Tk = (size_t)json_integer_value(json_object_get(c, "Tk"));
	size_t C = (size_t)json_integer_value(json_object_get(c, "C"));
	size_t H = (size_t)json_integer_value(json_object_get(c, "heads"));
	seqc_tensor *q = fixture_tensor(c, "q", B, Tq, C), *k = fixture_tensor(c, "k", B, Tk, C);
	seqc_tensor *v = fixture_tensor(c, "v", B, Tk, C);
	uint8_t *pad = fixture_pad(c, "key_pad", B * Tk);
	float *mask = NULL;
	if (json_object_get(c, "mask")) {
		mask = fixture_floats(c, "mask", Tq * Tk);
		for (size_t i = 0; i < Tq * Tk; i++)
			mask[i] = mask[i] <= -1e29f ? -INFINITY : mask[i];
	}
	float *w = malloc(B * H * Tq * Tk * sizeof *w);
	seqc_attn_opts o = { .heads = H, .causal = json_is_true(json_object_get(c, "causal")),
			     .key_pad = pad, .mask = mask, .weights = w };
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y = seqc_attention(g, (seqc_cols){ q, 0 }, (seqc_cols){ k, 0 }, (seqc_cols){ v, 0 },
					C, &o);
	ck_assert_msg(y != NULL, "%s: %s", name, seqc_errmsg());
	float *e = fixture_floats(c, "out", y->numel);
	ck_assert_msg(allclose(y->val, e, y->numel, 1e-5f, 1e-5f, "out"), "%s: out", name);
	free(e);
	e = fixture_floats(c, "weights", B * H * Tq * Tk);
	ck_assert_msg(allclose(w, e, B * H * Tq * Tk, 1e-5f, 1e-6f, "weights"), "%s: weights", name);
	free(e);
	float *dy = fixture_floats(c, "dy", y->numel);
	ck_assert_int_eq(seqc_backward_from(g, y, dy), 0);
	check_golden_grad(c, "dq", q, name);
	check_golden_grad(c, "dk", k, name);
	check_golden_grad(c, "dv", v, name);
	free(dy);
	free(w);
	free(pad);
	free(mask);
	seqc_graph_destroy(g);
	seqc_tensor_destroy(q);
	seqc_tensor_destroy(k);
	seqc_tensor_destroy(v);
}

START_TEST(golden_pytorch)
{
	json_t *root = fixture_load("attention.json");
	json_t *cases = json_object_get(root, "cases");
	ck_assert_uint_ge(json_array_size(cases), 5);
	for (size_t i = 0; i < json_array_size(cases); i++)
		check_golden_case(json_array_get(cases, i));
	json_decref(root);
}
END_TEST

/* ---- bad input ---- */

START_TEST(errors)
{
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *x = rand_tensor(3, SHAPE(2, 4, 12), -1, 1, 1);
	seqc_tensor *k5 = rand_tensor(3, SHAPE(2, 5, 12), -1, 1, 2);
	seqc_tensor *b3 = rand_tensor(3, SHAPE(3, 4, 12), -1, 1, 3);
	seqc_tensor *flat = rand_tensor(2, SHAPE(8, 12), -1, 1, 4);
	seqc_cols cx = { x, 0 };
	seqc_attn_opts o = { .heads = 2 };
	ck_assert_ptr_null(seqc_attention(g, (seqc_cols){ NULL, 0 }, cx, cx, 4, &o));
	ck_assert_ptr_null(seqc_attention(g, cx, cx, cx, 4, NULL));
	CHECK_ERRMSG("attention");
	o.heads = 3;
	ck_assert_ptr_null(seqc_attention(g, cx, cx, cx, 4, &o));
	CHECK_ERRMSG("multiple of heads");
	o.heads = 0;
	ck_assert_ptr_null(seqc_attention(g, cx, cx, cx, 4, &o));
	CHECK_ERRMSG("heads");
	o.heads = 2;
	ck_assert_ptr_null(seqc_attention(g, (seqc_cols){ x, 9 }, cx, cx, 4, &o));
	CHECK_ERRMSG("q [2, 4, 12]");
	ck_assert_ptr_null(seqc_attention(g, cx, (seqc_cols){ x, (size_t)-2 }, cx, 4, &o));
	CHECK_ERRMSG("k [2, 4, 12]");
	ck_assert_ptr_null(seqc_attention(g, cx, cx, (seqc_cols){ flat, 0 }, 4, &o));
	CHECK_ERRMSG("v [8, 12]");
	ck_assert_ptr_null(seqc_attention(g, cx, (seqc_cols){ k5, 0 }, cx, 4, &o));
	CHECK_ERRMSG("do not fit");
	ck_assert_ptr_null(seqc_attention(g, (seqc_cols){ b3, 0 }, cx, cx, 4, &o));
	CHECK_ERRMSG("do not fit");
	o.dropout = 1.0f;
	ck_assert_ptr_null(seqc_attention(g, cx, cx, cx, 4, &o));
	CHECK_ERRMSG("dropout");
	o.dropout = NAN;
	ck_assert_ptr_null(seqc_attention(g, cx, cx, cx, 4, &o));
	CHECK_ERRMSG("dropout");
	o.dropout = 0.1f;
	ck_assert_ptr_null(seqc_attention(g, cx, cx, cx, 4, &o));
	CHECK_ERRMSG("rng");
	/* not training: dropout is off and needs no rng */
	seqc_graph_set_training(g, false);
	ck_assert_ptr_nonnull(seqc_attention(g, cx, cx, cx, 4, &o));
	seqc_graph_destroy(g);
	seqc_tensor_destroy(x);
	seqc_tensor_destroy(k5);
	seqc_tensor_destroy(b3);
	seqc_tensor_destroy(flat);
}
END_TEST

static Suite *attention_suite(void)
{
	Suite *s = suite_create("attention");
	TCase *tc = tcase_create("attention");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, forward_by_hand);
	tcase_add_loop_test(tc, matches_reference, 0, 8);
	tcase_add_test(tc, fully_masked_rows);
	tcase_add_loop_test(tc, gradcheck_masks, 0, 8);
	tcase_add_test(tc, gradcheck_blocks);
	tcase_add_test(tc, gradcheck_shared_columns);
	tcase_add_test(tc, dropout);
	tcase_add_test(tc, dropout_values);
	tcase_add_loop_test(tc, cached_matches_rows, 0, 2);
	tcase_add_test(tc, same_for_any_threads);
	tcase_add_test(tc, golden_pytorch);
	tcase_add_test(tc, errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(attention_suite());
}
