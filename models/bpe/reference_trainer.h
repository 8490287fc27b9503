#pragma once
/// @file reference_trainer.h
/// @brief The plain BPE trainer, written for clarity: recount every pair after every merge.
///
/// Each step counts all adjacent pairs over all chunks (weighted by the chunks' counts),
/// takes the pair with the highest count (ties: the smaller left id, then the smaller
/// right id, as `chosen_before` says), and merges it left to right in every chunk. It
/// costs a pass over the whole corpus per merge, so it is for small texts: the tests
/// check that the efficient trainer (`learn_merges`) makes exactly the same merges in
/// the same order, and tutorial 08 uses it to show the idea.

#include <cstdint>
#include <vector>

#include "models/bpe/trainer.h"

namespace zoo::models::bpe {

/// Merges `pair` into `merged` in `ids`, left to right: "a a a" with (a, a) gives "aa a".
void merge_pair(std::vector<TokenId>& ids, Merge pair, TokenId merged);

/// Learns up to `num_merges` merges, recounting everything at each step; stops early
/// when no pair occurs `min_count` times or more. Same result as `learn_merges`.
std::vector<Merge> reference_learn_merges(const std::vector<ChunkCount>& chunks, std::int64_t num_merges,
                                          std::int64_t min_count = 2);

}  // namespace zoo::models::bpe
