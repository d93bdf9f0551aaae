/* The number-words task (data/numbers.h, data/gen_numbers.c): French and
 * English spellings checked by hand against the rules in numbers.h, and the
 * generator: the same seed gives the same files, the splits are disjoint,
 * every line pair is a number's English and French, bad flags exit 2. */
#define _XOPEN_SOURCE 700
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "numbers.h"
#include "support.h"

extern char **environ;

START_TEST(test_french)
{
	static const struct {
		uint32_t n;
		const char *fr;
	} cases[] = {
		{ 0, "zéro" },
		{ 1, "un" },
		{ 7, "sept" },
		{ 11, "onze" },
		{ 16, "seize" },
		{ 17, "dix-sept" },
		{ 20, "vingt" },
		{ 21, "vingt et un" },
		{ 22, "vingt-deux" },
		{ 31, "trente et un" },
		{ 61, "soixante et un" },
		{ 70, "soixante-dix" },
		{ 71, "soixante et onze" },
		{ 72, "soixante-douze" },
		{ 77, "soixante-dix-sept" },
		{ 80, "quatre-vingts" },
		{ 81, "quatre-vingt-un" },
		{ 90, "quatre-vingt-dix" },
		{ 91, "quatre-vingt-onze" },
		{ 99, "quatre-vingt-dix-neuf" },
		{ 100, "cent" },
		{ 101, "cent un" },
		{ 180, "cent quatre-vingts" },
		{ 200, "deux cents" },
		{ 201, "deux cent un" },
		{ 280, "deux cent quatre-vingts" },
		{ 1000, "mille" },
		{ 1001, "mille un" },
		{ 1080, "mille quatre-vingts" },
		{ 2000, "deux mille" },
		{ 21000, "vingt et un mille" },
		{ 80000, "quatre-vingt mille" },
		{ 81000, "quatre-vingt-un mille" },
		{ 100000, "cent mille" },
		{ 101000, "cent un mille" },
		{ 200000, "deux cent mille" },
		{ 200200, "deux cent mille deux cents" },
		{ 371204, "trois cent soixante et onze mille deux cent quatre" },
		{ 999999, "neuf cent quatre-vingt-dix-neuf mille neuf cent quatre-vingt-dix-neuf" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[128];
		int n = numbers_fr(cases[i].n, out, sizeof out);
		ck_assert_msg(n == (int)strlen(cases[i].fr) && !strcmp(out, cases[i].fr), "%u: '%s', expected '%s'",
			      cases[i].n, out, cases[i].fr);
	}
}
END_TEST

START_TEST(test_english)
{
	enum { A = NUMBERS_EN_AND, C = NUMBERS_EN_COMMA };
	static const struct {
		uint32_t n;
		unsigned flags;
		const char *en;
	} cases[] = {
		{ 0, 0, "zero" },
		{ 1, A | C, "one" },
		{ 17, 0, "seventeen" },
		{ 21, 0, "twenty-one" },
		{ 70, A, "seventy" },
		{ 100, A | C, "one hundred" },
		{ 104, 0, "one hundred four" },
		{ 104, A, "one hundred and four" },
		{ 1000, A | C, "one thousand" },
		{ 1005, 0, "one thousand five" },
		{ 1005, A | C, "one thousand and five" },
		{ 1200, C, "one thousand, two hundred" },
		{ 80000, A, "eighty thousand" },
		{ 200000, 0, "two hundred thousand" },
		{ 371204, 0, "three hundred seventy-one thousand two hundred four" },
		{ 371204, A | C, "three hundred and seventy-one thousand, two hundred and four" },
		{ 999999, C, "nine hundred ninety-nine thousand, nine hundred ninety-nine" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[128];
		int n = numbers_en(cases[i].n, cases[i].flags, out, sizeof out);
		ck_assert_msg(n == (int)strlen(cases[i].en) && !strcmp(out, cases[i].en), "%u/%u: '%s', expected '%s'",
			      cases[i].n, cases[i].flags, out, cases[i].en);
	}
}
END_TEST

/* Out of range and too small a buffer are refused; every number fits in
 * 128 bytes. */
START_TEST(test_limits)
{
	char out[128];
	ck_assert_int_eq(numbers_fr(NUMBERS_MAX + 1, out, sizeof out), -1);
	ck_assert_int_eq(numbers_en(NUMBERS_MAX + 1, 0, out, sizeof out), -1);
	ck_assert_int_eq(numbers_fr(371204, out, 10), -1);
	ck_assert_int_eq(numbers_en(371204, 0, out, 10), -1);
	ck_assert_int_eq(numbers_fr(1, out, 0), -1);
	for (uint32_t n = 0; n <= NUMBERS_MAX; n++)
		ck_assert(numbers_fr(n, out, sizeof out) > 0 && numbers_en(n, 3, out, sizeof out) > 0);
}
END_TEST

/* ---- the generator ---- */

static const char *gen_bin;
static char root[64];

static int run_gen(const char *const *args)
{
	char *argv[16];
	int argc = 0;
	argv[argc++] = (char *)gen_bin;
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 1, 0);
	pid_t pid;
	int rc = posix_spawn(&pid, gen_bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	ck_assert_int_eq(rc, 0);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The number an English line of the generator spells (UINT32_MAX when it
 * is not one): a reader of its own, so the check does not trust the
 * speller to invert itself. */
static uint32_t en_value(const char *line)
{
	static const char *const small[20] = { "zero", "one", "two", "three", "four", "five", "six", "seven",
					       "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
					       "fifteen", "sixteen", "seventeen", "eighteen", "nineteen" };
	static const char *const tens[10] = { "", "", "twenty", "thirty", "forty", "fifty",
					      "sixty", "seventy", "eighty", "ninety" };
	uint32_t total = 0, group = 0;
	char buf[128];
	snprintf(buf, sizeof buf, "%s", line);
	for (char *w = strtok(buf, " "); w; w = strtok(NULL, " ")) {
		size_t n = strlen(w);
		if (n && w[n - 1] == ',')
			w[n - 1] = '\0';
		char *unit = strchr(w, '-');
		if (unit)
			*unit++ = '\0';
		int v = -1;
		for (int k = 0; k < 20 && v < 0; k++)
			if (!strcmp(w, small[k]))
				v = k;
		for (int k = 2; k < 10 && v < 0; k++)
			if (!strcmp(w, tens[k]))
				v = 10 * k;
		for (int k = 1; unit && k < 10 && v >= 20; k++)
			if (!strcmp(unit, small[k]))
				v += k, unit = NULL;
		if (unit)
			return UINT32_MAX;
		if (v >= 0)
			group += (uint32_t)v;
		else if (!strcmp(w, "hundred"))
			group *= 100;
		else if (!strcmp(w, "thousand"))
			total += group * 1000, group = 0;
		else if (strcmp(w, "and"))
			return UINT32_MAX;
	}
	return total + group;
}

#define GEN(...) run_gen((const char *const[]){ __VA_ARGS__, NULL })

static blob split_file(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	blob b = read_blob(p);
	ck_assert_msg(b.data != NULL, "%s missing", p);
	return b;
}

static const char *const files[6] = { "train.en", "train.fr", "valid.en", "valid.fr", "test.en", "test.fr" };

START_TEST(test_generator)
{
	char a[128], b[128], c[128];
	snprintf(a, sizeof a, "%s/a", root);
	snprintf(b, sizeof b, "%s/b", root);
	snprintf(c, sizeof c, "%s/c", root);
	ck_assert_int_eq(GEN("--out", a, "--train", "3000", "--valid", "300", "--test", "300", "--seed", "7"), 0);
	ck_assert_int_eq(GEN("--out", b, "--train", "3000", "--valid", "300", "--test", "300", "--seed", "7"), 0);
	ck_assert_int_eq(GEN("--out", c, "--train", "3000", "--valid", "300", "--test", "300", "--seed", "8"), 0);
	/* the same seed: the same bytes; another seed: other files */
	for (size_t i = 0; i < 6; i++) {
		blob x = split_file(a, files[i]), y = split_file(b, files[i]), z = split_file(c, files[i]);
		ck_assert_msg(x.len == y.len && !memcmp(x.data, y.data, x.len), "%s differs for one seed", files[i]);
		ck_assert_msg(x.len != z.len || memcmp(x.data, z.data, x.len), "%s same for two seeds", files[i]);
		free(x.data);
		free(y.data);
		free(z.data);
	}
	/* every English line reads back (en_value) as a number whose French is
	 * the line beside it and whose English, in one of its four variations,
	 * is the line itself; no number is in two splits, nor twice in one */
	unsigned char *seen = calloc(NUMBERS_MAX + 1, 1);
	ck_assert_ptr_nonnull(seen);
	size_t lines = 0;
	for (size_t s = 0; s < 3; s++) {
		blob en = split_file(a, files[2 * s]), fr = split_file(a, files[2 * s + 1]);
		char *pe = en.data, *pf = fr.data;
		while (*pe && *pf) {
			char *ee = strchr(pe, '\n'), *fe = strchr(pf, '\n');
			ck_assert(ee && fe);
			*ee = *fe = '\0';
			uint32_t n = en_value(pe);
			ck_assert_msg(n <= NUMBERS_MAX, "'%s' does not read as a number", pe);
			char buf[128];
			ck_assert_int_gt(numbers_fr(n, buf, sizeof buf), 0);
			ck_assert_msg(!strcmp(buf, pf), "%u: '%s' beside '%s'", n, pf, pe);
			bool ok = false;
			for (unsigned f = 0; f < 4 && !ok; f++)
				ok = numbers_en(n, f, buf, sizeof buf) > 0 && !strcmp(buf, pe);
			ck_assert_msg(ok, "%u: '%s' beside '%s'", n, pe, pf);
			ck_assert_msg(!seen[n], "%u drawn twice", n);
			seen[n] = 1;
			lines++;
			pe = ee + 1;
			pf = fe + 1;
		}
		ck_assert_msg(!*pe && !*pf, "%s: line counts differ", files[2 * s]);
		free(en.data);
		free(fr.data);
	}
	ck_assert_uint_eq(lines, 3600);
	free(seen);
	/* bad flags: exit 2 */
	ck_assert_int_eq(GEN("--train", "5"), 2);
	ck_assert_int_eq(GEN("--out", a, "--train", "-1"), 2);
	ck_assert_int_eq(GEN("--out", a, "--train", "x"), 2);
	ck_assert_int_eq(GEN("--out", a, "--train", "999999", "--valid", "2"), 2);
	ck_assert_int_eq(GEN("--out", a, "--bogus"), 2);
}
END_TEST

int main(void)
{
	gen_bin = getenv("GEN_NUMBERS");
	if (gen_bin && access(gen_bin, X_OK) != 0)
		gen_bin = NULL;
	if (!gen_bin)
		fprintf(stderr, "test_numbers: GEN_NUMBERS is not set (run through meson test): generator test skipped\n");
	if (!make_temp_dir("seqc-test-numbers", root, sizeof root)) {
		perror("test_numbers: cannot make a temporary folder");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("numbers");
	TCase *tc = tcase_create("numbers");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_french);
	tcase_add_test(tc, test_english);
	tcase_add_test(tc, test_limits);
	if (gen_bin)
		tcase_add_test(tc, test_generator);
	suite_add_tcase(s, tc);
	int rc = run_suite(s);
	remove_tree(root);
	return rc;
}
