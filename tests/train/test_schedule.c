/* Learning-rate schedules on hand-computed values: warmup boundaries, step
 * decay boundaries, the cosine midpoint (base + min) / 2, the inverse
 * square root peak, a scripted plateau run (patience, cooldown, min_lr, NaN
 * losses) and its exact resume; the spec parser on valid and invalid
 * specs. torch's ReduceLROnPlateau is compared in test_optim_golden.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

static seqc_sched *make(const char *spec, float base)
{
	seqc_sched_config c;
	ck_assert_msg(seqc_sched_parse(spec, &c) == 0, "%s: %s", spec, seqc_errmsg());
	if (isnan(c.base_lr))
		c.base_lr = base;
	seqc_sched *s = seqc_sched_create(&c);
	ck_assert_msg(s != NULL, "%s: %s", spec, seqc_errmsg());
	return s;
}

typedef struct point {
	int64_t step;
	double lr;
} point;

static void expect(const char *spec, float base, const point *pts, size_t n)
{
	seqc_sched *s = make(spec, base);
	for (size_t i = 0; i < n; i++) {
		double got = seqc_sched_lr(s, pts[i].step);
		ck_assert_msg(fabs(got - pts[i].lr) <= 1e-6 * fabs(pts[i].lr) + 1e-12,
			      "%s: step %lld: lr %.9g, expected %.9g", spec, (long long)pts[i].step, got, pts[i].lr);
	}
	seqc_sched_destroy(s);
}

#define EXPECT(spec, base, ...)                                                   \
	do {                                                                      \
		const point pts_[] = { __VA_ARGS__ };                             \
		expect(spec, base, pts_, sizeof pts_ / sizeof pts_[0]);           \
	} while (0)

START_TEST(test_constant)
{
	EXPECT("constant", 0.5f, { 0, 0.5 }, { 1, 0.5 }, { 100000, 0.5 }, { -3, 0.5 });
	/* Warmup from 0: (t + 1) / W of the base, the base at t = W - 1. */
	EXPECT("constant:warmup=4", 0.5f, { 0, 0.125 }, { 1, 0.25 }, { 2, 0.375 }, { 3, 0.5 }, { 4, 0.5 },
	       { -1, 0.125 });
	/* Warmup from warmup_init. */
	EXPECT("constant:warmup=4,warmup_init=0.1", 0.5f, { 0, 0.2 }, { 3, 0.5 }, { 50, 0.5 });
	/* lr in the spec wins over the caller's base. */
	EXPECT("constant:lr=0.25", 9.0f, { 0, 0.25 }, { 7, 0.25 });
}
END_TEST

START_TEST(test_step)
{
	EXPECT("step:size=10,gamma=0.5", 1.0f, { 0, 1 }, { 9, 1 }, { 10, 0.5 }, { 19, 0.5 }, { 20, 0.25 },
	       { 35, 0.125 });
	/* Decays count from the end of the warmup. */
	EXPECT("step:size=10,gamma=0.5,warmup=5", 1.0f, { 0, 0.2 }, { 4, 1 }, { 5, 1 }, { 14, 1 }, { 15, 0.5 },
	       { 25, 0.25 });
	/* torch's default gamma, 0.1. */
	EXPECT("step:size=3", 2.0f, { 2, 2 }, { 3, 0.2 }, { 6, 0.02 });
}
END_TEST

START_TEST(test_exponential)
{
	EXPECT("exp:gamma=0.5,warmup=2", 2.0f, { 0, 1 }, { 1, 2 }, { 2, 2 }, { 3, 1 }, { 5, 0.25 });
	/* gamma^u in double from the float gamma, not a product of roundings. */
	seqc_sched *s = make("exp:gamma=0.999", 1.0f);
	ck_assert_double_eq_tol(seqc_sched_lr(s, 1000), pow((double)0.999f, 1000), 1e-7);
	ck_assert_double_eq_tol(seqc_sched_lr(s, 1000), 0.3677, 1e-4);
	seqc_sched_destroy(s);
}
END_TEST

