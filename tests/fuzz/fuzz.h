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
 * allocated. Small, so that one input (initializing a model, packing its
 * weights for a step, under ASan) stays far below -timeout even on a busy
 * machine: at 32 MiB a 39-layer gpt took 0.8 s of CPU and timed out at 10 s
 * while the machine ran 14 jobs on 2 cores. */
#define FUZZ_MEMORY_LIMIT ((size_t)8 << 20)

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
