// Tutorial 09: word2vec. The skip-gram objective and the pairs it trains on; negative
// sampling's loss and its gradient by hand, checked against autograd; hierarchical
// softmax and the Huffman tree; the unigram table and sub-sampling; training, and the
// neighbours and analogies of words of the Brown corpus; the vectors file. Read
// README.md alongside.
//
// Run: ./tutorial_09_word2vec   (trains on the Brown corpus in data/brown, if
// data/fetch_brown.sh has put it there: about ten seconds on two cores; CTest runs it
// with --quick, which trains on a small synthetic corpus in under a second)

#include <chrono>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/factories.h"
#include "autograd/ops.h"
#include "lesson.h"
#include "models/word2vec/corpus.h"
#include "models/word2vec/evaluate.h"
#include "models/word2vec/model.h"
#include "models/word2vec/sampling.h"
#include "models/word2vec/train.h"
#include "models/word2vec/vectors_io.h"
#include "models/word2vec/vocab.h"

using namespace zoo::models::word2vec;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = ZOO_SOURCE_DIR;

// ---------------------------------------------------------------------------
// 9.1 The objective: pairs from a window
// ---------------------------------------------------------------------------

void pairs_from_a_window(lesson::Lesson& lesson) {
  lesson.section("9.1 The objective: pairs from a window");
  const std::vector<std::string> sentence = {"the", "jury", "praised", "the", "election"};
  const int W = 2;
  std::vector<std::string> pairs;
  for (int i = 0; i < static_cast<int>(sentence.size()); ++i)
    for (int c = std::max(0, i - W); c <= std::min<int>(static_cast<int>(sentence.size()) - 1, i + W); ++c)
      if (c != i) pairs.push_back(fmt::format("({} → {})", sentence[static_cast<std::size_t>(c)], sentence[static_cast<std::size_t>(i)]));
  fmt::print("window {}: {} (context → centre) pairs:\n  {}\n", W, pairs.size(), fmt::join(pairs, " "));
  lesson.check(pairs.size() == 14, "5 words, window 2: 2+3+4+3+2 = 14 pairs");

  // The shrunk window: b uniform in 0..W-1, window W-b, so distance d is used with
  // probability (W - d + 1) / W.
  const int W5 = 5;
  std::vector<double> used(W5 + 1, 0.0);
  for (int b = 0; b < W5; ++b)
    for (int d = 1; d <= W5 - b; ++d) used[static_cast<std::size_t>(d)] += 1.0 / W5;
  fmt::print("window 5, shrunk at random: distance 1..5 used with probability {:.1f}\n",
             fmt::join(std::vector<double>(used.begin() + 1, used.end()), " "));
  lesson.check(std::abs(used[1] - 1.0) < 1e-12 && std::abs(used[5] - 0.2) < 1e-12,
               "neighbours are always used, words 5 away one time in five");
}

// ---------------------------------------------------------------------------
// 9.2 Negative sampling: the loss and its gradient by hand
// ---------------------------------------------------------------------------

void gradient_by_hand(lesson::Lesson& lesson) {
  lesson.section("9.2 Negative sampling: the gradient by hand and by autograd");
  // One pair: input vector v (row 0 of W_in), true output o = 1, negatives 2, 3, 4.
  const std::int64_t V = 5, D = 4;
  std::mt19937 rng(9);
  std::normal_distribution<double> normal(0.0, 0.5);
  std::vector<double> w_in(V * D), w_out(V * D);
  for (auto& x : w_in) x = normal(rng);
  for (auto& x : w_out) x = normal(rng);

  // Autograd: L = -log σ(u_o·v) - Σ_k log σ(-u_k·v).
  const zoo::Tensor t_in = zoo::from_vector(w_in, {V, D}).requires_grad_();
  const zoo::Tensor t_out = zoo::from_vector(w_out, {V, D}).requires_grad_();
  const zoo::Tensor v = zoo::embedding(t_in, zoo::from_vector(std::vector<std::int64_t>{0}));         // [1, D]
  const zoo::Tensor u = zoo::embedding(t_out, zoo::from_vector(std::vector<std::int64_t>{1, 2, 3, 4}));  // [4, D]
  const zoo::Tensor scores = zoo::sum(zoo::mul(v, u), {1});                                          // [4]
  const zoo::Tensor signs = zoo::tensor({1, -1, -1, -1}, zoo::kFloat64);
  const zoo::Tensor loss = zoo::neg(zoo::sum(zoo::log(zoo::sigmoid(zoo::mul(signs, scores)))));
  const auto g = zoo::autograd::grad({loss}, {t_in, t_out});
  const auto g_in = g[0].to_vector<double>(), g_out = g[1].to_vector<double>();

  // By hand: the trainer's output_step with α = 1 adds -∂L/∂u to each u and collects
  // -∂L/∂v, one term at a time.
  std::vector<double> out = w_out, v_update(D, 0.0);
  for (std::int64_t j = 1; j <= 4; ++j)
    output_step<OutputKind::negative_sampling>(w_in.data(), out.data() + j * D, j == 1 ? 1.0 : 0.0, 1.0,
                                               v_update.data(), D, ExactSigmoid{});
  double worst = 0;
  for (std::int64_t d = 0; d < D; ++d) worst = std::max(worst, std::abs(v_update[d] + g_in[d]));
  for (std::size_t j = 0; j < out.size(); ++j) worst = std::max(worst, std::abs((out[j] - w_out[j]) + g_out[j]));
  fmt::print("loss {:.6f}; ∂L/∂v by autograd {:.6f}\n", loss.item(), fmt::join(std::vector<double>(g_in.begin(), g_in.begin() + D), " "));
  std::vector<double> minus_update;
  for (const double x : v_update) minus_update.push_back(-x);
  fmt::print("             -(update of v) by hand {:.6f}\n", fmt::join(minus_update, " "));
  lesson.check(worst < 1e-12, "the hand-written update is -∂L/∂v and -∂L/∂u exactly (float64, exact σ)");
}

