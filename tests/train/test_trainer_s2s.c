/* Sequence-to-sequence training (train/trainer.h: seqc_train_s2s,
 * seqc_eval_s2s; train/scheduled.h: seqc_ss_s2s_loss) on tiny s2s-rnn and
 * s2s-transformer models, pairs of a reversal task built in memory:
 *   - exact resume: 6 updates resumed to 12 end with the same bytes
 *     (parameters, optimizer moments, best model, train state) and the
 *     same loss at every step as a straight run of 12, for both kinds,
 *     with dropout, scheduled sampling and a validation score;
 *   - model.safetensors holds the parameters the validation score was
 *     best on (higher is better) when a score is given, else those of the
 *     lowest validation loss; early stopping by either;
 *   - seqc_ss_s2s_loss: probability 1 is teacher forcing (loss and every
 *     gradient bit for bit, dropout on), probability 0 reads the model's
 *     own greedy outputs (s2s-transformer: from the first pass; s2s-rnn:
 *     step by step, checked against the decoding interface);
 *   - seqc_eval_s2s against the mean NLL from each pair's logits;
 *   - refusals. */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

/* ---- temporary folder per test ---- */

static char suite_root[64];
static char tmp_root[96];
static int path_used;

static void setup(void)
{
	snprintf(tmp_root, sizeof tmp_root, "%s/test-XXXXXX", suite_root);
	ck_assert_ptr_nonnull(mkdtemp(tmp_root));
	path_used = 0;
}

static void teardown(void)
{
	remove_tree(tmp_root);
}

#define POOL 64
static char path_pool[POOL][256];

static const char *dir_of(const char *name)
{
	ck_assert_int_lt(path_used, POOL);
	char *p = path_pool[path_used++];
	snprintf(p, sizeof path_pool[0], "%s/%s", tmp_root, name);
	return p;
}

/* ---- the task: reverse the characters of 1 to 3 short words ---- */

static const char *const WORDS[] = { "ab", "cd", "abc", "dca", "b", "ca", "bad", "cab" };

/* n lines of words into src, the same lines reversed into tgt (both
 * malloc'ed, lines ending in \n). */
static void make_text(size_t n, uint64_t seed, char **src, char **tgt)
{
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_DATA);
	char a[1024], b[1024];
	size_t len = 0;
	ck_assert_uint_lt(n * 12, sizeof a);
	for (size_t i = 0; i < n; i++) {
		size_t words = 1 + (size_t)(seqc_rng_uniform(&rng) * 3.0f) % 3, start = len;
		for (size_t w = 0; w < words; w++) {
			const char *word = WORDS[(size_t)(seqc_rng_uniform(&rng) * 8.0f) % 8];
			len += (size_t)snprintf(a + len, sizeof a - len, "%s%s", w ? " " : "", word);
		}
		for (size_t k = start; k < len; k++)
			b[k] = a[len - 1 - (k - start)];
		a[len] = b[len] = '\n';
		len++;
	}
	a[len] = b[len] = '\0';
	*src = strdup(a);
	*tgt = strdup(b);
	ck_assert(*src && *tgt);
}

typedef struct data {
	seqc_tok *tok;
	char *tok_json;
	seqc_pairs train, valid;
} data;

static void pairs_of(const seqc_tok *tok, size_t n, uint64_t seed, seqc_pairs *p)
{
	char *src, *tgt;
	make_text(n, seed, &src, &tgt);
	seqc_pairs_options o = { .src_path = "src", .tgt_path = "tgt", .src_tok = tok, .tgt_tok = tok };
	ck_assert_msg(seqc_pairs_from_text(&o, src, strlen(src), tgt, strlen(tgt), p) == 0, "pairs: %s",
		      seqc_errmsg());
	ck_assert_uint_eq(p->n, n);
	free(src);
	free(tgt);
}

static data make_data(void)
{
	data d;
	const char *alphabet = "abcd \n";
	d.tok = seqc_tok_char_build(alphabet, strlen(alphabet), NULL);
	ck_assert_msg(d.tok != NULL, "%s", seqc_errmsg());
	d.tok_json = seqc_tok_to_json(d.tok);
	ck_assert_ptr_nonnull(d.tok_json);
	pairs_of(d.tok, 24, 1, &d.train);
	pairs_of(d.tok, 6, 2, &d.valid);
	return d;
}

static void free_data(data *d)
{
	seqc_pairs_free(&d->train);
	seqc_pairs_free(&d->valid);
	seqc_tok_destroy(d->tok);
	free(d->tok_json);
}

/* ---- models ---- */

enum { S2ST, S2SR };

