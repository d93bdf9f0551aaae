/* The seqc program (cli/), run as a child process ($SEQC_BIN, given by
 * meson) in a temporary folder, its stdout, stderr and exit code captured:
 * help and version, bad flag values (exit 2 naming the flag), bad data
 * files, a tiny train / sample / score run and the consistency of what it
 * prints, corrupt checkpoints (exit non-zero naming the file, the file left
 * as it was), a run already in the output folder, and --resume; tokenizer
 * training, tokenize/detokenize round trips and their bad input; a tiny GPT
 * trained, sampled past its context, scored and resumed. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utf8proc.h>

#include "support.h"

extern char **environ;

static const char *seqc_bin;
/* The suite's folder, made and removed by main (so that a test that fails,
 * whose teardown does not run under CK_FORK, leaves nothing behind), and
 * the current test's folder inside it. */
static char suite_root[64];
static char tmp_root[96];

/* ---- files ---- */

/* A file the test expects to exist. */
static blob must_read(const char *path)
{
	blob b = read_blob(path);
	ck_assert_msg(b.data != NULL, "%s: cannot open", path);
	return b;
}

static void write_blob(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "%s: cannot create", path);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static bool same_blob(blob a, blob b)
{
	return a.len == b.len && !memcmp(a.data, b.data, a.len);
}

/* tmp_root/name; valid for the rest of the test. */
#define POOL 128
static char path_pool[POOL][256];
static int path_used;

static const char *tmp(const char *name)
{
	ck_assert_int_lt(path_used, POOL);
	char *p = path_pool[path_used++];
	snprintf(p, sizeof path_pool[0], "%s/%s", tmp_root, name);
	return p;
}

static void setup(void)
{
	snprintf(tmp_root, sizeof tmp_root, "%s/test-XXXXXX", suite_root);
	ck_assert_ptr_nonnull(mkdtemp(tmp_root));
	path_used = 0;
	char *text = word_text(3000, 1);
	write_blob(tmp("small.txt"), text, strlen(text));
	free(text);
}

static void teardown(void)
{
	remove_tree(tmp_root);
}

/* ---- running seqc ---- */

typedef struct result {
	int code; /* exit code, or 128 + signal */
	blob out, err;
} result;

static void free_result(result *r)
{
	free(r->out.data);
	free(r->err.data);
}

/* The command line for messages. */
static const char *joined(const char *const *args)
{
	static char buf[1024];
	size_t n = 0;
	buf[0] = '\0';
	for (; *args && n < sizeof buf - 1; args++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s ", *args);
	return buf;
}

/* Runs seqc with the arguments (NULL-terminated), stdin from in_path (NULL:
 * /dev/null), stdout and stderr into files of the temporary folder. */
static result run_in(const char *in_path, const char *const *args)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)seqc_bin;
	for (; *args; args++) {
		ck_assert_int_lt(argc, 63);
		argv[argc++] = (char *)*args;
	}
	argv[argc] = NULL;
	const char *out = tmp(".stdout"), *err = tmp(".stderr");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, in_path ? in_path : "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pid_t pid;
	int rc = posix_spawn(&pid, seqc_bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_msg(rc == 0, "cannot run %s: %s", seqc_bin, strerror(rc));
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	result r = { .code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status) };
	r.out = must_read(out);
	r.err = must_read(err);
	/* under the sanitizers a report's exit code could pass for a refusal */
	static const char *const reports[] = { "AddressSanitizer", "LeakSanitizer", "runtime error:" };
	for (size_t i = 0; i < 3; i++)
		ck_assert_msg(!strstr(r.err.data, reports[i]), "%s: sanitizer report:\n%s", joined((const char *const *)argv + 1),
			      r.err.data);
	return r;
}

#define RUN(...) run_in(NULL, (const char *const[]){ __VA_ARGS__, NULL })
#define RUN_STDIN(in, ...) run_in(in, (const char *const[]){ __VA_ARGS__, NULL })

static void expect_code(const result *r, int code, const char *what)
{
	ck_assert_msg(r->code == code, "%s: exit %d, expected %d\nstdout: %s\nstderr: %s", what, r->code, code,
		      r->out.data, r->err.data);
}

/* The tiny run every checkpoint test starts from. */
static void train_small(const char *dir)
{
	result r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "30", "--hidden", "16",
		       "--batch", "2", "--bptt", "8", "--eval-every", "10", "--log-every", "10");
	expect_code(&r, 0, "seqc train");
	free_result(&r);
}

