/* Teacher forcing and scheduled sampling: the schedules on hand-computed
 * values, the spec parser on valid and invalid specs, the per-token mixing,
 * and the losses: with ground-truth probability 1 the step-by-step rnnlm
 * loss equals seqc_rnnlm_loss (loss, h_n, c_n and every gradient, within
 * 1e-5: the fused layer and the per-step cells round differently; the
 * same dropout masks) and the
 * two-pass gpt loss equals seqc_gpt_loss bit for bit (dropout on); with
 * probability 0 the inputs are exactly the model's own greedy outputs
 * (checked against the step interface and against the teacher-forced
 * logits); finite differences of the step-by-step loss with fixed mixing
 * choices and dropout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static seqc_ss_config parse_ok(const char *spec)
{
	seqc_ss_config c;
	ck_assert_msg(seqc_ss_parse(spec, &c) == 0, "%s: %s", spec, seqc_errmsg());
	return c;
}

/* ---- schedules ---- */

typedef struct point {
	const char *spec;
	int64_t step;
	double p;
} point;

START_TEST(test_prob_values)
{
	static const point pts[] = {
		{ "none", 0, 1.0 },
		{ "none", 123456, 1.0 },
		{ "constant:p=0.75", 0, 0.75 },
		{ "constant:p=0.75", 1000000, 0.75 },
		{ "constant:p=0", 5, 0.0 },
		/* 1 - 1e-4 i, floored at 0.1 */
		{ "linear:k=1,c=1e-4,eps=0.1", 0, 1.0 },
		{ "linear:k=1,c=1e-4,eps=0.1", 1000, 0.9 },
		{ "linear:k=1,c=1e-4,eps=0.1", 5000, 0.5 },
		{ "linear:k=1,c=1e-4,eps=0.1", 9000, 0.1 },
		{ "linear:k=1,c=1e-4,eps=0.1", 20000, 0.1 },
		{ "linear:k=0.5,c=0.125", 2, 0.25 },
		{ "linear:k=0.5,c=0.125", 8, 0.0 },
		{ "linear:c=0.25", -3, 1.0 },
		/* k^i */
		{ "exp:k=0.5", 0, 1.0 },
		{ "exp:k=0.5", 1, 0.5 },
		{ "exp:k=0.5", 3, 0.125 },
		{ "exp:k=0.75", 2, 0.5625 },
		/* k / (k + exp(i / k)) */
		{ "inverse-sigmoid:k=1", 0, 0.5 },
		{ "inverse-sigmoid:k=1", 1, 0.2689414213699951 },  /* 1 / (1 + e) */
		{ "inverse-sigmoid:k=4", 8, 0.35121435349870744 }, /* 4 / (4 + e^2) */
		{ "inverse-sigmoid:k=500", 0, 0.998003992015968 },  /* 500 / 501 */
		{ "inverse-sigmoid:k=500", 1000, 0.98543745375 },   /* 500 / (500 + e^2) */
		{ "inverse-sigmoid:k=1", 1000000000, 0.0 },         /* exp overflows: 0, not NaN */
	};
	for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
		seqc_ss_config c = parse_ok(pts[i].spec);
		double got = seqc_ss_prob(&c, pts[i].step);
		ck_assert_msg(fabs(got - pts[i].p) <= 1e-6, "%s at step %lld: %.12g, expected %.12g", pts[i].spec,
			      (long long)pts[i].step, got, pts[i].p);
	}
}
END_TEST

/* ---- the spec parser ---- */

typedef struct good_spec {
	const char *spec;
	seqc_ss_config want;
} good_spec;

