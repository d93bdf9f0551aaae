/* The C face of SentencePiece: tokenize/spm-shim.cc wraps Debian's
 * libsentencepiece (0.1.97, a C++ library) behind an opaque struct and C
 * functions. Private to the library: tokenize/spm.c builds the "spm"
 * tokenizer kind on it, and tests reach the error paths through it.
 *
 * No C++ exception ever leaves these functions: each entry point catches
 * everything, and every failure (a bad util::Status from the library, an
 * exception, a bad argument) becomes a negative SEQC_E* code, or NULL, with
 * a message from seqc_error naming the input ("what") and the problem,
 * SentencePiece's own message included.
 *
 * Text handed to these functions must already be valid UTF-8: spm.c checks
 * it first, so that the error names the byte offset. A loaded model is
 * read-only: several threads may encode with it at once. */
#ifndef SEQC_TOKENIZE_SPM_SHIM_H
#define SEQC_TOKENIZE_SPM_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenize/spm.h"
#include "tokenize/tok_internal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct seqc_spm seqc_spm;

/* What SentencePiece says a vocabulary entry is. */
typedef enum seqc_spm_piece_type {
	SEQC_SPM_PIECE_NORMAL = 0,  /* learned from text (also user-defined) */
	SEQC_SPM_PIECE_UNKNOWN = 1, /* <unk> */
	SEQC_SPM_PIECE_CONTROL = 2, /* <s>, </s>, <pad>: never produced by text */
	SEQC_SPM_PIECE_UNUSED = 3,  /* present but switched off */
	SEQC_SPM_PIECE_BYTE = 4,    /* <0xNN>: one raw byte (byte fallback) */
} seqc_spm_piece_type;

/* A model from a .model file (a serialized ModelProto), or from len bytes
 * of one (what names them in messages). NULL on failure: SEQC_EIO when the
 * file cannot be read, SEQC_EFORMAT when the bytes are not a usable model
 * (empty, truncated, garbage), SEQC_ENOMEM. */
seqc_spm *seqc_spm_shim_load_file(const char *path);
seqc_spm *seqc_spm_shim_load_bytes(const void *data, size_t len, const char *what);
void seqc_spm_shim_free(seqc_spm *sp); /* accepts NULL */

size_t seqc_spm_shim_vocab_size(const seqc_spm *sp);

/* The model's special ids, -1 for each it lacks. */
void seqc_spm_shim_specials(const seqc_spm *sp, int32_t *bos, int32_t *eos, int32_t *pad,
			    int32_t *unk);

/* The piece of id (*len bytes; NUL-terminated), valid as long as sp. NULL
 * with SEQC_ERANGE for an id outside [0, vocab size). */
const char *seqc_spm_shim_id_to_piece(const seqc_spm *sp, int32_t id, size_t *len);

/* The type of a valid id. */
seqc_spm_piece_type seqc_spm_shim_piece_type(const seqc_spm *sp, int32_t id);

/* The id of piece[0..len), or -1 when the vocabulary has no such piece
 * (SentencePiece itself answers unk). */
int32_t seqc_spm_shim_piece_to_id(const seqc_spm *sp, const char *piece, size_t len);

/* The best encoding of text[0..len) appended to out (no bos/eos). */
int seqc_spm_shim_encode_ids(const seqc_spm *sp, const char *text, size_t len, seqc_idvec *out);

/* The best encoding as pieces: *n pieces packed into one new buffer *buf
 * (free with free), piece i at *buf + (*off)[i], (*off)[i + 1] - (*off)[i]
 * - 1 bytes long, NUL-terminated; *off has *n + 1 entries (free with free).
 * Characters outside the vocabulary come out as themselves here, where the
 * ids say unk. */
int seqc_spm_shim_encode_pieces(const seqc_spm *sp, const char *text, size_t len, char **buf,
				size_t **off, size_t *n);

/* One sampled encoding (subword regularization) appended to out: unigram
 * models sample among the nbest best encodings (nbest > 1) or from the whole
 * lattice (nbest < 0) with smoothing alpha; BPE models drop merges with
 * probability alpha (nbest is ignored). SentencePiece's random generator is
 * reseeded from seed on the calling thread first, so a seed gives the same
 * encoding every time, on any thread. */
int seqc_spm_shim_sample_ids(const seqc_spm *sp, const char *text, size_t len, int nbest,
			     float alpha, uint64_t seed, seqc_idvec *out);

/* The n best encodings (unigram models only; SEQC_EUNSUPPORTED for other
 * types), best first, into *out (see tokenize/spm.h). */
int seqc_spm_shim_nbest(const seqc_spm *sp, const char *text, size_t len, int n,
			seqc_spm_nbest *out);

/* DecodeIds: the text of ids[0..n) exactly as SentencePiece writes it, in a
 * new NUL-terminated string *text of *len bytes (free with free).
 * SEQC_ERANGE naming the position of an id outside the vocabulary. */
int seqc_spm_shim_decode_ids(const seqc_spm *sp, const int32_t *ids, size_t n, char **text,
			     size_t *len);

/* The serialized model (a copy to free with free): what load_bytes takes. */
int seqc_spm_shim_model_bytes(const seqc_spm *sp, char **data, size_t *len);

/* Trains a model with SentencePiece's trainer on the lines of text[0..len)
 * (one sentence per line; '\n' separates them and is not part of any),
 * model_type "unigram" or "bpe", vocab_size pieces in all. extra holds more
 * spm_train flags ("--character_coverage=1.0 --num_threads=1"; NULL for
 * none); the four that the arguments set are refused there. The trainer
 * logs to stderr only when verbose. The new model's bytes go to *model
 * (free with free). SEQC_EINVAL for options the trainer rejects or a vocab
 * size it cannot reach, with its message. */
int seqc_spm_shim_train(const char *text, size_t len, const char *model_type, size_t vocab_size,
			const char *extra, bool verbose, char **model, size_t *model_len);

#ifdef __cplusplus
}
#endif

#endif
