/* Recurrent language-model speed: training (forward + backward + Adam) and
 * batch-1 sampling, in tokens per second and as a fraction of the machine's
 * sgemm peak (model FLOPs utilization), one JSON line per measurement.
 *
 *   bench_rnn [--quick] [--config NAME] [--seconds S]
 *
 * The configurations are those of the character-level issue (vocabulary 65,
 * embedding = hidden): char-rnn's default LSTM 2x128 (seq 50, batch 50); LSTM,
 * GRU and RNN 2x512 (seq 100, batch 32); sampling from LSTM 2x512 at batch 1.
 * bench/vs_torch.py rnn runs the same configurations in PyTorch and prints
 * the ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "models/rnnlm.h"
#include "train/optim.h"

typedef struct config {
	const char *name;
	const char *cell;
	size_t hidden, layers, seq, batch;
	bool sampling;
} config;

static const config CONFIGS[] = {
	{ "lstm-2x128-charrnn", "lstm", 128, 2, 50, 50, false },
	{ "lstm-2x512", "lstm", 512, 2, 100, 32, false },
	{ "gru-2x512", "gru", 512, 2, 100, 32, false },
	{ "rnn-2x512", "rnn_tanh", 512, 2, 100, 32, false },
	{ "sample-lstm-2x512", "lstm", 512, 2, 1, 1, true },
};
enum { VOCAB = 65 };

/* Forward FLOPs per token: the GEMMs (2 per multiply-add) of every layer's
 * input and recurrent projections and of the head. Training counts 3x. */
static double forward_flops(const seqc_rnnlm_config *c)
{
	double G = seqc_cell_gates(c->cell), H = (double)c->hidden, f = 0;
	for (size_t l = 0; l < c->layers; l++) {
		double in = l == 0 ? (double)c->embed : H;
		f += 2 * G * H * (in + H);
	}
	return f + 2 * H * (double)c->vocab;
}

static int bench_train(const config *cf, double seconds, double peak)
{
	seqc_rnnlm_config c = { .cell = (seqc_cell_kind)seqc_cell_parse(cf->cell), .vocab = VOCAB,
				.embed = cf->hidden, .hidden = cf->hidden, .layers = cf->layers };
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	seqc_rnnlm *m = seqc_rnnlm_create(&c, &rng);
	seqc_optim_config oc = seqc_optim_defaults(SEQC_OPT_ADAM);
	seqc_optim *o = m ? seqc_optim_create(m->params, &oc) : NULL;
	seqc_graph *g = seqc_graph_create(0);
	size_t B = cf->batch, T = cf->seq;
	int32_t *in = malloc(B * T * sizeof *in), *tg = malloc(B * T * sizeof *tg);
	if (!m || !o || !g || !in || !tg) {
		fprintf(stderr, "bench_rnn: %s\n", seqc_errmsg());
		return 1;
	}
	for (size_t i = 0; i < B * T; i++) {
		in[i] = (int32_t)((i * 7) % VOCAB);
		tg[i] = (int32_t)((i * 11 + 3) % VOCAB);
	}
	seqc_ids ids = seqc_ids_view2(in, B, T), targets = seqc_ids_view2(tg, B, T);
	double best = 1e30;
	int iters = 0;
	double t_end = bench_now() + seconds;
	while (iters < 3 || bench_now() < t_end) {
		double t0 = bench_now();
		seqc_graph_reset(g);
		seqc_params_zero_grad(m->params);
		seqc_tensor *loss;
		if (seqc_rnnlm_loss(g, m, &ids, &targets, NULL, NULL, &rng, &loss, NULL, NULL) < 0 ||
		    seqc_backward(g, loss) < 0 || seqc_optim_step(o, m->params, 1e-3f) < 0) {
			fprintf(stderr, "bench_rnn: %s\n", seqc_errmsg());
			return 1;
		}
		double dt = bench_now() - t0;
		if (iters > 0 && dt < best) /* the first step warms the arena up */
			best = dt;
		iters++;
	}
	double tps = (double)(B * T) / best, gflops = 3 * forward_flops(&c) * tps / 1e9;
	printf("{\"bench\":\"rnn_train\",\"config\":\"%s\",\"impl\":\"seqc\",\"cell\":\"%s\",\"hidden\":%zu,"
	       "\"layers\":%zu,\"seq\":%zu,\"batch\":%zu,\"tokens_per_s\":%.0f,\"gflops\":%.1f,"
	       "\"mfu\":%.3f,\"seconds_per_step\":%.5f,\"steps\":%d,\"threads\":%d}\n",
	       cf->name, cf->cell, cf->hidden, cf->layers, T, B, tps, gflops, gflops / peak, best, iters,
	       bench_threads());
	fflush(stdout);
	free(in);
	free(tg);
	seqc_graph_destroy(g);
	seqc_optim_destroy(o);
	seqc_rnnlm_destroy(m);
	return 0;
}

static int bench_sample(const config *cf, double seconds, double peak)
{
	seqc_rnnlm_config c = { .cell = (seqc_cell_kind)seqc_cell_parse(cf->cell), .vocab = VOCAB,
				.embed = cf->hidden, .hidden = cf->hidden, .layers = cf->layers };
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	seqc_rnnlm *m = seqc_rnnlm_create(&c, &rng);
	seqc_graph *g = seqc_graph_create(0);
	if (!m || !g || seqc_rnnlm_start(m, 1) < 0) {
		fprintf(stderr, "bench_rnn: %s\n", seqc_errmsg());
		return 1;
	}
	int32_t tok = 1;
	long n = 0;
	for (int i = 0; i < 50; i++) { /* warm up */
		seqc_graph_reset(g);
		seqc_tensor *lg;
		seqc_rnnlm_step(m, g, &tok, &lg);
	}
	double t0 = bench_now();
	while (bench_now() - t0 < seconds) {
		seqc_graph_reset(g);
		seqc_tensor *lg;
		if (seqc_rnnlm_step(m, g, &tok, &lg) < 0) {
			fprintf(stderr, "bench_rnn: %s\n", seqc_errmsg());
			return 1;
		}
		/* greedy: the next input depends on this output, as in sampling */
		int32_t best = 0;
		for (int v = 1; v < VOCAB; v++)
			best = lg->val[v] > lg->val[best] ? v : best;
		tok = best;
		n++;
	}
	double tps = (double)n / (bench_now() - t0), gflops = forward_flops(&c) * tps / 1e9;
	printf("{\"bench\":\"rnn_sample\",\"config\":\"%s\",\"impl\":\"seqc\",\"cell\":\"%s\",\"hidden\":%zu,"
	       "\"layers\":%zu,\"batch\":1,\"tokens_per_s\":%.0f,\"gflops\":%.2f,\"mfu\":%.4f,\"threads\":%d}\n",
	       cf->name, cf->cell, cf->hidden, cf->layers, tps, gflops, gflops / peak, bench_threads());
	fflush(stdout);
	seqc_graph_destroy(g);
	seqc_rnnlm_destroy(m);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 5;
	const char *only = NULL;
	if (!bench_args(argc, argv, "bench_rnn", &seconds, &only))
		return 2;
	double peak = bench_machine_line();
	int rc = 0;
	for (size_t i = 0; i < sizeof CONFIGS / sizeof CONFIGS[0]; i++) {
		if (only && strcmp(only, CONFIGS[i].name))
			continue;
		rc |= CONFIGS[i].sampling ? bench_sample(&CONFIGS[i], seconds, peak)
					  : bench_train(&CONFIGS[i], seconds, peak);
	}
	return rc;
}
