/* Generation (decode/generate.h) and the logits processors
 * (decode/logits.h), on tiny rnnlm and gpt models with fixed random weights
 * and a character tokenizer of ten letters: processors against hand-computed
 * rows, greedy decoding three ways (temperature 0, top-k 1, and a reference
 * loop, for gpt over the full forward pass of its window, also past its
 * context), batched rows equal to rows alone, stop strings, min length,
 * no-repeat n-grams, streaming, and refused options. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define LETTERS "abcdefghij"

/* Ten letters after the four specials: V 14, bos 2, eos 3. */
static seqc_tok *letters(void)
{
	seqc_tok *t = seqc_tok_char_build(LETTERS, strlen(LETTERS), NULL);
	ck_assert_msg(t != NULL, "%s", seqc_errmsg());
	ck_assert_uint_eq(seqc_tok_vocab_size(t), 14);
	return t;
}

/* Adds normal noise of scale to every weight: logits far from uniform, so
 * greedy choices are not near-ties that rounding could flip. */
static void shake(seqc_params *p, float scale, uint64_t seed)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	for (size_t i = 0; i < p->numel; i++)
		p->values[i] += scale * seqc_rng_normal(&rng);
}

static seqc_model *tiny_rnnlm(uint64_t seed)
{
	seqc_rnnlm_config c = { .cell = SEQC_CELL_LSTM, .vocab = 14, .embed = 6, .hidden = 8, .layers = 2 };
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	seqc_model *m = seqc_model_wrap_rnnlm(seqc_rnnlm_create(&c, &rng));
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	shake(m->params, 0.5f, seed + 100);
	return m;
}

static seqc_model *tiny_gpt(size_t context, uint64_t seed)
{
	seqc_gpt_config c = seqc_gpt_config_defaults();
	c.vocab = 14;
	c.context = context;
	c.layers = 2;
	c.heads = 2;
	c.embed = 8;
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	seqc_model *m = seqc_model_wrap_gpt(seqc_gpt_create(&c, &rng));
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	shake(m->params, 0.5f, seed + 100);
	return m;
}

static seqc_gen_config config(float temperature, size_t max_length, uint64_t seed)
{
	seqc_gen_config c = seqc_gen_defaults();
	c.sample.temperature = temperature;
	c.sample.max_length = max_length;
	c.seed = seed;
	return c;
}

/* Generates and checks success. */
static void generate(seqc_model *m, const seqc_gen_config *c, const int32_t *const *prompts,
		     const size_t *lens, size_t B, seqc_gen_row *rows)
{
	int rc = seqc_generate(m, NULL, c, prompts, lens, B, NULL, NULL, rows);
	ck_assert_msg(rc == 0, "generate: %s", seqc_errmsg());
}

/* ---- processors ---- */

START_TEST(test_repetition_penalty)
{
	float x[6] = { 2.0f, -1.0f, 0.5f, -3.0f, 0.0f, 4.0f };
	uint8_t seen[6] = { 0 };
	/* ids 0, 1, 3, 4 seen (0 and 3 twice): positive / 2, the others * 2,
	 * each once; 2 and 5 untouched */
	const int32_t hist[6] = { 0, 3, 1, 0, 4, 3 };
	ck_assert_int_eq(seqc_logits_repetition_penalty(x, 6, hist, 6, 2.0f, seen), 0);
	const float want[6] = { 1.0f, -2.0f, 0.5f, -6.0f, 0.0f, 4.0f };
	ck_assert(allclose(x, want, 6, 0, 0, "penalty 2"));
	for (size_t i = 0; i < 6; i++)
		ck_assert_uint_eq(seen[i], 0);
	/* a penalty below 1 rewards: 1 / 0.5 = 2, -2 * 0.5 = -1 */
	ck_assert_int_eq(seqc_logits_repetition_penalty(x, 6, hist, 2, 0.5f, seen), 0);
	const float want2[6] = { 2.0f, -2.0f, 0.5f, -3.0f, 0.0f, 4.0f };
	ck_assert(allclose(x, want2, 6, 0, 0, "penalty 0.5"));
	/* refused: penalty <= 0 or not finite, an id outside V */
	const float bad[3] = { 0.0f, -1.0f, NAN };
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(seqc_logits_repetition_penalty(x, 6, hist, 6, bad[i], seen), SEQC_EINVAL);
		ck_assert_msg(strstr(seqc_errmsg(), "repetition penalty"), "%s", seqc_errmsg());
	}
	const int32_t out[2] = { 1, 6 };
	ck_assert_int_eq(seqc_logits_repetition_penalty(x, 6, out, 2, 1.5f, seen), SEQC_ERANGE);
	ck_assert(allclose(x, want2, 6, 0, 0, "unchanged after a refusal"));
	for (size_t i = 0; i < 6; i++)
		ck_assert_uint_eq(seen[i], 0);
}
END_TEST

