// The ThreadSanitizer build's own check (CTest "tsan: a planted race is caught"): a
// parallel_for whose chunks all add to one unprotected counter, a data race by
// construction, next to the same loop done right with an atomic add. The test passes
// only if ThreadSanitizer reports a race in `racy_sum`, so a ThreadSanitizer run that
// stopped seeing the OpenMP threads (a missing runtime, a lost setting) fails CI
// instead of passing silently. It fails if `atomic_sum` is reported: a correctly
// synchronised parallel loop must not be flagged either.

#include <cstdint>
#include <cstdio>

#include "autograd/parallel.h"

namespace {

/// Four chunks of kGrainSize, so the loop runs on both threads.
constexpr std::int64_t kCount = 4 * zoo::kGrainSize;

/// Wrong on purpose: every chunk writes the same variable with no synchronisation.
std::int64_t racy_sum() {
  std::int64_t total = 0;
  zoo::parallel_for(0, kCount, zoo::kGrainSize,
                    [&](std::int64_t begin, std::int64_t end) { total += end - begin; });
  return total;
}

/// The same loop done right: OpenMP's atomic update.
std::int64_t atomic_sum() {
  std::int64_t total = 0;
  zoo::parallel_for(0, kCount, zoo::kGrainSize, [&](std::int64_t begin, std::int64_t end) {
#pragma omp atomic
    total += end - begin;
  });
  return total;
}

}  // namespace

int main() {
  zoo::set_num_threads(2);
  const std::int64_t racy = racy_sum();
  const std::int64_t right = atomic_sum();
  std::printf("racy loop: %lld, atomic loop: %lld, of %lld\n", static_cast<long long>(racy),
              static_cast<long long>(right), static_cast<long long>(kCount));
  return right == kCount ? 0 : 1;
}
