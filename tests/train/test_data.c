/* Language-model data (train/data.h): the split into B streams (bos in
 * front of each, the remainder dropped, too few tokens refused with a
 * message), windows of inputs and targets with burn-in and past-the-end
 * positions ignored, and the nanoGPT train/validation split. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static const int32_t BOS = 2;

START_TEST(test_streams_split)
{
	/* n = 11, B = 3: three streams of floor(11 / 3) = 3 tokens, each
	 * behind bos; tokens 109 and 110 are the dropped remainder */
	int32_t tok[11];
	for (int i = 0; i < 11; i++)
		tok[i] = 100 + i;
	seqc_lm_streams s;
	ck_assert_int_eq(seqc_lm_streams_init(&s, tok, 11, 3, BOS), 0);
	ck_assert_uint_eq(s.streams, 3);
	ck_assert_uint_eq(s.len, 4);
	ck_assert_uint_eq(seqc_lm_positions(&s), 3);
	const int32_t want[3][4] = { { BOS, 100, 101, 102 }, { BOS, 103, 104, 105 }, { BOS, 106, 107, 108 } };
	for (size_t b = 0; b < 3; b++)
		for (size_t t = 0; t < 4; t++)
			ck_assert_msg(s.ids[b * s.len + t] == want[b][t], "stream %zu position %zu: %d, expected %d",
				      b, t, s.ids[b * s.len + t], want[b][t]);
	seqc_lm_streams_free(&s);
	ck_assert_ptr_null(s.ids);
	/* freeing twice (a zeroed struct) is harmless */
	seqc_lm_streams_free(&s);

	/* B = 1 keeps every token */
	ck_assert_int_eq(seqc_lm_streams_init(&s, tok, 11, 1, BOS), 0);
	ck_assert_uint_eq(s.len, 12);
	ck_assert_int_eq(s.ids[0], BOS);
	ck_assert_int_eq(s.ids[11], 110);
	seqc_lm_streams_free(&s);

	/* exactly one token per stream is the smallest accepted */
	ck_assert_int_eq(seqc_lm_streams_init(&s, tok, 4, 4, BOS), 0);
	ck_assert_uint_eq(s.len, 2);
	ck_assert_uint_eq(seqc_lm_positions(&s), 1);
	ck_assert_int_eq(s.ids[3 * 2 + 1], 103);
	seqc_lm_streams_free(&s);
}
END_TEST

START_TEST(test_streams_too_few)
{
	int32_t tok[4] = { 5, 6, 7, 8 };
	seqc_lm_streams s;
	/* 4 tokens, 5 streams: a stream would hold bos alone */
	ck_assert_int_eq(seqc_lm_streams_init(&s, tok, 4, 5, BOS), SEQC_EINVAL);
	ck_assert_ptr_null(s.ids);
	const char *msg = seqc_errmsg();
	ck_assert_msg(strstr(msg, "4 tokens") && strstr(msg, "5 streams"), "message: %s", msg);
	ck_assert_int_eq(seqc_lm_streams_init(&s, tok, 0, 1, BOS), SEQC_EINVAL);
	ck_assert_int_eq(seqc_lm_streams_init(&s, tok, 4, 0, BOS), SEQC_EINVAL);
	ck_assert_ptr_null(s.ids);
	seqc_lm_streams_free(&s);
}
END_TEST

