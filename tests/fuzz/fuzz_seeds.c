/* Writes seed corpora for the harnesses: valid inputs made by the library
 * itself, so that fuzzing starts from deep inside each format.
 *
 *   fuzz_seeds OUT     writes OUT/<harness>/<seed> for every harness
 *
 * run.sh adds the committed fixtures (tests/golden) and truncated GPT-2
 * files beside them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seq/seqc.h"

static const char *out_dir;

static const char corpus[] =
	"First Citizen:\nBefore we proceed any further, hear me speak.\n"
	"All:\nSpeak, speak.\n"
	"First Citizen:\nYou are all resolved rather to die than to famish?\n"
	"Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e, na\xc3\xafve fa\xc3\xa7" "ade; \xce\xba\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1 123 456.\n"
	"It's 3 o'clock, isn't it? We'll see; they've gone.\n";

static void die(const char *what)
{
	fprintf(stderr, "fuzz_seeds: %s: %s\n", what, seqc_errmsg()[0] ? seqc_errmsg() : strerror(errno));
	exit(1);
}

static void put(const char *harness, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", out_dir, harness);
	if (mkdir(path, 0777) != 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof path, "%s/%s/%s", out_dir, harness, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

static void put_str(const char *harness, const char *name, const char *s)
{
	put(harness, name, s, strlen(s));
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *b = malloc((size_t)n + 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
		die(path);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void put_tok_json(const char *name, const seqc_tok *t)
{
	char *j = seqc_tok_to_json(t);
	if (!j)
		die(name);
	put_str("tok_json", name, j);
	free(j);
}

static seqc_tok *char_tokenizers(void)
{
	seqc_char_opts o = seqc_char_defaults();
	seqc_tok *t = seqc_tok_char_build(corpus, sizeof corpus - 1, &o);
	if (!t)
		die("char");
	put_tok_json("char_default", t);
	o.norm = SEQC_NORM_NFKC;
	o.graphemes = true;
	o.max_vocab = 20;
	o.replace_invalid = true;
	seqc_tok *u = seqc_tok_char_build(corpus, sizeof corpus - 1, &o);
	if (!u)
		die("char graphemes");
	put_tok_json("char_graphemes_cap", u);
	seqc_tok_destroy(u);
	return t;
}

/* A small trained BPE as JSON and as the two files (encoder.json, NUL,
 * vocab.bpe). */
static seqc_tok *bpe_tokenizer(void)
{
	seqc_tok *t;
	if (seqc_bpe_train(corpus, sizeof corpus - 1, 300, NULL, &t) < 0)
		die("bpe train");
	put_tok_json("bpe", t);
	char dir[] = "/tmp/fuzz_seeds.XXXXXX", path[64];
	if (!mkdtemp(dir) || seqc_bpe_save(t, dir) < 0)
		die("bpe save");
	size_t elen, mlen;
	snprintf(path, sizeof path, "%s/encoder.json", dir);
	char *enc = slurp(path, &elen);
	unlink(path);
	snprintf(path, sizeof path, "%s/vocab.bpe", dir);
	char *merges = slurp(path, &mlen);
	unlink(path);
	rmdir(dir);
	char *both = malloc(elen + 1 + mlen);
	if (!both)
		die("bpe files");
	memcpy(both, enc, elen);
	both[elen] = '\0';
	memcpy(both + elen + 1, merges, mlen);
	put("bpe_files", "trained", both, elen + 1 + mlen);
	free(both);
	free(enc);
	free(merges);
	return t;
}

/* Tiny SentencePiece models (identity normalization: no 240 KB charsmap),
 * as .model bytes and as JSON. */
static void spm_tokenizers(void)
{
	/* byte fallback adds 256 pieces: on one of them only */
	static const struct {
		const char *name;
		seqc_spm_type type;
		size_t vocab;
		const char *extra;
	} kinds[] = {
		{ "unigram", SEQC_SPM_UNIGRAM, 60, "" },
		{ "bpe", SEQC_SPM_BPE, 330, "--byte_fallback=true" },
	};
	for (size_t i = 0; i < 2; i++) {
		seqc_spm_train_opts o = seqc_spm_train_defaults();
		o.type = kinds[i].type;
		char extra[256];
		snprintf(extra, sizeof extra, "--normalization_rule_name=identity --num_threads=1 "
			 "--hard_vocab_limit=false --character_coverage=1.0 %s", kinds[i].extra);
		o.vocab_size = kinds[i].vocab;
		o.extra = extra;
		seqc_tok *t = seqc_spm_train(corpus, sizeof corpus - 1, &o);
		if (!t)
			die("spm train");
		char *bytes;
		size_t len;
		if (seqc_spm_model_bytes(t, &bytes, &len) < 0)
			die("spm bytes");
		put("spm", kinds[i].name, bytes, len);
		char name[32];
		snprintf(name, sizeof name, "spm_%s", kinds[i].name);
		put_tok_json(name, t);
		free(bytes);
		seqc_tok_destroy(t);
	}
}

