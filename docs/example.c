/* Fit y = 3x - 1 with one linear unit, mean squared error and plain SGD. */
#include <stdio.h>
#include <seqc.h>

int main(void)
{
	float xs[8], ys[8], last = 1.0f;
	for (int i = 0; i < 8; i++) {
		xs[i] = (float)i / 4.0f - 1.0f;
		ys[i] = 3.0f * xs[i] - 1.0f;
	}
	seqc_rng rng;
	seqc_rng_seed(&rng, 42, SEQC_STREAM_INIT);
	seqc_params *p = seqc_params_create();
	seqc_graph *g = seqc_graph_create(0);
	seqc_init uniform = { SEQC_INIT_UNIFORM, 1.0f }, zeros = { SEQC_INIT_ZEROS, 0.0f };
	seqc_tensor *w = p ? seqc_params_add(p, "w", 2, (size_t[]){ 1, 1 }, uniform, false) : NULL;
	seqc_tensor *b = p ? seqc_params_add(p, "b", 1, (size_t[]){ 1 }, zeros, true) : NULL;
	int ok = g && w && b && seqc_params_finalize(p, &rng) == 0;
	for (int step = 1; ok && step <= 100; step++) {
		seqc_graph_reset(g); /* rewinds the arena: a step takes nothing from the heap */
		seqc_params_zero_grad(p);
		seqc_tensor *x = seqc_graph_input(g, 2, (size_t[]){ 8, 1 }, xs);
		seqc_tensor *y = seqc_graph_input(g, 2, (size_t[]){ 8, 1 }, ys);
		seqc_tensor *d = seqc_sub(g, seqc_linear(g, x, w, b), y);
		seqc_tensor *loss = seqc_mean(g, seqc_mul(g, d, d)); /* NULL if any op failed */
		if (!(ok = loss && seqc_backward(g, loss) == 0))
			break;
		for (size_t i = 0; i < p->numel; i++) /* SGD over the flat parameter block */
			p->values[i] -= 0.1f * p->grads[i];
		last = loss->val[0];
		if (step % 20 == 0)
			printf("step %3d  loss %.6f\n", step, (double)last);
	}
	if (ok)
		printf("w = %.4f, b = %.4f (want 3, -1)\n", (double)w->val[0], (double)b->val[0]);
	else
		fprintf(stderr, "example: %s\n", seqc_errmsg());
	seqc_graph_destroy(g);
	seqc_params_destroy(p);
	return ok && last < 1e-4f ? 0 : 1;
}
