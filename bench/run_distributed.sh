#!/usr/bin/env bash
# Times data-parallel training of the MNIST CNN on this machine's cores: one process with
# 2 threads against 2 processes with 1 thread each (the same global batch of 128), in zoo
# (`zoo train cnn`, under mpirun for 2 processes) and in PyTorch (DistributedDataParallel
# over gloo, bench/ddp_torch.py), and prints the comparison (see bench/README.md,
# "Data-parallel training").
#
#   bench/run_distributed.sh             # every configuration, RUNS rounds, then the table
#   STEPS=5 RUNS=1 MAX_WAIT=0 MAX_FOREIGN=99 bench/run_distributed.sh   # a smoke test: runs
#                                        # every configuration once; its numbers mean nothing
#
# The configurations, each run RUNS times (zoo and PyTorch alternate within each round):
#   1 x 2   zoo train cnn --threads 2 --batch-size 128 / PyTorch, torch.set_num_threads(2)
#   2 x 1, shared memory   mpirun -np 2 --mca btl self,vader zoo train cnn --distributed
#           --threads 1 --batch-size 64 (per process)
#   2 x 1, TCP             the same with --mca btl self,tcp over lo (what machines joined
#           by a network use)
#   PyTorch 2 x 1          DDP, gloo over 127.0.0.1, 64 per rank, each rank its contiguous
#           half of each global batch, as zoo shards (gloo has no shared-memory transport:
#           both 2-process rows show the same PyTorch runs)
#
# Counting: every step from the first, on both sides (zoo's --stop-after STEPS counts all
# steps from the start of its training loop and reports their samples/s; there is no
# untimed warm-up, so the first steps' one-off costs are in the numbers, for both).
#
# Builds nothing: it expects an MPI-enabled $BUILD_DIR/zoo (cmake -DZOO_MPI=ON, the
# default when Debian's libopenmpi-dev is installed; cmake --build build --target zoo).
#
# Environment (all optional):
#   BUILD_DIR  build directory (default: build/ in the checkout); ZOO: the binary
#              (default: $BUILD_DIR/zoo)
#   OUT_DIR    where the JSON lines and the table go (default: $BUILD_DIR/bench-results)
#   STEPS      steps per run, all counted (default: 200)
#   RUNS       runs per cell (default: 3); the table shows each cell's median
#   TRANSPORTS zoo's 2-process transports: "shm tcp" (default), or one of them
#   BIND       core (default): mpirun --bind-to core, and each PyTorch rank pinned to its
#              core; none: mpirun --bind-to none, no pinning. 1-process runs are not pinned
#   MPIRUN     mpirun (default); MPI_ARGS: more arguments for it
#   ALLREDUCE_ITERS  timed dist.all_reduce calls of the gradient's size after each DDP
#              run (default: 50; 0: none)
#   PYTHON     the Python that has torch (default: /usr/bin/python3, Debian's)
#   TORCH_OPENBLAS_THREADS  OPENBLAS_NUM_THREADS for the PyTorch runs: a number, "unset",
#              or "same" (the default: the run's thread count per process), as in run_train.sh
#   TORCH_FOREACH  1 (default): Adam with foreach=True; 0: its per-parameter loop
#   MAX_LOAD, MAX_WAIT  wait (at most MAX_WAIT seconds, default 1800) for the 1-minute
#              load average to fall below MAX_LOAD (default 0.8) before measuring
#   MAX_FOREIGN, RETRIES  a run during which other processes used more than MAX_FOREIGN
#              cores (default 0.15) is redone, at most RETRIES times (default 6); every
#              JSON line lists its runs' "foreign_load" (zoo: over the whole command)
#
# Output: the Markdown table on stdout and in $OUT_DIR/distributed-table.md; one JSON line
# per kept run in distributed-runs.jsonl; one per configuration and side (bench/compare.py's
# shape plus speed-up, ratio and communication fields) in distributed.jsonl; the machine
# and settings in distributed-machine.txt; zoo's stderr in distributed-zoo.log.
# As root, OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 are set for mpirun.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results}
ZOO=${ZOO:-$BUILD_DIR/zoo}
STEPS=${STEPS:-200}
RUNS=${RUNS:-3}
TRANSPORTS=${TRANSPORTS:-"shm tcp"}
BIND=${BIND:-core}
MPIRUN=${MPIRUN:-mpirun}
MPI_ARGS=${MPI_ARGS:-}
ALLREDUCE_ITERS=${ALLREDUCE_ITERS:-50}
PYTHON=${PYTHON:-/usr/bin/python3}
TORCH_OPENBLAS_THREADS=${TORCH_OPENBLAS_THREADS:-same}
TORCH_FOREACH=${TORCH_FOREACH:-1}
MAX_LOAD=${MAX_LOAD:-0.8}
MAX_WAIT=${MAX_WAIT:-1800}
MAX_FOREIGN=${MAX_FOREIGN:-0.15}
RETRIES=${RETRIES:-6}

case "${1:-}" in
  "") ;;
  -h|--help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "run_distributed.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac
case "$BIND" in core|none) ;; *) echo "run_distributed.sh: BIND must be core or none, got '$BIND'" >&2; exit 2 ;; esac
for t in $TRANSPORTS; do
  case "$t" in shm|tcp) ;; *) echo "run_distributed.sh: TRANSPORTS takes shm and tcp, got '$t'" >&2; exit 2 ;; esac
done

