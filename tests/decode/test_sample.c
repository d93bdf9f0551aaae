/* The sampler (decode/sample.h): temperature 0 is the argmax (the first on
 * ties), a seed reproduces a sequence, top-k and top-p keep what they
 * should, the frequencies at temperature 1 (and with filters, renormalized)
 * match the probabilities, and bad configurations and logits are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static seqc_sampler make(float temperature, size_t top_k, float top_p, uint64_t seed)
{
	seqc_sampler s;
	seqc_sampler_config c = seqc_sampler_defaults();
	c.temperature = temperature;
	c.top_k = top_k;
	c.top_p = top_p;
	ck_assert_msg(seqc_sampler_init(&s, &c, seed) == 0, "T %g k %zu p %g: %s", (double)temperature, top_k,
		      (double)top_p, seqc_errmsg());
	return s;
}

static void random_logits(float *x, size_t n, uint64_t seed)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, 11);
	for (size_t i = 0; i < n; i++)
		x[i] = 4.0f * seqc_rng_normal(&rng);
}

static int32_t argmax(const float *x, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return (int32_t)best;
}

START_TEST(test_defaults)
{
	seqc_sampler_config c = seqc_sampler_defaults();
	ck_assert_float_eq(c.temperature, 1.0f);
	ck_assert_uint_eq(c.top_k, 0);
	ck_assert_float_eq(c.top_p, 1.0f);
	seqc_sampler s;
	ck_assert_int_eq(seqc_sampler_init(&s, &c, 0), 0);
	seqc_sampler_free(&s);
	/* free of a freed (zeroed) sampler is harmless */
	seqc_sampler_free(&s);
}
END_TEST

START_TEST(test_greedy)
{
	seqc_sampler s = make(0.0f, 0, 1.0f, 1);
	const float ties[5] = { 1.0f, 3.0f, -2.0f, 3.0f, 0.5f };
	for (int k = 0; k < 10; k++)
		ck_assert_int_eq(seqc_sample(&s, ties, 5), 1);
	const float neg[3] = { -5.0f, -7.0f, -5.0f };
	ck_assert_int_eq(seqc_sample(&s, neg, 3), 0);
	const float with_inf[3] = { -INFINITY, 0.0f, -INFINITY };
	ck_assert_int_eq(seqc_sample(&s, with_inf, 3), 1);
	float x[100];
	for (uint64_t seed = 0; seed < 20; seed++) {
		random_logits(x, 100, seed);
		ck_assert_int_eq(seqc_sample(&s, x, 100), argmax(x, 100));
	}
	seqc_sampler_free(&s);

	/* a temperature so small that 1 / T overflows still picks the argmax */
	s = make(1e-40f, 0, 1.0f, 1);
	for (uint64_t seed = 0; seed < 20; seed++) {
		random_logits(x, 100, seed);
		ck_assert_int_eq(seqc_sample(&s, x, 100), argmax(x, 100));
	}
	seqc_sampler_free(&s);
}
END_TEST

static void draw(seqc_sampler *s, const float *logits, size_t V, int32_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[i] = seqc_sample(s, logits, V);
		ck_assert_msg(out[i] >= 0 && (size_t)out[i] < V, "draw %zu: %d (%s)", i, out[i], seqc_errmsg());
	}
}

START_TEST(test_seed)
{
	float x[50];
	random_logits(x, 50, 3);
	for (size_t i = 0; i < 50; i++)
		x[i] *= 0.2f; /* flat enough that draws vary */
	int32_t a[200], b[200], c[200];
	seqc_sampler s1 = make(1.0f, 0, 1.0f, 42), s2 = make(1.0f, 0, 1.0f, 42), s3 = make(1.0f, 0, 1.0f, 43);
	draw(&s1, x, 50, a, 200);
	draw(&s2, x, 50, b, 200);
	draw(&s3, x, 50, c, 200);
	ck_assert_mem_eq(a, b, sizeof a);
	ck_assert_msg(memcmp(a, c, sizeof a) != 0, "seeds 42 and 43 gave the same 200 draws");
	/* and the same holds with filters (the sort must not disturb it) */
	seqc_sampler f1 = make(0.7f, 10, 0.9f, 5), f2 = make(0.7f, 10, 0.9f, 5);
	draw(&f1, x, 50, a, 200);
	draw(&f2, x, 50, b, 200);
	ck_assert_mem_eq(a, b, sizeof a);
	seqc_sampler_free(&s1);
	seqc_sampler_free(&s2);
	seqc_sampler_free(&s3);
	seqc_sampler_free(&f1);
	seqc_sampler_free(&f2);
}
END_TEST

