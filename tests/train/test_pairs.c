/* Parallel-corpus data (train/pairs.h): loading two line-aligned files
 * (line endings, empty and over-long pairs skipped and counted, mismatched
 * line counts, invalid UTF-8 named by file:line, absurd files), source-only
 * lines for translation (order kept, nothing dropped, truncation), and
 * batches by length (every pair once per epoch, the token budget, S and T
 * the longest row's, padding, bos/eos and -1 exactly as models/s2s.h says,
 * seeded and resumable order). Ends with Multi30k and its SentencePiece
 * model when the shared data is there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support.h"
#include "train/pairs.h"

/* The char tokenizer: <pad>=0 <unk>=1 <bos>=2 <eos>=3, then the units of
 * this corpus in code point order (no U+FFFD: a replaced byte becomes
 * unk). */
static seqc_tok *tok;
static char dir[4096];
/* The ids of 'a'..'z', looked up once: loops over every element compare
 * without an assertion each (every assertion costs a message to Check's
 * parent process). */
static int32_t letter_ids[26];

static void setup(void)
{
	const char *corpus = "abcdefghijklmnopqrstuvwxyz \xc3\xa9";
	tok = seqc_tok_char_build(corpus, strlen(corpus), NULL);
	ck_assert_ptr_nonnull(tok);
	ck_assert(make_temp_dir("seqc-pairs", dir, sizeof dir));
	for (int k = 0; k < 26; k++) {
		char c = (char)('a' + k);
		letter_ids[k] = seqc_tok_id(tok, &c, 1);
		ck_assert_int_ge(letter_ids[k], 4);
	}
}

static void teardown(void)
{
	seqc_tok_destroy(tok);
	remove_tree(dir);
}