START_TEST(test_no_repeat_ngram)
{
	/* history 1 2 3 1 2: with n 3 the tail "1 2" was followed by 3: 3 is
	 * banned; with n 2 the tail "2" was followed by 3: 3 again; with n 1
	 * every seen token; with n 4, "3 1 2" never began an n-gram: none;
	 * with n 6 (longer than the history) none */
	const int32_t hist[5] = { 1, 2, 3, 1, 2 };
	const struct {
		size_t n;
		bool banned[6];
	} cases[] = {
		{ 3, { 0, 0, 0, 1, 0, 0 } }, { 2, { 0, 0, 0, 1, 0, 0 } }, { 1, { 0, 1, 1, 1, 0, 0 } },
		{ 4, { 0, 0, 0, 0, 0, 0 } }, { 6, { 0, 0, 0, 0, 0, 0 } }, { 0, { 0, 0, 0, 0, 0, 0 } },
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		float x[6] = { 0.5f, 1.0f, 2.0f, 3.0f, -1.0f, 0.0f };
		ck_assert_int_eq(seqc_logits_no_repeat_ngram(x, 6, hist, 5, cases[k].n), 0);
		for (size_t i = 0; i < 6; i++)
			ck_assert_msg(cases[k].banned[i] ? x[i] == -INFINITY : isfinite(x[i]),
				      "n %zu: token %zu is %g", cases[k].n, i, (double)x[i]);
	}
	/* two earlier n-grams with the same prefix ban both continuations */
	const int32_t twice[7] = { 4, 0, 4, 5, 2, 2, 4 };
	float x[6] = { 0 };
	ck_assert_int_eq(seqc_logits_no_repeat_ngram(x, 6, twice, 7, 2), 0);
	for (size_t i = 0; i < 6; i++)
		ck_assert_msg((i == 0 || i == 5) == (x[i] == -INFINITY), "token %zu: %g", i, (double)x[i]);
	const int32_t out[3] = { 1, -1, 2 };
	ck_assert_int_eq(seqc_logits_no_repeat_ngram(x, 6, out, 3, 2), SEQC_ERANGE);
}
END_TEST

START_TEST(test_min_length)
{
	float x[4] = { 1.0f, 2.0f, 3.0f, 4.0f };
	ck_assert_int_eq(seqc_logits_min_length(x, 4, 2, 3, 1), 0);
	ck_assert(x[1] == -INFINITY && x[0] == 1.0f && x[2] == 3.0f && x[3] == 4.0f);
	float y[4] = { 1.0f, 2.0f, 3.0f, 4.0f };
	ck_assert_int_eq(seqc_logits_min_length(y, 4, 3, 3, 1), 0);
	ck_assert_float_eq(y[1], 2.0f);
	ck_assert_int_eq(seqc_logits_min_length(y, 4, 0, 3, -1), 0); /* no eos */
	ck_assert_int_eq(seqc_logits_min_length(y, 4, 0, 3, 4), SEQC_ERANGE);
}
END_TEST

/* ---- greedy ---- */

/* Decoding by hand for one prompt with a sampler seeded with seed, through
 * the step interface (rnnlm) or, for gpt, through the full forward pass of
 * the current window: the window starts at 0 and, when it would exceed the
 * context N, moves to the last N / 2 + 1 tokens, as generate.h says. */
