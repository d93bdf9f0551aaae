/* Parallel-corpus data for sequence-to-sequence training: sentence pairs
 * read from two line-aligned files (line i of the source file translates
 * to line i of the target file), tokenized once into one flat id array, and
 * cut into padded batches of similar lengths (the models/s2s.h batch), as
 * fairseq and Marian batch by a token budget.
 *
 * Lengths as the model sees them (models/s2s.h): a source x_1..x_m takes
 * m + 1 positions (eos appended), a target y_1..y_n takes n + 1 decoder
 * positions (bos y_1..y_n in, y_1..y_n eos out). max_len, the longest
 * lengths and the token totals below count these positions; the stored
 * ids hold only x and y.
 *
 * The same struct serves translation (seqc_sources_*): source lines with
 * no target, every line kept in file order, over-long and empty lines
 * counted for the caller to decide about (seqc_sources_truncate). */
#ifndef SEQC_TRAIN_PAIRS_H
#define SEQC_TRAIN_PAIRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "models/s2s.h"
#include "seq/rng.h"
#include "tokenize/tokenizer.h"

/* The longest line accepted, in bytes: a longer one is not a sentence
 * (a binary file, or a corpus without line breaks). */
#define SEQC_PAIRS_MAX_LINE ((size_t)1 << 20)

typedef struct seqc_pairs_options {
	const char *src_path; /* source file (also names the source in messages; NULL: "source") */
	const char *tgt_path; /* target file (NULL: "target"); unused for sources */
	const seqc_tok *src_tok;
	const seqc_tok *tgt_tok; /* may be src_tok (a joint vocabulary); unused for sources */
	size_t max_len;          /* pairs: skip a pair with a side over this many positions;
				  * sources: count lines over it; 0: no limit */
	bool replace_invalid;    /* invalid UTF-8 becomes U+FFFD instead of an error */
} seqc_pairs_options;

typedef struct seqc_pair {
	size_t off;       /* source ids at ids + off, the target's right after them */
	uint32_t src_len; /* m: source tokens stored (eos not stored) */
	uint32_t tgt_len; /* n: target tokens stored (bos, eos not stored); 0 for sources */
	uint32_t line;    /* 1-based line in the files */
} seqc_pair;

typedef struct seqc_pairs {
	int32_t *ids;     /* every stored token, pair after pair */
	seqc_pair *pairs; /* [n] in file order */
	size_t n;         /* pairs kept (sources: lines) */
	bool has_target;  /* false for sources */

	/* pairs: skipped (not in pairs[]); sources: kept and only counted */
	size_t n_long;  /* lines with a side over max_len positions */
	size_t n_empty; /* lines with an empty side (checked before length) */
	size_t n_replaced; /* lines in which invalid UTF-8 was replaced */

	size_t max_src, max_tgt;       /* longest kept, in positions (m + 1, n + 1; 0 for no target) */
	size_t src_tokens, tgt_tokens; /* sums of the kept positions (m + 1, n + 1) */

	/* the special ids batches use, from the tokenizers: src_pad and tgt_pad
	 * are the tokenizer's pad, or its eos when it has none (padding may be
	 * any id in range: it is masked or ignored); tgt_bos is
	 * seqc_tok_start (bos, or eos for GPT-2-like vocabularies) */
	int32_t src_eos, src_pad, tgt_bos, tgt_eos, tgt_pad;
	size_t src_vocab, tgt_vocab; /* for seqc_s2s_batch_check */
} seqc_pairs;

/* Reads o->src_path and o->tgt_path whole, splits both into lines (\n or
 * \r\n ends a line; a final line needs no line break; a UTF-8 byte-order
 * mark at the start is dropped), tokenizes each, and keeps the pairs whose
 * sides are both non-empty and at most max_len positions, in file order.
 * A lone \r at the very end is dropped too; other \r bytes are text.
 * On failure *out is zeroed (safe to free) and the message names the
 * problem: a file that cannot be read, an empty file, different line
 * counts (both files and both counts), a line over SEQC_PAIRS_MAX_LINE
 * bytes, more than INT32_MAX lines, invalid UTF-8 (SEQC_EUTF8,
 * "file:line: ... at byte k" within the line) unless replace_invalid, a
 * tokenizer without eos, or no pair left after skipping (with the counts).
 * Lines are tokenized in chunks of 1024 on the OpenMP threads (the
 * tokenizer is shared read-only) and joined in file order; the error
 * reported is the first in file order. Multi30k's 29,000 pairs with the
 * joint 8k SentencePiece model: 1.15 s on this project's 2 cores while
 * other jobs ran (load 6), nearly all of it SentencePiece's encoding. */
SEQC_API int seqc_pairs_load(const seqc_pairs_options *o, seqc_pairs *out);

/* The same from memory: the two files' contents (src[0..src_len),
 * tgt[0..tgt_len)); o's paths only name the sides in messages. */
SEQC_API int seqc_pairs_from_text(const seqc_pairs_options *o, const char *src, size_t src_len,
				  const char *tgt, size_t tgt_len, seqc_pairs *out);

/* Source lines to translate: every line kept, in order (an empty line is
 * a source of one position, eos alone); lines over o->max_len positions
 * are counted in n_long, empty ones in n_empty. Uses src_path, src_tok,
 * max_len and replace_invalid of o. An empty file is an error, as above. */
SEQC_API int seqc_sources_load(const seqc_pairs_options *o, seqc_pairs *out);
SEQC_API int seqc_sources_from_text(const seqc_pairs_options *o, const char *text, size_t len,
				    seqc_pairs *out);
/* The same from n strings (NUL-terminated, without line endings; n may
 * be 0 for no line). Line numbers are 1..n. */
