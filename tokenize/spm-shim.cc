// The SentencePiece shim: the only C++ in the tree (see tokenize/spm_shim.h).
//
// Every extern "C" function runs its body through guarded(), which catches
// every exception (std::bad_alloc from a vector, anything the library or
// protobuf throws) and turns it into a SEQC_E* code with a message: no
// exception may unwind into C frames.

// The C headers below have no extern "C" of their own; the system headers
// they include are included first so that they are not declared inside the
// extern "C" block.
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmath>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

extern "C" {
#include "tokenize/spm_shim.h"
}

namespace spm = sentencepiece;

// Two functions libsentencepiece exports without declaring them in its
// public headers (src/util.h, src/common.h of 0.1.97). Sampling draws from a
// thread-local std::mt19937 seeded once per thread from a global seed, so
// SetRandomGeneratorSeed cannot make a second call reproducible; reseeding
// the calling thread's generator can. The trainer logs through a global
// level. Were a later library to drop them, linking would fail, not
// behaviour silently change; the tests check reproducible sampling.
namespace sentencepiece {
namespace random {
std::mt19937 *GetRandomGenerator();
}
namespace logging {
int GetMinLogLevel();
void SetMinLogLevel(int v);
}
}

struct seqc_spm {
	spm::SentencePieceProcessor proc;
	int32_t size;
};

// The most encodings nbest returns (SentencePiece clamps to the same).
static const int MAX_NBEST = 1024;

template <typename F>
static int guarded(const char *what, F &&body) noexcept
{
	try {
		return body();
	} catch (const std::bad_alloc &) {
		return seqc_error(SEQC_ENOMEM, "%s: out of memory", what);
	} catch (const std::length_error &e) {
		return seqc_error(SEQC_ENOMEM, "%s: too large (%s)", what, e.what());
	} catch (const std::exception &e) {
		return seqc_error(SEQC_EINVAL, "%s: sentencepiece failed: %s", what, e.what());
	} catch (...) {
		return seqc_error(SEQC_EINVAL, "%s: sentencepiece failed with an unknown exception",
				  what);
	}
}

// The SEQC_E* code for a failed status: the library's own kind where it
// says something, fallback otherwise.
static int status_code(const spm::util::Status &st, int fallback)
{
	switch (st.code()) {
	case spm::util::StatusCode::kResourceExhausted:
		return SEQC_ENOMEM;
	case spm::util::StatusCode::kUnimplemented:
		return SEQC_EUNSUPPORTED;
	default:
		return fallback;
	}
}

static int status_error(const spm::util::Status &st, int fallback, const char *what,
			const char *doing)
{
	return seqc_error(status_code(st, fallback), "%s: %s: %s", what, doing, st.message());
}

static void append_ids(const std::vector<int> &ids, seqc_idvec *out)
{
	for (int id : ids)
		if (seqc_idvec_push(out, id) < 0)
			throw std::bad_alloc();
}

// ---- loading ----

static int finish_load(seqc_spm *sp, const char *what)
{
	int n = sp->proc.GetPieceSize();
	if (n <= 0)
		return seqc_error(SEQC_EFORMAT, "%s: the model has no pieces", what);
	sp->size = n;
	return 0;
}

seqc_spm *seqc_spm_shim_load_file(const char *path)
{
	seqc_spm *sp = nullptr;
	int rc = guarded(path, [&] {
		sp = new seqc_spm();
		spm::util::Status st = sp->proc.Load(path);
		// Only the file's absence or permissions make these two (the
		// trainer uses kNotFound for an unknown flag).
		bool io = st.code() == spm::util::StatusCode::kNotFound ||
			  st.code() == spm::util::StatusCode::kPermissionDenied;
		if (!st.ok())
			return status_error(st, io ? SEQC_EIO : SEQC_EFORMAT, path,
					    io ? "cannot read" : "not a usable SentencePiece model");
		return finish_load(sp, path);
	});
	if (rc < 0) {
		delete sp;
		return nullptr;
	}
	return sp;
}

