#include "seq/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int seqc_shape_numel(int ndim, const size_t *shape, size_t *numel, const char *what)
{
	if (ndim < 1 || ndim > SEQC_MAX_DIMS)
		return seqc_error(SEQC_ESHAPE, "%s: %d dimensions (expected 1 to %d)", what, ndim,
				  SEQC_MAX_DIMS);
	size_t n = 1;
	for (int i = 0; i < ndim; i++) {
		if (shape[i] == 0)
			return seqc_error(SEQC_ESHAPE, "%s: dimension %d is 0", what, i);
		if (shape[i] > SEQC_MAX_NUMEL || n > SEQC_MAX_NUMEL / shape[i])
			return seqc_error(SEQC_ENOMEM, "%s: shape has more than %zu elements", what,
					  (size_t)SEQC_MAX_NUMEL);
		n *= shape[i];
	}
	*numel = n;
	return 0;
}

seqc_tensor *seqc_tensor_create(int ndim, const size_t *shape, bool with_grad)
{
	size_t n;
	if (seqc_shape_numel(ndim, shape, &n, "tensor") < 0)
		return NULL;
	seqc_tensor *t = calloc(1, sizeof *t);
	if (!t)
		goto fail;
	t->val = calloc(n, sizeof(float));
	if (!t->val)
		goto fail;
	if (with_grad) {
		t->grad = calloc(n, sizeof(float));
		if (!t->grad)
			goto fail;
	}
	t->ndim = ndim;
	memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
	t->numel = n;
	return t;
fail:
	seqc_tensor_destroy(t);
	seqc_error(SEQC_ENOMEM, "tensor: cannot allocate %zu floats", n);
	return NULL;
}

void seqc_tensor_destroy(seqc_tensor *t)
{
	if (!t)
		return;
	free(t->val);
	free(t->grad);
	free(t);
}

size_t seqc_tensor_cols(const seqc_tensor *t)
{
	return t->shape[t->ndim - 1];
}

size_t seqc_tensor_rows(const seqc_tensor *t)
{
	return t->numel / t->shape[t->ndim - 1];
}

bool seqc_tensor_same_shape(const seqc_tensor *a, const seqc_tensor *b)
{
	if (a->ndim != b->ndim)
		return false;
	for (int i = 0; i < a->ndim; i++)
		if (a->shape[i] != b->shape[i])
			return false;
	return true;
}

char *seqc_shape_str(const seqc_tensor *t, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (int i = 0; i < t->ndim && at < len; i++) {
		int k = snprintf(buf + at, len - at, "%s%zu", i ? ", " : "[", t->shape[i]);
		if (k < 0)
			break;
		at += (size_t)k;
	}
	if (at < len)
		snprintf(buf + at, len - at, "]");
	return buf;
}

seqc_ids *seqc_ids_create(int ndim, const size_t *shape)
{
	size_t n;
	if (ndim > 2)
		return seqc_error(SEQC_ESHAPE, "ids: %d dimensions (expected 1 or 2)", ndim), NULL;
	if (seqc_shape_numel(ndim, shape, &n, "ids") < 0)
		return NULL;
	seqc_ids *ids = calloc(1, sizeof *ids);
	if (ids)
		ids->data = calloc(n, sizeof(int32_t));
	if (!ids || !ids->data) {
		seqc_ids_destroy(ids);
		seqc_error(SEQC_ENOMEM, "ids: cannot allocate %zu ids", n);
		return NULL;
	}
	ids->ndim = ndim;
	memcpy(ids->shape, shape, (size_t)ndim * sizeof *shape);
	ids->numel = n;
	return ids;
}

void seqc_ids_destroy(seqc_ids *ids)
{
	if (!ids)
		return;
	free(ids->data);
	free(ids);
}

seqc_ids seqc_ids_view1(int32_t *data, size_t n)
{
	return (seqc_ids){ .data = data, .ndim = 1, .shape = { n, 0 }, .numel = n };
}

seqc_ids seqc_ids_view2(int32_t *data, size_t b, size_t t)
{
	return (seqc_ids){ .data = data, .ndim = 2, .shape = { b, t }, .numel = b * t };
}
