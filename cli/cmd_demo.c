/* seqc demo: the core engine on a toy problem (a 3-arm spiral), a smoke
 * test of tensors, ops, backward and SGD that needs no data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Points of a 3-arm spiral (cs231n's classic toy set): class k arm, radius
 * r in [0, 1], angle growing with r plus noise. */
static void make_spiral(float *x, int32_t *y, int per_class, seqc_rng *rng)
{
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < per_class; i++) {
			float r = (float)i / (float)(per_class - 1);
			float t = (float)k * 4.0f + 4.0f * r + 0.2f * seqc_rng_normal(rng);
			int n = k * per_class + i;
			x[2 * n] = r * sinf(t);
			x[2 * n + 1] = r * cosf(t);
			y[n] = k;
		}
}

int cmd_demo(int argc, char **argv)
{
	long long steps = 2000; /* full-batch SGD steps */
	long long seed = 1;     /* seeds data and weights */
	args a = { argc, argv, 0, "seqc demo" };
	for (a.i = 0; a.i < argc; a.i++) {
		const char *v;
		if (arg_is(&a, "--steps", &v)) {
			if (parse_int(a.cmd, "--steps", v, 1, 1000000, &steps) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--seed", &v)) {
			if (parse_int(a.cmd, "--seed", v, 0, 1LL << 31, &seed) < 0)
				return EXIT_USAGE;
		} else {
			fprintf(stderr, "seqc demo: unknown option '%s'\n", argv[a.i]);
			return EXIT_USAGE;
		}
	}
	enum { PER_CLASS = 100, N = 3 * PER_CLASS, HIDDEN = 64 };
	float x[2 * N];
	int32_t y[N];
	seqc_rng rng;
	seqc_rng_seed(&rng, (uint64_t)seed, SEQC_STREAM_DATA);
	make_spiral(x, y, PER_CLASS, &rng);

	seqc_params *p = seqc_params_create();
	seqc_graph *g = seqc_graph_create(0);
	if (!p || !g)
		goto fail;
	seqc_init kaiming = { SEQC_INIT_KAIMING_UNIFORM, 1.0f }, zeros = { SEQC_INIT_ZEROS, 0 };
	seqc_tensor *w1 = seqc_params_add(p, "fc1.weight", 2, (size_t[]){ HIDDEN, 2 }, kaiming, false);
	seqc_tensor *b1 = seqc_params_add(p, "fc1.bias", 1, (size_t[]){ HIDDEN }, zeros, true);
	seqc_tensor *w2 = seqc_params_add(p, "fc2.weight", 2, (size_t[]){ 3, HIDDEN }, kaiming, false);
	seqc_tensor *b2 = seqc_params_add(p, "fc2.bias", 1, (size_t[]){ 3 }, zeros, true);
	seqc_rng_seed(&rng, (uint64_t)seed, SEQC_STREAM_INIT);
	if (!w1 || !b1 || !w2 || !b2 || seqc_params_finalize(p, &rng) < 0)
		goto fail;
	seqc_ids targets = seqc_ids_view1(y, N);
	fprintf(stderr, "demo: 2-layer MLP (%zu parameters), 3-arm spiral of %d points, SGD lr 1.0\n",
		p->numel, N);
	for (long long step = 1; step <= steps; step++) {
		seqc_graph_reset(g);
		seqc_params_zero_grad(p);
		seqc_tensor *in = seqc_graph_input(g, 2, (size_t[]){ N, 2 }, x);
		seqc_tensor *h = seqc_tanh(g, seqc_linear(g, in, w1, b1));
		seqc_tensor *logits = seqc_linear(g, h, w2, b2);
		seqc_tensor *loss = seqc_cross_entropy(g, logits, &targets, NULL);
		if (!loss || seqc_backward(g, loss) < 0)
			goto fail;
		for (size_t i = 0; i < p->numel; i++)
			p->values[i] -= 1.0f * p->grads[i];
		if (step == 1 || step % (steps / 10 ? steps / 10 : 1) == 0) {
			int correct = 0;
			for (int n = 0; n < N; n++) {
				const float *row = logits->val + 3 * n;
				int best = row[1] > row[0] ? 1 : 0;
				best = row[2] > row[best] ? 2 : best;
				correct += best == y[n];
			}
			printf("step %5lld  loss %.4f  accuracy %.1f%%\n", step, (double)loss->val[0],
			       100.0 * correct / N);
			fflush(stdout);
		}
	}
	seqc_graph_destroy(g);
	seqc_params_destroy(p);
	return 0;
fail:
	fprintf(stderr, "seqc demo: %s\n", seqc_errmsg());
	seqc_graph_destroy(g);
	seqc_params_destroy(p);
	return 1;
}