static seqc_model *make_model(int kind, size_t V, float dropout, float smoothing)
{
	char *json;
	if (kind == S2ST) {
		seqc_s2st_config c = seqc_s2st_config_defaults();
		c.src_vocab = c.tgt_vocab = V;
		c.d_model = 8;
		c.heads = 2;
		c.enc_layers = c.dec_layers = 1;
		c.dim_ff = 16;
		c.dropout = dropout;
		c.max_len = 32;
		c.share_embeddings = true;
		c.label_smoothing = smoothing;
		json = seqc_s2st_config_to_json(&c);
	} else {
		seqc_s2sr_config c = seqc_s2sr_config_defaults();
		c.src_vocab = c.tgt_vocab = V;
		c.cell = SEQC_CELL_LSTM;
		c.embed = c.hidden = 8;
		c.enc_layers = c.dec_layers = 1;
		c.attention = SEQC_S2SR_ATTN_MLP;
		c.dropout = dropout;
		c.share_embeddings = true;
		c.tie_output = true;
		c.label_smoothing = smoothing;
		json = seqc_s2sr_config_to_json(&c);
	}
	ck_assert_ptr_nonnull(json);
	seqc_rng rng;
	seqc_rng_seed(&rng, 3, SEQC_STREAM_INIT);
	seqc_model *m = seqc_model_from_config(json, &rng);
	ck_assert_msg(m != NULL, "%s", seqc_errmsg());
	free(json);
	return m;
}

static const char *const KIND_NAMES[] = { "s2s-transformer", "s2s-rnn" };

/* ---- runs ---- */

typedef struct run_spec {
	const char *name;
	int kind;
	float dropout;
	const char *ss;       /* NULL: teacher forcing */
	const char *optim;
	int64_t eval_every, patience;
	int score;            /* 0: none; 1: from the parameters; 2: falling with the step */
} run_spec;

#define MAX_STEPS 64
#define MAX_EVALS 16

/* What the callbacks saw. */
typedef struct record {
	double loss[MAX_STEPS + 1]; /* by step */
	int64_t last_step;
	size_t numel;
	/* validation: per evaluation, the step, score and loss, and the
	 * parameters the score was computed on */
	size_t evals;
	int64_t eval_step[MAX_EVALS];
	double score[MAX_EVALS], val_loss[MAX_EVALS];
	float *params[MAX_EVALS];
	bool improved[MAX_EVALS];
	char reason[32];
	int64_t done_step;
	int score_kind;
} record;

static void on_event(const seqc_train_progress *p, void *ctx)
{
	record *r = ctx;
	if (p->event == SEQC_TRAIN_STEP) {
		ck_assert_int_le(p->step, MAX_STEPS);
		r->loss[p->step] = p->loss;
		r->last_step = p->step;
	} else if (p->event == SEQC_TRAIN_EVAL) {
		ck_assert_uint_lt(r->evals, MAX_EVALS);
		size_t e = r->evals++; /* validate, if any, ran just before */
		r->eval_step[e] = p->step;
		r->val_loss[e] = p->val_loss;
		r->improved[e] = p->improved;
		if (r->score_kind)
			ck_assert_msg(p->val_score == r->score[e], "reported score %g, validate gave %g",
				      p->val_score, r->score[e]);
		else
			ck_assert_msg(isnan(p->val_score), "a score without a validate callback");
	} else {
		snprintf(r->reason, sizeof r->reason, "%s", p->stop_reason);
		r->done_step = p->step;
	}
}

/* A score that is a function of the parameters only (so a resumed run
 * scores as a straight one), in no order with the loss; or 10 - step. */
static int validate(void *ctx, seqc_model *m, double *score)
{
	record *r = ctx;
	size_t e = r->evals; /* the evaluation this score is for */
	ck_assert_uint_lt(e, MAX_EVALS);
	if (r->score_kind == 1) {
		double s = 0;
		for (size_t i = 0; i < m->params->numel; i++)
			s += fabs((double)m->params->values[i]);
		*score = fmod(s * 1000.0, 1.0);
	} else {
		*score = 10.0 - (double)r->last_step;
	}
	r->score[e] = *score;
	free(r->params[e]);
	r->params[e] = malloc(m->params->numel * sizeof(float));
	memcpy(r->params[e], m->params->values, m->params->numel * sizeof(float));
	return 0;
}

static void free_record(record *r)
{
	for (size_t i = 0; i < MAX_EVALS; i++)
		free(r->params[i]);
	memset(r->params, 0, sizeof r->params);
}

static int train(const run_spec *s, const data *d, const char *dir, int64_t steps, bool resume,
		 record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->score_kind = s->score;
	seqc_model *m = make_model(s->kind, seqc_tok_vocab_size(d->tok), s->dropout, 0.1f);
	rec->numel = m->params->numel;
	seqc_train_config tc = seqc_train_defaults();
	tc.batch = 48; /* padded positions: about 4 pairs, 6 or more batches an epoch */
	tc.steps = steps;
	tc.eval_every = s->eval_every;
	tc.patience = s->patience;
	tc.log_every = 1;
	tc.seed = 77;
	tc.out_dir = dir;
	tc.resume = resume;
	ck_assert_msg(seqc_optim_parse(s->optim, &tc.optim) == 0, "%s", seqc_errmsg());
	if (s->ss)
		ck_assert_msg(seqc_ss_parse(s->ss, &tc.ss) == 0, "%s", seqc_errmsg());
	seqc_s2s_data sd = { .train = &d->train, .valid = &d->valid,
			     .validate = s->score ? validate : NULL, .validate_ctx = rec,
			     .score_name = "bleu" };
	int rc = seqc_train_s2s(m, &sd, &tc, d->tok_json, on_event, rec);
	seqc_model_destroy(m);
	return rc;
}

