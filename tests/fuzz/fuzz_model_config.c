/* Model configurations (a checkpoint's seqc.config, a --config file):
 * every arch's config_from_json through seqc_model_from_config. A model
 * beyond FUZZ_MEMORY_LIMIT must be refused before it is allocated; one
 * that is made must round-trip its JSON and take a decoding step. */
#include <string.h>

#include "fuzz.h"

static seqc_graph *graph;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	seqc_memory_set_limit(FUZZ_MEMORY_LIMIT);
	graph = seqc_graph_create(1 << 20);
	FUZZ_CHECK(graph);
	seqc_graph_set_grad(graph, false);
	return 0;
}

static void step(seqc_model *m)
{
	int32_t tokens[2] = { 0, (int32_t)m->vocab - 1 };
	seqc_tensor *logits;
	if (seqc_model_start(m, 2) < 0) {
		/* only a cache beyond the limit may be refused */
		FUZZ_CHECK(seqc_errcode() == SEQC_ENOMEM || seqc_errcode() == SEQC_EINVAL);
		return;
	}
	FUZZ_CHECK(seqc_model_step(m, graph, tokens, &logits) == 0);
	FUZZ_CHECK(logits->shape[0] == 2 && logits->shape[1] == m->vocab);
	size_t from[2] = { 1, 1 };
	FUZZ_CHECK(seqc_model_reorder(m, from, 2) == 0);
	seqc_graph_reset(graph);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = fuzz_strdup(data, size);
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, 0);
	seqc_model *m = seqc_model_from_config(json, &rng);
	free(json);
	if (!m) {
		fuzz_check_failed();
		return 0;
	}
	FUZZ_CHECK(m->vocab >= 1 && m->params);
	char *c1 = seqc_model_config_json(m);
	FUZZ_CHECK(c1);
	seqc_model *m2 = seqc_model_from_config(c1, &rng);
	FUZZ_CHECK(m2);
	char *c2 = seqc_model_config_json(m2);
	FUZZ_CHECK(c2 && !strcmp(c1, c2));
	free(c1);
	free(c2);
	seqc_model_destroy(m2);
	step(m);
	seqc_model_destroy(m);
	return 0;
}
