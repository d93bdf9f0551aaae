/* Row gathers of a key/value cache for beam search, shared by the models
 * that keep one (gpt, s2s-transformer). A cache is [layers, cap_rows,
 * row_floats] floats of which the first `used` of each row are filled. */
#ifndef SEQC_MODELS_KV_ROWS_INTERNAL_H
#define SEQC_MODELS_KV_ROWS_INTERNAL_H

#include <stddef.h>

typedef struct seqc_kv_rows {
	size_t layers, cap_rows, row_floats, used;
} seqc_kv_rows;

/* New row i = old row from[i] for i < n, in place, one layer at a time: a
 * row that keeps its own cache (from[i] == i: beams mostly do) is not
 * copied, and a source row that is itself overwritten is saved first in
 * scratch [cap_rows, row_floats]. */
void seqc_kv_gather_in_place(const seqc_kv_rows *k, float *cache, float *scratch, const size_t *from,
			     size_t n);

/* The same from src (capacity old_cap rows) into dst (capacity
 * k->cap_rows), when the cache grows. */
void seqc_kv_gather_across(const seqc_kv_rows *k, float *dst, const float *src, size_t old_cap,
			   const size_t *from, size_t n);

#endif
