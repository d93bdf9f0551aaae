/* The seqc program's flag parsing (cli/cli.c): arg_is over an argv made
 * of the input's lines, and parse_int / parse_size / parse_real of each
 * value against ranges the first byte picks. A value accepted must be in
 * its range and be what strtoll / strtod read. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "cli/cli.h"
#include "fuzz.h"

static const long long int_ranges[][2] = {
	{ 1, 65536 }, { 0, 1 }, { -1, 1000000 }, { LLONG_MIN, LLONG_MAX }, { 1, 1 }, { 0, 0 },
};
static const double real_ranges[][2] = {
	{ 0, 1 }, { 0, 1e30 }, { -1e300, 1e300 }, { 1e-9, 10 }, { 0, 0 },
};

static void numbers(uint8_t pick, const char *s)
{
	const long long *ir = int_ranges[pick % (sizeof int_ranges / sizeof int_ranges[0])];
	const double *rr = real_ranges[pick % (sizeof real_ranges / sizeof real_ranges[0])];
	long long v;
	if (parse_int("fuzz", "--n", s, ir[0], ir[1], &v) == 0) {
		FUZZ_CHECK(v >= ir[0] && v <= ir[1]);
		FUZZ_CHECK(v == strtoll(s, NULL, 10));
	}
	size_t z;
	size_t lo = ir[0] < 0 ? 0 : (size_t)ir[0], hi = ir[1] < 0 ? 0 : (size_t)ir[1];
	if (parse_size("fuzz", "--n", s, lo, hi, &z) == 0)
		FUZZ_CHECK(z >= lo && z <= hi);
	double d;
	if (parse_real("fuzz", "--x", s, rr[0], rr[1], &d) == 0) {
		FUZZ_CHECK(isfinite(d) && d >= rr[0] && d <= rr[1]);
		FUZZ_CHECK(d == strtod(s, NULL));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	char *text = fuzz_strdup(data + 1, size - 1);
	char *argv[64];
	int argc = 0;
	for (char *p = text; argc < 64;) {
		argv[argc++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	args a = { argc, argv, 0, "fuzz" };
	for (; a.i < a.argc; a.i++) {
		const char *value;
		int before = a.i;
		if (arg_is(&a, "--n", &value)) {
			FUZZ_CHECK(a.i == before || a.i == before + 1);
			if (value)
				numbers(data[0], value);
		} else {
			numbers(data[0], a.argv[a.i]);
		}
	}
	free(text);
	return 0;
}
