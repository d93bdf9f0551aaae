/* The character tokenizer on whole corpora from the shared data folder:
 * tiny Shakespeare and Frankenstein. Skipped (77) when they are absent.
 * Prints build and encode times to stderr for the record; asserts none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

#include "support.h"
#include "tokenize/char.h"

typedef struct corpus {
	char *text;
	size_t len;
} corpus;

static corpus shakespeare, frankenstein;

/* The whole file, or {NULL, 0} with a message. Runs outside any test, so
 * it reports instead of asserting. */
static corpus read_file(const char *path)
{
	corpus c = {0};
	FILE *f = fopen(path, "rb");
	long size = -1;
	if (f && fseek(f, 0, SEEK_END) == 0)
		size = ftell(f);
	if (size >= 0) {
		rewind(f);
		c.len = (size_t)size;
		c.text = malloc(c.len + 1);
		if (c.text && fread(c.text, 1, c.len, f) != c.len) {
			free(c.text);
			c.text = NULL;
		}
	}
	if (f)
		fclose(f);
	if (!c.text) {
		fprintf(stderr, "cannot read %s\n", path);
		c.len = 0;
	}
	return c;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Builds from c, encodes c, and checks that decoding (at once and one id
 * at a time) gives c back exactly. Returns the tokenizer. */
static seqc_tok *build_and_roundtrip(const corpus *c, const seqc_char_opts *o, const char *name,
				     size_t expect_ids)
{
	double t0 = now();
	seqc_tok *t = seqc_tok_char_build(c->text, c->len, o);
	double t1 = now();
	ck_assert_msg(t, "%s: %s", name, seqc_errmsg());
	int32_t *ids;
	size_t n;
	ck_assert_msg(seqc_tok_encode(t, c->text, c->len, &ids, &n) == 0, "%s", seqc_errmsg());
	double t2 = now();
	ck_assert_uint_eq(n, expect_ids);
	char *back;
	size_t len;
	ck_assert_int_eq(seqc_tok_decode(t, ids, n, &back, &len), 0);
	double t3 = now();
	fprintf(stderr, "%s (%zu bytes, norm %s, %s): build %.1f ms, encode %.1f ms, "
		"decode %.1f ms\n", name, c->len, seqc_norm_name(o->norm),
		o->graphemes ? "graphemes" : "code points", 1e3 * (t1 - t0), 1e3 * (t2 - t1),
		1e3 * (t3 - t2));
	ck_assert_uint_eq(len, c->len);
	ck_assert_msg(memcmp(back, c->text, len) == 0, "%s: decoded text differs", name);
	free(back);

	/* Streaming, one id at a time. (Check reports every passing assertion
	 * to its parent process, so the loop only records a failure.) */
	seqc_detok *d = seqc_detok_create(t);
	char *out = malloc(c->len + SEQC_DETOK_MAX);
	size_t used = 0, bad = n;
	for (size_t i = 0; i < n && bad == n; i++) {
		int r = seqc_detok_push(d, ids[i], out + used, SEQC_DETOK_MAX);
		if (r < 0 || used + (size_t)r > c->len)
			bad = i;
		else
			used += (size_t)r;
	}
	ck_assert_msg(bad == n, "%s: push of id %zu failed or overflowed: %s", name, bad,
		      seqc_errmsg());
	ck_assert_int_eq(seqc_detok_flush(d, out + used, SEQC_DETOK_MAX), 0);
	ck_assert_uint_eq(used, c->len);
	ck_assert_msg(memcmp(out, c->text, used) == 0, "%s: streamed text differs", name);
	free(out);
	seqc_detok_destroy(d);
	free(ids);
	return t;
}

START_TEST(test_shakespeare)
{
	seqc_char_opts o = seqc_char_defaults();
	seqc_tok *t = build_and_roundtrip(&shakespeare, &o, "tinyshakespeare", 1115394);
	/* 65 distinct characters, all ASCII, plus the 4 specials. */
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 65 + 4);
	ck_assert_int_eq(seqc_tok_id(t, "\n", 1), 4);
	ck_assert_int_eq(seqc_tok_id(t, " ", 1), 5);
	ck_assert_int_eq(seqc_tok_id(t, "z", 1), 68);

	/* The JSON form gives the same ids on the whole corpus. */
	char *json = seqc_tok_to_json(t);
	seqc_tok *u = seqc_tok_from_json(json, strlen(json));
	ck_assert_msg(u, "%s", seqc_errmsg());
	int32_t *a, *b;
	size_t na, nb;
	ck_assert_int_eq(seqc_tok_encode(t, shakespeare.text, shakespeare.len, &a, &na), 0);
	ck_assert_int_eq(seqc_tok_encode(u, shakespeare.text, shakespeare.len, &b, &nb), 0);
	ck_assert_uint_eq(na, nb);
	ck_assert(memcmp(a, b, na * sizeof *a) == 0);
	free(a);
	free(b);
	free(json);
	seqc_tok_destroy(u);

	/* Frankenstein through Shakespeare's characters: one id per code
	 * point, 1,364 of them unk (digits, brackets, curly quotes, ...). */
	if (frankenstein.text) {
		int32_t *ids;
		size_t n, unk = 0;
		ck_assert_int_eq(seqc_tok_encode(t, frankenstein.text, frankenstein.len, &ids, &n), 0);
		ck_assert_uint_eq(n, 419331);
		for (size_t i = 0; i < n; i++)
			unk += ids[i] == seqc_tok_unk(t);
		ck_assert_uint_eq(unk, 1364);
		free(ids);
	}
	seqc_tok_destroy(t);

	/* Grapheme mode and NFKC agree on this ASCII text. */
	o.graphemes = true;
	o.norm = SEQC_NORM_NFKC;
	t = build_and_roundtrip(&shakespeare, &o, "tinyshakespeare", 1115394);
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 69);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_frankenstein)
{
	if (!frankenstein.text)
		return;
	/* 419,331 code points, 83 distinct (curly quotes, em dashes, æ ...);
	 * the file is NFC, and has no combining marks, so graphemes match. */
	for (int graphemes = 0; graphemes < 2; graphemes++) {
		seqc_char_opts o = seqc_char_defaults();
		o.graphemes = graphemes;
		seqc_tok *t = build_and_roundtrip(&frankenstein, &o, "frankenstein", 419331);
		ck_assert_uint_eq(seqc_tok_vocab_size(t), 83 + 4);
		ck_assert_int_ge(seqc_tok_id(t, "\xe2\x80\x9c", 3), 4); /* left double quote */
		seqc_tok_destroy(t);
	}
	/* A cap keeps the most frequent: space and "e" survive a cap of 10. */
	seqc_char_opts o = seqc_char_defaults();
	o.max_vocab = 10;
	seqc_tok *t = seqc_tok_char_build(frankenstein.text, frankenstein.len, &o);
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 10);
	ck_assert_int_ge(seqc_tok_id(t, " ", 1), 4);
	ck_assert_int_ge(seqc_tok_id(t, "e", 1), 4);
	ck_assert_int_eq(seqc_tok_id(t, "\xe2\x80\x9c", 3), -1);
	seqc_tok_destroy(t);
}
END_TEST