static void reference(seqc_model *m, const int32_t *prompt, size_t P, size_t n, float temperature,
		      uint64_t seed, int32_t *out)
{
	size_t V = m->vocab;
	int32_t *seq = malloc((P + n) * sizeof *seq);
	memcpy(seq, prompt, P * sizeof *seq);
	seqc_sampler s;
	seqc_sampler_config sc = seqc_sampler_defaults();
	sc.temperature = temperature;
	ck_assert_int_eq(seqc_sampler_init(&s, &sc, seed), 0);
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_grad(g, false);
	seqc_tensor *logits;
	size_t N = m->gpt ? m->gpt->c.context : 0, w = 0;
	if (!m->gpt)
		ck_assert_int_eq(seqc_model_start(m, 1), 0);
	for (size_t t = 0; t + 1 < P + n; t++) {
		seqc_graph_reset(g);
		const float *row;
		if (!m->gpt) {
			ck_assert_int_eq(seqc_model_step(m, g, &seq[t], &logits), 0);
			row = logits->val;
		} else {
			if (t + 1 - w > N)
				w = t - N / 2;
			seqc_ids in = seqc_ids_view2(seq + w, 1, t + 1 - w);
			ck_assert_int_eq(seqc_model_logits(g, m, &in, NULL, &logits), 0);
			row = logits->val + (t - w) * V;
		}
		if (t + 1 >= P)
			seq[t + 1] = seqc_sample(&s, row, V);
	}
	memcpy(out, seq + P, n * sizeof *out);
	seqc_sampler_free(&s);
	seqc_graph_destroy(g);
	free(seq);
}

static const int32_t q0[3] = { 2, 5, 9 }, q1[1] = { 2 }, q2[5] = { 2, 13, 4, 4, 7 };
static const int32_t *const three[3] = { q0, q1, q2 };
static const size_t three_lens[3] = { 3, 1, 5 };
/* A prompt of the start token alone. */
static const int32_t *const start_only[1] = { q1 };
static const size_t start_len[1] = { 1 };

/* Each row against the reference. Sampled rows must also vary: a model
 * stuck on one token (greedy often is) would not tell a right window from a
 * wrong one. */
static void check_reference(seqc_model *m, const seqc_gen_row *rows, size_t n, float temperature,
			    uint64_t seed)
{
	int32_t *want = malloc(n * sizeof *want);
	for (size_t r = 0; r < 3; r++) {
		ck_assert_uint_eq(rows[r].n, n);
		ck_assert_int_eq(rows[r].finish, SEQC_FINISH_LENGTH);
		reference(m, three[r], three_lens[r], n, temperature, seed + r, want);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(rows[r].ids[i] == want[i], "%s T %g row %zu token %zu: %d, by hand %d", m->arch,
				      (double)temperature, r, i, rows[r].ids[i], want[i]);
		bool seen[14] = { 0 };
		size_t distinct = 0;
		for (size_t i = 0; i < n; i++) {
			distinct += !seen[rows[r].ids[i]];
			seen[rows[r].ids[i]] = true;
		}
		ck_assert_msg(temperature == 0.0f || distinct >= 5, "row %zu: %zu distinct tokens", r, distinct);
	}
	free(want);
}

/* Greedy three ways: temperature 0, top-k 1 at another temperature, and
 * the reference; then sampling at temperature 1 against the reference. */
static void check_decoding(seqc_model *m, size_t n)
{
	seqc_gen_row a[3], b[3];
	seqc_gen_config t0 = config(0.0f, n, 1), k1 = config(1.7f, n, 2), t1 = config(1.0f, n, 40);
	k1.sample.top_k = 1;
	generate(m, &t0, three, three_lens, 3, a);
	generate(m, &k1, three, three_lens, 3, b);
	check_reference(m, a, n, 0.0f, 0);
	for (size_t r = 0; r < 3; r++) {
		ck_assert_ptr_null(a[r].text);
		ck_assert_uint_eq(b[r].n, n);
		ck_assert_mem_eq(a[r].ids, b[r].ids, n * sizeof *a[r].ids);
	}
	seqc_gen_rows_free(a, 3);
	seqc_gen_rows_free(b, 3);
	generate(m, &t1, three, three_lens, 3, a);
	check_reference(m, a, n, 1.0f, 40);
	seqc_gen_rows_free(a, 3);
}

START_TEST(test_decoding_rnnlm)
{
	seqc_model *m = tiny_rnnlm(1);
	check_decoding(m, 20);
	seqc_model_destroy(m);
}
END_TEST

/* Context 8, 30 tokens: the rows slide several times. */
START_TEST(test_gpt_past_context)
{
	seqc_model *m = tiny_gpt(8, 2);
	check_decoding(m, 30);
	seqc_model_destroy(m);
}
END_TEST

