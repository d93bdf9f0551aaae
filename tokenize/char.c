#include "tokenize/char.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenize/tok_internal.h"

/* Raw text is validated and normalized a chunk at a time, so that memory
 * stays bounded and pure-ASCII chunks, which every normalization leaves
 * alone, skip it. */
#define CHUNK ((size_t)1 << 16)

/* Entries of the per-call memo of inert code points (see is_inert). */
#define MEMO 4096

#define NSPECIAL 4
static const char *const special_names[NSPECIAL] = {"<pad>", "<unk>", "<bos>", "<eos>"};

typedef struct char_tok {
	seqc_tok base;
	seqc_norm norm;
	bool graphemes, replace_invalid;
	seqc_strtab tab;       /* entry i is the piece of id i */
	int32_t byte_id[128];  /* id of each one-byte (ASCII) unit; -1: absent or special */
} char_tok;

seqc_char_opts seqc_char_defaults(void)
{
	return (seqc_char_opts){.norm = SEQC_NORM_NFC, .graphemes = false, .max_vocab = 0,
				.replace_invalid = false};
}

/* ---- splitting text into units ---- */

typedef struct splitter {
	seqc_norm norm;
	bool graphemes, replace;
	const char *what;      /* names the input in messages */
	const uint8_t *src;    /* raw input */
	size_t len, pos;       /* its length, start of the next chunk */
	uint8_t *owned;        /* the current chunk when it is a copy, else NULL */
	const uint8_t *buf;    /* the current chunk: valid, normalized UTF-8 */
	size_t blen, bpos;
	utf8proc_int32_t gstate; /* grapheme break state within the chunk */
	bool memo_ready;       /* memo is zeroed (done on first use) */
	uint32_t memo[MEMO];   /* cp << 1 | inert, by cp % MEMO; 0 empty */
} splitter;

static void split_init(splitter *sp, seqc_norm norm, bool graphemes, bool replace,
		       const char *what, const uint8_t *src, size_t len)
{
	/* Not the memo: most calls never need it. */
	memset(sp, 0, offsetof(splitter, memo));
	sp->norm = norm;
	sp->graphemes = graphemes;
	sp->replace = replace;
	sp->what = what;
	sp->src = src;
	sp->len = len;
}

static void split_finish(splitter *sp)
{
	free(sp->owned);
	sp->owned = NULL;
}

/* Where the chunk starting at a ends: the first position at least CHUNK
 * bytes on where an ASCII byte follows an ASCII byte other than CR. There,
 * (1) no UTF-8 sequence, valid or not, spans the cut; (2) normalization
 * cannot reach across it, because no composition or reordering involves
 * two ASCII characters; (3) there is always a grapheme break (the only
 * rules joining an ASCII character to the next are CR x LF and Prepend x,
 * and no Prepend character is ASCII). So units never span chunks and the
 * result does not depend on where the cuts fall. */
static size_t chunk_end(const uint8_t *s, size_t len, size_t a)
{
	if (len - a <= CHUNK)
		return len;
	for (size_t i = a + CHUNK; i < len; i++)
		if (s[i] < 0x80 && s[i - 1] < 0x80 && s[i - 1] != '\r')
			return i;
	return len;
}

static int norm_flags(seqc_norm norm)
{
	return UTF8PROC_STABLE | UTF8PROC_COMPOSE | (norm == SEQC_NORM_NFKC ? UTF8PROC_COMPAT : 0);
}

/* True when normalization can neither change the code point c nor join it
 * to what precedes it: c is a starter (combining class 0), not a mark (every
 * character that composes with a preceding starter is a combining mark,
 * except the Hangul medial and final jamo), and normalizes to itself. The
 * place before such a character is a safe cut: normalizing the text on each
 * side of it separately gives the same as normalizing the whole (UAX #15,
 * "stable code points"). test_char checks the claim about marks against
 * every composite this utf8proc knows. */
