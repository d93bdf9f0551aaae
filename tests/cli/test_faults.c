/* Checkpoints under faults, through the seqc program ($SEQC_BIN, given by
 * meson): a tiny language-model run killed with SIGKILL at seeded random
 * moments and while a save is writing, many times, each kill followed by
 * the checks that the files on disk are a completed save and by --resume,
 * and at the end the same bits as an uninterrupted run; a file-size limit
 * below the checkpoint's size (EFBIG) and a full tmpfs (ENOSPC, its own
 * meson entry "faults_tmpfs", skipped with 77 where no tmpfs can be
 * mounted) make a save fail cleanly, keep the previous checkpoint and say
 * so; a NaN injected by --debug-poison names the step and the parameter.
 *
 * SEQC_FAULT_KILLS overrides the number of kills (30; 12 under
 * AddressSanitizer, where a run starts several times slower). */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static const char *seqc_bin;
/* The suite's folder (made and removed by main) and the current test's. */
static char suite_root[64];
static char tmp_root[96];

/* ---- files ---- */

/* tmp_root/name; valid for the rest of the test. */
#define POOL 64
static char path_pool[POOL][256];
static int path_used;
/* Where every run's stdout and stderr go. */
static char out_path[128], err_path[128];

static const char *tmp(const char *name)
{
	ck_assert_int_lt(path_used, POOL);
	char *p = path_pool[path_used++];
	snprintf(p, sizeof path_pool[0], "%s/%s", tmp_root, name);
	return p;
}

/* dir/name, from a ring of 16 (for the moment: a caller holds a few). */
static const char *path_in(const char *dir, const char *name)
{
	static char ring[16][256];
	static unsigned next;
	char buf[256];
	snprintf(buf, sizeof buf, "%s/%s", dir, name);
	char *p = ring[next++ % 16];
	memcpy(p, buf, sizeof buf);
	return p;
}

static blob must_read(const char *path)
{
	blob b = read_blob(path);
	ck_assert_msg(b.data != NULL, "%s: cannot open", path);
	return b;
}

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static size_t file_size(const char *path)
{
	struct stat sb;
	ck_assert_msg(stat(path, &sb) == 0, "%s: %s", path, strerror(errno));
	return (size_t)sb.st_size;
}

/* Files of dir whose name has ".tmp." (seqc_st_write's temporary files). */
static int count_temp_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strstr(e->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static void setup(void)
{
	snprintf(tmp_root, sizeof tmp_root, "%s/test-XXXXXX", suite_root);
	ck_assert_ptr_nonnull(mkdtemp(tmp_root));
	path_used = 0;
	snprintf(out_path, sizeof out_path, "%s/.stdout", tmp_root);
	snprintf(err_path, sizeof err_path, "%s/.stderr", tmp_root);
	char *text = word_text(3000, 1);
	FILE *f = fopen(tmp("small.txt"), "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	ck_assert_int_eq(fclose(f), 0);
	free(text);
}

static void teardown(void)
{
	remove_tree(tmp_root);
}

/* ---- running seqc ---- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Starts seqc with args (NULL-terminated), stdin /dev/null, stdout and
 * stderr into tmp_root/.stdout and .stderr; fsize: RLIMIT_FSIZE of the
 * child in bytes (0: unchanged). */
static pid_t start(const char *const *args, rlim_t fsize)
{
	char *argv[64];
	int argc = 0;
	argv[argc++] = (char *)seqc_bin;
	for (; *args; args++) {
		ck_assert_int_lt(argc, 63);
		argv[argc++] = (char *)*args;
	}
	argv[argc] = NULL;
	pid_t pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) { /* only async-signal-safe calls until exec */
		struct rlimit rl = { fsize, fsize };
		int in = open("/dev/null", O_RDONLY), o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644),
		    e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 ||
		    (fsize && setrlimit(RLIMIT_FSIZE, &rl) < 0))
			_exit(126);
		execv(seqc_bin, argv);
		_exit(127);
	}
	return pid;
}

typedef struct result {
	int code; /* exit code, or 128 + signal */
	blob err;
} result;

static result finish(pid_t pid)
{
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	result r = { .code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status) };
	r.err = must_read(err_path);
	/* under the sanitizers a report's exit code could pass for a refusal */
	static const char *const reports[] = { "AddressSanitizer", "LeakSanitizer", "runtime error:" };
	for (size_t i = 0; i < 3; i++)
		ck_assert_msg(!strstr(r.err.data, reports[i]), "sanitizer report:\n%s", r.err.data);
	return r;
}

