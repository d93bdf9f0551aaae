/* The RNG: reproducible per seed and stream, streams independent, and the
 * derived draws (below, uniform, normal) in range with the right moments. */
#include <math.h>

#include "common.h"

enum { DRAWS = 100000 };

/* PCG32 (XSH RR, 64-bit LCG) seeded as the reference pcg32_srandom(42, 54)
 * starts with these outputs: the generator is the published one. */
START_TEST(test_pcg32_reference)
{
	static const uint32_t want[6] = { 0xa15c02b7, 0x7b47f409, 0xba1d3330,
					  0x83d2f293, 0xbfa4784b, 0xcbed606e };
	seqc_rng rng;
	seqc_rng_seed(&rng, 42, 54);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(seqc_rng_u32(&rng), want[i]);
}
END_TEST

START_TEST(test_same_seed_same_sequence)
{
	seqc_rng a, b;
	seqc_rng_seed(&a, 123, SEQC_STREAM_DATA);
	seqc_rng_seed(&b, 123, SEQC_STREAM_DATA);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(seqc_rng_u32(&a), seqc_rng_u32(&b));
	/* The state is a plain value: a copy continues the same sequence. */
	seqc_rng saved = a;
	uint32_t next[10];
	for (int i = 0; i < 10; i++)
		next[i] = seqc_rng_u32(&a);
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(seqc_rng_u32(&saved), next[i]);
}
END_TEST

/* Streams of one seed, and seeds of one stream, give unrelated sequences:
 * position-wise matches are as rare as chance (1 in 2^32). */
START_TEST(test_streams_and_seeds_differ)
{
	const uint64_t streams[4] = { SEQC_STREAM_INIT, SEQC_STREAM_DROPOUT, SEQC_STREAM_SAMPLE,
				      SEQC_STREAM_DATA };
	for (int s = 0; s < 4; s++)
		for (int t = s + 1; t < 4; t++) {
			seqc_rng a, b;
			seqc_rng_seed(&a, 7, streams[s]);
			seqc_rng_seed(&b, 7, streams[t]);
			int same = 0;
			for (int i = 0; i < 1000; i++)
				same += seqc_rng_u32(&a) == seqc_rng_u32(&b);
			ck_assert_int_le(same, 1);
		}
	seqc_rng a, b;
	seqc_rng_seed(&a, 1, SEQC_STREAM_INIT);
	seqc_rng_seed(&b, 2, SEQC_STREAM_INIT);
	int same = 0;
	for (int i = 0; i < 1000; i++)
		same += seqc_rng_u32(&a) == seqc_rng_u32(&b);
	ck_assert_int_le(same, 1);
}
END_TEST

/* below(n) stays in [0, n) and is uniform: chi-square over 10 bins with 9
 * degrees of freedom stays under 40 (p ~ 1e-5 for a fair generator). */
START_TEST(test_below)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 99, SEQC_STREAM_SAMPLE);
	/* Counted, not asserted per draw: a ck_assert costs a write to
	 * Check's pipe in fork mode. */
	size_t count[10] = { 0 }, outside = 0;
	for (int i = 0; i < DRAWS; i++) {
		uint32_t r = seqc_rng_below(&rng, 10);
		if (r < 10)
			count[r]++;
		else
			outside++;
	}
	ck_assert_uint_eq(outside, 0);
	double chi2 = 0, expect = DRAWS / 10.0;
	for (int k = 0; k < 10; k++)
		chi2 += (count[k] - expect) * (count[k] - expect) / expect;
	ck_assert_msg(chi2 < 40, "chi-square %g over 10 bins", chi2);

	/* n = 1 always gives 0; n = 0 breaks the contract but must not crash. */
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(seqc_rng_below(&rng, 1), 0);
	ck_assert_uint_eq(seqc_rng_below(&rng, 0), 0);

	/* A bound above 2^31, where rejection matters most: in range, and both
	 * halves of it are reached. */
	const uint32_t big = 3000000000u;
	int high = 0;
	for (int i = 0; i < 10000; i++) {
		uint32_t r = seqc_rng_below(&rng, big);
		outside += r >= big;
		high += r >= big / 2;
	}
	ck_assert_uint_eq(outside, 0);
	ck_assert_int_gt(high, 4500);
	ck_assert_int_lt(high, 5500);
}
END_TEST

/* uniform() in [0, 1) with mean 1/2 and variance 1/12. */
START_TEST(test_uniform)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 5, SEQC_STREAM_DATA);
	double s = 0, s2 = 0;
	float lo = 1, hi = 0;
	for (int i = 0; i < DRAWS; i++) {
		float u = seqc_rng_uniform(&rng);
		lo = fminf(lo, u);
		hi = fmaxf(hi, u);
		s += u;
		s2 += (double)u * u;
	}
	double mean = s / DRAWS, var = s2 / DRAWS - mean * mean;
	/* Standard error of the mean: sqrt(1/12 / 1e5) = 0.0009. */
	ck_assert_double_lt(fabs(mean - 0.5), 0.005);
	ck_assert_double_lt(fabs(var - 1.0 / 12), 0.002);
	ck_assert_float_ge(lo, 0.0f);
	ck_assert_float_lt(hi, 1.0f);
	ck_assert_float_lt(lo, 1e-3f);
	ck_assert_float_gt(hi, 1 - 1e-3f);
}
END_TEST

/* normal(): mean ~0 and std ~1 over 1e5 draws (standard errors 0.0032 and
 * 0.0022), and the share within one std near 0.6827. */
START_TEST(test_normal)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 17, SEQC_STREAM_INIT);
	double s = 0, s2 = 0;
	int inside = 0;
	for (int i = 0; i < DRAWS; i++) {
		float z = seqc_rng_normal(&rng);
		s += z;
		s2 += (double)z * z;
		inside += fabsf(z) < 1.0f;
	}
	double mean = s / DRAWS, std = sqrt(s2 / DRAWS - mean * mean);
	ck_assert(isfinite(mean) && isfinite(std));
	ck_assert_msg(fabs(mean) < 0.016, "mean %g", mean);
	ck_assert_msg(fabs(std - 1) < 0.011, "std %g", std);
	double frac = (double)inside / DRAWS;
	ck_assert_msg(fabs(frac - 0.6827) < 0.008, "share within 1 std %g", frac);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seq_rng");
	TCase *tc = tcase_create("rng");
	tcase_add_test(tc, test_pcg32_reference);
	tcase_add_test(tc, test_same_seed_same_sequence);
	tcase_add_test(tc, test_streams_and_seeds_differ);
	tcase_add_test(tc, test_below);
	tcase_add_test(tc, test_uniform);
	tcase_add_test(tc, test_normal);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
