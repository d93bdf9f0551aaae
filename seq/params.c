#include "seq/params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq/memory.h"

seqc_params *seqc_params_create(void)
{
	seqc_params *p = calloc(1, sizeof *p);
	if (!p)
		seqc_error(SEQC_ENOMEM, "params: cannot allocate");
	return p;
}

void seqc_params_destroy(seqc_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->count; i++) {
		free(p->items[i]->name);
		free(p->items[i]);
	}
	free(p->items);
	free(p->values);
	free(p->grads);
	free(p);
}

seqc_param *seqc_params_find(const seqc_params *p, const char *name)
{
	for (size_t i = 0; i < p->count; i++)
		if (strcmp(p->items[i]->name, name) == 0)
			return p->items[i];
	return NULL;
}

seqc_tensor *seqc_params_add(seqc_params *p, const char *name, int ndim, const size_t *shape,
			     seqc_init init, bool no_decay)
{
	size_t n;
	if (!name || !name[0])
		return seqc_error(SEQC_EINVAL, "params: empty parameter name"), NULL;
	if (p->finalized)
		return seqc_error(SEQC_ESTATE, "params: cannot add '%s' after finalize", name), NULL;
	if (seqc_params_find(p, name))
		return seqc_error(SEQC_EINVAL, "params: duplicate parameter name '%s'", name), NULL;
	if (seqc_shape_numel(ndim, shape, &n, name) < 0)
		return NULL;
	if (p->numel > SEQC_MAX_NUMEL - n)
		return seqc_error(SEQC_ENOMEM, "params: more than %zu parameters",
				  (size_t)SEQC_MAX_NUMEL), NULL;
	if (p->count == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		seqc_param **items = realloc(p->items, cap * sizeof *items);
		if (!items)
			return seqc_error(SEQC_ENOMEM, "params: cannot grow the table"), NULL;
		p->items = items;
		p->cap = cap;
	}
	seqc_param *q = calloc(1, sizeof *q);
	char *copy = strdup(name);
	if (!q || !copy) {
		free(q);
		free(copy);
		return seqc_error(SEQC_ENOMEM, "params: cannot allocate '%s'", name), NULL;
	}
	q->name = copy;
	q->t.ndim = ndim;
	memcpy(q->t.shape, shape, (size_t)ndim * sizeof *shape);
	q->t.numel = n;
	q->offset = p->numel;
	q->init = init;
	q->no_decay = no_decay;
	p->items[p->count++] = q;
	p->numel += n;
	return &q->t;
}

int seqc_params_finalize(seqc_params *p, seqc_rng *rng)
{
	if (p->finalized)
		return seqc_error(SEQC_ESTATE, "params: already finalized");
	size_t n = p->numel ? p->numel : 1;
	/* refused here, before the allocation, rather than allocated lazily
	 * and killed by the kernel halfway through initialization */
	char what[64];
	snprintf(what, sizeof what, "params: %zu parameters (values and gradients)", p->numel);
	int rc = seqc_check_memory(seqc_mul_sat(2 * sizeof(float), n), what);
	if (rc < 0)
		return rc;
	p->values = malloc(n * sizeof(float));
	p->grads = calloc(n, sizeof(float));
	if (!p->values || !p->grads)
		return seqc_error(SEQC_ENOMEM, "params: cannot allocate %zu parameters (%zu MiB)",
				  p->numel, 2 * p->numel * sizeof(float) >> 20);
	for (size_t i = 0; i < p->count; i++) {
		seqc_param *q = p->items[i];
		q->t.val = p->values + q->offset;
		q->t.grad = p->grads + q->offset;
		if ((rc = seqc_init_tensor(&q->t, q->init, rng)) < 0)
			return rc;
	}
	p->finalized = true;
	return 0;
}

void seqc_params_zero_grad(seqc_params *p)
{
	if (p->grads)
		memset(p->grads, 0, p->numel * sizeof(float));
}

static void fans(const seqc_tensor *t, double *fan_in, double *fan_out)
{
	if (t->ndim == 1) {
		*fan_in = *fan_out = (double)t->shape[0];
		return;
	}
	double field = 1;
	for (int i = 2; i < t->ndim; i++)
		field *= (double)t->shape[i];
	*fan_in = (double)t->shape[1] * field;
	*fan_out = (double)t->shape[0] * field;
}

