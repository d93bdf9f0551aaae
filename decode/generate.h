/* Generation: B prompts continued at once through the step interface of
 * any model (models/model.h), token by token, with the sampler of
 * decode/sample.h (temperature 0 is greedy decoding).
 *
 * Rows. Every row has its own sampler seeded with seed + its index, so a
 * row's tokens do not depend on how many rows run beside it (up to the
 * rounding of batched products). All rows step together, one position per
 * seqc_model_step call. Prompts of different lengths are exact: position t
 * feeds token t of every row; a row whose prompt is longer than t + 1
 * ignores its logits (its next token is forced: its own prompt's), while a
 * row whose prompt has ended samples. Nothing is padded, so no mask is
 * needed. A row that finishes is dropped from the model with
 * seqc_model_reorder, so finished rows cost nothing.
 *
 * History. The processors that look back (repetition penalty, no-repeat
 * n-gram) see the row's prompt after its first (start) token and what the
 * row has generated. min_length and max_length count generated tokens.
 *
 * A full context. When step fails with SEQC_ERANGE (gpt: all positions
 * used) after N positions, every row starts again on the last N / 2 + 1
 * tokens it fed (all rows at once: the cache is the model's), and
 * generation goes on: it slides past the context. With no_slide, or a
 * context too short to slide, the rows end with SEQC_FINISH_CONTEXT.
 *
 * Ends. A row ends at eos (not part of its ids or text), after max_length
 * generated tokens, when its text contains a stop string, or at a full
 * context. A stop string is searched in the row's decoded text (stop
 * strings need a tokenizer); the text is cut just before the first stop
 * string found, which is not part of the text nor ever given to the
 * callback; the row's ids keep every token drawn, including those that
 * spelled the stop string. */
#ifndef SEQC_DECODE_GENERATE_H
#define SEQC_DECODE_GENERATE_H

#include "decode/sample.h"
#include "models/model.h"
#include "tokenize/tokenizer.h"

typedef enum seqc_finish {
	SEQC_FINISH_EOS = 1,     /* drew eos */
	SEQC_FINISH_LENGTH = 2,  /* max_length tokens generated */
	SEQC_FINISH_STOP = 3,    /* its text reached a stop string */
	SEQC_FINISH_CONTEXT = 4, /* the model's context is full and sliding is off */
} seqc_finish;

/* "eos", "length", "stop", "context"; NULL for a value outside the enum. */
SEQC_API const char *seqc_finish_name(seqc_finish f);

typedef struct seqc_gen_config {
	seqc_sampler_config sample; /* every option; max_length >= 1 */
	uint64_t seed;              /* row r samples from seed + r */
	int32_t eos;                /* ends a row; -1 = none */
	const seqc_tok *tok;        /* decodes each row's text; NULL = no text, no stop strings */
	const char *const *stop;    /* nstop stop strings, none of them empty */
	size_t nstop;
	bool no_slide;              /* at a full context end the rows instead of sliding */
} seqc_gen_config;

/* The sampler's defaults with max_length 500, seed 0, no eos, no tokenizer,
 * no stop strings, sliding on. */
SEQC_API seqc_gen_config seqc_gen_defaults(void);

/* What a row generated. */
typedef struct seqc_gen_row {
	int32_t *ids;   /* [n] generated tokens (without the prompt and eos) */
	size_t n;
	char *text;     /* [len] their text, NUL-terminated, cut before a stop string;
			   NULL without a tokenizer */
	size_t len;
	seqc_finish finish;
} seqc_gen_row;

/* Streaming: called for each token a row generates (id >= 0; eos is not
 * reported) with the text that token releases (without a tokenizer: NULL,
 * 0), and once when the row ends (id -1) with the rest of its text. Text
 * that may be the beginning of a stop string is held back until it is
 * known not to be one. A negative return stops generation with that code. */
typedef int (*seqc_gen_fn)(void *ctx, size_t row, int32_t id, const char *text, size_t len);

/* Generates from B prompts (prompts[r] of lens[r] >= 1 ids in [0, V), each
 * starting with the start token, seqc_tok_start) into rows [B] (caller
 * storage, filled on success; free with seqc_gen_rows_free). g is reset
 * before every step (NULL: a graph of its own). emit may be NULL.
 * SEQC_EINVAL names a bad option or prompt; the model's and the sampler's
 * errors pass through (SEQC_ENONFINITE when every token is banned). On
 * failure rows are left empty. */
SEQC_API int seqc_generate(seqc_model *m, seqc_graph *g, const seqc_gen_config *c,
			   const int32_t *const *prompts, const size_t *lens, size_t B, seqc_gen_fn emit,
			   void *ctx, seqc_gen_row *rows);

/* Frees what seqc_generate put in rows [B] and empties them (rows may be
 * NULL). */
SEQC_API void seqc_gen_rows_free(seqc_gen_row *rows, size_t B);

#endif
