/* Memory budgets: a request for more memory than the machine has is refused
 * before anything is allocated, with the estimate in the message, instead of
 * being allocated lazily by the kernel and killed by the OOM killer halfway
 * through initialization.
 *
 * The limit is the machine's physical memory (sysconf: _SC_PHYS_PAGES times
 * _SC_PAGESIZE), or less when a program lowers it with
 * seqc_memory_set_limit (a container whose cgroup grants less than the
 * machine has; a fuzzer bounding what one input may take). That limit is
 * the library's only global mutable setting: stored atomically, so reading
 * it from any thread is safe, but meant to be set once at start. */
#ifndef SEQC_SEQ_MEMORY_H
#define SEQC_SEQ_MEMORY_H

#include <stddef.h>

#include "seq/error.h"

/* The bytes a single model, cache or buffer may plan to use: the smaller of
 * physical memory and the limit set below; SIZE_MAX when neither is known. */
SEQC_API size_t seqc_memory_limit(void);

/* Sets the limit to bytes (0: no limit beyond physical memory) for the
 * whole process. Returns the previous setting (0 when none). */
SEQC_API size_t seqc_memory_set_limit(size_t bytes);

/* 0 when bytes <= seqc_memory_limit(); otherwise SEQC_ENOMEM with the
 * message "<what> needs about 12.0 GiB but the machine has 7.8 GiB of
 * memory" (or "... but the memory limit is ...", when set lower). what
 * names the request: "gpt: parameters (values and gradients)". Callers
 * compute bytes with saturating or checked arithmetic: SIZE_MAX means
 * "overflows size_t" and is always refused. */
SEQC_API int seqc_check_memory(size_t bytes, const char *what);

/* a * b, or SIZE_MAX when that overflows size_t: for estimates passed to
 * seqc_check_memory. */
static inline size_t seqc_mul_sat(size_t a, size_t b)
{
	return b && a > (size_t)-1 / b ? (size_t)-1 : a * b;
}

/* a + b, or SIZE_MAX when that overflows size_t. */
static inline size_t seqc_add_sat(size_t a, size_t b)
{
	return a > (size_t)-1 - b ? (size_t)-1 : a + b;
}

#endif
