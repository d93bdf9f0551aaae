/* seqc tokenize / detokenize / tokenizer train: text to ids and back with
 * any tokenizer, and learning a tokenizer from a corpus. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "tokenize/bpe.h"
#include "tokenize/char.h"
#include "tokenize/spm.h"

static void tokenize_usage(FILE *out)
{
	fprintf(out,
		"usage: seqc tokenize --tokenizer SPEC [--lines] [--pieces] [--replace-invalid] [FILE|-]\n"
		"\n"
		"Encodes the text of FILE (stdin when absent or '-') and prints the token ids\n"
		"separated by spaces, on one line.\n"
		"\n"
		"  --tokenizer SPEC    gpt2:DIR (encoder.json + vocab.bpe), bpe:DIR (ours),\n"
		"                      spm:FILE.model, char:FILE.json, or a checkpoint\n"
		"  --lines             encode each input line on its own, without its newline,\n"
		"                      and print its ids on a line of their own\n"
		"  --pieces            print the pieces instead of the ids; bytes that are\n"
		"                      spaces, controls, '\\' or not valid UTF-8 print as \\xNN\n"
		"  --replace-invalid   replace invalid UTF-8 with U+FFFD instead of failing\n"
		"example: echo 'Hello world' | seqc tokenize --tokenizer gpt2:data/gpt2\n");
}

static void detokenize_usage(FILE *out)
{
	fprintf(out,
		"usage: seqc detokenize --tokenizer SPEC [--show-special] [FILE|-]\n"
		"\n"
		"Reads token ids (decimal, separated by spaces) from FILE (stdin when absent\n"
		"or '-') and prints the text they decode to. Each input line is decoded on its\n"
		"own and ends with a newline, so `tokenize --lines | detokenize` gives the\n"
		"lines back.\n"
		"\n"
		"  --tokenizer SPEC    as for seqc tokenize\n"
		"  --show-special      print special tokens (<|endoftext|>, <s>, ...) instead of\n"
		"                      dropping them\n");
}

/* Opens SPEC, printing the error. */
static seqc_tok *open_tokenizer(const char *cmd, const char *spec)
{
	seqc_tok *t = seqc_tok_open(spec);
	if (!t)
		fail(cmd);
	return t;
}

/* Prints a piece so that it stays one space-free word: ASCII spaces,
 * controls and '\' as \xNN, and the bytes >= 0x80 too when the piece is
 * not valid UTF-8 on its own (a byte-level piece ending inside a
 * character). */
static void print_piece(const char *p, size_t n)
{
	size_t clean_len;
	char *clean = seqc_utf8_sanitize(p, n, &clean_len);
	bool valid = clean && clean_len == n && !memcmp(clean, p, n);
	free(clean);
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)p[i];
		if (b <= 0x20 || b == 0x7F || b == '\\' || (b >= 0x80 && !valid))
			printf("\\x%02x", b);
		else
			putchar(b);
	}
}

/* Encodes text[0..len) and prints one line of ids or pieces. */
static int encode_line(const char *cmd, const seqc_tok *t, const char *text, size_t len,
		       bool pieces, const char *what)
{
	int32_t *ids;
	size_t n;
	if (seqc_tok_encode(t, text, len, &ids, &n) < 0) {
		seqc_error_wrap("%s", what);
		return fail(cmd);
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(' ');
		if (pieces) {
			size_t pl;
			const char *p = seqc_tok_piece(t, ids[i], &pl);
			print_piece(p, pl);
		} else {
			printf("%d", ids[i]);
		}
	}
	putchar('\n');
	free(ids);
	return EXIT_OK;
}

int cmd_tokenize(int argc, char **argv)
{
	static const char *const CMD = "seqc tokenize";
	const char *spec = NULL, *file = "-";
	bool lines = false, pieces = false, replace = false;
	args a = { argc, argv, 0, CMD };
	for (a.i = 0; a.i < argc; a.i++) {
		const char *v;
		if (arg_flag(&a, "--help") || arg_flag(&a, "-h")) {
			tokenize_usage(stdout);
			return EXIT_OK;
		} else if (arg_is(&a, "--tokenizer", &v)) {
			if (!(spec = v))
				return EXIT_USAGE;
		} else if (arg_flag(&a, "--lines")) {
			lines = true;
		} else if (arg_flag(&a, "--pieces")) {
			pieces = true;
		} else if (arg_flag(&a, "--replace-invalid")) {
			replace = true;
		} else if (argv[a.i][0] != '-' || !strcmp(argv[a.i], "-")) {
			file = argv[a.i];
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see seqc tokenize --help)\n", CMD, argv[a.i]);
			return EXIT_USAGE;
		}
	}
	if (!spec) {
		fprintf(stderr, "%s: --tokenizer SPEC is required (see seqc tokenize --help)\n", CMD);
		return EXIT_USAGE;
	}
	seqc_tok *t = open_tokenizer(CMD, spec);
	char *text = NULL;
	size_t len;
	int rc = EXIT_FAIL;
	if (!t || read_all(CMD, file, &text, &len) < 0)
		goto done;
	if (replace && replace_invalid(CMD, &text, &len) < 0)
		goto done;
	const char *name = strcmp(file, "-") ? file : "stdin";
	if (!lines) {
		rc = encode_line(CMD, t, text, len, pieces, name);
	} else {
		rc = EXIT_OK;
		size_t line = 1, start = 0, end;
		for (; rc == EXIT_OK && next_line(text, len, &start, &end); line++) {
			char what[4096];
			snprintf(what, sizeof what, "%s: line %zu", name, line);
			rc = encode_line(CMD, t, text + start, end - start, pieces, what);
			start = end + 1;
		}
	}
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		perror(CMD);
		rc = EXIT_FAIL;
	}
