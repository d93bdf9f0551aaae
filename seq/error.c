#include "seq/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_message[1024];
static _Thread_local int last_code;

const char *seqc_strerror(int code)
{
	switch (code) {
	case SEQC_OK: return "success";
	case SEQC_EINVAL: return "invalid argument";
	case SEQC_ENOMEM: return "out of memory or size too large";
	case SEQC_EIO: return "input/output error";
	case SEQC_EFORMAT: return "malformed input";
	case SEQC_ESHAPE: return "shape mismatch";
	case SEQC_ERANGE: return "index out of range";
	case SEQC_ENONFINITE: return "non-finite value";
	case SEQC_EUTF8: return "invalid UTF-8";
	case SEQC_ESTATE: return "invalid state";
	case SEQC_EUNSUPPORTED: return "unsupported";
	default: return "unknown error";
	}
}

const char *seqc_errmsg(void)
{
	return last_message;
}

int seqc_error(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_message, sizeof last_message, fmt, ap);
	va_end(ap);
	last_code = code;
	return code;
}

int seqc_error_wrap(const char *fmt, ...)
{
	char old[sizeof last_message];
	memcpy(old, last_message, sizeof old);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(last_message, sizeof last_message, fmt, ap);
	va_end(ap);
	/* then ": " and the old message, as much as fits */
	size_t at = n < 0 ? 0 : (size_t)n < sizeof last_message ? (size_t)n : sizeof last_message - 1;
	const char *sep = ": ";
	for (size_t i = 0; sep[i] && at + 1 < sizeof last_message; i++)
		last_message[at++] = sep[i];
	for (size_t i = 0; old[i] && at + 1 < sizeof last_message; i++)
		last_message[at++] = old[i];
	last_message[at] = '\0';
	return seqc_errcode();
}

void seqc_error_clear(void)
{
	last_message[0] = '\0';
	last_code = 0;
}

int seqc_errcode(void)
{
	return last_code ? last_code : SEQC_EINVAL;
}
