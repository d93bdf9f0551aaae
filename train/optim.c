/* Optimizers (SGD, Adagrad, RMSprop, Adam, AdamW) as flat loops over a
 * parameter store, and gradient clipping. See train/optim.h.
 *
 * Each kernel mirrors PyTorch 1.13's single-tensor code: the same float32
 * operations in the same order, with the scalar coefficients computed in
 * double (as Python does) and rounded to float once (as ATen does when it
 * applies a Python scalar to a float tensor). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq/graph_internal.h" /* SEQC_PAR_MIN: the same threshold as the ops */
#include "train/optim.h"
#include "train/spec_internal.h"

#define MAX_STATE 3

struct seqc_optim {
	seqc_optim_config c;
	size_t numel;
	int64_t steps;
	size_t nstate;
	const char *names[MAX_STATE];
	float *state[MAX_STATE]; /* each [numel] */
};

/* The scalars of one step, shared by every run of parameters. */
typedef struct hyper {
	float neg_lr;      /* -lr; Adagrad: -lr / (1 + (t - 1) lr_decay); Adam: -lr / (1 - beta1^t) */
	float momentum;
	float one_minus_damp;
	bool nesterov;
	bool first;        /* SGD: no momentum buffer yet (torch: buffer is None) */
	float eps;
	float alpha, one_minus_alpha;
	float beta1, one_minus_beta1, beta2, one_minus_beta2;
	float bc2_sqrt;    /* sqrt(1 - beta2^t) */
	double lr;         /* for AdamW's decay factor */
} hyper;

static const char *const kind_names[] = { "sgd", "adagrad", "rmsprop", "adam", "adamw" };
#define NKINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

enum {
	B_SGD = 1u << SEQC_OPT_SGD,
	B_ADAGRAD = 1u << SEQC_OPT_ADAGRAD,
	B_RMSPROP = 1u << SEQC_OPT_RMSPROP,
	B_ADAM = 1u << SEQC_OPT_ADAM,
	B_ADAMW = 1u << SEQC_OPT_ADAMW,
	B_ALL = B_SGD | B_ADAGRAD | B_RMSPROP | B_ADAM | B_ADAMW,
};

#define OFF(f) offsetof(seqc_optim_config, f)
/* Ranges: torch's own checks, narrowed where torch accepts values that only
 * make a run diverge (momentum >= 1, alpha >= 1, dampening > 1). */
static const seqc_spec_key keys[] = {
	{ "lr", "lr", B_ALL, SEQC_SPEC_FLOAT, OFF(lr), 0, INFINITY, false, true },
	{ "momentum", "momentum", B_SGD | B_RMSPROP, SEQC_SPEC_FLOAT, OFF(momentum), 0, 1, false, true },
	{ "dampening", "dampening", B_SGD, SEQC_SPEC_FLOAT, OFF(dampening), 0, 1, false, false },
	{ "nesterov", "nesterov", B_SGD, SEQC_SPEC_BOOL, OFF(nesterov), 0, 0, false, false },
	{ "wd", "weight_decay", B_ALL, SEQC_SPEC_FLOAT, OFF(weight_decay), 0, INFINITY, false, true },
	{ "beta1", "beta1", B_ADAM | B_ADAMW, SEQC_SPEC_FLOAT, OFF(beta1), 0, 1, false, true },
	{ "beta2", "beta2", B_ADAM | B_ADAMW, SEQC_SPEC_FLOAT, OFF(beta2), 0, 1, false, true },
	{ "eps", "eps", B_ALL & ~B_SGD, SEQC_SPEC_FLOAT, OFF(eps), 0, INFINITY, true, true },
	{ "alpha", "alpha", B_RMSPROP, SEQC_SPEC_FLOAT, OFF(alpha), 0, 1, false, true },
	{ "centered", "centered", B_RMSPROP, SEQC_SPEC_BOOL, OFF(centered), 0, 0, false, false },
	{ "lr_decay", "lr_decay", B_ADAGRAD, SEQC_SPEC_FLOAT, OFF(lr_decay), 0, INFINITY, false, true },
	{ "init_acc", "initial_accumulator_value", B_ADAGRAD, SEQC_SPEC_FLOAT,
	  OFF(initial_accumulator_value), 0, INFINITY, false, true },
	{ "decay_all", "decay_all", B_ALL, SEQC_SPEC_BOOL, OFF(decay_all), 0, 0, false, false },
};
#define NKEYS (sizeof keys / sizeof keys[0])

const char *seqc_optim_kind_name(seqc_opt_kind kind)
{
	return (int)kind >= 0 && (int)kind < NKINDS ? kind_names[kind] : "unknown";
}

