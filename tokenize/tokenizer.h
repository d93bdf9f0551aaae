/* Tokenizers: text to token ids and back, behind one interface.
 *
 * A seqc_tok is opaque and has a kind: "char" (tokenize/char.h) today;
 * byte-level BPE and SentencePiece later. Every kind encodes UTF-8 text to
 * int32 ids (no bos/eos added), names its pieces, and serializes to a JSON
 * object that checkpoints store as __metadata__["seqc.tokenizer"].
 *
 * Ids are 0 .. vocab_size - 1. Special tokens (bos, eos, pad, unk) have ids
 * too; text never encodes to bos, eos or pad, and decoding drops specials
 * unless asked to show them.
 *
 * A tokenizer is read-only after creation: several threads may encode and
 * decode with the same one at once. A seqc_detok belongs to one thread. */
#ifndef SEQC_TOKENIZE_TOKENIZER_H
#define SEQC_TOKENIZE_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq/error.h"

typedef struct seqc_tok seqc_tok;

/* The longest piece of any kind, in bytes. */
#define SEQC_TOK_MAX_PIECE 1024

/* The most tokens a vocabulary may have (loaders reject more). */
#define SEQC_TOK_MAX_VOCAB ((size_t)1 << 22)

/* Unicode normalization applied to text before it is split into units. */
typedef enum seqc_norm {
	SEQC_NORM_NONE = 0, /* text as given */
	SEQC_NORM_NFC = 1,  /* canonical composition: e + U+0301 -> é */
	SEQC_NORM_NFKC = 2, /* compatibility composition: also fullwidth Ａ -> A */
} seqc_norm;

/* "none", "nfc", "nfkc"; NULL for a value outside the enum. */
SEQC_API const char *seqc_norm_name(seqc_norm norm);

/* The inverse of seqc_norm_name (case-sensitive). SEQC_EINVAL when name is
 * none of the three. */
SEQC_API int seqc_norm_from_name(const char *name, seqc_norm *norm);

SEQC_API void seqc_tok_destroy(seqc_tok *t); /* accepts NULL */

/* "char" (and later "bpe", "spm"). */
SEQC_API const char *seqc_tok_kind(const seqc_tok *t);

SEQC_API size_t seqc_tok_vocab_size(const seqc_tok *t);

/* Special token ids; -1 when the tokenizer has none. */
SEQC_API int32_t seqc_tok_bos(const seqc_tok *t);
SEQC_API int32_t seqc_tok_eos(const seqc_tok *t);
SEQC_API int32_t seqc_tok_pad(const seqc_tok *t);
SEQC_API int32_t seqc_tok_unk(const seqc_tok *t);

/* The id a language model starts each sequence from: bos, or eos when the
 * tokenizer has no bos (GPT-2's <|endoftext|> is both), or -1 when it has
 * neither. */
SEQC_API int32_t seqc_tok_start(const seqc_tok *t);

/* True when id is one of the special ids above. */
SEQC_API bool seqc_tok_is_special(const seqc_tok *t, int32_t id);

/* Encodes text (len bytes of UTF-8; a NUL byte is an ordinary character and
 * no terminator is needed) into a new array *ids of *n ids (never NULL on
 * success, even when *n is 0; the caller frees it with free). No bos/eos is
 * added; units outside the vocabulary become unk.
 *
 * Invalid UTF-8 gives SEQC_EUTF8 with the byte offset of the first bad byte
 * in the message ("invalid UTF-8 at byte 1234 (0xff): ..."), unless the
 * tokenizer replaces invalid input: then each maximal ill-formed subsequence
 * becomes U+FFFD, which is then normalized and looked up like any
 * character. On failure *ids is NULL and *n is 0. */
SEQC_API int seqc_tok_encode(const seqc_tok *t, const char *text, size_t len, int32_t **ids,
			     size_t *n);

/* The bytes of token id (*len of them, len may be NULL; NUL-terminated for
 * convenience, but a piece may itself contain a NUL byte, so use *len).
 * Special tokens give their display string ("<bos>"). NULL with
 * SEQC_ERANGE for an id outside the vocabulary. Valid as long as t. */
SEQC_API const char *seqc_tok_piece(const seqc_tok *t, int32_t id, size_t *len);

/* The id whose piece is exactly piece[0..len) (special display strings
 * included), or -1 when there is none. */
SEQC_API int32_t seqc_tok_id(const seqc_tok *t, const char *piece, size_t len);

