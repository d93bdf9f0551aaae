/* Positional encodings, nn.MultiheadAttention and the transformer encoder and
 * decoder layers: PyTorch golden fixtures (tests/golden/gen_transformer.py:
 * outputs, weights and every gradient), finite-difference gradient checks,
 * hand-computed sinusoids, the init rules and bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/posenc.h"
#include "models/transformer.h"
#include "support.h"

#define SHAPE(...) ((const size_t[]){ __VA_ARGS__ })

static size_t jsize(json_t *c, const char *key)
{
	json_t *v = json_object_get(c, key);
	ck_assert_msg(json_is_integer(v), "fixture field %s", key);
	return (size_t)json_integer_value(v);
}

/* Output against "out", then backward from "dy" and every gradient of the
 * parameters and of the named inputs against "grads". */
static void check_against(seqc_graph *g, json_t *c, seqc_tensor *y, seqc_params *p,
			  seqc_tensor *const *inputs, const char *const *names, int n)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	ck_assert_msg(y != NULL, "%s: %s", name, seqc_errmsg());
	float *e = fixture_floats(c, "out", y->numel);
	ck_assert_msg(allclose(y->val, e, y->numel, 1e-4f, 1e-5f, name), "%s: out", name);
	free(e);
	float *dy = fixture_floats(c, "dy", y->numel);
	ck_assert_int_eq(seqc_backward_from(g, y, dy), 0);
	free(dy);
	json_t *grads = json_object_get(c, "grads");
	for (size_t i = 0; i < p->count; i++) {
		seqc_param *q = p->items[i];
		e = fixture_floats(grads, q->name, q->t.numel);
		ck_assert_msg(allclose(q->t.grad, e, q->t.numel, 1e-4f, 1e-5f, q->name), "%s: grad of %s",
			      name, q->name);
		free(e);
	}
	for (int k = 0; k < n; k++) {
		e = fixture_floats(grads, names[k], inputs[k]->numel);
		ck_assert_msg(allclose(inputs[k]->grad, e, inputs[k]->numel, 1e-4f, 1e-5f, names[k]),
			      "%s: grad of %s", name, names[k]);
		free(e);
	}
}

static seqc_params *finalized(seqc_params *p)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	return p;
}

/* ---- nn.MultiheadAttention ---- */

static void check_mha_case(json_t *c)
{
	size_t B = jsize(c, "B"), Tq = jsize(c, "Tq"), Tk = jsize(c, "Tk"), E = jsize(c, "embed");
	size_t H = jsize(c, "heads");
	bool cross = !strcmp(json_string_value(json_object_get(c, "kind")), "cross");
	seqc_params *p = seqc_params_create();
	seqc_mha m;
	ck_assert_int_eq(seqc_mha_declare(&m, E, H, 0.0f, p, ""), 0);
	fixture_params(finalized(p), c);
	seqc_tensor *x = fixture_tensor(c, "x", B, Tq, E);
	seqc_tensor *mem = cross ? fixture_tensor(c, "memory", B, Tk, E) : x;
	seqc_tmask mask = { .key_pad = fixture_pad(c, "key_pad", B * Tk),
			    .causal = json_is_true(json_object_get(c, "causal")) };
	float *w = json_object_get(c, "weights") ? malloc(B * Tq * Tk * sizeof *w) : NULL;
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y = seqc_mha_forward(g, &m, x, mem, mem, &mask, NULL, w);
	seqc_tensor *in[2] = { x, mem };
	check_against(g, c, y, p, in, (const char *[]){ "x", "memory" }, cross ? 2 : 1);
	if (w) {
		float *e = fixture_floats(c, "weights", B * Tq * Tk);
		ck_assert(allclose(w, e, B * Tq * Tk, 1e-5f, 1e-6f, "mha weights"));
		free(e);
	}
	free(w);
	free((void *)mask.key_pad);
	seqc_graph_destroy(g);
	if (mem != x)
		seqc_tensor_destroy(mem);
	seqc_tensor_destroy(x);
	seqc_params_destroy(p);
}

