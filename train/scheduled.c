/* Teacher forcing and scheduled sampling. See train/scheduled.h. */
#include "train/scheduled.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/spec_internal.h"

static const char *const kind_names[] = { "none", "constant", "linear", "exp", "inverse-sigmoid" };
#define NKINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

enum {
	B_CONSTANT = 1u << SEQC_SS_CONSTANT,
	B_LINEAR = 1u << SEQC_SS_LINEAR,
	B_EXP = 1u << SEQC_SS_EXP,
	B_INV_SIGMOID = 1u << SEQC_SS_INV_SIGMOID,
};

/* k's upper bound depends on the kind (1 for a probability, none for
 * inverse-sigmoid's time scale): check() adds it. "own" is not a number
 * and is taken out of the spec before the table sees it. */
#define OFF(f) offsetof(seqc_ss_config, f)
static const seqc_spec_key keys[] = {
	{ "p", "p", B_CONSTANT, SEQC_SPEC_FLOAT, OFF(p), 0, 1, false, false },
	{ "k", "k", B_LINEAR | B_EXP | B_INV_SIGMOID, SEQC_SPEC_FLOAT, OFF(k), 0, INFINITY, true, true },
	{ "c", "c", B_LINEAR, SEQC_SPEC_FLOAT, OFF(c), 0, INFINITY, false, true },
	{ "eps", "eps", B_LINEAR, SEQC_SPEC_FLOAT, OFF(eps), 0, 1, false, false },
};
#define NKEYS (sizeof keys / sizeof keys[0])

/* Longest spec parameters we take apart. */
#define PARAMS_MAX 256

seqc_ss_config seqc_ss_defaults(void)
{
	return (seqc_ss_config){ .kind = SEQC_SS_NONE, .p = 1, .k = 1, .eps = 0, .own = SEQC_SS_ARGMAX };
}

const char *seqc_ss_kind_name(seqc_ss_kind kind)
{
	return (int)kind >= 0 && (int)kind < NKINDS ? kind_names[kind] : "unknown";
}

/* The keys a kind cannot do without: unset ones stay NAN after parsing. */
static int check_required(const seqc_ss_config *c, const char *what)
{
	if (c->kind == SEQC_SS_CONSTANT && isnan(c->p))
		return seqc_error(SEQC_EINVAL, "%s: constant needs p= (probability of the ground truth)", what);
	if (c->kind == SEQC_SS_LINEAR && isnan(c->c))
		return seqc_error(SEQC_EINVAL, "%s: linear needs c= (decrease per step)", what);
	if ((c->kind == SEQC_SS_EXP || c->kind == SEQC_SS_INV_SIGMOID) && isnan(c->k))
		return seqc_error(SEQC_EINVAL, "%s: %s needs k=", what, kind_names[c->kind]);
	return 0;
}

static int check(const seqc_ss_config *c, const char *what)
{
	int rc = check_required(c, what);
	if (rc < 0)
		return rc;
	if (c->own != SEQC_SS_ARGMAX && c->own != SEQC_SS_SAMPLE)
		return seqc_error(SEQC_EINVAL, "%s: unknown own-token rule %d", what, (int)c->own);
	if ((rc = seqc_spec_check(what, keys, NKEYS, (int)c->kind, c)) < 0)
		return rc;
	if ((c->kind == SEQC_SS_LINEAR || c->kind == SEQC_SS_EXP) && c->k > 1)
		return seqc_error(SEQC_ERANGE, "%s: k = %g must be in (0, 1] (a probability)", what,
				  (double)c->k);
	return 0;
}

int seqc_ss_check(const seqc_ss_config *c)
{
	char what[64];
	if (!c)
		return seqc_error(SEQC_EINVAL, "scheduled sampling: no config given (NULL)");
	if ((int)c->kind < 0 || (int)c->kind >= NKINDS)
		return seqc_error(SEQC_EINVAL, "scheduled sampling: unknown kind %d", (int)c->kind);
	snprintf(what, sizeof what, "scheduled sampling %s", kind_names[c->kind]);
	return check(c, what);
}

/* Take the "own=..." pair out of params into c->own, copying the other
 * pairs, in order, to rest [PARAMS_MAX]. */
