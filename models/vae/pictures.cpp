#include "models/vae/pictures.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "autograd/ops.h"
#include "models/common/image_grid.h"

namespace zoo::models {
namespace {

/// Logits (N, 784) → probabilities as images (N, 1, 28, 28).
Tensor as_images(const Tensor& logits) { return sigmoid(logits).reshape({logits.size(0), 1, 28, 28}); }

}  // namespace

double normal_quantile(double p) {
  ZOO_CHECK(p > 0 && p < 1, "normal_quantile: p must be in (0, 1), got {}", p);
  double x = 0;
  for (int i = 0; i < 100; ++i) {
    const double cdf = 0.5 * std::erfc(-x / std::numbers::sqrt2);
    const double density = std::exp(-0.5 * x * x) / std::sqrt(2 * std::numbers::pi);
    const double step = (cdf - p) / density;
    x -= step;
    if (std::abs(step) < 1e-14 * std::max(1.0, std::abs(x))) break;
  }
  return x;
}

void save_samples(const std::filesystem::path& path, Vae& model, std::int64_t count, Generator& gen) {
  NoGradGuard no_grad;
  const Tensor z = randn({count, model.config.latent_dim}, kFloat32, gen);
  save_image_grid(path, as_images(model.decode(z)));
}

void save_reconstructions(const std::filesystem::path& path, Vae& model, const Tensor& x) {
  NoGradGuard no_grad;
  const std::int64_t n = std::min<std::int64_t>(32, x.size(0));
  const Tensor originals = x.narrow(0, 0, n);
  const Tensor rebuilt = sigmoid(model.forward(originals));
  // Interleave rows of 8: originals 0-7, their reconstructions, originals 8-15, ...
  std::vector<Tensor> rows;
  for (std::int64_t start = 0; start < n; start += 8) {
    const std::int64_t len = std::min<std::int64_t>(8, n - start);
    rows.push_back(originals.narrow(0, start, len));
    rows.push_back(rebuilt.narrow(0, start, len));
  }
  GridOptions o;
  o.columns = std::min<std::int64_t>(8, n);
  save_image_grid(path, cat(rows, 0).reshape({-1, 1, 28, 28}), o);
}

void save_manifold(const std::filesystem::path& path, Vae& model, std::int64_t n) {
  ZOO_CHECK(model.config.latent_dim == 2, "save_manifold: needs a 2-D latent, the model's is {}-D",
            model.config.latent_dim);
  ZOO_CHECK(n >= 2, "save_manifold: the grid needs at least 2 points a side, got {}", n);
  NoGradGuard no_grad;
  std::vector<float> z;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      const double ui = 0.05 + 0.9 * static_cast<double>(i) / static_cast<double>(n - 1);
      const double uj = 0.05 + 0.9 * static_cast<double>(j) / static_cast<double>(n - 1);
      z.push_back(static_cast<float>(normal_quantile(uj)));   // across: z₁
      z.push_back(static_cast<float>(-normal_quantile(ui)));  // down: z₂ from high to low
    }
  GridOptions o;
  o.columns = n;
  o.padding = 0;
  save_image_grid(path, as_images(model.decode(from_vector(z, {n * n, 2}))), o);
}

}  // namespace zoo::models
