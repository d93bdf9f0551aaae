/* The one GEMM entry point of the library (private): row-major
 * C[m, n] = alpha op(A) op(B) + beta C, A stored [m, k] ([k, m] when ta),
 * B stored [k, n] ([n, k] when tb), with leading dimensions.
 *
 * A single-row product (m == 1, as in batch-1 decoding) goes to sgemv:
 * OpenBLAS 0.3.21's sgemm packs all of B even for one row, which costs
 * several times the product itself. */
#ifndef SEQC_SEQ_BLAS_INTERNAL_H
#define SEQC_SEQ_BLAS_INTERNAL_H

#include <cblas.h>
#include <stdbool.h>
#include <stddef.h>

static inline void seqc_gemm(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha,
			     const float *a, size_t lda, const float *b, size_t ldb, float beta,
			     float *c, size_t ldc)
{
	if (m == 1) {
		/* c^T = op(B)^T a^T: a row of A is contiguous, or strided by lda
		 * when A is stored transposed */
		cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, (blasint)(tb ? n : k),
			    (blasint)(tb ? k : n), alpha, b, (blasint)ldb, a, ta ? (blasint)lda : 1,
			    beta, c, 1);
		return;
	}
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
		    (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta,
		    c, (blasint)ldc);
}

#endif
