#include "models/gpt.h"

#include "models/config_internal.h"
#include "models/kv_rows_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seq/attention_internal.h"
#include "seq/gemm_packed.h"
#include "seq/memory.h"

seqc_gpt_config seqc_gpt_config_defaults(void)
{
	return (seqc_gpt_config){ .dropout = 0.0f, .bias = true, .gelu = SEQC_GELU_TANH, .ln_eps = 1e-5f };
}

static int validate(const seqc_gpt_config *c)
{
	if (!c->vocab || !c->context || !c->embed || c->vocab > SEQC_GPT_MAX_DIM ||
	    c->context > SEQC_GPT_MAX_DIM || c->embed > SEQC_GPT_MAX_DIM)
		return seqc_error(SEQC_EINVAL, "gpt: vocab %zu, context %zu and embed %zu must be in [1, %zu]",
				  c->vocab, c->context, c->embed, SEQC_GPT_MAX_DIM);
	if (!c->layers || c->layers > SEQC_GPT_MAX_LAYERS)
		return seqc_error(SEQC_EINVAL, "gpt: layers %zu is outside [1, %d]", c->layers,
				  SEQC_GPT_MAX_LAYERS);
	if (!c->heads || c->embed % c->heads)
		return seqc_error(SEQC_EINVAL, "gpt: heads %zu must be at least 1 and divide embed %zu",
				  c->heads, c->embed);
	if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
		return seqc_error(SEQC_EINVAL, "gpt: dropout %g is outside [0, 1)", (double)c->dropout);
	if (c->gelu != SEQC_GELU_TANH && c->gelu != SEQC_GELU_EXACT)
		return seqc_error(SEQC_EINVAL, "gpt: unknown gelu kind %d", (int)c->gelu);
	if (!(c->ln_eps > 0.0f) || !isfinite(c->ln_eps))
		return seqc_error(SEQC_EINVAL, "gpt: ln_eps %g must be positive and finite", (double)c->ln_eps);
	return 0;
}

/* ---- parameters ---- */

/* Declares "<prefix><name>" and returns its tensor (NULL on failure). */
static seqc_tensor *add_param(seqc_gpt *m, const char *prefix, const char *name, int ndim,
			      const size_t *shape, seqc_init init, bool no_decay)
{
	char full[96];
	snprintf(full, sizeof full, "%s%s", prefix, name);
	return seqc_params_add(m->params, full, ndim, shape, init, no_decay);
}

/* A layer norm's weight (ones) and, with bias, its bias (zeros). */
static bool add_norm(seqc_gpt *m, const char *prefix, const char *name, seqc_tensor **w,
		     seqc_tensor **b)
{
	char full[32];
	size_t C = m->c.embed;
	snprintf(full, sizeof full, "%s.weight", name);
	*w = add_param(m, prefix, full, 1, &C, (seqc_init){ SEQC_INIT_ONES, 0 }, true);
	if (!m->c.bias)
		return *w != NULL;
	snprintf(full, sizeof full, "%s.bias", name);
	*b = add_param(m, prefix, full, 1, &C, (seqc_init){ SEQC_INIT_ZEROS, 0 }, true);
	return *w && *b;
}

/* A linear layer's weight [out, in] (N(0, std^2)) and, with bias, its bias
 * [out] (zeros). */
static bool add_linear(seqc_gpt *m, const char *prefix, const char *name, size_t out, size_t in,
		       float std, seqc_tensor **w, seqc_tensor **b)
{
	char full[32];
	snprintf(full, sizeof full, "%s.weight", name);
	*w = add_param(m, prefix, full, 2, (size_t[]){ out, in }, (seqc_init){ SEQC_INIT_NORMAL, std },
		       false);
	if (!m->c.bias)
		return *w != NULL;
	snprintf(full, sizeof full, "%s.bias", name);
	*b = add_param(m, prefix, full, 1, &out, (seqc_init){ SEQC_INIT_ZEROS, 0 }, true);
	return *w && *b;
}

