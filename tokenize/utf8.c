#include "tokenize/tok_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Lead byte -> sequence length and the range of the second byte (the only
 * byte whose range varies: it excludes overlong forms, surrogates and code
 * points above U+10FFFF). Returns 0 for a byte that cannot start a
 * sequence (a continuation byte, C0, C1, F5..FF). */
static int lead_info(uint8_t b, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		return 2;
	if (b >= 0xE0 && b <= 0xEF) {
		if (b == 0xE0)
			*lo = 0xA0;
		else if (b == 0xED)
			*hi = 0x9F;
		return 3;
	}
	if (b >= 0xF0 && b <= 0xF4) {
		if (b == 0xF0)
			*lo = 0x90;
		else if (b == 0xF4)
			*hi = 0x8F;
		return 4;
	}
	return 0;
}

int seqc_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp)
{
	uint8_t lo, hi;
	int need = lead_info(s[0], &lo, &hi);
	if (need == 0)
		return -1;
	if (need == 1) {
		*cp = s[0];
		return 1;
	}
	/* The payload bits of the lead byte: 5, 4 or 3 of them. */
	uint32_t c = s[0] & (0x7Fu >> need);
	for (int i = 1; i < need; i++) {
		if ((size_t)i >= n || s[i] < lo || s[i] > hi)
			return -i;
		c = (c << 6) | (s[i] & 0x3Fu);
		lo = 0x80;
		hi = 0xBF;
	}
	*cp = c;
	return need;
}

bool seqc_utf8_incomplete(const uint8_t *s, size_t n)
{
	uint8_t lo, hi;
	uint32_t cp;
	if (n == 0 || n > 3)
		return false;
	int need = lead_info(s[0], &lo, &hi);
	/* Decoding stops at the end of input exactly when every byte so far
	 * was right and more were needed. */
	return need > (int)n && seqc_utf8_decode(s, n, &cp) == -(int)n;
}

size_t seqc_utf8_first_invalid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	uint32_t cp;
	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		int k = seqc_utf8_decode(s + i, n - i, &cp);
		if (k < 0)
			return i;
		i += (size_t)k;
	}
	return n;
}

int seqc_utf8_error(const char *what, const uint8_t *s, size_t n, size_t bad, size_t base)
{
	uint8_t lo, hi;
	uint32_t cp;
	int need = lead_info(s[bad], &lo, &hi);
	int k = -seqc_utf8_decode(s + bad, n - bad, &cp);
	size_t at = base + bad;
	if (need == 0) {
		const char *why = s[bad] < 0xC0 ? "continuation byte without a lead byte"
			: s[bad] < 0xC2 ? "overlong encoding" : "byte never used in UTF-8";
		return seqc_error(SEQC_EUTF8, "%s: invalid UTF-8 at byte %zu (0x%02x): %s", what, at,
				  s[bad], why);
	}
	if (bad + (size_t)k >= n)
		return seqc_error(SEQC_EUTF8,
				  "%s: invalid UTF-8 at byte %zu (0x%02x): sequence of %d bytes "
				  "truncated by the end of input", what, at, s[bad], need);
	return seqc_error(SEQC_EUTF8,
			  "%s: invalid UTF-8 at byte %zu (0x%02x): byte %zu (0x%02x) cannot follow "
			  "(overlong, surrogate, above U+10FFFF or missing continuation)",
			  what, at, s[bad], at + (size_t)k, s[bad + (size_t)k]);
}

static const uint8_t replacement[3] = {0xEF, 0xBF, 0xBD}; /* U+FFFD */

size_t seqc_utf8_replace(const uint8_t *s, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0;
	uint32_t cp;
	while (i < n) {
		int k = seqc_utf8_decode(s + i, n - i, &cp);
		if (k > 0) {
			memcpy(out + o, s + i, (size_t)k);
			o += (size_t)k;
			i += (size_t)k;
		} else {
			memcpy(out + o, replacement, 3);
			o += 3;
			i += (size_t)-k;
		}
	}
	return o;
}

size_t seqc_utf8_complete(const uint8_t *s, size_t n, uint8_t *out, size_t *held)
{
	size_t i = 0, o = 0;
	uint32_t cp;
	*held = 0;
	while (i < n) {
		int k = seqc_utf8_decode(s + i, n - i, &cp);
		if (k > 0) {
			memcpy(out + o, s + i, (size_t)k);
			o += (size_t)k;
			i += (size_t)k;
			continue;
		}
		if (seqc_utf8_incomplete(s + i, n - i)) {
			*held = n - i;
			break;
		}
		memcpy(out + o, replacement, 3);
		o += 3;
		i += (size_t)-k;
	}
	return o;
}

char *seqc_utf8_sanitize(const char *text, size_t len, size_t *out_len)
{
	/* each byte becomes at most one 3-byte U+FFFD */
	char *out = len <= (SIZE_MAX - 1) / 3 ? malloc(3 * len + 1) : NULL;
	if (!out) {
		seqc_error(SEQC_ENOMEM, "text of %zu bytes: cannot allocate its copy", len);
		return NULL;
	}
	*out_len = seqc_utf8_replace((const uint8_t *)text, len, (uint8_t *)out);
	out[*out_len] = '\0';
	return out;
}
