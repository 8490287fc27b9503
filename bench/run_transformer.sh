#!/usr/bin/env bash
# Times the transformer language model's training step (dense and mixture-of-experts) in
# zoo beside the same models in PyTorch, on the same cores, and prints the comparison
# (tokens/s, medians over runs; see bench/README.md, "The transformer").
#
#   bench/run_transformer.sh            # zoo and PyTorch, dense and moe, 1 and 2 threads
#   bench/run_transformer.sh --phases   # where a step's time goes: forward, backward,
#                                       # clipping, AdamW, bias update; zoo and PyTorch
#
# Builds nothing: it expects $BUILD_DIR/bench/bench_transformer, made with
#   cmake --build build --target bench_transformer
#
# Environment (all optional):
#   BUILD_DIR  build directory (default: build/ in the checkout)
#   OUT_DIR    where the JSON lines and the table go (default: $BUILD_DIR/bench-results)
#   THREADS    thread counts to run (default: "1 2")
#   MODELS     "dense moe" (default)
#   STEPS, WARMUP  timed steps per run and untimed steps before them (default: 20, 3)
#   RUNS       runs per cell (default: 3); zoo and PyTorch alternate run by run, and the
#              table shows each cell's median
#   PYTHON     the Python that has torch (default: /usr/bin/python3, Debian's)
#   TORCH_OPENBLAS_THREADS  OPENBLAS_NUM_THREADS for the PyTorch runs: a number, "unset",
#              or "same" (the default: the run's thread count), as in run_train.sh
#   TORCH_FOREACH  1 (default): AdamW with foreach=True; 0: its per-parameter loop
#   TORCH_ATTENTION  sdpa or manual (default: transformer_torch.py's, the faster one)
#   MAX_LOAD, MAX_WAIT  wait (at most MAX_WAIT seconds, default 600) for the 1-minute load
#              average to fall below MAX_LOAD (default 0.8) before measuring
#   MAX_FOREIGN, RETRIES  a run during which other processes used more than MAX_FOREIGN
#              cores (default 0.15) is redone, at most RETRIES times (default 2); every
#              JSON line lists its "foreign_load"
#
# zoo runs with --threads N (one OpenMP pool for zoo and OpenBLAS); PyTorch with
# torch.set_num_threads(N), OMP_NUM_THREADS=N and OPENBLAS_NUM_THREADS=N. The machine's
# OPENBLAS_CORETYPE (Haswell here) is left as the environment sets it, for both.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results}
THREADS=${THREADS:-"1 2"}
MODELS=${MODELS:-"dense moe"}
STEPS=${STEPS:-20}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
TORCH_OPENBLAS_THREADS=${TORCH_OPENBLAS_THREADS:-same}
TORCH_FOREACH=${TORCH_FOREACH:-1}
TORCH_ATTENTION=${TORCH_ATTENTION:-}
MAX_LOAD=${MAX_LOAD:-0.8}
MAX_WAIT=${MAX_WAIT:-600}
MAX_FOREIGN=${MAX_FOREIGN:-0.15}
RETRIES=${RETRIES:-2}

mode=compare
case "${1:-}" in
  "") ;;
  --phases) mode=phases ;;
  -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "run_transformer.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

BENCH="$BUILD_DIR/bench/bench_transformer"
if [[ ! -x $BENCH ]]; then
  echo "run_transformer.sh: no $BENCH; build it first:" \
       "cmake --build $BUILD_DIR --target bench_transformer" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import torch, numpy' 2>/dev/null; then
  echo "run_transformer.sh: $PYTHON cannot import torch and numpy; install Debian's python3-torch" \
       "(bench/run_core.sh does it for you)" >&2
  exit 1
fi
mkdir -p "$OUT_DIR"

torch_extra=()
[[ $TORCH_FOREACH == 1 ]] || torch_extra+=(--no-foreach)
[[ -n $TORCH_ATTENTION ]] && torch_extra+=(--attention "$TORCH_ATTENTION")

# Runs transformer_torch.py at $1 threads (OMP_NUM_THREADS and OPENBLAS_NUM_THREADS as
# run_train.sh sets them); the rest are its arguments.
torch_run() {
  local t=$1 blas=$TORCH_OPENBLAS_THREADS
  shift
  [[ $blas == same ]] && blas=$t
  if [[ $blas == unset ]]; then
    env -u OPENBLAS_NUM_THREADS OMP_NUM_THREADS="$t" "$PYTHON" "$ROOT/bench/transformer_torch.py" \
      --threads "$t" "${torch_extra[@]}" "$@"
  else
    OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$blas" "$PYTHON" "$ROOT/bench/transformer_torch.py" \
      --threads "$t" "${torch_extra[@]}" "$@"
  fi
}

# ---- a quiet machine, and what the numbers were taken on ----
source "$ROOT/bench/machine.sh"
wait_for_quiet run_transformer.sh
{
  describe_machine
  echo "torch: $(OMP_NUM_THREADS=1 "$PYTHON" "$ROOT/bench/bench_core.py" --info 2>/dev/null || echo '?')"
  echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
  echo "steps: $WARMUP warm-up + $STEPS timed per run, $RUNS runs per cell, B 32, T 128"
  echo "PyTorch: OPENBLAS_NUM_THREADS=$TORCH_OPENBLAS_THREADS, AdamW foreach=$([[ $TORCH_FOREACH == 1 ]] && echo True || echo False)," \
       "attention ${TORCH_ATTENTION:-default}"
} | tee "$OUT_DIR/transformer-machine.txt"