static const char *write_file(const char *name, const char *data, size_t len)
{
	static char paths[4][4200];
	static int next;
	char *path = paths[next++ % 4];
	snprintf(path, sizeof paths[0], "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static seqc_pairs_options opts(const char *src, const char *tgt, size_t max_len)
{
	return (seqc_pairs_options){ .src_path = src, .tgt_path = tgt, .src_tok = tok,
				     .tgt_tok = tok, .max_len = max_len };
}

static int32_t id_of_fast(char c)
{
	return letter_ids[c - 'a'];
}

static int32_t id_of(char c)
{
	int32_t id = seqc_tok_id(tok, &c, 1);
	ck_assert_int_ge(id, 4);
	return id;
}

/* Pair i holds exactly the characters x and y. */
static void check_pair(const seqc_pairs *p, size_t i, const char *x, const char *y, size_t line)
{
	const seqc_pair *pr = &p->pairs[i];
	ck_assert_uint_eq(pr->src_len, strlen(x));
	ck_assert_uint_eq(pr->tgt_len, strlen(y));
	ck_assert_uint_eq(pr->line, line);
	const int32_t *ids = p->ids + pr->off;
	for (size_t k = 0; x[k]; k++)
		if (ids[k] != id_of_fast(x[k]))
			ck_abort_msg("pair %zu source %zu: %d, expected %d", i, k, ids[k],
				     id_of_fast(x[k]));
	for (size_t k = 0; y[k]; k++)
		if (ids[pr->src_len + k] != id_of_fast(y[k]))
			ck_abort_msg("pair %zu target %zu: %d, expected %d", i, k,
				     ids[pr->src_len + k], id_of_fast(y[k]));
}

START_TEST(test_load_line_endings)
{
	/* \n and \r\n end lines; the last line needs no line break; a BOM
	 * at the start of a file is not text */
	const char *src = write_file("s.txt", "ab\ncd\r\nefg\n", 11);
	const char *tgt = write_file("t.txt", "\xEF\xBB\xBFx\r\nyz\nw", 10);
	seqc_pairs_options o = opts(src, tgt, 0);
	seqc_pairs p;
	ck_assert_msg(seqc_pairs_load(&o, &p) == 0, "%s", seqc_errmsg());
	ck_assert_uint_eq(p.n, 3);
	ck_assert(p.has_target);
	check_pair(&p, 0, "ab", "x", 1);
	check_pair(&p, 1, "cd", "yz", 2);
	check_pair(&p, 2, "efg", "w", 3);
	ck_assert_uint_eq(p.max_src, 4);   /* efg eos */
	ck_assert_uint_eq(p.max_tgt, 3);   /* bos y z / y z eos */
	ck_assert_uint_eq(p.src_tokens, 3 + 3 + 4);
	ck_assert_uint_eq(p.tgt_tokens, 2 + 3 + 2);
	ck_assert_uint_eq(p.n_empty + p.n_long + p.n_replaced, 0);
	ck_assert_int_eq(p.src_eos, 3);
	ck_assert_int_eq(p.tgt_bos, 2);
	ck_assert_int_eq(p.tgt_eos, 3);
	ck_assert_int_eq(p.src_pad, 0);
	ck_assert_int_eq(p.tgt_pad, 0);
	ck_assert_uint_eq(p.src_vocab, seqc_tok_vocab_size(tok));
	seqc_pairs_free(&p);
	ck_assert_ptr_null(p.ids);
	seqc_pairs_free(&p); /* twice: harmless */
}
END_TEST

START_TEST(test_load_mismatch)
{
	const char *src = write_file("src.de", "a\nb\nc\n", 6);
	const char *tgt = write_file("tgt.en", "x\ny\n", 4);
	seqc_pairs_options o = opts(src, tgt, 0);
	seqc_pairs p;
	ck_assert_int_eq(seqc_pairs_load(&o, &p), SEQC_EINVAL);
	const char *msg = seqc_errmsg();
	ck_assert_msg(strstr(msg, "src.de has 3 lines") && strstr(msg, "tgt.en has 2"), "%s", msg);
	ck_assert_ptr_null(p.ids);
	ck_assert_uint_eq(p.n, 0);

	/* a final line break does not make an extra line: "x\ny" is two lines
	 * too, and "a\nb\n\n" is three (the last one empty) */
	ck_assert_int_eq(seqc_pairs_from_text(&o, "a\nb\n\n", 5, "x\ny", 3, &p), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "has 3 lines") && strstr(seqc_errmsg(), "has 2"), "%s",
		      seqc_errmsg());
}
END_TEST

START_TEST(test_load_empty_and_long)
{
	/* line 2: empty target; line 3: empty source; line 4: source of 4
	 * positions (abc eos) over max_len 3; line 5: target of 4 positions
	 * (xyz eos); line 6: both exactly 3 positions, kept; line 7: a source
	 * of spaces only still has tokens (the char tokenizer keeps spaces) */
	const char *src = "a\nb\n\nabc\nd\nef\n  \n";
	const char *tgt = "x\n\ny\nz\nxyz\nuv\nw\n";
	seqc_pairs_options o = opts("s", "t", 3);
	seqc_pairs p;
	ck_assert_msg(seqc_pairs_from_text(&o, src, strlen(src), tgt, strlen(tgt), &p) == 0, "%s",
		      seqc_errmsg());
	ck_assert_uint_eq(p.n, 3);
	ck_assert_uint_eq(p.n_empty, 2);
	ck_assert_uint_eq(p.n_long, 2);
	check_pair(&p, 0, "a", "x", 1);
	check_pair(&p, 1, "ef", "uv", 6);
	ck_assert_uint_eq(p.pairs[2].line, 7);
	ck_assert_uint_eq(p.pairs[2].src_len, 2);
	ck_assert_uint_eq(p.max_src, 3);
	ck_assert_uint_eq(p.max_tgt, 3);
	seqc_pairs_free(&p);

	/* an empty side is counted as empty, not as long */
	o.max_len = 2;
	ck_assert_int_eq(seqc_pairs_from_text(&o, "\nab\n", 4, "xy\nx\n", 5, &p), SEQC_EINVAL);
	const char *msg = seqc_errmsg();
	ck_assert_msg(strstr(msg, "no pair left") && strstr(msg, "2 lines") &&
			      strstr(msg, "1 with an empty side") && strstr(msg, "1 with a side over"),
		      "%s", msg);
}
END_TEST

START_TEST(test_load_invalid_utf8)
{
	const char *src = write_file("bad.de", "ab\nc\xff" "d\n", 6);
	const char *tgt = write_file("ok.en", "x\ny\n", 4);
	seqc_pairs_options o = opts(src, tgt, 0);
	seqc_pairs p;
	ck_assert_int_eq(seqc_pairs_load(&o, &p), SEQC_EUTF8);
	const char *msg = seqc_errmsg();
	ck_assert_msg(strstr(msg, "bad.de:2:") && strstr(msg, "byte 1"), "%s", msg);
	ck_assert_ptr_null(p.ids);

	/* replaced: U+FFFD is outside this vocabulary, so unk */
	o.replace_invalid = true;
	ck_assert_msg(seqc_pairs_load(&o, &p) == 0, "%s", seqc_errmsg());
	ck_assert_uint_eq(p.n, 2);
	ck_assert_uint_eq(p.n_replaced, 1);
	ck_assert_uint_eq(p.pairs[1].src_len, 3);
	const int32_t *x = p.ids + p.pairs[1].off;
	ck_assert_int_eq(x[0], id_of('c'));
	ck_assert_int_eq(x[1], seqc_tok_unk(tok));
	ck_assert_int_eq(x[2], id_of('d'));
	seqc_pairs_free(&p);

	/* the target side is named too */
	o.replace_invalid = false;
	ck_assert_int_eq(seqc_pairs_from_text(&o, "a\nb\nc", 5, "x\ny\n\xc3", 5, &p), SEQC_EUTF8);
	ck_assert_msg(strstr(seqc_errmsg(), "ok.en:3:"), "%s", seqc_errmsg());
}
END_TEST

START_TEST(test_load_absurd)
{
	seqc_pairs p;
	seqc_pairs_options o = opts(write_file("empty.de", "", 0), write_file("one.en", "x\n", 2), 0);
	ck_assert_int_eq(seqc_pairs_load(&o, &p), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "empty.de: empty file"), "%s", seqc_errmsg());

	/* a byte-order mark alone is no line either */
	ck_assert_int_eq(seqc_pairs_from_text(&o, "\xEF\xBB\xBF", 3, "x", 1, &p), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "empty file"), "%s", seqc_errmsg());

	char missing[4200];
	snprintf(missing, sizeof missing, "%s/missing.de", dir);
	o.src_path = missing;
	ck_assert_int_eq(seqc_pairs_load(&o, &p), SEQC_EIO);
	ck_assert_msg(strstr(seqc_errmsg(), "missing.de: cannot open"), "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_sources_load(&o, &p), SEQC_EIO);

	/* a "line" of more than SEQC_PAIRS_MAX_LINE bytes: not sentences */
	size_t big = SEQC_PAIRS_MAX_LINE + 1;
	char *text = malloc(big + 3);
	ck_assert_ptr_nonnull(text);
	memcpy(text, "a\n", 2);
	memset(text + 2, 'b', big);
	text[big + 2] = '\n';
	o.src_path = "huge.de";
	ck_assert_int_eq(seqc_pairs_from_text(&o, text, big + 3, "x\ny\n", 4, &p), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "huge.de:2: a line of 1048577 bytes"), "%s",
		      seqc_errmsg());
	ck_assert_int_eq(seqc_sources_from_text(&o, text, big + 3, &p), SEQC_EINVAL);
	free(text);

	/* no tokenizer, no options */
	o.tgt_tok = NULL;
	ck_assert_int_eq(seqc_pairs_from_text(&o, "a", 1, "x", 1, &p), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "target tokenizer is NULL"), "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_pairs_from_text(NULL, "a", 1, "x", 1, &p), SEQC_EINVAL);
	ck_assert_ptr_null(seqc_batches_build(&p, 10, 0, SEQC_BATCHES_FILE, NULL));
}
END_TEST

