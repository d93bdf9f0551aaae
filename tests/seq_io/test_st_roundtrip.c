/* Writing: round trips through a file, the file's layout, argument checks,
 * atomic replacement when the write fails, and the parameter store glue. */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>

static const seqc_init normal_init = {SEQC_INIT_NORMAL, 1.0f};

/* A finalized store with the given parameters, initialized from seed. */
static seqc_params *make_store(size_t n, const char *const *names, const int *ndims,
			       const size_t (*shapes)[4], seqc_init init, uint64_t seed)
{
	seqc_params *p = seqc_params_create();
	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(seqc_params_add(p, names[i], ndims[i], shapes[i], init, false) != NULL,
			      "%s", seqc_errmsg());
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	return p;
}

static const char *const store_names[] = {"a.bias", "b.weight", "c.w", "d.conv"};
static const int store_ndims[] = {1, 2, 3, 4};
static const size_t store_shapes[][4] = {{5}, {3, 4}, {2, 3, 4}, {2, 2, 3, 2}};

/* Metadata with JSON inside a string, quotes, backslashes, control
 * characters and non-ASCII text. */
static const char *const meta_keys[] = {"config", "tokenizer", "empty", "cl\xc3\xa9"};
static const char *const meta_values[] = {
	"{\"d_model\": 8, \"name\": \"Zo\xc3\xab \\\"the\\\" model\", \"path\": \"a\\\\b\"}",
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xe2\x9c\x93 \xe2\x80\x94 na\xc3\xafve\ttab\nline",
	"",
	"valeur \xf0\x9f\x98\x80",
};

START_TEST(params_round_trip)
{
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	seqc_params *p = make_store(4, store_names, store_ndims, store_shapes, normal_init, 42);
	ck_assert_msg(seqc_st_write_params(path, p, meta_keys, meta_values, 4) == 0, "%s",
		      seqc_errmsg());

	/* the layout: header length, '{', space padding to 8, data at the end */
	size_t len;
	unsigned char *bytes = st_slurp(path, &len);
	ck_assert_ptr_nonnull(bytes);
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | bytes[i];
	ck_assert_uint_eq(n % 8, 0);
	ck_assert_uint_eq(len, 8 + n + p->numel * sizeof(float));
	ck_assert_int_eq(bytes[8], '{');
	size_t end = 8 + n;
	while (bytes[end - 1] == ' ')
		end--;
	ck_assert_int_eq(bytes[end - 1], '}');
	ck_assert_uint_lt(8 + n - end, 8);
	/* the data section is the store's block, byte for byte */
	ck_assert_mem_eq(bytes + 8 + n, p->values, p->numel * sizeof(float));
	free(bytes);

	seqc_st *st = st_read_ok(path);
	ck_assert_uint_eq(seqc_st_count(st), 4);
	for (size_t i = 0; i < 4; i++) {
		const seqc_st_tensor *t = seqc_st_tensor_at(st, i);
		const seqc_param *q = p->items[i];
		ck_assert_str_eq(t->name, q->name);
		ck_assert_int_eq(t->ndim, q->t.ndim);
		ck_assert_mem_eq(t->shape, q->t.shape, (size_t)t->ndim * sizeof t->shape[0]);
		ck_assert_uint_eq(t->numel, q->t.numel);
		ck_assert_mem_eq(t->data, q->t.val, t->numel * sizeof(float));
	}
	ck_assert_uint_eq(seqc_st_meta_count(st), 4);
	for (size_t i = 0; i < 4; i++) {
		const char *k, *v;
		ck_assert_int_eq(seqc_st_meta_at(st, i, &k, &v), 0);
		ck_assert_str_eq(k, meta_keys[i]);
		ck_assert_str_eq(v, meta_values[i]);
	}

	/* the header alone: the same names, shapes and metadata, no data */
	seqc_st *hd;
	ck_assert_msg(seqc_st_read_header(path, &hd) == 0, "%s", seqc_errmsg());
	ck_assert_uint_eq(seqc_st_count(hd), 4);
	for (size_t i = 0; i < 4; i++) {
		const seqc_st_tensor *t = seqc_st_tensor_at(hd, i);
		ck_assert_str_eq(t->name, p->items[i]->name);
		ck_assert_uint_eq(t->numel, p->items[i]->t.numel);
		ck_assert_ptr_null(t->data);
	}
	ck_assert_str_eq(seqc_st_meta(hd, "tokenizer"), meta_values[1]);
	seqc_st_destroy(hd);

	/* and back into a fresh store of the same layout */
	seqc_init zeros = {SEQC_INIT_ZEROS, 0};
	seqc_params *q = make_store(4, store_names, store_ndims, store_shapes, zeros, 7);
	ck_assert_msg(seqc_st_load_params(q, st) == 0, "%s", seqc_errmsg());
	ck_assert_mem_eq(q->values, p->values, p->numel * sizeof(float));

	ck_assert_int_eq(st_count_files(dir), 1);
	seqc_params_destroy(q);
	seqc_params_destroy(p);
	seqc_st_destroy(st);
	st_rmdir(dir);
}
END_TEST

