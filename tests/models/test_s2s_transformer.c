/* The s2s-transformer model: a PyTorch golden fixture of the whole model
 * (tests/golden/gen_s2s_transformer.py: logits, label-smoothed loss and
 * every parameter's gradient), finite differences of the loss, padding
 * invariance, incremental decoding against the teacher-forced forward
 * (with reorders), the cross-attention weights, the config's JSON and bad
 * input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/posenc.h"
#include "models/s2s_transformer.h"
#include "support.h"

static size_t jsize(json_t *c, const char *key)
{
	json_t *v = json_object_get(c, key);
	ck_assert_msg(json_is_integer(v), "fixture field %s", key);
	return (size_t)json_integer_value(v);
}

static seqc_s2st *model(const seqc_s2st_config *c, uint64_t seed)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	seqc_s2st *m = seqc_s2st_create(c, &rng);
	ck_assert_msg(m != NULL, "create: %s", seqc_errmsg());
	return m;
}

/* A small config: d 8, 2 heads, 1 + 2 layers, ff 16, vocabularies 7 / 9. */
static seqc_s2st_config tiny(void)
{
	seqc_s2st_config c = seqc_s2st_config_defaults();
	c.src_vocab = 7;
	c.tgt_vocab = 9;
	c.d_model = 8;
	c.heads = 2;
	c.enc_layers = 1;
	c.dec_layers = 2;
	c.dim_ff = 16;
	c.dropout = 0.0f;
	c.max_len = 10;
	c.tie_output = false;
	return c;
}

/* Every parameter moved off its init (norms off 1 and 0, biases off 0). */
static void jiggle(seqc_s2st *m, uint64_t seed)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, 3);
	for (size_t e = 0; e < m->params->numel; e++)
		m->params->values[e] += 0.2f * (2.0f * seqc_rng_uniform(&rng) - 1.0f);
}

/* ---- golden ---- */

/* The fixture's config as the model's JSON (it lacks arch, dropout and
 * max_len), read through seqc_s2st_config_from_json. */
static seqc_s2st_config fixture_config(json_t *c)
{
	json_t *cfg = json_deep_copy(json_object_get(c, "config"));
	json_object_set_new(cfg, "arch", json_string("s2s-transformer"));
	json_object_set_new(cfg, "dropout", json_real(0.0));
	json_object_set_new(cfg, "max_len", json_integer(16));
	char *text = json_dumps(cfg, JSON_COMPACT);
	seqc_s2st_config out;
	ck_assert_msg(seqc_s2st_config_from_json(text, &out) == 0, "%s", seqc_errmsg());
	free(text);
	json_decref(cfg);
	return out;
}

typedef struct pairs {
	seqc_s2s_batch b;
	int32_t *src, *tgt_in, *tgt_out;
	size_t *lens;
} pairs;

static pairs fixture_pairs(json_t *c)
{
	pairs p = { .b = { .B = jsize(c, "B"), .S = jsize(c, "S"), .T = jsize(c, "T") } };
	p.src = fixture_ids(c, "src", p.b.B * p.b.S);
	p.tgt_in = fixture_ids(c, "tgt_in", p.b.B * p.b.T);
	p.tgt_out = fixture_ids(c, "tgt_out", p.b.B * p.b.T);
	int32_t *lens = fixture_ids(c, "src_lens", p.b.B);
	p.lens = malloc(p.b.B * sizeof *p.lens);
	for (size_t i = 0; i < p.b.B; i++)
		p.lens[i] = (size_t)lens[i];
	free(lens);
	p.b.src = p.src;
	p.b.src_lens = p.lens;
	p.b.tgt_in = p.tgt_in;
	p.b.tgt_out = p.tgt_out;
	return p;
}

static void free_pairs(pairs *p)
{
	free(p->src);
	free(p->tgt_in);
	free(p->tgt_out);
	free(p->lens);
}