bool seqc_char_inert(uint32_t c, seqc_norm norm)
{
	if (c < 0x80)
		return true;
	if (utf8proc_get_property((utf8proc_int32_t)c)->combining_class != 0)
		return false;
	utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
	if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
	    cat == UTF8PROC_CATEGORY_ME)
		return false;
	if ((c >= 0x1160 && c <= 0x11FF) || (c >= 0xD7B0 && c <= 0xD7FF))
		return false; /* Hangul medial and final jamo */
	utf8proc_uint8_t buf[4], *dst = NULL;
	utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)c, buf);
	utf8proc_ssize_t r = utf8proc_map(buf, k, &dst, (utf8proc_option_t)norm_flags(norm));
	bool same = r == k && memcmp(dst, buf, (size_t)k) == 0;
	free(dst);
	return same;
}

static bool is_inert(splitter *sp, uint32_t c)
{
	if (c < 0x80)
		return true;
	if (!sp->memo_ready) {
		memset(sp->memo, 0, sizeof sp->memo);
		sp->memo_ready = true;
	}
	uint32_t *m = &sp->memo[c % MEMO];
	if (*m >> 1 != c)
		*m = c << 1 | seqc_char_inert(c, sp->norm);
	return *m & 1;
}

/* Appends s[0..n) to the growable buffer *buf (*len used, *cap allocated). */
static int append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *s, size_t n,
		  const char *what)
{
	if (n == 0)
		return 0;
	if (*cap - *len < n) {
		size_t c = *cap ? *cap : 4096;
		while (c - *len < n)
			c *= 2;
		uint8_t *b = realloc(*buf, c);
		if (!b)
			return seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu bytes", what, c);
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	return 0;
}

/* Normalizes s[0..n) (valid UTF-8; a + n bytes into the input, for
 * messages). Only the stretches around non-inert code points go through
 * utf8proc, from the inert code point before them (which may compose with
 * them) to the next inert one. *out is NULL when s is already normalized,
 * else a new buffer of *out_len bytes. */
static int normalize(splitter *sp, const uint8_t *s, size_t n, size_t a, uint8_t **out,
		     size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, i = 0, safe = 0, copied = 0;
	uint32_t c;
	int rc = 0;
	*out = NULL;
	while (i < n) {
		if (s[i] < 0x80) {
			safe = i++;
			continue;
		}
		int k = seqc_utf8_decode(s + i, n - i, &c);
		assert(k > 0);
		if (is_inert(sp, c)) {
			safe = i;
			i += (size_t)k;
			continue;
		}
		size_t j = i + (size_t)k;
		while (j < n) {
			k = seqc_utf8_decode(s + j, n - j, &c);
			assert(k > 0);
			if (is_inert(sp, c))
				break;
			j += (size_t)k;
		}
		utf8proc_uint8_t *dst = NULL;
		utf8proc_ssize_t r = utf8proc_map(s + safe, (utf8proc_ssize_t)(j - safe), &dst,
						  (utf8proc_option_t)norm_flags(sp->norm));
		if (r < 0) {
			rc = seqc_error(r == UTF8PROC_ERROR_NOMEM ? SEQC_ENOMEM : SEQC_EINVAL,
					"%s: %s normalization of bytes %zu..%zu failed: %s", sp->what,
					seqc_norm_name(sp->norm), a + safe, a + j, utf8proc_errmsg(r));
			goto fail;
		}
		rc = append(&buf, &len, &cap, s + copied, safe - copied, sp->what);
		if (rc == 0)
			rc = append(&buf, &len, &cap, dst, (size_t)r, sp->what);
		free(dst);
		if (rc < 0)
			goto fail;
		copied = safe = i = j;
	}
	if (!buf)
		return 0;
	if ((rc = append(&buf, &len, &cap, s + copied, n - copied, sp->what)) < 0)
		goto fail;
	*out = buf;
	*out_len = len;
	return 0;
fail:
	free(buf);
	return rc;
}

/* Loads the next chunk: 1 when one was loaded, 0 at the end of input, or a
 * negative code (invalid UTF-8 without replacement, no memory). */
static int next_chunk(splitter *sp)
{
	free(sp->owned);
	sp->owned = NULL;
	if (sp->pos >= sp->len)
		return 0;
	size_t a = sp->pos, b = chunk_end(sp->src, sp->len, a);
	const uint8_t *s = sp->src + a;
	size_t n = b - a, i = 0;
	while (i < n && s[i] < 0x80)
		i++;
	bool ascii = i == n;
	uint8_t *repl = NULL;
	if (!ascii) {
		size_t bad = i + seqc_utf8_first_invalid(s + i, n - i);
		if (bad < n) {
			if (!sp->replace)
				return seqc_utf8_error(sp->what, s, n, bad, a);
			repl = malloc(3 * n);
			if (!repl)
				return seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu bytes", sp->what,
						  3 * n);
			n = seqc_utf8_replace(s, n, repl);
			s = repl;
		}
	}
	sp->owned = repl;
	if (!ascii && sp->norm != SEQC_NORM_NONE) {
		uint8_t *normed;
		size_t nlen;
		int rc = normalize(sp, s, n, a, &normed, &nlen);
		if (rc < 0)
			return rc;
		if (normed) {
			free(repl);
			sp->owned = normed;
			s = normed;
			n = nlen;
		}
	}
	sp->buf = s;
	sp->blen = n;
	sp->bpos = 0;
	sp->gstate = 0; /* chunks start at a grapheme break (see chunk_end) */
	sp->pos = b;
	return 1;
}

