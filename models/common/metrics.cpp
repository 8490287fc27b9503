#include "models/common/metrics.h"

#include <filesystem>

#include "autograd/error.h"

namespace zoo::models {

MetricsWriter::MetricsWriter(const std::string& dir, bool resume)
    : path_((std::filesystem::path(dir) / "metrics.jsonl").string()) {
  std::filesystem::create_directories(dir);
  out_.open(path_, resume ? std::ios::app : std::ios::trunc);
  ZOO_CHECK(out_.good(), "metrics: cannot open '{}' for writing", path_);
}

void MetricsWriter::write(const nlohmann::json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
  ZOO_CHECK(out_.good(), "metrics: writing to '{}' failed (disk full?)", path_);
}

}  // namespace zoo::models
