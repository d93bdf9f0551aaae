/* Error codes and messages shared by every seqc module.
 *
 * Public functions return an int status (0 ok, negative SEQC_E* code) or a
 * pointer (NULL on failure). The detail of the last failure on this thread is
 * in seqc_errmsg(): it names the input and what is wrong with it. */
#ifndef SEQC_SEQ_ERROR_H
#define SEQC_SEQ_ERROR_H

#if defined(SEQC_BUILDING_LIBRARY) && defined(__GNUC__)
#define SEQC_API __attribute__((visibility("default")))
#else
#define SEQC_API
#endif

#if defined(__GNUC__)
#define SEQC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SEQC_PRINTF(fmt, args)
#endif

enum {
	SEQC_OK = 0,
	SEQC_EINVAL = -1,     /* an argument is out of its domain */
	SEQC_ENOMEM = -2,     /* allocation failed or a size is absurd */
	SEQC_EIO = -3,        /* a file could not be read or written */
	SEQC_EFORMAT = -4,    /* a file or string is malformed */
	SEQC_ESHAPE = -5,     /* tensor shapes do not fit together */
	SEQC_ERANGE = -6,     /* an index or id is out of range */
	SEQC_ENONFINITE = -7, /* a NaN or infinity where a finite value is needed */
	SEQC_EUTF8 = -8,      /* invalid UTF-8 */
	SEQC_ESTATE = -9,     /* the object is not in a state that allows this call */
	SEQC_EUNSUPPORTED = -10, /* a valid request this build cannot serve */
};

/* A short constant description of a status code ("invalid argument"). */
SEQC_API const char *seqc_strerror(int code);

/* The message of the last failure on the calling thread; "" when none.
 * The pointer stays valid until the next failing call on this thread. */
SEQC_API const char *seqc_errmsg(void);

/* Record a failure: stores the formatted message and returns code, so that
 * `return seqc_error(SEQC_EINVAL, "...")` is one line. Used by every module;
 * callers outside the library may use it for their own messages too. */
SEQC_API int seqc_error(int code, const char *fmt, ...) SEQC_PRINTF(2, 3);

/* Put context in front of the last message ("file.safetensors: " + old
 * message) and return the last code: for a caller that knows what the
 * failing input was called. */
SEQC_API int seqc_error_wrap(const char *fmt, ...) SEQC_PRINTF(1, 2);

/* The code of the last failure on the calling thread (SEQC_EINVAL when no
 * failure was recorded): for callers of functions that return NULL. */
SEQC_API int seqc_errcode(void);

/* Clear the calling thread's message and code. */
SEQC_API void seqc_error_clear(void);

#endif
