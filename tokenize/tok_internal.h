/* What tokenizer kinds share inside the library: the base struct and its
 * vtable, UTF-8 helpers, and an interning string table. Private to the
 * library (not installed); tests include it to reach the helpers. */
#ifndef SEQC_TOKENIZE_TOK_INTERNAL_H
#define SEQC_TOKENIZE_TOK_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenize/tokenizer.h"

/* One growable array of ids, as encoders fill it. */
typedef struct seqc_idvec {
	int32_t *data;
	size_t len, cap;
} seqc_idvec;

/* Makes room for at least one more id; SEQC_ENOMEM (with a message). */
int seqc_idvec_grow(seqc_idvec *v);

/* Appends id; SEQC_ENOMEM when the array cannot grow. */
static inline int seqc_idvec_push(seqc_idvec *v, int32_t id)
{
	if (v->len == v->cap) {
		int rc = seqc_idvec_grow(v);
		if (rc < 0)
			return rc;
	}
	v->data[v->len++] = id;
	return 0;
}

/* What each kind provides. The pointers a kind returns stay valid as long as
 * the tokenizer does. */
typedef struct seqc_tok_vtable {
	const char *kind; /* "char", later "bpe", "spm" */
	/* Text (len bytes, raw user input: validation is the kind's job) to
	 * ids appended to out, no bos/eos. Negative code with a message. */
	int (*encode)(const seqc_tok *t, const uint8_t *text, size_t len, seqc_idvec *out);
	/* The stored bytes of a valid id (specials: display string), at most
	 * SEQC_TOK_MAX_PIECE bytes. */
	const char *(*piece)(const seqc_tok *t, int32_t id, size_t *len);
	/* The bytes a valid non-special id adds to decoded text; NULL in the
	 * table means the same as piece (char, byte-level BPE). SentencePiece
	 * will map its word-boundary mark to a space here. */
	const char *(*decode_piece)(const seqc_tok *t, int32_t id, size_t *len);
	/* Id of a piece, special display strings included; -1 when absent. */
	int32_t (*lookup)(const seqc_tok *t, const char *piece, size_t len);
	/* The kind's JSON object, with "kind" first; NULL (SEQC_ENOMEM). */
	json_t *(*to_json)(const seqc_tok *t);
	void (*destroy)(seqc_tok *t);
} seqc_tok_vtable;

/* The head of every tokenizer; a kind's struct starts with it. */
struct seqc_tok {
	const seqc_tok_vtable *vt;
	size_t vocab_size;
	int32_t bos, eos, pad, unk; /* -1 when absent */
	/* Every piece (display strings included) is valid UTF-8 on its own,
	 * so a decoder holding nothing can copy it straight out (char: yes;
	 * byte-level BPE: no). */
	bool whole_pieces;
	/* Decoding drops one leading space of the first visible piece of a
	 * stream: SentencePiece's word-boundary mark before the first word
	 * stands for no text (spm: yes). */
	bool strip_first_space;
};

/* Loader of one kind, given the parsed top-level object (whose "kind" the
 * caller has checked). Messages start with what (the file, or "tokenizer
 * JSON") and name the key at fault. */
seqc_tok *seqc_tok_char_from_json(const json_t *obj, const char *what);
seqc_tok *seqc_tok_bpe_from_json(const json_t *obj, const char *what);
seqc_tok *seqc_tok_spm_from_json(const json_t *obj, const char *what);

/* True when normalization (NFC or NFKC as norm says) can neither change
 * the code point c nor join it to what precedes it: a safe place to cut
 * text before normalizing the pieces. Exposed for tests. */
bool seqc_char_inert(uint32_t c, seqc_norm norm);

/* "an object", "a string", ... for messages about a JSON value of the
 * wrong type. */
const char *seqc_json_type_name(const json_t *v);

/* The whole file at path in a new buffer *data of *len bytes (free with
 * free); files above max_bytes are refused (SEQC_ENOMEM) before they are
 * read whole. Negative code with a message naming the file. */
