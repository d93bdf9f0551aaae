/* Tensors: dense row-major fp32 arrays of up to 4 dimensions with a value
 * buffer and an optional gradient buffer of the same size; and id arrays of
 * int32 token ids.
 *
 * A tensor does not own its buffers unless it was made by
 * seqc_tensor_create. Tensors made by ops live in a graph's arena (see
 * seq/graph.h) and die when the graph is reset; parameters are views into a
 * parameter store (see seq/params.h). */
#ifndef SEQC_SEQ_TENSOR_H
#define SEQC_SEQ_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq/error.h"

#define SEQC_MAX_DIMS 4

typedef struct seqc_tensor {
	float *val;   /* [numel] values, row-major */
	float *grad;  /* [numel] gradient, or NULL when none is wanted */
	int ndim;     /* 1..SEQC_MAX_DIMS (a scalar is ndim 1, shape {1}) */
	size_t shape[SEQC_MAX_DIMS];
	size_t numel; /* product of the shape */
} seqc_tensor;

/* Token ids, batch-first: [N] or [B, T]. Does not own data unless made by
 * seqc_ids_create. */
typedef struct seqc_ids {
	int32_t *data;
	int ndim; /* 1 or 2 */
	size_t shape[2];
	size_t numel;
} seqc_ids;

/* Product of shape[0..ndim-1] into *numel; SEQC_ENOMEM if it overflows or
 * exceeds SEQC_MAX_NUMEL, SEQC_ESHAPE if ndim is out of 1..4 or a dimension
 * is 0. `what` names the tensor in the message. */
#define SEQC_MAX_NUMEL ((size_t)1 << 40)
SEQC_API int seqc_shape_numel(int ndim, const size_t *shape, size_t *numel, const char *what);

/* A heap tensor owning its buffers; values zeroed; grad allocated (zeroed)
 * when with_grad. NULL on failure. Free with seqc_tensor_destroy. */
SEQC_API seqc_tensor *seqc_tensor_create(int ndim, const size_t *shape, bool with_grad);
SEQC_API void seqc_tensor_destroy(seqc_tensor *t); /* accepts NULL */

/* Size of the last dimension and the product of the others: a tensor seen
 * as a [rows, cols] matrix. */
SEQC_API size_t seqc_tensor_cols(const seqc_tensor *t);
SEQC_API size_t seqc_tensor_rows(const seqc_tensor *t);

/* True when both tensors have the same ndim and shape. */
SEQC_API bool seqc_tensor_same_shape(const seqc_tensor *a, const seqc_tensor *b);

/* Writes "[2, 3, 4]" into buf (always NUL-terminated); returns buf. */
SEQC_API char *seqc_shape_str(const seqc_tensor *t, char *buf, size_t len);

/* Heap id array owning its data, zeroed. NULL on failure. */
SEQC_API seqc_ids *seqc_ids_create(int ndim, const size_t *shape);
SEQC_API void seqc_ids_destroy(seqc_ids *ids); /* accepts NULL */

/* A view of caller memory as ids [n] or [b, t]. */
SEQC_API seqc_ids seqc_ids_view1(int32_t *data, size_t n);
SEQC_API seqc_ids seqc_ids_view2(int32_t *data, size_t b, size_t t);

#endif
