/* seqc train --src and seqc translate, run as child processes ($SEQC_BIN)
 * on a tiny reversal task written by the test:
 *   - a 20-step run of each kind (char tokenizer; and a joint SentencePiece
 *     model), its files and the validation BLEU in its log;
 *   - translate: one output line per input line in order (each line equals
 *     that line translated alone), an empty line gives an empty line, an
 *     over-long line a warning naming it and still one line; stdin and a
 *     file alike; --nbest's 'LINE ||| text ||| score ||| logprob' lines;
 *     --json objects;
 *   - refusals: --beam 0, --nbest over --beam, no -m, a language-model
 *     checkpoint, a missing checkpoint; train with line counts that differ
 *     (naming both files), missing files flags, language-model flags,
 *     model flags on --resume;
 *   - --resume continues to the same bytes as a straight run;
 *   - seqc score --src: each translation's score given its source is the
 *     logprob beam search gave it; totals; refusals. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

extern char **environ;

static const char *seqc_bin;
static char suite_root[64];
static char tmp_root[96];

/* ---- files ---- */

static blob must_read(const char *path)
{
	blob b = read_blob(path);
	ck_assert_msg(b.data != NULL, "%s: cannot open", path);
	return b;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "%s: cannot create", path);
	size_t len = strlen(text);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

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

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* ---- the task: reverse the characters of a few short words ---- */

static const char *const WORDS[] = { "ab", "cd", "abc", "dca", "b", "ca", "bad", "cab" };

static void write_task(const char *src_path, const char *tgt_path, size_t n, uint64_t seed)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_DATA);
	char src[1024], tgt[1024];
	size_t len = 0;
	ck_assert_uint_lt(n * 12, sizeof src);
	for (size_t i = 0; i < n; i++) {
		size_t words = 1 + (size_t)(seqc_rng_uniform(&rng) * 3.0f) % 3, start = len;
		for (size_t w = 0; w < words; w++)
			len += (size_t)snprintf(src + len, sizeof src - len, "%s%s", w ? " " : "",
						WORDS[(size_t)(seqc_rng_uniform(&rng) * 8.0f) % 8]);
		for (size_t k = start; k < len; k++)
			tgt[k] = src[len - 1 - (k - start)];
		src[len] = tgt[len] = '\n';
		len++;
	}
	src[len] = tgt[len] = '\0';
	write_text(src_path, src);
	write_text(tgt_path, tgt);
}