int seqc_read_file(const char *path, size_t max_bytes, char **data, size_t *len);

/* Writes data[0..len) to path atomically: a new file beside it (O_EXCL,
 * never someone else's), written, synced, then renamed over path, so a
 * failure leaves any previous file intact. Negative code with a message
 * naming the file. */
int seqc_write_file_atomic(const char *path, const char *data, size_t len);

/* ---- UTF-8 (Unicode 15, chapter 3, table 3-7 well-formed sequences) ---- */

/* Decodes the sequence at s[0..n), n >= 1. Returns its length 1..4 with *cp
 * set when well formed. Otherwise returns -k, k in 1..3: s[0..k) is a
 * maximal subpart of an ill-formed sequence (the unit that becomes one
 * U+FFFD under the standard's substitution practice); *cp is untouched. */
int seqc_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);

/* True when s[0..n) is a proper prefix of some well-formed sequence, i.e.
 * more bytes could complete it (n in 1..3). */
bool seqc_utf8_incomplete(const uint8_t *s, size_t n);

/* Offset of the first byte of the first ill-formed sequence in s[0..n), or
 * n when s is valid UTF-8. */
size_t seqc_utf8_first_invalid(const uint8_t *s, size_t n);

/* Records SEQC_EUTF8 for the ill-formed sequence at s[bad] (bad < n) and
 * returns it: "<what>: invalid UTF-8 at byte <base + bad> (0xNN): <why>". */
int seqc_utf8_error(const char *what, const uint8_t *s, size_t n, size_t bad, size_t base);

/* Copies s[0..n) to out replacing each maximal ill-formed subpart by U+FFFD;
 * out must hold 3 n bytes. Returns the bytes written. */
size_t seqc_utf8_replace(const uint8_t *s, size_t n, uint8_t *out);

/* Copies the well-formed sequences of s[0..n) to out, each ill-formed
 * subpart as U+FFFD, except that a final incomplete sequence is not written:
 * its length goes to *held (0 when none). out must hold 3 n bytes. Returns
 * the bytes written. This is what a streaming decoder emits. */
size_t seqc_utf8_complete(const uint8_t *s, size_t n, uint8_t *out, size_t *held);

/* ---- interning string table ---- */

/* Byte strings interned into one pool, each with a dense index 0, 1, ... in
 * insertion order; open addressing on a power-of-two slot array. Strings
 * may contain NUL; each is stored NUL-terminated. */
typedef struct seqc_strtab {
	char *pool;
	size_t pool_len, pool_cap;
	size_t *off;     /* [count] start of string i in pool */
	uint32_t *len;   /* [count] its length in bytes */
	uint32_t *hash;  /* [count] */
	size_t count, cap;
	int32_t *slots;  /* [nslots] string index, or -1 when empty */
	size_t nslots;
} seqc_strtab;

/* The longest string and the most strings a table holds. */
#define SEQC_STRTAB_MAX_LEN ((size_t)1 << 20)
#define SEQC_STRTAB_MAX_COUNT ((size_t)1 << 28)

void seqc_strtab_init(seqc_strtab *t);
void seqc_strtab_finish(seqc_strtab *t); /* frees; the table may be re-inited */

/* Index of s[0..n), or -1 when absent. */
int32_t seqc_strtab_find(const seqc_strtab *t, const void *s, size_t n);

/* Index of s[0..n), adding it when absent; *added (may be NULL) says which.
 * Negative code (SEQC_ENOMEM, with a message) on failure. */
int32_t seqc_strtab_intern(seqc_strtab *t, const void *s, size_t n, bool *added);

/* String i (NUL-terminated) and its length. */
static inline const char *seqc_strtab_get(const seqc_strtab *t, int32_t i, size_t *n)
{
	*n = t->len[i];
	return t->pool + t->off[i];
}

#endif
