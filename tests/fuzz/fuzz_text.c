/* Corpus text: UTF-8 validation and replacement (seqc_utf8_sanitize), the
 * character tokenizer's normalization and unit splitting (code points and
 * grapheme clusters, NFC and NFKC, chunked), and GPT-2's pre-tokenizer.
 * The first byte picks the options, the rest is the text. Oracle: without a
 * vocabulary cap, decoding the encoding of a text gives back the text as
 * utf8proc normalizes it whole. */
#include <string.h>
#include <utf8proc.h>

#include "fuzz.h"
#include "tokenize/tok_internal.h"

static bool valid(const char *s, size_t n)
{
	return seqc_utf8_first_invalid((const uint8_t *)s, n) == n;
}

/* text with invalid UTF-8 replaced, then normalized as a whole. */
static char *expected(const char *text, size_t len, seqc_norm norm, size_t *out_len)
{
	size_t clean_len;
	char *clean = seqc_utf8_sanitize(text, len, &clean_len);
	FUZZ_CHECK(clean);
	if (norm == SEQC_NORM_NONE) {
		*out_len = clean_len;
		return clean;
	}
	utf8proc_uint8_t *dst = NULL;
	int flags = UTF8PROC_STABLE | UTF8PROC_COMPOSE | (norm == SEQC_NORM_NFKC ? UTF8PROC_COMPAT : 0);
	utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)clean, (utf8proc_ssize_t)clean_len,
					  &dst, (utf8proc_option_t)flags);
	free(clean);
	FUZZ_CHECK(r >= 0);
	*out_len = (size_t)r;
	return (char *)dst;
}

static void sanitize(const char *text, size_t len)
{
	size_t n;
	char *s = seqc_utf8_sanitize(text, len, &n);
	FUZZ_CHECK(s && valid(s, n) && s[n] == '\0');
	if (valid(text, len))
		FUZZ_CHECK(n == len && !memcmp(s, text, len));
	free(s);
}

static void pretokens(const char *text, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		size_t next = seqc_bpe_pretok_next(text, len, pos);
		FUZZ_CHECK(next > pos && next <= len);
		pos = next;
	}
}

static void char_tokenizer(const char *text, size_t len, const seqc_char_opts *o)
{
	seqc_tok *t = seqc_tok_char_build(text, len, o);
	if (!t) {
		fuzz_check_failed();
		FUZZ_CHECK(len == 0 || (!o->replace_invalid && !valid(text, len)) ||
			   (o->max_vocab && o->max_vocab < 5));
		return;
	}
	int32_t *ids;
	size_t n;
	FUZZ_CHECK(seqc_tok_encode(t, text, len, &ids, &n) == 0);
	char *back;
	size_t blen;
	FUZZ_CHECK(seqc_tok_decode(t, ids, n, &back, &blen) == 0);
	FUZZ_CHECK(valid(back, blen));
	if (!o->max_vocab) {
		size_t want_len;
		char *want = expected(text, len, o->norm, &want_len);
		FUZZ_CHECK(blen == want_len && !memcmp(back, want, blen));
		free(want);
	}
	free(back);
	free(ids);
	fuzz_tokenizer(t);
	seqc_tok_destroy(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t opt = data[0];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	seqc_char_opts o = seqc_char_defaults();
	o.norm = (seqc_norm)(opt & 3) == 3 ? SEQC_NORM_NFC : (seqc_norm)(opt & 3);
	o.graphemes = opt & 4;
	o.replace_invalid = opt & 8;
	o.max_vocab = opt >> 4 ? 4 + (opt >> 4) : 0;
	sanitize(text, len);
	pretokens(text, len);
	char_tokenizer(text, len, &o);
	return 0;
}
