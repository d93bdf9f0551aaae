#include "seq/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utf8proc.h>

/* Tensor data is copied between the file and float arrays as is, which is
 * right only where floats are stored little-endian. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "seqc's safetensors I/O supports little-endian hosts only"
#endif

#define METADATA_KEY "__metadata__"

struct seqc_st {
	char *what;              /* the input's name, for messages */
	seqc_st_tensor *tensors; /* [count], in data order */
	size_t count;
	char **meta_keys;   /* [nmeta] */
	char **meta_values; /* [nmeta] */
	size_t nmeta;
	float *block; /* every tensor's values; tensors[i].data points into it */
};

enum dtype { DT_F32, DT_F16, DT_BF16 };

static const size_t dtype_size[] = {[DT_F32] = 4, [DT_F16] = 2, [DT_BF16] = 2};

/* A tensor while reading: where its bytes are and how to decode them. */
typedef struct pending {
	seqc_st_tensor t;
	enum dtype dtype;
	uint64_t begin, end; /* byte offsets into the data section */
} pending;

static uint64_t load_le64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static void store_le64(unsigned char *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
}

static float float_from_bits(uint32_t bits)
{
	float f;
	memcpy(&f, &bits, sizeof f);
	return f;
}

/* IEEE half to float, exact. A half subnormal m * 2^-24 is a normal float,
 * computed by one exact multiplication; NaNs keep sign and payload and come
 * out quiet, as the CPU's own conversion does. */
static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t man = h & 0x3ff;
	if (exp == 0x1f)
		return float_from_bits(sign | 0x7f800000u | man << 13 | (man ? 0x00400000u : 0));
	if (exp == 0) {
		float f = (float)man * 0x1p-24f;
		return sign ? -f : f;
	}
	/* rebias the exponent from 15 to 127 */
	return float_from_bits(sign | (exp + 112) << 23 | man << 13);
}

/* bfloat16 is the top half of a float. */
static float bf16_to_float(uint16_t h)
{
	return float_from_bits((uint32_t)h << 16);
}

/* dst [n] from n little-endian elements of dtype at src. */
static void decode(float *dst, const unsigned char *src, size_t n, enum dtype dtype)
{
	if (dtype == DT_F32) {
		memcpy(dst, src, n * sizeof *dst);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
		dst[i] = dtype == DT_F16 ? half_to_float(h) : bf16_to_float(h);
	}
}

static bool valid_utf8(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t cp;
	while (*p) {
		utf8proc_ssize_t n = utf8proc_iterate(p, -1, &cp);
		if (n < 0)
			return false;
		p += n;
	}
	return true;
}

void seqc_st_destroy(seqc_st *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->count; i++)
		free(st->tensors[i].name);
	for (size_t i = 0; i < st->nmeta; i++) {
		free(st->meta_keys[i]);
		free(st->meta_values[i]);
	}
	free(st->tensors);
	free(st->meta_keys);
	free(st->meta_values);
	free(st->block);
	free(st->what);
	free(st);
}

/* ---- reading ---- */

/* A JSON integer in [0, INT64_MAX] into *out; false otherwise. */
static bool get_count(const json_t *j, uint64_t *out)
{
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return false;
	*out = (uint64_t)json_integer_value(j);
	return true;
}

static int parse_dtype(const char *what, const char *name, const json_t *entry, enum dtype *dtype)
{
	const json_t *j = json_object_get(entry, "dtype");
	if (!j)
		return seqc_error(SEQC_EFORMAT, "%s: tensor '%s' has no dtype", what, name);
	if (!json_is_string(j))
		return seqc_error(SEQC_EFORMAT, "%s: tensor '%s': dtype is not a string", what, name);
	const char *s = json_string_value(j);
	if (strcmp(s, "F32") == 0)
		*dtype = DT_F32;
	else if (strcmp(s, "F16") == 0)
		*dtype = DT_F16;
	else if (strcmp(s, "BF16") == 0)
		*dtype = DT_BF16;
	else
		return seqc_error(SEQC_EUNSUPPORTED,
				  "%s: tensor '%s': dtype '%s' is not supported (F32, F16 and BF16 are)",
				  what, name, s);
	return 0;
}