/* Tensors k = 0..3 of shapes 1-D to 4-D holding st_value(k, i). */
enum { FORMULA_COUNT = 4 };
static float formula_data[FORMULA_COUNT][16];
static seqc_st_tensor formula_tensors[FORMULA_COUNT] = {
	{"w1", 1, {3}, 3, formula_data[0]},
	{"w2", 2, {2, 2}, 4, formula_data[1]},
	{"w3", 3, {2, 1, 3}, 6, formula_data[2]},
	{"w4", 4, {1, 2, 1, 2}, 4, formula_data[3]},
};

static void fill_formula(void)
{
	for (size_t k = 0; k < FORMULA_COUNT; k++)
		for (size_t i = 0; i < formula_tensors[k].numel; i++)
			formula_data[k][i] = st_value(k, i);
}

/* Leaves written.safetensors in the build folder for
 * `gen_safetensors.py --check FILE --formula`, the reverse interop check. */
START_TEST(formula_file_for_python)
{
	fill_formula();
	static const char *const keys[] = {"format", "config"};
	static const char *const values[] = {"pt", "{\"vocab\": 65, \"name\": \"na\xc3\xafve\"}"};
	const char *path = SEQC_ST_OUT "/written.safetensors";
	ck_assert_msg(seqc_st_write(path, formula_tensors, FORMULA_COUNT, keys, values, 2) == 0,
		      "%s", seqc_errmsg());
	seqc_st *st = st_read_ok(path);
	ck_assert_uint_eq(seqc_st_count(st), FORMULA_COUNT);
	for (size_t k = 0; k < FORMULA_COUNT; k++) {
		const seqc_st_tensor *t = seqc_st_tensor_at(st, k);
		ck_assert_str_eq(t->name, formula_tensors[k].name);
		ck_assert_int_eq(t->ndim, (int)k + 1);
		for (size_t i = 0; i < t->numel; i++)
			ck_assert(t->data[i] == st_value(k, i));
	}
	ck_assert_str_eq(seqc_st_meta(st, "config"), values[1]);
	seqc_st_destroy(st);
}
END_TEST

START_TEST(empty_file_round_trip)
{
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/empty.safetensors", dir);
	ck_assert_int_eq(seqc_st_write(path, NULL, 0, NULL, NULL, 0), 0);
	size_t len;
	unsigned char *bytes = st_slurp(path, &len);
	ck_assert_uint_eq(len, 16);
	ck_assert_mem_eq(bytes + 8, "{}      ", 8);
	free(bytes);
	seqc_st *st = st_read_ok(path);
	ck_assert_uint_eq(seqc_st_count(st), 0);
	ck_assert_uint_eq(seqc_st_meta_count(st), 0);
	seqc_st_destroy(st);
	st_rmdir(dir);
}
END_TEST

