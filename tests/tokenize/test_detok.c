/* The UTF-8 helpers and the streaming decoder. Char pieces are always whole
 * characters, so the holding logic is driven by a tiny fake tokenizer kind
 * whose pieces are fragments of characters, as byte-level BPE's can be. */
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "tokenize/char.h"
#include "tokenize/tok_internal.h"

#define FFFD "\xef\xbf\xbd"

/* ---- UTF-8 helpers ---- */

static const struct {
	const char *s;
	size_t n;
	int ret;       /* decode: length, or -(maximal subpart length) */
	uint32_t cp;   /* when ret > 0 */
	bool incomplete;
} decode_cases[] = {
	{"A", 1, 1, 0x41, false},
	{"\x00", 1, 1, 0, false},
	{"\xc3\xa9", 2, 2, 0xE9, false},
	{"\xe2\x82\xac", 3, 3, 0x20AC, false},
	{"\xf0\x9f\x98\x80", 4, 4, 0x1F600, false},
	{"\xf4\x8f\xbf\xbf", 4, 4, 0x10FFFF, false},
	{"\xef\xbf\xbf", 3, 3, 0xFFFF, false},     /* a noncharacter, still valid */
	{"\xff", 1, -1, 0, false},
	{"\x80", 1, -1, 0, false},                 /* lone continuation */
	{"\xc0\x80", 2, -1, 0, false},             /* overlong NUL */
	{"\xc1\xbf", 2, -1, 0, false},             /* overlong */
	{"\xe0\x80\x80", 3, -1, 0, false},         /* overlong 3-byte */
	{"\xed\xa0\x80", 3, -1, 0, false},         /* surrogate U+D800 */
	{"\xf4\x90\x80\x80", 4, -1, 0, false},     /* above U+10FFFF */
	{"\xf5\x80\x80\x80", 4, -1, 0, false},
	{"\xe2\x82", 2, -2, 0, true},              /* truncated by the end */
	{"\xe2", 1, -1, 0, true},
	{"\xf0\x9f\x98", 3, -3, 0, true},
	{"\xe2\x82\x41", 3, -2, 0, false},         /* missing continuation */
	{"\xf0\x9f\x41", 3, -2, 0, false},
	{"\xc3", 1, -1, 0, true},
};

START_TEST(test_utf8_decode)
{
	for (size_t i = 0; i < sizeof decode_cases / sizeof decode_cases[0]; i++) {
		uint32_t cp = 0xDEADBEEF;
		const uint8_t *s = (const uint8_t *)decode_cases[i].s;
		int r = seqc_utf8_decode(s, decode_cases[i].n, &cp);
		ck_assert_msg(r == decode_cases[i].ret, "case %zu: decode returned %d, expected %d", i, r,
			      decode_cases[i].ret);
		if (r > 0)
			ck_assert_msg(cp == decode_cases[i].cp, "case %zu: U+%04X, expected U+%04X", i,
				      cp, decode_cases[i].cp);
		ck_assert_msg(seqc_utf8_incomplete(s, decode_cases[i].n) == decode_cases[i].incomplete,
			      "case %zu: incomplete is wrong", i);
	}
}
END_TEST

START_TEST(test_utf8_replace)
{
	/* One U+FFFD per maximal subpart, as Python's errors="replace". */
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{"a\xff" "b", "a" FFFD "b"},
		{"\xed\xa0\x80", FFFD FFFD FFFD},
		{"\xc0\x80", FFFD FFFD},
		{"\xe2\x82", FFFD},
		{"\xe2\x82\x41", FFFD "A"},
		{"\xf0\x9f\x98\x80\xf0\x9f", "\xf0\x9f\x98\x80" FFFD},
		{"ok", "ok"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = strlen(cases[i].in);
		uint8_t out[64];
		size_t o = seqc_utf8_replace((const uint8_t *)cases[i].in, n, out);
		ck_assert_msg(o == strlen(cases[i].out) && memcmp(out, cases[i].out, o) == 0,
			      "case %zu: wrong replacement", i);
		size_t bad = seqc_utf8_first_invalid((const uint8_t *)cases[i].in, n);
		ck_assert_msg((bad == n) == (strcmp(cases[i].in, cases[i].out) == 0),
			      "case %zu: first_invalid %zu", i, bad);
	}
}
END_TEST

