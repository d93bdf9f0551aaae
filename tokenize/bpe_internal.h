/* What bpe.c shares with the trainer (bpe_train.c) and the tests: the
 * tokenizer's struct, its constructor in steps, and the byte alphabet.
 * Private to the library, never installed. */
#ifndef SEQC_TOKENIZE_BPE_INTERNAL_H
#define SEQC_TOKENIZE_BPE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenize/bpe.h"
#include "tokenize/tok_internal.h"

/* One entry of the merge table: the pair (left id << 32 | right id), its
 * rank and the id it merges into. */
typedef struct bpe_slot {
	uint64_t key; /* BPE_EMPTY when unused */
	int32_t rank;
	int32_t id;
} bpe_slot;

#define BPE_EMPTY UINT64_MAX

typedef struct seqc_bpe {
	seqc_tok base;
	bool replace_invalid;
	seqc_strtab tab;        /* entry i is the raw bytes of id i (specials: display string) */
	int32_t byte_id[256];   /* the id of each single byte */
	int32_t (*merges)[3];   /* [nmerges] left, right and merged id, by rank */
	size_t nmerges, merges_cap;
	bpe_slot *slots;        /* [nslots] open addressing, at most half full */
	size_t nslots;
} seqc_bpe;

/* A tokenizer of n pieces (raw bytes; pieces[i] is id i) and no merges yet.
 * special is the id of "<|endoftext|>" (bos and eos) or -1. Checks the
 * pieces (1..SEQC_TOK_MAX_PIECE bytes, none repeated, every single byte
 * present and not special); messages start with what and name the id. */
seqc_bpe *seqc_bpe_create(const uint8_t *const *pieces, const size_t *lens, size_t n,
			  int32_t special, bool replace_invalid, const char *what);

/* Adds the merge (left, right) at the next rank. SEQC_EFORMAT when an id
 * is special, the pair is already a merge, or the concatenation is not in
 * the vocabulary (or is special), with a message without context for the
 * caller to wrap; SEQC_ENOMEM. */
int seqc_bpe_add_merge(seqc_bpe *t, int32_t left, int32_t right);

/* The merge of (left, right): its rank, or -1 when the pair has none (then
 * *id is untouched). */
static inline int32_t seqc_bpe_rank(const seqc_bpe *t, int32_t left, int32_t right, int32_t *id)
{
	if (t->nslots == 0)
		return -1;
	uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
	size_t mask = t->nslots - 1;
	for (size_t i = (size_t)((key * 0x9E3779B97F4A7C15u) >> 32) & mask;; i = (i + 1) & mask) {
		if (t->slots[i].key == key) {
			*id = t->slots[i].id;
			return t->slots[i].rank;
		}
		if (t->slots[i].key == BPE_EMPTY)
			return -1;
	}
}

/* Appends the ids of one pre-token s[0..n) (n >= 1) to out: merges on a
 * small array when n is at most BPE_SMALL bytes and !force_heap, else on a
 * heap. Both give the same ids (the tests compare them). SEQC_ENOMEM. */
#define BPE_SMALL 64
int seqc_bpe_encode_word(const seqc_bpe *t, const uint8_t *s, size_t n, seqc_idvec *out,
			 bool force_heap);

/* GPT-2's byte-to-unicode alphabet: the code point that spells byte b, and
 * the byte a code point spells (-1 when none). */
uint32_t seqc_bpe_byte_char(uint8_t b);
int seqc_bpe_char_byte(uint32_t c);

#endif