cd "$ROOT"  # both sides read data/mnist relative to the checkout
source "$ROOT/bench/machine.sh"
require_mnist run_distributed.sh
if ! "$PYTHON" -c 'import torch, numpy, torch.distributed as d; assert d.is_gloo_available()' 2>/dev/null; then
  echo "run_distributed.sh: $PYTHON cannot import torch (with gloo) and numpy; install Debian's" \
       "python3-torch (bench/run_core.sh does it for you)" >&2
  exit 1
fi
if [[ ! -x $ZOO ]]; then
  echo "run_distributed.sh: no zoo binary at $ZOO; build it: cmake --build build --target zoo" >&2
  exit 1
fi
if ! command -v "$MPIRUN" >/dev/null; then
  echo "run_distributed.sh: no $MPIRUN; install Debian's openmpi-bin (scripts/setup.sh does)" >&2
  exit 1
fi
if [[ $(id -u) == 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
mkdir -p "$OUT_DIR"

blas_threads() {  # OPENBLAS_NUM_THREADS for a PyTorch process of $1 threads
  local blas=$TORCH_OPENBLAS_THREADS
  [[ $blas == same ]] && blas=$1
  echo "$blas"
}
torch_extra=()
[[ $TORCH_FOREACH == 1 ]] && torch_extra=(--foreach)
mpi_transport() {
  case "$1" in
    shm) echo "--mca btl self,vader" ;;
    tcp) echo "--mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo" ;;
  esac
}

# ---- 1. a quiet machine, and what the numbers were taken on ----
wait_for_quiet run_distributed.sh
{
  describe_machine
  echo "zoo binary: $ZOO ($(date -u -r "$ZOO" '+built %Y-%m-%d %H:%M UTC'))"
  echo "mpi: $("$MPIRUN" --version 2>/dev/null | head -1)"
  echo "torch: $(OMP_NUM_THREADS=1 "$PYTHON" "$ROOT/bench/bench_core.py" --info 2>/dev/null || echo '?')"
  echo "steps: $STEPS per run, all counted from the first; median of $RUNS runs; global batch 128"
  echo "binding of the 2-process runs: $BIND; zoo transports: $TRANSPORTS"
  echo "PyTorch: OPENBLAS_NUM_THREADS=$(blas_threads 2) at 2 threads, $(blas_threads 1) at 1;" \
       "Adam foreach=$([[ $TORCH_FOREACH == 1 ]] && echo True || echo False); DDP over gloo, 127.0.0.1"
} | tee "$OUT_DIR/distributed-machine.txt"

runs_file="$OUT_DIR/distributed-runs.jsonl"
: >"$runs_file"
: >"$OUT_DIR/distributed-zoo.log"
check=(--max-foreign "$MAX_FOREIGN" --retries "$RETRIES")

# zoo: one run of configuration $1, the rest the command; its stderr goes to the log.
zoo_run() {
  local config=$1
  shift
  echo "run_distributed.sh: zoo, $config" >&2
  "$PYTHON" "$ROOT/bench/ddp_torch.py" --wrap-zoo "$config" --zoo-log "$OUT_DIR/distributed-zoo.log" \
    "${check[@]}" -- "$@" | tee -a "$runs_file"
}

# PyTorch: one run with $1 processes of $2 threads, batch $3 per process.
torch_run() {
  local p=$1 t=$2 b=$3 blas
  blas=$(blas_threads "$t")
  echo "run_distributed.sh: PyTorch, $p process(es) x $t thread(s)" >&2
  local envs=(OMP_NUM_THREADS="$t")
  if [[ $blas == unset ]]; then envs=(-u OPENBLAS_NUM_THREADS "${envs[@]}"); else envs+=(OPENBLAS_NUM_THREADS="$blas"); fi
  env "${envs[@]}" "$PYTHON" "$ROOT/bench/ddp_torch.py" --processes "$p" --threads "$t" --batch-size "$b" \
    --steps "$STEPS" --bind "$BIND" --allreduce-iters "$ALLREDUCE_ITERS" "${torch_extra[@]}" "${check[@]}" |
    tee -a "$runs_file"
}

# ---- 2. the runs: zoo and PyTorch alternate, configuration by configuration ----
zoo_out="$OUT_DIR/distributed-zoo-out"  # each run overwrites its configuration's checkpoint
started=$(date +%s)
for ((round = 1; round <= RUNS; round++)); do
  echo "run_distributed.sh: round $round of $RUNS" >&2
  zoo_run 1x2 "$ZOO" train cnn --threads 2 --batch-size 128 --stop-after "$STEPS" --save-every 0 \
    --out "$zoo_out/1x2"
  torch_run 1 2 128
  first=1
  for t in $TRANSPORTS; do
    # shellcheck disable=SC2046,SC2086  # the transport's and MPI_ARGS' words are meant to split
    zoo_run "2x1-$t" "$MPIRUN" -np 2 --bind-to "$BIND" $(mpi_transport "$t") $MPI_ARGS \
      "$ZOO" train cnn --distributed --threads 1 --batch-size 64 --stop-after "$STEPS" --save-every 0 \
      --out "$zoo_out/2x1-$t"
    if (( first )); then torch_run 2 1 64; first=0; fi
  done
done
echo "run_distributed.sh: the runs took $(( $(date +%s) - started )) s" >&2

# ---- 3. the table ----
echo
"$PYTHON" "$ROOT/bench/ddp_torch.py" --table "$runs_file" --json-out "$OUT_DIR/distributed.jsonl" |
  tee "$OUT_DIR/distributed-table.md"
echo
echo "run_distributed.sh: JSON lines and the table are in $OUT_DIR"
