/* Safetensors reading: the bytes of a file through seqc_st_read_mem, and
 * through a path (seqc_st_read and seqc_st_read_header), whose readers
 * share the header parser but read the data differently. */
#include <string.h>

#include "fuzz.h"

/* where every value read goes, so that the reads are not optimized away */
static volatile float sink;

static void check_loaded(const seqc_st *st, bool header_only)
{
	for (size_t i = 0; i < seqc_st_count(st); i++) {
		const seqc_st_tensor *t = seqc_st_tensor_at(st, i);
		FUZZ_CHECK(t && t->name && t->name[0] && t->ndim >= 1 && t->ndim <= SEQC_MAX_DIMS);
		size_t numel = 1;
		for (int d = 0; d < t->ndim; d++)
			numel *= t->shape[d];
		FUZZ_CHECK(numel == t->numel);
		FUZZ_CHECK(header_only ? !t->data : t->data != NULL);
		FUZZ_CHECK(seqc_st_find(st, t->name) == t);
		/* read every value: ASan catches a buffer shorter than numel */
		for (size_t k = 0; t->data && k < t->numel; k++)
			sink = t->data[k];
	}
	FUZZ_CHECK(!seqc_st_tensor_at(st, seqc_st_count(st)));
	for (size_t i = 0; i < seqc_st_meta_count(st); i++) {
		const char *k, *v;
		FUZZ_CHECK(seqc_st_meta_at(st, i, &k, &v) == 0);
		FUZZ_CHECK(seqc_st_meta(st, k) == v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	seqc_st *mem = NULL, *file = NULL, *hdr = NULL;
	int rc = seqc_st_read_mem(data, size, "fuzz", &mem);
	if (rc < 0) {
		fuzz_check_failed();
		FUZZ_CHECK(!mem);
	} else {
		check_loaded(mem, false);
	}
	const char *path = fuzz_file(data, size);
	int rc_file = seqc_st_read(path, &file);
	int rc_hdr = seqc_st_read_header(path, &hdr);
	/* the three readers agree on what is valid */
	FUZZ_CHECK(rc == rc_file);
	FUZZ_CHECK((rc_hdr < 0) == (rc < 0) || rc_hdr == 0);
	if (file) {
		check_loaded(file, false);
		FUZZ_CHECK(seqc_st_count(file) == seqc_st_count(mem));
		for (size_t i = 0; i < seqc_st_count(file); i++) {
			const seqc_st_tensor *a = seqc_st_tensor_at(mem, i), *b = seqc_st_tensor_at(file, i);
			FUZZ_CHECK(!strcmp(a->name, b->name) && a->numel == b->numel);
			FUZZ_CHECK(!memcmp(a->data, b->data, a->numel * sizeof(float)));
		}
	}
	if (hdr)
		check_loaded(hdr, true);
	seqc_st_destroy(mem);
	seqc_st_destroy(file);
	seqc_st_destroy(hdr);
	return 0;
}
