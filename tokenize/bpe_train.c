/* The byte-level BPE trainer (see seqc_bpe_train in tokenize/bpe.h).
 *
 * Each distinct pre-token is a word with a count and an array of symbol
 * ids. Every adjacent pair of symbols has a total count over all words, and
 * a list of the words it was seen in (possibly stale: a word is checked
 * when visited). A merge visits only the words on its pair's list, rewrites
 * them, and changes only the counts of the pairs it touches; a heap of
 * (count, pair) entries, pushed whenever a count grows and refreshed when a
 * popped entry turns out stale, finds the next most frequent pair. */
#include "tokenize/bpe.h"

#include <stdlib.h>
#include <string.h>

#include "tokenize/bpe_internal.h"

typedef struct pair {
	int32_t left, right;
	int64_t count;      /* occurrences over all words, weighted by word counts */
	int32_t *where;     /* [nwhere] words it was seen in (may repeat or be stale) */
	uint32_t nwhere, capwhere;
	bool merged;        /* already a merge: chosen again, it adds no token */
} pair;

typedef struct entry {
	int64_t count;      /* the pair's count when pushed */
	int32_t pair;
} entry;

typedef struct trainer {
	seqc_strtab vocab;  /* entry i: the raw bytes of token i */
	/* words */
	int32_t *sym;       /* every word's symbols, word w from start[w] */
	size_t *start;
	uint32_t *len;
	int64_t *count;
	uint32_t *stamp;    /* the merge that last visited each word, plus one */
	size_t nwords;
	/* pairs */
	pair *pairs;
	size_t npairs, cappairs;
	int32_t *slots;     /* pair index by (left, right), open addressing, -1 empty */
	size_t nslots;
	/* the heap and the result */
	entry *heap;
	size_t nheap, capheap;
	bool live;          /* pushing on growth (after the first count) */
	int32_t (*merges)[2];
	size_t nmerges, capmerges;
} trainer;

static const char *what = "bpe trainer";

/* Grows *p (of *cap elements of size each) to hold need; SEQC_ENOMEM. */
static int grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *q = c <= SIZE_MAX / size ? realloc(*(void **)p, c * size) : NULL;
	if (!q)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu elements", what, c);
	*(void **)p = q;
	*cap = c;
	return 0;
}

/* ---- the heap: most frequent first, then the bytewise smaller pair ---- */

