/* The SentencePiece kind against spm_encode's reference ids in the shared
 * data, and its decoding, JSON form, sampling, n-best, training and every
 * error path of the shim. Skips (77) without the shared data folder. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tokenize/spm.h"
#include "tokenize/spm_shim.h"
#include "tokenize/tok_internal.h"

static const char *const models[] = {
	"spm/spm_shakespeare_unigram1k",
	"spm/spm_shakespeare_bpe1k",
	"spm/spm_multi30k_ende_bpe8k",
};
#define UNIGRAM 0
#define BPE 1

/* tinyshakespeare.txt, read on first use inside a test (read_blob asserts,
 * which Check allows only there). */
static blob shakespeare_blob;
#define shakespeare (*shakespeare_text())

static const blob *shakespeare_text(void)
{
	if (!shakespeare_blob.data) {
		shakespeare_blob = read_blob(test_data_path("tinyshakespeare.txt"));
		ck_assert_ptr_nonnull(shakespeare_blob.data);
	}
	return &shakespeare_blob;
}

/* The .model file of models[i]. */
static const char *model_path(int i)
{
	char name[256];
	snprintf(name, sizeof name, "%s.model", models[i]);
	const char *p = test_data_path(name);
	ck_assert_msg(p, "%s is missing from the shared data", name);
	return p;
}

static seqc_tok *load(int i)
{
	seqc_tok *t = seqc_spm_load(model_path(i));
	ck_assert_msg(t, "%s: %s", models[i], seqc_errmsg());
	return t;
}

/* The first n lines of text that are not empty, as [start, end) pairs. */
typedef struct line {
	const char *s;
	size_t len;
} line;

static size_t split_lines(const char *text, size_t len, line *out, size_t n)
{
	size_t k = 0;
	for (const char *p = text, *end = text + len; p < end && k < n;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		if (stop > p)
			out[k++] = (line){p, (size_t)(stop - p)};
		p = stop + 1;
	}
	return k;
}

static int32_t *encode(const seqc_tok *t, const char *s, size_t len, size_t *n)
{
	int32_t *ids;
	int rc = seqc_tok_encode(t, s, len, &ids, n);
	ck_assert_msg(rc == 0, "encode \"%.*s\": %s", (int)len, s, seqc_errmsg());
	return ids;
}

static bool same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* ---- reference ids ---- */

