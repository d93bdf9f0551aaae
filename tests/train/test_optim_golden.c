/* Optimizers, clipping and the plateau schedule against PyTorch 1.13
 * (tests/golden/optim.json, written by tests/golden/gen_optim.py): every
 * optimizer configuration after each of 5 steps with changing learning
 * rates, the state buffers after the last step, clip_grad_norm_,
 * clip_grad_value_ and ReduceLROnPlateau. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define RTOL 1e-5f
#define ATOL 1e-6f

static json_t *fixture;

static void load_fixture(void)
{
	json_error_t err;
	const char *path = SEQC_GOLDEN_DIR "/optim.json";
	fixture = json_load_file(path, 0, &err);
	if (!fixture) {
		fprintf(stderr, "cannot read %s (line %d: %s); regenerate it with tests/golden/gen_optim.py\n",
			path, err.line, err.text);
		exit(EXIT_FAILURE);
	}
	if (!json_is_array(json_object_get(fixture, "optim"))) {
		fprintf(stderr, "%s: no \"optim\" array\n", path);
		exit(EXIT_FAILURE);
	}
}

static json_t *get(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	ck_assert_msg(v != NULL, "fixture: no key '%s'", key);
	return v;
}

/* A JSON array of numbers into a new float array of n elements. */
static float *floats(json_t *arr, size_t n)
{
	ck_assert_msg(json_is_array(arr) && json_array_size(arr) == n,
		      "fixture: expected an array of %zu numbers", n);
	float *x = malloc(n * sizeof *x);
	ck_assert_ptr_nonnull(x);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)json_number_value(json_array_get(arr, i));
	return x;
}

/* The store laid out as the fixture says, values from "init". */
static seqc_params *make_store(void)
{
	seqc_params *p = seqc_params_create();
	ck_assert_ptr_nonnull(p);
	json_t *layout = get(fixture, "params");
	for (size_t i = 0; i < json_array_size(layout); i++) {
		json_t *item = json_array_get(layout, i);
		json_t *shape = get(item, "shape");
		size_t dims[SEQC_MAX_DIMS];
		int ndim = (int)json_array_size(shape);
		for (int d = 0; d < ndim; d++)
			dims[d] = (size_t)json_integer_value(json_array_get(shape, (size_t)d));
		seqc_init zeros = { SEQC_INIT_ZEROS, 0 };
		ck_assert_ptr_nonnull(seqc_params_add(p, json_string_value(get(item, "name")), ndim, dims,
						      zeros, json_is_true(get(item, "no_decay"))));
	}
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, 1);
	ck_assert_int_eq(seqc_params_finalize(p, &rng), 0);
	float *init = floats(get(fixture, "init"), p->numel);
	memcpy(p->values, init, p->numel * sizeof(float));
	free(init);
	return p;
}

START_TEST(test_optim_case)
{
	json_t *c = json_array_get(get(fixture, "optim"), (size_t)_i);
	const char *spec = json_string_value(get(c, "spec"));
	seqc_params *p = make_store();
	size_t n = p->numel;
	seqc_optim_config cfg;
	ck_assert_msg(seqc_optim_parse(spec, &cfg) == 0, "%s: %s", spec, seqc_errmsg());
	seqc_optim *o = seqc_optim_create(p, &cfg);
	ck_assert_msg(o != NULL, "%s: %s", spec, seqc_errmsg());
	json_t *lrs = get(c, "lrs"), *after = get(c, "after"), *grads = get(fixture, "grads");
	bool ok = true;
	for (size_t t = 0; t < json_array_size(lrs); t++) {
		float *g = floats(json_array_get(grads, t), n);
		float *want = floats(json_array_get(after, t), n);
		memcpy(p->grads, g, n * sizeof(float));
		ck_assert_int_eq(seqc_optim_step(o, p, (float)json_number_value(json_array_get(lrs, t))), 0);
		char what[160];
		snprintf(what, sizeof what, "%s, step %zu", spec, t + 1);
		ok = allclose(p->values, want, n, RTOL, ATOL, what) && ok;
		ck_assert_msg(memcmp(p->grads, g, n * sizeof(float)) == 0, "%s: the step changed the grads", what);
		free(g);
		free(want);
	}
	ck_assert_int_eq(seqc_optim_steps(o), (int64_t)json_array_size(lrs));

	/* The same buffers under the same names as torch's state. */
	json_t *state = get(c, "state");
	ck_assert_uint_eq(seqc_optim_state_count(o), json_object_size(state));
	float *buf = malloc(n * sizeof *buf);
	for (size_t k = 0; k < seqc_optim_state_count(o); k++) {
		const char *name = seqc_optim_state_name(o, k);
		json_t *arr = json_object_get(state, name);
		ck_assert_msg(arr != NULL, "%s: torch has no state '%s'", spec, name);
		float *want = floats(arr, n);
		ck_assert_int_eq(seqc_optim_get_state(o, name, buf, n), 0);
		char what[160];
		snprintf(what, sizeof what, "%s, state %s", spec, name);
		ok = allclose(buf, want, n, RTOL, ATOL, what) && ok;
		ck_assert(memcmp(buf, seqc_optim_state_data(o, k), n * sizeof(float)) == 0);
		free(want);
	}
	free(buf);
	ck_assert_msg(ok, "%s differs from torch (see above)", spec);
	seqc_optim_destroy(o);
	seqc_params_destroy(p);
}
END_TEST

