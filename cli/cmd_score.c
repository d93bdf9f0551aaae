/* seqc score: log-probability, perplexity and bits per character of a text. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decode/score.h"

static const char *const CMD = "seqc score";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seqc score -m CKPT [--per-token] [FILE|-]\n"
		"\n"
		"Scores the text of FILE (stdin when absent or '-') under the model: the text\n"
		"is preceded by the bos token and every token of it is scored. Prints one JSON\n"
		"object:\n"
		"  {\"tokens\": N, \"logprob\": SUM, \"nll_per_token\": X, \"bits_per_char\": Y,\n"
		"   \"perplexity\": Z}\n"
		"logprob is the sum of natural-log probabilities (<= 0), nll_per_token =\n"
		"-logprob / N, perplexity = exp(nll_per_token), bits_per_char = -logprob / ln 2\n"
		"divided by the number of characters (code points) of the text.\n"
		"\n"
		"  -m, --model CKPT    checkpoint\n"		"                      or hf:FILE, a Hugging Face GPT-2 model.safetensors\n"
		"                      (n_head from the config.json beside it)\n"
		"  --tokenizer SPEC    another tokenizer than the checkpoint's (needed with hf:):\n"
		"                      gpt2:DIR, bpe:DIR, spm:FILE, char:FILE or a checkpoint\n"
		"  --per-token         first one line per token: {\"pos\": i, \"token\": \"c\", \"id\": k,\n"
		"                      \"logprob\": l}\n"
		"example: seqc score -m run/model.safetensors held_out.txt\n");
}

static size_t count_code_points(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

int cmd_score(int argc, char **argv)
{
	const char *ckpt = NULL, *file = "-", *tok_spec = NULL;
	bool per_token = false, have_file = false;
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
		} else if (arg_flag(&a, "--per-token")) {
			per_token = true;
		} else if (argv[a.i][0] != '-' || !strcmp(argv[a.i], "-")) {
			if (have_file) {
				fprintf(stderr, "%s: one FILE at most\n", CMD);
				return EXIT_USAGE;
			}
			file = argv[a.i];
			have_file = true;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see seqc score --help)\n", CMD, argv[a.i]);
			return EXIT_USAGE;
		}
	}
	if (!ckpt) {
		fprintf(stderr, "%s: -m CKPT is required (see seqc score --help)\n", CMD);
		return EXIT_USAGE;
	}
	seqc_model *m = NULL;
	seqc_tok *tok = NULL;
	char *text = NULL;
	int32_t *ids = NULL;
	float *lp = NULL;
	size_t len, n;
	int rc = EXIT_FAIL;
	if (load_checkpoint(CMD, ckpt, tok_spec, &m, &tok) < 0 || read_all(CMD, file, &text, &len) < 0)
		goto done;
	if (seqc_tok_encode(tok, text, len, &ids, &n) < 0) {
		seqc_error_wrap("%s", file);
		fail(CMD);
		goto done;
	}
	if (!(lp = malloc((n ? n : 1) * sizeof *lp))) {
		fprintf(stderr, "%s: out of memory\n", CMD);
		goto done;
	}
	if (seqc_score(m, ids, n, seqc_tok_start(tok), lp) < 0) {
		fail(CMD);
		goto done;
	}
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		sum += lp[i];
		if (per_token) {
			size_t pl;
			const char *piece = seqc_tok_piece(tok, ids[i], &pl);
			json_t *o = json_pack("{s:I, s:s%, s:i, s:f}", "pos", (json_int_t)i, "token",
					      piece ? piece : "", piece ? pl : (size_t)0, "id", ids[i],
					      "logprob", (double)lp[i]);
			print_json_line(o, JSON_COMPACT);
		}
	}
	size_t chars = count_code_points(text, len);
	double nll = n ? -sum / (double)n : NAN;
	json_t *o = json_pack("{s:I, s:f, s:f, s:f, s:f}", "tokens", (json_int_t)n, "logprob", sum,
			      "nll_per_token", n ? nll : 0.0, "bits_per_char",
			      chars ? -sum / M_LN2 / (double)chars : 0.0, "perplexity", n ? exp(nll) : 1.0);
	if (print_json_line(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) < 0) {
		fail(CMD);
		goto done;
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
done:
	free(lp);
	free(ids);
	free(text);
	seqc_tok_destroy(tok);
	seqc_model_destroy(m);
	return rc;
}