static void setup(void)
{
	snprintf(tmp_root, sizeof tmp_root, "%s/test-XXXXXX", suite_root);
	ck_assert_ptr_nonnull(mkdtemp(tmp_root));
	path_used = 0;
	write_task(tmp("train.src"), tmp("train.tgt"), 40, 1);
	write_task(tmp("valid.src"), tmp("valid.tgt"), 8, 2);
	const char *alphabet = "abcd \n";
	seqc_tok *t = seqc_tok_char_build(alphabet, strlen(alphabet), NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(seqc_tok_save_json_file(t, tmp("tok.json")), 0);
	seqc_tok_destroy(t);
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

static const char *joined(const char *const *args)
{
	static char buf[1024];
	size_t n = 0;
	buf[0] = '\0';
	for (; *args && n < sizeof buf - 1; args++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s ", *args);
	return buf;
}

/* Runs seqc with the arguments (NULL-terminated; NULL entries in the
 * middle end the list too), stdin from in_path (NULL: /dev/null). */
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
	static const char *const reports[] = { "AddressSanitizer", "LeakSanitizer", "runtime error:" };
	for (size_t i = 0; i < 3; i++)
		ck_assert_msg(!strstr(r.err.data, reports[i]), "%s: sanitizer report:\n%s",
			      joined((const char *const *)argv + 1), r.err.data);
	return r;
}

#define RUN(...) run_in(NULL, (const char *const[]){ __VA_ARGS__, NULL })
#define RUN_STDIN(in, ...) run_in(in, (const char *const[]){ __VA_ARGS__, NULL })

static void expect_code(const result *r, int code, const char *what)
{
	ck_assert_msg(r->code == code, "%s: exit %d, expected %d\nstdout: %s\nstderr: %s", what, r->code, code,
		      r->out.data, r->err.data);
}

/* stderr holds every one of the NULL-terminated strings. */
static void expect_err(const result *r, const char *const *needles, const char *what)
{
	for (; *needles; needles++)
		ck_assert_msg(strstr(r->err.data, *needles), "%s: stderr lacks '%s':\n%s", what, *needles,
			      r->err.data);
}
#define EXPECT_ERR(r, what, ...) expect_err(r, (const char *const[]){ __VA_ARGS__, NULL }, what)

/* ---- training runs ---- */

static const char *const ARCHS[] = { "s2s-transformer", "s2s-rnn" };

/* A tiny model of arch into dir for `steps` updates in all; extra
 * arguments (NULL-terminated list) go at the end. */
static result train_run(int arch, const char *dir, const char *steps, bool resume, const char *tokenizer)
{
	char tokspec[300];
	snprintf(tokspec, sizeof tokspec, "char:%s", tmp("tok.json"));
	const char *tok_flag = tokenizer ? "--joint-spm-vocab" : "--tokenizer";
	const char *tok_val = tokenizer ? tokenizer : tokspec;
	const char *common[] = { "train", "--src", tmp("train.src"), "--tgt", tmp("train.tgt"), "--valid-src",
				 tmp("valid.src"), "--valid-tgt", tmp("valid.tgt"), "--out", dir, "--steps",
				 steps, "--eval-every", "5", "--log-every", "5", "--max-tokens", "120",
				 "--valid-beam", "2", "--max-len", "20", "--seed", "9", "--lr", "0.01" };
	const char *args[64];
	size_t n = 0;
	for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
		args[n++] = common[i];
	if (resume) {
		args[n++] = "--resume";
	} else {
		const char *model[] = { "--arch", ARCHS[arch], tok_flag, tok_val, "--embed", "16", "--layers", "1" };
		for (size_t i = 0; i < sizeof model / sizeof model[0]; i++)
			args[n++] = model[i];
		if (arch == 0) {
			const char *t[] = { "--heads", "2", "--ff", "32" };
			for (size_t i = 0; i < 4; i++)
				args[n++] = t[i];
		} else {
			args[n++] = "--hidden";
			args[n++] = "16";
		}
	}
	args[n] = NULL;
	return run_in(NULL, args);
}

/* Trains and checks the run's files; returns the checkpoint's path. */
static const char *trained(int arch, const char *name)
{
	const char *dir = tmp(name);
	result r = train_run(arch, dir, "20", false, NULL);
	expect_code(&r, 0, "seqc train --src");
	free_result(&r);
	static const char *const files[] = { "model.safetensors", "last.safetensors", "last.state.safetensors",
					     "log.jsonl" };
	char path[512];
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		ck_assert_msg(exists(path), "%s is missing", path);
	}
	/* every evaluation has its BLEU in the log */
	snprintf(path, sizeof path, "%s/log.jsonl", dir);
	blob log = must_read(path);
	int evals = 0;
	char *save;
	for (char *line = strtok_r(log.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		ck_assert_msg(json_is_object(o), "log line: %s", line);
		if (!strcmp(json_string_value(json_object_get(o, "event")), "eval")) {
			evals++;
			double bleu = json_number_value(json_object_get(o, "bleu"));
			ck_assert_msg(json_is_number(json_object_get(o, "bleu")) && bleu >= 0 && bleu <= 100,
				      "eval line without a BLEU: %s", line);
		}
		json_decref(o);
	}
	ck_assert_int_eq(evals, 4);
	free(log.data);
	char rel[128];
	snprintf(rel, sizeof rel, "%.100s/model.safetensors", name);
	const char *ckpt = tmp(rel);
	/* the model is of the arch asked for */
	seqc_model *m;
	ck_assert_msg(seqc_ckpt_load(ckpt, &m, NULL, NULL) == 0, "%s", seqc_errmsg());
	ck_assert_str_eq(m->arch, ARCHS[arch]);
	seqc_model_destroy(m);
	return ckpt;
}

/* The lines of a blob (its final newline dropped): count and pointers
 * into the blob, which is modified. */
static size_t split_lines(blob *b, char **lines, size_t cap)
{
	size_t n = 0;
	char *p = b->data, *end = b->data + b->len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		ck_assert_msg(nl != NULL, "output without a final newline");
		*nl = '\0';
		ck_assert_uint_lt(n, cap);
		lines[n++] = p;
		p = nl + 1;
	}
	return n;
}

/* ---- translate ---- */

/* seqc translate --json of the file in (n lines, options as the plain run
 * of test_train_translate): each line's text must be texts[i]; its
 * logprob goes to lp[i]. */
static void json_texts(const char *ckpt, const char *in, size_t n, char (*texts)[128], double *lp)
{
	result r = RUN("translate", "-m", ckpt, "--json", "--max-len", "8", "--len-a", "0", "--len-b", "12",
		       in);
	expect_code(&r, 0, "--json");
	blob out = r.out;
	char *lines[16];
	ck_assert_uint_eq(split_lines(&out, lines, 16), n);
	for (size_t i = 0; i < n; i++) {
		json_error_t e;
		json_t *o = json_loads(lines[i], 0, &e);
		ck_assert_msg(json_is_object(o), "'%s': %s", lines[i], e.text);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "line")), (json_int_t)i);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "rank")), 0);
		const char *text = json_string_value(json_object_get(o, "text"));
		ck_assert_msg(text && !strcmp(text, texts[i]), "line %zu: --json text '%s', plain '%s'", i + 1,
			      text ? text : "(none)", texts[i]);
		json_t *tokens = json_object_get(o, "tokens"), *l = json_object_get(o, "logprob");
		ck_assert(json_is_integer(tokens) && json_is_number(l) &&
			  json_is_number(json_object_get(o, "score")));
		/* an empty source gives no tokens and logprob 0 */
		ck_assert(!*texts[i] || json_integer_value(tokens) > 0);
		lp[i] = json_number_value(l);
		json_decref(o);
	}
	free_result(&r);
}