START_TEST(test_clip_norm)
{
	json_t *cases = get(fixture, "clip_norm");
	ck_assert_uint_ge(json_array_size(cases), 2);
	for (size_t i = 0; i < json_array_size(cases); i++) {
		json_t *c = json_array_get(cases, i);
		seqc_params *p = make_store();
		float *before = floats(get(c, "before"), p->numel);
		float *want = floats(get(c, "after"), p->numel);
		memcpy(p->grads, before, p->numel * sizeof(float));
		double want_norm = json_number_value(get(c, "norm"));
		ck_assert_double_eq_tol(seqc_grad_norm(p), want_norm, 1e-5 * want_norm);
		double norm = seqc_clip_grad_norm(p, (float)json_number_value(get(c, "max_norm")));
		ck_assert_double_eq_tol(norm, want_norm, 1e-5 * want_norm);
		ck_assert(allclose(p->grads, want, p->numel, RTOL, ATOL, "clip_grad_norm_"));
		free(before);
		free(want);
		seqc_params_destroy(p);
	}
}
END_TEST

START_TEST(test_clip_value)
{
	json_t *c = get(fixture, "clip_value");
	seqc_params *p = make_store();
	float *before = floats(get(c, "before"), p->numel);
	float *want = floats(get(c, "after"), p->numel);
	memcpy(p->grads, before, p->numel * sizeof(float));
	ck_assert_int_eq(seqc_clip_grad_value(p, (float)json_number_value(get(c, "clip"))), 0);
	ck_assert(allclose(p->grads, want, p->numel, 0, 0, "clip_grad_value_"));
	free(before);
	free(want);
	seqc_params_destroy(p);
}
END_TEST

START_TEST(test_plateau)
{
	json_t *c = get(fixture, "plateau");
	seqc_sched_config cfg;
	const char *spec = json_string_value(get(c, "spec"));
	ck_assert_msg(seqc_sched_parse(spec, &cfg) == 0, "%s", seqc_errmsg());
	seqc_sched *s = seqc_sched_create(&cfg);
	ck_assert_ptr_nonnull(s);
	json_t *losses = get(c, "losses"), *lrs = get(c, "lrs");
	for (size_t i = 0; i < json_array_size(losses); i++) {
		ck_assert_int_ge(seqc_sched_report(s, json_number_value(json_array_get(losses, i))), 0);
		double want = json_number_value(json_array_get(lrs, i));
		ck_assert_msg(fabs(seqc_sched_lr(s, 1000) - want) <= 1e-6 * want,
			      "report %zu: lr %g, torch %g", i + 1, (double)seqc_sched_lr(s, 1000), want);
	}
	seqc_sched_destroy(s);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("optim_golden");
	TCase *tc = tcase_create("torch");
	tcase_add_loop_test(tc, test_optim_case, 0, (int)json_array_size(json_object_get(fixture, "optim")));
	tcase_add_test(tc, test_clip_norm);
	tcase_add_test(tc, test_clip_value);
	tcase_add_test(tc, test_plateau);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	load_fixture();
	int rc = run_suite(suite());
	json_decref(fixture);
	return rc;
}
