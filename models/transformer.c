/* Transformer encoder and decoder layers (see transformer.h). */
#include "models/transformer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

seqc_tlayer_config seqc_tlayer_defaults(size_t d_model, size_t nhead)
{
	return (seqc_tlayer_config){ .d_model = d_model, .nhead = nhead, .dim_feedforward = 2048,
				     .dropout = 0.1f, .activation = SEQC_FF_RELU,
				     .norm_first = false, .layer_norm_eps = 1e-5f };
}

const char *seqc_ff_act_name(seqc_ff_act act)
{
	return act == SEQC_FF_GELU ? "gelu" : act == SEQC_FF_RELU ? "relu" : "unknown";
}

int seqc_ff_act_parse(const char *name)
{
	if (!strcmp(name, "relu"))
		return SEQC_FF_RELU;
	if (!strcmp(name, "gelu"))
		return SEQC_FF_GELU;
	return -1;
}

static int check_config(const seqc_tlayer_config *c)
{
	if (!c->d_model || !c->nhead || c->d_model % c->nhead || !c->dim_feedforward)
		return seqc_error(SEQC_EINVAL,
				  "transformer layer: d_model %zu must be a positive multiple of nhead %zu, "
				  "dim_feedforward %zu positive",
				  c->d_model, c->nhead, c->dim_feedforward);
	if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
		return seqc_error(SEQC_EINVAL, "transformer layer: dropout %g is outside [0, 1)",
				  (double)c->dropout);
	if (!(c->layer_norm_eps > 0.0f) || !isfinite(c->layer_norm_eps))
		return seqc_error(SEQC_EINVAL, "transformer layer: layer_norm_eps %g must be positive",
				  (double)c->layer_norm_eps);
	if (c->activation != SEQC_FF_RELU && c->activation != SEQC_FF_GELU)
		return seqc_error(SEQC_EINVAL, "transformer layer: unknown activation %d",
				  (int)c->activation);
	return 0;
}

/* "<prefix><name>.weight" [out, in] and ".bias" [out], as nn.Linear: both
 * U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ a = sqrt(5) for the weight). */
static int declare_linear(seqc_tlinear *l, seqc_params *p, const char *prefix, const char *name,
			  size_t out, size_t in)
{
	char full[256];
	snprintf(full, sizeof full, "%s%s.weight", prefix, name);
	l->weight = seqc_params_add(p, full, 2, (size_t[]){ out, in },
				    (seqc_init){ SEQC_INIT_KAIMING_UNIFORM, 1.0f / sqrtf(3.0f) }, false);
	snprintf(full, sizeof full, "%s%s.bias", prefix, name);
	l->bias = seqc_params_add(p, full, 1, &out,
				  (seqc_init){ SEQC_INIT_UNIFORM, 1.0f / sqrtf((float)in) }, true);
	return l->weight && l->bias ? 0 : seqc_errcode();
}

static int declare_norm(seqc_tnorm *n, seqc_params *p, const char *prefix, const char *name,
			size_t d)
{
	char full[256];
	snprintf(full, sizeof full, "%s%s.weight", prefix, name);
	n->weight = seqc_params_add(p, full, 1, &d, (seqc_init){ SEQC_INIT_ONES, 0.0f }, true);
	snprintf(full, sizeof full, "%s%s.bias", prefix, name);
	n->bias = seqc_params_add(p, full, 1, &d, (seqc_init){ SEQC_INIT_ZEROS, 0.0f }, true);
	return n->weight && n->bias ? 0 : seqc_errcode();
}

static int declare_mha(seqc_mha *m, const seqc_tlayer_config *c, seqc_params *p,
		       const char *prefix, const char *name)
{
	char full[256];
	snprintf(full, sizeof full, "%s%s.", prefix, name);
	return seqc_mha_declare(m, c->d_model, c->nhead, c->dropout, p, full);
}

/* Either layer's parameters in nn.Transformer*Layer's order of
 * registration: self_attn, multihead_attn (decoder: cross not NULL),
 * linear1, linear2, norm1 .. norm<n>. */
static int declare_layer(const seqc_tlayer_config *c, seqc_params *p, const char *prefix,
			 seqc_mha *self, seqc_mha *cross, seqc_tlinear *l1, seqc_tlinear *l2,
			 seqc_tnorm *const *norms, int n)
{
	int rc = check_config(c);
	rc = rc ? rc : declare_mha(self, c, p, prefix, "self_attn");
	if (!rc && cross)
		rc = declare_mha(cross, c, p, prefix, "multihead_attn");
	rc = rc ? rc : declare_linear(l1, p, prefix, "linear1", c->dim_feedforward, c->d_model);
	rc = rc ? rc : declare_linear(l2, p, prefix, "linear2", c->d_model, c->dim_feedforward);
	for (int i = 0; i < n && !rc; i++) {
		char name[16];
		snprintf(name, sizeof name, "norm%d", i + 1);
		rc = declare_norm(norms[i], p, prefix, name, c->d_model);
	}
	return rc;
}