START_TEST(test_train_translate)
{
	const char *ckpt = trained(_i, "run");
	/* line 3 is over --max-len 8 (with its eos) */
	const char *in = tmp("in.txt");
	write_text(in, "ab cd\n\nabc dca bad\nb\nca bad\n");
	result r = RUN("translate", "-m", ckpt, "--max-len", "8", "--len-a", "0", "--len-b", "12", in);
	expect_code(&r, 0, "seqc translate");
	EXPECT_ERR(&r, "warning", "line 3", "line 3 has 11 tokens");
	ck_assert_msg(!strstr(r.err.data, "line 1 ") && !strstr(r.err.data, "line 5"), "%s", r.err.data);
	char *lines[16];
	blob out = r.out;
	size_t n = split_lines(&out, lines, 16);
	ck_assert_msg(n == 5, "%zu output lines for 5 input lines:\n%s", n, r.out.data);
	ck_assert_str_eq(lines[1], "");
	char plain[5][128];
	for (size_t i = 0; i < 5; i++)
		snprintf(plain[i], sizeof plain[i], "%s", lines[i]);
	/* --json: one object per line, the same texts; then each line as
	 * translated alone (batching and sorting change nothing): the same
	 * text and logprob, which differs from line to line even where an
	 * untrained model's texts coincide */
	double lp[5];
	json_texts(ckpt, in, 5, plain, lp);
	bool differ = false;
	static const char *const alone[] = { "ab cd\n", "\n", "abc dca bad\n", "b\n", "ca bad\n" };
	for (size_t i = 0; i < 5; i++) {
		const char *one = tmp("one.txt");
		write_text(one, alone[i]);
		double lp1;
		json_texts(ckpt, one, 1, (char (*)[128])plain[i], &lp1);
		ck_assert_msg(fabs(lp1 - lp[i]) <= 1e-4, "line %zu: logprob %.6f in the file, %.6f alone", i + 1,
			      lp[i], lp1);
		differ |= i != 1 && fabs(lp[i] - lp[0]) > 1e-3;
	}
	ck_assert_msg(differ, "every line has the same logprob: the order cannot show");
	/* stdin gives the same */
	result s = RUN_STDIN(in, "translate", "-m", ckpt, "--max-len", "8", "--len-a", "0", "--len-b", "12");
	expect_code(&s, 0, "translate from stdin");
	for (size_t i = 0, off = 0; i < n; i++) {
		size_t len = strlen(lines[i]);
		ck_assert_msg(!strncmp(s.out.data + off, lines[i], len) && s.out.data[off + len] == '\n',
			      "stdin line %zu differs", i + 1);
		off += len + 1;
	}
	ck_assert_str_eq(s.err.data, r.err.data);
	free_result(&s);
	free_result(&r);

	/* --nbest: LINE ||| text ||| score ||| logprob, best first */
	r = RUN("translate", "-m", ckpt, "--beam", "3", "--nbest", "2", "--max-len", "8", in);
	expect_code(&r, 0, "--nbest 2");
	out = r.out;
	n = split_lines(&out, lines, 16);
	ck_assert_msg(n == 9, "%zu lines: 2 per line, 1 for the empty line\n%s", n, r.out.data);
	size_t k = 0;
	for (size_t line = 0; line < 5; line++) {
		double prev = INFINITY;
		for (size_t rank = 0; rank < (line == 1 ? 1u : 2u); rank++, k++) {
			/* four fields between " ||| " */
			char *f[4] = { lines[k] };
			for (int j = 1; j < 4; j++) {
				char *bar = f[j - 1] ? strstr(f[j - 1], " ||| ") : NULL;
				ck_assert_msg(bar != NULL, "line %zu: '%s'", k, lines[k]);
				*bar = '\0';
				f[j] = bar + 5;
			}
			char *end;
			unsigned long no = strtoul(f[0], &end, 10);
			ck_assert_msg(!*end && no == line, "line %zu: number '%s', want %zu", k, f[0], line);
			if (line == 1)
				ck_assert_str_eq(f[1], "");
			double score = strtod(f[2], &end), logprob = strtod(f[3], &end);
			ck_assert_msg(score <= prev, "line %zu: scores not best first", k);
			ck_assert_msg(logprob <= 0 && (line == 1 || logprob < 0), "line %zu: logprob %g", k, logprob);
			prev = score;
		}
	}
	free_result(&r);
}
END_TEST