/* Length in bytes of the unit at buf[pos..n) (valid UTF-8, pos < n). In
 * grapheme mode a cluster that would pass SEQC_TOK_MAX_PIECE bytes is cut
 * there, and the next piece starts afresh. */
static size_t unit_len(bool graphemes, const uint8_t *buf, size_t n, size_t pos,
		       utf8proc_int32_t *state)
{
	uint32_t cp, next;
	if (buf[pos] < 0x80) {
		if (!graphemes)
			return 1;
		/* An ASCII character other than CR before an ASCII character
		 * or the end: a certain break (see chunk_end), after which
		 * utf8proc allows the state to restart from zero. */
		if (buf[pos] != '\r' && (pos + 1 == n || buf[pos + 1] < 0x80)) {
			*state = 0;
			return 1;
		}
	}
	int k = seqc_utf8_decode(buf + pos, n - pos, &cp);
	assert(k > 0);
	if (!graphemes)
		return (size_t)k;
	size_t end = pos + (size_t)k;
	while (end < n) {
		int m = seqc_utf8_decode(buf + end, n - end, &next);
		assert(m > 0);
		if (end + (size_t)m - pos > SEQC_TOK_MAX_PIECE) {
			*state = 0;
			break;
		}
		if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)cp, (utf8proc_int32_t)next, state))
			break;
		cp = next;
		end += (size_t)m;
	}
	return end - pos;
}

/* The next unit into *u, *n (valid until the next call): 1, or 0 at the
 * end of input, or a negative code. */
static int split_next(splitter *sp, const uint8_t **u, size_t *n)
{
	while (sp->bpos >= sp->blen) {
		int rc = next_chunk(sp);
		if (rc <= 0)
			return rc;
	}
	size_t k = unit_len(sp->graphemes, sp->buf, sp->blen, sp->bpos, &sp->gstate);
	*u = sp->buf + sp->bpos;
	*n = k;
	sp->bpos += k;
	return 1;
}

/* True when s[0..n) (valid UTF-8) is exactly one unit. */
static bool is_one_unit(bool graphemes, const uint8_t *s, size_t n)
{
	utf8proc_int32_t state = 0;
	return n > 0 && unit_len(graphemes, s, n, 0, &state) == n;
}

/* ---- the tokenizer ---- */

static const seqc_tok_vtable char_vtable;

static void char_destroy(seqc_tok *base)
{
	char_tok *t = (char_tok *)base;
	seqc_strtab_finish(&t->tab);
	free(t);
}

/* The common constructor of build and load: pieces[i] (lens[i] bytes) is
 * the piece of id i; special ids are -1 or in range (checked by callers).
 * Checks each piece (messages name "vocab"[i], prefixed by what). */
