/* What the model benchmarks share: a monotonic clock and the machine's
 * practical fp32 peak (sgemm on large matrices), against which model FLOPs
 * utilization is reported. Header-only: each benchmark is one program. */
#ifndef SEQC_BENCH_UTIL_H
#define SEQC_BENCH_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The threads a parallel region gets (1 in a build without OpenMP). */
static inline int bench_threads(void)
{
#ifdef _OPENMP
	return omp_get_max_threads();
#else
	return 1;
#endif
}

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

/* The flags every model benchmark takes: --quick (1 second a
 * measurement), --seconds S, --config NAME (only that one). False after
 * printing the usage of program on a bad flag. */
static inline bool bench_args(int argc, char **argv, const char *program, double *seconds,
			      const char **only)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			*seconds = 1;
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			*seconds = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			*only = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--quick] [--seconds S] [--config NAME]\n", program);
			return false;
		}
	}
	return true;
}

/* The machine line every model benchmark starts with; returns the peak. */
static inline double bench_machine_line(void)
{
	double peak = bench_sgemm_peak();
	printf("{\"bench\":\"machine\",\"sgemm_peak_gflops\":%.1f,\"threads\":%d,\"openblas\":\"%s\","
	       "\"openblas_openmp\":%s}\n",
	       peak, bench_threads(), openblas_get_config(),
	       openblas_get_parallel() == 2 ? "true" : "false");
	return peak;
}

#endif
