/// @file model.cpp
/// @brief NICE's layers (additive coupling, diagonal scaling) and the model that chains
/// them: forward, inverse, log-determinant, log-likelihood and sampling.

#include "models/nice/model.h"

#include "autograd/ops.h"
#include "nn/layers.h"

namespace zoo::models {

namespace {

/// The interleaved halves of x (N, D): the even-indexed values x[:, 0::2] and the
/// odd-indexed x[:, 1::2], each (N, D/2) (strided views, no copy).
std::pair<Tensor, Tensor> split_even_odd(const Tensor& x) {
  const std::int64_t D = x.size(1);
  return {x.slice(1, 0, D, 2), x.slice(1, 1, D, 2)};
}

/// The inverse of `split_even_odd`: even (N, D/2) and odd (N, D/2) interleaved back into
/// (N, D), value 2j from even[:, j] and 2j + 1 from odd[:, j].
Tensor merge_even_odd(const Tensor& even, const Tensor& odd) {
  return stack({even, odd}, 2).reshape({even.size(0), 2 * even.size(1)});  // (N, D/2, 2) -> (N, D)
}

/// The coupling function m: Linear(D/2, H) → ReLU → (Linear(H, H) → ReLU) × (L − 1) →
/// Linear(H, D/2).
std::shared_ptr<nn::Sequential> coupling_mlp(std::int64_t half, std::int64_t hidden, std::int64_t layers) {
  auto m = std::make_shared<nn::Sequential>();
  std::int64_t in = half;
  for (std::int64_t l = 0; l < layers; ++l) {
    m->push_back(std::make_shared<nn::Linear>(in, hidden));
    m->push_back(std::make_shared<nn::ReLU>());
    in = hidden;
  }
  m->push_back(std::make_shared<nn::Linear>(in, half));
  return m;
}

void check_flow_input(const Tensor& x, std::int64_t dim, const char* op) {
  ZOO_CHECK(x.dim() == 2 && x.size(1) == dim, "{}: expected x of shape (N, {}), got shape {}", op, dim,
            x.shape());
  ZOO_CHECK(x.is_floating_point(), "{}: expected a floating-point x, got {}", op, dtype_name(x.dtype()));
}

}  // namespace

// ---- AdditiveCoupling ----

AdditiveCoupling::AdditiveCoupling(std::int64_t dim_, std::int64_t hidden_size, std::int64_t hidden_layers,
                                   bool changes_odd_)
    : dim(dim_), changes_odd(changes_odd_) {
  ZOO_CHECK(dim >= 2 && dim % 2 == 0, "AdditiveCoupling: the dimension must be even and at least 2, got {}", dim);
  ZOO_CHECK(hidden_size > 0 && hidden_layers > 0,
            "AdditiveCoupling: hidden_size and hidden_layers must be positive, got {} and {}", hidden_size,
            hidden_layers);
  m = register_module("m", coupling_mlp(dim / 2, hidden_size, hidden_layers));
}

Tensor AdditiveCoupling::shift(const Tensor& x, double sign) {
  const auto [even, odd] = split_even_odd(x);  // (N, D/2) each
  if (changes_odd) return merge_even_odd(even, odd + (*m)(even) * sign);  // y_odd = x_odd ± m(x_even)
  return merge_even_odd(even + (*m)(odd) * sign, odd);                     // y_even = x_even ± m(x_odd)
}

Tensor AdditiveCoupling::forward(const Tensor& x) {
  check_flow_input(x, dim, "AdditiveCoupling.forward");
  return shift(x, 1.0);
}

Tensor AdditiveCoupling::inverse(const Tensor& y) {
  check_flow_input(y, dim, "AdditiveCoupling.inverse");
  return shift(y, -1.0);
}

Tensor AdditiveCoupling::log_det(const Tensor& x) {
  check_flow_input(x, dim, "AdditiveCoupling.log_det");
  return zeros({x.size(0)}, x.dtype());  // det [[I, 0], [∂m/∂x₁, I]] = 1
}

std::string AdditiveCoupling::extra_repr() const {
  return fmt::format("dim={}, changes={}", dim, changes_odd ? "odd" : "even");
}

// ---- DiagonalScaling ----

DiagonalScaling::DiagonalScaling(std::int64_t dim_) : dim(dim_) {
  ZOO_CHECK(dim > 0, "DiagonalScaling: the dimension must be positive, got {}", dim);
  log_scale = register_parameter("log_scale", zeros({dim}));
}

Tensor DiagonalScaling::forward(const Tensor& x) {
  check_flow_input(x, dim, "DiagonalScaling.forward");
  return x * exp(log_scale);  // (N, D) ⊙ (D)
}

Tensor DiagonalScaling::inverse(const Tensor& y) {
  check_flow_input(y, dim, "DiagonalScaling.inverse");
  return y * exp(neg(log_scale));
}

Tensor DiagonalScaling::log_det(const Tensor& x) {
  check_flow_input(x, dim, "DiagonalScaling.log_det");
  return sum(log_scale).expand({x.size(0)});  // Σ_d s_d, the same for every row
}

std::string DiagonalScaling::extra_repr() const { return fmt::format("dim={}", dim); }

// ---- Nice ----

Nice::Nice(const NiceConfig& c) : config(c), prior(parse_nice_prior(c.prior)) {
  ZOO_CHECK(c.coupling_layers > 0, "Nice: coupling_layers must be positive, got {}", c.coupling_layers);
  couplings = register_module("couplings", std::make_shared<nn::ModuleList>());
  for (std::int64_t k = 0; k < c.coupling_layers; ++k)
    couplings->push_back(std::make_shared<AdditiveCoupling>(c.dim, c.hidden_size, c.hidden_layers, k % 2 == 0));
  scaling = register_module("scaling", std::make_shared<DiagonalScaling>(c.dim));
}

void Nice::check_input(const Tensor& x, const char* op) const { check_flow_input(x, config.dim, op); }

Tensor Nice::forward(const Tensor& x) {
  check_input(x, "Nice.forward");
  Tensor h = x;
  for (const auto& layer : *couplings) h = (*layer)(h);
  return (*scaling)(h);
}

std::pair<Tensor, Tensor> Nice::forward_with_log_det(const Tensor& x) {
  check_input(x, "Nice.forward_with_log_det");
  Tensor h = x;
  Tensor log_det = zeros({x.size(0)}, x.dtype());
  for (const auto& module : *couplings) {
    auto& layer = static_cast<FlowLayer&>(*module);
    log_det = log_det + layer.log_det(h);  // each layer's determinant at its own input
    h = layer(h);
  }
  log_det = log_det + scaling->log_det(h);
  return {(*scaling)(h), log_det};
}

Tensor Nice::inverse(const Tensor& h) {
  check_input(h, "Nice.inverse");
  Tensor x = scaling->inverse(h);
  for (std::size_t k = couplings->size(); k-- > 0;)  // undo the couplings last to first
    x = static_cast<FlowLayer&>(*(*couplings)[k]).inverse(x);
  return x;
}

Tensor Nice::log_prob(const Tensor& x) {
  check_input(x, "Nice.log_prob");
  const auto [h, log_det] = forward_with_log_det(x);
  return prior_log_prob(prior, h) + log_det;  // log p_H(f(x)) + log|det ∂f/∂x|
}

Tensor Nice::sample(std::int64_t n, double temperature, Generator& gen) {
  NoGradGuard no_grad;
  return inverse(sample_prior(prior, n, config.dim, temperature, gen, scaling->log_scale.dtype()));
}

}  // namespace zoo::models
