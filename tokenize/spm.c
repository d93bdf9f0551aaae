#include "tokenize/spm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tokenize/spm_shim.h"
#include "tokenize/tok_internal.h"

/* A corpus file larger than this is refused before reading: SentencePiece
 * keeps every sentence in memory while it trains. */
#define MAX_CORPUS_BYTES ((size_t)1 << 32)

/* The longest text one encoding call takes: SentencePiece keeps offsets
 * into the normalized text, which NFKC can make a few times longer than
 * the input, in 32-bit ints. */
#define MAX_TEXT_BYTES ((size_t)INT32_MAX / 4)

/* U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's word-boundary mark. */
static const char space_mark[] = "\xe2\x96\x81";
#define SPACE_MARK_LEN 3

typedef struct spm_tok {
	seqc_tok base;
	seqc_spm *sp;
	/* What each id adds to decoded text (see decode_bytes): id i is
	 * dec[dec_off[i] .. dec_off[i + 1]). */
	char *dec;
	size_t *dec_off;
} spm_tok;

static const seqc_tok_vtable spm_vtable;

static const spm_tok *as_spm(const seqc_tok *t, const char *what)
{
	if (!t || t->vt != &spm_vtable)
		return seqc_error(SEQC_EINVAL, "%s: the tokenizer is %s, not spm", what,
				  t ? t->vt->kind : "NULL"), NULL;
	return (const spm_tok *)t;
}

bool seqc_tok_is_spm(const seqc_tok *t)
{
	return t && t->vt == &spm_vtable;
}

static void spm_destroy(seqc_tok *base)
{
	spm_tok *t = (spm_tok *)base;
	seqc_spm_shim_free(t->sp);
	free(t->dec);
	free(t->dec_off);
	free(t);
}

/* ---- building the decode table ---- */

/* The byte of a byte-fallback piece "<0xNN>"; -1 when p is not one. */
static int byte_piece_value(const char *p, size_t len)
{
	if (len != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>')
		return -1;
	int v = 0;
	for (int i = 3; i < 5; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = 16 * v + d;
	}
	return v;
}

/* Writes to out (room for len bytes) what id adds to decoded text, as
 * SentencePiece's decoder does in the middle of a text: the word mark
 * becomes a space, a byte piece its byte, a control piece nothing. The unk
 * piece is a special id, which the decoder hides or shows by its piece. */
static size_t decode_bytes(const seqc_spm *sp, int32_t id, const char *p, size_t len, char *out)
{
	switch (seqc_spm_shim_piece_type(sp, id)) {
	case SEQC_SPM_PIECE_CONTROL:
		return 0;
	case SEQC_SPM_PIECE_BYTE: {
		int b = byte_piece_value(p, len);
		if (b >= 0) {
			out[0] = (char)b;
			return 1;
		}
		break;
	}
	default:
		break;
	}
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		if (len - i >= SPACE_MARK_LEN && memcmp(p + i, space_mark, SPACE_MARK_LEN) == 0) {
			out[o++] = ' ';
			i += SPACE_MARK_LEN;
		} else {
			out[o++] = p[i++];
		}
	}
	return o;
}

/* Checks every piece, fills the decode table and whole_pieces. */
static int build_decode_table(spm_tok *t, const char *what)
{
	size_t n = t->base.vocab_size, total = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *p = seqc_spm_shim_id_to_piece(t->sp, (int32_t)i, &len);
		if (len > SEQC_TOK_MAX_PIECE)
			return seqc_error(SEQC_EUNSUPPORTED, "%s: piece %zu has %zu bytes, more than "
					  "the %d a seqc tokenizer carries", what, i, len,
					  SEQC_TOK_MAX_PIECE);
		if (seqc_utf8_first_invalid((const uint8_t *)p, len) < len)
			return seqc_error(SEQC_EFORMAT, "%s: piece %zu is not valid UTF-8", what, i);
		/* SentencePiece indexes pieces as C strings: one with a NUL byte
		 * could never be looked up (found by fuzzing) */
		if (memchr(p, '\0', len))
			return seqc_error(SEQC_EFORMAT, "%s: piece %zu contains a NUL byte", what, i);
		total += len;
	}
	t->dec = malloc(total ? total : 1);
	t->dec_off = malloc((n + 1) * sizeof *t->dec_off);
	if (!t->dec || !t->dec_off)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate the decode table of %zu pieces",
				  what, n);
	/* Pieces decode to valid UTF-8 unless a byte piece is among them. */
	t->base.whole_pieces = true;
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *p = seqc_spm_shim_id_to_piece(t->sp, (int32_t)i, &len);
		t->dec_off[i] = at;
		at += decode_bytes(t->sp, (int32_t)i, p, len, t->dec + at);
		if (seqc_spm_shim_piece_type(t->sp, (int32_t)i) == SEQC_SPM_PIECE_BYTE)
			t->base.whole_pieces = false;
	}
	t->dec_off[n] = at;
	return 0;
}

