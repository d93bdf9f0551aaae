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

/* ---- the pre-tokenizer ---- */

/* The pre-tokens of text, joined by "|" (no case below has a "|"). */
static void check_pretok(const char *text, const char *expect)
{
	char got[512] = "";
	size_t len = strlen(text), o = 0;
	for (size_t pos = 0, end; pos < len; pos = end) {
		end = seqc_bpe_pretok_next(text, len, pos);
		ck_assert_uint_gt(end, pos);
		ck_assert_uint_lt(o + (end - pos) + 2, sizeof got);
		if (pos)
			got[o++] = '|';
		memcpy(got + o, text + pos, end - pos);
		o += end - pos;
		got[o] = '\0';
	}
	ck_assert_msg(strcmp(got, expect) == 0, "pre-tokens of \"%s\": \"%s\", expected \"%s\"",
		      text, got, expect);
}

START_TEST(test_pretok_cases)
{
	static const char *const cases[][2] = {
		{"Hello world", "Hello| world"},
		{"don't", "don|'t"},
		{"DON'T", "DON|'|T"},           /* contractions are lower case only */
		{"they'll I'm we've you're he'd", "they|'ll| I|'m| we|'ve| you|'re| he|'d"},
		{"'sup", "'s|up"},
		{"rock 'n' roll", "rock| '|n|'| roll"},
		{"it\xe2\x80\x99s", "it|\xe2\x80\x99|s"}, /* curly apostrophe: punctuation */
		{"abc123 456", "abc|123| 456"},
		{"3.14", "3|.|14"},
		{"$100!!", "$|100|!!"},
		{" !?", " !?"},
		{"a  b", "a| | b"},                /* \s+(?!\S) leaves the last space */
		{"a   b", "a|  | b"},
		{"a \n b", "a| \n| b"},
		{"a\n\nb", "a|\n|\n|b"},
		{"a\tb", "a|\t|b"},
		{"end  ", "end|  "},               /* trailing whitespace is one run */
		{" ", " "},
		{"\n", "\n"},
		{"x\r\ny", "x|\r|\n|y"},
		{"  \tfoo", "  |\t|foo"},
		{"caf\xc3\xa9 na\xc3\xafve", "caf\xc3\xa9| na\xc3\xafve"},
		{"e\xcc\x81t\xc3\xa9", "e|\xcc\x81|t\xc3\xa9"},  /* a combining mark is not \p{L} */
		{"\xce\xba\xce\xb1\xce\xbb\xce\xb7 \xd0\xbc\xd0\xb8\xd1\x80", "\xce\xba\xce\xb1\xce\xbb\xce\xb7| \xd0\xbc\xd0\xb8\xd1\x80"},
		{"\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96", "\xe4\xbd\xa0\xe5\xa5\xbd|\xef\xbc\x8c|\xe4\xb8\x96"},
		{"a\xc2\xa0" "b", "a|\xc2\xa0|b"},    /* NBSP is \s but not the joining space */
		{"a\xe3\x80\x80\xe3\x80\x80" "b", "a|\xe3\x80\x80|\xe3\x80\x80|b"},
		{"a\x1f" "b", "a|\x1f|b"},           /* Python's str.isspace separators */
		{"\xc2\xbd\xe2\x85\xa2", "\xc2\xbd\xe2\x85\xa2"}, /* No and Nl are \p{N} */
		{"x <|endoftext|>", "x| <||endoftext||>"}, /* " <|", "endoftext", "|>" */
		{"\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd ok", "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd| ok"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_pretok(cases[i][0], cases[i][1]);
}
END_TEST

/* ---- hand-made vocabularies ---- */

/* encoder.json and vocab.bpe for the 256 bytes, then merges[i][0] +
 * merges[i][1] as tokens in order (raw bytes; repeats allowed), then
 * "<|endoftext|>"; written into b1 / b2 (malloc'ed). */
static void tiny_files(const char *const (*merges)[2], size_t n, char **enc, char **mer)
{
	json_t *o = json_object();
	size_t id = 0, mlen = 0;
	char *m = malloc(64 + 16 * 64 * n), buf[256];
	mlen = (size_t)sprintf(m, "#version: 0.2\n");
	for (uint32_t c = 0; c < 0x200; c++) {
		int b = seqc_bpe_char_byte(c);
		if (b < 0)
			continue;
		uint8_t byte = (uint8_t)b;
		size_t k = 0;
		uint32_t cp = seqc_bpe_byte_char(byte);
		if (cp < 0x80) {
			buf[k++] = (char)cp;
		} else {
			buf[k++] = (char)(0xC0 | cp >> 6);
			buf[k++] = (char)(0x80 | (cp & 0x3F));
		}
		json_object_setn_new(o, buf, k, json_integer((json_int_t)id++));
	}
	for (size_t i = 0; i < n; i++) {
		char spelled[2][128];
		for (int side = 0; side < 2; side++) {
			size_t k = 0;
			for (const char *p = merges[i][side]; *p; p++) {
				uint32_t cp = seqc_bpe_byte_char((uint8_t)*p);
				if (cp < 0x80) {
					spelled[side][k++] = (char)cp;
				} else {
					spelled[side][k++] = (char)(0xC0 | cp >> 6);
					spelled[side][k++] = (char)(0x80 | (cp & 0x3F));
				}
			}
			spelled[side][k] = '\0';
		}
		mlen += (size_t)sprintf(m + mlen, "%s %s\n", spelled[0], spelled[1]);
		snprintf(buf, sizeof buf, "%s%s", spelled[0], spelled[1]);
		if (!json_object_get(o, buf))
			json_object_set_new(o, buf, json_integer((json_int_t)id++));
	}
	json_object_set_new(o, SEQC_BPE_EOT, json_integer((json_int_t)id));
	*enc = json_dumps(o, JSON_COMPACT);
	*mer = m;
	json_decref(o);
}

static seqc_tok *tiny(const char *const (*merges)[2], size_t n)
{
	char *enc, *mer;
	tiny_files(merges, n, &enc, &mer);
	seqc_tok *t = seqc_bpe_load_mem(enc, strlen(enc), mer, strlen(mer), NULL);
	ck_assert_msg(t, "tiny vocabulary: %s", seqc_errmsg());
	free(enc);
	free(mer);
	return t;
}

/* The pieces of text's encoding joined by "|". */
static void check_pieces(const seqc_tok *t, const char *text, const char *expect)
{
	size_t n;
	int32_t *ids = encode(t, text, strlen(text), &n);
	char got[512] = "";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *p = seqc_tok_piece(t, ids[i], &len);
		ck_assert_uint_lt(o + len + 2, sizeof got);
		if (i)
			got[o++] = '|';
		memcpy(got + o, p, len);
		o += len;
		got[o] = '\0';
	}
	ck_assert_msg(strcmp(got, expect) == 0, "\"%s\" encodes to \"%s\", expected \"%s\"", text,
		      got, expect);
	free(ids);
}

START_TEST(test_merge_order)
{
	/* Ranks: "b c" before "a b", so "abc" is a|bc, not ab|c; "aa" merges
	 * left to right: "aaa" -> aa|a, "aaaa" -> aaaa. */
	static const char *const merges[][2] = {
		{"b", "c"}, {"a", "b"}, {"a", "a"}, {"aa", "aa"}, {"a", "bc"}, {" ", "a"},
	};
	seqc_tok *t = tiny(merges, 6);
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 256 + 6 + 1);
	ck_assert_int_eq(seqc_tok_eos(t), 262);
	ck_assert_int_eq(seqc_tok_bos(t), 262);
	ck_assert_int_eq(seqc_tok_unk(t), -1);
	check_pieces(t, "abc", "abc");
	check_pieces(t, "abcabc", "abc|abc");
	check_pieces(t, "ab", "ab");
	check_pieces(t, "aaa", "aa|a");
	check_pieces(t, "aaaa", "aaaa");
	check_pieces(t, "aaaaa", "aaaa|a");
	check_pieces(t, "cab a", "c|ab| a");
	check_pieces(t, "", "");
	/* The special's text is ordinary text. */
	check_pieces(t, SEQC_BPE_EOT, "<|||e|n|d|o|f|t|e|x|t|||>");
	ck_assert_int_eq(seqc_tok_id(t, SEQC_BPE_EOT, strlen(SEQC_BPE_EOT)), 262);
	seqc_tok_destroy(t);
}
END_TEST

