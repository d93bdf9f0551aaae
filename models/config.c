#include "models/config_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq/error.h"

int seqc_cfg_size(json_t *o, const char *what, const char *key, size_t max, bool required,
		  size_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!v && !required)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || (uint64_t)json_integer_value(v) > max)
		return seqc_error(SEQC_EFORMAT, "%s config: \"%s\" is missing or not an integer in [1, %zu]",
				  what, key, max);
	*out = (size_t)json_integer_value(v);
	return 0;
}

int seqc_cfg_float(json_t *o, const char *what, const char *key, float *out)
{
	json_t *v = json_object_get(o, key);
	if (v && !json_is_number(v))
		return seqc_error(SEQC_EFORMAT, "%s config: \"%s\" is not a number", what, key);
	if (v)
		*out = (float)json_number_value(v);
	return 0;
}

double seqc_cfg_real(float f)
{
	if (!isfinite(f))
		return (double)f;
	char buf[32];
	/* 9 significant digits always read back as the same float */
	for (int digits = 1; digits < 9; digits++) {
		snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
		if (strtof(buf, NULL) == f)
			return strtod(buf, NULL);
	}
	return (double)f;
}

int seqc_cfg_bool(json_t *o, const char *what, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);
	if (v && !json_is_boolean(v))
		return seqc_error(SEQC_EFORMAT, "%s config: \"%s\" is not a boolean", what, key);
	if (v)
		*out = json_is_true(v);
	return 0;
}

int seqc_cfg_check_keys(json_t *o, const char *what, const char *const *known, size_t n)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		size_t i = 0;
		while (i < n && strcmp(key, known[i]))
			i++;
		if (i == n)
			return seqc_error(SEQC_EFORMAT, "%s config: unknown field \"%s\"", what, key);
	}
	return 0;
}
