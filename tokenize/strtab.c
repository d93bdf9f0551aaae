#include "tokenize/tok_internal.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a, 32 bits: pieces are short, and the slot array is at most half
 * full, so a simple hash keeps probes short. */
static uint32_t hash_bytes(const uint8_t *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	return h;
}

void seqc_strtab_init(seqc_strtab *t)
{
	memset(t, 0, sizeof *t);
}

void seqc_strtab_finish(seqc_strtab *t)
{
	if (!t)
		return;
	free(t->pool);
	free(t->off);
	free(t->len);
	free(t->hash);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

/* The slot holding string (s, n, h), or the empty slot where it would go. */
static size_t probe(const seqc_strtab *t, const void *s, size_t n, uint32_t h)
{
	size_t mask = t->nslots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		int32_t k = t->slots[i];
		if (k < 0)
			return i;
		if (t->hash[k] == h && t->len[k] == n && memcmp(t->pool + t->off[k], s, n) == 0)
			return i;
	}
}

int32_t seqc_strtab_find(const seqc_strtab *t, const void *s, size_t n)
{
	if (t->count == 0 || n > SEQC_STRTAB_MAX_LEN)
		return -1;
	if (n == 0)
		s = ""; /* memcmp wants a valid pointer even for 0 bytes */
	return t->slots[probe(t, s, n, hash_bytes(s, n))];
}

static int rehash(seqc_strtab *t, size_t nslots)
{
	int32_t *slots = malloc(nslots * sizeof *slots);
	if (!slots)
		return seqc_error(SEQC_ENOMEM, "string table: cannot allocate %zu slots", nslots);
	memset(slots, 0xFF, nslots * sizeof *slots);
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	for (size_t k = 0; k < t->count; k++) {
		size_t i = t->hash[k] & (nslots - 1);
		while (slots[i] >= 0)
			i = (i + 1) & (nslots - 1);
		slots[i] = (int32_t)k;
	}
	return 0;
}

static int grow_entries(seqc_strtab *t)
{
	size_t cap = t->cap ? 2 * t->cap : 64;
	size_t *off = realloc(t->off, cap * sizeof *off);
	if (off)
		t->off = off;
	uint32_t *len = realloc(t->len, cap * sizeof *len);
	if (len)
		t->len = len;
	uint32_t *hash = realloc(t->hash, cap * sizeof *hash);
	if (hash)
		t->hash = hash;
	if (!off || !len || !hash)
		return seqc_error(SEQC_ENOMEM, "string table: cannot grow to %zu strings", cap);
	t->cap = cap;
	return 0;
}

static int grow_pool(seqc_strtab *t, size_t need)
{
	size_t cap = t->pool_cap ? t->pool_cap : 4096;
	while (cap < need)
		cap *= 2;
	char *pool = realloc(t->pool, cap);
	if (!pool)
		return seqc_error(SEQC_ENOMEM, "string table: cannot grow the pool to %zu bytes", cap);
	t->pool = pool;
	t->pool_cap = cap;
	return 0;
}

int32_t seqc_strtab_intern(seqc_strtab *t, const void *s, size_t n, bool *added)
{
	int rc;
	if (added)
		*added = false;
	if (n > SEQC_STRTAB_MAX_LEN)
		return seqc_error(SEQC_ENOMEM, "string table: a string of %zu bytes is too long", n);
	if (n == 0)
		s = "";
	/* Keep the slots at most half full. */
	if (2 * (t->count + 1) > t->nslots && (rc = rehash(t, t->nslots ? 2 * t->nslots : 256)) < 0)
		return rc;
	uint32_t h = hash_bytes(s, n);
	size_t slot = probe(t, s, n, h);
	if (t->slots[slot] >= 0)
		return t->slots[slot];
	if (t->count >= SEQC_STRTAB_MAX_COUNT)
		return seqc_error(SEQC_ENOMEM, "string table: more than %zu strings",
				  (size_t)SEQC_STRTAB_MAX_COUNT);
	if (t->count == t->cap && (rc = grow_entries(t)) < 0)
		return rc;
	if (t->pool_len + n + 1 > t->pool_cap && (rc = grow_pool(t, t->pool_len + n + 1)) < 0)
		return rc;
	size_t k = t->count++;
	t->off[k] = t->pool_len;
	t->len[k] = (uint32_t)n;
	t->hash[k] = h;
	memcpy(t->pool + t->pool_len, s, n);
	t->pool[t->pool_len + n] = '\0';
	t->pool_len += n + 1;
	t->slots[slot] = (int32_t)k;
	if (added)
		*added = true;
	return (int32_t)k;
}
