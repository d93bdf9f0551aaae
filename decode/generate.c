#include "decode/generate.h"

#include <stdlib.h>
#include <string.h>

/* One row while it runs. */
typedef struct gen_row {
	int32_t *seq;    /* [prompt + max_length + 1] fed tokens: the prompt, then drawn ones */
	size_t n;        /* tokens in seq */
	size_t prompt;   /* of them the prompt's */
	seqc_sampler s;
	seqc_detok *d;   /* NULL without a tokenizer */
	char *text;      /* [cap] generated text (cut before a stop string) */
	size_t len, cap;
	size_t sent;     /* bytes of text given to the callback */
	seqc_finish finish; /* 0 while running */
} gen_row;

/* The whole run. */
typedef struct gen {
	seqc_model *m;
	seqc_graph *g;
	const seqc_gen_config *c;
	gen_row *rows;    /* [B] */
	size_t B;
	size_t *active;   /* [B] model row i is rows[active[i]] */
	size_t nactive;
	size_t *from;     /* [B] reorder scratch */
	int32_t *tokens;  /* [B] fed at one position */
	size_t fed;       /* positions fed since the last start */
	seqc_gen_fn emit;
	void *ctx;
} gen;

const char *seqc_finish_name(seqc_finish f)
{
	switch (f) {
	case SEQC_FINISH_EOS:
		return "eos";
	case SEQC_FINISH_LENGTH:
		return "length";
	case SEQC_FINISH_STOP:
		return "stop";
	case SEQC_FINISH_CONTEXT:
		return "context";
	}
	return NULL;
}

seqc_gen_config seqc_gen_defaults(void)
{
	seqc_gen_config c = { .sample = seqc_sampler_defaults(), .seed = 0, .eos = -1 };
	c.sample.max_length = 500;
	return c;
}

static int check_config(const seqc_gen_config *c, size_t V)
{
	if (!c->sample.max_length)
		return seqc_error(SEQC_EINVAL, "generate: max length must be >= 1");
	if (c->eos < -1 || (c->eos >= 0 && (size_t)c->eos >= V))
		return seqc_error(SEQC_EINVAL, "generate: eos %d is outside [0, %zu) and not -1", c->eos, V);
	if (c->nstop && !c->tok)
		return seqc_error(SEQC_EINVAL, "generate: stop strings need a tokenizer");
	if (c->nstop && !c->stop)
		return seqc_error(SEQC_EINVAL, "generate: %zu stop strings but no array", c->nstop);
	for (size_t i = 0; i < c->nstop; i++)
		if (!c->stop[i] || !c->stop[i][0])
			return seqc_error(SEQC_EINVAL, "generate: stop string %zu is empty", i);
	return 0;
}

static int check_prompts(const int32_t *const *prompts, const size_t *lens, size_t B, size_t V)
{
	if (!B)
		return seqc_error(SEQC_EINVAL, "generate: no prompts");
	for (size_t r = 0; r < B; r++) {
		if (!lens[r] || !prompts[r])
			return seqc_error(SEQC_EINVAL, "generate: prompt %zu is empty (it needs the start token)",
					  r);
		for (size_t i = 0; i < lens[r]; i++)
			if (prompts[r][i] < 0 || (size_t)prompts[r][i] >= V)
				return seqc_error(SEQC_EINVAL, "generate: prompt %zu: id %d at %zu is outside [0, %zu)",
						  r, prompts[r][i], i, V);
	}
	return 0;
}

static int text_append(gen_row *r, const char *buf, size_t n);

static void row_free(gen_row *r)
{
	free(r->seq);
	free(r->text);
	seqc_sampler_free(&r->s);
	seqc_detok_destroy(r->d);
	memset(r, 0, sizeof *r);
}

static int row_init(gen_row *r, const seqc_gen_config *c, uint64_t seed, const int32_t *prompt,
		    size_t len)
{
	memset(r, 0, sizeof *r);
	int rc = seqc_sampler_init(&r->s, &c->sample, seed);
	if (rc < 0)
		return rc;
	size_t max = c->sample.max_length;
	if (max > SIZE_MAX / sizeof *r->seq - len - 1 || !(r->seq = malloc((len + max + 1) * sizeof *r->seq)))
		return seqc_error(SEQC_ENOMEM, "generate: cannot hold %zu + %zu tokens", len, max);
	memcpy(r->seq, prompt, len * sizeof *prompt);
	r->n = r->prompt = len;
	if (!c->tok)
		return 0;
	if (!(r->d = seqc_detok_create(c->tok)))
		return SEQC_ENOMEM;
	/* even a row that generates nothing has a text: "" */
	return text_append(r, "", 0);
}