/* Whether SentencePiece drops the space of a word-boundary mark on the
 * first piece of a text (it does with the default add_dummy_prefix): asked
 * of the library itself on the first piece that starts with the mark. */
static bool strips_first_space(const spm_tok *t)
{
	for (size_t i = 0; i < t->base.vocab_size; i++) {
		if (t->dec[t->dec_off[i]] != ' ' || t->dec_off[i + 1] == t->dec_off[i])
			continue;
		int32_t id = (int32_t)i;
		char *text;
		size_t len;
		if (seqc_spm_shim_decode_ids(t->sp, &id, 1, &text, &len) < 0)
			return false;
		bool strips = !len || text[0] != ' ';
		free(text);
		return strips;
	}
	return false;
}

/* The tokenizer around a loaded model, which it takes over (freed on
 * failure too). */
static seqc_tok *spm_create(seqc_spm *sp, const char *what)
{
	if (!sp)
		return NULL;
	size_t n = seqc_spm_shim_vocab_size(sp);
	if (n > SEQC_TOK_MAX_VOCAB) {
		seqc_spm_shim_free(sp);
		return seqc_error(SEQC_EUNSUPPORTED, "%s: %zu pieces, more than the limit of %zu", what,
				  n, SEQC_TOK_MAX_VOCAB), NULL;
	}
	spm_tok *t = calloc(1, sizeof *t);
	if (!t) {
		seqc_spm_shim_free(sp);
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate the tokenizer", what), NULL;
	}
	t->base.vt = &spm_vtable;
	t->base.vocab_size = n;
	t->sp = sp;
	seqc_spm_shim_specials(sp, &t->base.bos, &t->base.eos, &t->base.pad, &t->base.unk);
	if (build_decode_table(t, what) < 0) {
		spm_destroy(&t->base);
		return NULL;
	}
	t->base.strip_first_space = strips_first_space(t);
	return &t->base;
}

seqc_tok *seqc_spm_load(const char *path)
{
	if (!path)
		return seqc_error(SEQC_EINVAL, "spm model: the path is NULL"), NULL;
	return spm_create(seqc_spm_shim_load_file(path), path);
}

seqc_tok *seqc_spm_load_mem(const void *data, size_t len)
{
	static const char *what = "spm model bytes";
	if (!data && len)
		return seqc_error(SEQC_EINVAL, "%s: data is NULL but len is %zu", what, len), NULL;
	return spm_create(seqc_spm_shim_load_bytes(data, len, what), what);
}

/* ---- the vtable ---- */

/* SEQC_EUTF8 naming the first bad byte of text, or 0 when it is valid. */
static int check_utf8(const char *what, const char *text, size_t len)
{
	size_t bad = seqc_utf8_first_invalid((const uint8_t *)text, len);
	return bad < len ? seqc_utf8_error(what, (const uint8_t *)text, len, bad, 0) : 0;
}

/* The checks every text-taking call shares; 0 when they pass. */
static int check_text(const char *what, const char *text, size_t len)
{
	if (!text && len)
		return seqc_error(SEQC_EINVAL, "%s: text is NULL but len is %zu", what, len);
	if (len > MAX_TEXT_BYTES)
		return seqc_error(SEQC_ENOMEM, "%s: %zu bytes of text, more than the %zu SentencePiece "
				  "takes in one call; encode it in parts (lines)", what, len,
				  MAX_TEXT_BYTES);
	return check_utf8(what, text, len);
}

static int spm_encode(const seqc_tok *base, const uint8_t *text, size_t len, seqc_idvec *out)
{
	int rc = check_text("encode", (const char *)text, len);
	if (rc < 0 || len == 0)
		return rc;
	return seqc_spm_shim_encode_ids(((const spm_tok *)base)->sp, (const char *)text, len, out);
}

static const char *spm_piece(const seqc_tok *base, int32_t id, size_t *len)
{
	return seqc_spm_shim_id_to_piece(((const spm_tok *)base)->sp, id, len);
}

