/* s2s-transformer: nn.Transformer with embeddings, sinusoidal positions and
 * a generator (see s2s_transformer.h). */
#include "models/s2s_transformer.h"
#include "models/config_internal.h"
#include "models/kv_rows_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/posenc.h"
#include "seq/attention_internal.h"
#include "seq/fastmath.h"
#include "seq/gemm_packed.h"
#include "seq/graph_internal.h"

/* Decoding state. Buffers grow (never shrink) at set_source, start and
 * reorder, so steps take nothing from the heap. */
struct seqc_s2st_decode {
	seqc_graph *g;     /* set_source's private graph (no gradient, no dropout) */
	/* sources: B of S positions */
	size_t B, S;
	size_t *lens;      /* [B] */
	float *cross_kv;   /* [L, B * S, 2d]: keys in columns [0, d), values [d, 2d) */
	size_t cap_lens, cap_cross;
	/* rows */
	size_t rows, cap_rows, pos;
	size_t *src_of, *src_tmp;  /* [cap_rows]: row -> source */
	float *k, *v;      /* self-attention caches [L, cap_rows, max_len, d] */
	float *scratch;    /* [cap_rows, max_len, d]: reorder */
	float *heads_w;    /* [cap_rows, heads, S]: a step's cross-attention weights per head */
	float *attn, *attn_tmp; /* [cap_rows, S]: the last layer's, averaged over heads */
	size_t cap_attn;   /* floats of heads_w */
	size_t cap_avg;    /* floats of attn and attn_tmp */
	bool have_source, stepped;
	/* weights packed for the small-row kernel once per start, in step
	 * order: per decoder layer self in_proj, self out_proj, cross q
	 * projection, cross out_proj, linear1, linear2; then the generator */
	float *packed;
	float **packed_at;
	bool packed_ready;
};

seqc_s2st_config seqc_s2st_config_defaults(void)
{
	return (seqc_s2st_config){ .d_model = 256, .heads = 4, .enc_layers = 3, .dec_layers = 3,
				   .dim_ff = 1024, .dropout = 0.1f, .activation = SEQC_FF_RELU,
				   .norm_first = false, .layer_norm_eps = 1e-5f, .max_len = 256,
				   .share_embeddings = false, .tie_output = true,
				   .label_smoothing = 0.1f };
}

/* A size field in [1, SEQC_S2ST_MAX_DIM]. */
static int check_size(const char *name, size_t v)
{
	if (!v || v > SEQC_S2ST_MAX_DIM)
		return seqc_error(SEQC_EINVAL, "s2s-transformer: %s %zu is outside [1, %zu]", name, v,
				  SEQC_S2ST_MAX_DIM);
	return 0;
}

static int validate(const seqc_s2st_config *c)
{
	int rc;
	if ((rc = check_size("src_vocab", c->src_vocab)) < 0 ||
	    (rc = check_size("tgt_vocab", c->tgt_vocab)) < 0 ||
	    (rc = check_size("d_model", c->d_model)) < 0 || (rc = check_size("dim_ff", c->dim_ff)) < 0 ||
	    (rc = check_size("max_len", c->max_len)) < 0)
		return rc;
	if (!c->heads || c->d_model % c->heads)
		return seqc_error(SEQC_EINVAL, "s2s-transformer: heads %zu must be at least 1 and divide "
				  "d_model %zu", c->heads, c->d_model);
	if (!c->enc_layers || c->enc_layers > SEQC_TSTACK_MAX_LAYERS)
		return seqc_error(SEQC_EINVAL, "s2s-transformer: enc_layers %zu is outside [1, %d]",
				  c->enc_layers, SEQC_TSTACK_MAX_LAYERS);
	if (!c->dec_layers || c->dec_layers > SEQC_TSTACK_MAX_LAYERS)
		return seqc_error(SEQC_EINVAL, "s2s-transformer: dec_layers %zu is outside [1, %d]",
				  c->dec_layers, SEQC_TSTACK_MAX_LAYERS);
	if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
		return seqc_error(SEQC_EINVAL, "s2s-transformer: dropout %g is outside [0, 1)",
				  (double)c->dropout);
	if (c->activation != SEQC_FF_RELU && c->activation != SEQC_FF_GELU)
		return seqc_error(SEQC_EINVAL, "s2s-transformer: unknown activation %d",
				  (int)c->activation);
	if (!(c->layer_norm_eps > 0.0f) || !isfinite(c->layer_norm_eps))
		return seqc_error(SEQC_EINVAL, "s2s-transformer: layer_norm_eps %g must be positive and "
				  "finite", (double)c->layer_norm_eps);
	if (!(c->label_smoothing >= 0.0f && c->label_smoothing < 1.0f))
		return seqc_error(SEQC_EINVAL, "s2s-transformer: label_smoothing %g is outside [0, 1)",
				  (double)c->label_smoothing);
	if (c->share_embeddings && c->src_vocab != c->tgt_vocab)
		return seqc_error(SEQC_EINVAL, "s2s-transformer: share_embeddings needs src_vocab %zu "
				  "equal to tgt_vocab %zu", c->src_vocab, c->tgt_vocab);
	return 0;
}

/* ---- parameters ---- */

static seqc_tlayer_config layer_config(const seqc_s2st_config *c)
{
	return (seqc_tlayer_config){ .d_model = c->d_model, .nhead = c->heads,
				     .dim_feedforward = c->dim_ff, .dropout = c->dropout,
				     .activation = c->activation, .norm_first = c->norm_first,
				     .layer_norm_eps = c->layer_norm_eps };
}