START_TEST(test_cosine)
{
	/* warmup 10, total 110, from 1 down to 0.1: midpoint at t = 60 is
	 * (1 + 0.1) / 2; at a quarter (t = 35) 0.1 + 0.9 (1 + cos(pi/4)) / 2. */
	EXPECT("cosine:warmup=10,total=110,min=0.1", 1.0f, { 0, 0.1 }, { 4, 0.5 }, { 9, 1 }, { 10, 1 },
	       { 35, 0.1 + 0.9 * 0.5 * (1 + 0.70710678118654752) }, { 60, 0.55 },
	       { 85, 0.1 + 0.9 * 0.5 * (1 - 0.70710678118654752) }, { 109, 0.10022204783542078 },
	       { 110, 0.1 }, { 1000, 0.1 });
	/* No warmup, min 0: the midpoint is half the base. */
	EXPECT("cosine:total=100", 0.2f, { 0, 0.2 }, { 50, 0.1 }, { 100, 0 }, { 101, 0 });
}
END_TEST

START_TEST(test_invsqrt)
{
	/* d 512, warmup 4000: peak 1 / sqrt(512 * 4000) at n = t + 1 = 4000,
	 * half of it at n = 16000, linear below the peak. */
	double peak = 1.0 / sqrt(512.0 * 4000.0);
	EXPECT("invsqrt:warmup=4000,d=512", 1.0f, { 3999, 1.0 / sqrt(2048000.0) }, { 15999, peak / 2 },
	       { 1999, peak / 2 }, { 0, peak / 4000 }, { 3998, peak * 3999 / 4000 });
	/* The defaults are the paper's; the base is a factor. */
	EXPECT("invsqrt", 2.0f, { 3999, 2 * peak });
	/* No warmup: (d n)^-0.5 from the first step. */
	EXPECT("invsqrt:warmup=0,d=64", 1.0f, { 0, 0.125 }, { 3, 0.0625 });
}
END_TEST

/* factor 0.5, patience 1, cooldown 2, min 0.2, relative threshold 0.1,
 * derived by hand from torch's ReduceLROnPlateau rules. */
static const double plateau_losses[] = { 10, 9.5, 9.5, 9.5, 9.5, 9.5, 9.5, 5, NAN, NAN, 4.6, 4.6, 4.6, 4.6, 4.6 };
static const double plateau_lrs[] = { 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2 };
static const int plateau_reduced[] = { 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0 };
#define PLATEAU_SPEC "plateau:factor=0.5,patience=1,cooldown=2,min=0.2,threshold=0.1"
#define PLATEAU_N (sizeof plateau_losses / sizeof plateau_losses[0])

START_TEST(test_plateau)
{
	seqc_sched *s = make(PLATEAU_SPEC, 1.0f);
	for (size_t i = 0; i < PLATEAU_N; i++) {
		int rc = seqc_sched_report(s, plateau_losses[i]);
		ck_assert_msg(rc == plateau_reduced[i], "report %zu: returned %d", i + 1, rc);
		ck_assert_msg(fabs(seqc_sched_lr(s, 500) - plateau_lrs[i]) < 1e-7, "report %zu: lr %g, expected %g",
			      i + 1, (double)seqc_sched_lr(s, 500), plateau_lrs[i]);
	}
	seqc_sched_state st = seqc_sched_get_state(s);
	ck_assert_int_eq(st.reports, (int64_t)PLATEAU_N);
	ck_assert_double_eq(st.best, 5.0);
	ck_assert_int_eq(st.cooldown_left, 2);
	seqc_sched_destroy(s);

	/* During warmup the ramp heads for the current level. */
	s = make("plateau:factor=0.5,patience=0,warmup=4", 1.0f);
	ck_assert_double_eq(seqc_sched_lr(s, 1), 0.5);
	ck_assert_int_eq(seqc_sched_report(s, 3.0), 0);
	ck_assert_int_eq(seqc_sched_report(s, 3.0), 1);
	ck_assert_double_eq(seqc_sched_lr(s, 1), 0.25);
	ck_assert_double_eq(seqc_sched_lr(s, 4), 0.5);
	seqc_sched_destroy(s);

	/* Other kinds ignore reports. */
	s = make("constant", 1.0f);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(seqc_sched_report(s, 1.0), 0);
	ck_assert_double_eq(seqc_sched_lr(s, 5), 1.0);
	st = seqc_sched_get_state(s);
	ck_assert(st.lr == 1.0 && isinf(st.best) && st.reports == 0);
	seqc_sched_destroy(s);
	ck_assert_int_eq(seqc_sched_report(NULL, 1.0), SEQC_EINVAL);
}
END_TEST

/* Save the plateau state after 8 reports, restore it into a fresh
 * schedule, and both continue identically; a fresh one without the state
 * does not. */