START_TEST(test_parse_valid)
{
	static const good_spec good[] = {
		{ "none", { SEQC_SS_NONE, 1, 1, NAN, 0, SEQC_SS_ARGMAX } },
		{ "constant:p=0.25", { SEQC_SS_CONSTANT, 0.25f, 1, NAN, 0, SEQC_SS_ARGMAX } },
		{ "linear:k=0.9,c=0.001,eps=0.05,own=sample",
		  { SEQC_SS_LINEAR, NAN, 0.9f, 0.001f, 0.05f, SEQC_SS_SAMPLE } },
		{ "linear:c=0.5", { SEQC_SS_LINEAR, NAN, 1, 0.5f, 0, SEQC_SS_ARGMAX } },
		/* own anywhere among the keys */
		{ "inverse-sigmoid:own=sample,k=500", { SEQC_SS_INV_SIGMOID, NAN, 500, NAN, 0, SEQC_SS_SAMPLE } },
		{ "exp:k=0.9995,own=argmax", { SEQC_SS_EXP, NAN, 0.9995f, NAN, 0, SEQC_SS_ARGMAX } },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		seqc_ss_config c = parse_ok(good[i].spec), w = good[i].want;
		/* only the fields of the kind are compared (NAN: not one of them) */
		ck_assert_msg(c.kind == w.kind && c.own == w.own && (isnan(w.p) || c.p == w.p) &&
				      (isnan(w.k) || c.k == w.k) && (isnan(w.c) || c.c == w.c) && c.eps == w.eps,
			      "%s: kind %d p %g k %g c %g eps %g own %d", good[i].spec, (int)c.kind, (double)c.p,
			      (double)c.k, (double)c.c, (double)c.eps, (int)c.own);
		ck_assert_int_eq(seqc_ss_check(&c), 0);
	}
	seqc_ss_config c = seqc_ss_defaults();
	ck_assert_int_eq(c.kind, SEQC_SS_NONE);
	ck_assert_int_eq(seqc_ss_check(&c), 0);
	/* format gives a spec that parses back to the same config */
	static const char *const specs[] = { "none", "constant:p=0.3", "linear:k=0.9,c=1e-4,eps=0.05",
					     "exp:k=0.9995,own=sample", "inverse-sigmoid:k=500" };
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		char buf[160];
		seqc_ss_config a = parse_ok(specs[i]);
		ck_assert_int_lt(seqc_ss_format(&a, buf, sizeof buf), (int)sizeof buf);
		seqc_ss_config b = parse_ok(buf);
		ck_assert_msg(a.kind == b.kind && a.own == b.own && (a.kind != SEQC_SS_CONSTANT || a.p == b.p) &&
				      (a.kind == SEQC_SS_NONE || a.kind == SEQC_SS_CONSTANT || a.k == b.k) &&
				      (a.kind != SEQC_SS_LINEAR || (a.c == b.c && a.eps == b.eps)),
			      "%s -> %s", specs[i], buf);
	}
	c = parse_ok("inverse-sigmoid:k=500,own=sample");
	char spec[64];
	seqc_ss_format(&c, spec, sizeof spec);
	ck_assert_str_eq(spec, "inverse-sigmoid:k=500,own=sample");
	c = parse_ok("linear:k=0.9,c=1e-4,eps=0.05");
	seqc_ss_format(&c, spec, sizeof spec);
	ck_assert_str_eq(spec, "linear:k=0.9,c=0.0001,eps=0.05");
	ck_assert_str_eq(seqc_ss_kind_name(SEQC_SS_INV_SIGMOID), "inverse-sigmoid");
	ck_assert_str_eq(seqc_ss_kind_name((seqc_ss_kind)9), "unknown");
}
END_TEST

typedef struct bad_spec {
	const char *spec;
	const char *says; /* a piece of the message */
} bad_spec;