START_TEST(test_top_k)
{
	float x[30];
	seqc_sampler k1 = make(1.5f, 1, 1.0f, 9);
	for (uint64_t seed = 0; seed < 50; seed++) {
		random_logits(x, 30, seed);
		ck_assert_int_eq(seqc_sample(&k1, x, 30), argmax(x, 30));
	}
	seqc_sampler_free(&k1);

	/* top 2 of close logits: never a third token in 10,000 draws, and
	 * both of the two come up */
	const float close[6] = { 0.1f, 1.0f, 0.9f, 0.95f, -0.3f, 0.8f };
	seqc_sampler k2 = make(1.0f, 2, 1.0f, 10);
	size_t count[6] = { 0 };
	for (int i = 0; i < 10000; i++) {
		int32_t t = seqc_sample(&k2, close, 6);
		ck_assert_int_ge(t, 0);
		count[t]++;
	}
	ck_assert_uint_eq(count[1] + count[3], 10000);
	/* renormalized over the two: p(1) = 1 / (1 + e^-0.05) = 0.5125 */
	double p1 = 1.0 / (1.0 + exp(-0.05)), sigma = sqrt(p1 * (1 - p1) / 10000);
	ck_assert_msg(fabs((double)count[1] / 10000 - p1) <= 3 * sigma, "top-2: token 1 in %zu of 10000, p %g",
		      count[1], p1);
	/* k >= V keeps everything */
	seqc_sampler_free(&k2);
	seqc_sampler all = make(1.0f, 100, 1.0f, 10);
	memset(count, 0, sizeof count);
	for (int i = 0; i < 5000; i++)
		count[seqc_sample(&all, close, 6)]++;
	for (int t = 0; t < 6; t++)
		ck_assert_msg(count[t] > 0, "top-k 100 of 6: token %d never drawn", t);
	seqc_sampler_free(&all);
}
END_TEST

START_TEST(test_top_p)
{
	/* probabilities 0.4, 0.3, 0.2, 0.1 (order shuffled): p 0.5 keeps the
	 * two most likely (0.4 < 0.5 <= 0.7) */
	const float logits[4] = { logf(0.2f), logf(0.4f), logf(0.1f), logf(0.3f) };
	seqc_sampler s = make(1.0f, 0, 0.5f, 4);
	size_t count[4] = { 0 }, n = 20000;
	for (size_t i = 0; i < n; i++)
		count[seqc_sample(&s, logits, 4)]++;
	ck_assert_uint_eq(count[0], 0);
	ck_assert_uint_eq(count[2], 0);
	ck_assert_uint_eq(count[1] + count[3], n);
	double p = 0.4 / 0.7, sigma = sqrt(p * (1 - p) / (double)n);
	ck_assert_msg(fabs((double)count[1] / (double)n - p) <= 3 * sigma, "top-p: token 1 in %zu of %zu, p %g",
		      count[1], n, p);
	seqc_sampler_free(&s);

	/* p 0.3: the first alone already reaches it */
	s = make(1.0f, 0, 0.3f, 4);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(seqc_sample(&s, logits, 4), 1);
	seqc_sampler_free(&s);
	/* p 0.75: three tokens (0.7 < 0.75 <= 0.9) */
	s = make(1.0f, 0, 0.75f, 4);
	memset(count, 0, sizeof count);
	for (int i = 0; i < 5000; i++)
		count[seqc_sample(&s, logits, 4)]++;
	ck_assert_uint_eq(count[2], 0);
	ck_assert(count[0] > 0 && count[1] > 0 && count[3] > 0);
	seqc_sampler_free(&s);
	/* top-k then top-p of the renormalized k: with k 2 the two keep
	 * 0.4 / 0.7 = 0.57 and 0.43, so p 0.5 keeps the first alone (of the
	 * whole distribution, 0.4 < 0.5 would have kept two) */
	s = make(1.0f, 2, 0.5f, 4);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(seqc_sample(&s, logits, 4), 1);
	seqc_sampler_free(&s);
	/* k 3, p 0.8: 0.44, 0.78, 1.0 of the three: all three kept */
	s = make(1.0f, 3, 0.8f, 4);
	memset(count, 0, sizeof count);
	for (int i = 0; i < 5000; i++)
		count[seqc_sample(&s, logits, 4)]++;
	ck_assert_uint_eq(count[2], 0);
	ck_assert(count[0] > 0 && count[1] > 0 && count[3] > 0);
	seqc_sampler_free(&s);
}
END_TEST

