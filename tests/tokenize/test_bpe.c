/* Byte-level BPE: GPT-2's files against the reference encodings, the
 * pre-tokenizer on hand-checked cases, the merge loops against each other,
 * the files and JSON form, malformed input, and the trainer. Tests that
 * need the shared data folder are left out (with a note) when it is
 * absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support.h"
#include "tokenize/bpe.h"
#include "tokenize/bpe_internal.h"

static seqc_tok *gpt2; /* GPT-2's tokenizer, loaded once by main when the data is there */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Encodes text[0..len) with t, failing the test on error; *n ids. */
static int32_t *encode(const seqc_tok *t, const char *text, size_t len, size_t *n)
{
	int32_t *ids;
	int rc = seqc_tok_encode(t, text, len, &ids, n);
	ck_assert_msg(rc == 0, "encode failed: %s", seqc_errmsg());
	return ids;
}

/* Decodes ids and checks the result is text[0..len). */
static void check_decode(const seqc_tok *t, const int32_t *ids, size_t n, const char *text,
			 size_t len, const char *what)
{
	char *back;
	size_t blen;
	ck_assert_msg(seqc_tok_decode(t, ids, n, &back, &blen) == 0, "%s", seqc_errmsg());
	ck_assert_msg(blen == len && memcmp(back, text, len) == 0, "%s: decoding differs from "
		      "the text (%zu bytes, expected %zu)", what, blen, len);
	free(back);
}

/* ---- GPT-2 against the reference ---- */

START_TEST(test_reference_jsonl)
{
	blob b = read_blob(test_data_path("gpt2/gpt2_reference.jsonl"));
	ck_assert_ptr_nonnull(b.data);
	size_t line = 0, checked = 0;
	for (char *s = b.data, *end = b.data + b.len; s < end;) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		line++;
		json_error_t err;
		json_t *o = json_loadb(s, n, JSON_ALLOW_NUL, &err);
		ck_assert_msg(o, "reference line %zu: %s", line, err.text);
		const json_t *text = json_object_get(o, "text"), *ref = json_object_get(o, "ids");
		ck_assert(json_is_string(text) && json_is_array(ref));
		size_t len = json_string_length(text), nids;
		int32_t *ids = encode(gpt2, json_string_value(text), len, &nids);
		size_t want = json_array_size(ref), bad = SIZE_MAX;
		for (size_t i = 0; i < want && i < nids && bad == SIZE_MAX; i++)
			if (ids[i] != json_integer_value(json_array_get(ref, i)))
				bad = i;
		ck_assert_msg(nids == want && bad == SIZE_MAX, "reference line %zu (\"%.60s\"): %zu ids, "
			      "expected %zu; first difference at %zd", line, json_string_value(text),
			      nids, want, bad == SIZE_MAX ? (ssize_t)-1 : (ssize_t)bad);
		check_decode(gpt2, ids, nids, json_string_value(text), len, "reference");
		free(ids);
		json_decref(o);
		checked++;
		s += n + 1;
	}
	ck_assert_uint_eq(checked, 382);
	free(b.data);
}
END_TEST

/* Tiny Shakespeare in one call against its reference ids, then back. */
START_TEST(test_shakespeare_whole_file)
{
	blob text = read_blob(test_data_path("tinyshakespeare.txt"));
	blob ref = read_blob(test_data_path("gpt2/tinyshakespeare.gpt2.u16le"));
	ck_assert(text.data && ref.data);
	size_t n;
	double t0 = now();
	int32_t *ids = encode(gpt2, text.data, text.len, &n);
	double t1 = now();
	fprintf(stderr, "tinyshakespeare: %zu ids in %.1f ms\n", n, 1e3 * (t1 - t0));
	ck_assert_uint_eq(n, ref.len / 2);
	ck_assert_uint_eq(n, 338025);
	const uint8_t *r = (const uint8_t *)ref.data;
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(ids[i] == (r[2 * i] | r[2 * i + 1] << 8), "id %zu is %d, expected %d",
			      i, ids[i], r[2 * i] | r[2 * i + 1] << 8);
	check_decode(gpt2, ids, n, text.data, text.len, "tinyshakespeare");
	free(ids);
	free(text.data);
	free(ref.data);
}
END_TEST

START_TEST(test_frankenstein_roundtrip)
{
	blob text = read_blob(test_data_path("frankenstein.txt"));
	ck_assert_ptr_nonnull(text.data);
	size_t n;
	int32_t *ids = encode(gpt2, text.data, text.len, &n);
	ck_assert_uint_gt(n, text.len / 8);
	check_decode(gpt2, ids, n, text.data, text.len, "frankenstein");
	free(ids);
	free(text.data);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("bpe");
	if (gpt2) {
		TCase *tc = tcase_create("gpt2");
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, test_reference_jsonl);
		tcase_add_test(tc, test_shakespeare_whole_file);
		tcase_add_test(tc, test_frankenstein_roundtrip);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	const char *dir = test_data_path("gpt2/encoder.json");
	if (dir) {
		char path[4096];
		snprintf(path, sizeof path, "%s", dir);
		*strrchr(path, '/') = '\0';
		double t0 = now();
		gpt2 = seqc_bpe_load(path);
		if (!gpt2) {
			fprintf(stderr, "cannot load GPT-2's files: %s\n", seqc_errmsg());
			return EXIT_FAILURE;
		}
		fprintf(stderr, "GPT-2 loaded in %.1f ms\n", 1e3 * (now() - t0));
	} else {
		fprintf(stderr, "the shared data folder is absent: GPT-2 tests left out\n");
	}
	int rc = run_suite(suite());
	seqc_tok_destroy(gpt2);
	return rc;
}
