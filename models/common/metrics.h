#pragma once
/// @file metrics.h
/// @brief `metrics.jsonl`: one JSON object per line, appended as a run goes.

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zoo::models {

/// Appends records to `<dir>/metrics.jsonl`, one JSON object per line, flushed at once
/// so that a crashed or interrupted run keeps everything it logged.
///
/// A resumed run continues the file. Its checkpoint may be older than the last records
/// (a run killed after logging step 60 but before checkpointing it restarts from step
/// 50), so the records whose `"step"` is past the checkpoint's are dropped: the resumed
/// run logs them again, and the file reads as if the run had never stopped.
class MetricsWriter {
 public:
  /// Opens `<dir>/metrics.jsonl` (creating `dir`): emptied for a new run; for a run
  /// resumed at step `resumed_at`, kept up to that step (records without a `"step"` are
  /// kept too) and appended to. A damaged line is an error naming the file.
  explicit MetricsWriter(const std::string& dir, std::optional<std::int64_t> resumed_at = std::nullopt);
  /// Appends `record` as one line and flushes it.
  void write(const nlohmann::json& record);
  /// The file's path.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

/// Every record of the `metrics.jsonl` at `path`, in file order: one JSON object per
/// non-empty line, as `MetricsWriter` writes them. A line that is not a JSON object is
/// an error naming the file, the line number and the start of the line; a missing file
/// reads as no records.
std::vector<nlohmann::json> read_metrics(const std::string& path);

}  // namespace zoo::models
