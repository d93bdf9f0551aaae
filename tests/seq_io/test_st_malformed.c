/* Malformed inputs: every check of the reader, table-driven on in-memory
 * images, then every truncation and many one-byte corruptions of a valid
 * file, which must fail cleanly (run this under ASan to see that no byte
 * outside the input is read). */
#include "common.h"

#include <stdint.h>

/* No length override: the length field is the header's length. */
#define LEN_AUTO UINT64_MAX

/* A file image: the 8-byte length field (len_field, or hlen when
 * LEN_AUTO), header [hlen] as given, and ndata data bytes. Each image is
 * its own allocation of exactly *len bytes, so ASan sees any overread. */
static unsigned char *image(const char *header, size_t hlen, uint64_t len_field, size_t ndata,
			    size_t *len)
{
	uint64_t n = len_field == LEN_AUTO ? hlen : len_field;
	*len = 8 + hlen + ndata;
	unsigned char *b = malloc(*len);
	ck_assert_ptr_nonnull(b);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(n >> (8 * i));
	memcpy(b + 8, header, hlen);
	for (size_t i = 0; i < ndata; i++)
		b[8 + hlen + i] = (unsigned char)(i * 37 + 1);
	return b;
}

/* An entry of tensor name, F32, shape sh, offsets off (JSON text). */
#define T(name, sh, off) "\"" name "\":{\"dtype\":\"F32\",\"shape\":" sh ",\"data_offsets\":" off "}"
#define D(name, dt, sh, off) "\"" name "\":{\"dtype\":" dt ",\"shape\":" sh ",\"data_offsets\":" off "}"

typedef struct bad_case {
	const char *what;   /* names the input; must appear in the message */
	const char *header; /* JSON text (may hold NULs when hlen is set) */
	size_t hlen;        /* 0: strlen(header) */
	uint64_t len_field; /* LEN_AUTO: the header's length */
	size_t ndata;       /* data bytes after the header */
	size_t truncate;    /* 0: keep the whole image; else its first bytes */
	int code;
	const char *phrase;  /* must appear in the message */
	const char *phrase2; /* must appear too (the tensor, usually); NULL: none */
} bad_case;

