/* BLEU and chrF (decode/bleu.h): hand-computed examples (the arithmetic in
 * the comments), the 13a tokenizer on strings tokenized by hand from its
 * rules, bad input, and sacreBLEU's own numbers on Multi30k sentences and
 * tricky lines (tests/golden/bleu.json, made by gen_bleu.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode/bleu.h"
#include "support.h"

/* One sentence with one reference. */
static void add1(seqc_bleu *b, const char *hyp, const char *ref)
{
	size_t rl = strlen(ref);
	ck_assert_msg(seqc_bleu_add(b, hyp, strlen(hyp), &ref, &rl, 1) == 0, "%s", seqc_errmsg());
}

static seqc_bleu_result bleu1(const char *hyp, const char *ref, seqc_bleu_smooth smooth)
{
	seqc_bleu_opts o = { .smooth = smooth, .smooth_value = -1 };
	seqc_bleu *b = seqc_bleu_create(&o);
	ck_assert_ptr_nonnull(b);
	add1(b, hyp, ref);
	seqc_bleu_result r;
	seqc_bleu_compute(b, &r);
	seqc_bleu_destroy(b);
	return r;
}

#define EQ(a, b) ck_assert_double_eq_tol((a), (b), 1e-9)

START_TEST(test_perfect)
{
	/* 6 tokens; every order matches fully: 6/6 5/5 4/4 3/3, bp 1 */
	seqc_bleu_result r = bleu1("the cat sat on the mat", "the cat sat on the mat", SEQC_BLEU_SMOOTH_EXP);
	EQ(r.score, 100);
	for (int n = 0; n < 4; n++)
		EQ(r.precisions[n], 100);
	EQ(r.bp, 1);
	EQ(r.ratio, 1);
	ck_assert_uint_eq(r.hyp_len, 6);
	ck_assert_uint_eq(r.ref_len, 6);
}
END_TEST

/* hyp "the cat sat on the mat", ref "the cat is on the mat":
 *   1-grams: the(2, ref 2) cat on mat match, sat not: 5/6
 *   2-grams: the cat, on the, the mat of {the cat, cat sat, sat on, on the,
 *            the mat}: 3/5
 *   3-grams: on the mat of {the cat sat, cat sat on, sat on the, on the
 *            mat}: 1/4
 *   4-grams: none of 3: 0/3
 * exp: the first zero order gets 100 / (2 * 3) = 16.667;
 * score = (83.333 * 60 * 25 * 16.667)^(1/4) = 2083333.3^(1/4) = 37.99. */
START_TEST(test_partial)
{
	const char *hyp = "the cat sat on the mat", *ref = "the cat is on the mat";
	seqc_bleu_result r = bleu1(hyp, ref, SEQC_BLEU_SMOOTH_EXP);
	EQ(r.precisions[0], 500.0 / 6);
	EQ(r.precisions[1], 60);
	EQ(r.precisions[2], 25);
	EQ(r.precisions[3], 100.0 / 6);
	EQ(r.bp, 1);
	EQ(r.score, pow(500.0 / 6 * 60 * 25 * (100.0 / 6), 0.25));
	ck_assert_msg(fabs(r.score - 37.99) < 0.01, "%g", r.score);
	/* none: log(0) is -9999999999 in the mean: 0 */
	r = bleu1(hyp, ref, SEQC_BLEU_SMOOTH_NONE);
	EQ(r.score, 0);
	EQ(r.precisions[3], 0);
	/* floor 0.1: p4 = 100 * 0.1 / 3 */
	r = bleu1(hyp, ref, SEQC_BLEU_SMOOTH_FLOOR);
	EQ(r.precisions[3], 10.0 / 3);
	EQ(r.score, pow(500.0 / 6 * 60 * 25 * (10.0 / 3), 0.25));
	/* add-k 1 on orders >= 2: (3+1)/(5+1), (1+1)/(4+1), (0+1)/(3+1) */
	r = bleu1(hyp, ref, SEQC_BLEU_SMOOTH_ADD_K);
	EQ(r.precisions[0], 500.0 / 6);
	EQ(r.precisions[1], 400.0 / 6);
	EQ(r.precisions[2], 40);
	EQ(r.precisions[3], 25);
	EQ(r.score, pow(500.0 / 6 * (400.0 / 6) * 40 * 25, 0.25));
}
END_TEST