// ---------------------------------------------------------------------------
// 9.3 Hierarchical softmax
// ---------------------------------------------------------------------------

void hierarchical_softmax(lesson::Lesson& lesson) {
  lesson.section("9.3 Hierarchical softmax: a Huffman tree over the vocabulary");
  const std::vector<std::string> words = {"the", "of", "jury", "Fulton"};
  const std::vector<std::int64_t> counts = {5, 3, 2, 1};
  const HuffmanTree tree(counts);
  for (WordId w = 0; w < 4; ++w) {
    std::string code;
    for (const auto c : tree.codes(w)) code += static_cast<char>('0' + c);
    fmt::print("  {:<7} count {}  code {:<4} inner nodes {}\n", words[static_cast<std::size_t>(w)], counts[static_cast<std::size_t>(w)],
               code, fmt::join(tree.points(w), " "));
  }
  // p(w | v) = Π_j σ((1 - 2c_j) u_{n_j}·v): a distribution over the words, for any vectors.
  const std::int64_t D = 3;
  std::mt19937 rng(1);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> inner(3 * D), v(D);
  for (auto& x : inner) x = normal(rng);
  for (auto& x : v) x = normal(rng);
  double total = 0;
  for (WordId w = 0; w < 4; ++w) {
    double p = 1;
    for (std::size_t j = 0; j < tree.length(w); ++j) {
      const double s = dot(inner.data() + tree.points(w)[j] * D, v.data(), D);
      p *= ExactSigmoid{}(tree.codes(w)[j] ? -s : s);
    }
    total += p;
  }
  fmt::print("Σ_w p(w | v) = {:.15f} for random inner-node vectors and v\n", total);
  lesson.check(std::abs(total - 1.0) < 1e-12, "the leaf probabilities of the tree sum to 1: a softmax in log2 V steps");
}

// ---------------------------------------------------------------------------
// 9.4 Which words: the unigram table and sub-sampling
// ---------------------------------------------------------------------------

void sampling(lesson::Lesson& lesson, const Vocabulary& vocab) {
  lesson.section("9.4 Negative samples and sub-sampling");
  double norm = 0;
  for (const auto c : vocab.counts()) norm += std::pow(static_cast<double>(c), 0.75);
  const UnigramTable table(vocab.counts(), default_table_size(vocab.size()));
  std::vector<std::int64_t> cells(static_cast<std::size_t>(vocab.size()), 0);
  for (std::int64_t i = 0; i < table.size(); ++i) ++cells[static_cast<std::size_t>(table[i])];
  fmt::print("{:<12} {:>8} {:>10} {:>12} {:>12} {:>11}\n", "word", "count", "frequency", "P_n(w)", "table share",
             "P_keep(w)");
  const auto show = [&](WordId w) {
    const double c = static_cast<double>(vocab.count(w));
    fmt::print("{:<12} {:>8} {:>10.5f} {:>12.5f} {:>12.5f} {:>11.3f}\n", vocab.word(w), vocab.count(w),
               c / static_cast<double>(vocab.total_count()), std::pow(c, 0.75) / norm,
               static_cast<double>(cells[static_cast<std::size_t>(w)]) / static_cast<double>(table.size()),
               keep_probability(vocab.count(w), vocab.total_count(), 1e-3));
  };
  for (WordId w = 0; w < 4; ++w) show(w);
  show(static_cast<WordId>(vocab.size() / 2));
  show(static_cast<WordId>(vocab.size() - 1));
  const double raw0 = static_cast<double>(vocab.count(0)) / static_cast<double>(vocab.total_count());
  lesson.check(std::pow(static_cast<double>(vocab.count(0)), 0.75) / norm < raw0,
               "the 3/4 power draws the most frequent word less often than its frequency");
  lesson.check(keep_probability(vocab.count(0), vocab.total_count(), 1e-3) <
                   keep_probability(vocab.count(static_cast<WordId>(vocab.size() - 1)), vocab.total_count(), 1e-3),
               "sub-sampling skips the most frequent word more often than the rarest");
}

// ---------------------------------------------------------------------------
// 9.5 Training, neighbours, analogies
// ---------------------------------------------------------------------------

