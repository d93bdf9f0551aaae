/* seqc score: log-probability, perplexity and bits per character of a text. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decode/score.h"
#include "train/pairs.h"

static const char *const CMD = "seqc score";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seqc score -m CKPT [--per-token] [FILE|-]\n"
		"       seqc score -m CKPT --src SOURCES [--per-line] [--per-token] [TARGETS|-]\n"
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
		"With a translation model (s2s-transformer, s2s-rnn) and --src, line i of\n"
		"TARGETS is scored given line i of SOURCES (line-aligned files): every target\n"
		"token and the eos that ends it, as in training. Prints one JSON object:\n"
		"  {\"lines\": L, \"tokens\": N, \"logprob\": SUM, \"nll_per_token\": X,\n"
		"   \"perplexity\": Z}\n"
		"\n"
		"  -m, --model CKPT    checkpoint\n"		"                      or hf:FILE, a Hugging Face GPT-2 model.safetensors\n"
		"                      (n_head from the config.json beside it)\n"
		"  --tokenizer SPEC    another tokenizer than the checkpoint's (needed with hf:):\n"
		"                      gpt2:DIR, bpe:DIR, spm:FILE, char:FILE or a checkpoint\n"
		"  --per-token         first one line per token: {\"pos\": i, \"token\": \"c\", \"id\": k,\n"
		"                      \"logprob\": l} (with --src also \"line\", from 0)\n"
		"  --src SOURCES       the source side, for a translation model\n"
		"  --per-line          with --src, first one line per pair: {\"line\": i, \"tokens\": n,\n"
		"                      \"logprob\": l, \"nll_per_token\": x}, line from 0\n"
		"example: seqc score -m run/model.safetensors held_out.txt\n"
		"         seqc score -m de-en/model.safetensors --src test.de test.en\n");
}

static size_t count_code_points(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

typedef struct score_args {
	const char *ckpt, *file, *tok_spec, *src;
	bool per_token, per_line;
} score_args;

static int parse_args(int argc, char **argv, score_args *o)
{
	bool have_file = false;
	args a = { argc, argv, 0, CMD };
	for (a.i = 0; a.i < argc; a.i++) {
		const char *v;
		if (arg_flag(&a, "--help") || arg_flag(&a, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (arg_is(&a, "--tokenizer", &v)) {
			if (!(o->tok_spec = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "-m", &v) || arg_is(&a, "--model", &v)) {
			if (!(o->ckpt = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--src", &v)) {
			if (!(o->src = v))
				return EXIT_USAGE;
		} else if (arg_flag(&a, "--per-token")) {
			o->per_token = true;
		} else if (arg_flag(&a, "--per-line")) {
			o->per_line = true;
		} else if (argv[a.i][0] != '-' || !strcmp(argv[a.i], "-")) {
			if (have_file) {
				fprintf(stderr, "%s: one FILE at most\n", CMD);
				return EXIT_USAGE;
			}
			o->file = argv[a.i];
			have_file = true;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see seqc score --help)\n", CMD, argv[a.i]);
			return EXIT_USAGE;
		}
	}
	if (!o->ckpt) {
		fprintf(stderr, "%s: -m CKPT is required (see seqc score --help)\n", CMD);
		return EXIT_USAGE;
	}
	if (o->per_line && !o->src) {
		fprintf(stderr, "%s: --per-line needs --src (a translation model's sources)\n", CMD);
		return EXIT_USAGE;
	}
	if (o->src && !strcmp(o->src, "-") && !strcmp(o->file, "-")) {
		fprintf(stderr, "%s: --src - and the targets cannot both be stdin\n", CMD);
		return EXIT_USAGE;
	}
	return -1;
}

/* One line per token: {"pos", "token", "id", "logprob"}, with "line"
 * (from 0) when line >= 0. */
static int print_token(const seqc_tok *tok, long line, size_t pos, int32_t id, float lp)
{
	size_t pl;
	const char *piece = seqc_tok_piece(tok, id, &pl);
	json_t *o = json_pack("{s:I, s:s%, s:i, s:f}", "pos", (json_int_t)pos, "token",
			      piece ? piece : "", piece ? pl : (size_t)0, "id", id, "logprob", (double)lp);
	if (o && line >= 0 && json_object_set_new(o, "line", json_integer(line)) < 0)
		json_decref(o), o = NULL;
	return print_json_line(o, JSON_COMPACT);
}