/* Every case of transformer.json's array key (exactly n of them). */
static void each_case(const char *key, size_t n, void (*check)(json_t *))
{
	json_t *root = fixture_load("transformer.json");
	json_t *cases = json_object_get(root, key);
	ck_assert_uint_eq(json_array_size(cases), n);
	for (size_t i = 0; i < n; i++)
		check(json_array_get(cases, i));
	json_decref(root);
}

START_TEST(golden_mha)
{
	each_case("mha", 3, check_mha_case);
}
END_TEST

/* ---- encoder and decoder layers ---- */

static seqc_tlayer_config fixture_config(json_t *c)
{
	seqc_tlayer_config cfg = seqc_tlayer_defaults(jsize(c, "d_model"), jsize(c, "nhead"));
	cfg.dim_feedforward = jsize(c, "dim_feedforward");
	cfg.dropout = 0.0f;
	int act = seqc_ff_act_parse(json_string_value(json_object_get(c, "activation")));
	ck_assert_int_ge(act, 0);
	cfg.activation = (seqc_ff_act)act;
	cfg.norm_first = json_is_true(json_object_get(c, "norm_first"));
	cfg.layer_norm_eps = (float)json_number_value(json_object_get(c, "layer_norm_eps"));
	return cfg;
}

/* A single layer, or a stack when the case has "layers". */
static void check_layer_case(json_t *c)
{
	size_t B = jsize(c, "B"), T = jsize(c, "T"), S = jsize(c, "S"), D = jsize(c, "d_model");
	bool decoder = !strcmp(json_string_value(json_object_get(c, "kind")), "decoder");
	bool stack = json_object_get(c, "layers") != NULL;
	size_t L = stack ? jsize(c, "layers") : 1;
	seqc_tlayer_config cfg = fixture_config(c);
	seqc_params *p = seqc_params_create();
	seqc_tenc *enc = calloc(1, sizeof *enc);
	seqc_tdec *dec = calloc(1, sizeof *dec);
	int rc;
	if (decoder)
		rc = stack ? seqc_tdec_declare(dec, &cfg, L, true, p, "")
			   : seqc_tdec_layer_declare(&dec->layer[0], &cfg, p, "");
	else
		rc = stack ? seqc_tenc_declare(enc, &cfg, L, true, p, "")
			   : seqc_tenc_layer_declare(&enc->layer[0], &cfg, p, "");
	ck_assert_int_eq(rc, 0);
	fixture_params(finalized(p), c);
	seqc_tensor *x = fixture_tensor(c, "x", B, T, D);
	seqc_tensor *mem = decoder ? fixture_tensor(c, "memory", B, S, D) : NULL;
	seqc_tmask self = { .key_pad = fixture_pad(c, "key_pad", B * T),
			    .causal = json_is_true(json_object_get(c, "causal")) };
	seqc_tmask cross = { .key_pad = fixture_pad(c, "memory_key_pad", B * S) };
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y;
	if (decoder)
		y = stack ? seqc_tdec_forward(g, dec, x, mem, &self, &cross, NULL)
			  : seqc_tdec_layer_forward(g, &dec->layer[0], x, mem, &self, &cross, NULL);
	else
		y = stack ? seqc_tenc_forward(g, enc, x, &self, NULL)
			  : seqc_tenc_layer_forward(g, &enc->layer[0], x, &self, NULL);
	seqc_tensor *in[2] = { x, mem };
	check_against(g, c, y, p, in, (const char *[]){ "x", "memory" }, decoder ? 2 : 1);
	free((void *)self.key_pad);
	free((void *)cross.key_pad);
	free(enc);
	free(dec);
	seqc_graph_destroy(g);
	seqc_tensor_destroy(mem);
	seqc_tensor_destroy(x);
	seqc_params_destroy(p);
}

START_TEST(golden_layers)
{
	each_case("layers", 8, check_layer_case);
}
END_TEST

START_TEST(golden_stacks)
{
	each_case("stacks", 2, check_layer_case);
}
END_TEST

/* ---- finite differences ---- */

typedef struct layer_ctx {
	bool decoder;
	seqc_tenc_layer enc;
	seqc_tdec_layer dec;
	seqc_tensor *x, *mem;
	seqc_tmask self, cross;
} layer_ctx;

