/* SentencePiece encoding speed through the shim against Debian's
 * spm_encode, in MB/s of input text, one JSON line per measurement.
 *
 *   bench_spm [--repeats R] [--text FILE] [--spm-encode PROGRAM] [MODEL.model ...]
 *
 * Defaults: tinyshakespeare.txt and the models spm_shakespeare_bpe1k and
 * spm_shakespeare_unigram1k from the shared data folder ($SEQC_TEST_DATA,
 * or ../shared/data beside the source tree), 5 repeats, best kept.
 *
 * Modes, per model:
 *   lines       seqc_tok_encode on each line (without its '\n'), as
 *               spm_encode encodes each line of its input;
 *   whole       one seqc_tok_encode of the whole file;
 *   spm_encode  `spm_encode --model=M --output_format=id < FILE > /dev/null`
 *               run as a process, its start and its writing of the ids
 *               included (how the issue measured it).
 * A "ratio" line gives lines / spm_encode (the target is >= 0.9). Before
 * timing, the ids of every line are checked against spm_encode's output,
 * so the speeds compare equal work. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "seq/seqc.h"

extern char **environ;

typedef struct text {
	char *data;
	size_t len;
} text;

static int read_text(const char *path, text *t)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fprintf(stderr, "bench_spm: %s: %s\n", path, strerror(errno)), -1;
	size_t cap = 1 << 20;
	t->data = malloc(cap);
	t->len = 0;
	size_t got;
	while (t->data && (got = fread(t->data + t->len, 1, cap - t->len, f)) > 0) {
		t->len += got;
		if (t->len == cap) {
			char *d = realloc(t->data, cap *= 2);
			if (!d)
				free(t->data);
			t->data = d;
		}
	}
	fclose(f);
	if (!t->data)
		return fprintf(stderr, "bench_spm: %s: out of memory\n", path), -1;
	return 0;
}

/* Encodes every line of t; the number of ids, or -1. When check is not
 * NULL, compares each line's ids with the next line of check (spm_encode's
 * output: ids separated by spaces, one line per input line). */
static long encode_lines(const seqc_tok *tok, const text *t, FILE *check)
{
	long total = 0;
	char *want = NULL;
	size_t wcap = 0;
	for (size_t at = 0, lineno = 1; at < t->len; lineno++) {
		const char *s = t->data + at;
		const char *nl = memchr(s, '\n', t->len - at);
		size_t len = nl ? (size_t)(nl - s) : t->len - at;
		at += len + (nl != NULL);
		int32_t *ids;
		size_t n;
		if (seqc_tok_encode(tok, s, len, &ids, &n) < 0) {
			fprintf(stderr, "bench_spm: line %zu: %s\n", lineno, seqc_errmsg());
			return -1;
		}
		total += (long)n;
		if (check) {
			bool same = getline(&want, &wcap, check) >= 0;
			char *p = want;
			for (size_t k = 0; same && k < n; k++) {
				char *e;
				long v = strtol(p, &e, 10);
				same = e != p && v == ids[k];
				p = e;
			}
			while (same && *p == ' ')
				p++;
			if (!same || (*p != '\n' && *p != '\0')) {
				fprintf(stderr, "bench_spm: line %zu: ids differ from spm_encode's\n",
					lineno);
				free(ids);
				free(want);
				return -1;
			}
		}
		free(ids);
	}
	free(want);
	return total;
}

