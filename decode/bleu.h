/* Corpus BLEU and chrF, computed as sacreBLEU 2.x computes them (this is a
 * sacreBLEU-compatible implementation, not sacreBLEU: its signatures say
 * "version:seqc-<version>").
 *
 * What sacreBLEU 2.x does by default (read from its sources:
 * sacrebleu/metrics/bleu.py, metrics/chrf.py, metrics/base.py,
 * tokenizers/tokenizer_13a.py, tokenizers/tokenizer_re.py, utils.py):
 *
 * BLEU (BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x).
 *   - Smoothing: BLEU(smooth_method='exp') is the default of the class, of
 *     corpus_bleu and of the command line, so corpus BLEU IS exp-smoothed
 *     by default (only sentence_bleu users usually add effective order).
 *     'exp' (Chen and Cherry's method 3, mteval-v13a's): the k-th order
 *     with zero matches gets precision 100 / (2^k total_n).
 *     'floor': a zero-match order gets 100 value / total_n (value 0.1).
 *     'add-k': orders n >= 2 get value (1) added to matches and totals.
 *     'none': a zero precision enters the mean of logs as -9999999999
 *     (utils.my_log), which makes the score 0.
 *   - No match of any order at all gives 0 (all precisions reported 0),
 *     whatever the smoothing. An order with no hypothesis n-gram (total 0)
 *     stops the precision loop: that order and the higher ones count as 0.
 *   - score = bp exp(sum_n log(p_n) / 4), p_n in percent; bp = 1 when
 *     hyp_len >= ref_len, exp(1 - ref_len / hyp_len) otherwise (0 when
 *     hyp_len = 0); ratio = hyp_len / ref_len (0 when ref_len = 0).
 *   - Per sentence, ref_len is the length of the reference closest to the
 *     hypothesis length (ties to the shorter); matches of an n-gram are
 *     clipped to its largest count in any one reference. Statistics are
 *     summed over sentences, then the score is computed once.
 *   - Text: optional lowercasing (Python str.lower), then trailing
 *     whitespace stripped, then the 13a tokenizer (mteval-v13a):
 *       1. remove "<skipped>"; replace &quot; &amp; &lt; &gt; by " & < >
 *          (in that order, each over the whole line);
 *       2. pad the line with a space on each side;
 *       3. put spaces around each of { | } ~ [ \ ] ^ _ ` space ! " # $ % &
 *          ( ) * + : ; < = > ? @ /  (not ' , - . or letters and digits);
 *       4. X. or X, where X is not a digit -> "X . " (left to right,
 *          non-overlapping, as Python's re.sub);
 *       5. . or , followed by Y, not a digit -> " . Y";
 *       6. D- where D is a digit -> "D - ";
 *       7. split on whitespace (Python str.split: Unicode white space,
 *          U+00A0 included) and join with single spaces.
 *   - An empty reference ("", before any stripping) is dropped; a
 *     sentence with no reference left is an error, as in sacreBLEU.
 *
 * chrF (chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.x).
 *   - Character n-grams of orders 1..6 over code points of the line with
 *     all whitespace removed (Python str.split white space); word n-grams
 *     (chrF++, word order 2) over words split on whitespace, a word longer
 *     than one character losing one trailing punctuation character or else
 *     one leading one (ASCII punctuation) into a word of its own.
 *   - Per order: hypothesis n-grams (counted only when the reference has
 *     n-grams of that order), reference n-grams, and matches (sum of min
 *     counts). With several references, the one with the best sentence
 *     chrF is taken (the first on ties). Summed over the corpus.
 *   - Score (eps_smoothing=False, "eff:yes"): precision and recall averaged
 *     over the orders where both the hypothesis and the reference have
 *     n-grams; F_beta = (1 + b^2) P R / (b^2 P + R), times 100; 0 when
 *     P + R = 0.
 *
 * Known differences: lowercasing is utf8proc's simple case mapping plus
 * U+0130 -> "i" U+0307 (Python's full mapping); Python's final-sigma rule
 * (capital sigma at the end of a word -> U+03C2) is not applied. Text must
 * be valid UTF-8: invalid bytes are an error (sacreBLEU would decode with
 * errors too). */
#ifndef SEQC_DECODE_BLEU_H
#define SEQC_DECODE_BLEU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq/error.h"

#define SEQC_BLEU_ORDER 4

typedef enum seqc_bleu_smooth {
	SEQC_BLEU_SMOOTH_EXP,   /* sacreBLEU's default for corpus BLEU */
	SEQC_BLEU_SMOOTH_NONE,
	SEQC_BLEU_SMOOTH_FLOOR, /* value: default 0.1 */
	SEQC_BLEU_SMOOTH_ADD_K, /* value: default 1 */
} seqc_bleu_smooth;

typedef struct seqc_bleu_opts {
	bool lowercase;
	seqc_bleu_smooth smooth;
	double smooth_value; /* floor and add-k; < 0: sacreBLEU's default */
} seqc_bleu_opts;