START_TEST(test_window)
{
	/* streams [bos 10 11 12 13] and [bos 20 21 22 23] (token 30 dropped) */
	int32_t tok[9] = { 10, 11, 12, 13, 20, 21, 22, 23, 30 };
	seqc_lm_streams s;
	ck_assert_int_eq(seqc_lm_streams_init(&s, tok, 9, 2, BOS), 0);
	ck_assert_uint_eq(seqc_lm_positions(&s), 4);
	int32_t in[2 * 6], tg[2 * 6];

	/* positions 0..2, all scored */
	ck_assert_uint_eq(seqc_lm_window(&s, 0, 3, 0, in, tg), 6);
	const int32_t in0[6] = { BOS, 10, 11, BOS, 20, 21 }, tg0[6] = { 10, 11, 12, 20, 21, 22 };
	ck_assert_mem_eq(in, in0, sizeof in0);
	ck_assert_mem_eq(tg, tg0, sizeof tg0);

	/* positions 1..6 with first_target 2: position 1 is burn-in (input
	 * kept, target ignored); 2 and 3 scored; 4 and 5 are past the last
	 * predicted position (input 0, target ignored; the stream's last
	 * token is only ever a target) */
	ck_assert_uint_eq(seqc_lm_window(&s, 1, 6, 2, in, tg), 4);
	const int32_t in1[12] = { 10, 11, 12, 0, 0, 0, 20, 21, 22, 0, 0, 0 };
	const int32_t tg1[12] = { -1, 12, 13, -1, -1, -1, -1, 22, 23, -1, -1, -1 };
	for (size_t i = 0; i < 12; i++) {
		ck_assert_msg(in[i] == in1[i], "input %zu: %d, expected %d", i, in[i], in1[i]);
		ck_assert_msg(tg[i] == tg1[i], "target %zu: %d, expected %d", i, tg[i], tg1[i]);
	}

	/* a window entirely burn-in scores nothing */
	ck_assert_uint_eq(seqc_lm_window(&s, 0, 2, 2, in, tg), 0);
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(tg[i], -1);
	/* and one entirely past the end too */
	ck_assert_uint_eq(seqc_lm_window(&s, 4, 2, 0, in, tg), 0);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(in[i], 0);
		ck_assert_int_eq(tg[i], -1);
	}
	seqc_lm_streams_free(&s);
}
END_TEST

START_TEST(test_split)
{
	size_t k = 99;
	/* nanoGPT's shakespeare_char: n = 1,115,394, int(n * 0.9) */
	ck_assert_int_eq(seqc_lm_split(1115394, 0.9, &k), 0);
	ck_assert_uint_eq(k, 1003854);
	ck_assert_int_eq(seqc_lm_split(10, 0.5, &k), 0);
	ck_assert_uint_eq(k, 5);
	ck_assert_int_eq(seqc_lm_split(2, 0.5, &k), 0);
	ck_assert_uint_eq(k, 1);

	const struct {
		size_t n;
		double f;
	} bad[] = {
		{ 1000, 0.0 }, { 1000, 1.0 }, { 1000, -0.1 }, { 1000, 1.5 }, { 1000, NAN },
		{ 1, 0.5 },    /* either side would be empty */
		{ 5, 0.1 },    /* int(0.5) = 0 training tokens */
		{ 0, 0.9 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		k = 99;
		ck_assert_msg(seqc_lm_split(bad[i].n, bad[i].f, &k) == SEQC_EINVAL, "n %zu fraction %g accepted",
			      bad[i].n, bad[i].f);
		ck_assert_uint_eq(k, 0);
		ck_assert_msg(strlen(seqc_errmsg()) > 0, "no message for n %zu fraction %g", bad[i].n, bad[i].f);
	}
	ck_assert_int_eq(seqc_lm_split(5, 0.1, &k), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "5 tokens"), "message: %s", seqc_errmsg());
}
END_TEST

/* The split of the real corpus, when the shared data is there. */
START_TEST(test_split_shakespeare)
{
	const char *path = test_data_path("tinyshakespeare.txt");
	if (!path) {
		fprintf(stderr, "test_split_shakespeare: tinyshakespeare.txt not found: skipped\n");
		return;
	}
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	size_t n = (size_t)ftell(f);
	fclose(f);
	ck_assert_uint_eq(n, 1115394);
	size_t k;
	ck_assert_int_eq(seqc_lm_split(n, 0.9, &k), 0);
	ck_assert_uint_eq(n - k, 111540);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("train_data");
	TCase *tc = tcase_create("data");
	tcase_add_test(tc, test_streams_split);
	tcase_add_test(tc, test_streams_too_few);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_split);
	tcase_add_test(tc, test_split_shakespeare);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
