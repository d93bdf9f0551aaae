#include "train/trainer.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "seq/safetensors.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/plot.h"

seqc_train_config seqc_train_defaults(void)
{
	seqc_train_config c = {
		.batch = 32, .k1 = 64, .k2 = 64, .steps = 0, .time_limit = 0,
		.optim = seqc_optim_defaults(SEQC_OPT_ADAM), .sched = seqc_sched_defaults(SEQC_SCHED_CONSTANT),
		.ss = seqc_ss_defaults(),
		.clip_norm = 5.0f, .clip_value = 0.0f, .eval_every = 500, .eval_chunk = 256,
		.patience = 0, .log_every = 50, .seed = 1337, .out_dir = NULL, .resume = false,
		.on_nonfinite = SEQC_NONFINITE_STOP, .max_skips = 10,
	};
	c.optim.lr = 2e-3f;
	return c;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Recurrent models carry their state from one window to the next;
 * attention models (gpt) start every window afresh. */
static bool recurrent(const seqc_model *m)
{
	return m->rnnlm != NULL;
}

/* The carried state of a model for B rows: [L, B, H] h and c (none for
 * attention models). */
static size_t state_numel(const seqc_model *m, size_t B)
{
	return recurrent(m) ? m->rnnlm->c.layers * B * m->rnnlm->c.hidden : 0;
}

/* Scheduled sampling is on: teacher forcing keeps every path as it was. */
static bool scheduled(const seqc_train_config *c)
{
	return c->ss.kind != SEQC_SS_NONE;
}

seqc_train_memory seqc_train_estimate(const seqc_model *m, const seqc_train_config *c,
				      size_t n_train, size_t n_val)
{
	seqc_train_memory mem = { 0 };
	size_t n = m->params->numel * sizeof(float);
	mem.params = n;
	mem.grads = n;
	size_t buffers = c->optim.kind == SEQC_OPT_SGD ? (c->optim.momentum > 0)
			 : c->optim.kind == SEQC_OPT_RMSPROP ? 1 + (c->optim.momentum > 0) + c->optim.centered
			 : c->optim.kind == SEQC_OPT_ADAGRAD ? 1
							     : 2;
	mem.optim_state = buffers * n;
	size_t window = c->k1 > c->k2 ? c->k1 : c->k2;
	/* seq2seq: batch is a budget of padded positions; window the longest pair */
	size_t rows = seqc_model_is_s2s(m) ? (c->batch / window ? c->batch / window : 1) : c->batch;
	mem.activations = seqc_model_activation_bytes(m, rows, window);
	/* scheduled sampling keeps one more [B, T, V] of logits: gpt's first
	 * pass, or the rnnlm steps' logits beside their concatenation */
	if (scheduled(c))
		mem.activations += rows * window * m->vocab * sizeof(float);
	mem.data = (n_train + n_val + 2 * c->batch) * sizeof(int32_t);
	return mem;
}

/* ---- evaluation ---- */

/* One chunk of every stream, grad off, from and into the state h, c
 * ([L, B, H], c unused for non-LSTM). Adds the summed loss and count. */
static int lm_chunk(seqc_graph *g, seqc_model *m, const seqc_ids *in, const seqc_ids *tg,
		    float *h, float *c, size_t scored, bool keep_state, seqc_rng *rng,
		    seqc_tensor **loss_out)
{
	if (!recurrent(m))
		return seqc_model_loss(g, m, in, tg, rng, loss_out);
	seqc_rnnlm *r = m->rnnlm;
	size_t L = r->c.layers, B = in->shape[0], H = r->c.hidden;
	size_t ss[3] = { L, B, H };
	bool lstm = r->c.cell == SEQC_CELL_LSTM;
	seqc_tensor *h0 = seqc_graph_input(g, 3, ss, h);
	seqc_tensor *c0 = lstm ? seqc_graph_input(g, 3, ss, c) : NULL;
	seqc_tensor *loss, *hn, *cn;
	int rc = seqc_rnnlm_loss(g, r, in, tg, h0, c0, rng, &loss, &hn, &cn);
	if (rc < 0)
		return rc;
	if (keep_state) {
		memcpy(h, hn->val, L * B * H * sizeof(float));
		if (lstm)
			memcpy(c, cn->val, L * B * H * sizeof(float));
	}
	(void)scored;
	*loss_out = loss;
	return 0;
}

int seqc_eval_lm(seqc_model *m, const int32_t *ids, size_t n, int32_t bos, size_t B, size_t T,
		 double *loss)
{
	*loss = NAN;
	if (!B || !T)
		return seqc_error(SEQC_EINVAL, "eval: batch %zu and chunk %zu must be positive", B, T);
	if (n / B < 1)
		B = n ? n : 1;
	seqc_lm_streams s;
	int rc = seqc_lm_streams_init(&s, ids, n, B, bos);
	if (rc < 0)
		return rc;
	size_t ns = state_numel(m, B) + 1; /* + 1: never a zero-size allocation */
	float *h = calloc(ns, sizeof *h), *c = calloc(ns, sizeof *c);
	int32_t *in = malloc(B * T * sizeof *in), *tg = malloc(B * T * sizeof *tg);
	seqc_graph *g = seqc_graph_create(0);
	if (!h || !c || !in || !tg || !g) {
		rc = seqc_error(SEQC_ENOMEM, "eval: cannot allocate");
		goto done;
	}
	seqc_graph_set_grad(g, false);
	seqc_graph_set_training(g, false);
	double total = 0;
	size_t count = 0, positions = seqc_lm_positions(&s);
	for (size_t p = 0; p < positions; p += T) {
		size_t len = positions - p < T ? positions - p : T;
		size_t scored = seqc_lm_window(&s, p, len, p, in, tg);
		seqc_ids ids_in = seqc_ids_view2(in, B, len), ids_tg = seqc_ids_view2(tg, B, len);
		seqc_graph_reset(g);
		seqc_tensor *l;
		if ((rc = lm_chunk(g, m, &ids_in, &ids_tg, h, c, scored, true, NULL, &l)) < 0)
			goto done;
		total += (double)l->val[0] * (double)scored;
		count += scored;
	}
	*loss = count ? total / (double)count : NAN;
done:
	seqc_graph_destroy(g);
	free(h);
	free(c);
	free(in);
	free(tg);
	seqc_lm_streams_free(&s);
	return rc;
}

/* ---- the training state file ---- */

typedef struct run_state {
	int64_t step, epoch;
	size_t pos;        /* next position to score */
	size_t carry_pos;  /* position the carried state belongs to */
	seqc_rng dropout;
	seqc_rng data;     /* where attention models' windows fall */
	seqc_rng ss;       /* scheduled sampling's mixing draws */
	seqc_sched_state sched;
	double best_val;   /* best of every validation pass: model.safetensors */
	double stop_best;  /* best of the scheduled passes: early stopping counts from it, so
			      that the extra pass at the end of a run does not steer a resumed one */
	int64_t bad_evals;
	int64_t skips;     /* updates skipped for a non-finite loss or gradient */
	double elapsed;    /* seconds over all runs */
} run_state;

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static json_t *state_json(const run_state *s, const seqc_train_config *c, int64_t optim_steps)
{
	char rs[17], ri[17], ds[17], di[17];
	snprintf(rs, sizeof rs, "%016" PRIx64, s->dropout.state);
	snprintf(ri, sizeof ri, "%016" PRIx64, s->dropout.inc);
	snprintf(ds, sizeof ds, "%016" PRIx64, s->data.state);
	snprintf(di, sizeof di, "%016" PRIx64, s->data.inc);
	return json_pack("{s:i, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:{s:f, s:f, s:I, s:I, s:I}, "
			 "s:f, s:f, s:I, s:f, s:I, s:I, s:I}",
			 "version", 1, "step", (json_int_t)s->step, "epoch", (json_int_t)s->epoch, "pos",
			 (json_int_t)s->pos, "carry_pos", (json_int_t)s->carry_pos, "rng_state", rs,
			 "rng_inc", ri, "data_rng_state", ds, "data_rng_inc", di, "optim_steps", (json_int_t)optim_steps, "sched", "lr",
			 s->sched.lr, "best", isfinite(s->sched.best) ? s->sched.best : 1e300,
			 "num_bad", (json_int_t)s->sched.num_bad, "cooldown_left",
			 (json_int_t)s->sched.cooldown_left, "reports", (json_int_t)s->sched.reports,
			 "best_val", isfinite(s->best_val) ? s->best_val : 1e300, "stop_best",
			 isfinite(s->stop_best) ? s->stop_best : 1e300, "bad_evals",
			 (json_int_t)s->bad_evals, "elapsed", s->elapsed, "batch", (json_int_t)c->batch,
			 "k1", (json_int_t)c->k1, "k2", (json_int_t)c->k2);
}

static int set_hex(json_t *o, const char *key, uint64_t v)
{
	char hex[17];
	snprintf(hex, sizeof hex, "%016" PRIx64, v);
	return json_object_set_new(o, key, json_string(hex));
}

static int save_state(const char *path, const run_state *s, const seqc_train_config *c,
		      const seqc_optim *o, const seqc_model *m, const float *h, const float *cst)
{
	size_t n = seqc_optim_state_count(o);
	seqc_st_tensor t[16 + 2];
	char names[16][64];
	size_t count = 0;
	for (size_t i = 0; i < n && i < 16; i++) {
		snprintf(names[i], sizeof names[i], "optim.%s", seqc_optim_state_name(o, i));
		t[count++] = (seqc_st_tensor){ .name = names[i], .ndim = 1,
					       .shape = { seqc_optim_numel(o) }, .numel = seqc_optim_numel(o),
					       .data = (float *)seqc_optim_state_data(o, i) };
	}
	if (recurrent(m)) {
		size_t L = m->rnnlm->c.layers, B = c->batch, H = m->rnnlm->c.hidden;
		t[count++] = (seqc_st_tensor){ .name = "carry.h", .ndim = 3, .shape = { L, B, H },
					       .numel = L * B * H, .data = (float *)h };
		t[count++] = (seqc_st_tensor){ .name = "carry.c", .ndim = 3, .shape = { L, B, H },
					       .numel = L * B * H, .data = (float *)cst };
	}
	json_t *js = state_json(s, c, seqc_optim_steps(o));
	if (js && json_object_set_new(js, "skips", json_integer(s->skips)) < 0)
		json_decref(js), js = NULL;
	char spec[160];
	seqc_ss_format(&c->ss, spec, sizeof spec);
	if (js && scheduled(c) &&
	    (set_hex(js, "ss_rng_state", s->ss.state) < 0 || set_hex(js, "ss_rng_inc", s->ss.inc) < 0 ||
	     json_object_set_new(js, "ss", json_string(spec)) < 0))
		json_decref(js), js = NULL;
	char *text = js ? json_dumps(js, JSON_COMPACT) : NULL;
	json_decref(js);
	if (!text)
		return seqc_error(SEQC_ENOMEM, "train: cannot serialize the state");
	char step[32];
	snprintf(step, sizeof step, "%" PRId64, s->step);
	const char *keys[3] = { "seqc.format", "seqc.train_state", "seqc.step" };
	const char *values[3] = { "1", text, step };
	int rc = seqc_st_write(path, t, count, keys, values, 3);
	free(text);
	return rc;
}

static int get_int(json_t *o, const char *key, int64_t *out, const char *path)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return seqc_error(SEQC_EFORMAT, "%s: train state \"%s\" is missing or not a count", path, key);
	*out = json_integer_value(v);
	return 0;
}