/* An embedding [V, d], N(0, 1/d) as fairseq's Embedding. Decayed like
 * every 2-D weight (it may be the output layer too). */
static seqc_tensor *add_embedding(seqc_s2st *m, const char *name, size_t V)
{
	size_t d = m->c.d_model;
	return seqc_params_add(m->params, name, 2, (size_t[]){ V, d },
			       (seqc_init){ SEQC_INIT_NORMAL, 1.0f / sqrtf((float)d) }, false);
}

/* generator.weight and .bias as nn.Linear(d, V). */
static bool add_generator(seqc_s2st *m)
{
	size_t V = m->c.tgt_vocab, d = m->c.d_model;
	m->gen_w = seqc_params_add(m->params, "generator.weight", 2, (size_t[]){ V, d },
				   (seqc_init){ SEQC_INIT_KAIMING_UNIFORM, 1.0f / sqrtf(3.0f) }, false);
	m->gen_b = seqc_params_add(m->params, "generator.bias", 1, &V,
				   (seqc_init){ SEQC_INIT_UNIFORM, 1.0f / sqrtf((float)d) }, true);
	return m->gen_w && m->gen_b;
}

static bool declare_all(seqc_s2st *m)
{
	const seqc_s2st_config *c = &m->c;
	seqc_tlayer_config lc = layer_config(c);
	if (!c->share_embeddings && !(m->src_embed = add_embedding(m, "src_embed.weight",
								    c->src_vocab)))
		return false;
	if (!(m->tgt_embed = add_embedding(m, "tgt_embed.weight", c->tgt_vocab)))
		return false;
	if (c->share_embeddings)
		m->src_embed = m->tgt_embed;
	if (seqc_tenc_declare(&m->enc, &lc, c->enc_layers, true, m->params, "transformer.encoder.") ||
	    seqc_tdec_declare(&m->dec, &lc, c->dec_layers, true, m->params, "transformer.decoder."))
		return false;
	if (c->tie_output) {
		m->gen_w = m->tgt_embed;
		return true;
	}
	return add_generator(m);
}

seqc_s2st *seqc_s2st_create(const seqc_s2st_config *c, seqc_rng *rng)
{
	if (validate(c) < 0)
		return NULL;
	seqc_s2st *m = calloc(1, sizeof *m);
	if (!m || !(m->params = seqc_params_create()) ||
	    !(m->state = calloc(1, sizeof *m->state))) {
		seqc_s2st_destroy(m);
		seqc_error(SEQC_ENOMEM, "s2s-transformer: cannot allocate");
		return NULL;
	}
	m->c = *c;
	bool ok = declare_all(m);
	/* without an rng the caller loads every value: skip the draws */
	for (size_t i = 0; ok && !rng && i < m->params->count; i++)
		m->params->items[i]->init = (seqc_init){ SEQC_INIT_ZEROS, 0 };
	if (!ok || seqc_params_finalize(m->params, rng) < 0) {
		seqc_s2st_destroy(m);
		return NULL;
	}
	return m;
}

static void free_state(seqc_s2st_decode *s)
{
	if (!s)
		return;
	seqc_graph_destroy(s->g);
	free(s->lens);
	free(s->cross_kv);
	free(s->src_of);
	free(s->src_tmp);
	free(s->k);
	free(s->v);
	free(s->scratch);
	free(s->heads_w);
	free(s->attn);
	free(s->attn_tmp);
	free(s->packed);
	free(s->packed_at);
	free(s);
}

void seqc_s2st_destroy(seqc_s2st *m)
{
	if (!m)
		return;
	seqc_params_destroy(m->params);
	free_state(m->state);
	free(m);
}

/* ---- configuration as JSON ---- */

char *seqc_s2st_config_to_json(const seqc_s2st_config *c)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:s, s:b, s:f, s:I, "
			      "s:b, s:b, s:f}",
			      "arch", "s2s-transformer", "src_vocab", (json_int_t)c->src_vocab,
			      "tgt_vocab", (json_int_t)c->tgt_vocab, "d_model", (json_int_t)c->d_model,
			      "heads", (json_int_t)c->heads, "enc_layers", (json_int_t)c->enc_layers,
			      "dec_layers", (json_int_t)c->dec_layers, "dim_ff", (json_int_t)c->dim_ff,
			      "dropout", seqc_cfg_real(c->dropout), "activation",
			      seqc_ff_act_name(c->activation), "norm_first", c->norm_first,
			      "layer_norm_eps", seqc_cfg_real(c->layer_norm_eps), "max_len",
			      (json_int_t)c->max_len, "share_embeddings", c->share_embeddings,
			      "tie_output", c->tie_output, "label_smoothing",
			      seqc_cfg_real(c->label_smoothing));
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(o);
	if (!s)
		seqc_error(SEQC_ENOMEM, "s2s-transformer: cannot serialize the config");
	return s;
}

/* An integer field in [1, SEQC_S2ST_MAX_DIM]; required fields must be
 * there, optional ones (and numbers, booleans) keep their default when
 * absent. */
static int get_size(json_t *o, const char *key, bool required, size_t *out)
{
	return seqc_cfg_size(o, "s2s-transformer", key, SEQC_S2ST_MAX_DIM, required, out);
}