static void check_golden(json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	seqc_s2st_config cfg = fixture_config(c);
	seqc_s2st *m = model(&cfg, 1);
	fixture_params(m->params, c);
	pairs p = fixture_pairs(c);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *logits, *loss;
	ck_assert_msg(seqc_s2st_logits(g, m, &p.b, NULL, &logits) == 0, "%s", seqc_errmsg());
	float *e = fixture_floats(c, "logits", logits->numel);
	ck_assert_msg(allclose(logits->val, e, logits->numel, 1e-4f, 1e-4f, name), "%s: logits", name);
	free(e);
	seqc_graph_reset(g);
	ck_assert_int_eq(seqc_s2st_loss(g, m, &p.b, NULL, &loss), 0);
	float want = (float)json_number_value(json_object_get(c, "loss"));
	ck_assert_msg(fabsf(loss->val[0] - want) <= 1e-5f * fabsf(want), "%s: loss %g, want %g", name,
		      (double)loss->val[0], (double)want);
	seqc_params_zero_grad(m->params);
	ck_assert_int_eq(seqc_backward(g, loss), 0);
	json_t *grads = json_object_get(c, "grads");
	for (size_t i = 0; i < m->params->count; i++) {
		seqc_param *q = m->params->items[i];
		e = fixture_floats(grads, q->name, q->t.numel);
		ck_assert_msg(allclose(q->t.grad, e, q->t.numel, 1e-3f, 2e-5f, q->name),
			      "%s: grad of %s", name, q->name);
		free(e);
	}
	free_pairs(&p);
	seqc_graph_destroy(g);
	seqc_s2st_destroy(m);
}

START_TEST(golden)
{
	json_t *root = fixture_load("s2s_transformer.json");
	json_t *cases = json_object_get(root, "cases");
	ck_assert_uint_eq(json_array_size(cases), 2);
	for (size_t i = 0; i < json_array_size(cases); i++)
		check_golden(json_array_get(cases, i));
	json_decref(root);
}
END_TEST

/* ---- a small batch by hand ---- */

/* Two pairs: source lengths 4 and 2 (S 4, the second padded with id 5),
 * targets of 3 and 5 positions (T 5). */
static const int32_t hand_src[2 * 4] = { 1, 3, 6, 2, 4, 2, 5, 5 };
static const size_t hand_lens[2] = { 4, 2 };
static const int32_t hand_in[2 * 5] = { 0, 4, 7, 8, 8, 0, 2, 1, 3, 5 };
static const int32_t hand_out[2 * 5] = { 4, 7, 1, -1, -1, 2, 1, 3, 5, 1 };

static seqc_s2s_batch hand_batch(void)
{
	return (seqc_s2s_batch){ .B = 2, .S = 4, .T = 5, .src = hand_src, .src_lens = hand_lens,
				 .tgt_in = hand_in, .tgt_out = hand_out };
}

/* ---- finite differences ---- */

typedef struct loss_ctx {
	seqc_s2st *m;
	seqc_s2s_batch b;
} loss_ctx;

static seqc_tensor *loss_fn(seqc_graph *g, void *arg)
{
	loss_ctx *c = arg;
	seqc_tensor *loss;
	return seqc_s2st_loss(g, c->m, &c->b, NULL, &loss) == 0 ? loss : NULL;
}

/* _i 0: post-norm, untied; 1: pre-norm, shared and tied. GELU: central
 * differences across a ReLU's kink mean nothing. Every parameter. */
START_TEST(gradcheck_loss)
{
	seqc_s2st_config c = tiny();
	c.activation = SEQC_FF_GELU;
	c.norm_first = _i;
	c.share_embeddings = c.tie_output = _i;
	if (_i)
		c.src_vocab = c.tgt_vocab;
	seqc_s2st *m = model(&c, 7);
	jiggle(m, 8);
	loss_ctx ctx = { m, hand_batch() };
	seqc_tensor *in[128];
	int n = 0;
	for (size_t i = 0; i < m->params->count; i++)
		in[n++] = &m->params->items[i]->t;
	ck_assert_int_eq(gradcheck(loss_fn, &ctx, in, n, 3e-3, 2e-2, 3e-4, 0), 0);
	seqc_s2st_destroy(m);
}
END_TEST

/* ---- padding ---- */

static float loss_of(seqc_s2st *m, const seqc_s2s_batch *b, seqc_graph *g, seqc_tensor **logits)
{
	seqc_tensor *loss;
	ck_assert_msg(seqc_s2st_logits(g, m, b, NULL, logits) == 0, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_s2st_loss(g, m, b, NULL, &loss), 0);
	return loss->val[0];
}

/* The second pair alone (S 2, T 5) and the first alone (S 4, T 3) give the
 * logits of their real positions in the padded batch, and the batch's mean
 * loss is their losses weighted by their target counts. */
