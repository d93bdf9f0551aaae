#!/usr/bin/env bash
# Fuzz every reader of seqc with libFuzzer (clang, ASan + UBSan): builds the
# harnesses of tests/fuzz into their own folder, makes the seed corpora, runs
# each harness for a bounded time and prints one summary line per harness.
#
#   tests/fuzz/run.sh [SECONDS [HARNESS...]]
#
# SECONDS per harness (default 60); HARNESS names without "fuzz_" (default:
# all). Exits non-zero when any harness finds a crash, leak, timeout, UB or
# an allocation beyond the limits; the input is saved as
# $BUILD/fuzz/crashes/<harness>/crash-* (or leak-*, timeout-*, oom-*) and can
# be replayed with `$BUILD/tests/fuzz/fuzz_<harness> FILE`. Environment:
#   BUILD      build folder (default build-fuzzing)
#   JOBS       parallel compile jobs (default: the number of cores)
#   SEQC_DATA  the shared data folder with gpt2/ (default ../shared/data):
#              truncated GPT-2 files join the BPE seeds when present
# Needs clang and libclang-rt-14-dev (libFuzzer; Debian 12's clang-14
# pulls it in), python3 (meson's own) for the GPT-2 seeds.
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$PWD
secs=${1:-60}
[ $# -gt 0 ] && shift
build=${BUILD:-build-fuzzing}
jobs=${JOBS:-$(nproc)}
data=${SEQC_DATA:-$root/../shared/data}
all=(safetensors tok_json bpe_files spm model_config text cli_numbers checkpoint)
if [ $# -gt 0 ]; then harnesses=("$@"); else harnesses=("${all[@]}"); fi

# The library instrumented for coverage and sanitizers; openmp off (one
# thread per input, reproducible), werror off (clang warns where gcc, the
# compiler of the normal build, does not), C++17 for SentencePiece's header.
if [ ! -f "$build/build.ninja" ]; then
	CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Dtests=disabled -Dopenmp=false \
		-Db_sanitize=address,undefined -Db_lundef=false -Dwerror=false -Dcpp_std=c++17 \
		-Dbuildtype=debugoptimized >/dev/null
fi
targets=(tests/fuzz/fuzz_seeds)
for h in "${harnesses[@]}"; do targets+=("tests/fuzz/fuzz_$h"); done
meson compile -C "$build" -j "$jobs" "${targets[@]}" >/dev/null

# Seeds: what the library writes (fuzz_seeds), the committed fixtures, and
# GPT-2's files cut to their first 400 tokens and the merges among them.
seeds=$build/fuzz/seeds
rm -rf "$seeds"
mkdir -p "$build/fuzz"
"$build/tests/fuzz/fuzz_seeds" "$seeds"
cp "$root"/tests/golden/safetensors/*.safetensors "$root/tests/golden/gpt_hf/model.safetensors" \
	"$seeds/safetensors/"
cp "$root/tests/golden/gpt_hf/model.safetensors" "$seeds/checkpoint/gpt_hf.safetensors"
if [ -f "$data/gpt2/encoder.json" ]; then
	python3 - "$data/gpt2" "$seeds/bpe_files/gpt2_400" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
enc = {p: i for p, i in json.load(open(src + "/encoder.json", encoding="utf-8")).items() if i < 400}
merges = []
for line in open(src + "/vocab.bpe", encoding="utf-8").read().split("\n")[1:]:
    parts = line.split(" ")
    if len(parts) == 2 and parts[0] + parts[1] in enc and parts[0] in enc and parts[1] in enc:
        merges.append(line)
with open(out, "wb") as f:
    f.write(json.dumps(enc, ensure_ascii=False).encode() + b"\0")
    f.write(("#version: 0.2\n" + "\n".join(merges) + "\n").encode())
PY
fi

# Every sanitizer finding is fatal. Huge allocations are findings too
# (libFuzzer's -malloc_limit_mb follows -rss_limit_mb): sizes must be
# refused before allocating.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$root/.ci/lsan.supp:print_suppressions=0

failed=()
for h in "${harnesses[@]}"; do
	corpus=$build/fuzz/corpus/$h
	crashes=$build/fuzz/crashes/$h
	log=$build/fuzz/$h.log
	mkdir -p "$corpus" "$crashes"
	mkdir -p "$seeds/$h"
	rc=0
	"$build/tests/fuzz/fuzz_$h" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
		-close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$crashes/" \
		"$corpus" "$seeds/$h" >"$log" 2>&1 || rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
	files=$(find "$corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		printf '  fuzz_%-14s ok      %8s runs in %ss, %s, corpus %s\n' "$h" "${runs:-?}" \
			"$secs" "${cov:-cov: ?}" "$files"
	else
		printf '  fuzz_%-14s FAILED  exit %s after %s runs; input: %s; log: %s\n' "$h" "$rc" \
			"${runs:-?}" "$(ls "$crashes" | head -n 1)" "$log"
		grep -m 3 -E 'ERROR|fuzz check failed|runtime error' "$log" | sed 's/^/      /' || true
		failed+=("$h")
	fi
done
if [ ${#failed[@]} -ne 0 ]; then
	echo "fuzzing FAILED: ${failed[*]}"
	exit 1
fi
echo "fuzzing passed: ${#harnesses[@]} harnesses, ${secs}s each"
