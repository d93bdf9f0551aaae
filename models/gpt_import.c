/* Hugging Face GPT-2 safetensors checkpoints into a gpt model: names with
 * or without "transformer.", Conv1D weights [in, out] transposed into
 * nn.Linear's [out, in], the attention mask buffers skipped, the sizes from
 * the tensors and the head count and GELU kind from config.json. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/gpt.h"
#include "models/model.h"
#include "seq/safetensors.h"

/* What a block tensor's name ends with after "h.<l>.": the parameters, then
 * the buffers GPT-2 saves beside them (causal mask and its fill value),
 * which hold nothing we need. */
static const char *const block_names[] = {
	"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
	"attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
	"mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias",
	"attn.bias", "attn.masked_bias",
};
#define BLOCK_BUFFERS 12 /* block_names[12..] are buffers */

/* What we learn from the file and config.json. */
typedef struct hf_info {
	const char *prefix; /* "transformer." or "" */
	seqc_gpt_config c;
	const char *path;
} hf_info;

/* 1 + the layer number of a block tensor "h.<l>.<known>", 0 for a known
 * top-level tensor, or an error for anything else. */
static int64_t classify(const hf_info *in, const char *name)
{
	size_t np = strlen(in->prefix);
	if (!strcmp(name, "lm_head.weight"))
		return 0;
	if (strncmp(name, in->prefix, np))
		goto unknown;
	const char *s = name + np;
	if (!strcmp(s, "wte.weight") || !strcmp(s, "wpe.weight") || !strcmp(s, "ln_f.weight") ||
	    !strcmp(s, "ln_f.bias"))
		return 0;
	if (strncmp(s, "h.", 2) || s[2] < '0' || s[2] > '9')
		goto unknown;
	char *end;
	unsigned long l = strtoul(s + 2, &end, 10);
	char canon[24];
	snprintf(canon, sizeof canon, "%lu", l);
	/* "h.01." would alias "h.1.": only the canonical spelling */
	if (*end != '.' || strncmp(s + 2, canon, strlen(canon)) || l >= SEQC_GPT_MAX_LAYERS)
		goto unknown;
	for (size_t i = 0; i < sizeof block_names / sizeof block_names[0]; i++)
		if (!strcmp(end + 1, block_names[i]))
			return (int64_t)l + 1;
unknown:
	return seqc_error(SEQC_EFORMAT, "%s: tensor \"%s\" is not part of a GPT-2 checkpoint",
			  in->path, name);
}

/* Layers from the block names: every tensor must be known. */
static int count_layers(hf_info *in, const seqc_st *st)
{
	int64_t top = 0;
	for (size_t i = 0; i < seqc_st_count(st); i++) {
		int64_t l = classify(in, seqc_st_tensor_at(st, i)->name);
		if (l < 0)
			return (int)l;
		if (l > top)
			top = l;
	}
	if (!top)
		return seqc_error(SEQC_EFORMAT, "%s: no \"%sh.0.\" block tensors", in->path, in->prefix);
	in->c.layers = (size_t)top;
	return 0;
}

/* V, context and C from wte [V, C] and wpe [context, C]. */
static int embedding_sizes(hf_info *in, const seqc_st *st)
{
	char name[64];
	snprintf(name, sizeof name, "%swte.weight", in->prefix);
	const seqc_st_tensor *wte = seqc_st_find(st, name);
	snprintf(name, sizeof name, "%swpe.weight", in->prefix);
	const seqc_st_tensor *wpe = seqc_st_find(st, name);
	if (!wte || !wpe)
		return seqc_error(SEQC_EFORMAT, "%s: no \"%swte.weight\" or no \"%swpe.weight\"", in->path,
				  in->prefix, in->prefix);
	if (wte->ndim != 2 || wpe->ndim != 2 || wte->shape[1] != wpe->shape[1])
		return seqc_error(SEQC_ESHAPE, "%s: wte [V, C] and wpe [context, C] do not fit", in->path);
	in->c.vocab = wte->shape[0];
	in->c.embed = wte->shape[1];
	in->c.context = wpe->shape[0];
	return 0;
}