/* Every line "text TAB ids" of models[i].ref.tsv must encode to its ids. */
static void check_reference(int i)
{
	char name[256];
	snprintf(name, sizeof name, "%s.ref.tsv", models[i]);
	const char *path = test_data_path(name);
	ck_assert_msg(path, "%s is missing from the shared data", name);
	blob ref = read_blob(path);
	ck_assert_ptr_nonnull(ref.data);
	seqc_tok *t = load(i);
	size_t nlines = 0, with_unk = 0;
	char *save = NULL;
	for (char *ln = strtok_r(ref.data, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		char *tab = strrchr(ln, '\t');
		ck_assert_msg(tab, "%s line %zu has no tab", name, nlines + 1);
		*tab = '\0';
		int32_t want[1024];
		size_t nwant = 0;
		for (char *p = tab + 1, *e; *p; p = e) {
			long v = strtol(p, &e, 10);
			ck_assert_msg(e != p && nwant < 1024, "%s line %zu: bad ids", name, nlines + 1);
			want[nwant++] = (int32_t)v;
			while (*e == ' ')
				e++;
		}
		size_t n;
		int32_t *ids = encode(t, ln, strlen(ln), &n);
		for (size_t k = 0; k < n && k < nwant; k++)
			ck_assert_msg(ids[k] == want[k], "%s line %zu (\"%s\"): id %zu is %d, spm_encode "
				      "gives %d", name, nlines + 1, ln, k, ids[k], want[k]);
		ck_assert_msg(n == nwant, "%s line %zu (\"%s\"): %zu ids, spm_encode gives %zu",
			      name, nlines + 1, ln, n, nwant);
		for (size_t k = 0; k < n; k++)
			with_unk += ids[k] == seqc_tok_unk(t);
		free(ids);
		nlines++;
	}
	ck_assert_uint_eq(nlines, 200);
	/* The curly quotes and CJK of the edge lines are outside the Shakespeare
	 * models: the comparison covered unk too. */
	if (i != 2)
		ck_assert_uint_gt(with_unk, 0);
	seqc_tok_destroy(t);
	free(ref.data);
}

START_TEST(test_reference_ids)
{
	check_reference(_i);
}
END_TEST

START_TEST(test_vocabulary_and_specials)
{
	seqc_tok *t = load(UNIGRAM);
	ck_assert_str_eq(seqc_tok_kind(t), "spm");
	ck_assert(seqc_tok_is_spm(t));
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 1000);
	ck_assert_int_eq(seqc_tok_unk(t), 0);
	ck_assert_int_eq(seqc_tok_bos(t), 1);
	ck_assert_int_eq(seqc_tok_eos(t), 2);
	ck_assert_int_eq(seqc_tok_pad(t), -1);
	size_t len;
	ck_assert_str_eq(seqc_tok_piece(t, 0, &len), "<unk>");
	ck_assert_str_eq(seqc_tok_piece(t, 1, &len), "<s>");
	ck_assert_str_eq(seqc_tok_piece(t, 2, &len), "</s>");
	ck_assert_uint_eq(len, 4);
	ck_assert_int_eq(seqc_tok_id(t, "</s>", 4), 2);
	ck_assert_int_eq(seqc_tok_id(t, "<unk>", 5), 0);
	/* A piece the model lacks is -1, not unk as SentencePiece says. */
	ck_assert_int_eq(seqc_tok_id(t, "no such piece", 13), -1);
	ck_assert_int_eq(seqc_tok_id(t, "", 0), -1);
	/* Every piece maps back to its id. */
	for (int32_t id = 0; id < 1000; id++) {
		const char *p = seqc_tok_piece(t, id, &len);
		ck_assert_int_eq(seqc_tok_id(t, p, len), id);
	}
	/* "What says he?" is "▁What ▁says ▁he ?" in the reference. */
	size_t n;
	int32_t *ids = encode(t, "What says he?", 13, &n);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(seqc_tok_piece(t, ids[0], &len), "\xe2\x96\x81What");
	ck_assert_str_eq(seqc_tok_piece(t, ids[4], &len), "?");
	free(ids);
	/* No text, no ids; never a NULL array. */
	ids = encode(t, "", 0, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(ids);
	free(ids);
	seqc_tok_destroy(t);
}
END_TEST

/* ---- decoding ---- */

/* What spm's default normalization makes of an ASCII line: no leading,
 * trailing or repeated spaces. */
static size_t squeeze_spaces(const char *s, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = s[i];
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	return o;
}

static void check_decode_roundtrips(int m)
{
	seqc_tok *t = load(m);
	enum { NLINES = 3000 };
	line *lines = malloc(NLINES * sizeof *lines);
	size_t nl = split_lines(shakespeare.data, shakespeare.len, lines, NLINES);
	ck_assert_uint_eq(nl, NLINES);
	seqc_detok *d = seqc_detok_create(t);
	ck_assert_ptr_nonnull(d);
	for (size_t i = 0; i < nl; i++) {
		char want[4096], stream[8192];
		size_t wlen = squeeze_spaces(lines[i].s, lines[i].len, want), slen = 0, n, len;
		int32_t *ids = encode(t, lines[i].s, lines[i].len, &n);
		char *exact, *text;
		ck_assert_int_eq(seqc_spm_decode(t, ids, n, &exact, &len), 0);
		ck_assert_msg(len == wlen && memcmp(exact, want, len) == 0,
			      "line %zu: DecodeIds gives \"%s\", expected \"%.*s\"", i, exact,
			      (int)wlen, want);
		/* The generic decoder drops the space of the first word's
		 * boundary mark too (strip_first_space). */
		ck_assert_int_eq(seqc_tok_decode(t, ids, n, &text, &len), 0);
		ck_assert_msg(len == wlen && memcmp(text, want, wlen) == 0,
			      "line %zu: seqc_tok_decode gives \"%s\", expected \"%.*s\"", i, text,
			      (int)wlen, want);
		for (size_t k = 0; k < n; k++) {
			int w = seqc_detok_push(d, ids[k], stream + slen, sizeof stream - slen);
			ck_assert_int_ge(w, 0);
			slen += (size_t)w;
		}
		ck_assert_int_eq(seqc_detok_flush(d, stream + slen, sizeof stream - slen), 0);
		ck_assert(slen == len && memcmp(stream, text, len) == 0);
		free(ids);
		free(exact);
		free(text);
	}
	seqc_detok_destroy(d);
	free(lines);
	seqc_tok_destroy(t);
}

START_TEST(test_decode_roundtrip)
{
	check_decode_roundtrips(_i);
}
END_TEST

START_TEST(test_decode_specials)
{
	seqc_tok *t = load(UNIGRAM);
	/* "What says he?" between <s> and </s>, and an unk: DecodeIds drops
	 * the controls and writes unk as " ⁇ "; the generic decoder hides all
	 * three (shown on request as their pieces). */
	int32_t ids[] = {1, 133, 163, 4, 48, 0, 25, 2};
	size_t n = sizeof ids / sizeof ids[0], len;
	char *text;
	ck_assert_int_eq(seqc_spm_decode(t, ids, n, &text, &len), 0);
	ck_assert_str_eq(text, "What says he \xe2\x81\x87 ?");
	free(text);
	ck_assert_int_eq(seqc_tok_decode(t, ids, n, &text, &len), 0);
	ck_assert_str_eq(text, "What says he?");
	free(text);
	seqc_detok *d = seqc_detok_create(t);
	seqc_detok_show_special(d, true);
	char out[SEQC_DETOK_MAX];
	ck_assert_int_eq(seqc_detok_push(d, 1, out, sizeof out), 3);
	ck_assert(memcmp(out, "<s>", 3) == 0);
	ck_assert_int_eq(seqc_detok_push(d, 0, out, sizeof out), 5);
	ck_assert(memcmp(out, "<unk>", 5) == 0);
	seqc_detok_destroy(d);
	seqc_tok_destroy(t);
}
END_TEST

/* ---- JSON ---- */

START_TEST(test_json_roundtrip)
{
	seqc_tok *t = load(_i);
	char *json = seqc_tok_to_json(t);
	ck_assert_msg(json, "%s", seqc_errmsg());
	ck_assert(strncmp(json, "{\"kind\":\"spm\",\"version\":1,\"model\":\"", 35) == 0);
	seqc_tok *u = seqc_tok_from_json(json, strlen(json));
	ck_assert_msg(u, "%s", seqc_errmsg());
	ck_assert_str_eq(seqc_tok_kind(u), "spm");
	ck_assert_uint_eq(seqc_tok_vocab_size(u), seqc_tok_vocab_size(t));
	/* The model bytes survive base64 exactly, so a second trip is equal. */
	char *again = seqc_tok_to_json(u);
	ck_assert_str_eq(again, json);
	size_t na, nb;
	int32_t *a = encode(t, shakespeare.data, 20000, &na);
	int32_t *b = encode(u, shakespeare.data, 20000, &nb);
	ck_assert(same_ids(a, na, b, nb));
	ck_assert_uint_gt(na, 1000);
	free(a);
	free(b);
	free(json);
	free(again);
	seqc_tok_destroy(u);
	seqc_tok_destroy(t);
}
END_TEST

/* from_json of {"kind":"spm","model":<model>} must fail with code and a
 * message holding every one of the pieces of expect ('|'-separated). */
static void check_bad_json(const char *model, int code, const char *expect)
{
	char json[512];
	snprintf(json, sizeof json, "{\"kind\":\"spm\"%s%s}", model ? ",\"model\":" : "",
		 model ? model : "");
	ck_assert_ptr_null(seqc_tok_from_json(json, strlen(json)));
	ck_assert_msg(seqc_errcode() == code, "%s: code %d, expected %d (%s)", json,
		      seqc_errcode(), code, seqc_errmsg());
	char want[256];
	snprintf(want, sizeof want, "%s", expect);
	char *save = NULL;
	for (char *w = strtok_r(want, "|", &save); w; w = strtok_r(NULL, "|", &save))
		ck_assert_msg(strstr(seqc_errmsg(), w), "%s: message \"%s\" lacks \"%s\"", json,
			      seqc_errmsg(), w);
}

START_TEST(test_json_errors)
{
	check_bad_json(NULL, SEQC_EFORMAT, "key \"model\" is missing");
	check_bad_json("12", SEQC_EFORMAT, "key \"model\" must be a base64 string");
	check_bad_json("\"QUJD\\n\"", SEQC_EFORMAT, "not a multiple of 4");
	check_bad_json("\"QU*D\"", SEQC_EFORMAT, "0x2a at offset 2");
	check_bad_json("\"QU=DQUJD\"", SEQC_EFORMAT, "padding '=' at offset 2");
	check_bad_json("\"QUJD=AAA\"", SEQC_EFORMAT, "padding '=' at offset 4");
	check_bad_json("\"QR==\"", SEQC_EFORMAT, "offset 1|nonzero bits");
	check_bad_json("\"QUJ=\"", SEQC_EFORMAT, "offset 2|nonzero bits");
	/* The same with zero spare bits is "AB", a valid encoding. */
	check_bad_json("\"QUI=\"", SEQC_EFORMAT, "not a usable SentencePiece model");
	check_bad_json("\"\"", SEQC_EFORMAT, "empty (0 bytes)");
	/* Valid base64 of bytes that are no model. */
	check_bad_json("\"Z2FyYmFnZSBieXRlcw==\"", SEQC_EFORMAT,
		       "key \"model\"|not a usable SentencePiece model");
	const char *v2 = "{\"kind\":\"spm\",\"version\":2,\"model\":\"\"}";
	ck_assert_ptr_null(seqc_tok_from_json(v2, strlen(v2)));
	ck_assert_int_eq(seqc_errcode(), SEQC_EUNSUPPORTED);
}
END_TEST

/* A model's JSON cut to keep only the first half of its base64 (at a
 * multiple of 4): valid base64, truncated model. */
START_TEST(test_json_truncated_model)
{
	seqc_tok *t = load(BPE);
	char *json = seqc_tok_to_json(t);
	char *model = strstr(json, "\"model\":\"") + 9;
	size_t blen = strlen(model) - 2; /* minus "} */
	size_t keep = blen / 2 / 4 * 4;
	memcpy(model + keep, "\"}", 3);
	ck_assert_ptr_null(seqc_tok_from_json(json, strlen(json)));
	ck_assert_int_eq(seqc_errcode(), SEQC_EFORMAT);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "not a usable SentencePiece model"));
	free(json);
	seqc_tok_destroy(t);
}
END_TEST