static bool declare_block(seqc_gpt *m, size_t l)
{
	char prefix[48];
	size_t C = m->c.embed;
	/* GPT-2: the projections into the residual stream are scaled down by
	 * sqrt(2 N), as each block adds two of them */
	float std = 0.02f, proj_std = 0.02f / sqrtf(2.0f * (float)m->c.layers);
	seqc_gpt_block *b = &m->blocks[l];
	snprintf(prefix, sizeof prefix, "transformer.h.%zu.", l);
	return add_norm(m, prefix, "ln_1", &b->ln1_w, &b->ln1_b) &&
	       add_linear(m, prefix, "attn.c_attn", 3 * C, C, std, &b->attn_w, &b->attn_b) &&
	       add_linear(m, prefix, "attn.c_proj", C, C, proj_std, &b->attn_proj_w, &b->attn_proj_b) &&
	       add_norm(m, prefix, "ln_2", &b->ln2_w, &b->ln2_b) &&
	       add_linear(m, prefix, "mlp.c_fc", 4 * C, C, std, &b->fc_w, &b->fc_b) &&
	       add_linear(m, prefix, "mlp.c_proj", C, 4 * C, proj_std, &b->mlp_proj_w, &b->mlp_proj_b);
}

seqc_gpt *seqc_gpt_create(const seqc_gpt_config *c, seqc_rng *rng)
{
	if (validate(c) < 0)
		return NULL;
	seqc_gpt *m = calloc(1, sizeof *m);
	if (!m || !(m->params = seqc_params_create()) ||
	    !(m->blocks = calloc(c->layers, sizeof *m->blocks))) {
		seqc_gpt_destroy(m);
		seqc_error(SEQC_ENOMEM, "gpt: cannot allocate");
		return NULL;
	}
	m->c = *c;
	seqc_init normal = { SEQC_INIT_NORMAL, 0.02f };
	/* embeddings are 2-D weights: decayed, as nanoGPT and llm.c do */
	m->wte = add_param(m, "transformer.", "wte.weight", 2, (size_t[]){ c->vocab, c->embed }, normal,
			   false);
	m->wpe = add_param(m, "transformer.", "wpe.weight", 2, (size_t[]){ c->context, c->embed },
			   normal, false);
	bool ok = m->wte && m->wpe;
	for (size_t l = 0; ok && l < c->layers; l++)
		ok = declare_block(m, l);
	ok = ok && add_norm(m, "transformer.", "ln_f", &m->lnf_w, &m->lnf_b);
	/* without an rng the caller loads every value: skip the draws (Box-
	 * Muller for GPT-2 small's 124M weights takes seconds) */
	for (size_t i = 0; ok && !rng && i < m->params->count; i++)
		m->params->items[i]->init = (seqc_init){ SEQC_INIT_ZEROS, 0 };
	if (!ok || seqc_params_finalize(m->params, rng) < 0) {
		seqc_gpt_destroy(m);
		return NULL;
	}
	return m;
}

void seqc_gpt_destroy(seqc_gpt *m)
{
	if (!m)
		return;
	seqc_params_destroy(m->params);
	free(m->blocks);
	free(m->k);
	free(m->v);
	free(m->scratch);
	free(m->packed);
	free(m->packed_at);
	free(m);
}

/* ---- configuration as JSON ---- */

static const char *gelu_name(seqc_gelu_kind k)
{
	return k == SEQC_GELU_EXACT ? "exact" : "tanh";
}

char *seqc_gpt_config_to_json(const seqc_gpt_config *c)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:b, s:s, s:f}", "arch", "gpt",
			      "vocab", (json_int_t)c->vocab, "context", (json_int_t)c->context,
			      "layers", (json_int_t)c->layers, "heads", (json_int_t)c->heads, "embed",
			      (json_int_t)c->embed, "dropout", seqc_cfg_real(c->dropout), "bias", c->bias,
			      "gelu", gelu_name(c->gelu), "ln_eps", seqc_cfg_real(c->ln_eps));
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(o);
	if (!s)
		seqc_error(SEQC_ENOMEM, "gpt: cannot serialize the config");
	return s;
}

