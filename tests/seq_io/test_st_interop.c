/* Reading files written the way Python's safetensors writes them: the
 * fixtures in tests/golden/safetensors, made by
 * tests/golden/gen_safetensors.py (F32 with metadata, F16, BF16, a scalar,
 * data in non-alphabetical order). */
#include "common.h"

#include <stdint.h>

static const char *fixture(const char *name)
{
	static char path[4096];
	snprintf(path, sizeof path, "%s/%s", SEQC_ST_FIXTURES, name);
	return path;
}

static seqc_st *open_fixture(const char *name)
{
	return st_read_ok(fixture(name));
}

static void check_shape(const seqc_st_tensor *t, int ndim, size_t s0, size_t s1, size_t s2,
			size_t s3)
{
	size_t want[4] = {s0, s1, s2, s3}, numel = 1;
	ck_assert_int_eq(t->ndim, ndim);
	for (int d = 0; d < ndim; d++) {
		ck_assert_msg(t->shape[d] == want[d], "%s: shape[%d] = %zu, expected %zu", t->name, d,
			      t->shape[d], want[d]);
		numel *= want[d];
	}
	ck_assert_uint_eq(t->numel, numel);
}

/* Tensor k of a formula file holds st_value(k, i), exactly. */
static void check_formula(const seqc_st_tensor *t, size_t k)
{
	for (size_t i = 0; i < t->numel; i++)
		ck_assert_msg(t->data[i] == st_value(k, i), "%s[%zu] = %g, expected %g", t->name, i,
			      (double)t->data[i], (double)st_value(k, i));
}

START_TEST(f32_with_metadata)
{
	seqc_st *st = open_fixture("f32_meta.safetensors");
	static const char *names[] = {"conv.w", "embed.weight", "h.0.ln.bias", "h.0.mlp.w"};
	ck_assert_uint_eq(seqc_st_count(st), 4);
	for (size_t k = 0; k < 4; k++) {
		const seqc_st_tensor *t = seqc_st_tensor_at(st, k);
		ck_assert_str_eq(t->name, names[k]);
		ck_assert_ptr_eq(seqc_st_find(st, names[k]), t);
		check_formula(t, k);
	}
	ck_assert_ptr_null(seqc_st_tensor_at(st, 4));
	check_shape(seqc_st_find(st, "conv.w"), 4, 2, 3, 2, 2);
	check_shape(seqc_st_find(st, "embed.weight"), 2, 5, 4, 0, 0);
	check_shape(seqc_st_find(st, "h.0.ln.bias"), 1, 4, 0, 0, 0);
	check_shape(seqc_st_find(st, "h.0.mlp.w"), 3, 2, 3, 4, 0);
	ck_assert_ptr_null(seqc_st_find(st, "absent"));

	/* Python's json.dumps escapes the é inside config (ASCII) while the
	 * header itself carries note's characters raw (UTF-8) */
	static const char *keys[] = {"format", "config", "note"};
	static const char *values[] = {
		"pt",
		"{\"n_layer\": 2, \"name\": \"caf\\u00e9 \\\"q\\\"\"}",
		"na\xc3\xafve \xe2\x98\x83 \xe2\x80\x94 \"quoted\" \\ back\nslash",
	};
	ck_assert_uint_eq(seqc_st_meta_count(st), 3);
	for (size_t i = 0; i < 3; i++) {
		const char *k, *v;
		ck_assert_int_eq(seqc_st_meta_at(st, i, &k, &v), 0);
		ck_assert_str_eq(k, keys[i]);
		ck_assert_str_eq(v, values[i]);
		ck_assert_str_eq(seqc_st_meta(st, keys[i]), values[i]);
	}
	const char *k, *v;
	ck_assert_int_eq(seqc_st_meta_at(st, 3, &k, &v), SEQC_ERANGE);
	ck_assert_ptr_null(seqc_st_meta(st, "absent"));
	seqc_st_destroy(st);
}
END_TEST

/* "h" holds 16-bit patterns of every kind; "ref" is torch's conversion of
 * them to float32, which ours must match bit for bit. */
static void check_half(const char *file)
{
	seqc_st *st = open_fixture(file);
	ck_assert_uint_eq(seqc_st_count(st), 2);
	/* the reference writer puts wider elements first */
	ck_assert_str_eq(seqc_st_tensor_at(st, 0)->name, "ref");
	ck_assert_str_eq(seqc_st_tensor_at(st, 1)->name, "h");
	const seqc_st_tensor *h = seqc_st_find(st, "h"), *ref = seqc_st_find(st, "ref");
	ck_assert_uint_eq(h->numel, ref->numel);
	ck_assert_uint_gt(h->numel, 300);
	int bad = 0;
	for (size_t i = 0; i < h->numel; i++) {
		uint32_t a, b;
		memcpy(&a, &h->data[i], 4);
		memcpy(&b, &ref->data[i], 4);
		if (a != b && bad++ < 5)
			fprintf(stderr, "%s: element %zu: got 0x%08x, torch 0x%08x\n", file, i, a, b);
	}
	ck_assert_msg(bad == 0, "%s: %d elements differ from torch", file, bad);
	seqc_st_destroy(st);
}

START_TEST(f16_matches_torch)
{
	check_half("f16.safetensors");
}
END_TEST

START_TEST(bf16_matches_torch)
{
	check_half("bf16.safetensors");
}
END_TEST