static seqc_tok *char_create(seqc_norm norm, bool graphemes, bool replace,
			     const uint8_t *const *pieces, const size_t *lens, size_t n,
			     const int32_t special[NSPECIAL], const char *what)
{
	char_tok *t = calloc(1, sizeof *t);
	if (!t)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate the tokenizer", what), NULL;
	t->base.vt = &char_vtable;
	t->base.vocab_size = n;
	t->base.pad = special[0];
	t->base.unk = special[1];
	t->base.bos = special[2];
	t->base.eos = special[3];
	t->base.whole_pieces = true; /* checked below, piece by piece */
	t->norm = norm;
	t->graphemes = graphemes;
	t->replace_invalid = replace;
	seqc_strtab_init(&t->tab);
	for (size_t c = 0; c < 128; c++)
		t->byte_id[c] = -1;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = pieces[i];
		size_t len = lens[i];
		bool special_id = seqc_tok_is_special(&t->base, (int32_t)i);
		if (len == 0 || len > SEQC_TOK_MAX_PIECE) {
			seqc_error(SEQC_EFORMAT, "%s: \"vocab\"[%zu] has %zu bytes; a piece has 1 to %d",
				   what, i, len, SEQC_TOK_MAX_PIECE);
			goto fail;
		}
		size_t bad = seqc_utf8_first_invalid(p, len);
		if (bad < len) {
			seqc_error(SEQC_EFORMAT, "%s: \"vocab\"[%zu] is not valid UTF-8 (byte %zu)", what,
				   i, bad);
			goto fail;
		}
		if (!special_id && !is_one_unit(graphemes, p, len)) {
			seqc_error(SEQC_EFORMAT, "%s: \"vocab\"[%zu] (\"%.*s\") is not a single %s", what,
				   i, (int)(len > 40 ? 40 : len), (const char *)p,
				   graphemes ? "grapheme cluster" : "code point");
			goto fail;
		}
		bool added;
		int32_t k = seqc_strtab_intern(&t->tab, p, len, &added);
		if (k < 0)
			goto fail;
		if (!added) {
			seqc_error(SEQC_EFORMAT, "%s: \"vocab\"[%zu] (\"%.*s\") repeats \"vocab\"[%d]",
				   what, i, (int)(len > 40 ? 40 : len), (const char *)p, k);
			goto fail;
		}
		if (len == 1 && !special_id)
			t->byte_id[p[0]] = (int32_t)i;
	}
	return &t->base;
fail:
	char_destroy(&t->base);
	return NULL;
}

typedef struct unit_count {
	const uint8_t *s;
	size_t n;
	size_t count;
} unit_count;

static int cmp_bytes(const void *pa, const void *pb)
{
	const unit_count *a = pa, *b = pb;
	int c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
	if (c)
		return c;
	return (a->n > b->n) - (a->n < b->n);
}

static int cmp_frequency(const void *pa, const void *pb)
{
	const unit_count *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return cmp_bytes(pa, pb);
}

