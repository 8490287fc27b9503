#include "autograd/kernels/copy.h"

#include "autograd/kernels/loop.h"

namespace zoo::kernels {

void copy_elements(const Tensor& dst, const Tensor& src) {
  const Shape out = broadcast_shapes(dst.shape(), src.shape(), "copy");
  ZOO_CHECK(out == dst.shape(), "copy: a tensor of shape {} does not broadcast to shape {}",
            src.shape(), dst.shape());
  dispatch_all(dst.dtype(), [&](auto dst_tag) {
    using D = decltype(dst_tag);
    dispatch_all(src.dtype(), [&](auto src_tag) {
      using S = decltype(src_tag);
      D* d = static_cast<D*>(dst.storage().data());
      const S* s = static_cast<const S*>(src.storage().data());
      strided_loop<2>(dst.shape(),
                      {dst.strides(), broadcast_strides(src.shape(), src.strides(), dst.shape())},
                      {dst.offset(), src.offset()}, kGrainSize,
                      [&](const std::array<std::int64_t, 2>& o,
                          const std::array<std::int64_t, 2>& st, std::int64_t n) {
                        D* dp = d + o[0];
                        const S* sp = s + o[1];
                        if (st[0] == 1 && st[1] == 1) {
                          for (std::int64_t i = 0; i < n; ++i) dp[i] = static_cast<D>(sp[i]);
                        } else {
                          for (std::int64_t i = 0; i < n; ++i)
                            dp[i * st[0]] = static_cast<D>(sp[i * st[1]]);
                        }
                      });
    });
  });
}

}  // namespace zoo::kernels