START_TEST(test_parse_invalid)
{
	static const bad_spec bad[] = {
		{ "", "unknown name" },
		{ "teacher", "unknown name" },
		{ "constant", "needs p=" },
		{ "constant:", "nothing after ':'" },
		{ "constant:p=1.5", "must be in [0, 1]" },
		{ "constant:p=-0.1", "must be in [0, 1]" },
		{ "constant:p=nan", "not a finite float" },
		{ "constant:p=0.5,q=1", "unknown key 'q'" },
		{ "constant:p=0.5,", "stray ','" },
		{ "constant:p=0.5,,own=sample", "stray ','" },
		{ "constant:p=0.5,p=0.6", "given twice" },
		{ "constant:k=0.5", "unknown key 'k'" },
		{ "linear:k=1", "needs c=" },
		{ "linear:k=0,c=1", "must be in (0, inf)" },
		{ "linear:k=1.5,c=1", "(0, 1]" },
		{ "linear:c=-1", "must be in [0, inf)" },
		{ "linear:c=1,eps=2", "must be in [0, 1]" },
		{ "exp", "needs k=" },
		{ "exp:k=0", "must be in (0, inf)" },
		{ "exp:k=2", "(0, 1]" },
		{ "inverse-sigmoid", "needs k=" },
		{ "inverse-sigmoid:k=0", "must be in (0, inf)" },
		{ "inverse-sigmoid:k=-5", "must be in (0, inf)" },
		{ "inverse-sigmoid:k=five", "not a number" },
		{ "inverse-sigmoid:k=5,own=beam", "expected argmax or sample" },
		{ "inverse-sigmoid:k=5,own=", "expected argmax or sample" },
		{ "inverse-sigmoid:k=5,own=sample,own=argmax", "'own' given twice" },
		{ "none:own=sample", "does not apply to none" },
		{ "none:p=0.5", "unknown key 'p'" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		seqc_ss_config c;
		int rc = seqc_ss_parse(bad[i].spec, &c);
		ck_assert_msg(rc < 0, "'%s' was accepted", bad[i].spec);
		ck_assert_msg(strstr(seqc_errmsg(), bad[i].says), "'%s': message \"%s\" lacks \"%s\"", bad[i].spec,
			      seqc_errmsg(), bad[i].says);
	}
	ck_assert_int_lt(seqc_ss_parse(NULL, &(seqc_ss_config){ 0 }), 0);
	/* configs built by hand */
	seqc_ss_config c = seqc_ss_defaults();
	c.kind = (seqc_ss_kind)7;
	ck_assert_int_lt(seqc_ss_check(&c), 0);
	c = parse_ok("constant:p=0.5");
	c.p = 2;
	ck_assert_int_lt(seqc_ss_check(&c), 0);
	c.p = 0.5f;
	c.own = (seqc_ss_own)3;
	ck_assert_int_lt(seqc_ss_check(&c), 0);
	ck_assert_msg(strstr(seqc_errmsg(), "own-token"), "%s", seqc_errmsg());
}
END_TEST

/* ---- mixing one step ---- */

START_TEST(test_choose)
{
	/* three rows of four logits: argmax 2, 0 (first of a tie), 3 */
	const float logits[12] = { 0, 1, 5, 2, 3, -1, 3, 0, -INFINITY, 0, 0, 1 };
	seqc_ss_config am = parse_ok("constant:p=0"), sm = parse_ok("constant:p=0,own=sample");
	seqc_rng rng;
	seqc_rng_seed(&rng, 5, SEQC_STREAM_SCHEDULED);
	int32_t next[3] = { 9, 9, 9 };
	ck_assert_int_eq(seqc_ss_choose(&am, 1.0, &rng, logits, 3, 4, next), 0);
	ck_assert(next[0] == 9 && next[1] == 9 && next[2] == 9);
	ck_assert_int_eq(seqc_ss_choose(&am, 0.0, &rng, logits, 3, 4, next), 0);
	ck_assert(next[0] == 2 && next[1] == 0 && next[2] == 3);
	/* sampling: a row with one overwhelming logit always gives it */
	const float sure[3] = { 0, 100, 0 };
	for (int i = 0; i < 50; i++) {
		int32_t t = 0;
		ck_assert_int_eq(seqc_ss_choose(&sm, 0.0, &rng, sure, 1, 3, &t), 0);
		ck_assert_int_eq(t, 1);
	}
	/* probabilities 0.2, 0.8 and p = 0.5: the ground truth (7) half the
	 * time, token 1 40%, token 0 10% (4000 draws: 5 sigma is about 0.04) */
	const float two[2] = { logf(0.2f), logf(0.8f) };
	int counts[3] = { 0 };
	for (int i = 0; i < 4000; i++) {
		int32_t t = 7;
		ck_assert_int_eq(seqc_ss_choose(&sm, 0.5, &rng, two, 1, 2, &t), 0);
		counts[t == 7 ? 2 : t]++;
	}
	ck_assert_msg(fabs(counts[2] / 4000.0 - 0.5) < 0.04 && fabs(counts[1] / 4000.0 - 0.4) < 0.04 &&
			      fabs(counts[0] / 4000.0 - 0.1) < 0.03,
		      "truth %d, token 1 %d, token 0 %d of 4000", counts[2], counts[1], counts[0]);
	/* a NaN row is refused when the model's token is needed */
	const float nan_row[2] = { NAN, 0 };
	int32_t t = 0;
	ck_assert_int_eq(seqc_ss_choose(&am, 0.0, &rng, nan_row, 1, 2, &t), SEQC_ENONFINITE);
	ck_assert_int_eq(seqc_ss_choose(&sm, 0.0, &rng, nan_row, 1, 2, &t), SEQC_ENONFINITE);
	ck_assert_int_eq(seqc_ss_choose(&am, 0.0, &rng, two, 1, 0, &t), SEQC_EINVAL);
	ck_assert_int_eq(seqc_ss_choose(&am, 1.5, &rng, two, 1, 2, &t), SEQC_EINVAL);
	ck_assert_int_eq(seqc_ss_choose(&am, NAN, &rng, two, 1, 2, &t), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "outside [0, 1]"), "%s", seqc_errmsg());
}
END_TEST

