/* The SentencePiece tokenizer (kind "spm"): a .model file trained by
 * SentencePiece (unigram or BPE), run by Debian's libsentencepiece through
 * a small C shim. Encoding gives exactly the ids of spm_encode and of
 * SentencePieceProcessor::Encode on the same model.
 *
 * Special ids come from the model: <unk> (usually 0), <s> as bos (1), </s>
 * as eos (2), <pad> (-1, i.e. none, unless the model was trained with
 * one). Pieces are the model's strings: "▁the" with U+2581 marking a word
 * start, control symbols as themselves ("<s>", "</s>"), byte-fallback
 * pieces as "<0x41>". Text outside the vocabulary encodes to unk (or to
 * byte pieces when the model has byte fallback).
 *
 * seqc_tok_encode hands the whole text to one SentencePiece Encode call.
 * Models trained with the default normalization (nmt_nfkc) read newlines
 * and tabs as spaces and a NUL byte as unk, so a text of several lines
 * decodes as one; encode line by line, as spm_encode does, to keep lines.
 * That is also faster for BPE models: all of Tiny Shakespeare (1.1 MB) in
 * one call takes 4 to 5 times as long as its 40,000 lines one at a time
 * (bench/bench_spm.c). Texts above 512 MiB are refused (SEQC_ENOMEM): encode
 * them in parts.
 *
 * Decoding through seqc_tok_decode and seqc_detok maps U+2581 to a space
 * and byte pieces to their byte, one id at a time, so it streams. It equals
 * SentencePiece's DecodeIds, which drops the space that starts the first
 * piece (the one SentencePiece itself added: "▁the" first gives "the"); the
 * stream does the same, dropping one leading space of the first visible
 * piece after creation or a flush, when the model's own decoder does so.
 * It differs in two ways: (1) when the stream starts with a shown special
 * ("<s>"), the next word keeps its space; (2) unk is a special id, so it is hidden (or shown
 * as "<unk>" with seqc_detok_show_special), where DecodeIds writes " ⁇ ";
 * and byte pieces that do not form UTF-8 become one U+FFFD per maximal
 * ill-formed subpart (Unicode's recommended practice), where DecodeIds
 * writes one per byte: <0xE2> <0x82> (a cut "€") gives one U+FFFD here,
 * two there. seqc_spm_decode is DecodeIds itself.
 *
 * JSON form (seqc_tok_to_json), for checkpoints, which then need no other
 * file:
 *   {"kind": "spm", "version": 1, "model": "<the .model bytes in base64>"}
 * Base64 is standard (RFC 4648: A-Z a-z 0-9 + /, '=' padding to a multiple
 * of 4, no line breaks) and read strictly: any other character, misplaced
 * padding or nonzero spare bits is SEQC_EFORMAT naming the offset. */
#ifndef SEQC_TOKENIZE_SPM_H
#define SEQC_TOKENIZE_SPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenize/tokenizer.h"

/* A tokenizer from a SentencePiece .model file. NULL on failure, naming
 * the file: SEQC_EIO when it cannot be read; SEQC_EFORMAT when it is not a
 * model (empty, truncated, garbage; SentencePiece's message included);
 * SEQC_EUNSUPPORTED for a model this library cannot carry (a piece longer
 * than SEQC_TOK_MAX_PIECE bytes, a vocabulary above SEQC_TOK_MAX_VOCAB). */
SEQC_API seqc_tok *seqc_spm_load(const char *path);

/* The same from the len bytes of a .model file in memory. */
SEQC_API seqc_tok *seqc_spm_load_mem(const void *data, size_t len);

/* True when t is of kind "spm" (the functions below need one). */
SEQC_API bool seqc_tok_is_spm(const seqc_tok *t);

/* Subword regularization: one sampled encoding of text[0..len) into a new
 * array *ids of *n ids (free with free). Unigram models sample among the
 * nbest best encodings (nbest > 1; 1 is the best one) or from all of them
 * (nbest < 0), each with probability proportional to P(encoding)^alpha, so
 * alpha 0 is uniform and large alpha the best; BPE models drop each merge
 * with probability alpha (BPE-dropout: 0 is the best encoding, 1 or more
 * leaves single characters; nbest is ignored). The
 * same seed gives the same encoding, on any thread; vary it per sentence.
 * SEQC_EINVAL for nbest 0, alpha negative or not finite,
 * a tokenizer of another kind; SEQC_EUTF8 as for seqc_tok_encode. */