static result run_limited(rlim_t fsize, const char *const *args)
{
	return finish(start(args, fsize));
}

#define RUN(...) run_limited(0, (const char *const[]){ __VA_ARGS__, NULL })
#define RUN_LIMITED(fsize, ...) run_limited(fsize, (const char *const[]){ __VA_ARGS__, NULL })

static void expect_code(result *r, int code, const char *what)
{
	ck_assert_msg(r->code == code, "%s: exit %d, expected %d\nstderr: %s", what, r->code, code, r->err.data);
	free(r->err.data);
	r->err.data = NULL;
}

static void expect_err(const result *r, const char *part)
{
	ck_assert_msg(strstr(r->err.data, part), "stderr lacks '%s':\n%s", part, r->err.data);
}

/* The flags of every run here: a save after every update, so that a kill
 * finds a save in progress often. */
#define TRAIN_FLAGS(dir, steps) \
	"train", "--data", tmp("small.txt"), "--out", dir, "--steps", steps, "--eval-every", "1", \
		"--log-every", "1"
#define FRESH_FLAGS "--hidden", "16", "--batch", "2", "--bptt", "8"

static void train_fresh(const char *dir, const char *steps)
{
	result r = RUN(TRAIN_FLAGS(dir, steps), FRESH_FLAGS);
	expect_code(&r, 0, "seqc train");
}

/* ---- checkpoints on disk ---- */

/* The step of a checkpoint that must load (seqc_ckpt_load). */
static int64_t ckpt_step(const char *path)
{
	seqc_model *m;
	int64_t step = -1;
	ck_assert_msg(seqc_ckpt_load(path, &m, NULL, &step) == 0, "%s does not load: %s", path, seqc_errmsg());
	seqc_model_destroy(m);
	return step;
}

/* The step of a train state file that must load. */
static int64_t state_step(const char *path)
{
	seqc_st *st;
	ck_assert_msg(seqc_st_read(path, &st) == 0, "%s does not load: %s", path, seqc_errmsg());
	const char *s = seqc_st_meta(st, "seqc.step");
	ck_assert_msg(s != NULL && seqc_st_meta(st, "seqc.train_state") != NULL, "%s: no step or state", path);
	int64_t step = strtoll(s, NULL, 10);
	seqc_st_destroy(st);
	return step;
}

static void assert_same_tensors(const char *pa, const char *pb)
{
	seqc_st *a, *b;
	ck_assert_msg(seqc_st_read(pa, &a) == 0, "%s: %s", pa, seqc_errmsg());
	ck_assert_msg(seqc_st_read(pb, &b) == 0, "%s: %s", pb, seqc_errmsg());
	ck_assert_uint_eq(seqc_st_count(a), seqc_st_count(b));
	for (size_t i = 0; i < seqc_st_count(a); i++) {
		const seqc_st_tensor *ta = seqc_st_tensor_at(a, i), *tb = seqc_st_find(b, ta->name);
		ck_assert_msg(tb != NULL, "%s has %s, %s not", pa, ta->name, pb);
		ck_assert_msg(ta->numel == tb->numel && ta->ndim == tb->ndim &&
				      !memcmp(ta->shape, tb->shape, sizeof ta->shape),
			      "%s: shapes differ", ta->name);
		size_t bad = ta->numel;
		for (size_t k = 0; k < ta->numel && bad == ta->numel; k++)
			if (memcmp(&ta->data[k], &tb->data[k], sizeof(float)))
				bad = k;
		ck_assert_msg(bad == ta->numel, "%s vs %s: tensor %s differs at %zu: %.9g vs %.9g", pa, pb, ta->name,
			      bad, (double)ta->data[bad], (double)tb->data[bad]);
	}
	const char *sa = seqc_st_meta(a, "seqc.step"), *sb = seqc_st_meta(b, "seqc.step");
	ck_assert_msg(sa && sb && !strcmp(sa, sb), "%s: seqc.step %s vs %s", pa, sa ? sa : "-", sb ? sb : "-");
	seqc_st_destroy(a);
	seqc_st_destroy(b);
}

/* The train state JSON of a state file without the wall-clock time. */
static json_t *train_state(const char *path)
{
	seqc_st *st;
	ck_assert_msg(seqc_st_read(path, &st) == 0, "%s: %s", path, seqc_errmsg());
	json_t *js = json_loads(seqc_st_meta(st, "seqc.train_state"), 0, NULL);
	ck_assert_msg(json_is_object(js), "%s: no train state", path);
	json_object_del(js, "elapsed");
	seqc_st_destroy(st);
	return js;
}