static int get_float(json_t *o, const char *key, float *out)
{
	return seqc_cfg_float(o, "s2s-transformer", key, out);
}

static int get_bool(json_t *o, const char *key, bool *out)
{
	return seqc_cfg_bool(o, "s2s-transformer", key, out);
}

static int get_activation(json_t *o, seqc_ff_act *out)
{
	json_t *v = json_object_get(o, "activation");
	if (!v)
		return 0;
	int act = json_is_string(v) ? seqc_ff_act_parse(json_string_value(v)) : -1;
	if (act < 0)
		return seqc_error(SEQC_EFORMAT, "s2s-transformer config: \"activation\" must be \"relu\" "
				  "or \"gelu\"");
	*out = (seqc_ff_act)act;
	return 0;
}

/* Every key must be one we read: a misspelt field must not fall back to a
 * default silently. */
static int check_keys(json_t *o)
{
	static const char *const known[] = { "arch", "src_vocab", "tgt_vocab", "d_model", "heads",
					     "enc_layers", "dec_layers", "dim_ff", "dropout",
					     "activation", "norm_first", "layer_norm_eps", "max_len",
					     "share_embeddings", "tie_output", "label_smoothing" };
	return seqc_cfg_check_keys(o, "s2s-transformer", known, sizeof known / sizeof known[0]);
}

static int read_fields(json_t *o, seqc_s2st_config *c)
{
	int rc;
	if ((rc = check_keys(o)) < 0 || (rc = get_size(o, "src_vocab", true, &c->src_vocab)) < 0 ||
	    (rc = get_size(o, "tgt_vocab", true, &c->tgt_vocab)) < 0 ||
	    (rc = get_size(o, "d_model", false, &c->d_model)) < 0 ||
	    (rc = get_size(o, "heads", false, &c->heads)) < 0 ||
	    (rc = get_size(o, "enc_layers", false, &c->enc_layers)) < 0 ||
	    (rc = get_size(o, "dec_layers", false, &c->dec_layers)) < 0 ||
	    (rc = get_size(o, "dim_ff", false, &c->dim_ff)) < 0 ||
	    (rc = get_size(o, "max_len", false, &c->max_len)) < 0 ||
	    (rc = get_float(o, "dropout", &c->dropout)) < 0 ||
	    (rc = get_float(o, "layer_norm_eps", &c->layer_norm_eps)) < 0 ||
	    (rc = get_float(o, "label_smoothing", &c->label_smoothing)) < 0 ||
	    (rc = get_activation(o, &c->activation)) < 0 ||
	    (rc = get_bool(o, "norm_first", &c->norm_first)) < 0 ||
	    (rc = get_bool(o, "share_embeddings", &c->share_embeddings)) < 0 ||
	    (rc = get_bool(o, "tie_output", &c->tie_output)) < 0)
		return rc;
	return validate(c);
}

int seqc_s2st_config_from_json(const char *text, seqc_s2st_config *c)
{
	json_error_t err;
	json_t *o = text ? json_loads(text, JSON_REJECT_DUPLICATES, &err) : NULL;
	int rc;
	*c = seqc_s2st_config_defaults();
	if (!json_is_object(o)) {
		rc = seqc_error(SEQC_EFORMAT, "s2s-transformer config: not a JSON object%s%s",
				o || !text ? "" : ": ", o || !text ? "" : err.text);
		goto done;
	}
	const char *arch = json_string_value(json_object_get(o, "arch"));
	if (!arch || strcmp(arch, "s2s-transformer")) {
		rc = seqc_error(SEQC_EFORMAT, "s2s-transformer config: \"arch\" is \"%s\", not "
				"\"s2s-transformer\"", arch ? arch : "(missing)");
		goto done;
	}
	rc = read_fields(o, c);
done:
	json_decref(o);
	return rc;
}

/* ---- teacher-forced forward ---- */

/* dropout(embed(ids) * sqrt(d) + PE[p0 ..]) for ids [B, T]. */
static seqc_tensor *embed(seqc_graph *g, const seqc_s2st *m, seqc_tensor *table,
			  const seqc_ids *ids, size_t p0, seqc_rng *rng)
{
	seqc_tensor *x = seqc_posenc_add(g, seqc_embedding(g, table, ids, -1), p0, true);
	return seqc_dropout(g, x, m->c.dropout, rng);
}

/* key_pad [B, S] in g: 1 at positions >= lens[b]. */
static uint8_t *source_padding(seqc_graph *g, const size_t *lens, size_t B, size_t S)
{
	uint8_t *pad = seqc_graph_alloc(g, B * S);
	for (size_t b = 0; pad && b < B; b++)
		for (size_t s = 0; s < S; s++)
			pad[b * S + s] = s >= lens[b];
	return pad;
}

/* The encoder's output [B, S, d] for src [B, S] with padding pad. */
static seqc_tensor *encode(seqc_graph *g, const seqc_s2st *m, const int32_t *src, size_t B,
			   size_t S, const uint8_t *pad, seqc_rng *rng)
{
	seqc_ids ids = seqc_ids_view2((int32_t *)src, B, S);
	seqc_tmask mask = { .key_pad = pad };
	return seqc_tenc_forward(g, &m->enc, embed(g, m, m->src_embed, &ids, 0, rng), &mask, rng);
}

