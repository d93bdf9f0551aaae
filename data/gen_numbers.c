/* gen_numbers: the offline synthetic translation task, English number words
 * to French number words (numbers.h has the spelling rules), written as
 * DIR/{train,valid,test}.{en,fr}, one number per line, line i of .en
 * translating to line i of .fr.
 *
 * Numbers are drawn with a seeded generator (seqc_rng): first a length of
 * 1 to 6 digits, uniformly, then a number of that length, so that small
 * numbers are as common as large ones; a number is used at most once over
 * the three splits, so the splits are disjoint. Each English line draws its
 * own variations ("and", the comma after thousand), which the model must
 * learn to ignore. The same seed and sizes give the same files. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "numbers.h"
#include "seq/rng.h"

/* Defaults. */
enum {
	DEFAULT_TRAIN = 20000,
	DEFAULT_VALID = 500,
	DEFAULT_TEST = 500,
	DEFAULT_SEED = 1,
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: gen_numbers --out DIR [--train N] [--valid N] [--test N] [--seed S]\n"
		"\n"
		"Writes DIR/{train,valid,test}.{en,fr}: English number words and their French\n"
		"translation (traditional spelling), numbers 0 to 999,999, disjoint splits.\n"
		"\n"
		"  --out DIR    output folder (made when missing)\n"
		"  --train N    training pairs (default %d)\n"
		"  --valid N    validation pairs (default %d)\n"
		"  --test N     test pairs (default %d)\n"
		"  --seed S     random seed (default %d)\n"
		"example: gen_numbers --out data/numbers --seed 7\n",
		DEFAULT_TRAIN, DEFAULT_VALID, DEFAULT_TEST, DEFAULT_SEED);
}

static int parse_count(const char *flag, const char *s, unsigned long long max,
		       unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = s && *s && *s != '-' ? strtoull(s, &end, 10) : 0;
	if (!s || !*s || *s == '-' || errno || *end || v > max) {
		fprintf(stderr, "gen_numbers: %s needs an integer in [0, %llu], got '%s'\n", flag, max,
			s ? s : "");
		return -1;
	}
	*out = v;
	return 0;
}

/* Draws numbers not drawn before (used[]), by digit count. */
typedef struct drawer {
	seqc_rng rng;
	unsigned char *used;   /* [NUMBERS_MAX + 1] */
	uint32_t left[6];      /* unused numbers of 1..6 digits */
} drawer;

static const uint32_t lo[6] = { 0, 10, 100, 1000, 10000, 100000 };
static const uint32_t hi[6] = { 9, 99, 999, 9999, 99999, 999999 };

static uint32_t draw(drawer *d)
{
	for (;;) {
		uint32_t k = seqc_rng_below(&d->rng, 6);
		if (!d->left[k])
			continue; /* every number of that length is used: another length */
		uint32_t n;
		do
			n = lo[k] + seqc_rng_below(&d->rng, hi[k] - lo[k] + 1);
		while (d->used[n]);
		d->used[n] = 1;
		d->left[k]--;
		return n;
	}
}

/* Writes one split; returns 0 or prints the error and returns -1. */
static int write_split(drawer *d, const char *dir, const char *name, unsigned long long count)
{
	char pen[4096], pfr[4096];
	snprintf(pen, sizeof pen, "%s/%s.en", dir, name);
	snprintf(pfr, sizeof pfr, "%s/%s.fr", dir, name);
	FILE *en = fopen(pen, "w"), *fr = fopen(pfr, "w");
	int rc = 0;
	if (!en || !fr) {
		fprintf(stderr, "gen_numbers: %s: %s\n", en ? pfr : pen, strerror(errno));
		rc = -1;
	}
	for (unsigned long long i = 0; i < count && rc == 0; i++) {
		uint32_t n = draw(d);
		unsigned flags = seqc_rng_below(&d->rng, 4); /* and, comma: each half the time */
		char e[128], f[128];
		if (numbers_en(n, flags, e, sizeof e) < 0 || numbers_fr(n, f, sizeof f) < 0) {
			fprintf(stderr, "gen_numbers: cannot spell %u\n", n);
			rc = -1;
		} else if (fprintf(en, "%s\n", e) < 0 || fprintf(fr, "%s\n", f) < 0) {
			fprintf(stderr, "gen_numbers: %s: write error\n", pen);
			rc = -1;
		}
	}
	if (en && fclose(en) != 0 && rc == 0) {
		fprintf(stderr, "gen_numbers: %s: write error\n", pen);
		rc = -1;
	}
	if (fr && fclose(fr) != 0 && rc == 0) {
		fprintf(stderr, "gen_numbers: %s: write error\n", pfr);
		rc = -1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	unsigned long long n[3] = { DEFAULT_TRAIN, DEFAULT_VALID, DEFAULT_TEST }, seed = DEFAULT_SEED;
	static const char *const split_flags[3] = { "--train", "--valid", "--test" };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int k = -1;
		for (int s = 0; s < 3; s++)
			if (!strcmp(a, split_flags[s]))
				k = s;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--out") && v) {
			out = v;
			i++;
		} else if (k >= 0) {
			if (parse_count(a, v, NUMBERS_MAX + 1ull, &n[k]) < 0)
				return 2;
			i++;
		} else if (!strcmp(a, "--seed")) {
			if (parse_count(a, v, UINT64_MAX, &seed) < 0)
				return 2;
			i++;
		} else {
			fprintf(stderr, "gen_numbers: unknown option or missing value '%s' (see --help)\n", a);
			return 2;
		}
	}
	if (!out) {
		fprintf(stderr, "gen_numbers: --out DIR is required (see --help)\n");
		return 2;
	}
	if (n[0] + n[1] + n[2] > NUMBERS_MAX + 1ull) {
		fprintf(stderr, "gen_numbers: %llu + %llu + %llu pairs, but only %u numbers exist\n", n[0],
			n[1], n[2], NUMBERS_MAX + 1);
		return 2;
	}
	if (mkdir(out, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen_numbers: %s: %s\n", out, strerror(errno));
		return 1;
	}
	drawer d = { .used = calloc(NUMBERS_MAX + 1, 1) };
	if (!d.used) {
		fprintf(stderr, "gen_numbers: out of memory\n");
		return 1;
	}
	for (int k = 0; k < 6; k++)
		d.left[k] = hi[k] - lo[k] + 1;
	seqc_rng_seed(&d.rng, seed, SEQC_STREAM_DATA);
	static const char *const names[3] = { "train", "valid", "test" };
	int rc = 0;
	for (int s = 0; s < 3 && rc == 0; s++)
		rc = write_split(&d, out, names[s], n[s]);
	free(d.used);
	return rc ? 1 : 0;
}