static int get_real(json_t *o, const char *key, double *out, const char *path)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_number(v))
		return seqc_error(SEQC_EFORMAT, "%s: train state \"%s\" is missing or not a number", path, key);
	*out = json_number_value(v);
	if (*out >= 1e299)
		*out = INFINITY;
	return 0;
}

static int get_hex(json_t *o, const char *key, uint64_t *out, const char *path)
{
	const char *s = json_string_value(json_object_get(o, key));
	char *end;
	if (!s || strlen(s) != 16 || (errno = 0, *out = strtoull(s, &end, 16), errno || *end))
		return seqc_error(SEQC_EFORMAT, "%s: train state \"%s\" is not 16 hex digits", path, key);
	return 0;
}

/* The mixing RNG, and a check that the run goes on with the inputs it
 * was trained with (state files without "ss": teacher forcing). */
static int load_ss(json_t *js, run_state *s, const seqc_train_config *c, const char *path)
{
	char given[160];
	const char *saved = json_object_get(js, "ss") ? json_string_value(json_object_get(js, "ss")) : "none";
	if (!saved)
		return seqc_error(SEQC_EFORMAT, "%s: train state \"ss\" is not a string", path);
	seqc_ss_format(&c->ss, given, sizeof given);
	if (strcmp(saved, given))
		return seqc_error(SEQC_EINVAL, "%s: the run was trained with --scheduled-sampling %s; resume "
				  "it with the same (given %s)", path, saved, given);
	int rc = 0;
	if (json_object_get(js, "ss_rng_state") &&
	    ((rc = get_hex(js, "ss_rng_state", &s->ss.state, path)) < 0 ||
	     (rc = get_hex(js, "ss_rng_inc", &s->ss.inc, path)) < 0))
		return rc;
	return 0;
}