# ---- phases ----
if [[ $mode == phases ]]; then
  out="$OUT_DIR/transformer-phases.jsonl"
  : >"$out"
  for t in $THREADS; do
    for m in $MODELS; do
      echo "run_transformer.sh: phases, $m, $t thread(s): zoo, then PyTorch" >&2
      "$BENCH" --threads "$t" --model "$m" --steps "$STEPS" --warmup "$WARMUP" --phases --json | tee -a "$out"
      torch_run "$t" --model "$m" --steps "$STEPS" --warmup "$WARMUP" --phases --json | tee -a "$out"
    done
  done
  echo
  "$PYTHON" - "$out" <<'EOF' | tee "$OUT_DIR/transformer-phases.md"
import json, sys
rows, cells = [], {}
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    key = (r["name"], r["threads"], r["part"])
    if key not in cells:
        rows.append(key)
        cells[key] = {}
    cells[key][r["impl"]] = r["ms"]
print("Milliseconds per step, by phase (lower is faster).\n")
print("| model | threads | phase | zoo ms | PyTorch ms | zoo/PyTorch time |")
print("|---|---:|---|---:|---:|---:|")
for key in rows:
    z, p = cells[key].get("zoo"), cells[key].get("torch")
    ratio = f"{z / p:.2f}" if z and p else ""
    print(f"| {key[0]} | {key[1]} | {key[2]} | {z if z is not None else ''} | {p if p is not None else ''} | {ratio} |")
EOF
  exit 0
fi

# ---- the comparison: zoo and PyTorch alternate, run by run ----
: >"$OUT_DIR/transformer-zoo.jsonl"
: >"$OUT_DIR/transformer-torch.jsonl"
args=(--steps "$STEPS" --warmup "$WARMUP" --runs 1 --max-foreign "$MAX_FOREIGN" --retries "$RETRIES" --json)
for t in $THREADS; do
  for m in $MODELS; do
    for ((r = 1; r <= RUNS; r++)); do
      echo "run_transformer.sh: $m, $t thread(s), run $r of $RUNS: zoo" >&2
      "$BENCH" --threads "$t" --model "$m" "${args[@]}" | tee -a "$OUT_DIR/transformer-zoo.jsonl"
      echo "run_transformer.sh: $m, $t thread(s), run $r of $RUNS: PyTorch" >&2
      torch_run "$t" --model "$m" "${args[@]}" | tee -a "$OUT_DIR/transformer-torch.jsonl"
    done
  done
done
echo "load after the run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT_DIR/transformer-machine.txt"

echo
"$PYTHON" - "$OUT_DIR/transformer-zoo.jsonl" "$OUT_DIR/transformer-torch.jsonl" <<'EOF' | tee "$OUT_DIR/transformer-table.md"
import json, statistics, sys
rows, cells = [], {}
for path in sys.argv[1:]:
    for line in open(path):
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        key = (r["name"].removeprefix("train_"), r["threads"])
        if key not in cells:
            rows.append(key)
            cells[key] = {}
        cells[key].setdefault(r["impl"], []).append(r)

def cell(recs):
    if not recs:
        return "", None
    rates = [r["rate"] for r in recs]
    med = statistics.median(rates)
    spread = f" ({min(rates):.0f}–{max(rates):.0f})" if len(rates) > 1 else ""
    return f"{med:.0f}{spread}", med

print("Training tokens/s (B 32 × T 128 tokens per step), median of the runs (lowest–highest);")
print("a ratio above 1 means zoo is faster.\n")
print("| model | threads | zoo tokens/s | PyTorch tokens/s | zoo/PyTorch | zoo ms/step | PyTorch ms/step | other load (zoo; PyTorch) |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
mismatch = []
for key in rows:
    z, p = cells[key].get("zoo", []), cells[key].get("torch", [])
    zs, zm = cell(z)
    ps, pm = cell(p)
    ratio = f"{zm / pm:.2f}" if zm and pm else ""
    zms = f"{statistics.median(r['ms_per_step'] for r in z):.0f}" if z else ""
    pms = f"{statistics.median(r['ms_per_step'] for r in p):.0f}" if p else ""
    loads = lambda recs: " ".join(f"{f:.2f}" for r in recs for f in r.get("foreign_load", []))
    print(f"| {key[0]} | {key[1]} | {zs} | {ps} | {ratio} | {zms} | {pms} | {loads(z)}; {loads(p)} |")
    counts = {r["parameters"] for r in z + p}
    if len(counts) != 1:
        mismatch.append(f"{key[0]}: parameters differ: {sorted(counts)}")
print()
params = {}
for key in rows:
    for recs in cells[key].values():
        for r in recs:
            params.setdefault(key[0], {})[r["impl"]] = r["parameters"]
print("Parameters: " + "; ".join(f"{m}: zoo {c.get('zoo')}, PyTorch {c.get('torch')}" for m, c in params.items()))
for m in mismatch:
    print("WARNING: " + m)
EOF
echo
echo "run_transformer.sh: JSON lines and the table are in $OUT_DIR"