static int take_own(const char *spec, const char *params, seqc_ss_config *c, char *rest)
{
	const char *what = "scheduled sampling spec";
	size_t used = 0;
	bool seen = false;
	size_t n = strlen(params);
	if (n >= PARAMS_MAX)
		return seqc_error(SEQC_EFORMAT, "%s '%.40s...': too long", what, spec);
	/* caught here: taking "own=" out could hide them from the table parser */
	if (n && (params[0] == ',' || params[n - 1] == ',' || strstr(params, ",,")))
		return seqc_error(SEQC_EFORMAT, "%s '%s': empty key=value pair (stray ',')", what, spec);
	rest[0] = '\0';
	for (const char *part = params; *part;) {
		size_t len = strcspn(part, ",");
		if (len >= 4 && !strncmp(part, "own=", 4)) {
			const char *v = part + 4;
			size_t vlen = len - 4;
			if (seen)
				return seqc_error(SEQC_EINVAL, "%s '%s': key 'own' given twice", what, spec);
			seen = true;
			if (vlen == 6 && !strncmp(v, "argmax", 6))
				c->own = SEQC_SS_ARGMAX;
			else if (vlen == 6 && !strncmp(v, "sample", 6))
				c->own = SEQC_SS_SAMPLE;
			else
				return seqc_error(SEQC_EINVAL, "%s '%s': own='%.*s' (expected argmax or sample)",
						  what, spec, (int)vlen, v);
		} else {
			used += (size_t)snprintf(rest + used, PARAMS_MAX - used, "%s%.*s", used ? "," : "",
						 (int)len, part);
		}
		part += len;
		if (*part == ',')
			part++;
	}
	if (seen && c->kind == SEQC_SS_NONE)
		return seqc_error(SEQC_EINVAL, "%s '%s': own does not apply to none (teacher forcing)", what,
				  spec);
	return 0;
}

int seqc_ss_parse(const char *spec, seqc_ss_config *out)
{
	int kind;
	const char *params;
	char rest[PARAMS_MAX], what[160];
	int rc = seqc_spec_kind(spec, "scheduled sampling spec", kind_names, NKINDS, &kind, &params);
	if (rc < 0)
		return rc;
	*out = seqc_ss_defaults();
	out->kind = (seqc_ss_kind)kind;
	/* required keys start unset */
	out->p = out->c = NAN;
	if (kind == SEQC_SS_EXP || kind == SEQC_SS_INV_SIGMOID)
		out->k = NAN;
	if (kind == SEQC_SS_NONE)
		out->p = 1;
	if ((rc = take_own(spec, params, out, rest)) < 0)
		return rc;
	rc = seqc_spec_apply(spec, rest, "scheduled sampling spec", keys, NKEYS, kind, out);
	if (rc < 0)
		return rc;
	snprintf(what, sizeof what, "scheduled sampling spec '%.120s'", spec);
	return check(out, what);
}

/* v in %g with the fewest digits from 6 that read back as the same float
 * (9 always do), so that 0.9 is written "0.9", not "0.899999976", and
 * 500 not "5e+02". */
static const char *float_str(float v, char *buf, size_t len)
{
	for (int digits = 6; digits <= 9; digits++) {
		snprintf(buf, len, "%.*g", digits, (double)v);
		if (strtof(buf, NULL) == v)
			break;
	}
	return buf;
}

int seqc_ss_format(const seqc_ss_config *c, char *buf, size_t len)
{
	const char *own = c->own == SEQC_SS_SAMPLE ? ",own=sample" : "";
	const char *name = seqc_ss_kind_name(c->kind);
	char a[24], b[24], e[24];
	switch (c->kind) {
	case SEQC_SS_CONSTANT:
		return snprintf(buf, len, "%s:p=%s%s", name, float_str(c->p, a, sizeof a), own);
	case SEQC_SS_LINEAR:
		return snprintf(buf, len, "%s:k=%s,c=%s,eps=%s%s", name, float_str(c->k, a, sizeof a),
				float_str(c->c, b, sizeof b), float_str(c->eps, e, sizeof e), own);
	case SEQC_SS_EXP:
	case SEQC_SS_INV_SIGMOID:
		return snprintf(buf, len, "%s:k=%s%s", name, float_str(c->k, a, sizeof a), own);
	default:
		return snprintf(buf, len, "%s", name);
	}
}

double seqc_ss_prob(const seqc_ss_config *c, int64_t step)
{
	double i = step < 0 ? 0 : (double)step, k = c->k;
	switch (c->kind) {
	case SEQC_SS_CONSTANT:
		return c->p;
	case SEQC_SS_LINEAR:
		return fmin(1.0, fmax((double)c->eps, k - (double)c->c * i));
	case SEQC_SS_EXP:
		return pow(k, i);
	case SEQC_SS_INV_SIGMOID:
		/* exp overflows to inf for i >> k: the probability is then 0 */
		return k / (k + exp(i / k));
	default:
		return 1.0;
	}
}