static seqc_tensor *layer_fn(seqc_graph *g, void *arg)
{
	layer_ctx *c = arg;
	return c->decoder ? seqc_tdec_layer_forward(g, &c->dec, c->x, c->mem, &c->self, &c->cross, NULL)
			  : seqc_tenc_layer_forward(g, &c->enc, c->x, &c->self, NULL);
}

/* _i: bit 0 decoder, bit 1 norm_first, bit 2 gelu. T = 3, S = 4, d = 8, two
 * heads; the inputs and every parameter are checked. A central difference
 * across a ReLU's kink is meaningless: the inputs' seed is one where no
 * pre-activation of linear1 lies within a step of 0. */
START_TEST(gradcheck_layers)
{
	layer_ctx c = { .decoder = _i & 1 };
	seqc_tlayer_config cfg = seqc_tlayer_defaults(8, 2);
	cfg.dim_feedforward = 8;
	cfg.dropout = 0.0f;
	cfg.norm_first = _i & 2;
	cfg.activation = _i & 4 ? SEQC_FF_GELU : SEQC_FF_RELU;
	seqc_params *p = seqc_params_create();
	if (c.decoder)
		ck_assert_int_eq(seqc_tdec_layer_declare(&c.dec, &cfg, p, "decoder.layers.0."), 0);
	else
		ck_assert_int_eq(seqc_tenc_layer_declare(&c.enc, &cfg, p, "encoder.layers.0."), 0);
	finalized(p);
	/* biases and norms away from their 0 / 1 init so every term matters */
	seqc_rng rng;
	seqc_rng_seed(&rng, 5, 1);
	for (size_t e = 0; e < p->numel; e++)
		p->values[e] += 0.3f * (2.0f * seqc_rng_uniform(&rng) - 1.0f);
	uint8_t pad[2 * 4] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	c.x = rand_tensor(3, SHAPE(2, 3, 8), -1, 1, 200 + (uint64_t)_i);
	c.mem = rand_tensor(3, SHAPE(2, 4, 8), -1, 1, 300 + (uint64_t)_i);
	c.self = (seqc_tmask){ .causal = true, .key_pad = c.decoder ? NULL : pad };
	c.cross = (seqc_tmask){ .key_pad = pad };
	seqc_tensor *in[64];
	int n = 0;
	in[n++] = c.x;
	if (c.decoder)
		in[n++] = c.mem;
	for (size_t i = 0; i < p->count; i++)
		in[n++] = &p->items[i]->t;
	/* step 3e-3: layer norm over 8 columns curves too much for 1e-2 */
	ck_assert_int_eq(gradcheck(layer_fn, &c, in, n, 3e-3, 2e-2, 3e-4, 0), 0);
	seqc_tensor_destroy(c.x);
	seqc_tensor_destroy(c.mem);
	seqc_params_destroy(p);
}
END_TEST

/* ---- dropout ---- */

static seqc_tensor *enc_forward(seqc_graph *g, const seqc_tenc_layer *l, seqc_tensor *x,
				uint64_t seed)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_DROPOUT);
	return seqc_tenc_layer_forward(g, l, x, NULL, &rng);
}

/* Training mode: the same seed gives the same output, another seed another;
 * evaluation mode: the output of the same weights without dropout. */
START_TEST(dropout_modes)
{
	seqc_tlayer_config cfg = seqc_tlayer_defaults(8, 2);
	cfg.dim_feedforward = 16;
	cfg.dropout = 0.3f;
	seqc_params *p = seqc_params_create();
	seqc_tenc_layer l, plain;
	ck_assert_int_eq(seqc_tenc_layer_declare(&l, &cfg, p, ""), 0);
	finalized(p);
	plain = l;
	plain.c.dropout = 0.0f;
	plain.self_attn.dropout = 0.0f;
	seqc_tensor *x = rand_tensor(3, SHAPE(2, 5, 8), -1, 1, 11);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *a = enc_forward(g, &l, x, 1), *b = enc_forward(g, &l, x, 1);
	seqc_tensor *c = enc_forward(g, &l, x, 2), *ref = enc_forward(g, &plain, x, 1);
	ck_assert(allclose(a->val, b->val, a->numel, 0, 0, "same seed"));
	float most = 0, most_ref = 0;
	for (size_t e = 0; e < a->numel; e++) {
		most = fmaxf(most, fabsf(a->val[e] - c->val[e]));
		most_ref = fmaxf(most_ref, fabsf(a->val[e] - ref->val[e]));
	}
	ck_assert_float_gt(most, 0.1f);
	ck_assert_float_gt(most_ref, 0.1f);
	seqc_graph_set_training(g, false);
	seqc_tensor *ev = enc_forward(g, &l, x, 3);
	ck_assert(allclose(ev->val, ref->val, ev->numel, 1e-6f, 1e-6f, "evaluation"));
	seqc_graph_destroy(g);
	seqc_tensor_destroy(x);
	seqc_params_destroy(p);
}
END_TEST