static bool valid_utf8(const char *s, size_t n)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	while (n) {
		utf8proc_int32_t c;
		utf8proc_ssize_t k = utf8proc_iterate(p, (utf8proc_ssize_t)n, &c);
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static size_t code_points(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* ---- help and version ---- */

START_TEST(test_help)
{
	result r = RUN("--version");
	expect_code(&r, 0, "--version");
	ck_assert_msg(!strncmp(r.out.data, "seqc ", 5) && strstr(r.out.data, seqc_version()), "stdout: %s",
		      r.out.data);
	free_result(&r);
	static const struct {
		const char *cmd, *usage;
	} helps[] = {
		{ NULL, "usage: seqc COMMAND" },
		{ "train", "usage: seqc train" },
		{ "sample", "usage: seqc sample" },
		{ "score", "usage: seqc score" },
	};
	for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
		r = helps[i].cmd ? RUN(helps[i].cmd, "--help") : RUN("--help");
		expect_code(&r, 0, helps[i].usage);
		ck_assert_msg(strstr(r.out.data, helps[i].usage) && strstr(r.out.data, "example"),
			      "%s --help: stdout: %s", helps[i].cmd ? helps[i].cmd : "", r.out.data);
		free_result(&r);
	}
	/* no command: usage on stderr, exit 2; an unknown command too */
	r = run_in(NULL, (const char *const[]){ NULL });
	expect_code(&r, 2, "no command");
	ck_assert_ptr_nonnull(strstr(r.err.data, "usage"));
	free_result(&r);
	r = RUN("frobnicate");
	expect_code(&r, 2, "unknown command");
	ck_assert_ptr_nonnull(strstr(r.err.data, "frobnicate"));
	free_result(&r);
}
END_TEST

/* ---- bad flags: exit 2, a message naming the flag ---- */

START_TEST(test_bad_flags)
{
	const char *data = tmp("small.txt"), *out = tmp("never");
	static const struct {
		const char *args[8];
		const char *names;
	} cases[] = {
		{ { "train", "--hidden", "abc" }, "--hidden" },
		{ { "train", "--hidden", "0" }, "--hidden" },
		{ { "train", "--hidden", "12x" }, "--hidden" },
		{ { "train", "--hidden" }, "--hidden" }, /* no value */
		{ { "train", "--dropout", "1.5" }, "--dropout" },
		{ { "train", "--dropout", "nan" }, "--dropout" },
		{ { "train", "--bptt", "0" }, "--bptt" },
		{ { "train", "--bptt", "8:x" }, "--bptt" },
		{ { "train", "--bptt", "8:" }, "--bptt" },
		{ { "train", "--steps", "-1" }, "--steps" },
		{ { "train", "--lr", "-0.1" }, "--lr" },
		{ { "train", "--batch", "0" }, "--batch" },
		{ { "train", "--arch", "transformer" }, "--arch" },
		{ { "train", "--optim", "nope" }, "--optim" },
		{ { "train", "--optim", "adam:beta9=1" }, "--optim" },
		{ { "train", "--schedule", "cosine" }, "--schedule" },
		{ { "train", "--schedule", "wobbly" }, "--schedule" },
		{ { "train", "--split", "1" }, "--split" },
		{ { "train", "--frobnicate" }, "--frobnicate" },
		{ { "train", "--resume", "--overwrite" }, "--overwrite" },
		{ { "train", "--resume", "--hidden", "8" }, "--resume" },
		{ { "sample", "-m", "x.safetensors", "--temperature", "-1" }, "--temperature" },
		{ { "sample", "-m", "x.safetensors", "--temperature", "inf" }, "--temperature" },
		{ { "sample", "-m", "x.safetensors", "--top-p", "2" }, "--top-p" },
		{ { "sample", "-m", "x.safetensors", "--top-p", "0" }, "--top-p" },
		{ { "sample", "-m", "x.safetensors", "--top-k", "0" }, "--top-k" },
		{ { "sample", "-m", "x.safetensors", "--len", "ten" }, "--len" },
		{ { "sample", "-m", "x.safetensors", "--seed", "-4" }, "--seed" },
		{ { "sample", "-m", "x.safetensors", "--bogus" }, "--bogus" },
		{ { "sample", "--len", "5" }, "-m" },
		{ { "score", "--bogus" }, "--bogus" },
		{ { "score", "a.txt" }, "-m" },
		{ { "score", "-m", "x.safetensors", "a.txt", "b.txt" }, "FILE" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *args[16];
		size_t n = 0;
		for (size_t k = 0; k < 8 && cases[i].args[k]; k++)
			args[n++] = cases[i].args[k];
		/* train gets valid required flags after the bad one, so that
		 * the bad flag alone is wrong */
		if (!strcmp(cases[i].args[0], "train") && strcmp(cases[i].args[n - 1], "--hidden")) {
			const char *more[] = { "--data", data, "--out", out, "--steps", "3" };
			for (size_t k = 0; k < 6; k++)
				args[n++] = more[k];
		}
		args[n] = NULL;
		result r = run_in(NULL, args);
		expect_code(&r, 2, joined(args));
		ck_assert_msg(strstr(r.err.data, cases[i].names), "%s: stderr does not name %s: %s", joined(args),
			      cases[i].names, r.err.data);
		ck_assert_msg(r.out.len == 0, "%s: printed on stdout: %s", joined(args), r.out.data);
		free_result(&r);
	}
	/* --data missing, then --out missing, then neither --steps nor --time */
	result r = RUN("train", "--out", out, "--steps", "3");
	expect_code(&r, 2, "no --data");
	ck_assert_ptr_nonnull(strstr(r.err.data, "--data"));
	free_result(&r);
	r = RUN("train", "--data", data, "--steps", "3");
	expect_code(&r, 2, "no --out");
	ck_assert_ptr_nonnull(strstr(r.err.data, "--out"));
	free_result(&r);
	r = RUN("train", "--data", data, "--out", out);
	expect_code(&r, 2, "no --steps");
	ck_assert_ptr_nonnull(strstr(r.err.data, "--steps"));
	free_result(&r);
	/* nothing was created */
	ck_assert_int_ne(access(out, F_OK), 0);
}
END_TEST

/* ---- bad data files ---- */

START_TEST(test_bad_data)
{
	const char *out = tmp("run");
	result r = RUN("train", "--data", tmp("missing.txt"), "--out", out, "--steps", "3");
	ck_assert_int_ne(r.code, 0);
	ck_assert_msg(strstr(r.err.data, "missing.txt") && strstr(r.err.data, "No such file"), "stderr: %s",
		      r.err.data);
	free_result(&r);

	write_blob(tmp("empty.txt"), "", 0);
	r = RUN("train", "--data", tmp("empty.txt"), "--out", out, "--steps", "3");
	ck_assert_int_ne(r.code, 0);
	ck_assert_msg(strstr(r.err.data, "empty.txt") && strstr(r.err.data, "empty"), "stderr: %s", r.err.data);
	free_result(&r);

	/* too short to split into training and validation */
	write_blob(tmp("one.txt"), "x", 1);
	r = RUN("train", "--data", tmp("one.txt"), "--out", out, "--steps", "3");
	ck_assert_int_ne(r.code, 0);
	ck_assert_msg(strstr(r.err.data, "one.txt"), "stderr: %s", r.err.data);
	free_result(&r);

	/* a 0xff byte at offset 1234 of the small text */
	blob text = must_read(tmp("small.txt"));
	text.data[1234] = (char)0xff;
	write_blob(tmp("bad.txt"), text.data, text.len);
	free(text.data);
	r = RUN("train", "--data", tmp("bad.txt"), "--out", out, "--steps", "3", "--hidden", "8", "--batch", "2");
	ck_assert_int_ne(r.code, 0);
	ck_assert_msg(strstr(r.err.data, "bad.txt") && strstr(r.err.data, "UTF-8") && strstr(r.err.data, "1234"),
		      "stderr does not name the file, UTF-8 and the offset: %s", r.err.data);
	free_result(&r);
	ck_assert_int_ne(access(tmp("run/last.safetensors"), F_OK), 0);
	/* --replace-invalid: U+FFFD instead, and the run goes through */
	r = RUN("train", "--data", tmp("bad.txt"), "--out", out, "--steps", "3", "--hidden", "8", "--batch", "2",
		"--replace-invalid");
	expect_code(&r, 0, "--replace-invalid");
	free_result(&r);
	ck_assert_int_eq(access(tmp("run/model.safetensors"), F_OK), 0);
	/* and scoring the bad file with that model works too (the tokenizer
	 * keeps the option) */
	r = RUN("score", "-m", tmp("run/model.safetensors"), tmp("bad.txt"));
	expect_code(&r, 0, "score with --replace-invalid model");
	free_result(&r);
}
END_TEST

/* ---- end to end ---- */

START_TEST(test_end_to_end)
{
	const char *dir = tmp("run"), *model = tmp("run/model.safetensors");
	train_small(dir);
	static const char *const files[] = { "model.safetensors", "last.safetensors", "last.state.safetensors",
					     "log.jsonl", "loss.svg" };
	for (size_t i = 0; i < 5; i++) {
		char p[512];
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		ck_assert_msg(access(p, R_OK) == 0, "%s missing", p);
	}

	/* sampling: valid UTF-8, reproducible by seed */
	result a = RUN("sample", "-m", model, "--len", "50", "--seed", "3");
	expect_code(&a, 0, "sample");
	ck_assert_msg(a.out.len > 0 && valid_utf8(a.out.data, a.out.len), "sample output is not UTF-8");
	/* 50 characters at most (eos may stop it), and the final newline */
	ck_assert_uint_le(code_points(a.out.data, a.out.len), 51);
	result b = RUN("sample", "-m", model, "--len", "50", "--seed", "3");
	expect_code(&b, 0, "sample again");
	ck_assert_msg(same_blob(a.out, b.out), "same seed, different samples:\n%s\n%s", a.out.data, b.out.data);
	free_result(&b);
	b = RUN("sample", "-m", model, "--len", "50", "--seed", "4");
	expect_code(&b, 0, "sample seed 4");
	ck_assert_msg(!same_blob(a.out, b.out), "seeds 3 and 4 gave the same 50 characters");
	free_result(&b);
	free_result(&a);
	/* temperature 0 ignores the seed */
	a = RUN("sample", "-m", model, "--len", "40", "--temperature", "0", "--seed", "1");
	b = RUN("sample", "-m", model, "--len", "40", "--temperature", "0", "--seed", "2");
	expect_code(&a, 0, "greedy");
	expect_code(&b, 0, "greedy");
	ck_assert_msg(same_blob(a.out, b.out), "greedy samples differ:\n%s\n%s", a.out.data, b.out.data);
	free_result(&a);
	free_result(&b);
	/* the prime is echoed first; top-k and top-p go through */
	a = RUN("sample", "-m", model, "--len", "20", "--prime", "the café", "--top-k", "3", "--top-p", "0.9");
	expect_code(&a, 0, "prime");
	ck_assert_msg(!strncmp(a.out.data, "the café", strlen("the café")), "stdout: %s", a.out.data);
	ck_assert(valid_utf8(a.out.data, a.out.len));
	free_result(&a);
	/* a prime with a character the model has never seen */
	a = RUN("sample", "-m", model, "--len", "5", "--prime", "zebra");
	expect_code(&a, 0, "unknown characters in the prime");
	free_result(&a);

	/* scoring: one JSON object, its numbers consistent */
	blob text = must_read(tmp("small.txt"));
	size_t chars = code_points(text.data, text.len);
	result s = RUN("score", "-m", model, tmp("small.txt"));
	expect_code(&s, 0, "score");
	json_error_t err;
	json_t *o = json_loads(s.out.data, 0, &err);
	ck_assert_msg(json_is_object(o), "score output is not one JSON object: %s (%s)", s.out.data, err.text);
	json_int_t tokens = json_integer_value(json_object_get(o, "tokens"));
	double logprob = json_number_value(json_object_get(o, "logprob"));
	double nll = json_number_value(json_object_get(o, "nll_per_token"));
	double bpc = json_number_value(json_object_get(o, "bits_per_char"));
	double ppl = json_number_value(json_object_get(o, "perplexity"));
	ck_assert_int_eq(tokens, (json_int_t)chars); /* one token per code point */
	ck_assert_msg(logprob < 0, "logprob %g", logprob);
	ck_assert_msg(fabs(nll - (-logprob / (double)tokens)) <= 1e-8 * nll, "nll %.10g, -logprob / n %.10g", nll,
		      -logprob / (double)tokens);
	ck_assert_msg(fabs(ppl - exp(nll)) <= 1e-8 * ppl, "perplexity %.10g, exp(nll) %.10g", ppl, exp(nll));
	ck_assert_msg(fabs(bpc - (-logprob / M_LN2 / (double)chars)) <= 1e-8 * bpc, "bits per char %.10g", bpc);
	/* a barely trained model: better than uniform, worse than perfect */
	ck_assert_msg(nll > 0.5 && nll < log(60.0), "nll per token %g", nll);

	/* from stdin, the same */
	result si = RUN_STDIN(tmp("small.txt"), "score", "-m", model);
	expect_code(&si, 0, "score from stdin");
	ck_assert_msg(same_blob(si.out, s.out), "stdin: %s\nfile: %s", si.out.data, s.out.data);
	free_result(&si);
	si = RUN_STDIN(tmp("small.txt"), "score", "-m", model, "-");
	expect_code(&si, 0, "score -");
	ck_assert(same_blob(si.out, s.out));
	free_result(&si);

	/* --per-token: N lines, then the same summary; the lines sum to it */
	result pt = RUN("score", "-m", model, "--per-token", tmp("small.txt"));
	expect_code(&pt, 0, "score --per-token");
	json_int_t lines = 0;
	double sum = 0;
	char *save = NULL, *last = NULL;
	size_t offset = 0;
	for (char *line = strtok_r(pt.out.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (last) {
			json_t *t = json_loads(last, 0, &err);
			ck_assert_msg(json_is_object(t), "per-token line %lld: %s", (long long)lines, last);
			ck_assert_int_eq(json_integer_value(json_object_get(t, "pos")), lines);
			const char *piece = json_string_value(json_object_get(t, "token"));
			ck_assert_ptr_nonnull(piece);
			/* the pieces spell the text */
			ck_assert_msg(!strncmp(text.data + offset, piece, strlen(piece)), "token %lld '%s' is not the text",
				      (long long)lines, piece);
			offset += strlen(piece);
			double l = json_number_value(json_object_get(t, "logprob"));
			ck_assert_msg(l <= 0, "token %lld: logprob %g", (long long)lines, l);
			sum += l;
			json_decref(t);
			lines++;
		}
		last = line;
	}
	ck_assert_int_eq(lines, tokens);
	ck_assert_uint_eq(offset, text.len);
	ck_assert_ptr_nonnull(last);
	json_t *summary = json_loads(last, 0, &err);
	ck_assert_msg(json_equal(summary, o), "--per-token summary %s differs from %s", last, s.out.data);
	ck_assert_msg(fabs(sum - logprob) <= 1e-6 * fabs(logprob), "per-token sum %.10g, total %.10g", sum, logprob);
	json_decref(summary);
	free_result(&pt);
	json_decref(o);
	free_result(&s);

	/* an empty text scores 0 tokens */
	write_blob(tmp("empty.txt"), "", 0);
	s = RUN("score", "-m", model, tmp("empty.txt"));
	expect_code(&s, 0, "score empty");
	o = json_loads(s.out.data, 0, &err);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "tokens")), 0);
	ck_assert(json_number_value(json_object_get(o, "logprob")) == 0);
	json_decref(o);
	free_result(&s);
	free(text.data);
}
END_TEST