/* No token: hyp_len 0 < ref_len 3, bp 0, no match at all: 0, no NaN. */
START_TEST(test_empty_hypothesis)
{
	seqc_bleu_result r = bleu1("", "a b c", SEQC_BLEU_SMOOTH_EXP);
	EQ(r.score, 0);
	EQ(r.bp, 0);
	EQ(r.ratio, 0);
	ck_assert_uint_eq(r.hyp_len, 0);
	ck_assert_uint_eq(r.ref_len, 3);
	for (int n = 0; n < 4; n++)
		ck_assert(r.precisions[n] == 0);
	/* nothing added at all */
	seqc_bleu *b = seqc_bleu_create(NULL);
	seqc_bleu_compute(b, &r);
	ck_assert(r.score == 0 && !isnan(r.bp) && !isnan(r.ratio));
	seqc_bleu_destroy(b);
}
END_TEST

/* hyp "the cat sat on" (4) against a 6-token ref: every n-gram matches
 * (4/4 3/3 2/2 1/1) but bp = exp(1 - 6/4) = exp(-0.5) = 0.6065. */
START_TEST(test_brevity)
{
	seqc_bleu_result r = bleu1("the cat sat on", "the cat sat on the mat", SEQC_BLEU_SMOOTH_EXP);
	EQ(r.bp, exp(-0.5));
	EQ(r.score, 100 * exp(-0.5));
	EQ(r.ratio, 4.0 / 6);
	ck_assert(r.bp < 1);
}
END_TEST

/* No 4-gram, and orders with no n-gram at all. */
START_TEST(test_smoothing_edges)
{
	/* "a b" vs "a b c": 2/2, 1/1, then no 3-gram in the hypothesis: the
	 * loop stops, p3 = p4 = 0, which enters as -9999999999: 0 */
	seqc_bleu_result r = bleu1("a b", "a b c", SEQC_BLEU_SMOOTH_EXP);
	EQ(r.score, 0);
	EQ(r.precisions[0], 100);
	EQ(r.precisions[1], 100);
	EQ(r.precisions[2], 0);
	/* two zero orders under exp: 100 / (2 * total), then 100 / (4 * total).
	 * "x b c d e" vs "a b c q e": 1-grams b c e 3/5; 2-grams "b c" 1/4;
	 * 3-grams 0/3 -> 100/6; 4-grams 0/2 -> 100/8 */
	r = bleu1("x b c d e", "a b c q e", SEQC_BLEU_SMOOTH_EXP);
	EQ(r.precisions[2], 100.0 / 6);
	EQ(r.precisions[3], 100.0 / 8);
	EQ(r.score, pow(60.0 * 25 * (100.0 / 6) * (100.0 / 8), 0.25));
}
END_TEST

/* Corpus statistics are summed, not averaged: the perfect sentence
 * (6/6 5/5 4/4 3/3) plus the partial one (5/6 3/5 1/4 0/3) give
 * 11/12 8/10 5/8 3/6, so no smoothing is needed and
 * score = (91.667 * 80 * 62.5 * 50)^(1/4) = 22916667^(1/4) = 69.19, not
 * (100 + 37.99) / 2 = 69.00. */
START_TEST(test_corpus_sums)
{
	seqc_bleu *b = seqc_bleu_create(NULL);
	add1(b, "the cat sat on the mat", "the cat sat on the mat");
	add1(b, "the cat sat on the mat", "the cat is on the mat");
	seqc_bleu_stats st = seqc_bleu_get_stats(b);
	const uint64_t correct[4] = { 11, 8, 5, 3 }, total[4] = { 12, 10, 8, 6 };
	for (int n = 0; n < 4; n++) {
		ck_assert_uint_eq(st.correct[n], correct[n]);
		ck_assert_uint_eq(st.total[n], total[n]);
	}
	ck_assert_uint_eq(st.sentences, 2);
	seqc_bleu_result r;
	seqc_bleu_compute(b, &r);
	EQ(r.score, pow(1100.0 / 12 * 80 * 62.5 * 50, 0.25));
	ck_assert_msg(fabs(r.score - 69.19) < 0.01, "%g", r.score);
	/* reset forgets the sentences */
	seqc_bleu_reset(b);
	ck_assert_uint_eq(seqc_bleu_get_stats(b).sentences, 0);
	seqc_bleu_destroy(b);
}
END_TEST

