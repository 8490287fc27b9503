/// @file vae_commands.cpp
/// @brief `zoo train vae`, `zoo eval vae`, `zoo sample vae`: the variational autoencoder
/// on MNIST.

#include <chrono>
#include <memory>
#include <numeric>

#include <nlohmann/json.hpp>

#include "autograd/parallel.h"
#include "models/cli/commands.h"
#include "models/cli/distributed.h"
#include "models/vae/pictures.h"
#include "models/vae/train.h"

namespace zoo::cli {
namespace {

void add_train(CLI::App& train) {
  auto o = std::make_shared<models::VaeOptions>();
  auto distributed = std::make_shared<DistributedFlags>();
  CLI::App* cmd = train.add_subcommand("vae", "Train the variational autoencoder (784-400-20) on binarised MNIST");
  cmd->add_option("--latent", o->model.latent_dim, "Latent dimensions L (2 also draws the manifold)")
      ->capture_default_str();
  cmd->add_option("--hidden", o->model.hidden, "Hidden layer sizes of the encoder (the decoder mirrors them)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--binarization", o->binarization,
                  "dynamic: binary pixels drawn afresh each epoch (the literature's setting); grey: grey levels")
      ->check(CLI::IsMember({"dynamic", "grey"}))
      ->capture_default_str();
  cmd->add_option("--data", o->data_dir, "Folder with the MNIST IDX files")->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "Passes over the training images")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "Images per step")->capture_default_str();
  cmd->add_option("--lr", o->lr, "Learning rate (constant)")->capture_default_str();
  cmd->add_option("--optimizer", o->optimizer, "adam, adamw, sgd or muon")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (default: ZOO_NUM_THREADS or all cores)");
  cmd->add_option("--out", o->out, "Output folder")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Continue from OUT/checkpoint.safetensors (same options)");
  cmd->add_option("--save-every", o->save_every, "Checkpoint every N steps (0: per epoch)")->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No progress line");
  add_distributed_flags(*cmd, *distributed);
  cmd->callback([o, distributed] {
    run_training(*distributed, [&](nn::Communicator* communicator, bool main) {
      o->communicator = communicator;
      o->bucket_bytes = distributed->bucket_bytes();
      const models::VaeResult r = models::train_vae(*o);
      if (!main) return;
      fmt::print("{}\n", nlohmann::json{{"model", "vae"},
                                        {"binarization", o->binarization},
                                        {"test_elbo", r.test.elbo},
                                        {"test_log_likelihood", r.test.log_likelihood},
                                        {"test_kl", r.test.kl},
                                        {"train_elbo", r.train_elbo},
                                        {"epochs", r.epochs},
                                        {"steps", r.steps},
                                        {"seconds", r.seconds},
                                        {"samples_per_second", r.samples_per_second},
                                        {"weights", o->out + "/model.safetensors"}}
                             .dump());
    });
  });
}

void add_eval(CLI::App& eval) {
  struct EvalOptions {
    std::string weights = "runs/vae/model.safetensors";
    std::string data_dir = "data/mnist";
    std::int64_t k = 1000;
    std::int64_t limit = 0;
    std::uint64_t seed = 0;
    int threads = 0;
  };
  auto e = std::make_shared<EvalOptions>();
  CLI::App* cmd = eval.add_subcommand(
      "vae", "Test ELBO and the importance-weighted log-likelihood bound (k samples) of trained VAE weights");
  cmd->add_option("--weights", e->weights, "model.safetensors or checkpoint.safetensors written by zoo train vae")
      ->capture_default_str();
  cmd->add_option("--data", e->data_dir, "Folder with the MNIST IDX files")->capture_default_str();
  cmd->add_option("-k,--k", e->k, "Importance samples per test image (0: the ELBO alone)")->capture_default_str();
  cmd->add_option("--limit", e->limit, "Score only the first N test images (0: all 10,000)");
  cmd->add_option("--seed", e->seed, "Seed of the z samples")->capture_default_str();
  cmd->add_option("--threads", e->threads, "Threads");
  cmd->callback([e] {
    if (e->threads > 0) set_num_threads(e->threads);
    std::string binarization;
    auto model = models::load_vae(e->weights, &binarization);
    model->eval();
    const Tensor test = models::test_data(models::load_mnist_rows(e->data_dir, false, e->limit), binarization);
    const models::VaeEvaluation elbo = models::evaluate_vae(*model, test, e->seed);
    nlohmann::json out{{"model", "vae"},       {"binarization", binarization}, {"test_images", test.size(0)},
                       {"test_elbo", elbo.elbo}, {"test_log_likelihood", elbo.log_likelihood},
                       {"test_kl", elbo.kl},   {"weights", e->weights}};
    if (e->k > 0) {
      const auto started = std::chrono::steady_clock::now();
      Generator gen(e->seed);
      const std::vector<double> bound = models::importance_weighted_bound(*model, test, e->k, gen);
      const double mean = std::accumulate(bound.begin(), bound.end(), 0.0) / static_cast<double>(bound.size());
      out["k"] = e->k;
      out["test_log_likelihood_iw"] = mean;  // the k-sample bound: log p(x) ≥ it, ≈ log p(x) for large k
      out["test_nll_iw"] = -mean;
      out["iw_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }
    fmt::print("{}\n", out.dump());
  });
}

void add_sample(CLI::App& sample) {
  struct SampleOptions {
    std::string weights = "runs/vae/model.safetensors";
    std::string out = "runs/vae/samples.png";
    std::string manifold;
    std::int64_t count = 64;
    std::uint64_t seed = 0;
  };
  auto s = std::make_shared<SampleOptions>();
  CLI::App* cmd = sample.add_subcommand("vae", "Decode z drawn from the prior into a PNG grid of digits");
  cmd->add_option("--weights", s->weights, "model.safetensors or checkpoint.safetensors written by zoo train vae")
      ->capture_default_str();
  cmd->add_option("--out", s->out, "The PNG to write")->capture_default_str();
  cmd->add_option("--count,-n", s->count, "How many samples")->capture_default_str();
  cmd->add_option("--seed", s->seed, "Seed of the z samples")->capture_default_str();
  cmd->add_option("--manifold", s->manifold, "Also write the 20x20 manifold of a 2-D latent to this PNG");
  cmd->callback([s] {
    auto model = models::load_vae(s->weights);
    model->eval();
    Generator gen(s->seed);
    models::save_samples(s->out, *model, s->count, gen);
    if (!s->manifold.empty()) models::save_manifold(s->manifold, *model);
    fmt::print("{}\n", nlohmann::json{{"model", "vae"}, {"samples", s->out}, {"count", s->count},
                                      {"manifold", s->manifold}}
                           .dump());
  });
}

}  // namespace

void add_vae_commands(const Verbs& verbs) {
  add_train(*verbs.train);
  add_eval(*verbs.eval);
  add_sample(*verbs.sample);
}

}  // namespace zoo::cli
