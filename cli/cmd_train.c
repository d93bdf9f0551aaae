/* seqc train: a language model (recurrent or GPT) on a text file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "models/gpt.h"
#include "tokenize/char.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/trainer.h"

static const char *const CMD = "seqc train";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seqc train --data FILE --out DIR [options]\n"
		"\n"
		"Trains a language model on FILE (UTF-8 text), by default with a character\n"
		"tokenizer built from FILE: the first 90%% of the tokens for training, the rest\n"
		"for validation. Writes DIR/model.safetensors (best by\n"
		"validation loss), DIR/last.safetensors with DIR/last.state.safetensors (to\n"
		"--resume), DIR/log.jsonl and DIR/loss.svg. Progress goes to stderr.\n"
		"\n"
		"model:\n"
		"  --arch rnn|rnn_relu|lstm|gru|gpt   recurrent cell, or a GPT decoder (lstm)\n"
		"  --layers L          recurrent layers (2) or transformer blocks (gpt: 4)\n"
		"  --hidden H          hidden size (256)\n"
		"  --embed E           embedding size (= hidden; gpt: the width, 128)\n"
		"  --dropout P         dropout on embeddings, between layers, before the head (0)\n"
		"gpt (nanoGPT's layout; its CPU recipe by default):\n"
		"  --heads H           attention heads, dividing --embed (4)\n"
		"  --context T         longest context, the training window (64)\n"
		"  --no-bias           no biases in linear layers and layer norms\n"
		"  --gelu tanh|exact   GELU form (tanh, as GPT-2)\n"
		"  (gpt defaults: --batch 12, --optim adamw:wd=0.1,beta2=0.99, --lr 1e-3, --clip 1)\n"
		"  --tie               tie the output layer to the embedding (needs embed = hidden)\n"
		"  --orthogonal        orthogonal recurrent weights\n"
		"  --forget-bias       LSTM forget-gate bias 1\n"
		"tokenizer:\n"
		"  --tokenizer SPEC    use this tokenizer instead of building one: gpt2:DIR,\n"
		"                      bpe:DIR, spm:FILE.model, char:FILE.json or a checkpoint\n"
		"  --norm none|nfc|nfkc  Unicode normalization (nfc)\n"
		"  --graphemes         one token per grapheme cluster instead of per code point\n"
		"  --max-vocab N       keep the N - 4 most frequent characters, others <unk> (no cap)\n"
		"  --replace-invalid   invalid UTF-8 becomes U+FFFD instead of an error\n"
		"training:\n"
		"  --steps N | --time MINUTES   stop after N updates or that much time (one is needed)\n"
		"  --batch B           parallel streams (32)\n"
		"  --bptt K1[:K2]      update every K1 steps, backpropagate K2 steps (64; K2 = K1)\n"
		"  --optim SPEC        sgd|adagrad|rmsprop|adam|adamw[:key=value,...] (adam)\n"
		"  --lr LR             learning rate (2e-3)\n"
		"  --schedule SPEC     constant|step|exp|cosine|plateau|invsqrt[:key=value,...] (constant)\n"
		"  --scheduled-sampling SPEC  feed the model's own token instead of the ground truth\n"
		"                      with probability 1 - p per token, p by step i: none (teacher\n"
		"                      forcing, the default), constant:p=P, linear:k=K,c=C[,eps=E]\n"
		"                      (max(eps, k - c i)), exp:k=K (k^i), inverse-sigmoid:k=K\n"
		"                      (k / (k + exp(i / k))); add ,own=sample to sample the own\n"
		"                      token instead of taking the argmax\n"
		"  --clip NORM         clip the gradient's global norm (5; 0 = off)\n"
		"  --clip-value V      clip each gradient element to [-V, V] (off)\n"
		"  --on-nonfinite P    a NaN or Inf loss or gradient: stop (keeping the last good\n"
		"                      checkpoint; the default) or skip[:N] the batch, N times at\n"
		"                      most in all (10)\n"
		"  --eval-every N      full validation pass every N updates (500)\n"
		"  --patience N        stop after N evaluations without improvement (off)\n"
		"  --split F           fraction of the text for training (0.9)\n"
		"  --log-every N       progress line every N updates (50)\n"
		"  --seed S            seed of the initial weights and dropout (1337)\n"
		"  --resume            continue the run in DIR (model, tokenizer, batch, bptt and\n"
		"                      scheduled sampling from DIR)\n"
		"  --overwrite         start a new run in DIR even if one is there (replacing it)\n"
		"\n"
		"example: seqc train --data input.txt --out run --arch lstm --layers 2 --hidden 512 \\\n"
		"           --dropout 0.25 --bptt 100 --batch 32 --time 20\n");
}


static void fmt_time(double s, char *buf, size_t n)
{
	if (!isfinite(s) || s < 0)
		snprintf(buf, n, "?");
	else if (s < 60)
		snprintf(buf, n, "%.0fs", s);
	else if (s < 3600)
		snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
	else
		snprintf(buf, n, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

void train_progress(const seqc_train_progress *p, void *vctx)
{
	train_progress_ctx *ctx = vctx;
	char eta[32], el[32], val[32] = "-", prob[32] = ""; /* prob: scheduled sampling's p */
	fmt_time(p->eta, eta, sizeof eta);
	fmt_time(p->elapsed, el, sizeof el);
	if (isfinite(p->val_loss))
		snprintf(val, sizeof val, "%.4f", p->val_loss);
	switch (p->event) {
	case SEQC_TRAIN_STEP:
		if (ctx->scheduled)
			snprintf(prob, sizeof prob, "  p %.3f", p->ss_prob);
		if (ctx->tty)
			fprintf(stderr, "\r\033[Kstep %lld%s%lld  loss %.4f  val %s  lr %.2e%s  %.0f tok/s  %s  ETA %s",
				(long long)p->step, p->steps ? "/" : "", (long long)p->steps, p->loss, val,
				p->lr, prob, p->tokens_per_s, el, eta);
		else
			fprintf(stderr, "step %lld  loss %.4f  lr %.3e  grad %.3f%s  %.0f tok/s  elapsed %s\n",
				(long long)p->step, p->loss, p->lr, p->grad_norm, prob, p->tokens_per_s, el);
		break;
	case SEQC_TRAIN_EVAL:
		if (p->score_name)
			snprintf(prob, sizeof prob, "  %s %.2f", p->score_name, p->val_score);
		fprintf(stderr, "%sstep %lld  validation loss %.4f (%.4f bits)%s%s\n", ctx->tty ? "\r\033[K" : "",
			(long long)p->step, p->val_loss, p->val_loss / M_LN2, prob,
			p->improved ? "  best so far, saved" : "");
		break;
	case SEQC_TRAIN_SKIP:
		fprintf(stderr, "%swarning: %s\n", ctx->tty ? "\r\033[K" : "", p->message);
		break;
	case SEQC_TRAIN_DONE:
		if (p->score_name)
			fprintf(stderr, "%sdone at step %lld (%s) after %s; best validation %s %.2f\n",
				ctx->tty ? "\r\033[K" : "", (long long)p->step, p->stop_reason, el,
				p->score_name, p->best_val_score);
		else
			fprintf(stderr, "%sdone at step %lld (%s) after %s; best validation loss %.4f\n",
				ctx->tty ? "\r\033[K" : "", (long long)p->step, p->stop_reason, el,
				p->best_val_loss);
		break;
	}
	fflush(stderr);
}

