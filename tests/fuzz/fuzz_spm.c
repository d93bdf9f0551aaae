/* SentencePiece .model bytes through the C shim (seqc_spm_load_mem), then
 * encoding, sampling, n-best and SentencePiece's own decoder. */
#include <string.h>

#include "fuzz.h"

static const char text[] = "Hello world, caf\xc3\xa9 \xef\xbc\xa1 a  b\tc";

static void spm_extras(const seqc_tok *t)
{
	int32_t *ids;
	size_t n;
	if (seqc_spm_encode_sample(t, text, sizeof text - 1, 4, 0.5f, 7, &ids, &n) == 0) {
		char *s;
		FUZZ_CHECK(seqc_spm_decode(t, ids, n, &s, NULL) == 0);
		free(s);
		free(ids);
	} else {
		fuzz_check_failed();
	}
	seqc_spm_nbest nb;
	if (seqc_spm_encode_nbest(t, text, sizeof text - 1, 3, &nb) == 0) {
		FUZZ_CHECK(nb.count <= 3);
		for (size_t i = 0; i < nb.count; i++)
			FUZZ_CHECK(nb.start[i] <= nb.start[i + 1]);
		seqc_spm_nbest_finish(&nb);
	} else {
		fuzz_check_failed();
	}
	char *bytes;
	size_t len;
	FUZZ_CHECK(seqc_spm_model_bytes(t, &bytes, &len) == 0);
	seqc_tok *u = seqc_spm_load_mem(bytes, len);
	FUZZ_CHECK(u && seqc_tok_vocab_size(u) == seqc_tok_vocab_size(t));
	seqc_tok_destroy(u);
	free(bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	seqc_tok *t = seqc_spm_load_mem(data, size);
	if (!t) {
		fuzz_check_failed();
		return 0;
	}
	FUZZ_CHECK(seqc_tok_is_spm(t));
	fuzz_tokenizer(t);
	spm_extras(t);
	seqc_tok_destroy(t);
	return 0;
}
