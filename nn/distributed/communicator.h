#pragma once
/// @file communicator.h
/// @brief What data-parallel training needs from the processes it runs on: who am I, how
/// many are we, and three collective operations (all-reduce, broadcast, gather).
///
/// Lesson: @ref tutorial_17_data_parallel.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace zoo::nn {

/// A group of `size()` processes ("ranks" 0..size-1) that run the same program and call
/// the same collective operations in the same order. Every call below is *collective*:
/// each rank must make it, with buffers of the same length, before any rank returns
/// from it. A rank that skips one leaves the others waiting forever; so a rank that
/// fails calls `abort`, which ends them all.
///
/// Two implementations: `SingleProcess` (a group of one, where every collective is the
/// identity) and, in a build with MPI, the processes `mpirun` started
/// (`mpi_world()`). Training code is written once against this interface.
class Communicator {
 public:
  virtual ~Communicator() = default;
  /// This process's index in the group, 0 ≤ rank < size.
  virtual int rank() const = 0;
  /// The number of processes.
  virtual int size() const = 0;
  /// Rank 0 alone prints, writes metrics and saves checkpoints.
  bool is_main() const { return rank() == 0; }

  /// Every rank's `values[i]` becomes \f$\sum_r \mathrm{values}_r[i]\f$, the same on all ranks.
  virtual void all_reduce_sum(std::span<float> values) = 0;
  /// The same in double precision (used for counts and loss sums, which must be exact).
  virtual void all_reduce_sum(std::span<double> values) = 0;
  /// Every rank's `values` become rank `root`'s.
  virtual void broadcast(std::span<float> values, int root) = 0;
  /// The same for bytes.
  virtual void broadcast(std::span<std::uint8_t> bytes, int root) = 0;
  /// On rank `root`, every rank's `text`, in rank order; on the others, nothing.
  virtual std::vector<std::string> gather(const std::string& text, int root) = 0;
  /// Ends every process of the group with exit code `code` (after a rank's error).
  [[noreturn]] virtual void abort(int code) = 0;
  /// A short description for logs ("MPI, 2 processes", "one process").
  virtual std::string describe() const = 0;
};

/// The group of one: `all_reduce_sum` and `broadcast` leave the values as they are,
/// `gather` returns the one text. What an ordinary run uses, so the training loop has
/// no "if distributed" branches.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(std::span<float>) override {}
  void all_reduce_sum(std::span<double>) override {}
  void broadcast(std::span<float>, int) override {}
  void broadcast(std::span<std::uint8_t>, int) override {}
  std::vector<std::string> gather(const std::string& text, int) override { return {text}; }
  [[noreturn]] void abort(int code) override;
  std::string describe() const override { return "one process"; }
};

/// True if this build of zoo has MPI (Debian's OpenMPI found at configure time).
bool built_with_mpi();

/// The processes `mpirun` started (MPI_COMM_WORLD), initialising MPI on the first call;
/// MPI is finalised when the returned communicator is destroyed, so call this at most
/// once per process. Started without `mpirun`, it is a group of one. In a build without
/// MPI it throws a `zoo::Error` that says so and how to get it.
std::unique_ptr<Communicator> mpi_world();

}  // namespace zoo::nn
