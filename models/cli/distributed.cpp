/// @file distributed.cpp
/// @brief `--distributed`: the communicator's lifetime around a training command.

#include "models/cli/distributed.h"

#include <exception>
#include <memory>

#include <fmt/format.h>

#include "autograd/error.h"

namespace zoo::cli {

void add_distributed_flags(CLI::App& cmd, DistributedFlags& flags) {
  cmd.add_flag("--distributed", flags.distributed,
               "Train data-parallel with the processes of mpirun (mpirun -np N zoo train ... --distributed); "
               "--batch-size is per process");
  cmd.add_option("--bucket-mb", flags.bucket_mb, "Gradient all-reduce bucket size, MiB (with --distributed)")
      ->capture_default_str();
}

void run_training(const DistributedFlags& flags, const std::function<void(nn::Communicator*, bool main)>& train) {
  ZOO_CHECK(flags.bucket_bytes() >= 1, "--bucket-mb must be at least one byte (1e-6 MiB), got {}", flags.bucket_mb);
  std::unique_ptr<nn::Communicator> world;
  if (flags.distributed) world = nn::mpi_world();
  try {
    train(world.get(), world == nullptr || world->is_main());
  } catch (const std::exception& e) {
    if (world == nullptr || world->size() == 1) throw;
    fmt::print(stderr, "zoo: error on process {} of {}: {}\n", world->rank(), world->size(), e.what());
    world->abort(1);
  }
}

}  // namespace zoo::cli