/* Appends bytes to the row's text (kept NUL-terminated). */
static int text_append(gen_row *r, const char *buf, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = 2 * r->cap > r->len + n + 1 ? 2 * r->cap : r->len + n + 1 + 256;
		char *t = realloc(r->text, cap);
		if (!t)
			return seqc_error(SEQC_ENOMEM, "generate: cannot hold %zu bytes of text", cap);
		r->text = t;
		r->cap = cap;
	}
	memcpy(r->text + r->len, buf, n);
	r->len += n;
	r->text[r->len] = 0;
	return 0;
}

/* The earliest stop string in the text that ends after byte old (those
 * before were searched already): cuts the text there and returns true. */
static bool cut_at_stop(gen_row *r, const seqc_gen_config *c, size_t old)
{
	size_t best = r->len;
	for (size_t k = 0; k < c->nstop; k++) {
		size_t sl = strlen(c->stop[k]);
		if (sl > r->len)
			continue;
		size_t from = old >= sl - 1 ? old - (sl - 1) : 0;
		for (size_t i = from; i + sl <= r->len && i < best; i++)
			if (!memcmp(r->text + i, c->stop[k], sl)) {
				best = i;
				break;
			}
	}
	if (best == r->len)
		return false;
	r->len = best;
	r->text[best] = 0;
	return true;
}

/* Bytes at the end of the unsent text that begin some stop string (and
 * so may not be sent yet). */
static size_t held_back(const gen_row *r, const seqc_gen_config *c)
{
	size_t held = 0, unsent = r->len - r->sent;
	for (size_t k = 0; k < c->nstop; k++) {
		size_t sl = strlen(c->stop[k]);
		for (size_t h = sl - 1 < unsent ? sl - 1 : unsent; h > held; h--)
			if (!memcmp(r->text + r->len - h, c->stop[k], h)) {
				held = h;
				break;
			}
	}
	return held;
}

/* Gives the callback token id (-1: the row's end) and the text it frees. */
static int release(gen *G, size_t row, int32_t id)
{
	gen_row *r = &G->rows[row];
	size_t upto = r->finish ? r->len : r->len - held_back(r, G->c);
	const char *text = r->text ? r->text + r->sent : NULL;
	size_t n = upto - r->sent;
	r->sent = upto;
	return G->emit ? G->emit(G->ctx, row, id, text, n) : 0;
}

/* Ends a row: the decoder's held bytes join the text (unless a stop
 * string ended it) and the callback gets the rest. */
static int finish_row(gen *G, size_t row, seqc_finish why)
{
	gen_row *r = &G->rows[row];
	if (r->d && why != SEQC_FINISH_STOP) {
		char buf[8];
		int n = seqc_detok_flush(r->d, buf, sizeof buf);
		size_t old = r->len;
		if (n < 0 || (n && text_append(r, buf, (size_t)n) < 0))
			return n < 0 ? n : SEQC_ENOMEM;
		if (cut_at_stop(r, G->c, old))
			why = SEQC_FINISH_STOP;
	}
	r->finish = why;
	return release(G, row, -1);
}

/* Takes the token a row drew after its fed tokens. */
static int take(gen *G, size_t row, int32_t id, char *buf)
{
	gen_row *r = &G->rows[row];
	if (id == G->c->eos)
		return finish_row(G, row, SEQC_FINISH_EOS);
	r->seq[r->n++] = id;
	if (r->d) {
		int n = seqc_detok_push(r->d, id, buf, SEQC_DETOK_MAX);
		size_t old = r->len;
		if (n < 0 || (n && text_append(r, buf, (size_t)n) < 0))
			return n < 0 ? n : SEQC_ENOMEM;
		if (cut_at_stop(r, G->c, old)) {
			r->finish = SEQC_FINISH_STOP;
			int rc = release(G, row, id);
			return rc < 0 ? rc : release(G, row, -1);
		}
	}
	int rc = release(G, row, id);
	if (rc < 0 || r->n - r->prompt < G->c->sample.max_length)
		return rc;
	return finish_row(G, row, SEQC_FINISH_LENGTH);
}

/* Feeds token t of every active row; on a full context starts again on
 * the last half of it (see generate.h). Returns 1 when the context is
 * full and the rows cannot slide. */
static int step(gen *G, size_t t, seqc_tensor **logits)
{
	for (size_t i = 0; i < G->nactive; i++)
		G->tokens[i] = G->rows[G->active[i]].seq[t];
	seqc_graph_reset(G->g);
	int rc = seqc_model_step(G->m, G->g, G->tokens, logits);
	if (rc != SEQC_ERANGE) {
		G->fed += rc == 0;
		return rc;
	}
	size_t keep = G->fed / 2;
	if (G->c->no_slide || !keep)
		return 1;
	if ((rc = seqc_model_start(G->m, G->nactive)) < 0)
		return rc;
	for (size_t j = t - keep; j <= t; j++) {
		for (size_t i = 0; i < G->nactive; i++)
			G->tokens[i] = G->rows[G->active[i]].seq[j];
		seqc_graph_reset(G->g);
		if ((rc = seqc_model_step(G->m, G->g, G->tokens, logits)) < 0)
			return rc;
	}
	G->fed = keep + 1;
	return 0;
}