START_TEST(padding_invariance)
{
	seqc_s2st_config c = tiny();
	seqc_s2st *m = model(&c, 11);
	jiggle(m, 12);
	seqc_graph *g = seqc_graph_create(0);
	seqc_s2s_batch both = hand_batch();
	seqc_tensor *lb, *l0, *l1;
	float loss_both = loss_of(m, &both, g, &lb);
	seqc_s2s_batch first = { .B = 1, .S = 4, .T = 3, .src = hand_src, .src_lens = hand_lens,
				 .tgt_in = (const int32_t[]){ 0, 4, 7 },
				 .tgt_out = (const int32_t[]){ 4, 7, 1 } };
	seqc_s2s_batch second = { .B = 1, .S = 2, .T = 5, .src = hand_src + 4,
				  .src_lens = hand_lens + 1, .tgt_in = hand_in + 5,
				  .tgt_out = hand_out + 5 };
	float loss0 = loss_of(m, &first, g, &l0), loss1 = loss_of(m, &second, g, &l1);
	size_t V = c.tgt_vocab;
	ck_assert(allclose(l0->val, lb->val, 3 * V, 1e-5f, 1e-5f, "first pair"));
	ck_assert(allclose(l1->val, lb->val + 5 * V, 5 * V, 1e-5f, 1e-5f, "second pair"));
	float want = (3 * loss0 + 5 * loss1) / 8;
	ck_assert_float_eq_tol(loss_both, want, 1e-5f * want);
	seqc_graph_destroy(g);
	seqc_s2st_destroy(m);
}
END_TEST

/* ---- decoding against the teacher-forced forward ---- */

/* Row sums of weights [rows, S]: 1 over the row's source, 0 beyond. */
static void check_attention(const seqc_s2st *m, const size_t *who, size_t rows, size_t per,
			    const size_t *lens, size_t S)
{
	float *w = malloc(rows * S * sizeof *w);
	ck_assert_int_eq(seqc_s2st_attention(m, w), 0);
	for (size_t r = 0; r < rows; r++) {
		size_t len = lens[who[r] / per];
		float sum = 0;
		for (size_t j = 0; j < S; j++) {
			if (j >= len)
				ck_assert_float_eq(w[r * S + j], 0.0f);
			ck_assert_float_ge(w[r * S + j], 0.0f);
			sum += w[r * S + j];
		}
		ck_assert_float_eq_tol(sum, 1.0f, 1e-5f);
	}
	free(w);
}

/* _i 0: 2 sources x 3 rows, post-norm, untied (packed weights where the
 * CPU has them); 1: one source, one row (GEMV), pre-norm GELU, shared and
 * tied. Rows decode their own target inputs; after steps 2 and 3 the rows
 * are gathered (repeats, rows changing source), and each row's logits are
 * those of the full forward of the sequence it now continues. */
START_TEST(step_equals_full)
{
	seqc_s2st_config c = tiny();
	if (_i) {
		c.norm_first = true;
		c.activation = SEQC_FF_GELU;
		c.share_embeddings = c.tie_output = true;
		c.src_vocab = c.tgt_vocab;
	}
	seqc_s2st *m = model(&c, 21);
	jiggle(m, 22);
	size_t B = _i ? 1 : 2, per = _i ? 1 : 3, rows = B * per, S = 5, T = 6, V = c.tgt_vocab;
	int32_t src[2 * 5] = { 1, 3, 6, 2, 5, 4, 2, 0, 0, 0 };
	size_t lens[2] = { 5, 2 };
	/* the full batch: row r is source r / per with target inputs of its own */
	int32_t fsrc[6 * 5], in[6 * 6], out[6 * 6];
	size_t flens[6];
	seqc_rng rng;
	seqc_rng_seed(&rng, 5, 5);
	for (size_t r = 0; r < rows; r++) {
		memcpy(fsrc + r * S, src + r / per * S, S * sizeof *src);
		flens[r] = lens[r / per];
		for (size_t t = 0; t < T; t++) {
			in[r * T + t] = (int32_t)seqc_rng_below(&rng, (uint32_t)V);
			out[r * T + t] = 1;
		}
	}
	seqc_s2s_batch full = { .B = rows, .S = S, .T = T, .src = fsrc, .src_lens = flens,
				.tgt_in = in, .tgt_out = out };
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_training(g, false);
	seqc_tensor *ref;
	ck_assert_int_eq(seqc_s2st_logits(g, m, &full, NULL, &ref), 0);
	ck_assert_int_eq(seqc_s2st_set_source(m, src, lens, B, S), 0);
	ck_assert_int_eq(seqc_s2st_start(m, rows), 0);
	size_t who[6] = { 0, 1, 2, 3, 4, 5 }, next[6];
	const size_t from[2][6] = { { 4, 4, 0, 1, 5, 2 }, { 1, 0, 2, 2, 3, 3 } };
	seqc_graph *sg = seqc_graph_create(0);
	for (size_t t = 0; t < T; t++) {
		int32_t tok[6];
		for (size_t r = 0; r < rows; r++)
			tok[r] = in[who[r] * T + t];
		seqc_tensor *logits;
		seqc_graph_reset(sg);
		ck_assert_msg(seqc_s2st_step(m, sg, tok, &logits) == 0, "%s", seqc_errmsg());
		for (size_t r = 0; r < rows; r++)
			ck_assert_msg(allclose(logits->val + r * V, ref->val + (who[r] * T + t) * V, V,
					       1e-5f, 1e-5f, "step"),
				      "position %zu, row %zu", t, r);
		check_attention(m, who, rows, per, lens, S);
		if (rows > 1 && (t == 2 || t == 3)) {
			const size_t *f = from[t - 2];
			ck_assert_int_eq(seqc_s2st_reorder(m, f, rows), 0);
			for (size_t r = 0; r < rows; r++)
				next[r] = who[f[r]];
			memcpy(who, next, sizeof who);
			check_attention(m, who, rows, per, lens, S);
		}
	}
	seqc_graph_destroy(sg);
	seqc_graph_destroy(g);
	seqc_s2st_destroy(m);
}
END_TEST

