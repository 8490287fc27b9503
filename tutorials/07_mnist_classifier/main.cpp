// Tutorial 07: an MNIST classifier. The data (IDX files, pixels in [0, 1], labels 0..9);
// softmax and cross-entropy, and why the gradient of the loss is softmax − onehot; the
// MLP; the training loop written out by hand; evaluation; the same run through
// models::train_classifier, bit for bit; checkpoints and resuming; the CNN, convolution
// as im2col + GEMM. Read README.md alongside.
//
// Run: ./tutorial_07_mnist_classifier   (one epoch on the real MNIST in data/mnist, if
// data/fetch_mnist.sh has put it there; CTest runs it with --quick, which trains on the
// 200 images of the test fixture tests/data/mnist-mini in about two seconds)

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/ranges.h>

#include "autograd/ops.h"
#include "lesson.h"
#include "models/classifier/model.h"
#include "models/classifier/train.h"
#include "nn/data/dataloader.h"
#include "nn/data/idx.h"
#include "nn/data/mnist.h"
#include "nn/io/safetensors.h"
#include "nn/layers.h"
#include "nn/optim/optim.h"

using namespace zoo;
namespace fs = std::filesystem;

namespace {

const double kLn10 = std::log(10.0);  // the loss of a uniform guess over 10 classes

// ---------------------------------------------------------------------------
// 7.1 The data
// ---------------------------------------------------------------------------

/// The data of this run: the real MNIST (60000 / 10000) or the test fixture (200 / 100).
struct Data {
  nn::MnistData train, test;
  fs::path dir;
  bool real = false;
};

/// True if `dir` holds MNIST's training images, plain or gzipped.
bool has_mnist(const fs::path& dir) {
  return fs::exists(dir / "train-images-idx3-ubyte") ||
         fs::exists(dir / "train-images-idx3-ubyte.gz");
}

/// The real MNIST from data/mnist (relative to the working folder, else to the source
/// tree), unless `--quick`; the committed fixture otherwise.
Data load_data(const lesson::Lesson& lesson) {
  const fs::path source = ZOO_SOURCE_DIR;
  const fs::path fixture = source / "tests" / "data" / "mnist-mini";
  if (!lesson.quick()) {
    for (const fs::path& dir : {fs::path("data") / "mnist", source / "data" / "mnist"})
      if (has_mnist(dir))
        return {nn::load_mnist(dir, true), nn::load_mnist(dir, false), dir, true};
    fmt::print(
        "MNIST is not in data/mnist. To fetch it (11 MB, checked against its sha256), run\n\n"
        "    data/fetch_mnist.sh\n\n"
        "from the repository's top folder, then run this program again. Until then, the\n"
        "lesson runs on the 200 training and 100 test images of the fixture {}.\n",
        fixture.string());
  }
  // The fixture holds fewer images than MNIST: expected_count = 0 accepts any number.
  return {nn::load_mnist(fixture, true, 0), nn::load_mnist(fixture, false, 0), fixture, false};
}

/// Draws a 28×28 image in characters, darker for more ink, two characters per pixel.
void draw(const Tensor& image) {
  const std::string ramp = " .:-=+*#%@";
  const std::vector<float> px = image.contiguous().to_vector<float>();
  for (int r = 0; r < 28; ++r) {
    std::string line = "    ";
    for (int c = 0; c < 28; ++c) {
      const auto level = static_cast<std::size_t>(px[r * 28 + c] * (ramp.size() - 1) + 0.5);
      line += std::string(2, ramp[level]);
    }
    fmt::print("{}\n", line);
  }
}

void the_data(lesson::Lesson& lesson, const Data& data) {
  lesson.section("7.1 The data");

  // The file, as stored: an IDX header (type, dims) and the bytes of the pixels.
  fs::path file = data.dir / "train-images-idx3-ubyte";
  if (!fs::exists(file)) file += ".gz";
  const nn::IdxFile idx = nn::read_idx(file);
  fmt::print("{}: element type 0x{:02x} (unsigned byte), shape {}, {} bytes of pixels\n",
             file.filename().string(), static_cast<int>(idx.type), idx.shape, idx.data.size());

  // As tensors: images (N, 1, 28, 28) float32 in [0, 1], labels (N) int64.
  const Tensor& x = data.train.images;
  const Tensor& y = data.train.labels;
  fmt::print("train images {} {}, labels {} {}\n", x.shape(), x.dtype(), y.shape(), y.dtype());
  fmt::print("test  images {}, labels {}\n", data.test.images.shape(), data.test.labels.shape());
  const double lo = min(x).item(), hi = max(x).item(), avg = mean(x).item();
  fmt::print("pixels: min {}, max {}, mean {:.4f}\n", lo, hi, avg);
  lesson.check(x.dim() == 4 && x.size(1) == 1 && x.size(2) == 28 && x.size(3) == 28 &&
                   x.dtype() == kFloat32,
               "images are (N, 1, 28, 28) float32");
  lesson.check(lo == 0 && hi == 1, "pixels are byte / 255: from 0 (background) to 1 (full ink)");
  lesson.check(x.size(0) == idx.shape[0] && y.size(0) == x.size(0), "one label per image");

  std::vector<std::int64_t> count(10, 0);
  bool in_range = true;
  for (const std::int64_t label : y.to_vector<std::int64_t>()) {
    in_range = in_range && label >= 0 && label <= 9;
    if (in_range) ++count[label];
  }
  fmt::print("training images per digit: {}\n", count);
  bool every_digit = true;
  for (const std::int64_t c : count) every_digit = every_digit && c > 0;
  lesson.check(in_range && every_digit, "labels are the digits 0..9, and every digit occurs");

  fmt::print("\nthe first training image, labelled {}:\n\n", y[0].item<int>());
  draw(x[0][0]);

  // A DataLoader cuts the data set into shuffled batches.
  nn::DataLoader loader(std::make_shared<nn::TensorDataset>(x, y), {.batch_size = 64, .seed = 1});
  const nn::Example batch = *loader.begin();  // the first batch of epoch 0
  fmt::print("\none batch: input {}, target {}; {} batches per epoch\n", batch.input.shape(),
             batch.target.shape(), loader.num_batches());
  lesson.check(batch.input.shape() == Shape{64, 1, 28, 28} && batch.target.shape() == Shape{64},
               "a batch stacks 64 images and their 64 labels");
}

// ---------------------------------------------------------------------------
// 7.2 Softmax and cross-entropy
// ---------------------------------------------------------------------------

void softmax_cross_entropy(lesson::Lesson& lesson, const Data& data) {
  lesson.section("7.2 Softmax and cross-entropy");

  manual_seed(0);
  auto model = models::make_mlp();
  model->eval();  // no dropout: the same logits every call
  const std::int64_t B = 8;
  const Tensor x = data.train.images.narrow(0, 0, B);  // (B, 1, 28, 28)
  const Tensor y = data.train.labels.narrow(0, 0, B);  // (B)

  const Tensor z = (*model)(x);  // logits (B, 10)
  z.retain_grad();               // keep dloss/dz, although z is not a leaf
  const Tensor p = softmax(z, 1);
  fmt::print("logits of the first image: {}\n", z[0]);
  fmt::print("softmax:                   {}\n", p[0]);
  fmt::print("label {}: p_y = {:.4f}, -log p_y = {:.4f}\n", y[0].item<int>(),
             p[0][y[0].item<std::int64_t>()].item(), -std::log(p[0][y[0].item<std::int64_t>()].item()));

  // The loss: the mean over the batch of -log p_{n, y_n}.
  const Tensor loss = cross_entropy(z, y);
  const Tensor by_hand = -mean(gather(log_softmax(z, 1), 1, y.unsqueeze(1)));
  fmt::print("\ncross_entropy(z, y) = {:.5f}; -mean(log softmax(z)[n, y_n]) = {:.5f}; ln 10 = {:.5f}\n",
             loss.item(), by_hand.item(), kLn10);
  lesson.check(std::fabs(loss.item() - by_hand.item()) < 1e-5,
               "cross_entropy is the mean negative log-probability of the labels");
  lesson.check(std::fabs(loss.item() - kLn10) < 0.1,
               "an untrained network guesses about uniformly: the loss starts near ln 10");

  // The gradient with respect to the logits, by hand: (softmax(z) − onehot(y)) / B.
  loss.backward();
  const Tensor expected = (p.detach() - one_hot(y, 10).to(kFloat32)) / static_cast<double>(B);
  fmt::print("\ndloss/dz of the first image, by autograd: {}\n", z.grad()[0]);
  fmt::print("(softmax − onehot) / B:                   {}\n", expected[0]);
  lesson.check(allclose(z.grad(), expected, 1e-5, 1e-7),
               "the gradient of the loss with respect to the logits is (softmax − onehot) / B");
  double row_sum = 0;
  for (const float g : z.grad()[0].contiguous().to_vector<float>()) row_sum += g;
  lesson.check(std::fabs(row_sum) < 1e-6, "each row of that gradient sums to 0");

  // Why frameworks never compute log(softmax) as written: exp overflows.
  const Tensor big = tensor({{1000, 0, -1000}});
  const Tensor naive = -log(exp(big) / sum(exp(big), {1}, true));
  const Tensor stable = cross_entropy(big, tensor({1}).to(kInt64));
  fmt::print("\nlogits (1000, 0, -1000), label 1: -log(exp(z_1)/Σexp(z)) = {}, cross_entropy = {}\n",
             naive[0][1].item(), stable.item());
  lesson.check(!std::isfinite(naive[0][1].item()) && std::fabs(stable.item() - 1000) < 1e-3,
               "the naive formula overflows; cross_entropy (log-sum-exp) gives 1000");
}

// ---------------------------------------------------------------------------
// 7.3 The MLP
// ---------------------------------------------------------------------------

void the_mlp(lesson::Lesson& lesson) {
  lesson.section("7.3 The MLP");

  auto mlp = models::make_mlp();
  fmt::print("{}\n\n", to_string(*mlp));
  fmt::print("parameters: {}\n", mlp->num_parameters());
  lesson.check(mlp->num_parameters() == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10,
               "784·512 + 512 + 512·512 + 512 + 512·10 + 10 = 669,706 parameters");
  const Tensor logits = (*mlp)(zeros({5, 1, 28, 28}));
  lesson.check(logits.shape() == Shape{5, 10}, "(N, 1, 28, 28) images in, (N, 10) logits out");
}

// ---------------------------------------------------------------------------
// 7.4 The training loop, by hand
// ---------------------------------------------------------------------------

/// How to train: the settings the hand-written loop and `train_classifier` share.
struct Recipe {
  std::int64_t epochs;
  std::int64_t batch_size;
  double lr = 1e-3;
  std::uint64_t seed = 0;
};

/// The recipe of this run: one epoch of the real MNIST in batches of 128 (469 steps),
/// or 10 epochs of the 200 fixture images in batches of 50 (40 steps).
Recipe recipe_for(const Data& data) {
  return data.real ? Recipe{.epochs = 1, .batch_size = 128} : Recipe{.epochs = 10, .batch_size = 50};
}

/// What `models::train_classifier` does, written out without its logging and
/// checkpoints: Adam, a cosine learning rate, cross-entropy, one step per batch.
/// Returns the model and the mean training loss of each epoch.
std::pair<std::shared_ptr<nn::Sequential>, std::vector<double>> train_by_hand(
    const nn::MnistData& train, const Recipe& r) {
  nn::DataLoader loader(std::make_shared<nn::TensorDataset>(train.images, train.labels),
                        {.batch_size = r.batch_size, .shuffle = true, .seed = r.seed});
  manual_seed(r.seed);  // fixes the initial weights and every dropout mask
  auto model = models::make_mlp();
  optim::Adam opt(model->named_parameters(), optim::AdamOptions(r.lr));
  optim::CosineAnnealingLR schedule(opt, r.epochs * loader.num_batches());

  std::vector<double> epoch_loss;
  model->train();  // dropout on
  for (std::int64_t epoch = 0; epoch < r.epochs; ++epoch) {
    double loss_sum = 0;
    for (const nn::Example& batch : loader) {  // one pass = one epoch, shuffled anew
      const Tensor logits = (*model)(batch.input);              // (B, 10)
      const Tensor loss = cross_entropy(logits, batch.target);  // mean over the batch
      opt.zero_grad();   // forget the previous step's gradients
      loss.backward();   // fill p.grad() for every parameter p
      opt.step();        // p ← p − (Adam's step)
      schedule.step();   // the learning rate of the next step
      loss_sum += loss.item();
    }
    epoch_loss.push_back(loss_sum / static_cast<double>(loader.num_batches()));
  }
  return {model, epoch_loss};
}

/// The loop's outcome; the test accuracy is filled in by section 7.5.
struct HandRun {
  std::shared_ptr<nn::Sequential> model;
  std::vector<double> epoch_loss;
  double test_accuracy = 0;
};

HandRun training_loop(lesson::Lesson& lesson, const Data& data, const Recipe& r) {
  lesson.section("7.4 The training loop, by hand");

  fmt::print("{} epoch{} of {} images in batches of {}, Adam, lr {} cosine-annealed to 0\n",
             r.epochs, r.epochs > 1 ? "s" : "", data.train.images.size(0), r.batch_size, r.lr);
  const auto started = std::chrono::steady_clock::now();
  auto [model, epoch_loss] = train_by_hand(data.train, r);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (std::size_t e = 0; e < epoch_loss.size(); ++e)
    fmt::print("  epoch {:>2}: mean training loss {:.4f}\n", e + 1, epoch_loss[e]);
  fmt::print("trained in {:.1f} s\n", seconds);
  lesson.check(epoch_loss.back() < 0.5 * kLn10,
               fmt::format("the training loss fell from ln 10 = {:.3f} to {:.3f}", kLn10,
                           epoch_loss.back()));
  return {model, epoch_loss};
}

// ---------------------------------------------------------------------------
// 7.5 Evaluation
// ---------------------------------------------------------------------------

/// The fraction of `images` whose largest logit is at the right label, computed in eval
/// mode (dropout off) and without recording a graph.
double accuracy(nn::Module& model, const Tensor& images, const Tensor& labels) {
  model.eval();
  NoGradGuard no_grad;
  std::int64_t correct = 0;
  const std::int64_t n = images.size(0);
  for (std::int64_t start = 0; start < n; start += 1000) {
    const std::int64_t len = std::min<std::int64_t>(1000, n - start);
    const Tensor logits = model(images.narrow(0, start, len));  // (len, 10)
    const Tensor predicted = argmax(logits, 1);                 // (len)
    correct += static_cast<std::int64_t>(sum(predicted == labels.narrow(0, start, len)).item());
  }
  model.train();
  return static_cast<double>(correct) / static_cast<double>(n);
}

void evaluation(lesson::Lesson& lesson, const Data& data, HandRun& run) {
  lesson.section("7.5 Evaluation");

  nn::Sequential& model = *run.model;
  run.test_accuracy = accuracy(model, data.test.images, data.test.labels);
  const double train_accuracy = accuracy(model, data.train.images, data.train.labels);
  fmt::print("test accuracy {:.2f}% ({} images), training accuracy {:.2f}%\n",
             100 * run.test_accuracy, data.test.images.size(0), 100 * train_accuracy);
  lesson.check(run.test_accuracy > (data.real ? 0.9 : 0.5),
               data.real ? "one epoch classifies over 90% of the test digits"
                         : "200 training images already classify over half the test digits (chance: 10%)");

  const auto [loss, acc] = models::evaluate_classifier(model, data.test.images, data.test.labels);
  fmt::print("models::evaluate_classifier: test loss {:.4f}, accuracy {:.2f}%\n", loss, 100 * acc);
  lesson.check(acc == run.test_accuracy, "evaluate_classifier counts the same");

  // Eval mode turns dropout off; NoGradGuard stops the recording of a graph.
  const Tensor x = data.test.images.narrow(0, 0, 4);
  const Tensor noisy1 = model(x), noisy2 = model(x);
  model.eval();
  const Tensor clean1 = model(x), clean2 = model(x);
  lesson.check(!allclose(noisy1, noisy2) && allclose(clean1, clean2, 0, 0),
               "in train mode dropout makes every forward differ; in eval mode they agree");
  lesson.check(clean1.grad_fn() != nullptr,
               "eval() alone still records a graph (clean1 has a grad_fn)...");
  {
    NoGradGuard no_grad;
    lesson.check(model(x).grad_fn() == nullptr, "...NoGradGuard is what stops it");
  }
  model.train();
  const double with_dropout = [&] {
    NoGradGuard no_grad;  // still in train mode: dropout on
    const Tensor logits = model(data.test.images);
    return sum(argmax(logits, 1) == data.test.labels).item() / data.test.images.size(0);
  }();
  fmt::print("test accuracy with dropout left on by mistake: {:.2f}%\n", 100 * with_dropout);
}

// ---------------------------------------------------------------------------
// 7.6 The same with train_classifier
// ---------------------------------------------------------------------------

/// The options that make `train_classifier` run `r` on the data in `dir`.
models::ClassifierOptions options_for(const Recipe& r, const fs::path& dir, const fs::path& out) {
  models::ClassifierOptions o;
  o.model = "mlp";
  o.data_dir = dir.string();
  o.epochs = r.epochs;
  o.batch_size = r.batch_size;
  o.lr = r.lr;
  o.optimizer = "adam";
  o.seed = r.seed;
  o.out = out.string();
  o.quiet = true;  // no progress line
  return o;
}

/// True if two state dicts hold the same names and bit-identical tensors.
bool same_weights(const nn::StateDict& a, const nn::StateDict& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, t] : a)
    if (!b.contains(name) || !allclose(t, b.at(name), 0, 0)) return false;
  return true;
}

