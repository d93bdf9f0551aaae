/* Helpers shared by the Check suites: array comparison, finite-difference
 * gradient checks, and locating the shared test data. */
#ifndef SEQC_TESTS_SUPPORT_H
#define SEQC_TESTS_SUPPORT_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "seq/seqc.h"

/* Exit code meson and automake read as "skipped". */
#define TEST_SKIP 77

/* True when |a[i] - b[i]| <= atol + rtol |b[i]| for every i. Otherwise
 * prints (to stderr, prefixed by what) the first bad index, both values and
 * the largest difference, and returns false. NaN never passes. */
bool allclose(const float *a, const float *b, size_t n, float rtol, float atol, const char *what);

/* The forward pass under test: builds its output in g from inputs the test
 * owns (heap tensors with gradients) and returns it. Called many times; it
 * must be deterministic (reseed any RNG from ctx). */
typedef seqc_tensor *(*gradcheck_fn)(seqc_graph *g, void *ctx);

/* STYLE.md's recipe: fixed random r, L = sum(r * y) in double, dy = r;
 * central differences with step eps on every element of each input (a
 * random subset of max_elems when larger; 0 = all); pass when
 * |a - n| / max(|a|, |n|, 1e-6) <= tol, or |a - n| <= atol (for elements
 * whose gradient is ~0 up to float rounding). Returns the number of
 * failures, printing the first few with the input's index and element. */
int gradcheck(gradcheck_fn fn, void *ctx, seqc_tensor *const *inputs, int ninputs, double eps,
	      double tol, double atol, size_t max_elems);

/* A heap tensor with a gradient, values uniform in [lo, hi) from seed. */
seqc_tensor *rand_tensor(int ndim, const size_t *shape, float lo, float hi, uint64_t seed);

/* Path of a file in the shared test data folder (../shared/data from the
 * source tree, or $SEQC_TEST_DATA), or NULL when absent. Static buffer. */
const char *test_data_path(const char *name);

/* Golden fixtures (JSON made by tests/golden/gen_*.py). fixture_load reads
 * tests/golden/<name> from the source tree (failing the test when missing);
 * fixture_floats returns a malloc'ed copy of the number array obj[key],
 * failing the test unless it has exactly n elements. */
#include <jansson.h>
json_t *fixture_load(const char *name);
/* The path of tests/golden/<name> in the source tree (static buffer). */
const char *fixture_path(const char *name);
float *fixture_floats(json_t *obj, const char *key, size_t n);
/* Every parameter of p from case["params"] (the same names, no more, no
 * less), and the id array case[key] of n ids, malloc'ed. */
void fixture_params(seqc_params *p, json_t *c);
int32_t *fixture_ids(json_t *c, const char *key, size_t n);
/* A new [B, T, C] tensor (with a gradient) holding case[key]; and the
 * bytes [n], nonzero where case[key] is (a padding mask), or NULL when the
 * case has no such key. */
seqc_tensor *fixture_tensor(json_t *c, const char *key, size_t B, size_t T, size_t C);
uint8_t *fixture_pad(json_t *c, const char *key, size_t n);

/* n bytes or a little more of random words (some non-ASCII) separated by
 * spaces and newlines, from seed: text for tokenizer and training tests.
 * Malloc'ed, NUL-terminated. */
char *word_text(size_t n, uint64_t seed);
/* The same from a given list of words. */
char *word_text_from(const char *const *words, size_t nwords, size_t n, uint64_t seed);

/* A whole file, NUL-terminated beyond len; data NULL when it cannot be
 * opened. Free data with free. */
typedef struct blob {
	char *data;
	size_t len;
} blob;
blob read_blob(const char *path);

/* A new folder "<$TMPDIR or /tmp>/<prefix>-XXXXXX" (mkdtemp) written into
 * buf; false when it cannot be made. */
bool make_temp_dir(const char *prefix, char *buf, size_t len);
/* Removes a folder and everything below it (symbolic links not followed). */
void remove_tree(const char *path);

/* Run a suite; returns the process exit code (0 iff no failure). */
int run_suite(Suite *s);

#endif
