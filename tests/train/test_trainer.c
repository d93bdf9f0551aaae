/* The training loop (train/trainer.h) on tiny rnnlms in temporary folders:
 *   - exact resume: a run of 12 steps resumed to 20 ends with the same
 *     bytes (parameters, optimizer moments, carried state, RNG, schedule
 *     state) as a straight run of 20, for k1 = k2, k2 > k1 and k2 < k1,
 *     with dropout, LSTM, GRU and RNN cells, and a plateau schedule;
 *   - the loss goes down on a learnable text;
 *   - the files of a run and their form (checkpoints, log, plot);
 *   - refusals (a run already there, other batch or bptt, other model, a
 *     truncated state file) leave the folder's bytes as they were;
 *   - early stopping, and a diverging run stopping with SEQC_ENONFINITE
 *     without touching the last good checkpoint;
 *   - seqc_eval_lm against seqc_score on the same text. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"

/* ---- temporary folder per test (a checked fixture: each test runs in
 * its own process under CK_FORK, so setup and teardown run there too) ---- */

/* The suite's folder, made and removed by main (so that a test that fails,
 * whose teardown does not run under CK_FORK, leaves nothing behind), and
 * the current test's folder inside it. */
static char suite_root[64];
static char tmp_root[96];
static int path_used; /* paths handed out by dir_of in this test */

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

/* tmp_root/name in a static buffer that stays valid for the rest of the
 * test (a test makes fewer than POOL paths). */
#define POOL 128
static char path_pool[POOL][256];

static const char *dir_of(const char *name)
{
	ck_assert_int_lt(path_used, POOL);
	char *p = path_pool[path_used++];
	snprintf(p, sizeof path_pool[0], "%s/%s", tmp_root, name);
	return p;
}

/* ---- whole files and folder snapshots ---- */

#define MAX_FILES 16

/* Every regular file of a folder, by name. */
typedef struct snapshot {
	size_t n;
	char *names[MAX_FILES];
	blob files[MAX_FILES];
} snapshot;

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static snapshot take_snapshot(const char *dir)
{
	snapshot s = { 0 };
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "%s: cannot open", dir);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		ck_assert_uint_lt(s.n, MAX_FILES);
		s.names[s.n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(s.names, s.n, sizeof s.names[0], by_name);
	for (size_t i = 0; i < s.n; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, s.names[i]);
		s.files[i] = read_blob(path);
	}
	return s;
}

static void free_snapshot(snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->names[i]);
		free(s->files[i].data);
	}
	s->n = 0;
}

/* The folder holds exactly the files of s, byte for byte. */
static void assert_unchanged(const snapshot *s, const char *dir, const char *what)
{
	snapshot now = take_snapshot(dir);
	ck_assert_msg(now.n == s->n, "%s: %zu files in %s, there were %zu", what, now.n, dir, s->n);
	for (size_t i = 0; i < s->n; i++) {
		ck_assert_msg(!strcmp(now.names[i], s->names[i]), "%s: file %s appeared, %s is gone", what,
			      now.names[i], s->names[i]);
		ck_assert_msg(now.files[i].len == s->files[i].len &&
				      !memcmp(now.files[i].data, s->files[i].data, s->files[i].len),
			      "%s: %s changed", what, s->names[i]);
	}
	free_snapshot(&now);
}

/* ---- the corpus and the runs ---- */

/* The words of the training text (with a non-ASCII letter); the runs'
 * expected stops (steps, early stopping) were worked out on this text. */
static const char *const WORDS[] = { "the", "cat", "sat", "on", "a", "mat", "and", "café", "dog",
				     "ran", "far", "away" };

typedef struct corpus {
	seqc_tok *tok;
	char *tok_json;
	int32_t *ids;
	size_t n, split;
} corpus;

static corpus make_corpus(const char *text)
{
	corpus c;
	c.tok = seqc_tok_char_build(text, strlen(text), NULL);
	ck_assert_msg(c.tok != NULL, "tokenizer: %s", seqc_errmsg());
	c.tok_json = seqc_tok_to_json(c.tok);
	ck_assert_ptr_nonnull(c.tok_json);
	ck_assert_int_eq(seqc_tok_encode(c.tok, text, strlen(text), &c.ids, &c.n), 0);
	ck_assert_int_eq(seqc_lm_split(c.n, 0.9, &c.split), 0);
	return c;
}

static void free_corpus(corpus *c)
{
	seqc_tok_destroy(c->tok);
	free(c->tok_json);
	free(c->ids);
}

/* The words corpus every test but the learnable one uses: 4 streams of
 * about 90 positions, so that 20 updates of 8 or 12 positions cross an
 * epoch. */
static corpus words_corpus(void)
{
	char *text = word_text_from(WORDS, sizeof WORDS / sizeof WORDS[0], 400, 5);
	corpus c = make_corpus(text);
	free(text);
	return c;
}

typedef struct run_spec {
	const char *name;
	seqc_cell_kind cell;
	size_t layers, hidden;
	float dropout;
	size_t batch, k1, k2;
	const char *optim;  /* spec */
	const char *sched;  /* spec */
	int64_t eval_every;
	int64_t patience;
	bool gpt;           /* a gpt of `layers` blocks, 2 heads, width hidden, context k1 */
	const char *ss;     /* scheduled sampling spec (NULL: teacher forcing) */
} run_spec;

static seqc_model *make_gpt(const run_spec *r, size_t vocab)
{
	seqc_gpt_config gc = seqc_gpt_config_defaults();
	gc.vocab = vocab;
	gc.context = r->k1;
	gc.layers = r->layers;
	gc.heads = 2;
	gc.embed = r->hidden;
	gc.dropout = r->dropout;
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	seqc_model *m = seqc_model_wrap_gpt(seqc_gpt_create(&gc, &rng));
	ck_assert_msg(m != NULL, "model: %s", seqc_errmsg());
	return m;
}

static seqc_model *make_model(const run_spec *r, size_t vocab)
{
	if (r->gpt)
		return make_gpt(r, vocab);
	seqc_rnnlm_config mc = { .cell = r->cell, .vocab = vocab, .embed = r->hidden, .hidden = r->hidden,
				 .layers = r->layers, .dropout = r->dropout };
	seqc_rng rng;
	seqc_rng_seed(&rng, 1, SEQC_STREAM_INIT);
	seqc_model *m = seqc_model_wrap_rnnlm(seqc_rnnlm_create(&mc, &rng));
	ck_assert_msg(m != NULL, "model: %s", seqc_errmsg());
	return m;
}