/* A required integer field in [1, SEQC_GPT_MAX_DIM]; an optional number. */
static int get_size(json_t *o, const char *key, size_t *out)
{
	return seqc_cfg_size(o, "gpt", key, SEQC_GPT_MAX_DIM, true, out);
}

static int get_float(json_t *o, const char *key, float *out)
{
	return seqc_cfg_float(o, "gpt", key, out);
}

static int get_optional(json_t *o, seqc_gpt_config *c)
{
	json_t *gelu = json_object_get(o, "gelu");
	int rc = seqc_cfg_bool(o, "gpt", "bias", &c->bias);
	if (rc < 0)
		return rc;
	if (gelu) {
		const char *s = json_string_value(gelu);
		if (!s || (strcmp(s, "tanh") && strcmp(s, "exact")))
			return seqc_error(SEQC_EFORMAT, "gpt config: \"gelu\" must be \"tanh\" or \"exact\"");
		c->gelu = strcmp(s, "exact") ? SEQC_GELU_TANH : SEQC_GELU_EXACT;
	}
	rc = get_float(o, "dropout", &c->dropout);
	return rc < 0 ? rc : get_float(o, "ln_eps", &c->ln_eps);
}

/* Every key must be one we read: a misspelt field ("n_head") must not fall
 * back to a default silently. */
static int check_keys(json_t *o)
{
	static const char *const known[] = { "arch", "vocab", "context", "layers", "heads", "embed",
					     "dropout", "bias", "gelu", "ln_eps" };
	return seqc_cfg_check_keys(o, "gpt", known, sizeof known / sizeof known[0]);
}

int seqc_gpt_config_from_json(const char *text, seqc_gpt_config *c)
{
	json_error_t err;
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	int rc;
	*c = seqc_gpt_config_defaults();
	if (!json_is_object(o)) {
		rc = seqc_error(SEQC_EFORMAT, "gpt config: not a JSON object (%s)", o ? "" : err.text);
		goto done;
	}
	const char *arch = json_string_value(json_object_get(o, "arch"));
	if (!arch || strcmp(arch, "gpt")) {
		rc = seqc_error(SEQC_EFORMAT, "gpt config: \"arch\" is \"%s\", not \"gpt\"",
				arch ? arch : "(missing)");
		goto done;
	}
	if ((rc = check_keys(o)) < 0 || (rc = get_size(o, "vocab", &c->vocab)) < 0 ||
	    (rc = get_size(o, "context", &c->context)) < 0 ||
	    (rc = get_size(o, "layers", &c->layers)) < 0 || (rc = get_size(o, "heads", &c->heads)) < 0 ||
	    (rc = get_size(o, "embed", &c->embed)) < 0 || (rc = get_optional(o, c)) < 0)
		goto done;
	rc = validate(c);
done:
	json_decref(o);
	return rc;
}

/* ---- forward ---- */

/* Rows a step runs on packed weights: from 2 (one row is a GEMV) to where
 * OpenBLAS's own packing pays for itself. */
#define PACK_MIN_ROWS 2
#define PACK_MAX_ROWS 128

/* The packed copies of the weights a step multiplies by, in step order:
 * per block c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj, then the head. */
static const seqc_tensor *packed_weight(const seqc_gpt *m, size_t i)
{
	if (i == 4 * m->c.layers)
		return m->wte;
	const seqc_gpt_block *b = &m->blocks[i / 4];
	const seqc_tensor *w[4] = { b->attn_w, b->attn_proj_w, b->fc_w, b->mlp_proj_w };
	return w[i % 4];
}

