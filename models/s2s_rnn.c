/* s2s-rnn: the attentional recurrent encoder-decoder (see s2s_rnn.h).
 *
 * Training runs the encoder as one fused recurrent op per layer and
 * direction over the padded batch, precomputes the attention keys of every
 * source position with one GEMM, and, under teacher forcing, embeds every
 * target input at once and applies the generator to all steps' h~ as one
 * GEMM. The decoder itself runs step by step (input feeding makes step t
 * depend on step t - 1's output): per step one cell step per layer, one
 * fused attention op (scores, mask, softmax and context, with a
 * hand-written backward), and the output layer. Decoding runs the same
 * step function on the model's own state buffers. */
#include "models/s2s_rnn.h"

#include "models/config_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seq/graph_internal.h"

/* What set_source keeps for the decoding steps, and the rows' state. */
typedef struct seqc_s2sr_decode {
	seqc_graph *g;   /* encodes the sources (reset at each set_source) */
	size_t B, S;     /* sources */
	size_t *lens;    /* [B] */
	float *mem;      /* [B, S, H] encoder outputs */
	float *keys;     /* [B, S, H] attention keys (general, mlp) or NULL */
	float *h_init;   /* [L, B, H] bridged initial states, or NULL (zeros) */
	float *c_init;   /* [L, B, H] (LSTM with bridge) or NULL */
	size_t rows, cap_rows;
	/* per row: state [L, rows, H] (h, c), h~ [rows, H], source [rows],
	 * last attention [rows, S]; *_next are reorder's gather targets */
	float *h, *c, *feed, *attn;
	float *h_next, *c_next, *feed_next, *attn_next;
	size_t *src_of, *src_of_next;
	bool stepped; /* attn holds a step's weights */
} seqc_s2sr_decode;

/* ---- names and config ---- */

const char *seqc_s2sr_attention_name(seqc_s2sr_attn_kind a)
{
	switch (a) {
	case SEQC_S2SR_ATTN_NONE: return "none";
	case SEQC_S2SR_ATTN_DOT: return "dot";
	case SEQC_S2SR_ATTN_GENERAL: return "general";
	case SEQC_S2SR_ATTN_MLP: return "mlp";
	}
	return "unknown";
}

