/* The character tokenizer on hand-checked cases: vocabulary, encoding,
 * normalization, grapheme clusters, the cap, invalid UTF-8. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "support.h"
#include "tokenize/char.h"
#include "tokenize/tok_internal.h"

#define FFFD "\xef\xbf\xbd"
#define E_ACUTE "\xc3\xa9"             /* U+00E9 */
#define COMBINING_ACUTE "\xcc\x81"     /* U+0301 */
#define FULLWIDTH_A "\xef\xbc\xa1"     /* U+FF21 */
#define FLAG_FR "\xf0\x9f\x87\xab\xf0\x9f\x87\xb7"
#define FLAG_DE "\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa"
#define FAMILY "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"
#define THUMBS_TONE "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd"

static seqc_tok *build_n(const char *text, size_t len, seqc_norm norm, bool graphemes,
			 size_t max_vocab, bool replace)
{
	seqc_char_opts o = {.norm = norm, .graphemes = graphemes, .max_vocab = max_vocab,
			    .replace_invalid = replace};
	seqc_tok *t = seqc_tok_char_build(text, len, &o);
	ck_assert_msg(t, "build failed: %s", seqc_errmsg());
	return t;
}

static seqc_tok *build(const char *text, seqc_norm norm, bool graphemes)
{
	return build_n(text, strlen(text), norm, graphemes, 0, false);
}

/* The vocabulary must be exactly the specials then expect[0..n). */
static void check_vocab(const seqc_tok *t, const char *const *expect, size_t n)
{
	static const char *const specials[] = {"<pad>", "<unk>", "<bos>", "<eos>"};
	ck_assert_uint_eq(seqc_tok_vocab_size(t), n + 4);
	for (size_t i = 0; i < n + 4; i++) {
		size_t len;
		const char *want = i < 4 ? specials[i] : expect[i - 4];
		const char *p = seqc_tok_piece(t, (int32_t)i, &len);
		ck_assert_ptr_nonnull(p);
		ck_assert_msg(len == strlen(want) && memcmp(p, want, len) == 0,
			      "piece %zu is \"%.*s\", expected \"%s\"", i, (int)len, p, want);
		ck_assert_int_eq(seqc_tok_id(t, want, strlen(want)), (int32_t)i);
	}
}

/* Encodes text and compares with expect[0..n). */
static void check_encode(const seqc_tok *t, const char *text, size_t len, const int32_t *expect,
			 size_t n)
{
	int32_t *ids;
	size_t got;
	int rc = seqc_tok_encode(t, text, len, &ids, &got);
	ck_assert_msg(rc == 0, "encode failed: %s", seqc_errmsg());
	ck_assert_ptr_nonnull(ids);
	ck_assert_msg(got == n, "encode gave %zu ids, expected %zu", got, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(ids[i] == expect[i], "id %zu is %d, expected %d", i, ids[i], expect[i]);
	free(ids);
}

/* encode then decode gives expect (the text as normalized). */
static void check_roundtrip(const seqc_tok *t, const char *text, size_t len, const char *expect,
			    size_t expect_len)
{
	int32_t *ids;
	size_t n, dlen;
	char *back;
	ck_assert_msg(seqc_tok_encode(t, text, len, &ids, &n) == 0, "%s", seqc_errmsg());
	ck_assert_msg(seqc_tok_decode(t, ids, n, &back, &dlen) == 0, "%s", seqc_errmsg());
	ck_assert_msg(dlen == expect_len && memcmp(back, expect, dlen) == 0,
		      "round trip gave \"%s\" (%zu bytes), expected \"%s\"", back, dlen, expect);
	free(ids);
	free(back);
}

static size_t count_ids(const seqc_tok *t, const char *text)
{
	int32_t *ids;
	size_t n;
	ck_assert_msg(seqc_tok_encode(t, text, strlen(text), &ids, &n) == 0, "%s", seqc_errmsg());
	free(ids);
	return n;
}

START_TEST(test_hello)
{
	seqc_tok *t = build("hello", SEQC_NORM_NFC, false);
	ck_assert_str_eq(seqc_tok_kind(t), "char");
	check_vocab(t, (const char *const[]){"e", "h", "l", "o"}, 4);
	ck_assert_int_eq(seqc_tok_pad(t), 0);
	ck_assert_int_eq(seqc_tok_unk(t), 1);
	ck_assert_int_eq(seqc_tok_bos(t), 2);
	ck_assert_int_eq(seqc_tok_eos(t), 3);
	ck_assert(seqc_tok_is_special(t, 2));
	ck_assert(!seqc_tok_is_special(t, 4));
	ck_assert(!seqc_tok_is_special(t, -1));
	check_encode(t, "hello", 5, (const int32_t[]){5, 4, 6, 6, 7}, 5);
	check_encode(t, "help!", 5, (const int32_t[]){5, 4, 6, 1, 1}, 5);
	/* Text never encodes to a special token. */
	check_encode(t, "<bos>", 5, (const int32_t[]){1, 1, 7, 1, 1}, 5);
	check_roundtrip(t, "hello", 5, "hello", 5);
	ck_assert_int_eq(seqc_tok_id(t, "z", 1), -1);
	ck_assert_int_eq(seqc_tok_id(t, "he", 2), -1);
	ck_assert_ptr_null(seqc_tok_piece(t, 8, NULL));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "id 8"));
	ck_assert_ptr_null(seqc_tok_piece(t, -1, NULL));

	/* Unknown characters decode as nothing: unk is a special. */
	char *back;
	size_t len;
	ck_assert_int_eq(seqc_tok_decode(t, (const int32_t[]){5, 1, 7}, 3, &back, &len), 0);
	ck_assert_str_eq(back, "ho");
	free(back);

	/* The empty text encodes to no ids, with an array to free. */
	int32_t *ids = NULL;
	size_t n = 99;
	ck_assert_int_eq(seqc_tok_encode(t, "", 0, &ids, &n), 0);
	ck_assert_ptr_nonnull(ids);
	ck_assert_uint_eq(n, 0);
	free(ids);
	seqc_tok_destroy(t);
	seqc_tok_destroy(NULL);
}
END_TEST

