// word2vec's vocabulary, Huffman tree, sub-sampling and unigram table: worked examples
// small enough to check by hand, and the properties that must hold for any input.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <queue>
#include <random>

#include "autograd/error.h"
#include "models/word2vec/corpus.h"
#include "models/word2vec/sampling.h"
#include "models/word2vec/vocab.h"

using namespace zoo;
using namespace zoo::models::word2vec;

TEST_CASE("word2vec: the vocabulary counts words, drops rare ones, sorts by count then first appearance",
          "[word2vec]") {
  const std::string text = "b a c a\n\n  d\tb a e  \r\nc e\nf";
  // Counts: a 3, b 2, c 2, e 2, d 1, f 1. Ties keep the order of first appearance: b, c, e.
  const Vocabulary v = Vocabulary::from_text(text, 2);
  CHECK(v.words() == std::vector<std::string>{"a", "b", "c", "e"});
  CHECK(v.counts() == std::vector<std::int64_t>{3, 2, 2, 2});
  CHECK(v.total_count() == 9);
  CHECK(v.find("c") == 2);
  CHECK(v.find("d") == -1);
  CHECK(v.find("A") == -1);  // case is kept
  CHECK(Vocabulary::from_text(text, 1).size() == 6);

  // The corpus: lines are sentences, out-of-vocabulary words dropped, empty sentences too.
  const Corpus corpus(text, v);
  REQUIRE(corpus.num_sentences() == 3);  // "b a c a", "b a e", "c e" ("d" and "f" vanish)
  CHECK(std::vector<WordId>(corpus.sentence(0).begin(), corpus.sentence(0).end()) == std::vector<WordId>{1, 0, 2, 0});
  CHECK(std::vector<WordId>(corpus.sentence(1).begin(), corpus.sentence(1).end()) == std::vector<WordId>{1, 0, 3});
  CHECK(corpus.num_words() == 9);
  CHECK(corpus.num_raw_words() == 11);

  // Malformed vocabularies are refused.
  CHECK_THROWS_AS(Vocabulary({"a", "a"}, {2, 1}), Error);
  CHECK_THROWS_AS(Vocabulary({"a", "b"}, {1, 2}), Error);
  CHECK_THROWS_AS(Vocabulary({"a", ""}, {2, 1}), Error);
}

TEST_CASE("word2vec: a line longer than the limit is cut into sentences", "[word2vec]") {
  std::string line;
  for (std::int64_t i = 0; i < kMaxSentenceWords + 5; ++i) line += "w ";
  const Vocabulary v = Vocabulary::from_text(line, 1);
  const Corpus corpus(line, v);
  REQUIRE(corpus.num_sentences() == 2);
  CHECK(static_cast<std::int64_t>(corpus.sentence(0).size()) == kMaxSentenceWords);
  CHECK(corpus.sentence(1).size() == 5);
}

TEST_CASE("word2vec: the Huffman tree of a worked example matches word2vec.c's", "[word2vec]") {
  // Counts 5 3 2 1 (words 0..3). CreateBinaryTree joins 3+2 into inner node 0 (weight 3);
  // then inner node 0 and word 1 tie at 3 and the inner node is taken first, so node 1 =
  // {node 0, word 1} (word 1 is the second child: turn 1), weight 6; then the root,
  // node 2 = {word 0, node 1}.
  const HuffmanTree tree({5, 3, 2, 1});
  const auto codes = [&](WordId w) { return std::vector<int>(tree.codes(w).begin(), tree.codes(w).end()); };
  const auto points = [&](WordId w) { return std::vector<int>(tree.points(w).begin(), tree.points(w).end()); };
  CHECK(codes(0) == std::vector<int>{0});
  CHECK(points(0) == std::vector<int>{2});
  CHECK(codes(1) == std::vector<int>{1, 1});
  CHECK(points(1) == std::vector<int>{2, 1});
  CHECK(codes(2) == std::vector<int>{1, 0, 1});
  CHECK(points(2) == std::vector<int>{2, 1, 0});
  CHECK(codes(3) == std::vector<int>{1, 0, 0});
  CHECK(points(3) == std::vector<int>{2, 1, 0});

  CHECK(HuffmanTree({7}).length(0) == 0);  // one word: nothing to decide
  CHECK_THROWS_AS(HuffmanTree({1, 2}), Error);
}