/* ---- rnnlm: step by step ---- */

enum { B = 3, T = 6, V = 7, LAYERS = 2, HID = 5 };

static seqc_rnnlm *make_rnnlm(seqc_cell_kind cell, float dropout)
{
	seqc_rnnlm_config cfg = { .cell = cell, .vocab = V, .embed = 4, .hidden = HID, .layers = LAYERS,
				  .dropout = dropout };
	seqc_rng rng;
	seqc_rng_seed(&rng, 3, SEQC_STREAM_INIT);
	seqc_rnnlm *m = seqc_rnnlm_create(&cfg, &rng);
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	return m;
}

static const int32_t IN[B * T] = { 1, 2, 3, 4, 5, 6, 0, 0, 1, 1, 2, 2, 6, 5, 4, 3, 2, 1 };
static const int32_t TG[B * T] = { 2, 3, 4, 5, 6, 0, 0, 1, 1, 2, 2, -1, 5, 4, 3, 2, 1, 0 };

/* loss + sum(r_h * h_n) + sum(r_c * c_n): one scalar whose gradient
 * reaches every output. */
static seqc_tensor *with_states(seqc_graph *g, seqc_tensor *loss, seqc_tensor *hn, seqc_tensor *cn)
{
	size_t n = (size_t)LAYERS * B * HID, s[3] = { LAYERS, B, HID };
	float r[LAYERS * B * HID];
	for (size_t i = 0; i < n; i++)
		r[i] = (float)((int)(i % 7) - 3) / 8.0f;
	seqc_tensor *total = seqc_add(g, loss, seqc_sum(g, seqc_mul(g, hn, seqc_graph_input(g, 3, s, r))));
	if (cn)
		total = seqc_add(g, total, seqc_sum(g, seqc_scale(g, cn, 0.5f)));
	return total;
}

typedef struct rnn_run {
	float loss, hn[LAYERS * B * HID], cn[LAYERS * B * HID];
	float *grads;                     /* every parameter's */
	float dh0[LAYERS * B * HID], dc0[LAYERS * B * HID];
	seqc_rng drop;                    /* the dropout stream after the step */
} rnn_run;

/* One forward and backward from the same h0, c0: teacher-forced
 * (seqc_rnnlm_loss) or through the scheduled path with probability p. */
static void run_rnnlm(seqc_rnnlm *m, bool scheduled, double p, rnn_run *out)
{
	bool lstm = m->c.cell == SEQC_CELL_LSTM;
	size_t s[3] = { LAYERS, B, HID };
	seqc_tensor *h0 = rand_tensor(3, s, -1, 1, 11), *c0 = rand_tensor(3, s, -1, 1, 12);
	seqc_graph *g = seqc_graph_create(0);
	seqc_params_zero_grad(m->params);
	seqc_ids in = seqc_ids_view2((int32_t *)IN, B, T), tg = seqc_ids_view2((int32_t *)TG, B, T);
	seqc_rng drop, ssr;
	seqc_rng_seed(&drop, 1, SEQC_STREAM_DROPOUT);
	seqc_rng_seed(&ssr, 1, SEQC_STREAM_SCHEDULED);
	seqc_ss_config c = parse_ok("constant:p=1");
	seqc_tensor *loss, *hn, *cn;
	int rc = scheduled ? seqc_ss_rnnlm_loss(g, m, &in, &tg, h0, lstm ? c0 : NULL, &drop, &c, p, &ssr, NULL,
						&loss, &hn, &cn)
			   : seqc_rnnlm_loss(g, m, &in, &tg, h0, lstm ? c0 : NULL, &drop, &loss, &hn, &cn);
	ck_assert_msg(rc == 0, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_backward(g, with_states(g, loss, hn, lstm ? cn : NULL)), 0);
	out->loss = loss->val[0];
	out->drop = drop;
	memcpy(out->hn, hn->val, sizeof out->hn);
	memset(out->cn, 0, sizeof out->cn);
	if (lstm)
		memcpy(out->cn, cn->val, sizeof out->cn);
	out->grads = malloc(m->params->numel * sizeof(float));
	memcpy(out->grads, m->params->grads, m->params->numel * sizeof(float));
	memcpy(out->dh0, h0->grad, sizeof out->dh0);
	memcpy(out->dc0, c0->grad, sizeof out->dc0);
	seqc_graph_destroy(g);
	seqc_tensor_destroy(h0);
	seqc_tensor_destroy(c0);
}

