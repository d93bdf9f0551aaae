#include "models/rnnlm.h"
#include "models/config_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Sizes larger than this are refused before anything is allocated. */
#define MAX_DIM ((size_t)1 << 24)

static int validate(const seqc_rnnlm_config *c)
{
	if (c->cell < SEQC_CELL_RNN_TANH || c->cell > SEQC_CELL_GRU)
		return seqc_error(SEQC_EINVAL, "rnnlm: unknown cell kind %d", (int)c->cell);
	if (!c->vocab || !c->embed || !c->hidden || !c->layers || c->vocab > MAX_DIM ||
	    c->embed > MAX_DIM || c->hidden > MAX_DIM || c->layers > SEQC_RNN_MAX_LAYERS)
		return seqc_error(SEQC_EINVAL,
				  "rnnlm: vocab %zu, embed %zu, hidden %zu must be in [1, %zu] and "
				  "layers %zu in [1, %d]",
				  c->vocab, c->embed, c->hidden, MAX_DIM, c->layers, SEQC_RNN_MAX_LAYERS);
	if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
		return seqc_error(SEQC_EINVAL, "rnnlm: dropout %g is outside [0, 1)", (double)c->dropout);
	if (c->tie && c->embed != c->hidden)
		return seqc_error(SEQC_EINVAL,
				  "rnnlm: tying the head to the embedding needs embed (%zu) == hidden (%zu)",
				  c->embed, c->hidden);
	return 0;
}

seqc_rnnlm *seqc_rnnlm_create(const seqc_rnnlm_config *c, seqc_rng *rng)
{
	if (validate(c) < 0)
		return NULL;
	seqc_rnnlm *m = calloc(1, sizeof *m);
	if (!m || !(m->params = seqc_params_create())) {
		free(m);
		seqc_error(SEQC_ENOMEM, "rnnlm: cannot allocate");
		return NULL;
	}
	m->c = *c;
	/* word_language_model's init: U(-0.1, 0.1) for the embedding and the
	 * head, zero head bias; the recurrent stack keeps PyTorch's default. */
	seqc_init small = { SEQC_INIT_UNIFORM, 0.1f }, zeros = { SEQC_INIT_ZEROS, 0 };
	m->embedding = seqc_params_add(m->params, "encoder.weight", 2, (size_t[]){ c->vocab, c->embed },
				       small, true);
	seqc_rnn_config rc = { .cell = c->cell, .input_size = c->embed, .hidden_size = c->hidden,
			       .layers = c->layers, .bias = true, .dropout = c->dropout,
			       .orthogonal_hh = c->orthogonal_hh, .forget_bias_one = c->forget_bias_one };
	if (!m->embedding || seqc_rnn_declare(&m->rnn, &rc, m->params, "rnn.") < 0)
		goto fail;
	m->head_w = c->tie ? m->embedding
			   : seqc_params_add(m->params, "decoder.weight", 2,
					     (size_t[]){ c->vocab, c->hidden }, small, false);
	m->head_b = seqc_params_add(m->params, "decoder.bias", 1, &c->vocab, zeros, true);
	if (!m->head_w || !m->head_b || seqc_params_finalize(m->params, rng) < 0 ||
	    seqc_rnn_post_init(&m->rnn, rng) < 0)
		goto fail;
	return m;
fail:
	seqc_rnnlm_destroy(m);
	return NULL;
}

void seqc_rnnlm_destroy(seqc_rnnlm *m)
{
	if (!m)
		return;
	seqc_params_destroy(m->params);
	free(m->h);
	free(m->cstate);
	free(m->h_next);
	free(m->c_next);
	free(m);
}

char *seqc_rnnlm_config_to_json(const seqc_rnnlm_config *c)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:b, s:b, s:b}", "arch", "rnnlm",
			      "cell", seqc_cell_name(c->cell), "vocab", (json_int_t)c->vocab, "embed",
			      (json_int_t)c->embed, "hidden", (json_int_t)c->hidden, "layers",
			      (json_int_t)c->layers, "dropout", seqc_cfg_real(c->dropout), "tie", c->tie,
			      "orthogonal_hh", c->orthogonal_hh, "forget_bias_one", c->forget_bias_one);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(o);
	if (!s)
		seqc_error(SEQC_ENOMEM, "rnnlm: cannot serialize the config");
	return s;
}