/* Fills t->ndim, t->shape, t->numel and *bytes = numel * elemsize. */
static int parse_shape(const char *what, const char *name, const json_t *entry, size_t elemsize,
		       seqc_st_tensor *t, uint64_t *bytes)
{
	const json_t *j = json_object_get(entry, "shape");
	if (!j)
		return seqc_error(SEQC_EFORMAT, "%s: tensor '%s' has no shape", what, name);
	if (!json_is_array(j))
		return seqc_error(SEQC_EFORMAT, "%s: tensor '%s': shape is not an array", what, name);
	size_t ndim = json_array_size(j);
	if (ndim > SEQC_MAX_DIMS)
		return seqc_error(SEQC_EUNSUPPORTED,
				  "%s: tensor '%s' has %zu dimensions (at most %d are supported)", what,
				  name, ndim, SEQC_MAX_DIMS);
	uint64_t n = elemsize;
	for (size_t i = 0; i < ndim; i++) {
		uint64_t d;
		if (!get_count(json_array_get(j, i), &d))
			return seqc_error(SEQC_EFORMAT,
					  "%s: tensor '%s': shape[%zu] is not a non-negative integer",
					  what, name, i);
		if (d == 0)
			return seqc_error(SEQC_EUNSUPPORTED,
					  "%s: tensor '%s': shape[%zu] is 0 (empty tensors are not supported)",
					  what, name, i);
		if (d > UINT64_MAX / n || d > SIZE_MAX / n)
			return seqc_error(SEQC_EFORMAT, "%s: tensor '%s': the size of shape overflows",
					  what, name);
		n *= d;
		t->shape[i] = (size_t)d;
	}
	if (ndim == 0) {
		/* a scalar becomes [1]: seqc tensors have at least one dimension */
		ndim = 1;
		t->shape[0] = 1;
	}
	t->ndim = (int)ndim;
	t->numel = (size_t)(n / elemsize);
	*bytes = n;
	return 0;
}

static int parse_offsets(const char *what, const char *name, const json_t *entry, uint64_t bytes,
			 uint64_t data_len, pending *pe)
{
	const json_t *j = json_object_get(entry, "data_offsets");
	if (!j)
		return seqc_error(SEQC_EFORMAT, "%s: tensor '%s' has no data_offsets", what, name);
	if (!json_is_array(j) || json_array_size(j) != 2)
		return seqc_error(SEQC_EFORMAT, "%s: tensor '%s': data_offsets is not a pair [begin, end]",
				  what, name);
	if (!get_count(json_array_get(j, 0), &pe->begin) || !get_count(json_array_get(j, 1), &pe->end))
		return seqc_error(SEQC_EFORMAT,
				  "%s: tensor '%s': data_offsets are not non-negative integers", what,
				  name);
	if (pe->begin > pe->end)
		return seqc_error(SEQC_EFORMAT,
				  "%s: tensor '%s': data_offsets begin %" PRIu64 " is after end %" PRIu64,
				  what, name, pe->begin, pe->end);
	if (pe->end > data_len)
		return seqc_error(SEQC_EFORMAT,
				  "%s: tensor '%s': data_offsets end %" PRIu64
				  " is beyond the data section (%" PRIu64 " bytes)",
				  what, name, pe->end, data_len);
	if (pe->end - pe->begin != bytes)
		return seqc_error(SEQC_EFORMAT,
				  "%s: tensor '%s': data_offsets span %" PRIu64
				  " bytes but its shape and dtype need %" PRIu64,
				  what, name, pe->end - pe->begin, bytes);
	return 0;
}