START_TEST(test_spm)
{
	const char *dir = tmp("spm");
	result r = train_run(1, dir, "10", false, "40");
	expect_code(&r, 0, "--joint-spm-vocab 40");
	free_result(&r);
	char path[512];
	snprintf(path, sizeof path, "%s/spm.model", dir);
	ck_assert_msg(exists(path), "%s is missing", path);
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	const char *in = tmp("in.txt");
	write_text(in, "ab cd\n\nbad\n");
	r = RUN("translate", "-m", path, in);
	expect_code(&r, 0, "translate with the spm model");
	char *lines[8];
	blob out = r.out;
	ck_assert_uint_eq(split_lines(&out, lines, 8), 3);
	ck_assert_str_eq(lines[1], "");
	free_result(&r);
}
END_TEST

/* ---- refusals ---- */

START_TEST(test_translate_refusals)
{
	const char *ckpt = trained(1, "run");
	const char *in = tmp("in.txt");
	write_text(in, "ab\n");
	result r = RUN("translate", "-m", ckpt, "--beam", "0", in);
	expect_code(&r, 2, "--beam 0");
	EXPECT_ERR(&r, "--beam 0", "--beam");
	free_result(&r);
	r = RUN("translate", "-m", ckpt, "--beam", "2", "--nbest", "4", in);
	expect_code(&r, 2, "--nbest over --beam");
	EXPECT_ERR(&r, "--nbest 4", "--nbest 4", "--beam 2");
	free_result(&r);
	r = RUN("translate", in);
	expect_code(&r, 2, "no -m");
	EXPECT_ERR(&r, "no -m", "-m");
	free_result(&r);
	r = RUN("translate", "-m", tmp("nothing.safetensors"), in);
	expect_code(&r, 1, "a missing checkpoint");
	EXPECT_ERR(&r, "a missing checkpoint", "nothing.safetensors");
	free_result(&r);
	r = RUN("translate", "-m", ckpt, "--lenpen", "avg:x", in);
	expect_code(&r, 2, "a bad --lenpen");
	free_result(&r);
	/* a language model */
	const char *lm = tmp("lm");
	r = RUN("train", "--data", tmp("train.src"), "--out", lm, "--steps", "2", "--hidden", "8", "--batch", "2",
		"--bptt", "8");
	expect_code(&r, 0, "a tiny language model");
	free_result(&r);
	r = RUN("translate", "-m", tmp("lm/model.safetensors"), in);
	expect_code(&r, 1, "a language model");
	EXPECT_ERR(&r, "a language model", "language model", "rnnlm");
	free_result(&r);
	r = RUN("score", "-m", tmp("lm/model.safetensors"), "--src", in, in);
	expect_code(&r, 1, "score --src with a language model");
	EXPECT_ERR(&r, "score --src with a language model", "language model", "--src is for a translation");
	free_result(&r);
}
END_TEST