/* Empirical frequencies against softmax(logits / T), each within 3 sigma
 * of the binomial count. */
static void check_frequencies(float temperature, const float *logits, size_t V, size_t n, uint64_t seed)
{
	seqc_sampler s = make(temperature, 0, 1.0f, seed);
	size_t *count = calloc(V, sizeof *count);
	for (size_t i = 0; i < n; i++) {
		int32_t t = seqc_sample(&s, logits, V);
		ck_assert_int_ge(t, 0);
		count[t]++;
	}
	double max = logits[argmax(logits, V)], z = 0;
	for (size_t i = 0; i < V; i++)
		z += exp(((double)logits[i] - max) / temperature);
	for (size_t i = 0; i < V; i++) {
		double p = exp(((double)logits[i] - max) / temperature) / z;
		double sigma = sqrt(p * (1 - p) / (double)n);
		ck_assert_msg(fabs((double)count[i] / (double)n - p) <= 3 * sigma + 1e-12,
			      "T %g: token %zu drawn %zu of %zu times, p %.5f (%.2f sigma)", (double)temperature, i,
			      count[i], n, p, fabs((double)count[i] / (double)n - p) / sigma);
	}
	free(count);
	seqc_sampler_free(&s);
}

START_TEST(test_frequencies)
{
	const float logits[6] = { 0.5f, -1.0f, 2.0f, 0.0f, 1.2f, -3.0f };
	check_frequencies(1.0f, logits, 6, 100000, 2024);
	check_frequencies(0.5f, logits, 6, 100000, 7);
	check_frequencies(2.0f, logits, 6, 100000, 8);
}
END_TEST

START_TEST(test_invalid)
{
	seqc_sampler s;
	const struct {
		float t, p;
	} bad[] = {
		{ -1.0f, 1.0f }, { NAN, 1.0f },  { INFINITY, 1.0f }, { -0.0001f, 1.0f },
		{ 1.0f, 0.0f },  { 1.0f, 1.5f }, { 1.0f, NAN },      { 1.0f, -0.2f },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		seqc_sampler_config c = seqc_sampler_defaults();
		c.temperature = bad[i].t;
		c.top_p = bad[i].p;
		ck_assert_msg(seqc_sampler_init(&s, &c, 1) == SEQC_EINVAL, "temperature %g top-p %g accepted",
			      (double)bad[i].t, (double)bad[i].p);
		ck_assert_msg(strstr(seqc_errmsg(), bad[i].t == 1.0f ? "top-p" : "temperature"), "message: %s",
			      seqc_errmsg());
	}
	/* bad logits: an empty vocabulary, NaN anywhere, +inf */
	s = make(1.0f, 0, 1.0f, 1);
	const float one[1] = { 0.0f };
	ck_assert_int_lt(seqc_sample(&s, one, 0), 0);
	const float nan_first[3] = { NAN, 0.0f, 1.0f }, nan_mid[3] = { 0.0f, NAN, 1.0f };
	const float pinf[3] = { 0.0f, INFINITY, 1.0f }, all_ninf[2] = { -INFINITY, -INFINITY };
	ck_assert_int_eq(seqc_sample(&s, nan_first, 3), SEQC_ENONFINITE);
	ck_assert_int_eq(seqc_sample(&s, nan_mid, 3), SEQC_ENONFINITE);
	ck_assert_int_eq(seqc_sample(&s, pinf, 3), SEQC_ENONFINITE);
	ck_assert_int_eq(seqc_sample(&s, all_ninf, 2), SEQC_ENONFINITE);
	seqc_sampler_free(&s);
	s = make(0.0f, 0, 1.0f, 1);
	ck_assert_int_lt(seqc_sample(&s, one, 0), 0);
	ck_assert_int_eq(seqc_sample(&s, nan_first, 3), SEQC_ENONFINITE);
	ck_assert_int_eq(seqc_sample(&s, nan_mid, 3), SEQC_ENONFINITE);
	seqc_sampler_free(&s);
	/* and after a refusal the sampler still works */
	s = make(1.0f, 2, 1.0f, 1);
	ck_assert_int_eq(seqc_sample(&s, nan_mid, 3), SEQC_ENONFINITE);
	const float ok[3] = { 0.0f, 5.0f, 4.0f };
	int32_t t = seqc_sample(&s, ok, 3);
	ck_assert(t == 1 || t == 2);
	seqc_sampler_free(&s);
}
END_TEST