static int parse_entry(const char *what, const char *name, const json_t *entry, uint64_t data_len,
		       pending *pe)
{
	const char *key;
	const json_t *v;
	uint64_t bytes = 0;
	int rc;
	if (!name[0])
		return seqc_error(SEQC_EFORMAT, "%s: a tensor has an empty name", what);
	if (!json_is_object(entry))
		return seqc_error(SEQC_EFORMAT, "%s: the entry of tensor '%s' is not an object", what,
				  name);
	json_object_foreach((json_t *)entry, key, v) {
		if (strcmp(key, "dtype") != 0 && strcmp(key, "shape") != 0 &&
		    strcmp(key, "data_offsets") != 0)
			return seqc_error(SEQC_EFORMAT, "%s: tensor '%s': unexpected key '%s'", what,
					  name, key);
	}
	if ((rc = parse_dtype(what, name, entry, &pe->dtype)) < 0)
		return rc;
	if ((rc = parse_shape(what, name, entry, dtype_size[pe->dtype], &pe->t, &bytes)) < 0)
		return rc;
	return parse_offsets(what, name, entry, bytes, data_len, pe);
}

static int parse_metadata(const char *what, const json_t *meta, seqc_st *st)
{
	const char *key;
	const json_t *v;
	if (!json_is_object(meta))
		return seqc_error(SEQC_EFORMAT, "%s: " METADATA_KEY " is not an object", what);
	size_t n = json_object_size(meta);
	st->meta_keys = calloc(n ? n : 1, sizeof *st->meta_keys);
	st->meta_values = calloc(n ? n : 1, sizeof *st->meta_values);
	if (!st->meta_keys || !st->meta_values)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu metadata entries", what, n);
	json_object_foreach((json_t *)meta, key, v) {
		if (!json_is_string(v))
			return seqc_error(SEQC_EFORMAT, "%s: " METADATA_KEY " value of '%s' is not a string",
					  what, key);
		st->meta_keys[st->nmeta] = strdup(key);
		st->meta_values[st->nmeta] = strdup(json_string_value(v));
		st->nmeta++;
		if (!st->meta_keys[st->nmeta - 1] || !st->meta_values[st->nmeta - 1])
			return seqc_error(SEQC_ENOMEM, "%s: cannot copy metadata '%s'", what, key);
	}
	return 0;
}

static int by_begin(const void *a, const void *b)
{
	uint64_t x = ((const pending *)a)->begin, y = ((const pending *)b)->begin;
	return (x > y) - (x < y);
}

/* The tensors must tile [0, data_len): sorted by begin, each starts where
 * the previous ends. */
static int check_tiling(const char *what, const pending *pe, size_t count, uint64_t data_len)
{
	uint64_t pos = 0;
	for (size_t i = 0; i < count; i++) {
		if (pe[i].begin < pos)
			return seqc_error(SEQC_EFORMAT, "%s: the data of tensors '%s' and '%s' overlap",
					  what, pe[i - 1].t.name, pe[i].t.name);
		if (pe[i].begin > pos)
			return seqc_error(SEQC_EFORMAT,
					  "%s: %" PRIu64 " bytes before tensor '%s' belong to no tensor "
					  "(a hole in the data section)",
					  what, pe[i].begin - pos, pe[i].t.name);
		pos = pe[i].end;
	}
	if (pos != data_len)
		return seqc_error(SEQC_EFORMAT,
				  "%s: the last %" PRIu64 " bytes of the data section belong to no tensor",
				  what, data_len - pos);
	return 0;
}

/* Parse and check the header hdr [n] for a data section of data_len bytes:
 * fills st's metadata and *pending_out [st->count], sorted by begin. */
