#include "seq/graph_internal.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64
#define ARENA_DEFAULT (1u << 20)

/* A chunk of arena memory; chunks form a list, newest first. */
typedef struct chunk {
	struct chunk *prev;
	size_t cap;
	size_t used;
	alignas(ARENA_ALIGN) unsigned char data[];
} chunk;

struct seqc_graph {
	chunk *head;        /* current chunk */
	size_t used;        /* bytes handed out since reset, over all chunks */
	size_t high_water;  /* largest `used` ever, plus chunk tail waste */
	size_t heap_allocs; /* chunks taken from the heap, ever */
	size_t min_chunk;
	seqc_node *tail;    /* last record */
	bool backward_done; /* a backward has walked the tape since the reset */
	bool grad_enabled;
	bool training;
};

static chunk *chunk_new(seqc_graph *g, size_t cap)
{
	chunk *c = aligned_alloc(ARENA_ALIGN, sizeof(chunk) + cap);
	if (!c)
		return NULL;
	c->prev = NULL;
	c->cap = cap;
	c->used = 0;
	g->heap_allocs++;
	return c;
}

seqc_graph *seqc_graph_create(size_t initial_bytes)
{
	seqc_graph *g = calloc(1, sizeof *g);
	if (!g) {
		seqc_error(SEQC_ENOMEM, "graph: cannot allocate");
		return NULL;
	}
	g->min_chunk = initial_bytes ? initial_bytes : ARENA_DEFAULT;
	g->min_chunk = (g->min_chunk + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	g->head = chunk_new(g, g->min_chunk);
	if (!g->head) {
		free(g);
		seqc_error(SEQC_ENOMEM, "graph: cannot allocate an arena of %zu bytes", initial_bytes);
		return NULL;
	}
	g->grad_enabled = true;
	g->training = true;
	return g;
}

static void free_chunks(chunk *c)
{
	while (c) {
		chunk *prev = c->prev;
		free(c);
		c = prev;
	}
}

void seqc_graph_destroy(seqc_graph *g)
{
	if (!g)
		return;
	free_chunks(g->head);
	free(g);
}

void seqc_graph_reset(seqc_graph *g)
{
	/* Several chunks: the step outgrew the arena. Replace them by one chunk
	 * as large as the most ever used, so the next step fits in it. */
	if (g->head->prev) {
		size_t cap = g->high_water > g->min_chunk ? g->high_water : g->min_chunk;
		chunk *c = chunk_new(g, cap);
		if (c) {
			free_chunks(g->head);
			g->head = c;
		} else {
			/* Keep the old chunks: still correct, only less compact. */
			for (chunk *k = g->head; k; k = k->prev)
				k->used = 0;
		}
	}
	g->head->used = 0;
	g->used = 0;
	g->tail = NULL;
	g->backward_done = false;
}

bool seqc_graph_set_grad(seqc_graph *g, bool enabled)
{
	bool old = g->grad_enabled;
	g->grad_enabled = enabled;
	return old;
}

bool seqc_graph_grad_enabled(const seqc_graph *g)
{
	return g->grad_enabled;
}

bool seqc_graph_set_training(seqc_graph *g, bool training)
{
	bool old = g->training;
	g->training = training;
	return old;
}

bool seqc_graph_training(const seqc_graph *g)
{
	return g->training;
}

size_t seqc_graph_used(const seqc_graph *g)
{
	return g->used;
}

size_t seqc_graph_high_water(const seqc_graph *g)
{
	return g->high_water;
}

size_t seqc_graph_heap_allocs(const seqc_graph *g)
{
	return g->heap_allocs;
}

void *seqc_graph_alloc(seqc_graph *g, size_t bytes)
{
	if (bytes > ((size_t)1 << 46)) {
		seqc_error(SEQC_ENOMEM, "graph: request of %zu bytes is absurd", bytes);
		return NULL;
	}
	size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	chunk *c = g->head;
	if (c->cap - c->used < need) {
		/* The unused tail of the full chunk counts as used: a single
		 * merged chunk of high_water bytes then always suffices. */
		g->used += c->cap - c->used;
		size_t cap = need > g->min_chunk ? need : g->min_chunk;
		if (cap < c->cap)
			cap = c->cap;
		chunk *n = chunk_new(g, cap);
		if (!n) {
			seqc_error(SEQC_ENOMEM, "graph: cannot grow the arena by %zu bytes", cap);
			return NULL;
		}
		n->prev = c;
		g->head = c = n;
	}
	void *p = c->data + c->used;
	c->used += need;
	g->used += need;
	if (g->used > g->high_water)
		g->high_water = g->used;
	return p;
}

seqc_tensor *seqc_graph_output(seqc_graph *g, int ndim, const size_t *shape, bool with_grad)
{
	size_t n;
	if (seqc_shape_numel(ndim, shape, &n, "graph tensor") < 0)
		return NULL;
	seqc_tensor *t = seqc_graph_alloc(g, sizeof *t);
	float *val = t ? seqc_graph_alloc(g, n * sizeof(float)) : NULL;
	float *grad = val && with_grad ? seqc_graph_alloc(g, n * sizeof(float)) : NULL;
	if (!val || (with_grad && !grad))
		return NULL;
	if (grad)
		memset(grad, 0, n * sizeof(float));
	memset(t, 0, sizeof *t);
	t->val = val;
	t->grad = grad;
	t->ndim = ndim;
	memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
	t->numel = n;
	return t;
}

seqc_tensor *seqc_graph_tensor(seqc_graph *g, int ndim, const size_t *shape, bool with_grad)
{
	seqc_tensor *t = seqc_graph_output(g, ndim, shape, with_grad);
	if (t)
		memset(t->val, 0, t->numel * sizeof(float));
	return t;
}

seqc_tensor *seqc_graph_input(seqc_graph *g, int ndim, const size_t *shape, const float *values)
{
	seqc_tensor *t = seqc_graph_output(g, ndim, shape, false);
	if (t)
		memcpy(t->val, values, t->numel * sizeof(float));
	return t;
}

seqc_tensor *seqc_detach(seqc_graph *g, const seqc_tensor *x)
{
	if (!x)
		return NULL;
	seqc_tensor *t = seqc_graph_alloc(g, sizeof *t);
	if (!t)
		return NULL;
	*t = *x;
	t->grad = NULL;
	return t;
}

bool seqc_graph_wants_grad(const seqc_graph *g, seqc_tensor *const *in, int nin)
{
	if (!g->grad_enabled)
		return false;
	for (int i = 0; i < nin; i++)
		if (in[i] && in[i]->grad)
			return true;
	return false;
}

seqc_node *seqc_graph_record(seqc_graph *g, const char *op, seqc_backward_fn backward,
			     seqc_tensor *out, seqc_tensor *const *in, int nin)
{
	seqc_node *n = seqc_graph_alloc(g, sizeof *n);
	if (!n)
		return NULL;
	memset(n, 0, sizeof *n);
	n->prev = g->tail;
	n->backward = backward;
	n->op = op;
	n->out = out;
	for (int i = 0; i < nin; i++)
		n->in[i] = in[i];
	g->tail = n;
	return n;
}

int seqc_backward_from(seqc_graph *g, seqc_tensor *y, const float *dy)
{
	if (!y)
		return seqc_error(SEQC_EINVAL, "backward: the output tensor is NULL");
	if (!y->grad)
		return seqc_error(SEQC_EINVAL,
				  "backward: the output has no gradient (gradients off, or no "
				  "input wants one)");
	/* A second backward over the same tape (two losses, or truncated BPTT
	 * chunks in one graph) must not push the first one's intermediate
	 * gradients down again: they start from zero, as in PyTorch; leaves
	 * (parameters, graph tensors that no op made) keep accumulating. */
	if (g->backward_done)
		for (seqc_node *n = g->tail; n; n = n->prev)
			memset(n->out->grad, 0, n->out->numel * sizeof(float));
	g->backward_done = true;
	for (size_t i = 0; i < y->numel; i++)
		y->grad[i] += dy[i];
	for (seqc_node *n = g->tail; n; n = n->prev)
		n->backward(n);
	return 0;
}

int seqc_backward(seqc_graph *g, seqc_tensor *loss)
{
	if (loss && loss->numel != 1)
		return seqc_error(SEQC_EINVAL, "backward: the loss has %zu elements (expected a scalar)",
				  loss->numel);
	const float one = 1.0f;
	return seqc_backward_from(g, loss, &one);
}