START_TEST(test_control_characters)
{
	/* Tabs, CR, LF, NUL and escape are ordinary characters. */
	static const char text[] = "a\tb\r\nc\0d\x1b";
	size_t len = sizeof text - 1;
	seqc_tok *t = build_n(text, len, SEQC_NORM_NFC, false, 0, false);
	/* Byte order: NUL, tab, LF, CR, escape, a, b, c, d. */
	static const char expect[] = "\0\t\n\r\x1b" "abcd";
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 13);
	for (int32_t id = 4; id < 13; id++) {
		size_t plen;
		const char *p = seqc_tok_piece(t, id, &plen);
		ck_assert_uint_eq(plen, 1);
		ck_assert_int_eq(p[0], expect[id - 4]);
		ck_assert_int_eq(seqc_tok_id(t, &expect[id - 4], 1), id);
	}
	check_encode(t, text, len, (const int32_t[]){9, 5, 10, 7, 6, 11, 4, 12, 8}, 9);
	check_roundtrip(t, text, len, text, len);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_multilingual_roundtrip)
{
	static const char text[] =
		"Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e, na\xc3\xafve caf\xc3\xa9. "
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe6\x96\x87\xe3\x80\x82 "
		"\xce\x95\xce\xbb\xce\xbb\xce\xb7\xce\xbd\xce\xb9\xce\xba\xce\xac, "
		"\xd1\x80\xd1\x83\xd1\x81\xd1\x81\xd0\xba\xd0\xb8\xd0\xb9, "
		"\xd7\xa2\xd7\x91\xd7\xa8\xd7\x99\xd7\xaa, "
		"\xd8\xa7\xd9\x84\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\xd8\xa9 "
		THUMBS_TONE " " FAMILY " " FLAG_FR "\r\n";
	size_t len = strlen(text);
	for (int norm = 0; norm < 3; norm++) {
		for (int graphemes = 0; graphemes < 2; graphemes++) {
			seqc_tok *t = build(text, (seqc_norm)norm, graphemes);
			/* The text is already NFC and NFKC: it comes back as is. */
			check_roundtrip(t, text, len, text, len);
			/* A ZWJ family is 5 code points, or one cluster. */
			ck_assert_uint_eq(count_ids(t, FAMILY), graphemes ? 1 : 5);
			ck_assert_uint_eq(count_ids(t, THUMBS_TONE), graphemes ? 1 : 2);
			ck_assert_uint_eq(count_ids(t, "\r\n"), graphemes ? 1 : 2);
			seqc_tok_destroy(t);
		}
	}
}
END_TEST