/* The files of two runs the same bit for bit (tensors and step), the
 * train states equal but for "elapsed". */
static void assert_same_run(const char *da, const char *db)
{
	static const char *const files[] = { "last.safetensors", "last.state.safetensors", "model.safetensors" };
	for (size_t i = 0; i < 3; i++)
		assert_same_tensors(path_in(da, files[i]), path_in(db, files[i]));
	json_t *ja = train_state(path_in(da, "last.state.safetensors"));
	json_t *jb = train_state(path_in(db, "last.state.safetensors"));
	char *sa = json_dumps(ja, JSON_SORT_KEYS | JSON_COMPACT), *sb = json_dumps(jb, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(json_equal(ja, jb), "train states differ:\n  %s\n  %s", sa, sb);
	free(sa);
	free(sb);
	json_decref(ja);
	json_decref(jb);
}

/* ---- SIGKILL at random moments ---- */

/* Where the kills landed, told by the files they left. */
typedef struct kill_stats {
	int kills, finished;    /* killed; ended on their own (exit 0) */
	int in_write;           /* a temporary file left: inside seqc_st_write */
	int between_renames;    /* last.safetensors gone, last.prev.safetensors the state's */
	int between_files;      /* last.safetensors one save ahead of the state */
	int resumes_checked;    /* of these, resumed at once for one step */
	int64_t max_step;       /* the furthest state seen */
} kill_stats;

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The files after a kill are a completed save: the state loads, and the
 * model of its step is last.safetensors, or last.prev.safetensors with
 * last one save ahead or gone (the trainer's save protocol: last steps
 * aside as prev, the new last is renamed in, then the state). Returns
 * whether the kill landed inside a save, and the state's step. */
static bool check_after_kill(const char *dir, int temps_before, kill_stats *ks, int64_t *step_out)
{
	const char *last = path_in(dir, "last.safetensors"), *prev = path_in(dir, "last.prev.safetensors");
	const char *state = path_in(dir, "last.state.safetensors"), *best = path_in(dir, "model.safetensors");
	int64_t s = state_step(state);
	bool in_save = false;
	if (exists(last)) {
		int64_t ls = ckpt_step(last);
		ck_assert_msg(ls == s || ls == s + 1, "last.safetensors at step %lld, the state at %lld", (long long)ls,
			      (long long)s);
		if (ls == s + 1) {
			int64_t ps = ckpt_step(prev);
			ck_assert_msg(ps == s, "last.safetensors ahead (%lld) of the state (%lld) but "
				      "last.prev.safetensors at %lld", (long long)ls, (long long)s, (long long)ps);
			ks->between_files++;
			in_save = true;
		}
	} else {
		int64_t ps = ckpt_step(prev);
		ck_assert_msg(ps == s, "no last.safetensors, and last.prev.safetensors at step %lld, the state at %lld",
			      (long long)ps, (long long)s);
		ks->between_renames++;
		in_save = true;
	}
	if (exists(best))
		ckpt_step(best);
	if (count_temp_files(dir) > temps_before) {
		ks->in_write++;
		in_save = true;
	}
	if (s > ks->max_step)
		ks->max_step = s;
	*step_out = s;
	return in_save;
}

/* Starts a resume of dir to steps and kills it: after delay seconds, or
 * (delay < 0) as soon as a new temporary file shows in dir (a save is
 * writing), within 5 s. Returns true when it ended on its own. */
static bool resume_and_kill(const char *dir, const char *steps, double delay)
{
	pid_t pid = start((const char *const[]){ TRAIN_FLAGS(dir, steps), "--resume", NULL }, 0);
	if (delay >= 0) {
		sleep_s(delay);
	} else {
		int before = count_temp_files(dir);
		for (double t0 = now(); now() - t0 < 5 && count_temp_files(dir) == before;) {
			siginfo_t si = { 0 }; /* WNOWAIT: an ended child stays to be waited for */
			if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
				break;
			sleep_s(1e-4);
		}
	}
	kill(pid, SIGKILL);
	result r = finish(pid);
	bool ended = r.code != 128 + SIGKILL;
	if (ended) /* it may reach the end before the kill; then it must have succeeded */
		expect_code(&r, 0, "a resumed run ended before its kill");
	free(r.err.data);
	return ended;
}

static int kill_count(void)
{
	const char *e = getenv("SEQC_FAULT_KILLS");
	if (e && *e)
		return atoi(e);
	return UNDER_ASAN ? 12 : 30;
}

/* A run of 40 steps killed again and again at seeded random moments
 * (uniform up to the time a fresh run takes to start and do two steps with
 * their saves, measured here, so that kills land in starts, steps and
 * saves on a fast disk or a slow one) and, every third time, as soon as a
 * save has its temporary file, each time followed by --resume: after each
 * kill the files on disk are a completed save; a resume from the files of
 * a kill inside a save goes on at once (the first few times); and at the
 * end the run equals an uninterrupted one bit for bit. */
START_TEST(test_kill_anytime)
{
	const char *ref = tmp("straight"), *dir = tmp("killed");
	train_fresh(ref, "40");
	double t0 = now();
	train_fresh(dir, "2");
	double span = now() - t0;
	if (span < 0.03)
		span = 0.03;
	uint64_t seed = 20240611;
	kill_stats ks = { .max_step = 2 };
	const int kills = kill_count();
	for (int i = 0; i < kills; i++) {
		int temps = count_temp_files(dir);
		double delay = i % 3 == 2 ? -1 : span * (double)(splitmix(&seed) >> 11) * 0x1p-53;
		if (resume_and_kill(dir, "40", delay))
			ks.finished++;
		else
			ks.kills++;
		int64_t s;
		if (check_after_kill(dir, temps, &ks, &s) && ks.resumes_checked < 4 && s < 40) {
			char steps[24];
			snprintf(steps, sizeof steps, "%lld", (long long)s + 1);
			result r = RUN(TRAIN_FLAGS(dir, steps), "--resume");
			expect_code(&r, 0, "a resume right after a kill inside a save");
			ck_assert_int_eq(ckpt_step(path_in(dir, "last.safetensors")), s + 1);
			ck_assert_int_eq(state_step(path_in(dir, "last.state.safetensors")), s + 1);
			ks.resumes_checked++;
		}
	}
	fprintf(stderr, "test_kill_anytime: %d kills (delays up to %.0f ms; %d inside a file's write, %d between "
		"the renames, %d between model and state), %d runs ended first, the furthest state at step "
		"%lld of 40\n", ks.kills, span * 1e3, ks.in_write, ks.between_renames, ks.between_files,
		ks.finished, (long long)ks.max_step);
	ck_assert_msg(ks.in_write + ks.between_renames + ks.between_files > 0, "no kill landed inside a save");
	ck_assert_msg(ks.max_step > 2, "the killed runs never got past their start");
	result r = RUN(TRAIN_FLAGS(dir, "40"), "--resume");
	expect_code(&r, 0, "the last resume");
	assert_same_run(ref, dir);
}
END_TEST

/* ---- a NaN ---- */

/* --debug-poison makes one update non-finite: --on-nonfinite stop names
 * the step, the parameter and the last good checkpoint, which loads;
 * skip:1 drops that batch with a warning and the run goes on. */
START_TEST(test_nonfinite)
{
	const char *dir = tmp("nan");
	result r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "10", "--eval-every", "2",
		       "--log-every", "1", FRESH_FLAGS, "--on-nonfinite", "stop", "--debug-poison",
		       "5:rnn.weight_hh_l1");
	expect_err(&r, "step 5: the gradient norm is nan");
	expect_err(&r, "the first non-finite gradient is rnn.weight_hh_l1[0]");
	expect_err(&r, "the last good checkpoint is ");
	expect_err(&r, "last.safetensors (step 4)");
	expect_code(&r, 1, "a NaN gradient with --on-nonfinite stop");
	ck_assert_int_eq(ckpt_step(path_in(dir, "last.safetensors")), 4);
	ck_assert_int_eq(state_step(path_in(dir, "last.state.safetensors")), 4);
	ckpt_step(path_in(dir, "model.safetensors"));

	dir = tmp("skip");
	r = RUN("train", "--data", tmp("small.txt"), "--out", dir, "--steps", "10", "--eval-every", "2",
		"--log-every", "1", FRESH_FLAGS, "--on-nonfinite", "skip:1", "--debug-poison", "5");
	expect_err(&r, "step 5: the loss is nan: batch skipped (1 of at most 1)");
	expect_code(&r, 0, "a NaN loss with --on-nonfinite skip:1");
	ck_assert_int_eq(ckpt_step(path_in(dir, "last.safetensors")), 10);
	blob log = must_read(path_in(dir, "log.jsonl"));
	ck_assert_msg(strstr(log.data, "\"event\":\"skip\",\"step\":5"), "log: %s", log.data);
	free(log.data);
}
END_TEST

