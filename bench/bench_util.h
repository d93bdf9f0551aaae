/* What the model benchmarks share: a monotonic clock and the machine's
 * practical fp32 peak (sgemm on large matrices), against which model FLOPs
 * utilization is reported. Header-only: each benchmark is one program. */
#ifndef SEQC_BENCH_UTIL_H
#define SEQC_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

#include <cblas.h>

static inline double bench_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* sgemm at n = 2048 in GFLOP/s, best of 8 after a warm-up (the first calls
 * pay for starting threads and faulting pages in). */
static inline double bench_sgemm_peak(void)
{
	size_t n = 2048;
	float *a = calloc(n * n, sizeof *a), *b = calloc(n * n, sizeof *b), *c = calloc(n * n, sizeof *c);
	double best = 0;
	if (!a || !b || !c)
		goto done;
	for (size_t i = 0; i < n * n; i++)
		a[i] = b[i] = (float)(i % 7) * 0.1f;
	for (int r = -2; r < 8; r++) {
		double t0 = bench_now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)n, (blasint)n, (blasint)n,
			    1.0f, a, (blasint)n, b, (blasint)n, 0.0f, c, (blasint)n);
		double g = 2.0 * n * n * n / (bench_now() - t0) / 1e9;
		best = r >= 0 && g > best ? g : best;
	}
done:
	free(a);
	free(b);
	free(c);
	return best;
}

#endif