/* Pearson's chi-square of counts [V] (n draws) against the probabilities
 * softmax(logits / T) renormalized over the tokens where keep is true; a
 * kept token's count of 0 where p is tiny adds little, an excluded token
 * drawn fails at once. */
static double chi_square(const size_t *count, const float *logits, const bool *keep, size_t V, float T,
			 size_t n)
{
	double max = -INFINITY, z = 0, chi = 0;
	for (size_t i = 0; i < V; i++)
		if (keep[i])
			max = fmax(max, logits[i]);
	for (size_t i = 0; i < V; i++)
		z += keep[i] ? exp(((double)logits[i] - max) / T) : 0;
	for (size_t i = 0; i < V; i++) {
		if (!keep[i]) {
			ck_assert_msg(count[i] == 0, "excluded token %zu drawn %zu times", i, count[i]);
			continue;
		}
		double e = (double)n * exp(((double)logits[i] - max) / T) / z;
		chi += ((double)count[i] - e) * ((double)count[i] - e) / e;
	}
	return chi;
}

/* 20,000 draws with a fixed seed (so the test is deterministic) against
 * the distribution the options leave, at the 0.001 level: the critical
 * values of chi-square for 1 to 5 degrees of freedom. */
static const double CHI_001[6] = { 0, 10.828, 13.816, 16.266, 18.467, 20.515 };

static double draw_chi_square(seqc_sampler_config c, const float *logits, const bool *keep, size_t V,
			      uint64_t seed, float T_expected)
{
	seqc_sampler s;
	ck_assert_int_eq(seqc_sampler_init(&s, &c, seed), 0);
	size_t count[6] = { 0 }, n = 20000;
	for (size_t i = 0; i < n; i++) {
		int32_t t = seqc_sample(&s, logits, V);
		ck_assert(t >= 0 && (size_t)t < V);
		count[t]++;
	}
	seqc_sampler_free(&s);
	return chi_square(count, logits, keep, V, T_expected, n);
}

