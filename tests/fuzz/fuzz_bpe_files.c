/* Byte-level BPE files (GPT-2's encoder.json + vocab.bpe, and ours): the
 * input is encoder.json, a NUL byte, then vocab.bpe (no NUL: vocab.bpe
 * empty), through seqc_bpe_load_mem. */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t enc_len = nul ? (size_t)(nul - data) : size;
	const char *merges = nul ? (const char *)nul + 1 : "";
	size_t merges_len = nul ? size - enc_len - 1 : 0;
	seqc_bpe_opts o = seqc_bpe_defaults();
	/* the last byte picks the option, so both settings are explored */
	o.replace_invalid = size && (data[size - 1] & 1);
	seqc_tok *t = seqc_bpe_load_mem((const char *)data, enc_len, merges, merges_len, &o);
	if (!t) {
		fuzz_check_failed();
		return 0;
	}
	fuzz_tokenizer(t);
	seqc_tok_destroy(t);
	return 0;
}
