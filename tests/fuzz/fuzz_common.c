/* Helpers of fuzz.h, linked into every harness. */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tokenize/tok_internal.h"

/* A copy of stderr made before libFuzzer's main closes it. */
static int report_fd = 2;

__attribute__((constructor)) static void keep_stderr(void)
{
	int fd = dup(2);
	if (fd >= 0)
		report_fd = fd;
}

void fuzz_fail(const char *file, int line, const char *cond)
{
	dprintf(report_fd, "%s:%d: fuzz check failed: %s (last error: %s)\n", file, line, cond,
		seqc_errmsg());
	abort();
}

void fuzz_check_failed(void)
{
	FUZZ_CHECK(seqc_errcode() < 0);
	FUZZ_CHECK(seqc_errmsg()[0] != '\0');
}

char *fuzz_strdup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	FUZZ_CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

const char *fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("fuzz-input", 0);
		FUZZ_CHECK(fd >= 0);
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
	return path;
}

/* Text that reaches every path of an encoder: ASCII, accents composed and
 * not, a fullwidth letter, a ZWJ family, CRLF, a NUL, invalid bytes. */
static const char sample[] = "Hello, world! The  cat's 3 caf\xc3\xa9s cafe\xcc\x81 \xef\xbc\xa1 "
			     "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7"
			     "\r\n\ttab <|endoftext|> \xe2\x96\x81x \0nul \xff\xc3(";

static void check_valid_utf8(const char *s, size_t n)
{
	FUZZ_CHECK(seqc_utf8_first_invalid((const uint8_t *)s, n) == n);
}

/* Decodes ids one at a time through a seqc_detok and checks that what it
 * writes is valid UTF-8 and that a stream ends cleanly. */
static void stream(const seqc_tok *t, const int32_t *ids, size_t n, bool show)
{
	static char out[SEQC_DETOK_MAX];
	seqc_detok *d = seqc_detok_create(t);
	FUZZ_CHECK(d);
	seqc_detok_show_special(d, show);
	for (size_t i = 0; i < n; i++) {
		int k = seqc_detok_push(d, ids[i], out, sizeof out);
		FUZZ_CHECK(k >= 0 && (size_t)k <= sizeof out);
		check_valid_utf8(out, (size_t)k);
	}
	int k = seqc_detok_flush(d, out, sizeof out);
	FUZZ_CHECK(k == 0 || k == 3);
	FUZZ_CHECK(seqc_detok_push(d, (int32_t)seqc_tok_vocab_size(t), out, sizeof out) ==
		   SEQC_ERANGE);
	seqc_detok_destroy(d);
}

static void encode_decode(const seqc_tok *t, const char *text, size_t len)
{
	size_t V = seqc_tok_vocab_size(t), n;
	int32_t *ids;
	if (seqc_tok_encode(t, text, len, &ids, &n) < 0) {
		fuzz_check_failed();
		return;
	}
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(ids[i] >= 0 && (size_t)ids[i] < V);
	char *back;
	size_t blen;
	FUZZ_CHECK(seqc_tok_decode(t, ids, n, &back, &blen) == 0);
	check_valid_utf8(back, blen);
	free(back);
	stream(t, ids, n, false);
	stream(t, ids, n, true);
	free(ids);
}

/* Every piece (the first ones of a large vocabulary) looks up to an id of
 * the same bytes. */
static void pieces(const seqc_tok *t)
{
	size_t V = seqc_tok_vocab_size(t);
	for (size_t i = 0; i < V && i < 4096; i++) {
		size_t len;
		const char *p = seqc_tok_piece(t, (int32_t)i, &len);
		FUZZ_CHECK(p && len <= SEQC_TOK_MAX_PIECE);
		int32_t j = seqc_tok_id(t, p, len);
		FUZZ_CHECK(j >= 0 && (size_t)j < V);
		size_t jlen;
		const char *q = seqc_tok_piece(t, j, &jlen);
		FUZZ_CHECK(jlen == len && !memcmp(p, q, len));
	}
	FUZZ_CHECK(!seqc_tok_piece(t, (int32_t)V, NULL) && !seqc_tok_piece(t, -1, NULL));
}

/* to_json, from_json, to_json: the same string and vocabulary. */
static void round_trip(const seqc_tok *t)
{
	char *j1 = seqc_tok_to_json(t);
	FUZZ_CHECK(j1);
	seqc_tok *u = seqc_tok_from_json(j1, strlen(j1));
	FUZZ_CHECK(u);
	FUZZ_CHECK(seqc_tok_vocab_size(u) == seqc_tok_vocab_size(t));
	FUZZ_CHECK(!strcmp(seqc_tok_kind(u), seqc_tok_kind(t)));
	char *j2 = seqc_tok_to_json(u);
	FUZZ_CHECK(j2 && !strcmp(j1, j2));
	free(j1);
	free(j2);
	seqc_tok_destroy(u);
}

void fuzz_tokenizer(const seqc_tok *t)
{
	size_t V = seqc_tok_vocab_size(t);
	FUZZ_CHECK(V >= 1 && V <= SEQC_TOK_MAX_VOCAB);
	int32_t special[4] = { seqc_tok_bos(t), seqc_tok_eos(t), seqc_tok_pad(t), seqc_tok_unk(t) };
	for (int i = 0; i < 4; i++)
		FUZZ_CHECK(special[i] >= -1 && special[i] < (int32_t)V);
	encode_decode(t, sample, sizeof sample - 1);
	encode_decode(t, "", 0);
	pieces(t);
	/* every id in order through both decoders (byte pieces that never form
	 * UTF-8, specials, SentencePiece's word marks) */
	size_t n = V < 4096 ? V : 4096;
	int32_t *ids = malloc(n * sizeof *ids);
	FUZZ_CHECK(ids);
	for (size_t i = 0; i < n; i++)
		ids[i] = (int32_t)i;
	char *text;
	size_t len;
	FUZZ_CHECK(seqc_tok_decode(t, ids, n, &text, &len) == 0);
	check_valid_utf8(text, len);
	free(text);
	stream(t, ids, n, true);
	free(ids);
	round_trip(t);
}
