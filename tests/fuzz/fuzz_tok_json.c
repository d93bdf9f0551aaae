/* A tokenizer's JSON form (what a checkpoint's seqc.tokenizer holds and
 * char:FILE names): every kind through seqc_tok_from_json, then the
 * tokenizer it gives is put to work. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	seqc_tok *t = seqc_tok_from_json((const char *)data, size);
	if (!t) {
		fuzz_check_failed();
		return 0;
	}
	fuzz_tokenizer(t);
	seqc_tok_destroy(t);
	return 0;
}