/* Runs spm_encode on the file, its stdout to out_fd; 0 when it exits 0. */
static int run_spm_encode(const char *prog, const char *model, const char *file, int out_fd)
{
	char flag[4096];
	snprintf(flag, sizeof flag, "--model=%s", model);
	char *argv[] = {(char *)prog, flag, (char *)"--output_format=id", NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, file, O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	pid_t pid;
	int rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return fprintf(stderr, "bench_spm: cannot run %s: %s\n", prog, strerror(rc)), -1;
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fprintf(stderr, "bench_spm: %s failed on %s\n", prog, model), -1;
	return 0;
}

/* The ids spm_encode writes for the file, as a stream to read back. */
static FILE *spm_encode_output(const char *prog, const char *model, const char *file)
{
	FILE *f = tmpfile();
	if (!f || run_spm_encode(prog, model, file, fileno(f)) < 0)
		return f ? fclose(f), NULL : NULL;
	rewind(f);
	return f;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void report(const char *model, const char *mode, size_t bytes, double sec, long ids)
{
	printf("{\"bench\": \"spm\", \"model\": \"%s\", \"mode\": \"%s\", \"bytes\": %zu, "
	       "\"ids\": %ld, \"seconds\": %.6f, \"mb_per_s\": %.3f}\n", model, mode, bytes, ids,
	       sec, (double)bytes / sec / 1e6);
	fflush(stdout);
}

static int bench_model(const char *model, const text *t, const char *file, const char *prog,
		       int repeats)
{
	const char *name = base_name(model);
	seqc_tok *tok = seqc_spm_load(model);
	if (!tok)
		return fprintf(stderr, "bench_spm: %s\n", seqc_errmsg()), -1;
	FILE *ref = spm_encode_output(prog, model, file);
	long ids = ref ? encode_lines(tok, t, ref) : -1;
	if (ref)
		fclose(ref);
	if (ids < 0) {
		seqc_tok_destroy(tok);
		return -1;
	}
	double best_lines = 1e30, best_whole = 1e30, best_cli = 1e30;
	long whole_ids = 0;
	int devnull = open("/dev/null", O_WRONLY);
	/* Alternate the three so that a change of load hits all alike. */
	for (int r = 0; r < repeats && devnull >= 0; r++) {
		double t0 = bench_now();
		if (encode_lines(tok, t, NULL) < 0)
			break;
		double t1 = bench_now();
		int32_t *all;
		size_t n;
		if (seqc_tok_encode(tok, t->data, t->len, &all, &n) < 0)
			break;
		double t2 = bench_now();
		free(all);
		whole_ids = (long)n;
		if (run_spm_encode(prog, model, file, devnull) < 0)
			break;
		double t3 = bench_now();
		best_lines = t1 - t0 < best_lines ? t1 - t0 : best_lines;
		best_whole = t2 - t1 < best_whole ? t2 - t1 : best_whole;
		best_cli = t3 - t2 < best_cli ? t3 - t2 : best_cli;
	}
	if (devnull >= 0)
		close(devnull);
	seqc_tok_destroy(tok);
	if (best_cli == 1e30)
		return -1;
	report(name, "lines", t->len, best_lines, ids);
	report(name, "whole", t->len, best_whole, whole_ids);
	report(name, "spm_encode", t->len, best_cli, ids);
	printf("{\"bench\": \"spm\", \"model\": \"%s\", \"mode\": \"ratio\", "
	       "\"lines_over_spm_encode\": %.3f}\n", name, best_cli / best_lines);
	return 0;
}

static const char *data_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("SEQC_TEST_DATA");
	snprintf(path, sizeof path, "%s/%s", dir ? dir : SEQC_SOURCE_DIR "/../shared/data", name);
	return path;
}

int main(int argc, char **argv)
{
	int repeats = 5;                           /* timed runs per mode; best kept */
	const char *prog = "spm_encode";           /* Debian's, on PATH */
	char file[4096];                           /* the text to encode */
	snprintf(file, sizeof file, "%s", data_path("tinyshakespeare.txt"));
	const char *models[64];
	int nmodels = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--repeats") && i + 1 < argc) {
			repeats = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--text") && i + 1 < argc) {
			snprintf(file, sizeof file, "%s", argv[++i]);
		} else if (!strcmp(argv[i], "--spm-encode") && i + 1 < argc) {
			prog = argv[++i];
		} else if (argv[i][0] != '-' && nmodels < 64) {
			models[nmodels++] = argv[i];
		} else {
			fprintf(stderr, "usage: bench_spm [--repeats R (5)] [--text FILE "
				"(tinyshakespeare.txt)] [--spm-encode PROGRAM (spm_encode)] "
				"[MODEL.model ...]\n");
			return 2;
		}
	}
	if (repeats < 1) {
		fprintf(stderr, "bench_spm: --repeats must be at least 1\n");
		return 2;
	}
	char defaults[2][4096];
	if (nmodels == 0) {
		snprintf(defaults[0], 4096, "%s", data_path("spm/spm_shakespeare_bpe1k.model"));
		snprintf(defaults[1], 4096, "%s", data_path("spm/spm_shakespeare_unigram1k.model"));
		models[0] = defaults[0];
		models[1] = defaults[1];
		nmodels = 2;
	}
	text t;
	if (read_text(file, &t) < 0)
		return 1;
	int rc = 0;
	for (int i = 0; i < nmodels; i++)
		rc |= bench_model(models[i], &t, file, prog, repeats) < 0;
	free(t.data);
	return rc;
}
