/* What ops need from the graph: output allocation and tape records.
 * Private to the library (not installed). */
#ifndef SEQC_SEQ_GRAPH_INTERNAL_H
#define SEQC_SEQ_GRAPH_INTERNAL_H

#include "seq/graph.h"

#define SEQC_NODE_INPUTS 4

typedef struct seqc_node seqc_node;
typedef void (*seqc_backward_fn)(seqc_node *node);

/* One tape record. Backward functions read the output's gradient and add
 * into the gradients of those inputs that have one (grad != NULL). */
struct seqc_node {
	seqc_node *prev;
	seqc_backward_fn backward;
	const char *op;     /* op name, for messages */
	seqc_tensor *out;
	seqc_tensor *in[SEQC_NODE_INPUTS];
	void *saved;        /* op-specific arena memory saved by forward */
	float f[4];         /* op-specific scalars */
	int64_t i[4];       /* op-specific integers */
};

/* True when an op with these inputs must record: gradients on and at least
 * one non-NULL input has a gradient. */
bool seqc_graph_wants_grad(const seqc_graph *g, seqc_tensor *const *in, int nin);

/* An op output in the arena; gradient buffer (zeroed) only when with_grad.
 * Values are uninitialized: the op writes every element. */
seqc_tensor *seqc_graph_output(seqc_graph *g, int ndim, const size_t *shape, bool with_grad);

/* Append a record for out (which must have a gradient). NULL on arena
 * exhaustion. */
seqc_node *seqc_graph_record(seqc_graph *g, const char *op, seqc_backward_fn backward,
			     seqc_tensor *out, seqc_tensor *const *in, int nin);

/* Open an OpenMP parallel loop only when it pays: n elements of work. */
#define SEQC_PAR_MIN 32768

#endif
