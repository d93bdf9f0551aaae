#include "train/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq/safetensors.h"

int seqc_ckpt_save(const char *path, const seqc_model *m, const char *tokenizer_json, int64_t step)
{
	char *config = seqc_model_config_json(m);
	if (!config)
		return seqc_errcode();
	char step_str[32];
	snprintf(step_str, sizeof step_str, "%" PRId64, step);
	const char *keys[4] = { "seqc.format", "seqc.config", "seqc.step", "seqc.tokenizer" };
	const char *values[4] = { "1", config, step_str, tokenizer_json };
	int rc = seqc_st_write_params(path, m->params, keys, values, tokenizer_json ? 4 : 3);
	free(config);
	return rc;
}

int seqc_ckpt_load(const char *path, seqc_model **m, char **tokenizer_json, int64_t *step)
{
	seqc_st *st = NULL;
	*m = NULL;
	if (tokenizer_json)
		*tokenizer_json = NULL;
	if (step)
		*step = -1;
	int rc = seqc_st_read(path, &st);
	if (rc < 0)
		return rc;
	const char *config = seqc_st_meta(st, "seqc.config");
	if (!config) {
		seqc_st_destroy(st);
		return seqc_error(SEQC_EFORMAT,
				  "%s: no seqc.config metadata: not a seqc checkpoint (a safetensors file "
				  "from elsewhere?)",
				  path);
	}
	/* The initial values are overwritten right away: any seed will do. */
	seqc_rng rng;
	seqc_rng_seed(&rng, 0, SEQC_STREAM_INIT);
	seqc_model *model = seqc_model_from_config(config, &rng);
	if (!model) {
		rc = seqc_error_wrap("%s", path);
		seqc_st_destroy(st);
		return rc;
	}
	/* its messages name the file already */
	rc = seqc_st_load_params(model->params, st);
	if (rc < 0)
		goto fail;
	const char *tok = seqc_st_meta(st, "seqc.tokenizer");
	if (tokenizer_json && tok && !(*tokenizer_json = strdup(tok))) {
		rc = seqc_error(SEQC_ENOMEM, "%s: cannot copy the tokenizer", path);
		goto fail;
	}
	const char *s = seqc_st_meta(st, "seqc.step");
	if (step && s) {
		char *end;
		long long v = strtoll(s, &end, 10);
		*step = *end || end == s ? -1 : (int64_t)v;
	}
	seqc_st_destroy(st);
	*m = model;
	return 0;
fail:
	seqc_model_destroy(model);
	seqc_st_destroy(st);
	return rc;
}
