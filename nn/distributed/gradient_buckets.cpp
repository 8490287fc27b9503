/// @file gradient_buckets.cpp
/// @brief Packing gradients into buckets, all-reducing them, unpacking.

#include "nn/distributed/gradient_buckets.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "autograd/error.h"
#include "autograd/factories.h"
#include "autograd/grad_mode.h"

namespace zoo::nn {
namespace {

std::int64_t element_bytes(DType dtype) { return dtype == kFloat64 ? 8 : 4; }

/// One bucket's round trip through a flat buffer of T (float or double).
template <class T>
void all_reduce_bucket(const std::vector<Tensor>& parameters, const GradientBuckets::Bucket& bucket,
                       std::vector<T>& buffer, Communicator& comm, double weight) {
  buffer.assign(static_cast<std::size_t>(bucket.elements), T(0));
  // Pack: buffer = [w·g_first, ..., w·g_last-1], each gradient flattened in row-major order.
  std::size_t offset = 0;
  for (std::size_t i = bucket.first; i < bucket.last; ++i) {
    const Tensor& p = parameters[i];
    const auto n = static_cast<std::size_t>(p.numel());
    if (const Tensor g = p.grad(); g.defined()) {
      const Tensor dense = g.contiguous();
      const T* source = dense.data_ptr<T>();
      const T w = static_cast<T>(weight);
      for (std::size_t k = 0; k < n; ++k) buffer[offset + k] = w * source[k];
    }  // else: no gradient reached p on this process; it contributes zeros
    offset += n;
  }
  // Sum over the processes: one message for the whole bucket.
  comm.all_reduce_sum(std::span<T>(buffer));
  // Unpack into fresh tensors: a gradient may share its storage with another
  // parameter's (the engine hands one tensor to both inputs of an add), so it is
  // replaced, never written in place.
  offset = 0;
  for (std::size_t i = bucket.first; i < bucket.last; ++i) {
    const Tensor& p = parameters[i];
    const auto n = static_cast<std::size_t>(p.numel());
    Tensor g = zeros(p.shape(), p.dtype());
    std::copy_n(buffer.data() + offset, n, g.data_ptr<T>());
    p.set_grad(g);
    offset += n;
  }
}

}  // namespace

GradientBuckets::GradientBuckets(std::vector<Tensor> parameters, std::int64_t bucket_bytes)
    : parameters_(std::move(parameters)) {
  ZOO_CHECK(bucket_bytes > 0, "GradientBuckets: bucket_bytes must be positive, got {}", bucket_bytes);
  std::int64_t bytes_in_bucket = 0;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor& p = parameters_[i];
    ZOO_CHECK(p.defined() && (p.dtype() == kFloat32 || p.dtype() == kFloat64),
              "GradientBuckets: parameter {} must be a float32 or float64 tensor", i);
    ZOO_CHECK(p.is_contiguous(), "GradientBuckets: parameter {} (shape {}) is not contiguous", i, p.shape());
    const std::int64_t bytes = p.numel() * element_bytes(p.dtype());
    const bool open = !buckets_.empty() && buckets_.back().last == i;
    if (!open || buckets_.back().dtype != p.dtype() || bytes_in_bucket + bytes > bucket_bytes) {
      buckets_.push_back({.first = i, .last = i, .elements = 0, .dtype = p.dtype()});
      bytes_in_bucket = 0;
    }
    Bucket& bucket = buckets_.back();
    bucket.last = i + 1;
    bucket.elements += p.numel();
    bytes_in_bucket += bytes;
  }
}

void GradientBuckets::all_reduce(Communicator& comm, double weight) {
  NoGradGuard no_grad;
  for (const Bucket& bucket : buckets_) {
    if (bucket.dtype == kFloat64) all_reduce_bucket(parameters_, bucket, buffer_double_, comm, weight);
    else all_reduce_bucket(parameters_, bucket, buffer_, comm, weight);
  }
}

void GradientBuckets::broadcast_parameters(Communicator& comm) {
  // Once per run, so one message per parameter is fine; written in place, which is
  // what loading weights does (a parameter owns its storage).
  for (const Tensor& p : parameters_) {
    auto* bytes = reinterpret_cast<std::uint8_t*>(p.dtype() == kFloat64 ? static_cast<void*>(p.data_ptr<double>())
                                                                         : static_cast<void*>(p.data_ptr<float>()));
    comm.broadcast(std::span<std::uint8_t>(bytes, static_cast<std::size_t>(p.numel() * element_bytes(p.dtype()))), 0);
  }
}

std::uint64_t GradientBuckets::fingerprint() const {
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a's offset basis
  for (const Tensor& p : parameters_) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(
        p.dtype() == kFloat64 ? static_cast<const void*>(p.data_ptr<double>())
                              : static_cast<const void*>(p.data_ptr<float>()));
    const std::int64_t n = p.numel() * element_bytes(p.dtype());
    for (std::int64_t k = 0; k < n; ++k) hash = (hash ^ bytes[k]) * 0x100000001b3ull;  // FNV prime
  }
  return hash;
}

}  // namespace zoo::nn