/* The objects of seqc score's output, one per line (n of them). */
static size_t parse_objects(const result *r, json_t **objs, size_t cap)
{
	blob out = { .data = strdup(r->out.data), .len = r->out.len };
	char *l[256];
	size_t n = split_lines(&out, l, 256);
	ck_assert_uint_le(n, cap);
	for (size_t i = 0; i < n; i++) {
		json_error_t e;
		objs[i] = json_loads(l[i], 0, &e);
		ck_assert_msg(json_is_object(objs[i]), "'%s': %s", l[i], e.text);
	}
	free(out.data);
	return n;
}

#define NUM(o, key) json_number_value(json_object_get(o, key))
#define INT(o, key) json_integer_value(json_object_get(o, key))

START_TEST(test_score)
{
	const char *ckpt = trained(_i, "run");
	const char *in = tmp("in.txt"), *hyp = tmp("hyp.txt");
	write_text(in, "ab cd\nb\nca bad\n");
	result r = RUN("translate", "-m", ckpt, "--json", "--max-len", "8", "--len-a", "0", "--len-b", "30", in);
	expect_code(&r, 0, "translate --json");
	json_t *objs[256];
	ck_assert_uint_eq(parse_objects(&r, objs, 256), 3);
	double lp[3];
	json_int_t ntok[3];
	char hyps[512] = "";
	for (size_t i = 0; i < 3; i++) {
		lp[i] = NUM(objs[i], "logprob");
		ntok[i] = INT(objs[i], "tokens");
		strcat(hyps, json_string_value(json_object_get(objs[i], "text")));
		strcat(hyps, "\n");
		json_decref(objs[i]);
	}
	free_result(&r);
	write_text(hyp, hyps);
	/* each line: its tokens and eos, then the line's object; the beam's
	 * logprob is the sum over the tokens with eos, or without it for a
	 * hypothesis cut at the 30-token limit */
	r = RUN("score", "-m", ckpt, "--src", in, "--per-line", "--per-token", hyp);
	expect_code(&r, 0, "score --src --per-line --per-token");
	size_t n = parse_objects(&r, objs, 256), k = 0;
	double sum = 0;
	json_int_t tokens = 0;
	for (size_t i = 0; i < 3; i++) {
		double all = 0, but_last = 0;
		for (json_int_t t = 0; t <= ntok[i]; t++, k++) {
			ck_assert_uint_lt(k, n);
			ck_assert_int_eq(INT(objs[k], "line"), (json_int_t)i);
			ck_assert_int_eq(INT(objs[k], "pos"), t);
			but_last = all;
			all += NUM(objs[k], "logprob");
			json_decref(objs[k]);
		}
		json_t *o = objs[k++];
		ck_assert_int_eq(INT(o, "line"), (json_int_t)i);
		ck_assert_msg(INT(o, "tokens") == ntok[i] + 1, "line %zu: %lld tokens scored, %lld translated", i,
			      (long long)INT(o, "tokens"), (long long)ntok[i]);
		double l = NUM(o, "logprob"), want = ntok[i] < 30 ? all : but_last;
		ck_assert_msg(fabs(l - all) <= 1e-5 * (1 + fabs(l)), "line %zu: %.6f, its tokens sum to %.6f", i, l,
			      all);
		ck_assert_msg(fabs(want - lp[i]) <= 1e-4 * (1 + fabs(want)), "line %zu: score %.6f, beam logprob %.6f",
			      i, want, lp[i]);
		sum += l;
		tokens += INT(o, "tokens");
		json_decref(o);
	}
	ck_assert_uint_eq(k + 1, n);
	json_t *total = objs[k];
	ck_assert_int_eq(INT(total, "lines"), 3);
	ck_assert_int_eq(INT(total, "tokens"), tokens);
	double tl = NUM(total, "logprob");
	ck_assert_msg(fabs(tl - sum) <= 1e-6 * (1 + fabs(sum)), "total %.6f, lines sum to %.6f", tl, sum);
	ck_assert_double_eq_tol(NUM(total, "perplexity"), exp(-sum / (double)tokens),
				1e-6 * exp(-sum / (double)tokens));
	json_decref(total);
	free_result(&r);
	/* the same total from stdin, without --per-line */
	result s = RUN_STDIN(hyp, "score", "-m", ckpt, "--src", in);
	expect_code(&s, 0, "score --src, targets from stdin");
	ck_assert_uint_eq(parse_objects(&s, &total, 1), 1);
	ck_assert_double_eq_tol(NUM(total, "logprob"), tl, 1e-6 * (1 + fabs(tl)));
	json_decref(total);
	free_result(&s);

	/* refusals */
	write_text(tmp("two.txt"), "ab\ncd\n");
	r = RUN("score", "-m", ckpt, "--src", in, tmp("two.txt"));
	expect_code(&r, 1, "line counts that differ");
	EXPECT_ERR(&r, "line counts that differ", "in.txt has 3 lines", "two.txt has 2", "line-aligned");
	free_result(&r);
	r = RUN("score", "-m", ckpt, hyp);
	expect_code(&r, 1, "no --src for a translation model");
	EXPECT_ERR(&r, "no --src", "translation model", "--src");
	free_result(&r);
	r = RUN("score", "-m", ckpt, "--per-line", hyp);
	expect_code(&r, 2, "--per-line without --src");
	EXPECT_ERR(&r, "--per-line without --src", "--per-line needs --src");
	free_result(&r);
	r = RUN("score", "-m", ckpt, "--src", tmp("nothing.txt"), hyp);
	expect_code(&r, 1, "a missing source file");
	EXPECT_ERR(&r, "a missing source file", "nothing.txt");
	free_result(&r);
}
END_TEST