/* The array and the heap merge loops give the same ids on random words
 * over a small alphabet (many merges apply, with many ties). */
START_TEST(test_small_and_heap_agree)
{
	ck_assert_ptr_nonnull(gpt2);
	const seqc_bpe *b = (const seqc_bpe *)gpt2;
	seqc_rng rng;
	seqc_rng_seed(&rng, 7, 0);
	static const char alphabet[] = "aeinst ";
	for (int trial = 0; trial < 2000; trial++) {
		uint8_t word[BPE_SMALL];
		size_t n = 1 + seqc_rng_below(&rng, BPE_SMALL);
		for (size_t i = 0; i < n; i++)
			word[i] = (uint8_t)alphabet[seqc_rng_below(&rng, 7)];
		seqc_idvec a = {0}, h = {0};
		ck_assert_int_eq(seqc_bpe_encode_word(b, word, n, &a, false), 0);
		ck_assert_int_eq(seqc_bpe_encode_word(b, word, n, &h, true), 0);
		ck_assert_uint_eq(a.len, h.len);
		ck_assert(memcmp(a.data, h.data, a.len * sizeof *a.data) == 0);
		free(a.data);
		free(h.data);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("bpe");
	TCase *unit = tcase_create("unit");
	tcase_add_test(unit, test_pretok_cases);
	tcase_add_test(unit, test_merge_order);
	suite_add_tcase(s, unit);
	if (gpt2) {
		TCase *tc = tcase_create("gpt2");
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, test_reference_jsonl);
		tcase_add_test(tc, test_shakespeare_whole_file);
		tcase_add_test(tc, test_frankenstein_roundtrip);
		tcase_add_test(tc, test_small_and_heap_agree);
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
