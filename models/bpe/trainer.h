#pragma once
/// @file trainer.h
/// @brief Learning BPE merges from text, efficiently: unique chunks counted once, pair
/// counts updated only around each merge, the next pair taken from a heap.
///
/// BPE training (Sennrich et al., 2016, on bytes as in GPT-2) repeats one step: count
/// every adjacent pair of tokens over the corpus, merge the most frequent pair into a
/// new token everywhere, until the vocabulary has the size asked for. Done literally
/// (`reference_trainer.h`), each of the thousands of merges re-reads the whole corpus.
/// The efficient trainer does the same merges in the same order with far less work:
///
/// 1. **Unique chunks.** Pre-tokenization cuts the text into chunks (words with their
///    leading space, numbers, punctuation) and merges never cross chunks, so the corpus
///    is a multiset of chunks: Brown's 1.2 million words are about 50,000 distinct chunks
///    with counts. Counting is done once, in parallel over blocks of lines.
/// 2. **Pair counts and where pairs occur.** \f$c(a, b) = \sum_w n_w \cdot
///    \#\{i : w_i = a, w_{i+1} = b\}\f$ over chunks \f$w\f$ with count \f$n_w\f$, kept in a
///    hash map, and for each pair the list of chunks it occurs in.
/// 3. **Local updates.** Merging \f$(a, b) \to t\f$ in a chunk \f$\dots x\,a\,b\,y \dots\f$
///    removes the pairs \f$(x, a), (a, b), (b, y)\f$ and adds \f$(x, t), (t, y)\f$, each by
///    \f$n_w\f$. Only the chunks listed for \f$(a, b)\f$ are visited.
/// 4. **A heap with lazy deletion.** The best pair is the top of a max-heap of
///    (count, pair). Counts that fell are not searched for in the heap: when an entry
///    is popped, its count is compared with the current one, and a stale entry is put
///    back with its current count. Counts only rise for pairs holding the new token,
///    and those are pushed when they appear.
///
/// **Ties.** The pair with the highest count wins; among equal counts, the smallest
/// (left id, right id), compared as numbers (`chosen_before`). Both trainers use this
/// rule, so they agree merge for merge, and a run is the same for any thread count.
/// Lesson: @ref tutorial_08_bpe.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "models/bpe/pretokenizer.h"
#include "models/bpe/tokenizer.h"

namespace zoo::models::bpe {

/// A distinct chunk of the training text and how often it occurs.
struct ChunkCount {
  std::string bytes;   ///< the chunk
  std::int64_t count;  ///< occurrences in the text
};

/// The distinct chunks of `text` with their counts, sorted by bytes. Splits in parallel
/// on `threads` threads (0: `zoo::num_threads()`), each counting into its own map.
std::vector<ChunkCount> count_chunks(std::string_view text, const Pretokenizer& pretokenizer,
                                     int threads = 0);

/// The tie rule: true if pair `a` (seen `count_a` times) is merged before pair `b`:
/// a higher count first, then the smaller left id, then the smaller right id.
bool chosen_before(std::int64_t count_a, Merge a, std::int64_t count_b, Merge b);

/// One step of training, as reported to a progress callback.
struct MergeStep {
  std::int64_t rank;   ///< 0 for the first merge; the new token is 256 + rank
  std::int64_t total;  ///< merges asked for
  Merge merge;         ///< the pair merged
  std::int64_t count;  ///< its count when merged
};

/// Called after every merge.
using MergeCallback = std::function<void(const MergeStep&)>;

/// Learns up to `num_merges` merges from chunk counts, starting from byte tokens with
/// ids 0..255. Stops early when no pair occurs `min_count` times or more.
std::vector<Merge> learn_merges(const std::vector<ChunkCount>& chunks, std::int64_t num_merges,
                                std::int64_t min_count = 2, const MergeCallback& on_merge = {});

/// Everything a training run can set.
struct TrainOptions {
  std::int64_t vocab_size = 8192;               ///< 256 bytes + merges + special tokens
  std::string pattern = std::string(kGpt4Pattern);  ///< the split regex
  std::vector<std::string> special_tokens;      ///< numbered after the merges, in order
  std::int64_t min_count = 2;                   ///< a pair seen fewer times is not merged
  int threads = 0;                              ///< 0: `zoo::num_threads()`
  MergeCallback on_merge;                       ///< progress, called after every merge
};

/// A trained tokenizer and what training measured.
struct TrainResult {
  Tokenizer tokenizer;              ///< the merges, pattern and special tokens
  std::int64_t text_bytes = 0;      ///< size of the training text
  std::int64_t chunks = 0;          ///< chunks in the text
  std::int64_t unique_chunks = 0;   ///< distinct chunks
  double count_seconds = 0;         ///< pre-tokenizing and counting
  double merge_seconds = 0;         ///< learning the merges
};

/// Trains a tokenizer on `text`: `count_chunks`, then `learn_merges` for
/// `vocab_size - 256 - special tokens` merges (fewer if the text runs out of pairs).
TrainResult train(std::string_view text, const TrainOptions& options);

}  // namespace zoo::models::bpe