TEST_CASE("word2vec: Huffman codes are prefix-free, complete and of optimal total length", "[word2vec]") {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    const int V = 2 + trial * 7;
    std::vector<std::int64_t> counts(static_cast<std::size_t>(V));
    for (auto& c : counts) c = 1 + static_cast<std::int64_t>(rng() % (trial % 2 ? 5 : 1000));  // many ties, or few
    std::sort(counts.rbegin(), counts.rend());
    const HuffmanTree tree(counts);

    double kraft = 0;
    std::int64_t weighted = 0;
    std::map<std::string, WordId> by_code;  // codes as strings of '0' and '1'
    for (WordId w = 0; w < V; ++w) {
      const auto c = tree.codes(w);
      REQUIRE(!c.empty());
      REQUIRE(tree.points(w)[0] == V - 2);  // every path starts at the root
      for (const std::int32_t p : tree.points(w)) REQUIRE((p >= 0 && p < V - 1));
      kraft += std::ldexp(1.0, -static_cast<int>(c.size()));
      weighted += counts[static_cast<std::size_t>(w)] * static_cast<std::int64_t>(c.size());
      std::string bits;
      for (const std::uint8_t b : c) bits += static_cast<char>('0' + b);
      by_code[bits] = w;
    }
    CHECK(kraft == Approx(1.0));  // a full binary tree
    // Prefix-free: in sorted order, a code that is a prefix of another comes right before it.
    for (auto it = by_code.begin(); std::next(it) != by_code.end(); ++it) {
      const auto& a = it->first;
      const auto& b = std::next(it)->first;
      REQUIRE_FALSE(b.starts_with(a));
    }
    // The optimal total length Σ count·length is the sum of all merged weights (any
    // Huffman construction gives it), computed here with a priority queue.
    std::priority_queue<std::int64_t, std::vector<std::int64_t>, std::greater<>> heap(counts.begin(), counts.end());
    std::int64_t optimal = 0;
    while (heap.size() > 1) {
      const std::int64_t a = heap.top();
      heap.pop();
      const std::int64_t b = heap.top();
      heap.pop();
      optimal += a + b;
      heap.push(a + b);
    }
    CHECK(weighted == optimal);
  }
}

TEST_CASE("word2vec: sub-sampling keeps a word with word2vec.c's probability", "[word2vec]") {
  // s·N = 1e-3 · 1e6 = 1000. A word seen 10,000 times: (sqrt(10) + 1) · 0.1 = 0.41623.
  CHECK(keep_probability(10000, 1000000, 1e-3) == Approx((std::sqrt(10.0) + 1) * 0.1));
  CHECK(keep_probability(100000, 1000000, 1e-3) == Approx(0.11));  // (10 + 1) · 0.01
  CHECK(keep_probability(1000, 1000000, 1e-3) == 1.0);  // frequency s: (1 + 1) · 1, capped
  CHECK(keep_probability(5, 1000000, 1e-3) == 1.0);     // rare words are always kept
  CHECK(keep_probability(900000, 1000000, 0) == 1.0);   // sample 0: off
  // Keep probability falls as the count rises.
  double last = 1.0;
  for (std::int64_t c = 1000; c <= 1000000; c *= 2) {
    const double p = keep_probability(c, 1000000, 1e-3);
    CHECK(p <= last);
    last = p;
  }
  const std::vector<float> keep = keep_probabilities({900, 50, 50}, 0.01);  // s·N = 10
  CHECK(keep[0] == Approx((std::sqrt(90.0) + 1) / 90));
  CHECK(keep[1] == Approx((std::sqrt(5.0) + 1) / 5));
}

TEST_CASE("word2vec: the unigram table holds each word in proportion to count^0.75", "[word2vec]") {
  // 16^0.75 = 8 and 1^0.75 = 1: the first word fills 8/9 of the table.
  const UnigramTable small({16, 1}, 9000);
  std::int64_t zeros = 0;
  for (std::int64_t i = 0; i < small.size(); ++i) zeros += small[i] == 0;
  CHECK(std::abs(zeros - 8000) <= 2);  // word2vec.c's loop moves on one cell late: 8002
  // Runs are contiguous and in word order.
  for (std::int64_t i = 1; i < small.size(); ++i) REQUIRE(small[i] >= small[i - 1]);

  const std::vector<std::int64_t> counts = {5000, 1200, 300, 300, 45, 7, 5, 5};
  const UnigramTable table(counts, 1000000);
  std::vector<std::int64_t> cells(counts.size(), 0);
  for (std::int64_t i = 0; i < table.size(); ++i) ++cells[static_cast<std::size_t>(table[i])];
  double norm = 0;
  for (const auto c : counts) norm += std::pow(static_cast<double>(c), 0.75);
  for (std::size_t w = 0; w < counts.size(); ++w) {
    const double expected = std::pow(static_cast<double>(counts[w]), 0.75) / norm * 1e6;
    CHECK(std::abs(static_cast<double>(cells[w]) - expected) <= 2.0);
  }
}
