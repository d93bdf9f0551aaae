/* Sequence-to-sequence Transformer speed: training (forward + backward +
 * Adam step) in target tokens per second and model FLOPs utilization, and
 * beam search in sentences per second. One JSON line each.
 *
 *   bench_s2s [--quick] [--seconds S] [--config NAME]
 *
 * The model of the seq2seq issue: nn.Transformer's layout, 3 + 3 post-norm
 * ReLU layers, width 256, 4 heads, ff 1024, vocabularies of 8000 on both
 * sides, embeddings * sqrt(d) plus sinusoidal positions, an untied
 * generator (nn.Linear with bias), no dropout, label smoothing 0.1.
 *
 *   s2s-train-3x3-d256-v8000: batches of 64 pairs, sources and targets of
 *     32 random ids (no padding), Adam (PyTorch's defaults, no clipping).
 *     Time per step: the median after the first two (warm-up).
 *   beam5-s2s-3x3-d256-v8000-b1 and -b32: seqc_translate_batch (the
 *     source encoded once, cross keys and values once per source,
 *     incremental decoding with cached self-attention) with beam 5 and a
 *     fixed 40 generated tokens (min_len = max_len = 40: eos banned), from
 *     1 and from 32 sources of 32 random ids per call.
 *
 * Model FLOPs of a training step (the same formula in torch_s2s.py):
 *   6 x (matrix parameters x the tokens they multiply), counting per source
 *   token the encoder's in_proj, out_proj, linear1, linear2 and every
 *   decoder layer's cross-attention key/value projection (2 d^2), per
 *   target token the decoder's self in_proj, out_proj, cross query and
 *   out_proj, linear1, linear2 and the generator (d V); embeddings,
 *   biases and norms not counted;
 *   plus attention 3 x 4 d Tq Tk per layer and sequence (q k^T and the
 *   weighted sum, forward 2 x 2 d Tq Tk, backward twice that): encoder
 *   S x S, decoder self T x T (dense, as nanoGPT counts it, though causal)
 *   and cross T x S.
 * MFU = those FLOPs per second over the sgemm peak of the machine line.
 *
 * bench/torch_s2s.py runs the same in PyTorch; bench/vs_torch.py s2s prints
 * both and the ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "decode/translate.h"
#include "train/optim.h"

enum { VOCAB = 8000, D = 256, HEADS = 4, LAYERS = 3, FF = 1024, LEN = 32, BATCH = 64 };
enum { BEAM = 5, STEPS = 40, BOS = 1, EOS = 2 };

typedef struct config {
	const char *name;
	size_t sources; /* per search call; 0: training */
} config;

static const config CONFIGS[] = {
	{ "s2s-train-3x3-d256-v8000", 0 },
	{ "beam5-s2s-3x3-d256-v8000-b1", 1 },
	{ "beam5-s2s-3x3-d256-v8000-b32", 32 },
};

static seqc_model *make_model(seqc_rng *rng)
{
	seqc_s2st_config c = seqc_s2st_config_defaults();
	c.src_vocab = c.tgt_vocab = VOCAB;
	c.d_model = D;
	c.heads = HEADS;
	c.enc_layers = c.dec_layers = LAYERS;
	c.dim_ff = FF;
	c.dropout = 0.0f;
	c.activation = SEQC_FF_RELU;
	c.norm_first = false;
	c.tie_output = false;
	c.label_smoothing = 0.1f;
	seqc_rng_seed(rng, 1, SEQC_STREAM_INIT);
	return seqc_model_wrap_s2st(seqc_s2st_create(&c, rng));
}