static int check_batch(const seqc_s2st *m, const seqc_s2s_batch *b)
{
	int rc = seqc_s2s_batch_check(b, m->c.src_vocab, m->c.tgt_vocab);
	if (rc < 0)
		return rc;
	if (b->S > m->c.max_len || b->T > m->c.max_len)
		return seqc_error(SEQC_EINVAL, "s2s-transformer: batch lengths S %zu and T %zu must not "
				  "exceed max_len %zu", b->S, b->T, m->c.max_len);
	return 0;
}

int seqc_s2st_logits(seqc_graph *g, seqc_s2st *m, const seqc_s2s_batch *b, seqc_rng *rng,
		     seqc_tensor **logits)
{
	*logits = NULL;
	int rc = check_batch(m, b);
	if (rc < 0)
		return rc;
	uint8_t *pad = source_padding(g, b->src_lens, b->B, b->S);
	if (!pad)
		return seqc_errcode();
	seqc_tensor *memory = encode(g, m, b->src, b->B, b->S, pad, rng);
	seqc_ids in = seqc_ids_view2((int32_t *)b->tgt_in, b->B, b->T);
	seqc_tmask self = { .causal = true }, cross = { .key_pad = pad };
	seqc_tensor *h = seqc_tdec_forward(g, &m->dec, embed(g, m, m->tgt_embed, &in, 0, rng), memory,
					   &self, &cross, rng);
	*logits = seqc_linear(g, h, m->gen_w, m->gen_b);
	return *logits ? 0 : seqc_errcode();
}

int seqc_s2st_loss(seqc_graph *g, seqc_s2st *m, const seqc_s2s_batch *b, seqc_rng *rng,
		   seqc_tensor **loss)
{
	*loss = NULL;
	seqc_tensor *logits;
	int rc = seqc_s2st_logits(g, m, b, rng, &logits);
	if (rc < 0)
		return rc;
	seqc_ce_opts o = seqc_ce_defaults();
	o.ignore_index = -1;
	o.label_smoothing = m->c.label_smoothing;
	seqc_ids out = seqc_ids_view2((int32_t *)b->tgt_out, b->B, b->T);
	*loss = seqc_cross_entropy(g, logits, &out, &o);
	return *loss ? 0 : seqc_errcode();
}

/* ---- decoding: the source ---- */

/* *buf holds at least n elements of size bytes (grown, contents kept). */
static int reserve(void **buf, size_t *cap, size_t n, size_t size)
{
	if (n <= *cap)
		return 0;
	if (n > SIZE_MAX / size)
		return seqc_error(SEQC_ENOMEM, "s2s-transformer: %zu elements are too many", n);
	void *p = realloc(*buf, n * size); /* keeps the contents: reorder gathers from them */
	if (!p)
		return seqc_error(SEQC_ENOMEM, "s2s-transformer: cannot allocate %zu bytes", n * size);
	*buf = p;
	*cap = n;
	return 0;
}

static int check_source(const seqc_s2st *m, const int32_t *src, const size_t *lens, size_t B,
			size_t S)
{
	if (!src || !lens || !B || !S)
		return seqc_error(SEQC_EINVAL, "s2st set_source: no sources (B %zu, S %zu)", B, S);
	if (S > m->c.max_len)
		return seqc_error(SEQC_EINVAL, "s2st set_source: source length %zu exceeds max_len %zu",
				  S, m->c.max_len);
	for (size_t b = 0; b < B; b++) {
		if (!lens[b] || lens[b] > S)
			return seqc_error(SEQC_EINVAL, "s2st set_source: row %zu: length %zu outside "
					  "1..%zu", b, lens[b], S);
		for (size_t s = 0; s < S; s++)
			if (src[b * S + s] < 0 || (size_t)src[b * S + s] >= m->c.src_vocab)
				return seqc_error(SEQC_EINVAL, "s2st set_source: row %zu, position %zu: "
						  "id %d outside 0..%zu", b, s, (int)src[b * S + s],
						  m->c.src_vocab - 1);
	}
	return 0;
}

/* Keys and values of every decoder layer's cross-attention over memory
 * [B, S, d]: one GEMM per layer with rows [d, 3d) of its in-projection. */
static int project_memory(seqc_graph *g, seqc_s2st *m, seqc_tensor *memory)
{
	seqc_s2st_decode *s = m->state;
	size_t d = m->c.d_model, n = s->B * s->S * 2 * d;
	for (size_t l = 0; l < m->c.dec_layers; l++) {
		const seqc_mha *a = &m->dec.layer[l].multihead_attn;
		seqc_tensor *w = seqc_rows_view(g, a->in_proj_weight, d, 2 * d);
		seqc_tensor *kv = seqc_linear(g, memory, w, seqc_rows_view(g, a->in_proj_bias, d, 2 * d));
		if (!kv)
			return seqc_errcode();
		memcpy(s->cross_kv + l * n, kv->val, n * sizeof(float));
	}
	return 0;
}

