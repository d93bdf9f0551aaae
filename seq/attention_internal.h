/* Attention without a graph, for incremental decoding with a KV cache.
 * Private to the library (not installed); models/ reach it through the
 * source tree's include path. */
#ifndef SEQC_SEQ_ATTENTION_INTERNAL_H
#define SEQC_SEQ_ATTENTION_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* One query per row against n cached keys and values, no graph, no gradient:
 * q [B, C] (row stride qstride), key j of row b at k + b * bstride + j * kvstride (same for v),
 * key_pad [B, n] with row stride pad_stride (or NULL), out [B, C]. Same math as seqc_attention with
 * Tq = 1 and no causal mask (the cache holds only visible keys). */
void seqc_attn_cached(const float *q, size_t qstride, const float *k, const float *v, size_t n,
		      size_t bstride, size_t kvstride, const uint8_t *key_pad, size_t pad_stride,
		      size_t B, size_t C, size_t heads, float *out);

#endif