/* Packs every weight once after a start, when the rows suit the packed
 * kernel; false (plain seqc_linear then) otherwise or without memory. */
static bool use_packed(seqc_gpt *m)
{
	if (m->rows < PACK_MIN_ROWS || m->rows > PACK_MAX_ROWS || !seqc_gemm_packed_fast())
		return false;
	if (m->packed_ready)
		return true;
	size_t n = 4 * m->c.layers + 1, total = 0;
	for (size_t i = 0; i < n; i++)
		total += seqc_packed_floats(packed_weight(m, i)->shape[1], packed_weight(m, i)->shape[0]);
	if (!m->packed_at && !(m->packed_at = malloc(n * sizeof *m->packed_at)))
		return false;
	if (!m->packed && !(m->packed = malloc(total * sizeof(float))))
		return false;
	float *p = m->packed;
	for (size_t i = 0; i < n; i++) {
		const seqc_tensor *w = packed_weight(m, i);
		size_t out = w->shape[0], in = w->shape[1];
		seqc_pack(w->val, in, true, in, out, p);
		m->packed_at[i] = p;
		p += seqc_packed_floats(in, out);
	}
	m->packed_ready = true;
	return true;
}

/* y = x w^T + b for the i-th packed weight (step order), or seqc_linear
 * when the step does not use packed weights. */
static seqc_tensor *step_linear(seqc_graph *g, const seqc_gpt *m, bool packed, size_t i,
				seqc_tensor *x, const seqc_tensor *w, const seqc_tensor *b)
{
	if (!packed || !x)
		return seqc_linear(g, x, (seqc_tensor *)w, (seqc_tensor *)b);
	const float *p = m->packed_at[i];
	size_t rows = seqc_tensor_rows(x), out = w->shape[0], in = w->shape[1];
	seqc_tensor *y = seqc_graph_tensor(g, 2, (size_t[]){ rows, out }, false);
	if (!y)
		return NULL;
	seqc_gemm_packed(rows, out, in, x->val, in, p, 0.0f, y->val, out);
	for (size_t r = 0; b && r < rows; r++)
		for (size_t o = 0; o < out; o++)
			y->val[r * out + o] += b->val[o];
	return y;
}

/* x + dropout(c_proj(a)): the attention branch's return into the stream. */
static seqc_tensor *attn_out(seqc_graph *g, const seqc_gpt *m, size_t l, seqc_tensor *x,
			     seqc_tensor *a, seqc_rng *rng, bool packed)
{
	const seqc_gpt_block *b = &m->blocks[l];
	return seqc_add(g, x, seqc_dropout(g, step_linear(g, m, packed, 4 * l + 1, a, b->attn_proj_w,
							   b->attn_proj_b),
					   m->c.dropout, rng));
}

/* x + dropout(mlp.c_proj(gelu(mlp.c_fc(ln_2(x))))). */
static seqc_tensor *mlp(seqc_graph *g, const seqc_gpt *m, size_t l, seqc_tensor *x, seqc_rng *rng,
			bool packed)
{
	const seqc_gpt_block *b = &m->blocks[l];
	seqc_tensor *h = seqc_layer_norm(g, x, b->ln2_w, b->ln2_b, m->c.ln_eps);
	h = seqc_gelu(g, step_linear(g, m, packed, 4 * l + 2, h, b->fc_w, b->fc_b), m->c.gelu);
	return seqc_add(g, x, seqc_dropout(g, step_linear(g, m, packed, 4 * l + 3, h, b->mlp_proj_w,
							   b->mlp_proj_b),
					   m->c.dropout, rng));
}



/* Position ids of the shape of tokens ([B, T], or [B] at one position):
 * pos0 + t for the token at time t, in the arena. */
