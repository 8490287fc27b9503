#include "autograd/storage.h"

#include <cstdlib>
#include <new>

namespace zoo {

void Storage::Free::operator()(void* p) const { std::free(p); }

Storage::Storage(std::size_t nbytes) : nbytes_(nbytes) {
  // aligned_alloc wants a size that is a multiple of the alignment (and > 0).
  const std::size_t rounded = (nbytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) throw std::bad_alloc();
  data_.reset(p);
}

}  // namespace zoo
