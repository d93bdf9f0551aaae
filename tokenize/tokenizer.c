#include "tokenize/tokenizer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenize/tok_internal.h"

/* A tokenizer file larger than this is refused before parsing: the largest
 * legal vocabulary of short pieces stays far below it. */
#define MAX_FILE_BYTES ((size_t)1 << 30)

static const char *const norm_names[] = {"none", "nfc", "nfkc"};

const char *seqc_norm_name(seqc_norm norm)
{
	if ((unsigned)norm >= sizeof norm_names / sizeof norm_names[0])
		return NULL;
	return norm_names[norm];
}

int seqc_norm_from_name(const char *name, seqc_norm *norm)
{
	for (unsigned i = 0; name && i < sizeof norm_names / sizeof norm_names[0]; i++) {
		if (strcmp(name, norm_names[i]) == 0) {
			*norm = (seqc_norm)i;
			return 0;
		}
	}
	return seqc_error(SEQC_EINVAL, "normalization \"%s\" is not none, nfc or nfkc",
			  name ? name : "(null)");
}

int seqc_idvec_grow(seqc_idvec *v)
{
	size_t cap = v->cap ? v->cap + v->cap / 2 : 1024;
	if (cap > SIZE_MAX / sizeof *v->data)
		return seqc_error(SEQC_ENOMEM, "encode: too many ids");
	int32_t *data = realloc(v->data, cap * sizeof *data);
	if (!data)
		return seqc_error(SEQC_ENOMEM, "encode: cannot grow the id array to %zu ids", cap);
	v->data = data;
	v->cap = cap;
	return 0;
}

void seqc_tok_destroy(seqc_tok *t)
{
	if (t)
		t->vt->destroy(t);
}

const char *seqc_tok_kind(const seqc_tok *t)
{
	return t->vt->kind;
}

size_t seqc_tok_vocab_size(const seqc_tok *t)
{
	return t->vocab_size;
}

int32_t seqc_tok_bos(const seqc_tok *t)
{
	return t->bos;
}

int32_t seqc_tok_eos(const seqc_tok *t)
{
	return t->eos;
}

int32_t seqc_tok_start(const seqc_tok *t)
{
	return t->bos >= 0 ? t->bos : t->eos;
}

int32_t seqc_tok_pad(const seqc_tok *t)
{
	return t->pad;
}

int32_t seqc_tok_unk(const seqc_tok *t)
{
	return t->unk;
}

bool seqc_tok_is_special(const seqc_tok *t, int32_t id)
{
	return id >= 0 && (id == t->bos || id == t->eos || id == t->pad || id == t->unk);
}

int seqc_tok_encode(const seqc_tok *t, const char *text, size_t len, int32_t **ids, size_t *n)
{
	if (!ids || !n)
		return seqc_error(SEQC_EINVAL, "encode: ids and n must not be NULL");
	*ids = NULL;
	*n = 0;
	if (!t)
		return seqc_error(SEQC_EINVAL, "encode: the tokenizer is NULL");
	if (!text && len)
		return seqc_error(SEQC_EINVAL, "encode: text is NULL but len is %zu", len);
	/* Most units are one byte or more: len + 1 ids usually suffice, and
	 * the array grows when normalization expands the text. */
	seqc_idvec v = {0};
	v.cap = len + 1;
	v.data = v.cap <= SIZE_MAX / sizeof *v.data ? malloc(v.cap * sizeof *v.data) : NULL;
	if (!v.data)
		return seqc_error(SEQC_ENOMEM, "encode: cannot allocate %zu ids", v.cap);
	int rc = t->vt->encode(t, (const uint8_t *)(text ? text : ""), len, &v);
	if (rc < 0) {
		free(v.data);
		return rc;
	}
	if (v.len + 1 < v.cap) {
		int32_t *shrunk = realloc(v.data, (v.len + 1) * sizeof *shrunk);
		if (shrunk)
			v.data = shrunk;
	}
	*ids = v.data;
	*n = v.len;
	return 0;
}