/* The totals' object as the last line of output: EXIT_OK or EXIT_FAIL. */
static int print_total(json_t *j)
{
	if (print_json_line(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) < 0)
		return fail(CMD);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* A language model's score of one text. */
static int score_text(const score_args *o, seqc_model *m, const seqc_tok *tok)
{
	char *text = NULL;
	int32_t *ids = NULL;
	float *lp = NULL;
	size_t len, n;
	int rc = EXIT_FAIL;
	if (read_all(CMD, o->file, &text, &len) < 0)
		goto done;
	if (seqc_tok_encode(tok, text, len, &ids, &n) < 0) {
		seqc_error_wrap("%s", o->file);
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
		if (o->per_token && print_token(tok, -1, i, ids[i], lp[i]) < 0) {
			fail(CMD);
			goto done;
		}
	}
	size_t chars = count_code_points(text, len);
	double nll = n ? -sum / (double)n : NAN;
	json_t *j = json_pack("{s:I, s:f, s:f, s:f, s:f}", "tokens", (json_int_t)n, "logprob", sum,
			      "nll_per_token", n ? nll : 0.0, "bits_per_char",
			      chars ? -sum / M_LN2 / (double)chars : 0.0, "perplexity", n ? exp(nll) : 1.0);
	rc = print_total(j);
done:
	free(lp);
	free(ids);
	free(text);
	return rc;
}

/* The lines of path as seqc_sources_load keeps them (every line, in
 * order, without eos); prints the error and returns -1. */
static int load_lines(const char *path, const seqc_tok *tok, seqc_pairs *p)
{
	seqc_pairs_options po = { .src_path = strcmp(path, "-") ? path : "stdin", .src_tok = tok };
	char *text = NULL;
	size_t len;
	if (read_all(CMD, path, &text, &len) < 0)
		return -1;
	int rc = seqc_sources_from_text(&po, text, len, p);
	free(text);
	if (rc < 0) {
		fail(CMD);
		return -1;
	}
	return 0;
}

/* Line i's ids followed by eos into buf (of the longest line + 1). */
static size_t with_eos(const seqc_pairs *p, size_t i, int32_t eos, int32_t *buf)
{
	size_t n = p->pairs[i].src_len;
	memcpy(buf, p->ids + p->pairs[i].off, n * sizeof *buf);
	buf[n] = eos;
	return n + 1;
}

/* A translation model's score of every target line given its source
 * line: the source with its eos, the target's tokens and eos, as the
 * training loss sees them (without label smoothing). */
static int score_pairs(const score_args *o, seqc_model *m, const seqc_tok *tok)
{
	seqc_pairs src = { 0 }, tgt = { 0 };
	int32_t *sbuf = NULL, *tbuf = NULL;
	float *lp = NULL;
	int rc = EXIT_FAIL;
	int32_t eos = seqc_tok_eos(tok), bos = seqc_tok_start(tok);
	const char *tgt_name = strcmp(o->file, "-") ? o->file : "stdin";
	if (eos < 0 || bos < 0) {
		fprintf(stderr, "%s: the checkpoint's tokenizer has no eos token\n", CMD);
		return EXIT_FAIL;
	}
	if (load_lines(o->src, tok, &src) < 0 || load_lines(o->file, tok, &tgt) < 0)
		goto done;
	if (src.n != tgt.n) {
		fprintf(stderr, "%s: %s has %zu lines but %s has %zu: the files must be line-aligned\n",
			CMD, o->src, src.n, tgt_name, tgt.n);
		goto done;
	}
	/* max_src, max_tgt count eos: positions of the longest line */
	sbuf = malloc(src.max_src * sizeof *sbuf);
	tbuf = malloc(tgt.max_src * sizeof *tbuf);
	lp = malloc(tgt.max_src * sizeof *lp);
	if (!sbuf || !tbuf || !lp) {
		fprintf(stderr, "%s: out of memory\n", CMD);
		goto done;
	}
	double sum = 0;
	size_t tokens = 0;
	for (size_t i = 0; i < src.n; i++) {
		size_t S = with_eos(&src, i, eos, sbuf), T = with_eos(&tgt, i, eos, tbuf);
		if (seqc_model_set_source(m, sbuf, &S, 1, S) < 0 || seqc_score(m, tbuf, T, bos, lp) < 0) {
			seqc_error_wrap("line %u of %s and %s", src.pairs[i].line, o->src, tgt_name);
			fail(CMD);
			goto done;
		}
		double line_sum = 0;
		for (size_t k = 0; k < T; k++) {
			line_sum += lp[k];
			if (o->per_token && print_token(tok, (long)i, k, tbuf[k], lp[k]) < 0) {
				fail(CMD);
				goto done;
			}
		}
		if (o->per_line) {
			json_t *j = json_pack("{s:I, s:I, s:f, s:f}", "line", (json_int_t)i, "tokens",
					      (json_int_t)T, "logprob", line_sum, "nll_per_token",
					      -line_sum / (double)T);
			if (print_json_line(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) < 0) {
				fail(CMD);
				goto done;
			}
		}
		sum += line_sum;
		tokens += T;
	}
	double nll = -sum / (double)tokens;
	json_t *j = json_pack("{s:I, s:I, s:f, s:f, s:f}", "lines", (json_int_t)src.n, "tokens",
			      (json_int_t)tokens, "logprob", sum, "nll_per_token", nll, "perplexity",
			      exp(nll));
	rc = print_total(j);
done:
	free(lp);
	free(tbuf);
	free(sbuf);
	seqc_pairs_free(&tgt);
	seqc_pairs_free(&src);
	return rc;
}

int cmd_score(int argc, char **argv)
{
	score_args o = { .file = "-" };
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	seqc_model *m = NULL;
	seqc_tok *tok = NULL;
	rc = EXIT_FAIL;
	if (load_checkpoint(CMD, o.ckpt, o.tok_spec, &m, &tok) < 0)
		goto done;
	if (seqc_model_is_s2s(m) != (o.src != NULL)) {
		fprintf(stderr, o.src ? "%s: %s is a language model (%s): --src is for a translation model\n"
				      : "%s: %s is a translation model (%s): give its sources with --src\n",
			CMD, o.ckpt, m->arch);
		goto done;
	}
	rc = o.src ? score_pairs(&o, m, tok) : score_text(&o, m, tok);
done:
	seqc_tok_destroy(tok);
	seqc_model_destroy(m);
	return rc;
}