/* The first largest logit; -1 when the row holds a NaN. */
static int32_t argmax_row(const float *x, size_t V)
{
	size_t best = 0;
	for (size_t v = 0; v < V; v++) {
		if (isnan(x[v]))
			return -1;
		if (x[v] > x[best])
			best = v;
	}
	return (int32_t)best;
}

/* A draw from softmax(x) (temperature 1): the first token whose cumulative
 * weight passes u * sum. -1 when the row holds a NaN or no finite maximum. */
static int32_t sample_row(const float *x, size_t V, seqc_rng *rng)
{
	int32_t top = argmax_row(x, V);
	if (top < 0 || !isfinite(x[top]))
		return -1;
	double max = x[top], sum = 0;
	for (size_t v = 0; v < V; v++)
		sum += exp((double)x[v] - max);
	double u = (double)seqc_rng_uniform(rng) * sum, cum = 0;
	for (size_t v = 0; v < V; v++) {
		cum += exp((double)x[v] - max);
		if (u < cum)
			return (int32_t)v;
	}
	return top; /* u * sum rounded up to the total */
}

int seqc_ss_choose(const seqc_ss_config *c, double p, seqc_rng *rng, const float *logits, size_t B,
		   size_t V, int32_t *next)
{
	if (!V || V > INT32_MAX)
		return seqc_error(SEQC_EINVAL, "scheduled sampling: vocabulary of %zu tokens", V);
	if (!(p >= 0 && p <= 1))
		return seqc_error(SEQC_EINVAL, "scheduled sampling: probability %g of the ground truth is "
				  "outside [0, 1]", p);
	for (size_t b = 0; b < B; b++) {
		if ((double)seqc_rng_uniform(rng) < p)
			continue;
		const float *row = logits + b * V;
		int32_t own = c->own == SEQC_SS_SAMPLE ? sample_row(row, V, rng) : argmax_row(row, V);
		if (own < 0)
			return seqc_error(SEQC_ENONFINITE, "scheduled sampling: the logits of row %zu are not finite", b);
		next[b] = own;
	}
	return 0;
}

/* ---- recurrent models: step by step ---- */

typedef struct mix_ctx {
	const seqc_ss_config *c;
	double p;
	seqc_rng *rng;
} mix_ctx;

static int mix_next(void *vctx, const float *logits, size_t B, size_t V, int32_t *next)
{
	const mix_ctx *x = vctx;
	return seqc_ss_choose(x->c, x->p, x->rng, logits, B, V, next);
}

int seqc_ss_rnnlm_loss(seqc_graph *g, seqc_rnnlm *m, const seqc_ids *inputs, const seqc_ids *targets,
		       seqc_tensor *h0, seqc_tensor *c0, seqc_rng *dropout_rng, const seqc_ss_config *c,
		       double p, seqc_rng *ss_rng, int32_t *used, seqc_tensor **loss, seqc_tensor **h_n,
		       seqc_tensor **c_n)
{
	mix_ctx x = { c, p, ss_rng };
	return seqc_rnnlm_loss_scheduled(g, m, inputs, targets, h0, c0, dropout_rng, mix_next, &x, used,
					 loss, h_n, c_n);
}

/* ---- attention models: two passes ---- */

/* inputs [B, T] mixed into mixed [B, T] from logits [B, T, V] of the
 * ground truth: the input at t + 1 of each row may become the prediction
 * at t. Draws go row by row, then position by position. */
static int mix_all(const seqc_ss_config *c, double p, seqc_rng *rng, const seqc_ids *inputs,
		   const float *logits, size_t V, int32_t *mixed)
{
	size_t B = inputs->shape[0], T = inputs->shape[1];
	memcpy(mixed, inputs->data, B * T * sizeof *mixed);
	for (size_t b = 0; b < B; b++)
		for (size_t t = 0; t + 1 < T; t++) {
			int rc = seqc_ss_choose(c, p, rng, logits + (b * T + t) * V, 1, V, &mixed[b * T + t + 1]);
			if (rc < 0)
				return rc;
		}
	return 0;
}

