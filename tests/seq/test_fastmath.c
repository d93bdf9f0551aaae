/* The vectorizable exp, sigmoid and tanh of seq/fastmath.h against libm in
 * double, over the whole range the recurrent gates see and past it. */
#include <math.h>

#include "seq/fastmath.h"
#include "support.h"

START_TEST(against_libm)
{
	double worst_exp = 0, worst_sig = 0, worst_tanh = 0;
	for (float x = -40.0f; x <= 40.0f; x += 1.0e-3f) {
		double e = exp((double)x), s = 1.0 / (1.0 + exp(-(double)x)), t = tanh((double)x);
		worst_exp = fmax(worst_exp, fabs(seqc_fast_exp(x) - e) / e);
		worst_sig = fmax(worst_sig, fabs(seqc_fast_sigmoid(x) - s) / s);
		worst_tanh = fmax(worst_tanh, fabs(seqc_fast_tanh(x) - t) / fmax(fabs(t), 1e-30));
	}
	/* a few ulp of float (6e-8) */
	ck_assert_double_le(worst_exp, 3e-7);
	ck_assert_double_le(worst_sig, 3e-7);
	ck_assert_double_le(worst_tanh, 2e-6);
}
END_TEST

/* The tanh-form GELU and its derivative against the textbook formulas in
 * double: absolute error (values pass through 0 at 0 and vanish to the
 * left), scaled by max(1, |x|) for the value that grows like x. */
START_TEST(gelu_against_libm)
{
	double worst_y = 0, worst_d = 0;
	const double k = sqrt(2.0 / M_PI), c = 0.044715;
	for (float x = -30.0f; x <= 30.0f; x += 1.0e-3f) {
		double xd = x, t = tanh(k * (xd + c * xd * xd * xd));
		double y = 0.5 * xd * (1.0 + t);
		double d = 0.5 * (1.0 + t) + 0.5 * xd * (1.0 - t * t) * k * (1.0 + 3.0 * c * xd * xd);
		worst_y = fmax(worst_y, fabs(seqc_fast_gelu_tanh(x) - y) / fmax(1.0, fabs(xd)));
		worst_d = fmax(worst_d, fabs(seqc_fast_gelu_tanh_grad(x) - d));
	}
	ck_assert_double_le(worst_y, 3e-7);
	ck_assert_double_le(worst_d, 5e-7);
	ck_assert(isnan(seqc_fast_gelu_tanh(NAN)));
	ck_assert(isnan(seqc_fast_gelu_tanh_grad(NAN)));
	ck_assert_float_eq(seqc_fast_gelu_tanh(100.0f), 100.0f);
	ck_assert_double_le(fabs(seqc_fast_gelu_tanh(-100.0f)), 1e-30);
}
END_TEST

START_TEST(edges)
{
	/* tiny arguments keep their relative precision; huge ones saturate
	 * instead of overflowing to inf or NaN */
	ck_assert_float_eq(seqc_fast_tanh(0.0f), 0.0f);
	ck_assert_double_le(fabs(seqc_fast_tanh(1e-6f) - 1e-6) / 1e-6, 1e-6);
	ck_assert_float_eq(seqc_fast_tanh(100.0f), 1.0f);
	ck_assert_float_eq(seqc_fast_tanh(-100.0f), -1.0f);
	ck_assert_float_eq(seqc_fast_sigmoid(-1000.0f) >= 0.0f, 1);
	ck_assert_double_le(seqc_fast_sigmoid(-1000.0f), 1e-37);
	ck_assert_float_eq(seqc_fast_sigmoid(1000.0f), 1.0f);
	ck_assert(isfinite(seqc_fast_exp(1000.0f)));
	ck_assert_float_eq(seqc_fast_exp(0.0f), 1.0f);
	/* NaN propagates, with no undefined conversion on the way (UBSan) */
	ck_assert(isnan(seqc_fast_exp(NAN)));
	ck_assert(isnan(seqc_fast_sigmoid(NAN)));
	ck_assert(isnan(seqc_fast_tanh(NAN)));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fastmath");
	TCase *tc = tcase_create("fastmath");
	tcase_add_test(tc, against_libm);
	tcase_add_test(tc, gelu_against_libm);
	tcase_add_test(tc, edges);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
