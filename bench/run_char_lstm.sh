#!/usr/bin/env bash
# The character LM in zoo and in PyTorch, same run, same cores: `zoo train char-lstm`
# and bench/char_lstm_torch.py with the same model (Embedding 256→E, LSTM E→H, Linear
# H→256), data (data/brown, B streams, T-step truncated BPTT with carried state),
# optimizer (Adam, constant lr), clipping and number of steps. Prints each run's JSON
# line and a table of validation bits per character and training tokens per second.
#
#   bench/run_char_lstm.sh
#
# Environment (all optional):
#   BUILD_DIR  build directory holding the zoo binary (default: build/)
#   OUT_DIR    where runs and JSON lines go (default: $BUILD_DIR/bench-results/char-lstm)
#   THREADS    thread counts to run (default: "1")
#   STEPS      optimizer steps (default: zoo's default, 3000)
#   SEED       the seed of both runs (default: 0); each tool draws its own numbers from it
#   PYTHON     the Python that has torch (default: /usr/bin/python3)
# Other settings are zoo's defaults, passed to both explicitly below.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results/char-lstm}
THREADS=${THREADS:-"1"}
STEPS=${STEPS:-3000}
SEED=${SEED:-0}
PYTHON=${PYTHON:-/usr/bin/python3}
COMMON=(--steps "$STEPS" --batch-size 32 --seq-len 64 --embed 64 --hidden 256 --layers 1
        --lr 2e-3 --clip 1.0 --seed "$SEED")

[ -f "$ROOT/data/brown/train.txt" ] || "$ROOT/data/fetch_brown.sh"
mkdir -p "$OUT_DIR"
RESULTS="$OUT_DIR/results.jsonl"
: > "$RESULTS"
cd "$ROOT"
for t in $THREADS; do
  echo "load before threads=$t: $(uptime)" >&2
  "$BUILD_DIR/zoo" train char-lstm "${COMMON[@]}" --eval-every "$STEPS" --threads "$t" \
      --out "$OUT_DIR/zoo-t$t" 2> "$OUT_DIR/zoo-t$t.log" |
    "$PYTHON" -c "import json,sys; d=json.loads(sys.stdin.read()); d.update(impl='zoo', threads=$t); print(json.dumps(d))" \
    | tee -a "$RESULTS"
  OPENBLAS_NUM_THREADS=$t "$PYTHON" bench/char_lstm_torch.py "${COMMON[@]}" --threads "$t" \
    | tee -a "$RESULTS"
  echo "load after threads=$t: $(uptime)" >&2
done

"$PYTHON" - "$RESULTS" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("\n| threads | impl | valid bpc | train bpc | tokens/s | seconds |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['threads']} | {r['impl']} | {r['valid_bpc']:.3f} | {r['train_bpc']:.3f} | "
          f"{r['tokens_per_second']:.0f} | {r['seconds']:.1f} |")
for t in sorted({r['threads'] for r in rows}):
    z = [r for r in rows if r['threads'] == t and r['impl'] == 'zoo']
    p = [r for r in rows if r['threads'] == t and r['impl'] == 'torch']
    if z and p:
        print(f"\nthreads {t}: zoo/torch tokens per second {z[0]['tokens_per_second'] / p[0]['tokens_per_second']:.2f}, "
              f"valid bpc zoo − torch {z[0]['valid_bpc'] - p[0]['valid_bpc']:+.3f}")
PY
