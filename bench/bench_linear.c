/* bench_linear: one training step of seqc_linear through the graph (reset,
 * zero the gradients, forward, backward into x, w and b) against raw
 * cblas_sgemm doing the same three products, on square matrices, plus raw
 * sgemm alone on a large product as the machine's practical peak.
 *
 * Prints one JSON line per measurement on stdout (fields in
 * bench/README.md); errors go to stderr. Timing: warm up, then time enough
 * iterations for --min-time seconds, best of --repeats. */
#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "seq/seqc.h"

#define PEAK_N 2048

static const size_t linear_sizes[] = { 128, 512, 1024 };

/* Everything one size needs, for both implementations. */
typedef struct linear_case {
	size_t n;
	seqc_graph *g;
	seqc_tensor *x;  /* [n, n] input, with gradient */
	seqc_tensor *w;  /* [n, n] weight [out, in], with gradient */
	seqc_tensor *b;  /* [n] bias, with gradient */
	float *dy;       /* [n, n] upstream gradient of y */
	/* raw sgemm buffers; x, w and dy are shared with the seqc side */
	float *y;        /* [n, n] */
	float *dx;       /* [n, n] */
	float *dw;       /* [n, n] */
	/* per-phase seconds accumulated by the step functions (--phases) */
	double phase[3];
	bool phases;
} linear_case;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fill_uniform(float *v, size_t n, seqc_rng *rng)
{
	for (size_t i = 0; i < n; i++)
		v[i] = 2.0f * seqc_rng_uniform(rng) - 1.0f;
}

/* A training step as a model would take it: the arena is rewound, the
 * gradients zeroed (the parameters' by one memset each; x stands for an
 * activation whose gradient the graph would zero when making it), then
 * y = x w^T + b and backward from y with upstream gradient dy. */
static int seqc_step(linear_case *c)
{
	double t0 = c->phases ? now() : 0;
	seqc_graph_reset(c->g);
	memset(c->x->grad, 0, c->x->numel * sizeof(float));
	memset(c->w->grad, 0, c->w->numel * sizeof(float));
	memset(c->b->grad, 0, c->b->numel * sizeof(float));
	double t1 = c->phases ? now() : 0;
	seqc_tensor *y = seqc_linear(c->g, c->x, c->w, c->b);
	if (!y)
		return -1;
	double t2 = c->phases ? now() : 0;
	if (seqc_backward_from(c->g, y, c->dy) < 0)
		return -1;
	if (c->phases) {
		double t3 = now();
		c->phase[0] += t1 - t0;
		c->phase[1] += t2 - t1;
		c->phase[2] += t3 - t2;
	}
	return 0;
}

/* The same three products with nothing around them:
 *   y [n, n] = x w^T,  dx [n, n] = dy w,  dw [n, n] = dy^T x. */
static int sgemm_step(linear_case *c)
{
	int n = (int)c->n;
	double t0 = c->phases ? now() : 0;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, c->x->val, n, c->w->val,
		    n, 0.0f, c->y, n);
	double t1 = c->phases ? now() : 0;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, c->dy, n, c->w->val, n,
		    0.0f, c->dx, n);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0f, c->dy, n, c->x->val, n,
		    0.0f, c->dw, n);
	if (c->phases) {
		double t2 = now();
		c->phase[1] += t1 - t0;
		c->phase[2] += t2 - t1;
	}
	return 0;
}

/* One large product, for the peak: y = x w^T at PEAK_N. */
static int peak_step(linear_case *c)
{
	int n = (int)c->n;
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, c->x->val, n, c->w->val,
		    n, 0.0f, c->y, n);
	return 0;
}

typedef int (*step_fn)(linear_case *c);

typedef struct timing {
	double seconds; /* best seconds per iteration */
	long iters;     /* iterations per timed batch */
} timing;

/* Warm up (at least 2 iterations and 0.1 s: caches, the arena's growth,
 * OpenBLAS's buffers and thread pool) and size a batch from the warm-up
 * rate so that it takes about min_time. */
static int calibrate(step_fn fn, linear_case *c, double min_time, timing *t)
{
	long warm = 0;
	double t0 = now(), elapsed;
	do {
		if (fn(c) < 0)
			return -1;
		warm++;
		elapsed = now() - t0;
	} while (warm < 2 || elapsed < 0.1);
	t->iters = (long)(min_time / (elapsed / (double)warm)) + 1;
	t->seconds = -1;
	return 0;
}

/* One timed batch; keeps the best per-iteration time in t (and the phases
 * of that batch). */
