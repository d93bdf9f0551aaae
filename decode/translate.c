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

int seqc_translate_batch(seqc_model *m, seqc_graph *g, const seqc_beam_config *c, const int32_t *src,
			 const size_t *lens, size_t B, size_t S, int32_t bos, int32_t eos,
			 seqc_beam_result *results)
{
	if (!seqc_model_is_s2s(m))
		return seqc_error(SEQC_EINVAL, "translate: arch %s has no source (a language model: "
				  "use seqc_generate or seqc_beam_search)", m->arch);
	if (!B)
		return 0;
	if (c->coverage_beta > 0 && m->s2sr && m->s2sr->c.attention == SEQC_S2SR_ATTN_NONE)
		return seqc_error(SEQC_EINVAL, "translate: a coverage penalty needs attention; this "
				  "s2s-rnn has none");
	int32_t *prompt = malloc(B * sizeof *prompt);
	const int32_t **prompts = malloc(B * sizeof *prompts);
	size_t *plens = malloc(B * sizeof *plens);
	int rc = 0;
	if (!prompt || !prompts || !plens) {
		rc = seqc_error(SEQC_ENOMEM, "translate: cannot allocate for %zu sources", B);
		goto done;
	}
	for (size_t b = 0; b < B; b++) {
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
	free(prompt);
	free(prompts);
	free(plens);
	return rc;
}

/* The most tokens a batch of longest source S may generate. */
static size_t batch_max_len(const seqc_model *m, const seqc_beam_config *c, size_t S, double len_a,
			    size_t len_b)
{
	double want = len_a * (double)S + (double)len_b;
	size_t n = want < (double)c->max_len ? (size_t)want : c->max_len;
	/* the decoder's positions: bos plus n - 1 tokens fed */
	if (m->s2st && n > m->s2st->c.max_len)
		n = m->s2st->c.max_len;
	return n ? n : 1;
}

int seqc_translate_sources(seqc_model *m, const seqc_beam_config *c, const seqc_pairs *p,
			   size_t max_tokens, double len_a, size_t len_b, int32_t bos, int32_t eos,
			   seqc_beam_result *results)
{
	if (!p->n)
		return 0;
	memset(results, 0, p->n * sizeof *results);
	if (!(len_a >= 0) || len_a > 1e6)
		return seqc_error(SEQC_EINVAL, "translate: len_a %g is not in [0, 1e6]", len_a);
	seqc_beam_config check = *c;
	if (check.coverage_beta > 0) { /* the hook and lengths are set per batch */
		check.attention = model_attention;
		check.src_len = 1;
	}
	int rc = seqc_beam_check(&check);
	if (rc < 0)
		return rc;
	/* sources only: a copy without targets, so batches count sources alone */
	seqc_pairs src = *p;
	src.has_target = false;
	seqc_batches *bt = seqc_batches_build(&src, max_tokens, 0, SEQC_BATCHES_SORTED, NULL);
	seqc_graph *g = seqc_graph_create(0);
	seqc_beam_result *part = calloc(p->n, sizeof *part);
	if (!bt || !g || !part) {
		rc = bt ? seqc_error(SEQC_ENOMEM, "translate: cannot allocate") : seqc_errcode();
		goto done;
	}
	for (size_t i = 0; i < seqc_batches_count(bt); i++) {
		seqc_s2s_batch b;
		size_t rows;
		const uint32_t *idx = seqc_batches_rows(bt, i, &rows);
		if ((rc = seqc_batches_fill(bt, i, NULL, &b, NULL)) < 0)
			goto done;
		seqc_beam_config bc = *c;
		bc.max_len = batch_max_len(m, c, b.S, len_a, len_b);
		if (bc.min_len > bc.max_len)
			bc.min_len = bc.max_len;
		if ((rc = seqc_translate_batch(m, g, &bc, b.src, b.src_lens, b.B, b.S, bos, eos, part)) < 0)
			goto done;
		for (size_t r = 0; r < rows; r++) {
			results[idx[r]] = part[r];
			part[r] = (seqc_beam_result){ 0 };
		}
	}
done:
	if (rc < 0)
		seqc_beam_results_free(results, p->n);
	free(part);
	seqc_graph_destroy(g);
	seqc_batches_destroy(bt);
	return rc;
}
