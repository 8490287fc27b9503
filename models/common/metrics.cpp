#include "models/common/metrics.h"

#include <filesystem>
#include <fstream>

#include "autograd/error.h"
#include "nn/io/atomic_file.h"

namespace zoo::models {
namespace {

/// The records of `path` whose step is at or before `step` (and those without a step),
/// one JSON line each.
std::string records_up_to(const std::string& path, std::int64_t step) {
  std::string kept;
  for (const nlohmann::json& record : read_metrics(path)) {
    const auto it = record.find("step");
    if (it == record.end() || !it->is_number_integer() || it->get<std::int64_t>() <= step)
      kept += record.dump() + '\n';
  }
  return kept;
}

}  // namespace

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> records;
  std::string line;
  for (std::int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ZOO_CHECK(record.is_object(), "metrics: line {} of '{}' is not a JSON object: {}", number, path,
              line.size() > 80 ? line.substr(0, 80) + "..." : line);
    records.push_back(std::move(record));
  }
  return records;
}

MetricsWriter::MetricsWriter(const std::string& dir, std::optional<std::int64_t> resumed_at)
    : path_((std::filesystem::path(dir) / "metrics.jsonl").string()) {
  std::filesystem::create_directories(dir);
  if (resumed_at && std::filesystem::exists(path_)) nn::write_file_atomically(path_, records_up_to(path_, *resumed_at));
  out_.open(path_, resumed_at ? std::ios::app : std::ios::trunc);
  ZOO_CHECK(out_.good(), "metrics: cannot open '{}' for writing", path_);
}

void MetricsWriter::write(const nlohmann::json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
  ZOO_CHECK(out_.good(), "metrics: writing to '{}' failed (disk full?)", path_);
}

}  // namespace zoo::models