/* A non-negative integer field. */
static int get_size(json_t *o, const char *key, size_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return seqc_error(SEQC_EFORMAT, "rnnlm config: \"%s\" is missing or not a non-negative integer",
				  key);
	*out = (size_t)json_integer_value(v);
	return 0;
}

int seqc_rnnlm_config_from_json(const char *text, seqc_rnnlm_config *c)
{
	json_error_t err;
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	int rc = 0;
	memset(c, 0, sizeof *c);
	if (!json_is_object(o)) {
		rc = seqc_error(SEQC_EFORMAT, "rnnlm config: not a JSON object (%s)", o ? "" : err.text);
		goto done;
	}
	const char *arch = json_string_value(json_object_get(o, "arch"));
	const char *cell = json_string_value(json_object_get(o, "cell"));
	if (!arch || strcmp(arch, "rnnlm")) {
		rc = seqc_error(SEQC_EFORMAT, "rnnlm config: \"arch\" is \"%s\", not \"rnnlm\"",
				arch ? arch : "(missing)");
		goto done;
	}
	if (!cell || seqc_cell_parse(cell) < 0) {
		rc = seqc_error(SEQC_EFORMAT, "rnnlm config: \"cell\" is \"%s\" (expected rnn_tanh, "
				"rnn_relu, lstm or gru)", cell ? cell : "(missing)");
		goto done;
	}
	c->cell = (seqc_cell_kind)seqc_cell_parse(cell);
	json_t *drop = json_object_get(o, "dropout");
	if (!json_is_number(drop)) {
		rc = seqc_error(SEQC_EFORMAT, "rnnlm config: \"dropout\" is missing or not a number");
		goto done;
	}
	c->dropout = (float)json_number_value(drop);
	if ((rc = get_size(o, "vocab", &c->vocab)) < 0 || (rc = get_size(o, "embed", &c->embed)) < 0 ||
	    (rc = get_size(o, "hidden", &c->hidden)) < 0 || (rc = get_size(o, "layers", &c->layers)) < 0 ||
	    (rc = seqc_cfg_bool(o, "rnnlm", "tie", &c->tie)) < 0 ||
	    (rc = seqc_cfg_bool(o, "rnnlm", "orthogonal_hh", &c->orthogonal_hh)) < 0 ||
	    (rc = seqc_cfg_bool(o, "rnnlm", "forget_bias_one", &c->forget_bias_one)) < 0)
		goto done;
	rc = validate(c);
done:
	json_decref(o);
	return rc;
}

int seqc_rnnlm_logits(seqc_graph *g, seqc_rnnlm *m, const seqc_ids *inputs, seqc_tensor *h0,
		      seqc_tensor *c0, seqc_rng *rng, seqc_tensor **logits, seqc_tensor **h_n,
		      seqc_tensor **c_n)
{
	*logits = NULL;
	if (inputs->ndim != 2)
		return seqc_error(SEQC_ESHAPE, "rnnlm: inputs must be [B, T]");
	float p = m->c.dropout;
	seqc_tensor *x = seqc_dropout(g, seqc_embedding(g, m->embedding, inputs, -1), p, rng);
	seqc_tensor *y;
	int rc = seqc_rnn_forward(g, &m->rnn, x, h0, c0, rng, &y, h_n, c_n);
	if (rc < 0)
		return rc;
	*logits = seqc_linear(g, seqc_dropout(g, y, p, rng), m->head_w, m->head_b);
	return *logits ? 0 : seqc_errcode();
}

int seqc_rnnlm_loss(seqc_graph *g, seqc_rnnlm *m, const seqc_ids *inputs, const seqc_ids *targets,
		    seqc_tensor *h0, seqc_tensor *c0, seqc_rng *rng, seqc_tensor **loss,
		    seqc_tensor **h_n, seqc_tensor **c_n)
{
	seqc_tensor *logits;
	*loss = NULL;
	int rc = seqc_rnnlm_logits(g, m, inputs, h0, c0, rng, &logits, h_n, c_n);
	if (rc < 0)
		return rc;
	seqc_ce_opts o = seqc_ce_defaults();
	o.ignore_index = -1;
	*loss = seqc_cross_entropy(g, logits, targets, &o);
	return *loss ? 0 : seqc_errcode();
}

/* ---- step by step, for scheduled sampling ---- */

