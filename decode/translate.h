/* Translation: beam search for the sequence-to-sequence kinds (s2s-rnn,
 * s2s-transformer) from B sources at once.
 *
 * The sources are padded into one [B, S] batch and encoded once
 * (seqc_model_set_source); every source's k beams are rows of one step
 * call (decode/beam.h), each starting from bos alone. With coverage
 * (c->coverage_beta > 0) the model's cross-attention of each step feeds
 * GNMT's coverage penalty. */
#ifndef SEQC_DECODE_TRANSLATE_H
#define SEQC_DECODE_TRANSLATE_H

#include "decode/beam.h"

/* srcs[b] [lens[b] >= 1] are source ids (the data module's form: the
 * sentence's tokens then eos) in the model's source vocabulary. The
 * search's max_len is c->max_len; results [B] as seqc_beam_search (free
 * with seqc_beam_results_free). */
SEQC_API int seqc_translate_ids(seqc_model *m, seqc_graph *g, const seqc_beam_config *c,
				const int32_t *const *srcs, const size_t *lens, size_t B,
				int32_t bos, int32_t eos, seqc_beam_result *results);

#endif