int seqc_tenc_layer_declare(seqc_tenc_layer *l, const seqc_tlayer_config *c, seqc_params *p,
			    const char *prefix)
{
	memset(l, 0, sizeof *l);
	l->c = *c;
	return declare_layer(c, p, prefix, &l->self_attn, NULL, &l->linear1, &l->linear2,
			     (seqc_tnorm *const[]){ &l->norm1, &l->norm2 }, 2);
}

int seqc_tdec_layer_declare(seqc_tdec_layer *l, const seqc_tlayer_config *c, seqc_params *p,
			    const char *prefix)
{
	memset(l, 0, sizeof *l);
	l->c = *c;
	return declare_layer(c, p, prefix, &l->self_attn, &l->multihead_attn, &l->linear1,
			     &l->linear2, (seqc_tnorm *const[]){ &l->norm1, &l->norm2, &l->norm3 }, 3);
}

static seqc_tensor *norm(seqc_graph *g, const seqc_tlayer_config *c, const seqc_tnorm *n,
			 seqc_tensor *x)
{
	return seqc_layer_norm(g, x, n->weight, n->bias, c->layer_norm_eps);
}

/* dropout(linear2(dropout(act(linear1(x))))) */
static seqc_tensor *feed_forward(seqc_graph *g, const seqc_tlayer_config *c,
				 const seqc_tlinear *l1, const seqc_tlinear *l2, seqc_tensor *x,
				 seqc_rng *rng)
{
	seqc_tensor *h = seqc_linear(g, x, l1->weight, l1->bias);
	h = c->activation == SEQC_FF_GELU ? seqc_gelu(g, h, SEQC_GELU_EXACT) : seqc_relu(g, h);
	h = seqc_dropout(g, h, c->dropout, rng);
	h = seqc_linear(g, h, l2->weight, l2->bias);
	return seqc_dropout(g, h, c->dropout, rng);
}

/* One residual sublayer: pre-norm x + f(norm(x)), post-norm norm(x + f(x)).
 * f is attention (self when memory is NULL) or, when m is NULL, the
 * feed-forward block. */
typedef struct sublayer {
	const seqc_tlayer_config *c;
	const seqc_tnorm *norm;
	const seqc_mha *m;             /* attention, or NULL: feed-forward */
	seqc_tensor *memory;           /* cross-attention's keys and values */
	const seqc_tmask *mask;
	const seqc_tlinear *l1, *l2;   /* feed-forward */
} sublayer;

static seqc_tensor *sublayer_forward(seqc_graph *g, const sublayer *s, seqc_tensor *x,
				     seqc_rng *rng)
{
	seqc_tensor *in = s->c->norm_first ? norm(g, s->c, s->norm, x) : x, *f;
	if (s->m) {
		seqc_tensor *kv = s->memory ? s->memory : in;
		f = seqc_mha_forward(g, s->m, in, kv, kv, s->mask, rng, NULL);
		f = seqc_dropout(g, f, s->c->dropout, rng);
	} else {
		f = feed_forward(g, s->c, s->l1, s->l2, in, rng);
	}
	seqc_tensor *y = seqc_add(g, x, f);
	return s->c->norm_first ? y : norm(g, s->c, s->norm, y);
}

seqc_tensor *seqc_tenc_layer_forward(seqc_graph *g, const seqc_tenc_layer *l, seqc_tensor *x,
				     const seqc_tmask *mask, seqc_rng *rng)
{
	const seqc_tlayer_config *c = &l->c;
	sublayer sa = { .c = c, .norm = &l->norm1, .m = &l->self_attn, .mask = mask };
	sublayer ff = { .c = c, .norm = &l->norm2, .l1 = &l->linear1, .l2 = &l->linear2 };
	return sublayer_forward(g, &ff, sublayer_forward(g, &sa, x, rng), rng);
}