/* ---- corrupt checkpoints ---- */

/* Rewrites the safetensors file src into dst with its header's
 * __metadata__ changed by edit (the data section kept). */
typedef void (*meta_edit)(json_t *meta);

static void rewrite_meta(const char *src, const char *dst, meta_edit edit)
{
	blob b = must_read(src);
	ck_assert_uint_ge(b.len, 8);
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | (unsigned char)b.data[i];
	ck_assert_uint_le(8 + n, b.len);
	json_error_t err;
	json_t *h = json_loadb(b.data + 8, (size_t)n, 0, &err);
	ck_assert_msg(json_is_object(h), "%s: header: %s", src, err.text);
	json_t *meta = json_object_get(h, "__metadata__");
	ck_assert_ptr_nonnull(meta);
	edit(meta);
	char *text = json_dumps(h, JSON_COMPACT);
	size_t len = strlen(text), padded = (len + 7) / 8 * 8;
	FILE *f = fopen(dst, "wb");
	ck_assert_ptr_nonnull(f);
	unsigned char le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)((uint64_t)padded >> (8 * i));
	fwrite(le, 1, 8, f);
	fwrite(text, 1, len, f);
	for (size_t i = len; i < padded; i++)
		fputc(' ', f);
	fwrite(b.data + 8 + n, 1, b.len - 8 - (size_t)n, f);
	ck_assert_int_eq(fclose(f), 0);
	free(text);
	json_decref(h);
	free(b.data);
}

/* Sets key of the JSON object held as a string in meta[field]. */
static void set_in_string(json_t *meta, const char *field, const char *key, json_t *value)
{
	json_t *o = json_loads(json_string_value(json_object_get(meta, field)), 0, NULL);
	ck_assert_msg(json_is_object(o), "%s is not a JSON object", field);
	json_object_set_new(o, key, value);
	char *s = json_dumps(o, JSON_COMPACT);
	json_object_set_new(meta, field, json_string(s));
	free(s);
	json_decref(o);
}