/* Without sliding, a row ends when the context is full: after feeding
 * context positions, of which the prompt's P forced none. */
START_TEST(test_context_end)
{
	seqc_model *m = tiny_gpt(8, 3);
	const int32_t p0[3] = { 2, 5, 9 }, p1[1] = { 2 };
	const int32_t *const prompts[2] = { p0, p1 };
	const size_t lens[2] = { 3, 1 };
	seqc_gen_config c = config(1.0f, 100, 4);
	c.no_slide = true;
	seqc_gen_row rows[2];
	generate(m, &c, prompts, lens, 2, rows);
	for (size_t r = 0; r < 2; r++) {
		ck_assert_int_eq(rows[r].finish, SEQC_FINISH_CONTEXT);
		ck_assert_uint_eq(rows[r].n, 8 - lens[r] + 1);
	}
	ck_assert_str_eq(seqc_finish_name(rows[0].finish), "context");
	seqc_gen_rows_free(rows, 2);
	seqc_model_destroy(m);
}
END_TEST

/* ---- batches ---- */

/* Each row of a batch equals the same prompt alone with seed + its index,
 * with every option on (rows end at different times: eos is likely). */
static void check_batch_equals_alone(seqc_model *m)
{
	const int32_t p0[4] = { 2, 5, 9, 9 }, p1[1] = { 2 }, p2[6] = { 2, 13, 4, 4, 7, 6 }, p3[2] = { 2, 8 };
	const int32_t *const prompts[4] = { p0, p1, p2, p3 };
	const size_t lens[4] = { 4, 1, 6, 2 };
	seqc_gen_config c = config(1.3f, 25, 77);
	c.sample.top_k = 10;
	c.sample.top_p = 0.95f;
	c.sample.min_p = 0.02f;
	c.sample.repetition_penalty = 1.3f;
	c.sample.no_repeat_ngram = 3;
	c.sample.min_length = 2;
	c.eos = 3;
	seqc_gen_row all[4], one;
	generate(m, &c, prompts, lens, 4, all);
	bool differ = false;
	for (size_t r = 0; r < 4; r++) {
		seqc_gen_config cr = c;
		cr.seed = c.seed + r;
		generate(m, &cr, &prompts[r], &lens[r], 1, &one);
		ck_assert_int_eq(all[r].finish, one.finish);
		ck_assert_msg(all[r].n == one.n && !memcmp(all[r].ids, one.ids, one.n * sizeof *one.ids),
			      "%s row %zu: %zu tokens in the batch, %zu alone", m->arch, r, all[r].n, one.n);
		differ |= r && (all[r].n != all[0].n || memcmp(all[r].ids, all[0].ids, all[0].n * 4));
		seqc_gen_rows_free(&one, 1);
	}
	ck_assert_msg(differ, "every row generated the same");
	seqc_gen_rows_free(all, 4);
}

START_TEST(test_batch_rnnlm)
{
	seqc_model *m = tiny_rnnlm(5);
	check_batch_equals_alone(m);
	seqc_model_destroy(m);
}
END_TEST

START_TEST(test_batch_gpt)
{
	seqc_model *m = tiny_gpt(8, 6);
	check_batch_equals_alone(m);
	seqc_model_destroy(m);
}
END_TEST

/* A seed reproduces a sample; another seed gives another. */
START_TEST(test_seed)
{
	seqc_model *m = tiny_rnnlm(7);
	seqc_gen_config c = config(1.0f, 40, 9);
	seqc_gen_row a, b, d;
	generate(m, &c, start_only, start_len, 1, &a);
	generate(m, &c, start_only, start_len, 1, &b);
	c.seed = 10;
	generate(m, &c, start_only, start_len, 1, &d);
	ck_assert_uint_eq(a.n, 40);
	ck_assert_mem_eq(a.ids, b.ids, 40 * sizeof *a.ids);
	ck_assert_msg(memcmp(a.ids, d.ids, 40 * sizeof *a.ids) != 0, "seeds 9 and 10 sampled the same");
	seqc_gen_rows_free(&d, 1);
	/* the caller's graph, even one left in training mode with gradients,
	 * gives the same (steps run without gradients or dropout) */
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_training(g, true);
	c.seed = 9;
	ck_assert_int_eq(seqc_generate(m, g, &c, start_only, start_len, 1, NULL, NULL, &d), 0);
	ck_assert_uint_eq(d.n, 40);
	ck_assert_mem_eq(a.ids, d.ids, 40 * sizeof *a.ids);
	seqc_graph_destroy(g);
	seqc_gen_rows_free(&a, 1);
	seqc_gen_rows_free(&b, 1);
	seqc_gen_rows_free(&d, 1);
	seqc_model_destroy(m);
}
END_TEST