/* The step's attention weights against nn.MultiheadAttention's averaged
 * weights in the teacher-forced forward, built here from the parts: a
 * one-layer post-norm decoder, whose cross-attention reads
 * norm1(x + self_attn(x)). */
START_TEST(attention_weights)
{
	seqc_s2st_config c = tiny();
	c.dec_layers = 1;
	seqc_s2st *m = model(&c, 25);
	jiggle(m, 26);
	size_t B = 2, S = 4, T = 3;
	const int32_t src[2 * 4] = { 1, 3, 6, 2, 4, 2, 0, 0 }, in[2 * 3] = { 0, 5, 2, 0, 8, 8 };
	const size_t lens[2] = { 4, 2 };
	const uint8_t pad[2 * 4] = { 0, 0, 0, 0, 0, 0, 1, 1 };
	seqc_graph *g = seqc_graph_create(0);
	seqc_ids sids = seqc_ids_view2((int32_t *)src, B, S), tids = seqc_ids_view2((int32_t *)in, B, T);
	seqc_tmask smask = { .key_pad = pad }, causal = { .causal = true };
	seqc_tensor *mem = seqc_tenc_forward(
		g, &m->enc, seqc_posenc_add(g, seqc_embedding(g, m->src_embed, &sids, -1), 0, true),
		&smask, NULL);
	const seqc_tdec_layer *l = &m->dec.layer[0];
	seqc_tensor *x = seqc_posenc_add(g, seqc_embedding(g, m->tgt_embed, &tids, -1), 0, true);
	x = seqc_layer_norm(g, seqc_add(g, x, seqc_mha_forward(g, &l->self_attn, x, x, x, &causal,
								NULL, NULL)),
			    l->norm1.weight, l->norm1.bias, c.layer_norm_eps);
	float want[2 * 3 * 4], got[2 * 4];
	ck_assert_ptr_nonnull(seqc_mha_forward(g, &l->multihead_attn, x, mem, mem, &smask, NULL, want));
	ck_assert_int_eq(seqc_s2st_set_source(m, src, lens, B, S), 0);
	ck_assert_int_eq(seqc_s2st_start(m, B), 0);
	for (size_t t = 0; t < T; t++) {
		seqc_tensor *logits;
		ck_assert_int_eq(seqc_s2st_step(m, g, (const int32_t[]){ in[t], in[T + t] }, &logits), 0);
		ck_assert_int_eq(seqc_s2st_attention(m, got), 0);
		for (size_t b = 0; b < B; b++)
			ck_assert_msg(allclose(got + b * S, want + (b * T + t) * S, S, 1e-5f, 1e-6f, "weights"),
				      "row %zu, position %zu", b, t);
	}
	seqc_graph_destroy(g);
	seqc_s2st_destroy(m);
}
END_TEST

/* Beams leave and come back: a reorder to fewer rows and then to more
 * (the caches grow) keeps every row's sequence. */
