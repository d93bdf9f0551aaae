/* seqc translate: one line in, one line out, with beam search. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decode/translate.h"
#include "train/pairs.h"

static const char *const CMD = "seqc translate";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seqc translate -m CKPT [options] [FILE|-] > hypotheses\n"
		"\n"
		"Translates every line of FILE (stdin when absent or '-') with a trained\n"
		"s2s-transformer or s2s-rnn model: one output line per input line, in order\n"
		"(an empty line gives an empty line). Lines are batched by length inside.\n"
		"A source longer than --max-len tokens is cut there, with a warning naming\n"
		"the line on stderr.\n"
		"\n"
		"  -m, --model CKPT    checkpoint (DIR/model.safetensors of seqc train --src)\n"
		"  --beam K            beams per sentence (5)\n"
		"  --lenpen P          none, avg:ALPHA (score / len^ALPHA) or gnmt:ALPHA\n"
		"                      (score / ((5 + len) / 6)^ALPHA) (avg:1)\n"
		"  --coverage BETA     GNMT's coverage penalty on the cross-attention (0: off)\n"
		"  --nbest N           N hypotheses per line (1): then lines\n"
		"                      'LINE ||| hypothesis ||| score ||| logprob', LINE from 0\n"
		"  --max-len N         longest source in tokens, eos included (the model's, 256)\n"
		"  --len-a A, --len-b B  at most A x source length + B tokens out (1.5, 10)\n"
		"  --max-tokens N      source tokens per batch (2048)\n"
		"  --replace-invalid   invalid UTF-8 becomes U+FFFD instead of an error\n"
		"  --json              one JSON object per hypothesis: {\"line\", \"rank\", \"text\",\n"
		"                      \"tokens\", \"logprob\", \"score\"}\n"
		"\n"
		"example: seqc translate -m de-en/model.safetensors < test2016.de > hyp.en\n");
}

typedef struct translate_args {
	const char *ckpt, *file;
	seqc_beam_config beam;
	size_t max_len, max_tokens;
	double len_a, len_b;
	bool json, replace;
} translate_args;

static int parse_args(int argc, char **argv, translate_args *o)
{
	args a = { argc, argv, 0, CMD };
	bool have_file = false;
	for (a.i = 0; a.i < argc; a.i++) {
		const char *v;
		double d;
		if (arg_flag(&a, "--help") || arg_flag(&a, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (arg_is(&a, "-m", &v) || arg_is(&a, "--model", &v)) {
			if (!(o->ckpt = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--beam", &v)) {
			if (parse_size(CMD, "--beam", v, 1, 256, &o->beam.beam) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--nbest", &v)) {
			if (parse_size(CMD, "--nbest", v, 1, 256, &o->beam.nbest) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--lenpen", &v)) {
			if (!v || parse_lenpen(CMD, v, &o->beam) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--coverage", &v)) {
			if (parse_real(CMD, "--coverage", v, 0, 100, &d) < 0)
				return EXIT_USAGE;
			o->beam.coverage_beta = (float)d;
		} else if (arg_is(&a, "--max-len", &v)) {
			if (parse_size(CMD, "--max-len", v, 2, 1 << 20, &o->max_len) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--len-a", &v)) {
			if (parse_real(CMD, "--len-a", v, 0, 100, &o->len_a) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--len-b", &v)) {
			if (parse_real(CMD, "--len-b", v, 0, 1 << 20, &o->len_b) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--max-tokens", &v)) {
			if (parse_size(CMD, "--max-tokens", v, 1, 1 << 24, &o->max_tokens) < 0)
				return EXIT_USAGE;
		} else if (arg_flag(&a, "--json")) {
			o->json = true;
		} else if (arg_flag(&a, "--replace-invalid")) {
			o->replace = true;
		} else if (argv[a.i][0] != '-' || !strcmp(argv[a.i], "-")) {
			if (have_file) {
				fprintf(stderr, "%s: one FILE at most\n", CMD);
				return EXIT_USAGE;
			}
			o->file = argv[a.i];
			have_file = true;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see seqc translate --help)\n", CMD, argv[a.i]);
			return EXIT_USAGE;
		}
	}
	if (!o->ckpt) {
		fprintf(stderr, "%s: -m CKPT is required (see seqc translate --help)\n", CMD);
		return EXIT_USAGE;
	}
	if (o->beam.nbest > o->beam.beam) {
		fprintf(stderr, "%s: --nbest %zu is more than --beam %zu\n", CMD, o->beam.nbest, o->beam.beam);
		return EXIT_USAGE;
	}
	return -1;
}

/* One hypothesis of source line `line` (0-based) as the chosen format. */
static int write_hyp(const translate_args *o, const seqc_tok *tok, size_t line, size_t rank,
		     const seqc_beam_hyp *h, int32_t eos)
{
	size_t n = h ? h->len - (h->len && h->ids[h->len - 1] == eos) : 0, len;
	char *text;
	int rc = seqc_tok_decode(tok, h ? h->ids : NULL, n, &text, &len);
	if (rc < 0)
		return rc;
	if (o->json) {
		json_t *j = json_pack("{s:I, s:I, s:s%, s:I, s:f, s:f}", "line", (json_int_t)line, "rank",
				      (json_int_t)rank, "text", text, len, "tokens", (json_int_t)n,
				      "logprob", h ? (double)h->logprob : 0.0, "score",
				      h ? (double)h->score : 0.0);
		free(text);
		return print_json_line(j, JSON_COMPACT);
	}
	int w = o->beam.nbest > 1 ? printf("%zu ||| %s ||| %.4f ||| %.4f\n", line, text,
					   h ? (double)h->score : 0.0, h ? (double)h->logprob : 0.0)
				  : printf("%s\n", text);
	free(text);
	return w < 0 ? seqc_error(SEQC_EIO, "stdout: write error") : 0;
}

