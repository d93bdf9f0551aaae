/* Byte-level BPE: GPT-2's files against the reference encodings, the
 * pre-tokenizer on hand-checked cases, the merge loops against each other,
 * the files and JSON form, malformed input, and the trainer. Tests that
 * need the shared data folder are left out (with a note) when it is
 * absent. */
#include <pthread.h>
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

/* The merges of t as "left right" lines, raw bytes. */
static char *merge_list(const seqc_tok *t)
{
	const seqc_bpe *b = (const seqc_bpe *)t;
	size_t cap = 16 + 64 * b->nmerges;
	char *out = calloc(1, cap);
	ck_assert_ptr_nonnull(out);
	size_t o = 0;
	for (size_t r = 0; r < b->nmerges; r++) {
		size_t ln, rn;
		const char *l = seqc_tok_piece(t, b->merges[r][0], &ln);
		const char *rt = seqc_tok_piece(t, b->merges[r][1], &rn);
		o += (size_t)snprintf(out + o, cap - o, "%s%.*s+%.*s", r ? "," : "", (int)ln, l, (int)rn, rt);
	}
	return out;
}

static seqc_tok *train(const char *text, size_t vocab_size)
{
	seqc_tok *t;
	int rc = seqc_bpe_train(text, strlen(text), vocab_size, NULL, &t);
	ck_assert_msg(rc == 0, "train: %s", seqc_errmsg());
	return t;
}

START_TEST(test_train_by_hand)
{
	/* Words "ab" x1, " ab" x2, " abc" x1: (a,b) 4 times, then (" ",ab) 3,
	 * then (" ab",c) 1. */
	seqc_tok *t = train("ab ab ab abc", 300);
	char *m = merge_list(t);
	ck_assert_str_eq(m, "a+b, +ab, ab+c");
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 256 + 3 + 1);
	ck_assert_int_eq(seqc_tok_eos(t), 259);
	size_t len;
	ck_assert_str_eq(seqc_tok_piece(t, 259, &len), SEQC_BPE_EOT);
	ck_assert_str_eq(seqc_tok_piece(t, 258, &len), " abc");
	/* The first 256 ids are GPT-2's: "!" is 0, a space 220. */
	ck_assert_int_eq(seqc_tok_id(t, "!", 1), 0);
	ck_assert_int_eq(seqc_tok_id(t, " ", 1), gpt2 ? seqc_tok_id(gpt2, " ", 1) : 220);
	ck_assert_int_eq(seqc_tok_id(t, " ", 1), 220);
	free(m);
	seqc_tok_destroy(t);

	/* Exactly the size asked: two merges. */
	t = train("ab ab ab abc", 259);
	m = merge_list(t);
	ck_assert_str_eq(m, "a+b, +ab");
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 259);
	check_pieces(t, "ab abc", "ab| ab|c");
	free(m);
	seqc_tok_destroy(t);

	/* Ties: every pair once; the bytewise smaller left piece wins (a space
	 * before letters), then the new " z" before "x". */
	t = train("xy zw", 1000);
	m = merge_list(t);
	ck_assert_str_eq(m, " +z, z+w,x+y");
	free(m);
	seqc_tok_destroy(t);

	/* Overlapping pairs: "aaaa" x1 counts (a,a) 3 times; after the merge
	 * the word is aa|aa and (aa,aa) has count 1. */
	t = train("aaaa", 1000);
	m = merge_list(t);
	ck_assert_str_eq(m, "a+a,aa+aa");
	free(m);
	seqc_tok_destroy(t);

	/* A pair made again by a merge that spells an existing token adds
	 * no token: "abc" from ab+c, then from a+bc. */
	t = train("abc abc abc ab ab ab ab bc bc bc bc bc xbc xbc", 1000);
	ck_assert_int_ge(seqc_tok_id(t, "abc", 3), 256);
	seqc_tok_destroy(t);

	/* Refused sizes and input. */
	ck_assert_int_eq(seqc_bpe_train("ab", 2, 256, NULL, &t), SEQC_EINVAL);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "vocab_size 256"));
	ck_assert_int_eq(seqc_bpe_train("a\xff" "b", 3, 300, NULL, &t), SEQC_EUTF8);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "byte 1"));
	seqc_bpe_train_opts o = {.replace_invalid = true};
	ck_assert_int_eq(seqc_bpe_train("a\xff" "b", 3, 300, &o, &t), 0);
	ck_assert_int_ge(seqc_tok_id(t, "\xef\xbf\xbd", 3), 256); /* U+FFFD's bytes merged */
	seqc_tok_destroy(t);
	/* An empty corpus gives the bytes and the special. */
	ck_assert_int_eq(seqc_bpe_train("", 0, 300, NULL, &t), 0);
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 257);
	seqc_tok_destroy(t);
}
END_TEST