/* Line i's text: i in base 26 as letters ("b" .. "dxz"), reversed for the
 * target; empty on a few lines around the 1024-line chunks' edges. */
static size_t numbered(size_t i, int side, char *buf)
{
	if (i == 1024 + (size_t)side || i == 2049)
		return 0;
	size_t n = 0;
	for (size_t v = i; v; v /= 26)
		buf[n++] = (char)('a' + v % 26);
	for (size_t k = 0; side && k < n / 2; k++) {
		char t = buf[k];
		buf[k] = buf[n - 1 - k];
		buf[n - 1 - k] = t;
	}
	return n;
}

/* Enough lines for several chunks (tokenized in parallel and joined):
 * order, line numbers and ids as one pass would give; the first bad line
 * in file order is the one reported, whichever thread saw it. */
START_TEST(test_load_chunks)
{
	enum { LINES = 3000 };
	char *text[2];
	size_t len[2] = { 0, 0 };
	for (int side = 0; side < 2; side++) {
		text[side] = malloc(LINES * 8);
		for (size_t i = 1; i <= LINES; i++) {
			len[side] += numbered(i, side, text[side] + len[side]);
			text[side][len[side]++] = '\n';
		}
	}
	seqc_pairs_options o = opts("s", "t", 0);
	seqc_pairs p;
	ck_assert_msg(seqc_pairs_from_text(&o, text[0], len[0], text[1], len[1], &p) == 0, "%s",
		      seqc_errmsg());
	ck_assert_uint_eq(p.n_empty, 3);
	ck_assert_uint_eq(p.n, LINES - 3);
	size_t line = 0;
	for (size_t i = 0; i < p.n; i++) {
		line++;
		while (line == 1024 || line == 1025 || line == 2049)
			line++;
		char x[8] = { 0 }, y[8] = { 0 };
		numbered(line, 0, x);
		numbered(line, 1, y);
		check_pair(&p, i, x, y, line);
	}
	seqc_pairs_free(&p);

	/* sources: every line kept in order, the empty ones too */
	ck_assert_int_eq(seqc_sources_from_text(&o, text[1], len[1], &p), 0);
	ck_assert_uint_eq(p.n, LINES);
	ck_assert_uint_eq(p.n_empty, 2);
	for (size_t i = 0; i < p.n; i++) {
		char y[8] = { 0 };
		ck_assert_uint_eq(p.pairs[i].src_len, numbered(i + 1, 1, y));
		ck_assert_uint_eq(p.pairs[i].line, i + 1);
	}
	seqc_pairs_free(&p);

	/* bad bytes in lines 2500 and 1500 ("esd" and "sfc" in the source) */
	char *bad2500 = strstr(text[0], "\nesd\n"), *bad1500 = strstr(text[0], "\nsfc\n");
	ck_assert_ptr_nonnull(bad2500);
	ck_assert_ptr_nonnull(bad1500);
	bad2500[2] = (char)0xff;
	ck_assert_int_eq(seqc_pairs_from_text(&o, text[0], len[0], text[1], len[1], &p), SEQC_EUTF8);
	ck_assert_msg(strstr(seqc_errmsg(), "s:2500:"), "%s", seqc_errmsg());
	bad1500[3] = (char)0xc3;
	for (int k = 0; k < 5; k++) {
		ck_assert_int_eq(seqc_pairs_from_text(&o, text[0], len[0], text[1], len[1], &p),
				 SEQC_EUTF8);
		ck_assert_msg(strstr(seqc_errmsg(), "s:1500:"), "%s", seqc_errmsg());
	}
	free(text[0]);
	free(text[1]);
}
END_TEST

/* ---- batches over a random corpus ---- */

enum { NPAIRS = 400 };

/* NPAIRS lines of 1..maxlen letters each side (a few empty to be
 * skipped), from seed. lines[i] keeps line i + 1's two sides. */
typedef struct corpus {
	char *src, *tgt;
	char *lines[NPAIRS][2];
} corpus;

