#!/usr/bin/env bash
# Runs zoo's core benchmark beside PyTorch on the same cores and prints the comparison.
#
#   bench/run_core.sh                   # zoo, raw OpenBLAS and PyTorch at 1 and 2 threads
#   bench/run_core.sh --torch-settings  # PyTorch alone under each thread-pool setting
#
# Environment (all optional):
#   BUILD_DIR  build directory (default: build/ in the checkout); configured RelWithDebInfo
#   OUT_DIR    where the JSON lines and the table go (default: $BUILD_DIR/bench-results)
#   THREADS    thread counts to run (default: "1 2")
#   MIN_TIME   seconds of timed repetitions per workload and impl (default: 0.3)
#   REPEAT     how many times the whole comparison runs, zoo and PyTorch interleaved;
#              the table shows each cell's fastest run (default: 3: on a 2-core machine
#              shared with other work, one run can be slowed down many times over)
#   JOBS       parallel compile jobs (default: nproc)
#   PYTHON     the Python that has torch (default: /usr/bin/python3, Debian's, for which
#              python3-torch is installed; a pyenv or venv python3 on PATH would not see it)
#   TORCH_OPENBLAS_THREADS  OPENBLAS_NUM_THREADS for the PyTorch runs (default: the same
#              as the thread count of the row; bench/README.md says why)
#
# PyTorch is only the yardstick: run_core.sh installs Debian's python3-torch when it is
# missing, and nothing in zoo itself depends on it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results}
THREADS=${THREADS:-"1 2"}
MIN_TIME=${MIN_TIME:-0.3}
REPEAT=${REPEAT:-3}
JOBS=${JOBS:-$(nproc)}
PYTHON=${PYTHON:-/usr/bin/python3}
TORCH_OPENBLAS_THREADS=${TORCH_OPENBLAS_THREADS:-}

mode=compare
case "${1:-}" in
  "") ;;
  --torch-settings) mode=torch-settings ;;
  -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "run_core.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

# Runs an apt-get command, retrying while another process holds the dpkg/apt locks.
apt_retry() {
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo=sudo
  for attempt in $(seq 1 30); do
    if $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 "$@"; then
      return 0
    fi
    echo "run_core.sh: apt-get $1 failed (attempt $attempt; apt may be busy), retrying in 20 s" >&2
    sleep 20
  done
  return 1
}

# ---- 1. PyTorch, the yardstick ----
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "run_core.sh: PyTorch is not importable by $PYTHON."
  echo "run_core.sh: installing Debian's python3-torch with apt-get (for this benchmark only;"
  echo "             zoo itself does not depend on it). This may take a few minutes."
  apt_retry update -q
  apt_retry install -y -q --no-install-recommends python3-torch
fi

# ---- 2. zoo's bench_core ----
if [[ $mode == compare ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZOO_BUILD_BENCH=ON >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS" --target bench_core
fi
BENCH="$BUILD_DIR/bench/bench_core"
mkdir -p "$OUT_DIR"

# ---- 3. what the numbers were taken on ----
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
  echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  env | grep -E '^(OPENBLAS|OMP|GOMP)_' | sed 's/^/env: /' || true
  echo "torch: $(OMP_NUM_THREADS=1 "$PYTHON" "$ROOT/bench/bench_core.py" --info)"
} | tee "$OUT_DIR/machine.txt"
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
  echo "run_core.sh: WARNING: load average $load1 > 0.5: other work shares these cores, so the" \
       "timings are noisy (multi-threaded ones most)." >&2
fi

# ---- 4. run ----
if [[ $mode == torch-settings ]]; then
  # PyTorch alone, each thread count under the settings of its two pools that one might
  # pick: its OpenMP pool (OMP_NUM_THREADS, also set by torch.set_num_threads) and the
  # OpenBLAS under it (OPENBLAS_NUM_THREADS; unset = OpenBLAS's own default).
  out="$OUT_DIR/torch-settings.jsonl"
  : >"$out"
  for t in $THREADS; do
    settings="1 unset"
    [[ $t != 1 ]] && settings="1 $t unset"
    for blas in $settings; do
      label="OMP=$t,OPENBLAS=$blas"
      echo "run_core.sh: PyTorch, $label" >&2
      if [[ $blas == unset ]]; then
        env -u OPENBLAS_NUM_THREADS OMP_NUM_THREADS="$t" "$PYTHON" "$ROOT/bench/bench_core.py" \
          --threads "$t" --json --min-time "$MIN_TIME" --label "$label" >>"$out"
      else
        OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$blas" "$PYTHON" "$ROOT/bench/bench_core.py" \
          --threads "$t" --json --min-time "$MIN_TIME" --label "$label" >>"$out"
      fi
    done
  done
  "$PYTHON" "$ROOT/bench/compare.py" "$out" --no-ratio | tee "$OUT_DIR/torch-settings.md"
  exit 0
fi

: >"$OUT_DIR/zoo.jsonl"
: >"$OUT_DIR/torch.jsonl"
# The rounds interleave zoo and PyTorch, so that a slow spell of the machine hits both.
for round in $(seq 1 "$REPEAT"); do
  for t in $THREADS; do
    echo "run_core.sh: round $round of $REPEAT: zoo and raw OpenBLAS, $t thread(s)" >&2
    "$BENCH" --threads "$t" --json --min-time "$MIN_TIME" >>"$OUT_DIR/zoo.jsonl"
    blas=${TORCH_OPENBLAS_THREADS:-$t}
    echo "run_core.sh: round $round of $REPEAT: PyTorch, $t thread(s)" \
         "(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$blas)" >&2
    OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$blas" \
      "$PYTHON" "$ROOT/bench/bench_core.py" --threads "$t" --json --min-time "$MIN_TIME" \
      >>"$OUT_DIR/torch.jsonl"
  done
done
echo
"$PYTHON" "$ROOT/bench/compare.py" "$OUT_DIR/zoo.jsonl" "$OUT_DIR/torch.jsonl" --spread \
  --title "Rates (higher is faster): best of $REPEAT run(s), (lowest–highest) after it; a ratio above 1 means zoo is faster." |
  tee "$OUT_DIR/table.md"
echo
echo "run_core.sh: JSON lines and the table are in $OUT_DIR"