/* Layer l of a state s [L, B, H] as [B, H] (a copy: gradients flow back
 * into s), or NULL (zeros) when there is no s. */
static seqc_tensor *layer_state(seqc_graph *g, seqc_tensor *s, size_t l)
{
	if (!s)
		return NULL;
	return seqc_reshape(g, seqc_slice(g, s, 0, l, 1), 2, (size_t[]){ s->shape[1], s->shape[2] });
}

/* The per-layer states [B, H] stacked into [L, B, H]. */
static seqc_tensor *stack_layers(seqc_graph *g, seqc_tensor **s, size_t L)
{
	seqc_tensor *rows[SEQC_RNN_MAX_LAYERS];
	for (size_t l = 0; l < L; l++)
		rows[l] = s[l] ? seqc_reshape(g, s[l], 3, (size_t[]){ 1, s[l]->shape[0], s[l]->shape[1] })
			       : NULL;
	return seqc_concat(g, rows, (int)L, 0);
}

static int check_state(const seqc_rnnlm *m, const seqc_tensor *s, size_t B, const char *name)
{
	if (s && (s->ndim != 3 || s->shape[0] != m->c.layers || s->shape[1] != B ||
		  s->shape[2] != m->c.hidden))
		return seqc_error(SEQC_ESHAPE, "rnnlm scheduled: %s must be [layers %zu, B %zu, hidden %zu]",
				  name, m->c.layers, B, m->c.hidden);
	return 0;
}

/* The dropout masks seqc_rnnlm_logits draws for a chunk [B, T], in its
 * order: masks[0] on the embedding [B, T, E], masks[l + 1] on the output
 * of layer l [B, T, H] (the last one before the head). Each is dropout
 * applied to ones, so both paths draw exactly the same numbers. All NULL
 * when dropout is off (eval mode or p = 0). */
static int draw_masks(seqc_graph *g, seqc_rnnlm *m, size_t B, size_t T, seqc_rng *rng,
		      seqc_tensor **masks)
{
	size_t L = m->c.layers;
	memset(masks, 0, (L + 1) * sizeof *masks);
	if (!seqc_graph_training(g) || m->c.dropout == 0.0f)
		return 0;
	for (size_t l = 0; l <= L; l++) {
		/* seqc_rnn_forward leaves the last layer to the head's dropout */
		size_t width = l == 0 ? m->c.embed : m->c.hidden;
		seqc_tensor *ones = seqc_graph_tensor(g, 3, (size_t[]){ B, T, width }, false);
		if (!ones)
			return seqc_errcode();
		for (size_t i = 0; i < ones->numel; i++)
			ones->val[i] = 1.0f;
		if (!(masks[l] = seqc_dropout(g, ones, m->c.dropout, rng)))
			return seqc_errcode();
	}
	return 0;
}

/* x [B, X] times step t of mask [B, T, X] (none: x). */
static seqc_tensor *drop_step(seqc_graph *g, seqc_tensor *x, seqc_tensor *mask, size_t t)
{
	if (!mask || !x)
		return x;
	seqc_tensor *col = seqc_slice(g, mask, 1, t, 1);
	return seqc_mul(g, x, seqc_reshape(g, col, 2, x->shape));
}

/* One time step t: ids [B] through the embedding, every layer's cell (h
 * and c [L] updated in place) and the head; logits [B, V]. */
static seqc_tensor *one_step(seqc_graph *g, seqc_rnnlm *m, int32_t *ids, size_t B, size_t t,
			     seqc_tensor **h, seqc_tensor **c, seqc_tensor **masks)
{
	bool lstm = m->c.cell == SEQC_CELL_LSTM;
	seqc_ids view = seqc_ids_view1(ids, B);
	seqc_tensor *x = drop_step(g, seqc_embedding(g, m->embedding, &view, -1), masks[0], t);
	for (size_t l = 0; l < m->c.layers; l++) {
		if (seqc_rnn_cell_step(g, m->c.cell, x, h[l], lstm ? c[l] : NULL, m->rnn.w_ih[l],
				       m->rnn.w_hh[l], m->rnn.b_ih[l], m->rnn.b_hh[l], &h[l],
				       lstm ? &c[l] : NULL) < 0)
			return NULL;
		x = drop_step(g, h[l], masks[l + 1], t);
	}
	return seqc_linear(g, x, m->head_w, m->head_b);
}