static void make_corpus(corpus *c, uint64_t seed, size_t maxlen)
{
	seqc_rng r;
	seqc_rng_seed(&r, seed, 9);
	size_t cap = NPAIRS * (maxlen + 1) + 1;
	c->src = calloc(cap, 1);
	c->tgt = calloc(cap, 1);
	size_t at[2] = { 0, 0 };
	for (size_t i = 0; i < NPAIRS; i++)
		for (int side = 0; side < 2; side++) {
			size_t len = 1 + seqc_rng_below(&r, (uint32_t)maxlen);
			if (i % 97 == 5 + (size_t)side)
				len = 0;
			char *text = side ? c->tgt : c->src;
			c->lines[i][side] = text + at[side];
			for (size_t k = 0; k < len; k++)
				text[at[side]++] = (char)('a' + seqc_rng_below(&r, 26));
			text[at[side]++] = '\n';
		}
}

static void free_corpus(corpus *c)
{
	free(c->src);
	free(c->tgt);
}

static size_t line_len(const char *s)
{
	return (size_t)(strchr(s, '\n') - s);
}

/* Every row of b as models/s2s.h says for the pairs rows[]: x eos pad /
 * bos y pad / y eos -1, lengths m + 1, S and T the longest row's; the
 * batch checker accepts it. */
static void check_batch(const seqc_pairs *p, const corpus *c, const uint32_t *rows,
			const seqc_s2s_batch *b, const seqc_batch_info *info)
{
	ck_assert_msg(seqc_s2s_batch_check(b, p->src_vocab, p->tgt_vocab) == 0, "%s", seqc_errmsg());
	size_t S = 0, T = 0, real_src = 0, real_tgt = 0;
	for (size_t r = 0; r < b->B; r++) {
		const seqc_pair *pr = &p->pairs[rows[r]];
		const char *x = c->lines[pr->line - 1][0], *y = c->lines[pr->line - 1][1];
		size_t m = line_len(x), n = line_len(y);
		S = m + 1 > S ? m + 1 : S;
		T = n + 1 > T ? n + 1 : T;
		real_src += m + 1;
		real_tgt += n + 1;
		ck_assert_uint_eq(b->src_lens[r], m + 1);
		const int32_t *sr = b->src + r * b->S, *ti = b->tgt_in + r * b->T,
			      *to = b->tgt_out + r * b->T;
		/* compared without an assertion per element (each costs a
		 * message to Check's parent process) */
		for (size_t s = 0; s < b->S; s++) {
			int32_t want = s < m ? id_of_fast(x[s]) : s == m ? 3 : 0;
			if (sr[s] != want)
				ck_abort_msg("row %zu source %zu: %d, expected %d", r, s, sr[s], want);
		}
		for (size_t t = 0; t < b->T; t++) {
			int32_t wi = t == 0 ? 2 : t <= n ? id_of_fast(y[t - 1]) : 0;
			int32_t wo = t < n ? id_of_fast(y[t]) : t == n ? 3 : -1;
			if (ti[t] != wi || to[t] != wo)
				ck_abort_msg("row %zu target %zu: in %d out %d, expected %d and %d", r,
					     t, ti[t], to[t], wi, wo);
		}
	}
	ck_assert_uint_eq(b->S, S);
	ck_assert_uint_eq(b->T, T);
	ck_assert_uint_eq(info->rows, b->B);
	ck_assert_uint_eq(info->src_tokens, real_src);
	ck_assert_uint_eq(info->tgt_tokens, real_tgt);
	double pad = 1.0 - (double)(real_src + real_tgt) / (double)(b->B * (S + T));
	ck_assert_double_eq_tol(info->padded, pad, 1e-12);
}

static void load_corpus(const corpus *c, size_t max_len, seqc_pairs *p)
{
	seqc_pairs_options o = opts("src", "tgt", max_len);
	ck_assert_msg(seqc_pairs_from_text(&o, c->src, strlen(c->src), c->tgt, strlen(c->tgt), p) == 0,
		      "%s", seqc_errmsg());
}

/* One epoch through seqc_batches_next: every batch checked, within the
 * budget, sorted inside; every pair exactly once. Writes the sequence of
 * pair indices (batch after batch) into seq. */
static void run_epoch(seqc_batches *bt, const seqc_pairs *p, const corpus *c, size_t max_tokens,
		      size_t max_sentences, bool sorted, uint32_t *seq)
{
	size_t nb = seqc_batches_count(bt), at = 0;
	char *seen = calloc(p->n, 1);
	uint64_t epoch = 0;
	for (size_t i = 0; i < nb; i++) {
		seqc_s2s_batch b;
		seqc_batch_info info;
		ck_assert_msg(seqc_batches_next(bt, NULL, &b, &info) == 0, "%s", seqc_errmsg());
		if (i == 0)
			epoch = info.epoch;
		ck_assert_uint_eq(info.epoch, epoch);
		ck_assert_uint_eq(info.index, i);
		size_t B;
		const uint32_t *rows = seqc_batches_rows(bt, i, &B);
		ck_assert_uint_eq(B, b.B);
		check_batch(p, c, rows, &b, &info);
		size_t big = b.S > b.T ? b.S : b.T;
		ck_assert_msg(B == 1 || B * big <= max_tokens, "batch %zu: %zu x %zu > %zu", i, B, big,
			      max_tokens);
		ck_assert(!max_sentences || B <= max_sentences);
		for (size_t r = 0; r < B; r++) {
			ck_assert_uint_lt(rows[r], p->n);
			ck_assert_msg(!seen[rows[r]], "pair %u twice in an epoch", rows[r]);
			seen[rows[r]] = 1;
			seq[at++] = rows[r];
			if (sorted && r) { /* by (source, target) length inside */
				const seqc_pair *a = &p->pairs[rows[r - 1]], *z = &p->pairs[rows[r]];
				ck_assert(a->src_len < z->src_len ||
					  (a->src_len == z->src_len && a->tgt_len <= z->tgt_len));
			}
		}
	}
	ck_assert_uint_eq(at, p->n);
	free(seen);
}