done:
	free(text);
	seqc_tok_destroy(t);
	return rc;
}

/* Decodes the ids of one line (its bytes s[0..n)), writing text to stdout. */
static int decode_line(const char *cmd, const seqc_tok *t, seqc_detok *d, const char *s, size_t n,
		       const char *name, size_t line)
{
	static char out[SEQC_DETOK_MAX];
	size_t i = 0, col;
	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i == n)
			break;
		col = i + 1;
		long long id = 0;
		size_t digits = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 12) {
			id = id * 10 + (s[i++] - '0');
			digits++;
		}
		if (!digits || (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')) {
			fprintf(stderr, "%s: %s: line %zu, column %zu: expected a token id (a decimal "
				"number), got '%.20s'\n", cmd, name, line, col, s + col - 1);
			return EXIT_FAIL;
		}
		if (id >= (long long)seqc_tok_vocab_size(t)) {
			fprintf(stderr, "%s: %s: line %zu, column %zu: id %lld is outside the "
				"vocabulary [0, %zu)\n", cmd, name, line, col, id, seqc_tok_vocab_size(t));
			return EXIT_FAIL;
		}
		int w = seqc_detok_push(d, (int32_t)id, out, sizeof out);
		if (w < 0)
			return fail(cmd);
		fwrite(out, 1, (size_t)w, stdout);
	}
	int w = seqc_detok_flush(d, out, sizeof out);
	if (w < 0)
		return fail(cmd);
	fwrite(out, 1, (size_t)w, stdout);
	putchar('\n');
	return EXIT_OK;
}

int cmd_detokenize(int argc, char **argv)
{
	static const char *const CMD = "seqc detokenize";
	const char *spec = NULL, *file = "-";
	bool show = false;
	args a = { argc, argv, 0, CMD };
	for (a.i = 0; a.i < argc; a.i++) {
		const char *v;
		if (arg_flag(&a, "--help") || arg_flag(&a, "-h")) {
			detokenize_usage(stdout);
			return EXIT_OK;
		} else if (arg_is(&a, "--tokenizer", &v)) {
			if (!(spec = v))
				return EXIT_USAGE;
		} else if (arg_flag(&a, "--show-special")) {
			show = true;
		} else if (argv[a.i][0] != '-' || !strcmp(argv[a.i], "-")) {
			file = argv[a.i];
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see seqc detokenize --help)\n", CMD,
				argv[a.i]);
			return EXIT_USAGE;
		}
	}
	if (!spec) {
		fprintf(stderr, "%s: --tokenizer SPEC is required (see seqc detokenize --help)\n", CMD);
		return EXIT_USAGE;
	}
	seqc_tok *t = open_tokenizer(CMD, spec);
	seqc_detok *d = NULL;
	char *text = NULL;
	size_t len;
	int rc = EXIT_FAIL;
	if (!t || read_all(CMD, file, &text, &len) < 0)
		goto done;
	if (!(d = seqc_detok_create(t))) {
		fail(CMD);
		goto done;
	}
	seqc_detok_show_special(d, show);
	const char *name = strcmp(file, "-") ? file : "stdin";
	rc = EXIT_OK;
	size_t line = 1, start = 0, end;
	for (; rc == EXIT_OK && next_line(text, len, &start, &end); line++) {
		rc = decode_line(CMD, t, d, text + start, end - start, name, line);
		start = end + 1;
	}
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		perror(CMD);
		rc = EXIT_FAIL;
	}
done:
	free(text);
	seqc_detok_destroy(d);
	seqc_tok_destroy(t);
	return rc;
}

static void tokenizer_usage(FILE *out)
{
	fprintf(out,
		"usage: seqc tokenizer train --kind KIND --vocab-size N --data FILE --out DIR [options]\n"
		"\n"
		"Learns a tokenizer from FILE (UTF-8 text) and writes it into DIR, then prints\n"
		"the SPEC that names it for --tokenizer:\n"
		"  bpe           byte-level BPE as GPT-2 (its pre-tokenizer, 256 byte tokens,\n"
		"                <|endoftext|>): DIR/encoder.json + DIR/vocab.bpe -> bpe:DIR\n"
		"  spm-unigram   SentencePiece unigram model -> spm:DIR/spm.model\n"
		"  spm-bpe       SentencePiece BPE model -> spm:DIR/spm.model\n"
		"  char          characters (code points, NFC), the N - 4 most frequent kept\n"
		"                -> char:DIR/tokenizer.json\n"
		"\n"
		"  --vocab-size N      tokens in all, specials included\n"
		"  --spm-options S     more spm_train flags, e.g. '--character_coverage=1.0'\n"
		"  --replace-invalid   invalid UTF-8 in FILE becomes U+FFFD instead of an error\n"
		"                      (and, for bpe and char, in what the tokenizer encodes later)\n"
		"example: seqc tokenizer train --kind bpe --vocab-size 8000 --data input.txt --out tok\n");
}