/* ---- sampling and n-best ---- */

static int32_t *sample(const seqc_tok *t, const char *s, int nbest, float alpha, uint64_t seed,
		       size_t *n)
{
	int32_t *ids;
	int rc = seqc_spm_encode_sample(t, s, strlen(s), nbest, alpha, seed, &ids, n);
	ck_assert_msg(rc == 0, "sample: %s", seqc_errmsg());
	return ids;
}

/* Samples of the first 200 lines with nbest/alpha: the same seed gives the
 * same ids, every sample decodes to the best encoding's text, and some
 * differ from the best. */
static void check_sampling(int m, int nbest, float alpha)
{
	seqc_tok *t = load(m);
	line lines[200];
	size_t nl = split_lines(shakespeare.data, shakespeare.len, lines, 200), differ = 0;
	for (size_t i = 0; i < nl; i++) {
		char s[4096];
		snprintf(s, sizeof s, "%.*s", (int)lines[i].len, lines[i].s);
		size_t nbst, na, nb, la, lb;
		int32_t *best = encode(t, s, strlen(s), &nbst);
		int32_t *a = sample(t, s, nbest, alpha, 1000 + i, &na);
		int32_t *b = sample(t, s, nbest, alpha, 1000 + i, &nb);
		ck_assert_msg(same_ids(a, na, b, nb), "line %zu: seed %zu sampled twice differs", i,
			      1000 + i);
		char *ta, *tb;
		ck_assert_int_eq(seqc_spm_decode(t, a, na, &ta, &la), 0);
		ck_assert_int_eq(seqc_spm_decode(t, best, nbst, &tb, &lb), 0);
		ck_assert_msg(la == lb && strcmp(ta, tb) == 0, "line %zu: sample \"%s\" vs \"%s\"",
			      i, ta, tb);
		differ += !same_ids(a, na, best, nbst);
		free(best);
		free(a);
		free(b);
		free(ta);
		free(tb);
	}
	ck_assert_msg(differ > 20 && differ < nl, "%zu of %zu samples differ from the best",
		      differ, nl);
	seqc_tok_destroy(t);
}