START_TEST(reorder_grows)
{
	seqc_s2st_config c = tiny();
	seqc_s2st *m = model(&c, 31);
	int32_t src[3] = { 1, 2, 3 };
	size_t len = 3;
	ck_assert_int_eq(seqc_s2st_set_source(m, src, &len, 1, 3), 0);
	ck_assert_int_eq(seqc_s2st_start(m, 2), 0);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *a, *b;
	const int32_t t0[2] = { 0, 0 }, t1[2] = { 3, 5 };
	ck_assert_int_eq(seqc_s2st_step(m, g, t0, &a), 0);
	ck_assert_int_eq(seqc_s2st_step(m, g, t1, &a), 0);
	/* rows: (0 3), (0 5) -> 5 rows: (0 5) (0 3) (0 5) (0 3) (0 3) */
	ck_assert_int_eq(seqc_s2st_reorder(m, (const size_t[]){ 1, 0, 1, 0, 0 }, 5), 0);
	const int32_t t2[5] = { 4, 4, 4, 4, 6 };
	ck_assert_int_eq(seqc_s2st_step(m, g, t2, &a), 0);
	float *w = malloc(5 * 3 * sizeof *w);
	ck_assert_int_eq(seqc_s2st_attention(m, w), 0);
	free(w);
	/* the same sequences from scratch: (0 5 4), (0 3 4) */
	ck_assert_int_eq(seqc_s2st_start(m, 2), 0);
	ck_assert_int_eq(seqc_s2st_step(m, g, t0, &b), 0);
	ck_assert_int_eq(seqc_s2st_step(m, g, (const int32_t[]){ 5, 3 }, &b), 0);
	ck_assert_int_eq(seqc_s2st_step(m, g, (const int32_t[]){ 4, 4 }, &b), 0);
	size_t V = c.tgt_vocab;
	ck_assert(allclose(a->val, b->val, V, 1e-5f, 1e-6f, "row 0"));
	ck_assert(allclose(a->val + V, b->val + V, V, 1e-5f, 1e-6f, "row 1"));
	ck_assert(allclose(a->val + 2 * V, b->val, V, 1e-5f, 1e-6f, "row 2"));
	ck_assert(allclose(a->val + 3 * V, b->val + V, V, 1e-5f, 1e-6f, "row 3"));
	seqc_graph_destroy(g);
	seqc_s2st_destroy(m);
}
END_TEST

/* A steady decoding step takes nothing from the heap. */
START_TEST(step_no_heap)
{
	seqc_s2st_config c = tiny();
	seqc_s2st *m = model(&c, 41);
	int32_t src[4] = { 1, 2, 3, 4 };
	size_t lens[2] = { 2, 1 };
	ck_assert_int_eq(seqc_s2st_set_source(m, src, lens, 2, 2), 0);
	ck_assert_int_eq(seqc_s2st_start(m, 4), 0);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *logits;
	const int32_t tok[4] = { 1, 2, 3, 4 };
	const size_t from[4] = { 1, 1, 3, 2 };
	size_t allocs = 0;
	for (int t = 0; t < 6; t++) {
		seqc_graph_reset(g);
		ck_assert_int_eq(seqc_s2st_step(m, g, tok, &logits), 0);
		ck_assert_int_eq(seqc_s2st_reorder(m, from, 4), 0);
		if (t == 1)
			allocs = seqc_graph_heap_allocs(g);
	}
	ck_assert_uint_eq(seqc_graph_heap_allocs(g), allocs);
	seqc_graph_destroy(g);
	seqc_s2st_destroy(m);
}
END_TEST

/* ---- JSON ---- */

static void same_config(const seqc_s2st_config *a, const seqc_s2st_config *b)
{
	ck_assert_uint_eq(a->src_vocab, b->src_vocab);
	ck_assert_uint_eq(a->tgt_vocab, b->tgt_vocab);
	ck_assert_uint_eq(a->d_model, b->d_model);
	ck_assert_uint_eq(a->heads, b->heads);
	ck_assert_uint_eq(a->enc_layers, b->enc_layers);
	ck_assert_uint_eq(a->dec_layers, b->dec_layers);
	ck_assert_uint_eq(a->dim_ff, b->dim_ff);
	ck_assert_float_eq(a->dropout, b->dropout);
	ck_assert_int_eq(a->activation, b->activation);
	ck_assert_int_eq(a->norm_first, b->norm_first);
	ck_assert_float_eq(a->layer_norm_eps, b->layer_norm_eps);
	ck_assert_uint_eq(a->max_len, b->max_len);
	ck_assert_int_eq(a->share_embeddings, b->share_embeddings);
	ck_assert_int_eq(a->tie_output, b->tie_output);
	ck_assert_float_eq(a->label_smoothing, b->label_smoothing);
}