/* A trained tokenizer survives JSON and the two files exactly. */
static void check_same(const seqc_tok *a, const seqc_tok *b, const char *text, size_t len)
{
	ck_assert_uint_eq(seqc_tok_vocab_size(a), seqc_tok_vocab_size(b));
	ck_assert_int_eq(seqc_tok_eos(a), seqc_tok_eos(b));
	for (size_t i = 0; i < seqc_tok_vocab_size(a); i++) {
		size_t la, lb;
		const char *pa = seqc_tok_piece(a, (int32_t)i, &la), *pb = seqc_tok_piece(b, (int32_t)i, &lb);
		ck_assert(la == lb && memcmp(pa, pb, la) == 0);
	}
	char *ja = seqc_tok_to_json(a), *jb = seqc_tok_to_json(b);
	ck_assert_str_eq(ja, jb);
	free(ja);
	free(jb);
	size_t na, nb;
	int32_t *ia = encode(a, text, len, &na), *ib = encode(b, text, len, &nb);
	ck_assert_uint_eq(na, nb);
	ck_assert(memcmp(ia, ib, na * sizeof *ia) == 0);
	check_decode(b, ib, nb, text, len, "reloaded");
	free(ia);
	free(ib);
}

/* n bytes of words of 1 to 8 random letters (some accented) between
 * spaces, newlines and punctuation: many distinct pairs. */
static char *random_words(size_t n, uint64_t seed)
{
	static const char *const units[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "k", "l",
					    "m", "n", "o", "r", "s", "t", "u", "\xc3\xa9", "\xc3\xbc"};
	static const char *const gaps[] = {" ", " ", " ", ", ", ".\n", "  ", "'s "};
	char *text = malloc(n + 32);
	ck_assert_ptr_nonnull(text);
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, 0);
	size_t o = 0;
	while (o < n) {
		for (uint32_t k = 1 + seqc_rng_below(&rng, 8); k > 0; k--) {
			const char *u = units[seqc_rng_below(&rng, 20)];
			o += (size_t)snprintf(text + o, n + 32 - o, "%s", u);
		}
		o += (size_t)snprintf(text + o, n + 32 - o, "%s", gaps[seqc_rng_below(&rng, 7)]);
	}
	text[o] = '\0';
	return text;
}

START_TEST(test_trained_roundtrips)
{
	char *text = random_words(200000, 11);
	size_t len = strlen(text);
	double t0 = now();
	seqc_tok *t = train(text, 2000);
	fprintf(stderr, "trained 2000 tokens on %zu bytes in %.1f ms\n", len, 1e3 * (now() - t0));
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 2000);
	ck_assert_str_eq(seqc_tok_kind(t), "bpe");

	char *json = seqc_tok_to_json(t);
	ck_assert_ptr_nonnull(json);
	seqc_tok *back = seqc_tok_from_json(json, strlen(json));
	ck_assert_msg(back, "%s", seqc_errmsg());
	check_same(t, back, text, len);
	seqc_tok_destroy(back);
	free(json);

	char dir[4096];
	ck_assert(make_temp_dir("seqc-bpe", dir, sizeof dir));
	ck_assert_msg(seqc_bpe_save(t, dir) == 0, "%s", seqc_errmsg());
	back = seqc_bpe_load(dir);
	ck_assert_msg(back, "%s", seqc_errmsg());
	check_same(t, back, text, len);
	/* Saving again replaces both files. */
	ck_assert_int_eq(seqc_bpe_save(back, dir), 0);
	seqc_tok_destroy(back);
	remove_tree(dir);
	seqc_tok_destroy(t);
	free(text);
}
END_TEST

