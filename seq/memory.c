#include "seq/memory.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <unistd.h>

/* 0: no limit set (see memory.h: the library's one global setting) */
static _Atomic size_t user_limit;

static size_t physical_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || page <= 0)
		return SIZE_MAX;
	return seqc_mul_sat((size_t)pages, (size_t)page);
}

size_t seqc_memory_limit(void)
{
	size_t phys = physical_memory(), user = atomic_load(&user_limit);
	return user && user < phys ? user : phys;
}

size_t seqc_memory_set_limit(size_t bytes)
{
	return atomic_exchange(&user_limit, bytes);
}

/* bytes in MiB or GiB, one decimal: "12.0 GiB" */
static const char *human(size_t bytes, char *buf, size_t cap)
{
	double mib = (double)bytes / (1024.0 * 1024.0);
	if (mib < 1024.0)
		snprintf(buf, cap, "%.1f MiB", mib);
	else
		snprintf(buf, cap, "%.1f GiB", mib / 1024.0);
	return buf;
}

int seqc_check_memory(size_t bytes, const char *what)
{
	size_t phys = physical_memory(), user = atomic_load(&user_limit);
	bool by_user = user && user < phys;
	size_t limit = by_user ? user : phys;
	if (bytes <= limit && bytes != SIZE_MAX)
		return 0;
	char need[32], have[32];
	if (bytes == SIZE_MAX)
		return seqc_error(SEQC_ENOMEM, "%s needs more bytes than size_t can count", what);
	if (by_user)
		return seqc_error(SEQC_ENOMEM, "%s needs about %s but the memory limit is %s", what,
				  human(bytes, need, sizeof need), human(limit, have, sizeof have));
	return seqc_error(SEQC_ENOMEM, "%s needs about %s but the machine has %s of memory", what,
			  human(bytes, need, sizeof need), human(limit, have, sizeof have));
}
