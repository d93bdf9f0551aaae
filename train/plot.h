/* The loss plot: an SVG of the train and validation loss against the step,
 * drawn from a training log (log.jsonl), with labelled axes and a legend.
 * Written to a temporary file and renamed, so a reader never sees half. */
#ifndef SEQC_TRAIN_PLOT_H
#define SEQC_TRAIN_PLOT_H

#include "seq/error.h"

SEQC_API int seqc_plot_loss_svg(const char *log_path, const char *svg_path);

#endif