static int load_state(const char *path, run_state *s, const seqc_train_config *c, seqc_optim *o,
		      const seqc_model *m, float *h, float *cst)
{
	seqc_st *st;
	int rc = seqc_st_read(path, &st);
	if (rc < 0)
		return rc;
	json_error_t err;
	const char *text = seqc_st_meta(st, "seqc.train_state");
	json_t *js = text ? json_loads(text, 0, &err) : NULL;
	int64_t batch = 0, k1 = 0, k2 = 0, step = 0, epoch = 0, pos = 0, carry_pos = 0, optim_steps = 0;
	int64_t bad = 0, num_bad = 0, cool = 0, reports = 0;
	json_t *sched = json_object_get(js, "sched");
	if (!json_is_object(js) || !json_is_object(sched)) {
		rc = seqc_error(SEQC_EFORMAT, "%s: no valid seqc.train_state metadata", path);
		goto done;
	}
	if ((rc = get_int(js, "batch", &batch, path)) < 0 || (rc = get_int(js, "k1", &k1, path)) < 0 ||
	    (rc = get_int(js, "k2", &k2, path)) < 0 || (rc = get_int(js, "step", &step, path)) < 0 ||
	    (rc = get_int(js, "epoch", &epoch, path)) < 0 || (rc = get_int(js, "pos", &pos, path)) < 0 ||
	    (rc = get_int(js, "carry_pos", &carry_pos, path)) < 0 ||
	    (rc = get_int(js, "optim_steps", &optim_steps, path)) < 0 ||
	    (rc = get_int(js, "bad_evals", &bad, path)) < 0 ||
	    (rc = get_int(sched, "num_bad", &num_bad, path)) < 0 ||
	    (rc = get_int(sched, "cooldown_left", &cool, path)) < 0 ||
	    (rc = get_int(sched, "reports", &reports, path)) < 0 ||
	    (rc = get_real(js, "best_val", &s->best_val, path)) < 0 ||
	    (rc = get_real(js, "elapsed", &s->elapsed, path)) < 0 ||
	    (rc = get_real(sched, "lr", &s->sched.lr, path)) < 0 ||
	    (rc = get_real(sched, "best", &s->sched.best, path)) < 0 ||
	    (rc = get_hex(js, "rng_state", &s->dropout.state, path)) < 0 ||
	    (rc = get_hex(js, "rng_inc", &s->dropout.inc, path)) < 0)
		goto done;
	/* absent from state files written before they existed */
	if (json_object_get(js, "data_rng_state") &&
	    ((rc = get_hex(js, "data_rng_state", &s->data.state, path)) < 0 ||
	     (rc = get_hex(js, "data_rng_inc", &s->data.inc, path)) < 0))
		goto done;
	if ((rc = load_ss(js, s, c, path)) < 0)
		goto done;
	s->skips = 0;
	if (json_object_get(js, "skips") && (rc = get_int(js, "skips", &s->skips, path)) < 0)
		goto done;
	s->stop_best = s->best_val;
	if (json_object_get(js, "stop_best") && (rc = get_real(js, "stop_best", &s->stop_best, path)) < 0)
		goto done;
	if ((size_t)batch != c->batch || (size_t)k1 != c->k1 || (size_t)k2 != c->k2) {
		rc = seqc_error(SEQC_EINVAL,
				"%s: the run was trained with --batch %" PRId64 " --bptt %" PRId64 ":%" PRId64
				"; resume it with the same values (given %zu and %zu:%zu)",
				path, batch, k1, k2, c->batch, c->k1, c->k2);
		goto done;
	}
	s->step = step;
	s->epoch = epoch;
	s->pos = (size_t)pos;
	s->carry_pos = (size_t)carry_pos;
	s->bad_evals = bad;
	s->sched.num_bad = num_bad;
	s->sched.cooldown_left = cool;
	s->sched.reports = reports;
	for (size_t i = 0; i < seqc_optim_state_count(o); i++) {
		char name[64];
		snprintf(name, sizeof name, "optim.%s", seqc_optim_state_name(o, i));
		const seqc_st_tensor *t = seqc_st_find(st, name);
		if (!t || t->numel != seqc_optim_numel(o)) {
			rc = seqc_error(SEQC_EFORMAT, "%s: optimizer state \"%s\" is missing or of the wrong size "
					"(was the run trained with another --optim?)", path, name);
			goto done;
		}
		if ((rc = seqc_optim_set_state(o, seqc_optim_state_name(o, i), t->data, t->numel)) < 0)
			goto done;
	}
	if ((rc = seqc_optim_set_steps(o, optim_steps)) < 0)
		goto done;
	size_t ns = state_numel(m, c->batch);
	if (!recurrent(m))
		goto done;
	const seqc_st_tensor *th = seqc_st_find(st, "carry.h"), *tc = seqc_st_find(st, "carry.c");
	if (!th || !tc || th->numel != ns || tc->numel != ns) {
		rc = seqc_error(SEQC_EFORMAT, "%s: carried state missing or not [layers, batch, hidden]", path);
		goto done;
	}
	memcpy(h, th->data, ns * sizeof(float));
	memcpy(cst, tc->data, ns * sizeof(float));
done:
	json_decref(js);
	seqc_st_destroy(st);
	return rc;
}

int seqc_train_saved_run(const char *out_dir, size_t *batch, size_t *k1, size_t *k2,
			 seqc_ss_config *ss)
{
	char *path = path_in(out_dir, "last.state.safetensors");
	if (!path)
		return seqc_error(SEQC_ENOMEM, "train: cannot allocate a path");
	seqc_st *st;
	int rc = seqc_st_read_header(path, &st);
	if (rc < 0) {
		free(path);
		return rc;
	}
	const char *text = seqc_st_meta(st, "seqc.train_state");
	json_t *js = text ? json_loads(text, 0, NULL) : NULL;
	int64_t b = 0, a = 0, c = 0;
	/* state files without "ss" were trained with teacher forcing */
	const char *spec = json_object_get(js, "ss") ? json_string_value(json_object_get(js, "ss")) : "none";
	if (!json_is_object(js))
		rc = seqc_error(SEQC_EFORMAT, "%s: no valid seqc.train_state metadata", path);
	else if ((rc = get_int(js, "batch", &b, path)) == 0 && (rc = get_int(js, "k1", &a, path)) == 0)
		rc = get_int(js, "k2", &c, path);
	if (rc == 0 && (!spec || seqc_ss_parse(spec, ss) < 0))
		rc = seqc_error(SEQC_EFORMAT, "%s: train state \"ss\" is not a scheduled-sampling SPEC",
				path);
	if (rc == 0) {
		*batch = (size_t)b;
		*k1 = (size_t)a;
		*k2 = (size_t)c;
	}
	json_decref(js);
	seqc_st_destroy(st);
	free(path);
	return rc;
}

/* ---- training ---- */

typedef struct trainer {
	seqc_model *m;
	const seqc_train_config *c;
	seqc_lm_streams train;
	seqc_graph *g;
	seqc_optim *optim;
	seqc_sched *sched;
	run_state s;
	float *h, *cst;       /* carried state [L, B, H] */
	float *h_mid, *c_mid; /* state at the window split */
	int32_t *in, *tg;     /* [B, window] */
	FILE *log;
	char *path_best, *path_last, *path_prev, *path_state, *path_log, *path_svg;
	const char *tokenizer_json;
	const int32_t *val;   /* language models: the validation stream */
	size_t n_val;
	int32_t bos;
	int64_t saved_step;   /* of last.safetensors (-1: none yet) */
	char skip_msg[512];   /* the last skipped update, for the callback */
	bool poisoned;        /* testing: poison_step was applied */
	const seqc_s2s_data *s2s; /* sequence-to-sequence: the pairs */
	seqc_batches *batches;
	seqc_s2s_store store;
} trainer;

static int write_log(trainer *t, json_t *line)
{
	if (!line)
		return seqc_error(SEQC_ENOMEM, "train: cannot build a log line");
	char *s = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(8));
	json_decref(line);
	if (!s)
		return seqc_error(SEQC_ENOMEM, "train: cannot format a log line");
	int ok = fprintf(t->log, "%s\n", s) > 0 && fflush(t->log) == 0;
	free(s);
	return ok ? 0 : seqc_error(SEQC_EIO, "%s: cannot write: %s", t->path_log, strerror(errno));
}