seqc_spm *seqc_spm_shim_load_bytes(const void *data, size_t len, const char *what)
{
	if (len == 0)
		return seqc_error(SEQC_EFORMAT, "%s: empty (0 bytes), not a SentencePiece model", what),
		       nullptr;
	seqc_spm *sp = nullptr;
	int rc = guarded(what, [&] {
		sp = new seqc_spm();
		std::string_view bytes(static_cast<const char *>(data), len);
		spm::util::Status st = sp->proc.LoadFromSerializedProto(bytes);
		if (!st.ok())
			return status_error(st, SEQC_EFORMAT, what, "not a usable SentencePiece model");
		return finish_load(sp, what);
	});
	if (rc < 0) {
		delete sp;
		return nullptr;
	}
	return sp;
}

void seqc_spm_shim_free(seqc_spm *sp)
{
	delete sp;
}

// ---- vocabulary ----

size_t seqc_spm_shim_vocab_size(const seqc_spm *sp)
{
	return (size_t)sp->size;
}

void seqc_spm_shim_specials(const seqc_spm *sp, int32_t *bos, int32_t *eos, int32_t *pad,
			    int32_t *unk)
{
	// The model proto stores them; the library answers -1 for "none" and
	// maps ids outside the vocabulary nowhere, so check.
	auto valid = [sp](int id) { return id >= 0 && id < sp->size ? id : -1; };
	*bos = *eos = *pad = *unk = -1;
	guarded("specials", [&] {
		*bos = valid(sp->proc.bos_id());
		*eos = valid(sp->proc.eos_id());
		*pad = valid(sp->proc.pad_id());
		*unk = valid(sp->proc.unk_id());
		return 0;
	});
}

const char *seqc_spm_shim_id_to_piece(const seqc_spm *sp, int32_t id, size_t *len)
{
	*len = 0;
	if (id < 0 || id >= sp->size)
		return seqc_error(SEQC_ERANGE, "piece: id %d is outside the vocabulary [0, %d)", id,
				  sp->size), nullptr;
	// A reference into the loaded model, valid as long as it.
	const char *piece = nullptr;
	guarded("piece", [&] {
		const std::string &p = sp->proc.IdToPiece(id);
		*len = p.size();
		piece = p.c_str();
		return 0;
	});
	return piece;
}

seqc_spm_piece_type seqc_spm_shim_piece_type(const seqc_spm *sp, int32_t id)
{
	int type = SEQC_SPM_PIECE_NORMAL;
	guarded("piece type", [&] {
		type = sp->proc.IsUnknown(id)   ? SEQC_SPM_PIECE_UNKNOWN
		       : sp->proc.IsControl(id) ? SEQC_SPM_PIECE_CONTROL
		       : sp->proc.IsUnused(id)  ? SEQC_SPM_PIECE_UNUSED
		       : sp->proc.IsByte(id)    ? SEQC_SPM_PIECE_BYTE
						: SEQC_SPM_PIECE_NORMAL;
		return 0;
	});
	return (seqc_spm_piece_type)type;
}

int32_t seqc_spm_shim_piece_to_id(const seqc_spm *sp, const char *piece, size_t len)
{
	int32_t id = -1;
	guarded("piece lookup", [&] {
		std::string_view p(piece, len);
		int k = sp->proc.PieceToId(p);
		// PieceToId answers unk for a piece it lacks.
		if (k >= 0 && k < sp->size && (!sp->proc.IsUnknown(k) || sp->proc.IdToPiece(k) == p))
			id = k;
		return 0;
	});
	return id;
}

// ---- encoding ----

int seqc_spm_shim_encode_ids(const seqc_spm *sp, const char *text, size_t len, seqc_idvec *out)
{
	return guarded("encode", [&] {
		std::vector<int> ids;
		spm::util::Status st = sp->proc.Encode(std::string_view(text, len), &ids);
		if (!st.ok())
			return status_error(st, SEQC_EINVAL, "encode", "sentencepiece");
		append_ids(ids, out);
		return 0;
	});
}