static int parse_header(const char *what, const char *hdr, size_t n, uint64_t data_len, seqc_st *st,
			pending **pending_out)
{
	json_error_t jerr;
	const char *key;
	json_t *v;
	int rc = 0;
	if (n == 0 || hdr[0] != '{')
		return seqc_error(SEQC_EFORMAT, "%s: the header does not begin with '{'", what);
	json_t *root = json_loadb(hdr, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return seqc_error(SEQC_EFORMAT, "%s: the header is not valid JSON (at byte %d): %s",
				  what, jerr.position, jerr.text);
	/* '{' first and a successful parse make root an object */
	size_t count = json_object_size(root);
	const json_t *meta = json_object_get(root, METADATA_KEY);
	if (meta) {
		count--;
		if ((rc = parse_metadata(what, meta, st)) < 0)
			goto done;
	}
	pending *pe = calloc(count ? count : 1, sizeof *pe);
	if (!pe) {
		rc = seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu tensors", what, count);
		goto done;
	}
	*pending_out = pe;
	json_object_foreach(root, key, v) {
		if (strcmp(key, METADATA_KEY) == 0)
			continue;
		if ((rc = parse_entry(what, key, v, data_len, &pe[st->count])) < 0)
			goto done;
		if (!(pe[st->count].t.name = strdup(key))) {
			rc = seqc_error(SEQC_ENOMEM, "%s: cannot copy the name '%s'", what, key);
			goto done;
		}
		st->count++;
	}
	qsort(pe, st->count, sizeof *pe, by_begin);
	rc = check_tiling(what, pe, st->count, data_len);
done:
	json_decref(root);
	return rc;
}

/* Fill dst [pe->t.numel] with the tensor's bytes read from f, which is at
 * the tensor's first byte. */
static int read_tensor(const char *what, FILE *f, const pending *pe, float *dst)
{
	size_t bytes = (size_t)(pe->end - pe->begin);
	if (pe->dtype == DT_F32) {
		if (fread(dst, 1, bytes, f) == bytes)
			return 0;
	} else {
		/* half-width elements go through a small buffer, converted as they come */
		unsigned char chunk[16384];
		size_t done = 0;
		while (done < bytes) {
			size_t want = bytes - done < sizeof chunk ? bytes - done : sizeof chunk;
			if (fread(chunk, 1, want, f) != want)
				break;
			decode(dst + done / 2, chunk, want / 2, pe->dtype);
			done += want;
		}
		if (done == bytes)
			return 0;
	}
	if (ferror(f))
		return seqc_error(SEQC_EIO, "%s: cannot read the data of tensor '%s': %s", what,
				  pe->t.name, strerror(errno));
	return seqc_error(SEQC_EFORMAT, "%s: the file ends inside the data of tensor '%s' "
			  "(did it change while being read?)", what, pe->t.name);
}

/* Build *out from a header and a data section that is either in memory
 * (mem [data_len]) or next in f. */
/* The file's tensors from its header; their values too unless
 * header_only (then every data pointer is NULL). */
static int load(const char *what, const char *hdr, size_t n, uint64_t data_len,
		const unsigned char *mem, FILE *f, bool header_only, seqc_st **out)
{
	pending *pe = NULL;
	int rc;
	seqc_st *st = calloc(1, sizeof *st);
	if (!st || !(st->what = strdup(what))) {
		rc = seqc_error(SEQC_ENOMEM, "%s: cannot allocate", what);
		goto fail;
	}
	if ((rc = parse_header(what, hdr, n, data_len, st, &pe)) < 0)
		goto fail;
	/* every tensor has at least 2 bytes per element within data_len, so
	 * this sum cannot overflow */
	size_t total = 0;
	for (size_t i = 0; i < st->count && !header_only; i++)
		total += pe[i].t.numel;
	st->block = malloc((total ? total : 1) * sizeof(float));
	st->tensors = malloc((st->count ? st->count : 1) * sizeof *st->tensors);
	if (!st->block || !st->tensors) {
		rc = seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu floats for %zu tensors", what, total,
			   st->count);
		goto fail;
	}
	size_t off = 0;
	for (size_t i = 0; i < st->count && !header_only; i++) {
		float *dst = st->block + off;
		if (mem)
			decode(dst, mem + pe[i].begin, pe[i].t.numel, pe[i].dtype);
		else if ((rc = read_tensor(what, f, &pe[i], dst)) < 0)
			goto fail;
		pe[i].t.data = dst;
		off += pe[i].t.numel;
	}
	/* the names move from pe to st */
	for (size_t i = 0; i < st->count; i++)
		st->tensors[i] = pe[i].t;
	free(pe);
	*out = st;
	return 0;
fail:
	if (pe) {
		for (size_t i = 0; i < st->count; i++)
			free(pe[i].t.name);
		st->count = 0; /* the names were in pe, not yet in st->tensors */
		free(pe);
	}
	seqc_st_destroy(st);
	return rc;
}