START_TEST(test_chi_square)
{
	/* probabilities at T 1: 0.120 0.027 0.536 0.073 0.241 0.004 */
	const float logits[6] = { 0.5f, -1.0f, 2.0f, 0.0f, 1.2f, -3.0f };
	const bool all[6] = { 1, 1, 1, 1, 1, 1 };
	seqc_sampler_config c = seqc_sampler_defaults();
	double chi = draw_chi_square(c, logits, all, 6, 31, 1.0f);
	ck_assert_msg(chi < CHI_001[5], "T 1: chi-square %g", chi);
	c.temperature = 0.7f;
	chi = draw_chi_square(c, logits, all, 6, 32, 0.7f);
	ck_assert_msg(chi < CHI_001[5], "T 0.7: chi-square %g", chi);
	/* the test has power: T 0.7 draws are far from T 1 */
	chi = draw_chi_square(c, logits, all, 6, 32, 1.0f);
	ck_assert_msg(chi > CHI_001[5], "T 0.7 passed as T 1: chi-square %g", chi);
	/* top-k 3: tokens 2, 4, 0 */
	c = seqc_sampler_defaults();
	c.top_k = 3;
	const bool k3[6] = { 1, 0, 1, 0, 1, 0 };
	chi = draw_chi_square(c, logits, k3, 6, 33, 1.0f);
	ck_assert_msg(chi < CHI_001[2], "top-k 3: chi-square %g", chi);
	/* top-p 0.8: 0.536 + 0.241 = 0.777 < 0.8 <= 0.897 with token 0 */
	c = seqc_sampler_defaults();
	c.top_p = 0.8f;
	chi = draw_chi_square(c, logits, k3, 6, 34, 1.0f);
	ck_assert_msg(chi < CHI_001[2], "top-p 0.8: chi-square %g", chi);
	/* min-p 0.1: p >= 0.0536 keeps 2, 4, 0 and 3 (0.073) */
	c = seqc_sampler_defaults();
	c.min_p = 0.1f;
	const bool p10[6] = { 1, 0, 1, 1, 1, 0 };
	chi = draw_chi_square(c, logits, p10, 6, 35, 1.0f);
	ck_assert_msg(chi < CHI_001[3], "min-p 0.1: chi-square %g", chi);
	/* min-p after temperature: at T 2 the probabilities flatten to 0.168
	 * 0.079 0.355 0.131 0.238 0.029, and min-p 0.3 keeps those >= 0.107:
	 * 2, 4, 0, 3 */
	c.temperature = 2.0f;
	c.min_p = 0.3f;
	chi = draw_chi_square(c, logits, p10, 6, 36, 2.0f);
	ck_assert_msg(chi < CHI_001[3], "T 2 min-p 0.3: chi-square %g", chi);
	/* min-p 1 keeps the most likely alone */
	c = seqc_sampler_defaults();
	c.min_p = 1.0f;
	seqc_sampler s;
	ck_assert_int_eq(seqc_sampler_init(&s, &c, 1), 0);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(seqc_sample(&s, logits, 6), 2);
	seqc_sampler_free(&s);
}
END_TEST

/* Top-k, top-p and min-p together never draw a token outside what each
 * keeps, over many random rows. */
START_TEST(test_never_excluded)
{
	seqc_sampler_config c = seqc_sampler_defaults();
	c.top_k = 8;
	c.top_p = 0.6f;
	c.min_p = 0.05f;
	seqc_sampler s;
	ck_assert_int_eq(seqc_sampler_init(&s, &c, 3), 0);
	float x[40];
	for (uint64_t seed = 0; seed < 200; seed++) {
		random_logits(x, 40, seed + 500);
		for (size_t i = 0; i < 40; i++)
			x[i] *= 0.3f;
		/* rank of each token, and the probabilities in double */
		double max = x[argmax(x, 40)], z = 0, p[40];
		for (size_t i = 0; i < 40; i++)
			z += p[i] = exp((double)x[i] - max);
		for (int d = 0; d < 50; d++) {
			int32_t t = seqc_sample(&s, x, 40);
			size_t above = 0;
			double mass = 0;
			for (size_t i = 0; i < 40; i++)
				if (p[i] > p[t]) {
					above++;
					mass += p[i];
				}
			ck_assert_msg(above < 8, "token of rank %zu drawn with top-k 8", above);
			/* the tokens before it in the top-k must not reach p alone
			 * (their mass renormalized over the top 8) */
			double top8 = 0, q[40];
			memcpy(q, p, sizeof q);
			for (int k = 0; k < 8; k++) {
				size_t b = 0;
				for (size_t i = 1; i < 40; i++)
					if (q[i] > q[b])
						b = i;
				top8 += q[b];
				q[b] = -1;
			}
			ck_assert_msg(mass / top8 < 0.6 + 1e-6, "drawn after %g of top-p 0.6", mass / top8);
			ck_assert_msg(p[t] >= 0.05 * 1.0 - 1e-7, "p %g under min-p 0.05 of p_max", p[t]);
		}
	}
	seqc_sampler_free(&s);
}
END_TEST

