/* seqc train --src FILE --tgt FILE: a sequence-to-sequence translation
 * model (s2s-transformer or s2s-rnn) on two line-aligned files. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "decode/bleu.h"
#include "decode/translate.h"
#include "tokenize/spm.h"
#include "train/pairs.h"

static const char *const CMD = "seqc train";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seqc train --src FILE --tgt FILE --valid-src FILE --valid-tgt FILE --out DIR\n"
		"                  [--arch s2s-transformer|s2s-rnn] [options]\n"
		"\n"
		"Trains a translation model on line-aligned files (line i of --src translates to\n"
		"line i of --tgt). Pairs with a side over --max-len tokens, or an empty side, are\n"
		"skipped and counted. Every --eval-every updates: the validation loss and the BLEU\n"
		"of beam search on the validation pairs; DIR/model.safetensors keeps the best by\n"
		"BLEU. DIR/last.safetensors and DIR/last.state.safetensors let --resume continue\n"
		"bit for bit (give the same files again).\n"
		"\n"
		"tokenizer (one joint vocabulary for both sides):\n"
		"  --tokenizer SPEC    an existing one: spm:FILE.model, bpe:DIR, gpt2:DIR, char:FILE\n"
		"  --joint-spm-vocab N train a joint SentencePiece unigram model of about N pieces\n"
		"                      on both training files (8000; the default tokenizer);\n"
		"                      written to DIR/spm.model\n"
		"model:\n"
		"  --arch A            s2s-transformer (default) or s2s-rnn\n"
		"  --layers L          encoder and decoder layers (transformer 3, rnn 2)\n"
		"  --enc-layers L, --dec-layers L   each side on its own\n"
		"  --embed E           transformer width d_model (256); rnn embedding size (256)\n"
		"  --dropout P         (transformer 0.1, rnn 0.3)\n"
		"  --label-smoothing E (0.1)\n"
		"  --max-len N         longest pair side in tokens, eos included (100)\n"
		"  --no-tie            a separate output layer instead of the target embedding\n"
		"transformer:\n"
		"  --heads H (4)  --ff N (1024)  --norm-first (pre-norm)  --gelu\n"
		"rnn (Luong-style attention with input feeding, OpenNMT-py's semantics):\n"
		"  --cell gru|lstm (gru)  --hidden H (256)  --attention dot|general|mlp|none (mlp,\n"
		"  i.e. Bahdanau's additive score)  --no-input-feed  --no-bridge  --unidirectional\n"
		"training (and the flags of seqc train --help: --steps/--time, --optim, --lr,\n"
		"--schedule, --scheduled-sampling, --clip, --eval-every, --patience, --seed, ...):\n"
		"  --max-tokens N      padded positions per batch, B x max(S, T) (4096)\n"
		"  --max-sentences N   rows per batch (no limit)\n"
		"  --valid-beam K      beam size of the validation BLEU (4)\n"
		"  --valid-bleu-lines N  score only the first N validation pairs (all)\n"
		"  --no-valid-bleu     keep the best model by validation loss instead\n"
		"  defaults: transformer --optim adam:beta2=0.98 --schedule invsqrt:warmup=1000\n"
		"  --lr 0.5 (the invsqrt factor: peak lr 0.5 / sqrt(d_model * warmup)) --clip 1;\n"
		"  rnn --optim adam --lr 1e-3 --clip 5; --eval-every 1000\n"
		"\n"
		"example: seqc train --src train.de --tgt train.en --valid-src val.de \\\n"
		"           --valid-tgt val.en --out de-en --time 60\n");
}

bool is_s2s_run(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--src") || !strncmp(argv[i], "--src=", 6) ||
		    ((!strcmp(argv[i], "--arch") && i + 1 < argc && !strncmp(argv[i + 1], "s2s-", 4)) ||
		     !strncmp(argv[i], "--arch=s2s-", 11)))
			return true;
	return false;
}

typedef struct s2s_args {
	const char *src, *tgt, *vsrc, *vtgt, *out, *arch, *tok_spec, *cell, *attention;
	size_t spm_vocab, enc_layers, dec_layers, embed, hidden, heads, ff, max_len, max_tokens;
	size_t max_sentences, valid_beam, valid_lines;
	double dropout, label_smoothing;
	bool no_tie, norm_first, gelu, no_input_feed, no_bridge, unidirectional, no_bleu;
	bool model_flags; /* any flag that shapes the model or the tokenizer */
	train_flags f;
} s2s_args;