/* ---- decoding ---- */

/* A streaming decoder: ids in, UTF-8 text out, never half a code point.
 * With byte-level tokenizers one token may end inside a character; the
 * decoder holds such an incomplete tail until the next token completes it.
 * Bytes that can never form a character are written as U+FFFD, so what it
 * writes is always valid UTF-8. */
typedef struct seqc_detok seqc_detok;

/* An output capacity that always suffices for one push or one flush: the
 * held tail (< 4 bytes) plus the longest piece, each byte at worst becoming
 * a 3-byte U+FFFD. */
#define SEQC_DETOK_MAX (3 * (SEQC_TOK_MAX_PIECE + 3))

/* A decoder for t (which must outlive it). Specials are hidden. NULL with
 * SEQC_ENOMEM on failure. */
SEQC_API seqc_detok *seqc_detok_create(const seqc_tok *t);
SEQC_API void seqc_detok_destroy(seqc_detok *d); /* accepts NULL */

/* Show special tokens as their display strings ("<eos>") instead of
 * dropping them. Returns the previous setting. */
SEQC_API bool seqc_detok_show_special(seqc_detok *d, bool show);

/* Decodes one id into out[0..cap): returns the number of bytes written (not
 * NUL-terminated; 0 when everything is held or the token is a hidden
 * special). SEQC_ERANGE for a bad id; SEQC_EINVAL when cap is too small,
 * with the size needed in the message (cap >= SEQC_DETOK_MAX always
 * suffices). On failure nothing is written and the decoder is unchanged. */
SEQC_API int seqc_detok_push(seqc_detok *d, int32_t id, char *out, size_t cap);

/* Ends the stream: an incomplete tail still held is written as U+FFFD.
 * Returns the bytes written (0 or 3); SEQC_EINVAL when that does not fit in
 * cap. The decoder is then ready for a new stream. */
SEQC_API int seqc_detok_flush(seqc_detok *d, char *out, size_t cap);

/* Decodes n ids at once (specials hidden) into a new NUL-terminated string
 * *text of *len bytes (excluding the NUL); the caller frees it with free.
 * SEQC_ERANGE for a bad id, naming its position. On failure *text is NULL. */
SEQC_API int seqc_tok_decode(const seqc_tok *t, const int32_t *ids, size_t n, char **text,
			     size_t *len);

/* A copy of text[0..len) in which each maximal ill-formed UTF-8
 * subsequence is replaced by U+FFFD (the Unicode standard's substitution
 * practice): *out_len bytes, NUL-terminated, freed with free. NULL with
 * SEQC_ENOMEM. For callers that ask for replacement instead of an error. */
SEQC_API char *seqc_utf8_sanitize(const char *text, size_t len, size_t *out_len);

/* ---- opening by name ---- */

/* The tokenizer a SPEC names, as every command's --tokenizer takes it:
 *   gpt2:DIR       GPT-2's encoder.json + vocab.bpe in DIR
 *   bpe:DIR        a byte-level BPE of ours (the same two files)
 *   spm:FILE       a SentencePiece .model file
 *   char:FILE      a tokenizer JSON file (seqc_tok_save_json_file)
 *   PATH           a checkpoint: the tokenizer in its metadata
 * NULL with the loader's message on failure. */
SEQC_API seqc_tok *seqc_tok_open(const char *spec);

/* ---- serialization ---- */

/* The tokenizer as a JSON object (a new compact UTF-8 string; free with
 * free). It holds "kind" and everything needed to rebuild the tokenizer
 * exactly (for "char": see tokenize/char.h). NULL on failure. */
SEQC_API char *seqc_tok_to_json(const seqc_tok *t);

/* Rebuilds a tokenizer from json[0..len). The input is not trusted: wrong
 * types, missing keys, duplicates, out-of-range ids and absurd sizes give
 * NULL with a message naming the key (SEQC_EFORMAT, SEQC_ENOMEM for sizes,
 * SEQC_EUNSUPPORTED for a kind this build lacks). */
SEQC_API seqc_tok *seqc_tok_from_json(const char *json, size_t len);

/* The same through a file. Saving writes a temporary file in the same
 * folder, syncs it and renames it over path, so a failed save leaves any
 * previous file intact. */
SEQC_API seqc_tok *seqc_tok_load_json_file(const char *path);
SEQC_API int seqc_tok_save_json_file(const seqc_tok *t, const char *path);

#endif