static const char *spm_decode_piece(const seqc_tok *base, int32_t id, size_t *len)
{
	const spm_tok *t = (const spm_tok *)base;
	*len = t->dec_off[id + 1] - t->dec_off[id];
	return t->dec + t->dec_off[id];
}

static int32_t spm_lookup(const seqc_tok *base, const char *piece, size_t len)
{
	return seqc_spm_shim_piece_to_id(((const spm_tok *)base)->sp, piece, len);
}

/* ---- base64 (RFC 4648, standard alphabet, padded) ---- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* data[0..len) in base64, a new NUL-terminated string; NULL (SEQC_ENOMEM). */
static char *base64_encode(const uint8_t *data, size_t len)
{
	if (len / 3 >= SIZE_MAX / 4 - 1)
		return seqc_error(SEQC_ENOMEM, "base64: %zu bytes is too many", len), NULL;
	size_t olen = (len + 2) / 3 * 4;
	char *out = malloc(olen + 1), *o = out;
	if (!out)
		return seqc_error(SEQC_ENOMEM, "base64: cannot allocate %zu bytes", olen + 1), NULL;
	for (size_t i = 0; i < len; i += 3) {
		size_t k = len - i < 3 ? len - i : 3;
		uint32_t v = (uint32_t)data[i] << 16;
		if (k > 1)
			v |= (uint32_t)data[i + 1] << 8;
		if (k > 2)
			v |= data[i + 2];
		*o++ = b64_alphabet[v >> 18];
		*o++ = b64_alphabet[(v >> 12) & 63];
		*o++ = k > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		*o++ = k > 2 ? b64_alphabet[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* The value of a base64 character, -1 for any other. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes s[0..n) into a new buffer *out of *olen bytes. Strict: n a
 * multiple of 4, only alphabet characters, '=' only as the last one or two,
 * and the spare bits before padding zero (so each byte string has exactly
 * one encoding). SEQC_EFORMAT naming what and the offset. */
static int base64_decode(const char *s, size_t n, uint8_t **out, size_t *olen, const char *what)
{
	*out = NULL;
	*olen = 0;
	if (n % 4)
		return seqc_error(SEQC_EFORMAT, "%s: base64 of %zu characters, not a multiple of 4 "
				  "(truncated?)", what, n);
	size_t pad = n >= 4 ? (s[n - 1] == '=') + (s[n - 2] == '=') : 0;
	uint8_t *buf = malloc(n / 4 * 3 + 1), *o = buf;
	if (!buf)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu bytes", what, n / 4 * 3 + 1);
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		size_t data_chars = i + 4 == n ? 4 - pad : 4;
		for (size_t k = 0; k < 4; k++) {
			int d = k < data_chars ? b64_value((unsigned char)s[i + k]) : 0;
			if (d < 0 || (k >= data_chars && s[i + k] != '=')) {
				unsigned char c = (unsigned char)s[i + k];
				free(buf);
				if (c == '=')
					return seqc_error(SEQC_EFORMAT, "%s: base64 padding '=' at offset "
							  "%zu, before the end", what, i + k);
				return seqc_error(SEQC_EFORMAT, "%s: base64 has character 0x%02x at "
						  "offset %zu, outside A-Z a-z 0-9 + /", what, c, i + k);
			}
			v = v << 6 | (uint32_t)d;
		}
		size_t bytes = data_chars - 1;
		/* The bits of the last data character that no byte uses. */
		uint32_t spare = bytes == 3 ? 0 : bytes == 2 ? (v >> 6) & 3 : (v >> 12) & 15;
		if (spare)
			return free(buf), seqc_error(SEQC_EFORMAT, "%s: base64 character at offset %zu "
						     "has nonzero bits past the data", what,
						     i + data_chars - 1);
		uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
		memcpy(o, b, bytes);
		o += bytes;
	}
	*out = buf;
	*olen = (size_t)(o - buf);
	return 0;
}

/* ---- JSON ---- */

static json_t *spm_to_json(const seqc_tok *base)
{
	const spm_tok *t = (const spm_tok *)base;
	char *model, *b64 = NULL;
	size_t len;
	if (seqc_spm_shim_model_bytes(t->sp, &model, &len) < 0)
		return NULL;
	b64 = base64_encode((const uint8_t *)model, len);
	free(model);
	if (!b64)
		return NULL;
	json_t *o = json_object();
	int bad = !o;
	bad |= json_object_set_new(o, "kind", json_string("spm"));
	bad |= json_object_set_new(o, "version", json_integer(1));
	bad |= json_object_set_new(o, "model", json_string(b64));
	free(b64);
	if (bad) {
		json_decref(o);
		return seqc_error(SEQC_ENOMEM, "spm tokenizer: cannot build its JSON"), NULL;
	}
	return o;
}

seqc_tok *seqc_tok_spm_from_json(const json_t *obj, const char *what)
{
	const json_t *v = json_object_get(obj, "version");
	if (v && !(json_is_integer(v) && json_integer_value(v) == 1))
		return seqc_error(SEQC_EUNSUPPORTED, "%s: key \"version\" must be 1, the only spm "
				  "format this build reads", what), NULL;
	v = json_object_get(obj, "model");
	if (!v)
		return seqc_error(SEQC_EFORMAT, "%s: key \"model\" is missing", what), NULL;
	if (!json_is_string(v))
		return seqc_error(SEQC_EFORMAT, "%s: key \"model\" must be a base64 string", what),
		       NULL;
	char label[256];
	snprintf(label, sizeof label, "%s: key \"model\"", what);
	uint8_t *bytes;
	size_t len;
	if (base64_decode(json_string_value(v), json_string_length(v), &bytes, &len, label) < 0)
		return NULL;
	seqc_tok *t = spm_create(seqc_spm_shim_load_bytes(bytes, len, label), label);
	free(bytes);
	return t;
}

/* ---- sampling, n-best, exact decoding ---- */

int seqc_spm_encode_sample(const seqc_tok *base, const char *text, size_t len, int nbest,
			   float alpha, uint64_t seed, int32_t **ids, size_t *n)
{
	static const char *what = "spm sample";
	if (!ids || !n)
		return seqc_error(SEQC_EINVAL, "%s: ids and n must not be NULL", what);
	*ids = NULL;
	*n = 0;
	const spm_tok *t = as_spm(base, what);
	if (!t)
		return SEQC_EINVAL;
	if (nbest == 0)
		return seqc_error(SEQC_EINVAL, "%s: nbest is 0 (give > 1 for the n best, < 0 for "
				  "the whole lattice)", what);
	if (!isfinite(alpha) || alpha < 0)
		return seqc_error(SEQC_EINVAL, "%s: alpha is %g, not a finite value >= 0", what,
				  (double)alpha);
	int rc = check_text(what, text, len);
	if (rc < 0)
		return rc;
	seqc_idvec v = {0};
	if (len && (rc = seqc_spm_shim_sample_ids(t->sp, text, len, nbest, alpha, seed, &v)) < 0) {
		free(v.data);
		return rc;
	}
	if (!v.data && (rc = seqc_idvec_grow(&v)) < 0)
		return rc;
	*ids = v.data;
	*n = v.len;
	return 0;
}

int seqc_spm_encode_nbest(const seqc_tok *base, const char *text, size_t len, int n,
			  seqc_spm_nbest *out)
{
	static const char *what = "spm nbest";
	if (!out)
		return seqc_error(SEQC_EINVAL, "%s: out must not be NULL", what);
	*out = (seqc_spm_nbest){0};
	const spm_tok *t = as_spm(base, what);
	if (!t)
		return SEQC_EINVAL;
	int rc = check_text(what, text, len);
	if (rc < 0)
		return rc;
	return seqc_spm_shim_nbest(t->sp, text ? text : "", len, n, out);
}

void seqc_spm_nbest_finish(seqc_spm_nbest *nb)
{
	if (!nb)
		return;
	free(nb->ids);
	free(nb->start);
	free(nb->score);
	*nb = (seqc_spm_nbest){0};
}

int seqc_spm_decode(const seqc_tok *base, const int32_t *ids, size_t n, char **text, size_t *len)
{
	if (!text)
		return seqc_error(SEQC_EINVAL, "spm decode: text must not be NULL");
	*text = NULL;
	if (len)
		*len = 0;
	const spm_tok *t = as_spm(base, "spm decode");
	if (!t)
		return SEQC_EINVAL;
	if (!ids && n)
		return seqc_error(SEQC_EINVAL, "spm decode: ids is NULL but n is %zu", n);
	return seqc_spm_shim_decode_ids(t->sp, ids, n, text, len);
}

int seqc_spm_model_bytes(const seqc_tok *base, char **data, size_t *len)
{
	if (!data || !len)
		return seqc_error(SEQC_EINVAL, "spm model bytes: data and len must not be NULL");
	*data = NULL;
	*len = 0;
	const spm_tok *t = as_spm(base, "spm model bytes");
	return t ? seqc_spm_shim_model_bytes(t->sp, data, len) : SEQC_EINVAL;
}

int seqc_spm_save(const seqc_tok *t, const char *path)
{
	char *data;
	size_t len;
	if (!path)
		return seqc_error(SEQC_EINVAL, "spm save: the path is NULL");
	int rc = seqc_spm_model_bytes(t, &data, &len);
	if (rc < 0)
		return rc;
	rc = seqc_write_file_atomic(path, data, len);
	free(data);
	return rc;
}

/* ---- training ---- */

static const char *const type_names[] = {"unigram", "bpe"};

const char *seqc_spm_type_name(seqc_spm_type type)
{
	return (unsigned)type < sizeof type_names / sizeof type_names[0] ? type_names[type] : NULL;
}

int seqc_spm_type_from_name(const char *name, seqc_spm_type *type)
{
	for (unsigned i = 0; name && i < sizeof type_names / sizeof type_names[0]; i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*type = (seqc_spm_type)i;
			return 0;
		}
	}
	return seqc_error(SEQC_EINVAL, "spm model type \"%s\" is not unigram or bpe",
			  name ? name : "(null)");
}

seqc_spm_train_opts seqc_spm_train_defaults(void)
{
	return (seqc_spm_train_opts){.type = SEQC_SPM_UNIGRAM, .vocab_size = 8000, .extra = NULL,
				     .verbose = false};
}

seqc_tok *seqc_spm_train(const char *text, size_t len, const seqc_spm_train_opts *opts)
{
	static const char *what = "spm training";
	seqc_spm_train_opts o = opts ? *opts : seqc_spm_train_defaults();
	const char *type = seqc_spm_type_name(o.type);
	if (!type)
		return seqc_error(SEQC_EINVAL, "%s: model type %d is not a seqc_spm_type", what,
				  (int)o.type), NULL;
	if (o.vocab_size < 2)
		return seqc_error(SEQC_EINVAL, "%s: vocab_size %zu is too small", what,
				  o.vocab_size), NULL;
	if (!text || len == 0)
		return seqc_error(SEQC_EINVAL, "%s: empty corpus", what), NULL;
	if (check_utf8("spm training corpus", text, len) < 0)
		return NULL;
	char *model;
	size_t mlen;
	if (seqc_spm_shim_train(text, len, type, o.vocab_size, o.extra, o.verbose, &model,
				&mlen) < 0)
		return NULL;
	seqc_tok *t = spm_create(seqc_spm_shim_load_bytes(model, mlen, what), what);
	free(model);
	return t;
}

seqc_tok *seqc_spm_train_file(const char *path, const seqc_spm_train_opts *opts)
{
	if (!path)
		return seqc_error(SEQC_EINVAL, "spm training: the corpus path is NULL"), NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return seqc_error(SEQC_EIO, "%s: cannot open: %s", path, strerror(errno)), NULL;
	struct stat st;
	char *text = NULL;
	seqc_tok *t = NULL;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		seqc_error(SEQC_EIO, "%s: not a regular file", path);
		goto cleanup;
	}
	size_t len = (size_t)st.st_size;
	if ((uint64_t)st.st_size > MAX_CORPUS_BYTES) {
		seqc_error(SEQC_ENOMEM, "%s: %zu bytes, more than the %zu a corpus may have", path,
			   len, MAX_CORPUS_BYTES);
		goto cleanup;
	}
	if (!(text = malloc(len ? len : 1))) {
		seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu bytes", path, len);
		goto cleanup;
	}
	if (fread(text, 1, len, f) != len) {
		seqc_error(SEQC_EIO, "%s: read error: %s", path,
			   ferror(f) ? strerror(errno) : "shorter than its size");
		goto cleanup;
	}
	if (!(t = seqc_spm_train(text, len, opts)))
		seqc_error_wrap("%s", path);
cleanup:
	fclose(f);
	free(text);
	return t;
}

static const seqc_tok_vtable spm_vtable = {
	.kind = "spm",
	.encode = spm_encode,
	.piece = spm_piece,
	.decode_piece = spm_decode_piece,
	.lookup = spm_lookup,
	.to_json = spm_to_json,
	.destroy = spm_destroy,
};
