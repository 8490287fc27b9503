# shellcheck shell=bash
# Sourced by the bench/run_*.sh scripts: what every measurement checks before it starts.
# Needs ROOT (the checkout), MAX_LOAD and MAX_WAIT set by the caller.

# wait_for_quiet NAME: waits, at most MAX_WAIT seconds, for the 1-minute load average to
# fall below MAX_LOAD, then measures anyway with a warning (NAME prefixes the messages).
wait_for_quiet() {
  local name=$1 waited=0
  while awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }'; do
    if (( waited >= MAX_WAIT )); then
      echo "$name: WARNING: the load average is still $(cut -d' ' -f1 /proc/loadavg)" \
           "after ${waited} s: measuring anyway; treat the numbers as preliminary." >&2
      break
    fi
    echo "$name: load average $(cut -d' ' -f1 /proc/loadavg) >= $MAX_LOAD; waiting" >&2
    sleep 30
    waited=$((waited + 30))
  done
}

# describe_machine: the lines every results file begins with: when, on what CPU, under
# what load, and which commit (with the files that differ from it).
describe_machine() {
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
  echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "code: $(git -C "$ROOT" log -1 --oneline 2>/dev/null || echo 'not a git checkout')"
  local dirty
  dirty=$(git -C "$ROOT" --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
  if [[ -n $dirty ]]; then echo "uncommitted changes in: $dirty"; fi
}

# require_mnist NAME: stops the script unless data/mnist (under the current folder) holds
# the MNIST training images, plain or gzipped.
require_mnist() {
  if [[ ! -e data/mnist/train-images-idx3-ubyte && ! -e data/mnist/train-images-idx3-ubyte.gz ]]; then
    echo "$1: no MNIST in data/mnist; run data/fetch_mnist.sh first" >&2
    exit 1
  fi
}
