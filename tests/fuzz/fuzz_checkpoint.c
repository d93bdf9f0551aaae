/* Whole checkpoint files: seqc_ckpt_load (the model built from the file's
 * seqc.config, then its tensors checked and copied), a checkpoint opened
 * as a tokenizer SPEC (seqc_tok_open: the header only), and Hugging Face
 * GPT-2 import (seqc_gpt_import_hf, heads from the first byte). */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	seqc_memory_set_limit(FUZZ_MEMORY_LIMIT);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file(data, size);
	seqc_model *m = NULL;
	char *tok_json = NULL;
	int64_t step;
	if (seqc_ckpt_load(path, &m, &tok_json, &step) < 0) {
		fuzz_check_failed();
		FUZZ_CHECK(!m && !tok_json);
	} else {
		FUZZ_CHECK(m && m->params);
	}
	seqc_model_destroy(m);
	free(tok_json);
	seqc_tok *t = seqc_tok_open(path);
	if (!t)
		fuzz_check_failed();
	seqc_tok_destroy(t);
	m = seqc_gpt_import_hf(path, size ? 1 + data[0] % 4 : 1);
	if (!m)
		fuzz_check_failed();
	seqc_model_destroy(m);
	return 0;
}