/* ---- comparing runs ---- */

static void assert_same_tensors(const char *pa, const char *pb)
{
	seqc_st *a, *b;
	ck_assert_msg(seqc_st_read(pa, &a) == 0, "%s: %s", pa, seqc_errmsg());
	ck_assert_msg(seqc_st_read(pb, &b) == 0, "%s: %s", pb, seqc_errmsg());
	ck_assert_uint_eq(seqc_st_count(a), seqc_st_count(b));
	for (size_t i = 0; i < seqc_st_count(a); i++) {
		const seqc_st_tensor *ta = seqc_st_tensor_at(a, i);
		const seqc_st_tensor *tb = seqc_st_find(b, ta->name);
		ck_assert_msg(tb != NULL && ta->numel == tb->numel, "%s: %s", pb, ta->name);
		ck_assert_msg(!memcmp(ta->data, tb->data, ta->numel * sizeof(float)), "%s vs %s: %s differs",
			      pa, pb, ta->name);
	}
	const char *sa = seqc_st_meta(a, "seqc.step"), *sb = seqc_st_meta(b, "seqc.step");
	ck_assert_msg(sa && sb && !strcmp(sa, sb), "%s: seqc.step %s vs %s", pa, sa ? sa : "-", sb ? sb : "-");
	seqc_st_destroy(a);
	seqc_st_destroy(b);
}

static json_t *train_state(const char *path)
{
	seqc_st *st;
	ck_assert_msg(seqc_st_read(path, &st) == 0, "%s: %s", path, seqc_errmsg());
	const char *text = seqc_st_meta(st, "seqc.train_state");
	ck_assert_ptr_nonnull(text);
	json_t *js = json_loads(text, 0, NULL);
	ck_assert(json_is_object(js));
	json_object_del(js, "elapsed");
	seqc_st_destroy(st);
	return js;
}

static void assert_same_run(const char *da, const char *db)
{
	char pa[512], pb[512];
	static const char *const files[] = { "last.safetensors", "last.state.safetensors",
					     "model.safetensors" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(pa, sizeof pa, "%s/%s", da, files[i]);
		snprintf(pb, sizeof pb, "%s/%s", db, files[i]);
		assert_same_tensors(pa, pb);
	}
	snprintf(pa, sizeof pa, "%s/last.state.safetensors", da);
	snprintf(pb, sizeof pb, "%s/last.state.safetensors", db);
	json_t *ja = train_state(pa), *jb = train_state(pb);
	char *sa = json_dumps(ja, JSON_SORT_KEYS), *sb = json_dumps(jb, JSON_SORT_KEYS);
	ck_assert_msg(json_equal(ja, jb), "train states differ:\n  %s\n  %s", sa, sb);
	free(sa);
	free(sb);
	json_decref(ja);
	json_decref(jb);
}

/* The parameters of a checkpoint, and its step. */
static float *ckpt_params(const char *path, size_t numel, int64_t *step)
{
	seqc_model *m;
	ck_assert_msg(seqc_ckpt_load(path, &m, NULL, step) == 0, "%s: %s", path, seqc_errmsg());
	ck_assert_uint_eq(m->params->numel, numel);
	float *p = malloc(numel * sizeof *p);
	memcpy(p, m->params->values, numel * sizeof *p);
	seqc_model_destroy(m);
	return p;
}

/* ---- exact resume ---- */

static const run_spec resume_cases[] = {
	{ "transformer dropout", S2ST, 0.1f, NULL, "adam:lr=0.01", 3, 0, 0 },
	{ "rnn dropout score", S2SR, 0.2f, NULL, "adam:lr=0.01", 3, 0, 1 },
	{ "transformer scheduled score", S2ST, 0.1f, "linear:k=1,c=0.05,eps=0.2", "adamw:lr=0.01", 3, 0, 1 },
	{ "rnn scheduled sample", S2SR, 0.2f, "inverse-sigmoid:k=5,own=sample", "adam:lr=0.01", 3, 5, 0 },
};