int seqc_ss_gpt_loss(seqc_graph *g, seqc_gpt *m, const seqc_ids *inputs, const seqc_ids *targets,
		     seqc_rng *dropout_rng, const seqc_ss_config *c, double p, seqc_rng *ss_rng,
		     int32_t *used, seqc_tensor **loss)
{
	*loss = NULL;
	if (inputs->ndim != 2)
		return seqc_error(SEQC_ESHAPE, "gpt scheduled: inputs must be [B, T]");
	size_t B = inputs->shape[0], T = inputs->shape[1];
	/* pass 1: the model's predictions on the ground truth, without
	 * gradient and without dropout (so that the dropout stream is the
	 * teacher-forced one's) */
	bool grad = seqc_graph_set_grad(g, false), training = seqc_graph_set_training(g, false);
	seqc_tensor *first;
	int rc = seqc_gpt_logits(g, m, inputs, NULL, &first);
	seqc_graph_set_grad(g, grad);
	seqc_graph_set_training(g, training);
	if (rc < 0)
		return rc;
	int32_t *mixed = seqc_graph_alloc(g, B * T * sizeof *mixed);
	if (!mixed)
		return seqc_errcode();
	if ((rc = mix_all(c, p, ss_rng, inputs, first->val, m->c.vocab, mixed)) < 0)
		return rc;
	if (used)
		memcpy(used, mixed, B * T * sizeof *used);
	/* pass 2: trains on the mixed inputs */
	seqc_ids in2 = seqc_ids_view2(mixed, B, T);
	return seqc_gpt_loss(g, m, &in2, targets, dropout_rng, loss);
}

/* The per-step hook of s2s-rnn's loss: the truth, mixed row by row; the
 * choices recorded in used [B, T] (when not NULL) at column t. */
typedef struct ss_hook {
	const seqc_ss_config *c;
	double p;
	seqc_rng *rng;
	int32_t *used;
	size_t T;
} ss_hook;

static int ss_choose_step(void *ctx, size_t t, size_t B, size_t V, const float *logits,
			  const int32_t *truth, int32_t *chosen)
{
	const ss_hook *h = ctx;
	memcpy(chosen, truth, B * sizeof *chosen);
	int rc = seqc_ss_choose(h->c, h->p, h->rng, logits, B, V, chosen);
	for (size_t r = 0; rc == 0 && h->used && r < B; r++)
		h->used[r * h->T + t] = chosen[r];
	return rc;
}

int seqc_ss_s2s_loss(seqc_graph *g, seqc_model *m, const seqc_s2s_batch *b, seqc_rng *dropout_rng,
		     const seqc_ss_config *c, double p, seqc_rng *ss_rng, int32_t *used,
		     seqc_tensor **loss)
{
	*loss = NULL;
	if (m->s2sr) {
		ss_hook h = { c, p, ss_rng, used, b->T };
		/* step 0 reads bos, never chosen */
		for (size_t r = 0; used && r < b->B; r++)
			used[r * b->T] = b->tgt_in[r * b->T];
		return seqc_model_s2s_loss(g, m, b, dropout_rng, ss_choose_step, &h, loss);
	}
	/* pass 1 as in seqc_ss_gpt_loss: no gradient, no dropout */
	bool grad = seqc_graph_set_grad(g, false), training = seqc_graph_set_training(g, false);
	seqc_tensor *first;
	int rc = seqc_model_s2s_logits(g, m, b, NULL, &first);
	seqc_graph_set_grad(g, grad);
	seqc_graph_set_training(g, training);
	if (rc < 0)
		return rc;
	size_t B = b->B, T = b->T, V = m->vocab;
	int32_t *mixed = seqc_graph_alloc(g, B * T * sizeof *mixed);
	if (!mixed)
		return seqc_errcode();
	memcpy(mixed, b->tgt_in, B * T * sizeof *mixed);
	/* input t + 1 from the prediction at t, for real positions only */
	for (size_t r = 0; r < B; r++)
		for (size_t t = 0; t + 1 < T && b->tgt_out[r * T + t + 1] >= 0; t++)
			if ((rc = seqc_ss_choose(c, p, ss_rng, first->val + (r * T + t) * V, 1, V,
						 &mixed[r * T + t + 1])) < 0)
				return rc;
	if (used)
		memcpy(used, mixed, B * T * sizeof *used);
	seqc_s2s_batch mix = *b;
	mix.tgt_in = mixed;
	return seqc_model_s2s_loss(g, m, &mix, dropout_rng, NULL, NULL, loss);
}