/* ---- the MHA's three projection paths agree ---- */

START_TEST(mha_paths_agree)
{
	seqc_params *p = seqc_params_create();
	seqc_mha m;
	ck_assert_int_eq(seqc_mha_declare(&m, 6, 3, 0.0f, p, "attn."), 0);
	finalized(p);
	seqc_tensor *x = rand_tensor(3, SHAPE(2, 5, 6), -1, 1, 7);
	seqc_tensor *x2 = rand_tensor(3, SHAPE(2, 5, 6), -1, 1, 7); /* same values */
	seqc_tensor *x3 = rand_tensor(3, SHAPE(2, 5, 6), -1, 1, 7);
	seqc_tensor *mem = rand_tensor(3, SHAPE(2, 3, 6), -1, 1, 8);
	seqc_tensor *mem2 = rand_tensor(3, SHAPE(2, 3, 6), -1, 1, 8);
	seqc_tmask causal = { .causal = true };
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *self = seqc_mha_forward(g, &m, x, x, x, &causal, NULL, NULL);
	seqc_tensor *three = seqc_mha_forward(g, &m, x, x2, x3, &causal, NULL, NULL);
	ck_assert(allclose(self->val, three->val, self->numel, 1e-6f, 1e-6f, "self vs three"));
	seqc_tensor *cross = seqc_mha_forward(g, &m, x, mem, mem, NULL, NULL, NULL);
	seqc_tensor *cross3 = seqc_mha_forward(g, &m, x, mem, mem2, NULL, NULL, NULL);
	ck_assert(allclose(cross->val, cross3->val, cross->numel, 1e-6f, 1e-6f, "cross vs three"));
	seqc_graph_destroy(g);
	seqc_tensor_destroy(x);
	seqc_tensor_destroy(x2);
	seqc_tensor_destroy(x3);
	seqc_tensor_destroy(mem);
	seqc_tensor_destroy(mem2);
	seqc_params_destroy(p);
}
END_TEST

/* ---- init as PyTorch ---- */

static float max_abs(const seqc_tensor *t)
{
	float m = 0;
	for (size_t i = 0; i < t->numel; i++)
		m = fmaxf(m, fabsf(t->val[i]));
	return m;
}

/* Uniform draws reach close to their bound and never beyond it. */
static void check_bound(const seqc_tensor *t, float bound, const char *what)
{
	float m = max_abs(t);
	ck_assert_msg(m <= bound && m > 0.9f * bound, "%s: max |w| %g, bound %g", what, (double)m,
		      (double)bound);
}

START_TEST(init_rules)
{
	seqc_params *p = seqc_params_create();
	seqc_tenc_layer l;
	seqc_tlayer_config cfg = seqc_tlayer_defaults(32, 4);
	cfg.dim_feedforward = 64;
	ck_assert_int_eq(seqc_tenc_layer_declare(&l, &cfg, p, "enc."), 0);
	finalized(p);
	ck_assert_ptr_nonnull(seqc_params_find(p, "enc.self_attn.in_proj_weight"));
	ck_assert_ptr_nonnull(seqc_params_find(p, "enc.self_attn.out_proj.bias"));
	ck_assert_ptr_nonnull(seqc_params_find(p, "enc.linear2.bias"));
	ck_assert_ptr_nonnull(seqc_params_find(p, "enc.norm2.weight"));
	ck_assert_uint_eq(p->count, 12);
	check_bound(l.self_attn.in_proj_weight, sqrtf(6.0f / (32 + 96)), "in_proj_weight");
	check_bound(l.self_attn.out_proj_weight, 1.0f / sqrtf(32), "out_proj.weight");
	check_bound(l.linear1.weight, 1.0f / sqrtf(32), "linear1.weight");
	check_bound(l.linear1.bias, 1.0f / sqrtf(32), "linear1.bias");
	check_bound(l.linear2.weight, 1.0f / sqrtf(64), "linear2.weight");
	ck_assert_float_eq(max_abs(l.self_attn.in_proj_bias), 0.0f);
	ck_assert_float_eq(max_abs(l.self_attn.out_proj_bias), 0.0f);
	ck_assert_float_eq(max_abs(l.norm1.bias), 0.0f);
	for (size_t i = 0; i < 32; i++)
		ck_assert_float_eq(l.norm2.weight->val[i], 1.0f);
	seqc_params_destroy(p);
}
END_TEST

