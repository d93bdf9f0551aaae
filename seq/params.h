/* The parameter store: every weight of a model in one contiguous block of
 * values and its gradients in a second block of the same layout. Each
 * parameter is a named view (name, shape, offset) with an init rule.
 *
 * Use: create; add every parameter (each add returns a tensor whose val and
 * grad become valid at finalize); finalize once, which allocates both blocks
 * and runs every init rule in the order of the adds from one RNG. Zeroing all
 * gradients is one memset; an optimizer is one loop over the flat blocks. */
#ifndef SEQC_SEQ_PARAMS_H
#define SEQC_SEQ_PARAMS_H

#include "seq/rng.h"
#include "seq/tensor.h"

typedef enum seqc_init_kind {
	SEQC_INIT_ZEROS,
	SEQC_INIT_ONES,
	SEQC_INIT_CONST,          /* every element = a */
	SEQC_INIT_UNIFORM,        /* U(-a, a) */
	SEQC_INIT_NORMAL,         /* N(0, a^2) */
	SEQC_INIT_XAVIER_UNIFORM, /* U(-b, b), b = a * sqrt(6 / (fan_in + fan_out)); a = gain */
	SEQC_INIT_XAVIER_NORMAL,  /* N(0, s^2), s = a * sqrt(2 / (fan_in + fan_out)) */
	SEQC_INIT_KAIMING_UNIFORM,/* U(-b, b), b = a * sqrt(3 / fan_in); a = gain (sqrt(2) for relu) */
	SEQC_INIT_KAIMING_NORMAL, /* N(0, s^2), s = a / sqrt(fan_in) */
	SEQC_INIT_ORTHOGONAL,     /* a * Q, Q with orthonormal rows or columns, as torch.nn.init.orthogonal_ */
} seqc_init_kind;

/* fan_in and fan_out follow PyTorch: for a [out, in, ...] weight, fan_in =
 * in * receptive field, fan_out = out * receptive field; a 1-D tensor has
 * fan_in = fan_out = its size. */
typedef struct seqc_init {
	seqc_init_kind kind;
	float a;
} seqc_init;

typedef struct seqc_param {
	char *name;
	seqc_tensor t;  /* view into the store's blocks */
	size_t offset;  /* in floats, into values and grads */
	seqc_init init;
	bool no_decay;  /* exempt from weight decay (biases, norms, embeddings) */
} seqc_param;

typedef struct seqc_params {
	float *values;  /* [numel] */
	float *grads;   /* [numel] */
	size_t numel;
	seqc_param **items; /* [count], in the order added */
	size_t count;
	size_t cap;
	bool finalized;
} seqc_params;

SEQC_API seqc_params *seqc_params_create(void);
SEQC_API void seqc_params_destroy(seqc_params *p); /* accepts NULL */

/* Declare a parameter. Returns its tensor (valid buffers after finalize), or
 * NULL: duplicate or empty name, bad shape, or store already finalized. */
SEQC_API seqc_tensor *seqc_params_add(seqc_params *p, const char *name, int ndim,
				      const size_t *shape, seqc_init init, bool no_decay);

/* Allocate the two blocks (grads zeroed) and initialize every parameter
 * from rng, in the order added. */
SEQC_API int seqc_params_finalize(seqc_params *p, seqc_rng *rng);

/* The parameter with this name, or NULL. */
SEQC_API seqc_param *seqc_params_find(const seqc_params *p, const char *name);

SEQC_API void seqc_params_zero_grad(seqc_params *p);

/* Fill t->val by an init rule (also used by finalize). */
SEQC_API int seqc_init_tensor(seqc_tensor *t, seqc_init init, seqc_rng *rng);

#endif
