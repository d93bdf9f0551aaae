/* Safetensors checkpoints: reading, atomic writing, and the glue to the
 * parameter store.
 *
 * The format: an 8-byte little-endian unsigned header length N; N bytes of
 * UTF-8 JSON, an object mapping each tensor name to
 * {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} plus an
 * optional "__metadata__" object of string values, padded at the end with
 * spaces; then the data section, little-endian, where the offsets are
 * relative to its start and the tensors tile it without holes or overlaps.
 * Python's safetensors and PyTorch read what we write and we read theirs.
 *
 * Reading trusts nothing: every length, offset, shape, dtype and name is
 * checked before use, and a malformed input gives SEQC_EFORMAT (a size too
 * large to be real, SEQC_ENOMEM; a failing read, SEQC_EIO) with a message
 * naming the input, the tensor and the problem. Choices where the format
 * allows more than a seqc tensor holds:
 *   - dtypes: F32 is read as is; F16 and BF16 are converted to float on
 *     load (exactly: every half and bfloat16 value is a float); any other
 *     dtype is SEQC_EUNSUPPORTED naming the tensor and the dtype.
 *   - a scalar (shape []) is read as shape [1], ndim 1, as seqc tensors
 *     have no 0-d form; it is written back as [1].
 *   - more than SEQC_MAX_DIMS (4) dimensions, or a dimension of size 0
 *     (an empty tensor), is SEQC_EUNSUPPORTED: seqc tensors have neither.
 *   - an empty tensor name, or a key other than dtype, shape and
 *     data_offsets in a tensor's entry, is SEQC_EFORMAT: we could not write
 *     the first back, and would silently misread a file that needs the
 *     second.
 *   - bytes after the last tensor's data are SEQC_EFORMAT, as in the
 *     reference implementation.
 * The host must be little-endian (checked at compile time). */
#ifndef SEQC_SEQ_SAFETENSORS_H
#define SEQC_SEQ_SAFETENSORS_H

#include <stddef.h>

#include "seq/error.h"
#include "seq/params.h"
#include "seq/tensor.h"

/* Largest header we accept, in bytes, as the reference implementation. */
#define SEQC_ST_MAX_HEADER ((size_t)100000000)

/* One tensor of a file: values always float, row-major. */
typedef struct seqc_st_tensor {
	char *name;
	int ndim; /* 1..SEQC_MAX_DIMS */
	size_t shape[SEQC_MAX_DIMS];
	size_t numel; /* product of shape[0..ndim-1] */
	float *data;  /* [numel] */
} seqc_st_tensor;

/* A loaded file: its tensors in the order of their data in the file (that
 * is, by data_offsets, whatever the order of the JSON keys) and its
 * metadata key/value strings in the order of the JSON header. */
typedef struct seqc_st seqc_st;

/* Read a whole file into *out (free with seqc_st_destroy). Returns 0, or a
 * negative code with *out = NULL: SEQC_EIO (cannot open or read),
 * SEQC_EFORMAT (malformed), SEQC_EUNSUPPORTED (valid but not readable as
 * seqc tensors: dtype, rank, empty tensor), SEQC_ENOMEM (absurd sizes or
 * out of memory). The codes come back through the return value, rather than
 * as a NULL result, so that a caller can tell a bad file from a missing one. */
SEQC_API int seqc_st_read(const char *path, seqc_st **out);

/* The header alone: names, shapes and metadata, checked as by seqc_st_read,
 * without reading the data (every tensor's data is NULL). For callers that
 * want the metadata of a large file (its tokenizer, a training state). */
SEQC_API int seqc_st_read_header(const char *path, seqc_st **out);

/* The same from memory: buf [len] bytes holding a whole file. `what` names
 * the input in messages (NULL: "buffer"). The result does not refer to buf. */
SEQC_API int seqc_st_read_mem(const void *buf, size_t len, const char *what, seqc_st **out);

SEQC_API void seqc_st_destroy(seqc_st *st); /* accepts NULL */

SEQC_API size_t seqc_st_count(const seqc_st *st);

/* The i-th tensor (in data order), or NULL when i >= count. */
SEQC_API const seqc_st_tensor *seqc_st_tensor_at(const seqc_st *st, size_t i);

/* The tensor with this name, or NULL. */
SEQC_API const seqc_st_tensor *seqc_st_find(const seqc_st *st, const char *name);

/* The metadata value of key, or NULL when absent. */
SEQC_API const char *seqc_st_meta(const seqc_st *st, const char *key);

/* Number of metadata entries, and the i-th one (for listing them); at
 * returns SEQC_ERANGE when i >= count. */
SEQC_API size_t seqc_st_meta_count(const seqc_st *st);
SEQC_API int seqc_st_meta_at(const seqc_st *st, size_t i, const char **key, const char **value);

/* Write count tensors (F32, in the given order) and nmeta metadata entries
 * (meta_keys[i] -> meta_values[i], UTF-8) to path, atomically: the bytes go
 * to a new temporary file in the same directory, which is flushed, synced,
 * closed and renamed over path, and the directory is synced. On any failure
 * the temporary file is removed and an existing file at path is left as it
 * was. Returns 0, SEQC_EINVAL (empty, duplicate or reserved
 * ("__metadata__") tensor name, duplicate metadata key, bad shape or numel,
 * NULL data), SEQC_EUTF8 (a name, key or value is not UTF-8), SEQC_ENOMEM,
 * or SEQC_EIO (with the path and the system's reason). */
SEQC_API int seqc_st_write(const char *path, const seqc_st_tensor *tensors, size_t count,
			   const char *const *meta_keys, const char *const *meta_values, size_t nmeta);

/* Write every parameter of a finalized store by name (values only, in the
 * order added), as seqc_st_write. SEQC_ESTATE when not finalized. */
SEQC_API int seqc_st_write_params(const char *path, const seqc_params *p,
				  const char *const *meta_keys, const char *const *meta_values,
				  size_t nmeta);

/* Copy a file's tensors into a finalized store, which must match exactly:
 * SEQC_EFORMAT naming the first parameter the file lacks or the first
 * tensor the store lacks, SEQC_ESHAPE naming the first parameter whose shape
 * differs (with both shapes), SEQC_ESTATE when not finalized. Nothing is
 * copied unless everything matches. */
SEQC_API int seqc_st_load_params(seqc_params *p, const seqc_st *st);

#endif
