/* bench_tokenize: byte-level BPE encode throughput on one thread, and the
 * trainer's time.
 *
 *   bench_tokenize gpt2 DIR FILE      GPT-2's encoder.json + vocab.bpe in DIR
 *   bench_tokenize bpe DIR FILE       a BPE of ours (the same two files)
 *   bench_tokenize train FILE VOCAB OUTDIR
 *                                     train a BPE of VOCAB tokens on FILE and
 *                                     save it in OUTDIR (which must exist)
 *   options (before the words): --runs R (timed runs, best kept; 5)
 *
 * Encoding: the whole FILE in one seqc_tok_encode call, one warm-up run
 * then R timed runs, keeping the fastest; the decoded ids are checked to
 * give FILE back before anything is printed. One JSON line per measurement
 * on stdout; errors on stderr (exit 1), usage errors exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "seq/seqc.h"

static int usage(void)
{
	fprintf(stderr, "usage: bench_tokenize [--runs R] gpt2|bpe DIR FILE\n"
		"       bench_tokenize [--runs R] train FILE VOCAB OUTDIR\n"
		"  --runs R  timed runs, the fastest is kept (default 5)\n"
		"example: bench_tokenize gpt2 ../shared/data/gpt2 ../shared/data/tinyshakespeare.txt\n");
	return 2;
}

/* The whole file into *data (NUL-terminated), or an error message. */
static int read_all(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;
	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (cap - n < 65536) {
			cap = cap ? 2 * cap : 1 << 20;
			char *b = realloc(buf, cap + 1);
			if (!b) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = b;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

static int bench_encode(const char *kind, const char *dir, const char *file, int runs)
{
	char *text;
	size_t len;
	if (read_all(file, &text, &len) < 0)
		return 1;
	double t0 = bench_now();
	seqc_tok *t = seqc_bpe_load(dir);
	double load = bench_now() - t0;
	if (!t) {
		fprintf(stderr, "%s\n", seqc_errmsg());
		free(text);
		return 1;
	}
	double best = 1e30;
	size_t n = 0;
	int rc = 0;
	for (int r = 0; r <= runs && rc == 0; r++) {
		int32_t *ids;
		t0 = bench_now();
		rc = seqc_tok_encode(t, text, len, &ids, &n);
		double dt = bench_now() - t0;
		if (rc < 0)
			break;
		if (r > 0 && dt < best)
			best = dt;
		if (r == 0) {
			char *back;
			size_t blen;
			rc = seqc_tok_decode(t, ids, n, &back, &blen);
			if (rc == 0 && (blen != len || memcmp(back, text, len) != 0)) {
				fprintf(stderr, "%s: decoding does not give the text back\n", file);
				rc = -1;
			}
			free(back);
		}
		free(ids);
	}
	if (rc < 0) {
		fprintf(stderr, "%s\n", seqc_errmsg());
	} else {
		printf("{\"bench\":\"tokenize\",\"kind\":\"%s\",\"vocab\":%zu,\"file\":\"%s\",\"bytes\":%zu,"
		       "\"ids\":%zu,\"bytes_per_id\":%.3f,\"load_seconds\":%.4f,\"encode_seconds\":%.5f,"
		       "\"mb_per_s\":%.2f,\"runs\":%d,\"threads\":1}\n", kind, seqc_tok_vocab_size(t),
		       file, len, n, n ? (double)len / (double)n : 0.0, load, best,
		       (double)len / best / 1e6, runs);
	}
	seqc_tok_destroy(t);
	free(text);
	return rc < 0;
}

static int bench_train(const char *file, const char *vocab, const char *outdir)
{
	char *end;
	unsigned long long v = strtoull(vocab, &end, 10);
	if (*vocab == '\0' || *end != '\0' || v < 257)
		return fprintf(stderr, "VOCAB must be a whole number >= 257, got \"%s\"\n", vocab), 2;
	char *text;
	size_t len;
	if (read_all(file, &text, &len) < 0)
		return 1;
	seqc_tok *t;
	double t0 = bench_now();
	int rc = seqc_bpe_train(text, len, (size_t)v, NULL, &t);
	double dt = bench_now() - t0;
	if (rc == 0)
		rc = seqc_bpe_save(t, outdir);
	if (rc < 0) {
		fprintf(stderr, "%s\n", seqc_errmsg());
	} else {
		printf("{\"bench\":\"bpe_train\",\"file\":\"%s\",\"bytes\":%zu,\"vocab\":%zu,"
		       "\"train_seconds\":%.3f,\"out\":\"%s\"}\n", file, len, seqc_tok_vocab_size(t), dt,
		       outdir);
		seqc_tok_destroy(t);
	}
	free(text);
	return rc < 0;
}

int main(int argc, char **argv)
{
	int runs = 5, a = 1;
	if (a + 1 < argc && strcmp(argv[a], "--runs") == 0) {
		char *end;
		long r = strtol(argv[a + 1], &end, 10);
		if (*argv[a + 1] == '\0' || *end != '\0' || r < 1 || r > 1000)
			return fprintf(stderr, "--runs takes a whole number from 1 to 1000\n"), 2;
		runs = (int)r;
		a += 2;
	}
	if (argc - a == 3 && (strcmp(argv[a], "gpt2") == 0 || strcmp(argv[a], "bpe") == 0))
		return bench_encode(argv[a], argv[a + 1], argv[a + 2], runs);
	if (argc - a == 4 && strcmp(argv[a], "train") == 0)
		return bench_train(argv[a + 1], argv[a + 2], argv[a + 3]);
	return usage();
}
