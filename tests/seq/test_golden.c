/* PyTorch golden fixtures for the core ops: tests/golden/ops.json, written
 * by tests/golden/gen_ops.py (see there for the format). Each case is run
 * through the seqc op; the output and every input's gradient, after a
 * backward from the fixture's upstream gradient dy, must match.
 *
 * The fixture's numbers are float64 results from float32 inputs, so the
 * tolerance is about float32 rounding: rtol 1e-5, atol 1e-6. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#ifndef SEQC_GOLDEN_DIR
#error "SEQC_GOLDEN_DIR must name tests/golden (set by tests/seq/meson.build)"
#endif

#define RTOL 1e-5f
#define ATOL 1e-6f

static json_t *fixture;

/* A heap tensor (with gradient) from {"shape": [...], "data": [...]}. */
static seqc_tensor *load_tensor(const json_t *j, const char *what)
{
	const json_t *shape = json_object_get(j, "shape"), *data = json_object_get(j, "data");
	ck_assert_msg(json_is_array(shape) && json_is_array(data), "%s: no shape or data", what);
	size_t dims[SEQC_MAX_DIMS];
	int ndim = (int)json_array_size(shape);
	ck_assert_msg(ndim >= 1 && ndim <= SEQC_MAX_DIMS, "%s: %d dimensions", what, ndim);
	for (int i = 0; i < ndim; i++)
		dims[i] = (size_t)json_integer_value(json_array_get(shape, (size_t)i));
	seqc_tensor *t = seqc_tensor_create(ndim, dims, true);
	ck_assert_msg(t != NULL, "%s: %s", what, seqc_errmsg());
	ck_assert_msg(json_array_size(data) == t->numel, "%s: %zu values for %zu elements", what,
		      json_array_size(data), t->numel);
	for (size_t i = 0; i < t->numel; i++)
		t->val[i] = (float)json_number_value(json_array_get(data, i));
	return t;
}

/* Compares t's values (or gradient) with a fixture tensor of the same
 * shape. */
static bool matches(const seqc_tensor *t, const float *v, const json_t *want, const char *what)
{
	seqc_tensor *w = load_tensor(want, what);
	bool same_shape = seqc_tensor_same_shape(t, w);
	if (!same_shape) {
		char a[64], b[64];
		fprintf(stderr, "%s: shape %s, expected %s\n", what, seqc_shape_str(t, a, sizeof a),
			seqc_shape_str(w, b, sizeof b));
	}
	bool ok = same_shape && allclose(v, w->val, w->numel, RTOL, ATOL, what);
	seqc_tensor_destroy(w);
	return ok;
}

/* The inputs of one case, by the names the fixture gives them. */
typedef struct golden_case {
	const char *name, *op;
	const json_t *params;
	seqc_tensor *in[3];
	const char *in_names[3];
	int nin;
	seqc_ids *targets;
} golden_case;

/* The input called name, or NULL when the case has none. */
static seqc_tensor *named(const golden_case *c, const char *name)
{
	for (int k = 0; k < c->nin; k++)
		if (!strcmp(c->in_names[k], name))
			return c->in[k];
	return NULL;
}

static seqc_tensor *forward(seqc_graph *g, golden_case *c)
{
	const json_t *p = c->params;
	if (!strcmp(c->op, "cross_entropy")) {
		seqc_ce_opts o = seqc_ce_defaults();
		const char *red = json_string_value(json_object_get(p, "reduction"));
		ck_assert_ptr_nonnull(red);
		o.reduction = !strcmp(red, "sum") ? SEQC_REDUCE_SUM : SEQC_REDUCE_MEAN;
		o.label_smoothing = (float)json_number_value(json_object_get(p, "label_smoothing"));
		o.ignore_index = (int32_t)json_integer_value(json_object_get(p, "ignore_index"));
		return seqc_cross_entropy(g, named(c, "logits"), c->targets, &o);
	}
	if (!strcmp(c->op, "layer_norm")) {
		float eps = (float)json_number_value(json_object_get(p, "eps"));
		return seqc_layer_norm(g, named(c, "x"), named(c, "weight"), named(c, "bias"), eps);
	}
	if (!strcmp(c->op, "softmax"))
		return seqc_softmax(g, named(c, "x"));
	if (!strcmp(c->op, "log_softmax"))
		return seqc_log_softmax(g, named(c, "x"));
	if (!strcmp(c->op, "gelu")) {
		const char *a = json_string_value(json_object_get(p, "approximate"));
		ck_assert_ptr_nonnull(a);
		return seqc_gelu(g, named(c, "x"), !strcmp(a, "tanh") ? SEQC_GELU_TANH : SEQC_GELU_EXACT);
	}
	if (!strcmp(c->op, "linear"))
		return seqc_linear(g, named(c, "x"), named(c, "weight"), named(c, "bias"));
	ck_abort_msg("%s: unknown op '%s'", c->name, c->op);
	return NULL;
}