START_TEST(test_exact_resume)
{
	const run_spec *s = &resume_cases[_i];
	data d = make_data();
	const char *a = dir_of("a"), *b = dir_of("b");
	record ra, rb, rc;
	ck_assert_msg(train(s, &d, a, 6, false, &ra) == 0, "%s: run A: %s", s->name, seqc_errmsg());
	ck_assert_msg(train(s, &d, b, 12, false, &rc) == 0, "%s: straight run: %s", s->name, seqc_errmsg());
	ck_assert_msg(train(s, &d, a, 12, true, &rb) == 0, "%s: resumed run: %s", s->name, seqc_errmsg());
	assert_same_run(a, b);
	for (int64_t t = 1; t <= 12; t++) {
		double resumed = t <= 6 ? ra.loss[t] : rb.loss[t];
		ck_assert_msg(!memcmp(&resumed, &rc.loss[t], sizeof resumed),
			      "%s: step %lld: loss %.17g resumed, %.17g straight", s->name, (long long)t,
			      resumed, rc.loss[t]);
		ck_assert_msg(isfinite(resumed) && resumed > 0, "%s: step %lld: loss %g", s->name, (long long)t,
			      resumed);
	}
	/* the losses came from different batches (not a constant) */
	ck_assert_msg(rc.loss[1] != rc.loss[2], "%s: the same loss twice", s->name);
	json_t *st = train_state(dir_of("b/last.state.safetensors"));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "step")), 12);
	ck_assert_msg(json_integer_value(json_object_get(st, "epoch")) >= 1, "%s: 12 updates stayed in epoch 0",
		      s->name);
	if (s->ss)
		ck_assert_msg(json_is_string(json_object_get(st, "ss_rng_state")), "%s: no ss_rng_state", s->name);
	json_decref(st);
	free_record(&ra);
	free_record(&rb);
	free_record(&rc);
	free_data(&d);
}
END_TEST

/* ---- the best model and early stopping ---- */

/* model.safetensors holds the parameters of the evaluation with the
 * highest score (the first of equals) or, without a score, the lowest
 * validation loss; `improved` said so at each evaluation. */
static void check_best(const record *r, const char *dir, bool by_score)
{
	ck_assert_uint_ge(r->evals, 3);
	size_t best = 0;
	for (size_t e = 0; e < r->evals; e++) {
		bool better = by_score ? r->score[e] > r->score[best] : r->val_loss[e] < r->val_loss[best];
		if (better)
			best = e;
		double prev_best = by_score ? -INFINITY : INFINITY;
		for (size_t k = 0; k < e; k++)
			prev_best = by_score ? fmax(prev_best, r->score[k]) : fmin(prev_best, r->val_loss[k]);
		bool want = by_score ? r->score[e] > prev_best : r->val_loss[e] < prev_best;
		ck_assert_msg(r->improved[e] == want, "evaluation %zu (step %lld): improved %d, expected %d", e,
			      (long long)r->eval_step[e], r->improved[e], want);
	}
	int64_t step;
	char path[512];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	float *p = ckpt_params(path, r->numel, &step);
	ck_assert_int_eq(step, r->eval_step[best]);
	ck_assert_msg(!memcmp(p, r->params[best], r->numel * sizeof *p),
		      "model.safetensors is not the model of the best evaluation (step %lld)",
		      (long long)r->eval_step[best]);
	free(p);
}

START_TEST(test_best_by_score)
{
	data d = make_data();
	/* 14 steps: evaluations at 3, 6, 9, 12 and one at the end */
	run_spec s = { "score", _i, 0.0f, NULL, "adam:lr=0.02", 3, 0, 1 };
	record r;
	ck_assert_msg(train(&s, &d, dir_of("a"), 14, false, &r) == 0, "%s", seqc_errmsg());
	ck_assert_uint_eq(r.evals, 5);
	ck_assert_int_eq(r.eval_step[4], 14);
	check_best(&r, dir_of("a"), true);
	/* the score's best is not the loss's: the test tells them apart */
	size_t by_score = 0, by_loss = 0;
	for (size_t e = 1; e < r.evals; e++) {
		by_score = r.score[e] > r.score[by_score] ? e : by_score;
		by_loss = r.val_loss[e] < r.val_loss[by_loss] ? e : by_loss;
	}
	ck_assert_msg(by_score != by_loss, "%s: the best score and loss fall on the same evaluation (%zu)",
		      KIND_NAMES[_i], by_score);
	free_record(&r);
	free_data(&d);
}
END_TEST

/* Without a validation score: the lowest validation loss. The callback
 * does not see the parameters then, so model.safetensors is compared with
 * the last checkpoint of the same run stopped at that evaluation. */
START_TEST(test_best_by_loss)
{
	data d = make_data();
	/* a rate high enough that the validation loss goes up and down */
	run_spec s = { "loss", _i, 0.0f, NULL, _i == S2ST ? "sgd:lr=3" : "sgd:lr=15", 2, 0, 0 };
	record r;
	ck_assert_msg(train(&s, &d, dir_of("a"), 12, false, &r) == 0, "%s", seqc_errmsg());
	ck_assert_uint_eq(r.evals, 6);
	size_t best = 0;
	for (size_t e = 0; e < r.evals; e++) {
		best = r.val_loss[e] < r.val_loss[best] ? e : best;
		ck_assert_msg(r.improved[e] == (best == e), "evaluation %zu: improved %d", e, r.improved[e]);
	}
	ck_assert_msg(best + 1 < r.evals, "%s: the loss fell at every evaluation: the best is the last",
		      KIND_NAMES[_i]);
	int64_t step;
	float *p = ckpt_params(dir_of("a/model.safetensors"), r.numel, &step);
	ck_assert_int_eq(step, r.eval_step[best]);
	/* the same run stopped there ends with those parameters */
	record q;
	ck_assert_msg(train(&s, &d, dir_of("b"), step, false, &q) == 0, "%s", seqc_errmsg());
	int64_t step2;
	float *p2 = ckpt_params(dir_of("b/last.safetensors"), r.numel, &step2);
	ck_assert_int_eq(step2, step);
	ck_assert_msg(!memcmp(p, p2, r.numel * sizeof *p), "model.safetensors is not the model of step %lld",
		      (long long)step);
	free(p);
	free(p2);
	free_data(&d);
}
END_TEST