static void edit_nothing(json_t *meta)
{
	(void)meta;
}

static void edit_arch(json_t *meta)
{
	set_in_string(meta, "seqc.config", "arch", json_string("transformer-xl"));
}

static void edit_hidden(json_t *meta)
{
	set_in_string(meta, "seqc.config", "hidden", json_integer(24));
}

static void edit_layers(json_t *meta)
{
	set_in_string(meta, "seqc.config", "layers", json_integer(1));
}

static void edit_config_text(json_t *meta)
{
	json_object_set_new(meta, "seqc.config", json_string("{\"arch\": \"rnnlm\", \"cell\""));
}

static void edit_no_tokenizer(json_t *meta)
{
	json_object_del(meta, "seqc.tokenizer");
}

static void edit_tokenizer_vocab(json_t *meta)
{
	json_t *o = json_loads(json_string_value(json_object_get(meta, "seqc.tokenizer")), 0, NULL);
	ck_assert_ptr_nonnull(o);
	json_t *vocab = json_object_get(o, "vocab");
	ck_assert_int_gt(json_array_size(vocab), 10);
	json_array_remove(vocab, json_array_size(vocab) - 1);
	char *s = json_dumps(o, JSON_COMPACT);
	json_object_set_new(meta, "seqc.tokenizer", json_string(s));
	free(s);
	json_decref(o);
}

/* The message names the file, once. */
static void assert_names_once(const char *err, const char *path, const char *what)
{
	const char *at = strstr(err, path);
	ck_assert_msg(at != NULL, "%s: the message does not name the file: %s", what, err);
	ck_assert_msg(!strstr(at + strlen(path), path), "%s: the message names the file twice: %s", what, err);
}

/* sample and score refuse path, exit non-zero naming it, and leave it as
 * it was. */
static void expect_refused(const char *path, const char *what)
{
	blob before = must_read(path);
	result r = RUN("sample", "-m", path, "--len", "10");
	ck_assert_msg(r.code == 1, "%s: sample exit %d\nstderr: %s", what, r.code, r.err.data);
	assert_names_once(r.err.data, path, what);
	ck_assert_msg(r.out.len == 0, "%s: sample printed %s", what, r.out.data);
	free_result(&r);
	r = RUN("score", "-m", path, tmp("small.txt"));
	ck_assert_msg(r.code == 1, "%s: score exit %d\nstderr: %s", what, r.code, r.err.data);
	assert_names_once(r.err.data, path, what);
	ck_assert_msg(r.out.len == 0, "%s: score printed %s", what, r.out.data);
	free_result(&r);
	blob after = must_read(path);
	ck_assert_msg(same_blob(before, after), "%s: the checkpoint changed", what);
	free(before.data);
	free(after.data);
}

START_TEST(test_corrupt_checkpoints)
{
	train_small(tmp("run"));
	const char *model = tmp("run/model.safetensors"), *bad = tmp("bad.safetensors");
	blob good = must_read(model);

	/* truncated */
	const size_t cuts[] = { 0, 5, 8, 9, 100, good.len / 2, good.len - 4, good.len - 1 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		write_blob(bad, good.data, cuts[i]);
		char what[64];
		snprintf(what, sizeof what, "truncated to %zu bytes", cuts[i]);
		expect_refused(bad, what);
	}
	/* random bytes, and random bytes behind a plausible length */
	seqc_rng rng;
	seqc_rng_seed(&rng, 9, SEQC_STREAM_DATA);
	unsigned char junk[4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)seqc_rng_below(&rng, 256);
	write_blob(bad, junk, sizeof junk);
	expect_refused(bad, "random bytes");
	junk[0] = 200;
	memset(junk + 1, 0, 7);
	write_blob(bad, junk, sizeof junk);
	expect_refused(bad, "random header");
	/* a byte of the header flipped */
	blob flipped = { malloc(good.len), good.len };
	memcpy(flipped.data, good.data, good.len);
	flipped.data[20] ^= 0x55;
	write_blob(bad, flipped.data, flipped.len);
	free(flipped.data);
	expect_refused(bad, "header byte flipped");

	/* a valid safetensors file from elsewhere: no seqc metadata */
	float v[6] = { 1, 2, 3, 4, 5, 6 };
	seqc_st_tensor t = { .name = "weight", .ndim = 2, .shape = { 2, 3 }, .numel = 6, .data = v };
	ck_assert_int_eq(seqc_st_write(bad, &t, 1, NULL, NULL, 0), 0);
	expect_refused(bad, "no seqc metadata");

	/* headers rewritten: an unknown arch, configs the tensors do not fit,
	 * a config that is not JSON, no tokenizer, a tokenizer of another size */
	static const struct {
		meta_edit edit;
		const char *what;
	} edits[] = {
		{ edit_arch, "unknown arch" },
		{ edit_hidden, "hidden 24" },
		{ edit_layers, "layers 1" },
		{ edit_config_text, "config not JSON" },
		{ edit_no_tokenizer, "no tokenizer" },
		{ edit_tokenizer_vocab, "tokenizer one short" },
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		rewrite_meta(model, bad, edits[i].edit);
		expect_refused(bad, edits[i].what);
	}
	/* the rewriting itself keeps a good file good: the refusals above
	 * came from the edits */
	rewrite_meta(model, tmp("same.safetensors"), edit_nothing);
	result r = RUN("score", "-m", tmp("same.safetensors"), tmp("small.txt"));
	expect_code(&r, 0, "a checkpoint rewritten without an edit");
	free_result(&r);
	/* a missing file */
	r = RUN("sample", "-m", tmp("nothing.safetensors"));
	ck_assert_int_eq(r.code, 1);
	ck_assert_ptr_nonnull(strstr(r.err.data, "nothing.safetensors"));
	free_result(&r);
	free(good.data);
}
END_TEST

/* ---- a run already in the folder, and --resume ---- */

typedef struct dir_copy {
	size_t n;
	const char *names[8];
	blob files[8];
} dir_copy;

static dir_copy copy_run(const char *dir)
{
	static const char *const names[] = { "model.safetensors", "last.safetensors", "last.state.safetensors",
					     "log.jsonl", "loss.svg" };
	dir_copy c = { .n = 5 };
	for (size_t i = 0; i < 5; i++) {
		char p[512];
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		c.names[i] = names[i];
		c.files[i] = must_read(p);
	}
	return c;
}

static void assert_run_unchanged(const dir_copy *c, const char *dir, const char *what)
{
	dir_copy now = copy_run(dir);
	for (size_t i = 0; i < c->n; i++) {
		ck_assert_msg(same_blob(now.files[i], c->files[i]), "%s: %s changed", what, c->names[i]);
		free(now.files[i].data);
	}
}

static void free_copy(dir_copy *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->files[i].data);
}

