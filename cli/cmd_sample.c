/* seqc sample: text from a trained model, streamed as it is generated, or
 * many continuations at once (decode/generate.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decode/beam.h"
#include "decode/generate.h"
#include "models/model.h"

static const char *const CMD = "seqc sample";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seqc sample -m CKPT [options]\n"
		"\n"
		"Generates text from a trained model, after the start token and the optional\n"
		"prime, and writes it to stdout as it is generated (the prime first).\n"
		"\n"
		"  -m, --model CKPT    checkpoint (e.g. run/model.safetensors)\n"
		"                      or hf:FILE, a Hugging Face GPT-2 model.safetensors\n"
		"                      (n_head from the config.json beside it)\n"
		"  --tokenizer SPEC    another tokenizer than the checkpoint's (needed with hf:):\n"
		"                      gpt2:DIR, bpe:DIR, spm:FILE, char:FILE or a checkpoint\n"
		"  --prime TEXT        text to start from (none)\n"
		"  --prompts FILE      one prime per line ('-': stdin), all generated at once\n"
		"  --num-samples N     N continuations of each prime (1)\n"
		"  --len, --max-len N  the most tokens to generate per continuation (500)\n"
		"  --min-len N         no eos before N tokens are generated (0)\n"
		"  --temperature T     0 = always the most likely token (1)\n"
		"  --top-k K           sample among the K most likely tokens (all)\n"
		"  --top-p P           sample among the most likely tokens reaching probability P (1)\n"
		"  --min-p P           drop tokens less likely than P times the most likely one (0)\n"
		"  --repetition-penalty R  divide (multiply, if negative) the logit of every token\n"
		"                      already in the prime or the continuation by R (1: none)\n"
		"  --no-repeat-ngram N never repeat an N-gram of the prime and continuation (0: off)\n"
		"  --stop STR          end a continuation where its text reaches STR, which is\n"
		"                      not written (repeatable; \\n, \\t and \\\\ are escapes)\n"
		"  --seed S            seed of the sampler (1337); continuation r uses S + r\n"
		"  --json              one JSON object per line instead of the text\n"
		"beam search (instead of sampling; --len, --min-len and --no-repeat-ngram apply):\n"
		"  --beam K            beam search with K beams per prime\n"
		"  --lenpen P          length normalization of finished hypotheses: none (the\n"
		"                      sum of log-probabilities), avg:ALPHA (sum / len^ALPHA;\n"
		"                      avg:1 is the mean) or gnmt:ALPHA (sum / ((5 + len) / 6)^ALPHA)\n"
		"                      (none)\n"
		"  --nbest N           the N best hypotheses of each prime, best first (1)\n"
		"  --exact-stop        with --lenpen avg or gnmt, stop only when no alive beam can\n"
		"                      still enter the n-best (slower; the default stops as\n"
		"                      Hugging Face's early_stopping=False, which may miss one)\n"
		"\n"
		"A continuation ends at the eos token, after --len tokens, or at a stop\n"
		"string; a model whose context is full goes on from the last half of it.\n"
		"\n"
		"Output. With one prime and one sample, the prime and then the continuation,\n"
		"streamed, and a newline. With --prompts or --num-samples, one continuation\n"
		"after the other in order (prime 0 sample 0, prime 0 sample 1, ...), each as\n"
		"the prime, the continuation and a newline (the text itself may hold\n"
		"newlines: --json keeps one line per continuation). With --json, one line\n"
		"per continuation:\n"
		"  {\"prompt\": I, \"sample\": J, \"text\": PRIME+CONTINUATION,\n"
		"   \"finish\": \"eos\"|\"length\"|\"stop\"|\"context\"}\n"
		"With --beam, each prime's hypotheses best first, one line each (the prime and\n"
		"the continuation), or with --json:\n"
		"  {\"prompt\": I, \"rank\": R, \"text\": PRIME+CONTINUATION, \"tokens\": N,\n"
		"   \"logprob\": SUM, \"score\": NORMALIZED, \"finish\": \"eos\"|\"length\"}\n"
		"\n"
		"example: seqc sample -m run/model.safetensors --prime 'ROMEO:' --temperature 0.8\n"
		"         seqc sample -m run/model.safetensors --prompts primes.txt --stop '\\n\\n' --json\n"
		"         seqc sample -m run/model.safetensors --prime 'The ' --beam 5 --nbest 3 --len 40\n");
}

/* The options as given on the command line. */
typedef struct sample_args {
	const char *ckpt, *prime, *prompts, *tok_spec;
	const char **stop; /* [nstop] malloc'ed, escapes replaced */
	size_t nstop;
	size_t samples;
	bool json;
	seqc_gen_config gen;
	seqc_beam_config beam; /* beam.beam 0: sampling */
} sample_args;