START_TEST(test_train_refusals)
{
	char tokspec[300];
	snprintf(tokspec, sizeof tokspec, "char:%s", tmp("tok.json"));
	write_task(tmp("short.src"), tmp("short.tgt"), 39, 1);
	result r = RUN("train", "--src", tmp("train.src"), "--tgt", tmp("short.tgt"), "--valid-src", tmp("valid.src"),
		       "--valid-tgt", tmp("valid.tgt"), "--out", tmp("a"), "--steps", "2", "--tokenizer", tokspec);
	expect_code(&r, 1, "line counts differ");
	EXPECT_ERR(&r, "line counts", "train.src", "short.tgt", "40", "39");
	free_result(&r);
	ck_assert(!exists(tmp("a/last.safetensors")));
	r = RUN("train", "--src", tmp("train.src"), "--tgt", tmp("train.tgt"), "--out", tmp("a"), "--steps", "2");
	expect_code(&r, 2, "no validation files");
	EXPECT_ERR(&r, "no validation files", "--valid-src");
	free_result(&r);
	r = RUN("train", "--src", tmp("train.src"), "--tgt", tmp("train.tgt"), "--valid-src", tmp("valid.src"),
		"--valid-tgt", tmp("valid.tgt"), "--out", tmp("a"), "--steps", "2", "--bptt", "8");
	expect_code(&r, 2, "--bptt for a translation model");
	EXPECT_ERR(&r, "--bptt", "--max-tokens");
	free_result(&r);
	r = RUN("train", "--src", tmp("train.src"), "--tgt", tmp("train.tgt"), "--valid-src", tmp("valid.src"),
		"--valid-tgt", tmp("missing.tgt"), "--out", tmp("a"), "--steps", "2", "--tokenizer", tokspec);
	expect_code(&r, 1, "a missing file");
	EXPECT_ERR(&r, "a missing file", "missing.tgt");
	free_result(&r);
	r = RUN("train", "--src", tmp("train.src"), "--tgt", tmp("train.tgt"), "--valid-src", tmp("valid.src"),
		"--valid-tgt", tmp("valid.tgt"), "--out", tmp("a"), "--steps", "2", "--arch", "gpt");
	expect_code(&r, 2, "--arch gpt with --src");
	EXPECT_ERR(&r, "--arch gpt", "s2s-transformer or s2s-rnn");
	free_result(&r);
}
END_TEST