int seqc_s2st_set_source(seqc_s2st *m, const int32_t *src, const size_t *lens, size_t B, size_t S)
{
	seqc_s2st_decode *s = m->state;
	int rc = check_source(m, src, lens, B, S);
	if (rc < 0)
		return rc;
	s->have_source = false;
	s->rows = 0;
	s->stepped = false;
	size_t d = m->c.d_model;
	if ((rc = reserve((void **)&s->lens, &s->cap_lens, B, sizeof(size_t))) < 0 ||
	    (rc = reserve((void **)&s->cross_kv, &s->cap_cross, m->c.dec_layers * B * S * 2 * d,
			  sizeof(float))) < 0)
		return rc;
	if (!s->g && !(s->g = seqc_graph_create(0)))
		return seqc_errcode();
	memcpy(s->lens, lens, B * sizeof *lens);
	s->B = B;
	s->S = S;
	seqc_graph_set_grad(s->g, false);
	seqc_graph_set_training(s->g, false);
	uint8_t *pad = source_padding(s->g, lens, B, S);
	seqc_tensor *memory = pad ? encode(s->g, m, src, B, S, pad, NULL) : NULL;
	rc = memory ? project_memory(s->g, m, memory) : seqc_errcode();
	seqc_graph_reset(s->g);
	s->have_source = rc == 0;
	return rc;
}

/* ---- decoding: rows and their caches ---- */

/* Floats of one row's self-attention cache in one layer. */
static size_t row_floats(const seqc_s2st *m)
{
	return m->c.max_len * m->c.d_model;
}

/* Fresh, uninitialized self-attention caches for cap rows; the old ones
 * are the caller's to free (or gather from) through *old_k and *old_v. */
static int grow_cache(seqc_s2st *m, size_t cap, float **old_k, float **old_v)
{
	seqc_s2st_decode *s = m->state;
	size_t rf = row_floats(m), L = m->c.dec_layers;
	if (cap > SEQC_S2ST_MAX_DIM || rf > SIZE_MAX / sizeof(float) / cap / L)
		return seqc_error(SEQC_EINVAL, "s2s-transformer: %zu rows are too many", cap);
	size_t n = L * cap * rf;
	float *k = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
	float *scratch = malloc(cap * rf * sizeof(float));
	size_t *src_of = malloc(cap * sizeof *src_of), *src_tmp = malloc(cap * sizeof *src_tmp);
	if (!k || !v || !scratch || !src_of || !src_tmp) {
		free(k);
		free(v);
		free(scratch);
		free(src_of);
		free(src_tmp);
		return seqc_error(SEQC_ENOMEM, "s2s-transformer: cannot allocate the key/value cache "
				  "of %zu rows (%zu bytes)", cap, 2 * n * sizeof(float));
	}
	if (s->src_of)
		memcpy(src_of, s->src_of, s->cap_rows * sizeof *src_of);
	free(s->src_of);
	free(s->src_tmp);
	free(s->scratch);
	*old_k = s->k;
	*old_v = s->v;
	s->k = k;
	s->v = v;
	s->scratch = scratch;
	s->src_of = src_of;
	s->src_tmp = src_tmp;
	s->cap_rows = cap;
	return 0;
}

/* Attention buffers for rows rows of S sources positions. */
static int reserve_attention(seqc_s2st_decode *s, size_t rows, size_t heads)
{
	size_t cap = s->cap_avg;
	int rc = reserve((void **)&s->heads_w, &s->cap_attn, rows * heads * s->S, sizeof(float));
	rc = rc ? rc : reserve((void **)&s->attn, &cap, rows * s->S, sizeof(float));
	cap = s->cap_avg;
	rc = rc ? rc : reserve((void **)&s->attn_tmp, &cap, rows * s->S, sizeof(float));
	if (!rc)
		s->cap_avg = cap;
	return rc;
}

int seqc_s2st_start(seqc_s2st *m, size_t rows)
{
	seqc_s2st_decode *s = m->state;
	if (!s->have_source)
		return seqc_error(SEQC_ESTATE, "s2st start: call set_source first");
	if (!rows || rows % s->B)
		return seqc_error(SEQC_EINVAL, "s2st start: %zu rows is not a positive multiple of the "
				  "%zu sources", rows, s->B);
	if (rows > s->cap_rows) {
		float *old_k = NULL, *old_v = NULL;
		int rc = grow_cache(m, rows, &old_k, &old_v);
		if (rc < 0)
			return rc;
		free(old_k);
		free(old_v);
	}
	int rc = reserve_attention(s, rows, m->c.heads);
	if (rc < 0)
		return rc;
	size_t per = rows / s->B;
	for (size_t r = 0; r < rows; r++)
		s->src_of[r] = r / per;
	s->rows = rows;
	s->pos = 0;
	s->stepped = false;
	s->packed_ready = false; /* the weights may have changed since */
	return 0;
}

/* ---- decoding: one step ---- */

/* Rows a step runs on packed weights: from 2 (one row is a GEMV) to where
 * OpenBLAS's own packing pays for itself. */
#define PACK_MIN_ROWS 2
#define PACK_MAX_ROWS 128

/* Weights a step multiplies by, in step order: [val, out, in]. */
typedef struct step_weight {
	const float *w;
	size_t out, in;
} step_weight;

static step_weight packed_weight(const seqc_s2st *m, size_t i)
{
	size_t d = m->c.d_model, ff = m->c.dim_ff;
	if (i == 6 * m->c.dec_layers)
		return (step_weight){ m->gen_w->val, m->c.tgt_vocab, d };
	const seqc_tdec_layer *l = &m->dec.layer[i / 6];
	switch (i % 6) {
	case 0: return (step_weight){ l->self_attn.in_proj_weight->val, 3 * d, d };
	case 1: return (step_weight){ l->self_attn.out_proj_weight->val, d, d };
	case 2: return (step_weight){ l->multihead_attn.in_proj_weight->val, d, d };
	case 3: return (step_weight){ l->multihead_attn.out_proj_weight->val, d, d };
	case 4: return (step_weight){ l->linear1.weight->val, ff, d };
	default: return (step_weight){ l->linear2.weight->val, d, ff };
	}
}

