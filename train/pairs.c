/* Parallel-corpus pairs and their length-sorted batches (train/pairs.h). */
#include "train/pairs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_LINES ((size_t)INT32_MAX)

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ---- reading and splitting ---- */

/* The whole file at path into a new buffer (one allocation when the size
 * is known; pipes grow by doubling). */
static int read_whole(const char *path, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return seqc_error(SEQC_EIO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	size_t cap = 65536, n = 0;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size + 1; /* + 1: EOF is seen without a second allocation */
	char *buf = malloc(cap);
	int rc = buf ? 0 : seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu bytes", path, cap);
	while (rc == 0) {
		if (n == cap) {
			char *b = cap <= SIZE_MAX / 2 ? realloc(buf, 2 * cap) : NULL;
			if (!b) {
				rc = seqc_error(SEQC_ENOMEM, "%s: cannot hold more than %zu bytes", path,
						cap);
				break;
			}
			buf = b;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = seqc_error(SEQC_EIO, "%s: read error: %s", path, strerror(errno));
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*data = buf;
	*len = n;
	return 0;
}

/* One side's text, walked line by line. */
typedef struct side {
	const char *name;
	const seqc_tok *tok;
	const char *p, *end; /* what is left */
	size_t lines;        /* in the text */
	size_t line;         /* 1-based number of the line last taken */
} side;

/* Drops a UTF-8 byte-order mark, counts the lines (a final line needs no
 * line break), and refuses an empty text or too many lines. */
static int side_init(side *s, const char *name, const seqc_tok *tok, const char *text, size_t len)
{
	memset(s, 0, sizeof *s);
	s->name = name;
	s->tok = tok;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3;
		len -= 3;
	}
	if (len == 0)
		return seqc_error(SEQC_EINVAL, "%s: empty file: no lines", name);
	s->p = text;
	s->end = text + len;
	for (const char *q = text; (q = memchr(q, '\n', (size_t)(s->end - q))); q++)
		s->lines++;
	s->lines += s->end[-1] != '\n';
	if (s->lines > MAX_LINES)
		return seqc_error(SEQC_ENOMEM, "%s: %zu lines, more than the %zu a corpus may have",
				  name, s->lines, MAX_LINES);
	return 0;
}

/* The next line without its ending (\n or \r\n); SEQC_EINVAL for a line
 * over SEQC_PAIRS_MAX_LINE bytes. Only called while lines remain. */
static int side_next(side *s, const char **line, size_t *len)
{
	const char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
	const char *stop = nl ? nl : s->end;
	*line = s->p;
	*len = (size_t)(stop - s->p);
	if (*len && stop[-1] == '\r')
		(*len)--;
	s->p = nl ? nl + 1 : s->end;
	s->line++;
	if (*len > SEQC_PAIRS_MAX_LINE)
		return seqc_error(SEQC_EINVAL,
				  "%s:%zu: a line of %zu bytes, more than %zu: not a file of one "
				  "sentence per line",
				  s->name, s->line, *len, SEQC_PAIRS_MAX_LINE);
	return 0;
}

/* Tokenizes the line last taken from s; with replace_invalid, a line that
 * is not valid UTF-8 is encoded again from a sanitized copy (only then:
 * valid lines are not copied). Errors name file:line. */
static int side_encode(side *s, const char *line, size_t len, bool replace, int32_t **ids,
		       size_t *n, bool *replaced)
{
	*replaced = false;
	int rc = seqc_tok_encode(s->tok, line, len, ids, n);
	if (rc == SEQC_EUTF8 && replace) {
		size_t clen;
		char *clean = seqc_utf8_sanitize(line, len, &clen);
		rc = clean ? seqc_tok_encode(s->tok, clean, clen, ids, n) : SEQC_ENOMEM;
		free(clean);
		*replaced = true;
	}
	if (rc < 0)
		return seqc_error_wrap("%s:%zu", s->name, s->line);
	if (*n > UINT32_MAX) {
		free(*ids);
		*ids = NULL;
		return seqc_error(SEQC_ENOMEM, "%s:%zu: %zu tokens in one line", s->name, s->line,
				  *n);
	}
	return 0;
}

/* ---- tokenizing in chunks ---- */

/* Lines are tokenized in chunks of this many, in parallel (OpenMP), each
 * chunk into its own buffer; the chunks are then joined in order, so the
 * result and the first error reported do not depend on the threads. */
#define CHUNK_LINES 1024

typedef struct chunk {
	const char *start[2]; /* its first line in each side's text (text input) */
	size_t first, count;  /* lines [first, first + count), 0-based */
	int32_t *ids;         /* its tokens; pair offsets relative to them until joined */
	size_t n_ids, cap;
	size_t kept;          /* its pairs, at out->pairs[first .. first + kept) until joined */
	size_t n_empty, n_long, n_replaced;
	size_t max_src, max_tgt, src_tokens, tgt_tokens;
	int rc;
	char msg[1024]; /* the worker thread's message when rc < 0 */
} chunk;

typedef struct job {
	const seqc_pairs_options *o;
	seqc_pairs *out;
	side sides[2];            /* source, target: name, tokenizer, end of text */
	const char *const *lines; /* sources from strings; NULL for text */
	chunk *chunks;
	size_t nchunks;
} job;

static int push_ids(chunk *c, const int32_t *ids, size_t n)
{
	if (n == 0)
		return 0; /* ids may be NULL (no target) */
	if (n > c->cap - c->n_ids) {
		size_t want = max_size(2 * c->cap, c->n_ids + n);
		int32_t *b = want <= SIZE_MAX / sizeof(int32_t) ? realloc(c->ids, want * sizeof(int32_t))
								: NULL;
		if (!b)
			return seqc_error(SEQC_ENOMEM, "pairs: cannot allocate %zu tokens", want);
		c->ids = b;
		c->cap = want;
	}
	memcpy(c->ids + c->n_ids, ids, n * sizeof(int32_t));
	c->n_ids += n;
	return 0;
}

/* Records one line's (or pair's) ids; n is 0 for sources. */
static int keep(const job *j, chunk *c, size_t line, const int32_t *x, size_t m, const int32_t *y,
		size_t n)
{
	seqc_pair *pr = &j->out->pairs[c->first + c->kept];
	pr->off = c->n_ids;
	pr->src_len = (uint32_t)m;
	pr->tgt_len = (uint32_t)n;
	pr->line = (uint32_t)line;
	int rc = push_ids(c, x, m);
	if (rc == 0)
		rc = push_ids(c, y, n);
	if (rc < 0)
		return rc;
	c->kept++;
	c->max_src = max_size(c->max_src, m + 1);
	c->src_tokens += m + 1;
	if (j->out->has_target) {
		c->max_tgt = max_size(c->max_tgt, n + 1);
		c->tgt_tokens += n + 1;
	}
	return 0;
}

/* Line `line` (1-based) of the strings of seqc_sources_from_lines. */
static int string_line(const job *j, side *a, size_t line, const char **text, size_t *len)
{
	*text = j->lines[line - 1] ? j->lines[line - 1] : "";
	*len = strlen(*text);
	a->line = line;
	if (*len > SEQC_PAIRS_MAX_LINE)
		return seqc_error(SEQC_EINVAL, "%s:%zu: a line of %zu bytes, more than %zu", a->name,
				  line, *len, SEQC_PAIRS_MAX_LINE);
	return 0;
}

/* One line of each side: tokenized, then kept, or counted and skipped
 * (pairs) or counted and kept (sources). */
static int take_line(const job *j, chunk *c, side *a, side *b, size_t line)
{
	const seqc_pairs_options *o = j->o;
	bool pairs = j->out->has_target;
	const char *la, *lb = NULL;
	size_t na, nb = 0, m = 0, n = 0;
	int32_t *x = NULL, *y = NULL;
	bool ra = false, rb = false;
	int rc = j->lines ? string_line(j, a, line, &la, &na) : side_next(a, &la, &na);
	if (rc == 0 && pairs)
		rc = side_next(b, &lb, &nb);
	if (rc == 0)
		rc = side_encode(a, la, na, o->replace_invalid, &x, &m, &ra);
	if (rc == 0 && pairs)
		rc = side_encode(b, lb, nb, o->replace_invalid, &y, &n, &rb);
	if (rc == 0) {
		bool empty = m == 0 || (pairs && n == 0);
		bool lng = o->max_len && (m + 1 > o->max_len || (pairs && n + 1 > o->max_len));
		c->n_replaced += ra || rb;
		c->n_empty += empty;
		c->n_long += !empty && lng;
		if (!pairs || (!empty && !lng))
			rc = keep(j, c, line, x, m, y, n);
	}
	free(x);
	free(y);
	return rc;
}

static void encode_chunk(const job *j, chunk *c)
{
	side a = j->sides[0], b = j->sides[1];
	a.p = c->start[0];
	b.p = c->start[1];
	a.line = b.line = c->first;
	for (size_t k = 0; k < c->count && c->rc == 0; k++)
		c->rc = take_line(j, c, &a, &b, c->first + k + 1);
	if (c->rc < 0)
		snprintf(c->msg, sizeof c->msg, "%s", seqc_errmsg());
}

/* The chunks over `lines` lines, and where each begins in the texts. */
static int plan(job *j, size_t lines, int sides)
{
	j->nchunks = (lines + CHUNK_LINES - 1) / CHUNK_LINES;
	j->chunks = calloc(max_size(j->nchunks, 1), sizeof *j->chunks);
	j->out->pairs = malloc(max_size(lines, 1) * sizeof *j->out->pairs);
	if (!j->chunks || !j->out->pairs)
		return seqc_error(SEQC_ENOMEM, "pairs: cannot allocate for %zu lines", lines);
	for (size_t i = 0; i < j->nchunks; i++) {
		j->chunks[i].first = i * CHUNK_LINES;
		j->chunks[i].count = min_size(CHUNK_LINES, lines - i * CHUNK_LINES);
	}
	for (int s = 0; s < sides; s++) {
		const char *q = j->sides[s].p;
		for (size_t i = 0; i < j->nchunks; i++) {
			j->chunks[i].start[s] = q;
			for (size_t k = 0; k < CHUNK_LINES && q < j->sides[s].end; k++) {
				const char *nl = memchr(q, '\n', (size_t)(j->sides[s].end - q));
				q = nl ? nl + 1 : j->sides[s].end;
			}
		}
	}
	return 0;
}

/* Tokenizes every chunk, then joins them in order into j->out: the first
 * chunk that failed gives the error; else one allocation of exactly the
 * tokens kept. */
static int run(job *j)
{
#pragma omp parallel for schedule(dynamic, 1) if (j->nchunks > 1)
	for (size_t i = 0; i < j->nchunks; i++)
		encode_chunk(j, &j->chunks[i]);
	size_t total = 0;
	for (size_t i = 0; i < j->nchunks; i++) {
		if (j->chunks[i].rc < 0)
			return seqc_error(j->chunks[i].rc, "%s", j->chunks[i].msg);
		total += j->chunks[i].n_ids;
	}
	seqc_pairs *p = j->out;
	p->ids = malloc(max_size(total, 1) * sizeof(int32_t));
	if (!p->ids)
		return seqc_error(SEQC_ENOMEM, "pairs: cannot allocate %zu tokens", total);
	size_t at = 0;
	for (size_t i = 0; i < j->nchunks; i++) {
		const chunk *c = &j->chunks[i];
		if (c->n_ids) /* else c->ids may be NULL */
			memcpy(p->ids + at, c->ids, c->n_ids * sizeof(int32_t));
		/* moved down in order: p->n <= c->first + k */
		for (size_t k = 0; k < c->kept; k++) {
			p->pairs[p->n] = p->pairs[c->first + k];
			p->pairs[p->n++].off += at;
		}
		at += c->n_ids;
		p->n_empty += c->n_empty;
		p->n_long += c->n_long;
		p->n_replaced += c->n_replaced;
		p->max_src = max_size(p->max_src, c->max_src);
		p->max_tgt = max_size(p->max_tgt, c->max_tgt);
		p->src_tokens += c->src_tokens;
		p->tgt_tokens += c->tgt_tokens;
	}
	return 0;
}

static void job_free(job *j)
{
	for (size_t i = 0; j->chunks && i < j->nchunks; i++)
		free(j->chunks[i].ids);
	free(j->chunks);
}

/* The special ids and vocabulary sizes batches need; a side without eos
 * cannot mark where its sentences end. */
static int set_specials(seqc_pairs *p, const seqc_tok *src, const seqc_tok *tgt)
{
	if (!src || (p->has_target && !tgt))
		return seqc_error(SEQC_EINVAL, "pairs: the %s tokenizer is NULL",
				  src ? "target" : "source");
	p->src_eos = seqc_tok_eos(src);
	p->src_pad = seqc_tok_pad(src) >= 0 ? seqc_tok_pad(src) : p->src_eos;
	p->src_vocab = seqc_tok_vocab_size(src);
	if (p->src_eos < 0)
		return seqc_error(SEQC_EINVAL, "pairs: the source tokenizer (%s) has no eos",
				  seqc_tok_kind(src));
	if (!p->has_target)
		return 0;
	p->tgt_eos = seqc_tok_eos(tgt);
	p->tgt_bos = seqc_tok_start(tgt);
	p->tgt_pad = seqc_tok_pad(tgt) >= 0 ? seqc_tok_pad(tgt) : p->tgt_eos;
	p->tgt_vocab = seqc_tok_vocab_size(tgt);
	if (p->tgt_eos < 0)
		return seqc_error(SEQC_EINVAL, "pairs: the target tokenizer (%s) has no eos",
				  seqc_tok_kind(tgt));
	return 0;
}

static const char *name_or(const char *path, const char *dflt)
{
	return path ? path : dflt;
}

int seqc_pairs_from_text(const seqc_pairs_options *o, const char *src, size_t src_len,
			 const char *tgt, size_t tgt_len, seqc_pairs *out)
{
	memset(out, 0, sizeof *out);
	if (!o)
		return seqc_error(SEQC_EINVAL, "pairs: no options");
	out->has_target = true;
	job j = { .o = o, .out = out };
	side *a = &j.sides[0], *b = &j.sides[1];
	int rc = set_specials(out, o->src_tok, o->tgt_tok);
	if (rc == 0)
		rc = side_init(a, name_or(o->src_path, "source"), o->src_tok, src, src ? src_len : 0);
	if (rc == 0)
		rc = side_init(b, name_or(o->tgt_path, "target"), o->tgt_tok, tgt, tgt ? tgt_len : 0);
	if (rc == 0 && a->lines != b->lines)
		rc = seqc_error(SEQC_EINVAL,
				"pairs: %s has %zu lines but %s has %zu: the files are not "
				"line-aligned translations",
				a->name, a->lines, b->name, b->lines);
	if (rc == 0)
		rc = plan(&j, a->lines, 2);
	if (rc == 0)
		rc = run(&j);
	if (rc == 0 && out->n == 0)
		rc = seqc_error(SEQC_EINVAL,
				"pairs: no pair left in %s and %s: %zu lines, %zu with an empty "
				"side, %zu with a side over max_len %zu",
				a->name, b->name, a->lines, out->n_empty, out->n_long, o->max_len);
	job_free(&j);
	if (rc < 0)
		seqc_pairs_free(out);
	return rc;
}

int seqc_pairs_load(const seqc_pairs_options *o, seqc_pairs *out)
{
	memset(out, 0, sizeof *out);
	if (!o || !o->src_path || !o->tgt_path)
		return seqc_error(SEQC_EINVAL, "pairs: the source or target path is missing");
	char *src = NULL, *tgt = NULL;
	size_t sl, tl;
	int rc = read_whole(o->src_path, &src, &sl);
	if (rc == 0)
		rc = read_whole(o->tgt_path, &tgt, &tl);
	if (rc == 0)
		rc = seqc_pairs_from_text(o, src, sl, tgt, tl, out);
	free(src);
	free(tgt);
	return rc;
}

/* ---- sources ---- */

int seqc_sources_from_text(const seqc_pairs_options *o, const char *text, size_t len,
			   seqc_pairs *out)
{
	memset(out, 0, sizeof *out);
	if (!o)
		return seqc_error(SEQC_EINVAL, "sources: no options");
	job j = { .o = o, .out = out };
	int rc = set_specials(out, o->src_tok, NULL);
	if (rc == 0)
		rc = side_init(&j.sides[0], name_or(o->src_path, "source"), o->src_tok, text,
			       text ? len : 0);
	if (rc == 0)
		rc = plan(&j, j.sides[0].lines, 1);
	if (rc == 0)
		rc = run(&j);
	job_free(&j);
	if (rc < 0)
		seqc_pairs_free(out);
	return rc;
}

int seqc_sources_load(const seqc_pairs_options *o, seqc_pairs *out)
{
	memset(out, 0, sizeof *out);
	if (!o || !o->src_path)
		return seqc_error(SEQC_EINVAL, "sources: the path is missing");
	char *text = NULL;
	size_t len;
	int rc = read_whole(o->src_path, &text, &len);
	if (rc == 0)
		rc = seqc_sources_from_text(o, text, len, out);
	free(text);
	return rc;
}

int seqc_sources_from_lines(const seqc_pairs_options *o, const char *const *lines, size_t n,
			    seqc_pairs *out)
{
	memset(out, 0, sizeof *out);
	if (!o || (n && !lines))
		return seqc_error(SEQC_EINVAL, "sources: no options or no lines");
	if (n > MAX_LINES)
		return seqc_error(SEQC_ENOMEM, "sources: %zu lines, more than %zu", n, MAX_LINES);
	job j = { .o = o, .out = out, .lines = lines };
	j.sides[0] = (side){ .name = name_or(o->src_path, "source"), .tok = o->src_tok };
	int rc = set_specials(out, o->src_tok, NULL);
	if (rc == 0)
		rc = plan(&j, n, 0);
	if (rc == 0)
		rc = run(&j);
	job_free(&j);
	if (rc < 0)
		seqc_pairs_free(out);
	return rc;
}

long seqc_sources_truncate(seqc_pairs *p, size_t max_len)
{
	if (max_len < 2)
		return seqc_error(SEQC_EINVAL,
				  "sources: max_len %zu leaves no room for a token and eos", max_len);
	long cut = 0;
	p->max_src = 0;
	p->src_tokens = 0;
	for (size_t i = 0; i < p->n; i++) {
		seqc_pair *pr = &p->pairs[i];
		if (pr->src_len + (size_t)1 > max_len) {
			pr->src_len = (uint32_t)(max_len - 1);
			cut++;
		}
		p->max_src = max_size(p->max_src, pr->src_len + (size_t)1);
		p->src_tokens += pr->src_len + (size_t)1;
	}
	return cut;
}

void seqc_pairs_free(seqc_pairs *p)
{
	if (!p)
		return;
	free(p->ids);
	free(p->pairs);
	memset(p, 0, sizeof *p);
}

/* ---- batches ---- */

struct seqc_batches {
	const seqc_pairs *p;
	seqc_batch_order order;
	size_t max_tokens, max_sentences;

	/* the current epoch's arrangement: batch k of the cut holds the pairs
	 * idx[start[k] .. start[k + 1]); batch i of the epoch is cut batch
	 * perm[i] */
	uint32_t *idx, *tmp; /* [n]; tmp: the sort's scratch */
	size_t *start;       /* [n + 1] */
	uint32_t *perm;      /* [n] */
	size_t *bucket;      /* [longest length + 2]: counting sort */
	size_t nb;

	uint64_t epoch;
	size_t next;
	seqc_rng rng;   /* as the current epoch began */
	seqc_rng after; /* after drawing its arrangement: the next epoch's start */

	seqc_s2s_store own;
};

static size_t src_pos(const seqc_pair *pr)
{
	return pr->src_len + (size_t)1;
}

static size_t tgt_pos(const seqc_pairs *p, const seqc_pair *pr)
{
	return p->has_target ? pr->tgt_len + (size_t)1 : 0;
}

static void shuffle_u32(uint32_t *a, size_t n, seqc_rng *rng)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = seqc_rng_below(rng, (uint32_t)i);
		uint32_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* Stable counting sort of bt->idx by the source (by_src) or target
 * positions: O(n + longest), and stable, so that two passes (target, then
 * source) sort by (source, target) and keep the order ties came in. */
static void sort_by(seqc_batches *bt, bool by_src)
{
	const seqc_pairs *p = bt->p;
	size_t K = max_size(p->max_src, p->max_tgt) + 2;
	memset(bt->bucket, 0, K * sizeof(size_t));
	for (size_t i = 0; i < p->n; i++) {
		const seqc_pair *pr = &p->pairs[bt->idx[i]];
		bt->bucket[(by_src ? src_pos(pr) : tgt_pos(p, pr)) + 1]++;
	}
	for (size_t k = 1; k < K; k++)
		bt->bucket[k] += bt->bucket[k - 1];
	for (size_t i = 0; i < p->n; i++) {
		const seqc_pair *pr = &p->pairs[bt->idx[i]];
		bt->tmp[bt->bucket[by_src ? src_pos(pr) : tgt_pos(p, pr)]++] = bt->idx[i];
	}
	uint32_t *t = bt->idx;
	bt->idx = bt->tmp;
	bt->tmp = t;
}

/* Consecutive pairs of idx into batches within the budget. */
static void cut(seqc_batches *bt)
{
	const seqc_pairs *p = bt->p;
	size_t rows = 0, S = 0, T = 0;
	bt->nb = 0;
	for (size_t j = 0; j < p->n; j++) {
		const seqc_pair *pr = &p->pairs[bt->idx[j]];
		size_t s = max_size(S, src_pos(pr)), t = max_size(T, tgt_pos(p, pr));
		bool over = (uint64_t)(rows + 1) * max_size(s, t) > bt->max_tokens ||
			    (bt->max_sentences && rows + 1 > bt->max_sentences);
		if (rows && over) {
			bt->start[++bt->nb] = j;
			rows = 0;
			s = src_pos(pr);
			t = tgt_pos(p, pr);
		}
		rows++;
		S = s;
		T = t;
	}
	bt->start[0] = 0;
	bt->start[++bt->nb] = p->n;
}

/* The arrangement of the epoch that begins with bt->rng. */
static void arrange(seqc_batches *bt)
{
	size_t n = bt->p->n;
	seqc_rng r = bt->rng;
	for (size_t i = 0; i < n; i++)
		bt->idx[i] = (uint32_t)i;
	if (bt->order == SEQC_BATCHES_SHUFFLE)
		shuffle_u32(bt->idx, n, &r); /* ties in random order after the stable sorts */
	if (bt->order != SEQC_BATCHES_FILE) {
		if (bt->p->has_target)
			sort_by(bt, false);
		sort_by(bt, true);
	}
	cut(bt);
	for (size_t i = 0; i < bt->nb; i++)
		bt->perm[i] = (uint32_t)i;
	if (bt->order == SEQC_BATCHES_SHUFFLE)
		shuffle_u32(bt->perm, bt->nb, &r);
	bt->after = r;
}

/* The largest batch bt can make in any epoch: a batch of two rows or more
 * has B * max(S, T) <= max_tokens, so each array holds at most that, or a
 * single pair's positions. */
static void store_caps(const seqc_batches *bt, size_t *ids, size_t *rows)
{
	const seqc_pairs *p = bt->p;
	size_t L = max_size(p->max_src, p->max_tgt);
	*rows = min_size(p->n, bt->max_tokens);
	if (bt->max_sentences)
		*rows = min_size(*rows, bt->max_sentences);
	size_t multi = *rows <= SIZE_MAX / L ? *rows * L : SIZE_MAX;
	*ids = max_size(min_size(bt->max_tokens, multi), L);
}

int seqc_s2s_store_init(seqc_s2s_store *st, const seqc_batches *bt)
{
	memset(st, 0, sizeof *st);
	size_t ids, rows;
	store_caps(bt, &ids, &rows);
	if (ids > SIZE_MAX / sizeof(int32_t) / 3)
		return seqc_error(SEQC_ENOMEM, "batches: storage for %zu ids", ids);
	bool tgt = bt->p->has_target;
	st->src = malloc(ids * sizeof(int32_t));
	st->tgt_in = tgt ? malloc(ids * sizeof(int32_t)) : NULL;
	st->tgt_out = tgt ? malloc(ids * sizeof(int32_t)) : NULL;
	st->src_lens = malloc(rows * sizeof(size_t));
	if (!st->src || !st->src_lens || (tgt && (!st->tgt_in || !st->tgt_out))) {
		seqc_s2s_store_free(st);
		return seqc_error(SEQC_ENOMEM, "batches: cannot allocate storage for %zu rows", rows);
	}
	st->cap_ids = ids;
	st->cap_rows = rows;
	return 0;
}

void seqc_s2s_store_free(seqc_s2s_store *st)
{
	if (!st)
		return;
	free(st->src);
	free(st->tgt_in);
	free(st->tgt_out);
	free(st->src_lens);
	memset(st, 0, sizeof *st);
}

seqc_batches *seqc_batches_build(const seqc_pairs *p, size_t max_tokens, size_t max_sentences,
				 seqc_batch_order order, const seqc_rng *rng)
{
	if (!p || p->n == 0)
		return seqc_error(SEQC_EINVAL, "batches: no pairs"), NULL;
	if (max_tokens == 0)
		return seqc_error(SEQC_EINVAL, "batches: max_tokens is 0"), NULL;
	if (order != SEQC_BATCHES_SHUFFLE && order != SEQC_BATCHES_SORTED &&
	    order != SEQC_BATCHES_FILE)
		return seqc_error(SEQC_EINVAL, "batches: unknown order %d", (int)order), NULL;
	if (order == SEQC_BATCHES_SHUFFLE && !rng)
		return seqc_error(SEQC_EINVAL, "batches: shuffled batches need an rng"), NULL;
	if (p->n > MAX_LINES)
		return seqc_error(SEQC_EINVAL, "batches: %zu pairs, more than %zu", p->n, MAX_LINES),
		       NULL;
	seqc_batches *bt = calloc(1, sizeof *bt);
	if (!bt)
		return seqc_error(SEQC_ENOMEM, "batches: cannot allocate"), NULL;
	bt->p = p;
	bt->order = order;
	bt->max_tokens = max_tokens;
	bt->max_sentences = max_sentences;
	if (rng)
		bt->rng = *rng;
	size_t n = p->n, K = max_size(p->max_src, p->max_tgt) + 2;
	bt->idx = malloc(n * sizeof(uint32_t));
	bt->tmp = malloc(n * sizeof(uint32_t));
	bt->perm = malloc(n * sizeof(uint32_t));
	bt->start = malloc((n + 1) * sizeof(size_t));
	bt->bucket = malloc(K * sizeof(size_t));
	if (!bt->idx || !bt->tmp || !bt->perm || !bt->start || !bt->bucket) {
		seqc_batches_destroy(bt);
		return seqc_error(SEQC_ENOMEM, "batches: cannot allocate the order of %zu pairs", n),
		       NULL;
	}
	if (seqc_s2s_store_init(&bt->own, bt) < 0) {
		seqc_batches_destroy(bt);
		return NULL;
	}
	arrange(bt);
	return bt;
}

void seqc_batches_destroy(seqc_batches *bt)
{
	if (!bt)
		return;
	free(bt->idx);
	free(bt->tmp);
	free(bt->perm);
	free(bt->start);
	free(bt->bucket);
	seqc_s2s_store_free(&bt->own);
	free(bt);
}

size_t seqc_batches_count(const seqc_batches *bt)
{
	return bt->nb;
}

const uint32_t *seqc_batches_rows(const seqc_batches *bt, size_t i, size_t *rows)
{
	if (i >= bt->nb) {
		if (rows)
			*rows = 0;
		return NULL;
	}
	size_t k = bt->perm[i];
	if (rows)
		*rows = bt->start[k + 1] - bt->start[k];
	return bt->idx + bt->start[k];
}

/* One row: x eos pad..., and (with a target) bos y pad... / y eos -1... */
static void fill_row(const seqc_pairs *p, const seqc_pair *pr, size_t S, size_t T, int32_t *src,
		     int32_t *tin, int32_t *tout)
{
	const int32_t *x = p->ids + pr->off, *y = x + pr->src_len;
	size_t m = pr->src_len, n = pr->tgt_len;
	memcpy(src, x, m * sizeof(int32_t));
	src[m] = p->src_eos;
	for (size_t s = m + 1; s < S; s++)
		src[s] = p->src_pad;
	if (!T)
		return;
	tin[0] = p->tgt_bos;
	memcpy(tin + 1, y, n * sizeof(int32_t));
	memcpy(tout, y, n * sizeof(int32_t));
	tout[n] = p->tgt_eos;
	for (size_t t = n + 1; t < T; t++) {
		tin[t] = p->tgt_pad;
		tout[t] = -1;
	}
}

int seqc_batches_fill(seqc_batches *bt, size_t i, seqc_s2s_store *st, seqc_s2s_batch *b,
		      seqc_batch_info *info)
{
	size_t B;
	const uint32_t *rows = seqc_batches_rows(bt, i, &B);
	if (!rows)
		return seqc_error(SEQC_ERANGE, "batches: batch %zu of %zu", i, bt->nb);
	const seqc_pairs *p = bt->p;
	size_t S = 0, T = 0, src_real = 0, tgt_real = 0;
	for (size_t r = 0; r < B; r++) {
		const seqc_pair *pr = &p->pairs[rows[r]];
		S = max_size(S, src_pos(pr));
		T = max_size(T, tgt_pos(p, pr));
		src_real += src_pos(pr);
		tgt_real += tgt_pos(p, pr);
	}
	if (!st)
		st = &bt->own;
	if (B > st->cap_rows || B * S > st->cap_ids || B * T > st->cap_ids ||
	    (T && (!st->tgt_in || !st->tgt_out)))
		return seqc_error(SEQC_EINVAL,
				  "batches: batch %zu [%zu, %zu] -> [%zu, %zu] does not fit a store "
				  "of %zu rows and %zu ids",
				  i, B, S, B, T, st->cap_rows, st->cap_ids);
	for (size_t r = 0; r < B; r++) {
		const seqc_pair *pr = &p->pairs[rows[r]];
		fill_row(p, pr, S, T, st->src + r * S, T ? st->tgt_in + r * T : NULL,
			 T ? st->tgt_out + r * T : NULL);
		st->src_lens[r] = src_pos(pr);
	}
	*b = (seqc_s2s_batch){ .B = B, .S = S, .T = T, .src = st->src, .src_lens = st->src_lens,
			       .tgt_in = T ? st->tgt_in : NULL, .tgt_out = T ? st->tgt_out : NULL };
	if (info) {
		size_t all = B * (S + T);
		*info = (seqc_batch_info){ .index = i, .epoch = bt->epoch, .rows = B,
					   .src_tokens = src_real, .tgt_tokens = tgt_real,
					   .padded = (double)(all - src_real - tgt_real) / (double)all };
	}
	return 0;
}

int seqc_batches_next(seqc_batches *bt, seqc_s2s_store *st, seqc_s2s_batch *b,
		      seqc_batch_info *info)
{
	if (bt->next >= bt->nb) {
		bt->epoch++;
		bt->next = 0;
		bt->rng = bt->after;
		arrange(bt);
	}
	int rc = seqc_batches_fill(bt, bt->next, st, b, info);
	if (rc == 0)
		bt->next++;
	return rc;
}

void seqc_batches_get_state(const seqc_batches *bt, seqc_batches_state *s)
{
	*s = (seqc_batches_state){ .epoch = bt->epoch, .next = bt->next, .rng = bt->rng };
}

int seqc_batches_set_state(seqc_batches *bt, const seqc_batches_state *s)
{
	if (bt->order == SEQC_BATCHES_SHUFFLE && !(s->rng.inc & 1))
		return seqc_error(SEQC_EINVAL, "batches state: rng increment %llu is even",
				  (unsigned long long)s->rng.inc);
	seqc_batches_state old;
	seqc_batches_get_state(bt, &old);
	bt->rng = s->rng;
	arrange(bt);
	if (s->next > bt->nb) {
		bt->rng = old.rng;
		arrange(bt);
		return seqc_error(SEQC_EINVAL,
				  "batches state: next batch %llu of an epoch of %zu: not this "
				  "corpus's batches",
				  (unsigned long long)s->next, bt->nb);
	}
	bt->epoch = s->epoch;
	bt->next = (size_t)s->next;
	return 0;
}