int seqc_s2sr_attention_parse(const char *name)
{
	static const char *const names[] = { "none", "dot", "general", "mlp" };
	if (!name)
		return -1;
	if (!strcmp(name, "bahdanau"))
		return SEQC_S2SR_ATTN_MLP;
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

seqc_s2sr_config seqc_s2sr_config_defaults(void)
{
	return (seqc_s2sr_config){ .cell = SEQC_CELL_GRU, .bidirectional = true,
				   .attention = SEQC_S2SR_ATTN_GENERAL, .input_feed = true,
				   .bridge = true };
}

static int validate(const seqc_s2sr_config *c)
{
	if (c->cell != SEQC_CELL_GRU && c->cell != SEQC_CELL_LSTM)
		return seqc_error(SEQC_EINVAL, "s2s-rnn: cell must be gru or lstm, not %s",
				  seqc_cell_name(c->cell));
	const size_t sizes[4] = { c->src_vocab, c->tgt_vocab, c->embed, c->hidden };
	for (int i = 0; i < 4; i++)
		if (!sizes[i] || sizes[i] > SEQC_S2SR_MAX_DIM)
			return seqc_error(SEQC_EINVAL,
					  "s2s-rnn: src_vocab %zu, tgt_vocab %zu, embed %zu and hidden "
					  "%zu must be in [1, %zu]",
					  c->src_vocab, c->tgt_vocab, c->embed, c->hidden,
					  SEQC_S2SR_MAX_DIM);
	if (!c->enc_layers || !c->dec_layers || c->enc_layers > SEQC_S2SR_MAX_LAYERS ||
	    c->dec_layers > SEQC_S2SR_MAX_LAYERS)
		return seqc_error(SEQC_EINVAL, "s2s-rnn: enc_layers %zu and dec_layers %zu must be in [1, %d]",
				  c->enc_layers, c->dec_layers, SEQC_S2SR_MAX_LAYERS);
	if (c->bidirectional && c->hidden % 2)
		return seqc_error(SEQC_EINVAL,
				  "s2s-rnn: a bidirectional encoder needs an even hidden size (H/2 per "
				  "direction), not %zu", c->hidden);
	if (c->bridge && c->enc_layers != c->dec_layers)
		return seqc_error(SEQC_EINVAL,
				  "s2s-rnn: the bridge needs enc_layers (%zu) == dec_layers (%zu)",
				  c->enc_layers, c->dec_layers);
	if (c->attention < SEQC_S2SR_ATTN_NONE || c->attention > SEQC_S2SR_ATTN_MLP)
		return seqc_error(SEQC_EINVAL, "s2s-rnn: unknown attention kind %d", (int)c->attention);
	if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
		return seqc_error(SEQC_EINVAL, "s2s-rnn: dropout %g is outside [0, 1)", (double)c->dropout);
	if (!(c->label_smoothing >= 0.0f && c->label_smoothing < 1.0f))
		return seqc_error(SEQC_EINVAL, "s2s-rnn: label_smoothing %g is outside [0, 1)",
				  (double)c->label_smoothing);
	if (c->share_embeddings && c->src_vocab != c->tgt_vocab)
		return seqc_error(SEQC_EINVAL,
				  "s2s-rnn: share_embeddings needs src_vocab (%zu) == tgt_vocab (%zu)",
				  c->src_vocab, c->tgt_vocab);
	if (c->tie_output && c->embed != c->hidden)
		return seqc_error(SEQC_EINVAL, "s2s-rnn: tie_output needs embed (%zu) == hidden (%zu)",
				  c->embed, c->hidden);
	return 0;
}

/* ---- parameters ---- */

static seqc_tensor *add(seqc_s2sr *m, const char *name, size_t rows, size_t cols)
{
	/* the init is set for every parameter at once in seqc_s2sr_create */
	seqc_init none = { SEQC_INIT_ZEROS, 0 };
	if (cols)
		return seqc_params_add(m->params, name, 2, (size_t[]){ rows, cols }, none, false);
	return seqc_params_add(m->params, name, 1, &rows, none, true);
}

static bool declare_bridge(seqc_s2sr *m)
{
	size_t H = m->c.hidden, states = m->c.cell == SEQC_CELL_LSTM ? 2 : 1;
	char name[64];
	for (size_t s = 0; s < states; s++)
		for (size_t l = 0; l < m->c.dec_layers; l++) {
			snprintf(name, sizeof name, "bridge_%s.%zu.weight", s ? "c" : "h", l);
			m->bridge_w[s][l] = add(m, name, H, H);
			snprintf(name, sizeof name, "bridge_%s.%zu.bias", s ? "c" : "h", l);
			m->bridge_b[s][l] = add(m, name, H, 0);
			if (!m->bridge_w[s][l] || !m->bridge_b[s][l])
				return false;
		}
	return true;
}

static bool declare_decoder(seqc_s2sr *m)
{
	const seqc_s2sr_config *c = &m->c;
	size_t H = c->hidden, GH = (size_t)seqc_cell_gates(c->cell) * H;
	char name[64];
	for (size_t l = 0; l < c->dec_layers; l++) {
		size_t in = l ? H : c->embed + (c->input_feed ? H : 0);
		snprintf(name, sizeof name, "decoder.rnn.layers.%zu.weight_ih", l);
		m->dec_w_ih[l] = add(m, name, GH, in);
		snprintf(name, sizeof name, "decoder.rnn.layers.%zu.weight_hh", l);
		m->dec_w_hh[l] = add(m, name, GH, H);
		snprintf(name, sizeof name, "decoder.rnn.layers.%zu.bias_ih", l);
		m->dec_b_ih[l] = add(m, name, GH, 0);
		snprintf(name, sizeof name, "decoder.rnn.layers.%zu.bias_hh", l);
		m->dec_b_hh[l] = add(m, name, GH, 0);
		if (!m->dec_w_ih[l] || !m->dec_w_hh[l] || !m->dec_b_ih[l] || !m->dec_b_hh[l])
			return false;
	}
	switch (c->attention) {
	case SEQC_S2SR_ATTN_NONE: return true;
	case SEQC_S2SR_ATTN_DOT: break;
	case SEQC_S2SR_ATTN_GENERAL:
		if (!(m->attn_in = add(m, "decoder.attn.linear_in.weight", H, H)))
			return false;
		break;
	case SEQC_S2SR_ATTN_MLP:
		m->attn_query_w = add(m, "decoder.attn.linear_query.weight", H, H);
		m->attn_query_b = add(m, "decoder.attn.linear_query.bias", H, 0);
		m->attn_context_w = add(m, "decoder.attn.linear_context.weight", H, H);
		m->attn_v = add(m, "decoder.attn.v.weight", 1, H);
		m->attn_out_b = add(m, "decoder.attn.linear_out.bias", H, 0);
		if (!m->attn_query_w || !m->attn_query_b || !m->attn_context_w || !m->attn_v ||
		    !m->attn_out_b)
			return false;
		break;
	}
	return (m->attn_out_w = add(m, "decoder.attn.linear_out.weight", H, 2 * H)) != NULL;
}

seqc_s2sr *seqc_s2sr_create(const seqc_s2sr_config *c, seqc_rng *rng)
{
	if (validate(c) < 0)
		return NULL;
	seqc_s2sr *m = calloc(1, sizeof *m);
	if (!m || !(m->params = seqc_params_create()) || !(m->dec = calloc(1, sizeof *m->dec))) {
		seqc_s2sr_destroy(m);
		seqc_error(SEQC_ENOMEM, "s2s-rnn: cannot allocate");
		return NULL;
	}
	m->c = *c;
	size_t D = c->bidirectional ? 2 : 1;
	seqc_rnn_config rc = { .cell = c->cell, .input_size = c->embed, .hidden_size = c->hidden / D,
			       .layers = c->enc_layers, .bidirectional = c->bidirectional,
			       .bias = true, .dropout = c->dropout };
	bool ok = (m->src_embed = add(m, "encoder.embeddings.weight", c->src_vocab, c->embed)) &&
		  seqc_rnn_declare(&m->enc, &rc, m->params, "encoder.rnn.") == 0 &&
		  (!c->bridge || declare_bridge(m));
	m->tgt_embed = c->share_embeddings ? m->src_embed
					   : add(m, "decoder.embeddings.weight", c->tgt_vocab, c->embed);
	ok = ok && m->tgt_embed && declare_decoder(m);
	m->gen_w = c->tie_output ? m->tgt_embed : add(m, "generator.weight", c->tgt_vocab, c->hidden);
	m->gen_b = add(m, "generator.bias", c->tgt_vocab, 0);
	ok = ok && m->gen_w && m->gen_b;
	/* OpenNMT-py's default -param_init 0.1 for every parameter; without an
	 * rng the caller loads them all */
	for (size_t i = 0; ok && i < m->params->count; i++)
		m->params->items[i]->init = rng ? (seqc_init){ SEQC_INIT_UNIFORM, 0.1f }
						: (seqc_init){ SEQC_INIT_ZEROS, 0 };
	if (!ok || seqc_params_finalize(m->params, rng) < 0) {
		seqc_s2sr_destroy(m);
		return NULL;
	}
	return m;
}

static void free_rows(seqc_s2sr_decode *d)
{
	float *bufs[8] = { d->h, d->c, d->feed, d->attn, d->h_next, d->c_next, d->feed_next,
			   d->attn_next };
	for (int i = 0; i < 8; i++)
		free(bufs[i]);
	free(d->src_of);
	free(d->src_of_next);
	d->h = d->c = d->feed = d->attn = d->h_next = d->c_next = d->feed_next = d->attn_next = NULL;
	d->src_of = d->src_of_next = NULL;
	d->rows = d->cap_rows = 0;
}

static void free_source(seqc_s2sr_decode *d)
{
	free(d->lens);
	free(d->mem);
	free(d->keys);
	free(d->h_init);
	free(d->c_init);
	d->lens = NULL;
	d->mem = d->keys = d->h_init = d->c_init = NULL;
	d->B = d->S = 0;
}

void seqc_s2sr_destroy(seqc_s2sr *m)
{
	if (!m)
		return;
	if (m->dec) {
		free_rows(m->dec);
		free_source(m->dec);
		seqc_graph_destroy(m->dec->g);
		free(m->dec);
	}
	seqc_params_destroy(m->params);
	free(m);
}

/* ---- configuration as JSON ---- */

char *seqc_s2sr_config_to_json(const seqc_s2sr_config *c)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:b, s:s, s:b, s:b, s:f, s:b, "
			      "s:b, s:f}",
			      "arch", "s2s-rnn", "src_vocab", (json_int_t)c->src_vocab, "tgt_vocab",
			      (json_int_t)c->tgt_vocab, "cell", seqc_cell_name(c->cell), "embed",
			      (json_int_t)c->embed, "hidden", (json_int_t)c->hidden, "enc_layers",
			      (json_int_t)c->enc_layers, "dec_layers", (json_int_t)c->dec_layers,
			      "bidirectional", c->bidirectional, "attention",
			      seqc_s2sr_attention_name(c->attention), "input_feed", c->input_feed,
			      "bridge", c->bridge, "dropout", seqc_cfg_real(c->dropout), "share_embeddings",
			      c->share_embeddings, "tie_output", c->tie_output, "label_smoothing",
			      seqc_cfg_real(c->label_smoothing));
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(o);
	if (!s)
		seqc_error(SEQC_ENOMEM, "s2s-rnn: cannot serialize the config");
	return s;
}