/* hyp "the cat sat on the mat", refs "the cat is on the mat" and "a cat sat
 * on a mat today": counts clipped to the larger count in one reference:
 *   1-grams 6/6 (the x2 from ref 1, sat from ref 2); 2-grams 5/5 (cat sat,
 *   sat on from ref 2); 3-grams cat sat on, on the mat: 2/4; 4-grams 0/3;
 * closest reference length 6 (7 is farther). */
START_TEST(test_two_refs)
{
	seqc_bleu *b = seqc_bleu_create(NULL);
	const char *refs[3] = { "the cat is on the mat", "", "a cat sat on a mat today" };
	size_t lens[3] = { strlen(refs[0]), 0, strlen(refs[2]) };
	/* the empty reference is dropped, as sacreBLEU does */
	ck_assert_int_eq(seqc_bleu_add(b, "the cat sat on the mat", 22, refs, lens, 3), 0);
	seqc_bleu_result r;
	seqc_bleu_compute(b, &r);
	EQ(r.precisions[0], 100);
	EQ(r.precisions[1], 100);
	EQ(r.precisions[2], 50);
	EQ(r.precisions[3], 100.0 / 6);
	ck_assert_uint_eq(r.ref_len, 6);
	ck_assert_str_eq(seqc_bleu_signature(b), "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:seqc-" SEQC_VERSION);
	/* a tie in distance goes to the shorter reference: 4 tokens, refs 3 and 5 */
	const char *refs2[2] = { "a b c d e", "a b c" };
	size_t lens2[2] = { 9, 5 };
	ck_assert_int_eq(seqc_bleu_add(b, "a b c d", 7, refs2, lens2, 2), 0);
	ck_assert_uint_eq(seqc_bleu_get_stats(b).ref_len, 6 + 3);
	seqc_bleu_destroy(b);
}
END_TEST

START_TEST(test_signature)
{
	seqc_bleu *b = seqc_bleu_create(NULL);
	add1(b, "a", "a");
	ck_assert_str_eq(seqc_bleu_signature(b), "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:seqc-" SEQC_VERSION);
	seqc_bleu_destroy(b);
	seqc_bleu_opts o = { .lowercase = true, .smooth = SEQC_BLEU_SMOOTH_FLOOR, .smooth_value = -1 };
	b = seqc_bleu_create(&o);
	ck_assert_str_eq(seqc_bleu_signature(b),
			 "nrefs:1|case:lc|eff:no|tok:13a|smooth:floor[0.10]|version:seqc-" SEQC_VERSION);
	seqc_bleu_destroy(b);
	seqc_chrf_opts co = seqc_chrf_defaults();
	seqc_chrf *c = seqc_chrf_create(&co);
	ck_assert_str_eq(seqc_chrf_name(c), "chrF2");
	ck_assert_str_eq(seqc_chrf_signature(c), "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:seqc-" SEQC_VERSION);
	seqc_chrf_destroy(c);
	co.word_order = 2;
	c = seqc_chrf_create(&co);
	ck_assert_str_eq(seqc_chrf_name(c), "chrF2++");
	seqc_chrf_destroy(c);
}
END_TEST