seqc_optim_config seqc_optim_defaults(seqc_opt_kind kind)
{
	seqc_optim_config c = { .kind = kind, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };
	switch (kind) {
	case SEQC_OPT_SGD:
		break;
	case SEQC_OPT_ADAGRAD:
		c.lr = 1e-2f;
		c.eps = 1e-10f;
		break;
	case SEQC_OPT_RMSPROP:
		c.lr = 1e-2f;
		c.alpha = 0.99f;
		break;
	case SEQC_OPT_ADAM:
		break;
	case SEQC_OPT_ADAMW:
		c.weight_decay = 1e-2f;
		break;
	}
	return c;
}

/* torch.optim.SGD refuses nesterov without momentum or with dampening. */
static bool nesterov_ok(const seqc_optim_config *c)
{
	return c->kind != SEQC_OPT_SGD || !c->nesterov || (c->momentum > 0 && c->dampening == 0);
}

int seqc_optim_check(const seqc_optim_config *c)
{
	char what[64];
	if (!c)
		return seqc_error(SEQC_EINVAL, "optimizer: no config given (NULL)");
	if ((int)c->kind < 0 || (int)c->kind >= NKINDS)
		return seqc_error(SEQC_EINVAL, "optimizer: unknown kind %d", (int)c->kind);
	snprintf(what, sizeof what, "optimizer %s", kind_names[c->kind]);
	int rc = seqc_spec_check(what, keys, NKEYS, (int)c->kind, c);
	if (rc < 0)
		return rc;
	if (!nesterov_ok(c))
		return seqc_error(SEQC_EINVAL, "optimizer sgd: nesterov needs momentum > 0 (got %g) and dampening 0 (got %g)",
				  (double)c->momentum, (double)c->dampening);
	return 0;
}

int seqc_optim_parse(const char *spec, seqc_optim_config *out)
{
	int kind;
	const char *params;
	int rc = seqc_spec_kind(spec, "optimizer spec", kind_names, NKINDS, &kind, &params);
	if (rc < 0)
		return rc;
	*out = seqc_optim_defaults((seqc_opt_kind)kind);
	rc = seqc_spec_apply(spec, params, "optimizer spec", keys, NKEYS, kind, out);
	if (rc < 0)
		return rc;
	if (!nesterov_ok(out))
		return seqc_error(SEQC_EINVAL, "optimizer spec '%s': nesterov=1 needs momentum > 0 and dampening=0",
				  spec);
	return 0;
}

seqc_optim *seqc_optim_create(const seqc_params *p, const seqc_optim_config *c)
{
	if (seqc_optim_check(c) < 0)
		return NULL;
	if (!p || !p->finalized)
		return seqc_error(SEQC_ESTATE, "optimizer: the parameter store is %s",
				  p ? "not finalized" : "missing (NULL)"), NULL;
	seqc_optim *o = calloc(1, sizeof *o);
	if (!o)
		goto nomem;
	o->c = *c;
	o->numel = p->numel;
	switch (c->kind) {
	case SEQC_OPT_SGD:
		if (c->momentum > 0)
			o->names[o->nstate++] = "momentum_buffer";
		break;
	case SEQC_OPT_ADAGRAD:
		o->names[o->nstate++] = "sum";
		break;
	case SEQC_OPT_RMSPROP:
		o->names[o->nstate++] = "square_avg";
		if (c->momentum > 0)
			o->names[o->nstate++] = "momentum_buffer";
		if (c->centered)
			o->names[o->nstate++] = "grad_avg";
		break;
	case SEQC_OPT_ADAM:
	case SEQC_OPT_ADAMW:
		o->names[o->nstate++] = "exp_avg";
		o->names[o->nstate++] = "exp_avg_sq";
		break;
	}
	for (size_t k = 0; k < o->nstate; k++) {
		o->state[k] = calloc(o->numel ? o->numel : 1, sizeof(float));
		if (!o->state[k])
			goto nomem;
	}
	if (c->kind == SEQC_OPT_ADAGRAD)
		for (size_t i = 0; i < o->numel; i++)
			o->state[0][i] = c->initial_accumulator_value;
	return o;
nomem:
	seqc_optim_destroy(o);
	seqc_error(SEQC_ENOMEM, "optimizer: cannot allocate state for %zu parameters", p->numel);
	return NULL;
}

void seqc_optim_destroy(seqc_optim *o)
{
	if (!o)
		return;
	for (size_t k = 0; k < MAX_STATE; k++)
		free(o->state[k]);
	free(o);
}