SEQC_API int seqc_sources_from_lines(const seqc_pairs_options *o, const char *const *lines,
				     size_t n, seqc_pairs *out);

/* Cuts every source over max_len positions to its first max_len - 1
 * tokens (then eos); returns how many were cut (their line fields say
 * which), SEQC_EINVAL for max_len < 2. Updates max_src and src_tokens. */
SEQC_API long seqc_sources_truncate(seqc_pairs *p, size_t max_len);

SEQC_API void seqc_pairs_free(seqc_pairs *p); /* zeroes *p; accepts NULL and a zeroed struct */

/* ---- batches ---- */

typedef enum seqc_batch_order {
	/* training: pairs sorted by (source, target) length with ties in
	 * random order, cut into batches, batches in random order; ties and
	 * order drawn again every epoch (so batch members vary too) */
	SEQC_BATCHES_SHUFFLE = 0,
	/* validation, scoring, translation: sorted by length, ties in file
	 * order, batches from the shortest; the same every epoch. Each batch's
	 * rows map back to file order through seqc_batches_rows. */
	SEQC_BATCHES_SORTED = 1,
	/* file order, cut where the budget is reached; the same every epoch */
	SEQC_BATCHES_FILE = 2,
} seqc_batch_order;

typedef struct seqc_batches seqc_batches;

/* Batches of p (which must outlive them): consecutive pairs of the
 * order above while B * max(S, T) <= max_tokens (T = 0 for sources) and B
 * <= max_sentences (0: no limit); a pair alone over max_tokens is a batch
 * of its own. rng (SHUFFLE only; may be NULL otherwise) is copied: the
 * first epoch's arrangement is drawn from the copy. Preallocates the
 * batch-owned storage (see seqc_batches_fill). NULL with SEQC_EINVAL for
 * max_tokens 0, an empty p, or SHUFFLE without rng; SEQC_ENOMEM. */
SEQC_API seqc_batches *seqc_batches_build(const seqc_pairs *p, size_t max_tokens,
					  size_t max_sentences, seqc_batch_order order,
					  const seqc_rng *rng);
SEQC_API void seqc_batches_destroy(seqc_batches *bt); /* accepts NULL */

/* Batches in the current epoch's arrangement (may change from epoch to
 * epoch with SHUFFLE, as batch members do). */
SEQC_API size_t seqc_batches_count(const seqc_batches *bt);

/* The pair indices (into p->pairs) of batch i, row by row: the map from a
 * batch's rows back to file order. *rows gets B. NULL for i out of range. */
SEQC_API const uint32_t *seqc_batches_rows(const seqc_batches *bt, size_t i, size_t *rows);

/* What a filled batch holds. */
typedef struct seqc_batch_info {
	size_t index;      /* the batch's index in its epoch */
	uint64_t epoch;    /* the epoch it belongs to (0 first) */
	size_t rows;       /* B */
	size_t src_tokens; /* real source positions (m + 1 per row) */
	size_t tgt_tokens; /* scored target positions (n + 1 per row): for tokens/s */
	double padded;     /* padding's share of the B * S + B * T positions */
} seqc_batch_info;

/* Caller-owned storage for filled batches, sized once for the largest
 * batch bt can make (so filling never allocates): e.g. to fill the next
 * batch while the current one trains. */
typedef struct seqc_s2s_store {
	int32_t *src, *tgt_in, *tgt_out; /* cap_ids each */
	size_t *src_lens;                /* cap_rows */
	size_t cap_ids, cap_rows;
} seqc_s2s_store;
SEQC_API int seqc_s2s_store_init(seqc_s2s_store *st, const seqc_batches *bt);
SEQC_API void seqc_s2s_store_free(seqc_s2s_store *st); /* zeroes; accepts NULL and a zeroed one */

/* Batch i of the current epoch into *b, its arrays in st (NULL: the
 * batches' own storage, overwritten by the next fill): src [B, S] is
 * x_1..x_m eos then the source pad, src_lens m + 1; tgt_in [B, T] is bos
 * y_1..y_n then the target pad, tgt_out [B, T] y_1..y_n eos then -1; S and
 * T the longest row's. Sources (no target): T = 0, tgt_in and tgt_out
 * NULL. info may be NULL. SEQC_ERANGE for i >= count; SEQC_EINVAL when st
 * is too small. */
SEQC_API int seqc_batches_fill(seqc_batches *bt, size_t i, seqc_s2s_store *st,
			       seqc_s2s_batch *b, seqc_batch_info *info);

/* The training iterator: fills the next batch of the epoch and moves on;
 * after the last batch of an epoch, the next call begins a new epoch (a
 * new arrangement with SHUFFLE) and fills its first batch. */
SEQC_API int seqc_batches_next(seqc_batches *bt, seqc_s2s_store *st, seqc_s2s_batch *b,
			       seqc_batch_info *info);

/* Where the iterator is, for exact resume: save it with a checkpoint; to
 * resume, build the batches again from the same pairs, sizes and order,
 * then set the saved state: the same batches follow, in the same order. */
typedef struct seqc_batches_state {
	uint64_t epoch; /* the current epoch (0 first) */
	uint64_t next;  /* index of the next batch in it (may equal the count: epoch done) */
	seqc_rng rng;   /* the data stream as this epoch began (its arrangement is drawn from it) */
} seqc_batches_state;

SEQC_API void seqc_batches_get_state(const seqc_batches *bt, seqc_batches_state *s);
/* SEQC_EINVAL when the state cannot be this corpus's (an even rng.inc, or
 * next beyond the epoch's batch count); bt is then unchanged. */
SEQC_API int seqc_batches_set_state(seqc_batches *bt, const seqc_batches_state *s);

#endif