START_TEST(test_sampling_unigram_lattice)
{
	check_sampling(UNIGRAM, -1, 0.1f);
}
END_TEST

START_TEST(test_sampling_unigram_nbest)
{
	check_sampling(UNIGRAM, 8, 0.5f);
}
END_TEST

START_TEST(test_sampling_bpe_dropout)
{
	check_sampling(BPE, -1, 0.1f);
}
END_TEST

START_TEST(test_sampling_seeds_differ)
{
	/* Different seeds give different samples of a long line, and a seed
	 * gives the same sample however many draws happened in between. */
	seqc_tok *t = load(UNIGRAM);
	const char *s = "Than gilt his trophy: the breasts of Hecuba, when she did suckle Hector";
	size_t n0, n1, n2;
	int32_t *a = sample(t, s, -1, 0.0f, 7, &n0);
	int32_t *b = sample(t, s, -1, 0.0f, 8, &n1);
	ck_assert(!same_ids(a, n0, b, n1));
	free(b);
	b = sample(t, s, -1, 0.0f, 7, &n2);
	ck_assert(same_ids(a, n0, b, n2));
	free(a);
	free(b);
	/* alpha large: the best encoding. */
	size_t nb;
	int32_t *best = encode(t, s, strlen(s), &nb);
	a = sample(t, s, 16, 1000.0f, 1, &n0);
	ck_assert(same_ids(a, n0, best, nb));
	free(a);
	free(best);
	seqc_tok_destroy(t);
	/* BPE-dropout: alpha 0 is the best encoding, 1 drops every merge. */
	t = load(BPE);
	best = encode(t, s, strlen(s), &nb);
	a = sample(t, s, -1, 0.0f, 3, &n0);
	ck_assert(same_ids(a, n0, best, nb));
	free(a);
	a = sample(t, s, -1, 1.0f, 3, &n0);
	ck_assert_uint_eq(n0, strlen(s) + 1); /* "▁" for each space and the start */
	for (size_t i = 0; i < n0; i++) {
		size_t len;
		const char *p = seqc_tok_piece(t, a[i], &len);
		ck_assert_msg(len == 1 || strcmp(p, "\xe2\x96\x81") == 0, "piece \"%s\"", p);
	}
	free(a);
	free(best);
	seqc_tok_destroy(t);
}
END_TEST

/* One sample drawn on a thread of its own. */
typedef struct sample_job {
	const seqc_tok *t;
	const char *s;
	uint64_t seed;
	int32_t *ids;
	size_t n;
	int rc;
} sample_job;

static void *sample_thread(void *arg)
{
	sample_job *j = arg;
	j->rc = seqc_spm_encode_sample(j->t, j->s, strlen(j->s), -1, 0.0f, j->seed, &j->ids, &j->n);
	return NULL;
}