/* ---- a full disk ---- */

typedef struct run_files {
	blob last, state, best;
} run_files;

static run_files read_run(const char *dir)
{
	return (run_files){ must_read(path_in(dir, "last.safetensors")),
			    must_read(path_in(dir, "last.state.safetensors")),
			    must_read(path_in(dir, "model.safetensors")) };
}

static void free_run(run_files *f)
{
	free(f->last.data);
	free(f->state.data);
	free(f->best.data);
}

static bool same_blob(blob a, blob b)
{
	return a.len == b.len && !memcmp(a.data, b.data, a.len);
}

/* After a failed save: the files are those of before (best too unless
 * with_best is false), they load, and no temporary file is left. */
static void assert_kept(const run_files *before, const char *dir, bool with_best, const char *what)
{
	run_files now = read_run(dir);
	ck_assert_msg(same_blob(now.last, before->last), "%s: last.safetensors changed", what);
	ck_assert_msg(same_blob(now.state, before->state), "%s: last.state.safetensors changed", what);
	ck_assert_msg(!with_best || same_blob(now.best, before->best), "%s: model.safetensors changed", what);
	free_run(&now);
	int64_t s = state_step(path_in(dir, "last.state.safetensors"));
	ck_assert_int_eq(ckpt_step(path_in(dir, "last.safetensors")), s);
	ckpt_step(path_in(dir, "model.safetensors"));
	ck_assert_msg(count_temp_files(dir) == 0, "%s: a temporary file was left in %s", what, dir);
}