static seqc_train_config make_config(const run_spec *r, const char *dir, int64_t steps, bool resume)
{
	seqc_train_config tc = seqc_train_defaults();
	tc.batch = r->batch;
	tc.k1 = r->k1;
	tc.k2 = r->k2;
	tc.steps = steps;
	tc.eval_every = r->eval_every;
	tc.patience = r->patience;
	tc.eval_chunk = 16; /* several validation chunks, state carried across */
	tc.log_every = 5;
	tc.seed = 77;
	tc.out_dir = dir;
	tc.resume = resume;
	ck_assert_msg(seqc_optim_parse(r->optim, &tc.optim) == 0, "%s: %s", r->optim, seqc_errmsg());
	ck_assert_msg(seqc_sched_parse(r->sched, &tc.sched) == 0, "%s: %s", r->sched, seqc_errmsg());
	if (r->ss)
		ck_assert_msg(seqc_ss_parse(r->ss, &tc.ss) == 0, "%s: %s", r->ss, seqc_errmsg());
	return tc;
}

/* What the callback saw. */
typedef struct events {
	int evals, steps, done, skips;
	char skip_msg[512];
	int64_t eval_steps[64];
	int64_t last_eval_step, done_step;
	bool eval_step_ok;
	double last_val;
	char reason[32];
} events;

static void on_event(const seqc_train_progress *p, void *ctx)
{
	events *e = ctx;
	switch (p->event) {
	case SEQC_TRAIN_STEP:
		e->steps++;
		break;
	case SEQC_TRAIN_EVAL:
		/* evaluations happen at multiples of eval_every or at the end */
		if (e->evals && p->step <= e->last_eval_step)
			e->eval_step_ok = false;
		if (e->evals < 64)
			e->eval_steps[e->evals] = p->step;
		e->evals++;
		e->last_eval_step = p->step;
		e->last_val = p->val_loss;
		break;
	case SEQC_TRAIN_SKIP:
		e->skips++;
		snprintf(e->skip_msg, sizeof e->skip_msg, "%s", p->message ? p->message : "(null)");
		break;
	case SEQC_TRAIN_DONE:
		e->done++;
		e->done_step = p->step;
		snprintf(e->reason, sizeof e->reason, "%s", p->stop_reason ? p->stop_reason : "(null)");
		break;
	}
}

/* Train a fresh model (always initialized from the same seed: on resume the
 * trainer replaces its parameters) for `steps` updates in all. */
static int train(const run_spec *r, const corpus *c, const char *dir, int64_t steps, bool resume,
		 events *ev)
{
	seqc_model *m = make_model(r, seqc_tok_vocab_size(c->tok));
	seqc_train_config tc = make_config(r, dir, steps, resume);
	int rc = seqc_train_lm(m, c->ids, c->split, c->ids + c->split, c->n - c->split, seqc_tok_bos(c->tok),
			       &tc, c->tok_json, ev ? on_event : NULL, ev);
	seqc_model_destroy(m);
	return rc;
}

/* ---- comparing two runs ---- */

static void assert_same_tensors(const char *pa, const char *pb)
{
	seqc_st *a, *b;
	ck_assert_msg(seqc_st_read(pa, &a) == 0, "%s: %s", pa, seqc_errmsg());
	ck_assert_msg(seqc_st_read(pb, &b) == 0, "%s: %s", pb, seqc_errmsg());
	ck_assert_uint_eq(seqc_st_count(a), seqc_st_count(b));
	for (size_t i = 0; i < seqc_st_count(a); i++) {
		const seqc_st_tensor *ta = seqc_st_tensor_at(a, i);
		const seqc_st_tensor *tb = seqc_st_find(b, ta->name);
		ck_assert_msg(tb != NULL, "%s has %s, %s not", pa, ta->name, pb);
		ck_assert_msg(ta->numel == tb->numel && ta->ndim == tb->ndim &&
				      !memcmp(ta->shape, tb->shape, sizeof ta->shape),
			      "%s: shapes differ", ta->name);
		size_t bad = ta->numel;
		for (size_t k = 0; k < ta->numel && bad == ta->numel; k++)
			if (memcmp(&ta->data[k], &tb->data[k], sizeof(float)))
				bad = k;
		ck_assert_msg(bad == ta->numel, "%s vs %s: tensor %s differs at %zu: %.9g vs %.9g", pa, pb,
			      ta->name, bad, (double)ta->data[bad], (double)tb->data[bad]);
	}
	const char *sa = seqc_st_meta(a, "seqc.step"), *sb = seqc_st_meta(b, "seqc.step");
	ck_assert_msg(sa && sb && !strcmp(sa, sb), "%s: seqc.step %s vs %s", pa, sa ? sa : "-", sb ? sb : "-");
	seqc_st_destroy(a);
	seqc_st_destroy(b);
}

/* The train state JSON of a state file, without the wall-clock time. */
static json_t *train_state(const char *path)
{
	seqc_st *st;
	ck_assert_msg(seqc_st_read(path, &st) == 0, "%s: %s", path, seqc_errmsg());
	const char *text = seqc_st_meta(st, "seqc.train_state");
	ck_assert_msg(text != NULL, "%s: no seqc.train_state", path);
	json_error_t err;
	json_t *js = json_loads(text, 0, &err);
	ck_assert_msg(json_is_object(js), "%s: train state: %s", path, err.text);
	json_object_del(js, "elapsed");
	seqc_st_destroy(st);
	return js;
}