const char *seqc_tok_piece(const seqc_tok *t, int32_t id, size_t *len)
{
	size_t ignored;
	if (!len)
		len = &ignored;
	*len = 0;
	if (id < 0 || (size_t)id >= t->vocab_size)
		return seqc_error(SEQC_ERANGE, "piece: id %d is outside the vocabulary [0, %zu)", id,
				  t->vocab_size), NULL;
	return t->vt->piece(t, id, len);
}

int32_t seqc_tok_id(const seqc_tok *t, const char *piece, size_t len)
{
	if (!piece)
		return -1;
	return t->vt->lookup(t, piece, len);
}

/* ---- decoding ---- */

struct seqc_detok {
	const seqc_tok *tok;
	bool show_special;
	bool started;                           /* a visible piece has been pushed */
	size_t nheld;
	uint8_t held[4];                        /* incomplete tail of the stream */
	uint8_t work[SEQC_TOK_MAX_PIECE + 4];   /* held tail + next piece */
	uint8_t out[SEQC_DETOK_MAX];            /* staged so a failed push changes nothing */
};

seqc_detok *seqc_detok_create(const seqc_tok *t)
{
	if (!t)
		return seqc_error(SEQC_EINVAL, "detok: the tokenizer is NULL"), NULL;
	seqc_detok *d = calloc(1, sizeof *d);
	if (!d)
		return seqc_error(SEQC_ENOMEM, "detok: cannot allocate"), NULL;
	d->tok = t;
	return d;
}

void seqc_detok_destroy(seqc_detok *d)
{
	free(d);
}

bool seqc_detok_show_special(seqc_detok *d, bool show)
{
	bool old = d->show_special;
	d->show_special = show;
	return old;
}

int seqc_detok_push(seqc_detok *d, int32_t id, char *out, size_t cap)
{
	const seqc_tok *t = d->tok;
	const char *p;
	size_t plen;
	if (id < 0 || (size_t)id >= t->vocab_size)
		return seqc_error(SEQC_ERANGE, "detok: id %d is outside the vocabulary [0, %zu)", id,
				  t->vocab_size);
	if (seqc_tok_is_special(t, id)) {
		if (!d->show_special)
			return 0;
		p = t->vt->piece(t, id, &plen);
	} else {
		p = (t->vt->decode_piece ? t->vt->decode_piece : t->vt->piece)(t, id, &plen);
		/* the space a word-boundary mark stands for is not text before
		 * the first word */
		if (!d->started && t->strip_first_space && plen && p[0] == ' ') {
			p++;
			plen--;
		}
	}
	if (plen > SEQC_TOK_MAX_PIECE)
		return seqc_error(SEQC_EINVAL, "detok: piece %d has %zu bytes, more than %d", id, plen,
				  SEQC_TOK_MAX_PIECE);
	if (d->nheld == 0 && t->whole_pieces) {
		if (plen > cap)
			return seqc_error(SEQC_EINVAL, "detok: id %d needs %zu bytes of output, cap "
					  "is %zu (SEQC_DETOK_MAX = %d always suffices)", id, plen, cap,
					  SEQC_DETOK_MAX);
		memcpy(out, p, plen);
		d->started |= plen > 0;
		return (int)plen;
	}
	memcpy(d->work, d->held, d->nheld);
	memcpy(d->work + d->nheld, p, plen);
	size_t n = d->nheld + plen, held;
	size_t o = seqc_utf8_complete(d->work, n, d->out, &held);
	if (o > cap)
		return seqc_error(SEQC_EINVAL, "detok: id %d needs %zu bytes of output, cap is %zu "
				  "(SEQC_DETOK_MAX = %d always suffices)", id, o, cap, SEQC_DETOK_MAX);
	memcpy(out, d->out, o);
	memcpy(d->held, d->work + n - held, held);
	d->nheld = held;
	d->started |= plen > 0;
	return (int)o;
}

