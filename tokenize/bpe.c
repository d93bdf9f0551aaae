/* Byte-level BPE: the tokenizer, its files and its JSON form (see
 * tokenize/bpe.h). The trainer is in bpe_train.c, the pre-tokenizer in
 * pretok.c. */
#include "tokenize/bpe.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenize/bpe_internal.h"

/* Files larger than this are refused before parsing: GPT-2's two files
 * together are 1.5 MB. */
#define MAX_FILE_BYTES ((size_t)1 << 28)

/* More merges than this cannot all be distinct pairs of a legal
 * vocabulary's useful tokens; a file claiming them is refused. */
#define MAX_MERGES (2 * SEQC_TOK_MAX_VOCAB)

/* A piece in messages: at most this many bytes of it. */
#define SHOW 40

#define DEAD INT32_MIN

seqc_bpe_opts seqc_bpe_defaults(void)
{
	return (seqc_bpe_opts){.replace_invalid = false};
}

/* ---- the byte alphabet ---- */

/* The bytes GPT-2 spells as themselves: printable Latin-1 but the soft
 * hyphen. The other 68 take U+0100.. in byte order. */
static bool self_spelled(unsigned b)
{
	return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

uint32_t seqc_bpe_byte_char(uint8_t b)
{
	if (self_spelled(b))
		return b;
	if (b <= 0x20)
		return 0x100u + b;
	if (b <= 0xA0)
		return 0x100u + 0x21 + (b - 0x7Fu);
	return 0x100u + 0x21 + 0x22; /* 0xAD */
}

int seqc_bpe_char_byte(uint32_t c)
{
	if (c < 0x100)
		return self_spelled(c) ? (int)c : -1;
	if (c < 0x100 + 0x21)
		return (int)(c - 0x100);
	if (c < 0x100 + 0x21 + 0x22)
		return (int)(c - 0x100 - 0x21 + 0x7F);
	return c == 0x100 + 0x21 + 0x22 ? 0xAD : -1;
}

/* Decodes the alphabet spelling s[0..n) into raw bytes out[0..) (n bytes
 * always suffice). Returns the bytes written, or -1 with *bad set to the
 * offending code point (0x110000 for invalid UTF-8). */
static long alpha_decode(const char *s, size_t n, uint8_t *out, uint32_t *bad)
{
	size_t i = 0, o = 0;
	while (i < n) {
		uint32_t c;
		int k = seqc_utf8_decode((const uint8_t *)s + i, n - i, &c);
		int b = k > 0 ? seqc_bpe_char_byte(c) : -1;
		if (b < 0) {
			*bad = k > 0 ? c : 0x110000;
			return -1;
		}
		out[o++] = (uint8_t)b;
		i += (size_t)k;
	}
	return (long)o;
}

/* Spells raw bytes s[0..n) in the alphabet into out (2 n bytes suffice). */
static size_t alpha_encode(const uint8_t *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t c = seqc_bpe_byte_char(s[i]);
		if (c < 0x80) {
			out[o++] = (char)c;
		} else {
			out[o++] = (char)(0xC0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	return o;
}

/* ---- construction ---- */

static const seqc_tok_vtable bpe_vtable;

static void bpe_destroy(seqc_tok *base)
{
	seqc_bpe *t = (seqc_bpe *)base;
	seqc_strtab_finish(&t->tab);
	free(t->merges);
	free(t->slots);
	free(t);
}

seqc_bpe *seqc_bpe_create(const uint8_t *const *pieces, const size_t *lens, size_t n,
			  int32_t special, bool replace_invalid, const char *what)
{
	if (n > SEQC_TOK_MAX_VOCAB)
		return seqc_error(SEQC_ENOMEM, "%s: %zu tokens, more than the limit of %zu", what, n,
				  SEQC_TOK_MAX_VOCAB), NULL;
	seqc_bpe *t = calloc(1, sizeof *t);
	if (!t)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate the tokenizer", what), NULL;
	t->base.vt = &bpe_vtable;
	t->base.vocab_size = n;
	t->base.bos = t->base.eos = special;
	t->base.pad = t->base.unk = -1;
	t->base.whole_pieces = false;
	t->replace_invalid = replace_invalid;
	seqc_strtab_init(&t->tab);
	for (int b = 0; b < 256; b++)
		t->byte_id[b] = -1;
	for (size_t i = 0; i < n; i++) {
		size_t len = lens[i];
		if (len == 0 || len > SEQC_TOK_MAX_PIECE) {
			seqc_error(len ? SEQC_ENOMEM : SEQC_EFORMAT, "%s: token %zu has %zu bytes; a "
				   "piece has 1 to %d", what, i, len, SEQC_TOK_MAX_PIECE);
			goto fail;
		}
		bool added;
		int32_t k = seqc_strtab_intern(&t->tab, pieces[i], len, &added);
		if (k < 0)
			goto fail;
		if (!added) {
			seqc_error(SEQC_EFORMAT, "%s: token %zu (\"%.*s\") repeats token %d", what, i,
				   (int)(len > SHOW ? SHOW : len), (const char *)pieces[i], k);
			goto fail;
		}
		if (len == 1 && (int32_t)i != special)
			t->byte_id[pieces[i][0]] = (int32_t)i;
	}
	for (int b = 0; b < 256; b++) {
		if (t->byte_id[b] < 0) {
			char spelled[3];
			size_t sl = alpha_encode((const uint8_t *)&(uint8_t){(uint8_t)b}, 1, spelled);
			seqc_error(SEQC_EFORMAT, "%s: byte 0x%02x (\"%.*s\") has no token; a byte-level "
				   "vocabulary needs all 256", what, b, (int)sl, spelled);
			goto fail;
		}
	}
	return t;
fail:
	bpe_destroy(&t->base);
	return NULL;
}

static size_t slot_of(uint64_t key, size_t mask)
{
	return (size_t)((key * 0x9E3779B97F4A7C15u) >> 32) & mask;
}

/* Puts merge r into the table (which has a free slot). */
static void slot_put(seqc_bpe *t, size_t r)
{
	uint64_t key = (uint64_t)(uint32_t)t->merges[r][0] << 32 | (uint32_t)t->merges[r][1];
	size_t mask = t->nslots - 1, i = slot_of(key, mask);
	while (t->slots[i].key != BPE_EMPTY)
		i = (i + 1) & mask;
	t->slots[i] = (bpe_slot){key, (int32_t)r, t->merges[r][2]};
}

/* Rebuilds the merge table with nslots slots from the merge list. */
static int rehash_merges(seqc_bpe *t, size_t nslots)
{
	bpe_slot *slots = malloc(nslots * sizeof *slots);
	if (!slots)
		return seqc_error(SEQC_ENOMEM, "cannot allocate %zu merge slots", nslots);
	for (size_t i = 0; i < nslots; i++)
		slots[i].key = BPE_EMPTY;
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	for (size_t r = 0; r < t->nmerges; r++)
		slot_put(t, r);
	return 0;
}

int seqc_bpe_add_merge(seqc_bpe *t, int32_t left, int32_t right)
{
	int32_t special = t->base.eos, id;
	if (left == special || right == special)
		return seqc_error(SEQC_EFORMAT, "the special token cannot be merged");
	if (seqc_bpe_rank(t, left, right, &id) >= 0)
		return seqc_error(SEQC_EFORMAT, "the merge of tokens %d and %d repeats an earlier one",
				  left, right);
	size_t ln, rn;
	const char *lp = seqc_strtab_get(&t->tab, left, &ln), *rp = seqc_strtab_get(&t->tab, right, &rn);
	char buf[2 * SEQC_TOK_MAX_PIECE];
	memcpy(buf, lp, ln);
	memcpy(buf + ln, rp, rn);
	id = ln + rn <= SEQC_TOK_MAX_PIECE ? seqc_strtab_find(&t->tab, buf, ln + rn) : -1;
	if (id < 0 || id == special) {
		char spelled[2 * SHOW];
		size_t k = alpha_encode((const uint8_t *)buf, ln + rn > SHOW / 2 ? SHOW / 2 : ln + rn,
					spelled);
		return seqc_error(SEQC_EFORMAT, "the merge of tokens %d and %d makes \"%.*s%s\", which "
				  "is not a token", left, right, (int)k, spelled,
				  ln + rn > SHOW / 2 ? "..." : "");
	}
	if (t->nmerges >= MAX_MERGES)
		return seqc_error(SEQC_ENOMEM, "more than %zu merges", (size_t)MAX_MERGES);
	if (t->nmerges == t->merges_cap) {
		size_t cap = t->merges_cap ? 2 * t->merges_cap : 1024;
		int32_t(*m)[3] = realloc(t->merges, cap * sizeof *m);
		if (!m)
			return seqc_error(SEQC_ENOMEM, "cannot allocate %zu merges", cap);
		t->merges = m;
		t->merges_cap = cap;
	}
	t->merges[t->nmerges][0] = left;
	t->merges[t->nmerges][1] = right;
	t->merges[t->nmerges][2] = id;
	t->nmerges++;
	if (2 * t->nmerges > t->nslots) {
		int rc = rehash_merges(t, t->nslots ? 2 * t->nslots : 2048);
		if (rc < 0)
			t->nmerges--;
		return rc;
	}
	slot_put(t, t->nmerges - 1);
	return 0;
}

/* ---- encoding ---- */

/* Merges on an array (n <= BPE_SMALL): rank[i] is the rank of the pair
 * (sym[i], sym[i + 1]), so each step is a scan of integers and two
 * lookups. */
static int merge_small(const seqc_bpe *t, const uint8_t *s, size_t n, seqc_idvec *out)
{
	int32_t sym[BPE_SMALL], rank[BPE_SMALL], merged[BPE_SMALL];
	size_t m = n;
	for (size_t i = 0; i < n; i++)
		sym[i] = t->byte_id[s[i]];
	for (size_t i = 0; i + 1 < m; i++) {
		rank[i] = seqc_bpe_rank(t, sym[i], sym[i + 1], &merged[i]);
		if (rank[i] < 0)
			rank[i] = INT32_MAX;
	}
	while (m > 1) {
		size_t at = 0;
		for (size_t i = 1; i + 1 < m; i++)
			if (rank[i] < rank[at])
				at = i;
		if (rank[at] == INT32_MAX)
			break;
		sym[at] = merged[at];
		size_t tail = m - at - 2; /* pairs after the merged one */
		memmove(sym + at + 1, sym + at + 2, tail * sizeof *sym);
		memmove(rank + at + 1, rank + at + 2, tail * sizeof *rank);
		memmove(merged + at + 1, merged + at + 2, tail * sizeof *merged);
		m--;
		for (size_t i = at ? at - 1 : 0; i <= at && i + 1 < m; i++) {
			rank[i] = seqc_bpe_rank(t, sym[i], sym[i + 1], &merged[i]);
			if (rank[i] < 0)
				rank[i] = INT32_MAX;
		}
	}
	for (size_t i = 0; i < m; i++) {
		int rc = seqc_idvec_push(out, sym[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A binary min-heap of (rank << 32 | position) keys. */
typedef struct heap {
	uint64_t *k;
	size_t n, cap;
} heap;

static void heap_push(heap *h, uint64_t key)
{
	assert(h->n < h->cap);
	size_t i = h->n++;
	while (i > 0 && h->k[(i - 1) / 2] > key) {
		h->k[i] = h->k[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->k[i] = key;
}

static uint64_t heap_pop(heap *h)
{
	uint64_t top = h->k[0], last = h->k[--h->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->k[c + 1] < h->k[c])
			c++;
		if (h->k[c] >= last)
			break;
		h->k[i] = h->k[c];
		i = c;
	}
	h->k[i] = last;
	return top;
}

/* Symbols of a long pre-token: a doubly linked list over the byte
 * positions (a symbol is named by the position of its first byte). */
typedef struct symbols {
	int32_t *id;     /* [n] token id, DEAD once merged into its left neighbour */
	uint32_t *next;  /* [n] next symbol's position, n at the end */
	uint32_t *prev;  /* [n] previous symbol's position, UINT32_MAX at the start */
} symbols;

static void push_pair(const seqc_bpe *t, const symbols *y, heap *h, uint32_t i, uint32_t j)
{
	int32_t id;
	int32_t r = seqc_bpe_rank(t, y->id[i], y->id[j], &id);
	if (r >= 0)
		heap_push(h, (uint64_t)r << 32 | i);
}

/* Merges on a heap of candidate pairs keyed by (rank, position): the same
 * order as the array version, in O(n log n). An entry is stale when its
 * left symbol was merged away or its pair changed: the pair at that
 * position no longer has the entry's rank (a rank names one pair). */
static int merge_heap(const seqc_bpe *t, const uint8_t *s, size_t n, seqc_idvec *out)
{
	if (n >= UINT32_MAX)
		return seqc_error(SEQC_ENOMEM, "encode: a pre-token of %zu bytes is too long", n);
	/* The heap starts with n - 1 pairs, and each merge pops one entry
	 * before pushing at most two; merges are fewer than n, so it never
	 * holds more than 2 n entries: 28 bytes a byte in all. */
	size_t per = 3 * sizeof(int32_t) + 2 * sizeof(uint64_t);
	if (n > SIZE_MAX / per)
		return seqc_error(SEQC_ENOMEM, "encode: a pre-token of %zu bytes is too long", n);
	void *mem = malloc(n * per);
	if (!mem)
		return seqc_error(SEQC_ENOMEM, "encode: cannot allocate %zu bytes for a pre-token of "
				  "%zu bytes", n * per, n);
	heap h = {.k = mem, .n = 0, .cap = 2 * n};
	symbols y = {.id = (int32_t *)(h.k + 2 * n)};
	y.next = (uint32_t *)(y.id + n);
	y.prev = y.next + n;
	uint32_t end = (uint32_t)n;
	for (uint32_t i = 0; i < end; i++) {
		y.id[i] = t->byte_id[s[i]];
		y.next[i] = i + 1;
		y.prev[i] = i ? i - 1 : UINT32_MAX;
	}
	for (uint32_t i = 0; i + 1 < end; i++)
		push_pair(t, &y, &h, i, i + 1);
	while (h.n > 0) {
		uint64_t e = heap_pop(&h);
		uint32_t i = (uint32_t)e, j = y.next[i];
		int32_t id = -1;
		if (y.id[i] == DEAD || j == end ||
		    seqc_bpe_rank(t, y.id[i], y.id[j], &id) != (int32_t)(e >> 32))
			continue;
		y.id[i] = id;
		y.id[j] = DEAD;
		y.next[i] = y.next[j];
		if (y.next[j] != end)
			y.prev[y.next[j]] = i;
		if (y.prev[i] != UINT32_MAX)
			push_pair(t, &y, &h, y.prev[i], i);
		if (y.next[i] != end)
			push_pair(t, &y, &h, i, y.next[i]);
	}
	int rc = 0;
	for (uint32_t i = 0; i != end && rc == 0; i = y.next[i])
		rc = seqc_idvec_push(out, y.id[i]);
	free(mem);
	return rc;
}

int seqc_bpe_encode_word(const seqc_bpe *t, const uint8_t *s, size_t n, seqc_idvec *out,
			 bool force_heap)
{
	if (n <= BPE_SMALL && !force_heap)
		return merge_small(t, s, n, out);
	return merge_heap(t, s, n, out);
}

/* One pre-token: a single byte or a whole token of the vocabulary (but
 * never the special) is its own id; the rest is merged. */
static int encode_pretoken(const seqc_bpe *t, const uint8_t *s, size_t n, seqc_idvec *out)
{
	if (n == 1)
		return seqc_idvec_push(out, t->byte_id[s[0]]);
	if (n <= SEQC_TOK_MAX_PIECE) {
		int32_t id = seqc_strtab_find(&t->tab, s, n);
		if (id >= 0 && id != t->base.eos)
			return seqc_idvec_push(out, id);
	}
	return seqc_bpe_encode_word(t, s, n, out, false);
}

static int bpe_encode(const seqc_tok *base, const uint8_t *text, size_t len, seqc_idvec *out)
{
	const seqc_bpe *t = (const seqc_bpe *)base;
	uint8_t *fixed = NULL;
	size_t bad = seqc_utf8_first_invalid(text, len);
	if (bad < len) {
		if (!t->replace_invalid)
			return seqc_utf8_error("encode", text, len, bad, 0);
		fixed = len <= SIZE_MAX / 3 ? malloc(3 * len) : NULL;
		if (!fixed)
			return seqc_error(SEQC_ENOMEM, "encode: cannot allocate a copy of %zu bytes", len);
		len = seqc_utf8_replace(text, len, fixed);
		text = fixed;
	}
	int rc = 0;
	for (size_t pos = 0, end; pos < len && rc == 0; pos = end) {
		end = seqc_bpe_pretok_next((const char *)text, len, pos);
		rc = encode_pretoken(t, text + pos, end - pos, out);
	}
	free(fixed);
	return rc;
}

static const char *bpe_piece(const seqc_tok *base, int32_t id, size_t *len)
{
	return seqc_strtab_get(&((const seqc_bpe *)base)->tab, id, len);
}

static int32_t bpe_lookup(const seqc_tok *base, const char *piece, size_t len)
{
	return seqc_strtab_find(&((const seqc_bpe *)base)->tab, piece, len);
}

/* ---- the JSON form ---- */

/* Token id spelled in the alphabet (specials as themselves) as a new JSON
 * string, or NULL. */
static json_t *spelled_piece(const seqc_bpe *t, int32_t id)
{
	size_t n;
	const char *p = seqc_strtab_get(&t->tab, id, &n);
	if (id == t->base.eos)
		return json_stringn(p, n);
	char buf[2 * SEQC_TOK_MAX_PIECE];
	return json_stringn(buf, alpha_encode((const uint8_t *)p, n, buf));
}

/* Merge of rank r as "left right" in the alphabet, a new JSON string. */
static json_t *spelled_merge(const seqc_bpe *t, size_t r)
{
	size_t ln, rn;
	const char *l = seqc_strtab_get(&t->tab, t->merges[r][0], &ln);
	const char *rt = seqc_strtab_get(&t->tab, t->merges[r][1], &rn);
	char buf[4 * SEQC_TOK_MAX_PIECE + 1];
	size_t k = alpha_encode((const uint8_t *)l, ln, buf);
	buf[k++] = ' ';
	k += alpha_encode((const uint8_t *)rt, rn, buf + k);
	return json_stringn(buf, k);
}

static json_t *bpe_to_json(const seqc_tok *base)
{
	const seqc_bpe *t = (const seqc_bpe *)base;
	json_t *o = json_object(), *vocab = json_array(), *merges = json_array();
	int bad = !o || !vocab || !merges;
	bad |= json_object_set_new(o, "kind", json_string("bpe"));
	bad |= json_object_set_new(o, "version", json_integer(1));
	bad |= json_object_set_new(o, "replace_invalid", json_boolean(t->replace_invalid));
	bad |= json_object_set_new(o, "bos_id", json_integer(base->bos));
	bad |= json_object_set_new(o, "eos_id", json_integer(base->eos));
	for (size_t i = 0; !bad && i < base->vocab_size; i++)
		bad |= json_array_append_new(vocab, spelled_piece(t, (int32_t)i));
	for (size_t r = 0; !bad && r < t->nmerges; r++)
		bad |= json_array_append_new(merges, spelled_merge(t, r));
	/* set_new takes the reference even when it fails. */
	bad |= json_object_set_new(o, "vocab", vocab);
	bad |= json_object_set_new(o, "merges", merges);
	if (bad) {
		json_decref(o);
		seqc_error(SEQC_ENOMEM, "bpe tokenizer: cannot build its JSON");
		return NULL;
	}
	return o;
}

/* The pieces of a vocabulary being loaded: raw bytes in one pool. */
typedef struct pieces {
	const uint8_t **p; /* [n] */
	size_t *len;       /* [n]; SIZE_MAX: not given yet */
	uint8_t *pool;
	size_t used, n;
} pieces;

static int pieces_init(pieces *ps, size_t n, size_t pool_bytes, const char *what)
{
	ps->n = n;
	ps->used = 0;
	ps->p = malloc((n ? n : 1) * sizeof *ps->p);
	ps->len = malloc((n ? n : 1) * sizeof *ps->len);
	ps->pool = malloc(pool_bytes ? pool_bytes : 1);
	if (!ps->p || !ps->len || !ps->pool)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu tokens", what, n);
	for (size_t i = 0; i < n; i++)
		ps->len[i] = SIZE_MAX;
	return 0;
}

static void pieces_finish(pieces *ps)
{
	free(ps->p);
	free(ps->len);
	free(ps->pool);
}

/* Sets token id to the spelling s[0..n): taken as is when special, else
 * decoded from the alphabet. `where` names it in messages ("key \"x\"",
 * "\"vocab\"[3]"). */
static int pieces_set(pieces *ps, size_t id, const char *s, size_t n, bool special,
		      const char *what, const char *where)
{
	uint8_t *dst = ps->pool + ps->used;
	long k = (long)n;
	uint32_t bad;
	if (special)
		memcpy(dst, s, n);
	else if ((k = alpha_decode(s, n, dst, &bad)) < 0)
		return seqc_error(SEQC_EFORMAT, bad > 0x10FFFF ? "%s: %s is not valid UTF-8" :
				  "%s: %s has U+%04X, which is not in GPT-2's byte alphabet", what,
				  where, (unsigned)bad);
	ps->p[id] = dst;
	ps->len[id] = (size_t)k;
	ps->used += (size_t)k;
	return 0;
}

/* Splits "left right" (one space, both non-empty) and adds the merge.
 * where names the line or key in messages. */
static int add_spelled_merge(seqc_bpe *t, const char *s, size_t n, const char *what,
			     const char *where)
{
	const char *sp = memchr(s, ' ', n);
	if (!sp || sp == s || sp + 1 == s + n || memchr(sp + 1, ' ', (size_t)(s + n - sp - 1)))
		return seqc_error(SEQC_EFORMAT, "%s: %s (\"%.*s\") is not two pieces separated by one "
				  "space", what, where, (int)(n > SHOW ? SHOW : n), s);
	int32_t id[2];
	const char *part[2] = {s, sp + 1};
	size_t plen[2] = {(size_t)(sp - s), (size_t)(s + n - sp - 1)};
	for (int k = 0; k < 2; k++) {
		uint8_t raw[SEQC_TOK_MAX_PIECE];
		uint32_t bad;
		long rn = plen[k] <= SEQC_TOK_MAX_PIECE ? alpha_decode(part[k], plen[k], raw, &bad) : -1;
		id[k] = rn > 0 ? seqc_strtab_find(&t->tab, raw, (size_t)rn) : -1;
		if (id[k] < 0)
			return seqc_error(SEQC_EFORMAT, "%s: %s: \"%.*s\" is not a token of the "
					  "vocabulary", what, where, (int)(plen[k] > SHOW ? SHOW : plen[k]),
					  part[k]);
	}
	if (seqc_bpe_add_merge(t, id[0], id[1]) < 0)
		return seqc_error_wrap("%s: %s (\"%.*s\")", what, where, (int)(n > SHOW ? SHOW : n), s);
	return 0;
}

static int get_id(const json_t *obj, const char *key, size_t n, int32_t *id, const char *what)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return seqc_error(SEQC_EFORMAT, "%s: key \"%s\" is missing", what, key);
	if (!json_is_integer(v))
		return seqc_error(SEQC_EFORMAT, "%s: key \"%s\" must be an integer (-1 for none), got "
				  "%s", what, key, seqc_json_type_name(v));
	json_int_t x = json_integer_value(v);
	if (x < -1 || x >= (json_int_t)n)
		return seqc_error(SEQC_EFORMAT, "%s: key \"%s\" is %lld, outside the vocabulary [0, %zu) "
				  "(-1 for none)", what, key, (long long)x, n);
	*id = (int32_t)x;
	return 0;
}

/* The array obj[key] (checked), or NULL with a message. */
static const json_t *get_array(const json_t *obj, const char *key, const char *what)
{
	const json_t *v = json_object_get(obj, key);
	if (!v)
		return seqc_error(SEQC_EFORMAT, "%s: key \"%s\" is missing", what, key), NULL;
	if (!json_is_array(v))
		return seqc_error(SEQC_EFORMAT, "%s: key \"%s\" must be an array of strings, got %s",
				  what, key, seqc_json_type_name(v)), NULL;
	return v;
}

seqc_tok *seqc_tok_bpe_from_json(const json_t *obj, const char *what)
{
	const json_t *v = json_object_get(obj, "version");
	if (v && !(json_is_integer(v) && json_integer_value(v) == 1))
		return seqc_error(SEQC_EUNSUPPORTED, "%s: key \"version\" must be 1, the only bpe "
				  "format this build reads", what), NULL;
	if (!(v = json_object_get(obj, "replace_invalid")) || !json_is_boolean(v))
		return seqc_error(SEQC_EFORMAT, "%s: key \"replace_invalid\" must be true or false",
				  what), NULL;
	bool replace = json_is_true(v);
	const json_t *vocab = get_array(obj, "vocab", what), *merges = get_array(obj, "merges", what);
	if (!vocab || !merges)
		return NULL;
	size_t n = json_array_size(vocab), nm = json_array_size(merges);
	if (n > SEQC_TOK_MAX_VOCAB || nm > MAX_MERGES)
		return seqc_error(SEQC_ENOMEM, "%s: %zu tokens and %zu merges, more than the limits of "
				  "%zu and %zu", what, n, nm, SEQC_TOK_MAX_VOCAB, (size_t)MAX_MERGES), NULL;
	int32_t bos, eos;
	if (get_id(obj, "bos_id", n, &bos, what) < 0 || get_id(obj, "eos_id", n, &eos, what) < 0)
		return NULL;
	if (bos != eos)
		return seqc_error(SEQC_EFORMAT, "%s: \"bos_id\" %d and \"eos_id\" %d differ; a bpe "
				  "tokenizer has one special token, both", what, bos, eos), NULL;

	size_t pool = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(vocab, i);
		if (!json_is_string(e))
			return seqc_error(SEQC_EFORMAT, "%s: \"vocab\"[%zu] must be a string, got %s",
					  what, i, seqc_json_type_name(e)), NULL;
		pool += json_string_length(e);
	}
	pieces ps;
	seqc_bpe *t = NULL;
	if (pieces_init(&ps, n, pool, what) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(vocab, i);
		char where[48];
		snprintf(where, sizeof where, "\"vocab\"[%zu]", i);
		if (pieces_set(&ps, i, json_string_value(e), json_string_length(e),
			       (int32_t)i == eos, what, where) < 0)
			goto done;
	}
	if (!(t = seqc_bpe_create(ps.p, ps.len, n, eos, replace, what)))
		goto done;
	for (size_t r = 0; r < nm; r++) {
		const json_t *e = json_array_get(merges, r);
		char where[48];
		snprintf(where, sizeof where, "\"merges\"[%zu]", r);
		if (!json_is_string(e)) {
			seqc_error(SEQC_EFORMAT, "%s: %s must be a string, got %s", what, where,
				   seqc_json_type_name(e));
		} else if (add_spelled_merge(t, json_string_value(e), json_string_length(e), what,
					     where) == 0) {
			continue;
		}
		bpe_destroy(&t->base);
		t = NULL;
		break;
	}
done:
	pieces_finish(&ps);
	return t ? &t->base : NULL;
}

/* ---- the two files ---- */

/* encoder.json: {"piece": id, ...} with ids 0..n-1 each once. */
static seqc_bpe *parse_encoder(const char *text, size_t len, bool replace, const char *what)
{
	json_error_t err;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return seqc_error(SEQC_EFORMAT, "%s: not valid JSON (line %d, column %d): %s", what,
				  err.line, err.column, err.text), NULL;
	seqc_bpe *t = NULL;
	pieces ps = {0};
	if (!json_is_object(root)) {
		seqc_error(SEQC_EFORMAT, "%s: the top level must be an object of piece: id", what);
		goto done;
	}
	size_t n = json_object_size(root), pool = 0;
	if (n > SEQC_TOK_MAX_VOCAB) {
		seqc_error(SEQC_ENOMEM, "%s: %zu tokens, more than the limit of %zu", what, n,
			   SEQC_TOK_MAX_VOCAB);
		goto done;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
		pool += strlen(key);
	if (pieces_init(&ps, n, pool, what) < 0)
		goto done;
	int32_t special = -1;
	json_object_foreach(root, key, v) {
		char where[SHOW + 16];
		snprintf(where, sizeof where, "key \"%.*s\"", SHOW, key);
		if (!json_is_integer(v)) {
			seqc_error(SEQC_EFORMAT, "%s: %s must map to an integer id, got %s", what, where,
				   seqc_json_type_name(v));
			goto done;
		}
		json_int_t id = json_integer_value(v);
		if (id < 0 || id >= (json_int_t)n) {
			seqc_error(SEQC_EFORMAT, "%s: %s has id %lld, outside [0, %zu) (ids are 0 to the "
				   "number of tokens - 1)", what, where, (long long)id, n);
			goto done;
		}
		if (ps.len[id] != SIZE_MAX) {
			seqc_error(SEQC_EFORMAT, "%s: %s has id %lld, which another key has too", what,
				   where, (long long)id);
			goto done;
		}
		bool is_special = strcmp(key, SEQC_BPE_EOT) == 0;
		if (is_special)
			special = (int32_t)id;
		if (pieces_set(&ps, (size_t)id, key, strlen(key), is_special, what, where) < 0)
			goto done;
	}
	t = seqc_bpe_create(ps.p, ps.len, n, special, replace, what);
done:
	pieces_finish(&ps);
	json_decref(root);
	return t;
}

/* vocab.bpe: an optional "#version" line, then one merge a line. */
static int parse_merges(seqc_bpe *t, const char *text, size_t len, const char *what)
{
	size_t line = 0;
	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + (nl != NULL);
		line++;
		if (n && s[n - 1] == '\r')
			n--;
		if (line == 1 && n >= 8 && memcmp(s, "#version", 8) == 0)
			continue;
		char where[32];
		snprintf(where, sizeof where, "line %zu", line);
		if (add_spelled_merge(t, s, n, what, where) < 0)
			return seqc_errcode();
	}
	return 0;
}

seqc_tok *seqc_bpe_load_mem(const char *encoder_json, size_t encoder_len, const char *merges,
			    size_t merges_len, const seqc_bpe_opts *opts)
{
	seqc_bpe_opts o = opts ? *opts : seqc_bpe_defaults();
	if ((!encoder_json && encoder_len) || (!merges && merges_len))
		return seqc_error(SEQC_EINVAL, "bpe: encoder or merges text is NULL"), NULL;
	seqc_bpe *t = parse_encoder(encoder_json ? encoder_json : "", encoder_len,
				    o.replace_invalid, "encoder.json");
	if (t && parse_merges(t, merges ? merges : "", merges_len, "vocab.bpe") < 0) {
		bpe_destroy(&t->base);
		return NULL;
	}
	return t ? &t->base : NULL;
}

/* dir/name into a new string, or NULL (SEQC_ENOMEM). */
static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (!p)
		return seqc_error(SEQC_ENOMEM, "bpe: cannot allocate a path"), NULL;
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

seqc_tok *seqc_bpe_load_opts(const char *dir, const seqc_bpe_opts *opts)
{
	if (!dir)
		return seqc_error(SEQC_EINVAL, "bpe: the folder is NULL"), NULL;
	seqc_bpe_opts o = opts ? *opts : seqc_bpe_defaults();
	char *enc_path = join(dir, "encoder.json"), *merge_path = join(dir, "vocab.bpe");
	char *enc = NULL, *mer = NULL;
	size_t elen = 0, mlen = 0;
	seqc_bpe *t = NULL;
	if (!enc_path || !merge_path || seqc_read_file(enc_path, MAX_FILE_BYTES, &enc, &elen) < 0 ||
	    seqc_read_file(merge_path, MAX_FILE_BYTES, &mer, &mlen) < 0)
		goto done;
	if ((t = parse_encoder(enc, elen, o.replace_invalid, enc_path)) &&
	    parse_merges(t, mer, mlen, merge_path) < 0) {
		bpe_destroy(&t->base);
		t = NULL;
	}
done:
	free(enc_path);
	free(merge_path);
	free(enc);
	free(mer);
	return t ? &t->base : NULL;
}

seqc_tok *seqc_bpe_load(const char *dir)
{
	return seqc_bpe_load_opts(dir, NULL);
}

/* The merges file text: header and one line a merge. */
static char *merges_text(const seqc_bpe *t, size_t *len)
{
	static const char header[] = "#version: 0.2\n";
	/* Each byte is spelled in at most 2 bytes. */
	size_t cap = sizeof header, n = sizeof header - 1;
	for (size_t r = 0; r < t->nmerges; r++)
		cap += 2 * (t->tab.len[t->merges[r][0]] + t->tab.len[t->merges[r][1]]) + 2;
	char *buf = malloc(cap);
	if (!buf)
		return seqc_error(SEQC_ENOMEM, "bpe: cannot allocate %zu bytes of merges", cap), NULL;
	memcpy(buf, header, n);
	for (size_t r = 0; r < t->nmerges; r++) {
		size_t ln, rn;
		const char *l = seqc_strtab_get(&t->tab, t->merges[r][0], &ln);
		const char *rt = seqc_strtab_get(&t->tab, t->merges[r][1], &rn);
		n += alpha_encode((const uint8_t *)l, ln, buf + n);
		buf[n++] = ' ';
		n += alpha_encode((const uint8_t *)rt, rn, buf + n);
		buf[n++] = '\n';
	}
	*len = n;
	return buf;
}

/* encoder.json's text: every piece by id. */
static char *encoder_text(const seqc_bpe *t, size_t *len)
{
	json_t *o = json_object();
	int bad = !o;
	for (size_t i = 0; !bad && i < t->base.vocab_size; i++) {
		json_t *s = spelled_piece(t, (int32_t)i);
		bad |= !s || json_object_setn_new(o, json_string_value(s), json_string_length(s),
						  json_integer((json_int_t)i));
		json_decref(s);
	}
	size_t n = bad ? 0 : json_dumpb(o, NULL, 0, 0);
	char *buf = n ? malloc(n + 1) : NULL;
	if (!buf || json_dumpb(o, buf, n, 0) != n) {
		free(buf);
		json_decref(o);
		return seqc_error(SEQC_ENOMEM, "bpe: cannot build encoder.json"), NULL;
	}
	json_decref(o);
	buf[n] = '\n';
	*len = n + 1;
	return buf;
}

int seqc_bpe_save(const seqc_tok *base, const char *dir)
{
	if (!base || !dir)
		return seqc_error(SEQC_EINVAL, "bpe save: the tokenizer or folder is NULL");
	if (base->vt != &bpe_vtable)
		return seqc_error(SEQC_EINVAL, "bpe save: the tokenizer is %s, not bpe", base->vt->kind);
	const seqc_bpe *t = (const seqc_bpe *)base;
	size_t plen;
	const char *sp = base->eos >= 0 ? seqc_strtab_get(&t->tab, base->eos, &plen) : NULL;
	if (sp && strcmp(sp, SEQC_BPE_EOT) != 0)
		return seqc_error(SEQC_EUNSUPPORTED, "bpe save: the special token is \"%.*s\"; the "
				  "two files can only name %s (the JSON form keeps any)",
				  (int)(plen > SHOW ? SHOW : plen), sp, SEQC_BPE_EOT);
	size_t elen = 0, mlen = 0;
	char *enc = encoder_text(t, &elen), *mer = enc ? merges_text(t, &mlen) : NULL;
	char *enc_path = join(dir, "encoder.json"), *merge_path = join(dir, "vocab.bpe");
	int rc = !enc || !mer || !enc_path || !merge_path ? seqc_errcode() : 0;
	if (rc == 0)
		rc = seqc_write_file_atomic(enc_path, enc, elen);
	if (rc == 0)
		rc = seqc_write_file_atomic(merge_path, mer, mlen);
	free(enc);
	free(mer);
	free(enc_path);
	free(merge_path);
	return rc;
}

static const seqc_tok_vtable bpe_vtable = {
	.kind = "bpe",
	.encode = bpe_encode,
	.piece = bpe_piece,
	.decode_piece = NULL,
	.lookup = bpe_lookup,
	.to_json = bpe_to_json,
	.destroy = bpe_destroy,
};