/* p = 1 is teacher forcing: the same loss, states and gradients, without
 * dropout (_i < 4) and with it (the same masks from the same stream). */
START_TEST(test_rnnlm_p1_is_teacher_forcing)
{
	seqc_rnnlm *m = make_rnnlm((seqc_cell_kind)(_i % 4), _i < 4 ? 0.0f : 0.3f);
	rnn_run a, b;
	run_rnnlm(m, false, 1.0, &a);
	run_rnnlm(m, true, 1.0, &b);
	const char *name = seqc_cell_name(m->c.cell);
	ck_assert_msg(!memcmp(&a.drop, &b.drop, sizeof a.drop), "%s: the dropout streams moved differently",
		      name);
	ck_assert_msg(fabsf(a.loss - b.loss) <= 1e-5f * fabsf(a.loss), "%s: loss %.9g vs %.9g", name,
		      (double)a.loss, (double)b.loss);
	ck_assert_msg(allclose(b.hn, a.hn, sizeof a.hn / sizeof(float), 1e-5f, 1e-6f, "h_n"), "%s", name);
	ck_assert_msg(allclose(b.cn, a.cn, sizeof a.cn / sizeof(float), 1e-5f, 1e-6f, "c_n"), "%s", name);
	ck_assert_msg(allclose(b.grads, a.grads, m->params->numel, 1e-5f, 1e-6f, "parameter gradients"), "%s",
		      name);
	ck_assert_msg(allclose(b.dh0, a.dh0, sizeof a.dh0 / sizeof(float), 1e-5f, 1e-6f, "dh0"), "%s", name);
	ck_assert_msg(allclose(b.dc0, a.dc0, sizeof a.dc0 / sizeof(float), 1e-5f, 1e-6f, "dc0"), "%s", name);
	/* the gradients are not all zero: the comparison means something */
	float big = 0;
	for (size_t i = 0; i < m->params->numel; i++)
		big = fmaxf(big, fabsf(a.grads[i]));
	ck_assert_msg(big > 1e-3f, "%s: gradients are all about zero", name);
	free(a.grads);
	free(b.grads);
	seqc_rnnlm_destroy(m);
}
END_TEST

static int32_t argmax_of(const float *x, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return (int32_t)best;
}

/* p = 0: every input after the first is the argmax of the previous
 * step's logits, which the step interface computes on its own. */
START_TEST(test_rnnlm_p0_is_greedy)
{
	seqc_rnnlm *m = make_rnnlm((seqc_cell_kind)_i, 0.0f);
	seqc_graph *g = seqc_graph_create(0);
	seqc_ids in = seqc_ids_view2((int32_t *)IN, B, T), tg = seqc_ids_view2((int32_t *)TG, B, T);
	seqc_rng drop, ssr;
	seqc_rng_seed(&drop, 1, SEQC_STREAM_DROPOUT);
	seqc_rng_seed(&ssr, 1, SEQC_STREAM_SCHEDULED);
	seqc_ss_config c = parse_ok("constant:p=0");
	int32_t used[B * T];
	seqc_tensor *loss;
	ck_assert_msg(seqc_ss_rnnlm_loss(g, m, &in, &tg, NULL, NULL, &drop, &c, 0.0, &ssr, used, &loss, NULL,
					 NULL) == 0,
		      "%s", seqc_errmsg());
	ck_assert(isfinite(loss->val[0]));
	ck_assert_int_eq(seqc_rnnlm_start(m, B), 0);
	int32_t tok[B];
	for (size_t b = 0; b < B; b++)
		tok[b] = IN[b * T];
	bool differs = false;
	for (size_t t = 0; t < T; t++) {
		for (size_t b = 0; b < B; b++) {
			ck_assert_msg(used[b * T + t] == tok[b], "%s: row %zu step %zu read %d, greedy %d",
				      seqc_cell_name(m->c.cell), b, t, used[b * T + t], tok[b]);
			differs |= used[b * T + t] != IN[b * T + t];
		}
		seqc_graph_reset(g);
		seqc_tensor *logits;
		ck_assert_int_eq(seqc_rnnlm_step(m, g, tok, &logits), 0);
		for (size_t b = 0; b < B; b++)
			tok[b] = argmax_of(logits->val + b * V, V);
	}
	ck_assert_msg(differs, "the greedy inputs are the ground truth: the test shows nothing");
	seqc_graph_destroy(g);
	seqc_rnnlm_destroy(m);
}
END_TEST

