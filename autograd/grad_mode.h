#pragma once
/// @file grad_mode.h
/// @brief Turning graph recording on and off: `NoGradGuard`, `GradModeGuard`.

namespace zoo {

/// Whether ops record the graph on this thread (on by default).
class GradMode {
 public:
  /// True if ops record the graph on this thread.
  static bool is_enabled();
  /// Turns recording on or off for this thread; prefer the guards, which restore it.
  static void set_enabled(bool enabled);
};

/// Sets grad mode for the life of the guard, then restores the previous mode.
class GradModeGuard {
 public:
  /// Sets grad mode to `enabled` until the guard goes out of scope.
  explicit GradModeGuard(bool enabled) : previous_(GradMode::is_enabled()) {
    GradMode::set_enabled(enabled);
  }
  ~GradModeGuard() { GradMode::set_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

/// Inside its scope no op records a graph, like `with torch.no_grad():`. Use it for
/// evaluation and for optimizer updates.
class NoGradGuard : public GradModeGuard {
 public:
  NoGradGuard() : GradModeGuard(false) {}
};

}  // namespace zoo