static int cmp_piece(const trainer *tr, int32_t a, int32_t b)
{
	size_t an, bn;
	const char *ap = seqc_strtab_get(&tr->vocab, a, &an), *bp = seqc_strtab_get(&tr->vocab, b, &bn);
	int c = memcmp(ap, bp, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

/* True when entry a goes before b. */
static bool before(const trainer *tr, const entry *a, const entry *b)
{
	if (a->count != b->count)
		return a->count > b->count;
	const pair *p = &tr->pairs[a->pair], *q = &tr->pairs[b->pair];
	int c = cmp_piece(tr, p->left, q->left);
	if (!c)
		c = cmp_piece(tr, p->right, q->right);
	return c < 0;
}

static int heap_push(trainer *tr, int32_t pi)
{
	size_t cap = tr->capheap;
	int rc = grow(&tr->heap, &cap, tr->nheap + 1, sizeof *tr->heap);
	if (rc < 0)
		return rc;
	tr->capheap = cap;
	entry e = {tr->pairs[pi].count, pi};
	size_t i = tr->nheap++;
	while (i > 0 && before(tr, &e, &tr->heap[(i - 1) / 2])) {
		tr->heap[i] = tr->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	tr->heap[i] = e;
	return 0;
}

static entry heap_pop(trainer *tr)
{
	entry top = tr->heap[0], last = tr->heap[--tr->nheap];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= tr->nheap)
			break;
		if (c + 1 < tr->nheap && before(tr, &tr->heap[c + 1], &tr->heap[c]))
			c++;
		if (!before(tr, &tr->heap[c], &last))
			break;
		tr->heap[i] = tr->heap[c];
		i = c;
	}
	tr->heap[i] = last;
	return top;
}

/* ---- pair counts ---- */

static size_t slot_of(int32_t l, int32_t r, size_t mask)
{
	uint64_t key = (uint64_t)(uint32_t)l << 32 | (uint32_t)r;
	return (size_t)((key * 0x9E3779B97F4A7C15u) >> 32) & mask;
}

static int rehash(trainer *tr)
{
	size_t n = tr->nslots ? 2 * tr->nslots : 1 << 16;
	int32_t *slots = malloc(n * sizeof *slots);
	if (!slots)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu pair slots", what, n);
	memset(slots, 0xFF, n * sizeof *slots);
	for (size_t k = 0; k < tr->npairs; k++) {
		size_t i = slot_of(tr->pairs[k].left, tr->pairs[k].right, n - 1);
		while (slots[i] >= 0)
			i = (i + 1) & (n - 1);
		slots[i] = (int32_t)k;
	}
	free(tr->slots);
	tr->slots = slots;
	tr->nslots = n;
	return 0;
}

/* Index of the pair (l, r), made with count 0 when new; negative code. */
static int32_t find_pair(trainer *tr, int32_t l, int32_t r)
{
	int rc;
	if (2 * (tr->npairs + 1) > tr->nslots && (rc = rehash(tr)) < 0)
		return rc;
	size_t mask = tr->nslots - 1, i = slot_of(l, r, mask);
	for (; tr->slots[i] >= 0; i = (i + 1) & mask) {
		const pair *p = &tr->pairs[tr->slots[i]];
		if (p->left == l && p->right == r)
			return tr->slots[i];
	}
	if (tr->npairs >= INT32_MAX)
		return seqc_error(SEQC_ENOMEM, "%s: too many distinct pairs", what);
	if ((rc = grow(&tr->pairs, &tr->cappairs, tr->npairs + 1, sizeof *tr->pairs)) < 0)
		return rc;
	tr->pairs[tr->npairs] = (pair){.left = l, .right = r};
	tr->slots[i] = (int32_t)tr->npairs;
	return (int32_t)tr->npairs++;
}

/* Adds delta to the count of (l, r), as seen in word w; growth lists the
 * word and, once training runs, pushes the new count. */
static int add_pair(trainer *tr, int32_t l, int32_t r, int64_t delta, size_t w)
{
	int32_t pi = find_pair(tr, l, r);
	if (pi < 0)
		return pi;
	pair *p = &tr->pairs[pi];
	p->count += delta;
	if (delta <= 0)
		return 0;
	if (p->nwhere == 0 || p->where[p->nwhere - 1] != (int32_t)w) {
		size_t cap = p->capwhere;
		int rc = grow(&p->where, &cap, (size_t)p->nwhere + 1, sizeof *p->where);
		if (rc < 0)
			return rc;
		p->capwhere = (uint32_t)cap;
		p->where[p->nwhere++] = (int32_t)w;
	}
	return tr->live ? heap_push(tr, pi) : 0;
}

/* ---- words ---- */

/* Counts the pre-tokens of text (valid UTF-8) into words (distinct byte
 * strings, pieces of at most SEQC_TOK_MAX_PIECE bytes) and counts. */
static int count_words(const uint8_t *text, size_t len, seqc_strtab *words, int64_t **counts,
		       size_t *cap)
{
	for (size_t pos = 0, end; pos < len; pos = end) {
		end = seqc_bpe_pretok_next((const char *)text, len, pos);
		for (size_t a = pos; a < end; a += SEQC_TOK_MAX_PIECE) {
			size_t n = end - a < SEQC_TOK_MAX_PIECE ? end - a : SEQC_TOK_MAX_PIECE;
			int32_t k = seqc_strtab_intern(words, text + a, n, NULL);
			if (k < 0)
				return k;
			size_t old = *cap;
			int rc = grow(counts, cap, (size_t)k + 1, sizeof **counts);
			if (rc < 0)
				return rc;
			memset(*counts + old, 0, (*cap - old) * sizeof **counts);
			(*counts)[k]++;
		}
	}
	return 0;
}

/* The words as symbol arrays of byte ids, and the first pair counts. */
static int init_words(trainer *tr, const seqc_strtab *words, int64_t *counts,
		      const int32_t byte_id[256])
{
	size_t n = words->count, total = words->pool_len;
	tr->nwords = n;
	tr->count = counts;
	tr->sym = malloc((total ? total : 1) * sizeof *tr->sym);
	tr->start = malloc((n ? n : 1) * sizeof *tr->start);
	tr->len = malloc((n ? n : 1) * sizeof *tr->len);
	tr->stamp = calloc(n ? n : 1, sizeof *tr->stamp);
	if (!tr->sym || !tr->start || !tr->len || !tr->stamp)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu words", what, n);
	size_t at = 0;
	for (size_t w = 0; w < n; w++) {
		size_t wl;
		const uint8_t *s = (const uint8_t *)seqc_strtab_get(words, (int32_t)w, &wl);
		tr->start[w] = at;
		tr->len[w] = (uint32_t)wl;
		for (size_t i = 0; i < wl; i++)
			tr->sym[at + i] = byte_id[s[i]];
		for (size_t i = 0; i + 1 < wl; i++) {
			int rc = add_pair(tr, tr->sym[at + i], tr->sym[at + i + 1], counts[w], w);
			if (rc < 0)
				return rc;
		}
		at += wl;
	}
	tr->live = true;
	for (size_t k = 0; k < tr->npairs; k++) {
		int rc = heap_push(tr, (int32_t)k);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Rewrites word w merging each (a, b), left to right, into c, and moves
 * the counts: an occurrence removes (a, b), (x, a) and (b, y) and adds
 * (x, c) and (c, y), where two occurrences side by side share one
 * neighbour pair, which becomes (c, c). */
static int merge_word(trainer *tr, size_t w, int32_t a, int32_t b, int32_t c)
{
	int32_t *s = tr->sym + tr->start[w];
	size_t m = tr->len[w], o = 0, after_merge = SIZE_MAX;
	int64_t k = tr->count[w];
	int32_t prev = -1; /* the old symbol before i */
	int rc = 0;
	for (size_t i = 0; i < m && rc == 0;) {
		if (!(i + 1 < m && s[i] == a && s[i + 1] == b)) {
			prev = s[i];
			s[o++] = s[i++];
			continue;
		}
		rc = add_pair(tr, a, b, -k, w);
		if (rc == 0 && i > 0) {
			if (after_merge == i) {
				rc = add_pair(tr, c, c, k, w);
			} else {
				rc = add_pair(tr, prev, a, -k, w);
				if (rc == 0)
					rc = add_pair(tr, prev, c, k, w);
			}
		}
		if (rc == 0 && i + 2 < m) {
			bool next_too = i + 3 < m && s[i + 2] == a && s[i + 3] == b;
			rc = add_pair(tr, b, s[i + 2], -k, w);
			if (rc == 0 && !next_too)
				rc = add_pair(tr, c, s[i + 2], k, w);
		}
		prev = b;
		s[o++] = c;
		i += 2;
		after_merge = i;
	}
	tr->len[w] = (uint32_t)o;
	return rc;
}

/* The next pair to merge, or -1 when no pair is left. */
static int32_t best_pair(trainer *tr)
{
	while (tr->nheap > 0) {
		entry e = heap_pop(tr);
		const pair *p = &tr->pairs[e.pair];
		if (p->count <= 0)
			continue;
		if (p->count == e.count)
			return e.pair;
		/* Stale: counts only shrink without a push, so re-queue. */
		if (heap_push(tr, e.pair) < 0)
			return seqc_errcode();
	}
	return -1;
}

/* Merges pair pi everywhere it occurs; *id is the merged token, new or
 * (when another merge already spelled the same bytes) existing. */
static int apply_merge(trainer *tr, int32_t pi, uint32_t stamp, int32_t *id)
{
	int32_t l = tr->pairs[pi].left, r = tr->pairs[pi].right;
	size_t ln, rn;
	const char *lp = seqc_strtab_get(&tr->vocab, l, &ln), *rp = seqc_strtab_get(&tr->vocab, r, &rn);
	char buf[2 * SEQC_TOK_MAX_PIECE];
	memcpy(buf, lp, ln);
	memcpy(buf + ln, rp, rn);
	int32_t c = seqc_strtab_intern(&tr->vocab, buf, ln + rn, NULL);
	if (c < 0)
		return c;
	*id = c;
	/* The list is taken: the pair cannot reappear in these words, since
	 * every new pair holds c, which is neither l nor r. */
	int32_t *where = tr->pairs[pi].where;
	uint32_t nwhere = tr->pairs[pi].nwhere;
	tr->pairs[pi].where = NULL;
	tr->pairs[pi].nwhere = tr->pairs[pi].capwhere = 0;
	int rc = 0;
	for (uint32_t k = 0; k < nwhere && rc == 0; k++) {
		size_t w = (size_t)where[k];
		if (tr->stamp[w] == stamp)
			continue;
		tr->stamp[w] = stamp;
		rc = merge_word(tr, w, l, r, c);
	}
	free(where);
	return rc;
}

static int record_merge(trainer *tr, int32_t l, int32_t r)
{
	int rc = grow(&tr->merges, &tr->capmerges, tr->nmerges + 1, sizeof *tr->merges);
	if (rc < 0)
		return rc;
	tr->merges[tr->nmerges][0] = l;
	tr->merges[tr->nmerges][1] = r;
	tr->nmerges++;
	return 0;
}

/* The tokenizer of the trained vocabulary, "<|endoftext|>" appended. */
static seqc_tok *make_tokenizer(trainer *tr, bool replace)
{
	size_t n = tr->vocab.count + 1;
	const uint8_t **pieces = malloc(n * sizeof *pieces);
	size_t *lens = malloc(n * sizeof *lens);
	seqc_bpe *t = NULL;
	if (!pieces || !lens) {
		seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu tokens", what, n);
		goto done;
	}
	for (size_t i = 0; i + 1 < n; i++)
		pieces[i] = (const uint8_t *)seqc_strtab_get(&tr->vocab, (int32_t)i, &lens[i]);
	pieces[n - 1] = (const uint8_t *)SEQC_BPE_EOT;
	lens[n - 1] = strlen(SEQC_BPE_EOT);
	if (!(t = seqc_bpe_create(pieces, lens, n, (int32_t)(n - 1), replace, what)))
		goto done;
	for (size_t r = 0; r < tr->nmerges; r++) {
		if (seqc_bpe_add_merge(t, tr->merges[r][0], tr->merges[r][1]) < 0) {
			seqc_error_wrap("%s: merge %zu", what, r);
			seqc_tok_destroy(&t->base);
			t = NULL;
			break;
		}
	}
done:
	free(pieces);
	free(lens);
	return t ? &t->base : NULL;
}

static void trainer_finish(trainer *tr)
{
	seqc_strtab_finish(&tr->vocab);
	free(tr->sym);
	free(tr->start);
	free(tr->len);
	free(tr->count);
	free(tr->stamp);
	for (size_t k = 0; k < tr->npairs; k++)
		free(tr->pairs[k].where);
	free(tr->pairs);
	free(tr->slots);
	free(tr->heap);
	free(tr->merges);
}

/* Trains on valid UTF-8. */
static int train(trainer *tr, const uint8_t *text, size_t len, size_t vocab_size)
{
	/* Bytes first, in the order of GPT-2's first 256 ids: by the code
	 * point that spells them. */
	int32_t byte_id[256];
	for (uint32_t c = 0, id = 0; id < 256; c++) {
		int b = seqc_bpe_char_byte(c);
		if (b < 0)
			continue;
		uint8_t byte = (uint8_t)b;
		int32_t k = seqc_strtab_intern(&tr->vocab, &byte, 1, NULL);
		if (k < 0)
			return k;
		byte_id[b] = k;
		id++;
	}
	seqc_strtab words;
	seqc_strtab_init(&words);
	int64_t *counts = NULL;
	size_t cap = 0;
	int rc = count_words(text, len, &words, &counts, &cap);
	if (rc == 0) {
		rc = init_words(tr, &words, counts, byte_id);
	} else {
		free(counts);
	}
	seqc_strtab_finish(&words);
	uint32_t stamp = 0;
	while (rc == 0 && tr->vocab.count + 1 < vocab_size) {
		int32_t pi = best_pair(tr);
		if (pi < 0) {
			rc = pi == -1 ? 0 : pi;
			break;
		}
		int32_t id;
		bool again = tr->pairs[pi].merged;
		int32_t l = tr->pairs[pi].left, r = tr->pairs[pi].right;
		tr->pairs[pi].merged = true;
		rc = apply_merge(tr, pi, ++stamp, &id);
		if (rc == 0 && !again)
			rc = record_merge(tr, l, r);
	}
	return rc;
}

int seqc_bpe_train(const char *text, size_t len, size_t vocab_size,
		   const seqc_bpe_train_opts *opts, seqc_tok **out)
{
	if (!out)
		return seqc_error(SEQC_EINVAL, "%s: out is NULL", what);
	*out = NULL;
	if (!text && len)
		return seqc_error(SEQC_EINVAL, "%s: text is NULL but len is %zu", what, len);
	if (vocab_size < 257 || vocab_size > SEQC_TOK_MAX_VOCAB)
		return seqc_error(SEQC_EINVAL, "%s: vocab_size %zu is outside [257, %zu] (the 256 bytes "
				  "and %s count)", what, vocab_size, SEQC_TOK_MAX_VOCAB, SEQC_BPE_EOT);
	bool replace = opts && opts->replace_invalid;
	const uint8_t *s = (const uint8_t *)(text ? text : "");
	uint8_t *fixed = NULL;
	size_t bad = seqc_utf8_first_invalid(s, len);
	if (bad < len) {
		if (!replace)
			return seqc_utf8_error(what, s, len, bad, 0);
		fixed = len <= SIZE_MAX / 3 ? malloc(3 * len) : NULL;
		if (!fixed)
			return seqc_error(SEQC_ENOMEM, "%s: cannot allocate a copy of %zu bytes", what, len);
		len = seqc_utf8_replace(s, len, fixed);
		s = fixed;
	}
	trainer tr;
	memset(&tr, 0, sizeof tr);
	seqc_strtab_init(&tr.vocab);
	int rc = train(&tr, s, len, vocab_size);
	if (rc == 0 && !(*out = make_tokenizer(&tr, replace)))
		rc = seqc_errcode();
	trainer_finish(&tr);
	free(fixed);
	return rc;
}