START_TEST(test_normalization)
{
	/* NFC composes e + U+0301 into U+00E9, in the vocabulary and when
	 * encoding; both spellings encode alike. */
	seqc_tok *t = build("e" COMBINING_ACUTE, SEQC_NORM_NFC, false);
	check_vocab(t, (const char *const[]){E_ACUTE}, 1);
	check_encode(t, "e" COMBINING_ACUTE, 3, (const int32_t[]){4}, 1);
	check_encode(t, E_ACUTE, 2, (const int32_t[]){4}, 1);
	check_roundtrip(t, "e" COMBINING_ACUTE, 3, E_ACUTE, 2);
	seqc_tok_destroy(t);

	/* None leaves the two code points apart. */
	t = build("e" COMBINING_ACUTE, SEQC_NORM_NONE, false);
	check_vocab(t, (const char *const[]){"e", COMBINING_ACUTE}, 2);
	check_encode(t, E_ACUTE, 2, (const int32_t[]){1}, 1);
	check_roundtrip(t, "e" COMBINING_ACUTE, 3, "e" COMBINING_ACUTE, 3);
	seqc_tok_destroy(t);

	/* NFKC folds the fullwidth A; NFC and none keep it. */
	t = build(FULLWIDTH_A "A", SEQC_NORM_NFKC, false);
	check_vocab(t, (const char *const[]){"A"}, 1);
	check_encode(t, FULLWIDTH_A, 3, (const int32_t[]){4}, 1);
	check_roundtrip(t, FULLWIDTH_A "A", 4, "AA", 2);
	seqc_tok_destroy(t);
	for (int norm = SEQC_NORM_NONE; norm <= SEQC_NORM_NFC; norm++) {
		t = build(FULLWIDTH_A "A", (seqc_norm)norm, false);
		check_vocab(t, (const char *const[]){"A", FULLWIDTH_A}, 2);
		seqc_tok_destroy(t);
	}

	/* NFKC decomposes the "fi" ligature into two characters. */
	t = build("\xef\xac\x81", SEQC_NORM_NFKC, false);
	check_vocab(t, (const char *const[]){"f", "i"}, 2);
	seqc_tok_destroy(t);

	seqc_norm norm;
	ck_assert_int_eq(seqc_norm_from_name("nfkc", &norm), 0);
	ck_assert_int_eq(norm, SEQC_NORM_NFKC);
	ck_assert_int_eq(seqc_norm_from_name("NFD", &norm), SEQC_EINVAL);
	ck_assert_str_eq(seqc_norm_name(SEQC_NORM_NONE), "none");
	ck_assert_ptr_null(seqc_norm_name((seqc_norm)7));
}
END_TEST