START_TEST(test_existing_run)
{
	const char *dir = tmp("run");
	train_small(dir);
	dir_copy before = copy_run(dir);
	result r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "30", "--hidden", "16",
		       "--batch", "2", "--bptt", "8");
	ck_assert_int_ne(r.code, 0);
	ck_assert_msg(strstr(r.err.data, "--resume") && strstr(r.err.data, dir), "stderr: %s", r.err.data);
	free_result(&r);
	assert_run_unchanged(&before, dir, "train without --resume");
	/* resume with another batch or bptt */
	r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "40", "--batch", "3", "--bptt", "8",
		"--resume");
	ck_assert_int_ne(r.code, 0);
	ck_assert_msg(strstr(r.err.data, "--batch 2"), "stderr: %s", r.err.data);
	free_result(&r);
	r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "40", "--batch", "2", "--bptt", "8:16",
		"--resume");
	ck_assert_int_ne(r.code, 0);
	ck_assert_msg(strstr(r.err.data, "--bptt 8:8"), "stderr: %s", r.err.data);
	free_result(&r);
	assert_run_unchanged(&before, dir, "resume with other values");
	/* --overwrite starts afresh */
	r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "5", "--hidden", "16", "--batch", "2",
		"--bptt", "8", "--overwrite");
	expect_code(&r, 0, "--overwrite");
	free_result(&r);
	blob log = must_read(tmp("run/log.jsonl"));
	ck_assert_msg(!strstr(log.data, "\"step\":30"), "the old log survived --overwrite: %s", log.data);
	free(log.data);
	free_copy(&before);
}
END_TEST

START_TEST(test_resume)
{
	const char *dir = tmp("run");
	train_small(dir);
	result r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "50", "--batch", "2", "--bptt",
		       "8", "--eval-every", "10", "--log-every", "10", "--resume");
	expect_code(&r, 0, "--resume");
	free_result(&r);
	/* log.jsonl: the first run's lines up to its done at 30, then the
	 * resumed run's, every step after 30, up to done at 50 */
	blob log = must_read(tmp("run/log.jsonl"));
	int dones = 0;
	int64_t prev_train = 0, last_done = -1;
	char *save;
	for (char *line = strtok_r(log.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		ck_assert_msg(json_is_object(o), "log line: %s", line);
		const char *e = json_string_value(json_object_get(o, "event"));
		int64_t step = json_integer_value(json_object_get(o, "step"));
		ck_assert_ptr_nonnull(e);
		if (!strcmp(e, "done")) {
			dones++;
			last_done = step;
		} else {
			if (dones == 1)
				ck_assert_msg(step > 30, "after the resume, a %s line at step %lld", e, (long long)step);
			if (!strcmp(e, "train")) {
				ck_assert_msg(step == prev_train + 10, "train line at step %lld after %lld", (long long)step,
					      (long long)prev_train);
				prev_train = step;
			}
		}
		json_decref(o);
	}
	ck_assert_int_eq(dones, 2);
	ck_assert_int_eq(last_done, 50);
	ck_assert_int_eq(prev_train, 50);
	free(log.data);
	/* the checkpoint says step 50 */
	int64_t step;
	seqc_model *m;
	ck_assert_int_eq(seqc_ckpt_load(tmp("run/last.safetensors"), &m, NULL, &step), 0);
	ck_assert_int_eq(step, 50);
	seqc_model_destroy(m);
	/* a run limited by time alone stops for that reason (0.001 minutes:
	 * far fewer than the thousands of updates it would take otherwise) */
	r = RUN("train", "--data", tmp("small.txt"), "--out", tmp("timed"), "--time", "0.001", "--hidden", "8",
		"--layers", "1", "--batch", "2", "--bptt", "8");
	expect_code(&r, 0, "--time");
	free_result(&r);
	log = must_read(tmp("timed/log.jsonl"));
	ck_assert_msg(strstr(log.data, "\"reason\":\"time\""), "log: %s", log.data);
	free(log.data);
	/* resuming a finished run to the same step count does no update */
	r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "50", "--batch", "2", "--bptt", "8",
		"--resume");
	expect_code(&r, 0, "resume at the limit");
	free_result(&r);
}
END_TEST


/* The stdout of a run, its final newline dropped, as a path-sized string. */
static const char *first_line(const result *r)
{
	static char line[512];
	snprintf(line, sizeof line, "%.*s", (int)strcspn(r->out.data, "\n"), r->out.data);
	return line;
}

/* Trains a tokenizer of kind on data into DIR; returns its SPEC. */
static const char *train_tokenizer_on(const char *kind, const char *vocab, const char *data, const char *dir)
{
	result r = RUN("tokenizer", "train", "--kind", kind, "--vocab-size", vocab, "--data", data, "--out", dir);
	expect_code(&r, 0, kind);
	const char *spec = first_line(&r);
	free_result(&r);
	return spec;
}

static const char *train_tokenizer(const char *kind, const char *vocab, const char *dir)
{
	return train_tokenizer_on(kind, vocab, tmp("small.txt"), dir);
}

START_TEST(test_tokenize_round_trip)
{
	static const char *const kinds[][2] = { { "bpe", "300" }, { "char", "40" }, { "spm-unigram", "30" },
						{ "spm-bpe", "30" } };
	blob text = must_read(tmp("small.txt"));
	for (size_t k = 0; k < 4; k++) {
		char dir[64], spec[512];
		snprintf(dir, sizeof dir, "tok-%zu", k);
		snprintf(spec, sizeof spec, "%s", train_tokenizer(kinds[k][0], kinds[k][1], tmp(dir)));
		ck_assert_msg(!strncmp(spec, kinds[k][0], strcspn(kinds[k][0], "-")), "%s: SPEC %s", kinds[k][0],
			      spec);
		/* line by line, then back: the same text */
		result ids = RUN("tokenize", "--tokenizer", spec, "--lines", tmp("small.txt"));
		expect_code(&ids, 0, spec);
		write_blob(tmp("ids.txt"), ids.out.data, ids.out.len);
		result back = RUN("detokenize", "--tokenizer", spec, tmp("ids.txt"));
		expect_code(&back, 0, spec);
		ck_assert_msg(same_blob(back.out, text), "%s: detokenize(tokenize(text)) differs:\n%.200s", spec,
			      back.out.data);
		/* one line per input line */
		size_t lines = 0;
		for (size_t i = 0; i < ids.out.len; i++)
			lines += ids.out.data[i] == '\n';
		size_t text_lines = 0;
		for (size_t i = 0; i < text.len; i++)
			text_lines += text.data[i] == '\n';
		ck_assert_uint_eq(lines, text_lines);
		/* pieces: as many words as ids on the first line */
		result pieces = RUN("tokenize", "--tokenizer", spec, "--pieces", tmp("small.txt"));
		expect_code(&pieces, 0, "pieces");
		free_result(&pieces);
		free_result(&back);
		free_result(&ids);
	}
	free(text.data);
}
END_TEST