static int time_batch(step_fn fn, linear_case *c, timing *t, double *best_phase)
{
	memset(c->phase, 0, sizeof c->phase);
	double start = now();
	for (long i = 0; i < t->iters; i++)
		if (fn(c) < 0)
			return -1;
	double s = (now() - start) / (double)t->iters;
	if (t->seconds < 0 || s < t->seconds) {
		t->seconds = s;
		memcpy(best_phase, c->phase, sizeof c->phase);
	}
	return 0;
}

/* Best of repeats batches for each of n step functions, the batches
 * interleaved (a, b, a, b, ...) so that a change of load on the machine
 * during the run hits both alike and their ratio stays fair. */
static int time_steps(const step_fn *fns, int n, linear_case *c, double min_time, int repeats,
		      timing *out, double (*phases)[3])
{
	for (int k = 0; k < n; k++)
		if (calibrate(fns[k], c, min_time, &out[k]) < 0)
			return -1;
	for (int r = 0; r < repeats; r++)
		for (int k = 0; k < n; k++)
			if (time_batch(fns[k], c, &out[k], phases[k]) < 0)
				return -1;
	return 0;
}

static void linear_case_destroy(linear_case *c)
{
	if (!c)
		return;
	seqc_graph_destroy(c->g);
	seqc_tensor_destroy(c->x);
	seqc_tensor_destroy(c->w);
	seqc_tensor_destroy(c->b);
	free(c->dy);
	free(c->y);
	free(c->dx);
	free(c->dw);
	free(c);
}

static linear_case *linear_case_create(size_t n, bool phases)
{
	linear_case *c = calloc(1, sizeof *c);
	if (!c)
		goto nomem;
	c->n = n;
	c->phases = phases;
	size_t sq[2] = { n, n };
	c->g = seqc_graph_create(0);
	c->x = seqc_tensor_create(2, sq, true);
	c->w = seqc_tensor_create(2, sq, true);
	c->b = seqc_tensor_create(1, &n, true);
	if (!c->g || !c->x || !c->w || !c->b)
		goto fail;
	c->dy = malloc(n * n * sizeof(float));
	c->y = malloc(n * n * sizeof(float));
	c->dx = malloc(n * n * sizeof(float));
	c->dw = malloc(n * n * sizeof(float));
	if (!c->dy || !c->y || !c->dx || !c->dw)
		goto nomem;
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_DATA);
	fill_uniform(c->x->val, n * n, &rng);
	fill_uniform(c->w->val, n * n, &rng);
	fill_uniform(c->b->val, n, &rng);
	fill_uniform(c->dy, n * n, &rng);
	return c;
nomem:
	seqc_error(SEQC_ENOMEM, "bench_linear: cannot allocate the buffers for n = %zu", n);
fail:
	linear_case_destroy(c);
	return NULL;
}

/* Print obj as one compact JSON line and release it. */
static int emit(json_t *obj)
{
	if (!obj) {
		fprintf(stderr, "bench_linear: cannot build a JSON record\n");
		return -1;
	}
	int rc = json_dumpf(obj, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(obj);
	if (rc < 0 || putchar('\n') == EOF || fflush(stdout) == EOF) {
		fprintf(stderr, "bench_linear: cannot write to stdout\n");
		return -1;
	}
	return 0;
}

#ifdef _OPENMP
#define HAVE_OPENMP 1
static int threads(void)
{
	return omp_get_max_threads();
}
#else
#define HAVE_OPENMP 0
static int threads(void)
{
	return openblas_get_num_threads();
}
#endif

static const char *parallel_name(int mode)
{
	switch (mode) {
	case 0:
		return "sequential";
	case 1:
		return "pthreads";
	case 2:
		return "openmp";
	default:
		return "unknown";
	}
}

static int emit_config(double min_time, int repeats)
{
	return emit(json_pack("{s:s, s:s, s:i, s:b, s:i, s:s, s:s, s:s, s:f, s:i}",
			      "bench", "config",
			      "seqc_version", seqc_version(),
			      "threads", threads(),
			      "openmp", HAVE_OPENMP,
			      "openblas_threads", openblas_get_num_threads(),
			      "openblas_parallel", parallel_name(openblas_get_parallel()),
			      "openblas_config", openblas_get_config(),
			      "openblas_core", openblas_get_corename(),
			      "min_time", min_time,
			      "repeats", repeats));
}

/* Work per iteration: three products of 2 n^3 flops each. The bias work
 * (n^2 adds forward, n^2 backward) is left out of the count for both
 * implementations, so gflops compare the same work. */
static double linear_flops(size_t n)
{
	return 6.0 * (double)n * (double)n * (double)n;
}

static int emit_phases(const char *impl, size_t n, const double *phase, long iters)
{
	double k = 1.0 / (double)iters;
	return emit(json_pack("{s:s, s:I, s:s, s:f, s:f, s:f}",
			      "bench", "linear_phases",
			      "n", (json_int_t)n,
			      "impl", impl,
			      "zero_seconds", phase[0] * k,
			      "forward_seconds", phase[1] * k,
			      "backward_seconds", phase[2] * k));
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bench_linear [--min-time S] [--repeats R] [--phases]\n"
		"\n"
		"Times a training step of seqc_linear (y = x w^T + b, forward and backward)\n"
		"against raw cblas_sgemm doing the same three products, n = 128, 512, 1024,\n"
		"and sgemm alone at n = %d as the practical peak. One JSON line per\n"
		"measurement on stdout.\n"
		"\n"
		"  --min-time S   seconds per timed batch (default 0.5)\n"
		"  --repeats R    timed batches per point, the best is kept (default 3)\n"
		"  --phases       also print the time of each phase of a step (zeroing,\n"
		"                 forward, backward) for both implementations\n"
		"\n"
		"example: OMP_NUM_THREADS=2 bench_linear --phases\n",
		PEAK_N);
}