START_TEST(test_plateau_resume)
{
	seqc_sched *a = make(PLATEAU_SPEC, 1.0f), *b = make(PLATEAU_SPEC, 1.0f), *fresh = make(PLATEAU_SPEC, 1.0f);
	for (size_t i = 0; i < 8; i++)
		seqc_sched_report(a, plateau_losses[i]);
	seqc_sched_state st = seqc_sched_get_state(a);
	ck_assert_int_eq(seqc_sched_set_state(b, &st), 0);
	bool differ = false;
	for (size_t i = 8; i < PLATEAU_N; i++) {
		ck_assert_int_eq(seqc_sched_report(a, plateau_losses[i]), seqc_sched_report(b, plateau_losses[i]));
		seqc_sched_report(fresh, plateau_losses[i]);
		ck_assert(seqc_sched_lr(a, 100) == seqc_sched_lr(b, 100));
		differ = differ || seqc_sched_lr(fresh, 100) != seqc_sched_lr(a, 100);
	}
	seqc_sched_state sa = seqc_sched_get_state(a), sb = seqc_sched_get_state(b);
	ck_assert(sa.lr == sb.lr && sa.best == sb.best && sa.num_bad == sb.num_bad &&
		  sa.cooldown_left == sb.cooldown_left && sa.reports == sb.reports);
	ck_assert(differ);

	seqc_sched_state bad = st;
	bad.lr = NAN;
	ck_assert_int_eq(seqc_sched_set_state(b, &bad), SEQC_ERANGE);
	bad = st;
	bad.lr = -1;
	ck_assert_int_eq(seqc_sched_set_state(b, &bad), SEQC_ERANGE);
	bad = st;
	bad.best = NAN;
	ck_assert_int_eq(seqc_sched_set_state(b, &bad), SEQC_ERANGE);
	bad = st;
	bad.cooldown_left = -1;
	ck_assert_int_eq(seqc_sched_set_state(b, &bad), SEQC_ERANGE);
	seqc_sched_destroy(a);
	seqc_sched_destroy(b);
	seqc_sched_destroy(fresh);
}
END_TEST

/* ---- parsing ---- */

static void assert_config_eq(const seqc_sched_config *a, const seqc_sched_config *b, const char *what)
{
	ck_assert_msg(a->kind == b->kind, "%s: kind %d, expected %d", what, a->kind, b->kind);
	ck_assert_msg(a->base_lr == b->base_lr || (isnan(a->base_lr) && isnan(b->base_lr)),
		      "%s: base_lr %g, expected %g", what, (double)a->base_lr, (double)b->base_lr);
#define F(f) ck_assert_msg(a->f == b->f, "%s: " #f " %g, expected %g", what, (double)a->f, (double)b->f)
	F(warmup);
	F(warmup_init);
	F(step_size);
	F(gamma);
	F(total);
	F(min_lr);
	F(factor);
	F(patience);
	F(threshold);
	F(cooldown);
	F(d_model);
#undef F
}

START_TEST(test_parse_valid)
{
	static const struct {
		const char *spec;
		seqc_sched_config want;
	} cases[] = {
		{ "constant", { .kind = SEQC_SCHED_CONSTANT, .base_lr = NAN } },
		{ "constant:lr=3e-4,warmup=200,warmup_init=1e-5",
		  { .kind = SEQC_SCHED_CONSTANT, .base_lr = 3e-4f, .warmup = 200, .warmup_init = 1e-5f } },
		{ "step:size=1000,gamma=0.5", { .kind = SEQC_SCHED_STEP, .base_lr = NAN, .step_size = 1000, .gamma = 0.5f } },
		{ "step:size=7", { .kind = SEQC_SCHED_STEP, .base_lr = NAN, .step_size = 7, .gamma = 0.1f } },
		{ "exp:gamma=0.999", { .kind = SEQC_SCHED_EXPONENTIAL, .base_lr = NAN, .gamma = 0.999f } },
		{ "exp:gamma=1", { .kind = SEQC_SCHED_EXPONENTIAL, .base_lr = NAN, .gamma = 1 } },
		{ "cosine:warmup=100,total=5000,min=1e-4",
		  { .kind = SEQC_SCHED_COSINE, .base_lr = NAN, .warmup = 100, .total = 5000, .min_lr = 1e-4f } },
		{ "plateau:factor=0.5,patience=2",
		  { .kind = SEQC_SCHED_PLATEAU, .base_lr = NAN, .factor = 0.5f, .patience = 2, .threshold = 1e-4f } },
		{ "plateau",
		  { .kind = SEQC_SCHED_PLATEAU, .base_lr = NAN, .factor = 0.1f, .patience = 10, .threshold = 1e-4f } },
		{ "plateau:cooldown=3,min=1e-5,threshold=0,lr=0.01",
		  { .kind = SEQC_SCHED_PLATEAU, .base_lr = 0.01f, .factor = 0.1f, .patience = 10, .cooldown = 3,
		    .min_lr = 1e-5f } },
		{ "invsqrt:warmup=4000,d=512",
		  { .kind = SEQC_SCHED_INVSQRT, .base_lr = NAN, .warmup = 4000, .d_model = 512 } },
		{ "invsqrt:d=1024,lr=2", { .kind = SEQC_SCHED_INVSQRT, .base_lr = 2, .warmup = 4000, .d_model = 1024 } },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		seqc_sched_config c;
		ck_assert_msg(seqc_sched_parse(cases[i].spec, &c) == 0, "%s: %s", cases[i].spec, seqc_errmsg());
		assert_config_eq(&c, &cases[i].want, cases[i].spec);
	}
}
END_TEST