/* Sizes are required; booleans and numbers keep their default when absent. */
static int get_size(json_t *o, const char *key, size_t *out)
{
	return seqc_cfg_size(o, "s2s-rnn", key, SEQC_S2SR_MAX_DIM, true, out);
}

static int get_bool(json_t *o, const char *key, bool *out)
{
	return seqc_cfg_bool(o, "s2s-rnn", key, out);
}

static int get_float(json_t *o, const char *key, float *out)
{
	return seqc_cfg_float(o, "s2s-rnn", key, out);
}

/* cell (required) and attention (optional): names. */
static int get_kinds(json_t *o, seqc_s2sr_config *c)
{
	const char *cell = json_string_value(json_object_get(o, "cell"));
	int k = cell ? seqc_cell_parse(cell) : -1;
	if (k != SEQC_CELL_GRU && k != SEQC_CELL_LSTM)
		return seqc_error(SEQC_EFORMAT, "s2s-rnn config: \"cell\" is \"%s\" (expected gru or lstm)",
				  cell ? cell : "(missing or not a string)");
	c->cell = (seqc_cell_kind)k;
	json_t *a = json_object_get(o, "attention");
	if (!a)
		return 0;
	int kind = seqc_s2sr_attention_parse(json_string_value(a));
	if (kind < 0)
		return seqc_error(SEQC_EFORMAT,
				  "s2s-rnn config: \"attention\" must be \"none\", \"dot\", \"general\", "
				  "\"mlp\" or \"bahdanau\"");
	c->attention = (seqc_s2sr_attn_kind)kind;
	return 0;
}

static int check_keys(json_t *o)
{
	static const char *const known[] = { "arch", "src_vocab", "tgt_vocab", "cell", "embed",
					     "hidden", "enc_layers", "dec_layers", "bidirectional",
					     "attention", "input_feed", "bridge", "dropout",
					     "share_embeddings", "tie_output", "label_smoothing" };
	return seqc_cfg_check_keys(o, "s2s-rnn", known, sizeof known / sizeof known[0]);
}

int seqc_s2sr_config_from_json(const char *text, seqc_s2sr_config *c)
{
	json_error_t err;
	json_t *o = text ? json_loads(text, JSON_REJECT_DUPLICATES, &err) : NULL;
	int rc;
	*c = seqc_s2sr_config_defaults();
	if (!json_is_object(o)) {
		rc = seqc_error(SEQC_EFORMAT, "s2s-rnn config: not a JSON object (%s)",
				o || !text ? "" : err.text);
		goto done;
	}
	const char *arch = json_string_value(json_object_get(o, "arch"));
	if (!arch || strcmp(arch, "s2s-rnn")) {
		rc = seqc_error(SEQC_EFORMAT, "s2s-rnn config: \"arch\" is \"%s\", not \"s2s-rnn\"",
				arch ? arch : "(missing)");
		goto done;
	}
	if ((rc = check_keys(o)) < 0 || (rc = get_size(o, "src_vocab", &c->src_vocab)) < 0 ||
	    (rc = get_size(o, "tgt_vocab", &c->tgt_vocab)) < 0 || (rc = get_kinds(o, c)) < 0 ||
	    (rc = get_size(o, "embed", &c->embed)) < 0 || (rc = get_size(o, "hidden", &c->hidden)) < 0 ||
	    (rc = get_size(o, "enc_layers", &c->enc_layers)) < 0 ||
	    (rc = get_size(o, "dec_layers", &c->dec_layers)) < 0 ||
	    (rc = get_bool(o, "bidirectional", &c->bidirectional)) < 0 ||
	    (rc = get_bool(o, "input_feed", &c->input_feed)) < 0 ||
	    (rc = get_bool(o, "bridge", &c->bridge)) < 0 ||
	    (rc = get_bool(o, "share_embeddings", &c->share_embeddings)) < 0 ||
	    (rc = get_bool(o, "tie_output", &c->tie_output)) < 0 ||
	    (rc = get_float(o, "dropout", &c->dropout)) < 0 ||
	    (rc = get_float(o, "label_smoothing", &c->label_smoothing)) < 0)
		goto done;
	rc = validate(c);
done:
	json_decref(o);
	return rc;
}

/* ---- the attention op ---- */

/* The source side of an attention: memory h_s and keys [B, S, H] (the
 * same tensor for dot), the rows' lengths, and which source each query row
 * reads (NULL: row r reads source r). */
typedef struct source_side {
	seqc_tensor *mem, *keys;
	const size_t *lens;    /* [B] */
	const size_t *src_of;  /* [R] or NULL */
} source_side;

typedef struct attn_saved {
	seqc_s2sr_attn_kind kind;
	size_t R, S, H;
	seqc_tensor *q, *mem, *keys, *v, *ctx;
	const size_t *lens, *src_of; /* arena copies */
	float *a;   /* [R, S] softmax weights, 0 beyond the length */
	float *da;  /* [R, S] backward scratch */
	float *dv;  /* [R, H] mlp: each row's part of dv */
} attn_saved;

static inline size_t row_source(const attn_saved *s, size_t r)
{
	return s->src_of ? s->src_of[r] : r;
}

/* Scores of query q [H] against the L keys k [L, H] into out [L]:
 * dot/general q . k_j; mlp v . tanh(q + k_j). */
static void scores(seqc_s2sr_attn_kind kind, const float *q, const float *k, const float *v,
		   size_t L, size_t H, float *out)
{
	for (size_t j = 0; j < L; j++) {
		const float *kj = k + j * H;
		float acc = 0.0f;
		if (kind == SEQC_S2SR_ATTN_MLP)
			for (size_t h = 0; h < H; h++)
				acc += v[h] * tanhf(q[h] + kj[h]);
		else
			for (size_t h = 0; h < H; h++)
				acc += q[h] * kj[h];
		out[j] = acc;
	}
}

