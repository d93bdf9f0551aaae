/* Corpus BLEU (13a tokenizer) and chrF, sacreBLEU-compatible: see bleu.h for
 * the rules and where they come from.
 *
 * Each sentence is counted with sorted n-gram arrays instead of hash maps:
 * tokens (BLEU's words, chrF's words) are interned to small integer ids per
 * sentence, code points are chrF's character ids, and an n-gram is a
 * pointer into an id array. Scratch arrays live in the object and only
 * grow, so after the first sentences adding one takes nothing from the heap. */
#include "decode/bleu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "seq/seqc.h"
#include "tokenize/tok_internal.h"

/* ---- growable arrays ---- */

/* Makes room for need elements of size elem in *p (capacity *cap). */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *q = c <= SIZE_MAX / elem ? realloc(*p, c * elem) : NULL;
	if (!q)
		return seqc_error(SEQC_ENOMEM, "bleu: out of memory (%zu elements)", need);
	*p = q;
	*cap = c;
	return 0;
}

#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

typedef struct buf {
	char *p;
	size_t n, cap;
} buf;

static int put(buf *b, const char *s, size_t n)
{
	if (GROW(b->p, b->cap, b->n + n + 1) < 0)
		return SEQC_ENOMEM;
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

static int putc1(buf *b, char c)
{
	return put(b, &c, 1);
}

/* ---- characters ---- */

/* Python's str.isspace / str.split white space: bidirectional classes WS,
 * B and S, and category Zs. */
static bool py_space(uint32_t c)
{
	if (c < 0x80)
		return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
	return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
	       c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The code point at s[*i] (valid UTF-8), advancing *i. */
static uint32_t next_cp(const char *s, size_t n, size_t *i)
{
	uint32_t cp = (unsigned char)s[*i];
	if (cp < 0x80) {
		(*i)++;
		return cp;
	}
	int k = seqc_utf8_decode((const uint8_t *)s + *i, n - *i, &cp);
	*i += k > 0 ? (size_t)k : 1;
	return cp;
}

static int check_utf8(const char *s, size_t n, const char *what)
{
	size_t bad = seqc_utf8_first_invalid((const uint8_t *)s, n);
	return bad < n ? seqc_utf8_error(what, (const uint8_t *)s, n, bad, 0) : 0;
}

/* Python's str.lower: utf8proc's simple mapping, plus the one unconditional
 * full mapping of SpecialCasing (U+0130 -> i U+0307). */
static int lower_into(buf *o, const char *s, size_t n)
{
	o->n = 0;
	for (size_t i = 0; i < n;) {
		uint32_t c = next_cp(s, n, &i);
		if (c == 0x130) {
			if (put(o, "i\xCC\x87", 3) < 0)
				return SEQC_ENOMEM;
			continue;
		}
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t k = utf8proc_encode_char(utf8proc_tolower((utf8proc_int32_t)c), enc);
		if (put(o, (const char *)enc, (size_t)k) < 0)
			return SEQC_ENOMEM;
	}
	return 0;
}

/* ---- the 13a tokenizer ---- */

typedef struct tok13a {
	buf a, b; /* ping-pong buffers of the passes */
} tok13a;

/* out = s with every pat replaced by rep, left to right, non-overlapping. */
static int replace_all(buf *out, const char *s, size_t n, const char *pat, const char *rep)
{
	size_t pl = strlen(pat), rl = strlen(rep);
	out->n = 0;
	for (size_t i = 0; i < n;) {
		if (n - i >= pl && !memcmp(s + i, pat, pl)) {
			if (put(out, rep, rl) < 0)
				return SEQC_ENOMEM;
			i += pl;
		} else if (putc1(out, s[i++]) < 0) {
			return SEQC_ENOMEM;
		}
	}
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The class of the first rule, [\{-\~\[-\` -\&\(-\+\:-\@\/]. */
static bool rule1_char(char c)
{
	return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
	       (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

/* The four substitutions of tokenizer_re over s[0..n), as Python's re.sub
 * runs each: one scan left to right, a match consuming its two characters.
 * Bytes stand for characters: the patterns are ASCII and a byte >= 0x80
 * matches only [^0-9], so a multi-byte character behaves as one. */
static int rules(buf *out, const char *s, size_t n, int rule)
{
	out->n = 0;
	for (size_t i = 0; i < n;) {
		char c = s[i], d = i + 1 < n ? s[i + 1] : '\0';
		int rc;
		if (rule == 1 && rule1_char(c)) {
			rc = put(out, (const char[]){ ' ', c, ' ' }, 3);
			i++;
		} else if (rule == 2 && i + 1 < n && !is_digit(c) && (d == '.' || d == ',')) {
			rc = put(out, (const char[]){ c, ' ', d, ' ' }, 4); /* \1 \2 */
			i += 2;
		} else if (rule == 3 && i + 1 < n && (c == '.' || c == ',') && !is_digit(d)) {
			rc = put(out, (const char[]){ ' ', c, ' ', d }, 4); /*  \1 \2 */
			i += 2;
		} else if (rule == 4 && i + 1 < n && is_digit(c) && d == '-') {
			rc = put(out, (const char[]){ c, ' ', '-', ' ' }, 4); /* \1 \2 */
			i += 2;
		} else {
			rc = putc1(out, c);
			i++;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Appends the words of s[0..n) (split on Python white space) to out,
 * separated by single spaces. */
static int split_join(buf *out, const char *s, size_t n)
{
	bool first = true;
	for (size_t i = 0; i < n;) {
		size_t at = i;
		if (py_space(next_cp(s, n, &i)))
			continue;
		size_t end = i;
		while (end < n) {
			size_t j = end;
			if (py_space(next_cp(s, n, &j)))
				break;
			end = j;
		}
		if ((!first && putc1(out, ' ') < 0) || put(out, s + at, end - at) < 0)
			return SEQC_ENOMEM;
		first = false;
		i = end;
	}
	return 0;
}

/* Length of s[0..n) without trailing white space (Python's rstrip). */
static size_t rstrip_len(const char *s, size_t n)
{
	while (n) {
		size_t k = n - 1;
		while (k && ((unsigned char)s[k] & 0xC0) == 0x80)
			k--;
		size_t i = k;
		if (!py_space(next_cp(s, n, &i)))
			break;
		n = k;
	}
	return n;
}

/* Appends the 13a tokenization of s[0..n) (valid UTF-8) to out. */
static int tokenize_13a(tok13a *t, buf *out, const char *s, size_t n, bool lowercase)
{
	buf *cur = &t->a, *nxt = &t->b, *sw;
	if (lowercase) {
		if (lower_into(&t->b, s, n) < 0)
			return SEQC_ENOMEM;
		s = t->b.p ? t->b.p : "";
		n = t->b.n;
	}
	n = rstrip_len(s, n);
	static const char *const subst[][2] = {
		{ "<skipped>", "" }, { "-\n", "" }, { "\n", " " },
		{ "&quot;", "\"" },  { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
	};
	/* first pass from s into a (s may be b), then ping-pong */
	if (replace_all(cur, s, n, subst[0][0], subst[0][1]) < 0)
		return SEQC_ENOMEM;
	bool amp = memchr(cur->p ? cur->p : "", '&', cur->n) != NULL;
	for (size_t k = 1; k < (amp ? 7u : 3u); k++) {
		if (replace_all(nxt, cur->p ? cur->p : "", cur->n, subst[k][0], subst[k][1]) < 0)
			return SEQC_ENOMEM;
		sw = cur, cur = nxt, nxt = sw;
	}
	/* " {line} " */
	nxt->n = 0;
	if (putc1(nxt, ' ') < 0 || put(nxt, cur->p ? cur->p : "", cur->n) < 0 || putc1(nxt, ' ') < 0)
		return SEQC_ENOMEM;
	sw = cur, cur = nxt, nxt = sw;
	for (int r = 1; r <= 4; r++) {
		if (rules(nxt, cur->p, cur->n, r) < 0)
			return SEQC_ENOMEM;
		sw = cur, cur = nxt, nxt = sw;
	}
	return split_join(out, cur->p, cur->n);
}

int seqc_bleu_tokenize_13a(const char *s, size_t n, bool lowercase, char **out, size_t *out_len)
{
	if (!s && n)
		return seqc_error(SEQC_EINVAL, "seqc_bleu_tokenize_13a: NULL text");
	int rc = check_utf8(s, n, "text");
	if (rc < 0)
		return rc;
	tok13a t = { 0 };
	buf o = { 0 };
	rc = tokenize_13a(&t, &o, s ? s : "", n, lowercase);
	if (rc == 0 && !o.p)
		rc = put(&o, "", 0); /* an empty line gives an empty string, not NULL */
	free(t.a.p);
	free(t.b.p);
	if (rc < 0) {
		free(o.p);
		return rc;
	}
	*out = o.p;
	*out_len = o.n;
	return 0;
}

/* ---- n-grams ---- */

/* A token of a segment: its bytes, and where its interned id goes. */
typedef struct word {
	const char *p;
	size_t n;
	uint32_t *id;
} word;

static int word_cmp(const void *a, const void *b)
{
	const word *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Gives equal words equal ids 0, 1, ... (sorts w). */
static void intern(word *w, size_t n)
{
	qsort(w, n, sizeof *w, word_cmp);
	uint32_t id = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && word_cmp(&w[i - 1], &w[i]))
			id++;
		*w[i].id = id;
	}
}

/* An n-gram: n ids from ids (n is the same in one array, kept here so that
 * qsort's comparison needs no context). */
typedef struct gram {
	const uint32_t *ids;
	size_t n;
} gram;

static int gram_cmp(const void *a, const void *b)
{
	const gram *x = a, *y = b;
	for (size_t i = 0; i < x->n; i++)
		if (x->ids[i] != y->ids[i])
			return x->ids[i] < y->ids[i] ? -1 : 1;
	return 0;
}

/* The sorted n-grams of ids[0..len) into *g; returns their count. */
static int make_grams(gram **g, size_t *cap, const uint32_t *ids, size_t len, size_t n,
		      size_t *count)
{
	size_t k = len >= n ? len - n + 1 : 0;
	if (GROW(*g, *cap, k ? k : 1) < 0)
		return SEQC_ENOMEM;
	for (size_t i = 0; i < k; i++)
		(*g)[i] = (gram){ ids + i, n };
	qsort(*g, k, sizeof **g, gram_cmp);
	*count = k;
	return 0;
}

/* For each distinct n-gram of sorted h (group g, in order), its count in
 * sorted r into rc[g] and, when hc is not NULL, its count in h into hc[g];
 * returns the number of groups. */
static size_t count_in(const gram *h, size_t nh, const gram *r, size_t nr, uint32_t *hc,
		       uint32_t *rc)
{
	size_t g = 0, j = 0;
	for (size_t i = 0; i < nh; g++) {
		size_t e = i + 1;
		while (e < nh && !gram_cmp(&h[e], &h[i]))
			e++;
		while (j < nr && gram_cmp(&r[j], &h[i]) < 0)
			j++;
		uint32_t c = 0;
		for (; j < nr && !gram_cmp(&r[j], &h[i]); j++)
			c++;
		rc[g] = c;
		if (hc)
			hc[g] = (uint32_t)(e - i);
		i = e;
	}
	return g;
}

/* The scratch one sentence needs, shared by BLEU and chrF. */
typedef struct scratch {
	tok13a t;
	buf low;              /* lowercased text (chrF) */
	buf text;             /* every segment's tokenized text, one after another */
	word *w;              /* tokens of every segment */
	size_t w_cap;
	uint32_t *ids;        /* ids of every segment's tokens or characters */
	size_t ids_cap;
	size_t *seg;          /* segment k: tokens [seg[2k], seg[2k] + seg[2k + 1]) */
	size_t seg_cap;
	gram *hg, *rg;        /* hypothesis and reference n-grams of one order */
	size_t hg_cap, rg_cap;
	uint32_t *hc, *rc, *best; /* per distinct hypothesis n-gram */
	size_t hc_cap, rc_cap, best_cap;
} scratch;

static void scratch_free(scratch *s)
{
	free(s->t.a.p);
	free(s->t.b.p);
	free(s->low.p);
	free(s->text.p);
	free(s->w);
	free(s->ids);
	free(s->seg);
	free(s->hg);
	free(s->rg);
	free(s->hc);
	free(s->rc);
	free(s->best);
}

/* Room for counts of up to n groups. */
static int counts_room(scratch *s, size_t n)
{
	n = n ? n : 1;
	return GROW(s->hc, s->hc_cap, n) < 0 || GROW(s->rc, s->rc_cap, n) < 0 ||
			       GROW(s->best, s->best_cap, n) < 0
		       ? SEQC_ENOMEM
		       : 0;
}

/* Checks hyp and refs for UTF-8 and counts the non-empty references. */
static int check_inputs(const char *hyp, size_t hyp_len, const char *const *refs,
			const size_t *ref_lens, size_t nrefs, size_t *nonempty)
{
	if ((!hyp && hyp_len) || (nrefs && (!refs || !ref_lens)))
		return seqc_error(SEQC_EINVAL, "bleu: NULL text");
	if (nrefs == 0)
		return seqc_error(SEQC_EINVAL, "bleu: a sentence needs at least one reference");
	int rc = check_utf8(hyp, hyp_len, "hypothesis");
	*nonempty = 0;
	for (size_t i = 0; i < nrefs && rc == 0; i++) {
		if (!refs[i] && ref_lens[i])
			return seqc_error(SEQC_EINVAL, "bleu: reference %zu is NULL", i + 1);
		char what[32];
		snprintf(what, sizeof what, "reference %zu", i + 1);
		rc = check_utf8(refs[i], ref_lens[i], what);
		*nonempty += ref_lens[i] > 0;
	}
	if (rc == 0 && *nonempty == 0)
		rc = seqc_error(SEQC_EINVAL, "bleu: every reference is empty (sacreBLEU refuses an "
				"empty reference too)");
	return rc;
}

/* Splits the space-separated segments of s->text (segment k from
 * starts[k] to starts[k + 1]) into s->w, s->seg; ids are set by intern. */
static int split_segments(scratch *s, const size_t *starts, size_t nseg)
{
	size_t nw = 0;
	if (GROW(s->seg, s->seg_cap, 2 * nseg) < 0)
		return SEQC_ENOMEM;
	for (size_t k = 0; k < nseg; k++) {
		s->seg[2 * k] = nw;
		for (size_t i = starts[k]; i < starts[k + 1];) {
			size_t e = i;
			while (e < starts[k + 1] && s->text.p[e] != ' ')
				e++;
			if (e > i) {
				if (GROW(s->w, s->w_cap, nw + 1) < 0)
					return SEQC_ENOMEM;
				s->w[nw++] = (word){ s->text.p + i, e - i, NULL };
			}
			i = e + 1;
		}
		s->seg[2 * k + 1] = nw - s->seg[2 * k];
	}
	if (GROW(s->ids, s->ids_cap, nw ? nw : 1) < 0)
		return SEQC_ENOMEM;
	for (size_t i = 0; i < nw; i++)
		s->w[i].id = s->ids + i;
	intern(s->w, nw);
	return 0;
}

/* ---- BLEU ---- */

struct seqc_bleu {
	seqc_bleu_opts opts;
	seqc_bleu_stats stats;
	size_t nrefs;  /* of the first sentence; 0 before any */
	bool var_refs; /* sentences had different numbers */
	scratch s;
	size_t *starts;
	size_t starts_cap;
	char sig[160];
};

static double smooth_value(const seqc_bleu_opts *o)
{
	if (o->smooth_value >= 0)
		return o->smooth_value;
	return o->smooth == SEQC_BLEU_SMOOTH_FLOOR ? 0.1 : 1.0;
}

seqc_bleu *seqc_bleu_create(const seqc_bleu_opts *opts)
{
	seqc_bleu_opts o = { .lowercase = false, .smooth = SEQC_BLEU_SMOOTH_EXP, .smooth_value = -1 };
	if (opts)
		o = *opts;
	if (o.smooth < SEQC_BLEU_SMOOTH_EXP || o.smooth > SEQC_BLEU_SMOOTH_ADD_K ||
	    !isfinite(o.smooth_value)) {
		seqc_error(SEQC_EINVAL, "seqc_bleu_create: unknown smoothing %d or value %g",
			   (int)o.smooth, o.smooth_value);
		return NULL;
	}
	seqc_bleu *b = calloc(1, sizeof *b);
	if (!b) {
		seqc_error(SEQC_ENOMEM, "seqc_bleu_create: out of memory");
		return NULL;
	}
	b->opts = o;
	return b;
}

void seqc_bleu_destroy(seqc_bleu *b)
{
	if (!b)
		return;
	scratch_free(&b->s);
	free(b->starts);
	free(b);
}

void seqc_bleu_reset(seqc_bleu *b)
{
	memset(&b->stats, 0, sizeof b->stats);
	b->nrefs = 0;
	b->var_refs = false;
}

/* sacreBLEU's _get_closest_ref_len: the smallest |hyp - ref|, ties to the
 * shorter reference. */
static size_t closest_ref_len(size_t hyp, const size_t *seg, size_t nrefs)
{
	size_t best = 0, best_diff = SIZE_MAX;
	for (size_t r = 0; r < nrefs; r++) {
		size_t len = seg[2 * (r + 1) + 1];
		size_t diff = len > hyp ? len - hyp : hyp - len;
		if (diff < best_diff || (diff == best_diff && len < best)) {
			best_diff = diff;
			best = len;
		}
	}
	return best;
}

int seqc_bleu_add(seqc_bleu *b, const char *hyp, size_t hyp_len, const char *const *refs,
		  const size_t *ref_lens, size_t nrefs)
{
	size_t nref = 0;
	int rc = check_inputs(hyp, hyp_len, refs, ref_lens, nrefs, &nref);
	if (rc < 0)
		return rc;
	scratch *s = &b->s;
	if (GROW(b->starts, b->starts_cap, nref + 2) < 0)
		return SEQC_ENOMEM;
	/* segment 0 the hypothesis, 1.. the non-empty references */
	s->text.n = 0;
	size_t nseg = 0;
	for (size_t k = 0; k <= nrefs; k++) {
		const char *t = k ? refs[k - 1] : hyp;
		size_t n = k ? ref_lens[k - 1] : hyp_len;
		if (k && n == 0)
			continue;
		b->starts[nseg++] = s->text.n;
		if (tokenize_13a(&s->t, &s->text, t ? t : "", n, b->opts.lowercase) < 0 ||
		    putc1(&s->text, ' ') < 0)
			return SEQC_ENOMEM;
	}
	b->starts[nseg] = s->text.n;
	if (split_segments(s, b->starts, nseg) < 0)
		return SEQC_ENOMEM;
	size_t hyp_n = s->seg[1];
	seqc_bleu_stats add = { .hyp_len = hyp_n, .ref_len = closest_ref_len(hyp_n, s->seg, nref) };
	for (size_t n = 1; n <= SEQC_BLEU_ORDER; n++) {
		size_t nh;
		if (make_grams(&s->hg, &s->hg_cap, s->ids + s->seg[0], hyp_n, n, &nh) < 0 ||
		    counts_room(s, nh) < 0)
			return SEQC_ENOMEM;
		size_t groups = 0;
		for (size_t r = 1; r <= nref; r++) {
			size_t nr;
			if (make_grams(&s->rg, &s->rg_cap, s->ids + s->seg[2 * r], s->seg[2 * r + 1], n,
				       &nr) < 0)
				return SEQC_ENOMEM;
			groups = count_in(s->hg, nh, s->rg, nr, s->hc, s->rc);
			/* clipping to the largest count in any one reference */
			for (size_t g = 0; g < groups; g++)
				s->best[g] = r == 1 || s->rc[g] > s->best[g] ? s->rc[g] : s->best[g];
		}
		add.total[n - 1] = nh;
		for (size_t g = 0; g < groups; g++)
			add.correct[n - 1] += s->hc[g] < s->best[g] ? s->hc[g] : s->best[g];
	}
	seqc_bleu_stats *st = &b->stats;
	st->hyp_len += add.hyp_len;
	st->ref_len += add.ref_len;
	for (size_t n = 0; n < SEQC_BLEU_ORDER; n++) {
		st->correct[n] += add.correct[n];
		st->total[n] += add.total[n];
	}
	st->sentences++;
	if (b->nrefs && b->nrefs != nref)
		b->var_refs = true;
	if (!b->nrefs)
		b->nrefs = nref;
	return 0;
}

seqc_bleu_stats seqc_bleu_get_stats(const seqc_bleu *b)
{
	return b->stats;
}

/* utils.my_log: log, with 0 mapped to -9999999999. */
static double my_log(double x)
{
	return x == 0.0 ? -9999999999.0 : log(x);
}

void seqc_bleu_score_stats(const seqc_bleu_stats *s, const seqc_bleu_opts *opts,
			   seqc_bleu_result *out)
{
	seqc_bleu_opts o = { .smooth = SEQC_BLEU_SMOOTH_EXP, .smooth_value = -1 };
	if (opts)
		o = *opts;
	double sv = smooth_value(&o);
	*out = (seqc_bleu_result){ .hyp_len = s->hyp_len, .ref_len = s->ref_len };
	double sys = (double)s->hyp_len, ref = (double)s->ref_len;
	out->bp = s->hyp_len >= s->ref_len ? 1.0 : s->hyp_len > 0 ? exp(1 - ref / sys) : 0.0;
	out->ratio = s->ref_len ? sys / ref : 0.0;
	bool any = false;
	for (size_t n = 0; n < SEQC_BLEU_ORDER; n++)
		any |= s->correct[n] != 0;
	if (!any)
		return; /* sacreBLEU's early stop: 0, precisions 0 */
	double smooth_mteval = 1.0;
	for (size_t n = 0; n < SEQC_BLEU_ORDER; n++) {
		double correct = (double)s->correct[n], total = (double)s->total[n];
		if (o.smooth == SEQC_BLEU_SMOOTH_ADD_K && n > 0) {
			correct += sv;
			total += sv;
		}
		if (total == 0)
			break;
		if (correct == 0) {
			if (o.smooth == SEQC_BLEU_SMOOTH_EXP) {
				smooth_mteval *= 2;
				out->precisions[n] = 100.0 / (smooth_mteval * total);
			} else if (o.smooth == SEQC_BLEU_SMOOTH_FLOOR) {
				out->precisions[n] = 100.0 * sv / total;
			}
		} else {
			out->precisions[n] = 100.0 * correct / total;
		}
	}
	double sum = 0;
	for (size_t n = 0; n < SEQC_BLEU_ORDER; n++)
		sum += my_log(out->precisions[n]);
	out->score = out->bp * exp(sum / SEQC_BLEU_ORDER);
}

void seqc_bleu_compute(const seqc_bleu *b, seqc_bleu_result *out)
{
	seqc_bleu_score_stats(&b->stats, &b->opts, out);
}

static void nrefs_str(char *dst, size_t len, size_t nrefs, bool var)
{
	if (var)
		snprintf(dst, len, "var");
	else
		snprintf(dst, len, "%zu", nrefs ? nrefs : 1);
}

const char *seqc_bleu_signature(seqc_bleu *b)
{
	char nr[24], smooth[40];
	nrefs_str(nr, sizeof nr, b->nrefs, b->var_refs);
	static const char *const names[] = { "exp", "none", "floor", "add-k" };
	if (b->opts.smooth == SEQC_BLEU_SMOOTH_FLOOR || b->opts.smooth == SEQC_BLEU_SMOOTH_ADD_K)
		snprintf(smooth, sizeof smooth, "%s[%.2f]", names[b->opts.smooth],
			 smooth_value(&b->opts));
	else
		snprintf(smooth, sizeof smooth, "%s", names[b->opts.smooth]);
	snprintf(b->sig, sizeof b->sig, "nrefs:%s|case:%s|eff:no|tok:13a|smooth:%s|version:seqc-%s",
		 nr, b->opts.lowercase ? "lc" : "mixed", smooth, seqc_version());
	return b->sig;
}

/* ---- chrF ---- */

#define CHRF_MAX_ORDERS (SEQC_CHRF_MAX_CHAR_ORDER + SEQC_CHRF_MAX_WORD_ORDER)

struct seqc_chrf {
	seqc_chrf_opts opts;
	size_t orders;
	uint64_t stats[3 * CHRF_MAX_ORDERS];
	size_t sentences, nrefs;
	bool var_refs;
	scratch s;
	uint32_t *cps; /* every segment's code points */
	size_t cps_cap;
	size_t *starts, *cstart;
	size_t starts_cap, cstart_cap;
	char name[32], sig[160];
};

seqc_chrf_opts seqc_chrf_defaults(void)
{
	return (seqc_chrf_opts){ .char_order = 6, .word_order = 0, .beta = 2 };
}

seqc_chrf *seqc_chrf_create(const seqc_chrf_opts *opts)
{
	seqc_chrf_opts o = opts ? *opts : seqc_chrf_defaults();
	if (o.char_order < 1 || o.char_order > SEQC_CHRF_MAX_CHAR_ORDER || o.word_order < 0 ||
	    o.word_order > SEQC_CHRF_MAX_WORD_ORDER || !(o.beta > 0) || !isfinite(o.beta)) {
		seqc_error(SEQC_EINVAL, "seqc_chrf_create: char order %d (1..%d), word order %d "
			   "(0..%d), beta %g (> 0)", o.char_order, SEQC_CHRF_MAX_CHAR_ORDER,
			   o.word_order, SEQC_CHRF_MAX_WORD_ORDER, o.beta);
		return NULL;
	}
	seqc_chrf *c = calloc(1, sizeof *c);
	if (!c) {
		seqc_error(SEQC_ENOMEM, "seqc_chrf_create: out of memory");
		return NULL;
	}
	c->opts = o;
	c->orders = (size_t)(o.char_order + o.word_order);
	return c;
}

void seqc_chrf_destroy(seqc_chrf *c)
{
	if (!c)
		return;
	scratch_free(&c->s);
	free(c->cps);
	free(c->starts);
	free(c->cstart);
	free(c);
}

void seqc_chrf_reset(seqc_chrf *c)
{
	memset(c->stats, 0, sizeof c->stats);
	c->sentences = 0;
	c->nrefs = 0;
	c->var_refs = false;
}

/* _compute_f_score without eps smoothing: precision and recall averaged
 * over the orders both sides have, then F_beta, in percent. The operations
 * in sacreBLEU's order so that the doubles agree. */
static double chrf_f(const uint64_t *st, size_t orders, double beta)
{
	double factor = beta * beta, prec = 0, rec = 0;
	size_t eff = 0;
	for (size_t i = 0; i < orders; i++) {
		uint64_t nh = st[3 * i], nr = st[3 * i + 1], nm = st[3 * i + 2];
		if (nh > 0 && nr > 0) {
			prec += (double)nm / (double)nh;
			rec += (double)nm / (double)nr;
			eff++;
		}
	}
	if (eff == 0)
		return 0.0;
	prec /= (double)eff;
	rec /= (double)eff;
	if (prec + rec == 0)
		return 0.0;
	double score = (1 + factor) * prec * rec;
	score /= factor * prec + rec;
	return 100 * score;
}

static bool ascii_punct(unsigned char c)
{
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
	       (c >= '{' && c <= '~');
}

/* Appends the words of chrF++ (_remove_punctuation) of s[0..n) to out,
 * space-separated: a word of two or more characters whose last character
 * is ASCII punctuation is split before it, else one whose first is, after
 * it. */
static int chrf_words(buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t at = i;
		if (py_space(next_cp(s, n, &i)))
			continue;
		size_t end = i, chars = 1;
		while (end < n) {
			size_t j = end;
			if (py_space(next_cp(s, n, &j)))
				break;
			end = j;
			chars++;
		}
		const char *w = s + at;
		size_t wl = end - at, cut = wl;
		if (chars > 1 && ascii_punct((unsigned char)w[wl - 1]))
			cut = wl - 1;
		else if (chars > 1 && ascii_punct((unsigned char)w[0]))
			cut = 1;
		if (put(out, w, cut) < 0 || putc1(out, ' ') < 0 ||
		    (cut < wl && (put(out, w + cut, wl - cut) < 0 || putc1(out, ' ') < 0)))
			return SEQC_ENOMEM;
		i = end;
	}
	return 0;
}

/* Appends the code points of s[0..n) (white space dropped unless keep) to
 * c->cps from *ncp. */
static int chrf_chars(seqc_chrf *c, const char *s, size_t n, bool keep, size_t *ncp)
{
	if (GROW(c->cps, c->cps_cap, *ncp + n + 1) < 0)
		return SEQC_ENOMEM;
	for (size_t i = 0; i < n;) {
		uint32_t cp = next_cp(s, n, &i);
		if (keep || !py_space(cp))
			c->cps[(*ncp)++] = cp;
	}
	return 0;
}

/* The [hyp, ref, match] statistics of order n between hypothesis ids
 * h[0..hl) and reference ids r[0..rl), into st[0..3). */
static int order_stats(scratch *s, const uint32_t *h, size_t hl, const uint32_t *r, size_t rl,
		       size_t n, uint64_t *st)
{
	size_t nh, nr;
	if (make_grams(&s->hg, &s->hg_cap, h, hl, n, &nh) < 0 ||
	    make_grams(&s->rg, &s->rg_cap, r, rl, n, &nr) < 0 || counts_room(s, nh) < 0)
		return SEQC_ENOMEM;
	size_t groups = count_in(s->hg, nh, s->rg, nr, s->hc, s->rc);
	uint64_t m = 0;
	for (size_t g = 0; g < groups; g++)
		m += s->hc[g] < s->rc[g] ? s->hc[g] : s->rc[g];
	/* hypothesis n-grams count only when the reference has some */
	st[0] = nr ? nh : 0;
	st[1] = nr;
	st[2] = m;
	return 0;
}

int seqc_chrf_add(seqc_chrf *c, const char *hyp, size_t hyp_len, const char *const *refs,
		  const size_t *ref_lens, size_t nrefs)
{
	size_t nref = 0;
	int rc = check_inputs(hyp, hyp_len, refs, ref_lens, nrefs, &nref);
	if (rc < 0)
		return rc;
	scratch *s = &c->s;
	if (GROW(c->starts, c->starts_cap, nref + 2) < 0 ||
	    GROW(c->cstart, c->cstart_cap, nref + 2) < 0)
		return SEQC_ENOMEM;
	size_t nseg = 0, ncp = 0;
	s->text.n = 0;
	for (size_t k = 0; k <= nrefs; k++) {
		const char *t = k ? refs[k - 1] : hyp;
		size_t n = k ? ref_lens[k - 1] : hyp_len;
		if (k && n == 0)
			continue;
		t = t ? t : "";
		if (c->opts.lowercase) {
			if (lower_into(&s->low, t, n) < 0)
				return SEQC_ENOMEM;
			t = s->low.p ? s->low.p : "";
			n = s->low.n;
		}
		c->starts[nseg] = s->text.n;
		c->cstart[nseg] = ncp;
		nseg++;
		if (chrf_chars(c, t, n, c->opts.whitespace, &ncp) < 0 ||
		    (c->opts.word_order > 0 && chrf_words(&s->text, t, n) < 0))
			return SEQC_ENOMEM;
	}
	c->starts[nseg] = s->text.n;
	c->cstart[nseg] = ncp;
	if (c->opts.word_order > 0 && split_segments(s, c->starts, nseg) < 0)
		return SEQC_ENOMEM;
	uint64_t best[3 * CHRF_MAX_ORDERS], cur[3 * CHRF_MAX_ORDERS];
	double best_f = -1;
	const uint32_t *h = c->cps;
	size_t hl = c->cstart[1];
	for (size_t r = 1; r <= nref; r++) {
		const uint32_t *rr = c->cps + c->cstart[r];
		size_t rl = c->cstart[r + 1] - c->cstart[r];
		for (size_t n = 1; n <= (size_t)c->opts.char_order; n++)
			if (order_stats(s, h, hl, rr, rl, n, cur + 3 * (n - 1)) < 0)
				return SEQC_ENOMEM;
		for (size_t n = 1; n <= (size_t)c->opts.word_order; n++) {
			uint64_t *st = cur + 3 * ((size_t)c->opts.char_order + n - 1);
			if (order_stats(s, s->ids + s->seg[0], s->seg[1], s->ids + s->seg[2 * r],
					s->seg[2 * r + 1], n, st) < 0)
				return SEQC_ENOMEM;
		}
		/* the reference with the best sentence chrF, the first on ties */
		double f = chrf_f(cur, c->orders, c->opts.beta);
		if (f > best_f) {
			best_f = f;
			memcpy(best, cur, 3 * c->orders * sizeof *cur);
		}
	}
	for (size_t i = 0; i < 3 * c->orders; i++)
		c->stats[i] += best[i];
	c->sentences++;
	if (c->nrefs && c->nrefs != nref)
		c->var_refs = true;
	if (!c->nrefs)
		c->nrefs = nref;
	return 0;
}

double seqc_chrf_score(const seqc_chrf *c)
{
	return chrf_f(c->stats, c->orders, c->opts.beta);
}

size_t seqc_chrf_get_stats(const seqc_chrf *c, const uint64_t **stats)
{
	*stats = c->stats;
	return c->orders;
}

/* beta as sacreBLEU prints it: an integer when it is one. */
static void beta_str(char *dst, size_t len, double beta)
{
	if (beta == floor(beta) && beta < 1e9)
		snprintf(dst, len, "%d", (int)beta);
	else
		snprintf(dst, len, "%g", beta);
}

const char *seqc_chrf_name(seqc_chrf *c)
{
	char b[32];
	beta_str(b, sizeof b, c->opts.beta);
	int k = snprintf(c->name, sizeof c->name, "chrF%s", b);
	for (int i = 0; i < c->opts.word_order && k + 1 < (int)sizeof c->name; i++)
		c->name[k++] = '+', c->name[k] = '\0';
	return c->name;
}

const char *seqc_chrf_signature(seqc_chrf *c)
{
	char nr[24];
	nrefs_str(nr, sizeof nr, c->nrefs, c->var_refs);
	snprintf(c->sig, sizeof c->sig,
		 "nrefs:%s|case:%s|eff:yes|nc:%d|nw:%d|space:%s|version:seqc-%s", nr,
		 c->opts.lowercase ? "lc" : "mixed", c->opts.char_order, c->opts.word_order,
		 c->opts.whitespace ? "yes" : "no", seqc_version());
	return c->sig;
}