/* Finite differences of the step-by-step loss (and h_n, c_n) with fixed
 * mixing choices and dropout, for the smooth cells: with relu, this
 * model's kinks fail central differences for seqc_rnnlm_loss just the
 * same (11 mismatches at eps 1e-3, float noise at 1e-4); relu's
 * step-by-step gradients are checked against seqc_rnnlm_loss's above. */
typedef struct fixed_ctx {
	seqc_rnnlm *m;
	seqc_tensor *h0, *c0;
} fixed_ctx;

/* Row b at step t + 1 reads token (b + t) % V on every other step. */
static int fixed_next(void *ctx, const float *logits, size_t rows, size_t vocab, int32_t *next)
{
	int *t = ctx;
	(void)logits;
	for (size_t b = 0; b < rows; b++)
		if ((b + (size_t)*t) % 2)
			next[b] = (int32_t)((b + (size_t)*t) % vocab);
	++*t;
	return 0;
}

static seqc_tensor *fixed_fn(seqc_graph *g, void *p)
{
	fixed_ctx *c = p;
	seqc_rng drop;
	seqc_rng_seed(&drop, 9, SEQC_STREAM_DROPOUT); /* fixed dropout masks */
	seqc_ids in = seqc_ids_view2((int32_t *)IN, B, T), tg = seqc_ids_view2((int32_t *)TG, B, T);
	seqc_tensor *loss, *hn, *cn;
	int step = 0;
	if (seqc_rnnlm_loss_scheduled(g, c->m, &in, &tg, c->h0, c->c0, &drop, fixed_next, &step, NULL, &loss, &hn,
				      &cn) < 0)
		return NULL;
	return with_states(g, loss, hn, cn);
}

static void gradcheck_cell(seqc_cell_kind cell)
{
	seqc_rnnlm *m = make_rnnlm(cell, 0.2f);
	size_t s[3] = { LAYERS, B, HID };
	fixed_ctx c = { .m = m, .h0 = rand_tensor(3, s, -1, 1, 3) };
	c.c0 = m->c.cell == SEQC_CELL_LSTM ? rand_tensor(3, s, -1, 1, 4) : NULL;
	seqc_tensor *inputs[64];
	int n = 0;
	for (size_t i = 0; i < m->params->count; i++)
		inputs[n++] = &m->params->items[i]->t;
	inputs[n++] = c.h0;
	if (c.c0)
		inputs[n++] = c.c0;
	int fails = gradcheck(fixed_fn, &c, inputs, n, 1e-2, 1e-2, 1e-5, 24);
	ck_assert_msg(fails == 0, "%s: %d gradient mismatches", seqc_cell_name(m->c.cell), fails);
	/* the fixed choices were read */
	seqc_graph *g = seqc_graph_create(0);
	int32_t used[B * T];
	seqc_ids in = seqc_ids_view2((int32_t *)IN, B, T), tg = seqc_ids_view2((int32_t *)TG, B, T);
	seqc_tensor *loss;
	int step = 0;
	seqc_rng drop;
	seqc_rng_seed(&drop, 9, SEQC_STREAM_DROPOUT);
	ck_assert_int_eq(seqc_rnnlm_loss_scheduled(g, m, &in, &tg, NULL, NULL, &drop, fixed_next, &step, used,
						   &loss, NULL, NULL),
			 0);
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t < T; t++) {
			int32_t want = t && (b + t - 1) % 2 ? (int32_t)((b + t - 1) % V) : IN[b * T + t];
			ck_assert_int_eq(used[b * T + t], want);
		}
	seqc_graph_destroy(g);
	seqc_tensor_destroy(c.h0);
	seqc_tensor_destroy(c.c0);
	seqc_rnnlm_destroy(m);
}