START_TEST(test_batches_epoch)
{
	corpus c;
	make_corpus(&c, 7, 30);
	seqc_pairs p;
	load_corpus(&c, 0, &p);
	ck_assert_uint_eq(p.n_empty, 10); /* lines 6, 7, 103, 104, ..., 394, 395 */
	ck_assert_uint_eq(p.n, NPAIRS - 10);
	const size_t budgets[][2] = { { 64, 0 }, { 200, 5 }, { 20, 0 }, { 1, 0 }, { 100000, 0 } };
	uint32_t *seq = malloc(p.n * sizeof *seq);
	for (size_t k = 0; k < sizeof budgets / sizeof budgets[0]; k++) {
		seqc_rng r;
		seqc_rng_seed(&r, 1234, SEQC_STREAM_DATA);
		seqc_batches *bt = seqc_batches_build(&p, budgets[k][0], budgets[k][1],
						      SEQC_BATCHES_SHUFFLE, &r);
		ck_assert_ptr_nonnull(bt);
		for (int e = 0; e < 3; e++)
			run_epoch(bt, &p, &c, budgets[k][0], budgets[k][1], true, seq);
		seqc_batches_destroy(bt);
	}
	/* max_tokens 1: a pair each; 100000: the whole corpus in one batch */
	seqc_rng r;
	seqc_rng_seed(&r, 1, SEQC_STREAM_DATA);
	seqc_batches *bt = seqc_batches_build(&p, 1, 0, SEQC_BATCHES_SHUFFLE, &r);
	ck_assert_uint_eq(seqc_batches_count(bt), p.n);
	seqc_batches_destroy(bt);
	bt = seqc_batches_build(&p, 100000, 0, SEQC_BATCHES_SHUFFLE, &r);
	ck_assert_uint_eq(seqc_batches_count(bt), 1);
	seqc_batches_destroy(bt);
	free(seq);
	seqc_pairs_free(&p);
	free_corpus(&c);
}
END_TEST

/* SORTED: batches are cut greedily, a batch closes only when the next pair
 * would break the budget; FILE: rows in file order. */
START_TEST(test_batches_sorted_and_file)
{
	corpus c;
	make_corpus(&c, 8, 25);
	seqc_pairs p;
	load_corpus(&c, 0, &p);
	const size_t max_tokens = 90, max_sent = 6;
	for (int order = SEQC_BATCHES_SORTED; order <= SEQC_BATCHES_FILE; order++) {
		seqc_batches *bt = seqc_batches_build(&p, max_tokens, max_sent, order, NULL);
		ck_assert_ptr_nonnull(bt);
		size_t nb = seqc_batches_count(bt), next_pair = 0;
		size_t prev_src = 0, prev_tgt = 0;
		for (size_t i = 0; i < nb; i++) {
			size_t B;
			const uint32_t *rows = seqc_batches_rows(bt, i, &B);
			size_t S = 0, T = 0;
			for (size_t r = 0; r < B; r++) {
				const seqc_pair *pr = &p.pairs[rows[r]];
				S = pr->src_len + 1 > S ? pr->src_len + 1 : S;
				T = pr->tgt_len + 1 > T ? pr->tgt_len + 1 : T;
				if (order == SEQC_BATCHES_FILE) {
					ck_assert_uint_eq(rows[r], next_pair);
					next_pair++;
					continue;
				}
				/* ascending through the whole epoch; ties in file order */
				ck_assert(pr->src_len > prev_src ||
					  (pr->src_len == prev_src && pr->tgt_len >= prev_tgt));
				if (r && pr->src_len == p.pairs[rows[r - 1]].src_len &&
				    pr->tgt_len == p.pairs[rows[r - 1]].tgt_len)
					ck_assert_uint_gt(rows[r], rows[r - 1]);
				prev_src = pr->src_len;
				prev_tgt = pr->tgt_len;
			}
			if (i + 1 < nb && B < max_sent) {
				/* the next batch's first pair did not fit */
				const seqc_pair *nx = &p.pairs[seqc_batches_rows(bt, i + 1, NULL)[0]];
				size_t s = nx->src_len + 1 > S ? nx->src_len + 1 : S;
				size_t t = nx->tgt_len + 1 > T ? nx->tgt_len + 1 : T;
				ck_assert_uint_gt((B + 1) * (s > t ? s : t), max_tokens);
			}
		}
		/* the same every epoch */
		uint32_t *a = malloc(p.n * sizeof *a), *b = malloc(p.n * sizeof *b);
		run_epoch(bt, &p, &c, max_tokens, max_sent, order == SEQC_BATCHES_SORTED, a);
		run_epoch(bt, &p, &c, max_tokens, max_sent, order == SEQC_BATCHES_SORTED, b);
		ck_assert_mem_eq(a, b, p.n * sizeof *a);
		free(a);
		free(b);
		seqc_batches_destroy(bt);
	}
	seqc_pairs_free(&p);
	free_corpus(&c);
}
END_TEST