/* Bad arguments are refused before anything is created. */
START_TEST(write_rejects_bad_arguments)
{
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/x.safetensors", dir);
	float d[6] = {0};
	struct {
		const char *what;
		seqc_st_tensor t[2];
		size_t count;
		const char *keys[2], *values[2];
		size_t nmeta;
		int code;
		const char *phrase;
	} cases[] = {
		{"empty name", {{"", 1, {2}, 2, d}}, 1, {0}, {0}, 0, SEQC_EINVAL, "empty name"},
		{"NULL name", {{NULL, 1, {2}, 2, d}}, 1, {0}, {0}, 0, SEQC_EINVAL, "empty name"},
		{"reserved name", {{"__metadata__", 1, {2}, 2, d}}, 1, {0}, {0}, 0, SEQC_EINVAL,
		 "reserves"},
		{"duplicate", {{"a", 1, {2}, 2, d}, {"a", 1, {3}, 3, d}}, 2, {0}, {0}, 0, SEQC_EINVAL,
		 "duplicate tensor name 'a'"},
		{"0 dims", {{"a", 0, {2}, 2, d}}, 1, {0}, {0}, 0, SEQC_EINVAL, "0 dimensions"},
		{"5 dims", {{"a", 5, {1, 1, 1, 1}, 1, d}}, 1, {0}, {0}, 0, SEQC_EINVAL, "5 dimensions"},
		{"zero dim", {{"a", 2, {2, 0}, 0, d}}, 1, {0}, {0}, 0, SEQC_EINVAL, "shape[1] = 0"},
		{"numel", {{"a", 2, {2, 3}, 5, d}}, 1, {0}, {0}, 0, SEQC_EINVAL, "numel 5"},
		{"no data", {{"a", 1, {2}, 2, NULL}}, 1, {0}, {0}, 0, SEQC_EINVAL, "no data"},
		{"bad UTF-8 name", {{"a\xff", 1, {2}, 2, d}}, 1, {0}, {0}, 0, SEQC_EUTF8, "UTF-8"},
		{"duplicate key", {{"a", 1, {2}, 2, d}}, 1, {"k", "k"}, {"1", "2"}, 2, SEQC_EINVAL,
		 "duplicate metadata key 'k'"},
		{"NULL value", {{"a", 1, {2}, 2, d}}, 1, {"k"}, {NULL}, 1, SEQC_EINVAL, "NULL"},
		{"bad UTF-8 value", {{"a", 1, {2}, 2, d}}, 1, {"k"}, {"\xc0\xaf"}, 1, SEQC_EUTF8,
		 "UTF-8"},
		{"bad UTF-8 key", {{"a", 1, {2}, 2, d}}, 1, {"\xed\xa0\x80"}, {"v"}, 1, SEQC_EUTF8,
		 "UTF-8"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		seqc_error_clear();
		int rc = seqc_st_write(path, cases[i].t, cases[i].count, cases[i].keys,
				       cases[i].values, cases[i].nmeta);
		ck_assert_msg(rc == cases[i].code, "%s: got %d (%s), expected %d", cases[i].what, rc,
			      seqc_errmsg(), cases[i].code);
		ck_assert_msg(strstr(seqc_errmsg(), cases[i].phrase) && strstr(seqc_errmsg(), path),
			      "%s: message '%s' lacks '%s' or the path", cases[i].what,
			      seqc_errmsg(), cases[i].phrase);
		ck_assert_int_eq(st_count_files(dir), 0);
	}
	st_rmdir(dir);
}
END_TEST

START_TEST(write_into_missing_folder)
{
	fill_formula();
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/no/such/folder/x.safetensors", dir);
	int rc = seqc_st_write(path, formula_tensors, FORMULA_COUNT, NULL, NULL, 0);
	ck_assert_int_eq(rc, SEQC_EIO);
	ck_assert_msg(strstr(seqc_errmsg(), path) && strstr(seqc_errmsg(), strerror(ENOENT)),
		      "message: %s", seqc_errmsg());
	ck_assert_int_eq(st_count_files(dir), 0);
	st_rmdir(dir);
}
END_TEST

/* Writing over an existing file replaces it and leaves nothing else. */
START_TEST(overwrite_replaces)
{
	fill_formula();
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/x.safetensors", dir);
	ck_assert_int_eq(seqc_st_write(path, formula_tensors, 1, NULL, NULL, 0), 0);
	ck_assert_int_eq(seqc_st_write(path, formula_tensors, FORMULA_COUNT, NULL, NULL, 0), 0);
	seqc_st *st = st_read_ok(path);
	ck_assert_uint_eq(seqc_st_count(st), FORMULA_COUNT);
	seqc_st_destroy(st);
	ck_assert_int_eq(st_count_files(dir), 1);
	st_rmdir(dir);
}
END_TEST

/* A write that fails half way (here: the file-size limit, as a full disk
 * would) leaves the old file intact and no temporary file behind. */
START_TEST(failed_write_keeps_old_file)
{
	fill_formula();
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/x.safetensors", dir);
	ck_assert_int_eq(seqc_st_write(path, formula_tensors, FORMULA_COUNT, NULL, NULL, 0), 0);
	size_t old_len;
	unsigned char *old = st_slurp(path, &old_len);
	ck_assert_ptr_nonnull(old);

	enum { BIG = 100000 }; /* 400 kB of data against a 64 kB limit */
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* the child owns copies of these; freed so valgrind sees no leak */
		free(old);
		free(dir);
		float *big = calloc(BIG, sizeof *big);
		seqc_st_tensor t = {"big", 1, {BIG}, BIG, big};
		struct rlimit lim = {65536, 65536};
		signal(SIGXFSZ, SIG_IGN);
		if (!big || setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(2);
		int rc = seqc_st_write(path, &t, 1, NULL, NULL, 0);
		bool ok = rc == SEQC_EIO && strstr(seqc_errmsg(), path) &&
			  strstr(seqc_errmsg(), strerror(EFBIG));
		if (!ok)
			fprintf(stderr, "child: rc %d, message: %s\n", rc, seqc_errmsg());
		free(big);
		_exit(ok ? 0 : 1);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);

	size_t len;
	unsigned char *now = st_slurp(path, &len);
	ck_assert_ptr_nonnull(now);
	ck_assert_uint_eq(len, old_len);
	ck_assert_mem_eq(now, old, len);
	seqc_st *st = st_read_ok(path);
	seqc_st_destroy(st);
	ck_assert_int_eq(st_count_files(dir), 1);
	free(old);
	free(now);
	st_rmdir(dir);
}
END_TEST

/* load_params wants the file and the store to match exactly, and copies
 * nothing otherwise. */
START_TEST(load_params_exact_match)
{
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/x.safetensors", dir);
	static const char *const names[] = {"x", "y"};
	static const int ndims[] = {2, 1};
	static const size_t shapes[][4] = {{2, 3}, {4}};
	seqc_params *p = make_store(2, names, ndims, shapes, normal_init, 1);
	float d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct {
		const char *what;
		seqc_st_tensor t[3];
		size_t count;
		int code;
		const char *phrase, *phrase2;
	} cases[] = {
		{"match", {{"y", 1, {4}, 4, d}, {"x", 2, {2, 3}, 6, d}}, 2, 0, "", ""},
		{"missing", {{"x", 2, {2, 3}, 6, d}}, 1, SEQC_EFORMAT, "no tensor for parameter 'y'",
		 "[4]"},
		{"extra", {{"x", 2, {2, 3}, 6, d}, {"y", 1, {4}, 4, d}, {"z", 1, {1}, 1, d}}, 3,
		 SEQC_EFORMAT, "tensor 'z'", "not a parameter"},
		{"shape", {{"x", 2, {3, 2}, 6, d}, {"y", 1, {4}, 4, d}}, 2, SEQC_ESHAPE,
		 "parameter 'x' has shape [3, 2] in the file", "[2, 3] in the model"},
		{"rank", {{"x", 2, {2, 3}, 6, d}, {"y", 2, {2, 2}, 4, d}}, 2, SEQC_ESHAPE,
		 "parameter 'y'", "[2, 2]"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ck_assert_int_eq(seqc_st_write(path, cases[i].t, cases[i].count, NULL, NULL, 0), 0);
		seqc_st *st = st_read_ok(path);
		for (size_t j = 0; j < p->numel; j++)
			p->values[j] = -1.0f;
		int rc = seqc_st_load_params(p, st);
		ck_assert_msg(rc == cases[i].code, "%s: got %d (%s)", cases[i].what, rc, seqc_errmsg());
		if (rc == 0) {
			ck_assert_mem_eq(seqc_params_find(p, "x")->t.val, d, 6 * sizeof(float));
			ck_assert_mem_eq(seqc_params_find(p, "y")->t.val, d, 4 * sizeof(float));
		} else {
			ck_assert_msg(strstr(seqc_errmsg(), cases[i].phrase) &&
					      strstr(seqc_errmsg(), cases[i].phrase2) &&
					      strstr(seqc_errmsg(), path),
				      "%s: message '%s'", cases[i].what, seqc_errmsg());
			for (size_t j = 0; j < p->numel; j++)
				ck_assert_msg(p->values[j] == -1.0f, "%s: value %zu changed",
					      cases[i].what, j);
		}
		seqc_st_destroy(st);
	}
	seqc_params_destroy(p);
	st_rmdir(dir);
}
END_TEST

START_TEST(unfinalized_store)
{
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/x.safetensors", dir);
	seqc_params *p = seqc_params_create();
	ck_assert_ptr_nonnull(seqc_params_add(p, "x", 1, (size_t[]){2}, normal_init, false));
	ck_assert_int_eq(seqc_st_write_params(path, p, NULL, NULL, 0), SEQC_ESTATE);
	ck_assert_int_eq(st_count_files(dir), 0);
	float d[2] = {1, 2};
	seqc_st_tensor t = {"x", 1, {2}, 2, d};
	ck_assert_int_eq(seqc_st_write(path, &t, 1, NULL, NULL, 0), 0);
	seqc_st *st = st_read_ok(path);
	ck_assert_int_eq(seqc_st_load_params(p, st), SEQC_ESTATE);
	seqc_st_destroy(st);
	seqc_params_destroy(p);
	st_rmdir(dir);
}
END_TEST

START_TEST(read_missing_file)
{
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/absent.safetensors", dir);
	seqc_st *st = NULL;
	ck_assert_int_eq(seqc_st_read(path, &st), SEQC_EIO);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(seqc_errmsg(), path) && strstr(seqc_errmsg(), strerror(ENOENT)), "%s",
		      seqc_errmsg());
	ck_assert_int_eq(seqc_st_read(dir, &st), SEQC_EIO);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(seqc_errmsg(), "not a regular file"), "%s", seqc_errmsg());
	st_rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("st_roundtrip");
	TCase *tc = tcase_create("write");
	tcase_add_test(tc, params_round_trip);
	tcase_add_test(tc, formula_file_for_python);
	tcase_add_test(tc, empty_file_round_trip);
	tcase_add_test(tc, write_rejects_bad_arguments);
	tcase_add_test(tc, write_into_missing_folder);
	tcase_add_test(tc, overwrite_replaces);
	tcase_add_test(tc, failed_write_keeps_old_file);
	tcase_add_test(tc, load_params_exact_match);
	tcase_add_test(tc, unfinalized_store);
	tcase_add_test(tc, read_missing_file);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
