/* Packed small-M GEMM (see gemm_packed.h).
 *
 * C is cut into blocks of up to MR rows by one 16-column panel. A block is
 * computed by a micro-kernel that keeps its MR x 16 sums in registers for a
 * stretch of up to KC steps of k, broadcasting one element of A per row and
 * step against the panel's 16 floats. The AVX2 kernel holds 6 x 16 sums in
 * 12 ymm registers: per step 2 panel loads and 6 broadcasts feed 12 FMAs,
 * which is what two FMA pipes can take.
 *
 * Measured on the 2-core Zen 3 at M = 32 (the LSTM 2x512 step products
 * [32, 512] x [512, 2048] and [32, 2048] x [2048, 512]): 172-176 GFLOP/s
 * against 125-139 for OpenBLAS's sgemm, whose large-matrix best here is
 * about 185. */
#include "seq/gemm_packed.h"

#include <assert.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1
#else
#define HAVE_AVX2_KERNEL 0
#endif

#define NR SEQC_PACK_NR
/* Rows per micro-kernel block. */
#define MR 6
/* Steps of k per pass over C: a panel slice of up to 128 KB stays in the
 * 512 KB L2 while every row block passes over it. Measured: slices that fit
 * L1 (KC 256) are 5-20% slower at k = 512 and 2048, as C is then written
 * twice and L2 feeds the kernel fast enough. */
#define KC 2048
/* Multiply-adds below which one thread does the product: 2^18 take about
 * 6 us on one core, and opening an OpenMP region costs about 1 us (measured
 * here), so smaller products gain little from a second thread. */
#define PAR_MIN_FMA ((size_t)1 << 18)

static bool force_portable;

size_t seqc_packed_floats(size_t k, size_t n)
{
	return (n + NR - 1) / NR * NR * k;
}

void seqc_pack(const float *b, size_t ldb, bool tb, size_t k, size_t n, float *out)
{
	size_t panels = (n + NR - 1) / NR;
#pragma omp parallel for schedule(static) if (k * n >= PAR_MIN_FMA)
	for (size_t p = 0; p < panels; p++) {
		float *dst = out + p * k * NR;
		size_t j0 = p * NR, nr = n - j0 < NR ? n - j0 : NR;
		if (tb) {
			/* column j of op(B) is row j of B */
			for (size_t j = 0; j < nr; j++) {
				const float *row = b + (j0 + j) * ldb;
				for (size_t kk = 0; kk < k; kk++)
					dst[kk * NR + j] = row[kk];
			}
			for (size_t j = nr; j < NR; j++)
				for (size_t kk = 0; kk < k; kk++)
					dst[kk * NR + j] = 0.0f;
		} else {
			for (size_t kk = 0; kk < k; kk++) {
				memcpy(dst + kk * NR, b + kk * ldb + j0, nr * sizeof(float));
				memset(dst + kk * NR + nr, 0, (NR - nr) * sizeof(float));
			}
		}
	}
}

/* A micro-kernel: C[mr, nr] = A[mr, k] P[k, 16] (first nr columns) + beta C,
 * mr <= MR, nr <= 16, P one panel slice (16 floats a step). */
typedef void (*kernel_fn)(size_t mr, size_t nr, size_t k, const float *a, size_t lda,
			  const float *p, float beta, float *c, size_t ldc);

/* The portable kernel: two rows at a time, 2 x 16 sums the compiler keeps in
 * SIMD registers of the baseline ISA. */
static void kernel_portable(size_t mr, size_t nr, size_t k, const float *a, size_t lda,
			    const float *p, float beta, float *c, size_t ldc)
{
	for (size_t i0 = 0; i0 < mr; i0 += 2) {
		size_t rows = mr - i0 < 2 ? mr - i0 : 2;
		const float *a0 = a + i0 * lda, *a1 = rows > 1 ? a0 + lda : a0;
		float s0[NR] = { 0 }, s1[NR] = { 0 };
		for (size_t kk = 0; kk < k; kk++) {
			const float *pk = p + kk * NR;
			float x0 = a0[kk], x1 = a1[kk];
			for (size_t j = 0; j < NR; j++) {
				s0[j] += x0 * pk[j];
				s1[j] += x1 * pk[j];
			}
		}
		for (size_t i = 0; i < rows; i++) {
			float *ci = c + (i0 + i) * ldc;
			const float *s = i ? s1 : s0;
			for (size_t j = 0; j < nr; j++)
				ci[j] = beta != 0.0f ? s[j] + beta * ci[j] : s[j];
		}
	}
}

#if HAVE_AVX2_KERNEL
/* Row i's two sums (columns 0-7 and 8-15) step by step; named variables
 * rather than arrays, which GCC would keep in memory. */