/* Orthogonal init as torch.nn.init.orthogonal_: flatten to [rows, cols],
 * draw a normal matrix, take Q of its QR decomposition with R's diagonal made
 * positive (modified Gram-Schmidt gives exactly that), transposed when
 * rows < cols so the longer side holds orthonormal vectors. */
static int init_orthogonal(seqc_tensor *t, float gain, seqc_rng *rng)
{
	size_t rows = t->shape[0];
	size_t cols = t->numel / rows;
	size_t m = rows > cols ? rows : cols; /* vector length */
	size_t k = rows > cols ? cols : rows; /* number of vectors */
	double *q = malloc(m * k * sizeof *q); /* k vectors of length m */
	if (!q)
		return seqc_error(SEQC_ENOMEM, "orthogonal init: cannot allocate %zu doubles", m * k);
	for (size_t i = 0; i < m * k; i++)
		q[i] = seqc_rng_normal(rng);
	for (size_t j = 0; j < k; j++) {
		double *v = q + j * m;
		for (size_t p = 0; p < j; p++) {
			const double *u = q + p * m;
			double dot = 0;
			for (size_t i = 0; i < m; i++)
				dot += u[i] * v[i];
			for (size_t i = 0; i < m; i++)
				v[i] -= dot * u[i];
		}
		double norm = 0;
		for (size_t i = 0; i < m; i++)
			norm += v[i] * v[i];
		norm = sqrt(norm);
		for (size_t i = 0; i < m; i++)
			v[i] = norm > 0 ? v[i] / norm : 0;
	}
	/* rows >= cols: column j of the weight is vector j. Otherwise row j. */
	for (size_t r = 0; r < rows; r++)
		for (size_t c = 0; c < cols; c++)
			t->val[r * cols + c] =
				gain * (float)(rows >= cols ? q[c * m + r] : q[r * m + c]);
	free(q);
	return 0;
}

int seqc_init_tensor(seqc_tensor *t, seqc_init init, seqc_rng *rng)
{
	double fan_in, fan_out, bound, std;
	fans(t, &fan_in, &fan_out);
	switch (init.kind) {
	case SEQC_INIT_ZEROS:
	case SEQC_INIT_ONES:
	case SEQC_INIT_CONST: {
		float v = init.kind == SEQC_INIT_ZEROS ? 0.0f : init.kind == SEQC_INIT_ONES ? 1.0f : init.a;
		for (size_t i = 0; i < t->numel; i++)
			t->val[i] = v;
		return 0;
	}
	case SEQC_INIT_UNIFORM:
	case SEQC_INIT_XAVIER_UNIFORM:
	case SEQC_INIT_KAIMING_UNIFORM:
		bound = init.kind == SEQC_INIT_UNIFORM	      ? init.a
			: init.kind == SEQC_INIT_XAVIER_UNIFORM ? init.a * sqrt(6.0 / (fan_in + fan_out))
								: init.a * sqrt(3.0 / fan_in);
		for (size_t i = 0; i < t->numel; i++)
			t->val[i] = (float)(bound * (2.0 * seqc_rng_uniform(rng) - 1.0));
		return 0;
	case SEQC_INIT_NORMAL:
	case SEQC_INIT_XAVIER_NORMAL:
	case SEQC_INIT_KAIMING_NORMAL:
		std = init.kind == SEQC_INIT_NORMAL	      ? init.a
		      : init.kind == SEQC_INIT_XAVIER_NORMAL ? init.a * sqrt(2.0 / (fan_in + fan_out))
							     : init.a / sqrt(fan_in);
		for (size_t i = 0; i < t->numel; i++)
			t->val[i] = (float)(std * seqc_rng_normal(rng));
		return 0;
	case SEQC_INIT_ORTHOGONAL:
		if (t->ndim < 2)
			return seqc_error(SEQC_ESHAPE, "orthogonal init needs at least 2 dimensions");
		return init_orthogonal(t, init.a, rng);
	}
	return seqc_error(SEQC_EINVAL, "unknown init kind %d", (int)init.kind);
}