/* ---- ends ---- */

/* eos made by far the most likely token: without min length every row
 * ends at once; with min length 5 after exactly 5 tokens, none of them
 * eos. */
START_TEST(test_min_length_bans_eos)
{
	seqc_model *m = tiny_rnnlm(8);
	m->rnnlm->head_b->val[3] += 50.0f;
	const int32_t p0[2] = { 2, 6 }, p1[1] = { 2 };
	const int32_t *const prompts[2] = { p0, p1 };
	const size_t lens[2] = { 2, 1 };
	seqc_gen_config c = config(1.0f, 20, 1);
	c.eos = 3;
	seqc_gen_row rows[2];
	generate(m, &c, prompts, lens, 2, rows);
	for (size_t r = 0; r < 2; r++) {
		ck_assert_int_eq(rows[r].finish, SEQC_FINISH_EOS);
		ck_assert_uint_eq(rows[r].n, 0);
	}
	seqc_gen_rows_free(rows, 2);
	c.sample.min_length = 5;
	generate(m, &c, prompts, lens, 2, rows);
	for (size_t r = 0; r < 2; r++) {
		ck_assert_int_eq(rows[r].finish, SEQC_FINISH_EOS);
		ck_assert_uint_eq(rows[r].n, 5);
		for (size_t i = 0; i < 5; i++)
			ck_assert_int_ne(rows[r].ids[i], 3);
	}
	seqc_gen_rows_free(rows, 2);
	seqc_model_destroy(m);
}
END_TEST

/* True when some n-gram occurs twice in x[0..len). */
static bool repeats_ngram(const int32_t *x, size_t len, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		for (size_t j = i + 1; j + n <= len; j++)
			if (!memcmp(x + i, x + j, n * sizeof *x))
				return true;
	return false;
}

/* Greedy decoding loops on these models; with the ban no n-gram of the
 * history (prompt after the start token, then the generated tokens)
 * occurs twice. */
START_TEST(test_no_repeat_ngram_generation)
{
	seqc_model *m = tiny_rnnlm(9);
	const int32_t p[4] = { 2, 4, 5, 4 };
	const int32_t *const prompts[1] = { p };
	const size_t lens[1] = { 4 };
	int32_t hist[3 + 40];
	memcpy(hist, p + 1, 3 * sizeof *p);
	for (size_t n = 2; n <= 4; n++) {
		seqc_gen_config c = config(0.0f, 40, 1);
		seqc_gen_row row;
		generate(m, &c, prompts, lens, 1, &row);
		memcpy(hist + 3, row.ids, row.n * sizeof *hist);
		ck_assert_msg(repeats_ngram(hist, 3 + row.n, n), "greedy never repeats a %zu-gram", n);
		seqc_gen_rows_free(&row, 1);
		c.sample.no_repeat_ngram = n;
		generate(m, &c, prompts, lens, 1, &row);
		ck_assert_uint_eq(row.n, 40);
		memcpy(hist + 3, row.ids, row.n * sizeof *hist);
		ck_assert_msg(!repeats_ngram(hist, 3 + row.n, n), "a %zu-gram repeats", n);
		seqc_gen_rows_free(&row, 1);
	}
	seqc_model_destroy(m);
}
END_TEST

/* What the callback saw of each row. */
typedef struct stream {
	char text[4][512];
	size_t len[4];
	int32_t ids[4][64];
	size_t n[4];
	int ends[4];
} stream;

static int collect(void *ctx, size_t row, int32_t id, const char *text, size_t len)
{
	stream *s = ctx;
	ck_assert_uint_lt(row, 4);
	ck_assert_msg(!s->ends[row], "row %zu reported after its end", row);
	if (id < 0)
		s->ends[row]++;
	else
		s->ids[row][s->n[row]++] = id;
	ck_assert_uint_le(len, sizeof s->text[row] - s->len[row]);
	if (len)
		memcpy(s->text[row] + s->len[row], text, len);
	s->len[row] += len;
	return 0;
}