START_TEST(test_graphemes)
{
	/* Without normalization, e + U+0301 stays one two-code-point unit. */
	seqc_tok *t = build("e" COMBINING_ACUTE, SEQC_NORM_NONE, true);
	check_vocab(t, (const char *const[]){"e" COMBINING_ACUTE}, 1);
	check_encode(t, "ee" COMBINING_ACUTE, 4, (const int32_t[]){1, 4}, 2);
	seqc_tok_destroy(t);

	/* Two flags in a row are two clusters (regional indicators pair up). */
	t = build(FLAG_FR FLAG_DE FAMILY "a\r\nb", SEQC_NORM_NFC, true);
	/* Byte order puts the flags (F0 9F 87 ..) before the family (F0 9F 91 ..). */
	check_vocab(t, (const char *const[]){"\r\n", "a", "b", FLAG_DE, FLAG_FR, FAMILY}, 6);
	check_encode(t, FLAG_DE FLAG_FR "\r\n", strlen(FLAG_DE FLAG_FR "\r\n"),
		     (const int32_t[]){7, 8, 4}, 3);
	/* A lone CR or LF is not the CRLF unit. */
	check_encode(t, "\n", 1, (const int32_t[]){1}, 1);
	seqc_tok_destroy(t);

	t = build(FLAG_FR, SEQC_NORM_NFC, false);
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 6);
	seqc_tok_destroy(t);

	seqc_char_opts o;
	t = build("abc", SEQC_NORM_NFKC, true);
	ck_assert_int_eq(seqc_tok_char_opts(t, &o), 0);
	ck_assert_int_eq(o.norm, SEQC_NORM_NFKC);
	ck_assert(o.graphemes);
	ck_assert(!o.replace_invalid);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_long_cluster_is_cut)
{
	/* "a" and 600 combining marks (1201 bytes) is one grapheme cluster,
	 * longer than a piece may be: it is cut at code point boundaries into
	 * "a" + 511 marks (1023 bytes) and the other 89 marks. */
	size_t len = 1 + 600 * 2;
	char *text = malloc(len);
	text[0] = 'a';
	for (size_t i = 0; i < 600; i++)
		memcpy(text + 1 + 2 * i, COMBINING_ACUTE, 2);
	seqc_tok *t = build_n(text, len, SEQC_NORM_NONE, true, 0, false);
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 6);
	size_t l4, l5;
	seqc_tok_piece(t, 4, &l4);
	seqc_tok_piece(t, 5, &l5);
	ck_assert_uint_eq(l4, 1023);
	ck_assert_uint_eq(l5, 178);
	check_encode(t, text, len, (const int32_t[]){4, 5}, 2);
	check_roundtrip(t, text, len, text, len);
	free(text);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_cap)
{
	/* Counts a 4, b 3, c 2, space 1, d 1: a cap of 6 keeps a and b. */
	seqc_tok *t = build_n("aaaabbbcc d", 11, SEQC_NORM_NFC, false, 6, false);
	check_vocab(t, (const char *const[]){"a", "b"}, 2);
	check_encode(t, "abcd", 4, (const int32_t[]){4, 5, 1, 1}, 4);
	seqc_tok_destroy(t);

	/* Equal counts: the smaller bytes win, and the kept units are in
	 * byte order. */
	t = build_n("ccbbaa", 6, SEQC_NORM_NFC, false, 6, false);
	check_vocab(t, (const char *const[]){"a", "b"}, 2);
	seqc_tok_destroy(t);
	t = build_n("zzz" E_ACUTE E_ACUTE E_ACUTE E_ACUTE "y", 12, SEQC_NORM_NFC, false, 6, false);
	check_vocab(t, (const char *const[]){"z", E_ACUTE}, 2);
	seqc_tok_destroy(t);

	/* One unit only; a cap above the corpus changes nothing. */
	t = build_n("abab", 4, SEQC_NORM_NFC, false, 5, false);
	check_vocab(t, (const char *const[]){"a"}, 1);
	seqc_tok_destroy(t);
	t = build_n("abab", 4, SEQC_NORM_NFC, false, 1000, false);
	check_vocab(t, (const char *const[]){"a", "b"}, 2);
	seqc_tok_destroy(t);

	seqc_char_opts o = seqc_char_defaults();
	for (size_t cap = 1; cap <= 4; cap++) {
		o.max_vocab = cap;
		ck_assert_ptr_null(seqc_tok_char_build("abc", 3, &o));
		ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "max_vocab"));
	}
}
END_TEST

START_TEST(test_empty_and_bad_arguments)
{
	ck_assert_ptr_null(seqc_tok_char_build("", 0, NULL));
	ck_assert_msg(strstr(seqc_errmsg(), "empty corpus"), "message: %s", seqc_errmsg());
	ck_assert_ptr_null(seqc_tok_char_build(NULL, 0, NULL));
	ck_assert_ptr_null(seqc_tok_char_build(NULL, 3, NULL));
	seqc_char_opts o = seqc_char_defaults();
	ck_assert_int_eq(o.norm, SEQC_NORM_NFC);
	ck_assert(!o.graphemes && !o.replace_invalid && o.max_vocab == 0);
	o.norm = (seqc_norm)9;
	ck_assert_ptr_null(seqc_tok_char_build("abc", 3, &o));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "normalization"));

	seqc_tok *t = seqc_tok_char_build("abc", 3, NULL);
	int32_t *ids = (int32_t *)1;
	size_t n = 5;
	ck_assert_int_eq(seqc_tok_encode(t, NULL, 2, &ids, &n), SEQC_EINVAL);
	ck_assert_ptr_null(ids);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(seqc_tok_encode(t, NULL, 0, &ids, &n), 0);
	free(ids);
	seqc_tok_destroy(t);
}
END_TEST

