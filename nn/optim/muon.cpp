#include "nn/optim/muon.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace zoo::optim {

Tensor zeropower_via_newtonschulz5(const Tensor& g, int steps) {
  ZOO_CHECK(g.dim() == 2, "zeropower_via_newtonschulz5: expected a matrix, got shape {}",
            g.shape());
  ZOO_CHECK(steps >= 0, "zeropower_via_newtonschulz5: steps must be >= 0, got {}", steps);
  const double a = 3.4445, b = -4.7750, c = 2.0315;

  // Work with the wide orientation (M <= N) so that A = X Xᵀ is the smaller Gram matrix.
  const bool tall = g.size(0) > g.size(1);
  Tensor x = tall ? g.t() : g;
  // X₀ = G / ‖G‖_F: the largest singular value is at most the Frobenius norm, so ≤ 1.
  const double norm = std::sqrt(sum(x * x).item());
  x = x / (norm + 1e-7);
  for (int k = 0; k < steps; ++k) {
    Tensor A = matmul(x, x.t());          // A = X Xᵀ              (M, M)
    Tensor B = A * b + matmul(A, A) * c;  // B = bA + cA²
    x = x * a + matmul(B, x);             // X ← aX + BX = aX + bX XᵀX + cX(XᵀX)²
  }
  return tall ? x.t().contiguous() : x.contiguous();
}

Muon::Muon(NamedParameters params, MuonOptions options)
    : Optimizer("Muon", std::move(params), options.lr()),
      options_(std::move(options)),
      adamw_lr_(options_.adamw().lr()) {
  const MuonOptions& o = options_;
  ZOO_CHECK(o.momentum() >= 0 && o.momentum() < 1, "Muon: momentum must be in [0, 1), got {}",
            o.momentum());
  ZOO_CHECK(o.ns_steps() >= 1, "Muon: ns_steps must be >= 1, got {}", o.ns_steps());
  ZOO_CHECK(o.weight_decay() >= 0, "Muon: weight_decay must be >= 0, got {}", o.weight_decay());
  ZOO_CHECK(std::isfinite(o.adamw().lr()) && o.adamw().lr() >= 0,
            "Muon: the AdamW learning rate must be finite and >= 0, got {}", o.adamw().lr());
  check_adam_options(o.adamw(), "Muon (AdamW part)");
  options_.adamw(AdamOptions(o.adamw()).decoupled_weight_decay(true));

  const NamedParameters& ps = parameters();
  for (const std::string& name : o.adamw_params()) {
    const bool known =
        std::any_of(ps.begin(), ps.end(), [&](const auto& np) { return np.first == name; });
    ZOO_CHECK(known, "Muon: adamw_params names '{}', which is not one of the parameters", name);
  }
  for (const auto& [name, p] : ps) {
    const auto& marked = o.adamw_params();
    const bool muon = p.dim() == 2 &&
                      std::find(marked.begin(), marked.end(), name) == marked.end() &&
                      (!o.use_muon() || o.use_muon()(name, p));
    use_muon_.push_back(muon);
  }
}

Muon::Muon(const std::vector<Tensor>& params, MuonOptions options)
    : Muon(number_parameters(params), std::move(options)) {}

void Muon::set_lr(double lr) {
  Optimizer::set_lr(lr);
  // Keep the ratio of the two learning rates that the options gave.
  if (options_.lr() > 0) adamw_lr_ = options_.adamw().lr() * lr / options_.lr();
}

void Muon::init_state(std::size_t index, const Tensor& param, nn::StateDict& buffers) const {
  if (use_muon_[index])
    buffers.insert("momentum_buffer", zeros_like(param));
  else
    init_adam_state(param, options_.adamw(), buffers);
}

void Muon::update(std::size_t index, Tensor& p, const Tensor& grad, ParamState& state) {
  if (!use_muon_[index]) {
    adam_update(p, grad, state, options_.adamw(), adamw_lr_);
    return;
  }
  const double mu = options_.momentum(), eta = lr(), lambda = options_.weight_decay();
  Tensor B = state.buffers.at("momentum_buffer");
  B.mul_(mu).add_(grad);                               // B ← μB + G
  Tensor U = options_.nesterov() ? grad + B * mu : B;  // U = G + μB  (Nesterov)
  Tensor O = zeropower_via_newtonschulz5(U, options_.ns_steps());
  const double rows = static_cast<double>(p.size(0)), cols = static_cast<double>(p.size(1));
  const double scale = std::sqrt(std::max(1.0, rows / cols));
  if (lambda != 0) p.mul_(1.0 - eta * lambda);  // W ← (1 − ηλ)W
  p.add_(O, -eta * scale);                      // W ← W − η√max(1, M/N)·O
}

}  // namespace zoo::optim