/* One segment [start, start + len) scoring positions >= first_target, from
 * the graph state (h0, c0) [L, B, H] (NULL: the carried state as a detached
 * input). Returns the summed loss (graph scalar) and the final states. */
static int segment(trainer *t, size_t start, size_t len, size_t first_target, seqc_tensor *h0,
		   seqc_tensor *c0, seqc_tensor **sum, size_t *scored, seqc_tensor **hn,
		   seqc_tensor **cn)
{
	size_t B = t->c->batch;
	if (recurrent(t->m))
		*scored = seqc_lm_window(&t->train, start, len, first_target, t->in, t->tg);
	else
		*scored = seqc_lm_random_windows(&t->train, &t->s.data, len, t->in, t->tg);
	seqc_ids ids_in = seqc_ids_view2(t->in, B, len), ids_tg = seqc_ids_view2(t->tg, B, len);
	seqc_tensor *mean;
	int rc;
	const seqc_ss_config *mix = &t->c->ss;
	double p = seqc_ss_prob(mix, t->s.step);
	if (!recurrent(t->m)) {
		rc = scheduled(t->c) ? seqc_ss_gpt_loss(t->g, t->m->gpt, &ids_in, &ids_tg, &t->s.dropout, mix, p,
							&t->s.ss, NULL, &mean)
				     : seqc_model_loss(t->g, t->m, &ids_in, &ids_tg, &t->s.dropout, &mean);
		if (rc < 0)
			return rc;
		*sum = seqc_scale(t->g, mean, (float)*scored);
		return *sum ? 0 : seqc_errcode();
	}
	seqc_rnnlm *r = t->m->rnnlm;
	size_t L = r->c.layers, H = r->c.hidden;
	bool lstm = r->c.cell == SEQC_CELL_LSTM;
	size_t ss[3] = { L, B, H };
	if (!h0) {
		h0 = seqc_graph_input(t->g, 3, ss, t->h);
		c0 = lstm ? seqc_graph_input(t->g, 3, ss, t->cst) : NULL;
	}
	rc = scheduled(t->c) ? seqc_ss_rnnlm_loss(t->g, r, &ids_in, &ids_tg, h0, c0, &t->s.dropout, mix, p,
						  &t->s.ss, NULL, &mean, hn, cn)
			     : seqc_rnnlm_loss(t->g, r, &ids_in, &ids_tg, h0, c0, &t->s.dropout, &mean, hn, cn);
	if (rc < 0)
		return rc;
	*sum = seqc_scale(t->g, mean, (float)*scored);
	return *sum ? 0 : seqc_errcode();
}

static int apply_update(trainer *t, seqc_tensor *mean, double *loss, double *grad_norm);

/* The first parameter, in declaration order, with a NaN or Inf in block
 * (the store's values or grads), and the index of that element. */
static const seqc_param *first_nonfinite(const seqc_params *p, const float *block, size_t *at)
{
	for (size_t i = 0; i < p->count; i++) {
		const seqc_param *q = p->items[i];
		for (size_t j = 0; j < q->t.numel; j++)
			if (!isfinite(block[q->offset + j])) {
				*at = j;
				return q;
			}
	}
	return NULL;
}

/* A non-finite loss or gradient norm at the coming update: skipped (1)
 * within the limit of --on-nonfinite skip, else an error that says where
 * it first appeared and which checkpoint is the last good one. */
