#include "models/model.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A handle over a kind's parameters; the caller sets the kind's pointer. */
static seqc_model *new_model(const char *arch, seqc_params *params, size_t vocab)
{
	seqc_model *m = calloc(1, sizeof *m);
	if (!m) {
		seqc_error(SEQC_ENOMEM, "model: cannot allocate");
		return NULL;
	}
	m->arch = arch;
	m->params = params;
	m->vocab = vocab;
	return m;
}

seqc_model *seqc_model_wrap_rnnlm(seqc_rnnlm *r)
{
	seqc_model *m = r ? new_model("rnnlm", r->params, r->c.vocab) : NULL;
	if (m)
		m->rnnlm = r;
	else
		seqc_rnnlm_destroy(r);
	return m;
}

seqc_model *seqc_model_wrap_gpt(seqc_gpt *g)
{
	seqc_model *m = g ? new_model("gpt", g->params, g->c.vocab) : NULL;
	if (m)
		m->gpt = g;
	else
		seqc_gpt_destroy(g);
	return m;
}

seqc_model *seqc_model_wrap_s2sr(seqc_s2sr *r)
{
	seqc_model *m = r ? new_model("s2s-rnn", r->params, r->c.tgt_vocab) : NULL;
	if (m) {
		m->s2sr = r;
		m->src_vocab = r->c.src_vocab;
	} else {
		seqc_s2sr_destroy(r);
	}
	return m;
}

seqc_model *seqc_model_wrap_s2st(seqc_s2st *t)
{
	seqc_model *m = t ? new_model("s2s-transformer", t->params, t->c.tgt_vocab) : NULL;
	if (m) {
		m->s2st = t;
		m->src_vocab = t->c.src_vocab;
	} else {
		seqc_s2st_destroy(t);
	}
	return m;
}

seqc_model *seqc_model_from_config(const char *json, seqc_rng *rng)
{
	json_error_t err;
	json_t *o = json_loads(json, 0, &err);
	const char *arch = json_string_value(json_object_get(o, "arch"));
	if (!arch) {
		seqc_error(SEQC_EFORMAT, "model config: %s", o ? "no \"arch\" string" : err.text);
		json_decref(o);
		return NULL;
	}
	if (!strcmp(arch, "rnnlm")) {
		json_decref(o);
		seqc_rnnlm_config c;
		if (seqc_rnnlm_config_from_json(json, &c) < 0)
			return NULL;
		return seqc_model_wrap_rnnlm(seqc_rnnlm_create(&c, rng));
	}
	if (!strcmp(arch, "gpt")) {
		json_decref(o);
		seqc_gpt_config c;
		if (seqc_gpt_config_from_json(json, &c) < 0)
			return NULL;
		return seqc_model_wrap_gpt(seqc_gpt_create(&c, rng));
	}
	if (!strcmp(arch, "s2s-rnn")) {
		json_decref(o);
		seqc_s2sr_config c;
		if (seqc_s2sr_config_from_json(json, &c) < 0)
			return NULL;
		return seqc_model_wrap_s2sr(seqc_s2sr_create(&c, rng));
	}
	if (!strcmp(arch, "s2s-transformer")) {
		json_decref(o);
		seqc_s2st_config c;
		if (seqc_s2st_config_from_json(json, &c) < 0)
			return NULL;
		return seqc_model_wrap_s2st(seqc_s2st_create(&c, rng));
	}
	seqc_error(SEQC_EFORMAT, "model config: unknown arch \"%s\" (this build knows: rnnlm, gpt, "
		   "s2s-rnn, s2s-transformer)", arch);
	json_decref(o);
	return NULL;
}

void seqc_model_destroy(seqc_model *m)
{
	if (!m)
		return;
	seqc_rnnlm_destroy(m->rnnlm);
	seqc_gpt_destroy(m->gpt);
	seqc_s2sr_destroy(m->s2sr);
	seqc_s2st_destroy(m->s2st);
	free(m);
}

char *seqc_model_config_json(const seqc_model *m)
{
	if (m->gpt)
		return seqc_gpt_config_to_json(&m->gpt->c);
	if (m->s2sr)
		return seqc_s2sr_config_to_json(&m->s2sr->c);
	if (m->s2st)
		return seqc_s2st_config_to_json(&m->s2st->c);
	return seqc_rnnlm_config_to_json(&m->rnnlm->c);
}

/* The language-model entry points refuse the sequence-to-sequence kinds. */
static int need_lm(const seqc_model *m, const char *what)
{
	return seqc_model_is_s2s(m) ? seqc_error(SEQC_EINVAL, "%s: arch %s needs a source: use the "
						 "sequence-to-sequence batch", what, m->arch)
				    : 0;
}

int seqc_model_logits(seqc_graph *g, seqc_model *m, const seqc_ids *inputs, seqc_rng *rng,
		      seqc_tensor **logits)
{
	int rc = need_lm(m, "model logits");
	if (rc < 0)
		return rc;
	if (m->gpt)
		return seqc_gpt_logits(g, m->gpt, inputs, rng, logits);
	return seqc_rnnlm_logits(g, m->rnnlm, inputs, NULL, NULL, rng, logits, NULL, NULL);
}