/* The pair sequence of `epochs` epochs of a SHUFFLE batcher seeded seed. */
static uint32_t *sequence(const seqc_pairs *p, const corpus *c, uint64_t seed, int epochs,
			  size_t max_tokens)
{
	seqc_rng r;
	seqc_rng_seed(&r, seed, SEQC_STREAM_DATA);
	seqc_batches *bt = seqc_batches_build(p, max_tokens, 0, SEQC_BATCHES_SHUFFLE, &r);
	ck_assert_ptr_nonnull(bt);
	uint32_t *seq = malloc((size_t)epochs * p->n * sizeof *seq);
	for (int e = 0; e < epochs; e++)
		run_epoch(bt, p, c, max_tokens, 0, true, seq + (size_t)e * p->n);
	seqc_batches_destroy(bt);
	return seq;
}

START_TEST(test_batches_seeded)
{
	corpus c;
	make_corpus(&c, 9, 12);
	seqc_pairs p;
	load_corpus(&c, 0, &p);
	uint32_t *a = sequence(&p, &c, 5, 2, 60), *b = sequence(&p, &c, 5, 2, 60);
	uint32_t *d = sequence(&p, &c, 6, 2, 60);
	size_t n = p.n;
	ck_assert_mem_eq(a, b, 2 * n * sizeof *a);           /* same seed, same batches */
	ck_assert(memcmp(a, a + n, n * sizeof *a) != 0);     /* epochs differ */
	ck_assert(memcmp(a, d, n * sizeof *a) != 0);         /* seeds differ */
	free(a);
	free(b);
	free(d);
	seqc_pairs_free(&p);
	free_corpus(&c);
}
END_TEST

/* The rows of every batch bt->next gives for k calls, as one sequence
 * with a separator (UINT32_MAX) after each batch. */
static size_t take(seqc_batches *bt, size_t k, uint32_t *out)
{
	size_t at = 0;
	for (size_t i = 0; i < k; i++) {
		seqc_s2s_batch b;
		seqc_batch_info info;
		ck_assert_int_eq(seqc_batches_next(bt, NULL, &b, &info), 0);
		size_t B;
		const uint32_t *rows = seqc_batches_rows(bt, info.index, &B);
		memcpy(out + at, rows, B * sizeof *rows);
		at += B;
		out[at++] = UINT32_MAX;
	}
	return at;
}

START_TEST(test_batches_resume)
{
	corpus c;
	make_corpus(&c, 10, 20);
	seqc_pairs p;
	load_corpus(&c, 0, &p);
	seqc_rng r;
	seqc_rng_seed(&r, 77, SEQC_STREAM_DATA);
	seqc_batches *bt = seqc_batches_build(&p, 80, 0, SEQC_BATCHES_SHUFFLE, &r);
	size_t nb = seqc_batches_count(bt);
	size_t cap = 8 * (p.n + nb) + 16;
	uint32_t *want = malloc(cap * sizeof *want), *got = malloc(cap * sizeof *got);
	/* stop mid-epoch, at an epoch's very end, and mid-second-epoch */
	const size_t stops[] = { 3, nb, nb + 5, 0 };
	for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++) {
		seqc_batches_destroy(bt);
		bt = seqc_batches_build(&p, 80, 0, SEQC_BATCHES_SHUFFLE, &r);
		take(bt, stops[k], want);
		seqc_batches_state st;
		seqc_batches_get_state(bt, &st);
		size_t nw = take(bt, 2 * nb + 3, want);

		seqc_batches *again = seqc_batches_build(&p, 80, 0, SEQC_BATCHES_SHUFFLE, &r);
		ck_assert_int_eq(seqc_batches_set_state(again, &st), 0);
		size_t ng = take(again, 2 * nb + 3, got);
		ck_assert_uint_eq(ng, nw);
		ck_assert_mem_eq(got, want, nw * sizeof *got);
		seqc_batches_destroy(again);
	}
	/* states that cannot be: refused, the batcher unchanged */
	seqc_batches_state st, bad;
	seqc_batches_get_state(bt, &st);
	bad = st;
	bad.next = nb + 1000;
	ck_assert_int_eq(seqc_batches_set_state(bt, &bad), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "next batch"), "%s", seqc_errmsg());
	bad = st;
	bad.rng.inc = 2;
	ck_assert_int_eq(seqc_batches_set_state(bt, &bad), SEQC_EINVAL);
	seqc_batches_state now;
	seqc_batches_get_state(bt, &now);
	ck_assert_mem_eq(&now, &st, sizeof st);
	free(want);
	free(got);
	seqc_batches_destroy(bt);
	seqc_pairs_free(&p);
	free_corpus(&c);
}
END_TEST