SEQC_API int seqc_spm_encode_sample(const seqc_tok *t, const char *text, size_t len, int nbest,
				    float alpha, uint64_t seed, int32_t **ids, size_t *n);

/* The n best encodings of one text. */
typedef struct seqc_spm_nbest {
	size_t count;   /* encodings found (at most n; fewer when there are fewer) */
	int32_t *ids;   /* every encoding's ids, one after another */
	size_t *start;  /* [count + 1]: encoding i is ids[start[i] .. start[i + 1]) */
	float *score;   /* [count]: its log probability under the model, decreasing */
} seqc_spm_nbest;

/* The n >= 1 best encodings of text[0..len), best first, distinct (an
 * empty text, or one of spaces only, has one: no ids, score 0). Unigram
 * models only: SEQC_EUNSUPPORTED for BPE. Free with seqc_spm_nbest_finish;
 * on failure *out is empty. */
SEQC_API int seqc_spm_encode_nbest(const seqc_tok *t, const char *text, size_t len, int n,
				   seqc_spm_nbest *out);
SEQC_API void seqc_spm_nbest_finish(seqc_spm_nbest *nb); /* accepts NULL and empty */

/* SentencePiece's own DecodeIds of ids[0..n) into a new NUL-terminated
 * string *text of *len bytes (len may be NULL; free with free). SEQC_ERANGE
 * naming the position of an id outside the vocabulary. */
SEQC_API int seqc_spm_decode(const seqc_tok *t, const int32_t *ids, size_t n, char **text,
			     size_t *len);

/* The model as .model file bytes, a new buffer *data of *len bytes (free
 * with free): what seqc_spm_load_mem takes and spm_encode --model reads. */
SEQC_API int seqc_spm_model_bytes(const seqc_tok *t, char **data, size_t *len);

/* Writes the model's .model bytes to path atomically (a temporary file
 * beside it, synced, renamed over path): spm_encode and every
 * SentencePiece library read it. */
SEQC_API int seqc_spm_save(const seqc_tok *t, const char *path);

/* ---- training ---- */

typedef enum seqc_spm_type {
	SEQC_SPM_UNIGRAM = 0,
	SEQC_SPM_BPE = 1,
} seqc_spm_type;

/* "unigram" or "bpe"; NULL outside the enum. */
SEQC_API const char *seqc_spm_type_name(seqc_spm_type type);

/* The inverse (case-sensitive); SEQC_EINVAL for another name. */
SEQC_API int seqc_spm_type_from_name(const char *name, seqc_spm_type *type);

typedef struct seqc_spm_train_opts {
	seqc_spm_type type;  /* the model (unigram) */
	size_t vocab_size;   /* pieces in all, specials included (8000) */
	/* More spm_train flags, space-separated, as spm_train takes them:
	 * "--character_coverage=1.0 --num_threads=1 --byte_fallback=true".
	 * NULL for none; --input, --model_prefix, --model_type and
	 * --vocab_size are refused here (the rest of this struct sets them). */
	const char *extra;
	bool verbose;        /* let the trainer log its progress to stderr (false) */
} seqc_spm_train_opts;

/* The defaults above. Unset flags keep spm_train's defaults: nmt_nfkc
 * normalization, character_coverage 0.9995, <unk>=0 <s>=1 </s>=2, no pad. */
SEQC_API seqc_spm_train_opts seqc_spm_train_defaults(void);

/* Trains a model with SentencePiece's trainer on text[0..len), one
 * sentence per line, and returns it as a tokenizer (its bytes through
 * seqc_spm_model_bytes). opts NULL: the defaults. NULL on failure:
 * SEQC_EINVAL for an empty corpus, a vocab_size below 2, options the trainer
 * rejects or a vocabulary it cannot reach (its message included, e.g. "Vocabulary
 * size too high (100000). Please set it to a value <= 9199."); SEQC_EUTF8
 * for invalid UTF-8 in the corpus. The trainer is deterministic for a fixed
 * corpus and options (with --num_threads=1; several threads may order
 * floating-point sums differently). */
SEQC_API seqc_tok *seqc_spm_train(const char *text, size_t len, const seqc_spm_train_opts *opts);

/* The same on the lines of a file; SEQC_EIO naming it when it cannot be
 * read. */
SEQC_API seqc_tok *seqc_spm_train_file(const char *path, const seqc_spm_train_opts *opts);

#endif
