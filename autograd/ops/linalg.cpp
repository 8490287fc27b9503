/// @file linalg.cpp
/// @brief matmul (NumPy's rules on top of one batched GEMM kernel) and linear.

#include "autograd/ops/linalg.h"

#include <cblas.h>

#include "autograd/node.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/parallel.h"

namespace zoo {

template <>
void gemm<float>(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                 const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                 float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}

template <>
void gemm<double>(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha,
                  const double* a, std::int64_t lda, const double* b, std::int64_t ldb,
                  double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}

template <>
void gemm<std::int64_t>(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k,
                        std::int64_t alpha, const std::int64_t* a, std::int64_t lda,
                        const std::int64_t* b, std::int64_t ldb, std::int64_t beta,
                        std::int64_t* c, std::int64_t ldc) {
  // BLAS has no integer GEMM; a plain triple loop is enough for integer matrices.
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      std::int64_t acc = 0;
      for (std::int64_t p = 0; p < k; ++p)
        acc += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = alpha * acc + (beta == 0 ? 0 : beta * c[i * ldc + j]);
    }
}

namespace {

/// How a matrix (the last two dims of a tensor) can be handed to BLAS without copying:
/// row-major with leading dimension `ld`, or its transpose.
struct BlasLayout {
  bool ok = false;
  bool transposed = false;
  std::int64_t ld = 0;
};

BlasLayout blas_layout(const Tensor& t) {
  const std::int64_t rows = t.size(-2), cols = t.size(-1);
  const std::int64_t rs = t.stride(-2), cs = t.stride(-1);
  if (cs == 1 && (rs >= std::max<std::int64_t>(cols, 1) || rows == 1))
    return {true, false, std::max<std::int64_t>(rs, cols)};
  if (rs == 1 && (cs >= std::max<std::int64_t>(rows, 1) || cols == 1))
    return {true, true, std::max<std::int64_t>(cs, rows)};
  return {};
}

/// C = A @ B for a, b with ≥ 2 dims, batch dims broadcast. The forward of matmul.
Tensor batched_matmul(const Tensor& a_in, const Tensor& b_in) {
  const std::int64_t m = a_in.size(-2), k = a_in.size(-1), n = b_in.size(-1);
  ZOO_CHECK(b_in.size(-2) == k,
            "matmul: shapes {} and {} cannot be multiplied ({}x{} and {}x{} matrices)",
            a_in.shape(), b_in.shape(), m, k, b_in.size(-2), n);
  const DType dtype = promote_types(a_in.dtype(), b_in.dtype());
  ZOO_CHECK(dtype != kBool, "matmul: bool tensors cannot be multiplied");
  Tensor a = a_in.detach().to(dtype), b = b_in.detach().to(dtype);

  const Shape batch_a(a.shape().begin(), a.shape().end() - 2);
  const Shape batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  const std::int64_t batches = numel_of(batch);

  // A batch of row-major A against one shared B is a single tall GEMM: fold the batch
  // into the rows (this is `Linear` on a (B, T, C) input).
  if (batch_b.empty() || numel_of(batch_b) == 1) {
    if (a.is_contiguous() && batches > 1 && batch == batch_a) {
      Tensor out2 = batched_matmul(a.reshape({batches * m, k}), b.reshape({k, n}));
      Shape out_shape = batch;
      out_shape.push_back(m);
      out_shape.push_back(n);
      return out2.reshape(out_shape);
    }
  }

  Shape full_a = batch, full_b = batch, out_shape = batch;
  full_a.insert(full_a.end(), {m, k});
  full_b.insert(full_b.end(), {k, n});
  out_shape.insert(out_shape.end(), {m, n});
  a = a.expand(full_a);
  b = b.expand(full_b);
  if (!blas_layout(a).ok) a = a.contiguous();
  if (!blas_layout(b).ok) b = b.contiguous();
  const BlasLayout la = blas_layout(a), lb = blas_layout(b);

  Tensor out = empty(out_shape, dtype);
  if (out.numel() == 0) return out;
  if (k == 0) return out.zero_();

  // Element offset of batch element `i` in a tensor with the given full strides.
  auto batch_offset = [&](const Tensor& t, std::int64_t i) {
    std::int64_t off = t.offset();
    for (std::size_t d = batch.size(); d-- > 0;) {
      off += (i % batch[d]) * t.strides()[d];
      i /= batch[d];
    }
    return off;
  };

  dispatch_numeric(dtype, "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(a.storage().data());
    const T* pb = static_cast<const T*>(b.storage().data());
    T* pc = out.data_ptr<T>();
    auto one = [&](std::int64_t i) {
      gemm<T>(la.transposed, lb.transposed, m, n, k, T(1), pa + batch_offset(a, i), la.ld,
              pb + batch_offset(b, i), lb.ld, T(0), pc + i * m * n, n);
    };
    // Many products: whole products per thread (BLAS runs single-threaded inside an
    // OpenMP region), which beats splitting each mid-sized product across threads
    // (e.g. a convolution's per-image GEMMs). A few large products: one after
    // another, each using all threads inside BLAS.
    const bool many = batches >= 4 * num_threads();
    const bool small = m * n * k < (std::int64_t{1} << 24);
    if (batches >= num_threads() && (many || small)) {
      parallel_for(0, batches, 1, [&](std::int64_t b0, std::int64_t b1) {
        for (std::int64_t i = b0; i < b1; ++i) one(i);
      });
    } else {
      for (std::int64_t i = 0; i < batches; ++i) one(i);
    }
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  ZOO_CHECK(a.dim() >= 1 && b.dim() >= 1,
            "matmul: both arguments need at least 1 dim, got shapes {} and {}", a.shape(),
            b.shape());
  // 1-D operands become a row (left) or a column (right) and that dim is removed after.
  if (a.dim() == 1 && b.dim() == 1) {
    ZOO_CHECK(a.size(0) == b.size(0), "matmul: dot product of vectors of sizes {} and {}",
              a.size(0), b.size(0));
    return matmul(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);

  Tensor out = batched_matmul(a, b);
  // C = AB:  Ā = C̄ Bᵀ,  B̄ = Aᵀ C̄  (summed over broadcast batch dims by sum_to).
  return record("matmul", {a, b}, out,
                [sa = SavedTensor::input(a), sb = SavedTensor::input(b)](
                    const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor a = sa.get(), b = sb.get();
                  Grads grads(2);
                  if (needs[0]) grads[0] = sum_to(matmul(g, b.mT()), a.shape()).to(a.dtype());
                  if (needs[1]) grads[1] = sum_to(matmul(a.mT(), g), b.shape()).to(b.dtype());
                  return grads;
                });
}

/// y = x Wᵀ + b as one GEMM that starts from the bias (β = 1), like PyTorch's addmm.
///
/// Its own op rather than `matmul(x, W.t()) + b` for speed: the forward saves a pass over
/// y, and the backward produces W̄ directly in W's (out, in) layout, where matmul's
/// backward would produce W̄ᵀ and the gradient accumulator would then copy it transposed.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  ZOO_CHECK(x.defined() && weight.defined(), "linear: the input and the weight must be defined");
  ZOO_CHECK(weight.dim() == 2, "linear: the weight must be (out, in), got shape {}", weight.shape());
  const std::int64_t in = weight.size(1), out_features = weight.size(0);
  ZOO_CHECK(x.dim() >= 1 && x.size(-1) == in,
            "linear: the input's last dim must equal in = {} (weight {}), got input shape {}", in,
            weight.shape(), x.shape());
  ZOO_CHECK(!bias.defined() || bias.shape() == Shape{out_features},
            "linear: the bias must be (out) = [{}], got shape {}", out_features,
            bias.defined() ? bias.shape() : Shape{});
  ZOO_CHECK(is_floating(x.dtype()) && weight.dtype() == x.dtype() &&
                (!bias.defined() || bias.dtype() == x.dtype()),
            "linear: the input, weight and bias must have one floating dtype, got {}, {} and {}",
            x.dtype(), weight.dtype(), bias.defined() ? bias.dtype() : x.dtype());

  // Every leading dim is a row of one (rows, in) matrix.
  const std::int64_t rows = numel_of(Shape(x.shape().begin(), x.shape().end() - 1));
  Tensor x2 = x.detach().reshape({rows, in});
  if (!blas_layout(x2).ok) x2 = x2.contiguous();
  Tensor w = weight.detach();
  if (!blas_layout(w).ok) w = w.contiguous();
  const BlasLayout lx = blas_layout(x2), lw = blas_layout(w);

  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  Tensor y = empty({rows, out_features}, x.dtype());
  // With a bias every row starts as b and the GEMM adds to it (β = 1); without one the
  // GEMM writes y outright (β = 0), which saves a pass that would only write zeros.
  // (BLAS does not read y when β = 0, so the uninitialised memory does no harm.)
  const bool add_to_bias = bias.defined();
  if (add_to_bias)
    y.copy_(bias.detach().expand({rows, out_features}));
  else if (in == 0)
    y.zero_();  // an empty sum: no GEMM runs
  if (in > 0 && y.numel() > 0) {
    dispatch_floating(x.dtype(), "linear", [&](auto tag) {
      using T = decltype(tag);
      // y = 1·x Wᵀ + β·y. W is (out, in) row-major, so "Wᵀ" is W read transposed.
      gemm<T>(lx.transposed, !lw.transposed, rows, out_features, in, T(1),
              static_cast<const T*>(x2.storage().data()) + x2.offset(), lx.ld,
              static_cast<const T*>(w.storage().data()) + w.offset(), lw.ld, T(add_to_bias ? 1 : 0),
              y.data_ptr<T>(), out_features);
    });
  }
  y = y.reshape(out_shape);

  // ȳ (rows, out):  x̄ = ȳ W,  W̄ = ȳᵀ x,  b̄ = Σ_rows ȳ. Written with Tensor ops, so
  // higher-order gradients work; ȳᵀ is a view that BLAS reads transposed.
  return record("linear", {x, weight, bias}, y,
                [sx = SavedTensor::input(x), sw = SavedTensor::input(weight)](
                    const Tensor& g, const std::vector<bool>& needs) {
                  const Tensor x = sx.get(), w = sw.get();
                  const std::int64_t rows = numel_of(Shape(x.shape().begin(), x.shape().end() - 1));
                  const Tensor g2 = g.reshape({rows, w.size(0)});
                  Grads grads(3);
                  if (needs[0]) grads[0] = matmul(g2, w).reshape(x.shape());
                  if (needs[1]) grads[1] = matmul(g2.mT(), x.reshape({rows, w.size(1)}));
                  if (needs[2]) grads[2] = sum(g2, {0});
                  return grads;
                });
}

Tensor Tensor::matmul(const Tensor& other) const { return zoo::matmul(*this, other); }

}  // namespace zoo
