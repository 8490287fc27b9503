#pragma once
/// @file parallel.h
/// @brief One thread pool, one thread count: `parallel_for` over OpenMP, shared with OpenBLAS.

#include <cstdint>
#include <exception>

#include <omp.h>

namespace zoo {

/// Elements below which an element-wise loop is not worth splitting across threads.
inline constexpr std::int64_t kGrainSize = 32768;

/// The number of threads zoo's loops and BLAS use. Chosen once, from `ZOO_NUM_THREADS`
/// if set, else all cores; changed with `set_num_threads`.
int num_threads();
/// Sets the thread count for zoo's own loops *and* OpenBLAS (the OpenMP build, so both
/// use the same OpenMP pool and never run two pools on the same cores).
void set_num_threads(int n);

/// While alive, `parallel_for` on this thread runs serially. For helper threads (the
/// DataLoader's) that work beside the main thread: were they to start OpenMP teams of
/// their own, two teams would fight over the same cores.
class SerialRegionGuard {
 public:
  SerialRegionGuard();
  ~SerialRegionGuard();
  SerialRegionGuard(const SerialRegionGuard&) = delete;
  SerialRegionGuard& operator=(const SerialRegionGuard&) = delete;
  /// True if a guard is alive on this thread.
  static bool active();

 private:
  bool previous_;
};

/// Runs `f(chunk_begin, chunk_end)` over [begin, end) split into at most one contiguous
/// chunk per thread. Ranges shorter than `grain` run on the calling thread, so small
/// tensors do not pay for waking threads. The split depends only on the range and the
/// thread count, so results are deterministic for a given thread count.
template <class F>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, const F& f) {
  const std::int64_t n = end - begin;
  if (n <= 0) return;
  const int threads = num_threads();
  if (threads == 1 || n <= grain || omp_in_parallel() || SerialRegionGuard::active()) {
    f(begin, end);
    return;
  }
  const std::int64_t max_chunks = (n + grain - 1) / grain;
  const int chunks = static_cast<int>(max_chunks < threads ? max_chunks : threads);
  const std::int64_t per_chunk = (n + chunks - 1) / chunks;
  // An exception must not leave an OpenMP region; keep the first and rethrow it after.
  std::exception_ptr error = nullptr;
#pragma omp parallel num_threads(chunks)
  {
    const std::int64_t b = begin + omp_get_thread_num() * per_chunk;
    const std::int64_t e = b + per_chunk < end ? b + per_chunk : end;
    if (b < e) {
      try {
        f(b, e);
      } catch (...) {
#pragma omp critical(zoo_parallel_for_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace zoo