static void assert_same_run(const char *da, const char *db)
{
	char pa[512], pb[512];
	static const char *const files[] = { "last.safetensors", "last.state.safetensors", "model.safetensors" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(pa, sizeof pa, "%s/%s", da, files[i]);
		snprintf(pb, sizeof pb, "%s/%s", db, files[i]);
		assert_same_tensors(pa, pb);
	}
	snprintf(pa, sizeof pa, "%s/last.state.safetensors", da);
	snprintf(pb, sizeof pb, "%s/last.state.safetensors", db);
	json_t *ja = train_state(pa), *jb = train_state(pb);
	char *sa = json_dumps(ja, JSON_SORT_KEYS | JSON_COMPACT), *sb = json_dumps(jb, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(json_equal(ja, jb), "train states differ:\n  %s\n  %s", sa, sb);
	free(sa);
	free(sb);
	json_decref(ja);
	json_decref(jb);
}

/* ---- exact resume ---- */

static const run_spec resume_cases[] = {
	{ "lstm k1=k2", SEQC_CELL_LSTM, 1, 16, 0.0f, 4, 8, 8, "adam:lr=0.01", "constant", 4, 0, false, NULL },
	{ "lstm k2>k1 dropout", SEQC_CELL_LSTM, 2, 16, 0.2f, 4, 8, 12, "adam:lr=0.01", "constant", 4, 0, false, NULL },
	{ "lstm k2<k1 dropout", SEQC_CELL_LSTM, 2, 16, 0.2f, 4, 12, 8, "adam:lr=0.01", "constant", 4, 0, false, NULL },
	{ "gru k2>k1 dropout", SEQC_CELL_GRU, 2, 16, 0.25f, 4, 8, 12, "adamw:lr=0.01", "constant", 4, 0, false, NULL },
	{ "gru k2<k1", SEQC_CELL_GRU, 1, 16, 0.0f, 4, 12, 8, "rmsprop:lr=0.005,momentum=0.5", "constant", 4, 0, false, NULL },
	{ "rnn k1=k2 dropout", SEQC_CELL_RNN_TANH, 2, 16, 0.1f, 4, 8, 8, "sgd:lr=0.5,momentum=0.9", "constant", 4, 0, false, NULL },
	/* threshold 0.5: hardly any evaluation counts as better, so the rate
	 * is halved every other evaluation and the state is not trivial */
	{ "lstm plateau", SEQC_CELL_LSTM, 2, 16, 0.2f, 4, 8, 12, "adam:lr=0.02",
	  "plateau:factor=0.5,patience=1,threshold=0.5", 4, 0, false, NULL },
	{ "gru plateau k2<k1", SEQC_CELL_GRU, 1, 16, 0.1f, 4, 12, 8, "adam:lr=0.02",
	  "plateau:factor=0.5,patience=1,threshold=0.5,warmup=3", 4, 0, false, NULL },
	/* early stopping armed (it does not trigger), its counter resumes */
	{ "lstm patience", SEQC_CELL_LSTM, 1, 16, 0.0f, 4, 8, 8, "adam:lr=0.01", "constant", 4, 50, false, NULL },
	/* random windows from the data stream, dropout draws, AdamW with a
	 * cosine schedule: nanoGPT's recipe in small */
	{ "gpt", SEQC_CELL_LSTM, 2, 16, 0.0f, 4, 8, 8, "adamw:lr=0.01,wd=0.1", "cosine:warmup=3,total=20", 4,
	  0, true, NULL },
	{ "gpt dropout", SEQC_CELL_LSTM, 1, 16, 0.2f, 3, 8, 8, "adamw:lr=0.01,wd=0.1", "constant", 4, 0, true, NULL },
	/* scheduled sampling: the mixing draws resume too (sampled own
	 * tokens draw twice), with the state carried through the step-by-step
	 * path and the two-pass gpt */
	{ "lstm scheduled k2>k1 dropout", SEQC_CELL_LSTM, 2, 16, 0.2f, 4, 8, 12, "adam:lr=0.01", "constant", 4,
	  0, false, "inverse-sigmoid:k=5,own=sample" },
	{ "gru scheduled k2<k1", SEQC_CELL_GRU, 1, 16, 0.0f, 4, 12, 8, "adam:lr=0.01", "constant", 4, 0, false,
	  "linear:k=1,c=0.04,eps=0.3" },
	{ "gpt scheduled dropout", SEQC_CELL_LSTM, 1, 16, 0.2f, 3, 8, 8, "adamw:lr=0.01,wd=0.1", "constant", 4,
	  0, true, "exp:k=0.9,own=sample" },
};

START_TEST(test_exact_resume)
{
	const run_spec *r = &resume_cases[_i];
	corpus c = words_corpus();
	const char *a = dir_of("a"), *b = dir_of("b");
	int rc = train(r, &c, a, 12, false, NULL);
	ck_assert_msg(rc == 0, "%s: run A: %s", r->name, seqc_errmsg());
	/* the straight run */
	rc = train(r, &c, b, 20, false, NULL);
	ck_assert_msg(rc == 0, "%s: run C: %s", r->name, seqc_errmsg());
	/* A continued to 20 */
	rc = train(r, &c, a, 20, true, NULL);
	ck_assert_msg(rc == 0, "%s: run B: %s", r->name, seqc_errmsg());
	assert_same_run(a, b);

	json_t *st = train_state(dir_of("b/last.state.safetensors"));
	ck_assert_int_eq(json_integer_value(json_object_get(st, "step")), 20);
	/* 20 updates of k1 positions crossed the end of the 4 streams */
	ck_assert_int_ge(json_integer_value(json_object_get(st, "epoch")), 1);
	if (r->ss)
		ck_assert_msg(json_is_string(json_object_get(st, "ss_rng_state")), "%s: no ss_rng_state", r->name);
	if (strstr(r->sched, "plateau")) {
		double lr = json_real_value(json_object_get(json_object_get(st, "sched"), "lr"));
		ck_assert_msg(lr < 0.02 * 0.99, "%s: the plateau schedule never lowered the rate (%g)", r->name, lr);
	}
	json_decref(st);
	free_corpus(&c);
}
END_TEST

/* A run stopped between evaluations gets an extra validation pass at the
 * stop. Resumed, it must still steer like a straight run: with SGD at a
 * rate that makes the validation loss jump about, the pass at step 10 of
 * run A (2.59) is better than the scheduled ones at 12 and 16 (2.77,
 * 2.71), which a straight run counts as one bad evaluation and then an
 * improvement; counted against the pass at 10, the resumed run stopped
 * early at 16 (patience 2). Everything but model.safetensors (which keeps
 * the best of all passes, that at 10 included) and the best loss ends the
 * same. */
START_TEST(test_resume_off_schedule)
{
	run_spec r = { "off schedule", SEQC_CELL_LSTM, 1, 16, 0.1f, 4, 8, 8, "sgd:lr=10", "constant", 4, 2, false, NULL };
	corpus c = words_corpus();
	const char *a = dir_of("a"), *b = dir_of("b");
	events ea = { .eval_step_ok = true }, eb = ea, ec = ea;
	ck_assert_msg(train(&r, &c, a, 10, false, &ea) == 0, "run A: %s", seqc_errmsg());
	ck_assert_int_eq(ea.last_eval_step, 10);
	ck_assert_msg(train(&r, &c, b, 20, false, &ec) == 0, "run C: %s", seqc_errmsg());
	ck_assert_msg(train(&r, &c, a, 20, true, &eb) == 0, "run B: %s", seqc_errmsg());
	ck_assert_str_eq(ec.reason, "steps");
	ck_assert_msg(!strcmp(eb.reason, ec.reason) && eb.done_step == ec.done_step,
		      "resumed run stopped at %lld (%s), straight run at %lld (%s)", (long long)eb.done_step,
		      eb.reason, (long long)ec.done_step, ec.reason);
	char pa[512], pb[512];
	static const char *const files[] = { "last.safetensors", "last.state.safetensors" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
		snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
		assert_same_tensors(pa, pb);
	}
	json_t *ja = train_state(dir_of("a/last.state.safetensors"));
	json_t *jb = train_state(dir_of("b/last.state.safetensors"));
	json_object_del(ja, "best_val");
	json_object_del(jb, "best_val");
	char *sa = json_dumps(ja, JSON_SORT_KEYS | JSON_COMPACT), *sb = json_dumps(jb, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(json_equal(ja, jb), "train states differ:\n  %s\n  %s", sa, sb);
	free(sa);
	free(sb);
	json_decref(ja);
	json_decref(jb);
	free_corpus(&c);
}
END_TEST

/* ---- learning ---- */

START_TEST(test_learns_abc)
{
	char *text = malloc(3001);
	for (int i = 0; i < 3000; i++)
		text[i] = (char)('a' + i % 3);
	text[3000] = '\0';
	corpus c = make_corpus(text);
	free(text);
	run_spec r = { "abc", SEQC_CELL_LSTM, 1, 16, 0.0f, 4, 16, 16, "adam:lr=0.02", "constant", 50, 0, false, NULL };
	events ev = { .eval_step_ok = true };
	int rc = train(&r, &c, dir_of("abc"), 300, false, &ev);
	ck_assert_msg(rc == 0, "%s", seqc_errmsg());
	ck_assert_int_eq(ev.done, 1);
	ck_assert_int_eq(ev.done_step, 300);
	ck_assert_str_eq(ev.reason, "steps");
	ck_assert_int_eq(ev.evals, 6);
	ck_assert_msg(ev.eval_step_ok, "evaluation events out of order");
	ck_assert_int_eq(ev.last_eval_step, 300);
	/* ln 3 = 1.10 nats before learning; the first token of each validation
	 * stream (after bos) stays a guess, a few percent of the positions */
	ck_assert_msg(ev.last_val < 0.1, "final validation loss %g", ev.last_val);
	/* the best checkpoint scores the text as well as the trainer said */
	seqc_model *m;
	int64_t step;
	ck_assert_int_eq(seqc_ckpt_load(dir_of("abc/model.safetensors"), &m, NULL, &step), 0);
	double loss;
	ck_assert_int_eq(seqc_eval_lm(m, c.ids + c.split, c.n - c.split, seqc_tok_bos(c.tok), 4, 16, &loss), 0);
	ck_assert_msg(loss < 0.1, "validation loss of model.safetensors (step %lld): %g", (long long)step, loss);
	seqc_model_destroy(m);
	free_corpus(&c);
}
END_TEST

/* ---- the files of a run ---- */

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

START_TEST(test_files)
{
	corpus c = words_corpus();
	run_spec r = { "files", SEQC_CELL_GRU, 1, 16, 0.0f, 4, 8, 8, "adam:lr=0.01", "constant", 4, 0, false, NULL };
	events ev = { .eval_step_ok = true };
	ck_assert_msg(train(&r, &c, dir_of("run"), 10, false, &ev) == 0, "%s", seqc_errmsg());
	static const char *const names[] = { "model.safetensors", "last.safetensors", "last.state.safetensors",
					     "log.jsonl", "loss.svg", "last.prev.safetensors" };
	for (size_t i = 0; i < 6; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/run/%s", tmp_root, names[i]);
		ck_assert_msg(exists(path), "%s missing or empty", path);
	}
	/* evaluations at 4 and 8 on the schedule, and one at the end (10) */
	ck_assert_int_eq(ev.evals, 3);
	ck_assert_int_eq(ev.eval_steps[0], 4);
	ck_assert_int_eq(ev.eval_steps[1], 8);
	ck_assert_int_eq(ev.eval_steps[2], 10);
	ck_assert_msg(ev.eval_step_ok, "evaluation steps out of order");

	/* log.jsonl: every line a JSON object with an "event"; train lines
	 * every 5 updates, evals, then done */
	blob log = read_blob(dir_of("run/log.jsonl"));
	ck_assert_ptr_nonnull(log.data);
	int lines = 0, train_lines = 0, eval_lines = 0;
	char *save, *last = NULL;
	for (char *line = strtok_r(log.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t err;
		json_t *o = json_loads(line, 0, &err);
		ck_assert_msg(json_is_object(o), "log line %d is not a JSON object: %s", lines + 1, line);
		const char *e = json_string_value(json_object_get(o, "event"));
		ck_assert_msg(e != NULL, "log line %d has no event: %s", lines + 1, line);
		ck_assert_msg(json_is_integer(json_object_get(o, "step")), "log line %d has no step", lines + 1);
		train_lines += !strcmp(e, "train");
		eval_lines += !strcmp(e, "eval");
		if (!strcmp(e, "eval")) {
			int64_t s = json_integer_value(json_object_get(o, "step"));
			ck_assert_msg(s == 4 || s == 8 || s == 10, "eval at step %lld", (long long)s);
		}
		json_decref(o);
		last = line;
		lines++;
	}
	ck_assert_int_eq(train_lines, 2);
	ck_assert_int_eq(eval_lines, 3);
	ck_assert_ptr_nonnull(last);
	json_t *done = json_loads(last, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(done, "event")), "done");
	ck_assert_str_eq(json_string_value(json_object_get(done, "reason")), "steps");
	ck_assert_int_eq(json_integer_value(json_object_get(done, "step")), 10);
	json_decref(done);
	free(log.data);

	blob svg = read_blob(dir_of("run/loss.svg"));
	ck_assert_ptr_nonnull(svg.data);
	ck_assert_msg(!strncmp(svg.data, "<svg", 4), "loss.svg does not start with <svg");
	ck_assert_ptr_nonnull(strstr(svg.data, ">step<"));
	ck_assert_ptr_nonnull(strstr(svg.data, ">loss"));
	ck_assert_ptr_nonnull(strstr(svg.data, "<polyline"));
	ck_assert_ptr_nonnull(strstr(svg.data, "</svg>"));
	free(svg.data);

	/* the checkpoints load, with their step, config and tokenizer */
	seqc_model *m;
	char *tj;
	int64_t step;
	ck_assert_int_eq(seqc_ckpt_load(dir_of("run/last.safetensors"), &m, &tj, &step), 0);
	ck_assert_int_eq(step, 10);
	ck_assert_str_eq(tj, c.tok_json);
	ck_assert_str_eq(m->arch, "rnnlm");
	ck_assert_int_eq(m->rnnlm->c.cell, SEQC_CELL_GRU);
	ck_assert_uint_eq(m->vocab, seqc_tok_vocab_size(c.tok));
	free(tj);
	seqc_model_destroy(m);
	ck_assert_int_eq(seqc_ckpt_load(dir_of("run/model.safetensors"), &m, NULL, &step), 0);
	ck_assert(step == 4 || step == 8 || step == 10);
	seqc_model_destroy(m);
	free_corpus(&c);
}
END_TEST

/* The "ss_prob" of every train line in dir's log.jsonl into probs
 * (NAN where a line has none); returns the number of train lines. */
static int log_ss_probs(const char *dir, double *probs, int cap)
{
	char path[512];
	snprintf(path, sizeof path, "%s/log.jsonl", dir);
	blob log = read_blob(path);
	ck_assert_ptr_nonnull(log.data);
	int n = 0;
	char *save;
	for (char *line = strtok_r(log.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		ck_assert_ptr_nonnull(o);
		if (!strcmp(json_string_value(json_object_get(o, "event")), "train") && n < cap) {
			json_t *v = json_object_get(o, "ss_prob");
			probs[n++] = v ? json_number_value(v) : NAN;
		}
		json_decref(o);
	}
	free(log.data);
	return n;
}

/* Scheduled sampling in the trainer: the log records the probability of
 * each logged step; with probability 1 a gpt trains exactly as with
 * teacher forcing; with 0 it trains otherwise. */
START_TEST(test_scheduled_sampling)
{
	corpus c = words_corpus();
	run_spec r = { "ss", SEQC_CELL_LSTM, 1, 16, 0.2f, 3, 8, 8, "adamw:lr=0.01", "constant", 0, 0, true,
		       NULL };
	ck_assert_msg(train(&r, &c, dir_of("tf"), 10, false, NULL) == 0, "%s", seqc_errmsg());
	r.ss = "constant:p=1";
	ck_assert_msg(train(&r, &c, dir_of("p1"), 10, false, NULL) == 0, "%s", seqc_errmsg());
	assert_same_tensors(dir_of("tf/last.safetensors"), dir_of("p1/last.safetensors"));
	r.ss = "constant:p=0";
	ck_assert_msg(train(&r, &c, dir_of("p0"), 10, false, NULL) == 0, "%s", seqc_errmsg());
	seqc_model *a, *b;
	ck_assert_int_eq(seqc_ckpt_load(dir_of("tf/last.safetensors"), &a, NULL, NULL), 0);
	ck_assert_int_eq(seqc_ckpt_load(dir_of("p0/last.safetensors"), &b, NULL, NULL), 0);
	ck_assert_msg(memcmp(a->params->values, b->params->values, a->params->numel * sizeof(float)),
		      "training on the model's own tokens changed nothing");
	seqc_model_destroy(a);
	seqc_model_destroy(b);

	/* an lstm (dropout, a burn-in carried from the previous segment) with
	 * p = 1 trains as with teacher forcing, to the rounding of the
	 * per-step cells */
	r = (run_spec){ "ss lstm", SEQC_CELL_LSTM, 2, 16, 0.2f, 4, 8, 12, "sgd:lr=0.5", "constant", 0, 0, false,
			NULL };
	ck_assert_msg(train(&r, &c, dir_of("lstm_tf"), 10, false, NULL) == 0, "%s", seqc_errmsg());
	r.ss = "constant:p=1";
	ck_assert_msg(train(&r, &c, dir_of("lstm_p1"), 10, false, NULL) == 0, "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_ckpt_load(dir_of("lstm_tf/last.safetensors"), &a, NULL, NULL), 0);
	ck_assert_int_eq(seqc_ckpt_load(dir_of("lstm_p1/last.safetensors"), &b, NULL, NULL), 0);
	ck_assert(allclose(b->params->values, a->params->values, a->params->numel, 1e-4f, 1e-5f, "lstm p=1"));
	seqc_model_destroy(a);
	seqc_model_destroy(b);

	/* train lines at steps 5 and 10: p at steps 4 and 9 (counted from 0) */
	double probs[8];
	ck_assert_int_eq(log_ss_probs(dir_of("tf"), probs, 8), 2);
	ck_assert_msg(isnan(probs[0]) && isnan(probs[1]), "teacher forcing logs an ss_prob");
	r = (run_spec){ "ss rnn", SEQC_CELL_GRU, 1, 16, 0.0f, 4, 8, 8, "adam:lr=0.01", "constant", 0, 0, false,
			"linear:k=1,c=0.05,eps=0.6" };
	ck_assert_msg(train(&r, &c, dir_of("lin"), 10, false, NULL) == 0, "%s", seqc_errmsg());
	ck_assert_int_eq(log_ss_probs(dir_of("lin"), probs, 8), 2);
	ck_assert_msg(fabs(probs[0] - 0.8) < 1e-6 && fabs(probs[1] - 0.6) < 1e-6, "ss_prob %g, %g", probs[0],
		      probs[1]);
	/* a run goes on with the inputs it was trained with */
	snapshot before = take_snapshot(dir_of("lin"));
	const char *other[] = { NULL, "linear:k=1,c=0.05,eps=0.5", "linear:k=1,c=0.05,eps=0.6,own=sample" };
	for (size_t i = 0; i < 3; i++) {
		run_spec o = r;
		o.ss = other[i];
		ck_assert_int_eq(train(&o, &c, dir_of("lin"), 12, true, NULL), SEQC_EINVAL);
		ck_assert_msg(strstr(seqc_errmsg(), "--scheduled-sampling linear:k=1,c=0.05,eps=0.6"),
			      "%s", seqc_errmsg());
	}
	assert_unchanged(&before, dir_of("lin"), "a refused resume");
	free_snapshot(&before);
	ck_assert_msg(train(&r, &c, dir_of("lin"), 12, true, NULL) == 0, "%s", seqc_errmsg());
	free_corpus(&c);
}
END_TEST

/* ---- refusals leave the folder alone ---- */

START_TEST(test_refusals)
{
	corpus c = words_corpus();
	run_spec r = { "refuse", SEQC_CELL_LSTM, 1, 16, 0.0f, 4, 8, 8, "adam:lr=0.01", "constant", 4, 0, false, NULL };
	const char *dir = dir_of("run");
	ck_assert_msg(train(&r, &c, dir, 8, false, NULL) == 0, "%s", seqc_errmsg());
	snapshot before = take_snapshot(dir);
	ck_assert_uint_eq(before.n, 6); /* last.prev.safetensors too: two saves */

	/* a new run into a folder that holds one */
	int rc = train(&r, &c, dir, 8, false, NULL);
	ck_assert_int_eq(rc, SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "--resume") && strstr(seqc_errmsg(), dir), "message: %s",
		      seqc_errmsg());
	assert_unchanged(&before, dir, "no resume");

	/* resume with another batch, then another bptt */
	run_spec other = r;
	other.batch = 2;
	rc = train(&other, &c, dir, 12, true, NULL);
	ck_assert_int_eq(rc, SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "--batch 4") && strstr(seqc_errmsg(), "given 2"), "message: %s",
		      seqc_errmsg());
	assert_unchanged(&before, dir, "other batch");
	other = r;
	other.k2 = 12;
	rc = train(&other, &c, dir, 12, true, NULL);
	ck_assert_int_eq(rc, SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "8:8") && strstr(seqc_errmsg(), "8:12"), "message: %s",
		      seqc_errmsg());
	assert_unchanged(&before, dir, "other bptt");

	/* resume with another model: hidden size, then cell */
	other = r;
	other.hidden = 12;
	rc = train(&other, &c, dir, 12, true, NULL);
	ck_assert_int_eq(rc, SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "configuration"), "message: %s", seqc_errmsg());
	assert_unchanged(&before, dir, "other hidden");
	other = r;
	other.cell = SEQC_CELL_GRU;
	ck_assert_int_eq(train(&other, &c, dir, 12, true, NULL), SEQC_EINVAL);
	assert_unchanged(&before, dir, "other cell");

	/* resume with another optimizer: its moments are not in the state */
	other = r;
	other.optim = "rmsprop:lr=0.01";
	rc = train(&other, &c, dir, 12, true, NULL);
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(seqc_errmsg(), "--optim"), "message: %s", seqc_errmsg());
	assert_unchanged(&before, dir, "other optimizer");

	/* a state file from another save than last.safetensors: continue to
	 * 12, then put the state of step 8 back. With last.prev.safetensors
	 * (step 8) that is a save cut off before its state: resume takes the
	 * previous model (tested in test_kill_between_files); without it,
	 * nothing matches the state */
	blob state = read_blob(dir_of("run/last.state.safetensors"));
	ck_assert_msg(train(&r, &c, dir, 12, true, NULL) == 0, "%s", seqc_errmsg());
	FILE *f = fopen(dir_of("run/last.state.safetensors"), "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(state.data, 1, state.len, f), state.len);
	fclose(f);
	unlink(dir_of("run/last.prev.safetensors"));
	snapshot mixed = take_snapshot(dir);
	rc = train(&r, &c, dir, 16, true, NULL);
	ck_assert_int_eq(rc, SEQC_EFORMAT);
	ck_assert_msg(strstr(seqc_errmsg(), "step 12") && strstr(seqc_errmsg(), "step 8"), "message: %s",
		      seqc_errmsg());
	assert_unchanged(&mixed, dir, "state of another step");
	free_snapshot(&mixed);

	/* the state file truncated at several lengths */
	const size_t cuts[] = { 0, 7, 100, state.len / 2, state.len - 1 };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		f = fopen(dir_of("run/last.state.safetensors"), "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(state.data, 1, cuts[i], f), cuts[i]);
		fclose(f);
		snapshot cut = take_snapshot(dir);
		rc = train(&r, &c, dir, 12, true, NULL);
		ck_assert_msg(rc == SEQC_EFORMAT || rc == SEQC_EIO, "state cut at %zu bytes: rc %d (%s)", cuts[i],
			      rc, seqc_errmsg());
		ck_assert_msg(strstr(seqc_errmsg(), "last.state.safetensors"), "message: %s", seqc_errmsg());
		assert_unchanged(&cut, dir, "truncated state");
		free_snapshot(&cut);
	}
	/* the state file gone */
	unlink(dir_of("run/last.state.safetensors"));
	snapshot gone = take_snapshot(dir);
	ck_assert_int_lt(train(&r, &c, dir, 12, true, NULL), 0);
	assert_unchanged(&gone, dir, "state missing");
	free_snapshot(&gone);

	/* resume into a folder with no run at all */
	ck_assert_int_lt(train(&r, &c, dir_of("empty"), 12, true, NULL), 0);
	ck_assert_msg(strstr(seqc_errmsg(), "last.safetensors"), "message: %s", seqc_errmsg());

	free(state.data);
	free_snapshot(&before);
	free_corpus(&c);
}
END_TEST

