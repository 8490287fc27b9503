/// @file train.cpp
/// @brief word2vec.c's TrainModelThread, one shard per OpenMP thread.

#include "models/word2vec/train.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>

#include "autograd/error.h"
#include "autograd/parallel.h"
#include "models/word2vec/sampling.h"

namespace zoo::models::word2vec {
namespace {

using Clock = std::chrono::steady_clock;

/// Corpus words a thread reads between two updates of the shared count (word2vec.c's 10000).
constexpr std::int64_t kCountEvery = 10000;

/// What every thread reads and nobody writes.
struct Shared {
  const Corpus& corpus;
  const TrainOptions& options;
  std::vector<float> keep;           // sub-sampling: keep probability by word
  const UnigramTable* table;         // negative sampling, or null
  const HuffmanTree* tree;           // hierarchical softmax, or null
  SigmoidTable sigmoid;
  double alpha0;                     // the starting learning rate
  std::int64_t words_total;          // epochs × corpus words
  Clock::time_point start;
};

/// The first sentence of thread `t`'s shard: the first one starting at or after word
/// t·N/T, so shards hold nearly equal numbers of words.
std::int64_t shard_begin(const Corpus& corpus, int t, int threads) {
  const std::int64_t target = corpus.num_words() * t / threads;
  std::int64_t lo = 0, hi = corpus.num_sentences();
  while (lo < hi) {  // the first s with sentence_start(s) >= target
    const std::int64_t mid = (lo + hi) / 2;
    if (corpus.sentence_start(mid) < target) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/// One thread's whole run: every epoch of its shard. Returns the centre words it trained.
std::int64_t train_thread(Model& model, const Shared& sh, int t, int threads, std::atomic<std::int64_t>& words_done) {
  const TrainOptions& o = sh.options;
  const std::int64_t D = model.dim;
  const std::int64_t s_begin = shard_begin(sh.corpus, t, threads);
  const std::int64_t s_end = shard_begin(sh.corpus, t + 1, threads);
  // Each thread's own generator, from the seed and the thread's index (word2vec.c: the index).
  Lcg rng{(o.seed + 1) * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(t)};
  std::vector<float> h(static_cast<std::size_t>(D));         // CBOW's context mean (neu1)
  std::vector<float> v_update(static_cast<std::size_t>(D));  // the input side's update (neu1e)
  std::vector<WordId> sentence;
  sentence.reserve(static_cast<std::size_t>(kMaxSentenceWords));
  float* const out_ns = model.output_ns.data();
  float* const out_hs = model.output_hs.data();
  const int W = o.window;
  float alpha = static_cast<float>(sh.alpha0);
  std::int64_t word_count = 0, last_word_count = 0, trained = 0;

  // Steps the input vector `v` against word `word`'s outputs, collecting v's update.
  const auto step_outputs = [&](const float* v, WordId word) {
    if (sh.tree != nullptr) {
      const auto codes = sh.tree->codes(word);
      const auto points = sh.tree->points(word);
      for (std::size_t j = 0; j < codes.size(); ++j)
        output_step<OutputKind::hierarchical_softmax>(v, out_hs + points[j] * D, 1.0f - codes[j], alpha,
                                                      v_update.data(), D, sh.sigmoid);
    }
    if (sh.table != nullptr) {
      for (int d = 0; d <= o.negative; ++d) {
        WordId target = word;
        float label = 1;
        if (d > 0) {
          target = (*sh.table)[static_cast<std::int64_t>((rng.next() >> 16) % static_cast<std::uint64_t>(sh.table->size()))];
          if (target == word) continue;
          label = 0;
        }
        output_step<OutputKind::negative_sampling>(v, out_ns + target * D, label, alpha, v_update.data(), D,
                                                   sh.sigmoid);
      }
    }
  };

  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    for (std::int64_t s = s_begin; s < s_end; ++s) {
      if (word_count - last_word_count >= kCountEvery) {
        const std::int64_t done = words_done.fetch_add(word_count - last_word_count) + (word_count - last_word_count);
        last_word_count = word_count;
        const double a = sh.alpha0 * (1.0 - static_cast<double>(done) / static_cast<double>(sh.words_total + 1));
        alpha = static_cast<float>(std::max(a, sh.alpha0 * o.min_alpha_ratio));
        if (t == 0 && o.on_progress)
          o.on_progress({done, sh.words_total, alpha, std::chrono::duration<double>(Clock::now() - sh.start).count()});
      }
      // 1. Sub-sampling (a draw per word whenever it is on, as word2vec.c).
      sentence.clear();
      for (const WordId w : sh.corpus.sentence(s)) {
        ++word_count;
        if (o.sample > 0 && sh.keep[static_cast<std::size_t>(w)] < static_cast<float>(rng.next() & 0xFFFF) / 65536.0f)
          continue;
        sentence.push_back(w);
      }
      const auto n = static_cast<std::int64_t>(sentence.size());
      trained += n;
      for (std::int64_t i = 0; i < n; ++i) {
        const WordId word = sentence[static_cast<std::size_t>(i)];
        // 2. The shrunk window: offsets -(W-b)..(W-b), b uniform in 0..W-1.
        const int b = static_cast<int>(rng.next() % static_cast<std::uint64_t>(W));
        const std::int64_t lo = std::max<std::int64_t>(0, i - (W - b));
        const std::int64_t hi = std::min<std::int64_t>(n - 1, i + (W - b));
        if (!o.cbow) {
          // 3. Skip-gram: each context word's vector predicts the centre word.
          for (std::int64_t c = lo; c <= hi; ++c) {
            if (c == i) continue;
            float* v = model.input_row(sentence[static_cast<std::size_t>(c)]);
            std::fill(v_update.begin(), v_update.end(), 0.0f);
            step_outputs(v, word);
            axpy(1.0f, v_update.data(), v, D);
          }
        } else {
          // 3. CBOW: the mean of the context's vectors predicts the centre word.
          std::fill(h.begin(), h.end(), 0.0f);
          const std::int64_t cw = hi - lo;  // context words: the window without the centre
          if (cw == 0) continue;
          for (std::int64_t c = lo; c <= hi; ++c)
            if (c != i) axpy(1.0f, model.input_row(sentence[static_cast<std::size_t>(c)]), h.data(), D);
          const float inv = 1.0f / static_cast<float>(cw);
          for (float& x : h) x *= inv;
          std::fill(v_update.begin(), v_update.end(), 0.0f);
          step_outputs(h.data(), word);
          for (std::int64_t c = lo; c <= hi; ++c)
            if (c != i) axpy(1.0f, v_update.data(), model.input_row(sentence[static_cast<std::size_t>(c)]), D);
        }
      }
    }
  }
  words_done.fetch_add(word_count - last_word_count);
  return trained;
}

}  // namespace

void check_options(const TrainOptions& o) {
  ZOO_CHECK(o.dim > 0, "word2vec train: the dimension must be positive, not {}", o.dim);
  ZOO_CHECK(o.window > 0, "word2vec train: the window must be at least 1, not {}", o.window);
  ZOO_CHECK(o.negative >= 0, "word2vec train: the number of negative samples cannot be negative ({})", o.negative);
  ZOO_CHECK(o.negative > 0 || o.hs,
            "word2vec train: no output layer: use negative sampling (negative > 0), hierarchical softmax, or both");
  ZOO_CHECK(o.min_count >= 1, "word2vec train: min_count must be at least 1, not {}", o.min_count);
  ZOO_CHECK(o.sample >= 0, "word2vec train: the sub-sampling threshold cannot be negative ({})", o.sample);
  ZOO_CHECK(o.epochs >= 1, "word2vec train: epochs must be at least 1, not {}", o.epochs);
  ZOO_CHECK(o.alpha >= 0, "word2vec train: the learning rate cannot be negative ({})", o.alpha);
  ZOO_CHECK(o.threads >= 0, "word2vec train: threads cannot be negative ({})", o.threads);
  ZOO_CHECK(o.table_size >= 0, "word2vec train: the unigram table size cannot be negative ({})", o.table_size);
}

std::int64_t default_table_size(std::int64_t vocab_size) {
  return std::clamp<std::int64_t>(100 * vocab_size, 1'000'000, 100'000'000);
}

double starting_alpha(const TrainOptions& o) { return o.alpha > 0 ? o.alpha : (o.cbow ? 0.05 : 0.025); }

TrainStats train_model(Model& model, const Corpus& corpus, const Vocabulary& vocab, const TrainOptions& options) {
  check_options(options);
  ZOO_CHECK(model.vocab_size == vocab.size() && model.dim == options.dim,
            "word2vec train: the model is {} x {}, the vocabulary and options ask for {} x {}", model.vocab_size,
            model.dim, vocab.size(), options.dim);
  ZOO_CHECK(options.negative == 0 || !model.output_ns.empty(), "word2vec train: the model has no negative-sampling outputs");
  ZOO_CHECK(!options.hs || vocab.size() < 2 || !model.output_hs.empty(),
            "word2vec train: the model has no hierarchical-softmax outputs");
  const std::optional<UnigramTable> table =
      options.negative > 0 ? std::optional<UnigramTable>(std::in_place, vocab.counts(),
                                                       options.table_size > 0 ? options.table_size : default_table_size(vocab.size())) : std::nullopt;
  const std::optional<HuffmanTree> tree =
      options.hs ? std::optional<HuffmanTree>(std::in_place, vocab.counts()) : std::nullopt;
  Shared sh{corpus,
            options,
            keep_probabilities(vocab.counts(), options.sample),
            table ? &*table : nullptr,
            tree ? &*tree : nullptr,
            SigmoidTable{},
            starting_alpha(options),
            options.epochs * corpus.num_words(),
            Clock::now()};

  // Never more threads than sentences; each needs a shard.
  const int threads = static_cast<int>(std::clamp<std::int64_t>(options.threads > 0 ? options.threads : num_threads(),
                                                                 1, std::max<std::int64_t>(1, corpus.num_sentences())));
  std::atomic<std::int64_t> words_done{0};
  std::int64_t trained = 0;
  sh.start = Clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : trained)
  trained += train_thread(model, sh, omp_get_thread_num(), omp_get_num_threads(), words_done);
  TrainStats stats;
  stats.seconds = std::chrono::duration<double>(Clock::now() - sh.start).count();
  stats.words_done = words_done.load();
  stats.words_trained = trained;
  stats.threads = threads;
  return stats;
}

TrainResult train(std::string_view text, const TrainOptions& options, const std::string& source) {
  check_options(options);
  const auto start = Clock::now();
  TrainResult r;
  r.vocab = Vocabulary::from_text(text, options.min_count);
  ZOO_CHECK(r.vocab.size() > 0, "word2vec train: no word occurs {} times or more in {}",
            options.min_count, source);
  const Corpus corpus(text, r.vocab);
  r.raw_words = corpus.num_raw_words();
  r.corpus_words = corpus.num_words();
  r.sentences = corpus.num_sentences();
  r.model = Model(r.vocab.size(), options.dim, options.negative > 0, options.hs, options.seed);
  r.prepare_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.stats = train_model(r.model, corpus, r.vocab, options);
  return r;
}

}  // namespace zoo::models::word2vec