/* Adds a --stop string, with its escapes \n, \t and \\ turned into a
 * newline, a tab and a backslash (a shell passes '\n' as two bytes). */
static int add_stop(sample_args *o, const char *arg)
{
	char *t = malloc(strlen(arg) + 1), *w = t;
	const char **p = t ? realloc(o->stop, (o->nstop + 1) * sizeof *p) : NULL;
	if (!p) {
		free(t);
		fprintf(stderr, "%s: out of memory\n", CMD);
		return -1;
	}
	o->stop = p;
	o->stop[o->nstop++] = t;
	for (const char *r = arg; *r; r++) {
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		char c = r[1] == 'n' ? '\n' : r[1] == 't' ? '\t' : r[1] == '\\' ? '\\' : 0;
		if (!c) {
			fprintf(stderr, "%s: --stop '%s': unknown escape (\\n, \\t and \\\\ are known)\n", CMD, arg);
			return -1;
		}
		*w++ = c;
		r++;
	}
	*w = 0;
	if (!t[0]) {
		fprintf(stderr, "%s: --stop needs a non-empty string\n", CMD);
		return -1;
	}
	return 0;
}

static void free_stops(sample_args *o)
{
	for (size_t i = 0; i < o->nstop; i++)
		free((char *)o->stop[i]);
	free(o->stop);
}

/* The sampling flags; 1 when argv[a->i] is none of them. */
static int sampling_flag(args *a, seqc_sampler_config *c)
{
	const char *v;
	double x;
	if (arg_is(a, "--len", &v) || arg_is(a, "--max-len", &v))
		return parse_size(CMD, "--len", v, 0, (size_t)1 << 32, &c->max_length);
	if (arg_is(a, "--min-len", &v))
		return parse_size(CMD, "--min-len", v, 0, (size_t)1 << 32, &c->min_length);
	if (arg_is(a, "--top-k", &v))
		return parse_size(CMD, "--top-k", v, 1, (size_t)1 << 31, &c->top_k);
	if (arg_is(a, "--no-repeat-ngram", &v))
		return parse_size(CMD, "--no-repeat-ngram", v, 0, (size_t)1 << 16, &c->no_repeat_ngram);
	const struct {
		const char *flag;
		double lo, hi;
		float *to;
	} reals[] = {
		{ "--temperature", 0, 100, &c->temperature },
		{ "--top-p", 1e-6, 1, &c->top_p },
		{ "--min-p", 0, 1, &c->min_p },
		{ "--repetition-penalty", 1e-6, 1e6, &c->repetition_penalty },
	};
	for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++)
		if (arg_is(a, reals[k].flag, &v)) {
			if (parse_real(CMD, reals[k].flag, v, reals[k].lo, reals[k].hi, &x) < 0)
				return -1;
			*reals[k].to = (float)x;
			return 0;
		}
	return 1;
}

/* Beam search takes the length flags; the sampling-only ones are refused
 * rather than ignored. -1 to go on, else EXIT_USAGE. */
static int check_beam_args(sample_args *o)
{
	const seqc_sampler_config *c = &o->gen.sample, d = seqc_sampler_defaults();
	const char *bad = c->temperature != d.temperature ? "--temperature"
			  : c->top_k != d.top_k ? "--top-k"
			  : c->top_p != d.top_p ? "--top-p"
			  : c->min_p != d.min_p ? "--min-p"
			  : c->repetition_penalty != d.repetition_penalty ? "--repetition-penalty"
			  : o->nstop ? "--stop"
			  : o->samples != 1 ? "--num-samples"
					    : NULL;
	if (bad) {
		fprintf(stderr, "%s: %s is for sampling; beam search (--beam) does not use it\n", CMD, bad);
		return EXIT_USAGE;
	}
	if (o->beam.nbest > o->beam.beam) {
		fprintf(stderr, "%s: --nbest %zu is more than --beam %zu\n", CMD, o->beam.nbest, o->beam.beam);
		return EXIT_USAGE;
	}
	o->beam.min_len = c->min_length;
	o->beam.max_len = c->max_length;
	o->beam.no_repeat_ngram = c->no_repeat_ngram;
	if (seqc_beam_check(&o->beam) < 0) {
		fprintf(stderr, "%s: %s\n", CMD, seqc_errmsg());
		return EXIT_USAGE;
	}
	return -1;
}

