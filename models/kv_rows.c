#include "models/kv_rows_internal.h"

#include <stdbool.h>
#include <string.h>

/* Row s is overwritten by the gather before every reader has read it. */
static bool clobbered_source(const size_t *from, size_t n, size_t s)
{
	return s < n && from[s] != s;
}

void seqc_kv_gather_in_place(const seqc_kv_rows *k, float *cache, float *scratch, const size_t *from,
			     size_t n)
{
	size_t rf = k->row_floats, bytes = k->used * sizeof(float);
	for (size_t l = 0; l < k->layers; l++) {
		float *layer = cache + l * k->cap_rows * rf;
		for (size_t i = 0; i < n; i++)
			if (from[i] != i && clobbered_source(from, n, from[i]))
				memcpy(scratch + from[i] * rf, layer + from[i] * rf, bytes);
		for (size_t i = 0; i < n; i++) {
			if (from[i] == i)
				continue;
			const float *src = clobbered_source(from, n, from[i]) ? scratch : layer;
			memcpy(layer + i * rf, src + from[i] * rf, bytes);
		}
	}
}

void seqc_kv_gather_across(const seqc_kv_rows *k, float *dst, const float *src, size_t old_cap,
			   const size_t *from, size_t n)
{
	size_t rf = k->row_floats, bytes = k->used * sizeof(float);
	for (size_t l = 0; l < k->layers; l++)
		for (size_t i = 0; i < n; i++)
			memcpy(dst + (l * k->cap_rows + i) * rf, src + (l * old_cap + from[i]) * rf, bytes);
}
