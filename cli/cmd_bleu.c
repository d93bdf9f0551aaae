/* seqc bleu: corpus BLEU (and chrF) of a hypothesis file against reference
 * files, as sacreBLEU prints them. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "cli.h"
#include "decode/bleu.h"

static const char *const CMD = "seqc bleu";

enum { MAX_REFS = 16 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seqc bleu REF [REF...] HYP [--chrf] [--chrf++] [--lowercase] [--json]\n"
		"\n"
		"Corpus BLEU of the lines of HYP against the lines of one or more reference\n"
		"files (line i of each REF is a reference for line i of HYP; up to %d), computed\n"
		"as sacreBLEU 2.x computes it by default (13a tokenizer, exp smoothing, closest\n"
		"reference length), printed as sacreBLEU prints it:\n"
		"  BLEU = 34.78 67.3/42.1/28.6/19.4 (BP = 0.981 ratio = 0.981 hyp_len = 12043 "
		"ref_len = 12276)\n"
		"  BLEU signature: nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:seqc-...\n"
		"Every file must have as many lines; an empty hypothesis line is fine, an\n"
		"empty reference line is refused (as sacreBLEU does). Text is UTF-8.\n"
		"\n"
		"  --chrf        also chrF (character 6-grams, beta 2, whitespace removed)\n"
		"  --chrf++      also chrF++ (chrF plus word 1- and 2-grams)\n"
		"  --lowercase   case-insensitive (both metrics)\n"
		"  --json        one JSON line: {\"bleu\": {\"score\", \"precisions\", \"bp\", \"ratio\",\n"
		"                \"hyp_len\", \"ref_len\", \"counts\", \"totals\", \"signature\"},\n"
		"                \"chrf\": {\"name\", \"score\", \"signature\"}}\n"
		"example: seqc bleu newstest.de output.de --chrf\n",
		MAX_REFS);
}

/* A file's text and where its lines start. */
typedef struct lines {
	const char *path;
	char *text;
	size_t len, n;
	size_t *start, *end;
} lines;

static void lines_free(lines *l)
{
	free(l->text);
	free(l->start);
	free(l->end);
}

/* Reads path and splits it into lines (a final newline makes no empty last
 * line); invalid UTF-8 is refused naming the line. Prints the error. */
static int lines_read(const char *path, lines *l)
{
	*l = (lines){ .path = path };
	if (read_all(CMD, path, &l->text, &l->len) < 0)
		return -1;
	size_t cap = 0, s = 0, e;
	while (next_line(l->text, l->len, &s, &e)) {
		if (l->n == cap) {
			cap = cap ? 2 * cap : 1024;
			size_t *a = realloc(l->start, cap * sizeof *a), *b = a ? realloc(l->end, cap * sizeof *b) : NULL;
			if (a)
				l->start = a;
			if (b)
				l->end = b;
			if (!a || !b) {
				fprintf(stderr, "%s: %s: out of memory\n", CMD, path);
				return -1;
			}
		}
		for (size_t i = s; i < e;) {
			utf8proc_int32_t c;
			utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)l->text + i,
							      (utf8proc_ssize_t)(e - i), &c);
			if (k <= 0) {
				fprintf(stderr, "%s: %s:%zu: invalid UTF-8 at byte %zu of the line (0x%02x)\n",
					CMD, path, l->n + 1, i - s + 1, (unsigned char)l->text[i]);
				return -1;
			}
			i += (size_t)k;
		}
		l->start[l->n] = s;
		l->end[l->n++] = e;
		s = e + 1;
	}
	return 0;
}

static void print_bleu(const seqc_bleu_result *r, const char *sig)
{
	printf("BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %llu ref_len = %llu)\n",
	       r->score, r->precisions[0], r->precisions[1], r->precisions[2], r->precisions[3], r->bp,
	       r->ratio, (unsigned long long)r->hyp_len, (unsigned long long)r->ref_len);
	printf("BLEU signature: %s\n", sig);
}

static json_t *bleu_json(const seqc_bleu_result *r, const seqc_bleu_stats *st, const char *sig)
{
	json_t *p = json_array(), *c = json_array(), *t = json_array();
	for (size_t n = 0; n < SEQC_BLEU_ORDER; n++) {
		json_array_append_new(p, json_real(r->precisions[n]));
		json_array_append_new(c, json_integer((json_int_t)st->correct[n]));
		json_array_append_new(t, json_integer((json_int_t)st->total[n]));
	}
	return json_pack("{s:f, s:o, s:f, s:f, s:I, s:I, s:o, s:o, s:s}", "score", r->score,
			 "precisions", p, "bp", r->bp, "ratio", r->ratio, "hyp_len",
			 (json_int_t)r->hyp_len, "ref_len", (json_int_t)r->ref_len, "counts", c,
			 "totals", t, "signature", sig);
}

