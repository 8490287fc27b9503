#!/usr/bin/env bash
# Runs zoo's word2vec beside gensim's on the Brown corpus, with identical settings, and
# prints the comparison: training words/s, WordSim-353 Spearman, analogy accuracy, and
# how far the two models agree on the nearest neighbours of frequent words.
#
#   data/fetch_brown.sh && bench/run_word2vec.sh
#
# Environment (all optional):
#   BUILD_DIR  build directory (default: build/ in the checkout); configured RelWithDebInfo
#   OUT_DIR    where the vectors, logs and the table go (default: $BUILD_DIR/bench-results/word2vec)
#   THREADS    training threads, both tools (default: 2; gensim's workers)
#   SEEDS      one training run of each tool per seed, zoo and gensim interleaved
#              (default: "1 2 3 4 5 6 7 8"); the spread over seeds is the noise the
#              figures carry: analogy accuracy moves by ±0.25 points from seed to seed
#   EPOCHS     passes over the corpus (default: 5)
#   EVAL_DIR   where wordsim353.tsv and questions-words.txt are (default: ../shared/eval)
#   JOBS       parallel compile jobs (default: nproc)
#   PYTHON     a Python with gensim (default: /usr/bin/python3, Debian's)
#
# Settings, both tools: skip-gram, dimension 100, window 5, 5 negative samples, no
# hierarchical softmax, sub-sampling 1e-3, min_count 5, learning rate 0.025 -> 0.0001,
# on data/brown/train.txt read as one sentence a line (gensim's LineSentence).
#   words/s  the raw words of the corpus (1,126,333, out-of-vocabulary ones included)
#            times the epochs, over the seconds of the training loop alone: zoo's
#            "seconds" (after the vocabulary, corpus and tables are built), and the
#            time of gensim's model.train() (after build_vocab). The same count for both.
#   quality  every vector file is scored twice, by zoo's evaluator (zoo word2vec eval) and
#            by gensim's (evaluate_word_pairs, evaluate_word_analogies), both with gensim's
#            defaults (restrict_vocab 300000, case-insensitive; out-of-vocabulary pairs and
#            questions left out), so the evaluators check each other.
#   overlap  for the 100 words ranked 11-110 by frequency (the first ten are punctuation
#            and "the of and to a in", whose neighbours say little), the mean share of one
#            model's 10 nearest neighbours (cosine) that are among the other's: zoo against
#            gensim with the same seed, and, as the yardstick, each tool against itself
#            with another seed.
#
# gensim is only the yardstick: install it with `apt-get install python3-gensim`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results/word2vec}
THREADS=${THREADS:-2}
SEEDS=${SEEDS:-"1 2 3 4 5 6 7 8"}
EPOCHS=${EPOCHS:-5}
EVAL_DIR=${EVAL_DIR:-$ROOT/../shared/eval}
JOBS=${JOBS:-$(nproc)}
PYTHON=${PYTHON:-/usr/bin/python3}
TRAIN="$ROOT/data/brown/train.txt"
GENSIM="$ROOT/bench/word2vec_gensim.py"

case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "run_word2vec.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

"$PYTHON" -c "import gensim" 2>/dev/null || {
  echo "run_word2vec.sh: gensim is missing for $PYTHON: install it (the yardstick only):" >&2
  echo "    apt-get install python3-gensim" >&2
  exit 1
}
[[ -f "$TRAIN" ]] || { echo "run_word2vec.sh: no data/brown/train.txt: run data/fetch_brown.sh first" >&2; exit 1; }
for f in wordsim353.tsv questions-words.txt; do
  [[ -f "$EVAL_DIR/$f" ]] || { echo "run_word2vec.sh: no $EVAL_DIR/$f (set EVAL_DIR)" >&2; exit 1; }
done
SIM="$EVAL_DIR/wordsim353.tsv"
ANALOGIES="$EVAL_DIR/questions-words.txt"

cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target zoo
ZOO="$BUILD_DIR/zoo"
mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*.jsonl

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
  echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "gensim: $("$PYTHON" -c 'import gensim; print(gensim.__version__)')"
} | tee "$OUT_DIR/machine.txt"

for seed in $SEEDS; do
  echo "run_word2vec.sh: seed $seed (load $(cut -d' ' -f1 /proc/loadavg))"
  "$ZOO" word2vec train --input "$TRAIN" --out "$OUT_DIR/zoo_$seed.bin" --seed "$seed" --threads "$THREADS" \
    --epochs "$EPOCHS" --dim 100 --window 5 --negative 5 --sample 1e-3 --min-count 5 --quiet |
    tail -1 | sed "s/^{/{\"tool\":\"zoo\",\"seed\":$seed,/" | tee -a "$OUT_DIR/train.jsonl"
  "$PYTHON" "$GENSIM" train --input "$TRAIN" --out "$OUT_DIR/gensim_$seed.bin" --seed "$seed" --threads "$THREADS" \
    --epochs "$EPOCHS" | sed 's/^{/{"tool": "gensim", /' | tee -a "$OUT_DIR/train.jsonl"
done
echo "load after training: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT_DIR/machine.txt"