/* The stream equals the result: every id, the text at the end. */
static void check_stream(const stream *s, const seqc_gen_row *rows, size_t B)
{
	for (size_t r = 0; r < B; r++) {
		ck_assert_int_eq(s->ends[r], 1);
		ck_assert_uint_eq(s->n[r], rows[r].n);
		ck_assert_mem_eq(s->ids[r], rows[r].ids, rows[r].n * sizeof *rows[r].ids);
		ck_assert_uint_eq(s->len[r], rows[r].len);
		ck_assert_mem_eq(s->text[r], rows[r].text, rows[r].len);
		ck_assert_uint_eq(strlen(rows[r].text), rows[r].len);
	}
}

/* Stop strings: the text is cut just before the first one, which the
 * stream never shows, and the ids are those drawn up to the token that
 * completed it. */
START_TEST(test_stop_strings)
{
	seqc_tok *tok = letters();
	seqc_model *m = tiny_rnnlm(11);
	const int32_t p0[2] = { 2, 6 }, p1[1] = { 2 }, p2[3] = { 2, 9, 12 };
	const int32_t *const prompts[3] = { p0, p1, p2 };
	const size_t lens[3] = { 2, 1, 3 };
	seqc_gen_config c = config(1.5f, 40, 12);
	c.tok = tok;
	seqc_gen_row free_rows[3], rows[3];
	stream s = { 0 };
	ck_assert_int_eq(seqc_generate(m, NULL, &c, prompts, lens, 3, collect, &s, free_rows), 0);
	check_stream(&s, free_rows, 3);
	/* stops: a 3-letter piece of row 0 from byte 10, and a 2-letter one of
	 * row 2 from byte 20; each row is cut at the first place where any
	 * stop string occurs in its own text */
	ck_assert_uint_ge(free_rows[0].len, 13);
	ck_assert_uint_ge(free_rows[2].len, 22);
	char stop0[4] = { 0 }, stop1[3] = { 0 };
	memcpy(stop0, free_rows[0].text + 10, 3);
	memcpy(stop1, free_rows[2].text + 20, 2);
	const char *const stops[2] = { stop0, stop1 };
	c.stop = stops;
	c.nstop = 2;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(seqc_generate(m, NULL, &c, prompts, lens, 3, collect, &s, rows), 0);
	check_stream(&s, rows, 3);
	for (size_t r = 0; r < 3; r++) {
		const char *text = free_rows[r].text, *a = strstr(text, stop0), *b = strstr(text, stop1);
		const char *first = !a ? b : !b ? a : a < b ? a : b;
		if (!first) {
			ck_assert_int_eq(rows[r].finish, SEQC_FINISH_LENGTH);
			ck_assert_str_eq(rows[r].text, text);
			continue;
		}
		size_t cut = (size_t)(first - text), end = cut + strlen(first == a ? stop0 : stop1);
		ck_assert_int_eq(rows[r].finish, SEQC_FINISH_STOP);
		ck_assert_uint_eq(rows[r].len, cut);
		ck_assert_mem_eq(rows[r].text, text, cut);
		/* a letter is one byte, a special none: the row drew up to the
		 * token whose letter ended the stop string */
		size_t n = 0;
		for (size_t bytes = 0; bytes < end; n++)
			bytes += free_rows[r].ids[n] >= 4;
		ck_assert_uint_eq(rows[r].n, n);
		ck_assert_mem_eq(rows[r].ids, free_rows[r].ids, n * sizeof *rows[r].ids);
	}
	ck_assert_uint_le(rows[0].len, 10);
	ck_assert_uint_le(rows[2].len, 20);
	seqc_gen_rows_free(free_rows, 3);
	seqc_gen_rows_free(rows, 3);
	seqc_model_destroy(m);
	seqc_tok_destroy(tok);
}
END_TEST

/* A callback's error stops generation with its code. */
static int refuse(void *ctx, size_t row, int32_t id, const char *text, size_t len)
{
	(void)row;
	(void)id;
	(void)text;
	(void)len;
	return ++*(int *)ctx == 3 ? seqc_error(SEQC_EIO, "stdout: write error") : 0;
}