START_TEST(config_json)
{
	seqc_s2st_config c = seqc_s2st_config_defaults(), back;
	c.src_vocab = 8000;
	c.tgt_vocab = 8000;
	char *s = seqc_s2st_config_to_json(&c);
	ck_assert_ptr_nonnull(strstr(s, "\"arch\":\"s2s-transformer\""));
	ck_assert_int_eq(seqc_s2st_config_from_json(s, &back), 0);
	same_config(&c, &back);
	/* floats as their shortest decimals, which read back to the same bits */
	ck_assert_msg(strstr(s, "\"dropout\":0.1,") && strstr(s, "\"label_smoothing\":0.1,") &&
			      strstr(s, "\"layer_norm_eps\":1e-5,"),
		      "%s", s);
	free(s);
	/* every field off its default */
	c = (seqc_s2st_config){ .src_vocab = 5, .tgt_vocab = 5, .d_model = 12, .heads = 3,
				.enc_layers = 2, .dec_layers = 4, .dim_ff = 7, .dropout = 0.25f,
				.activation = SEQC_FF_GELU, .norm_first = true,
				.layer_norm_eps = 1e-6f, .max_len = 33, .share_embeddings = true,
				.tie_output = false, .label_smoothing = 0.2f };
	s = seqc_s2st_config_to_json(&c);
	ck_assert_int_eq(seqc_s2st_config_from_json(s, &back), 0);
	same_config(&c, &back);
	free(s);
	/* only the required fields: the defaults */
	ck_assert_int_eq(seqc_s2st_config_from_json("{\"arch\":\"s2s-transformer\",\"src_vocab\":3,"
						    "\"tgt_vocab\":4}", &back), 0);
	ck_assert_uint_eq(back.d_model, 256);
	ck_assert(back.tie_output);
	ck_assert_float_eq(back.label_smoothing, 0.1f);
}
END_TEST

/* Each bad JSON is refused with a message holding the word given. */
START_TEST(config_json_bad)
{
	static const char *const bad[][2] = {
		{ "[1]", "not a JSON object" },
		{ "{\"arch\"", "not a JSON object" },
		{ "{\"arch\":\"gpt\",\"src_vocab\":3,\"tgt_vocab\":3}", "arch" },
		{ "{\"src_vocab\":3,\"tgt_vocab\":3}", "arch" },
		{ "{\"arch\":\"s2s-transformer\",\"tgt_vocab\":3}", "src_vocab" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":0}", "tgt_vocab" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":3,\"nhead\":2}", "nhead" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":3,\"heads\":\"4\"}", "heads" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":3,\"heads\":3}", "heads" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":3,\"dropout\":1}", "dropout" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":3,\"activation\":\"tanh\"}",
		  "activation" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":3,\"norm_first\":1}",
		  "norm_first" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":3,\"layer_norm_eps\":0}",
		  "layer_norm_eps" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":3,\"max_len\":-1}", "max_len" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":4,\"share_embeddings\":true}",
		  "share_embeddings" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":3,\"label_smoothing\":1.0}",
		  "label_smoothing" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"tgt_vocab\":3,\"dec_layers\":65}",
		  "dec_layers" },
		{ "{\"arch\":\"s2s-transformer\",\"src_vocab\":3,\"src_vocab\":3,\"tgt_vocab\":3}",
		  "not a JSON object" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		seqc_s2st_config c;
		ck_assert_msg(seqc_s2st_config_from_json(bad[i][0], &c) < 0, "accepted %s", bad[i][0]);
		ck_assert_msg(strstr(seqc_errmsg(), bad[i][1]) != NULL, "%s: message \"%s\" lacks %s",
			      bad[i][0], seqc_errmsg(), bad[i][1]);
	}
}
END_TEST

/* ---- parameters ---- */

START_TEST(layout_and_init)
{
	seqc_s2st_config c = tiny();
	c.d_model = 64;
	c.src_vocab = 300;
	seqc_s2st *m = model(&c, 51);
	ck_assert_ptr_nonnull(seqc_params_find(m->params, "src_embed.weight"));
	ck_assert_ptr_nonnull(seqc_params_find(m->params, "generator.bias"));
	ck_assert_ptr_nonnull(seqc_params_find(m->params, "transformer.encoder.norm.weight"));
	ck_assert_ptr_nonnull(seqc_params_find(m->params, "transformer.decoder.norm.bias"));
	ck_assert_ptr_nonnull(
		seqc_params_find(m->params, "transformer.decoder.layers.1.multihead_attn.in_proj_weight"));
	/* 2 embeddings + 12 per encoder layer + 2 + 18 per decoder layer + 2 + 2 */
	ck_assert_uint_eq(m->params->count, 2 + 12 + 2 + 36 + 2 + 2);
	/* N(0, 1/d): the sample standard deviation of 300 x 64 draws */
	double sum2 = 0;
	for (size_t i = 0; i < m->src_embed->numel; i++)
		sum2 += (double)m->src_embed->val[i] * m->src_embed->val[i];
	double sd = sqrt(sum2 / (double)m->src_embed->numel);
	ck_assert_msg(fabs(sd - 1.0 / 8.0) < 0.01, "embedding sd %g", sd);
	seqc_s2st_destroy(m);
	c = tiny();
	c.share_embeddings = c.tie_output = true;
	c.src_vocab = c.tgt_vocab;
	m = model(&c, 52);
	ck_assert_ptr_null(seqc_params_find(m->params, "src_embed.weight"));
	ck_assert_ptr_null(seqc_params_find(m->params, "generator.weight"));
	ck_assert_ptr_null(seqc_params_find(m->params, "generator.bias"));
	ck_assert_ptr_eq(m->src_embed, m->tgt_embed);
	ck_assert_ptr_eq(m->gen_w, m->tgt_embed);
	ck_assert_uint_eq(m->params->count, 1 + 12 + 2 + 36 + 2);
	seqc_s2st_destroy(m);
	/* no rng: every parameter 0 */
	m = seqc_s2st_create(&c, NULL);
	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; i < m->params->numel; i++)
		ck_assert_float_eq(m->params->values[i], 0.0f);
	seqc_s2st_destroy(m);
	seqc_s2st_destroy(NULL);
}
END_TEST