for seed in $SEEDS; do
  for tool in zoo gensim; do
    vectors="$OUT_DIR/${tool}_$seed.bin"
    "$ZOO" word2vec eval --vectors "$vectors" --similarity "$SIM" --analogies "$ANALOGIES" 2>/dev/null |
      sed "s/^{/{\"tool\":\"$tool\",\"seed\":$seed,\"evaluator\":\"zoo\",/" >> "$OUT_DIR/eval.jsonl"
    "$PYTHON" "$GENSIM" eval --vectors "$vectors" --similarity "$SIM" --analogies "$ANALOGIES" |
      sed "s/^{/{\"tool\": \"$tool\", \"seed\": $seed, \"evaluator\": \"gensim\", /" >> "$OUT_DIR/eval.jsonl"
  done
done

set -- $SEEDS
first=$1 second=${2:-$1}
overlap() { "$PYTHON" "$GENSIM" overlap --a "$OUT_DIR/$2" --b "$OUT_DIR/$3" | sed "s/^{/{\"pair\": \"$1\", /" >> "$OUT_DIR/overlap.jsonl"; }
for seed in $SEEDS; do overlap "zoo-gensim" "zoo_$seed.bin" "gensim_$seed.bin"; done
if [[ $first != "$second" ]]; then
  overlap "zoo-zoo" "zoo_$first.bin" "zoo_$second.bin"
  overlap "gensim-gensim" "gensim_$first.bin" "gensim_$second.bin"
fi

"$PYTHON" - "$OUT_DIR" "$THREADS" <<'PY' | tee "$OUT_DIR/table.md"
import json, statistics, sys
out, threads = sys.argv[1], sys.argv[2]
load = lambda name: [json.loads(l) for l in open(f"{out}/{name}") if l.strip()]
train, evals, overlaps = load("train.jsonl"), load("eval.jsonl"), load("overlap.jsonl")

def spread(values, fmt):
    """mean ± standard deviation (min–max) over the seeds."""
    if len(values) == 1:
        return fmt.format(values[0])
    return (fmt + " ± " + fmt + " ({}–{})").format(statistics.mean(values), statistics.stdev(values),
                                                 fmt.format(min(values)), fmt.format(max(values)))

def difference(a, b, digits):
    """mean(a) - mean(b) ± its standard error, sqrt(var(a)/n + var(b)/m)."""
    d = f"{statistics.mean(a) - statistics.mean(b):+.{digits}f}"
    if len(a) < 2 or len(b) < 2:
        return d
    se = (statistics.variance(a) / len(a) + statistics.variance(b) / len(b)) ** 0.5
    return f"{d} ± {se:.{digits}f}"

def of(tool, key, rows):
    return [r[key] for r in rows if r["tool"] == tool]

zw, gw = of("zoo", "words_per_second", train), of("gensim", "words_per_second", train)
runs = len(zw)
print(f"| Brown, skip-gram, {threads} threads, {runs} seed(s): mean ± sd (min–max) | zoo | gensim "
      f"| zoo / gensim, or zoo − gensim ± standard error |")
print("|---|---|---|---|")
print(f"| training words/s (raw words × epochs / training seconds) | {spread(zw, '{:,.0f}')} | {spread(gw, '{:,.0f}')} "
      f"| {statistics.mean(zw) / statistics.mean(gw):.2f} |")
print(f"| training seconds | {spread(of('zoo', 'seconds', train), '{:.2f}')} | {spread(of('gensim', 'seconds', train), '{:.2f}')} | |")
for evaluator in ("zoo", "gensim"):
    rows = [r for r in evals if r["evaluator"] == evaluator]
    get = lambda tool, key: [(r["similarity"]["spearman"] if key == "spearman" else r["analogies"]["accuracy"]) if evaluator == "zoo"
                             else r[key] for r in rows if r["tool"] == tool]
    zs, gs = get("zoo", "spearman"), get("gensim", "spearman")
    za, ga = [100 * a for a in get("zoo", "accuracy")], [100 * a for a in get("gensim", "accuracy")]
    print(f"| WordSim-353 Spearman ({evaluator}'s evaluator) | {spread(zs, '{:.3f}')} | {spread(gs, '{:.3f}')} | {difference(zs, gs, 3)} |")
    print(f"| analogy accuracy, % of answered ({evaluator}'s evaluator) | {spread(za, '{:.2f}')} | {spread(ga, '{:.2f}')} | {difference(za, ga, 2)} |")
ev = [r for r in evals if r["evaluator"] == "zoo"][0]
print(f"| pairs scored / questions answered | {ev['similarity']['pairs']} of 353 | {ev['analogies']['answered']} of 19,544 | |")
by = lambda pair: [100 * r["overlap"] for r in overlaps if r["pair"] == pair]
line = f"| top-10 neighbour overlap, words ranked 11–110: zoo vs gensim (same seed) | {spread(by('zoo-gensim'), '{:.1f}')}% | | |"
print(line)
if by("zoo-zoo"):
    print(f"| the same, each tool against itself with another seed | {by('zoo-zoo')[0]:.1f}% | {by('gensim-gensim')[0]:.1f}% | |")
PY
echo "run_word2vec.sh: table in $OUT_DIR/table.md"