START_TEST(test_utf8_complete)
{
	/* The completeness helper: writes whole characters and holds an
	 * incomplete tail, but only when more bytes could complete it. */
	static const struct {
		const char *in;
		const char *out;
		size_t held;
	} cases[] = {
		{"ab\xe2\x82", "ab", 2},
		{"\xe2", "", 1},
		{"\xf0\x9f\x98", "", 3},
		{"a\xe2\x82\xac", "a\xe2\x82\xac", 0},
		{"\xe2\x41", FFFD "A", 0},
		{"\xff", FFFD, 0},
		{"\xed\xa0", FFFD FFFD, 0}, /* a surrogate can never complete */
		{"\xc0", FFFD, 0},
		{"\xf4\x90", FFFD FFFD, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t out[64];
		size_t held = 99, n = strlen(cases[i].in);
		size_t o = seqc_utf8_complete((const uint8_t *)cases[i].in, n, out, &held);
		ck_assert_msg(o == strlen(cases[i].out) && memcmp(out, cases[i].out, o) == 0,
			      "case %zu: wrong output (%zu bytes)", i, o);
		ck_assert_msg(held == cases[i].held, "case %zu: held %zu, expected %zu", i, held,
			      cases[i].held);
	}
}
END_TEST

START_TEST(test_strtab)
{
	seqc_strtab t;
	seqc_strtab_init(&t);
	char key[16];
	bool added;
	for (int i = 0; i < 5000; i++) {
		int len = snprintf(key, sizeof key, "k%d", i);
		ck_assert_int_eq(seqc_strtab_intern(&t, key, (size_t)len, &added), i);
		ck_assert(added);
	}
	ck_assert_int_eq(seqc_strtab_intern(&t, "k17", 3, &added), 17);
	ck_assert(!added);
	ck_assert_int_eq(seqc_strtab_intern(&t, "a\0b", 3, &added), 5000);
	ck_assert_int_eq(seqc_strtab_find(&t, "a\0b", 3), 5000);
	ck_assert_int_eq(seqc_strtab_find(&t, "a\0c", 3), -1);
	ck_assert_int_eq(seqc_strtab_find(&t, "a", 1), -1);
	ck_assert_int_eq(seqc_strtab_find(&t, "k4999", 5), 4999);
	size_t n;
	ck_assert_str_eq(seqc_strtab_get(&t, 1234, &n), "k1234");
	ck_assert_uint_eq(n, 5);
	seqc_strtab_finish(&t);
}
END_TEST

/* ---- a fake tokenizer kind with partial-character pieces ---- */

static const char *const fake_pieces[] = {
	"<pad>", "<unk>", "<bos>", "<eos>",
	"\xe2",             /* 4: first byte of the euro sign */
	"\x82",             /* 5 */
	"\xac",             /* 6 */
	"a",                /* 7 */
	"\xff",             /* 8: never valid */
	"\xf0\x9f",         /* 9: first half of U+1F600 */
	"\x98\x80",         /* 10: second half */
	"\xe2\x82",         /* 11 */
	"\xe2\x82\xac",     /* 12: the whole euro sign */
	NULL,               /* 13: SEQC_TOK_MAX_PIECE bytes of 0xff */
};
#define FAKE_N (sizeof fake_pieces / sizeof fake_pieces[0])

typedef struct fake_tok {
	seqc_tok base;
	char big[SEQC_TOK_MAX_PIECE + 1];
} fake_tok;

static int fake_encode(const seqc_tok *t, const uint8_t *text, size_t len, seqc_idvec *out)
{
	return seqc_error(SEQC_EUNSUPPORTED, "fake: no encoder");
}

static const char *fake_piece(const seqc_tok *t, int32_t id, size_t *len)
{
	if ((size_t)id == FAKE_N - 1) {
		*len = SEQC_TOK_MAX_PIECE;
		return ((const fake_tok *)t)->big;
	}
	*len = strlen(fake_pieces[id]);
	return fake_pieces[id];
}

static int32_t fake_lookup(const seqc_tok *t, const char *piece, size_t len)
{
	return -1;
}

static json_t *fake_to_json(const seqc_tok *t)
{
	seqc_error(SEQC_EUNSUPPORTED, "fake: no JSON");
	return NULL;
}

static void fake_destroy(seqc_tok *t)
{
	free(t);
}

static const seqc_tok_vtable fake_vtable = {
	.kind = "fake",
	.encode = fake_encode,
	.piece = fake_piece,
	.lookup = fake_lookup,
	.to_json = fake_to_json,
	.destroy = fake_destroy,
};

static seqc_tok *fake_create(void)
{
	fake_tok *t = calloc(1, sizeof *t);
	ck_assert_ptr_nonnull(t);
	t->base = (seqc_tok){.vt = &fake_vtable, .vocab_size = FAKE_N, .pad = 0, .unk = 1,
			     .bos = 2, .eos = 3};
	memset(t->big, 0xff, SEQC_TOK_MAX_PIECE);
	return &t->base;
}

/* Pushes ids (terminated by -1), then flushes when flush; the concatenated
 * output must be expect. */
static void check_stream(seqc_detok *d, const int32_t *ids, bool flush, const char *expect)
{
	static char all[4 * SEQC_DETOK_MAX], out[SEQC_DETOK_MAX];
	size_t used = 0;
	for (size_t i = 0; ids[i] >= 0; i++) {
		int r = seqc_detok_push(d, ids[i], out, sizeof out);
		ck_assert_msg(r >= 0, "push %d: %s", ids[i], seqc_errmsg());
		memcpy(all + used, out, (size_t)r);
		used += (size_t)r;
	}
	if (flush) {
		int r = seqc_detok_flush(d, out, sizeof out);
		ck_assert_int_ge(r, 0);
		memcpy(all + used, out, (size_t)r);
		used += (size_t)r;
	}
	ck_assert_msg(used == strlen(expect) && memcmp(all, expect, used) == 0,
		      "stream gave %zu bytes \"%.*s\", expected \"%s\"", used, (int)used, all, expect);
}

START_TEST(test_detok_holds_partial_characters)
{
	seqc_tok *t = fake_create();
	seqc_detok *d = seqc_detok_create(t);
	ck_assert_ptr_nonnull(d);
	char out[SEQC_DETOK_MAX];

	/* Each push of a fragment writes nothing until the character is whole. */
	ck_assert_int_eq(seqc_detok_push(d, 4, out, sizeof out), 0);
	ck_assert_int_eq(seqc_detok_push(d, 5, out, sizeof out), 0);
	ck_assert_int_eq(seqc_detok_push(d, 6, out, sizeof out), 3);
	ck_assert(memcmp(out, "\xe2\x82\xac", 3) == 0);
	ck_assert_int_eq(seqc_detok_flush(d, out, sizeof out), 0);

	check_stream(d, (const int32_t[]){9, 10, -1}, true, "\xf0\x9f\x98\x80");
	check_stream(d, (const int32_t[]){11, 6, 7, -1}, true, "\xe2\x82\xac" "a");
	check_stream(d, (const int32_t[]){7, 12, 7, -1}, true, "a\xe2\x82\xac" "a");
	/* A fragment followed by something that cannot continue it. */
	check_stream(d, (const int32_t[]){4, 7, -1}, true, FFFD "a");
	check_stream(d, (const int32_t[]){9, 12, -1}, true, FFFD "\xe2\x82\xac");
	check_stream(d, (const int32_t[]){8, 7, -1}, true, FFFD "a");
	/* An incomplete tail at the end becomes one U+FFFD at flush. */
	check_stream(d, (const int32_t[]){7, 4, 5, -1}, true, "a" FFFD);
	check_stream(d, (const int32_t[]){7, 4, 5, -1}, false, "a");
	check_stream(d, (const int32_t[]){6, -1}, true, "\xe2\x82\xac"); /* still held above */
	seqc_detok_destroy(d);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_detok_specials)
{
	seqc_tok *t = fake_create();
	seqc_detok *d = seqc_detok_create(t);
	check_stream(d, (const int32_t[]){2, 7, 0, 1, 3, -1}, true, "a");
	/* A hidden special inside a character leaves the held bytes alone. */
	check_stream(d, (const int32_t[]){4, 2, 5, 6, -1}, true, "\xe2\x82\xac");
	ck_assert(!seqc_detok_show_special(d, true));
	check_stream(d, (const int32_t[]){2, 7, 3, -1}, true, "<bos>a<eos>");
	check_stream(d, (const int32_t[]){4, 3, -1}, true, FFFD "<eos>");
	ck_assert(seqc_detok_show_special(d, false));
	check_stream(d, (const int32_t[]){2, 7, 3, -1}, true, "a");
	seqc_detok_destroy(d);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_detok_errors)
{
	seqc_tok *t = fake_create();
	seqc_detok *d = seqc_detok_create(t);
	char out[SEQC_DETOK_MAX];

	ck_assert_int_eq(seqc_detok_push(d, (int32_t)FAKE_N, out, sizeof out), SEQC_ERANGE);
	ck_assert_int_eq(seqc_detok_push(d, -1, out, sizeof out), SEQC_ERANGE);
	ck_assert_ptr_nonnull(strstr(seqc_errmsg(), "-1"));

	/* Too small a buffer: an error naming the size needed, and nothing
	 * changes, so the same push with room succeeds. */
	ck_assert_int_eq(seqc_detok_push(d, 12, out, 2), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "needs 3 bytes"), "message: %s", seqc_errmsg());
	ck_assert_int_eq(seqc_detok_push(d, 4, out, 0), 0);
	ck_assert_int_eq(seqc_detok_push(d, 5, out, 0), 0);
	ck_assert_int_eq(seqc_detok_push(d, 6, out, 1), SEQC_EINVAL);
	ck_assert_int_eq(seqc_detok_push(d, 6, out, 3), 3);
	ck_assert(memcmp(out, "\xe2\x82\xac", 3) == 0);
	ck_assert_int_eq(seqc_detok_push(d, 4, out, 0), 0);
	ck_assert_int_eq(seqc_detok_flush(d, out, 2), SEQC_EINVAL);
	ck_assert_int_eq(seqc_detok_flush(d, out, 3), 3);

	/* Near the worst case, which SEQC_DETOK_MAX covers: a held tail, then
	 * the longest piece, every byte of it invalid. */
	check_stream(d, (const int32_t[]){9, -1}, false, "");
	ck_assert_int_eq(seqc_detok_push(d, 10, out, sizeof out), 4);
	ck_assert_int_eq(seqc_detok_push(d, 4, out, sizeof out), 0);
	ck_assert_int_eq(seqc_detok_push(d, 5, out, sizeof out), 0);
	int r = seqc_detok_push(d, (int32_t)FAKE_N - 1, out, sizeof out);
	ck_assert_int_eq(r, 3 * (SEQC_TOK_MAX_PIECE + 1));
	ck_assert_int_le(r, SEQC_DETOK_MAX);
	for (int i = 0; i < r; i += 3)
		ck_assert(memcmp(out + i, FFFD, 3) == 0);
	seqc_detok_destroy(d);
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_decode_convenience)
{
	seqc_tok *t = fake_create();
	char *text;
	size_t len;
	const int32_t ids[] = {2, 7, 4, 5, 6, 3, 9};
	ck_assert_int_eq(seqc_tok_decode(t, ids, 7, &text, &len), 0);
	ck_assert_str_eq(text, "a\xe2\x82\xac" FFFD);
	ck_assert_uint_eq(len, strlen(text));
	free(text);

	ck_assert_int_eq(seqc_tok_decode(t, ids, 0, &text, &len), 0);
	ck_assert_str_eq(text, "");
	ck_assert_uint_eq(len, 0);
	free(text);

	const int32_t bad[] = {7, 7, 40};
	ck_assert_int_eq(seqc_tok_decode(t, bad, 3, &text, &len), SEQC_ERANGE);
	ck_assert_ptr_null(text);
	ck_assert_msg(strstr(seqc_errmsg(), "ids[2] = 40"), "message: %s", seqc_errmsg());
	seqc_tok_destroy(t);
}
END_TEST