START_TEST(test_gpt2_json_roundtrip)
{
	char *json = seqc_tok_to_json(gpt2);
	ck_assert_ptr_nonnull(json);
	ck_assert_ptr_nonnull(strstr(json, "\"kind\":\"bpe\""));
	ck_assert_ptr_nonnull(strstr(json, "\"merges\":[\"\xc4\xa0 t\",\"\xc4\xa0 a\""));
	seqc_tok *back = seqc_tok_from_json(json, strlen(json));
	ck_assert_msg(back, "%s", seqc_errmsg());
	static const char text[] = "Hello, world! It's 2024 \xe2\x80\x94 caf\xc3\xa9 \xf0\x9f\xa4\x97\n\n";
	check_same(gpt2, back, text, sizeof text - 1);
	ck_assert_int_eq(seqc_tok_eos(back), 50256);
	seqc_tok_destroy(back);
	free(json);
}
END_TEST

/* ---- the trainer against a naive one ---- */

/* One (left, right, count) occurrence for the naive recount. */
typedef struct occ {
	int32_t l, r;
	long long count;
} occ;

static const seqc_strtab *naive_vocab; /* for the comparison functions */

static int cmp_occ(const void *pa, const void *pb)
{
	const occ *a = pa, *b = pb;
	if (a->l != b->l)
		return a->l < b->l ? -1 : 1;
	return (a->r > b->r) - (a->r < b->r);
}