START_TEST(test_early_stopping)
{
	data d = make_data();
	/* a falling score: the first evaluation stays the best, patience 2
	 * stops at the third, whatever the loss does */
	run_spec s = { "falling score", _i, 0.0f, NULL, "adam:lr=0.02", 3, 2, 2 };
	record r;
	ck_assert_msg(train(&s, &d, dir_of("a"), 30, false, &r) == 0, "%s", seqc_errmsg());
	ck_assert_str_eq(r.reason, "early stopping");
	ck_assert_int_eq(r.done_step, 9);
	ck_assert_uint_eq(r.evals, 3);
	ck_assert_msg(r.val_loss[2] < r.val_loss[0], "%s: the loss did not improve: the test shows nothing",
		      KIND_NAMES[_i]);
	int64_t step;
	free(ckpt_params(dir_of("a/model.safetensors"), r.numel, &step));
	ck_assert_int_eq(step, 3);
	free_record(&r);
	/* by the loss: a rate too small to move any parameter keeps the
	 * validation loss where it was */
	run_spec l = { "still loss", _i, 0.0f, NULL, "adam:lr=1e-30", 3, 2, 0 };
	ck_assert_msg(train(&l, &d, dir_of("b"), 30, false, &r) == 0, "%s", seqc_errmsg());
	ck_assert_str_eq(r.reason, "early stopping");
	ck_assert_int_eq(r.done_step, 9);
	free(ckpt_params(dir_of("b/model.safetensors"), r.numel, &step));
	ck_assert_int_eq(step, 3);
	/* a learning run stops where the rule says, from its own losses */
	run_spec g = { "learning", _i, 0.0f, NULL, "adam:lr=0.02", 2, 2, 0 };
	ck_assert_msg(train(&g, &d, dir_of("c"), 16, false, &r) == 0, "%s", seqc_errmsg());
	double best = INFINITY;
	int64_t bad = 0, stop = 16;
	for (size_t e = 0; e < r.evals && stop == 16; e++) {
		bad = r.val_loss[e] < best ? 0 : bad + 1;
		best = fmin(best, r.val_loss[e]);
		if (bad >= 2)
			stop = r.eval_step[e];
	}
	ck_assert_str_eq(r.reason, stop < 16 ? "early stopping" : "steps");
	ck_assert_int_eq(r.done_step, stop);
	free_data(&d);
}
END_TEST

/* ---- scheduled sampling ---- */

/* A padded batch of pairs of different lengths (file order). */
static void first_batch(const data *d, seqc_batches **bt, seqc_s2s_batch *b)
{
	*bt = seqc_batches_build(&d->train, 80, 0, SEQC_BATCHES_FILE, NULL);
	ck_assert_msg(*bt != NULL, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_batches_fill(*bt, 0, NULL, b, NULL), 0);
	ck_assert_uint_ge(b->B, 4);
	bool padded = false;
	for (size_t r = 0; r < b->B; r++)
		padded |= b->tgt_out[r * b->T + b->T - 1] < 0;
	ck_assert_msg(padded, "the batch has no padding: the test shows less");
}

typedef struct loss_run {
	float loss;
	float *grads;
	seqc_rng drop;
} loss_run;

static void run_loss(seqc_model *m, const seqc_s2s_batch *b, bool scheduled, double p, int32_t *used,
		     loss_run *out)
{
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_training(g, true);
	seqc_params_zero_grad(m->params);
	seqc_rng ssr;
	seqc_rng_seed(&out->drop, 1, SEQC_STREAM_DROPOUT);
	seqc_rng_seed(&ssr, 1, SEQC_STREAM_SCHEDULED);
	seqc_ss_config c;
	ck_assert_int_eq(seqc_ss_parse("constant:p=1", &c), 0);
	seqc_tensor *l;
	int rc = scheduled ? seqc_ss_s2s_loss(g, m, b, &out->drop, &c, p, &ssr, used, &l)
			   : seqc_model_s2s_loss(g, m, b, &out->drop, NULL, NULL, &l);
	ck_assert_msg(rc == 0, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_backward(g, l), 0);
	out->loss = l->val[0];
	out->grads = malloc(m->params->numel * sizeof(float));
	memcpy(out->grads, m->params->grads, m->params->numel * sizeof(float));
	seqc_graph_destroy(g);
}

/* p = 1: the teacher-forced loss bit for bit, the same dropout draws, the
 * inputs read are tgt_in; the gradients bit for bit for s2s-transformer,
 * within 1e-5 for s2s-rnn (its step-by-step path runs the generator per
 * step, so the generator's weight gradient sums in another order). */
