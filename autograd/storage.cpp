/// @file storage.cpp
/// @brief The aligned buffer behind every tensor, and the count of live bytes.

#include "autograd/storage.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace zoo {

void Storage::Free::operator()(void* p) const { std::free(p); }

namespace {

// The live bytes and their high-water mark. Relaxed atomics: the counts must be exact,
// but they order nothing else, and tensors may be created on any OpenMP thread.
std::atomic<std::size_t> bytes_in_use{0};
std::atomic<std::size_t> peak_bytes{0};

/// Raises the peak to `now` if `now` is higher. One load in the common case; the
/// compare-exchange loop runs only when a new peak is set (and retries if another
/// thread set one meanwhile).
void raise_peak(std::size_t now) {
  std::size_t peak = peak_bytes.load(std::memory_order_relaxed);
  while (now > peak &&
         !peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

/// Asks glibc's malloc to keep freed tensor memory for reuse.
///
/// Why: a training step frees and allocates the same large buffers (activations,
/// gradients, im2col columns) again and again. By default glibc serves blocks above a
/// threshold with fresh mmap()s and returns them to the OS on free, so every step
/// page-faults its way through brand-new memory: a third of a CNN step went there.
/// Raising the mmap threshold to its maximum (32 MiB on 64-bit) and the trim
/// threshold makes freed blocks stay in the heap, ready for the next step. Set once,
/// before the first tensor is allocated; the rest of the program is unaffected but
/// for keeping up to 1 GiB of freed memory instead of returning it at once.
bool keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  return true;
}

}  // namespace

Storage::Storage(std::size_t nbytes) : nbytes_(nbytes) {
  static const bool configured = keep_freed_memory();
  (void)configured;
  // aligned_alloc wants a size that is a multiple of the alignment (and > 0).
  const std::size_t rounded = (nbytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) throw std::bad_alloc();
  data_.reset(p);
  // Counted only once allocated, so that a failed allocation counts nothing.
  raise_peak(bytes_in_use.fetch_add(nbytes_, std::memory_order_relaxed) + nbytes_);
}

Storage::~Storage() { bytes_in_use.fetch_sub(nbytes_, std::memory_order_relaxed); }

std::size_t storage_bytes_in_use() { return bytes_in_use.load(std::memory_order_relaxed); }

std::size_t storage_peak_bytes() { return peak_bytes.load(std::memory_order_relaxed); }

void reset_storage_peak() {
  peak_bytes.store(bytes_in_use.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

}  // namespace zoo