static int cmp_bytes(int32_t a, int32_t b)
{
	size_t an, bn;
	const char *ap = seqc_strtab_get(naive_vocab, a, &an), *bp = seqc_strtab_get(naive_vocab, b, &bn);
	int c = memcmp(ap, bp, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

/* The textbook trainer: recount every pair before each merge. Returns its
 * merges in merge_list's format. */
static char *naive_train(const char *text, size_t vocab_size)
{
	seqc_strtab vocab, words;
	seqc_strtab_init(&vocab);
	seqc_strtab_init(&words);
	naive_vocab = &vocab;
	for (uint32_t c = 0; vocab.count < 256; c++) {
		int b = seqc_bpe_char_byte(c);
		if (b >= 0)
			seqc_strtab_intern(&vocab, &(uint8_t){(uint8_t)b}, 1, NULL);
	}
	size_t len = strlen(text);
	long long wcount[4096] = {0};
	for (size_t pos = 0, end; pos < len; pos = end) {
		end = seqc_bpe_pretok_next(text, len, pos);
		int32_t w = seqc_strtab_intern(&words, text + pos, end - pos, NULL);
		ck_assert_int_lt(w, 4096);
		wcount[w]++;
	}
	int32_t *sym[4096];
	size_t slen[4096], total = 0;
	for (size_t w = 0; w < words.count; w++) {
		const char *p = seqc_strtab_get(&words, (int32_t)w, &slen[w]);
		sym[w] = malloc(slen[w] * sizeof **sym);
		for (size_t i = 0; i < slen[w]; i++)
			sym[w][i] = seqc_strtab_find(&vocab, p + i, 1);
		total += slen[w];
	}
	occ *all = malloc((total + 1) * sizeof *all);
	int32_t (*done)[2] = malloc(vocab_size * 4 * sizeof *done);
	size_t ndone = 0;
	char *out = calloc(1, 16 + 64 * vocab_size);
	size_t o = 0;
	while (vocab.count + 1 < vocab_size) {
		size_t n = 0;
		for (size_t w = 0; w < words.count; w++)
			for (size_t i = 0; i + 1 < slen[w]; i++)
				all[n++] = (occ){sym[w][i], sym[w][i + 1], wcount[w]};
		if (n == 0)
			break;
		qsort(all, n, sizeof *all, cmp_occ);
		occ best = {-1, -1, 0};
		for (size_t i = 0; i < n;) {
			occ run = all[i];
			for (i++; i < n && cmp_occ(&all[i], &run) == 0; i++)
				run.count += all[i].count;
			int c = best.count != run.count ? (run.count > best.count ? -1 : 1)
				: cmp_bytes(run.l, best.l) ? cmp_bytes(run.l, best.l) : cmp_bytes(run.r, best.r);
			if (c < 0)
				best = run;
		}
		size_t ln, rn;
		char buf[2048];
		const char *lp = seqc_strtab_get(&vocab, best.l, &ln);
		memcpy(buf, lp, ln);
		const char *rp = seqc_strtab_get(&vocab, best.r, &rn);
		memcpy(buf + ln, rp, rn);
		int32_t c = seqc_strtab_intern(&vocab, buf, ln + rn, NULL);
		bool again = false;
		for (size_t k = 0; k < ndone; k++)
			again |= done[k][0] == best.l && done[k][1] == best.r;
		if (!again) {
			done[ndone][0] = best.l;
			done[ndone][1] = best.r;
			ndone++;
			lp = seqc_strtab_get(&vocab, best.l, &ln);
			rp = seqc_strtab_get(&vocab, best.r, &rn);
			o += (size_t)sprintf(out + o, "%s%.*s+%.*s", ndone > 1 ? "," : "", (int)ln, lp,
					     (int)rn, rp);
		}
		for (size_t w = 0; w < words.count; w++) {
			size_t k = 0;
			for (size_t i = 0; i < slen[w];) {
				if (i + 1 < slen[w] && sym[w][i] == best.l && sym[w][i + 1] == best.r) {
					sym[w][k++] = c;
					i += 2;
				} else {
					sym[w][k++] = sym[w][i++];
				}
			}
			slen[w] = k;
		}
	}
	for (size_t w = 0; w < words.count; w++)
		free(sym[w]);
	free(all);
	free(done);
	seqc_strtab_finish(&vocab);
	seqc_strtab_finish(&words);
	return out;
}

START_TEST(test_train_matches_naive)
{
	static const char *const corpora[] = {
		"aaaa aaaaa aa abab ababab ba ba aab", /* overlaps, self pairs */
		"the cat sat on the mat; the cat's hat.\n\nthe end  \n",
	};
	for (size_t i = 0; i < 3; i++) {
		char *owned = i == 2 ? random_words(6000, 5) : NULL;
		const char *text = owned ? owned : corpora[i];
		seqc_tok *t = train(text, 500);
		char *fast = merge_list(t), *slow = naive_train(text, 500);
		ck_assert_msg(strcmp(fast, slow) == 0, "corpus %zu: merges differ:\n%s\n%s", i, fast, slow);
		free(fast);
		free(slow);
		free(owned);
		seqc_tok_destroy(t);
	}
}
END_TEST

/* ---- malformed files ---- */

START_TEST(test_malformed_files)
{
	static const char *const ab[][2] = {{"a", "b"}, {"ab", "c"}};
	char *enc, *mer;
	tiny_files(ab, 2, &enc, &mer);
	char *long_key = malloc(1200);
	memset(long_key, 'a', 1100);
	long_key[1100] = '\0';
	char *long_enc = malloc(strlen(enc) + 1200);
	sprintf(long_enc, "{\"%s\": 0}", long_key);
	static const struct {
		const char *enc; /* NULL: the valid one */
		const char *mer;
		int code;
		const char *msg;
	} cases[] = {
		{"{", NULL, SEQC_EFORMAT, "encoder.json: not valid JSON"},
		{"[]", NULL, SEQC_EFORMAT, "encoder.json: the top level must be an object"},
		{"{\"!\": \"0\"}", NULL, SEQC_EFORMAT, "key \"!\" must map to an integer id"},
		{"{\"!\": 1.5}", NULL, SEQC_EFORMAT, "key \"!\" must map to an integer id"},
		{"{\"!\": 5}", NULL, SEQC_EFORMAT, "key \"!\" has id 5, outside [0, 1)"},
		{"{\"!\": -1}", NULL, SEQC_EFORMAT, "key \"!\" has id -1"},
		{"{\"!\": 0, \"#\": 0}", NULL, SEQC_EFORMAT, "key \"#\" has id 0, which another key"},
		{"{\"!\": 0, \"!\": 1}", NULL, SEQC_EFORMAT, "not valid JSON"},
		{"{\" \": 0}", NULL, SEQC_EFORMAT, "key \" \" has U+0020, which is not in GPT-2's byte"},
		{"{\"!\": 0}", NULL, SEQC_EFORMAT, "byte 0x00 (\"\xc4\x80\") has no token"},
		{"", NULL, SEQC_EFORMAT, "encoder.json: not valid JSON"},
		{NULL, "#version: 0.2\na\n", SEQC_EFORMAT, "vocab.bpe: line 2 (\"a\") is not two pieces"},
		{NULL, "#version: 0.2\na b c\n", SEQC_EFORMAT, "line 2 (\"a b c\") is not two"},
		{NULL, "#version: 0.2\na  b\n", SEQC_EFORMAT, "line 2 (\"a  b\") is not two"},
		{NULL, "#version: 0.2\na b\n\nab c\n", SEQC_EFORMAT, "line 3 (\"\") is not two"},
		{NULL, "#version: 0.2\na zz\n", SEQC_EFORMAT, "line 2: \"zz\" is not a token"},
		{NULL, "#version: 0.2\na \xc8\x80\n", SEQC_EFORMAT, "line 2: \"\xc8\x80\" is not a token"},
		{NULL, "#version: 0.2\na c\n", SEQC_EFORMAT, "line 2 (\"a c\"): the merge of tokens 64 and 66 makes \"ac\", which is not a token"},
		{NULL, "#version: 0.2\na b\na b\n", SEQC_EFORMAT, "line 3 (\"a b\"): the merge of tokens 64 and 65 repeats"},
		{NULL, "a b\n<|endoftext|> a\n", SEQC_EFORMAT, "line 2 (\"<|endoftext|> a\"): the special token cannot be merged"},
		{NULL, "#version: 0.2\nab\xff c\n", SEQC_EFORMAT, "line 2: \"ab\xff\" is not a token"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *e = cases[i].enc ? cases[i].enc : enc, *m = cases[i].mer ? cases[i].mer : mer;
		seqc_tok *t = seqc_bpe_load_mem(e, strlen(e), m, strlen(m), NULL);
		ck_assert_msg(!t, "case %zu loaded", i);
		ck_assert_msg(seqc_errcode() == cases[i].code && strstr(seqc_errmsg(), cases[i].msg),
			      "case %zu: code %d, message \"%s\"; expected %d and \"%s\"", i,
			      seqc_errcode(), seqc_errmsg(), cases[i].code, cases[i].msg);
	}
	ck_assert_ptr_null(seqc_bpe_load_mem(long_enc, strlen(long_enc), "", 0, NULL));
	ck_assert_int_eq(seqc_errcode(), SEQC_ENOMEM);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "token 0 has 1100 bytes"));

	/* Without the header every line is a merge; a trailing newline, CRLF
	 * and no final newline are all fine. */
	static const char *const fine[] = {"a b\nab c\n", "#version: 0.2\r\na b\r\nab c\r\n",
					   "#version: 0.2\na b\nab c"};
	for (size_t i = 0; i < 3; i++) {
		seqc_tok *t = seqc_bpe_load_mem(enc, strlen(enc), fine[i], strlen(fine[i]), NULL);
		ck_assert_msg(t, "fine %zu: %s", i, seqc_errmsg());
		ck_assert_uint_eq(((seqc_bpe *)t)->nmerges, 2);
		check_pieces(t, "abc", "abc");
		seqc_tok_destroy(t);
	}

	/* Files that are not there. */
	ck_assert_ptr_null(seqc_bpe_load("/nonexistent-seqc-folder"));
	ck_assert_int_eq(seqc_errcode(), SEQC_EIO);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "/nonexistent-seqc-folder/encoder.json"));
	free(enc);
	free(mer);
	free(long_key);
	free(long_enc);
}
END_TEST