/* Invalid UTF-8, each with the offset and value of its first bad byte. */
static const struct {
	const char *text;
	size_t len;
	const char *where;
} invalid_cases[] = {
	{"ab\xff", 3, "at byte 2 (0xff)"},
	{"abc\xe2\x82", 5, "at byte 3 (0xe2)"},            /* truncated at the end */
	{"x\xc0\x80y", 4, "at byte 1 (0xc0)"},             /* overlong NUL */
	{"xy\xed\xa0\x80z", 6, "at byte 2 (0xed)"},        /* surrogate */
	{"\x80", 1, "at byte 0 (0x80)"},
	{"ok\xf4\x90\x80\x80", 6, "at byte 2 (0xf4)"},     /* above U+10FFFF */
	{E_ACUTE "\xe2\x82" "a", 5, "at byte 2 (0xe2)"},
};

START_TEST(test_invalid_utf8)
{
	seqc_tok *t = seqc_tok_char_build("abc", 3, NULL);
	for (size_t i = 0; i < sizeof invalid_cases / sizeof invalid_cases[0]; i++) {
		const char *text = invalid_cases[i].text;
		size_t len = invalid_cases[i].len;
		ck_assert_ptr_null(seqc_tok_char_build(text, len, NULL));
		ck_assert_msg(strstr(seqc_errmsg(), invalid_cases[i].where),
			      "case %zu: message \"%s\" lacks \"%s\"", i, seqc_errmsg(),
			      invalid_cases[i].where);
		ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "invalid UTF-8"));
		int32_t *ids;
		size_t n;
		ck_assert_int_eq(seqc_tok_encode(t, text, len, &ids, &n), SEQC_EUTF8);
		ck_assert_msg(strstr(seqc_errmsg(), invalid_cases[i].where),
			      "case %zu: message \"%s\" lacks \"%s\"", i, seqc_errmsg(),
			      invalid_cases[i].where);
		ck_assert_ptr_null(ids);
	}

	/* Offsets count from the start of the text, past the internal chunks
	 * (64 KiB): 70,000 two-byte characters, "abc", then the bad byte. */
	size_t len = 70000 * 2 + 5;
	char *big = malloc(len);
	for (size_t i = 0; i < 70000; i++)
		memcpy(big + 2 * i, E_ACUTE, 2);
	memcpy(big + 140000, "abc\xff" "z", 5);
	ck_assert_ptr_null(seqc_tok_char_build(big, len, NULL));
	ck_assert_msg(strstr(seqc_errmsg(), "at byte 140003 (0xff)"), "message: %s",
		      seqc_errmsg());
	int32_t *ids;
	size_t n;
	ck_assert_int_eq(seqc_tok_encode(t, big, len, &ids, &n), SEQC_EUTF8);
	ck_assert_msg(strstr(seqc_errmsg(), "at byte 140003 (0xff)"), "message: %s",
		      seqc_errmsg());
	free(big);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_replace_invalid)
{
	/* Each maximal ill-formed subsequence becomes one U+FFFD, which is
	 * then a character like any other. */
	seqc_tok *t = build_n("a\xff" "b", 3, SEQC_NORM_NFC, false, 0, true);
	check_vocab(t, (const char *const[]){"a", "b", FFFD}, 3);
	check_encode(t, "a\xff" "b", 3, (const int32_t[]){4, 6, 5}, 3);
	check_encode(t, "\xed\xa0\x80", 3, (const int32_t[]){6, 6, 6}, 3);
	check_encode(t, "\xc0\x80", 2, (const int32_t[]){6, 6}, 2);
	check_encode(t, "b\xe2\x82", 3, (const int32_t[]){5, 6}, 2);
	check_encode(t, "\xe2\x82" "a", 3, (const int32_t[]){6, 4}, 2);
	check_roundtrip(t, "a\xe2\x82", 3, "a" FFFD, 4);
	seqc_tok_destroy(t);

	/* Without U+FFFD in the vocabulary it is unk. */
	t = build_n("abc", 3, SEQC_NORM_NFC, false, 0, true);
	check_encode(t, "a\xff", 2, (const int32_t[]){4, 1}, 2);
	seqc_tok_destroy(t);

	/* Grapheme mode: U+FFFD then a combining mark is one cluster. */
	t = build_n("\xff" COMBINING_ACUTE, 3, SEQC_NORM_NFC, true, 0, true);
	check_vocab(t, (const char *const[]){FFFD COMBINING_ACUTE}, 1);
	seqc_tok_destroy(t);
}
END_TEST

