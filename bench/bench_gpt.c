/* GPT speed: training (forward + backward + AdamW step with clipping, as
 * nanoGPT) in ms per iteration, tokens per second and model FLOPs
 * utilization (FLOPs as nanoGPT's estimate_mfu: 6 N + 12 L C T per token,
 * N without position embeddings, against the machine's sgemm peak), and
 * sampling 256 tokens at batch 1 with the KV cache. One JSON line each.
 *
 *   bench_gpt [--quick] [--seconds S] [--config NAME]
 *
 * The configurations are those of the transformer issue (vocabulary 65,
 * biases, tanh GELU): nanoGPT's CPU recipe for Tiny Shakespeare (4 layers,
 * 4 heads, width 128, context 64, batch 12) and 6 layers, 6 heads, width
 * 384, context 256, batch 8; sampling from the second.
 * bench/vs_torch.py gpt runs the same in PyTorch and prints the ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "models/gpt.h"
#include "train/optim.h"

typedef struct config {
	const char *name;
	size_t layers, heads, embed, context, batch;
	bool sampling;
} config;

static const config CONFIGS[] = {
	{ "gpt-4x128-ctx64", 4, 4, 128, 64, 12, false },
	{ "gpt-6x384-ctx256", 6, 6, 384, 256, 8, false },
	{ "sample-gpt-6x384-ctx256", 6, 6, 384, 256, 1, true },
};
enum { VOCAB = 65, SAMPLE_TOKENS = 256 };

static seqc_gpt *make_model(const config *cf, seqc_rng *rng)
{
	seqc_gpt_config c = seqc_gpt_config_defaults();
	c.vocab = VOCAB;
	c.context = cf->context;
	c.layers = cf->layers;
	c.heads = cf->heads;
	c.embed = cf->embed;
	seqc_rng_seed(rng, 1, SEQC_STREAM_INIT);
	return seqc_gpt_create(&c, rng);
}

/* nanoGPT's estimate_mfu numerator per token. */
static double flops_per_token(const seqc_gpt *m)
{
	double n = (double)m->params->numel - (double)m->wpe->numel;
	return 6 * n + 12.0 * (double)(m->c.layers * m->c.embed * m->c.context);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int bench_train(const config *cf, double seconds, double peak)
{
	seqc_rng rng;
	seqc_gpt *m = make_model(cf, &rng);
	seqc_optim_config oc = seqc_optim_defaults(SEQC_OPT_ADAMW);
	oc.weight_decay = 0.1f;
	oc.beta2 = 0.99f;
	seqc_optim *o = m ? seqc_optim_create(m->params, &oc) : NULL;
	seqc_graph *g = seqc_graph_create(0);
	size_t B = cf->batch, T = cf->context;
	int32_t *in = malloc(B * T * sizeof *in), *tg = malloc(B * T * sizeof *tg);
	double *times = malloc(100000 * sizeof *times);
	if (!m || !o || !g || !in || !tg || !times) {
		fprintf(stderr, "bench_gpt: %s\n", seqc_errmsg());
		return 1;
	}
	for (size_t i = 0; i < B * T; i++) {
		in[i] = (int32_t)((i * 7) % VOCAB);
		tg[i] = (int32_t)((i * 11 + 3) % VOCAB);
	}
	seqc_ids ids = seqc_ids_view2(in, B, T), targets = seqc_ids_view2(tg, B, T);
	int iters = 0;
	double t_end = bench_now() + seconds;
	while ((iters < 4 || bench_now() < t_end) && iters < 100000) {
		double t0 = bench_now();
		seqc_graph_reset(g);
		seqc_params_zero_grad(m->params);
		seqc_tensor *loss;
		if (seqc_gpt_loss(g, m, &ids, &targets, &rng, &loss) < 0 || seqc_backward(g, loss) < 0) {
			fprintf(stderr, "bench_gpt: %s\n", seqc_errmsg());
			return 1;
		}
		seqc_clip_grad_norm(m->params, 1.0f);
		if (seqc_optim_step(o, m->params, 1e-3f) < 0) {
			fprintf(stderr, "bench_gpt: %s\n", seqc_errmsg());
			return 1;
		}
		times[iters++] = bench_now() - t0;
	}
	/* the median of all but the first (which warms the arena up) */
	qsort(times + 1, (size_t)(iters - 1), sizeof *times, cmp_double);
	double med = times[1 + (iters - 1) / 2];
	double fpi = flops_per_token(m) * (double)(B * T), gflops = fpi / med / 1e9;
	printf("{\"bench\":\"gpt_train\",\"config\":\"%s\",\"impl\":\"seqc\",\"layers\":%zu,\"heads\":%zu,"
	       "\"embed\":%zu,\"context\":%zu,\"batch\":%zu,\"ms_per_iter\":%.2f,\"tokens_per_s\":%.0f,"
	       "\"flops_per_iter\":%.0f,\"gflops\":%.1f,\"mfu\":%.3f,\"steps\":%d,\"threads\":%d}\n",
	       cf->name, cf->layers, cf->heads, cf->embed, cf->context, B, 1e3 * med,
	       (double)(B * T) / med, fpi, gflops, gflops / peak, iters, bench_threads());
	fflush(stdout);
	free(times);
	free(in);
	free(tg);
	seqc_graph_destroy(g);
	seqc_optim_destroy(o);
	seqc_gpt_destroy(m);
	return 0;
}

static int bench_sample(const config *cf)
{
	seqc_rng rng;
	seqc_gpt *m = make_model(cf, &rng);
	seqc_graph *g = seqc_graph_create(0);
	if (!m || !g || seqc_gpt_start(m, 1) < 0) {
		fprintf(stderr, "bench_gpt: %s\n", seqc_errmsg());
		return 1;
	}
	int32_t tok = 0;
	double t0 = bench_now();
	for (int i = 0; i < SAMPLE_TOKENS; i++) {
		seqc_graph_reset(g);
		seqc_tensor *lg;
		if (seqc_gpt_step(m, g, &tok, &lg) < 0) {
			fprintf(stderr, "bench_gpt: %s\n", seqc_errmsg());
			return 1;
		}
		/* greedy: the next input depends on this output, as in sampling */
		int32_t best = 0;
		for (int v = 1; v < VOCAB; v++)
			best = lg->val[v] > lg->val[best] ? v : best;
		tok = best;
	}
	double tps = SAMPLE_TOKENS / (bench_now() - t0);
	printf("{\"bench\":\"gpt_sample\",\"config\":\"%s\",\"impl\":\"seqc\",\"tokens\":%d,"
	       "\"tokens_per_s\":%.1f,\"threads\":%d}\n",
	       cf->name + strlen("sample-"), SAMPLE_TOKENS, tps, bench_threads());
	fflush(stdout);
	seqc_graph_destroy(g);
	seqc_gpt_destroy(m);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 10;
	const char *only = NULL;
	if (!bench_args(argc, argv, "bench_gpt", &seconds, &only))
		return 2;
	double peak = bench_machine_line();
	int rc = 0;
	for (size_t i = 0; i < sizeof CONFIGS / sizeof CONFIGS[0]; i++) {
		if (only && strcmp(only, CONFIGS[i].name))
			continue;
		rc |= CONFIGS[i].sampling ? bench_sample(&CONFIGS[i])
					  : bench_train(&CONFIGS[i], seconds, peak);
	}
	return rc;
}