/// The synthetic corpus of the tests: random filler words, and in each sentence one
/// pair "pI qI", each word twice.
std::string planted_corpus() {
  std::mt19937 rng(1);
  std::string text;
  for (int s = 0; s < 3000; ++s) {
    std::vector<std::string> words;
    const int length = 6 + static_cast<int>(rng() % 9), pair = static_cast<int>(rng() % 8);
    for (int i = 0; i < length; ++i) words.push_back(fmt::format("f{}", rng() % 60));
    for (int twice = 0; twice < 2; ++twice)
      for (const char side : {'p', 'q'})
        words.insert(words.begin() + static_cast<std::ptrdiff_t>(rng() % (words.size() + 1)), fmt::format("{}{}", side, pair));
    for (const auto& w : words) text.append(w).append(" ");
    text += '\n';
  }
  return text;
}

void print_neighbors(const CosineIndex& index, const std::string& word, int k) {
  std::vector<std::string> parts;
  for (const Neighbor& n : index.neighbors(word, k)) parts.push_back(fmt::format("{} {:.2f}", n.word, n.similarity));
  fmt::print("  {:<10} {}\n", word, fmt::join(parts, ", "));
}

void training(lesson::Lesson& lesson, const std::string& text, bool brown) {
  lesson.section("9.5 Training, neighbours and analogies");
  TrainOptions options;  // word2vec.c's defaults: skip-gram, 100 dims, window 5, 5 negatives
  if (!brown) options = {.dim = 24, .min_count = 1, .sample = 0, .threads = 1};
  options.on_progress = [last = -1](const TrainProgress& p) mutable {
    const int epoch_tenth = static_cast<int>(10 * p.words_done / std::max<std::int64_t>(1, p.words_total));
    if (epoch_tenth / 2 != last / 2)
      fmt::print("  {:>3.0f}% of the words, learning rate {:.5f}\n", 100.0 * p.words_done / p.words_total, p.alpha);
    last = epoch_tenth;
  };
  const TrainResult r = train(text, options);
  fmt::print("{} words in the text, vocabulary {} (min_count {}), {} epochs in {:.1f} s on {} thread(s): {:.0f} words/s\n",
             r.raw_words, r.vocab.size(), options.min_count, options.epochs, r.stats.seconds, r.stats.threads,
             r.words_per_second(options.epochs));
  const WordVectors vectors{r.vocab.words(), r.model.dim, r.model.input};
  const CosineIndex index(vectors);

  if (!brown) {
    int found = 0;
    for (int i = 0; i < 8; ++i) {
      print_neighbors(index, fmt::format("p{}", i), 3);
      found += index.neighbors(fmt::format("p{}", i), 1)[0].word == fmt::format("q{}", i);
    }
    lesson.check(found == 8, "each planted word's nearest neighbour is its partner");
  } else {
    for (const char* w : {"money", "president", "church", "water", "Monday", "said", "three", "good"})
      print_neighbors(index, w, 6);
    const auto answer = [&](const char* a, const char* b, const char* c) {
      const auto best = index.analogy(a, b, c, 3);
      fmt::print("  {} is to {} as {} is to: {} {:.2f}, {} {:.2f}, {} {:.2f}\n", a, b, c, best[0].word,
                 best[0].similarity, best[1].word, best[1].similarity, best[2].word, best[2].similarity);
    };
    answer("he", "his", "she");
    answer("Monday", "Tuesday", "Friday");
    answer("good", "better", "bad");
    const auto days = index.neighbors("Monday", 10);
    int weekdays = 0;
    for (const auto& n : days)
      for (const char* d : {"Sunday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}) weekdays += n.word == d;
    lesson.check(weekdays >= 3, "Brown's vectors put other days of the week among Monday's ten nearest words");
  }

  // The vectors file, both formats, read back exactly.
  const fs::path dir = fs::temp_directory_path() / "zoo_tutorial_09";
  fs::create_directories(dir);
  save_vectors(dir / "vectors.bin", vectors, VectorFormat::binary);
  save_vectors(dir / "vectors.txt", vectors, VectorFormat::text);
  fmt::print("vectors.bin {} bytes, vectors.txt {} bytes\n", fs::file_size(dir / "vectors.bin"), fs::file_size(dir / "vectors.txt"));
  lesson.check(load_vectors(dir / "vectors.bin").values == vectors.values &&
                   load_vectors(dir / "vectors.txt").values == vectors.values,
               "both word2vec formats read back bit for bit");
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  return lesson::run(argc, argv, [](lesson::Lesson& lesson) {
    pairs_from_a_window(lesson);
    gradient_by_hand(lesson);
    hierarchical_softmax(lesson);
    const fs::path brown = kSource / "data/brown/train.txt";
    const bool use_brown = !lesson.quick() && fs::exists(brown);
    if (!lesson.quick() && !use_brown)
      fmt::print("\n(no {}: run data/fetch_brown.sh to train on the Brown corpus; using a synthetic corpus)\n",
                 brown.string());
    const std::string text = use_brown ? read_text_file(brown) : planted_corpus();
    sampling(lesson, Vocabulary::from_text(text, use_brown ? 5 : 1));
    training(lesson, text, use_brown);
  });
}
