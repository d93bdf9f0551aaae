/* Hardening: the memory check (seq/memory.h) and the models it guards, so
 * that absurd sizes are refused with an estimate before anything is
 * allocated; and every public destroy or free accepting NULL. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "decode/bleu.h"
#include "seq/seqc.h"
#include "support.h"

/* The last call failed with code and a message holding every part. */
static void assert_failed(int code, const char *part1, const char *part2)
{
	ck_assert_int_eq(seqc_errcode(), code);
	ck_assert_msg(strstr(seqc_errmsg(), part1), "'%s' not in '%s'", part1, seqc_errmsg());
	if (part2)
		ck_assert_msg(strstr(seqc_errmsg(), part2), "'%s' not in '%s'", part2, seqc_errmsg());
}

START_TEST(test_check_memory)
{
	size_t phys = seqc_memory_limit();
	ck_assert_uint_gt(phys, (size_t)1 << 26); /* this machine has more than 64 MiB */
	ck_assert_int_eq(seqc_check_memory(1 << 20, "small"), 0);
	ck_assert_int_eq(seqc_check_memory(phys, "all of it"), 0);
	ck_assert_int_eq(seqc_check_memory(phys + 1, "too much"), SEQC_ENOMEM);
	assert_failed(SEQC_ENOMEM, "too much needs about", "of memory");
	ck_assert_int_eq(seqc_check_memory(SIZE_MAX, "overflowed"), SEQC_ENOMEM);
	assert_failed(SEQC_ENOMEM, "overflowed", "size_t");
	ck_assert_uint_eq(seqc_mul_sat(SIZE_MAX / 2, 3), SIZE_MAX);
	ck_assert_uint_eq(seqc_mul_sat(6, 7), 42);
	ck_assert_uint_eq(seqc_add_sat(SIZE_MAX - 1, 2), SIZE_MAX);
	ck_assert_uint_eq(seqc_add_sat(40, 2), 42);
}
END_TEST

START_TEST(test_memory_limit)
{
	ck_assert_uint_eq(seqc_memory_set_limit(3 << 20), 0);
	ck_assert_uint_eq(seqc_memory_limit(), 3 << 20);
	ck_assert_int_eq(seqc_check_memory(3 << 20, "at the limit"), 0);
	ck_assert_int_eq(seqc_check_memory((3 << 20) + 1, "cache"), SEQC_ENOMEM);
	assert_failed(SEQC_ENOMEM, "cache needs about 3.0 MiB", "the memory limit is 3.0 MiB");
	/* a limit above physical memory does not raise it */
	ck_assert_uint_eq(seqc_memory_set_limit(SIZE_MAX - 1), 3 << 20);
	ck_assert_uint_lt(seqc_memory_limit(), SIZE_MAX - 1);
	ck_assert_uint_eq(seqc_memory_set_limit(0), SIZE_MAX - 1);
}
END_TEST

/* Configurations whose parameters (values and gradients) need terabytes:
 * each dimension is within its own limit, the product is not. */
START_TEST(test_absurd_models)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, 0);
	static const char *const configs[] = {
		/* 2^38 embedding weights: 2 TiB */
		"{\"arch\":\"rnnlm\",\"cell\":\"lstm\",\"vocab\":16777216,\"embed\":16384,"
		"\"hidden\":16,\"layers\":1,\"dropout\":0}",
		/* 12 C^2 + V C with C = 2^16: about 1 TiB */
		"{\"arch\":\"gpt\",\"vocab\":1048576,\"context\":1,\"layers\":1,\"heads\":1,"
		"\"embed\":65536}",
	};
	for (size_t i = 0; i < 2; i++) {
		ck_assert_ptr_null(seqc_model_from_config(configs[i], &rng));
		assert_failed(SEQC_ENOMEM, "values and gradients) needs about", "GiB");
	}
}
END_TEST

static const char tiny_gpt[] = "{\"arch\":\"gpt\",\"vocab\":100,\"context\":16,\"layers\":1,"
			       "\"heads\":1,\"embed\":64}";

