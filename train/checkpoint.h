/* Model checkpoints: a safetensors file of the parameters with
 *   __metadata__["seqc.format"]    = "1"
 *   __metadata__["seqc.config"]    = the model's JSON configuration
 *   __metadata__["seqc.tokenizer"] = the tokenizer's JSON (opaque here)
 *   __metadata__["seqc.step"]      = the training step it was saved at
 * written atomically (a failed save leaves the previous file intact). */
#ifndef SEQC_TRAIN_CHECKPOINT_H
#define SEQC_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "models/model.h"

SEQC_API int seqc_ckpt_save(const char *path, const seqc_model *m, const char *tokenizer_json,
			    int64_t step);

/* Load a checkpoint: the model (built from its config, then every parameter
 * checked and copied), the tokenizer JSON (malloc'ed, NULL when the file has
 * none) and the step (-1 when absent); out-pointers may be NULL except m.
 * Errors name the file: not a safetensors file, not a seqc checkpoint (no
 * seqc.config), an unknown arch, a parameter missing or of the wrong shape. */
SEQC_API int seqc_ckpt_load(const char *path, seqc_model **m, char **tokenizer_json,
			    int64_t *step);

#endif
