#pragma once
/// @file run_metrics.h
/// @brief The records a run logged: `<run dir>/metrics.jsonl` read back, one JSON object
/// per line (written by `zoo::models::MetricsWriter`, read by `read_metrics`), for
/// `zoo plot`.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zoo::models::plot {

/// One run's records, in the order it logged them.
struct RunMetrics {
  std::string dir;    ///< the run folder, as given
  std::string label;  ///< its name in a legend: the folder's last component ("runs/moe" -> "moe")
  std::vector<nlohmann::json> records;  ///< one JSON object per non-empty line of metrics.jsonl
};

/// Reads `<dir>/metrics.jsonl`. A folder without the file, a line that is not a JSON
/// object, or a file without a single record is a `zoo::Error` naming the file (and the
/// line). Different models log different keys (`step` or `epoch`, `valid_loss`,
/// `test_accuracy`, ...); this reader does not care which.
RunMetrics read_run_metrics(const std::string& dir);

/// The keys of `runs`' records whose values are numbers somewhere, sorted: what can be
/// drawn (a list such as `expert_load` cannot).
std::vector<std::string> numeric_keys(const std::vector<RunMetrics>& runs);

}  // namespace zoo::models::plot
