/* Byte-level BPE, compatible with GPT-2, and a trainer for it.
 *
 * Text (valid UTF-8) is cut into pre-tokens by GPT-2's pattern
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (seqc_bpe_pretok_next); each pre-token starts as its bytes, one symbol
 * per byte, and the merges are applied by rank: the adjacent pair of lowest
 * rank merges first, the leftmost of equal pairs first, until no pair of
 * the word has a rank. The ids of the symbols left are the encoding. With
 * GPT-2's files this gives the ids of OpenAI's encoder.py, gpt-3-encoder and
 * tiktoken's "gpt2".
 *
 * \s is Python's str whitespace (str.isspace): U+0009..U+000D, U+001C..U+001F,
 * U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
 * U+205F, U+3000. \p{L} is the categories Lu Ll Lt Lm Lo and \p{N} Nd Nl No
 * of this build's utf8proc. JavaScript encoders differ on U+FEFF, U+0085
 * and U+001C..U+001F (whitespace or not); nothing else.
 *
 * Pieces are raw bytes: seqc_tok_piece gives the bytes a token stands for
 * (they may end inside a character: use seqc_detok for text), and decoding
 * is concatenation. On disk and in JSON a piece is spelled in GPT-2's
 * byte-to-unicode alphabet (each byte one printable character: the
 * printable Latin-1 bytes stand for themselves, the other 68 bytes for
 * U+0100..U+0143 in order, so a space is "Ġ" and a newline "Ċ").
 *
 * The special token "<|endoftext|>" (GPT-2: id 50256), when the vocabulary
 * has it, is both bos and eos; there is no pad and no unk (every byte has a
 * token). Text never encodes to it: the literal text "<|endoftext|>" is
 * encoded as ordinary text ("<|", "endoftext", "|>"), as gpt-3-encoder and
 * tiktoken's encode_ordinary do.
 *
 * Speed: a pre-token that is a whole token of the vocabulary (most English
 * words) is one table lookup; others merge on a small array, and pre-tokens
 * longer than 64 bytes on a heap of candidate pairs (O(n log n): a 10 MB
 * line of letters is one 10 MB pre-token). A tokenizer keeps no cache and
 * is never written after creation, so threads may share one. Measured on
 * this project's 2-core machine while other jobs shared it: GPT-2 encodes
 * tiny Shakespeare at 33 MB/s on one thread; one pre-token of 3 MB of
 * random letters takes about 1 s (the heap's cache misses dominate) and
 * 28 bytes of memory per byte.
 *
 * Files (seqc_bpe_load, seqc_bpe_save), GPT-2's and ours alike:
 *   encoder.json  {"piece": id, ...}: ids 0..n-1, each once; every byte
 *                 must have a token; specials spelled as themselves.
 *   vocab.bpe     "#version: 0.2" then one merge "left right" a line, by
 *                 rank. Both pieces and their concatenation must be tokens.
 *                 A first line starting with "#version" is skipped (GPT-2's
 *                 encoder.py skips the first line whatever it is; without a
 *                 header that would drop the first merge, so we do not).
 *
 * JSON form (seqc_tok_to_json):
 *   {"kind": "bpe", "version": 1, "replace_invalid": false,
 *    "bos_id": 50256, "eos_id": 50256,
 *    "vocab": ["!", "\"", ..., "<|endoftext|>"], "merges": ["Ġ t", ...]}
 * "vocab" lists every piece by id in the alphabet above (specials as
 * themselves), "merges" every merge by rank. */
#ifndef SEQC_TOKENIZE_BPE_H
#define SEQC_TOKENIZE_BPE_H

#include <stdbool.h>
#include <stddef.h>

#include "tokenize/tokenizer.h"

/* The special token of GPT-2's vocabulary and of the trainer's. */
#define SEQC_BPE_EOT "<|endoftext|>"

typedef struct seqc_bpe_opts {
	bool replace_invalid; /* invalid UTF-8 becomes U+FFFD instead of an error (false) */
} seqc_bpe_opts;

/* The defaults above. */
SEQC_API seqc_bpe_opts seqc_bpe_defaults(void);

/* Reads dir/encoder.json and dir/vocab.bpe with the default options. NULL
 * on failure, with a message naming the file and the line or key at fault:
 * SEQC_EIO (cannot read), SEQC_EFORMAT (bad JSON, a non-integer, repeated
 * or out-of-range id, a missing byte token, a merge line that is not two
 * pieces of the vocabulary, a repeated merge), SEQC_ENOMEM (absurd sizes:
 * more than SEQC_TOK_MAX_VOCAB tokens, a piece over SEQC_TOK_MAX_PIECE
 * bytes). */
SEQC_API seqc_tok *seqc_bpe_load(const char *dir);
SEQC_API seqc_tok *seqc_bpe_load_opts(const char *dir, const seqc_bpe_opts *opts);

/* The same from the two files' contents in memory (opts NULL: defaults). */
SEQC_API seqc_tok *seqc_bpe_load_mem(const char *encoder_json, size_t encoder_len,
				     const char *merges, size_t merges_len,
				     const seqc_bpe_opts *opts);

/* Writes t (a "bpe" tokenizer) as dir/encoder.json and dir/vocab.bpe (the
 * folder must exist). Each file is written to a temporary file beside it,
 * synced and renamed over the old one, so a failed save leaves each file
 * whole (either the old or the new one). SEQC_EUNSUPPORTED when the
 * special token is not "<|endoftext|>", the only one the files can name. */
SEQC_API int seqc_bpe_save(const seqc_tok *t, const char *dir);

/* The end of the pre-token that starts at text[pos]: the next pos (len when
 * pos >= len). pos should start a character of valid UTF-8; an invalid
 * byte counts as one character of class "other". */
SEQC_API size_t seqc_bpe_pretok_next(const char *text, size_t len, size_t pos);

/* ---- training ---- */

typedef struct seqc_bpe_train_opts {
	bool replace_invalid; /* for the corpus and the tokenizer made (false) */
} seqc_bpe_train_opts;

/* Trains a byte-level BPE on text[0..len) (UTF-8) into a new tokenizer *out
 * of at most vocab_size tokens: the 256 bytes (ids 0..255, in the order of
 * GPT-2's first 256 ids), one token per merge, and "<|endoftext|>" last.
 * The text is cut into pre-tokens as for encoding (a pre-token longer than
 * SEQC_TOK_MAX_PIECE bytes counts as pieces of that length); then, until the
 * vocabulary is full, the most frequent adjacent pair of symbols (counted
 * over every occurrence of every pre-token) becomes a merge. Equal counts:
 * the pair whose left piece is bytewise smaller wins, then the smaller
 * right piece. Pair counts are updated where a merge changes them, never
 * recounted. Fewer tokens when the corpus runs out of pairs. opts may be
 * NULL. SEQC_EINVAL for vocab_size < 257 or above SEQC_TOK_MAX_VOCAB;
 * SEQC_EUTF8 with the byte offset for invalid UTF-8 (unless replaced);
 * SEQC_ENOMEM. On failure *out is NULL. */
SEQC_API int seqc_bpe_train(const char *text, size_t len, size_t vocab_size,
			    const seqc_bpe_train_opts *opts, seqc_tok **out);

#endif
