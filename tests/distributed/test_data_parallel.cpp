// Data-parallel training with real processes: `mpirun -np 2 zoo train ... --distributed`
// over loopback TCP, against `zoo train ...` in one process.
//   - Two processes with batch B end with the parameters, to float tolerance, of one
//     process with batch 2B after the same steps (the gradient of the mean over 2B
//     examples is the weighted average of the two halves' gradients). A short last
//     batch is split 3 + 4, so the weights n_r/n are tested too. As a check of the
//     check, one process with batch B ends far from both.
//   - A distributed run stopped and resumed ends bit-identical to an uninterrupted one,
//     with dropout on, so process 1's random stream must come back from the checkpoint.
//   - A two-process checkpoint refuses to continue in one process.
// Registered only in a build with MPI (tests/CMakeLists.txt).
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "child_process.h"
#include "models/common/metrics.h"
#include "models/model_test_util.h"
#include "nn/io/checkpoint.h"

namespace fs = std::filesystem;
using namespace zoo;

namespace {

/// `mpirun -np 2` on this machine, over TCP on the loopback interface (`lo`) rather
/// than shared memory, the way processes on different machines talk. As root (CI) Open
/// MPI must be told that is intended.
std::vector<std::string> mpirun_two() {
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  return {ZOO_MPIEXEC, "-np", "2", "--oversubscribe", "--bind-to", "none",
          "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"};
}

/// `zoo train MODEL` on the MNIST fixture, one thread, plus `extra`.
std::vector<std::string> train(const std::string& model, const fs::path& out, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {ZOO_BINARY, "train", model, "--data", std::string(ZOO_TEST_DATA_DIR) + "/mnist-mini",
                                   "--threads", "1", "--out", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("zoo-test-distributed-" + name);
  fs::remove_all(dir);
  return dir;
}

/// The largest |a - b| over all parameters of two model.safetensors files.
double max_difference(const fs::path& a, const fs::path& b) {
  const auto first = nn::load_safetensors(a / "model.safetensors").tensors;
  const auto second = nn::load_safetensors(b / "model.safetensors").tensors;
  REQUIRE(first.size() == second.size());
  double largest = 0;
  for (const auto& [name, t] : first) {
    const std::vector<float> x = t.to_vector<float>(), y = second.at(name).to_vector<float>();
    REQUIRE(x.size() == y.size());
    for (std::size_t i = 0; i < x.size(); ++i) largest = std::max(largest, std::abs(double(x[i]) - double(y[i])));
  }
  return largest;
}


}  // namespace

TEST_CASE("2 processes with batch B step like 1 process with batch 2B") {
  // The CNN without dropout (no random draw in a step), 199 images: 8 steps of 24 and
  // a last one of 7, which the two processes share 3 + 4. Adam, cosine schedule, 2 epochs.
  const std::vector<std::string> common = {"--dropout", "0", "--train-limit", "199", "--epochs", "2"};
  const fs::path one = scratch("one"), two = scratch("two"), small = scratch("small");
  REQUIRE(test::run(train("cnn", one, common + std::vector<std::string>{"--batch-size", "24"})) == 0);
  // Small buckets (64 KiB), so that the CNN's gradients travel in several all-reduces.
  REQUIRE(test::run(mpirun_two() + train("cnn", two, common + std::vector<std::string>{
                                                         "--batch-size", "12", "--distributed", "--bucket-mb", "0.0625"}),
                    (two.string() + ".log")) == 0);
  REQUIRE(test::run(train("cnn", small, common + std::vector<std::string>{"--batch-size", "12"})) == 0);

  const double same = max_difference(one, two);
  const double different = max_difference(one, small);
  INFO("max |θ(1 process, 24) − θ(2 processes, 12)| = " << same);
  INFO("max |θ(1 process, 24) − θ(1 process, 12)|   = " << different);
  // Float tolerance: the two sum the same products in another order (a 24-image GEMM
  // against two 12-image ones plus an all-reduce), so gradients differ in their last
  // bits, and Adam's g/√v turns a last-bit difference of a near-zero gradient into a
  // visible one of its step (at most lr = 1e-3). 1e-4 is a tenth of one step; the run
  // with batch 12 alone lands hundreds of times further away.
  CHECK(same < 1e-4);
  CHECK(different > 100 * same);

  // The same steps, the same logged losses and accuracy.
  const auto a = models::read_metrics((one / "metrics.jsonl").string());
  const auto b = models::read_metrics((two / "metrics.jsonl").string());
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  for (std::size_t e = 0; e < 2; ++e) {
    CHECK(a[e]["step"] == b[e]["step"]);
    CHECK(b[e]["step"] == 9 * (e + 1));
    CHECK(std::abs(a[e]["train_loss"].get<double>() - b[e]["train_loss"].get<double>()) < 1e-5);
    CHECK(std::abs(a[e]["test_loss"].get<double>() - b[e]["test_loss"].get<double>()) < 1e-5);
    CHECK(b[e]["processes"] == 2);
    CHECK(b[e]["communication_seconds_per_step"].get<double>() > 0);
  }
  // Only process 0 wrote: one progress report per epoch, not two.
  const std::string log = test::read_file_text(two.string() + ".log");
  CHECK(log.find("epoch 1/2: train loss") != std::string::npos);
  CHECK(log.find("epoch 1/2: train loss") == log.rfind("epoch 1/2: train loss"));
}

TEST_CASE("A distributed run resumed from its checkpoint ends bit-identical") {
  // The MLP with its dropout: each process draws its own masks, so the checkpoint must
  // bring back process 1's generator as well as process 0's.
  const std::vector<std::string> common = {"--epochs", "2", "--batch-size", "16", "--save-every", "3", "--distributed"};
  const fs::path full = scratch("full"), resumed = scratch("resumed");
  REQUIRE(test::run(mpirun_two() + train("mlp", full, common), full.string() + ".log") == 0);
  REQUIRE(test::run(mpirun_two() + train("mlp", resumed, common + std::vector<std::string>{"--stop-after", "8"}),
                    resumed.string() + ".log") == 0);
  const nn::Checkpoint stopped = nn::load_checkpoint(resumed / "checkpoint.safetensors");
  CHECK(stopped.step == 8);
  CHECK(stopped.metadata.at("world_size") == "2");
  CHECK(stopped.generators.contains("default"));
  CHECK(stopped.generators.contains("default.rank1"));
  CHECK(stopped.generators.at("default") != stopped.generators.at("default.rank1"));
  REQUIRE(test::run(mpirun_two() + train("mlp", resumed, common + std::vector<std::string>{"--resume"}),
                    resumed.string() + ".log") == 0);
  test::require_same_weights(full / "model.safetensors", resumed / "model.safetensors");

  // One process cannot continue what two began: its batches would be other batches.
  const std::string log = resumed.string() + "-one.log";
  CHECK(test::run(train("mlp", resumed, {"--epochs", "3", "--batch-size", "16", "--resume"}), log) == 1);
  CHECK(test::read_file_text(log).find("was saved with world_size = 2, this run asks for 1") != std::string::npos);
}