START_TEST(test_batches_store)
{
	corpus c;
	make_corpus(&c, 11, 40);
	seqc_pairs p;
	load_corpus(&c, 0, &p);
	seqc_rng r;
	seqc_rng_seed(&r, 3, SEQC_STREAM_DATA);
	seqc_batches *bt = seqc_batches_build(&p, 30, 0, SEQC_BATCHES_SHUFFLE, &r);
	seqc_s2s_store st;
	ck_assert_int_eq(seqc_s2s_store_init(&st, bt), 0);
	for (size_t i = 0; i < seqc_batches_count(bt); i++) {
		seqc_s2s_batch own, mine;
		seqc_batch_info io, im;
		ck_assert_int_eq(seqc_batches_fill(bt, i, NULL, &own, &io), 0);
		ck_assert_int_eq(seqc_batches_fill(bt, i, &st, &mine, &im), 0);
		ck_assert_ptr_eq(mine.src, st.src);
		ck_assert_uint_eq(own.B, mine.B);
		ck_assert_uint_eq(own.S, mine.S);
		ck_assert_uint_eq(own.T, mine.T);
		ck_assert_mem_eq(own.src, mine.src, own.B * own.S * sizeof(int32_t));
		ck_assert_mem_eq(own.tgt_out, mine.tgt_out, own.B * own.T * sizeof(int32_t));
		ck_assert_mem_eq(&io, &im, sizeof io);
	}
	seqc_s2s_batch b;
	ck_assert_int_eq(seqc_batches_fill(bt, seqc_batches_count(bt), NULL, &b, NULL), SEQC_ERANGE);
	st.cap_ids = 1;
	ck_assert_int_eq(seqc_batches_fill(bt, 0, &st, &b, NULL), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "does not fit"), "%s", seqc_errmsg());
	seqc_s2s_store_free(&st);
	seqc_s2s_store_free(&st);
	ck_assert_ptr_null(seqc_batches_build(&p, 0, 0, SEQC_BATCHES_SORTED, NULL));
	ck_assert_ptr_null(seqc_batches_build(&p, 10, 0, SEQC_BATCHES_SHUFFLE, NULL));
	seqc_batches_destroy(bt);
	seqc_batches_destroy(NULL);
	seqc_pairs_free(&p);
	free_corpus(&c);
}
END_TEST

/* ---- sources ---- */

START_TEST(test_sources)
{
	/* line 2 empty, line 3 over max_len 4 (5 letters + eos): both kept */
	const char *text = "abc\n\nabcde\r\nx\nab";
	seqc_pairs_options o = { .src_path = "in.txt", .src_tok = tok, .max_len = 4 };
	seqc_pairs p;
	ck_assert_msg(seqc_sources_from_text(&o, text, strlen(text), &p) == 0, "%s", seqc_errmsg());
	ck_assert(!p.has_target);
	ck_assert_uint_eq(p.n, 5);
	ck_assert_uint_eq(p.n_empty, 1);
	ck_assert_uint_eq(p.n_long, 1);
	const size_t lens[5] = { 3, 0, 5, 1, 2 }, starts[5] = { 0, 4, 5, 12, 14 };
	for (size_t i = 0; i < 5; i++) {
		ck_assert_uint_eq(p.pairs[i].line, i + 1);
		ck_assert_uint_eq(p.pairs[i].src_len, lens[i]);
		ck_assert_uint_eq(p.pairs[i].tgt_len, 0);
	}
	ck_assert_uint_eq(p.max_src, 6);
	ck_assert_uint_eq(p.max_tgt, 0);

	/* sorted batches of sources: T = 0, no target arrays; the rows map
	 * each batch back to line order */
	seqc_batches *bt = seqc_batches_build(&p, 8, 0, SEQC_BATCHES_SORTED, NULL);
	ck_assert_ptr_nonnull(bt);
	int found[5] = { 0 };
	for (size_t i = 0; i < seqc_batches_count(bt); i++) {
		seqc_s2s_batch b;
		seqc_batch_info info;
		ck_assert_int_eq(seqc_batches_fill(bt, i, NULL, &b, &info), 0);
		ck_assert_uint_eq(b.T, 0);
		ck_assert_ptr_null(b.tgt_in);
		ck_assert_ptr_null(b.tgt_out);
		ck_assert_uint_eq(info.tgt_tokens, 0);
		ck_assert(b.B == 1 || b.B * b.S <= 8);
		const uint32_t *rows = seqc_batches_rows(bt, i, NULL);
		for (size_t r = 0; r < b.B; r++) {
			size_t line = rows[r];
			found[line]++;
			ck_assert_uint_eq(b.src_lens[r], lens[line] + 1);
			ck_assert_int_eq(b.src[r * b.S + lens[line]], 3); /* eos */
			for (size_t s = lens[line] + 1; s < b.S; s++)
				ck_assert_int_eq(b.src[r * b.S + s], 0);
			for (size_t s = 0; s < lens[line]; s++)
				ck_assert_int_eq(b.src[r * b.S + s], id_of(text[starts[line] + s]));
		}
	}
	for (size_t i = 0; i < 5; i++)
		ck_assert_int_eq(found[i], 1);
	seqc_batches_destroy(bt);

	/* truncation: the caller's choice */
	ck_assert_int_eq(seqc_sources_truncate(&p, 1), SEQC_EINVAL);
	ck_assert_int_eq(seqc_sources_truncate(&p, 4), 1);
	ck_assert_uint_eq(p.pairs[2].src_len, 3);
	ck_assert_uint_eq(p.max_src, 4);
	ck_assert_uint_eq(p.src_tokens, 4 + 1 + 4 + 2 + 3);
	seqc_pairs_free(&p);

	/* from strings; FILE order keeps line order through the batches */
	const char *lines[] = { "ab", "", "c\xff", "abcdef" };
	ck_assert_int_eq(seqc_sources_from_lines(&o, lines, 4, &p), SEQC_EUTF8);
	ck_assert_msg(strstr(seqc_errmsg(), "in.txt:3:"), "%s", seqc_errmsg());
	o.replace_invalid = true;
	ck_assert_int_eq(seqc_sources_from_lines(&o, lines, 4, &p), 0);
	ck_assert_uint_eq(p.n, 4);
	ck_assert_uint_eq(p.n_replaced, 1);
	ck_assert_uint_eq(p.n_long, 1);
	bt = seqc_batches_build(&p, 6, 0, SEQC_BATCHES_FILE, NULL);
	size_t next = 0;
	for (size_t i = 0; i < seqc_batches_count(bt); i++) {
		size_t B;
		const uint32_t *rows = seqc_batches_rows(bt, i, &B);
		for (size_t r = 0; r < B; r++)
			ck_assert_uint_eq(rows[r], next++);
	}
	ck_assert_uint_eq(next, 4);
	seqc_batches_destroy(bt);
	seqc_pairs_free(&p);
	ck_assert_int_eq(seqc_sources_from_lines(&o, NULL, 0, &p), 0);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_ptr_null(seqc_batches_build(&p, 6, 0, SEQC_BATCHES_FILE, NULL));
	seqc_pairs_free(&p);
}
END_TEST