/* Packs every weight once after a start, when the rows suit the packed
 * kernel; false (plain seqc_linear then) otherwise or without memory. */
static bool use_packed(seqc_s2st *m)
{
	seqc_s2st_decode *s = m->state;
	if (s->rows < PACK_MIN_ROWS || s->rows > PACK_MAX_ROWS || !seqc_gemm_packed_fast())
		return false;
	if (s->packed_ready)
		return true;
	size_t n = 6 * m->c.dec_layers + 1, total = 0;
	for (size_t i = 0; i < n; i++)
		total += seqc_packed_floats(packed_weight(m, i).in, packed_weight(m, i).out);
	if (!s->packed_at && !(s->packed_at = malloc(n * sizeof *s->packed_at)))
		return false;
	if (!s->packed && !(s->packed = malloc(total * sizeof(float))))
		return false;
	float *p = s->packed;
	for (size_t i = 0; i < n; i++) {
		step_weight w = packed_weight(m, i);
		seqc_pack(w.w, w.in, true, w.in, w.out, p);
		s->packed_at[i] = p;
		p += seqc_packed_floats(w.in, w.out);
	}
	s->packed_ready = true;
	return true;
}

/* y [rows, out] = x w^T + b for the i-th step weight: packed, or
 * seqc_linear over the weight's first out rows (b: its first out elements,
 * or NULL). */
static seqc_tensor *step_linear(seqc_graph *g, const seqc_s2st *m, bool packed, size_t i,
				seqc_tensor *x, seqc_tensor *w, seqc_tensor *b)
{
	step_weight sw = packed_weight(m, i);
	if (!x)
		return NULL;
	if (!packed) {
		seqc_tensor *wv = w->shape[0] == sw.out ? w : seqc_rows_view(g, w, 0, sw.out);
		seqc_tensor *bv = !b || b->shape[0] == sw.out ? b : seqc_rows_view(g, b, 0, sw.out);
		return wv && (bv || !b) ? seqc_linear(g, x, wv, bv) : NULL;
	}
	size_t rows = seqc_tensor_rows(x);
	seqc_tensor *y = seqc_graph_tensor(g, 2, (size_t[]){ rows, sw.out }, false);
	if (!y)
		return NULL;
	seqc_gemm_packed(rows, sw.out, sw.in, x->val, sw.in, m->state->packed_at[i], 0.0f, y->val,
			 sw.out);
	for (size_t r = 0; b && r < rows; r++)
		for (size_t o = 0; o < sw.out; o++)
			y->val[r * sw.out + o] += b->val[o];
	return y;
}

/* One residual sublayer's ending: x + f, then the norm when post-norm. */
static seqc_tensor *residual(seqc_graph *g, const seqc_s2st *m, const seqc_tnorm *n,
			     seqc_tensor *x, seqc_tensor *f)
{
	seqc_tensor *y = seqc_add(g, x, f);
	return m->c.norm_first ? y : seqc_layer_norm(g, y, n->weight, n->bias, m->c.layer_norm_eps);
}

/* The sublayer's input: the norm when pre-norm, else x. */
static seqc_tensor *sub_in(seqc_graph *g, const seqc_s2st *m, const seqc_tnorm *n, seqc_tensor *x)
{
	return m->c.norm_first ? seqc_layer_norm(g, x, n->weight, n->bias, m->c.layer_norm_eps) : x;
}

/* out[r, h] = softmax_j(q_h . k_j,h / sqrt(dh)) v_j,h over the real
 * positions j < lens[src_of[r]] of row r's source, keys and values
 * [B * S, 2d] (keys in columns [0, d)); weights [rows, heads, S] get
 * every (row, head)'s softmax, 0 beyond the source's length. */
SEQC_SIMD_CLONES
static void cross_head(const float *q, const float *kv, size_t n, size_t S, size_t d, size_t dh,
		       float *w, float *out)
{
	float scale = 1.0f / sqrtf((float)dh), max = -INFINITY, sum = 0.0f;
	for (size_t j = 0; j < n; j++) {
		const float *k = kv + j * 2 * d;
		float part[SEQC_LANES] = { 0 };
		size_t c = 0;
		for (; c + SEQC_LANES <= dh; c += SEQC_LANES)
			for (int l = 0; l < SEQC_LANES; l++)
				part[l] += q[c + l] * k[c + l];
		for (; c < dh; c++)
			part[0] += q[c] * k[c];
		w[j] = seqc_lanes_sum(part) * scale;
		max = w[j] > max ? w[j] : max;
	}
	for (size_t j = 0; j < n; j++) {
		w[j] = seqc_fast_exp(w[j] - max);
		sum += w[j];
	}
	float inv = 1.0f / sum;
	memset(out, 0, dh * sizeof(float));
	for (size_t j = 0; j < n; j++) {
		const float *v = kv + j * 2 * d + d;
		w[j] *= inv;
		for (size_t c = 0; c < dh; c++)
			out[c] += w[j] * v[c];
	}
	memset(w + n, 0, (S - n) * sizeof(float));
}