static int nonfinite(trainer *t, const char *what, double v, const float *block)
{
	size_t at = 0;
	const seqc_param *q = first_nonfinite(t->m->params, block, &at);
	char where[320] = "";
	if (q)
		snprintf(where, sizeof where, "; the first non-finite %s is %s[%zu]",
			 block == t->m->params->grads ? "gradient" : "parameter", q->name, at);
	int64_t step = t->s.step + 1;
	if (t->c->on_nonfinite == SEQC_NONFINITE_SKIP && t->s.skips < t->c->max_skips) {
		t->s.skips++;
		json_t *line = json_pack("{s:s, s:I, s:s, s:f, s:s, s:I}", "event", "skip", "step",
					 (json_int_t)step, "what", what, "value", 0.0, "parameter",
					 q ? q->name : "", "skips", (json_int_t)t->s.skips);
		if (line)
			json_object_set_new(line, "value", json_string(isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"));
		int rc = write_log(t, line);
		if (rc < 0)
			return rc;
		snprintf(t->skip_msg, sizeof t->skip_msg, "step %" PRId64 ": the %s is %g%s: batch skipped "
			 "(%" PRId64 " of at most %" PRId64 ")", step, what, v, where, t->s.skips,
			 t->c->max_skips);
		return 1;
	}
	const char *limit = t->c->on_nonfinite == SEQC_NONFINITE_SKIP ? " (after the most skips allowed)" : "";
	if (t->saved_step >= 0)
		return seqc_error(SEQC_ENONFINITE, "train: step %" PRId64 ": the %s is %g%s%s; stopped: "
				  "the last good checkpoint is %s (step %" PRId64 ")", step, what, v, where,
				  limit, t->path_last, t->saved_step);
	return seqc_error(SEQC_ENONFINITE, "train: step %" PRId64 ": the %s is %g%s%s; stopped before "
			  "any checkpoint was saved", step, what, v, where, limit);
}

/* One update. Returns the mean loss of the scored positions in *loss. */
static int update_lm(trainer *t, double *loss, double *grad_norm, size_t *scored_out)
{
	const seqc_train_config *c = t->c;
	size_t B = c->batch, positions = seqc_lm_positions(&t->train);
	if (t->s.pos >= positions) { /* new epoch: back to the start, zero state */
		t->s.epoch++;
		t->s.pos = t->s.carry_pos = 0;
		memset(t->h, 0, state_numel(t->m, B) * sizeof(float));
		memset(t->cst, 0, state_numel(t->m, B) * sizeof(float));
	}
	size_t p = t->s.pos, k1 = c->k1, k2 = c->k2;
	size_t end = p + k1 < positions ? p + k1 : positions;
	seqc_graph_reset(t->g);
	seqc_params_zero_grad(t->m->params);
	seqc_tensor *total = NULL, *hn, *cn;
	size_t scored = 0, n;
	bool lstm = recurrent(t->m) && t->m->rnnlm->c.cell == SEQC_CELL_LSTM;
	size_t ns = state_numel(t->m, B);
	int rc;
	if (!recurrent(t->m)) {
		/* B windows of k1 positions at random places, as nanoGPT; pos
		 * counts k1 a step only to mark epochs (as many tokens as the
		 * training data) */
		if ((rc = segment(t, p, k1, p, NULL, NULL, &total, &scored, &hn, &cn)) < 0)
			return rc;
		t->s.carry_pos = end;
	} else if (k2 >= k1) {
		/* [carry_pos, mid) then [mid, end); the next window starts at mid */
		size_t mid = end + k1 > k2 ? end + k1 - k2 : 0;
		if (mid < t->s.carry_pos)
			mid = t->s.carry_pos;
		if (mid > end)
			mid = end;
		seqc_tensor *h0 = NULL, *c0 = NULL;
		if (mid > t->s.carry_pos) {
			if ((rc = segment(t, t->s.carry_pos, mid - t->s.carry_pos, p, NULL, NULL, &total,
					  &n, &hn, &cn)) < 0)
				return rc;
			scored += n;
			h0 = hn;
			c0 = lstm ? cn : NULL;
			memcpy(t->h_mid, hn->val, ns * sizeof(float));
			if (lstm)
				memcpy(t->c_mid, cn->val, ns * sizeof(float));
		} else {
			memcpy(t->h_mid, t->h, ns * sizeof(float));
			memcpy(t->c_mid, t->cst, ns * sizeof(float));
		}
		if (end > mid) {
			seqc_tensor *part;
			if ((rc = segment(t, mid, end - mid, p, h0, c0, &part, &n, &hn, &cn)) < 0)
				return rc;
			scored += n;
			total = total ? seqc_add(t->g, total, part) : part;
		}
		memcpy(t->h, t->h_mid, ns * sizeof(float));
		memcpy(t->cst, t->c_mid, ns * sizeof(float));
		t->s.carry_pos = mid;
	} else {
		/* the first k1 - k2 positions without gradient, then k2 scored */
		size_t split = end > p + k2 ? end - k2 : p;
		if (split > p) {
			bool old = seqc_graph_set_grad(t->g, false);
			rc = segment(t, p, split - p, end, NULL, NULL, &total, &n, &hn, &cn);
			seqc_graph_set_grad(t->g, old);
			if (rc < 0)
				return rc;
		}
		seqc_tensor *h0 = split > p ? seqc_detach(t->g, hn) : NULL;
		seqc_tensor *c0 = split > p && lstm ? seqc_detach(t->g, cn) : NULL;
		if ((rc = segment(t, split, end - split, split, h0, c0, &total, &scored, &hn, &cn)) < 0)
			return rc;
		memcpy(t->h, hn->val, ns * sizeof(float));
		if (lstm)
			memcpy(t->cst, cn->val, ns * sizeof(float));
		t->s.carry_pos = end;
	}
	t->s.pos = end;
	*scored_out = scored;
	if (!scored)
		return seqc_error(SEQC_ESTATE, "train: an update scored no position");
	return apply_update(t, seqc_scale(t->g, total, 1.0f / (float)scored), loss, grad_norm);
}

/* Backward from the mean loss, clipping, the optimizer's step: every
 * task's update ends here. */
static int apply_update(trainer *t, seqc_tensor *mean, double *loss, double *grad_norm)
{
	const seqc_train_config *c = t->c;
	int rc;
	if (!mean)
		return seqc_errcode();
	/* testing: a non-finite value once, at this update */
	bool poison = c->poison_step && t->s.step + 1 == c->poison_step && !t->poisoned;
	t->poisoned |= poison;
	if (poison && !c->poison_param)
		mean->val[0] = NAN;
	*loss = mean->val[0];
	*grad_norm = NAN;
	if (!isfinite(*loss))
		return nonfinite(t, "loss", *loss, t->m->params->values);
	if ((rc = seqc_backward(t->g, mean)) < 0)
		return rc;
	if (poison && c->poison_param) {
		seqc_param *pp = seqc_params_find(t->m->params, c->poison_param);
		if (pp)
			t->m->params->grads[pp->offset] = NAN;
	}
	/* the norm before clipping: clipping a non-finite gradient would
	 * spread the NaN into every parameter */
	*grad_norm = seqc_grad_norm(t->m->params);
	if (!isfinite(*grad_norm))
		return nonfinite(t, "gradient norm", *grad_norm, t->m->params->grads);
	if (c->clip_norm > 0)
		seqc_clip_grad_norm(t->m->params, c->clip_norm);
	if (c->clip_value > 0 && (rc = seqc_clip_grad_value(t->m->params, c->clip_value)) < 0)
		return rc;
	float lr = seqc_sched_lr(t->sched, t->s.step);
	if ((rc = seqc_optim_step(t->optim, t->m->params, lr)) < 0)
		return rc;
	t->s.step++;
	return 0;
}

/* One update on the next batch of pairs. */
static int update_s2s(trainer *t, double *loss, double *grad_norm, size_t *scored)
{
	seqc_s2s_batch b;
	seqc_batch_info info;
	int rc = seqc_batches_next(t->batches, &t->store, &b, &info);
	if (rc < 0)
		return rc;
	t->s.epoch = (int64_t)info.epoch;
	*scored = info.tgt_tokens;
	seqc_graph_reset(t->g);
	seqc_params_zero_grad(t->m->params);
	seqc_tensor *mean;
	rc = scheduled(t->c) ? seqc_ss_s2s_loss(t->g, t->m, &b, &t->s.dropout, &t->c->ss,
						 seqc_ss_prob(&t->c->ss, t->s.step), &t->s.ss, NULL, &mean)
			     : seqc_model_s2s_loss(t->g, t->m, &b, &t->s.dropout, NULL, NULL, &mean);
	if (rc < 0)
		return rc;
	return apply_update(t, mean, loss, grad_norm);
}

static int save_last_files(trainer *t);

static int update(trainer *t, double *loss, double *grad_norm, size_t *scored)
{
	return t->s2s ? update_s2s(t, loss, grad_norm, scored) : update_lm(t, loss, grad_norm, scored);
}

static int save_last(trainer *t)
{
	int rc = save_last_files(t);
	if (rc == 0)
		t->saved_step = t->s.step;
	return rc;
}

static int save_last_files(trainer *t)
{
	if (t->s2s) { /* where the batches are: epoch, next batch, the epoch's stream */
		seqc_batches_state bs;
		seqc_batches_get_state(t->batches, &bs);
		t->s.epoch = (int64_t)bs.epoch;
		t->s.pos = (size_t)bs.next;
		t->s.data = bs.rng;
	}
	/* A kill at any moment must leave a model and a state of one step:
	 * the previous model steps aside (an atomic rename) before the new
	 * one takes its name, and the state comes last. Before the state is
	 * written, last.prev.safetensors matches the old state, and resume
	 * takes it (open_run). */
	if (rename(t->path_last, t->path_prev) < 0 && errno != ENOENT)
		return seqc_error(SEQC_EIO, "%s: cannot keep the previous checkpoint as %s: %s",
				  t->path_last, t->path_prev, strerror(errno));
	int rc = seqc_ckpt_save(t->path_last, t->m, t->tokenizer_json, t->s.step);
	if (rc == 0) {
		t->s.sched = seqc_sched_get_state(t->sched);
		rc = save_state(t->path_state, &t->s, t->c, t->optim, t->m, t->h, t->cst);
	}
	if (rc < 0) /* a failed save (a full disk): the previous pair stays whole */
		rename(t->path_prev, t->path_last);
	return rc;
}

/* The validation numbers of the task: the loss, and the metric that
 * picks the best model and feeds early stopping (lower is better: the
 * loss, or minus the caller's score). */
static int validate(trainer *t, double *vl, double *metric, double *score)
{
	*score = NAN;
	int rc;
	if (!t->s2s) {
		/* attention models see at most a window of context */
		size_t chunk = recurrent(t->m) ? t->c->eval_chunk : t->c->k1;
		rc = seqc_eval_lm(t->m, t->val, t->n_val, t->bos, t->c->batch, chunk, vl);
		*metric = *vl;
		return rc;
	}
	if ((rc = seqc_eval_s2s(t->m, t->s2s->valid, t->c->batch, vl)) < 0)
		return rc;
	*metric = *vl;
	if (!t->s2s->validate)
		return 0;
	if ((rc = t->s2s->validate(t->s2s->validate_ctx, t->m, score)) < 0)
		return rc;
	if (!isfinite(*score))
		return seqc_error(SEQC_ENONFINITE, "train: step %" PRId64 ": the validation %s is %g",
				  t->s.step, t->s2s->score_name, *score);
	*metric = -*score;
	return 0;
}

/* A validation pass; feed_schedule: a scheduled evaluation (reported to
 * the plateau schedule and to early stopping), not the one at the end. */
static int evaluate(trainer *t, bool feed_schedule, seqc_train_progress *pr)
{
	double vl, metric, score;
	int rc = validate(t, &vl, &metric, &score);
	if (rc < 0)
		return rc;
	/* a diverged model: stop before saving it or logging a number JSON
	 * cannot hold */
	if (!isfinite(vl))
		return seqc_error(SEQC_ENONFINITE, "train: step %" PRId64 ": the validation loss is %g",
				  t->s.step, vl);
	pr->step = t->s.step;
	pr->val_loss = vl;
	pr->improved = metric < t->s.best_val;
	if (pr->improved) {
		t->s.best_val = metric;
		if ((rc = seqc_ckpt_save(t->path_best, t->m, t->tokenizer_json, t->s.step)) < 0)
			return rc;
	}
	if (feed_schedule) {
		if (metric < t->s.stop_best) {
			t->s.stop_best = metric;
			t->s.bad_evals = 0;
		} else {
			t->s.bad_evals++;
		}
		seqc_sched_report(t->sched, metric);
	}
	bool scored = !isnan(score);
	pr->best_val_loss = scored ? NAN : t->s.best_val;
	pr->val_score = score;
	pr->best_val_score = scored ? -t->s.best_val : NAN;
	pr->score_name = scored ? t->s2s->score_name : NULL;
	json_t *line = json_pack("{s:s, s:I, s:f, s:f}", "event", "eval", "step", (json_int_t)t->s.step,
				 "val_loss", vl, "val_bits", vl / M_LN2);
	char key[64];
	if (line && scored) {
		snprintf(key, sizeof key, "best_%s", t->s2s->score_name);
		if (json_object_set_new(line, t->s2s->score_name, json_real(score)) < 0 ||
		    json_object_set_new(line, key, json_real(-t->s.best_val)) < 0)
			json_decref(line), line = NULL;
	} else if (line && json_object_set_new(line, "best_val_loss", json_real(t->s.best_val)) < 0) {
		json_decref(line), line = NULL;
	}
	return write_log(t, line);
}

static void trainer_free(trainer *t)
{
	seqc_batches_destroy(t->batches);
	seqc_s2s_store_free(&t->store);
	seqc_graph_destroy(t->g);
	seqc_optim_destroy(t->optim);
	seqc_sched_destroy(t->sched);
	seqc_lm_streams_free(&t->train);
	free(t->h);
	free(t->cst);
	free(t->h_mid);
	free(t->c_mid);
	free(t->in);
	free(t->tg);
	if (t->log)
		fclose(t->log);
	free(t->path_best);
	free(t->path_last);
	free(t->path_prev);
	free(t->path_state);
	free(t->path_log);
	free(t->path_svg);
}

static int check_config(const seqc_train_config *c)
{
	if (!c->batch || !c->k1 || !c->k2 || !c->eval_chunk || !c->log_every)
		return seqc_error(SEQC_EINVAL, "train: batch, bptt, eval chunk and log interval must be positive");
	if (c->k1 > 100000 || c->k2 > 100000 || c->batch > 100000)
		return seqc_error(SEQC_EINVAL, "train: batch %zu or bptt %zu:%zu is absurd", c->batch, c->k1,
				  c->k2);
	if (c->steps < 0 || c->eval_every < 0 || c->patience < 0 || !(c->time_limit >= 0) ||
	    !(c->clip_norm >= 0) || !(c->clip_value >= 0))
		return seqc_error(SEQC_EINVAL, "train: negative steps, intervals, time or clipping");
	if (!c->steps && !(c->time_limit > 0))
		return seqc_error(SEQC_EINVAL, "train: give a number of steps or a time limit");
	if (!c->out_dir)
		return seqc_error(SEQC_EINVAL, "train: no output folder");
	if ((c->on_nonfinite != SEQC_NONFINITE_STOP && c->on_nonfinite != SEQC_NONFINITE_SKIP) ||
	    c->max_skips < 0 || c->poison_step < 0)
		return seqc_error(SEQC_EINVAL, "train: bad non-finite policy, skip limit or poison step");
	return seqc_ss_check(&c->ss);
}

/* The saved model of the state's step: last.safetensors, or
 * last.prev.safetensors when a save was cut off between the two (then it
 * takes last's name again, so that the pair is whole for the next save). */
static int load_saved_model(trainer *t, seqc_model **saved)
{
	int64_t step = -1, prev_step = -1;
	int rc = seqc_ckpt_load(t->path_last, saved, NULL, &step);
	if (rc == 0 && step == t->s.step)
		return 0;
	if (rc == 0)
		seqc_model_destroy(*saved);
	char why[512];
	snprintf(why, sizeof why, "%s", rc < 0 ? seqc_errmsg() : "");
	if (seqc_ckpt_load(t->path_prev, saved, NULL, &prev_step) == 0) {
		if (prev_step == t->s.step) {
			if (rename(t->path_prev, t->path_last) < 0) {
				seqc_model_destroy(*saved);
				return seqc_error(SEQC_EIO, "%s: cannot restore it as %s: %s", t->path_prev,
						  t->path_last, strerror(errno));
			}
			return 0;
		}
		seqc_model_destroy(*saved);
	}
	if (rc < 0)
		return seqc_error(SEQC_EFORMAT, "%s: no checkpoint of the state's step %" PRId64 ": %s",
				  t->path_state, t->s.step, why);
	return seqc_error(SEQC_EFORMAT, "%s is at step %" PRId64 " but %s at step %" PRId64
			  ": they do not belong together", t->path_last, step, t->path_state, t->s.step);
}

/* The saved run's model configuration (last.safetensors, or the previous
 * one: both have it) against the one given. */
static int check_saved_config(trainer *t)
{
	seqc_model *saved;
	int rc = seqc_ckpt_load(t->path_last, &saved, NULL, NULL);
	if (rc < 0) {
		char why[512]; /* last's error, not prev's */
		snprintf(why, sizeof why, "%s", seqc_errmsg());
		if (seqc_ckpt_load(t->path_prev, &saved, NULL, NULL) < 0)
			return seqc_error(rc, "%s", why);
	}
	char *a = seqc_model_config_json(saved), *b = seqc_model_config_json(t->m);
	bool same = a && b && !strcmp(a, b);
	free(a);
	free(b);
	seqc_model_destroy(saved);
	return same ? 0 : seqc_error(SEQC_EINVAL, "%s: the saved model has another configuration than the "
				    "one given (arch, sizes): resume with the same flags", t->path_last);
}

/* Temporary files of saves that a kill cut off (seqc_st_write names them
 * FILE.tmp.PID.N beside FILE): only the trainer's own files, never others. */
static void remove_stale_temps(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	static const char *const ours[] = { "model.safetensors.tmp.", "last.safetensors.tmp.",
					    "last.state.safetensors.tmp." };
	struct dirent *e;
	while ((e = readdir(d)))
		for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
			if (!strncmp(e->d_name, ours[i], strlen(ours[i]))) {
				char *p = path_in(dir, e->d_name);
				if (p)
					unlink(p);
				free(p);
			}
	closedir(d);
}

/* What every run shares, once the task's buffers are in t: the output
 * folder, optimizer and schedule, resume or a fresh start, the log. */
static int open_run(trainer *t)
{
	const seqc_train_config *c = t->c;
	seqc_model *m = t->m;
	int rc;
	if (mkdir(c->out_dir, 0777) < 0 && errno != EEXIST)
		return seqc_error(SEQC_EIO, "%s: cannot create the folder: %s", c->out_dir, strerror(errno));
	t->saved_step = -1;
	t->path_best = path_in(c->out_dir, "model.safetensors");
	t->path_last = path_in(c->out_dir, "last.safetensors");
	t->path_prev = path_in(c->out_dir, "last.prev.safetensors");
	t->path_state = path_in(c->out_dir, "last.state.safetensors");
	t->path_log = path_in(c->out_dir, "log.jsonl");
	t->path_svg = path_in(c->out_dir, "loss.svg");
	t->g = seqc_graph_create(0);
	if (!t->path_best || !t->path_last || !t->path_prev || !t->path_state || !t->path_log ||
	    !t->path_svg || !t->g)
		return seqc_error(SEQC_ENOMEM, "train: cannot allocate");
	seqc_sched_config sc = c->sched;
	if (isnan(sc.base_lr))
		sc.base_lr = c->optim.lr;
	if (!(t->optim = seqc_optim_create(m->params, &c->optim)) || !(t->sched = seqc_sched_create(&sc)))
		return seqc_errcode();
	t->s.best_val = t->s.stop_best = INFINITY;
	seqc_rng_seed(&t->s.dropout, c->seed, SEQC_STREAM_DROPOUT);
	seqc_rng_seed(&t->s.data, c->seed, SEQC_STREAM_DATA);
	seqc_rng_seed(&t->s.ss, c->seed, SEQC_STREAM_SCHEDULED);
	struct stat sb;
	if (c->resume) {
		/* everything is checked before the caller's model is touched:
		 * the configuration, the state, then the model of its step */
		seqc_model *saved;
		if ((rc = check_saved_config(t)) < 0 ||
		    (rc = load_state(t->path_state, &t->s, c, t->optim, m, t->h, t->cst)) < 0 ||
		    (rc = load_saved_model(t, &saved)) < 0)
			return rc;
		memcpy(m->params->values, saved->params->values, m->params->numel * sizeof(float));
		t->saved_step = t->s.step;
		seqc_model_destroy(saved);
		if ((rc = seqc_sched_set_state(t->sched, &t->s.sched)) < 0)
			return rc;
	} else if (!c->overwrite && stat(t->path_last, &sb) == 0) {
		return seqc_error(SEQC_EINVAL, "%s already holds a training run (last.safetensors): use "
				  "--resume to continue it, --overwrite to start afresh, or another --out",
				  c->out_dir);
	}
	remove_stale_temps(c->out_dir);
	if (!(t->log = fopen(t->path_log, c->resume ? "a" : "w")))
		return seqc_error(SEQC_EIO, "%s: cannot open: %s", t->path_log, strerror(errno));
	return 0;
}

/* Updates until a stop (steps, time, early stopping), with logging,
 * validation and saving; then the final validation and save. */
static int run_loop(trainer *t, seqc_train_callback cb, void *ctx)
{
	const seqc_train_config *c = t->c;
	int rc;
	seqc_train_progress pr = { .steps = c->steps, .val_loss = NAN, .best_val_loss = t->s.best_val,
				   .val_score = NAN, .best_val_score = NAN };
	/* start: since the last fold of wall time into t->s.elapsed (at each
	 * evaluation); run_start: of this run, for the time limit */
	double start = now(), run_start = start, train_time = 0, loss_sum = 0;
	int64_t loss_count = 0, start_step = t->s.step;
	size_t tokens = 0;
	const char *stop = "steps";
	for (;;) {
		if (c->steps && t->s.step >= c->steps)
			break;
		if (c->time_limit > 0 && now() - run_start >= c->time_limit) {
			stop = "time";
			break;
		}
		double t0 = now(), loss = 0, gnorm = 0;
		size_t scored;
		if ((rc = update(t, &loss, &gnorm, &scored)) < 0)
			return rc;
		if (rc > 0) { /* skipped: no update happened */
			pr.event = SEQC_TRAIN_SKIP;
			pr.message = t->skip_msg;
			if (cb)
				cb(&pr, ctx);
			continue;
		}
		train_time += now() - t0;
		tokens += scored;
		loss_sum += loss;
		loss_count++;
		bool last = c->steps && t->s.step >= c->steps;
		if (t->s.step % c->log_every == 0 || last) {
			double elapsed = t->s.elapsed + (now() - start);
			double rate = (double)(t->s.step - start_step) / train_time;
			pr = (seqc_train_progress){
				.event = SEQC_TRAIN_STEP, .step = t->s.step, .steps = c->steps,
				.loss = loss_sum / (double)loss_count, .val_loss = pr.val_loss,
				.best_val_loss = t->s.best_val, .lr = seqc_sched_lr(t->sched, t->s.step - 1),
				.grad_norm = gnorm, .tokens_per_s = (double)tokens / train_time,
				.elapsed = elapsed, .epoch = t->s.epoch,
				.eta = c->steps ? (double)(c->steps - t->s.step) / rate
					: c->time_limit - (now() - run_start),
				.ss_prob = seqc_ss_prob(&c->ss, t->s.step - 1),
				.val_score = pr.val_score, .best_val_score = pr.best_val_score,
				.score_name = pr.score_name,
			};
			json_t *line = json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:I}", "event", "train",
						 "step", (json_int_t)t->s.step, "loss", pr.loss, "lr", pr.lr,
						 "grad_norm", gnorm, "tokens_per_s", pr.tokens_per_s,
						 "elapsed", elapsed, "epoch", (json_int_t)t->s.epoch);
			if (line && scheduled(c) && json_object_set_new(line, "ss_prob", json_real(pr.ss_prob)) < 0)
				json_decref(line), line = NULL;
			if ((rc = write_log(t, line)) < 0)
				return rc;
			if (cb)
				cb(&pr, ctx);
			loss_sum = 0;
			loss_count = 0;
		}
		if (c->eval_every && t->s.step % c->eval_every == 0) {
			pr.event = SEQC_TRAIN_EVAL;
			if ((rc = evaluate(t, true, &pr)) < 0)
				return rc;
			t->s.elapsed += now() - start;
			start = now();
			if ((rc = save_last(t)) < 0)
				return rc;
			seqc_plot_loss_svg(t->path_log, t->path_svg);
			if (cb)
				cb(&pr, ctx);
			if (c->patience && t->s.bad_evals >= c->patience) {
				stop = "early stopping";
				break;
			}
		}
	}
	/* the end: evaluate unless this step just was, save, plot */
	if (!(c->eval_every && t->s.step % c->eval_every == 0)) {
		pr.event = SEQC_TRAIN_EVAL;
		if ((rc = evaluate(t, false, &pr)) < 0)
			return rc;
		if (cb)
			cb(&pr, ctx);
	}
	t->s.elapsed += now() - start;
	if ((rc = save_last(t)) < 0)
		return rc;
	json_t *done = json_pack("{s:s, s:I, s:s, s:f}", "event", "done", "step",
				 (json_int_t)t->s.step, "reason", stop, "elapsed", t->s.elapsed);
	char key[64];
	snprintf(key, sizeof key, "best_%s", pr.score_name ? pr.score_name : "val_loss");
	if (done && json_object_set_new(done, key, json_real(pr.score_name ? -t->s.best_val
									    : t->s.best_val)) < 0)
		json_decref(done), done = NULL;
	if ((rc = write_log(t, done)) < 0)
		return rc;
	seqc_plot_loss_svg(t->path_log, t->path_svg);
	pr.event = SEQC_TRAIN_DONE;
	pr.step = t->s.step;
	pr.elapsed = t->s.elapsed;
	pr.stop_reason = stop;
	if (cb)
		cb(&pr, ctx);
	return 0;
}