/* ---- stopping ---- */

START_TEST(test_early_stopping)
{
	corpus c = words_corpus();
	/* lr 0: the validation loss never changes after the first evaluation */
	run_spec r = { "patience", SEQC_CELL_LSTM, 1, 16, 0.0f, 4, 8, 8, "adam:lr=0", "constant", 2, 2, false, NULL };
	events ev = { .eval_step_ok = true };
	ck_assert_msg(train(&r, &c, dir_of("run"), 100, false, &ev) == 0, "%s", seqc_errmsg());
	ck_assert_str_eq(ev.reason, "early stopping");
	/* evaluations at 2 (the best), 4 and 6 (no better): stop at 6 */
	ck_assert_int_eq(ev.done_step, 6);
	ck_assert_int_eq(ev.evals, 3);
	blob log = read_blob(dir_of("run/log.jsonl"));
	ck_assert_ptr_nonnull(strstr(log.data, "\"reason\":\"early stopping\""));
	free(log.data);
	free_corpus(&c);
}
END_TEST

/* A time limit stops the run although evaluations come between (the limit
 * counts from the start of the run, not from the last evaluation). With no
 * step limit, a broken clock would train until the test times out. */
START_TEST(test_time_limit)
{
	corpus c = words_corpus();
	run_spec r = { "time", SEQC_CELL_GRU, 1, 16, 0.0f, 4, 8, 8, "adam", "constant", 1, 0, false, NULL };
	events ev = { .eval_step_ok = true };
	seqc_model *m = make_model(&r, seqc_tok_vocab_size(c.tok));
	seqc_train_config tc = make_config(&r, dir_of("run"), 0, false);
	tc.time_limit = 0.5;
	ck_assert_int_eq(seqc_train_lm(m, c.ids, c.split, c.ids + c.split, c.n - c.split,
				       seqc_tok_bos(c.tok), &tc, c.tok_json, on_event, &ev), 0);
	ck_assert_str_eq(ev.reason, "time");
	ck_assert_int_ge(ev.evals, 2);
	seqc_model_destroy(m);
	free_corpus(&c);
}
END_TEST