static void cross_attend(const seqc_s2st *m, size_t l, const float *q, float *out)
{
	const seqc_s2st_decode *s = m->state;
	size_t d = m->c.d_model, H = m->c.heads, dh = d / H, S = s->S, pairs = s->rows * H;
	const float *kv = s->cross_kv + l * s->B * S * 2 * d;
#pragma omp parallel for schedule(static) if (pairs * S * dh > SEQC_PAR_MIN)
	for (size_t rh = 0; rh < pairs; rh++) {
		size_t r = rh / H, h = rh % H, src = s->src_of[r];
		cross_head(q + r * d + h * dh, kv + src * S * 2 * d + h * dh, s->lens[src], S, d, dh,
			   s->heads_w + rh * S, out + r * d + h * dh);
	}
}

/* The last layer's weights averaged over heads into attn [rows, S]. */
static void average_heads(seqc_s2st_decode *s, size_t H)
{
	for (size_t r = 0; r < s->rows; r++)
		for (size_t j = 0; j < s->S; j++) {
			float sum = 0.0f;
			for (size_t h = 0; h < H; h++)
				sum += s->heads_w[(r * H + h) * s->S + j];
			s->attn[r * s->S + j] = sum / (float)H;
		}
}

/* Self-attention of layer l at the current position: q, k, v of every row
 * in one product, k and v appended to the cache, attention over it. */
static seqc_tensor *step_self(seqc_graph *g, seqc_s2st *m, size_t l, seqc_tensor *x, bool packed)
{
	seqc_s2st_decode *s = m->state;
	const seqc_tdec_layer *dl = &m->dec.layer[l];
	size_t d = m->c.d_model, rows = s->rows, rf = row_floats(m);
	seqc_tensor *qkv = step_linear(g, m, packed, 6 * l, sub_in(g, m, &dl->norm1, x),
				       dl->self_attn.in_proj_weight, dl->self_attn.in_proj_bias);
	seqc_tensor *a = qkv ? seqc_graph_tensor(g, 2, (size_t[]){ rows, d }, false) : NULL;
	if (!a)
		return NULL;
	float *k = s->k + l * s->cap_rows * rf, *v = s->v + l * s->cap_rows * rf;
	for (size_t r = 0; r < rows; r++) {
		memcpy(k + r * rf + s->pos * d, qkv->val + r * 3 * d + d, d * sizeof(float));
		memcpy(v + r * rf + s->pos * d, qkv->val + r * 3 * d + 2 * d, d * sizeof(float));
	}
	seqc_attn_cached(qkv->val, 3 * d, k, v, s->pos + 1, rf, d, NULL, 0, rows, d, m->c.heads,
			 a->val);
	seqc_tensor *f = step_linear(g, m, packed, 6 * l + 1, a, dl->self_attn.out_proj_weight,
				     dl->self_attn.out_proj_bias);
	return residual(g, m, &dl->norm1, x, f);
}

static seqc_tensor *step_cross(seqc_graph *g, seqc_s2st *m, size_t l, seqc_tensor *x, bool packed)
{
	const seqc_tdec_layer *dl = &m->dec.layer[l];
	seqc_tensor *q = step_linear(g, m, packed, 6 * l + 2, sub_in(g, m, &dl->norm2, x),
				     dl->multihead_attn.in_proj_weight, dl->multihead_attn.in_proj_bias);
	seqc_tensor *a = q ? seqc_graph_tensor(g, 2, q->shape, false) : NULL;
	if (!a)
		return NULL;
	cross_attend(m, l, q->val, a->val);
	seqc_tensor *f = step_linear(g, m, packed, 6 * l + 3, a, dl->multihead_attn.out_proj_weight,
				     dl->multihead_attn.out_proj_bias);
	return residual(g, m, &dl->norm2, x, f);
}

static seqc_tensor *step_ff(seqc_graph *g, seqc_s2st *m, size_t l, seqc_tensor *x, bool packed)
{
	const seqc_tdec_layer *dl = &m->dec.layer[l];
	seqc_tensor *h = step_linear(g, m, packed, 6 * l + 4, sub_in(g, m, &dl->norm3, x),
				     dl->linear1.weight, dl->linear1.bias);
	h = m->c.activation == SEQC_FF_GELU ? seqc_gelu(g, h, SEQC_GELU_EXACT) : seqc_relu(g, h);
	seqc_tensor *f = step_linear(g, m, packed, 6 * l + 5, h, dl->linear2.weight, dl->linear2.bias);
	return residual(g, m, &dl->norm3, x, f);
}

/* embed(tokens) * sqrt(d) + PE[pos]: [rows, d]. */
static seqc_tensor *step_embed(seqc_graph *g, const seqc_s2st *m, const int32_t *tokens)
{
	size_t rows = m->state->rows, d = m->c.d_model;
	seqc_ids ids = seqc_ids_view1((int32_t *)tokens, rows);
	seqc_tensor *x = seqc_embedding(g, m->tgt_embed, &ids, -1);
	x = x ? seqc_reshape(g, x, 3, (size_t[]){ rows, 1, d }) : NULL;
	x = seqc_posenc_add(g, x, m->state->pos, true);
	return x ? seqc_reshape(g, x, 2, (size_t[]){ rows, d }) : NULL;
}