int seqc_spm_shim_encode_pieces(const seqc_spm *sp, const char *text, size_t len, char **buf,
				size_t **off, size_t *n)
{
	*buf = nullptr;
	*off = nullptr;
	*n = 0;
	return guarded("encode pieces", [&] {
		std::vector<std::string> pieces;
		spm::util::Status st = sp->proc.Encode(std::string_view(text, len), &pieces);
		if (!st.ok())
			return status_error(st, SEQC_EINVAL, "encode pieces", "sentencepiece");
		size_t total = 0;
		for (const std::string &p : pieces)
			total += p.size() + 1;
		char *b = static_cast<char *>(malloc(total ? total : 1));
		size_t *o = static_cast<size_t *>(malloc((pieces.size() + 1) * sizeof *o));
		if (!b || !o) {
			free(b);
			free(o);
			return seqc_error(SEQC_ENOMEM, "encode pieces: cannot allocate %zu pieces",
					  pieces.size());
		}
		size_t at = 0;
		for (size_t i = 0; i < pieces.size(); i++) {
			o[i] = at;
			memcpy(b + at, pieces[i].data(), pieces[i].size());
			at += pieces[i].size();
			b[at++] = '\0';
		}
		o[pieces.size()] = at;
		*buf = b;
		*off = o;
		*n = pieces.size();
		return 0;
	});
}

int seqc_spm_shim_sample_ids(const seqc_spm *sp, const char *text, size_t len, int nbest,
			     float alpha, uint64_t seed, seqc_idvec *out)
{
	return guarded("sample", [&] {
		// mt19937 takes 32 bits: fold the seed so both halves count.
		spm::random::GetRandomGenerator()->seed((uint32_t)(seed ^ (seed >> 32)));
		std::vector<int> ids;
		spm::util::Status st =
			sp->proc.SampleEncode(std::string_view(text, len), nbest, alpha, &ids);
		if (!st.ok())
			return status_error(st, SEQC_EINVAL, "sample", "sentencepiece");
		append_ids(ids, out);
		return 0;
	});
}

int seqc_spm_shim_nbest(const seqc_spm *sp, const char *text, size_t len, int n,
			seqc_spm_nbest *out)
{
	*out = seqc_spm_nbest{};
	if (n < 1 || n > MAX_NBEST)
		return seqc_error(SEQC_EINVAL, "nbest: n is %d, outside [1, %d]", n, MAX_NBEST);
	int rc = guarded("nbest", [&] {
		spm::ImmutableNBestSentencePieceText nb;
		spm::util::Status st =
			sp->proc.NBestEncode(std::string_view(text, len), n, nb.mutable_proto());
		if (!st.ok())
			return status_error(st, SEQC_EUNSUPPORTED, "nbest", "sentencepiece");
		size_t count = nb.nbests_size(), total = 0;
		for (size_t i = 0; i < count; i++)
			total += nb.nbests((int)i).pieces_size();
		out->ids = static_cast<int32_t *>(malloc((total ? total : 1) * sizeof *out->ids));
		out->start = static_cast<size_t *>(malloc((count + 1) * sizeof *out->start));
		out->score = static_cast<float *>(malloc((count ? count : 1) * sizeof *out->score));
		if (!out->ids || !out->start || !out->score)
			return seqc_error(SEQC_ENOMEM, "nbest: cannot allocate %zu encodings", count);
		size_t at = 0;
		for (size_t i = 0; i < count; i++) {
			spm::ImmutableSentencePieceText e = nb.nbests((int)i);
			out->start[i] = at;
			out->score[i] = e.score();
			for (size_t k = 0; k < e.pieces_size(); k++)
				out->ids[at++] = (int32_t)e.pieces((int)k).id();
		}
		out->start[count] = at;
		out->count = count;
		return 0;
	});
	if (rc < 0) {
		free(out->ids);
		free(out->start);
		free(out->score);
		*out = seqc_spm_nbest{};
	}
	return rc;
}

// ---- decoding ----

// A malloc'ed NUL-terminated copy of s, for C to free.
static int copy_out(const std::string &s, char **data, size_t *len, const char *what)
{
	char *d = static_cast<char *>(malloc(s.size() + 1));
	if (!d)
		return seqc_error(SEQC_ENOMEM, "%s: cannot allocate %zu bytes", what, s.size() + 1);
	memcpy(d, s.data(), s.size());
	d[s.size()] = '\0';
	*data = d;
	if (len)
		*len = s.size();
	return 0;
}