/* Trains the kind asked on text and saves it into the folder out; prints
 * the SPEC that names it. */
static int train_tokenizer(const char *cmd, const char *kind, size_t vocab, const char *text,
			   size_t len, const char *out, const char *spm_options, bool replace)
{
	char path[4096];
	seqc_tok *t = NULL;
	int rc = -1;
	if (mkdir(out, 0777) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s: cannot create the folder: %s\n", cmd, out, strerror(errno));
		return EXIT_FAIL;
	}
	if (!strcmp(kind, "bpe")) {
		seqc_bpe_train_opts o = { .replace_invalid = replace };
		snprintf(path, sizeof path, "bpe:%s", out);
		if (seqc_bpe_train(text, len, vocab, &o, &t) == 0)
			rc = seqc_bpe_save(t, out);
	} else if (!strncmp(kind, "spm-", 4)) {
		seqc_spm_train_opts o = seqc_spm_train_defaults();
		o.vocab_size = vocab;
		o.extra = spm_options;
		snprintf(path, sizeof path, "spm:%s/spm.model", out);
		if (seqc_spm_type_from_name(kind + 4, &o.type) == 0 && (t = seqc_spm_train(text, len, &o)))
			rc = seqc_spm_save(t, path + 4);
	} else {
		seqc_char_opts o = seqc_char_defaults();
		o.max_vocab = vocab;
		o.replace_invalid = replace;
		snprintf(path, sizeof path, "char:%s/tokenizer.json", out);
		if ((t = seqc_tok_char_build(text, len, &o)))
			rc = seqc_tok_save_json_file(t, path + 5);
	}
	if (rc == 0)
		printf("%s\n", path);
	seqc_tok_destroy(t);
	return rc < 0 ? fail(cmd) : EXIT_OK;
}

int cmd_tokenizer(int argc, char **argv)
{
	static const char *const CMD = "seqc tokenizer train";
	const char *kind = NULL, *data = NULL, *out = NULL, *spm_options = NULL;
	size_t vocab = 0;
	bool replace = false;
	if (argc < 1 || strcmp(argv[0], "train")) {
		if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
			tokenizer_usage(stdout);
			return EXIT_OK;
		}
		fprintf(stderr, "seqc tokenizer: the subcommand is 'train' (see seqc tokenizer --help)\n");
		return EXIT_USAGE;
	}
	args a = { argc, argv, 0, CMD };
	for (a.i = 1; a.i < argc; a.i++) {
		const char *v;
		if (arg_flag(&a, "--help") || arg_flag(&a, "-h")) {
			tokenizer_usage(stdout);
			return EXIT_OK;
		} else if (arg_is(&a, "--kind", &v)) {
			if (!(kind = v))
				return EXIT_USAGE;
			if (strcmp(v, "bpe") && strcmp(v, "spm-unigram") && strcmp(v, "spm-bpe") &&
			    strcmp(v, "char")) {
				fprintf(stderr, "%s: --kind must be bpe, spm-unigram, spm-bpe or char, got "
						"'%s'\n", CMD, v);
				return EXIT_USAGE;
			}
		} else if (arg_is(&a, "--vocab-size", &v)) {
			if (parse_size(CMD, "--vocab-size", v, 5, SEQC_TOK_MAX_VOCAB, &vocab) < 0)
				return EXIT_USAGE;
		} else if (arg_is(&a, "--data", &v)) {
			if (!(data = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--out", &v)) {
			if (!(out = v))
				return EXIT_USAGE;
		} else if (arg_is(&a, "--spm-options", &v)) {
			if (!(spm_options = v))
				return EXIT_USAGE;
		} else if (arg_flag(&a, "--replace-invalid")) {
			replace = true;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see seqc tokenizer --help)\n", CMD,
				argv[a.i]);
			return EXIT_USAGE;
		}
	}
	if (!kind || !vocab || !data || !out) {
		fprintf(stderr, "%s: --kind, --vocab-size, --data and --out are required (see seqc "
				"tokenizer --help)\n", CMD);
		return EXIT_USAGE;
	}
	char *text;
	size_t len;
	if (read_all(CMD, data, &text, &len) < 0)
		return EXIT_FAIL;
	if (replace && replace_invalid(CMD, &text, &len) < 0) {
		free(text);
		return EXIT_FAIL;
	}
	int rc = train_tokenizer(CMD, kind, vocab, text, len, out, spm_options, replace);
	free(text);
	return rc;
}
