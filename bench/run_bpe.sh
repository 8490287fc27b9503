#!/usr/bin/env bash
# Runs zoo's byte-level BPE beside sentencepiece's BPE on the Brown corpus and prints
# the comparison: training time, encoding throughput, bytes per token.
#
#   data/fetch_brown.sh && bench/run_bpe.sh
#
# Environment (all optional):
#   BUILD_DIR  build directory (default: build/ in the checkout); configured RelWithDebInfo
#   OUT_DIR    where the models, logs and the table go (default: $BUILD_DIR/bench-results/bpe)
#   THREADS    threads for training, both tools (default: 2; spm_train's --num_threads)
#   VOCAB      vocabulary size, both tools (default: 8192)
#   REPEAT     runs of each timing, zoo and sentencepiece interleaved; the table shows
#              the fastest (default: 3: a 2-core machine shared with other work can slow
#              one run down many times over)
#   JOBS       parallel compile jobs (default: nproc)
#
# What is run, on data/brown/train.txt (5.9 MB) and data/brown/valid.txt (0.18 MB):
#   train   zoo bpe train --vocab-size VOCAB --threads THREADS
#           spm_train --model_type=bpe --vocab_size=VOCAB --num_threads=THREADS and the flags
#           below, which make sentencepiece a byte-level tokenizer of the raw text like
#           zoo's: no normalisation (identity, extra spaces kept), every character kept
#           (character_coverage 1.0) with bytes as the fallback, every sentence read
#           (input_sentence_size 0, max_sentence_length large, no shuffling).
#   encode  train.txt + valid.txt (6.1 MB, one sentence a line) to ids, written to a file:
#           zoo bpe encode at 1 thread and at THREADS threads; spm_encode (one thread,
#           it has no thread option) --output_format=id.
#   b/tok   bytes of valid.txt (held out from training) over the number of ids each tool
#           writes for it. spm_encode encodes line by line and writes no id for the line
#           breaks; zoo encodes them (mostly merged into the ".\n" that ends a sentence).
# Times are wall-clock times of the whole command (reading, the work, writing), the
# fastest of REPEAT runs. zoo's training time includes its final pass that encodes the
# training text to report bytes per token. The decoded ids of both are checked against
# valid.txt (round trip).
#
# sentencepiece is only the yardstick: install it with `apt-get install sentencepiece`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results/bpe}
THREADS=${THREADS:-2}
VOCAB=${VOCAB:-8192}
REPEAT=${REPEAT:-3}
JOBS=${JOBS:-$(nproc)}
TRAIN="$ROOT/data/brown/train.txt"
VALID="$ROOT/data/brown/valid.txt"

case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "run_bpe.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

for tool in spm_train spm_encode spm_decode; do
  command -v "$tool" >/dev/null || {
    echo "run_bpe.sh: $tool is missing: install sentencepiece (the yardstick only):" >&2
    echo "    apt-get install sentencepiece" >&2
    exit 1
  }
done
[[ -f "$TRAIN" && -f "$VALID" ]] || {
  echo "run_bpe.sh: the Brown corpus is not in data/brown: run data/fetch_brown.sh first" >&2
  exit 1
}

cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target zoo
ZOO="$BUILD_DIR/zoo"
mkdir -p "$OUT_DIR"
CORPUS="$OUT_DIR/brown_all.txt"
cat "$TRAIN" "$VALID" > "$CORPUS"

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
  echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "sentencepiece: $(dpkg-query -W -f='${Version}' sentencepiece 2>/dev/null || echo '?')"
} | tee "$OUT_DIR/machine.txt"