/// Prints each line of a text file, indented.
void print_file(const fs::path& path) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) fmt::print("  {}\n", line);
}

void with_train_classifier(lesson::Lesson& lesson, const Data& data, const Recipe& r,
                           const HandRun& run, const fs::path& tmp) {
  lesson.section("7.6 The same with train_classifier");

  const models::ClassifierOptions o = options_for(r, data.dir, tmp / "mlp");
  const models::ClassifierResult result = models::train_classifier(o);
  fmt::print("train_classifier: {} steps in {:.1f} s ({:.0f} images/s), last epoch's training "
             "loss {:.4f}, test accuracy {:.2f}%\n",
             result.steps, result.seconds, result.samples_per_second, result.train_loss,
             100 * result.test_accuracy);
  lesson.check(result.train_loss == run.epoch_loss.back() &&
                   result.test_accuracy == run.test_accuracy,
               "the same training loss and test accuracy as the loop by hand");

  // What it wrote: metrics.jsonl, the last checkpoint, and the weights.
  fmt::print("\n{}:\n", o.out);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(o.out)) files.push_back(entry.path().filename());
  std::sort(files.begin(), files.end());
  for (const std::string& f : files)
    fmt::print("  {:<24} {:>9} bytes\n", f, fs::file_size(fs::path(o.out) / f));
  fmt::print("\nmetrics.jsonl:\n");
  print_file(fs::path(o.out) / "metrics.jsonl");

  // `zoo eval mlp` is these three lines: a fresh model, the saved weights, evaluate.
  auto model = models::make_classifier("mlp");
  model->load_state_dict(nn::load_safetensors(fs::path(o.out) / "model.safetensors").tensors);
  const auto [loss, acc] = models::evaluate_classifier(*model, data.test.images, data.test.labels);
  lesson.check(same_weights(model->state_dict(), run.model->state_dict()),
               "model.safetensors holds, bit for bit, the weights the loop by hand trained");
  lesson.check(acc == result.test_accuracy, "reloaded, they classify the test set the same");
}

