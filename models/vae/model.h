#pragma once
/// @file model.h
/// @brief The variational autoencoder (Kingma & Welling, 2014): a Gaussian encoder, a
/// Bernoulli decoder, the evidence lower bound (ELBO) and the importance-weighted
/// estimate of the log-likelihood.
///
/// **The model.** A latent \f$z \in \mathbb{R}^L\f$ with prior \f$p(z) = \mathcal N(0, I)\f$
/// and a decoder \f$p_\theta(x \mid z) = \prod_i \mathrm{Bernoulli}(x_i; \sigma(\ell_i(z)))\f$
/// over the 784 pixels, \f$\ell = \f$ `decode(z)` the logits. The likelihood
/// \f$p(x) = \int p(x \mid z)\, p(z)\, dz\f$ has no closed form, so an encoder
/// \f$q_\phi(z \mid x) = \mathcal N(\mu(x), \mathrm{diag}\,\sigma^2(x))\f$ (`encode`) guesses
/// which z explain x, and training maximises the **ELBO**
/// \f[ \log p(x) \;\ge\; \mathcal L(x) = \mathbb E_{q(z|x)}[\log p(x \mid z)]
///     - \mathrm{KL}(q(z \mid x)\,\|\,p(z)), \f]
/// the gap being \f$\mathrm{KL}(q(z|x) \| p(z|x)) \ge 0\f$ (derived in @ref tutorial_11_vae).
///
/// **Reparameterisation.** \f$z = \mu + \sigma \odot \varepsilon\f$, \f$\varepsilon \sim
/// \mathcal N(0, I)\f$, makes the sample a differentiable function of \f$\mu, \sigma\f$, so
/// one backward pass gives the gradient of a one-sample estimate of \f$\mathcal L\f$.
///
/// **The KL term in closed form**, per dimension, for \f$\mathcal N(\mu, \sigma^2)\f$
/// against \f$\mathcal N(0, 1)\f$: \f$\tfrac12(\mu^2 + \sigma^2 - 1 - \log\sigma^2)\f$.
///
/// **Importance weighting** (Burda, Grosse & Salakhutdinov, 2016): with
/// \f$z_1..z_k \sim q(z \mid x)\f$,
/// \f[ \log p(x) \ge \mathcal L_k(x) = \mathbb E\Big[\log \frac1k \sum_{j=1}^k
///     \frac{p(x \mid z_j)\,p(z_j)}{q(z_j \mid x)}\Big], \f]
/// which grows with k toward \f$\log p(x)\f$; with k = 1000 it is the usual estimate of
/// the test log-likelihood. Lesson: @ref tutorial_11_vae.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "autograd/generator.h"
#include "nn/containers.h"
#include "nn/layers/linear.h"
#include "nn/module.h"

namespace zoo::models {

/// Sizes of `Vae`. The defaults are the paper's and PyTorch's example: 784-400-20.
struct VaeConfig {
  std::int64_t input_dim = 784;            ///< D, pixels
  std::vector<std::int64_t> hidden = {400};  ///< hidden layer sizes of the encoder; the decoder mirrors them
  std::int64_t latent_dim = 20;            ///< L
};

/// Encoder x (N, D) → ReLU MLP → (μ, log σ²), each (N, L); decoder z (N, L) → ReLU MLP
/// (the hidden sizes reversed) → logits (N, D). Parameters: `encoder.0.weight`, ...,
/// `mean.weight`, `log_var.weight`, `decoder.0.weight`, ...
class Vae : public nn::Module {
 public:
  /// A model of the given sizes, initialised from the default generator.
  explicit Vae(const VaeConfig& config = {});
  /// x (N, D) → (μ, log σ²), each (N, L): the parameters of q(z | x).
  std::pair<Tensor, Tensor> encode(const Tensor& x);
  /// z (N, L) → logits (N, D) of p(x | z).
  Tensor decode(const Tensor& z);
  /// The reconstruction of x (N, D) from the mean of q(z | x): logits (N, D).
  Tensor forward(const Tensor& x) override;

  VaeConfig config;                       ///< the sizes it was built with
  std::shared_ptr<nn::Sequential> encoder;  ///< x → h
  std::shared_ptr<nn::Linear> mean;         ///< h → μ
  std::shared_ptr<nn::Linear> log_var;      ///< h → log σ²
  std::shared_ptr<nn::Sequential> decoder;  ///< z → logits
};

/// \f$\mathrm{KL}(\mathcal N(\mu, \sigma^2) \| \mathcal N(0, I)) =
/// \tfrac12 \sum_l (\mu_l^2 + \sigma_l^2 - 1 - \log\sigma_l^2)\f$ per row: (N, L) → (N).
Tensor gaussian_kl(const Tensor& mu, const Tensor& log_var);

/// \f$z = \mu + e^{\frac12 \log\sigma^2} \odot \varepsilon\f$, \f$\varepsilon \sim \mathcal N(0, I)\f$
/// drawn from `gen`: (N, L).
Tensor reparameterize(const Tensor& mu, const Tensor& log_var, Generator& gen);

/// \f$\log p(x \mid z) = \sum_i [x_i \log\sigma(\ell_i) + (1 - x_i)\log(1 - \sigma(\ell_i))]\f$
/// per row, from logits \f$\ell\f$ (N, D) and x (N, D) in [0, 1]: (N). Computed as minus
/// the binary cross-entropy on logits, which stays finite for any logit.
Tensor bernoulli_log_likelihood(const Tensor& logits, const Tensor& x);

/// \f$\log \mathcal N(z; \mu, \sigma^2) = -\tfrac12 \sum_l [\log 2\pi + \log\sigma_l^2 +
/// (z_l - \mu_l)^2 / \sigma_l^2]\f$ per row: (N, L) → (N).
Tensor gaussian_log_density(const Tensor& z, const Tensor& mu, const Tensor& log_var);

/// The two parts of the ELBO of each row, with one sample of z.
struct ElboParts {
  Tensor log_likelihood;  ///< \f$\log p(x \mid z)\f$, z one sample from q(z | x): (N)
  Tensor kl;              ///< \f$\mathrm{KL}(q(z \mid x) \| p(z))\f$ in closed form: (N)
  /// The ELBO of each row, \f$\log p(x \mid z) - \mathrm{KL}\f$: (N).
  Tensor elbo() const;
};

/// The ELBO's parts for a batch x (N, D) in [0, 1], z drawn from `gen`; differentiable.
ElboParts elbo_parts(Vae& model, const Tensor& x, Generator& gen);

/// \f$\mathcal L_k(x)\f$ for each row of x (N, D), k samples each, without a graph:
/// \f$\operatorname{logsumexp}_j [\log p(x|z_j) + \log p(z_j) - \log q(z_j|x)] - \log k\f$.
/// The k samples are decoded in chunks of at most `chunk` rows, so memory stays bounded.
/// Returns (N) float64 values.
std::vector<double> importance_weighted_bound(Vae& model, const Tensor& x, std::int64_t k, Generator& gen,
                                              std::int64_t chunk = 10000);

}  // namespace zoo::models