START_TEST(test_malformed_json)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
		{"{\"kind\":\"bpe\",\"replace_invalid\":false,\"bos_id\":-1,\"eos_id\":-1,\"merges\":[]}",
		 "key \"vocab\" is missing"},
		{"{\"kind\":\"bpe\",\"replace_invalid\":0,\"bos_id\":-1,\"eos_id\":-1,\"vocab\":[],\"merges\":[]}",
		 "key \"replace_invalid\" must be true or false"},
		{"{\"kind\":\"bpe\",\"replace_invalid\":false,\"bos_id\":-1,\"eos_id\":-1,\"vocab\":{},\"merges\":[]}",
		 "key \"vocab\" must be an array of strings, got an object"},
		{"{\"kind\":\"bpe\",\"replace_invalid\":false,\"bos_id\":-1,\"eos_id\":-1,\"vocab\":[1],\"merges\":[]}",
		 "\"vocab\"[0] must be a string, got an integer"},
		{"{\"kind\":\"bpe\",\"replace_invalid\":false,\"bos_id\":0,\"eos_id\":-1,\"vocab\":[\"!\"],\"merges\":[]}",
		 "\"bos_id\" 0 and \"eos_id\" -1 differ"},
		{"{\"kind\":\"bpe\",\"replace_invalid\":false,\"bos_id\":3,\"eos_id\":3,\"vocab\":[\"!\"],\"merges\":[]}",
		 "key \"bos_id\" is 3, outside the vocabulary [0, 1)"},
		{"{\"kind\":\"bpe\",\"replace_invalid\":false,\"bos_id\":-1,\"eos_id\":-1,\"vocab\":[\"!\", \" \"],\"merges\":[]}",
		 "\"vocab\"[1] has U+0020"},
		{"{\"kind\":\"bpe\",\"replace_invalid\":false,\"bos_id\":-1,\"eos_id\":-1,\"vocab\":[\"!\"],\"merges\":[]}",
		 "byte 0x00"},
		{"{\"kind\":\"bpe\",\"version\":2,\"replace_invalid\":false,\"bos_id\":-1,\"eos_id\":-1,\"vocab\":[],\"merges\":[]}",
		 "key \"version\" must be 1"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		seqc_tok *t = seqc_tok_from_json(cases[i].json, strlen(cases[i].json));
		ck_assert_msg(!t, "case %zu loaded", i);
		ck_assert_msg(strstr(seqc_errmsg(), cases[i].msg), "case %zu: \"%s\", expected \"%s\"",
			      i, seqc_errmsg(), cases[i].msg);
	}
	/* A bad merge in the JSON form names its index. */
	static const char *const ab[][2] = {{"a", "b"}};
	seqc_tok *t = tiny(ab, 1);
	char *json = seqc_tok_to_json(t);
	char *at = strstr(json, "\"a b\"");
	ck_assert_ptr_nonnull(at);
	at[3] = 'c';
	ck_assert_ptr_null(seqc_tok_from_json(json, strlen(json)));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "\"merges\"[0] (\"a c\")"));
	free(json);
	/* Another special loads from JSON but cannot go to the two files. */
	json = seqc_tok_to_json(t);
	at = strstr(json, "\"<|endoftext|>\"");
	ck_assert_ptr_nonnull(at);
	memcpy(at + 1, "<|eot_id|>   ", 13);
	seqc_tok *other = seqc_tok_from_json(json, strlen(json));
	ck_assert_msg(other, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_tok_id(other, "<|eot_id|>   ", 13), seqc_tok_eos(other));
	ck_assert_int_eq(seqc_bpe_save(other, "/tmp"), SEQC_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "can only name <|endoftext|>"));
	seqc_tok_destroy(other);
	free(json);
	seqc_tok_destroy(t);
}
END_TEST

