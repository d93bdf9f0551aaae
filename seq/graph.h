/* The graph: an arena allocator and an autograd tape.
 *
 * Define-by-run and eager: each op (seq/ops.h) computes its output at once
 * into arena memory and, when gradients are on and an input has a gradient,
 * appends a record to the tape. seqc_backward walks the records in reverse
 * and accumulates (+=) into every gradient buffer it reaches, parameters
 * included; gradients of tensors made in the graph start at zero.
 *
 * seqc_graph_reset rewinds the arena: every tensor made in the graph since
 * the last reset is gone. The arena grows by chunks while a step runs and is
 * merged into one chunk at reset, so from the second step of the same shapes
 * on, a step takes nothing from the heap (seqc_graph_heap_allocs stays put).
 *
 * A graph is used by one thread at a time. */
#ifndef SEQC_SEQ_GRAPH_H
#define SEQC_SEQ_GRAPH_H

#include "seq/tensor.h"

typedef struct seqc_graph seqc_graph;

/* initial_bytes: first arena chunk (0 picks 1 MiB). NULL on failure. */
SEQC_API seqc_graph *seqc_graph_create(size_t initial_bytes);
SEQC_API void seqc_graph_destroy(seqc_graph *g); /* accepts NULL */

/* Forget every tensor and record made since the last reset. */
SEQC_API void seqc_graph_reset(seqc_graph *g);

/* Gradient mode (default on). Off: ops record nothing and outputs get no
 * gradient buffer, as under torch.no_grad(). Returns the previous mode. */
SEQC_API bool seqc_graph_set_grad(seqc_graph *g, bool enabled);
SEQC_API bool seqc_graph_grad_enabled(const seqc_graph *g);

/* Training mode (default on): dropout is active only in training mode.
 * Returns the previous mode. */
SEQC_API bool seqc_graph_set_training(seqc_graph *g, bool training);
SEQC_API bool seqc_graph_training(const seqc_graph *g);

/* Bytes of arena in use since the last reset, the most ever in use, and how
 * many times the arena took memory from the heap over the graph's life. */
SEQC_API size_t seqc_graph_used(const seqc_graph *g);
SEQC_API size_t seqc_graph_high_water(const seqc_graph *g);
SEQC_API size_t seqc_graph_heap_allocs(const seqc_graph *g);

/* Raw arena memory, 64-byte aligned, uninitialized; NULL (SEQC_ENOMEM) on
 * failure. Valid until the next reset. */
SEQC_API void *seqc_graph_alloc(seqc_graph *g, size_t bytes);

/* A new tensor in the arena with zeroed values and, when with_grad, a zeroed
 * gradient. A leaf: no record. NULL on failure. */
SEQC_API seqc_tensor *seqc_graph_tensor(seqc_graph *g, int ndim, const size_t *shape,
					bool with_grad);

/* A leaf tensor holding a copy of values (numel of the shape), no gradient. */
SEQC_API seqc_tensor *seqc_graph_input(seqc_graph *g, int ndim, const size_t *shape,
				       const float *values);

/* The same values as x without a gradient and without a link to the tape:
 * nothing flows back through it. For the hidden state carried from one
 * truncated-BPTT chunk to the next within a graph; across a reset, copy the
 * values out (the arena is rewound). NULL when x is NULL. */
SEQC_API seqc_tensor *seqc_detach(seqc_graph *g, const seqc_tensor *x);

/* Backpropagate from a scalar loss (numel 1): its gradient is set to 1 and
 * every record is walked in reverse. SEQC_EINVAL when loss is not a scalar
 * or has no gradient (gradients off, or nothing it depends on wants one).
 * Calling it again on the same tape (before a reset) adds the new loss's
 * gradient once more into the leaves (parameters and tensors no op made),
 * as PyTorch with retain_graph: the gradients of op outputs restart from 0. */
SEQC_API int seqc_backward(seqc_graph *g, seqc_tensor *loss);

/* Backpropagate from any tensor y with the upstream gradient dy [y->numel]
 * (added into y's gradient first). */
SEQC_API int seqc_backward_from(seqc_graph *g, seqc_tensor *y, const float *dy);

#endif