int seqc_detok_flush(seqc_detok *d, char *out, size_t cap)
{
	d->started = false;
	if (d->nheld == 0)
		return 0;
	if (cap < 3)
		return seqc_error(SEQC_EINVAL, "detok: flush needs 3 bytes of output, cap is %zu", cap);
	/* What is held is one incomplete sequence: one U+FFFD. */
	memcpy(out, "\xEF\xBF\xBD", 3);
	d->nheld = 0;
	return 3;
}

int seqc_tok_decode(const seqc_tok *t, const int32_t *ids, size_t n, char **text, size_t *len)
{
	if (!text)
		return seqc_error(SEQC_EINVAL, "decode: text must not be NULL");
	*text = NULL;
	if (len)
		*len = 0;
	if (!t || (!ids && n))
		return seqc_error(SEQC_EINVAL, "decode: the tokenizer or ids is NULL");
	seqc_detok *d = seqc_detok_create(t);
	char *buf = NULL;
	size_t used = 0, cap = 0;
	int rc = d ? 0 : SEQC_ENOMEM;
	for (size_t i = 0; rc >= 0 && i <= n; i++) {
		if (cap - used < SEQC_DETOK_MAX + 1) {
			size_t c = cap ? 2 * cap : 4 * SEQC_DETOK_MAX;
			char *b = realloc(buf, c);
			if (!b) {
				rc = seqc_error(SEQC_ENOMEM, "decode: cannot grow the text to %zu bytes", c);
				break;
			}
			buf = b;
			cap = c;
		}
		rc = i < n ? seqc_detok_push(d, ids[i], buf + used, cap - used)
			   : seqc_detok_flush(d, buf + used, cap - used);
		if (rc == SEQC_ERANGE)
			rc = seqc_error(SEQC_ERANGE, "decode: ids[%zu] = %d is outside the vocabulary "
					"[0, %zu)", i, ids[i], t->vocab_size);
		else if (rc > 0)
			used += (size_t)rc;
	}
	seqc_detok_destroy(d);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[used] = '\0';
	char *shrunk = realloc(buf, used + 1);
	*text = shrunk ? shrunk : buf;
	if (len)
		*len = used;
	return 0;
}

/* ---- serialization ---- */

static const struct {
	const char *kind;
	seqc_tok *(*load)(const json_t *obj, const char *what);
} loaders[] = {
	{"char", seqc_tok_char_from_json},
	{"bpe", seqc_tok_bpe_from_json},
	{"spm", seqc_tok_spm_from_json},
};

/* The JSON text of t in a malloc'ed buffer (not from jansson's allocator,
 * which an application may have replaced), NUL-terminated. */