/* ---- bad text, long text, streaming ---- */

START_TEST(test_invalid_utf8)
{
	static const char *const ab[][2] = {{"a", "b"}};
	seqc_tok *t = tiny(ab, 1);
	int32_t *ids = (int32_t *)1;
	size_t n = 5;
	ck_assert_int_eq(seqc_tok_encode(t, "ab\xff" "cd", 5, &ids, &n), SEQC_EUTF8);
	ck_assert_ptr_null(ids);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "invalid UTF-8 at byte 2 (0xff)"));
	ck_assert_int_eq(seqc_tok_encode(t, "ab\xe2\x82", 4, &ids, &n), SEQC_EUTF8);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "byte 2"));
	ids = encode(t, "", 0, &n);
	ck_assert_uint_eq(n, 0);
	free(ids);
	/* With replacement: as if U+FFFD were there. */
	char *json = seqc_tok_to_json(t);
	char *flag = strstr(json, "\"replace_invalid\":false");
	ck_assert_ptr_nonnull(flag);
	memcpy(flag + 18, "true ", 5);
	seqc_tok *r = seqc_tok_from_json(json, strlen(json));
	ck_assert_msg(r, "%s", seqc_errmsg());
	size_t m;
	int32_t *want = encode(r, "ab\xef\xbf\xbd" "cd", 7, &m);
	ids = encode(r, "ab\xff" "cd", 5, &n);
	ck_assert_uint_eq(n, m);
	ck_assert(memcmp(ids, want, n * sizeof *ids) == 0);
	free(ids);
	free(want);
	free(json);
	seqc_tok_destroy(r);
	seqc_tok_destroy(t);
}
END_TEST

