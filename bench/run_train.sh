#!/usr/bin/env bash
# Times the MNIST classifiers' training step in zoo beside the same step in PyTorch, on
# the same cores, and prints the comparison (see bench/RESULTS_train.md).
#
#   bench/run_train.sh                   # zoo and PyTorch, MLP and CNN, 1 and 2 threads,
#                                        # then one `zoo train mlp --epochs 1` through the CLI
#   bench/run_train.sh --torch-settings  # PyTorch alone under each thread-pool setting
#   bench/run_train.sh --profile         # where a step's time goes, per layer, zoo and PyTorch
#
# Environment (all optional):
#   BUILD_DIR  build directory (default: build/ in the checkout)
#   OUT_DIR    where the JSON lines and tables go (default: $BUILD_DIR/bench-results)
#   THREADS    thread counts to run (default: "1 2")
#   MODELS     "mlp cnn" (default; --profile: "cnn")
#   STEPS, WARMUP, RUNS  timed steps per run, untimed steps before them, runs whose
#              median is reported (default: 100, 10, 3)
#   CLI_THREADS  thread counts for the CLI data point (default: "1"; empty: skip it)
#   JOBS       parallel compile jobs (default: nproc)
#   PYTHON     the Python that has torch (default: /usr/bin/python3, Debian's)
#   TORCH_OPENBLAS_THREADS  OPENBLAS_NUM_THREADS for the PyTorch runs: a number, "unset",
#              or "same" (the default: the run's thread count)
#   TORCH_FOREACH  1 (default): PyTorch's Adam with foreach=True, its faster multi-tensor
#              update; 0: the default per-parameter loop. --torch-settings measures both,
#              and every OPENBLAS_NUM_THREADS choice (see bench/RESULTS_train.md)
#   MAX_LOAD, MAX_WAIT  wait (at most MAX_WAIT seconds, default 1800) for the 1-minute
#              load average to fall below MAX_LOAD (default 0.8) before measuring
#   MAX_FOREIGN  redo a run during which other processes used more than this many cores
#              (default 0.15; each JSON line lists every kept run's "foreign_load")
#
# Both programs read the real MNIST training images from data/mnist (data/fetch_mnist.sh
# downloads them). PyTorch is only the yardstick: nothing in zoo depends on it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results}
THREADS=${THREADS:-"1 2"}
STEPS=${STEPS:-100}
WARMUP=${WARMUP:-10}
RUNS=${RUNS:-3}
CLI_THREADS=${CLI_THREADS-1}
JOBS=${JOBS:-$(nproc)}
PYTHON=${PYTHON:-/usr/bin/python3}
TORCH_OPENBLAS_THREADS=${TORCH_OPENBLAS_THREADS:-same}
TORCH_FOREACH=${TORCH_FOREACH:-1}
MAX_LOAD=${MAX_LOAD:-0.8}
MAX_WAIT=${MAX_WAIT:-1800}
MAX_FOREIGN=${MAX_FOREIGN:-0.15}

mode=compare
case "${1:-}" in
  "") ;;
  --torch-settings) mode=torch-settings ;;
  --profile) mode=profile ;;
  -h|--help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "run_train.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac
if [[ $mode == profile ]]; then MODELS=${MODELS:-cnn}; else MODELS=${MODELS:-"mlp cnn"}; fi

cd "$ROOT"  # both programs read data/mnist relative to the checkout
source "$ROOT/bench/machine.sh"
require_mnist run_train.sh
if ! "$PYTHON" -c 'import torch, numpy' 2>/dev/null; then
  echo "run_train.sh: $PYTHON cannot import torch and numpy; install Debian's python3-torch" \
       "(bench/run_core.sh does it for you)" >&2
  exit 1
fi

