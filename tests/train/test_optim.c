/* Optimizers and clipping on hand-computed values: defaults, the spec
 * parser (valid and invalid specs), config checks, SGD and AdamW steps by
 * hand, weight decay only where the no_decay flags allow it, exact resume
 * from saved state, thread-count independence, and gradient clipping. The
 * comparison with PyTorch is in test_optim_golden.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "support.h"

typedef struct pdef {
	const char *name;
	size_t n;
	bool no_decay;
} pdef;

/* A finalized store of 1-D parameters, values uniform in [-1, 1) from seed. */
static seqc_params *store(const pdef *defs, size_t count, uint64_t seed)
{
	seqc_params *p = seqc_params_create();
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < count; i++) {
		seqc_init init = { SEQC_INIT_UNIFORM, 1.0f };
		ck_assert_ptr_nonnull(seqc_params_add(p, defs[i].name, 1, &defs[i].n, init, defs[i].no_decay));
	}
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, 3);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	return p;
}

/* Gradients of step t, a fixed function of (seed, t). */
static void fill_grads(seqc_params *p, uint64_t seed, int t)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, (uint64_t)t + 11);
	for (size_t i = 0; i < p->numel; i++)
		p->grads[i] = (float)(2.0 * seqc_rng_uniform(&rng) - 1.0);
}

static bool has(const char *msg, const char *part)
{
	return strstr(msg, part) != NULL;
}

/* ---- defaults and parsing ---- */

static void assert_config_eq(const seqc_optim_config *a, const seqc_optim_config *b, const char *what)
{
	ck_assert_msg(a->kind == b->kind, "%s: kind %d, expected %d", what, a->kind, b->kind);
#define F(f) ck_assert_msg(a->f == b->f, "%s: " #f " %g, expected %g", what, (double)a->f, (double)b->f)
	F(lr);
	F(momentum);
	F(dampening);
	F(nesterov);
	F(weight_decay);
	F(beta1);
	F(beta2);
	F(eps);
	F(alpha);
	F(centered);
	F(lr_decay);
	F(initial_accumulator_value);
	F(decay_all);
#undef F
}

START_TEST(test_defaults)
{
	/* PyTorch 1.13's documented defaults. */
	static const seqc_optim_config want[] = {
		{ .kind = SEQC_OPT_SGD, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f },
		{ .kind = SEQC_OPT_ADAGRAD, .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-10f },
		{ .kind = SEQC_OPT_RMSPROP, .lr = 1e-2f, .alpha = 0.99f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f },
		{ .kind = SEQC_OPT_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f },
		{ .kind = SEQC_OPT_ADAMW, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
		  .weight_decay = 1e-2f },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		seqc_optim_config c = seqc_optim_defaults(want[i].kind);
		assert_config_eq(&c, &want[i], seqc_optim_kind_name(want[i].kind));
		ck_assert_int_eq(seqc_optim_check(&c), 0);
	}
	ck_assert_str_eq(seqc_optim_kind_name(SEQC_OPT_ADAMW), "adamw");
	ck_assert_str_eq(seqc_optim_kind_name((seqc_opt_kind)42), "unknown");
}
END_TEST

START_TEST(test_parse_valid)
{
	static const struct {
		const char *spec;
		seqc_optim_config want;
	} cases[] = {
		{ "adamw", { .kind = SEQC_OPT_ADAMW, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
			     .weight_decay = 1e-2f } },
		{ "adam:beta2=0.99,eps=1e-9",
		  { .kind = SEQC_OPT_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-9f } },
		{ "adam:lr=3e-4,beta1=0,wd=0.1,decay_all=true",
		  { .kind = SEQC_OPT_ADAM, .lr = 3e-4f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.1f,
		    .decay_all = true } },
		{ "sgd:momentum=0.9,nesterov=1",
		  { .kind = SEQC_OPT_SGD, .lr = 1e-3f, .momentum = 0.9f, .nesterov = true, .beta1 = 0.9f,
		    .beta2 = 0.999f, .eps = 1e-8f } },
		{ "sgd:lr=0.1,momentum=0.5,dampening=1,nesterov=false",
		  { .kind = SEQC_OPT_SGD, .lr = 0.1f, .momentum = 0.5f, .dampening = 1, .beta1 = 0.9f,
		    .beta2 = 0.999f, .eps = 1e-8f } },
		{ "rmsprop:alpha=0.95,centered=1",
		  { .kind = SEQC_OPT_RMSPROP, .lr = 1e-2f, .alpha = 0.95f, .centered = true, .beta1 = 0.9f,
		    .beta2 = 0.999f, .eps = 1e-8f } },
		{ "adagrad", { .kind = SEQC_OPT_ADAGRAD, .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-10f } },
		{ "adagrad:lr_decay=1e-4,init_acc=0.1,eps=1e-8,lr=.5",
		  { .kind = SEQC_OPT_ADAGRAD, .lr = 0.5f, .lr_decay = 1e-4f, .initial_accumulator_value = 0.1f,
		    .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f } },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		seqc_optim_config c;
		ck_assert_msg(seqc_optim_parse(cases[i].spec, &c) == 0, "%s: %s", cases[i].spec, seqc_errmsg());
		assert_config_eq(&c, &cases[i].want, cases[i].spec);
		ck_assert_int_eq(seqc_optim_check(&c), 0);
	}
}
END_TEST