int seqc_rnnlm_loss_scheduled(seqc_graph *g, seqc_rnnlm *m, const seqc_ids *inputs,
			      const seqc_ids *targets, seqc_tensor *h0, seqc_tensor *c0, seqc_rng *rng,
			      seqc_rnnlm_next_fn next, void *ctx, int32_t *used, seqc_tensor **loss,
			      seqc_tensor **h_n, seqc_tensor **c_n)
{
	*loss = NULL;
	if (inputs->ndim != 2 || targets->ndim != 2 || inputs->shape[0] != targets->shape[0] ||
	    inputs->shape[1] != targets->shape[1])
		return seqc_error(SEQC_ESHAPE, "rnnlm scheduled: inputs and targets must both be [B, T]");
	size_t B = inputs->shape[0], T = inputs->shape[1], L = m->c.layers, V = m->c.vocab;
	bool lstm = m->c.cell == SEQC_CELL_LSTM;
	int rc;
	if ((rc = check_state(m, h0, B, "h0")) < 0 || (rc = check_state(m, lstm ? c0 : NULL, B, "c0")) < 0)
		return rc;
	if (T > INT32_MAX)
		return seqc_error(SEQC_ERANGE, "rnnlm scheduled: %zu steps are too many", T);
	seqc_tensor *h[SEQC_RNN_MAX_LAYERS], *c[SEQC_RNN_MAX_LAYERS] = { NULL };
	seqc_tensor *masks[SEQC_RNN_MAX_LAYERS + 1];
	if ((rc = draw_masks(g, m, B, T, rng, masks)) < 0)
		return rc;
	for (size_t l = 0; l < L; l++) {
		h[l] = layer_state(g, h0, l);
		c[l] = lstm ? layer_state(g, c0, l) : NULL;
	}
	/* ids [T, B]: step t reads row t */
	int32_t *ids = seqc_graph_alloc(g, T * B * sizeof *ids);
	seqc_tensor **steps = seqc_graph_alloc(g, T * sizeof *steps);
	if (!ids || !steps)
		return seqc_errcode();
	for (size_t b = 0; b < B; b++)
		ids[b] = inputs->data[b * T];
	for (size_t t = 0; t < T; t++) {
		int32_t *row = ids + t * B;
		seqc_tensor *logits = one_step(g, m, row, B, t, h, c, masks);
		if (!logits)
			return seqc_errcode();
		steps[t] = seqc_reshape(g, logits, 3, (size_t[]){ B, 1, V });
		if (t + 1 == T)
			break;
		for (size_t b = 0; b < B; b++)
			row[B + b] = inputs->data[b * T + t + 1];
		if (next && (rc = next(ctx, logits->val, B, V, row + B)) < 0)
			return rc;
	}
	if (used)
		for (size_t t = 0; t < T; t++)
			for (size_t b = 0; b < B; b++)
				used[b * T + t] = ids[t * B + b];
	seqc_ce_opts o = seqc_ce_defaults();
	o.ignore_index = -1;
	*loss = seqc_cross_entropy(g, seqc_concat(g, steps, (int)T, 1), targets, &o);
	if (h_n)
		*h_n = stack_layers(g, h, L);
	if (c_n)
		*c_n = lstm ? stack_layers(g, c, L) : NULL;
	if (!*loss || (h_n && !*h_n) || (c_n && lstm && !*c_n))
		return *loss = NULL, seqc_errcode();
	return 0;
}

/* ---- step interface ---- */

/* Make room for rows rows of state (h, c and their gather buffers), keeping
 * nothing. Growing only: a beam search reorders without touching the heap. */
static int reserve_rows(seqc_rnnlm *m, size_t rows)
{
	size_t per_row = m->c.layers * m->c.hidden;
	if (!rows || rows > MAX_DIM || per_row > SIZE_MAX / sizeof(float) / rows)
		return seqc_error(SEQC_EINVAL, "rnnlm: %zu rows", rows);
	if (rows <= m->cap_rows)
		return 0;
	float *bufs[4];
	for (int k = 0; k < 4; k++)
		bufs[k] = calloc(rows * per_row, sizeof(float));
	if (!bufs[0] || !bufs[1] || !bufs[2] || !bufs[3]) {
		for (int k = 0; k < 4; k++)
			free(bufs[k]);
		return seqc_error(SEQC_ENOMEM, "rnnlm: cannot allocate the state of %zu rows", rows);
	}
	free(m->h);
	free(m->cstate);
	free(m->h_next);
	free(m->c_next);
	m->h = bufs[0];
	m->cstate = bufs[1];
	m->h_next = bufs[2];
	m->c_next = bufs[3];
	m->cap_rows = rows;
	return 0;
}

