/// @file storage.cpp
/// @brief The aligned buffer behind every tensor, and the count of live bytes.

#include "autograd/storage.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>

namespace zoo {

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

/// Freed blocks of at least 32 MiB, kept for the next allocation of the same size.
///
/// Why: glibc serves blocks above its largest mmap threshold (32 MiB) with fresh mmap()s
/// whatever `keep_freed_memory` says, and unmaps them on free. A language model's logits
/// and their gradients, (B·T, V) floats, are 64 MiB each, allocated and freed several
/// times per step, so every step faulted in hundreds of MiB of new pages, page by page:
/// a tenth of a transformer step. Training allocates the same shapes every step, so an
/// exact-size cache of a few blocks catches them all. It holds at most
/// `kMaxCachedBytes`; beyond that the oldest block goes back to the system.
class LargeBlockCache {
 public:
  static constexpr std::size_t kMinBytes = 32u << 20;
  static constexpr std::size_t kMaxCachedBytes = 1u << 30;

  /// A cached block of exactly `bytes`, or null.
  void* take(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = blocks_.begin(); it != blocks_.end(); ++it)
      if (it->bytes == bytes) {
        void* p = it->ptr;
        cached_ -= bytes;
        blocks_.erase(it);
        return p;
      }
    return nullptr;
  }
  /// Keeps `p` (of `bytes`) for reuse, freeing the oldest blocks if the cache is full.
  void give(void* p, std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    blocks_.push_back({p, bytes});
    cached_ += bytes;
    while (cached_ > kMaxCachedBytes) {
      std::free(blocks_.front().ptr);
      cached_ -= blocks_.front().bytes;
      blocks_.pop_front();
    }
  }

 private:
  struct Block {
    void* ptr;
    std::size_t bytes;
  };
  std::mutex mutex_;
  std::deque<Block> blocks_;
  std::size_t cached_ = 0;
};

/// The process's cache; never destroyed, so that tensors freed during static
/// destruction still find it (the memory goes back to the OS at exit anyway).
LargeBlockCache& large_blocks() {
  static auto* cache = new LargeBlockCache;
  return *cache;
}

}  // namespace

void Storage::Free::operator()(void* p) const {
  if (bytes >= LargeBlockCache::kMinBytes)
    large_blocks().give(p, bytes);
  else
    std::free(p);
}

namespace {

/// `nbytes` rounded up to the 64-byte alignment (aligned_alloc wants a multiple of it, > 0).
std::size_t rounded_size(std::size_t nbytes) { return std::max<std::size_t>((nbytes + 63) / 64 * 64, 64); }

/// A 64-byte aligned block of `bytes` (already rounded): from the cache of large blocks
/// if one of that size is there, else from malloc.
void* allocate(std::size_t bytes) {
  static const bool configured = keep_freed_memory();
  (void)configured;
  void* p = bytes >= LargeBlockCache::kMinBytes ? large_blocks().take(bytes) : nullptr;
  if (p == nullptr) p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

Storage::Storage(std::size_t nbytes)
    : data_(allocate(rounded_size(nbytes)), Free{rounded_size(nbytes)}), nbytes_(nbytes) {
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
