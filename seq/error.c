#include "seq/error.h"

#include <stdarg.h>
#include <stdio.h>

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

void seqc_error_clear(void)
{
	last_message[0] = '\0';
	last_code = 0;
}

int seqc_errcode(void)
{
	return last_code ? last_code : SEQC_EINVAL;
}