int seqc_rnnlm_start(seqc_rnnlm *m, size_t rows)
{
	int rc = reserve_rows(m, rows);
	if (rc < 0)
		return rc;
	m->rows = rows;
	memset(m->h, 0, rows * m->c.layers * m->c.hidden * sizeof(float));
	memset(m->cstate, 0, rows * m->c.layers * m->c.hidden * sizeof(float));
	return 0;
}

int seqc_rnnlm_step(seqc_rnnlm *m, seqc_graph *g, const int32_t *tokens, seqc_tensor **logits)
{
	*logits = NULL;
	if (!m->rows)
		return seqc_error(SEQC_ESTATE, "rnnlm step: call start first");
	bool grad = seqc_graph_set_grad(g, false), training = seqc_graph_set_training(g, false);
	size_t B = m->rows, H = m->c.hidden, L = m->c.layers;
	bool lstm = m->c.cell == SEQC_CELL_LSTM;
	seqc_ids ids = seqc_ids_view1((int32_t *)tokens, B);
	seqc_tensor *x = seqc_embedding(g, m->embedding, &ids, -1);
	for (size_t l = 0; x && l < L; l++) {
		/* views of the state: read here, overwritten after the step */
		seqc_tensor h = { .val = m->h + l * B * H, .ndim = 2, .shape = { B, H }, .numel = B * H };
		seqc_tensor c = h;
		c.val = m->cstate + l * B * H;
		seqc_tensor *hn, *cn;
		if (seqc_rnn_cell_step(g, m->c.cell, x, &h, lstm ? &c : NULL, m->rnn.w_ih[l],
				       m->rnn.w_hh[l], m->rnn.b_ih[l], m->rnn.b_hh[l], &hn, &cn) < 0) {
			x = NULL;
			break;
		}
		memcpy(h.val, hn->val, B * H * sizeof(float));
		if (lstm)
			memcpy(c.val, cn->val, B * H * sizeof(float));
		x = hn;
	}
	*logits = seqc_linear(g, x, m->head_w, m->head_b);
	seqc_graph_set_grad(g, grad);
	seqc_graph_set_training(g, training);
	return *logits ? 0 : seqc_errcode();
}

/* dst [L, n, H] row i = src [L, old, H] row from[i], per layer. */
static void gather_rows(float *dst, const float *src, const size_t *from, size_t n, size_t old,
			size_t L, size_t H)
{
	for (size_t l = 0; l < L; l++)
		for (size_t i = 0; i < n; i++)
			memcpy(dst + (l * n + i) * H, src + (l * old + from[i]) * H, H * sizeof(float));
}

int seqc_rnnlm_reorder(seqc_rnnlm *m, const size_t *from, size_t n)
{
	size_t H = m->c.hidden, L = m->c.layers, old = m->rows;
	if (!n)
		return seqc_error(SEQC_EINVAL, "rnnlm reorder: no rows");
	for (size_t i = 0; i < n; i++)
		if (from[i] >= old)
			return seqc_error(SEQC_ERANGE, "rnnlm reorder: row %zu is outside [0, %zu)", from[i],
					  old);
	if (n > m->cap_rows) {
		/* the old state moves into fresh, larger buffers */
		float *h = m->h, *c = m->cstate;
		free(m->h_next);
		free(m->c_next);
		m->h = m->cstate = m->h_next = m->c_next = NULL;
		m->cap_rows = 0;
		int rc = reserve_rows(m, n);
		if (rc == 0) {
			gather_rows(m->h, h, from, n, old, L, H);
			gather_rows(m->cstate, c, from, n, old, L, H);
		}
		free(h);
		free(c);
		m->rows = rc == 0 ? n : 0;
		return rc;
	}
	gather_rows(m->h_next, m->h, from, n, old, L, H);
	gather_rows(m->c_next, m->cstate, from, n, old, L, H);
	float *t = m->h;
	m->h = m->h_next;
	m->h_next = t;
	t = m->cstate;
	m->cstate = m->c_next;
	m->c_next = t;
	m->rows = n;
	return 0;
}