static const bad_case bad_cases[] = {
	/* the frame */
	{"short", "{}", 0, LEN_AUTO, 0, 5, SEQC_EFORMAT, "too short", NULL},
	{"len>file", "{}", 0, 1000, 0, 0, SEQC_EFORMAT, "header length 1000 is larger", NULL},
	{"len+1", "{}", 0, 3, 0, 0, SEQC_EFORMAT, "is larger than the 2 bytes", NULL},
	{"len absurd", "{}", 0, 200000000, 0, 0, SEQC_ENOMEM, "exceeds the limit", NULL},
	{"len max", "{}", 0, UINT64_MAX - 1, 0, 0, SEQC_ENOMEM, "exceeds the limit", NULL},
	{"len 2^63", "{}", 0, (uint64_t)1 << 63, 0, 0, SEQC_ENOMEM, "exceeds the limit", NULL},
	{"len 0", "", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "begin with '{'", NULL},
	{"leading space", " {}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "begin with '{'", NULL},
	{"array", "[1]", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "begin with '{'", NULL},
	{"string", "\"x\"", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "begin with '{'", NULL},
	/* the JSON */
	{"cut JSON", "{\"a\":", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not valid JSON", NULL},
	{"bad UTF-8", "{\"a\xff\":{}}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not valid JSON", NULL},
	{"overlong UTF-8", "{\"\xc0\xaf\":{}}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not valid JSON",
	 NULL},
	{"surrogate", "{\"\xed\xa0\x80\":{}}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not valid JSON",
	 NULL},
	{"garbage after", "{} x", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not valid JSON", NULL},
	{"NUL padding", "{}\0\0\0\0\0\0", 8, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not valid JSON", NULL},
	{"NUL in name", "{\"a\\u0000b\":{}}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not valid JSON",
	 NULL},
	{"two objects", "{}{}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not valid JSON", NULL},
	{"duplicate tensor", "{" T("a", "[1]", "[0,4]") "," T("a", "[1]", "[4,8]") "}", 0,
	 LEN_AUTO, 8, 0, SEQC_EFORMAT, "duplicate", NULL},
	{"duplicate field",
	 "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0,
	 LEN_AUTO, 4, 0, SEQC_EFORMAT, "duplicate", NULL},
	{"duplicate metadata", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, LEN_AUTO, 0, 0,
	 SEQC_EFORMAT, "duplicate", NULL},
	{"huge integer", "{" T("a", "[100000000000000000000000]", "[0,4]") "}", 0, LEN_AUTO, 4, 0,
	 SEQC_EFORMAT, "not valid JSON", NULL},
	/* entries */
	{"entry number", "{\"a\":1}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not an object", "'a'"},
	{"entry array", "{\"a\":[]}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not an object", "'a'"},
	{"entry null", "{\"a\":null}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT, "not an object", "'a'"},
	{"empty name", "{" T("", "[1]", "[0,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "empty name", NULL},
	{"extra field",
	 "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"offset\":0}}", 0,
	 LEN_AUTO, 4, 0, SEQC_EFORMAT, "unexpected key 'offset'", "'a'"},
	/* dtype */
	{"no dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 0, LEN_AUTO, 4, 0,
	 SEQC_EFORMAT, "has no dtype", "'a'"},
	{"dtype number", "{" D("a", "32", "[1]", "[0,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "dtype is not a string", "'a'"},
	{"dtype I64", "{" D("a", "\"I64\"", "[1]", "[0,8]") "}", 0, LEN_AUTO, 8, 0,
	 SEQC_EUNSUPPORTED, "dtype 'I64' is not supported", "'a'"},
	{"dtype F64", "{" D("a", "\"F64\"", "[1]", "[0,8]") "}", 0, LEN_AUTO, 8, 0,
	 SEQC_EUNSUPPORTED, "dtype 'F64'", "'a'"},
	{"dtype lower", "{" D("a", "\"f32\"", "[1]", "[0,4]") "}", 0, LEN_AUTO, 4, 0,
	 SEQC_EUNSUPPORTED, "dtype 'f32'", "'a'"},
	/* shape */
	{"no shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 0, LEN_AUTO, 4, 0,
	 SEQC_EFORMAT, "has no shape", "'a'"},
	{"shape number", "{" T("a", "4", "[0,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "shape is not an array", "'a'"},
	{"shape object", "{" T("a", "{}", "[0,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "shape is not an array", "'a'"},
	{"shape negative", "{" T("a", "[2,-1]", "[0,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "shape[1] is not a non-negative integer", "'a'"},
	{"shape real", "{" T("a", "[1.0]", "[0,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "shape[0] is not a non-negative integer", "'a'"},
	{"shape string", "{" T("a", "[\"1\"]", "[0,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "shape[0] is not a non-negative integer", "'a'"},
	{"shape nested", "{" T("a", "[[1]]", "[0,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "shape[0] is not a non-negative integer", "'a'"},
	{"5 dims", "{" T("a", "[1,1,1,1,1]", "[0,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EUNSUPPORTED,
	 "5 dimensions", "'a'"},
	{"zero dim", "{" T("a", "[3,0]", "[0,0]") "}", 0, LEN_AUTO, 0, 0, SEQC_EUNSUPPORTED,
	 "shape[1] is 0", "'a'"},
	{"overflow", "{" T("a", "[4294967296,4294967296]", "[0,4]") "}", 0, LEN_AUTO, 4, 0,
	 SEQC_EFORMAT, "overflows", "'a'"},
	{"overflow bytes", "{" T("a", "[4611686018427387904]", "[0,4]") "}", 0, LEN_AUTO, 4, 0,
	 SEQC_EFORMAT, "overflows", "'a'"},
	/* data_offsets */
	{"no offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 0, LEN_AUTO, 4, 0,
	 SEQC_EFORMAT, "has no data_offsets", "'a'"},
	{"offsets number", "{" T("a", "[1]", "0") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "not a pair", "'a'"},
	{"offsets one", "{" T("a", "[1]", "[0]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "not a pair", "'a'"},
	{"offsets three", "{" T("a", "[1]", "[0,4,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "not a pair", "'a'"},
	{"offsets real", "{" T("a", "[1]", "[0,4.0]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "not non-negative integers", "'a'"},
	{"offsets negative", "{" T("a", "[1]", "[-4,0]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "not non-negative integers", "'a'"},
	{"offsets null", "{" T("a", "[1]", "[null,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "not non-negative integers", "'a'"},
	{"begin>end", "{" T("a", "[1]", "[8,4]") "}", 0, LEN_AUTO, 8, 0, SEQC_EFORMAT,
	 "begin 8 is after end 4", "'a'"},
	{"end beyond", "{" T("a", "[2]", "[0,8]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "end 8 is beyond the data section (4 bytes)", "'a'"},
	{"end far beyond", "{" T("a", "[1]", "[9223372036854775800,9223372036854775804]") "}", 0,
	 LEN_AUTO, 4, 0, SEQC_EFORMAT, "beyond the data section", "'a'"},
	{"span short", "{" T("a", "[2]", "[0,4]") "}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "span 4 bytes but its shape and dtype need 8", "'a'"},
	{"span long", "{" T("a", "[1]", "[0,8]") "}", 0, LEN_AUTO, 8, 0, SEQC_EFORMAT,
	 "span 8 bytes but its shape and dtype need 4", "'a'"},
	{"span F16", "{" D("a", "\"F16\"", "[2]", "[0,8]") "}", 0, LEN_AUTO, 8, 0, SEQC_EFORMAT,
	 "need 4", "'a'"},
	{"overlap", "{" T("a", "[2]", "[0,8]") "," T("b", "[2]", "[4,12]") "}", 0, LEN_AUTO, 12, 0,
	 SEQC_EFORMAT, "overlap", "'b'"},
	{"same range", "{" T("a", "[2]", "[0,8]") "," T("b", "[2]", "[0,8]") "}", 0, LEN_AUTO, 8,
	 0, SEQC_EFORMAT, "overlap", NULL},
	{"hole first", "{" T("a", "[1]", "[4,8]") "}", 0, LEN_AUTO, 8, 0, SEQC_EFORMAT,
	 "4 bytes before tensor 'a' belong to no tensor", NULL},
	{"hole between", "{" T("a", "[1]", "[0,4]") "," T("b", "[1]", "[8,12]") "}", 0, LEN_AUTO,
	 12, 0, SEQC_EFORMAT, "before tensor 'b' belong to no tensor", NULL},
	{"tail", "{" T("a", "[1]", "[0,4]") "}", 0, LEN_AUTO, 8, 0, SEQC_EFORMAT,
	 "the last 4 bytes of the data section belong to no tensor", NULL},
	{"data without tensors", "{}", 0, LEN_AUTO, 4, 0, SEQC_EFORMAT,
	 "the last 4 bytes", NULL},
	/* metadata */
	{"metadata string", "{\"__metadata__\":\"x\"}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT,
	 "__metadata__ is not an object", NULL},
	{"metadata array", "{\"__metadata__\":[]}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT,
	 "__metadata__ is not an object", NULL},
	{"metadata number", "{\"__metadata__\":{\"k\":1}}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT,
	 "value of 'k' is not a string", NULL},
	{"metadata null", "{\"__metadata__\":{\"k\":null}}", 0, LEN_AUTO, 0, 0, SEQC_EFORMAT,
	 "value of 'k' is not a string", NULL},
	{"metadata nested", "{\"__metadata__\":{\"k\":{\"a\":\"b\"}}}", 0, LEN_AUTO, 0, 0,
	 SEQC_EFORMAT, "value of 'k' is not a string", NULL},
};

START_TEST(bad_inputs)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
		const bad_case *c = &bad_cases[i];
		size_t hlen = c->hlen ? c->hlen : strlen(c->header), len;
		unsigned char *full = image(c->header, hlen, c->len_field, c->ndata, &len);
		if (c->truncate)
			len = c->truncate;
		/* an exact-size copy, so any read past the end is caught */
		unsigned char *buf = malloc(len ? len : 1);
		memcpy(buf, full, len);
		free(full);
		seqc_error_clear();
		seqc_st *st = NULL;
		int rc = seqc_st_read_mem(buf, len, c->what, &st);
		const char *msg = seqc_errmsg();
		if (rc == 0) {
			fprintf(stderr, "%s: accepted\n", c->what);
			failures++;
			seqc_st_destroy(st);
		} else if (rc != c->code || st) {
			fprintf(stderr, "%s: code %d (%s), expected %d\n", c->what, rc, msg, c->code);
			failures++;
		} else if (!strstr(msg, c->what) || !strstr(msg, c->phrase) ||
			   (c->phrase2 && !strstr(msg, c->phrase2))) {
			fprintf(stderr, "%s: message '%s' lacks '%s'%s%s\n", c->what, msg, c->phrase,
				c->phrase2 ? " or " : "", c->phrase2 ? c->phrase2 : "");
			failures++;
		}
		free(buf);
	}
	ck_assert_int_eq(failures, 0);
}
END_TEST

/* The harness itself accepts good inputs, including the format's corners. */
START_TEST(good_inputs)
{
	static const struct {
		const char *what, *header;
		size_t ndata, count;
	} cases[] = {
		{"one tensor", "{" T("a", "[2]", "[0,8]") "}", 8, 1},
		{"no tensors", "{}", 0, 0},
		{"metadata only", "{\"__metadata__\":{\"k\":\"v\"}}", 0, 0},
		{"empty metadata", "{\"__metadata__\":{}," T("a", "[1]", "[0,4]") "}", 4, 1},
		{"space padding", "{" T("a", "[1]", "[0,4]") "}     ", 4, 1},
		{"JSON whitespace", "{ \"a\" : {\"dtype\":\"F32\",\n\"shape\":[ 1 ],\"data_offsets\":[0, 4]}}\t\n",
		 4, 1},
		{"scalar", "{" T("a", "[]", "[0,4]") "}", 4, 1},
		{"4 dims", "{" T("a", "[1,2,1,2]", "[0,16]") "}", 16, 1},
		{"mixed dtypes", "{" D("h", "\"BF16\"", "[2]", "[8,12]") "," D("f", "\"F16\"", "[1]", "[12,14]") "," T("a", "[2]", "[0,8]") "}",
		 14, 3},
		{"escaped name", "{" T("a\\u00e9\\\"", "[1]", "[0,4]") "}", 4, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t len;
		unsigned char *buf =
			image(cases[i].header, strlen(cases[i].header), LEN_AUTO, cases[i].ndata, &len);
		seqc_st *st = NULL;
		int rc = seqc_st_read_mem(buf, len, cases[i].what, &st);
		ck_assert_msg(rc == 0, "%s: %s", cases[i].what, seqc_errmsg());
		ck_assert_uint_eq(seqc_st_count(st), cases[i].count);
		seqc_st_destroy(st);
		free(buf);
	}
}
END_TEST

/* A valid file with metadata and tensors of every dtype we read. */
static const char valid_header[] =
	"{\"__metadata__\":{\"config\":\"{\\\"n\\\": 1}\",\"k\":\"\xc3\xa9\"},"
	T("w", "[2,3]", "[0,24]") "," D("h", "\"F16\"", "[3]", "[24,30]") ","
	D("b", "\"BF16\"", "[]", "[30,32]") "}   ";

/* Every proper prefix of a valid file fails cleanly, from memory and from
 * a file; the whole of it reads. */
START_TEST(every_truncation)
{
	size_t full;
	unsigned char *img = image(valid_header, strlen(valid_header), LEN_AUTO, 32, &full);
	char *dir = st_tmpdir();
	char path[8192];
	snprintf(path, sizeof path, "%s/cut.safetensors", dir);
	for (size_t len = 0; len <= full; len++) {
		unsigned char *buf = malloc(len ? len : 1);
		memcpy(buf, img, len);
		seqc_st *st = NULL;
		seqc_error_clear();
		int rc = seqc_st_read_mem(buf, len, "cut", &st);
		if (len < full) {
			ck_assert_msg(rc == SEQC_EFORMAT && !st, "length %zu of %zu: code %d", len, full,
				      rc);
			ck_assert_msg(strstr(seqc_errmsg(), "cut"), "length %zu: message '%s'", len,
				      seqc_errmsg());
		} else {
			ck_assert_msg(rc == 0, "whole file: %s", seqc_errmsg());
			ck_assert_uint_eq(seqc_st_count(st), 3);
			ck_assert_str_eq(seqc_st_meta(st, "config"), "{\"n\": 1}");
			seqc_st_destroy(st);
		}
		st_spit(path, buf, len);
		int frc = seqc_st_read(path, &st);
		ck_assert_msg(frc == rc, "length %zu: file read gives %d, memory %d", len, frc, rc);
		seqc_st_destroy(st);
		free(buf);
	}
	free(img);
	st_rmdir(dir);
}
END_TEST

/* One-byte corruptions at every position: each read either fails with a
 * message or gives a consistent result; none crashes or overreads. */
START_TEST(every_corruption)
{
	static const unsigned char subst[] = {0x00, 0xff, 0x80, '{', '}', '"', '[', ']', ',', ':',
					      '0', '9', '-', ' ', '\\'};
	size_t full;
	unsigned char *img = image(valid_header, strlen(valid_header), LEN_AUTO, 32, &full);
	unsigned char *buf = malloc(full);
	size_t accepted = 0, tries = 0;
	for (size_t pos = 0; pos < full; pos++) {
		for (size_t j = 0; j <= sizeof subst; j++) {
			memcpy(buf, img, full);
			buf[pos] = j < sizeof subst ? subst[j] : (unsigned char)(img[pos] ^ 1);
			seqc_st *st = NULL;
			seqc_error_clear();
			int rc = seqc_st_read_mem(buf, full, "corrupt", &st);
			tries++;
			if (rc < 0) {
				ck_assert_ptr_null(st);
				ck_assert_msg(seqc_errmsg()[0] != '\0', "no message at %zu", pos);
				continue;
			}
			accepted++;
			size_t total = 0;
			for (size_t i = 0; i < seqc_st_count(st); i++) {
				const seqc_st_tensor *t = seqc_st_tensor_at(st, i);
				size_t n = 1;
				for (int d = 0; d < t->ndim; d++)
					n *= t->shape[d];
				ck_assert(t->ndim >= 1 && t->ndim <= SEQC_MAX_DIMS && n == t->numel);
				total += t->numel;
			}
			ck_assert_uint_le(total, full);
			seqc_st_destroy(st);
		}
	}
	/* corrupted data bytes (and some harmless header bytes) still read */
	ck_assert_uint_gt(accepted, 0);
	ck_assert_uint_lt(accepted, tries);
	free(buf);
	free(img);
}
END_TEST

/* Deep nesting stops at jansson's depth limit instead of the stack's. */
START_TEST(deep_nesting)
{
	enum { DEPTH = 200000 };
	char *h = malloc(2 * DEPTH + 16);
	size_t n = 0;
	n += (size_t)sprintf(h, "{\"a\":");
	for (int i = 0; i < DEPTH; i++)
		h[n++] = '[';
	for (int i = 0; i < DEPTH; i++)
		h[n++] = ']';
	h[n++] = '}';
	size_t len;
	unsigned char *buf = image(h, n, LEN_AUTO, 0, &len);
	seqc_st *st = NULL;
	ck_assert_int_eq(seqc_st_read_mem(buf, len, "deep", &st), SEQC_EFORMAT);
	ck_assert_msg(strstr(seqc_errmsg(), "not valid JSON"), "%s", seqc_errmsg());
	free(buf);
	free(h);
}
END_TEST

START_TEST(null_arguments)
{
	seqc_st *st = NULL;
	ck_assert_int_eq(seqc_st_read_mem(NULL, 10, NULL, &st), SEQC_EINVAL);
	ck_assert_msg(strstr(seqc_errmsg(), "buffer"), "%s", seqc_errmsg());
	ck_assert_int_eq(seqc_st_read_mem(NULL, 0, NULL, &st), SEQC_EFORMAT);
	ck_assert_int_eq(seqc_st_read(NULL, &st), SEQC_EINVAL);
	seqc_st_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("st_malformed");
	TCase *tc = tcase_create("malformed");
	tcase_add_test(tc, bad_inputs);
	tcase_add_test(tc, good_inputs);
	tcase_add_test(tc, every_truncation);
	tcase_add_test(tc, every_corruption);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, null_arguments);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
