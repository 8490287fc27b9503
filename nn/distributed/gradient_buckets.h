#pragma once
/// @file gradient_buckets.h
/// @brief Averaging gradients across processes in a few large messages: the heart of
/// data-parallel training (PyTorch's `DistributedDataParallel` does the same).
///
/// Lesson: @ref tutorial_17_data_parallel.

#include <cstdint>
#include <vector>

#include "autograd/tensor.h"
#include "nn/distributed/communicator.h"

namespace zoo::nn {

/// PyTorch's default bucket size (`bucket_cap_mb=25`).
inline constexpr std::int64_t kDefaultBucketBytes = std::int64_t{25} << 20;

/// The parameters of a model, grouped into buckets of at most `bucket_bytes` of
/// gradient each (a parameter larger than that gets a bucket of its own).
///
/// **Why average.** Process r computes \f$g_r = \nabla_\theta \frac{1}{n_r}\sum_{i \in
/// B_r} \ell_i\f$ on its n_r examples. The gradient of the mean loss over all of them,
/// \f$n = \sum_r n_r\f$, is
/// \f[ g = \nabla_\theta \frac{1}{n}\sum_r \sum_{i \in B_r} \ell_i = \sum_r \frac{n_r}{n}\, g_r , \f]
/// the plain average \f$\frac1W \sum_r g_r\f$ when every process has n/W examples. So
/// W processes with batch B step exactly like one process with batch W·B.
///
/// **Why buckets.** Every all-reduce pays a fixed latency (a few microseconds on one
/// machine, tens on a network) besides the time per byte. A CNN has 8 parameter
/// tensors, a transformer hundreds: one all-reduce each would pay the latency hundreds
/// of times. Packed into one flat buffer per bucket, they pay it a few times, and the
/// large messages run at full bandwidth.
///
///     GradientBuckets buckets(model.parameters());
///     loss.backward();
///     buckets.all_reduce(comm, n_r / n);   // every rank now holds the same g
///     optimizer.step();                    // so every rank takes the same step
class GradientBuckets {
 public:
  /// One bucket: the parameters [first, last) of the list, and their total elements.
  struct Bucket {
    std::size_t first = 0;        ///< index of the bucket's first parameter
    std::size_t last = 0;         ///< one past its last parameter
    std::int64_t elements = 0;    ///< gradient elements in the bucket
    DType dtype = kFloat32;       ///< float32 or float64: one dtype per bucket
  };

  /// Groups `parameters` (floating tensors) in order: a bucket closes when the next
  /// parameter would take it past `bucket_bytes`, or has another dtype.
  explicit GradientBuckets(std::vector<Tensor> parameters, std::int64_t bucket_bytes = kDefaultBucketBytes);

  /// The buckets, in order.
  const std::vector<Bucket>& buckets() const { return buckets_; }
  /// The parameters, in order.
  const std::vector<Tensor>& parameters() const { return parameters_; }

  /// Collective. Every parameter's gradient becomes \f$\sum_r w_r\, g_r\f$ (w_r = this
  /// process's `weight`), the same on every process: per bucket, pack `weight`·grad of
  /// each parameter into one flat buffer (a missing gradient counts as zeros), all-reduce
  /// the buffer's sum, and copy the result back into the gradients.
  void all_reduce(Communicator& comm, double weight);

  /// Collective. Every process's parameters become rank 0's: a run starts from the same
  /// weights everywhere, whatever each process's initialisation drew.
  void broadcast_parameters(Communicator& comm);

  /// A fingerprint of the parameters' bytes (FNV-1a): equal on every process while the
  /// processes are in step; different values mean they have drifted apart.
  std::uint64_t fingerprint() const;

 private:
  std::vector<Tensor> parameters_;
  std::vector<Bucket> buckets_;
  std::vector<float> buffer_;          // one bucket's float32 gradients, packed
  std::vector<double> buffer_double_;  // the same for a float64 bucket
};

}  // namespace zoo::nn