START_TEST(test_parse_invalid)
{
	static const struct {
		const char *spec;
		int code;
		const char *msg; /* part of the message */
	} cases[] = {
		{ "", SEQC_EINVAL, "unknown name ''" },
		{ "adamx", SEQC_EINVAL, "unknown name 'adamx'" },
		{ "ADAM", SEQC_EINVAL, "unknown name 'ADAM'" },
		{ "adam:", SEQC_EFORMAT, "nothing after ':'" },
		{ "adam:beta2", SEQC_EFORMAT, "'beta2' is not key=value" },
		{ "adam:beta2=", SEQC_EFORMAT, "value missing" },
		{ "adam:beta2=abc", SEQC_EFORMAT, "'abc' is not a number" },
		{ "adam:beta2=0.9x", SEQC_EFORMAT, "'0.9x' is not a number" },
		{ "adam:beta2= 0.9", SEQC_EFORMAT, "' 0.9' is not a number" },
		{ "adam:wd=0.1 ", SEQC_EFORMAT, "'0.1 ' is not a number" },
		{ "adam:beta2=nan", SEQC_ENONFINITE, "'nan' is not a finite float" },
		{ "adam:lr=inf", SEQC_ENONFINITE, "'inf' is not a finite float" },
		{ "adam:lr=1e39", SEQC_ENONFINITE, "'1e39' is not a finite float" },
		{ "adam:beta2=1", SEQC_ERANGE, "beta2 must be in [0, 1)" },
		{ "adam:beta1=-0.1", SEQC_ERANGE, "beta1 must be in [0, 1)" },
		{ "adam:eps=0", SEQC_ERANGE, "eps must be in (0, inf)" },
		{ "adam:lr=-1", SEQC_ERANGE, "lr must be in [0, inf)" },
		{ "adam:momentum=0.9", SEQC_EINVAL, "unknown key 'momentum' for adam" },
		{ "sgd:eps=1e-8", SEQC_EINVAL, "unknown key 'eps' for sgd" },
		{ "adamw:foo=1", SEQC_EINVAL, "unknown key 'foo'" },
		{ "adam:lr=1,lr=2", SEQC_EINVAL, "key 'lr' given twice" },
		{ "adam:lr=1,", SEQC_EFORMAT, "stray ','" },
		{ "adam:,lr=1", SEQC_EFORMAT, "stray ','" },
		{ "sgd:nesterov=1", SEQC_EINVAL, "nesterov=1 needs momentum > 0" },
		{ "sgd:momentum=0.9,nesterov=1,dampening=0.1", SEQC_EINVAL, "dampening=0" },
		{ "sgd:nesterov=2", SEQC_EFORMAT, "'2' is not a boolean" },
		{ "sgd:momentum=1", SEQC_ERANGE, "momentum must be in [0, 1)" },
		{ "rmsprop:alpha=1", SEQC_ERANGE, "alpha must be in [0, 1)" },
		{ "rmsprop:centered=yes", SEQC_EFORMAT, "not a boolean" },
		{ "adagrad:init_acc=-1", SEQC_ERANGE, "init_acc must be in [0, inf)" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		seqc_optim_config c;
		seqc_error_clear();
		int rc = seqc_optim_parse(cases[i].spec, &c);
		ck_assert_msg(rc == cases[i].code, "'%s': code %d, expected %d (%s)", cases[i].spec, rc,
			      cases[i].code, seqc_errmsg());
		ck_assert_msg(has(seqc_errmsg(), cases[i].msg), "'%s': message '%s' lacks '%s'", cases[i].spec,
			      seqc_errmsg(), cases[i].msg);
		char quoted[128];
		snprintf(quoted, sizeof quoted, "'%s'", cases[i].spec);
		ck_assert_msg(has(seqc_errmsg(), quoted), "'%s': message '%s' does not quote the spec",
			      cases[i].spec, seqc_errmsg());
	}
	seqc_optim_config c;
	ck_assert_int_eq(seqc_optim_parse(NULL, &c), SEQC_EINVAL);
}
END_TEST

/* Configs built by hand: create refuses them, naming the field. */
START_TEST(test_create_invalid)
{
	pdef defs[] = { { "w", 4, false } };
	seqc_params *p = store(defs, 1, 1);
	static const struct {
		seqc_opt_kind kind;
		const char *field;
		float value;
		const char *msg;
	} cases[] = {
		{ SEQC_OPT_ADAM, "lr", NAN, "lr = nan" },
		{ SEQC_OPT_ADAM, "lr", -1e-3f, "lr = -0.001 must be in [0, inf)" },
		{ SEQC_OPT_ADAM, "beta2", 1.0f, "beta2 = 1 must be in [0, 1)" },
		{ SEQC_OPT_ADAMW, "beta1", -0.5f, "beta1 = -0.5" },
		{ SEQC_OPT_ADAM, "eps", 0.0f, "eps = 0 must be in (0, inf)" },
		{ SEQC_OPT_RMSPROP, "eps", -1.0f, "eps = -1" },
		{ SEQC_OPT_SGD, "momentum", -0.1f, "momentum = -0.1" },
		{ SEQC_OPT_ADAGRAD, "weight_decay", INFINITY, "weight_decay = inf" },
		{ SEQC_OPT_RMSPROP, "alpha", 1.5f, "alpha = 1.5" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		seqc_optim_config c = seqc_optim_defaults(cases[i].kind);
		float *f = strcmp(cases[i].field, "lr") == 0	       ? &c.lr
			   : strcmp(cases[i].field, "beta1") == 0     ? &c.beta1
			   : strcmp(cases[i].field, "beta2") == 0     ? &c.beta2
			   : strcmp(cases[i].field, "eps") == 0	       ? &c.eps
			   : strcmp(cases[i].field, "momentum") == 0  ? &c.momentum
			   : strcmp(cases[i].field, "alpha") == 0     ? &c.alpha
								       : &c.weight_decay;
		*f = cases[i].value;
		ck_assert_ptr_null(seqc_optim_create(p, &c));
		ck_assert_msg(has(seqc_errmsg(), cases[i].msg), "case %zu: message '%s' lacks '%s'", i,
			      seqc_errmsg(), cases[i].msg);
	}
	/* A field of another kind is ignored: Adam has no momentum. */
	seqc_optim_config c = seqc_optim_defaults(SEQC_OPT_ADAM);
	c.momentum = -5;
	seqc_optim *o = seqc_optim_create(p, &c);
	ck_assert_ptr_nonnull(o);
	seqc_optim_destroy(o);

	c = seqc_optim_defaults(SEQC_OPT_SGD);
	c.nesterov = true;
	ck_assert_ptr_null(seqc_optim_create(p, &c));
	ck_assert(has(seqc_errmsg(), "nesterov needs momentum > 0"));
	c.momentum = 0.9f;
	c.dampening = 0.5f;
	ck_assert_ptr_null(seqc_optim_create(p, &c));
	ck_assert(has(seqc_errmsg(), "dampening 0 (got 0.5)"));

	c = seqc_optim_defaults((seqc_opt_kind)7);
	ck_assert_ptr_null(seqc_optim_create(p, &c));
	ck_assert(has(seqc_errmsg(), "unknown kind 7"));
	ck_assert_int_eq(seqc_optim_check(NULL), SEQC_EINVAL);

	c = seqc_optim_defaults(SEQC_OPT_ADAM);
	ck_assert_ptr_null(seqc_optim_create(NULL, &c));
	seqc_params *unfinished = seqc_params_create();
	ck_assert_ptr_null(seqc_optim_create(unfinished, &c));
	ck_assert(has(seqc_errmsg(), "not finalized"));
	seqc_params_destroy(unfinished);
	seqc_optim_destroy(NULL);
	seqc_params_destroy(p);
}
END_TEST

START_TEST(test_step_invalid)
{
	pdef defs[] = { { "w", 4, false } }, other_defs[] = { { "w", 5, false } };
	seqc_params *p = store(defs, 1, 1), *other = store(other_defs, 1, 1);
	seqc_optim_config c = seqc_optim_defaults(SEQC_OPT_ADAM);
	seqc_optim *o = seqc_optim_create(p, &c);
	ck_assert_ptr_nonnull(o);
	float before[4];
	memcpy(before, p->values, sizeof before);
	ck_assert_int_eq(seqc_optim_step(o, p, NAN), SEQC_ENONFINITE);
	ck_assert_int_eq(seqc_optim_step(o, p, INFINITY), SEQC_ENONFINITE);
	ck_assert_int_eq(seqc_optim_step(o, p, -1e-3f), SEQC_ERANGE);
	ck_assert(has(seqc_errmsg(), "learning rate -0.001"));
	ck_assert_int_eq(seqc_optim_step(o, other, 1e-3f), SEQC_ESHAPE);
	ck_assert(has(seqc_errmsg(), "5 parameters"));
	ck_assert_int_eq(seqc_optim_step(o, NULL, 1e-3f), SEQC_EINVAL);
	ck_assert_int_eq(seqc_optim_step(NULL, p, 1e-3f), SEQC_EINVAL);
	ck_assert(memcmp(before, p->values, sizeof before) == 0);
	ck_assert_int_eq(seqc_optim_steps(o), 0);
	/* lr 0 is valid and leaves Adam's values alone. */
	fill_grads(p, 3, 0);
	ck_assert_int_eq(seqc_optim_step(o, p, 0.0f), 0);
	ck_assert(memcmp(before, p->values, sizeof before) == 0);
	ck_assert_int_eq(seqc_optim_steps(o), 1);
	seqc_optim_destroy(o);
	seqc_params_destroy(p);
	seqc_params_destroy(other);
}
END_TEST

/* ---- steps by hand ---- */

START_TEST(test_sgd_by_hand)
{
	pdef defs[] = { { "w", 2, false }, { "b", 1, true } };
	seqc_params *p = store(defs, 2, 1);
	const float v0[3] = { 1.0f, -2.0f, 0.5f }, g[3] = { 0.1f, 0.2f, -0.3f };
	memcpy(p->values, v0, sizeof v0);
	memcpy(p->grads, g, sizeof g);
	seqc_optim_config c;
	ck_assert_int_eq(seqc_optim_parse("sgd:momentum=0.9,wd=0.1", &c), 0);
	seqc_optim *o = seqc_optim_create(p, &c);
	ck_assert_ptr_nonnull(o);
	/* Step 1: d = g + 0.1 w for w only = {0.2, 0}, b: d = -0.3; the buffer
	 * is d itself; p -= 0.5 d. */
	ck_assert_int_eq(seqc_optim_step(o, p, 0.5f), 0);
	const float want1[3] = { 0.9f, -2.0f, 0.65f };
	ck_assert(allclose(p->values, want1, 3, 1e-6f, 1e-7f, "sgd step 1"));
	/* Step 2: d_w = {0.1 + 0.09, 0.2 - 0.2} = {0.19, 0}; buf = 0.9 {0.2, 0}
	 * + d = {0.37, 0}; b: buf = 0.9 (-0.3) - 0.3 = -0.57. */
	ck_assert_int_eq(seqc_optim_step(o, p, 0.5f), 0);
	const float want2[3] = { 0.715f, -2.0f, 0.935f }, buf2[3] = { 0.37f, 0.0f, -0.57f };
	ck_assert(allclose(p->values, want2, 3, 1e-6f, 1e-7f, "sgd step 2"));
	float buf[3];
	ck_assert_int_eq(seqc_optim_get_state(o, "momentum_buffer", buf, 3), 0);
	ck_assert(allclose(buf, buf2, 3, 1e-6f, 1e-7f, "sgd momentum buffer"));
	seqc_optim_destroy(o);
	seqc_params_destroy(p);
}
END_TEST

/* Adam's first step moves each weight by lr * sign(g) (bias correction
 * makes m / sqrt(v) = g / |g|); AdamW first scales decayed weights by
 * 1 - lr wd. */
START_TEST(test_adamw_by_hand)
{
	pdef defs[] = { { "w", 2, false }, { "b", 1, true } };
	const float v0[3] = { 2.0f, -1.0f, 2.0f }, g[3] = { 0.5f, -0.25f, -3.0f };
	for (int all = 0; all < 2; all++) {
		seqc_params *p = store(defs, 2, 1);
		memcpy(p->values, v0, sizeof v0);
		memcpy(p->grads, g, sizeof g);
		seqc_optim_config c = seqc_optim_defaults(SEQC_OPT_ADAMW);
		c.weight_decay = 0.1f;
		c.decay_all = all;
		seqc_optim *o = seqc_optim_create(p, &c);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(seqc_optim_step(o, p, 0.1f), 0);
		float want[3] = { 2.0f * 0.99f - 0.1f, -1.0f * 0.99f + 0.1f, (all ? 2.0f * 0.99f : 2.0f) + 0.1f };
		ck_assert(allclose(p->values, want, 3, 1e-6f, 1e-6f, all ? "adamw decay_all" : "adamw"));
		seqc_optim_destroy(o);
		seqc_params_destroy(p);
	}
}
END_TEST

/* Weight decay reaches exactly the parameters not flagged no_decay, also
 * when runs of them are split across threads: SGD with lr 1, wd 0.5 and
 * zero gradients halves decayed weights and leaves the rest. */
START_TEST(test_no_decay)
{
	pdef defs[] = { { "a", 10000, false }, { "a_bias", 7, true }, { "b", 20000, false },
			{ "c", 3, false }, { "ln", 5000, true }, { "emb", 1, true }, { "d", 9, false } };
	size_t count = sizeof defs / sizeof defs[0];
	for (int all = 0; all < 2; all++) {
		seqc_params *p = store(defs, count, 5);
		float *v0 = malloc(p->numel * sizeof *v0);
		memcpy(v0, p->values, p->numel * sizeof *v0);
		seqc_optim_config c;
		ck_assert_int_eq(seqc_optim_parse(all ? "sgd:lr=1,wd=0.5,decay_all=1" : "sgd:lr=1,wd=0.5", &c), 0);
		seqc_optim *o = seqc_optim_create(p, &c);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(seqc_optim_step(o, p, 1.0f), 0);
		for (size_t k = 0; k < count; k++) {
			const seqc_param *q = p->items[k];
			bool decayed = all || !q->no_decay;
			for (size_t i = 0; i < q->t.numel; i++) {
				float w = v0[q->offset + i], want = decayed ? w + -1.0f * (0.5f * w) : w;
				ck_assert_msg(q->t.val[i] == want, "%s[%zu]: %g, expected %g (decay_all %d)", q->name,
					      i, (double)q->t.val[i], (double)want, all);
			}
		}
		free(v0);
		seqc_optim_destroy(o);
		seqc_params_destroy(p);
	}
}
END_TEST

/* ---- state ---- */

static const char *const resume_specs[] = {
	"sgd:momentum=0.9,wd=0.01",
	"sgd:momentum=0.9,nesterov=1",
	"sgd",
	"adagrad:lr_decay=0.01,init_acc=0.1,wd=0.01",
	"rmsprop:momentum=0.5,centered=1,wd=0.01",
	"rmsprop",
	"adam:wd=0.01",
	"adamw",
};

/* Large enough for the parallel path (SEQC_PAR_MIN floats). */
static const pdef resume_defs[] = { { "w", 40000, false }, { "b", 200, true }, { "e", 1500, true },
				    { "v", 333, false } };
#define RESUME_COUNT (sizeof resume_defs / sizeof resume_defs[0])

static void run_steps(seqc_optim *o, seqc_params *p, int from, int to)
{
	for (int t = from; t < to; t++) {
		fill_grads(p, 77, t);
		ck_assert_int_eq(seqc_optim_step(o, p, 0.05f * (float)(t + 1)), 0);
	}
}

/* 3 steps, the state copied out, a fresh optimizer given that state, 2
 * more steps: bit-for-bit the 5 straight steps. Without the state the
 * result differs (so the comparison can fail). */
START_TEST(test_resume)
{
	const char *spec = resume_specs[_i];
	seqc_optim_config c;
	ck_assert_int_eq(seqc_optim_parse(spec, &c), 0);

	seqc_params *a = store(resume_defs, RESUME_COUNT, 9);
	seqc_optim *oa = seqc_optim_create(a, &c);
	ck_assert_ptr_nonnull(oa);
	run_steps(oa, a, 0, 5);

	seqc_params *b = store(resume_defs, RESUME_COUNT, 9);
	seqc_optim *ob = seqc_optim_create(b, &c);
	run_steps(ob, b, 0, 3);
	size_t n = seqc_optim_numel(ob), ns = seqc_optim_state_count(ob);
	ck_assert_uint_eq(n, b->numel);
	float *saved = malloc((ns ? ns : 1) * n * sizeof *saved);
	const char *names[3];
	ck_assert_uint_le(ns, 3);
	for (size_t k = 0; k < ns; k++) {
		names[k] = seqc_optim_state_name(ob, k);
		ck_assert_int_eq(seqc_optim_get_state(ob, names[k], saved + k * n, n), 0);
	}
	ck_assert_ptr_null(seqc_optim_state_name(ob, ns));
	ck_assert_ptr_null(seqc_optim_state_data(ob, ns));
	int64_t steps = seqc_optim_steps(ob);
	ck_assert_int_eq(steps, 3);
	seqc_optim_destroy(ob);

	/* A copy of b without the restored state, to show the state matters. */
	seqc_params *fresh = store(resume_defs, RESUME_COUNT, 9);
	memcpy(fresh->values, b->values, n * sizeof(float));

	ob = seqc_optim_create(b, &c);
	for (size_t k = 0; k < ns; k++)
		ck_assert_int_eq(seqc_optim_set_state(ob, names[k], saved + k * n, n), 0);
	ck_assert_int_eq(seqc_optim_set_steps(ob, steps), 0);
	run_steps(ob, b, 3, 5);
	ck_assert_msg(memcmp(a->values, b->values, n * sizeof(float)) == 0, "%s: resumed run differs", spec);
	for (size_t k = 0; k < ns; k++)
		ck_assert_msg(memcmp(seqc_optim_state_data(oa, k), seqc_optim_state_data(ob, k),
				     n * sizeof(float)) == 0, "%s: state %s differs", spec, names[k]);
	ck_assert_int_eq(seqc_optim_steps(ob), 5);

	seqc_optim *of = seqc_optim_create(fresh, &c);
	run_steps(of, fresh, 3, 5);
	bool stateless = strcmp(spec, "sgd") == 0;
	ck_assert_msg((memcmp(a->values, fresh->values, n * sizeof(float)) == 0) == stateless,
		      "%s: a fresh optimizer %s the resumed run", spec, stateless ? "differs from" : "matches");

	free(saved);
	seqc_optim_destroy(oa);
	seqc_optim_destroy(ob);
	seqc_optim_destroy(of);
	seqc_params_destroy(a);
	seqc_params_destroy(b);
	seqc_params_destroy(fresh);
}
END_TEST

START_TEST(test_state_invalid)
{
	pdef defs[] = { { "w", 3, false } };
	seqc_params *p = store(defs, 1, 1);
	seqc_optim_config c = seqc_optim_defaults(SEQC_OPT_ADAM);
	seqc_optim *o = seqc_optim_create(p, &c);
	ck_assert_uint_eq(seqc_optim_state_count(o), 2);
	ck_assert_str_eq(seqc_optim_state_name(o, 0), "exp_avg");
	ck_assert_str_eq(seqc_optim_state_name(o, 1), "exp_avg_sq");
	float good[3] = { 0.5f, 0.25f, 0.0f }, buf[3];
	ck_assert_int_eq(seqc_optim_set_state(o, "sum", good, 3), SEQC_EINVAL);
	ck_assert(has(seqc_errmsg(), "adam has no buffer called 'sum'"));
	ck_assert_int_eq(seqc_optim_set_state(o, NULL, good, 3), SEQC_EINVAL);
	ck_assert_int_eq(seqc_optim_set_state(o, "exp_avg", good, 2), SEQC_ESHAPE);
	ck_assert(has(seqc_errmsg(), "2 floats given, the buffer holds 3"));
	ck_assert_int_eq(seqc_optim_get_state(o, "exp_avg", buf, 4), SEQC_ESHAPE);
	float bad[3] = { 0.5f, NAN, 0.0f };
	ck_assert_int_eq(seqc_optim_set_state(o, "exp_avg", bad, 3), SEQC_ENONFINITE);
	ck_assert(has(seqc_errmsg(), "element 1"));
	float neg[3] = { 0.5f, 0.25f, -1e-3f };
	ck_assert_int_eq(seqc_optim_set_state(o, "exp_avg", neg, 3), 0); /* a first moment may be < 0 */
	ck_assert_int_eq(seqc_optim_set_state(o, "exp_avg_sq", neg, 3), SEQC_ERANGE);
	ck_assert(has(seqc_errmsg(), "element 2"));
	/* Refused sets change nothing. */
	ck_assert_int_eq(seqc_optim_get_state(o, "exp_avg_sq", buf, 3), 0);
	ck_assert(buf[0] == 0 && buf[1] == 0 && buf[2] == 0);
	ck_assert_int_eq(seqc_optim_set_steps(o, -1), SEQC_ERANGE);
	ck_assert_int_eq(seqc_optim_set_steps(o, 12), 0);
	ck_assert_int_eq(seqc_optim_steps(o), 12);
	seqc_optim_destroy(o);

	c = seqc_optim_defaults(SEQC_OPT_ADAGRAD);
	c.initial_accumulator_value = 0.25f;
	o = seqc_optim_create(p, &c);
	ck_assert_int_eq(seqc_optim_get_state(o, "sum", buf, 3), 0);
	ck_assert(buf[0] == 0.25f && buf[1] == 0.25f && buf[2] == 0.25f);
	seqc_optim_destroy(o);
	c = seqc_optim_defaults(SEQC_OPT_SGD);
	o = seqc_optim_create(p, &c);
	ck_assert_uint_eq(seqc_optim_state_count(o), 0);
	seqc_optim_destroy(o);
	seqc_params_destroy(p);
}
END_TEST

/* One thread or two: the same bits (steps and grad norm). */
START_TEST(test_threads)
{
#ifdef _OPENMP
	int saved = omp_get_max_threads();
	float *values[2];
	double norms[2];
	for (int r = 0; r < 2; r++) {
		omp_set_num_threads(r + 1);
		seqc_params *p = store(resume_defs, RESUME_COUNT, 4);
		seqc_optim_config c = seqc_optim_defaults(SEQC_OPT_ADAMW);
		seqc_optim *o = seqc_optim_create(p, &c);
		run_steps(o, p, 0, 3);
		norms[r] = seqc_grad_norm(p);
		values[r] = malloc(p->numel * sizeof(float));
		memcpy(values[r], p->values, p->numel * sizeof(float));
		seqc_optim_destroy(o);
		seqc_params_destroy(p);
	}
	omp_set_num_threads(saved);
	size_t n = 0;
	for (size_t k = 0; k < RESUME_COUNT; k++)
		n += resume_defs[k].n;
	ck_assert(memcmp(values[0], values[1], n * sizeof(float)) == 0);
	ck_assert(norms[0] == norms[1]);
	free(values[0]);
	free(values[1]);
#endif
}
END_TEST

/* ---- clipping ---- */

START_TEST(test_clip_norm_by_hand)
{
	pdef defs[] = { { "w", 2, false }, { "b", 1, true } };
	seqc_params *p = store(defs, 2, 1);
	const float g[3] = { 3.0f, 0.0f, -4.0f };
	memcpy(p->grads, g, sizeof g);
	ck_assert_double_eq(seqc_grad_norm(p), 5.0);
	/* Below the limit: returned, nothing scaled. */
	ck_assert_double_eq(seqc_clip_grad_norm(p, 10.0f), 5.0);
	ck_assert(memcmp(p->grads, g, sizeof g) == 0);
	/* Above: scaled by max_norm / (norm + 1e-6). */
	ck_assert_double_eq(seqc_clip_grad_norm(p, 1.0f), 5.0);
	float coef = (float)(1.0 / (5.0 + 1e-6));
	const float want[3] = { 3.0f * coef, 0.0f, -4.0f * coef };
	ck_assert(allclose(p->grads, want, 3, 1e-7f, 0, "clip to 1"));
	ck_assert_double_eq_tol(seqc_grad_norm(p), 1.0, 1e-6);

	/* Non-finite: returned as is, grads untouched. */
	const float ginf[3] = { INFINITY, 1.0f, 2.0f }, gnan[3] = { 1.0f, NAN, 2.0f };
	memcpy(p->grads, ginf, sizeof ginf);
	ck_assert(isinf(seqc_clip_grad_norm(p, 1.0f)));
	ck_assert(memcmp(p->grads, ginf, sizeof ginf) == 0);
	memcpy(p->grads, gnan, sizeof gnan);
	ck_assert(isnan(seqc_clip_grad_norm(p, 1.0f)));
	ck_assert(p->grads[0] == 1.0f && p->grads[2] == 2.0f);

	/* Bad limits and stores: negative codes, never a norm. */
	ck_assert_double_eq(seqc_clip_grad_norm(p, 0.0f), (double)SEQC_EINVAL);
	ck_assert_double_eq(seqc_clip_grad_norm(p, -1.0f), (double)SEQC_EINVAL);
	ck_assert_double_eq(seqc_clip_grad_norm(p, NAN), (double)SEQC_EINVAL);
	ck_assert(has(seqc_errmsg(), "max_norm nan"));
	seqc_params *unfinished = seqc_params_create();
	ck_assert_double_eq(seqc_grad_norm(unfinished), (double)SEQC_ESTATE);
	ck_assert_double_eq(seqc_clip_grad_norm(unfinished, 1.0f), (double)SEQC_ESTATE);
	ck_assert_int_eq(seqc_clip_grad_value(unfinished, 1.0f), SEQC_ESTATE);
	seqc_params_destroy(unfinished);
	seqc_params_destroy(p);
}
END_TEST

/* The grad norm of a large store equals a plain double sum. */
START_TEST(test_grad_norm_large)
{
	seqc_params *p = store(resume_defs, RESUME_COUNT, 2);
	fill_grads(p, 5, 0);
	double s = 0;
	for (size_t i = 0; i < p->numel; i++)
		s += (double)p->grads[i] * p->grads[i];
	ck_assert_double_eq_tol(seqc_grad_norm(p), sqrt(s), 1e-12 * sqrt(s));
	seqc_params_destroy(p);
}
END_TEST

START_TEST(test_clip_value_by_hand)
{
	pdef defs[] = { { "w", 5, false } };
	seqc_params *p = store(defs, 1, 1);
	const float g[5] = { -2.0f, 0.3f, 5.0f, NAN, -1.0f };
	memcpy(p->grads, g, sizeof g);
	ck_assert_int_eq(seqc_clip_grad_value(p, 1.0f), 0);
	ck_assert(p->grads[0] == -1.0f && p->grads[1] == 0.3f && p->grads[2] == 1.0f && isnan(p->grads[3]) &&
		  p->grads[4] == -1.0f);
	ck_assert_int_eq(seqc_clip_grad_value(p, -1.0f), SEQC_EINVAL);
	ck_assert_int_eq(seqc_clip_grad_value(p, NAN), SEQC_EINVAL);
	ck_assert_int_eq(seqc_clip_grad_value(p, 0.0f), 0);
	ck_assert(p->grads[0] == 0.0f && p->grads[2] == 0.0f);
	seqc_params_destroy(p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("optim");
	TCase *tc = tcase_create("optim");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_parse_valid);
	tcase_add_test(tc, test_parse_invalid);
	tcase_add_test(tc, test_create_invalid);
	tcase_add_test(tc, test_step_invalid);
	tcase_add_test(tc, test_sgd_by_hand);
	tcase_add_test(tc, test_adamw_by_hand);
	tcase_add_test(tc, test_no_decay);
	tcase_add_loop_test(tc, test_resume, 0, (int)(sizeof resume_specs / sizeof resume_specs[0]));
	tcase_add_test(tc, test_state_invalid);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	TCase *clip = tcase_create("clip");
	tcase_add_test(clip, test_clip_norm_by_hand);
	tcase_add_test(clip, test_grad_norm_large);
	tcase_add_test(clip, test_clip_value_by_hand);
	suite_add_tcase(s, clip);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
