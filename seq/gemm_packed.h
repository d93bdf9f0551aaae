/* A GEMM for many small products against one constant operand (private to
 * the library, not installed).
 *
 * A recurrent layer multiplies a few rows (the batch) by the same weight
 * matrix at every time step. OpenBLAS re-packs the whole weight on each call
 * and is least efficient at such small M; here the weight is packed once per
 * sequence and each step runs a register-blocked kernel straight over the
 * packed panels:
 *
 *   packed layout of op(B) [k, n]: panels of SEQC_PACK_NR = 16 columns, panel
 *   p holding k rows of 16 floats (row kk = op(B)[kk, 16p .. 16p+15]), the
 *   last panel zero-padded to 16 columns.
 *
 * Every C element is computed by one thread in a fixed order over k, so the
 * result does not depend on the number of OpenMP threads. The callers are
 * the library's own: arguments are not checked. */
#ifndef SEQC_SEQ_GEMM_PACKED_H
#define SEQC_SEQ_GEMM_PACKED_H

#include <stdbool.h>
#include <stddef.h>

/* Columns per packed panel. */
#define SEQC_PACK_NR 16

/* Floats needed for a packed op(B) of k rows and n columns. */
size_t seqc_packed_floats(size_t k, size_t n);

/* Pack op(B) [k, n] into out (seqc_packed_floats(k, n) floats): B is stored
 * [k, n] with row stride ldb, or [n, k] with row stride ldb when tb (then
 * op(B) = B^T). */
void seqc_pack(const float *b, size_t ldb, bool tb, size_t k, size_t n, float *out);

/* C[m, n] = A[m, k] op(B) + beta C, row-major, A with row stride lda, C with
 * row stride ldc, bp packed by seqc_pack from op(B) [k, n]. With beta == 0
 * C is only written (it may hold garbage, even NaN). */
void seqc_gemm_packed(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *bp,
		      float beta, float *c, size_t ldc);

/* True when seqc_gemm_packed runs its AVX2 + FMA kernel (the CPU has both
 * and the portable kernel is not forced). */
bool seqc_gemm_packed_fast(void);

/* Force the portable kernel (for tests comparing the two), or go back to
 * the CPU's best. Not thread-safe against running products. */
void seqc_gemm_packed_force_portable(bool portable);

#endif