/* Runs case i; returns true when everything matched. */
static bool run_case(size_t i)
{
	const json_t *j = json_array_get(json_object_get(fixture, "cases"), i);
	golden_case c = { .nin = 0 };
	c.name = json_string_value(json_object_get(j, "name"));
	c.op = json_string_value(json_object_get(j, "op"));
	c.params = json_object_get(j, "params");
	ck_assert_msg(c.name && c.op && c.params, "case %zu lacks name, op or params", i);

	const char *key;
	const json_t *value;
	const json_t *inputs = json_object_get(j, "inputs");
	json_object_foreach((json_t *)inputs, key, value)
	{
		ck_assert_int_lt(c.nin, 3);
		c.in_names[c.nin] = key;
		c.in[c.nin++] = load_tensor(value, c.name);
	}
	const json_t *tj = json_object_get(j, "targets");
	if (tj) {
		const json_t *shape = json_object_get(tj, "shape"), *data = json_object_get(tj, "data");
		size_t dims[2];
		int ndim = (int)json_array_size(shape);
		ck_assert(ndim == 1 || ndim == 2);
		for (int d = 0; d < ndim; d++)
			dims[d] = (size_t)json_integer_value(json_array_get(shape, (size_t)d));
		c.targets = seqc_ids_create(ndim, dims);
		ck_assert_ptr_nonnull(c.targets);
		ck_assert_uint_eq(json_array_size(data), c.targets->numel);
		for (size_t k = 0; k < c.targets->numel; k++)
			c.targets->data[k] = (int32_t)json_integer_value(json_array_get(data, k));
	}

	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *y = forward(g, &c);
	ck_assert_msg(y != NULL, "%s: %s", c.name, seqc_errmsg());
	char what[160];
	snprintf(what, sizeof what, "%s: output", c.name);
	bool ok = matches(y, y->val, json_object_get(j, "output"), what);

	seqc_tensor *dy = load_tensor(json_object_get(j, "dy"), c.name);
	ck_assert_uint_eq(dy->numel, y->numel);
	ck_assert_int_eq(seqc_backward_from(g, y, dy->val), 0);
	const json_t *grads = json_object_get(j, "grads");
	ck_assert_uint_eq(json_object_size(grads), (size_t)c.nin);
	for (int k = 0; k < c.nin; k++) {
		snprintf(what, sizeof what, "%s: gradient of %s", c.name, c.in_names[k]);
		const json_t *want = json_object_get(grads, c.in_names[k]);
		ck_assert_msg(want != NULL, "%s missing", what);
		ok &= matches(c.in[k], c.in[k]->grad, want, what);
	}
	seqc_tensor_destroy(dy);
	seqc_graph_destroy(g);
	for (int k = 0; k < c.nin; k++)
		seqc_tensor_destroy(c.in[k]);
	seqc_ids_destroy(c.targets);
	return ok;
}

START_TEST(test_golden_cases)
{
	const json_t *cases = json_object_get(fixture, "cases");
	ck_assert_msg(json_array_size(cases) > 0, "the fixture holds no cases");
	int failed = 0;
	for (size_t i = 0; i < json_array_size(cases); i++)
		failed += !run_case(i);
	ck_assert_msg(failed == 0, "%d of %zu golden cases differ from PyTorch", failed,
		      json_array_size(cases));
}
END_TEST

/* Every op the generator promises is present, so a shorter fixture cannot
 * pass silently. */
START_TEST(test_golden_coverage)
{
	static const char *ops[] = { "cross_entropy", "layer_norm", "softmax", "log_softmax", "gelu",
				     "linear" };
	const json_t *cases = json_object_get(fixture, "cases");
	for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
		bool found = false;
		for (size_t i = 0; i < json_array_size(cases); i++)
			found |= !strcmp(json_string_value(json_object_get(json_array_get(cases, i), "op")),
					 ops[k]);
		ck_assert_msg(found, "no case for %s", ops[k]);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seq_golden");
	TCase *tc = tcase_create("golden");
	tcase_add_test(tc, test_golden_cases);
	tcase_add_test(tc, test_golden_coverage);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *path = SEQC_GOLDEN_DIR "/ops.json";
	json_error_t err;
	fixture = json_load_file(path, 0, &err);
	if (!fixture) {
		fprintf(stderr, "seq_golden: cannot read %s (line %d: %s); regenerate it with "
				"/usr/bin/python3 tests/golden/gen_ops.py\n",
			path, err.line, err.text);
		return EXIT_FAILURE;
	}
	int rc = run_suite(suite());
	json_decref(fixture);
	return rc;
}
