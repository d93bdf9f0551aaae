/* nftw (XSI) */
#define _XOPEN_SOURCE 700
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

bool allclose(const float *a, const float *b, size_t n, float rtol, float atol, const char *what)
{
	size_t bad = n, worst = 0;
	double maxdiff = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		bool ok = d <= atol + rtol * fabs((double)b[i]);
		if (!ok && bad == n)
			bad = i;
		if (!(d <= maxdiff)) {
			maxdiff = d;
			worst = i;
		}
	}
	if (bad == n)
		return true;
	fprintf(stderr, "%s: first mismatch at %zu: got %.8g, expected %.8g; largest difference %.3g at %zu\n",
		what, bad, (double)a[bad], (double)b[bad], maxdiff, worst);
	return false;
}

static double loss_of(seqc_graph *g, gradcheck_fn fn, void *ctx, const double *r)
{
	seqc_graph_reset(g);
	bool old = seqc_graph_set_grad(g, false);
	seqc_tensor *y = fn(g, ctx);
	seqc_graph_set_grad(g, old);
	if (!y)
		return NAN;
	double l = 0;
	for (size_t i = 0; i < y->numel; i++)
		l += r[i] * (double)y->val[i];
	return l;
}

int gradcheck(gradcheck_fn fn, void *ctx, seqc_tensor *const *inputs, int ninputs, double eps,
	      double tol, double atol, size_t max_elems)
{
	int failures = 0;
	seqc_graph *g = seqc_graph_create(0);
	ck_assert_ptr_nonnull(g);
	for (int k = 0; k < ninputs; k++)
		memset(inputs[k]->grad, 0, inputs[k]->numel * sizeof(float));
	seqc_tensor *y = fn(g, ctx);
	if (!y) {
		fprintf(stderr, "gradcheck: forward failed: %s\n", seqc_errmsg());
		seqc_graph_destroy(g);
		return 1;
	}
	size_t ny = y->numel;
	seqc_rng rng;
	seqc_rng_seed(&rng, 1234, 99);
	double *r = malloc(ny * sizeof *r);
	float *rf = malloc(ny * sizeof *rf);
	for (size_t i = 0; i < ny; i++) {
		r[i] = 2.0 * seqc_rng_uniform(&rng) - 1.0;
		rf[i] = (float)r[i];
	}
	ck_assert_int_eq(seqc_backward_from(g, y, rf), 0);
	for (int k = 0; k < ninputs; k++) {
		seqc_tensor *x = inputs[k];
		float *analytic = malloc(x->numel * sizeof *analytic);
		memcpy(analytic, x->grad, x->numel * sizeof *analytic);
		size_t count = max_elems && x->numel > max_elems ? max_elems : x->numel;
		for (size_t j = 0; j < count; j++) {
			size_t i = count == x->numel ? j : seqc_rng_below(&rng, (uint32_t)x->numel);
			float saved = x->val[i];
			x->val[i] = (float)(saved + eps);
			double lp = loss_of(g, fn, ctx, r);
			x->val[i] = (float)(saved - eps);
			double lm = loss_of(g, fn, ctx, r);
			x->val[i] = saved;
			double numeric = (lp - lm) / (2.0 * eps), a = analytic[i];
			double denom = fmax(fmax(fabs(a), fabs(numeric)), 1e-6);
			double diff = fabs(a - numeric);
			if (!(diff / denom <= tol || diff <= atol)) {
				if (failures < 5)
					fprintf(stderr, "gradcheck: input %d element %zu: analytic %.6g, numeric %.6g\n",
						k, i, a, numeric);
				failures++;
			}
		}
		free(analytic);
	}
	free(r);
	free(rf);
	seqc_graph_destroy(g);
	return failures;
}

seqc_tensor *rand_tensor(int ndim, const size_t *shape, float lo, float hi, uint64_t seed)
{
	seqc_tensor *t = seqc_tensor_create(ndim, shape, true);
	ck_assert_ptr_nonnull(t);
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, 7);
	for (size_t i = 0; i < t->numel; i++)
		t->val[i] = lo + (hi - lo) * seqc_rng_uniform(&rng);
	return t;
}

