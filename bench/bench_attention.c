/* bench_attention: the fused attention op (seqc_attention) at the two GPT
 * training shapes of the nanoGPT CPU recipe, causal self-attention reading
 * q, k, v from one packed [B, T, 3C] tensor as GPT's c_attn makes it:
 * forward alone (gradients off) and forward + backward (arena reset, qkv's
 * gradient zeroed, forward, backward from a fixed upstream gradient).
 * bench/torch_attention.py prints the same fields for PyTorch.
 *
 * GFLOP/s counts the dense products, causal or not, as PyTorch computes
 * them: 4 B T^2 C forward, 8 B T^2 C backward (the op skips the masked
 * triangle, so its real arithmetic is about half of that).
 *
 * Prints the machine line, then one JSON line per measurement; timing:
 * warm-up, then three batches filling --seconds (default 1.5, --quick 1),
 * the best kept. --config NAME runs one shape.
 *   OMP_WAIT_POLICY=PASSIVE bench_attention [--quick] [--seconds S] [--config NAME] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "seq/seqc.h"

typedef struct attn_shape {
	const char *name;
	size_t B, T, C, heads;
} attn_shape;

static const attn_shape shapes[] = {
	{ "gpt-B12-T64-C128-H4", 12, 64, 128, 4 },
	{ "gpt-B8-T256-C384-H6", 8, 256, 384, 6 },
};

typedef struct attn_bench {
	const attn_shape *s;
	seqc_graph *g;
	seqc_tensor *qkv; /* [B, T, 3C] with gradient */
	float *dy;        /* [B, T, C] */
	bool backward;
} attn_bench;

static int step(attn_bench *a)
{
	const attn_shape *s = a->s;
	seqc_graph_reset(a->g);
	seqc_attn_opts o = { .heads = s->heads, .causal = true };
	if (a->backward)
		memset(a->qkv->grad, 0, a->qkv->numel * sizeof(float));
	seqc_tensor *y = seqc_attention(a->g, (seqc_cols){ a->qkv, 0 }, (seqc_cols){ a->qkv, s->C },
					(seqc_cols){ a->qkv, 2 * s->C }, s->C, &o);
	if (!y)
		return -1;
	return a->backward ? seqc_backward_from(a->g, y, a->dy) : 0;
}

/* Seconds per step: the best of repeats batches of about min_time each. */
static double time_steps(attn_bench *a, double min_time, int repeats)
{
	size_t n = 0;
	double t0 = bench_now();
	while (n < 2 || bench_now() - t0 < 0.1) {
		if (step(a))
			return -1;
		n++;
	}
	size_t batch = (size_t)(min_time / ((bench_now() - t0) / (double)n)) + 1;
	double best = 1e30;
	for (int r = 0; r < repeats; r++) {
		double t = bench_now();
		for (size_t i = 0; i < batch; i++)
			if (step(a))
				return -1;
		t = (bench_now() - t) / (double)batch;
		best = t < best ? t : best;
	}
	return best;
}

static int run_shape(const attn_shape *s, double min_time, int repeats)
{
	attn_bench a = { .s = s, .g = seqc_graph_create(0) };
	a.qkv = seqc_tensor_create(3, (size_t[]){ s->B, s->T, 3 * s->C }, true);
	a.dy = malloc(s->B * s->T * s->C * sizeof(float));
	int rc = -1;
	if (!a.g || !a.qkv || !a.dy)
		goto out;
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_DATA);
	for (size_t i = 0; i < a.qkv->numel; i++)
		a.qkv->val[i] = seqc_rng_normal(&rng);
	for (size_t i = 0; i < s->B * s->T * s->C; i++)
		a.dy[i] = seqc_rng_normal(&rng);
	double flops_fwd = 4.0 * (double)(s->B * s->T * s->T * s->C);
	for (int pass = 0; pass < 2; pass++) {
		a.backward = pass == 1;
		seqc_graph_set_grad(a.g, a.backward);
		double sec = time_steps(&a, min_time, repeats);
		if (sec < 0)
			goto out;
		double flops = a.backward ? 3 * flops_fwd : flops_fwd;
		printf("{\"bench\": \"attention\", \"shape\": \"%s\", \"impl\": \"seqc\", \"pass\": \"%s\", "
		       "\"B\": %zu, \"T\": %zu, \"C\": %zu, \"heads\": %zu, \"ms\": %.4f, \"gflops\": %.2f, "
		       "\"threads\": %d}\n",
		       s->name, a.backward ? "fwd+bwd" : "fwd", s->B, s->T, s->C, s->heads, 1e3 * sec,
		       flops / sec * 1e-9, bench_threads());
		fflush(stdout);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_attention: %s: %s\n", s->name, seqc_errmsg());
	free(a.dy);
	seqc_tensor_destroy(a.qkv);
	seqc_graph_destroy(a.g);
	return rc;
}

int main(int argc, char **argv)
{
	double seconds = 1.5;
	const char *only = NULL;
	if (!bench_args(argc, argv, "bench_attention", &seconds, &only))
		return 2;
	bench_machine_line();
	int repeats = 3;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		if ((!only || !strcmp(only, shapes[i].name)) &&
		    run_shape(&shapes[i], seconds / repeats, repeats))
			return 1;
	return 0;
}