int seqc_spm_shim_decode_ids(const seqc_spm *sp, const int32_t *ids, size_t n, char **text,
			     size_t *len)
{
	*text = nullptr;
	if (len)
		*len = 0;
	for (size_t i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= sp->size)
			return seqc_error(SEQC_ERANGE, "decode: ids[%zu] = %d is outside the "
					  "vocabulary [0, %d)", i, ids[i], sp->size);
	return guarded("decode", [&] {
		std::vector<int> v(ids, ids + n);
		std::string s;
		spm::util::Status st = sp->proc.Decode(v, &s);
		if (!st.ok())
			return status_error(st, SEQC_EINVAL, "decode", "sentencepiece");
		return copy_out(s, text, len, "decode");
	});
}

int seqc_spm_shim_model_bytes(const seqc_spm *sp, char **data, size_t *len)
{
	*data = nullptr;
	*len = 0;
	return guarded("model bytes", [&] {
		return copy_out(sp->proc.serialized_model_proto(), data, len, "model bytes");
	});
}

// ---- training ----

namespace {

// The lines of one text, for the trainer.
class line_iterator : public spm::SentenceIterator {
public:
	line_iterator(const char *text, size_t len) : end_(text + len), at_(text)
	{
		load();
	}
	bool done() const override { return done_; }
	void Next() override { load(); }
	const std::string &value() const override { return line_; }
	spm::util::Status status() const override { return spm::util::Status(); }

private:
	void load()
	{
		if (at_ >= end_) {
			done_ = true;
			line_.clear();
			return;
		}
		const char *nl = static_cast<const char *>(memchr(at_, '\n', (size_t)(end_ - at_)));
		const char *stop = nl ? nl : end_;
		line_.assign(at_, (size_t)(stop - at_));
		at_ = nl ? nl + 1 : end_;
	}
	const char *end_, *at_;
	std::string line_;
	bool done_ = false;
};

// Restores the trainer's log level however training ends.
class log_level {
public:
	explicit log_level(int level) : saved_(spm::logging::GetMinLogLevel())
	{
		spm::logging::SetMinLogLevel(level);
	}
	~log_level() { spm::logging::SetMinLogLevel(saved_); }

private:
	int saved_;
};

} // namespace

// The flags the train arguments set themselves.
static const char *const owned_flags[] = {"input", "model_prefix", "model_type", "vocab_size"};

// Appends the flags of extra to args, each checked to be --name=value and
// not one of owned_flags.
static int add_extra(const char *extra, std::string &args)
{
	const char *s = extra;
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		size_t n = strcspn(s, " \t\n");
		std::string flag(s, n);
		s += n;
		size_t eq = flag.find('=');
		if (flag.compare(0, 2, "--") != 0 || eq == std::string::npos || eq == 2)
			return seqc_error(SEQC_EINVAL, "spm training options: \"%s\" is not of the "
					  "form --name=value", flag.c_str());
		std::string name = flag.substr(2, eq - 2);
		for (const char *own : owned_flags)
			if (name == own)
				return seqc_error(SEQC_EINVAL, "spm training options: --%s is set by "
						  "the trainer's arguments, not by extra options",
						  own);
		args += ' ';
		args += flag;
	}
	return 0;
}

int seqc_spm_shim_train(const char *text, size_t len, const char *model_type, size_t vocab_size,
			const char *extra, bool verbose, char **model, size_t *model_len)
{
	*model = nullptr;
	*model_len = 0;
	if (vocab_size > (size_t)INT32_MAX)
		return seqc_error(SEQC_EINVAL, "spm training: vocab_size %zu is too large",
				  vocab_size);
	return guarded("spm training", [&] {
		std::string args = "--model_type=" + std::string(model_type) +
				   " --vocab_size=" + std::to_string(vocab_size);
		int rc = extra ? add_extra(extra, args) : 0;
		if (rc < 0)
			return rc;
		line_iterator lines(text, len);
		std::string out;
		// 0 logs everything (INFO); 1 warnings and errors only.
		log_level quiet(verbose ? 0 : 1);
		spm::util::Status st = spm::SentencePieceTrainer::Train(args, &lines, &out);
		if (!st.ok())
			return status_error(st, SEQC_EINVAL, "spm training", "sentencepiece");
		if (out.empty())
			return seqc_error(SEQC_EINVAL, "spm training: the trainer wrote no model");
		return copy_out(out, model, model_len, "spm training");
	});
}