/* The units t gives text must be the grapheme clusters utf8proc finds in
 * expect (text as normalized) in one pass (UTF8PROC_CHARBOUND marks each
 * with 0xFF). */
static void check_clusters(const seqc_tok *t, const char *text, size_t len, const char *expect,
			   size_t expect_len)
{
	int32_t *ids;
	size_t n;
	ck_assert_int_eq(seqc_tok_encode(t, text, len, &ids, &n), 0);
	utf8proc_uint8_t *ref;
	utf8proc_ssize_t rlen = utf8proc_map((const utf8proc_uint8_t *)expect,
					     (utf8proc_ssize_t)expect_len, &ref, UTF8PROC_CHARBOUND);
	ck_assert_int_gt(rlen, 0);
	size_t k = 0, at = 0, bad = SIZE_MAX;
	while (at < (size_t)rlen && bad == SIZE_MAX) {
		size_t end = at + 1;
		while (end < (size_t)rlen && ref[end] != 0xFF)
			end++;
		size_t plen = 0;
		const char *p = k < n ? seqc_tok_piece(t, ids[k], &plen) : NULL;
		if (!p || plen != end - at - 1 || memcmp(p, ref + at + 1, plen) != 0)
			bad = k;
		k++;
		at = end;
	}
	ck_assert_msg(bad == SIZE_MAX, "unit %zu differs from utf8proc's cluster", bad);
	ck_assert_uint_eq(k, n);
	free(ref);
	free(ids);
}

START_TEST(test_chunk_boundaries)
{
	/* 65,535 bytes without two ASCII bytes in a row, then CR LF: the
	 * first place a chunk could end is between CR and LF, which would
	 * split the CRLF cluster; the cut must wait. */
	size_t len = 3 + 32766 * 2 + 4;
	char *text = malloc(len);
	memcpy(text, "\xe6\x97\xa5", 3);
	for (size_t i = 0; i < 32766; i++)
		memcpy(text + 3 + 2 * i, E_ACUTE, 2);
	memcpy(text + 65535, "\r\nab", 4);
	seqc_tok *t = build_n(text, len, SEQC_NORM_NFC, true, 0, false);
	check_clusters(t, text, len, text, len);
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 4 + 5);
	seqc_tok_destroy(t);

	/* The same with U+0600 (a Prepend character, which joins the next
	 * one) ending the run: no cut between it and the "1" after it. */
	memcpy(text + 65533, "\xd8\x80" "12", 4);
	len = 65537;
	t = build_n(text, len, SEQC_NORM_NFC, true, 0, false);
	check_clusters(t, text, len, text, len);
	ck_assert_int_ge(seqc_tok_id(t, "\xd8\x80" "1", 3), 4);
	seqc_tok_destroy(t);
	free(text);
}
END_TEST