/* The 13a rules applied by hand (see bleu.h for the numbered rules). */
START_TEST(test_tokenize_13a)
{
	static const struct {
		const char *in, *out;
		bool lower;
	} cases[] = {
		/* rule 4: "o," and "d." (non-digit before) split */
		{ "Hello, world.", "Hello , world .", false },
		/* digits on both sides: nothing splits */
		{ "1,000.50 dollars", "1,000.50 dollars", false },
		/* rule 4 consumes "e." then "g.": each period its own token */
		{ "e.g. this", "e . g . this", false },
		/* rule 4: a letter before the period splits it even before a digit */
		{ "x.5 5.x", "x . 5 5 . x", false },
		/* rule 6: a dash after a digit; other dashes stay */
		{ "well-known 5-6 --", "well-known 5 - 6 --", false },
		/* rule 3: quotes, brackets, slash, colon; not the apostrophe */
		{ "\"it's\" (a/b): ok", "\" it's \" ( a / b ) : ok", false },
		/* rule 1: entities unescaped, then split by rule 3; <skipped> gone */
		{ "&amp;&lt;&gt;&quot; <skipped>x", "& < > \" x", false },
		/* non-ASCII letters are [^0-9] characters */
		{ "über.Straße, café", "über . Straße , café", false },
		/* U+00A0 and U+2009 are white space to Python's split; "—" is not in
		 * any rule */
		{ "a\xC2\xA0" "b\xE2\x80\x89—c", "a b —c", false },
		/* lowercase first: Ä -> ä, İ -> i + U+0307 */
		{ "ÄRGER İ.", "ärger i\xCC\x87 .", true },
		{ "   ", "", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out;
		size_t n;
		ck_assert_int_eq(seqc_bleu_tokenize_13a(cases[i].in, strlen(cases[i].in), cases[i].lower, &out, &n), 0);
		ck_assert_msg(!strcmp(out, cases[i].out) && n == strlen(out), "'%s': '%s', expected '%s'", cases[i].in,
			      out, cases[i].out);
		free(out);
	}
}
END_TEST

static double chrf1(const char *hyp, const char *ref, int word_order)
{
	seqc_chrf_opts o = seqc_chrf_defaults();
	o.word_order = word_order;
	seqc_chrf *c = seqc_chrf_create(&o);
	ck_assert_ptr_nonnull(c);
	size_t rl = strlen(ref);
	ck_assert_int_eq(seqc_chrf_add(c, hyp, strlen(hyp), &ref, &rl, 1), 0);
	double s = seqc_chrf_score(c);
	seqc_chrf_destroy(c);
	return s;
}

/* hyp "ab", ref "abc":
 *   order 1: hyp 2, ref 3, match 2; order 2: hyp 1 (ab), ref 2, match 1;
 *   order 3: the ref has abc, the hyp nothing: hyp 0, ref 1, match 0;
 *   orders 4-6: nothing. Effective orders 1 and 2:
 *   P = (2/2 + 1/1) / 2 = 1, R = (2/3 + 1/2) / 2 = 7/12,
 *   F2 = 5 P R / (4 P + R) = (35/12) / (55/12) = 7/11 = 63.64.
 * hyp "ab cd", ref "ab ce" (white space removed: abcd, abce):
 *   chars: 3/4, 2/3 (ab bc), 1/2 (abc), 0/1; P = R = (3/4 + 2/3 + 1/2 + 0)/4
 *   = 23/48 -> chrF 47.92;
 *   chrF++ adds words 1/2 (ab) and 0/1 ("ab cd"): (23/12 + 1/2 + 0) / 6 =
 *   29/72 -> 40.28. */
START_TEST(test_chrf)
{
	EQ(chrf1("ab", "abc", 0), 700.0 / 11);
	EQ(chrf1("a b", "ab", 0), 100);
	EQ(chrf1("ab cd", "ab ce", 0), 2300.0 / 48);
	EQ(chrf1("ab cd", "ab ce", 2), 2900.0 / 72);
	EQ(chrf1("", "abc", 0), 0);
	EQ(chrf1("xyz", "abc", 0), 0);
	/* corpus: statistics summed over both sentences:
	 * order 1: 2+2 / 3+2 match 2+2, order 2: 1+1 / 2+1, 1+1; order 3: 0 / 1
	 * P = (4/4 + 2/2) / 2 = 1, R = (4/5 + 2/3) / 2 = 11/15,
	 * F = 5 (11/15) / (4 + 11/15) = 55/71 */
	seqc_chrf *c = seqc_chrf_create(NULL);
	const char *r1 = "abc", *r2 = "ab";
	size_t l1 = 3, l2 = 2;
	ck_assert_int_eq(seqc_chrf_add(c, "ab", 2, &r1, &l1, 1), 0);
	ck_assert_int_eq(seqc_chrf_add(c, "ab", 2, &r2, &l2, 1), 0);
	EQ(seqc_chrf_score(c), 5500.0 / 71);
	const uint64_t *st;
	ck_assert_uint_eq(seqc_chrf_get_stats(c, &st), 6);
	ck_assert_uint_eq(st[0], 4);
	ck_assert_uint_eq(st[1], 5);
	ck_assert_uint_eq(st[2], 4);
	seqc_chrf_destroy(c);
}
END_TEST

START_TEST(test_bad_input)
{
	seqc_bleu *b = seqc_bleu_create(NULL);
	seqc_chrf *c = seqc_chrf_create(NULL);
	const char *ref = "a b", *bad = "a \xC3";
	size_t rl = 3, bl = 3, zero = 0;
	ck_assert_int_eq(seqc_bleu_add(b, bad, bl, &ref, &rl, 1), SEQC_EUTF8);
	ck_assert_msg(strstr(seqc_errmsg(), "hypothesis") && strstr(seqc_errmsg(), "byte 2"), "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_bleu_add(b, ref, rl, &bad, &bl, 1), SEQC_EUTF8);
	ck_assert_msg(strstr(seqc_errmsg(), "reference 1"), "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_chrf_add(c, bad, bl, &ref, &rl, 1), SEQC_EUTF8);
	ck_assert_int_eq(seqc_bleu_add(b, ref, rl, &ref, &rl, 0), SEQC_EINVAL);
	const char *empty = "";
	ck_assert_int_eq(seqc_bleu_add(b, ref, rl, &empty, &zero, 1), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "empty"), "%s", seqc_errmsg());
	/* nothing was counted */
	ck_assert_uint_eq(seqc_bleu_get_stats(b).sentences, 0);
	seqc_bleu_destroy(b);
	seqc_chrf_destroy(c);
	char *out;
	size_t n;
	ck_assert_int_eq(seqc_bleu_tokenize_13a(bad, bl, false, &out, &n), SEQC_EUTF8);
	seqc_chrf_opts o = seqc_chrf_defaults();
	o.char_order = 0;
	ck_assert_ptr_null(seqc_chrf_create(&o));
	o = seqc_chrf_defaults();
	o.beta = 0;
	ck_assert_ptr_null(seqc_chrf_create(&o));
	seqc_bleu_opts bo = { .smooth = (seqc_bleu_smooth)7 };
	ck_assert_ptr_null(seqc_bleu_create(&bo));
	seqc_bleu_destroy(NULL);
	seqc_chrf_destroy(NULL);
}
END_TEST

/* ---- sacreBLEU's numbers ---- */

/* The lines of a JSON array of strings (pointers into the JSON). */
static const char **strings(json_t *arr, size_t *n)
{
	*n = json_array_size(arr);
	const char **s = malloc((*n ? *n : 1) * sizeof *s);
	for (size_t i = 0; i < *n; i++) {
		s[i] = json_string_value(json_array_get(arr, i));
		ck_assert_ptr_nonnull(s[i]);
	}
	return s;
}

static void check_bleu_case(json_t *c, const char *key, bool lower, seqc_bleu_smooth smooth)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	size_t nh, nrefs = json_array_size(json_object_get(c, "refs"));
	const char **hyps = strings(json_object_get(c, "hyps"), &nh);
	const char **refs[4];
	ck_assert_uint_le(nrefs, 4);
	for (size_t r = 0; r < nrefs; r++) {
		size_t k;
		refs[r] = strings(json_array_get(json_object_get(c, "refs"), r), &k);
		ck_assert_uint_eq(k, nh);
	}
	seqc_bleu_opts o = { .lowercase = lower, .smooth = smooth, .smooth_value = -1 };
	seqc_bleu *b = seqc_bleu_create(&o);
	for (size_t i = 0; i < nh; i++) {
		const char *rs[4];
		size_t rl[4];
		for (size_t r = 0; r < nrefs; r++)
			rs[r] = refs[r][i], rl[r] = strlen(refs[r][i]);
		ck_assert_msg(seqc_bleu_add(b, hyps[i], strlen(hyps[i]), rs, rl, nrefs) == 0, "%s line %zu: %s", name,
			      i, seqc_errmsg());
	}
	json_t *want = json_object_get(c, key);
	seqc_bleu_stats st = seqc_bleu_get_stats(b);
	seqc_bleu_result r;
	seqc_bleu_compute(b, &r);
	bool any = false;
	for (size_t n = 0; n < 4; n++)
		any |= st.correct[n] != 0;
	for (size_t n = 0; n < 4; n++) {
		/* sacreBLEU reports add-k's counts after adding k (1) to orders >= 2 */
		uint64_t k = smooth == SEQC_BLEU_SMOOTH_ADD_K && n > 0 && any ? 1 : 0;
		json_int_t wc = json_integer_value(json_array_get(json_object_get(want, "counts"), n));
		json_int_t wt = json_integer_value(json_array_get(json_object_get(want, "totals"), n));
		ck_assert_msg(st.correct[n] + k == (uint64_t)wc && st.total[n] + k == (uint64_t)wt,
			      "%s %s order %zu: %llu/%llu", name, key, n + 1, (unsigned long long)st.correct[n],
			      (unsigned long long)st.total[n]);
		ck_assert_double_eq_tol(r.precisions[n], json_number_value(json_array_get(json_object_get(want, "precisions"), n)), 1e-9);
	}
	ck_assert_uint_eq(r.hyp_len, (uint64_t)json_integer_value(json_object_get(want, "sys_len")));
	ck_assert_uint_eq(r.ref_len, (uint64_t)json_integer_value(json_object_get(want, "ref_len")));
	double ws = json_number_value(json_object_get(want, "score"));
	ck_assert_msg(fabs(r.score - ws) <= 1e-6, "%s %s: BLEU %.12f, sacreBLEU %.12f", name, key, r.score, ws);
	ck_assert_double_eq_tol(r.bp, json_number_value(json_object_get(want, "bp")), 1e-12);
	seqc_bleu_destroy(b);
	free(hyps);
	for (size_t k = 0; k < nrefs; k++)
		free(refs[k]);
}

static void check_chrf_case(json_t *c, const char *key, bool lower, int word_order)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	size_t nh, nrefs = json_array_size(json_object_get(c, "refs"));
	const char **hyps = strings(json_object_get(c, "hyps"), &nh);
	const char **refs[4];
	for (size_t r = 0; r < nrefs && r < 4; r++) {
		size_t k;
		refs[r] = strings(json_array_get(json_object_get(c, "refs"), r), &k);
	}
	seqc_chrf_opts o = seqc_chrf_defaults();
	o.lowercase = lower;
	o.word_order = word_order;
	seqc_chrf *ch = seqc_chrf_create(&o);
	for (size_t i = 0; i < nh; i++) {
		const char *rs[4];
		size_t rl[4];
		for (size_t r = 0; r < nrefs; r++)
			rs[r] = refs[r][i], rl[r] = strlen(refs[r][i]);
		ck_assert_int_eq(seqc_chrf_add(ch, hyps[i], strlen(hyps[i]), rs, rl, nrefs), 0);
	}
	double got = seqc_chrf_score(ch), ws = json_number_value(json_object_get(c, key));
	ck_assert_msg(fabs(got - ws) <= 1e-6, "%s %s: %.12f, sacreBLEU %.12f", name, key, got, ws);
	seqc_chrf_destroy(ch);
	free(hyps);
	for (size_t k = 0; k < nrefs; k++)
		free(refs[k]);
}