int seqc_train_lm(seqc_model *m, const int32_t *train_ids, size_t n_train, const int32_t *val_ids,
		  size_t n_val, int32_t bos, const seqc_train_config *c, const char *tokenizer_json,
		  seqc_train_callback cb, void *ctx)
{
	trainer t = { .m = m, .c = c, .tokenizer_json = tokenizer_json, .val = val_ids,
		      .n_val = n_val, .bos = bos };
	int rc = check_config(c);
	if (rc < 0)
		return rc;
	if (!m->rnnlm && !m->gpt)
		return seqc_error(SEQC_EUNSUPPORTED, "train: arch %s is not a language model", m->arch);
	if (!recurrent(m) && c->k1 != c->k2)
		return seqc_error(SEQC_EINVAL, "train: a split bptt %zu:%zu is for recurrent models; "
				  "%s trains on windows of one length", c->k1, c->k2, m->arch);
	size_t B = c->batch, window = c->k1 > c->k2 ? c->k1 : c->k2, ns = state_numel(m, B) + 1;
	t.h = calloc(ns, sizeof(float));
	t.cst = calloc(ns, sizeof(float));
	t.h_mid = calloc(ns, sizeof(float));
	t.c_mid = calloc(ns, sizeof(float));
	t.in = malloc(B * window * sizeof(int32_t));
	t.tg = malloc(B * window * sizeof(int32_t));
	if (!t.h || !t.cst || !t.h_mid || !t.c_mid || !t.in || !t.tg) {
		rc = seqc_error(SEQC_ENOMEM, "train: cannot allocate");
		goto done;
	}
	if ((rc = seqc_lm_streams_init(&t.train, train_ids, n_train, B, bos)) < 0 ||
	    (rc = open_run(&t)) < 0)
		goto done;
	rc = run_loop(&t, cb, ctx);
done:
	trainer_free(&t);
	return rc;
}

