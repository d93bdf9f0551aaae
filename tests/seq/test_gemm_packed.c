/* The packed small-M GEMM (seq/gemm_packed.h) against cblas_sgemm: every
 * shape of a table (row blocks and partial panels at each edge, strided A,
 * op(B) stored both ways, beta 0 and 1), with both kernels; the packed
 * layout itself; and bit-identical results with 1 and 2 OpenMP threads. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "seq/gemm_packed.h"
#include "support.h"

/* Uniform in [-1, 1) from a small LCG: the test needs no statistics. */
static void fill(float *x, size_t n, uint64_t seed)
{
	uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
	for (size_t i = 0; i < n; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		x[i] = (float)((s >> 40) & 0xffffff) / 8388608.0f - 1.0f;
	}
}

/* The padding of C (columns past n, up to ldc) must never change. */
static const float SENTINEL = 12345.0f;

/* One product C[m, n] = A[m, k] op(B) + beta C with the current kernel,
 * compared with cblas_sgemm. A has row stride k + 3, C has n + 5; with
 * beta == 0, C starts as NaN (the kernel must not read it). Returns whether
 * it matched. */
static bool check_case(size_t m, size_t n, size_t k, bool tb, float beta, uint64_t seed)
{
	size_t lda = k + 3, ldb = tb ? k : n, ldc = n + 5;
	float *a = malloc(m * lda * sizeof *a), *b = malloc(k * n * sizeof *b);
	float *bp = malloc(seqc_packed_floats(k, n) * sizeof *bp);
	float *c = malloc(m * ldc * sizeof *c), *ref = malloc(m * ldc * sizeof *ref);
	float *absa = malloc(m * lda * sizeof *absa), *absb = malloc(k * n * sizeof *absb);
	float *bound = malloc(m * ldc * sizeof *bound);
	ck_assert(a && b && bp && c && ref && absa && absb && bound);
	fill(a, m * lda, seed);
	fill(b, k * n, seed + 1);
	fill(ref, m * ldc, seed + 2);
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < ldc; j++) {
			float *r = ref + i * ldc + j;
			*r = j >= n ? SENTINEL : *r;
			c[i * ldc + j] = j < n && beta == 0.0f ? NAN : *r;
		}
	for (size_t i = 0; i < m * lda; i++)
		absa[i] = fabsf(a[i]);
	for (size_t i = 0; i < k * n; i++)
		absb[i] = fabsf(b[i]);

	seqc_pack(b, ldb, tb, k, n, bp);
	seqc_gemm_packed(m, n, k, a, lda, bp, beta, c, ldc);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m,
		    (blasint)n, (blasint)k, 1.0f, a, (blasint)lda, b, (blasint)ldb, beta, ref,
		    (blasint)ldc);
	/* Rounding of a k-term sum scales with sum |a_i b_i| rather than with
	 * the result, which may cancel to ~0: the tolerance is 1e-6 of the
	 * largest |A| |op(B)| element (both sums are in float; typical
	 * differences are a few 1e-7 of it). */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m,
		    (blasint)n, (blasint)k, 1.0f, absa, (blasint)lda, absb, (blasint)ldb, 0.0f, bound,
		    (blasint)ldc);
	float scale = 0.0f;
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++)
			scale = fmaxf(scale, bound[i * ldc + j]);
	char what[160];
	snprintf(what, sizeof what, "m %zu n %zu k %zu tb %d beta %g (%s kernel)", m, n, k, tb,
		 (double)beta, seqc_gemm_packed_fast() ? "avx2" : "portable");
	/* the whole of C, padding included: a partial store past n changes a
	 * sentinel, which allclose reports like any other element */
	bool ok = allclose(c, ref, m * ldc, 1e-5f, 1e-6f * scale + 1e-7f, what);
	free(a);
	free(b);
	free(bp);
	free(c);
	free(ref);
	free(absa);
	free(absb);
	free(bound);
	return ok;
}

static const size_t MS[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 32, 50 };
static const size_t NS[] = { 1, 15, 16, 17, 33, 512, 2048 };
static const size_t KS[] = { 1, 7, 512 };
#define LEN(x) (sizeof(x) / sizeof((x)[0]))

/* The whole table with the kernel in use; returns the number of failures. */
static int run_table(void)
{
	int failures = 0;
	uint64_t seed = 1;
	for (size_t im = 0; im < LEN(MS); im++)
		for (size_t in = 0; in < LEN(NS); in++)
			for (size_t ik = 0; ik < LEN(KS); ik++)
				for (int tb = 0; tb < 2; tb++)
					for (int bt = 0; bt < 2; bt++)
						failures += !check_case(MS[im], NS[in], KS[ik], tb,
									(float)bt, seed++);
	return failures;
}

START_TEST(avx2_kernel)
{
	seqc_gemm_packed_force_portable(false);
	if (!seqc_gemm_packed_fast())
		fprintf(stderr, "gemm_packed: this CPU has no AVX2 + FMA; the table runs on the "
				"portable kernel twice\n");
	ck_assert_int_eq(run_table(), 0);
}
END_TEST

