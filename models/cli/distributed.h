#pragma once
/// @file distributed.h
/// @brief `--distributed` and `--bucket-mb` for the `zoo train` commands whose trainer runs
/// the shared training loop, and running a command across the processes of `mpirun`.

#include <functional>

#include <CLI/CLI.hpp>

#include "nn/distributed/communicator.h"

namespace zoo::cli {

/// What the flags ask for.
struct DistributedFlags {
  bool distributed = false;  ///< train with the processes mpirun started
  double bucket_mb = 25;     ///< gradient bucket size, MiB (PyTorch's bucket_cap_mb)
  /// Bytes per bucket.
  std::int64_t bucket_bytes() const { return static_cast<std::int64_t>(bucket_mb * 1024 * 1024); }
};

/// Adds `--distributed` and `--bucket-mb` to `cmd`, bound to `flags`.
void add_distributed_flags(CLI::App& cmd, DistributedFlags& flags);

/// Runs `train` with the processes' communicator when `flags.distributed` (MPI's world;
/// in a build without MPI an error that says so), else with null (one process). An
/// error on one process of several ends them all (the others would wait forever in
/// their next all-reduce), after printing it with the process's rank. `train` is told
/// whether it is process 0, the one that prints the result.
void run_training(const DistributedFlags& flags, const std::function<void(nn::Communicator*, bool main)>& train);

}  // namespace zoo::cli