void train_flags_init(train_flags *f)
{
	*f = (train_flags){ .tc = seqc_train_defaults(), .optim = "adam", .sched = "constant",
			    .ss = "none", .clip = -1, .split = 0.9 };
}

int train_flag(args *a, train_flags *f)
{
	const char *v;
	long long n;
	double d;
	if (arg_is(a, "--steps", &v)) {
		if (parse_int(CMD, "--steps", v, 1, (long long)1 << 40, &n) < 0)
			return -1;
		f->tc.steps = n;
	} else if (arg_is(a, "--time", &v)) {
		if (parse_real(CMD, "--time", v, 1e-3, 1e6, &f->minutes) < 0)
			return -1;
		f->tc.time_limit = 60 * f->minutes;
	} else if (arg_is(a, "--batch", &v)) {
		if (parse_size(CMD, "--batch", v, 1, 100000, &f->tc.batch) < 0)
			return -1;
		f->batch_set = true;
	} else if (arg_is(a, "--bptt", &v)) {
		if (!v)
			return -1;
		char k1s[32];
		const char *colon = strchr(v, ':');
		size_t l = colon ? (size_t)(colon - v) : strlen(v);
		snprintf(k1s, sizeof k1s, "%.*s", (int)(l < 31 ? l : 31), v);
		if (parse_size(CMD, "--bptt (K1)", k1s, 1, 100000, &f->tc.k1) < 0 ||
		    (colon && parse_size(CMD, "--bptt (K2)", colon + 1, 1, 100000, &f->tc.k2) < 0))
			return -1;
		if (!colon)
			f->tc.k2 = f->tc.k1;
		f->bptt_set = true;
	} else if (arg_is(a, "--optim", &v)) {
		if (!(f->optim = v))
			return -1;
		f->optim_set = true;
	} else if (arg_is(a, "--lr", &v)) {
		if (parse_real(CMD, "--lr", v, 1e-12, 1e3, &f->lr) < 0)
			return -1;
	} else if (arg_is(a, "--schedule", &v)) {
		if (!(f->sched = v))
			return -1;
	} else if (arg_is(a, "--scheduled-sampling", &v)) {
		f->ss_set = true;
		if (!(f->ss = v))
			return -1;
	} else if (arg_is(a, "--clip", &v)) {
		if (parse_real(CMD, "--clip", v, 0, 1e9, &f->clip) < 0)
			return -1;
	} else if (arg_is(a, "--clip-value", &v)) {
		if (parse_real(CMD, "--clip-value", v, 0, 1e9, &d) < 0)
			return -1;
		f->tc.clip_value = (float)d;
	} else if (arg_is(a, "--eval-every", &v)) {
		if (parse_int(CMD, "--eval-every", v, 0, (long long)1 << 40, &n) < 0)
			return -1;
		f->tc.eval_every = n;
		f->eval_set = true;
	} else if (arg_is(a, "--patience", &v)) {
		if (parse_int(CMD, "--patience", v, 0, 1 << 20, &n) < 0)
			return -1;
		f->tc.patience = n;
	} else if (arg_is(a, "--split", &v)) {
		if (parse_real(CMD, "--split", v, 0.01, 0.99, &f->split) < 0)
			return -1;
	} else if (arg_is(a, "--log-every", &v)) {
		if (parse_int(CMD, "--log-every", v, 1, 1 << 30, &n) < 0)
			return -1;
		f->tc.log_every = n;
	} else if (arg_is(a, "--seed", &v)) {
		if (parse_int(CMD, "--seed", v, 0, INT64_MAX, &n) < 0)
			return -1;
		f->tc.seed = (uint64_t)n;
	} else if (arg_flag(a, "--resume")) {
		f->tc.resume = true;
	} else if (arg_flag(a, "--overwrite")) {
		f->tc.overwrite = true;
	} else if (arg_is(a, "--on-nonfinite", &v)) {
		if (!v)
			return -1;
		if (!strcmp(v, "stop")) {
			f->tc.on_nonfinite = SEQC_NONFINITE_STOP;
		} else if (!strncmp(v, "skip", 4) && (v[4] == '\0' || v[4] == ':')) {
			f->tc.on_nonfinite = SEQC_NONFINITE_SKIP;
			if (v[4] == ':' && parse_int(CMD, "--on-nonfinite skip:N", v + 5, 0, 1 << 30, &n) < 0)
				return -1;
			if (v[4] == ':')
				f->tc.max_skips = n;
		} else {
			fprintf(stderr, "%s: --on-nonfinite must be stop or skip[:N], got '%s'\n", CMD, v);
			return -1;
		}
	} else if (arg_is(a, "--debug-poison", &v)) {
		/* testing only: STEP or STEP:PARAM (see seqc_train_config) */
		if (!v)
			return -1;
		char num[32];
		const char *colon = strchr(v, ':');
		size_t l = colon ? (size_t)(colon - v) : strlen(v);
		snprintf(num, sizeof num, "%.*s", (int)(l < 31 ? l : 31), v);
		if (parse_int(CMD, "--debug-poison", num, 1, (long long)1 << 40, &n) < 0)
			return -1;
		f->tc.poison_step = n;
		f->tc.poison_param = colon ? colon + 1 : NULL;
	} else {
		return 1;
	}
	return 0;
}