START_TEST(test_char_stream_roundtrip)
{
	/* Pushing a char tokenizer's ids one by one gives the text back. */
	static const char text[] =
		"Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e, "
		"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 "
		"\xf0\x9f\x87\xab\xf0\x9f\x87\xb7\r\n\tend";
	for (int graphemes = 0; graphemes < 2; graphemes++) {
		seqc_char_opts o = seqc_char_defaults();
		o.graphemes = graphemes;
		seqc_tok *t = seqc_tok_char_build(text, strlen(text), &o);
		ck_assert_msg(t, "%s", seqc_errmsg());
		int32_t *ids;
		size_t n;
		ck_assert_int_eq(seqc_tok_encode(t, text, strlen(text), &ids, &n), 0);
		seqc_detok *d = seqc_detok_create(t);
		int32_t *stream = malloc((n + 1) * sizeof *stream);
		memcpy(stream, ids, n * sizeof *ids);
		stream[n] = -1;
		check_stream(d, stream, true, text);
		free(stream);
		/* Whole pieces go straight out, but still not past cap. */
		char out[4];
		int32_t e = seqc_tok_id(t, "\xc3\xa8", 2);
		ck_assert_int_ge(e, 4);
		ck_assert_int_eq(seqc_detok_push(d, e, out, 1), SEQC_EINVAL);
		ck_assert_msg(strstr(seqc_errmsg(), "needs 2 bytes"), "message: %s", seqc_errmsg());
		ck_assert_int_eq(seqc_detok_push(d, e, out, 2), 2);
		ck_assert(memcmp(out, "\xc3\xa8", 2) == 0);
		free(ids);
		seqc_detok_destroy(d);
		seqc_tok_destroy(t);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("detok");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_utf8_decode);
	tcase_add_test(tc, test_utf8_replace);
	tcase_add_test(tc, test_utf8_complete);
	tcase_add_test(tc, test_strtab);
	tcase_add_test(tc, test_detok_holds_partial_characters);
	tcase_add_test(tc, test_detok_specials);
	tcase_add_test(tc, test_detok_errors);
	tcase_add_test(tc, test_decode_convenience);
	tcase_add_test(tc, test_char_stream_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