START_TEST(test_rnnlm_gradcheck)
{
	gradcheck_cell((seqc_cell_kind)_i);
}
END_TEST

START_TEST(test_rnnlm_gradcheck_tanh)
{
	gradcheck_cell(SEQC_CELL_RNN_TANH);
}
END_TEST

START_TEST(test_rnnlm_refusals)
{
	seqc_rnnlm *m = make_rnnlm(SEQC_CELL_LSTM, 0.0f);
	seqc_graph *g = seqc_graph_create(0);
	seqc_ids in = seqc_ids_view2((int32_t *)IN, B, T), tg = seqc_ids_view2((int32_t *)TG, B, T - 1);
	seqc_tensor *loss, *bad = seqc_graph_tensor(g, 3, (size_t[]){ LAYERS, B + 1, HID }, false);
	ck_assert_int_eq(seqc_rnnlm_loss_scheduled(g, m, &in, &tg, NULL, NULL, NULL, NULL, NULL, NULL, &loss,
						   NULL, NULL),
			 SEQC_ESHAPE);
	tg = seqc_ids_view2((int32_t *)TG, B, T);
	ck_assert_int_eq(seqc_rnnlm_loss_scheduled(g, m, &in, &tg, bad, NULL, NULL, NULL, NULL, NULL, &loss,
						   NULL, NULL),
			 SEQC_ESHAPE);
	ck_assert_msg(strstr(seqc_errmsg(), "h0"), "%s", seqc_errmsg());
	/* a chosen id outside the vocabulary: the embedding refuses it */
	int32_t big[B * T];
	for (size_t i = 0; i < B * T; i++)
		big[i] = i % T ? V : IN[i];
	in = seqc_ids_view2(big, B, T);
	ck_assert_int_eq(seqc_rnnlm_loss_scheduled(g, m, &in, &tg, NULL, NULL, NULL, NULL, NULL, NULL, &loss,
						   NULL, NULL),
			 SEQC_ERANGE);
	ck_assert_ptr_null(loss);
	seqc_graph_destroy(g);
	seqc_rnnlm_destroy(m);
}
END_TEST

/* ---- gpt: two passes ---- */

static seqc_gpt *make_gpt(float dropout)
{
	seqc_gpt_config gc = seqc_gpt_config_defaults();
	gc.vocab = V;
	gc.context = T;
	gc.layers = 2;
	gc.heads = 2;
	gc.embed = 8;
	gc.dropout = dropout;
	seqc_rng rng;
	seqc_rng_seed(&rng, 4, SEQC_STREAM_INIT);
	seqc_gpt *m = seqc_gpt_create(&gc, &rng);
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	return m;
}

/* p = 1: the second pass is the teacher-forced step bit for bit, dropout
 * draws included. */
START_TEST(test_gpt_p1_is_teacher_forcing)
{
	seqc_gpt *m = make_gpt(0.25f);
	seqc_ids in = seqc_ids_view2((int32_t *)IN, B, T), tg = seqc_ids_view2((int32_t *)TG, B, T);
	float loss[2], *grads[2];
	seqc_rng drop[2];
	for (int k = 0; k < 2; k++) {
		seqc_graph *g = seqc_graph_create(0);
		seqc_graph_set_training(g, true);
		seqc_params_zero_grad(m->params);
		seqc_rng ssr;
		seqc_rng_seed(&drop[k], 1, SEQC_STREAM_DROPOUT);
		seqc_rng_seed(&ssr, 1, SEQC_STREAM_SCHEDULED);
		seqc_ss_config c = parse_ok("constant:p=1");
		seqc_tensor *l;
		int rc = k ? seqc_ss_gpt_loss(g, m, &in, &tg, &drop[k], &c, 1.0, &ssr, NULL, &l)
			   : seqc_gpt_loss(g, m, &in, &tg, &drop[k], &l);
		ck_assert_msg(rc == 0, "%s", seqc_errmsg());
		ck_assert_int_eq(seqc_backward(g, l), 0);
		loss[k] = l->val[0];
		grads[k] = malloc(m->params->numel * sizeof(float));
		memcpy(grads[k], m->params->grads, m->params->numel * sizeof(float));
		seqc_graph_destroy(g);
	}
	ck_assert_msg(!memcmp(&loss[0], &loss[1], sizeof(float)), "loss %.9g vs %.9g", (double)loss[0],
		      (double)loss[1]);
	ck_assert_msg(!memcmp(grads[0], grads[1], m->params->numel * sizeof(float)), "gradients differ");
	ck_assert_msg(!memcmp(&drop[0], &drop[1], sizeof drop[0]), "the dropout streams moved differently");
	free(grads[0]);
	free(grads[1]);
	seqc_gpt_destroy(m);
}
END_TEST

