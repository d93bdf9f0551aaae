/* Tokenizer JSON: round trips through strings and files, and a loader that
 * refuses malformed input with a message naming the key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"
#include "tokenize/char.h"

#define FAMILY "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"

static const char corpus[] =
	"Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e, e\xcc\x81t\xc3\xa9 \xef\xbc\xa1\xef\xbc\xa2 "
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e " FAMILY " \xf0\x9f\x87\xab\xf0\x9f\x87\xb7\r\n"
	"tab\there \"quoted\" back\\slash\x01\0nul";

/* Texts whose encodings must survive a round trip, out-of-vocabulary
 * characters and invalid UTF-8 included. */
static const struct {
	const char *s;
	size_t n;
} probes[] = {
	{corpus, sizeof corpus - 1},
	{"xyz QRS \xe4\xb8\xad", 11},
	{"e\xcc\x81\xef\xbc\xa1", 6},
	{"ok\xff\xed\xa0\x80 end", 10},
	{"\r\n\r", 3},
};

static void check_same_encodings(const seqc_tok *a, const seqc_tok *b)
{
	ck_assert_str_eq(seqc_tok_kind(a), seqc_tok_kind(b));
	ck_assert_uint_eq(seqc_tok_vocab_size(a), seqc_tok_vocab_size(b));
	ck_assert_int_eq(seqc_tok_bos(a), seqc_tok_bos(b));
	ck_assert_int_eq(seqc_tok_eos(a), seqc_tok_eos(b));
	ck_assert_int_eq(seqc_tok_pad(a), seqc_tok_pad(b));
	ck_assert_int_eq(seqc_tok_unk(a), seqc_tok_unk(b));
	for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
		int32_t *ia, *ib;
		size_t na, nb;
		int ra = seqc_tok_encode(a, probes[i].s, probes[i].n, &ia, &na);
		int rb = seqc_tok_encode(b, probes[i].s, probes[i].n, &ib, &nb);
		ck_assert_msg(ra == rb, "probe %zu: encode returned %d and %d", i, ra, rb);
		ck_assert_msg(na == nb && (na == 0 || memcmp(ia, ib, na * sizeof *ia) == 0),
			      "probe %zu: encodings differ", i);
		free(ia);
		free(ib);
	}
}

START_TEST(test_roundtrip_string)
{
	for (int norm = 0; norm < 3; norm++) {
		for (int flags = 0; flags < 4; flags++) {
			seqc_char_opts o = {.norm = (seqc_norm)norm, .graphemes = flags & 1,
					    .replace_invalid = flags & 2};
			seqc_tok *t = seqc_tok_char_build(corpus, sizeof corpus - 1, &o);
			ck_assert_msg(t, "%s", seqc_errmsg());
			char *json = seqc_tok_to_json(t);
			ck_assert_ptr_nonnull(json);
			ck_assert_ptr_nonnull(strstr(json, "\"kind\":\"char\""));
			seqc_tok *u = seqc_tok_from_json(json, strlen(json));
			ck_assert_msg(u, "reload failed: %s\n%s", seqc_errmsg(), json);
			check_same_encodings(t, u);
			seqc_char_opts p;
			ck_assert_int_eq(seqc_tok_char_opts(u, &p), 0);
			ck_assert_int_eq(p.norm, o.norm);
			ck_assert(p.graphemes == o.graphemes && p.replace_invalid == o.replace_invalid);
			/* Serializing again gives the same text. */
			char *again = seqc_tok_to_json(u);
			ck_assert_str_eq(json, again);
			free(again);
			free(json);
			seqc_tok_destroy(u);
			seqc_tok_destroy(t);
		}
	}
}
END_TEST

START_TEST(test_exact_form)
{
	/* The documented layout, NUL escaped. */
	seqc_tok *t = seqc_tok_char_build("ba\0", 3, NULL);
	char *json = seqc_tok_to_json(t);
	ck_assert_str_eq(json,
		"{\"kind\":\"char\",\"version\":1,\"normalization\":\"nfc\",\"units\":\"codepoint\","
		"\"replace_invalid\":false,\"pad_id\":0,\"unk_id\":1,\"bos_id\":2,\"eos_id\":3,"
		"\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"\\u0000\",\"a\",\"b\"]}");
	free(json);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_roundtrip_file)
{
	char dir[200];
	ck_assert(make_temp_dir("seqc_tok", dir, sizeof dir));
	char path[256], missing[300];
	snprintf(path, sizeof path, "%s/tok.json", dir);
	snprintf(missing, sizeof missing, "%s/no/such/dir/tok.json", dir);

	seqc_tok *t = seqc_tok_char_build(corpus, sizeof corpus - 1, NULL);
	ck_assert_int_eq(seqc_tok_save_json_file(t, path), 0);
	/* Saving again replaces the file. */
	ck_assert_int_eq(seqc_tok_save_json_file(t, path), 0);
	seqc_tok *u = seqc_tok_load_json_file(path);
	ck_assert_msg(u, "%s", seqc_errmsg());
	check_same_encodings(t, u);
	seqc_tok_destroy(u);

	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	ck_assert_uint_gt(n, 10);
	ck_assert_int_eq(buf[n - 1], '\n');

	ck_assert_int_eq(seqc_tok_save_json_file(t, missing), SEQC_EIO);
	ck_assert_ptr_null(seqc_tok_load_json_file(missing));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), missing));

	/* A broken file is reported with its path. */
	f = fopen(path, "wb");
	fputs("{\"kind\": \"char\"}", f);
	fclose(f);
	ck_assert_ptr_null(seqc_tok_load_json_file(path));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), path));
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "normalization"));

	seqc_tok_destroy(t);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0); /* no temporary file left behind */
}
END_TEST

