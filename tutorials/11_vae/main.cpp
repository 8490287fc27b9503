// Tutorial 11: the variational autoencoder. The KL term in closed form against a
// Monte-Carlo estimate; the reparameterisation trick's gradient against the one known in
// closed form; a VAE trained on MNIST, its ELBO and the importance-weighted bound; and
// pictures of what it learned (samples, reconstructions, the 2-D manifold). Read
// README.md alongside.
//
// Run: ./tutorial_11_vae   (trains a VAE with a 2-D latent on data/mnist for 3 epochs if
// data/fetch_mnist.sh has put it there, about 10 s; CTest runs it with --quick, which
// trains on the 200-image fixture in tests/data in about a second)

#include <cmath>
#include <filesystem>
#include <numeric>

#include "autograd/ops.h"
#include "lesson.h"
#include "models/vae/model.h"
#include "models/vae/pictures.h"
#include "models/vae/train.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------
// 11.1 The KL term in closed form
// ---------------------------------------------------------------------------

void kl_closed_form(lesson::Lesson& L) {
  L.section("11.1 The KL term in closed form");
  // q(z|x) = N(μ, σ²) against p(z) = N(0, 1), one dimension at a time:
  // KL = ½(μ² + σ² − 1 − log σ²).
  const Tensor mu = tensor({{1.0, -0.5}}, kFloat64), log_var = tensor({{-2.0, 0.5}}, kFloat64);
  const double closed = models::gaussian_kl(mu, log_var).item();
  // The definition, KL = E_q[log q(z) − log p(z)], by sampling z from q.
  const std::int64_t S = L.quick() ? 100000 : 1000000;
  Generator gen(11);
  const Tensor m = mu.expand({S, 2}), v = log_var.expand({S, 2}), zero = zeros({S, 2}, kFloat64);
  const Tensor z = models::reparameterize(m, v, gen);
  const Tensor log_ratio = models::gaussian_log_density(z, m, v) - models::gaussian_log_density(z, zero, zero);
  const double estimate = mean(log_ratio).item();
  const double standard_error = std::sqrt(var(log_ratio).item() / static_cast<double>(S));
  fmt::print("  closed form {:.5f}; Monte Carlo with {} samples {:.5f} ± {:.5f}\n", closed, S, estimate,
             standard_error);
  L.check(std::abs(estimate - closed) < 4 * standard_error, "the two agree within four standard errors");
}

// ---------------------------------------------------------------------------
// 11.2 The reparameterisation trick
// ---------------------------------------------------------------------------

void reparameterisation(lesson::Lesson& L) {
  L.section("11.2 The reparameterisation trick");
  // f(z) = z², z ~ N(μ, σ²): E[f] = μ² + σ², so ∂E/∂μ = 2μ and ∂E/∂(log σ²) = σ².
  // Writing z = μ + σ ε makes a sample a function of μ and log σ², so backward through
  // the mean of f over samples estimates both derivatives.
  const double mu0 = 0.7, log_var0 = std::log(0.25);
  Tensor mu = full({1, 1}, mu0, kFloat64).requires_grad_();
  Tensor log_var = full({1, 1}, log_var0, kFloat64).requires_grad_();
  const std::int64_t S = 200000;
  Generator gen(3);
  const Tensor z = models::reparameterize(mu.expand({S, 1}), log_var.expand({S, 1}), gen);
  mean(square(z)).backward();
  fmt::print("  dE/dmu:      estimate {:.4f}, exact 2 mu = {:.4f}\n", mu.grad().item(), 2 * mu0);
  fmt::print("  dE/dlog s^2: estimate {:.4f}, exact s^2 = {:.4f}\n", log_var.grad().item(), std::exp(log_var0));
  L.check(std::abs(mu.grad().item() - 2 * mu0) < 0.01 && std::abs(log_var.grad().item() - 0.25) < 0.01,
          "the gradient through the samples estimates the exact derivatives");
}

// ---------------------------------------------------------------------------
// 11.3 Training on MNIST: the ELBO and the importance-weighted bound
// ---------------------------------------------------------------------------

void train_and_draw(lesson::Lesson& L) {
  L.section("11.3 A VAE with a 2-D latent on binarised MNIST");
  models::VaeOptions o;
  o.model.latent_dim = 2;  // 784-400-2: a latent we can draw
  o.out = (fs::temp_directory_path() / "zoo-tutorial-11").string();
  o.quiet = true;
  o.threads = 1;
  o.epochs = 3;
  const bool have_mnist = fs::exists(fs::path(ZOO_SOURCE_DIR) / "data/mnist/train-images-idx3-ubyte") ||
                          fs::exists(fs::path(ZOO_SOURCE_DIR) / "data/mnist/train-images-idx3-ubyte.gz");
  if (L.quick() || !have_mnist) {
    if (!L.quick()) fmt::print("  (no data/mnist: run data/fetch_mnist.sh; using the 200-image test fixture)\n");
    o.data_dir = std::string(ZOO_SOURCE_DIR) + "/tests/data/mnist-mini";
    o.epochs = 10;
    o.batch_size = 20;
  } else {
    o.data_dir = std::string(ZOO_SOURCE_DIR) + "/data/mnist";
  }
  const models::VaeResult r = models::train_vae(o);
  fmt::print("  {} epochs: test ELBO {:.2f} nats = log p(x|z) {:.2f} − KL {:.2f}\n", r.epochs, r.test.elbo,
             r.test.log_likelihood, r.test.kl);
  L.check(r.test.elbo > -784 * std::log(2.0) + 100, "far above the 543 nats of pixels guessed as coin flips");

  // The importance-weighted bound tightens as k grows: L_1 ≤ L_10 ≤ L_100 ≤ log p(x).
  auto model = models::load_vae(o.out + "/model.safetensors");
  const Tensor test = models::test_data(models::load_mnist_rows(o.data_dir, false, 200), "dynamic");
  double previous = -1e300;
  bool rising = true;
  for (const std::int64_t k : {1, 10, 100}) {
    Generator gen(7);
    const auto bound = models::importance_weighted_bound(*model, test, k, gen);
    const double value = std::accumulate(bound.begin(), bound.end(), 0.0) / static_cast<double>(bound.size());
    fmt::print("  k = {:3}: importance-weighted bound {:.2f} nats\n", k, value);
    rising = rising && value > previous;
    previous = value;
  }
  L.check(rising, "more samples give a tighter (higher) bound");
  fmt::print("  pictures: {0}/samples.png, {0}/reconstructions.png, {0}/manifold.png\n", o.out);
  L.check(fs::exists(fs::path(o.out) / "manifold.png"), "a 2-D latent also draws the manifold");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& L) {
    kl_closed_form(L);
    reparameterisation(L);
    train_and_draw(L);
  });
}
