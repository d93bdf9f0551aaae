/* Learning-rate schedules with warmup. See train/schedule.h for the
 * formulas. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "train/schedule.h"
#include "train/spec_internal.h"

/* torch's ReduceLROnPlateau ignores reductions smaller than this. */
#define PLATEAU_EPS 1e-8

struct seqc_sched {
	seqc_sched_config c;
	seqc_sched_state st; /* plateau only */
};

static const char *const kind_names[] = { "constant", "step", "exp", "cosine", "plateau", "invsqrt" };
#define NKINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

enum {
	B_CONSTANT = 1u << SEQC_SCHED_CONSTANT,
	B_STEP = 1u << SEQC_SCHED_STEP,
	B_EXP = 1u << SEQC_SCHED_EXPONENTIAL,
	B_COSINE = 1u << SEQC_SCHED_COSINE,
	B_PLATEAU = 1u << SEQC_SCHED_PLATEAU,
	B_INVSQRT = 1u << SEQC_SCHED_INVSQRT,
	B_ALL = B_CONSTANT | B_STEP | B_EXP | B_COSINE | B_PLATEAU | B_INVSQRT,
};

#define OFF(f) offsetof(seqc_sched_config, f)
/* keys[0] must stay "lr": a parsed spec may leave it unset (see check). */
static const seqc_spec_key keys[] = {
	{ "lr", "base_lr", B_ALL, SEQC_SPEC_FLOAT, OFF(base_lr), 0, INFINITY, false, true },
	{ "warmup", "warmup", B_ALL, SEQC_SPEC_INT, OFF(warmup), 0, INFINITY, false, true },
	{ "warmup_init", "warmup_init", B_ALL & ~B_INVSQRT, SEQC_SPEC_FLOAT, OFF(warmup_init), 0, INFINITY,
	  false, true },
	{ "size", "step_size", B_STEP, SEQC_SPEC_INT, OFF(step_size), 1, INFINITY, false, true },
	{ "gamma", "gamma", B_STEP | B_EXP, SEQC_SPEC_FLOAT, OFF(gamma), 0, 1, true, false },
	{ "total", "total", B_COSINE, SEQC_SPEC_INT, OFF(total), 1, INFINITY, false, true },
	{ "min", "min_lr", B_COSINE | B_PLATEAU, SEQC_SPEC_FLOAT, OFF(min_lr), 0, INFINITY, false, true },
	{ "factor", "factor", B_PLATEAU, SEQC_SPEC_FLOAT, OFF(factor), 0, 1, true, true },
	{ "patience", "patience", B_PLATEAU, SEQC_SPEC_INT, OFF(patience), 0, INFINITY, false, true },
	{ "threshold", "threshold", B_PLATEAU, SEQC_SPEC_FLOAT, OFF(threshold), 0, 1, false, true },
	{ "cooldown", "cooldown", B_PLATEAU, SEQC_SPEC_INT, OFF(cooldown), 0, INFINITY, false, true },
	{ "d", "d_model", B_INVSQRT, SEQC_SPEC_FLOAT, OFF(d_model), 0, INFINITY, true, true },
};
#define NKEYS (sizeof keys / sizeof keys[0])

const char *seqc_sched_kind_name(seqc_sched_kind kind)
{
	return (int)kind >= 0 && (int)kind < NKINDS ? kind_names[kind] : "unknown";
}

seqc_sched_config seqc_sched_defaults(seqc_sched_kind kind)
{
	seqc_sched_config c = { .kind = kind, .base_lr = NAN };
	switch (kind) {
	case SEQC_SCHED_STEP:
		c.gamma = 0.1f;
		break;
	case SEQC_SCHED_PLATEAU:
		c.factor = 0.1f;
		c.patience = 10;
		c.threshold = 1e-4f;
		break;
	case SEQC_SCHED_INVSQRT:
		c.warmup = 4000;
		c.d_model = 512;
		break;
	default:
		break;
	}
	return c;
}

/* Ranges from the key table, then the fields that depend on each other.
 * unset_ok: a NAN base_lr means "not given" (a parsed spec). */
static int check(const seqc_sched_config *c, const char *what, bool unset_ok)
{
	bool unset = unset_ok && isnan(c->base_lr);
	int kind = (int)c->kind;
	if (c->kind == SEQC_SCHED_STEP && c->step_size == 0)
		return seqc_error(SEQC_EINVAL, "%s: step needs size= (steps between decays)", what);
	if (c->kind == SEQC_SCHED_EXPONENTIAL && c->gamma == 0)
		return seqc_error(SEQC_EINVAL, "%s: exp needs gamma= (decay per step)", what);
	if (c->kind == SEQC_SCHED_COSINE && c->total == 0)
		return seqc_error(SEQC_EINVAL, "%s: cosine needs total= (the step where min is reached)", what);
	int rc = seqc_spec_check(what, keys + unset, NKEYS - unset, kind, c);
	if (rc < 0)
		return rc;
	if (c->kind == SEQC_SCHED_COSINE && c->total <= c->warmup)
		return seqc_error(SEQC_EINVAL, "%s: total = %lld must be > warmup = %lld", what,
				  (long long)c->total, (long long)c->warmup);
	if ((c->kind == SEQC_SCHED_COSINE || c->kind == SEQC_SCHED_PLATEAU) && !unset &&
	    c->min_lr > c->base_lr)
		return seqc_error(SEQC_EINVAL, "%s: min_lr = %g must be <= base_lr = %g", what,
				  (double)c->min_lr, (double)c->base_lr);
	return 0;
}