static seqc_ids *positions(seqc_graph *g, const seqc_ids *tokens, size_t pos0)
{
	size_t T = tokens->ndim == 2 ? tokens->shape[1] : 1;
	seqc_ids *ids = seqc_graph_alloc(g, sizeof *ids);
	int32_t *p = ids ? seqc_graph_alloc(g, tokens->numel * sizeof(int32_t)) : NULL;
	if (!p)
		return NULL;
	*ids = *tokens;
	ids->data = p;
	for (size_t i = 0; i < tokens->numel; i++)
		p[i] = (int32_t)(pos0 + i % T);
	return ids;
}

/* wte[tokens] + wpe[positions]: [B, T, C] (or [B, C]). */
static seqc_tensor *embed(seqc_graph *g, const seqc_gpt *m, const seqc_ids *tokens, size_t pos0)
{
	seqc_ids *pos = positions(g, tokens, pos0);
	if (!pos)
		return NULL;
	return seqc_add(g, seqc_embedding(g, m->wte, tokens, -1), seqc_embedding(g, m->wpe, pos, -1));
}

/* ln_f and the tied head: logits = ln_f(x) wte^T. */
static seqc_tensor *head(seqc_graph *g, const seqc_gpt *m, seqc_tensor *x)
{
	return seqc_linear(g, seqc_layer_norm(g, x, m->lnf_w, m->lnf_b, m->c.ln_eps), m->wte, NULL);
}

int seqc_gpt_logits(seqc_graph *g, seqc_gpt *m, const seqc_ids *inputs, seqc_rng *rng,
		    seqc_tensor **logits)
{
	*logits = NULL;
	if (inputs->ndim != 2)
		return seqc_error(SEQC_ESHAPE, "gpt: inputs must be [B, T]");
	size_t T = inputs->shape[1], C = m->c.embed;
	if (T > m->c.context)
		return seqc_error(SEQC_ESHAPE, "gpt: %zu positions exceed the context of %zu", T,
				  m->c.context);
	seqc_tensor *x = seqc_dropout(g, embed(g, m, inputs, 0), m->c.dropout, rng);
	seqc_attn_opts o = { .heads = m->c.heads, .causal = true, .dropout = m->c.dropout, .rng = rng };
	for (size_t l = 0; x && l < m->c.layers; l++) {
		const seqc_gpt_block *b = &m->blocks[l];
		seqc_tensor *h = seqc_layer_norm(g, x, b->ln1_w, b->ln1_b, m->c.ln_eps);
		seqc_tensor *qkv = seqc_linear(g, h, b->attn_w, b->attn_b);
		/* q, k and v are column blocks of c_attn's output: no copies */
		seqc_tensor *a = qkv ? seqc_attention(g, (seqc_cols){ qkv, 0 }, (seqc_cols){ qkv, C },
						      (seqc_cols){ qkv, 2 * C }, C, &o)
				     : NULL;
		x = mlp(g, m, l, attn_out(g, m, l, x, a, rng, false), rng, false);
	}
	*logits = head(g, m, x);
	return *logits ? 0 : seqc_errcode();
}

int seqc_gpt_loss(seqc_graph *g, seqc_gpt *m, const seqc_ids *inputs, const seqc_ids *targets,
		  seqc_rng *rng, seqc_tensor **loss)
{
	*loss = NULL;
	if (targets->ndim != 2 || targets->shape[0] != inputs->shape[0] ||
	    targets->shape[1] != inputs->shape[1])
		return seqc_error(SEQC_ESHAPE, "gpt: targets must be [B, T] as the inputs");
	seqc_tensor *logits;
	int rc = seqc_gpt_logits(g, m, inputs, rng, &logits);
	if (rc < 0)
		return rc;
	seqc_ce_opts o = seqc_ce_defaults();
	o.ignore_index = -1;
	*loss = seqc_cross_entropy(g, logits, targets, &o);
	return *loss ? 0 : seqc_errcode();
}

/* ---- step interface with the key/value cache ---- */

/* Floats of one cached row: every position of the context. */
static size_t row_floats(const seqc_gpt *m)
{
	return m->c.context * m->c.embed;
}