/* Each source's hypotheses in order; an empty line gives an empty output. */
static int write_all(const translate_args *o, const seqc_tok *tok, const seqc_pairs *p,
		     const seqc_beam_result *res, int32_t eos)
{
	for (size_t i = 0; i < p->n; i++) {
		bool empty = p->pairs[i].src_len == 0;
		size_t n = empty ? 1 : res[i].n;
		for (size_t r = 0; r < n; r++) {
			int rc = write_hyp(o, tok, i, r, empty ? NULL : &res[i].hyps[r], eos);
			if (rc < 0)
				return rc;
		}
	}
	return fflush(stdout) == 0 ? 0 : seqc_error(SEQC_EIO, "stdout: write error");
}

int cmd_translate(int argc, char **argv)
{
	translate_args o = { .file = "-", .beam = seqc_beam_defaults(), .max_tokens = 2048,
			     .len_a = 1.5, .len_b = 10 };
	o.beam.beam = 5;
	o.beam.lenpen = SEQC_LENPEN_AVG;
	o.beam.alpha = 1;
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = EXIT_FAIL;
	seqc_model *m = NULL;
	seqc_tok *tok = NULL;
	seqc_pairs p = { 0 };
	seqc_beam_result *res = NULL;
	if (load_checkpoint(CMD, o.ckpt, NULL, &m, &tok) < 0)
		goto done;
	if (!seqc_model_is_s2s(m)) {
		fprintf(stderr, "%s: %s is a language model (%s): use seqc sample\n", CMD, o.ckpt, m->arch);
		goto done;
	}
	int32_t eos = seqc_tok_eos(tok), bos = seqc_tok_start(tok);
	if (eos < 0 || bos < 0) {
		fprintf(stderr, "%s: the checkpoint's tokenizer has no eos token\n", CMD);
		goto done;
	}
	if (!o.max_len)
		o.max_len = m->s2st ? m->s2st->c.max_len : 256;
	seqc_pairs_options po = { .src_path = strcmp(o.file, "-") ? o.file : "stdin", .src_tok = tok,
				  .max_len = o.max_len, .replace_invalid = o.replace };
	char *text = NULL;
	size_t len;
	if (read_all(CMD, o.file, &text, &len) < 0)
		goto done;
	int r = len ? seqc_sources_from_text(&po, text, len, &p) : 0;
	free(text);
	if (r < 0) {
		fail(CMD);
		goto done;
	}
	for (size_t i = 0; i < p.n; i++)
		if (p.pairs[i].src_len + (size_t)1 > o.max_len)
			fprintf(stderr, "%s: warning: line %u has %u tokens, over --max-len %zu with its "
					"eos: translating its first %zu\n", CMD, p.pairs[i].line,
				p.pairs[i].src_len, o.max_len, o.max_len - 1);
	if (p.n_long && seqc_sources_truncate(&p, o.max_len) < 0) {
		fail(CMD);
		goto done;
	}
	if (!(res = calloc(p.n ? p.n : 1, sizeof *res))) {
		fprintf(stderr, "%s: out of memory\n", CMD);
		goto done;
	}
	o.beam.max_len = (size_t)(o.len_a * (double)o.max_len + o.len_b) + 1;
	seqc_beam_config check = o.beam;
	check.coverage_beta = 0; /* its hook is the model's, set when translating */
	if (seqc_beam_check(&check) < 0) {
		fprintf(stderr, "%s: %s\n", CMD, seqc_errmsg());
		rc = EXIT_USAGE;
		goto done;
	}
	if (seqc_translate_sources(m, &o.beam, &p, o.max_tokens, o.len_a, (size_t)o.len_b, bos, eos,
				   res) < 0 ||
	    write_all(&o, tok, &p, res, eos) < 0) {
		fail(CMD);
		goto done;
	}
	rc = EXIT_OK;
done:
	if (res)
		seqc_beam_results_free(res, p.n);
	free(res);
	seqc_pairs_free(&p);
	seqc_tok_destroy(tok);
	seqc_model_destroy(m);
	return rc;
}
