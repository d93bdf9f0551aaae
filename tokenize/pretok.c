/* GPT-2's pre-tokenizer, the pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * as a hand-written scanner over character classes instead of a regex
 * engine. The alternatives are tried in order at each position, as a
 * backtracking regex does; what each one matches follows from the classes:
 * every character is exactly one of letter, number, space or other. */
#include "tokenize/bpe.h"

#include <utf8proc.h>

#include "tokenize/tok_internal.h"

enum { OTHER, LETTER, NUMBER, SPACE };

/* The class of code point c (c >= 0x80). Python's str.isspace is the
 * categories Zs, Zl, Zp plus the characters of bidirectional class B, S or
 * WS, which beyond ASCII adds only U+0085. */
static int wide_class(uint32_t c)
{
	if (c == 0x85)
		return SPACE;
	switch (utf8proc_category((utf8proc_int32_t)c)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LL:
	case UTF8PROC_CATEGORY_LT:
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		return LETTER;
	case UTF8PROC_CATEGORY_ND:
	case UTF8PROC_CATEGORY_NL:
	case UTF8PROC_CATEGORY_NO:
		return NUMBER;
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		return SPACE;
	default:
		return OTHER;
	}
}

/* The class of the character at s[i] (valid UTF-8, i < n) and its length. */
static inline int class_at(const uint8_t *s, size_t n, size_t i, size_t *k)
{
	uint8_t b = s[i];
	if (b < 0x80) {
		*k = 1;
		if ((uint8_t)((b | 0x20) - 'a') < 26)
			return LETTER;
		if ((uint8_t)(b - '0') < 10)
			return NUMBER;
		/* \t \n \v \f \r, the separators \x1c..\x1f, and space */
		if (b == ' ' || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x1F))
			return SPACE;
		return OTHER;
	}
	uint32_t c = 0;
	int len = seqc_utf8_decode(s + i, n - i, &c);
	/* Callers validate first; a stray bad byte still moves on by one. */
	*k = len > 0 ? (size_t)len : 1;
	return len > 0 ? wide_class(c) : OTHER;
}

/* The length of the contraction 's 't 're 've 'm 'll 'd at s[i] (an
 * apostrophe), or 0. Case matters, as in GPT-2's pattern. */
static size_t contraction(const uint8_t *s, size_t n, size_t i)
{
	if (i + 1 >= n)
		return 0;
	uint8_t a = s[i + 1];
	if (a == 's' || a == 't' || a == 'm' || a == 'd')
		return 2;
	if (i + 2 >= n)
		return 0;
	uint8_t b = s[i + 2];
	if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
		return 3;
	return 0;
}

size_t seqc_bpe_pretok_next(const char *text, size_t len, size_t pos)
{
	const uint8_t *s = (const uint8_t *)text;
	size_t k, i = pos;
	if (pos >= len)
		return len;
	if (s[pos] == '\'') {
		size_t c = contraction(s, len, pos);
		if (c)
			return pos + c;
	}
	int cls = class_at(s, len, i, &k);
	/* " ?X+": a space joins the run of letters, numbers or others after it. */
	if (s[i] == ' ' && i + 1 < len) {
		size_t k2;
		int next = class_at(s, len, i + 1, &k2);
		if (next != SPACE) {
			cls = next;
			i++;
			k = k2;
		}
	}
	size_t j = i + k;
	if (cls != SPACE) {
		while (j < len && class_at(s, len, j, &k) == cls)
			j += k;
		return j;
	}
	/* "\s+(?!\S)": a run of whitespace up to the end of the text, or up to
	 * its last character when something else follows (that character then
	 * starts the next pre-token, as " ?X+" when it is a space); "\s+" a
	 * run of one character followed by something else. */
	size_t last = pos;
	while (j < len && class_at(s, len, j, &k) == SPACE) {
		last = j;
		j += k;
	}
	return j == len || last == pos ? j : last;
}