START_TEST(scalar_is_shape_1)
{
	seqc_st *st = open_fixture("scalar.safetensors");
	const seqc_st_tensor *s = seqc_st_find(st, "s"), *v = seqc_st_find(st, "v");
	check_shape(s, 1, 1, 0, 0, 0);
	ck_assert(s->data[0] == 3.25f);
	check_shape(v, 1, 3, 0, 0, 0);
	ck_assert(v->data[0] == 1.0f && v->data[1] == 2.0f && v->data[2] == 3.0f);
	ck_assert_uint_eq(seqc_st_meta_count(st), 0);

	/* and it loads into a store whose parameter has shape [1] */
	seqc_params *p = seqc_params_create();
	seqc_init zeros = {SEQC_INIT_ZEROS, 0};
	ck_assert_ptr_nonnull(seqc_params_add(p, "v", 1, (size_t[]){3}, zeros, false));
	seqc_tensor *ps = seqc_params_add(p, "s", 1, (size_t[]){1}, zeros, false);
	ck_assert_ptr_nonnull(ps);
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	ck_assert_msg(seqc_st_load_params(p, st) == 0, "%s", seqc_errmsg());
	ck_assert(ps->val[0] == 3.25f);
	seqc_params_destroy(p);
	seqc_st_destroy(st);
}
END_TEST

START_TEST(data_order_not_key_order)
{
	seqc_st *st = open_fixture("order.safetensors");
	static const char *names[] = {"zeta", "alpha", "mid"};
	ck_assert_uint_eq(seqc_st_count(st), 3);
	for (size_t k = 0; k < 3; k++) {
		const seqc_st_tensor *t = seqc_st_tensor_at(st, k);
		ck_assert_str_eq(t->name, names[k]);
		check_formula(t, k);
	}
	check_shape(seqc_st_find(st, "mid"), 2, 2, 2, 0, 0);
	ck_assert_str_eq(seqc_st_meta(st, "k"), "v");
	seqc_st_destroy(st);
}
END_TEST

/* Reading a file and reading its bytes from memory give the same result. */
static void same_as_mem(const char *path)
{
	size_t len;
	unsigned char *buf = st_slurp(path, &len);
	ck_assert_msg(buf != NULL, "cannot read %s", path);
	seqc_st *a = st_read_ok(path);
	seqc_st *b = NULL;
	ck_assert_msg(seqc_st_read_mem(buf, len, path, &b) == 0, "%s", seqc_errmsg());
	free(buf);
	ck_assert_uint_eq(seqc_st_count(a), seqc_st_count(b));
	for (size_t i = 0; i < seqc_st_count(a); i++) {
		const seqc_st_tensor *x = seqc_st_tensor_at(a, i), *y = seqc_st_tensor_at(b, i);
		ck_assert_str_eq(x->name, y->name);
		ck_assert_int_eq(x->ndim, y->ndim);
		ck_assert_mem_eq(x->shape, y->shape, sizeof x->shape[0] * (size_t)x->ndim);
		ck_assert_uint_eq(x->numel, y->numel);
		ck_assert_mem_eq(x->data, y->data, x->numel * sizeof(float));
	}
	ck_assert_uint_eq(seqc_st_meta_count(a), seqc_st_meta_count(b));
	seqc_st_destroy(a);
	seqc_st_destroy(b);
}

START_TEST(file_and_memory_agree)
{
	static const char *files[] = {"f32_meta.safetensors", "f16.safetensors", "bf16.safetensors",
				      "scalar.safetensors", "order.safetensors"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		same_as_mem(fixture(files[i]));
}
END_TEST

/* A half tensor larger than the reader's conversion buffer, so that the
 * file path converts it in several pieces. */
START_TEST(large_half_tensor)
{
	enum { N = 3 * 16384 + 5 };
	static const char fmt[] =
		"{\"x\":{\"dtype\":\"F16\",\"shape\":[%d],\"data_offsets\":[0,%d]}}";
	char header[128];
	int hl = snprintf(header, sizeof header, fmt, N, 2 * N);
	size_t len = 8 + (size_t)hl + 2 * (size_t)N;
	unsigned char *buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
	memcpy(buf + 8, header, (size_t)hl);
	for (size_t i = 0; i < N; i++) {
		/* finite halves only: 1.0 + i / 1024 wrapped over exponents 15..22 */
		uint16_t h = (uint16_t)((15 + (i / 1024) % 8) << 10 | (i % 1024));
		buf[8 + (size_t)hl + 2 * i] = (unsigned char)h;
		buf[8 + (size_t)hl + 2 * i + 1] = (unsigned char)(h >> 8);
	}
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/half.safetensors", dir);
	st_spit(path, buf, len);
	free(buf);
	same_as_mem(path);
	seqc_st *st = st_read_ok(path);
	const seqc_st_tensor *x = seqc_st_find(st, "x");
	for (size_t i = 0; i < N; i++) {
		float want = (1.0f + (float)(i % 1024) / 1024.0f) * (float)(1u << ((i / 1024) % 8));
		ck_assert_msg(x->data[i] == want, "x[%zu] = %g, expected %g", i, (double)x->data[i],
			      (double)want);
	}
	seqc_st_destroy(st);
	st_rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("st_interop");
	TCase *tc = tcase_create("fixtures");
	tcase_add_test(tc, f32_with_metadata);
	tcase_add_test(tc, f16_matches_torch);
	tcase_add_test(tc, bf16_matches_torch);
	tcase_add_test(tc, scalar_is_shape_1);
	tcase_add_test(tc, data_order_not_key_order);
	tcase_add_test(tc, file_and_memory_agree);
	tcase_add_test(tc, large_half_tensor);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
