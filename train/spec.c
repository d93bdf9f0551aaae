/* "name:key=value,..." specs for optimizers and schedules (see
 * train/spec_internal.h). Strict by design: a typo in a command-line flag
 * should stop the run before it starts, not train with a default. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seq/error.h"
#include "train/spec_internal.h"

/* Longest value we convert; longer values are rejected, not truncated. */
#define VALUE_MAX 64

static void number_str(double v, char *buf, size_t len)
{
	if (isinf(v))
		snprintf(buf, len, "%sinf", v < 0 ? "-" : "");
	else
		snprintf(buf, len, "%g", v);
}

static void range_str(const seqc_spec_key *k, char *buf, size_t len)
{
	char lo[32], hi[32];
	number_str(k->lo, lo, sizeof lo);
	number_str(k->hi, hi, sizeof hi);
	snprintf(buf, len, "%c%s, %s%c", k->lo_open ? '(' : '[', lo, hi, k->hi_open ? ')' : ']');
}

/* NaN is in no range; infinity is in a range closed at infinity (the
 * callers refuse non-finite floats separately). */
static bool in_range(const seqc_spec_key *k, double v)
{
	bool lo_ok = k->lo_open ? v > k->lo : v >= k->lo;
	bool hi_ok = k->hi_open ? v < k->hi : v <= k->hi;
	return lo_ok && hi_ok;
}

static bool applies(const seqc_spec_key *k, int kind)
{
	return (k->kinds >> kind) & 1u;
}

/* The keys that apply to kind, comma-separated, for messages. */
static void key_list(const seqc_spec_key *keys, size_t nkeys, int kind, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < nkeys && used < len; i++) {
		if (!applies(&keys[i], kind))
			continue;
		int w = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", keys[i].key);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int seqc_spec_kind(const char *spec, const char *what, const char *const *names, int nnames,
		   int *kind, const char **params)
{
	if (!spec)
		return seqc_error(SEQC_EINVAL, "%s: no spec given (NULL)", what);
	const char *colon = strchr(spec, ':');
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
	for (int k = 0; k < nnames; k++) {
		if (strlen(names[k]) == len && strncmp(spec, names[k], len) == 0) {
			if (colon && colon[1] == '\0')
				return seqc_error(SEQC_EFORMAT, "%s '%s': nothing after ':' (give key=value pairs or drop the ':')",
						  what, spec);
			*kind = k;
			*params = colon ? colon + 1 : "";
			return 0;
		}
	}
	char list[256];
	size_t used = 0;
	list[0] = '\0';
	for (int k = 0; k < nnames && used < sizeof list; k++) {
		int w = snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", names[k]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return seqc_error(SEQC_EINVAL, "%s '%s': unknown name '%.*s' (expected one of %s)", what, spec,
			  (int)len, spec, list);
}

/* Convert value (NUL-terminated) for key k into *out (as double; INT values
 * are exact up to 2^53, far beyond any step count). */
static int convert(const char *spec, const char *what, const seqc_spec_key *k, const char *part,
		   int partlen, const char *value, double *out)
{
	char *end;
	switch (k->type) {
	case SEQC_SPEC_BOOL:
		if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
			*out = 1;
		else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
			*out = 0;
		else
			return seqc_error(SEQC_EFORMAT, "%s '%s': '%.*s': '%s' is not a boolean (0, 1, false or true)",
					  what, spec, partlen, part, value);
		return 0;
	case SEQC_SPEC_INT: {
		const char *c = value[0] == '-' ? value + 1 : value;
		if (!*c || strspn(c, "0123456789") != strlen(c))
			return seqc_error(SEQC_EFORMAT, "%s '%s': '%.*s': '%s' is not an integer", what, spec,
					  partlen, part, value);
		errno = 0;
		long long v = strtoll(value, &end, 10);
		if (errno == ERANGE)
			return seqc_error(SEQC_ERANGE, "%s '%s': '%.*s': '%s' does not fit in 64 bits", what,
					  spec, partlen, part, value);
		*out = (double)v;
		return 0;
	}
	case SEQC_SPEC_FLOAT: {
		/* strtod skips leading blanks and reads "nan" and "inf": refuse both. */
		if (!value[0] || strchr(" \t\n\v\f\r", value[0]))
			return seqc_error(SEQC_EFORMAT, "%s '%s': '%.*s': '%s' is not a number", what, spec,
					  partlen, part, value);
		errno = 0;
		double v = strtod(value, &end);
		if (*end != '\0')
			return seqc_error(SEQC_EFORMAT, "%s '%s': '%.*s': '%s' is not a number", what, spec,
					  partlen, part, value);
		if (!isfinite(v) || !isfinite((float)v) || errno == ERANGE)
			return seqc_error(SEQC_ENONFINITE, "%s '%s': '%.*s': '%s' is not a finite float", what,
					  spec, partlen, part, value);
		*out = v;
		return 0;
	}
	}
	return seqc_error(SEQC_EINVAL, "%s '%s': key '%s' has an unknown type", what, spec, k->key);
}

