/* The character tokenizer: one token per character of a corpus.
 *
 * Text is decoded as UTF-8, normalized (NFC by default), and split into
 * units: Unicode code points, or extended grapheme clusters (what a reader
 * sees as one character: "e" + U+0301, a flag, a ZWJ emoji family). A
 * grapheme cluster longer than SEQC_TOK_MAX_PIECE bytes is cut at code
 * point boundaries into pieces no longer than that. CR, LF, tab and other
 * control characters are ordinary units ("\r\n" is one grapheme cluster).
 *
 * The vocabulary is the special tokens <pad>=0, <unk>=1, <bos>=2, <eos>=3,
 * then the corpus's units in bytewise UTF-8 order (which is code point
 * order). With a cap, only the max_vocab - 4 most frequent units are kept
 * (equal counts: the smaller bytes win), still in bytewise order.
 *
 * JSON form (seqc_tok_to_json):
 *   {"kind": "char", "version": 1, "normalization": "none"|"nfc"|"nfkc",
 *    "units": "codepoint"|"grapheme", "replace_invalid": false,
 *    "pad_id": 0, "unk_id": 1, "bos_id": 2, "eos_id": 3,
 *    "vocab": ["<pad>", "<unk>", "<bos>", "<eos>", "\n", " ", "!", ...]}
 * "vocab" lists every piece in id order, specials as their display strings.
 * A loaded vocabulary may place specials anywhere, or omit one with id -1
 * (without unk, encoding a unit outside the vocabulary fails with
 * SEQC_ERANGE); every other entry must be exactly one unit, and no entry
 * may repeat. */
#ifndef SEQC_TOKENIZE_CHAR_H
#define SEQC_TOKENIZE_CHAR_H

#include <stdbool.h>
#include <stddef.h>

#include "tokenize/tokenizer.h"

typedef struct seqc_char_opts {
	seqc_norm norm;       /* normalization before splitting (NFC) */
	bool graphemes;       /* units are grapheme clusters, not code points (false) */
	size_t max_vocab;     /* cap on the vocabulary, specials included; 0: none (0) */
	bool replace_invalid; /* invalid UTF-8 becomes U+FFFD instead of an error (false) */
} seqc_char_opts;

/* The defaults above: NFC, code points, no cap, no replacement. */
SEQC_API seqc_char_opts seqc_char_defaults(void);

/* Builds a character tokenizer from the corpus text[0..len) (UTF-8; opts
 * NULL for the defaults); the options are kept and apply to encoding too.
 * NULL on failure: SEQC_EINVAL for an empty corpus or max_vocab in 1..4,
 * SEQC_EUTF8 for invalid UTF-8 (with the byte offset), SEQC_ENOMEM. One
 * pass over the corpus, about 100 MB/s on this project's machine (tiny
 * Shakespeare, 1.1 MB: 8 ms to build, 11 ms to encode); memory beyond the
 * text is a few chunks of 64 KiB and the table of distinct units. */
SEQC_API seqc_tok *seqc_tok_char_build(const char *text, size_t len, const seqc_char_opts *opts);

/* The options of a char tokenizer into *opts (max_vocab: the vocabulary
 * size). SEQC_EINVAL when t is of another kind. */
SEQC_API int seqc_tok_char_opts(const seqc_tok *t, seqc_char_opts *opts);

#endif