START_TEST(portable_kernel)
{
	seqc_gemm_packed_force_portable(true);
	ck_assert(!seqc_gemm_packed_fast());
	int failures = run_table();
	seqc_gemm_packed_force_portable(false);
	ck_assert_int_eq(failures, 0);
}
END_TEST

/* Other values of beta, and k larger than one pass over C (the kernel's k
 * blocking adds the later passes onto the first). */
START_TEST(beta_and_long_k)
{
	for (int portable = 0; portable < 2; portable++) {
		seqc_gemm_packed_force_portable(portable);
		ck_assert(check_case(13, 40, 2048, false, 0.5f, 7));
		ck_assert(check_case(6, 33, 1000, true, -2.0f, 8));
		ck_assert(check_case(32, 2048, 512, true, 0.25f, 9));
	}
	seqc_gemm_packed_force_portable(false);
}
END_TEST

/* k == 0 is an empty sum: C = beta C, and zeros (not NaN) for beta 0. */
START_TEST(empty_k)
{
	float c[6] = { NAN, NAN, NAN, 1.0f, 2.0f, 3.0f };
	seqc_gemm_packed(1, 3, 0, NULL, 0, NULL, 0.0f, c, 3);
	seqc_gemm_packed(1, 3, 0, NULL, 0, NULL, 2.0f, c + 3, 3);
	const float want[6] = { 0, 0, 0, 2, 4, 6 };
	ck_assert(allclose(c, want, 6, 0, 0, "k = 0"));
}
END_TEST

/* The documented layout: panel p, row kk at p*k*16 + kk*16, zero padding. */
START_TEST(layout)
{
	size_t k = 3, n = 20;
	ck_assert_uint_eq(seqc_packed_floats(k, n), 2 * 16 * k);
	ck_assert_uint_eq(seqc_packed_floats(5, 16), 16 * 5);
	ck_assert_uint_eq(seqc_packed_floats(5, 17), 32 * 5);
	float b[3 * 20], bt[20 * 3], p1[2 * 16 * 3], p2[2 * 16 * 3];
	for (size_t kk = 0; kk < k; kk++)
		for (size_t j = 0; j < n; j++) {
			b[kk * n + j] = (float)(100 * kk + j + 1);
			bt[j * k + kk] = b[kk * n + j];
		}
	seqc_pack(b, n, false, k, n, p1);
	seqc_pack(bt, k, true, k, n, p2);
	for (size_t p = 0; p < 2; p++)
		for (size_t kk = 0; kk < k; kk++)
			for (size_t j = 0; j < 16; j++) {
				size_t col = p * 16 + j;
				float want = col < n ? b[kk * n + col] : 0.0f;
				ck_assert_float_eq(p1[p * k * 16 + kk * 16 + j], want);
				ck_assert_float_eq(p2[p * k * 16 + kk * 16 + j], want);
			}
}
END_TEST

/* Threads split panels, never sums: 1 and 2 threads give the same bits. */
START_TEST(thread_count_invariant)
{
#ifdef _OPENMP
	static const size_t shapes[][3] = { { 32, 2048, 512 }, { 32, 512, 2048 }, { 50, 512, 128 },
					    { 7, 33, 4096 },   { 50, 2047, 300 } };
	int saved = omp_get_max_threads();
	for (int portable = 0; portable < 2; portable++) {
		seqc_gemm_packed_force_portable(portable);
		for (size_t s = 0; s < LEN(shapes); s++) {
			size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
			float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b);
			float *bp = malloc(seqc_packed_floats(k, n) * sizeof *bp);
			float *c1 = malloc(m * n * sizeof *c1), *c2 = malloc(m * n * sizeof *c2);
			ck_assert(a && b && bp && c1 && c2);
			fill(a, m * k, 100 + s);
			fill(b, k * n, 200 + s);
			fill(c1, m * n, 300 + s);
			memcpy(c2, c1, m * n * sizeof *c1);
			seqc_pack(b, n, false, k, n, bp);
			omp_set_num_threads(1);
			seqc_gemm_packed(m, n, k, a, k, bp, 1.0f, c1, n);
			omp_set_num_threads(2);
			seqc_gemm_packed(m, n, k, a, k, bp, 1.0f, c2, n);
			ck_assert_msg(!memcmp(c1, c2, m * n * sizeof *c1),
				      "m %zu n %zu k %zu: 1 and 2 threads differ (%s kernel)", m, n, k,
				      portable ? "portable" : "avx2");
			free(a);
			free(b);
			free(bp);
			free(c1);
			free(c2);
		}
	}
	omp_set_num_threads(saved);
	seqc_gemm_packed_force_portable(false);
#else
	fprintf(stderr, "gemm_packed: built without OpenMP, nothing to compare\n");
#endif
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gemm_packed");
	TCase *tc = tcase_create("gemm_packed");
	tcase_add_test(tc, layout);
	tcase_add_test(tc, empty_k);
	tcase_add_test(tc, avx2_kernel);
	tcase_add_test(tc, portable_kernel);
	tcase_add_test(tc, beta_and_long_k);
	tcase_add_test(tc, thread_count_invariant);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