/* Checks the 8-byte length field against the input's size. */
static int check_header_len(const char *what, uint64_t n, uint64_t size)
{
	if (n > SEQC_ST_MAX_HEADER)
		return seqc_error(SEQC_ENOMEM,
				  "%s: header length %" PRIu64 " exceeds the limit of %zu bytes", what, n,
				  SEQC_ST_MAX_HEADER);
	if (n > size - 8)
		return seqc_error(SEQC_EFORMAT,
				  "%s: header length %" PRIu64 " is larger than the %" PRIu64
				  " bytes that follow it",
				  what, n, size - 8);
	return 0;
}

int seqc_st_read_mem(const void *buf, size_t len, const char *what, seqc_st **out)
{
	const unsigned char *b = buf;
	int rc;
	*out = NULL;
	if (!what)
		what = "buffer";
	if (!buf && len)
		return seqc_error(SEQC_EINVAL, "%s: NULL buffer of %zu bytes", what, len);
	if (len < 8)
		return seqc_error(SEQC_EFORMAT,
				  "%s: %zu bytes is too short for a safetensors file (at least 8)",
				  what, len);
	uint64_t n = load_le64(b);
	if ((rc = check_header_len(what, n, len)) < 0)
		return rc;
	return load(what, (const char *)b + 8, (size_t)n, len - 8 - n, b + 8 + n, NULL, false, out);
}

static int read_file(const char *path, bool header_only, seqc_st **out)
{
	unsigned char len8[8];
	char *hdr = NULL;
	struct stat sb;
	int rc;
	*out = NULL;
	if (!path)
		return seqc_error(SEQC_EINVAL, "safetensors: NULL path");
	FILE *f = fopen(path, "rb");
	if (!f)
		return seqc_error(SEQC_EIO, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fileno(f), &sb) != 0) {
		rc = seqc_error(SEQC_EIO, "%s: cannot stat: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = seqc_error(SEQC_EIO, "%s: not a regular file", path);
		goto done;
	}
	uint64_t size = (uint64_t)sb.st_size;
	if (size < 8) {
		rc = seqc_error(SEQC_EFORMAT,
				"%s: %" PRIu64 " bytes is too short for a safetensors file (at least 8)",
				path, size);
		goto done;
	}
	if (fread(len8, 1, 8, f) != 8) {
		rc = seqc_error(SEQC_EIO, "%s: cannot read the header length: %s", path,
				ferror(f) ? strerror(errno) : "the file shrank");
		goto done;
	}
	uint64_t n = load_le64(len8);
	if ((rc = check_header_len(path, n, size)) < 0)
		goto done;
	if (!(hdr = malloc(n ? (size_t)n : 1))) {
		rc = seqc_error(SEQC_ENOMEM, "%s: cannot allocate a header of %" PRIu64 " bytes", path,
				n);
		goto done;
	}
	if (fread(hdr, 1, (size_t)n, f) != n) {
		rc = seqc_error(SEQC_EIO, "%s: cannot read the header: %s", path,
				ferror(f) ? strerror(errno) : "the file shrank");
		goto done;
	}
	rc = load(path, hdr, (size_t)n, size - 8 - n, NULL, f, header_only, out);
done:
	free(hdr);
	fclose(f);
	return rc;
}

int seqc_st_read(const char *path, seqc_st **out)
{
	return read_file(path, false, out);
}

int seqc_st_read_header(const char *path, seqc_st **out)
{
	return read_file(path, true, out);
}

size_t seqc_st_count(const seqc_st *st)
{
	return st->count;
}

const seqc_st_tensor *seqc_st_tensor_at(const seqc_st *st, size_t i)
{
	return i < st->count ? &st->tensors[i] : NULL;
}

const seqc_st_tensor *seqc_st_find(const seqc_st *st, const char *name)
{
	for (size_t i = 0; i < st->count; i++)
		if (strcmp(st->tensors[i].name, name) == 0)
			return &st->tensors[i];
	return NULL;
}

