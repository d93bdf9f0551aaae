/* Reading model configurations from JSON, shared by the model kinds (gpt,
 * s2s-rnn, s2s-transformer; rnnlm writes with seqc_cfg_real too). `what` names the kind in messages ("gpt
 * config: \"heads\" is ..."). Optional fields keep the value *out holds
 * when they are absent. */
#ifndef SEQC_MODELS_CONFIG_INTERNAL_H
#define SEQC_MODELS_CONFIG_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* An integer in [1, max]; a required one must be there. */
int seqc_cfg_size(json_t *o, const char *what, const char *key, size_t max, bool required,
		  size_t *out);
/* An optional number. */
int seqc_cfg_float(json_t *o, const char *what, const char *key, float *out);
/* An optional boolean. */
int seqc_cfg_bool(json_t *o, const char *what, const char *key, bool *out);
/* The double to write for a float field: the shortest decimal that reads
 * back as f; dumped with JSON_REAL_PRECISION(9), 0.1f is then written 0.1,
 * not 0.10000000149011612. */
double seqc_cfg_real(float f);
/* Every key of o must be among known [n]: a misspelt field must not fall
 * back to a default silently. */
int seqc_cfg_check_keys(json_t *o, const char *what, const char *const *known, size_t n);

#endif
