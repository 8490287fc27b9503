#!/usr/bin/env bash
# The sample-quality table of DDPM and rectified flow (README, tutorials 13 and 14): for
# each sampler, draw PER_CLASS images of every digit from the same seeds, time the
# sampling, and score the images with `zoo eval-samples` (Fréchet distance of the CNN's
# features to the test set's, mean confidence, accuracy on the requested digits). The
# floor is real training images scored the same way, as many of each digit, three draws.
#
#   scripts/sample_quality_table.sh              # every row, then the table
#   scripts/sample_quality_table.sh ddpm-1000    # one row (results are kept per row)
#   scripts/sample_quality_table.sh --table      # only print the table of what is done
#
# Needs runs/ddpm, runs/flow, runs/reflow (zoo train ddpm / flow / flow --reflow-from)
# and runs/cnn (zoo train cnn --out runs/cnn). Environment:
#   ZOO        the zoo binary (default: build/zoo)
#   PER_CLASS  images per digit (default 50: 500 a row)
#   THREADS    threads for sampling (default 2)
#   OUT        where images and results go (default runs/sample-quality)
set -euo pipefail
cd "$(dirname "$0")/.."

ZOO=${ZOO:-build/zoo}
PER_CLASS=${PER_CLASS:-50}
THREADS=${THREADS:-2}
OUT=${OUT:-runs/sample-quality}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl

# name | model | sampling flags
ROWS=(
  "ddpm-1000|ddpm|--sampler ddpm"
  "ddim-50|ddpm|--sampler ddim --steps 50"
  "ddim-10|ddpm|--sampler ddim --steps 10"
  "ddim-50-w2|ddpm|--sampler ddim --steps 50 --guidance 2"
  "flow-euler-50|flow|--sampler euler --steps 50"
  "flow-euler-10|flow|--sampler euler --steps 10"
  "flow-euler-2|flow|--sampler euler --steps 2"
  "flow-euler-1|flow|--sampler euler --steps 1"
  "flow-heun-10|flow|--sampler heun --steps 10"
  "flow-euler-10-w2|flow|--sampler euler --steps 10 --guidance 2"
  "reflow-euler-1|reflow|--sampler euler --steps 1"
  "reflow-euler-2|reflow|--sampler euler --steps 2"
)

# Appends (or replaces) the JSON record of row $1.
record() {
  local name=$1 json=$2
  touch "$RESULTS"
  grep -v "\"row\": \"$name\"" "$RESULTS" > "$RESULTS.tmp" || true
  echo "$json" >> "$RESULTS.tmp"
  mv "$RESULTS.tmp" "$RESULTS"
}

run_row() {
  local name=$1 model=$2 flags=$3
  local command=$model weights=runs/$model/model.safetensors
  [[ $model == reflow ]] && command=flow
  echo "== $name: zoo sample $command $flags ($((PER_CLASS * 10)) images, $THREADS threads)" >&2
  # shellcheck disable=SC2086  # $flags is a list of flags
  local sampled scored
  sampled=$("$ZOO" sample "$command" --weights "$weights" $flags --per-class "$PER_CLASS" --seed 1 \
    --threads "$THREADS" --out "$OUT/$name.png" --save "$OUT/$name.safetensors")
  scored=$("$ZOO" eval-samples --samples "$OUT/$name.safetensors" --threads "$THREADS")
  record "$name" "$(python3 -c 'import json, sys
s, e = json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(json.dumps({"row": sys.argv[1], "flags": sys.argv[4], "images": s["images"], "seconds": s["seconds"],
                  "frechet": e["frechet_distance"], "confidence": e["mean_confidence"],
                  "accuracy": e["label_accuracy"], "threads": int(sys.argv[5])}))' \
    "$name" "$sampled" "$scored" "$model $flags" "$THREADS")"
}

# The floor: real training images, PER_CLASS of each digit drawn at random (seed $1),
# scored like the samples. (The first N training images are not class-balanced.)
floor_row() {
  local seed=$1 scored
  scored=$("$ZOO" eval-samples --floor --per-class "$PER_CLASS" --seed "$seed" --threads "$THREADS")
  record "floor-$seed" "$(python3 -c 'import json, sys
e = json.loads(sys.argv[1])
print(json.dumps({"row": "floor-" + sys.argv[2], "flags": "real training images, seed " + sys.argv[2],
                  "images": e["count"], "seconds": 0, "frechet": e["frechet_distance"],
                  "confidence": e["mean_confidence"], "accuracy": e["label_accuracy"], "threads": 0}))' \
    "$scored" "$seed")"
}

print_table() {
  python3 - "$RESULTS" <<'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print("| sampler | network calls per image | Fréchet distance | mean confidence | accuracy on the requested digit | seconds per 100 images |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    flags = r["flags"].split()
    steps = int(flags[flags.index("--steps") + 1]) if "--steps" in flags else (1000 if "ddpm" in flags[1:] else 0)
    calls = steps * (2 if "heun" in flags else 1)  # Heun: two velocities a step
    if "--guidance" in flags and float(flags[flags.index("--guidance") + 1]) != 1.0:
        calls *= 2
    per100 = f'{100 * r["seconds"] / r["images"]:.1f}' if r["seconds"] else ""
    print(f'| {r["row"]} (`{r["flags"]}`) | {calls if calls else ""} | {r["frechet"]:.2f} | {r["confidence"]:.3f} '
          f'| {100 * r["accuracy"]:.1f}% | {per100} |')
EOF
}

if [[ ${1:-} == --table ]]; then print_table; exit 0; fi
selected=("$@")
for row in "${ROWS[@]}"; do
  IFS='|' read -r name model flags <<< "$row"
  if (( ${#selected[@]} == 0 )) || [[ " ${selected[*]} " == *" $name "* ]]; then
    run_row "$name" "$model" "$flags"
  fi
done
if (( ${#selected[@]} == 0 )) || [[ " ${selected[*]} " == *" floor "* ]]; then
  for seed in 1 2 3; do floor_row "$seed"; done
fi
print_table
