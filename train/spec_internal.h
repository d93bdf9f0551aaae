/* Table-driven parsing and checking of "name:key=value,..." specs, shared by
 * the optimizer and schedule parsers. Private to the library (not installed).
 *
 * A spec is a kind name, optionally followed by ':' and a comma-separated
 * list of key=value pairs, with no spaces. Each key names one field of a
 * config struct (by byte offset) with a type, the set of kinds it applies to
 * and a range. The same table checks a config built by hand, so parse and
 * create accept exactly the same values. */
#ifndef SEQC_TRAIN_SPEC_INTERNAL_H
#define SEQC_TRAIN_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum seqc_spec_type {
	SEQC_SPEC_FLOAT, /* float field; the value must be finite as a float */
	SEQC_SPEC_INT,   /* int64_t field; decimal digits only */
	SEQC_SPEC_BOOL,  /* bool field; 0, 1, false or true */
} seqc_spec_type;

typedef struct seqc_spec_key {
	const char *key;    /* as written in a spec */
	const char *field;  /* the config struct's field, for messages */
	unsigned kinds;     /* bit k set: applies to kind k */
	seqc_spec_type type;
	size_t offset;      /* of the field in the config struct */
	double lo, hi;      /* range of FLOAT and INT values */
	bool lo_open, hi_open;
} seqc_spec_key;

/* Split spec at ':' and find its name among names[0..nnames-1] (kind k is
 * names[k]); *params points after the ':' or to "" when there is none.
 * `what` starts messages ("optimizer spec"). */
int seqc_spec_kind(const char *spec, const char *what, const char *const *names, int nnames,
		   int *kind, const char **params);

/* Apply the key=value pairs of params (from seqc_spec_kind) to cfg: each key
 * must exist in keys, apply to kind, appear once, and hold a value of its
 * type within its range. Messages quote spec and the offending part. */
int seqc_spec_apply(const char *spec, const char *params, const char *what,
		    const seqc_spec_key *keys, size_t nkeys, int kind, void *cfg);

/* Check every field of cfg that applies to kind against its range. `what`
 * starts messages ("optimizer adam"). Parsers need not call it, since
 * seqc_spec_apply checks each value it sets; create functions do, for
 * configs built by hand. */
int seqc_spec_check(const char *what, const seqc_spec_key *keys, size_t nkeys, int kind,
		    const void *cfg);

#endif