# ---- 1. build ----
if [[ $mode != torch-settings ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DZOO_BUILD_BENCH=ON >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS" --target bench_train zoo
fi
BENCH="$BUILD_DIR/bench/bench_train"
mkdir -p "$OUT_DIR"

# How PyTorch is run: its thread settings, and Adam's foreach flag.
torch_extra=()
[[ $TORCH_FOREACH == 1 ]] && torch_extra=(--foreach)
torch_setting() {
  local blas=$TORCH_OPENBLAS_THREADS
  [[ $blas == same ]] && blas=$1
  echo "OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$blas," \
       "Adam foreach=$([[ $TORCH_FOREACH == 1 ]] && echo True || echo False)"
}

# ---- 2. a quiet machine, and what the numbers were taken on ----
wait_for_quiet run_train.sh
{
  describe_machine
  echo "torch: $(OMP_NUM_THREADS=1 "$PYTHON" "$ROOT/bench/bench_core.py" --info 2>/dev/null || echo '?')"
  echo "steps: $WARMUP warm-up + $STEPS timed, median of $RUNS runs, batch 128"
  for t in $THREADS; do echo "PyTorch at $t thread(s): $(torch_setting "$t")"; done
} | tee "$OUT_DIR/train-machine.txt"

args=(--steps "$STEPS" --warmup "$WARMUP" --runs "$RUNS" --max-foreign "$MAX_FOREIGN" --json)
model_args() { if [[ $(wc -w <<<"$MODELS") -eq 1 ]]; then echo "--model $MODELS"; else echo "--model all"; fi; }

# Runs bench_train.py with OMP_NUM_THREADS=$1 and OPENBLAS_NUM_THREADS=$2 ("unset": left
# to OpenBLAS's default, all cores); the rest are bench_train.py's arguments.
torch_run() {
  local t=$1 blas=$2
  shift 2
  [[ $blas == same ]] && blas=$t
  if [[ $blas == unset ]]; then
    env -u OPENBLAS_NUM_THREADS OMP_NUM_THREADS="$t" "$PYTHON" "$ROOT/bench/bench_train.py" \
      --threads "$t" "$@"
  else
    OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$blas" "$PYTHON" "$ROOT/bench/bench_train.py" \
      --threads "$t" "$@"
  fi
}

# ---- 3a. PyTorch's thread settings ----
if [[ $mode == torch-settings ]]; then
  out="$OUT_DIR/train-torch-settings.jsonl"
  : >"$out"
  for t in $THREADS; do
    settings="1 unset"
    [[ $t != 1 ]] && settings="1 $t unset"
    for blas in $settings; do
      [[ $blas == same ]] && blas=$t
      for foreach in no yes; do
        label="OMP=$t,OPENBLAS=$blas"
        extra=()
        [[ $foreach == yes ]] && { label+=",foreach"; extra=(--foreach); }
        echo "run_train.sh: PyTorch, $label" >&2
        torch_run "$t" "$blas" $(model_args) "${args[@]}" "${extra[@]}" --label "$label" |
          tee -a "$out"
      done
    done
  done
  "$PYTHON" "$ROOT/bench/compare.py" "$out" --no-ratio | tee "$OUT_DIR/train-torch-settings.md"
  exit 0
fi

# ---- 3b. per-layer profile ----
if [[ $mode == profile ]]; then
  : >"$OUT_DIR/train-profile-zoo.jsonl"
  : >"$OUT_DIR/train-profile-torch.jsonl"
  for t in $THREADS; do
    echo "run_train.sh: profile, zoo, $t thread(s)" >&2
    "$BENCH" --threads "$t" $(model_args) --steps "$STEPS" --warmup "$WARMUP" --json --profile \
      | tee -a "$OUT_DIR/train-profile-zoo.jsonl"
    echo "run_train.sh: profile, PyTorch, $t thread(s) ($(torch_setting "$t"))" >&2
    torch_run "$t" "$TORCH_OPENBLAS_THREADS" $(model_args) --steps "$STEPS" --warmup "$WARMUP" \
      "${torch_extra[@]}" --json --profile | tee -a "$OUT_DIR/train-profile-torch.jsonl"
  done
  echo
  "$PYTHON" "$ROOT/bench/bench_train.py" --profile-table "$OUT_DIR/train-profile-zoo.jsonl" \
    "$OUT_DIR/train-profile-torch.jsonl" | tee "$OUT_DIR/train-profile.md"
  exit 0
fi

# ---- 3c. the comparison ----
: >"$OUT_DIR/train-zoo.jsonl"
: >"$OUT_DIR/train-torch.jsonl"
for t in $THREADS; do
  echo "run_train.sh: zoo, $t thread(s)" >&2
  "$BENCH" --threads "$t" $(model_args) "${args[@]}" | tee -a "$OUT_DIR/train-zoo.jsonl"
  echo "run_train.sh: PyTorch, $t thread(s) ($(torch_setting "$t"))" >&2
  torch_run "$t" "$TORCH_OPENBLAS_THREADS" $(model_args) "${args[@]}" "${torch_extra[@]}" \
    | tee -a "$OUT_DIR/train-torch.jsonl"
done

# ---- 4. the CLI path: one epoch of `zoo train mlp`, from its final JSON line ----
: >"$OUT_DIR/train-cli.jsonl"
for t in $CLI_THREADS; do
  echo "run_train.sh: zoo train mlp --epochs 1 --threads $t" >&2
  cli_out="$OUT_DIR/cli-mlp-$t"
  "$BUILD_DIR/zoo" train mlp --epochs 1 --threads "$t" --out "$cli_out" \
    >"$cli_out.stdout" 2>"$cli_out.stderr"
  # Its seconds also cover the test-set evaluation and the checkpoint; time `zoo eval`
  # alone (process start, loading, 10000 images forward) to show how much that is.
  t0=$(date +%s.%N)
  "$BUILD_DIR/zoo" eval mlp --weights "$cli_out/model.safetensors" --threads "$t" >/dev/null
  t1=$(date +%s.%N)
  "$PYTHON" - "$cli_out.stdout" "$t" "$t0" "$t1" "$OUT_DIR/train-zoo.jsonl" <<'EOF' | tee -a "$OUT_DIR/train-cli.jsonl"
import json, sys
path, threads, t0, t1, bench = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
final = [json.loads(l) for l in open(path) if l.startswith("{")][-1]
eval_s = t1 - t0
samples = final["samples_per_second"] * final["seconds"]
print(json.dumps({"impl": "zoo train (CLI)", "threads": threads, "name": "train_mlp",
                  "shape": "batch 128", "seconds": final["seconds"], "unit": "samples/s",
                  "rate": round(final["samples_per_second"], 1)}))
print(json.dumps({"impl": "CLI minus eval", "threads": threads, "name": "train_mlp",
                  "shape": "batch 128", "seconds": final["seconds"] - eval_s, "unit": "samples/s",
                  "rate": round(samples / (final["seconds"] - eval_s), 1),
                  "eval_seconds": round(eval_s, 3), "test_accuracy": final["test_accuracy"]}))
EOF
done

echo
{
  "$PYTHON" "$ROOT/bench/compare.py" "$OUT_DIR/train-zoo.jsonl" "$OUT_DIR/train-torch.jsonl" \
    --title "Training samples/s (higher is faster); a ratio above 1 means zoo is faster."
  if [[ -s $OUT_DIR/train-cli.jsonl ]]; then
    echo
    "$PYTHON" "$ROOT/bench/compare.py" "$OUT_DIR/train-zoo.jsonl" "$OUT_DIR/train-cli.jsonl" \
      --ratio "zoo train (CLI)/zoo" --ratio "CLI minus eval/zoo" \
      --title "The same MLP step through \`zoo train mlp --epochs 1\` (its final JSON line)." |
      grep -v "train_cnn"
  fi
} | tee "$OUT_DIR/train-table.md"
echo
echo "run_train.sh: JSON lines and tables are in $OUT_DIR"
