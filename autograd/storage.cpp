#include "autograd/storage.h"

#include <malloc.h>

#include <cstdlib>
#include <new>

namespace zoo {

void Storage::Free::operator()(void* p) const { std::free(p); }

namespace {

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
}

}  // namespace zoo
