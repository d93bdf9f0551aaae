/* Beam search speed: sentences per second with beam 5 and a fixed 40
 * generated tokens (min_len = max_len = 40: eos is banned, no early stop),
 * incremental decoding through the step interface, on the 6x384 GPT of
 * the transformer issue (6 layers, 6 heads, width 384, context 256) with a
 * vocabulary of 8000 instead of 65, so that the head (and the k x V
 * candidate selection) matters. Prompts of 8 tokens (the start token and
 * 7 more), one prompt per search call and 32 per call (160 rows in each
 * step). One JSON line each; tokens_per_s counts generated tokens of the
 * returned best hypotheses (40 per sentence).
 *
 *   bench_beam [--quick] [--seconds S] [--config NAME]
 *
 * bench/torch_beam.py runs the same search in PyTorch; bench/vs_torch.py
 * beam prints both and the ratios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "decode/beam.h"

typedef struct config {
	const char *name;
	size_t prompts; /* per search call */
} config;

static const config CONFIGS[] = {
	{ "beam5-gpt-6x384-v8000-b1", 1 },
	{ "beam5-gpt-6x384-v8000-b32", 32 },
};
enum { VOCAB = 8000, BEAM = 5, STEPS = 40, PROMPT = 8, EOS = 0 };

static seqc_model *make_model(void)
{
	seqc_gpt_config c = seqc_gpt_config_defaults();
	c.vocab = VOCAB;
	c.context = 256;
	c.layers = 6;
	c.heads = 6;
	c.embed = 384;
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	return seqc_model_wrap_gpt(seqc_gpt_create(&c, &rng));
}

static int bench(seqc_model *m, const config *cf, double seconds)
{
	size_t B = cf->prompts;
	int32_t *ids = malloc(B * PROMPT * sizeof *ids);
	const int32_t **prompts = malloc(B * sizeof *prompts);
	size_t *lens = malloc(B * sizeof *lens);
	seqc_beam_result *res = calloc(B, sizeof *res);
	seqc_graph *g = seqc_graph_create(0);
	if (!ids || !prompts || !lens || !res || !g) {
		fprintf(stderr, "bench_beam: cannot allocate\n");
		return 1;
	}
	for (size_t b = 0; b < B; b++) {
		for (size_t t = 0; t < PROMPT; t++)
			ids[b * PROMPT + t] = t ? (int32_t)(1 + (b * 131 + t * 17) % (VOCAB - 1)) : EOS;
		prompts[b] = ids + b * PROMPT;
		lens[b] = PROMPT;
	}
	seqc_beam_config c = seqc_beam_defaults();
	c.beam = BEAM;
	c.min_len = c.max_len = STEPS;
	size_t sentences = 0, calls = 0;
	double t0 = 0, t_end = 0;
	/* the first call warms the arena and the cache up and is not timed */
	while (calls < 2 || bench_now() < t_end) {
		if (calls == 1) {
			t0 = bench_now();
			t_end = t0 + seconds;
		}
		if (seqc_beam_search(m, g, &c, prompts, lens, B, EOS, res) < 0) {
			fprintf(stderr, "bench_beam: %s\n", seqc_errmsg());
			return 1;
		}
		for (size_t b = 0; b < B; b++)
			if (res[b].n != 1 || res[b].hyps[0].len != STEPS) {
				fprintf(stderr, "bench_beam: prompt %zu: unexpected result\n", b);
				return 1;
			}
		seqc_beam_results_free(res, B);
		sentences += calls++ ? B : 0;
	}
	double dt = bench_now() - t0, sps = (double)sentences / dt;
	printf("{\"bench\":\"beam\",\"config\":\"%s\",\"impl\":\"seqc\",\"layers\":6,\"heads\":6,"
	       "\"embed\":384,\"vocab\":%d,\"beam\":%d,\"steps\":%d,\"prompt\":%d,"
	       "\"prompts_per_call\":%zu,\"sentences\":%zu,\"sentences_per_s\":%.2f,"
	       "\"tokens_per_s\":%.1f,\"threads\":%d}\n",
	       cf->name, VOCAB, BEAM, STEPS, PROMPT, B, sentences, sps, sps * STEPS,
	       bench_threads());
	fflush(stdout);
	seqc_graph_destroy(g);
	free(res);
	free(lens);
	free(prompts);
	free(ids);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 10;
	const char *only = NULL;
	if (!bench_args(argc, argv, "bench_beam", &seconds, &only))
		return 2;
	bench_machine_line();
	seqc_model *m = make_model();
	if (!m) {
		fprintf(stderr, "bench_beam: %s\n", seqc_errmsg());
		return 1;
	}
	int rc = 0;
	for (size_t i = 0; i < sizeof CONFIGS / sizeof CONFIGS[0]; i++)
		if (!only || !strcmp(only, CONFIGS[i].name))
			rc |= bench(m, &CONFIGS[i], seconds);
	seqc_model_destroy(m);
	return rc;
}
