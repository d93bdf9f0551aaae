/* nn.MultiheadAttention on the fused attention op (see attention.h). */
#include "models/attention.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int seqc_mha_declare(seqc_mha *m, size_t embed, size_t heads, float dropout, seqc_params *p,
		     const char *prefix)
{
	memset(m, 0, sizeof *m);
	if (!embed || !heads || embed % heads)
		return seqc_error(SEQC_EINVAL, "mha: embed %zu must be a positive multiple of heads %zu",
				  embed, heads);
	if (!(dropout >= 0.0f && dropout < 1.0f))
		return seqc_error(SEQC_EINVAL, "mha: dropout %g is outside [0, 1)", (double)dropout);
	*m = (seqc_mha){ .embed = embed, .heads = heads, .dropout = dropout };
	seqc_init zeros = { SEQC_INIT_ZEROS, 0.0f };
	/* nn.Linear's kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + 5)) */
	seqc_init linear = { SEQC_INIT_KAIMING_UNIFORM, 1.0f / sqrtf(3.0f) };
	size_t E3 = 3 * embed;
	char name[256];
	snprintf(name, sizeof name, "%sin_proj_weight", prefix);
	m->in_proj_weight = seqc_params_add(p, name, 2, (size_t[]){ E3, embed },
					    (seqc_init){ SEQC_INIT_XAVIER_UNIFORM, 1.0f }, false);
	snprintf(name, sizeof name, "%sin_proj_bias", prefix);
	m->in_proj_bias = seqc_params_add(p, name, 1, &E3, zeros, true);
	snprintf(name, sizeof name, "%sout_proj.weight", prefix);
	m->out_proj_weight = seqc_params_add(p, name, 2, (size_t[]){ embed, embed }, linear, false);
	snprintf(name, sizeof name, "%sout_proj.bias", prefix);
	m->out_proj_bias = seqc_params_add(p, name, 1, &embed, zeros, true);
	if (!m->in_proj_weight || !m->in_proj_bias || !m->out_proj_weight || !m->out_proj_bias)
		return seqc_errcode();
	return 0;
}

seqc_tensor *seqc_rows_view(seqc_graph *g, seqc_tensor *w, size_t r0, size_t n)
{
	char sw[64];
	if (!w)
		return NULL;
	if (w->ndim > 2 || !n || r0 > w->shape[0] || n > w->shape[0] - r0) {
		seqc_error(SEQC_ESHAPE, "rows view: rows [%zu, %zu + %zu) of %s", r0, r0, n,
			   seqc_shape_str(w, sw, sizeof sw));
		return NULL;
	}
	seqc_tensor *v = seqc_graph_alloc(g, sizeof *v);
	if (!v)
		return NULL;
	size_t cols = w->ndim == 2 ? w->shape[1] : 1;
	*v = (seqc_tensor){ .val = w->val + r0 * cols, .grad = w->grad ? w->grad + r0 * cols : NULL,
			    .ndim = w->ndim, .shape = { n, cols }, .numel = n * cols };
	return v;
}

/* x [B, T, E] projected by rows [r0, r0 + n) of the packed in-projection. */
static seqc_tensor *project(seqc_graph *g, const seqc_mha *m, seqc_tensor *x, size_t r0, size_t n)
{
	seqc_tensor *w = seqc_rows_view(g, m->in_proj_weight, r0, n);
	seqc_tensor *b = w ? seqc_rows_view(g, m->in_proj_bias, r0, n) : NULL;
	return b ? seqc_linear(g, x, w, b) : NULL;
}

static bool is_seq(const seqc_tensor *x, size_t E)
{
	return x->ndim == 3 && x->shape[2] == E;
}

seqc_tensor *seqc_mha_forward(seqc_graph *g, const seqc_mha *m, seqc_tensor *query,
			      seqc_tensor *key, seqc_tensor *value, const seqc_tmask *masks,
			      seqc_rng *rng, float *weights)
{
	char sq[64], sk[64], sv[64];
	if (!query || !key || !value)
		return NULL;
	size_t E = m->embed;
	if (!is_seq(query, E) || !is_seq(key, E) || !is_seq(value, E)) {
		seqc_error(SEQC_ESHAPE, "mha: query %s, key %s and value %s must be [B, T, %zu]",
			   seqc_shape_str(query, sq, sizeof sq), seqc_shape_str(key, sk, sizeof sk),
			   seqc_shape_str(value, sv, sizeof sv), E);
		return NULL;
	}
	seqc_cols q, k, v;
	if (query == key && key == value) {
		seqc_tensor *qkv = seqc_linear(g, query, m->in_proj_weight, m->in_proj_bias);
		q = (seqc_cols){ qkv, 0 };
		k = (seqc_cols){ qkv, E };
		v = (seqc_cols){ qkv, 2 * E };
	} else if (key == value) {
		seqc_tensor *kv = project(g, m, key, E, 2 * E);
		q = (seqc_cols){ project(g, m, query, 0, E), 0 };
		k = (seqc_cols){ kv, 0 };
		v = (seqc_cols){ kv, E };
	} else {
		q = (seqc_cols){ project(g, m, query, 0, E), 0 };
		k = (seqc_cols){ project(g, m, key, E, E), 0 };
		v = (seqc_cols){ project(g, m, value, 2 * E, E), 0 };
	}
	size_t B = query->shape[0], Tq = query->shape[1], Tk = key->shape[1], H = m->heads;
	seqc_attn_opts o = { .heads = H, .dropout = m->dropout, .rng = rng };
	if (masks) {
		o.key_pad = masks->key_pad;
		o.mask = masks->mask;
		o.causal = masks->causal;
	}
	/* per-head weights in the arena, averaged over heads below */
	size_t nw;
	if (weights && seqc_shape_numel(4, (size_t[]){ B, H, Tq, Tk }, &nw, "mha weights"))
		return NULL;
	if (weights && q.x && k.x && v.x)
		o.weights = seqc_graph_alloc(g, nw * sizeof(float));
	if (weights && !o.weights)
		return NULL;
	seqc_tensor *a = seqc_attention(g, q, k, v, E, &o);
	if (!a)
		return NULL;
	if (weights)
		for (size_t b = 0; b < B; b++)
			for (size_t e = 0; e < Tq * Tk; e++) {
				float s = 0.0f;
				for (size_t h = 0; h < H; h++)
					s += o.weights[(b * H + h) * Tq * Tk + e];
				weights[b * Tq * Tk + e] = s / (float)H;
			}
	return seqc_linear(g, a, m->out_proj_weight, m->out_proj_bias);
}