START_TEST(test_inert_code_points)
{
	/* Normalization passes over inert code points (see seqc_char_inert)
	 * and cuts text before them. That is sound only if no inert code point
	 * ever composes with what precedes it: check that the last code point
	 * of every canonical composite's decomposition is not inert. */
	size_t composites = 0;
	for (uint32_t d = 0x80; d <= 0x10FFFF; d++) {
		if (d >= 0xD800 && d <= 0xDFFF)
			continue;
		utf8proc_int32_t nfd[32];
		int boundclass = 0;
		utf8proc_ssize_t r = utf8proc_decompose_char((utf8proc_int32_t)d, nfd, 32,
							     UTF8PROC_DECOMPOSE, &boundclass);
		/* (No passing assertions in this loop: Check reports each one.) */
		if (r < 1 || r > 32)
			ck_abort_msg("U+%04X: decomposition failed (%ld)", (unsigned)d, (long)r);
		if (r == 1)
			continue; /* no canonical decomposition */
		/* A composite is what NFC leaves alone. */
		utf8proc_uint8_t buf[4], *nfc = NULL;
		utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)d, buf);
		utf8proc_ssize_t rc = utf8proc_map(buf, k, &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
		if (rc == k && memcmp(nfc, buf, (size_t)k) == 0) {
			uint32_t last = (uint32_t)nfd[r - 1];
			if (seqc_char_inert(last, SEQC_NORM_NFC) ||
			    seqc_char_inert(last, SEQC_NORM_NFKC))
				ck_abort_msg("U+%04X composes into U+%04X, but is called inert",
					     (unsigned)last, (unsigned)d);
			composites++;
		}
		free(nfc);
	}
	ck_assert_uint_gt(composites, 900); /* about 940 in Unicode 15 */

	/* What makes normalization fast: ASCII and precomposed letters are
	 * inert; marks and compatibility characters (for NFKC) are not. */
	ck_assert(seqc_char_inert('e', SEQC_NORM_NFC));
	ck_assert(seqc_char_inert(0xE9, SEQC_NORM_NFC));
	ck_assert(seqc_char_inert(0xE9, SEQC_NORM_NFKC));
	ck_assert(seqc_char_inert(0x65E5, SEQC_NORM_NFC));
	ck_assert(seqc_char_inert(0xAC00, SEQC_NORM_NFC));   /* a Hangul syllable */
	ck_assert(!seqc_char_inert(0x1161, SEQC_NORM_NFC));  /* a medial jamo */
	ck_assert(!seqc_char_inert(0x0301, SEQC_NORM_NFC));
	ck_assert(!seqc_char_inert(0x0B3E, SEQC_NORM_NFC));  /* Oriya AA: a starter that composes */
	ck_assert(!seqc_char_inert(0x2126, SEQC_NORM_NFC));  /* ohm sign -> omega */
	ck_assert(seqc_char_inert(0xFF21, SEQC_NORM_NFC));
	ck_assert(!seqc_char_inert(0xFF21, SEQC_NORM_NFKC));
}
END_TEST

START_TEST(test_chunked_normalization)
{
	/* Text is normalized in chunks of about 64 KiB; over 400 KB of
	 * fragments that compose, reorder, fold and split across those cuts,
	 * the result must equal utf8proc normalizing the whole text at once. */
	static const char *const frags[] = {
		"e" COMBINING_ACUTE, "A", " ", FULLWIDTH_A, "\xef\xac\x81", "\r\n", "\r",
		"\xea\xb0\x80", "\xe1\x84\x80", "\xe1\x85\xa1", "\xcc\xa3",
		"o" COMBINING_ACUTE "\xcc\xa3", "\xe6\x97\xa5", "z", "\xe2\x80\xaf", FLAG_FR,
		"\xe2\x84\xa6", "\xe1\x86\xa8", "\xe0\xad\x87", "\xe0\xac\xbe", E_ACUTE,
		"\xc3\xa4\xcc\x84", "\xef\xb7\xba",
	};
	size_t nfrag = sizeof frags / sizeof frags[0], cap = 600000, len = 0;
	char *text = malloc(cap);
	uint32_t x = 12345;
	while (len < cap - 16) {
		x = x * 1103515245u + 12345u;
		const char *f = frags[(x >> 16) % nfrag];
		memcpy(text + len, f, strlen(f));
		len += strlen(f);
	}
	for (int norm = SEQC_NORM_NFC; norm <= SEQC_NORM_NFKC; norm++) {
		int flags = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
		if (norm == SEQC_NORM_NFKC)
			flags |= UTF8PROC_COMPAT;
		utf8proc_uint8_t *ref;
		utf8proc_ssize_t rlen = utf8proc_map((const utf8proc_uint8_t *)text,
						     (utf8proc_ssize_t)len, &ref,
						     (utf8proc_option_t)flags);
		ck_assert_int_gt(rlen, 0);
		for (int graphemes = 0; graphemes < 2; graphemes++) {
			seqc_tok *t = build_n(text, len, (seqc_norm)norm, graphemes, 0, false);
			check_roundtrip(t, text, len, (const char *)ref, (size_t)rlen);
			if (graphemes)
				check_clusters(t, text, len, (const char *)ref, (size_t)rlen);
			seqc_tok_destroy(t);
		}
		free(ref);
	}
	free(text);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("char");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_control_characters);
	tcase_add_test(tc, test_multilingual_roundtrip);
	tcase_add_test(tc, test_normalization);
	tcase_add_test(tc, test_graphemes);
	tcase_add_test(tc, test_long_cluster_is_cut);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_empty_and_bad_arguments);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_replace_invalid);
	tcase_add_test(tc, test_chunk_boundaries);
	tcase_add_test(tc, test_inert_code_points);
	tcase_add_test(tc, test_chunked_normalization);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
