#include "cli.h"

#include "decode/beam.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models/gpt.h"
#include "train/checkpoint.h"

bool arg_is(args *a, const char *name, const char **value)
{
	const char *s = a->argv[a->i];
	size_t n = strlen(name);
	if (strncmp(s, name, n) != 0 || (s[n] != '\0' && s[n] != '='))
		return false;
	if (s[n] == '=') {
		*value = s + n + 1;
	} else {
		*value = a->i + 1 < a->argc ? a->argv[a->i + 1] : NULL;
		if (*value)
			a->i++;
	}
	if (!*value)
		fprintf(stderr, "%s: %s needs a value\n", a->cmd, name);
	return true;
}

bool arg_flag(args *a, const char *name)
{
	return strcmp(a->argv[a->i], name) == 0;
}

int parse_int(const char *cmd, const char *flag, const char *s, long long lo, long long hi,
	      long long *out)
{
	char *end;
	errno = 0;
	long long v = s ? strtoll(s, &end, 10) : 0;
	if (!s || !*s || errno || *end || v < lo || v > hi) {
		fprintf(stderr, "%s: %s needs an integer in [%lld, %lld], got '%s'\n", cmd, flag, lo, hi,
			s ? s : "");
		return -1;
	}
	*out = v;
	return 0;
}

int parse_size(const char *cmd, const char *flag, const char *s, size_t lo, size_t hi, size_t *out)
{
	long long v;
	if (parse_int(cmd, flag, s, (long long)lo, (long long)hi, &v) < 0)
		return -1;
	*out = (size_t)v;
	return 0;
}

int parse_real(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = s ? strtod(s, &end) : 0;
	if (!s || !*s || errno || *end || !isfinite(v) || v < lo || v > hi) {
		fprintf(stderr, "%s: %s needs a number in [%g, %g], got '%s'\n", cmd, flag, lo, hi,
			s ? s : "");
		return -1;
	}
	*out = v;
	return 0;
}

int read_all(const char *cmd, const char *path, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(errno));
		return -1;
	}
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap + 1);
	for (;;) {
		if (!b) {
			fprintf(stderr, "%s: %s: out of memory\n", cmd, path);
			break;
		}
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		char *nb = cap < ((size_t)1 << 40) ? realloc(b, 2 * cap + 1) : NULL;
		if (!nb) {
			free(b);
			b = NULL;
			continue;
		}
		b = nb;
		cap *= 2;
	}
	bool err = ferror(f);
	if (f != stdin)
		fclose(f);
	if (!b)
		return -1;
	if (err) {
		fprintf(stderr, "%s: %s: read error\n", cmd, path);
		free(b);
		return -1;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int replace_invalid(const char *cmd, char **text, size_t *len)
{
	char *clean = seqc_utf8_sanitize(*text, *len, len);
	if (!clean)
		return fail(cmd), -1;
	free(*text);
	*text = clean;
	return 0;
}

int print_json_line(json_t *o, size_t flags)
{
	char *s = o ? json_dumps(o, flags) : NULL;
	json_decref(o);
	if (!s)
		return seqc_error(SEQC_ENOMEM, "out of memory");
	int rc = printf("%s\n", s) < 0 ? seqc_error(SEQC_EIO, "stdout: write error") : 0;
	free(s);
	return rc;
}

bool next_line(const char *text, size_t len, size_t *start, size_t *end)
{
	if (*start >= len)
		return false;
	const char *nl = memchr(text + *start, '\n', len - *start);
	*end = nl ? (size_t)(nl - text) : len;
	return true;
}

/* Drops a half-loaded model and tokenizer after printing the error. */
static int load_failed(const char *cmd, seqc_model **m, seqc_tok **tok)
{
	fail(cmd);
	seqc_model_destroy(*m);
	seqc_tok_destroy(*tok);
	*m = NULL;
	*tok = NULL;
	return -1;
}

int load_checkpoint(const char *cmd, const char *path, const char *tok_spec, seqc_model **m,
		    seqc_tok **tok)
{
	char *tj = NULL;
	*m = NULL;
	*tok = NULL;
	const char *hf = !strncmp(path, "hf:", 3) ? path + 3 : NULL;
	if (hf && !tok_spec) {
		fprintf(stderr, "%s: %s: a Hugging Face checkpoint holds no tokenizer: give "
				"--tokenizer gpt2:DIR\n", cmd, path);
		return -1;
	}
	if (hf ? !(*m = seqc_gpt_import_hf(hf, 0)) : seqc_ckpt_load(path, m, &tj, NULL) < 0)
		return load_failed(cmd, m, tok);
	if (tok_spec) {
		*tok = seqc_tok_open(tok_spec);
	} else if (!tj) {
		seqc_error(SEQC_EFORMAT, "%s: the checkpoint holds no tokenizer (seqc.tokenizer)", path);
	} else if (!(*tok = seqc_tok_from_json(tj, strlen(tj)))) {
		seqc_error_wrap("%s: seqc.tokenizer", path);
	}
	free(tj);
	if (!*tok)
		return load_failed(cmd, m, tok);
	if (seqc_tok_start(*tok) < 0) {
		seqc_error(SEQC_EINVAL, "%s: the tokenizer has neither a bos nor an eos token to start "
			   "a sequence from", path);
		return load_failed(cmd, m, tok);
	}
	if (seqc_tok_vocab_size(*tok) != (*m)->vocab) {
		seqc_error(SEQC_EINVAL, "%s: the tokenizer has %zu tokens but the model %zu", path,
			   seqc_tok_vocab_size(*tok), (*m)->vocab);
		return load_failed(cmd, m, tok);
	}
	return 0;
}

int load_run_checkpoint(const char *cmd, const char *dir, seqc_model **m, seqc_tok **tok)
{
	char last[4096], prev[4096];
	snprintf(last, sizeof last, "%s/last.safetensors", dir);
	snprintf(prev, sizeof prev, "%s/last.prev.safetensors", dir);
	struct stat sb;
	bool use_prev = stat(last, &sb) < 0 && errno == ENOENT && stat(prev, &sb) == 0;
	return load_checkpoint(cmd, use_prev ? prev : last, NULL, m, tok);
}

int fail(const char *cmd)
{
	fprintf(stderr, "%s: %s\n", cmd, seqc_errmsg());
	return EXIT_FAIL;
}

/* --lenpen none | avg:ALPHA | gnmt:ALPHA */
int parse_lenpen(const char *cmd, const char *v, seqc_beam_config *b)
{
	double alpha = 1;
	if (!strcmp(v, "none")) {
		b->lenpen = SEQC_LENPEN_NONE;
		return 0;
	}
	bool avg = !strncmp(v, "avg:", 4), gnmt = !strncmp(v, "gnmt:", 5);
	if (!avg && !gnmt) {
		fprintf(stderr, "%s: --lenpen must be none, avg:ALPHA or gnmt:ALPHA, got '%s'\n", cmd, v);
		return -1;
	}
	if (parse_real(cmd, "--lenpen (ALPHA)", v + (avg ? 4 : 5), 0, 100, &alpha) < 0)
		return -1;
	b->lenpen = avg ? SEQC_LENPEN_AVG : SEQC_LENPEN_GNMT;
	b->alpha = (float)alpha;
	return 0;
}
