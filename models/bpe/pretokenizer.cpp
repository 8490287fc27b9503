/// @file pretokenizer.cpp
/// @brief The PCRE2 split: compile once with the JIT, then match chunk after chunk.

#define PCRE2_CODE_UNIT_WIDTH 8
#include "models/bpe/pretokenizer.h"

#include <omp.h>
#include <pcre2.h>

#include <exception>

#include "autograd/error.h"

namespace zoo::models::bpe {

std::string resolve_pattern(std::string_view name_or_regex) {
  if (name_or_regex == "gpt4") return std::string(kGpt4Pattern);
  if (name_or_regex == "gpt2") return std::string(kGpt2Pattern);
  return std::string(name_or_regex);
}

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  const int n = pcre2_get_error_message(code, buffer, sizeof buffer);
  return n < 0 ? fmt::format("PCRE2 error {}", code) : std::string(reinterpret_cast<char*>(buffer));
}

/// One call's match state (PCRE2's match data is not shareable between threads).
struct MatchData {
  explicit MatchData(const pcre2_code* code) : data(pcre2_match_data_create_from_pattern(code, nullptr)) {
    ZOO_CHECK(data != nullptr, "bpe pretokenizer: out of memory for PCRE2 match data");
  }
  ~MatchData() { pcre2_match_data_free(data); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
  pcre2_match_data* data;
};

}  // namespace

struct Pretokenizer::Compiled {
  std::string pattern;
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

Pretokenizer::Pretokenizer(std::string pattern) {
  auto compiled = std::make_shared<Compiled>();
  compiled->pattern = std::move(pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  // UTF: the pattern and subject are UTF-8; UCP: \s, \w and friends follow Unicode
  // properties; MATCH_INVALID_UTF: invalid UTF-8 in the subject is allowed and simply
  // never matched, so any byte string can be split (and, with the gaps, round-trips).
  compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled->pattern.data()),
                                 compiled->pattern.size(),
                                 PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error, &offset,
                                 nullptr);
  ZOO_CHECK(compiled->code != nullptr, "bpe pretokenizer: cannot compile the pattern at offset {}: {}",
            offset, pcre2_message(error));
  // The JIT is an optimisation: where the platform has none, the interpreter runs.
  pcre2_jit_compile(compiled->code, PCRE2_JIT_COMPLETE);
  compiled_ = std::move(compiled);
}

const std::string& Pretokenizer::pattern() const { return compiled_->pattern; }

bool Pretokenizer::split_range(std::string_view text, std::size_t begin, std::size_t end,
                               const ChunkFn& on_chunk) const {
  ZOO_CHECK(begin <= end && end <= text.size(), "bpe pretokenizer: range [{}, {}) outside a text of {} bytes",
            begin, end, text.size());
  MatchData match(compiled_->code);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t pos = begin;
  while (pos < end) {
    // PCRE2_NOTEMPTY: an empty match would cover nothing; the search moves on instead.
    const int rc = pcre2_match(compiled_->code, subject, text.size(), pos, PCRE2_NOTEMPTY, match.data, nullptr);
    std::size_t match_begin = text.size(), match_end = text.size();
    if (rc >= 0) {
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
      match_begin = ovector[0];
      match_end = ovector[1];
    } else {
      ZOO_CHECK(rc == PCRE2_ERROR_NOMATCH, "bpe pretokenizer: matching at byte {} failed: {}", pos,
                pcre2_message(rc));
    }
    if (match_begin > pos) {  // bytes no match covers: one chunk of their own
      if (match_begin > end) return false;
      on_chunk(text.substr(pos, match_begin - pos));
      pos = match_begin;
      if (pos == end) break;
    }
    if (match_end > end) return false;
    on_chunk(text.substr(match_begin, match_end - match_begin));
    pos = match_end;
  }
  return true;
}

void Pretokenizer::split(std::string_view text, const ChunkFn& on_chunk) const {
  split_range(text, 0, text.size(), on_chunk);
}

std::vector<std::string_view> Pretokenizer::chunks(std::string_view text) const {
  std::vector<std::string_view> out;
  split(text, [&](std::string_view chunk) { out.push_back(chunk); });
  return out;
}

std::vector<Block> cut_blocks(std::string_view text, std::size_t target_bytes) {
  std::vector<Block> blocks;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.size();
    if (text.size() - begin > target_bytes) {
      // The first '\n' at or after the target length that is followed by a graphic
      // ASCII character ('!'..'~'); none left means the block runs to the end.
      std::size_t nl = begin + target_bytes - 1;
      while ((nl = text.find('\n', nl + 1)) != std::string_view::npos) {
        if (nl + 1 < text.size() && text[nl + 1] > ' ' && text[nl + 1] < 127) {
          end = nl + 1;
          break;
        }
      }
    }
    blocks.push_back({begin, end});
    begin = end;
  }
  return blocks;
}

void parallel_for_each(std::size_t n, int threads, const std::function<void(std::size_t, int)>& work) {
  if (threads <= 1 || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) work(i, 0);
    return;
  }
  // An exception must not leave an OpenMP region: keep the first, rethrow it after.
  std::exception_ptr error = nullptr;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::size_t i = 0; i < n; ++i) {
    try {
      work(i, omp_get_thread_num());
    } catch (...) {
#pragma omp critical(zoo_bpe_parallel_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace zoo::models::bpe