/* The corpus statistics, sums over the sentences added. */
typedef struct seqc_bleu_stats {
	uint64_t hyp_len, ref_len; /* tokens; ref_len of the closest references */
	uint64_t correct[SEQC_BLEU_ORDER], total[SEQC_BLEU_ORDER];
	size_t sentences;
} seqc_bleu_stats;

typedef struct seqc_bleu_result {
	double score;                         /* 0..100 */
	double precisions[SEQC_BLEU_ORDER];   /* percent, after smoothing */
	double bp, ratio;
	uint64_t hyp_len, ref_len;
} seqc_bleu_result;

typedef struct seqc_bleu seqc_bleu;

/* opts NULL: sacreBLEU's defaults (mixed case, exp smoothing). */
SEQC_API seqc_bleu *seqc_bleu_create(const seqc_bleu_opts *opts);
SEQC_API void seqc_bleu_destroy(seqc_bleu *b); /* accepts NULL */
/* Forgets every sentence added (the options stay). */
SEQC_API void seqc_bleu_reset(seqc_bleu *b);

/* Adds one sentence: the hypothesis hyp[0..hyp_len) and nrefs >= 1
 * references refs[i][0..ref_lens[i]), UTF-8 without newlines (a newline is
 * treated as a space, as sacreBLEU's 13a does). On an error (invalid UTF-8
 * naming "hypothesis" or "reference i" and the byte, no non-empty
 * reference) the statistics are unchanged. */
SEQC_API int seqc_bleu_add(seqc_bleu *b, const char *hyp, size_t hyp_len,
			   const char *const *refs, const size_t *ref_lens, size_t nrefs);

/* The statistics so far (a copy). */
SEQC_API seqc_bleu_stats seqc_bleu_get_stats(const seqc_bleu *b);

/* The score of the statistics so far (of none: 0, with bp 0). */
SEQC_API void seqc_bleu_compute(const seqc_bleu *b, seqc_bleu_result *out);

/* The score of given statistics under given options (NULL: defaults): the
 * function behind seqc_bleu_compute, for statistics kept elsewhere. */
SEQC_API void seqc_bleu_score_stats(const seqc_bleu_stats *s, const seqc_bleu_opts *opts,
				    seqc_bleu_result *out);

/* "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:seqc-0.1.0"
 * (nrefs:var when sentences had different numbers of references). Valid
 * until the next call on b. */
SEQC_API const char *seqc_bleu_signature(seqc_bleu *b);

/* The 13a tokenization of s[0..n) (optionally lowercased first): tokens
 * separated by single spaces, in a new NUL-terminated buffer (*out, length
 * *out_len; free it). SEQC_EUTF8 on invalid UTF-8. */
SEQC_API int seqc_bleu_tokenize_13a(const char *s, size_t n, bool lowercase, char **out,
				    size_t *out_len);

/* ---- chrF ---- */

#define SEQC_CHRF_MAX_CHAR_ORDER 16
#define SEQC_CHRF_MAX_WORD_ORDER 4

typedef struct seqc_chrf_opts {
	int char_order; /* 1..16; sacreBLEU's 6 */
	int word_order; /* 0..4; 0 = chrF, 2 = chrF++ */
	double beta;    /* > 0; sacreBLEU's 2 */
	bool lowercase;
	bool whitespace; /* keep whitespace in the character n-grams */
} seqc_chrf_opts;

/* sacreBLEU's CHRF() defaults: 6, 0, 2, mixed case, no whitespace. */
SEQC_API seqc_chrf_opts seqc_chrf_defaults(void);

typedef struct seqc_chrf seqc_chrf;

/* opts NULL: seqc_chrf_defaults(). Bad options: NULL with SEQC_EINVAL. */
SEQC_API seqc_chrf *seqc_chrf_create(const seqc_chrf_opts *opts);
SEQC_API void seqc_chrf_destroy(seqc_chrf *c); /* accepts NULL */
SEQC_API void seqc_chrf_reset(seqc_chrf *c);

/* As seqc_bleu_add. */
SEQC_API int seqc_chrf_add(seqc_chrf *c, const char *hyp, size_t hyp_len,
			   const char *const *refs, const size_t *ref_lens, size_t nrefs);

/* The corpus score so far, 0..100 (0 when nothing was added). */
SEQC_API double seqc_chrf_score(const seqc_chrf *c);

/* The summed statistics: for order i (character orders first, then word
 * orders), stats[3i] hypothesis n-grams, stats[3i + 1] reference n-grams,
 * stats[3i + 2] matches; returns the number of orders. */
SEQC_API size_t seqc_chrf_get_stats(const seqc_chrf *c, const uint64_t **stats);

/* "chrF2" or "chrF2++" (one + per word order), as sacreBLEU names it. */
SEQC_API const char *seqc_chrf_name(seqc_chrf *c);
/* "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:seqc-0.1.0". */
SEQC_API const char *seqc_chrf_signature(seqc_chrf *c);

#endif