const char *seqc_st_meta(const seqc_st *st, const char *key)
{
	for (size_t i = 0; i < st->nmeta; i++)
		if (strcmp(st->meta_keys[i], key) == 0)
			return st->meta_values[i];
	return NULL;
}

size_t seqc_st_meta_count(const seqc_st *st)
{
	return st->nmeta;
}

int seqc_st_meta_at(const seqc_st *st, size_t i, const char **key, const char **value)
{
	if (i >= st->nmeta)
		return seqc_error(SEQC_ERANGE, "%s: metadata index %zu out of range (%zu entries)",
				  st->what, i, st->nmeta);
	*key = st->meta_keys[i];
	*value = st->meta_values[i];
	return 0;
}

/* ---- writing ---- */

static int check_tensor(const char *path, const seqc_st_tensor *t, size_t i)
{
	if (!t->name || !t->name[0])
		return seqc_error(SEQC_EINVAL, "%s: tensor %zu has an empty name", path, i);
	if (strcmp(t->name, METADATA_KEY) == 0)
		return seqc_error(SEQC_EINVAL, "%s: tensor %zu is named '" METADATA_KEY
				  "', which the format reserves", path, i);
	if (!valid_utf8(t->name))
		return seqc_error(SEQC_EUTF8, "%s: the name of tensor %zu is not valid UTF-8", path, i);
	if (t->ndim < 1 || t->ndim > SEQC_MAX_DIMS)
		return seqc_error(SEQC_EINVAL, "%s: tensor '%s' has %d dimensions (expected 1 to %d)",
				  path, t->name, t->ndim, SEQC_MAX_DIMS);
	size_t n = 1;
	for (int d = 0; d < t->ndim; d++) {
		if (t->shape[d] == 0 || t->shape[d] > SEQC_MAX_NUMEL / n)
			return seqc_error(SEQC_EINVAL, "%s: tensor '%s': shape[%d] = %zu is out of range",
					  path, t->name, d, t->shape[d]);
		n *= t->shape[d];
	}
	if (n != t->numel)
		return seqc_error(SEQC_EINVAL, "%s: tensor '%s': numel %zu is not the product of its shape (%zu)",
				  path, t->name, t->numel, n);
	if (!t->data)
		return seqc_error(SEQC_EINVAL, "%s: tensor '%s' has no data", path, t->name);
	return 0;
}

/* Adds {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}. */
static int add_entry(json_t *root, const seqc_st_tensor *t, size_t begin, size_t end)
{
	json_t *shape = json_array();
	json_t *offsets = json_pack("[II]", (json_int_t)begin, (json_int_t)end);
	json_t *entry = json_object();
	int bad = !shape || !offsets || !entry;
	for (int d = 0; !bad && d < t->ndim; d++)
		bad = json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
	if (!bad) {
		bad = json_object_set_new(entry, "dtype", json_string("F32")) ||
		      json_object_set(entry, "shape", shape) ||
		      json_object_set(entry, "data_offsets", offsets) ||
		      json_object_set(root, t->name, entry);
	}
	json_decref(shape);
	json_decref(offsets);
	json_decref(entry);
	return bad ? -1 : 0;
}

/* The header for these tensors and metadata, padded with spaces to a
 * multiple of 8 bytes so that the data section starts aligned; *len its
 * length. */
