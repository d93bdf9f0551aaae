/* Vectorizable exp, sigmoid and tanh for the hot elementwise loops.
 *
 * libm's expf/tanhf are calls the compiler cannot vectorize (without
 * -ffast-math), and in a recurrent gate loop they cost more than the GEMMs.
 * These are plain float arithmetic that GCC turns into SIMD code:
 *   exp: x = n ln2 + r (Cody-Waite split of ln2, |r| <= ln2/2), exp(r) by its
 *        Taylor series to r^7 (truncation < 6e-9 relative), times 2^n built
 *        in the exponent bits; within 2 ulp of expf over [-87, 88].
 *   sigmoid: 1 / (1 + exp(-x)).
 *   tanh: odd; x - x^3/3 + 2x^5/15 - 17x^7/315 for |x| < 0.1 (where the
 *        formula below would lose relative precision), else
 *        1 - 2 / (exp(2|x|) + 1); within 1e-6 relative of tanhf.
 *   gelu (tanh form) 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3):
 *        since 0.5 (1 + tanh(u)) = sigmoid(2u), x sigmoid(2u), one exp and
 *        no cancellation in 1 + tanh(u) for negative u; its derivative
 *        s + 2 x s (1 - s) u'(x) with s = sigmoid(2u) (1 - tanh^2 = 4s(1-s)),
 *        within 2e-7 absolute of the formula in double (tanhf: 5e-7).
 * Loops over them vectorize only with -fno-trapping-math, which the build
 * sets (seqc never traps on floating-point exceptions).
 * Private to the library; tests compare them with libm. */
#ifndef SEQC_SEQ_FASTMATH_H
#define SEQC_SEQ_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* Hot loops over these functions, cloned for AVX2 (8 lanes instead of
 * SSE2's 4) with a baseline fallback chosen at load time. Put it on a
 * function holding a plain loop, not an OpenMP region (the outlined region
 * would not inherit the target). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__AVX2__)
#define SEQC_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SEQC_SIMD_CLONES
#endif

static inline float seqc_fast_exp(float x)
{
	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	/* n = round(x / ln2) by the 1.5 * 2^23 trick: branch-free, so the loop
	 * vectorizes (|x / ln2| < 2^22 after the clamp) */
	float t = x * 1.44269504088896341f;
	float fn = (t + 12582912.0f) - 12582912.0f;
	int32_t n = (int32_t)(fn == fn ? fn : 0.0f); /* NaN: no undefined conversion */
	/* ln2 = 0.693359375 - 2.12194440e-4, the first part exact in float */
	float r = (x - fn * 0.693359375f) + fn * 2.12194440e-4f;
	float p = 1.0f / 5040.0f;
	p = p * r + 1.0f / 720.0f;
	p = p * r + 1.0f / 120.0f;
	p = p * r + 1.0f / 24.0f;
	p = p * r + 1.0f / 6.0f;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	uint32_t bits = (uint32_t)(n + 127) << 23;
	float scale;
	memcpy(&scale, &bits, sizeof scale);
	return p * scale;
}

static inline float seqc_fast_sigmoid(float x)
{
	return 1.0f / (1.0f + seqc_fast_exp(-x));
}

static inline float seqc_fast_tanh(float x)
{
	float a = x < 0.0f ? -x : x;
	float x2 = x * x;
	float small = x * (1.0f + x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f + x2 * (-17.0f / 315.0f))));
	float large = 1.0f - 2.0f / (seqc_fast_exp(2.0f * a) + 1.0f);
	large = x < 0.0f ? -large : large;
	return a < 0.1f ? small : large;
}

/* Sums over a row kept in SEQC_LANES partial accumulators: one float
 * accumulator is a serial chain under strict IEEE order, which the compiler
 * may not vectorize; SEQC_LANES independent ones it can (and they round
 * less than one chain). seqc_lanes_sum adds the partial sums up. */
#define SEQC_LANES 8

static inline float seqc_lanes_sum(const float *part)
{
	float s = 0.0f;
	for (int l = 0; l < SEQC_LANES; l++)
		s += part[l];
	return s;
}

#define SEQC_GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define SEQC_GELU_C 0.044715f

static inline float seqc_fast_gelu_tanh(float x)
{
	float u = SEQC_GELU_K * (x + SEQC_GELU_C * x * x * x);
	return x / (1.0f + seqc_fast_exp(-2.0f * u));
}

static inline float seqc_fast_gelu_tanh_grad(float x)
{
	float x2 = x * x;
	float u = SEQC_GELU_K * (x + SEQC_GELU_C * x2 * x);
	/* s (1 - s) as (e s) s: 1 - s would cancel where s is near 1; e s <= 1
	 * first, as e alone may be near FLT_MAX */
	float e = seqc_fast_exp(-2.0f * u);
	float s = 1.0f / (1.0f + e);
	float ds = (e * s) * s;
	return s + 2.0f * x * ds * SEQC_GELU_K * (1.0f + 3.0f * SEQC_GELU_C * x2);
}

#endif