/* p = 0: the second pass reads the argmax of the teacher-forced logits
 * at the previous position (dropout on: the first pass runs without it). */
START_TEST(test_gpt_p0_is_greedy)
{
	seqc_gpt *m = make_gpt(0.25f);
	seqc_ids in = seqc_ids_view2((int32_t *)IN, B, T), tg = seqc_ids_view2((int32_t *)TG, B, T);
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_grad(g, false);
	seqc_graph_set_training(g, false);
	seqc_tensor *logits;
	ck_assert_int_eq(seqc_gpt_logits(g, m, &in, NULL, &logits), 0);
	int32_t want[B * T];
	for (size_t b = 0; b < B; b++) {
		want[b * T] = IN[b * T];
		for (size_t t = 0; t + 1 < T; t++)
			want[b * T + t + 1] = argmax_of(logits->val + (b * T + t) * V, V);
	}
	seqc_graph *g2 = seqc_graph_create(0);
	seqc_graph_set_training(g2, true);
	seqc_rng drop, ssr;
	seqc_rng_seed(&drop, 1, SEQC_STREAM_DROPOUT);
	seqc_rng_seed(&ssr, 1, SEQC_STREAM_SCHEDULED);
	seqc_ss_config c = parse_ok("constant:p=0");
	int32_t used[B * T];
	seqc_tensor *l;
	ck_assert_msg(seqc_ss_gpt_loss(g2, m, &in, &tg, &drop, &c, 0.0, &ssr, used, &l) == 0, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_backward(g2, l), 0);
	bool differs = false;
	for (size_t i = 0; i < B * T; i++) {
		ck_assert_msg(used[i] == want[i], "position %zu: read %d, greedy %d", i, used[i], want[i]);
		differs |= used[i] != IN[i];
	}
	ck_assert_msg(differs, "the greedy inputs are the ground truth: the test shows nothing");
	/* and the loss is that of the greedy inputs against the ground truth */
	seqc_ids greedy = seqc_ids_view2(want, B, T);
	seqc_tensor *l2;
	ck_assert_int_eq(seqc_gpt_loss(g, m, &greedy, &tg, NULL, &l2), 0);
	seqc_graph_set_training(g2, false);
	seqc_tensor *l3;
	ck_assert_int_eq(seqc_ss_gpt_loss(g2, m, &in, &tg, NULL, &c, 0.0, &ssr, NULL, &l3), 0);
	ck_assert_msg(!memcmp(l2->val, l3->val, sizeof(float)), "%.9g vs %.9g", (double)l2->val[0],
		      (double)l3->val[0]);
	seqc_graph_destroy(g);
	seqc_graph_destroy(g2);
	seqc_gpt_destroy(m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("scheduled");
	TCase *tc = tcase_create("schedules");
	tcase_add_test(tc, test_prob_values);
	tcase_add_test(tc, test_parse_valid);
	tcase_add_test(tc, test_parse_invalid);
	tcase_add_test(tc, test_choose);
	suite_add_tcase(s, tc);
	TCase *lm = tcase_create("losses");
	tcase_set_timeout(lm, 60);
	tcase_add_loop_test(lm, test_rnnlm_p1_is_teacher_forcing, 0, 8);
	tcase_add_loop_test(lm, test_rnnlm_p0_is_greedy, SEQC_CELL_RNN_TANH, SEQC_CELL_GRU + 1);
	tcase_add_test(lm, test_rnnlm_gradcheck_tanh);
	tcase_add_loop_test(lm, test_rnnlm_gradcheck, SEQC_CELL_LSTM, SEQC_CELL_GRU + 1);
	tcase_add_test(lm, test_rnnlm_refusals);
	tcase_add_test(lm, test_gpt_p1_is_teacher_forcing);
	tcase_add_test(lm, test_gpt_p0_is_greedy);
	suite_add_tcase(s, lm);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