START_TEST(test_tokenize_bad_input)
{
	const char *spec = train_tokenizer("bpe", "270", tmp("tok"));
	char s[512];
	snprintf(s, sizeof s, "%s", spec);
	/* invalid UTF-8: an error naming the byte offset, or replacement when asked */
	write_blob(tmp("bad.txt"), "abc\xff" "def", 7);
	result r = RUN("tokenize", "--tokenizer", s, tmp("bad.txt"));
	expect_code(&r, 1, "invalid UTF-8");
	ck_assert_msg(strstr(r.err.data, "byte 3"), "stderr: %s", r.err.data);
	free_result(&r);
	r = RUN("tokenize", "--tokenizer", s, "--replace-invalid", tmp("bad.txt"));
	expect_code(&r, 0, "--replace-invalid");
	free_result(&r);
	/* empty input: an empty line */
	write_blob(tmp("empty.txt"), "", 0);
	r = RUN("tokenize", "--tokenizer", s, tmp("empty.txt"));
	expect_code(&r, 0, "empty input");
	ck_assert_str_eq(r.out.data, "\n");
	free_result(&r);
	/* ids outside the vocabulary, and what is no id at all */
	static const char *const bad_ids[][2] = { { "1 2 270\n", "id 270" }, { "1 2x\n", "column 3" },
						  { "-1\n", "column 1" }, { "99999999999999\n", "column 1" } };
	for (size_t i = 0; i < 4; i++) {
		write_blob(tmp("ids.txt"), bad_ids[i][0], strlen(bad_ids[i][0]));
		r = RUN("detokenize", "--tokenizer", s, tmp("ids.txt"));
		expect_code(&r, 1, bad_ids[i][0]);
		ck_assert_msg(strstr(r.err.data, bad_ids[i][1]), "%s: stderr: %s", bad_ids[i][0], r.err.data);
		free_result(&r);
	}
	/* bad SPECs and flags */
	r = RUN("tokenize", "--tokenizer", "spm:/nonexistent/x.model", tmp("small.txt"));
	expect_code(&r, 1, "missing spm model");
	ck_assert_msg(strstr(r.err.data, "/nonexistent/x.model"), "stderr: %s", r.err.data);
	free_result(&r);
	r = RUN("tokenize", tmp("small.txt"));
	expect_code(&r, 2, "no --tokenizer");
	free_result(&r);
	r = RUN("tokenizer", "train", "--kind", "wordpiece", "--vocab-size", "100", "--data", tmp("small.txt"),
		"--out", tmp("t2"));
	expect_code(&r, 2, "unknown kind");
	free_result(&r);
	r = RUN("tokenizer", "train", "--kind", "bpe", "--vocab-size", "100", "--data", tmp("small.txt"), "--out",
		tmp("t3"));
	expect_code(&r, 1, "bpe vocabulary below 257");
	free_result(&r);
}
END_TEST

/* A tiny GPT trained with a BPE tokenizer: sample past its context
 * (sliding), score, resume. */
START_TEST(test_gpt)
{
	const char *spec = train_tokenizer("bpe", "300", tmp("tok"));
	char s[512];
	snprintf(s, sizeof s, "%s", spec);
	const char *dir = tmp("gpt"), *model = tmp("gpt/model.safetensors");
	result r = RUN("train", "--arch", "gpt", "--tokenizer", s, "--layers", "1", "--heads", "2", "--embed", "16",
		       "--context", "16", "--batch", "2", "--steps", "20", "--eval-every", "10", "--data",
		       tmp("small.txt"), "--out", dir);
	expect_code(&r, 0, "train --arch gpt");
	free_result(&r);
	/* the checkpoint as a tokenizer SPEC: the same ids as the BPE it holds */
	result a = RUN("tokenize", "--tokenizer", model, tmp("small.txt"));
	result b = RUN("tokenize", "--tokenizer", s, tmp("small.txt"));
	expect_code(&a, 0, "tokenize with a checkpoint");
	expect_code(&b, 0, "tokenize with the BPE");
	ck_assert_msg(same_blob(a.out, b.out), "checkpoint and BPE ids differ");
	free_result(&a);
	free_result(&b);
	r = RUN("sample", "-m", model, "--len", "60", "--seed", "1", "--prime", "the");
	expect_code(&r, 0, "sample past the context");
	ck_assert(valid_utf8(r.out.data, r.out.len));
	free_result(&r);
	r = RUN("score", "-m", model, tmp("small.txt"));
	expect_code(&r, 0, "score with windows");
	json_t *o = json_loads(r.out.data, 0, NULL);
	double nll = json_number_value(json_object_get(o, "nll_per_token"));
	ck_assert_msg(nll > 0.5 && nll < log(300.0), "nll per token %g", nll);
	json_decref(o);
	free_result(&r);
	r = RUN("train", "--resume", "--steps", "30", "--eval-every", "10", "--data", tmp("small.txt"), "--out",
		dir);
	expect_code(&r, 0, "resume a gpt run");
	free_result(&r);
	/* a Hugging Face GPT-2 file (the tiny one of tests/golden, vocabulary
	 * 11) with a tokenizer of 11 tokens: 4 specials and 7 characters */
	write_blob(tmp("c7.txt"), "abcdefg", 7);
	snprintf(s, sizeof s, "%s", train_tokenizer_on("char", "11", tmp("c7.txt"), tmp("c7")));
	char hf[4200];
	snprintf(hf, sizeof hf, "hf:%s", fixture_path("gpt_hf/model.safetensors"));
	r = RUN_STDIN(tmp("c7.txt"), "score", "-m", hf, "--tokenizer", s);
	expect_code(&r, 0, "score a Hugging Face checkpoint");
	o = json_loads(r.out.data, 0, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "tokens")), 7);
	json_decref(o);
	free_result(&r);
	r = RUN_STDIN(tmp("c7.txt"), "score", "-m", hf);
	expect_code(&r, 1, "a Hugging Face checkpoint without --tokenizer");
	ck_assert_msg(strstr(r.err.data, "--tokenizer"), "stderr: %s", r.err.data);
	free_result(&r);
	/* windows longer than the context, split bptt */
	r = RUN("train", "--arch", "gpt", "--context", "8", "--bptt", "16", "--steps", "2", "--data",
		tmp("small.txt"), "--out", tmp("gpt2"));
	expect_code(&r, 2, "--bptt beyond --context");
	free_result(&r);
}
END_TEST

/* ---- sampling options ---- */

