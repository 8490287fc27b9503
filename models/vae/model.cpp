#include "models/vae/model.h"

#include <cmath>
#include <numbers>

#include "autograd/ops.h"
#include "nn/layers/activation.h"

namespace zoo::models {
namespace {

/// Linear → ReLU for each size in `hidden`, starting from `in` features: a ReLU MLP body.
std::shared_ptr<nn::Sequential> relu_mlp(std::int64_t in, const std::vector<std::int64_t>& hidden) {
  auto body = std::make_shared<nn::Sequential>();
  for (const std::int64_t h : hidden) {
    body->push_back(std::make_shared<nn::Linear>(in, h));
    body->push_back(std::make_shared<nn::ReLU>());
    in = h;
  }
  return body;
}

}  // namespace

Vae::Vae(const VaeConfig& c) : config(c) {
  ZOO_CHECK(c.input_dim > 0 && c.latent_dim > 0, "Vae: input and latent sizes must be positive, got {} and {}",
            c.input_dim, c.latent_dim);
  for (const std::int64_t h : c.hidden) ZOO_CHECK(h > 0, "Vae: hidden sizes must be positive, got {}", h);
  const std::int64_t top = c.hidden.empty() ? c.input_dim : c.hidden.back();
  encoder = register_module("encoder", relu_mlp(c.input_dim, c.hidden));
  mean = register_module("mean", std::make_shared<nn::Linear>(top, c.latent_dim));
  log_var = register_module("log_var", std::make_shared<nn::Linear>(top, c.latent_dim));
  // The decoder mirrors the encoder: L → hidden reversed → D logits.
  const std::vector<std::int64_t> reversed(c.hidden.rbegin(), c.hidden.rend());
  decoder = register_module("decoder", relu_mlp(c.latent_dim, reversed));
  decoder->push_back(std::make_shared<nn::Linear>(c.hidden.empty() ? c.latent_dim : c.hidden.front(), c.input_dim));
}

std::pair<Tensor, Tensor> Vae::encode(const Tensor& x) {
  ZOO_CHECK(x.defined() && x.dim() == 2 && x.size(1) == config.input_dim,
            "Vae::encode: expected x (N, {}), got {}", config.input_dim, x.defined() ? x.shape() : Shape{});
  const Tensor h = encoder->forward(x);  // (N, H)
  return {mean->forward(h), log_var->forward(h)};
}

Tensor Vae::decode(const Tensor& z) {
  ZOO_CHECK(z.defined() && z.dim() == 2 && z.size(1) == config.latent_dim,
            "Vae::decode: expected z (N, {}), got {}", config.latent_dim, z.defined() ? z.shape() : Shape{});
  return decoder->forward(z);
}

Tensor Vae::forward(const Tensor& x) { return decode(encode(x).first); }

Tensor gaussian_kl(const Tensor& mu, const Tensor& log_var) {
  // ½ Σ_l (μ² + σ² − 1 − log σ²)
  return mul(sum(sub(add(square(mu), exp(log_var)), add(log_var, scalar_tensor(1.0, mu.dtype()))), {1}),
             scalar_tensor(0.5, mu.dtype()));
}

Tensor reparameterize(const Tensor& mu, const Tensor& log_var, Generator& gen) {
  const Tensor eps = randn(mu.shape(), mu.dtype(), gen);
  return add(mu, mul(exp(mul(log_var, scalar_tensor(0.5, mu.dtype()))), eps));  // μ + σ ε
}

Tensor bernoulli_log_likelihood(const Tensor& logits, const Tensor& x) {
  ZOO_CHECK(logits.shape() == x.shape() && logits.dim() == 2,
            "bernoulli_log_likelihood: logits {} and x {} must be the same (N, D)", logits.shape(), x.shape());
  return neg(sum(binary_cross_entropy_with_logits(logits, x, Reduction::None), {1}));
}

Tensor gaussian_log_density(const Tensor& z, const Tensor& mu, const Tensor& log_var) {
  // −½ Σ_l [log 2π + log σ² + (z − μ)² e^{−log σ²}]
  const DType t = z.dtype();
  const Tensor squared = mul(square(sub(z, mu)), exp(neg(log_var)));
  const Tensor per_dim = add(add(log_var, squared), scalar_tensor(std::log(2 * std::numbers::pi), t));
  return mul(sum(per_dim, {1}), scalar_tensor(-0.5, t));
}

Tensor ElboParts::elbo() const { return sub(log_likelihood, kl); }

ElboParts elbo_parts(Vae& model, const Tensor& x, Generator& gen) {
  auto [mu, log_var] = model.encode(x);
  const Tensor z = reparameterize(mu, log_var, gen);
  return {bernoulli_log_likelihood(model.decode(z), x), gaussian_kl(mu, log_var)};
}

std::vector<double> importance_weighted_bound(Vae& model, const Tensor& x, std::int64_t k, Generator& gen,
                                              std::int64_t chunk) {
  ZOO_CHECK(k > 0 && chunk > 0, "importance_weighted_bound: k and chunk must be positive, got {} and {}", k, chunk);
  NoGradGuard no_grad;
  const std::int64_t N = x.size(0), L = model.config.latent_dim;
  auto [mu, log_var] = model.encode(x);  // (N, L) each
  std::vector<double> bound(static_cast<std::size_t>(N));
  // Images per chunk: each brings k rows to decode.
  const std::int64_t per_chunk = std::max<std::int64_t>(1, chunk / k);
  for (std::int64_t start = 0; start < N; start += per_chunk) {
    const std::int64_t n = std::min(per_chunk, N - start);
    // Repeat each image's q parameters and pixels k times: rows (n·k, ·), image-major.
    const auto repeat = [&](const Tensor& t) {
      const std::int64_t width = t.size(1);
      return t.narrow(0, start, n).unsqueeze(1).expand({n, k, width}).reshape({n * k, width});
    };
    const Tensor m = repeat(mu), v = repeat(log_var), xs = repeat(x);
    const Tensor z = reparameterize(m, v, gen);  // (n·k, L)
    const Tensor zero = zeros({n * k, L}, z.dtype());
    // log w_j = log p(x|z_j) + log p(z_j) − log q(z_j|x)
    const Tensor log_w = sub(add(bernoulli_log_likelihood(model.decode(z), xs), gaussian_log_density(z, zero, zero)),
                             gaussian_log_density(z, m, v));
    const std::vector<double> per_image =
        logsumexp(log_w.to(kFloat64).reshape({n, k}), {1}).to_vector<double>();
    for (std::int64_t i = 0; i < n; ++i)
      bound[static_cast<std::size_t>(start + i)] = per_image[static_cast<std::size_t>(i)] - std::log(static_cast<double>(k));
  }
  return bound;
}

}  // namespace zoo::models
