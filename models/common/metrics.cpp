#include "models/common/metrics.h"

#include <filesystem>
#include <sstream>

#include "autograd/error.h"
#include "nn/io/atomic_file.h"

namespace zoo::models {
namespace {

/// The lines of `path` whose record is at or before `step`, as one string.
std::string records_up_to(const std::string& path, std::int64_t step) {
  std::ifstream in(path);
  std::string kept, line;
  for (std::int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    ZOO_CHECK(record.is_object(), "metrics: line {} of '{}' is not a JSON object", number, path);
    const auto it = record.find("step");
    if (it == record.end() || !it->is_number_integer() || it->get<std::int64_t>() <= step) kept += line + '\n';
  }
  return kept;
}

}  // namespace

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