/* ---- sequence-to-sequence ---- */

int seqc_eval_s2s(seqc_model *m, const seqc_pairs *p, size_t max_tokens, double *loss)
{
	*loss = NAN;
	seqc_batches *bt = seqc_batches_build(p, max_tokens, 0, SEQC_BATCHES_SORTED, NULL);
	seqc_graph *g = seqc_graph_create(0);
	int rc = bt && g ? 0 : seqc_errcode();
	if (rc < 0)
		goto done;
	seqc_graph_set_grad(g, false);
	seqc_graph_set_training(g, false);
	seqc_ce_opts ce = { .reduction = SEQC_REDUCE_SUM, .ignore_index = -1 };
	double total = 0;
	size_t count = 0;
	for (size_t i = 0; i < seqc_batches_count(bt); i++) {
		seqc_s2s_batch b;
		seqc_batch_info info;
		seqc_tensor *logits, *sum;
		seqc_graph_reset(g);
		if ((rc = seqc_batches_fill(bt, i, NULL, &b, &info)) < 0 ||
		    (rc = seqc_model_s2s_logits(g, m, &b, NULL, &logits)) < 0)
			goto done;
		seqc_ids tg = seqc_ids_view2((int32_t *)b.tgt_out, b.B, b.T);
		if (!(sum = seqc_cross_entropy(g, logits, &tg, &ce))) {
			rc = seqc_errcode();
			goto done;
		}
		total += sum->val[0];
		count += info.tgt_tokens;
	}
	*loss = count ? total / (double)count : NAN;
done:
	seqc_graph_destroy(g);
	seqc_batches_destroy(bt);
	return rc;
}