/* Fresh, uninitialized cache buffers for cap rows; the old ones are the
 * caller's to free (or gather from) through *old_k and *old_v. */
static int grow_cache(seqc_gpt *m, size_t cap, float **old_k, float **old_v)
{
	size_t per_row = row_floats(m);
	if (!cap || cap > SEQC_GPT_MAX_DIM || per_row > SIZE_MAX / sizeof(float) / cap / m->c.layers)
		return seqc_error(SEQC_EINVAL, "gpt: %zu rows", cap);
	size_t n = m->c.layers * cap * per_row;
	/* keys, values and the reorder scratch: a long context times many rows
	 * can ask for more than the machine has; refuse before allocating */
	char what[80];
	snprintf(what, sizeof what, "gpt: the key/value cache of %zu rows of %zu positions", cap,
		 m->c.context);
	size_t bytes = seqc_mul_sat(seqc_add_sat(seqc_mul_sat(2, n), cap * per_row), sizeof(float));
	int rc = seqc_check_memory(bytes, what);
	if (rc < 0)
		return rc;
	float *k = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
	float *scratch = malloc(cap * per_row * sizeof(float));
	if (!k || !v || !scratch) {
		free(k);
		free(v);
		free(scratch);
		return seqc_error(SEQC_ENOMEM, "gpt: cannot allocate the key/value cache of %zu rows "
				  "(%zu bytes)", cap, 2 * n * sizeof(float));
	}
	*old_k = m->k;
	*old_v = m->v;
	free(m->scratch);
	m->k = k;
	m->v = v;
	m->scratch = scratch;
	m->cap_rows = cap;
	return 0;
}

int seqc_gpt_start(seqc_gpt *m, size_t rows)
{
	if (!rows)
		return seqc_error(SEQC_EINVAL, "gpt: start with 0 rows");
	if (rows > m->cap_rows) {
		float *old_k = NULL, *old_v = NULL;
		int rc = grow_cache(m, rows, &old_k, &old_v);
		if (rc < 0)
			return rc;
		free(old_k);
		free(old_v);
	}
	m->rows = rows;
	m->pos = 0;
	m->packed_ready = false; /* the weights may have changed since */
	return 0;
}

/* Keys and values of the current position (columns C..3C of qkv [B, 3C])
 * into the cache of layer l. */
static void cache_store(seqc_gpt *m, size_t l, const float *qkv)
{
	size_t C = m->c.embed, B = m->rows, rf = row_floats(m);
	for (size_t b = 0; b < B; b++) {
		size_t at = (l * m->cap_rows + b) * rf + m->pos * C;
		memcpy(m->k + at, qkv + b * 3 * C + C, C * sizeof(float));
		memcpy(m->v + at, qkv + b * 3 * C + 2 * C, C * sizeof(float));
	}
}

/* Block l on x [B, C] at the current position, attending over the cache. */
static seqc_tensor *step_block(seqc_graph *g, seqc_gpt *m, size_t l, seqc_tensor *x, bool packed)
{
	const seqc_gpt_block *b = &m->blocks[l];
	size_t B = m->rows, C = m->c.embed, rf = row_floats(m);
	seqc_tensor *qkv = step_linear(g, m, packed, 4 * l,
				       seqc_layer_norm(g, x, b->ln1_w, b->ln1_b, m->c.ln_eps), b->attn_w,
				       b->attn_b);
	seqc_tensor *a = qkv ? seqc_graph_tensor(g, 2, (size_t[]){ B, C }, false) : NULL;
	if (!a)
		return NULL;
	cache_store(m, l, qkv->val);
	size_t base = l * m->cap_rows * rf;
	seqc_attn_cached(qkv->val, 3 * C, m->k + base, m->v + base, m->pos + 1, rf, C, NULL, 0, B, C,
			 m->c.heads, a->val);
	return mlp(g, m, l, attn_out(g, m, l, x, a, NULL, packed), NULL, packed);
}

