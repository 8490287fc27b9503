/// @file bpe_commands.cpp
/// @brief `zoo bpe train|encode|decode|show`: the byte-level BPE tokenizer on the command line.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>

#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/parallel.h"
#include "models/bpe/gpt2.h"
#include "models/bpe/model_file.h"
#include "models/bpe/trainer.h"
#include "models/cli/commands.h"
#include "models/common/progress.h"

namespace zoo::cli {
namespace {
namespace bpe = models::bpe;
namespace fs = std::filesystem;

constexpr const char* kDefaultModel = "runs/bpe/bpe.model";

/// A zoo model file, or GPT-2's vocab.bpe (recognised by its "#version" first line).
bpe::Tokenizer load_model(const std::string& path) {
  const std::string bytes = bpe::read_file_bytes(path);
  if (bytes.rfind("#version", 0) == 0) return bpe::gpt2_from_vocab_bpe(bytes, path);
  return bpe::tokenizer_from_text(bytes, path);
}

/// A file's bytes, or standard input's with "" or "-".
std::string read_input(const std::string& path) {
  if (!path.empty() && path != "-") return bpe::read_file_bytes(path);
  return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
}

/// Writes `bytes` to a file, or to standard output with "" or "-".
void write_output(const std::string& path, std::string_view bytes) {
  std::FILE* out = stdout;
  if (!path.empty() && path != "-") {
    out = std::fopen(path.c_str(), "wb");
    ZOO_CHECK(out != nullptr, "zoo bpe: cannot open '{}' for writing", path);
  }
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size() && std::fflush(out) == 0;
  if (out != stdout) std::fclose(out);
  ZOO_CHECK(ok, "zoo bpe: writing to '{}' failed (disk full?)", path.empty() ? "stdout" : path);
}

bpe::SpecialPolicy parse_policy(const std::string& name) {
  if (name == "refuse") return bpe::SpecialPolicy::refuse;
  if (name == "allow") return bpe::SpecialPolicy::allow;
  if (name == "text") return bpe::SpecialPolicy::as_text;
  throw Error(fmt::format("zoo bpe encode: --special must be refuse, allow or text, not '{}'", name));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void add_train(CLI::App& parent) {
  struct Options {
    std::string input = "data/brown/train.txt";
    std::string out = kDefaultModel;
    std::int64_t vocab_size = 8192;
    std::string pattern = "gpt4";
    std::vector<std::string> specials;
    std::int64_t min_count = 2;
    int threads = 0;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = parent.add_subcommand("train", "Learn BPE merges from a text file");
  cmd->add_option("--input", o->input, "UTF-8 (or any) text, plain or gzipped")->capture_default_str();
  cmd->add_option("--vocab-size", o->vocab_size, "256 bytes + merges + special tokens")->capture_default_str();
  cmd->add_option("--out", o->out, "Where to write the model file")->capture_default_str();
  cmd->add_option("--pattern", o->pattern, "Split regex: gpt4, gpt2, or a PCRE2 pattern")->capture_default_str();
  cmd->add_option("--special", o->specials, "A special token, e.g. '<|endoftext|>' (repeatable)");
  cmd->add_option("--min-count", o->min_count, "Merge no pair seen fewer times")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (default: ZOO_NUM_THREADS or all cores)");
  cmd->add_flag("--quiet", o->quiet, "No progress line");
  cmd->callback([o] {
    if (o->threads > 0) set_num_threads(o->threads);
    ZOO_CHECK(fs::exists(o->input), "zoo bpe train: no input file '{}'{}", o->input,
              o->input == "data/brown/train.txt" ? " (fetch the Brown corpus with data/fetch_brown.sh)" : "");
    const std::string text = bpe::read_file_bytes(o->input);

    bpe::TrainOptions options;
    options.vocab_size = o->vocab_size;
    options.pattern = bpe::resolve_pattern(o->pattern);
    options.special_tokens = o->specials;
    options.min_count = o->min_count;
    options.threads = num_threads();
    const std::int64_t merges = o->vocab_size - 256 - static_cast<std::int64_t>(o->specials.size());
    models::ProgressLine progress("bpe train", merges, 500, o->quiet ? nullptr : stderr);
    options.on_merge = [&](const bpe::MergeStep& s) {
      progress.update(s.rank + 1, 1, fmt::format("count {}", s.count));
    };
    const auto start = std::chrono::steady_clock::now();
    const bpe::TrainResult r = bpe::train(text, options);
    const double seconds = seconds_since(start);
    progress.finish(fmt::format("{} distinct chunks of {}", r.unique_chunks, r.chunks));
    if (fs::path(o->out).has_parent_path()) fs::create_directories(fs::path(o->out).parent_path());
    bpe::save_tokenizer(r.tokenizer, o->out);

    // How well the new vocabulary compresses the text it learned from.
    const auto tokens = static_cast<double>(r.tokenizer.encode(text, {.specials = bpe::SpecialPolicy::as_text}).size());
    fmt::print("{}\n", nlohmann::json{{"model", o->out},
                                      {"vocab_size", r.tokenizer.vocab_size()},
                                      {"merges", r.tokenizer.merges().size()},
                                      {"seconds", seconds},
                                      {"count_seconds", r.count_seconds},
                                      {"merge_seconds", r.merge_seconds},
                                      {"input_bytes", r.text_bytes},
                                      {"unique_chunks", r.unique_chunks},
                                      {"bytes_per_token", tokens > 0 ? static_cast<double>(r.text_bytes) / tokens : 0.0},
                                      {"threads", num_threads()}}
                           .dump());
  });
}

void add_encode(CLI::App& parent) {
  struct Options {
    std::string model = kDefaultModel;
    std::string input, output;
    std::string special = "refuse";
    int threads = 0;
    bool stats = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = parent.add_subcommand("encode", "Text to token ids (space-separated, one line)");
  cmd->add_option("--model", o->model, "A zoo model file, or GPT-2's vocab.bpe")->capture_default_str();
  cmd->add_option("--input", o->input, "Text to encode (default: standard input)");
  cmd->add_option("--output", o->output, "Where the ids go (default: standard output)");
  cmd->add_option("--special", o->special, "Special tokens in the text: refuse, allow or text")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads (default: ZOO_NUM_THREADS or all cores)");
  cmd->add_flag("--stats", o->stats, "Print bytes, tokens, seconds and MB/s as JSON on standard error");
  cmd->callback([o] {
    if (o->threads > 0) set_num_threads(o->threads);
    const bpe::Tokenizer tokenizer = load_model(o->model);
    const std::string text = read_input(o->input);
    const auto start = std::chrono::steady_clock::now();
    const auto ids = tokenizer.encode(text, {.specials = parse_policy(o->special)});
    const double seconds = seconds_since(start);
    std::string out;
    out.reserve(ids.size() * 5);
    for (std::size_t i = 0; i < ids.size(); ++i) fmt::format_to(std::back_inserter(out), "{}{}", i ? " " : "", ids[i]);
    out += '\n';
    write_output(o->output, out);
    if (o->stats)
      fmt::print(stderr, "{}\n", nlohmann::json{{"bytes", text.size()}, {"tokens", ids.size()},
                                                {"bytes_per_token", ids.empty() ? 0.0 : double(text.size()) / double(ids.size())},
                                                {"encode_seconds", seconds},
                                                {"mb_per_second", seconds > 0 ? double(text.size()) / 1e6 / seconds : 0.0},
                                                {"threads", num_threads()}}
                                     .dump());
  });
}

void add_decode(CLI::App& parent) {
  struct Options {
    std::string model = kDefaultModel;
    std::string input, output;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = parent.add_subcommand("decode", "Token ids (separated by white space) to the exact bytes");
  cmd->add_option("--model", o->model, "A zoo model file, or GPT-2's vocab.bpe")->capture_default_str();
  cmd->add_option("--input", o->input, "Ids to decode (default: standard input)");
  cmd->add_option("--output", o->output, "Where the bytes go (default: standard output)");
  cmd->callback([o] {
    const bpe::Tokenizer tokenizer = load_model(o->model);
    const std::string text = read_input(o->input);
    std::vector<bpe::TokenId> ids;
    std::size_t pos = 0;
    while ((pos = text.find_first_not_of(" \t\r\n", pos)) != std::string::npos) {
      const std::size_t end = std::min(text.find_first_of(" \t\r\n", pos), text.size());
      const std::string word = text.substr(pos, end - pos);
      std::size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(word, &used);
      } catch (const std::exception&) {
      }
      ZOO_CHECK(used == word.size() && id >= 0 && id < tokenizer.vocab_size(),
                "zoo bpe decode: '{}' (id number {}) is not a token id of this model (0 to {})", word,
                ids.size() + 1, tokenizer.vocab_size() - 1);
      ids.push_back(static_cast<bpe::TokenId>(id));
      pos = end;
    }
    write_output(o->output, tokenizer.decode(ids));
  });
}

void add_show(CLI::App& parent) {
  struct Options {
    std::string model = kDefaultModel;
    std::int64_t last = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = parent.add_subcommand(
      "show", "List the vocabulary: bytes, then merges in the order learned, then special tokens");
  cmd->add_option("--model", o->model, "A zoo model file, or GPT-2's vocab.bpe")->capture_default_str();
  cmd->add_option("--last", o->last, "Only the last N tokens (the most recent merges)");
  cmd->callback([o] {
    const bpe::Tokenizer tokenizer = load_model(o->model);
    const auto quoted = [&](bpe::TokenId id) { return "\"" + bpe::escape_bytes(tokenizer.token_bytes(id)) + "\""; };
    std::string out = fmt::format("# {}: {} merges, vocabulary {}, pattern \"{}\"\n# {:>6}  {:<24} {}\n", o->model,
                                  tokenizer.merges().size(), tokenizer.vocab_size(),
                                  bpe::escape_bytes(tokenizer.pretokenizer().pattern()), "id", "token", "made from");
    const bpe::TokenId first = o->last > 0 ? std::max<bpe::TokenId>(0, tokenizer.vocab_size() - static_cast<bpe::TokenId>(o->last)) : 0;
    const auto merged_ids = static_cast<bpe::TokenId>(256 + tokenizer.merges().size());
    for (bpe::TokenId id = first; id < tokenizer.vocab_size(); ++id) {
      if (!tokenizer.has_token(id)) continue;
      std::string origin = "byte";
      if (id >= merged_ids) {
        origin = "special";
      } else if (id >= 256) {
        const bpe::Merge m = tokenizer.merges()[static_cast<std::size_t>(id - 256)];
        origin = fmt::format("{} + {}", quoted(m.left), quoted(m.right));
      }
      fmt::format_to(std::back_inserter(out), "{:>8}  {:<24} {}\n", id, quoted(id), origin);
    }
    write_output("", out);
  });
}

}  // namespace

void add_bpe_commands(CLI::App& app) {
  CLI::App* bpe = app.add_subcommand("bpe", "Byte-level BPE tokenizer: train, encode, decode, show (zoo bpe train --help)");
  bpe->require_subcommand(1);
  add_train(*bpe);
  add_encode(*bpe);
  add_decode(*bpe);
  add_show(*bpe);
}

}  // namespace zoo::cli