/* Softmax of a [L] in place, then the rest of the row [L, S) zeroed. */
static void softmax_row(float *a, size_t L, size_t S)
{
	float mx = a[0];
	for (size_t j = 1; j < L; j++)
		mx = a[j] > mx ? a[j] : mx;
	double sum = 0.0;
	for (size_t j = 0; j < L; j++) {
		a[j] = expf(a[j] - mx);
		sum += a[j];
	}
	float inv = (float)(1.0 / sum);
	for (size_t j = 0; j < L; j++)
		a[j] *= inv;
	for (size_t j = L; j < S; j++)
		a[j] = 0.0f;
}

/* Backward, per query row r (source b, length L), with dc = ctx grad:
 *   da_j = dc . h_s,j            dmem_j += a_j dc
 *   ds_j = a_j (da_j - sum_k a_k da_k)
 *   dot/general: dq += sum_j ds_j k_j; dk_j += ds_j q
 *   mlp: u_j = tanh(q + k_j); dv += sum_j ds_j u_j;
 *        du_j = ds_j v (1 - u_j^2); dq += sum_j du_j; dk_j += du_j */
static void attn_backward_row(const attn_saved *s, size_t r)
{
	size_t S = s->S, H = s->H, b = row_source(s, r), L = s->lens[b];
	const float *dc = s->ctx->grad + r * H, *a = s->a + r * S, *q = s->q->val + r * H;
	const float *mem = s->mem->val + b * S * H, *keys = s->keys->val + b * S * H;
	float *dmem = s->mem->grad ? s->mem->grad + b * S * H : NULL;
	float *dkeys = s->keys->grad ? s->keys->grad + b * S * H : NULL;
	float *dq = s->q->grad ? s->q->grad + r * H : NULL;
	float *ds = s->da + r * S;
	double dot = 0.0;
	for (size_t j = 0; j < L; j++) {
		float acc = 0.0f;
		for (size_t h = 0; h < H; h++)
			acc += dc[h] * mem[j * H + h];
		ds[j] = acc;
		dot += (double)a[j] * acc;
		if (dmem)
			for (size_t h = 0; h < H; h++)
				dmem[j * H + h] += a[j] * dc[h];
	}
	for (size_t j = 0; j < L; j++)
		ds[j] = a[j] * (ds[j] - (float)dot);
	if (s->kind != SEQC_S2SR_ATTN_MLP) {
		for (size_t j = 0; j < L; j++)
			for (size_t h = 0; h < H; h++) {
				if (dq)
					dq[h] += ds[j] * keys[j * H + h];
				if (dkeys)
					dkeys[j * H + h] += ds[j] * q[h];
			}
		return;
	}
	const float *v = s->v->val;
	float *dv = s->dv + r * H;
	memset(dv, 0, H * sizeof(float));
	for (size_t j = 0; j < L; j++)
		for (size_t h = 0; h < H; h++) {
			float u = tanhf(q[h] + keys[j * H + h]);
			float du = ds[j] * v[h] * (1.0f - u * u);
			dv[h] += ds[j] * u;
			if (dq)
				dq[h] += du;
			if (dkeys)
				dkeys[j * H + h] += du;
		}
}

static void attn_backward(seqc_node *node)
{
	const attn_saved *s = node->saved;
	/* rows write their own source's dmem/dkeys: parallel only when every
	 * row has its own source */
	bool par = !s->src_of && s->R * s->S * s->H > SEQC_PAR_MIN;
#pragma omp parallel for if (par)
	for (size_t r = 0; r < s->R; r++)
		attn_backward_row(s, r);
	if (s->kind == SEQC_S2SR_ATTN_MLP && s->v->grad)
		for (size_t r = 0; r < s->R; r++)
			for (size_t h = 0; h < s->H; h++)
				s->v->grad[h] += s->dv[r * s->H + h];
}

/* Global attention of queries q [R, H] over the sources: context [R, H];
 * the weights [R, S] are left in *weights (arena, valid until reset) when
 * weights is not NULL. q is h_t (dot, general) or W_q h_t + b_q (mlp); v
 * [1, H] for mlp. */
static seqc_tensor *global_attention(seqc_graph *g, seqc_s2sr_attn_kind kind, seqc_tensor *q,
				     const source_side *src, seqc_tensor *v, const float **weights)
{
	if (!q)
		return NULL;
	size_t R = q->shape[0], H = q->shape[1], B = src->mem->shape[0], S = src->mem->shape[1];
	seqc_tensor *in[4] = { q, src->mem, src->keys, v };
	bool grad = seqc_graph_wants_grad(g, in, 4);
	attn_saved *s = seqc_graph_alloc(g, sizeof *s);
	if (!s)
		return NULL;
	*s = (attn_saved){ .kind = kind, .R = R, .S = S, .H = H, .q = q, .mem = src->mem,
			   .keys = src->keys, .v = v, .lens = src->lens, .src_of = src->src_of };
	s->a = seqc_graph_alloc(g, R * S * sizeof(float));
	s->ctx = s->a ? seqc_graph_output(g, 2, (size_t[]){ R, H }, grad) : NULL;
	if (!s->ctx)
		return NULL;
	const float *vv = v ? v->val : NULL;
#pragma omp parallel for if (R * S * H > SEQC_PAR_MIN)
	for (size_t r = 0; r < R; r++) {
		size_t b = row_source(s, r), L = s->lens[b];
		float *a = s->a + r * S, *c = s->ctx->val + r * H;
		const float *mem = src->mem->val + b * S * H;
		scores(kind, q->val + r * H, src->keys->val + b * S * H, vv, L, H, a);
		softmax_row(a, L, S);
		memset(c, 0, H * sizeof(float));
		for (size_t j = 0; j < L; j++)
			for (size_t h = 0; h < H; h++)
				c[h] += a[j] * mem[j * H + h];
	}
	if (weights)
		*weights = s->a;
	if (!grad)
		return s->ctx;
	size_t *lens = seqc_graph_alloc(g, B * sizeof *lens);
	size_t *src_of = src->src_of ? seqc_graph_alloc(g, R * sizeof *src_of) : NULL;
	s->da = seqc_graph_alloc(g, R * S * sizeof(float));
	s->dv = kind == SEQC_S2SR_ATTN_MLP ? seqc_graph_alloc(g, R * H * sizeof(float)) : NULL;
	seqc_node *node = seqc_graph_record(g, "s2s_attention", attn_backward, s->ctx, in, 4);
	if (!lens || (src->src_of && !src_of) || !s->da || (kind == SEQC_S2SR_ATTN_MLP && !s->dv) ||
	    !node)
		return NULL;
	memcpy(lens, src->lens, B * sizeof *lens);
	if (src_of)
		memcpy(src_of, src->src_of, R * sizeof *src_of);
	s->lens = lens;
	s->src_of = src_of;
	node->saved = s;
	return s->ctx;
}

/* ---- encoder and bridge ---- */