/* A model or tokenizer flag; 0 consumed, 1 not one, -1 bad value. */
static int model_flag(args *a, s2s_args *o)
{
	/* the flag itself: arg_is moves a->i to a separate value */
	const char *flag = a->argv[a->i], *v;
	double d;
	static const struct {
		const char *flag;
		size_t lo, hi;
		size_t offset;
	} sizes[] = {
		{ "--joint-spm-vocab", 16, 1 << 20, offsetof(s2s_args, spm_vocab) },
		{ "--embed", 1, 1 << 16, offsetof(s2s_args, embed) },
		{ "--hidden", 2, 1 << 16, offsetof(s2s_args, hidden) },
		{ "--heads", 1, 1 << 12, offsetof(s2s_args, heads) },
		{ "--ff", 1, 1 << 20, offsetof(s2s_args, ff) },
		{ "--enc-layers", 1, 16, offsetof(s2s_args, enc_layers) },
		{ "--dec-layers", 1, 16, offsetof(s2s_args, dec_layers) },
	};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
		if (arg_is(a, sizes[k].flag, &v)) {
			o->model_flags = true;
			return parse_size(CMD, sizes[k].flag, v, sizes[k].lo, sizes[k].hi,
					  (size_t *)((char *)o + sizes[k].offset));
		}
	static const struct {
		const char *flag;
		size_t offset;
	} bools[] = {
		{ "--no-tie", offsetof(s2s_args, no_tie) },
		{ "--norm-first", offsetof(s2s_args, norm_first) },
		{ "--gelu", offsetof(s2s_args, gelu) },
		{ "--no-input-feed", offsetof(s2s_args, no_input_feed) },
		{ "--no-bridge", offsetof(s2s_args, no_bridge) },
		{ "--unidirectional", offsetof(s2s_args, unidirectional) },
	};
	for (size_t k = 0; k < sizeof bools / sizeof bools[0]; k++)
		if (arg_flag(a, bools[k].flag)) {
			o->model_flags = true;
			*(bool *)((char *)o + bools[k].offset) = true;
			return 0;
		}
	if (arg_is(a, "--layers", &v)) {
		o->model_flags = true;
		if (parse_size(CMD, "--layers", v, 1, 16, &o->enc_layers) < 0)
			return -1;
		o->dec_layers = o->enc_layers;
	} else if (arg_is(a, "--dropout", &v)) {
		o->model_flags = true;
		return parse_real(CMD, "--dropout", v, 0, 0.99, &o->dropout);
	} else if (arg_is(a, "--label-smoothing", &v)) {
		o->model_flags = true;
		if (parse_real(CMD, "--label-smoothing", v, 0, 0.99, &d) < 0)
			return -1;
		o->label_smoothing = d;
	} else if (arg_is(a, "--arch", &v) || arg_is(a, "--cell", &v) || arg_is(a, "--attention", &v) ||
		   arg_is(a, "--tokenizer", &v)) {
		if (!v)
			return -1;
		o->model_flags = true;
		if (!strncmp(flag, "--arch", 6)) {
			if (strcmp(v, "s2s-transformer") && strcmp(v, "s2s-rnn")) {
				fprintf(stderr, "%s: --arch must be s2s-transformer or s2s-rnn with --src, "
						"got '%s'\n", CMD, v);
				return -1;
			}
			o->arch = v;
		} else if (!strncmp(flag, "--cell", 6)) {
			if (strcmp(v, "gru") && strcmp(v, "lstm")) {
				fprintf(stderr, "%s: --cell must be gru or lstm, got '%s'\n", CMD, v);
				return -1;
			}
			o->cell = v;
		} else if (!strncmp(flag, "--attention", 11)) {
			if (seqc_s2sr_attention_parse(v) < 0) {
				fprintf(stderr, "%s: --attention must be dot, general, mlp (bahdanau) or none, "
						"got '%s'\n", CMD, v);
				return -1;
			}
			o->attention = v;
		} else {
			o->tok_spec = v;
		}
	} else {
		return 1;
	}
	return 0;
}