/* Grapheme units must be the clusters utf8proc finds in one pass of its
 * own (UTF8PROC_CHARBOUND puts 0xFF before each), which checks the
 * tokenizer's chunking, ASCII shortcut and state resets. */
static void check_graphemes(const char *file)
{
	const char *path = test_data_path(file);
	if (!path) {
		fprintf(stderr, "%s not found: its grapheme check is skipped\n", file);
		return;
	}
	corpus c = read_file(path);
	ck_assert_ptr_nonnull(c.text);
	seqc_char_opts o = {.norm = SEQC_NORM_NONE, .graphemes = true};
	seqc_tok *t = seqc_tok_char_build(c.text, c.len, &o);
	ck_assert_msg(t, "%s: %s", file, seqc_errmsg());
	int32_t *ids;
	size_t n;
	ck_assert_int_eq(seqc_tok_encode(t, c.text, c.len, &ids, &n), 0);
	utf8proc_uint8_t *ref;
	utf8proc_ssize_t rlen = utf8proc_map((const utf8proc_uint8_t *)c.text, (utf8proc_ssize_t)c.len,
					     &ref, UTF8PROC_CHARBOUND);
	ck_assert_int_gt(rlen, 0);
	size_t k = 0, at = 0, multi = 0, bad = SIZE_MAX;
	while (at < (size_t)rlen && bad == SIZE_MAX) {
		size_t end = at + 1; /* ref[at] is the 0xFF mark */
		while (end < (size_t)rlen && ref[end] != 0xFF)
			end++;
		size_t plen = 0;
		const char *p = k < n ? seqc_tok_piece(t, ids[k], &plen) : NULL;
		if (!p || plen != end - at - 1 || memcmp(p, ref + at + 1, plen) != 0)
			bad = k;
		multi += plen > 4;
		k++;
		at = end;
	}
	ck_assert_msg(bad == SIZE_MAX, "%s: unit %zu differs from utf8proc's cluster", file, bad);
	ck_assert_uint_eq(k, n);
	fprintf(stderr, "%s: %zu grapheme clusters (%zu of more than 4 bytes) match utf8proc\n",
		file, n, multi);
	free(ref);
	free(ids);
	free(c.text);
	seqc_tok_destroy(t);
}

START_TEST(test_graphemes_match_utf8proc)
{
	check_graphemes("gpt2/gpt2_reference.jsonl");
	check_graphemes("tatoeba_eng_fra/pairs.fr");
	check_graphemes("multi30k/train.de");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tok_corpus");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_shakespeare);
	tcase_add_test(tc, test_frankenstein);
	tcase_add_test(tc, test_graphemes_match_utf8proc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *sp = test_data_path("tinyshakespeare.txt");
	if (!sp) {
		fprintf(stderr, "skipped: tinyshakespeare.txt not found in the shared data folder "
			"(set SEQC_TEST_DATA)\n");
		return TEST_SKIP;
	}
	shakespeare = read_file(sp);
	if (!shakespeare.text)
		return EXIT_FAILURE;
	const char *fp = test_data_path("frankenstein.txt");
	if (fp)
		frankenstein = read_file(fp);
	else
		fprintf(stderr, "frankenstein.txt not found: its checks are skipped\n");
	int rc = run_suite(suite());
	free(shakespeare.text);
	free(frankenstein.text);
	return rc;
}