seqc_tok *seqc_tok_char_build(const char *text, size_t len, const seqc_char_opts *opts)
{
	static const char *what = "char tokenizer corpus";
	seqc_char_opts o = opts ? *opts : seqc_char_defaults();
	if (!seqc_norm_name(o.norm))
		return seqc_error(SEQC_EINVAL, "char tokenizer: normalization %d is not a seqc_norm",
				  (int)o.norm), NULL;
	if (o.max_vocab > 0 && o.max_vocab <= NSPECIAL)
		return seqc_error(SEQC_EINVAL, "char tokenizer: max_vocab %zu leaves no room beside "
				  "the %d special tokens (0 means no cap)", o.max_vocab, NSPECIAL), NULL;
	if (len == 0)
		return seqc_error(SEQC_EINVAL, "%s: empty corpus", what), NULL;
	if (!text)
		return seqc_error(SEQC_EINVAL, "%s: text is NULL", what), NULL;

	seqc_tok *tok = NULL;
	size_t byte_count[128] = {0};
	uint8_t bytes[128];
	size_t *counts = NULL, ncounts = 0;
	unit_count *cand = NULL;
	const uint8_t **pieces = NULL;
	size_t *lens = NULL;
	seqc_strtab units;
	seqc_strtab_init(&units);
	splitter sp;
	split_init(&sp, o.norm, o.graphemes, o.replace_invalid, what, (const uint8_t *)text, len);

	/* Count: one-byte units in a plain array, the rest interned. */
	const uint8_t *u;
	size_t n;
	int rc;
	while ((rc = split_next(&sp, &u, &n)) > 0) {
		if (n == 1) {
			byte_count[u[0]]++;
			continue;
		}
		bool added;
		int32_t k = seqc_strtab_intern(&units, u, n, &added);
		if (k < 0) {
			rc = k;
			break;
		}
		if ((size_t)k >= ncounts) {
			size_t cap = ncounts ? 2 * ncounts : 256;
			size_t *c = realloc(counts, cap * sizeof *c);
			if (!c) {
				rc = seqc_error(SEQC_ENOMEM, "%s: cannot allocate counts", what);
				break;
			}
			memset(c + ncounts, 0, (cap - ncounts) * sizeof *c);
			counts = c;
			ncounts = cap;
		}
		counts[k]++;
	}
	if (rc < 0)
		goto cleanup;

	size_t ncand = units.count;
	for (size_t c = 0; c < 128; c++)
		ncand += byte_count[c] > 0;
	cand = malloc((ncand ? ncand : 1) * sizeof *cand);
	if (!cand) {
		seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu units", what, ncand);
		goto cleanup;
	}
	size_t m = 0;
	for (size_t c = 0; c < 128; c++) {
		bytes[c] = (uint8_t)c;
		if (byte_count[c])
			cand[m++] = (unit_count){bytes + c, 1, byte_count[c]};
	}
	for (size_t k = 0; k < units.count; k++) {
		size_t ulen;
		const char *s = seqc_strtab_get(&units, (int32_t)k, &ulen);
		cand[m++] = (unit_count){(const uint8_t *)s, ulen, counts[k]};
	}
	size_t keep = ncand;
	if (o.max_vocab > 0 && keep > o.max_vocab - NSPECIAL) {
		qsort(cand, ncand, sizeof *cand, cmp_frequency);
		keep = o.max_vocab - NSPECIAL;
	}
	if (keep + NSPECIAL > SEQC_TOK_MAX_VOCAB) {
		seqc_error(SEQC_ENOMEM, "%s: %zu distinct units exceed the vocabulary limit of %zu; "
			   "set max_vocab", what, keep, SEQC_TOK_MAX_VOCAB);
		goto cleanup;
	}
	qsort(cand, keep, sizeof *cand, cmp_bytes);

	size_t nvocab = keep + NSPECIAL;
	pieces = malloc(nvocab * sizeof *pieces);
	lens = malloc(nvocab * sizeof *lens);
	if (!pieces || !lens) {
		seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu pieces", what, nvocab);
		goto cleanup;
	}
	for (int i = 0; i < NSPECIAL; i++) {
		pieces[i] = (const uint8_t *)special_names[i];
		lens[i] = strlen(special_names[i]);
	}
	for (size_t i = 0; i < keep; i++) {
		pieces[NSPECIAL + i] = cand[i].s;
		lens[NSPECIAL + i] = cand[i].n;
	}
	const int32_t special[NSPECIAL] = {0, 1, 2, 3};
	tok = char_create(o.norm, o.graphemes, o.replace_invalid, pieces, lens, nvocab, special,
			  "char tokenizer");
cleanup:
	split_finish(&sp);
	seqc_strtab_finish(&units);
	free(counts);
	free(cand);
	free(pieces);
	free(lens);
	return tok;
}

int seqc_tok_char_opts(const seqc_tok *base, seqc_char_opts *opts)
{
	if (!base || base->vt != &char_vtable)
		return seqc_error(SEQC_EINVAL, "char options: the tokenizer is %s, not char",
				  base ? base->vt->kind : "NULL");
	const char_tok *t = (const char_tok *)base;
	*opts = (seqc_char_opts){.norm = t->norm, .graphemes = t->graphemes,
				 .max_vocab = base->vocab_size, .replace_invalid = t->replace_invalid};
	return 0;
}