START_TEST(test_parse_invalid)
{
	static const struct {
		const char *spec;
		int code;
		const char *msg;
	} cases[] = {
		{ "linear", SEQC_EINVAL, "unknown name 'linear'" },
		{ "Cosine:total=5", SEQC_EINVAL, "unknown name 'Cosine'" },
		{ "constant:", SEQC_EFORMAT, "nothing after ':'" },
		{ "step", SEQC_EINVAL, "step needs size=" },
		{ "step:gamma=0.5", SEQC_EINVAL, "step needs size=" },
		{ "exp", SEQC_EINVAL, "exp needs gamma=" },
		{ "cosine", SEQC_EINVAL, "cosine needs total=" },
		{ "cosine:total=100,warmup=100", SEQC_EINVAL, "total = 100 must be > warmup = 100" },
		{ "cosine:total=10.5", SEQC_EFORMAT, "'10.5' is not an integer" },
		{ "cosine:total=1e3", SEQC_EFORMAT, "'1e3' is not an integer" },
		{ "cosine:total=", SEQC_EFORMAT, "value missing" },
		{ "cosine:total=100,min=0.5,lr=0.1", SEQC_EINVAL, "min_lr = 0.5 must be <= base_lr = 0.1" },
		{ "step:size=0", SEQC_ERANGE, "size must be in [1, inf)" },
		{ "step:size=-5", SEQC_ERANGE, "size must be in [1, inf)" },
		{ "step:size=10,gamma=0", SEQC_ERANGE, "gamma must be in (0, 1]" },
		{ "step:size=10,gamma=1.5", SEQC_ERANGE, "gamma must be in (0, 1]" },
		{ "exp:gamma=abc", SEQC_EFORMAT, "'abc' is not a number" },
		{ "exp:gamma=0.9,gamma=0.8", SEQC_EINVAL, "key 'gamma' given twice" },
		{ "plateau:factor=1", SEQC_ERANGE, "factor must be in (0, 1)" },
		{ "plateau:patience=-1", SEQC_ERANGE, "patience must be in [0, inf)" },
		{ "plateau:threshold=1", SEQC_ERANGE, "threshold must be in [0, 1)" },
		{ "plateau:gamma=0.5", SEQC_EINVAL, "unknown key 'gamma' for plateau" },
		{ "invsqrt:warmup_init=0.1", SEQC_EINVAL, "unknown key 'warmup_init' for invsqrt" },
		{ "invsqrt:d=0", SEQC_ERANGE, "d must be in (0, inf)" },
		{ "constant:lr=-1", SEQC_ERANGE, "lr must be in [0, inf)" },
		{ "constant:lr=nan", SEQC_ENONFINITE, "'nan' is not a finite float" },
		{ "constant:total=5", SEQC_EINVAL, "unknown key 'total' for constant" },
		{ "constant:warmup=-1", SEQC_ERANGE, "warmup must be in [0, inf)" },
		{ "constant:warmup=99999999999999999999", SEQC_ERANGE, "does not fit in 64 bits" },
		{ "constant:warmup=5;", SEQC_EFORMAT, "'5;' is not an integer" },
		{ "constant:warmup", SEQC_EFORMAT, "'warmup' is not key=value" },
		{ "constant:warmup=1,,lr=2", SEQC_EFORMAT, "stray ','" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		seqc_sched_config c;
		seqc_error_clear();
		int rc = seqc_sched_parse(cases[i].spec, &c);
		ck_assert_msg(rc == cases[i].code, "'%s': code %d, expected %d (%s)", cases[i].spec, rc,
			      cases[i].code, seqc_errmsg());
		ck_assert_msg(strstr(seqc_errmsg(), cases[i].msg), "'%s': message '%s' lacks '%s'", cases[i].spec,
			      seqc_errmsg(), cases[i].msg);
		char quoted[128];
		snprintf(quoted, sizeof quoted, "'%s'", cases[i].spec);
		ck_assert_msg(strstr(seqc_errmsg(), quoted), "'%s': message '%s' does not quote the spec",
			      cases[i].spec, seqc_errmsg());
	}
	seqc_sched_config c;
	ck_assert_int_eq(seqc_sched_parse(NULL, &c), SEQC_EINVAL);
}
END_TEST

/* Configs built by hand: create refuses them, naming the field. */
START_TEST(test_create_invalid)
{
	seqc_sched_config c = seqc_sched_defaults(SEQC_SCHED_CONSTANT);
	ck_assert_ptr_null(seqc_sched_create(&c));
	ck_assert_msg(strstr(seqc_errmsg(), "base_lr is unset"), "%s", seqc_errmsg());
	c.base_lr = 1;
	c.warmup = -1;
	ck_assert_ptr_null(seqc_sched_create(&c));
	ck_assert_msg(strstr(seqc_errmsg(), "warmup = -1"), "%s", seqc_errmsg());
	c.warmup = 0;
	c.base_lr = INFINITY;
	ck_assert_ptr_null(seqc_sched_create(&c));
	ck_assert_msg(strstr(seqc_errmsg(), "base_lr = inf"), "%s", seqc_errmsg());

	c = seqc_sched_defaults(SEQC_SCHED_STEP);
	c.base_lr = 1;
	ck_assert_ptr_null(seqc_sched_create(&c));
	ck_assert(strstr(seqc_errmsg(), "step needs size="));
	c.step_size = 5;
	c.gamma = -0.5f;
	ck_assert_ptr_null(seqc_sched_create(&c));
	ck_assert_msg(strstr(seqc_errmsg(), "gamma = -0.5 must be in (0, 1]"), "%s", seqc_errmsg());

	c = seqc_sched_defaults(SEQC_SCHED_COSINE);
	c.base_lr = 1;
	c.total = 10;
	c.min_lr = 2;
	ck_assert_ptr_null(seqc_sched_create(&c));
	ck_assert(strstr(seqc_errmsg(), "min_lr = 2 must be <= base_lr = 1"));

	c = seqc_sched_defaults(SEQC_SCHED_INVSQRT);
	c.base_lr = 1;
	c.d_model = 0;
	ck_assert_ptr_null(seqc_sched_create(&c));
	ck_assert(strstr(seqc_errmsg(), "d_model = 0"));

	c = seqc_sched_defaults((seqc_sched_kind)9);
	c.base_lr = 1;
	ck_assert_ptr_null(seqc_sched_create(&c));
	ck_assert(strstr(seqc_errmsg(), "unknown kind 9"));
	ck_assert_ptr_null(seqc_sched_create(NULL));
	seqc_sched_destroy(NULL);
	ck_assert_str_eq(seqc_sched_kind_name(SEQC_SCHED_EXPONENTIAL), "exp");
	ck_assert_str_eq(seqc_sched_kind_name((seqc_sched_kind)9), "unknown");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("schedule");
	TCase *tc = tcase_create("values");
	tcase_add_test(tc, test_constant);
	tcase_add_test(tc, test_step);
	tcase_add_test(tc, test_exponential);
	tcase_add_test(tc, test_cosine);
	tcase_add_test(tc, test_invsqrt);
	tcase_add_test(tc, test_plateau);
	tcase_add_test(tc, test_plateau_resume);
	suite_add_tcase(s, tc);
	TCase *parse = tcase_create("parse");
	tcase_add_test(parse, test_parse_valid);
	tcase_add_test(parse, test_parse_invalid);
	tcase_add_test(parse, test_create_invalid);
	suite_add_tcase(s, parse);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
