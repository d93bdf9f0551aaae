/* seqc: sequence models in C. This header pulls in every public module. */
#ifndef SEQC_SEQC_H
#define SEQC_SEQC_H

#include "seq/error.h"
#include "seq/graph.h"
#include "seq/memory.h"
#include "seq/ops.h"
#include "seq/params.h"
#include "seq/rng.h"
#include "seq/safetensors.h"
#include "seq/tensor.h"
#include "tokenize/bpe.h"
#include "tokenize/char.h"
#include "tokenize/spm.h"
#include "tokenize/tokenizer.h"
#include "models/attention.h"
#include "models/gpt.h"
#include "models/model.h"
#include "models/posenc.h"
#include "models/rnn.h"
#include "models/rnnlm.h"
#include "models/s2s.h"
#include "models/s2s_rnn.h"
#include "models/s2s_transformer.h"
#include "models/transformer.h"
#include "decode/beam.h"
#include "decode/bleu.h"
#include "decode/generate.h"
#include "decode/logits.h"
#include "decode/sample.h"
#include "decode/score.h"
#include "decode/translate.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/optim.h"
#include "train/pairs.h"
#include "train/plot.h"
#include "train/schedule.h"
#include "train/scheduled.h"
#include "train/trainer.h"

#define SEQC_VERSION "0.1.0"

/* The library's version string ("0.1.0"). */
SEQC_API const char *seqc_version(void);

#endif