static int char_encode(const seqc_tok *base, const uint8_t *text, size_t len, seqc_idvec *out)
{
	const char_tok *t = (const char_tok *)base;
	splitter sp;
	split_init(&sp, t->norm, t->graphemes, t->replace_invalid, "encode", text, len);
	const uint8_t *u;
	size_t n;
	int rc;
	while ((rc = split_next(&sp, &u, &n)) > 0) {
		int32_t id;
		if (n == 1) {
			id = t->byte_id[u[0]];
		} else {
			id = seqc_strtab_find(&t->tab, u, n);
			/* Text never encodes to a special token, even when a
			 * loaded vocabulary displays one as a single character. */
			if (seqc_tok_is_special(base, id))
				id = -1;
		}
		if (id < 0 && (id = base->unk) < 0) {
			rc = seqc_error(SEQC_ERANGE, "encode: \"%.*s\" (unit %zu) is not in the "
					"vocabulary and the tokenizer has no unk", (int)n,
					(const char *)u, out->len);
			break;
		}
		if ((rc = seqc_idvec_push(out, id)) < 0)
			break;
	}
	split_finish(&sp);
	return rc < 0 ? rc : 0;
}

static const char *char_piece(const seqc_tok *base, int32_t id, size_t *len)
{
	return seqc_strtab_get(&((const char_tok *)base)->tab, id, len);
}

static int32_t char_lookup(const seqc_tok *base, const char *piece, size_t len)
{
	return seqc_strtab_find(&((const char_tok *)base)->tab, piece, len);
}

static json_t *char_to_json(const seqc_tok *base)
{
	const char_tok *t = (const char_tok *)base;
	json_t *o = json_object(), *vocab = json_array();
	int bad = !o || !vocab;
	bad |= json_object_set_new(o, "kind", json_string("char"));
	bad |= json_object_set_new(o, "version", json_integer(1));
	bad |= json_object_set_new(o, "normalization", json_string(seqc_norm_name(t->norm)));
	bad |= json_object_set_new(o, "units", json_string(t->graphemes ? "grapheme" : "codepoint"));
	bad |= json_object_set_new(o, "replace_invalid", json_boolean(t->replace_invalid));
	bad |= json_object_set_new(o, "pad_id", json_integer(base->pad));
	bad |= json_object_set_new(o, "unk_id", json_integer(base->unk));
	bad |= json_object_set_new(o, "bos_id", json_integer(base->bos));
	bad |= json_object_set_new(o, "eos_id", json_integer(base->eos));
	for (size_t i = 0; !bad && i < base->vocab_size; i++) {
		size_t len;
		const char *p = char_piece(base, (int32_t)i, &len);
		bad |= json_array_append_new(vocab, json_stringn(p, len));
	}
	/* set_new takes the reference even when it fails. */
	bad |= json_object_set_new(o, "vocab", vocab);
	if (bad) {
		json_decref(o);
		seqc_error(SEQC_ENOMEM, "char tokenizer: cannot build its JSON");
		return NULL;
	}
	return o;
}

/* ---- loading ---- */

static const json_t *need_key(const json_t *obj, const char *key, const char *what)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		seqc_error(SEQC_EFORMAT, "%s: key \"%s\" is missing", what, key);
	return v;
}

/* *out = the string value of key, which must be one of names[0..n). */
static int get_choice(const json_t *obj, const char *key, const char *const *names, int n,
		      int *out, const char *what)
{
	const json_t *v = need_key(obj, key, what);
	if (!v)
		return SEQC_EFORMAT;
	if (json_is_string(v)) {
		for (int i = 0; i < n; i++) {
			if (strlen(names[i]) == json_string_length(v) &&
			    strcmp(names[i], json_string_value(v)) == 0) {
				*out = i;
				return 0;
			}
		}
	}
	char list[128] = "";
	for (int i = 0; i < n; i++) {
		size_t at = strlen(list);
		snprintf(list + at, sizeof list - at, "%s\"%s\"", i ? (i == n - 1 ? " or " : ", ") : "",
			 names[i]);
	}
	if (json_is_string(v))
		return seqc_error(SEQC_EFORMAT, "%s: key \"%s\" must be %s, got \"%.40s\"", what, key,
				  list, json_string_value(v));
	return seqc_error(SEQC_EFORMAT, "%s: key \"%s\" must be %s, got %s", what, key, list,
			  seqc_json_type_name(v));
}

