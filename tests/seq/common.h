/* Small helpers shared by the seq/ suites: literal tensors and value checks.
 * Header-only (static inline) so that each suite stays one executable. */
#ifndef SEQC_TESTS_SEQ_COMMON_H
#define SEQC_TESTS_SEQ_COMMON_H

#include <string.h>

#include "support.h"

/* A heap tensor holding a copy of v (numel of shape), with a zeroed
 * gradient when with_grad. The test destroys it. */
static inline seqc_tensor *heap_tensor(int ndim, const size_t *shape, const float *v, bool with_grad)
{
	seqc_tensor *t = seqc_tensor_create(ndim, shape, with_grad);
	ck_assert_ptr_nonnull(t);
	if (v)
		memcpy(t->val, v, t->numel * sizeof(float));
	return t;
}

/* Shapes and values written inline: SHAPE(2, 3) and VALS(1, 2, 3). */
#define SHAPE(...) ((const size_t[]){ __VA_ARGS__ })
#define VALS(...) ((const float[]){ __VA_ARGS__ })
#define NDIM(...) ((int)(sizeof((size_t[]){ __VA_ARGS__ }) / sizeof(size_t)))

/* t has exactly this shape. */
#define CHECK_SHAPE(t, ...)                                                        \
	do {                                                                       \
		const size_t want_[] = { __VA_ARGS__ };                            \
		const int nd_ = (int)(sizeof want_ / sizeof want_[0]);             \
		ck_assert_ptr_nonnull(t);                                          \
		ck_assert_int_eq((t)->ndim, nd_);                                  \
		for (int d_ = 0; d_ < nd_; d_++)                                   \
			ck_assert_uint_eq((t)->shape[d_], want_[d_]);              \
	} while (0)

/* t's values equal the listed ones within rtol/atol (and t has that many). */
#define CHECK_VALS_TOL(t, rtol, atol, ...)                                         \
	do {                                                                       \
		const float want_[] = { __VA_ARGS__ };                             \
		ck_assert_ptr_nonnull(t);                                          \
		ck_assert_uint_eq((t)->numel, sizeof want_ / sizeof want_[0]);     \
		ck_assert_msg(allclose((t)->val, want_, (t)->numel, (rtol), (atol), #t), \
			      "%s differs from the expected values", #t);          \
	} while (0)
#define CHECK_VALS(t, ...) CHECK_VALS_TOL(t, 1e-6f, 1e-6f, __VA_ARGS__)

/* The last error message mentions `word` (the op's name). */
#define CHECK_ERRMSG(word)                                                          \
	do {                                                                        \
		const char *m_ = seqc_errmsg();                                     \
		ck_assert_msg(m_[0] != '\0', "empty error message");                \
		ck_assert_msg(strstr(m_, (word)) != NULL, "message '%s' does not name '%s'", \
			      m_, (word));                                          \
	} while (0)

#endif