/* A valid char tokenizer with one part replaced. */
#define HEAD "{\"kind\":\"char\",\"normalization\":\"nfc\",\"units\":\"codepoint\"," \
	     "\"replace_invalid\":false,"
#define IDS "\"pad_id\":0,\"unk_id\":1,\"bos_id\":2,\"eos_id\":3,"
#define VOCAB "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"a\",\"b\"]"

static const struct {
	const char *json;
	const char *needle; /* must be in the message */
} bad_cases[] = {
	{"not json", "not valid JSON"},
	{"", "not valid JSON"},
	{"[1, 2]", "top level must be an object"},
	{"{\"vocab\": []}", "\"kind\""},
	{"{\"kind\": 3}", "\"kind\""},
	{"{\"kind\": \"bpe9\"}", "\"kind\" is \"bpe9\""},
	{HEAD IDS "\"vocab\":[\"a\"], \"vocab\":[\"b\"]}", "duplicate"},
	{HEAD IDS "\"x\":1}", "\"vocab\" is missing"},
	{HEAD IDS "\"vocab\":\"abc\"}", "\"vocab\" must be an array of strings, got a string"},
	{HEAD IDS "\"vocab\":{}}", "\"vocab\" must be an array"},
	{HEAD IDS "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"a\",7]}", "\"vocab\"[5]"},
	{HEAD IDS "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",null]}", "\"vocab\"[4] is null"},
	{HEAD IDS "\"vocab\":[]}", "\"vocab\" is an empty array"},
	{HEAD IDS "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"a\",\"b\",\"a\"]}",
	 "\"vocab\"[6] (\"a\") repeats \"vocab\"[4]"},
	{HEAD IDS "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<bos>\",\"a\"]}", "repeats"},
	{HEAD IDS "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"ab\"]}",
	 "\"vocab\"[4] (\"ab\") is not a single code point"},
	{HEAD IDS "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"e\\u0301\"]}",
	 "\"vocab\"[4]"},
	{HEAD IDS "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"\"]}", "\"vocab\"[4] has 0 bytes"},
	{HEAD IDS "\"vocab\":[\"<pad>\",\"<unk>\",\"\",\"<eos>\",\"a\"]}", "\"vocab\"[2] has 0 bytes"},
	{HEAD "\"pad_id\":0,\"unk_id\":1,\"bos_id\":99,\"eos_id\":3," VOCAB "}",
	 "\"bos_id\" is 99, outside the vocabulary [0, 6)"},
	{HEAD "\"pad_id\":0,\"unk_id\":1,\"bos_id\":6,\"eos_id\":3," VOCAB "}", "\"bos_id\""},
	{HEAD "\"pad_id\":0,\"unk_id\":1,\"bos_id\":2,\"eos_id\":-2," VOCAB "}", "\"eos_id\""},
	{HEAD "\"pad_id\":0,\"unk_id\":1,\"bos_id\":\"2\",\"eos_id\":3," VOCAB "}",
	 "\"bos_id\" must be an integer"},
	{HEAD "\"pad_id\":0,\"unk_id\":1.0,\"bos_id\":2,\"eos_id\":3," VOCAB "}", "\"unk_id\""},
	{HEAD "\"pad_id\":0,\"bos_id\":2,\"eos_id\":3," VOCAB "}", "\"unk_id\" is missing"},
	{"{\"kind\":\"char\",\"normalization\":\"nfd\",\"units\":\"codepoint\","
	 "\"replace_invalid\":false," IDS VOCAB "}",
	 "\"normalization\" must be \"none\", \"nfc\" or \"nfkc\", got \"nfd\""},
	{"{\"kind\":\"char\",\"units\":\"codepoint\",\"replace_invalid\":false," IDS VOCAB "}",
	 "\"normalization\" is missing"},
	{"{\"kind\":\"char\",\"normalization\":\"nfc\",\"units\":\"word\","
	 "\"replace_invalid\":false," IDS VOCAB "}", "\"units\""},
	{"{\"kind\":\"char\",\"normalization\":\"nfc\",\"units\":[],"
	 "\"replace_invalid\":false," IDS VOCAB "}", "\"units\" must be \"codepoint\" or "
	 "\"grapheme\", got an array"},
	{"{\"kind\":\"char\",\"normalization\":\"nfc\",\"units\":\"codepoint\","
	 "\"replace_invalid\":\"yes\"," IDS VOCAB "}", "\"replace_invalid\""},
	{"{\"kind\":\"char\",\"version\":2,\"normalization\":\"nfc\",\"units\":\"codepoint\","
	 "\"replace_invalid\":false," IDS VOCAB "}", "\"version\""},
	{"{\"kind\":\"char\",\"normalization\":\"nfc\",\"units\":\"grapheme\","
	 "\"replace_invalid\":false," IDS
	 "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"ab\"]}",
	 "\"vocab\"[4] (\"ab\") is not a single grapheme cluster"},
	{HEAD IDS "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"\xff\"]}", "not valid JSON"},
	{HEAD IDS "\"vocab\":[\"<pad>\",\"<unk>\",\"<bos>\",\"<eos>\",\"\\ud800\"]}", ""},
};

