/* seqc: the command-line program. Thin: every real decision is a library
 * call. Results go to stdout, progress to stderr. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq/seqc.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seqc COMMAND [OPTIONS]\n"
		"\n"
		"Sequence models (RNN, LSTM, GRU, Transformer) on the CPU.\n"
		"\n"
		"commands available now:\n"
		"  demo [--steps N] [--seed S]   train a small MLP on a 3-arm spiral with the\n"
		"                                core engine and print its loss falling\n"
		"                                (defaults: --steps 2000 --seed 1)\n"
		"  --version                     print the version\n"
		"  --help                        print this help\n"
		"\n"
		"commands to come (see README.md, 'What works today'):\n"
		"  train       train a character-level or subword language model on a text file\n"
		"  sample      generate text from a trained model\n"
		"  score       log-probability, perplexity and bits per character of a text\n"
		"  tokenize    text to token ids;  detokenize: ids to text\n"
		"  tokenizer   train a BPE or SentencePiece tokenizer\n"
		"  translate   translate with a seq2seq model\n"
		"  bleu        corpus BLEU and chrF of hypotheses against references\n"
		"\n"
		"example: seqc demo --steps 1000\n");
}

/* Parse a whole decimal integer in [lo, hi]; 0 or -1 with a message. */
static int parse_long(const char *flag, const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (!s || errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "seqc: %s needs an integer in [%ld, %ld], got '%s'\n", flag, lo, hi,
			s ? s : "");
		return -1;
	}
	*out = v;
	return 0;
}

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

static int demo(int argc, char **argv)
{
	long steps = 2000; /* full-batch SGD steps */
	long seed = 1;     /* seeds data and weights */
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--steps") && parse_long("--steps", argv[i + 1], 1, 1000000, &steps) == 0)
			i++;
		else if (!strcmp(argv[i], "--seed") && parse_long("--seed", argv[i + 1], 0, 1L << 31, &seed) == 0)
			i++;
		else {
			if (strcmp(argv[i], "--steps") && strcmp(argv[i], "--seed"))
				fprintf(stderr, "seqc demo: unknown option '%s'\n", argv[i]);
			return 2;
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
	for (long step = 1; step <= steps; step++) {
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
			printf("step %5ld  loss %.4f  accuracy %.1f%%\n", step, (double)loss->val[0],
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

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("seqc %s\n", seqc_version());
		return 0;
	}
	if (!strcmp(cmd, "demo"))
		return demo(argc - 2, argv + 2);
	fprintf(stderr, "seqc: unknown command '%s' (see seqc --help)\n", cmd);
	return 2;
}