START_TEST(test_sampling_threads)
{
	/* SentencePiece's generator is per thread: a seed must give the same
	 * sample on fresh threads, running at once, as on this one. */
	seqc_tok *t = load(UNIGRAM);
	const char *s = "Than gilt his trophy: the breasts of Hecuba, when she did suckle Hector";
	size_t n;
	int32_t *want = sample(t, s, -1, 0.0f, 99, &n);
	sample_job jobs[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (sample_job){.t = t, .s = s, .seed = i % 2 ? 99 : 5};
		ck_assert_int_eq(pthread_create(&th[i], NULL, sample_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(jobs[i].rc, 0);
	}
	ck_assert(same_ids(jobs[1].ids, jobs[1].n, want, n));
	ck_assert(same_ids(jobs[3].ids, jobs[3].n, want, n));
	ck_assert(same_ids(jobs[0].ids, jobs[0].n, jobs[2].ids, jobs[2].n));
	ck_assert(!same_ids(jobs[0].ids, jobs[0].n, want, n));
	for (int i = 0; i < 4; i++)
		free(jobs[i].ids);
	free(want);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_nbest)
{
	seqc_tok *t = load(UNIGRAM);
	const char *s = "Makes him to send; that thereby he may gather";
	seqc_spm_nbest nb;
	ck_assert_int_eq(seqc_spm_encode_nbest(t, s, strlen(s), 6, &nb), 0);
	ck_assert_uint_eq(nb.count, 6);
	size_t n;
	int32_t *best = encode(t, s, strlen(s), &n);
	ck_assert(same_ids(nb.ids, nb.start[1], best, n));
	free(best);
	for (size_t i = 0; i < nb.count; i++) {
		const int32_t *e = nb.ids + nb.start[i];
		size_t len = nb.start[i + 1] - nb.start[i], tl;
		char *text;
		ck_assert_int_eq(seqc_spm_decode(t, e, len, &text, &tl), 0);
		ck_assert_str_eq(text, s);
		free(text);
		ck_assert(isfinite(nb.score[i]));
		if (i > 0)
			ck_assert_msg(nb.score[i] <= nb.score[i - 1], "score %zu %g > %g", i,
				      (double)nb.score[i], (double)nb.score[i - 1]);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(!same_ids(e, len, nb.ids + nb.start[j],
						nb.start[j + 1] - nb.start[j]),
				      "encodings %zu and %zu are equal", j, i);
	}
	seqc_spm_nbest_finish(&nb);
	seqc_spm_nbest_finish(&nb); /* empty: harmless */
	seqc_spm_nbest_finish(NULL);
	/* A one-character text has fewer encodings than asked. */
	ck_assert_int_eq(seqc_spm_encode_nbest(t, "a", 1, 10, &nb), 0);
	ck_assert_uint_ge(nb.count, 1);
	ck_assert_uint_lt(nb.count, 10);
	seqc_spm_nbest_finish(&nb);
	ck_assert_int_eq(seqc_spm_encode_nbest(t, "  ", 2, 4, &nb), 0);
	ck_assert_uint_eq(nb.count, 1);
	ck_assert_uint_eq(nb.start[1], 0);
	seqc_spm_nbest_finish(&nb);
	ck_assert_int_eq(seqc_spm_encode_nbest(t, s, strlen(s), 0, &nb), SEQC_EINVAL);
	ck_assert_int_eq(seqc_spm_encode_nbest(t, s, strlen(s), 5000, &nb), SEQC_EINVAL);
	ck_assert_uint_eq(nb.count, 0);
	seqc_tok_destroy(t);
	t = load(BPE);
	ck_assert_int_eq(seqc_spm_encode_nbest(t, s, strlen(s), 3, &nb), SEQC_EUNSUPPORTED);
	ck_assert_ptr_null(nb.ids);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_sampling_errors)
{
	seqc_tok *t = load(UNIGRAM);
	int32_t *ids = (int32_t *)1;
	size_t n = 1;
	ck_assert_int_eq(seqc_spm_encode_sample(t, "a b", 3, 0, 0.1f, 1, &ids, &n), SEQC_EINVAL);
	ck_assert_ptr_null(ids);
	ck_assert_int_eq(seqc_spm_encode_sample(t, "a b", 3, -1, NAN, 1, &ids, &n), SEQC_EINVAL);
	ck_assert_int_eq(seqc_spm_encode_sample(t, "a b", 3, -1, -0.5f, 1, &ids, &n), SEQC_EINVAL);
	ck_assert_int_eq(seqc_spm_encode_sample(t, "a\xff", 2, -1, 0.1f, 1, &ids, &n), SEQC_EUTF8);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "byte 1 (0xff)"));
	ck_assert_int_eq(seqc_spm_encode_sample(t, NULL, 3, -1, 0.1f, 1, &ids, &n), SEQC_EINVAL);
	ck_assert_int_eq(seqc_spm_encode_sample(t, "", 0, -1, 0.1f, 1, &ids, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(ids);
	free(ids);
	/* Another kind. */
	seqc_tok *c = seqc_tok_char_build("abc", 3, NULL);
	ck_assert_int_eq(seqc_spm_encode_sample(c, "a", 1, -1, 0.1f, 1, &ids, &n), SEQC_EINVAL);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "char, not spm"));
	seqc_spm_nbest nb;
	ck_assert_int_eq(seqc_spm_encode_nbest(c, "a", 1, 2, &nb), SEQC_EINVAL);
	char *text;
	size_t len;
	ck_assert_int_eq(seqc_spm_decode(c, (int32_t[]){0}, 1, &text, &len), SEQC_EINVAL);
	ck_assert_int_eq(seqc_spm_model_bytes(c, &text, &len), SEQC_EINVAL);
	ck_assert(!seqc_tok_is_spm(c));
	seqc_tok_destroy(c);
	seqc_tok_destroy(t);
}
END_TEST

/* ---- errors of loading, encoding, decoding ---- */

static void expect_error(int code, const char *part)
{
	ck_assert_msg(seqc_errcode() == code, "code %d, expected %d (%s)", seqc_errcode(), code,
		      seqc_errmsg());
	ck_assert_msg(strstr(seqc_errmsg(), part), "message \"%s\" lacks \"%s\"", seqc_errmsg(),
		      part);
}

START_TEST(test_load_errors)
{
	ck_assert_ptr_null(seqc_spm_load("/nonexistent/m.model"));
	expect_error(SEQC_EIO, "/nonexistent/m.model");
	ck_assert_ptr_null(seqc_spm_load(NULL));
	expect_error(SEQC_EINVAL, "path is NULL");
	/* A text file is no model. */
	char name[256];
	snprintf(name, sizeof name, "%s.vocab", models[UNIGRAM]);
	const char *vocab = test_data_path(name);
	ck_assert_ptr_null(seqc_spm_load(vocab));
	expect_error(SEQC_EFORMAT, vocab);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "not a usable SentencePiece model"));
	ck_assert_ptr_null(seqc_spm_load_mem("garbage bytes", 13));
	expect_error(SEQC_EFORMAT, "spm model bytes: not a usable SentencePiece model");
	ck_assert_ptr_null(seqc_spm_load_mem("", 0));
	expect_error(SEQC_EFORMAT, "empty (0 bytes)");
	ck_assert_ptr_null(seqc_spm_load_mem(NULL, 5));
	expect_error(SEQC_EINVAL, "data is NULL");
	/* Truncated at several places. */
	blob m = read_blob(model_path(BPE));
	ck_assert_ptr_nonnull(m.data);
	size_t cuts[] = {1, 7, 100, m.len / 3, m.len / 2, m.len - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		seqc_tok *t = seqc_spm_load_mem(m.data, cuts[i]);
		ck_assert_msg(!t, "a model cut to %zu of %zu bytes loaded", cuts[i], m.len);
		ck_assert_int_eq(seqc_errcode(), SEQC_EFORMAT);
	}
	seqc_tok *t = seqc_spm_load_mem(m.data, m.len);
	ck_assert_msg(t, "%s", seqc_errmsg());
	/* model_bytes gives back a model that loads to the same tokenizer. */
	char *bytes;
	size_t len;
	ck_assert_int_eq(seqc_spm_model_bytes(t, &bytes, &len), 0);
	seqc_tok *u = seqc_spm_load_mem(bytes, len);
	ck_assert_ptr_nonnull(u);
	ck_assert_uint_eq(seqc_tok_vocab_size(u), 1000);
	free(bytes);
	seqc_tok_destroy(u);
	seqc_tok_destroy(t);
	free(m.data);
}
END_TEST