/* Parses argv into o; EXIT_OK after --help, EXIT_USAGE on a bad flag, -1
 * to go on. */
static int parse_args(int argc, char **argv, sample_args *o)
{
	long long seed = 1337;
	args a = { argc, argv, 0, CMD };
	for (a.i = 0; a.i < argc; a.i++) {
		const char *v;
		int rc;
		if (arg_flag(&a, "--help") || arg_flag(&a, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (arg_flag(&a, "--json")) {
			o->json = true;
		} else if (arg_is(&a, "--tokenizer", &v)) {
			if (!(o->tok_spec = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "-m", &v) || arg_is(&a, "--model", &v)) {
			if (!(o->ckpt = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--prime", &v)) {
			if (!(o->prime = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--prompts", &v)) {
			if (!(o->prompts = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--stop", &v)) {
			if (!v || add_stop(o, v) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--num-samples", &v)) {
			if (parse_size(CMD, "--num-samples", v, 1, 4096, &o->samples) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--beam", &v)) {
			if (parse_size(CMD, "--beam", v, 1, 4096, &o->beam.beam) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--nbest", &v)) {
			if (parse_size(CMD, "--nbest", v, 1, 4096, &o->beam.nbest) < 0)
				return EXIT_USAGE;
		} else if (arg_flag(&a, "--exact-stop")) {
			o->beam.exact_stop = true;
		} else if (arg_is(&a, "--lenpen", &v)) {
			if (!v || parse_lenpen(CMD, v, &o->beam) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--seed", &v)) {
			if (parse_int(CMD, "--seed", v, 0, INT64_MAX, &seed) < 0)
				return EXIT_USAGE;
		} else if ((rc = sampling_flag(&a, &o->gen.sample)) <= 0) {
			if (rc < 0)
				return EXIT_USAGE;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see seqc sample --help)\n", CMD, argv[a.i]);
			return EXIT_USAGE;
		}
	}
	o->gen.seed = (uint64_t)seed;
	if (!o->ckpt) {
		fprintf(stderr, "%s: -m CKPT is required (see seqc sample --help)\n", CMD);
		return EXIT_USAGE;
	}
	if (o->prime && o->prompts) {
		fprintf(stderr, "%s: --prime and --prompts cannot go together\n", CMD);
		return EXIT_USAGE;
	}
	const seqc_sampler_config *c = &o->gen.sample;
	if (c->max_length && c->min_length > c->max_length) {
		fprintf(stderr, "%s: --min-len %zu is above --len %zu\n", CMD, c->min_length, c->max_length);
		return EXIT_USAGE;
	}
	const seqc_beam_config d = seqc_beam_defaults();
	if (!o->beam.beam && (o->beam.nbest != d.nbest || o->beam.lenpen != d.lenpen || o->beam.exact_stop)) {
		fprintf(stderr, "%s: --nbest, --lenpen and --exact-stop are for beam search: give --beam K\n",
			CMD);
		return EXIT_USAGE;
	}
	return o->beam.beam ? check_beam_args(o) : -1;
}

/* The primes: --prime, or the lines of --prompts (a final newline makes no
 * empty last prime). *text owns what primes[] point into. */
static int read_primes(const sample_args *o, char **text, const char ***primes, size_t **lens, size_t *n)
{
	size_t len;
	if (!o->prompts) {
		*text = strdup(o->prime ? o->prime : "");
		len = strlen(*text);
	} else if (read_all(CMD, o->prompts, text, &len) < 0) {
		return -1;
	}
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += (*text)[i] == '\n';
	*primes = malloc(lines * sizeof **primes);
	*lens = malloc(lines * sizeof **lens);
	if (!*text || !*primes || !*lens) {
		fprintf(stderr, "%s: out of memory\n", CMD);
		return -1;
	}
	*n = 0;
	if (!o->prompts) {
		(*primes)[0] = *text;
		(*lens)[(*n)++] = len;
		return 0;
	}
	for (size_t start = 0, end; next_line(*text, len, &start, &end); start = end + 1) {
		(*primes)[*n] = *text + start;
		(*lens)[(*n)++] = end - start;
	}
	if (!*n) {
		fprintf(stderr, "%s: %s: no prompts\n", CMD, o->prompts);
		return -1;
	}
	return 0;
}

/* The generation's rows: each prime encoded after the start token, and its
 * decoded text (what is echoed), repeated samples times. */
typedef struct prompt_set {
	int32_t **ids;      /* [nprime] */
	size_t *lens;       /* [B] */
	const int32_t **rows; /* [B] */
	char **echo;        /* [nprime] */
	size_t nprime, B;
} prompt_set;

static void prompt_set_free(prompt_set *p)
{
	for (size_t i = 0; i < p->nprime; i++) {
		free(p->ids ? p->ids[i] : NULL);
		free(p->echo ? p->echo[i] : NULL);
	}
	free(p->ids);
	free(p->lens);
	free(p->rows);
	free(p->echo);
}

static int encode_primes(const seqc_tok *tok, const char *const *primes, const size_t *plens, size_t n,
			 size_t samples, prompt_set *p)
{
	int32_t start = seqc_tok_start(tok);
	if (start < 0)
		return seqc_error(SEQC_EINVAL, "the tokenizer has neither bos nor eos to start from");
	p->nprime = n;
	p->B = n * samples;
	p->ids = calloc(n, sizeof *p->ids);
	p->echo = calloc(n, sizeof *p->echo);
	p->lens = malloc(p->B * sizeof *p->lens);
	p->rows = malloc(p->B * sizeof *p->rows);
	if (!p->ids || !p->echo || !p->lens || !p->rows)
		return seqc_error(SEQC_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int32_t *ids;
		size_t k, elen;
		if (seqc_tok_encode(tok, primes[i], plens[i], &ids, &k) < 0)
			return n > 1 ? seqc_error_wrap("prompt %zu", i + 1) : seqc_error_wrap("--prime");
		p->ids[i] = realloc(ids, (k + 1) * sizeof *ids);
		if (!p->ids[i]) {
			free(ids);
			return seqc_error(SEQC_ENOMEM, "out of memory");
		}
		memmove(p->ids[i] + 1, p->ids[i], k * sizeof *ids);
		p->ids[i][0] = start;
		if (seqc_tok_decode(tok, p->ids[i] + 1, k, &p->echo[i], &elen) < 0)
			return SEQC_ENOMEM;
		for (size_t j = 0; j < samples; j++) {
			p->rows[i * samples + j] = p->ids[i];
			p->lens[i * samples + j] = k + 1;
		}
	}
	return 0;
}

/* Streaming one continuation to stdout. */
static int write_text(void *ctx, size_t row, int32_t id, const char *text, size_t len)
{
	(void)ctx;
	(void)row;
	(void)id;
	if (len && (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0))
		return seqc_error(SEQC_EIO, "stdout: write error");
	return 0;
}

/* One continuation as a JSON line. */
static int write_json(size_t prompt, size_t sample, const char *echo, const seqc_gen_row *r)
{
	size_t elen = strlen(echo);
	char *text = malloc(elen + r->len + 1);
	if (!text)
		return seqc_error(SEQC_ENOMEM, "out of memory");
	memcpy(text, echo, elen);
	memcpy(text + elen, r->text, r->len + 1);
	json_t *o = json_pack("{s:I, s:I, s:s%, s:s}", "prompt", (json_int_t)prompt, "sample", (json_int_t)sample,
			      "text", text, elen + r->len, "finish", seqc_finish_name(r->finish));
	free(text);
	return print_json_line(o, JSON_COMPACT);
}

/* Writes the rows after generation (batches, or --json). */
static int write_rows(const sample_args *o, const prompt_set *p, const seqc_gen_row *rows)
{
	for (size_t r = 0; r < p->B; r++) {
		const char *echo = p->echo[r / o->samples];
		int rc = 0;
		if (o->json)
			rc = write_json(r / o->samples, r % o->samples, echo, &rows[r]);
		else if (printf("%s%s\n", echo, rows[r].text) < 0)
			rc = seqc_error(SEQC_EIO, "stdout: write error");
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* One hypothesis: the prime and the continuation (without eos) as a line,
 * or a JSON line with its numbers. The two are decoded as one sequence (a
 * continuation alone would lose the space a SentencePiece piece starts
 * with). */
static int write_hyp(const sample_args *o, const seqc_tok *tok, size_t prompt, size_t rank,
		     const int32_t *prime, size_t plen, const seqc_beam_hyp *h, int32_t eos)
{
	bool ended = h->len && h->ids[h->len - 1] == eos;
	size_t n = plen - 1 + h->len - ended, len;
	int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
	if (!ids)
		return seqc_error(SEQC_ENOMEM, "out of memory");
	memcpy(ids, prime + 1, (plen - 1) * sizeof *ids);
	memcpy(ids + plen - 1, h->ids, (h->len - ended) * sizeof *ids);
	char *text;
	int rc = seqc_tok_decode(tok, ids, n, &text, &len);
	free(ids);
	if (rc < 0)
		return rc;
	if (!o->json) {
		rc = printf("%s\n", text) < 0 ? seqc_error(SEQC_EIO, "stdout: write error") : 0;
		free(text);
		return rc;
	}
	json_t *j = json_pack("{s:I, s:I, s:s%, s:I, s:f, s:f, s:s}", "prompt", (json_int_t)prompt, "rank",
			      (json_int_t)rank, "text", text, len, "tokens", (json_int_t)h->len,
			      "logprob", (double)h->logprob, "score", (double)h->score, "finish",
			      ended ? "eos" : "length");
	free(text);
	return print_json_line(j, JSON_COMPACT);
}

/* Beam search from every prime, then its hypotheses best first. */
static int run_beam(const sample_args *o, seqc_model *m, const seqc_tok *tok, const prompt_set *p)
{
	int32_t eos = seqc_tok_eos(tok);
	if (eos < 0)
		return seqc_error(SEQC_EINVAL, "beam search needs an eos token; the tokenizer has none");
	seqc_beam_result *res = calloc(p->B, sizeof *res);
	seqc_graph *g = seqc_graph_create(0);
	int rc = res && g ? 0 : seqc_error(SEQC_ENOMEM, "out of memory");
	if (rc == 0)
		rc = seqc_beam_search(m, g, &o->beam, p->rows, p->lens, p->B, eos, res);
	for (size_t b = 0; rc == 0 && b < p->B; b++)
		for (size_t r = 0; rc == 0 && r < res[b].n; r++)
			rc = write_hyp(o, tok, b, r, p->rows[b], p->lens[b], &res[b].hyps[r], eos);
	if (rc == SEQC_ERANGE && m->gpt) {
		char why[512];
		snprintf(why, sizeof why, "%s", seqc_errmsg());
		rc = seqc_error(SEQC_ERANGE, "%s: beam search does not slide past the context; give a "
				"shorter --len", why);
	}
	if (res)
		seqc_beam_results_free(res, p->B);
	free(res);
	seqc_graph_destroy(g);
	return rc;
}

/* Generates and writes: streamed for one row in text form. */
static int run(const sample_args *o, seqc_model *m, const seqc_tok *tok, const prompt_set *p)
{
	seqc_gen_config c = o->gen;
	c.eos = seqc_tok_eos(tok);
	c.tok = tok;
	c.stop = o->stop;
	c.nstop = o->nstop;
	bool stream = p->B == 1 && !o->json;
	if (stream && (fputs(p->echo[0], stdout) < 0 || fflush(stdout) != 0))
		return seqc_error(SEQC_EIO, "stdout: write error");
	seqc_gen_row *rows = calloc(p->B, sizeof *rows);
	if (!rows)
		return seqc_error(SEQC_ENOMEM, "out of memory");
	int rc = 0;
	if (c.sample.max_length) {
		rc = seqc_generate(m, NULL, &c, p->rows, p->lens, p->B, stream ? write_text : NULL, NULL, rows);
	} else {
		/* --len 0: the primes alone */
		for (size_t r = 0; r < p->B; r++)
			rows[r] = (seqc_gen_row){ .text = "", .finish = SEQC_FINISH_LENGTH };
	}
	if (rc >= 0)
		rc = stream ? (fputc('\n', stdout) == EOF ? seqc_error(SEQC_EIO, "stdout: write error") : 0)
			    : write_rows(o, p, rows);
	if (c.sample.max_length)
		seqc_gen_rows_free(rows, p->B);
	free(rows);
	return rc;
}

int cmd_sample(int argc, char **argv)
{
	sample_args o = { .samples = 1, .gen = seqc_gen_defaults(), .beam = seqc_beam_defaults() };
	o.beam.beam = 0;
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0) {
		free_stops(&o);
		return rc;
	}
	rc = EXIT_FAIL;
	seqc_model *m = NULL;
	seqc_tok *tok = NULL;
	char *text = NULL;
	const char **primes = NULL;
	size_t *plens = NULL, n;
	prompt_set p = { 0 };
	if (load_checkpoint(CMD, o.ckpt, o.tok_spec, &m, &tok) < 0 ||
	    read_primes(&o, &text, &primes, &plens, &n) < 0)
		goto done;
	if (encode_primes(tok, primes, plens, n, o.samples, &p) < 0 ||
	    (o.beam.beam ? run_beam(&o, m, tok, &p) : run(&o, m, tok, &p)) < 0) {
		fail(CMD);
		goto done;
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
done:
	prompt_set_free(&p);
	free(primes);
	free(plens);
	free(text);
	free_stops(&o);
	seqc_tok_destroy(tok);
	seqc_model_destroy(m);
	return rc;
}