START_TEST(test_malformed)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		seqc_error_clear();
		seqc_tok *t = seqc_tok_from_json(bad_cases[i].json, strlen(bad_cases[i].json));
		ck_assert_msg(!t, "case %zu was accepted: %s", i, bad_cases[i].json);
		ck_assert_msg(strstr(seqc_errmsg(), bad_cases[i].needle) && seqc_errmsg()[0],
			      "case %zu: message \"%s\" lacks '%s'", i, seqc_errmsg(),
			      bad_cases[i].needle);
		ck_assert_msg(strncmp(seqc_errmsg(), "tokenizer JSON: ", 16) == 0,
			      "case %zu: message \"%s\"", i, seqc_errmsg());
	}
	ck_assert_ptr_null(seqc_tok_from_json(NULL, 0));
}
END_TEST

START_TEST(test_absurd_size)
{
	/* One entry over the limit: refused before any entry is read. */
	size_t n = SEQC_TOK_MAX_VOCAB + 1;
	size_t len = strlen(HEAD IDS "\"vocab\":[]}") + n * 5;
	char *json = malloc(len + 1);
	ck_assert_ptr_nonnull(json);
	/* memcpy, not sprintf in a loop: gcc 12 under -fsanitize warns about
	 * the latter (format-overflow) although it cannot overflow */
	const char *head = HEAD IDS "\"vocab\":[";
	char *p = json;
	memcpy(p, head, strlen(head));
	p += strlen(head);
	for (size_t i = 0; i < n; i++) {
		const char *item = i ? ",null" : "null";
		memcpy(p, item, strlen(item));
		p += strlen(item);
	}
	memcpy(p, "]}", 3);
	p += 2;
	ck_assert_ptr_null(seqc_tok_from_json(json, (size_t)(p - json)));
	ck_assert_msg(strstr(seqc_errmsg(), "\"vocab\" has 4194305 entries"), "message: %s",
		      seqc_errmsg());
	free(json);
}
END_TEST

START_TEST(test_loaded_variants)
{
	/* A hand-written vocabulary may move specials, omit some (-1), and
	 * display a special as a single character ("_", U+00B6); text still
	 * never encodes to a special. */
	static const char json[] =
		"{\"kind\":\"char\",\"normalization\":\"none\",\"units\":\"grapheme\","
		"\"replace_invalid\":true,\"pad_id\":2,\"unk_id\":-1,\"bos_id\":5,\"eos_id\":0,"
		"\"vocab\":[\"</s>\",\"a\",\"_\",\"e\\u0301\",\"\\r\\n\",\"\\u00b6\"],"
		"\"comment\":\"ignored\"}";
	seqc_tok *t = seqc_tok_from_json(json, strlen(json));
	ck_assert_msg(t, "%s", seqc_errmsg());
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 6);
	ck_assert_int_eq(seqc_tok_eos(t), 0);
	ck_assert_int_eq(seqc_tok_pad(t), 2);
	ck_assert_int_eq(seqc_tok_bos(t), 5);
	ck_assert_int_eq(seqc_tok_unk(t), -1);
	ck_assert_int_eq(seqc_tok_id(t, "_", 1), 2);

	int32_t *ids;
	size_t n;
	ck_assert_int_eq(seqc_tok_encode(t, "ae\xcc\x81\r\n", 6, &ids, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert(ids[0] == 1 && ids[1] == 3 && ids[2] == 4);
	free(ids);
	/* No unk: a unit outside the vocabulary is an error, and "_" is
	 * outside it as far as text goes. */
	ck_assert_int_eq(seqc_tok_encode(t, "a_", 2, &ids, &n), SEQC_ERANGE);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "no unk"));
	ck_assert_int_eq(seqc_tok_encode(t, "a\xc2\xb6", 3, &ids, &n), SEQC_ERANGE);
	ck_assert_int_eq(seqc_tok_encode(t, "\xff", 1, &ids, &n), SEQC_ERANGE);

	char *text;
	size_t len;
	ck_assert_int_eq(seqc_tok_decode(t, (const int32_t[]){1, 2, 3, 0}, 4, &text, &len), 0);
	ck_assert_str_eq(text, "ae\xcc\x81");
	free(text);
	seqc_tok_destroy(t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tok_json");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_roundtrip_string);
	tcase_add_test(tc, test_exact_form);
	tcase_add_test(tc, test_roundtrip_file);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_absurd_size);
	tcase_add_test(tc, test_loaded_variants);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