/* Parses argv; EXIT_OK after --help, EXIT_USAGE on a bad flag, -1 to go on. */
static int parse_args(int argc, char **argv, s2s_args *o)
{
	args a = { argc, argv, 0, CMD };
	for (a.i = 0; a.i < argc; a.i++) {
		const char *v;
		int r;
		const char **files[] = { &o->src, &o->tgt, &o->vsrc, &o->vtgt, &o->out };
		const char *names[] = { "--src", "--tgt", "--valid-src", "--valid-tgt", "--out" };
		bool file = false;
		for (size_t k = 0; k < 5 && !file; k++)
			if (arg_is(&a, names[k], &v)) {
				if (!(*files[k] = v))
					return EXIT_USAGE;
				file = true;
			}
		if (file)
			continue;
		if (arg_flag(&a, "--help") || arg_flag(&a, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (arg_is(&a, "--max-len", &v)) {
			if (parse_size(CMD, "--max-len", v, 2, 4096, &o->max_len) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--max-tokens", &v)) {
			if (parse_size(CMD, "--max-tokens", v, 1, 1 << 24, &o->max_tokens) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--max-sentences", &v)) {
			if (parse_size(CMD, "--max-sentences", v, 1, 1 << 20, &o->max_sentences) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--valid-beam", &v)) {
			if (parse_size(CMD, "--valid-beam", v, 1, 64, &o->valid_beam) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--valid-bleu-lines", &v)) {
			if (parse_size(CMD, "--valid-bleu-lines", v, 1, 1 << 30, &o->valid_lines) < 0)
				return EXIT_USAGE;
		} else if (arg_flag(&a, "--no-valid-bleu")) {
			o->no_bleu = true;
		} else if ((r = model_flag(&a, o)) <= 0) {
			if (r < 0)
				return EXIT_USAGE;
		} else if ((r = train_flag(&a, &o->f)) <= 0) {
			if (r < 0)
				return EXIT_USAGE;
		} else {
			fprintf(stderr, "%s: unknown option '%s' for a translation model (see seqc train "
					"--src x --help)\n", CMD, argv[a.i]);
			return EXIT_USAGE;
		}
	}
	if (!o->src || !o->tgt || !o->vsrc || !o->vtgt || !o->out) {
		fprintf(stderr, "%s: --src, --tgt, --valid-src, --valid-tgt and --out are required for a "
				"translation model\n", CMD);
		return EXIT_USAGE;
	}
	if (o->f.batch_set || o->f.bptt_set || o->f.split != 0.9) {
		fprintf(stderr, "%s: --batch, --bptt and --split are for language models; a translation "
				"model takes --max-tokens and --valid-src/--valid-tgt\n", CMD);
		return EXIT_USAGE;
	}
	if (!o->f.tc.steps && !(o->f.tc.time_limit > 0)) {
		fprintf(stderr, "%s: give --steps N or --time MINUTES\n", CMD);
		return EXIT_USAGE;
	}
	if (o->f.tc.resume && o->f.tc.overwrite) {
		fprintf(stderr, "%s: --resume and --overwrite exclude each other\n", CMD);
		return EXIT_USAGE;
	}
	if (o->f.tc.resume && o->model_flags) {
		fprintf(stderr, "%s: --resume takes the model and tokenizer from %s: drop the model and "
				"tokenizer flags\n", CMD, o->out);
		return EXIT_USAGE;
	}
	if (o->tok_spec && o->spm_vocab) {
		fprintf(stderr, "%s: --tokenizer and --joint-spm-vocab exclude each other\n", CMD);
		return EXIT_USAGE;
	}
	return -1;
}

/* A joint SentencePiece model on both training files, saved in DIR. */
static seqc_tok *train_joint_spm(const s2s_args *o)
{
	char *a = NULL, *b = NULL, *both = NULL;
	size_t na, nb;
	seqc_tok *t = NULL;
	if (read_all(CMD, o->src, &a, &na) < 0 || read_all(CMD, o->tgt, &b, &nb) < 0)
		goto done;
	if (!(both = malloc(na + nb + 2))) {
		fprintf(stderr, "%s: out of memory\n", CMD);
		goto done;
	}
	memcpy(both, a, na);
	both[na] = '\n';
	memcpy(both + na + 1, b, nb);
	seqc_spm_train_opts so = seqc_spm_train_defaults();
	so.vocab_size = o->spm_vocab ? o->spm_vocab : 8000;
	/* a soft limit: a small corpus (the numbers demo) gets what it has */
	so.extra = "--hard_vocab_limit=false --num_threads=1";
	fprintf(stderr, "%s: training a joint SentencePiece unigram tokenizer of up to %zu pieces on "
			"%s and %s\n", CMD, so.vocab_size, o->src, o->tgt);
	char path[4096];
	snprintf(path, sizeof path, "%s/spm.model", o->out);
	if (!(t = seqc_spm_train(both, na + 1 + nb, &so)) || seqc_spm_save(t, path) < 0) {
		fail(CMD);
		seqc_tok_destroy(t);
		t = NULL;
	}
done:
	free(a);
	free(b);
	free(both);
	return t;
}

/* The model the flags describe, for a joint vocabulary of V. */
static seqc_model *build_model(const s2s_args *o, size_t V, uint64_t seed)
{
	bool rnn = o->arch && !strcmp(o->arch, "s2s-rnn");
	char *cj = NULL;
	if (rnn) {
		seqc_s2sr_config c = seqc_s2sr_config_defaults();
		c.src_vocab = c.tgt_vocab = V;
		c.cell = o->cell && !strcmp(o->cell, "lstm") ? SEQC_CELL_LSTM : SEQC_CELL_GRU;
		c.embed = o->embed ? o->embed : 256;
		c.hidden = o->hidden ? o->hidden : 256;
		c.enc_layers = o->enc_layers ? o->enc_layers : 2;
		c.dec_layers = o->dec_layers ? o->dec_layers : c.enc_layers;
		c.bidirectional = !o->unidirectional;
		c.attention = (seqc_s2sr_attn_kind)seqc_s2sr_attention_parse(o->attention ? o->attention
											  : "mlp");
		c.input_feed = !o->no_input_feed;
		c.bridge = !o->no_bridge;
		c.dropout = (float)(o->dropout >= 0 ? o->dropout : 0.3);
		c.share_embeddings = true;
		c.tie_output = !o->no_tie && c.embed == c.hidden;
		c.label_smoothing = (float)(o->label_smoothing >= 0 ? o->label_smoothing : 0.1);
		cj = seqc_s2sr_config_to_json(&c);
	} else {
		seqc_s2st_config c = seqc_s2st_config_defaults();
		c.src_vocab = c.tgt_vocab = V;
		c.d_model = o->embed ? o->embed : 256;
		c.heads = o->heads ? o->heads : 4;
		c.enc_layers = o->enc_layers ? o->enc_layers : 3;
		c.dec_layers = o->dec_layers ? o->dec_layers : c.enc_layers;
		c.dim_ff = o->ff ? o->ff : 1024;
		c.dropout = (float)(o->dropout >= 0 ? o->dropout : 0.1);
		c.activation = o->gelu ? SEQC_FF_GELU : SEQC_FF_RELU;
		c.norm_first = o->norm_first;
		/* positions for the longest pair side and for longer outputs */
		c.max_len = o->max_len * 2 > 256 ? o->max_len * 2 : 256;
		c.share_embeddings = true;
		c.tie_output = !o->no_tie;
		c.label_smoothing = (float)(o->label_smoothing >= 0 ? o->label_smoothing : 0.1);
		cj = seqc_s2st_config_to_json(&c);
	}
	seqc_rng rng;
	seqc_rng_seed(&rng, seed, SEQC_STREAM_INIT);
	seqc_model *m = cj ? seqc_model_from_config(cj, &rng) : NULL;
	free(cj);
	return m;
}

/* Validation BLEU: beam search on the validation sources against their
 * reference lines. */
typedef struct bleu_ctx {
	const seqc_tok *tok;
	seqc_pairs sources;
	char **refs;   /* [sources.n] lines of the validation targets */
	seqc_beam_config beam;
	size_t max_tokens;
} bleu_ctx;

static int valid_bleu(void *vctx, seqc_model *m, double *score)
{
	bleu_ctx *c = vctx;
	size_t n = c->sources.n;
	seqc_beam_result *res = calloc(n, sizeof *res);
	seqc_bleu *bleu = seqc_bleu_create(NULL);
	int rc = res && bleu ? 0 : seqc_error(SEQC_ENOMEM, "validation BLEU: cannot allocate");
	int32_t eos = seqc_tok_eos(c->tok);
	if (rc == 0)
		rc = seqc_translate_sources(m, &c->beam, &c->sources, c->max_tokens, 1.5, 10,
					    seqc_tok_start(c->tok), eos, res);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const seqc_beam_hyp *h = res[i].n ? &res[i].hyps[0] : NULL;
		size_t len = h ? h->len - (h->len && h->ids[h->len - 1] == eos) : 0, tl = 0;
		char *text = NULL;
		if ((rc = seqc_tok_decode(c->tok, h ? h->ids : NULL, len, &text, &tl)) == 0) {
			const char *ref = c->refs[i];
			size_t rl = strlen(ref);
			rc = seqc_bleu_add(bleu, text, tl, &ref, &rl, 1);
		}
		free(text);
	}
	if (rc == 0) {
		seqc_bleu_result r;
		seqc_bleu_compute(bleu, &r);
		*score = r.score;
	}
	if (res)
		seqc_beam_results_free(res, n);
	free(res);
	seqc_bleu_destroy(bleu);
	return rc;
}

/* The validation sources (every line, long ones cut) and references. */
static int bleu_setup(bleu_ctx *b, const s2s_args *o, const seqc_tok *tok)
{
	seqc_pairs_options po = { .src_path = o->vsrc, .src_tok = tok, .max_len = o->max_len };
	char *text = NULL;
	size_t len, start = 0, end, count = 0;
	if (seqc_sources_load(&po, &b->sources) < 0 || seqc_sources_truncate(&b->sources, o->max_len) < 0)
		return fail(CMD), -1;
	if (read_all(CMD, o->vtgt, &text, &len) < 0)
		return -1;
	size_t n = b->sources.n;
	if (o->valid_lines && o->valid_lines < n)
		n = b->sources.n = o->valid_lines;
	if (!(b->refs = calloc(n ? n : 1, sizeof *b->refs))) {
		free(text);
		return fprintf(stderr, "%s: out of memory\n", CMD), -1;
	}
	while (count < n && next_line(text, len, &start, &end)) {
		size_t l = end - start - (end > start && text[end - 1] == '\r');
		if (!(b->refs[count] = strndup(text + start, l)))
			break;
		count++;
		start = end + 1;
	}
	free(text);
	if (count < n) {
		fprintf(stderr, "%s: %s has fewer lines than %s (%zu)\n", CMD, o->vtgt, o->vsrc, n);
		return -1;
	}
	b->tok = tok;
	b->max_tokens = o->max_tokens;
	b->beam = seqc_beam_defaults();
	b->beam.beam = o->valid_beam;
	b->beam.max_len = 4 * o->max_len;
	return 0;
}

static void bleu_free(bleu_ctx *b)
{
	for (size_t i = 0; b->refs && i < b->sources.n; i++)
		free(b->refs[i]);
	free(b->refs);
	seqc_pairs_free(&b->sources);
}

static int load_pairs(const s2s_args *o, const seqc_tok *tok, const char *src, const char *tgt,
		      seqc_pairs *p)
{
	seqc_pairs_options po = { .src_path = src, .tgt_path = tgt, .src_tok = tok, .tgt_tok = tok,
				  .max_len = o->max_len };
	if (seqc_pairs_load(&po, p) < 0)
		return fail(CMD), -1;
	fprintf(stderr, "%s: %s -> %s: %zu pairs (%zu + %zu tokens with eos/bos), %zu skipped over "
			"--max-len %zu, %zu with an empty side\n", CMD, src, tgt, p->n, p->src_tokens,
		p->tgt_tokens, p->n_long, o->max_len, p->n_empty);
	return 0;
}

/* The recipe of each architecture where no flag says otherwise. */
static int set_defaults(s2s_args *o, const seqc_model *m)
{
	train_flags *f = &o->f;
	if (m->s2st) {
		if (!f->optim_set)
			f->optim = "adam:beta2=0.98";
		if (!strcmp(f->sched, "constant") && !f->lr) {
			static char spec[64];
			snprintf(spec, sizeof spec, "invsqrt:warmup=1000,d=%zu", m->s2st->c.d_model);
			f->sched = spec;
			f->lr = 0.5;
		}
		if (f->clip < 0)
			f->clip = 1;
	}
	if (!f->lr)
		f->lr = 1e-3;
	if (f->clip < 0)
		f->clip = 5;
	if (!f->eval_set)
		f->tc.eval_every = 1000;
	return train_flags_finish(f, CMD, o->out);
}

int cmd_train_s2s(int argc, char **argv)
{
	s2s_args o = { .max_len = 100, .max_tokens = 4096, .valid_beam = 4, .dropout = -1,
		       .label_smoothing = -1 };
	train_flags_init(&o.f);
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = EXIT_FAIL;
	seqc_tok *tok = NULL;
	seqc_model *m = NULL;
	seqc_pairs train = { 0 }, valid = { 0 };
	bleu_ctx bc = { 0 };
	char *tok_json = NULL;
	if (mkdir(o.out, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s: cannot create the folder: %s\n", CMD, o.out, strerror(errno));
		goto done;
	}
	if (o.f.tc.resume) {
		size_t b, k1, k2;
		if (load_run_checkpoint(CMD, o.out, &m, &tok) < 0)
			goto done;
		if (seqc_train_saved_run(o.out, &b, &k1, &k2, &o.f.tc.ss) < 0) {
			fail(CMD);
			goto done;
		}
		o.max_tokens = b;
		o.max_len = k1;
	} else {
		tok = o.tok_spec ? seqc_tok_open(o.tok_spec) : train_joint_spm(&o);
		if (!tok) {
			if (o.tok_spec)
				fail(CMD);
			goto done;
		}
	}
	if (seqc_tok_eos(tok) < 0 || seqc_tok_start(tok) < 0) {
		fprintf(stderr, "%s: the tokenizer needs an eos token (and bos or eos to start from)\n", CMD);
		goto done;
	}
	if (load_pairs(&o, tok, o.src, o.tgt, &train) < 0 || load_pairs(&o, tok, o.vsrc, o.vtgt, &valid) < 0)
		goto done;
	if (!m && !(m = build_model(&o, seqc_tok_vocab_size(tok), o.f.tc.seed))) {
		fail(CMD);
		goto done;
	}
	if (set_defaults(&o, m) < 0) {
		rc = EXIT_USAGE;
		goto done;
	}
	o.f.tc.batch = o.max_tokens;
	o.f.tc.k1 = o.f.tc.k2 = o.max_len;
	if (!o.no_bleu && bleu_setup(&bc, &o, tok) < 0)
		goto done;
	char *cfg = seqc_model_config_json(m);
	seqc_train_memory mem = seqc_train_estimate(m, &o.f.tc, train.src_tokens + train.tgt_tokens,
						    valid.src_tokens + valid.tgt_tokens);
	double mib = 1.0 / (1 << 20);
	fprintf(stderr, "model: %s, %zu parameters, vocabulary %zu\n", cfg ? cfg : "?", m->params->numel,
		seqc_tok_vocab_size(tok));
	fprintf(stderr, "memory estimate: parameters %.1f MiB, gradients %.1f MiB, optimizer state %.1f MiB, "
			"activations %.1f MiB, data %.1f MiB: about %.0f MiB\n",
		mem.params * mib, mem.grads * mib, mem.optim_state * mib, mem.activations * mib,
		mem.data * mib,
		(mem.params + mem.grads + mem.optim_state + mem.activations + mem.data) * mib);
	free(cfg);
	seqc_s2s_data d = { .train = &train, .valid = &valid, .max_sentences = o.max_sentences,
			    .validate = o.no_bleu ? NULL : valid_bleu, .validate_ctx = &bc,
			    .score_name = "bleu" };
	train_progress_ctx pc = { .tty = isatty(2), .scheduled = o.f.tc.ss.kind != SEQC_SS_NONE,
				  .steps = o.f.tc.steps };
	if (!(tok_json = seqc_tok_to_json(tok)) ||
	    seqc_train_s2s(m, &d, &o.f.tc, tok_json, train_progress, &pc) < 0) {
		if (pc.tty)
			fputc('\n', stderr);
		fail(CMD);
		goto done;
	}
	rc = EXIT_OK;
done:
	free(tok_json);
	bleu_free(&bc);
	seqc_pairs_free(&train);
	seqc_pairs_free(&valid);
	seqc_tok_destroy(tok);
	seqc_model_destroy(m);
	return rc;
}