/* RLIMIT_FSIZE below a checkpoint's size: the first save of a resumed run
 * fails with EFBIG (seqc ignores SIGXFSZ, which would kill it), exit 1
 * naming the file; the files stay as they were. Between the model's size
 * and the state's, the model is written but its state is not, and the
 * previous last.safetensors is put back. Without the limit the run then
 * goes on to the bits of an uninterrupted run. */
START_TEST(test_file_size_limit)
{
	const char *dir = tmp("run"), *ref = tmp("straight");
	train_fresh(dir, "3");
	run_files before = read_run(dir);
	size_t model = before.last.len, state = before.state.len;
	ck_assert_msg(file_size(path_in(dir, "log.jsonl")) < model / 2 && state > model + model / 2,
		      "sizes unfit for the test: log, model %zu, state %zu", model, state);

	result r = RUN_LIMITED(model / 2, TRAIN_FLAGS(dir, "6"), "--resume");
	expect_err(&r, strerror(EFBIG));
	expect_err(&r, dir);
	expect_err(&r, ".safetensors: cannot write the temporary file");
	expect_err(&r, "is unchanged");
	expect_code(&r, 1, "a file-size limit below the model's size");
	assert_kept(&before, dir, true, "limit below the model");

	r = RUN_LIMITED((model + state) / 2, TRAIN_FLAGS(dir, "6"), "--resume");
	expect_err(&r, "last.state.safetensors: cannot write the temporary file");
	expect_err(&r, strerror(EFBIG));
	expect_code(&r, 1, "a file-size limit between the model's size and the state's");
	assert_kept(&before, dir, false, "limit below the state");
	ck_assert_msg(!exists(path_in(dir, "last.prev.safetensors")), "last.prev.safetensors left after a failed save");

	r = RUN(TRAIN_FLAGS(dir, "6"), "--resume");
	expect_code(&r, 0, "the resume without a limit");
	train_fresh(ref, "6");
	assert_same_run(ref, dir);
	free_run(&before);
}
END_TEST

/* A mount namespace of this process's own, so that nobody else sees the
 * tmpfs and it goes with the process: as root, or through a user
 * namespace where those are allowed. -1 with errno otherwise. */