seqc_tok *seqc_tok_char_from_json(const json_t *obj, const char *what)
{
	static const char *const norms[] = {"none", "nfc", "nfkc"};
	static const char *const unit_names[] = {"codepoint", "grapheme"};
	static const char *const id_keys[NSPECIAL] = {"pad_id", "unk_id", "bos_id", "eos_id"};
	const json_t *v;
	int norm = 0, units = 0;

	if ((v = json_object_get(obj, "version")) &&
	    !(json_is_integer(v) && json_integer_value(v) == 1))
		return seqc_error(SEQC_EUNSUPPORTED, "%s: key \"version\" must be 1, the only char "
				  "format this build reads", what), NULL;
	if (get_choice(obj, "normalization", norms, 3, &norm, what) < 0 ||
	    get_choice(obj, "units", unit_names, 2, &units, what) < 0)
		return NULL;
	if (!(v = need_key(obj, "replace_invalid", what)))
		return NULL;
	if (!json_is_boolean(v))
		return seqc_error(SEQC_EFORMAT, "%s: key \"replace_invalid\" must be true or false, "
				  "got %s", what, seqc_json_type_name(v)), NULL;
	bool replace = json_is_true(v);

	const json_t *vocab = need_key(obj, "vocab", what);
	if (!vocab)
		return NULL;
	if (!json_is_array(vocab))
		return seqc_error(SEQC_EFORMAT, "%s: key \"vocab\" must be an array of strings, got %s",
				  what, seqc_json_type_name(vocab)), NULL;
	size_t n = json_array_size(vocab);
	if (n == 0)
		return seqc_error(SEQC_EFORMAT, "%s: key \"vocab\" is an empty array", what), NULL;
	if (n > SEQC_TOK_MAX_VOCAB)
		return seqc_error(SEQC_ENOMEM, "%s: key \"vocab\" has %zu entries, more than the limit "
				  "of %zu", what, n, SEQC_TOK_MAX_VOCAB), NULL;

	int32_t special[NSPECIAL];
	for (int i = 0; i < NSPECIAL; i++) {
		if (!(v = need_key(obj, id_keys[i], what)))
			return NULL;
		if (!json_is_integer(v))
			return seqc_error(SEQC_EFORMAT, "%s: key \"%s\" must be an integer (-1 for none), "
					  "got %s", what, id_keys[i], seqc_json_type_name(v)), NULL;
		json_int_t id = json_integer_value(v);
		if (id < -1 || id >= (json_int_t)n)
			return seqc_error(SEQC_EFORMAT, "%s: key \"%s\" is %lld, outside the vocabulary "
					  "[0, %zu) (-1 for none)", what, id_keys[i], (long long)id,
					  n), NULL;
		special[i] = (int32_t)id;
	}

	const uint8_t **pieces = malloc(n * sizeof *pieces);
	size_t *lens = malloc(n * sizeof *lens);
	seqc_tok *t = NULL;
	if (!pieces || !lens) {
		seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu vocabulary entries", what, n);
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(vocab, i);
		if (!json_is_string(e)) {
			seqc_error(SEQC_EFORMAT, "%s: key \"vocab\" must be an array of strings, but "
				   "\"vocab\"[%zu] is %s", what, i, seqc_json_type_name(e));
			goto cleanup;
		}
		pieces[i] = (const uint8_t *)json_string_value(e);
		lens[i] = json_string_length(e);
	}
	t = char_create((seqc_norm)norm, units == 1, replace, pieces, lens, n, special, what);
cleanup:
	free(pieces);
	free(lens);
	return t;
}

static const seqc_tok_vtable char_vtable = {
	.kind = "char",
	.encode = char_encode,
	.piece = char_piece,
	.decode_piece = NULL,
	.lookup = char_lookup,
	.to_json = char_to_json,
	.destroy = char_destroy,
};