/* Scores every line; prints the error and returns -1 on failure. */
static int score_all(const lines *refs, size_t nrefs, const lines *hyp, seqc_bleu *b,
		     seqc_chrf *c)
{
	const char *rp[MAX_REFS];
	size_t rl[MAX_REFS];
	for (size_t i = 0; i < hyp->n; i++) {
		for (size_t r = 0; r < nrefs; r++) {
			rp[r] = refs[r].text + refs[r].start[i];
			rl[r] = refs[r].end[i] - refs[r].start[i];
		}
		const char *h = hyp->text + hyp->start[i];
		size_t hl = hyp->end[i] - hyp->start[i];
		if (seqc_bleu_add(b, h, hl, rp, rl, nrefs) < 0 ||
		    (c && seqc_chrf_add(c, h, hl, rp, rl, nrefs) < 0)) {
			/* the only failure left after the UTF-8 check: no reference */
			fprintf(stderr, "%s: %s:%zu: %s\n", CMD, refs[0].path, i + 1, seqc_errmsg());
			return -1;
		}
	}
	return 0;
}

int cmd_bleu(int argc, char **argv)
{
	const char *files[MAX_REFS + 1];
	size_t nfiles = 0;
	bool json = false, lowercase = false;
	int word_order = -1; /* -1: no chrF */
	args a = { argc, argv, 0, CMD };
	for (a.i = 0; a.i < argc; a.i++) {
		if (arg_flag(&a, "--help") || arg_flag(&a, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (arg_flag(&a, "--chrf")) {
			word_order = word_order < 0 ? 0 : word_order;
		} else if (arg_flag(&a, "--chrf++")) {
			word_order = 2;
		} else if (arg_flag(&a, "--lowercase")) {
			lowercase = true;
		} else if (arg_flag(&a, "--json")) {
			json = true;
		} else if (argv[a.i][0] != '-' || !strcmp(argv[a.i], "-")) {
			if (nfiles == MAX_REFS + 1) {
				fprintf(stderr, "%s: at most %d reference files\n", CMD, MAX_REFS);
				return EXIT_USAGE;
			}
			files[nfiles++] = argv[a.i];
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see seqc bleu --help)\n", CMD, argv[a.i]);
			return EXIT_USAGE;
		}
	}
	if (nfiles < 2) {
		fprintf(stderr, "%s: give REF and HYP files (see seqc bleu --help)\n", CMD);
		return EXIT_USAGE;
	}
	lines l[MAX_REFS + 1] = { 0 };
	size_t nrefs = nfiles - 1;
	seqc_bleu *b = NULL;
	seqc_chrf *c = NULL;
	int rc = EXIT_FAIL;
	for (size_t i = 0; i < nfiles; i++)
		if (lines_read(files[i], &l[i]) < 0)
			goto done;
	for (size_t i = 0; i < nrefs; i++) {
		if (l[i].n != l[nrefs].n) {
			fprintf(stderr, "%s: %s has %zu lines but %s has %zu\n", CMD, l[i].path, l[i].n,
				l[nrefs].path, l[nrefs].n);
			goto done;
		}
	}
	seqc_bleu_opts bo = { .lowercase = lowercase, .smooth = SEQC_BLEU_SMOOTH_EXP, .smooth_value = -1 };
	seqc_chrf_opts co = seqc_chrf_defaults();
	co.lowercase = lowercase;
	co.word_order = word_order > 0 ? word_order : 0;
	if (!(b = seqc_bleu_create(&bo)) || (word_order >= 0 && !(c = seqc_chrf_create(&co)))) {
		fail(CMD);
		goto done;
	}
	if (score_all(l, nrefs, &l[nrefs], b, c) < 0)
		goto done;
	seqc_bleu_result r;
	seqc_bleu_compute(b, &r);
	if (json) {
		seqc_bleu_stats st = seqc_bleu_get_stats(b);
		json_t *o = json_pack("{s:o}", "bleu", bleu_json(&r, &st, seqc_bleu_signature(b)));
		if (o && c)
			json_object_set_new(o, "chrf", json_pack("{s:s, s:f, s:s}", "name", seqc_chrf_name(c),
								 "score", seqc_chrf_score(c), "signature",
								 seqc_chrf_signature(c)));
		if (print_json_line(o, JSON_COMPACT | JSON_REAL_PRECISION(17)) < 0) {
			fail(CMD);
			goto done;
		}
	} else {
		print_bleu(&r, seqc_bleu_signature(b));
		if (c) {
			printf("%s = %.2f\n", seqc_chrf_name(c), seqc_chrf_score(c));
			printf("%s signature: %s\n", seqc_chrf_name(c), seqc_chrf_signature(c));
		}
	}
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
done:
	for (size_t i = 0; i < nfiles; i++)
		lines_free(&l[i]);
	seqc_bleu_destroy(b);
	seqc_chrf_destroy(c);
	return rc;
}
