#pragma once
/// @file progress.h
/// @brief The progress line of every long-running command: step, loss, throughput, ETA.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace zoo::models {

/// Reports progress through a run of `total_steps` steps.
///
/// On a terminal it redraws one line in place (`\r`) at most ten times a second; when
/// the output is a file or a pipe (CI, `| tee`), it prints a plain line every
/// `log_every` steps instead, so logs stay readable. With `out` null it stays silent.
class ProgressLine {
 public:
  /// A progress line titled `label` for `total_steps` steps, written to `out`.
  ProgressLine(std::string label, std::int64_t total_steps, std::int64_t log_every = 100,
               std::FILE* out = stderr);

  /// Step `step` (1-based) is done; `items` is how many samples/tokens it processed,
  /// `fields` is extra text such as "loss 0.3412 lr 1.0e-03".
  void update(std::int64_t step, std::int64_t items, const std::string& fields);
  /// Ends the line (on a terminal) and prints the totals.
  void finish(const std::string& fields = "");

  /// Items per second since the start.
  double throughput() const;
  /// Seconds since the line was created.
  double elapsed_seconds() const;

 private:
  std::string format(std::int64_t step, const std::string& fields) const;

  std::string label_;
  std::int64_t total_;
  std::int64_t log_every_;
  std::FILE* out_;
  bool tty_;
  std::int64_t items_ = 0;
  std::int64_t last_step_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// "1m05s", "2h03m", "42s": a duration for humans.
std::string format_duration(double seconds);

}  // namespace zoo::models