START_TEST(test_sample_options)
{
	const char *model = tmp("run/model.safetensors");
	train_small(tmp("run"));
	/* --max-len is --len */
	result a = RUN("sample", "-m", model, "--len", "40", "--seed", "5", "--prime", "the");
	result b = RUN("sample", "-m", model, "--max-len", "40", "--seed", "5", "--prime", "the");
	expect_code(&a, 0, "--len");
	expect_code(&b, 0, "--max-len");
	ck_assert_msg(same_blob(a.out, b.out), "--len and --max-len differ:\n%s\n%s", a.out.data, b.out.data);
	free_result(&b);
	/* --stop: the same sample cut before the first occurrence of a piece
	 * of its continuation, which is not written */
	ck_assert_uint_ge(a.out.len, 12);
	char stop[3] = { a.out.data[8], a.out.data[9], 0 };
	const char *at = strstr(a.out.data + 3, stop);
	b = RUN("sample", "-m", model, "--len", "40", "--seed", "5", "--prime", "the", "--stop", stop, "--stop",
		"\x01");
	expect_code(&b, 0, "--stop");
	size_t cut = (size_t)(at - a.out.data);
	ck_assert_msg(b.out.len == cut + 1 && !memcmp(b.out.data, a.out.data, cut) && b.out.data[cut] == '\n',
		      "stop '%s':\n%s\nfrom\n%s", stop, b.out.data, a.out.data);
	free_result(&a);
	free_result(&b);
	/* --prompts with --num-samples 2 --json: six lines in order, each
	 * text starting with its prime, samples of one prime differing */
	write_blob(tmp("primes.txt"), "the\n\nof a\n", 10);
	a = RUN("sample", "-m", model, "--prompts", tmp("primes.txt"), "--num-samples", "2", "--json", "--len", "30",
		"--min-p", "0.05", "--repetition-penalty", "1.2", "--no-repeat-ngram", "3", "--min-len", "3");
	expect_code(&a, 0, "--prompts --json");
	const char *primes[3] = { "the", "", "of a" }, *line = a.out.data;
	char *texts[6];
	for (size_t r = 0; r < 6; r++) {
		const char *nl = strchr(line, '\n');
		ck_assert_msg(nl != NULL, "line %zu missing: %s", r, a.out.data);
		json_error_t err;
		json_t *o = json_loadb(line, (size_t)(nl - line), 0, &err);
		ck_assert_msg(json_is_object(o), "line %zu: %s", r, err.text);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "prompt")), (json_int_t)(r / 2));
		ck_assert_int_eq(json_integer_value(json_object_get(o, "sample")), (json_int_t)(r % 2));
		const char *text = json_string_value(json_object_get(o, "text"));
		const char *finish = json_string_value(json_object_get(o, "finish"));
		ck_assert_msg(text && !strncmp(text, primes[r / 2], strlen(primes[r / 2])), "line %zu: %s", r, text);
		ck_assert_msg(finish && (!strcmp(finish, "eos") || !strcmp(finish, "length")), "finish %s", finish);
		texts[r] = strdup(text);
		json_decref(o);
		line = nl + 1;
	}
	ck_assert_str_eq(line, "");
	ck_assert_msg(strcmp(texts[0], texts[1]) || strcmp(texts[4], texts[5]), "samples of a prime are the same");
	/* a row alone with seed + its index is the same text */
	b = RUN("sample", "-m", model, "--prime", "of a", "--seed", "1342", "--len", "30", "--min-p", "0.05",
		"--repetition-penalty", "1.2", "--no-repeat-ngram", "3", "--min-len", "3");
	expect_code(&b, 0, "one row alone");
	ck_assert_msg(b.out.len == strlen(texts[5]) + 1 && !memcmp(b.out.data, texts[5], b.out.len - 1),
		      "alone:\n%s\nin the batch:\n%s", b.out.data, texts[5]);
	for (size_t r = 0; r < 6; r++)
		free(texts[r]);
	free_result(&a);
	free_result(&b);
	/* bad values are refused with exit 2, naming the flag */
	const struct {
		const char *args[8];
		const char *want;
	} bad[] = {
		{ { "sample", "-m", model, "--min-p", "1.5" }, "--min-p" },
		{ { "sample", "-m", model, "--min-p", "-0.1" }, "--min-p" },
		{ { "sample", "-m", model, "--repetition-penalty", "0" }, "--repetition-penalty" },
		{ { "sample", "-m", model, "--min-len", "5", "--len", "4" }, "--min-len" },
		{ { "sample", "-m", model, "--num-samples", "0" }, "--num-samples" },
		{ { "sample", "-m", model, "--no-repeat-ngram", "x" }, "--no-repeat-ngram" },
		{ { "sample", "-m", model, "--stop", "" }, "--stop" },
		{ { "sample", "-m", model, "--stop", "a\\q" }, "--stop" },
		{ { "sample", "-m", model, "--prime", "a", "--prompts", "x" }, "--prompts" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		result r = run_in(NULL, bad[i].args);
		expect_code(&r, 2, bad[i].want);
		ck_assert_msg(strstr(r.err.data, bad[i].want), "%s: stderr %s", bad[i].want, r.err.data);
		free_result(&r);
	}
	/* --stop '\n' (two bytes, as a shell passes it) is a newline */
	a = RUN("sample", "-m", model, "--len", "300", "--min-len", "300", "--seed", "3", "--json", "--stop", "\\n");
	expect_code(&a, 0, "--stop \\n");
	json_t *o = json_loads(a.out.data, 0, NULL);
	const char *text = json_string_value(json_object_get(o, "text"));
	ck_assert_msg(text && !strchr(text, '\n'), "text: %s", text);
	ck_assert_str_eq(json_string_value(json_object_get(o, "finish")), "stop");
	json_decref(o);
	free_result(&a);
	a = RUN("sample", "-m", model, "--prompts", tmp("missing.txt"));
	expect_code(&a, 1, "--prompts of a missing file");
	ck_assert_msg(strstr(a.err.data, "missing.txt"), "stderr: %s", a.err.data);
	free_result(&a);
}
END_TEST


/* Scheduled sampling: the ratio logged per step follows the schedule, a
 * resumed run takes the saved policy, another policy or a bad SPEC is
 * refused. */
START_TEST(test_scheduled_sampling)
{
	const char *dir = tmp("ss");
	result r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "20", "--hidden", "16", "--batch",
		       "2", "--bptt", "8", "--eval-every", "10", "--log-every", "5", "--scheduled-sampling",
		       "linear:k=1,c=0.02");
	expect_code(&r, 0, "--scheduled-sampling");
	free_result(&r);
	r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "30", "--eval-every", "10", "--log-every",
		"5", "--resume");
	expect_code(&r, 0, "resume with the saved policy");
	free_result(&r);
	/* p = 1 - 0.02 i at the logged steps 5, 10, ..., 30 */
	blob log = must_read(tmp("ss/log.jsonl"));
	size_t seen = 0;
	for (char *line = log.data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		json_t *o = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
		if (o && !strcmp(json_string_value(json_object_get(o, "event")), "train")) {
			double step = (double)json_integer_value(json_object_get(o, "step"));
			double p = json_number_value(json_object_get(o, "ss_prob"));
			ck_assert_msg(fabs(p - (1 - 0.02 * (step - 1))) < 0.021, "step %g: ss_prob %g", step, p);
			seen++;
		}
		json_decref(o);
	}
	ck_assert_uint_eq(seen, 6);
	free(log.data);
	r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "40", "--resume", "--scheduled-sampling",
		"constant:p=0.5");
	expect_code(&r, 1, "resume with another policy");
	ck_assert_msg(strstr(r.err.data, "linear"), "stderr: %s", r.err.data);
	free_result(&r);
	r = RUN("train", "--data", tmp("small.txt"), "--out", tmp("ss2"), "--steps", "2", "--scheduled-sampling",
		"linear:k=-1");
	expect_code(&r, 2, "bad SPEC");
	ck_assert_msg(strstr(r.err.data, "--scheduled-sampling"), "stderr: %s", r.err.data);
	free_result(&r);
}
END_TEST


/* seqc sample --beam: n-best JSON lines best first, the same prime and
 * continuation text, refused combinations. */