# Seconds (wall clock) that the command "$@" takes; its output goes to $OUT_DIR/last.log.
seconds() {
  local start=$EPOCHREALTIME
  "$@" > "$OUT_DIR/last.log" 2>&1 || { cat "$OUT_DIR/last.log" >&2; return 1; }
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

zoo_train() { "$ZOO" bpe train --input "$TRAIN" --vocab-size "$VOCAB" --threads "$THREADS" --quiet --out "$OUT_DIR/zoo.model"; }
spm_train_bpe() {
  spm_train --input="$TRAIN" --model_prefix="$OUT_DIR/spm" --vocab_size="$VOCAB" --model_type=bpe \
    --num_threads="$THREADS" --character_coverage=1.0 --byte_fallback=true \
    --normalization_rule_name=identity --remove_extra_whitespaces=false \
    --input_sentence_size=0 --shuffle_input_sentence=false --max_sentence_length=100000 \
    --train_extremely_large_corpus=false --minloglevel=1
}
zoo_encode() { "$ZOO" bpe encode --model "$OUT_DIR/zoo.model" --threads "$1" --input "$2" --output "$3"; }
spm_encode_ids() { spm_encode --model="$OUT_DIR/spm.model" --output_format=id < "$1" > "$2"; }

zoo_train_s="" spm_train_s="" zoo_enc1_s="" zoo_encT_s="" spm_enc_s=""
for round in $(seq 1 "$REPEAT"); do
  echo "run_bpe.sh: round $round of $REPEAT"
  zoo_train_s=$(min "$zoo_train_s" "$(seconds zoo_train)")
  spm_train_s=$(min "$spm_train_s" "$(seconds spm_train_bpe)")
  zoo_enc1_s=$(min "$zoo_enc1_s" "$(seconds zoo_encode 1 "$CORPUS" "$OUT_DIR/zoo_all.ids")")
  zoo_encT_s=$(min "$zoo_encT_s" "$(seconds zoo_encode "$THREADS" "$CORPUS" "$OUT_DIR/zoo_all.ids")")
  spm_enc_s=$(min "$spm_enc_s" "$(seconds spm_encode_ids "$CORPUS" "$OUT_DIR/spm_all.ids")")
  echo "  train: zoo ${zoo_train_s} s, sentencepiece ${spm_train_s} s (best so far)"
done

# Bytes per token on the held-out text, and the round trip of both.
zoo_encode "$THREADS" "$VALID" "$OUT_DIR/zoo_valid.ids"
spm_encode_ids "$VALID" "$OUT_DIR/spm_valid.ids"
"$ZOO" bpe decode --model "$OUT_DIR/zoo.model" --input "$OUT_DIR/zoo_valid.ids" | cmp -s - "$VALID" &&
  zoo_rt=exact || zoo_rt=DIFFERS
spm_decode --model="$OUT_DIR/spm.model" --input_format=id < "$OUT_DIR/spm_valid.ids" | cmp -s - "$VALID" &&
  spm_rt=exact || spm_rt=DIFFERS

valid_bytes=$(wc -c < "$VALID")
corpus_bytes=$(wc -c < "$CORPUS")
zoo_tokens=$(wc -w < "$OUT_DIR/zoo_valid.ids")
spm_tokens=$(wc -w < "$OUT_DIR/spm_valid.ids")
zoo_vocab=$("$ZOO" bpe show --model "$OUT_DIR/zoo.model" | grep -vc "^#")
spm_vocab=$(wc -l < "$OUT_DIR/spm.vocab")

awk -v zt="$zoo_train_s" -v st="$spm_train_s" -v z1="$zoo_enc1_s" -v zT="$zoo_encT_s" -v se="$spm_enc_s" \
    -v cb="$corpus_bytes" -v vb="$valid_bytes" -v ztok="$zoo_tokens" -v stok="$spm_tokens" \
    -v zv="$zoo_vocab" -v sv="$spm_vocab" -v T="$THREADS" -v zrt="$zoo_rt" -v srt="$spm_rt" 'BEGIN {
  printf "| Brown, vocabulary %d | zoo | sentencepiece | zoo / sentencepiece |\n", zv
  printf "|---|---|---|---|\n"
  printf "| vocabulary size | %d | %d | |\n", zv, sv
  printf "| training time, %d threads (s) | %.2f | %.2f | %.2fx faster |\n", T, zt, st, st / zt
  printf "| encode, 1 thread (MB/s) | %.1f | %.1f | %.2f |\n", cb / 1e6 / z1, cb / 1e6 / se, se / z1
  printf "| encode, zoo %d threads (MB/s) | %.1f | %.1f (1 thread) | %.2f |\n", T, cb / 1e6 / zT, cb / 1e6 / se, se / zT
  printf "| bytes per token, valid.txt | %.3f | %.3f | %+.1f%% |\n", vb / ztok, vb / stok, 100 * (vb / ztok - vb / stok) / (vb / stok)
  printf "| round trip of valid.txt | %s | %s | |\n", zrt, srt
}' | tee "$OUT_DIR/table.md"
echo "run_bpe.sh: table in $OUT_DIR/table.md"