static void store(const seqc_spec_key *k, void *cfg, double v)
{
	char *field = (char *)cfg + k->offset;
	if (k->type == SEQC_SPEC_FLOAT) {
		float f = (float)v;
		memcpy(field, &f, sizeof f);
	} else if (k->type == SEQC_SPEC_INT) {
		int64_t i = (int64_t)v;
		memcpy(field, &i, sizeof i);
	} else {
		bool b = v != 0;
		memcpy(field, &b, sizeof b);
	}
}

int seqc_spec_apply(const char *spec, const char *params, const char *what,
		    const seqc_spec_key *keys, size_t nkeys, int kind, void *cfg)
{
	uint64_t seen = 0;
	int namelen = (int)strcspn(spec, ":");
	assert(nkeys <= 64);
	const char *part = params;
	while (*part) {
		const char *comma = strchr(part, ',');
		int partlen = comma ? (int)(comma - part) : (int)strlen(part);
		if (partlen == 0)
			return seqc_error(SEQC_EFORMAT, "%s '%s': empty key=value pair (stray ',')", what, spec);
		const char *eq = memchr(part, '=', (size_t)partlen);
		if (!eq)
			return seqc_error(SEQC_EFORMAT, "%s '%s': '%.*s' is not key=value", what, spec, partlen,
					  part);
		size_t keylen = (size_t)(eq - part);
		int valuelen = partlen - (int)keylen - 1;
		size_t i;
		for (i = 0; i < nkeys; i++)
			if (strlen(keys[i].key) == keylen && strncmp(part, keys[i].key, keylen) == 0)
				break;
		if (i == nkeys || !applies(&keys[i], kind)) {
			char list[256];
			key_list(keys, nkeys, kind, list, sizeof list);
			return seqc_error(SEQC_EINVAL, "%s '%s': '%.*s': unknown key '%.*s' for %.*s (keys: %s)",
					  what, spec, partlen, part, (int)keylen, part, namelen, spec, list);
		}
		const seqc_spec_key *k = &keys[i];
		if (seen >> i & 1u)
			return seqc_error(SEQC_EINVAL, "%s '%s': key '%s' given twice", what, spec, k->key);
		seen |= (uint64_t)1 << i;
		if (valuelen == 0 || valuelen >= VALUE_MAX)
			return seqc_error(SEQC_EFORMAT, "%s '%s': '%.*s': value %s", what, spec, partlen, part,
					  valuelen ? "too long" : "missing");
		char value[VALUE_MAX];
		memcpy(value, eq + 1, (size_t)valuelen);
		value[valuelen] = '\0';
		double v = 0;
		int rc = convert(spec, what, k, part, partlen, value, &v);
		if (rc < 0)
			return rc;
		if (k->type != SEQC_SPEC_BOOL && !in_range(k, v)) {
			char range[80];
			range_str(k, range, sizeof range);
			return seqc_error(SEQC_ERANGE, "%s '%s': '%.*s': %s must be in %s", what, spec, partlen,
					  part, k->key, range);
		}
		store(k, cfg, v);
		part += partlen;
		if (*part == ',') {
			part++;
			if (!*part)
				return seqc_error(SEQC_EFORMAT, "%s '%s': empty key=value pair (stray ',')", what,
						  spec);
		}
	}
	return 0;
}

int seqc_spec_check(const char *what, const seqc_spec_key *keys, size_t nkeys, int kind,
		    const void *cfg)
{
	for (size_t i = 0; i < nkeys; i++) {
		const seqc_spec_key *k = &keys[i];
		const char *field = (const char *)cfg + k->offset;
		double v;
		if (!applies(k, kind) || k->type == SEQC_SPEC_BOOL)
			continue;
		if (k->type == SEQC_SPEC_FLOAT) {
			float f;
			memcpy(&f, field, sizeof f);
			v = f;
		} else {
			int64_t n;
			memcpy(&n, field, sizeof n);
			v = (double)n;
		}
		if (!in_range(k, v) || !isfinite(v)) {
			char range[80], value[32];
			range_str(k, range, sizeof range);
			number_str(v, value, sizeof value);
			return seqc_error(isfinite(v) ? SEQC_ERANGE : SEQC_ENONFINITE,
					  "%s: %s = %s must be in %s (spec key '%s')", what, k->field,
					  value, range, k->key);
		}
	}
	return 0;
}
