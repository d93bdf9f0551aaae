/* The sentence-pair batch shared by the sequence-to-sequence kinds. */
#include "models/s2s.h"

#include <stdbool.h>

int seqc_s2s_batch_check(const seqc_s2s_batch *b, size_t V_src, size_t V_tgt)
{
	if (!b || !b->src || !b->src_lens || !b->tgt_in || !b->tgt_out)
		return seqc_error(SEQC_EINVAL, "s2s batch: missing arrays");
	if (b->B == 0 || b->S == 0 || b->T == 0)
		return seqc_error(SEQC_EINVAL, "s2s batch: empty shape [%zu, %zu] -> [%zu, %zu]",
				  b->B, b->S, b->B, b->T);
	bool any_target = false;
	for (size_t r = 0; r < b->B; r++) {
		size_t len = b->src_lens[r];
		if (len == 0 || len > b->S)
			return seqc_error(SEQC_EINVAL,
					  "s2s batch: row %zu: source length %zu outside 1..%zu", r,
					  len, b->S);
		for (size_t s = 0; s < b->S; s++) {
			int32_t id = b->src[r * b->S + s];
			if (id < 0 || (size_t)id >= V_src)
				return seqc_error(SEQC_EINVAL,
						  "s2s batch: row %zu, source position %zu: id %d "
						  "outside 0..%zu",
						  r, s, (int)id, V_src - 1);
		}
		for (size_t t = 0; t < b->T; t++) {
			int32_t in = b->tgt_in[r * b->T + t], out = b->tgt_out[r * b->T + t];
			if (in < 0 || (size_t)in >= V_tgt)
				return seqc_error(SEQC_EINVAL,
						  "s2s batch: row %zu, target input %zu: id %d "
						  "outside 0..%zu",
						  r, t, (int)in, V_tgt - 1);
			if (out < -1 || (out >= 0 && (size_t)out >= V_tgt))
				return seqc_error(SEQC_EINVAL,
						  "s2s batch: row %zu, target %zu: id %d outside "
						  "0..%zu (or -1)",
						  r, t, (int)out, V_tgt - 1);
			any_target |= out >= 0;
		}
	}
	if (!any_target)
		return seqc_error(SEQC_EINVAL, "s2s batch: every target is ignored (-1)");
	return 0;
}