int seqc_model_loss(seqc_graph *g, seqc_model *m, const seqc_ids *inputs, const seqc_ids *targets,
		    seqc_rng *rng, seqc_tensor **loss)
{
	int rc = need_lm(m, "model loss");
	if (rc < 0)
		return rc;
	if (m->gpt)
		return seqc_gpt_loss(g, m->gpt, inputs, targets, rng, loss);
	return seqc_rnnlm_loss(g, m->rnnlm, inputs, targets, NULL, NULL, rng, loss, NULL, NULL);
}

bool seqc_model_is_s2s(const seqc_model *m)
{
	return m->s2sr || m->s2st;
}

int seqc_model_s2s_logits(seqc_graph *g, seqc_model *m, const seqc_s2s_batch *b, seqc_rng *rng,
			  seqc_tensor **logits)
{
	if (m->s2sr)
		return seqc_s2sr_logits(g, m->s2sr, b, rng, NULL, NULL, logits);
	if (m->s2st)
		return seqc_s2st_logits(g, m->s2st, b, rng, logits);
	return seqc_error(SEQC_EINVAL, "model: arch %s has no source", m->arch);
}

int seqc_model_s2s_loss(seqc_graph *g, seqc_model *m, const seqc_s2s_batch *b, seqc_rng *rng,
			seqc_s2s_input_fn input_fn, void *ctx, seqc_tensor **loss)
{
	if (m->s2sr)
		return seqc_s2sr_loss(g, m->s2sr, b, rng, input_fn, ctx, loss);
	if (m->s2st && input_fn)
		return seqc_error(SEQC_EINVAL, "model: s2s-transformer trains step by step only as two "
				  "passes (train/scheduled.h), not with an input hook");
	if (m->s2st)
		return seqc_s2st_loss(g, m->s2st, b, rng, loss);
	return seqc_error(SEQC_EINVAL, "model: arch %s has no source", m->arch);
}

int seqc_model_set_source(seqc_model *m, const int32_t *src, const size_t *lens, size_t B, size_t S)
{
	if (m->s2sr)
		return seqc_s2sr_set_source(m->s2sr, src, lens, B, S);
	if (m->s2st)
		return seqc_s2st_set_source(m->s2st, src, lens, B, S);
	return seqc_error(SEQC_EINVAL, "model: arch %s has no source", m->arch);
}

int seqc_model_attention(seqc_model *m, float *weights)
{
	if (m->s2sr)
		return seqc_s2sr_attention(m->s2sr, weights);
	if (m->s2st)
		return seqc_s2st_attention(m->s2st, weights);
	return seqc_error(SEQC_EINVAL, "model: arch %s has no cross-attention", m->arch);
}

int seqc_model_start(seqc_model *m, size_t rows)
{
	if (m->gpt)
		return seqc_gpt_start(m->gpt, rows);
	if (m->s2sr)
		return seqc_s2sr_start(m->s2sr, rows);
	if (m->s2st)
		return seqc_s2st_start(m->s2st, rows);
	return seqc_rnnlm_start(m->rnnlm, rows);
}

int seqc_model_step(seqc_model *m, seqc_graph *g, const int32_t *tokens, seqc_tensor **logits)
{
	if (m->gpt)
		return seqc_gpt_step(m->gpt, g, tokens, logits);
	if (m->s2sr)
		return seqc_s2sr_step(m->s2sr, g, tokens, logits);
	if (m->s2st)
		return seqc_s2st_step(m->s2st, g, tokens, logits);
	return seqc_rnnlm_step(m->rnnlm, g, tokens, logits);
}

int seqc_model_reorder(seqc_model *m, const size_t *from, size_t n)
{
	if (m->gpt)
		return seqc_gpt_reorder(m->gpt, from, n);
	if (m->s2sr)
		return seqc_s2sr_reorder(m->s2sr, from, n);
	if (m->s2st)
		return seqc_s2st_reorder(m->s2st, from, n);
	return seqc_rnnlm_reorder(m->rnnlm, from, n);
}

size_t seqc_model_activation_bytes(const seqc_model *m, size_t B, size_t T)
{
	if (m->gpt)
		return seqc_gpt_activation_bytes(&m->gpt->c, B, T);
	if (m->s2sr)
		return seqc_s2sr_activation_bytes(&m->s2sr->c, B, T, T);
	if (m->s2st)
		return seqc_s2st_activation_bytes(&m->s2st->c, B, T, T);
	const seqc_rnnlm_config *c = &m->rnnlm->c;
	size_t N = B * T, H = c->hidden, G = (size_t)seqc_cell_gates(c->cell);
	/* per layer: pre, gates, dpre (and dgh) [N, G*H]; y (+grad), cells,
	 * hn, hprev [N, H]; embedding and dropout masks [N, E]; logits and
	 * their gradient [N, V] */
	size_t per_layer = N * G * H * (3 + (c->cell == SEQC_CELL_GRU)) + N * H * 6;
	size_t total = c->layers * per_layer + N * c->embed * 4 + N * c->vocab * 2 + N * H * 4;
	return total * sizeof(float);
}
