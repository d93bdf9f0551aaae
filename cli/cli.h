/* Shared pieces of the seqc program: strict flag parsing (a bad value is
 * rejected with exit code 2, never clamped), whole-file reading, and
 * loading a checkpoint with its tokenizer. */
#ifndef SEQC_CLI_CLI_H
#define SEQC_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seq/seqc.h"
#include "tokenize/tokenizer.h"
#include "train/trainer.h"

/* Exit codes. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Walks argv: for "--name VALUE" and "--name=VALUE" forms. */
typedef struct args {
	int argc;
	char **argv;
	int i;
	const char *cmd; /* for messages: "seqc train" */
} args;

/* True when argv[i] is --name (with or without =VALUE); then *value is the
 * value (the next argument, or after '='), or NULL when missing. Advances. */
bool arg_is(args *a, const char *name, const char **value);
/* A flag without a value. */
bool arg_flag(args *a, const char *name);

/* Strict number parsing: the whole string, in [lo, hi]; prints
 * "seqc train: --hidden needs an integer in [1, 65536], got 'x'" and
 * returns -1 otherwise. */
int parse_int(const char *cmd, const char *flag, const char *s, long long lo, long long hi,
	      long long *out);
int parse_size(const char *cmd, const char *flag, const char *s, size_t lo, size_t hi, size_t *out);
int parse_real(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out);

/* --lenpen none | avg:ALPHA | gnmt:ALPHA into b; -1 (printed) otherwise. */
struct seqc_beam_config;
int parse_lenpen(const char *cmd, const char *v, struct seqc_beam_config *b);

/* Reads a whole file ("-" is stdin) into a new buffer (NUL-terminated
 * beyond *len). Returns 0, or prints "seqc score: FILE: reason" and
 * returns -1. */
int read_all(const char *cmd, const char *path, char **buf, size_t *len);

/* Replaces invalid UTF-8 in *text (a buffer of read_all) by U+FFFD, in a
 * new buffer; prints the error and returns -1 when out of memory. */
int replace_invalid(const char *cmd, char **text, size_t *len);

/* Prints o (which it takes and frees; NULL from a failed json_pack is
 * SEQC_ENOMEM) as one line with jansson's dump flags. */
int print_json_line(json_t *o, size_t flags);

/* The line of text[0..len) at *start: true with its end (the newline's
 * offset, or len) in *end; false when *start is at the end. The caller
 * moves on with *start = *end + 1, so a final newline makes no empty
 * last line. */
bool next_line(const char *text, size_t len, size_t *start, size_t *end);

/* Loads a checkpoint and its tokenizer; prints the error and returns -1.
 * path "hf:FILE" is a Hugging Face GPT-2 safetensors file (heads from the
 * config.json beside it). tok_spec (NULL: the checkpoint's own) names
 * another tokenizer, as seqc_tok_open; it must have the model's vocabulary
 * size. */
struct seqc_model;
int load_checkpoint(const char *cmd, const char *path, const char *tok_spec, struct seqc_model **m,
		    seqc_tok **tok);

/* The checkpoint of the run in dir that --resume continues:
 * dir/last.safetensors, or dir/last.prev.safetensors when last is missing
 * (a save killed between its two renames; the trainer then restores it as
 * last). Prints the error (naming last.safetensors when neither is there)
 * and returns -1. */
int load_run_checkpoint(const char *cmd, const char *dir, struct seqc_model **m, seqc_tok **tok);

/* Prints "CMD: message" from seqc_errmsg() and returns EXIT_FAIL. */
int fail(const char *cmd);

/* The flags every training command shares (cmd_train.c): --steps,
 * --time, --batch, --bptt, --optim, --lr, --schedule,
 * --scheduled-sampling, --clip, --clip-value, --eval-every, --patience,
 * --log-every, --seed, --resume, --overwrite (and --split for language
 * models). */
typedef struct train_flags {
	seqc_train_config tc;
	const char *optim, *sched, *ss; /* specs */
	double lr, clip, minutes;       /* lr 0, clip -1: the command's default */
	double split;                   /* language models: the training fraction (0.9) */
	bool optim_set, batch_set, bptt_set, ss_set, eval_set; /* the flag was given */
} train_flags;
void train_flags_init(train_flags *f);
/* 0: argv[a->i] was one of them (consumed); 1: it is not; -1: a bad value
 * (printed). */
int train_flag(args *a, train_flags *f);
/* Parses the specs into f->tc (after the command set its defaults); -1 on a
 * bad spec (printed). */
int train_flags_finish(train_flags *f, const char *cmd, const char *out);

/* The progress report of training on stderr (a live line on a terminal). */
typedef struct train_progress_ctx {
	bool tty;
	bool scheduled; /* scheduled sampling: show p */
	int64_t steps;
} train_progress_ctx;
void train_progress(const seqc_train_progress *p, void *ctx);

/* A seq2seq run: --src among the flags (cmd_train_s2s.c). */
bool is_s2s_run(int argc, char **argv);

int cmd_train(int argc, char **argv);
int cmd_train_s2s(int argc, char **argv);
int cmd_translate(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_bleu(int argc, char **argv);

#endif