START_TEST(test_ss_p1_is_teacher_forcing)
{
	data d = make_data();
	seqc_model *m = make_model(_i, seqc_tok_vocab_size(d.tok), 0.2f, 0.1f);
	seqc_batches *bt;
	seqc_s2s_batch b;
	first_batch(&d, &bt, &b);
	loss_run a, s;
	int32_t *used = malloc(b.B * b.T * sizeof *used);
	run_loss(m, &b, false, 1.0, NULL, &a);
	run_loss(m, &b, true, 1.0, used, &s);
	const char *name = KIND_NAMES[_i];
	ck_assert_msg(!memcmp(&a.loss, &s.loss, sizeof a.loss), "%s: loss %.9g vs %.9g", name, (double)a.loss,
		      (double)s.loss);
	ck_assert_msg(!memcmp(&a.drop, &s.drop, sizeof a.drop), "%s: the dropout streams moved differently", name);
	size_t n = m->params->numel, bad = n;
	for (size_t i = 0; i < n && bad == n; i++)
		if (memcmp(&a.grads[i], &s.grads[i], sizeof(float)))
			bad = i;
	if (_i == S2ST)
		ck_assert_msg(bad == n, "%s: gradient %zu: %.9g vs %.9g", name, bad, (double)a.grads[bad],
			      (double)s.grads[bad]);
	else /* the generator: one GEMM over all steps, or one per step */
		ck_assert_msg(allclose(s.grads, a.grads, n, 1e-5f, 1e-7f, "gradients"), "%s", name);
	float big = 0;
	for (size_t i = 0; i < n; i++)
		big = fmaxf(big, fabsf(a.grads[i]));
	ck_assert_msg(big > 1e-3f, "%s: gradients are about zero", name);
	ck_assert_msg(!memcmp(used, b.tgt_in, b.B * b.T * sizeof *used), "%s: p = 1 read other inputs", name);
	free(used);
	free(a.grads);
	free(s.grads);
	seqc_batches_destroy(bt);
	seqc_model_destroy(m);
	free_data(&d);
}
END_TEST

static int32_t argmax_of(const float *x, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return (int32_t)best;
}

/* p = 0, s2s-transformer: the second pass reads the argmax of the
 * teacher-forced first pass at the previous position (dropout on, the
 * first pass without it), padding left as it was; its loss is that of
 * those inputs. */
START_TEST(test_ss_p0_transformer)
{
	data d = make_data();
	seqc_model *m = make_model(S2ST, seqc_tok_vocab_size(d.tok), 0.2f, 0.1f);
	seqc_batches *bt;
	seqc_s2s_batch b;
	first_batch(&d, &bt, &b);
	size_t B = b.B, T = b.T, V = m->vocab;
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_grad(g, false);
	seqc_graph_set_training(g, false);
	seqc_tensor *first;
	ck_assert_int_eq(seqc_model_s2s_logits(g, m, &b, NULL, &first), 0);
	int32_t *want = malloc(B * T * sizeof *want), *used = malloc(B * T * sizeof *used);
	memcpy(want, b.tgt_in, B * T * sizeof *want);
	for (size_t r = 0; r < B; r++)
		for (size_t t = 0; t + 1 < T && b.tgt_out[r * T + t + 1] >= 0; t++)
			want[r * T + t + 1] = argmax_of(first->val + (r * T + t) * V, V);
	seqc_graph *g2 = seqc_graph_create(0);
	seqc_graph_set_training(g2, true);
	seqc_rng drop, ssr;
	seqc_rng_seed(&drop, 1, SEQC_STREAM_DROPOUT);
	seqc_rng_seed(&ssr, 1, SEQC_STREAM_SCHEDULED);
	seqc_ss_config c;
	ck_assert_int_eq(seqc_ss_parse("constant:p=0", &c), 0);
	seqc_tensor *l;
	ck_assert_msg(seqc_ss_s2s_loss(g2, m, &b, &drop, &c, 0.0, &ssr, used, &l) == 0, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_backward(g2, l), 0);
	bool differs = false;
	for (size_t i = 0; i < B * T; i++) {
		ck_assert_msg(used[i] == want[i], "row %zu position %zu: read %d, greedy %d", i / T, i % T, used[i],
			      want[i]);
		differs |= used[i] != b.tgt_in[i];
	}
	ck_assert_msg(differs, "the greedy inputs are the ground truth: the test shows nothing");
	/* without dropout, the loss of the greedy inputs */
	seqc_s2s_batch greedy = b;
	greedy.tgt_in = want;
	seqc_tensor *l2, *l3;
	ck_assert_int_eq(seqc_model_s2s_loss(g, m, &greedy, NULL, NULL, NULL, &l2), 0);
	seqc_graph_reset(g2);
	seqc_graph_set_training(g2, false);
	ck_assert_int_eq(seqc_ss_s2s_loss(g2, m, &b, NULL, &c, 0.0, &ssr, NULL, &l3), 0);
	ck_assert_msg(!memcmp(l2->val, l3->val, sizeof(float)), "%.9g vs %.9g", (double)l2->val[0],
		      (double)l3->val[0]);
	free(want);
	free(used);
	seqc_graph_destroy(g);
	seqc_graph_destroy(g2);
	seqc_batches_destroy(bt);
	seqc_model_destroy(m);
	free_data(&d);
}
END_TEST