const seqc_optim_config *seqc_optim_get_config(const seqc_optim *o)
{
	return &o->c;
}

/* ---- kernels: one run of n parameters sharing a weight decay ----
 *
 * Each is an orphaned worksharing loop: inside seqc_optim_step's parallel
 * region the threads split the run; elsewhere it runs serially. nowait is
 * safe because elements are independent. Shapes: w, g and every state
 * buffer are [n]. */

/* SGD: d = g + wd w; buf = d on the first step, else
 * buf = momentum buf + (1 - dampening) d; d = d + momentum buf (nesterov)
 * or d = buf; w = w - lr d. */
static void sgd_run(float *w, const float *g, float *buf, size_t n, float wd, const hyper *h)
{
#pragma omp for schedule(static) nowait
	for (size_t i = 0; i < n; i++) {
		float d = wd != 0 ? g[i] + wd * w[i] : g[i];
		if (buf) {
			float b = h->first ? d : buf[i] * h->momentum + h->one_minus_damp * d;
			buf[i] = b;
			d = h->nesterov ? d + h->momentum * b : b;
		}
		w[i] = w[i] + h->neg_lr * d;
	}
}

/* Adagrad: d = g + wd w; sum += d^2; w = w - clr d / (sqrt(sum) + eps). */
static void adagrad_run(float *w, const float *g, float *sum, size_t n, float wd, const hyper *h)
{
#pragma omp for schedule(static) nowait
	for (size_t i = 0; i < n; i++) {
		float d = wd != 0 ? g[i] + wd * w[i] : g[i];
		float s = sum[i] + d * d;
		sum[i] = s;
		w[i] = w[i] + h->neg_lr * d / (sqrtf(s) + h->eps);
	}
}

/* RMSprop: d = g + wd w; sq = alpha sq + (1 - alpha) d^2;
 * centered: ga = alpha ga + (1 - alpha) d, avg = sqrt(sq - ga^2) + eps,
 * else avg = sqrt(sq) + eps; momentum: buf = momentum buf + d / avg,
 * w = w - lr buf; else w = w - lr d / avg. */
static void rmsprop_run(float *w, const float *g, float *sq, float *buf, float *ga, size_t n,
			float wd, const hyper *h)
{
#pragma omp for schedule(static) nowait
	for (size_t i = 0; i < n; i++) {
		float d = wd != 0 ? g[i] + wd * w[i] : g[i];
		float s = sq[i] * h->alpha + h->one_minus_alpha * d * d;
		sq[i] = s;
		float avg;
		if (ga) {
			float a = ga[i] * h->alpha + h->one_minus_alpha * d;
			ga[i] = a;
			avg = sqrtf(s - a * a) + h->eps;
		} else {
			avg = sqrtf(s) + h->eps;
		}
		if (buf) {
			float b = buf[i] * h->momentum + d / avg;
			buf[i] = b;
			w[i] = w[i] + h->neg_lr * b;
		} else {
			w[i] = w[i] + h->neg_lr * d / avg;
		}
	}
}

/* Adam: d = g + wd w (L2) or w = decay w with decay = 1 - lr wd (AdamW);
 * m = beta1 m + (1 - beta1) d; v = beta2 v + (1 - beta2) d^2;
 * w = w - lr / (1 - beta1^t) m / (sqrt(v) / sqrt(1 - beta2^t) + eps). */
static void adam_run(float *w, const float *g, float *m, float *v, size_t n, float wd, float decay,
		     const hyper *h)
{
#pragma omp for schedule(static) nowait
	for (size_t i = 0; i < n; i++) {
		float wi = decay != 1 ? w[i] * decay : w[i];
		float d = wd != 0 ? g[i] + wd * wi : g[i];
		float mi = m[i] * h->beta1 + h->one_minus_beta1 * d;
		float vi = v[i] * h->beta2 + h->one_minus_beta2 * d * d;
		m[i] = mi;
		v[i] = vi;
		w[i] = wi + h->neg_lr * mi / (sqrtf(vi) / h->bc2_sqrt + h->eps);
	}
}