/* Training mode: dropout draws from the rng (same seed, same loss;
 * another seed, another); evaluation mode ignores it. */
START_TEST(dropout_modes)
{
	seqc_s2st_config c = tiny();
	c.dropout = 0.3f;
	seqc_s2st *m = model(&c, 61);
	seqc_s2s_batch b = hand_batch();
	seqc_graph *g = seqc_graph_create(0);
	float loss[3];
	for (int k = 0; k < 3; k++) {
		seqc_rng rng;
		seqc_rng_seed(&rng, k == 2 ? 2 : 1, SEQC_STREAM_DROPOUT);
		seqc_tensor *l;
		ck_assert_int_eq(seqc_s2st_loss(g, m, &b, &rng, &l), 0);
		loss[k] = l->val[0];
	}
	ck_assert_float_eq(loss[0], loss[1]);
	ck_assert_float_ne(loss[0], loss[2]);
	/* the same weights without dropout (dropout draws nothing at init) */
	c.dropout = 0.0f;
	seqc_s2st *plain = model(&c, 61);
	seqc_tensor *e1, *e2;
	ck_assert_int_eq(seqc_s2st_loss(g, plain, &b, NULL, &e2), 0);
	ck_assert_float_ne(loss[0], e2->val[0]);
	seqc_graph_set_training(g, false);
	ck_assert_int_eq(seqc_s2st_loss(g, m, &b, NULL, &e1), 0);
	ck_assert_float_eq(e1->val[0], e2->val[0]);
	seqc_graph_destroy(g);
	seqc_s2st_destroy(plain);
	seqc_s2st_destroy(m);
}
END_TEST

/* ---- bad input ---- */

static void expect(int rc, int code, const char *word)
{
	ck_assert_int_eq(rc, code);
	ck_assert_msg(strstr(seqc_errmsg(), word) != NULL, "message \"%s\" lacks \"%s\"",
		      seqc_errmsg(), word);
}

START_TEST(bad_configs)
{
	seqc_s2st_config c = tiny();
	c.heads = 3;
	ck_assert_ptr_null(seqc_s2st_create(&c, NULL));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "heads"));
	c = tiny();
	c.share_embeddings = true;
	ck_assert_ptr_null(seqc_s2st_create(&c, NULL));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "share_embeddings"));
	c = tiny();
	c.label_smoothing = -0.1f;
	ck_assert_ptr_null(seqc_s2st_create(&c, NULL));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "label_smoothing"));
	c = tiny();
	c.enc_layers = 0;
	ck_assert_ptr_null(seqc_s2st_create(&c, NULL));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "enc_layers"));
	c = tiny();
	c.max_len = 0;
	ck_assert_ptr_null(seqc_s2st_create(&c, NULL));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "max_len"));
}
END_TEST