int seqc_gpt_step(seqc_gpt *m, seqc_graph *g, const int32_t *tokens, seqc_tensor **logits)
{
	*logits = NULL;
	if (!m->rows)
		return seqc_error(SEQC_ESTATE, "gpt step: call start first");
	if (m->pos >= m->c.context)
		return seqc_error(SEQC_ERANGE, "gpt: context of %zu tokens is full", m->c.context);
	bool grad = seqc_graph_set_grad(g, false), training = seqc_graph_set_training(g, false);
	seqc_ids ids = seqc_ids_view1((int32_t *)tokens, m->rows);
	seqc_tensor *x = embed(g, m, &ids, m->pos);
	bool packed = use_packed(m);
	for (size_t l = 0; x && l < m->c.layers; l++)
		x = step_block(g, m, l, x, packed);
	*logits = step_linear(g, m, packed, 4 * m->c.layers,
			      x ? seqc_layer_norm(g, x, m->lnf_w, m->lnf_b, m->c.ln_eps) : NULL, m->wte, NULL);
	seqc_graph_set_grad(g, grad);
	seqc_graph_set_training(g, training);
	if (!*logits)
		return seqc_errcode();
	m->pos++;
	return 0;
}

/* The cache's shape for the row gathers of models/kv_rows_internal.h. */
static seqc_kv_rows cache_rows(const seqc_gpt *m)
{
	return (seqc_kv_rows){ .layers = m->c.layers, .cap_rows = m->cap_rows,
			       .row_floats = row_floats(m), .used = m->pos * m->c.embed };
}

int seqc_gpt_reorder(seqc_gpt *m, const size_t *from, size_t n)
{
	if (!m->rows)
		return seqc_error(SEQC_ESTATE, "gpt reorder: call start first");
	if (!n)
		return seqc_error(SEQC_EINVAL, "gpt reorder: no rows");
	for (size_t i = 0; i < n; i++)
		if (from[i] >= m->rows)
			return seqc_error(SEQC_ERANGE, "gpt reorder: row %zu is outside [0, %zu)", from[i],
					  m->rows);
	if (n <= m->cap_rows) {
		seqc_kv_rows kr = cache_rows(m);
		seqc_kv_gather_in_place(&kr, m->k, m->scratch, from, n);
		seqc_kv_gather_in_place(&kr, m->v, m->scratch, from, n);
		m->rows = n;
		return 0;
	}
	size_t old_cap = m->cap_rows;
	float *old_k = NULL, *old_v = NULL;
	int rc = grow_cache(m, n, &old_k, &old_v);
	if (rc < 0)
		return rc; /* the old cache is still in place */
	seqc_kv_rows kr = cache_rows(m);
	seqc_kv_gather_across(&kr, m->k, old_k, old_cap, from, n);
	seqc_kv_gather_across(&kr, m->v, old_v, old_cap, from, n);
	free(old_k);
	free(old_v);
	m->rows = n;
	return 0;
}

size_t seqc_gpt_activation_bytes(const seqc_gpt_config *c, size_t B, size_t T)
{
	size_t N = B * T, C = c->embed;
	/* per block and token, values and gradients of: ln_1, c_attn (3C),
	 * attention output, c_proj, residual sum, ln_2, c_fc and gelu (4C
	 * each), mlp c_proj, residual sum: 18C; dropout outputs and masks
	 * (3 branches); the attention's softmax weights per head and key */
	size_t drop = c->dropout > 0.0f ? 3 * 2 * C + c->heads * T : 0;
	size_t per_block = 2 * 18 * C + drop + 2 * c->heads * T;
	/* embeddings and their sum, ln_f, logits and their gradient */
	size_t total = N * (c->layers * per_block + 2 * 4 * C + 2 * c->vocab);
	return total * sizeof(float);
}
