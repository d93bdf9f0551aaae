/* seqc sample: text from a trained model, streamed as it is generated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decode/sample.h"
#include "models/model.h"

static const char *const CMD = "seqc sample";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seqc sample -m CKPT [options]\n"
		"\n"
		"Generates text from a trained model, after the bos token and the optional\n"
		"prime, and writes it to stdout as it is generated (the prime first).\n"
		"\n"
		"  -m, --model CKPT    checkpoint (e.g. run/model.safetensors)\n"		"                      or hf:FILE, a Hugging Face GPT-2 model.safetensors\n"
		"                      (n_head from the config.json beside it)\n"
		"  --tokenizer SPEC    another tokenizer than the checkpoint's (needed with hf:):\n"
		"                      gpt2:DIR, bpe:DIR, spm:FILE, char:FILE or a checkpoint\n"
		"  --prime TEXT        text to start from (none)\n"
		"  --len N             tokens to generate (500)\n"
		"  --temperature T     0 = always the most likely token (1)\n"
		"  --top-k K           sample among the K most likely tokens (all)\n"
		"  --top-p P           sample among the most likely tokens reaching probability P (1)\n"
		"  --seed S            seed of the sampler (1337)\n"
		"\n"
		"Generation stops early at the eos token.\n"
		"example: seqc sample -m run/model.safetensors --prime 'ROMEO:' --temperature 0.8\n");
}

/* Writes what the decoder gives for id; -1 on a write error. */
static int emit(seqc_detok *d, int32_t id, char *buf)
{
	int n = seqc_detok_push(d, id, buf, SEQC_DETOK_MAX);
	if (n < 0)
		return n;
	if (n && (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout) != 0))
		return seqc_error(SEQC_EIO, "stdout: write error");
	return 0;
}

/* Feeds tok to the model (one row), appended to the history hist[*n]. A
 * model whose context is full (gpt) starts again on the last half of its
 * context, then takes tok: generation slides past the context. */
static int feed(seqc_model *m, seqc_graph *g, int32_t *hist, size_t *n, int32_t tok,
		seqc_tensor **logits)
{
	hist[(*n)++] = tok;
	int rc = seqc_model_step(m, g, &tok, logits);
	if (rc != SEQC_ERANGE || !m->gpt)
		return rc;
	size_t keep = m->gpt->c.context / 2;
	if ((rc = seqc_model_start(m, 1)) < 0)
		return rc;
	for (size_t i = *n - 1 - keep; i < *n; i++) {
		seqc_graph_reset(g);
		if ((rc = seqc_model_step(m, g, &hist[i], logits)) < 0)
			return rc;
	}
	return 0;
}

int cmd_sample(int argc, char **argv)
{
	const char *ckpt = NULL, *prime = "", *tok_spec = NULL;
	size_t len = 500, top_k = 0;
	double temperature = 1.0, top_p = 1.0;
	long long seed = 1337;
	args a = { argc, argv, 0, CMD };
	for (a.i = 0; a.i < argc; a.i++) {
		const char *v;
		if (arg_flag(&a, "--help") || arg_flag(&a, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (arg_is(&a, "--tokenizer", &v)) {
			if (!(tok_spec = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "-m", &v) || arg_is(&a, "--model", &v)) {
			if (!(ckpt = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--prime", &v)) {
			if (!(prime = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--len", &v)) {
			if (parse_size(CMD, "--len", v, 0, (size_t)1 << 32, &len) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--temperature", &v)) {
			if (parse_real(CMD, "--temperature", v, 0, 100, &temperature) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--top-k", &v)) {
			if (parse_size(CMD, "--top-k", v, 1, (size_t)1 << 31, &top_k) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--top-p", &v)) {
			if (parse_real(CMD, "--top-p", v, 1e-6, 1, &top_p) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--seed", &v)) {
			if (parse_int(CMD, "--seed", v, 0, INT64_MAX, &seed) < 0)
				return EXIT_USAGE;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see seqc sample --help)\n", CMD, argv[a.i]);
			return EXIT_USAGE;
		}
	}
	if (!ckpt) {
		fprintf(stderr, "%s: -m CKPT is required (see seqc sample --help)\n", CMD);
		return EXIT_USAGE;
	}
	seqc_model *m = NULL;
	seqc_tok *tok = NULL;
	seqc_detok *d = NULL;
	seqc_graph *g = NULL;
	int32_t *pids = NULL, *hist = NULL;
	size_t nhist = 0;
	seqc_sampler s = { 0 };
	int rc = EXIT_FAIL;
	if (load_checkpoint(CMD, ckpt, tok_spec, &m, &tok) < 0)
		goto done;
	size_t np;
	seqc_sampler_config sc = seqc_sampler_defaults();
	sc.temperature = (float)temperature;
	sc.top_k = top_k;
	sc.top_p = (float)top_p;
	if (seqc_tok_encode(tok, prime, strlen(prime), &pids, &np) < 0) {
		seqc_error_wrap("--prime");
		fail(CMD);
		goto done;
	}
	if (!(d = seqc_detok_create(tok)) || !(g = seqc_graph_create(0)) ||
	    seqc_sampler_init(&s, &sc, (uint64_t)seed) < 0 || seqc_model_start(m, 1) < 0) {
		fail(CMD);
		goto done;
	}
	char buf[SEQC_DETOK_MAX];
	int32_t tokid = seqc_tok_start(tok), eos = seqc_tok_eos(tok);
	seqc_tensor *logits;
	if (!(hist = malloc((np + len + 1) * sizeof *hist))) {
		fprintf(stderr, "%s: out of memory\n", CMD);
		goto done;
	}
	/* the prime: echo it, and run the model over bos and all its tokens */
	for (size_t i = 0; i < np; i++) {
		seqc_graph_reset(g);
		if (feed(m, g, hist, &nhist, tokid, &logits) < 0 || emit(d, pids[i], buf) < 0) {
			fail(CMD);
			goto done;
		}
		tokid = pids[i];
	}
	for (size_t i = 0; i < len; i++) {
		seqc_graph_reset(g);
		if (feed(m, g, hist, &nhist, tokid, &logits) < 0) {
			fail(CMD);
			goto done;
		}
		tokid = seqc_sample(&s, logits->val, m->vocab);
		if (tokid < 0) {
			fail(CMD);
			goto done;
		}
		if (tokid == eos)
			break;
		if (emit(d, tokid, buf) < 0) {
			fail(CMD);
			goto done;
		}
	}
	int n = seqc_detok_flush(d, buf, sizeof buf);
	if (n > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	fputc('\n', stdout);
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
done:
	free(hist);
	free(pids);
	seqc_sampler_free(&s);
	seqc_graph_destroy(g);
	seqc_detok_destroy(d);
	seqc_tok_destroy(tok);
	seqc_model_destroy(m);
	return rc;
}