/* ---- positional encodings ---- */

START_TEST(sinusoid_by_hand)
{
	float t[2 * 4];
	seqc_sinusoid_table(t, 0, 2, 4);
	/* d = 4: frequencies 1 and 10000^(-1/2) = 0.01 */
	const float want[] = { 0, 1, 0, 1, sinf(1), cosf(1), sinf(0.01f), cosf(0.01f) };
	ck_assert(allclose(t, want, 8, 1e-6f, 1e-7f, "d = 4"));
	float odd[3];
	seqc_sinusoid_table(odd, 7, 1, 3); /* position 7, d = 3: the last column a sin */
	double f = pow(10000.0, -2.0 / 3.0);
	const float want_odd[] = { sinf(7), cosf(7), (float)sin(7 * f) };
	ck_assert(allclose(odd, want_odd, 3, 1e-6f, 1e-7f, "d = 3"));
	/* an offset table is the tail of a longer one */
	float longer[5 * 6], tail[2 * 6];
	seqc_sinusoid_table(longer, 0, 5, 6);
	seqc_sinusoid_table(tail, 3, 2, 6);
	ck_assert(allclose(tail, longer + 3 * 6, 12, 0, 0, "offset"));
}
END_TEST

typedef struct posenc_ctx {
	seqc_tensor *x;
	bool scale;
} posenc_ctx;

static seqc_tensor *posenc_fn(seqc_graph *g, void *arg)
{
	posenc_ctx *c = arg;
	return seqc_posenc_add(g, c->x, 2, c->scale);
}

START_TEST(posenc_add)
{
	posenc_ctx c = { .x = rand_tensor(3, SHAPE(2, 3, 5), -1, 1, 3), .scale = _i };
	float table[3 * 5];
	seqc_sinusoid_table(table, 2, 3, 5);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y = posenc_fn(g, &c);
	ck_assert_ptr_nonnull(y);
	float s = _i ? sqrtf(5.0f) : 1.0f;
	for (size_t b = 0; b < 2; b++)
		for (size_t e = 0; e < 15; e++)
			ck_assert_float_eq_tol(y->val[b * 15 + e], s * c.x->val[b * 15 + e] + table[e], 1e-6f);
	seqc_graph_destroy(g);
	ck_assert_int_eq(gradcheck(posenc_fn, &c, &c.x, 1, 1e-2, 1e-3, 1e-5, 0), 0);
	seqc_tensor_destroy(c.x);
	int32_t ids[2 * 3];
	ck_assert_int_eq(seqc_positions(ids, 2, 3, 4), 0);
	for (size_t i = 0; i < 6; i++)
		ck_assert_int_eq(ids[i], 4 + (int32_t)(i % 3));
	ck_assert_int_eq(seqc_positions(ids, 1, 2, INT32_MAX), SEQC_ERANGE);
}
END_TEST

/* ---- bad input ---- */