/* A size in config.json that must agree with the tensors (when present). */
static int agree(const hf_info *in, json_t *o, const char *key, size_t have)
{
	json_t *v = json_object_get(o, key);
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0 ||
		  (size_t)json_integer_value(v) != have))
		return seqc_error(SEQC_EFORMAT, "%s: config.json has \"%s\" other than the tensors' %zu",
				  in->path, key, have);
	return 0;
}

/* Options of transformers' GPT2Config that change the math we compute. */
static int supported_options(hf_info *in, json_t *o)
{
	json_t *act = json_object_get(o, "activation_function");
	const char *a = act ? json_string_value(act) : "gelu_new";
	bool tanh_kind = a && (!strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh"));
	if (a && !strcmp(a, "gelu"))
		in->c.gelu = SEQC_GELU_EXACT;
	else if (!tanh_kind)
		return seqc_error(SEQC_EUNSUPPORTED, "%s: activation_function \"%s\" (seqc has gelu_new, "
				  "gelu_pytorch_tanh and gelu)", in->path, a ? a : "(not a string)");
	if (json_is_false(json_object_get(o, "tie_word_embeddings")) ||
	    json_is_false(json_object_get(o, "scale_attn_weights")) ||
	    json_is_true(json_object_get(o, "scale_attn_by_inverse_layer_idx")))
		return seqc_error(SEQC_EUNSUPPORTED, "%s: config.json asks for an untied head or another "
				  "attention scaling than GPT-2's", in->path);
	return 0;
}

/* The parts of config.json we use: heads, eps, GELU; and the sizes the
 * tensors gave, which must agree. */
static int read_config(hf_info *in, json_t *o, size_t heads)
{
	json_t *nh = json_object_get(o, "n_head"), *eps = json_object_get(o, "layer_norm_epsilon");
	if (nh && (!json_is_integer(nh) || json_integer_value(nh) < 1))
		return seqc_error(SEQC_EFORMAT, "%s: config.json \"n_head\" is not a positive integer",
				  in->path);
	if (!heads && !nh)
		return seqc_error(SEQC_EFORMAT, "%s: config.json has no \"n_head\"; give the heads",
				  in->path);
	if (heads && nh && (size_t)json_integer_value(nh) != heads)
		return seqc_error(SEQC_EINVAL, "%s: %zu heads given, config.json says %lld", in->path,
				  heads, (long long)json_integer_value(nh));
	in->c.heads = heads ? heads : (size_t)json_integer_value(nh);
	if (eps && !json_is_number(eps))
		return seqc_error(SEQC_EFORMAT, "%s: config.json \"layer_norm_epsilon\" is not a number",
				  in->path);
	if (eps)
		in->c.ln_eps = (float)json_number_value(eps);
	int rc;
	if ((rc = agree(in, o, "vocab_size", in->c.vocab)) < 0 ||
	    (rc = agree(in, o, "n_positions", in->c.context)) < 0 ||
	    (rc = agree(in, o, "n_ctx", in->c.context)) < 0 ||
	    (rc = agree(in, o, "n_embd", in->c.embed)) < 0 ||
	    (rc = agree(in, o, "n_layer", in->c.layers)) < 0)
		return rc;
	return supported_options(in, o);
}

/* config.json in the folder of path: required when heads is 0. */
static int load_config(hf_info *in, size_t heads)
{
	const char *slash = strrchr(in->path, '/');
	size_t dir = slash ? (size_t)(slash - in->path) + 1 : 0;
	char *cfg = malloc(dir + sizeof "config.json");
	if (!cfg)
		return seqc_error(SEQC_ENOMEM, "gpt import: cannot allocate");
	memcpy(cfg, in->path, dir);
	memcpy(cfg + dir, "config.json", sizeof "config.json");
	FILE *f = fopen(cfg, "rb");
	int rc = 0;
	if (!f) {
		in->c.heads = heads;
		if (!heads)
			rc = seqc_error(SEQC_EIO, "%s: cannot open %s for the number of heads; give the heads",
					in->path, cfg);
		free(cfg);
		return rc;
	}
	json_error_t err;
	json_t *o = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
	fclose(f);
	if (!json_is_object(o))
		rc = seqc_error(SEQC_EFORMAT, "%s: not a JSON object (%s)", cfg, o ? "" : err.text);
	else
		rc = read_config(in, o, heads);
	json_decref(o);
	free(cfg);
	return rc;
}

/* Is the seqc parameter name a block weight stored as a Conv1D [in, out]? */
static bool is_conv1d(const seqc_param *q)
{
	return q->t.ndim == 2 && strstr(q->name, ".h.") != NULL;
}

/* Copy the file's tensor for one parameter, transposing Conv1D weights. */
static int copy_param(const hf_info *in, const seqc_st *st, seqc_param *q)
{
	char name[128];
	snprintf(name, sizeof name, "%s%s", in->prefix, q->name + strlen("transformer."));
	const seqc_st_tensor *t = seqc_st_find(st, name);
	if (!t)
		return seqc_error(SEQC_EFORMAT, "%s: no tensor \"%s\"", in->path, name);
	bool conv = is_conv1d(q);
	size_t rows = q->t.shape[0], cols = q->t.ndim == 2 ? q->t.shape[1] : 1;
	size_t want0 = conv ? cols : rows, want1 = conv ? rows : cols;
	seqc_tensor want = { .ndim = q->t.ndim, .shape = { want0, want1 } }, have = { .ndim = t->ndim };
	memcpy(have.shape, t->shape, sizeof have.shape);
	if (!seqc_tensor_same_shape(&have, &want)) {
		char sh[64], sw[64];
		return seqc_error(SEQC_ESHAPE, "%s: \"%s\" is %s, expected %s", in->path, name,
				  seqc_shape_str(&have, sh, sizeof sh), seqc_shape_str(&want, sw, sizeof sw));
	}
	if (!conv) {
		memcpy(q->t.val, t->data, q->t.numel * sizeof(float));
		return 0;
	}
	/* Conv1D holds w^T: dst[o][i] = src[i][o] */
	for (size_t o = 0; o < rows; o++)
		for (size_t i = 0; i < cols; i++)
			q->t.val[o * cols + i] = t->data[i * rows + o];
	return 0;
}

/* An "lm_head.weight" is only accepted as a copy of wte. */
static int check_head(const hf_info *in, const seqc_st *st, const seqc_tensor *wte)
{
	const seqc_st_tensor *h = seqc_st_find(st, "lm_head.weight");
	if (!h)
		return 0;
	if (h->ndim != 2 || h->shape[0] != wte->shape[0] || h->shape[1] != wte->shape[1] ||
	    memcmp(h->data, wte->val, wte->numel * sizeof(float)))
		return seqc_error(SEQC_EUNSUPPORTED, "%s: \"lm_head.weight\" differs from wte: seqc's gpt "
				  "ties the head to the token embedding", in->path);
	return 0;
}

static seqc_gpt *build(hf_info *in, const seqc_st *st, size_t heads)
{
	in->prefix = seqc_st_find(st, "transformer.wte.weight") ? "transformer." : "";
	in->c = seqc_gpt_config_defaults();
	if (count_layers(in, st) < 0 || embedding_sizes(in, st) < 0 || load_config(in, heads) < 0)
		return NULL;
	seqc_gpt *g = seqc_gpt_create(&in->c, NULL); /* every value is copied below */
	if (!g) {
		seqc_error_wrap("%s: ", in->path);
		return NULL;
	}
	for (size_t i = 0; i < g->params->count; i++) {
		if (copy_param(in, st, g->params->items[i]) < 0) {
			seqc_gpt_destroy(g);
			return NULL;
		}
	}
	if (check_head(in, st, g->wte) < 0) {
		seqc_gpt_destroy(g);
		return NULL;
	}
	return g;
}

seqc_model *seqc_gpt_import_hf(const char *path, size_t heads_or_0)
{
	seqc_st *st;
	if (!path) {
		seqc_error(SEQC_EINVAL, "gpt import: no path");
		return NULL;
	}
	if (seqc_st_read(path, &st) < 0)
		return NULL;
	hf_info in = { .path = path };
	seqc_gpt *g = build(&in, st, heads_or_0);
	seqc_st_destroy(st);
	return g ? seqc_model_wrap_gpt(g) : NULL;
}