/* Encoder layer l's final state [B, H] from states [L*D, B, H/D]: both
 * directions side by side, forward first. */
static seqc_tensor *layer_final(seqc_graph *g, seqc_tensor *st, size_t l, size_t D)
{
	size_t B = st->shape[1], Hd = st->shape[2];
	seqc_tensor *parts[2];
	for (size_t d = 0; d < D; d++)
		parts[d] = seqc_reshape(g, seqc_slice(g, st, 0, l * D + d, 1), 2, (size_t[]){ B, Hd });
	return D == 2 ? seqc_concat(g, parts, 2, 1) : parts[0];
}

/* What the decoder reads from the encoder. */
typedef struct encoded {
	seqc_tensor *mem;  /* [B, S, H] */
	seqc_tensor *keys; /* [B, S, H]: mem (dot), mem W_in (general), mem W_k^T (mlp); NULL (none) */
	seqc_tensor *h0[SEQC_S2SR_MAX_LAYERS], *c0[SEQC_S2SR_MAX_LAYERS]; /* [B, H] or NULL */
} encoded;

static int encode(seqc_graph *g, seqc_s2sr *m, const int32_t *src, const size_t *lens, size_t B,
		  size_t S, seqc_rng *rng, encoded *e)
{
	const seqc_s2sr_config *c = &m->c;
	memset(e, 0, sizeof *e);
	seqc_ids ids = seqc_ids_view2((int32_t *)src, B, S);
	seqc_tensor *x = seqc_dropout(g, seqc_embedding(g, m->src_embed, &ids, -1), c->dropout, rng);
	seqc_tensor *hn, *cn = NULL;
	bool lstm = c->cell == SEQC_CELL_LSTM;
	int rc = seqc_rnn_forward_lens(g, &m->enc, x, lens, NULL, NULL, rng, &e->mem, &hn,
				       lstm ? &cn : NULL);
	if (rc < 0)
		return rc;
	size_t D = c->bidirectional ? 2 : 1;
	for (size_t l = 0; c->bridge && l < c->dec_layers; l++) {
		e->h0[l] = seqc_tanh(g, seqc_linear(g, layer_final(g, hn, l, D), m->bridge_w[0][l],
						    m->bridge_b[0][l]));
		if (!e->h0[l])
			return seqc_errcode();
		if (!lstm)
			continue;
		e->c0[l] = seqc_tanh(g, seqc_linear(g, layer_final(g, cn, l, D), m->bridge_w[1][l],
						    m->bridge_b[1][l]));
		if (!e->c0[l])
			return seqc_errcode();
	}
	switch (c->attention) {
	case SEQC_S2SR_ATTN_NONE: break;
	case SEQC_S2SR_ATTN_DOT: e->keys = e->mem; break;
	case SEQC_S2SR_ATTN_GENERAL: e->keys = seqc_matmul(g, e->mem, m->attn_in, false, false); break;
	case SEQC_S2SR_ATTN_MLP: e->keys = seqc_linear(g, e->mem, m->attn_context_w, NULL); break;
	}
	if (c->attention != SEQC_S2SR_ATTN_NONE && !e->keys)
		return seqc_errcode();
	return 0;
}

/* ---- one decoder step ---- */

/* Step state: per layer h and c [R, H] (NULL: zeros), h~ of the previous
 * step [R, H] (NULL: zeros). */
typedef struct dec_state {
	seqc_tensor *h[SEQC_S2SR_MAX_LAYERS], *c[SEQC_S2SR_MAX_LAYERS];
	seqc_tensor *feed;
} dec_state;

/* From the embedded inputs emb [R, E] (dropout applied) and st, advance st
 * (h, c, feed = the new h~ after dropout) and return h~ [R, H]. weights
 * (or NULL) receives the attention weights [R, S] (arena). */
static seqc_tensor *decoder_step(seqc_graph *g, seqc_s2sr *m, seqc_tensor *emb, dec_state *st,
				 const source_side *src, seqc_rng *rng, const float **weights)
{
	const seqc_s2sr_config *c = &m->c;
	if (!emb)
		return NULL;
	size_t R = emb->shape[0], H = c->hidden;
	bool lstm = c->cell == SEQC_CELL_LSTM;
	seqc_tensor *x = emb;
	if (c->input_feed) {
		seqc_tensor *feed = st->feed ? st->feed : seqc_graph_tensor(g, 2, (size_t[]){ R, H }, false);
		x = seqc_concat(g, (seqc_tensor *[]){ emb, feed }, 2, 1);
	}
	for (size_t l = 0; l < c->dec_layers; l++) {
		if (l > 0)
			x = seqc_dropout(g, x, c->dropout, rng);
		if (!x || seqc_rnn_cell_step(g, c->cell, x, st->h[l], lstm ? st->c[l] : NULL,
					     m->dec_w_ih[l], m->dec_w_hh[l], m->dec_b_ih[l],
					     m->dec_b_hh[l], &st->h[l], lstm ? &st->c[l] : NULL) < 0)
			return NULL;
		x = st->h[l];
	}
	seqc_tensor *out = x;
	if (c->attention != SEQC_S2SR_ATTN_NONE) {
		seqc_tensor *q = c->attention == SEQC_S2SR_ATTN_MLP
					 ? seqc_linear(g, x, m->attn_query_w, m->attn_query_b)
					 : x;
		seqc_tensor *ctx = global_attention(g, c->attention, q, src,
						    c->attention == SEQC_S2SR_ATTN_MLP ? m->attn_v : NULL,
						    weights);
		out = seqc_linear(g, seqc_concat(g, (seqc_tensor *[]){ ctx, x }, 2, 1), m->attn_out_w,
				  m->attn_out_b);
		if (c->attention != SEQC_S2SR_ATTN_MLP)
			out = seqc_tanh(g, out);
	}
	st->feed = seqc_dropout(g, out, c->dropout, rng);
	return st->feed;
}

/* ---- training ---- */

/* The dropout mask of the target embeddings [B, T, E] (dropout of ones),
 * drawn up front so that teacher forcing and input_fn draw the same
 * numbers; NULL when dropout is off. */
static int embed_mask(seqc_graph *g, const seqc_s2sr *m, size_t B, size_t T, seqc_rng *rng,
		      seqc_tensor **mask)
{
	*mask = NULL;
	if (!seqc_graph_training(g) || m->c.dropout == 0.0f)
		return 0;
	seqc_tensor *ones = seqc_graph_tensor(g, 3, (size_t[]){ B, T, m->c.embed }, false);
	if (!ones)
		return seqc_errcode();
	for (size_t i = 0; i < ones->numel; i++)
		ones->val[i] = 1.0f;
	*mask = seqc_dropout(g, ones, m->c.dropout, rng);
	return *mask ? 0 : seqc_errcode();
}