static int private_mounts(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	if (unshare(CLONE_NEWNS) < 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			return -1;
		char map[64];
		static const char *const files[] = { "/proc/self/setgroups", "/proc/self/uid_map", "/proc/self/gid_map" };
		for (int i = 0; i < 3; i++) {
			if (i == 0)
				snprintf(map, sizeof map, "deny");
			else
				snprintf(map, sizeof map, "0 %u 1", i == 1 ? (unsigned)uid : (unsigned)gid);
			int fd = open(files[i], O_WRONLY);
			ssize_t n = fd < 0 ? -1 : write(fd, map, strlen(map));
			if (fd >= 0)
				close(fd);
			if (n < 0 && i > 0)
				return -1;
		}
	}
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* A tmpfs of size bytes at dir (a private mount). */
static int mount_tmpfs(const char *dir, size_t size)
{
	char opts[64];
	snprintf(opts, sizeof opts, "size=%zu,mode=0700", size);
	return mount("tmpfs", dir, "tmpfs", 0, opts);
}

static void copy_file(const char *from, const char *to)
{
	blob b = must_read(from);
	FILE *f = fopen(to, "wb");
	ck_assert_msg(f != NULL, "%s: %s", to, strerror(errno));
	ck_assert_uint_eq(fwrite(b.data, 1, b.len, f), b.len);
	ck_assert_msg(fclose(f) == 0, "%s: %s", to, strerror(errno));
	free(b.data);
}

/* A run on a tmpfs with two pages to spare (less than a model): the
 * resumed run's first save fails with ENOSPC, exit 1 naming the file, and
 * the files stay as they were (main skips this test where no tmpfs can be
 * mounted). */
START_TEST(test_full_tmpfs)
{
	const char *src = tmp("run"), *mnt = tmp("mnt"), *dir = tmp("mnt/run");
	train_fresh(src, "3");
	static const char *const names[] = { "last.safetensors", "last.prev.safetensors", "last.state.safetensors",
					     "model.safetensors", "log.jsonl", "loss.svg" };
	size_t page = (size_t)sysconf(_SC_PAGESIZE), used = 0;
	for (size_t i = 0; i < 6; i++)
		used += (file_size(path_in(src, names[i])) + page - 1) / page * page;
	ck_assert_msg(private_mounts() == 0, "no private mount namespace: %s", strerror(errno));
	ck_assert_int_eq(mkdir(mnt, 0700), 0);
	ck_assert_msg(mount_tmpfs(mnt, used + 2 * page) == 0, "mount tmpfs: %s", strerror(errno));
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	for (size_t i = 0; i < 6; i++)
		copy_file(path_in(src, names[i]), path_in(dir, names[i]));
	run_files before = read_run(dir);

	result r = RUN(TRAIN_FLAGS(dir, "6"), "--resume");
	expect_err(&r, strerror(ENOSPC));
	expect_err(&r, dir);
	expect_err(&r, ".safetensors: cannot write the temporary file");
	expect_code(&r, 1, "a full tmpfs");
	assert_kept(&before, dir, true, "a full tmpfs");
	free_run(&before);
	ck_assert_int_eq(umount2(mnt, MNT_DETACH), 0);
}
END_TEST

/* Whether a tmpfs can be mounted here (in a child, which then ends). */
static bool can_mount_tmpfs(void)
{
	char dir[128];
	snprintf(dir, sizeof dir, "%s/probe", suite_root);
	if (mkdir(dir, 0700) < 0)
		return false;
	pid_t pid = fork();
	if (pid == 0)
		_exit(private_mounts() == 0 && mount_tmpfs(dir, 65536) == 0 ? 0 : 1);
	int status = 0;
	bool ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	rmdir(dir);
	return ok;
}

int main(int argc, char **argv)
{
	seqc_bin = getenv("SEQC_BIN");
	if (!seqc_bin || access(seqc_bin, X_OK) != 0) {
		fprintf(stderr, "test_faults: SEQC_BIN does not name the seqc program (run through meson test): skipped\n");
		return TEST_SKIP;
	}
	/* one thread per run: the steps are tiny, and on a busy machine a
	 * second thread's waits only make them slower */
	setenv("OMP_NUM_THREADS", "1", 0);
	bool tmpfs = argc > 1 && !strcmp(argv[1], "--tmpfs");
	if (!make_temp_dir("seqc-test-faults", suite_root, sizeof suite_root)) {
		perror("test_faults: cannot make a temporary folder");
		return EXIT_FAILURE;
	}
	if (tmpfs && !can_mount_tmpfs()) {
		fprintf(stderr, "test_faults --tmpfs: cannot mount a tmpfs (needs root, or user namespaces): skipped\n");
		remove_tree(suite_root);
		return TEST_SKIP;
	}
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("faults");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	if (tmpfs) {
		tcase_add_test(tc, test_full_tmpfs);
	} else {
		tcase_add_test(tc, test_kill_anytime);
		tcase_add_test(tc, test_nonfinite);
		tcase_add_test(tc, test_file_size_limit);
	}
	suite_add_tcase(s, tc);
	int rc = run_suite(s);
	remove_tree(suite_root);
	return rc;
}