/* A model that would fit in memory is refused under a lower limit: the
 * check, not malloc, refuses it. */
START_TEST(test_model_over_limit)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, 0);
	seqc_memory_set_limit(100 << 10);
	ck_assert_ptr_null(seqc_model_from_config(tiny_gpt, &rng));
	assert_failed(SEQC_ENOMEM, "params: ", "the memory limit is 0.1 MiB");
	seqc_memory_set_limit(0);
	seqc_model *m = seqc_model_from_config(tiny_gpt, &rng);
	ck_assert_ptr_nonnull(m);
	seqc_model_destroy(m);
}
END_TEST

/* The key/value cache: rows x context x embed x layers, checked when a
 * start grows it; a refused start leaves the model usable. */
START_TEST(test_cache_over_limit)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, 0);
	seqc_model *m = seqc_model_from_config(tiny_gpt, &rng);
	ck_assert_ptr_nonnull(m);
	seqc_memory_set_limit(1 << 20);
	ck_assert_int_eq(seqc_model_start(m, 2), 0);
	/* 200 rows: (2 layers' k and v + scratch) 3 x 200 x 16 x 64 floats = 2.3 MiB */
	ck_assert_int_eq(seqc_model_start(m, 200), SEQC_ENOMEM);
	assert_failed(SEQC_ENOMEM, "key/value cache of 200 rows", "the memory limit is 1.0 MiB");
	seqc_memory_set_limit(0);
	ck_assert_int_eq(seqc_model_start(m, 2), 0);
	seqc_graph *g = seqc_graph_create(0);
	seqc_tensor *logits;
	ck_assert_int_eq(seqc_model_step(m, g, (int32_t[]){ 1, 2 }, &logits), 0);
	ck_assert_uint_eq(logits->shape[1], 100);
	seqc_graph_destroy(g);
	ck_assert_int_eq(seqc_model_start(m, 200), 0);
	seqc_model_destroy(m);
}
END_TEST

/* Every public destroy and free of the installed headers accepts NULL (and
 * the free functions of caller-owned structs a zeroed struct). */
START_TEST(test_destroy_null)
{
	seqc_graph_destroy(NULL);
	seqc_params_destroy(NULL);
	seqc_st_destroy(NULL);
	seqc_tensor_destroy(NULL);
	seqc_ids_destroy(NULL);
	seqc_tok_destroy(NULL);
	seqc_detok_destroy(NULL);
	seqc_spm_nbest_finish(NULL);
	seqc_rnnlm_destroy(NULL);
	seqc_gpt_destroy(NULL);
	seqc_model_destroy(NULL);
	seqc_optim_destroy(NULL);
	seqc_sched_destroy(NULL);
	seqc_beam_results_free(NULL, 3);
	seqc_gen_rows_free(NULL, 3);
	seqc_sampler_free(NULL);
	seqc_lm_streams_free(NULL);
	seqc_bleu_destroy(NULL);
	seqc_chrf_destroy(NULL);
	seqc_s2sr_destroy(NULL);
	seqc_s2st_destroy(NULL);
	seqc_pairs_free(NULL);
	seqc_s2s_store_free(NULL);
	seqc_batches_destroy(NULL);
	seqc_spm_nbest nb;
	memset(&nb, 0, sizeof nb);
	seqc_spm_nbest_finish(&nb);
	seqc_sampler s;
	memset(&s, 0, sizeof s);
	seqc_sampler_free(&s);
	seqc_sampler_free(&s); /* twice: free empties it */
	seqc_lm_streams st;
	memset(&st, 0, sizeof st);
	seqc_lm_streams_free(&st);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("seq_hardening");
	TCase *tc = tcase_create("hardening");
	tcase_add_test(tc, test_check_memory);
	tcase_add_test(tc, test_memory_limit);
	tcase_add_test(tc, test_absurd_models);
	tcase_add_test(tc, test_model_over_limit);
	tcase_add_test(tc, test_cache_over_limit);
	tcase_add_test(tc, test_destroy_null);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(suite());
}
