#!/usr/bin/env bash
# Sets zoo up on a Debian 12 machine: installs the Debian packages that are missing
# (saying which), then configures and builds.
#
#   scripts/setup.sh              # build/ : RelWithDebInfo, tests, tutorials, benchmarks
#   scripts/setup.sh --sanitize   # build-sanitize/ : the same under ASan + UBSan
#   scripts/setup.sh --tsan       # build-tsan/ : clang, ThreadSanitizer, the autograd and
#                                 #   nn tests (the parallel loops, the DataLoader thread)
#   scripts/setup.sh --fuzz       # build-fuzz/ : clang, the libFuzzer targets of fuzz/
#                                 #   (scripts/fuzz.sh runs them)
#
# ZOO_BUILD_JOBS=N sets the number of parallel compile jobs (default: all cores).
#
# The gcc builds treat warnings as errors (ZOO_WERROR): zoo builds warning-free with
# Debian 12's GCC 12, and CI keeps it so.
# Run it as root, or as a user with sudo. Nothing is downloaded at build time.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
build_targets=()   # empty: everything
extra_packages=()
case "${1:-}" in
  "")
    cmake_flags+=(-DZOO_WERROR=ON) ;;
  --sanitize)
    build_dir=build-sanitize
    cmake_flags+=(-DZOO_WERROR=ON -DZOO_SANITIZE=ON -DZOO_BUILD_BENCH=OFF) ;;
  --tsan)
    # clang, whose OpenMP runtime (libomp) and its Archer tool tell ThreadSanitizer
    # about OpenMP's synchronisation (cmake/tsan.cmake says why that matters).
    build_dir=build-tsan
    cmake_flags+=(-DCMAKE_CXX_COMPILER=clang++ -DZOO_TSAN=ON -DZOO_MPI=OFF)
    build_targets=(--target test_autograd test_nn zoo tsan_planted_race)
    extra_packages=(clang libomp-14-dev libclang-rt-14-dev) ;;
  --fuzz)
    # clang with libFuzzer and the sanitizers' runtimes (libclang-rt-14-dev), and
    # LLVM's OpenMP, which clang's -fopenmp links (fuzz/flags.cmake).
    build_dir=build-fuzz
    cmake_flags+=(-DCMAKE_CXX_COMPILER=clang++ -DZOO_FUZZ=ON -DZOO_MPI=OFF)
    build_targets=(--target fuzz)
    extra_packages=(clang libomp-14-dev libclang-rt-14-dev) ;;
  *) echo "usage: scripts/setup.sh [--sanitize | --tsan | --fuzz]" >&2; exit 2 ;;
esac

# What zoo builds with, all from Debian: compiler and CMake, OpenBLAS (the OpenMP build,
# so BLAS and zoo share one thread pool), fmt, Catch2 v2, Doxygen and MathJax, zlib
# (gzipped IDX files), nlohmann-json (safetensors headers, metrics), CLI11 (the `zoo`
# command line), stb (PNG writing), ccache, PCRE2 (the BPE tokenizer's Unicode-aware
# split regex: UTF-8, \p{L}/\p{N} properties, invalid UTF-8 tolerated, a JIT), gnuplot
# (`zoo plot` draws training curves with it: a well-kept plotter whose script a reader
# can open and change; gnuplot-nox has the PNG and SVG terminals without X11), OpenMPI
# (`zoo train ... --distributed` under mpirun: a well-kept MPI, not a home-made protocol).
packages=(cmake g++ make pkg-config ccache libopenblas-openmp-dev libfmt-dev catch2
          doxygen libjs-mathjax zlib1g-dev nlohmann-json3-dev libcli11-dev libstb-dev
          libpcre2-dev gnuplot-nox libopenmpi-dev openmpi-bin "${extra_packages[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing from Debian: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

jobs=${ZOO_BUILD_JOBS:-$(nproc)}
echo "setup: configuring ${build_dir}/ and building with ${jobs} jobs"
mkdir -p "$build_dir"
cmake -S . -B "$build_dir" "${cmake_flags[@]}" > "$build_dir/configure.log" 2>&1 || {
  cat "$build_dir/configure.log"; exit 1; }
cmake --build "$build_dir" -j"$jobs" "${build_targets[@]}"
echo "setup: done; binaries are in ${build_dir}/"