static void update_run(seqc_optim *o, seqc_params *p, const hyper *h, size_t off, size_t n, bool decay)
{
	float *w = p->values + off;
	const float *g = p->grads + off;
	float *s[MAX_STATE] = { NULL };
	for (size_t k = 0; k < o->nstate; k++)
		s[k] = o->state[k] + off;
	float wd = decay ? o->c.weight_decay : 0.0f;
	switch (o->c.kind) {
	case SEQC_OPT_SGD:
		sgd_run(w, g, s[0], n, wd, h);
		break;
	case SEQC_OPT_ADAGRAD:
		adagrad_run(w, g, s[0], n, wd, h);
		break;
	case SEQC_OPT_RMSPROP: {
		size_t k = 1;
		float *buf = o->c.momentum > 0 ? s[k++] : NULL;
		float *ga = o->c.centered ? s[k] : NULL;
		rmsprop_run(w, g, s[0], buf, ga, n, wd, h);
		break;
	}
	case SEQC_OPT_ADAM:
		adam_run(w, g, s[0], s[1], n, wd, 1.0f, h);
		break;
	case SEQC_OPT_ADAMW:
		adam_run(w, g, s[0], s[1], n, 0.0f, (float)(1.0 - h->lr * (double)wd), h);
		break;
	}
}

static hyper step_scalars(const seqc_optim *o, float lr, int64_t t)
{
	const seqc_optim_config *c = &o->c;
	double lrd = lr;
	hyper h = {
		.neg_lr = -lr,
		.momentum = c->momentum,
		.one_minus_damp = (float)(1.0 - (double)c->dampening),
		.nesterov = c->nesterov,
		.first = o->steps == 0,
		.eps = c->eps,
		.alpha = c->alpha,
		.one_minus_alpha = (float)(1.0 - (double)c->alpha),
		.beta1 = c->beta1,
		.one_minus_beta1 = (float)(1.0 - (double)c->beta1),
		.beta2 = c->beta2,
		.one_minus_beta2 = (float)(1.0 - (double)c->beta2),
		.bc2_sqrt = 1.0f,
		.lr = lrd,
	};
	if (c->kind == SEQC_OPT_ADAGRAD)
		h.neg_lr = (float)(-(lrd / (1.0 + (double)(t - 1) * (double)c->lr_decay)));
	if (c->kind == SEQC_OPT_ADAM || c->kind == SEQC_OPT_ADAMW) {
		double bc1 = 1.0 - pow((double)c->beta1, (double)t);
		double bc2 = 1.0 - pow((double)c->beta2, (double)t);
		h.neg_lr = (float)(-(lrd / bc1));
		h.bc2_sqrt = (float)sqrt(bc2);
	}
	return h;
}

int seqc_optim_step(seqc_optim *o, seqc_params *p, float lr)
{
	if (!o || !p)
		return seqc_error(SEQC_EINVAL, "optimizer step: %s is NULL", o ? "the store" : "the optimizer");
	if (!p->finalized)
		return seqc_error(SEQC_ESTATE, "optimizer step: the parameter store is not finalized");
	if (p->numel != o->numel)
		return seqc_error(SEQC_ESHAPE, "optimizer step: the store has %zu parameters, the optimizer was made for %zu",
				  p->numel, o->numel);
	if (!(lr >= 0) || !isfinite(lr))
		return seqc_error(isfinite(lr) ? SEQC_ERANGE : SEQC_ENONFINITE,
				  "optimizer step: learning rate %g is not finite and >= 0", (double)lr);
	if (o->steps == INT64_MAX)
		return seqc_error(SEQC_ERANGE, "optimizer step: step count overflow");
	int64_t t = o->steps + 1;
	hyper h = step_scalars(o, lr, t);
	/* Runs of consecutive parameters with the same decay: with biases next
	 * to their weights there are a few per layer, not one per tensor. */
#pragma omp parallel if (p->numel >= SEQC_PAR_MIN)
	{
		size_t i = 0;
		while (i < p->count) {
			const seqc_param *q = p->items[i];
			bool decay = o->c.decay_all || !q->no_decay;
			size_t off = q->offset, end = q->offset + q->t.numel;
			for (i++; i < p->count; i++) {
				q = p->items[i];
				if ((o->c.decay_all || !q->no_decay) != decay || q->offset != end)
					break;
				end += q->t.numel;
			}
			update_run(o, p, &h, off, end - off, decay);
		}
	}
	o->steps = t;
	return 0;
}

/* ---- state ---- */

size_t seqc_optim_numel(const seqc_optim *o)
{
	return o->numel;
}

size_t seqc_optim_state_count(const seqc_optim *o)
{
	return o->nstate;
}

const char *seqc_optim_state_name(const seqc_optim *o, size_t i)
{
	return i < o->nstate ? o->names[i] : NULL;
}

const float *seqc_optim_state_data(const seqc_optim *o, size_t i)
{
	return i < o->nstate ? o->state[i] : NULL;
}

