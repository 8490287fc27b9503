#include "autograd/parallel.h"

#include <cstdlib>
#include <string>

#include <cblas.h>

#include "autograd/error.h"

namespace zoo {
namespace {

int initial_thread_count() {
  if (const char* env = std::getenv("ZOO_NUM_THREADS")) {
    try {
      const int n = std::stoi(env);
      if (n >= 1) return n;
    } catch (const std::exception&) {
    }
    throw Error(fmt::format("ZOO_NUM_THREADS='{}' is not a positive integer", env));
  }
  return omp_get_num_procs();
}

int& thread_count() {
  static int count = [] {
    const int n = initial_thread_count();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
    return n;
  }();
  return count;
}

}  // namespace

namespace {
thread_local bool serial_region = false;
}  // namespace

SerialRegionGuard::SerialRegionGuard() : previous_(serial_region) { serial_region = true; }
SerialRegionGuard::~SerialRegionGuard() { serial_region = previous_; }
bool SerialRegionGuard::active() { return serial_region; }

int num_threads() { return thread_count(); }

void set_num_threads(int n) {
  ZOO_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, got {}", n);
  thread_count() = n;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

}  // namespace zoo
