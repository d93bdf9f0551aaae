/* seqc: the command-line program. Thin: every real decision is a library
 * call. Results go to stdout, progress to stderr; exit 0 on success, 1 on
 * failure, 2 on a usage error. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: seqc COMMAND [OPTIONS]    (seqc COMMAND --help for each)\n"
		"\n"
		"Sequence models (RNN, LSTM, GRU, Transformer) on the CPU.\n"
		"\n"
		"commands:\n"
		"  train       train a language model (RNN, LSTM, GRU or GPT) on a text file,\n"
		"              or a translation model (--src FILE --tgt FILE: s2s-transformer, s2s-rnn)\n"
		"  translate   translate lines with a trained translation model (beam search)\n"
		"  sample      generate text from a trained model\n"
		"  score       log-probability, perplexity and bits per character of a text\n"
		"  tokenize    text to token ids (GPT-2 BPE, our BPE, SentencePiece, characters)\n"
		"  detokenize  token ids to text\n"
		"  tokenizer   train a BPE, SentencePiece or character tokenizer on a corpus\n"
		"  bleu        corpus BLEU and chrF of hypotheses against references\n"
		"  demo        train a small MLP on a toy problem with the core engine\n"
		"  --version   print the version\n"
		"  --help      print this help\n"
		"\n"
		"example:\n"
		"  seqc train --data input.txt --out run --time 5\n"
		"  seqc sample -m run/model.safetensors --prime 'The ' --len 300\n"
		"  seqc train --src train.de --tgt train.en --valid-src val.de --valid-tgt val.en \\\n"
		"      --out de-en --time 60\n"
		"  seqc translate -m de-en/model.safetensors < test.de > hyp.en\n"
		"  seqc bleu test.en hyp.en\n");
}

int main(int argc, char **argv)
{
	/* A file-size limit (ulimit -f) must make a write fail with EFBIG, which
	 * a save reports and survives with the previous checkpoint intact, not
	 * kill the program half-way through a save. */
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "--version")) {
		printf("seqc %s\n", seqc_version());
		return EXIT_OK;
	}
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} commands[] = {
		{ "train", cmd_train },
		{ "sample", cmd_sample },
		{ "score", cmd_score },
		{ "tokenize", cmd_tokenize },
		{ "detokenize", cmd_detokenize },
		{ "tokenizer", cmd_tokenizer },
		{ "demo", cmd_demo },
		{ "bleu", cmd_bleu },
		{ "translate", cmd_translate },
	};
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 2, argv + 2);
	fprintf(stderr, "seqc: unknown command '%s' (see seqc --help)\n", cmd);
	return EXIT_USAGE;
}
