/* Number words, English and French: see numbers.h for the rules. */
#include "numbers.h"

#include <stdbool.h>
#include <string.h>

/* A bounded string being built; a failed append leaves ok false. */
typedef struct words {
	char *p;
	size_t n, cap;
	bool ok;
} words;

static void add(words *w, const char *s)
{
	size_t k = strlen(s);
	if (!w->ok || w->n + k + 1 > w->cap) {
		w->ok = false;
		return;
	}
	memcpy(w->p + w->n, s, k + 1);
	w->n += k;
}

/* A word after a space (none at the start). */
static void word(words *w, const char *s)
{
	if (w->n)
		add(w, " ");
	add(w, s);
}

static int finish(words *w)
{
	return w->ok ? (int)w->n : -1;
}

/* ---- French ---- */

static const char *const fr_units[20] = {
	"zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf",
	"dix", "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit",
	"dix-neuf",
};
/* tens 2..6; 70-99 are built on soixante and quatre-vingt */
static const char *const fr_tens[7] = {
	NULL, NULL, "vingt", "trente", "quarante", "cinquante", "soixante",
};

/* 1 <= n <= 99. final: nothing follows in the number (quatre-vingts). */
static void fr_below100(words *w, unsigned n, bool final)
{
	if (n < 20) {
		word(w, fr_units[n]);
		return;
	}
	unsigned t = n / 10, u = n % 10;
	if (t <= 6) {
		word(w, fr_tens[t]);
		if (u == 1) {
			add(w, " et un");
		} else if (u) {
			add(w, "-");
			add(w, fr_units[u]);
		}
		return;
	}
	/* 70-79: soixante + 10..19; 80-99: quatre-vingt + 0..19 */
	unsigned rest = t == 7 ? n - 60 : n - 80;
	word(w, t == 7 ? "soixante" : "quatre-vingt");
	if (t == 7 && rest == 11) {
		add(w, " et onze");
	} else if (rest) {
		add(w, "-");
		add(w, fr_units[rest]);
	} else if (final) {
		add(w, "s"); /* quatre-vingts, last in the number */
	}
}

/* 1 <= n <= 999, as above. */
static void fr_below1000(words *w, unsigned n, bool final)
{
	unsigned h = n / 100, r = n % 100;
	if (h) {
		if (h > 1)
			word(w, fr_units[h]);
		word(w, "cent");
		if (h > 1 && r == 0 && final)
			add(w, "s"); /* deux cents, not deux cent un nor deux cent mille */
	}
	if (r)
		fr_below100(w, r, final);
}

int numbers_fr(uint32_t n, char *out, size_t cap)
{
	words w = { out, 0, cap, cap > 0 && n <= NUMBERS_MAX };
	if (w.ok)
		out[0] = '\0';
	if (n == 0) {
		word(&w, fr_units[0]);
		return finish(&w);
	}
	unsigned th = n / 1000, r = n % 1000;
	if (th) {
		if (th > 1)
			fr_below1000(&w, th, false); /* before mille: no s */
		word(&w, "mille");
	}
	if (r)
		fr_below1000(&w, r, true);
	return finish(&w);
}

/* ---- English ---- */

static const char *const en_units[20] = {
	"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
	"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
	"eighteen", "nineteen",
};
static const char *const en_tens[10] = {
	NULL, NULL, "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
};

/* 1 <= n <= 99 */
static void en_below100(words *w, unsigned n)
{
	if (n < 20) {
		word(w, en_units[n]);
		return;
	}
	word(w, en_tens[n / 10]);
	if (n % 10) {
		add(w, "-");
		add(w, en_units[n % 10]);
	}
}

/* 1 <= n <= 999 */
static void en_below1000(words *w, unsigned n, unsigned flags)
{
	unsigned h = n / 100, r = n % 100;
	if (h) {
		word(w, en_units[h]);
		word(w, "hundred");
		if (r && (flags & NUMBERS_EN_AND))
			word(w, "and");
	}
	if (r)
		en_below100(w, r);
}

int numbers_en(uint32_t n, unsigned flags, char *out, size_t cap)
{
	words w = { out, 0, cap, cap > 0 && n <= NUMBERS_MAX };
	if (w.ok)
		out[0] = '\0';
	if (n == 0) {
		word(&w, en_units[0]);
		return finish(&w);
	}
	unsigned th = n / 1000, r = n % 1000;
	if (th) {
		en_below1000(&w, th, flags);
		word(&w, "thousand");
		if (r >= 100 && (flags & NUMBERS_EN_COMMA)) /* not "thousand, five" */
			add(&w, ",");
		if (r && r < 100 && (flags & NUMBERS_EN_AND))
			word(&w, "and");
	}
	if (r)
		en_below1000(&w, r, flags);
	return finish(&w);
}