static int build_header(const char *path, const seqc_st_tensor *tensors, size_t count,
			const char *const *meta_keys, const char *const *meta_values, size_t nmeta,
			char **out, size_t *len)
{
	int rc = SEQC_ENOMEM;
	json_t *root = json_object();
	json_t *meta = nmeta ? json_object() : NULL;
	char *text = NULL;
	if (!root || (nmeta && !meta))
		goto nomem;
	for (size_t i = 0; i < nmeta; i++) {
		if (!meta_keys[i] || !meta_values[i]) {
			rc = seqc_error(SEQC_EINVAL, "%s: metadata entry %zu is NULL", path, i);
			goto done;
		}
		if (!valid_utf8(meta_keys[i]) || !valid_utf8(meta_values[i])) {
			rc = seqc_error(SEQC_EUTF8, "%s: metadata entry %zu is not valid UTF-8", path, i);
			goto done;
		}
		if (json_object_get(meta, meta_keys[i])) {
			rc = seqc_error(SEQC_EINVAL, "%s: duplicate metadata key '%s'", path,
					meta_keys[i]);
			goto done;
		}
		if (json_object_set_new(meta, meta_keys[i], json_string(meta_values[i])))
			goto nomem;
	}
	if (meta && json_object_set(root, METADATA_KEY, meta))
		goto nomem;
	size_t off = 0;
	for (size_t i = 0; i < count; i++) {
		const seqc_st_tensor *t = &tensors[i];
		if ((rc = check_tensor(path, t, i)) < 0)
			goto done;
		if (json_object_get(root, t->name)) {
			rc = seqc_error(SEQC_EINVAL, "%s: duplicate tensor name '%s'", path, t->name);
			goto done;
		}
		size_t bytes = t->numel * sizeof(float);
		if (off > (size_t)INT64_MAX - bytes) {
			rc = seqc_error(SEQC_ENOMEM, "%s: the tensors add up to more than 2^63 bytes", path);
			goto done;
		}
		if (add_entry(root, t, off, off + bytes) < 0)
			goto nomem;
		off += bytes;
	}
	/* objects keep insertion order: metadata first, then tensors in data order */
	if (!(text = json_dumps(root, JSON_COMPACT)))
		goto nomem;
	size_t n = strlen(text), padded = (n + 7) & ~(size_t)7;
	if (!(*out = malloc(padded)))
		goto nomem;
	memcpy(*out, text, n);
	memset(*out + n, ' ', padded - n);
	*len = padded;
	rc = 0;
	goto done;
nomem:
	rc = seqc_error(SEQC_ENOMEM, "%s: cannot build the header", path);
done:
	free(text);
	json_decref(meta);
	json_decref(root);
	return rc;
}

/* Sync the directory holding path, so that a rename in it is durable.
 * Returns 0 or an errno value. File systems that cannot sync a directory
 * say EINVAL, which is not an error here. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return ENOMEM;
	int err = 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		err = errno;
	else if (fsync(fd) != 0 && errno != EINVAL)
		err = errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

/* Distinguishes the temporary files of concurrent writes in one process. */
static atomic_uint tmp_serial;

int seqc_st_write(const char *path, const seqc_st_tensor *tensors, size_t count,
		  const char *const *meta_keys, const char *const *meta_values, size_t nmeta)
{
	char *header = NULL, *tmp = NULL;
	size_t hlen = 0;
	FILE *f = NULL;
	int fd = -1, err = 0, rc;
	const char *step = NULL;
	if (!path || !path[0])
		return seqc_error(SEQC_EINVAL, "safetensors: empty path");
	if ((count && !tensors) || (nmeta && (!meta_keys || !meta_values)))
		return seqc_error(SEQC_EINVAL, "%s: NULL tensor or metadata array", path);
	if ((rc = build_header(path, tensors, count, meta_keys, meta_values, nmeta, &header, &hlen)) < 0)
		return rc;
	size_t tlen = strlen(path) + 48;
	if (!(tmp = malloc(tlen))) {
		rc = seqc_error(SEQC_ENOMEM, "%s: cannot allocate", path);
		goto done;
	}
	snprintf(tmp, tlen, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&tmp_serial, 1));
	/* O_EXCL: never write through a file (or link) someone else made */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) < 0) {
		err = errno;
		rc = seqc_error(SEQC_EIO, "%s: cannot create the temporary file %s: %s", path, tmp,
				strerror(err));
		goto done;
	}
	if (!(f = fdopen(fd, "wb"))) {
		err = errno;
		close(fd);
		step = "open";
		goto fail;
	}
	unsigned char len8[8];
	store_le64(len8, hlen);
	step = "write";
	if (fwrite(len8, 1, 8, f) != 8 || fwrite(header, 1, hlen, f) != hlen) {
		err = errno;
		goto fail;
	}
	for (size_t i = 0; i < count; i++) {
		if (fwrite(tensors[i].data, sizeof(float), tensors[i].numel, f) != tensors[i].numel) {
			err = errno;
			goto fail;
		}
	}
	if (fflush(f) != 0) {
		err = errno;
		goto fail;
	}
	step = "sync";
	if (fsync(fileno(f)) != 0) {
		err = errno;
		goto fail;
	}
	step = "close";
	rc = fclose(f);
	f = NULL;
	if (rc != 0) {
		err = errno;
		goto fail;
	}
	step = "rename";
	if (rename(tmp, path) != 0) {
		err = errno;
		goto fail;
	}
	if ((err = sync_dir(path)) != 0) {
		rc = seqc_error(SEQC_EIO, "%s: written, but syncing its directory failed: %s "
				"(the new file may not survive a crash)", path, strerror(err));
		goto done;
	}
	rc = 0;
	goto done;