/* The training step's model FLOPs (see the top of the file). */
static double flops_per_step(size_t B, size_t S, size_t T)
{
	double d = D, ff = FF, L = LAYERS, V = VOCAB;
	double per_src = L * (4 * d * d + 2 * d * ff) + L * 2 * d * d;
	double per_tgt = L * (6 * d * d + 2 * d * ff) + d * V;
	double attn = 12 * d * L * ((double)(S * S) + (double)(T * T) + (double)(T * S));
	return (double)B * (6 * ((double)S * per_src + (double)T * per_tgt) + attn);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void random_ids(seqc_rng *rng, int32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ids[i] = (int32_t)seqc_rng_below(rng, VOCAB);
}

static int fail(const char *what)
{
	fprintf(stderr, "bench_s2s: %s: %s\n", what, seqc_errmsg());
	return 1;
}

static int bench_train(seqc_model *m, seqc_rng *rng, const config *cf, double seconds,
		       double peak)
{
	size_t B = BATCH, S = LEN, T = LEN;
	seqc_optim_config oc = seqc_optim_defaults(SEQC_OPT_ADAM);
	seqc_optim *o = seqc_optim_create(m->params, &oc);
	seqc_graph *g = seqc_graph_create(0);
	int32_t *src = malloc(B * S * sizeof *src), *in = malloc(B * T * sizeof *in);
	int32_t *out = malloc(B * T * sizeof *out);
	size_t *lens = malloc(B * sizeof *lens);
	double *times = malloc(100000 * sizeof *times);
	if (!o || !g || !src || !in || !out || !lens || !times)
		return fail("cannot allocate");
	random_ids(rng, src, B * S);
	random_ids(rng, out, B * T);
	for (size_t b = 0; b < B; b++) {
		lens[b] = S;
		in[b * T] = BOS;
		memcpy(in + b * T + 1, out + b * T, (T - 1) * sizeof *in);
	}
	seqc_s2s_batch batch = { .B = B, .S = S, .T = T, .src = src, .src_lens = lens,
				 .tgt_in = in, .tgt_out = out };
	seqc_graph_set_training(g, true);
	int iters = 0;
	double t_end = bench_now() + seconds;
	while ((iters < 5 || bench_now() < t_end) && iters < 100000) {
		double t0 = bench_now();
		seqc_graph_reset(g);
		seqc_params_zero_grad(m->params);
		seqc_tensor *loss;
		if (seqc_model_s2s_loss(g, m, &batch, rng, NULL, NULL, &loss) < 0 ||
		    seqc_backward(g, loss) < 0)
			return fail("training step");
		if (seqc_optim_step(o, m->params, 1e-4f) < 0)
			return fail("optimizer step");
		times[iters++] = bench_now() - t0;
	}
	/* the median of all but the first two: the first grows the arena in
	 * chunks, the second faults the pages of the one chunk they merge into */
	qsort(times + 2, (size_t)(iters - 2), sizeof *times, cmp_double);
	double med = times[2 + (iters - 2) / 2], best = times[2];
	double fps = flops_per_step(B, S, T), gflops = fps / med / 1e9;
	printf("{\"bench\":\"s2s_train\",\"config\":\"%s\",\"impl\":\"seqc\",\"layers\":\"%d+%d\","
	       "\"heads\":%d,\"d_model\":%d,\"dim_ff\":%d,\"vocab\":%d,\"batch\":%zu,\"src_len\":%zu,"
	       "\"tgt_len\":%zu,\"params\":%zu,\"ms_per_iter\":%.2f,\"ms_best\":%.2f,"
	       "\"tokens_per_s\":%.0f,\"flops_per_iter\":%.0f,\"gflops\":%.1f,\"mfu\":%.3f,\"steps\":%d,"
	       "\"threads\":%d}\n",
	       cf->name, LAYERS, LAYERS, HEADS, D, FF, VOCAB, B, S, T, m->params->numel, 1e3 * med,
	       1e3 * best, (double)(B * T) / med, fps, gflops, gflops / peak, iters,
	       bench_threads());
	fflush(stdout);
	free(times);
	free(lens);
	free(out);
	free(in);
	free(src);
	seqc_graph_destroy(g);
	seqc_optim_destroy(o);
	return 0;
}

static int bench_beam(seqc_model *m, seqc_rng *rng, const config *cf, double seconds)
{
	size_t B = cf->sources, S = LEN;
	int32_t *src = malloc(B * S * sizeof *src);
	size_t *lens = malloc(B * sizeof *lens);
	seqc_beam_result *res = calloc(B, sizeof *res);
	seqc_graph *g = seqc_graph_create(0);
	if (!src || !lens || !res || !g)
		return fail("cannot allocate");
	random_ids(rng, src, B * S);
	for (size_t b = 0; b < B; b++)
		lens[b] = S;
	seqc_beam_config c = seqc_beam_defaults();
	c.beam = BEAM;
	c.min_len = c.max_len = STEPS;
	size_t sentences = 0, calls = 0;
	double t0 = 0, t_end = 0;
	/* the first call warms the arena and the caches up and is not timed */
	while (calls < 2 || bench_now() < t_end) {
		if (calls == 1) {
			t0 = bench_now();
			t_end = t0 + seconds;
		}
		if (seqc_translate_batch(m, g, &c, src, lens, B, S, BOS, EOS, res) < 0)
			return fail("translate");
		for (size_t b = 0; b < B; b++)
			if (res[b].n != 1 || res[b].hyps[0].len != STEPS) {
				fprintf(stderr, "bench_s2s: source %zu: unexpected result\n", b);
				return 1;
			}
		seqc_beam_results_free(res, B);
		sentences += calls++ ? B : 0;
	}
	double dt = bench_now() - t0, sps = (double)sentences / dt;
	printf("{\"bench\":\"s2s_beam\",\"config\":\"%s\",\"impl\":\"seqc\",\"layers\":\"%d+%d\","
	       "\"d_model\":%d,\"vocab\":%d,\"beam\":%d,\"steps\":%d,\"src_len\":%zu,"
	       "\"sources_per_call\":%zu,\"sentences\":%zu,\"sentences_per_s\":%.2f,"
	       "\"tokens_per_s\":%.1f,\"threads\":%d}\n",
	       cf->name, LAYERS, LAYERS, D, VOCAB, BEAM, STEPS, S, B, sentences, sps, sps * STEPS,
	       bench_threads());
	fflush(stdout);
	seqc_graph_destroy(g);
	free(res);
	free(lens);
	free(src);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 10;
	const char *only = NULL;
	if (!bench_args(argc, argv, "bench_s2s", &seconds, &only))
		return 2;
	double peak = bench_machine_line();
	seqc_rng rng;
	int rc = 0;
	for (size_t i = 0; i < sizeof CONFIGS / sizeof CONFIGS[0]; i++) {
		if (only && strcmp(only, CONFIGS[i].name))
			continue;
		/* a fresh model each: training must not start from another's weights */
		seqc_model *m = make_model(&rng);
		if (!m)
			return fail("model");
		rc |= CONFIGS[i].sources ? bench_beam(m, &rng, &CONFIGS[i], seconds)
					 : bench_train(m, &rng, &CONFIGS[i], seconds, peak);
		seqc_model_destroy(m);
	}
	return rc;
}
