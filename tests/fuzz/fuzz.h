/* What the libFuzzer harnesses share: the entry points, a checked
 * invariant that libFuzzer reports as a crash, and a workout for any
 * tokenizer a loader accepted. Built only with -Dfuzz=true (run.sh). */
#ifndef SEQC_TESTS_FUZZ_FUZZ_H
#define SEQC_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "seq/seqc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the library: abort (a crash libFuzzer saves with its
 * input) when it does not hold. */
#define FUZZ_CHECK(cond)                                                   \
	do {                                                               \
		if (!(cond))                                               \
			fuzz_fail(__FILE__, __LINE__, #cond);              \
	} while (0)

/* Prints the failed check on the stderr the process started with (run.sh
 * closes stderr with -close_fd_mask, as the seqc program's parsers print
 * on every bad value) and aborts. */
_Noreturn void fuzz_fail(const char *file, int line, const char *cond);

/* What one input may make the library allocate for a model or a cache:
 * bigger configurations must be refused by seqc_check_memory, not
 * allocated (libFuzzer's -rss_limit_mb is 2048, and initializing a large
 * model would time out). */
#define FUZZ_MEMORY_LIMIT ((size_t)32 << 20)

/* A failure must say why: a negative code and a message. */
void fuzz_check_failed(void);

/* A NUL-terminated copy of data[0..size) (for readers taking C strings). */
char *fuzz_strdup(const uint8_t *data, size_t size);

/* The path of an in-memory file (memfd) holding data[0..size): for readers
 * that take a path. Valid until the next call. */
const char *fuzz_file(const uint8_t *data, size_t size);

/* Encodes, decodes (at once and streaming), looks up pieces and round-trips
 * the JSON form of a tokenizer a loader accepted, checking every result. */
void fuzz_tokenizer(const seqc_tok *t);

#endif