START_TEST(test_encode_decode_errors)
{
	seqc_tok *t = load(UNIGRAM);
	int32_t *ids;
	size_t n, len;
	ck_assert_int_eq(seqc_tok_encode(t, "ok \xc3\x28 then", 9, &ids, &n), SEQC_EUTF8);
	expect_error(SEQC_EUTF8, "invalid UTF-8 at byte 3 (0xc3)");
	ck_assert_ptr_null(ids);
	ck_assert_int_eq(seqc_tok_encode(t, "tail \xe2\x96", 7, &ids, &n), SEQC_EUTF8);
	expect_error(SEQC_EUTF8, "at byte 5");
	char *text;
	int32_t bad[] = {5, 1000};
	ck_assert_int_eq(seqc_spm_decode(t, bad, 2, &text, &len), SEQC_ERANGE);
	expect_error(SEQC_ERANGE, "ids[1] = 1000");
	ck_assert_ptr_null(text);
	bad[1] = -1;
	ck_assert_int_eq(seqc_tok_decode(t, bad, 2, &text, &len), SEQC_ERANGE);
	expect_error(SEQC_ERANGE, "ids[1] = -1");
	ck_assert_ptr_null(seqc_tok_piece(t, 1000, &len));
	expect_error(SEQC_ERANGE, "id 1000");
	ck_assert_ptr_null(seqc_tok_piece(t, -3, &len));
	ck_assert_int_eq(seqc_spm_decode(t, NULL, 2, &text, &len), SEQC_EINVAL);
	ck_assert_int_eq(seqc_spm_decode(t, NULL, 0, &text, &len), 0);
	ck_assert_str_eq(text, "");
	free(text);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_shim_pieces)
{
	seqc_spm *sp = seqc_spm_shim_load_file(model_path(UNIGRAM));
	ck_assert_ptr_nonnull(sp);
	/* Pieces name unknown characters as themselves (ids say unk). */
	const char *s = "What says he \xe2\x80\x94 well?";
	char *buf;
	size_t *off, n;
	ck_assert_int_eq(seqc_spm_shim_encode_pieces(sp, s, strlen(s), &buf, &off, &n), 0);
	seqc_idvec v = {0};
	ck_assert_int_eq(seqc_spm_shim_encode_ids(sp, s, strlen(s), &v), 0);
	ck_assert_uint_eq(v.len, n);
	bool saw_dash = false;
	for (size_t i = 0; i < n; i++) {
		const char *p = buf + off[i];
		size_t len = off[i + 1] - off[i] - 1, plen;
		ck_assert_uint_eq(strlen(p), len);
		if (v.data[i] == 0) {
			saw_dash = strstr(p, "\xe2\x80\x94") != NULL;
			continue;
		}
		const char *want = seqc_spm_shim_id_to_piece(sp, v.data[i], &plen);
		ck_assert_str_eq(p, want);
		ck_assert_int_eq(seqc_spm_shim_piece_to_id(sp, p, len), v.data[i]);
		ck_assert_int_eq(seqc_spm_shim_piece_type(sp, v.data[i]), SEQC_SPM_PIECE_NORMAL);
	}
	ck_assert(saw_dash);
	ck_assert_int_eq(seqc_spm_shim_piece_type(sp, 0), SEQC_SPM_PIECE_UNKNOWN);
	ck_assert_int_eq(seqc_spm_shim_piece_type(sp, 1), SEQC_SPM_PIECE_CONTROL);
	/* The shim checks ranges itself too. */
	size_t plen;
	ck_assert_ptr_null(seqc_spm_shim_id_to_piece(sp, 1000, &plen));
	expect_error(SEQC_ERANGE, "id 1000");
	char *text;
	ck_assert_int_eq(seqc_spm_shim_decode_ids(sp, (int32_t[]){3, -2}, 2, &text, &plen),
			 SEQC_ERANGE);
	expect_error(SEQC_ERANGE, "ids[1] = -2");
	free(buf);
	free(off);
	free(v.data);
	seqc_spm_shim_free(sp);
	seqc_spm_shim_free(NULL);
	ck_assert_ptr_null(seqc_spm_shim_load_bytes("x", 1, "test bytes"));
	expect_error(SEQC_EFORMAT, "test bytes");
}
END_TEST

/* ---- training ---- */

/* The first nbytes of Shakespeare, cut at a line end. */
static size_t corpus_len(size_t nbytes)
{
	while (nbytes < shakespeare.len && shakespeare.data[nbytes - 1] != '\n')
		nbytes++;
	return nbytes;
}

static seqc_tok *train(seqc_spm_type type, size_t vocab, const char *extra, size_t nbytes)
{
	seqc_spm_train_opts o = seqc_spm_train_defaults();
	o.type = type;
	o.vocab_size = vocab;
	o.extra = extra;
	return seqc_spm_train(shakespeare.data, corpus_len(nbytes), &o);
}

/* A trained model has the asked vocabulary and round-trips the lines it
 * was trained on, and the next ones. */