START_TEST(test_sample_beam)
{
	const char *dir = tmp("run"), *model = tmp("run/model.safetensors");
	train_small(dir);
	result r = RUN("sample", "-m", model, "--prime", "the", "--beam", "4", "--nbest", "3", "--len", "12", "--json");
	expect_code(&r, 0, "--beam --json");
	double last = INFINITY;
	size_t lines = 0;
	for (char *line = r.out.data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		json_t *o = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
		ck_assert_msg(o, "not JSON: %s", line);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "rank")), (json_int_t)lines);
		double score = json_number_value(json_object_get(o, "score"));
		ck_assert_msg(score <= last, "rank %zu: score %g after %g", lines, score, last);
		ck_assert_msg(!strncmp(json_string_value(json_object_get(o, "text")), "the", 3), "%s", line);
		last = score;
		lines++;
		json_decref(o);
	}
	ck_assert_uint_eq(lines, 3);
	free_result(&r);
	/* beam 1 is greedy: the same text as temperature 0 */
	result a = RUN("sample", "-m", model, "--prime", "the", "--beam", "1", "--len", "12");
	result b = RUN("sample", "-m", model, "--prime", "the", "--temperature", "0", "--len", "12");
	expect_code(&a, 0, "--beam 1");
	expect_code(&b, 0, "temperature 0");
	ck_assert_msg(same_blob(a.out, b.out), "beam 1: %s\ngreedy: %s", a.out.data, b.out.data);
	free_result(&a);
	free_result(&b);
	static const char *const bad[][3] = { { "--nbest", "5", "--nbest" }, { "--temperature", "0.5", "--temperature" },
					      { "--lenpen", "avg", "--lenpen" }, { "--lenpen", "gnmt:-1", "--lenpen" } };
	for (size_t i = 0; i < 4; i++) {
		r = RUN("sample", "-m", model, "--beam", "4", bad[i][0], bad[i][1]);
		expect_code(&r, 2, bad[i][0]);
		ck_assert_msg(strstr(r.err.data, bad[i][2]), "%s %s: stderr: %s", bad[i][0], bad[i][1], r.err.data);
		free_result(&r);
	}
	r = RUN("sample", "-m", model, "--beam", "0");
	expect_code(&r, 2, "--beam 0");
	free_result(&r);
	r = RUN("sample", "-m", model, "--nbest", "2");
	expect_code(&r, 2, "--nbest without --beam");
	ck_assert_msg(strstr(r.err.data, "--beam"), "stderr: %s", r.err.data);
	free_result(&r);
	r = RUN("sample", "-m", model, "--prime", "the", "--beam", "3", "--lenpen", "avg:1", "--exact-stop", "--len", "8");
	expect_code(&r, 0, "--exact-stop");
	free_result(&r);
}
END_TEST

/* seqc bleu: sacreBLEU's output lines on a hand-computed example (see
 * tests/decode/test_bleu.c, test_partial), JSON, chrF, and refusals:
 * mismatched line counts, a missing file, invalid UTF-8, an empty
 * reference line, no files. */
START_TEST(test_bleu)
{
	const char *ref = tmp("ref.txt"), *hyp = tmp("hyp.txt"), *hyp3 = tmp("hyp3.txt");
	write_blob(ref, "the cat is on the mat\nthe dog\n", 30);
	write_blob(hyp, "the cat sat on the mat\n\n", 24);
	/* the empty second hypothesis adds 0/0 and ref_len 2: 6 vs 8 tokens,
	 * BP = exp(1 - 8/6); the precisions stay 5/6 3/5 1/4 and 100/(2*3) */
	result r = RUN("bleu", ref, hyp);
	expect_code(&r, 0, "seqc bleu");
	char want[256];
	double bp = exp(1 - 8.0 / 6), score = bp * pow(500.0 / 6 * 60 * 25 * (100.0 / 6), 0.25);
	snprintf(want, sizeof want,
		 "BLEU = %.2f 83.3/60.0/25.0/16.7 (BP = %.3f ratio = 0.750 hyp_len = 6 ref_len = 8)\n"
		 "BLEU signature: nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:seqc-%s\n",
		 score, bp, seqc_version());
	ck_assert_str_eq(r.out.data, want);
	free_result(&r);
	r = RUN("bleu", ref, hyp, "--json", "--chrf");
	expect_code(&r, 0, "seqc bleu --json");
	json_t *o = json_loads(r.out.data, 0, NULL);
	ck_assert_msg(o != NULL, "not one JSON line: %s", r.out.data);
	json_t *b = json_object_get(o, "bleu");
	ck_assert_double_eq_tol(json_number_value(json_object_get(b, "score")), score, 1e-9);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(b, "counts"), 1)), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "chrf"), "name")), "chrF2");
	json_decref(o);
	free_result(&r);
	r = RUN("bleu", ref, hyp, "--chrf++", "--lowercase");
	expect_code(&r, 0, "seqc bleu --chrf++");
	ck_assert_msg(strstr(r.out.data, "\nchrF2++ = ") && strstr(r.out.data, "case:lc|eff:yes|nc:6|nw:2"), "%s",
		      r.out.data);
	free_result(&r);
	/* refusals */
	write_blob(hyp3, "a\nb\nc\n", 6);
	r = RUN("bleu", ref, hyp3);
	expect_code(&r, 1, "mismatched line counts");
	ck_assert_msg(strstr(r.err.data, "ref.txt has 2 lines") && strstr(r.err.data, "hyp3.txt has 3"), "%s",
		      r.err.data);
	free_result(&r);
	r = RUN("bleu", ref, tmp("missing.txt"));
	expect_code(&r, 1, "missing file");
	ck_assert_msg(strstr(r.err.data, "missing.txt"), "%s", r.err.data);
	free_result(&r);
	write_blob(hyp3, "fine\nbad \xC3(\n", 11);
	r = RUN("bleu", ref, hyp3);
	expect_code(&r, 1, "invalid UTF-8");
	ck_assert_msg(strstr(r.err.data, "hyp3.txt:2: invalid UTF-8"), "%s", r.err.data);
	free_result(&r);
	write_blob(hyp3, "x\n\n", 3);
	r = RUN("bleu", hyp3, hyp);
	expect_code(&r, 1, "empty reference line");
	ck_assert_msg(strstr(r.err.data, "hyp3.txt:2") && strstr(r.err.data, "empty"), "%s", r.err.data);
	free_result(&r);
	r = RUN("bleu", ref);
	expect_code(&r, 2, "one file");
	free_result(&r);
	r = RUN("bleu", ref, hyp, "--smooth");
	expect_code(&r, 2, "unknown option");
	ck_assert_msg(strstr(r.err.data, "--smooth"), "%s", r.err.data);
	free_result(&r);
	r = RUN("--help");
	ck_assert_msg(strstr(r.out.data, "  bleu  "), "%s", r.out.data);
	free_result(&r);
}
END_TEST

int main(void)
{
	seqc_bin = getenv("SEQC_BIN");
	if (!seqc_bin || access(seqc_bin, X_OK) != 0) {
		fprintf(stderr, "test_cli: SEQC_BIN does not name the seqc program (run through meson test): skipped\n");
		return TEST_SKIP;
	}
	if (!make_temp_dir("seqc-test-cli", suite_root, sizeof suite_root)) {
		perror("test_cli: cannot make a temporary folder");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_help);
	tcase_add_test(tc, test_bad_flags);
	tcase_add_test(tc, test_bad_data);
	tcase_add_test(tc, test_end_to_end);
	tcase_add_test(tc, test_corrupt_checkpoints);
	tcase_add_test(tc, test_existing_run);
	tcase_add_test(tc, test_resume);
	tcase_add_test(tc, test_tokenize_round_trip);
	tcase_add_test(tc, test_tokenize_bad_input);
	tcase_add_test(tc, test_gpt);
	tcase_add_test(tc, test_scheduled_sampling);
	tcase_add_test(tc, test_sample_beam);
	tcase_add_test(tc, test_sample_options);
	tcase_add_test(tc, test_bleu);
	suite_add_tcase(s, tc);
	int rc = run_suite(s);
	remove_tree(suite_root);
	return rc;
}
