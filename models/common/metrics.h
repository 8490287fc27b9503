#pragma once
/// @file metrics.h
/// @brief `metrics.jsonl`: one JSON object per line, appended as a run goes.

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

namespace zoo::models {

/// Appends records to `<dir>/metrics.jsonl`, one JSON object per line, flushed at once
/// so that a crashed or interrupted run keeps everything it logged. With `resume`, the
/// file is kept and records go at its end; otherwise it starts empty.
class MetricsWriter {
 public:
  /// Opens `<dir>/metrics.jsonl` (creating `dir`), emptied unless `resume`.
  MetricsWriter(const std::string& dir, bool resume);
  /// Appends `record` as one line and flushes it.
  void write(const nlohmann::json& record);
  /// The file's path.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace zoo::models