/* ---- resume ---- */

static void assert_same_tensors(const char *pa, const char *pb)
{
	seqc_st *a, *b;
	ck_assert_msg(seqc_st_read(pa, &a) == 0, "%s: %s", pa, seqc_errmsg());
	ck_assert_msg(seqc_st_read(pb, &b) == 0, "%s: %s", pb, seqc_errmsg());
	ck_assert_uint_eq(seqc_st_count(a), seqc_st_count(b));
	for (size_t i = 0; i < seqc_st_count(a); i++) {
		const seqc_st_tensor *ta = seqc_st_tensor_at(a, i);
		const seqc_st_tensor *tb = seqc_st_find(b, ta->name);
		ck_assert_msg(tb != NULL && ta->numel == tb->numel, "%s: %s", pb, ta->name);
		ck_assert_msg(!memcmp(ta->data, tb->data, ta->numel * sizeof(float)), "%s vs %s: %s differs", pa,
			      pb, ta->name);
	}
	const char *sa = seqc_st_meta(a, "seqc.step"), *sb = seqc_st_meta(b, "seqc.step");
	ck_assert_msg(sa && sb && !strcmp(sa, sb), "seqc.step %s vs %s", sa ? sa : "-", sb ? sb : "-");
	seqc_st_destroy(a);
	seqc_st_destroy(b);
}

/* --eval-every N is kept when N is the language models' default (500),
 * and 0 leaves only the final validation; without the flag, every 1000. */
