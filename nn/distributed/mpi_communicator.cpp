/// @file mpi_communicator.cpp
/// @brief `mpi_world()`: the `Communicator` of the processes `mpirun` started, on top of
/// MPI's collectives. Compiled only in a build with MPI (ZOO_HAVE_MPI).

#include <mpi.h>

#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "autograd/error.h"
#include "nn/distributed/communicator.h"

namespace zoo::nn {
namespace {

/// MPI counts are `int`: longer buffers go in pieces of at most this many elements.
constexpr std::size_t kMaxCount = std::size_t{1} << 30;

/// Throws if an MPI call failed (with MPI's default handler it aborts first; this is
/// for a handler that returns).
void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, message, &length);
  throw Error(fmt::format("MPI: {} failed: {}", what, std::string(message, static_cast<std::size_t>(length))));
}

template <class T>
void all_reduce_in_pieces(std::span<T> values, MPI_Datatype type) {
  for (std::size_t done = 0; done < values.size(); done += kMaxCount) {
    const int count = static_cast<int>(std::min(kMaxCount, values.size() - done));
    check(MPI_Allreduce(MPI_IN_PLACE, values.data() + done, count, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }
}

template <class T>
void broadcast_in_pieces(std::span<T> values, MPI_Datatype type, int root) {
  for (std::size_t done = 0; done < values.size(); done += kMaxCount) {
    const int count = static_cast<int>(std::min(kMaxCount, values.size() - done));
    check(MPI_Bcast(values.data() + done, count, type, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
}

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    ZOO_CHECK(!initialized, "mpi_world: MPI is already initialised (call mpi_world() once per process)");
    // FUNNELED: only the thread that called this makes MPI calls; the OpenMP threads
    // that compute the gradients never do.
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiWorld() override { MPI_Finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void all_reduce_sum(std::span<float> values) override { all_reduce_in_pieces(values, MPI_FLOAT); }
  void all_reduce_sum(std::span<double> values) override { all_reduce_in_pieces(values, MPI_DOUBLE); }
  void broadcast(std::span<float> values, int root) override { broadcast_in_pieces(values, MPI_FLOAT, root); }
  void broadcast(std::span<std::uint8_t> bytes, int root) override {
    broadcast_in_pieces(bytes, MPI_UNSIGNED_CHAR, root);
  }

  std::vector<std::string> gather(const std::string& text, int root) override {
    // First every length, then the bytes, each rank's at its offset.
    ZOO_CHECK(text.size() <= INT_MAX, "MPI gather: {} bytes is more than one message can hold", text.size());
    const int length = static_cast<int>(text.size());
    std::vector<int> lengths(rank_ == root ? static_cast<std::size_t>(size_) : 0);
    check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "MPI_Gather");
    std::vector<int> offsets(lengths.size());
    std::string all;
    if (rank_ == root) {
      std::size_t total = 0;
      for (std::size_t r = 0; r < lengths.size(); ++r) {
        ZOO_CHECK(total + static_cast<std::size_t>(lengths[r]) <= INT_MAX, "MPI gather: the texts are too long");
        offsets[r] = static_cast<int>(total);
        total += static_cast<std::size_t>(lengths[r]);
      }
      all.resize(total);
    }
    check(MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, root,
                      MPI_COMM_WORLD),
          "MPI_Gatherv");
    std::vector<std::string> texts;
    for (std::size_t r = 0; r < lengths.size(); ++r)
      texts.push_back(all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(lengths[r])));
    return texts;
  }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);  // MPI_Abort does not return; this tells the compiler so
  }

  std::string describe() const override {
    return fmt::format("MPI, {} process{}", size_, size_ == 1 ? "" : "es");
  }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

bool built_with_mpi() { return true; }

std::unique_ptr<Communicator> mpi_world() { return std::make_unique<MpiWorld>(); }

}  // namespace zoo::nn