// ---------------------------------------------------------------------------
// 7.7 Checkpoints and resuming
// ---------------------------------------------------------------------------

void checkpoints(lesson::Lesson& lesson, const Data& data, const fs::path& tmp) {
  lesson.section("7.7 Checkpoints and resuming");

  // A small run: 2 epochs of the first 200 training images, 4 steps each.
  const Recipe small{.epochs = 2, .batch_size = 50};
  models::ClassifierOptions whole = options_for(small, data.dir, tmp / "whole");
  whole.train_limit = 200;
  whole.test_limit = 100;
  const models::ClassifierResult reference = models::train_classifier(whole);

  // The same run, "interrupted" after 6 steps (in the middle of the second epoch)...
  models::ClassifierOptions o = whole;
  o.out = (tmp / "resumed").string();
  o.stop_after = 6;
  const models::ClassifierResult stopped = models::train_classifier(o);
  fmt::print("interrupted after {} steps; {} holds:\n", stopped.steps, o.out);
  print_file(fs::path(o.out) / "metrics.jsonl");
  const nn::SafetensorsFile ck = nn::load_safetensors(fs::path(o.out) / "checkpoint.safetensors");
  std::int64_t model_tensors = 0, optim_tensors = 0;
  for (const auto& [name, t] : ck.tensors) {
    if (name.rfind("model.", 0) == 0) ++model_tensors;
    if (name.rfind("optim.", 0) == 0) ++optim_tensors;
  }
  fmt::print("  checkpoint.safetensors: {} model tensors; {} optimizer tensors (Adam's moments "
             "and step counts, lr, the schedule);\n    the generator's state; step {}, epoch {}, "
             "next_batch {}\n",
             model_tensors, optim_tensors, ck.metadata.at("step"), ck.metadata.at("epoch"),
             ck.metadata.at("next_batch"));
  lesson.check(!stopped.finished && stopped.steps == 6, "the run stopped after step 6");

  // ...and continued with --resume.
  o.stop_after = 0;
  o.resume = true;
  const models::ClassifierResult resumed = models::train_classifier(o);
  fmt::print("\nresumed: {} steps in all; metrics.jsonl now:\n", resumed.steps);
  print_file(fs::path(o.out) / "metrics.jsonl");
  const auto weights = [](const models::ClassifierOptions& run) {
    return nn::load_safetensors(fs::path(run.out) / "model.safetensors").tensors;
  };
  lesson.check(resumed.finished && same_weights(weights(o), weights(whole)),
               "interrupted and resumed, the run ends with the same weights, bit for bit");
  lesson.check(resumed.test_loss == reference.test_loss, "and the same test loss");
}

