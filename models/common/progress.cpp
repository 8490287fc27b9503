#include "models/common/progress.h"

#include <unistd.h>

#include <cmath>

#include <fmt/format.h>

namespace zoo::models {

ProgressLine::ProgressLine(std::string label, std::int64_t total_steps, std::int64_t log_every,
                           std::FILE* out)
    : label_(std::move(label)),
      total_(total_steps),
      log_every_(log_every < 1 ? 1 : log_every),
      out_(out),
      tty_(out != nullptr && isatty(fileno(out)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double ProgressLine::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double ProgressLine::throughput() const {
  const double s = elapsed_seconds();
  return s > 0 ? static_cast<double>(items_) / s : 0.0;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<std::int64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::string ProgressLine::format(std::int64_t step, const std::string& fields) const {
  const double elapsed = elapsed_seconds();
  const double eta = step > 0 ? elapsed / static_cast<double>(step) * static_cast<double>(total_ - step) : NAN;
  return fmt::format("{} step {}/{} | {} | {:.0f}/s | {} elapsed, ETA {}", label_, step, total_,
                     fields, throughput(), format_duration(elapsed), format_duration(eta));
}

void ProgressLine::update(std::int64_t step, std::int64_t items, const std::string& fields) {
  items_ += items;
  last_step_ = step;
  if (out_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (now - last_draw_ < std::chrono::milliseconds(100) && step != total_) return;
    last_draw_ = now;
    // \x1b[K clears what a longer previous line left behind.
    fmt::print(out_, "\r{}\x1b[K", format(step, fields));
  } else if (step % log_every_ == 0 || step == total_) {
    fmt::print(out_, "{}\n", format(step, fields));
  }
  std::fflush(out_);
}

void ProgressLine::finish(const std::string& fields) {
  if (out_ == nullptr) return;
  if (tty_) fmt::print(out_, "\n");
  fmt::print(out_, "{} done: {} steps in {}, {:.0f} items/s{}{}\n", label_, last_step_,
             format_duration(elapsed_seconds()), throughput(), fields.empty() ? "" : ", ", fields);
  std::fflush(out_);
}

}  // namespace zoo::models