seqc_tensor *seqc_tdec_layer_forward(seqc_graph *g, const seqc_tdec_layer *l, seqc_tensor *x,
				     seqc_tensor *memory, const seqc_tmask *tgt,
				     const seqc_tmask *mem, seqc_rng *rng)
{
	const seqc_tlayer_config *c = &l->c;
	if (!memory)
		return NULL;
	sublayer sa = { .c = c, .norm = &l->norm1, .m = &l->self_attn, .mask = tgt };
	sublayer ca = { .c = c, .norm = &l->norm2, .m = &l->multihead_attn, .memory = memory,
			.mask = mem };
	sublayer ff = { .c = c, .norm = &l->norm3, .l1 = &l->linear1, .l2 = &l->linear2 };
	x = sublayer_forward(g, &sa, x, rng);
	x = sublayer_forward(g, &ca, x, rng);
	return sublayer_forward(g, &ff, x, rng);
}

/* ---- stacks ---- */

/* The final norm is declared after the layers: nn.TransformerEncoder's
 * order of registration. */
static int check_layers(size_t layers)
{
	if (!layers || layers > SEQC_TSTACK_MAX_LAYERS)
		return seqc_error(SEQC_EINVAL, "transformer stack: %zu layers is outside 1..%d", layers,
				  SEQC_TSTACK_MAX_LAYERS);
	return 0;
}

static int declare_final_norm(seqc_tnorm *n, const seqc_tlayer_config *c, bool final_norm,
			      seqc_params *p, const char *prefix)
{
	return final_norm ? declare_norm(n, p, prefix, "norm", c->d_model) : 0;
}

/* The layers one after another (each its own struct, stride bytes apart)
 * as "<prefix>layers.<i>.", then the final norm. */
typedef int (*declare_fn)(void *layer, const seqc_tlayer_config *c, seqc_params *p,
			  const char *prefix);

static int declare_stack(char *layer, size_t stride, declare_fn declare, size_t layers,
			 const seqc_tlayer_config *c, seqc_tnorm *norm_, bool with_norm,
			 seqc_params *p, const char *prefix)
{
	int rc = check_layers(layers);
	for (size_t i = 0; i < layers && !rc; i++) {
		char name[256];
		snprintf(name, sizeof name, "%slayers.%zu.", prefix, i);
		rc = declare(layer + i * stride, c, p, name);
	}
	return rc ? rc : declare_final_norm(norm_, c, with_norm, p, prefix);
}

static int declare_enc_layer(void *l, const seqc_tlayer_config *c, seqc_params *p,
			     const char *prefix)
{
	return seqc_tenc_layer_declare(l, c, p, prefix);
}

static int declare_dec_layer(void *l, const seqc_tlayer_config *c, seqc_params *p,
			     const char *prefix)
{
	return seqc_tdec_layer_declare(l, c, p, prefix);
}

int seqc_tenc_declare(seqc_tenc *e, const seqc_tlayer_config *c, size_t layers, bool final_norm,
		      seqc_params *p, const char *prefix)
{
	memset(e, 0, sizeof *e);
	int rc = declare_stack((char *)e->layer, sizeof e->layer[0], declare_enc_layer, layers, c,
			       &e->norm, final_norm, p, prefix);
	e->layers = rc ? 0 : layers; /* a failed stack forwards nothing */
	return rc;
}

int seqc_tdec_declare(seqc_tdec *d, const seqc_tlayer_config *c, size_t layers, bool final_norm,
		      seqc_params *p, const char *prefix)
{
	memset(d, 0, sizeof *d);
	int rc = declare_stack((char *)d->layer, sizeof d->layer[0], declare_dec_layer, layers, c,
			       &d->norm, final_norm, p, prefix);
	d->layers = rc ? 0 : layers; /* a failed stack forwards nothing */
	return rc;
}

static seqc_tensor *final_norm(seqc_graph *g, const seqc_tnorm *n, const seqc_tlayer_config *c,
			       seqc_tensor *x)
{
	return n->weight ? norm(g, c, n, x) : x;
}

seqc_tensor *seqc_tenc_forward(seqc_graph *g, const seqc_tenc *e, seqc_tensor *x,
			       const seqc_tmask *mask, seqc_rng *rng)
{
	for (size_t i = 0; i < e->layers; i++)
		x = seqc_tenc_layer_forward(g, &e->layer[i], x, mask, rng);
	return final_norm(g, &e->norm, &e->layer[0].c, x);
}

seqc_tensor *seqc_tdec_forward(seqc_graph *g, const seqc_tdec *d, seqc_tensor *x,
			       seqc_tensor *memory, const seqc_tmask *tgt, const seqc_tmask *mem,
			       seqc_rng *rng)
{
	for (size_t i = 0; i < d->layers; i++)
		x = seqc_tdec_layer_forward(g, &d->layer[i], x, memory, tgt, mem, rng);
	return final_norm(g, &d->norm, &d->layer[0].c, x);
}