/* A few MB in one pre-token: merging must not go quadratic. Not a timing
 * assertion: the test's timeout is the bound; the time goes to stderr. */
START_TEST(test_long_pretoken)
{
	size_t len = (size_t)3 << 20;
	char *text = malloc(len);
	seqc_rng rng;
	seqc_rng_seed(&rng, 3, 0);
	for (int kind = 0; kind < 2; kind++) {
		for (size_t i = 0; i < len; i++)
			text[i] = kind == 0 ? 'a' : (char)('a' + seqc_rng_below(&rng, 26));
		size_t n;
		double t0 = now();
		int32_t *ids = encode(gpt2, text, len, &n);
		fprintf(stderr, "%s: %zu MB in one pre-token, %zu ids in %.0f ms\n",
			kind ? "random letters" : "\"aaa...\"", len >> 20, n, 1e3 * (now() - t0));
		ck_assert_uint_lt(n, kind ? len : len / 2);
		check_decode(gpt2, ids, n, text, len, "long pre-token");
		free(ids);
	}
	free(text);
}
END_TEST

/* An emoji is four bytes spread over GPT-2 tokens: the decoder holds the
 * first ones and writes the character with the last. */
START_TEST(test_detok_split_character)
{
	static const char text[] = "hi \xf0\x9f\xa4\x97!";
	size_t n;
	int32_t *ids = encode(gpt2, text, sizeof text - 1, &n);
	seqc_detok *d = seqc_detok_create(gpt2);
	char out[SEQC_DETOK_MAX], all[64];
	size_t total = 0, held_once = 0;
	for (size_t i = 0; i < n; i++) {
		size_t plen;
		seqc_tok_piece(gpt2, ids[i], &plen);
		int k = seqc_detok_push(d, ids[i], out, sizeof out);
		ck_assert_int_ge(k, 0);
		held_once += k == 0 && plen > 0;
		memcpy(all + total, out, (size_t)k);
		total += (size_t)k;
		ck_assert_msg(seqc_utf8_first_invalid((const uint8_t *)all, total) == total,
			      "output after id %zu is not valid UTF-8", i);
	}
	ck_assert_int_eq(seqc_detok_flush(d, out, sizeof out), 0);
	ck_assert_uint_ge(held_once, 1);
	ck_assert(total == sizeof text - 1 && memcmp(all, text, total) == 0);
	/* Specials are hidden unless asked for. */
	int32_t eot = seqc_tok_eos(gpt2);
	ck_assert_int_eq(seqc_detok_push(d, eot, out, sizeof out), 0);
	seqc_detok_show_special(d, true);
	ck_assert_int_eq(seqc_detok_push(d, eot, out, sizeof out), 13);
	ck_assert(memcmp(out, SEQC_BPE_EOT, 13) == 0);
	seqc_detok_destroy(d);
	free(ids);
}
END_TEST