static int to_json_text(const seqc_tok *t, char **text, size_t *len)
{
	*text = NULL;
	json_t *o = t->vt->to_json(t);
	if (!o)
		return SEQC_ENOMEM;
	size_t flags = JSON_COMPACT;
	size_t n = json_dumpb(o, NULL, 0, flags);
	char *buf = n ? malloc(n + 1) : NULL;
	if (!buf || json_dumpb(o, buf, n, flags) != n) {
		json_decref(o);
		free(buf);
		return seqc_error(SEQC_ENOMEM, "tokenizer JSON: cannot serialize %zu bytes", n);
	}
	json_decref(o);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

char *seqc_tok_to_json(const seqc_tok *t)
{
	char *text;
	size_t len = 0;
	if (!t)
		return seqc_error(SEQC_EINVAL, "tokenizer JSON: the tokenizer is NULL"), NULL;
	return to_json_text(t, &text, &len) < 0 ? NULL : text;
}

static seqc_tok *from_json(const char *json, size_t len, const char *what)
{
	json_error_t err;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (!root)
		return seqc_error(SEQC_EFORMAT, "%s: not valid JSON (line %d, column %d): %s", what,
				  err.line, err.column, err.text), NULL;
	seqc_tok *t = NULL;
	const json_t *kind = json_object_get(root, "kind");
	if (!json_is_object(root)) {
		seqc_error(SEQC_EFORMAT, "%s: the top level must be an object", what);
	} else if (!kind) {
		seqc_error(SEQC_EFORMAT, "%s: key \"kind\" is missing", what);
	} else if (!json_is_string(kind)) {
		seqc_error(SEQC_EFORMAT, "%s: key \"kind\" must be a string", what);
	} else {
		const char *k = json_string_value(kind);
		size_t i, nloaders = sizeof loaders / sizeof loaders[0];
		for (i = 0; i < nloaders; i++)
			if (strlen(loaders[i].kind) == json_string_length(kind) &&
			    strcmp(loaders[i].kind, k) == 0)
				break;
		if (i < nloaders)
			t = loaders[i].load(root, what);
		else
			seqc_error(SEQC_EUNSUPPORTED, "%s: key \"kind\" is \"%.40s\", which this build "
				   "does not know (it knows \"char\", \"bpe\" and \"spm\")", what, k);
	}
	json_decref(root);
	return t;
}

seqc_tok *seqc_tok_from_json(const char *json, size_t len)
{
	if (!json)
		return seqc_error(SEQC_EINVAL, "tokenizer JSON: the text is NULL"), NULL;
	return from_json(json, len, "tokenizer JSON");
}

int seqc_read_file(const char *path, size_t max_bytes, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return seqc_error(SEQC_EIO, "%s: cannot open: %s", path, strerror(errno));
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (;;) {
		if (n == cap) {
			if (cap >= max_bytes) {
				rc = seqc_error(SEQC_ENOMEM, "%s: larger than %zu bytes, too large for "
						"what it should hold", path, max_bytes);
				break;
			}
			size_t c = cap ? 2 * cap : 65536;
			char *b = realloc(buf, c);
			if (!b) {
				rc = seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu bytes", path, c);
				break;
			}
			buf = b;
			cap = c;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = seqc_error(SEQC_EIO, "%s: read error: %s", path, strerror(errno));
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*data = buf;
	*len = n;
	return 0;
}

seqc_tok *seqc_tok_load_json_file(const char *path)
{
	if (!path)
		return seqc_error(SEQC_EINVAL, "tokenizer file: the path is NULL"), NULL;
	char *buf;
	size_t len;
	if (seqc_read_file(path, MAX_FILE_BYTES, &buf, &len) < 0)
		return NULL;
	seqc_tok *t = from_json(buf, len, path);
	free(buf);
	return t;
}

const char *seqc_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "something else";
}

int seqc_write_file_atomic(const char *path, const char *data, size_t len)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 64);
	if (!tmp)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate a file name", path);
	int fd = -1;
	static _Atomic unsigned counter; /* saves from threads of one process */
	for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
		snprintf(tmp, plen + 64, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
		/* O_EXCL: never clobber someone else's file; mode 0666 leaves
		 * the permissions to the umask, like any new file. */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		int rc = seqc_error(SEQC_EIO, "%s: cannot create a temporary file: %s", path,
				    strerror(errno));
		free(tmp);
		return rc;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	int rc = 0;
	if (done < len)
		rc = seqc_error(SEQC_EIO, "%s: cannot write: %s", tmp, strerror(errno));
	else if (fsync(fd) != 0)
		rc = seqc_error(SEQC_EIO, "%s: cannot sync: %s", tmp, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = seqc_error(SEQC_EIO, "%s: cannot close: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = seqc_error(SEQC_EIO, "%s: cannot rename %s over it: %s", path, tmp,
				strerror(errno));
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int seqc_tok_save_json_file(const seqc_tok *t, const char *path)
{
	if (!t || !path)
		return seqc_error(SEQC_EINVAL, "tokenizer file: the tokenizer or path is NULL");
	char *text;
	size_t len = 0;
	int rc = to_json_text(t, &text, &len);
	if (rc < 0)
		return rc;
	text[len] = '\n'; /* replaces the NUL: files end with a newline */
	rc = seqc_write_file_atomic(path, text, len + 1);
	free(text);
	return rc;
}
