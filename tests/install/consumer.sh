#!/usr/bin/env bash
# CTest "install: consumer": installs this build of zoo into a scratch prefix, then builds
# examples/consumer against the install twice, with CMake's find_package(zoo) and with
# pkg-config, and runs both programs (each exits non-zero unless it fits its curve and
# reloads its weights bit for bit). The installed `zoo` command must run too.
#
#   consumer.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR
set -euo pipefail
build_dir=$1 source_dir=$2 scratch=$3

rm -rf "$scratch"
mkdir -p "$scratch"
prefix=$scratch/prefix

echo "== cmake --install $build_dir --prefix $prefix"
cmake --install "$build_dir" --prefix "$prefix" > "$scratch/install.log"
"$prefix/bin/zoo" --help > /dev/null

echo "== find_package(zoo): examples/consumer"
cmake -S "$source_dir/examples/consumer" -B "$scratch/cmake-build" \
      -DCMAKE_PREFIX_PATH="$prefix" > "$scratch/configure.log"
cmake --build "$scratch/cmake-build" > "$scratch/build.log"
"$scratch/cmake-build/fit_sine"

echo "== pkg-config zoo"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046  # the flags must split into words
g++ "$source_dir/examples/consumer/main.cpp" $(pkg-config --cflags --libs zoo) \
    -o "$scratch/fit_sine_pkg_config"
"$scratch/fit_sine_pkg_config"