/* Step t's rows [B, X] of x [B, T, X]. */
static seqc_tensor *step_of(seqc_graph *g, seqc_tensor *x, size_t t)
{
	if (!x)
		return NULL;
	return seqc_reshape(g, seqc_slice(g, x, 1, t, 1), 2, (size_t[]){ x->shape[0], x->shape[2] });
}

/* Teacher forcing: every step's h~ [B, 1, H] gathered, then one generator
 * GEMM over [B, T, H]. */
static int logits_teacher(seqc_graph *g, seqc_s2sr *m, const seqc_s2s_batch *b, seqc_rng *rng,
			  seqc_tensor *mask, dec_state *st, const source_side *src,
			  seqc_tensor **logits)
{
	size_t B = b->B, T = b->T, H = m->c.hidden;
	seqc_ids in = seqc_ids_view2((int32_t *)b->tgt_in, B, T);
	seqc_tensor *emb = seqc_embedding(g, m->tgt_embed, &in, -1);
	if (mask)
		emb = seqc_mul(g, emb, mask);
	seqc_tensor **outs = seqc_graph_alloc(g, T * sizeof *outs);
	if (!outs)
		return seqc_errcode();
	for (size_t t = 0; t < T; t++) {
		seqc_tensor *o = decoder_step(g, m, step_of(g, emb, t), st, src, rng, NULL);
		if (!(outs[t] = seqc_reshape(g, o, 3, (size_t[]){ B, 1, H })))
			return seqc_errcode();
	}
	*logits = seqc_linear(g, seqc_concat(g, outs, (int)T, 1), m->gen_w, m->gen_b);
	return *logits ? 0 : seqc_errcode();
}

/* input_fn chooses the inputs of steps t >= 1 from the logits of step t - 1;
 * the generator runs per step. */
static int logits_chosen(seqc_graph *g, seqc_s2sr *m, const seqc_s2s_batch *b, seqc_rng *rng,
			 seqc_tensor *mask, dec_state *st, const source_side *src,
			 seqc_s2s_input_fn input_fn, void *ctx, seqc_tensor **logits)
{
	size_t B = b->B, T = b->T, V = m->c.tgt_vocab;
	int32_t *ids = seqc_graph_alloc(g, 2 * B * sizeof *ids);
	seqc_tensor **outs = seqc_graph_alloc(g, T * sizeof *outs);
	if (!ids || !outs)
		return seqc_errcode();
	int32_t *truth = ids + B;
	for (size_t r = 0; r < B; r++)
		ids[r] = b->tgt_in[r * T];
	for (size_t t = 0; t < T; t++) {
		if (t > 0) {
			for (size_t r = 0; r < B; r++)
				truth[r] = b->tgt_in[r * T + t];
			int rc = input_fn(ctx, t, B, V, outs[t - 1]->val, truth, ids);
			if (rc < 0)
				return rc;
			for (size_t r = 0; r < B; r++)
				if (ids[r] < 0 || (size_t)ids[r] >= V)
					return seqc_error(SEQC_ERANGE,
							  "s2s-rnn: input_fn chose id %d for row %zu "
							  "at step %zu, outside 0..%zu",
							  (int)ids[r], r, t, V - 1);
		}
		seqc_ids view = seqc_ids_view1(ids, B);
		seqc_tensor *emb = seqc_embedding(g, m->tgt_embed, &view, -1);
		if (mask)
			emb = seqc_mul(g, emb, step_of(g, mask, t));
		seqc_tensor *o = decoder_step(g, m, emb, st, src, rng, NULL);
		if (!(outs[t] = seqc_linear(g, o, m->gen_w, m->gen_b)))
			return seqc_errcode();
		/* the caller reads [B, V] rows; the concat below wants [B, 1, V] */
	}
	for (size_t t = 0; t < T; t++)
		outs[t] = seqc_reshape(g, outs[t], 3, (size_t[]){ B, 1, V });
	*logits = seqc_concat(g, outs, (int)T, 1);
	return *logits ? 0 : seqc_errcode();
}

int seqc_s2sr_logits(seqc_graph *g, seqc_s2sr *m, const seqc_s2s_batch *b, seqc_rng *rng,
		     seqc_s2s_input_fn input_fn, void *ctx, seqc_tensor **logits)
{
	*logits = NULL;
	int rc = seqc_s2s_batch_check(b, m->c.src_vocab, m->c.tgt_vocab);
	if (rc < 0)
		return rc;
	encoded e;
	if ((rc = encode(g, m, b->src, b->src_lens, b->B, b->S, rng, &e)) < 0)
		return rc;
	seqc_tensor *mask;
	if ((rc = embed_mask(g, m, b->B, b->T, rng, &mask)) < 0)
		return rc;
	dec_state st = { .feed = NULL };
	memcpy(st.h, e.h0, sizeof st.h);
	memcpy(st.c, e.c0, sizeof st.c);
	source_side src = { .mem = e.mem, .keys = e.keys, .lens = b->src_lens, .src_of = NULL };
	if (!input_fn)
		return logits_teacher(g, m, b, rng, mask, &st, &src, logits);
	return logits_chosen(g, m, b, rng, mask, &st, &src, input_fn, ctx, logits);
}

int seqc_s2sr_loss(seqc_graph *g, seqc_s2sr *m, const seqc_s2s_batch *b, seqc_rng *rng,
		   seqc_s2s_input_fn input_fn, void *ctx, seqc_tensor **loss)
{
	seqc_tensor *logits;
	*loss = NULL;
	int rc = seqc_s2sr_logits(g, m, b, rng, input_fn, ctx, &logits);
	if (rc < 0)
		return rc;
	seqc_ce_opts o = seqc_ce_defaults();
	o.ignore_index = -1;
	o.label_smoothing = m->c.label_smoothing;
	seqc_ids targets = seqc_ids_view2((int32_t *)b->tgt_out, b->B, b->T);
	*loss = seqc_cross_entropy(g, logits, &targets, &o);
	return *loss ? 0 : seqc_errcode();
}

/* ---- decoding ---- */

static float *copy_out(const seqc_tensor *t)
{
	float *p = t ? malloc(t->numel * sizeof(float)) : NULL;
	if (p)
		memcpy(p, t->val, t->numel * sizeof(float));
	return p;
}

/* Per-layer states [B, H] stacked into one [L, B, H] heap copy. */
static float *copy_layers(seqc_tensor *const *s, size_t L, size_t n)
{
	float *p = malloc(L * n * sizeof(float));
	for (size_t l = 0; p && l < L; l++)
		memcpy(p + l * n, s[l]->val, n * sizeof(float));
	return p;
}

