#pragma once
/// @file train.h
/// @brief Training word2vec: skip-gram or CBOW, negative sampling and/or hierarchical
/// softmax, on many threads with lock-free ("Hogwild") updates, as word2vec.c does.
///
/// **One run** (word2vec.c's `TrainModel`): count the vocabulary (`min_count`), turn the
/// text into sentences of word ids, build the unigram table (negative sampling) and the
/// Huffman tree (hierarchical softmax), start the model (`Model`), then let each thread
/// go through its shard of the corpus for every epoch. For each sentence a thread
///
/// 1. drops frequent words at random (sub-sampling, `keep_probability`);
/// 2. for each remaining word \f$o\f$ at position \f$i\f$, draws \f$b\f$ uniformly in
///    \f$0..W-1\f$ and uses the window \f$i-(W-b) .. i+(W-b)\f$: a *shrunk* window, so
///    near words are used more often than far ones (weights \f$(W - d + 1)/W\f$ at
///    distance \f$d\f$);
/// 3. skip-gram: for each context word \f$c\f$, steps the pair (\f$v_c\f$, \f$o\f$) with
///    `output_step`, once for \f$o\f$ (label 1) and once per negative sample (label 0,
///    skipped if it is \f$o\f$ itself), and/or once per node of \f$o\f$'s Huffman path,
///    then adds the collected update to \f$v_c\f$. CBOW: the same with the mean of the
///    context's input vectors in place of \f$v_c\f$, the update added to each of them.
///
/// **Learning rate.** \f$\alpha = \alpha_0\,(1 - \text{done} / (\text{epochs}\cdot N + 1))\f$,
/// never below \f$10^{-4}\alpha_0\f$, where done counts the corpus words read by all
/// threads together (each thread adds its count to a shared atomic every 10,000 words) and
/// \f$N\f$ is the number of corpus words in the vocabulary. \f$\alpha_0\f$ is 0.025 for
/// skip-gram and 0.05 for CBOW.
///
/// **Threads.** The corpus is cut into one shard per thread, of nearly equal numbers of
/// words (at sentence boundaries). Threads update the shared matrices with no locks at
/// all ("Hogwild", Recht et al. 2011): two threads rarely touch the same row at once and
/// a lost update does no harm to SGD. (Strictly, such races are undefined behaviour in
/// C++, as they are in word2vec.c; a run is not repeatable with several threads.) Each
/// thread draws its random numbers from its own `Lcg`, started from the seed and the
/// thread's index, so one thread and one seed always give the same vectors.
/// Lesson: @ref tutorial_09_word2vec.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "models/word2vec/corpus.h"
#include "models/word2vec/model.h"
#include "models/word2vec/vocab.h"

namespace zoo::models::word2vec {

/// Where a run is, as reported to a progress callback.
struct TrainProgress {
  std::int64_t words_done;   ///< corpus words read so far by all threads, over all epochs
  std::int64_t words_total;  ///< epochs × corpus words in the vocabulary
  double alpha;              ///< the learning rate now
  double seconds;            ///< since training started
};

/// Called by the first thread about every 10,000 words it reads.
using ProgressCallback = std::function<void(const TrainProgress&)>;

/// Everything a training run can set; the defaults are word2vec.c's and gensim's.
struct TrainOptions {
  bool cbow = false;            ///< CBOW instead of skip-gram
  std::int64_t dim = 100;       ///< D: the vectors' size
  int window = 5;               ///< W: the largest distance to a context word
  int negative = 5;             ///< k: negative samples per pair (0: none)
  bool hs = false;              ///< hierarchical softmax (may be on with negative sampling)
  std::int64_t min_count = 5;   ///< words seen fewer times are dropped
  double sample = 1e-3;         ///< sub-sampling threshold s (0: off)
  int epochs = 5;               ///< passes over the corpus
  double alpha = 0;             ///< starting learning rate; 0: 0.025 for skip-gram, 0.05 for CBOW
  double min_alpha_ratio = 1e-4;  ///< the learning rate never falls below alpha × this
  int threads = 0;              ///< 0: `zoo::num_threads()`
  std::uint64_t seed = 1;       ///< starts the vectors and every thread's random numbers
  std::int64_t table_size = 0;  ///< cells of the unigram table; 0: `default_table_size` of the vocabulary
  ProgressCallback on_progress;  ///< optional
};

/// What a run measured.
struct TrainStats {
  std::int64_t words_done = 0;     ///< corpus words in the vocabulary read, over all epochs
  std::int64_t words_trained = 0;  ///< of those, kept by sub-sampling (centre words trained)
  double seconds = 0;              ///< wall-clock time of the training loop
  int threads = 0;                 ///< threads used
};

/// A trained model and what training measured.
struct TrainResult {
  Vocabulary vocab;                ///< the words, most frequent first
  Model model;                     ///< the parameters; `model.input` are the word vectors
  std::int64_t raw_words = 0;      ///< words in the text, out-of-vocabulary ones included
  std::int64_t corpus_words = 0;   ///< of those, words in the vocabulary (N)
  std::int64_t sentences = 0;      ///< sentences trained on
  double prepare_seconds = 0;      ///< counting, the corpus as ids, tables
  TrainStats stats;                ///< the training loop
  /// Throughput: the words of the text (all of them, as gensim's raw count) times the
  /// epochs, over the training loop's seconds.
  double words_per_second(int epochs) const {
    return stats.seconds > 0 ? static_cast<double>(raw_words) * epochs / stats.seconds : 0.0;
  }
};

/// The unigram table's size when the options leave it to zoo: 100 cells per word of the
/// vocabulary, at least \f$10^6\f$ and at most \f$10^8\f$ (word2vec.c's fixed size).
/// Every draw of a negative sample reads a random cell, so the table should fit in the
/// processor's cache. On Brown (14,893 words: 1.5 million cells, 6 MB) training runs
/// twice as fast as with \f$10^7\f$ cells (40 MB), whose cache misses took two thirds of
/// the time (perf), and three times as fast as with word2vec.c's \f$10^8\f$ (400 MB).
/// The rarest Brown word (count 5) still fills 22 cells.
std::int64_t default_table_size(std::int64_t vocab_size);

/// Checks the options, with a message naming the first that is out of range.
void check_options(const TrainOptions& options);

/// The starting learning rate `options.alpha` stands for.
double starting_alpha(const TrainOptions& options);

/// Trains `model` (already started) on `corpus`; `vocab` gives the counts for
/// sub-sampling, the unigram table and the Huffman tree.
TrainStats train_model(Model& model, const Corpus& corpus, const Vocabulary& vocab, const TrainOptions& options);

/// A whole run on `text` (one sentence a line): vocabulary, corpus, model, training.
/// `source` names the text in errors: the corpus file's name in quotes ("'brown.txt'"),
/// or "the text".
TrainResult train(std::string_view text, const TrainOptions& options, const std::string& source = "the text");

}  // namespace zoo::models::word2vec
