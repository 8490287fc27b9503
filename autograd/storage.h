#pragma once
/// @file storage.h
/// @brief `Storage`: the flat block of bytes that tensors and their views share, and
/// the count of how many such bytes are alive (`storage_bytes_in_use`, `storage_peak_bytes`).

#include <cstddef>
#include <cstdint>
#include <memory>

namespace zoo {

/// A 64-byte aligned buffer owned jointly by a tensor and all its views.
///
/// It also carries the *version counter*: every in-place write to any view bumps it,
/// so that the autograd engine can tell that a tensor it saved for backward has been
/// overwritten since (see `SavedTensor`).
///
/// Every storage adds its size to a process-wide count when it is created and takes it
/// off when it is destroyed, so that the memory a graph holds can be measured (see
/// `storage_bytes_in_use`).
class Storage {
 public:
  /// Allocates `nbytes` bytes, uninitialised, and counts them as in use.
  explicit Storage(std::size_t nbytes);
  /// Frees the buffer and stops counting its bytes.
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  /// The first byte (cast to the element type by the caller, see `Tensor::data_ptr`).
  void* data() { return data_.get(); }
  /// The first byte, read-only.
  const void* data() const { return data_.get(); }
  /// Size of the buffer in bytes.
  std::size_t nbytes() const { return nbytes_; }

  /// The version counter: the number of in-place writes so far.
  std::uint64_t version() const { return version_; }
  /// Called by every in-place write, through any view of this storage.
  void bump_version() { ++version_; }

 private:
  /// Gives the buffer back: to the cache of large blocks (see storage.cpp), else to malloc.
  struct Free {
    std::size_t bytes = 0;  ///< the allocated (rounded) size
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> data_;
  std::size_t nbytes_;
  std::uint64_t version_ = 0;
};

/// Bytes held by all live `Storage`s of the process right now: the tensors' data,
/// shared by their views (a view costs nothing), as requested (not rounded up to the
/// 64-byte alignment). Memory that BLAS or the allocator keeps for itself is not counted.
///
/// This is the number activation checkpointing trades against compute: after a forward
/// pass, `storage_bytes_in_use()` minus its value before is what the graph keeps for
/// backward (plus the outputs). See `autograd/checkpoint.h` and its test.
std::size_t storage_bytes_in_use();

/// The largest value `storage_bytes_in_use()` has had since the start of the process
/// or the last `reset_storage_peak()`. Storages created and freed within an op (its
/// temporaries) count too, while they live.
std::size_t storage_peak_bytes();

/// Sets the peak to the current `storage_bytes_in_use()`, to measure the peak of what
/// follows: `reset_storage_peak(); work(); storage_peak_bytes() - before`.
void reset_storage_peak();

}  // namespace zoo