/* p = 0, s2s-rnn: every input after bos is the argmax of the step before,
 * which greedy decoding through set_source / start / step computes on its
 * own; the loss is that of teacher forcing on those inputs (within
 * rounding: one generator GEMM over all steps there, one per step here). */
START_TEST(test_ss_p0_rnn)
{
	data d = make_data();
	seqc_model *m = make_model(S2SR, seqc_tok_vocab_size(d.tok), 0.0f, 0.1f);
	seqc_batches *bt;
	seqc_s2s_batch b;
	first_batch(&d, &bt, &b);
	size_t B = b.B, T = b.T, V = m->vocab;
	int32_t *used = malloc(B * T * sizeof *used), *tok = malloc(B * sizeof *tok);
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_training(g, true);
	seqc_rng drop, ssr;
	seqc_rng_seed(&drop, 1, SEQC_STREAM_DROPOUT);
	seqc_rng_seed(&ssr, 1, SEQC_STREAM_SCHEDULED);
	seqc_ss_config c;
	ck_assert_int_eq(seqc_ss_parse("constant:p=0", &c), 0);
	seqc_tensor *l;
	ck_assert_msg(seqc_ss_s2s_loss(g, m, &b, &drop, &c, 0.0, &ssr, used, &l) == 0, "%s", seqc_errmsg());
	float loss = l->val[0];
	ck_assert_int_eq(seqc_model_set_source(m, b.src, b.src_lens, B, b.S), 0);
	ck_assert_int_eq(seqc_model_start(m, B), 0);
	for (size_t r = 0; r < B; r++)
		tok[r] = b.tgt_in[r * T];
	bool differs = false;
	for (size_t t = 0; t < T; t++) {
		for (size_t r = 0; r < B; r++) {
			ck_assert_msg(used[r * T + t] == tok[r], "row %zu step %zu: read %d, greedy %d", r, t,
				      used[r * T + t], tok[r]);
			differs |= used[r * T + t] != b.tgt_in[r * T + t];
		}
		seqc_graph_reset(g);
		seqc_tensor *logits;
		ck_assert_int_eq(seqc_model_step(m, g, tok, &logits), 0);
		for (size_t r = 0; r < B; r++)
			tok[r] = argmax_of(logits->val + r * V, V);
	}
	ck_assert_msg(differs, "the greedy inputs are the ground truth: the test shows nothing");
	seqc_s2s_batch greedy = b;
	greedy.tgt_in = used;
	seqc_graph_reset(g);
	ck_assert_int_eq(seqc_model_s2s_loss(g, m, &greedy, &drop, NULL, NULL, &l), 0);
	ck_assert_msg(fabsf(l->val[0] - loss) <= 1e-6f * fabsf(loss), "loss %.9g, teacher forcing on the "
		      "greedy inputs %.9g", (double)loss, (double)l->val[0]);
	free(used);
	free(tok);
	seqc_graph_destroy(g);
	seqc_batches_destroy(bt);
	seqc_model_destroy(m);
	free_data(&d);
}
END_TEST

/* ---- evaluation ---- */

/* The mean NLL of every pair from its own logits (batch of one, no
 * dropout, no label smoothing), in double. */
static double nll_by_hand(seqc_model *m, const seqc_pairs *p)
{
	double total = 0;
	size_t count = 0;
	seqc_graph *g = seqc_graph_create(0);
	seqc_graph_set_grad(g, false);
	seqc_graph_set_training(g, false);
	for (size_t i = 0; i < p->n; i++) {
		const seqc_pair *pr = &p->pairs[i];
		size_t S = pr->src_len + 1, T = pr->tgt_len + 1, V = m->vocab;
		int32_t src[64], in[64], out[64];
		ck_assert_uint_le(S, 64);
		ck_assert_uint_le(T, 64);
		const int32_t *x = p->ids + pr->off, *y = x + pr->src_len;
		memcpy(src, x, pr->src_len * sizeof *src);
		src[S - 1] = p->src_eos;
		in[0] = p->tgt_bos;
		memcpy(in + 1, y, pr->tgt_len * sizeof *in);
		memcpy(out, y, pr->tgt_len * sizeof *out);
		out[T - 1] = p->tgt_eos;
		seqc_s2s_batch b = { .B = 1, .S = S, .T = T, .src = src, .src_lens = &S, .tgt_in = in,
				     .tgt_out = out };
		seqc_graph_reset(g);
		seqc_tensor *logits;
		ck_assert_msg(seqc_model_s2s_logits(g, m, &b, NULL, &logits) == 0, "%s", seqc_errmsg());
		for (size_t t = 0; t < T; t++) {
			const float *row = logits->val + t * V;
			double max = row[0], sum = 0;
			for (size_t v = 1; v < V; v++)
				max = fmax(max, row[v]);
			for (size_t v = 0; v < V; v++)
				sum += exp((double)row[v] - max);
			total -= (double)row[out[t]] - max - log(sum);
			count++;
		}
	}
	seqc_graph_destroy(g);
	return total / (double)count;
}

