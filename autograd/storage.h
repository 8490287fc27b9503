#pragma once
/// @file storage.h
/// @brief `Storage`: the flat block of bytes that tensors and their views share.

#include <cstddef>
#include <cstdint>
#include <memory>

namespace zoo {

/// A 64-byte aligned buffer owned jointly by a tensor and all its views.
///
/// It also carries the *version counter*: every in-place write to any view bumps it,
/// so that the autograd engine can tell that a tensor it saved for backward has been
/// overwritten since (see `SavedTensor`).
class Storage {
 public:
  /// Allocates `nbytes` bytes, uninitialised.
  explicit Storage(std::size_t nbytes);

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
  struct Free {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> data_;
  std::size_t nbytes_;
  std::uint64_t version_ = 0;
};

}  // namespace zoo
