#include "decode/translate.h"

#include <stdlib.h>
#include <string.h>

/* The coverage hook of decode/beam.h over the model's cross-attention. */
static int model_attention(void *ctx, size_t rows, const int32_t *tokens, float *weights)
{
	(void)rows;
	(void)tokens;
	return seqc_model_attention(ctx, weights);
}

int seqc_translate_ids(seqc_model *m, seqc_graph *g, const seqc_beam_config *c,
		       const int32_t *const *srcs, const size_t *lens, size_t B, int32_t bos,
		       int32_t eos, seqc_beam_result *results)
{
	if (!seqc_model_is_s2s(m))
		return seqc_error(SEQC_EINVAL, "translate: arch %s has no source (a language model: "
				  "use seqc_generate or seqc_beam_search)", m->arch);
	if (!B)
		return 0;
	size_t S = 0;
	for (size_t b = 0; b < B; b++) {
		if (!lens[b])
			return seqc_error(SEQC_EINVAL, "translate: source %zu is empty (it needs at least "
					  "its eos)", b);
		S = lens[b] > S ? lens[b] : S;
	}
	int32_t *src = calloc(B * S, sizeof *src);
	int32_t *prompt = malloc(B * sizeof *prompt);
	const int32_t **prompts = malloc(B * sizeof *prompts);
	size_t *plens = malloc(B * sizeof *plens);
	int rc = 0;
	if (!src || !prompt || !prompts || !plens) {
		rc = seqc_error(SEQC_ENOMEM, "translate: cannot allocate for %zu sources of %zu tokens",
				B, S);
		goto done;
	}
	/* padding: eos, an id every vocabulary has; masked out anyway */
	for (size_t b = 0; b < B; b++) {
		memcpy(src + b * S, srcs[b], lens[b] * sizeof *src);
		for (size_t s = lens[b]; s < S; s++)
			src[b * S + s] = eos;
		prompt[b] = bos;
		prompts[b] = prompt + b;
		plens[b] = 1;
	}
	if ((rc = seqc_model_set_source(m, src, lens, B, S)) < 0)
		goto done;
	seqc_beam_config bc = *c;
	bc.src_len = S;
	bc.src_lens = lens;
	if (bc.coverage_beta > 0) {
		bc.attention = model_attention;
		bc.attention_ctx = m;
	}
	rc = seqc_beam_search(m, g, &bc, prompts, plens, B, eos, results);
done:
	free(src);
	free(prompt);
	free(prompts);
	free(plens);
	return rc;
}