static void check_trained(seqc_tok *t, size_t vocab)
{
	ck_assert_msg(t, "training failed: %s", seqc_errmsg());
	ck_assert_uint_eq(seqc_tok_vocab_size(t), vocab);
	ck_assert_int_eq(seqc_tok_unk(t), 0);
	line lines[400];
	size_t nl = split_lines(shakespeare.data, shakespeare.len, lines, 400);
	for (size_t i = 0; i < nl; i++) {
		char want[4096];
		size_t wlen = squeeze_spaces(lines[i].s, lines[i].len, want), n, len;
		int32_t *ids = encode(t, lines[i].s, lines[i].len, &n);
		char *text;
		ck_assert_int_eq(seqc_spm_decode(t, ids, n, &text, &len), 0);
		ck_assert_msg(len == wlen && memcmp(text, want, len) == 0, "line %zu: \"%s\"", i,
			      text);
		free(ids);
		free(text);
	}
	/* The whole corpus in one call, through JSON and back. */
	char *json = seqc_tok_to_json(t);
	seqc_tok *u = seqc_tok_from_json(json, strlen(json));
	ck_assert_ptr_nonnull(u);
	size_t na, nb;
	int32_t *a = encode(t, shakespeare.data, 50000, &na);
	int32_t *b = encode(u, shakespeare.data, 50000, &nb);
	ck_assert(same_ids(a, na, b, nb));
	/* Subword pieces: fewer ids than characters. */
	ck_assert_uint_lt(na, 50000 / 2);
	free(a);
	free(b);
	free(json);
	seqc_tok_destroy(u);
}

/* Two trained tokenizers hold byte-identical models. */
static void check_same_model(const seqc_tok *t, const seqc_tok *u)
{
	char *a, *b;
	size_t la, lb;
	ck_assert_int_eq(seqc_spm_model_bytes(t, &a, &la), 0);
	ck_assert_int_eq(seqc_spm_model_bytes(u, &b, &lb), 0);
	ck_assert(la == lb && memcmp(a, b, la) == 0);
	free(a);
	free(b);
}

START_TEST(test_train_unigram)
{
	seqc_tok *t = train(SEQC_SPM_UNIGRAM, 300, "--num_threads=1 --character_coverage=1.0",
			    60000);
	check_trained(t, 300);
	/* Deterministic: the same corpus and options give the same model. */
	seqc_tok *u = train(SEQC_SPM_UNIGRAM, 300, "--num_threads=1 --character_coverage=1.0",
			    60000);
	check_same_model(t, u);
	seqc_tok_destroy(u);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_train_bpe)
{
	seqc_tok *t = train(SEQC_SPM_BPE, 400, "--num_threads=1  --character_coverage=1.0 ", 60000);
	check_trained(t, 400);
	seqc_tok_destroy(t);
}
END_TEST

/* Byte fallback: characters outside the vocabulary become byte pieces,
 * which the generic decoder turns back into the characters. */
START_TEST(test_train_byte_fallback)
{
	seqc_tok *t = train(SEQC_SPM_BPE, 400, "--num_threads=1 --byte_fallback=true", 60000);
	ck_assert_msg(t, "training failed: %s", seqc_errmsg());
	ck_assert(!t->whole_pieces);
	const char *s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end"; /* café € 😀 end */
	size_t n, len;
	int32_t *ids = encode(t, s, strlen(s), &n);
	size_t byte_pieces = 0;
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_ne(ids[i], seqc_tok_unk(t));
		const char *p = seqc_tok_piece(t, ids[i], &len);
		byte_pieces += len == 6 && strncmp(p, "<0x", 3) == 0;
	}
	ck_assert_uint_eq(byte_pieces, 2 + 3 + 4);
	char *exact, *text;
	ck_assert_int_eq(seqc_spm_decode(t, ids, n, &exact, &len), 0);
	ck_assert_str_eq(exact, s);
	ck_assert_int_eq(seqc_tok_decode(t, ids, n, &text, &len), 0);
	ck_assert_uint_eq(len, strlen(s) + 1);
	ck_assert_str_eq(text + 1, s);
	free(text);
	free(exact);
	/* A stray continuation byte alone decodes to U+FFFD. */
	int32_t lone = seqc_tok_id(t, "<0x80>", 6);
	ck_assert_int_ge(lone, 0);
	ck_assert_int_eq(seqc_tok_decode(t, &lone, 1, &text, &len), 0);
	ck_assert_str_eq(text, "\xef\xbf\xbd");
	free(text);
	/* A cut "€" then "A": one U+FFFD for the maximal subpart E2 82 in
	 * the stream, one per byte in DecodeIds (spm.h, difference 3). */
	int32_t cut[] = {seqc_tok_id(t, "<0xE2>", 6), seqc_tok_id(t, "<0x82>", 6),
			 seqc_tok_id(t, "<0x41>", 6)};
	ck_assert_int_eq(seqc_tok_decode(t, cut, 3, &text, &len), 0);
	ck_assert_str_eq(text, "\xef\xbf\xbd" "A");
	free(text);
	ck_assert_int_eq(seqc_spm_decode(t, cut, 3, &text, &len), 0);
	ck_assert_str_eq(text, "\xef\xbf\xbd\xef\xbf\xbd" "A");
	free(text);
	free(ids);
	seqc_tok_destroy(t);
}
END_TEST

/* Trained on all of Tiny Shakespeare with the options the shared models
 * were made with (spm/ README), the vocabulary is spm_train's, piece for
 * piece. (The .model bytes differ: they record spm_train's --input and
 * --model_prefix.) */
