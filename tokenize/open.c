/* seqc_tok_open: one string names a tokenizer wherever it lives, so that
 * every command and program takes the same --tokenizer SPEC. */
#include <stdlib.h>
#include <string.h>

#include "seq/safetensors.h"
#include "tokenize/bpe.h"
#include "tokenize/spm.h"
#include "tokenize/tok_internal.h"

/* The tokenizer stored in a checkpoint's metadata. */
static seqc_tok *from_checkpoint(const char *path)
{
	seqc_st *st;
	if (seqc_st_read_header(path, &st) < 0)
		return NULL;
	const char *json = seqc_st_meta(st, "seqc.tokenizer");
	seqc_tok *t = NULL;
	if (!json)
		seqc_error(SEQC_EFORMAT, "%s: the checkpoint holds no tokenizer (seqc.tokenizer)", path);
	else if (!(t = seqc_tok_from_json(json, strlen(json))))
		seqc_error_wrap("%s: seqc.tokenizer", path);
	seqc_st_destroy(st);
	return t;
}

/* What follows "prefix:" in spec, or NULL. */
static const char *after(const char *spec, const char *prefix)
{
	size_t n = strlen(prefix);
	return !strncmp(spec, prefix, n) && spec[n] == ':' ? spec + n + 1 : NULL;
}

seqc_tok *seqc_tok_open(const char *spec)
{
	const char *arg;
	if (!spec || !*spec) {
		seqc_error(SEQC_EINVAL, "tokenizer: empty SPEC (give gpt2:DIR, bpe:DIR, spm:FILE, "
			   "char:FILE.json or a checkpoint)");
		return NULL;
	}
	if ((arg = after(spec, "gpt2")) || (arg = after(spec, "bpe")))
		return seqc_bpe_load(arg);
	if ((arg = after(spec, "spm")))
		return seqc_spm_load(arg);
	if ((arg = after(spec, "char")))
		return seqc_tok_load_json_file(arg);
	return from_checkpoint(spec);
}