int train_flags_finish(train_flags *f, const char *cmd, const char *out)
{
	if (f->clip >= 0)
		f->tc.clip_norm = (float)f->clip;
	if (seqc_optim_parse(f->optim, &f->tc.optim) < 0) {
		fprintf(stderr, "%s: --optim: %s\n", cmd, seqc_errmsg());
		return -1;
	}
	if (seqc_sched_parse(f->sched, &f->tc.sched) < 0) {
		fprintf(stderr, "%s: --schedule: %s\n", cmd, seqc_errmsg());
		return -1;
	}
	if (f->ss_set && seqc_ss_parse(f->ss, &f->tc.ss) < 0) {
		fprintf(stderr, "%s: --scheduled-sampling: %s\n", cmd, seqc_errmsg());
		return -1;
	}
	if (!strstr(f->optim, "lr="))
		f->tc.optim.lr = (float)f->lr;
	f->tc.out_dir = out;
	return 0;
}

int cmd_train(int argc, char **argv)
{
	const char *data = NULL, *out = NULL, *arch = NULL;
	const char *norm = "nfc", *tok_spec = NULL;
	size_t layers = 0, hidden = 256, embed = 0, max_vocab = 0, heads = 4, context = 64;
	double dropout = 0;
	bool tie = false, orth = false, forget = false, graphemes = false, replace = false;
	bool arch_flags = false, char_flags = false, bias = true;
	seqc_gelu_kind gelu = SEQC_GELU_TANH;
	train_flags f;
	train_flags_init(&f);
	int fr;
	if (is_s2s_run(argc, argv))
		return cmd_train_s2s(argc, argv);
	args a = { argc, argv, 0, CMD };
	for (a.i = 0; a.i < argc; a.i++) {
		const char *v;
		if (arg_flag(&a, "--help") || arg_flag(&a, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (arg_is(&a, "--data", &v)) {
			if (!(data = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--out", &v)) {
			if (!(out = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--arch", &v)) {
			if (!v)
				return EXIT_USAGE;
			if (strcmp(v, "gpt") && seqc_cell_parse(v) < 0) {
				fprintf(stderr, "%s: --arch must be rnn, rnn_relu, lstm, gru or gpt, got '%s'\n",
					CMD, v);
				return EXIT_USAGE;
			}
			arch = v;
			arch_flags = true;
		} else if (arg_is(&a, "--layers", &v)) {
			if (parse_size(CMD, "--layers", v, 1, SEQC_GPT_MAX_LAYERS, &layers) < 0)
				return EXIT_USAGE;
			arch_flags = true;
		} else if (arg_is(&a, "--hidden", &v)) {
			if (parse_size(CMD, "--hidden", v, 1, 1 << 16, &hidden) < 0)
				return EXIT_USAGE;
			arch_flags = true;
		} else if (arg_is(&a, "--embed", &v)) {
			if (parse_size(CMD, "--embed", v, 1, 1 << 16, &embed) < 0)
				return EXIT_USAGE;
			arch_flags = true;
		} else if (arg_is(&a, "--dropout", &v)) {
			if (parse_real(CMD, "--dropout", v, 0, 0.99, &dropout) < 0)
				return EXIT_USAGE;
			arch_flags = true;
		} else if (arg_is(&a, "--heads", &v)) {
			if (parse_size(CMD, "--heads", v, 1, 1 << 12, &heads) < 0)
				return EXIT_USAGE;
			arch_flags = true;
		} else if (arg_is(&a, "--context", &v)) {
			if (parse_size(CMD, "--context", v, 1, 1 << 20, &context) < 0)
				return EXIT_USAGE;
			arch_flags = true;
		} else if (arg_flag(&a, "--no-bias")) {
			bias = false;
			arch_flags = true;
		} else if (arg_is(&a, "--gelu", &v)) {
			if (!v)
				return EXIT_USAGE;
			if (strcmp(v, "tanh") && strcmp(v, "exact")) {
				fprintf(stderr, "%s: --gelu must be tanh or exact, got '%s'\n", CMD, v);
				return EXIT_USAGE;
			}
			gelu = strcmp(v, "tanh") ? SEQC_GELU_EXACT : SEQC_GELU_TANH;
			arch_flags = true;
		} else if (arg_is(&a, "--tokenizer", &v)) {
			if (!(tok_spec = v))
				return EXIT_USAGE;
			arch_flags = true;
		} else if (arg_flag(&a, "--tie")) {
			tie = arch_flags = true;
		} else if (arg_flag(&a, "--orthogonal")) {
			orth = arch_flags = true;
		} else if (arg_flag(&a, "--forget-bias")) {
			forget = arch_flags = true;
		} else if (arg_is(&a, "--norm", &v)) {
			if (!v)
				return EXIT_USAGE;
			seqc_norm nm;
			if (seqc_norm_from_name(v, &nm) < 0) {
				fprintf(stderr, "%s: --norm must be none, nfc or nfkc, got '%s'\n", CMD, v);
				return EXIT_USAGE;
			}
			norm = v;
			arch_flags = char_flags = true;
		} else if (arg_flag(&a, "--graphemes")) {
			graphemes = arch_flags = char_flags = true;
		} else if (arg_is(&a, "--max-vocab", &v)) {
			if (parse_size(CMD, "--max-vocab", v, 5, 1 << 22, &max_vocab) < 0)
				return EXIT_USAGE;
			arch_flags = char_flags = true;
		} else if (arg_flag(&a, "--replace-invalid")) {
			replace = arch_flags = true;
		} else if ((fr = train_flag(&a, &f)) <= 0) {
			if (fr < 0)
				return EXIT_USAGE;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see seqc train --help)\n", CMD, argv[a.i]);
			return EXIT_USAGE;
		}
	}
	if (!data || !out) {
		fprintf(stderr, "%s: --data FILE and --out DIR are required (see seqc train --help)\n", CMD);
		return EXIT_USAGE;
	}
	if (!f.tc.steps && !(f.tc.time_limit > 0)) {
		fprintf(stderr, "%s: give --steps N or --time MINUTES\n", CMD);
		return EXIT_USAGE;
	}
	if (f.tc.resume && f.tc.overwrite) {
		fprintf(stderr, "%s: --resume and --overwrite exclude each other\n", CMD);
		return EXIT_USAGE;
	}
	if (f.tc.resume && arch_flags) {
		fprintf(stderr, "%s: --resume takes the model and tokenizer from %s: drop the model and "
				"tokenizer flags\n", CMD, out);
		return EXIT_USAGE;
	}
	if (tok_spec && char_flags) {
		fprintf(stderr, "%s: --norm, --graphemes and --max-vocab shape the character tokenizer "
				"built from --data: drop them with --tokenizer\n", CMD);
		return EXIT_USAGE;
	}
	char *text = NULL;
	size_t len;
	seqc_tok *tok = NULL;
	seqc_model *m = NULL;
	int32_t *ids = NULL;
	int rc = EXIT_FAIL;
	if (f.tc.resume) {
		/* the model decides the defaults of the flags below */
		if (load_run_checkpoint(CMD, out, &m, &tok) < 0)
			goto done;
		/* the run's own batch and bptt unless the flags say otherwise (the
		 * trainer refuses a mismatch) */
		size_t b, k1, k2;
		seqc_ss_config saved_ss;
		if (seqc_train_saved_run(out, &b, &k1, &k2, &saved_ss) < 0) {
			fail(CMD);
			goto done;
		}
		if (!f.ss_set)
			f.tc.ss = saved_ss;
		if (!f.batch_set)
			f.tc.batch = b;
		if (!f.bptt_set) {
			f.tc.k1 = k1;
			f.tc.k2 = k2;
		}
		f.batch_set = f.bptt_set = true;
	}
	bool gpt = m ? m->gpt != NULL : arch && !strcmp(arch, "gpt");
	if (m && m->gpt)
		context = m->gpt->c.context;
	if (gpt) {
		/* nanoGPT's CPU recipe for Tiny Shakespeare where no flag says otherwise */
		if (!f.optim_set)
			f.optim = "adamw:wd=0.1,beta2=0.99";
		if (!f.lr)
			f.lr = 1e-3;
		if (f.clip < 0)
			f.clip = 1;
		if (!f.batch_set)
			f.tc.batch = 12;
		if (f.bptt_set && (f.tc.k1 != f.tc.k2 || f.tc.k1 > context)) {
			fprintf(stderr, "%s: --arch gpt trains on windows of --context tokens: --bptt %zu%s is "
					"not one length of at most %zu\n", CMD, f.tc.k1,
					f.tc.k1 != f.tc.k2 ? ":K2" : "", context);
			rc = EXIT_USAGE;
			goto done;
		}
		if (!f.bptt_set)
			f.tc.k1 = f.tc.k2 = context;
		if (!layers)
			layers = 4;
		if (!embed)
			embed = 128;
	} else if (layers > SEQC_RNN_MAX_LAYERS) {
		fprintf(stderr, "%s: --layers needs an integer in [1, %d] for recurrent models, got %zu\n",
			CMD, SEQC_RNN_MAX_LAYERS, layers);
		rc = EXIT_USAGE;
		goto done;
	}
	if (!layers)
		layers = 2;
	if (!f.lr)
		f.lr = 2e-3;
	if (train_flags_finish(&f, CMD, out) < 0) {
		rc = EXIT_USAGE;
		goto done;
	}

	rc = EXIT_FAIL;
	if (read_all(CMD, data, &text, &len) < 0)
		goto done;
	if (len == 0) {
		fprintf(stderr, "%s: %s is empty: nothing to train on\n", CMD, data);
		goto done;
	}
	/* a resumed run has its model and tokenizer already */
	if (!tok && tok_spec) {
		if (!(tok = seqc_tok_open(tok_spec))) {
			fail(CMD);
			goto done;
		}
		if (replace && replace_invalid(CMD, &text, &len) < 0)
			goto done;
	} else if (!tok) {
		seqc_char_opts co = seqc_char_defaults();
		seqc_norm_from_name(norm, &co.norm);
		co.graphemes = graphemes;
		co.max_vocab = max_vocab;
		co.replace_invalid = replace;
		if (!(tok = seqc_tok_char_build(text, len, &co))) {
			seqc_error_wrap("%s", data);
			fail(CMD);
			goto done;
		}
	}
	if (seqc_tok_start(tok) < 0) {
		fprintf(stderr, "%s: %s: the tokenizer has neither a bos nor an eos token to start the "
				"streams from\n", CMD, tok_spec ? tok_spec : data);
		goto done;
	}
	size_t n;
	if (seqc_tok_encode(tok, text, len, &ids, &n) < 0) {
		seqc_error_wrap("%s", data);
		fail(CMD);
		goto done;
	}
	size_t cut;
	if (seqc_lm_split(n, f.split, &cut) < 0) {
		seqc_error_wrap("%s", data);
		fail(CMD);
		goto done;
	}
	if (!m && gpt) {
		seqc_gpt_config gc = seqc_gpt_config_defaults();
		gc.vocab = seqc_tok_vocab_size(tok);
		gc.context = context;
		gc.layers = layers;
		gc.heads = heads;
		gc.embed = embed;
		gc.dropout = (float)dropout;
		gc.bias = bias;
		gc.gelu = gelu;
		seqc_rng rng;
		seqc_rng_seed(&rng, f.tc.seed, SEQC_STREAM_INIT);
		char *cj = seqc_gpt_config_to_json(&gc);
		m = cj ? seqc_model_from_config(cj, &rng) : NULL;
		free(cj);
		if (!m) {
			fail(CMD);
			goto done;
		}
	} else if (!m) {
		seqc_rnnlm_config mc = {
			.cell = (seqc_cell_kind)seqc_cell_parse(arch ? arch : "lstm"),
			.vocab = seqc_tok_vocab_size(tok), .embed = embed ? embed : hidden,
			.hidden = hidden, .layers = layers, .dropout = (float)dropout, .tie = tie,
			.orthogonal_hh = orth, .forget_bias_one = forget,
		};
		seqc_rng rng;
		seqc_rng_seed(&rng, f.tc.seed, SEQC_STREAM_INIT);
		if (!(m = seqc_model_wrap_rnnlm(seqc_rnnlm_create(&mc, &rng)))) {
			fail(CMD);
			goto done;
		}
	}
	char *tok_json = seqc_tok_to_json(tok);
	char *cfg = seqc_model_config_json(m);
	seqc_train_memory mem = seqc_train_estimate(m, &f.tc, cut, n - cut);
	double mib = 1.0 / (1 << 20);
	fprintf(stderr, "seqc train: %s: %zu bytes, %zu tokens (%zu train, %zu validation), vocabulary %zu\n",
		data, len, n, cut, n - cut, seqc_tok_vocab_size(tok));
	fprintf(stderr, "model: %s, %zu parameters\n", cfg ? cfg : "?", m->params->numel);
	fprintf(stderr, "memory estimate: parameters %.1f MiB, gradients %.1f MiB, optimizer state %.1f MiB, "
			"activations %.1f MiB, data %.1f MiB: about %.0f MiB\n",
		mem.params * mib, mem.grads * mib, mem.optim_state * mib, mem.activations * mib, mem.data * mib,
		(mem.params + mem.grads + mem.optim_state + mem.activations + mem.data) * mib);
	free(cfg);
	train_progress_ctx pc = { .tty = isatty(2), .scheduled = f.tc.ss.kind != SEQC_SS_NONE, .steps = f.tc.steps };
	int r = tok_json ? seqc_train_lm(m, ids, cut, ids + cut, n - cut, seqc_tok_start(tok), &f.tc, tok_json,
					 train_progress, &pc)
			 : -1;
	free(tok_json);
	if (r < 0) {
		if (pc.tty)
			fputc('\n', stderr);
		fail(CMD);
		goto done;
	}
	rc = EXIT_OK;
done:
	free(ids);
	free(text);
	seqc_tok_destroy(tok);
	seqc_model_destroy(m);
	return rc;
}