/* Drops the finished rows from the model. */
static int drop_finished(gen *G)
{
	size_t n = 0;
	for (size_t i = 0; i < G->nactive; i++)
		if (!G->rows[G->active[i]].finish) {
			G->from[n] = i;
			G->active[n++] = G->active[i];
		}
	if (n == G->nactive)
		return 0;
	G->nactive = n;
	return n ? seqc_model_reorder(G->m, G->from, n) : 0;
}

/* The decoding loop: position t feeds token t of every active row. */
static int run(gen *G)
{
	size_t V = G->m->vocab;
	char *buf = malloc(SEQC_DETOK_MAX);
	if (!buf)
		return seqc_error(SEQC_ENOMEM, "generate: out of memory");
	int rc = seqc_model_start(G->m, G->nactive);
	for (size_t t = 0; rc >= 0 && G->nactive; t++) {
		seqc_tensor *logits;
		if ((rc = step(G, t, &logits)) < 0)
			break;
		bool full = rc == 1;
		rc = 0;
		for (size_t i = 0; i < G->nactive && rc >= 0; i++) {
			size_t row = G->active[i];
			gen_row *r = &G->rows[row];
			if (full) {
				rc = finish_row(G, row, SEQC_FINISH_CONTEXT);
				continue;
			}
			if (t + 1 < r->n)
				continue; /* still in its prompt: the next token is forced */
			int32_t id = seqc_sample_next(&r->s, logits->val + i * V, V, r->seq + 1, r->n - 1,
						      r->n - r->prompt, G->c->eos);
			rc = id < 0 ? id : take(G, row, id, buf);
		}
		if (rc >= 0)
			rc = drop_finished(G);
	}
	free(buf);
	return rc;
}

/* Hands each row's tokens and text over to the caller's rows. */
static void hand_over(gen *G, seqc_gen_row *out)
{
	for (size_t i = 0; i < G->B; i++) {
		gen_row *r = &G->rows[i];
		size_t n = r->n - r->prompt;
		memmove(r->seq, r->seq + r->prompt, n * sizeof *r->seq);
		out[i] = (seqc_gen_row){ .ids = r->seq, .n = n, .finish = r->finish };
		r->seq = NULL;
		if (r->d) {
			out[i].text = r->text;
			out[i].len = r->len;
			r->text = NULL;
		}
	}
}

int seqc_generate(seqc_model *m, seqc_graph *g, const seqc_gen_config *c,
		  const int32_t *const *prompts, const size_t *lens, size_t B, seqc_gen_fn emit,
		  void *ctx, seqc_gen_row *rows)
{
	int rc;
	memset(rows, 0, B * sizeof *rows);
	if ((rc = check_config(c, m->vocab)) < 0 || (rc = check_prompts(prompts, lens, B, m->vocab)) < 0)
		return rc;
	gen G = { .m = m, .g = g, .c = c, .B = B, .nactive = B, .emit = emit, .ctx = ctx };
	G.rows = calloc(B, sizeof *G.rows);
	G.active = malloc(B * sizeof *G.active);
	G.from = malloc(B * sizeof *G.from);
	G.tokens = malloc(B * sizeof *G.tokens);
	if (!g)
		G.g = seqc_graph_create(0);
	if (!G.rows || !G.active || !G.from || !G.tokens || !G.g)
		rc = seqc_error(SEQC_ENOMEM, "generate: cannot allocate for %zu rows", B);
	for (size_t r = 0; rc >= 0 && r < B; r++) {
		G.active[r] = r;
		rc = row_init(&G.rows[r], c, c->seed + r, prompts[r], lens[r]);
	}
	if (rc >= 0)
		rc = run(&G);
	if (rc >= 0)
		hand_over(&G, rows);
	for (size_t r = 0; G.rows && r < B; r++)
		row_free(&G.rows[r]);
	if (rc < 0)
		seqc_gen_rows_free(rows, B);
	if (!g)
		seqc_graph_destroy(G.g);
	free(G.rows);
	free(G.active);
	free(G.from);
	free(G.tokens);
	return rc < 0 ? rc : 0;
}

void seqc_gen_rows_free(seqc_gen_row *rows, size_t B)
{
	for (size_t r = 0; rows && r < B; r++) {
		free(rows[r].ids);
		free(rows[r].text);
		memset(&rows[r], 0, sizeof rows[r]);
	}
}