START_TEST(misuse)
{
	seqc_s2st_config c = tiny();
	c.max_len = 3;
	seqc_s2st *m = model(&c, 71);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *logits;
	int32_t src[2 * 3] = { 1, 2, 3, 4, 5, 6 }, tok[4] = { 1, 1, 1, 1 };
	size_t lens[2] = { 3, 1 };
	expect(seqc_s2st_start(m, 2), SEQC_ESTATE, "set_source");
	expect(seqc_s2st_step(m, g, tok, &logits), SEQC_ESTATE, "start");
	expect(seqc_s2st_reorder(m, (const size_t[]){ 0 }, 1), SEQC_ESTATE, "start");
	float w[8];
	expect(seqc_s2st_attention(m, w), SEQC_ESTATE, "step");
	/* sources */
	int32_t long_src[4] = { 1, 2, 3, 4 };
	size_t four = 4;
	expect(seqc_s2st_set_source(m, long_src, &four, 1, 4), SEQC_EINVAL, "max_len");
	expect(seqc_s2st_set_source(m, src, (const size_t[]){ 3, 0 }, 2, 3), SEQC_EINVAL, "row 1");
	src[4] = 7;
	expect(seqc_s2st_set_source(m, src, lens, 2, 3), SEQC_EINVAL, "position 1");
	src[4] = 5;
	expect(seqc_s2st_set_source(m, NULL, lens, 2, 3), SEQC_EINVAL, "no sources");
	ck_assert_int_eq(seqc_s2st_set_source(m, src, lens, 2, 3), 0);
	expect(seqc_s2st_start(m, 3), SEQC_EINVAL, "multiple");
	expect(seqc_s2st_start(m, 0), SEQC_EINVAL, "multiple");
	ck_assert_int_eq(seqc_s2st_start(m, 4), 0);
	expect(seqc_s2st_attention(m, w), SEQC_ESTATE, "step");
	/* a bad token changes nothing */
	tok[2] = 9;
	ck_assert_int_lt(seqc_s2st_step(m, g, tok, &logits), 0);
	tok[2] = 1;
	for (int t = 0; t < 3; t++)
		ck_assert_int_eq(seqc_s2st_step(m, g, tok, &logits), 0);
	expect(seqc_s2st_step(m, g, tok, &logits), SEQC_ERANGE, "3 target positions");
	expect(seqc_s2st_step(m, g, tok, &logits), SEQC_ERANGE, "positions");
	expect(seqc_s2st_reorder(m, (const size_t[]){ 0, 4 }, 2), SEQC_ERANGE, "row 4");
	expect(seqc_s2st_reorder(m, NULL, 0), SEQC_EINVAL, "no rows");
	/* a new source needs a new start */
	ck_assert_int_eq(seqc_s2st_set_source(m, src, lens, 1, 3), 0);
	expect(seqc_s2st_step(m, g, tok, &logits), SEQC_ESTATE, "start");
	/* batches */
	seqc_s2s_batch b = hand_batch();
	expect(seqc_s2st_logits(g, m, &b, NULL, &logits), SEQC_EINVAL, "max_len");
	b.T = 3;
	b.S = 3;
	b.src_lens = (const size_t[]){ 3, 4 };
	expect(seqc_s2st_logits(g, m, &b, NULL, &logits), SEQC_EINVAL, "row 1");
	seqc_graph_destroy(g);
	seqc_s2st_destroy(m);
}
END_TEST

START_TEST(activation_bytes)
{
	seqc_s2st_config c = seqc_s2st_config_defaults();
	c.src_vocab = c.tgt_vocab = 8000;
	size_t small = seqc_s2st_activation_bytes(&c, 8, 16, 16);
	size_t big = seqc_s2st_activation_bytes(&c, 64, 32, 32);
	ck_assert_uint_gt(small, 0);
	ck_assert_uint_gt(big, 7 * small);
	/* at least the logits and their gradient */
	ck_assert_uint_ge(big, (size_t)2 * 64 * 32 * 8000 * sizeof(float));
}
END_TEST

static Suite *s2st_suite(void)
{
	Suite *s = suite_create("s2s_transformer");
	TCase *tc = tcase_create("s2s_transformer");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, golden);
	tcase_add_loop_test(tc, gradcheck_loss, 0, 2);
	tcase_add_test(tc, padding_invariance);
	tcase_add_loop_test(tc, step_equals_full, 0, 2);
	tcase_add_test(tc, attention_weights);
	tcase_add_test(tc, reorder_grows);
	tcase_add_test(tc, step_no_heap);
	tcase_add_test(tc, config_json);
	tcase_add_test(tc, config_json_bad);
	tcase_add_test(tc, layout_and_init);
	tcase_add_test(tc, dropout_modes);
	tcase_add_test(tc, bad_configs);
	tcase_add_test(tc, misuse);
	tcase_add_test(tc, activation_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(s2st_suite());
}