int seqc_s2sr_set_source(seqc_s2sr *m, const int32_t *src, const size_t *lens, size_t B, size_t S)
{
	seqc_s2sr_decode *d = m->dec;
	if (!src || !lens || !B || !S || B > SEQC_S2SR_MAX_DIM || S > SEQC_S2SR_MAX_DIM)
		return seqc_error(SEQC_EINVAL, "s2s-rnn set_source: no sources (B %zu, S %zu)", B, S);
	for (size_t r = 0; r < B; r++) {
		if (!lens[r] || lens[r] > S)
			return seqc_error(SEQC_EINVAL, "s2s-rnn set_source: source %zu: length %zu outside 1..%zu",
					  r, lens[r], S);
		for (size_t s = 0; s < S; s++)
			if (src[r * S + s] < 0 || (size_t)src[r * S + s] >= m->c.src_vocab)
				return seqc_error(SEQC_EINVAL,
						  "s2s-rnn set_source: source %zu, position %zu: id %d "
						  "outside 0..%zu",
						  r, s, (int)src[r * S + s], m->c.src_vocab - 1);
	}
	free_rows(d);
	free_source(d);
	d->stepped = false;
	if (!d->g && !(d->g = seqc_graph_create(0)))
		return seqc_errcode();
	seqc_graph_reset(d->g);
	bool grad = seqc_graph_set_grad(d->g, false), training = seqc_graph_set_training(d->g, false);
	encoded e;
	int rc = encode(d->g, m, src, lens, B, S, NULL, &e);
	seqc_graph_set_grad(d->g, grad);
	seqc_graph_set_training(d->g, training);
	if (rc < 0)
		return rc;
	size_t L = m->c.dec_layers, BH = B * m->c.hidden;
	bool lstm = m->c.cell == SEQC_CELL_LSTM;
	d->lens = malloc(B * sizeof *d->lens);
	d->mem = copy_out(e.mem);
	d->keys = e.keys && e.keys != e.mem ? copy_out(e.keys) : NULL;
	d->h_init = m->c.bridge ? copy_layers(e.h0, L, BH) : NULL;
	d->c_init = m->c.bridge && lstm ? copy_layers(e.c0, L, BH) : NULL;
	if (!d->lens || !d->mem || (e.keys && e.keys != e.mem && !d->keys) ||
	    (m->c.bridge && !d->h_init) || (m->c.bridge && lstm && !d->c_init)) {
		free_source(d);
		return seqc_error(SEQC_ENOMEM, "s2s-rnn set_source: cannot keep %zu encoded sources", B);
	}
	memcpy(d->lens, lens, B * sizeof *d->lens);
	d->B = B;
	d->S = S;
	seqc_graph_reset(d->g);
	return 0;
}

/* Room for rows rows (growing only), contents undefined. */
static int reserve_rows(seqc_s2sr *m, size_t rows)
{
	seqc_s2sr_decode *d = m->dec;
	size_t H = m->c.hidden, L = m->c.dec_layers, S = d->S;
	if (rows <= d->cap_rows)
		return 0;
	if (rows > SEQC_S2SR_MAX_DIM)
		return seqc_error(SEQC_EINVAL, "s2s-rnn: %zu rows are too many", rows);
	size_t sizes[4] = { L * rows * H, L * rows * H, rows * H, rows * S };
	float *bufs[8];
	bool ok = true;
	for (int i = 0; i < 8; i++)
		ok &= (bufs[i] = calloc(sizes[i % 4], sizeof(float))) != NULL;
	size_t *src_of = calloc(rows, sizeof *src_of), *src_next = calloc(rows, sizeof *src_next);
	if (!ok || !src_of || !src_next) {
		for (int i = 0; i < 8; i++)
			free(bufs[i]);
		free(src_of);
		free(src_next);
		return seqc_error(SEQC_ENOMEM, "s2s-rnn: cannot allocate the state of %zu rows", rows);
	}
	free_rows(d);
	d->h = bufs[0], d->c = bufs[1], d->feed = bufs[2], d->attn = bufs[3];
	d->h_next = bufs[4], d->c_next = bufs[5], d->feed_next = bufs[6], d->attn_next = bufs[7];
	d->src_of = src_of;
	d->src_of_next = src_next;
	d->cap_rows = rows;
	return 0;
}

int seqc_s2sr_start(seqc_s2sr *m, size_t rows)
{
	seqc_s2sr_decode *d = m->dec;
	if (!d->B)
		return seqc_error(SEQC_ESTATE, "s2s-rnn start: call set_source first");
	if (!rows || rows % d->B)
		return seqc_error(SEQC_EINVAL, "s2s-rnn start: %zu rows are not a positive multiple of the %zu sources",
				  rows, d->B);
	int rc = reserve_rows(m, rows);
	if (rc < 0)
		return rc;
	size_t H = m->c.hidden, L = m->c.dec_layers, per = rows / d->B;
	for (size_t r = 0; r < rows; r++)
		d->src_of[r] = r / per;
	for (size_t l = 0; l < L; l++)
		for (size_t r = 0; r < rows; r++) {
			float *h = d->h + (l * rows + r) * H, *c = d->c + (l * rows + r) * H;
			size_t from = (l * d->B + d->src_of[r]) * H;
			if (d->h_init)
				memcpy(h, d->h_init + from, H * sizeof(float));
			else
				memset(h, 0, H * sizeof(float));
			if (d->c_init)
				memcpy(c, d->c_init + from, H * sizeof(float));
			else
				memset(c, 0, H * sizeof(float));
		}
	memset(d->feed, 0, rows * H * sizeof(float));
	d->rows = rows;
	d->stepped = false;
	return 0;
}

/* A [rows, cols] view of a buffer the model owns (no gradient). */
static seqc_tensor view2(float *p, size_t rows, size_t cols)
{
	return (seqc_tensor){ .val = p, .ndim = 2, .shape = { rows, cols }, .numel = rows * cols };
}

