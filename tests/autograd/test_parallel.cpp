// One pool, one thread count: zoo's loops and OpenBLAS share OpenMP and follow
// set_num_threads; parallel_for covers its range exactly once.
#include <atomic>

#include <cblas.h>

#include "test_util.h"

using namespace zoo;
using Catch::Matchers::Contains;

TEST_CASE("zoo links the OpenMP build of OpenBLAS", "[parallel]") {
  // openblas_get_parallel(): 0 = sequential, 1 = pthreads, 2 = OpenMP.
  REQUIRE(openblas_get_parallel() == 2);
}

TEST_CASE("set_num_threads sets zoo's and OpenBLAS's thread count together", "[parallel]") {
  const int before = num_threads();
  set_num_threads(1);
  REQUIRE(num_threads() == 1);
  REQUIRE(openblas_get_num_threads() == 1);
  set_num_threads(2);
  REQUIRE(num_threads() == 2);
  REQUIRE(openblas_get_num_threads() == 2);
  set_num_threads(before);
  REQUIRE_THROWS_WITH(set_num_threads(0), Contains("set_num_threads"));
}

TEST_CASE("parallel_for visits every index once, in per-thread chunks", "[parallel]") {
  const int before = num_threads();
  set_num_threads(2);
  std::vector<std::atomic<int>> visits(100000);
  std::atomic<int> calls{0};
  parallel_for(0, 100000, 1000, [&](std::int64_t b, std::int64_t e) {
    ++calls;
    for (std::int64_t i = b; i < e; ++i) ++visits[i];
  });
  for (const auto& v : visits) REQUIRE(v == 1);
  REQUIRE(calls == 2);
  // Below the grain size the loop runs on the calling thread, in one call.
  calls = 0;
  parallel_for(0, 500, 1000, [&](std::int64_t, std::int64_t) { ++calls; });
  REQUIRE(calls == 1);
  // An exception inside a chunk reaches the caller.
  REQUIRE_THROWS_WITH(parallel_for(0, 100000, 10, [](std::int64_t, std::int64_t) {
                        throw Error("inside the loop");
                      }),
                      Contains("inside the loop"));
  set_num_threads(before);
}