int seqc_s2st_step(seqc_s2st *m, seqc_graph *g, const int32_t *tokens, seqc_tensor **logits)
{
	seqc_s2st_decode *s = m->state;
	*logits = NULL;
	if (!s->rows)
		return seqc_error(SEQC_ESTATE, "s2st step: call set_source and start first");
	if (!tokens)
		return seqc_error(SEQC_EINVAL, "s2st step: no tokens");
	if (s->pos >= m->c.max_len)
		return seqc_error(SEQC_ERANGE, "s2s-transformer: all %zu target positions are used",
				  m->c.max_len);
	bool grad = seqc_graph_set_grad(g, false), training = seqc_graph_set_training(g, false);
	seqc_tensor *x = step_embed(g, m, tokens);
	bool packed = x && use_packed(m);
	for (size_t l = 0; x && l < m->c.dec_layers; l++) {
		x = step_self(g, m, l, x, packed);
		x = x ? step_cross(g, m, l, x, packed) : NULL;
		x = x ? step_ff(g, m, l, x, packed) : NULL;
	}
	const seqc_tnorm *n = &m->dec.norm;
	x = x ? seqc_layer_norm(g, x, n->weight, n->bias, m->c.layer_norm_eps) : NULL;
	*logits = step_linear(g, m, packed, 6 * m->c.dec_layers, x, m->gen_w, m->gen_b);
	seqc_graph_set_grad(g, grad);
	seqc_graph_set_training(g, training);
	if (!*logits)
		return seqc_errcode();
	average_heads(s, m->c.heads);
	s->pos++;
	s->stepped = true;
	return 0;
}

/* ---- decoding: reorder ---- */

/* The caches' shape for the row gathers of models/kv_rows_internal.h. */
static seqc_kv_rows cache_rows(const seqc_s2st *m)
{
	return (seqc_kv_rows){ .layers = m->c.dec_layers, .cap_rows = m->state->cap_rows,
			       .row_floats = row_floats(m), .used = m->state->pos * m->c.d_model };
}

static int reorder_caches(seqc_s2st *m, const size_t *from, size_t n)
{
	seqc_s2st_decode *s = m->state;
	if (n <= s->cap_rows) {
		seqc_kv_rows kr = cache_rows(m);
		seqc_kv_gather_in_place(&kr, s->k, s->scratch, from, n);
		seqc_kv_gather_in_place(&kr, s->v, s->scratch, from, n);
		return 0;
	}
	size_t old_cap = s->cap_rows;
	float *old_k = NULL, *old_v = NULL;
	int rc = grow_cache(m, n, &old_k, &old_v);
	if (rc < 0)
		return rc; /* the old caches are still in place */
	seqc_kv_rows kr = cache_rows(m);
	seqc_kv_gather_across(&kr, s->k, old_k, old_cap, from, n);
	seqc_kv_gather_across(&kr, s->v, old_v, old_cap, from, n);
	free(old_k);
	free(old_v);
	return 0;
}

int seqc_s2st_reorder(seqc_s2st *m, const size_t *from, size_t n)
{
	seqc_s2st_decode *s = m->state;
	if (!s->rows)
		return seqc_error(SEQC_ESTATE, "s2st reorder: call set_source and start first");
	if (!from || !n)
		return seqc_error(SEQC_EINVAL, "s2st reorder: no rows");
	for (size_t i = 0; i < n; i++)
		if (from[i] >= s->rows)
			return seqc_error(SEQC_ERANGE, "s2st reorder: row %zu is outside [0, %zu)", from[i],
					  s->rows);
	/* everything that can fail first, so a failure changes nothing */
	int rc = reserve_attention(s, n, m->c.heads);
	if (rc < 0 || (rc = reorder_caches(m, from, n)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		s->src_tmp[i] = s->src_of[from[i]];
	memcpy(s->src_of, s->src_tmp, n * sizeof *s->src_of);
	for (size_t i = 0; s->stepped && i < n; i++)
		memcpy(s->attn_tmp + i * s->S, s->attn + from[i] * s->S, s->S * sizeof(float));
	float *t = s->attn;
	s->attn = s->attn_tmp;
	s->attn_tmp = t;
	s->rows = n;
	return 0;
}

int seqc_s2st_attention(const seqc_s2st *m, float *weights)
{
	const seqc_s2st_decode *s = m->state;
	if (!s->rows || !s->stepped)
		return seqc_error(SEQC_ESTATE, "s2st attention: no step since start");
	memcpy(weights, s->attn, s->rows * s->S * sizeof(float));
	return 0;
}

size_t seqc_s2st_activation_bytes(const seqc_s2st_config *c, size_t B, size_t S, size_t T)
{
	size_t d = c->d_model, ff = c->dim_ff, H = c->heads;
	size_t drop = c->dropout > 0.0f ? 2 : 0; /* dropout outputs and masks, a fraction of these */
	/* per token of an encoder layer, values and gradients of: the norm
	 * and residual sums (4d), in_proj (3d), attention output and out_proj
	 * (2d), linear1 and its activation (2 ff), linear2 (d); plus the
	 * softmax weights per head and key */
	size_t enc = 2 * (10 * d + 2 * ff) * (1 + drop / 2) + 2 * H * S;
	/* a decoder layer adds the cross-attention (q, k, v, out, out_proj,
	 * norm, sum: 7d, keys over S) */
	size_t dec = 2 * (17 * d + 2 * ff) * (1 + drop / 2) + 2 * H * (T + S);
	size_t total = B * S * (c->enc_layers * enc + 4 * d) +
		       B * T * (c->dec_layers * dec + 4 * d + 2 * c->tgt_vocab);
	return total * sizeof(float);
}