/* A learning rate that makes the run diverge: the trainer stops with
 * SEQC_ENONFINITE at the first non-finite loss (train or validation), and
 * the checkpoints of the last good save stay as they were. */
START_TEST(test_divergence)
{
	corpus c = words_corpus();
	run_spec r = { "diverge", SEQC_CELL_LSTM, 1, 16, 0.0f, 4, 8, 8, "adam:lr=0.01", "constant", 4, 0, false, NULL };
	const char *dir = dir_of("run");
	ck_assert_msg(train(&r, &c, dir, 4, false, NULL) == 0, "%s", seqc_errmsg());
	snapshot good = take_snapshot(dir);

	static const struct {
		int64_t eval_every;
	} cases[] = { { 100 }, { 1 } }; /* the train loss, then the validation loss first */
	for (size_t i = 0; i < 2; i++) {
		run_spec hot = r;
		hot.optim = "adam:lr=1e38";
		hot.eval_every = cases[i].eval_every;
		int rc = train(&hot, &c, dir, 40, true, NULL);
		ck_assert_msg(rc == SEQC_ENONFINITE, "eval every %lld: rc %d (%s)", (long long)cases[i].eval_every,
			      rc, seqc_errmsg());
		for (size_t k = 0; k < good.n; k++) {
			if (!strcmp(good.names[k], "log.jsonl"))
				continue;
			char path[512];
			snprintf(path, sizeof path, "%s/%s", dir, good.names[k]);
			blob now = read_blob(path);
			ck_assert_msg(now.len == good.files[k].len && !memcmp(now.data, good.files[k].data, now.len),
				      "eval every %lld: %s changed", (long long)cases[i].eval_every, good.names[k]);
			free(now.data);
		}
		/* the log stays valid JSON lines (no NaN written) */
		blob log = read_blob(dir_of("run/log.jsonl"));
		char *save;
		for (char *line = strtok_r(log.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			json_t *o = json_loads(line, 0, NULL);
			ck_assert_msg(json_is_object(o), "log line not JSON: %s", line);
			json_decref(o);
		}
		free(log.data);
	}
	/* and the last good checkpoint resumes normally */
	ck_assert_msg(train(&r, &c, dir, 8, true, NULL) == 0, "%s", seqc_errmsg());
	free_snapshot(&good);
	free_corpus(&c);
}
END_TEST


/* A non-finite loss or gradient injected at update 3 (poison_step): with
 * --on-nonfinite stop the run ends naming the step, the first non-finite
 * gradient's parameter and the last good checkpoint (which loads, at step
 * 2); with skip the batch is dropped, logged, and training goes on to its
 * end; past max_skips it stops. Without the checks, the NaN would reach
 * the parameters (the optimizer steps on it) and the run would "succeed". */
static int train_poisoned(const run_spec *r, const corpus *c, const char *dir, int64_t steps,
			  seqc_nonfinite_policy policy, int64_t max_skips, const char *param, events *ev)
{
	seqc_model *m = make_model(r, seqc_tok_vocab_size(c->tok));
	seqc_train_config tc = make_config(r, dir, steps, false);
	tc.overwrite = true;
	tc.on_nonfinite = policy;
	tc.max_skips = max_skips;
	tc.poison_step = 3;
	tc.poison_param = param;
	int rc = seqc_train_lm(m, c->ids, c->split, c->ids + c->split, c->n - c->split, seqc_tok_bos(c->tok),
			       &tc, c->tok_json, on_event, ev);
	seqc_model_destroy(m);
	return rc;
}

START_TEST(test_nonfinite)
{
	corpus c = words_corpus();
	run_spec r = { "poison", SEQC_CELL_LSTM, 1, 16, 0.0f, 4, 8, 8, "adam:lr=0.01", "constant", 2, 0, false, NULL };
	const char *dir = dir_of("poison");
	const char *params[] = { NULL, "rnn.weight_hh_l0" };
	for (size_t i = 0; i < 2; i++) {
		events ev = { 0 };
		int rc = train_poisoned(&r, &c, dir, 6, SEQC_NONFINITE_STOP, 10, params[i], &ev);
		const char *msg = seqc_errmsg();
		ck_assert_msg(rc == SEQC_ENONFINITE, "%s: rc %d (%s)", params[i] ? params[i] : "loss", rc, msg);
		ck_assert_msg(strstr(msg, "step 3") && strstr(msg, params[i] ? "gradient norm" : "the loss"),
			      "message: %s", msg);
		ck_assert_msg(strstr(msg, "last good checkpoint") && strstr(msg, "(step 2)"), "message: %s", msg);
		if (params[i])
			ck_assert_msg(strstr(msg, "rnn.weight_hh_l0[0]"), "message: %s", msg);
		seqc_model *m;
		int64_t step;
		ck_assert_msg(seqc_ckpt_load(dir_of("poison/last.safetensors"), &m, NULL, &step) == 0, "%s",
			      seqc_errmsg());
		ck_assert_int_eq(step, 2);
		for (size_t k = 0; k < m->params->numel; k++)
			ck_assert(isfinite(m->params->values[k]));
		seqc_model_destroy(m);
	}
	/* skip: the run reaches its end, one skip reported and logged, the
	 * parameters finite */
	events ev = { 0 };
	int rc = train_poisoned(&r, &c, dir, 6, SEQC_NONFINITE_SKIP, 10, params[1], &ev);
	ck_assert_msg(rc == 0, "skip: %s", seqc_errmsg());
	ck_assert_int_eq(ev.skips, 1);
	ck_assert_msg(strstr(ev.skip_msg, "step 3") && strstr(ev.skip_msg, "rnn.weight_hh_l0"), "%s", ev.skip_msg);
	ck_assert_int_eq(ev.done_step, 6);
	blob log = read_blob(dir_of("poison/log.jsonl"));
	ck_assert_msg(strstr(log.data, "\"event\":\"skip\""), "no skip event in the log");
	free(log.data);
	seqc_model *m;
	int64_t step;
	ck_assert(seqc_ckpt_load(dir_of("poison/last.safetensors"), &m, NULL, &step) == 0);
	ck_assert_int_eq(step, 6);
	for (size_t k = 0; k < m->params->numel; k++)
		ck_assert(isfinite(m->params->values[k]));
	seqc_model_destroy(m);
	/* no skips left: stop */
	memset(&ev, 0, sizeof ev);
	rc = train_poisoned(&r, &c, dir, 6, SEQC_NONFINITE_SKIP, 0, NULL, &ev);
	ck_assert_msg(rc == SEQC_ENONFINITE && strstr(seqc_errmsg(), "most skips"), "rc %d: %s", rc,
		      seqc_errmsg());
	free_corpus(&c);
}
END_TEST


/* A kill between the new model and its state (simulated: the state of
 * the save before, with last.prev.safetensors of that step, as a kill
 * after the model's rename leaves them): resume takes the previous model,
 * restores it as last.safetensors, and ends bit for bit where an
 * uninterrupted run ends. */
START_TEST(test_kill_between_files)
{
	corpus c = words_corpus();
	run_spec r = { "cut", SEQC_CELL_LSTM, 1, 16, 0.1f, 4, 8, 8, "adam:lr=0.01", "constant", 4, 0, false, NULL };
	ck_assert_msg(train(&r, &c, dir_of("straight"), 12, false, NULL) == 0, "%s", seqc_errmsg());
	const char *dir = dir_of("cut");
	ck_assert_msg(train(&r, &c, dir, 4, false, NULL) == 0, "%s", seqc_errmsg());
	blob state4 = read_blob(dir_of("cut/last.state.safetensors"));
	blob model4 = read_blob(dir_of("cut/last.safetensors"));
	ck_assert_msg(train(&r, &c, dir, 8, true, NULL) == 0, "%s", seqc_errmsg());
	/* now last = 8: the files of a save of step 8 cut off before its
	 * state, with the model of 4 stepped aside */
	const struct {
		const char *name;
		blob *b;
	} put[] = { { "cut/last.state.safetensors", &state4 }, { "cut/last.prev.safetensors", &model4 } };
	for (size_t i = 0; i < 2; i++) {
		FILE *f = fopen(dir_of(put[i].name), "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(put[i].b->data, 1, put[i].b->len, f), put[i].b->len);
		fclose(f);
	}
	/* and the temporary file the kill left mid-write (seqc_st_write's
	 * naming) goes at resume, while a file of the user's stays */
	static const char *const left[] = { "cut/last.safetensors.tmp.4242.0", "cut/notes.tmp.1" };
	for (size_t i = 0; i < 2; i++) {
		FILE *f = fopen(dir_of(left[i]), "wb");
		ck_assert_ptr_nonnull(f);
		fclose(f);
	}
	ck_assert_msg(train(&r, &c, dir, 12, true, NULL) == 0, "%s", seqc_errmsg());
	ck_assert_int_ne(access(dir_of(left[0]), F_OK), 0);
	ck_assert_int_eq(access(dir_of(left[1]), F_OK), 0);
	assert_same_tensors(dir_of("straight/last.safetensors"), dir_of("cut/last.safetensors"));
	assert_same_tensors(dir_of("straight/last.state.safetensors"), dir_of("cut/last.state.safetensors"));
	/* and with last.safetensors gone (a kill between the two renames) */
	ck_assert_msg(train(&r, &c, dir_of("gone"), 4, false, NULL) == 0, "%s", seqc_errmsg());
	ck_assert_int_eq(rename(dir_of("gone/last.safetensors"), dir_of("gone/last.prev.safetensors")), 0);
	ck_assert_msg(train(&r, &c, dir_of("gone"), 12, true, NULL) == 0, "%s", seqc_errmsg());
	assert_same_tensors(dir_of("straight/last.safetensors"), dir_of("gone/last.safetensors"));
	free(state4.data);
	free(model4.data);
	free_corpus(&c);
}
END_TEST

/* ---- evaluation against scoring ---- */

START_TEST(test_eval_matches_score)
{
	corpus c = words_corpus();
	static const seqc_cell_kind cells[] = { SEQC_CELL_LSTM, SEQC_CELL_GRU, SEQC_CELL_RNN_TANH };
	for (size_t k = 0; k < 3; k++) {
		run_spec r = { "eval", cells[k], 2, 16, 0.3f, 1, 8, 8, "adam", "constant", 0, 0, false, NULL };
		seqc_model *m = make_model(&r, seqc_tok_vocab_size(c.tok));
		size_t n = c.n;
		int32_t bos = seqc_tok_bos(c.tok);
		float *lp = malloc(n * sizeof *lp);
		ck_assert_int_eq(seqc_score(m, c.ids, n, bos, lp), 0);
		double sum = 0;
		for (size_t i = 0; i < n; i++)
			sum += lp[i];
		double loss;
		/* one chunk covering the text */
		ck_assert_int_eq(seqc_eval_lm(m, c.ids, n, bos, 1, n + 5, &loss), 0);
		ck_assert_msg(fabs(loss - (-sum / (double)n)) <= 1e-5 * fabs(loss), "%s: eval %.9g, score %.9g",
			      seqc_cell_name(cells[k]), loss, -sum / (double)n);
		/* several chunks, the state carried across them */
		ck_assert_int_eq(seqc_eval_lm(m, c.ids, n, bos, 1, 7, &loss), 0);
		ck_assert_msg(fabs(loss - (-sum / (double)n)) <= 1e-5 * fabs(loss), "%s chunks of 7: eval %.9g, score %.9g",
			      seqc_cell_name(cells[k]), loss, -sum / (double)n);
		free(lp);
		seqc_model_destroy(m);
	}
	double loss;
	run_spec r = { "eval", SEQC_CELL_LSTM, 1, 8, 0.0f, 1, 8, 8, "adam", "constant", 0, 0, false, NULL };
	seqc_model *m = make_model(&r, seqc_tok_vocab_size(c.tok));
	ck_assert_int_eq(seqc_eval_lm(m, c.ids, c.n, 2, 0, 8, &loss), SEQC_EINVAL);
	ck_assert_int_eq(seqc_eval_lm(m, c.ids, c.n, 2, 1, 0, &loss), SEQC_EINVAL);
	seqc_model_destroy(m);
	free_corpus(&c);
}
END_TEST

/* Configurations the trainer refuses before touching the folder. */
START_TEST(test_bad_config)
{
	corpus c = words_corpus();
	run_spec r = { "bad", SEQC_CELL_LSTM, 1, 8, 0.0f, 4, 8, 8, "adam", "constant", 0, 0, false, NULL };
	seqc_model *m = make_model(&r, seqc_tok_vocab_size(c.tok));
	const char *dir = dir_of("never");
	for (int k = 0; k < 7; k++) {
		seqc_train_config tc = make_config(&r, dir, 10, false);
		switch (k) {
		case 0: tc.batch = 0; break;
		case 1: tc.k1 = 0; break;
		case 2: tc.steps = 0; break; /* neither steps nor a time limit */
		case 3: tc.steps = -5; break;
		case 4: tc.out_dir = NULL; break;
		case 5: tc.ss.kind = (seqc_ss_kind)9; break;
		case 6: tc.batch = 1000; break; /* 360 tokens cannot make 1000 streams */
		}
		int rc = seqc_train_lm(m, c.ids, c.split, c.ids + c.split, c.n - c.split, seqc_tok_bos(c.tok), &tc,
				       c.tok_json, NULL, NULL);
		ck_assert_msg(rc == SEQC_EINVAL, "case %d: rc %d", k, rc);
		ck_assert_msg(strlen(seqc_errmsg()) > 0, "case %d: no message", k);
		ck_assert_msg(k == 6 || access(dir, F_OK) != 0, "case %d made the folder", k);
	}
	seqc_model_destroy(m);
	free_corpus(&c);
}
END_TEST

int main(void)
{
	if (!make_temp_dir("seqc-test-trainer", suite_root, sizeof suite_root)) {
		perror("test_trainer: cannot make a temporary folder");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("train_trainer");
	TCase *tc = tcase_create("trainer");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_exact_resume, 0, (int)(sizeof resume_cases / sizeof resume_cases[0]));
	tcase_add_test(tc, test_resume_off_schedule);
	tcase_add_test(tc, test_learns_abc);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_scheduled_sampling);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_early_stopping);
	tcase_add_test(tc, test_divergence);
	tcase_add_test(tc, test_nonfinite);
	tcase_add_test(tc, test_kill_between_files);
	tcase_add_test(tc, test_time_limit);
	tcase_add_test(tc, test_eval_matches_score);
	tcase_add_test(tc, test_bad_config);
	suite_add_tcase(s, tc);
	int rc = run_suite(s);
	remove_tree(suite_root);
	return rc;
}