static int find_state(const seqc_optim *o, const char *name, const char *verb, size_t n)
{
	for (size_t k = 0; k < o->nstate; k++) {
		if (name && strcmp(name, o->names[k]) == 0) {
			if (n != o->numel)
				return seqc_error(SEQC_ESHAPE, "optimizer %s state '%s': %zu floats given, the buffer holds %zu",
						  verb, name, n, o->numel);
			return (int)k;
		}
	}
	return seqc_error(SEQC_EINVAL, "optimizer %s state: %s has no buffer called '%s'", verb,
			  kind_names[o->c.kind], name ? name : "(NULL)");
}

int seqc_optim_get_state(const seqc_optim *o, const char *name, float *dst, size_t n)
{
	int k = find_state(o, name, "get", n);
	if (k < 0)
		return k;
	memcpy(dst, o->state[k], n * sizeof(float));
	return 0;
}

int seqc_optim_set_state(seqc_optim *o, const char *name, const float *src, size_t n)
{
	int k = find_state(o, name, "set", n);
	if (k < 0)
		return k;
	/* Second moments are sums of squares: a negative one is corrupt and
	 * would turn into NaN at the square root. */
	bool nonneg = strcmp(name, "sum") == 0 || strcmp(name, "square_avg") == 0 ||
		      strcmp(name, "exp_avg_sq") == 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(src[i]))
			return seqc_error(SEQC_ENONFINITE, "optimizer set state '%s': element %zu is %g", name, i,
					  (double)src[i]);
		if (nonneg && src[i] < 0)
			return seqc_error(SEQC_ERANGE, "optimizer set state '%s': element %zu is %g, must be >= 0",
					  name, i, (double)src[i]);
	}
	memcpy(o->state[k], src, n * sizeof(float));
	return 0;
}

int64_t seqc_optim_steps(const seqc_optim *o)
{
	return o->steps;
}

int seqc_optim_set_steps(seqc_optim *o, int64_t steps)
{
	if (steps < 0)
		return seqc_error(SEQC_ERANGE, "optimizer: step count %lld must be >= 0", (long long)steps);
	o->steps = steps;
	return 0;
}

/* ---- clipping ---- */

/* A fixed number of chunks, each summed in order by one thread, then the
 * chunks in order: the same bits for any thread count. */
#define NORM_CHUNKS 64

double seqc_grad_norm(const seqc_params *p)
{
	if (!p || !p->finalized)
		return seqc_error(SEQC_ESTATE, "grad norm: the parameter store is %s",
				  p ? "not finalized" : "missing (NULL)");
	const float *g = p->grads;
	size_t n = p->numel;
	size_t chunk = (n + NORM_CHUNKS - 1) / NORM_CHUNKS;
	double part[NORM_CHUNKS];
#pragma omp parallel for schedule(static) if (n >= SEQC_PAR_MIN)
	for (int c = 0; c < NORM_CHUNKS; c++) {
		size_t lo = (size_t)c * chunk, hi = lo + chunk;
		lo = lo < n ? lo : n;
		hi = hi < n ? hi : n;
		double s = 0;
		for (size_t i = lo; i < hi; i++)
			s += (double)g[i] * (double)g[i];
		part[c] = s;
	}
	double total = 0;
	for (int c = 0; c < NORM_CHUNKS; c++)
		total += part[c];
	return sqrt(total);
}

double seqc_clip_grad_norm(seqc_params *p, float max_norm)
{
	if (!(max_norm > 0) || !isfinite(max_norm))
		return seqc_error(SEQC_EINVAL, "clip grad norm: max_norm %g must be finite and > 0",
				  (double)max_norm);
	double norm = seqc_grad_norm(p);
	if (norm < 0 || !isfinite(norm))
		return norm;
	float coef = (float)((double)max_norm / (norm + 1e-6));
	if (coef < 1.0f) {
		float *g = p->grads;
		size_t n = p->numel;
#pragma omp parallel for schedule(static) if (n >= SEQC_PAR_MIN)
		for (size_t i = 0; i < n; i++)
			g[i] *= coef;
	}
	return norm;
}

int seqc_clip_grad_value(seqc_params *p, float clip)
{
	if (!(clip >= 0) || !isfinite(clip))
		return seqc_error(SEQC_EINVAL, "clip grad value: clip %g must be finite and >= 0", (double)clip);
	if (!p || !p->finalized)
		return seqc_error(SEQC_ESTATE, "clip grad value: the parameter store is %s",
				  p ? "not finalized" : "missing (NULL)");
	float *g = p->grads;
	size_t n = p->numel;
#pragma omp parallel for schedule(static) if (n >= SEQC_PAR_MIN)
	for (size_t i = 0; i < n; i++)
		g[i] = g[i] > clip ? clip : g[i] < -clip ? -clip : g[i];
	return 0;
}