START_TEST(errors)
{
	seqc_params *p = seqc_params_create();
	seqc_mha m;
	ck_assert_int_eq(seqc_mha_declare(&m, 6, 4, 0.0f, p, ""), SEQC_EINVAL);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "heads"));
	ck_assert_int_eq(seqc_mha_declare(&m, 6, 2, 1.0f, p, ""), SEQC_EINVAL);
	seqc_tlayer_config cfg = seqc_tlayer_defaults(8, 2);
	seqc_tenc_layer l;
	cfg.layer_norm_eps = 0.0f;
	ck_assert_int_eq(seqc_tenc_layer_declare(&l, &cfg, p, ""), SEQC_EINVAL);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "layer_norm_eps"));
	cfg = seqc_tlayer_defaults(8, 2);
	cfg.activation = (seqc_ff_act)7;
	ck_assert_int_eq(seqc_tenc_layer_declare(&l, &cfg, p, ""), SEQC_EINVAL);
	cfg = seqc_tlayer_defaults(8, 3);
	ck_assert_int_eq(seqc_tenc_layer_declare(&l, &cfg, p, ""), SEQC_EINVAL);
	ck_assert_int_eq(seqc_ff_act_parse("swish"), -1);
	ck_assert_int_eq(seqc_ff_act_parse("gelu"), SEQC_FF_GELU);
	seqc_tenc *stack = malloc(sizeof *stack);
	ck_assert_int_eq(seqc_tenc_declare(stack, &cfg, 0, true, p, "s."), SEQC_EINVAL);
	ck_assert_int_eq(seqc_tenc_declare(stack, &cfg, SEQC_TSTACK_MAX_LAYERS + 1, true, p, "s."),
			 SEQC_EINVAL);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "layers"));
	free(stack);
	/* a duplicate prefix: the store refuses the second set of names */
	cfg = seqc_tlayer_defaults(8, 2);
	ck_assert_int_eq(seqc_tenc_layer_declare(&l, &cfg, p, "a."), 0);
	ck_assert_int_lt(seqc_tenc_layer_declare(&l, &cfg, p, "a."), 0);
	seqc_params_destroy(p);

	p = seqc_params_create();
	ck_assert_int_eq(seqc_mha_declare(&m, 4, 2, 0.0f, p, ""), 0);
	finalized(p);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *x = rand_tensor(3, SHAPE(2, 3, 4), -1, 1, 1);
	seqc_tensor *bad = rand_tensor(3, SHAPE(2, 3, 5), -1, 1, 2);
	seqc_tensor *flat = rand_tensor(2, SHAPE(3, 4), -1, 1, 3);
	seqc_tensor *other_b = rand_tensor(3, SHAPE(3, 3, 4), -1, 1, 4);
	ck_assert_ptr_null(seqc_mha_forward(g, &m, x, bad, bad, NULL, NULL, NULL));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "key [2, 3, 5]"));
	ck_assert_ptr_null(seqc_mha_forward(g, &m, flat, x, x, NULL, NULL, NULL));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "query [3, 4]"));
	ck_assert_ptr_null(seqc_mha_forward(g, &m, x, other_b, other_b, NULL, NULL, NULL));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "attention"));
	ck_assert_ptr_null(seqc_mha_forward(g, &m, NULL, x, x, NULL, NULL, NULL));
	ck_assert_ptr_null(seqc_rows_view(g, m.in_proj_weight, 8, 5));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "[12, 4]"));
	seqc_tensor *rows = seqc_rows_view(g, m.in_proj_weight, 8, 4);
	ck_assert_ptr_nonnull(rows);
	ck_assert_ptr_eq(rows->val, m.in_proj_weight->val + 32);
	ck_assert_ptr_eq(rows->grad, m.in_proj_weight->grad + 32);
	ck_assert_ptr_null(seqc_posenc_add(g, seqc_graph_tensor(g, 1, SHAPE(4), false), 0, true));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "posenc"));
	seqc_graph_destroy(g);
	seqc_tensor_destroy(x);
	seqc_tensor_destroy(bad);
	seqc_tensor_destroy(flat);
	seqc_tensor_destroy(other_b);
	seqc_params_destroy(p);
}
END_TEST

static Suite *transformer_suite(void)
{
	Suite *s = suite_create("transformer");
	TCase *tc = tcase_create("transformer");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, golden_mha);
	tcase_add_test(tc, golden_layers);
	tcase_add_test(tc, golden_stacks);
	tcase_add_loop_test(tc, gradcheck_layers, 0, 8);
	tcase_add_test(tc, dropout_modes);
	tcase_add_test(tc, mha_paths_agree);
	tcase_add_test(tc, init_rules);
	tcase_add_test(tc, sinusoid_by_hand);
	tcase_add_loop_test(tc, posenc_add, 0, 2);
	tcase_add_test(tc, errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(transformer_suite());
}