START_TEST(test_callback_error)
{
	seqc_model *m = tiny_rnnlm(13);
	seqc_gen_config c = config(1.0f, 10, 1);
	seqc_gen_row row;
	int calls = 0;
	ck_assert_int_eq(seqc_generate(m, NULL, &c, start_only, start_len, 1, refuse, &calls, &row), SEQC_EIO);
	ck_assert_int_eq(calls, 3);
	ck_assert_ptr_null(row.ids);
	seqc_model_destroy(m);
}
END_TEST

/* ---- refusals ---- */

START_TEST(test_invalid)
{
	seqc_model *m = tiny_rnnlm(14);
	seqc_tok *tok = letters();
	const int32_t p[2] = { 2, 5 }, out[2] = { 2, 14 };
	const int32_t *const prompts[1] = { p }, *const bad_ids[1] = { out };
	const size_t lens[1] = { 2 }, empty[1] = { 0 };
	seqc_gen_row row;
	const char *const blank[1] = { "" };
	struct {
		seqc_gen_config c;
		const char *want;
	} cases[9];
	for (size_t i = 0; i < 9; i++)
		cases[i].c = config(1.0f, 10, 1);
	cases[0].c.sample.temperature = -0.5f, cases[0].want = "temperature";
	cases[1].c.sample.top_p = 1.5f, cases[1].want = "top-p";
	cases[2].c.sample.min_p = 1.5f, cases[2].want = "min-p";
	cases[3].c.sample.min_p = -0.1f, cases[3].want = "min-p";
	cases[4].c.sample.repetition_penalty = 0.0f, cases[4].want = "repetition penalty";
	cases[5].c.sample.min_length = 11, cases[5].want = "min length";
	cases[6].c.sample.max_length = 0, cases[6].want = "max length";
	cases[7].c.stop = blank, cases[7].c.nstop = 1, cases[7].c.tok = tok, cases[7].want = "stop string";
	cases[8].c.stop = blank, cases[8].c.nstop = 1, cases[8].want = "tokenizer";
	for (size_t i = 0; i < 9; i++) {
		ck_assert_int_eq(seqc_generate(m, NULL, &cases[i].c, prompts, lens, 1, NULL, NULL, &row), SEQC_EINVAL);
		ck_assert_msg(strstr(seqc_errmsg(), cases[i].want), "case %zu: %s", i, seqc_errmsg());
		ck_assert_ptr_null(row.ids);
	}
	seqc_gen_config c = config(1.0f, 10, 1);
	ck_assert_int_eq(seqc_generate(m, NULL, &c, prompts, empty, 1, NULL, NULL, &row), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "prompt 0 is empty"), "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_generate(m, NULL, &c, bad_ids, lens, 1, NULL, NULL, &row), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "prompt 0: id 14 at 1"), "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_generate(m, NULL, &c, prompts, lens, 0, NULL, NULL, &row), SEQC_EINVAL);
	c.eos = 14;
	ck_assert_int_eq(seqc_generate(m, NULL, &c, prompts, lens, 1, NULL, NULL, &row), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "eos"), "%s", seqc_errmsg());
	ck_assert_ptr_null(seqc_finish_name((seqc_finish)0));
	ck_assert_str_eq(seqc_finish_name(SEQC_FINISH_EOS), "eos");
	ck_assert_str_eq(seqc_finish_name(SEQC_FINISH_LENGTH), "length");
	ck_assert_str_eq(seqc_finish_name(SEQC_FINISH_STOP), "stop");
	seqc_tok_destroy(tok);
	seqc_model_destroy(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("decode_generate");
	TCase *tc = tcase_create("generate");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_repetition_penalty);
	tcase_add_test(tc, test_no_repeat_ngram);
	tcase_add_test(tc, test_min_length);
	tcase_add_test(tc, test_decoding_rnnlm);
	tcase_add_test(tc, test_gpt_past_context);
	tcase_add_test(tc, test_context_end);
	tcase_add_test(tc, test_batch_rnnlm);
	tcase_add_test(tc, test_batch_gpt);
	tcase_add_test(tc, test_seed);
	tcase_add_test(tc, test_min_length_bans_eos);
	tcase_add_test(tc, test_no_repeat_ngram_generation);
	tcase_add_test(tc, test_stop_strings);
	tcase_add_test(tc, test_callback_error);
	tcase_add_test(tc, test_invalid);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