/* ---- Multi30k ---- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

START_TEST(test_multi30k)
{
	/* test_data_path answers in a static buffer: each path copied at once */
	char src[4096], tgt[4096], model[4096];
	const char *path = test_data_path("multi30k/train.de");
	snprintf(src, sizeof src, "%s", path ? path : "");
	path = test_data_path("multi30k/train.en");
	snprintf(tgt, sizeof tgt, "%s", path ? path : "");
	path = test_data_path("spm/spm_multi30k_ende_bpe8k.model");
	snprintf(model, sizeof model, "spm:%s", path ? path : "");
	if (!src[0] || !tgt[0] || !path) {
		fprintf(stderr, "test_multi30k: ../shared/data/multi30k/train.{de,en} or "
				"spm/spm_multi30k_ende_bpe8k.model is missing: skipped\n");
		return;
	}
	seqc_tok *spm = seqc_tok_open(model);
	ck_assert_msg(spm, "%s", seqc_errmsg());
	seqc_pairs_options o = { .src_path = src, .tgt_path = tgt, .src_tok = spm, .tgt_tok = spm,
				 .max_len = 100 };
	seqc_pairs p;
	double t0 = now();
	ck_assert_msg(seqc_pairs_load(&o, &p) == 0, "%s", seqc_errmsg());
	double t1 = now();
	ck_assert_uint_eq(p.n + p.n_empty + p.n_long, 29000);
	ck_assert_uint_gt(p.n, 28900);

	seqc_rng r;
	seqc_rng_seed(&r, 1, SEQC_STREAM_DATA);
	seqc_batches *bt = seqc_batches_build(&p, 4096, 0, SEQC_BATCHES_SHUFFLE, &r);
	ck_assert_ptr_nonnull(bt);
	double t2 = now(), padded = 0;
	size_t nb = seqc_batches_count(bt), tgt_tokens = 0, rows = 0;
	for (size_t i = 0; i < nb; i++) {
		seqc_s2s_batch b;
		seqc_batch_info info;
		ck_assert_int_eq(seqc_batches_next(bt, NULL, &b, &info), 0);
		ck_assert(b.B == 1 || b.B * (b.S > b.T ? b.S : b.T) <= 4096);
		if (i % 50 == 0)
			ck_assert_msg(seqc_s2s_batch_check(&b, p.src_vocab, p.tgt_vocab) == 0, "%s",
				      seqc_errmsg());
		tgt_tokens += info.tgt_tokens;
		rows += info.rows;
		padded += info.padded * (double)(b.B * (b.S + b.T));
	}
	double t3 = now();
	seqc_batches_state st;
	seqc_batches_get_state(bt, &st);
	double t4 = now();
	ck_assert_int_eq(seqc_batches_set_state(bt, &st), 0); /* re-arranges an epoch */
	double t5 = now();
	ck_assert_uint_eq(rows, p.n);
	ck_assert_uint_eq(tgt_tokens, p.tgt_tokens);
	fprintf(stderr,
		"multi30k train: %zu pairs kept, %zu empty, %zu over 100; longest %zu / %zu "
		"positions; %zu + %zu tokens; load %.3f s; %zu batches of <= 4096 tokens, "
		"%.1f%% padding, filled in %.3f s; an epoch arranged in %.4f s\n",
		p.n, p.n_empty, p.n_long, p.max_src, p.max_tgt, p.src_tokens, p.tgt_tokens,
		t1 - t0, nb, 100.0 * padded / (double)(p.src_tokens + p.tgt_tokens + padded),
		t3 - t2, t5 - t4);
	seqc_batches_destroy(bt);
	seqc_pairs_free(&p);
	seqc_tok_destroy(spm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("train_pairs");
	TCase *tc = tcase_create("pairs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_load_line_endings);
	tcase_add_test(tc, test_load_mismatch);
	tcase_add_test(tc, test_load_empty_and_long);
	tcase_add_test(tc, test_load_invalid_utf8);
	tcase_add_test(tc, test_load_absurd);
	tcase_add_test(tc, test_load_chunks);
	tcase_add_test(tc, test_batches_epoch);
	tcase_add_test(tc, test_batches_sorted_and_file);
	tcase_add_test(tc, test_batches_seeded);
	tcase_add_test(tc, test_batches_resume);
	tcase_add_test(tc, test_batches_store);
	tcase_add_test(tc, test_sources);
	tcase_add_test(tc, test_multi30k);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
