#include "decode/score.h"

#include <stdlib.h>
#include <string.h>

#include "seq/ops.h"

/* Chunks of this many positions, the state carried between them. */
#define SCORE_CHUNK 256

/* An attention model sees at most its context: windows of ctx inputs
 * that advance by ctx / 2 (the first scores all its positions, every later
 * one only its second half), so every token after the first window is
 * scored with at least ctx / 2 tokens of context. */
static int score_windows(seqc_gpt *m, const int32_t *ids, size_t n, int32_t bos, float *logprobs)
{
	size_t ctx = m->c.context, V = m->c.vocab, stride = ctx > 1 ? ctx / 2 : 1;
	int32_t *in = malloc(ctx * sizeof *in);
	seqc_graph *g = seqc_graph_create(0);
	int rc = 0;
	if (!in || !g) {
		rc = seqc_error(SEQC_ENOMEM, "score: cannot allocate");
		goto done;
	}
	seqc_graph_set_grad(g, false);
	seqc_graph_set_training(g, false);
	/* input position i is bos for i = 0, else ids[i - 1]; it predicts ids[i] */
	for (size_t scored = 0; scored < n;) {
		size_t end = scored + (scored ? stride : ctx);
		if (end > n)
			end = n;
		size_t start = end > ctx ? end - ctx : 0, T = end - start;
		for (size_t t = 0; t < T; t++)
			in[t] = start + t == 0 ? bos : ids[start + t - 1];
		seqc_ids x = seqc_ids_view2(in, 1, T);
		seqc_graph_reset(g);
		seqc_tensor *logits, *lp;
		if ((rc = seqc_gpt_logits(g, m, &x, NULL, &logits)) < 0)
			goto done;
		if (!(lp = seqc_log_softmax(g, logits))) {
			rc = seqc_errcode();
			goto done;
		}
		for (size_t i = scored; i < end; i++)
			logprobs[i] = lp->val[(i - start) * V + (size_t)ids[i]];
		scored = end;
	}
done:
	seqc_graph_destroy(g);
	free(in);
	return rc;
}

/* Sequence-to-sequence kinds: token by token through the step interface,
 * on the source of the last seqc_model_set_source (start(1) needs it to
 * hold one source). Their state is the model's, not a carried [L, H]. */
static int score_steps(seqc_model *m, const int32_t *ids, size_t n, int32_t bos, float *logprobs)
{
	seqc_graph *g = seqc_graph_create(0);
	if (!g)
		return seqc_error(SEQC_ENOMEM, "score: cannot allocate");
	int rc = seqc_model_start(m, 1);
	int32_t tok = bos;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		seqc_tensor *logits, *lp;
		seqc_graph_reset(g);
		if ((rc = seqc_model_step(m, g, &tok, &logits)) < 0)
			break;
		if (!(lp = seqc_log_softmax(g, logits))) {
			rc = seqc_errcode();
			break;
		}
		logprobs[i] = lp->val[ids[i]];
		tok = ids[i];
	}
	seqc_graph_destroy(g);
	return rc;
}

int seqc_score(seqc_model *m, const int32_t *ids, size_t n, int32_t bos, float *logprobs)
{
	if (!n)
		return 0;
	if (bos < 0 || (size_t)bos >= m->vocab)
		return seqc_error(SEQC_ERANGE, "score: bos id %d is outside [0, %zu)", bos, m->vocab);
	for (size_t i = 0; i < n; i++)
		if (ids[i] < 0 || (size_t)ids[i] >= m->vocab)
			return seqc_error(SEQC_ERANGE, "score: id %d at position %zu is outside [0, %zu)",
					  ids[i], i, m->vocab);
	if (m->gpt)
		return score_windows(m->gpt, ids, n, bos, logprobs);
	/* these had reached the rnnlm path below and read m->rnnlm (NULL) */
	if (seqc_model_is_s2s(m))
		return score_steps(m, ids, n, bos, logprobs);
	seqc_rnnlm *r = m->rnnlm;
	size_t L = r->c.layers, H = r->c.hidden, V = m->vocab;
	bool lstm = r->c.cell == SEQC_CELL_LSTM;
	float *h = calloc(L * H, sizeof *h), *c = calloc(L * H, sizeof *c);
	int32_t *in = malloc(SCORE_CHUNK * sizeof *in);
	seqc_graph *g = seqc_graph_create(0);
	int rc = 0;
	if (!h || !c || !in || !g) {
		rc = seqc_error(SEQC_ENOMEM, "score: cannot allocate");
		goto done;
	}
	seqc_graph_set_grad(g, false);
	seqc_graph_set_training(g, false);
	/* inputs are bos, ids[0], ..., ids[n-2]; position i predicts ids[i] */
	for (size_t start = 0; start < n; start += SCORE_CHUNK) {
		size_t T = n - start < SCORE_CHUNK ? n - start : SCORE_CHUNK;
		for (size_t t = 0; t < T; t++)
			in[t] = start + t == 0 ? bos : ids[start + t - 1];
		seqc_ids x = seqc_ids_view2(in, 1, T);
		size_t ss[3] = { L, 1, H };
		seqc_graph_reset(g);
		seqc_tensor *h0 = seqc_graph_input(g, 3, ss, h);
		seqc_tensor *c0 = lstm ? seqc_graph_input(g, 3, ss, c) : NULL;
		seqc_tensor *logits, *hn, *cn;
		if ((rc = seqc_rnnlm_logits(g, r, &x, h0, c0, NULL, &logits, &hn, &cn)) < 0)
			goto done;
		seqc_tensor *lp = seqc_log_softmax(g, logits);
		if (!lp) {
			rc = seqc_errcode();
			goto done;
		}
		for (size_t t = 0; t < T; t++)
			logprobs[start + t] = lp->val[t * V + (size_t)ids[start + t]];
		memcpy(h, hn->val, L * H * sizeof(float));
		if (lstm)
			memcpy(c, cn->val, L * H * sizeof(float));
	}
done:
	seqc_graph_destroy(g);
	free(h);
	free(c);
	free(in);
	return rc;
}