START_TEST(test_train_matches_spm_train)
{
	seqc_spm_type type = _i == 0 ? SEQC_SPM_UNIGRAM : SEQC_SPM_BPE;
	int m = _i == 0 ? UNIGRAM : BPE;
	seqc_tok *t = train(type, 1000, "--character_coverage=1.0 --num_threads=1",
			    shakespeare.len);
	ck_assert_msg(t, "training failed: %s", seqc_errmsg());
	seqc_tok *ref = load(m);
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 1000);
	for (int32_t id = 0; id < 1000; id++) {
		size_t la, lb;
		const char *a = seqc_tok_piece(t, id, &la), *b = seqc_tok_piece(ref, id, &lb);
		ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "%s piece %d: \"%s\", spm_train "
			      "made \"%s\"", models[m], id, a, b);
	}
	seqc_tok_destroy(ref);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_train_errors)
{
	struct {
		const char *extra;
		size_t vocab;
		const char *expect;
	} cases[] = {
		{"--bogus=1", 300, "unknown field name \"bogus\""},
		{"--character_coverage=abc", 300, "abc"},
		{"--vocab_size=12", 300, "--vocab_size is set by the trainer's arguments"},
		{"--input=/etc/passwd", 300, "--input is set"},
		{"--model_prefix=x", 300, "--model_prefix is set"},
		{"num_threads=1", 300, "\"num_threads=1\" is not of the form --name=value"},
		{"--num_threads", 300, "is not of the form"},
		{NULL, 100000, "Vocabulary size too high"},
		{NULL, 20, "Vocabulary size is smaller than required_chars"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		seqc_tok *t = train(SEQC_SPM_BPE, cases[i].vocab, cases[i].extra, 20000);
		ck_assert_msg(!t, "case %zu trained", i);
		expect_error(SEQC_EINVAL, cases[i].expect);
	}
	seqc_spm_train_opts o = seqc_spm_train_defaults();
	ck_assert_ptr_null(seqc_spm_train("", 0, &o));
	expect_error(SEQC_EINVAL, "empty corpus");
	ck_assert_ptr_null(seqc_spm_train("ok\nbad \xff\n", 8, &o));
	expect_error(SEQC_EUTF8, "spm training corpus: invalid UTF-8 at byte 7");
	o.vocab_size = 1;
	ck_assert_ptr_null(seqc_spm_train("ok", 2, &o));
	expect_error(SEQC_EINVAL, "vocab_size 1");
	o = seqc_spm_train_defaults();
	o.type = (seqc_spm_type)7;
	ck_assert_ptr_null(seqc_spm_train("ok", 2, &o));
	expect_error(SEQC_EINVAL, "model type 7");
	ck_assert_ptr_null(seqc_spm_train_file("/nonexistent/corpus.txt", NULL));
	expect_error(SEQC_EIO, "/nonexistent/corpus.txt: cannot open");
	ck_assert_ptr_null(seqc_spm_train_file("/tmp", NULL));
	expect_error(SEQC_EIO, "not a regular file");
	seqc_spm_type ty;
	ck_assert_int_eq(seqc_spm_type_from_name("bpe", &ty), 0);
	ck_assert_int_eq(ty, SEQC_SPM_BPE);
	ck_assert_int_eq(seqc_spm_type_from_name("word", &ty), SEQC_EINVAL);
	ck_assert_str_eq(seqc_spm_type_name(SEQC_SPM_UNIGRAM), "unigram");
	ck_assert_ptr_null(seqc_spm_type_name((seqc_spm_type)2));
}
END_TEST

START_TEST(test_train_file)
{
	char dir[512], path[600];
	ck_assert(make_temp_dir("seqc-spm", dir, sizeof dir));
	snprintf(path, sizeof path, "%s/corpus.txt", dir);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	size_t len = corpus_len(40000);
	ck_assert_uint_eq(fwrite(shakespeare.data, 1, len, f), len);
	fclose(f);
	seqc_spm_train_opts o = seqc_spm_train_defaults();
	o.vocab_size = 250;
	o.extra = "--num_threads=1";
	seqc_tok *t = seqc_spm_train_file(path, &o);
	seqc_tok *u = seqc_spm_train(shakespeare.data, len, &o);
	ck_assert_msg(t && u, "%s", seqc_errmsg());
	check_same_model(t, u);
	seqc_tok_destroy(t);
	seqc_tok_destroy(u);
	remove_tree(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("spm");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_reference_ids, 0, 3);
	tcase_add_test(tc, test_vocabulary_and_specials);
	tcase_add_loop_test(tc, test_decode_roundtrip, 0, 3);
	tcase_add_test(tc, test_decode_specials);
	tcase_add_loop_test(tc, test_json_roundtrip, 0, 3);
	tcase_add_test(tc, test_json_errors);
	tcase_add_test(tc, test_json_truncated_model);
	tcase_add_test(tc, test_sampling_unigram_lattice);
	tcase_add_test(tc, test_sampling_unigram_nbest);
	tcase_add_test(tc, test_sampling_bpe_dropout);
	tcase_add_test(tc, test_sampling_seeds_differ);
	tcase_add_test(tc, test_sampling_threads);
	tcase_add_test(tc, test_nbest);
	tcase_add_test(tc, test_sampling_errors);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_encode_decode_errors);
	tcase_add_test(tc, test_shim_pieces);
	tcase_add_test(tc, test_train_unigram);
	tcase_add_test(tc, test_train_bpe);
	tcase_add_test(tc, test_train_byte_fallback);
	tcase_add_loop_test(tc, test_train_matches_spm_train, 0, 2);
	tcase_add_test(tc, test_train_errors);
	tcase_add_test(tc, test_train_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!test_data_path("tinyshakespeare.txt") ||
	    !test_data_path("spm/spm_shakespeare_bpe1k.model")) {
		fprintf(stderr, "skipped: tinyshakespeare.txt or spm/ not found in the shared data "
			"folder (set SEQC_TEST_DATA)\n");
		return TEST_SKIP;
	}
	int rc = run_suite(suite());
	free(shakespeare_blob.data);
	return rc;
}
