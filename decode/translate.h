/* Translation: beam search for the sequence-to-sequence kinds (s2s-rnn,
 * s2s-transformer) from B sources at once.
 *
 * The sources, one padded [B, S] batch, are encoded once
 * (seqc_model_set_source); every source's k beams are rows of one step
 * call (decode/beam.h), each starting from bos alone. With coverage
 * (c->coverage_beta > 0) the model's cross-attention of each step feeds
 * GNMT's coverage penalty. */
#ifndef SEQC_DECODE_TRANSLATE_H
#define SEQC_DECODE_TRANSLATE_H

#include "decode/beam.h"
#include "train/pairs.h"

/* src [B, S] source ids in the data module's form (the sentence's tokens,
 * eos, then padding: train/pairs.h's seqc_batches_fill), lens [B] each in
 * 1..S. The search's limits are c's (max_len counts generated tokens);
 * src_len, src_lens and the attention hook are set here. results [B] as
 * seqc_beam_search (free with seqc_beam_results_free). */
SEQC_API int seqc_translate_batch(seqc_model *m, seqc_graph *g, const seqc_beam_config *c,
				  const int32_t *src, const size_t *lens, size_t B, size_t S,
				  int32_t bos, int32_t eos, seqc_beam_result *results);

/* Every source of p (train/pairs.h: seqc_sources_* or pairs, whose
 * targets are ignored) in batches of at most max_tokens source positions,
 * sorted by length so that little is padded; results [p->n] in p's order
 * (free with seqc_beam_results_free). Each batch of longest source S
 * generates at most min(c->max_len, len_a * S + len_b) tokens (fairseq's
 * max_len_a and max_len_b), and s2s-transformer at most what its
 * positions allow. bos and eos: the target side's. */
SEQC_API int seqc_translate_sources(seqc_model *m, const seqc_beam_config *c, const seqc_pairs *p,
				    size_t max_tokens, double len_a, size_t len_b, int32_t bos,
				    int32_t eos, seqc_beam_result *results);

#endif
