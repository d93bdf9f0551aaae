/* Helpers shared by the seq_io suites: the fixtures' value formula, temporary
 * folders and whole-file reads. */
#ifndef SEQC_TESTS_SEQ_IO_COMMON_H
#define SEQC_TESTS_SEQ_IO_COMMON_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

/* Element i of tensor k (in data order) in the formula files: exact in
 * float32; tests/golden/gen_safetensors.py has the same formula. */
static inline float st_value(size_t k, size_t i)
{
	return (float)((long)((i * 7 + k * 3) % 23) - 11) / 8.0f;
}

/* Read path, which must succeed. */
static inline seqc_st *st_read_ok(const char *path)
{
	seqc_st *st = NULL;
	int rc = seqc_st_read(path, &st);
	ck_assert_msg(rc == 0 && st != NULL, "%s: %d, %s", path, rc, seqc_errmsg());
	return st;
}

/* A new empty folder under $TMPDIR (or /tmp); free the result. */
static inline char *st_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = malloc(4096);
	ck_assert_ptr_nonnull(dir);
	snprintf(dir, 4096, "%s/seqc_st_XXXXXX", base && base[0] ? base : "/tmp");
	ck_assert_msg(mkdtemp(dir) != NULL, "cannot make a folder from %s", dir);
	return dir;
}

/* Number of entries in dir, "." and ".." aside; names them on stderr. */
static inline int st_count_files(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	for (struct dirent *e; (e = readdir(d));) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		fprintf(stderr, "  %s/%s\n", dir, e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Remove dir and the files in it; frees dir. */
static inline void st_rmdir(char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		char path[8192];
		for (struct dirent *e; (e = readdir(d));) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}

/* The whole file at path (malloc'd, *len bytes); NULL when it cannot be read. */
static inline unsigned char *st_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			unsigned char *b = realloc(buf, cap);
			ck_assert_ptr_nonnull(b);
			buf = b;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Write bytes [len] to path as is. */
static inline void st_spit(const char *path, const void *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

#endif