int seqc_train_s2s(seqc_model *m, const seqc_s2s_data *d, const seqc_train_config *c,
		   const char *tokenizer_json, seqc_train_callback cb, void *ctx)
{
	trainer t = { .m = m, .c = c, .tokenizer_json = tokenizer_json, .s2s = d };
	int rc = check_config(c);
	if (rc < 0)
		return rc;
	if (!seqc_model_is_s2s(m))
		return seqc_error(SEQC_EUNSUPPORTED, "train: arch %s is not a sequence-to-sequence model "
				  "(train it with seqc_train_lm)", m->arch);
	const seqc_pairs *tr = d->train, *va = d->valid;
	if (!tr || !va || !tr->has_target || !va->has_target || !tr->n || !va->n)
		return seqc_error(SEQC_EINVAL, "train: seq2seq training needs training and validation "
				  "pairs with targets");
	if (tr->src_vocab != m->src_vocab || tr->tgt_vocab != m->vocab || va->src_vocab != m->src_vocab ||
	    va->tgt_vocab != m->vocab)
		return seqc_error(SEQC_EINVAL, "train: the pairs' vocabularies (%zu -> %zu) are not the "
				  "model's (%zu -> %zu)", tr->src_vocab, tr->tgt_vocab, m->src_vocab,
				  m->vocab);
	if (d->validate && !d->score_name)
		return seqc_error(SEQC_EINVAL, "train: a validation score needs a name");
	seqc_rng data;
	seqc_rng_seed(&data, c->seed, SEQC_STREAM_DATA);
	t.batches = seqc_batches_build(tr, c->batch, d->max_sentences, SEQC_BATCHES_SHUFFLE, &data);
	if (!t.batches) {
		rc = seqc_errcode();
		goto done;
	}
	if ((rc = seqc_s2s_store_init(&t.store, t.batches)) < 0 || (rc = open_run(&t)) < 0)
		goto done;
	if (c->resume) {
		seqc_batches_state bs = { .epoch = (uint64_t)t.s.epoch, .next = t.s.pos, .rng = t.s.data };
		if ((rc = seqc_batches_set_state(t.batches, &bs)) < 0)
			goto done;
	}
	rc = run_loop(&t, cb, ctx);
done:
	trainer_free(&t);
	return rc;
}