const char *test_data_path(const char *name)
{
	static char path[4096];
	const char *dir = getenv("SEQC_TEST_DATA");
	if (!dir)
		dir = SEQC_SOURCE_DIR "/../shared/data";
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return access(path, R_OK) == 0 ? path : NULL;
}

const char *fixture_path(const char *name)
{
	static char path[4096];
	snprintf(path, sizeof path, "%s/tests/golden/%s", SEQC_SOURCE_DIR, name);
	return path;
}

json_t *fixture_load(const char *name)
{
	const char *path = fixture_path(name);
	json_error_t err;
	json_t *root = json_load_file(path, 0, &err);
	if (!root)
		ck_abort_msg("fixture %s: %s (line %d)", path, err.text, err.line);
	return root;
}

float *fixture_floats(json_t *obj, const char *key, size_t n)
{
	json_t *arr = json_object_get(obj, key);
	ck_assert_msg(json_is_array(arr), "fixture: '%s' is not an array", key);
	ck_assert_msg(json_array_size(arr) == n, "fixture: '%s' has %zu numbers, expected %zu", key,
		      json_array_size(arr), n);
	float *out = malloc((n ? n : 1) * sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = (float)json_number_value(json_array_get(arr, i));
	return out;
}

void fixture_params(seqc_params *p, json_t *c)
{
	json_t *params = json_object_get(c, "params");
	ck_assert_uint_eq(json_object_size(params), p->count);
	for (size_t i = 0; i < p->count; i++) {
		seqc_param *q = p->items[i];
		float *v = fixture_floats(params, q->name, q->t.numel);
		memcpy(q->t.val, v, q->t.numel * sizeof(float));
		free(v);
	}
}

int32_t *fixture_ids(json_t *c, const char *key, size_t n)
{
	float *f = fixture_floats(c, key, n);
	int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
	for (size_t i = 0; i < n; i++)
		ids[i] = (int32_t)f[i];
	free(f);
	return ids;
}

seqc_tensor *fixture_tensor(json_t *c, const char *key, size_t B, size_t T, size_t C)
{
	seqc_tensor *t = seqc_tensor_create(3, (const size_t[]){ B, T, C }, true);
	ck_assert_ptr_nonnull(t);
	float *v = fixture_floats(c, key, t->numel);
	memcpy(t->val, v, t->numel * sizeof(float));
	free(v);
	return t;
}

uint8_t *fixture_pad(json_t *c, const char *key, size_t n)
{
	if (!json_object_get(c, key))
		return NULL;
	float *f = fixture_floats(c, key, n);
	uint8_t *pad = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		pad[i] = f[i] != 0.0f;
	free(f);
	return pad;
}

char *word_text(size_t n, uint64_t seed)
{
	static const char *const words[] = { "the", "cat", "sat", "on", "a", "mat", "café", "naïve", "dog",
					     "ran", "€5", "away", "and" };
	return word_text_from(words, sizeof words / sizeof words[0], n, seed);
}

char *word_text_from(const char *const *words, size_t nwords, size_t n, uint64_t seed)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_DATA);
	char *s = malloc(n + 16);
	ck_assert_ptr_nonnull(s);
	size_t len = 0;
	while (len < n) {
		const char *w = words[seqc_rng_below(&rng, (uint32_t)nwords)];
		size_t l = strlen(w);
		memcpy(s + len, w, l);
		len += l;
		s[len++] = seqc_rng_below(&rng, 8) ? ' ' : '\n';
	}
	s[len] = '\0';
	return s;
}

blob read_blob(const char *path)
{
	blob b = { NULL, 0 };
	FILE *f = fopen(path, "rb");
	if (!f)
		return b;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b.data = malloc((size_t)(n > 0 ? n : 0) + 1);
	ck_assert_ptr_nonnull(b.data);
	b.len = fread(b.data, 1, (size_t)(n > 0 ? n : 0), f);
	b.data[b.len] = '\0';
	fclose(f);
	return b;
}

bool make_temp_dir(const char *prefix, char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(buf, len, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
	return n > 0 && (size_t)n < len && mkdtemp(buf) != NULL;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