fail:
	if (f)
		fclose(f);
	unlink(tmp);
	rc = seqc_error(SEQC_EIO, "%s: cannot %s the temporary file %s: %s (the old file, if any, "
			"is unchanged)", path, step, tmp, strerror(err ? err : EIO));
done:
	free(tmp);
	free(header);
	return rc;
}

/* ---- the parameter store ---- */

int seqc_st_write_params(const char *path, const seqc_params *p, const char *const *meta_keys,
			 const char *const *meta_values, size_t nmeta)
{
	if (!p->finalized)
		return seqc_error(SEQC_ESTATE, "%s: the parameter store is not finalized", path);
	seqc_st_tensor *views = calloc(p->count ? p->count : 1, sizeof *views);
	if (!views)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu views", path, p->count);
	for (size_t i = 0; i < p->count; i++) {
		const seqc_param *q = p->items[i];
		views[i].name = q->name;
		views[i].ndim = q->t.ndim;
		memcpy(views[i].shape, q->t.shape, sizeof views[i].shape);
		views[i].numel = q->t.numel;
		views[i].data = q->t.val;
	}
	int rc = seqc_st_write(path, views, p->count, meta_keys, meta_values, nmeta);
	free(views);
	return rc;
}

static char *st_shape_str(const seqc_st_tensor *t, char *buf, size_t len)
{
	seqc_tensor v = {.ndim = t->ndim, .numel = t->numel};
	memcpy(v.shape, t->shape, sizeof v.shape);
	return seqc_shape_str(&v, buf, len);
}

int seqc_st_load_params(seqc_params *p, const seqc_st *st)
{
	char a[96], b[96];
	if (!p->finalized)
		return seqc_error(SEQC_ESTATE, "%s: the parameter store is not finalized", st->what);
	/* check everything before copying anything */
	for (size_t i = 0; i < p->count; i++) {
		const seqc_param *q = p->items[i];
		const seqc_st_tensor *t = seqc_st_find(st, q->name);
		if (!t)
			return seqc_error(SEQC_EFORMAT, "%s: no tensor for parameter '%s' %s", st->what,
					  q->name, seqc_shape_str(&q->t, a, sizeof a));
		seqc_tensor v = {.ndim = t->ndim};
		memcpy(v.shape, t->shape, sizeof v.shape);
		if (!seqc_tensor_same_shape(&v, &q->t))
			return seqc_error(SEQC_ESHAPE,
					  "%s: parameter '%s' has shape %s in the file but %s in the model",
					  st->what, q->name, st_shape_str(t, a, sizeof a),
					  seqc_shape_str(&q->t, b, sizeof b));
	}
	for (size_t i = 0; i < st->count; i++)
		if (!seqc_params_find(p, st->tensors[i].name))
			return seqc_error(SEQC_EFORMAT, "%s: tensor '%s' %s is not a parameter of the model",
					  st->what, st->tensors[i].name,
					  st_shape_str(&st->tensors[i], a, sizeof a));
	for (size_t i = 0; i < p->count; i++) {
		seqc_param *q = p->items[i];
		memcpy(q->t.val, seqc_st_find(st, q->name)->data, q->t.numel * sizeof(float));
	}
	return 0;
}
