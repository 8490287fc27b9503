#!/usr/bin/env bash
# Fuzzes every reader of outside data for a bounded time (see fuzz/README.md): installs
# what is missing from Debian, builds the libFuzzer targets in build-fuzz/ (clang, ASan,
# UBSan), runs each one on a copy of its seed corpus, and prints a table.
#
#   scripts/fuzz.sh            # 60 seconds per target
#   scripts/fuzz.sh 600        # 10 minutes per target
#
# The repository's corpus (fuzz/corpus/) is only read: what the fuzzer adds goes to a
# copy, which is deleted at the end. A crash, a sanitizer report, a hang (over 10 s on
# one input), an allocation over 512 MB or a rejection whose message does not name the
# file stops that target, leaves the input in build-fuzz/fuzz-artifacts/TARGET/, and
# makes this script exit 1. Run it as root, or as a user with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2; }
build_dir=build-fuzz
targets=(idx safetensors checkpoint bpe_model bpe_encode gpt2_vocab gpt2_encoder word2vec_vectors word2vec_eval text_corpus)

# scripts/setup.sh --fuzz installs what is missing (clang and its runtimes among it) and
# builds the targets in build-fuzz/ (ZOO_FUZZ_JOBS or ZOO_BUILD_JOBS: compile jobs).
ZOO_BUILD_JOBS=${ZOO_FUZZ_JOBS:-${ZOO_BUILD_JOBS:-$(nproc)}} scripts/setup.sh --fuzz

# One thread: zoo's (libomp) and OpenBLAS's (libgomp) OpenMP runtimes both load, and the
# readers have nothing to parallelise on inputs of a few KB.
export ZOO_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
logs="$build_dir/fuzz-logs"
mkdir -p "$logs"
failed=0
rows=()
for t in "${targets[@]}"; do
  cp -r "fuzz/corpus/$t" "$work/$t"
  artifacts="$build_dir/fuzz-artifacts/$t"
  mkdir -p "$artifacts"
  flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512
         -print_final_stats=1 -artifact_prefix="$artifacts/")
  [ -f "fuzz/dict/$t.dict" ] && flags+=(-dict="fuzz/dict/$t.dict")
  echo "fuzz: fuzz_$t for ${seconds} s (log: $logs/$t.log)"
  result=ok
  "$build_dir/fuzz/fuzz_$t" "${flags[@]}" "$work/$t" > "$logs/$t.log" 2>&1 || result=FAILED
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
  corpus=$(find "$work/$t" -type f | wc -l)
  if [ "$result" != ok ]; then
    failed=1
    artifact=$(sed -n 's/.*Test unit written to //p' "$logs/$t.log" | tail -1)
    result="FAILED ${artifact:-see the log}"
    tail -40 "$logs/$t.log"
  fi
  rows+=("$(printf '%-22s %12s %8s  %s' "fuzz_$t" "${execs:-?}" "$corpus" "$result")")
done

echo
printf '%-22s %12s %8s  %s\n' target executions corpus result
for row in "${rows[@]}"; do echo "$row"; done
exit $failed
