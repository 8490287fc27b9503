#include "models/plot/run_metrics.h"

#include <filesystem>
#include <set>

#include "autograd/error.h"
#include "models/common/metrics.h"

namespace zoo::models::plot {

namespace fs = std::filesystem;

namespace {

/// The last component of `dir`'s absolute path: "runs/moe/" and "." name the folder itself.
std::string folder_name(const std::string& dir) {
  fs::path path = fs::absolute(dir).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // "/work/runs/moe/" ends in an empty name
  const std::string name = path.filename().string();
  return name.empty() ? dir : name;
}

}  // namespace

RunMetrics read_run_metrics(const std::string& dir) {
  ZOO_CHECK(fs::is_directory(dir), "zoo plot: '{}' is not a folder (give the run folders, each holding a metrics.jsonl)",
            dir);
  const fs::path path = fs::path(dir) / "metrics.jsonl";
  ZOO_CHECK(fs::exists(path), "zoo plot: '{}' has no metrics.jsonl (is it a run folder written with --out?)", dir);
  RunMetrics run;
  run.dir = dir;
  run.label = folder_name(dir);
  run.records = read_metrics(path.string());
  ZOO_CHECK(!run.records.empty(), "zoo plot: '{}' holds no records yet", path.string());
  return run;
}

std::vector<std::string> numeric_keys(const std::vector<RunMetrics>& runs) {
  std::set<std::string> keys;
  for (const RunMetrics& run : runs)
    for (const nlohmann::json& record : run.records)
      for (const auto& [key, value] : record.items())
        if (value.is_number()) keys.insert(key);
  return {keys.begin(), keys.end()};
}

}  // namespace zoo::models::plot