START_TEST(test_eval_every)
{
	static const struct {
		const char *every, *steps;
		int evals;
	} cases[] = { { "500", "501", 2 }, { "0", "3", 1 }, { NULL, "3", 1 } };
	char tokspec[300];
	snprintf(tokspec, sizeof tokspec, "char:%s", tmp("tok.json"));
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		char name[32];
		snprintf(name, sizeof name, "every%zu", c);
		const char *dir = tmp(name);
		const char *args[64] = { "train", "--src", tmp("train.src"), "--tgt", tmp("train.tgt"),
					 "--valid-src", tmp("valid.src"), "--valid-tgt", tmp("valid.tgt"),
					 "--out", dir, "--steps", cases[c].steps, "--log-every", "500",
					 "--max-tokens", "40", "--max-len", "20", "--valid-beam", "1",
					 "--valid-bleu-lines", "2", "--embed", "8", "--layers", "1", "--heads",
					 "2", "--ff", "8", "--tokenizer", tokspec };
		size_t n = 0;
		while (args[n])
			n++;
		if (cases[c].every) {
			args[n++] = "--eval-every";
			args[n++] = cases[c].every;
		}
		result r = run_in(NULL, args);
		expect_code(&r, 0, "a run with --eval-every");
		free_result(&r);
		char path[512];
		snprintf(path, sizeof path, "%s/log.jsonl", dir);
		blob log = must_read(path);
		int evals = 0;
		for (char *p = log.data; (p = strstr(p, "\"event\":\"eval\"")); p++)
			evals++;
		free(log.data);
		ck_assert_msg(evals == cases[c].evals, "--eval-every %s over %s steps: %d evaluations, want %d",
			      cases[c].every ? cases[c].every : "(none)", cases[c].steps, evals, cases[c].evals);
	}
}
END_TEST

START_TEST(test_resume)
{
	const char *a = tmp("a"), *b = tmp("b");
	result r = train_run(_i, a, "10", false, NULL);
	expect_code(&r, 0, "10 steps");
	free_result(&r);
	r = train_run(_i, b, "20", false, NULL);
	expect_code(&r, 0, "20 steps");
	free_result(&r);
	r = train_run(_i, a, "20", true, NULL);
	expect_code(&r, 0, "--resume to 20");
	free_result(&r);
	assert_same_tensors(tmp("a/last.safetensors"), tmp("b/last.safetensors"));
	assert_same_tensors(tmp("a/last.state.safetensors"), tmp("b/last.state.safetensors"));
	assert_same_tensors(tmp("a/model.safetensors"), tmp("b/model.safetensors"));
	/* model flags on a resume are refused: the model is the run's */
	r = RUN("train", "--src", tmp("train.src"), "--tgt", tmp("train.tgt"), "--valid-src", tmp("valid.src"),
		"--valid-tgt", tmp("valid.tgt"), "--out", a, "--steps", "30", "--resume", "--embed", "32");
	expect_code(&r, 2, "--resume with --embed");
	EXPECT_ERR(&r, "--resume with --embed", "--resume");
	free_result(&r);
	/* a run already there without --resume */
	r = train_run(_i, a, "30", false, NULL);
	expect_code(&r, 1, "a run already there");
	EXPECT_ERR(&r, "a run already there", "--resume");
	free_result(&r);
}
END_TEST

int main(void)
{
	seqc_bin = getenv("SEQC_BIN");
	if (!seqc_bin || access(seqc_bin, X_OK) != 0) {
		fprintf(stderr, "test_cli_s2s: SEQC_BIN does not name the seqc program (run through meson test): "
				"skipped\n");
		return TEST_SKIP;
	}
	if (!make_temp_dir("seqc-test-cli-s2s", suite_root, sizeof suite_root)) {
		perror("test_cli_s2s: cannot make a temporary folder");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("cli_s2s");
	TCase *tc = tcase_create("cli_s2s");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240); /* several runs of seqc each, slow under the sanitizers */
	tcase_add_loop_test(tc, test_train_translate, 0, 2);
	tcase_add_test(tc, test_spm);
	tcase_add_test(tc, test_translate_refusals);
	tcase_add_test(tc, test_train_refusals);
	tcase_add_loop_test(tc, test_score, 0, 2);
	tcase_add_test(tc, test_eval_every);
	tcase_add_loop_test(tc, test_resume, 0, 2);
	suite_add_tcase(s, tc);
	int rc = run_suite(s);
	remove_tree(suite_root);
	return rc;
}
