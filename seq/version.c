#include "seq/seqc.h"

const char *seqc_version(void)
{
	return SEQC_VERSION;
}
