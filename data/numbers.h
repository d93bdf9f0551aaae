/* Number words for the synthetic translation task (gen_numbers): English
 * to French, 0 to 999,999.
 *
 * French follows the traditional spelling (before the 1990 reform):
 *   - hyphens only between tens and units below 100 (dix-sept,
 *     quatre-vingt-deux), never around cent and mille (deux cent trois,
 *     trois mille);
 *   - "et" joins un and onze to the tens 20-60 and 70 (vingt et un,
 *     soixante et onze), not to 80 and 90 (quatre-vingt-un,
 *     quatre-vingt-onze), and nothing else (cent un, mille un);
 *   - 70-79 are soixante-dix..., 90-99 quatre-vingt-dix...;
 *   - vingt (in quatre-vingts) and cent take an s when multiplied and
 *     last in the number, not before another number nor before mille
 *     (quatre-vingts, quatre-vingt-un, deux cents, deux cent un,
 *     deux cent mille, quatre-vingt mille);
 *   - mille is invariable and takes no "un" (mille, deux mille, cent un
 *     mille); cent takes no "un" either (cent, cent mille).
 *
 * English: hyphens between tens and units (seventy-one); two optional
 * variations a generator draws per sentence: "and" after hundred and after
 * thousand before a group below 100 (British: "one hundred and four",
 * "two thousand and five"), and a comma after "thousand" when hundreds
 * follow ("one thousand, two hundred").
 * Nothing here is copied from other projects. */
#ifndef SEQC_DATA_NUMBERS_H
#define SEQC_DATA_NUMBERS_H

#include <stddef.h>
#include <stdint.h>

#define NUMBERS_MAX 999999u

enum {
	NUMBERS_EN_AND = 1,   /* "hundred and four", "thousand and five" */
	NUMBERS_EN_COMMA = 2, /* "thousand, two hundred" */
};

/* The French words of n (<= NUMBERS_MAX) into out[0..cap), NUL-terminated.
 * Returns the length, or -1 when n is out of range or out is too small
 * (128 bytes always suffice). */
int numbers_fr(uint32_t n, char *out, size_t cap);

/* The English words of n with the NUMBERS_EN_* flags; as numbers_fr. */
int numbers_en(uint32_t n, unsigned flags, char *out, size_t cap);

#endif