int seqc_s2sr_step(seqc_s2sr *m, seqc_graph *g, const int32_t *tokens, seqc_tensor **logits)
{
	seqc_s2sr_decode *d = m->dec;
	*logits = NULL;
	if (!d->rows)
		return seqc_error(SEQC_ESTATE, "s2s-rnn step: call set_source and start first");
	size_t R = d->rows, H = m->c.hidden, L = m->c.dec_layers, B = d->B, S = d->S;
	bool lstm = m->c.cell == SEQC_CELL_LSTM;
	bool grad = seqc_graph_set_grad(g, false), training = seqc_graph_set_training(g, false);
	seqc_tensor hv[SEQC_S2SR_MAX_LAYERS], cv[SEQC_S2SR_MAX_LAYERS], fv = view2(d->feed, R, H);
	seqc_tensor mem = { .val = d->mem, .ndim = 3, .shape = { B, S, H }, .numel = B * S * H };
	seqc_tensor keys = mem;
	if (d->keys)
		keys.val = d->keys;
	dec_state st = { .feed = &fv };
	for (size_t l = 0; l < L; l++) {
		hv[l] = view2(d->h + l * R * H, R, H);
		cv[l] = view2(d->c + l * R * H, R, H);
		st.h[l] = &hv[l];
		st.c[l] = lstm ? &cv[l] : NULL;
	}
	source_side src = { .mem = &mem, .keys = &keys, .lens = d->lens, .src_of = d->src_of };
	seqc_ids ids = seqc_ids_view1((int32_t *)tokens, R);
	const float *weights = NULL;
	seqc_tensor *out = decoder_step(g, m, seqc_embedding(g, m->tgt_embed, &ids, -1), &st, &src,
					NULL, &weights);
	*logits = seqc_linear(g, out, m->gen_w, m->gen_b);
	seqc_graph_set_grad(g, grad);
	seqc_graph_set_training(g, training);
	if (!*logits)
		return seqc_errcode();
	/* the step is complete: only now does the state move */
	for (size_t l = 0; l < L; l++) {
		memcpy(hv[l].val, st.h[l]->val, R * H * sizeof(float));
		if (lstm)
			memcpy(cv[l].val, st.c[l]->val, R * H * sizeof(float));
	}
	memcpy(d->feed, st.feed->val, R * H * sizeof(float));
	if (weights)
		memcpy(d->attn, weights, R * S * sizeof(float));
	else
		memset(d->attn, 0, R * S * sizeof(float));
	d->stepped = true;
	return 0;
}

/* dst [L, n, W] row i = src [L, old, W] row from[i]. */
static void gather(float *dst, const float *src, const size_t *from, size_t n, size_t old, size_t L,
		   size_t W)
{
	for (size_t l = 0; l < L; l++)
		for (size_t i = 0; i < n; i++)
			memcpy(dst + (l * n + i) * W, src + (l * old + from[i]) * W, W * sizeof(float));
}

static void swap_f(float **a, float **b)
{
	float *t = *a;
	*a = *b;
	*b = t;
}

int seqc_s2sr_reorder(seqc_s2sr *m, const size_t *from, size_t n)
{
	seqc_s2sr_decode *d = m->dec;
	size_t old = d->rows, H = m->c.hidden, L = m->c.dec_layers, S = d->S;
	if (!old)
		return seqc_error(SEQC_ESTATE, "s2s-rnn reorder: call start first");
	if (!n)
		return seqc_error(SEQC_EINVAL, "s2s-rnn reorder: no rows");
	for (size_t i = 0; i < n; i++)
		if (from[i] >= old)
			return seqc_error(SEQC_ERANGE, "s2s-rnn reorder: row %zu is outside [0, %zu)",
					  from[i], old);
	float *oh = d->h, *oc = d->c, *of = d->feed, *oa = d->attn;
	size_t *os = d->src_of;
	bool grow = n > d->cap_rows;
	if (grow) {
		/* fresh, larger buffers; the old state is gathered from where
		 * it is and freed after */
		d->h = d->c = d->feed = d->attn = NULL;
		d->src_of = NULL;
		int rc = reserve_rows(m, n);
		if (rc < 0) {
			d->h = oh, d->c = oc, d->feed = of, d->attn = oa, d->src_of = os;
			return rc;
		}
	}
	float *nh = grow ? d->h : d->h_next, *nc = grow ? d->c : d->c_next;
	float *nf = grow ? d->feed : d->feed_next, *na = grow ? d->attn : d->attn_next;
	size_t *ns = grow ? d->src_of : d->src_of_next;
	gather(nh, oh, from, n, old, L, H);
	gather(nc, oc, from, n, old, L, H);
	gather(nf, of, from, n, old, 1, H);
	gather(na, oa, from, n, old, 1, S);
	for (size_t i = 0; i < n; i++)
		ns[i] = os[from[i]];
	if (grow) {
		free(oh), free(oc), free(of), free(oa), free(os);
	} else {
		swap_f(&d->h, &d->h_next);
		swap_f(&d->c, &d->c_next);
		swap_f(&d->feed, &d->feed_next);
		swap_f(&d->attn, &d->attn_next);
		d->src_of_next = os;
		d->src_of = ns;
	}
	d->rows = n;
	return 0;
}

int seqc_s2sr_attention(const seqc_s2sr *m, float *weights)
{
	const seqc_s2sr_decode *d = m->dec;
	if (!d->rows || !d->stepped)
		return seqc_error(SEQC_ESTATE, "s2s-rnn attention: no step since start");
	memcpy(weights, d->attn, d->rows * d->S * sizeof(float));
	return 0;
}

int seqc_s2sr_last_state(const seqc_s2sr *m, float *h_top, float *h_tilde)
{
	const seqc_s2sr_decode *d = m->dec;
	size_t RH = d->rows * m->c.hidden;
	if (!d->rows || !d->stepped)
		return seqc_error(SEQC_ESTATE, "s2s-rnn last_state: no step since start");
	if (h_top)
		memcpy(h_top, d->h + (m->c.dec_layers - 1) * RH, RH * sizeof(float));
	if (h_tilde)
		memcpy(h_tilde, d->feed, RH * sizeof(float));
	return 0;
}

size_t seqc_s2sr_activation_bytes(const seqc_s2sr_config *c, size_t B, size_t S, size_t T)
{
	size_t H = c->hidden, E = c->embed, G = (size_t)seqc_cell_gates(c->cell);
	size_t D = c->bidirectional ? 2 : 1;
	/* encoder per source token and layer: projections, gates, outputs,
	 * their gradients and the backward scratch (~ 4 G H + 4 H), plus the
	 * embedding and the memory and keys (values and gradients) */
	size_t enc = B * S * (c->enc_layers * D * (4 * G * H / D + 4 * H / D) + 2 * E + 4 * H);
	/* decoder per target token: the input [E + H], per layer the cell's
	 * buffers (~ 4 G H + 4 H), attention (weights, scratch: 2 S; context,
	 * concat, h~: 4 H), all with gradients, then the logits and theirs */
	size_t dec = B * T * (2 * (E + H) + c->dec_layers * (4 * G * H + 4 * H) + 2 * S + 8 * H +
			      2 * c->tgt_vocab);
	return (enc + dec) * sizeof(float);
}