static const char *const configs[][2] = {
	{ "rnnlm_lstm", "{\"arch\":\"rnnlm\",\"cell\":\"lstm\",\"vocab\":12,\"embed\":4,\"hidden\":4,"
			"\"layers\":2,\"dropout\":0.1,\"tie\":true}" },
	{ "rnnlm_gru", "{\"arch\":\"rnnlm\",\"cell\":\"gru\",\"vocab\":7,\"embed\":3,\"hidden\":5,"
		       "\"layers\":1,\"dropout\":0,\"orthogonal_hh\":true,\"forget_bias_one\":false}" },
	{ "rnnlm_tanh", "{\"arch\":\"rnnlm\",\"cell\":\"rnn_tanh\",\"vocab\":3,\"embed\":2,"
			"\"hidden\":2,\"layers\":3,\"dropout\":0.5}" },
	{ "gpt", "{\"arch\":\"gpt\",\"vocab\":10,\"context\":8,\"layers\":2,\"heads\":2,\"embed\":8,"
		 "\"dropout\":0.1,\"bias\":true,\"gelu\":\"tanh\",\"ln_eps\":1e-5}" },
	{ "gpt_exact", "{\"arch\":\"gpt\",\"vocab\":5,\"context\":4,\"layers\":1,\"heads\":1,"
		       "\"embed\":4,\"bias\":false,\"gelu\":\"exact\"}" },
};

/* Configurations, and checkpoints of the same models with a tokenizer. */
static void models(const seqc_tok *chr, const seqc_tok *bpe)
{
	for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
		put_str("model_config", configs[i][0], configs[i][1]);
	const char *ckpts[][2] = {
		{ "{\"arch\":\"gpt\",\"vocab\":%zu,\"context\":8,\"layers\":1,\"heads\":2,\"embed\":4}",
		  "gpt_char" },
		{ "{\"arch\":\"rnnlm\",\"cell\":\"lstm\",\"vocab\":%zu,\"embed\":3,\"hidden\":3,"
		  "\"layers\":1,\"dropout\":0}", "rnnlm_bpe" },
	};
	for (size_t i = 0; i < 2; i++) {
		const seqc_tok *t = i ? bpe : chr;
		char config[256], path[64];
		snprintf(config, sizeof config, ckpts[i][0], seqc_tok_vocab_size(t));
		seqc_rng rng;
		seqc_rng_seed(&rng, 1, 0);
		seqc_model *m = seqc_model_from_config(config, &rng);
		char *tj = seqc_tok_to_json(t);
		snprintf(path, sizeof path, "/tmp/fuzz_seeds.%d.safetensors", (int)getpid());
		if (!m || !tj || seqc_ckpt_save(path, m, tj, 42) < 0)
			die("checkpoint");
		size_t len;
		char *bytes = slurp(path, &len);
		unlink(path);
		put("checkpoint", ckpts[i][1], bytes, len);
		put("safetensors", ckpts[i][1], bytes, len);
		free(bytes);
		free(tj);
		seqc_model_destroy(m);
	}
}

/* Texts for fuzz_text (first byte: options) and values for fuzz_cli_numbers
 * (first byte: ranges; lines: argv). */
static void texts(void)
{
	static const char *const samples[] = {
		"\x00Hello, world!\n",
		"\x01" "cafe\xcc\x81 \xef\xbc\xa1\xef\xbc\xa2 \xe2\x84\xab",
		"\x06\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 "
		"\xf0\x9f\x87\xab\xf0\x9f\x87\xb7 \r\n",
		"\x0a" "bad \xff\xc3( \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82",
		"\x35" "abcabcabc  de\tf",
		"\x02\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8 \xef\xac\x81",
	};
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		char name[16];
		snprintf(name, sizeof name, "text%zu", i);
		/* the first byte may be 0: length from the rest */
		put("text", name, samples[i], 1 + strlen(samples[i] + 1));
	}
	static const char *const numbers[] = {
		"\x00--n\n12", "\x01--n=0\n1", "\x02--n\n-1\n1e5", "\x03--n\n9223372036854775807",
		"\x00" "0x10\n 5\n+7\n007", "\x01nan\ninf\n-0\n1e-9", "\x02" "3.5e2\n.5\n--n",
	};
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		char name[16];
		snprintf(name, sizeof name, "args%zu", i);
		put("cli_numbers", name, numbers[i], 1 + strlen(numbers[i] + 1));
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds OUT\n");
		return 2;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0777) != 0 && errno != EEXIST)
		die(out_dir);
	seqc_tok *chr = char_tokenizers();
	seqc_tok *bpe = bpe_tokenizer();
	spm_tokenizers();
	models(chr, bpe);
	texts();
	seqc_tok_destroy(chr);
	seqc_tok_destroy(bpe);
	return 0;
}