static int parse_args(int argc, char **argv, double *min_time, int *repeats, bool *phases)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--phases")) {
			*phases = true;
		} else if (!strcmp(a, "--min-time") && v) {
			errno = 0;
			*min_time = strtod(v, &end);
			if (errno || end == v || *end || !(*min_time > 0 && *min_time <= 60)) {
				fprintf(stderr, "bench_linear: --min-time needs seconds in (0, 60], got '%s'\n", v);
				return -1;
			}
			i++;
		} else if (!strcmp(a, "--repeats") && v) {
			errno = 0;
			long r = strtol(v, &end, 10);
			if (errno || end == v || *end || r < 1 || r > 100) {
				fprintf(stderr, "bench_linear: --repeats needs an integer in [1, 100], got '%s'\n", v);
				return -1;
			}
			*repeats = (int)r;
			i++;
		} else {
			fprintf(stderr, "bench_linear: unknown or incomplete option '%s' (see --help)\n", a);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	double min_time = 0.5;
	int repeats = 3;
	bool phases = false;
	if (parse_args(argc, argv, &min_time, &repeats, &phases) < 0)
		return 2;
	if (emit_config(min_time, repeats) < 0)
		return 1;

	linear_case *c = linear_case_create(PEAK_N, false);
	const step_fn peak_fn[1] = { peak_step };
	timing t;
	double unused[1][3];
	if (!c || time_steps(peak_fn, 1, c, min_time, repeats, &t, unused) < 0)
		goto fail;
	double flops = 2.0 * PEAK_N * (double)PEAK_N * PEAK_N;
	double peak = flops / t.seconds * 1e-9;
	if (emit(json_pack("{s:s, s:i, s:s, s:f, s:f, s:I, s:i}",
			   "bench", "sgemm_peak",
			   "n", PEAK_N,
			   "impl", "sgemm",
			   "gflops", peak,
			   "seconds_per_iter", t.seconds,
			   "iters", (json_int_t)t.iters,
			   "threads", threads())) < 0)
		goto fail;
	linear_case_destroy(c);
	c = NULL;

	for (size_t i = 0; i < sizeof linear_sizes / sizeof *linear_sizes; i++) {
		size_t n = linear_sizes[i];
		const step_fn fns[2] = { sgemm_step, seqc_step };
		const char *impls[2] = { "sgemm", "seqc" };
		timing ts[2];
		double phase[2][3];
		c = linear_case_create(n, phases);
		if (!c || time_steps(fns, 2, c, min_time, repeats, ts, phase) < 0)
			goto fail;
		for (int k = 0; phases && k < 2; k++)
			if (emit_phases(impls[k], n, phase[k], ts[k].iters) < 0)
				goto fail;
		for (int k = 0; k < 2; k++) {
			double gflops = linear_flops(n) / ts[k].seconds * 1e-9;
			if (emit(json_pack("{s:s, s:I, s:s, s:f, s:f, s:f, s:f, s:I, s:i}",
					   "bench", "linear",
					   "n", (json_int_t)n,
					   "impl", impls[k],
					   "gflops", gflops,
					   "seconds_per_iter", ts[k].seconds,
					   "ratio_to_sgemm", ts[0].seconds / ts[k].seconds,
					   "fraction_of_peak", gflops / peak,
					   "iters", (json_int_t)ts[k].iters,
					   "threads", threads())) < 0)
				goto fail;
		}
		linear_case_destroy(c);
		c = NULL;
	}
	return 0;
fail:
	if (*seqc_errmsg())
		fprintf(stderr, "bench_linear: %s\n", seqc_errmsg());
	linear_case_destroy(c);
	return 1;
}