/* ---- threads ---- */

typedef struct encode_job {
	const char *text;
	size_t len;
	int32_t *ids;
	size_t n;
	int rc;
} encode_job;

static void *encode_thread(void *arg)
{
	encode_job *j = arg;
	j->rc = seqc_tok_encode(gpt2, j->text, j->len, &j->ids, &j->n);
	return NULL;
}

/* The tokenizer is read-only once made: threads encoding at once get
 * what one thread gets. */
START_TEST(test_concurrent_encode)
{
	blob text = read_blob(test_data_path("frankenstein.txt"));
	ck_assert_ptr_nonnull(text.data);
	size_t n;
	int32_t *want = encode(gpt2, text.data, text.len, &n);
	encode_job jobs[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		/* Each from a different start, so the threads work on different
		 * words at the same moment. */
		size_t skip = (size_t)i * 7;
		jobs[i] = (encode_job){.text = text.data + skip, .len = text.len - skip};
		ck_assert_int_eq(pthread_create(&th[i], NULL, encode_thread, &jobs[i]), 0);
	}
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert_int_eq(jobs[0].rc, 0);
	ck_assert_uint_eq(jobs[0].n, n);
	ck_assert(memcmp(jobs[0].ids, want, n * sizeof *want) == 0);
	for (int i = 1; i < 3; i++) {
		size_t m;
		int32_t *alone = encode(gpt2, jobs[i].text, jobs[i].len, &m);
		ck_assert_int_eq(jobs[i].rc, 0);
		ck_assert(jobs[i].n == m && memcmp(jobs[i].ids, alone, m * sizeof *alone) == 0);
		free(alone);
	}
	for (int i = 0; i < 3; i++)
		free(jobs[i].ids);
	free(want);
	free(text.data);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("bpe");
	TCase *unit = tcase_create("unit");
	tcase_add_test(unit, test_pretok_cases);
	tcase_add_test(unit, test_merge_order);
	tcase_add_test(unit, test_train_by_hand);
	tcase_add_test(unit, test_trained_roundtrips);
	tcase_add_test(unit, test_train_matches_naive);
	tcase_add_test(unit, test_malformed_files);
	tcase_add_test(unit, test_malformed_json);
	tcase_add_test(unit, test_invalid_utf8);
	suite_add_tcase(s, unit);
	if (gpt2) {
		TCase *tc = tcase_create("gpt2");
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, test_reference_jsonl);
		tcase_add_test(tc, test_shakespeare_whole_file);
		tcase_add_test(tc, test_frankenstein_roundtrip);
		tcase_add_test(tc, test_small_and_heap_agree);
		tcase_add_test(tc, test_gpt2_json_roundtrip);
		tcase_add_test(tc, test_long_pretoken);
		tcase_add_test(tc, test_detok_split_character);
		tcase_add_test(tc, test_concurrent_encode);
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
