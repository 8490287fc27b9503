#pragma once
/// @file lesson.h
/// @brief The small harness every tutorial's main.cpp shares: the `--quick` and
/// `--metrics-dir` flags, section titles, checks that make the program fail when the
/// lesson is wrong, a helper that runs code expected to throw, and a scratch folder.
///
/// A tutorial is a program that prints what its README talks about and *checks* what
/// it claims (a gradient computed by hand equals the engine's, a view shares storage).
/// If a check fails, or zoo throws where the lesson did not expect it, the program
/// exits with status 1, so that CTest reports the lesson as broken.

#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "autograd/error.h"

namespace lesson {

/// State of one run of a lesson: which mode, how many checks failed.
class Lesson {
 public:
  Lesson(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      const std::string_view arg = argv[i];
      if (arg == "--quick") {
        quick_ = true;
      } else if (arg == "--metrics-dir" && i + 1 < argc) {
        metrics_dir_ = argv[++i];
      } else {
        fmt::print(stderr, "usage: {} [--quick] [--metrics-dir DIR]\n", argv[0]);
        bad_usage_ = true;
      }
    }
  }

  /// True with `--quick` (what CTest passes): a lesson may do less work, never less checking.
  bool quick() const { return quick_; }
  bool bad_usage() const { return bad_usage_; }
  /// With `--metrics-dir DIR`, DIR: where a lesson that compares things writes one
  /// `metrics.jsonl` per compared thing, for `zoo plot` to draw (the charts in the
  /// READMEs); "" without it. Lessons that compare nothing ignore it.
  const std::string& metrics_dir() const { return metrics_dir_; }

  /// Prints a numbered section title, e.g. "== 1.2 Views share storage ==".
  void section(std::string_view title) { fmt::print("\n== {} ==\n\n", title); }

  /// Prints `ok` or `FAILED` in front of `claim`, and remembers failures.
  bool check(bool ok, std::string_view claim) {
    fmt::print("  [{}] {}\n", ok ? "ok" : "FAILED", claim);
    if (!ok) ++failures_;
    return ok;
  }

  /// Runs `f`, which the lesson expects to throw a `zoo::Error`. Prints the message and
  /// returns it; returns "" (and counts a failure) if nothing was thrown.
  std::string expect_error(const std::function<void()>& f) {
    try {
      f();
    } catch (const zoo::Error& e) {
      fmt::print("  zoo::Error: {}\n", e.what());
      return e.what();
    }
    check(false, "the code above should have thrown a zoo::Error");
    return "";
  }

  int failures() const { return failures_; }

 private:
  bool quick_ = false;
  bool bad_usage_ = false;
  std::string metrics_dir_;
  int failures_ = 0;
};

/// True if `text` contains `part`: error messages are checked by a phrase they must hold.
inline bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

/// Runs the body of a lesson and turns the outcome into an exit status: 0 if every
/// check passed, 1 if one failed or an exception escaped, 2 for a bad command line.
inline int run(int argc, char** argv, const std::function<void(Lesson&)>& body) {
  Lesson lesson(argc, argv);
  if (lesson.bad_usage()) return 2;
  try {
    body(lesson);
  } catch (const std::exception& e) {
    fmt::print("\nunexpected exception: {}\n", e.what());
    return 1;
  }
  if (lesson.failures() > 0) {
    fmt::print("\n{} check(s) FAILED\n", lesson.failures());
    return 1;
  }
  fmt::print("\nall checks passed\n");
  return 0;
}

/// A scratch folder (checkpoints a lesson writes and reads back), deleted with
/// everything in it when this object goes out of scope.
struct TempDir {
  std::filesystem::path path;  ///< the folder
  /// Starts `p` empty.
  explicit TempDir(std::filesystem::path p) : path(std::move(p)) { std::filesystem::remove_all(path); }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace lesson