#define ROW_FMA(i)                                                     \
	if (R > i) {                                                   \
		__m256 x = _mm256_broadcast_ss(a##i + kk);             \
		lo##i = _mm256_fmadd_ps(x, p0, lo##i);                 \
		hi##i = _mm256_fmadd_ps(x, p1, hi##i);                 \
	}
#define ROW_STORE(i)                                                   \
	if (R > i)                                                     \
		store_row(c + i * ldc, lo##i, hi##i, beta, nr)

/* C row = (lo, hi) + beta C row, lanes j < nr only (a partial panel must not
 * touch anything past C's columns). */
__attribute__((target("avx2,fma"), always_inline)) static inline void
store_row(float *c, __m256 lo, __m256 hi, float beta, size_t nr)
{
	__m256 vb = _mm256_set1_ps(beta);
	if (nr == NR) {
		if (beta != 0.0f) {
			lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), lo);
			hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), hi);
		}
		_mm256_storeu_ps(c, lo);
		_mm256_storeu_ps(c + 8, hi);
		return;
	}
	__m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	__m256i m_lo = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr), lane);
	__m256i m_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)nr - 8), lane);
	if (beta != 0.0f) {
		lo = _mm256_fmadd_ps(vb, _mm256_maskload_ps(c, m_lo), lo);
		hi = _mm256_fmadd_ps(vb, _mm256_maskload_ps(c + 8, m_hi), hi);
	}
	_mm256_maskstore_ps(c, m_lo, lo);
	_mm256_maskstore_ps(c + 8, m_hi, hi);
}

/* R rows, R a constant after inlining so that unused rows vanish. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
avx2_rows(const size_t R, size_t nr, size_t k, const float *a, size_t lda, const float *p,
	  float beta, float *c, size_t ldc)
{
	__m256 lo0 = _mm256_setzero_ps(), hi0 = lo0, lo1 = lo0, hi1 = lo0, lo2 = lo0, hi2 = lo0;
	__m256 lo3 = lo0, hi3 = lo0, lo4 = lo0, hi4 = lo0, lo5 = lo0, hi5 = lo0;
	/* rows past R alias row 0 and are never read */
	const float *a0 = a, *a1 = R > 1 ? a + lda : a, *a2 = R > 2 ? a + 2 * lda : a;
	const float *a3 = R > 3 ? a + 3 * lda : a, *a4 = R > 4 ? a + 4 * lda : a;
	const float *a5 = R > 5 ? a + 5 * lda : a;
	for (size_t kk = 0; kk < k; kk++) {
		__m256 p0 = _mm256_loadu_ps(p + kk * NR), p1 = _mm256_loadu_ps(p + kk * NR + 8);
		ROW_FMA(0)
		ROW_FMA(1)
		ROW_FMA(2)
		ROW_FMA(3)
		ROW_FMA(4)
		ROW_FMA(5)
	}
	ROW_STORE(0);
	ROW_STORE(1);
	ROW_STORE(2);
	ROW_STORE(3);
	ROW_STORE(4);
	ROW_STORE(5);
}
#undef ROW_FMA
#undef ROW_STORE

__attribute__((target("avx2,fma"))) static void kernel_avx2(size_t mr, size_t nr, size_t k,
							    const float *a, size_t lda, const float *p,
							    float beta, float *c, size_t ldc)
{
	switch (mr) {
	case 6: avx2_rows(6, nr, k, a, lda, p, beta, c, ldc); break;
	case 5: avx2_rows(5, nr, k, a, lda, p, beta, c, ldc); break;
	case 4: avx2_rows(4, nr, k, a, lda, p, beta, c, ldc); break;
	case 3: avx2_rows(3, nr, k, a, lda, p, beta, c, ldc); break;
	case 2: avx2_rows(2, nr, k, a, lda, p, beta, c, ldc); break;
	case 1: avx2_rows(1, nr, k, a, lda, p, beta, c, ldc); break;
	default: assert(!"row block larger than MR");
	}
}

static bool cpu_has_avx2_fma(void)
{
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
static bool cpu_has_avx2_fma(void)
{
	return false;
}
#endif

bool seqc_gemm_packed_fast(void)
{
	return !force_portable && cpu_has_avx2_fma();
}

void seqc_gemm_packed_force_portable(bool portable)
{
	force_portable = portable;
}

void seqc_gemm_packed(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *bp,
		      float beta, float *c, size_t ldc)
{
	if (!m || !n)
		return;
	if (!k) {
		/* an empty sum: C = beta C (and 0, not NaN, for beta == 0) */
		for (size_t i = 0; i < m; i++)
			for (size_t j = 0; j < n; j++)
				c[i * ldc + j] = beta != 0.0f ? beta * c[i * ldc + j] : 0.0f;
		return;
	}
	kernel_fn kernel = kernel_portable;
#if HAVE_AVX2_KERNEL
	if (seqc_gemm_packed_fast())
		kernel = kernel_avx2;
#endif
	/* Rows are split into blocks as even as possible (32 rows: 6 6 5 5 5 5
	 * rather than 6 6 6 6 6 2): a block of 2 rows has too few independent
	 * sums to hide the FMA latency. */
	size_t blocks = (m + MR - 1) / MR, base = m / blocks, extra = m % blocks;
	size_t panels = (n + NR - 1) / NR;
	/* Threads split the panels, so each C element is summed by one thread
	 * in the same order whatever the thread count. */
#pragma omp parallel for schedule(static) if (m * n * k >= PAR_MIN_FMA && panels > 1)
	for (size_t pn = 0; pn < panels; pn++) {
		size_t j0 = pn * NR, nr = n - j0 < NR ? n - j0 : NR;
		const float *panel = bp + pn * k * NR;
		for (size_t k0 = 0; k0 < k; k0 += KC) {
			size_t kc = k - k0 < KC ? k - k0 : KC;
			float bk = k0 ? 1.0f : beta;
			size_t i0 = 0;
			for (size_t blk = 0; blk < blocks; blk++) {
				size_t mr = base + (blk < extra);
				kernel(mr, nr, kc, a + i0 * lda + k0, lda, panel + k0 * NR, bk,
				       c + i0 * ldc + j0, ldc);
				i0 += mr;
			}
		}
	}
}