START_TEST(test_sacrebleu_fixture)
{
	json_t *root = fixture_load("bleu.json");
	json_t *cases = json_object_get(root, "cases");
	ck_assert_uint_ge(json_array_size(cases), 4);
	for (size_t i = 0; i < json_array_size(cases); i++) {
		json_t *c = json_array_get(cases, i);
		check_bleu_case(c, "bleu", false, SEQC_BLEU_SMOOTH_EXP);
		check_bleu_case(c, "bleu_lc", true, SEQC_BLEU_SMOOTH_EXP);
		check_bleu_case(c, "bleu_none", false, SEQC_BLEU_SMOOTH_NONE);
		check_bleu_case(c, "bleu_floor", false, SEQC_BLEU_SMOOTH_FLOOR);
		check_bleu_case(c, "bleu_addk", false, SEQC_BLEU_SMOOTH_ADD_K);
		check_chrf_case(c, "chrf", false, 0);
		check_chrf_case(c, "chrf_lc", true, 0);
		check_chrf_case(c, "chrfpp", false, 2);
	}
	json_t *toks = json_object_get(root, "tokenize_13a");
	ck_assert_uint_gt(json_array_size(toks), 0);
	for (size_t i = 0; i < json_array_size(toks); i++) {
		json_t *t = json_array_get(toks, i);
		const char *in = json_string_value(json_object_get(t, "in"));
		const char *want = json_string_value(json_object_get(t, "out"));
		char *out;
		size_t n;
		ck_assert_int_eq(seqc_bleu_tokenize_13a(in, strlen(in), false, &out, &n), 0);
		ck_assert_msg(!strcmp(out, want), "'%s': '%s', sacreBLEU '%s'", in, out, want);
		free(out);
	}
	json_decref(root);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bleu");
	TCase *tc = tcase_create("bleu");
	tcase_add_test(tc, test_perfect);
	tcase_add_test(tc, test_partial);
	tcase_add_test(tc, test_empty_hypothesis);
	tcase_add_test(tc, test_brevity);
	tcase_add_test(tc, test_smoothing_edges);
	tcase_add_test(tc, test_corpus_sums);
	tcase_add_test(tc, test_two_refs);
	tcase_add_test(tc, test_signature);
	tcase_add_test(tc, test_tokenize_13a);
	tcase_add_test(tc, test_chrf);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_sacrebleu_fixture);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