// ---------------------------------------------------------------------------
// 7.8 The CNN
// ---------------------------------------------------------------------------

/// Multiply-adds per image of a Linear or Conv2d layer whose output has shape `out`.
std::int64_t mult_adds(nn::Module& layer, const Shape& out) {
  if (auto* lin = dynamic_cast<nn::Linear*>(&layer)) return lin->weight.numel();
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&layer))  // one kernel per output value
    return conv->weight.numel() * out[2] * out[3];
  return 0;
}

/// Prints each layer's output shape, parameters and multiply-adds per image; returns
/// the total multiply-adds.
std::int64_t layer_table(nn::Sequential& model) {
  NoGradGuard no_grad;
  Tensor h = zeros({1, 1, 28, 28});
  std::int64_t total = 0;
  fmt::print("  {:<10} {:<18} {:>10} {:>12}\n", "layer", "output", "parameters", "mult-adds");
  for (const auto& layer : model) {
    h = (*layer)(h);
    const std::int64_t ops = mult_adds(*layer, h.shape());
    total += ops;
    fmt::print("  {:<10} {:<18} {:>10} {:>12}\n", layer->name(), fmt::format("{}", h.shape()),
               layer->num_parameters(), ops);
  }
  return total;
}

void the_cnn(lesson::Lesson& lesson, const Data& data) {
  lesson.section("7.8 The CNN");

  manual_seed(0);
  auto cnn = models::make_cnn();
  auto mlp = models::make_mlp();
  cnn->eval();
  fmt::print("{}\n\n", to_string(*cnn));
  const std::int64_t cnn_ops = layer_table(*cnn);
  fmt::print("\n");
  const std::int64_t mlp_ops = layer_table(*mlp);
  fmt::print("\nCNN: {} parameters, {} multiply-adds per image\n", cnn->num_parameters(), cnn_ops);
  fmt::print("MLP: {} parameters, {} multiply-adds per image\n", mlp->num_parameters(), mlp_ops);
  lesson.check(cnn->num_parameters() == 421642 && cnn->num_parameters() < mlp->num_parameters(),
               "the CNN has 421,642 parameters, fewer than the MLP's 669,706...");
  lesson.check(cnn_ops > 5 * mlp_ops, "...and does more than 5 times its work per image");

  // A convolution is im2col (every 3×3 patch as a column) followed by one matrix product.
  auto conv1 = cnn->at<nn::Conv2d>(0);  // weight (32, 1, 3, 3), bias (32)
  const Tensor x = data.test.images.narrow(0, 0, 4);          // (4, 1, 28, 28)
  const Tensor cols = im2col(x, {3, 3}, {1, 1}, {1, 1});       // (4, 1·3·3, 28·28)
  const Tensor W = conv1->weight.reshape({32, 9});             // (32, 9)
  const Tensor y = (matmul(W, cols) + conv1->bias.unsqueeze(1)).reshape({4, 32, 28, 28});
  fmt::print("\nim2col(x) {}, W {} -> W·im2col(x) + b {}\n", cols.shape(), W.shape(), y.shape());
  lesson.check(allclose(y, (*conv1)(x), 1e-5, 1e-6), "Conv2d(1, 32, 3, pad 1) is im2col + GEMM");

  // Weight sharing: the same kernel at every position, so a shifted image gives a
  // shifted output (equivariance). Shift right by one pixel:
  const Tensor shifted = cat({zeros({4, 1, 28, 1}), x.narrow(3, 0, 27)}, 3);
  const Tensor y_shifted = (*conv1)(shifted);
  lesson.check(allclose(y_shifted.narrow(3, 1, 26), (*conv1)(x).narrow(3, 0, 26), 1e-5, 1e-6),
               "shifting the image one pixel right shifts every feature map one pixel right");

  // Max pooling keeps the largest value of each 2×2 window: 28×28 → 14×14.
  const Tensor pooled = max_pool2d(y, {2, 2});
  lesson.check(pooled.shape() == Shape{4, 32, 14, 14} &&
                   pooled[0][0][0][0].item() ==
                       max(y[0][0].narrow(0, 0, 2).narrow(1, 0, 2)).item(),
               "max_pool2d(2) halves each side, each output the max of a 2×2 window");
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& lesson) {
    const Data data = load_data(lesson);
    // train_classifier writes its files here; removed at the end, even after an error.
    const lesson::TempDir tmp_dir(fs::temp_directory_path() / fmt::format("zoo_tutorial_07_{}", getpid()));
    const fs::path& tmp = tmp_dir.path;

    the_data(lesson, data);
    softmax_cross_entropy(lesson, data);
    the_mlp(lesson);
    const Recipe r = recipe_for(data);
    HandRun run = training_loop(lesson, data, r);
    evaluation(lesson, data, run);
    with_train_classifier(lesson, data, r, run, tmp);
    checkpoints(lesson, data, tmp);
    the_cnn(lesson, data);
  });
}