START_TEST(test_invalid_options)
{
	seqc_sampler s;
	seqc_sampler_config c = seqc_sampler_defaults();
	const float bad_min_p[4] = { -0.01f, 1.01f, NAN, INFINITY };
	for (size_t i = 0; i < 4; i++) {
		c.min_p = bad_min_p[i];
		ck_assert_int_eq(seqc_sampler_init(&s, &c, 1), SEQC_EINVAL);
		ck_assert_msg(strstr(seqc_errmsg(), "min-p"), "%s", seqc_errmsg());
	}
	c = seqc_sampler_defaults();
	const float bad_penalty[4] = { 0.0f, -1.0f, NAN, INFINITY };
	for (size_t i = 0; i < 4; i++) {
		c.repetition_penalty = bad_penalty[i];
		ck_assert_int_eq(seqc_sampler_init(&s, &c, 1), SEQC_EINVAL);
		ck_assert_msg(strstr(seqc_errmsg(), "repetition penalty"), "%s", seqc_errmsg());
	}
	c = seqc_sampler_defaults();
	c.min_length = 6;
	c.max_length = 5;
	ck_assert_int_eq(seqc_sampler_init(&s, &c, 1), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "min length 6 is above max length 5"), "%s", seqc_errmsg());
	/* the edges are fine: min-p 0 and 1, min length = max length, and no
	 * max length at all */
	c.max_length = 6;
	c.min_p = 1.0f;
	ck_assert_int_eq(seqc_sampler_init(&s, &c, 1), 0);
	seqc_sampler_free(&s);
	c.max_length = 0;
	c.min_p = 0.0f;
	ck_assert_int_eq(seqc_sampler_init(&s, &c, 1), 0);
	seqc_sampler_free(&s);
}
END_TEST

/* seqc_sample_next applies the processors before drawing: greedy over a
 * row where the penalty, the n-gram ban and the min length each move the
 * argmax. */
START_TEST(test_sample_next)
{
	seqc_sampler_config c = seqc_sampler_defaults();
	c.temperature = 0.0f;
	c.repetition_penalty = 4.0f;
	c.no_repeat_ngram = 2;
	c.min_length = 3;
	seqc_sampler s;
	ck_assert_int_eq(seqc_sampler_init(&s, &c, 1), 0);
	/* hist 1 2 1: penalty on 1 and 2 (3.0 -> 0.75, 2.0 -> 0.5); the tail
	 * "1" began the bigram "1 2": 2 banned; eos 0 banned (2 of 3
	 * generated). Left: 3 (1.0) beats 1 (0.75) */
	float x[5] = { 9.0f, 3.0f, 2.0f, 1.0f, 0.5f };
	const int32_t hist[3] = { 1, 2, 1 };
	ck_assert_int_eq(seqc_sample_next(&s, x, 5, hist, 3, 2, 0), 3);
	const float want[5] = { -INFINITY, 0.75f, -INFINITY, 1.0f, 0.5f };
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(x[i] == want[i], "logit %zu: %g, want %g", i, (double)x[i], (double)want[i]);
	/* three generated: eos allowed and the argmax */
	float y[5] = { 9.0f, 3.0f, 2.0f, 1.0f, 0.5f };
	ck_assert_int_eq(seqc_sample_next(&s, y, 5, hist, 3, 3, 0), 0);
	/* every token banned: refused, not a banned token */
	c.repetition_penalty = 1.0f;
	c.no_repeat_ngram = 1;
	seqc_sampler_free(&s);
	ck_assert_int_eq(seqc_sampler_init(&s, &c, 1), 0);
	float z[3] = { 1.0f, 2.0f, 3.0f };
	const int32_t every[3] = { 0, 1, 2 };
	ck_assert_int_eq(seqc_sample_next(&s, z, 3, every, 3, 5, -1), SEQC_ENONFINITE);
	seqc_sampler_free(&s);
}
END_TEST

/* The vocabulary may grow between calls (the scratch is resized). */
START_TEST(test_grow)
{
	seqc_sampler s = make(1.0f, 3, 1.0f, 1);
	float x[1000];
	for (size_t V = 2; V <= 1000; V = V * 3 + 1) {
		random_logits(x, V, V);
		int32_t t = seqc_sample(&s, x, V);
		ck_assert_msg(t >= 0 && (size_t)t < V, "V %zu: %d", V, t);
	}
	seqc_sampler_free(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("decode_sample");
	TCase *tc = tcase_create("sample");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_greedy);
	tcase_add_test(tc, test_seed);
	tcase_add_test(tc, test_top_k);
	tcase_add_test(tc, test_top_p);
	tcase_add_test(tc, test_frequencies);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_grow);
	tcase_add_test(tc, test_chi_square);
	tcase_add_test(tc, test_never_excluded);
	tcase_add_test(tc, test_invalid_options);
	tcase_add_test(tc, test_sample_next);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