/* Dropout and label smoothing in the model: evaluation uses neither;
 * several batches of padded pairs sum to the per-pair mean. */
START_TEST(test_eval_matches_logits)
{
	data d = make_data();
	seqc_model *m = make_model(_i, seqc_tok_vocab_size(d.tok), 0.3f, 0.2f);
	double want = nll_by_hand(m, &d.train), got;
	ck_assert_msg(seqc_eval_s2s(m, &d.train, 30, &got) == 0, "%s", seqc_errmsg());
	ck_assert_msg(fabs(got - want) <= 1e-5 * want, "%s: seqc_eval_s2s %.9g, by hand %.9g", KIND_NAMES[_i],
		      got, want);
	/* one big batch: the same */
	ck_assert_int_eq(seqc_eval_s2s(m, &d.train, 100000, &got), 0);
	ck_assert_msg(fabs(got - want) <= 1e-5 * want, "%s: one batch %.9g, by hand %.9g", KIND_NAMES[_i], got,
		      want);
	seqc_model_destroy(m);
	free_data(&d);
}
END_TEST

/* ---- refusals ---- */

START_TEST(test_refusals)
{
	data d = make_data();
	size_t V = seqc_tok_vocab_size(d.tok);
	seqc_model *m = make_model(S2ST, V, 0.0f, 0.0f);
	seqc_train_config tc = seqc_train_defaults();
	tc.batch = 48;
	tc.steps = 2;
	tc.out_dir = dir_of("r");
	seqc_s2s_data sd = { .train = &d.train, .valid = &d.valid };
	/* a validation score without a name */
	sd.validate = validate;
	ck_assert_int_eq(seqc_train_s2s(m, &sd, &tc, d.tok_json, NULL, NULL), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "name"), "%s", seqc_errmsg());
	sd.validate = NULL;
	/* sources without targets */
	seqc_pairs src;
	seqc_pairs_options o = { .src_tok = d.tok };
	ck_assert_int_eq(seqc_sources_from_text(&o, "ab\ncd\n", 6, &src), 0);
	sd.valid = &src;
	ck_assert_int_eq(seqc_train_s2s(m, &sd, &tc, d.tok_json, NULL, NULL), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "targets"), "%s", seqc_errmsg());
	sd.valid = &d.valid;
	seqc_pairs_free(&src);
	/* pairs of another vocabulary */
	seqc_model *other = make_model(S2SR, V + 1, 0.0f, 0.0f);
	ck_assert_int_eq(seqc_train_s2s(other, &sd, &tc, d.tok_json, NULL, NULL), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "vocabularies"), "%s", seqc_errmsg());
	seqc_model_destroy(other);
	/* a language model */
	seqc_rnnlm_config rc = { .cell = SEQC_CELL_GRU, .vocab = V, .embed = 4, .hidden = 4, .layers = 1 };
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	seqc_model *lm = seqc_model_wrap_rnnlm(seqc_rnnlm_create(&rc, &rng));
	ck_assert_int_eq(seqc_train_s2s(lm, &sd, &tc, d.tok_json, NULL, NULL), SEQC_EUNSUPPORTED);
	ck_assert_msg(strstr(seqc_errmsg(), "rnnlm"), "%s", seqc_errmsg());
	double loss;
	ck_assert_int_lt(seqc_eval_s2s(lm, &d.valid, 100, &loss), 0);
	seqc_model_destroy(lm);
	/* nothing was written by the refusals */
	struct stat sb;
	ck_assert_int_ne(stat(dir_of("r/last.safetensors"), &sb), 0);
	seqc_model_destroy(m);
	free_data(&d);
}
END_TEST

int main(void)
{
	if (!make_temp_dir("seqc-test-trainer-s2s", suite_root, sizeof suite_root)) {
		perror("test_trainer_s2s: cannot make a temporary folder");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("trainer_s2s");
	TCase *tc = tcase_create("train");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_exact_resume, 0, sizeof resume_cases / sizeof resume_cases[0]);
	tcase_add_loop_test(tc, test_best_by_score, S2ST, S2SR + 1);
	tcase_add_loop_test(tc, test_best_by_loss, S2ST, S2SR + 1);
	tcase_add_loop_test(tc, test_early_stopping, S2ST, S2SR + 1);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	TCase *ss = tcase_create("losses");
	tcase_set_timeout(ss, 60);
	tcase_add_loop_test(ss, test_ss_p1_is_teacher_forcing, S2ST, S2SR + 1);
	tcase_add_test(ss, test_ss_p0_transformer);
	tcase_add_test(ss, test_ss_p0_rnn);
	tcase_add_loop_test(ss, test_eval_matches_logits, S2ST, S2SR + 1);
	suite_add_tcase(s, ss);
	int rc = run_suite(s);
	remove_tree(suite_root);
	return rc;
}