int seqc_sched_check(const seqc_sched_config *c)
{
	char what[64];
	if (!c)
		return seqc_error(SEQC_EINVAL, "schedule: no config given (NULL)");
	if ((int)c->kind < 0 || (int)c->kind >= NKINDS)
		return seqc_error(SEQC_EINVAL, "schedule: unknown kind %d", (int)c->kind);
	if (isnan(c->base_lr))
		return seqc_error(SEQC_EINVAL, "schedule %s: base_lr is unset (give lr= in the spec, or take the optimizer's lr)",
				  kind_names[c->kind]);
	snprintf(what, sizeof what, "schedule %s", kind_names[c->kind]);
	return check(c, what, false);
}

int seqc_sched_parse(const char *spec, seqc_sched_config *out)
{
	int kind;
	const char *params;
	char what[160];
	int rc = seqc_spec_kind(spec, "schedule spec", kind_names, NKINDS, &kind, &params);
	if (rc < 0)
		return rc;
	*out = seqc_sched_defaults((seqc_sched_kind)kind);
	rc = seqc_spec_apply(spec, params, "schedule spec", keys, NKEYS, kind, out);
	if (rc < 0)
		return rc;
	snprintf(what, sizeof what, "schedule spec '%.120s'", spec);
	return check(out, what, true);
}

static seqc_sched_state initial_state(const seqc_sched_config *c)
{
	return (seqc_sched_state){ .lr = c->base_lr, .best = INFINITY };
}

seqc_sched *seqc_sched_create(const seqc_sched_config *c)
{
	if (seqc_sched_check(c) < 0)
		return NULL;
	seqc_sched *s = calloc(1, sizeof *s);
	if (!s)
		return seqc_error(SEQC_ENOMEM, "schedule: cannot allocate"), NULL;
	s->c = *c;
	s->st = initial_state(c);
	return s;
}

void seqc_sched_destroy(seqc_sched *s)
{
	free(s);
}

const seqc_sched_config *seqc_sched_get_config(const seqc_sched *s)
{
	return &s->c;
}

/* The rate after warmup, t >= warmup. */
static double level(const seqc_sched *s, int64_t t)
{
	const seqc_sched_config *c = &s->c;
	double base = c->base_lr, min = c->min_lr;
	int64_t u = t - c->warmup;
	switch (c->kind) {
	case SEQC_SCHED_STEP:
		return base * pow((double)c->gamma, (double)(u / c->step_size));
	case SEQC_SCHED_EXPONENTIAL:
		return base * pow((double)c->gamma, (double)u);
	case SEQC_SCHED_COSINE: {
		if (t >= c->total)
			return min;
		double r = (double)u / (double)(c->total - c->warmup);
		double coeff = 0.5 * (1.0 + cos(M_PI * r));
		return min + coeff * (base - min);
	}
	case SEQC_SCHED_PLATEAU:
		return s->st.lr;
	default:
		return base;
	}
}

float seqc_sched_lr(const seqc_sched *s, int64_t step)
{
	const seqc_sched_config *c = &s->c;
	int64_t t = step < 0 ? 0 : step;
	if (c->kind == SEQC_SCHED_INVSQRT) {
		double n = (double)t + 1.0;
		double f = 1.0 / sqrt(n);
		if (c->warmup > 0)
			f = fmin(f, n * pow((double)c->warmup, -1.5));
		return (float)((double)c->base_lr / sqrt((double)c->d_model) * f);
	}
	if (t < c->warmup) {
		double target = c->kind == SEQC_SCHED_PLATEAU ? s->st.lr : (double)c->base_lr;
		double init = c->warmup_init;
		return (float)(init + (target - init) * (double)(t + 1) / (double)c->warmup);
	}
	return (float)level(s, t);
}

int seqc_sched_report(seqc_sched *s, double val_loss)
{
	if (!s)
		return seqc_error(SEQC_EINVAL, "schedule report: the schedule is NULL");
	if (s->c.kind != SEQC_SCHED_PLATEAU)
		return 0;
	seqc_sched_state *st = &s->st;
	const seqc_sched_config *c = &s->c;
	int reduced = 0;
	st->reports++;
	if (val_loss < st->best * (1.0 - (double)c->threshold)) {
		st->best = val_loss;
		st->num_bad = 0;
	} else {
		st->num_bad++;
	}
	if (st->cooldown_left > 0) {
		st->cooldown_left--;
		st->num_bad = 0;
	}
	if (st->num_bad > c->patience) {
		double lr = fmax(st->lr * (double)c->factor, (double)c->min_lr);
		if (st->lr - lr > PLATEAU_EPS) {
			st->lr = lr;
			reduced = 1;
		}
		st->cooldown_left = c->cooldown;
		st->num_bad = 0;
	}
	return reduced;
}

seqc_sched_state seqc_sched_get_state(const seqc_sched *s)
{
	return s->c.kind == SEQC_SCHED_PLATEAU ? s->st : initial_state(&s->c);
}

int seqc_sched_set_state(seqc_sched *s, const seqc_sched_state *st)
{
	if (!(st->lr >= 0) || !isfinite(st->lr))
		return seqc_error(SEQC_ERANGE, "schedule set state: lr %g must be finite and >= 0", st->lr);
	if (isnan(st->best))
		return seqc_error(SEQC_ERANGE, "schedule set state: best loss is NaN");
	if (st->num_bad < 0 || st->cooldown_left < 0 || st->reports < 0)
		return seqc_error(SEQC_ERANGE, "schedule set state: a counter is negative (num_bad %lld, cooldown_left %lld, reports %lld)",
				  (long long)st->num_bad, (long long)st->cooldown_left, (long long)st->reports);
	if (s->c.kind == SEQC_SCHED_PLATEAU)
		s->st = *st;
	return 0;
}
